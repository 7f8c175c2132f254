//! One entry point for every estimator: [`estimate_ate`] with an [`Estimator`] and
//! [`AteOptions`], returning an [`AteResult`] that says how its uncertainty was computed.
//!
//! ```
//! use uqforge_causal::{AteOptions, Estimator, Trial, estimate_ate};
//! let d = uqforge_datasets::lalonde_nsw()?;
//! let trial = Trial::new(d.re78, d.treat, d.covariates)?;
//! let dim = estimate_ate(&trial, Estimator::DifferenceInMeans, &AteOptions::default())?;
//! assert!((dim.estimate.value - 1794.342).abs() < 1e-3);
//! // The same with 200 seeded bootstrap resamples: same estimate, resampling SE.
//! let boot = estimate_ate(
//!     &trial,
//!     Estimator::DifferenceInMeans,
//!     &AteOptions { bootstrap: Some(200), seed: 7, ..AteOptions::default() },
//! )?;
//! assert_eq!(boot.estimate.value, dim.estimate.value);
//! let ratio = boot.estimate.std_error.unwrap() / dim.estimate.std_error.unwrap();
//! assert!((0.8..1.2).contains(&ratio));
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Estimate, Interval, Result, rng::stream, validate};

use crate::crossfit::Folds;
use crate::linear::HcType;
use crate::propensity::{Clip, ClipReport};
use crate::{Trial, aipw, dim, regression, tmle, weighting};

/// The estimators of [`estimate_ate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Estimator {
    /// Difference in means with Neyman's variance ([`crate::dim`]).
    DifferenceInMeans,
    /// Regression adjustment $Y \sim 1 + T + X$ ([`crate::regression`]).
    Ancova,
    /// Lin's (2013) fully interacted regression ([`crate::regression`]).
    Lin,
    /// Horvitz–Thompson inverse propensity weighting ([`crate::weighting`]).
    IpwHorvitzThompson,
    /// Hájek (normalised) inverse propensity weighting ([`crate::weighting`]).
    IpwHajek,
    /// Augmented IPW, in sample or cross-fitted ([`crate::aipw`]).
    Aipw,
    /// Overlap weights, estimating the ATO ([`crate::weighting`]).
    OverlapWeights,
    /// Targeted maximum likelihood for a binary or bounded outcome ([`crate::tmle`]).
    Tmle,
}

impl Estimator {
    /// Every estimator, in the order of the docs.
    pub const ALL: [Self; 8] = [
        Self::DifferenceInMeans,
        Self::Ancova,
        Self::Lin,
        Self::IpwHorvitzThompson,
        Self::IpwHajek,
        Self::Aipw,
        Self::OverlapWeights,
        Self::Tmle,
    ];

    /// The CLI name: `dim`, `ancova`, `lin`, `ipw-ht`, `ipw`, `aipw`, `overlap`, `tmle`.
    pub fn name(self) -> &'static str {
        match self {
            Self::DifferenceInMeans => "dim",
            Self::Ancova => "ancova",
            Self::Lin => "lin",
            Self::IpwHorvitzThompson => "ipw-ht",
            Self::IpwHajek => "ipw",
            Self::Aipw => "aipw",
            Self::OverlapWeights => "overlap",
            Self::Tmle => "tmle",
        }
    }

    /// Parse a CLI name.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] listing the valid names.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| {
                Error::invalid_parameter(
                    "estimator",
                    format!(
                        "unknown `{s}`; expected one of {}",
                        Self::ALL.map(Self::name).join(", ")
                    ),
                )
            })
    }

    /// Whether the estimator uses a propensity (known or estimated).
    pub fn uses_propensity(self) -> bool {
        matches!(
            self,
            Self::IpwHorvitzThompson
                | Self::IpwHajek
                | Self::Aipw
                | Self::OverlapWeights
                | Self::Tmle
        )
    }

    /// Whether the estimator fits outcome models that cross-fitting can apply to.
    pub fn supports_cross_fitting(self) -> bool {
        matches!(self, Self::Aipw | Self::Tmle)
    }
}

/// The population whose average effect is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimand {
    /// $\mathbb E[Y(1) - Y(0)]$ over the sample's population.
    Ate,
    /// The overlap-weighted effect $\mathbb E[e(1-e)(Y(1)-Y(0))] / \mathbb E[e(1-e)]$; equal to
    /// the ATE when the propensity is constant (an RCT) or the effect is homogeneous.
    Ato,
}

/// How the standard error was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SeMethod {
    /// Neyman's conservative variance $s_1^2/n_1 + s_0^2/n_0$ (per stratum when blocked).
    Neyman,
    /// Heteroskedasticity-consistent sandwich of a regression coefficient.
    Sandwich {
        /// HC0…HC3.
        hc: HcType,
    },
    /// $\sqrt{\sum_i (\varphi_i - \bar\varphi)^2 / (n(n-1))}$ over the estimated influence
    /// function; `estimated_propensity` tells whether the propensity-model correction was
    /// included (stacked M-estimation).
    InfluenceFunction {
        /// The propensity was estimated and its estimation is accounted for.
        estimated_propensity: bool,
    },
    /// Median over repeated cross-fitting with the median-adjusted variance.
    RepeatedCrossFitting,
    /// Standard deviation of bootstrap replicates; the interval is the percentile interval.
    Bootstrap {
        /// Resamples requested.
        replicates: usize,
        /// Resamples that could not be estimated (e.g. an empty arm) and were dropped.
        failed: usize,
        /// The seed of the resampling streams.
        seed: u64,
    },
}

/// Cross-fitting bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossFitInfo {
    /// Number of folds $K$.
    pub folds: usize,
    /// Number of independent fold assignments $R$.
    pub repeats: usize,
    /// The seed of the fold assignments (absent for explicit folds).
    pub seed: Option<u64>,
    /// The estimate of each repeat.
    pub estimates: Vec<f64>,
}

/// An average-treatment-effect estimate and how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AteResult {
    /// Which estimator.
    pub estimator: Estimator,
    /// ATE, or ATO for overlap weights.
    pub estimand: Estimand,
    /// Point estimate, standard error and confidence interval.
    pub estimate: Estimate,
    /// How the standard error was computed.
    pub se_method: SeMethod,
    /// Number of units.
    pub n: usize,
    /// Number of treated units.
    pub n_treated: usize,
    /// The clipping applied to propensities, if any.
    pub clipping: Option<ClipReport>,
    /// Cross-fitting details, if used.
    pub cross_fitting: Option<CrossFitInfo>,
}

impl AteResult {
    /// A result with a normal (Wald) interval.
    pub(crate) fn normal(
        trial: &Trial,
        estimator: Estimator,
        tau: f64,
        se: f64,
        level: f64,
        se_method: SeMethod,
    ) -> Result<Self> {
        if !tau.is_finite() || !se.is_finite() {
            return Err(Error::degenerate(
                estimator.name(),
                format!("non-finite estimate ({tau}) or standard error ({se})"),
            ));
        }
        Ok(Self {
            estimator,
            estimand: if estimator == Estimator::OverlapWeights {
                Estimand::Ato
            } else {
                Estimand::Ate
            },
            estimate: Estimate::normal(tau, se, level)?,
            se_method,
            n: trial.n(),
            n_treated: trial.n_treated(),
            clipping: None,
            cross_fitting: None,
        })
    }
}

/// Options shared by the estimators; each ignores what does not concern it, and
/// [`estimate_ate`] refuses options that would silently do nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AteOptions {
    /// Confidence level of the interval (default 0.95).
    pub level: f64,
    /// Sandwich type for `ancova` and `lin` (default HC2).
    pub hc: HcType,
    /// Explicit propensity clipping (default none).
    pub clip: Option<Clip>,
    /// Cross-fitting folds for `aipw` and `tmle` (default: in-sample nuisance fits).
    pub folds: Option<Folds>,
    /// Independent fold assignments (repeated cross-fitting), default 1.
    pub repeats: usize,
    /// Bootstrap resamples replacing the analytic SE (default none).
    pub bootstrap: Option<usize>,
    /// Seed of fold assignments and bootstrap streams.
    pub seed: u64,
    /// Ridge penalty of the logistic propensity model (default 0).
    pub propensity_ridge: f64,
    /// Ridge penalty of the linear outcome models (default 0).
    pub outcome_ridge: f64,
}

impl Default for AteOptions {
    fn default() -> Self {
        Self {
            level: 0.95,
            hc: HcType::Hc2,
            clip: None,
            folds: None,
            repeats: 1,
            bootstrap: None,
            seed: 0,
            propensity_ridge: 0.0,
            outcome_ridge: 0.0,
        }
    }
}

/// Estimate the average treatment effect of `trial` with `estimator`.
///
/// # Errors
/// Bad options ([`Error::InvalidParameter`]: cross-fitting for an estimator without nuisance
/// models, clipping for one without propensities, zero repeats or resamples), and whatever the
/// estimator refuses (see each module).
pub fn estimate_ate(
    trial: &Trial,
    estimator: Estimator,
    options: &AteOptions,
) -> Result<AteResult> {
    validate::in_open_range("level", options.level, 0.0, 1.0)?;
    validate::at_least("repeats", options.repeats, 1)?;
    if options.folds.is_some() && !estimator.supports_cross_fitting() {
        return Err(Error::invalid_parameter(
            "folds",
            format!(
                "cross-fitting applies to aipw and tmle, not {}",
                estimator.name()
            ),
        ));
    }
    if options.folds.is_none() && options.repeats > 1 {
        return Err(Error::invalid_parameter(
            "repeats",
            "repeated cross-fitting needs folds",
        ));
    }
    if options.clip.is_some() && !estimator.uses_propensity() {
        return Err(Error::invalid_parameter(
            "clip",
            format!(
                "{} uses no propensity, so there is nothing to clip",
                estimator.name()
            ),
        ));
    }
    let mut result = estimate_once(trial, estimator, options)?;
    if let Some(b) = options.bootstrap {
        validate::at_least("bootstrap", b, 2)?;
        bootstrap(trial, estimator, options, b, &mut result)?;
    }
    Ok(result)
}

fn estimate_once(trial: &Trial, estimator: Estimator, o: &AteOptions) -> Result<AteResult> {
    match estimator {
        Estimator::DifferenceInMeans => dim::difference_in_means(trial, o.level),
        Estimator::Ancova => regression::ancova(trial, o.hc, o.level),
        Estimator::Lin => regression::lin(trial, o.hc, o.level),
        Estimator::IpwHorvitzThompson | Estimator::IpwHajek | Estimator::OverlapWeights => {
            weighting::weighting(trial, estimator, o)
        }
        Estimator::Aipw => aipw::aipw(trial, o),
        Estimator::Tmle => tmle::tmle(trial, o),
    }
}

/// Nonparametric bootstrap: resample units with replacement ($B$ seeded ChaCha8 streams,
/// parallel), re-estimate, and replace the SE by the replicates' standard deviation and the
/// interval by their percentile interval. Resamples that leave an arm empty (or otherwise
/// cannot be estimated) are dropped and counted.
fn bootstrap(
    trial: &Trial,
    estimator: Estimator,
    o: &AteOptions,
    b: usize,
    result: &mut AteResult,
) -> Result<()> {
    use rand_core::Rng;
    let n = trial.n();
    let inner = AteOptions {
        bootstrap: None,
        ..o.clone()
    };
    let reps: Vec<Option<f64>> = (0..b)
        .into_par_iter()
        .map(|r| {
            let mut rng = stream(o.seed, r as u64);
            let rows: Vec<usize> = (0..n)
                .map(|_| (rng.next_u64() % n as u64) as usize)
                .collect();
            let sub = trial.select(&rows).ok()?;
            estimate_once(&sub, estimator, &inner)
                .ok()
                .map(|res| res.estimate.value)
        })
        .collect();
    let mut values: Vec<f64> = reps.into_iter().flatten().collect();
    let failed = b - values.len();
    if values.len() < 2 {
        return Err(Error::degenerate(
            "bootstrap",
            format!("{failed} of {b} resamples could not be estimated"),
        ));
    }
    let m = values.iter().sum::<f64>() / values.len() as f64;
    let sd =
        (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt();
    values.sort_by(f64::total_cmp);
    let alpha = 1.0 - o.level;
    let lo = quantile_sorted(&values, alpha / 2.0);
    let hi = quantile_sorted(&values, 1.0 - alpha / 2.0);
    result.estimate = Estimate {
        value: result.estimate.value,
        std_error: Some(sd),
        ci: Some(Interval::new(lo, hi, o.level)?),
    };
    result.se_method = SeMethod::Bootstrap {
        replicates: b,
        failed,
        seed: o.seed,
    };
    Ok(())
}

/// Type-7 (linear interpolation) quantile of sorted values.
pub(crate) fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// $\sqrt{\sum_i (\varphi_i - \bar\varphi)^2 / (n(n-1))}$.
pub(crate) fn influence_se(phi: &nalgebra::DVector<f64>) -> f64 {
    let n = phi.len() as f64;
    let m = phi.mean();
    (phi.iter().map(|p| (p - m).powi(2)).sum::<f64>() / (n * (n - 1.0))).sqrt()
}
