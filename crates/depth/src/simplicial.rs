//! Simplicial depth: the fraction of simplices with vertices in the sample that contain the
//! point.
//!
//! $$ D(x) = \binom{n}{d+1}^{-1} \sum_{i_0 < \dots < i_d}
//!    \mathbf 1 \lbrace x \in \operatorname{conv}(x_{i_0}, \dots, x_{i_d}) \rbrace $$
//!
//! (Liu 1990), with **closed** simplices: a point on a face, or at a vertex, is inside. It is
//! affine invariant (affine maps preserve convex hulls), zero outside the convex hull of the
//! sample, and its population version is maximal at a centre of angular symmetry.
//!
//! # Exact in one and two dimensions
//! In 1D, a segment $[x_i, x_j]$ misses $x$ exactly when both ends are on the same side:
//! with $l$ points below and $r$ above, $\binom n2 D(x) = \binom n2 - \binom l2 - \binom r2$.
//!
//! In 2D, a closed triangle misses $x$ exactly when a line through $x$ leaves its three
//! vertices strictly on one side (strict separation of a point from a compact convex set),
//! that is when the directions $v = x_i - x$ of its vertices fit in an arc of angle less
//! than $\pi$. Sort the $m$ points other than $x$ by the angle of $v_i$. For each $i$ let
//! $k_i$ count the points that follow it counter-clockwise by less than $\pi$ (those with
//! $v_i \times v_j > 0$, and those in the same direction that come after $i$ in the sorted
//! order). A triangle that misses $x$ is counted exactly once, at its first vertex in that
//! order, so (Rousseeuw and Ruts 1996; Gil, Steiger and Wigderson 1992)
//!
//! $$ \binom n3 D(x) = \binom n3 - \sum_i \binom{k_i}{2} . $$
//!
//! Triangles with a vertex at $x$ contain it, and two points in opposite directions put $x$
//! on their segment; neither is subtracted. One sort and one sweep: $O(n \log n)$ per query.
//!
//! # Random simplices in any dimension
//! In $d \ge 3$ the exact count costs $O(n^{d+1})$ by enumeration. With $K$ simplices of
//! $d + 1$ distinct sample points drawn uniformly from a seeded ChaCha8 stream, the fraction
//! that contains $x$ (barycentric coordinates all non-negative) is an unbiased estimate of
//! $D(x)$ with standard error at most $1/(2\sqrt K)$; it is neither an upper nor a lower bound.
//! Fit: $O(K d^3)$ (one inverse per simplex); query: $O(K d^2)$. A flat simplex (its
//! vertices on a hyperplane) contains no point in general position and counts as missing.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{Depth, Simplicial};
//! // The four corners of a square: the centre lies in all four triangles, a point near a
//! // corner in two of them.
//! let square = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]);
//! let depth = Simplicial::exact(&square).unwrap();
//! let d = depth.depth(&DMatrix::from_row_slice(2, 2, &[0.5, 0.5, 0.9, 0.8])).unwrap();
//! assert_eq!((d[0], d[1]), (1.0, 0.5));
//! ```
//!
//! # References
//! - R. Y. Liu, "On a notion of data depth based on random simplices", Annals of Statistics
//!   18(1), 1990.
//! - P. J. Rousseeuw, I. Ruts, "Algorithm AS 307: bivariate location depth", Applied
//!   Statistics 45(4), 1996.
//! - J. Gil, W. Steiger, A. Wigderson, "Geometric medians", Discrete Mathematics 108, 1992.

use nalgebra::{DMatrix, DVector};
use uqforge_core::rng::{rng_from_seed, uniform01};
use uqforge_core::{Error, Result};

use crate::sample::{Depth, check_sample, directions_by_angle, rows};

/// How [`Simplicial`] computes the depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimplicialMethod {
    /// Exact: dimensions 1 and 2.
    Exact,
    /// The fraction of `simplices` random simplices drawn from `seed`: unbiased.
    RandomSimplices {
        /// Number of simplices $K \ge 1$.
        simplices: usize,
        /// Seed of the ChaCha8 stream of vertex indices.
        seed: u64,
    },
}

/// Simplicial depth fitted on a sample.
#[derive(Debug, Clone)]
pub struct Simplicial {
    n: usize,
    d: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Exact(Vec<Vec<f64>>),
    /// For each simplex, its first vertex and the inverse of the matrix of its edges from
    /// that vertex (`None` when the simplex is flat).
    Random(Vec<(DVector<f64>, Option<DMatrix<f64>>)>),
}

impl Simplicial {
    /// Fits the depth with the given method.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] and [`Error::NonFinite`] for the sample;
    /// [`Error::InvalidParameter`] for fewer than $d + 1$ points, for
    /// [`SimplicialMethod::Exact`] in dimension 3 or more, or zero simplices.
    pub fn fit(sample: &DMatrix<f64>, method: SimplicialMethod) -> Result<Self> {
        let (n, d) = sample.shape();
        check_sample("simplicial", sample, d + 1)?;
        let kind = match method {
            SimplicialMethod::Exact => {
                if d > 2 {
                    return Err(Error::invalid_parameter(
                        "method",
                        format!(
                            "exact simplicial depth is implemented in dimensions 1 and 2, not \
                             {d}; use random simplices"
                        ),
                    ));
                }
                Kind::Exact(rows(sample))
            }
            SimplicialMethod::RandomSimplices { simplices, seed } => {
                uqforge_core::validate::at_least("simplices", simplices, 1)?;
                let mut rng = rng_from_seed(seed);
                let mut drawn = Vec::with_capacity(simplices);
                let mut vertices = Vec::with_capacity(d + 1);
                for _ in 0..simplices {
                    vertices.clear();
                    while vertices.len() < d + 1 {
                        let i = ((uniform01(&mut rng) * n as f64) as usize).min(n - 1);
                        if !vertices.contains(&i) {
                            vertices.push(i);
                        }
                    }
                    let origin = sample.row(vertices[0]).transpose();
                    let edges =
                        DMatrix::from_fn(d, d, |r, c| sample[(vertices[c + 1], r)] - origin[r]);
                    drawn.push((origin, edges.try_inverse()));
                }
                Kind::Random(drawn)
            }
        };
        Ok(Self { n, d, kind })
    }

    /// The exact depth (dimensions 1 and 2): shorthand for [`Simplicial::fit`] with
    /// [`SimplicialMethod::Exact`].
    ///
    /// # Errors
    /// Those of [`Simplicial::fit`].
    pub fn exact(sample: &DMatrix<f64>) -> Result<Self> {
        Self::fit(sample, SimplicialMethod::Exact)
    }
}

impl Depth for Simplicial {
    fn dim(&self) -> usize {
        self.d
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        let n = self.n as u128;
        match &self.kind {
            Kind::Exact(points) if self.d == 1 => {
                let below = points.iter().filter(|p| p[0] < point[0]).count() as u128;
                let above = points.iter().filter(|p| p[0] > point[0]).count() as u128;
                let all = pairs(n);
                (all - pairs(below) - pairs(above)) as f64 / all as f64
            }
            Kind::Exact(points) => {
                let all = n * (n - 1) * (n - 2) / 6;
                (all - missing_2d(points, point)) as f64 / all as f64
            }
            Kind::Random(simplices) => {
                let x = DVector::from_column_slice(point);
                let inside = simplices
                    .iter()
                    .filter(|(origin, inverse)| {
                        inverse.as_ref().is_some_and(|inv| {
                            let lambda = inv * (&x - origin);
                            lambda.iter().all(|l| *l >= 0.0) && lambda.sum() <= 1.0
                        })
                    })
                    .count();
                inside as f64 / simplices.len() as f64
            }
        }
    }
}

/// $\binom k2$.
fn pairs(k: u128) -> u128 {
    k * k.saturating_sub(1) / 2
}

/// The number of sample triangles that miss `x`, $\sum_i \binom{k_i}{2}$, by one angular
/// sort and a two-pointer sweep.
fn missing_2d(points: &[Vec<f64>], x: &[f64]) -> u128 {
    let v = directions_by_angle(points, x);
    let m = v.len();
    let cross = |p: (f64, f64), q: (f64, f64)| p.0 * q.1 - p.1 * q.0;
    let same_direction =
        |p: (f64, f64), q: (f64, f64)| cross(p, q) == 0.0 && p.0 * q.0 + p.1 * q.1 > 0.0;
    let mut missing = 0;
    // `end` (unwrapped index) is one past the last point within less than pi after v_i; it
    // only moves forward as i turns counter-clockwise.
    let mut end = 0;
    for i in 0..m {
        end = end.max(i + 1);
        while end < i + m {
            let w = v[end % m];
            let ahead = cross(v[i], w) > 0.0 || (end < m && same_direction(v[i], w));
            if !ahead {
                break;
            }
            end += 1;
        }
        missing += pairs((end - i - 1) as u128);
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{affine_case, integer_grid, normal_sample, queries_with_sample_rows};
    use proptest::prelude::*;

    /// Closed containment of `x` in the triangle (a, b, c) from the signs of three
    /// orientation determinants (degenerate triangles: `x` on the hull segment).
    fn in_triangle(a: &[f64], b: &[f64], c: &[f64], x: &[f64]) -> bool {
        let orient = |p: &[f64], q: &[f64], r: &[f64]| {
            (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        };
        let on_segment = |p: &[f64], q: &[f64]| {
            orient(p, q, x) == 0.0
                && x[0] >= p[0].min(q[0])
                && x[0] <= p[0].max(q[0])
                && x[1] >= p[1].min(q[1])
                && x[1] <= p[1].max(q[1])
        };
        let (d1, d2, d3) = (orient(a, b, x), orient(b, c, x), orient(c, a, x));
        if orient(a, b, c) == 0.0 {
            return on_segment(a, b) || on_segment(b, c) || on_segment(c, a);
        }
        let negative = d1 < 0.0 || d2 < 0.0 || d3 < 0.0;
        let positive = d1 > 0.0 || d2 > 0.0 || d3 > 0.0;
        !(negative && positive)
    }

    /// The definition by enumeration of all O(n^3) triangles.
    fn brute_force_2d(sample: &DMatrix<f64>, x: &[f64]) -> f64 {
        let p = rows(sample);
        let n = p.len();
        let mut inside = 0u64;
        for i in 0..n {
            for j in i + 1..n {
                for k in j + 1..n {
                    inside += u64::from(in_triangle(&p[i], &p[j], &p[k], x));
                }
            }
        }
        inside as f64 / (n * (n - 1) * (n - 2) / 6) as f64
    }

    #[test]
    fn exact_2d_equals_the_enumeration() {
        for seed in 0..10 {
            let x = normal_sample(25 + seed as usize, 2, seed);
            let depth = Simplicial::exact(&x).unwrap();
            let queries = queries_with_sample_rows(&x, 12, 50 + seed, 1.5, 2);
            for q in queries.row_iter() {
                let q = [q[0], q[1]];
                assert_eq!(
                    depth.depth_of(&q),
                    brute_force_2d(&x, &q),
                    "seed {seed}, {q:?}"
                );
            }
        }
    }

    /// Ties: a small integer grid with repeated points, queried on and between grid points
    /// (collinear triples, flat triangles, points on edges).
    #[test]
    fn exact_2d_with_ties_equals_the_enumeration() {
        let x = integer_grid(4, 3, &[[1.0, 1.0], [2.0, 1.0], [0.0, 0.0]]);
        let depth = Simplicial::exact(&x).unwrap();
        for i in -1..=7 {
            for j in -1..=5 {
                let q = [f64::from(i) / 2.0, f64::from(j) / 2.0];
                assert_eq!(depth.depth_of(&q), brute_force_2d(&x, &q), "query {q:?}");
            }
        }
    }

    #[test]
    fn one_dimension_and_closed_forms() {
        // 1..=5 at 3: segments missing it are {1,2} and {4,5}: 8/10.
        let line = DMatrix::from_fn(5, 1, |i, _| (i + 1) as f64);
        let depth = Simplicial::exact(&line).unwrap();
        let d = depth
            .depth(&DMatrix::from_column_slice(3, 1, &[3.0, 1.0, 0.0]))
            .unwrap();
        assert_eq!(d.as_slice(), &[0.8, 0.4, 0.0]);
        // Regular pentagon, centre: a triangle of vertices misses it exactly when the three
        // are consecutive (5 of the 10).
        let pentagon = DMatrix::from_fn(5, 2, |i, k| {
            let t = 2.0 * std::f64::consts::PI * i as f64 / 5.0;
            if k == 0 { t.cos() } else { t.sin() }
        });
        let depth = Simplicial::exact(&pentagon).unwrap();
        assert_eq!(depth.depth_of(&[0.0, 0.0]), 0.5);
        assert_eq!(depth.depth_of(&[3.0, 0.0]), 0.0);
    }

    /// Random simplices in 2D against the exact depth: within four standard errors.
    #[test]
    fn random_simplices_estimate_the_exact_depth() {
        let x = normal_sample(40, 2, 21);
        let exact = Simplicial::exact(&x).unwrap();
        let k = 20_000;
        let random = Simplicial::fit(
            &x,
            SimplicialMethod::RandomSimplices {
                simplices: k,
                seed: 3,
            },
        )
        .unwrap();
        let q = normal_sample(10, 2, 22);
        for row in q.row_iter() {
            let p = [row[0], row[1]];
            let (e, r) = (exact.depth_of(&p), random.depth_of(&p));
            let se = (e * (1.0 - e) / k as f64).sqrt().max(1e-3);
            assert!((e - r).abs() < 4.0 * se, "{e} vs {r}");
        }
        // Far outside the hull no simplex contains the point.
        assert_eq!(random.depth_of(&[100.0, 0.0]), 0.0);
    }

    /// Wendel (1962): d + 1 points from a distribution symmetric about the origin contain it
    /// with probability 2^-d, the depth of the centre: 1/4 in 2D (exact, n = 2000) and 1/8
    /// in 3D (random simplices).
    #[test]
    fn the_centre_of_a_symmetric_distribution_has_depth_two_to_the_minus_d() {
        let x = normal_sample(2000, 2, 31);
        let centre = Simplicial::exact(&x).unwrap().depth_of(&[0.0, 0.0]);
        assert!((centre - 0.25).abs() < 0.01, "{centre}");
        let y = normal_sample(2000, 3, 32);
        let random = Simplicial::fit(
            &y,
            SimplicialMethod::RandomSimplices {
                simplices: 50_000,
                seed: 4,
            },
        )
        .unwrap();
        let centre = random.depth_of(&[0.0, 0.0, 0.0]);
        assert!((centre - 0.125).abs() < 0.01, "{centre}");
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(matches!(
            Simplicial::exact(&normal_sample(2, 2, 1)),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Simplicial::exact(&normal_sample(10, 3, 1)),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Simplicial::fit(
                &normal_sample(10, 3, 1),
                SimplicialMethod::RandomSimplices {
                    simplices: 0,
                    seed: 1
                }
            ),
            Err(Error::InvalidParameter { .. })
        ));
        let depth = Simplicial::exact(&normal_sample(10, 2, 1)).unwrap();
        assert!(matches!(
            depth.depth(&DMatrix::zeros(1, 3)),
            Err(Error::DimensionMismatch { .. })
        ));
    }

    proptest! {
        /// Affine invariance of the exact 2D depth, and depth in [0, 1].
        #[test]
        fn affine_invariance(seed in 0u64..1000, a in prop::array::uniform4(-2.0f64..2.0),
                             b in prop::array::uniform2(-5.0f64..5.0)) {
            let case = affine_case(seed, a, b, 25, 6, 1.5);
            prop_assume!(case.is_some());
            let [x, q, ax, aq] = case.unwrap();
            let before = Simplicial::exact(&x).unwrap().depth(&q).unwrap();
            let after = Simplicial::exact(&ax).unwrap().depth(&aq).unwrap();
            prop_assert_eq!(&before, &after);
            prop_assert!(before.iter().all(|d| (0.0..=1.0).contains(d)));
        }
    }
}
