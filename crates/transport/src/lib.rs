#![doc = include_str!("../README.md")]

pub mod assignment;
pub mod barycenter;
pub mod bench;
pub mod center_outward;
pub mod cost;
pub mod divergence;
mod fast_exp;
pub mod matrix_free;
pub mod measure;
pub mod network_simplex;
pub mod one_d;
pub mod plan;
pub mod sinkhorn;
pub mod sliced;
pub mod unbalanced;

pub use cost::GroundCost;
pub use measure::{Balance, DiscreteMeasure};
pub use network_simplex::{ExactOptions, ExactTransport, exact};
pub use plan::PlanEntry;
