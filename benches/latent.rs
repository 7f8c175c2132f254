//! Criterion benches of `uqforge-latent`: one geodesic (half-plane, ridge, MLP decoder) at
//! J = 5, the energy and gradient of one polyline, and the Faber–Schauder transforms. The
//! accuracy against time and the k-means timings are `cargo xtask bench --suite latent`.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark: a failure should stop it loudly.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use uqforge::latent::bench::mlp_decoder;
use uqforge::latent::{
    FaberSchauder, GeodesicOptions, Hyperbolic, Metric, PullBack, Ridge, geodesic,
};

fn geodesics(c: &mut Criterion) {
    let options = GeodesicOptions::default();
    let ridge = PullBack::new(Ridge::new(2.0, 0.1).unwrap());
    let mlp = PullBack::new(mlp_decoder(1).unwrap());
    let mut group = c.benchmark_group("geodesic J = 5");
    group.sample_size(20);
    group.bench_function("half-plane (-3,1)-(3,1)", |b| {
        b.iter(|| black_box(geodesic(&Hyperbolic, &[-3.0, 1.0], &[3.0, 1.0], &options).unwrap()))
    });
    group.bench_function("ridge across the crest", |b| {
        b.iter(|| black_box(geodesic(&ridge, &[-0.5, 0.3], &[0.6, -1.2], &options).unwrap()))
    });
    group.bench_function("MLP 2-32-32-3", |b| {
        b.iter(|| black_box(geodesic(&mlp, &[-0.5, 0.3], &[0.6, -1.2], &options).unwrap()))
    });
    group.finish();

    let nodes = FaberSchauder::line(&[-0.5, 0.3], &[0.6, -1.2], 7)
        .unwrap()
        .nodes();
    let mut grad = vec![0.0; nodes.len()];
    let mut group = c.benchmark_group("polyline energy and gradient, 129 nodes");
    group.bench_function("ridge", |b| {
        b.iter(|| black_box(ridge.polyline(&nodes, Some(&mut grad)).unwrap()))
    });
    group.bench_function("MLP 2-32-32-3", |b| {
        b.iter(|| black_box(mlp.polyline(&nodes, Some(&mut grad)).unwrap()))
    });
    group.finish();

    let mut curve = FaberSchauder::line(&[0.0, 0.0], &[1.0, 1.0], 10).unwrap();
    for (i, v) in curve.coefficients_mut().iter_mut().enumerate() {
        *v = (i as f64).sin();
    }
    let node_grad = curve.nodes();
    c.bench_function("Faber-Schauder synthesis, J = 10", |b| {
        b.iter(|| black_box(curve.nodes()))
    });
    c.bench_function("Faber-Schauder transposed synthesis, J = 10", |b| {
        b.iter(|| black_box(curve.coefficient_gradient(&node_grad)))
    });
}

criterion_group!(benches, geodesics);
criterion_main!(benches);
