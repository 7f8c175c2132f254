//! Propensities for weighting estimators: known from the design or estimated, and clipped only
//! when asked, with a report of what was clipped.
//!
//! Weighting divides by $e(X_i)$ and $1 - e(X_i)$. When a propensity is near 0 or 1 the
//! weights explode; libraries that quietly clip them change the estimand without saying so.
//! Here clipping happens only through an explicit [`Clip`], and every result carries a
//! [`ClipReport`] (bounds and the number of units moved at each bound). Without a clip, a
//! known propensity of exactly 0 or 1 is refused when the trial is built, and an estimated one
//! cannot occur: separation stops the logistic fit first.
//!
//! In a randomised trial the propensity is **known**. Passing it matters: the known-propensity
//! IPW estimator is unbiased by design, and AIPW with the known propensity is unbiased for any
//! outcome model, however wrong (the property the synthetic-data study relies on).
//!
//! ```
//! use uqforge_causal::Clip;
//! let clip = Clip::new(0.05, 0.95)?;
//! assert_eq!(clip.apply(0.01), 0.05);
//! assert!(Clip::new(0.6, 0.4).is_err());
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DVector;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

use crate::Trial;
use crate::logistic::LogisticFit;
use crate::nuisance::LogisticPropensity;

/// Propensity bounds $[\ell, u]$ with $0 < \ell < u < 1$.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    lower: f64,
    upper: f64,
}

impl Clip {
    /// Bounds for clipping.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 < lower < upper < 1`.
    pub fn new(lower: f64, upper: f64) -> Result<Self> {
        if !(lower > 0.0 && lower < upper && upper < 1.0) {
            return Err(Error::invalid_parameter(
                "clip",
                format!("bounds must satisfy 0 < lower < upper < 1, got [{lower}, {upper}]"),
            ));
        }
        Ok(Self { lower, upper })
    }

    /// The lower bound.
    pub fn lower(&self) -> f64 {
        self.lower
    }

    /// The upper bound.
    pub fn upper(&self) -> f64 {
        self.upper
    }

    /// $\min(\max(e, \ell), u)$.
    pub fn apply(&self, e: f64) -> f64 {
        e.clamp(self.lower, self.upper)
    }
}

/// What clipping did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClipReport {
    /// The lower bound.
    pub lower: f64,
    /// The upper bound.
    pub upper: f64,
    /// Units raised to the lower bound.
    pub n_lower: usize,
    /// Units lowered to the upper bound.
    pub n_upper: usize,
}

impl ClipReport {
    /// Units clipped at either bound.
    pub fn total(&self) -> usize {
        self.n_lower + self.n_upper
    }
}

/// Propensities used by an estimator.
#[derive(Debug, Clone)]
pub(crate) struct Propensities {
    /// After clipping.
    pub(crate) e: DVector<f64>,
    /// Whether unit i was clipped (its propensity then does not move with the model).
    pub(crate) clipped: Vec<bool>,
    pub(crate) report: Option<ClipReport>,
    /// The logistic fit, when estimated in sample (for the estimated-propensity correction).
    pub(crate) fit: Option<LogisticFit>,
}

impl Propensities {
    /// The trial's known propensity, or a logistic fit on its model covariates.
    pub(crate) fn for_trial(
        trial: &Trial,
        model: &LogisticPropensity,
        clip: Option<Clip>,
    ) -> Result<Self> {
        match trial.known_propensity() {
            Some(k) => Ok(Self::from_values(k.to_vector(trial.n()), clip, None)),
            None => {
                let fit = model.fit(&*trial.checked_model_covariates()?, trial.treatment())?;
                let raw = fit.fitted().clone();
                Ok(Self::from_values(raw, clip, Some(fit)))
            }
        }
    }

    pub(crate) fn from_values(
        raw: DVector<f64>,
        clip: Option<Clip>,
        fit: Option<LogisticFit>,
    ) -> Self {
        let n = raw.len();
        let mut clipped = vec![false; n];
        let (e, report) = match clip {
            None => (raw, None),
            Some(c) => {
                let mut rep = ClipReport {
                    lower: c.lower,
                    upper: c.upper,
                    n_lower: 0,
                    n_upper: 0,
                };
                let e = DVector::from_iterator(
                    n,
                    raw.iter().enumerate().map(|(i, &v)| {
                        if v < c.lower {
                            rep.n_lower += 1;
                            clipped[i] = true;
                        } else if v > c.upper {
                            rep.n_upper += 1;
                            clipped[i] = true;
                        }
                        c.apply(v)
                    }),
                );
                (e, Some(rep))
            }
        };
        Self {
            e,
            clipped,
            report,
            fit,
        }
    }

    /// Refuse propensities of 0 or 1 (possible from user models or extreme fits).
    pub(crate) fn check_open(e: &DVector<f64>, what: &str) -> Result<()> {
        if let Some((i, v)) = e
            .iter()
            .enumerate()
            .find(|(_, v)| !(**v > 0.0 && **v < 1.0))
        {
            return Err(Error::degenerate(
                what,
                format!(
                    "propensity of unit {i} is {v}; weighting needs 0 < e < 1 \
                     (pass explicit clipping bounds to proceed)"
                ),
            ));
        }
        Ok(())
    }

    /// $\partial e_i / \partial \eta_i$: $e_i(1 - e_i)$, or 0 where clipping froze it.
    pub(crate) fn slope(&self) -> DVector<f64> {
        DVector::from_iterator(
            self.e.len(),
            self.e
                .iter()
                .zip(&self.clipped)
                .map(|(&e, &c)| if c { 0.0 } else { e * (1.0 - e) }),
        )
    }
}
