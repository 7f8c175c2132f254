//! Trial data: outcome, binary treatment, covariates, and what the design tells us.
//!
//! A [`Trial`] holds $n$ units $(Y_i, T_i, X_i)$ with $T_i \in \lbrace 0, 1\rbrace$ and $X_i$
//! the $i$-th row of the covariate matrix (rows = units). It may carry the **known propensity**
//! $e(x) = P(T = 1 \mid X = x)$ of a randomised design (a constant such as $185/445$, or one
//! value per unit) and **strata** (blocks of a blocked randomisation). Validation happens once,
//! in [`Trial::new`], so that estimators can rely on a binary treatment with both arms present
//! and on finite numbers.

use std::borrow::Cow;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

/// The propensity $e(x) = P(T=1 \mid X=x)$ when the design fixes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KnownPropensity {
    /// The same probability for every unit (complete or Bernoulli randomisation).
    Constant(f64),
    /// One probability per unit (e.g. stratified designs with different allocation ratios).
    PerUnit(DVector<f64>),
}

impl KnownPropensity {
    /// The propensity of unit `i`.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Self::Constant(p) => *p,
            Self::PerUnit(p) => p[i],
        }
    }

    /// All $n$ propensities as a vector.
    pub fn to_vector(&self, n: usize) -> DVector<f64> {
        match self {
            Self::Constant(p) => DVector::from_element(n, *p),
            Self::PerUnit(p) => p.clone(),
        }
    }
}

/// A two-arm trial (or observational sample): outcome, treatment, covariates.
///
/// # Examples
/// ```
/// use nalgebra::{DMatrix, DVector};
/// use uqforge_causal::Trial;
/// let y = DVector::from_vec(vec![1.0, 2.0, 3.0, 5.0]);
/// let x = DMatrix::from_row_slice(4, 1, &[0.1, 0.4, 0.2, 0.3]);
/// let trial = Trial::new(y, vec![false, false, true, true], x)?;
/// assert_eq!((trial.n(), trial.n_treated()), (4, 2));
/// // A propensity of 1 makes the control arm impossible: refused.
/// assert!(trial.clone().with_constant_propensity(1.0).is_err());
/// # Ok::<(), uqforge_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    y: DVector<f64>,
    t: Vec<bool>,
    x: DMatrix<f64>,
    propensity: Option<KnownPropensity>,
    strata: Option<Vec<usize>>,
}

impl Trial {
    /// A trial from outcomes `y`, treatment indicators `t` and covariates `x` (rows = units;
    /// zero columns is allowed for estimators that use no covariates).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no units, [`Error::DimensionMismatch`] when the lengths
    /// differ, [`Error::NonFinite`] for a NaN or infinite outcome or covariate,
    /// [`Error::Degenerate`] when one arm is empty.
    pub fn new(y: DVector<f64>, t: Vec<bool>, x: DMatrix<f64>) -> Result<Self> {
        validate::non_empty("outcomes", y.as_slice())?;
        validate::len("treatment indicators", y.len(), t.len())?;
        validate::len("covariate rows", y.len(), x.nrows())?;
        validate::finite("outcomes", y.as_slice())?;
        for (j, col) in x.column_iter().enumerate() {
            if let Some((i, &v)) = col.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(Error::NonFinite {
                    what: format!("covariate column {j}"),
                    index: i,
                    value: v,
                });
            }
        }
        let n1 = t.iter().filter(|&&ti| ti).count();
        if n1 == 0 || n1 == t.len() {
            return Err(Error::degenerate(
                "treatment",
                format!(
                    "one arm is empty ({n1} treated, {} controls): no contrast can be estimated",
                    t.len() - n1
                ),
            ));
        }
        Ok(Self {
            y,
            t,
            x,
            propensity: None,
            strata: None,
        })
    }

    /// A trial from a numeric treatment column, which must hold only 0 and 1.
    ///
    /// # Errors
    /// As [`Trial::new`], and [`Error::InvalidParameter`] for a value other than 0 or 1.
    pub fn from_numeric(y: DVector<f64>, t: &[f64], x: DMatrix<f64>) -> Result<Self> {
        let mut flags = Vec::with_capacity(t.len());
        for (i, &v) in t.iter().enumerate() {
            if v == 1.0 {
                flags.push(true);
            } else if v == 0.0 {
                flags.push(false);
            } else {
                return Err(Error::invalid_parameter(
                    "treatment",
                    format!("must be binary (0 or 1); unit {i} has {v}"),
                ));
            }
        }
        Self::new(y, flags, x)
    }

    /// Attach the design's constant propensity $P(T = 1)$.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless $0 < p < 1$: with $p \in \lbrace 0,1\rbrace$ one
    /// potential outcome is never observed and no weighting estimator exists.
    pub fn with_constant_propensity(mut self, p: f64) -> Result<Self> {
        validate::in_open_range("propensity", p, 0.0, 1.0)?;
        self.propensity = Some(KnownPropensity::Constant(p));
        Ok(self)
    }

    /// Attach one known propensity per unit.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a wrong length, [`Error::InvalidParameter`] for a
    /// value outside $(0, 1)$ (named by its unit).
    pub fn with_unit_propensities(mut self, p: DVector<f64>) -> Result<Self> {
        validate::len("known propensities", self.n(), p.len())?;
        for (i, &v) in p.iter().enumerate() {
            if !(v > 0.0 && v < 1.0) {
                return Err(Error::invalid_parameter(
                    "propensity",
                    format!(
                        "known propensities must lie strictly between 0 and 1; unit {i} has {v}"
                    ),
                ));
            }
        }
        self.propensity = Some(KnownPropensity::PerUnit(p));
        Ok(self)
    }

    /// Attach strata labels (blocks of a blocked randomisation), one per unit.
    ///
    /// The difference in means becomes the blocked estimator; every other estimator adds one
    /// indicator column per stratum but the first to its covariates.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a wrong length; [`Error::Degenerate`] when a stratum
    /// has no treated or no control unit.
    pub fn with_strata(mut self, strata: Vec<usize>) -> Result<Self> {
        validate::len("strata labels", self.n(), strata.len())?;
        let k = strata.iter().max().map_or(0, |m| m + 1);
        let mut counts = vec![[0usize; 2]; k];
        for (&s, &ti) in strata.iter().zip(&self.t) {
            counts[s][usize::from(ti)] += 1;
        }
        for (s, c) in counts.iter().enumerate() {
            if c[0] + c[1] > 0 && (c[0] == 0 || c[1] == 0) {
                return Err(Error::degenerate(
                    "strata",
                    format!(
                        "stratum {s} has {} treated and {} control units; every stratum needs both",
                        c[1], c[0]
                    ),
                ));
            }
        }
        self.strata = Some(strata);
        Ok(self)
    }

    /// Number of units $n$.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// Number of treated units $n_1$.
    pub fn n_treated(&self) -> usize {
        self.t.iter().filter(|&&t| t).count()
    }

    /// Outcomes.
    pub fn outcomes(&self) -> &DVector<f64> {
        &self.y
    }

    /// Treatment indicators.
    pub fn treatment(&self) -> &[bool] {
        &self.t
    }

    /// Covariates as given (rows = units).
    pub fn covariates(&self) -> &DMatrix<f64> {
        &self.x
    }

    /// The known propensity, if the design gives one.
    pub fn known_propensity(&self) -> Option<&KnownPropensity> {
        self.propensity.as_ref()
    }

    /// Strata labels, if any.
    pub fn strata(&self) -> Option<&[usize]> {
        self.strata.as_deref()
    }

    /// Covariates used by model-based estimators: the given columns, then one indicator per
    /// stratum but the first (strata present in the data only).
    pub fn model_covariates(&self) -> DMatrix<f64> {
        let Some(strata) = &self.strata else {
            return self.x.clone();
        };
        let mut labels: Vec<usize> = strata.clone();
        labels.sort_unstable();
        labels.dedup();
        let extra = labels.len().saturating_sub(1);
        let p = self.x.ncols();
        DMatrix::from_fn(self.n(), p + extra, |i, j| {
            if j < p {
                self.x[(i, j)]
            } else {
                f64::from(u8::from(strata[i] == labels[j - p + 1]))
            }
        })
    }

    /// [`Trial::model_covariates`] (borrowed when there are no strata), refusing constant
    /// columns (they are collinear with the intercept of every model that uses them).
    ///
    /// # Errors
    /// [`Error::Degenerate`] naming the first constant column.
    pub fn checked_model_covariates(&self) -> Result<Cow<'_, DMatrix<f64>>> {
        let x = match &self.strata {
            None => Cow::Borrowed(&self.x),
            Some(_) => Cow::Owned(self.model_covariates()),
        };
        for (j, col) in x.column_iter().enumerate() {
            if col.iter().all(|&v| v == col[0]) {
                return Err(Error::degenerate(
                    "covariates",
                    format!(
                        "covariate column {j} is constant ({}), so no model can use it; drop it",
                        col[0]
                    ),
                ));
            }
        }
        Ok(x)
    }

    /// The same trial (treatment, covariates, known propensity, strata) with other outcomes,
    /// e.g. rescaled ones.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a wrong length, [`Error::NonFinite`] for NaN.
    pub fn with_outcomes(&self, y: DVector<f64>) -> Result<Self> {
        validate::len("outcomes", self.n(), y.len())?;
        validate::finite("outcomes", y.as_slice())?;
        Ok(Self {
            y,
            t: self.t.clone(),
            x: self.x.clone(),
            propensity: self.propensity.clone(),
            strata: self.strata.clone(),
        })
    }

    /// The sub-trial of the given units (used by the bootstrap and by cross-fitting).
    ///
    /// # Errors
    /// [`Error::Degenerate`] when the selection leaves an arm empty.
    pub fn select(&self, rows: &[usize]) -> Result<Self> {
        let y = DVector::from_iterator(rows.len(), rows.iter().map(|&i| self.y[i]));
        let t: Vec<bool> = rows.iter().map(|&i| self.t[i]).collect();
        let x = self.x.select_rows(rows);
        let mut out = Self::new(y, t, x)?;
        out.propensity = self.propensity.as_ref().map(|p| match p {
            KnownPropensity::Constant(c) => KnownPropensity::Constant(*c),
            KnownPropensity::PerUnit(v) => KnownPropensity::PerUnit(DVector::from_iterator(
                rows.len(),
                rows.iter().map(|&i| v[i]),
            )),
        });
        if let Some(s) = &self.strata {
            out = out.with_strata(rows.iter().map(|&i| s[i]).collect())?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> (DVector<f64>, DMatrix<f64>) {
        (
            DVector::from_vec(vec![1.0, 2.0, 3.0, 4.0]),
            DMatrix::from_row_slice(4, 1, &[1.0, 2.0, 3.0, 4.0]),
        )
    }

    #[test]
    fn refuses_bad_trials() {
        let (y, x) = small();
        assert!(matches!(
            Trial::new(y.clone(), vec![true; 4], x.clone()),
            Err(Error::Degenerate { .. })
        ));
        assert!(matches!(
            Trial::from_numeric(y.clone(), &[0.0, 1.0, 2.0, 0.0], x.clone()),
            Err(Error::InvalidParameter { .. })
        ));
        let mut bad = y.clone();
        bad[2] = f64::NAN;
        assert!(matches!(
            Trial::new(bad, vec![true, false, true, false], x.clone()),
            Err(Error::NonFinite { index: 2, .. })
        ));
        assert!(matches!(
            Trial::new(y.clone(), vec![true, false], x.clone()),
            Err(Error::DimensionMismatch { .. })
        ));
        let trial = Trial::new(y, vec![true, false, true, false], x).unwrap();
        assert!(trial.clone().with_constant_propensity(0.0).is_err());
        assert!(
            trial
                .clone()
                .with_unit_propensities(DVector::from_vec(vec![0.5, 0.5, 1.0, 0.5]))
                .is_err()
        );
        assert!(matches!(
            trial.with_strata(vec![0, 1, 0, 1]),
            Err(Error::Degenerate { .. })
        ));
    }

    #[test]
    fn strata_become_indicator_columns() {
        let (y, x) = small();
        let trial = Trial::new(y, vec![true, false, true, false], x)
            .unwrap()
            .with_strata(vec![3, 3, 7, 7])
            .unwrap();
        let z = trial.model_covariates();
        assert_eq!(z.ncols(), 2);
        assert_eq!(z.column(1).as_slice(), &[0.0, 0.0, 1.0, 1.0]);
        let sub = trial.select(&[0, 1]).unwrap();
        assert_eq!(sub.model_covariates().ncols(), 1);
    }
}
