//! Fréchet (Karcher) means: the point minimising the mean squared geodesic distance.
//!
//! For points $x_1,\dots,x_m$ of a Riemannian manifold, the Fréchet mean minimises
//!
//! $$
//! F(\mu) = \frac{1}{2m}\sum_{i=1}^m d(\mu, x_i)^2,
//! \qquad \operatorname{grad} F(\mu) = -\frac{1}{m}\sum_{i=1}^m \log_\mu x_i ,
//! $$
//!
//! where $\log_\mu x$ is the initial velocity of the constant-speed geodesic from $\mu$ to $x$
//! (of norm $d(\mu, x)$). Karcher's iteration is the Riemannian gradient step with unit step
//! size, $\mu \leftarrow \exp_\mu\bigl(\frac1m\sum_i\log_\mu x_i\bigr)$; in a flat space it is
//! the arithmetic mean after one step.
//!
//! Here the exponential map is replaced by the chart's retraction
//! $R_\mu(v) = \mu + \eta v$ (first-order equal to $\exp_\mu$, and exact for flat metrics in
//! affine coordinates), with the step $\eta$ halved whenever $F$ would increase or the trial
//! point leaves the metric's domain; the iteration runs until
//! $\lVert\operatorname{grad}F\rVert_{G(\mu)} \le \varepsilon\sqrt{2F}$ (the gradient small
//! compared with the spread), not for one step as in the seed code, and every geodesic is
//! warm-started from the previous step's curve.
//!
//! The objective actually minimised is the discrete one, $F_n = \frac{1}{2m}\sum_i E_{n,i}$
//! with $E_{n,i}$ the discrete energy of the geodesic to $x_i$ (equal to $d^2$ up to the
//! discretisation error), because the log maps of [`crate::Geodesic::log_map`] are its exact
//! gradient: the step control and the stopping rule then agree.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_latent::{Euclidean, FrechetOptions, frechet_mean};
//! let points = DMatrix::from_row_slice(3, 2, &[0.0, 0.0, 3.0, 0.0, 0.0, 6.0]);
//! let m = frechet_mean(&Euclidean::new(2).unwrap(), &points, None, &FrechetOptions::default())
//!     .unwrap();
//! assert!((m.point[0] - 1.0).abs() < 1e-9 && (m.point[1] - 2.0).abs() < 1e-9);
//! ```
//!
//! # References
//! - H. Karcher (1977), Riemannian center of mass and mollifier smoothing, *Comm. Pure Appl.
//!   Math.* 30:509–541.
//! - X. Pennec (2006), Intrinsic statistics on Riemannian manifolds, *J. Math. Imaging Vis.*
//!   25:127–154.
//! - P.-A. Absil, R. Mahony, R. Sepulchre (2008), *Optimization Algorithms on Matrix
//!   Manifolds*, Princeton (retractions).

use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::curve::FaberSchauder;
use crate::geodesic::{Geodesic, GeodesicOptions, towards};
use crate::metric::{Metric, quadratic_form};

/// How [`frechet_mean`] iterates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrechetOptions {
    /// Gradient steps at most (default 100).
    pub max_steps: usize,
    /// Stop when $\lVert\operatorname{grad}F\rVert \le \varepsilon\sqrt{2F}$ (default 1e-4).
    pub tolerance: f64,
    /// The geodesics' discretisation and solver.
    pub geodesic: GeodesicOptions,
}

impl Default for FrechetOptions {
    fn default() -> Self {
        Self {
            max_steps: 100,
            tolerance: 1e-4,
            geodesic: GeodesicOptions::default(),
        }
    }
}

/// A Fréchet mean; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrechetMean {
    /// $\mu$.
    pub point: Vec<f64>,
    /// The mean squared geodesic distance (discrete length) to the points.
    pub variance: f64,
    /// $\lVert\operatorname{grad}F(\mu)\rVert_{G(\mu)}$.
    pub gradient_norm: f64,
    /// Gradient steps taken (accepted or halved).
    pub steps: usize,
    /// The tolerance was met within `max_steps`.
    pub converged: bool,
    /// Geodesics solved.
    pub geodesics: usize,
}

/// The Fréchet mean of the rows of `points`, from `start` (default: the coordinate-wise mean
/// of the rows).
///
/// # Errors
/// No points, non-finite coordinates, a start of the wrong dimension, invalid options, the
/// metric's and the solver's errors at the start.
pub fn frechet_mean<M: Metric + ?Sized>(
    metric: &M,
    points: &DMatrix<f64>,
    start: Option<&[f64]>,
    options: &FrechetOptions,
) -> Result<FrechetMean> {
    let d = metric.dim();
    let rows = point_rows(points, d, "points of the Fréchet mean")?;
    let start = match start {
        Some(s) => {
            validate::len("Fréchet mean start", d, s.len())?;
            validate::finite("Fréchet mean start", s)?;
            s.to_vec()
        }
        None => (0..d)
            .map(|c| rows.iter().map(|r| r[c]).sum::<f64>() / rows.len() as f64)
            .collect(),
    };
    let members: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
    let mut curves = vec![None; members.len()];
    karcher(metric, &members, start, &mut curves, options)
}

/// The rows of `points` (rows = observations), checked: `dim` columns, at least one row,
/// finite coordinates.
pub(crate) fn point_rows(points: &DMatrix<f64>, dim: usize, what: &str) -> Result<Vec<Vec<f64>>> {
    validate::len("point dimension (columns)", dim, points.ncols())?;
    if points.nrows() == 0 {
        return Err(Error::EmptyInput { what: what.into() });
    }
    let rows: Vec<Vec<f64>> = points
        .row_iter()
        .map(|r| r.iter().copied().collect())
        .collect();
    for r in &rows {
        validate::finite(what, r)?;
    }
    Ok(rows)
}

/// The geodesics from each member to `mu` (warm from `curves`, which are updated).
fn spokes<M: Metric + ?Sized>(
    metric: &M,
    members: &[&[f64]],
    mu: &[f64],
    curves: &[Option<FaberSchauder>],
    options: &GeodesicOptions,
) -> Result<Vec<Option<Geodesic>>> {
    members
        .par_iter()
        .zip(curves.par_iter())
        .map(|(x, warm)| towards(metric, x, mu, warm.as_ref(), options))
        .collect()
}

/// Hands the final geodesics' curves back as warm starts, and returns `mean`.
fn finish(
    curves: &mut [Option<FaberSchauder>],
    geos: &[Option<Geodesic>],
    mean: FrechetMean,
) -> FrechetMean {
    for (c, geo) in curves.iter_mut().zip(geos) {
        *c = geo.as_ref().map(|g| g.curve.clone());
    }
    mean
}

/// Karcher's iteration from `start`, with `curves[i]` a warm start for member `i`'s geodesic
/// (updated to the final ones).
pub(crate) fn karcher<M: Metric + ?Sized>(
    metric: &M,
    members: &[&[f64]],
    start: Vec<f64>,
    curves: &mut [Option<FaberSchauder>],
    options: &FrechetOptions,
) -> Result<FrechetMean> {
    validate::positive("tolerance", options.tolerance)?;
    options.geodesic.validate()?;
    let (d, m) = (start.len(), members.len() as f64);
    let mut mu = start;
    let mut geos = spokes(metric, members, &mu, curves, &options.geodesic)?;
    let mut solved = geos.iter().flatten().count();
    let mut g = vec![0.0; d * d];
    let mut step = 1.0;
    let mut steps = 0;
    loop {
        // The discrete objective: energies, whose exact gradient the log maps are.
        let f = geos.iter().flatten().map(|g| g.energy).sum::<f64>() / (2.0 * m);
        let variance = geos
            .iter()
            .flatten()
            .map(|g| g.length * g.length)
            .sum::<f64>()
            / m;
        // v = (1/m) sum_i log_mu x_i = -(1/m) sum_i (the velocity at the end of x_i -> mu).
        let mut v = vec![0.0; d];
        for geo in geos.iter().flatten() {
            for (vc, l) in v.iter_mut().zip(geo.log_map_end(metric)?) {
                *vc += l / m;
            }
        }
        metric.tensor(&mu, &mut g)?;
        let norm = quadratic_form(&g, &v).max(0.0).sqrt();
        let done = norm <= options.tolerance * variance.sqrt();
        if done || steps >= options.max_steps {
            return Ok(finish(
                curves,
                &geos,
                FrechetMean {
                    point: mu,
                    variance,
                    gradient_norm: norm,
                    steps,
                    converged: done,
                    geodesics: solved,
                },
            ));
        }
        // Backtracking: halve the step until F decreases (or the trial point is admissible).
        let warm: Vec<Option<FaberSchauder>> = geos
            .iter()
            .map(|g| g.as_ref().map(|g| g.curve.clone()))
            .collect();
        loop {
            steps += 1;
            let trial: Vec<f64> = mu.iter().zip(&v).map(|(a, b)| a + step * b).collect();
            let accepted = match spokes(metric, members, &trial, &warm, &options.geodesic) {
                Ok(next) => {
                    solved += next.iter().flatten().count();
                    let f_next = next.iter().flatten().map(|g| g.energy).sum::<f64>() / (2.0 * m);
                    (f_next <= f).then_some(next)
                }
                Err(_) => None,
            };
            if let Some(next) = accepted {
                mu = trial;
                geos = next;
                // A successful unit-length step suggests the quadratic model is good: grow back.
                step = (2.0 * step).min(1.0);
                break;
            }
            step *= 0.5;
            if step < 1e-6 || steps >= options.max_steps {
                // No decrease along the gradient: mu is stationary to the geodesics' accuracy.
                return Ok(finish(
                    curves,
                    &geos,
                    FrechetMean {
                        point: mu,
                        variance,
                        gradient_norm: norm,
                        steps,
                        converged: false,
                        geodesics: solved,
                    },
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hyperbolic, Sphere};

    #[test]
    fn two_points_meet_at_the_geodesic_midpoint() {
        // The midpoint of (-3, 1) and (3, 1) in the half-plane is the top of the circle of
        // radius sqrt(10): (0, sqrt(10)).
        let points = DMatrix::from_row_slice(2, 2, &[-3.0, 1.0, 3.0, 1.0]);
        let m = frechet_mean(&Hyperbolic, &points, None, &FrechetOptions::default()).unwrap();
        assert!(m.converged, "{m:?}");
        assert!(
            m.point[0].abs() < 1e-3 && (m.point[1] - 10f64.sqrt()).abs() < 2e-3,
            "{m:?}"
        );
        let half = Hyperbolic::distance(&[-3.0, 1.0], &[3.0, 1.0]).unwrap() / 2.0;
        assert!((m.variance / (half * half) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn symmetric_points_on_the_sphere_average_to_the_pole() {
        // Four points at the same latitude around the south pole (the chart's origin).
        let r = 0.7;
        let points = DMatrix::from_row_slice(4, 2, &[r, 0.0, 0.0, r, -r, 0.0, 0.0, -r]);
        let start = [0.2, -0.1];
        let m = frechet_mean(&Sphere, &points, Some(&start), &FrechetOptions::default()).unwrap();
        assert!(
            m.converged && m.point[0].abs() < 1e-3 && m.point[1].abs() < 1e-3,
            "{m:?}"
        );
        let angle = Sphere::distance(&[0.0, 0.0], &[r, 0.0]).unwrap();
        assert!((m.variance / (angle * angle) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn bad_input_is_refused() {
        let o = FrechetOptions::default();
        let none = DMatrix::<f64>::zeros(0, 2);
        assert!(frechet_mean(&Sphere, &none, None, &o).is_err());
        let wrong = DMatrix::from_row_slice(1, 3, &[0.0, 1.0, 2.0]);
        assert!(frechet_mean(&Sphere, &wrong, None, &o).is_err());
        let nan = DMatrix::from_row_slice(1, 2, &[0.0, f64::NAN]);
        assert!(frechet_mean(&Sphere, &nan, None, &o).is_err());
        let one = DMatrix::from_row_slice(1, 2, &[0.0, 1.0]);
        assert!(frechet_mean(&Sphere, &one, Some(&[0.0]), &o).is_err());
        // A single point is its own mean.
        let m = frechet_mean(&Sphere, &one, None, &o).unwrap();
        assert_eq!(m.point, vec![0.0, 1.0]);
        assert_eq!(m.variance, 0.0);
    }
}
