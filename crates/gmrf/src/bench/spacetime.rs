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
//!    [`MAX_LOGDET_NODES`] nodes. The Chebyshev draw, observed at every node, is then fitted
//!    back by the approximate likelihood of [`crate::stochastic_likelihood`] ([`FIT_PROBES`]
//!    probes, ranges up to [`FIT_RANGE_MAX`]): the moments' time, the maximisation's, one
//!    Cholesky factorisation (what each exact evaluation would cost), the estimates against
//!    the truth in standard errors, and the approximate log-likelihood at the truth against
//!    the exact one.
//! 2. **Space-time simulation**: the advection–diffusion model of [`crate::spacetime`]
//!    (range 0.1, $\sigma = 1$, $\gamma = (20, 10)$, $\Delta t = 0.002$) on regular meshes,
//!    $T$ steps from rest: the sequential sampler (sparse LU of $D$ once, Cholesky noise),
//!    the Chebyshev one (the same recursion, polynomial noise) and the Cholesky factor of the
//!    joint precision where it has at most [`MAX_JOINT`] unknowns.
//!
//! 3. **gstlearn side by side** (`benches/python/gstlearn_chebyshev.py`, run by hand; its
//!    `benches/python/gstlearn_chebyshev.json` is read here, Python is never run by the
//!    suite): gstlearn's Chebyshev simulation of the same field on the same grids, one
//!    thread. uqforge runs at gstlearn's measured uniform accuracy (max $|p - f|/f(0)$ of
//!    its polynomial), so that the degrees compare: one draw from nothing (FEM assembly,
//!    spectral bound, coefficients, draw) and the median of [`PEER_DRAWS`] further draws.
//! 4. **Likelihood and gradient by both exact routes**: one evaluation with and without the
//!    gradient on regular meshes over 20 and 50 steps (20 observations a step, and 100 on
//!    one mesh), by the joint posterior factor ([`crate::spacetime_likelihood`], with its
//!    entries) and by the observation-space sweep ([`crate::spacetime_sweep`]), the two
//!    log-likelihoods' difference, and the route [`Route::choose`] picks; then a $10^4$-node
//!    mesh over 100 steps with 10 observations a step, beyond the joint route.
//! 5. **Maximum likelihood on simulated data**: the model of `tests/spacetime_fit.rs`
//!    (range 0.3, $\sigma = 1$, $\gamma = (50, 0)$, $c = 50$, noise 0.1, 27 burn-in steps)
//!    simulated and fitted back from a wrong start (30 observations a step), on a 121-node
//!    mesh over 10 steps and a 256-node mesh over 20 steps by the joint route, the latter's
//!    data again by the sweep, and a 961-node mesh over 30 steps by the sweep: wall time,
//!    evaluations (the preconditioner's included), and each estimate against the
//!    truth in standard errors. Then the 256-node case with a rotating wind on top of the
//!    constant advection, fitted by the sweep with the wind's four basis coefficients
//!    (`field_mle_rows`), and an anisotropic field (range ratio 2.5 at 30 degrees, 169
//!    nodes, 400 observations) fitted with the diffusion tensor's anisotropy from an
//!    isotropic start (`anisotropy_mle_rows`).

use std::time::Instant;

use nalgebra::{DMatrix, DVector};
use serde::Deserialize;
use uqforge_core::Result;
use uqforge_core::bench::{
    Cell, Plot, Series, SuiteConfig, SuiteReport, Table, peak_rss_mib, reset_peak_rss, rss_mib,
};
use uqforge_core::observe::Progress;
use uqforge_core::rng::{standard_normal, stream, uniform01};

use super::{CELLS, field, problem};
use crate::chebyshev::{ChebyshevSampler, log_determinant};
use crate::spacetime::Fields;
use crate::spacetime::MAX_JOINT_UNKNOWNS;
use crate::spacetime::{AdvectionDiffusion, SpaceTime};
use crate::spacetime_likelihood::{Route, SpaceTimeFit, SpaceTimeObservations};
use crate::spacetime_sweep::{FieldBasis, SweepObservations};
use crate::stochastic_likelihood::FieldMoments;
use crate::{Fem, Mesh, SymbolicCholesky};

/// Largest number of unknowns of the joint space-time Cholesky (its factor fills like a 3D
/// problem's with a wide stencil: 1.1e8 entries for 5.2e4 unknowns).
pub const MAX_JOINT: usize = 60_000;

/// Probes of the stochastic log-determinant.
pub const LOGDET_PROBES: usize = 20;

/// Probes of the approximate likelihood's moments.
pub const FIT_PROBES: usize = 30;

/// The longest range the approximate likelihood searches (twice the field's).
pub const FIT_RANGE_MAX: f64 = 0.2;

/// Largest mesh of the stochastic log-determinant in the suite.
pub const MAX_LOGDET_NODES: usize = 250_000;

/// Further draws timed after the first in the gstlearn comparison (their median).
pub const PEER_DRAWS: usize = 5;

/// One row of `benches/python/gstlearn_chebyshev.json`.
#[derive(Debug, Deserialize)]
struct PeerRow {
    nodes: usize,
    setup_seconds: f64,
    first_draw_seconds: f64,
    per_draw_seconds: f64,
    degree: usize,
    uniform_error: f64,
}

#[derive(Debug, Deserialize)]
struct PeerFile {
    version: String,
    rows: Vec<PeerRow>,
}

const PEER_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../benches/python/gstlearn_chebyshev.json"
);

fn peers() -> Option<PeerFile> {
    serde_json::from_str(&std::fs::read_to_string(PEER_FILE).ok()?).ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The side-by-side rows: for each peer row with a mesh of the suite, gstlearn's and
/// uqforge's one draw from nothing and per further draw, at gstlearn's accuracy.
fn gstlearn_rows(
    cells: &[usize],
    seed: u64,
    peer: &PeerFile,
) -> Result<(Vec<Vec<Cell>>, Vec<String>)> {
    let field = field()?;
    let (mut rows, mut ratios) = (Vec::new(), Vec::new());
    for &k in cells {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], k, k)?;
        let Some(p) = peer.rows.iter().find(|r| r.nodes == mesh.n_nodes()) else {
            continue;
        };
        let start = Instant::now();
        let fem = Fem::assemble(&mesh)?;
        let sampler = ChebyshevSampler::matern(&fem, 2.0, field.kappa, field.tau, p.uniform_error)?;
        let _ = sampler.sample(1, seed)?;
        let first = start.elapsed().as_secs_f64();
        let mut later = Vec::with_capacity(PEER_DRAWS);
        for r in 0..PEER_DRAWS {
            let t = Instant::now();
            let _ = sampler.sample(1, seed.wrapping_add(1 + r as u64))?;
            later.push(t.elapsed().as_secs_f64());
        }
        let per = median(later);
        let peer_first = p.setup_seconds + p.first_draw_seconds;
        ratios.push(format!(
            "{:.2}x and {:.2}x at {} nodes",
            first / peer_first,
            per / p.per_draw_seconds,
            mesh.n_nodes()
        ));
        rows.push(vec![
            Cell::from(mesh.n_nodes()),
            Cell::from(p.uniform_error),
            Cell::from(p.degree),
            Cell::from(sampler.degree()),
            Cell::from(peer_first),
            Cell::from(first),
            Cell::from(first / peer_first),
            Cell::from(p.per_draw_seconds),
            Cell::from(per),
            Cell::from(per / p.per_draw_seconds),
        ]);
    }
    Ok((rows, ratios))
}

/// Observations of a field simulated from `truth`: `per_step` uniform points at each of
/// `steps` steps after `burn_in`, noise sd `noise`; (locations, steps, responses).
fn simulated(
    mesh: &Mesh,
    truth: &AdvectionDiffusion,
    dt: f64,
    (burn_in, steps, per_step): (usize, usize, usize),
    noise: f64,
    seed: u64,
) -> Result<(DMatrix<f64>, Vec<usize>, DVector<f64>)> {
    simulated_with(
        mesh,
        truth,
        &Fields::default(),
        dt,
        (burn_in, steps, per_step),
        noise,
        seed,
    )
}

/// [`simulated`] with the fields `fields` on top of `truth`.
fn simulated_with(
    mesh: &Mesh,
    truth: &AdvectionDiffusion,
    fields: &Fields,
    dt: f64,
    (burn_in, steps, per_step): (usize, usize, usize),
    noise: f64,
    seed: u64,
) -> Result<(DMatrix<f64>, Vec<usize>, DVector<f64>)> {
    let u = SpaceTime::with_fields(mesh, truth, dt, fields)?
        .simulate_sequential(burn_in + steps, seed)?;
    let mut rng = stream(seed, 7);
    let n = steps * per_step;
    let locations = DMatrix::from_fn(n, 2, |_, _| 0.05 + 0.9 * uniform01(&mut rng));
    let times: Vec<usize> = (0..n).map(|i| 1 + i / per_step).collect();
    let a = mesh.observation_matrix(&locations)?;
    let mut y = DVector::zeros(n);
    for j in 0..a.ncols() {
        let col = a.col(j);
        for (&i, &w) in col.row_indices().iter().zip(col.values()) {
            y[i] += w * u[(j, burn_in + times[i] - 1)];
        }
    }
    y.iter_mut()
        .for_each(|v| *v += noise * standard_normal(&mut rng));
    Ok((locations, times, y))
}

/// One likelihood evaluation without and with the gradient on a `cells` x `cells` mesh over
/// `steps` steps (no burn-in), `per_step` observations a step, by both routes (the joint
/// one up to [`MAX_JOINT_UNKNOWNS`] unknowns).
fn likelihood_row(cells: usize, steps: usize, per_step: usize, seed: u64) -> Result<Vec<Cell>> {
    let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], cells, cells)?;
    let model = AdvectionDiffusion::from_range_sigma(0.3, 1.0, [20.0, 10.0])?;
    let (dt, noise) = (0.01, 0.1);
    let (locations, times, y) = simulated(&mesh, &model, dt, (0, steps, per_step), noise, seed)?;
    let n = y.len();
    let x = DMatrix::zeros(n, 0);
    let joint = if mesh.n_nodes() * steps <= MAX_JOINT_UNKNOWNS {
        let (t_new, _, data) = measured(|| {
            SpaceTimeObservations::new(
                &mesh,
                dt,
                &model,
                &locations,
                &times,
                y.clone(),
                x.clone(),
                0,
            )
        })?;
        let (t_ll, _, e) = measured(|| data.log_likelihood(&model, noise, false))?;
        let (t_grad, mem, _) = measured(|| data.log_likelihood(&model, noise, true))?;
        Some((
            data.posterior_factor_nnz(),
            t_new,
            t_ll,
            t_grad,
            mem,
            e.log_likelihood,
        ))
    } else {
        None
    };
    let swept = SweepObservations::new(&mesh, dt, &model, &locations, &times, y, x, 0)?;
    let (s_ll, _, e) = measured(|| swept.log_likelihood(&model, noise, false))?;
    let (s_grad, s_mem, _) = measured(|| swept.log_likelihood(&model, noise, true))?;
    let route = Route::choose(mesh.n_nodes(), &times);
    let mut row = vec![
        Cell::from(mesh.n_nodes()),
        Cell::from(steps),
        Cell::from(mesh.n_nodes() * steps),
        Cell::from(n),
    ];
    match joint {
        Some((nnz, t_new, t_ll, t_grad, mem, ll)) => row.extend([
            Cell::from(nnz),
            Cell::from(t_new),
            Cell::from(t_ll),
            Cell::from(t_grad),
            opt(mem),
            Cell::from((ll - e.log_likelihood).abs()),
        ]),
        None => row.extend((0..6).map(|_| Cell::from("–"))),
    }
    row.extend([
        Cell::from(s_ll),
        Cell::from(s_grad),
        opt(s_mem),
        Cell::from(format!("{route:?}").to_lowercase()),
    ]);
    Ok(row)
}

/// The model of `tests/spacetime_fit.rs` simulated on a `cells` x `cells` mesh over `steps`
/// observed steps (30 points a step) and fitted back from a wrong start.
fn mle_rows(cells: usize, steps: usize, route: Route, seed: u64) -> Result<Vec<Vec<Cell>>> {
    let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], cells, cells)?;
    let truth = AdvectionDiffusion {
        c: 50.0,
        ..AdvectionDiffusion::from_range_sigma(0.3, 1.0, [50.0, 0.0])?
    };
    let (dt, burn_in, noise) = (0.05, 27, 0.1);
    let (locations, times, y) = simulated(&mesh, &truth, dt, (burn_in, steps, 30), noise, seed)?;
    let n = y.len();
    let start = AdvectionDiffusion {
        c: 40.0,
        ..AdvectionDiffusion::from_range_sigma(0.4, 0.8, [30.0, 10.0])?
    };
    let t0 = Instant::now();
    let x = DMatrix::zeros(n, 0);
    let fit = match route {
        Route::Joint => {
            SpaceTimeObservations::new(&mesh, dt, &start, &locations, &times, y, x, burn_in)?
                .maximum_likelihood(&start, 0.2, 200, 1e-6)?
        }
        Route::Sweep => {
            SweepObservations::new(&mesh, dt, &start, &locations, &times, y, x, burn_in)?
                .maximum_likelihood(&start, 0.2, 200, 1e-6)?
        }
    };
    let wall = t0.elapsed().as_secs_f64();
    let label = format!("{route:?}").to_lowercase();
    let rows = Rows {
        nodes: mesh.n_nodes(),
        steps,
        observations: n,
        label: &label,
        wall,
        fit: &fit,
    };
    rows.estimates(&truth, noise, &[])
}

/// The table rows of one maximum-likelihood fit.
struct Rows<'a> {
    nodes: usize,
    steps: usize,
    observations: usize,
    label: &'a str,
    wall: f64,
    fit: &'a SpaceTimeFit,
}

/// One estimate: its name, value, truth and standard error.
type Estimate = (&'static str, f64, f64, Option<f64>);

impl Rows<'_> {
    /// A row for each of the model's parameters (against `truth` and the noise sd
    /// `noise`), then for each of `more`.
    fn estimates(
        &self,
        truth: &AdvectionDiffusion,
        noise: f64,
        more: &[Estimate],
    ) -> Result<Vec<Vec<Cell>>> {
        let (m, se) = (&self.fit.model, self.fit.std_errors);
        let mut all: Vec<Estimate> = vec![
            ("range", m.range()?, truth.range()?, se.map(|s| s.range)),
            ("sigma", m.sigma()?, truth.sigma()?, se.map(|s| s.sigma)),
            (
                "advection x",
                m.advection[0],
                truth.advection[0],
                se.map(|s| s.advection[0]),
            ),
            (
                "advection y",
                m.advection[1],
                truth.advection[1],
                se.map(|s| s.advection[1]),
            ),
            ("c", m.c, truth.c, se.map(|s| s.c)),
            ("noise sd", self.fit.noise_sd, noise, se.map(|s| s.noise_sd)),
        ];
        all.extend_from_slice(more);
        Ok(all
            .iter()
            .map(|&(name, estimate, truth, se)| {
                vec![
                    Cell::from(self.nodes),
                    Cell::from(self.steps),
                    Cell::from(self.observations),
                    Cell::from(self.label),
                    Cell::from(self.wall),
                    Cell::from(self.fit.evaluations),
                    Cell::from(if self.fit.converged { "yes" } else { "no" }),
                    Cell::from(name),
                    Cell::from(truth),
                    Cell::from(estimate),
                    opt(se),
                    opt(se.map(|s| (estimate - truth) / s)),
                ]
            })
            .collect())
    }
}

/// The model of [`mle_rows`] with a rotating wind on top of its constant advection,
/// $\delta\gamma = \omega(-(y - 1/2), x - 1/2)$, $\omega$ = [`ROTATION`], simulated on a
/// `cells` x `cells` mesh over `steps` steps (30 observations a step) and fitted back by the
/// sweep with the advection expanded on the basis $(x - 1/2, y - 1/2)$ (4 coefficients,
/// started at 0).
fn field_mle_rows(cells: usize, steps: usize, seed: u64) -> Result<Vec<Vec<Cell>>> {
    let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], cells, cells)?;
    let truth = AdvectionDiffusion {
        c: 50.0,
        ..AdvectionDiffusion::from_range_sigma(0.3, 1.0, [50.0, 0.0])?
    };
    let nodes = mesh.nodes();
    let basis = FieldBasis {
        basis: DMatrix::from_fn(mesh.n_nodes(), 2, |i, j| nodes[i][j] - 0.5),
        advection: true,
        diffusion: false,
    };
    let coefficients = [0.0, -ROTATION, ROTATION, 0.0];
    let fields = basis.fields(&coefficients)?;
    let (dt, burn_in, noise) = (0.05, 27, 0.1);
    let (locations, times, y) = simulated_with(
        &mesh,
        &truth,
        &fields,
        dt,
        (burn_in, steps, 30),
        noise,
        seed,
    )?;
    let n = y.len();
    let start = AdvectionDiffusion {
        c: 40.0,
        ..AdvectionDiffusion::from_range_sigma(0.4, 0.8, [30.0, 10.0])?
    };
    let t0 = Instant::now();
    let data = SweepObservations::new(
        &mesh,
        dt,
        &start,
        &locations,
        &times,
        y,
        DMatrix::zeros(n, 0),
        burn_in,
    )?;
    let fit = data.maximum_likelihood_with_basis(&start, 0.2, &basis, &[0.0; 4], 200, 1e-6)?;
    let wall = t0.elapsed().as_secs_f64();
    let cse = |k: usize| fit.coefficient_std_errors.as_ref().map(|s| s[k]);
    let names = [
        "wind: a_x on x - 1/2",
        "wind: a_x on y - 1/2",
        "wind: a_y on x - 1/2",
        "wind: a_y on y - 1/2",
    ];
    let wind: Vec<Estimate> = (0..4)
        .map(|k| (names[k], fit.coefficients[k], coefficients[k], cse(k)))
        .collect();
    let rows = Rows {
        nodes: mesh.n_nodes(),
        steps,
        observations: n,
        label: "sweep + wind basis",
        wall,
        fit: &fit.fit,
    };
    rows.estimates(&truth, noise, &wind)
}

/// The model of `tests/spacetime_fit.rs`'s anisotropy fit: range 0.4 (the principal ranges
/// $0.4 e^{\pm r/2}$, ratio [`ANISOTROPY_RATIO`] with the longer one at 30 degrees), advection
/// $(30, -20)$, simulated on a `cells` x `cells` mesh over `steps` steps (40 observations a
/// step) and fitted back with the anisotropy from an isotropic start without advection, by
/// the route [`Route::choose`] picks. The ratio's and angle's rows have no standard errors
/// (those of $(a, b)$ are the fit's).
fn anisotropy_mle_rows(cells: usize, steps: usize, seed: u64) -> Result<Vec<Vec<Cell>>> {
    let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], cells, cells)?;
    let (ratio, angle) = (ANISOTROPY_RATIO, 30f64.to_radians());
    let r = ratio.ln();
    let ab = [r * (2.0 * angle).cos(), r * (2.0 * angle).sin()];
    let truth = AdvectionDiffusion {
        c: 50.0,
        ..AdvectionDiffusion::from_range_sigma(0.4, 1.0, [30.0, -20.0])?.with_anisotropy(ab)?
    };
    let (dt, burn_in, noise) = (0.05, 27, 0.1);
    let (locations, times, y) = simulated(&mesh, &truth, dt, (burn_in, steps, 40), noise, seed)?;
    let n = y.len();
    let start = AdvectionDiffusion {
        c: 40.0,
        ..AdvectionDiffusion::from_range_sigma(0.3, 0.8, [0.0, 0.0])?
    };
    let x = DMatrix::zeros(n, 0);
    let stacked: Vec<usize> = times.iter().map(|t| burn_in + t).collect();
    let route = Route::choose(mesh.n_nodes(), &stacked);
    let t0 = Instant::now();
    let fit = match route {
        Route::Joint => {
            SpaceTimeObservations::new(&mesh, dt, &start, &locations, &times, y, x, burn_in)?
                .estimating_anisotropy()
                .maximum_likelihood(&start, 0.2, 200, 1e-6)?
        }
        Route::Sweep => {
            SweepObservations::new(&mesh, dt, &start, &locations, &times, y, x, burn_in)?
                .estimating_anisotropy()
                .maximum_likelihood(&start, 0.2, 200, 1e-6)?
        }
    };
    let wall = t0.elapsed().as_secs_f64();
    let se = fit.std_errors.and_then(|s| s.anisotropy);
    let [a, b] = fit.model.anisotropy();
    let (fitted_ratio, fitted_angle) = fit.model.anisotropy_axes();
    let more = [
        ("anisotropy a", a, ab[0], se.map(|s| s[0])),
        ("anisotropy b", b, ab[1], se.map(|s| s[1])),
        ("range ratio", fitted_ratio, ratio, None),
        (
            "longer axis (degrees)",
            fitted_angle.to_degrees(),
            angle.to_degrees(),
            None,
        ),
    ];
    let label = format!("{route:?} + anisotropy").to_lowercase();
    let rows = Rows {
        nodes: mesh.n_nodes(),
        steps,
        observations: n,
        label: &label,
        wall,
        fit: &fit,
    };
    rows.estimates(&truth, noise, &more)
}

/// The range ratio of the anisotropy fit (`anisotropy_mle_rows`).
pub const ANISOTROPY_RATIO: f64 = 2.5;

/// The angular speed $\omega$ of the rotating wind of the field fit (`field_mle_rows`).
pub const ROTATION: f64 = 100.0;

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
    let (mut rows, mut fit_rows) = (Vec::new(), Vec::new());
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
        let (t_cheb, mem_cheb, x) = measured(|| sampler.sample(1, seed))?;
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
        // The drawn field, observed at every node, fitted back by the approximate likelihood;
        // the exact log-likelihood at the truth from Cholesky's log-determinant.
        let (t_moments, _, moments) =
            measured(|| FieldMoments::new(&fem, &x, 2.0, FIT_RANGE_MAX, 1e-6, FIT_PROBES, seed))?;
        let (t_fit, _, fit) = measured(|| moments.maximum_likelihood(0.3 * FIT_RANGE_MAX))?;
        let at_truth = moments.log_likelihood(field.kappa, field.tau)?;
        let quadratic = x.column(0).dot(&(&q * &x).column(0));
        let exact = -0.5 * m as f64 * (2.0 * std::f64::consts::PI).ln() + 0.5 * exact_logdet
            - 0.5 * quadratic;
        let (range, sigma) = (field.range()?, field.sigma()?);
        fit_rows.push(vec![
            Cell::from(m),
            Cell::from(fit.degree),
            Cell::from(t_moments),
            Cell::from(t_fit),
            Cell::from(t_sym + t_num),
            Cell::from(fit.range),
            Cell::from(fit.range_std_error),
            Cell::from((fit.range - range) / fit.range_std_error),
            Cell::from(fit.sigma),
            Cell::from(fit.sigma_std_error),
            Cell::from((fit.sigma - sigma) / fit.sigma_std_error),
            Cell::from(at_truth.log_likelihood - exact),
            Cell::from(at_truth.std_error),
        ]);
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

    // gstlearn side by side.
    let peer = peers();
    let (peer_rows, ratios) = match &peer {
        Some(p) => gstlearn_rows(cells, config.seed, p)?,
        None => (Vec::new(), Vec::new()),
    };
    let peer_note = match &peer {
        Some(p) => {
            format!(
                "gstlearn {} (benches/python/gstlearn_chebyshev.json), same accuracy: uqforge's \
                 time over gstlearn's for one draw from nothing and per further draw: {}.",
                p.version,
                ratios.join("; ")
            )
        }
        None => "benches/python/gstlearn_chebyshev.json is missing: no gstlearn columns.".into(),
    };

    // Likelihood and gradient.
    let ll_cases: &[(usize, usize, usize)] = if config.quick {
        &[(10, 20, 20), (20, 20, 20)]
    } else {
        &[
            (10, 20, 20),
            (20, 20, 20),
            (20, 20, 100),
            (30, 20, 20),
            (40, 20, 20),
            (20, 50, 20),
            (30, 50, 20),
            (99, 100, 10),
        ]
    };
    progress.start("gmrf-st: likelihood", ll_cases.len() as u64);
    let mut ll_rows = Vec::new();
    for (i, &(k, steps, per_step)) in ll_cases.iter().enumerate() {
        ll_rows.push(likelihood_row(
            k,
            steps,
            per_step,
            config.seed.wrapping_add(200 + i as u64),
        )?);
        progress.advance(1);
    }
    progress.finish();

    // Maximum likelihood.
    let mle_cases: &[(usize, usize, Route)] = if config.quick {
        &[(10, 10, Route::Joint)]
    } else {
        &[
            (10, 10, Route::Joint),
            (15, 20, Route::Joint),
            (15, 20, Route::Sweep),
            (30, 30, Route::Sweep),
        ]
    };
    progress.start(
        "gmrf-st: maximum likelihood",
        mle_cases.len() as u64 + 2 * u64::from(!config.quick),
    );
    let mut mle_table = Vec::new();
    for (i, &(k, steps, route)) in mle_cases.iter().enumerate() {
        // The same data for both routes on one mesh: the seed of the mesh's first case.
        let first = mle_cases.iter().position(|c| c.0 == k).unwrap_or(i);
        mle_table.extend(mle_rows(
            k,
            steps,
            route,
            config.seed.wrapping_add(300 + first as u64),
        )?);
        progress.advance(1);
    }
    if !config.quick {
        mle_table.extend(field_mle_rows(15, 20, config.seed.wrapping_add(400))?);
        progress.advance(1);
        mle_table.extend(anisotropy_mle_rows(12, 10, config.seed.wrapping_add(500))?);
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
             Stochastic log-determinant: {LOGDET_PROBES} Rademacher probes. {peer_note} \
             Likelihood: one exact evaluation by the joint posterior factor (one thread) and by \
             the observation-space sweep (its solves and products on {} threads). Maximum \
             likelihood: simulated data (range 0.3, sigma 1, gamma (50, 0), c 50, noise 0.1) \
             fitted from a wrong start. Seed {}.",
            std::thread::available_parallelism().map_or(1, |p| p.get().min(4)),
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
                title: "Approximate maximum likelihood of the drawn field, observed at every node"
                    .into(),
                columns: [
                    "nodes",
                    "degree",
                    "moments (s)",
                    "maximum likelihood (s)",
                    "exact: one evaluation's Cholesky (s)",
                    "range (truth 0.1)",
                    "range SE",
                    "range error / SE",
                    "sigma (truth 1)",
                    "sigma SE",
                    "sigma error / SE",
                    "approx. - exact loglik at the truth",
                    "its probes' SE",
                ]
                .map(String::from)
                .to_vec(),
                rows: fit_rows,
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
            Table {
                title: "Chebyshev simulation side by side with gstlearn, at gstlearn's accuracy"
                    .into(),
                columns: [
                    "nodes",
                    "uniform accuracy (of f(0))",
                    "gstlearn degree",
                    "uqforge degree",
                    "gstlearn one draw from nothing (s)",
                    "uqforge one draw from nothing (s)",
                    "uqforge / gstlearn",
                    "gstlearn per further draw (s)",
                    "uqforge per further draw (s)",
                    "uqforge / gstlearn per draw",
                ]
                .map(String::from)
                .to_vec(),
                rows: peer_rows,
            },
            Table {
                title: "Space-time likelihood: one exact evaluation by each route".into(),
                columns: [
                    "nodes",
                    "steps",
                    "unknowns",
                    "observations",
                    "joint: posterior factor entries",
                    "joint: setup, patterns and analyses (s)",
                    "joint: log-likelihood (s)",
                    "joint: with gradient (s)",
                    "joint: its added peak memory (MiB)",
                    "|joint - sweep| log-likelihood",
                    "sweep: log-likelihood (s)",
                    "sweep: with gradient (s)",
                    "sweep: its added peak memory (MiB)",
                    "auto route",
                ]
                .map(String::from)
                .to_vec(),
                rows: ll_rows,
            },
            Table {
                title: "Maximum likelihood on simulated data".into(),
                columns: [
                    "nodes",
                    "observed steps",
                    "observations",
                    "route",
                    "wall time (s)",
                    "evaluations",
                    "converged",
                    "parameter",
                    "truth",
                    "estimate",
                    "standard error",
                    "(estimate - truth) / SE",
                ]
                .map(String::from)
                .to_vec(),
                rows: mle_table,
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
