//! Maximum likelihood for the Gaussian geostatistical model, with standard errors from the
//! observed information.
//!
//! The profile log-likelihood $\ell(\theta)$ of [`crate::likelihood`] is maximised over
//! $\theta = (\log\rho, \log\sigma, \log s^2)$ (unconstrained: every value is a valid model)
//! by L-BFGS with the Moré–Thuente line search (argmin, on `Vec<f64>` parameters), using the
//! analytic gradient. argmin asks for the cost and the gradient separately at the same point;
//! one cached evaluation serves both.
//!
//! Standard errors come from the observed information
//! $\mathcal{I} = -\nabla^2 \ell(\hat\theta)$, computed by central differences of the analytic
//! gradient (six gradient evaluations): $\operatorname{se}(\hat\theta_k)$ is the square root
//! of the $k$-th diagonal entry of $\mathcal{I}^{-1}$ on the log scale, and by the delta method
//! on the natural
//! scale ($\operatorname{se}(\hat\rho) = \hat\rho \operatorname{se}(\log\hat\rho)$,
//! $\operatorname{se}(\hat s) = \hat s \operatorname{se}(\log \hat s^2) / 2$). They are
//! asymptotic: with few observations per range the likelihood of $(\rho, \sigma)$ is a ridge
//! (only $\sigma^2/\rho^{2\nu}$ is well identified, Zhang 2004) and the log-scale errors are the
//! honest ones to report.
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_gmrf::{Fem, Matern, Mesh, SpdeOperator, SymbolicCholesky, likelihood::GeostatModel};
//! use uqforge_gmrf::mle::{MleOptions, initial_params, maximum_likelihood};
//!
//! // Simulate a field on a mesh, observe it with noise at 150 nodes, fit.
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 24, 24)?;
//! let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
//! let truth = Matern::from_range_sigma(2, 0.3, 1.0)?;
//! let field = SymbolicCholesky::analyse(spde.pattern())?.factor(&spde.precision(&truth)?)?.sample(1, 7)?;
//! let locations = DMatrix::from_fn(150, 2, |i, k| mesh.nodes()[(i * 37) % 625][k]);
//! let a = mesh.observation_matrix(&locations)?;
//! let noise = uqforge_core::rng::rng_from_seed(8);
//! let mut rng = noise;
//! let y = &a * field.column(0) + DVector::from_fn(150, |_, _| 0.1 * uqforge_core::rng::standard_normal(&mut rng));
//! let model = GeostatModel::new(&spde, a, y.clone(), DMatrix::zeros(150, 0))?;
//! let fit = maximum_likelihood(&model, &MleOptions::new(initial_params(&locations, &y)?))?;
//! assert!(fit.converged);
//! assert!(fit.params.range > 0.1 && fit.params.range < 0.9);
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! Reference: H. Zhang (2004), Inconsistent estimation and asymptotically equal interpolations
//! in model-based geostatistics, JASA 99:250-261.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

use crate::fem::Fem;
use crate::kriging::Prediction;
use crate::likelihood::{GeostatModel, Params};
use crate::matern::SpdeOperator;
use crate::mesh::Mesh;
use crate::mesh_builder::MeshBuilder;
use crate::optim::Objective;
use crate::prior::PcPrior;

/// Settings of [`maximum_likelihood`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MleOptions {
    /// Starting point (see [`initial_params`]).
    pub start: Params,
    /// Most L-BFGS iterations (default 200).
    pub max_iterations: u64,
    /// Stop when the norm of the gradient of the mean log-likelihood per observation, on the
    /// log scale, falls below this (default 1e-6).
    pub gradient_tolerance: f64,
    /// Optional PC prior of range and sigma: the maximiser is then the posterior mode in
    /// $(\log\rho, \log\sigma, \log s^2)$ (flat in $\log s^2$) and the standard errors
    /// come from the curvature of the penalised objective.
    pub prior: Option<PcPrior>,
}

impl MleOptions {
    /// Defaults from a starting point.
    pub fn new(start: Params) -> Self {
        Self {
            start,
            max_iterations: 200,
            gradient_tolerance: 1e-6,
            prior: None,
        }
    }
}

/// Standard errors from the observed information.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StdErrors {
    /// Of $\log\hat\rho$.
    pub log_range: f64,
    /// Of $\log\hat\sigma$.
    pub log_sigma: f64,
    /// Of $\log\hat s^2$.
    pub log_noise_variance: f64,
    /// Of $\hat\rho$ (delta method).
    pub range: f64,
    /// Of $\hat\sigma$ (delta method).
    pub sigma: f64,
    /// Of $\hat s$ (delta method).
    pub noise_sd: f64,
}

/// A maximum-likelihood fit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MleFit {
    /// Estimated range, sigma and noise standard deviation.
    pub params: Params,
    /// Profile log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// Log-density of the PC prior at the estimate, when one was used.
    pub log_prior: Option<f64>,
    /// GLS coefficients at the estimate.
    pub beta: DVector<f64>,
    /// Their standard errors (given the field parameters).
    pub beta_std_errors: DVector<f64>,
    /// Standard errors of the field and noise parameters; `None` when the observed information
    /// is not positive definite (a flat or boundary optimum).
    pub std_errors: Option<StdErrors>,
    /// L-BFGS iterations.
    pub iterations: u64,
    /// Likelihood evaluations (each with its gradient).
    pub evaluations: usize,
    /// Whether the gradient tolerance was met.
    pub converged: bool,
    /// Why the optimiser stopped.
    pub termination: String,
    /// Posterior mean of the field at the mesh nodes, at the estimate.
    pub field_mean: DVector<f64>,
}

/// A starting point from the data: range a fifth of the diagonal of the locations' bounding
/// box, and the sample variance of `y` split equally between field and noise.
///
/// # Errors
/// Locations without two columns or with fewer than two distinct points, or fewer than two
/// responses.
pub fn initial_params(locations: &DMatrix<f64>, y: &DVector<f64>) -> Result<Params> {
    uqforge_core::validate::len("location columns", 2, locations.ncols())?;
    uqforge_core::validate::at_least("observations", y.len(), 2)?;
    uqforge_core::validate::finite("locations", locations.as_slice())?;
    uqforge_core::validate::finite("responses", y.as_slice())?;
    let span = |k: usize| locations.column(k).max() - locations.column(k).min();
    let diagonal = span(0).hypot(span(1));
    if diagonal.is_nan() || diagonal <= 0.0 {
        return Err(Error::degenerate("initial range", "all locations coincide"));
    }
    let var = y.variance() * y.len() as f64 / (y.len() - 1) as f64;
    let half_sd = (0.5 * var).sqrt().max(1e-8);
    Ok(Params {
        range: 0.2 * diagonal,
        sigma: half_sd,
        noise_sd: half_sd,
    })
}

/// Maximise the profile log-likelihood of `model` from `options.start`.
///
/// # Errors
/// Invalid options, a likelihood evaluation that fails (its message names the parameters), or
/// an optimiser failure.
pub fn maximum_likelihood(model: &GeostatModel, options: &MleOptions) -> Result<MleFit> {
    let start = to_theta(&options.start)?;
    let prior = options.prior;
    let f = |theta: &[f64]| -> Result<(f64, Vec<f64>)> {
        let p = from_theta(theta);
        let e = model.evaluate(&p, true)?;
        let mut value = e.log_likelihood;
        let mut g = e.gradient.unwrap_or([f64::NAN; 3]).to_vec();
        if let Some(prior) = &prior {
            let (lp, gp) = prior.log_density(p.range, p.sigma);
            value += lp;
            g[0] += gp[0];
            g[1] += gp[1];
        }
        Ok((value, g))
    };
    let objective = Objective::new(&f, model.n_obs() as f64);
    let outcome = objective.maximise(start, options.max_iterations, options.gradient_tolerance)?;
    let theta = &outcome.theta;
    let best = model.evaluate(&from_theta(theta), false)?;
    let std_errors = objective.inverse_information(theta)?.map(|cov| {
        let se = |k: usize| cov[(k, k)].sqrt();
        let p = best.params;
        StdErrors {
            log_range: se(0),
            log_sigma: se(1),
            log_noise_variance: se(2),
            range: p.range * se(0),
            sigma: p.sigma * se(1),
            noise_sd: 0.5 * p.noise_sd * se(2),
        }
    });
    let beta_std_errors = best.beta_covariance.diagonal().map(f64::sqrt);
    Ok(MleFit {
        params: best.params,
        log_likelihood: best.log_likelihood,
        log_prior: prior.map(|p| p.log_density(best.params.range, best.params.sigma).0),
        beta: best.beta,
        beta_std_errors,
        std_errors,
        iterations: outcome.iterations,
        evaluations: outcome.evaluations,
        converged: outcome.converged,
        termination: outcome.termination,
        field_mean: best.field_mean,
    })
}

/// A fitted geostatistical model: the mesh built around the data, the model and its maximum
/// likelihood estimate.
#[derive(Debug, Clone)]
pub struct GeostatFit {
    /// The mesh around the data locations.
    pub mesh: Mesh,
    /// The observation model.
    pub model: GeostatModel,
    /// The estimate.
    pub fit: MleFit,
}

impl GeostatFit {
    /// Universal kriging at `locations` with covariates `x0` (same columns as the fit's), at
    /// the estimated parameters.
    ///
    /// # Errors
    /// Points outside the mesh, or sizes that disagree.
    pub fn krige(&self, locations: &DMatrix<f64>, x0: &DMatrix<f64>) -> Result<Prediction> {
        let a0 = self.mesh.observation_matrix(locations)?;
        self.model.krige(&self.fit.params, &a0, x0)
    }
}

/// The largest mesh edge used when none is given: a fortieth of the diameter of the locations'
/// bounding box.
///
/// # Errors
/// Locations without two columns, non-finite, or all at one point.
pub fn default_max_edge(locations: &DMatrix<f64>) -> Result<f64> {
    uqforge_core::validate::len("location columns", 2, locations.ncols())?;
    uqforge_core::validate::non_empty("locations", locations.as_slice())?;
    uqforge_core::validate::finite("locations", locations.as_slice())?;
    let span = |k: usize| locations.column(k).max() - locations.column(k).min();
    let d = span(0).hypot(span(1));
    if d <= 0.0 {
        return Err(Error::degenerate("mesh size", "all locations coincide"));
    }
    Ok(d / 40.0)
}

/// The whole workflow: a mesh around `locations` (built by `mesh`), the model
/// $y = X\beta + Ax + \varepsilon$ with a Matérn field of order `alpha`, and its maximum
/// likelihood estimate from [`initial_params`], penalised by `prior` when given.
///
/// # Errors
/// Those of [`MeshBuilder::build`], [`GeostatModel::new`] and [`maximum_likelihood`].
pub fn fit_geostatistical(
    locations: &DMatrix<f64>,
    y: &DVector<f64>,
    x: &DMatrix<f64>,
    alpha: u32,
    mesh: &MeshBuilder,
    prior: Option<PcPrior>,
) -> Result<GeostatFit> {
    uqforge_core::validate::len("responses (one per location)", locations.nrows(), y.len())?;
    let built = mesh.build(locations)?;
    let spde = SpdeOperator::new(&Fem::assemble(&built)?, alpha)?;
    let a = built.observation_matrix(locations)?;
    let model = GeostatModel::new(&spde, a, y.clone(), x.clone())?;
    let options = MleOptions {
        prior,
        ..MleOptions::new(initial_params(locations, y)?)
    };
    let fit = maximum_likelihood(&model, &options)?;
    Ok(GeostatFit {
        mesh: built,
        model,
        fit,
    })
}

fn to_theta(p: &Params) -> Result<Vec<f64>> {
    uqforge_core::validate::positive("range", p.range)?;
    uqforge_core::validate::positive("sigma", p.sigma)?;
    uqforge_core::validate::positive("noise_sd", p.noise_sd)?;
    Ok(vec![p.range.ln(), p.sigma.ln(), 2.0 * p.noise_sd.ln()])
}

fn from_theta(t: &[f64]) -> Params {
    Params {
        range: t[0].exp(),
        sigma: t[1].exp(),
        noise_sd: (0.5 * t[2]).exp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prior::PcPrior;
    use crate::{Fem, Matern, Mesh, SpdeOperator, SymbolicCholesky};

    #[test]
    fn the_maximum_is_a_stationary_point_and_beats_its_neighbours() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 16, 16).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let truth = Matern::from_range_sigma(2, 0.35, 1.0).unwrap();
        let chol = SymbolicCholesky::analyse(spde.pattern())
            .unwrap()
            .factor(&spde.precision(&truth).unwrap())
            .unwrap();
        let x = chol.sample(1, 3).unwrap();
        let n = 300;
        let locs = crate::testing::wrapped_line(n, 11.7);
        let a = mesh.observation_matrix(&locs).unwrap();
        let mut rng = uqforge_core::rng::rng_from_seed(4);
        let y = &a * x.column(0)
            + DVector::from_fn(n, |_, _| {
                2.0 + 0.4 * uqforge_core::rng::standard_normal(&mut rng)
            });
        let model =
            GeostatModel::new(&spde, a, y.clone(), DMatrix::from_element(n, 1, 1.0)).unwrap();
        let fit = maximum_likelihood(&model, &MleOptions::new(initial_params(&locs, &y).unwrap()))
            .unwrap();
        assert!(fit.converged, "{} at {:?}", fit.termination, fit.params);
        let g = model.evaluate(&fit.params, true).unwrap().gradient.unwrap();
        assert!(g.iter().all(|v| v.abs() < 1e-4), "{g:?}");
        for (k, step) in [
            (0, 1.05),
            (1, 1.05),
            (2, 1.05),
            (0, 0.95),
            (1, 0.95),
            (2, 0.95),
        ] {
            let mut p = fit.params;
            match k {
                0 => p.range *= step,
                1 => p.sigma *= step,
                _ => p.noise_sd *= step,
            }
            assert!(model.evaluate(&p, false).unwrap().log_likelihood < fit.log_likelihood);
        }
        let se = fit.std_errors.unwrap();
        assert!(se.log_range > 0.0 && se.log_range.is_finite());
        assert_eq!(fit.beta.len(), 1);
    }

    #[test]
    fn a_pc_prior_moves_the_optimum_to_the_posterior_mode() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 12, 12).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let n = 60;
        let locs = crate::testing::wrapped_line(n, 7.7);
        let y = DVector::from_fn(n, |i, _| {
            (3.0 * locs[(i, 0)]).sin() + 0.3 * (i as f64 * 2.1).cos()
        });
        let a = mesh.observation_matrix(&locs).unwrap();
        let model =
            GeostatModel::new(&spde, a, y.clone(), DMatrix::from_element(n, 1, 1.0)).unwrap();
        let start = initial_params(&locs, &y).unwrap();
        let plain = maximum_likelihood(&model, &MleOptions::new(start)).unwrap();
        // A prior that puts most mass on short ranges and small sigmas.
        let prior = PcPrior::new(0.05, 0.5, 0.1, 0.5).unwrap();
        let options = MleOptions {
            prior: Some(prior),
            ..MleOptions::new(start)
        };
        let map = maximum_likelihood(&model, &options).unwrap();
        assert!(map.converged, "{}", map.termination);
        let e = model.evaluate(&map.params, true).unwrap();
        let (_, gp) = prior.log_density(map.params.range, map.params.sigma);
        let g = e.gradient.unwrap();
        assert!((g[0] + gp[0]).abs() < 1e-3 && (g[1] + gp[1]).abs() < 1e-3 && g[2].abs() < 1e-3);
        assert!(map.log_prior.is_some() && plain.log_prior.is_none());
        // The penalised optimum has a lower likelihood and a higher penalised objective.
        assert!(map.log_likelihood < plain.log_likelihood);
        let lp_plain = prior.log_density(plain.params.range, plain.params.sigma).0;
        assert!(map.log_likelihood + map.log_prior.unwrap() > plain.log_likelihood + lp_plain);
    }

    #[test]
    fn bad_options_are_refused() {
        let locs = DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 0.0, 0.0]);
        assert!(initial_params(&locs, &DVector::from_row_slice(&[1.0, 2.0])).is_err());
        let p = Params {
            range: 1.0,
            sigma: 1.0,
            noise_sd: 0.0,
        };
        assert!(to_theta(&p).is_err());
    }
}
