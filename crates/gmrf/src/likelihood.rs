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
//! is $(X^\top V^{-1} X)^{-1}$.
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

/// Factorisations of one parameter value.
pub(crate) struct Factors {
    pub(crate) q: CscMatrix<f64>,
    pub(crate) prior: Cholesky,
    pub(crate) post: Cholesky,
    pub(crate) s2: f64,
}

/// What [`GeostatModel::evaluate_factors`] returns.
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
    prior: SymbolicCholesky,
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
        let n = y.len();
        uqforge_core::validate::non_empty("responses", y.as_slice())?;
        uqforge_core::validate::finite("responses", y.as_slice())?;
        uqforge_core::validate::len("observation matrix rows", n, a.nrows())?;
        uqforge_core::validate::len("covariate rows", n, x.nrows())?;
        uqforge_core::validate::len(
            "observation matrix columns (mesh nodes)",
            spde.pattern().major_dim(),
            a.ncols(),
        )?;
        uqforge_core::validate::finite("covariates", x.as_slice())?;
        uqforge_core::validate::finite("observation matrix", a.values())?;
        if x.ncols() >= n && x.ncols() > 0 {
            return Err(Error::degenerate(
                "regression coefficients",
                format!("{} covariates for {n} observations", x.ncols()),
            ));
        }
        if x.ncols() > 0 {
            let xtx = x.transpose() * &x;
            let scale = xtx.diagonal().max().max(f64::MIN_POSITIVE);
            let eig = xtx.clone().symmetric_eigen();
            if eig.eigenvalues.min() <= 1e-12 * scale {
                return Err(Error::degenerate(
                    "regression coefficients",
                    "the covariate matrix is singular (a constant or duplicated column?)",
                ));
            }
        }
        let at = a.transpose();
        let ata = &at * &a;
        let q_pattern = spde.pattern().clone();
        let q0 = on_pattern(&q_pattern, vec![0.0; q_pattern.nnz()])?;
        let post_pattern = union_pattern(&[&q0, &ata])?;
        let ata = on_pattern(&post_pattern, scatter(&post_pattern, &ata)?)?;
        Ok(Self {
            spde: spde.clone(),
            prior: SymbolicCholesky::analyse(&q_pattern)?,
            posterior: SymbolicCholesky::analyse(&post_pattern)?,
            post_pattern,
            ata,
            a,
            at,
            y,
            x,
        })
    }

    /// Number of observations.
    pub fn n_obs(&self) -> usize {
        self.y.len()
    }

    /// Number of covariates.
    pub fn n_covariates(&self) -> usize {
        self.x.ncols()
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
        let field = self.matern(p)?;
        let factors = self.factors(p)?;
        let derivatives = || -> Result<Vec<CscMatrix<f64>>> {
            let nu = field.nu();
            let dq_kappa = self.spde.precision_dlog_kappa(&field)?;
            // dQ/dlog(range) = -dQ/dlog(kappa) + 2 nu Q; dQ/dlog(sigma) = -2 Q.
            let mut dq_range = factors.q.clone();
            for (v, k) in dq_range.values_mut().iter_mut().zip(dq_kappa.values()) {
                *v = 2.0 * nu * *v - k;
            }
            let mut dq_sigma = factors.q.clone();
            for v in dq_sigma.values_mut() {
                *v *= -2.0;
            }
            Ok(vec![dq_range, dq_sigma])
        };
        let core = self.evaluate_factors(&factors, gradient.then_some(&derivatives))?;
        Ok(Evaluation {
            params: *p,
            log_likelihood: core.log_likelihood,
            gradient: core.gradient.map(|g| [g[0], g[1], g[2]]),
            beta: core.beta,
            beta_covariance: core.beta_covariance,
            field_mean: core.field_mean,
        })
    }

    /// Log-likelihood at factorised $Q$ and $Q_p$, and its gradient with respect to the
    /// parameters whose $\partial Q / \partial\theta_k$ `derivatives` returns, followed by the
    /// derivative in $\log s^2$.
    pub(crate) fn evaluate_factors(
        &self,
        f: &Factors,
        derivatives: Option<&dyn Fn() -> Result<Vec<CscMatrix<f64>>>>,
    ) -> Result<Core> {
        let s2 = f.s2;
        let (beta, beta_covariance) = self.gls(&f.post, s2)?;
        let r = &self.y - &self.x * &beta;
        let mu = f.post.solve(&(&self.at * &r / s2))?;
        let e = &r - &self.a * &mu;
        let n = self.n_obs() as f64;
        let log_likelihood = -0.5 * n * (2.0 * std::f64::consts::PI).ln() - 0.5 * n * s2.ln()
            + 0.5 * f.prior.log_determinant()
            - 0.5 * f.post.log_determinant()
            - 0.5 * (e.norm_squared() / s2 + mu.dot(&(&f.q * &mu)));
        let gradient = match derivatives {
            None => None,
            Some(derivatives) => {
                let prior_inv = SelectedInverse::new(&f.prior)?;
                let post_inv = SelectedInverse::new(&f.post)?;
                let mut g = Vec::new();
                for dq in derivatives()? {
                    g.push(
                        0.5 * prior_inv.trace_product(&dq)?
                            - 0.5 * post_inv.trace_product(&dq)?
                            - 0.5 * mu.dot(&(&dq * &mu)),
                    );
                }
                let tr_post_ata = post_inv.trace_product(&self.ata)?;
                g.push(-0.5 * (n - tr_post_ata / s2) + 0.5 * e.norm_squared() / s2);
                Some(g)
            }
        };
        Ok(Core {
            log_likelihood,
            gradient,
            beta,
            beta_covariance,
            field_mean: mu,
        })
    }

    /// The prior and posterior factorisations at `p`.
    pub(crate) fn factors(&self, p: &Params) -> Result<Factors> {
        uqforge_core::validate::positive("noise_sd", p.noise_sd)?;
        let q = self.spde.precision(&self.matern(p)?)?;
        self.factors_of(
            q,
            p.noise_sd,
            &format!(
                "range = {}, sigma = {}, noise_sd = {}",
                p.range, p.sigma, p.noise_sd
            ),
        )
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
        let context = |e: Error| match e {
            Error::NotPositiveDefinite { what } => Error::NotPositiveDefinite {
                what: format!("{what} ({describe})"),
            },
            other => other,
        };
        let s2 = noise_sd * noise_sd;
        let prior = self.prior.factor(&q).map_err(context)?;
        let mut post_values = scatter(&self.post_pattern, &q)?;
        for (v, w) in post_values.iter_mut().zip(self.ata.values()) {
            *v += w / s2;
        }
        let q_post = on_pattern(&self.post_pattern, post_values)?;
        let post = self.posterior.factor(&q_post).map_err(context)?;
        Ok(Factors { q, prior, post, s2 })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fem, Mesh, sparse::dense};

    /// A small model with an intercept and a slope, at scattered points.
    fn model() -> (GeostatModel, Mesh, DMatrix<f64>) {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 7, 6).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let n = 23;
        let locs = DMatrix::from_fn(n, 2, |i, k| {
            let t = (i as f64 + 0.5) / n as f64;
            if k == 0 { t } else { (7.3 * t).fract() }
        });
        let a = mesh.observation_matrix(&locs).unwrap();
        let y = DVector::from_fn(n, |i, _| 1.0 + (i as f64 * 1.3).sin() + 0.2 * locs[(i, 0)]);
        let x = DMatrix::from_fn(n, 2, |i, k| if k == 0 { 1.0 } else { locs[(i, 0)] });
        (GeostatModel::new(&spde, a, y, x).unwrap(), mesh, locs)
    }

    /// The dense profile log-likelihood: V = A Q^{-1} A' + s^2 I, GLS beta, MVN density.
    fn dense_loglik(m: &GeostatModel, p: &Params) -> f64 {
        let q = dense(&m.spde.precision(&m.matern(p).unwrap()).unwrap());
        let a = dense(&m.a);
        let n = m.n_obs();
        let v = &a * q.try_inverse().unwrap() * a.transpose()
            + DMatrix::identity(n, n) * p.noise_sd.powi(2);
        let vc = v.cholesky().unwrap();
        let vinv_x = vc.solve(&m.x);
        let beta = (m.x.transpose() * &vinv_x).try_inverse().unwrap() * (vinv_x.transpose() * &m.y);
        let r = &m.y - &m.x * beta;
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
