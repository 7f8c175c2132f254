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

/// Named, independent inputs, optionally partitioned into groups.
///
/// With groups, Sobol' indices are computed per group: $S_u$ and $S_{T_u}$ for each group $u$
/// of inputs moved together in the pick-freeze design (e.g. all parameters of one physical
/// process). Without, each input is its own group.
#[derive(Debug, Clone)]
pub struct InputSpace {
    names: Vec<String>,
    marginals: Vec<Marginal>,
    groups: Option<Vec<(String, Vec<usize>)>>,
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
        Ok(Self {
            names,
            marginals,
            groups: None,
        })
    }

    /// The same inputs, partitioned into named groups of input names.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when a group is empty, names an unknown input, or the groups
    /// are not a partition (every input in exactly one group), or group names repeat.
    ///
    /// # Examples
    /// ```
    /// use uqforge_sensitivity::InputSpace;
    /// let space = InputSpace::uniform(3, 0.0, 1.0)?
    ///     .with_groups(vec![("rates", vec!["x1", "x3"]), ("load", vec!["x2"])])?;
    /// assert_eq!(space.factor_names(), ["rates", "load"]);
    /// assert_eq!(space.factors(), [vec![0, 2], vec![1]]);
    /// # Ok::<(), uqforge_core::Error>(())
    /// ```
    pub fn with_groups<S: Into<String>>(mut self, groups: Vec<(S, Vec<&str>)>) -> Result<Self> {
        validate::non_empty("groups", &groups)?;
        let mut owner: Vec<Option<usize>> = vec![None; self.dim()];
        let mut out: Vec<(String, Vec<usize>)> = Vec::with_capacity(groups.len());
        for (g, (name, members)) in groups.into_iter().enumerate() {
            let name = name.into();
            if out.iter().any(|(n, _)| *n == name) {
                return Err(Error::invalid_parameter(
                    "groups",
                    format!("group `{name}` appears twice"),
                ));
            }
            if members.is_empty() {
                return Err(Error::invalid_parameter(
                    "groups",
                    format!("group `{name}` is empty"),
                ));
            }
            let mut cols = Vec::with_capacity(members.len());
            for m in members {
                let Some(i) = self.names.iter().position(|n| n == m) else {
                    return Err(Error::invalid_parameter(
                        "groups",
                        format!(
                            "group `{name}` names `{m}`, which is not an input ({})",
                            self.names.join(", ")
                        ),
                    ));
                };
                if let Some(other) = owner[i] {
                    let other = out.get(other).map_or(name.as_str(), |(n, _)| n.as_str());
                    return Err(Error::invalid_parameter(
                        "groups",
                        format!(
                            "input `{m}` is in group `{other}` and again in `{name}`; groups must not overlap"
                        ),
                    ));
                }
                owner[i] = Some(g);
                cols.push(i);
            }
            out.push((name, cols));
        }
        if let Some(i) = owner.iter().position(Option::is_none) {
            return Err(Error::invalid_parameter(
                "groups",
                format!(
                    "input `{}` is in no group; groups must cover every input",
                    self.names[i]
                ),
            ));
        }
        self.groups = Some(out);
        Ok(self)
    }

    /// The factors whose indices are estimated: the groups' input columns, or one column each.
    pub fn factors(&self) -> Vec<Vec<usize>> {
        match &self.groups {
            Some(g) => g.iter().map(|(_, c)| c.clone()).collect(),
            None => (0..self.dim()).map(|i| vec![i]).collect(),
        }
    }

    /// Names of the factors: group names, or input names.
    pub fn factor_names(&self) -> Vec<String> {
        match &self.groups {
            Some(g) => g.iter().map(|(n, _)| n.clone()).collect(),
            None => self.names.clone(),
        }
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
        let s = || InputSpace::uniform(3, 0.0, 1.0).unwrap();
        for (groups, needle) in [
            (
                vec![("a", vec!["x1"]), ("b", vec!["x2"])],
                "`x3` is in no group",
            ),
            (
                vec![("a", vec!["x1", "x2"]), ("b", vec!["x2", "x3"])],
                "must not overlap",
            ),
            (
                vec![("a", vec!["x1", "x2", "x3"]), ("b", vec![])],
                "is empty",
            ),
            (vec![("a", vec!["x1", "x9"])], "`x9`, which is not an input"),
            (
                vec![("a", vec!["x1"]), ("a", vec!["x2", "x3"])],
                "appears twice",
            ),
        ] {
            let e = s().with_groups(groups).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
