//! Pick-freeze estimators against exact indices, their standard errors against the empirical
//! spread of independent replicates, sharding, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use uqforge_core::{Error, model::from_fn, model::scalar_fn};
use uqforge_sensitivity::{
    Design, Estimator, PickFreeze, PickFreezeConfig, PickFreezeState, TestFunction, sobol_indices,
};

fn functions() -> Vec<TestFunction> {
    vec![
        TestFunction::ishigami(),
        TestFunction::GFunction {
            a: vec![0.0, 1.0, 4.5, 9.0, 99.0],
        },
        TestFunction::Linear {
            beta: vec![1.0, 2.0, -3.0],
        },
        TestFunction::Bratley { d: 4 },
    ]
}

fn config(
    estimator: Estimator,
    design: Design,
    n: usize,
    replicates: u32,
    seed: u64,
) -> PickFreezeConfig {
    PickFreezeConfig::new(estimator, design, n)
        .with_replicates(replicates)
        .with_seed(seed)
}

#[test]
fn every_estimator_converges_to_the_exact_indices_on_every_function() {
    // Monte Carlo, N = 2^13: the delta-method se is ~0.01; 4.5 se bounds each of the ~190
    // comparisons, so a correct estimator fails this test with probability < 2e-3 (and never,
    // for these fixed seeds, once it passes). The se itself is checked in the next test.
    for (fi, f) in functions().iter().enumerate() {
        let (s_exact, t_exact) = f.exact_indices();
        for (ei, e) in Estimator::ALL.into_iter().enumerate() {
            let cfg = config(
                e,
                Design::MonteCarlo,
                1 << 13,
                1,
                100 + (fi * 10 + ei) as u64,
            );
            let r = sobol_indices(f, f.input_space().unwrap(), cfg).unwrap();
            let out = &r.outputs[0];
            for i in 0..f.dim() {
                for (est, exact, kind) in [
                    (&out.first_order[i], s_exact[i], "S"),
                    (&out.total[i], t_exact[i], "ST"),
                ] {
                    let se = est.std_error.unwrap();
                    assert!(se < 0.05, "{f:?} {e:?} {kind}{i}: se {se}");
                    assert!(
                        (est.value - exact).abs() <= 4.5 * se + 1e-9,
                        "{f:?} {e:?} {kind}{}: {} vs exact {exact} (se {se})",
                        i + 1,
                        est.value
                    );
                    let ci = est.ci.unwrap();
                    assert!(ci.lower <= est.value && est.value <= ci.upper);
                }
            }
        }
    }
}

#[test]
fn delta_method_standard_errors_match_the_spread_of_independent_replicates() {
    // 60 independent Monte Carlo runs (N = 1024) of Ishigami: the sd of the 60 estimates and
    // the mean reported se must agree; the ratio's sampling spread is about 1/sqrt(2*60) = 0.09.
    let f = TestFunction::ishigami();
    for e in [
        Estimator::Saltelli,
        Estimator::Janon,
        Estimator::Sobol2007,
        Estimator::Martinez,
    ] {
        let runs: Vec<(f64, f64, f64, f64)> = (0..60)
            .map(|seed| {
                let r = sobol_indices(
                    &f,
                    f.input_space().unwrap(),
                    config(e, Design::MonteCarlo, 1024, 1, seed),
                )
                .unwrap();
                let o = &r.outputs[0];
                (
                    o.first_order[0].value,
                    o.first_order[0].std_error.unwrap(),
                    o.total[2].value,
                    o.total[2].std_error.unwrap(),
                )
            })
            .collect();
        let sd = |v: Vec<f64>| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        };
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        let ratio_s =
            sd(runs.iter().map(|r| r.0).collect()) / mean(runs.iter().map(|r| r.1).collect());
        let ratio_t =
            sd(runs.iter().map(|r| r.2).collect()) / mean(runs.iter().map(|r| r.3).collect());
        assert!(
            (0.7..1.4).contains(&ratio_s),
            "{e:?} S1: empirical sd / reported se = {ratio_s}"
        );
        assert!(
            (0.7..1.4).contains(&ratio_t),
            "{e:?} ST3: empirical sd / reported se = {ratio_t}"
        );
    }
}

#[test]
fn scrambled_sobol_replicates_give_accurate_estimates_and_t_intervals() {
    let f = TestFunction::ishigami();
    let (s, t) = f.exact_indices();
    let r = sobol_indices(
        &f,
        f.input_space().unwrap(),
        config(Estimator::Saltelli, Design::Sobol, 1 << 12, 10, 7),
    )
    .unwrap();
    let o = &r.outputs[0];
    assert_eq!(r.evaluations, (1 << 12) * 5 * 10);
    for i in 0..3 {
        for (est, exact) in [(&o.first_order[i], s[i]), (&o.total[i], t[i])] {
            let se = est.std_error.unwrap();
            // RQMC at N = 2^12: the error is far below Monte Carlo's ~0.015 / sqrt(10).
            assert!(se < 4e-3, "se {se}");
            assert!(
                (est.value - exact).abs() <= 5.0 * se + 1e-4,
                "{} vs {exact}",
                est.value
            );
        }
    }
    // One replicate cannot give an RQMC interval: point estimates only.
    let r1 = sobol_indices(
        &f,
        f.input_space().unwrap(),
        config(Estimator::Saltelli, Design::Sobol, 1 << 10, 1, 7),
    )
    .unwrap();
    assert!(r1.outputs[0].first_order[0].ci.is_none());
}

#[test]
fn multi_output_models_get_indices_per_output() {
    // Output 0 depends on x1 only, output 1 on x2 only.
    let m = from_fn(2, 2, |x: &[f64], y: &mut [f64]| {
        y[0] = x[0].powi(3);
        y[1] = (3.0 * x[1]).sin();
        Ok(())
    });
    let space = uqforge_sensitivity::InputSpace::uniform(2, 0.0, 1.0).unwrap();
    let r = sobol_indices(
        &m,
        space,
        config(Estimator::Janon, Design::Sobol, 1 << 10, 4, 3),
    )
    .unwrap();
    assert_eq!(r.outputs.len(), 2);
    assert!((r.outputs[0].first_order[0].value - 1.0).abs() < 1e-2);
    assert!(r.outputs[0].total[1].value.abs() < 1e-2);
    assert!((r.outputs[1].first_order[1].value - 1.0).abs() < 1e-2);
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let f = TestFunction::GFunction {
        a: vec![0.0, 1.0, 9.0],
    };
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            sobol_indices(
                &f,
                f.input_space().unwrap(),
                config(Estimator::Jansen, Design::MonteCarlo, 3000, 2, 5),
            )
            .unwrap()
        })
    };
    assert_eq!(run(1), run(2));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn merging_shards_gives_the_single_pass_indices(seed in 0u64..1000, cuts in proptest::collection::vec(0usize..16, 0..4)) {
        let f = TestFunction::ishigami();
        let pf = PickFreeze::new(f.input_space().unwrap(), config(Estimator::Martinez, Design::MonteCarlo, 16 * 256, 1, seed)).unwrap();
        let whole = pf.estimate(&[pf.accumulate(&f, 0, 0..pf.blocks()).unwrap()]).unwrap();
        let mut bounds = cuts.clone();
        bounds.extend([0, pf.blocks()]);
        bounds.sort_unstable();
        let mut merged: Option<PickFreezeState> = None;
        for w in bounds.windows(2) {
            let shard = pf.accumulate(&f, 0, w[0]..w[1]).unwrap();
            // Round-trip through JSON: shards travel between machines.
            let shard: PickFreezeState = serde_json::from_str(&serde_json::to_string(&shard).unwrap()).unwrap();
            match &mut merged { None => merged = Some(shard), Some(m) => m.merge(&shard).unwrap() }
        }
        let merged = pf.estimate(&[merged.unwrap()]).unwrap();
        for (a, b) in whole.outputs[0].first_order.iter().chain(&whole.outputs[0].total)
            .zip(merged.outputs[0].first_order.iter().chain(&merged.outputs[0].total)) {
            prop_assert!((a.value - b.value).abs() <= 1e-12, "{} vs {}", a.value, b.value);
        }
    }
}

#[test]
fn bad_input_gets_typed_errors() {
    let f = TestFunction::ishigami();
    let space = || f.input_space().unwrap();
    let ok = config(Estimator::Saltelli, Design::MonteCarlo, 64, 1, 0);
    // Zero output variance.
    let constant = scalar_fn(3, |_: &[f64]| 2.5);
    assert!(matches!(
        sobol_indices(&constant, space(), ok),
        Err(Error::Degenerate { .. })
    ));
    // Non-finite model output, with the design row in the message.
    let nan = scalar_fn(3, |x: &[f64]| if x[0] > 3.0 { f64::NAN } else { x[0] });
    let e = sobol_indices(&nan, space(), ok).unwrap_err();
    assert!(
        matches!(e, Error::NonFinite { .. }) && e.to_string().contains("design row"),
        "{e}"
    );
    // Dimension mismatch between model and input space.
    let two = scalar_fn(2, |x: &[f64]| x[0]);
    assert!(matches!(
        sobol_indices(&two, space(), ok),
        Err(Error::DimensionMismatch { .. })
    ));
    // N too small, N not a power of two for Sobol', no replicates, bad level.
    assert!(sobol_indices(&f, space(), PickFreezeConfig { n: 4, ..ok }).is_err());
    let e = sobol_indices(
        &f,
        space(),
        PickFreezeConfig {
            n: 1000,
            design: Design::Sobol,
            ..ok
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("power of two"), "{e}");
    assert!(
        sobol_indices(
            &f,
            space(),
            PickFreezeConfig {
                replicates: 0,
                ..ok
            }
        )
        .is_err()
    );
    assert!(sobol_indices(&f, space(), PickFreezeConfig { level: 1.0, ..ok }).is_err());
    // The model's own error propagates.
    let failing = from_fn(3, 1, |_: &[f64], _: &mut [f64]| {
        Err(Error::DidNotConverge {
            what: "solver".into(),
            iterations: 3,
            residual: 1.0,
        })
    });
    assert!(matches!(
        sobol_indices(&failing, space(), ok),
        Err(Error::DidNotConverge { .. })
    ));
}

#[test]
fn second_order_indices_converge_to_the_exact_interactions() {
    // Ishigami: the only interaction is x1-x3, S13 = V13 / V = ST3 = 0.2437; S12 = S23 = 0.
    // g-function: V_jk = V_j V_k, so S_jk = V_j V_k / V.
    let cases = [
        (
            TestFunction::ishigami(),
            vec![0.0, TestFunction::ishigami().exact_indices().1[2], 0.0],
        ),
        {
            let a = vec![0.0, 1.0, 4.5];
            let vi: Vec<f64> = a
                .iter()
                .map(|x: &f64| 1.0 / (3.0 * (1.0 + x).powi(2)))
                .collect();
            let v = vi.iter().map(|x| 1.0 + x).product::<f64>() - 1.0;
            (
                TestFunction::GFunction { a },
                vec![vi[0] * vi[1] / v, vi[0] * vi[2] / v, vi[1] * vi[2] / v],
            )
        },
    ];
    for (f, exact) in cases {
        for design in [Design::Sobol, Design::MonteCarlo] {
            let c = PickFreezeConfig {
                second_order: true,
                ..config(Estimator::Saltelli, design, 1 << 12, 10, 11)
            };
            let r = sobol_indices(&f, f.input_space().unwrap(), c).unwrap();
            assert_eq!(r.evaluations, (1 << 12) * 8 * 10);
            let s2 = &r.outputs[0].second_order;
            assert_eq!(
                s2.iter().map(|s| (s.i, s.j)).collect::<Vec<_>>(),
                [(1, 2), (1, 3), (2, 3)]
            );
            for (s, x) in s2.iter().zip(&exact) {
                let se = s.estimate.std_error.unwrap();
                assert!(se < 0.02, "{f:?} {design:?} S{}{}: se {se}", s.i, s.j);
                assert!(
                    (s.estimate.value - x).abs() <= 4.5 * se + 1e-4,
                    "{f:?} {design:?} S{}{}: {} vs {x}",
                    s.i,
                    s.j,
                    s.estimate.value
                );
                assert!(s.estimate.ci.unwrap().contains(s.estimate.value));
            }
        }
    }
    // Without the flag: no second-order indices and the usual cost.
    let f = TestFunction::ishigami();
    let r = sobol_indices(
        &f,
        f.input_space().unwrap(),
        config(Estimator::Saltelli, Design::Sobol, 256, 2, 0),
    )
    .unwrap();
    assert!(r.outputs[0].second_order.is_empty());
    assert_eq!(r.evaluations, 256 * 5 * 2);
}

#[test]
fn groups_of_inputs_get_group_indices() {
    // Ishigami with groups {x1, x3} and {x2}: f = g(x1, x3) + 7 sin^2 x2, no interaction across
    // groups, so S = S_T = (V1 + V13)/V = 0.5576 for the first group and V2/V = 0.4424.
    let f = TestFunction::ishigami();
    let (_, t) = f.exact_indices();
    let space = f
        .input_space()
        .unwrap()
        .with_groups(vec![("x1+x3", vec!["x1", "x3"]), ("x2", vec!["x2"])])
        .unwrap();
    let c = PickFreezeConfig {
        second_order: true,
        ..config(Estimator::Janon, Design::Sobol, 1 << 12, 10, 4)
    };
    let r = sobol_indices(&f, space, c).unwrap();
    assert_eq!(r.names, ["x1+x3", "x2"]);
    assert_eq!(r.evaluations, (1 << 12) * (2 * 2 + 2) * 10);
    let o = &r.outputs[0];
    for (g, exact) in [(0, t[0]), (1, t[1])] {
        for e in [&o.first_order[g], &o.total[g]] {
            let se = e.std_error.unwrap();
            assert!(
                se < 5e-3 && (e.value - exact).abs() <= 4.5 * se + 1e-4,
                "group {g}: {} vs {exact}",
                e.value
            );
        }
    }
    // The one pair of groups does not interact.
    let s12 = &o.second_order[0].estimate;
    assert!(
        s12.value.abs() <= 4.5 * s12.std_error.unwrap() + 1e-4,
        "{}",
        s12.value
    );
}
