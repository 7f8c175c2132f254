//! `uqforge kmeans`: Riemannian k-means (or k-medoids) of latent points with geodesic
//! distances.

use serde_json::{Value, json};
use uqforge_core::{Error, Result};
use uqforge_latent::{CentroidUpdate, Initialisation, KMeansOptions, kmeans};

use super::geodesic::MetricArgs;
use super::ot::points;

/// Arguments of `uqforge kmeans`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Points: CSV (one point per row, every column a coordinate), `-` or a data set.
    #[arg(long)]
    data: String,
    /// Number of clusters.
    #[arg(long)]
    k: usize,
    #[command(flatten)]
    metric: MetricArgs,
    /// Faber–Schauder levels J of the geodesics.
    #[arg(long, default_value_t = 4)]
    levels: usize,
    /// Seeded restarts (k-means++ draws); the one of least inertia is kept.
    #[arg(long, default_value_t = 4)]
    restarts: usize,
    /// Seed of the restarts' ChaCha8 streams.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// frechet (k-means: Fréchet means) or medoid (k-medoids: all pairwise geodesics once).
    #[arg(long, default_value = "frechet")]
    update: String,
    /// Initial centroids: CSV with k rows (replaces k-means++; one run).
    #[arg(long)]
    centroids: Option<String>,
    /// Assignment–update rounds per restart at most.
    #[arg(long, default_value_t = 50)]
    max_iterations: usize,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let x = points(&args.data, "data")?;
    let metric = args.metric.build(x.ncols())?;
    let update = match args.update.as_str() {
        "frechet" => CentroidUpdate::Frechet,
        "medoid" => CentroidUpdate::Medoid,
        other => {
            return Err(Error::invalid_parameter(
                "--update",
                format!("`{other}` is not one of: frechet, medoid"),
            ));
        }
    };
    let initialisation = match &args.centroids {
        Some(spec) => Initialisation::Given(points(spec, "centroids")?),
        None => Initialisation::PlusPlus,
    };
    let mut options = KMeansOptions {
        k: args.k,
        restarts: args.restarts,
        max_iterations: args.max_iterations,
        seed: args.seed,
        initialisation,
        update,
        ..KMeansOptions::default()
    };
    options.frechet.geodesic.levels = args.levels;
    let c = kmeans(metric.as_ref(), &x, &options)?;
    let centroids: Vec<Vec<f64>> = c
        .centroids
        .row_iter()
        .map(|r| r.iter().copied().collect())
        .collect();
    Ok(json!({
        "labels": c.labels,
        "centroids": centroids,
        "inertia": c.inertia,
        "medoids": c.medoids,
        "iterations": c.iterations,
        "converged": c.converged,
        "restart": c.restart,
        "restarts": c.restarts,
        "geodesics": c.geodesics,
        "metric": args.metric.metric,
        "levels": args.levels,
        "update": args.update,
        "n": x.nrows(),
        "k": args.k,
        "seed": c.seed,
        "rng": "ChaCha8; restart r draws its k-means++ centroids from stream r of the seed",
    }))
}
