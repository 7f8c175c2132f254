//! `uqforge charge`: charge transport in dielectrics, identified from density profiles.

use nalgebra::DMatrix;
use serde_json::{Map, Value, json};
use uqforge_core::{Error, Result};
use uqforge_pinn::charge::bipolar::{Bipolar, Parameter};
use uqforge_pinn::identify::bipolar::bipolar;
use uqforge_pinn::identify::{Adr, Identification, Settings, Unipolar, adr, unipolar};

use crate::input::{finite_columns, read_table};

/// Arguments of `uqforge charge`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, clap::Subcommand)]
enum Task {
    /// Transport parameters from charge-density profiles by a physics-informed network (an
    /// ensemble over seeds); prints each parameter with its standard error and interval.
    Identify(IdentifyArgs),
}

#[derive(Debug, clap::Args)]
struct IdentifyArgs {
    /// `adr` (one carrier at constant velocity, lost at rate k: v, D, k), `unipolar` (one
    /// carrier in its own field, trapped and released: mu, D, k_tr, k_dt) or `bipolar`
    /// (electrons and holes, mobile and trapped: the parameters named by `--unknown`, the
    /// others from `--known`).
    #[arg(long)]
    model: String,
    /// CSV with columns `t`, `x`, `n`: the density n (for `unipolar`, the net density of mobile
    /// and trapped charge; for `bipolar`, the net density of holes minus electrons) at time t
    /// and position x, one row per observation (two times at least).
    #[arg(long)]
    data: String,
    /// Seed of member 0 (member m uses seed + m; ChaCha8 streams).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Ensemble members.
    #[arg(long, default_value_t = 3)]
    members: usize,
    /// Fit members after the first to bootstrap resamples of the rows.
    #[arg(long)]
    bootstrap: bool,
    /// Injected density n0 at x = 0 (`adr`, `unipolar`).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    injection: f64,
    /// Applied voltage V (`unipolar`, and `bipolar` without `--known`).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    voltage: f64,
    /// Thickness L (default: the largest position in the data; `bipolar` with `--known`
    /// takes the file's).
    #[arg(long, allow_negative_numbers = true)]
    length: Option<f64>,
    /// `bipolar`: JSON of the known model, the fields of `uqforge_pinn`'s `Bipolar`
    /// (`mobility`, `diffusivity`, `trapping`, `trap_density`, `detrapping` as [electrons,
    /// holes], `recombination` as [S0, S1, S2, S3], `injection` as {"schottky": {"rate":
    /// [a_e, a_h], "beta": b}} or {"density": [n_e, n_h]}, `voltage`, `length`); the
    /// unknowns' values there are their starting values. Default: the reference model of the
    /// crate's docs (mobilities 1 and 0.5, diffusivities 0.01, trapping 1, trap densities 5,
    /// detrapping 0.05, recombination 1, Schottky rates 0.2 and 0.1 with beta 0.5) with
    /// `--voltage` and `--length`.
    #[arg(long, conflicts_with_all = ["voltage", "length"])]
    known: Option<String>,
    /// `bipolar`: the parameters to identify, comma-separated names (`mu_e`, `mu_h`, `D_e`,
    /// `D_h`, `B_e`, `B_h`, `N_e`, `N_h`, `k_e`, `k_h`, `S0` ... `S3`, `a_e`, `a_h`,
    /// `beta`).
    #[arg(long, default_value = "mu_e,mu_h,B_e,B_h")]
    unknown: String,
    /// Adam steps per member.
    #[arg(long, default_value_t = 3000)]
    adam_steps: usize,
    /// L-BFGS iterations per member (default 5000 for `adr`, 15000 for `unipolar` and
    /// `bipolar`, which need them).
    #[arg(long)]
    lbfgs_steps: Option<usize>,
    /// Collocation points of the PDE residual.
    #[arg(long, default_value_t = 2000)]
    collocation: usize,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    match &args.task {
        Task::Identify(a) => identify(a),
    }
}

fn identify(a: &IdentifyArgs) -> Result<Value> {
    match a.model.as_str() {
        "adr" | "unipolar" | "bipolar" => {}
        other => {
            return Err(Error::invalid_parameter(
                "model",
                format!("expected `adr`, `unipolar` or `bipolar`, got `{other}`"),
            ));
        }
    }
    let table = read_table(&a.data)?;
    let names = ["t", "x", "n"];
    finite_columns(&table, &names)?;
    let columns: Vec<&[f64]> = names
        .iter()
        .map(|name| table.numeric(name))
        .collect::<Result<_>>()?;
    let data = DMatrix::from_fn(columns[0].len(), 3, |r, c| columns[c][r]);
    let length = match a.length {
        Some(l) => l,
        None => data.column(1).max(),
    };
    let mut settings = Settings {
        members: a.members,
        seed: a.seed,
        collocation: a.collocation,
        bootstrap: a.bootstrap,
        ..Settings::default()
    };
    settings.training.adam.steps = a.adam_steps;
    settings.training.lbfgs.iterations =
        a.lbfgs_steps
            .unwrap_or(if a.model == "adr" { 5000 } else { 15_000 });
    let (fit, extra) = match a.model.as_str() {
        "adr" => {
            let model = Adr {
                injection: a.injection,
                length,
            };
            let fit = adr(&data, &model, &settings)?;
            (fit, json!({"injection": a.injection, "length": length}))
        }
        "unipolar" => {
            let model = Unipolar {
                injection: a.injection,
                voltage: a.voltage,
                length,
            };
            let fit = unipolar(&data, &model, &settings)?;
            let extra = json!({"injection": a.injection, "voltage": a.voltage, "length": length});
            (fit, extra)
        }
        _ => identify_bipolar(a, &data, length, &settings)?,
    };
    let mut parameters = Map::new();
    for p in &fit.parameters {
        let mut v = serde_json::to_value(p.estimate)
            .map_err(|e| Error::parse("identification", e.to_string()))?;
        v["ensemble_sd"] = json!(p.ensemble_sd);
        v["cramer_rao_sd"] = finite_or_null(p.cramer_rao_sd);
        v["identifiable"] = json!(p.identifiable);
        v["members"] = json!(p.members);
        parameters.insert(p.name.clone(), v);
    }
    let names: Vec<&str> = fit.parameters.iter().map(|p| p.name.as_str()).collect();
    let unidentifiable: Vec<Value> = fit
        .combinations
        .iter()
        .filter(|c| !c.identifiable)
        .map(|c| {
            let weights: Map<String, Value> = names
                .iter()
                .zip(&c.weights)
                .map(|(n, w)| ((*n).to_owned(), json!(w)))
                .collect();
            json!({"log_weights": weights, "relative_sd": finite_or_null(c.sd)})
        })
        .collect();
    let mut out = json!({
        "model": a.model,
        "parameters": parameters,
        "unidentifiable": unidentifiable,
        "noise_sd": fit.noise_sd,
        "data_rmse": fit.data_rmse,
        "losses": fit.losses,
        "observations": data.nrows(),
        "members": a.members,
        "bootstrap": a.bootstrap,
        "seeds": fit.seeds,
        "rng": "ChaCha8; member m trains from seed + m",
    });
    if let (Value::Object(out), Value::Object(extra)) = (&mut out, extra) {
        out.extend(extra);
    }
    Ok(out)
}

/// Model (c): the known model from `--known` (or the reference model), the unknowns from
/// `--unknown`; returns the fit and the model's part of the output.
fn identify_bipolar(
    a: &IdentifyArgs,
    data: &DMatrix<f64>,
    length: f64,
    settings: &Settings,
) -> Result<(Identification, Value)> {
    let known = match &a.known {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            serde_json::from_str::<Bipolar>(&text)
                .map_err(|e| Error::parse(format!("known model {path}"), e.to_string()))?
        }
        None => Bipolar::reference(a.voltage, length),
    };
    let unknown = a
        .unknown
        .split(',')
        .map(|name| Parameter::parse(name.trim()))
        .collect::<Result<Vec<_>>>()?;
    let fit = bipolar(data, &known, &unknown, settings)?;
    let extra = json!({
        "known": known,
        "unknown": unknown.iter().map(|p| p.name()).collect::<Vec<_>>(),
        "voltage": known.voltage,
        "length": known.length,
    });
    Ok((fit, extra))
}

/// A number, or `null` for an infinite one (JSON has no infinity).
fn finite_or_null(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}
