//! The PINN loss: weighted mean squared residuals of PDE, initial/boundary conditions and data.
//!
//! $$
//! \mathcal{L}(\theta, \lambda) = \sum_{t} w_t \frac{1}{N_t} \sum_{b=1}^{N_t} \sum_{e}
//! r_{t,e}\big(x_b, u_\theta(x_b), \partial u_\theta(x_b), \partial^2 u_\theta(x_b); \lambda\big)^2
//! $$
//! over terms $t$ (the PDE at collocation points, the initial condition, the boundary, data),
//! each with its points $x_b$, its weight $w_t$ and a residual $r_t$ with $e$ equations that
//! depends on the jets of the network ([`crate::jets`]) and on unknown PDE coefficients
//! $\lambda$. A [`Residual`] returns its value and its partial derivatives with respect to the
//! jets and to $\lambda$; the chain rule through the jets' reverse pass then gives
//! $\nabla_\theta\mathcal{L}$, and $\nabla_\lambda\mathcal{L}$ directly:
//! $$
//! \bar u_{c}(x_b) = \frac{2 w_t}{N_t} \sum_e r_{t,e} \frac{\partial r_{t,e}}{\partial u_c},\qquad
//! \frac{\partial\mathcal{L}}{\partial\lambda_j} = \sum_t \frac{2 w_t}{N_t}\sum_{b,e} r_{t,e}
//! \frac{\partial r_{t,e}}{\partial\lambda_j}.
//! $$
//!
//! **Unknown coefficients** are optimised as $\eta = \log\lambda$ when declared positive
//! (diffusivities, rates, which span decades: a step in $\eta$ is a relative change), as
//! $\eta = \lambda$ otherwise.
//!
//! **Evaluation** splits every term into chunks of [`CHUNK`] points, each with its own
//! [`JetTape`], evaluated in parallel (rayon) and summed in a fixed order: the result does not
//! depend on the number of threads. Buffers live in a [`Workspace`], so repeated evaluations
//! (training) allocate nothing.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_pinn::{Activation, Mlp, loss::{Problem, Term}};
//! let net = Mlp::new(&[1, 8, 1], Activation::Tanh, 1)?;
//! // Fit u(x) = x^2 at three points: a data term only.
//! let x = DMatrix::from_row_slice(3, 1, &[-1.0, 0.0, 1.0]);
//! let y = x.map(|v| v * v);
//! let problem = Problem::new(vec![Term::data("data", x, y)?], vec![])?;
//! let mut ws = problem.workspace(&net)?;
//! let mut grad = vec![0.0; net.n_params()];
//! let loss = problem.evaluate(&net, &[], &mut ws, Some((&mut grad, &mut [])))?;
//! assert!(loss.total > 0.0 && loss.terms.len() == 1);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::sync::Arc;

use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Model, Result, validate};

use crate::jets::{JetSpec, JetTape};
use crate::mlp::Mlp;
use crate::residual::{DataFit, Partials, Point, Residual};

/// Points per chunk of a parallel evaluation.
pub const CHUNK: usize = 512;

/// One term of the loss.
#[derive(Clone)]
pub struct Term {
    name: String,
    points: DMatrix<f64>,
    targets: DMatrix<f64>,
    residual: Arc<dyn Residual>,
    equations: usize,
    weight: f64,
}

impl std::fmt::Debug for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Term")
            .field("name", &self.name)
            .field("points", &self.points.nrows())
            .field("weight", &self.weight)
            .finish_non_exhaustive()
    }
}

impl Term {
    /// A term with `points` (rows) and a residual, weight 1, no targets.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no points, [`Error::NonFinite`] for non-finite coordinates.
    pub fn new(
        name: impl Into<String>,
        points: DMatrix<f64>,
        residual: impl Residual + 'static,
    ) -> Result<Self> {
        let name = name.into();
        if points.nrows() == 0 || points.ncols() == 0 {
            return Err(Error::EmptyInput {
                what: format!("points of loss term `{name}`"),
            });
        }
        validate::finite(&format!("points of loss term `{name}`"), points.as_slice())?;
        let equations = residual.equations();
        Ok(Self {
            targets: DMatrix::zeros(points.nrows(), 0),
            name,
            points,
            residual: Arc::new(residual),
            equations,
            weight: 1.0,
        })
    }

    /// A data term $u(x_b) \approx y_b$: `values` has one row per point, one column per output.
    ///
    /// # Errors
    /// As [`Term::new`] and [`Term::with_targets`].
    pub fn data(
        name: impl Into<String>,
        points: DMatrix<f64>,
        values: DMatrix<f64>,
    ) -> Result<Self> {
        let outputs = values.ncols();
        Self::new(name, points, DataFit { outputs })?.with_targets(values)
    }

    /// Per-point target values read by the residual ([`Point::target`]).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the rows differ from the points',
    /// [`Error::NonFinite`] for non-finite targets.
    pub fn with_targets(mut self, targets: DMatrix<f64>) -> Result<Self> {
        validate::len(
            &format!("target rows of loss term `{}`", self.name),
            self.points.nrows(),
            targets.nrows(),
        )?;
        validate::finite(
            &format!("targets of loss term `{}`", self.name),
            targets.as_slice(),
        )?;
        self.targets = targets;
        Ok(self)
    }

    /// The term's weight $w_t$.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the weight is finite and positive.
    pub fn with_weight(mut self, weight: f64) -> Result<Self> {
        validate::positive("loss term weight", weight)?;
        self.weight = weight;
        Ok(self)
    }

    /// The term's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The term's points.
    pub fn points(&self) -> &DMatrix<f64> {
        &self.points
    }

    /// The term's targets (one row per point; no columns for terms without targets).
    pub fn targets(&self) -> &DMatrix<f64> {
        &self.targets
    }

    /// The term's weight.
    pub fn weight(&self) -> f64 {
        self.weight
    }
}

/// An unknown PDE coefficient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unknown {
    /// The name reported in results.
    pub name: String,
    /// The starting value (natural scale).
    pub initial: f64,
    /// Optimise $\log\lambda$ (the coefficient stays positive) instead of $\lambda$.
    pub positive: bool,
}

impl Unknown {
    /// $\eta$ for a natural value $\lambda$.
    pub fn to_internal(&self, value: f64) -> f64 {
        if self.positive { value.ln() } else { value }
    }

    /// $\lambda$ for an internal value $\eta$.
    pub fn to_natural(&self, eta: f64) -> f64 {
        if self.positive { eta.exp() } else { eta }
    }
}

/// The result of [`Problem::gradient_check`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientCheck {
    /// The largest difference between an analytic partial derivative and its central
    /// difference.
    pub worst: f64,
    /// The largest analytic partial derivative in absolute value.
    pub scale: f64,
}

/// The loss at one point of the parameter space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossValue {
    /// $\mathcal{L}$.
    pub total: f64,
    /// Each term's mean squared residual (unweighted), in the order of the terms.
    pub terms: Vec<f64>,
}

/// A PINN problem: loss terms and unknown coefficients.
#[derive(Clone, Debug)]
pub struct Problem {
    terms: Vec<Term>,
    unknowns: Vec<Unknown>,
}

impl Problem {
    /// The problem with `terms` and `unknowns`.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no terms, [`Error::InvalidParameter`] for an unknown whose
    /// start is not finite (or not positive when declared positive), or terms whose points have
    /// different dimensions.
    pub fn new(terms: Vec<Term>, unknowns: Vec<Unknown>) -> Result<Self> {
        if terms.is_empty() {
            return Err(Error::EmptyInput {
                what: "loss terms".into(),
            });
        }
        let dim = terms[0].points.ncols();
        if let Some(t) = terms.iter().find(|t| t.points.ncols() != dim) {
            return Err(Error::DimensionMismatch {
                what: format!("coordinates of loss term `{}`", t.name),
                expected: dim,
                found: t.points.ncols(),
            });
        }
        for u in &unknowns {
            if !u.initial.is_finite() || (u.positive && u.initial <= 0.0) {
                return Err(Error::invalid_parameter(
                    &u.name,
                    format!(
                        "the starting value must be finite{}, got {}",
                        if u.positive { " and positive" } else { "" },
                        u.initial
                    ),
                ));
            }
        }
        Ok(Self { terms, unknowns })
    }

    /// The terms.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The unknown coefficients.
    pub fn unknowns(&self) -> &[Unknown] {
        &self.unknowns
    }

    /// The same problem with the unknowns starting at `values` (natural scale): to continue
    /// training from estimates.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for one value per unknown missing,
    /// [`Error::InvalidParameter`] for a non-finite value, or a non-positive one for a positive
    /// unknown.
    pub fn with_unknowns_at(&self, values: &[f64]) -> Result<Problem> {
        validate::len("unknown coefficients", self.unknowns.len(), values.len())?;
        let mut unknowns = self.unknowns.clone();
        for (u, &v) in unknowns.iter_mut().zip(values) {
            u.initial = v;
        }
        Problem::new(self.terms.clone(), unknowns)
    }

    /// The internal starting values $\eta_0$ of the unknowns.
    pub fn initial_internal(&self) -> Vec<f64> {
        self.unknowns
            .iter()
            .map(|u| u.to_internal(u.initial))
            .collect()
    }

    /// Buffers for evaluating the loss of `net`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the points do not have the network's input dimension,
    /// or a residual's spec cannot be built for it.
    pub fn workspace(&self, net: &Mlp) -> Result<Workspace> {
        let n = net.input_dim();
        let mut chunks = Vec::new();
        for (t, term) in self.terms.iter().enumerate() {
            validate::len(
                &format!("coordinates of loss term `{}`", term.name),
                n,
                term.points.ncols(),
            )?;
            let spec = term.residual.spec(n, net.output_dim())?;
            let rows = term.points.nrows();
            let parts = spec.parts();
            let k = net.output_dim();
            let (e, c) = (term.equations, self.unknowns.len());
            for start in (0..rows).step_by(CHUNK) {
                let len = CHUNK.min(rows - start);
                chunks.push(Chunk {
                    term: t,
                    points: term.points.rows(start, len).into_owned(),
                    targets: term.targets.rows(start, len).into_owned(),
                    tape: JetTape::new(net, spec.clone()),
                    spec: spec.clone(),
                    gradient: vec![0.0; net.n_params()],
                    coefficient_gradient: vec![0.0; c],
                    sum_squares: 0.0,
                    jets: vec![0.0; k * parts],
                    residual: vec![0.0; e],
                    d_jets: vec![0.0; e * k * parts],
                    d_coefficients: vec![0.0; e * c],
                    x: vec![0.0; n],
                    target: vec![0.0; term.targets.ncols()],
                    per_point: Vec::new(),
                });
            }
        }
        Ok(Workspace {
            chunks,
            sizes: net.sizes().to_vec(),
        })
    }

    /// The terms' weights $w_t$, in order.
    pub fn weights(&self) -> Vec<f64> {
        self.terms.iter().map(|t| t.weight).collect()
    }

    /// The loss at $(\theta, \eta)$, and its gradient when `gradient = Some((d_theta,
    /// d_eta))` (overwritten).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for wrongly sized `eta` or gradient buffers, or a workspace
    /// made for another network shape.
    pub fn evaluate(
        &self,
        net: &Mlp,
        eta: &[f64],
        ws: &mut Workspace,
        gradient: Option<(&mut [f64], &mut [f64])>,
    ) -> Result<LossValue> {
        self.evaluate_weighted(net, eta, &self.weights(), ws, gradient)
    }

    /// The analytic gradient at $(\theta, \eta)$ against central differences of the loss
    /// with step `h` in every network weight and every internal unknown: the check of a
    /// residual's hand-written partial derivatives ([`crate::residual`]).
    ///
    /// # Errors
    /// As [`Problem::evaluate`], and a step that is not positive.
    pub fn gradient_check(&self, net: &Mlp, eta: &[f64], h: f64) -> Result<GradientCheck> {
        validate::positive("finite-difference step", h)?;
        let mut ws = self.workspace(net)?;
        let (mut g_theta, mut g_eta) = (vec![0.0; net.n_params()], vec![0.0; eta.len()]);
        self.evaluate(net, eta, &mut ws, Some((&mut g_theta, &mut g_eta)))?;
        let mut value = |net: &Mlp, eta: &[f64]| -> Result<f64> {
            Ok(self.evaluate(net, eta, &mut ws, None)?.total)
        };
        let mut worst: f64 = 0.0;
        let mut shifted = net.clone();
        for p in 0..net.n_params() {
            let mut theta = net.params().to_vec();
            theta[p] += h;
            shifted.set_params(&theta)?;
            let up = value(&shifted, eta)?;
            theta[p] -= 2.0 * h;
            shifted.set_params(&theta)?;
            let down = value(&shifted, eta)?;
            worst = worst.max((g_theta[p] - (up - down) / (2.0 * h)).abs());
        }
        for j in 0..eta.len() {
            let (mut up, mut down) = (eta.to_vec(), eta.to_vec());
            up[j] += h;
            down[j] -= h;
            let fd = (value(net, &up)? - value(net, &down)?) / (2.0 * h);
            worst = worst.max((g_eta[j] - fd).abs());
        }
        let scale = g_theta
            .iter()
            .chain(&g_eta)
            .fold(0.0f64, |m, g| m.max(g.abs()));
        Ok(GradientCheck { worst, scale })
    }

    /// [`Problem::evaluate`] with the terms' weights replaced by `weights` (adaptive weights).
    ///
    /// # Errors
    /// As [`Problem::evaluate`], and [`Error::DimensionMismatch`] for one weight per term
    /// missing.
    pub fn evaluate_weighted(
        &self,
        net: &Mlp,
        eta: &[f64],
        weights: &[f64],
        ws: &mut Workspace,
        gradient: Option<(&mut [f64], &mut [f64])>,
    ) -> Result<LossValue> {
        let lambda = self.check(net, eta, ws)?;
        validate::len("loss term weights", self.terms.len(), weights.len())?;
        let want_gradient = gradient.is_some();
        ws.chunks.par_iter_mut().try_for_each(|chunk| {
            let term = &self.terms[chunk.term];
            chunk.run(
                net,
                term,
                weights[chunk.term],
                &lambda,
                want_gradient,
                false,
            )
        })?;
        let terms = self.mean_squares(ws);
        let total = terms.iter().zip(weights).map(|(v, w)| v * w).sum();
        if let Some((d_theta, d_eta)) = gradient {
            validate::len("network gradient", net.n_params(), d_theta.len())?;
            validate::len("coefficient gradient", eta.len(), d_eta.len())?;
            d_theta.fill(0.0);
            d_eta.fill(0.0);
            for chunk in &ws.chunks {
                for (g, &v) in d_theta.iter_mut().zip(&chunk.gradient) {
                    *g += v;
                }
                for (g, &v) in d_eta.iter_mut().zip(&chunk.coefficient_gradient) {
                    *g += v;
                }
            }
            for ((g, u), &l) in d_eta.iter_mut().zip(&self.unknowns).zip(&lambda) {
                if u.positive {
                    *g *= l;
                }
            }
        }
        Ok(LossValue { total, terms })
    }

    /// The gradient in the network's weights of every term's unweighted mean squared residual,
    /// one vector per term (what adaptive loss weights compare).
    ///
    /// # Errors
    /// As [`Problem::evaluate`].
    pub fn term_gradients(
        &self,
        net: &Mlp,
        eta: &[f64],
        ws: &mut Workspace,
    ) -> Result<Vec<Vec<f64>>> {
        let lambda = self.check(net, eta, ws)?;
        ws.chunks.par_iter_mut().try_for_each(|chunk| {
            let term = &self.terms[chunk.term];
            chunk.run(net, term, 1.0, &lambda, true, false)
        })?;
        let mut out = vec![vec![0.0; net.n_params()]; self.terms.len()];
        for chunk in &ws.chunks {
            for (g, &v) in out[chunk.term].iter_mut().zip(&chunk.gradient) {
                *g += v;
            }
        }
        Ok(out)
    }

    /// The squared residual $\sum_e r_e^2$ of term `term` at each of `points` (rows), for
    /// residual-based refinement. Terms with targets (data) have no residual away from their
    /// points.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a term index out of range or a term with targets,
    /// and the errors of [`Term::new`] and [`Problem::evaluate`].
    pub fn pointwise_residuals(
        &self,
        net: &Mlp,
        eta: &[f64],
        term: usize,
        points: DMatrix<f64>,
    ) -> Result<Vec<f64>> {
        let source = self.terms.get(term).ok_or_else(|| {
            Error::invalid_parameter(
                "term",
                format!("index {term} beyond the {} terms", self.terms.len()),
            )
        })?;
        if source.targets.ncols() > 0 {
            return Err(Error::invalid_parameter(
                "term",
                format!(
                    "`{}` has targets, so no residual at new points",
                    source.name
                ),
            ));
        }
        let probe = Problem {
            terms: vec![
                Term {
                    points,
                    weight: 1.0,
                    ..source.clone()
                }
                .with_targets_unchecked(),
            ],
            unknowns: self.unknowns.clone(),
        };
        let mut ws = probe.workspace(net)?;
        let lambda = probe.check(net, eta, &ws)?;
        ws.chunks.par_iter_mut().try_for_each(|chunk| {
            let term = &probe.terms[chunk.term];
            chunk.run(net, term, 1.0, &lambda, false, true)
        })?;
        Ok(ws
            .chunks
            .iter()
            .flat_map(|c| c.per_point.iter().copied())
            .collect())
    }

    /// The same problem with `points` (rows) appended to term `term` (which must have no
    /// targets).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a term index out of range or a term with targets,
    /// [`Error::DimensionMismatch`] or [`Error::NonFinite`] for bad points.
    pub fn with_points_added(&self, term: usize, points: &DMatrix<f64>) -> Result<Problem> {
        let mut out = self.clone();
        let t = out.terms.get_mut(term).ok_or_else(|| {
            Error::invalid_parameter("term", format!("index {term} out of range"))
        })?;
        if t.targets.ncols() > 0 {
            return Err(Error::invalid_parameter(
                "term",
                format!("`{}` has targets", t.name),
            ));
        }
        validate::len(
            "columns of the added points",
            t.points.ncols(),
            points.ncols(),
        )?;
        validate::finite("added points", points.as_slice())?;
        let (old, new) = (t.points.nrows(), points.nrows());
        let mut joined = DMatrix::zeros(old + new, t.points.ncols());
        joined.rows_mut(0, old).copy_from(&t.points);
        joined.rows_mut(old, new).copy_from(points);
        t.points = joined;
        t.targets = DMatrix::zeros(old + new, 0);
        Ok(out)
    }

    fn check(&self, net: &Mlp, eta: &[f64], ws: &Workspace) -> Result<Vec<f64>> {
        validate::len("unknown coefficients", self.unknowns.len(), eta.len())?;
        if ws.sizes != net.sizes() {
            return Err(Error::invalid_parameter(
                "workspace",
                "was built for another network",
            ));
        }
        Ok(self
            .unknowns
            .iter()
            .zip(eta)
            .map(|(u, &e)| u.to_natural(e))
            .collect())
    }

    fn mean_squares(&self, ws: &Workspace) -> Vec<f64> {
        let mut terms = vec![0.0; self.terms.len()];
        for chunk in &ws.chunks {
            terms[chunk.term] += chunk.sum_squares;
        }
        for (value, term) in terms.iter_mut().zip(&self.terms) {
            *value /= term.points.nrows() as f64;
        }
        terms
    }
}

impl Term {
    /// Resets the targets to none, keeping the rows in step with the points.
    fn with_targets_unchecked(mut self) -> Self {
        self.targets = DMatrix::zeros(self.points.nrows(), 0);
        self
    }
}

/// Reusable buffers of [`Problem::evaluate`].
#[derive(Clone, Debug)]
pub struct Workspace {
    chunks: Vec<Chunk>,
    sizes: Vec<usize>,
}

#[derive(Clone, Debug)]
struct Chunk {
    term: usize,
    points: DMatrix<f64>,
    targets: DMatrix<f64>,
    tape: JetTape,
    spec: JetSpec,
    gradient: Vec<f64>,
    coefficient_gradient: Vec<f64>,
    sum_squares: f64,
    jets: Vec<f64>,
    residual: Vec<f64>,
    d_jets: Vec<f64>,
    d_coefficients: Vec<f64>,
    x: Vec<f64>,
    target: Vec<f64>,
    per_point: Vec<f64>,
}

impl Chunk {
    fn run(
        &mut self,
        net: &Mlp,
        term: &Term,
        weight: f64,
        lambda: &[f64],
        want_gradient: bool,
        keep_per_point: bool,
    ) -> Result<()> {
        self.tape.forward(net, &self.points)?;
        let k = net.output_dim();
        let parts = self.spec.parts();
        let batch = self.points.nrows();
        let scale = 2.0 * weight / term.points.nrows() as f64;
        self.per_point.clear();
        self.sum_squares = 0.0;
        self.coefficient_gradient.fill(0.0);
        let (jets_out, adjoint) = self.tape.output_and_adjoint();
        for b in 0..batch {
            for o in 0..k {
                for c in 0..parts {
                    self.jets[o * parts + c] = jets_out[(o, c * batch + b)];
                }
            }
            for (i, x) in self.x.iter_mut().enumerate() {
                *x = self.points[(b, i)];
            }
            for (j, t) in self.target.iter_mut().enumerate() {
                *t = self.targets[(b, j)];
            }
            self.residual.fill(0.0);
            self.d_jets.fill(0.0);
            self.d_coefficients.fill(0.0);
            let at = Point {
                x: &self.x,
                target: &self.target,
                jets: &self.jets,
                spec: &self.spec,
            };
            let mut out = Partials {
                residual: &mut self.residual,
                d_jets: &mut self.d_jets,
                d_coefficients: &mut self.d_coefficients,
                spec: &self.spec,
                outputs: k,
            };
            term.residual.eval(&at, lambda, &mut out);
            let squares = self.residual.iter().map(|r| r * r).sum::<f64>();
            self.sum_squares += squares;
            if keep_per_point {
                self.per_point.push(squares);
            }
            if want_gradient {
                let per_eq = k * parts;
                for (e, &r) in self.residual.iter().enumerate() {
                    if r == 0.0 {
                        continue;
                    }
                    let d = &self.d_jets[e * per_eq..(e + 1) * per_eq];
                    for o in 0..k {
                        for c in 0..parts {
                            adjoint[(o, c * batch + b)] += scale * r * d[o * parts + c];
                        }
                    }
                    let nc = lambda.len();
                    for (g, &dc) in self
                        .coefficient_gradient
                        .iter_mut()
                        .zip(&self.d_coefficients[e * nc..(e + 1) * nc])
                    {
                        *g += scale * r * dc;
                    }
                }
            }
        }
        if want_gradient {
            self.gradient.fill(0.0);
            self.tape.backward(net, &mut self.gradient)?;
        }
        Ok(())
    }
}
