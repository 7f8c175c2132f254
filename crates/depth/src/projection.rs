//! Projection depth: one over one plus the worst standardised distance from the median over
//! all one-dimensional projections.
//!
//! $$ O(x) = \sup_{\lVert u\rVert = 1}
//!    \frac{\lvert u^\top x - \operatorname{med}(u^\top X)\rvert}{\operatorname{MAD}(u^\top X)},
//!    \qquad D(x) = \frac{1}{1 + O(x)} $$
//!
//! (Stahel 1981, Donoho 1982, Liu 1992; studied as a depth by Zuo and Serfling 2000 and Zuo
//! 2003). $\operatorname{med}$ is the sample median of the projections $u^\top x_i$ (the mean
//! of the two middle values when $n$ is even) and
//! $\operatorname{MAD}(u^\top X)$, the median over $i$ of $\lvert u^\top x_i -
//! \operatorname{med}(u^\top X)\rvert$, their median absolute deviation, **unscaled** (no
//! factor $1.4826$): the convention of Zuo (2003) and of ddalpha / data-depth, whose values
//! these are. A user of the scaled MAD gets $1/(1 + O/1.4826)$ from the same outlyingness.
//!
//! Each ratio is invariant under $x \mapsto Ax + b$ when the direction turns with the map
//! ($u \mapsto A^{-\top} u$, normalised), so the supremum, and the depth, are affine
//! invariant. The depth is one at a centre of symmetry (every projection's median is the
//! centre's projection), decreases along rays from it, and tends to zero far away. It is
//! positive everywhere, unlike halfspace depth.
//!
//! # Random directions: an upper bound
//! The supremum over the sphere is approximated by a maximum over $K$ seeded random
//! directions $u_k$ (uniform on the sphere). A maximum over fewer directions can only be
//! smaller, so the computed outlyingness is a lower bound of $O(x)$ and the computed depth an
//! **upper bound** of $D(x)$, decreasing to it as $K$ grows (Dyckerhoff, Mozharovskyi and
//! Nagy 2021 compare smarter searches). Fit: $O(Knd + Kn \log n)$ (median and MAD of each
//! projection); query: $O(Kd)$. The approximation is exactly affine invariant when the
//! directions turn with the map: [`Projection::with_directions`] takes them from the user.
//!
//! A sample with more than half of its points on one hyperplane has a zero MAD along that
//! hyperplane's normal, where the outlyingness is undefined; such a direction is refused.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{Depth, Projection};
//! // 1D, 1..=7: median 4, MAD 2, so 8 is at outlyingness 2 and depth 1/3.
//! let line = DMatrix::from_fn(7, 1, |i, _| (i + 1) as f64);
//! let depth = Projection::fit(&line, 10, 1).unwrap();
//! let d = depth.depth(&DMatrix::from_column_slice(2, 1, &[4.0, 8.0])).unwrap();
//! assert_eq!((d[0], d[1]), (1.0, 1.0 / 3.0));
//! ```
//!
//! # References
//! - Y. Zuo, R. Serfling, "General notions of statistical depth function", Annals of
//!   Statistics 28(2), 2000.
//! - Y. Zuo, "Projection-based depth functions and associated medians", Annals of
//!   Statistics 31(5), 2003.
//! - R. Dyckerhoff, P. Mozharovskyi, S. Nagy, "Approximate computation of projection depths",
//!   Computational Statistics & Data Analysis 157, 2021.

use nalgebra::DMatrix;
use uqforge_core::{Error, Result};

use crate::sample::{Depth, check_finite, check_sample, dot, rows, unit_directions};

/// Projection depth fitted on a sample: for each direction, the median and the MAD of the
/// projected sample.
#[derive(Debug, Clone)]
pub struct Projection {
    d: usize,
    directions: Vec<Vec<f64>>,
    medians: Vec<f64>,
    mads: Vec<f64>,
}

impl Projection {
    /// Fits the depth with `directions` random unit directions from the ChaCha8 stream of
    /// `seed`.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] or [`Error::NonFinite`] for the sample,
    /// [`Error::InvalidParameter`] for zero directions, [`Error::Degenerate`] when a
    /// direction's MAD is zero (more than half the sample on one hyperplane).
    pub fn fit(sample: &DMatrix<f64>, directions: usize, seed: u64) -> Result<Self> {
        check_sample("projection", sample, 1)?;
        uqforge_core::validate::at_least("directions", directions, 1)?;
        Self::from_units(sample, unit_directions(sample.ncols(), directions, seed))
    }

    /// Fits the depth with the given directions (rows of `directions`, normalised here).
    ///
    /// # Errors
    /// Those of [`Projection::fit`]; [`Error::DimensionMismatch`] when `directions` does not
    /// have $d$ columns, [`Error::InvalidParameter`] for a zero direction.
    pub fn with_directions(sample: &DMatrix<f64>, directions: &DMatrix<f64>) -> Result<Self> {
        check_sample("projection", sample, 1)?;
        uqforge_core::validate::len(
            "direction columns (dimension)",
            sample.ncols(),
            directions.ncols(),
        )?;
        if directions.nrows() == 0 {
            return Err(Error::EmptyInput {
                what: "projection directions".into(),
            });
        }
        check_finite("directions", directions)?;
        let mut units = rows(directions);
        for (k, u) in units.iter_mut().enumerate() {
            let norm = dot(u, u).sqrt();
            if norm == 0.0 {
                return Err(Error::invalid_parameter(
                    "directions",
                    format!("direction {k} is zero"),
                ));
            }
            u.iter_mut().for_each(|v| *v /= norm);
        }
        Self::from_units(sample, units)
    }

    fn from_units(sample: &DMatrix<f64>, directions: Vec<Vec<f64>>) -> Result<Self> {
        let points = rows(sample);
        let mut medians = Vec::with_capacity(directions.len());
        let mut mads = Vec::with_capacity(directions.len());
        for (k, u) in directions.iter().enumerate() {
            let mut p: Vec<f64> = points.iter().map(|x| dot(u, x)).collect();
            let med = median(&mut p);
            p.iter_mut().for_each(|v| *v = (*v - med).abs());
            let mad = median(&mut p);
            if mad <= 0.0 {
                return Err(Error::degenerate(
                    "projection depth",
                    format!(
                        "the MAD of the projections on direction {k} is zero: more than half \
                         the sample lies on one hyperplane"
                    ),
                ));
            }
            medians.push(med);
            mads.push(mad);
        }
        Ok(Self {
            d: sample.ncols(),
            directions,
            medians,
            mads,
        })
    }

    /// The outlyingness $O(x)$ over the fitted directions (a lower bound of the supremum).
    pub fn outlyingness(&self, point: &[f64]) -> f64 {
        self.directions
            .iter()
            .zip(self.medians.iter().zip(&self.mads))
            .map(|(u, (med, mad))| (dot(u, point) - med).abs() / mad)
            .fold(0.0, f64::max)
    }
}

impl Depth for Projection {
    fn dim(&self) -> usize {
        self.d
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        1.0 / (1.0 + self.outlyingness(point))
    }
}

/// The median of `values` (mean of the two middle ones for an even count); reorders them.
fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    let (below, mid, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *mid;
    if n % 2 == 1 {
        upper
    } else {
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{affine_case, normal_sample};
    use proptest::prelude::*;

    #[test]
    fn medians_and_mads_follow_the_convention() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        // 1..=4: median 2.5, deviations 1.5, 0.5, 0.5, 1.5, MAD 1; the query 5 is at 2.5.
        let line = DMatrix::from_fn(4, 1, |i, _| (i + 1) as f64);
        let depth = Projection::fit(&line, 3, 9).unwrap();
        let d = depth.depth(&DMatrix::from_element(1, 1, 5.0)).unwrap();
        assert_eq!(d[0], 1.0 / 3.5);
    }

    /// Against the supremum over 200,001 equally spaced directions on the half circle,
    /// computed here by sorting each projection: the random-direction depth is never below
    /// it and comes within 1e-3 with 20,000 directions.
    #[test]
    fn random_directions_bound_the_depth_from_above() {
        let x = normal_sample(31, 2, 3);
        let q = normal_sample(8, 2, 4) * 2.0;
        let grid = DMatrix::from_fn(200_001, 2, |k, c| {
            let t = std::f64::consts::PI * k as f64 / 200_000.0;
            if c == 0 { t.cos() } else { t.sin() }
        });
        let fine = Projection::with_directions(&x, &grid)
            .unwrap()
            .depth(&q)
            .unwrap();
        let few = Projection::fit(&x, 20, 5).unwrap().depth(&q).unwrap();
        let many = Projection::fit(&x, 20_000, 5).unwrap().depth(&q).unwrap();
        for i in 0..q.nrows() {
            assert!(few[i] >= fine[i] - 1e-9 && many[i] >= fine[i] - 1e-9);
            assert!(many[i] - fine[i] < 1e-3, "{} vs {}", many[i], fine[i]);
        }
        assert!(few.iter().zip(fine.iter()).any(|(a, b)| a - b > 1e-3));
    }

    #[test]
    fn one_at_a_centre_of_symmetry_and_vanishing_far_away() {
        let half = normal_sample(20, 3, 11);
        let c = [1.0, -2.0, 0.5];
        let x = DMatrix::from_fn(40, 3, |i, k| {
            if i < 20 {
                half[(i, k)]
            } else {
                2.0 * c[k] - half[(i - 20, k)]
            }
        });
        let depth = Projection::fit(&x, 500, 2).unwrap();
        assert!((depth.depth_of(&c) - 1.0).abs() < 1e-12);
        let far = depth.depth_of(&[1e6, 0.0, 0.0]);
        assert!(far > 0.0 && far < 1e-5);
        let q = normal_sample(50, 3, 12);
        assert!(
            depth
                .depth(&q)
                .unwrap()
                .iter()
                .all(|v| *v > 0.0 && *v < 1.0)
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let x = normal_sample(10, 2, 1);
        assert!(matches!(
            Projection::fit(&x, 0, 1),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Projection::with_directions(&x, &DMatrix::zeros(1, 2)),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Projection::with_directions(&x, &DMatrix::zeros(1, 3)),
            Err(Error::DimensionMismatch { .. })
        ));
        // Six of ten points on the line y = 0: MAD zero along (0, 1).
        let mut flat = normal_sample(10, 2, 2);
        for i in 0..6 {
            flat[(i, 1)] = 0.0;
        }
        let up = DMatrix::from_row_slice(1, 2, &[0.0, 1.0]);
        assert!(matches!(
            Projection::with_directions(&flat, &up),
            Err(Error::Degenerate { .. })
        ));
        let depth = Projection::fit(&x, 10, 1).unwrap();
        assert!(matches!(
            depth.depth(&DMatrix::from_row_slice(1, 2, &[0.0, f64::NAN])),
            Err(Error::NonFinite { .. })
        ));
    }

    proptest! {
        /// Affine invariance with directions that turn with the map, u -> A^{-T} u: the
        /// projections of the mapped sample on the turned direction are an affine image of
        /// the original ones, so every ratio (and the depth) is unchanged.
        #[test]
        fn affine_invariance(seed in 0u64..1000, a in prop::array::uniform4(-2.0f64..2.0),
                             b in prop::array::uniform2(-5.0f64..5.0)) {
            let case = affine_case(seed, a, b, 25, 6, 1.5);
            prop_assume!(case.is_some());
            let [x, q, ax, aq] = case.unwrap();
            let u = normal_sample(50, 2, seed + 7);
            let a = DMatrix::from_row_slice(2, 2, &a);
            let turned = &u * a.try_inverse().unwrap();
            let before = Projection::with_directions(&x, &u).unwrap().depth(&q).unwrap();
            let after = Projection::with_directions(&ax, &turned).unwrap().depth(&aq).unwrap();
            for (p, r) in before.iter().zip(after.iter()) {
                prop_assert!((p - r).abs() < 1e-9 * p.max(1e-3), "{} vs {}", p, r);
                prop_assert!(*p > 0.0 && *p <= 1.0);
            }
        }
    }
}
