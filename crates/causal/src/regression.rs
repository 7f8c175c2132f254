//! Regression adjustment: ANCOVA and Lin's interacted regression, with HC0–HC3 errors.
//!
//! **ANCOVA** regresses $Y$ on $(1, T, X)$ and reports the coefficient of $T$. Freedman (2008)
//! showed that under randomisation it can be less precise than the difference in means when
//! effects are heterogeneous and arms are unbalanced, and that the classical OLS standard
//! error can be wrong in either direction.
//!
//! **Lin (2013)** answers Freedman: regress $Y$ on $(1, T, \tilde X, T\tilde X)$ with
//! covariates centred at their full-sample means, $\tilde X = X - \bar X$. The coefficient of
//! $T$ is then
//!
//! $$ \hat\tau_{\text{Lin}} = \hat\mu_1(\bar X) - \hat\mu_0(\bar X)
//!    = \frac1n\sum_i \big(\hat\mu_1(X_i) - \hat\mu_0(X_i)\big), $$
//!
//! with $\hat\mu_a$ the least-squares fit within arm $a$. It is asymptotically never less
//! precise than the difference in means, and the HC sandwich (HC2 by default, as in
//! `estimatr::lm_lin`) is a consistent or conservative variance estimator. It also equals AIPW
//! with linear outcome models and any constant known propensity (tested).
//!
//! References: D. Freedman (2008), *Advances in Applied Mathematics* 40:180–193;
//! W. Lin (2013), *Annals of Applied Statistics* 7:295–318.
//!
//! ```
//! use uqforge_causal::{Trial, linear::HcType, regression::lin};
//! let d = uqforge_datasets::lalonde_nsw()?;
//! let trial = Trial::new(d.re78, d.treat, d.covariates)?;
//! let r = lin(&trial, HcType::Hc2, 0.95)?;
//! assert!((1500.0..1800.0).contains(&r.estimate.value));
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DMatrix;
use uqforge_core::Result;

use crate::Trial;
use crate::ate::{AteResult, Estimator, SeMethod};
use crate::linear::{HcType, LeastSquares};

fn treatment_column(trial: &Trial) -> impl Iterator<Item = f64> + '_ {
    trial.treatment().iter().map(|&t| f64::from(u8::from(t)))
}

/// ANCOVA: the coefficient of $T$ in $Y \sim 1 + T + X$, with an HC standard error.
///
/// # Errors
/// [`uqforge_core::Error::Degenerate`] for constant or collinear covariates.
pub fn ancova(trial: &Trial, hc: HcType, level: f64) -> Result<AteResult> {
    let x = trial.checked_model_covariates()?;
    let (n, p) = x.shape();
    let t: Vec<f64> = treatment_column(trial).collect();
    let design = DMatrix::from_fn(n, p + 2, |i, j| match j {
        0 => 1.0,
        1 => t[i],
        _ => x[(i, j - 2)],
    });
    fit_coefficient_1(trial, Estimator::Ancova, &design, hc, level)
}

/// Lin's estimator: the coefficient of $T$ in $Y \sim 1 + T + \tilde X + T\tilde X$.
///
/// # Errors
/// [`uqforge_core::Error::Degenerate`] for constant or collinear covariates (within an arm).
pub fn lin(trial: &Trial, hc: HcType, level: f64) -> Result<AteResult> {
    let x = trial.checked_model_covariates()?;
    let (n, p) = x.shape();
    let means = x.row_mean();
    let t: Vec<f64> = treatment_column(trial).collect();
    let design = DMatrix::from_fn(n, 2 + 2 * p, |i, j| match j {
        0 => 1.0,
        1 => t[i],
        j if j < 2 + p => x[(i, j - 2)] - means[j - 2],
        j => t[i] * (x[(i, j - 2 - p)] - means[j - 2 - p]),
    });
    fit_coefficient_1(trial, Estimator::Lin, &design, hc, level)
}

fn fit_coefficient_1(
    trial: &Trial,
    estimator: Estimator,
    design: &DMatrix<f64>,
    hc: HcType,
    level: f64,
) -> Result<AteResult> {
    let fit = LeastSquares::fit(design, trial.outcomes(), 0.0)?;
    let v = fit.covariance(hc)?;
    AteResult::normal(
        trial,
        estimator,
        fit.coefficients()[1],
        v[(1, 1)].sqrt(),
        level,
        SeMethod::Sandwich { hc },
    )
}
