//! The `latent` suite of `cargo xtask bench`.
//!
//! 1. **Geodesic accuracy against time**: the half-plane pair $(-3, 1)$–$(3, 1)$ (closed-form
//!    distance $\operatorname{arccosh} 19 = 3.6369$) and a pair across the ridge
//!    $A = 2$, $S = 0.1$ ($(-0.5, 0.3)$–$(0.6, -1.2)$, distance from the unrolled plane), for
//!    $J = 2, \dots, 7$ (`--quick`: to 5): relative error of the length, wall time (best of
//!    rounds of about 0.2 s), L-BFGS iterations; Faber–Schauder coarse to fine, Faber–Schauder
//!    at level $J$ directly, and the nodal parametrisation at level $J$ directly
//!    ([`Basis::Nodal`]: the same curves, the interior nodes as parameters).
//! 2. **k-means wall time**: $n = 200, 1000$ points (`--quick`: 200) of the two
//!    classes ($N((\mp0.5, 0), \operatorname{diag}(0.01, 1))$, half each, [`two_columns`]),
//!    $k = 2, \dots, 5$, one k-means++ start, $J = 4$, on the ridge ($A = 2$, $S = 0.1$) and
//!    on a seeded MLP decoder 2–32–32–3 with tanh ([`mlp_decoder`]); with the adjusted Rand
//!    index against the classes at $k = 2$.
//! 3. **Side by side with a NumPy/SciPy prototype** of the same algorithm on the ridge
//!    (`benches/python/latent_kmeans.py`: Faber–Schauder curves, chord energy, SciPy's
//!    L-BFGS-B, k-means++ and Karcher means), whose times are stored in
//!    `benches/python/latent_kmeans.json` and read here. Python is never run by the suite.

use std::time::Instant;

use nalgebra::DMatrix;
use serde::Deserialize;
use uqforge_core::bench::{Cell, Plot, Series, Suite, SuiteConfig, SuiteReport, Table};
use uqforge_core::observe::Progress;
use uqforge_core::rng::{standard_normal, stream};
use uqforge_core::{Error, Result};

#[cfg(test)]
use uqforge_core::Model;

use crate::{
    Activation, Basis, GeodesicOptions, Hyperbolic, KMeansOptions, Layer, Metric, Mlp, PullBack,
    Ridge, adjusted_rand_index, geodesic, kmeans,
};

/// The suites of this crate.
pub fn suites() -> Vec<Suite> {
    vec![Suite {
        name: "latent",
        description: "Geodesic accuracy against time (J = 2..7, Faber-Schauder vs nodal), k-means wall time on the ridge and an MLP decoder, a NumPy/SciPy prototype side by side",
        run,
    }]
}

/// The two classes: `n / 2` points of $N((-0.5, 0), \operatorname{diag}(0.01, 1))$
/// then `n / 2` of $N((0.5, 0), \operatorname{diag}(0.01, 1))$ (ChaCha8 stream 0 of `seed`),
/// and their class labels.
pub fn two_columns(n: usize, seed: u64) -> (DMatrix<f64>, Vec<usize>) {
    let mut rng = stream(seed, 0);
    let (mut rows, mut truth) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
    for i in 0..n {
        let class = usize::from(i >= n / 2);
        let mean = if class == 0 { -0.5 } else { 0.5 };
        rows.push(mean + 0.1 * standard_normal(&mut rng));
        rows.push(standard_normal(&mut rng));
        truth.push(class);
    }
    (DMatrix::from_row_slice(n, 2, &rows), truth)
}

/// A 2–32–32–3 tanh decoder with weights $N(0, 1/\text{fan-in})$ and biases $N(0, 0.25)$
/// (ChaCha8 stream 1 of `seed`): a stand-in for a trained decoder of the same size.
///
/// # Errors
/// None in practice (the layers are consistent by construction).
pub fn mlp_decoder(seed: u64) -> Result<Mlp> {
    let mut rng = stream(seed, 1);
    let mut layer = |out: usize, inp: usize, activation| Layer {
        weights: (0..out)
            .map(|_| {
                (0..inp)
                    .map(|_| standard_normal(&mut rng) / (inp as f64).sqrt())
                    .collect()
            })
            .collect(),
        bias: (0..out).map(|_| 0.5 * standard_normal(&mut rng)).collect(),
        activation,
    };
    Mlp::new(vec![
        layer(32, 2, Activation::Tanh),
        layer(32, 32, Activation::Tanh),
        layer(3, 32, Activation::Identity),
    ])
}

/// Wall seconds per call of `f`: the best of three rounds of repeated calls (each round at
/// least 0.2 s or one call), and the last result.
fn timed<T>(mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..3 {
        let start = Instant::now();
        let mut calls = 0u32;
        while calls == 0 || start.elapsed().as_secs_f64() < 0.2 {
            last = Some(f()?);
            calls += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / f64::from(calls));
    }
    let last = last.ok_or_else(|| Error::degenerate("benchmark", "no call ran"))?;
    Ok((best, last))
}

/// One row of `benches/python/latent_kmeans.json`.
#[derive(Debug, Deserialize)]
struct PeerRow {
    n: usize,
    k: usize,
    seconds: f64,
    ari: Option<f64>,
    geodesics: usize,
}

/// `benches/python/latent_kmeans.json`.
#[derive(Debug, Deserialize)]
struct PeerFile {
    versions: std::collections::BTreeMap<String, String>,
    rows: Vec<PeerRow>,
}

const PEER_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../benches/python/latent_kmeans.json"
);

fn peers() -> Option<PeerFile> {
    serde_json::from_str(&std::fs::read_to_string(PEER_FILE).ok()?).ok()
}

/// A geodesic benchmark: name, metric, endpoints, exact distance.
type Case<'a> = (&'a str, &'a dyn Metric, [f64; 2], [f64; 2], f64);

fn run(config: &SuiteConfig, progress: &mut dyn Progress) -> Result<SuiteReport> {
    let top = if config.quick { 5 } else { 7 };
    let ridge = Ridge::new(2.0, 0.1)?;
    let ridge_metric = PullBack::new(ridge);
    let (ra, rb) = ([-0.5, 0.3], [0.6, -1.2]);
    let cases: [Case<'_>; 2] = [
        (
            "half-plane",
            &Hyperbolic,
            [-3.0, 1.0],
            [3.0, 1.0],
            Hyperbolic::distance(&[-3.0, 1.0], &[3.0, 1.0])?,
        ),
        ("ridge", &ridge_metric, ra, rb, ridge.distance(&ra, &rb)?),
    ];
    let variants = [
        ("Faber-Schauder, coarse to fine", Basis::FaberSchauder, true),
        ("Faber-Schauder, level J only", Basis::FaberSchauder, false),
        ("nodal, level J only", Basis::Nodal, false),
    ];
    progress.start("latent: geodesics", (2 * (top - 1) * variants.len()) as u64);
    let mut rows = Vec::new();
    let mut plots = Vec::new();
    for (name, metric, a, b, exact) in cases {
        let mut series = Vec::new();
        for (label, basis, coarse_to_fine) in variants {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            for levels in 2..=top {
                let options = GeodesicOptions {
                    levels,
                    basis,
                    coarse_to_fine,
                    max_iterations: 20_000,
                    ..GeodesicOptions::default()
                };
                let (seconds, g) = timed(|| geodesic(metric, &a, &b, &options))?;
                let error = (g.length / exact - 1.0).abs();
                rows.push(vec![
                    Cell::from(name),
                    Cell::from(label),
                    Cell::from(levels),
                    Cell::from(error),
                    Cell::from(1e3 * seconds),
                    Cell::from(g.iterations as usize),
                    Cell::from(g.evaluations),
                    Cell::from(if g.converged { "yes" } else { "no" }),
                ]);
                x.push(1e3 * seconds);
                y.push(error.max(1e-16));
                progress.advance(1);
            }
            series.push(Series {
                label: label.to_owned(),
                x,
                y,
            });
        }
        plots.push(Plot {
            name: format!("accuracy-{name}"),
            title: format!("Geodesic length error against time ({name}, J = 2..{top})"),
            x_label: "wall time per geodesic (ms)".into(),
            y_label: "relative error of the length".into(),
            log_x: true,
            log_y: true,
            bars: false,
            series,
        });
    }
    let geodesic_table = Table {
        title: "Geodesic accuracy against time (relative length error; best of 3 rounds)".into(),
        columns: [
            "pair",
            "parametrisation",
            "J",
            "relative error",
            "ms per geodesic",
            "L-BFGS iterations",
            "energy evaluations",
            "converged",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    };

    // k-means.
    let sizes: &[usize] = if config.quick { &[200] } else { &[200, 1000] };
    let mlp = PullBack::new(mlp_decoder(config.seed)?);
    let decoders: [(&str, &dyn Metric); 2] = [("ridge", &ridge_metric), ("MLP 2-32-32-3", &mlp)];
    progress.start("latent: k-means", (sizes.len() * 4 * decoders.len()) as u64);
    let peer = peers();
    let mut rows = Vec::new();
    let mut curves = Vec::new();
    for (name, metric) in decoders {
        for &n in sizes {
            let (x, truth) = two_columns(n, config.seed);
            let (mut ks, mut ts) = (Vec::new(), Vec::new());
            for k in 2..=5 {
                let mut options = KMeansOptions {
                    k,
                    restarts: 1,
                    seed: config.seed,
                    ..KMeansOptions::default()
                };
                options.frechet.geodesic.levels = 4;
                let start = Instant::now();
                let c = kmeans(metric, &x, &options)?;
                let seconds = start.elapsed().as_secs_f64();
                let ari = if k == 2 {
                    Cell::from(adjusted_rand_index(&c.labels, &truth)?)
                } else {
                    Cell::from("–")
                };
                let peer_row = peer
                    .as_ref()
                    .filter(|_| name == "ridge")
                    .and_then(|p| p.rows.iter().find(|r| r.n == n && r.k == k));
                rows.push(vec![
                    Cell::from(name),
                    Cell::from(n),
                    Cell::from(k),
                    Cell::from(seconds),
                    Cell::from(c.iterations),
                    Cell::from(c.geodesics),
                    Cell::from(c.inertia),
                    ari,
                    peer_row.map_or_else(|| Cell::from("–"), |r| Cell::from(r.seconds)),
                    peer_row.map_or_else(|| Cell::from("–"), |r| Cell::from(r.geodesics)),
                    peer_row
                        .and_then(|r| r.ari)
                        .map_or_else(|| Cell::from("–"), Cell::from),
                    peer_row.map_or_else(|| Cell::from("–"), |r| Cell::from(r.seconds / seconds)),
                ]);
                ks.push(k as f64);
                ts.push(seconds);
                progress.advance(1);
            }
            curves.push(Series {
                label: format!("{name}, n = {n}"),
                x: ks,
                y: ts,
            });
        }
    }
    plots.push(Plot {
        name: "kmeans".into(),
        title: "Riemannian k-means wall time (one k-means++ start, J = 4)".into(),
        x_label: "k".into(),
        y_label: "wall seconds".into(),
        log_x: false,
        log_y: true,
        bars: false,
        series: curves,
    });
    let kmeans_table = Table {
        title: "Riemannian k-means: wall seconds (2 threads), one k-means++ start, J = 4".into(),
        columns: [
            "decoder",
            "n",
            "k",
            "seconds",
            "rounds",
            "geodesics",
            "inertia",
            "ARI (k = 2)",
            "NumPy prototype seconds",
            "prototype geodesics",
            "prototype ARI",
            "prototype / uqforge",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    };
    let peer_note = match &peer {
        Some(p) => format!(
            "NumPy/SciPy prototype: {} (benches/python/latent_kmeans.py, the same algorithm and \
             sizes on its own draws of the same distribution). ",
            p.versions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "benches/python/latent_kmeans.json is missing: no prototype columns. ".into(),
    };
    Ok(SuiteReport {
        suite: "latent".into(),
        summary: format!(
            "Geodesics of the half-plane and of the ridge (A = 2, S = 0.1) against closed-form \
             and unrolled distances, J = 2..{top}, oversampling 4, tunnelling check on; \
             Riemannian k-means (Fréchet updates, warm-started geodesics) on the issue's two \
             classes. {peer_note}Seed {}.",
            config.seed
        ),
        config: *config,
        tables: vec![geodesic_table, kmeans_table],
        plots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_have_the_stated_distributions() {
        let (x, truth) = two_columns(4000, 3);
        for (class, mean) in [(0, -0.5), (1, 0.5)] {
            let rows: Vec<usize> = (0..4000).filter(|&i| truth[i] == class).collect();
            assert_eq!(rows.len(), 2000);
            let m1 = rows.iter().map(|&i| x[(i, 0)]).sum::<f64>() / 2000.0;
            let v2 = rows.iter().map(|&i| x[(i, 1)].powi(2)).sum::<f64>() / 2000.0;
            // Means within 5 standard errors (0.1 / sqrt(2000) = 0.0022), variance of z2 ~ 1.
            assert!(
                (m1 - mean).abs() < 0.012 && (v2 - 1.0).abs() < 0.16,
                "{m1} {v2}"
            );
        }
        let mlp = mlp_decoder(3).unwrap();
        assert_eq!((mlp.input_dim(), mlp.output_dim()), (2, 3));
    }
}
