//! Criterion benches of `uqforge-transport`: one solve of each solver on the suite's problem
//! (2D Gaussians, n = m = 500, squared Euclidean cost). The comparison with POT, the scaling
//! in n and the memory are `cargo xtask bench --suite transport`.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark: a failure should stop it loudly.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use uqforge::transport::bench::gaussians;
use uqforge::transport::center_outward::{CenterOutward, Grid};
use uqforge::transport::matrix_free::sinkhorn_matrix_free;
use uqforge::transport::network_simplex::network_simplex;
use uqforge::transport::sinkhorn::{SinkhornMethod, SinkhornOptions, sinkhorn_matrix};
use uqforge::transport::sliced::{SlicedOptions, sliced_wasserstein};
use uqforge::transport::{ExactOptions, GroundCost};

fn solvers(c: &mut Criterion) {
    let (x, y) = gaussians(500, 2, 1).unwrap();
    let cost = GroundCost::SqEuclidean
        .matrix(x.points(), y.points())
        .unwrap();
    let (a, b) = (x.weights().as_slice(), y.weights().as_slice());
    let mut group = c.benchmark_group("transport n = 500");
    group.sample_size(10);
    group.bench_function("network simplex", |bench| {
        bench.iter(|| black_box(network_simplex(a, b, &cost, &ExactOptions::default()).unwrap()))
    });
    for (name, method) in [
        ("sinkhorn plain", SinkhornMethod::Plain),
        ("sinkhorn log", SinkhornMethod::Log),
    ] {
        let o = SinkhornOptions {
            epsilon: 0.1,
            method,
            ..SinkhornOptions::default()
        };
        group.bench_function(name, |bench| {
            bench.iter(|| black_box(sinkhorn_matrix(a, b, &cost, &o).unwrap()))
        });
    }
    let o = SinkhornOptions {
        epsilon: 0.1,
        ..SinkhornOptions::default()
    };
    group.bench_function("sinkhorn matrix-free", |bench| {
        bench.iter(|| black_box(sinkhorn_matrix_free(&x, &y, GroundCost::SqEuclidean, &o).unwrap()))
    });
    let o = SlicedOptions::default();
    group.bench_function("sliced", |bench| {
        bench.iter(|| black_box(sliced_wasserstein(&x, &y, &o).unwrap()))
    });
    let grid = Grid::for_sample_size(500, 2).unwrap();
    group.bench_function("center-outward ranks", |bench| {
        bench.iter(|| black_box(CenterOutward::fit(x.points(), grid).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, solvers);
criterion_main!(benches);
