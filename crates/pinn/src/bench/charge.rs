//! The `charge` suite of `cargo xtask bench`: the charge-transport use case stage by stage.
//!
//! Model (a) with $v = 1$, $D = 0.05$, $k = 0.5$, $n_0 = 1$, $L = 1$; profiles at 20 times
//! $t = 0.05, 0.1, \dots, 1$ on 128 samples of $[0, 1]$ (the design of the pinn crate's
//! identification test, whose Cramér–Rao deviations are 0.13 %, 0.50 % and 0.59 %).
//!
//! 1. **Pipeline, timed stage by stage**: PEA signals through a band-limited pulse with 1 %
//!    noise, Tikhonov deconvolution (first-difference penalty, SVD, GCV), PINN identification
//!    (two members; one with `--quick`), Sobol' indices of the identified finite-volume model
//!    ([`crate::charge::LogModel`], $\log v$, $\log D$, $\log k$ uniform over a factor 2 either
//!    side of the estimate; outputs: the external current at $t = 0.25, 0.5, 1$ and the stored
//!    charge at $t = 1$), next to the same indices at the true parameters.
//! 2. **Identification error against the noise level** (0.5 %, 1 %, 2 %, 5 % of $n_0$, on the
//!    closed-form profiles, 20 profiles) and **against the number of profiles** (5, 10, 20
//!    evenly spaced in $(0, 1]$, 1 % noise), one member each, with the Cramér–Rao deviation
//!    of each design beside the error.
//!
//! 3. **Calibration of the standard errors**: $z = (\hat\theta - \theta)/\widehat{se}$ over
//!    12 independent noise draws (3 with `--quick`), 10 profiles, 1 % noise, one member: mean,
//!    root mean square (1 if calibrated) and coverage of the 95 % intervals.
//!
//! The Sobol' step comes from the caller ([`SobolStep`]): the pinn crate does not depend on
//! the sensitivity crate, and `xtask` joins the two.

use std::time::Instant;

use nalgebra::{DMatrix, DVector};
use uqforge_core::bench::{Cell, Plot, Series, SuiteConfig, SuiteReport, Table};
use uqforge_core::observe::Progress;
use uqforge_core::{Estimate, Result, rng};

use crate::charge::{Field, LogModel, Parameter, Transport};
use crate::diffusion::adr_exact;
use crate::identify::{Adr, Identification, Settings, adr, observations};
use crate::pea::{Choice, Method, Penalty, Solver, Transfer, deconvolve};

/// $(v, D, k)$ of the suite's model (a).
pub const TRUTH: [f64; 3] = [1.0, 0.05, 0.5];

/// The parameters' names, in the order of [`TRUTH`].
pub const NAMES: [&str; 3] = ["v", "D", "k"];

/// The output times of the external current in the Sobol' study.
pub const CURRENT_TIMES: [f64; 3] = [0.25, 0.5, 1.0];

/// First-order and total indices of one output, one estimate per input.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputIndices {
    /// First-order indices.
    pub first: Vec<Estimate>,
    /// Total indices.
    pub total: Vec<Estimate>,
}

/// Sobol' indices of `model` with input `i` uniform on `ranges[i]` (its name, lower and upper
/// bound), base sample size `n` (4 replicates), from `seed`: one [`OutputIndices`] per output
/// of the model.
pub type SobolStep =
    dyn Fn(&LogModel, &[(String, f64, f64)], usize, u64) -> Result<Vec<OutputIndices>>;

/// The suite's PEA pulse: a band-limited pulse with the undershoot of a real transducer.
pub fn pulse() -> DVector<f64> {
    let gauss = |x: f64, c: f64, w: f64| (-0.5 * ((x - c) / w).powi(2)).exp();
    DVector::from_fn(60, |i, _| {
        gauss(i as f64, 6.0, 2.5) - 0.3 * gauss(i as f64, 14.0, 5.0)
    })
}

/// `count` evenly spaced times in $(0, 1]$ and the 128 sample positions of $[0, 1]$.
pub fn grid(count: usize) -> (Vec<f64>, Vec<f64>) {
    let times = (1..=count).map(|i| i as f64 / count as f64).collect();
    let x = (0..128).map(|j| j as f64 / 127.0).collect();
    (times, x)
}

/// The true profiles $n(t_i, x_j)$ (rows = times).
pub fn true_profiles(times: &[f64], x: &[f64]) -> DMatrix<f64> {
    DMatrix::from_fn(times.len(), x.len(), |i, j| {
        adr_exact(times[i], x[j], TRUTH[0], TRUTH[1], TRUTH[2], 1.0)
    })
}

/// What the PEA stages produce.
#[derive(Clone, Debug)]
pub struct Pea {
    /// Noisy signals, one row per time.
    pub signals: DMatrix<f64>,
    /// Deconvolved profiles, same layout.
    pub profiles: DMatrix<f64>,
    /// The noise standard deviation of the signals.
    pub noise_sd: f64,
    /// The GCV choices of $\lambda$.
    pub lambdas: Vec<f64>,
}

/// Signals of `truth` (rows = times) through [`pulse`] with noise of `noise` times the
/// largest clean signal, deconvolved by Tikhonov (difference penalty, SVD, GCV).
///
/// # Errors
/// Those of [`Transfer`] and [`deconvolve`].
pub fn pea(truth: &DMatrix<f64>, noise: f64, seed: u64) -> Result<Pea> {
    let transfer = Transfer::from_reference(&pulse(), 1.0)?;
    let clean: Vec<DVector<f64>> = truth
        .row_iter()
        .map(|r| transfer.signal(&r.transpose()))
        .collect::<Result<_>>()?;
    let sd = noise * clean.iter().map(DVector::amax).fold(0.0, f64::max);
    let mut draws = rng::stream(seed, 0);
    let method = Method::Tikhonov {
        penalty: Penalty::Difference,
        solver: Solver::Svd,
    };
    let (nt, nx) = truth.shape();
    let mut out = Pea {
        signals: DMatrix::zeros(nt, nx),
        profiles: DMatrix::zeros(nt, nx),
        noise_sd: sd,
        lambdas: Vec::with_capacity(nt),
    };
    for (i, s) in clean.iter().enumerate() {
        let y = s.map(|v| v + sd * rng::standard_normal(&mut draws));
        let d = deconvolve(&y, &transfer, method, Choice::Gcv, None)?;
        out.signals.row_mut(i).copy_from(&y.transpose());
        out.profiles.row_mut(i).copy_from(&d.profile.transpose());
        out.lambdas.push(d.lambda);
    }
    Ok(out)
}

/// The identification settings of the suite: `members` members, 1,000 collocation points,
/// 2,000 Adam steps and 2,000 L-BFGS iterations (as the tests).
pub fn settings(members: usize, seed: u64) -> Settings {
    let mut s = Settings {
        members,
        seed,
        collocation: 1000,
        ..Settings::default()
    };
    s.training.adam.steps = 2000;
    s.training.lbfgs.iterations = 2000;
    s
}

/// Identifies model (a) from profiles (rows = `times`, columns = `x`).
///
/// # Errors
/// Those of [`adr`].
pub fn identify(
    times: &[f64],
    x: &[f64],
    profiles: &DMatrix<f64>,
    settings: &Settings,
) -> Result<Identification> {
    let data = observations(times, x, profiles)?;
    adr(
        &data,
        &Adr {
            injection: 1.0,
            length: 1.0,
        },
        settings,
    )
}

/// The finite-volume model (a) of the Sobol' study, varying the logs of $(v, D, k)$.
///
/// # Errors
/// Those of [`LogModel::new`] (non-positive parameters).
pub fn sobol_model(theta: [f64; 3]) -> Result<LogModel> {
    let base = Transport {
        field: Field::Constant(theta[0]),
        diffusivity: theta[1],
        trapping: theta[2],
        detrapping: 0.0,
        injection: 1.0,
        length: 1.0,
    };
    let varied = vec![
        Parameter::Drift,
        Parameter::Diffusivity,
        Parameter::Trapping,
    ];
    LogModel::new(base, varied, 100, 0.01, CURRENT_TIMES.to_vec())
}

/// The ranges of the Sobol' study: $\log\theta \pm \log 2$.
pub fn sobol_ranges(theta: [f64; 3]) -> Vec<(String, f64, f64)> {
    NAMES
        .iter()
        .zip(theta)
        .map(|(n, t)| ((*n).to_owned(), t.ln() - 2f64.ln(), t.ln() + 2f64.ln()))
        .collect()
}

/// The output names of the Sobol' study.
pub fn sobol_outputs() -> Vec<String> {
    CURRENT_TIMES
        .iter()
        .map(|t| format!("J(t = {t})"))
        .chain(std::iter::once("Q(t = 1)".to_owned()))
        .collect()
}

fn percent_error(fit: &Identification) -> Vec<f64> {
    fit.values()
        .iter()
        .zip(TRUTH)
        .map(|(v, t)| 100.0 * (v / t - 1.0))
        .collect()
}

/// Runs the suite (see the module docs), with `sobol` for the Sobol' step.
///
/// # Errors
/// Those of the stages.
pub fn run(
    config: &SuiteConfig,
    progress: &mut dyn Progress,
    sobol: &SobolStep,
) -> Result<SuiteReport> {
    let quick = config.quick;
    let seed = config.seed;
    let members = if quick { 1 } else { 2 };
    let noises: Vec<f64> = if quick {
        vec![0.01, 0.05]
    } else {
        vec![0.005, 0.01, 0.02, 0.05]
    };
    let counts: Vec<usize> = if quick { vec![5, 20] } else { vec![5, 10, 20] };
    let draws_count: u64 = if quick { 3 } else { 12 };
    progress.start(
        "charge: stages",
        3 + (noises.len() + counts.len()) as u64 + draws_count,
    );

    // 1. The pipeline.
    let (times, x) = grid(20);
    let truth = true_profiles(&times, &x);
    let start = Instant::now();
    let p = pea(&truth, 0.01, seed)?;
    let t_pea = start.elapsed().as_secs_f64();
    let profile_rmse = ((&p.profiles - &truth).norm_squared() / truth.len() as f64).sqrt();
    progress.advance(1);
    let start = Instant::now();
    let fit = identify(&times, &x, &p.profiles, &settings(members, seed))?;
    let t_pinn = start.elapsed().as_secs_f64();
    progress.advance(1);
    let theta = {
        let v = fit.values();
        [v[0], v[1], v[2]]
    };
    let n_sobol = if quick { 256 } else { 1024 };
    let start = Instant::now();
    let identified = sobol(&sobol_model(theta)?, &sobol_ranges(theta), n_sobol, seed)?;
    let t_sobol = start.elapsed().as_secs_f64();
    let reference = sobol(&sobol_model(TRUTH)?, &sobol_ranges(TRUTH), n_sobol, seed)?;
    progress.advance(1);

    let stage_rows = vec![
        vec![
            Cell::from("PEA signals + deconvolution (20 x 128, SVD, GCV)"),
            Cell::from(t_pea),
            Cell::from(format!(
                "profile RMSE {profile_rmse:.4} (n0 = 1); signal noise sd {:.4}",
                p.noise_sd
            )),
        ],
        vec![
            Cell::from(format!("PINN identification ({members} member(s))")),
            Cell::from(t_pinn),
            Cell::from({
                let e = percent_error(&fit);
                format!(
                    "errors v {:+.2} %, D {:+.2} %, k {:+.2} %",
                    e[0], e[1], e[2]
                )
            }),
        ],
        vec![
            Cell::from(format!(
                "Sobol' indices (Janon, scrambled Sobol', N = {n_sobol} x 4 replicates)"
            )),
            Cell::from(t_sobol),
            Cell::from(format!("{} evaluations of the solver", n_sobol * 5 * 4)),
        ],
    ];
    let mut fit_rows = Vec::new();
    for (p, t) in fit.parameters.iter().zip(TRUTH) {
        let ci = p.estimate.ci;
        fit_rows.push(vec![
            Cell::from(p.name.as_str()),
            Cell::from(t),
            Cell::from(p.estimate.value),
            Cell::from(100.0 * (p.estimate.value / t - 1.0)),
            Cell::from(p.estimate.std_error.unwrap_or(f64::NAN)),
            Cell::from(ci.map_or(f64::NAN, |c| c.lower)),
            Cell::from(ci.map_or(f64::NAN, |c| c.upper)),
            Cell::from(p.cramer_rao_sd),
        ]);
    }
    let mut sobol_rows = Vec::new();
    for (o, name) in sobol_outputs().iter().enumerate() {
        for (j, parameter) in NAMES.iter().enumerate() {
            let (a, b) = (&identified[o], &reference[o]);
            sobol_rows.push(vec![
                Cell::from(name.as_str()),
                Cell::from(*parameter),
                Cell::from(a.first[j].value),
                Cell::from(a.total[j].value),
                Cell::from(a.total[j].ci.map_or(f64::NAN, |c| c.upper - c.lower)),
                Cell::from(b.first[j].value),
                Cell::from(b.total[j].value),
            ]);
        }
    }

    // 2. Error against noise and against the number of profiles.
    let mut study_rows = Vec::new();
    let mut noise_series: Vec<Series> = NAMES
        .iter()
        .map(|n| Series {
            label: format!("{n}: |error| (%)"),
            x: Vec::new(),
            y: Vec::new(),
        })
        .collect();
    let mut cases: Vec<(f64, usize)> = noises.iter().map(|&s| (s, 20)).collect();
    cases.extend(counts.iter().filter(|&&c| c != 20).map(|&c| (0.01, c)));
    for (k, &(noise, count)) in cases.iter().enumerate() {
        let (times, x) = grid(count);
        let clean = true_profiles(&times, &x);
        let mut draws = rng::stream(seed, 100 + k as u64);
        let noisy = clean.map(|v| v + noise * rng::standard_normal(&mut draws));
        let start = Instant::now();
        let fit = identify(&times, &x, &noisy, &settings(1, seed))?;
        let seconds = start.elapsed().as_secs_f64();
        let e = percent_error(&fit);
        let mut row = vec![Cell::from(100.0 * noise), Cell::from(count)];
        for (j, p) in fit.parameters.iter().enumerate() {
            row.push(Cell::from(e[j]));
            row.push(Cell::from(100.0 * p.cramer_rao_sd / TRUTH[j]));
        }
        row.push(Cell::from(seconds));
        study_rows.push(row);
        if count == 20 {
            for (j, s) in noise_series.iter_mut().enumerate() {
                s.x.push(100.0 * noise);
                s.y.push(e[j].abs().max(1e-3));
            }
        }
        progress.advance(1);
    }

    // 3. Calibration of the standard errors: z = error / standard error over independent noise
    //    draws (10 profiles, 1 % noise, one member, so the standard error is the Cramér–Rao
    //    deviation at the estimate).
    let (c_times, c_x) = grid(10);
    let c_clean = true_profiles(&c_times, &c_x);
    let mut z: Vec<Vec<f64>> = vec![Vec::new(); 3];
    for r in 0..draws_count {
        let mut draws = rng::stream(seed, 1000 + r);
        let noisy = c_clean.map(|v| v + 0.01 * rng::standard_normal(&mut draws));
        let fit = identify(&c_times, &c_x, &noisy, &settings(1, seed.wrapping_add(r)))?;
        for (j, p) in fit.parameters.iter().enumerate() {
            let se = p.estimate.std_error.unwrap_or(f64::NAN);
            z[j].push((p.estimate.value - TRUTH[j]) / se);
        }
        progress.advance(1);
    }
    progress.finish();
    let calibration_rows: Vec<Vec<Cell>> = NAMES
        .iter()
        .zip(&z)
        .map(|(name, zs)| {
            let n = zs.len() as f64;
            let mean = zs.iter().sum::<f64>() / n;
            let rms = (zs.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
            let covered = zs
                .iter()
                .filter(|v| v.abs() <= 1.959_963_984_540_054)
                .count();
            vec![
                Cell::from(*name),
                Cell::from(zs.len()),
                Cell::from(mean),
                Cell::from(rms),
                Cell::from(covered as f64 / n),
            ]
        })
        .collect();

    // Figures: signals, deconvolved profiles against the truth, the PINN against the data.
    let show = [3, 9, 19];
    let samples: Vec<f64> = (0..x.len()).map(|j| j as f64).collect();
    let signal_series = show
        .iter()
        .map(|&i| Series {
            label: format!("t = {}", times[i]),
            x: samples.clone(),
            y: p.signals.row(i).iter().copied().collect(),
        })
        .collect();
    let mut profile_series = Vec::new();
    let mut fit_series = Vec::new();
    for &i in &show {
        profile_series.push(Series {
            label: format!("deconvolved, t = {}", times[i]),
            x: x.clone(),
            y: p.profiles.row(i).iter().copied().collect(),
        });
        profile_series.push(Series {
            label: format!("true, t = {}", times[i]),
            x: x.clone(),
            y: truth.row(i).iter().copied().collect(),
        });
        let net = &fit.networks[0];
        let mut u = [0.0];
        let y: Vec<f64> = x
            .iter()
            .map(|&xj| uqforge_core::Model::eval(net, &[times[i], xj], &mut u).map(|()| u[0]))
            .collect::<Result<_>>()?;
        fit_series.push(Series {
            label: format!("PINN, t = {}", times[i]),
            x: x.clone(),
            y,
        });
        fit_series.push(Series {
            label: format!("data, t = {}", times[i]),
            x: x.clone(),
            y: p.profiles.row(i).iter().copied().collect(),
        });
    }
    let sobol_series = (0..3)
        .flat_map(|j| {
            let outputs: Vec<f64> = (1..=identified.len()).map(|o| o as f64).collect();
            [
                Series {
                    label: format!("{}: identified", NAMES[j]),
                    x: outputs.clone(),
                    y: identified
                        .iter()
                        .map(|o| o.total[j].value.max(1e-4))
                        .collect(),
                },
                Series {
                    label: format!("{}: true", NAMES[j]),
                    x: outputs,
                    y: reference
                        .iter()
                        .map(|o| o.total[j].value.max(1e-4))
                        .collect(),
                },
            ]
        })
        .collect();
    let line = |name: &str, title: &str, x_label: &str, y_label: &str, series, log_y| Plot {
        name: name.into(),
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        log_x: false,
        log_y,
        bars: false,
        series,
    };
    let e = percent_error(&fit);
    Ok(SuiteReport {
        suite: "charge".into(),
        summary: format!(
            "Model (a), v = 1, D = 0.05, k = 0.5, 20 profiles x 128 samples, PEA signals with 1 % \
             noise: deconvolution {t_pea:.2} s (profile RMSE {profile_rmse:.4}), PINN {t_pinn:.1} s \
             (errors v {:+.2} %, D {:+.2} %, k {:+.2} %), Sobol' {t_sobol:.2} s. Seed {seed}.",
            e[0], e[1], e[2]
        ),
        config: *config,
        tables: vec![
            Table {
                title: "Stages of the pipeline (wall seconds)".into(),
                columns: ["stage", "seconds", "result"].map(String::from).to_vec(),
                rows: stage_rows,
            },
            Table {
                title: "Identified parameters (ensemble mean, standard error = ensemble and Cramér–Rao deviations combined)".into(),
                columns: [
                    "parameter",
                    "true",
                    "estimate",
                    "error (%)",
                    "std error",
                    "95 % lower",
                    "95 % upper",
                    "Cramér–Rao sd",
                ]
                .map(String::from)
                .to_vec(),
                rows: fit_rows,
            },
            Table {
                title: "Sobol' indices of the identified model (log-uniform, factor 2 either side) and of the true one".into(),
                columns: [
                    "output",
                    "parameter",
                    "first order",
                    "total",
                    "total: 95 % CI width",
                    "first order (true model)",
                    "total (true model)",
                ]
                .map(String::from)
                .to_vec(),
                rows: sobol_rows,
            },
            Table {
                title: "Identification error against noise and number of profiles (closed-form profiles, one member)".into(),
                columns: [
                    "noise (% of n0)",
                    "profiles",
                    "v error (%)",
                    "v Cramér–Rao sd (%)",
                    "D error (%)",
                    "D Cramér–Rao sd (%)",
                    "k error (%)",
                    "k Cramér–Rao sd (%)",
                    "seconds",
                ]
                .map(String::from)
                .to_vec(),
                rows: study_rows,
            },
            Table {
                title: format!("Calibration of the standard errors: z = (estimate - truth) / standard error over {draws_count} noise draws (10 profiles, 1 % noise, one member); calibrated: mean 0, RMS 1, coverage 0.95"),
                columns: [
                    "parameter",
                    "draws",
                    "mean z",
                    "RMS z",
                    "95 % interval coverage",
                ]
                .map(String::from)
                .to_vec(),
                rows: calibration_rows,
            },
        ],
        plots: vec![
            line(
                "signals",
                "PEA signals (1 % noise)",
                "sample",
                "signal",
                signal_series,
                false,
            ),
            line(
                "profiles",
                "Deconvolved and true charge profiles",
                "x",
                "density",
                profile_series,
                false,
            ),
            line(
                "pinn",
                "PINN (member 0) against the deconvolved profiles",
                "x",
                "density",
                fit_series,
                false,
            ),
            Plot {
                bars: true,
                ..line(
                    "sobol",
                    "Total Sobol' indices (outputs 1-3: current at t = 0.25, 0.5, 1; 4: charge at t = 1)",
                    "output",
                    "total index",
                    sobol_series,
                    true,
                )
            },
            Plot {
                name: "noise".into(),
                title: "Identification error against noise (20 profiles)".into(),
                x_label: "noise (% of n0)".into(),
                y_label: "|error| (%)".into(),
                log_x: true,
                log_y: true,
                bars: false,
                series: noise_series,
            },
        ],
    })
}
