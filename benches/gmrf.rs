//! Criterion benches of `uqforge-gmrf` on the suite's smallest problem (Matérn alpha = 2,
//! range 0.1, regular mesh of 10,000 nodes): symbolic analysis, numeric factorisation with the
//! log-determinant, selected inverse, and one likelihood evaluation with its gradient (100
//! observations). The scaling to 1e6 nodes and CHOLMOD side by side are `cargo xtask bench
//! --suite gmrf`.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark: a failure should stop it loudly.

use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::{DMatrix, DVector};
use std::hint::black_box;
use uqforge::gmrf::bench::{field, problem};
use uqforge::gmrf::likelihood::{GeostatModel, Params};
use uqforge::gmrf::{SelectedInverse, SymbolicCholesky};

fn sparse_cholesky(c: &mut Criterion) {
    let (mesh, spde) = problem(99).unwrap();
    let q = spde.precision(&field().unwrap()).unwrap();
    let symbolic = SymbolicCholesky::analyse(spde.pattern()).unwrap();
    let chol = symbolic.factor(&q).unwrap();
    let mut group = c.benchmark_group("gmrf 10,000 nodes");
    group.sample_size(10);
    group.bench_function("analyse", |b| {
        b.iter(|| black_box(SymbolicCholesky::analyse(spde.pattern()).unwrap()))
    });
    group.bench_function("factor + logdet", |b| {
        b.iter(|| black_box(symbolic.factor(&q).unwrap().log_determinant()))
    });
    group.bench_function("selected inverse", |b| {
        b.iter(|| black_box(SelectedInverse::new(&chol).unwrap()))
    });
    let n = 100;
    let locs = DMatrix::from_fn(n, 2, |i, k| ((i * (7 + 5 * k)) % 97) as f64 / 97.0);
    let y = DVector::from_fn(n, |i, _| (i as f64).sin());
    let model = GeostatModel::new(
        &spde,
        mesh.observation_matrix(&locs).unwrap(),
        y,
        DMatrix::from_element(n, 1, 1.0),
    )
    .unwrap();
    let p = Params {
        range: 0.1,
        sigma: 1.0,
        noise_sd: 0.5,
    };
    group.bench_function("loglik + gradient", |b| {
        b.iter(|| black_box(model.evaluate(&p, true).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, sparse_cholesky);
criterion_main!(benches);
