//! Every estimator on the NSW experiment against the independent statsmodels/NumPy computation
//! in `docs/causal/nsw_reference.py` (its output is `tests/data/nsw_reference.json`):
//! estimates to 1e-6 relative, standard errors to 1e-4 relative.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use serde::Deserialize;
use uqforge_causal::crossfit::Folds;
use uqforge_causal::linear::HcType;
use uqforge_causal::{AteOptions, Estimator, SeMethod, Trial, estimate_ate};

#[derive(Deserialize)]
struct Case {
    ate: f64,
    std_error: f64,
}

#[derive(Deserialize)]
struct Reference {
    cases: BTreeMap<String, Case>,
}

fn reference() -> Reference {
    let text = include_str!("data/nsw_reference.json");
    serde_json::from_str(text).unwrap()
}

fn nsw(known: bool) -> Trial {
    let d = uqforge_datasets::lalonde_nsw().unwrap();
    let t = Trial::new(d.re78, d.treat, d.covariates).unwrap();
    if known {
        t.with_constant_propensity(185.0 / 445.0).unwrap()
    } else {
        t
    }
}

/// The uqforge call behind each reference case name.
fn run(name: &str) -> (f64, f64) {
    let parts: Vec<&str> = name.split('/').collect();
    let known = parts.contains(&"known");
    let mut o = AteOptions::default();
    if parts.contains(&"crossfit5") {
        o.folds = Some(Folds::Explicit((0..445).map(|i| i % 5).collect()));
    }
    if let Some(hc) = parts.get(1).and_then(|p| HcType::parse(p).ok()) {
        o.hc = hc;
    }
    let est = Estimator::parse(parts[0]).unwrap();
    let r = estimate_ate(&nsw(known), est, &o).unwrap();
    (r.estimate.value, r.estimate.std_error.unwrap())
}

#[test]
fn every_estimator_matches_the_independent_computation() {
    let reference = reference();
    assert_eq!(reference.cases.len(), 23);
    let mut failures = Vec::new();
    let (mut worst_ate, mut worst_se) = (0.0f64, 0.0f64);
    for (name, case) in &reference.cases {
        let (ate, se) = run(name);
        let rel_ate = (ate - case.ate).abs() / case.ate.abs();
        let rel_se = (se - case.std_error).abs() / case.std_error;
        worst_ate = worst_ate.max(rel_ate);
        worst_se = worst_se.max(rel_se);
        if rel_ate > 1e-6 || rel_se > 1e-4 {
            failures.push(format!(
                "{name}: ate {ate} vs {} ({rel_ate:.1e}), se {se} vs {} ({rel_se:.1e})",
                case.ate, case.std_error
            ));
        }
    }
    eprintln!("max relative errors: ate {worst_ate:.1e}, se {worst_se:.1e}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn known_propensity_identities() {
    // With e = 185/445 = n1/n, both IPW estimators are the difference in means ...
    let trial = nsw(true);
    let o = AteOptions::default();
    let dim = estimate_ate(&trial, Estimator::DifferenceInMeans, &o).unwrap();
    for est in [
        Estimator::IpwHajek,
        Estimator::IpwHorvitzThompson,
        Estimator::OverlapWeights,
    ] {
        let r = estimate_ate(&trial, est, &o).unwrap();
        assert!(
            (r.estimate.value - dim.estimate.value).abs() < 1e-9 * dim.estimate.value,
            "{est:?}"
        );
        assert_eq!(
            r.se_method,
            SeMethod::InfluenceFunction {
                estimated_propensity: false
            }
        );
    }
    // ... and AIPW with in-sample linear outcome models is Lin's estimator.
    let aipw = estimate_ate(&trial, Estimator::Aipw, &o).unwrap();
    let lin = estimate_ate(&trial, Estimator::Lin, &o).unwrap();
    assert!((aipw.estimate.value - lin.estimate.value).abs() < 1e-9 * lin.estimate.value);
    // The identity holds for any constant propensity, not only n1/n.
    let other = nsw(false).with_constant_propensity(0.3).unwrap();
    let aipw = estimate_ate(&other, Estimator::Aipw, &o).unwrap();
    assert!((aipw.estimate.value - lin.estimate.value).abs() < 1e-9 * lin.estimate.value);
}

#[test]
fn estimated_propensity_correction_shrinks_the_ipw_se() {
    // Hirano, Imbens & Ridder (2003): estimating even a known propensity helps IPW. The
    // corrected SE (670.97) is far below the known-propensity HT SE (860.29).
    let o = AteOptions::default();
    let est = estimate_ate(&nsw(false), Estimator::IpwHorvitzThompson, &o).unwrap();
    let known = estimate_ate(&nsw(true), Estimator::IpwHorvitzThompson, &o).unwrap();
    assert!(est.estimate.std_error.unwrap() < 0.8 * known.estimate.std_error.unwrap());
    assert_eq!(
        est.se_method,
        SeMethod::InfluenceFunction {
            estimated_propensity: true
        }
    );
}

#[test]
fn fast_cross_fitting_equals_the_generic_path() {
    use uqforge_causal::aipw_with;
    use uqforge_causal::nuisance::{LinearOutcome, LogisticPropensity};
    for known in [false, true] {
        let trial = nsw(known);
        for seed in 0..4 {
            let o = AteOptions {
                folds: Some(Folds::Random(5)),
                seed,
                ..AteOptions::default()
            };
            let fast = estimate_ate(&trial, Estimator::Aipw, &o).unwrap();
            let generic = aipw_with(
                &trial,
                &LinearOutcome::default(),
                &LogisticPropensity::default(),
                &o,
            )
            .unwrap();
            let (a, b) = (fast.estimate, generic.estimate);
            assert!(
                (a.value - b.value).abs() < 1e-9 * b.value.abs(),
                "{a:?} vs {b:?}"
            );
            let (sa, sb) = (a.std_error.unwrap(), b.std_error.unwrap());
            assert!((sa - sb).abs() < 1e-9 * sb, "{sa} vs {sb}");
        }
    }
}
