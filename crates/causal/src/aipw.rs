//! Augmented inverse propensity weighting (AIPW), the doubly robust estimator, in sample or
//! cross-fitted.
//!
//! With outcome regressions $\hat\mu_a(x) \approx \mathbb E[Y \mid T=a, X=x]$ and propensities
//! $\hat e(x)$,
//!
//! $$ \hat\tau = \frac1n\sum_i \varphi_i, \qquad
//!    \varphi_i = \hat\mu_1(X_i) - \hat\mu_0(X_i)
//!    + \frac{T_i\big(Y_i - \hat\mu_1(X_i)\big)}{\hat e(X_i)}
//!    - \frac{(1-T_i)\big(Y_i - \hat\mu_0(X_i)\big)}{1 - \hat e(X_i)} . $$
//!
//! $\varphi$ is the efficient influence function of the ATE (Robins, Rotnitzky & Zhao 1994;
//! Hahn 1998). The estimator is consistent if either nuisance is right (double robustness) and
//! efficient if both are; its error is a product of the two nuisance errors, so nuisance
//! estimation does not enter the first-order variance, and
//! $\widehat{\mathrm{se}} = \sqrt{\sum_i(\varphi_i - \hat\tau)^2/(n(n-1))}$ (the convention of
//! `grf` and the R package `AIPW`).
//!
//! **Known propensity.** In an RCT, pass the design's $e$: the weighted residual terms then
//! have mean zero *whatever* $\hat\mu_a$ is (as long as it does not use the unit's own
//! outcome, e.g. when cross-fitted or fitted on other data), so AIPW is unbiased for any
//! outcome model, and a better model only lowers the variance. With least-squares outcome
//! models fitted in sample and any constant propensity, the residual terms vanish (residuals
//! sum to zero within each arm) and AIPW equals Lin's estimator ([`crate::regression::lin`]).
//!
//! Cross-fitting, repeats and the median aggregation are described in [`crate::crossfit`].
//! Outcome models are fitted within each arm; plug any learner through [`aipw_with`].
//!
//! References: J. Robins, A. Rotnitzky, L. Zhao (1994), *JASA* 89:846–866; J. Hahn (1998),
//! *Econometrica* 66:315–331; V. Chernozhukov et al. (2018), *Econometrics J.* 21:C1–C68.
//!
//! ```
//! use uqforge_causal::{AteOptions, Estimator, Trial, crossfit::Folds, estimate_ate};
//! let d = uqforge_datasets::lalonde_nsw()?;
//! let trial = Trial::new(d.re78, d.treat, d.covariates)?;
//! let opts = AteOptions { folds: Some(Folds::Random(5)), repeats: 3, seed: 1, ..Default::default() };
//! let r = estimate_ate(&trial, Estimator::Aipw, &opts)?;
//! assert_eq!(r.cross_fitting.as_ref().unwrap().estimates.len(), 3);
//! assert!((1000.0..2500.0).contains(&r.estimate.value));
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DVector;
use uqforge_core::{Error, Result};

use crate::Trial;
use crate::ate::{AteOptions, AteResult, CrossFitInfo, Estimator, SeMethod, influence_se};
use crate::crossfit::{
    Folds, Nuisance, assign_folds, linear_logistic_cross_fit, median_aggregate, nuisance,
};
use crate::nuisance::{LinearOutcome, LogisticPropensity, OutcomeModel, PropensityModel};

/// AIPW with the built-in linear outcome and logistic propensity models (cross-fitted through
/// the copy-free fast path when no ridge is asked for).
pub(crate) fn aipw(trial: &Trial, o: &AteOptions) -> Result<AteResult> {
    if o.folds.is_some() && o.outcome_ridge == 0.0 && o.propensity_ridge == 0.0 {
        let x = trial.checked_model_covariates()?;
        return cross_fitted(trial, Estimator::Aipw, o, |folds| {
            let nu = match folds {
                Some(labels) => linear_logistic_cross_fit(trial, &x, labels, o.clip)?,
                None => nuisance(
                    trial,
                    &x,
                    &LinearOutcome::default(),
                    &LogisticPropensity::default(),
                    None,
                    o.clip,
                )?,
            };
            Ok((influence(trial, &nu), nu.clipping))
        });
    }
    aipw_with(
        trial,
        &LinearOutcome {
            ridge: o.outcome_ridge,
        },
        &LogisticPropensity {
            ridge: o.propensity_ridge,
        },
        o,
    )
}

/// AIPW with user-supplied nuisance models (the trial's known propensity, if any, takes
/// precedence over `propensity`).
///
/// # Errors
/// Nuisance-model failures; [`Error::Degenerate`] for propensities of 0 or 1 without
/// clipping; [`Error::InvalidParameter`] for bad folds.
pub fn aipw_with(
    trial: &Trial,
    outcome: &dyn OutcomeModel,
    propensity: &dyn PropensityModel,
    o: &AteOptions,
) -> Result<AteResult> {
    let x = trial.checked_model_covariates()?;
    cross_fitted(trial, Estimator::Aipw, o, |folds| {
        let nu = nuisance(trial, &x, outcome, propensity, folds, o.clip)?;
        Ok((influence(trial, &nu), nu.clipping))
    })
}

/// $\varphi_i$ of the module docs.
pub(crate) fn influence(trial: &Trial, nu: &Nuisance) -> DVector<f64> {
    let y = trial.outcomes();
    let t = trial.treatment();
    DVector::from_fn(trial.n(), |i, _| {
        let base = nu.mu1[i] - nu.mu0[i];
        if t[i] {
            base + (y[i] - nu.mu1[i]) / nu.e[i]
        } else {
            base - (y[i] - nu.mu0[i]) / (1.0 - nu.e[i])
        }
    })
}

/// Run `one` (which maps fold labels, or `None` for in-sample fits, to an influence vector)
/// once, or once per repeat with median aggregation.
pub(crate) fn cross_fitted(
    trial: &Trial,
    estimator: Estimator,
    o: &AteOptions,
    one: impl Fn(Option<&[usize]>) -> Result<(DVector<f64>, Option<crate::ClipReport>)>,
) -> Result<AteResult> {
    let summarise = |phi: &DVector<f64>| (phi.mean(), influence_se(phi));
    match &o.folds {
        None => {
            let (phi, clipping) = one(None)?;
            let (tau, se) = summarise(&phi);
            let mut r = AteResult::normal(
                trial,
                estimator,
                tau,
                se,
                o.level,
                SeMethod::InfluenceFunction {
                    estimated_propensity: false,
                },
            )?;
            r.clipping = clipping;
            Ok(r)
        }
        Some(folds) => {
            let (labels, seed): (Vec<Vec<usize>>, Option<u64>) = match folds {
                Folds::Explicit(l) => {
                    if o.repeats > 1 {
                        return Err(Error::invalid_parameter(
                            "repeats",
                            "explicit folds cannot be repeated; use random folds",
                        ));
                    }
                    (vec![l.clone()], None)
                }
                Folds::Random(k) => (
                    (0..o.repeats as u64)
                        .map(|r| assign_folds(trial.treatment(), *k, o.seed, r))
                        .collect::<Result<_>>()?,
                    Some(o.seed),
                ),
            };
            let k = labels[0].iter().max().map_or(0, |m| m + 1);
            let mut runs = Vec::with_capacity(labels.len());
            let mut clipping = None;
            for l in &labels {
                let (phi, clip) = one(Some(l))?;
                clipping = merge_clipping(clipping, clip);
                runs.push(summarise(&phi));
            }
            let (tau, se) = if runs.len() == 1 {
                runs[0]
            } else {
                median_aggregate(&runs)
            };
            let method = if runs.len() == 1 {
                SeMethod::InfluenceFunction {
                    estimated_propensity: false,
                }
            } else {
                SeMethod::RepeatedCrossFitting
            };
            let mut r = AteResult::normal(trial, estimator, tau, se, o.level, method)?;
            r.clipping = clipping;
            r.cross_fitting = Some(CrossFitInfo {
                folds: k,
                repeats: runs.len(),
                seed,
                estimates: runs.iter().map(|r| r.0).collect(),
            });
            Ok(r)
        }
    }
}

/// Over repeats, report the largest clipping counts (the bounds are the same).
fn merge_clipping(
    a: Option<crate::ClipReport>,
    b: Option<crate::ClipReport>,
) -> Option<crate::ClipReport> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.n_lower = a.n_lower.max(b.n_lower);
            a.n_upper = a.n_upper.max(b.n_upper);
            Some(a)
        }
        (a, b) => a.or(b),
    }
}
