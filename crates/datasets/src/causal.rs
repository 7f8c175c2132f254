//! Causal-inference data: the LaLonde NSW experiment and the IHDP benchmark.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

use crate::{Table, load};

/// The eight LaLonde covariates, in the order of [`LaLonde::covariates`]' columns.
pub const LALONDE_COVARIATES: [&str; 8] = [
    "age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75",
];

/// A LaLonde sample: the NSW treated units with experimental or observational controls.
///
/// Columns: `age` (years), `educ` (years of schooling), `black`, `hisp`, `married`, `nodegr`
/// (no high-school degree) as 0/1 indicators, `re74`, `re75`, `re78` (real earnings in 1974,
/// 1975, 1978, USD).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaLonde {
    /// Outcome: 1978 earnings (USD).
    pub re78: DVector<f64>,
    /// Treatment: assigned to the NSW job-training programme.
    pub treat: Vec<bool>,
    /// Covariates, rows = units, columns = [`LALONDE_COVARIATES`].
    pub covariates: DMatrix<f64>,
}

fn lalonde(name: &str) -> Result<LaLonde> {
    let t = load(name)?;
    Ok(LaLonde {
        re78: t.vector("re78")?,
        treat: indicator(&t, "treat")?,
        covariates: t.matrix(&LALONDE_COVARIATES)?,
    })
}

/// The NSW experiment, Dehejia–Wahba subsample: 185 treated, 260 randomised controls.
///
/// The difference in mean 1978 earnings is about 1794 USD (Dehejia & Wahba 1999).
///
/// # Errors
/// Only if the shipped file were corrupt.
///
/// # Examples
/// ```
/// let d = uqforge_datasets::lalonde_nsw()?;
/// assert_eq!(d.treat.iter().filter(|&&t| t).count(), 185);
/// # Ok::<(), uqforge_core::Error>(())
/// ```
pub fn lalonde_nsw() -> Result<LaLonde> {
    lalonde("lalonde_nsw")
}

/// NSW treated units (185) with the 15,992 CPS-1 comparison units: an observational design
/// with poor overlap.
///
/// # Errors
/// Only if the shipped file were corrupt.
pub fn lalonde_cps() -> Result<LaLonde> {
    lalonde("lalonde_cps")
}

/// NSW treated units (185) with the 2,490 PSID-1 comparison units.
///
/// # Errors
/// Only if the shipped file were corrupt.
pub fn lalonde_psid() -> Result<LaLonde> {
    lalonde("lalonde_psid")
}

/// One replication of the IHDP semi-synthetic benchmark (Hill 2011, setting B).
///
/// The outcomes are simulated from known response surfaces `mu0`, `mu1`, so the true sample
/// average treatment effect is `mean(mu1 - mu0)` ([`Ihdp::true_sate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ihdp {
    /// Treatment indicator (139 of 747 treated).
    pub treatment: Vec<bool>,
    /// Observed outcome.
    pub y_factual: DVector<f64>,
    /// The outcome under the other arm (known because the data are semi-synthetic).
    pub y_cfactual: DVector<f64>,
    /// Noise-free outcome surface under control.
    pub mu0: DVector<f64>,
    /// Noise-free outcome surface under treatment.
    pub mu1: DVector<f64>,
    /// Covariates `x1..x25`, rows = units (6 continuous, standardised; 19 binary).
    pub x: DMatrix<f64>,
}

impl Ihdp {
    /// The true sample average treatment effect, $\frac1n\sum_i (\mu_1(x_i) - \mu_0(x_i))$.
    pub fn true_sate(&self) -> f64 {
        (&self.mu1 - &self.mu0).mean()
    }
}

/// IHDP replication `rep` (1, 2 or 3 are shipped).
///
/// # Errors
/// [`Error::InvalidParameter`] for another `rep`.
///
/// # Examples
/// ```
/// let d = uqforge_datasets::ihdp(1)?;
/// assert_eq!(d.x.shape(), (747, 25));
/// assert!(uqforge_datasets::ihdp(4).is_err());
/// # Ok::<(), uqforge_core::Error>(())
/// ```
pub fn ihdp(rep: usize) -> Result<Ihdp> {
    if !(1..=3).contains(&rep) {
        return Err(Error::invalid_parameter(
            "rep",
            format!("IHDP replications 1, 2 and 3 are shipped, got {rep}"),
        ));
    }
    let t = load(&format!("ihdp{rep}"))?;
    let xs: Vec<String> = (1..=25).map(|i| format!("x{i}")).collect();
    let xs: Vec<&str> = xs.iter().map(String::as_str).collect();
    Ok(Ihdp {
        treatment: indicator(&t, "treatment")?,
        y_factual: t.vector("y_factual")?,
        y_cfactual: t.vector("y_cfactual")?,
        mu0: t.vector("mu0")?,
        mu1: t.vector("mu1")?,
        x: t.matrix(&xs)?,
    })
}

fn indicator(t: &Table, name: &str) -> Result<Vec<bool>> {
    t.numeric(name)?
        .iter()
        .enumerate()
        .map(|(i, &v)| match v {
            0.0 => Ok(false),
            1.0 => Ok(true),
            _ => Err(Error::parse(
                format!("column `{name}` row {}", i + 1),
                format!("expected 0 or 1, found {v}"),
            )),
        })
        .collect()
}
