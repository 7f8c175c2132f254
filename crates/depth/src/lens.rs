//! Lens depth: the fraction of pairs of sample points whose lens contains the point.
//!
//! $$ D(x) = \binom n2^{-1} \sum_{i < j}
//!    \mathbf 1\big[\max(\lVert x - x_i\rVert, \lVert x - x_j\rVert) \le \lVert x_i - x_j\rVert\big] $$
//!
//! (Liu and Modarres 2011). The lens of $x_i, x_j$ is the intersection of the two balls of
//! radius $\lVert x_i - x_j\rVert$ centred at them: the lune of the $\beta$-skeleton with
//! $\beta = 2$, the points $x$ for which $x_i x_j$ is the longest side of the triangle
//! $x_i x_j x$ (so its largest angle is at $x$). Depth is high
//! where many pairs straddle the point, so, unlike Mahalanobis depth, it needs no moments; it
//! is invariant under similarities (rotations, translations, scalings) but not under every
//! affine map, because it is built on Euclidean distances. Replacing them by the sample
//! Fermat distance makes it follow the density of non-convex or clustered data (Fermat lens
//! depth, [`crate::fermat`]). In 1D the lens of $a < b$ is $[a, b]$, so a point between
//! $L$ sample points below and $R$ above has depth $LR / \binom n2$, at most about $1/2$.
//!
//! The fit stores the $\binom n2$ pairwise distances; a query computes its $n$ distances and
//! checks every pair: $O(nd + n^2)$ per query, $O(n^2)$ memory (fine to $n$ of a few
//! thousand).
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{Depth, Lens};
//! // An equilateral triangle of side 1: its centroid lies in all three lenses.
//! let h = 3f64.sqrt() / 2.0;
//! let sample = DMatrix::from_row_slice(3, 2, &[0.0, 0.0, 1.0, 0.0, 0.5, h]);
//! let d = Lens::fit(&sample).unwrap().depth(&DMatrix::from_row_slice(2, 2, &[0.5, h / 3.0, 3.0, 3.0])).unwrap();
//! assert_eq!((d[0], d[1]), (1.0, 0.0));
//! ```
//!
//! # References
//! - Z. Liu, R. Modarres, "Lens data depth and median", J. Nonparametric Statistics 23(4),
//!   2011.
//! - J. Kleindessner, U. von Luxburg, "Lens depth function and k-relative neighborhood
//!   graph: versatile tools for ordinal data analysis", JMLR 18, 2017.

use nalgebra::DMatrix;
use rayon::prelude::*;
use uqforge_core::Result;

use crate::sample::{Depth, check_sample, rows, squared_distance};

/// Lens depth fitted on a sample of at least two points.
#[derive(Debug, Clone)]
pub struct Lens {
    points: Vec<Vec<f64>>,
    /// Pairwise distances, row `i` holding $\lVert x_i - x_j\rVert$ for $j > i$.
    distances: Vec<Vec<f64>>,
    d: usize,
}

impl Lens {
    /// Fits the lens depth: stores the sample and its pairwise distances.
    ///
    /// # Errors
    /// [`uqforge_core::Error::EmptyInput`], [`uqforge_core::Error::NonFinite`], and
    /// [`uqforge_core::Error::InvalidParameter`] for fewer than two points.
    pub fn fit(sample: &DMatrix<f64>) -> Result<Self> {
        check_sample("lens", sample, 2)?;
        let points = rows(sample);
        let distances = (0..points.len())
            .into_par_iter()
            .map(|i| {
                points[i + 1..]
                    .iter()
                    .map(|q| distance(&points[i], q))
                    .collect()
            })
            .collect();
        Ok(Self {
            points,
            distances,
            d: sample.ncols(),
        })
    }
}

fn distance(p: &[f64], q: &[f64]) -> f64 {
    squared_distance(p, q).sqrt()
}

impl Depth for Lens {
    fn dim(&self) -> usize {
        self.d
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        let r: Vec<f64> = self.points.iter().map(|p| distance(p, point)).collect();
        fraction_in_lenses(&r, |i, j| self.distances[i][j - i - 1])
    }
}

/// The fraction of pairs $i < j$ of sample points with $\max(r_i, r_j) \le$
/// `between(i, j)`: lens depth from the distances `r` of a point to the sample and the
/// distance between sample points (Euclidean here, Fermat in [`crate::fermat`]).
pub(crate) fn fraction_in_lenses(r: &[f64], between: impl Fn(usize, usize) -> f64) -> f64 {
    let n = r.len();
    let inside: usize = (0..n)
        .map(|i| {
            (i + 1..n)
                .filter(|&j| r[i].max(r[j]) <= between(i, j))
                .count()
        })
        .sum();
    inside as f64 / (n * (n - 1) / 2) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{affine, normal_sample};
    use proptest::prelude::*;
    use uqforge_core::Error;

    #[test]
    fn one_dimensional_closed_form() {
        let x = DMatrix::from_column_slice(7, 1, &[0.0, 1.0, 3.0, 4.0, 8.0, 9.5, 10.0]);
        let depth = Lens::fit(&x).unwrap();
        for q in [-1.0, 0.5, 2.0, 3.5, 6.0, 9.75, 11.0] {
            let below = x.iter().filter(|v| **v < q).count();
            let above = x.iter().filter(|v| **v > q).count();
            assert_eq!(depth.depth_of(&[q]), (below * above) as f64 / 21.0, "{q}");
        }
    }

    /// Against the definition through angles: $x$ is in the lens of $x_i, x_j$ exactly when
    /// the angle of the triangle $x_i x_j x$ at $x$ is its largest (the longest side faces
    /// the largest angle), a computation without the stored distances.
    #[test]
    fn equals_the_angle_characterisation() {
        let x = normal_sample(30, 2, 5);
        let depth = Lens::fit(&x).unwrap();
        let q = normal_sample(20, 2, 6) * 1.2;
        for row in q.row_iter() {
            let p = [row[0], row[1]];
            let mut inside = 0;
            for i in 0..30 {
                for j in i + 1..30 {
                    let (a, b) = ([x[(i, 0)], x[(i, 1)]], [x[(j, 0)], x[(j, 1)]]);
                    let angle = |o: [f64; 2], u: [f64; 2], v: [f64; 2]| {
                        let (du, dv) = ([u[0] - o[0], u[1] - o[1]], [v[0] - o[0], v[1] - o[1]]);
                        let c = (du[0] * dv[0] + du[1] * dv[1])
                            / (du[0].hypot(du[1]) * dv[0].hypot(dv[1]));
                        c.clamp(-1.0, 1.0).acos()
                    };
                    let at_p = angle(p, a, b);
                    if at_p + 1e-12 >= angle(a, b, p) && at_p + 1e-12 >= angle(b, a, p) {
                        inside += 1;
                    }
                }
            }
            assert!(
                (depth.depth_of(&p) - f64::from(inside) / 435.0).abs() < 1e-15,
                "{p:?}"
            );
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let one = DMatrix::from_row_slice(1, 2, &[0.0, 0.0]);
        assert!(matches!(
            Lens::fit(&one),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Lens::fit(&DMatrix::zeros(0, 3)),
            Err(Error::EmptyInput { .. })
        ));
    }

    proptest! {
        /// Invariance under similarities, depth in [0, 1], zero far away.
        #[test]
        fn similarity_invariance(seed in 0u64..1000, angle in 0.0f64..6.3, scale in 0.1f64..10.0,
                                 b in prop::array::uniform2(-5.0f64..5.0)) {
            let x = normal_sample(20, 2, seed);
            let q = normal_sample(5, 2, seed + 1) * 1.5;
            let (c, s) = (angle.cos() * scale, angle.sin() * scale);
            let similarity = DMatrix::from_row_slice(2, 2, &[c, -s, s, c]);
            let map = |m: &DMatrix<f64>| affine(m, &similarity, b);
            let before = Lens::fit(&x).unwrap().depth(&q).unwrap();
            let after = Lens::fit(&map(&x)).unwrap().depth(&map(&q)).unwrap();
            for (u, v) in before.iter().zip(after.iter()) {
                // Counts can differ only for a point on a lens boundary (probability zero).
                prop_assert!((u - v).abs() <= 1.0 / 190.0 + 1e-12, "{u} vs {v}");
                prop_assert!((0.0..=1.0).contains(u));
            }
            prop_assert_eq!(Lens::fit(&x).unwrap().depth_of(&[1e3, 1e3]), 0.0);
        }
    }
}
