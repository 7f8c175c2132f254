//! `uqforge geodesic`: the geodesic between two latent points under a Riemannian metric (a
//! closed-form one or a decoder's pull-back).

use serde_json::{Value, json};
use uqforge_core::{Error, Result};
use uqforge_latent::{
    Euclidean, GeodesicOptions, Hyperbolic, Metric, Mlp, PullBack, Ridge, Sphere, geodesic,
};

/// The metric of `uqforge geodesic`, `kmeans` and `curvature`.
#[derive(Debug, clap::Args)]
pub(crate) struct MetricArgs {
    /// euclidean, hyperbolic (upper half-plane, y > 0), sphere (stereographic chart), ridge
    /// (pull-back of g(z) = (z1, z2, A exp(-z1^2 / (2 S^2)))) or mlp:FILE.json (pull-back of
    /// an MLP decoder; format in the uqforge-latent README).
    #[arg(long)]
    pub(crate) metric: String,
    /// Ridge height A (--metric ridge).
    #[arg(long, default_value_t = 2.0, allow_hyphen_values = true)]
    ridge_height: f64,
    /// Ridge width S (--metric ridge).
    #[arg(long, default_value_t = 0.1)]
    ridge_width: f64,
}

impl MetricArgs {
    /// The metric named on the command line (`euclidean` in dimension `dim`; the others fix
    /// their own).
    pub(crate) fn build(&self, dim: usize) -> Result<Box<dyn Metric>> {
        Ok(match self.metric.as_str() {
            "euclidean" => Box::new(Euclidean::new(dim)?),
            "hyperbolic" => Box::new(Hyperbolic),
            "sphere" => Box::new(Sphere),
            "ridge" => Box::new(PullBack::new(Ridge::new(
                self.ridge_height,
                self.ridge_width,
            )?)),
            other => match other.strip_prefix("mlp:") {
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                    Box::new(PullBack::new(Mlp::from_json(&text)?))
                }
                None => {
                    return Err(Error::invalid_parameter(
                        "--metric",
                        format!(
                            "`{other}` is not one of: euclidean, hyperbolic, sphere, ridge, mlp:FILE.json"
                        ),
                    ));
                }
            },
        })
    }
}

/// Arguments of `uqforge geodesic`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    metric: MetricArgs,
    /// Start point, comma-separated coordinates (e.g. -3,1).
    #[arg(long, allow_hyphen_values = true)]
    from: String,
    /// End point, comma-separated coordinates.
    #[arg(long, allow_hyphen_values = true)]
    to: String,
    /// Faber–Schauder levels J: the curve has 2^J linear pieces.
    #[arg(long, default_value_t = 5)]
    levels: usize,
    /// Energy grid points per curve piece (raised automatically by the tunnelling check).
    #[arg(long, default_value_t = 4)]
    oversampling: usize,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let metric = args.metric.build(2)?;
    let from = point("--from", &args.from)?;
    let to = point("--to", &args.to)?;
    let options = GeodesicOptions {
        levels: args.levels,
        oversampling: args.oversampling,
        ..GeodesicOptions::default()
    };
    let g = geodesic(metric.as_ref(), &from, &to, &options)?;
    let d = metric.dim();
    let nodes = g.curve.nodes();
    let nodes: Vec<Vec<f64>> = nodes.chunks_exact(d).map(<[f64]>::to_vec).collect();
    Ok(json!({
        "length": g.length,
        "energy": g.energy,
        "iterations": g.iterations,
        "converged": g.converged,
        "evaluations": g.evaluations,
        "metric": args.metric.metric,
        "from": from,
        "to": to,
        "levels": args.levels,
        "oversampling": g.oversampling,
        "tunnelling": g.tunnelling,
        "log_map": g.log_map(metric.as_ref())?,
        "curve": nodes,
    }))
}

/// Comma-separated coordinates.
fn point(flag: &str, list: &str) -> Result<Vec<f64>> {
    list.split(',')
        .map(|s| {
            s.trim().parse::<f64>().map_err(|_| {
                Error::invalid_parameter(
                    flag,
                    format!("`{}` is not a number (in `{list}`)", s.trim()),
                )
            })
        })
        .collect()
}
