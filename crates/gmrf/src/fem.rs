//! Finite-element matrices of the piecewise-linear basis: mass, lumped mass and stiffness.
//!
//! For hat functions $\varphi_1, \dots, \varphi_m$ on a triangle mesh ([`crate::mesh`]):
//!
//! $$ C_{ij} = \int \varphi_i \varphi_j, \qquad
//!    \tilde C_{ii} = \int \varphi_i = \sum_j C_{ij}, \qquad
//!    G_{ij} = \int \nabla\varphi_i^\top H \nabla\varphi_j , $$
//!
//! with $H = I$ for the isotropic Laplacian. On one triangle $T$ with vertices $p_0, p_1, p_2$
//! and area $|T|$, let $e_k$ be the edge opposite vertex $k$ ($e_0 = p_2 - p_1$,
//! $e_1 = p_0 - p_2$, $e_2 = p_1 - p_0$). The gradient of $\varphi_k$ is constant on $T$,
//! $\nabla\varphi_k = R e_k / (2|T|)$ with $R$ the rotation by a right angle, so
//!
//! $$ C^T_{kl} = \frac{|T|}{12}(1 + \delta_{kl}), \qquad \tilde C^T_{kk} = \frac{|T|}{3}, \qquad
//!    G^T_{kl} = \frac{(R e_k)^\top H (R e_l)}{4|T|}
//!    \quad\left(= \frac{e_k \cdot e_l}{4|T|} \text{ for } H = I\right), $$
//!
//! and the global matrices sum these $3 \times 3$ blocks over triangles. The lumped mass
//! $\tilde C$ is diagonal, which keeps $\tilde C^{-1}$ (and so the SPDE precision) sparse;
//! Lindgren, Rue and Lindström (2011, section 2.3 and appendix C) show that the error of
//! lumping is of the same order as the error of the finite-element approximation itself.
//!
//! Cost: $O(\text{triangles})$; the matrices have one entry per node and per edge.
//!
//! ```
//! use uqforge_gmrf::{Mesh, fem::Fem};
//!
//! let mesh = Mesh::regular_grid([0.0, 2.0], [0.0, 1.0], 8, 4)?;
//! let fem = Fem::assemble(&mesh)?;
//! // The lumped masses add up to the area, and constants are in the kernel of G.
//! assert!((fem.lumped_mass.iter().sum::<f64>() - 2.0).abs() < 1e-12);
//! let g_ones: f64 = fem.stiffness.triplet_iter().map(|t| *t.2).sum();
//! assert!(g_ones.abs() < 1e-12);
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! Reference: F. Lindgren, H. Rue, J. Lindström (2011), An explicit link between Gaussian
//! fields and Gaussian Markov random fields: the stochastic partial differential equation
//! approach, JRSS B 73(4):423-498.

use nalgebra::{DVector, Matrix2};
use nalgebra_sparse::{CooMatrix, CscMatrix};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

use crate::mesh::{Mesh, twice_signed_area};

/// The finite-element matrices of a mesh.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fem {
    /// Consistent mass matrix $C$.
    pub mass: CscMatrix<f64>,
    /// Diagonal of the lumped mass matrix $\tilde C$ (the integral of each hat function).
    pub lumped_mass: DVector<f64>,
    /// Stiffness matrix $G$ (isotropic, or with the [`Fem::assemble_anisotropic`] tensor).
    pub stiffness: CscMatrix<f64>,
}

impl Fem {
    /// Mass, lumped mass and isotropic stiffness ($H = I$).
    ///
    /// # Errors
    /// None for a mesh built by [`Mesh::new`]; kept fallible for a uniform API.
    pub fn assemble(mesh: &Mesh) -> Result<Self> {
        Self::assemble_anisotropic(mesh, &[Matrix2::identity()])
    }

    /// Mass, lumped mass and the anisotropic stiffness $\int \nabla\varphi_i^\top H
    /// \nabla\varphi_j$, with one tensor for the whole mesh (`h.len() == 1`) or one per
    /// triangle.
    ///
    /// # Errors
    /// A tensor count other than 1 or the number of triangles, or a tensor that is not
    /// symmetric positive definite (named with its triangle).
    pub fn assemble_anisotropic(mesh: &Mesh, h: &[Matrix2<f64>]) -> Result<Self> {
        let nt = mesh.n_triangles();
        if h.len() != 1 && h.len() != nt {
            return Err(Error::DimensionMismatch {
                what: "anisotropy tensors (1 or one per triangle)".into(),
                expected: nt,
                found: h.len(),
            });
        }
        for (t, m) in h.iter().enumerate() {
            let sym = (m[(0, 1)] - m[(1, 0)]).abs() <= 1e-12 * (m[(0, 1)].abs() + 1.0);
            if !(m.iter().all(|v| v.is_finite()) && sym && m[(0, 0)] > 0.0 && m.determinant() > 0.0)
            {
                return Err(Error::NotPositiveDefinite {
                    what: format!("anisotropy tensor {t}: {m:?}"),
                });
            }
        }
        let m = mesh.n_nodes();
        let mut mass = CooMatrix::new(m, m);
        let mut stiff = CooMatrix::new(m, m);
        let mut lumped = DVector::zeros(m);
        for (t, tri) in mesh.triangles().iter().enumerate() {
            let p = tri.map(|v| mesh.nodes()[v]);
            let area = 0.5 * twice_signed_area(p[0], p[1], p[2]);
            let hk = if h.len() == 1 { &h[0] } else { &h[t] };
            // R e_k with R the rotation by a right angle; its sign cancels in the products.
            let e = |k: usize| {
                let (a, b) = (p[(k + 1) % 3], p[(k + 2) % 3]);
                nalgebra::Vector2::new(-(b[1] - a[1]), b[0] - a[0])
            };
            let grads = [e(0), e(1), e(2)];
            for k in 0..3 {
                lumped[tri[k]] += area / 3.0;
                for l in 0..3 {
                    let c = if k == l { area / 6.0 } else { area / 12.0 };
                    mass.push(tri[k], tri[l], c);
                    let g = grads[k].dot(&(hk * grads[l])) / (4.0 * area);
                    stiff.push(tri[k], tri[l], g);
                }
            }
        }
        Ok(Self {
            mass: CscMatrix::from(&mass),
            lumped_mass: lumped,
            stiffness: CscMatrix::from(&stiff),
        })
    }
}

/// The advection matrix $B_{ij} = \int \varphi_i\thinspace\gamma\cdot\nabla\varphi_j$ of a
/// velocity $\gamma$, one for the whole mesh (`velocity.len() == 1`) or one per triangle
/// (constant on each). On triangle $T$, $\nabla\varphi_j$ is constant and
/// $\int_T\varphi_i = |T|/3$, so $B^T_{ij} = \frac{|T|}{3}\gamma_T\cdot\nabla\varphi_j$,
/// the Galerkin discretisation of $\gamma\cdot\nabla u$ (not symmetric: $B + B^\top$ holds
/// only the boundary flux $\oint(\gamma\cdot n)\varphi_i\varphi_j$ when $\gamma$ is
/// divergence-free).
///
/// ```
/// use uqforge_gmrf::{Mesh, fem::advection};
///
/// let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 4)?;
/// let b = advection(&mesh, &[[2.0, -1.0]])?;
/// // gamma . grad of the linear function x is 2 everywhere: B x = 2 * (lumped masses).
/// let x: Vec<f64> = mesh.nodes().iter().map(|p| p[0]).collect();
/// let bx = &b * &nalgebra::DVector::from_vec(x);
/// assert!((bx.sum() - 2.0).abs() < 1e-12); // the integral of 2 over the unit square
/// # Ok::<(), uqforge_core::Error>(())
/// ```
///
/// # Errors
/// A velocity count other than 1 or the number of triangles, or a non-finite velocity.
pub fn advection(mesh: &Mesh, velocity: &[[f64; 2]]) -> Result<CscMatrix<f64>> {
    let velocity_of = per_triangle(mesh, velocity)?;
    let m = mesh.n_nodes();
    let mut b = CooMatrix::new(m, m);
    for (t, tri) in mesh.triangles().iter().enumerate() {
        let p = tri.map(|v| mesh.nodes()[v]);
        let twice = twice_signed_area(p[0], p[1], p[2]);
        let flux = along_velocity(p, velocity_of(t));
        for (l, &j) in tri.iter().enumerate() {
            for &i in tri {
                b.push(i, j, twice / 6.0 * flux[l]);
            }
        }
    }
    Ok(CscMatrix::from(&b))
}

/// Checks a velocity list (one for the mesh or one per triangle) and returns the velocity of
/// triangle `t`.
fn per_triangle<'a>(
    mesh: &Mesh,
    velocity: &'a [[f64; 2]],
) -> Result<impl Fn(usize) -> [f64; 2] + 'a> {
    let nt = mesh.n_triangles();
    if velocity.len() != 1 && velocity.len() != nt {
        return Err(Error::DimensionMismatch {
            what: "advection velocities (1 or one per triangle)".into(),
            expected: nt,
            found: velocity.len(),
        });
    }
    uqforge_core::validate::finite("advection velocity", velocity.as_flattened())?;
    Ok(move |t: usize| {
        if velocity.len() == 1 {
            velocity[0]
        } else {
            velocity[t]
        }
    })
}

/// $\gamma\cdot\nabla\varphi_l$ on the triangle with vertices `p` (counter-clockwise), for
/// its three vertices $l$: $\nabla\varphi_l = Re_l/(2|T|)$ with
/// $Re_l = (-(c_y - a_y), c_x - a_x)$ for the edge $a \to c$ opposite vertex $l$.
fn along_velocity(p: [[f64; 2]; 3], g: [f64; 2]) -> [f64; 3] {
    let twice = twice_signed_area(p[0], p[1], p[2]);
    std::array::from_fn(|l| {
        let (a, c) = (p[(l + 1) % 3], p[(l + 2) % 3]);
        (g[0] * -(c[1] - a[1]) + g[1] * (c[0] - a[0])) / twice
    })
}

/// The streamline-diffusion matrix of a velocity $\gamma$ against a diffusion scale
/// $\varepsilon > 0$: $S_{ij} = \sum_T \delta_T\int_T(\gamma_T\cdot\nabla\varphi_i)
/// (\gamma_T\cdot\nabla\varphi_j)$, artificial diffusion along the streamlines only
/// (Brooks and Hughes 1982), with Brooks and Hughes's weight
///
/// $$
/// \delta_T = \frac{h_T}{2|\gamma_T|}\Big(\coth P_T - \frac{1}{P_T}\Big),
/// \qquad P_T = \frac{|\gamma_T|h_T}{2\varepsilon}\quad\text{(the cell Péclet number)},
/// $$
///
/// $h_T$ the longest edge of $T$: nothing where diffusion dominates ($P_T \to 0$),
/// the upwind amount $h_T/(2|\gamma_T|)$ where advection does. $S$ is symmetric positive
/// semi-definite, with constants in its kernel (mass is conserved). One velocity for the
/// whole mesh or one per triangle, as [`advection`].
///
/// ```
/// use uqforge_gmrf::{Mesh, fem::streamline_diffusion};
///
/// let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 4)?;
/// let s = streamline_diffusion(&mesh, &[[30.0, 0.0]], 1.0)?;
/// // Constants are in its kernel; a function of y alone too (no gradient along gamma).
/// let y: Vec<f64> = mesh.nodes().iter().map(|p| p[1]).collect();
/// let sy = &s * &nalgebra::DVector::from_vec(y);
/// assert!(sy.amax() < 1e-12);
/// # Ok::<(), uqforge_core::Error>(())
/// ```
///
/// References: A. N. Brooks, T. J. R. Hughes (1982), Streamline upwind/Petrov–Galerkin
/// formulations for convection dominated flows, CMAME 32:199-259; Clarotto et al. (2024)
/// for its use in the advection–diffusion SPDE.
///
/// # Errors
/// A velocity count other than 1 or the number of triangles, a non-finite velocity, or a
/// diffusion scale that is not positive and finite.
pub fn streamline_diffusion(
    mesh: &Mesh,
    velocity: &[[f64; 2]],
    diffusion: f64,
) -> Result<CscMatrix<f64>> {
    let velocity_of = per_triangle(mesh, velocity)?;
    uqforge_core::validate::positive("diffusion scale", diffusion)?;
    let m = mesh.n_nodes();
    let mut s = CooMatrix::new(m, m);
    for (t, tri) in mesh.triangles().iter().enumerate() {
        let p = tri.map(|v| mesh.nodes()[v]);
        let g = velocity_of(t);
        let speed = g[0].hypot(g[1]);
        if speed == 0.0 {
            continue;
        }
        let h = (0..3)
            .map(|l| {
                let (a, b) = (p[l], p[(l + 1) % 3]);
                (b[0] - a[0]).hypot(b[1] - a[1])
            })
            .fold(0.0, f64::max);
        let pe = speed * h / (2.0 * diffusion);
        // coth(Pe) - 1/Pe, by its series below 1e-3 (Pe/3 - Pe^3/45).
        let xi = if pe < 1e-3 {
            pe / 3.0 - pe.powi(3) / 45.0
        } else {
            1.0 / pe.tanh() - 1.0 / pe
        };
        let delta = h / (2.0 * speed) * xi;
        let along = along_velocity(p, g);
        let area = 0.5 * twice_signed_area(p[0], p[1], p[2]).abs();
        for (k, &i) in tri.iter().enumerate() {
            for (l, &j) in tri.iter().enumerate() {
                s.push(i, j, delta * area * along[k] * along[l]);
            }
        }
    }
    Ok(CscMatrix::from(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(m: &CscMatrix<f64>) -> nalgebra::DMatrix<f64> {
        let mut d = nalgebra::DMatrix::zeros(m.nrows(), m.ncols());
        for (i, j, v) in m.triplet_iter() {
            d[(i, j)] += v;
        }
        d
    }

    /// Streamline diffusion on one right triangle by hand, and symmetric positive
    /// semi-definite with constants in its kernel on a mesh.
    #[test]
    fn streamline_diffusion_by_hand_and_its_structure() {
        let tri = Mesh::new(vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], vec![[0, 1, 2]]).unwrap();
        // gamma = (2, 0), eps = 0.1: h = sqrt 2, Pe = 2 sqrt 2 / 0.2, gamma . grad phi =
        // (-2, 2, 0), |T| = 1/2.
        let s = dense(&streamline_diffusion(&tri, &[[2.0, 0.0]], 0.1).unwrap());
        let h = 2f64.sqrt();
        let pe = 2.0 * h / 0.2;
        let delta = h / 4.0 * (1.0 / pe.tanh() - 1.0 / pe);
        let expect = [[2.0, -2.0, 0.0], [-2.0, 2.0, 0.0], [0.0, 0.0, 0.0]];
        for i in 0..3 {
            for j in 0..3 {
                assert!((s[(i, j)] - delta * expect[i][j]).abs() < 1e-14, "{i} {j}");
            }
        }
        // Diffusion-dominated: Pe -> 0 and the matrix vanishes like Pe.
        let small = dense(&streamline_diffusion(&tri, &[[2.0, 0.0]], 1e6).unwrap());
        assert!(small.amax() < 1e-5);

        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 2.0], 5, 7).unwrap();
        let velocities: Vec<[f64; 2]> = (0..mesh.n_triangles())
            .map(|t| [(t as f64).sin() * 40.0, 10.0 - t as f64 * 0.3])
            .collect();
        let s = dense(&streamline_diffusion(&mesh, &velocities, 0.5).unwrap());
        assert!((&s - s.transpose()).amax() < 1e-12);
        assert!(s.clone().symmetric_eigenvalues().min() > -1e-10);
        let ones = nalgebra::DVector::from_element(mesh.n_nodes(), 1.0);
        assert!((&s * ones).amax() < 1e-10);
        assert!(streamline_diffusion(&mesh, &[[1.0, 0.0]], 0.0).is_err());
        assert!(streamline_diffusion(&mesh, &[[1.0, 0.0]; 3], 1.0).is_err());
    }

    #[test]
    fn one_right_triangle_by_hand() {
        // Vertices (0,0), (1,0), (0,1): |T| = 1/2, grad phi = (-1,-1), (1,0), (0,1).
        let mesh = Mesh::new(vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], vec![[0, 1, 2]]).unwrap();
        let fem = Fem::assemble(&mesh).unwrap();
        let g = dense(&fem.stiffness);
        let expect = [[1.0, -0.5, -0.5], [-0.5, 0.5, 0.0], [-0.5, 0.0, 0.5]];
        let c = dense(&fem.mass);
        for i in 0..3 {
            for j in 0..3 {
                assert!((g[(i, j)] - expect[i][j]).abs() < 1e-15);
                let cij = if i == j { 1.0 / 12.0 } else { 1.0 / 24.0 };
                assert!((c[(i, j)] - cij).abs() < 1e-15);
            }
            assert!((fem.lumped_mass[i] - 1.0 / 6.0).abs() < 1e-15);
        }
        // H = diag(4, 1) scales the x-derivatives: G = 0.5 (4 gx gx' + gy gy').
        let h = Matrix2::new(4.0, 0.0, 0.0, 1.0);
        let ga = dense(&Fem::assemble_anisotropic(&mesh, &[h]).unwrap().stiffness);
        let gr = [[-1.0, -1.0], [1.0, 0.0], [0.0, 1.0]];
        for i in 0..3 {
            for j in 0..3 {
                let e = 0.5 * (4.0 * gr[i][0] * gr[j][0] + gr[i][1] * gr[j][1]);
                assert!((ga[(i, j)] - e).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn regular_grid_stiffness_is_the_five_point_stencil() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 4).unwrap();
        let g = dense(&Fem::assemble(&mesh).unwrap().stiffness);
        let c = 2 + 2 * 5; // interior node (2, 2)
        assert!((g[(c, c)] - 4.0).abs() < 1e-13);
        for nb in [c - 1, c + 1, c - 5, c + 5] {
            assert!((g[(c, nb)] + 1.0).abs() < 1e-13);
        }
        assert!(g[(c, c + 6)].abs() < 1e-13 && g[(c, c - 6)].abs() < 1e-13);
    }

    #[test]
    fn quadratic_energy_is_integrated_exactly() {
        // For a linear f, f' G f = integral of |grad f|^2 = |grad|^2 * area, and f' C f the
        // integral of f^2 (exact for P1 functions).
        let mesh = Mesh::regular_grid([0.0, 2.0], [-1.0, 1.0], 5, 3).unwrap();
        let fem = Fem::assemble(&mesh).unwrap();
        let f = DVector::from_iterator(
            mesh.n_nodes(),
            mesh.nodes().iter().map(|p| 1.0 + 3.0 * p[0] - 2.0 * p[1]),
        );
        let energy = f.dot(&(dense(&fem.stiffness) * &f));
        assert!((energy - 13.0 * 4.0).abs() < 1e-11);
        // Integral of (1 + 3x - 2y)^2 over [0,2]x[-1,1] = 4 + 36*8/3/... computed in closed form.
        let exact = {
            // E[(1 + 3x - 2y)^2] with x ~ U(0,2), y ~ U(-1,1), times area 4.
            let (mx, vx, my, vy) = (1.0, 1.0 / 3.0, 0.0, 1.0 / 3.0);
            let mean = 1.0 + 3.0 * mx - 2.0 * my;
            4.0 * (mean * mean + 9.0 * vx + 4.0 * vy)
        };
        let l2 = f.dot(&(dense(&fem.mass) * &f));
        assert!((l2 - exact).abs() < 1e-11, "{l2} vs {exact}");
    }

    #[test]
    fn bad_tensors_are_refused() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 2, 2).unwrap();
        let bad = Matrix2::new(1.0, 2.0, 2.0, 1.0);
        assert!(Fem::assemble_anisotropic(&mesh, &[bad]).is_err());
        assert!(Fem::assemble_anisotropic(&mesh, &[Matrix2::identity(); 3]).is_err());
    }
}
