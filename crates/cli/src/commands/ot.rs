//! `uqforge ot`: optimal transport cost between two point clouds.

use nalgebra::{DMatrix, DVector};
use serde_json::{Value, json};
use uqforge_core::{Error, Result};
use uqforge_transport::{
    Balance, DiscreteMeasure, ExactOptions, GroundCost,
    divergence::sinkhorn_divergence,
    exact,
    matrix_free::sinkhorn_matrix_free,
    one_d::wasserstein_1d,
    plan::marginal_error,
    sinkhorn::{SinkhornOptions, sinkhorn},
    sliced::{SlicedOptions, sliced_wasserstein},
    unbalanced::{UnbalancedOptions, unbalanced},
};

use crate::input::read_table;

/// Arguments of `uqforge ot`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Source points: CSV (one point per row, every column a coordinate), `-` or a data set.
    #[arg(long)]
    source: String,
    /// Target points, as --source.
    #[arg(long)]
    target: String,
    /// Source weights: a one-column CSV (default uniform).
    #[arg(long)]
    source_weights: Option<String>,
    /// Target weights: a one-column CSV (default uniform).
    #[arg(long)]
    target_weights: Option<String>,
    /// emd (exact, network simplex), sinkhorn (entropic, needs --reg; matrix-free above
    /// 25 million pairs), sinkhorn-divergence (debiased, needs --reg), unbalanced (needs --reg
    /// and --reg-m), sliced, or 1d.
    #[arg(long)]
    method: String,
    /// Entropic regularisation epsilon, in units of the cost (sinkhorn, sinkhorn-divergence,
    /// unbalanced).
    #[arg(long, allow_negative_numbers = true)]
    reg: Option<f64>,
    /// Marginal penalty rho of unbalanced transport (KL on both marginals).
    #[arg(long, allow_negative_numbers = true)]
    reg_m: Option<f64>,
    /// Ground cost: sqeuclidean (W2^2) or euclidean (W1).
    #[arg(long, default_value = "sqeuclidean")]
    cost: String,
    /// Number of random directions (sliced).
    #[arg(long, default_value_t = 200)]
    projections: usize,
    /// Seed of the directions (sliced).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub(crate) fn points(spec: &str, what: &str) -> Result<DMatrix<f64>> {
    let table = read_table(spec)?;
    let names = table.names();
    table
        .matrix(&names)
        .map_err(|e| Error::parse(what, e.to_string()))
}

fn weights(spec: Option<&String>, n: usize, what: &str) -> Result<DVector<f64>> {
    let Some(spec) = spec else {
        return Ok(DVector::from_element(n, 1.0 / n.max(1) as f64));
    };
    let table = read_table(spec)?;
    let names = table.names();
    if names.len() != 1 {
        return Err(Error::invalid_parameter(
            what,
            format!("needs exactly one column, found {}", names.len()),
        ));
    }
    table.vector(names[0])
}

fn measure(
    points_spec: &str,
    weights_spec: Option<&String>,
    what: &str,
) -> Result<DiscreteMeasure> {
    let x = points(points_spec, what)?;
    let w = weights(weights_spec, x.nrows(), &format!("{what} weights"))?;
    DiscreteMeasure::new(x, w).map_err(|e| Error::invalid_parameter(what, e.to_string()))
}

/// Above this many cost entries (200 MB) `sinkhorn` recomputes costs instead of storing them.
const MATRIX_FREE_ABOVE: usize = 25_000_000;

fn reg(args: &Args) -> Result<f64> {
    args.reg.ok_or_else(|| {
        Error::invalid_parameter(
            "--reg",
            format!("{} needs the regularisation epsilon", args.method),
        )
    })
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let cost = match args.cost.as_str() {
        "sqeuclidean" => GroundCost::SqEuclidean,
        "euclidean" => GroundCost::Euclidean,
        other => {
            return Err(Error::invalid_parameter(
                "--cost",
                format!("`{other}`: use sqeuclidean or euclidean"),
            ));
        }
    };
    if args.reg_m.is_some() && args.method != "unbalanced" {
        return Err(Error::invalid_parameter(
            "--reg-m",
            "is the marginal penalty of --method unbalanced only",
        ));
    }
    let source = measure(&args.source, args.source_weights.as_ref(), "source")?;
    let target = measure(&args.target, args.target_weights.as_ref(), "target")?;
    let mut out = match args.method.as_str() {
        "emd" => {
            let ot = exact(&source, &target, cost, &ExactOptions::default())?;
            json!({
                "method": "emd",
                "cost": ot.cost,
                "iterations": ot.iterations,
                "marginal_error": ot.marginal_error,
                "dual_objective": ot.dual_objective,
                "plan_entries": ot.plan.len(),
            })
        }
        "sinkhorn" => {
            let options = SinkhornOptions {
                epsilon: reg(args)?,
                ..SinkhornOptions::default()
            };
            let (cost, iterations, marginal_error, entropic_cost, solver) =
                if source.len() * target.len() > MATRIX_FREE_ABOVE {
                    let ot = sinkhorn_matrix_free(&source, &target, cost, &options)?;
                    let solver = "matrix-free".to_owned();
                    (
                        ot.cost,
                        ot.iterations,
                        ot.marginal_error,
                        ot.entropic_cost,
                        solver,
                    )
                } else {
                    let ot = sinkhorn(&source, &target, cost, &options)?;
                    let solver = format!("{:?}", ot.method).to_lowercase();
                    (
                        ot.cost,
                        ot.iterations,
                        ot.marginal_error,
                        ot.entropic_cost,
                        solver,
                    )
                };
            json!({
                "method": "sinkhorn",
                "cost": cost,
                "iterations": iterations,
                "marginal_error": marginal_error,
                "reg": options.epsilon,
                "entropic_cost": entropic_cost,
                "solver": solver,
                "tolerance": options.tolerance,
            })
        }
        "sliced" => {
            let options = SlicedOptions {
                projections: args.projections,
                p: cost.power(),
                seed: args.seed,
                ..SlicedOptions::default()
            };
            let sw = sliced_wasserstein(&source, &target, &options)?;
            json!({
                "method": "sliced",
                "cost": sw.cost,
                "iterations": Value::Null,
                "marginal_error": Value::Null,
                "cost_std_error": sw.cost_std_error,
                "distance": sw.distance,
                "max_sliced": sw.max_sliced,
                "projections": sw.projections,
                "seed": sw.seed,
            })
        }
        "1d" => {
            if source.dim() != 1 || target.dim() != 1 {
                return Err(Error::invalid_parameter(
                    "--method 1d",
                    format!(
                        "needs one column per file, found {} and {}",
                        source.dim(),
                        target.dim()
                    ),
                ));
            }
            let (x, y) = (source.points().as_slice(), target.points().as_slice());
            let (a, b) = (source.weights().as_slice(), target.weights().as_slice());
            let balance = Balance::default();
            let ot = wasserstein_1d(x, a, y, b, cost.power(), &balance)?;
            let (a, b) = balance.apply(a, b)?;
            json!({
                "method": "1d",
                "cost": ot.cost,
                "iterations": Value::Null,
                "marginal_error": marginal_error(&ot.plan, &a, &b),
            })
        }
        "sinkhorn-divergence" => {
            let options = SinkhornOptions {
                epsilon: reg(args)?,
                ..SinkhornOptions::default()
            };
            let s = sinkhorn_divergence(&source, &target, cost, &options)?;
            json!({
                "method": "sinkhorn-divergence",
                "cost": s.divergence,
                "iterations": s.iterations,
                "marginal_error": s.marginal_error,
                "reg": options.epsilon,
                "cross": s.cross,
                "source_self": s.source_self,
                "target_self": s.target_self,
                "cross_transport_cost": s.cross_transport_cost,
            })
        }
        "unbalanced" => {
            let reg_m = args.reg_m.ok_or_else(|| {
                Error::invalid_parameter("--reg-m", "unbalanced needs the marginal penalty rho")
            })?;
            let options = UnbalancedOptions {
                epsilon: reg(args)?,
                source_penalty: reg_m,
                target_penalty: reg_m,
                ..UnbalancedOptions::default()
            };
            let ot = unbalanced(&source, &target, cost, &options)?;
            json!({
                "method": "unbalanced",
                "cost": ot.cost,
                "iterations": ot.iterations,
                "marginal_error": ot.optimality_error,
                "reg": options.epsilon,
                "reg_m": reg_m,
                "objective": ot.objective,
                "dual_objective": ot.dual_objective,
                "transported_mass": ot.transported_mass,
            })
        }
        other => {
            return Err(Error::invalid_parameter(
                "--method",
                format!(
                    "`{other}`: use emd, sinkhorn, sinkhorn-divergence, unbalanced, sliced or 1d"
                ),
            ));
        }
    };
    out["cost_function"] = json!(args.cost);
    out["n_source"] = json!(source.len());
    out["n_target"] = json!(target.len());
    out["dim"] = json!(source.dim());
    Ok(out)
}
