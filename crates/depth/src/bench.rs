//! The `depth` suite of `cargo xtask bench`.
//!
//! 1. **Time per query against the sample size** ($n = 10^3, 10^4, 10^5$; `--quick`:
//!    $10^3$) on the data: a sample of $N(0, I_2)$ and 100 queries of
//!    $N(0, 1.5^2 I_2)$ ([`problem`]). Each depth is fitted once (fit time apart) and scores
//!    the queries; times are CPU seconds of the whole process (all threads,
//!    [`uqforge_core::bench::cpu_seconds`], what the peer's script reads with
//!    `time.process_time`) and wall seconds, best of 3 rounds of repeated calls (each round
//!    about 0.3 s). Depths whose fit or queries grow
//!    faster than $n \log n$ run on the sizes where they finish in seconds (zonoid and lens
//!    to $10^4$ on 20 queries; Fermat lens and center-outward at $10^3$); Fermat lens on 500
//!    k-means inner points runs at every size.
//! 2. **Side by side with data-depth 1.2.1.1** (the PyPI package on ddalpha's C++ core) on
//!    the very same points: `cargo xtask depth-data DIR` writes them, and
//!    `benches/python/data_depth.py --data DIR` times data-depth and stores its depths in
//!    `benches/python/data_depth.json`, read here. For the exact depths the table gives the
//!    largest absolute difference of the values. data-depth has no fit step (each call
//!    starts from the data), so the ratio compares its time per query with ours including
//!    our fit spread over the queries.
//! 3. **Out-of-domain AUROC** of every depth as a score, and its time (fit and 400
//!    queries): two moons (200 training points, noise 0.05; fresh moon points against
//!    points of the gap, [`crate::ood`]) and a 10-dimensional mixture of three unit
//!    Gaussians centred $5 e_k$ (300 training points; fresh mixture points against the
//!    moment-matched Gaussian). Fermat lens depth also runs per class (the classes are
//!    known: the moons, the clusters), the max-over-classes score of Nguyen et al. (2024).
//!
//! Python is never run by the suite; the report says when the peer file is missing.

use std::time::Instant;

use nalgebra::DMatrix;
use serde::Deserialize;
use uqforge_core::bench::{Cell, Suite, SuiteConfig, SuiteReport, Table, cpu_seconds};
use uqforge_core::observe::Progress;
use uqforge_core::rng::{standard_normal, stream};
use uqforge_core::{Error, Result};

use crate::ood::{auroc, gaussian_mixture, moment_matched, moons_gap, two_moons};
use crate::{
    CenterOutwardDepth, Depth, FermatDistance, FermatLens, Halfspace, HalfspaceMethod, Lens,
    Mahalanobis, PerClass, Projection, Simplicial, SimplicialMethod, Spatial, Zonoid, boxed,
    inner_points,
};

/// The suites of this crate.
pub fn suites() -> Vec<Suite> {
    vec![Suite {
        name: "depth",
        description: "Time per query against n for every depth, data-depth side by side (values and time), OOD AUROC on two moons and a 10D mixture",
        run,
    }]
}

/// Sample sizes of the timing table (the full run; `--quick` runs the first).
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Number of query points of the timing table.
pub const QUERIES: usize = 100;

/// Random directions of projection depth in the suite (and in the peer's run).
pub const DIRECTIONS: usize = 1000;

/// The timing problem: `n` points of $N(0, I_2)$ (ChaCha8 stream 0 of `seed`) and
/// [`QUERIES`] points of $N(0, 1.5^2 I_2)$ (stream 1, the same for every $n$).
pub fn problem(n: usize, seed: u64) -> (DMatrix<f64>, DMatrix<f64>) {
    let mut rng = stream(seed, 0);
    let sample = DMatrix::from_fn(n, 2, |_, _| standard_normal(&mut rng));
    let mut rng = stream(seed, 1);
    let queries = DMatrix::from_fn(QUERIES, 2, |_, _| 1.5 * standard_normal(&mut rng));
    (sample, queries)
}

/// Writes the timing problems for `seed` in `dir`: `sample_{n}.csv` for every $n$ of
/// [`SIZES`] and `queries.csv`, one point per line, 17 significant digits (exact round
/// trip), so that peers score the very same points.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn write_problems(dir: &std::path::Path, seed: u64) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let write = |name: String, points: &DMatrix<f64>| -> Result<std::path::PathBuf> {
        let path = dir.join(name);
        let text: String = points
            .row_iter()
            .map(|r| format!("{:.16e},{:.16e}\n", r[0], r[1]))
            .collect();
        std::fs::write(&path, text).map_err(|e| Error::io(path.display(), e))?;
        Ok(path)
    };
    let mut written = Vec::new();
    for n in SIZES {
        let (sample, queries) = problem(n, seed);
        written.push(write(format!("sample_{n}.csv"), &sample)?);
        if n == SIZES[0] {
            written.push(write("queries.csv".into(), &queries)?);
        }
    }
    Ok(written)
}

/// One row of `benches/python/data_depth.json`.
#[derive(Debug, Clone, Deserialize)]
struct PeerRow {
    method: String,
    n: usize,
    queries: usize,
    cpu_s: f64,
    values: Vec<f64>,
    /// The same depths by an independent solver (zonoid: HiGHS through SciPy).
    #[serde(default)]
    highs_values: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Deserialize)]
struct PeerFile {
    data_depth: String,
    numpy: String,
    seed: u64,
    rows: Vec<PeerRow>,
}

const PEER_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../benches/python/data_depth.json"
);

fn peers() -> Option<PeerFile> {
    serde_json::from_str(&std::fs::read_to_string(PEER_FILE).ok()?).ok()
}

/// A fitted depth, boxed.
type Fitted = Result<Box<dyn Depth>>;

/// A depth of the timing table: its name, whether data-depth computes the same values
/// exactly, the largest $n$ it runs at, how many queries it scores, and how to fit it.
struct Method {
    name: &'static str,
    exact_peer: bool,
    max_n: usize,
    queries: usize,
    fit: fn(&DMatrix<f64>, u64) -> Fitted,
}

fn methods() -> Vec<Method> {
    vec![
        Method {
            name: "mahalanobis",
            exact_peer: true,
            max_n: 100_000,
            queries: QUERIES,
            fit: |x, _| boxed(Mahalanobis::fit(x)),
        },
        Method {
            name: "spatial",
            exact_peer: false,
            max_n: 100_000,
            queries: QUERIES,
            fit: |x, _| boxed(Spatial::fit(x)),
        },
        Method {
            name: "spatial (affine invariant)",
            exact_peer: true,
            max_n: 100_000,
            queries: QUERIES,
            fit: |x, _| boxed(Spatial::affine_invariant(x)),
        },
        Method {
            name: "halfspace",
            exact_peer: true,
            max_n: 100_000,
            queries: QUERIES,
            fit: |x, _| boxed(Halfspace::fit(x, HalfspaceMethod::Exact)),
        },
        Method {
            name: "simplicial",
            exact_peer: true,
            max_n: 100_000,
            queries: QUERIES,
            fit: |x, _| boxed(Simplicial::fit(x, SimplicialMethod::Exact)),
        },
        Method {
            name: "projection",
            exact_peer: false,
            max_n: 100_000,
            queries: QUERIES,
            fit: |x, seed| boxed(Projection::fit(x, DIRECTIONS, seed)),
        },
        Method {
            name: "zonoid",
            exact_peer: true,
            max_n: 10_000,
            queries: 20,
            fit: |x, _| boxed(Zonoid::fit(x)),
        },
        Method {
            name: "lens",
            exact_peer: false,
            max_n: 10_000,
            queries: 20,
            fit: |x, _| boxed(Lens::fit(x)),
        },
        Method {
            name: "fermat-lens (alpha 4)",
            exact_peer: false,
            max_n: 1_000,
            queries: QUERIES,
            fit: |x, _| boxed(FermatLens::fit(x, 4.0)),
        },
        Method {
            name: "fermat-lens (alpha 4, 500 inner points)",
            exact_peer: false,
            max_n: 100_000,
            queries: QUERIES,
            fit: |x, seed| {
                boxed(FermatLens::fit(
                    &inner_points(x, 500.min(x.nrows()), seed)?,
                    4.0,
                ))
            },
        },
        Method {
            name: "center-outward",
            exact_peer: false,
            max_n: 1_000,
            queries: QUERIES,
            fit: |x, _| boxed(CenterOutwardDepth::fit(x)),
        },
    ]
}

/// CPU and wall seconds of `f`, and its value.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(f64, f64, T)> {
    let (c0, w0) = (cpu_seconds().unwrap_or(f64::NAN), Instant::now());
    let v = f()?;
    Ok((
        cpu_seconds().unwrap_or(f64::NAN) - c0,
        w0.elapsed().as_secs_f64(),
        v,
    ))
}

/// CPU and wall seconds per call of `f`, best of 3 rounds (1 when a call takes more than
/// 5 s), each round repeating the call until it has run for about 0.3 s (CPU time is read
/// in ticks of 10 ms); and the last value.
fn per_call<T>(mut f: impl FnMut() -> Result<T>) -> Result<(f64, f64, T)> {
    let (_, first, mut value) = timed(&mut f)?;
    let reps = if first > 5.0 {
        1
    } else {
        ((0.3 / first.max(1e-6)).ceil() as usize).clamp(1, 100_000)
    };
    let (mut cpu, mut wall) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..if first > 5.0 { 1 } else { 3 } {
        let (c, w, v) = timed(|| {
            let mut last = None;
            for _ in 0..reps {
                last = Some(f()?);
            }
            last.ok_or_else(|| Error::degenerate("depth bench", "no run"))
        })?;
        cpu = cpu.min(c / reps as f64);
        wall = wall.min(w / reps as f64);
        value = v;
    }
    Ok((cpu, wall, value))
}

fn number(x: Option<f64>) -> Cell {
    x.map_or_else(|| Cell::from("–"), Cell::from)
}

fn timing_table(
    config: &SuiteConfig,
    peer: Option<&PeerFile>,
    progress: &mut dyn Progress,
) -> Result<(Table, Vec<String>)> {
    let sizes: &[usize] = if config.quick { &SIZES[..1] } else { &SIZES };
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for &n in sizes {
        let (sample, all_queries) = problem(n, config.seed);
        for m in methods().iter().filter(|m| n <= m.max_n) {
            progress.message(&format!("depth: {} at n = {n}", m.name));
            let queries = all_queries.rows(0, m.queries).into_owned();
            let (fit_cpu, _, depth) = per_call(|| (m.fit)(&sample, config.seed))?;
            let (cpu, wall, values) = per_call(|| depth.depth(&queries))?;
            let k = m.queries as f64;
            let theirs = peer.and_then(|p| {
                p.rows
                    .iter()
                    .find(|r| r.method == m.name && r.n == n && r.queries == m.queries)
            });
            let difference = theirs.filter(|_| m.exact_peer).map(|r| {
                r.values
                    .iter()
                    .zip(values.iter())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            });
            if let (Some(r), Some(d)) = (theirs, difference)
                && d > 1e-9
            {
                let first: Vec<String> =
                    r.values.iter().take(3).map(|v| format!("{v:.4}")).collect();
                let ours: Vec<String> = values.iter().take(3).map(|v| format!("{v:.4}")).collect();
                let outside = r.values.iter().any(|v| !(0.0..=1.0).contains(v));
                notes.push(format!(
                    "{} at n = {n}: data-depth's depths differ from ours by up to {d:.2e}{} \
                     (first three: {}; ours {})",
                    m.name,
                    if outside { " and leave [0, 1]" } else { "" },
                    first.join(", "),
                    ours.join(", ")
                ));
            }
            if let Some(reference) = theirs.and_then(|r| r.highs_values.as_ref()) {
                let max_diff = |v: &[f64]| {
                    v.iter()
                        .zip(reference)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max)
                };
                notes.push(format!(
                    "{} at n = {n}: against HiGHS (SciPy) on the same linear programs, ours \
                     differ by up to {:.1e}, data-depth's by up to {:.1e}",
                    m.name,
                    max_diff(values.as_slice()),
                    max_diff(&theirs.map_or_else(Vec::new, |r| r.values.clone()))
                ));
            }
            let total_per_query = (fit_cpu + cpu) / k;
            rows.push(vec![
                Cell::from(m.name),
                Cell::from(n),
                Cell::from(m.queries),
                Cell::from(fit_cpu),
                Cell::from(1e3 * cpu / k),
                Cell::from(1e3 * wall / k),
                number(theirs.map(|r| 1e3 * r.cpu_s / r.queries as f64)),
                number(theirs.map(|r| total_per_query / (r.cpu_s / r.queries as f64))),
                number(difference),
            ]);
        }
    }
    Ok((
        Table {
            title: format!(
                "Time per query, 2D N(0, I) sample of size n, queries N(0, 1.5^2 I), seed {}; \
                 data-depth on the same points",
                config.seed
            ),
            columns: vec![
                "depth".into(),
                "n".into(),
                "queries".into(),
                "fit CPU (s)".into(),
                "CPU per query (ms)".into(),
                "wall per query (ms)".into(),
                "data-depth CPU per query (ms)".into(),
                "ratio (ours incl. fit / data-depth)".into(),
                "max |difference| of depths".into(),
            ],
            rows,
        },
        notes,
    ))
}

/// One out-of-domain case: training sample, class of each training row, in-domain and
/// out-of-domain queries.
struct OodCase {
    name: &'static str,
    train: DMatrix<f64>,
    labels: Vec<usize>,
    inside: DMatrix<f64>,
    outside: DMatrix<f64>,
}

fn ood_cases(seed: u64) -> Vec<OodCase> {
    let moons = two_moons(200, 0.05, &mut stream(seed, 10));
    let (d, k, s) = (10, 3, 5.0);
    vec![
        OodCase {
            name: "two moons (2D)",
            labels: (0..200).map(|i| i % 2).collect(),
            train: moons,
            inside: two_moons(200, 0.05, &mut stream(seed, 11)),
            outside: moons_gap(200, &mut stream(seed, 12)),
        },
        OodCase {
            name: "Gaussian mixture (10D)",
            labels: (0..300).map(|i| i % k).collect(),
            train: gaussian_mixture(300, d, k, s, &mut stream(seed, 13)),
            inside: gaussian_mixture(200, d, k, s, &mut stream(seed, 14)),
            outside: moment_matched(200, d, k, s, &mut stream(seed, 15)),
        },
    ]
}

fn ood_table(config: &SuiteConfig, progress: &mut dyn Progress) -> Result<Table> {
    let mut rows = Vec::new();
    let seed = config.seed;
    for case in ood_cases(seed) {
        let d = case.train.ncols();
        type Fit = Box<dyn Fn(&DMatrix<f64>) -> Fitted>;
        let exact_2d = d <= 2;
        let mut depths: Vec<(String, Fit)> = vec![
            (
                "mahalanobis".into(),
                Box::new(|x| boxed(Mahalanobis::fit(x))),
            ),
            (
                "spatial (affine invariant)".into(),
                Box::new(|x| boxed(Spatial::affine_invariant(x))),
            ),
            (
                if exact_2d {
                    "halfspace (exact)"
                } else {
                    "halfspace (1000 directions)"
                }
                .into(),
                Box::new(move |x| {
                    let method = if exact_2d {
                        HalfspaceMethod::Exact
                    } else {
                        HalfspaceMethod::RandomDirections {
                            directions: DIRECTIONS,
                            seed,
                        }
                    };
                    boxed(Halfspace::fit(x, method))
                }),
            ),
            (
                if exact_2d {
                    "simplicial (exact)"
                } else {
                    "simplicial (10,000 simplices)"
                }
                .into(),
                Box::new(move |x| {
                    let method = if exact_2d {
                        SimplicialMethod::Exact
                    } else {
                        SimplicialMethod::RandomSimplices {
                            simplices: 10_000,
                            seed,
                        }
                    };
                    boxed(Simplicial::fit(x, method))
                }),
            ),
            (
                "projection (1000 directions)".into(),
                Box::new(move |x| boxed(Projection::fit(x, DIRECTIONS, seed))),
            ),
            ("zonoid".into(), Box::new(|x| boxed(Zonoid::fit(x)))),
            ("lens".into(), Box::new(|x| boxed(Lens::fit(x)))),
            (
                "center-outward".into(),
                Box::new(|x| boxed(CenterOutwardDepth::fit(x))),
            ),
        ];
        for alpha in [1.5, 4.0] {
            depths.push((
                format!("fermat-lens (alpha {alpha})"),
                Box::new(move |x| boxed(FermatLens::fit(x, alpha))),
            ));
        }
        depths.push((
            "fermat-lens (alpha 4, 10-NN graph)".into(),
            Box::new(|x| boxed(FermatLens::from_distances(FermatDistance::knn(x, 4.0, 10)?))),
        ));
        depths.push((
            "fermat-lens (alpha 4, 60 k-means inner points)".into(),
            Box::new(move |x| boxed(FermatLens::fit(&inner_points(x, 60, seed)?, 4.0))),
        ));
        for (name, fit) in &depths {
            progress.message(&format!("depth OOD: {name} on {}", case.name));
            let (cpu, wall, (a, b)) = timed(|| {
                let depth = fit(&case.train)?;
                Ok((depth.depth(&case.inside)?, depth.depth(&case.outside)?))
            })?;
            rows.push(vec![
                Cell::from(case.name),
                Cell::from(name.as_str()),
                Cell::from(auroc(a.as_slice(), b.as_slice())),
                Cell::from(cpu),
                Cell::from(wall),
            ]);
        }
        for alpha in [1.5, 4.0] {
            let name = format!("fermat-lens (alpha {alpha}), per class, max");
            progress.message(&format!("depth OOD: {name} on {}", case.name));
            let (cpu, wall, (a, b)) = timed(|| {
                let per_class =
                    PerClass::fit(&case.train, &case.labels, |x| FermatLens::fit(x, alpha))?;
                Ok((
                    per_class.max_depth(&case.inside)?.0,
                    per_class.max_depth(&case.outside)?.0,
                ))
            })?;
            rows.push(vec![
                Cell::from(case.name),
                Cell::from(name),
                Cell::from(auroc(a.as_slice(), b.as_slice())),
                Cell::from(cpu),
                Cell::from(wall),
            ]);
        }
    }
    Ok(Table {
        title: format!(
            "Out-of-domain AUROC (depth as score: in-domain above out-of-domain), seed {seed}; \
             two moons: 200 training points, 200 fresh moon points against 200 gap points; \
             10D mixture of 3 unit Gaussians at 5 e_k: 300 training points, 200 fresh against \
             200 of the moment-matched Gaussian"
        ),
        columns: vec![
            "data".into(),
            "depth".into(),
            "AUROC".into(),
            "CPU fit + 400 queries (s)".into(),
            "wall (s)".into(),
        ],
        rows,
    })
}

fn run(config: &SuiteConfig, progress: &mut dyn Progress) -> Result<SuiteReport> {
    let peer = peers();
    let (timing, notes) = timing_table(config, peer.as_ref(), progress)?;
    let ood = ood_table(config, progress)?;
    let mut summary = String::from(
        "Every depth of the crate on one 2D sample and 100 queries, time per query against n, \
         and as an out-of-domain score on two moons and a 10D Gaussian mixture. ",
    );
    match &peer {
        Some(p) => {
            summary += &format!(
                "data-depth {} (NumPy {}) scored the same points (seed {}); the difference column \
             compares exact depths. ",
                p.data_depth, p.numpy, p.seed
            )
        }
        None => summary += "benches/python/data_depth.json is missing: no data-depth columns. ",
    }
    if peer.as_ref().is_some_and(|p| p.seed != config.seed) {
        summary += "The peer file was written for another seed: its values are not comparable. ";
    }
    for note in notes {
        summary += &format!("{note}. ");
    }
    Ok(SuiteReport {
        suite: "depth".into(),
        summary,
        config: *config,
        tables: vec![timing, ood],
        plots: Vec::new(),
    })
}
