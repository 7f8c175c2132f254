//! Spatio-temporal fields from the advection–diffusion SPDE: the finite-element / implicit
//! Euler discretisation, the sparse space-time precision, and simulation.
//!
//! # The model
//!
//! Clarotto, Allard, Romary and Desassis (2024) let a field $u(s, t)$ in the plane evolve by
//!
//! $$
//! \Big[\frac{\partial}{\partial t} + \frac{1}{c}\big(\kappa^2 - \nabla\cdot H\nabla\big)^\alpha +
//! \frac{1}{c}\gamma\cdot\nabla\Big]u = \frac{\tau}{\sqrt c}Z,
//! $$
//!
//! with $Z$ white in time and, in space, white ($\alpha_s = 0$) or Matérn-coloured:
//! $(\kappa^2 - \nabla\cdot H\nabla)^{\alpha_s/2}Z = \mathcal W$. The field is carried at
//! velocity $\gamma/c$, damped at rate $\kappa^2/c$ and diffused by $H/c$. In the Fourier
//! domain every wave number is an Ornstein–Uhlenbeck process with rate
//! $\lambda(\omega) = c^{-1}\big[(\kappa^2 + \omega^\top H\omega)^\alpha + i\gamma\cdot\omega\big]$,
//! and its stationary variance $\tau^2 f_Z(\omega)/(2c\thinspace\mathrm{Re}\lambda)$ holds
//! neither $c$ nor $\gamma$: at a fixed time the stationary field is a spatial Matérn field of
//! order $\alpha + \alpha_s$ (smoothness $\nu = \alpha + \alpha_s - 1$) and scale $\kappa$, with
//!
//! $$
//! \sigma^2 = \frac{\tau^2}{2}\thinspace\frac{\Gamma(\nu)}{\Gamma(\nu + 1)4\pi\kappa^{2\nu}
//! \sqrt{\det H}},\qquad \rho = \frac{\sqrt{8\nu}}{\kappa},
//! $$
//!
//! ([`AdvectionDiffusion::from_range_sigma`]; compare [`crate::matern`], whose $\tau$ scales
//! the precision, not the noise). Advection and $c$ act on the temporal structure only: a
//! feature is carried $\gamma/(\kappa^2\rho)$ ranges during its correlation time $c/\kappa^2$
//! (for $\alpha = 1$).
//!
//! # Discretisation
//!
//! Piecewise-linear elements in space ([`crate::fem`]: lumped mass $M = \tilde C$, stiffness
//! $G_H$, advection $B$ from [`crate::fem::advection`]) turn the operator into
//! $K = K_1(M^{-1}K_1)^{\alpha-1}$ with $K_1 = \kappa^2 M + G_H$, and the noise into a load
//! vector $\beta M z$, $z \sim N(0, Q_s^{-1})$ with $Q_s$ the Matérn precision of order
//! $\alpha_s$ and unit $\tau$ ($Q_s = M$ for white noise). Implicit Euler with step $\Delta t$
//! gives
//!
//! $$
//! D u_k = M u_{k-1} + \beta M z_k,\qquad D = M + \frac{\Delta t}{c}(K + B),\qquad
//! \beta = \tau\sqrt{\Delta t/c},
//! $$
//!
//! from rest, $u_0 = 0$. The residuals $e_k = D u_k - M u_{k-1}$ are independent
//! $N(0, S^{-1})$ with $S = \beta^{-2}M^{-1}Q_sM^{-1}$, so the joint precision of
//! $(u_1, \dots, u_T)$ is block tridiagonal,
//!
//! $$
//! Q_{kk} = D^\top S D + M S M\ (k < T),\qquad Q_{TT} = D^\top S D,\qquad
//! Q_{k,k+1} = -M S D = Q_{k+1,k}^\top,
//! $$
//!
//! ([`SpaceTime::precision`]). Two exact samplers follow: the Cholesky factor of the joint
//! precision ([`SpaceTime::simulate_cholesky`]), or the recursion itself, one sparse LU solve
//! with $D$ per step ([`SpaceTime::simulate_sequential`], memory of one time step plus the
//! output). [`SpaceTime::simulate_chebyshev`] runs the recursion with the noise coloured by
//! a Chebyshev polynomial ([`crate::chebyshev`]) instead of a factor of $Q_s$.
//!
//! **Stability.** Write $D = M + hA$ with $h = \Delta t/c$ and $A = K + B$. Where the
//! symmetric part of $A$ is positive semi-definite, $v = D^{-1}Mu$ satisfies
//! $v^\top Mu = v^\top Mv + h\thinspace v^\top Av \ge \|v\|_M^2$, so
//! $\|v\|_M \le \|u\|_M$: every step contracts, whatever $\Delta t$. Strong advection makes
//! that symmetric part indefinite (the inflow boundary's flux $\gamma\cdot n < 0$ in
//! $B + B^\top$). Most such steps still contract, with the spectral radius of $D^{-1}M$ that of
//! the constant mode, $1/(1 + \kappa^{2\alpha}\Delta t/c)$; but on a coarse mesh with a small
//! $\Delta t$ the boundary wins: $\alpha = 1$, $\kappa = 3$, $c = 0.7$,
//! $\gamma = (-1000, 300)$ on a 5 x 5 grid gives a spectral radius of 1.027 at
//! $\Delta t = 10^{-4}$ (0.987 at $10^{-3}$; 0.9987 on a 20 x 20 grid), and the recursion grows
//! without bound. [`SpaceTime::check_stable`] tells the two apart (the samplers of the
//! recursion call it): a Cholesky factor of $A + A^\top$ proves contraction; otherwise 400 noise-free steps
//! from a random start must not grow exponentially. A larger $\Delta t$, a finer mesh or weaker
//! advection restores it, and so does streamline diffusion
//! ([`AdvectionDiffusion::streamline_diffusion`], [`crate::fem::streamline_diffusion`]),
//! which Clarotto et al. (2024) add where advection dominates: the example's spectral radius
//! falls back to the constant mode's (tested). It also damps Galerkin's wiggles: a Gaussian
//! blob advected 20 steps with diffusion $10^{-4}$ undershoots to -0.22 of its initial peak on
//! a 60 x 60 mesh and -0.028 on 120 x 120 without it (and the inflow boundary's mode grows),
//! against -0.0068 and -0.000012 with it; the price is an artificial diffusion of order $h$
//! along $\gamma$ (peak 0.31 against 0.59 at 60 x 60, 0.42 against 0.67 at 120 x 120). The
//! centre of mass still moves at the exact rate on a regular mesh (tested). (The joint
//! precision stays valid either way: it is the law of the recursion from rest over finitely
//! many steps, growing or not.)
//!
//! **Fields that vary in space.** [`Fields`] adds node-wise advection and scales the
//! diffusion node by node ($\gamma(s) = \gamma + \delta\gamma(s)$, $H(s) = d(s)H$; each
//! triangle takes its nodes' mean), given directly or as basis expansions
//! ([`Fields::from_basis`], as R-INLA's `B.tau`); [`SpaceTime::with_fields`] discretises the
//! result, and [`crate::spacetime_likelihood::SpaceTimeObservations::with_fields`] evaluates
//! and fits the constant parts with the fields held fixed. A wind on the western half of the
//! domain carries a blob there at $\gamma/c$ and leaves one in the east in place (tested).
//!
//! One step from rest without advection is a spatial Matérn field: with $\alpha = 1$ and white
//! noise, $D = (\Delta t/c)(\kappa'^2 M + G)$ with $\kappa'^2 = \kappa^2 + c/\Delta t$, and
//! $Q = \beta^{-2}D M^{-1} D$ is [`crate::matern`]'s $Q_2$ at $\kappa'$ and
//! $\tau' = \sqrt{\Delta t/c}/\tau$ (tested).
//!
//! **Mass and centre of mass.** Away from the boundary, $\mathbf 1^\top G = 0$ and
//! $\mathbf 1^\top B u = \int\gamma\cdot\nabla u = 0$, so a noise-free step multiplies the mass
//! $W = \mathbf 1^\top M u$ by $c/(c + \kappa^{2\alpha}\Delta t)$; and since
//! $x^\top B u = \int x\thinspace\gamma\cdot\nabla u = -\gamma_x W$ for the linear function $x$,
//! the centre of mass $x^\top M u/W$ moves by exactly
//! $\gamma\Delta t/(c + \kappa^{2\alpha}\Delta t)$ per step (tested): the advection
//! $\gamma\Delta t/c$ of the continuous model, up to the $O(\Delta t^2)$ coupling of implicit
//! Euler's damping with transport, and exactly without damping. The shape carries the rest of
//! the discretisation error: implicit Euler adds a numerical diffusion of order
//! $|\gamma|^2\Delta t/(2c^2)$.
//!
//! ```
//! use uqforge_gmrf::{Mesh, spacetime::{AdvectionDiffusion, SpaceTime}};
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 20, 20)?;
//! let model = AdvectionDiffusion::from_range_sigma(0.3, 1.0, [5.0, 0.0])?;
//! let st = SpaceTime::new(&mesh, &model, 0.01)?;
//! let u = st.simulate_sequential(5, 42)?; // one column per time step
//! assert_eq!(u.shape(), (441, 5));
//! assert_eq!(u, st.simulate_sequential(5, 42)?); // seeded
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! References: L. Clarotto, D. Allard, T. Romary, N. Desassis (2024), The SPDE approach for
//! spatio-temporal datasets with advection and diffusion, Spatial Statistics 62:100847;
//! F. Lindgren, H. Rue, J. Lindström (2011), JRSS B 73(4):423-498; P. Whittle (1954),
//! Biometrika 41:434-449.

use nalgebra::{DMatrix, DVector, Matrix2};
use nalgebra_sparse::{CooMatrix, CscMatrix};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, rng, validate};

use crate::chebyshev::ChebyshevSampler;
use crate::factor::{Cholesky, SymbolicCholesky};
use crate::fem::{Fem, advection, streamline_diffusion};
use crate::lu::SparseLu;
use crate::matern::{Matern, SpdeOperator};
use crate::mesh::Mesh;

/// Parameters of the advection–diffusion SPDE (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdvectionDiffusion {
    /// Order $\alpha \ge 1$ of the spatial operator in the dynamics.
    pub alpha: u32,
    /// Order $\alpha_s \ge 0$ of the noise's spatial colouring (0: white).
    pub noise_alpha: u32,
    /// Scale $\kappa > 0$.
    pub kappa: f64,
    /// Noise amplitude $\tau > 0$.
    pub tau: f64,
    /// Time scale $c > 0$.
    pub c: f64,
    /// Advection $\gamma$ (the field moves at $\gamma/c$).
    pub advection: [f64; 2],
    /// Diffusion tensor $H$ (symmetric positive definite).
    pub diffusion: Matrix2<f64>,
    /// Add streamline diffusion to the advection ([`crate::fem::streamline_diffusion`]
    /// against the smallest eigenvalue of $H$): stabilises advection-dominated dynamics on
    /// coarse meshes, at the price of an $O(h)$ artificial diffusion along $\gamma$.
    #[serde(default)]
    pub streamline_diffusion: bool,
}

impl AdvectionDiffusion {
    /// The model with $\alpha = \alpha_s = 1$ (a stationary marginal of smoothness $\nu = 1$),
    /// $c = 1$, $H = I$, practical range $\rho$ and marginal standard deviation $\sigma$ of the
    /// stationary field.
    ///
    /// # Errors
    /// A range or sigma that is not positive and finite, or a non-finite advection.
    pub fn from_range_sigma(range: f64, sigma: f64, advection: [f64; 2]) -> Result<Self> {
        validate::positive("range", range)?;
        validate::positive("sigma", sigma)?;
        let model = Self {
            alpha: 1,
            noise_alpha: 1,
            kappa: 1.0,
            tau: 1.0,
            c: 1.0,
            advection,
            diffusion: Matrix2::identity(),
            streamline_diffusion: false,
        };
        model.with_range_sigma(range, sigma)
    }

    /// This model with $\kappa$ and $\tau$ set for the stationary range and standard
    /// deviation (the orders, $c$, $\gamma$ and $H$ kept).
    ///
    /// # Errors
    /// As [`Self::validate`], and $\alpha + \alpha_s < 2$ (no finite variance).
    pub fn with_range_sigma(mut self, range: f64, sigma: f64) -> Result<Self> {
        validate::positive("range", range)?;
        validate::positive("sigma", sigma)?;
        let nu = self.nu()?;
        self.kappa = (8.0 * nu).sqrt() / range;
        self.tau = 1.0;
        self.tau = sigma / self.sigma()?;
        self.validate()?;
        Ok(self)
    }

    /// Smoothness $\nu = \alpha + \alpha_s - 1$ of the stationary field.
    ///
    /// # Errors
    /// $\alpha + \alpha_s < 2$: the stationary field has no finite variance in the plane.
    pub fn nu(&self) -> Result<f64> {
        let total = self.alpha + self.noise_alpha;
        if total < 2 {
            return Err(Error::invalid_parameter(
                "alpha",
                format!(
                    "alpha + noise_alpha = {total}: at least 2 for a field with finite variance"
                ),
            ));
        }
        Ok(f64::from(total - 1))
    }

    /// Practical range $\sqrt{8\nu}/\kappa$ of the stationary field.
    ///
    /// # Errors
    /// As [`Self::nu`].
    pub fn range(&self) -> Result<f64> {
        Ok((8.0 * self.nu()?).sqrt() / self.kappa)
    }

    /// Marginal standard deviation of the stationary field (module docs).
    ///
    /// # Errors
    /// As [`Self::nu`].
    pub fn sigma(&self) -> Result<f64> {
        let nu = self.nu()?;
        // Gamma(nu) / Gamma(nu + 1) = 1 / nu.
        let var = 0.5 * self.tau * self.tau
            / (nu * 4.0 * std::f64::consts::PI * self.kappa.powf(2.0 * nu))
            / self.diffusion.determinant().sqrt();
        Ok(var.sqrt())
    }

    /// The anisotropy coordinates $(a, b)$ of the diffusion tensor: writing
    /// $H = \sqrt{\det H}\thinspace e^{A}$ with $A$ symmetric and trace free,
    /// $A_{11} = -A_{22} = a = r\cos 2\phi$ and $A_{12} = A_{21} = b = r\sin 2\phi$,
    ///
    /// $$
    /// e^{A} = \cosh r\thinspace I + \frac{\sinh r}{r}A,\qquad r = \sqrt{a^2 + b^2}.
    /// $$
    ///
    /// $H$'s eigenvalues are $\sqrt{\det H}e^{\pm r}$, so the stationary field's correlation
    /// ranges along the principal axes are $\rho e^{\pm r/2}$ (ratio $e^r$), the longer one at
    /// the angle $\phi$ from the $x$ axis ([`Self::anisotropy_axes`]); $\rho$, the geometric
    /// mean of the two, and $\sigma$ (through $\det H$) do not move with $(a, b)$. The
    /// coordinates are smooth through isotropy ($a = b = 0$), where the angle is not
    /// identifiable; that is why the likelihood estimates $(a, b)$ rather than
    /// $(\log\text{ratio}, \phi)$.
    ///
    /// ```
    /// use uqforge_gmrf::spacetime::AdvectionDiffusion;
    ///
    /// let iso = AdvectionDiffusion::from_range_sigma(0.3, 1.0, [0.0, 0.0])?;
    /// assert_eq!(iso.anisotropy(), [0.0, 0.0]);
    /// // Ranges 0.3 e^(±0.5) (ratio e), the longer one along the diagonal y = x.
    /// let m = iso.with_anisotropy([0.0, 1.0])?;
    /// let (ratio, angle) = m.anisotropy_axes();
    /// assert!((ratio - 1f64.exp()).abs() < 1e-12 && (angle - std::f64::consts::FRAC_PI_4).abs() < 1e-12);
    /// assert!((m.range()? - 0.3).abs() < 1e-12 && (m.sigma()? - 1.0).abs() < 1e-12);
    /// # Ok::<(), uqforge_core::Error>(())
    /// ```
    pub fn anisotropy(&self) -> [f64; 2] {
        let h = &self.diffusion;
        let scale = h.determinant().sqrt();
        let (p, q, t) = (h[(0, 0)] / scale, h[(0, 1)] / scale, h[(1, 1)] / scale);
        // Eigenvalues e^(±r) of H / sqrt(det H): (p + t)/2 = cosh r and the half gap
        // sqrt(((p - t)/2)^2 + q^2) = sinh r, which keeps r accurate near isotropy.
        let half = 0.5 * (p - t);
        let sinh = half.hypot(q);
        let r_over_sinh = if sinh > 0.0 { sinh.asinh() / sinh } else { 1.0 };
        [r_over_sinh * half, r_over_sinh * q]
    }

    /// This model with the anisotropy coordinates $(a, b)$ of [`Self::anisotropy`], the
    /// determinant of $H$ (so the range and sigma) kept.
    ///
    /// # Errors
    /// Non-finite coordinates, or a tensor too elongated to represent ($r > 300$).
    pub fn with_anisotropy(mut self, [a, b]: [f64; 2]) -> Result<Self> {
        validate::finite("anisotropy", &[a, b])?;
        let r = a.hypot(b);
        if r > 300.0 {
            return Err(Error::invalid_parameter(
                "anisotropy",
                format!("(a, b) = ({a}, {b}): range ratio e^{r} is not representable"),
            ));
        }
        let scale = self.diffusion.determinant().sqrt();
        let sinh_over_r = if r > 0.0 { r.sinh() / r } else { 1.0 };
        let e = Matrix2::new(a, b, b, -a) * sinh_over_r + Matrix2::identity() * r.cosh();
        self.diffusion = e * scale;
        self.validate()?;
        Ok(self)
    }

    /// The ratio $e^r \ge 1$ of the stationary field's longer correlation range to its
    /// shorter one, and the angle $\phi \in (-\pi/2, \pi/2]$ of the longer one from the $x$
    /// axis ([`Self::anisotropy`]; the angle is 0 for an isotropic $H$).
    pub fn anisotropy_axes(&self) -> (f64, f64) {
        let [a, b] = self.anisotropy();
        let mut angle = 0.5 * b.atan2(a);
        if angle <= -std::f64::consts::FRAC_PI_2 {
            angle += std::f64::consts::PI;
        }
        (a.hypot(b).exp(), angle)
    }

    /// Checks the ranges: $\alpha$ in 1..=4, $\alpha_s$ in 0..=4, positive finite $\kappa$,
    /// $\tau$ and $c$, finite advection, symmetric positive definite $H$.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] or [`Error::NotPositiveDefinite`] naming the parameter.
    pub fn validate(&self) -> Result<()> {
        if !(1..=4).contains(&self.alpha) {
            return Err(Error::invalid_parameter(
                "alpha",
                format!("1 to 4, got {}", self.alpha),
            ));
        }
        if self.noise_alpha > 4 {
            return Err(Error::invalid_parameter(
                "noise_alpha",
                format!("0 to 4, got {}", self.noise_alpha),
            ));
        }
        validate::positive("kappa", self.kappa)?;
        validate::positive("tau", self.tau)?;
        validate::positive("c", self.c)?;
        validate::finite("advection", &self.advection)?;
        let h = &self.diffusion;
        let symmetric = (h[(0, 1)] - h[(1, 0)]).abs() <= 1e-12 * (h[(0, 1)].abs() + 1.0);
        if !(h.iter().all(|v| v.is_finite())
            && symmetric
            && h[(0, 0)] > 0.0
            && h.determinant() > 0.0)
        {
            return Err(Error::NotPositiveDefinite {
                what: format!("diffusion tensor H = {h:?}"),
            });
        }
        Ok(())
    }
}

/// The noise's spatial precision $Q_s$: the lumped mass (white), or a factored Matérn
/// precision.
#[derive(Debug, Clone)]
enum Noise {
    White,
    Matern {
        precision: CscMatrix<f64>,
        factor: Cholesky,
    },
}

/// Spatially varying parts of the dynamics, given at the mesh nodes, on top of an
/// [`AdvectionDiffusion`] model's constants ([`SpaceTime::with_fields`]): the model's
/// parameters keep their meaning as the constant parts, so they can still be estimated with
/// the fields held fixed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Fields {
    /// Added to the model's advection at each node: $\gamma(s) = \gamma + \delta\gamma(s)$.
    pub advection: Option<Vec<[f64; 2]>>,
    /// Multiplies the model's diffusion tensor at each node: $H(s) = d(s)H$, $d(s) > 0$.
    pub diffusion_scale: Option<Vec<f64>>,
}

/// The advection and diffusion tensor of each triangle.
type TriangleFields = (Vec<[f64; 2]>, Vec<Matrix2<f64>>);

impl Fields {
    /// Fields as basis expansions on the nodes, as R-INLA's `B.tau` and `B.kappa`: with the
    /// basis functions' node values as the columns of `basis` (`n x K`),
    /// $\delta\gamma_x = B a_x$, $\delta\gamma_y = B a_y$ for `advection` $= (a_x, a_y)$, and
    /// $\log d = B b$ for `log_diffusion` $= b$.
    ///
    /// # Errors
    /// Coefficient vectors of another length than the basis's columns, or non-finite values.
    pub fn from_basis(
        basis: &DMatrix<f64>,
        advection: Option<(&[f64], &[f64])>,
        log_diffusion: Option<&[f64]>,
    ) -> Result<Self> {
        validate::finite("basis", basis.as_slice())?;
        let expand = |what: &str, w: &[f64]| -> Result<DVector<f64>> {
            validate::len(what, basis.ncols(), w.len())?;
            validate::finite(what, w)?;
            Ok(basis * DVector::from_column_slice(w))
        };
        let advection = match advection {
            None => None,
            Some((ax, ay)) => {
                let (x, y) = (
                    expand("advection x coefficients", ax)?,
                    expand("advection y coefficients", ay)?,
                );
                Some(x.iter().zip(y.iter()).map(|(&a, &b)| [a, b]).collect())
            }
        };
        let diffusion_scale = match log_diffusion {
            None => None,
            Some(b) => Some(
                expand("log diffusion coefficients", b)?
                    .iter()
                    .map(|v| v.exp())
                    .collect(),
            ),
        };
        Ok(Self {
            advection,
            diffusion_scale,
        })
    }

    /// The advection and diffusion tensor of each triangle (one of each for the whole mesh
    /// without fields).
    fn on_triangles(&self, mesh: &Mesh, model: &AdvectionDiffusion) -> Result<TriangleFields> {
        let n = mesh.n_nodes();
        let gammas = match &self.advection {
            None => vec![model.advection],
            Some(v) => {
                validate::len("advection field (one per node)", n, v.len())?;
                validate::finite("advection field", v.as_flattened())?;
                mesh.triangles()
                    .iter()
                    .map(|t| {
                        let mean = |d: usize| t.iter().map(|&i| v[i][d]).sum::<f64>() / 3.0;
                        [model.advection[0] + mean(0), model.advection[1] + mean(1)]
                    })
                    .collect()
            }
        };
        let tensors = match &self.diffusion_scale {
            None => vec![model.diffusion],
            Some(d) => {
                validate::len("diffusion scale field (one per node)", n, d.len())?;
                if let Some(i) = d.iter().position(|v| !(*v > 0.0 && v.is_finite())) {
                    return Err(Error::invalid_parameter(
                        "diffusion scale field",
                        format!("node {i} has scale {}: scales must be positive", d[i]),
                    ));
                }
                mesh.triangles()
                    .iter()
                    .map(|t| model.diffusion * (t.iter().map(|&i| d[i]).sum::<f64>() / 3.0))
                    .collect()
            }
        };
        Ok((gammas, tensors))
    }
}

/// The discretised model on one mesh with one time step: the matrices of the [module
/// docs](self), the LU factors of $D$ and the noise's factor.
#[derive(Debug, Clone)]
pub struct SpaceTime {
    model: AdvectionDiffusion,
    fem: Fem,
    dt: f64,
    mass: DVector<f64>,
    step: CscMatrix<f64>,
    lu: SparseLu,
    noise: Noise,
    beta: f64,
}

impl SpaceTime {
    /// Assembles $M$, $K$, $B$ and $D$ on `mesh` for steps of `dt`, and factors $D$ (and
    /// $Q_s$).
    ///
    /// # Errors
    /// The model's ranges ([`AdvectionDiffusion::validate`]), a step that is not positive and
    /// finite, and a singular step matrix.
    pub fn new(mesh: &Mesh, model: &AdvectionDiffusion, dt: f64) -> Result<Self> {
        Self::with_fields(mesh, model, dt, &Fields::default())
    }

    /// As [`Self::new`], with the spatially varying parts of `fields` on top of the model's
    /// constant advection and diffusion: on triangle $T$, $\gamma_T = \gamma + \overline{\delta\gamma}(T)$
    /// and $H_T = \bar d(T)H$, the bars the means over $T$'s three nodes. Streamline
    /// diffusion, where asked for, uses the smallest eigenvalue of the $H_T$.
    ///
    /// ```
    /// use nalgebra::DMatrix;
    /// use uqforge_gmrf::{Mesh, spacetime::{AdvectionDiffusion, Fields, SpaceTime}};
    ///
    /// let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 10, 10)?;
    /// let model = AdvectionDiffusion::from_range_sigma(0.3, 1.0, [0.0, 0.0])?;
    /// // A wind of (20 y, 0), stronger to the north, as a linear basis expansion: the basis
    /// // functions 1 and y at the nodes, coefficients (0, 20) for gamma_x, (0, 0) for gamma_y.
    /// let basis = DMatrix::from_fn(mesh.n_nodes(), 2, |i, k| {
    ///     if k == 0 { 1.0 } else { mesh.nodes()[i][1] }
    /// });
    /// let fields = Fields::from_basis(&basis, Some((&[0.0, 20.0], &[0.0, 0.0])), None)?;
    /// let st = SpaceTime::with_fields(&mesh, &model, 0.01, &fields)?;
    /// assert_eq!(st.simulate_sequential(3, 1)?.shape(), (121, 3));
    /// # Ok::<(), uqforge_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Self::new`], and fields with another length than the mesh's nodes, non-finite
    /// values, or diffusion scales that are not positive.
    pub fn with_fields(
        mesh: &Mesh,
        model: &AdvectionDiffusion,
        dt: f64,
        fields: &Fields,
    ) -> Result<Self> {
        model.validate()?;
        validate::positive("dt", dt)?;
        let (gammas, tensors) = fields.on_triangles(mesh, model)?;
        let fem = Fem::assemble_anisotropic(mesh, &tensors)?;
        let mass = fem.lumped_mass.clone();
        let diag = |d: &DVector<f64>| diagonal(d.as_slice());
        let m = diag(&mass);
        let k1 = &(&m * (model.kappa * model.kappa)) + &fem.stiffness;
        let mut k = k1.clone();
        for _ in 1..model.alpha {
            k = &k * &diag(&mass.map(|v| 1.0 / v));
            k = &k * &k1;
        }
        let mut b = advection(mesh, &gammas)?;
        if model.streamline_diffusion {
            let smallest = tensors
                .iter()
                .map(|h| h.symmetric_eigenvalues().min())
                .fold(f64::INFINITY, f64::min);
            b = &b + &streamline_diffusion(mesh, &gammas, smallest)?;
        }
        let step = &m + &(&(&k + &b) * (dt / model.c));
        let lu = SparseLu::factor(&step, "implicit Euler step matrix D")?;
        let noise = if model.noise_alpha == 0 {
            Noise::White
        } else {
            let spde = SpdeOperator::new(&fem, model.noise_alpha)?;
            let precision = spde.precision(&Matern::new(model.noise_alpha, model.kappa, 1.0)?)?;
            let factor = SymbolicCholesky::analyse(spde.pattern())?.factor(&precision)?;
            Noise::Matern { precision, factor }
        };
        Ok(Self {
            model: *model,
            fem,
            dt,
            mass,
            step,
            lu,
            noise,
            beta: model.tau * (dt / model.c).sqrt(),
        })
    }

    /// The model.
    pub fn model(&self) -> &AdvectionDiffusion {
        &self.model
    }

    /// The time step $\Delta t$.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// The number of mesh nodes.
    pub fn n(&self) -> usize {
        self.mass.len()
    }

    /// The step matrix $D = M + (\Delta t/c)(K + B)$.
    pub fn step_matrix(&self) -> &CscMatrix<f64> {
        &self.step
    }

    /// The lumped masses (the diagonal of $M$).
    pub fn lumped_mass(&self) -> &DVector<f64> {
        &self.mass
    }

    /// $S = \beta^{-2}M^{-1}Q_sM^{-1}$, the precision of a step's residual.
    pub(crate) fn residual_precision(&self) -> CscMatrix<f64> {
        let b2 = self.beta * self.beta;
        match &self.noise {
            Noise::White => diagonal(&self.mass.iter().map(|m| 1.0 / (b2 * m)).collect::<Vec<_>>()),
            Noise::Matern { precision, .. } => {
                let inv = diagonal(&self.mass.iter().map(|m| 1.0 / m).collect::<Vec<_>>());
                &(&(&inv * precision) * &inv) * (1.0 / b2)
            }
        }
    }

    /// The last diagonal block $D^\top S D$ of the joint precision, whose log-determinant is
    /// a step's share of the joint one: $\log\det Q = T\log\det(D^\top S D)$ for $T$ steps,
    /// since $Q = G^\top(I_T\otimes S)G$ with $G$ block lower bidiagonal ($D$ on the diagonal,
    /// $-M$ below it), $\det G = (\det D)^T$.
    pub fn last_block(&self) -> CscMatrix<f64> {
        let d = &self.step;
        &(&d.transpose() * &self.residual_precision()) * d
    }

    /// The joint precision of $(u_1, \dots, u_T)$, $T$ = `steps`, node index fastest (entry
    /// $(k-1)n + i$ is node $i$ at step $k$); block tridiagonal, see the [module docs](self).
    ///
    /// # Errors
    /// Zero steps, or a size beyond `usize`.
    pub fn precision(&self, steps: usize) -> Result<CscMatrix<f64>> {
        validate::at_least("steps", steps, 1)?;
        let n = self.n();
        let total = n.checked_mul(steps).ok_or_else(|| {
            Error::invalid_parameter("steps", format!("{steps} steps of {n} nodes overflow"))
        })?;
        let s = self.residual_precision();
        let m = diagonal(self.mass.as_slice());
        let d = &self.step;
        let dsd = &(&d.transpose() * &s) * d;
        let msm = &(&m * &s) * &m;
        let msd = &(&m * &s) * d;
        let mut coo = CooMatrix::new(total, total);
        for k in 0..steps {
            let o = k * n;
            for (i, j, &v) in dsd.triplet_iter() {
                coo.push(o + i, o + j, v);
            }
            if k + 1 < steps {
                for (i, j, &v) in msm.triplet_iter() {
                    coo.push(o + i, o + j, v);
                }
                // Block (k, k + 1) is -M S D, block (k + 1, k) its transpose.
                for (i, j, &v) in msd.triplet_iter() {
                    coo.push(o + i, o + n + j, -v);
                    coo.push(o + n + j, o + i, -v);
                }
            }
        }
        Ok(CscMatrix::from(&coo))
    }

    /// Checks that the noise-free recursion $u_k = D^{-1}Mu_{k-1}$ does not grow (see
    /// the [module docs](self)): a Cholesky factor of $A + A^\top$, $A = K + B$, proves that
    /// every step contracts; failing that, [`STABILITY_STEPS`] steps from a random start
    /// (ChaCha8, fixed seed) are run, and exponential growth of the $M$-norm that would
    /// amplify the field more than 100x within `steps` steps is refused (exponential: 100x by
    /// the end and still 10x over the second half). A transient amplification (the step is
    /// not normal: up to 380x here before decaying) passes, and so does a growth too slow to
    /// reach 100x in [`STABILITY_STEPS`] steps (a spectral radius below about 1.012), or in
    /// `steps` steps (a short run of a pure-advection blob, say).
    ///
    /// ```
    /// use nalgebra::Matrix2;
    /// use uqforge_gmrf::{Mesh, spacetime::{AdvectionDiffusion, SpaceTime}};
    ///
    /// let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 5, 5)?;
    /// let strong = AdvectionDiffusion { alpha: 1, noise_alpha: 0, kappa: 3.0, tau: 1.0,
    ///     c: 0.7, advection: [-1000.0, 300.0], diffusion: Matrix2::identity(),
    ///     streamline_diffusion: false };
    /// assert!(SpaceTime::new(&mesh, &strong, 1e-4)?.check_stable(1000).is_err()); // 1.027x a step
    /// assert!(SpaceTime::new(&mesh, &strong, 1e-2)?.check_stable(1000).is_ok());
    /// # Ok::<(), uqforge_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// A recursion that grows, named with its growth per step, and LU solve failures.
    pub fn check_stable(&self, steps: usize) -> Result<()> {
        let a = &self.step - &diagonal(self.mass.as_slice());
        let sym = &a + &a.transpose();
        let proven = SymbolicCholesky::analyse(sym.pattern())
            .and_then(|s| s.factor(&sym))
            .is_ok();
        if proven {
            return Ok(());
        }
        let mut draws = rng::rng_from_seed(0x0574_1B1E);
        let mut u = DVector::from_fn(self.n(), |_, _| rng::standard_normal(&mut draws));
        let m_norm = |v: &DVector<f64>| v.component_mul(&self.mass).dot(v).sqrt();
        u /= m_norm(&u);
        // ln of the M-norm's amplification after k steps, at the middle and the end.
        let (mut log_amp, mut log_mid) = (0.0, 0.0);
        for k in 0..STABILITY_STEPS {
            u = self.lu.solve(&self.mass.component_mul(&u))?;
            let g = m_norm(&u);
            if !(g > 0.0 && g.is_finite()) {
                break;
            }
            u /= g;
            log_amp += g.ln();
            if 2 * (k + 1) == STABILITY_STEPS {
                log_mid = log_amp;
            }
        }
        // Exponential growth: 100x by the end, still 10x over the second half (a transient,
        // non-normal amplification peaks and decays instead), and 100x within `steps`.
        let rate = ((log_amp - log_mid) / (STABILITY_STEPS / 2) as f64).exp();
        if log_amp > 100f64.ln()
            && log_amp - log_mid > 10f64.ln()
            && rate.ln() * steps as f64 > 100f64.ln()
        {
            return Err(Error::invalid_parameter(
                "dt",
                format!(
                    "the sequential recursion is unstable at dt = {}: the noise-free step \
                     D^-1 M grows the field by {rate:.4}x per step, {:.1e}x over the {steps} \
                     steps asked for (advection {:?} against the damping and diffusion on this \
                     mesh, through the inflow boundary); a larger dt, a finer mesh or weaker \
                     advection makes it contract",
                    self.dt,
                    (rate.ln() * steps as f64).exp(),
                    self.model.advection
                ),
            ));
        }
        Ok(())
    }

    /// `steps` noise-free steps from `u0` (columns $u_1, \dots, u_T$): the mean of the
    /// field given its state at time 0.
    ///
    /// The recursion as it is, growing or not: [`Self::check_stable`] tells whether it
    /// contracts (a pure-advection blob far from the inflow boundary moves correctly over a
    /// few dozen steps even where the boundary's mode grows).
    ///
    /// # Errors
    /// `u0` of another length or non-finite, zero steps.
    pub fn propagate(&self, u0: &DVector<f64>, steps: usize) -> Result<DMatrix<f64>> {
        validate::at_least("steps", steps, 1)?;
        validate::len("initial state", self.n(), u0.len())?;
        validate::finite("initial state", u0.as_slice())?;
        let mut out = DMatrix::zeros(self.n(), steps);
        let mut u = u0.clone();
        for k in 0..steps {
            u = self.lu.solve(&self.mass.component_mul(&u))?;
            out.set_column(k, &u);
        }
        Ok(out)
    }

    /// A draw of $(u_1, \dots, u_T)$ by the recursion $D u_k = M u_{k-1} + \beta M z_k$ from
    /// rest (columns = steps), from the ChaCha8 stream of `seed`.
    ///
    /// # Errors
    /// Zero steps, and an unstable recursion ([`Self::check_stable`]).
    pub fn simulate_sequential(&self, steps: usize, seed: u64) -> Result<DMatrix<f64>> {
        self.recursion(steps, seed, &|xi: &DMatrix<f64>| match &self.noise {
            Noise::White => Ok(xi.column(0).component_div(&self.mass.map(f64::sqrt))),
            Noise::Matern { factor, .. } => Ok(factor
                .inverse_transpose_factor_times(xi)?
                .column(0)
                .into_owned()),
        })
    }

    /// As [`Self::simulate_sequential`], with the noise $z_k$ coloured by the Chebyshev
    /// polynomial of [`crate::chebyshev`] (relative error `tolerance`) instead of the
    /// Cholesky factor of $Q_s$: no factorisation but that of the step matrix $D$. The draws
    /// differ from the sequential sampler's for the same seed (same standard normals, another
    /// square root of $Q_s^{-1}$), not their law.
    ///
    /// # Errors
    /// Zero steps, an unstable recursion ([`Self::check_stable`]), and the sampler's errors
    /// ([`ChebyshevSampler::matern`]).
    pub fn simulate_chebyshev(
        &self,
        steps: usize,
        seed: u64,
        tolerance: f64,
    ) -> Result<DMatrix<f64>> {
        validate::at_least("steps", steps, 1)?;
        let alpha = self.model.noise_alpha;
        if alpha == 0 {
            return self.simulate_sequential(steps, seed);
        }
        let sampler = ChebyshevSampler::matern(
            &self.fem,
            f64::from(alpha),
            self.model.kappa,
            1.0,
            tolerance,
        )?;
        self.recursion(steps, seed, &|xi: &DMatrix<f64>| {
            Ok(sampler.colour(xi)?.column(0).into_owned())
        })
    }

    /// $D u_k = M u_{k-1} + \beta M z_k$ from rest, with $z_k$ = `noise`($\xi_k$) for standard
    /// normals $\xi_k$ of the ChaCha8 stream of `seed`.
    fn recursion(
        &self,
        steps: usize,
        seed: u64,
        noise: &dyn Fn(&DMatrix<f64>) -> Result<DVector<f64>>,
    ) -> Result<DMatrix<f64>> {
        validate::at_least("steps", steps, 1)?;
        self.check_stable(steps)?;
        let n = self.n();
        let mut draws = rng::rng_from_seed(seed);
        let mut out = DMatrix::zeros(n, steps);
        let mut u = DVector::zeros(n);
        for k in 0..steps {
            let xi = DMatrix::from_fn(n, 1, |_, _| rng::standard_normal(&mut draws));
            let z = noise(&xi)?;
            let rhs = self.mass.component_mul(&(&u + z * self.beta));
            u = self.lu.solve(&rhs)?;
            out.set_column(k, &u);
        }
        Ok(out)
    }

    /// A draw of $(u_1, \dots, u_T)$ from the Cholesky factor of the joint precision
    /// (columns = steps), from the ChaCha8 stream of `seed`.
    ///
    /// # Errors
    /// Zero steps; the factorisation's errors.
    pub fn simulate_cholesky(&self, steps: usize, seed: u64) -> Result<DMatrix<f64>> {
        let q = self.precision(steps)?;
        let factor = SymbolicCholesky::analyse(q.pattern())?.factor(&q)?;
        let x = factor.sample(1, seed)?;
        Ok(DMatrix::from_column_slice(self.n(), steps, x.as_slice()))
    }

    /// The noise's precision $Q_s$ (for tests and diagnostics).
    #[cfg(test)]
    fn noise_precision(&self) -> CscMatrix<f64> {
        match &self.noise {
            Noise::White => diagonal(self.mass.as_slice()),
            Noise::Matern { precision, .. } => precision.clone(),
        }
    }
}

/// Noise-free steps [`SpaceTime::check_stable`] runs where contraction is not proven.
pub const STABILITY_STEPS: usize = 400;

/// Largest joint precision [`field_on_unit_square`] will factor: its Cholesky factor fills
/// like a 3D problem's with a wide stencil (1.1e8 entries, 0.9 GB, for 5.2e4 unknowns).
pub const MAX_JOINT_UNKNOWNS: usize = 100_000;

/// Largest burn-in [`field_on_unit_square`] will run.
pub const MAX_BURN_IN: usize = 100_000;

/// How to draw the space-time field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    /// The Cholesky factor of the joint precision ([`SpaceTime::simulate_cholesky`]).
    Cholesky,
    /// The recursion, one LU solve per step ([`SpaceTime::simulate_sequential`]).
    Sequential,
    /// The recursion with the noise coloured by a Chebyshev polynomial of this relative
    /// tolerance ([`SpaceTime::simulate_chebyshev`]).
    Chebyshev {
        /// Relative uniform error of the polynomial.
        tolerance: f64,
    },
}

/// A field on the unit square's grid at consecutive steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridSeries {
    /// One list of `nx * ny` values per step, row by row (row `j` at $y = j/(n_y-1)$).
    pub field: Vec<Vec<f64>>,
    /// Steps simulated and dropped before the first one returned.
    pub burn_in: usize,
    /// Nodes of the mesh behind the grid.
    pub mesh_nodes: usize,
}

/// The advection–diffusion field at `steps` consecutive steps of `dt` on the `nx` x `ny`
/// regular grid of the unit square, from the stationary regime.
///
/// The mesh is regular, with cells no wider than the grid spacing nor than a tenth of the
/// stationary range, and extends beyond the square by the range plus $2|\gamma|/\kappa^{2\alpha}$,
/// the distance over which the advection carries a feature while it decays by $e^2$ (so
/// that the boundary stays outside). The recursion starts from rest and runs a burn-in of
/// $\lceil\ln(100)/(2\ln(1 + \kappa^{2\alpha}\Delta t/c))\rceil$ steps before the first one
/// returned, enough for the slowest mode's memory of the start to fall below 1 % in
/// variance.
///
/// # Errors
/// Grids with fewer than 2 points a side, zero steps, the model's and the step's ranges
/// ([`SpaceTime::new`]), a model without a stationary variance ([`AdvectionDiffusion::nu`]),
/// a mesh above [`crate::simulate::MAX_GRID_NODES`] nodes, a burn-in above [`MAX_BURN_IN`]
/// steps, or, for the Cholesky sampler, a joint precision above [`MAX_JOINT_UNKNOWNS`].
pub fn field_on_unit_square(
    [nx, ny]: [usize; 2],
    steps: usize,
    dt: f64,
    model: &AdvectionDiffusion,
    sampler: Sampler,
    seed: u64,
) -> Result<GridSeries> {
    validate::at_least("nx", nx, 2)?;
    validate::at_least("ny", ny, 2)?;
    validate::at_least("steps", steps, 1)?;
    model.validate()?;
    validate::positive("dt", dt)?;
    let range = model.range()?;
    let rate = model.kappa.powi(2 * model.alpha as i32);
    let speed = (model.advection[0].powi(2) + model.advection[1].powi(2)).sqrt();
    let margin = range + 2.0 * speed / rate;
    let h = (1.0 / (nx.max(ny) - 1) as f64).min(range / 10.0);
    let cells = ((1.0 + 2.0 * margin) / h).ceil();
    let limit = crate::simulate::MAX_GRID_NODES;
    if !cells.is_finite() || (cells + 1.0).powi(2) > limit as f64 {
        return Err(Error::invalid_parameter(
            "range",
            format!(
                "a range of {range} with advection {speed} on a {nx} x {ny} grid needs a mesh \
                 of {} nodes (limit {limit})",
                (cells + 1.0).powi(2)
            ),
        ));
    }
    let cells = cells as usize;
    let lo = -margin;
    let hi = lo + cells as f64 * h;
    let mesh = Mesh::regular_grid([lo, hi], [lo, hi], cells, cells)?;
    let st = SpaceTime::new(&mesh, model, dt)?;
    let burn_in = ((100f64).ln() / (2.0 * (rate * dt / model.c).ln_1p())).ceil();
    if !burn_in.is_finite() || burn_in > MAX_BURN_IN as f64 {
        return Err(Error::invalid_parameter(
            "dt",
            format!(
                "a step of {dt} against the decay time c / kappa^(2 alpha) = {} needs {burn_in} \
                 burn-in steps (limit {MAX_BURN_IN}); take a longer step",
                model.c / rate
            ),
        ));
    }
    let burn_in = burn_in as usize;
    let total = burn_in + steps;
    if sampler == Sampler::Cholesky && mesh.n_nodes().saturating_mul(total) > MAX_JOINT_UNKNOWNS {
        return Err(Error::invalid_parameter(
            "steps",
            format!(
                "the joint precision of {total} steps (with {burn_in} of burn-in) of {} nodes is \
                 above {MAX_JOINT_UNKNOWNS} unknowns; use the sequential sampler",
                mesh.n_nodes()
            ),
        ));
    }
    let u = match sampler {
        Sampler::Sequential => st.simulate_sequential(total, seed)?,
        Sampler::Cholesky => st.simulate_cholesky(total, seed)?,
        Sampler::Chebyshev { tolerance } => st.simulate_chebyshev(total, seed, tolerance)?,
    };
    let a = mesh.observation_matrix(&crate::simulate::unit_square_grid(nx, ny))?;
    let field = (burn_in..total)
        .map(|k| (&a * u.column(k)).iter().copied().collect())
        .collect();
    Ok(GridSeries {
        field,
        burn_in,
        mesh_nodes: mesh.n_nodes(),
    })
}

/// A diagonal CSC matrix.
fn diagonal(d: &[f64]) -> CscMatrix<f64> {
    let mut coo = CooMatrix::new(d.len(), d.len());
    for (i, &v) in d.iter().enumerate() {
        coo.push(i, i, v);
    }
    CscMatrix::from(&coo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::dense;

    fn white(alpha: u32, kappa: f64, advection: [f64; 2]) -> AdvectionDiffusion {
        AdvectionDiffusion {
            alpha,
            noise_alpha: 0,
            kappa,
            tau: 1.3,
            c: 0.7,
            advection,
            diffusion: Matrix2::identity(),
            streamline_diffusion: false,
        }
    }

    proptest::proptest! {
        /// H = sqrt(det H0) expm(A(a, b)) against nalgebra's Padé matrix exponential; (a, b)
        /// read back; det H, range and sigma kept; the longer axis is H's leading eigenvector.
        #[test]
        fn anisotropy_coordinates_round_trip(
            a in -3.0f64..3.0,
            b in -3.0f64..3.0,
            h12 in -0.5f64..0.5,
            h22 in 0.5f64..2.0,
        ) {
            let start = AdvectionDiffusion {
                diffusion: Matrix2::new(1.3, h12, h12, h22),
                ..white(2, 2.0, [0.0, 0.0])
            };
            let m = start.with_anisotropy([a, b]).unwrap();
            let scale = start.diffusion.determinant().sqrt();
            let expected = Matrix2::new(a, b, b, -a).exp() * scale;
            proptest::prop_assert!((m.diffusion - expected).norm() < 1e-10 * expected.norm());
            let [a2, b2] = m.anisotropy();
            proptest::prop_assert!((a2 - a).abs() < 1e-9 && (b2 - b).abs() < 1e-9, "{a2} {b2}");
            proptest::prop_assert!((m.diffusion.determinant() / scale.powi(2) - 1.0).abs() < 1e-10);
            proptest::prop_assert!((m.sigma().unwrap() / start.sigma().unwrap() - 1.0).abs() < 1e-10);
            let (ratio, angle) = m.anisotropy_axes();
            let eig = m.diffusion.symmetric_eigen();
            let (big, small) = if eig.eigenvalues[0] > eig.eigenvalues[1] { (0, 1) } else { (1, 0) };
            let ranges_ratio = (eig.eigenvalues[big] / eig.eigenvalues[small]).sqrt();
            proptest::prop_assert!((ratio / ranges_ratio - 1.0).abs() < 1e-9);
            if ratio > 1.01 {
                let v = eig.eigenvectors.column(big);
                let along = (v[0] * angle.cos() + v[1] * angle.sin()).abs();
                proptest::prop_assert!((along - 1.0).abs() < 1e-9, "{angle} against {v:?}");
            }
        }
    }

    #[test]
    fn anisotropy_near_isotropy_and_bad_coordinates() {
        let iso = white(1, 2.0, [0.0, 0.0]);
        assert_eq!(iso.anisotropy(), [0.0, 0.0]);
        assert_eq!(iso.anisotropy_axes(), (1.0, 0.0));
        // Near isotropy (r = 1e-9) the coordinates come back to rounding of H's entries
        // (acosh of the half trace, 1 + 5e-19, would give r = 0).
        let tiny = iso.with_anisotropy([6e-10, -8e-10]).unwrap().anisotropy();
        assert!(
            (tiny[0] - 6e-10).abs() < 1e-15 && (tiny[1] + 8e-10).abs() < 1e-15,
            "{tiny:?}"
        );
        assert!(iso.with_anisotropy([f64::NAN, 0.0]).is_err());
        assert!(iso.with_anisotropy([400.0, 0.0]).is_err());
    }

    /// Zero advection, one step from rest, alpha = 1 and white noise: crate::matern's Q_2 at
    /// kappa'^2 = kappa^2 + c/dt and tau' = sqrt(dt/c)/tau, entry by entry.
    #[test]
    fn one_step_without_advection_is_the_spatial_matern_field() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 2.0], 6, 9).unwrap();
        let model = white(1, 2.0, [0.0, 0.0]);
        let dt = 0.05;
        let st = SpaceTime::new(&mesh, &model, dt).unwrap();
        let q = dense(&st.precision(1).unwrap());
        let kappa = (model.kappa.powi(2) + model.c / dt).sqrt();
        let tau = (dt / model.c).sqrt() / model.tau;
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let q2 = dense(
            &spde
                .precision(&Matern::new(2, kappa, tau).unwrap())
                .unwrap(),
        );
        assert!(
            (&q - &q2).amax() < 1e-10 * q2.amax(),
            "{}",
            (&q - &q2).amax()
        );
        // With advection it is not (B is not symmetric).
        let moving = SpaceTime::new(&mesh, &white(1, 2.0, [3.0, 0.0]), dt).unwrap();
        assert!((dense(&moving.precision(1).unwrap()) - &q2).amax() > 1e-3 * q2.amax());
    }

    /// The covariance of the recursion, propagated densely step by step
    /// (Sigma_kk = P Sigma_(k-1)(k-1) P' + W, Sigma_kj = P^(k-j) Sigma_jj, P = D^-1 M,
    /// W = D^-1 (beta^2 M Q_s^-1 M) D^-T).
    fn recursion_covariance(st: &SpaceTime, steps: usize) -> DMatrix<f64> {
        let n = st.n();
        let d_inv = dense(st.step_matrix()).try_inverse().unwrap();
        let m = DMatrix::from_diagonal(st.lumped_mass());
        let p = &d_inv * &m;
        let qs_inv = dense(&st.noise_precision()).try_inverse().unwrap();
        let w = &d_inv * (&m * qs_inv * &m) * st.beta.powi(2) * d_inv.transpose();
        let mut sigma = DMatrix::zeros(n * steps, n * steps);
        let mut diag = w.clone();
        for k in 0..steps {
            if k > 0 {
                diag = &p * &diag * p.transpose() + &w;
            }
            sigma.view_mut((k * n, k * n), (n, n)).copy_from(&diag);
            let mut lagged = diag.clone();
            for j in k + 1..steps {
                lagged = &p * lagged;
                sigma.view_mut((j * n, k * n), (n, n)).copy_from(&lagged);
                sigma
                    .view_mut((k * n, j * n), (n, n))
                    .copy_from(&lagged.transpose());
            }
        }
        sigma
    }

    fn coloured() -> (Mesh, SpaceTime) {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 3).unwrap();
        let model = AdvectionDiffusion {
            noise_alpha: 1,
            ..white(1, 3.0, [2.0, -1.0])
        };
        let st = SpaceTime::new(&mesh, &model, 0.1).unwrap();
        (mesh, st)
    }

    #[test]
    fn joint_precision_inverts_the_recursion_covariance() {
        for (model, steps) in [
            (white(1, 3.0, [2.0, -1.0]), 3),
            (white(2, 2.0, [0.0, 4.0]), 2),
        ] {
            let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 3).unwrap();
            let st = SpaceTime::new(&mesh, &model, 0.1).unwrap();
            let sigma = recursion_covariance(&st, steps);
            let q = dense(&st.precision(steps).unwrap());
            let eye = &q * &sigma;
            let err = (eye - DMatrix::identity(q.nrows(), q.nrows())).amax();
            assert!(err < 1e-9, "{model:?}: {err}");
        }
        let (_, st) = coloured();
        let sigma = recursion_covariance(&st, 3);
        let q = dense(&st.precision(3).unwrap());
        assert!((&q * &sigma - DMatrix::identity(60, 60)).amax() < 1e-9);
    }

    /// The spectral radius of D^-1 M against check_stable: the constant mode's
    /// 1/(1 + kappa^(2 alpha) dt / c) wherever the check passes (weak and strong advection,
    /// small and large steps, K + B definite or not), above 1 where it refuses.
    #[test]
    fn stability_check_agrees_with_the_spectral_radius() {
        let (mut indefinite, mut refused) = (0, 0);
        for cells in [5, 10] {
            let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], cells, cells).unwrap();
            for alpha in [1, 2] {
                for gamma in [[1.0, 0.0], [50.0, 20.0], [-1000.0, 300.0]] {
                    for dt in [1e-4, 1e-2, 1.0] {
                        let model = AdvectionDiffusion {
                            kappa: 3.0,
                            c: 0.7,
                            ..white(alpha, 3.0, gamma)
                        };
                        let st = SpaceTime::new(&mesh, &model, dt).unwrap();
                        let d = dense(st.step_matrix());
                        let m = DMatrix::from_diagonal(st.lumped_mass());
                        let a = &d - &m;
                        if (&a + a.transpose()).symmetric_eigenvalues().min() < 0.0 {
                            indefinite += 1;
                        }
                        let rho = (d.try_inverse().unwrap() * &m)
                            .complex_eigenvalues()
                            .iter()
                            .map(|z| z.norm())
                            .fold(0.0, f64::max);
                        let constant =
                            1.0 / (1.0 + model.kappa.powi(2 * alpha as i32) * dt / model.c);
                        let case = format!("{cells} cells, alpha {alpha}, {gamma:?}, dt {dt}");
                        match st.check_stable(1000) {
                            Ok(()) => assert!(
                                (rho - constant).abs() < 1e-9 || rho < 1.012,
                                "{case}: {rho}"
                            ),
                            Err(e) => {
                                refused += 1;
                                assert!(rho > 1.012, "{case}: refused at {rho}");
                                assert!(e.to_string().contains("unstable"), "{e}");
                                assert!(st.simulate_sequential(500, 1).is_err());
                            }
                        }
                    }
                }
            }
        }
        assert!(
            indefinite >= 3,
            "strong advection should make K + B indefinite"
        );
        assert_eq!(
            refused, 1,
            "only 5 cells, alpha 1, the strongest advection, dt 1e-4"
        );
    }

    /// Streamline diffusion makes the unstable case of the stability test contract (spectral
    /// radius back to the constant mode's), and damps the wiggles of a pure-advection blob
    /// (its undershoot below zero) while its centre of mass still moves at the exact rate.
    #[test]
    fn streamline_diffusion_stabilises_and_damps_wiggles() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 5, 5).unwrap();
        let strong = AdvectionDiffusion {
            c: 0.7,
            ..white(1, 3.0, [-1000.0, 300.0])
        };
        let stabilised = AdvectionDiffusion {
            streamline_diffusion: true,
            ..strong
        };
        let rho = |m: &AdvectionDiffusion| {
            let st = SpaceTime::new(&mesh, m, 1e-4).unwrap();
            let d = dense(st.step_matrix());
            (d.try_inverse().unwrap() * DMatrix::from_diagonal(st.lumped_mass()))
                .complex_eigenvalues()
                .iter()
                .map(|z| z.norm())
                .fold(0.0, f64::max)
        };
        assert!(rho(&strong) > 1.02);
        let constant = 1.0 / (1.0 + 9.0 * 1e-4 / 0.7);
        assert!((rho(&stabilised) - constant).abs() < 1e-9);
        let st = SpaceTime::new(&mesh, &stabilised, 1e-4).unwrap();
        assert!(st.check_stable(1000).is_ok());

        let plain = pure_advection();
        let sd = AdvectionDiffusion {
            streamline_diffusion: true,
            ..plain
        };
        let (dt, steps) = (0.01, 20);
        let (_, u_plain) = advect([-1.0, 2.0], 60, dt, steps, &plain);
        let (mesh, u_sd) = advect([-1.0, 2.0], 60, dt, steps, &sd);
        let (low_plain, low_sd) = (
            u_plain.column(steps - 1).min(),
            u_sd.column(steps - 1).min(),
        );
        assert!(
            low_plain < 0.0 && low_sd > 0.5 * low_plain,
            "{low_plain} {low_sd}"
        );
        let m = SpaceTime::new(&mesh, &sd, dt)
            .unwrap()
            .lumped_mass()
            .clone();
        let centre_x = |col: usize| {
            let w = u_sd.column(col).dot(&m);
            (0..mesh.n_nodes())
                .map(|i| m[i] * u_sd[(i, col)] * mesh.nodes()[i][0])
                .sum::<f64>()
                / w
        };
        let per_step = sd.advection[0] * dt / (sd.c + sd.kappa.powi(2) * dt);
        let moved = centre_x(steps - 1) - centre_x(0);
        assert!(
            (moved - per_step * (steps - 1) as f64).abs() < 1e-9,
            "{moved} vs {}",
            per_step * (steps - 1) as f64
        );
    }

    /// Fields of zero offset and unit scale are the constant model; a constant offset is the
    /// model with the summed advection; a basis expansion evaluates at the nodes.
    #[test]
    fn fields_reduce_to_constant_models_and_expand_bases() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 3).unwrap();
        let (_, coloured_st) = coloured();
        let model = *coloured_st.model();
        let n = mesh.n_nodes();
        let step = |m: &AdvectionDiffusion, f: &Fields| {
            dense(
                SpaceTime::with_fields(&mesh, m, 0.1, f)
                    .unwrap()
                    .step_matrix(),
            )
        };
        let plain = step(&model, &Fields::default());
        let neutral = Fields {
            advection: Some(vec![[0.0, 0.0]; n]),
            diffusion_scale: Some(vec![1.0; n]),
        };
        assert!((step(&model, &neutral) - &plain).amax() < 1e-13);
        let shifted = Fields {
            advection: Some(vec![[3.0, -1.5]; n]),
            diffusion_scale: None,
        };
        let summed = AdvectionDiffusion {
            advection: [model.advection[0] + 3.0, model.advection[1] - 1.5],
            ..model
        };
        assert!((step(&model, &shifted) - step(&summed, &Fields::default())).amax() < 1e-12);
        // A uniform diffusion scale d is the model with H scaled by d.
        let scaled = Fields {
            advection: None,
            diffusion_scale: Some(vec![2.5; n]),
        };
        let wider = AdvectionDiffusion {
            diffusion: model.diffusion * 2.5,
            ..model
        };
        assert!((step(&model, &scaled) - step(&wider, &Fields::default())).amax() < 1e-12);

        let basis = DMatrix::from_fn(n, 2, |i, k| if k == 0 { 1.0 } else { mesh.nodes()[i][0] });
        let f = Fields::from_basis(&basis, Some((&[1.0, 2.0], &[0.0, -1.0])), Some(&[0.5, 0.0]))
            .unwrap();
        let gx = f.advection.as_ref().unwrap();
        for (i, p) in mesh.nodes().iter().enumerate() {
            assert!((gx[i][0] - (1.0 + 2.0 * p[0])).abs() < 1e-14);
            assert!((gx[i][1] + p[0]).abs() < 1e-14);
        }
        assert!(
            f.diffusion_scale
                .unwrap()
                .iter()
                .all(|d| (d - 0.5f64.exp()).abs() < 1e-14)
        );
        assert!(Fields::from_basis(&basis, Some((&[1.0], &[0.0, 1.0])), None).is_err());
        let bad = Fields {
            advection: None,
            diffusion_scale: Some(vec![-1.0; n]),
        };
        assert!(SpaceTime::with_fields(&mesh, &model, 0.1, &bad).is_err());
        let short = Fields {
            advection: Some(vec![[0.0, 0.0]; 3]),
            diffusion_scale: None,
        };
        assert!(SpaceTime::with_fields(&mesh, &model, 0.1, &short).is_err());
    }

    /// A wind blowing on the western half only: a blob there is carried at gamma / c, one in
    /// the east stays where it is.
    #[test]
    fn a_local_wind_moves_only_the_blob_it_blows_on() {
        let model = AdvectionDiffusion {
            advection: [0.0, 0.0],
            ..pure_advection()
        };
        let mesh = Mesh::regular_grid([-1.0, 3.0], [-1.0, 2.0], 80, 60).unwrap();
        // gamma = (1, 0) for x < 1, fading to 0 over [1, 1.4].
        let wind: Vec<[f64; 2]> = mesh
            .nodes()
            .iter()
            .map(|p| [((1.4 - p[0]) / 0.4).clamp(0.0, 1.0), 0.0])
            .collect();
        let fields = Fields {
            advection: Some(wind),
            diffusion_scale: None,
        };
        let st = SpaceTime::with_fields(&mesh, &model, 0.01, &fields).unwrap();
        let blob = |p: &[f64; 2], c: [f64; 2]| {
            (-((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)) / (2.0 * 0.1f64.powi(2))).exp()
        };
        let u0 = DVector::from_iterator(
            mesh.n_nodes(),
            mesh.nodes()
                .iter()
                .map(|p| blob(p, [0.2, 0.5]) + blob(p, [2.2, 0.5])),
        );
        let steps = 20;
        let u = st.propagate(&u0, steps).unwrap();
        let m = st.lumped_mass();
        // Centres of mass of the western and eastern halves.
        let centre = |col: &DVector<f64>, west: bool| {
            let keep = |i: usize| (mesh.nodes()[i][0] < 1.2) == west;
            let w: f64 = (0..mesh.n_nodes())
                .filter(|&i| keep(i))
                .map(|i| m[i] * col[i])
                .sum();
            (0..mesh.n_nodes())
                .filter(|&i| keep(i))
                .map(|i| m[i] * col[i] * mesh.nodes()[i][0])
                .sum::<f64>()
                / w
        };
        let last = u.column(steps - 1).into_owned();
        let moved_west = centre(&last, true) - centre(&u0, true);
        let moved_east = centre(&last, false) - centre(&u0, false);
        let expected = steps as f64 * 0.01 / (model.c + model.kappa.powi(2) * 0.01);
        assert!(
            (moved_west - expected).abs() < 0.01,
            "{moved_west} vs {expected}"
        );
        assert!(moved_east.abs() < 1e-3, "{moved_east}");
    }

    /// log det Q = T log det(D'SD): the dense joint log-determinant (LU, no symmetry assumed)
    /// against the block's, for white and coloured noise with advection.
    #[test]
    fn joint_log_determinant_is_steps_times_the_last_blocks() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 3).unwrap();
        let white_st = SpaceTime::new(&mesh, &white(2, 2.0, [0.0, 4.0]), 0.1).unwrap();
        let (_, coloured_st) = coloured();
        let log_det = |a: DMatrix<f64>| {
            let lu = a.lu();
            assert!(lu.determinant() > 0.0);
            lu.u().diagonal().map(|v| v.abs().ln()).sum()
        };
        for st in [white_st, coloured_st] {
            let block = log_det(dense(&st.last_block()));
            for steps in [1, 3] {
                let joint = log_det(dense(&st.precision(steps).unwrap()));
                let expected = steps as f64 * block;
                assert!(
                    (joint - expected).abs() < 1e-9 * expected.abs().max(1.0),
                    "{steps} steps: {joint} vs {expected}"
                );
            }
        }
    }
    /// Both samplers against the exact covariance: every entry of the empirical covariance of
    /// 4000 draws within 5 standard errors (Var of a sample covariance: (s_ii s_jj + s_ij^2)/N).
    #[test]
    fn both_samplers_have_the_recursion_covariance() {
        let (_, st) = coloured();
        let steps = 3;
        let sigma = recursion_covariance(&st, steps);
        let dim = sigma.nrows();
        let draws = 4000;
        for method in ["sequential", "cholesky", "chebyshev"] {
            let mut cov = DMatrix::zeros(dim, dim);
            for seed in 0..draws {
                let u = match method {
                    "sequential" => st.simulate_sequential(steps, seed).unwrap(),
                    "chebyshev" => st.simulate_chebyshev(steps, seed, 1e-10).unwrap(),
                    _ => st.simulate_cholesky(steps, seed).unwrap(),
                };
                let v = DVector::from_column_slice(u.as_slice());
                cov += &v * v.transpose();
            }
            cov /= draws as f64;
            let mut worst: f64 = 0.0;
            for i in 0..dim {
                for j in 0..dim {
                    let se = ((sigma[(i, i)] * sigma[(j, j)] + sigma[(i, j)].powi(2))
                        / draws as f64)
                        .sqrt();
                    worst = worst.max((cov[(i, j)] - sigma[(i, j)]).abs() / se);
                }
            }
            assert!(worst < 5.0, "{method}: worst z {worst}");
        }
    }

    /// A Gaussian blob of initial width s under weak diffusion eps and damping kappa^2 stays
    /// a Gaussian: exp(-kappa^2 t/c) s^2/s_t^2 exp(-|x - x0 - gamma t/c|^2 / (2 s_t^2)),
    /// s_t^2 = s^2 + 2 eps t / c.
    fn blob_at(t: f64, p: [f64; 2], model: &AdvectionDiffusion, s: f64, x0: [f64; 2]) -> f64 {
        let eps = model.diffusion[(0, 0)];
        let st2 = s * s + 2.0 * eps * t / model.c;
        let cx = x0[0] + model.advection[0] * t / model.c;
        let cy = x0[1] + model.advection[1] * t / model.c;
        let r2 = (p[0] - cx).powi(2) + (p[1] - cy).powi(2);
        (-model.kappa.powi(2) * t / model.c).exp() * s * s / st2 * (-r2 / (2.0 * st2)).exp()
    }

    /// The blob's noise-free steps on the square `[lo, hi]^2` with `cells` cells a side.
    fn advect(
        [lo, hi]: [f64; 2],
        cells: usize,
        dt: f64,
        steps: usize,
        model: &AdvectionDiffusion,
    ) -> (Mesh, DMatrix<f64>) {
        let mesh = Mesh::regular_grid([lo, hi], [lo, hi], cells, cells).unwrap();
        let st = SpaceTime::new(&mesh, model, dt).unwrap();
        let u0 = DVector::from_iterator(
            mesh.n_nodes(),
            mesh.nodes()
                .iter()
                .map(|&p| blob_at(0.0, p, model, 0.05, [0.35, 0.4])),
        );
        let u = st.propagate(&u0, steps).unwrap();
        (mesh, u)
    }

    fn pure_advection() -> AdvectionDiffusion {
        AdvectionDiffusion {
            kappa: 0.5,
            c: 1.0,
            diffusion: Matrix2::identity() * 1e-4,
            ..white(1, 0.5, [1.0, 0.5])
        }
    }

    /// The centre of mass moves by exactly gamma dt / (c + kappa^2 dt) per step (module docs),
    /// here to rounding since the blob is far from the boundary.
    #[test]
    fn centre_of_mass_moves_by_the_advection_per_step() {
        let model = pure_advection();
        let (dt, steps) = (0.01, 20);
        // Far from the boundary: its flux terms would show at 1e-9.
        let (mesh, u) = advect([-1.0, 2.0], 120, dt, steps, &model);
        let st = SpaceTime::new(&mesh, &model, dt).unwrap();
        let m = st.lumped_mass();
        let centre = |col: usize| {
            let w: f64 = (0..mesh.n_nodes()).map(|i| m[i] * u[(i, col)]).sum();
            let c = |d: usize| {
                (0..mesh.n_nodes())
                    .map(|i| m[i] * u[(i, col)] * mesh.nodes()[i][d])
                    .sum::<f64>()
                    / w
            };
            [c(0), c(1)]
        };
        let first = centre(0);
        for k in 1..steps {
            let now = centre(k);
            for d in 0..2 {
                let moved = now[d] - first[d];
                let per_step = model.advection[d] * dt / (model.c + model.kappa.powi(2) * dt);
                let expect = per_step * k as f64;
                assert!(
                    (moved - expect).abs() < 1e-12,
                    "step {k}: {moved} vs {expect}"
                );
            }
        }
    }

    /// The shape: the maximum error against the advected Gaussian at t = 0.2 falls when the
    /// mesh and the step are both refined by 2 (implicit Euler's first order in time
    /// dominates), and the peak is where the advection puts it.
    #[test]
    fn advected_blob_converges_under_refinement() {
        let model = pure_advection();
        let t = 0.2;
        let mut errors = Vec::new();
        for (cells, steps) in [(40, 20), (80, 40), (160, 80)] {
            let (mesh, u) = advect([0.0, 1.0], cells, t / steps as f64, steps, &model);
            let last = u.column(steps - 1);
            let peak = blob_at(t, [0.55, 0.5], &model, 0.05, [0.35, 0.4]);
            let err = mesh
                .nodes()
                .iter()
                .enumerate()
                .map(|(i, &p)| (last[i] - blob_at(t, p, &model, 0.05, [0.35, 0.4])).abs())
                .fold(0.0, f64::max)
                / peak;
            let argmax = last.iamax();
            let at = mesh.nodes()[argmax];
            let h = 1.0 / cells as f64;
            assert!(
                (at[0] - 0.55).abs() <= h + 1e-12 && (at[1] - 0.5).abs() <= h + 1e-12,
                "{cells}: peak at {at:?}"
            );
            errors.push(err);
        }
        assert!(
            errors[1] < 0.7 * errors[0] && errors[2] < 0.7 * errors[1],
            "{errors:?}"
        );
        assert!(errors[2] < 0.2, "{errors:?}");
    }

    #[test]
    fn stationary_range_and_sigma_round_trip() {
        let m = AdvectionDiffusion::from_range_sigma(0.3, 1.7, [1.0, 2.0]).unwrap();
        assert!((m.range().unwrap() - 0.3).abs() < 1e-12);
        assert!((m.sigma().unwrap() - 1.7).abs() < 1e-12);
        assert_eq!(m.nu().unwrap(), 1.0);
        // The stationary field is matern's alpha = 2 field with tau_m = sqrt(2) / tau.
        let spatial = Matern::new(2, m.kappa, 2f64.sqrt() / m.tau).unwrap();
        assert!((spatial.sigma().unwrap() - 1.7).abs() < 1e-12);
        let h = AdvectionDiffusion {
            diffusion: Matrix2::new(4.0, 0.0, 0.0, 1.0),
            ..m
        };
        assert!((h.sigma().unwrap() - 1.7 / 2f64.sqrt()).abs() < 1e-12);
    }

    /// After the burn-in the grid series is stationary: the variance at the first step it
    /// returns is that of the last (100 draws of 5 steps; measured 0.96); and with steps short against the
    /// decay time (kappa^2 dt / c = 0.04) the marginal standard deviation is the stationary
    /// sigma, less implicit Euler's damping of the fast modes (module docs: variance factor
    /// 1/(1 + lambda dt / 2) per mode, here about 0.9 overall; measured 0.91).
    #[test]
    fn grid_series_starts_stationary() {
        let model = AdvectionDiffusion {
            c: 2.0,
            ..AdvectionDiffusion::from_range_sigma(1.0, 1.5, [2.0, 1.0]).unwrap()
        }
        .with_range_sigma(1.0, 1.5)
        .unwrap();
        let (steps, draws) = (5, 100);
        let mut var = vec![0.0; steps];
        for seed in 0..draws {
            let g = field_on_unit_square([3, 3], steps, 0.01, &model, Sampler::Sequential, seed)
                .unwrap();
            // ln(100) / (2 ln(1.04)) = 58.7.
            assert_eq!(g.burn_in, 59);
            for (k, f) in g.field.iter().enumerate() {
                var[k] += f.iter().map(|v| v * v).sum::<f64>() / (9 * draws) as f64;
            }
        }
        let ratio = var[0] / var[steps - 1];
        assert!((0.85..1.15).contains(&ratio), "{var:?}");
        let sd = (var.iter().sum::<f64>() / steps as f64).sqrt();
        assert!((0.85 * 1.5..1.5).contains(&sd), "{sd}");
    }

    #[test]
    fn grid_series_is_seeded_and_both_samplers_run() {
        let model = AdvectionDiffusion::from_range_sigma(0.5, 1.0, [8.0, 0.0]).unwrap();
        let a = field_on_unit_square([4, 3], 2, 0.02, &model, Sampler::Sequential, 7).unwrap();
        assert_eq!(a.field.len(), 2);
        assert!(a.field.iter().all(|f| f.len() == 12));
        assert_eq!(
            a,
            field_on_unit_square([4, 3], 2, 0.02, &model, Sampler::Sequential, 7).unwrap()
        );
        let b = field_on_unit_square([4, 3], 2, 0.02, &model, Sampler::Cholesky, 7).unwrap();
        assert_eq!((b.field.len(), b.burn_in), (2, a.burn_in));
        let chebyshev = Sampler::Chebyshev { tolerance: 1e-6 };
        let c = field_on_unit_square([4, 3], 2, 0.02, &model, chebyshev, 7).unwrap();
        assert_eq!(c.field.len(), 2);
        assert_ne!(c.field, a.field);
        assert!(field_on_unit_square([1, 3], 2, 0.02, &model, Sampler::Sequential, 7).is_err());
        assert!(field_on_unit_square([4, 3], 0, 0.02, &model, Sampler::Sequential, 7).is_err());
        // A step far below the decay time needs too long a burn-in.
        let err = field_on_unit_square([4, 3], 2, 1e-9, &model, Sampler::Sequential, 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains("burn-in"), "{err}");
        // A joint precision too large to factor points to the sequential sampler.
        let err = field_on_unit_square([4, 3], 200, 0.02, &model, Sampler::Cholesky, 7)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sequential"), "{err}");
    }

    #[test]
    fn bad_input_is_refused() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 3, 3).unwrap();
        let ok = white(1, 1.0, [1.0, 0.0]);
        assert!(SpaceTime::new(&mesh, &ok, 0.1).is_ok());
        for dt in [0.0, -0.1, f64::NAN] {
            assert!(SpaceTime::new(&mesh, &ok, dt).is_err());
        }
        for bad in [
            AdvectionDiffusion { alpha: 0, ..ok },
            AdvectionDiffusion { alpha: 5, ..ok },
            AdvectionDiffusion {
                noise_alpha: 5,
                ..ok
            },
            AdvectionDiffusion { kappa: 0.0, ..ok },
            AdvectionDiffusion {
                tau: f64::NAN,
                ..ok
            },
            AdvectionDiffusion { c: -1.0, ..ok },
            AdvectionDiffusion {
                advection: [f64::INFINITY, 0.0],
                ..ok
            },
            AdvectionDiffusion {
                diffusion: Matrix2::new(1.0, 2.0, 2.0, 1.0),
                ..ok
            },
        ] {
            assert!(SpaceTime::new(&mesh, &bad, 0.1).is_err(), "{bad:?}");
        }
        assert!(
            ok.sigma().is_err(),
            "alpha + noise_alpha = 1 has no finite variance"
        );
        assert!(AdvectionDiffusion::from_range_sigma(0.0, 1.0, [0.0; 2]).is_err());
        let st = SpaceTime::new(&mesh, &ok, 0.1).unwrap();
        assert!(st.precision(0).is_err());
        assert!(st.simulate_sequential(0, 1).is_err());
        assert!(st.propagate(&DVector::zeros(3), 2).is_err());
    }
}
