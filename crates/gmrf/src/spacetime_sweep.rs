//! The exact space-time log-likelihood in observation space, by one backward sweep in time:
//! for many unknowns and few observations.
//!
//! # Why a second route
//! [`crate::spacetime_likelihood`] factors the posterior precision $Q + A^\top A/s^2$ of the
//! stacked field, which fills like a 3D problem's: its cost grows like the number of
//! unknowns to the power 2.2-2.3, and a $10^4$-node mesh over 100 steps ($10^6$ unknowns) is
//! out of reach. This module works with the $m \times m$ covariance of the observations
//! instead,
//!
//! $$
//! \Sigma = A Q^{-1} A^\top + s^2 I,
//! $$
//!
//! whose cost grows with the nodes, the steps and the square of the observations, and never
//! forms anything of the size of the stacked field. The model, the data and the result are
//! those of [`crate::spacetime_likelihood::SpaceTimeObservations`] (same constructor, same
//! [`SpaceTimeEvaluation`]); the two routes agree to rounding (tested), and which is faster
//! depends on the sizes (see the crate's benchmarks).
//!
//! # The sweep
//! With $Q = G^\top(I_N\otimes S)G$, $G$ block lower bidiagonal ($D$ on the diagonal, $-M$
//! below it, [`crate::spacetime::SpaceTime::last_block`]), $Q^{-1} = G^{-1}(I_N\otimes
//! S^{-1})G^{-\top}$. Let observation $j$ be at stacked step $k_j$ with node weights $a_j$,
//! and $w^{(j)} = G^{-\top}(e_{k_j}\otimes a_j)$. Since $G^\top$ is block upper bidiagonal,
//! $w^{(j)}$ vanishes after step $k_j$ and is found backwards from it:
//!
//! $$
//! w^{(j)}_{k_j} = D^{-\top}a_j, \qquad w^{(j)}_k = D^{-\top}M^\top w^{(j)}_{k+1}
//! \quad (k < k_j),
//! $$
//!
//! and then
//!
//! $$
//! (AQ^{-1}A^\top)_{ij} = \sum_{k \le \min(k_i, k_j)} {w^{(i)}_k}^\top S^{-1} w^{(j)}_k
//! = \sum_k {y^{(i)}_k}^\top y^{(j)}_k, \qquad y_k = L^{-1}P w_k,
//! $$
//!
//! with $PSP^\top = LL^\top$ the sparse Cholesky factor of the residual precision $S$. One
//! sweep from the last step to the first keeps the $n \times c_k$ block $W_k$ of the $c_k$
//! observations at or after step $k$: multiply by $M^\top$ (diagonal, the lumped masses),
//! append the new observations' weights, solve with $D^\top$ (one sparse LU of the step
//! matrix, [`crate::lu::SparseLu`]), whiten with $L^{-1}P$ and add the lower triangle of
//! $Y_k^\top Y_k$ to the trailing block of $\Sigma$. Memory: $W$ ($n \times m$) and
//! $\Sigma$ ($m \times m$).
//!
//! **Cost.** Per step, $c_k$ solves with $D^\top$ and with $L$, and a rank-$n$ update of a
//! $c_k \times c_k$ triangle, $n c_k^2$ flops. With $m/T$ observations at each of $T$
//! observed steps after $B$ burn-in steps, $c_k$ falls from $m$ to $m/T$ and the updates
//! total about $n m^2 (B + T/3)$ flops: the route pays for every pair of observations, once
//! per step both are alive, and the solves for every observation once per step it is alive
//! ($m(B + T/2)$ columns). The solves and the update are split over the machine's cores (at
//! most four threads). For $10^4$ nodes, 100 steps and 1,000 observations that is 11 s on 2
//! cores, most of it in the solves (on one thread: 9.7 s with $D^\top$, 6.3 s with $L$,
//! 2.3 s in the updates).
//!
//! # Likelihood
//! With $\Sigma = LL^\top$ (dense Cholesky), $\tilde X = L^{-1}X$, $\tilde y = L^{-1}y$, the
//! generalised least-squares $\hat\beta = (\tilde X^\top\tilde X)^{-1}\tilde X^\top\tilde y$
//! and $\tilde r = \tilde y - \tilde X\hat\beta$,
//!
//! $$
//! \ell = -\frac12\left(m\log 2\pi + \log\det\Sigma + \tilde r^\top\tilde r\right),
//! $$
//!
//! the same profile log-likelihood as the joint route's.
//!
//! # Gradient
//! In $\theta = (\log\rho, \log\sigma, \gamma_1, \gamma_2, \log c)$ and $\log s^2$, with
//! $C = AQ^{-1}A^\top$, $\alpha = \Sigma^{-1}(y - X\hat\beta)$ and
//! $R = \Sigma^{-1} - \alpha\alpha^\top$ (the derivative through $\hat\beta$ vanishes at
//! the GLS estimate), for $\vartheta$ one of the coordinates of $\theta$ and $\partial$ the
//! derivative in it,
//!
//! $$
//! \frac{\partial\ell}{\partial\vartheta} = -\frac12\operatorname{tr}(R\,\partial C),
//! \qquad \frac{\partial\ell}{\partial\log s^2} = -\frac{s^2}2\operatorname{tr}R.
//! $$
//!
//! $C \propto \sigma^2$ gives $\partial_{\log\sigma}C = 2C$ exactly. For the others, write
//! $C = \sum_k W_k^\top S^{-1}W_k$ ($W_k$ the $n \times m$ matrix whose column $j$ is
//! $w^{(j)}$ at step $k$) and differentiate the recursion $D^\top W_k = MW_{k+1} + E_k$ ($E_k$ the weights of the
//! observations at step $k$): $\partial W_k = D^{-\top}(M \partial W_{k+1} -
//! \partial D^\top W_k)$. With $Z_k = S^{-1}W_k$ and $F_k = Z_kR$,
//!
//! $$
//! \operatorname{tr}(R\,\partial C) = \sum_k \left(2\langle F_k, \partial W_k\rangle - \langle F_k, \partial S Z_k\rangle\right),
//! $$
//!
//! with $\langle\cdot,\cdot\rangle$ the sum of the entrywise products. The first sum is
//! carried by the adjoint recursion, forward in time,
//!
//! $$
//! \Lambda_k = D^{-1}(F_k + M\Lambda_{k-1}), \quad \Lambda_0 = 0, \qquad
//! \sum_k \langle F_k, \partial W_k\rangle = -\sum_k \langle\Lambda_k, \partial D^\top W_k\rangle,
//! $$
//!
//! so that
//!
//! $$
//! \frac{\partial\ell}{\partial\vartheta} = \langle\partial D, P^D\rangle + \frac12\langle\partial S, P^S\rangle,
//! \qquad P^D = \sum_k W_k\Lambda_k^\top, \quad P^S = \sum_k F_k Z_k^\top,
//! $$
//!
//! $P^D$ and $P^S$ are needed only on the patterns of $D$ and $S$ and shared by every
//! parameter: a further parameter costs one assembly of $D$ and $S$ at each of two moved
//! values and two sparse dot products. So the gradient in the coefficients of spatially
//! varying fields ([`FieldBasis`], [`SweepObservations::log_likelihood_with_basis`]) comes
//! with the model's at no further sweep, and maximum likelihood estimates them with the
//! model's parameters ([`SweepObservations::maximum_likelihood_with_basis`]).
//!
//! Columns of observations before step $k$ never re-enter, so each step works
//! on the $c_k$ alive columns, as the value's sweep. The adjoint runs forward while the
//! $W_k$ come backward: the value's sweep keeps $W_k$ every $L = \lceil\sqrt N\rceil$ steps,
//! and each segment of $L$ steps is recomputed from its checkpoint (memory about
//! $2\sqrt N$ blocks of $W$). The matrices $\partial D$, $\partial S$ are central
//! differences of the assembled matrices (step $10^{-5}$, as the joint route's); the rest is
//! exact. The gradient costs about three sweeps: 41 s against 11 s for the value, for
//! $10^4$ nodes, 100 steps and 1,000 observations (2 cores; central differences of $C$
//! itself took 99 s).
//!
//! # References
//! - Clarotto, L., Allard, D., Romary, T., Desassis, N. (2024). The SPDE approach for
//!   spatio-temporal datasets with advection and diffusion. *Spatial Statistics* 62, 100847.
//! - Griewank, A., Walther, A. (2000). Algorithm 799: revolve, an implementation of
//!   checkpointing for the reverse or adjoint mode of computational differentiation. *ACM
//!   Transactions on Mathematical Software* 26(1), 19-45 (the checkpoints of the adjoint
//!   sweep; uniform segments here, not revolve's binomial schedule).
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_gmrf::Mesh;
//! use uqforge_gmrf::spacetime::AdvectionDiffusion;
//! use uqforge_gmrf::spacetime_likelihood::SpaceTimeObservations;
//! use uqforge_gmrf::spacetime_sweep::SweepObservations;
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 6, 6)?;
//! let model = AdvectionDiffusion::from_range_sigma(0.4, 1.0, [0.5, 0.0])?;
//! let locations = DMatrix::from_row_slice(4, 2, &[0.2, 0.2, 0.7, 0.4, 0.2, 0.2, 0.5, 0.9]);
//! let times = [1, 1, 2, 3];
//! let y = DVector::from_row_slice(&[0.3, -0.1, 0.5, 0.2]);
//! let x = DMatrix::from_element(4, 1, 1.0);
//! let swept = SweepObservations::new(&mesh, 0.05, &model, &locations, &times, y.clone(),
//!     x.clone(), 2)?;
//! let joint = SpaceTimeObservations::new(&mesh, 0.05, &model, &locations, &times, y, x, 2)?;
//! let (a, b) = (swept.log_likelihood(&model, 0.1, false)?, joint.log_likelihood(&model, 0.1, false)?);
//! assert!((a.log_likelihood - b.log_likelihood).abs() < 1e-10);
//! assert!((a.beta[0] - b.beta[0]).abs() < 1e-10);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::thread;

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as triangular_matmul};
use faer::linalg::solvers::{DenseSolveCore, Llt};
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use nalgebra::{DMatrix, DVector};
use nalgebra_sparse::{CooMatrix, CscMatrix, pattern::SparsityPattern};
use uqforge_core::{Error, Result, validate};

use crate::likelihood::{check_responses, in_context};
use crate::lu::SparseLu;
use crate::spacetime::{AdvectionDiffusion, Fields, SpaceTime};
use crate::spacetime_likelihood::{
    DIFFERENCE_STEP, SpaceTimeEvaluation, SpaceTimeFit, SpaceTimePrediction, Start, check_fields,
    check_prediction_steps, check_steps, describe, field_parameters, maximise, maximise_with,
    moved,
};
use crate::sparse::{on_pattern, scatter};
use crate::{Cholesky, Mesh, SymbolicCholesky};
use serde::{Deserialize, Serialize};

/// The most dense entries of an evaluation ($W$ and its whitened copy, $n \times m$ each, four
/// $m \times m$ matrices, and the gradient's checkpoints and buffers): $2.5 \times 10^8$,
/// 2 GB.
pub const MAX_SWEEP_ENTRIES: usize = 250_000_000;

/// Observations of a space-time field for the observation-space likelihood; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct SweepObservations {
    mesh: Mesh,
    dt: f64,
    steps: usize,
    burn_in: usize,
    /// The observations as points of the stacked field.
    points: Points,
    y: DVector<f64>,
    x: DMatrix<f64>,
    /// The pattern of the step matrix $D$.
    step_pattern: SparsityPattern,
    /// The pattern of the residual precision $S$ and its analysis (`None` when $S$ is
    /// diagonal: white noise).
    residual_pattern: SparsityPattern,
    residual: Option<SymbolicCholesky>,
    fields: Fields,
    /// The anisotropy of $H$ is a parameter ([`Self::estimating_anisotropy`]).
    anisotropy: bool,
    /// Dense entries an evaluation holds without and with the gradient.
    entries: [usize; 2],
}

impl SweepObservations {
    /// Observations `y` at the rows of `locations` (points of `mesh`) and the time steps
    /// `times`, covariates `x`, time step `dt` and `burn_in` unobserved steps, as
    /// [`crate::spacetime_likelihood::SpaceTimeObservations::new`]; `template` fixes the
    /// smoothness orders of the models evaluated later.
    ///
    /// # Errors
    /// Those of the joint route's constructor, except its cap on the unknowns: here the cap
    /// is on the dense entries of a likelihood evaluation ([`MAX_SWEEP_ENTRIES`]; the
    /// gradient's own cap is checked when it is asked for).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mesh: &Mesh,
        dt: f64,
        template: &AdvectionDiffusion,
        locations: &DMatrix<f64>,
        times: &[usize],
        y: DVector<f64>,
        x: DMatrix<f64>,
        burn_in: usize,
    ) -> Result<Self> {
        let steps = check_steps(locations.nrows(), times)?;
        burn_in.checked_add(steps).ok_or_else(|| {
            Error::invalid_parameter("burn-in", format!("{burn_in} steps overflow"))
        })?;
        check_responses(&y, &x)?;
        let (n, m) = (mesh.n_nodes(), y.len());
        let total = burn_in + steps;
        let entries = memory(
            n,
            m,
            &alive_counts(times, burn_in, total),
            checkpoint_every(total),
        );
        if entries[0] > MAX_SWEEP_ENTRIES {
            return Err(Error::invalid_parameter(
                "observations",
                format!(
                    "{m} observations of a {n}-node field need {} dense entries, more than the \
                     {MAX_SWEEP_ENTRIES} of the observation-space route",
                    entries[0]
                ),
            ));
        }
        let weights = mesh.observation_matrix(locations)?.transpose();
        let st = SpaceTime::new(mesh, template, dt)?;
        let step_pattern = st.step_matrix().pattern().clone();
        let residual_pattern = st.residual_precision().pattern().clone();
        let residual = if residual_pattern.nnz() == n {
            None
        } else {
            Some(SymbolicCholesky::analyse(&residual_pattern)?)
        };
        Ok(Self {
            mesh: mesh.clone(),
            dt,
            steps,
            burn_in,
            points: Points {
                weights,
                steps: times.iter().map(|&t| burn_in + t).collect(),
            },
            y,
            x,
            step_pattern,
            residual_pattern,
            residual,
            fields: Fields::default(),
            anisotropy: false,
            entries,
        })
    }

    /// These observations of a model whose advection and diffusion vary in space by the
    /// fixed `fields`, as
    /// [`crate::spacetime_likelihood::SpaceTimeObservations::with_fields`].
    ///
    /// # Errors
    /// Fields of another length than the mesh's nodes or with invalid values.
    pub fn with_fields(mut self, fields: Fields) -> Result<Self> {
        check_fields(&self.mesh, self.dt, &fields)?;
        self.fields = fields;
        Ok(self)
    }

    /// These observations with the anisotropy of $H$ a parameter, as
    /// [`crate::spacetime_likelihood::SpaceTimeObservations::estimating_anisotropy`]: two
    /// more pairs of assemblies and sparse products with the adjoint's $P^D$ and $P^S$ per
    /// gradient, no further sweep.
    #[must_use]
    pub fn estimating_anisotropy(mut self) -> Self {
        self.anisotropy = true;
        self
    }

    /// The observed steps $T$ (the largest of `times`).
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The burn-in steps $B$.
    pub fn burn_in(&self) -> usize {
        self.burn_in
    }

    /// The log-likelihood of `model` with noise standard deviation `noise_sd`, $\beta$
    /// profiled out, and its gradient when `gradient` is true (see the [module docs](self)).
    ///
    /// # Errors
    /// Invalid model parameters, a non-positive `noise_sd`, another smoothness order than
    /// the template's, a factorisation failure (the message names the parameters), or a
    /// gradient whose checkpoints would exceed [`MAX_SWEEP_ENTRIES`].
    pub fn log_likelihood(
        &self,
        model: &AdvectionDiffusion,
        noise_sd: f64,
        gradient: bool,
    ) -> Result<SpaceTimeEvaluation> {
        Ok(self
            .evaluate(model, noise_sd, &self.fields, None, gradient)?
            .0)
    }

    /// The log-likelihood of `model` with the fields of `basis` at `coefficients` (in place of
    /// the fixed fields of [`Self::with_fields`]), and with the gradient in the model's
    /// parameters its gradient in the coefficients: each is one more sparse product with the
    /// adjoint's $P^D$ and $P^S$ (see the [module docs](self)), the derivative matrices
    /// central differences of the assembled ones.
    ///
    /// # Errors
    /// Those of [`Self::log_likelihood`], and coefficients of another length than
    /// [`FieldBasis::len`] or a basis of another number of rows than the mesh's nodes.
    pub fn log_likelihood_with_basis(
        &self,
        model: &AdvectionDiffusion,
        noise_sd: f64,
        basis: &FieldBasis,
        coefficients: &[f64],
        gradient: bool,
    ) -> Result<(SpaceTimeEvaluation, Option<Vec<f64>>)> {
        validate::len(
            "basis rows (mesh nodes)",
            self.mesh.n_nodes(),
            basis.basis.nrows(),
        )?;
        let fields = basis.fields(coefficients)?;
        let (e, g) = self.evaluate(
            model,
            noise_sd,
            &fields,
            Some((basis, coefficients)),
            gradient,
        )?;
        Ok((e, gradient.then_some(g)))
    }

    /// The log-likelihood with `fields`, its gradient in the model's parameters and, for
    /// `basis` $= (B, w)$, in the coefficients $w$ of the fields.
    fn evaluate(
        &self,
        model: &AdvectionDiffusion,
        noise_sd: f64,
        fields: &Fields,
        basis: Option<(&FieldBasis, &[f64])>,
        gradient: bool,
    ) -> Result<(SpaceTimeEvaluation, Vec<f64>)> {
        validate::positive("noise_sd", noise_sd)?;
        let describe = describe(model, noise_sd)?;
        if gradient && self.entries[1] > MAX_SWEEP_ENTRIES {
            return Err(Error::invalid_parameter(
                "observations",
                format!(
                    "the gradient's adjoint sweep needs {} dense entries, more than {MAX_SWEEP_ENTRIES}",
                    self.entries[1]
                ),
            ));
        }
        let ops = self.operators(model, fields, &describe)?;
        let every = checkpoint_every(self.points.total());
        let (c, checkpoints) = self.covariance(&ops, &self.points, gradient.then_some(every))?;
        let (m, s2) = (self.y.len(), noise_sd * noise_sd);
        let Gls {
            llt,
            log_det,
            beta,
            beta_covariance,
            residual: r,
            ..
        } = self.gls(&c, s2, Mat::zeros(m, 0), &describe)?;
        let log_likelihood =
            -0.5 * (m as f64 * (2.0 * std::f64::consts::PI).ln() + log_det + r.norm_squared());
        let mut coefficient_gradient = Vec::new();
        let gradient = if gradient {
            // alpha = Sigma^-1 (y - X beta) = L^-T r~, and R = Sigma^-1 - alpha alpha'.
            let mut alpha = Mat::<f64>::from_fn(m, 1, |i, _| r[i]);
            solve_upper_triangular_in_place(llt.L().transpose(), alpha.as_mut(), Par::Seq);
            let mut big_r = llt.inverse();
            for j in 0..m {
                for i in 0..m {
                    big_r[(i, j)] -= alpha[(i, 0)] * alpha[(j, 0)];
                }
            }
            let contract = |a: &Mat<f64>| -> f64 {
                (0..m)
                    .map(|j| (0..m).map(|i| big_r[(i, j)] * a[(i, j)]).sum::<f64>())
                    .sum()
            };
            let mut g = vec![0.0; if self.anisotropy { 8 } else { 6 }];
            // C is proportional to sigma^2; d Sigma / d log s^2 = s^2 I.
            g[1] = -contract(&c);
            g[5] = -0.5 * s2 * (0..m).map(|i| big_r[(i, i)]).sum::<f64>();
            // The adjoint sweep's products on the patterns of D and S, then each parameter's
            // derivative matrices.
            let (pd, ps) = self.adjoint(&ops, &big_r, &checkpoints, every)?;
            let dot = |up: &[f64], down: &[f64], p: &[f64]| -> f64 {
                up.iter()
                    .zip(down)
                    .zip(p)
                    .map(|((u, d), p)| (u - d) * p)
                    .sum::<f64>()
                    / (2.0 * DIFFERENCE_STEP)
            };
            for k in field_parameters(self.anisotropy).filter(|&k| k != 1) {
                let (d_up, s_up) = self.values(&moved(model, k, DIFFERENCE_STEP)?, fields)?;
                let (d_down, s_down) = self.values(&moved(model, k, -DIFFERENCE_STEP)?, fields)?;
                // theta's order: the noise's log s^2 sits between c and (a, b).
                let at = if k < 5 { k } else { k + 1 };
                g[at] = dot(&d_up, &d_down, &pd) + 0.5 * dot(&s_up, &s_down, &ps);
            }
            if let Some((basis, w)) = basis {
                for j in 0..w.len() {
                    let mut moved_w = w.to_vec();
                    moved_w[j] = w[j] + DIFFERENCE_STEP;
                    let (d_up, s_up) = self.values(model, &basis.fields(&moved_w)?)?;
                    moved_w[j] = w[j] - DIFFERENCE_STEP;
                    let (d_down, s_down) = self.values(model, &basis.fields(&moved_w)?)?;
                    coefficient_gradient
                        .push(dot(&d_up, &d_down, &pd) + 0.5 * dot(&s_up, &s_down, &ps));
                }
            }
            Some(g)
        } else {
            None
        };
        Ok((
            SpaceTimeEvaluation {
                log_likelihood,
                beta,
                beta_covariance,
                gradient,
            },
            coefficient_gradient,
        ))
    }

    /// Maximises the log-likelihood over the model's parameters and the coefficients of the
    /// fields of `basis` (see [`Self::log_likelihood_with_basis`]), from `start`,
    /// `start_noise_sd` and `start_coefficients`, with L-BFGS rescaled as in
    /// [`crate::spacetime_likelihood`] ($2(6 + K)$ more evaluations for $K$ coefficients).
    /// Standard errors of the coefficients come from the same observed information as the
    /// others'.
    ///
    /// # Errors
    /// Those of [`Self::maximum_likelihood`] and of [`Self::log_likelihood_with_basis`].
    pub fn maximum_likelihood_with_basis(
        &self,
        start: &AdvectionDiffusion,
        start_noise_sd: f64,
        basis: &FieldBasis,
        start_coefficients: &[f64],
        max_iterations: u64,
        gradient_tolerance: f64,
    ) -> Result<BasisFit> {
        validate::len("start coefficients", basis.len(), start_coefficients.len())?;
        let evaluate = |m: &AdvectionDiffusion, s: f64, w: &[f64], g: bool| {
            let (e, gw) = self.log_likelihood_with_basis(m, s, basis, w, g)?;
            Ok((e, gw.unwrap_or_default()))
        };
        let start = Start {
            model: start,
            noise_sd: start_noise_sd,
            extra: start_coefficients,
            anisotropy: self.anisotropy,
            precondition: true,
        };
        let (fit, coefficients, coefficient_std_errors) = maximise_with(
            evaluate,
            self.y.len(),
            &start,
            max_iterations,
            gradient_tolerance,
        )?;
        Ok(BasisFit {
            fit,
            coefficients,
            coefficient_std_errors,
        })
    }

    /// Universal kriging of the field of `model` (noise standard deviation `noise_sd`) at
    /// `locations` (`n0 x 2`) and observed-step indices `times` ($\ge 1$, any order; steps
    /// after the last observed one are forecasts), with covariates `x0` (`n0 x p`): the
    /// predictions join the observations as points of the sweep, which gives their
    /// covariances $C_{0}$ with the observations and their variances $c_{00}$, and
    ///
    /// $$
    /// \hat f_0 = X_0\hat\beta + C_0\Sigma^{-1}(y - X\hat\beta), \qquad
    /// \operatorname{var}(\hat f_0 - f_0) = c_{00} - C_0\Sigma^{-1}C_0^\top + U(X^\top\Sigma^{-1}X)^{-1}U^\top
    /// $$
    ///
    /// (the diagonal), $U = X_0 - C_0\Sigma^{-1}X$: the formulas of
    /// [`crate::spacetime_likelihood::SpaceTimeObservations::krige`], in observation space.
    ///
    /// # Errors
    /// `times` of another length than the rows of `locations`, a step 0, points outside the
    /// mesh, covariates of another shape or non-finite, a non-positive `noise_sd`, more
    /// dense entries than [`MAX_SWEEP_ENTRIES`], and the likelihood's errors.
    pub fn krige(
        &self,
        model: &AdvectionDiffusion,
        noise_sd: f64,
        locations: &DMatrix<f64>,
        times: &[usize],
        x0: &DMatrix<f64>,
    ) -> Result<SpaceTimePrediction> {
        let n0 = locations.nrows();
        validate::positive("noise_sd", noise_sd)?;
        let horizon = check_prediction_steps(n0, times, self.steps)?;
        validate::len("prediction covariate rows", n0, x0.nrows())?;
        validate::len("prediction covariate columns", self.x.ncols(), x0.ncols())?;
        validate::finite("prediction covariates", x0.as_slice())?;
        let (n, m) = (self.mesh.n_nodes(), self.y.len());
        let total = m + n0;
        let entries = memory(n, total, &[], 1)[0];
        if entries > MAX_SWEEP_ENTRIES {
            return Err(Error::invalid_parameter(
                "prediction locations",
                format!("{entries} dense entries, more than {MAX_SWEEP_ENTRIES}"),
            ));
        }
        let describe = describe(model, noise_sd)?;
        let predicted = self.mesh.observation_matrix(locations)?.transpose();
        // Observations and predictions as one sorted list of points (stable: ties keep
        // observations first).
        let step = |j: usize| {
            if j < m {
                self.points.steps[j]
            } else {
                self.burn_in + times[j - m]
            }
        };
        let mut order: Vec<usize> = (0..total).collect();
        order.sort_by_key(|&j| step(j));
        let mut coo = CooMatrix::new(n, total);
        for (q, &j) in order.iter().enumerate() {
            let col = if j < m {
                self.points.weights.col(j)
            } else {
                predicted.col(j - m)
            };
            for (&i, &v) in col.row_indices().iter().zip(col.values()) {
                coo.push(i, q, v);
            }
        }
        let points = Points {
            weights: CscMatrix::from(&coo),
            steps: order.iter().map(|&j| step(j)).collect(),
        };
        let ops = self.operators(model, &self.fields, &describe)?;
        let (cov, _) = self.covariance(&ops, &points, None)?;
        let mut position = vec![0; total];
        for (q, &j) in order.iter().enumerate() {
            position[j] = q;
        }
        let c = Mat::<f64>::from_fn(m, m, |i, j| cov[(position[i], position[j])]);
        let c0t = Mat::<f64>::from_fn(m, n0, |i, p| cov[(position[i], position[m + p])]);
        let s2 = noise_sd * noise_sd;
        let Gls {
            beta,
            beta_covariance,
            residual,
            xt,
            extra: k,
            ..
        } = self.gls(&c, s2, c0t, &describe)?;
        let p = self.x.ncols();
        let mut mean = DVector::zeros(n0);
        let mut sd = DVector::zeros(n0);
        for q in 0..n0 {
            let kq = DVector::from_fn(m, |i, _| k[(i, q)]);
            let c00 = cov[(position[m + q], position[m + q])];
            let u = DVector::from_fn(p, |j, _| x0[(q, j)]) - xt.transpose() * &kq;
            mean[q] = (x0.row(q) * &beta)[0] + kq.dot(&residual);
            let var = c00 - kq.norm_squared() + (u.transpose() * &beta_covariance * &u)[0];
            sd[q] = var.max(0.0).sqrt();
        }
        Ok(SpaceTimePrediction {
            sd_observation: sd.map(|v| (v * v + s2).sqrt()),
            mean,
            sd,
            beta,
            horizon,
        })
    }

    /// $\Sigma = C + s^2I = LL^\top$ and the generalised least squares on it, with the
    /// columns of `extra` ($m \times k$) whitened too.
    fn gls(&self, c: &Mat<f64>, s2: f64, mut extra: Mat<f64>, describe: &str) -> Result<Gls> {
        let (m, p) = (self.y.len(), self.x.ncols());
        let mut sigma = c.clone();
        for i in 0..m {
            sigma[(i, i)] += s2;
        }
        let llt = sigma
            .as_ref()
            .llt(Side::Lower)
            .map_err(|_| Error::NotPositiveDefinite {
                what: format!("covariance of the observations ({describe})"),
            })?;
        let l = llt.L();
        let log_det: f64 = 2.0 * (0..m).map(|i| l[(i, i)].ln()).sum::<f64>();
        // [X, y] whitened by L^-1.
        let mut rhs = Mat::<f64>::from_fn(
            m,
            p + 1,
            |i, j| {
                if j < p { self.x[(i, j)] } else { self.y[i] }
            },
        );
        solve_lower_triangular_in_place(l, rhs.as_mut(), Par::Seq);
        solve_lower_triangular_in_place(l, extra.as_mut(), Par::Seq);
        let xt = DMatrix::from_fn(m, p, |i, j| rhs[(i, j)]);
        let yt = DVector::from_fn(m, |i, _| rhs[(i, p)]);
        let (beta, beta_covariance) = if p == 0 {
            (DVector::zeros(0), DMatrix::zeros(0, 0))
        } else {
            let chol = (xt.transpose() * &xt).cholesky().ok_or_else(|| {
                Error::degenerate(
                    "regression coefficients",
                    "X' V^-1 X is singular (collinear covariates)",
                )
            })?;
            (chol.solve(&(xt.transpose() * &yt)), chol.inverse())
        };
        let residual = &yt - &xt * &beta;
        Ok(Gls {
            llt,
            log_det,
            beta,
            beta_covariance,
            residual,
            xt,
            extra,
        })
    }

    /// Maximises the log-likelihood from `start` (a model and a noise standard deviation),
    /// as [`crate::spacetime_likelihood::SpaceTimeObservations::maximum_likelihood`].
    ///
    /// # Errors
    /// Invalid starting values, a likelihood evaluation that fails (its message names the
    /// parameters), or an optimiser failure.
    pub fn maximum_likelihood(
        &self,
        start: &AdvectionDiffusion,
        start_noise_sd: f64,
        max_iterations: u64,
        gradient_tolerance: f64,
    ) -> Result<SpaceTimeFit> {
        maximise(
            |m, s, g| self.log_likelihood(m, s, g),
            self.y.len(),
            self.anisotropy,
            start,
            start_noise_sd,
            max_iterations,
            gradient_tolerance,
        )
    }

    /// The values of $D$ and $S$ of `model` on their patterns.
    fn values(&self, model: &AdvectionDiffusion, fields: &Fields) -> Result<(Vec<f64>, Vec<f64>)> {
        let st = SpaceTime::with_fields(&self.mesh, model, self.dt, fields)?;
        Ok((
            scatter(&self.step_pattern, st.step_matrix())?,
            scatter(&self.residual_pattern, &st.residual_precision())?,
        ))
    }

    /// The factors of `model`'s $D$ and $S$ and the lumped masses.
    fn operators(
        &self,
        model: &AdvectionDiffusion,
        fields: &Fields,
        describe: &str,
    ) -> Result<Operators> {
        let st = SpaceTime::with_fields(&self.mesh, model, self.dt, fields)?;
        let lu = SparseLu::factor(st.step_matrix(), "step matrix D")?;
        let s = on_pattern(
            &self.residual_pattern,
            scatter(&self.residual_pattern, &st.residual_precision())?,
        )?;
        let whitener = match &self.residual {
            Some(symbolic) => {
                Whitener::Factor(symbolic.factor(&s).map_err(|e| in_context(e, describe))?)
            }
            None => {
                let d = s.diagonal_as_csc();
                d.values()
                    .iter()
                    .try_for_each(|&v| validate::positive("residual precision", v))?;
                Whitener::Diagonal(d.values().iter().map(|v| v.sqrt().recip()).collect())
            }
        };
        Ok(Operators {
            lu,
            whitener,
            mass: st.lumped_mass().clone(),
        })
    }

    /// One step of the backward recursion at stacked step `k`: the alive columns of `w`
    /// ($n \times m$, observations `first..m`) become $D^{-\top}(MW + E_k)$, `first` moving
    /// to the first observation at step `k`. Returns the alive count.
    fn step_back(
        &self,
        ops: &Operators,
        points: &Points,
        w: &mut [f64],
        first: &mut usize,
        k: usize,
    ) -> Result<usize> {
        let (n, m) = (self.mesh.n_nodes(), points.steps.len());
        for col in w[*first * n..].chunks_exact_mut(n) {
            col.iter_mut()
                .zip(ops.mass.iter())
                .for_each(|(v, &d)| *v *= d);
        }
        let new = *first;
        while *first > 0 && points.steps[*first - 1] == k {
            *first -= 1;
        }
        for j in *first..new {
            let col = &mut w[j * n..(j + 1) * n];
            col.fill(0.0);
            let a = points.weights.col(j);
            for (&i, &v) in a.row_indices().iter().zip(a.values()) {
                col[i] = v;
            }
        }
        let alive = m - *first;
        in_parallel(&mut w[*first * n..], n, |cols, c| {
            ops.lu.solve_transpose_in_place(cols, c);
            Ok(())
        })?;
        Ok(alive)
    }

    /// $C = AQ^{-1}A^\top$, the covariance of the field at the observations, by the
    /// backward sweep of the [module docs](self) (the full symmetric matrix), with copies
    /// of $W_k$ at the steps $k = 1 + jL$ ($j \ge 1$) for the adjoint when `every` $= L$.
    fn covariance(
        &self,
        ops: &Operators,
        points: &Points,
        every: Option<usize>,
    ) -> Result<(Mat<f64>, Vec<Block>)> {
        let (n, m) = (self.mesh.n_nodes(), points.steps.len());
        let (mut w, mut y) = (vec![0.0; n * m], vec![0.0; n * m]);
        let mut sigma = Mat::<f64>::zeros(m, m);
        let mut checkpoints = Vec::new();
        // Observations first..m are alive (at or after step k; times are sorted).
        let mut first = m;
        for k in (1..=points.total()).rev() {
            let alive = self.step_back(ops, points, &mut w, &mut first, k)?;
            if every.is_some_and(|l| k > 1 && (k - 1) % l == 0) {
                checkpoints.push(Block {
                    step: k,
                    first,
                    w: w[first * n..].to_vec(),
                });
            }
            if alive == 0 {
                continue;
            }
            let y = &mut y[..n * alive];
            in_parallel_pair(&mut w[first * n..], y, n, |wc, yc, c| {
                ops.whitener.whiten(wc, c, yc, n)
            })?;
            let y = MatRef::from_column_major_slice(y, n, alive);
            add_lower_gram(sigma.as_mut().submatrix_mut(first, first, alive, alive), y);
        }
        for j in 0..m {
            for i in 0..j {
                sigma[(i, j)] = sigma[(j, i)];
            }
        }
        Ok((sigma, checkpoints))
    }

    /// The adjoint sweep of the [module docs](self): with $F_k = S^{-1}W_kR$ and
    /// $\Lambda_k = D^{-1}(F_k + M\Lambda_{k-1})$ (forward in time, on the columns alive at
    /// step $k$), the products $\sum_k W_k\Lambda_k^\top$ on the pattern of $D$ and
    /// $\sum_k F_k Z_k^\top$, $Z_k = S^{-1}W_k$, on that of $S$. The $W_k$ are recomputed
    /// segment by segment from the `checkpoints` (every `every` steps).
    fn adjoint(
        &self,
        ops: &Operators,
        r: &Mat<f64>,
        checkpoints: &[Block],
        every: usize,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let points = &self.points;
        let (n, m, total) = (self.mesh.n_nodes(), self.y.len(), points.total());
        let mut pd = vec![0.0; self.step_pattern.nnz()];
        let mut ps = vec![0.0; self.residual_pattern.nnz()];
        let (mut w, mut lambda) = (vec![0.0; n * m], vec![0.0; n * m]);
        let (mut z, mut f) = (vec![0.0; n * m], vec![0.0; n * m]);
        let mut lo = 1;
        while lo <= total {
            let hi = (lo + every - 1).min(total);
            // W at step hi + 1, then the segment's W_k recomputed backwards.
            let mut first = m;
            if hi < total {
                let cp = checkpoints
                    .iter()
                    .find(|b| b.step == hi + 1)
                    .ok_or_else(|| Error::degenerate("adjoint sweep", "a checkpoint is missing"))?;
                first = cp.first;
                w[first * n..].copy_from_slice(&cp.w);
            }
            let mut segment = Vec::with_capacity(hi + 1 - lo);
            for k in (lo..=hi).rev() {
                self.step_back(ops, points, &mut w, &mut first, k)?;
                segment.push(Block {
                    step: k,
                    first,
                    w: w[first * n..].to_vec(),
                });
            }
            for block in segment.iter().rev() {
                let (fk, c) = (block.first, m - block.first);
                if c == 0 {
                    continue;
                }
                let (zk, fk_buf) = (&mut z[..n * c], &mut f[..n * c]);
                zk.copy_from_slice(&block.w);
                in_parallel(zk, n, |cols, k| ops.whitener.solve(cols, k, n))?;
                let zk = &*zk;
                // F = Z R on the alive columns.
                let r_alive = r.as_ref().submatrix(fk, fk, c, c);
                in_parallel_indexed(fk_buf, n, |cols, j0, k| {
                    matmul(
                        MatMut::from_column_major_slice_mut(cols, n, k),
                        Accum::Replace,
                        MatRef::from_column_major_slice(zk, n, c),
                        r_alive.subcols(j0, k),
                        1.0,
                        Par::Seq,
                    );
                    Ok(())
                })?;
                add_pattern_products(&self.residual_pattern, fk_buf, zk, n, &mut ps);
                // Lambda_k = D^-1 (F_k + M Lambda_{k-1}).
                let lk = &mut lambda[fk * n..];
                for (lc, fc) in lk.chunks_exact_mut(n).zip(fk_buf.chunks_exact(n)) {
                    for ((l, &fv), &d) in lc.iter_mut().zip(fc).zip(ops.mass.iter()) {
                        *l = d * *l + fv;
                    }
                }
                in_parallel(lk, n, |cols, k| {
                    ops.lu.solve_in_place(cols, k);
                    Ok(())
                })?;
                add_pattern_products(&self.step_pattern, &block.w, lk, n, &mut pd);
            }
            lo = hi + 1;
        }
        Ok((pd, ps))
    }
}

/// Fields given by basis coefficients, for the likelihood, its gradient in them and their
/// estimation ([`SweepObservations::log_likelihood_with_basis`],
/// [`SweepObservations::maximum_likelihood_with_basis`]): the columns of `basis` ($n \times K$,
/// node values) expand the advection offsets when `advection` (coefficients $a_x$ then $a_y$)
/// and the logarithm of the diffusion scale when `diffusion` (coefficients $b$), as
/// [`Fields::from_basis`]; the coefficients are stacked $(a_x, a_y, b)$.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldBasis {
    /// The basis functions' node values, one column each.
    pub basis: DMatrix<f64>,
    /// Expand the advection offsets $\delta\gamma = (Ba_x, Ba_y)$.
    pub advection: bool,
    /// Expand the log diffusion scale $\log d = Bb$.
    pub diffusion: bool,
}

impl FieldBasis {
    /// The number of coefficients.
    pub fn len(&self) -> usize {
        self.basis.ncols() * (2 * usize::from(self.advection) + usize::from(self.diffusion))
    }

    /// No coefficients.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fields at `coefficients`.
    ///
    /// # Errors
    /// Coefficients of another length than [`Self::len`], or non-finite values.
    pub fn fields(&self, coefficients: &[f64]) -> Result<Fields> {
        validate::len("field coefficients", self.len(), coefficients.len())?;
        let k = self.basis.ncols();
        let (advection, rest) = if self.advection {
            (
                Some((&coefficients[..k], &coefficients[k..2 * k])),
                &coefficients[2 * k..],
            )
        } else {
            (None, coefficients)
        };
        Fields::from_basis(&self.basis, advection, self.diffusion.then_some(rest))
    }
}

/// A fit of the model's parameters and of the coefficients of a [`FieldBasis`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BasisFit {
    /// The model's parameters (the constant parts of the fields).
    pub fit: SpaceTimeFit,
    /// The estimated coefficients, stacked as [`FieldBasis`] says.
    pub coefficients: Vec<f64>,
    /// Their standard errors; `None` when the observed information is not positive definite.
    pub coefficient_std_errors: Option<Vec<f64>>,
}

/// Generalised least squares on $\Sigma = LL^\top$.
struct Gls {
    llt: Llt<f64>,
    log_det: f64,
    beta: DVector<f64>,
    /// $(X^\top\Sigma^{-1}X)^{-1}$.
    beta_covariance: DMatrix<f64>,
    /// $L^{-1}(y - X\hat\beta)$.
    residual: DVector<f64>,
    /// $L^{-1}X$.
    xt: DMatrix<f64>,
    /// $L^{-1}$ times the extra columns.
    extra: Mat<f64>,
}

/// The factors of one model's matrices for the sweeps.
struct Operators {
    lu: SparseLu,
    whitener: Whitener,
    mass: DVector<f64>,
}

/// Points of the stacked field: node weights (the columns of an $n \times m$ matrix) at
/// stacked steps $k_j$ (burn-in included; non-decreasing).
#[derive(Debug, Clone)]
struct Points {
    weights: CscMatrix<f64>,
    steps: Vec<usize>,
}

impl Points {
    /// The last step $N$, where the backward sweep starts.
    fn total(&self) -> usize {
        self.steps.last().copied().unwrap_or(0)
    }
}

/// The alive columns of $W$ at one step (observations `first..m`), column-major.
struct Block {
    step: usize,
    first: usize,
    w: Vec<f64>,
}

/// The adjoint's segment length $L = \lceil\sqrt N\rceil$ for $N$ steps: $N/L$ checkpoints
/// and $L$ recomputed steps held at once.
fn checkpoint_every(total: usize) -> usize {
    ((total as f64).sqrt().ceil() as usize).max(1)
}

/// $c_k$, the observations alive at stacked steps $k = 1, \dots, N$ (index $k - 1$).
pub(crate) fn alive_counts(times: &[usize], burn_in: usize, total: usize) -> Vec<usize> {
    (1..=total)
        .map(|k| times.len() - times.partition_point(|&t| burn_in + t < k))
        .collect()
}

/// Dense entries of an evaluation without and with the gradient: $W$ and its whitened
/// copy, $\Sigma$, $C$ and their inverse; the gradient adds the checkpoints, a segment and
/// three more $n \times m$ buffers.
fn memory(n: usize, m: usize, alive: &[usize], every: usize) -> [usize; 2] {
    let value = (2 * n * m).saturating_add(4 * m * m);
    let checkpoints: usize = alive
        .iter()
        .enumerate()
        .filter(|(i, _)| *i > 0 && i % every == 0)
        .map(|(_, &c)| c)
        .sum();
    let segment = alive
        .chunks(every)
        .map(|s| s.iter().sum::<usize>())
        .max()
        .unwrap_or(0);
    let gradient = value.saturating_add(n.saturating_mul(checkpoints + segment + 3 * m));
    [value, gradient]
}

/// The threads of the sweep's solves and products: the machine's cores, at most four, and
/// at most one per `per_thread` of the `columns`.
fn threads(columns: usize, per_thread: usize) -> usize {
    thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(4)
        .min(columns / per_thread)
        .max(1)
}

/// $Y = L^{-1}PW$ with $PSP^\top = LL^\top$: $Y^\top Y = W^\top S^{-1}W$.
enum Whitener {
    /// The sparse Cholesky factor of $S$.
    Factor(Cholesky),
    /// $S^{-1/2}$ of a diagonal $S$ (white noise: no permutation, $L = S^{1/2}$).
    Diagonal(Vec<f64>),
}

impl Whitener {
    /// $Y = L^{-1}PW$ for the `k` columns of `w` (`n` rows) into `y`.
    fn whiten(&self, w: &[f64], k: usize, y: &mut [f64], n: usize) -> Result<()> {
        match self {
            Self::Factor(f) => f.factor_inverse_times_into(w, k, y),
            Self::Diagonal(d) => {
                for (yc, wc) in y.chunks_exact_mut(n).zip(w.chunks_exact(n)) {
                    for ((yi, &wi), &di) in yc.iter_mut().zip(wc).zip(d) {
                        *yi = wi * di;
                    }
                }
                Ok(())
            }
        }
    }

    /// $W \leftarrow S^{-1}W$ for the `k` columns of `w` (`n` rows).
    fn solve(&self, w: &mut [f64], k: usize, n: usize) -> Result<()> {
        match self {
            Self::Factor(f) => f.solve_in_place(w, k),
            Self::Diagonal(d) => {
                for wc in w.chunks_exact_mut(n) {
                    for (wi, &di) in wc.iter_mut().zip(d) {
                        *wi *= di * di;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The results of scoped threads, a thread's panic carried on.
pub(crate) fn joined<T>(jobs: Vec<thread::ScopedJoinHandle<'_, T>>) -> Vec<T> {
    jobs.into_iter()
        .map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        .collect()
}

/// Runs `job(columns, first column, count)` on slices of whole columns of `a` (`n` rows
/// each), split over threads.
fn in_parallel_indexed(
    a: &mut [f64],
    n: usize,
    job: impl Fn(&mut [f64], usize, usize) -> Result<()> + Sync,
) -> Result<()> {
    let columns = a.len() / n;
    if columns == 0 {
        return Ok(());
    }
    let per = columns.div_ceil(threads(columns, 16));
    let job = &job;
    thread::scope(|scope| {
        let jobs: Vec<_> = a
            .chunks_mut(per * n)
            .enumerate()
            .map(|(p, cols)| scope.spawn(move || job(cols, p * per, cols.len() / n)))
            .collect();
        joined(jobs).into_iter().try_for_each(|r| r)
    })
}

/// Runs `job(columns, count)` on slices of whole columns of `a` (`n` rows each), split over
/// threads.
fn in_parallel(
    a: &mut [f64],
    n: usize,
    job: impl Fn(&mut [f64], usize) -> Result<()> + Sync,
) -> Result<()> {
    in_parallel_indexed(a, n, |cols, _, k| job(cols, k))
}

/// Runs `job(columns of a, columns of b, count)` on the same whole columns of `a` and `b`
/// (`n` rows each), split over threads.
fn in_parallel_pair(
    a: &mut [f64],
    b: &mut [f64],
    n: usize,
    job: impl Fn(&mut [f64], &mut [f64], usize) -> Result<()> + Sync,
) -> Result<()> {
    let columns = a.len() / n;
    if columns == 0 {
        return Ok(());
    }
    let per = columns.div_ceil(threads(columns, 16));
    let job = &job;
    thread::scope(|scope| {
        let jobs: Vec<_> = a
            .chunks_mut(per * n)
            .zip(b.chunks_mut(per * n))
            .map(|(ac, bc)| scope.spawn(move || job(ac, bc, ac.len() / n)))
            .collect();
        joined(jobs).into_iter().try_for_each(|r| r)
    })
}

/// Adds $\sum_c A_{ic}B_{jc}$ to `p` for each entry $(i, j)$ of the CSC `pattern`, over the
/// columns of `a` and `b` ($n$ rows each), the columns split over threads.
fn add_pattern_products(pattern: &SparsityPattern, a: &[f64], b: &[f64], n: usize, p: &mut [f64]) {
    let columns = a.len() / n;
    let per = columns.div_ceil(threads(columns, 16)).max(1);
    let (offsets, rows) = (pattern.major_offsets(), pattern.minor_indices());
    let partial = |a: &[f64], b: &[f64]| {
        let mut acc = vec![0.0; rows.len()];
        for (ac, bc) in a.chunks_exact(n).zip(b.chunks_exact(n)) {
            for (j, &bj) in bc.iter().enumerate() {
                if bj == 0.0 {
                    continue;
                }
                for e in offsets[j]..offsets[j + 1] {
                    acc[e] += ac[rows[e]] * bj;
                }
            }
        }
        acc
    };
    let partial = &partial;
    let sums: Vec<Vec<f64>> = thread::scope(|scope| {
        let jobs: Vec<_> = a
            .chunks(per * n)
            .zip(b.chunks(per * n))
            .map(|(ac, bc)| scope.spawn(move || partial(ac, bc)))
            .collect();
        joined(jobs)
    });
    for acc in sums {
        p.iter_mut().zip(acc).for_each(|(p, v)| *p += v);
    }
}

/// Adds the lower triangle of $Y^\top Y$ to `dst` ($c \times c$, $Y$ $n \times c$), the
/// columns split over up to four threads in slices of equal work.
fn add_lower_gram(dst: MatMut<'_, f64>, y: MatRef<'_, f64>) {
    let c = y.ncols();
    let parts = threads(c, 64);
    if parts == 1 {
        add_lower_columns(dst, y, 0, c);
        return;
    }
    // Column j of the triangle holds c - j entries: the first p/t of the work ends where
    // (c - j)^2 = (1 - p/t) c^2.
    let bounds: Vec<usize> = (0..=parts)
        .map(|p| {
            let left = 1.0 - p as f64 / parts as f64;
            ((c as f64) * (1.0 - left.sqrt())).round() as usize
        })
        .collect();
    thread::scope(|scope| {
        let mut rest = dst;
        for p in 0..parts {
            let (j0, j1) = (bounds[p], bounds[p + 1]);
            let (part, right) = rest.split_at_col_mut(j1 - j0);
            rest = right;
            scope.spawn(move || add_lower_columns(part, y, j0, j1));
        }
    });
}

/// Adds columns `j0..j1` of the lower triangle of $Y^\top Y$ to `dst` (those columns, all
/// $c$ rows).
fn add_lower_columns(dst: MatMut<'_, f64>, y: MatRef<'_, f64>, j0: usize, j1: usize) {
    let (c, width) = (y.ncols(), j1 - j0);
    if width == 0 {
        return;
    }
    let (_, lower) = dst.split_at_row_mut(j0);
    let (square, below) = lower.split_at_row_mut(width);
    let yj = y.subcols(j0, width);
    triangular_matmul(
        square,
        BlockStructure::TriangularLower,
        Accum::Add,
        yj.transpose(),
        BlockStructure::Rectangular,
        yj,
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
    matmul(
        below,
        Accum::Add,
        y.subcols(j1, c - j1).transpose(),
        yj,
        1.0,
        Par::Seq,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spacetime_likelihood::SpaceTimeObservations;
    use crate::testing::wrapped_line;

    #[allow(clippy::type_complexity)]
    fn setup() -> (
        Mesh,
        AdvectionDiffusion,
        DMatrix<f64>,
        Vec<usize>,
        DVector<f64>,
        DMatrix<f64>,
    ) {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 6, 5).unwrap();
        let model = AdvectionDiffusion::from_range_sigma(0.5, 1.3, [1.5, -0.7]).unwrap();
        // 150 observations, 10 at each of 15 steps (some steps without any).
        let locations = wrapped_line(150, 3.0);
        let times: Vec<usize> = (0..150).map(|i| 1 + (i / 10) + (i / 50)).collect();
        let y = DVector::from_fn(150, |i, _| ((i as f64) * 0.71).sin() + 0.3);
        let x = DMatrix::from_fn(150, 2, |i, j| if j == 0 { 1.0 } else { locations[(i, 1)] });
        (mesh, model, locations, times, y, x)
    }

    /// The data of `setup` on both routes, with time step `dt` and `burn_in` steps.
    fn both_routes(
        dt: f64,
        burn_in: usize,
    ) -> (AdvectionDiffusion, SweepObservations, SpaceTimeObservations) {
        let (mesh, model, locations, times, y, x) = setup();
        let swept = SweepObservations::new(
            &mesh,
            dt,
            &model,
            &locations,
            &times,
            y.clone(),
            x.clone(),
            burn_in,
        )
        .unwrap();
        let joint =
            SpaceTimeObservations::new(&mesh, dt, &model, &locations, &times, y, x, burn_in)
                .unwrap();
        (model, swept, joint)
    }

    /// Both routes on the same data: log-likelihood, GLS coefficients and gradient.
    fn assert_routes_agree(
        swept: &SweepObservations,
        joint: &SpaceTimeObservations,
        model: &AdvectionDiffusion,
        s: f64,
    ) {
        let a = swept.log_likelihood(model, s, true).unwrap();
        let b = joint.log_likelihood(model, s, true).unwrap();
        let scale = b.log_likelihood.abs().max(1.0);
        assert!(
            (a.log_likelihood - b.log_likelihood).abs() < 1e-10 * scale,
            "{} vs {}",
            a.log_likelihood,
            b.log_likelihood
        );
        assert!((&a.beta - &b.beta).amax() < 1e-9);
        assert!((&a.beta_covariance - &b.beta_covariance).amax() < 1e-9);
        // Both gradients difference the assembled matrices at a step of 1e-5 (the same
        // differences, contracted by different algebra).
        let (ga, gb) = (a.gradient.unwrap(), b.gradient.unwrap());
        let norm = gb.iter().fold(1.0_f64, |m, g| m.max(g.abs()));
        assert_eq!(ga.len(), gb.len());
        for k in 0..gb.len() {
            assert!(
                (ga[k] - gb[k]).abs() < 1e-8 * norm,
                "coordinate {k}: {ga:?} vs {gb:?}"
            );
        }
    }

    #[test]
    fn equals_the_joint_route() {
        let (model, swept, joint) = both_routes(0.1, 3);
        assert_routes_agree(&swept, &joint, &model, 0.3);
        assert_routes_agree(
            &swept,
            &joint,
            &model.with_range_sigma(0.3, 0.7).unwrap(),
            0.05,
        );
        // The anisotropy's two further coordinates, on the isotropic template's patterns.
        let (swept, joint) = (swept.estimating_anisotropy(), joint.estimating_anisotropy());
        assert_routes_agree(
            &swept,
            &joint,
            &model.with_anisotropy([-0.5, 0.8]).unwrap(),
            0.2,
        );
    }

    #[test]
    fn equals_the_joint_route_with_fields_and_white_noise() {
        let (mesh, _, locations, times, y, _) = setup();
        let model = AdvectionDiffusion {
            alpha: 2,
            noise_alpha: 0,
            ..AdvectionDiffusion::from_range_sigma(0.4, 1.0, [0.5, 1.0]).unwrap()
        };
        let n = mesh.n_nodes();
        let fields = Fields {
            advection: Some((0..n).map(|i| [(i as f64 * 0.3).sin(), 0.5]).collect()),
            diffusion_scale: Some((0..n).map(|i| 1.0 + 0.5 * (i as f64 * 0.7).cos()).collect()),
        };
        let x = DMatrix::from_element(y.len(), 1, 1.0);
        let swept = SweepObservations::new(
            &mesh,
            0.05,
            &model,
            &locations,
            &times,
            y.clone(),
            x.clone(),
            0,
        )
        .unwrap()
        .with_fields(fields.clone())
        .unwrap();
        let joint = SpaceTimeObservations::new(&mesh, 0.05, &model, &locations, &times, y, x, 0)
            .unwrap()
            .with_fields(fields)
            .unwrap();
        assert_routes_agree(&swept, &joint, &model, 0.2);
    }

    #[test]
    fn kriging_and_forecasts_equal_the_joint_route() {
        let (model, swept, joint) = both_routes(0.1, 2);
        let (locations, s) = (setup().2, 0.25);
        // Observed places and steps, new ones, ties with observations, and forecasts up to
        // five steps past the last observed step (17), in no order.
        let at = DMatrix::from_row_slice(
            6,
            2,
            &[
                0.3,
                0.3,
                0.7,
                0.2,
                locations[(0, 0)],
                locations[(0, 1)],
                0.5,
                0.5,
                0.9,
                0.8,
                0.1,
                0.6,
            ],
        );
        let steps = [18, 3, 1, 17, 22, 9];
        let x0 = DMatrix::from_fn(6, 2, |i, j| if j == 0 { 1.0 } else { at[(i, 1)] });
        let a = swept.krige(&model, s, &at, &steps, &x0).unwrap();
        let b = joint.krige(&model, s, &at, &steps, &x0).unwrap();
        assert_eq!(a.horizon, 5);
        assert_eq!(a.horizon, b.horizon);
        assert!(
            (&a.mean - &b.mean).amax() < 1e-9,
            "{} vs {}",
            a.mean,
            b.mean
        );
        assert!((&a.sd - &b.sd).amax() < 1e-9, "{} vs {}", a.sd, b.sd);
        assert!((&a.sd_observation - &b.sd_observation).amax() < 1e-9);
        assert!((&a.beta - &b.beta).amax() < 1e-9);
        // Bad predictions are refused.
        assert!(swept.krige(&model, s, &at, &steps[1..], &x0).is_err());
        assert!(
            swept
                .krige(&model, s, &at, &[0, 1, 1, 1, 1, 1], &x0)
                .is_err()
        );
        assert!(
            swept
                .krige(&model, s, &at, &steps, &x0.columns(0, 1).into_owned())
                .is_err()
        );
        let outside = DMatrix::from_element(6, 2, 3.0);
        assert!(swept.krige(&model, s, &outside, &steps, &x0).is_err());
    }

    #[test]
    fn adjoint_products_give_the_exact_derivative_in_sigma() {
        // d S / d log sigma = -2 S and D does not move, so the S-products of the adjoint
        // must give d tr(R C) / d log sigma = 2 tr(R C) for any symmetric R: sum S o P_S.
        let (mesh, model, locations, times, y, x) = setup();
        let swept =
            SweepObservations::new(&mesh, 0.1, &model, &locations, &times, y, x, 4).unwrap();
        let ops = swept.operators(&model, &Fields::default(), "test").unwrap();
        let every = checkpoint_every(swept.points.total());
        let (c, checkpoints) = swept.covariance(&ops, &swept.points, Some(every)).unwrap();
        let m = c.nrows();
        let r = Mat::<f64>::from_fn(m, m, |i, j| {
            ((i * j) as f64 * 0.013).cos() / (1 + i + j) as f64
        });
        let (_, ps) = swept.adjoint(&ops, &r, &checkpoints, every).unwrap();
        let (_, s) = swept.values(&model, &Fields::default()).unwrap();
        let adjoint: f64 = s.iter().zip(&ps).map(|(s, p)| s * p).sum();
        let direct: f64 = (0..m)
            .map(|j| (0..m).map(|i| r[(i, j)] * c[(i, j)]).sum::<f64>())
            .sum();
        assert!(
            (adjoint - direct).abs() < 1e-10 * direct.abs(),
            "{adjoint} vs {direct}"
        );
    }

    #[test]
    fn basis_gradient_equals_central_differences() {
        let (mesh, model, locations, times, y, x) = setup();
        let swept =
            SweepObservations::new(&mesh, 0.1, &model, &locations, &times, y, x, 2).unwrap();
        let nodes = mesh.nodes();
        let basis = FieldBasis {
            basis: DMatrix::from_fn(mesh.n_nodes(), 2, |i, j| {
                let [u, v] = nodes[i];
                if j == 0 { u - 0.5 } else { (v - 0.5) * u }
            }),
            advection: true,
            diffusion: true,
        };
        assert_eq!(basis.len(), 6);
        let w = [3.0, -2.0, 1.0, 0.5, 0.3, -0.2];
        let s = 0.3;
        let ll = |w: &[f64]| {
            swept
                .log_likelihood_with_basis(&model, s, &basis, w, false)
                .unwrap()
                .0
                .log_likelihood
        };
        let (e, g) = swept
            .log_likelihood_with_basis(&model, s, &basis, &w, true)
            .unwrap();
        let g = g.unwrap();
        assert!((e.log_likelihood - ll(&w)).abs() < 1e-12 * ll(&w).abs());
        // Central differences of the log-likelihood itself (step 1e-4: truncation about
        // 1e-8 of the curvature, rounding about 1e-12 / 1e-4).
        let h = 1e-4;
        let norm = g.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
        for j in 0..6 {
            let (mut up, mut down) = (w, w);
            up[j] += h;
            down[j] -= h;
            let fd = (ll(&up) - ll(&down)) / (2.0 * h);
            assert!(
                (g[j] - fd).abs() < 1e-6 * norm,
                "coefficient {j}: {} vs {fd}",
                g[j]
            );
        }
        // Zero coefficients are no fields; the model's gradient is unchanged by the basis.
        let (zero, _) = swept
            .log_likelihood_with_basis(&model, s, &basis, &[0.0; 6], true)
            .unwrap();
        let plain = swept.log_likelihood(&model, s, true).unwrap();
        assert!(
            (zero.log_likelihood - plain.log_likelihood).abs() < 1e-12 * plain.log_likelihood.abs()
        );
        let (gz, gp) = (zero.gradient.unwrap(), plain.gradient.unwrap());
        assert!(
            gz.iter()
                .zip(&gp)
                .all(|(a, b)| (a - b).abs() < 1e-12 * b.abs().max(1.0))
        );
        // Bad coefficients and bases are refused.
        assert!(
            swept
                .log_likelihood_with_basis(&model, s, &basis, &w[..5], false)
                .is_err()
        );
        let short = FieldBasis {
            basis: DMatrix::zeros(5, 2),
            ..basis.clone()
        };
        assert!(
            swept
                .log_likelihood_with_basis(&model, s, &short, &w, false)
                .is_err()
        );
        let mut nan = w;
        nan[2] = f64::NAN;
        assert!(
            swept
                .log_likelihood_with_basis(&model, s, &basis, &nan, false)
                .is_err()
        );
    }

    #[test]
    fn basis_fits_reach_the_plain_maximum_and_a_stationary_point() {
        let (mesh, model, locations, times, y, x) = setup();
        let swept =
            SweepObservations::new(&mesh, 0.1, &model, &locations, &times, y, x, 2).unwrap();
        let start = model.with_range_sigma(0.4, 1.0).unwrap();
        // No coefficients: the rescaled optimiser reaches the plain fit's maximum.
        let empty = FieldBasis {
            basis: DMatrix::zeros(mesh.n_nodes(), 0),
            advection: true,
            diffusion: true,
        };
        let plain = swept.maximum_likelihood(&start, 0.3, 200, 1e-6).unwrap();
        let rescaled = swept
            .maximum_likelihood_with_basis(&start, 0.3, &empty, &[], 200, 1e-6)
            .unwrap();
        assert!(plain.converged && rescaled.fit.converged);
        let (a, b) = (plain.log_likelihood, rescaled.fit.log_likelihood);
        assert!((a - b).abs() < 1e-6 * a.abs(), "{a} vs {b}");
        // One advection coefficient, started at the plain fit (the nested model: it can
        // only gain): converged, where its gradient vanishes.
        let nodes = mesh.nodes();
        let basis = FieldBasis {
            basis: DMatrix::from_fn(mesh.n_nodes(), 1, |i, _| nodes[i][1] - 0.5),
            advection: true,
            diffusion: false,
        };
        let fit = swept
            .maximum_likelihood_with_basis(
                &plain.model,
                plain.noise_sd,
                &basis,
                &[0.0, 0.0],
                200,
                1e-6,
            )
            .unwrap();
        assert!(fit.fit.converged, "{}", fit.fit.termination);
        assert!(fit.fit.log_likelihood >= plain.log_likelihood - 1e-9);
        let (_, g) = swept
            .log_likelihood_with_basis(
                &fit.fit.model,
                fit.fit.noise_sd,
                &basis,
                &fit.coefficients,
                true,
            )
            .unwrap();
        let n = swept.y.len() as f64;
        assert!(
            g.unwrap().iter().all(|g| g.abs() < 1e-3 * n),
            "{:?}",
            fit.coefficients
        );
        // (These data are not the model's: their information in the coefficient need not
        // be positive definite, and the standard errors are checked on simulated data in
        // the gmrf-st suite instead.)
        assert!(
            swept
                .maximum_likelihood_with_basis(&start, 0.3, &basis, &[0.0], 200, 1e-6)
                .is_err()
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let (mesh, model, locations, times, y, x) = setup();
        let new = |times: &[usize], y: DVector<f64>, x: DMatrix<f64>| {
            SweepObservations::new(&mesh, 0.1, &model, &locations, times, y, x, 0)
        };
        // Unsorted and zero steps, mismatched lengths.
        let mut unsorted = times.clone();
        unsorted.swap(0, 149);
        assert!(new(&unsorted, y.clone(), x.clone()).is_err());
        let mut zero = times.clone();
        zero[0] = 0;
        assert!(new(&zero, y.clone(), x.clone()).is_err());
        assert!(new(&times[1..], y.clone(), x.clone()).is_err());
        // Non-finite responses, collinear covariates.
        let mut nan = y.clone();
        nan[3] = f64::NAN;
        assert!(new(&times, nan, x.clone()).is_err());
        let collinear = DMatrix::from_element(150, 2, 1.0);
        assert!(new(&times, y.clone(), collinear).is_err());
        // A non-positive noise sd.
        let ok = new(&times, y, x).unwrap();
        assert!(ok.log_likelihood(&model, 0.0, false).is_err());
        assert!(ok.log_likelihood(&model, f64::NAN, false).is_err());
    }
}
