#![doc = include_str!("../README.md")]

pub mod bench;
pub mod error;
pub mod estimate;
pub mod fastmath;
pub mod model;
pub mod observe;
pub mod rng;
pub mod sobol;
pub mod validate;

pub use error::{Error, Result};
pub use estimate::{Estimate, Interval};
pub use model::{Differentiable, Model};
pub use rng::{SeededRng, rng_from_seed};
