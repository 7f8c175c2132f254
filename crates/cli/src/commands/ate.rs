//! `uqforge ate`: an average treatment effect with its standard error and interval.

use serde_json::{Value, json};
use uqforge_causal::crossfit::Folds;
use uqforge_causal::diagnostics::{Weighting, diagnostics};
use uqforge_causal::linear::HcType;
use uqforge_causal::{AteOptions, Clip, Estimator, SeMethod, Trial, estimate_ate};
use uqforge_core::{Error, Result};

use crate::input::{finite_columns, read_table};

/// Arguments of `uqforge ate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// CSV file, `-`, or a shipped data set (`lalonde` is the NSW experiment, `ihdp:1`..`ihdp:3`).
    #[arg(long)]
    data: String,
    /// Treatment column (values 0 and 1).
    #[arg(long)]
    treatment: String,
    /// Outcome column.
    #[arg(long)]
    outcome: String,
    /// Covariate columns (none by default).
    #[arg(long, value_delimiter = ',')]
    covariates: Vec<String>,
    /// dim, ancova, lin, ipw-ht, ipw, aipw, overlap or tmle.
    #[arg(long)]
    estimator: String,
    /// Known propensity of the design: a number in (0, 1), or a column of per-unit values.
    #[arg(long)]
    propensity: Option<String>,
    /// Cross-fitting folds (aipw, tmle); without it nuisance models are fitted in sample.
    #[arg(long)]
    folds: Option<usize>,
    /// Repeated cross-fitting: median estimate with the median-adjusted SE.
    #[arg(long)]
    repeats: Option<usize>,
    /// Clip propensities to LO,HI (reported in the output).
    #[arg(long, value_delimiter = ',', num_args = 1)]
    clip: Vec<f64>,
    /// Sandwich type for ancova and lin: hc0, hc1, hc2 (default) or hc3.
    #[arg(long)]
    se: Option<String>,
    /// Replace the analytic SE by a seeded bootstrap with B resamples (percentile interval).
    #[arg(long)]
    bootstrap: Option<usize>,
    /// Strata (blocks) column: blocked difference in means; indicators for other estimators.
    #[arg(long)]
    strata: Option<String>,
    /// Add covariate balance (SMD before/after weighting), propensity overlap and effective
    /// sample sizes to the output.
    #[arg(long)]
    diagnostics: bool,
    /// Confidence level of the interval.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Seed of cross-fitting folds and bootstrap resamples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// `lalonde` and `ihdp:K` name the shipped causal data sets.
fn data_name(spec: &str) -> String {
    match spec {
        "lalonde" => "lalonde_nsw".into(),
        s if s.starts_with("ihdp:") => format!("ihdp{}", &s[5..]),
        s => s.into(),
    }
}

pub(crate) fn run(args: &Args) -> Result<Value> {
    let estimator = Estimator::parse(&args.estimator)?;
    let table = read_table(&data_name(&args.data))?;
    let covs: Vec<&str> = args.covariates.iter().map(String::as_str).collect();
    let mut needed = vec![args.treatment.as_str(), args.outcome.as_str()];
    needed.extend(&covs);
    finite_columns(&table, &needed)?;
    let y = table.vector(&args.outcome)?;
    let t = table.numeric(&args.treatment)?.to_vec();
    let x = if covs.is_empty() {
        nalgebra::DMatrix::zeros(table.n_rows(), 0)
    } else {
        table.matrix(&covs)?
    };
    let mut trial = Trial::from_numeric(y, &t, x)?;
    if let Some(p) = &args.propensity {
        if !estimator.uses_propensity() {
            return Err(Error::invalid_parameter(
                "--propensity",
                format!("{} uses no propensity", estimator.name()),
            ));
        }
        trial = match p.parse::<f64>() {
            Ok(v) => trial.with_constant_propensity(v)?,
            Err(_) => {
                finite_columns(&table, &[p.as_str()])?;
                trial.with_unit_propensities(table.vector(p)?)?
            }
        };
    }
    if let Some(s) = &args.strata {
        finite_columns(&table, &[s.as_str()])?;
        let labels = strata_labels(table.numeric(s)?)?;
        trial = trial.with_strata(labels)?;
    }
    let mut options = AteOptions {
        level: args.level,
        seed: args.seed,
        bootstrap: args.bootstrap,
        folds: args.folds.map(Folds::Random),
        repeats: args.repeats.unwrap_or(1),
        ..AteOptions::default()
    };
    if let Some(se) = &args.se {
        if !matches!(estimator, Estimator::Ancova | Estimator::Lin) {
            return Err(Error::invalid_parameter(
                "--se",
                format!("HC types apply to ancova and lin, not {}", estimator.name()),
            ));
        }
        options.hc = HcType::parse(se)?;
    }
    match args.clip.as_slice() {
        [] => {}
        [lo, hi] => options.clip = Some(Clip::new(*lo, *hi)?),
        other => {
            return Err(Error::invalid_parameter(
                "--clip",
                format!("expected LO,HI, got {} values", other.len()),
            ));
        }
    }
    let r = estimate_ate(&trial, estimator, &options)?;
    let diagnostics = if args.diagnostics {
        let weighting = if estimator == Estimator::OverlapWeights {
            Weighting::Overlap
        } else {
            Weighting::InverseProbability
        };
        Some(diagnostics(&trial, weighting, 0.0, options.clip)?)
    } else {
        None
    };
    let ci = r.estimate.ci.map(|c| [c.lower, c.upper]);
    let se_method = match r.se_method {
        SeMethod::Neyman => "neyman".to_string(),
        SeMethod::Sandwich { hc } => hc.name().to_string(),
        SeMethod::InfluenceFunction {
            estimated_propensity: true,
        } => "influence-function (estimated propensity)".to_string(),
        SeMethod::InfluenceFunction { .. } => "influence-function".to_string(),
        SeMethod::RepeatedCrossFitting => "repeated cross-fitting (median-adjusted)".to_string(),
        SeMethod::Bootstrap { .. } => "bootstrap".to_string(),
    };
    let (bootstrap, failed) = match r.se_method {
        SeMethod::Bootstrap {
            replicates, failed, ..
        } => (Some(replicates), Some(failed)),
        _ => (None, None),
    };
    Ok(json!({
        "estimator": estimator.name(),
        "estimand": r.estimand,
        "ate": r.estimate.value,
        "std_error": r.estimate.std_error,
        "ci": ci,
        "level": options.level,
        "se_method": se_method,
        "n": r.n,
        "n_treated": r.n_treated,
        "clipped": r.clipping.map_or(0, |c| c.total()),
        "clip_bounds": r.clipping.map(|c| [c.lower, c.upper]),
        "clipped_lower": r.clipping.map(|c| c.n_lower),
        "clipped_upper": r.clipping.map(|c| c.n_upper),
        "propensity": if trial.known_propensity().is_some() { "known" }
            else if estimator.uses_propensity() { "estimated (logistic)" } else { "none" },
        "folds": r.cross_fitting.as_ref().map(|c| c.folds),
        "repeats": r.cross_fitting.as_ref().map(|c| c.repeats),
        "cross_fit_estimates": r.cross_fitting.as_ref().map(|c| c.estimates.clone()),
        "bootstrap": bootstrap,
        "bootstrap_failed": failed,
        "seed": args.seed,
        "diagnostics": diagnostics,
    }))
}

/// Strata labels from a numeric column: each distinct value is one stratum.
fn strata_labels(values: &[f64]) -> Result<Vec<usize>> {
    let mut distinct: Vec<f64> = values.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    values
        .iter()
        .map(|v| {
            distinct
                .binary_search_by(|d| d.total_cmp(v))
                .map_err(|_| Error::invalid_parameter("--strata", "unreadable stratum label"))
        })
        .collect()
}
