//! A model is a function $f:\mathbb{R}^d \to \mathbb{R}^k$.
//!
//! Sensitivity analysis evaluates models; PINN networks and latent-space decoders *are* models,
//! and supply a Jacobian $J_{ij} = \partial f_i / \partial x_j$ where they can. The traits use
//! plain `&[f64]` slices, not matrix types, so that any linear-algebra stack (or none) can sit
//! behind them.
//!
//! Layout conventions, used everywhere in uqforge:
//! - a batch of `n` inputs is a row-major buffer of `n * d` numbers (one row per point);
//! - a batch of outputs is row-major `n * k`;
//! - a Jacobian is row-major `k * d` (row `i` is the gradient of output `i`).
//!
//! ```
//! use uqforge_core::{Model, model::from_fn};
//! // The Ishigami function, a classic sensitivity-analysis test case.
//! let ishigami = from_fn(3, 1, |x: &[f64], y: &mut [f64]| {
//!     y[0] = x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin();
//!     Ok(())
//! });
//! let mut y = [0.0];
//! ishigami.eval(&[0.0, std::f64::consts::FRAC_PI_2, 1.0], &mut y).unwrap();
//! assert!((y[0] - 7.0).abs() < 1e-12);
//! ```

use crate::{Result, validate};

/// A function $f:\mathbb{R}^d \to \mathbb{R}^k$ evaluated on slices.
///
/// Implementors write [`Model::eval`]; [`Model::eval_batch`] has a default that checks shapes
/// and loops over rows, and may be overridden by models that vectorise.
pub trait Model {
    /// The input dimension $d$.
    fn input_dim(&self) -> usize;

    /// The output dimension $k$.
    fn output_dim(&self) -> usize;

    /// Writes $f(x)$ into `y`.
    ///
    /// Callers pass `x.len() == input_dim()` and `y.len() == output_dim()` (use
    /// [`Model::eval_checked`] to have that verified).
    ///
    /// # Errors
    /// Whatever the model reports: a simulator that fails to converge returns
    /// [`crate::Error::DidNotConverge`], for instance.
    fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()>;

    /// [`Model::eval`] after checking both slice lengths.
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] for wrongly sized slices, then the model's own errors.
    fn eval_checked(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        validate::len("model input", self.input_dim(), x.len())?;
        validate::len("model output", self.output_dim(), y.len())?;
        self.eval(x, y)
    }

    /// Evaluates `n` points: `xs` is row-major `n * d`, `ys` row-major `n * k`.
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] when the buffers do not hold the same number of whole
    /// rows; the first error of the model otherwise.
    fn eval_batch(&self, xs: &[f64], ys: &mut [f64]) -> Result<()> {
        let (d, k) = (self.input_dim(), self.output_dim());
        let n = validate::rows("model inputs", xs, d)?;
        validate::len("model outputs (row-major n * k)", n * k, ys.len())?;
        for (x, y) in xs.chunks_exact(d).zip(ys.chunks_exact_mut(k)) {
            self.eval(x, y)?;
        }
        Ok(())
    }
}

/// A model that also knows its Jacobian.
pub trait Differentiable: Model {
    /// Writes the Jacobian at `x` into `jac`, row-major `k * d`:
    /// `jac[i * d + j]` $= \partial f_i / \partial x_j$.
    ///
    /// # Errors
    /// As [`Model::eval`].
    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()>;

    /// Values and Jacobians of `n` points at once: `xs` row-major `n * d`, `ys` row-major
    /// `n * k`, `jacs` the `n` Jacobians one after the other (`n * k * d`).
    ///
    /// The default checks shapes and calls [`Model::eval`] and
    /// [`Differentiable::jacobian`] row by row; models whose value and Jacobian share work,
    /// or that vectorise over points (matrix products for a network), override it.
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] for buffers that do not hold `n` whole rows; the
    /// model's first error otherwise.
    fn eval_jacobian_batch(&self, xs: &[f64], ys: &mut [f64], jacs: &mut [f64]) -> Result<()> {
        let (d, k) = (self.input_dim(), self.output_dim());
        let n = validate::rows("model inputs", xs, d)?;
        validate::len("model outputs (row-major n * k)", n * k, ys.len())?;
        validate::len("model Jacobians (n * k * d)", n * k * d, jacs.len())?;
        for ((x, y), j) in xs
            .chunks_exact(d)
            .zip(ys.chunks_exact_mut(k))
            .zip(jacs.chunks_exact_mut(k * d))
        {
            self.eval(x, y)?;
            self.jacobian(x, j)?;
        }
        Ok(())
    }
}

impl<M: Model + ?Sized> Model for &M {
    fn input_dim(&self) -> usize {
        (**self).input_dim()
    }
    fn output_dim(&self) -> usize {
        (**self).output_dim()
    }
    fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        (**self).eval(x, y)
    }
    fn eval_batch(&self, xs: &[f64], ys: &mut [f64]) -> Result<()> {
        (**self).eval_batch(xs, ys)
    }
}

impl<M: Differentiable + ?Sized> Differentiable for &M {
    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()> {
        (**self).jacobian(x, jac)
    }
    fn eval_jacobian_batch(&self, xs: &[f64], ys: &mut [f64], jacs: &mut [f64]) -> Result<()> {
        (**self).eval_jacobian_batch(xs, ys, jacs)
    }
}

/// A [`Model`] made from a closure; see [`from_fn`] and [`scalar_fn`].
#[derive(Clone, Copy)]
pub struct FnModel<F> {
    input_dim: usize,
    output_dim: usize,
    f: F,
}

impl<F> std::fmt::Debug for FnModel<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnModel")
            .field("input_dim", &self.input_dim)
            .field("output_dim", &self.output_dim)
            .finish_non_exhaustive()
    }
}

/// Wraps `f(x, y) -> Result<()>` as a model with `d` inputs and `k` outputs.
pub fn from_fn<F>(d: usize, k: usize, f: F) -> FnModel<F>
where
    F: Fn(&[f64], &mut [f64]) -> Result<()>,
{
    FnModel {
        input_dim: d,
        output_dim: k,
        f,
    }
}

impl<F> Model for FnModel<F>
where
    F: Fn(&[f64], &mut [f64]) -> Result<()>,
{
    fn input_dim(&self) -> usize {
        self.input_dim
    }
    fn output_dim(&self) -> usize {
        self.output_dim
    }
    fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        (self.f)(x, y)
    }
}

/// A scalar model $f:\mathbb{R}^d\to\mathbb{R}$ from an infallible closure `x -> f(x)`.
///
/// ```
/// use uqforge_core::{Model, model::scalar_fn};
/// let sum_sq = scalar_fn(2, |x: &[f64]| x[0] * x[0] + x[1] * x[1]);
/// let mut ys = [0.0; 2];
/// sum_sq.eval_batch(&[1.0, 2.0, 3.0, 4.0], &mut ys).unwrap();
/// assert_eq!(ys, [5.0, 25.0]);
/// ```
pub fn scalar_fn<G>(d: usize, g: G) -> FnModel<impl Fn(&[f64], &mut [f64]) -> Result<()>>
where
    G: Fn(&[f64]) -> f64,
{
    from_fn(d, 1, move |x: &[f64], y: &mut [f64]| {
        y[0] = g(x);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// f(x) = (x0 * x1, x0 + x1^2), with its Jacobian.
    struct Poly;
    impl Model for Poly {
        fn input_dim(&self) -> usize {
            2
        }
        fn output_dim(&self) -> usize {
            2
        }
        fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
            y[0] = x[0] * x[1];
            y[1] = x[0] + x[1] * x[1];
            Ok(())
        }
    }
    impl Differentiable for Poly {
        fn jacobian(&self, x: &[f64], j: &mut [f64]) -> Result<()> {
            j.copy_from_slice(&[x[1], x[0], 1.0, 2.0 * x[1]]);
            Ok(())
        }
    }

    #[test]
    fn batch_matches_pointwise_and_checks_shapes() {
        let xs = [1.0, 2.0, -3.0, 0.5, 0.0, 4.0];
        let mut ys = [0.0; 6];
        Poly.eval_batch(&xs, &mut ys).unwrap();
        assert_eq!(ys, [2.0, 5.0, -1.5, -2.75, 0.0, 16.0]);
        let mut short = [0.0; 4];
        assert!(matches!(
            Poly.eval_batch(&xs, &mut short),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(Poly.eval_batch(&xs[..5], &mut ys).is_err());
        assert!(Poly.eval_checked(&[1.0], &mut [0.0; 2]).is_err());
    }

    #[test]
    fn jacobian_matches_central_differences() {
        let x = [0.7, -1.3];
        let mut jac = [0.0; 4];
        Poly.jacobian(&x, &mut jac).unwrap();
        let h = 1e-6;
        for j in 0..2 {
            let (mut xp, mut xm) = (x, x);
            xp[j] += h;
            xm[j] -= h;
            let (mut yp, mut ym) = ([0.0; 2], [0.0; 2]);
            Poly.eval(&xp, &mut yp).unwrap();
            Poly.eval(&xm, &mut ym).unwrap();
            for i in 0..2 {
                let fd = (yp[i] - ym[i]) / (2.0 * h);
                assert!((fd - jac[i * 2 + j]).abs() < 1e-8, "J[{i},{j}]");
            }
        }
    }

    #[test]
    fn value_and_jacobian_batches_match_pointwise_and_check_shapes() {
        let xs = [0.7, -1.3, 0.2, 0.5];
        let (mut ys, mut jacs) = ([0.0; 4], [0.0; 8]);
        Poly.eval_jacobian_batch(&xs, &mut ys, &mut jacs).unwrap();
        for r in 0..2 {
            let (mut y, mut j) = ([0.0; 2], [0.0; 4]);
            Poly.eval(&xs[2 * r..2 * r + 2], &mut y).unwrap();
            Poly.jacobian(&xs[2 * r..2 * r + 2], &mut j).unwrap();
            assert_eq!(&ys[2 * r..2 * r + 2], &y);
            assert_eq!(&jacs[4 * r..4 * r + 4], &j);
        }
        assert!(
            Poly.eval_jacobian_batch(&xs, &mut ys, &mut [0.0; 7])
                .is_err()
        );
        assert!(
            Poly.eval_jacobian_batch(&xs[..3], &mut ys, &mut jacs)
                .is_err()
        );
    }

    #[test]
    fn errors_from_the_model_propagate_through_batches() {
        let m = from_fn(1, 1, |x: &[f64], y: &mut [f64]| {
            if x[0] < 0.0 {
                return Err(Error::invalid_parameter("x", "negative"));
            }
            y[0] = x[0].sqrt();
            Ok(())
        });
        let mut ys = [0.0; 3];
        assert!(m.eval_batch(&[4.0, -1.0, 9.0], &mut ys).is_err());
        m.eval_batch(&[4.0, 1.0, 9.0], &mut ys).unwrap();
        assert_eq!(ys, [2.0, 1.0, 3.0]);
        // Works through a reference and a trait object.
        let dynm: &dyn Model = &m;
        assert_eq!((&dynm).input_dim(), 1);
    }
}
