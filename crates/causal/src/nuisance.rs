//! Nuisance models: the outcome regressions $\mu_a(x) = \mathbb E[Y \mid T = a, X = x]$ and the
//! propensity $e(x) = P(T = 1 \mid X = x)$, behind two small traits so that any learner can be
//! plugged into AIPW.
//!
//! The built-in models are [`LinearOutcome`] (least squares, optional ridge) and
//! [`LogisticPropensity`] (Newton/IRLS, optional ridge, separation detection). Both add the
//! intercept themselves: pass covariates only.
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_causal::nuisance::{LinearOutcome, OutcomeModel};
//! let x = DMatrix::from_row_slice(3, 1, &[0.0, 1.0, 2.0]);
//! let y = DVector::from_vec(vec![1.0, 3.0, 5.0]);
//! let pred = LinearOutcome::default().fit_predict(&x, &y, &DMatrix::from_element(1, 1, 10.0))?;
//! assert!((pred[0] - 21.0).abs() < 1e-10);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use uqforge_core::Result;

use crate::linear::LeastSquares;
use crate::logistic::{LogisticFit, LogisticRegression};

/// A regression of the outcome on covariates, fitted within one arm.
pub trait OutcomeModel: Sync {
    /// Fit on `(x_train, y_train)` and predict at the rows of `x_new`.
    ///
    /// # Errors
    /// Whatever the model refuses (degenerate designs, non-convergence).
    fn fit_predict(
        &self,
        x_train: &DMatrix<f64>,
        y_train: &DVector<f64>,
        x_new: &DMatrix<f64>,
    ) -> Result<DVector<f64>>;
}

/// A model of $P(T = 1 \mid X)$.
pub trait PropensityModel: Sync {
    /// Fit on `(x_train, t_train)` and predict probabilities at the rows of `x_new`.
    ///
    /// # Errors
    /// Whatever the model refuses (separation, degenerate designs, non-convergence).
    fn fit_predict(
        &self,
        x_train: &DMatrix<f64>,
        t_train: &[bool],
        x_new: &DMatrix<f64>,
    ) -> Result<DVector<f64>>;
}

/// `[1, x]`: the covariates with a leading column of ones.
pub fn with_intercept(x: &DMatrix<f64>) -> DMatrix<f64> {
    x.clone().insert_column(0, 1.0)
}

/// Least squares of $Y$ on $(1, X)$, optionally ridge-penalised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LinearOutcome {
    /// Ridge penalty on scaled non-intercept coefficients ([`LeastSquares::fit`]).
    pub ridge: f64,
}

impl OutcomeModel for LinearOutcome {
    fn fit_predict(
        &self,
        x_train: &DMatrix<f64>,
        y_train: &DVector<f64>,
        x_new: &DMatrix<f64>,
    ) -> Result<DVector<f64>> {
        let fit = LeastSquares::fit(&with_intercept(x_train), y_train, self.ridge)?;
        fit.predict(&with_intercept(x_new))
    }
}

/// Logistic regression of $T$ on $(1, X)$, optionally ridge-penalised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LogisticPropensity {
    /// Ridge penalty on scaled non-intercept coefficients ([`LogisticRegression`]).
    pub ridge: f64,
}

impl LogisticPropensity {
    pub(crate) fn fit(&self, x: &DMatrix<f64>, t: &[bool]) -> Result<LogisticFit> {
        let target = DVector::from_iterator(t.len(), t.iter().map(|&ti| f64::from(u8::from(ti))));
        LogisticRegression::default()
            .with_ridge(self.ridge)
            .named("propensity model")
            .fit(&with_intercept(x), &target)
    }
}

impl PropensityModel for LogisticPropensity {
    fn fit_predict(
        &self,
        x_train: &DMatrix<f64>,
        t_train: &[bool],
        x_new: &DMatrix<f64>,
    ) -> Result<DVector<f64>> {
        self.fit(x_train, t_train)?.predict(&with_intercept(x_new))
    }
}
