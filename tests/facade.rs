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
