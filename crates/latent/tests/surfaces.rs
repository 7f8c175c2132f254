//! Geodesics on decoder surfaces against independent computations: the ridge's unrolled
//! plane, tunnelling on a narrow ridge, and the metric properties of distances through an MLP
//! decoder.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use uqforge_latent::bench::mlp_decoder;
use uqforge_latent::{GeodesicOptions, Metric, PullBack, Ridge, geodesic, geodesic_from};

#[test]
fn ridge_geodesic_distances_equal_unrolled_distances() {
    // The ridge surface is developable: its distances are those of the unrolled plane
    // (computed by quadrature, independently of any curve).
    for (height, width) in [(2.0, 0.1), (1.0, 0.3), (-1.5, 0.2)] {
        let ridge = Ridge::new(height, width).unwrap();
        let metric = PullBack::new(ridge);
        for (a, b) in [
            ([-0.5, 0.0], [0.5, 0.0]),
            ([-0.4, -0.3], [0.6, 0.8]),
            ([0.05, 1.0], [0.9, -0.5]),
            ([-1.0, 0.2], [-0.8, 0.25]),
        ] {
            let g = geodesic(&metric, &a, &b, &GeodesicOptions::default()).unwrap();
            let exact = ridge.distance(&a, &b).unwrap();
            assert!(
                (g.length / exact - 1.0).abs() < 1e-3,
                "A = {height}, S = {width}, {a:?} - {b:?}: {} vs {exact}",
                g.length
            );
            assert!(g.converged && !g.tunnelling.suspected);
        }
    }
}

#[test]
fn tunnelling_through_a_narrow_ridge_is_detected_and_refined_away() {
    // A ridge of width 0.002 between two points 0.97 apart: a grid of 32 pieces (spacing
    // 0.03) steps over it.
    let ridge = Ridge::new(2.0, 0.002).unwrap();
    let metric = PullBack::new(ridge);
    let (a, b) = ([-0.5, 0.0], [0.47, 0.2]);
    let exact = ridge.distance(&a, &b).unwrap();
    let coarse = GeodesicOptions {
        oversampling: 1,
        max_refinements: 0,
        ..GeodesicOptions::default()
    };
    let blind = geodesic(&metric, &a, &b, &coarse).unwrap();
    assert!(blind.tunnelling.suspected, "{:?}", blind.tunnelling);
    assert!(blind.length < 0.5 * exact, "{} vs {exact}", blind.length);
    // The finer re-measurement sees the ridge.
    assert!(blind.tunnelling.fine_length > blind.length * 1.5);
    // Allowed to refine, the solver climbs over it.
    let careful = GeodesicOptions {
        oversampling: 4,
        max_refinements: 3,
        ..GeodesicOptions::default()
    };
    let seen = geodesic_from(&metric, blind.curve.clone(), &careful).unwrap();
    assert!(seen.tunnelling.refinements > 0 && !seen.tunnelling.suspected);
    assert!(
        (seen.length / exact - 1.0).abs() < 1e-2,
        "{} vs {exact}",
        seen.length
    );
}

/// The pull-back length of the straight segment, on 4096 pieces.
fn straight_length<M: Metric>(metric: &M, a: &[f64], b: &[f64]) -> f64 {
    let n = 4096;
    let nodes: Vec<f64> = (0..=n)
        .flat_map(|i| {
            let t = i as f64 / n as f64;
            [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]
        })
        .collect();
    metric.polyline(&nodes, None).unwrap().length
}

fn point() -> impl Strategy<Value = [f64; 2]> {
    [-1.5..1.5f64, -1.5..1.5f64]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn mlp_distances_are_symmetric_subadditive_and_below_the_straight_line(
        seed in 0u64..1000, a in point(), b in point(), c in point(),
    ) {
        prop_assume!(a != b && b != c && a != c);
        let metric = PullBack::new(mlp_decoder(seed).unwrap());
        let options = GeodesicOptions::default();
        let d = |p: &[f64; 2], q: &[f64; 2]| geodesic(&metric, p, q, &options).unwrap().length;
        let (ab, ba, bc, ac) = (d(&a, &b), d(&b, &a), d(&b, &c), d(&a, &c));
        prop_assert!((ab - ba).abs() <= 1e-3 * ab, "{ab} vs {ba}");
        prop_assert!(ac <= (ab + bc) * (1.0 + 1e-3), "{ac} > {ab} + {bc}");
        let straight = straight_length(&metric, &a, &b);
        prop_assert!(ab <= straight * (1.0 + 1e-3), "{ab} > straight {straight}");
    }
}

/// A decoder that returns NaN right of x = 0.2 (a broken network, say).
struct Broken;

impl uqforge_core::Model for Broken {
    fn input_dim(&self) -> usize {
        2
    }
    fn output_dim(&self) -> usize {
        2
    }
    fn eval(&self, x: &[f64], y: &mut [f64]) -> uqforge_core::Result<()> {
        y[0] = if x[0] > 0.2 { f64::NAN } else { x[0] };
        y[1] = x[1];
        Ok(())
    }
}

impl uqforge_core::Differentiable for Broken {
    fn jacobian(&self, _: &[f64], jac: &mut [f64]) -> uqforge_core::Result<()> {
        jac.copy_from_slice(&[1.0, 0.0, 0.0, 1.0]);
        Ok(())
    }
}

#[test]
fn non_finite_decoder_values_are_errors_not_nan_lengths() {
    let metric = PullBack::new(Broken);
    let err = geodesic(
        &metric,
        &[-1.0, 0.0],
        &[1.0, 0.0],
        &GeodesicOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("decoder output"), "{err}");
    // Left of the fault the same decoder is fine.
    let g = geodesic(
        &metric,
        &[-1.0, 0.0],
        &[0.0, 1.0],
        &GeodesicOptions::default(),
    )
    .unwrap();
    assert!((g.length - 2f64.sqrt()).abs() < 1e-9);
}
