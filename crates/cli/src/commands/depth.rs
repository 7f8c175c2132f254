//! `uqforge depth`: statistical depth of query points with respect to a sample.

use serde_json::{Value, json};
use uqforge_core::{Error, Result};
use uqforge_depth::{Depth, FermatLens, Halfspace, HalfspaceMethod, Lens, Mahalanobis, Spatial};

use super::ot::points;

/// Directions of the approximate halfspace depth when `--directions` is not given in
/// dimension 3 or more.
const DEFAULT_DIRECTIONS: usize = 1000;

/// Methods of the contract that are not implemented yet.
const PLANNED: [&str; 5] = [
    "projection",
    "simplicial",
    "zonoid",
    "weighted-lens",
    "center-outward",
];

/// Fermat power when `--alpha` is not given.
const DEFAULT_ALPHA: f64 = 2.0;

/// Arguments of `uqforge depth`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Sample: CSV (one point per row, every column a coordinate), `-` or a data set.
    #[arg(long)]
    sample: String,
    /// Query points, as --sample (same number of columns).
    #[arg(long)]
    query: String,
    /// mahalanobis, halfspace (exact in 1D and 2D; random directions otherwise or with
    /// --directions), spatial, lens or fermat-lens.
    #[arg(long)]
    method: String,
    /// Power alpha >= 1 of the sample Fermat distance (fermat-lens; default 2).
    #[arg(long, allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// Spatial depth whitened by the sample covariance (affine invariant).
    #[arg(long)]
    affine_invariant: bool,
    /// Number of random directions (halfspace: an upper bound of the exact depth).
    #[arg(long)]
    directions: Option<usize>,
    /// Seed of the random directions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let sample = points(&args.sample, "sample")?;
    let queries = points(&args.query, "query")?;
    let d = sample.ncols();
    let unused_directions = || {
        if args.directions.is_some() {
            Err(Error::invalid_parameter(
                "--directions",
                format!("not used by --method {}", args.method),
            ))
        } else {
            Ok(())
        }
    };
    if args.alpha.is_some() && args.method != "fermat-lens" {
        return Err(Error::invalid_parameter(
            "--alpha",
            format!("only for --method fermat-lens, not {}", args.method),
        ));
    }
    if args.affine_invariant && args.method != "spatial" {
        return Err(Error::invalid_parameter(
            "--affine-invariant",
            format!("only for --method spatial, not {}", args.method),
        ));
    }
    match args.method.as_str() {
        "spatial" => {
            unused_directions()?;
            let fitted = if args.affine_invariant {
                Spatial::affine_invariant(&sample)?
            } else {
                Spatial::fit(&sample)?
            };
            let depth = fitted.depth(&queries)?;
            Ok(json!({
                "method": "spatial",
                "depth": depth.as_slice(),
                "dim": d,
                "affine_invariant": args.affine_invariant,
            }))
        }
        "lens" => {
            unused_directions()?;
            let depth = Lens::fit(&sample)?.depth(&queries)?;
            Ok(json!({"method": "lens", "depth": depth.as_slice(), "dim": d}))
        }
        "fermat-lens" => {
            unused_directions()?;
            let alpha = args.alpha.unwrap_or(DEFAULT_ALPHA);
            let depth = FermatLens::fit(&sample, alpha)?.depth(&queries)?;
            Ok(
                json!({"method": "fermat-lens", "depth": depth.as_slice(), "dim": d, "alpha": alpha}),
            )
        }
        "mahalanobis" => {
            unused_directions()?;
            let depth = Mahalanobis::fit(&sample)?.depth(&queries)?;
            Ok(json!({"method": "mahalanobis", "depth": depth.as_slice(), "dim": d}))
        }
        "halfspace" => {
            let method = match args.directions {
                None if d <= 2 => HalfspaceMethod::Exact,
                directions => HalfspaceMethod::RandomDirections {
                    directions: directions.unwrap_or(DEFAULT_DIRECTIONS),
                    seed: args.seed,
                },
            };
            let depth = Halfspace::fit(&sample, method)?.depth(&queries)?;
            let mut out = json!({
                "method": "halfspace",
                "depth": depth.as_slice(),
                "dim": d,
                "exact": method == HalfspaceMethod::Exact,
            });
            if let HalfspaceMethod::RandomDirections { directions, seed } = method {
                out["directions"] = json!(directions);
                out["seed"] = json!(seed);
            }
            Ok(out)
        }
        m if PLANNED.contains(&m) => Err(Error::invalid_parameter(
            "--method",
            format!(
                "`{m}` depth is not implemented yet; available: mahalanobis, halfspace, spatial, lens, fermat-lens"
            ),
        )),
        m => Err(Error::invalid_parameter(
            "--method",
            format!(
                "unknown depth `{m}`; available: mahalanobis, halfspace, spatial, lens, fermat-lens"
            ),
        )),
    }
}
