#![doc = include_str!("../README.md")]

pub mod aipw;
pub mod ate;
pub mod bench;
pub mod crossfit;
pub mod data;
pub mod diagnostics;
pub mod dim;
pub mod linear;
pub mod logistic;
pub mod nuisance;
pub mod propensity;
pub mod regression;
pub mod synthetic;
pub mod tmle;
pub mod weighting;

pub use aipw::aipw_with;
pub use ate::{AteOptions, AteResult, CrossFitInfo, Estimand, Estimator, SeMethod, estimate_ate};
pub use data::{KnownPropensity, Trial};
pub use propensity::{Clip, ClipReport};
