//! The `sensitivity` suite of `cargo xtask bench`.
//!
//! 1. Accuracy against cost: RMSE over seeds of the first-order and total indices (pooled over
//!    inputs) against the number of model evaluations, for every estimator on Monte Carlo and
//!    scrambled Sobol' designs, the rank estimator and the on-line mirror descent (which
//!    estimates all $2^d - 1$ indices), on Ishigami and the g-function.
//! 2. The reference case of SALib's users: Ishigami, scrambled Sobol', $N = 2^{14}$, Saltelli
//!    $S_i$ with Jansen $S_{T_i}$, RMSE over 20 seeds.
//! 3. Interval coverage: RQMC replicate intervals, Monte Carlo delta-method intervals, and
//!    the row bootstrap on both designs (which fails on RQMC).
//! 4. Speed of the analysis: evaluations per second with the model cost subtracted.

use std::time::Instant;

use uqforge_core::bench::{Cell, Plot, Series, Suite, SuiteConfig, SuiteReport, Table};
use uqforge_core::observe::Progress;
use uqforge_core::{Model, Result};

use crate::bootstrap::bootstrap_indices;
use crate::rank::rank_first_order_of_model;
use crate::{Design, Estimator, PickFreeze, PickFreezeConfig, TestFunction};

/// The suites of this crate.
pub fn suites() -> Vec<Suite> {
    vec![Suite {
        name: "sensitivity",
        description: "Sobol' estimators: RMSE against evaluations, interval coverage, analysis speed",
        run,
    }]
}

fn cfg(
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

/// RMSE of (first order, total) over `seeds` runs, pooled over inputs.
fn rmse(f: &TestFunction, c: impl Fn(u64) -> PickFreezeConfig, seeds: u64) -> Result<(f64, f64)> {
    let (s, t) = f.exact_indices();
    let (mut es, mut et) = (0.0, 0.0);
    for seed in 0..seeds {
        let r = PickFreeze::new(f.input_space()?, c(seed))?.run(f)?;
        let o = &r.outputs[0];
        for i in 0..f.dim() {
            es += (o.first_order[i].value - s[i]).powi(2);
            et += (o.total[i].value - t[i]).powi(2);
        }
    }
    let m = (seeds as usize * f.dim()) as f64;
    Ok(((es / m).sqrt(), (et / m).sqrt()))
}

fn run(config: &SuiteConfig, progress: &mut dyn Progress) -> Result<SuiteReport> {
    let quick = config.quick;
    let seeds: u64 = if quick { 10 } else { 20 };
    let max_log2 = if quick { 12 } else { 16 };
    let sizes: Vec<usize> = (8..=max_log2).step_by(2).map(|k| 1 << k).collect();
    let functions = [
        ("ishigami", TestFunction::ishigami()),
        (
            "gfunction",
            TestFunction::GFunction {
                a: vec![0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0],
            },
        ),
    ];
    let mut plots = Vec::new();
    let mut tables = Vec::new();

    // 1. Accuracy against evaluations.
    progress.start(
        "accuracy against evaluations",
        (functions.len() * sizes.len()) as u64,
    );
    for (fname, f) in &functions {
        let d = f.dim();
        let mut first: Vec<Series> = Vec::new();
        let mut total: Vec<Series> = Vec::new();
        let mut rows = Vec::new();
        for design in [Design::MonteCarlo, Design::Sobol] {
            for e in Estimator::ALL {
                let label = format!(
                    "{} {}",
                    e.name(),
                    if design == Design::Sobol { "qmc" } else { "mc" }
                );
                let (mut xs, mut ys, mut yt) = (Vec::new(), Vec::new(), Vec::new());
                for &n in &sizes {
                    let (a, b) = rmse(f, |s| cfg(e, design, n, 1, config.seed ^ s), seeds)?;
                    xs.push((n * (d + 2)) as f64);
                    ys.push(a);
                    yt.push(b);
                }
                rows.push(vec![
                    Cell::from(label.clone()),
                    Cell::from(*ys.last().unwrap_or(&f64::NAN)),
                    Cell::from(*yt.last().unwrap_or(&f64::NAN)),
                ]);
                first.push(Series {
                    label: label.clone(),
                    x: xs.clone(),
                    y: ys,
                });
                total.push(Series {
                    label,
                    x: xs,
                    y: yt,
                });
            }
        }
        // The rank estimator: n evaluations, first order only, Monte Carlo points.
        let (s_exact, _) = f.exact_indices();
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for &n in &sizes {
            let m = n * (d + 2); // same budget as pick-freeze
            let mut err = 0.0;
            for s in 0..seeds {
                let est = rank_first_order_of_model(f, &f.input_space()?, m, config.seed ^ s)?;
                err += est[0]
                    .iter()
                    .zip(&s_exact)
                    .map(|(e, x)| (e.value - x).powi(2))
                    .sum::<f64>();
            }
            xs.push(m as f64);
            ys.push((err / (seeds as usize * d) as f64).sqrt());
            progress.advance(1);
        }
        rows.push(vec![
            Cell::from("rank mc"),
            Cell::from(*ys.last().unwrap_or(&f64::NAN)),
            Cell::from("-"),
        ]);
        // On-line mirror descent: one chain per seed, pairs = evaluations / 2.
        let (mut sx, mut sy, mut st) = (Vec::new(), Vec::new(), Vec::new());
        let t_exact = f.exact_indices().1;
        for &n in &sizes {
            let pairs = (n * (d + 2) / 2) as u64;
            let (mut es, mut et) = (0.0, 0.0);
            for s in 0..seeds {
                let mut chain = crate::smd::SmdState::new(
                    d,
                    1,
                    crate::smd::SmdConfig {
                        seed: config.seed ^ s,
                        ..Default::default()
                    },
                )?;
                chain.run(f, &f.input_space()?, pairs)?;
                let all = chain.all_indices(0)?;
                for i in 0..d {
                    es += (all[(1 << i) - 1] - s_exact[i]).powi(2);
                    let ti: f64 = (1..1usize << d)
                        .filter(|m| m >> i & 1 == 1)
                        .map(|m| all[m - 1])
                        .sum();
                    et += (ti - t_exact[i]).powi(2);
                }
            }
            sx.push((2 * pairs) as f64);
            sy.push((es / (seeds as usize * d) as f64).sqrt());
            st.push((et / (seeds as usize * d) as f64).sqrt());
        }
        rows.push(vec![
            Cell::from("smd mc"),
            Cell::from(*sy.last().unwrap_or(&f64::NAN)),
            Cell::from(*st.last().unwrap_or(&f64::NAN)),
        ]);
        first.push(Series {
            label: "smd mc".into(),
            x: sx.clone(),
            y: sy,
        });
        total.push(Series {
            label: "smd mc".into(),
            x: sx,
            y: st,
        });
        first.push(Series {
            label: "rank mc".into(),
            x: xs,
            y: ys,
        });
        let budget = sizes.last().copied().unwrap_or(0) * (d + 2);
        tables.push(Table {
            title: format!(
                "{fname}: RMSE at {budget} evaluations over {seeds} seeds (pooled over {d} inputs)"
            ),
            columns: vec![
                "estimator, design".into(),
                "RMSE S_i".into(),
                "RMSE S_Ti".into(),
            ],
            rows,
        });
        for (kind, series) in [("first-order", first), ("total", total)] {
            plots.push(Plot {
                name: format!("{fname}-{kind}"),
                title: format!("{fname}: RMSE of {kind} indices"),
                x_label: "model evaluations".into(),
                y_label: "RMSE".into(),
                log_x: true,
                log_y: true,
                bars: false,
                series,
            });
        }
    }
    progress.finish();

    // 2. SALib's reference case. The RQMC error is heavy-tailed (rare scramblings give errors
    // ten times the median), so an RMSE over 20 seeds is itself very noisy: report it, and the
    // RMSE and median absolute error over many more seeds.
    let ishigami = TestFunction::ishigami();
    let n_ref = if quick { 1 << 12 } else { 1 << 14 };
    let many: u64 = if quick { 100 } else { 500 };
    let (s_exact_ref, t_exact_ref) = ishigami.exact_indices();
    let mut errors: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    for seed in 0..many {
        let r = PickFreeze::new(
            ishigami.input_space()?,
            cfg(
                Estimator::Saltelli,
                Design::Sobol,
                n_ref,
                1,
                config.seed ^ seed,
            ),
        )?
        .run(&ishigami)?;
        let o = &r.outputs[0];
        errors.push((
            (0..3)
                .map(|i| o.first_order[i].value - s_exact_ref[i])
                .collect(),
            (0..3).map(|i| o.total[i].value - t_exact_ref[i]).collect(),
        ));
    }
    let summary = |seeds: usize, total: bool| -> (f64, f64) {
        let mut e: Vec<f64> = errors[..seeds]
            .iter()
            .flat_map(|(s, t)| if total { t.clone() } else { s.clone() })
            .collect();
        let rmse = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
        e.iter_mut().for_each(|x| *x = x.abs());
        e.sort_by(f64::total_cmp);
        (rmse, e[e.len() / 2])
    };
    let (s_ref, _) = summary(20, false);
    let (t_ref, _) = summary(20, true);
    let (s_many, s_med) = summary(many as usize, false);
    let (t_many, t_med) = summary(many as usize, true);
    tables.push(Table {
        title: format!("Ishigami, scrambled Sobol', N = {n_ref}, Saltelli S_i + Jansen S_Ti (one replicate per seed)"),
        columns: vec!["seeds".into(), "RMSE S_i".into(), "RMSE S_Ti".into(), "median |error| S_i".into(), "median |error| S_Ti".into()],
        rows: vec![
            vec![Cell::from(20usize), Cell::from(s_ref), Cell::from(t_ref), Cell::from("-"), Cell::from("-")],
            vec![Cell::from(many as usize), Cell::from(s_many), Cell::from(t_many), Cell::from(s_med), Cell::from(t_med)],
        ],
    });

    // 3. Coverage of 95 % intervals on Ishigami (6 indices per repetition).
    let reps: u64 = if quick { 40 } else { 200 };
    progress.start("interval coverage", 4);
    let (s_exact, t_exact) = ishigami.exact_indices();
    let covered = |outputs: &[crate::OutputIndices]| -> (usize, f64) {
        let o = &outputs[0];
        let mut hit = 0;
        let mut width = 0.0;
        for i in 0..3 {
            for (e, x) in [(&o.first_order[i], s_exact[i]), (&o.total[i], t_exact[i])] {
                if let Some(ci) = e.ci {
                    hit += usize::from(ci.contains(x));
                    width += ci.width() / 6.0;
                }
            }
        }
        (hit, width)
    };
    let mut coverage_rows = Vec::new();
    let n_cov = 1 << 10;
    let schemes: [(&str, Design, u32, bool); 4] = [
        ("RQMC, 10 replicates, Student t", Design::Sobol, 10, false),
        ("MC, delta method", Design::MonteCarlo, 1, false),
        ("MC, row bootstrap (B = 100)", Design::MonteCarlo, 1, true),
        ("RQMC, row bootstrap (B = 100)", Design::Sobol, 1, true),
    ];
    for (label, design, replicates, boot) in schemes {
        let (mut hits, mut width) = (0usize, 0.0);
        for r in 0..reps {
            let pf = PickFreeze::new(
                ishigami.input_space()?,
                cfg(
                    Estimator::Saltelli,
                    design,
                    n_cov,
                    replicates,
                    config.seed ^ (1000 + r),
                ),
            )?;
            let outputs = if boot {
                bootstrap_indices(&pf, &ishigami, 100, config.seed ^ r)?
            } else {
                pf.run(&ishigami)?.outputs
            };
            let (h, w) = covered(&outputs);
            hits += h;
            width += w / reps as f64;
        }
        let total = (6 * reps) as f64;
        let p = hits as f64 / total;
        coverage_rows.push(vec![
            Cell::from(label),
            Cell::from((n_cov * 5 * replicates as usize) as f64),
            Cell::from(p),
            Cell::from((p * (1.0 - p) / total).sqrt()),
            Cell::from(width),
        ]);
        progress.advance(1);
    }
    progress.finish();
    tables.push(Table {
        title: format!("Coverage of nominal 95 % intervals, Ishigami, N = {n_cov}, {reps} repetitions x 6 indices"),
        columns: vec!["intervals".into(), "evaluations".into(), "coverage".into(), "its se".into(), "mean width".into()],
        rows: coverage_rows,
    });

    // 4. Speed of the analysis step, model cost subtracted.
    let mut speed_rows = Vec::new();
    for log2 in if quick { vec![14] } else { vec![14, 16] } {
        let n = 1usize << log2;
        let pf = PickFreeze::new(
            ishigami.input_space()?,
            cfg(Estimator::Saltelli, Design::Sobol, n, 1, config.seed),
        )?;
        let best = |f: &dyn Fn() -> Result<()>| -> Result<f64> {
            let mut t = f64::INFINITY;
            for _ in 0..3 {
                let start = Instant::now();
                f()?;
                t = t.min(start.elapsed().as_secs_f64());
            }
            Ok(t)
        };
        let total = best(&|| pf.run(&ishigami).map(|_| ()))?;
        let evals = n * 5;
        let xs: Vec<f64> = (0..evals * 3)
            .map(|j| (j % 977) as f64 * 6e-3 - 3.0)
            .collect();
        let model = best(&|| {
            let mut y = vec![0.0; evals];
            ishigami.eval_batch(&xs, &mut y)?;
            std::hint::black_box(&y);
            Ok(())
        })?;
        speed_rows.push(vec![
            Cell::from(n),
            Cell::from(evals),
            Cell::from(total),
            Cell::from(model),
            Cell::from(total - model),
            Cell::from(evals as f64 / (total - model)),
        ]);
    }
    tables.push(Table {
        title: "Analysis time, Ishigami, Saltelli on scrambled Sobol' (sample + evaluate + estimate; best of 3)".into(),
        columns: vec![
            "N".into(),
            "evaluations".into(),
            "total s".into(),
            "model s".into(),
            "analysis s (total - model)".into(),
            "analysis evaluations per s".into(),
        ],
        rows: speed_rows,
    });

    Ok(SuiteReport {
        suite: "sensitivity".into(),
        summary: format!(
            "RMSE over {seeds} seeds against model evaluations for six pick-freeze estimators on Monte Carlo \
             and scrambled Sobol' designs, the rank estimator and the on-line mirror descent (smd); SALib's reference case (Ishigami, N = {n_ref}: \
             RMSE S_i {s_ref:.2e}, S_Ti {t_ref:.2e} over 20 seeds; {s_many:.2e}, {t_many:.2e} over {many}); \
             coverage of 95 % intervals; analysis speed. \
             Compare with SALib 1.6 through benches/python/salib_sobol.py (docs/benchmarks.md)."
        ),
        config: *config,
        tables,
        plots,
    })
}
