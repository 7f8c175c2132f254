//! Riemannian k-means and Fréchet means on the ridge surface, against the unrolled plane and
//! against Euclidean k-means.
#![allow(clippy::unwrap_used)]

use nalgebra::DMatrix;
use uqforge_core::rng::{rng_from_seed, standard_normal};
use uqforge_latent::{
    CentroidUpdate, Euclidean, FrechetOptions, KMeansOptions, Metric, PullBack, Ridge,
    adjusted_rand_index, frechet_mean, kmeans,
};

/// Two classes N((-0.5, 0), diag(0.01, 1)) and N((0.5, 0), diag(0.01, 1)), 100 points each.
fn two_columns(seed: u64) -> (DMatrix<f64>, Vec<usize>) {
    let mut rng = rng_from_seed(seed);
    let (mut rows, mut truth) = (Vec::new(), Vec::new());
    for (class, mean) in [(0, -0.5), (1, 0.5)] {
        for _ in 0..100 {
            rows.push(mean + 0.1 * standard_normal(&mut rng));
            rows.push(standard_normal(&mut rng));
            truth.push(class);
        }
    }
    (DMatrix::from_row_slice(200, 2, &rows), truth)
}

#[test]
fn geodesic_kmeans_separates_the_ridge_classes_where_euclidean_kmeans_cannot() {
    let (x, truth) = two_columns(2024);
    let mut options = KMeansOptions {
        k: 2,
        seed: 5,
        restarts: 2,
        ..KMeansOptions::default()
    };
    options.frechet.geodesic.levels = 4;
    let euclid = kmeans(&Euclidean::new(2).unwrap(), &x, &options).unwrap();
    let ari = adjusted_rand_index(&euclid.labels, &truth).unwrap();
    assert!(ari <= 0.1, "Euclidean ARI {ari}");
    let ridge = PullBack::new(Ridge::new(2.0, 0.1).unwrap());
    let geodesic = kmeans(&ridge, &x, &options).unwrap();
    let ari = adjusted_rand_index(&geodesic.labels, &truth).unwrap();
    assert!(ari >= 0.99, "geodesic ARI {ari}");
    assert!(geodesic.converged);
    // The centroids sit on the two flanks, one each side of the crest.
    let c = &geodesic.centroids;
    assert!(c[(0, 0)] * c[(1, 0)] < 0.0 && c[(0, 0)].abs() > 0.3, "{c}");
    // k-medoids (all pairwise distances) agrees, on 30 points of each class.
    let rows: Vec<usize> = (0..30).chain(170..200).collect();
    let sub = x.select_rows(&rows);
    let sub_truth: Vec<usize> = rows.iter().map(|&i| truth[i]).collect();
    let medoid = kmeans(
        &ridge,
        &sub,
        &KMeansOptions {
            update: CentroidUpdate::Medoid,
            ..options.clone()
        },
    )
    .unwrap();
    assert_eq!(medoid.geodesics, 60 * 59 / 2);
    assert!(adjusted_rand_index(&medoid.labels, &sub_truth).unwrap() >= 0.99);
    let mean = kmeans(&ridge, &sub, &options).unwrap();
    assert!(medoid.inertia >= mean.inertia * (1.0 - 1e-3));
}

/// $u^{-1}$ by bisection.
fn unroll_inverse(ridge: &Ridge, u: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0, 10.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if ridge.unrolled(mid) < u {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn ridge_frechet_mean_is_the_unrolled_mean() {
    // The surface is isometric to the plane with coordinates (u(z1), z2): the Fréchet mean is
    // the arithmetic mean there, mapped back.
    let ridge = Ridge::new(2.0, 0.2).unwrap();
    let metric = PullBack::new(ridge);
    let x = DMatrix::from_row_slice(
        5,
        2,
        &[-0.6, 0.1, -0.3, -0.8, 0.1, 0.5, 0.45, 1.2, 0.7, -0.2],
    );
    let u_mean = (0..5).map(|i| ridge.unrolled(x[(i, 0)])).sum::<f64>() / 5.0;
    let exact = [unroll_inverse(&ridge, u_mean), x.column(1).sum() / 5.0];
    let m = frechet_mean(&metric, &x, None, &FrechetOptions::default()).unwrap();
    assert!(m.converged, "{m:?}");
    // Compare in the unrolled coordinates (the surface's own distances).
    let err = ridge.distance(&m.point, &exact).unwrap();
    assert!(err < 2e-3, "{:?} vs {exact:?}: {err}", m.point);
    // And the variance is the plane's.
    let variance = (0..5)
        .map(|i| {
            ridge
                .distance(&[x[(i, 0)], x[(i, 1)]], &exact)
                .unwrap()
                .powi(2)
        })
        .sum::<f64>()
        / 5.0;
    assert!(
        (m.variance / variance - 1.0).abs() < 2e-3,
        "{} vs {variance}",
        m.variance
    );
    assert_eq!(metric.dim(), 2);
}
