//! Criterion benches of `uqforge-depth`: fitting and scoring the 100 queries of the suite's
//! problem (2D N(0, I) sample, n = 1000) with each depth. The comparison with data-depth,
//! the scaling in n and the out-of-domain AUROC are `cargo xtask bench --suite depth`.

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark: a failure should stop it loudly.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use uqforge::depth::bench::problem;
use uqforge::depth::{
    CenterOutwardDepth, Depth, FermatLens, Halfspace, Lens, Mahalanobis, Projection, Simplicial,
    Spatial, Zonoid,
};

fn depths(c: &mut Criterion) {
    let (sample, queries) = problem(1000, 1);
    let few = queries.rows(0, 10).into_owned();
    let mut group = c.benchmark_group("depth n = 1000, 100 queries");
    group.sample_size(10);
    // `ten`: score the first ten queries only (the depths that cost milliseconds each).
    let mut score = |name: &str, depth: &dyn Depth, ten: bool| {
        let q = if ten { &few } else { &queries };
        group.bench_function(name, |bench| {
            bench.iter(|| black_box(depth.depth(q).unwrap()))
        });
    };
    score("mahalanobis", &Mahalanobis::fit(&sample).unwrap(), false);
    score("spatial", &Spatial::fit(&sample).unwrap(), false);
    score(
        "halfspace exact",
        &Halfspace::exact(&sample).unwrap(),
        false,
    );
    score(
        "simplicial exact",
        &Simplicial::exact(&sample).unwrap(),
        false,
    );
    score(
        "projection 1000 directions",
        &Projection::fit(&sample, 1000, 1).unwrap(),
        false,
    );
    score("zonoid (10 queries)", &Zonoid::fit(&sample).unwrap(), true);
    score("lens (10 queries)", &Lens::fit(&sample).unwrap(), true);
    score(
        "center-outward",
        &CenterOutwardDepth::fit(&sample).unwrap(),
        false,
    );
    let small = sample.rows(0, 300).into_owned();
    group.bench_function("fermat lens fit n = 300", |bench| {
        bench.iter(|| black_box(FermatLens::fit(&small, 4.0).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, depths);
criterion_main!(benches);
