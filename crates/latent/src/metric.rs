//! Riemannian metrics on $\mathbb{R}^d$ and the discrete energy of a polyline.
//!
//! A metric assigns to every point $z$ a symmetric positive (semi-)definite matrix $G(z)$; the
//! length and the energy of a curve $\gamma:[0, 1]\to\mathbb{R}^d$ are
//!
//! $$
//! L(\gamma) = \int_0^1 \sqrt{\dot\gamma^\top G(\gamma)\dot\gamma} dt,
//! \qquad
//! E(\gamma) = \int_0^1 \dot\gamma^\top G(\gamma)\dot\gamma dt \ge L(\gamma)^2 ,
//! $$
//!
//! with equality in the Cauchy–Schwarz bound exactly for curves of constant speed. Minimising
//! $E$ (smooth, no square root) therefore gives a shortest curve traversed at constant speed:
//! a geodesic, whose energy is its length squared.
//!
//! # The discretisation
//! Curves are polylines $z_0,\dots,z_n$ at the times $t_i = i/n$. [`Metric::polyline`]
//! returns the discrete energy and length. Its default is the midpoint rule,
//!
//! $$
//! E_n = n\sum_{i<n} q_i, \qquad L_n = \sum_{i<n}\sqrt{q_i}, \qquad
//! q_i = \Delta_i^\top G(m_i)\Delta_i ,
//! $$
//!
//! with $\Delta_i = z_{i+1}-z_i$ and $m_i = (z_i+z_{i+1})/2$, second-order accurate, and
//! differentiated exactly through [`Metric::tensor_derivative`]. Pull-back metrics
//! ([`crate::PullBack`]) use the chord $q_i = \lVert f(z_{i+1}) - f(z_i)\rVert^2$ instead.
//!
//! The metrics here are the closed-form ones the tests and the CLI need: [`Euclidean`],
//! the [`Hyperbolic`] half-plane and the unit [`Sphere`] in its stereographic chart.
//!
//! ```
//! use uqforge_latent::{Hyperbolic, Metric};
//! let mut g = [0.0; 4];
//! Hyperbolic.tensor(&[0.3, 2.0], &mut g).unwrap();
//! assert_eq!(g, [0.25, 0.0, 0.0, 0.25]);
//! assert!(Hyperbolic.tensor(&[0.3, -1.0], &mut g).is_err()); // below the half-plane
//! ```

use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

/// A Riemannian metric on $\mathbb{R}^d$ (or on an open subset, which the metric checks).
///
/// Implementors write [`Metric::dim`] and [`Metric::tensor`]; the derivative of the tensor
/// defaults to central differences, and closed-form metrics override it.
pub trait Metric: Sync {
    /// The dimension $d$ of the space.
    fn dim(&self) -> usize;

    /// Writes $G(z)$, row-major $d\times d$, into `g`.
    ///
    /// # Errors
    /// When `z` lies outside the metric's domain or the tensor is not finite there.
    fn tensor(&self, z: &[f64], g: &mut [f64]) -> Result<()>;

    /// Writes $\partial G_{ab}/\partial z_c$ into `dg[c * d * d + a * d + b]`.
    ///
    /// The default takes central differences of [`Metric::tensor`] with step
    /// $10^{-6}\max(1, |z_c|)$ (about eight correct digits).
    ///
    /// # Errors
    /// As [`Metric::tensor`].
    fn tensor_derivative(&self, z: &[f64], dg: &mut [f64]) -> Result<()> {
        let d = self.dim();
        let (mut up, mut down) = (vec![0.0; d * d], vec![0.0; d * d]);
        let mut x = z.to_vec();
        for c in 0..d {
            let h = 1e-6 * z[c].abs().max(1.0);
            x[c] = z[c] + h;
            self.tensor(&x, &mut up)?;
            x[c] = z[c] - h;
            self.tensor(&x, &mut down)?;
            x[c] = z[c];
            for (k, out) in dg[c * d * d..(c + 1) * d * d].iter_mut().enumerate() {
                *out = (up[k] - down[k]) / (2.0 * h);
            }
        }
        Ok(())
    }

    /// The Gaussian curvature $K$ at `z` of a two-dimensional metric (the scalar curvature is
    /// $2K$); the default is [`crate::curvature::brioschi`].
    ///
    /// # Errors
    /// Dimensions other than 2; the metric's errors; a singular tensor.
    fn gaussian_curvature(&self, z: &[f64]) -> Result<f64> {
        crate::curvature::brioschi(self, z)
    }

    /// The discrete energy and length of the polyline `nodes` (row-major $(n+1)\times d$,
    /// uniform in time on $[0, 1]$), and when `grad` is given, the gradient of the energy with
    /// respect to every node (same layout), overwritten.
    ///
    /// The default is the midpoint rule of the [module docs](self).
    ///
    /// # Errors
    /// As [`Metric::tensor`], at any midpoint; a non-finite energy.
    fn polyline(&self, nodes: &[f64], grad: Option<&mut [f64]>) -> Result<Polyline> {
        let d = self.dim();
        let n = segments(nodes, d)?;
        let (mut g, mut dg) = (vec![0.0; d * d], vec![0.0; d * d * d]);
        let (mut mid, mut delta) = (vec![0.0; d], vec![0.0; d]);
        let mut grad = grad;
        if let Some(gr) = grad.as_deref_mut() {
            gr.fill(0.0);
        }
        let (mut sum, mut length) = (0.0, 0.0);
        for i in 0..n {
            let (a, b) = (&nodes[i * d..(i + 1) * d], &nodes[(i + 1) * d..(i + 2) * d]);
            for k in 0..d {
                mid[k] = 0.5 * (a[k] + b[k]);
                delta[k] = b[k] - a[k];
            }
            self.tensor(&mid, &mut g)?;
            let q = quadratic_form(&g, &delta);
            sum += q;
            length += q.max(0.0).sqrt();
            if let Some(gr) = grad.as_deref_mut() {
                self.tensor_derivative(&mid, &mut dg)?;
                for c in 0..d {
                    // d q / d delta_c = 2 (G delta)_c; d q / d m_c = delta' dG_c delta.
                    let g_delta: f64 = (0..d).map(|k| g[c * d + k] * delta[k]).sum();
                    let dm = quadratic_form(&dg[c * d * d..(c + 1) * d * d], &delta);
                    gr[i * d + c] += (n as f64) * (-2.0 * g_delta + 0.5 * dm);
                    gr[(i + 1) * d + c] += (n as f64) * (2.0 * g_delta + 0.5 * dm);
                }
            }
        }
        Polyline::new(n as f64 * sum, length)
    }
}

/// The discrete energy and length of a polyline, see [`Metric::polyline`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Polyline {
    /// $E_n = n\sum_i q_i$.
    pub energy: f64,
    /// $L_n = \sum_i \sqrt{q_i}$.
    pub length: f64,
}

impl Polyline {
    /// Checks that both numbers are finite.
    ///
    /// # Errors
    /// [`Error::Degenerate`] naming the non-finite quantity.
    pub fn new(energy: f64, length: f64) -> Result<Self> {
        if !energy.is_finite() || !length.is_finite() {
            return Err(Error::degenerate(
                "curve energy",
                format!("the metric gave a non-finite energy ({energy}) or length ({length})"),
            ));
        }
        Ok(Self { energy, length })
    }
}

/// The number of segments of a polyline of `d`-dimensional nodes, checked.
pub(crate) fn segments(nodes: &[f64], d: usize) -> Result<usize> {
    let rows = validate::rows("polyline nodes", nodes, d)?;
    if rows < 2 {
        return Err(Error::invalid_parameter(
            "polyline nodes",
            "a polyline needs at least two nodes",
        ));
    }
    Ok(rows - 1)
}

/// $v^\top A v$ for a row-major square `a`.
pub(crate) fn quadratic_form(a: &[f64], v: &[f64]) -> f64 {
    let d = v.len();
    (0..d)
        .map(|r| v[r] * (0..d).map(|c| a[r * d + c] * v[c]).sum::<f64>())
        .sum()
}

/// The Euclidean metric $G = I$ on $\mathbb{R}^d$: geodesics are straight segments.
///
/// ```
/// use uqforge_latent::{Euclidean, Metric};
/// let e = Euclidean::new(2).unwrap();
/// let p = e.polyline(&[0.0, 0.0, 1.5, 2.0, 3.0, 4.0], None).unwrap();
/// assert!((p.length - 5.0).abs() < 1e-12);
/// assert!((p.energy - 25.0).abs() < 1e-12); // constant speed: E = L^2
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Euclidean {
    dim: usize,
}

impl Euclidean {
    /// The Euclidean metric of $\mathbb{R}^d$.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `dim == 0`.
    pub fn new(dim: usize) -> Result<Self> {
        validate::at_least("dimension", dim, 1)?;
        Ok(Self { dim })
    }
}

impl Metric for Euclidean {
    fn dim(&self) -> usize {
        self.dim
    }

    fn tensor(&self, z: &[f64], g: &mut [f64]) -> Result<()> {
        validate::finite("point", z)?;
        g.fill(0.0);
        for k in 0..self.dim {
            g[k * self.dim + k] = 1.0;
        }
        Ok(())
    }

    fn tensor_derivative(&self, z: &[f64], dg: &mut [f64]) -> Result<()> {
        validate::finite("point", z)?;
        dg.fill(0.0);
        Ok(())
    }

    fn gaussian_curvature(&self, z: &[f64]) -> Result<f64> {
        crate::curvature::check_surface(self.dim, z)?;
        Ok(0.0)
    }
}

/// The Poincaré half-plane $y > 0$ of the $(x, y)$ plane, with $G(x, y) = I/y^2$, curvature $-1$.
///
/// Its distance has the closed form
/// $d(p, q) = \operatorname{arccosh}\bigl(1 + \lVert p-q\rVert^2/(2p_yq_y)\bigr)$; geodesics
/// are vertical lines and half-circles centred on the axis $y = 0$.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Hyperbolic;

impl Hyperbolic {
    /// The closed-form distance between two points of the half-plane.
    ///
    /// # Errors
    /// [`Error::Degenerate`] for a point with $y \le 0$ or non-finite coordinates.
    ///
    /// ```
    /// use uqforge_latent::Hyperbolic;
    /// let d = Hyperbolic::distance(&[-3.0, 1.0], &[3.0, 1.0]).unwrap();
    /// assert!((d - 3.6369).abs() < 1e-4); // against 6 along the straight line
    /// ```
    pub fn distance(p: &[f64], q: &[f64]) -> Result<f64> {
        check_half_plane(p)?;
        check_half_plane(q)?;
        let sq = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2);
        Ok((1.0 + sq / (2.0 * p[1] * q[1])).acosh())
    }
}

fn check_half_plane(z: &[f64]) -> Result<()> {
    validate::len("point of the half-plane", 2, z.len())?;
    validate::finite("point", z)?;
    if z[1] <= 0.0 {
        return Err(Error::degenerate(
            "hyperbolic metric",
            format!(
                "the point ({}, {}) is outside the upper half-plane (y must be > 0)",
                z[0], z[1]
            ),
        ));
    }
    Ok(())
}

impl Metric for Hyperbolic {
    fn dim(&self) -> usize {
        2
    }

    fn tensor(&self, z: &[f64], g: &mut [f64]) -> Result<()> {
        check_half_plane(z)?;
        let s = 1.0 / (z[1] * z[1]);
        g.copy_from_slice(&[s, 0.0, 0.0, s]);
        Ok(())
    }

    fn tensor_derivative(&self, z: &[f64], dg: &mut [f64]) -> Result<()> {
        check_half_plane(z)?;
        let s = -2.0 / z[1].powi(3);
        dg.copy_from_slice(&[0.0, 0.0, 0.0, 0.0, s, 0.0, 0.0, s]);
        Ok(())
    }

    fn gaussian_curvature(&self, z: &[f64]) -> Result<f64> {
        check_half_plane(z)?;
        Ok(-1.0)
    }
}

/// The unit sphere in its stereographic chart (projection from the north pole onto the
/// equatorial plane): $G(z) = 4I/(1+\lVert z\rVert^2)^2$ on all of $\mathbb{R}^2$.
///
/// The chart point $z$ is the sphere point
/// $\bigl(2z_1, 2z_2, \lVert z\rVert^2 - 1\bigr)/(1 + \lVert z\rVert^2)$; distances are
/// great-circle angles, at most $\pi$.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sphere;

impl Sphere {
    /// The point of the unit sphere with chart coordinates `z`.
    ///
    /// # Errors
    /// Wrong length or non-finite coordinates.
    pub fn embed(z: &[f64]) -> Result<[f64; 3]> {
        validate::len("point of the sphere's chart", 2, z.len())?;
        validate::finite("point", z)?;
        let r2 = z[0] * z[0] + z[1] * z[1];
        Ok([
            2.0 * z[0] / (1.0 + r2),
            2.0 * z[1] / (1.0 + r2),
            (r2 - 1.0) / (1.0 + r2),
        ])
    }

    /// The great-circle distance between the sphere points of two chart points.
    ///
    /// # Errors
    /// As [`Sphere::embed`].
    ///
    /// ```
    /// use uqforge_latent::Sphere;
    /// // The south pole (the origin) and a point of the equator: a quarter turn.
    /// let d = Sphere::distance(&[0.0, 0.0], &[1.0, 0.0]).unwrap();
    /// assert!((d - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
    /// ```
    pub fn distance(p: &[f64], q: &[f64]) -> Result<f64> {
        let (a, b) = (Self::embed(p)?, Self::embed(q)?);
        // atan2 of the cross and dot products: accurate for small and near-antipodal angles.
        let cross = [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ];
        let sin = cross.iter().map(|v| v * v).sum::<f64>().sqrt();
        let cos: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        Ok(sin.atan2(cos))
    }
}

impl Metric for Sphere {
    fn dim(&self) -> usize {
        2
    }

    fn tensor(&self, z: &[f64], g: &mut [f64]) -> Result<()> {
        validate::finite("point", z)?;
        let s = 4.0 / (1.0 + z[0] * z[0] + z[1] * z[1]).powi(2);
        g.copy_from_slice(&[s, 0.0, 0.0, s]);
        Ok(())
    }

    fn tensor_derivative(&self, z: &[f64], dg: &mut [f64]) -> Result<()> {
        validate::finite("point", z)?;
        let w = -16.0 / (1.0 + z[0] * z[0] + z[1] * z[1]).powi(3);
        let (sx, sy) = (w * z[0], w * z[1]);
        dg.copy_from_slice(&[sx, 0.0, 0.0, sx, sy, 0.0, 0.0, sy]);
        Ok(())
    }

    fn gaussian_curvature(&self, z: &[f64]) -> Result<f64> {
        crate::curvature::check_surface(2, z)?;
        Ok(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic derivatives against the default central differences.
    fn check_derivative<M: Metric>(metric: &M, z: &[f64]) {
        struct Numeric<'a, M>(&'a M);
        impl<M: Metric> Metric for Numeric<'_, M> {
            fn dim(&self) -> usize {
                self.0.dim()
            }
            fn tensor(&self, z: &[f64], g: &mut [f64]) -> Result<()> {
                self.0.tensor(z, g)
            }
        }
        let d = metric.dim();
        let (mut exact, mut numeric) = (vec![0.0; d * d * d], vec![0.0; d * d * d]);
        metric.tensor_derivative(z, &mut exact).unwrap();
        Numeric(metric).tensor_derivative(z, &mut numeric).unwrap();
        for (e, n) in exact.iter().zip(&numeric) {
            assert!((e - n).abs() < 1e-6 * (1.0 + e.abs()), "{e} vs {n}");
        }
    }

    #[test]
    fn closed_form_derivatives_match_differences() {
        check_derivative(&Hyperbolic, &[0.4, 0.7]);
        check_derivative(&Sphere, &[0.4, -1.3]);
        check_derivative(&Euclidean::new(3).unwrap(), &[0.4, -1.3, 2.0]);
    }

    #[test]
    fn midpoint_rule_converges_on_a_vertical_hyperbolic_line() {
        // Along x = 0 from y = 1 to y = e the hyperbolic length is exactly 1; the uniform
        // polyline's midpoint-rule length converges at second order.
        let err = |n: usize| {
            let nodes: Vec<f64> = (0..=n)
                .flat_map(|i| [0.0, 1.0 + (std::f64::consts::E - 1.0) * i as f64 / n as f64])
                .collect();
            (Hyperbolic.polyline(&nodes, None).unwrap().length - 1.0).abs()
        };
        let (e1, e2) = (err(16), err(32));
        assert!(e1 < 1e-3 && (e1 / e2 - 4.0).abs() < 0.2, "{e1} {e2}");
    }

    #[test]
    fn sphere_distance_agrees_with_the_dot_product() {
        let (p, q) = ([0.3, -0.8], [-2.0, 0.5]);
        let (a, b) = (Sphere::embed(&p).unwrap(), Sphere::embed(&q).unwrap());
        let norm: f64 = a.iter().map(|v| v * v).sum::<f64>();
        assert!((norm - 1.0).abs() < 1e-14);
        let cos: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((Sphere::distance(&p, &q).unwrap() - cos.acos()).abs() < 1e-12);
    }

    #[test]
    fn bad_points_are_refused() {
        let mut g = [0.0; 4];
        assert!(Hyperbolic.tensor(&[0.0, 0.0], &mut g).is_err());
        assert!(Sphere.tensor(&[f64::NAN, 0.0], &mut g).is_err());
        assert!(Hyperbolic::distance(&[0.0, 1.0], &[0.0, -1.0]).is_err());
        assert!(Euclidean::new(0).is_err());
        assert!(Sphere.polyline(&[0.0, 0.0], None).is_err()); // one node
        assert!(Sphere.polyline(&[0.0, 0.0, 1.0], None).is_err()); // not whole rows
    }
}
