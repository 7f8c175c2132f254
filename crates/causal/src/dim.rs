//! Difference in means with Neyman's variance, plain or blocked.
//!
//! Under complete randomisation, $\hat\tau = \bar Y_1 - \bar Y_0$ is unbiased for the sample
//! average treatment effect, and Neyman (1923) showed
//!
//! $$ \operatorname{Var}\hat\tau = \frac{S_1^2}{n_1} + \frac{S_0^2}{n_0} - \frac{S_{\tau}^2}{n}, $$
//!
//! where $S_\tau^2$, the variance of the unit-level effects, is never identified. Dropping it
//! gives the conservative estimator $\hat V = s_1^2/n_1 + s_0^2/n_0$ (sample variances with
//! $n_a - 1$), exact for the population ATE. It equals the HC2 sandwich of the regression of
//! $Y$ on $(1, T)$ ([`crate::linear`]). Its influence function is
//! $\varphi_i = \frac{T_i}{p}(Y_i - \mu_1) - \frac{1-T_i}{1-p}(Y_i - \mu_0)$ with $p = n_1/n$.
//!
//! **Blocked designs.** With strata $s$ of sizes $n_s$, the blocked estimator is
//! $\hat\tau = \sum_s \frac{n_s}{n}\hat\tau_s$ with
//! $\hat V = \sum_s \big(\frac{n_s}{n}\big)^2 \hat V_s$ (Imbens & Rubin 2015, ch. 9); each
//! stratum needs two units per arm.
//!
//! References: J. Neyman (1923, transl. 1990), *Statistical Science* 5:465–472;
//! G. Imbens & D. Rubin (2015), *Causal Inference for Statistics, Social, and Biomedical
//! Sciences*, ch. 6.
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_causal::{Trial, dim::difference_in_means};
//! let y = DVector::from_vec(vec![3.0, 5.0, 4.0, 1.0, 2.0, 0.0]);
//! let trial = Trial::new(y, vec![true, true, true, false, false, false], DMatrix::zeros(6, 0))?;
//! let r = difference_in_means(&trial, 0.95)?;
//! assert_eq!(r.estimate.value, 3.0);
//! // s1^2 = s0^2 = 1: V = 1/3 + 1/3.
//! assert!((r.estimate.std_error.unwrap() - (2.0f64 / 3.0).sqrt()).abs() < 1e-15);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use uqforge_core::{Error, Result};

use crate::Trial;
use crate::ate::{AteResult, Estimator, SeMethod};

/// Mean and sample variance (denominator $n - 1$) of the selected outcomes.
fn mean_var(values: impl Iterator<Item = f64>) -> (usize, f64, f64) {
    // Welford: one pass, stable for large outcomes (earnings in dollars).
    let (mut n, mut mean, mut m2) = (0usize, 0.0, 0.0);
    for v in values {
        n += 1;
        let d = v - mean;
        mean += d / n as f64;
        m2 += d * (v - mean);
    }
    let var = if n > 1 { m2 / (n - 1) as f64 } else { f64::NAN };
    (n, mean, var)
}

/// The difference in means and its Neyman standard error (blocked when the trial has strata).
///
/// # Errors
/// [`Error::Degenerate`] when an arm (of a stratum) has fewer than two units, so that its
/// variance is undefined.
pub fn difference_in_means(trial: &Trial, level: f64) -> Result<AteResult> {
    let y = trial.outcomes();
    let t = trial.treatment();
    let n = trial.n();
    let groups: Vec<Vec<usize>> = match trial.strata() {
        None => vec![(0..n).collect()],
        Some(s) => {
            let k = s.iter().max().map_or(0, |m| m + 1);
            let mut g = vec![Vec::new(); k];
            for (i, &si) in s.iter().enumerate() {
                g[si].push(i);
            }
            g.retain(|v| !v.is_empty());
            g
        }
    };
    let (mut tau, mut var) = (0.0, 0.0);
    for (s, units) in groups.iter().enumerate() {
        let arm = |a: bool| mean_var(units.iter().filter(|&&i| t[i] == a).map(|&i| y[i]));
        let (n1, m1, v1) = arm(true);
        let (n0, m0, v0) = arm(false);
        if n1 < 2 || n0 < 2 {
            let where_ = if groups.len() > 1 {
                format!("stratum {s} has")
            } else {
                "the trial has".to_string()
            };
            return Err(Error::degenerate(
                "difference in means",
                format!(
                    "{where_} {n1} treated and {n0} control units; Neyman's variance needs at \
                     least two per arm"
                ),
            ));
        }
        let w = units.len() as f64 / n as f64;
        tau += w * (m1 - m0);
        var += w * w * (v1 / n1 as f64 + v0 / n0 as f64);
    }
    AteResult::normal(
        trial,
        Estimator::DifferenceInMeans,
        tau,
        var.sqrt(),
        level,
        SeMethod::Neyman,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};

    #[test]
    fn blocked_estimator_weights_strata_by_size() {
        // Stratum 0: effect 2 (4 units); stratum 1: effect 10 (6 units) -> 0.4*2 + 0.6*10.
        let y = DVector::from_vec(vec![3., 3.5, 1., 1.5, 11., 12., 13., 1., 2., 3.]);
        let t = vec![
            true, true, false, false, true, true, true, false, false, false,
        ];
        let trial = Trial::new(y, t, DMatrix::zeros(10, 0))
            .unwrap()
            .with_strata(vec![0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
            .unwrap();
        let r = difference_in_means(&trial, 0.9).unwrap();
        assert!((r.estimate.value - (0.4 * 2.0 + 0.6 * 10.0)).abs() < 1e-12);
        // V = 0.16 (0.125/2 + 0.125/2) + 0.36 (1/3 + 1/3).
        let v: f64 = 0.16 * 0.125 + 0.36 * (2.0 / 3.0);
        assert!((r.estimate.std_error.unwrap() - v.sqrt()).abs() < 1e-12);
        assert_eq!(r.estimate.ci.unwrap().level, 0.9);
    }

    #[test]
    fn single_unit_arm_has_no_variance() {
        let y = DVector::from_vec(vec![1., 2., 3.]);
        let trial = Trial::new(y, vec![true, false, false], DMatrix::zeros(3, 0)).unwrap();
        assert!(matches!(
            difference_in_means(&trial, 0.95),
            Err(Error::Degenerate { .. })
        ));
    }
}
