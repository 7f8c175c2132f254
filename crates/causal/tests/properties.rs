//! Invariants of the estimators on random trials (proptest): equivariance under affine maps
//! of the outcome, antisymmetry under relabelling the arms.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use uqforge_causal::{AteOptions, Estimator, Trial, estimate_ate};

fn trial_strategy() -> impl Strategy<Value = (Vec<f64>, Vec<bool>, Vec<f64>, usize)> {
    (30usize..60, 0usize..3).prop_flat_map(|(n, p)| {
        (
            prop::collection::vec(-10.0..10.0f64, n),
            // At least 8 units per arm.
            prop::collection::vec(any::<bool>(), n).prop_filter("both arms", |t| {
                let k = t.iter().filter(|&&b| b).count();
                k >= 8 && t.len() - k >= 8
            }),
            prop::collection::vec(-2.0..2.0f64, n * p),
            Just(p),
        )
    })
}

fn build(y: &[f64], t: &[bool], x: &[f64], p: usize) -> Trial {
    let n = y.len();
    Trial::new(
        DVector::from_row_slice(y),
        t.to_vec(),
        DMatrix::from_row_slice(n, p, x),
    )
    .unwrap()
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-7 * (1.0 + scale)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn affine_maps_of_the_outcome(
        (y, t, x, p) in trial_strategy(),
        shift in -100.0..100.0f64,
        scale in 0.1..10.0f64,
    ) {
        let base = build(&y, &t, &x, p);
        let y2: Vec<f64> = y.iter().map(|v| shift + scale * v).collect();
        let moved = build(&y2, &t, &x, p);
        let o = AteOptions::default();
        let mut ran = 0;
        for est in Estimator::ALL {
            let (Ok(a), Ok(b)) = (estimate_ate(&base, est, &o), estimate_ate(&moved, est, &o)) else {
                continue; // a random design may separate or be collinear: refused in both
            };
            ran += 1;
            let (ta, tb) = (a.estimate.value, b.estimate.value);
            let (sa, sb) = (a.estimate.std_error.unwrap(), b.estimate.std_error.unwrap());
            if est == Estimator::IpwHorvitzThompson {
                // Horvitz–Thompson is scale- but not shift-equivariant: check scale alone.
                let scaled: Vec<f64> = y.iter().map(|v| scale * v).collect();
                let c = estimate_ate(&build(&scaled, &t, &x, p), est, &o).unwrap();
                prop_assert!(close(c.estimate.value, scale * ta, scale * ta.abs()));
                continue;
            }
            // Every other estimator: tau(a + b y) = b tau(y), se(a + b y) = b se(y).
            prop_assert!(close(tb, scale * ta, scale * (ta.abs() + 10.0)), "{est:?}: {tb} vs {}", scale * ta);
            prop_assert!(close(sb, scale * sa, scale * sa), "{est:?}: {sb} vs {}", scale * sa);
        }
        // Covariates in [-2, 2] with 8+ units per arm: no separation, all eight estimators ran.
        prop_assert_eq!(ran, 8);
    }

    #[test]
    fn relabelling_the_arms_negates_the_effect((y, t, x, p) in trial_strategy()) {
        let base = build(&y, &t, &x, p);
        let flipped: Vec<bool> = t.iter().map(|b| !b).collect();
        let other = build(&y, &flipped, &x, p);
        let o = AteOptions::default();
        for est in [Estimator::DifferenceInMeans, Estimator::Lin, Estimator::Aipw, Estimator::IpwHajek] {
            let (Ok(a), Ok(b)) = (estimate_ate(&base, est, &o), estimate_ate(&other, est, &o)) else {
                continue;
            };
            prop_assert!(close(a.estimate.value, -b.estimate.value, a.estimate.value.abs()));
            prop_assert!(close(
                a.estimate.std_error.unwrap(),
                b.estimate.std_error.unwrap(),
                a.estimate.std_error.unwrap()
            ));
        }
    }
}
