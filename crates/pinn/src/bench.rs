//! The `pinn` suite of `cargo xtask bench`.
//!
//! 1. **Cost of one loss and gradient** for the Burgers PINN of [`timing_problem`]: a
//!    2-20-20-20-20-1 tanh network, the residual at 2,000 Latin-hypercube collocation points
//!    and the boundary condition at 100 points. Wall seconds per evaluation, best of 5 rounds
//!    of 20, in a one-thread and a two-thread rayon pool; and per full-batch Adam epoch
//!    (evaluation and update; the difference of 60 and 20 steps, best of 5, so that the set-up
//!    cancels). Side by side with PyTorch on CPU, one thread, float64 and
//!    float32, from `benches/python/pinn_torch.py` (same network shape and points count,
//!    derivatives by nested autograd), stored in `benches/python/pinn_torch.json` and read
//!    here. The goals: at most 0.5x PyTorch float64 and 1.0x float32.
//! 2. **Accuracy against time**: Raissi et al.'s inverse problem (2,000 samples, 8 hidden
//!    layers of 20; errors of $\lambda_1$, $\lambda_2$ along training) and forward problem
//!    (10,000 collocation points; relative $L^2$ error on the $256\times 100$ grid along
//!    training), Adam then L-BFGS. `--quick` runs both at a small size.
//!
//! Python is never run by the suite; the report says when the peer file is missing.

pub mod charge;

use std::time::Instant;

use nalgebra::DMatrix;
use serde::Deserialize;
use uqforge_core::bench::{Cell, Plot, Series, Suite, SuiteConfig, SuiteReport, Table};
use uqforge_core::observe::{NoProgress, Progress};
use uqforge_core::{Error, Result};

use crate::burgers::{self, BurgersResidual, Coefficient, Experiment, Mode, NU};
use crate::loss::{Problem, Term};
use crate::mlp::{Activation, Mlp};
use crate::sampling::{latin_hypercube, two_sided_boundary};
use crate::train::{TrainOptions, train};

/// The suites of this crate.
pub fn suites() -> Vec<Suite> {
    vec![Suite {
        name: "pinn",
        description: "Burgers PINN: loss+gradient time against PyTorch (1 thread, f64/f32), accuracy against time for Raissi et al.'s forward and inverse problems",
        run,
    }]
}

/// The timing problem: a 2-20-20-20-20-1 tanh network and the Burgers loss with 2,000
/// collocation and 100 boundary points, all from `seed`.
///
/// # Errors
/// None in practice (the sizes are fixed and valid).
pub fn timing_problem(seed: u64) -> Result<(Mlp, Problem)> {
    let (lo, hi) = burgers::DOMAIN;
    let net =
        Mlp::new(&[2, 20, 20, 20, 20, 1], Activation::Tanh, seed)?.with_input_box(&lo, &hi)?;
    let pde = latin_hypercube(2000, &lo, &hi, seed, 0)?;
    let boundary = two_sided_boundary(100, [lo[0], hi[0]], [lo[1], hi[1]], seed, 1)?;
    let residual = BurgersResidual {
        lambda1: Coefficient::Known(1.0),
        lambda2: Coefficient::Known(NU),
    };
    let problem = Problem::new(
        vec![
            Term::new("pde", pde, residual)?,
            Term::data("boundary", boundary, DMatrix::zeros(100, 1))?,
        ],
        vec![],
    )?;
    Ok((net, problem))
}

#[derive(Debug, Deserialize)]
struct Peer {
    torch: String,
    seconds_per_epoch_f64: f64,
    seconds_per_epoch_f32: f64,
}

const PEER_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../benches/python/pinn_torch.json"
);

fn peer() -> Option<Peer> {
    serde_json::from_str(&std::fs::read_to_string(PEER_FILE).ok()?).ok()
}

fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::invalid_parameter("threads", e))
}

/// Seconds per loss+gradient and per Adam epoch, best of 5 rounds of 20, with `threads`.
fn time_evaluations(net: &Mlp, problem: &Problem, threads: usize) -> Result<(f64, f64)> {
    pool(threads)?.install(|| {
        let mut ws = problem.workspace(net)?;
        let mut g = vec![0.0; net.n_params()];
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..20 {
                problem.evaluate(net, &[], &mut ws, Some((&mut g, &mut [])))?;
            }
            best = best.min(start.elapsed().as_secs_f64() / 20.0);
        }
        // An Adam epoch in steady state: the difference between 60 and 20 steps, so that the
        // set-up of `train` (buffers, the final evaluation) cancels, as PyTorch's timing
        // starts after warm-up steps.
        let run = |steps: usize| -> Result<f64> {
            let mut options = TrainOptions::default();
            options.adam.steps = steps;
            options.lbfgs.iterations = 0;
            let mut best = f64::INFINITY;
            for _ in 0..5 {
                let mut copy = net.clone();
                let start = Instant::now();
                train(problem, &mut copy, &options, &mut NoProgress)?;
                best = best.min(start.elapsed().as_secs_f64());
            }
            Ok(best)
        };
        let epoch = (run(60)? - run(20)?) / 40.0;
        Ok((best, epoch))
    })
}

fn run(config: &SuiteConfig, progress: &mut dyn Progress) -> Result<SuiteReport> {
    progress.start("pinn: timing", 2);
    let (net, problem) = timing_problem(config.seed)?;
    let (one, epoch_one) = time_evaluations(&net, &problem, 1)?;
    progress.advance(1);
    let (two, epoch_two) = time_evaluations(&net, &problem, 2)?;
    progress.advance(1);
    progress.finish();
    let theirs = peer();
    let opt = |x: Option<f64>| x.map_or_else(|| Cell::from("–"), Cell::from);
    let timing_rows = vec![
        vec![
            Cell::from("uqforge-pinn, 1 thread"),
            Cell::from(one * 1e3),
            Cell::from(epoch_one * 1e3),
            opt(theirs.as_ref().map(|p| epoch_one / p.seconds_per_epoch_f64)),
            opt(theirs.as_ref().map(|p| epoch_one / p.seconds_per_epoch_f32)),
        ],
        vec![
            Cell::from("uqforge-pinn, 2 threads"),
            Cell::from(two * 1e3),
            Cell::from(epoch_two * 1e3),
            opt(theirs.as_ref().map(|p| epoch_two / p.seconds_per_epoch_f64)),
            opt(theirs.as_ref().map(|p| epoch_two / p.seconds_per_epoch_f32)),
        ],
        vec![
            Cell::from("PyTorch f64, 1 thread"),
            Cell::from("–"),
            opt(theirs.as_ref().map(|p| p.seconds_per_epoch_f64 * 1e3)),
            Cell::from("–"),
            Cell::from("–"),
        ],
        vec![
            Cell::from("PyTorch f32, 1 thread"),
            Cell::from("–"),
            opt(theirs.as_ref().map(|p| p.seconds_per_epoch_f32 * 1e3)),
            Cell::from("–"),
            Cell::from("–"),
        ],
    ];

    // Accuracy against time.
    let (grid, exact) = burgers::reference_grid(256, 100);
    let mut plots = Vec::new();
    let mut accuracy_rows = Vec::new();
    progress.start("pinn: accuracy against time", 2);
    for mode in [Mode::Inverse, Mode::Forward] {
        let mut e = Experiment::raissi(mode);
        e.seed = config.seed;
        e.training.record_every = if config.quick { 25 } else { 100 };
        e.training.keep_parameters = mode == Mode::Forward;
        if config.quick {
            e.points = if mode == Mode::Forward { 2000 } else { 500 };
            e.layers = vec![20; 4];
            e.training.adam.steps = 200;
            e.training.lbfgs.iterations = 300;
        } else {
            e.training.adam.steps = 2000;
            e.training.lbfgs.iterations = if mode == Mode::Forward { 5000 } else { 8000 };
        }
        let out = e.run(&mut NoProgress)?;
        let history = &out.training.history;
        let seconds: Vec<f64> = history.iter().map(|r| r.seconds).collect();
        let loss: Vec<f64> = history.iter().map(|r| r.loss).collect();
        let mut series = vec![Series {
            label: "loss".into(),
            x: seconds.clone(),
            y: loss,
        }];
        if mode == Mode::Inverse {
            let err = |k: usize, truth: f64| -> Vec<f64> {
                history
                    .iter()
                    .map(|r| (r.coefficients[k] / truth - 1.0).abs().max(1e-12))
                    .collect()
            };
            series.push(Series {
                label: "relative error of lambda1".into(),
                x: seconds.clone(),
                y: err(0, 1.0),
            });
            series.push(Series {
                label: "relative error of lambda2".into(),
                x: seconds,
                y: err(1, NU),
            });
        } else {
            let mut copy = out.network.clone();
            let np = copy.n_params();
            let mut l2 = Vec::with_capacity(history.len());
            for r in history {
                copy.set_params(&r.parameters[..np])?;
                l2.push(burgers::relative_l2(&copy, &grid, &exact)?);
            }
            series.push(Series {
                label: "relative L2 error of u".into(),
                x: seconds,
                y: l2,
            });
        }
        let name = if mode == Mode::Forward {
            "forward"
        } else {
            "inverse"
        };
        plots.push(Plot {
            name: format!("burgers-{name}"),
            title: format!(
                "Burgers {name}: {} points, {}x20 tanh, Adam then L-BFGS",
                e.points,
                e.layers.len()
            ),
            x_label: "training time (s)".into(),
            y_label: "loss, relative error".into(),
            log_x: false,
            log_y: true,
            bars: false,
            series,
        });
        accuracy_rows.push(vec![
            Cell::from(name),
            Cell::from(e.points),
            Cell::from(e.layers.len()),
            Cell::from(out.training.adam_steps),
            Cell::from(out.training.lbfgs_iterations as usize),
            Cell::from(out.seconds),
            Cell::from(out.loss),
            Cell::from(out.relative_l2),
            opt(out.lambda1.map(|l| (l - 1.0).abs() * 100.0)),
            opt(out.lambda2.map(|l| (l / NU - 1.0).abs() * 100.0)),
        ]);
        progress.advance(1);
    }
    progress.finish();

    let peer_note = match &theirs {
        Some(p) => format!(
            "PyTorch {} (benches/python/pinn_torch.json): {:.1} ms per float64 epoch, {:.1} ms float32; ours on one thread {:.1} ms, ratio {:.2} (goal 0.5) and {:.2} (goal 1.0).",
            p.torch,
            p.seconds_per_epoch_f64 * 1e3,
            p.seconds_per_epoch_f32 * 1e3,
            epoch_one * 1e3,
            epoch_one / p.seconds_per_epoch_f64,
            epoch_one / p.seconds_per_epoch_f32
        ),
        None => "No PyTorch peer file (run benches/python/pinn_torch.py).".into(),
    };
    Ok(SuiteReport {
        suite: "pinn".into(),
        summary: format!(
            "Burgers PINN loss and gradient (2-20-20-20-20-1 tanh, 2,000 collocation + 100 boundary points): {:.2} ms on one thread, {:.2} ms on two. {peer_note} Seed {}.",
            one * 1e3,
            two * 1e3,
            config.seed
        ),
        config: *config,
        tables: vec![
            Table {
                title: "Cost of the Burgers loss and gradient (2,000 + 100 points)".into(),
                columns: [
                    "implementation",
                    "loss + gradient (ms)",
                    "Adam epoch (ms)",
                    "epoch / PyTorch f64",
                    "epoch / PyTorch f32",
                ]
                .map(String::from)
                .to_vec(),
                rows: timing_rows,
            },
            Table {
                title: "Burgers, Raissi et al.'s problems: accuracy reached".into(),
                columns: [
                    "problem",
                    "points",
                    "hidden layers",
                    "Adam steps",
                    "L-BFGS iterations",
                    "seconds",
                    "loss",
                    "relative L2 of u",
                    "lambda1 error (%)",
                    "lambda2 error (%)",
                ]
                .map(String::from)
                .to_vec(),
                rows: accuracy_rows,
            },
        ],
        plots,
    })
}
