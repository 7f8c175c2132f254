//! Geodesics by minimising the discrete curve energy over Faber–Schauder coefficients.
//!
//! A geodesic from $a$ to $b$ minimises the energy $E(\gamma) = \int_0^1
//! \dot\gamma^\top G(\gamma)\dot\gamma dt$ over curves with those endpoints; its length is
//! $\sqrt{E}$ and it is traversed at constant speed ([`crate::metric`]). The solver:
//!
//! 1. represents the curve in the scaled Faber–Schauder basis with $J$ levels
//!    ([`FaberSchauder`]), starting from the straight segment;
//! 2. evaluates the energy of the curve sampled $s$ times finer than its $2^J$ pieces
//!    ([`GeodesicOptions::oversampling`]), with its exact gradient (the metric's polyline
//!    gradient, summed back onto the nodes and through the transposed synthesis);
//! 3. minimises it with L-BFGS (argmin, More–Thuente line search), level by level: the
//!    solution with $j$ levels, with zero level-$j$ coefficients appended, starts level
//!    $j + 1$;
//! 4. checks for tunnelling: the length of the final curve re-measured on a grid 4 times finer
//!    must agree to [`GeodesicOptions::tunnelling_tolerance`]; otherwise the oversampling is
//!    multiplied by 4 and the last level solved again, at most
//!    [`GeodesicOptions::max_refinements`] times, and a remaining disagreement is reported in
//!    [`Tunnelling::suspected`].
//!
//! The energy is divided by that of the straight segment, so the gradient tolerance is
//! relative. Cost per energy evaluation: $2^J s + 1$ metric (or decoder and Jacobian)
//! evaluations.
//!
//! The log map $\log_a b = \dot\gamma(0)$ is the initial velocity of the constant-speed
//! geodesic, of norm $d(a, b)$. The first variation of the energy with respect to the
//! endpoint, $\partial E/\partial a = -2G(a)\dot\gamma(0)$ (the interior terms vanish at a
//! geodesic), gives it as $\log_a b = -\frac12 G(a)^{-1}\partial E_n/\partial a$ from the
//! discrete energy's exact gradient ([`Geodesic::log_map`]): consistent with the discrete
//! distances to $O(h^2)$, and the exact gradient of $E_n$ at a discrete minimiser, which is
//! what Fréchet means need.
//!
//! ```
//! use uqforge_latent::{GeodesicOptions, Hyperbolic, geodesic};
//! let g = geodesic(&Hyperbolic, &[-3.0, 1.0], &[3.0, 1.0], &GeodesicOptions::default()).unwrap();
//! let exact = Hyperbolic::distance(&[-3.0, 1.0], &[3.0, 1.0]).unwrap(); // 3.6369
//! assert!((g.length / exact - 1.0).abs() < 3e-4);
//! assert!(g.curve.point(0.5)[1] > 2.5); // the half-circle rises towards sqrt(10)
//! ```
//!
//! # References
//! - G. Arvanitidis, L. K. Hansen, S. Hauberg (2018), Latent space oddity: on the curvature of
//!   deep generative models, ICLR.
//! - N. S. Detlefsen, A. Pouplin, C. W. Frey et al., StochMan (curve energies).
//! - J. Nocedal, S. J. Wright (2006), *Numerical Optimization*, 2nd ed., Springer (L-BFGS).

use std::sync::Mutex;

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::curve::{FaberSchauder, coarsen_gradient};
use crate::metric::Metric;

/// How [`geodesic`] discretises and solves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeodesicOptions {
    /// $J$: the curve has $2^J$ linear pieces (default 5).
    pub levels: usize,
    /// $s$: the energy is evaluated on a grid $s$ times finer than the pieces (default 4).
    pub oversampling: usize,
    /// The optimiser's parameters (default [`Basis::FaberSchauder`]).
    pub basis: Basis,
    /// Solve levels $1, \dots, J$ in turn, each warm-started (default `true`); otherwise
    /// level $J$ directly from the straight segment.
    pub coarse_to_fine: bool,
    /// L-BFGS iterations per level at most (default 500).
    pub max_iterations: u64,
    /// Stop when the gradient norm of the relative energy falls below this (default 1e-9).
    pub gradient_tolerance: f64,
    /// The largest relative change of the length on a 4 times finer grid accepted without
    /// refinement (default 1e-3).
    pub tunnelling_tolerance: f64,
    /// How many times the oversampling may be multiplied by 4 (default 2).
    pub max_refinements: usize,
}

impl Default for GeodesicOptions {
    fn default() -> Self {
        Self {
            levels: 5,
            oversampling: 4,
            basis: Basis::FaberSchauder,
            coarse_to_fine: true,
            max_iterations: 500,
            gradient_tolerance: 1e-9,
            tunnelling_tolerance: 1e-3,
            max_refinements: 2,
        }
    }
}

impl GeodesicOptions {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.levels > crate::curve::MAX_LEVELS {
            return Err(Error::invalid_parameter(
                "levels",
                format!("at most {}, got {}", crate::curve::MAX_LEVELS, self.levels),
            ));
        }
        validate::at_least("oversampling", self.oversampling, 1)?;
        validate::at_least("max_iterations", self.max_iterations as usize, 1)?;
        validate::positive("gradient_tolerance", self.gradient_tolerance)?;
        validate::positive("tunnelling_tolerance", self.tunnelling_tolerance)?;
        let fine = (self.oversampling as f64) * 4f64.powi(self.max_refinements as i32 + 1);
        if fine * (self.levels as f64).exp2() > 1e8 {
            return Err(Error::invalid_parameter(
                "oversampling",
                "levels, oversampling and refinements ask for more than 1e8 grid points",
            ));
        }
        Ok(())
    }
}

/// The parameters L-BFGS moves: the same curves (polylines on the dyadic grid), two
/// coordinate systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    /// The scaled Faber–Schauder coefficients ([`crate::curve`]): a flat-metric Hessian of
    /// $2I$ whatever the level.
    FaberSchauder,
    /// The interior nodes themselves: a flat-metric Hessian that is a discrete Laplacian,
    /// of condition number about $(2^J/\pi)^2$; for comparison (the `latent` benchmark).
    Nodal,
}

/// The tunnelling check of a geodesic: its length re-measured on a grid 4 times finer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tunnelling {
    /// The length on the 4 times finer grid.
    pub fine_length: f64,
    /// $|L_{4s} - L_s|/L_s$.
    pub relative_change: f64,
    /// How many times the oversampling was multiplied by 4.
    pub refinements: usize,
    /// The change still exceeds the tolerance after the allowed refinements: the curve may
    /// cut through features narrower than its grid; raise the levels or the oversampling.
    pub suspected: bool,
}

/// A solved geodesic; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Geodesic {
    /// The curve.
    pub curve: FaberSchauder,
    /// Its discrete length $L_n$ on the solver's grid.
    pub length: f64,
    /// Its discrete energy $E_n$ ($\ge L_n^2$, equal for constant speed).
    pub energy: f64,
    /// L-BFGS iterations, summed over levels and refinements.
    pub iterations: u64,
    /// Energy-and-gradient evaluations, summed likewise.
    pub evaluations: usize,
    /// Every solve ended on the gradient or cost tolerance (not on the iteration limit).
    pub converged: bool,
    /// The final oversampling $s$.
    pub oversampling: usize,
    /// The tunnelling check.
    pub tunnelling: Tunnelling,
}

impl Geodesic {
    /// The log map at the start, $\log_a b = \dot\gamma(0)$, from the first variation of
    /// the discrete energy (see the [module docs](self)).
    ///
    /// # Errors
    /// The metric's errors; a singular metric tensor at $a$ (a degenerate decoder Jacobian).
    pub fn log_map<M: Metric + ?Sized>(&self, metric: &M) -> Result<Vec<f64>> {
        self.endpoint_velocity(metric, true)
    }

    /// The log map at the end, $\log_b a = -\dot\gamma(1)$.
    ///
    /// # Errors
    /// As [`Geodesic::log_map`].
    pub fn log_map_end<M: Metric + ?Sized>(&self, metric: &M) -> Result<Vec<f64>> {
        self.endpoint_velocity(metric, false)
    }

    /// $-\frac12 G(p)^{-1}\partial E_n/\partial p$ at the endpoint $p$.
    fn endpoint_velocity<M: Metric + ?Sized>(&self, metric: &M, start: bool) -> Result<Vec<f64>> {
        let d = self.curve.dim();
        let fine = self.curve.sample(self.oversampling);
        let mut grad = vec![0.0; fine.len()];
        metric.polyline(&fine, Some(&mut grad))?;
        // The endpoint also moves the fine points of its piece: sum them back onto the nodes.
        let grad = coarsen_gradient(&grad, d, self.oversampling);
        let (at, de) = if start {
            (self.curve.start(), &grad[..d])
        } else {
            (self.curve.end(), &grad[grad.len() - d..])
        };
        let mut g = vec![0.0; d * d];
        metric.tensor(at, &mut g)?;
        let chol = DMatrix::from_row_slice(d, d, &g)
            .cholesky()
            .ok_or_else(|| {
                Error::degenerate(
                    "log map",
                    format!(
                        "the metric tensor at {at:?} is singular (a degenerate decoder Jacobian?)"
                    ),
                )
            })?;
        let v = chol.solve(&DVector::from_iterator(d, de.iter().map(|x| -0.5 * x)));
        Ok(v.iter().copied().collect())
    }
}

/// The geodesic from `from` to `to`; see the [module docs](self).
///
/// # Errors
/// Wrong lengths, non-finite or coincident endpoints, invalid options, the metric's errors
/// (points outside its domain, non-finite values) and optimiser failures.
pub fn geodesic<M: Metric + ?Sized>(
    metric: &M,
    from: &[f64],
    to: &[f64],
    options: &GeodesicOptions,
) -> Result<Geodesic> {
    validate::len("geodesic start", metric.dim(), from.len())?;
    validate::len("geodesic end", metric.dim(), to.len())?;
    validate::finite("geodesic start", from)?;
    validate::finite("geodesic end", to)?;
    if from == to {
        return Err(Error::degenerate(
            "geodesic",
            "the endpoints coincide (the distance is 0 and there is no curve to solve for)",
        ));
    }
    options.validate()?;
    let first = if options.coarse_to_fine {
        options.levels.min(1)
    } else {
        options.levels
    };
    solve(metric, FaberSchauder::line(from, to, first)?, options)
}

/// The geodesic between the endpoints of `initial`, starting from `initial` (a warm start:
/// a nearby geodesic, or a guess) and refined to `options.levels` if it has fewer levels.
///
/// # Errors
/// As [`geodesic`]; a curve of another dimension than the metric's.
pub fn geodesic_from<M: Metric + ?Sized>(
    metric: &M,
    initial: FaberSchauder,
    options: &GeodesicOptions,
) -> Result<Geodesic> {
    validate::len("initial curve dimension", metric.dim(), initial.dim())?;
    if initial.start() == initial.end() {
        return Err(Error::degenerate("geodesic", "the endpoints coincide"));
    }
    options.validate()?;
    solve(metric, initial, options)
}

/// Geodesics between the rows of `from` and of `to` (row-major $n\times d$ each), in
/// parallel.
///
/// # Errors
/// Shapes that differ; the first error of any pair, as [`geodesic`].
pub fn geodesics<M: Metric + ?Sized>(
    metric: &M,
    from: &[f64],
    to: &[f64],
    options: &GeodesicOptions,
) -> Result<Vec<Geodesic>> {
    let d = metric.dim();
    let n = validate::rows("geodesic starts", from, d)?;
    validate::len("geodesic ends (row-major n * d)", n * d, to.len())?;
    from.par_chunks_exact(d)
        .zip(to.par_chunks_exact(d))
        .map(|(a, b)| geodesic(metric, a, b, options))
        .collect()
}

/// The geodesic from `x` to `c`, warm-started from `warm` (a curve between nearby points)
/// when given; `None` when the points coincide (distance 0, log map 0).
pub(crate) fn towards<M: Metric + ?Sized>(
    metric: &M,
    x: &[f64],
    c: &[f64],
    warm: Option<&FaberSchauder>,
    options: &GeodesicOptions,
) -> Result<Option<Geodesic>> {
    if x == c {
        return Ok(None);
    }
    match warm {
        Some(curve) if curve.levels() == options.levels => {
            geodesic_from(metric, curve.with_endpoints(x, c)?, options).map(Some)
        }
        _ => geodesic(metric, x, c, options).map(Some),
    }
}

fn solve<M: Metric + ?Sized>(
    metric: &M,
    mut curve: FaberSchauder,
    options: &GeodesicOptions,
) -> Result<Geodesic> {
    let mut s = options.oversampling;
    let (mut iterations, mut evaluations, mut converged) = (0, 0, true);
    let mut minimise = |curve: &mut FaberSchauder, s: usize| -> Result<()> {
        let run = minimise(metric, curve, s, options)?;
        iterations += run.iterations;
        evaluations += run.evaluations;
        converged &= run.converged;
        Ok(())
    };
    minimise(&mut curve, s)?;
    while curve.levels() < options.levels {
        curve = curve.refined()?;
        minimise(&mut curve, s)?;
    }
    let mut refinements = 0;
    loop {
        let coarse = metric.polyline(&curve.sample(s), None)?;
        let fine = metric.polyline(&curve.sample(4 * s), None)?;
        let change = (fine.length - coarse.length).abs() / coarse.length.max(f64::MIN_POSITIVE);
        let within = change <= options.tunnelling_tolerance;
        if within || refinements == options.max_refinements {
            return Ok(Geodesic {
                curve,
                length: coarse.length,
                energy: coarse.energy,
                iterations,
                evaluations,
                converged,
                oversampling: s,
                tunnelling: Tunnelling {
                    fine_length: fine.length,
                    relative_change: change,
                    refinements,
                    suspected: !within,
                },
            });
        }
        s *= 4;
        refinements += 1;
        minimise(&mut curve, s)?;
    }
}

/// How one L-BFGS run ended.
struct Run {
    iterations: u64,
    evaluations: usize,
    converged: bool,
}

/// Minimises the energy of `curve` (in place) on the grid `s` times finer than its pieces.
fn minimise<M: Metric + ?Sized>(
    metric: &M,
    curve: &mut FaberSchauder,
    s: usize,
    options: &GeodesicOptions,
) -> Result<Run> {
    if curve.coefficients().is_empty() {
        return Ok(Run {
            iterations: 0,
            evaluations: 0,
            converged: true,
        });
    }
    let straight = FaberSchauder::line(curve.start(), curve.end(), 0)?;
    let reference = metric
        .polyline(&straight.sample(s << curve.levels()), None)?
        .energy;
    let d = curve.dim();
    let start: Vec<f64> = match options.basis {
        Basis::FaberSchauder => curve.coefficients().to_vec(),
        Basis::Nodal => {
            let nodes = curve.nodes();
            nodes[d..nodes.len() - d].to_vec()
        }
    };
    let objective = Energy {
        metric,
        basis: options.basis,
        template: curve.clone(),
        oversampling: s,
        scale: if reference > 0.0 {
            1.0 / reference
        } else {
            1.0
        },
        cache: Mutex::new(None),
        evaluations: Mutex::new(0),
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(options.gradient_tolerance)
        .and_then(|l| l.with_tolerance_cost(1e-15))
        .map_err(|e| Error::invalid_parameter("gradient_tolerance", e))?;
    let result = Executor::new(&objective, solver)
        .configure(|state| state.param(start).max_iters(options.max_iterations))
        .run()
        .map_err(|e| match e.downcast::<Error>() {
            Ok(ours) => ours,
            Err(other) => Error::degenerate("geodesic (L-BFGS)", other),
        })?;
    let state = result.state();
    let best = state
        .get_best_param()
        .ok_or_else(|| Error::degenerate("geodesic", "the optimiser returned no curve"))?;
    *curve = objective.curve(best)?;
    Ok(Run {
        iterations: state.get_iter(),
        evaluations: objective.evaluations.lock().map(|n| *n).unwrap_or(0),
        converged: !matches!(
            state.get_termination_status(),
            TerminationStatus::Terminated(TerminationReason::MaxItersReached)
        ),
    })
}

/// Coefficients, the energy there and its gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// The scaled discrete energy of a curve as a function of its coefficients.
struct Energy<'a, M: ?Sized> {
    metric: &'a M,
    basis: Basis,
    template: FaberSchauder,
    oversampling: usize,
    scale: f64,
    /// argmin asks for the cost and the gradient at the same point separately.
    cache: Mutex<Option<Evaluation>>,
    evaluations: Mutex<usize>,
}

impl<M: Metric + ?Sized> Energy<'_, M> {
    /// The curve with parameters `p`.
    fn curve(&self, p: &[f64]) -> Result<FaberSchauder> {
        match self.basis {
            Basis::FaberSchauder => {
                let mut curve = self.template.clone();
                curve.coefficients_mut().copy_from_slice(p);
                Ok(curve)
            }
            Basis::Nodal => {
                let t = &self.template;
                let nodes: Vec<f64> = t.start().iter().chain(p).chain(t.end()).copied().collect();
                FaberSchauder::from_nodes(&nodes, t.dim())
            }
        }
    }

    fn evaluate(&self, p: &[f64]) -> Result<(f64, Vec<f64>)> {
        if let Ok(cache) = self.cache.lock()
            && let Some((c, v, g)) = cache.as_ref()
            && c.as_slice() == p
        {
            return Ok((*v, g.clone()));
        }
        let curve = self.curve(p)?;
        let fine = curve.sample(self.oversampling);
        let mut grad = vec![0.0; fine.len()];
        let energy = self.metric.polyline(&fine, Some(&mut grad))?.energy * self.scale;
        let d = curve.dim();
        let node_grad = coarsen_gradient(&grad, d, self.oversampling);
        let g: Vec<f64> = match self.basis {
            Basis::FaberSchauder => curve.coefficient_gradient(&node_grad),
            Basis::Nodal => node_grad[d..node_grad.len() - d].to_vec(),
        }
        .iter()
        .map(|v| v * self.scale)
        .collect();
        if let Ok(mut n) = self.evaluations.lock() {
            *n += 1;
        }
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((p.to_vec(), energy, g.clone()));
        }
        Ok((energy, g))
    }
}

impl<M: Metric + ?Sized> CostFunction for &Energy<'_, M> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, c: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.evaluate(c)?.0)
    }
}

impl<M: Metric + ?Sized> Gradient for &Energy<'_, M> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, c: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.evaluate(c)?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Euclidean, Hyperbolic, Sphere};

    #[test]
    fn euclidean_geodesics_are_straight_at_constant_speed() {
        let e = Euclidean::new(3).unwrap();
        let g = geodesic(
            &e,
            &[0.0, 1.0, 2.0],
            &[3.0, -3.0, 2.0],
            &GeodesicOptions::default(),
        )
        .unwrap();
        assert!((g.length - 5.0).abs() < 1e-12);
        assert!((g.energy - 25.0).abs() < 1e-10);
        assert!(g.curve.coefficients().iter().all(|c| c.abs() < 1e-12));
        let v = g.log_map(&e).unwrap();
        assert!((v[0] - 3.0).abs() < 1e-10 && (v[1] + 4.0).abs() < 1e-10 && v[2].abs() < 1e-10);
    }

    #[test]
    fn hyperbolic_error_falls_with_the_levels() {
        let (a, b) = ([-3.0, 1.0], [3.0, 1.0]);
        let exact = Hyperbolic::distance(&a, &b).unwrap();
        let mut last = f64::INFINITY;
        for levels in 2..=6 {
            let options = GeodesicOptions {
                levels,
                ..GeodesicOptions::default()
            };
            let g = geodesic(&Hyperbolic, &a, &b, &options).unwrap();
            let err = (g.length / exact - 1.0).abs();
            assert!(err < last, "J = {levels}: {err} after {last}");
            assert!(g.converged && !g.tunnelling.suspected);
            if levels == 5 {
                assert!(err < 3e-4, "{err}");
            }
            last = err;
        }
    }

    #[test]
    fn nodal_parameters_reach_the_same_curve_in_more_iterations() {
        let (a, b) = ([-3.0, 1.0], [3.0, 1.0]);
        let fs = GeodesicOptions {
            levels: 6,
            coarse_to_fine: false,
            ..GeodesicOptions::default()
        };
        let nodal = GeodesicOptions {
            basis: Basis::Nodal,
            max_iterations: 5000,
            ..fs.clone()
        };
        let (g, h) = (
            geodesic(&Hyperbolic, &a, &b, &fs).unwrap(),
            geodesic(&Hyperbolic, &a, &b, &nodal).unwrap(),
        );
        assert!(
            (g.length / h.length - 1.0).abs() < 1e-6,
            "{} vs {}",
            g.length,
            h.length
        );
        assert!(
            h.iterations > 2 * g.iterations,
            "{} vs {}",
            h.iterations,
            g.iterations
        );
    }

    #[test]
    fn log_map_of_the_half_plane_is_the_circle_tangent() {
        // The geodesic from (-3, 1) to (3, 1) is the circle of radius sqrt(10) about the
        // origin: its tangent at (-3, 1) is along (1, 3), of metric norm the distance.
        let (a, b) = ([-3.0, 1.0], [3.0, 1.0]);
        let g = geodesic(&Hyperbolic, &a, &b, &GeodesicOptions::default()).unwrap();
        let v = g.log_map(&Hyperbolic).unwrap();
        let exact = Hyperbolic::distance(&a, &b).unwrap();
        let direction = [1.0 / 10f64.sqrt(), 3.0 / 10f64.sqrt()];
        let cos = (v[0] * direction[0] + v[1] * direction[1]) / v[0].hypot(v[1]);
        assert!(cos > 1.0 - 1e-4, "{cos}");
        // G(a) = I; the norm error is second order: 1.9e-3 at J = 5, a quarter per level.
        assert!(
            (v[0].hypot(v[1]) - exact).abs() < 3e-3 * exact,
            "{v:?} {exact}"
        );
        let w = g.log_map_end(&Hyperbolic).unwrap();
        assert!((w[0] + v[0]).abs() < 1e-3 && (w[1] - v[1]).abs() < 1e-3); // mirror image
    }

    #[test]
    fn sphere_geodesics_are_great_circles_at_second_order() {
        let pairs = [
            ([0.0, 0.0], [1.0, 0.0]),
            ([0.5, -0.3], [-1.2, 2.0]),
            ([-2.0, 0.1], [0.3, 0.4]),
        ];
        for (p, q) in pairs {
            let exact = Sphere::distance(&p, &q).unwrap();
            let err = |levels| {
                let options = GeodesicOptions {
                    levels,
                    ..GeodesicOptions::default()
                };
                let g = geodesic(&Sphere, &p, &q, &options).unwrap();
                (g.length / exact - 1.0).abs()
            };
            let (e5, e6) = (err(5), err(6));
            // The polyline's excess length is O(h^2): a quarter per level.
            assert!(
                e6 < 3e-4 && (e5 / e6 - 4.0).abs() < 0.5,
                "{p:?} {q:?}: {e5} {e6}"
            );
        }
    }

    #[test]
    fn batched_geodesics_equal_single_ones_and_check_shapes() {
        let from = [-3.0, 1.0, 0.0, 0.5, 1.0, 2.0];
        let to = [3.0, 1.0, 0.5, 2.5, -1.0, 0.7];
        let o = GeodesicOptions::default();
        let batch = geodesics(&Hyperbolic, &from, &to, &o).unwrap();
        for (i, g) in batch.iter().enumerate() {
            let single = geodesic(
                &Hyperbolic,
                &from[2 * i..2 * i + 2],
                &to[2 * i..2 * i + 2],
                &o,
            )
            .unwrap();
            assert_eq!(g.length, single.length);
            let exact =
                Hyperbolic::distance(&from[2 * i..2 * i + 2], &to[2 * i..2 * i + 2]).unwrap();
            assert!((g.length / exact - 1.0).abs() < 1e-3);
        }
        assert!(geodesics(&Hyperbolic, &from, &to[..4], &o).is_err());
        assert!(geodesics(&Hyperbolic, &from[..5], &to[..4], &o).is_err());
    }

    #[test]
    fn bad_requests_are_refused() {
        let o = GeodesicOptions::default();
        assert!(geodesic(&Hyperbolic, &[1.0, 1.0], &[1.0, 1.0], &o).is_err());
        assert!(geodesic(&Hyperbolic, &[1.0, 1.0], &[1.0, -1.0], &o).is_err());
        assert!(geodesic(&Hyperbolic, &[1.0, 1.0], &[1.0], &o).is_err());
        assert!(geodesic(&Hyperbolic, &[f64::NAN, 1.0], &[1.0, 2.0], &o).is_err());
        let zero = GeodesicOptions {
            oversampling: 0,
            ..o.clone()
        };
        assert!(geodesic(&Hyperbolic, &[0.0, 1.0], &[1.0, 2.0], &zero).is_err());
        let huge = GeodesicOptions { levels: 20, ..o };
        assert!(geodesic(&Hyperbolic, &[0.0, 1.0], &[1.0, 2.0], &huge).is_err());
    }
}
