//! The sample Fermat distance and Fermat lens depth.
//!
//! # Fermat distance
//! Given a sample $x_1, \dots, x_n$ and a power $\alpha \ge 1$, the sample Fermat distance
//! between sample points is the length of the shortest path through the sample when a hop
//! from $x_p$ to $x_q$ costs $\lVert x_p - x_q\rVert^\alpha$:
//!
//! $$ F(x_i, x_j) = \min_{\text{paths } i = p_0, p_1, \dots, p_k = j}
//!    \sum_{l=1}^k \lVert x_{p_l} - x_{p_{l-1}}\rVert^\alpha . $$
//!
//! With $\alpha = 1$ the direct hop is always shortest (triangle inequality) and $F$ is the
//! Euclidean distance. With $\alpha > 1$ long hops cost more than chains of short ones, so
//! paths follow the sample where it is dense: Groisman, Jonckheere and Sapienza (2022) show
//! that, suitably scaled, $F$ converges to a geodesic distance on the data's support in the
//! metric $f^{-(\alpha - 1)/d}$ of the density $f$. Points in the same cluster or along the
//! same curved sheet become close, points across a gap far.
//!
//! [`FermatDistance::complete`] computes $F$ exactly on the complete graph by Floyd–Warshall,
//! $O(n^3)$ time (parallel over rows for each pivot) and $O(n^2)$ memory. A new point $x$
//! reaches the sample through one first hop (Nguyen et al. 2024):
//! $D(x, x_i) = \min_j \big(\lVert x - x_j\rVert^\alpha + F(x_j, x_i)\big)$, $O(n^2)$ per point
//! for all $i$.
//!
//! # Fermat lens depth
//! Lens depth ([`crate::lens`]) with $F$ in place of the Euclidean distance: the fraction of
//! pairs $i < j$ with $\max(D(x, x_i), D(x, x_j)) \le F(x_i, x_j)$. It is high inside the
//! clusters and along the curves of the sample and low in the gaps between them, where
//! Mahalanobis or halfspace depth still see the centre of the convex hull. With $\alpha = 1$
//! it is the lens depth. Any positive scaling of $F$ leaves it unchanged.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::fermat::FermatDistance;
//! // Five points a unit apart on a line: with alpha = 2 the path through every point costs
//! // 4 x 1^2 = 4, the direct hop 4^2 = 16.
//! let line = DMatrix::from_fn(5, 1, |i, _| i as f64);
//! let f = FermatDistance::complete(&line, 2.0).unwrap();
//! assert_eq!(f.between(0, 4), 4.0);
//! ```
//!
//! # References
//! - A. Groisman, M. Jonckheere, F. Sapienza, "Nonhomogeneous Euclidean first-passage
//!   percolation and distance learning", Bernoulli 28(1), 2022.
//! - H. Nguyen, M. Jonckheere, A. Lozano-Durán, F. Sapienza, et al., "Combining statistical
//!   depth and Fermat distance for uncertainty quantification", NeurIPS 2024
//!   (arXiv:2404.08476).

use nalgebra::DMatrix;
use rayon::prelude::*;
use uqforge_core::{Error, Result};

use crate::lens::fraction_in_lenses;
use crate::sample::{Depth, check_sample, rows, squared_distance};

/// Sample Fermat distances between the points of a sample, with their extension to new
/// points.
#[derive(Debug, Clone)]
pub struct FermatDistance {
    points: Vec<Vec<f64>>,
    alpha: f64,
    /// Row-major $n \times n$ matrix of $F(x_i, x_j)$.
    distances: Vec<f64>,
}

impl FermatDistance {
    /// Exact Fermat distances on the complete graph of the sample (Floyd–Warshall).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless $\alpha \ge 1$ is finite;
    /// [`Error::EmptyInput`] and [`Error::NonFinite`] for the sample.
    pub fn complete(sample: &DMatrix<f64>, alpha: f64) -> Result<Self> {
        if !(alpha.is_finite() && alpha >= 1.0) {
            return Err(Error::invalid_parameter(
                "alpha",
                format!("the Fermat power must be a finite number at least 1, got {alpha}"),
            ));
        }
        check_sample("Fermat", sample, 1)?;
        let points = rows(sample);
        let n = points.len();
        let mut distances = vec![0.0; n * n];
        distances
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, row)| {
                for (j, r) in row.iter_mut().enumerate() {
                    *r = hop(&points[i], &points[j], alpha);
                }
            });
        if alpha > 1.0 {
            for k in 0..n {
                let pivot = distances[k * n..(k + 1) * n].to_vec();
                distances.par_chunks_mut(n).for_each(|row| {
                    let through = row[k];
                    for (r, p) in row.iter_mut().zip(&pivot) {
                        let candidate = through + p;
                        if candidate < *r {
                            *r = candidate;
                        }
                    }
                });
            }
        }
        Ok(Self {
            points,
            alpha,
            distances,
        })
    }

    /// Number of sample points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the sample is empty (never, once fitted).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The power $\alpha$.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// $F(x_i, x_j)$.
    ///
    /// # Panics
    /// When `i` or `j` is not below [`FermatDistance::len`].
    pub fn between(&self, i: usize, j: usize) -> f64 {
        self.distances[i * self.points.len() + j]
    }

    /// $D(x, x_i) = \min_j (\lVert x - x_j\rVert^\alpha + F(x_j, x_i))$ for every $i$: the
    /// Fermat distances from a new point (its $d$ coordinates) to the sample.
    pub fn to_point(&self, x: &[f64]) -> Vec<f64> {
        let n = self.points.len();
        let first: Vec<f64> = self.points.iter().map(|p| hop(p, x, self.alpha)).collect();
        let mut out = vec![f64::INFINITY; n];
        for (j, h) in first.iter().enumerate() {
            let row = &self.distances[j * n..(j + 1) * n];
            for (o, f) in out.iter_mut().zip(row) {
                let candidate = h + f;
                if candidate < *o {
                    *o = candidate;
                }
            }
        }
        out
    }
}

/// $\lVert p - q\rVert^\alpha$.
fn hop(p: &[f64], q: &[f64], alpha: f64) -> f64 {
    let squared = squared_distance(p, q);
    if alpha == 2.0 {
        squared
    } else {
        squared.powf(alpha / 2.0)
    }
}

/// Fermat lens depth fitted on a sample of at least two points.
#[derive(Debug, Clone)]
pub struct FermatLens {
    fermat: FermatDistance,
    d: usize,
}

impl FermatLens {
    /// Fits the Fermat distances of the sample with power `alpha` (complete graph).
    ///
    /// # Errors
    /// Those of [`FermatDistance::complete`], and [`Error::InvalidParameter`] for fewer than
    /// two points.
    pub fn fit(sample: &DMatrix<f64>, alpha: f64) -> Result<Self> {
        check_sample("Fermat lens", sample, 2)?;
        Ok(Self {
            fermat: FermatDistance::complete(sample, alpha)?,
            d: sample.ncols(),
        })
    }

    /// The fitted Fermat distances.
    pub fn fermat(&self) -> &FermatDistance {
        &self.fermat
    }
}

impl Depth for FermatLens {
    fn dim(&self) -> usize {
        self.d
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        let r = self.fermat.to_point(point);
        fraction_in_lenses(&r, |i, j| self.fermat.between(i, j))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lens::Lens;
    use crate::testing::normal_sample;
    use uqforge_core::rng::{rng_from_seed, standard_normal, uniform01};

    /// Dijkstra from every source on the complete graph, O(n^2) per source: an independent
    /// computation of the same shortest paths.
    fn dijkstra(x: &DMatrix<f64>, alpha: f64) -> DMatrix<f64> {
        let n = x.nrows();
        let w = |i: usize, j: usize| (x.row(i) - x.row(j)).norm().powf(alpha);
        DMatrix::from_fn(n, n, |s, t| {
            let mut dist = vec![f64::INFINITY; n];
            let mut done = vec![false; n];
            dist[s] = 0.0;
            for _ in 0..n {
                let u = (0..n)
                    .filter(|&v| !done[v])
                    .min_by(|&a, &b| dist[a].total_cmp(&dist[b]))
                    .unwrap();
                done[u] = true;
                for v in 0..n {
                    if !done[v] {
                        dist[v] = dist[v].min(dist[u] + w(u, v));
                    }
                }
            }
            dist[t]
        })
    }

    #[test]
    fn floyd_warshall_equals_dijkstra() {
        for alpha in [1.5, 2.0, 3.0] {
            let x = normal_sample(25, 2, 11);
            let f = FermatDistance::complete(&x, alpha).unwrap();
            let d = dijkstra(&x, alpha);
            for i in 0..25 {
                for j in 0..25 {
                    let (a, b) = (f.between(i, j), d[(i, j)]);
                    assert!(
                        (a - b).abs() <= 1e-12 * b.max(1.0),
                        "alpha {alpha}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn equally_spaced_points_closed_form() {
        // On a line with step h, the cheapest path visits every point: F = k h^alpha.
        let h = 0.3;
        let line = DMatrix::from_fn(9, 1, |i, _| h * i as f64);
        for alpha in [2.0, 2.5, 4.0] {
            let f = FermatDistance::complete(&line, alpha).unwrap();
            for k in 0..9 {
                let expected = k as f64 * h.powf(alpha);
                assert!((f.between(0, k) - expected).abs() < 1e-14, "{alpha} {k}");
            }
        }
    }

    /// With alpha = 1, F is the Euclidean distance and Fermat lens depth is lens depth.
    #[test]
    fn alpha_one_is_the_euclidean_lens_depth() {
        let x = normal_sample(40, 3, 12);
        let q = normal_sample(25, 3, 13) * 1.3;
        let fermat = FermatLens::fit(&x, 1.0).unwrap().depth(&q).unwrap();
        let lens = Lens::fit(&x).unwrap().depth(&q).unwrap();
        assert_eq!(fermat, lens);
        let f = FermatDistance::complete(&x, 1.0).unwrap();
        let r = f.to_point(&[0.1, 0.2, 0.3]);
        for (i, ri) in r.iter().enumerate() {
            let e =
                ((x[(i, 0)] - 0.1).powi(2) + (x[(i, 1)] - 0.2).powi(2) + (x[(i, 2)] - 0.3).powi(2))
                    .sqrt();
            assert!((ri - e).abs() < 1e-12);
        }
    }

    /// A noisy ring: its centre (inside the convex hull, far from the data) is deeper than
    /// a point on the ring for lens depth (alpha = 1), shallower for Fermat lens depth
    /// (alpha = 4), whose paths follow the ring.
    #[test]
    fn fermat_depth_follows_the_sample() {
        let mut rng = rng_from_seed(14);
        let mut ring = DMatrix::zeros(120, 2);
        for i in 0..120 {
            let t = 2.0 * std::f64::consts::PI * uniform01(&mut rng);
            let r = 1.0 + 0.05 * standard_normal(&mut rng);
            ring[(i, 0)] = r * t.cos();
            ring[(i, 1)] = r * t.sin();
        }
        let queries = DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 1.0, 0.0]);
        let euclid = FermatLens::fit(&ring, 1.0)
            .unwrap()
            .depth(&queries)
            .unwrap();
        let fermat = FermatLens::fit(&ring, 4.0)
            .unwrap()
            .depth(&queries)
            .unwrap();
        assert!(
            euclid[0] > euclid[1],
            "lens depth: centre {} ring {}",
            euclid[0],
            euclid[1]
        );
        assert!(
            fermat[0] < fermat[1],
            "Fermat lens: centre {} ring {}",
            fermat[0],
            fermat[1]
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let x = normal_sample(5, 2, 1);
        for alpha in [0.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                FermatDistance::complete(&x, alpha),
                Err(Error::InvalidParameter { .. })
            ));
        }
        assert!(matches!(
            FermatLens::fit(&DMatrix::from_row_slice(1, 2, &[0.0, 0.0]), 2.0),
            Err(Error::InvalidParameter { .. })
        ));
    }
}
