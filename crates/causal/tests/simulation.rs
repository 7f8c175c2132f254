//! Operating characteristics by simulation (seeded, small): coverage under randomisation, the
//! illusory precision of endogenous synthetic data, and the gain from a good exogenous
//! generator. Truth comes from the data-generating process, never from the code under test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use uqforge_causal::synthetic::{Dgp, Scenario, StudyConfig, StudyRow, run_study};

fn study(replicates: usize, scenarios: Vec<Scenario>) -> Vec<StudyRow> {
    let rows = run_study(&StudyConfig {
        dgp: Dgp::default(),
        replicates,
        seed: 2026,
        scenarios,
    })
    .unwrap();
    for r in &rows {
        println!(
            "{:<55} bias {:+.4} sd {:.4} mean se {:.4} coverage {:.3}",
            r.scenario.label(),
            r.bias,
            r.sd,
            r.mean_se,
            r.coverage
        );
    }
    rows
}

#[test]
fn intervals_cover_under_randomisation() {
    // 600 trials: the coverage of a 95 % interval has Monte Carlo sd 0.009.
    let rows = study(
        600,
        vec![Scenario::Real, Scenario::RealLin, Scenario::RealAipw],
    );
    for r in &rows {
        assert!((0.925..=0.975).contains(&r.coverage), "{r:?}");
        // Unbiased: |bias| within 4 Monte Carlo standard errors.
        assert!(r.bias.abs() < 4.0 * r.sd / 600f64.sqrt(), "{r:?}");
        // Reported SEs match the true spread within 10 %.
        assert!((r.mean_se / r.sd - 1.0).abs() < 0.1, "{r:?}");
    }
    // Adjustment helps: Lin and AIPW are more precise than the difference in means.
    assert!(rows[1].sd < 0.9 * rows[0].sd && rows[2].sd < 0.9 * rows[0].sd);
}

#[test]
fn endogenous_synthetic_data_give_illusory_precision() {
    let rows = study(
        400,
        vec![
            Scenario::Real,
            Scenario::Endogenous { ratio: 1.0 },
            Scenario::Endogenous { ratio: 4.0 },
        ],
    );
    let real = &rows[0];
    for aug in &rows[1..] {
        // The true spread does not shrink (it grows a little with the kernel noise) ...
        assert!(aug.sd > 0.95 * real.sd, "{aug:?} vs {real:?}");
        // ... while the reported SE does, and coverage falls.
        assert!(aug.mean_se < 0.8 * real.mean_se, "{aug:?}");
        assert!(aug.coverage < 0.88, "{aug:?}");
    }
    // With 4n synthetic units the naive SE is about sqrt(1/5) = 0.45 of the real one (a little
    // more: the kernel noise inflates the augmented sample's variance).
    assert!(rows[2].mean_se < 0.55 * real.mean_se, "{:?}", rows[2]);
}

#[test]
fn exogenous_predictions_help_aipw_and_never_bias_it() {
    let rows = study(
        400,
        vec![
            Scenario::Real,
            Scenario::Exogenous {
                bias: 0.0,
                noise: 0.1,
            },
            Scenario::Exogenous {
                bias: 0.0,
                noise: 1.0,
            },
            Scenario::Exogenous {
                bias: 5.0,
                noise: 3.0,
            },
        ],
    );
    let (dim, good, fair, bad) = (&rows[0], &rows[1], &rows[2], &rows[3]);
    // A good generator sharpens the trial well beyond the difference in means ...
    assert!(good.sd < 0.6 * dim.sd, "{good:?} vs {dim:?}");
    // ... the variance falls as the generator improves ...
    assert!(good.sd < fair.sd && fair.sd < bad.sd);
    // ... and every generator leaves AIPW unbiased with honest intervals.
    for r in [good, fair, bad] {
        assert!(r.bias.abs() < 4.0 * r.sd / 400f64.sqrt(), "{r:?}");
    }
    for r in [good, fair] {
        assert!((0.92..=0.98).contains(&r.coverage), "{r:?}");
    }
    // A shifted generator makes the influence-function SE conservative under complete
    // randomisation (the shift cancels exactly when n1 is fixed, but the SE counts it as
    // Bernoulli noise): wide, never narrow.
    assert!(bad.coverage >= 0.95 && bad.mean_se > bad.sd, "{bad:?}");
}
