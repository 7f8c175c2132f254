//! The Gaussian observation model $y = X\beta + A x + \varepsilon$ and its exact
//! log-likelihood and gradient.
//!
//! # Model
//!
//! $n$ observations $y$ at locations with observation matrix $A$ ($n \times m$,
//! [`crate::Mesh::observation_matrix`]), covariates $X$ ($n \times p$, possibly $p = 0$), a
//! Matérn SPDE field $x \sim N(0, Q^{-1})$ on the $m$ mesh nodes and noise
//! $\varepsilon \sim N(0, s^2 I)$. Marginally $y \sim N(X\beta, V)$ with
//! $V = A Q^{-1} A^\top + s^2 I$, a dense $n \times n$ matrix that is never formed.
//!
//! # Likelihood through the posterior precision
//!
//! Given $y$, the field has precision $Q_p = Q + A^\top A / s^2$ (sparse, one more pattern) and
//! mean $\mu = Q_p^{-1} A^\top r / s^2$ with $r = y - X\beta$. The matrix determinant lemma and
//! the Woodbury identity turn the dense likelihood into sparse factorisations
//! (Rue and Held 2005, section 2.3; Lindgren et al. 2011, section 4):
//!
//! $$ \ell = -\frac{n}{2}\log 2\pi - n \log s + \frac12\log\det Q - \frac12\log\det Q_p -
//!    \frac12\left(\frac{\lVert r - A\mu\rVert^2}{s^2} + \mu^\top Q \mu\right). $$
//!
//! $\beta$ is profiled out by generalised least squares,
//! $\hat\beta = (X^\top V^{-1} X)^{-1} X^\top V^{-1} y$, with
//! $V^{-1} v = v / s^2 - A Q_p^{-1} A^\top v / s^4$; its covariance given the field parameters
//! is $(X^\top V^{-1} X)^{-1}$. Alternatively ([`Coefficients::Gaussian`],
//! [`GeostatModel::evaluate_with`]) $\beta \sim N(b_0, vI)$ is integrated out: the marginal
//! law is $N(Xb_0, V + vXX^\top)$, and with $W = X^\top V^{-1}X$, $u = X^\top V^{-1}(y - Xb_0)$
//! and $S = (I/v + W)^{-1}$ its log-density is the one at $\beta = b_0$ plus
//! $\frac12 u^\top S u - \frac12\log\det(I + vW)$ (determinant lemma and Woodbury once more,
//! on $p \times p$ matrices).
//!
//! # Gradient
//!
//! For a parameter $\theta$ of $Q$ (with $Q' = \partial Q / \partial\theta$):
//!
//! $$ \frac{\partial\ell}{\partial\theta} = \frac12\operatorname{tr}(Q^{-1}Q') -
//!    \frac12\operatorname{tr}(Q_p^{-1}Q') - \frac12\mu^\top Q'\mu , $$
//!
//! and for the noise, with $\eta = \log s^2$ and $e = r - A\mu$:
//!
//! $$ \frac{\partial\ell}{\partial\eta} = -\frac12\left(n - \frac{\operatorname{tr}(Q_p^{-1}
//!    A^\top A)}{s^2}\right) + \frac{\lVert e\rVert^2}{2 s^2}. $$
//!
//! The traces need only the entries of $Q^{-1}$ and $Q_p^{-1}$ on the patterns of $Q$ and
//! $A^\top A$: the selected inverses of [`crate::selinv`]. In the interpretable parameters
//! ($\kappa = \sqrt{8\nu}/\rho$, $\tau = (\sigma\kappa^\nu\sqrt{4\pi\nu})^{-1}$):
//! $\partial Q / \partial\log\rho = -\partial Q / \partial\log\kappa + 2\nu Q$ and
//! $\partial Q / \partial\log\sigma = -2Q$. Because $\hat\beta$ maximises $\ell$ for fixed
//! field parameters, the same formulas give the gradient of the profile likelihood (envelope
//! theorem).
//!
//! Cost of one evaluation with gradient: two numeric Cholesky factorisations, two selected
//! inverses, $p + 1$ solves.
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_gmrf::{Fem, Mesh, SpdeOperator, likelihood::{GeostatModel, Params}};
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 10, 10)?;
//! let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
//! let locations = DMatrix::from_row_slice(4, 2, &[0.1, 0.1, 0.9, 0.2, 0.5, 0.5, 0.3, 0.8]);
//! let a = mesh.observation_matrix(&locations)?;
//! let y = DVector::from_row_slice(&[1.0, 1.4, 0.7, 1.1]);
//! let intercept = DMatrix::from_element(4, 1, 1.0);
//! let model = GeostatModel::new(&spde, a, y, intercept)?;
//! let fit = model.evaluate(&Params { range: 0.3, sigma: 0.5, noise_sd: 0.2 }, true)?;
//! assert!(fit.log_likelihood.is_finite() && fit.gradient.is_some());
//! assert_eq!(fit.beta.len(), 1);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{DMatrix, DVector};
use nalgebra_sparse::{CscMatrix, pattern::SparsityPattern};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

use crate::factor::{Cholesky, SymbolicCholesky};
use crate::matern::{Matern, SpdeOperator};
use crate::selinv::SelectedInverse;
use crate::sparse::{on_pattern, scatter, union_pattern};

/// Interpretable parameters of the Gaussian geostatistical model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Practical range $\rho = \sqrt{8\nu}/\kappa$.
    pub range: f64,
    /// Marginal standard deviation $\sigma$ of the field.
    pub sigma: f64,
    /// Standard deviation $s$ of the observation noise.
    pub noise_sd: f64,
}

/// One evaluation of the profile log-likelihood.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// The parameters evaluated.
    pub params: Params,
    /// $\ell(\rho, \sigma, s, \hat\beta)$.
    pub log_likelihood: f64,
    /// $\partial\ell / \partial(\log\rho, \log\sigma, \log s^2)$, when asked for.
    pub gradient: Option<[f64; 3]>,
    /// GLS estimate $\hat\beta$.
    pub beta: DVector<f64>,
    /// Covariance $(X^\top V^{-1} X)^{-1}$ of $\hat\beta$ given the field parameters.
    pub beta_covariance: DMatrix<f64>,
    /// Posterior mean $\mu$ of the field at the mesh nodes given $\hat\beta$.
    pub field_mean: DVector<f64>,
}

/// $\log\det Q$ of the prior precision, and how to differentiate it.
pub(crate) enum PriorDeterminant {
    /// A Cholesky factor of $Q$: the log-determinant from its diagonal, the derivatives
    /// $\operatorname{tr}(Q^{-1}Q_k)$ from its selected inverse.
    Factor(Cholesky),
    /// Known without a factor of $Q$ (the space-time prior's, from one spatial block), with
    /// $\partial\log\det Q/\partial\theta_k$ for the parameters of the gradient.
    Known {
        log_det: f64,
        derivatives: Option<Vec<f64>>,
    },
}

impl PriorDeterminant {
    /// The Cholesky factor of $Q$, where there is one.
    pub(crate) fn into_factor(self) -> Result<Cholesky> {
        match self {
            Self::Factor(c) => Ok(c),
            Self::Known { .. } => Err(Error::invalid_parameter(
                "prior",
                "this observation model does not factor the prior precision",
            )),
        }
    }
}

/// Factorisations of one parameter value.
pub(crate) struct Factors {
    pub(crate) q: CscMatrix<f64>,
    pub(crate) prior: PriorDeterminant,
    pub(crate) post: Cholesky,
    pub(crate) s2: f64,
}

/// How the regression coefficients $\beta$ enter the likelihood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Coefficients {
    /// Profiled out by generalised least squares (the maximum over $\beta$).
    Profiled,
    /// Integrated out with the prior $\beta \sim N(b_0, vI)$: the marginal likelihood of
    /// $y \sim N(Xb_0, V + vXX^\top)$ (R-INLA's fixed effects, whose default prior has
    /// $b_0 = 0$, $v = 1000$).
    Gaussian {
        /// Prior mean $b_0$.
        mean: DVector<f64>,
        /// Prior variance $v$ of each coefficient.
        variance: f64,
    },
}

/// What [`GeostatModel::evaluate_factors_with`] returns.
pub(crate) struct Core {
    pub(crate) log_likelihood: f64,
    pub(crate) gradient: Option<Vec<f64>>,
    pub(crate) beta: DVector<f64>,
    pub(crate) beta_covariance: DMatrix<f64>,
    pub(crate) field_mean: DVector<f64>,
}

/// Data and structure of the model $y = X\beta + Ax + \varepsilon$ on one mesh, with the
/// symbolic factorisations of $Q$ and $Q_p$ computed once.
#[derive(Debug, Clone)]
pub struct GeostatModel {
    spde: SpdeOperator,
    pub(crate) obs: Observations,
}

/// The observation side of the model for a field on any precision pattern (a spatial SPDE's,
/// or the joint one of a space-time model): the data, $A$, and the symbolic factorisations of
/// $Q$ and $Q_p = Q + A^\top A/s^2$; the likelihood and its gradient given factorised
/// precisions and their derivatives.
#[derive(Debug, Clone)]
pub(crate) struct Observations {
    /// The analysis of $Q$'s pattern, absent where $\log\det Q$ comes another way.
    prior: Option<SymbolicCholesky>,
    posterior: SymbolicCholesky,
    post_pattern: SparsityPattern,
    /// $A^\top A$ on the posterior pattern.
    ata: CscMatrix<f64>,
    pub(crate) a: CscMatrix<f64>,
    pub(crate) at: CscMatrix<f64>,
    pub(crate) y: DVector<f64>,
    pub(crate) x: DMatrix<f64>,
}

impl GeostatModel {
    /// The model for responses `y`, observation matrix `a` (`n x m`) and covariates `x`
    /// (`n x p`, `p = 0` for none).
    ///
    /// # Errors
    /// Sizes that disagree, no observations, non-finite values, covariates that are linearly
    /// dependent (a singular design), or more covariates than observations.
    pub fn new(
        spde: &SpdeOperator,
        a: CscMatrix<f64>,
        y: DVector<f64>,
        x: DMatrix<f64>,
    ) -> Result<Self> {
        Ok(Self {
            spde: spde.clone(),
            obs: Observations::new(spde.pattern(), a, y, x)?,
        })
    }

    /// Number of observations.
    pub fn n_obs(&self) -> usize {
        self.obs.y.len()
    }

    /// Number of covariates.
    pub fn n_covariates(&self) -> usize {
        self.obs.x.ncols()
    }

    /// The SPDE operator of the field.
    pub fn spde(&self) -> &SpdeOperator {
        &self.spde
    }

    /// The Matérn parameters of `p`.
    ///
    /// # Errors
    /// Non-positive or non-finite range or sigma.
    pub fn matern(&self, p: &Params) -> Result<Matern> {
        Matern::from_range_sigma(self.spde.alpha(), p.range, p.sigma)
    }

    /// Profile log-likelihood at `p`, with its gradient when `gradient` is true.
    ///
    /// # Errors
    /// Non-positive parameters, or a precision that is not positive definite (the message
    /// names the parameters).
    pub fn evaluate(&self, p: &Params, gradient: bool) -> Result<Evaluation> {
        self.evaluate_with(p, &Coefficients::Profiled, gradient)
    }

    /// Log-likelihood at `p` with the coefficients treated as `coefficients` says, and its
    /// gradient in $(\log\rho, \log\sigma, \log s^2)$ when `gradient` is true. With
    /// [`Coefficients::Gaussian`], [`Evaluation::beta`] and [`Evaluation::beta_covariance`] are
    /// the coefficients' posterior mean and covariance.
    ///
    /// # Errors
    /// As [`GeostatModel::evaluate`], and a prior mean of the wrong length or a non-positive
    /// prior variance.
    pub fn evaluate_with(
        &self,
        p: &Params,
        coefficients: &Coefficients,
        gradient: bool,
    ) -> Result<Evaluation> {
        if let Coefficients::Gaussian { mean, variance } = coefficients {
            uqforge_core::validate::len(
                "prior mean of the coefficients",
                self.obs.x.ncols(),
                mean.len(),
            )?;
            uqforge_core::validate::finite("prior mean of the coefficients", mean.as_slice())?;
            uqforge_core::validate::positive("prior variance of the coefficients", *variance)?;
        }
        let field = self.matern(p)?;
        let factors = self.factors(p)?;
        let derivatives = || self.stationary_derivatives(&field, &factors.q);
        let core = self.obs.evaluate_factors_with(
            &factors,
            gradient.then_some(&derivatives),
            coefficients,
        )?;
        Ok(Evaluation {
            params: *p,
            log_likelihood: core.log_likelihood,
            gradient: core.gradient.map(|g| [g[0], g[1], g[2]]),
            beta: core.beta,
            beta_covariance: core.beta_covariance,
            field_mean: core.field_mean,
        })
    }

    /// $\partial Q / \partial\log\rho = -\partial Q / \partial\log\kappa + 2\nu Q$ and
    /// $\partial Q / \partial\log\sigma = -2Q$.
    fn stationary_derivatives(
        &self,
        field: &Matern,
        q: &CscMatrix<f64>,
    ) -> Result<Vec<CscMatrix<f64>>> {
        let nu = field.nu();
        let dq_kappa = self.spde.precision_dlog_kappa(field)?;
        let mut dq_range = q.clone();
        for (v, k) in dq_range.values_mut().iter_mut().zip(dq_kappa.values()) {
            *v = 2.0 * nu * *v - k;
        }
        let mut dq_sigma = q.clone();
        for v in dq_sigma.values_mut() {
            *v *= -2.0;
        }
        Ok(vec![dq_range, dq_sigma])
    }

    /// The prior and posterior factorisations at `p`.
    pub(crate) fn factors(&self, p: &Params) -> Result<Factors> {
        uqforge_core::validate::positive("noise_sd", p.noise_sd)?;
        let q = self.spde.precision(&self.matern(p)?)?;
        self.obs.factors_of(
            q,
            p.noise_sd,
            &format!(
                "range = {}, sigma = {}, noise_sd = {}",
                p.range, p.sigma, p.noise_sd
            ),
        )
    }
}

impl Observations {
    /// The observation model for responses `y`, observation matrix `a` (`n x m`, `m` the
    /// columns of `pattern`) and covariates `x` (`n x p`), for precisions on `pattern`.
    ///
    /// # Errors
    /// As [`GeostatModel::new`].
    pub(crate) fn new(
        pattern: &SparsityPattern,
        a: CscMatrix<f64>,
        y: DVector<f64>,
        x: DMatrix<f64>,
    ) -> Result<Self> {
        Self::build(pattern, a, y, x, true)
    }

    /// As [`Self::new`], for a caller that gives $\log\det Q$ itself
    /// ([`Self::posterior_factors`]): no analysis of $Q$'s pattern.
    pub(crate) fn with_known_prior(
        pattern: &SparsityPattern,
        a: CscMatrix<f64>,
        y: DVector<f64>,
        x: DMatrix<f64>,
    ) -> Result<Self> {
        Self::build(pattern, a, y, x, false)
    }

    fn build(
        pattern: &SparsityPattern,
        a: CscMatrix<f64>,
        y: DVector<f64>,
        x: DMatrix<f64>,
        analyse_prior: bool,
    ) -> Result<Self> {
        let n = y.len();
        check_responses(&y, &x)?;
        uqforge_core::validate::len("observation matrix rows", n, a.nrows())?;
        uqforge_core::validate::len(
            "observation matrix columns (mesh nodes)",
            pattern.major_dim(),
            a.ncols(),
        )?;
        uqforge_core::validate::finite("observation matrix", a.values())?;
        let at = a.transpose();
        let ata = &at * &a;
        let q_pattern = pattern.clone();
        let q0 = on_pattern(&q_pattern, vec![0.0; q_pattern.nnz()])?;
        let post_pattern = union_pattern(&[&q0, &ata])?;
        let ata = on_pattern(&post_pattern, scatter(&post_pattern, &ata)?)?;
        let prior = if analyse_prior {
            Some(SymbolicCholesky::analyse(&q_pattern)?)
        } else {
            None
        };
        Ok(Self {
            prior,
            posterior: SymbolicCholesky::analyse(&post_pattern)?,
            post_pattern,
            ata,
            a,
            at,
            y,
            x,
        })
    }

    /// Entries of the Cholesky factor of $Q + A^\top A/s^2$ (its symbolic analysis).
    pub(crate) fn posterior_factor_nnz(&self) -> usize {
        self.posterior.factor_nnz()
    }

    /// Number of observations.
    pub(crate) fn n_obs(&self) -> usize {
        self.y.len()
    }

    /// Log-likelihood at factorised $Q$ and $Q_p$, and its gradient with respect to the
    /// parameters whose $\partial Q / \partial\theta_k$ `derivatives` returns, followed by the
    /// derivative in $\log s^2$, with the coefficients profiled or Gaussian.
    pub(crate) fn evaluate_factors_with(
        &self,
        f: &Factors,
        derivatives: Option<&dyn Fn() -> Result<Vec<CscMatrix<f64>>>>,
        coefficients: &Coefficients,
    ) -> Result<Core> {
        let s2 = f.s2;
        let (beta, beta_covariance) = match coefficients {
            Coefficients::Profiled => self.gls(&f.post, s2)?,
            Coefficients::Gaussian { mean, .. } => {
                let p = self.x.ncols();
                (mean.clone(), DMatrix::zeros(p, p))
            }
        };
        let r = &self.y - &self.x * &beta;
        let mu = f.post.solve(&(&self.at * &r / s2))?;
        let e = &r - &self.a * &mu;
        let n = self.n_obs() as f64;
        let prior_log_det = match &f.prior {
            PriorDeterminant::Factor(prior) => prior.log_determinant(),
            PriorDeterminant::Known { log_det, .. } => *log_det,
        };
        let log_likelihood = -0.5 * n * (2.0 * std::f64::consts::PI).ln() - 0.5 * n * s2.ln()
            + 0.5 * prior_log_det
            - 0.5 * f.post.log_determinant()
            - 0.5 * (e.norm_squared() / s2 + mu.dot(&(&f.q * &mu)));
        let gradient = match derivatives {
            None => None,
            Some(derivatives) => {
                let dqs = derivatives()?;
                // d log det Q / d theta_k.
                let prior_terms = match &f.prior {
                    PriorDeterminant::Factor(prior) => {
                        let prior_inv = SelectedInverse::new(prior)?;
                        dqs.iter()
                            .map(|dq| prior_inv.trace_product(dq))
                            .collect::<Result<Vec<_>>>()?
                    }
                    PriorDeterminant::Known {
                        derivatives: Some(d),
                        ..
                    } if d.len() == dqs.len() => d.clone(),
                    PriorDeterminant::Known { .. } => {
                        return Err(Error::invalid_parameter(
                            "gradient",
                            "the prior's log-determinant came without its derivatives",
                        ));
                    }
                };
                let post_inv = SelectedInverse::new(&f.post)?;
                let mut g = Vec::new();
                for (dq, prior_term) in dqs.iter().zip(prior_terms) {
                    g.push(
                        0.5 * prior_term
                            - 0.5 * post_inv.trace_product(dq)?
                            - 0.5 * mu.dot(&(dq * &mu)),
                    );
                }
                let tr_post_ata = post_inv.trace_product(&self.ata)?;
                g.push(-0.5 * (n - tr_post_ata / s2) + 0.5 * e.norm_squared() / s2);
                Some(g)
            }
        };
        let mut core = Core {
            log_likelihood,
            gradient,
            beta,
            beta_covariance,
            field_mean: mu,
        };
        if let Coefficients::Gaussian { variance, .. } = coefficients
            && self.x.ncols() > 0
        {
            self.integrate_coefficients(f, derivatives, *variance, &r, &e, &mut core)?;
        }
        Ok(core)
    }

    /// Adds to `core` (evaluated at $\beta = b_0$) the terms of $\beta \sim N(b_0, vI)$
    /// integrated out: with $W = X^\top V^{-1} X$, $u = X^\top V^{-1} r_0$ and
    /// $S = (I/v + W)^{-1}$, the log-likelihood gains $\frac12 u^\top S u - \frac12\log\det(I +
    /// vW)$, and each derivative $u^\top S u' - \frac12 u^\top S W' S u - \frac12\operatorname{tr}
    /// (S W')$, where $W' = M^\top Q' M$ and $u' = M^\top Q'\mu$ with $M = Q_p^{-1}A^\top X /
    /// s^2$ for a parameter of $Q$, and $W' = -s^2 Z^\top Z$, $u' = -Z^\top e$ with $Z = V^{-1}X$
    /// for $\log s^2$. The coefficients' posterior is $N(b_0 + Su, S)$.
    fn integrate_coefficients(
        &self,
        f: &Factors,
        derivatives: Option<&dyn Fn() -> Result<Vec<CscMatrix<f64>>>>,
        variance: f64,
        r0: &DVector<f64>,
        e: &DVector<f64>,
        core: &mut Core,
    ) -> Result<()> {
        let p = self.x.ncols();
        let s2 = f.s2;
        let z = self.v_inverse(&f.post, s2, &self.x)?;
        let w = self.x.transpose() * &z;
        let u = z.transpose() * r0;
        let s = (DMatrix::identity(p, p) / variance + &w)
            .cholesky()
            .ok_or_else(|| {
                Error::degenerate("Gaussian coefficients", "I/v + X'V^-1 X is singular")
            })?
            .inverse();
        let lu = (DMatrix::identity(p, p) + &w * variance)
            .cholesky()
            .ok_or_else(|| {
                Error::degenerate("Gaussian coefficients", "I + v X'V^-1 X is singular")
            })?;
        let logdet: f64 = 2.0 * lu.l().diagonal().map(f64::ln).sum();
        let su = &s * &u;
        core.log_likelihood += 0.5 * u.dot(&su) - 0.5 * logdet;
        if let (Some(g), Some(derivatives)) = (core.gradient.as_mut(), derivatives) {
            let m = f.post.solve_matrix(&(&self.at * &self.x / s2))?;
            let term = |dw: &DMatrix<f64>, du: &DVector<f64>| {
                su.dot(du) - 0.5 * su.dot(&(dw * &su)) - 0.5 * (&s * dw).trace()
            };
            for (k, dq) in derivatives()?.iter().enumerate() {
                let dw = m.transpose() * (dq * &m);
                let du = m.transpose() * (dq * &core.field_mean);
                g[k] += term(&dw, &du);
            }
            let last = g.len() - 1;
            let dw = -(z.transpose() * &z) * s2;
            let du = -(z.transpose() * e);
            g[last] += term(&dw, &du);
        }
        core.beta = &core.beta + &su;
        core.beta_covariance = s;
        Ok(())
    }

    /// The factorisations of a precision `q` on the operator's pattern and of
    /// $Q + A^\top A / s^2$; `describe` names the parameters in errors.
    pub(crate) fn factors_of(
        &self,
        q: CscMatrix<f64>,
        noise_sd: f64,
        describe: &str,
    ) -> Result<Factors> {
        uqforge_core::validate::positive("noise_sd", noise_sd)?;
        let prior = self
            .prior
            .as_ref()
            .ok_or_else(|| {
                Error::invalid_parameter(
                    "prior",
                    "this observation model was built for a known log-determinant",
                )
            })?
            .factor(&q)
            .map_err(|e| in_context(e, describe))?;
        self.posterior_factors(q, noise_sd, describe, PriorDeterminant::Factor(prior))
    }

    /// The factorisation of $Q + A^\top A / s^2$ for a precision `q` whose log-determinant
    /// `prior` gives; `describe` names the parameters in errors.
    pub(crate) fn posterior_factors(
        &self,
        q: CscMatrix<f64>,
        noise_sd: f64,
        describe: &str,
        prior: PriorDeterminant,
    ) -> Result<Factors> {
        let post = self.posterior_factor(&q, noise_sd, describe)?;
        Ok(Factors {
            q,
            prior,
            post,
            s2: noise_sd * noise_sd,
        })
    }

    /// The Cholesky factor of $Q + A^\top A / s^2$ for the precision `q` and noise
    /// standard deviation `noise_sd`; `describe` names the parameters in errors.
    pub(crate) fn posterior_factor(
        &self,
        q: &CscMatrix<f64>,
        noise_sd: f64,
        describe: &str,
    ) -> Result<Cholesky> {
        uqforge_core::validate::positive("noise_sd", noise_sd)?;
        let s2 = noise_sd * noise_sd;
        let mut post_values = scatter(&self.post_pattern, q)?;
        for (v, w) in post_values.iter_mut().zip(self.ata.values()) {
            *v += w / s2;
        }
        let q_post = on_pattern(&self.post_pattern, post_values)?;
        self.posterior
            .factor(&q_post)
            .map_err(|e| in_context(e, describe))
    }

    /// $V^{-1} W$ for a matrix $W$ with $n$ rows: $W/s^2 - A Q_p^{-1} A^\top W / s^4$.
    fn v_inverse(&self, post: &Cholesky, s2: f64, w: &DMatrix<f64>) -> Result<DMatrix<f64>> {
        let atw = &self.at * w;
        let z = post.solve_matrix(&atw)?;
        Ok(w / s2 - (&self.a * z) / (s2 * s2))
    }

    /// GLS estimate of $\beta$ and its covariance.
    pub(crate) fn gls(&self, post: &Cholesky, s2: f64) -> Result<(DVector<f64>, DMatrix<f64>)> {
        let p = self.x.ncols();
        if p == 0 {
            return Ok((DVector::zeros(0), DMatrix::zeros(0, 0)));
        }
        let mut w = self.x.clone().insert_column(p, 0.0);
        w.set_column(p, &self.y);
        let vw = self.v_inverse(post, s2, &w)?;
        let xt_vw = self.x.transpose() * vw;
        let info = xt_vw.columns(0, p).into_owned();
        let rhs = xt_vw.column(p).into_owned();
        let chol = info.clone().cholesky().ok_or_else(|| {
            Error::degenerate(
                "regression coefficients",
                "X' V^-1 X is singular (collinear covariates)",
            )
        })?;
        Ok((chol.solve(&rhs), chol.inverse()))
    }
}

/// Checks responses `y` and covariates `x` (one row per response): non-empty, finite,
/// fewer covariates than responses and a non-singular $X^\top X$.
pub(crate) fn check_responses(y: &DVector<f64>, x: &DMatrix<f64>) -> Result<()> {
    let n = y.len();
    uqforge_core::validate::non_empty("responses", y.as_slice())?;
    uqforge_core::validate::finite("responses", y.as_slice())?;
    uqforge_core::validate::len("covariate rows", n, x.nrows())?;
    uqforge_core::validate::finite("covariates", x.as_slice())?;
    if x.ncols() >= n && x.ncols() > 0 {
        return Err(Error::degenerate(
            "regression coefficients",
            format!("{} covariates for {n} observations", x.ncols()),
        ));
    }
    if x.ncols() > 0 {
        let xtx = x.transpose() * x;
        let scale = xtx.diagonal().max().max(f64::MIN_POSITIVE);
        let eig = xtx.symmetric_eigen();
        if eig.eigenvalues.min() <= 1e-12 * scale {
            return Err(Error::degenerate(
                "regression coefficients",
                "the covariate matrix is singular (a constant or duplicated column?)",
            ));
        }
    }
    Ok(())
}

/// A factorisation failure with the parameter values that caused it.
pub(crate) fn in_context(e: Error, describe: &str) -> Error {
    match e {
        Error::NotPositiveDefinite { what } => Error::NotPositiveDefinite {
            what: format!("{what} ({describe})"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fem, Mesh, sparse::dense};

    /// A small model with an intercept and a slope, at scattered points.
    fn model() -> (GeostatModel, Mesh, DMatrix<f64>) {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 7, 6).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let n = 23;
        let locs = crate::testing::wrapped_line(n, 7.3);
        let a = mesh.observation_matrix(&locs).unwrap();
        let y = DVector::from_fn(n, |i, _| 1.0 + (i as f64 * 1.3).sin() + 0.2 * locs[(i, 0)]);
        let x = DMatrix::from_fn(n, 2, |i, k| if k == 0 { 1.0 } else { locs[(i, 0)] });
        (GeostatModel::new(&spde, a, y, x).unwrap(), mesh, locs)
    }

    /// The dense profile log-likelihood: V = A Q^{-1} A' + s^2 I, GLS beta, MVN density.
    fn dense_loglik(m: &GeostatModel, p: &Params) -> f64 {
        let q = dense(&m.spde.precision(&m.matern(p).unwrap()).unwrap());
        let a = dense(&m.obs.a);
        let n = m.n_obs();
        let v = &a * q.try_inverse().unwrap() * a.transpose()
            + DMatrix::identity(n, n) * p.noise_sd.powi(2);
        let vc = v.cholesky().unwrap();
        let vinv_x = vc.solve(&m.obs.x);
        let beta = (m.obs.x.transpose() * &vinv_x).try_inverse().unwrap()
            * (vinv_x.transpose() * &m.obs.y);
        let r = &m.obs.y - &m.obs.x * beta;
        let logdet: f64 = 2.0 * vc.l().diagonal().map(f64::ln).sum();
        -0.5 * (n as f64 * (2.0 * std::f64::consts::PI).ln() + logdet + r.dot(&vc.solve(&r)))
    }

    #[test]
    fn log_likelihood_equals_the_dense_evaluation() {
        let (m, _, _) = model();
        for p in [
            Params {
                range: 0.3,
                sigma: 1.0,
                noise_sd: 0.1,
            },
            Params {
                range: 1.5,
                sigma: 0.2,
                noise_sd: 1.0,
            },
            Params {
                range: 0.05,
                sigma: 3.0,
                noise_sd: 0.01,
            },
        ] {
            let got = m.evaluate(&p, false).unwrap().log_likelihood;
            let want = dense_loglik(&m, &p);
            assert!(
                (got - want).abs() < 1e-10 * want.abs().max(1.0),
                "{p:?}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn gradient_equals_central_differences() {
        let (m, _, _) = model();
        let base = [0.4f64.ln(), 0.8f64.ln(), (0.3f64 * 0.3).ln()];
        let at = |t: [f64; 3]| Params {
            range: t[0].exp(),
            sigma: t[1].exp(),
            noise_sd: (0.5 * t[2]).exp(),
        };
        let g = m.evaluate(&at(base), true).unwrap().gradient.unwrap();
        let h = 1e-5;
        for k in 0..3 {
            let (mut up, mut down) = (base, base);
            up[k] += h;
            down[k] -= h;
            let fd = (m.evaluate(&at(up), false).unwrap().log_likelihood
                - m.evaluate(&at(down), false).unwrap().log_likelihood)
                / (2.0 * h);
            assert!(
                (g[k] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                "component {k}: {} vs {fd}",
                g[k]
            );
        }
    }

    #[test]
    fn gaussian_coefficients_give_the_dense_marginal_likelihood_and_its_gradient() {
        let (m, _, _) = model();
        let b0 = DVector::from_row_slice(&[0.5, -1.0]);
        let coef = Coefficients::Gaussian {
            mean: b0.clone(),
            variance: 2.5,
        };
        let p = Params {
            range: 0.35,
            sigma: 0.9,
            noise_sd: 0.25,
        };
        // Dense: y ~ N(X b0, A Q^-1 A' + s^2 I + v X X').
        let q = dense(&m.spde.precision(&m.matern(&p).unwrap()).unwrap());
        let a = dense(&m.obs.a);
        let n = m.n_obs();
        let v = &a * q.try_inverse().unwrap() * a.transpose()
            + DMatrix::identity(n, n) * p.noise_sd.powi(2)
            + &m.obs.x * m.obs.x.transpose() * 2.5;
        let vc = v.cholesky().unwrap();
        let r = &m.obs.y - &m.obs.x * &b0;
        let logdet: f64 = 2.0 * vc.l().diagonal().map(f64::ln).sum();
        let want =
            -0.5 * (n as f64 * (2.0 * std::f64::consts::PI).ln() + logdet + r.dot(&vc.solve(&r)));
        let e = m.evaluate_with(&p, &coef, true).unwrap();
        assert!(
            (e.log_likelihood - want).abs() < 1e-10 * want.abs(),
            "{} vs {want}",
            e.log_likelihood
        );
        // Posterior mean of beta: b0 + v X' (V + v X X')^{-1} r.
        let post_beta = &b0 + m.obs.x.transpose() * vc.solve(&r) * 2.5;
        assert!((&e.beta - post_beta).abs().max() < 1e-9);
        // Gradient against central differences.
        let g = e.gradient.unwrap();
        let base = [p.range.ln(), p.sigma.ln(), (p.noise_sd * p.noise_sd).ln()];
        let at = |t: [f64; 3]| Params {
            range: t[0].exp(),
            sigma: t[1].exp(),
            noise_sd: (0.5 * t[2]).exp(),
        };
        let h = 1e-5;
        for k in 0..3 {
            let (mut up, mut down) = (base, base);
            up[k] += h;
            down[k] -= h;
            let fd = (m
                .evaluate_with(&at(up), &coef, false)
                .unwrap()
                .log_likelihood
                - m.evaluate_with(&at(down), &coef, false)
                    .unwrap()
                    .log_likelihood)
                / (2.0 * h);
            assert!(
                (g[k] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                "component {k}: {} vs {fd}",
                g[k]
            );
        }
        let bad = Coefficients::Gaussian {
            mean: DVector::zeros(1),
            variance: 1.0,
        };
        assert!(m.evaluate_with(&p, &bad, false).is_err());
        let bad = Coefficients::Gaussian {
            mean: b0,
            variance: 0.0,
        };
        assert!(m.evaluate_with(&p, &bad, false).is_err());
    }

    #[test]
    fn bad_input_is_refused() {
        let (m, mesh, locs) = model();
        let spde = m.spde().clone();
        let a = mesh.observation_matrix(&locs).unwrap();
        let n = locs.nrows();
        let y = DVector::from_element(n, 1.0);
        let mut y_nan = y.clone();
        y_nan[4] = f64::NAN;
        assert!(GeostatModel::new(&spde, a.clone(), y_nan, DMatrix::zeros(n, 0)).is_err());
        let twice = DMatrix::from_fn(n, 2, |_, _| 1.0);
        let err = GeostatModel::new(&spde, a.clone(), y.clone(), twice).unwrap_err();
        assert!(err.to_string().contains("singular"), "{err}");
        assert!(
            GeostatModel::new(
                &spde,
                a.clone(),
                DVector::zeros(n + 1),
                DMatrix::zeros(n + 1, 0)
            )
            .is_err()
        );
        let ok = GeostatModel::new(&spde, a, y, DMatrix::zeros(n, 0)).unwrap();
        assert!(
            ok.evaluate(
                &Params {
                    range: -1.0,
                    sigma: 1.0,
                    noise_sd: 1.0
                },
                false
            )
            .is_err()
        );
        assert!(
            ok.evaluate(
                &Params {
                    range: 1.0,
                    sigma: 1.0,
                    noise_sd: 0.0
                },
                false
            )
            .is_err()
        );
    }
}
