//! Maximisation of a log-likelihood by argmin's L-BFGS, shared by the stationary and the
//! non-stationary fits: a one-point cache (argmin asks for the cost and the gradient at the
//! same point separately), scaling by the number of observations, and standard errors from
//! central differences of the analytic gradient.

use std::sync::Mutex;

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nalgebra::DMatrix;
use uqforge_core::{Error, Result};

/// A function returning a log-likelihood (or penalised one) and its gradient.
pub(crate) type LogLikelihood<'a> = &'a dyn Fn(&[f64]) -> Result<(f64, Vec<f64>)>;

/// The last point evaluated, its value and gradient.
type Cached = Option<(Vec<f64>, f64, Vec<f64>)>;

/// The objective as argmin sees it: minus the log-likelihood divided by `scale`.
pub(crate) struct Objective<'a> {
    f: LogLikelihood<'a>,
    cache: Mutex<Cached>,
    evaluations: Mutex<usize>,
    /// The number of observations: the optimiser sees the mean log-likelihood per
    /// observation, whose gradient is of order one, so that L-BFGS's first (unit) step stays
    /// in range.
    scale: f64,
}

/// How a maximisation ended.
pub(crate) struct Outcome {
    pub(crate) theta: Vec<f64>,
    pub(crate) iterations: u64,
    pub(crate) converged: bool,
    pub(crate) termination: String,
    pub(crate) evaluations: usize,
}

impl<'a> Objective<'a> {
    pub(crate) fn new(f: LogLikelihood<'a>, scale: f64) -> Self {
        Self {
            f,
            cache: Mutex::new(None),
            evaluations: Mutex::new(0),
            scale,
        }
    }

    /// The log-likelihood and its gradient at `theta` (cached for the last point).
    pub(crate) fn value_gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        if let Ok(cache) = self.cache.lock()
            && let Some((t, v, g)) = cache.as_ref()
            && t.as_slice() == theta
        {
            return Ok((*v, g.clone()));
        }
        if let Some(bad) = theta.iter().find(|v| !v.is_finite() || v.abs() > 700.0) {
            return Err(Error::degenerate(
                "maximum likelihood",
                format!("the optimiser left the representable range (parameter {bad})"),
            ));
        }
        let (v, g) = (self.f)(theta)?;
        if let Ok(mut n) = self.evaluations.lock() {
            *n += 1;
        }
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((theta.to_vec(), v, g.clone()));
        }
        Ok((v, g))
    }

    /// Maximise from `start`.
    pub(crate) fn maximise(
        &self,
        start: Vec<f64>,
        max_iterations: u64,
        gradient_tolerance: f64,
    ) -> Result<Outcome> {
        uqforge_core::validate::positive("gradient_tolerance", gradient_tolerance)?;
        uqforge_core::validate::at_least("max_iterations", max_iterations as usize, 1)?;
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
            .with_tolerance_grad(gradient_tolerance)
            .and_then(|s| s.with_tolerance_cost(1e-12))
            .map_err(|e| Error::invalid_parameter("gradient_tolerance", e))?;
        let result = Executor::new(Argmin(self), solver)
            .configure(|state| state.param(start).max_iters(max_iterations))
            .run()
            .map_err(from_argmin)?;
        let state = result.state();
        let theta = state.get_best_param().cloned().ok_or_else(|| {
            Error::degenerate("maximum likelihood", "the optimiser returned no parameters")
        })?;
        let reason = state.get_termination_status().clone();
        Ok(Outcome {
            theta,
            iterations: state.get_iter(),
            converged: matches!(
                reason,
                TerminationStatus::Terminated(TerminationReason::SolverConverged)
            ),
            termination: format!("{reason}"),
            evaluations: self.evaluations.lock().map(|n| *n).unwrap_or(0),
        })
    }

    /// The inverse of the observed information $-\nabla^2\ell$ at `theta`, from central
    /// differences (step $10^{-4}$) of the analytic gradient; `None` when the information is
    /// not positive definite.
    pub(crate) fn inverse_information(&self, theta: &[f64]) -> Result<Option<DMatrix<f64>>> {
        let k = theta.len();
        let h = 1e-4;
        let mut hess = DMatrix::zeros(k, k);
        for c in 0..k {
            let (mut up, mut down) = (theta.to_vec(), theta.to_vec());
            up[c] += h;
            down[c] -= h;
            let gu = self.value_gradient(&up)?.1;
            let gd = self.value_gradient(&down)?.1;
            for r in 0..k {
                hess[(r, c)] = -(gu[r] - gd[r]) / (2.0 * h);
            }
        }
        let info = 0.5 * (&hess + hess.transpose());
        Ok(info.cholesky().map(|c| c.inverse()))
    }
}

fn from_argmin(e: argmin::core::Error) -> Error {
    match e.downcast::<Error>() {
        Ok(ours) => ours,
        Err(other) => Error::degenerate("maximum likelihood (L-BFGS)", other),
    }
}

/// What argmin owns: a reference, so that the cache outlives the run.
struct Argmin<'a>(&'a Objective<'a>);

impl CostFunction for Argmin<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, theta: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(-self.0.value_gradient(theta)?.0 / self.0.scale)
    }
}

impl Gradient for Argmin<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, theta: &Self::Param) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        let g = self.0.value_gradient(theta)?.1;
        Ok(g.iter().map(|v| -v / self.0.scale).collect())
    }
}
