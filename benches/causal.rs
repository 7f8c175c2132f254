//! Criterion benches of `uqforge-causal`: the estimators on the NSW experiment and cross-fitted
//! AIPW on a larger synthetic sample. The method comparison (EconML, the synthetic-data study)
//! is `cargo xtask bench --suite causal`.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark: a failure should stop it loudly.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use uqforge::causal::crossfit::Folds;
use uqforge::causal::{AteOptions, Estimator, Trial, bench::timing_trial, estimate_ate};

fn nsw(c: &mut Criterion) {
    let d = uqforge::datasets::lalonde_nsw().unwrap();
    let trial = Trial::new(d.re78, d.treat, d.covariates).unwrap();
    let mut group = c.benchmark_group("nsw");
    for est in Estimator::ALL {
        group.bench_function(est.name(), |b| {
            b.iter(|| black_box(estimate_ate(&trial, est, &AteOptions::default()).unwrap()))
        });
    }
    group.finish();
}

fn crossfit(c: &mut Criterion) {
    let trial = timing_trial(100_000, 20, 1).unwrap();
    let o = AteOptions {
        folds: Some(Folds::Random(5)),
        ..AteOptions::default()
    };
    let mut group = c.benchmark_group("aipw");
    group.sample_size(10);
    group.bench_function("5-fold cross-fitting, n = 1e5, p = 20", |b| {
        b.iter(|| black_box(estimate_ate(&trial, Estimator::Aipw, &o).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, nsw, crossfit);
criterion_main!(benches);
