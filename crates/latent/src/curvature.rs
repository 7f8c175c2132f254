//! Curvature of two-dimensional latent spaces, and the curvature penalty of a decoder.
//!
//! On a surface with metric coefficients $E = G_{11}$, $F = G_{12}$, $H = G_{22}$ in
//! coordinates $(u, v)$, the Gaussian curvature $K$ is intrinsic (Gauss's *theorema
//! egregium*): it depends on the metric and its first two derivatives only, through the
//! Christoffel symbols $\Gamma^k_{ij} = \frac12 G^{kl}(\partial_iG_{jl} + \partial_jG_{il} -
//! \partial_lG_{ij})$ and their derivatives ($K = R_{1212}/\det G$). The scalar curvature is
//! $R = 2K$. Two routes, both equivalent to that formula, are implemented:
//!
//! - **Brioschi's formula** ([`brioschi`], the default of [`Metric::gaussian_curvature`]),
//!   for any metric, with the derivatives of the coefficients by central differences:
//!   $K = (\det A - \det B)/(EH - F^2)^2$, where the $3\times3$ matrices $A$ and $B$ have the
//!   rows
//!
//! $$
//! A: \bigl(-\tfrac12E_{vv} + F_{uv} - \tfrac12H_{uu},\ \tfrac12E_u,\ F_u - \tfrac12E_v\bigr),
//! \quad \bigl(F_v - \tfrac12H_u,\ E,\ F\bigr), \quad \bigl(\tfrac12H_v,\ F,\ H\bigr),
//! $$
//!
//! $$
//! B: \bigl(0,\ \tfrac12E_v,\ \tfrac12H_u\bigr), \quad \bigl(\tfrac12E_v,\ E,\ F\bigr),
//! \quad \bigl(\tfrac12H_u,\ F,\ H\bigr);
//! $$
//!
//! - **Gauss's equation** for pull-back metrics ([`crate::PullBack`]): with $f_{ij}$ the
//!   second derivatives of the decoder and $f_{ij}^\perp = f_{ij} - J G^{-1}J^\top f_{ij}$
//!   their part normal to the decoded surface,
//!
//! $$
//! K = \frac{\langle f_{uu}^\perp, f_{vv}^\perp\rangle - \lVert f_{uv}^\perp\rVert^2}
//! {\det G},
//! $$
//!
//!   valid in any codimension; the second derivatives are central differences of the exact
//!   Jacobian (one difference, not two: about eight correct digits).
//!
//! The **curvature penalty** of the seed work (Lazarev 2025, `ricci_regularization`) is the
//! mean over latent points of $R^2\sqrt{\det G}$, a discretisation of
//! $\int R^2 dA$ over the encoded data: zero for a flat (developable) decoder, large where
//! the decoder folds ([`curvature_penalty`]).
//!
//! ```
//! use uqforge_latent::{Hyperbolic, Metric, Sphere, curvature::brioschi};
//! assert!((brioschi(&Sphere, &[0.3, -0.4]).unwrap() - 1.0).abs() < 1e-6);
//! assert!((brioschi(&Hyperbolic, &[0.3, 0.8]).unwrap() + 1.0).abs() < 1e-6);
//! assert_eq!(Sphere.gaussian_curvature(&[5.0, 1.0]).unwrap(), 1.0); // closed form
//! ```
//!
//! # References
//! - M. P. do Carmo (1976), *Differential Geometry of Curves and Surfaces*, Prentice-Hall,
//!   §4-3 (Gauss's formula and Brioschi's).
//! - A. Lazarev (2025), thesis, IMT Toulouse / ANITI (curvature penalties of autoencoders).

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::metric::Metric;

/// The Gaussian curvature of a two-dimensional metric at `z` by Brioschi's formula, with
/// central differences of [`Metric::tensor`] of step $2\cdot10^{-4}\max(1, \lVert z\rVert_\infty)$.
///
/// # Errors
/// A metric of another dimension than 2; the metric's errors at the stencil points; a
/// singular tensor at `z`.
pub fn brioschi<M: Metric + ?Sized>(metric: &M, z: &[f64]) -> Result<f64> {
    check_surface(metric.dim(), z)?;
    let h = 2e-4 * z.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    // g(du, dv) = (E, F, G22) at z + (du, dv) h.
    let g = |du: f64, dv: f64| -> Result<[f64; 3]> {
        let mut t = [0.0; 4];
        metric.tensor(&[z[0] + du * h, z[1] + dv * h], &mut t)?;
        Ok([t[0], t[1], t[3]])
    };
    let (c, up, um, vp, vm) = (
        g(0.0, 0.0)?,
        g(1.0, 0.0)?,
        g(-1.0, 0.0)?,
        g(0.0, 1.0)?,
        g(0.0, -1.0)?,
    );
    let (pp, pm, mp, mm) = (g(1.0, 1.0)?, g(1.0, -1.0)?, g(-1.0, 1.0)?, g(-1.0, -1.0)?);
    let du = |k: usize| (up[k] - um[k]) / (2.0 * h);
    let dv = |k: usize| (vp[k] - vm[k]) / (2.0 * h);
    let duu = |k: usize| (up[k] - 2.0 * c[k] + um[k]) / (h * h);
    let dvv = |k: usize| (vp[k] - 2.0 * c[k] + vm[k]) / (h * h);
    let duv = |k: usize| (pp[k] - pm[k] - mp[k] + mm[k]) / (4.0 * h * h);
    let [e, f, gg] = c;
    let det = e * gg - f * f;
    if det <= 0.0 || !det.is_finite() {
        return Err(singular(z, det));
    }
    let first = det3([
        [
            -0.5 * dvv(0) + duv(1) - 0.5 * duu(2),
            0.5 * du(0),
            du(1) - 0.5 * dv(0),
        ],
        [dv(1) - 0.5 * du(2), e, f],
        [0.5 * dv(2), f, gg],
    ]);
    let second = det3([
        [0.0, 0.5 * dv(0), 0.5 * du(2)],
        [0.5 * dv(0), e, f],
        [0.5 * du(2), f, gg],
    ]);
    Ok((first - second) / (det * det))
}

fn det3(m: [[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

fn check_dimension(dim: usize) -> Result<()> {
    if dim != 2 {
        return Err(Error::invalid_parameter(
            "metric",
            format!("curvature is implemented for two-dimensional latent spaces, not {dim}"),
        ));
    }
    Ok(())
}

pub(crate) fn check_surface(dim: usize, z: &[f64]) -> Result<()> {
    check_dimension(dim)?;
    validate::len("point", 2, z.len())?;
    validate::finite("point", z)
}

pub(crate) fn singular(z: &[f64], det: f64) -> Error {
    Error::degenerate(
        "curvature",
        format!("the metric tensor at {z:?} is singular (det G = {det:e}): a degenerate Jacobian"),
    )
}

/// The curvature penalty over a set of latent points; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvaturePenalty {
    /// $\frac1n\sum_i R(z_i)^2\sqrt{\det G(z_i)}$.
    pub value: f64,
    /// The scalar curvature $R = 2K$ at each point.
    pub scalar_curvature: Vec<f64>,
    /// $\sqrt{\det G}$ at each point (the area element).
    pub area_element: Vec<f64>,
}

/// The curvature penalty of a two-dimensional metric over the rows of `points`.
///
/// # Errors
/// No points; as [`Metric::gaussian_curvature`] at any point.
pub fn curvature_penalty<M: Metric + ?Sized>(
    metric: &M,
    points: &DMatrix<f64>,
) -> Result<CurvaturePenalty> {
    check_dimension(metric.dim())?;
    validate::len("point dimension (columns)", 2, points.ncols())?;
    if points.nrows() == 0 {
        return Err(Error::EmptyInput {
            what: "points of the curvature penalty".into(),
        });
    }
    let (mut scalar, mut area) = (Vec::new(), Vec::new());
    let mut t = [0.0; 4];
    for row in points.row_iter() {
        let z = [row[0], row[1]];
        scalar.push(2.0 * metric.gaussian_curvature(&z)?);
        metric.tensor(&z, &mut t)?;
        area.push((t[0] * t[3] - t[1] * t[2]).max(0.0).sqrt());
    }
    let value = scalar
        .iter()
        .zip(&area)
        .map(|(r, a)| r * r * a)
        .sum::<f64>()
        / scalar.len() as f64;
    Ok(CurvaturePenalty {
        value,
        scalar_curvature: scalar,
        area_element: area,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Euclidean, Hyperbolic, PullBack, Ridge, Sphere};
    use uqforge_core::{Differentiable, Model};

    /// The unit sphere's inverse stereographic embedding as a decoder.
    struct Stereographic;
    impl Model for Stereographic {
        fn input_dim(&self) -> usize {
            2
        }
        fn output_dim(&self) -> usize {
            3
        }
        fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
            y.copy_from_slice(&Sphere::embed(x)?);
            Ok(())
        }
    }
    impl Differentiable for Stereographic {
        fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()> {
            let (u, v) = (x[0], x[1]);
            let s = 1.0 + u * u + v * v;
            let s2 = s * s;
            jac.copy_from_slice(&[
                2.0 * (s - 2.0 * u * u) / s2,
                -4.0 * u * v / s2,
                -4.0 * u * v / s2,
                2.0 * (s - 2.0 * v * v) / s2,
                4.0 * u / s2,
                4.0 * v / s2,
            ]);
            Ok(())
        }
    }

    #[test]
    fn brioschi_recovers_constant_curvatures() {
        for z in [[0.0, 0.0], [0.7, -1.2], [-2.0, 3.0]] {
            let k = brioschi(&Sphere, &z).unwrap();
            assert!((k - 1.0).abs() < 1e-5, "{z:?}: {k}");
            assert!(brioschi(&Euclidean::new(2).unwrap(), &z).unwrap().abs() < 1e-9);
        }
        for z in [[0.0, 0.5], [3.0, 2.0], [-1.0, 0.1]] {
            let k = brioschi(&Hyperbolic, &z).unwrap();
            assert!((k + 1.0).abs() < 1e-4, "{z:?}: {k}");
        }
    }

    #[test]
    fn gauss_equation_recovers_the_sphere_and_the_flat_ridge() {
        let sphere = PullBack::new(Stereographic);
        let ridge = PullBack::new(Ridge::new(2.0, 0.3).unwrap());
        for z in [[0.0, 0.0], [0.7, -1.2], [-0.3, 0.2]] {
            let k = sphere.gaussian_curvature(&z).unwrap();
            assert!((k - 1.0).abs() < 1e-6, "{z:?}: {k}");
            // Brioschi on the same pull-back tensor: an independent route.
            assert!((brioschi(&sphere, &z).unwrap() - 1.0).abs() < 1e-5);
            // A graph over z1 alone is developable: K = 0 however steep.
            assert!(ridge.gaussian_curvature(&z).unwrap().abs() < 1e-6);
            assert!(brioschi(&ridge, &z).unwrap().abs() < 1e-4);
        }
    }

    #[test]
    fn gauss_and_brioschi_agree_on_an_mlp_decoder() {
        let mlp = crate::Mlp::from_json(
            r#"{"layers": [
            {"weights": [[1.0, 0.3], [-0.5, 1.2], [0.8, -0.9], [0.2, 0.7]], "bias": [0.1, -0.2, 0.0, 0.3], "activation": "tanh"},
            {"weights": [[1.0, -1.0, 0.5, 0.2], [0.3, 0.8, -0.6, 1.1], [-0.4, 0.2, 0.9, 0.5]], "bias": [0.0, 0.1, -0.1], "activation": "identity"}]}"#,
        )
        .unwrap();
        let metric = PullBack::new(mlp);
        for z in [[0.1, -0.3], [0.8, 0.5], [-1.0, 0.4]] {
            let (gauss, brio) = (
                metric.gaussian_curvature(&z).unwrap(),
                brioschi(&metric, &z).unwrap(),
            );
            assert!(gauss.abs() > 1e-3, "a curved decoder: {gauss}");
            assert!(
                (gauss - brio).abs() < 1e-4 * (1.0 + gauss.abs()),
                "{z:?}: {gauss} vs {brio}"
            );
        }
    }

    #[test]
    fn penalty_is_zero_for_flat_and_the_area_integral_for_the_sphere() {
        let pts = DMatrix::from_row_slice(3, 2, &[0.0, 0.0, 1.0, 0.5, -0.5, 2.0]);
        let ridge = PullBack::new(Ridge::new(2.0, 0.3).unwrap());
        assert!(curvature_penalty(&ridge, &pts).unwrap().value < 1e-10);
        // Sphere: R = 2, sqrt(det G) = 4 / (1 + |z|^2)^2.
        let p = curvature_penalty(&Sphere, &pts).unwrap();
        let exact: f64 = [0.0f64, 1.25, 4.25]
            .iter()
            .map(|r2| 4.0 * 4.0 / (1.0 + r2).powi(2))
            .sum::<f64>()
            / 3.0;
        assert!((p.value - exact).abs() < 1e-12 * exact);
    }

    #[test]
    fn bad_input_is_refused() {
        let e3 = Euclidean::new(3).unwrap();
        assert!(brioschi(&e3, &[0.0, 0.0, 0.0]).is_err());
        assert!(brioschi(&Hyperbolic, &[0.0, -1.0]).is_err());
        assert!(curvature_penalty(&Sphere, &DMatrix::zeros(0, 2)).is_err());
        // A decoder that ignores z2: G is singular everywhere.
        let degenerate = crate::Mlp::from_json(
            r#"{"layers": [{"weights": [[1.0, 0.0], [2.0, 0.0]], "bias": [0.0, 0.0], "activation": "tanh"}]}"#,
        )
        .unwrap();
        let err = PullBack::new(degenerate)
            .gaussian_curvature(&[0.1, 0.2])
            .unwrap_err();
        assert!(err.to_string().contains("singular"), "{err}");
    }
}
