//! `uqforge depth`: statistical depth of query points with respect to a sample.

use nalgebra::DMatrix;
use serde_json::{Value, json};
use uqforge_core::{Error, Result};
use uqforge_depth::{
    CenterOutwardDepth, DdClassifier, Depth, FermatDistance, FermatLens, Halfspace,
    HalfspaceMethod, Lens, Mahalanobis, PerClass, Projection, Simplicial, SimplicialMethod,
    Spatial, Zonoid, boxed, inner_points, mcd::Mcd,
};

use super::ot::points;
use crate::input::read_table;

/// Random directions (halfspace in dimension 4 or more, projection) when `--directions` is
/// not given.
const DEFAULT_DIRECTIONS: usize = 1000;

/// Random simplices (simplicial in dimension 3 or more) when `--simplices` is not given.
const DEFAULT_SIMPLICES: usize = 10_000;

/// Methods of the contract that are not implemented yet.
const PLANNED: [&str; 1] = ["weighted-lens"];

/// The methods available.
const AVAILABLE: &str = "mahalanobis, halfspace, projection, spatial, simplicial, zonoid, lens, \
                         fermat-lens, center-outward";

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
    /// mahalanobis, halfspace (exact in 1D to 3D; random directions otherwise or with
    /// --directions), projection (random directions), spatial, simplicial (exact in 1D and
    /// 2D; random simplices otherwise or with --simplices), zonoid, lens, fermat-lens or
    /// center-outward.
    #[arg(long)]
    method: String,
    /// Power alpha >= 1 of the sample Fermat distance (fermat-lens; default 2).
    #[arg(long, allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// Fermat distances on the k-nearest-neighbour graph (plus the minimum spanning tree)
    /// instead of the complete graph (fermat-lens).
    #[arg(long)]
    neighbours: Option<usize>,
    /// Replace the sample (each class with --labels) by this many k-means centres before
    /// fitting (fermat-lens; seeded by --seed).
    #[arg(long)]
    inner_points: Option<usize>,
    /// Mahalanobis depth with the minimum covariance determinant's location and scatter
    /// (FAST-MCD, 500 starts seeded by --seed) instead of the mean and covariance.
    #[arg(long)]
    robust: bool,
    /// Spatial depth whitened by the sample covariance (affine invariant).
    #[arg(long)]
    affine_invariant: bool,
    /// Number of random directions (halfspace: an upper bound of the exact depth;
    /// projection: default 1000, also an upper bound).
    #[arg(long)]
    directions: Option<usize>,
    /// Number of random simplices (simplicial: an unbiased estimate).
    #[arg(long)]
    simplices: Option<usize>,
    /// Seed of the random directions or simplices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// One class label per sample row (CSV, one column): the depth is then fitted on each
    /// class, and `depth` is the largest class depth (the out-of-domain score).
    #[arg(long)]
    labels: Option<String>,
    /// With --labels, how `predicted` is chosen: max-depth (the class of largest depth) or
    /// dd (the DD-plot classifier: pairwise slopes fitted on the sample, then votes).
    #[arg(long, default_value = "max-depth")]
    classifier: String,
}

/// Fits the chosen depth on one sample.
type Fit<'a> = Box<dyn Fn(&DMatrix<f64>) -> Result<Box<dyn Depth>> + 'a>;

/// The fitting function of `--method` and the settings it reports.
fn method<'a>(args: &'a Args, d: usize) -> Result<(Fit<'a>, Value)> {
    let m = args.method.as_str();
    let refuse = |flag: &str, users: &str| {
        Err(Error::invalid_parameter(
            flag,
            format!("only for --method {users}, not {m}"),
        ))
    };
    if args.directions.is_some() && !matches!(m, "halfspace" | "projection") {
        return refuse("--directions", "halfspace or projection");
    }
    if args.simplices.is_some() && m != "simplicial" {
        return refuse("--simplices", "simplicial");
    }
    if args.alpha.is_some() && m != "fermat-lens" {
        return refuse("--alpha", "fermat-lens");
    }
    if args.neighbours.is_some() && m != "fermat-lens" {
        return refuse("--neighbours", "fermat-lens");
    }
    if args.inner_points.is_some() && m != "fermat-lens" {
        return refuse("--inner-points", "fermat-lens");
    }
    if args.affine_invariant && m != "spatial" {
        return refuse("--affine-invariant", "spatial");
    }
    if args.robust && m != "mahalanobis" {
        return refuse("--robust", "mahalanobis");
    }
    let seed = args.seed;
    Ok(match m {
        "mahalanobis" if args.robust => {
            let options = Mcd {
                seed,
                ..Mcd::default()
            };
            let fit: Fit<'a> = Box::new(move |x| boxed(Mahalanobis::robust(x, &options)));
            (
                fit,
                json!({"robust": true, "estimator": "MCD", "starts": options.starts, "seed": seed}),
            )
        }
        "mahalanobis" => (
            Box::new(|x| boxed(Mahalanobis::fit(x))),
            json!({"robust": false}),
        ),
        "spatial" => {
            let affine = args.affine_invariant;
            let fit: Fit<'a> = Box::new(move |x| {
                if affine {
                    boxed(Spatial::affine_invariant(x))
                } else {
                    boxed(Spatial::fit(x))
                }
            });
            (fit, json!({"affine_invariant": affine}))
        }
        "lens" => (Box::new(|x| boxed(Lens::fit(x))), json!({})),
        "fermat-lens" => {
            let alpha = args.alpha.unwrap_or(DEFAULT_ALPHA);
            let (neighbours, inner) = (args.neighbours, args.inner_points);
            let fit: Fit<'a> = Box::new(move |x| {
                let reduced;
                let points = match inner {
                    Some(m) => {
                        reduced = inner_points(x, m, seed)?;
                        &reduced
                    }
                    None => x,
                };
                let distances = match neighbours {
                    Some(k) => FermatDistance::knn(points, alpha, k)?,
                    None => FermatDistance::complete(points, alpha)?,
                };
                boxed(FermatLens::from_distances(distances))
            });
            let mut settings = json!({"alpha": alpha, "graph": "complete"});
            if let Some(k) = neighbours {
                settings["graph"] = json!("knn");
                settings["neighbours"] = json!(k);
            }
            if let Some(m) = inner {
                settings["inner_points"] = json!(m);
                settings["seed"] = json!(seed);
            }
            (fit, settings)
        }
        "zonoid" => (Box::new(|x| boxed(Zonoid::fit(x))), json!({})),
        "center-outward" => (Box::new(|x| boxed(CenterOutwardDepth::fit(x))), json!({})),
        "projection" => {
            let directions = args.directions.unwrap_or(DEFAULT_DIRECTIONS);
            let fit: Fit<'a> = Box::new(move |x| boxed(Projection::fit(x, directions, seed)));
            (fit, json!({"directions": directions, "seed": seed}))
        }
        "halfspace" => {
            let method = match args.directions {
                None if d <= 3 => HalfspaceMethod::Exact,
                directions => HalfspaceMethod::RandomDirections {
                    directions: directions.unwrap_or(DEFAULT_DIRECTIONS),
                    seed,
                },
            };
            let mut settings = json!({"exact": method == HalfspaceMethod::Exact});
            if let HalfspaceMethod::RandomDirections { directions, seed } = method {
                settings["directions"] = json!(directions);
                settings["seed"] = json!(seed);
            }
            let fit: Fit<'a> = Box::new(move |x| boxed(Halfspace::fit(x, method)));
            (fit, settings)
        }
        "simplicial" => {
            let method = match args.simplices {
                None if d <= 2 => SimplicialMethod::Exact,
                simplices => SimplicialMethod::RandomSimplices {
                    simplices: simplices.unwrap_or(DEFAULT_SIMPLICES),
                    seed,
                },
            };
            let mut settings = json!({"exact": method == SimplicialMethod::Exact});
            if let SimplicialMethod::RandomSimplices { simplices, seed } = method {
                settings["simplices"] = json!(simplices);
                settings["seed"] = json!(seed);
            }
            let fit: Fit<'a> = Box::new(move |x| boxed(Simplicial::fit(x, method)));
            (fit, settings)
        }
        m if PLANNED.contains(&m) => {
            return Err(Error::invalid_parameter(
                "--method",
                format!("`{m}` depth is not implemented yet; available: {AVAILABLE}"),
            ));
        }
        m => {
            return Err(Error::invalid_parameter(
                "--method",
                format!("unknown depth `{m}`; available: {AVAILABLE}"),
            ));
        }
    })
}

/// Class labels of `--labels`: one column, one entry per sample row; classes numbered in
/// order of first appearance.
fn labels(spec: &str, n: usize) -> Result<(Vec<usize>, Vec<String>)> {
    let table = read_table(spec)?;
    let columns = table.columns();
    if columns.len() != 1 {
        return Err(Error::invalid_parameter(
            "--labels",
            format!("needs exactly one column, found {}", columns.len()),
        ));
    }
    uqforge_core::validate::len("--labels rows (one per sample row)", n, table.n_rows())?;
    let name = columns[0].name.as_str();
    let text: Vec<String> = match table.numeric(name) {
        Ok(values) => values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if v.is_finite() {
                    Ok(format!("{v}"))
                } else {
                    Err(Error::invalid_parameter(
                        "--labels",
                        format!("missing label on row {}", i + 1),
                    ))
                }
            })
            .collect::<Result<_>>()?,
        Err(_) => table
            .text(name)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.clone().ok_or_else(|| {
                    Error::invalid_parameter("--labels", format!("missing label on row {}", i + 1))
                })
            })
            .collect::<Result<_>>()?,
    };
    let mut names: Vec<String> = Vec::new();
    let ids = text
        .into_iter()
        .map(|t| match names.iter().position(|c| *c == t) {
            Some(k) => k,
            None => {
                names.push(t);
                names.len() - 1
            }
        })
        .collect();
    Ok((ids, names))
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let sample = points(&args.sample, "sample")?;
    let queries = points(&args.query, "query")?;
    let d = sample.ncols();
    if args.labels.is_none() && args.classifier != "max-depth" {
        return Err(Error::invalid_parameter(
            "--classifier",
            "classifies the queries between the classes of --labels, which is missing",
        ));
    }
    let (fit, settings) = method(args, d)?;
    let mut out = json!({"method": args.method, "dim": d});
    match &args.labels {
        None => out["depth"] = json!(fit(&sample)?.depth(&queries)?.as_slice()),
        Some(spec) => {
            let (ids, names) = labels(spec, sample.nrows())?;
            let (all, score, class) = match args.classifier.as_str() {
                "max-depth" => {
                    let per_class = PerClass::fit(&sample, &ids, |x| fit(x))?;
                    let (score, class) = per_class.max_depth(&queries)?;
                    (per_class.class_depths(&queries)?, score, class)
                }
                "dd" => {
                    let dd = DdClassifier::fit(&sample, &ids, |x| fit(x))?;
                    let (score, _) = dd.per_class().max_depth(&queries)?;
                    (
                        dd.per_class().class_depths(&queries)?,
                        score,
                        dd.classify(&queries)?,
                    )
                }
                other => {
                    return Err(Error::invalid_parameter(
                        "--classifier",
                        format!("`{other}` is not a classifier; use max-depth or dd"),
                    ));
                }
            };
            out["classifier"] = json!(args.classifier);
            out["depth"] = json!(score.as_slice());
            out["classes"] = json!(names);
            out["class_depth"] = json!(
                all.row_iter()
                    .map(|r| r.iter().copied().collect::<Vec<f64>>())
                    .collect::<Vec<_>>()
            );
            out["predicted"] = json!(class.iter().map(|&c| &names[c]).collect::<Vec<_>>());
        }
    }
    if let (Value::Object(o), Value::Object(s)) = (&mut out, settings) {
        o.extend(s);
    }
    Ok(out)
}
