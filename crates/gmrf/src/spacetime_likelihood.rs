//! The exact log-likelihood of observations of an advection–diffusion field at
//! (location, time step) pairs.
//!
//! # Model
//! The field $u_k$ on the mesh nodes follows the implicit-Euler recursion of
//! [`crate::spacetime`] from rest, $u_0 = 0$. Observation $i$ is taken at a point $s_i$ of the
//! mesh and a time step $t_i \ge 1$:
//!
//! $$
//! y_i = x_i^\top\beta + \sum_j A_{ij}\, u_{B + t_i, j} + \varepsilon_i,
//! \qquad \varepsilon_i \sim N(0, s^2),
//! $$
//!
//! with $A$ the barycentric weights of $s_i$ ([`crate::Mesh::observation_matrix`]) and $B$
//! unobserved burn-in steps, so that the observed steps are close to the stationary law
//! rather than to the state at rest (the variance deficit after $B$ steps is the factor
//! $(1 + \kappa^{2\alpha}\Delta t/c)^{-2B}$ on the slowest mode, see
//! [`crate::spacetime::field_on_unit_square`]).
//!
//! # Likelihood
//! Stacking the steps $u = (u_1, \dots, u_{B+T})$, the joint precision $Q$ is the sparse block
//! tridiagonal matrix of [`crate::spacetime::SpaceTime::precision`], and the observation
//! matrix of the stacked field puts row $i$'s weights in block $B + t_i$. The model is then
//! the spatial one of [`crate::likelihood`] on a larger pattern, and the same sparse route
//! gives the exact log-likelihood, the coefficients $\beta$ profiled out by generalised least
//! squares, with one joint factorisation: that of $Q + A^\top A/s^2$. The prior's
//! $\log\det Q$ needs no factor of $Q$: $Q = G^\top(I_N\otimes S)G$ with $G$ block lower
//! bidiagonal ($D$ on its diagonal), so over the $N = B + T$ steps
//!
//! $$
//! \log\det Q = N\log\det S + 2N\log|\det D| = N\log\det(D^\top S D),
//! $$
//!
//! one Cholesky factor of a spatial matrix ([`crate::spacetime::SpaceTime::last_block`]).
//! That halves the cost of the joint route (8.1 s against 19 s for 2,601 nodes x 20 steps);
//! the posterior factor, which fills like a 3D problem's, is what remains.
//!
//! # Gradient
//! In the parameters $\theta = (\log\rho, \log\sigma, \gamma_1, \gamma_2, \log c)$ of the
//! field and $\log s^2$ of the noise, the gradient is the spatial model's
//! ([`crate::likelihood`]): for each $\theta_k$,
//! $\frac12\partial_k\log\det Q - \frac12\operatorname{tr}(Q_p^{-1}Q_k) -
//! \frac12\mu^\top Q_k\mu$ with $Q_k = \partial Q/\partial\theta_k$ and
//! $\partial_k\log\det Q = N\operatorname{tr}((D^\top SD)^{-1}\partial_k(D^\top SD))$, the
//! traces from the selected inverses on the patterns. $Q \propto \sigma^{-2}$ gives
//! $Q_{\log\sigma} = -2Q$ exactly; the other derivatives are central differences of the
//! assembled matrices (step $10^{-5}$, the same patterns; about ten correct digits), so the
//! gradient is exact up to that rounding.
//!
//! **Anisotropy.** With [`SpaceTimeObservations::estimating_anisotropy`] the diffusion
//! tensor's shape is a parameter too: $H = \sqrt{\det H}\thinspace e^{A}$ with $A$ trace
//! free and coordinates $(a, b)$ ([`AdvectionDiffusion::anisotropy`]: range ratio $e^r$,
//! $r = \sqrt{a^2 + b^2}$, longer axis at half the angle of $(a, b)$), appended to $\theta$
//! after $\log s^2$; $\det H$, and with it the meaning of $\rho$ (the geometric mean of the
//! principal ranges) and $\sigma$, stays the start's. The two derivatives are central
//! differences like the others'; $(a, b)$ rather than ratio and angle because the angle is
//! not identified at isotropy, where fits start. On 400 observations of a 169-node field
//! with ratio 2.5 at 30 degrees, the fit from isotropy converges in 63 iterations with
//! $(a, b)$ within 1.5 standard errors of the truth (`tests/spacetime_fit.rs`).
//!
//! # Maximum likelihood
//! [`SpaceTimeObservations::maximum_likelihood`] maximises $\ell$ over $\theta$ and
//! $\log s^2$ with argmin's L-BFGS (the gmrf crate's shared objective: the mean
//! log-likelihood per observation), from a starting model. Standard errors come from the
//! observed information (central differences of the gradient), on the natural scale by the
//! delta method. With the coefficients of spatially varying fields
//! ([`crate::spacetime_sweep::SweepObservations::maximum_likelihood_with_basis`]) each
//! coordinate is first rescaled by the square root of the observed information's diagonal
//! at the start (clamped to $[10^{-3}, 10^3]$): the coefficients' curvatures are
//! $10^{-4}$-$10^{-5}$ of the log-scale parameters', and unscaled L-BFGS did not converge in
//! 300 iterations on a rotating wind where the rescaled one needs 19. (Rescaling the plain
//! model's fits too was tried and left out: on a 72-observation wave it stopped the joint
//! route's L-BFGS unconverged after 23 iterations.)
//!
//! [`fit_space_time`] does it all from raw data, as `uqforge gmrf fit-st`: time steps from
//! the times, a regular mesh over the locations, a starting model and the burn-in.
//!
//! **Size.** The joint route is exact, and limited by the posterior factor: 52,020 unknowns
//! (2,601 nodes x 20 steps) take 8.1 s, 37 s with the gradient, and the time grows like the
//! number of unknowns to the power 2.2-2.3 ([`crate::spacetime::MAX_JOINT_UNKNOWNS`] caps it).
//! A $10^4$-node mesh over 100 steps ($10^6$ unknowns) is beyond it; with up to a few
//! thousand observations, [`crate::spacetime_sweep`] computes the same likelihood in
//! observation space (11 s for that mesh with 1,000 observations).
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_gmrf::Mesh;
//! use uqforge_gmrf::spacetime::AdvectionDiffusion;
//! use uqforge_gmrf::spacetime_likelihood::SpaceTimeObservations;
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 6, 6)?;
//! let model = AdvectionDiffusion::from_range_sigma(0.4, 1.0, [0.5, 0.0])?;
//! let locations = DMatrix::from_row_slice(4, 2, &[0.2, 0.2, 0.7, 0.4, 0.2, 0.2, 0.5, 0.9]);
//! let times = [1, 1, 2, 3];
//! let y = DVector::from_row_slice(&[0.3, -0.1, 0.5, 0.2]);
//! let data = SpaceTimeObservations::new(&mesh, 0.05, &model, &locations, &times, y,
//!     DMatrix::zeros(4, 0), 2)?;
//! let fit = data.log_likelihood(&model, 0.1, true)?;
//! assert!(fit.log_likelihood.is_finite());
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{DMatrix, DVector};
use nalgebra_sparse::{CooMatrix, CscMatrix, pattern::SparsityPattern};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::Mesh;
use crate::SymbolicCholesky;
use crate::kriging::Kriged;
use crate::likelihood::{Coefficients, Core, Observations, PriorDeterminant, in_context};
use crate::optim::Objective;
use crate::selinv::SelectedInverse;
use crate::spacetime::{AdvectionDiffusion, Fields, MAX_JOINT_UNKNOWNS, SpaceTime};
use crate::spacetime_sweep::{SweepObservations, alive_counts};
use crate::sparse::{on_pattern, scatter};

/// Observations of a space-time field, with the structure of their likelihood; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct SpaceTimeObservations {
    mesh: Mesh,
    dt: f64,
    steps: usize,
    burn_in: usize,
    pattern: SparsityPattern,
    /// The pattern of the last block $D^\top S D$ and its analysis.
    block_pattern: SparsityPattern,
    block: SymbolicCholesky,
    /// Spatially varying advection and diffusion held fixed ([`Self::with_fields`]).
    fields: Fields,
    /// The anisotropy of $H$ is a parameter ([`Self::estimating_anisotropy`]).
    anisotropy: bool,
    obs: Observations,
}

/// One evaluation of the space-time log-likelihood.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpaceTimeEvaluation {
    /// $\ell$ at the model and noise, $\beta$ profiled out.
    pub log_likelihood: f64,
    /// The generalised least-squares $\hat\beta$.
    pub beta: DVector<f64>,
    /// Its covariance given the field parameters.
    pub beta_covariance: DMatrix<f64>,
    /// $\partial\ell/\partial(\log\rho, \log\sigma, \gamma_1, \gamma_2, \log c, \log s^2)$,
    /// then $\partial\ell/\partial(a, b)$ when the anisotropy is estimated
    /// ([`SpaceTimeObservations::estimating_anisotropy`]), when asked for.
    pub gradient: Option<Vec<f64>>,
}

/// Standard errors of a space-time fit, from the observed information (the natural-scale
/// ones by the delta method).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpaceTimeStdErrors {
    /// Of $\hat\rho$.
    pub range: f64,
    /// Of $\hat\sigma$.
    pub sigma: f64,
    /// Of $\hat\gamma$.
    pub advection: [f64; 2],
    /// Of $\hat c$.
    pub c: f64,
    /// Of $\hat s$.
    pub noise_sd: f64,
    /// Of the anisotropy coordinates $(\hat a, \hat b)$
    /// ([`AdvectionDiffusion::anisotropy`]), when estimated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anisotropy: Option<[f64; 2]>,
}

/// A maximum-likelihood fit of the space-time model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpaceTimeFit {
    /// The estimated model (range, sigma, advection, c, and the anisotropy when estimated;
    /// the smoothness and $\det H$ of the start).
    pub model: AdvectionDiffusion,
    /// The estimated noise standard deviation.
    pub noise_sd: f64,
    /// $\ell$ at the estimate.
    pub log_likelihood: f64,
    /// GLS coefficients at the estimate.
    pub beta: DVector<f64>,
    /// Their standard errors given the field parameters.
    pub beta_std_errors: DVector<f64>,
    /// `None` when the observed information is not positive definite.
    pub std_errors: Option<SpaceTimeStdErrors>,
    /// L-BFGS iterations.
    pub iterations: u64,
    /// Likelihood evaluations (each with its gradient).
    pub evaluations: usize,
    /// The gradient tolerance was met.
    pub converged: bool,
    /// Why the optimiser stopped.
    pub termination: String,
}

impl SpaceTimeObservations {
    /// Observations `y` at the rows of `locations` (points of `mesh`) and the time steps
    /// `times` ($\ge 1$, in non-decreasing order, one per row), covariates `x` (`n x p`), a
    /// time step `dt` and `burn_in` unobserved steps before the first one. `template` fixes
    /// the structure (the smoothness orders) of the models evaluated later.
    ///
    /// # Errors
    /// No observations; `times` of another length than the rows, a step 0, or steps out of
    /// order; points outside the mesh; non-finite values; a joint field of more than
    /// [`MAX_JOINT_UNKNOWNS`] unknowns; and the checks of the spatial model on `y` and `x`.
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
        let m = mesh.n_nodes();
        let total = burn_in
            .checked_add(steps)
            .and_then(|s| s.checked_mul(m))
            .filter(|&t| t <= MAX_JOINT_UNKNOWNS)
            .ok_or_else(|| {
                Error::invalid_parameter(
                    "time steps",
                    format!(
                        "{} steps of {m} nodes exceed the {MAX_JOINT_UNKNOWNS} unknowns of the joint \
                         precision",
                        burn_in.saturating_add(steps)
                    ),
                )
            })?;
        let a =
            joint_observation_matrix(&mesh.observation_matrix(locations)?, times, burn_in, total);
        let st = SpaceTime::new(mesh, template, dt)?;
        let pattern = st.precision(burn_in + steps)?.pattern().clone();
        let block_pattern = st.last_block().pattern().clone();
        let block = SymbolicCholesky::analyse(&block_pattern)?;
        let obs = Observations::with_known_prior(&pattern, a, y, x)?;
        Ok(Self {
            mesh: mesh.clone(),
            dt,
            steps,
            burn_in,
            pattern,
            block_pattern,
            block,
            fields: Fields::default(),
            anisotropy: false,
            obs,
        })
    }

    /// These observations of a model whose advection and diffusion vary in space by the
    /// fixed `fields` ([`SpaceTime::with_fields`]) on top of the constants the likelihood
    /// evaluates and estimates.
    ///
    /// # Errors
    /// Fields of another length than the mesh's nodes or with invalid values.
    pub fn with_fields(mut self, fields: Fields) -> Result<Self> {
        // The fields live on the mesh's triangles: the patterns do not change.
        check_fields(&self.mesh, self.dt, &fields)?;
        self.fields = fields;
        Ok(self)
    }

    /// These observations with the anisotropy of the diffusion tensor $H$ a parameter: the
    /// gradient gains $\partial\ell/\partial(a, b)$ in the coordinates of
    /// [`AdvectionDiffusion::anisotropy`] (two more derivative matrices, central
    /// differences as the others'), and maximum likelihood estimates them, $\det H$ held at
    /// the start's.
    ///
    /// ```
    /// # use nalgebra::{DMatrix, DVector};
    /// # use uqforge_gmrf::{Mesh, spacetime::AdvectionDiffusion};
    /// # use uqforge_gmrf::spacetime_likelihood::SpaceTimeObservations;
    /// let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 6, 6)?;
    /// let model = AdvectionDiffusion::from_range_sigma(0.4, 1.0, [0.5, 0.0])?
    ///     .with_anisotropy([0.3, -0.2])?;
    /// let locations = DMatrix::from_row_slice(3, 2, &[0.2, 0.2, 0.7, 0.4, 0.5, 0.9]);
    /// let y = DVector::from_row_slice(&[0.3, -0.1, 0.5]);
    /// let data = SpaceTimeObservations::new(&mesh, 0.05, &model, &locations, &[1, 2, 3], y,
    ///     DMatrix::zeros(3, 0), 2)?
    ///     .estimating_anisotropy();
    /// let gradient = data.log_likelihood(&model, 0.1, true)?.gradient.unwrap();
    /// assert_eq!(gradient.len(), 8); // six parameters, then (a, b)
    /// # Ok::<(), uqforge_core::Error>(())
    /// ```
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

    /// Universal kriging of the field of `model` (noise standard deviation `noise_sd`) at
    /// `locations` (`n0 x 2`) and observed-step indices `times` ($\ge 1$, any order), with
    /// covariates `x0` (`n0 x p`): the spatial [`crate::kriging`] formulas on the stacked
    /// field. Steps after the last observed one $T$ are forecasts: the joint precision is
    /// extended to step $\max_i t_i$ (the observations do not change), so the mean of
    /// $u_{T+h}$ is the posterior mean of $u_T$ carried $h$ noise-free steps,
    /// $(D^{-1}M)^h\mu_T$, and its variance adds the noise of the $h$ steps to the carried
    /// uncertainty of $u_T$.
    ///
    /// ```
    /// use nalgebra::{DMatrix, DVector};
    /// use uqforge_gmrf::Mesh;
    /// use uqforge_gmrf::spacetime::AdvectionDiffusion;
    /// use uqforge_gmrf::spacetime_likelihood::SpaceTimeObservations;
    ///
    /// let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 8, 8)?;
    /// let model = AdvectionDiffusion::from_range_sigma(0.4, 1.0, [2.0, 0.0])?;
    /// let locations = DMatrix::from_row_slice(3, 2, &[0.3, 0.5, 0.5, 0.5, 0.7, 0.5]);
    /// let data = SpaceTimeObservations::new(&mesh, 0.05, &model, &locations, &[1, 2, 3],
    ///     DVector::from_row_slice(&[1.0, 1.2, 0.9]), DMatrix::zeros(3, 0), 5)?;
    /// // At an observed (place, step), and one, three and ten steps ahead.
    /// let at = DMatrix::from_row_slice(4, 2, &[0.7, 0.5, 0.7, 0.5, 0.7, 0.5, 0.7, 0.5]);
    /// let p = data.krige(&model, 0.05, &at, &[3, 4, 6, 13], &DMatrix::zeros(4, 0))?;
    /// assert_eq!(p.horizon, 10);
    /// assert!(p.sd[0] < p.sd[1] && p.sd[1] < p.sd[2] && p.sd[2] < p.sd[3]);
    /// # Ok::<(), uqforge_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// `times` of another length than the rows of `locations`, a step 0, points outside the
    /// mesh, covariates of the wrong shape or non-finite, a joint field above
    /// [`MAX_JOINT_UNKNOWNS`] unknowns with the forecast steps, and a factorisation failure.
    pub fn krige(
        &self,
        model: &AdvectionDiffusion,
        noise_sd: f64,
        locations: &DMatrix<f64>,
        times: &[usize],
        x0: &DMatrix<f64>,
    ) -> Result<SpaceTimePrediction> {
        validate::positive("noise_sd", noise_sd)?;
        let horizon = check_prediction_steps(locations.nrows(), times, self.steps)?;
        let m = self.mesh.n_nodes();
        let steps = self.burn_in + self.steps + horizon;
        let total = steps
            .checked_mul(m)
            .filter(|&t| t <= MAX_JOINT_UNKNOWNS)
            .ok_or_else(|| {
                Error::invalid_parameter(
                    "prediction time steps",
                    format!(
                        "a forecast {horizon} steps ahead makes {steps} steps of {m} nodes, \
                         above the {MAX_JOINT_UNKNOWNS} unknowns of the joint precision"
                    ),
                )
            })?;
        let a0 = joint_observation_matrix(
            &self.mesh.observation_matrix(locations)?,
            times,
            self.burn_in,
            total,
        );
        let describe = describe(model, noise_sd)?;
        let extended;
        let (obs, q) = if horizon == 0 {
            (&self.obs, self.precision(model)?.0)
        } else {
            // The same observations on the longer field: A gains empty columns.
            let a = &self.obs.a;
            let mut offsets = a.col_offsets().to_vec();
            offsets.resize(total + 1, a.nnz());
            let a = CscMatrix::try_from_csc_data(
                a.nrows(),
                total,
                offsets,
                a.row_indices().to_vec(),
                a.values().to_vec(),
            )
            .map_err(|e| Error::degenerate("observation matrix", e.to_string()))?;
            let q = SpaceTime::with_fields(&self.mesh, model, self.dt, &self.fields)?
                .precision(steps)?;
            extended = Observations::with_known_prior(
                q.pattern(),
                a,
                self.obs.y.clone(),
                self.obs.x.clone(),
            )?;
            (&extended, q)
        };
        obs.check_prediction(&a0, x0)?;
        let post = obs.posterior_factor(&q, noise_sd, &describe)?;
        let s2 = noise_sd * noise_sd;
        let Kriged { mean, var, beta } = obs.krige_with(&post, s2, &a0, x0)?;
        Ok(SpaceTimePrediction {
            sd: var.map(|v| v.max(0.0).sqrt()),
            sd_observation: var.map(|v| (v.max(0.0) + s2).sqrt()),
            mean,
            beta,
            horizon,
        })
    }

    /// Entries of the Cholesky factor of the joint posterior precision $Q + A^\top A/s^2$,
    /// known from the symbolic analysis: one evaluation holds its values (8 bytes an entry),
    /// twice that with the gradient's selected inverse.
    pub fn posterior_factor_nnz(&self) -> usize {
        self.obs.posterior_factor_nnz()
    }

    /// The log-likelihood of `model` with noise standard deviation `noise_sd`, and its
    /// gradient (see the [module docs](self)) when `gradient` is true.
    ///
    /// # Errors
    /// Invalid model parameters, a model whose joint precision has entries outside the
    /// template's pattern (other smoothness orders), a non-positive `noise_sd`, or a
    /// factorisation failure (the message names the parameters).
    pub fn log_likelihood(
        &self,
        model: &AdvectionDiffusion,
        noise_sd: f64,
        gradient: bool,
    ) -> Result<SpaceTimeEvaluation> {
        let describe = describe(model, noise_sd)?;
        let (q, block) = self.precision(model)?;
        // log det Q = N log det(D'SD) over the N = B + T steps (see SpaceTime::last_block).
        let total = (self.burn_in + self.steps) as f64;
        let block_factor = self
            .block
            .factor(&block)
            .map_err(|e| in_context(e, &describe))?;
        let log_det = total * block_factor.log_determinant();
        let (dqs, prior_derivatives) = if gradient {
            let (dqs, blocks) = self.precision_derivatives(model, &q, &block)?;
            let inverse = SelectedInverse::new(&block_factor)?;
            let traces = blocks
                .iter()
                .map(|db| Ok(total * inverse.trace_product(db)?))
                .collect::<Result<Vec<_>>>()?;
            (dqs, Some(traces))
        } else {
            (Vec::new(), None)
        };
        let prior = PriorDeterminant::Known {
            log_det,
            derivatives: prior_derivatives,
        };
        let factors = self.obs.posterior_factors(q, noise_sd, &describe, prior)?;
        let derivatives = || Ok(dqs.clone());
        let Core {
            log_likelihood,
            gradient,
            beta,
            beta_covariance,
            ..
        } = self.obs.evaluate_factors_with(
            &factors,
            gradient.then_some(&derivatives),
            &Coefficients::Profiled,
        )?;
        // The derivatives' order, noise last, to theta's: noise sixth, then (a, b).
        let gradient = gradient.map(|mut g| {
            let noise = g.remove(g.len() - 1);
            g.insert(5, noise);
            g
        });
        Ok(SpaceTimeEvaluation {
            log_likelihood,
            beta,
            beta_covariance,
            gradient,
        })
    }

    /// Maximises the log-likelihood from `start` (a model and a noise standard deviation);
    /// see the [module docs](self).
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
            self.obs.n_obs(),
            self.anisotropy,
            start,
            start_noise_sd,
            max_iterations,
            gradient_tolerance,
        )
    }

    /// The joint precision of `model` and its last block $D^\top S D$, on the template's
    /// patterns.
    fn precision(&self, model: &AdvectionDiffusion) -> Result<(CscMatrix<f64>, CscMatrix<f64>)> {
        let st = SpaceTime::with_fields(&self.mesh, model, self.dt, &self.fields)?;
        let q = st.precision(self.burn_in + self.steps)?;
        let block = st.last_block();
        Ok((
            on_pattern(&self.pattern, scatter(&self.pattern, &q)?)?,
            on_pattern(&self.block_pattern, scatter(&self.block_pattern, &block)?)?,
        ))
    }

    /// $\partial Q/\partial\theta_k$ and $\partial(D^\top S D)/\partial\theta_k$ for
    /// $\theta = (\log\rho, \log\sigma, \gamma_1, \gamma_2, \log c)$ and $(a, b)$ when the
    /// anisotropy is estimated: exact for $\log\sigma$ (both are proportional to
    /// $\sigma^{-2}$), central differences otherwise.
    fn precision_derivatives(
        &self,
        model: &AdvectionDiffusion,
        q: &CscMatrix<f64>,
        block: &CscMatrix<f64>,
    ) -> Result<Derivatives> {
        let scaled = |a: &CscMatrix<f64>, factor: f64| {
            let mut d = a.clone();
            d.values_mut().iter_mut().for_each(|v| *v *= factor);
            d
        };
        let difference = |pattern: &SparsityPattern, up: &CscMatrix<f64>, down: &CscMatrix<f64>| {
            let values = up
                .values()
                .iter()
                .zip(down.values())
                .map(|(a, b)| (a - b) / (2.0 * DIFFERENCE_STEP))
                .collect();
            on_pattern(pattern, values)
        };
        let (mut joint, mut blocks) = (Vec::with_capacity(7), Vec::with_capacity(7));
        for k in field_parameters(self.anisotropy) {
            if k == 1 {
                joint.push(scaled(q, -2.0));
                blocks.push(scaled(block, -2.0));
                continue;
            }
            let (q_up, b_up) = self.precision(&moved(model, k, DIFFERENCE_STEP)?)?;
            let (q_down, b_down) = self.precision(&moved(model, k, -DIFFERENCE_STEP)?)?;
            joint.push(difference(&self.pattern, &q_up, &q_down)?);
            blocks.push(difference(&self.block_pattern, &b_up, &b_down)?);
        }
        Ok((joint, blocks))
    }
}

/// Maximum likelihood over $(\log\rho, \log\sigma, \gamma_1, \gamma_2, \log c, \log s^2)$,
/// and $(a, b)$ with `anisotropy`, from `start`, `evaluate` (model, noise sd, gradient wanted)
/// being the log-likelihood of `n_obs` observations by either route; see the
/// [module docs](self).
pub(crate) fn maximise(
    evaluate: impl Fn(&AdvectionDiffusion, f64, bool) -> Result<SpaceTimeEvaluation>,
    n_obs: usize,
    anisotropy: bool,
    start: &AdvectionDiffusion,
    start_noise_sd: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
) -> Result<SpaceTimeFit> {
    let evaluate =
        |m: &AdvectionDiffusion, s: f64, _: &[f64], g: bool| Ok((evaluate(m, s, g)?, Vec::new()));
    let start = Start {
        model: start,
        noise_sd: start_noise_sd,
        anisotropy,
        extra: &[],
        precondition: false,
    };
    let (fit, _, _) = maximise_with(evaluate, n_obs, &start, max_iterations, gradient_tolerance)?;
    Ok(fit)
}

/// Where [`maximise_with`] starts.
pub(crate) struct Start<'a> {
    pub(crate) model: &'a AdvectionDiffusion,
    pub(crate) noise_sd: f64,
    /// The anisotropy coordinates $(a, b)$ are parameters, after the noise's.
    pub(crate) anisotropy: bool,
    /// Further parameters $w$ after the model's.
    pub(crate) extra: &'a [f64],
    /// Rescale every coordinate by the square root of the observed information's diagonal
    /// at the start (central differences of the gradient), so that L-BFGS sees curvatures of
    /// order one.
    pub(crate) precondition: bool,
}

/// [`maximise`] with further parameters $w$ after the model's (the coefficients of fields,
/// say): `evaluate(model, noise sd, w, gradient wanted)` returns the evaluation and, with
/// the gradient, $\partial\ell/\partial w$. Returns the fit, the estimated $w$ and their
/// standard errors (`None` when the observed information is not positive definite).
pub(crate) fn maximise_with(
    evaluate: impl Fn(&AdvectionDiffusion, f64, &[f64], bool) -> Result<(SpaceTimeEvaluation, Vec<f64>)>,
    n_obs: usize,
    start: &Start<'_>,
    max_iterations: u64,
    gradient_tolerance: f64,
) -> Result<(SpaceTimeFit, Vec<f64>, Option<Vec<f64>>)> {
    validate::positive("start noise_sd", start.noise_sd)?;
    validate::finite("start coefficients", start.extra)?;
    let model0 = start.model;
    let mut theta0 = vec![
        model0.range()?.ln(),
        model0.sigma()?.ln(),
        model0.advection[0],
        model0.advection[1],
        model0.c.ln(),
        2.0 * start.noise_sd.ln(),
    ];
    // The model's parameters end at `w0`, where the further ones start.
    let w0 = if start.anisotropy {
        theta0.extend(model0.anisotropy());
        8
    } else {
        6
    };
    theta0.extend_from_slice(start.extra);
    let model_at = |t: &[f64]| -> Result<(AdvectionDiffusion, f64)> {
        let mut m = AdvectionDiffusion {
            advection: [t[2], t[3]],
            c: t[4].exp(),
            ..*model0
        };
        if start.anisotropy {
            m = m.with_anisotropy([t[6], t[7]])?;
        }
        Ok((
            m.with_range_sigma(t[0].exp(), t[1].exp())?,
            (0.5 * t[5]).exp(),
        ))
    };
    let f = |t: &[f64]| -> Result<(f64, Vec<f64>)> {
        let (m, s) = model_at(t)?;
        let (e, extra) = evaluate(&m, s, &t[w0..], true)?;
        let mut g = e.gradient.unwrap_or_else(|| vec![f64::NAN; w0]);
        validate::len("gradient entries", w0, g.len())?;
        g.extend(extra);
        Ok((e.log_likelihood, g))
    };
    let k = theta0.len();
    // theta = theta0 + z / d.
    let d = if start.precondition {
        let h = 1e-4;
        (0..k)
            .map(|c| {
                let (mut up, mut down) = (theta0.clone(), theta0.clone());
                up[c] += h;
                down[c] -= h;
                let curvature = -(f(&up)?.1[c] - f(&down)?.1[c]) / (2.0 * h);
                Ok(curvature.abs().sqrt().clamp(1e-3, 1e3))
            })
            .collect::<Result<Vec<f64>>>()?
    } else {
        vec![1.0; k]
    };
    let theta_of = |z: &[f64]| -> Vec<f64> {
        theta0
            .iter()
            .zip(z)
            .zip(&d)
            .map(|((t, z), d)| t + z / d)
            .collect()
    };
    let fz = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
        let (v, g) = f(&theta_of(z))?;
        Ok((v, g.iter().zip(&d).map(|(g, d)| g / d).collect()))
    };
    let objective = Objective::new(&fz, n_obs as f64);
    let outcome = objective.maximise(vec![0.0; k], max_iterations, gradient_tolerance)?;
    let theta = theta_of(&outcome.theta);
    let (model, noise_sd) = model_at(&theta)?;
    let (best, _) = evaluate(&model, noise_sd, &theta[w0..], false)?;
    // Standard errors on theta's scale: cov(theta) = D^-1 cov(z) D^-1.
    let cov = objective
        .inverse_information(&outcome.theta)?
        .map(|c| DMatrix::from_fn(k, k, |r, q| c[(r, q)] / (d[r] * d[q])));
    let ses: Option<Vec<f64>> = cov.map(|c| (0..k).map(|j| c[(j, j)].max(0.0).sqrt()).collect());
    let std_errors = ses.as_ref().map(|se| SpaceTimeStdErrors {
        range: theta[0].exp() * se[0],
        sigma: theta[1].exp() * se[1],
        advection: [se[2], se[3]],
        c: model.c * se[4],
        noise_sd: 0.5 * noise_sd * se[5],
        anisotropy: start.anisotropy.then(|| [se[6], se[7]]),
    });
    let extra_std_errors = ses.map(|se| se[w0..].to_vec());
    Ok((
        SpaceTimeFit {
            model,
            noise_sd,
            log_likelihood: best.log_likelihood,
            beta_std_errors: best.beta_covariance.diagonal().map(f64::sqrt),
            beta: best.beta,
            std_errors,
            iterations: outcome.iterations,
            // The preconditioner's 2k gradients count too.
            evaluations: outcome.evaluations + if start.precondition { 2 * k } else { 0 },
            converged: outcome.converged,
            termination: outcome.termination,
        },
        theta[w0..].to_vec(),
        extra_std_errors,
    ))
}

/// The step of the central differences in $\theta$ (about ten correct digits).
pub(crate) const DIFFERENCE_STEP: f64 = 1e-5;

/// `model` moved by `step` along coordinate `k` of the field's parameters
/// $(\log\rho, \log\sigma, \gamma_1, \gamma_2, \log c, a, b)$ (`k` $\ne 1$: the
/// derivatives in $\log\sigma$ are exact), for central differences.
pub(crate) fn moved(model: &AdvectionDiffusion, k: usize, step: f64) -> Result<AdvectionDiffusion> {
    let mut m = *model;
    match k {
        0 => return m.with_range_sigma(model.range()? * step.exp(), model.sigma()?),
        2 => m.advection[0] += step,
        3 => m.advection[1] += step,
        4 => m.c *= step.exp(),
        _ => {
            let mut ab = model.anisotropy();
            ab[k - 5] += step;
            return m.with_anisotropy(ab);
        }
    }
    Ok(m)
}

/// The coordinates of [`moved`] a gradient covers: the five of the field, and $(a, b)$ with
/// `anisotropy`.
pub(crate) fn field_parameters(anisotropy: bool) -> std::ops::Range<usize> {
    0..if anisotropy { 7 } else { 5 }
}

/// Checks `fields` against `mesh` (their lengths and values) with a neutral model.
pub(crate) fn check_fields(mesh: &Mesh, dt: f64, fields: &Fields) -> Result<()> {
    let template = AdvectionDiffusion::from_range_sigma(1.0, 1.0, [0.0, 0.0])?;
    SpaceTime::with_fields(mesh, &template, dt, fields).map(|_| ())
}

/// Checks the steps `times` of `n0` predictions (one each, $\ge 1$, any order) and returns
/// the forecast horizon past the last observed step `observed`.
pub(crate) fn check_prediction_steps(n0: usize, times: &[usize], observed: usize) -> Result<usize> {
    validate::len("prediction time steps (one per location)", n0, times.len())?;
    if let Some(i) = times.iter().position(|&t| t == 0) {
        return Err(Error::invalid_parameter(
            "prediction time steps",
            format!("prediction {i} is at step 0, the state at rest: steps start at 1"),
        ));
    }
    Ok(times
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .saturating_sub(observed))
}

/// Checks the observed steps `times` of `n` observations (one each, $\ge 1$, in
/// non-decreasing order) and returns the last, $T$.
pub(crate) fn check_steps(n: usize, times: &[usize]) -> Result<usize> {
    validate::len("time steps (one per observation)", n, times.len())?;
    validate::non_empty("time steps", times)?;
    if let Some(i) = times.iter().position(|&t| t == 0) {
        return Err(Error::invalid_parameter(
            "time steps",
            format!("observation {i} is at step 0, the state at rest: steps start at 1"),
        ));
    }
    if let Some(i) = times.windows(2).position(|w| w[1] < w[0]) {
        return Err(Error::invalid_parameter(
            "time steps",
            format!(
                "not in time order: observation {} at step {} follows step {}",
                i + 1,
                times[i + 1],
                times[i]
            ),
        ));
    }
    Ok(times.iter().copied().max().unwrap_or(1))
}

/// The parameters of an evaluation, for error messages.
pub(crate) fn describe(model: &AdvectionDiffusion, noise_sd: f64) -> Result<String> {
    let ab = model.anisotropy();
    let anisotropy = if ab == [0.0, 0.0] {
        String::new()
    } else {
        format!(", anisotropy (a, b) = {ab:?}")
    };
    Ok(format!(
        "range = {}, sigma = {}, advection = {:?}, c = {}{anisotropy}, noise_sd = {noise_sd}",
        model.range()?,
        model.sigma()?,
        model.advection,
        model.c
    ))
}

/// The step $1 + (t - t_0)/\Delta t$ of a time on the grid $t_0 + k\Delta t$, $k \ge 0$;
/// `what` names the time in the error for one off the grid.
fn grid_step(what: &str, t: f64, t0: f64, dt: f64) -> Result<usize> {
    let k = (t - t0) / dt;
    if (k - k.round()).abs() > 1e-6 * k.abs().max(1.0) {
        return Err(Error::invalid_parameter(
            what,
            format!("time {t} is not on the grid {t0} + k dt with dt = {dt}"),
        ));
    }
    Ok(k.round() as usize + 1)
}

/// The observation matrix of the stacked field ($N$ steps of $m$ nodes, `total` $= Nm$
/// columns): row $i$ of `spatial` ($m$ columns) in block $B + t_i$.
fn joint_observation_matrix(
    spatial: &CscMatrix<f64>,
    times: &[usize],
    burn_in: usize,
    total: usize,
) -> CscMatrix<f64> {
    let m = spatial.ncols();
    let mut coo = CooMatrix::new(spatial.nrows(), total);
    for j in 0..m {
        let col = spatial.col(j);
        for (&i, &w) in col.row_indices().iter().zip(col.values()) {
            coo.push(i, (burn_in + times[i] - 1) * m + j, w);
        }
    }
    CscMatrix::from(&coo)
}

/// $\partial Q/\partial\theta_k$ of the joint precision and of its last block.
type Derivatives = (Vec<CscMatrix<f64>>, Vec<CscMatrix<f64>>);

/// Kriging of the advection–diffusion field at (location, time step) pairs
/// ([`SpaceTimeObservations::krige`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpaceTimePrediction {
    /// $\hat f_0 = X_0\hat\beta + A_0\mu$, $\mu$ the posterior mean of the stacked field.
    pub mean: DVector<f64>,
    /// Standard deviation of $\hat f_0 - f_0$ for the noise-free field (universal kriging:
    /// includes the uncertainty of $\hat\beta$).
    pub sd: DVector<f64>,
    /// Standard deviation for a new noisy measurement: $\sqrt{\text{sd}^2 + s^2}$.
    pub sd_observation: DVector<f64>,
    /// The GLS coefficients used.
    pub beta: DVector<f64>,
    /// Steps predicted beyond the last observed one (the forecast horizon).
    pub horizon: usize,
}

/// What [`fit_space_time`] chose and found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpaceTimeReport {
    /// The fit.
    pub fit: SpaceTimeFit,
    /// The time step.
    pub dt: f64,
    /// The observed time steps $T$ (the earliest time is step 1).
    pub steps: usize,
    /// Burn-in steps before the first observed one.
    pub burn_in: usize,
    /// Mesh nodes.
    pub mesh_nodes: usize,
    /// The likelihood's route.
    pub route: Route,
}

/// Maximum likelihood of the advection–diffusion model from observations `y` at the rows of
/// `locations` and the times `times`: [`SpaceTimeData::new`] then [`SpaceTimeData::fit`].
///
/// # Errors
/// As [`SpaceTimeData::new`] and [`SpaceTimeData::fit`].
pub fn fit_space_time(
    locations: &DMatrix<f64>,
    times: &[f64],
    y: &DVector<f64>,
    dt: Option<f64>,
    cells: usize,
    route: Option<Route>,
) -> Result<SpaceTimeReport> {
    SpaceTimeData::new(locations, times, y, dt, cells, route)?.fit()
}

/// The two exact routes to the space-time likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// The joint posterior factor ([`SpaceTimeObservations`]).
    Joint,
    /// The observation-space sweep ([`crate::spacetime_sweep::SweepObservations`]).
    Sweep,
}

impl Route {
    /// The route predicted to be faster for observations at the stacked steps `steps`
    /// (burn-in included, non-decreasing) of a `nodes`-node field. The joint route's time is
    /// modelled as $0.15 (U/8820)^{2.3}$ seconds for $U$ unknowns (and it is impossible above
    /// [`MAX_JOINT_UNKNOWNS`]), the sweep's as $4 \cdot 10^{-11} n \sum_k c_k^2 + 1.6 \cdot
    /// 10^{-8} n \sum_k c_k$ seconds for $n$ nodes and $c_k$ observations alive at step $k$;
    /// both calibrated by hand on this crate's measurements on 2 cores (`docs/benchmarks.md`)
    /// and within a factor of 2 of the measured times from 121 to $10^4$ nodes: enough to
    /// pick the faster route away from the crossover.
    pub fn choose(nodes: usize, steps: &[usize]) -> Route {
        let total = steps.last().copied().unwrap_or(0);
        let unknowns = nodes.saturating_mul(total);
        if unknowns > MAX_JOINT_UNKNOWNS {
            return Route::Sweep;
        }
        let joint = 0.15 * (unknowns as f64 / 8820.0).powf(2.3);
        let (mut squares, mut columns) = (0.0, 0.0);
        for alive in alive_counts(steps, 0, total) {
            let alive = alive as f64;
            squares += alive * alive;
            columns += alive;
        }
        let n = nodes as f64;
        let sweep = 4e-11 * n * squares + 1.6e-8 * n * columns;
        if sweep < joint {
            Route::Sweep
        } else {
            Route::Joint
        }
    }
}

/// Observations on either route.
#[derive(Debug, Clone)]
enum Routed {
    Joint(SpaceTimeObservations),
    Sweep(SweepObservations),
}

/// Raw observations at (location, time) pairs made ready for the space-time model: time
/// steps from the times, a mesh, a starting model and its burn-in (what `uqforge gmrf fit-st`
/// does).
#[derive(Debug, Clone)]
pub struct SpaceTimeData {
    observations: Routed,
    start: AdvectionDiffusion,
    start_noise_sd: f64,
    t0: f64,
    dt: f64,
    mesh_nodes: usize,
}

impl SpaceTimeData {
    /// Observations `y` at the rows of `locations` and the times `times` (non-decreasing, on
    /// a grid of step `dt`; default the smallest positive gap between times; the earliest
    /// time is step 1). The mesh is a regular grid of `cells` x `cells` squares over the
    /// locations' bounding box widened by a fifth of its diagonal; the start is range a fifth
    /// of the diagonal, sigma and noise sd each $\sqrt{\operatorname{var}(y)/2}$, no
    /// advection, $c = 10\kappa^2\Delta t$ (10 % decay per step); the burn-in brings the
    /// start's slowest mode to 1 % of its stationary variance; an intercept is the only
    /// covariate. The likelihood takes `route`, by default the one [`Route::choose`]
    /// predicts faster.
    ///
    /// # Errors
    /// Fewer than three observations, mismatched lengths, non-finite values, times not in
    /// order or off the grid of `dt`, all times equal, coincident locations, and a problem
    /// beyond the route's size cap ([`MAX_JOINT_UNKNOWNS`] unknowns for the joint one,
    /// [`crate::spacetime_sweep::MAX_SWEEP_ENTRIES`] dense entries for the sweep).
    pub fn new(
        locations: &DMatrix<f64>,
        times: &[f64],
        y: &DVector<f64>,
        dt: Option<f64>,
        cells: usize,
        route: Option<Route>,
    ) -> Result<Self> {
        let n = y.len();
        validate::at_least("observations", n, 3)?;
        validate::len("times (one per observation)", n, times.len())?;
        validate::len("locations (rows)", n, locations.nrows())?;
        validate::len("location columns", 2, locations.ncols())?;
        validate::finite("times", times)?;
        validate::finite("locations", locations.as_slice())?;
        validate::finite("responses", y.as_slice())?;
        validate::at_least("cells", cells, 2)?;
        if let Some(i) = times.windows(2).position(|w| w[1] < w[0]) {
            return Err(Error::invalid_parameter(
                "times",
                format!(
                    "not in time order: row {} (time {}) follows time {}",
                    i + 1,
                    times[i + 1],
                    times[i]
                ),
            ));
        }
        let t0 = times[0];
        let dt = match dt {
            Some(dt) => {
                validate::positive("dt", dt)?;
                dt
            }
            None => times
                .windows(2)
                .map(|w| w[1] - w[0])
                .filter(|g| *g > 0.0)
                .fold(f64::INFINITY, f64::min),
        };
        if !dt.is_finite() {
            return Err(Error::degenerate(
                "times",
                "all observations are at one time: no dynamics to fit",
            ));
        }
        let mut steps = Vec::with_capacity(n);
        for &t in times {
            steps.push(grid_step("times", t, t0, dt)?);
        }
        let span = |k: usize| (locations.column(k).min(), locations.column(k).max());
        let ((x0, x1), (y0, y1)) = (span(0), span(1));
        let diagonal = (x1 - x0).hypot(y1 - y0);
        if diagonal <= 0.0 {
            return Err(Error::degenerate("locations", "all locations coincide"));
        }
        let pad = 0.2 * diagonal;
        let mesh = Mesh::regular_grid([x0 - pad, x1 + pad], [y0 - pad, y1 + pad], cells, cells)?;
        let var = y.variance() * n as f64 / (n - 1) as f64;
        let half_sd = (0.5 * var).sqrt().max(1e-8);
        let mut start = AdvectionDiffusion::from_range_sigma(0.2 * diagonal, half_sd, [0.0, 0.0])?;
        start.c = 10.0 * start.kappa.powi(2 * start.alpha as i32) * dt;
        let start = start.with_range_sigma(0.2 * diagonal, half_sd)?;
        // (1 + kappa^(2 alpha) dt / c)^(-2B) = 1 %.
        let burn_in = (100f64.ln() / (2.0 * (1.1f64).ln())).ceil() as usize;
        let x = DMatrix::from_element(n, 1, 1.0);
        let stacked: Vec<usize> = steps.iter().map(|&k| burn_in + k).collect();
        let route = route.unwrap_or_else(|| Route::choose(mesh.n_nodes(), &stacked));
        let data = match route {
            Route::Joint => Routed::Joint(SpaceTimeObservations::new(
                &mesh,
                dt,
                &start,
                locations,
                &steps,
                y.clone(),
                x,
                burn_in,
            )?),
            Route::Sweep => Routed::Sweep(SweepObservations::new(
                &mesh,
                dt,
                &start,
                locations,
                &steps,
                y.clone(),
                x,
                burn_in,
            )?),
        };
        Ok(Self {
            observations: data,
            start,
            start_noise_sd: half_sd,
            t0,
            dt,
            mesh_nodes: mesh.n_nodes(),
        })
    }

    /// These data with the anisotropy of the diffusion tensor estimated too (from the
    /// isotropic start; [`SpaceTimeObservations::estimating_anisotropy`]), as
    /// `uqforge gmrf fit-st --anisotropy`.
    #[must_use]
    pub fn estimating_anisotropy(mut self) -> Self {
        self.observations = match self.observations {
            Routed::Joint(o) => Routed::Joint(o.estimating_anisotropy()),
            Routed::Sweep(o) => Routed::Sweep(o.estimating_anisotropy()),
        };
        self
    }

    /// The likelihood's route.
    pub fn route(&self) -> Route {
        match self.observations {
            Routed::Joint(_) => Route::Joint,
            Routed::Sweep(_) => Route::Sweep,
        }
    }
    /// The time step $\Delta t$.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// The step of time `t`: $1 + (t - t_0)/\Delta t$ with $t_0$ the earliest observation.
    ///
    /// # Errors
    /// A non-finite time, one before $t_0$, or one off the grid $t_0 + k\Delta t$.
    pub fn step_of(&self, t: f64) -> Result<usize> {
        let k = (t - self.t0) / self.dt;
        if !k.is_finite() || k < -1e-6 {
            return Err(Error::invalid_parameter(
                "time",
                format!("{t} is before the first observation time {}", self.t0),
            ));
        }
        grid_step("time", t, self.t0, self.dt)
    }

    /// Maximum likelihood from the starting model ([`SpaceTimeObservations::maximum_likelihood`],
    /// at most 200 iterations, gradient tolerance $10^{-6}$).
    ///
    /// # Errors
    /// The fit's errors.
    pub fn fit(&self) -> Result<SpaceTimeReport> {
        let (start, noise) = (&self.start, self.start_noise_sd);
        let (fit, steps, burn_in) = match &self.observations {
            Routed::Joint(o) => (
                o.maximum_likelihood(start, noise, 200, 1e-6)?,
                o.steps(),
                o.burn_in(),
            ),
            Routed::Sweep(o) => (
                o.maximum_likelihood(start, noise, 200, 1e-6)?,
                o.steps(),
                o.burn_in(),
            ),
        };
        Ok(SpaceTimeReport {
            fit,
            dt: self.dt,
            steps,
            burn_in,
            mesh_nodes: self.mesh_nodes,
            route: self.route(),
        })
    }

    /// Universal kriging of the fitted field at `locations` and times `times` (on the grid of
    /// the data's times, any order; times after the last observation are forecasts):
    /// [`SpaceTimeObservations::krige`] with the intercept.
    ///
    /// # Errors
    /// Times before the first observation or off the grid, and the errors of
    /// [`SpaceTimeObservations::krige`].
    pub fn krige(
        &self,
        fit: &SpaceTimeFit,
        locations: &DMatrix<f64>,
        times: &[f64],
    ) -> Result<SpaceTimePrediction> {
        validate::len(
            "prediction times (one per location)",
            locations.nrows(),
            times.len(),
        )?;
        let steps = times
            .iter()
            .map(|&t| self.step_of(t))
            .collect::<Result<Vec<_>>>()?;
        let x0 = DMatrix::from_element(times.len(), 1, 1.0);
        let (model, noise) = (&fit.model, fit.noise_sd);
        match &self.observations {
            Routed::Joint(o) => o.krige(model, noise, locations, &steps, &x0),
            Routed::Sweep(o) => o.krige(model, noise, locations, &steps, &x0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::dense;

    fn setup() -> (
        Mesh,
        AdvectionDiffusion,
        DMatrix<f64>,
        Vec<usize>,
        DVector<f64>,
        DMatrix<f64>,
    ) {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 5, 4).unwrap();
        let model = AdvectionDiffusion::from_range_sigma(0.5, 1.3, [1.5, -0.7]).unwrap();
        let locations = DMatrix::from_row_slice(
            6,
            2,
            &[0.1, 0.2, 0.8, 0.3, 0.45, 0.55, 0.1, 0.2, 0.9, 0.9, 0.3, 0.7],
        );
        let times = vec![1, 1, 2, 3, 3, 4];
        let y = DVector::from_row_slice(&[0.4, -0.3, 1.1, 0.2, -0.8, 0.5]);
        let x = DMatrix::from_fn(6, 2, |i, j| if j == 0 { 1.0 } else { locations[(i, 0)] });
        (mesh, model, locations, times, y, x)
    }

    /// The observations of `setup` with their time step and burn-in.
    #[allow(clippy::too_many_arguments)]
    fn observed(
        mesh: &Mesh,
        dt: f64,
        model: &AdvectionDiffusion,
        locations: &DMatrix<f64>,
        times: &[usize],
        y: &DVector<f64>,
        x: &DMatrix<f64>,
        burn_in: usize,
    ) -> SpaceTimeObservations {
        SpaceTimeObservations::new(
            mesh,
            dt,
            model,
            locations,
            times,
            y.clone(),
            x.clone(),
            burn_in,
        )
        .unwrap()
    }

    /// The Gaussian log-density of y = X beta + A u + e, u ~ N(0, Q^-1), e ~ N(0, s^2 I), at
    /// the GLS beta, by dense algebra: V = A Q^-1 A' + s^2 I; (log-density, beta).
    fn dense_profile_log_density(
        q: &DMatrix<f64>,
        a: &DMatrix<f64>,
        y: &DVector<f64>,
        x: &DMatrix<f64>,
        s: f64,
    ) -> (f64, DVector<f64>) {
        let n = y.len();
        let v = a * q.clone().try_inverse().unwrap() * a.transpose()
            + DMatrix::identity(n, n) * (s * s);
        let vc = v.cholesky().unwrap();
        let vinv_x = vc.solve(x);
        let beta = (x.transpose() * &vinv_x).try_inverse().unwrap() * (vinv_x.transpose() * y);
        let r = y - x * &beta;
        let log_density = -0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln()
            - vc.l().diagonal().map(f64::ln).sum()
            - 0.5 * r.dot(&vc.solve(&r));
        (log_density, beta)
    }

    #[test]
    fn log_likelihood_equals_the_dense_gaussian_density() {
        let (mesh, model, locations, times, y, x) = setup();
        let (dt, burn_in, s) = (0.1, 2, 0.3);
        let data = observed(&mesh, dt, &model, &locations, &times, &y, &x, burn_in);
        let fit = data.log_likelihood(&model, s, false).unwrap();
        // Dense: V = A Q^-1 A' + s^2 I, beta by GLS, the Gaussian log-density.
        let q = dense(
            &SpaceTime::new(&mesh, &model, dt)
                .unwrap()
                .precision(burn_in + 4)
                .unwrap(),
        );
        let a = dense(&data.obs.a);
        let (exact, beta) = dense_profile_log_density(&q, &a, &y, &x, s);
        assert!(
            (fit.log_likelihood - exact).abs() < 1e-9 * exact.abs(),
            "{} vs {exact}",
            fit.log_likelihood
        );
        assert!((&fit.beta - &beta).norm() < 1e-9);
        // The observation matrix puts the weights in block B + t - 1.
        let m = mesh.n_nodes();
        let row = a.row(2);
        assert!(
            row.iter()
                .enumerate()
                .all(|(j, w)| *w == 0.0 || j / m == burn_in + 1)
        );
    }

    /// With fixed fields (a wind growing to the north, a diffusion scale growing to the east)
    /// the likelihood is still the dense Gaussian density, and its gradient still central
    /// differences.
    #[test]
    fn log_likelihood_with_fields_equals_the_dense_density() {
        let (mesh, model, locations, times, y, x) = setup();
        let (dt, burn_in, s) = (0.1, 1, 0.3);
        let fields = Fields {
            advection: Some(mesh.nodes().iter().map(|p| [4.0 * p[1], 0.0]).collect()),
            diffusion_scale: Some(mesh.nodes().iter().map(|p| 0.5 + p[0]).collect()),
        };
        let data = observed(&mesh, dt, &model, &locations, &times, &y, &x, burn_in)
            .with_fields(fields.clone())
            .unwrap();
        let fit = data.log_likelihood(&model, s, true).unwrap();
        let q = dense(
            &SpaceTime::with_fields(&mesh, &model, dt, &fields)
                .unwrap()
                .precision(burn_in + 4)
                .unwrap(),
        );
        let (exact, _) = dense_profile_log_density(&q, &dense(&data.obs.a), &y, &x, s);
        assert!((fit.log_likelihood - exact).abs() < 1e-9 * exact.abs());
        // The gradient in gamma_1 (the constant part under the field) by central differences.
        let h = 1e-5;
        let at = |d: f64| {
            let m = AdvectionDiffusion {
                advection: [model.advection[0] + d, model.advection[1]],
                ..model
            };
            data.log_likelihood(&m, s, false).unwrap().log_likelihood
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        let g = fit.gradient.unwrap()[2];
        assert!((g - fd).abs() < 1e-5 * (1.0 + fd.abs()), "{g} vs {fd}");
        // Fields must match the mesh.
        let short = Fields {
            advection: Some(vec![[0.0, 0.0]; 2]),
            diffusion_scale: None,
        };
        assert!(data.with_fields(short).is_err());
    }

    /// Kriging and forecasts against dense universal kriging with the joint covariance over
    /// the observed and the forecast steps.
    #[test]
    fn kriging_and_forecasts_equal_dense_universal_kriging() {
        let (mesh, model, locations, times, y, x) = setup();
        let (dt, burn_in, s) = (0.1, 2, 0.3);
        let data = observed(&mesh, dt, &model, &locations, &times, &y, &x, burn_in);
        let m = mesh.n_nodes();
        // Observed steps 1..4, forecasts at 5 and 7; an observed (place, step) among them.
        let at =
            DMatrix::from_row_slice(5, 2, &[0.8, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.6]);
        let at_times = [1, 2, 5, 7, 4];
        let x0 = DMatrix::from_fn(5, 2, |i, j| if j == 0 { 1.0 } else { at[(i, 0)] });
        let p = data.krige(&model, s, &at, &at_times, &x0).unwrap();
        assert_eq!(p.horizon, 3);

        let steps = burn_in + 7;
        let st = SpaceTime::new(&mesh, &model, dt).unwrap();
        let sigma = dense(&st.precision(steps).unwrap()).try_inverse().unwrap();
        let place = |locs: &DMatrix<f64>, ts: &[usize]| {
            let a = dense(&mesh.observation_matrix(locs).unwrap());
            DMatrix::from_fn(ts.len(), steps * m, |i, j| {
                if j / m == burn_in + ts[i] - 1 {
                    a[(i, j % m)]
                } else {
                    0.0
                }
            })
        };
        let a = place(&locations, &times);
        let a0 = place(&at, &at_times);
        let v = &a * &sigma * a.transpose() + DMatrix::identity(6, 6) * (s * s);
        let vinv = v.try_inverse().unwrap();
        let beta_cov = (x.transpose() * &vinv * &x).try_inverse().unwrap();
        let beta = &beta_cov * x.transpose() * &vinv * &y;
        let c0 = &a0 * &sigma * a.transpose(); // Cov(f0, y)
        let mean = &x0 * &beta + &c0 * &vinv * (&y - &x * &beta);
        let u = &x0 - &c0 * &vinv * &x;
        let var = (&a0 * &sigma * a0.transpose() - &c0 * &vinv * c0.transpose()
            + &u * &beta_cov * u.transpose())
        .diagonal();
        for k in 0..5 {
            assert!(
                (p.mean[k] - mean[k]).abs() < 1e-9,
                "{k}: mean {}",
                p.mean[k]
            );
            assert!(
                (p.sd[k] - var[k].sqrt()).abs() < 1e-9,
                "{k}: sd {} vs {}",
                p.sd[k],
                var[k].sqrt()
            );
        }
        // Within the observed steps the forecast machinery is not used.
        let p_obs = data
            .krige(
                &model,
                s,
                &at.rows(0, 2).into_owned(),
                &[1, 2],
                &x0.rows(0, 2).into_owned(),
            )
            .unwrap();
        assert_eq!(p_obs.horizon, 0);
        assert!((p_obs.mean[1] - mean[1]).abs() < 1e-9);
        assert!((p_obs.sd[1] - var[1].sqrt()).abs() < 1e-9);
        // Bad input.
        assert!(data.krige(&model, s, &at, &[1, 2], &x0).is_err());
        assert!(data.krige(&model, s, &at, &[1, 0, 2, 3, 4], &x0).is_err());
        assert!(
            data.krige(&model, s, &at, &at_times, &DMatrix::zeros(5, 1))
                .is_err()
        );
        assert!(
            data.krige(&model, s, &at, &[1, 2, 3, 4, 100_000], &x0)
                .is_err()
        );
    }

    /// The gradient in theta = (log range, log sigma, g1, g2, log c, log s^2), and in the
    /// anisotropy's (a, b) when estimated (data built from the isotropic template: the
    /// anisotropic tensors fill no entry outside its pattern).
    #[test]
    fn gradient_equals_central_differences_of_the_log_likelihood() {
        let (mesh, template, locations, times, y, x) = setup();
        let template = AdvectionDiffusion { c: 2.0, ..template };
        for anisotropy in [false, true] {
            let mut data = SpaceTimeObservations::new(
                &mesh,
                0.1,
                &template,
                &locations,
                &times,
                y.clone(),
                x.clone(),
                2,
            )
            .unwrap();
            let mut model = template;
            if anisotropy {
                data = data.estimating_anisotropy();
                model = model.with_anisotropy([0.4, -0.3]).unwrap();
            }
            let s = 0.3;
            let g = data
                .log_likelihood(&model, s, true)
                .unwrap()
                .gradient
                .unwrap();
            let (range, sigma) = (model.range().unwrap(), model.sigma().unwrap());
            let at = |t: &[f64]| {
                let mut m = AdvectionDiffusion {
                    advection: [t[2], t[3]],
                    c: t[4].exp(),
                    ..model
                };
                if anisotropy {
                    m = m.with_anisotropy([t[6], t[7]]).unwrap();
                }
                let m = m.with_range_sigma(t[0].exp(), t[1].exp()).unwrap();
                data.log_likelihood(&m, (0.5 * t[5]).exp(), false)
                    .unwrap()
                    .log_likelihood
            };
            let mut theta = vec![
                range.ln(),
                sigma.ln(),
                model.advection[0],
                model.advection[1],
                model.c.ln(),
                (s * s).ln(),
            ];
            if anisotropy {
                theta.extend(model.anisotropy());
            }
            assert_eq!(g.len(), theta.len());
            for k in 0..theta.len() {
                let h = 1e-4;
                let (mut up, mut down) = (theta.clone(), theta.clone());
                up[k] += h;
                down[k] -= h;
                let fd = (at(&up) - at(&down)) / (2.0 * h);
                assert!(
                    (g[k] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                    "theta_{k}: {} vs {fd}",
                    g[k]
                );
            }
            // The anisotropy's derivatives are not zero: the test can tell.
            if anisotropy {
                assert!(g[6].abs() > 1e-3 && g[7].abs() > 1e-3, "{g:?}");
            }
        }
    }

    #[test]
    fn another_advection_is_evaluated_on_the_same_pattern() {
        let (mesh, model, locations, times, y, x) = setup();
        let data =
            SpaceTimeObservations::new(&mesh, 0.1, &model, &locations, &times, y, x, 1).unwrap();
        let slower = AdvectionDiffusion {
            advection: [0.0, 0.0],
            ..model
        };
        let (a, b) = (
            data.log_likelihood(&model, 0.3, false)
                .unwrap()
                .log_likelihood,
            data.log_likelihood(&slower, 0.3, false)
                .unwrap()
                .log_likelihood,
        );
        assert!(a.is_finite() && b.is_finite() && a != b);
    }

    #[test]
    fn route_choice_follows_the_measured_crossover() {
        // `per_step` observations at each of `steps` steps after no burn-in.
        let stacked = |steps: usize, per_step: usize| -> Vec<usize> {
            (0..steps * per_step).map(|i| 1 + i / per_step).collect()
        };
        // Measured (2 cores): 441 nodes x 20 steps, 20 a step: sweep 0.11 s, joint 0.23 s;
        // 100 a step: 0.53 s against 0.18 s; 961 x 50, 20 a step: 0.78 s against 5.8 s.
        assert_eq!(Route::choose(441, &stacked(20, 20)), Route::Sweep);
        assert_eq!(Route::choose(441, &stacked(20, 100)), Route::Joint);
        assert_eq!(Route::choose(961, &stacked(50, 20)), Route::Sweep);
        // Beyond the joint route's cap only the sweep remains.
        assert_eq!(Route::choose(10_000, &stacked(100, 200)), Route::Sweep);
    }

    #[test]
    fn bad_time_indices_are_refused() {
        let (mesh, model, locations, times, y, x) = setup();
        let make = |t: &[usize], b: usize| {
            SpaceTimeObservations::new(&mesh, 0.1, &model, &locations, t, y.clone(), x.clone(), b)
        };
        let err = make(&times[..5], 1).unwrap_err().to_string();
        assert!(err.contains("time steps"), "{err}");
        let err = make(&[1, 1, 3, 2, 3, 4], 1).unwrap_err().to_string();
        assert!(err.contains("not in time order"), "{err}");
        let err = make(&[0, 1, 2, 3, 3, 4], 1).unwrap_err().to_string();
        assert!(err.contains("step 0"), "{err}");
        let err = make(&times, 10_000).unwrap_err().to_string();
        assert!(err.contains("unknowns"), "{err}");
        let data = make(&times, 1).unwrap();
        assert!(data.log_likelihood(&model, 0.0, false).is_err());
        assert_eq!((data.steps(), data.burn_in()), (4, 1));
    }
}
