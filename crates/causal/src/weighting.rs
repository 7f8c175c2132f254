//! Inverse propensity weighting (Horvitz–Thompson and Hájek) and overlap weights, with
//! standard errors that account for an estimated propensity.
//!
//! With propensities $e_i = e(X_i)$:
//!
//! - **Horvitz–Thompson**: $\hat\tau_{\text{HT}} = \frac1n\sum_i \psi_i$,
//!   $\psi_i = \frac{T_i Y_i}{e_i} - \frac{(1-T_i) Y_i}{1-e_i}$. Unbiased with the true
//!   propensity, but not invariant to shifting $Y$ by a constant.
//! - **Hájek**: normalised weights, $\hat\tau = \hat\mu_1 - \hat\mu_0$ with
//!   $\hat\mu_1 = \sum_i T_i w_{1i} Y_i / \sum_i T_i w_{1i}$, $w_1 = 1/e$, and likewise
//!   $w_0 = 1/(1-e)$ for controls. With a constant propensity it is the difference in means.
//! - **Overlap weights** (Li, Morgan & Zaslavsky 2018): $w_1 = 1 - e$, $w_0 = e$. They estimate
//!   the ATO, $\mathbb E[e(1-e)\tau(X)] / \mathbb E[e(1-e)]$, never divide by a propensity,
//!   and balance the means of the propensity model's covariates exactly.
//!
//! **Standard errors.** For a weighted mean, the estimating function
//! $\psi_{1i} = T_i w_1(e_i)(Y_i - \mu_1)$ has influence contribution $\psi_{1i}/a_1$ with
//! $a_1 = \frac1n\sum_i T_i w_1(e_i)$. When $e_i = \sigma(Z_i^\top\beta)$ is estimated by
//! logistic regression, stacking its score $s_i = (T_i - e_i) Z_i$ with $\psi$ gives
//! (Lunceford & Davidian 2004, section 3.2)
//!
//! $$ \varphi_i = \psi_i + m^\top I^{-1} s_i, \qquad m = \sum_i \frac{\partial\psi_i}{\partial\beta},
//!    \quad I = \sum_i e_i(1-e_i) Z_i Z_i^\top, $$
//!
//! and $\widehat{\mathrm{se}} = \sqrt{\sum_i (\varphi_i - \bar\varphi)^2 / (n(n-1))}$. The
//! correction makes the SE *smaller* for IPW: estimating the propensity, even when it is known,
//! improves efficiency (Hirano, Imbens & Ridder 2003). With a known propensity the correction
//! is absent. Clipped units do not move with $\beta$, so they get no correction.
//!
//! References: D. Horvitz & D. Thompson (1952), *JASA* 47:663–685; J. Lunceford & M. Davidian
//! (2004), *Statistics in Medicine* 23:2937–2960; F. Li, K. Morgan & A. Zaslavsky (2018),
//! *JASA* 113:390–400.
//!
//! ```
//! use uqforge_causal::{AteOptions, Estimator, Trial, estimate_ate};
//! let d = uqforge_datasets::lalonde_nsw()?;
//! let trial = Trial::new(d.re78, d.treat, d.covariates)?.with_constant_propensity(185.0 / 445.0)?;
//! // With the design's propensity, Hájek IPW is the difference in means.
//! let ipw = estimate_ate(&trial, Estimator::IpwHajek, &AteOptions::default())?;
//! let dim = estimate_ate(&trial, Estimator::DifferenceInMeans, &AteOptions::default())?;
//! assert!((ipw.estimate.value - dim.estimate.value).abs() < 1e-9);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DVector;
use uqforge_core::Result;

use crate::Trial;
use crate::ate::{AteOptions, AteResult, Estimator, SeMethod, influence_se};
use crate::nuisance::LogisticPropensity;
use crate::propensity::Propensities;

/// Weights $w_1(e), w_0(e)$ and their derivatives in $e$.
#[derive(Clone, Copy)]
enum Scheme {
    Hajek,
    Overlap,
}

impl Scheme {
    /// $(w_1, w_1', w_0, w_0')$ at $e$.
    fn weights(self, e: f64) -> (f64, f64, f64, f64) {
        match self {
            Self::Hajek => (
                1.0 / e,
                -1.0 / (e * e),
                1.0 / (1.0 - e),
                1.0 / ((1.0 - e) * (1.0 - e)),
            ),
            Self::Overlap => (1.0 - e, -1.0, e, 1.0),
        }
    }
}

/// Horvitz–Thompson, Hájek or overlap weighting (`estimator` picks which).
///
/// # Errors
/// Propensity-model failures (separation, collinearity); [`uqforge_core::Error::Degenerate`]
/// for propensities of 0 or 1 without clipping.
pub(crate) fn weighting(trial: &Trial, estimator: Estimator, o: &AteOptions) -> Result<AteResult> {
    let model = LogisticPropensity {
        ridge: o.propensity_ridge,
    };
    let props = Propensities::for_trial(trial, &model, o.clip)?;
    Propensities::check_open(&props.e, estimator.name())?;
    let y = trial.outcomes();
    let t = trial.treatment();
    let n = trial.n();
    let e = &props.e;
    // psi: the estimating function at the solution (already divided by a for weighted means);
    // g: d psi / d e, to be multiplied by de/deta for the propensity correction.
    let (tau, psi, g) = match estimator {
        Estimator::IpwHorvitzThompson => {
            let psi = DVector::from_fn(n, |i, _| {
                if t[i] {
                    y[i] / e[i]
                } else {
                    -y[i] / (1.0 - e[i])
                }
            });
            let tau = psi.mean();
            let g = DVector::from_fn(n, |i, _| {
                if t[i] {
                    -y[i] / (e[i] * e[i])
                } else {
                    -y[i] / ((1.0 - e[i]) * (1.0 - e[i]))
                }
            });
            (tau, psi.add_scalar(-tau), g)
        }
        _ => {
            let scheme = if estimator == Estimator::OverlapWeights {
                Scheme::Overlap
            } else {
                Scheme::Hajek
            };
            let (mut s1, mut sy1, mut s0, mut sy0) = (0.0, 0.0, 0.0, 0.0);
            for i in 0..n {
                let (w1, _, w0, _) = scheme.weights(e[i]);
                if t[i] {
                    s1 += w1;
                    sy1 += w1 * y[i];
                } else {
                    s0 += w0;
                    sy0 += w0 * y[i];
                }
            }
            let (mu1, mu0) = (sy1 / s1, sy0 / s0);
            let (a1, a0) = (s1 / n as f64, s0 / n as f64);
            let mut psi = DVector::zeros(n);
            let mut g = DVector::zeros(n);
            for i in 0..n {
                let (w1, dw1, w0, dw0) = scheme.weights(e[i]);
                if t[i] {
                    psi[i] = w1 * (y[i] - mu1) / a1;
                    g[i] = dw1 * (y[i] - mu1) / a1;
                } else {
                    psi[i] = -w0 * (y[i] - mu0) / a0;
                    g[i] = -dw0 * (y[i] - mu0) / a0;
                }
            }
            (mu1 - mu0, psi, g)
        }
    };
    let (phi, estimated) = match &props.fit {
        Some(fit) => {
            let g_eta = g.component_mul(&props.slope());
            let target = DVector::from_iterator(n, t.iter().map(|&ti| f64::from(u8::from(ti))));
            (&psi + fit.score_correction(&target, &g_eta), true)
        }
        None => (psi, false),
    };
    let mut result = AteResult::normal(
        trial,
        estimator,
        tau,
        influence_se(&phi),
        o.level,
        SeMethod::InfluenceFunction {
            estimated_propensity: estimated,
        },
    )?;
    result.clipping = props.report;
    Ok(result)
}
