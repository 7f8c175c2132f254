#![doc = include_str!("../README.md")]

pub mod curve;
pub mod decoder;
pub mod geodesic;
pub mod metric;

pub use curve::FaberSchauder;
pub use decoder::{Activation, Layer, Mlp, PullBack, Ridge};
pub use geodesic::{Geodesic, GeodesicOptions, Tunnelling, geodesic, geodesic_from, geodesics};
pub use metric::{Euclidean, Hyperbolic, Metric, Polyline, Sphere};
