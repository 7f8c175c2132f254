#![doc = include_str!("../README.md")]

pub mod halfspace;
pub mod lens;
pub mod mahalanobis;
mod sample;
pub mod spatial;

pub use halfspace::{Halfspace, HalfspaceMethod};
pub use lens::Lens;
pub use mahalanobis::Mahalanobis;
pub use sample::Depth;
pub use spatial::Spatial;
