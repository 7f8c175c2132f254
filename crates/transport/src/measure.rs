//! Discrete measures: points (rows of a matrix) with non-negative weights, and the mass-balance
//! check that every balanced method runs before solving.
//!
//! A discrete measure is $\mu = \sum_{i=1}^n a_i \delta_{x_i}$ with $x_i \in \mathbb R^d$ the
//! rows of a matrix and $a_i \ge 0$. Balanced optimal transport between $\mu$ and
//! $\nu = \sum_j b_j \delta_{y_j}$ needs $\sum_i a_i = \sum_j b_j$. Weights read from files or
//! computed in floating point rarely sum to exactly the same number, and POT users hit
//! "infeasible problem" for a mismatch in the 16th digit. Here the rule is explicit
//! ([`Balance`]): a relative mismatch up to `tolerance` is absorbed by rescaling the target
//! weights to the source total (a change below the tolerance), a larger one is an error unless
//! the caller asks to `renormalise` both measures to probability measures.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_transport::DiscreteMeasure;
//! let x = DMatrix::from_row_slice(3, 2, &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
//! let mu = DiscreteMeasure::uniform(x).unwrap();
//! assert_eq!(mu.len(), 3);
//! assert!((mu.weights().sum() - 1.0).abs() < 1e-15);
//! ```

use std::borrow::Cow;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

/// Points (rows) with non-negative weights of positive total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscreteMeasure {
    points: DMatrix<f64>,
    weights: DVector<f64>,
}

impl DiscreteMeasure {
    /// The empirical measure of the rows of `points`: weight $1/n$ each.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] without rows or columns, [`Error::NonFinite`] for NaN or infinite
    /// coordinates.
    pub fn uniform(points: DMatrix<f64>) -> Result<Self> {
        let n = points.nrows();
        Self::new(points, DVector::from_element(n, 1.0 / n.max(1) as f64))
    }

    /// Points with the given weights (any positive total; they are not normalised).
    ///
    /// # Errors
    /// As [`uniform`](Self::uniform), plus [`Error::DimensionMismatch`] when the weights do not
    /// match the rows, and the errors of [`check_weights`].
    ///
    /// ```
    /// use nalgebra::{DMatrix, DVector};
    /// use uqforge_transport::DiscreteMeasure;
    /// let x = DMatrix::from_row_slice(2, 1, &[0.0, 1.0]);
    /// assert!(DiscreteMeasure::new(x.clone(), DVector::from_vec(vec![0.5, -0.5])).is_err());
    /// assert!(DiscreteMeasure::new(x, DVector::from_vec(vec![2.0, 1.0])).is_ok());
    /// ```
    pub fn new(points: DMatrix<f64>, weights: DVector<f64>) -> Result<Self> {
        if points.nrows() == 0 || points.ncols() == 0 {
            return Err(Error::EmptyInput {
                what: "points of a discrete measure (need at least one row and one column)".into(),
            });
        }
        finite_rows("points", &points)?;
        validate::len("weights (one per point)", points.nrows(), weights.len())?;
        check_weights("weights", weights.as_slice())?;
        Ok(Self { points, weights })
    }

    /// The support points, one per row.
    pub fn points(&self) -> &DMatrix<f64> {
        &self.points
    }

    /// The weights, one per point.
    pub fn weights(&self) -> &DVector<f64> {
        &self.weights
    }

    /// Number of support points.
    pub fn len(&self) -> usize {
        self.points.nrows()
    }

    /// Always `false`: a measure has at least one point (kept for the `len`/`is_empty` pair).
    pub fn is_empty(&self) -> bool {
        self.points.nrows() == 0
    }

    /// Dimension of the points.
    pub fn dim(&self) -> usize {
        self.points.ncols()
    }

    /// Total mass $\sum_i a_i$.
    pub fn total_mass(&self) -> f64 {
        self.weights.sum()
    }
}

/// Source and target weights with equal totals, borrowed when unchanged.
pub type WeightPair<'a> = (Cow<'a, [f64]>, Cow<'a, [f64]>);

/// How balanced methods treat unequal total masses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    /// Largest accepted relative mismatch $|\sum a - \sum b| / \max(\sum a, \sum b)$; within
    /// it the target weights are rescaled to the source total. Default $10^{-9}$.
    pub tolerance: f64,
    /// Normalise both measures to total mass one instead of checking (default `false`).
    pub renormalise: bool,
}

impl Default for Balance {
    fn default() -> Self {
        Self {
            tolerance: 1e-9,
            renormalise: false,
        }
    }
}

impl Balance {
    /// Weights `a` and `b` with equal totals, after the check or the renormalisation.
    ///
    /// # Errors
    /// The errors of [`check_weights`] for either vector, [`Error::InvalidParameter`] for a
    /// negative or non-finite tolerance, and [`Error::Degenerate`] when the relative mismatch
    /// exceeds the tolerance (the message gives both totals).
    ///
    /// ```
    /// use uqforge_transport::Balance;
    /// let (a, b) = Balance::default().apply(&[0.5, 0.5], &[0.3, 0.7000000000001]).unwrap();
    /// assert_eq!(a.iter().sum::<f64>(), b.iter().sum::<f64>());
    /// assert!(Balance::default().apply(&[0.5, 0.5], &[0.3, 0.8]).is_err());
    /// let (_, b) = Balance { renormalise: true, ..Balance::default() }
    ///     .apply(&[0.5, 0.5], &[1.0, 3.0]).unwrap();
    /// assert_eq!(b.as_ref(), &[0.25, 0.75]);
    /// ```
    pub fn apply<'a>(&self, a: &'a [f64], b: &'a [f64]) -> Result<WeightPair<'a>> {
        if !(self.tolerance >= 0.0 && self.tolerance.is_finite()) {
            return Err(Error::invalid_parameter(
                "tolerance",
                format!("must be finite and non-negative, got {}", self.tolerance),
            ));
        }
        let sa = check_weights("source weights", a)?;
        let sb = check_weights("target weights", b)?;
        if self.renormalise {
            let scale = |w: &[f64], s: f64| w.iter().map(|v| v / s).collect::<Vec<_>>();
            return Ok((Cow::Owned(scale(a, sa)), Cow::Owned(scale(b, sb))));
        }
        let mismatch = (sa - sb).abs() / sa.max(sb);
        if mismatch > self.tolerance {
            return Err(Error::degenerate(
                "balanced optimal transport",
                format!(
                    "source mass {sa} and target mass {sb} differ by {mismatch:.3e} relative \
                     (tolerance {:.1e}); renormalise the weights or use unbalanced transport",
                    self.tolerance
                ),
            ));
        }
        if sa == sb {
            return Ok((Cow::Borrowed(a), Cow::Borrowed(b)));
        }
        let ratio = sa / sb;
        Ok((
            Cow::Borrowed(a),
            Cow::Owned(b.iter().map(|v| v * ratio).collect()),
        ))
    }
}

/// Weights are finite, non-negative, and of positive total; returns the total.
///
/// # Errors
/// [`Error::EmptyInput`], [`Error::NonFinite`], [`Error::InvalidParameter`] for a negative
/// weight (the message names its index) and [`Error::Degenerate`] for a zero total.
pub fn check_weights(what: &str, w: &[f64]) -> Result<f64> {
    validate::non_empty(what, w)?;
    validate::finite(what, w)?;
    if let Some(i) = w.iter().position(|&v| v < 0.0) {
        return Err(Error::invalid_parameter(
            what,
            format!("weights must be non-negative, got {} at index {i}", w[i]),
        ));
    }
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return Err(Error::degenerate(what, "all weights are zero"));
    }
    Ok(total)
}

/// Every entry of a matrix of points is finite; the error gives the row-major index.
pub(crate) fn finite_rows(what: &str, points: &DMatrix<f64>) -> Result<()> {
    for (k, v) in points.iter().enumerate() {
        if !v.is_finite() {
            let (n, _) = points.shape();
            let (row, col) = (k % n, k / n);
            return Err(Error::NonFinite {
                what: what.into(),
                index: row * points.ncols() + col,
                value: *v,
            });
        }
    }
    Ok(())
}
