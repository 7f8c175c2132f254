//! Targeted maximum likelihood (TMLE) for a binary or bounded outcome.
//!
//! TMLE (van der Laan & Rubin 2006) corrects an initial outcome model $\bar Q(a, x)$ so that
//! the plug-in estimate solves the efficient-influence-function equation, and stays inside the
//! outcome's range (unlike AIPW, whose weighted residual can push a probability above 1).
//!
//! 1. Scale $Y$ to $[0, 1]$: $Y^* = (Y - a)/(b - a)$ with $a, b$ the observed minimum and
//!    maximum (0 and 1 for a binary outcome; Gruber & van der Laan 2010).
//! 2. Fit the initial model within each arm by quasi-binomial logistic regression of $Y^*$ on
//!    $(1, X)$ (ridge-penalised by [`crate::AteOptions::outcome_ridge`]) and bound its predictions to $[0.005, 0.995]$ (the `tmle` R package's default).
//! 3. With the clever covariate $H(T, X) = T/e(X) - (1 - T)/(1 - e(X))$, fit the fluctuation
//!    $\operatorname{logit}\bar Q^*(T, X) = \operatorname{logit}\bar Q(T, X) + \varepsilon H(T, X)$
//!    by maximum likelihood in $\varepsilon$ alone (the initial fit is an offset).
//! 4. $\hat\tau = (b - a)\frac1n\sum_i\big(\bar Q^*(1, X_i) - \bar Q^*(0, X_i)\big)$, with the
//!    influence function
//!    $\varphi_i = (b-a)\big[H_i\big(Y^*_i - \bar Q^*(T_i, X_i)\big) + \bar Q^*(1, X_i)
//!    - \bar Q^*(0, X_i)\big]$ and $\widehat{\mathrm{se}} = \sqrt{\sum_i(\varphi_i - \hat\tau)^2 / (n(n-1))}$.
//!
//! The fluctuation's score equation is exactly $\sum_i H_i(Y^*_i - \bar Q^*_i) = 0$, so the
//! weighted-residual term of $\varphi$ averages to zero and $\hat\tau$ is a plug-in. With
//! cross-fitting, steps 2 and the propensity use out-of-fold fits and step 3 runs on all units.
//!
//! References: M. van der Laan & D. Rubin (2006), *Int. J. Biostatistics* 2(1);
//! S. Gruber & M. van der Laan (2010), *Int. J. Biostatistics* 6(1), art. 26.
//!
//! ```
//! use uqforge_causal::{AteOptions, Estimator, Trial, estimate_ate};
//! let d = uqforge_datasets::lalonde_nsw()?;
//! let trial = Trial::new(d.re78, d.treat, d.covariates)?;
//! let r = estimate_ate(&trial, Estimator::Tmle, &AteOptions::default())?;
//! assert!((1000.0..2500.0).contains(&r.estimate.value));
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{DMatrix, DVector};
use uqforge_core::{Error, Result};

use crate::Trial;
use crate::aipw::cross_fitted;
use crate::ate::{AteOptions, AteResult, Estimator};
use crate::crossfit::nuisance;
use crate::logistic::{LogisticRegression, sigmoid};
use crate::nuisance::{LogisticPropensity, OutcomeModel, with_intercept};

/// Bound on initial predictions, $[\delta, 1 - \delta]$.
const Q_BOUND: f64 = 0.005;

/// Quasi-binomial logistic regression of an outcome in $[0, 1]$ on $(1, X)$.
struct QuasiBinomial {
    ridge: f64,
}

impl OutcomeModel for QuasiBinomial {
    fn fit_predict(
        &self,
        x_train: &DMatrix<f64>,
        y_train: &DVector<f64>,
        x_new: &DMatrix<f64>,
    ) -> Result<DVector<f64>> {
        let fit = LogisticRegression::default()
            .with_ridge(self.ridge)
            .named("TMLE outcome model")
            .fit(&with_intercept(x_train), y_train)?;
        Ok(fit
            .predict(&with_intercept(x_new))?
            .map(|q| q.clamp(Q_BOUND, 1.0 - Q_BOUND)))
    }
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// TMLE of the ATE.
pub(crate) fn tmle(trial: &Trial, o: &AteOptions) -> Result<AteResult> {
    let y = trial.outcomes();
    let (lo, hi) = y
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if hi <= lo {
        return Err(Error::degenerate("tmle", "the outcome is constant"));
    }
    let range = hi - lo;
    let scaled = y.map(|v| (v - lo) / range);
    let star = trial.with_outcomes(scaled.clone())?;
    let x = star.checked_model_covariates()?;
    let t = trial.treatment();
    let propensity = LogisticPropensity {
        ridge: o.propensity_ridge,
    };
    let outcome = QuasiBinomial {
        ridge: o.outcome_ridge,
    };
    cross_fitted(trial, Estimator::Tmle, o, |folds| {
        let nu = nuisance(&star, &x, &outcome, &propensity, folds, o.clip)?;
        let n = trial.n();
        let h = DVector::from_fn(n, |i, _| {
            if t[i] {
                1.0 / nu.e[i]
            } else {
                -1.0 / (1.0 - nu.e[i])
            }
        });
        let offset = DVector::from_fn(n, |i, _| logit(if t[i] { nu.mu1[i] } else { nu.mu0[i] }));
        let eps = fluctuate(&scaled, &offset, &h)?;
        let q1 = DVector::from_fn(n, |i, _| sigmoid(logit(nu.mu1[i]) + eps / nu.e[i]));
        let q0 = DVector::from_fn(n, |i, _| sigmoid(logit(nu.mu0[i]) - eps / (1.0 - nu.e[i])));
        let phi = DVector::from_fn(n, |i, _| {
            let qt = if t[i] { q1[i] } else { q0[i] };
            range * (h[i] * (scaled[i] - qt) + q1[i] - q0[i])
        });
        // The score equation makes mean(phi) the plug-in (b - a) mean(q1 - q0) up to the
        // solver's tolerance; report the plug-in exactly by shifting phi.
        let plug_in = range * (&q1 - &q0).mean();
        let shift = plug_in - phi.mean();
        Ok((phi.add_scalar(shift), nu.clipping))
    })
}

/// Maximum-likelihood $\varepsilon$ of $\operatorname{logit} Q^* = \text{offset} + \varepsilon H$
/// by safeguarded Newton iterations on the concave log-likelihood.
fn fluctuate(y: &DVector<f64>, offset: &DVector<f64>, h: &DVector<f64>) -> Result<f64> {
    let loglik = |eps: f64| -> f64 {
        y.iter()
            .zip(offset.iter().zip(h.iter()))
            .map(|(&yi, (&o, &hi))| {
                let eta = o + eps * hi;
                // y log q + (1-y) log(1-q) = y eta - log(1 + e^eta)
                let l1pe = if eta > 0.0 {
                    eta + (-eta).exp().ln_1p()
                } else {
                    eta.exp().ln_1p()
                };
                yi * eta - l1pe
            })
            .sum()
    };
    let mut eps = 0.0;
    let mut ll = loglik(eps);
    for _ in 0..100 {
        let (mut g, mut info) = (0.0, 0.0);
        for ((&yi, &o), &hi) in y.iter().zip(offset.iter()).zip(h.iter()) {
            let q = sigmoid(o + eps * hi);
            g += hi * (yi - q);
            info += hi * hi * q * (1.0 - q);
        }
        if info <= 0.0 {
            break;
        }
        let mut step = g / info;
        // Newton decrement g^2 / info: the log-likelihood gain a full step promises.
        if g * step < 1e-13 * (1.0 + ll.abs()) {
            return Ok(eps);
        }
        let mut moved = false;
        for _ in 0..40 {
            let cand = loglik(eps + step);
            if cand > ll {
                eps += step;
                ll = cand;
                moved = true;
                break;
            }
            step *= 0.5;
        }
        if !moved {
            return Ok(eps);
        }
    }
    Err(Error::DidNotConverge {
        what: "TMLE fluctuation".into(),
        iterations: 100,
        residual: f64::NAN,
    })
}
