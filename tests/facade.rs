//! The facade re-exports the member crates under short paths.

#[test]
fn facade_paths_reach_the_member_crates() {
    let e: uqforge::Estimate = uqforge::core::Estimate::normal(1.0, 0.1, 0.9).unwrap();
    assert!(e.ci.unwrap().contains(1.0));
    let err: uqforge::Error = uqforge::core::validate::finite("x", &[f64::NAN]).unwrap_err();
    assert!(matches!(err, uqforge::Error::NonFinite { .. }));
    #[cfg(feature = "datasets")]
    assert_eq!(uqforge::datasets::load("meuse").unwrap().n_rows(), 155);
}

#[cfg(all(feature = "causal", feature = "datasets"))]
#[test]
fn facade_reaches_causal() {
    use uqforge::causal::{AteOptions, Estimator, Trial, estimate_ate};
    let d = uqforge::datasets::lalonde_nsw().unwrap();
    let trial = Trial::new(d.re78, d.treat, d.covariates).unwrap();
    let r = estimate_ate(&trial, Estimator::DifferenceInMeans, &AteOptions::default()).unwrap();
    assert!((r.estimate.value - 1794.342).abs() < 1e-3);
}
