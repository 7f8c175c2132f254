//! Mahalanobis depth: the centrality of a point measured by its Mahalanobis distance.
//!
//! $$ D(x) = \frac{1}{1 + (x - \bar x)^\top S^{-1} (x - \bar x)} , $$
//!
//! with $\bar x$ the sample mean and $S$ the sample covariance with divisor $n - 1$
//! (Liu 1992; Zuo and Serfling 2000). It is affine invariant (an affine map $x \mapsto Ax + b$
//! of sample and query leaves it unchanged), equals one at the mean, decreases along rays
//! from it and vanishes at infinity; its contours are ellipsoids, so it sees only the first
//! two moments: it cannot follow a banana-shaped or clustered sample, which is what the
//! halfspace and lens depths are for.
//!
//! [`Mahalanobis::robust`] puts the reweighted minimum covariance determinant estimates
//! ([`crate::mcd`]) in place of $\bar x$ and $S$: a quarter of the sample moved far away no
//! longer drags the centre toward it (tested), and the depth stays affine invariant (the
//! MCD is affine equivariant).
//!
//! The fit costs $O(nd^2 + d^3)$ (mean, covariance, Cholesky factor $S = LL^\top$), a query
//! $O(d^2)$ (one triangular solve: $(x - \bar x)^\top S^{-1} (x - \bar x) = \lVert L^{-1}
//! (x - \bar x)\rVert^2$).
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{Depth, Mahalanobis};
//! let sample = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 2.0, 0.0, 0.0, 2.0, 2.0, 2.0]);
//! let depth = Mahalanobis::fit(&sample).unwrap();
//! // Mean (1, 1), covariance (4/3) I: the corner (0, 0) is at squared distance 1.5.
//! let d = depth.depth(&DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 0.0, 0.0])).unwrap();
//! assert!((d[0] - 1.0).abs() < 1e-15 && (d[1] - 0.4).abs() < 1e-15);
//! ```
//!
//! # References
//! - R. Y. Liu, "Data depth and multivariate rank tests", in *L1-Statistical Analysis and
//!   Related Methods*, 1992.
//! - Y. Zuo, R. Serfling, "General notions of statistical depth function", Annals of
//!   Statistics 28(2), 2000.

use nalgebra::{DMatrix, DVector};
use uqforge_core::{Error, Result};

use crate::mcd::{Mcd, mcd};
use crate::sample::{Depth, check_sample};

/// Mahalanobis depth fitted on a sample (moment or MCD estimates of mean and covariance).
#[derive(Debug, Clone)]
pub struct Mahalanobis {
    mean: DVector<f64>,
    /// Lower Cholesky factor of the sample covariance.
    factor: DMatrix<f64>,
}

impl Mahalanobis {
    /// Fits the sample mean and covariance of `sample` (rows = points).
    ///
    /// # Errors
    /// [`Error::EmptyInput`], [`Error::InvalidParameter`] for fewer than $d + 1$ points,
    /// [`Error::NonFinite`], and [`Error::NotPositiveDefinite`] when the covariance is
    /// singular (the points lie in a lower-dimensional affine subspace, to a relative
    /// precision of $10^{-12}$).
    pub fn fit(sample: &DMatrix<f64>) -> Result<Self> {
        let (n, d) = sample.shape();
        check_sample("Mahalanobis", sample, d + 1)?;
        let mean = sample.row_mean().transpose();
        let mut centred = sample.clone();
        for mut row in centred.row_iter_mut() {
            row -= mean.transpose();
        }
        let covariance = centred.tr_mul(&centred) / (n as f64 - 1.0);
        Self::with_moments(mean, &covariance, &format!("the {n} points lie"))
    }

    /// The robust version: location and scatter of the minimum covariance determinant
    /// ([`crate::mcd`], reweighted), so that outliers in the sample neither shift the centre
    /// nor inflate the scatter.
    ///
    /// # Errors
    /// Those of [`crate::mcd::mcd`].
    pub fn robust(sample: &DMatrix<f64>, options: &Mcd) -> Result<Self> {
        let fit = mcd(sample, options)?;
        let kept = fit.kept.iter().filter(|k| **k).count();
        Self::with_moments(
            fit.location,
            &fit.scatter,
            &format!("the {kept} points kept by the MCD lie"),
        )
    }

    fn with_moments(mean: DVector<f64>, covariance: &DMatrix<f64>, points: &str) -> Result<Self> {
        let d = mean.len();
        let singular = || Error::NotPositiveDefinite {
            what: format!(
                "covariance ({d} x {d}): {points} in a lower-dimensional affine subspace"
            ),
        };
        let factor = covariance.clone().cholesky().ok_or_else(singular)?.unpack();
        // Pivots of the factor are conditional standard deviations: one far below the
        // marginal ones means a (numerically) degenerate direction.
        let scale = covariance.diagonal().max().sqrt();
        if factor.diagonal().iter().any(|l| *l <= 1e-6 * scale) {
            return Err(singular());
        }
        Ok(Self { mean, factor })
    }

    /// The sample mean $\bar x$.
    pub fn mean(&self) -> &DVector<f64> {
        &self.mean
    }

    /// The whitened point $L^{-1}(x - \bar x)$, with $S = LL^\top$: its squared norm is the
    /// squared Mahalanobis distance $(x - \bar x)^\top S^{-1} (x - \bar x)$.
    pub(crate) fn whiten(&self, point: &[f64]) -> DVector<f64> {
        let mut y = DVector::from_column_slice(point) - &self.mean;
        // L has a positive diagonal (checked at fit), so the solve succeeds.
        self.factor.solve_lower_triangular_mut(&mut y);
        y
    }
}

impl Depth for Mahalanobis {
    fn dim(&self) -> usize {
        self.mean.len()
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        1.0 / (1.0 + self.whiten(point).norm_squared())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{affine_case, normal_sample, with_outliers};
    use proptest::prelude::*;

    /// Against the definition with an explicit inverse of the covariance.
    #[test]
    fn equals_the_definition() {
        let x = normal_sample(50, 3, 1);
        let depth = Mahalanobis::fit(&x).unwrap();
        let mean = x.row_mean();
        let c = DMatrix::from_fn(3, 3, |a, b| {
            (0..50)
                .map(|i| (x[(i, a)] - mean[a]) * (x[(i, b)] - mean[b]))
                .sum::<f64>()
                / 49.0
        });
        let inv = c.try_inverse().unwrap();
        let q = normal_sample(10, 3, 2);
        let got = depth.depth(&q).unwrap();
        for (i, row) in q.row_iter().enumerate() {
            let v = (row - &mean).transpose();
            let expected = 1.0 / (1.0 + (v.transpose() * &inv * &v)[(0, 0)]);
            assert!(
                (got[i] - expected).abs() < 1e-13,
                "{} vs {expected}",
                got[i]
            );
        }
        assert!((depth.depth_of(depth.mean().as_slice()) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn bad_input_is_refused() {
        let flat = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
        assert!(matches!(
            Mahalanobis::fit(&flat),
            Err(Error::NotPositiveDefinite { .. })
        ));
        let few = DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 1.0, 0.5]);
        assert!(matches!(
            Mahalanobis::fit(&few),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Mahalanobis::fit(&DMatrix::zeros(0, 2)),
            Err(Error::EmptyInput { .. })
        ));
        let mut nan = normal_sample(10, 2, 3);
        nan[(4, 1)] = f64::NAN;
        assert!(matches!(
            Mahalanobis::fit(&nan),
            Err(Error::NonFinite { index: 4, .. })
        ));
        let depth = Mahalanobis::fit(&normal_sample(10, 2, 3)).unwrap();
        assert!(matches!(
            depth.depth(&DMatrix::zeros(1, 3)),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            depth.depth(&DMatrix::from_element(1, 2, f64::INFINITY)),
            Err(Error::NonFinite { .. })
        ));
    }

    /// With a quarter of the sample moved to (10, 10), the moment depth puts the centre
    /// between bulk and outliers; the robust depth keeps it at the bulk and gives the
    /// outliers a depth near zero.
    #[test]
    fn robust_depth_ignores_outliers() {
        let x = with_outliers(200, 5, 50, 10.0);
        let moment = Mahalanobis::fit(&x).unwrap();
        let robust = Mahalanobis::robust(&x, &Mcd::default()).unwrap();
        let q = DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 10.0, 10.0]);
        let (m, r) = (moment.depth(&q).unwrap(), robust.depth(&q).unwrap());
        assert!(r[0] > 0.9 && r[1] < 0.01, "robust {r}");
        assert!(m[1] > 0.1 && m[0] < r[0], "moment {m}");
    }

    proptest! {
        /// Affine invariance: D(Ax + b; AX + b) = D(x; X) for an invertible A.
        #[test]
        fn affine_invariance(seed in 0u64..1000, a in prop::array::uniform4(-2.0f64..2.0),
                             b in prop::array::uniform2(-5.0f64..5.0)) {
            let case = affine_case(seed, a, b, 20, 5, 2.0);
            prop_assume!(case.is_some());
            let [x, q, ax, aq] = case.unwrap();
            let before = Mahalanobis::fit(&x).unwrap().depth(&q).unwrap();
            let after = Mahalanobis::fit(&ax).unwrap().depth(&aq).unwrap();
            for (u, v) in before.iter().zip(after.iter()) {
                prop_assert!((u - v).abs() < 1e-9, "{u} vs {v}");
                prop_assert!(*u > 0.0 && *u <= 1.0);
            }
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The robust depth too: the same seed draws the same starting subsets, and every
        /// C-step's distances are affine invariant, so the same subset wins.
        #[test]
        fn robust_affine_invariance(seed in 0u64..1000, a in prop::array::uniform4(-2.0f64..2.0),
                                    b in prop::array::uniform2(-5.0f64..5.0)) {
            let case = affine_case(seed, a, b, 30, 5, 2.0);
            prop_assume!(case.is_some());
            let [x, q, ax, aq] = case.unwrap();
            let options = Mcd { starts: 50, seed, ..Mcd::default() };
            let before = Mahalanobis::robust(&x, &options).unwrap().depth(&q).unwrap();
            let after = Mahalanobis::robust(&ax, &options).unwrap().depth(&aq).unwrap();
            for (u, v) in before.iter().zip(after.iter()) {
                prop_assert!((u - v).abs() < 1e-8, "{u} vs {v}");
            }
        }
    }
}
