//! Ground costs $c(x, y)$ between points, and cost matrices $C_{ij} = c(x_i, y_j)$.
//!
//! | cost | $c(x, y)$ | transport cost is |
//! |------|-----------|-------------------|
//! | [`GroundCost::SqEuclidean`] | $\lVert x - y\rVert_2^2$ | $W_2^2$ |
//! | [`GroundCost::Euclidean`] | $\lVert x - y\rVert_2$ | $W_1$ |
//! | [`GroundCost::Power`]`(p)` | $\lVert x - y\rVert_2^p$ | $W_p^p$ |
//!
//! Any other cost is a user-given matrix passed to the solvers directly.
//!
//! Distances are computed from differences, not from the expansion
//! $\lVert x\rVert^2 + \lVert y\rVert^2 - 2 x^\top y$ that POT and SciPy use for speed: the
//! expansion cancels catastrophically for nearby points far from the origin (it returns
//! negative "squared distances"), and the matrix costs $O(nmd)$ either way.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_transport::GroundCost;
//! let x = DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 1.0, 1.0]);
//! let y = DMatrix::from_row_slice(1, 2, &[3.0, 4.0]);
//! let c = GroundCost::SqEuclidean.matrix(&x, &y).unwrap();
//! assert_eq!(c[(0, 0)], 25.0);
//! assert_eq!(GroundCost::Euclidean.matrix(&x, &y).unwrap()[(0, 0)], 5.0);
//! ```

use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::measure::{Balance, WeightPair, finite_rows};

/// A cost between points of $\mathbb R^d$.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum GroundCost {
    /// $\lVert x - y\rVert_2^2$ (the default of POT, and $W_2$).
    SqEuclidean,
    /// $\lVert x - y\rVert_2$ ($W_1$, earth mover's distance).
    Euclidean,
    /// $\lVert x - y\rVert_2^p$ for a finite $p > 0$.
    Power(f64),
}

impl GroundCost {
    /// Checks the parameter of [`GroundCost::Power`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-finite or non-positive power.
    pub fn validate(&self) -> Result<()> {
        if let Self::Power(p) = *self
            && !(p > 0.0 && p.is_finite())
        {
            return Err(Error::invalid_parameter(
                "cost power p",
                format!("must be finite and positive, got {p}"),
            ));
        }
        Ok(())
    }

    /// The exponent $p$ with $c(x, y) = \lVert x - y\rVert^p$.
    pub fn power(&self) -> f64 {
        match *self {
            Self::SqEuclidean => 2.0,
            Self::Euclidean => 1.0,
            Self::Power(p) => p,
        }
    }

    /// The cost of a squared distance $s = \lVert x - y\rVert^2$.
    #[inline]
    pub fn of_squared_distance(&self, s: f64) -> f64 {
        match *self {
            Self::SqEuclidean => s,
            Self::Euclidean => s.sqrt(),
            Self::Power(p) => s.powf(0.5 * p),
        }
    }

    /// $c(x, y)$ for two points given as slices.
    #[inline]
    pub fn between(&self, x: &[f64], y: &[f64]) -> f64 {
        self.of_squared_distance(squared_distance(x, y))
    }

    /// The $n \times m$ matrix $C_{ij} = c(x_i, y_j)$ for the rows of `x` and `y` (parallel over
    /// the columns of $C$).
    ///
    /// # Errors
    /// [`Error::EmptyInput`], [`Error::DimensionMismatch`] for different numbers of columns,
    /// [`Error::NonFinite`], and the errors of [`validate`](Self::validate).
    pub fn matrix(&self, x: &DMatrix<f64>, y: &DMatrix<f64>) -> Result<DMatrix<f64>> {
        self.validate()?;
        check_points(x, y)?;
        let (n, m) = (x.nrows(), y.nrows());
        let xr = row_major(x);
        let yr = row_major(y);
        let d = x.ncols();
        let mut c = DMatrix::zeros(n, m);
        c.as_mut_slice()
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(j, col)| {
                let yj = &yr[j * d..(j + 1) * d];
                for (i, out) in col.iter_mut().enumerate() {
                    *out = self.between(&xr[i * d..(i + 1) * d], yj);
                }
            });
        Ok(c)
    }
}

/// $\lVert x - y\rVert_2^2$.
#[inline]
pub fn squared_distance(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// The rows of `x` in one row-major buffer (point `i` is `[i*d, (i+1)*d)`), for cache-friendly
/// point access: nalgebra stores matrices by columns.
pub fn row_major(x: &DMatrix<f64>) -> Vec<f64> {
    x.transpose().as_slice().to_vec()
}

/// Both point sets are non-empty, finite and of the same dimension.
pub(crate) fn check_points(x: &DMatrix<f64>, y: &DMatrix<f64>) -> Result<()> {
    for (what, p) in [("source points", x), ("target points", y)] {
        if p.nrows() == 0 || p.ncols() == 0 {
            return Err(Error::EmptyInput { what: what.into() });
        }
        finite_rows(what, p)?;
    }
    validate::len(
        "point dimension (columns of target vs source)",
        x.ncols(),
        y.ncols(),
    )
}

/// A transport problem given by weights and a cost matrix is well formed: the cost matrix is
/// non-empty and finite, the weights match its rows and columns, and the masses balance under
/// `balance`; returns the (possibly rescaled) weights.
pub(crate) fn check_problem<'a>(
    a: &'a [f64],
    b: &'a [f64],
    cost: &DMatrix<f64>,
    balance: &Balance,
) -> Result<WeightPair<'a>> {
    check_shapes(a, b, cost)?;
    balance.apply(a, b)
}

/// The cost matrix is non-empty and finite and the weights match its rows and columns (their
/// values are not checked).
pub(crate) fn check_shapes(a: &[f64], b: &[f64], cost: &DMatrix<f64>) -> Result<()> {
    check_cost(cost)?;
    validate::len(
        "source weights (rows of the cost matrix)",
        cost.nrows(),
        a.len(),
    )?;
    validate::len(
        "target weights (columns of the cost matrix)",
        cost.ncols(),
        b.len(),
    )
}

/// A user-given cost matrix is non-empty and finite.
pub(crate) fn check_cost(cost: &DMatrix<f64>) -> Result<()> {
    if cost.is_empty() {
        return Err(Error::EmptyInput {
            what: "cost matrix".into(),
        });
    }
    finite_rows("cost matrix", cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_cancellation_far_from_the_origin() {
        // Two points 1e-4 apart at 1e8 from the origin: the expansion gives garbage.
        let x = DMatrix::from_row_slice(1, 1, &[1e8]);
        let y = DMatrix::from_row_slice(1, 1, &[1e8 + 1e-4]);
        let c = GroundCost::SqEuclidean.matrix(&x, &y).unwrap();
        let exact = (1e8_f64 + 1e-4 - 1e8).powi(2);
        assert!((c[(0, 0)] - exact).abs() < 1e-12 * exact);
    }

    #[test]
    fn power_costs_and_errors() {
        let x = DMatrix::from_row_slice(1, 2, &[0.0, 0.0]);
        let y = DMatrix::from_row_slice(2, 2, &[3.0, 4.0, 0.0, 2.0]);
        let c = GroundCost::Power(3.0).matrix(&x, &y).unwrap();
        assert!((c[(0, 0)] - 125.0).abs() < 1e-12);
        assert!((c[(0, 1)] - 8.0).abs() < 1e-12);
        assert!(GroundCost::Power(-1.0).matrix(&x, &y).is_err());
        let z = DMatrix::from_row_slice(1, 3, &[0.0, 0.0, 0.0]);
        assert!(matches!(
            GroundCost::Euclidean.matrix(&x, &z),
            Err(Error::DimensionMismatch { .. })
        ));
        let bad = DMatrix::from_row_slice(1, 2, &[0.0, f64::NAN]);
        assert!(matches!(
            GroundCost::Euclidean.matrix(&x, &bad),
            Err(Error::NonFinite { index: 1, .. })
        ));
    }
}
