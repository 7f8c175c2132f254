//! `uqforge center-outward`: center-outward ranks and signs of a sample (Hallin et al. 2021).

use serde_json::{Value, json};
use uqforge_core::{Error, Result};
use uqforge_transport::center_outward::{CenterOutward, Grid};

use super::ot::points;

/// Arguments of `uqforge center-outward`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Sample: CSV (one point per row, every column a coordinate), `-` or a data set.
    #[arg(long)]
    data: String,
    /// Number of radii n_R of the grid (with --n-s; both default to n_R = floor(sqrt n),
    /// n_S = floor(n / n_R)).
    #[arg(long)]
    n_r: Option<usize>,
    /// Number of directions n_S of the grid.
    #[arg(long)]
    n_s: Option<usize>,
    /// Copies of the origin n_0 (default n - n_R n_S; must be below min(n_R, n_S)).
    #[arg(long)]
    n_0: Option<usize>,
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let x = points(&args.data, "data")?;
    let (n, d) = x.shape();
    let grid = match (args.n_r, args.n_s) {
        (Some(n_r), Some(n_s)) => {
            let n_0 = match args.n_0 {
                Some(z) => z,
                None => n.checked_sub(n_r * n_s).ok_or_else(|| {
                    Error::invalid_parameter(
                        "--n-r/--n-s",
                        format!("n_r n_s = {} exceeds the sample size {n}", n_r * n_s),
                    )
                })?,
            };
            Grid::new(n_r, n_s, n_0, d)?
        }
        (None, None) if args.n_0.is_none() => Grid::for_sample_size(n, d)?,
        _ => {
            return Err(Error::invalid_parameter(
                "--n-r/--n-s",
                "give both --n-r and --n-s (and optionally --n-0), or none",
            ));
        }
    };
    let co = CenterOutward::fit(&x, grid)?;
    let signs: Vec<Vec<f64>> = co
        .signs()
        .row_iter()
        .map(|r| r.iter().copied().collect())
        .collect();
    Ok(json!({
        "ranks": co.ranks(),
        "signs": signs,
        "assignment_cost": co.assignment_cost(),
        "n_r": grid.n_r(),
        "n_s": grid.n_s(),
        "n_0": grid.n_0(),
        "dim": d,
    }))
}
