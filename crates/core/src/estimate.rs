//! Estimates with their uncertainty.
//!
//! An [`Estimate`] is what every uqforge estimator returns: a point value $\hat\theta$, its
//! standard error $\widehat{\mathrm{se}}$ when the method gives one, and a confidence
//! [`Interval`] that carries its own level. The normal (Wald) interval of level $1-\alpha$ is
//!
//! $$ \hat\theta \pm z_{1-\alpha/2}\thinspace  \widehat{\mathrm{se}}, \qquad z_q = \Phi^{-1}(q), $$
//!
//! with $\Phi^{-1}$ the standard normal quantile (from `statrs`). Intervals that are not
//! symmetric (bootstrap percentiles, replicate-based intervals) are built with
//! [`Interval::new`] and attached with [`Estimate::with_ci`].
//!
//! ```
//! use uqforge_core::Estimate;
//! let e = Estimate::normal(1794.34, 632.85, 0.95).unwrap();
//! let ci = e.ci.unwrap();
//! assert!((ci.lower - (1794.34 - 1.959964 * 632.85)).abs() < 1e-3);
//! assert_eq!(ci.level, 0.95);
//! ```

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::{Error, Result, validate};

/// A confidence interval `[lower, upper]` of nominal coverage `level` (e.g. 0.95).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Nominal coverage probability, in (0, 1).
    pub level: f64,
}

impl Interval {
    /// An interval from its bounds and level.
    ///
    /// # Errors
    /// [`Error::NonFinite`] for a NaN bound, [`Error::InvalidParameter`] when
    /// `lower > upper` or `level` is not in (0, 1).
    ///
    /// # Examples
    /// ```
    /// let ci = uqforge_core::Interval::new(0.1, 0.3, 0.9).unwrap();
    /// assert!(ci.contains(0.2));
    /// assert!((ci.width() - 0.2).abs() < 1e-15);
    /// assert!(uqforge_core::Interval::new(0.3, 0.1, 0.9).is_err());
    /// ```
    pub fn new(lower: f64, upper: f64, level: f64) -> Result<Self> {
        // Infinite bounds are legitimate (one-sided intervals); NaN is not.
        for (i, v) in [lower, upper].into_iter().enumerate() {
            if v.is_nan() {
                return Err(Error::NonFinite {
                    what: "interval bounds".into(),
                    index: i,
                    value: v,
                });
            }
        }
        validate::in_open_range("level", level, 0.0, 1.0)?;
        if lower > upper {
            return Err(Error::invalid_parameter(
                "interval",
                format!("lower bound {lower} exceeds upper bound {upper}"),
            ));
        }
        Ok(Self {
            lower,
            upper,
            level,
        })
    }

    /// `lower <= x <= upper`.
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }

    /// `upper - lower`.
    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }
}

/// A point estimate with its standard error and confidence interval.
///
/// Serialises to JSON as `{"value": …, "std_error": …, "ci": {"lower": …, "upper": …, "level": …}}`
/// (the last two `null` when absent).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Its estimated standard error, when the method provides one.
    pub std_error: Option<f64>,
    /// A confidence interval, when the method provides one.
    pub ci: Option<Interval>,
}

impl Estimate {
    /// A bare point estimate, with no uncertainty attached.
    pub fn point(value: f64) -> Self {
        Self {
            value,
            std_error: None,
            ci: None,
        }
    }

    /// A value with standard error `std_error` and the normal (Wald) interval of level `level`.
    ///
    /// # Errors
    /// [`Error::NonFinite`] for a non-finite value or standard error; [`Error::InvalidParameter`]
    /// for a negative standard error or a level outside (0, 1).
    ///
    /// # Examples
    /// ```
    /// let e = uqforge_core::Estimate::normal(0.0, 1.0, 0.95).unwrap();
    /// let ci = e.ci.unwrap();
    /// assert!((ci.upper - 1.959963984540054).abs() < 1e-12);
    /// assert!(uqforge_core::Estimate::normal(0.0, -1.0, 0.95).is_err());
    /// ```
    pub fn normal(value: f64, std_error: f64, level: f64) -> Result<Self> {
        validate::finite("estimate value and standard error", &[value, std_error])?;
        if std_error < 0.0 {
            return Err(Error::invalid_parameter(
                "std_error",
                format!("must be >= 0, got {std_error}"),
            ));
        }
        validate::in_open_range("level", level, 0.0, 1.0)?;
        let z = normal_quantile(0.5 + level / 2.0)?;
        Ok(Self {
            value,
            std_error: Some(std_error),
            ci: Some(Interval::new(
                value - z * std_error,
                value + z * std_error,
                level,
            )?),
        })
    }

    /// This estimate with `ci` as its interval.
    pub fn with_ci(self, ci: Interval) -> Self {
        Self {
            ci: Some(ci),
            ..self
        }
    }
}

/// The standard normal quantile $\Phi^{-1}(p)$ for $p \in (0, 1)$.
///
/// # Errors
/// [`Error::InvalidParameter`] when `p` is not in (0, 1).
///
/// # Examples
/// ```
/// let z = uqforge_core::estimate::normal_quantile(0.975).unwrap();
/// assert!((z - 1.959963984540054).abs() < 1e-12);
/// ```
pub fn normal_quantile(p: f64) -> Result<f64> {
    validate::in_open_range("p", p, 0.0, 1.0)?;
    let std_normal = Normal::standard();
    Ok(std_normal.inverse_cdf(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normal_quantiles_match_published_tables() {
        // Abramowitz & Stegun, Table 26.5 (and R's qnorm to 16 digits).
        for (p, z) in [
            (0.5, 0.0),
            (0.841_344_746_068_542_9, 1.0),
            (0.95, 1.6448536269514722),
            (0.975, 1.959963984540054),
            (0.995, 2.5758293035489004),
            (0.999, 3.090232306167813),
            (1e-10, -6.361340902404056),
        ] {
            let got = normal_quantile(p).unwrap();
            assert!(
                (got - z).abs() < 1e-9 * (1.0 + z.abs()),
                "p = {p}: {got} vs {z}"
            );
        }
        for bad in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(normal_quantile(bad).is_err());
        }
    }

    #[test]
    fn serialises_with_named_fields() {
        let e = Estimate::normal(2.0, 0.5, 0.9).unwrap();
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["value"], 2.0);
        assert_eq!(json["std_error"], 0.5);
        assert_eq!(json["ci"]["level"], 0.9);
        let back: Estimate = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        let p = serde_json::to_value(Estimate::point(1.0)).unwrap();
        assert!(p["ci"].is_null() && p["std_error"].is_null());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Estimate::normal(f64::NAN, 1.0, 0.95).is_err());
        assert!(Estimate::normal(0.0, f64::INFINITY, 0.95).is_err());
        assert!(Estimate::normal(0.0, 1.0, 1.0).is_err());
        assert!(Estimate::normal(0.0, 1.0, 0.0).is_err());
        assert!(Interval::new(f64::NAN, 1.0, 0.5).is_err());
        assert!(Interval::new(f64::NEG_INFINITY, 1.0, 0.5).is_ok());
    }

    proptest! {
        #[test]
        fn normal_interval_contains_its_value_and_is_symmetric(
            value in -1e6f64..1e6, se in 0.0f64..1e3, level in 0.01f64..0.999,
        ) {
            let e = Estimate::normal(value, se, level).unwrap();
            let ci = e.ci.unwrap();
            prop_assert!(ci.contains(value));
            let tol = 1e-9 * (1.0 + value.abs() + se);
            prop_assert!(((ci.upper - value) - (value - ci.lower)).abs() <= tol);
            prop_assert_eq!(ci.level, level);
        }

        #[test]
        fn normal_interval_widens_with_level(
            se in 1e-3f64..1e3, a in 0.01f64..0.99, b in 0.01f64..0.99,
        ) {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let w_lo = Estimate::normal(0.0, se, lo).unwrap().ci.unwrap().width();
            let w_hi = Estimate::normal(0.0, se, hi).unwrap().ci.unwrap().width();
            prop_assert!(w_lo <= w_hi + 1e-12 * se);
        }

        #[test]
        fn quantile_is_antisymmetric(p in 1e-12f64..0.5) {
            let a = normal_quantile(p).unwrap();
            let b = normal_quantile(1.0 - p).unwrap();
            // 1 - p is rounded in floating point; the tolerance follows from the density at z.
            prop_assert!((a + b).abs() < 1e-7 * (1.0 + a.abs()));
        }
    }
}
