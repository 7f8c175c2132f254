//! `uqforge pea`: deconvolution of pulsed electro-acoustic signals into charge profiles.

use nalgebra::DVector;
use serde_json::{Value, json};
use uqforge_core::{Error, Result};
use uqforge_datasets::ColumnData;
use uqforge_pinn::pea::{Choice, Method, Penalty, Solver, Transfer, deconvolve};

use crate::input::{finite_columns, read_table};

/// Arguments of `uqforge pea`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, clap::Subcommand)]
enum Task {
    /// Space-charge profile from a PEA signal and a calibration reference, by regularised
    /// deconvolution; prints the regularisation parameter and one profile value per sample.
    Deconvolve(DeconvolveArgs),
}

#[derive(Debug, clap::Args)]
struct DeconvolveArgs {
    /// CSV with one column: the signal, at a uniform time step (header optional).
    #[arg(long)]
    signal: String,
    /// CSV with one column: the signal of a unit surface charge at the first sample, without
    /// space charge, at the same time step (the calibration).
    #[arg(long)]
    reference: String,
    /// Surface charge of the reference, in the profile's units (default 1).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    surface_charge: f64,
    /// `tikhonov` or `wiener`.
    #[arg(long, default_value = "tikhonov")]
    method: String,
    /// Tikhonov penalty: `identity` or `difference` (default `difference`).
    #[arg(long)]
    penalty: Option<String>,
    /// Tikhonov solver: `fourier` (circular, fast) or `svd` (exact truncated convolution).
    #[arg(long)]
    solver: Option<String>,
    /// Choice of lambda: `gcv`, `lcurve`, `discrepancy` or `rgcv` (robust GCV, gamma 0.1);
    /// default `gcv` for Tikhonov and the classical lambda = 1 for Wiener.
    #[arg(long, conflicts_with = "lambda")]
    choose: Option<String>,
    /// A given regularisation parameter instead of a choice.
    #[arg(long, allow_negative_numbers = true)]
    lambda: Option<f64>,
    /// Standard deviation of the signal's noise (needed by `discrepancy`; Wiener estimates it
    /// from the high frequencies when absent).
    #[arg(long, allow_negative_numbers = true)]
    noise_sd: Option<f64>,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    match &args.task {
        Task::Deconvolve(a) => deconvolve_command(a),
    }
}

/// The samples of a one-column CSV.
fn samples(spec: &str, flag: &str) -> Result<DVector<f64>> {
    let table = read_table(spec)?;
    let [column] = table.columns() else {
        return Err(Error::invalid_parameter(
            flag,
            format!(
                "`{spec}` has {} columns; it must hold one column of samples",
                table.columns().len()
            ),
        ));
    };
    let ColumnData::Numeric(values) = &column.data else {
        return Err(Error::parse(
            spec,
            format!("column `{}` is not numeric", column.name),
        ));
    };
    finite_columns(&table, &[&column.name])?;
    Ok(DVector::from_column_slice(values))
}

fn deconvolve_command(a: &DeconvolveArgs) -> Result<Value> {
    let method = match a.method.as_str() {
        "tikhonov" => {
            let penalty = match a.penalty.as_deref().unwrap_or("difference") {
                "identity" => Penalty::Identity,
                "difference" => Penalty::Difference,
                other => {
                    return Err(Error::invalid_parameter(
                        "penalty",
                        format!("expected `identity` or `difference`, got `{other}`"),
                    ));
                }
            };
            let solver = match a.solver.as_deref().unwrap_or("fourier") {
                "fourier" => Solver::Fourier,
                "svd" => Solver::Svd,
                other => {
                    return Err(Error::invalid_parameter(
                        "solver",
                        format!("expected `fourier` or `svd`, got `{other}`"),
                    ));
                }
            };
            Method::Tikhonov { penalty, solver }
        }
        "wiener" => {
            if a.penalty.is_some() || a.solver.is_some() {
                return Err(Error::invalid_parameter(
                    "penalty/solver",
                    "apply to the tikhonov method only",
                ));
            }
            Method::Wiener
        }
        other => {
            return Err(Error::invalid_parameter(
                "method",
                format!("expected `tikhonov` or `wiener`, got `{other}`"),
            ));
        }
    };
    let choice = match (a.choose.as_deref(), a.lambda) {
        (_, Some(lambda)) => Choice::Fixed(lambda),
        (Some("gcv"), None) => Choice::Gcv,
        (Some("lcurve"), None) => Choice::LCurve,
        (Some("discrepancy"), None) => Choice::Discrepancy,
        (Some("rgcv"), None) => Choice::RobustGcv(0.1),
        (Some(other), None) => {
            return Err(Error::invalid_parameter(
                "choose",
                format!("expected `gcv`, `lcurve`, `discrepancy` or `rgcv`, got `{other}`"),
            ));
        }
        (None, None) if method == Method::Wiener => Choice::Fixed(1.0),
        (None, None) => Choice::Gcv,
    };
    let signal = samples(&a.signal, "--signal")?;
    let reference = samples(&a.reference, "--reference")?;
    let transfer = Transfer::from_reference(&reference, a.surface_charge)?;
    let fit = deconvolve(&signal, &transfer, method, choice, a.noise_sd)?;
    let (penalty, solver) = match method {
        Method::Tikhonov { penalty, solver } => (
            json!(format!("{penalty:?}").to_lowercase()),
            json!(format!("{solver:?}").to_lowercase()),
        ),
        Method::Wiener => (Value::Null, json!("fourier")),
    };
    Ok(json!({
        "lambda": fit.lambda,
        "profile": fit.profile.as_slice(),
        "method": a.method,
        "penalty": penalty,
        "solver": solver,
        "choose": match choice {
            Choice::Fixed(_) => "fixed",
            Choice::Gcv => "gcv",
            Choice::LCurve => "lcurve",
            Choice::Discrepancy => "discrepancy",
            Choice::RobustGcv(_) => "rgcv",
        },
        "residual_norm": fit.residual_norm,
        "penalty_norm": fit.penalty_norm,
        "effective_parameters": fit.effective_parameters,
        "noise_sd": fit.noise_sd,
        "samples": signal.len(),
    }))
}
