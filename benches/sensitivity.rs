//! Criterion benches of the inner loops of `uqforge-sensitivity`: scrambled Sobol' points,
//! a whole pick-freeze analysis on a cheap model, and the rank estimator. The method
//! comparison (accuracy, coverage, SALib) is `cargo xtask bench --suite sensitivity`.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark: a failure should stop it loudly.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use uqforge::core::rng;
use uqforge::sensitivity::{
    Design, Estimator, PickFreezeConfig, TestFunction, rank::rank_first_order_of_model,
    sobol::SobolPoints, sobol_indices,
};

fn sobol_points(c: &mut Criterion) {
    let mut group = c.benchmark_group("sobol");
    let n = 1u32 << 14;
    group.throughput(Throughput::Elements(u64::from(n) * 6));
    group.bench_function("scrambled, 2^14 points x 6 dims", |b| {
        let mut g = rng::rng_from_seed(1);
        let pts = SobolPoints::scrambled(6, &mut g).unwrap();
        let mut u = [0.0; 6];
        b.iter(|| {
            let mut acc = 0.0;
            for i in 0..n {
                pts.fill(i, &mut u, &mut g);
                acc += u[0];
            }
            black_box(acc)
        });
    });
    group.bench_function("scrambled, 2^14 points x 6 dims, block fill", |b| {
        let mut g = rng::rng_from_seed(1);
        let pts = SobolPoints::scrambled(6, &mut g).unwrap();
        let mut out = vec![0.0; 256 * 6];
        b.iter(|| {
            for block in 0..n / 256 {
                pts.fill_block(block * 256, 256, &mut out, &mut g);
            }
            black_box(out[0])
        });
    });
    group.finish();
}

fn analyses(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick_freeze");
    group.sample_size(20);
    let f = TestFunction::ishigami();
    let n = 1 << 14;
    group.throughput(Throughput::Elements((n * 5) as u64));
    for (name, design) in [("qmc", Design::Sobol), ("mc", Design::MonteCarlo)] {
        let config = PickFreezeConfig {
            n,
            design,
            estimator: Estimator::Saltelli,
            replicates: 1,
            seed: 3,
            level: 0.95,
            second_order: false,
        };
        group.bench_function(format!("ishigami saltelli {name} N=2^14"), |b| {
            b.iter(|| sobol_indices(&f, f.input_space().unwrap(), config).unwrap())
        });
    }
    group.bench_function("rank estimator, ishigami, 2^16 rows", |b| {
        let space = f.input_space().unwrap();
        b.iter(|| rank_first_order_of_model(&f, &space, 1 << 16, 5).unwrap())
    });
    group.finish();
}

criterion_group!(benches, sobol_points, analyses);
criterion_main!(benches);
