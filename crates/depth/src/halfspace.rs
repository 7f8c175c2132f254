//! Halfspace (Tukey) depth: the smallest fraction of the sample in a closed halfspace that
//! contains the point.
//!
//! $$ D(x) = \frac1n \min_{\lVert u\rVert = 1}
//!    \operatorname{card} \lbrace i : u^\top (x_i - x) \ge 0 \rbrace $$
//!
//! (Tukey 1975). It is affine invariant, at most $1/2$ at a point that is not in the sample
//! (turning a line through it swaps the two sides), zero outside the convex hull of the
//! sample, and its level sets are nested convex regions that generalise quantiles. The
//! convention here is the closed halfspace: sample points equal to $x$ count in every
//! halfspace, so a point of the sample has depth at least $1/n$.
//!
//! # Exact in one and two dimensions
//! In 1D, $D(x) = \min(\operatorname{card} \lbrace i : x_i \le x\rbrace,
//! \operatorname{card} \lbrace i : x_i \ge x\rbrace) / n$. In 2D (Rousseeuw and Ruts 1996),
//! only directions matter. With $v_i = x_i - x$ and $k_0$ the number of sample points equal
//! to $x$ (in every halfplane), a closed halfplane through $x$ counts at least as many points
//! as a nearby one with no $v_i$ on its boundary, so the minimum is over those "generic"
//! halfplanes, the open half-circles $(t, t + \pi)$ of angles. Their count changes only when
//! $t$ crosses the angle of some $v_i$ or its opposite, so it suffices to evaluate it just
//! after each: with $L_i$ the points strictly to the left of the ray through $x_i$
//! ($v_i \times v_j > 0$, the 2D cross product) and $O_i$ those in the opposite direction,
//! the half-circle starting just after $v_i$ holds $A_i = L_i + O_i$ points and the one
//! starting just after $-v_i$ holds the other $m - A_i$, with $m = n - k_0$:
//!
//! $$ n D(x) = k_0 + \min_i \min(A_i, m - A_i) . $$
//!
//! Sorting the $v_i$ by angle makes the points to the left of each ray a contiguous arc,
//! followed by the opposite ones, and the arc's end moves forward as the ray turns: one sort
//! and one sweep, $O(n \log n)$ per query. Points in the same direction from $x$ share one
//! count. (Counting $L_i$ alone, open halfplanes whose boundary holds sample points on both
//! sides of $x$, undercounts on data with collinear points: the tests check grids.)
//!
//! # Exact in three dimensions
//! The count $\operatorname{card} \lbrace i : u^\top v_i > 0\rbrace$ is constant on the cells
//! of the arrangement of great circles $C_i = \lbrace u : u^\top v_i = 0\rbrace$ on the
//! sphere, and, as in 2D, the minimum over closed halfspaces is $k_0$ plus the minimum over
//! these cells. Every cell borders some circle $C_i$; next to $C_i$, on the side that
//! excludes $v_i$, the count is that of a generic direction $u \perp v_i$, in which only the
//! projections $w_k$ of the $v_k$ on the plane orthogonal to $v_i$ matter, plus the points
//! opposite to $v_i$ (on its line, which every $u \perp v_i$ leaves on the boundary). So
//!
//! $$ n D(x) = k_0 + \min_i \Big( \operatorname{card} \lbrace k : v_k = -c v_i, c > 0\rbrace
//!    + m_2(\lbrace w_k\rbrace) \Big) , $$
//!
//! with $m_2$ the 2D generic minimum above: $n$ angular sweeps, $O(n^2 \log n)$ per query
//! (Rousseeuw and Struyf 1998).
//!
//! # Approximate in any dimension
//! With $K$ seeded random directions $u_k$ (uniform on the sphere),
//! $\min_k \min(\operatorname{card} \lbrace i : u_k^\top x_i \ge u_k^\top x\rbrace,
//! \operatorname{card} \lbrace i : u_k^\top x_i \le u_k^\top x\rbrace) / n$
//! is a minimum over a subset of the directions of the definition, so it is an **upper
//! bound** of the depth that decreases to it as $K$ grows (Dyckerhoff, Mozharovskyi and
//! Nagy 2021 compare such approximations). Fit: $O(Knd + Kn \log n)$ (sorted projections);
//! query: $O(K(d + \log n))$.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{Depth, Halfspace};
//! // The five vertices of a regular pentagon: from the centre, every halfplane holds at
//! // least two of them.
//! let pentagon = DMatrix::from_fn(5, 2, |i, k| {
//!     let t = 2.0 * std::f64::consts::PI * i as f64 / 5.0;
//!     if k == 0 { t.cos() } else { t.sin() }
//! });
//! let depth = Halfspace::exact(&pentagon).unwrap();
//! let d = depth.depth(&DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 5.0, 0.0])).unwrap();
//! assert_eq!((d[0], d[1]), (2.0 / 5.0, 0.0));
//! ```
//!
//! # References
//! - J. W. Tukey, "Mathematics and the picturing of data", Proceedings of the International
//!   Congress of Mathematicians, Vancouver, 1975.
//! - P. J. Rousseeuw, I. Ruts, "Algorithm AS 307: bivariate location depth", Applied
//!   Statistics 45(4), 1996.
//! - P. J. Rousseeuw, A. Struyf, "Computing location depth and regression depth in higher
//!   dimensions", Statistics and Computing 8, 1998.
//! - R. Dyckerhoff, P. Mozharovskyi, S. Nagy, "Approximate computation of projection depths",
//!   Computational Statistics & Data Analysis 157, 2021.

use nalgebra::DMatrix;
use uqforge_core::{Error, Result};

use crate::sample::{
    Depth, check_sample, directions_by_angle, dot, rows, sorted_by_angle, unit_directions,
};

/// How [`Halfspace`] computes the depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HalfspaceMethod {
    /// Exact: dimensions 1 to 3.
    Exact,
    /// Minimum over `directions` random directions drawn from `seed`: an upper bound.
    RandomDirections {
        /// Number of directions $K \ge 1$.
        directions: usize,
        /// Seed of the ChaCha8 stream of directions.
        seed: u64,
    },
}

/// Halfspace depth fitted on a sample.
#[derive(Debug, Clone)]
pub struct Halfspace {
    n: usize,
    d: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// The sample's coordinates, for the exact 1D to 3D computations.
    Exact(Vec<Vec<f64>>),
    /// Unit directions and, for each, the sorted projections of the sample.
    Random {
        directions: Vec<Vec<f64>>,
        projections: Vec<Vec<f64>>,
    },
}

impl Halfspace {
    /// Fits the depth with the given method.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] and [`Error::NonFinite`] for the sample;
    /// [`Error::InvalidParameter`] for [`HalfspaceMethod::Exact`] in dimension 4 or more,
    /// or zero directions.
    pub fn fit(sample: &DMatrix<f64>, method: HalfspaceMethod) -> Result<Self> {
        check_sample("halfspace", sample, 1)?;
        let (n, d) = sample.shape();
        let kind = match method {
            HalfspaceMethod::Exact => {
                if d > 3 {
                    return Err(Error::invalid_parameter(
                        "method",
                        format!(
                            "exact halfspace depth is implemented in dimensions 1 to 3, not \
                             {d}; use random directions (an upper bound)"
                        ),
                    ));
                }
                Kind::Exact(rows(sample))
            }
            HalfspaceMethod::RandomDirections { directions, seed } => {
                uqforge_core::validate::at_least("directions", directions, 1)?;
                let units = unit_directions(d, directions, seed);
                let points = rows(sample);
                let projections = units
                    .iter()
                    .map(|u| {
                        let mut p: Vec<f64> = points.iter().map(|x| dot(u, x)).collect();
                        p.sort_by(f64::total_cmp);
                        p
                    })
                    .collect();
                Kind::Random {
                    directions: units,
                    projections,
                }
            }
        };
        Ok(Self { n, d, kind })
    }

    /// The exact depth (dimensions 1 to 3): shorthand for [`Halfspace::fit`] with
    /// [`HalfspaceMethod::Exact`].
    ///
    /// # Errors
    /// Those of [`Halfspace::fit`].
    pub fn exact(sample: &DMatrix<f64>) -> Result<Self> {
        Self::fit(sample, HalfspaceMethod::Exact)
    }

    /// The number of sample points in the least populated closed halfspace containing the
    /// point: $n D(x)$.
    pub fn count(&self, point: &[f64]) -> usize {
        match &self.kind {
            Kind::Exact(points) if self.d == 1 => {
                let below = points.iter().filter(|x| x[0] <= point[0]).count();
                let above = points.iter().filter(|x| x[0] >= point[0]).count();
                below.min(above)
            }
            Kind::Exact(points) if self.d == 2 => count_2d(points, point),
            Kind::Exact(points) => count_3d(points, point),
            Kind::Random {
                directions,
                projections,
            } => directions
                .iter()
                .zip(projections)
                .map(|(u, p)| {
                    let t = dot(u, point);
                    let below = p.partition_point(|v| *v <= t);
                    let above = p.len() - p.partition_point(|v| *v < t);
                    below.min(above)
                })
                .min()
                .unwrap_or(self.n),
        }
    }
}

impl Depth for Halfspace {
    fn dim(&self) -> usize {
        self.d
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        self.count(point) as f64 / self.n as f64
    }
}

/// $n D(x)$ in 2D by one angular sort and sweep (Rousseeuw and Ruts 1996).
fn count_2d(points: &[Vec<f64>], x: &[f64]) -> usize {
    let v = directions_by_angle(points, x);
    points.len() - v.len() + least_open_2d(&v)
}

/// The fewest of the non-zero 2D vectors `v` (sorted by angle) in an open half-plane
/// through the origin whose boundary holds none of them: $\min_i \min(A_i, m - A_i)$.
fn least_open_2d(v: &[(f64, f64)]) -> usize {
    let m = v.len();
    let cross = |p: (f64, f64), q: (f64, f64)| p.0 * q.1 - p.1 * q.0;
    let same_direction =
        |p: (f64, f64), q: (f64, f64)| cross(p, q) == 0.0 && p.0 * q.0 + p.1 * q.1 > 0.0;
    let at = |k: usize| v[k % m];
    let mut least = m;
    let mut end = 0;
    let mut i = 0;
    while i < m {
        // The group of points in the direction of v_i.
        let mut g = 1;
        while g < m && same_direction(v[i], at(i + g)) {
            g += 1;
        }
        // Points strictly to the left of the ray: the arc after the group, up to the first
        // point at or beyond the opposite direction; then the opposite points.
        end = end.max(i + g);
        while end < i + m && cross(v[i], at(end)) > 0.0 {
            end += 1;
        }
        let mut opposite = 0;
        while end + opposite < i + m && same_direction(at(end + opposite), (-v[i].0, -v[i].1)) {
            opposite += 1;
        }
        let a = end - (i + g) + opposite;
        least = least.min(a).min(m - a);
        i += g;
    }
    least
}

/// $n D(x)$ in 3D: for every sample direction $v_i$, the 2D count of the other directions
/// projected on the plane orthogonal to $v_i$ (Rousseeuw and Struyf 1998).
fn count_3d(points: &[Vec<f64>], x: &[f64]) -> usize {
    let v: Vec<[f64; 3]> = points
        .iter()
        .map(|p| [p[0] - x[0], p[1] - x[1], p[2] - x[2]])
        .filter(|v| v.iter().any(|c| *c != 0.0))
        .collect();
    let at_x = points.len() - v.len();
    let mut least = v.len();
    let mut projected = Vec::with_capacity(v.len());
    for vi in &v {
        let (a, b) = plane_basis(vi);
        let mut opposite = 0;
        projected.clear();
        for vk in &v {
            if cross3(vi, vk).iter().all(|c| *c == 0.0) {
                // On the line of v_i: on the side of v_i's circle that excludes v_i, the
                // opposite ones are in and those along v_i out.
                opposite += usize::from(dot(vi, vk) < 0.0);
            } else {
                projected.push((dot(&a, vk), dot(&b, vk)));
            }
        }
        let w = sorted_by_angle(projected.iter().copied().filter(|p| *p != (0.0, 0.0)));
        least = least.min(opposite + least_open_2d(&w));
    }
    at_x + least
}

fn cross3(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// An orthogonal basis $(a, b)$ of the plane orthogonal to `v` (non-zero): $a = v \times e$
/// for the coordinate axis $e$ least aligned with $v$, $b = v \times a$. Not normalised:
/// a diagonal scaling of the plane changes no angular order and no half-plane count, and
/// without square roots and divisions the coordinates $(a^\top v_k, b^\top v_k)$ are exact
/// for small integer data, so that parallel vectors stay exactly parallel (ties).
fn plane_basis(v: &[f64; 3]) -> ([f64; 3], [f64; 3]) {
    let k = (0..3)
        .min_by(|&a, &b| v[a].abs().total_cmp(&v[b].abs()))
        .unwrap_or(0);
    let mut axis = [0.0; 3];
    axis[k] = 1.0;
    let a = cross3(v, &axis);
    let b = cross3(v, &a);
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{affine_case, integer_grid, normal_sample, queries_with_sample_rows};
    use proptest::prelude::*;

    /// The definition, by enumeration: closed halfplanes whose boundary passes through x,
    /// with normals perpendicular to each x_i - x turned by +-1e-7 rad (the candidate
    /// directions of the minimum), counted with dot products: O(n^2), no sorting.
    fn brute_force_2d(sample: &DMatrix<f64>, x: &[f64]) -> usize {
        let v: Vec<(f64, f64)> = sample
            .row_iter()
            .map(|r| (r[0] - x[0], r[1] - x[1]))
            .collect();
        let count = |u: (f64, f64)| v.iter().filter(|p| u.0 * p.0 + u.1 * p.1 >= 0.0).count();
        let mut least = count((1.0, 0.0));
        for p in &v {
            if p.0 == 0.0 && p.1 == 0.0 {
                continue;
            }
            let angle = p.1.atan2(p.0);
            for side in [-1.0, 1.0] {
                for turn in [-1e-7, 1e-7] {
                    let t = angle + side * std::f64::consts::FRAC_PI_2 + turn;
                    least = least.min(count((t.cos(), t.sin())));
                }
            }
        }
        least
    }

    #[test]
    fn exact_2d_equals_the_brute_force() {
        for seed in 0..20 {
            let x = normal_sample(40 + seed as usize, 2, seed);
            let depth = Halfspace::exact(&x).unwrap();
            let queries = queries_with_sample_rows(&x, 15, 100 + seed, 1.5, 3);
            for q in queries.row_iter() {
                let q = [q[0], q[1]];
                assert_eq!(
                    depth.count(&q),
                    brute_force_2d(&x, &q),
                    "seed {seed}, query {q:?}"
                );
            }
        }
    }

    /// Ties: a grid with repeated points and queries on sample points and on lines
    /// through several of them.
    #[test]
    fn exact_2d_with_ties_equals_the_brute_force() {
        let x = integer_grid(5, 4, &[[2.0, 1.0], [2.0, 1.0], [0.0, 0.0]]);
        let depth = Halfspace::exact(&x).unwrap();
        // Every point of the half-integer grid around it: on sample points, between them, on
        // lines through several of them, outside.
        for i in -2..=10 {
            for j in -2..=8 {
                let q = [f64::from(i) / 2.0, f64::from(j) / 2.0];
                assert_eq!(depth.count(&q), brute_force_2d(&x, &q), "query {q:?}");
            }
        }
    }

    /// The 3D definition by enumeration: every cell of the arrangement of the circles
    /// u.v_i = 0 has a vertex u0 = +-(v_i x v_j); the four cells around it are reached by
    /// u = u0 + d, with d solving v_i.d = s1 t, v_j.d = s2 t (t = 1e-7, signs +-1); closed
    /// halfspaces counted with dot products. O(n^3) directions, O(n^4) work, no sorting.
    fn brute_force_3d(sample: &DMatrix<f64>, x: &[f64]) -> usize {
        let v: Vec<[f64; 3]> = sample
            .row_iter()
            .map(|r| [r[0] - x[0], r[1] - x[1], r[2] - x[2]])
            .collect();
        let count = |u: [f64; 3]| v.iter().filter(|p| dot(&u, *p) >= 0.0).count();
        let mut least = count([1.0, 0.0, 0.0]);
        for i in 0..v.len() {
            for j in 0..v.len() {
                let c = cross3(&v[i], &v[j]);
                if c.iter().all(|a| *a == 0.0) {
                    continue;
                }
                let g = DMatrix::from_row_slice(
                    2,
                    2,
                    &[
                        dot(&v[i], &v[i]),
                        dot(&v[i], &v[j]),
                        dot(&v[j], &v[i]),
                        dot(&v[j], &v[j]),
                    ],
                );
                let inv = g.try_inverse().unwrap();
                for sign in [-1.0, 1.0] {
                    for (s1, s2) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
                        // d = V (V^T V)^-1 (s1, s2) t with V = [v_i v_j].
                        let a = 1e-7 * (inv[(0, 0)] * s1 + inv[(0, 1)] * s2);
                        let b = 1e-7 * (inv[(1, 0)] * s1 + inv[(1, 1)] * s2);
                        let norm = dot(&c, &c).sqrt();
                        let u: [f64; 3] =
                            std::array::from_fn(|k| sign * c[k] / norm + a * v[i][k] + b * v[j][k]);
                        least = least.min(count(u));
                    }
                }
            }
        }
        least
    }

    #[test]
    fn exact_3d_equals_the_brute_force() {
        for seed in 0..6 {
            let x = normal_sample(14 + seed as usize, 3, 300 + seed);
            let depth = Halfspace::exact(&x).unwrap();
            let queries = queries_with_sample_rows(&x, 6, 400 + seed, 1.2, 2);
            for q in queries.row_iter() {
                let q = [q[0], q[1], q[2]];
                assert_eq!(
                    depth.count(&q),
                    brute_force_3d(&x, &q),
                    "seed {seed}, query {q:?}"
                );
            }
        }
    }

    /// Ties in 3D: a 3 x 3 x 2 integer grid with the centre of its bottom face repeated,
    /// queried on grid points (coplanar and collinear sample points through the query).
    #[test]
    fn exact_3d_with_ties_matches_hand_counts() {
        let mut pts = Vec::new();
        for i in 0..3 {
            for j in 0..3 {
                for k in 0..2 {
                    pts.extend([f64::from(i), f64::from(j), f64::from(k)]);
                }
            }
        }
        pts.extend([1.0, 1.0, 0.0]);
        let x = DMatrix::from_row_slice(19, 3, &pts);
        let depth = Halfspace::exact(&x).unwrap();
        // Exact counts on the grid's faces and edges, and never above the random-direction
        // bound.
        assert_eq!(depth.count(&[0.0, 0.0, 0.0]), 1, "a corner");
        // The middle of an edge: every halfspace holding it holds an end of the edge.
        assert_eq!(depth.count(&[0.0, 1.0, 0.0]), 2, "the middle of an edge");
        // The centre of the bottom face (twice in the sample): a plane through it splits the
        // eight other points of the bottom layer four and four (they come in antipodal
        // pairs), and tilts away from the top layer.
        assert_eq!(
            depth.count(&[1.0, 1.0, 0.0]),
            6,
            "the centre of the bottom face"
        );
        let random = Halfspace::fit(
            &x,
            HalfspaceMethod::RandomDirections {
                directions: 20_000,
                seed: 2,
            },
        )
        .unwrap();
        for q in [
            [1.0, 1.0, 0.5],
            [1.0, 1.0, 0.0],
            [0.0, 0.0, 0.0],
            [0.5, 1.5, 0.5],
        ] {
            let (e, r) = (depth.count(&q), random.count(&q));
            assert!(e <= r, "{q:?}: exact {e} above the bound {r}");
        }
        // Symmetric queries of the grid's symmetries have equal depths.
        assert_eq!(depth.count(&[0.0, 0.0, 0.0]), depth.count(&[2.0, 2.0, 1.0]));
        assert_eq!(depth.count(&[0.0, 1.0, 0.0]), depth.count(&[1.0, 0.0, 1.0]));
    }

    #[test]
    fn closed_forms() {
        // 1D: the median of 1..=7 has depth 4/7, the end points 1/7, outside 0.
        let line = DMatrix::from_fn(7, 1, |i, _| (i + 1) as f64);
        let depth = Halfspace::exact(&line).unwrap();
        let d = depth
            .depth(&DMatrix::from_column_slice(3, 1, &[4.0, 7.0, 7.5]))
            .unwrap();
        assert_eq!(d.as_slice(), &[4.0 / 7.0, 1.0 / 7.0, 0.0]);
        // Regular m-gon (m odd) with its centre: (m - 1)/2 vertices in the best halfplane.
        for m in [5usize, 7, 11] {
            let polygon = DMatrix::from_fn(m, 2, |i, k| {
                let t = 2.0 * std::f64::consts::PI * i as f64 / m as f64;
                if k == 0 { t.cos() } else { t.sin() }
            });
            assert_eq!(
                Halfspace::exact(&polygon).unwrap().count(&[0.0, 0.0]),
                (m - 1) / 2
            );
        }
    }

    /// Random directions never go below the exact depth and reach it with enough
    /// directions on a small sample.
    #[test]
    fn random_directions_bound_the_exact_depth_from_above() {
        let x = normal_sample(60, 2, 7);
        let exact = Halfspace::exact(&x).unwrap();
        let few = Halfspace::fit(
            &x,
            HalfspaceMethod::RandomDirections {
                directions: 10,
                seed: 1,
            },
        )
        .unwrap();
        let many = Halfspace::fit(
            &x,
            HalfspaceMethod::RandomDirections {
                directions: 20_000,
                seed: 1,
            },
        )
        .unwrap();
        let q = normal_sample(30, 2, 8);
        let (e, f, m) = (
            exact.depth(&q).unwrap(),
            few.depth(&q).unwrap(),
            many.depth(&q).unwrap(),
        );
        for i in 0..30 {
            assert!(f[i] >= e[i] && m[i] >= e[i] && f[i] >= m[i] - 1.0 / 60.0);
        }
        assert_eq!(
            m, e,
            "20,000 directions should find every minimum on 60 points"
        );
        assert!(
            f.iter().zip(e.iter()).any(|(a, b)| a > b),
            "10 directions are not enough"
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let x = normal_sample(10, 3, 1);
        assert!(matches!(
            Halfspace::exact(&normal_sample(10, 4, 1)),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Halfspace::fit(
                &x,
                HalfspaceMethod::RandomDirections {
                    directions: 0,
                    seed: 1
                }
            ),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Halfspace::exact(&DMatrix::zeros(0, 2)),
            Err(Error::EmptyInput { .. })
        ));
        let depth = Halfspace::exact(&normal_sample(10, 2, 1)).unwrap();
        assert!(matches!(
            depth.depth(&DMatrix::zeros(2, 3)),
            Err(Error::DimensionMismatch { .. })
        ));
    }

    proptest! {
        /// Affine invariance of the exact 2D depth, and depth in [0, 1/2 + 1/n] for a
        /// sample without ties.
        #[test]
        fn affine_invariance(seed in 0u64..1000, a in prop::array::uniform4(-2.0f64..2.0),
                             b in prop::array::uniform2(-5.0f64..5.0)) {
            let case = affine_case(seed, a, b, 25, 6, 1.5);
            prop_assume!(case.is_some());
            let [x, q, ax, aq] = case.unwrap();
            let before = Halfspace::exact(&x).unwrap().depth(&q).unwrap();
            let after = Halfspace::exact(&ax).unwrap().depth(&aq).unwrap();
            prop_assert_eq!(&before, &after);
            prop_assert!(before.iter().all(|d| (0.0..=0.5 + 1.0 / 25.0).contains(d)));
        }
    }
}
