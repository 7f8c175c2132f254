//! Diagnostics for weighting: covariate balance, propensity overlap, effective sample size.
//!
//! - **Standardised mean difference** of covariate $j$, before and after weighting:
//!   $d_j = (\bar x_{1j}^w - \bar x_{0j}^w) / \sqrt{(s_{1j}^2 + s_{0j}^2)/2}$, with
//!   weighted arm means and the *unweighted* arm variances in the denominator, so that before
//!   and after are on one scale (Austin 2009; the `cobalt` convention). $|d_j| < 0.1$
//!   is the usual rule of thumb for balance.
//! - **Overlap**: quantiles of the propensity in each arm, and the number of units outside
//!   $[0.1, 0.9]$ (Crump et al. 2009's trimming region).
//! - **Effective sample size** per arm (Kish): $(\sum_i w_i)^2 / \sum_i w_i^2$; a weighting
//!   that leans on a few units has a small ESS even when $n$ is large.
//!
//! Weights are $1/e$ and $1/(1-e)$ for [`Weighting::InverseProbability`], and $1-e$ and $e$ for
//! [`Weighting::Overlap`]. Overlap weights with a logistic propensity balance the model's
//! covariates exactly (Li, Morgan & Zaslavsky 2018), which the tests check.
//!
//! References: P. Austin (2009), *Statistics in Medicine* 28:3083–3107; R. Crump, V. Hotz,
//! G. Imbens, O. Mitnik (2009), *Biometrika* 96:187–199; L. Kish (1965), *Survey Sampling*.
//!
//! ```
//! use uqforge_causal::{Trial, diagnostics::{Weighting, diagnostics}};
//! let d = uqforge_datasets::lalonde_nsw()?;
//! let trial = Trial::new(d.re78, d.treat, d.covariates)?;
//! let diag = diagnostics(&trial, Weighting::Overlap, 0.0, None)?;
//! assert!(diag.balance.iter().all(|b| b.smd_weighted.abs() < 1e-6));
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use uqforge_core::Result;

use crate::Trial;
use crate::nuisance::LogisticPropensity;
use crate::propensity::{Clip, ClipReport, Propensities};

/// Which weights to diagnose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Weighting {
    /// $1/e$ for treated, $1/(1-e)$ for controls (IPW, ATE).
    InverseProbability,
    /// $1-e$ for treated, $e$ for controls (ATO).
    Overlap,
}

/// Balance of one covariate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    /// Column index in the model covariates.
    pub covariate: usize,
    /// SMD without weights.
    pub smd_unweighted: f64,
    /// SMD with the weights.
    pub smd_weighted: f64,
}

/// Five-number summary of propensities in one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Minimum.
    pub min: f64,
    /// 5 % quantile.
    pub q05: f64,
    /// Median.
    pub median: f64,
    /// 95 % quantile.
    pub q95: f64,
    /// Maximum.
    pub max: f64,
}

/// The diagnostics of one weighting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// The weights diagnosed.
    pub weighting: Weighting,
    /// Whether the propensity was estimated (false: known from the design).
    pub estimated_propensity: bool,
    /// Per-covariate balance.
    pub balance: Vec<Balance>,
    /// Propensities among the treated.
    pub treated: Spread,
    /// Propensities among the controls.
    pub control: Spread,
    /// Units with propensity outside $[0.1, 0.9]$.
    pub outside_01_09: usize,
    /// Kish effective sample size of the treated arm.
    pub ess_treated: f64,
    /// Kish effective sample size of the control arm.
    pub ess_control: f64,
    /// Clipping applied before weighting.
    pub clipping: Option<ClipReport>,
}

fn spread(mut v: Vec<f64>) -> Spread {
    v.sort_by(f64::total_cmp);
    let q = |p| crate::ate::quantile_sorted(&v, p);
    Spread {
        min: v[0],
        q05: q(0.05),
        median: q(0.5),
        q95: q(0.95),
        max: v[v.len() - 1],
    }
}

/// Balance, overlap and effective sample sizes of `weighting` (propensity known from the
/// trial, or a logistic fit with the given ridge).
///
/// # Errors
/// Propensity-model failures (separation, constant covariates).
pub fn diagnostics(
    trial: &Trial,
    weighting: Weighting,
    propensity_ridge: f64,
    clip: Option<Clip>,
) -> Result<Diagnostics> {
    let props = Propensities::for_trial(
        trial,
        &LogisticPropensity {
            ridge: propensity_ridge,
        },
        clip,
    )?;
    Propensities::check_open(&props.e, "diagnostics")?;
    let x = trial.model_covariates();
    let t = trial.treatment();
    let w: Vec<f64> = props
        .e
        .iter()
        .zip(t)
        .map(|(&e, &ti)| match (weighting, ti) {
            (Weighting::InverseProbability, true) => 1.0 / e,
            (Weighting::InverseProbability, false) => 1.0 / (1.0 - e),
            (Weighting::Overlap, true) => 1.0 - e,
            (Weighting::Overlap, false) => e,
        })
        .collect();
    let arm_stats = |col: &[f64], arm: bool, weighted: bool| -> (f64, f64) {
        let (mut sw, mut swx, mut n, mut sx, mut sxx) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in (0..col.len()).filter(|&i| t[i] == arm) {
            let wi = if weighted { w[i] } else { 1.0 };
            sw += wi;
            swx += wi * col[i];
            n += 1.0;
            sx += col[i];
            sxx += col[i] * col[i];
        }
        let mean_u = sx / n;
        let var = (sxx - n * mean_u * mean_u) / (n - 1.0);
        (swx / sw, var.max(0.0))
    };
    let balance = x
        .column_iter()
        .enumerate()
        .map(|(j, col)| {
            let col: Vec<f64> = col.iter().copied().collect();
            let smd = |weighted: bool| {
                let (m1, v1) = arm_stats(&col, true, weighted);
                let (m0, v0) = arm_stats(&col, false, weighted);
                let sd = ((v1 + v0) / 2.0).sqrt();
                if sd > 0.0 { (m1 - m0) / sd } else { 0.0 }
            };
            Balance {
                covariate: j,
                smd_unweighted: smd(false),
                smd_weighted: smd(true),
            }
        })
        .collect();
    let ess = |arm: bool| {
        let (s, s2) = (0..t.len())
            .filter(|&i| t[i] == arm)
            .fold((0.0, 0.0), |(s, s2), i| (s + w[i], s2 + w[i] * w[i]));
        s * s / s2
    };
    let pick = |arm: bool| -> Vec<f64> {
        (0..t.len())
            .filter(|&i| t[i] == arm)
            .map(|i| props.e[i])
            .collect()
    };
    Ok(Diagnostics {
        weighting,
        estimated_propensity: props.fit.is_some(),
        balance,
        treated: spread(pick(true)),
        control: spread(pick(false)),
        outside_01_09: props
            .e
            .iter()
            .filter(|&&e| !(0.1..=0.9).contains(&e))
            .count(),
        ess_treated: ess(true),
        ess_control: ess(false),
        clipping: props.report,
    })
}
