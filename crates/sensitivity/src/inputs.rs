//! The input space: independent marginals $X_i \sim \mu_i$, each given by its quantile function.
//!
//! A design point $u \in [0,1)^d$ maps to inputs by $x_i = F_i^{-1}(u_i)$, which turns uniform
//! (Monte Carlo or scrambled Sobol') points into draws from $\mu_1 \otimes \dots \otimes \mu_d$.
//!
//! ```
//! use uqforge_sensitivity::{InputSpace, Marginal};
//! let space = InputSpace::new(vec![
//!     ("k", Marginal::log_normal(0.0, 0.5)?),
//!     ("v", Marginal::uniform(1.0, 3.0)?),
//! ])?;
//! let mut x = [0.0; 2];
//! space.map_unit(&[0.5, 0.25], &mut x);
//! assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.5).abs() < 1e-12);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use statrs::distribution::{ContinuousCDF, Normal};
use uqforge_core::{Error, Result, validate};

type Quantile = Arc<dyn Fn(f64) -> f64 + Send + Sync>;

/// The distribution of one input, through its quantile function $F^{-1}$.
#[derive(Clone)]
pub struct Marginal {
    kind: String,
    quantile: Quantile,
}

impl fmt::Debug for Marginal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)
    }
}

impl Marginal {
    /// $\mathcal U(a, b)$.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless $a < b$, both finite.
    pub fn uniform(a: f64, b: f64) -> Result<Self> {
        validate::finite("uniform bounds", &[a, b])?;
        if a >= b {
            return Err(Error::invalid_parameter(
                "uniform",
                format!("lower bound {a} must be below upper bound {b}"),
            ));
        }
        Ok(Self {
            kind: format!("Uniform({a}, {b})"),
            quantile: Arc::new(move |u| a + (b - a) * u),
        })
    }

    /// $\mathcal N(\mu, \sigma^2)$.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless $\mu$ is finite and $\sigma > 0$.
    pub fn normal(mean: f64, sd: f64) -> Result<Self> {
        validate::finite("normal mean", &[mean])?;
        validate::positive("normal sd", sd)?;
        let n = Normal::new(mean, sd).map_err(|e| Error::invalid_parameter("normal", e))?;
        Ok(Self {
            kind: format!("Normal({mean}, {sd})"),
            quantile: Arc::new(move |u| n.inverse_cdf(u)),
        })
    }

    /// $\log X \sim \mathcal N(\mu, \sigma^2)$.
    ///
    /// # Errors
    /// As [`Marginal::normal`].
    pub fn log_normal(mu: f64, sigma: f64) -> Result<Self> {
        let n = Self::normal(mu, sigma)?;
        Ok(Self {
            kind: format!("LogNormal({mu}, {sigma})"),
            quantile: Arc::new(move |u| (n.quantile)(u).exp()),
        })
    }

    /// Any `statrs` continuous distribution, through its `inverse_cdf`.
    ///
    /// ```
    /// use statrs::distribution::Exp;
    /// let m = uqforge_sensitivity::Marginal::from_statrs("Exp(2)", Exp::new(2.0).unwrap());
    /// assert!((m.quantile(0.5) - std::f64::consts::LN_2 / 2.0).abs() < 1e-12);
    /// ```
    pub fn from_statrs<D>(name: &str, dist: D) -> Self
    where
        D: ContinuousCDF<f64, f64> + Send + Sync + 'static,
    {
        Self {
            kind: name.to_owned(),
            quantile: Arc::new(move |u| dist.inverse_cdf(u)),
        }
    }

    /// $F^{-1}(u)$.
    pub fn quantile(&self, u: f64) -> f64 {
        (self.quantile)(u)
    }
}

/// Named, independent inputs.
#[derive(Debug, Clone)]
pub struct InputSpace {
    names: Vec<String>,
    marginals: Vec<Marginal>,
}

impl InputSpace {
    /// Inputs from `(name, marginal)` pairs.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no inputs; [`Error::InvalidParameter`] for duplicate names.
    pub fn new<S: Into<String>>(inputs: Vec<(S, Marginal)>) -> Result<Self> {
        validate::non_empty("input space", &inputs)?;
        let (names, marginals): (Vec<String>, Vec<Marginal>) =
            inputs.into_iter().map(|(n, m)| (n.into(), m)).unzip();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(Error::invalid_parameter(
                    "input names",
                    format!("`{n}` appears twice"),
                ));
            }
        }
        Ok(Self { names, marginals })
    }

    /// `d` inputs `x1, …, xd`, each $\mathcal U(a, b)$.
    ///
    /// # Errors
    /// As [`Marginal::uniform`]; [`Error::InvalidParameter`] for `d == 0`.
    pub fn uniform(d: usize, a: f64, b: f64) -> Result<Self> {
        validate::at_least("dimension", d, 1)?;
        let m = Marginal::uniform(a, b)?;
        Self::new((1..=d).map(|i| (format!("x{i}"), m.clone())).collect())
    }

    /// Number of inputs $d$.
    pub fn dim(&self) -> usize {
        self.names.len()
    }

    /// Input names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Maps a unit point `u` (length $d$) to inputs `x` by the quantile functions.
    pub fn map_unit(&self, u: &[f64], x: &mut [f64]) {
        debug_assert_eq!(u.len(), self.dim());
        for ((xi, &ui), m) in x.iter_mut().zip(u).zip(&self.marginals) {
            *xi = m.quantile(ui);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_closed_forms() {
        let n = Marginal::normal(1.0, 2.0).unwrap();
        assert!((n.quantile(0.975) - (1.0 + 2.0 * 1.959963984540054)).abs() < 1e-9);
        let l = Marginal::log_normal(0.0, 1.0).unwrap();
        assert!((l.quantile(0.5) - 1.0).abs() < 1e-12);
        let u = Marginal::uniform(-1.0, 1.0).unwrap();
        assert_eq!(u.quantile(0.75), 0.5);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Marginal::uniform(1.0, 1.0).is_err());
        assert!(Marginal::uniform(f64::NAN, 1.0).is_err());
        assert!(Marginal::normal(0.0, 0.0).is_err());
        assert!(Marginal::log_normal(0.0, -1.0).is_err());
        assert!(InputSpace::uniform(0, 0.0, 1.0).is_err());
        let m = Marginal::uniform(0.0, 1.0).unwrap();
        assert!(InputSpace::new(vec![("a", m.clone()), ("a", m)]).is_err());
        assert!(InputSpace::new(Vec::<(String, Marginal)>::new()).is_err());
    }
}
