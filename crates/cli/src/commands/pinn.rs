//! `uqforge pinn`: physics-informed neural networks on reference problems.

use serde_json::{Value, json};
use uqforge_core::observe::NoProgress;
use uqforge_core::{Error, Result};
use uqforge_pinn::burgers::{Experiment, Mode};

/// Arguments of `uqforge pinn`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    problem: Problem,
}

#[derive(Debug, clap::Subcommand)]
enum Problem {
    /// Viscous Burgers on [-1, 1] x [0, 1], u(0, x) = -sin(pi x), nu = 0.01/pi: solve it
    /// (forward) or identify lambda1 = 1 and lambda2 = nu from samples of the exact solution
    /// (inverse), as in Raissi, Perdikaris and Karniadakis (2019).
    Burgers(BurgersArgs),
}

#[derive(Debug, clap::Args)]
struct BurgersArgs {
    /// `forward` or `inverse`.
    #[arg(long)]
    mode: String,
    /// Collocation points (forward, default 10000) or data points (inverse, default 2000).
    #[arg(long)]
    points: Option<usize>,
    /// Inverse mode: Gaussian noise, as a fraction of the data's standard deviation.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    noise: f64,
    /// Hidden layer widths, comma-separated (default: eight layers of 20).
    #[arg(long)]
    layers: Option<String>,
    /// Adam steps.
    #[arg(long, default_value_t = 2000)]
    adam_steps: usize,
    /// L-BFGS iterations.
    #[arg(long, default_value_t = 20_000)]
    lbfgs_steps: usize,
    /// Seed of the points, the noise and the initial weights.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    match &args.problem {
        Problem::Burgers(a) => burgers(a),
    }
}

fn burgers(a: &BurgersArgs) -> Result<Value> {
    let mode = match a.mode.as_str() {
        "forward" => Mode::Forward,
        "inverse" => Mode::Inverse,
        other => {
            return Err(Error::invalid_parameter(
                "mode",
                format!("expected `forward` or `inverse`, got `{other}`"),
            ));
        }
    };
    if mode == Mode::Forward && a.noise != 0.0 {
        return Err(Error::invalid_parameter(
            "noise",
            "applies to the inverse mode only",
        ));
    }
    let mut experiment = Experiment::raissi(mode);
    if let Some(points) = a.points {
        experiment.points = points;
    }
    if let Some(layers) = &a.layers {
        experiment.layers = layers
            .split(',')
            .map(|w| {
                w.trim()
                    .parse::<usize>()
                    .map_err(|_| Error::parse("--layers", format!("`{w}` is not a layer width")))
            })
            .collect::<Result<_>>()?;
    }
    experiment.noise = a.noise;
    experiment.training.adam.steps = a.adam_steps;
    experiment.training.lbfgs.iterations = a.lbfgs_steps;
    experiment.seed = a.seed;
    let out = experiment.run(&mut NoProgress)?;
    let mut v = json!({
        "mode": a.mode,
        "relative_l2": out.relative_l2,
        "loss": out.loss,
        "seconds": out.seconds,
        "points": experiment.points,
        "layers": experiment.layers,
        "adam_steps": out.training.adam_steps,
        "lbfgs_iterations": out.training.lbfgs_iterations,
        "lbfgs_termination": out.training.lbfgs_termination,
        "seed": a.seed,
    });
    if let (Some(l1), Some(l2)) = (out.lambda1, out.lambda2) {
        v["lambda1"] = json!(l1);
        v["lambda2"] = json!(l2);
        v["noise"] = json!(a.noise);
    }
    Ok(v)
}
