#![doc = include_str!("../README.md")]

pub mod bench;
pub mod center_outward;
pub mod classes;
pub mod fermat;
pub mod halfspace;
pub mod lens;
pub mod mahalanobis;
pub mod mcd;
pub mod ood;
pub mod projection;
pub mod regions;
mod sample;
pub mod simplicial;
pub mod spatial;
#[cfg(test)]
mod testing;
pub mod zonoid;

pub use center_outward::CenterOutwardDepth;
pub use classes::{DdClassifier, PerClass};
pub use fermat::{FermatDistance, FermatLens, inner_points};
pub use halfspace::{Halfspace, HalfspaceMethod};
pub use lens::Lens;
pub use mahalanobis::Mahalanobis;
pub use projection::Projection;
pub use sample::{Depth, boxed};
pub use simplicial::{Simplicial, SimplicialMethod};
pub use spatial::Spatial;
pub use zonoid::Zonoid;
