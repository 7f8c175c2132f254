#![doc = include_str!("../README.md")]

#[doc(inline)]
pub use uqforge_core as core;
#[cfg(feature = "datasets")]
#[doc(inline)]
pub use uqforge_datasets as datasets;

pub use uqforge_core::{Error, Estimate, Interval, Model, Result};
