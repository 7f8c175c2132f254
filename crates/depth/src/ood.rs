//! Out-of-domain studies: seeded data sets with known in-domain and out-of-domain points, and
//! the AUROC of a depth used as a score.
//!
//! A depth fitted on training inputs is a reliability score for a surrogate: a query of small
//! depth lies where the surrogate saw no data. How well it separates in-domain from
//! out-of-domain queries is measured by the area under the ROC curve,
//!
//! $$ \operatorname{AUROC} = P(S(X_{\text{in}}) > S(X_{\text{out}})) +
//!    \tfrac12 P(S(X_{\text{in}}) = S(X_{\text{out}})) , $$
//!
//! estimated over all pairs of an in-domain and an out-of-domain query (the Mann–Whitney
//! statistic): 1 separates perfectly, 1/2 is chance.
//!
//! - [`two_moons`]: scikit-learn's two moons; [`moons_gap`]: points of the bounding box at
//!   least 0.35 from both moons (the gap between them and around them, inside or near the
//!   convex hull), where depths that see only moments or convex hulls are fooled.
//! - [`gaussian_mixture`]: well-separated Gaussian clusters in any dimension, and
//!   [`moment_matched`]: a Gaussian with the same mean and covariance as the pooled
//!   clusters, indistinguishable from them by Mahalanobis depth by construction.
//!
//! ```
//! use uqforge_depth::ood::auroc;
//! assert_eq!(auroc(&[0.9, 0.8], &[0.1, 0.8]), 0.875); // one tie of four pairs
//! ```

use nalgebra::DMatrix;
use uqforge_core::rng::{SeededRng, standard_normal, uniform01};

/// `n` points of scikit-learn's two moons with Gaussian noise of standard deviation `sd`:
/// the upper half of the unit circle and the lower half of the unit circle about
/// $(1, 0.5)$, alternately (even rows on the first moon).
pub fn two_moons(n: usize, sd: f64, rng: &mut SeededRng) -> DMatrix<f64> {
    let mut x = DMatrix::zeros(n, 2);
    for i in 0..n {
        let t = std::f64::consts::PI * uniform01(rng);
        let (a, b) = if i % 2 == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        x[(i, 0)] = a + sd * standard_normal(rng);
        x[(i, 1)] = b + sd * standard_normal(rng);
    }
    x
}

/// Distance from a point to the nearer noiseless moon.
fn to_moons(p: [f64; 2]) -> f64 {
    let arc = |c: [f64; 2], upper: bool| {
        let (dx, dy) = (p[0] - c[0], p[1] - c[1]);
        if (dy >= 0.0) == upper {
            (dx.hypot(dy) - 1.0).abs()
        } else {
            // Nearest end point of the half circle.
            (dx - 1.0).hypot(dy).min((dx + 1.0).hypot(dy))
        }
    };
    arc([0.0, 0.0], true).min(arc([1.0, 0.5], false))
}

/// `n` points uniform in the moons' bounding box $[-1, 2] \times [-0.5, 1]$, at least 0.35
/// from both noiseless moons.
pub fn moons_gap(n: usize, rng: &mut SeededRng) -> DMatrix<f64> {
    let mut rows = Vec::new();
    while rows.len() < 2 * n {
        let p = [-1.0 + 3.0 * uniform01(rng), -0.5 + 1.5 * uniform01(rng)];
        if to_moons(p) > 0.35 {
            rows.extend(p);
        }
    }
    DMatrix::from_row_slice(n, 2, &rows)
}

/// `n` points of an equal-weight mixture of `clusters` standard normal clusters in
/// dimension `d >= clusters`, centred at `spread` times the first coordinate vectors; row
/// `i` belongs to cluster `i % clusters`.
pub fn gaussian_mixture(
    n: usize,
    d: usize,
    clusters: usize,
    spread: f64,
    rng: &mut SeededRng,
) -> DMatrix<f64> {
    DMatrix::from_fn(n, d, |i, k| {
        let centre = if k == i % clusters.max(1) {
            spread
        } else {
            0.0
        };
        centre + standard_normal(rng)
    })
}

/// `n` points of the Gaussian with the mean and covariance of [`gaussian_mixture`]`(_, d,
/// clusters, spread, _)`: mean $\frac{s}{K}\sum_k e_k$, covariance
/// $I + s^2 (\frac1K \sum_k e_k e_k^\top - \bar m \bar m^\top / s^2)$.
pub fn moment_matched(
    n: usize,
    d: usize,
    clusters: usize,
    spread: f64,
    rng: &mut SeededRng,
) -> DMatrix<f64> {
    let k = clusters.max(1) as f64;
    let p = 1.0 / k;
    // On the first K coordinates the centre is s times a one-hot vector drawn uniformly:
    // covariance s^2 (p I - p^2 1 1^T). Its square root: s sqrt(p) (I - c 1 1^T) with
    // c = (1 - sqrt(1 - K p)) / K = 1/K.
    let c = 1.0 / k;
    let mut out = DMatrix::zeros(n, d);
    for i in 0..n {
        let z: Vec<f64> = (0..clusters).map(|_| standard_normal(rng)).collect();
        let mean_z = z.iter().sum::<f64>() * c;
        for j in 0..d {
            let noise = standard_normal(rng);
            out[(i, j)] = if j < clusters {
                spread * p + spread * p.sqrt() * (z[j] - mean_z) + noise
            } else {
                noise
            };
        }
    }
    out
}

/// The probability that an in-domain score exceeds an out-of-domain one, ties counting half
/// (the Mann–Whitney statistic over all pairs); NaN when either set is empty.
pub fn auroc(inside: &[f64], outside: &[f64]) -> f64 {
    let mut out: Vec<f64> = outside.to_vec();
    out.sort_by(f64::total_cmp);
    let mut wins = 0.0;
    for a in inside {
        let below = out.partition_point(|b| b < a);
        let not_above = out.partition_point(|b| b <= a);
        wins += below as f64 + 0.5 * (not_above - below) as f64;
    }
    wins / (inside.len() * outside.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use uqforge_core::rng::stream;

    #[test]
    fn auroc_counts_pairs() {
        assert_eq!(auroc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        assert_eq!(auroc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
        assert_eq!(auroc(&[1.0, 2.0], &[1.0, 2.0]), 0.5);
        // Against the O(n m) definition.
        let a: Vec<f64> = (0..37).map(|i| f64::from(i * 7 % 11)).collect();
        let b: Vec<f64> = (0..23).map(|i| f64::from(i * 5 % 13)).collect();
        let mut wins = 0.0;
        for x in &a {
            for y in &b {
                wins += if x > y {
                    1.0
                } else if x == y {
                    0.5
                } else {
                    0.0
                };
            }
        }
        assert_eq!(auroc(&a, &b), wins / (37.0 * 23.0));
    }

    /// The moment-matched Gaussian has the mixture's mean and covariance (to sampling
    /// error with 40,000 points).
    #[test]
    fn moment_matched_matches_the_mixture_moments() {
        let (n, d, k, s) = (40_000, 4, 3, 3.0);
        let a = gaussian_mixture(n, d, k, s, &mut stream(1, 0));
        let b = moment_matched(n, d, k, s, &mut stream(1, 1));
        let moments = |x: &DMatrix<f64>| {
            let mean = x.row_mean();
            let centred = DMatrix::from_fn(n, d, |i, j| x[(i, j)] - mean[j]);
            (mean, centred.transpose() * &centred / (n - 1) as f64)
        };
        let ((ma, ca), (mb, cb)) = (moments(&a), moments(&b));
        assert!((ma - mb).amax() < 0.05, "means");
        assert!((ca - cb).amax() < 0.15, "covariances");
    }

    #[test]
    fn the_gap_keeps_away_from_the_moons() {
        let g = moons_gap(200, &mut stream(3, 0));
        assert!(g.row_iter().all(|r| to_moons([r[0], r[1]]) > 0.35));
        let m = two_moons(200, 0.0, &mut stream(3, 1));
        assert!(m.row_iter().all(|r| to_moons([r[0], r[1]]) < 1e-12));
    }
}
