//! Spatial depth: one minus the length of the average unit vector from the sample to the
//! point.
//!
//! $$ D(x) = 1 - \Big\lVert \frac1n \sum_{i : x_i \ne x} \frac{x - x_i}{\lVert x - x_i\rVert}
//!    \Big\rVert $$
//!
//! (Vardi and Zhang 2000; Serfling 2002). The sum is the spatial sign of $x$ with respect to
//! the sample; its norm is at most one, so the depth lies in $[0, 1]$. It equals one at the
//! spatial median (where the unit vectors balance) and tends to zero far away, where they all
//! point the same way. Sample points equal to $x$ contribute nothing (the sign of zero is
//! zero) and the divisor stays $n$. In 1D it is $1 - \lvert \operatorname{card} \lbrace i :
//! x_i < x\rbrace - \operatorname{card} \lbrace i : x_i > x\rbrace\rvert / n$.
//!
//! The plain version is invariant under translations, rotations and scalings, not under
//! every affine map. [`Spatial::affine_invariant`] first whitens sample and query by the
//! sample covariance $S = LL^\top$ (Cholesky, divisor $n - 1$): distances become
//! $\lVert L^{-1}(x - x_i)\rVert$. An affine map $x \mapsto Ax + b$ changes $L^{-1}$ into
//! $Q L^{-1} A^{-1}$ for an orthogonal $Q$, which the norm ignores, so the whitened depth is
//! affine invariant (Serfling 2010). Query cost $O(nd)$ (plus $O(nd^2)$ once for the
//! whitening).
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{Depth, Spatial};
//! // Symmetric about the origin: the unit vectors balance there.
//! let sample = DMatrix::from_row_slice(4, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 2.0, 0.0, -2.0]);
//! let d = Spatial::fit(&sample).unwrap().depth(&DMatrix::zeros(1, 2)).unwrap();
//! assert!((d[0] - 1.0).abs() < 1e-15);
//! ```
//!
//! # References
//! - Y. Vardi, C.-H. Zhang, "The multivariate L1-median and associated data depth", PNAS
//!   97(4), 2000.
//! - R. Serfling, "A depth function and a scale curve based on spatial quantiles", in
//!   *Statistical Data Analysis Based on the L1-Norm and Related Methods*, 2002.
//! - R. Serfling, "Equivariance and invariance properties of multivariate quantile and
//!   related functions, and the role of standardisation", J. Nonparametric Statistics 22(7),
//!   2010.

use nalgebra::{DMatrix, DVector};

use crate::mahalanobis::Mahalanobis;
use crate::sample::{Depth, check_sample, rows, squared_distance};
use uqforge_core::Result;

/// Spatial depth fitted on a sample, plain or whitened by the sample covariance.
#[derive(Debug, Clone)]
pub struct Spatial {
    /// The sample, whitened when `whitening` is set.
    points: Vec<Vec<f64>>,
    /// The Mahalanobis fit whose Cholesky factor whitens queries.
    whitening: Option<Mahalanobis>,
    d: usize,
}

impl Spatial {
    /// The plain spatial depth (Euclidean unit vectors).
    ///
    /// # Errors
    /// [`uqforge_core::Error::EmptyInput`] or [`uqforge_core::Error::NonFinite`].
    pub fn fit(sample: &DMatrix<f64>) -> Result<Self> {
        check_sample("spatial", sample, 1)?;
        Ok(Self {
            points: rows(sample),
            whitening: None,
            d: sample.ncols(),
        })
    }

    /// The affine-invariant spatial depth: sample and queries whitened by the sample
    /// covariance.
    ///
    /// # Errors
    /// Those of [`Mahalanobis::fit`]: at least $d + 1$ points, a non-singular covariance.
    pub fn affine_invariant(sample: &DMatrix<f64>) -> Result<Self> {
        let whitening = Mahalanobis::fit(sample)?;
        let points = rows(sample)
            .iter()
            .map(|p| whitening.whiten(p).as_slice().to_vec())
            .collect();
        Ok(Self {
            points,
            whitening: Some(whitening),
            d: sample.ncols(),
        })
    }
}

impl Depth for Spatial {
    fn dim(&self) -> usize {
        self.d
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        let x: DVector<f64> = match &self.whitening {
            Some(w) => w.whiten(point),
            None => DVector::from_column_slice(point),
        };
        let mut sign = vec![0.0; self.d];
        for p in &self.points {
            let norm = squared_distance(p, x.as_slice()).sqrt();
            if norm > 0.0 {
                for ((s, a), b) in sign.iter_mut().zip(p).zip(x.iter()) {
                    *s += (b - a) / norm;
                }
            }
        }
        let length = sign.iter().map(|s| s * s).sum::<f64>().sqrt() / self.points.len() as f64;
        (1.0 - length).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{affine, affine_case, normal_sample};
    use proptest::prelude::*;
    use uqforge_core::Error;

    #[test]
    fn one_dimensional_closed_form() {
        let x = DMatrix::from_column_slice(6, 1, &[0.0, 1.0, 1.0, 2.0, 5.0, 9.0]);
        let depth = Spatial::fit(&x).unwrap();
        for q in [-1.0, 0.0, 0.5, 1.0, 1.5, 3.0, 9.0, 12.0] {
            let below = x.iter().filter(|v| **v < q).count() as f64;
            let above = x.iter().filter(|v| **v > q).count() as f64;
            let expected = 1.0 - (below - above).abs() / 6.0;
            assert!((depth.depth_of(&[q]) - expected).abs() < 1e-15, "{q}");
        }
    }

    #[test]
    fn vanishes_far_away_and_is_one_at_a_centre_of_symmetry() {
        let half = normal_sample(20, 3, 4);
        let sample = DMatrix::from_fn(40, 3, |i, k| {
            if i < 20 {
                half[(i, k)]
            } else {
                -half[(i - 20, k)]
            }
        });
        for depth in [
            Spatial::fit(&sample).unwrap(),
            Spatial::affine_invariant(&sample).unwrap(),
        ] {
            assert!((depth.depth_of(&[0.0, 0.0, 0.0]) - 1.0).abs() < 1e-12);
            assert!(depth.depth_of(&[1e9, -2e9, 5e8]) < 1e-9);
        }
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(matches!(
            Spatial::fit(&DMatrix::zeros(0, 2)),
            Err(Error::EmptyInput { .. })
        ));
        let flat = DMatrix::from_row_slice(3, 2, &[0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        assert!(Spatial::fit(&flat).is_ok());
        assert!(matches!(
            Spatial::affine_invariant(&flat),
            Err(Error::NotPositiveDefinite { .. })
        ));
    }

    proptest! {
        /// The whitened depth is affine invariant; the plain one only under similarities.
        #[test]
        fn invariance(seed in 0u64..1000, a in prop::array::uniform4(-2.0f64..2.0),
                      b in prop::array::uniform2(-5.0f64..5.0), angle in 0.0f64..6.3,
                      scale in 0.1f64..10.0) {
            let case = affine_case(seed, a, b, 25, 6, 1.5);
            prop_assume!(case.is_some());
            let [x, q, ax, aq] = case.unwrap();
            let before = Spatial::affine_invariant(&x).unwrap().depth(&q).unwrap();
            let after = Spatial::affine_invariant(&ax).unwrap().depth(&aq).unwrap();
            for (u, v) in before.iter().zip(after.iter()) {
                prop_assert!((u - v).abs() < 1e-9, "{u} vs {v}");
                prop_assert!((0.0..=1.0).contains(u));
            }
            let (c, s) = (angle.cos() * scale, angle.sin() * scale);
            let similarity = DMatrix::from_row_slice(2, 2, &[c, -s, s, c]);
            let before = Spatial::fit(&x).unwrap().depth(&q).unwrap();
            let after = Spatial::fit(&affine(&x, &similarity, b)).unwrap()
                .depth(&affine(&q, &similarity, b)).unwrap();
            for (u, v) in before.iter().zip(after.iter()) {
                prop_assert!((u - v).abs() < 1e-9, "{u} vs {v}");
            }
        }
    }
}
