//! Sliced and max-sliced Wasserstein distances with seeded random directions.
//!
//! Projecting both measures on a direction $\theta \in S^{d-1}$ gives two measures on the line,
//! whose transport cost has a closed form ([`crate::one_d`]). The **sliced** Wasserstein
//! distance averages over directions,
//!
//! $$ SW_p(\mu, \nu)^p = \int_{S^{d-1}} W_p^p(\theta_\sharp\mu, \theta_\sharp\nu)
//!    \thinspace d\sigma(\theta)
//!    \approx \frac1P \sum_{k=1}^P W_p^p(\theta_{k\sharp}\mu, \theta_{k\sharp}\nu) , $$
//!
//! with $\theta_k$ uniform on the sphere (normalised Gaussian vectors, one ChaCha8 stream per
//! direction, so results do not depend on the number of threads). The Monte Carlo standard
//! error of the average is reported. The **max-sliced** distance takes the worst direction,
//! $\max_\theta W_p(\theta_\sharp\mu, \theta_\sharp\nu)$; it is estimated by the best sampled
//! direction refined by projected gradient ascent on the sphere (the gradient of
//! $W_p^p(\theta)$ for the current monotone coupling), each step accepted only if it increases
//! the exact value, so the result is a lower bound of the true maximum.
//!
//! For Gaussians with equal covariance, $W_2^2(\theta_\sharp\mu, \theta_\sharp\nu) =
//! (\theta^\top m)^2$ for the mean difference $m$, so $SW_2 = \lVert m\rVert/\sqrt d$ and
//! the max-sliced distance is $\lVert m\rVert$.
//!
//! Cost: $O(P (n + m)(d + \log n))$, parallel over directions.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_transport::{DiscreteMeasure, sliced::{sliced_wasserstein, SlicedOptions}};
//! let x = DiscreteMeasure::uniform(DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 1.0, 1.0])).unwrap();
//! // The same points shifted by m = (3, 4): every projection moves by theta . m.
//! let y = DiscreteMeasure::uniform(DMatrix::from_row_slice(2, 2, &[3.0, 4.0, 4.0, 5.0])).unwrap();
//! let sw = sliced_wasserstein(&x, &y, &SlicedOptions::default()).unwrap();
//! assert!((sw.max_sliced - 5.0).abs() < 1e-6);
//! assert!((sw.distance - 5.0 / 2f64.sqrt()).abs() < 0.5);
//! ```
//!
//! References: J. Rabin, G. Peyré, J. Delon, M. Bernot, "Wasserstein barycenter and its
//! application to texture mixing", SSVM 2011; I. Deshpande et al., "Max-sliced Wasserstein
//! distance and its use for GANs", CVPR 2019; N. Bonnotte, *Unidimensional and evolution
//! methods for optimal transportation*, PhD thesis, 2013.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::rng::{standard_normal, stream};
use uqforge_core::{Error, Result, validate};

use crate::cost::{check_points, row_major};
use crate::measure::{Balance, DiscreteMeasure};
use crate::one_d::{check_power, monotone_coupling, sorted_order};

/// Settings of the sliced distances.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlicedOptions {
    /// Number of random directions $P$ (default 200).
    pub projections: usize,
    /// Exponent $p \ge 1$ of the ground cost $|x - y|^p$ (default 2).
    pub p: f64,
    /// Seed of the directions (default 0).
    pub seed: u64,
    /// Mass-balance rule.
    pub balance: Balance,
    /// Gradient-ascent steps refining the max-sliced direction (default 50; 0 keeps the best
    /// sampled direction).
    pub max_sliced_steps: usize,
}

impl Default for SlicedOptions {
    fn default() -> Self {
        Self {
            projections: 200,
            p: 2.0,
            seed: 0,
            balance: Balance::default(),
            max_sliced_steps: 50,
        }
    }
}

/// Sliced and max-sliced distances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sliced {
    /// $\frac1P\sum_k W_p^p(\theta_k)$: the sliced transport cost $SW_p^p$.
    pub cost: f64,
    /// Monte Carlo standard error of `cost` over the directions.
    pub cost_std_error: f64,
    /// $SW_p$ = `cost`$^{1/p}$.
    pub distance: f64,
    /// Max-sliced distance $\max_\theta W_p(\theta)$ (a lower bound, see the module docs).
    pub max_sliced: f64,
    /// The direction attaining `max_sliced`.
    pub max_direction: Vec<f64>,
    /// Number of directions.
    pub projections: usize,
    /// Seed of the directions.
    pub seed: u64,
}

/// Sliced Wasserstein distances between two measures in the same dimension.
///
/// # Errors
/// [`Error::InvalidParameter`] for zero projections or $p < 1$, the point errors of
/// [`crate::GroundCost::matrix`], and the errors of [`Balance::apply`].
pub fn sliced_wasserstein(
    source: &DiscreteMeasure,
    target: &DiscreteMeasure,
    options: &SlicedOptions,
) -> Result<Sliced> {
    check_power(options.p)?;
    validate::at_least("projections", options.projections, 1)?;
    check_points(source.points(), target.points())?;
    let (a, b) = options
        .balance
        .apply(source.weights().as_slice(), target.weights().as_slice())?;
    let problem = Projector {
        d: source.dim(),
        x: row_major(source.points()),
        y: row_major(target.points()),
        a: &a,
        b: &b,
        p: options.p,
    };
    let per_direction: Vec<(f64, Vec<f64>)> = (0..options.projections)
        .into_par_iter()
        .map(|k| {
            let theta = random_direction(problem.d, options.seed, k as u64);
            (problem.cost(&theta), theta)
        })
        .collect();
    let p = options.projections as f64;
    let mean = per_direction.iter().map(|(c, _)| c).sum::<f64>() / p;
    let var = if options.projections > 1 {
        per_direction
            .iter()
            .map(|(c, _)| (c - mean).powi(2))
            .sum::<f64>()
            / (p - 1.0)
    } else {
        0.0
    };
    let (best, theta) = per_direction
        .into_iter()
        .max_by(|x, y| x.0.total_cmp(&y.0))
        .ok_or_else(|| Error::degenerate("sliced Wasserstein", "no directions"))?;
    let (best, theta) = problem.ascend(best, theta, options.max_sliced_steps);
    Ok(Sliced {
        cost: mean,
        cost_std_error: (var / p).sqrt(),
        distance: mean.powf(1.0 / options.p),
        max_sliced: best.powf(1.0 / options.p),
        max_direction: theta,
        projections: options.projections,
        seed: options.seed,
    })
}

/// A uniform direction on the unit sphere of $\mathbb R^d$ from stream `k` of `seed`.
pub fn random_direction(d: usize, seed: u64, k: u64) -> Vec<f64> {
    let mut rng = stream(seed, k);
    loop {
        let v: Vec<f64> = (0..d).map(|_| standard_normal(&mut rng)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-12 {
            return v.into_iter().map(|x| x / norm).collect();
        }
    }
}

struct Projector<'a> {
    d: usize,
    x: Vec<f64>,
    y: Vec<f64>,
    a: &'a [f64],
    b: &'a [f64],
    p: f64,
}

impl Projector<'_> {
    fn project(&self, points: &[f64], theta: &[f64]) -> Vec<f64> {
        points
            .chunks_exact(self.d)
            .map(|x| x.iter().zip(theta).map(|(u, v)| u * v).sum())
            .collect()
    }

    /// $W_p^p$ of the projections, and optionally its gradient in $\theta$ for the optimal
    /// (monotone) coupling.
    fn cost_and_gradient(&self, theta: &[f64], gradient: Option<&mut Vec<f64>>) -> f64 {
        let px = self.project(&self.x, theta);
        let py = self.project(&self.y, theta);
        let (sx, sy) = (sorted_order(&px), sorted_order(&py));
        let mut cost = 0.0;
        let p = self.p;
        match gradient {
            None => monotone_coupling(&sx, self.a, &sy, self.b, |i, j, mass| {
                cost += mass * (px[i] - py[j]).abs().powf(p);
            }),
            Some(g) => {
                g.clear();
                g.resize(self.d, 0.0);
                let d = self.d;
                monotone_coupling(&sx, self.a, &sy, self.b, |i, j, mass| {
                    let s = px[i] - py[j];
                    cost += mass * s.abs().powf(p);
                    // d/dtheta |theta . (x - y)|^p = p |s|^(p-1) sign(s) (x - y).
                    let f = mass * p * s.abs().powf(p - 1.0) * s.signum();
                    let (xi, yj) = (&self.x[i * d..(i + 1) * d], &self.y[j * d..(j + 1) * d]);
                    for ((gk, xk), yk) in g.iter_mut().zip(xi).zip(yj) {
                        *gk += f * (xk - yk);
                    }
                });
            }
        }
        cost
    }

    fn cost(&self, theta: &[f64]) -> f64 {
        self.cost_and_gradient(theta, None)
    }

    /// Projected gradient ascent on the sphere with an adaptive step; keeps only increases.
    fn ascend(&self, mut best: f64, mut theta: Vec<f64>, steps: usize) -> (f64, Vec<f64>) {
        let mut g = Vec::new();
        let mut step = 0.5;
        for _ in 0..steps {
            self.cost_and_gradient(&theta, Some(&mut g));
            let radial: f64 = g.iter().zip(&theta).map(|(u, v)| u * v).sum();
            let tangent: Vec<f64> = g.iter().zip(&theta).map(|(u, v)| u - radial * v).collect();
            let norm = tangent.iter().map(|t| t * t).sum::<f64>().sqrt();
            if norm <= 1e-14 * radial.abs().max(1e-300) {
                break;
            }
            let candidate: Vec<f64> = theta
                .iter()
                .zip(&tangent)
                .map(|(t, u)| t + step * u / norm)
                .collect();
            let cn = candidate.iter().map(|c| c * c).sum::<f64>().sqrt();
            let candidate: Vec<f64> = candidate.into_iter().map(|c| c / cn).collect();
            let value = self.cost(&candidate);
            if value > best {
                (best, theta) = (value, candidate);
                step = (step * 1.5).min(1.0);
            } else {
                step *= 0.5;
                if step < 1e-8 {
                    break;
                }
            }
        }
        (best, theta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use uqforge_core::rng::rng_from_seed;

    fn gaussian(n: usize, shift: &[f64], seed: u64) -> DMatrix<f64> {
        let mut rng = rng_from_seed(seed);
        DMatrix::from_fn(n, shift.len(), |_, k| standard_normal(&mut rng) + shift[k])
    }

    #[test]
    fn shifted_copies_give_the_mean_of_squared_projections() {
        // Y = X + m: each projection is a shift by theta . m, so W_2^2(theta) = (theta . m)^2
        // exactly and SW_2^2 -> |m|^2 / d as P grows (here |m|^2 = 4, d = 2).
        let m = [2.0, 0.0];
        let x = gaussian(300, &[0.0, 0.0], 1);
        let y = DMatrix::from_fn(300, 2, |i, k| x[(i, k)] + m[k]);
        let (mx, my) = (
            DiscreteMeasure::uniform(x).unwrap(),
            DiscreteMeasure::uniform(y).unwrap(),
        );
        let options = SlicedOptions {
            projections: 4000,
            seed: 9,
            ..SlicedOptions::default()
        };
        let sw = sliced_wasserstein(&mx, &my, &options).unwrap();
        let expected: f64 = (0..4000)
            .map(|k| {
                let t = random_direction(2, 9, k);
                (t[0] * m[0] + t[1] * m[1]).powi(2)
            })
            .sum::<f64>()
            / 4000.0;
        assert!((sw.cost - expected).abs() < 1e-9 * expected);
        // The Monte Carlo average is within 4 standard errors of the limit |m|^2 / 2 = 2.
        assert!((sw.cost - 2.0).abs() < 4.0 * sw.cost_std_error, "{sw:?}");
        assert!(
            (sw.max_sliced - 2.0).abs() < 1e-6,
            "max-sliced {}",
            sw.max_sliced
        );
    }

    #[test]
    fn independent_gaussian_samples_approach_norm_m_over_sqrt2() {
        let m = [1.5, -1.0];
        let norm2: f64 = m[0] * m[0] + m[1] * m[1];
        let x = DiscreteMeasure::uniform(gaussian(2000, &[0.0, 0.0], 3)).unwrap();
        let y = DiscreteMeasure::uniform(gaussian(2000, &m, 4)).unwrap();
        let options = SlicedOptions {
            projections: 400,
            seed: 5,
            ..SlicedOptions::default()
        };
        let sw = sliced_wasserstein(&x, &y, &options).unwrap();
        // Sampling noise of the points adds about 2 |m| sqrt(2 / n) / sqrt(2) to the cost.
        let tolerance = 4.0 * sw.cost_std_error + 4.0 * norm2.sqrt() * (1.0f64 / 2000.0).sqrt();
        assert!(
            (sw.cost - norm2 / 2.0).abs() < tolerance,
            "{} vs {}",
            sw.cost,
            norm2 / 2.0
        );
        assert!(
            (sw.max_sliced - norm2.sqrt()).abs() < 0.1,
            "{}",
            sw.max_sliced
        );
    }

    #[test]
    fn results_are_reproducible_and_inputs_checked() {
        let x = DiscreteMeasure::uniform(gaussian(50, &[0.0, 0.0, 0.0], 1)).unwrap();
        let y = DiscreteMeasure::uniform(gaussian(40, &[1.0, 0.0, 0.0], 2)).unwrap();
        let o = SlicedOptions::default();
        assert_eq!(
            sliced_wasserstein(&x, &y, &o).unwrap(),
            sliced_wasserstein(&x, &y, &o).unwrap()
        );
        let zero = SlicedOptions {
            projections: 0,
            ..o
        };
        assert!(sliced_wasserstein(&x, &y, &zero).is_err());
        let flat = DiscreteMeasure::uniform(gaussian(40, &[1.0, 0.0], 2)).unwrap();
        assert!(matches!(
            sliced_wasserstein(&x, &flat, &o),
            Err(Error::DimensionMismatch { .. })
        ));
    }
}
