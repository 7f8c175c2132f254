//! Criterion benches of `uqforge-pinn`: the Burgers loss with its gradient (the suite's timing
//! problem: 2-20-20-20-20-1 tanh, 2,000 collocation + 100 boundary points), on the global
//! rayon pool, and the jets' forward pass alone. PyTorch side by side and the accuracy curves
//! are `cargo xtask bench --suite pinn`.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark: a failure should stop it loudly.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use uqforge::pinn::bench::timing_problem;
use uqforge::pinn::{JetSpec, JetTape};

fn burgers(c: &mut Criterion) {
    let (net, problem) = timing_problem(1).unwrap();
    let mut ws = problem.workspace(&net).unwrap();
    let mut g = vec![0.0; net.n_params()];
    let mut group = c.benchmark_group("pinn burgers 2000 + 100 points");
    group.sample_size(20);
    group.bench_function("loss + gradient", |b| {
        b.iter(|| {
            black_box(
                problem
                    .evaluate(&net, &[], &mut ws, Some((&mut g, &mut [])))
                    .unwrap(),
            )
        })
    });
    let points = problem.terms()[0].points().clone();
    let mut tape = JetTape::new(&net, JetSpec::second_order(2, &[[1, 1]]).unwrap());
    group.bench_function("jets forward (u, u_t, u_x, u_xx)", |b| {
        b.iter(|| tape.forward(&net, black_box(&points)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, burgers);
criterion_main!(benches);
