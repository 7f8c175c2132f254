//! `uqforge curvature`: the scalar curvature of a 2D latent space at given points, and the
//! curvature penalty of the decoder there.

use serde_json::{Value, json};
use uqforge_core::Result;
use uqforge_latent::curvature_penalty;

use super::geodesic::MetricArgs;
use super::ot::points;

/// Arguments of `uqforge curvature`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Latent points: CSV with two columns (one point per row), `-` or a data set.
    #[arg(long)]
    data: String,
    #[command(flatten)]
    metric: MetricArgs,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let z = points(&args.data, "data")?;
    let metric = args.metric.build(z.ncols())?;
    let p = curvature_penalty(metric.as_ref(), &z)?;
    Ok(json!({
        "penalty": p.value,
        "scalar_curvature": p.scalar_curvature,
        "area_element": p.area_element,
        "metric": args.metric.metric,
        "n": z.nrows(),
    }))
}
