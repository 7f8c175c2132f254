//! `uqforge curvature`: the scalar curvature of a 2D latent space at given points, and the
//! curvature penalty of the decoder there.

use serde_json::{Value, json};
use uqforge_core::Result;
use uqforge_latent::curvature_penalty;

use super::geodesic::metric;
use super::ot::points;

/// Arguments of `uqforge curvature`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Latent points: CSV with two columns (one point per row), `-` or a data set.
    #[arg(long)]
    data: String,
    /// euclidean, hyperbolic, sphere, ridge or mlp:FILE.json (as for `uqforge geodesic`).
    #[arg(long)]
    metric: String,
    /// Ridge height A (--metric ridge).
    #[arg(long, default_value_t = 2.0, allow_hyphen_values = true)]
    ridge_height: f64,
    /// Ridge width S (--metric ridge).
    #[arg(long, default_value_t = 0.1)]
    ridge_width: f64,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let z = points(&args.data, "data")?;
    let metric = metric(&args.metric, z.ncols(), args.ridge_height, args.ridge_width)?;
    let p = curvature_penalty(metric.as_ref(), &z)?;
    Ok(json!({
        "penalty": p.value,
        "scalar_curvature": p.scalar_curvature,
        "area_element": p.area_element,
        "metric": args.metric,
        "n": z.nrows(),
    }))
}
