//! Residuals: what a loss term asks of the network at one point.
//!
//! A [`Residual`] reads the jets at a point ([`Point`]: value, first and second input
//! derivatives of every output, the point's coordinates and targets) and the natural values of
//! the unknown coefficients, and writes its equations' values and their partial derivatives
//! ([`Partials`]): with respect to every jet it reads and every coefficient. The loss
//! ([`crate::loss`]) turns those partials into the adjoints of the jets' reverse pass. Writing
//! the partials by hand is a few lines per PDE (see [`crate::burgers::BurgersResidual`]);
//! [`crate::dual::FormulaResidual`] derives them from a formula instead.

use uqforge_core::{Result, validate};

use crate::jets::JetSpec;

/// The jets of the network at one point, as a [`Residual`] sees them.
pub struct Point<'a> {
    /// The point's coordinates.
    pub x: &'a [f64],
    /// The term's target values at the point (empty for terms without targets).
    pub target: &'a [f64],
    pub(crate) jets: &'a [f64],
    pub(crate) spec: &'a JetSpec,
}

impl Point<'_> {
    /// The value of output `o`.
    #[inline]
    pub fn value(&self, o: usize) -> f64 {
        self.jets[o * self.spec.parts()]
    }

    /// Part `c` of output `o` (numbered as in [`JetSpec`]).
    #[inline]
    pub fn part(&self, o: usize, c: usize) -> f64 {
        self.jets[o * self.spec.parts() + c]
    }

    /// $\partial u_o / \partial x_i$ (the term's spec must carry first derivatives).
    #[inline]
    pub fn d(&self, o: usize, i: usize) -> f64 {
        self.jets[o * self.spec.parts() + self.spec.first(i)]
    }

    /// $\partial^2 u_o / \partial x_i \partial x_j$, or NaN if the term's spec does not carry
    /// it (the loss then reports a non-finite value).
    #[inline]
    pub fn d2(&self, o: usize, i: usize, j: usize) -> f64 {
        match self.spec.second(i, j) {
            Some(c) => self.jets[o * self.spec.parts() + c],
            None => f64::NAN,
        }
    }
}

/// Where a [`Residual`] writes its value and partial derivatives (zeroed before each point).
pub struct Partials<'a> {
    pub(crate) residual: &'a mut [f64],
    pub(crate) d_jets: &'a mut [f64],
    pub(crate) d_coefficients: &'a mut [f64],
    pub(crate) spec: &'a JetSpec,
    pub(crate) outputs: usize,
}

impl Partials<'_> {
    /// Sets the value of equation `e`.
    #[inline]
    pub fn residual(&mut self, e: usize, value: f64) {
        self.residual[e] = value;
    }

    /// $\partial r_e / \partial u_o$.
    #[inline]
    pub fn d_value(&mut self, e: usize, o: usize, d: f64) {
        self.d_jets[(e * self.outputs + o) * self.spec.parts()] += d;
    }

    /// $\partial r_e / \partial$ (part `c` of output `o`).
    #[inline]
    pub fn d_part(&mut self, e: usize, o: usize, c: usize, d: f64) {
        self.d_jets[(e * self.outputs + o) * self.spec.parts() + c] += d;
    }

    /// $\partial r_e / \partial(\partial u_o/\partial x_i)$.
    #[inline]
    pub fn d_first(&mut self, e: usize, o: usize, i: usize, d: f64) {
        let c = self.spec.first(i);
        self.d_jets[(e * self.outputs + o) * self.spec.parts() + c] += d;
    }

    /// $\partial r_e / \partial(\partial^2 u_o/\partial x_i\partial x_j)$; the pair must be in
    /// the term's spec (otherwise the contribution is dropped in release builds).
    #[inline]
    pub fn d_second(&mut self, e: usize, o: usize, i: usize, j: usize, d: f64) {
        debug_assert!(
            self.spec.second(i, j).is_some(),
            "pair ({i}, {j}) not in the spec"
        );
        if let Some(c) = self.spec.second(i, j) {
            self.d_jets[(e * self.outputs + o) * self.spec.parts() + c] += d;
        }
    }

    /// $\partial r_e / \partial\lambda_j$ (natural scale, not log).
    #[inline]
    pub fn d_coefficient(&mut self, e: usize, j: usize, d: f64) {
        let n = self.d_coefficients.len() / self.residual.len().max(1);
        self.d_coefficients[e * n + j] += d;
    }
}

/// A residual $r(x, u, \partial u, \partial^2 u; \lambda)$ with its partial derivatives.
pub trait Residual: Send + Sync {
    /// The number of equations per point (1 for a scalar PDE).
    fn equations(&self) -> usize {
        1
    }

    /// The jets the residual reads, for a network with `inputs` inputs and `outputs` outputs.
    ///
    /// # Errors
    /// [`uqforge_core::Error::DimensionMismatch`] (or another error) when the residual cannot be
    /// stated for such a network.
    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec>;

    /// Writes the residuals at `at` and their partial derivatives into `out`.
    fn eval(&self, at: &Point<'_>, coefficients: &[f64], out: &mut Partials<'_>);
}

/// $r_o = u_o - y_o$ for every output: data, Dirichlet and initial conditions.
#[derive(Clone, Copy, Debug)]
pub struct DataFit {
    /// The number of outputs (one equation each).
    pub outputs: usize,
}

impl Residual for DataFit {
    fn equations(&self) -> usize {
        self.outputs
    }

    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec> {
        validate::len("outputs of a data term", outputs, self.outputs)?;
        Ok(JetSpec::values(inputs))
    }

    fn eval(&self, at: &Point<'_>, _: &[f64], out: &mut Partials<'_>) {
        // One equation per output.
        for (o, &y) in at.target.iter().enumerate() {
            out.residual(o, at.value(o) - y);
            out.d_value(o, o, 1.0);
        }
    }
}

/// A coefficient of a residual: known, or unknown number `j` of the problem.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Coefficient {
    /// A fixed value.
    Known(f64),
    /// The problem's unknown number `j` (natural scale).
    Unknown(usize),
}

impl Coefficient {
    /// The value, reading the problem's unknowns `lambda` (natural scale) if unknown.
    #[inline]
    pub fn value(self, lambda: &[f64]) -> f64 {
        match self {
            Self::Known(v) => v,
            Self::Unknown(j) => lambda[j],
        }
    }
}

/// The spec of a scalar 1D space-time residual: inputs $(t, x)$, one output, $u$, $u_t$, $u_x$
/// and $u_{xx}$; `what` names the network in errors.
pub(crate) fn space_time_1d_spec(what: &str, inputs: usize, outputs: usize) -> Result<JetSpec> {
    validate::len(&format!("inputs of {what} (t, x)"), 2, inputs)?;
    validate::len(&format!("outputs of {what} (u)"), 1, outputs)?;
    JetSpec::second_order(2, &[[1, 1]])
}
