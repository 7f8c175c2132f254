//! A small forward-mode dual number, so that a residual can be written once, as a formula, and
//! its partial derivatives come for free.
//!
//! A [`Dual<N>`] carries a value and its gradient with respect to $N$ seeds. A residual
//! written as a function of dual jets and coefficients (the seeds) returns its value and every
//! partial derivative a [`Residual`] must report; [`FormulaResidual`] does that wiring.
//!
//! ```
//! use uqforge_pinn::dual::{Dual, FormulaResidual};
//! use uqforge_pinn::JetSpec;
//! // Burgers, r = u_t + l1 u u_x - l2 u_xx, jets (u, u_t, u_x, u_xx), unknowns (l1, l2):
//! // 4 jets + 2 coefficients = 6 seeds.
//! let burgers = FormulaResidual::<6, _>::new(
//!     JetSpec::second_order(2, &[[1, 1]])?,
//!     2,
//!     |_x: &[f64], u: &[Dual<6>], c: &[Dual<6>]| u[1] + c[0] * u[0] * u[2] - c[1] * u[3],
//! )?;
//! # let _ = burgers;
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::ops::{Add, Div, Mul, Neg, Sub};

use uqforge_core::{Error, Result, validate};

use crate::jets::JetSpec;
use crate::residual::{Partials, Point, Residual};

/// A value and its gradient with respect to `N` seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dual<const N: usize> {
    /// The value.
    pub value: f64,
    /// $\partial/\partial s_i$ of the value for each seed $s_i$.
    pub grad: [f64; N],
}

impl<const N: usize> Dual<N> {
    /// A constant (zero gradient).
    pub fn constant(value: f64) -> Self {
        Self {
            value,
            grad: [0.0; N],
        }
    }

    /// Seed number `i` with value `value` (gradient $e_i$).
    pub fn seed(value: f64, i: usize) -> Self {
        let mut grad = [0.0; N];
        grad[i] = 1.0;
        Self { value, grad }
    }

    /// Applies $f$ with derivative $f'(x)$ at the value (the chain rule).
    #[inline]
    fn chain(self, f: f64, df: f64) -> Self {
        Self {
            value: f,
            grad: self.grad.map(|g| g * df),
        }
    }

    /// $e^x$.
    pub fn exp(self) -> Self {
        let e = self.value.exp();
        self.chain(e, e)
    }

    /// $\ln x$.
    pub fn ln(self) -> Self {
        self.chain(self.value.ln(), 1.0 / self.value)
    }

    /// $\sqrt x$.
    pub fn sqrt(self) -> Self {
        let s = self.value.sqrt();
        self.chain(s, 0.5 / s)
    }

    /// $x^n$.
    pub fn powi(self, n: i32) -> Self {
        self.chain(self.value.powi(n), f64::from(n) * self.value.powi(n - 1))
    }

    /// $\sin x$.
    pub fn sin(self) -> Self {
        self.chain(self.value.sin(), self.value.cos())
    }

    /// $\cos x$.
    pub fn cos(self) -> Self {
        self.chain(self.value.cos(), -self.value.sin())
    }

    /// $\tanh x$.
    pub fn tanh(self) -> Self {
        let t = self.value.tanh();
        self.chain(t, 1.0 - t * t)
    }

    /// $\sinh x$.
    pub fn sinh(self) -> Self {
        self.chain(self.value.sinh(), self.value.cosh())
    }
}

impl<const N: usize> Add for Dual<N> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        let mut grad = self.grad;
        grad.iter_mut().zip(o.grad).for_each(|(a, b)| *a += b);
        Self {
            value: self.value + o.value,
            grad,
        }
    }
}

impl<const N: usize> Sub for Dual<N> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        self + (-o)
    }
}

impl<const N: usize> Mul for Dual<N> {
    type Output = Self;
    #[allow(clippy::suspicious_arithmetic_impl)] // The product rule adds.
    fn mul(self, o: Self) -> Self {
        let mut grad = self.grad;
        grad.iter_mut()
            .zip(o.grad)
            .for_each(|(a, b)| *a = *a * o.value + self.value * b);
        Self {
            value: self.value * o.value,
            grad,
        }
    }
}

impl<const N: usize> Div for Dual<N> {
    type Output = Self;
    #[allow(clippy::suspicious_arithmetic_impl)] // The quotient rule multiplies.
    fn div(self, o: Self) -> Self {
        let inv = 1.0 / o.value;
        let mut grad = self.grad;
        grad.iter_mut()
            .zip(o.grad)
            .for_each(|(a, b)| *a = (*a - self.value * inv * b) * inv);
        Self {
            value: self.value * inv,
            grad,
        }
    }
}

impl<const N: usize> Neg for Dual<N> {
    type Output = Self;
    fn neg(self) -> Self {
        Self {
            value: -self.value,
            grad: self.grad.map(|g| -g),
        }
    }
}

impl<const N: usize> Add<f64> for Dual<N> {
    type Output = Self;
    fn add(self, c: f64) -> Self {
        Self {
            value: self.value + c,
            ..self
        }
    }
}

impl<const N: usize> Sub<f64> for Dual<N> {
    type Output = Self;
    fn sub(self, c: f64) -> Self {
        Self {
            value: self.value - c,
            ..self
        }
    }
}

impl<const N: usize> Mul<f64> for Dual<N> {
    type Output = Self;
    fn mul(self, c: f64) -> Self {
        Self {
            value: self.value * c,
            grad: self.grad.map(|g| g * c),
        }
    }
}

impl<const N: usize> Div<f64> for Dual<N> {
    type Output = Self;
    fn div(self, c: f64) -> Self {
        self * (1.0 / c)
    }
}

impl<const N: usize> Mul<Dual<N>> for f64 {
    type Output = Dual<N>;
    fn mul(self, d: Dual<N>) -> Dual<N> {
        d * self
    }
}

impl<const N: usize> Add<Dual<N>> for f64 {
    type Output = Dual<N>;
    fn add(self, d: Dual<N>) -> Dual<N> {
        d + self
    }
}

impl<const N: usize> Sub<Dual<N>> for f64 {
    type Output = Dual<N>;
    fn sub(self, d: Dual<N>) -> Dual<N> {
        -d + self
    }
}

/// A scalar residual given as a formula over dual numbers: `f(x, jets, coefficients)` where
/// `jets` lists, for each output in turn, the parts of the spec (value, first derivatives,
/// second derivatives, see [`JetSpec`]) and `coefficients` the problem's unknowns; `N` must be
/// the number of jets plus the number of coefficients.
pub struct FormulaResidual<const N: usize, F> {
    spec: JetSpec,
    coefficients: usize,
    f: F,
}

impl<const N: usize, F> FormulaResidual<N, F>
where
    F: Fn(&[f64], &[Dual<N>], &[Dual<N>]) -> Dual<N> + Send + Sync,
{
    /// The residual with its spec (for one output; see [`Residual::spec`]) and number of
    /// coefficients.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `N` is not the spec's parts plus `coefficients`.
    pub fn new(spec: JetSpec, coefficients: usize, f: F) -> Result<Self> {
        validate::len(
            "dual seeds N (jets + coefficients)",
            spec.parts() + coefficients,
            N,
        )?;
        Ok(Self {
            spec,
            coefficients,
            f,
        })
    }
}

impl<const N: usize, F> Residual for FormulaResidual<N, F>
where
    F: Fn(&[f64], &[Dual<N>], &[Dual<N>]) -> Dual<N> + Send + Sync,
{
    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec> {
        validate::len("inputs of a formula residual", self.spec.inputs(), inputs)?;
        if outputs != 1 {
            return Err(Error::invalid_parameter(
                "outputs",
                "formula residuals take one output",
            ));
        }
        Ok(self.spec.clone())
    }

    fn eval(&self, at: &Point<'_>, coefficients: &[f64], out: &mut Partials<'_>) {
        let parts = self.spec.parts();
        let mut jets = [Dual::<N>::constant(0.0); N];
        for (c, j) in jets.iter_mut().enumerate().take(parts) {
            *j = Dual::seed(at.part(0, c), c);
        }
        let mut coefs = [Dual::<N>::constant(0.0); N];
        for (i, c) in coefs.iter_mut().enumerate().take(self.coefficients) {
            *c = Dual::seed(coefficients[i], parts + i);
        }
        let r = (self.f)(at.x, &jets[..parts], &coefs[..self.coefficients]);
        out.residual(0, r.value);
        for c in 0..parts {
            out.d_part(0, 0, c, r.grad[c]);
        }
        for i in 0..self.coefficients {
            out.d_coefficient(0, i, r.grad[parts + i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dual_rules_match_closed_forms() {
        let x = Dual::<2>::seed(0.7, 0);
        let y = Dual::<2>::seed(1.3, 1);
        let f = (x * y).sin() / (x + 2.0).exp() - y.powi(3) * x.tanh() + 3.0 * x.sqrt() * y.ln();
        let (a, b) = (0.7f64, 1.3f64);
        let df_dx = b * (a * b).cos() / (a + 2.0).exp()
            - (a * b).sin() / (a + 2.0).exp()
            - b.powi(3) * (1.0 - a.tanh().powi(2))
            + 1.5 / a.sqrt() * b.ln();
        let df_dy =
            a * (a * b).cos() / (a + 2.0).exp() - 3.0 * b * b * a.tanh() + 3.0 * a.sqrt() / b;
        assert!((f.grad[0] - df_dx).abs() < 1e-13 && (f.grad[1] - df_dy).abs() < 1e-13);
        assert!(((1.0 - x).value - 0.3).abs() < 1e-15 && (1.0 - x).grad[0] == -1.0);
    }

    #[test]
    fn the_seed_count_is_checked() {
        let spec = JetSpec::second_order(2, &[[1, 1]]).unwrap();
        let f = |_: &[f64], u: &[Dual<5>], _: &[Dual<5>]| u[0];
        assert!(FormulaResidual::<5, _>::new(spec, 2, f).is_err());
    }
}
