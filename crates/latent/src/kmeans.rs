//! Riemannian k-means and k-medoids with geodesic distances.
//!
//! k-means minimises the inertia
//!
//! $$
//! W = \sum_{i=1}^n d\bigl(x_i, c_{\ell_i}\bigr)^2
//! $$
//!
//! over labels $\ell_i$ in $1, \dots, k$ and centroids $c_j$, with $d$ the geodesic distance of a
//! [`Metric`]. Lloyd's alternation, Riemannian version:
//!
//! 1. **initialise** by k-means++ (Arthur & Vassilvitskii 2007) with geodesic distances: the
//!    first centroid a uniformly drawn point, each next one a point drawn with probability
//!    proportional to its squared distance to the nearest centroid so far; or from
//!    user-given centroids;
//! 2. **assign** every point to its geodesically nearest centroid ($nk$ geodesics, in
//!    parallel, each warm-started from the previous iteration's curve between the same pair
//!    with the centroid end moved);
//! 3. **update** each centroid to the Fréchet mean of its points ([`crate::frechet`]: Karcher
//!    steps to convergence, starting from the old centroid), or with
//!    [`CentroidUpdate::Medoid`] to the member with the least sum of squared distances to the
//!    others (k-medoids: $n(n-1)/2$ geodesics once, then no more);
//! 4. repeat until no label changes; keep the best of several seeded restarts.
//!
//! An empty cluster gets the point farthest from its own centroid. The result states the seed;
//! restart $r$ draws from ChaCha8 stream $r$ of it.
//!
//! Differences from the seed code (`redachhaibi/ricci_regularization`): the centroid update is
//! the Fréchet mean of the cluster (not a step weighted by the distance to centroid 0), run to
//! convergence; initial centroids may be given; geodesics are cached and warm-started.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_latent::{Euclidean, KMeansOptions, kmeans};
//! let x = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 0.0, 1.0, 5.0, 0.0, 5.0, 1.0]);
//! let options = KMeansOptions { k: 2, ..KMeansOptions::default() };
//! let c = kmeans(&Euclidean::new(2).unwrap(), &x, &options).unwrap();
//! assert_eq!(c.labels[0], c.labels[1]);
//! assert_ne!(c.labels[0], c.labels[2]);
//! assert!((c.inertia - 1.0).abs() < 1e-9); // four points 0.5 from their centroid
//! ```
//!
//! # References
//! - S. Lloyd (1982), Least squares quantization in PCM, *IEEE Trans. Inf. Theory* 28:129–137.
//! - D. Arthur, S. Vassilvitskii (2007), k-means++: the advantages of careful seeding, SODA.
//! - L. Kaufman, P. J. Rousseeuw (1990), *Finding Groups in Data*, Wiley (k-medoids).
//! - L. Hubert, P. Arabie (1985), Comparing partitions, *J. Classification* 2:193–218 (ARI).

use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::rng::{SeededRng, stream, uniform01};
use uqforge_core::{Error, Result, validate};

use crate::curve::FaberSchauder;
use crate::frechet::{FrechetOptions, karcher, point_rows};
use crate::geodesic::{GeodesicOptions, towards};
use crate::metric::Metric;

/// Where the centroids start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Initialisation {
    /// k-means++ with geodesic distances, one draw per restart.
    PlusPlus,
    /// These centroids (rows; $k\times d$); restarts are then pointless and only one is run.
    Given(DMatrix<f64>),
}

/// How centroids move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CentroidUpdate {
    /// The Fréchet mean of the cluster (k-means).
    Frechet,
    /// The member minimising the sum of squared distances to the others (k-medoids; all
    /// $n(n-1)/2$ distances are computed once). Given centroids start at their nearest points.
    ///
    /// Rounds and restarts are then free, but the table is cold geodesics: on the ridge with
    /// $n = 200$ it took 10 s where Fréchet k-means took 0.3 s. Choose it for many restarts
    /// or values of $k$ on one small data set, or when centroids must be data points.
    Medoid,
}

/// How [`kmeans`] runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansOptions {
    /// The number of clusters (default 2).
    pub k: usize,
    /// Seeded restarts; the one of least inertia is kept (default 4).
    pub restarts: usize,
    /// Assignment–update rounds per restart at most (default 50).
    pub max_iterations: usize,
    /// The seed of the restarts' streams (default 0).
    pub seed: u64,
    /// Where the centroids start (default k-means++).
    pub initialisation: Initialisation,
    /// How centroids move (default Fréchet means).
    pub update: CentroidUpdate,
    /// The Fréchet means' iteration and the geodesics' discretisation.
    pub frechet: FrechetOptions,
}

impl Default for KMeansOptions {
    fn default() -> Self {
        Self {
            k: 2,
            restarts: 4,
            max_iterations: 50,
            seed: 0,
            initialisation: Initialisation::PlusPlus,
            update: CentroidUpdate::Frechet,
            frechet: FrechetOptions::default(),
        }
    }
}

/// The result of [`kmeans`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clustering {
    /// The cluster of each point, in $0..k$.
    pub labels: Vec<usize>,
    /// The centroids, one row per cluster.
    pub centroids: DMatrix<f64>,
    /// $W = \sum_i d(x_i, c_{\ell_i})^2$.
    pub inertia: f64,
    /// The rows of the points chosen as centroids ([`CentroidUpdate::Medoid`] only).
    pub medoids: Option<Vec<usize>>,
    /// Assignment–update rounds of the kept restart.
    pub iterations: usize,
    /// The kept restart's labels stopped changing within `max_iterations`.
    pub converged: bool,
    /// Which restart was kept.
    pub restart: usize,
    /// How many restarts ran.
    pub restarts: usize,
    /// The seed.
    pub seed: u64,
    /// Geodesics solved in all restarts.
    pub geodesics: usize,
}

/// Riemannian k-means (or k-medoids) of the rows of `points`; see the [module docs](self).
///
/// # Errors
/// No points, non-finite coordinates, a dimension other than the metric's, `k` of 0 or above
/// the number of points, given centroids of the wrong shape, invalid options, and the
/// metric's and the solver's errors.
pub fn kmeans<M: Metric + ?Sized>(
    metric: &M,
    points: &DMatrix<f64>,
    options: &KMeansOptions,
) -> Result<Clustering> {
    let (n, d) = points.shape();
    let rows = point_rows(points, metric.dim(), "points to cluster")?;
    validate::at_least("k", options.k, 1)?;
    if options.k > n {
        return Err(Error::invalid_parameter(
            "k",
            format!(
                "{} clusters for {n} points: k must not exceed the number of points",
                options.k
            ),
        ));
    }
    validate::at_least("restarts", options.restarts, 1)?;
    validate::at_least("max_iterations", options.max_iterations, 1)?;
    options.frechet.geodesic.validate()?;
    let restarts = match &options.initialisation {
        Initialisation::PlusPlus => options.restarts,
        Initialisation::Given(c) => {
            validate::len("given centroids (rows)", options.k, c.nrows())?;
            validate::len("given centroids (columns)", d, c.ncols())?;
            validate::finite("given centroids", c.as_slice())?;
            1
        }
    };
    let xs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
    let pairwise = match options.update {
        CentroidUpdate::Medoid => Some(pairwise_distances(metric, &xs, &options.frechet.geodesic)?),
        CentroidUpdate::Frechet => None,
    };
    let mut geodesics = pairwise.as_ref().map_or(0, |p| p.1);
    // k-medoids from given centroids starts at the points nearest to them.
    let start = match (&options.initialisation, &pairwise) {
        (Initialisation::Given(c), Some(_)) => {
            let mut cache = vec![None; n];
            let mut nearest = Vec::with_capacity(options.k);
            for row in c.row_iter() {
                let centroid: Vec<f64> = row.iter().copied().collect();
                let (dist, count) = column(
                    metric,
                    &xs,
                    &centroid,
                    &mut cache,
                    0,
                    1,
                    &options.frechet.geodesic,
                )?;
                geodesics += count;
                nearest.push(
                    (0..n)
                        .min_by(|&a, &b| dist[a].total_cmp(&dist[b]))
                        .unwrap_or(0),
                );
            }
            Some(nearest)
        }
        _ => None,
    };
    let mut best: Option<Clustering> = None;
    for r in 0..restarts {
        let mut rng = stream(options.seed, r as u64);
        let run = match &pairwise {
            Some((p, _)) => medoids(p, &xs, start.as_deref(), options, &mut rng)?,
            None => lloyd(metric, &xs, options, &mut rng)?,
        };
        geodesics += run.geodesics;
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(Clustering { restart: r, ..run });
        }
    }
    let best = best.ok_or_else(|| Error::degenerate("k-means", "no restart ran"))?;
    Ok(Clustering {
        restarts,
        seed: options.seed,
        geodesics,
        ..best
    })
}

/// The index drawn with probability proportional to `weights` (uniform if they are all zero).
fn draw(weights: &[f64], rng: &mut SeededRng) -> usize {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return ((uniform01(rng) * weights.len() as f64) as usize).min(weights.len() - 1);
    }
    let mut u = uniform01(rng) * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// Labels and distances of the nearest centroid in a row-major $n\times k$ distance table.
fn nearest(dist: &[f64], k: usize) -> Vec<usize> {
    dist.chunks_exact(k)
        .map(|row| {
            (0..k)
                .min_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0)
        })
        .collect()
}

/// Gives every empty cluster the point farthest from its own centroid (taken from a cluster
/// with at least two points); returns the clusters that changed.
fn fill_empty(labels: &mut [usize], dist: &[f64], k: usize) -> Vec<usize> {
    let mut changed = Vec::new();
    loop {
        let mut sizes = vec![0usize; k];
        labels.iter().for_each(|&l| sizes[l] += 1);
        let Some(empty) = sizes.iter().position(|&s| s == 0) else {
            return changed;
        };
        let far = (0..labels.len())
            .filter(|&i| sizes[labels[i]] > 1)
            .max_by(|&a, &b| dist[a * k + labels[a]].total_cmp(&dist[b * k + labels[b]]));
        let Some(far) = far else {
            return changed;
        };
        labels[far] = empty;
        changed.push(empty);
    }
}

/// One restart of Lloyd's alternation with Fréchet means.
fn lloyd<M: Metric + ?Sized>(
    metric: &M,
    xs: &[&[f64]],
    options: &KMeansOptions,
    rng: &mut SeededRng,
) -> Result<Clustering> {
    let (n, k, d) = (xs.len(), options.k, xs[0].len());
    let geo = &options.frechet.geodesic;
    // cache[i * k + j]: the last curve from point i to centroid j.
    let mut cache: Vec<Option<FaberSchauder>> = vec![None; n * k];
    let mut solved = 0;
    let mut centroids: Vec<Vec<f64>> = match &options.initialisation {
        Initialisation::Given(c) => c.row_iter().map(|r| r.iter().copied().collect()).collect(),
        Initialisation::PlusPlus => {
            let first = draw(&vec![1.0; n], rng);
            let mut chosen = vec![xs[first].to_vec()];
            let mut nearest_sq = vec![f64::INFINITY; n];
            while chosen.len() < k {
                let j = chosen.len() - 1;
                let col = column(metric, xs, &chosen[j], &mut cache, j, k, geo)?;
                solved += col.1;
                for (best, dj) in nearest_sq.iter_mut().zip(&col.0) {
                    *best = best.min(dj * dj);
                }
                chosen.push(xs[draw(&nearest_sq, rng)].to_vec());
            }
            chosen
        }
    };
    let mut labels: Vec<usize> = Vec::new();
    let mut iterations = 0;
    loop {
        // Assignment.
        let mut dist = vec![0.0; n * k];
        for (j, c) in centroids.iter().enumerate() {
            let (col, count) = column(metric, xs, c, &mut cache, j, k, geo)?;
            solved += count;
            for (i, v) in col.into_iter().enumerate() {
                dist[i * k + j] = v;
            }
        }
        let mut next = nearest(&dist, k);
        let relocated = fill_empty(&mut next, &dist, k);
        for &j in &relocated {
            // The relocated centroid sits on its new point; old curves to it are stale.
            let i = next.iter().position(|&l| l == j).unwrap_or(0);
            centroids[j] = xs[i].to_vec();
            (0..n).for_each(|p| cache[p * k + j] = None);
        }
        let stable = relocated.is_empty() && next == labels;
        labels = next;
        if stable || iterations == options.max_iterations {
            let inertia = (0..n).map(|i| dist[i * k + labels[i]].powi(2)).sum();
            return Ok(Clustering {
                labels,
                centroids: DMatrix::from_row_iterator(k, d, centroids.into_iter().flatten()),
                inertia,
                medoids: None,
                iterations,
                converged: stable,
                restart: 0,
                restarts: 1,
                seed: options.seed,
                geodesics: solved,
            });
        }
        iterations += 1;
        // Update: the Fréchet mean of each cluster, from the old centroid.
        for (j, centroid) in centroids.iter_mut().enumerate() {
            let members: Vec<usize> = (0..n).filter(|&i| labels[i] == j).collect();
            let points: Vec<&[f64]> = members.iter().map(|&i| xs[i]).collect();
            let mut curves: Vec<Option<FaberSchauder>> =
                members.iter().map(|&i| cache[i * k + j].clone()).collect();
            let mean = karcher(
                metric,
                &points,
                centroid.clone(),
                &mut curves,
                &options.frechet,
            )?;
            solved += mean.geodesics;
            *centroid = mean.point;
            for (&i, c) in members.iter().zip(curves) {
                cache[i * k + j] = c;
            }
        }
    }
}

/// Distances from every point to centroid `j` at `c`, warm from and updating column `j` of
/// the cache; the number of geodesics solved.
fn column<M: Metric + ?Sized>(
    metric: &M,
    xs: &[&[f64]],
    c: &[f64],
    cache: &mut [Option<FaberSchauder>],
    j: usize,
    k: usize,
    options: &GeodesicOptions,
) -> Result<(Vec<f64>, usize)> {
    let results: Vec<_> = xs
        .par_iter()
        .enumerate()
        .map(|(i, x)| towards(metric, x, c, cache[i * k + j].as_ref(), options))
        .collect::<Result<_>>()?;
    let mut dist = Vec::with_capacity(xs.len());
    let mut solved = 0;
    for (i, g) in results.into_iter().enumerate() {
        match g {
            Some(g) => {
                dist.push(g.length);
                cache[i * k + j] = Some(g.curve);
                solved += 1;
            }
            None => dist.push(0.0),
        }
    }
    Ok((dist, solved))
}

/// All pairwise geodesic distances (row-major $n\times n$) and the number solved.
fn pairwise_distances<M: Metric + ?Sized>(
    metric: &M,
    xs: &[&[f64]],
    options: &GeodesicOptions,
) -> Result<(Vec<f64>, usize)> {
    let n = xs.len();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    let lengths: Vec<f64> = pairs
        .par_iter()
        .map(|&(i, j)| Ok(towards(metric, xs[i], xs[j], None, options)?.map_or(0.0, |g| g.length)))
        .collect::<Result<_>>()?;
    let mut p = vec![0.0; n * n];
    for (&(i, j), l) in pairs.iter().zip(&lengths) {
        p[i * n + j] = *l;
        p[j * n + i] = *l;
    }
    Ok((p, pairs.len()))
}

/// One restart of k-medoids on the pairwise distances `p`, from the points `start` or from
/// k-means++.
fn medoids(
    p: &[f64],
    xs: &[&[f64]],
    start: Option<&[usize]>,
    options: &KMeansOptions,
    rng: &mut SeededRng,
) -> Result<Clustering> {
    let (n, k, d) = (xs.len(), options.k, xs[0].len());
    let mut centres: Vec<usize> = match start {
        Some(given) => given.to_vec(),
        None => {
            let mut chosen = vec![draw(&vec![1.0; n], rng)];
            while chosen.len() < k {
                let w: Vec<f64> = (0..n)
                    .map(|i| {
                        chosen
                            .iter()
                            .map(|&c| p[i * n + c].powi(2))
                            .fold(f64::INFINITY, f64::min)
                    })
                    .collect();
                chosen.push(draw(&w, rng));
            }
            chosen
        }
    };
    let mut labels: Vec<usize> = Vec::new();
    let mut iterations = 0;
    loop {
        let dist: Vec<f64> = (0..n)
            .flat_map(|i| centres.iter().map(move |&c| p[i * n + c]))
            .collect();
        let mut next = nearest(&dist, k);
        for j in fill_empty(&mut next, &dist, k) {
            centres[j] = next.iter().position(|&l| l == j).unwrap_or(0);
        }
        let stable = next == labels;
        labels = next;
        if stable || iterations == options.max_iterations {
            let inertia = (0..n).map(|i| p[i * n + centres[labels[i]]].powi(2)).sum();
            return Ok(Clustering {
                labels,
                centroids: DMatrix::from_row_iterator(
                    k,
                    d,
                    centres.iter().flat_map(|&c| xs[c].iter().copied()),
                ),
                inertia,
                medoids: Some(centres),
                iterations,
                converged: stable,
                restart: 0,
                restarts: 1,
                seed: options.seed,
                geodesics: 0,
            });
        }
        iterations += 1;
        for (j, centre) in centres.iter_mut().enumerate() {
            let members: Vec<usize> = (0..n).filter(|&i| labels[i] == j).collect();
            let cost = |c: usize| members.iter().map(|&i| p[i * n + c].powi(2)).sum::<f64>();
            if let Some(best) = members
                .iter()
                .copied()
                .min_by(|&a, &b| cost(a).total_cmp(&cost(b)))
            {
                *centre = best;
            }
        }
    }
}

/// The adjusted Rand index of two labellings of the same points (Hubert & Arabie 1985): 1 for
/// identical partitions (up to renaming), about 0 for independent ones.
///
/// # Errors
/// Labellings of different lengths or with fewer than two points.
///
/// ```
/// use uqforge_latent::adjusted_rand_index;
/// assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]).unwrap(), 1.0);
/// let ari = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2]).unwrap();
/// assert!((ari - 0.242_424_242_424).abs() < 1e-9);
/// ```
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Result<f64> {
    validate::len("second labelling", a.len(), b.len())?;
    if a.len() < 2 {
        return Err(Error::invalid_parameter(
            "labellings",
            "the adjusted Rand index needs at least two points",
        ));
    }
    let (ka, kb) = (
        a.iter().max().map_or(0, |m| m + 1),
        b.iter().max().map_or(0, |m| m + 1),
    );
    let mut table = vec![0u64; ka * kb];
    for (&x, &y) in a.iter().zip(b) {
        table[x * kb + y] += 1;
    }
    let pairs = |c: u64| (c * c.saturating_sub(1) / 2) as f64;
    let index: f64 = table.iter().map(|&c| pairs(c)).sum();
    let rows: f64 = (0..ka)
        .map(|x| pairs(table[x * kb..(x + 1) * kb].iter().sum()))
        .sum();
    let cols: f64 = (0..kb)
        .map(|y| pairs((0..ka).map(|x| table[x * kb + y]).sum()))
        .sum();
    let total = pairs(a.len() as u64);
    let expected = rows * cols / total;
    let max = 0.5 * (rows + cols);
    if max == expected {
        // Both partitions trivial (one cluster each, or all singletons): identical.
        return Ok(1.0);
    }
    Ok((index - expected) / (max - expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Euclidean;

    /// The Rand index by brute force over pairs, then adjusted by the permutation expectation
    /// computed from the pair counts (an independent route to the same number).
    fn brute_ari(a: &[usize], b: &[usize]) -> f64 {
        let n = a.len();
        let (mut both, mut in_a, mut in_b) = (0.0, 0.0, 0.0);
        for i in 0..n {
            for j in i + 1..n {
                let (sa, sb) = (a[i] == a[j], b[i] == b[j]);
                both += f64::from(u8::from(sa && sb));
                in_a += f64::from(u8::from(sa));
                in_b += f64::from(u8::from(sb));
            }
        }
        let total = (n * (n - 1) / 2) as f64;
        let expected = in_a * in_b / total;
        (both - expected) / (0.5 * (in_a + in_b) - expected)
    }

    #[test]
    fn adjusted_rand_index_matches_pair_counting() {
        let a = [0, 0, 1, 1, 2, 2, 2, 0, 1, 1];
        let b = [1, 1, 1, 0, 0, 2, 2, 0, 0, 1];
        let ari = adjusted_rand_index(&a, &b).unwrap();
        assert!((ari - brute_ari(&a, &b)).abs() < 1e-12);
        assert!(adjusted_rand_index(&[0], &[0]).is_err());
        assert!(adjusted_rand_index(&[0, 1], &[0]).is_err());
    }

    #[test]
    fn euclidean_kmeans_finds_separated_blobs_with_medoids_too() {
        let mut rows = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for t in 0..10 {
                let a = t as f64 * 0.628;
                rows.extend([cx + a.cos(), cy + a.sin()]);
            }
        }
        let x = DMatrix::from_row_slice(30, 2, &rows);
        let truth: Vec<usize> = (0..30).map(|i| i / 10).collect();
        let metric = Euclidean::new(2).unwrap();
        for update in [CentroidUpdate::Frechet, CentroidUpdate::Medoid] {
            let options = KMeansOptions {
                k: 3,
                update,
                seed: 7,
                ..KMeansOptions::default()
            };
            let c = kmeans(&metric, &x, &options).unwrap();
            assert_eq!(adjusted_rand_index(&c.labels, &truth).unwrap(), 1.0);
            assert!(c.converged);
            if update == CentroidUpdate::Frechet {
                // The within-cluster sum of squares about the arithmetic means.
                let mut exact = 0.0;
                for cluster in 0..3 {
                    let rows: Vec<usize> = (0..30).filter(|i| truth[*i] == cluster).collect();
                    for col in 0..2 {
                        let mean = rows.iter().map(|&i| x[(i, col)]).sum::<f64>() / 10.0;
                        exact += rows
                            .iter()
                            .map(|&i| (x[(i, col)] - mean).powi(2))
                            .sum::<f64>();
                    }
                }
                assert!(
                    (c.inertia - exact).abs() < 1e-9 * exact,
                    "{} vs {exact}",
                    c.inertia
                );
            }
        }
    }

    #[test]
    fn given_centroids_are_used_and_checked() {
        let x = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 0.0, 1.0, 5.0, 0.0, 5.0, 1.0]);
        let metric = Euclidean::new(2).unwrap();
        let given = DMatrix::from_row_slice(2, 2, &[5.0, 0.5, 0.0, 0.5]);
        let options = KMeansOptions {
            initialisation: Initialisation::Given(given),
            ..KMeansOptions::default()
        };
        let c = kmeans(&metric, &x, &options).unwrap();
        assert_eq!(c.labels, vec![1, 1, 0, 0]); // the given order is kept
        assert_eq!(c.restarts, 1);
        let wrong = KMeansOptions {
            initialisation: Initialisation::Given(DMatrix::zeros(3, 2)),
            ..KMeansOptions::default()
        };
        assert!(kmeans(&metric, &x, &wrong).is_err());
    }

    #[test]
    fn bad_input_is_refused() {
        let metric = Euclidean::new(2).unwrap();
        let x = DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 1.0, 1.0]);
        let k = |k| KMeansOptions {
            k,
            ..KMeansOptions::default()
        };
        let err = kmeans(&metric, &x, &k(3)).unwrap_err().to_string();
        assert!(err.contains("must not exceed"), "{err}");
        assert!(kmeans(&metric, &x, &k(0)).is_err());
        assert!(kmeans(&metric, &DMatrix::zeros(0, 2), &k(1)).is_err());
        assert!(kmeans(&metric, &DMatrix::zeros(2, 3), &k(1)).is_err());
        let nan = DMatrix::from_row_slice(2, 2, &[0.0, f64::NAN, 1.0, 1.0]);
        assert!(kmeans(&metric, &nan, &k(1)).is_err());
        // Identical points: one cluster of zero inertia, no geodesic to solve.
        let same = DMatrix::from_row_slice(3, 2, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        let c = kmeans(&metric, &same, &k(1)).unwrap();
        assert_eq!(c.inertia, 0.0);
    }
}
