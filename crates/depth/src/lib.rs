#![doc = include_str!("../README.md")]

pub mod fermat;
pub mod halfspace;
pub mod lens;
pub mod mahalanobis;
mod sample;
pub mod spatial;
#[cfg(test)]
mod testing;

pub use fermat::{FermatDistance, FermatLens};
pub use halfspace::{Halfspace, HalfspaceMethod};
pub use lens::Lens;
pub use mahalanobis::Mahalanobis;
pub use sample::Depth;
pub use spatial::Spatial;
