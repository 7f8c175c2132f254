//! Synthetic-data augmentation of trials: why data generated from the trial cannot sharpen the
//! ATE, and how external predictions can.
//!
//! **Endogenous synthetic data.** A generator fitted on the trial (here
//! [`SmoothedBootstrap`], a kernel density per arm) produces new units
//! $\tilde D = g(D, U)$ from the real data $D$ and independent noise $U$. Whatever the
//! generator, $\tilde D$ is a randomised function of $D$, so by the data-processing
//! inequality the Fisher information about $\tau$ in $(D, \tilde D)$ equals that in $D$:
//!
//! $$ I_{(D, \tilde D)}(\tau) = I_D(\tau) + I_{\tilde D \mid D}(\tau) = I_D(\tau), $$
//!
//! because the conditional law of $\tilde D$ given $D$ does not involve $\tau$. No estimator on
//! the augmented data can beat the Cramér–Rao bound of the real data alone. Yet an estimator
//! that treats the $m$ synthetic units as real reports a standard error shrunk by about
//! $\sqrt{n/(n+m)}$: the precision is illusory, and coverage collapses ([`run_study`] shows it).
//!
//! **Exogenous predictions.** Predictions $g_a(x)$ of the outcome under arm $a$ from a model
//! built *outside* the trial (a simulator, a model trained on historical data) enter AIPW with
//! the known propensity $e$ as the outcome model ([`aipw_with_predictions`]):
//!
//! $$ \hat\tau_g = \frac1n\sum_i g_1(X_i) - g_0(X_i) + \frac{T_i(Y_i - g_1(X_i))}{e}
//!    - \frac{(1-T_i)(Y_i - g_0(X_i))}{1-e} . $$
//!
//! Randomisation gives $\mathbb E[T_i/e \mid X_i] = 1$, so $\hat\tau_g$ is unbiased for **any**
//! $g$, however biased the generator; its variance is smallest when $g_a = \mu_a$ and grows
//! with the generator's error. Good external predictions sharpen the trial; bad ones cost
//! precision but never validity.
//!
//! One caveat, measured by the tests: the influence-function SE treats treatment as Bernoulli.
//! Under complete randomisation ($n_1$ fixed) a constant shift of the predictions cancels
//! exactly from $\hat\tau_g$ but not from the SE, so a biased generator gives *conservative*
//! intervals (coverage 1.00 with SE twice the true spread at bias 5 in the default [`Dgp`]).
//!
//! The [`run_study`] harness draws trials from a known [`Dgp`], applies each scenario, and
//! reports bias, true (Monte Carlo) standard deviation, mean reported SE and coverage.
//!
//! ```
//! use uqforge_causal::synthetic::{Dgp, Scenario, StudyConfig, run_study};
//! let config = StudyConfig {
//!     dgp: Dgp { n: 100, ..Dgp::default() },
//!     replicates: 100,
//!     seed: 1,
//!     scenarios: vec![Scenario::Real, Scenario::Endogenous { ratio: 2.0 }],
//! };
//! let rows = run_study(&config)?;
//! // Naive SEs on augmented data are about sqrt(1/3) of the real ones ...
//! assert!(rows[1].mean_se < 0.7 * rows[0].mean_se);
//! // ... while the true spread of the estimate does not shrink.
//! assert!(rows[1].sd > 0.9 * rows[0].sd);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::rng::{SeededRng, standard_normal, stream};
use uqforge_core::{Error, Result, validate};

use crate::ate::{AteOptions, AteResult, Estimator, SeMethod, influence_se};
use crate::crossfit::below;
use crate::{KnownPropensity, Trial, estimate_ate};

/// AIPW with outcome predictions given from outside (a simulator, an external model): the
/// trial's known propensity is required, since only then is the estimator unbiased for any
/// predictions.
///
/// # Errors
/// [`Error::InvalidParameter`] without a known propensity; [`Error::DimensionMismatch`] or
/// [`Error::NonFinite`] for bad predictions.
///
/// # Examples
/// ```
/// use nalgebra::{DMatrix, DVector};
/// use uqforge_causal::{Trial, synthetic::aipw_with_predictions};
/// let y = DVector::from_vec(vec![3.0, 5.0, 4.0, 1.0, 2.0, 0.0]);
/// let t = vec![true, true, true, false, false, false];
/// let trial = Trial::new(y, t, DMatrix::zeros(6, 0))?.with_constant_propensity(0.5)?;
/// // Constant predictions with a constant propensity n1/n: the difference in means.
/// let g = DVector::from_element(6, 100.0);
/// let r = aipw_with_predictions(&trial, &g, &g, 0.95)?;
/// assert!((r.estimate.value - 3.0).abs() < 1e-12);
/// # Ok::<(), uqforge_core::Error>(())
/// ```
pub fn aipw_with_predictions(
    trial: &Trial,
    mu0: &DVector<f64>,
    mu1: &DVector<f64>,
    level: f64,
) -> Result<AteResult> {
    let Some(known) = trial.known_propensity() else {
        return Err(Error::invalid_parameter(
            "propensity",
            "AIPW with external predictions needs the design's known propensity",
        ));
    };
    validate::len("control predictions", trial.n(), mu0.len())?;
    validate::len("treated predictions", trial.n(), mu1.len())?;
    validate::finite("control predictions", mu0.as_slice())?;
    validate::finite("treated predictions", mu1.as_slice())?;
    let y = trial.outcomes();
    let t = trial.treatment();
    let phi = DVector::from_fn(trial.n(), |i, _| {
        let e = known.get(i);
        let base = mu1[i] - mu0[i];
        if t[i] {
            base + (y[i] - mu1[i]) / e
        } else {
            base - (y[i] - mu0[i]) / (1.0 - e)
        }
    });
    AteResult::normal(
        trial,
        Estimator::Aipw,
        phi.mean(),
        influence_se(&phi),
        level,
        SeMethod::InfluenceFunction {
            estimated_propensity: false,
        },
    )
}

/// An endogenous generator: a smoothed bootstrap (Gaussian kernel density) of $(X, Y)$ within
/// each arm.
///
/// A synthetic unit of arm $a$ copies a random real unit of that arm and adds
/// $N(0, h^2 s_j^2)$ noise to each covariate and to the outcome, with $s_j$ the arm's standard
/// deviation of that column and Silverman's factor $h = (4/((d+2)n_a))^{1/(d+4)}$ for
/// $d$ smoothed columns (times `bandwidth`). Arms are generated in proportion to their sizes,
/// so the synthetic units look like the trial's, and the augmented trial keeps the known
/// propensity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SmoothedBootstrap {
    /// Multiplier of Silverman's bandwidth (1 by default; 0 is the plain bootstrap).
    pub bandwidth: f64,
}

impl Default for SmoothedBootstrap {
    fn default() -> Self {
        Self { bandwidth: 1.0 }
    }
}

impl SmoothedBootstrap {
    /// The trial followed by `m` synthetic units.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite bandwidth.
    pub fn augment(&self, trial: &Trial, m: usize, rng: &mut SeededRng) -> Result<Trial> {
        if !(self.bandwidth >= 0.0 && self.bandwidth.is_finite()) {
            return Err(Error::invalid_parameter(
                "bandwidth",
                format!("must be finite and >= 0, got {}", self.bandwidth),
            ));
        }
        let (n, p) = trial.covariates().shape();
        let x = trial.covariates();
        let y = trial.outcomes();
        let t = trial.treatment();
        let n1 = trial.n_treated();
        let m1 = ((m as f64) * n1 as f64 / n as f64).round() as usize;
        let total = n + m;
        let mut xs = DMatrix::zeros(total, p);
        let mut ys = DVector::zeros(total);
        let mut ts = Vec::with_capacity(total);
        xs.rows_mut(0, n).copy_from(x);
        ys.rows_mut(0, n).copy_from(y);
        ts.extend_from_slice(t);
        let mut row = n;
        for (arm, count) in [(true, m1), (false, m - m1)] {
            let units: Vec<usize> = (0..n).filter(|&i| t[i] == arm).collect();
            let na = units.len() as f64;
            let d = (p + 1) as f64;
            let h = self.bandwidth * (4.0 / ((d + 2.0) * na)).powf(1.0 / (d + 4.0));
            let sd = |v: &dyn Fn(usize) -> f64| {
                let mean = units.iter().map(|&i| v(i)).sum::<f64>() / na;
                (units.iter().map(|&i| (v(i) - mean).powi(2)).sum::<f64>() / (na - 1.0)).sqrt()
            };
            let sx: Vec<f64> = (0..p).map(|j| sd(&|i| x[(i, j)])).collect();
            let sy = sd(&|i| y[i]);
            for _ in 0..count {
                let src = units[below(rng, units.len())];
                for j in 0..p {
                    xs[(row, j)] = x[(src, j)] + h * sx[j] * standard_normal(rng);
                }
                ys[row] = y[src] + h * sy * standard_normal(rng);
                ts.push(arm);
                row += 1;
            }
        }
        let out = Trial::new(ys, ts, xs)?;
        match trial.known_propensity() {
            Some(KnownPropensity::Constant(e)) => out.with_constant_propensity(*e),
            _ => Ok(out),
        }
    }
}

/// A randomised trial with known potential outcomes, to study estimators by simulation.
///
/// $X \sim N(0, I_p)$; $Y(0) = 1 + \beta^\top X + c\thinspace(X_1^2 - 1) + \varepsilon$ with
/// $\beta_j = 1/j$ and $\varepsilon \sim N(0, \sigma^2)$; $Y(1) = Y(0) + \tau + \gamma X_1$
/// (heterogeneous effects). Treatment is completely randomised with $n_1 = \lfloor e n \rceil$
/// (so the propensity $e$ is known). The population ATE is $\tau$. The quadratic term
/// ($c \ne 0$) makes linear outcome models misspecified.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Dgp {
    /// Units per trial.
    pub n: usize,
    /// Covariates $p \ge 1$.
    pub p: usize,
    /// Treatment probability $e$.
    pub propensity: f64,
    /// Average effect $\tau$.
    pub tau: f64,
    /// Effect heterogeneity $\gamma$.
    pub heterogeneity: f64,
    /// Non-linearity $c$.
    pub curvature: f64,
    /// Noise standard deviation $\sigma$.
    pub noise: f64,
}

impl Default for Dgp {
    fn default() -> Self {
        Self {
            n: 200,
            p: 3,
            propensity: 0.4,
            tau: 1.0,
            heterogeneity: 0.5,
            curvature: 0.5,
            noise: 1.0,
        }
    }
}

impl Dgp {
    /// $\mu_0(x)$, the noise-free control outcome.
    pub fn mu0(&self, x: &[f64]) -> f64 {
        let lin: f64 = x.iter().enumerate().map(|(j, v)| v / (j + 1) as f64).sum();
        1.0 + lin + self.curvature * (x[0] * x[0] - 1.0)
    }

    /// $\mu_1(x) = \mu_0(x) + \tau + \gamma x_1$.
    pub fn mu1(&self, x: &[f64]) -> f64 {
        self.mu0(x) + self.tau + self.heterogeneity * x[0]
    }

    fn check(&self) -> Result<()> {
        validate::at_least("n", self.n, 8)?;
        validate::at_least("p", self.p, 1)?;
        validate::in_open_range("propensity", self.propensity, 0.0, 1.0)?;
        for (name, v) in [
            ("tau", self.tau),
            ("heterogeneity", self.heterogeneity),
            ("curvature", self.curvature),
        ] {
            validate::finite(name, &[v])?;
        }
        validate::positive("noise", self.noise)
    }

    /// One trial (with its known propensity) from `rng`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for out-of-range settings (n < 8, p = 0, e not in (0, 1),
    /// noise <= 0).
    pub fn draw(&self, rng: &mut SeededRng) -> Result<Trial> {
        self.check()?;
        let (n, p) = (self.n, self.p);
        let x = DMatrix::from_fn(n, p, |_, _| standard_normal(rng));
        let n1 = ((self.propensity * n as f64).round() as usize).clamp(2, n - 2);
        // Complete randomisation: a uniformly random set of n1 treated units.
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, below(rng, i + 1));
        }
        let mut t = vec![false; n];
        for &i in &order[..n1] {
            t[i] = true;
        }
        let y = DVector::from_fn(n, |i, _| {
            let xi: Vec<f64> = x.row(i).iter().copied().collect();
            let mu = if t[i] { self.mu1(&xi) } else { self.mu0(&xi) };
            mu + self.noise * standard_normal(rng)
        });
        Trial::new(y, t, x)?.with_constant_propensity(n1 as f64 / n as f64)
    }
}

/// One way of analysing a simulated trial.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Scenario {
    /// Difference in means on the real trial.
    Real,
    /// Lin's estimator on the real trial.
    RealLin,
    /// AIPW with in-sample linear outcome models and the known propensity.
    RealAipw,
    /// Difference in means on the trial plus `ratio * n` smoothed-bootstrap units, analysed as
    /// if they were real (the illusory precision).
    Endogenous {
        /// Synthetic units per real unit.
        ratio: f64,
    },
    /// AIPW with the known propensity and external predictions
    /// $g_a(x) = \mu_a(x) + b + s\thinspace\eta(x)$, with a fixed bias $b$ and a random but
    /// trial-independent error $\eta \sim N(0, 1)$ per unit.
    Exogenous {
        /// Bias $b$ of the generator.
        bias: f64,
        /// Error scale $s$ of the generator.
        noise: f64,
    },
}

impl Scenario {
    /// A short label for tables.
    pub fn label(&self) -> String {
        match self {
            Self::Real => "DiM, real data".into(),
            Self::RealLin => "Lin, real data".into(),
            Self::RealAipw => "AIPW (linear), real data".into(),
            Self::Endogenous { ratio } => format!("DiM, + {ratio}n endogenous synthetic"),
            Self::Exogenous { bias, noise } => {
                format!("AIPW, exogenous generator (bias {bias}, noise {noise})")
            }
        }
    }
}

/// Settings of [`run_study`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// The data-generating process.
    pub dgp: Dgp,
    /// Simulated trials.
    pub replicates: usize,
    /// Seed: trial `r` uses ChaCha8 stream `r`.
    pub seed: u64,
    /// Analyses applied to every trial.
    pub scenarios: Vec<Scenario>,
}

/// Operating characteristics of one scenario over the replicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRow {
    /// The scenario.
    pub scenario: Scenario,
    /// Mean of the estimates.
    pub mean: f64,
    /// Mean minus the true ATE.
    pub bias: f64,
    /// Monte Carlo standard deviation of the estimates (the true SE).
    pub sd: f64,
    /// Mean of the reported standard errors.
    pub mean_se: f64,
    /// Fraction of 95 % intervals that contain the true ATE.
    pub coverage: f64,
    /// Replicates.
    pub replicates: usize,
}

/// Simulate `config.replicates` trials (in parallel, one ChaCha8 stream each) and summarise
/// every scenario against the true ATE $\tau$.
///
/// # Errors
/// Bad settings ([`Error::InvalidParameter`]), or an estimator failing on a simulated trial.
pub fn run_study(config: &StudyConfig) -> Result<Vec<StudyRow>> {
    validate::at_least("replicates", config.replicates, 2)?;
    if config.scenarios.is_empty() {
        return Err(Error::EmptyInput {
            what: "study scenarios".into(),
        });
    }
    config.dgp.check()?;
    let per_rep: Vec<Vec<(f64, f64, bool)>> = (0..config.replicates)
        .into_par_iter()
        .map(|r| {
            let mut rng = stream(config.seed, r as u64);
            let trial = config.dgp.draw(&mut rng)?;
            // Each scenario gets its own stream, so adding one leaves the others unchanged.
            config
                .scenarios
                .iter()
                .enumerate()
                .map(|(s, sc)| {
                    let mut srng = stream(config.seed ^ 0x5EED_0000_0000_0000, (r * 64 + s) as u64);
                    let res = analyse(&config.dgp, &trial, *sc, &mut srng)?;
                    let ci = res.estimate.ci.ok_or_else(|| {
                        Error::degenerate("study", "an estimator returned no interval")
                    })?;
                    Ok((
                        res.estimate.value,
                        res.estimate.std_error.unwrap_or(f64::NAN),
                        ci.contains(config.dgp.tau),
                    ))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let reps = config.replicates as f64;
    Ok(config
        .scenarios
        .iter()
        .enumerate()
        .map(|(s, sc)| {
            let est: Vec<f64> = per_rep.iter().map(|v| v[s].0).collect();
            let mean = est.iter().sum::<f64>() / reps;
            let sd = (est.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (reps - 1.0)).sqrt();
            StudyRow {
                scenario: *sc,
                mean,
                bias: mean - config.dgp.tau,
                sd,
                mean_se: per_rep.iter().map(|v| v[s].1).sum::<f64>() / reps,
                coverage: per_rep.iter().filter(|v| v[s].2).count() as f64 / reps,
                replicates: config.replicates,
            }
        })
        .collect())
}

fn analyse(dgp: &Dgp, trial: &Trial, scenario: Scenario, rng: &mut SeededRng) -> Result<AteResult> {
    let o = AteOptions::default();
    match scenario {
        Scenario::Real => estimate_ate(trial, Estimator::DifferenceInMeans, &o),
        Scenario::RealLin => estimate_ate(trial, Estimator::Lin, &o),
        Scenario::RealAipw => estimate_ate(trial, Estimator::Aipw, &o),
        Scenario::Endogenous { ratio } => {
            if !(ratio >= 0.0 && ratio.is_finite()) {
                return Err(Error::invalid_parameter(
                    "ratio",
                    format!("must be finite and >= 0, got {ratio}"),
                ));
            }
            let m = (ratio * trial.n() as f64).round() as usize;
            let aug = SmoothedBootstrap::default().augment(trial, m, rng)?;
            estimate_ate(&aug, Estimator::DifferenceInMeans, &o)
        }
        Scenario::Exogenous { bias, noise } => {
            let x = trial.covariates();
            let mut g0 = DVector::zeros(trial.n());
            let mut g1 = DVector::zeros(trial.n());
            for i in 0..trial.n() {
                let xi: Vec<f64> = x.row(i).iter().copied().collect();
                let err = noise * standard_normal(rng);
                g0[i] = dgp.mu0(&xi) + bias + err;
                g1[i] = dgp.mu1(&xi) + bias + err;
            }
            aipw_with_predictions(trial, &g0, &g1, o.level)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uqforge_core::rng::rng_from_seed;

    #[test]
    fn augmentation_keeps_arms_proportional_and_the_propensity() {
        let dgp = Dgp::default();
        let trial = dgp.draw(&mut rng_from_seed(1)).unwrap();
        let aug = SmoothedBootstrap::default()
            .augment(&trial, 400, &mut rng_from_seed(2))
            .unwrap();
        assert_eq!(aug.n(), 600);
        assert_eq!(aug.n_treated(), 80 + 160);
        assert_eq!(aug.known_propensity(), trial.known_propensity());
        // The real units come first, unchanged.
        assert_eq!(aug.outcomes().rows(0, 200), trial.outcomes().rows(0, 200));
    }

    #[test]
    fn external_predictions_need_a_known_propensity() {
        let dgp = Dgp::default();
        let trial = dgp.draw(&mut rng_from_seed(1)).unwrap();
        let plain = Trial::new(
            trial.outcomes().clone(),
            trial.treatment().to_vec(),
            trial.covariates().clone(),
        )
        .unwrap();
        let g = DVector::zeros(trial.n());
        assert!(aipw_with_predictions(&plain, &g, &g, 0.95).is_err());
        let short = DVector::zeros(3);
        assert!(aipw_with_predictions(&trial, &short, &g, 0.95).is_err());
    }
}
