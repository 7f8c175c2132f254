#![doc = include_str!("../README.md")]

pub mod halfspace;
pub mod mahalanobis;
mod sample;

pub use halfspace::{Halfspace, HalfspaceMethod};
pub use mahalanobis::Mahalanobis;
pub use sample::Depth;
