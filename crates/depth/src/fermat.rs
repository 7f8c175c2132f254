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
//! $O(n^3)$ time (parallel over rows for each pivot) and $O(n^2)$ memory.
//! [`FermatDistance::knn`] keeps only the edges of the symmetrised $k$-nearest-neighbour
//! graph and of the Euclidean minimum spanning tree (which keeps the graph connected) and
//! runs Dijkstra from every point: $O(n^2 (d + k \log n))$. Fewer edges can only lengthen
//! paths, so it is an upper bound of the complete-graph distance, and equal to it when the
//! optimal paths use short hops only, which is what $\alpha > 1$ favours: optimal paths of
//! the sample Fermat distance hop between near neighbours (Groisman et al. 2022), and the
//! tests find the two equal on 300 points with $k = 10$, $\alpha = 3$.
//!
//! For a large sample the lens depth's $O(n^2)$ pairs are the cost: [`inner_points`]
//! replaces the sample by $m$ k-means centres (k-means++ seeding from a ChaCha8 stream, then
//! Lloyd's iterations), as Nguyen et al. (2024) do, and the depth is fitted on them.
//!
//! A new point $x$
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

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use nalgebra::DMatrix;
use rayon::prelude::*;
use uqforge_core::rng::{rng_from_seed, uniform01};
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
        check_alpha(alpha)?;
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

    /// Fermat distances on the union of the symmetrised $k$-nearest-neighbour graph and the
    /// Euclidean minimum spanning tree, by Dijkstra from every point (in parallel): an upper
    /// bound of [`FermatDistance::complete`], equal when optimal paths hop between near
    /// neighbours.
    ///
    /// # Errors
    /// Those of [`FermatDistance::complete`], and [`Error::InvalidParameter`] for $k = 0$.
    pub fn knn(sample: &DMatrix<f64>, alpha: f64, k: usize) -> Result<Self> {
        check_alpha(alpha)?;
        check_sample("Fermat", sample, 1)?;
        uqforge_core::validate::at_least("neighbours k", k, 1)?;
        let points = rows(sample);
        let n = points.len();
        let mut neighbours: Vec<Vec<(usize, f64)>> = points
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                let mut near: Vec<(f64, usize)> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| (squared_distance(p, &points[j]), j))
                    .collect();
                let k = k.min(near.len());
                if k > 0 && k < near.len() {
                    near.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
                }
                near.truncate(k);
                near.into_iter()
                    .map(|(_, j)| (j, hop(p, &points[j], alpha)))
                    .collect()
            })
            .collect();
        // Symmetrise, then add the minimum spanning tree's edges.
        let mut edges: Vec<(usize, usize)> = neighbours
            .iter()
            .enumerate()
            .flat_map(|(i, list)| list.iter().map(move |&(j, _)| (i, j)))
            .collect();
        edges.extend(minimum_spanning_tree(&points));
        for list in &mut neighbours {
            list.clear();
        }
        for (i, j) in edges {
            let w = hop(&points[i], &points[j], alpha);
            neighbours[i].push((j, w));
            neighbours[j].push((i, w));
        }
        for list in &mut neighbours {
            list.sort_unstable_by_key(|e| e.0);
            list.dedup_by_key(|e| e.0);
        }
        let mut distances = vec![0.0; n * n];
        distances
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(s, row)| dijkstra(&neighbours, s, row));
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

fn check_alpha(alpha: f64) -> Result<()> {
    if alpha.is_finite() && alpha >= 1.0 {
        Ok(())
    } else {
        Err(Error::invalid_parameter(
            "alpha",
            format!("the Fermat power must be a finite number at least 1, got {alpha}"),
        ))
    }
}

/// A heap entry ordered by increasing distance (the heap is a max-heap).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry(f64, usize);

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

/// Shortest-path lengths from `source` over the adjacency lists `graph` into `out`
/// (infinity where unreachable), by Dijkstra with a binary heap.
fn dijkstra(graph: &[Vec<(usize, f64)>], source: usize, out: &mut [f64]) {
    out.fill(f64::INFINITY);
    out[source] = 0.0;
    let mut heap = BinaryHeap::new();
    heap.push(Entry(0.0, source));
    while let Some(Entry(d, u)) = heap.pop() {
        if d > out[u] {
            continue;
        }
        for &(v, w) in &graph[u] {
            let candidate = d + w;
            if candidate < out[v] {
                out[v] = candidate;
                heap.push(Entry(candidate, v));
            }
        }
    }
}

/// The edges of the Euclidean minimum spanning tree, by Prim's algorithm on the complete
/// graph: $O(n^2 d)$ time, $O(n)$ memory.
fn minimum_spanning_tree(points: &[Vec<f64>]) -> Vec<(usize, usize)> {
    let n = points.len();
    let mut in_tree = vec![false; n];
    let mut best = vec![(f64::INFINITY, 0usize); n];
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    let mut current = 0;
    for _ in 1..n {
        in_tree[current] = true;
        let mut next = (f64::INFINITY, usize::MAX);
        for j in 0..n {
            if in_tree[j] {
                continue;
            }
            let d = squared_distance(&points[current], &points[j]);
            if d < best[j].0 {
                best[j] = (d, current);
            }
            if best[j].0 < next.0 || next.1 == usize::MAX {
                next = (best[j].0, j);
            }
        }
        edges.push((best[next.1].1, next.1));
        current = next.1;
    }
    edges
}

/// `m` inner points of the sample: k-means centres, seeded by k-means++ (each new centre
/// drawn with probability proportional to the squared distance to the nearest chosen one,
/// from the ChaCha8 stream of `seed`) and refined by at most 100 Lloyd iterations (until no
/// point changes cluster). Fit a Fermat lens depth on them to bring a large sample's
/// $O(n^2)$ pairs down to $O(m^2)$ (Nguyen et al. 2024).
///
/// # Errors
/// [`Error::EmptyInput`] or [`Error::NonFinite`] for the sample, [`Error::InvalidParameter`]
/// unless $1 \le m \le n$.
pub fn inner_points(sample: &DMatrix<f64>, m: usize, seed: u64) -> Result<DMatrix<f64>> {
    check_sample("inner points", sample, 1)?;
    let (n, d) = sample.shape();
    if m == 0 || m > n {
        return Err(Error::invalid_parameter(
            "inner points",
            format!("must be between 1 and the sample size {n}, got {m}"),
        ));
    }
    let points = rows(sample);
    let mut rng = rng_from_seed(seed);
    let first = ((uniform01(&mut rng) * n as f64) as usize).min(n - 1);
    let mut centres = vec![points[first].clone()];
    let mut nearest: Vec<f64> = points
        .iter()
        .map(|p| squared_distance(p, &centres[0]))
        .collect();
    while centres.len() < m {
        let total: f64 = nearest.iter().sum();
        let next = if total > 0.0 {
            let mut target = uniform01(&mut rng) * total;
            let mut pick = n - 1;
            for (i, w) in nearest.iter().enumerate() {
                if target < *w {
                    pick = i;
                    break;
                }
                target -= w;
            }
            pick
        } else {
            // Fewer distinct points than centres: repeat one.
            0
        };
        centres.push(points[next].clone());
        let c = centres.len() - 1;
        for (w, p) in nearest.iter_mut().zip(&points) {
            *w = w.min(squared_distance(p, &centres[c]));
        }
    }
    let mut assignment = vec![usize::MAX; n];
    for _ in 0..100 {
        let next: Vec<usize> = points
            .par_iter()
            .map(|p| {
                (0..m)
                    .min_by(|&a, &b| {
                        squared_distance(p, &centres[a])
                            .total_cmp(&squared_distance(p, &centres[b]))
                    })
                    .unwrap_or(0)
            })
            .collect();
        if next == assignment {
            break;
        }
        assignment = next;
        let mut sums = vec![vec![0.0; d]; m];
        let mut counts = vec![0usize; m];
        for (p, &c) in points.iter().zip(&assignment) {
            counts[c] += 1;
            for (s, v) in sums[c].iter_mut().zip(p) {
                *s += v;
            }
        }
        for c in 0..m {
            // An emptied cluster keeps its centre.
            if counts[c] > 0 {
                centres[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
            }
        }
    }
    Ok(DMatrix::from_fn(m, d, |i, k| centres[i][k]))
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
        Self::from_distances(FermatDistance::complete(sample, alpha)?)
    }

    /// The depth of already computed Fermat distances (for instance
    /// [`FermatDistance::knn`], or distances between [`inner_points`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for fewer than two points.
    pub fn from_distances(fermat: FermatDistance) -> Result<Self> {
        if fermat.len() < 2 {
            return Err(Error::invalid_parameter(
                "sample",
                format!(
                    "Fermat lens depth needs at least 2 points, got {}",
                    fermat.len()
                ),
            ));
        }
        let d = fermat.points[0].len();
        Ok(Self { fermat, d })
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

    /// The k-NN graph never shortens a path, and with alpha = 3 and k = 10 on 300 points
    /// every optimal path uses near-neighbour hops: the distances are the complete graph's.
    /// With k = 1 the graph is the tree plus nearest neighbours, still connected.
    #[test]
    fn knn_graph_bounds_and_matches_the_complete_graph() {
        let x = normal_sample(300, 2, 21);
        let complete = FermatDistance::complete(&x, 3.0).unwrap();
        let knn = FermatDistance::knn(&x, 3.0, 10).unwrap();
        let sparse = FermatDistance::knn(&x, 3.0, 1).unwrap();
        for i in 0..300 {
            for j in 0..300 {
                let (c, k, s) = (
                    complete.between(i, j),
                    knn.between(i, j),
                    sparse.between(i, j),
                );
                assert!((c - k).abs() <= 1e-12 * c.max(1.0), "{i} {j}: {c} vs {k}");
                assert!(s >= c - 1e-12 * c.max(1.0) && s.is_finite());
            }
        }
        assert!(
            (0..300).any(|j| sparse.between(0, j) > complete.between(0, j) * (1.0 + 1e-9)),
            "k = 1 should lengthen some path"
        );
    }

    /// k-means centres: k-means++ then Lloyd on three separated clusters recovers their
    /// means, and is reproducible from the seed.
    #[test]
    fn inner_points_are_cluster_means() {
        let base = normal_sample(300, 2, 22) * 0.2;
        let shifts = [[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]];
        let x = DMatrix::from_fn(300, 2, |i, k| base[(i, k)] + shifts[i % 3][k]);
        let c = inner_points(&x, 3, 7).unwrap();
        assert_eq!(c, inner_points(&x, 3, 7).unwrap());
        for (s, shift) in shifts.iter().enumerate() {
            let members: Vec<usize> = (0..300).filter(|i| i % 3 == s).collect();
            let mean: Vec<f64> = (0..2)
                .map(|k| members.iter().map(|&i| x[(i, k)]).sum::<f64>() / 100.0)
                .collect();
            let found = c
                .row_iter()
                .any(|r| (r[0] - mean[0]).abs() < 1e-12 && (r[1] - mean[1]).abs() < 1e-12);
            assert!(found, "cluster at {shift:?}: centres {c}");
        }
        assert!(matches!(
            inner_points(&x, 0, 1),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            inner_points(&x, 301, 1),
            Err(Error::InvalidParameter { .. })
        ));
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
        assert!(matches!(
            FermatDistance::knn(&x, 2.0, 0),
            Err(Error::InvalidParameter { .. })
        ));
    }
}
