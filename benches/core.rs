//! Criterion benches of `uqforge-core`: the costs every method pays (random numbers, batched
//! model evaluation). Method crates add their own bench files here.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use uqforge::core::{Model, model::scalar_fn, rng};

fn uniform_draws(c: &mut Criterion) {
    let mut group = c.benchmark_group("rng");
    let n = 1 << 16;
    group.throughput(Throughput::Elements(n));
    group.bench_function("uniform01 x 65536", |b| {
        let mut r = rng::rng_from_seed(1);
        b.iter(|| {
            let mut acc = 0.0;
            for _ in 0..n {
                acc += rng::uniform01(&mut r);
            }
            black_box(acc)
        });
    });
    group.finish();
}

fn batched_eval(c: &mut Criterion) {
    let mut group = c.benchmark_group("model");
    let n = 1 << 14;
    let ishigami = scalar_fn(3, |x: &[f64]| {
        x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin()
    });
    let mut r = rng::rng_from_seed(2);
    let xs: Vec<f64> = (0..3 * n).map(|_| rng::uniform01(&mut r)).collect();
    let mut ys = vec![0.0; n];
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("ishigami eval_batch x 16384", |b| {
        b.iter(|| ishigami.eval_batch(black_box(&xs), &mut ys))
    });
    group.finish();
}

criterion_group!(benches, uniform_draws, batched_eval);
criterion_main!(benches);
