//! The `gmrf-st` suite of `cargo xtask bench`.
//!
//! 1. **Spatial simulation, Cholesky against Chebyshev, against the mesh size**: one draw of
//!    the benchmark Matérn field ($\alpha = 2$, range 0.1, $\sigma = 1$) on the regular meshes
//!    of the `gmrf` suite ($10^4$ to $10^6$ nodes; `--quick`: $10^4$ and $10^5$). Cholesky:
//!    symbolic analysis, numeric factorisation, one draw $L^{-\top}z$. Chebyshev
//!    ([`crate::chebyshev`], relative tolerance $10^{-4}$): the Gershgorin bound and the
//!    coefficients, then one draw by the recurrence. Wall seconds of one run each (the
//!    machine's noise is below the differences), one thread, and the peak resident memory
//!    each step added to what the process held before it (0 when it fitted in memory the
//!    process had freed).
//!    Against Cholesky's log-determinant: [`log_determinant`] with [`LOGDET_PROBES`]
//!    Rademacher probes (absolute tolerance $10^{-6}$ per eigenvalue), up to
//!    [`MAX_LOGDET_NODES`] nodes.
//! 2. **Space-time simulation**: the advection–diffusion model of [`crate::spacetime`]
//!    (range 0.1, $\sigma = 1$, $\gamma = (20, 10)$, $\Delta t = 0.002$) on regular meshes,
//!    $T$ steps from rest: the sequential sampler (sparse LU of $D$ once, Cholesky noise),
//!    the Chebyshev one (the same recursion, polynomial noise) and the Cholesky factor of the
//!    joint precision where it has at most [`MAX_JOINT`] unknowns.
//!
//! Not yet here (issue #8): the likelihood and its gradient, the MLE, and gstlearn side by
//! side.

use std::time::Instant;

use uqforge_core::Result;
use uqforge_core::bench::{
    Cell, Plot, Series, SuiteConfig, SuiteReport, Table, peak_rss_mib, reset_peak_rss, rss_mib,
};
use uqforge_core::observe::Progress;

use super::{CELLS, field, problem};
use crate::chebyshev::{ChebyshevSampler, log_determinant};
use crate::spacetime::{AdvectionDiffusion, SpaceTime};
use crate::{Fem, Mesh, SymbolicCholesky};

/// Largest number of unknowns of the joint space-time Cholesky (its factor fills like a 3D
/// problem's with a wide stencil: 1.1e8 entries for 5.2e4 unknowns).
pub const MAX_JOINT: usize = 60_000;

/// Probes of the stochastic log-determinant.
pub const LOGDET_PROBES: usize = 20;

/// Largest mesh of the stochastic log-determinant in the suite.
pub const MAX_LOGDET_NODES: usize = 250_000;

/// Relative tolerance of the Chebyshev polynomials.
pub const TOLERANCE: f64 = 1e-4;

/// Wall seconds of `f`, its result, and the peak resident memory it added (MiB).
fn measured<T>(f: impl FnOnce() -> Result<T>) -> Result<(f64, Option<f64>, T)> {
    let before = rss_mib();
    let reset = reset_peak_rss();
    let start = Instant::now();
    let out = f()?;
    let t = start.elapsed().as_secs_f64();
    let peak = match (reset, before, peak_rss_mib()) {
        (true, Some(b), Some(p)) => Some((p - b).max(0.0)),
        _ => None,
    };
    Ok((t, peak, out))
}

fn opt(x: Option<f64>) -> Cell {
    x.map_or_else(|| Cell::from("–"), Cell::from)
}

pub(super) fn run(config: &SuiteConfig, progress: &mut dyn Progress) -> Result<SuiteReport> {
    let cells: &[usize] = if config.quick { &CELLS[..2] } else { &CELLS };
    let field = field()?;
    progress.start("gmrf-st: spatial meshes", cells.len() as u64);
    let mut rows = Vec::new();
    let (mut chol_curve, mut cheb_curve) = (Vec::new(), Vec::new());
    for (i, &k) in cells.iter().enumerate() {
        let (mesh, spde) = problem(k)?;
        let m = mesh.n_nodes();
        let seed = config.seed.wrapping_add(i as u64);
        let q = spde.precision(&field)?;
        let (t_sym, mem_sym, symbolic) = measured(|| SymbolicCholesky::analyse(spde.pattern()))?;
        let (t_num, mem_num, chol) = measured(|| symbolic.factor(&q))?;
        let (t_draw, _, _) = measured(|| chol.sample(1, seed))?;
        let exact_logdet = chol.log_determinant();
        drop(chol);
        drop(symbolic);
        let fem = Fem::assemble(&mesh)?;
        let (t_setup, _, sampler) =
            measured(|| ChebyshevSampler::matern(&fem, 2.0, field.kappa, field.tau, TOLERANCE))?;
        let (t_cheb, mem_cheb, _) = measured(|| sampler.sample(1, seed))?;
        let chol_total = t_sym + t_num + t_draw;
        let cheb_total = t_setup + t_cheb;
        chol_curve.push((m as f64, chol_total));
        cheb_curve.push((m as f64, cheb_total));
        rows.push(vec![
            Cell::from(m),
            Cell::from(t_sym),
            Cell::from(t_num),
            Cell::from(t_draw),
            Cell::from(chol_total),
            opt(mem_sym.zip(mem_num).map(|(a, b)| a.max(b))),
            Cell::from(sampler.degree()),
            Cell::from(t_setup),
            Cell::from(t_cheb),
            Cell::from(cheb_total),
            opt(mem_cheb),
            Cell::from(cheb_total / chol_total),
        ]);
        // The stochastic log-determinant, where it takes seconds, not minutes.
        let row = rows.len() - 1;
        if m <= MAX_LOGDET_NODES {
            let (t, _, est) = measured(|| {
                log_determinant(&fem, 2.0, field.kappa, field.tau, 1e-6, LOGDET_PROBES, seed)
            })?;
            rows[row].extend([
                Cell::from(t),
                Cell::from((est.value - exact_logdet) / exact_logdet.abs()),
                Cell::from(est.std_error / exact_logdet.abs()),
            ]);
        } else {
            rows[row].extend([Cell::from("–"), Cell::from("–"), Cell::from("–")]);
        }
        progress.advance(1);
    }
    progress.finish();

    // Space-time.
    let cases: &[(usize, usize)] = if config.quick {
        &[(50, 20), (100, 20)]
    } else {
        &[(50, 20), (50, 100), (100, 100), (200, 100)]
    };
    let dt = 0.002;
    let model = AdvectionDiffusion::from_range_sigma(0.1, 1.0, [20.0, 10.0])?;
    progress.start("gmrf-st: space-time", cases.len() as u64);
    let mut st_rows = Vec::new();
    for (i, &(k, steps)) in cases.iter().enumerate() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], k, k)?;
        let n = mesh.n_nodes();
        let seed = config.seed.wrapping_add(100 + i as u64);
        let (t_setup, _, st) = measured(|| SpaceTime::new(&mesh, &model, dt))?;
        let (t_seq, mem_seq, _) = measured(|| st.simulate_sequential(steps, seed))?;
        let (t_cheb, _, _) = measured(|| st.simulate_chebyshev(steps, seed, TOLERANCE))?;
        let joint = if n * steps <= MAX_JOINT {
            let (t, mem, _) = measured(|| st.simulate_cholesky(steps, seed))?;
            (Some(t), mem)
        } else {
            (None, None)
        };
        st_rows.push(vec![
            Cell::from(n),
            Cell::from(steps),
            Cell::from(n * steps),
            Cell::from(t_setup),
            Cell::from(t_seq),
            opt(mem_seq),
            Cell::from(t_cheb),
            opt(joint.0),
            opt(joint.1),
        ]);
        progress.advance(1);
    }
    progress.finish();

    let ratios: Vec<String> = chol_curve
        .iter()
        .zip(&cheb_curve)
        .map(|(c, p)| format!("{:.2}x at {} nodes", p.1 / c.1, c.0))
        .collect();
    let crossover = format!("Chebyshev's time over Cholesky's: {}.", ratios.join(", "));
    let series = |label: &str, pts: &[(f64, f64)]| Series {
        label: label.into(),
        x: pts.iter().map(|p| p.0).collect(),
        y: pts.iter().map(|p| p.1).collect(),
    };
    Ok(SuiteReport {
        suite: "gmrf-st".into(),
        summary: format!(
            "One draw of a Matérn field (alpha = 2, range 0.1) on regular meshes of the unit \
             square, one thread, wall seconds of one run: Cholesky (analysis, factorisation, \
             draw) against Chebyshev (tolerance {TOLERANCE:e}). {crossover} Space-time: the \
             advection-diffusion model (range 0.1, sigma 1, gamma (20, 10), dt {dt}) from rest. \
             Stochastic log-determinant: {LOGDET_PROBES} Rademacher probes. The likelihood, \
             the MLE and gstlearn side by side are not measured yet. Seed {}.",
            config.seed
        ),
        config: *config,
        tables: vec![
            Table {
                title: "Spatial simulation: Cholesky against Chebyshev".into(),
                columns: [
                    "nodes",
                    "analyse (s)",
                    "factor (s)",
                    "draw (s)",
                    "Cholesky total (s)",
                    "Cholesky added peak memory (MiB)",
                    "Chebyshev degree",
                    "Chebyshev setup (s)",
                    "Chebyshev draw (s)",
                    "Chebyshev total (s)",
                    "Chebyshev added peak memory (MiB)",
                    "Chebyshev / Cholesky time",
                    "stochastic log-det (s)",
                    "its relative error",
                    "its relative standard error",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            },
            Table {
                title: "Space-time simulation from rest".into(),
                columns: [
                    "nodes",
                    "steps",
                    "unknowns",
                    "setup: D's LU, Q_s's factor (s)",
                    "sequential (s)",
                    "sequential added peak memory (MiB)",
                    "Chebyshev noise (s)",
                    "joint Cholesky (s)",
                    "joint Cholesky added peak memory (MiB)",
                ]
                .map(String::from)
                .to_vec(),
                rows: st_rows,
            },
        ],
        plots: vec![Plot {
            name: "simulation".into(),
            title: "One Matérn draw: Cholesky against Chebyshev".into(),
            x_label: "mesh nodes".into(),
            y_label: "wall seconds".into(),
            log_x: true,
            log_y: true,
            bars: false,
            series: vec![
                series("Cholesky (analyse + factor + draw)", &chol_curve),
                series("Chebyshev (setup + draw)", &cheb_curve),
            ],
        }],
    })
}
