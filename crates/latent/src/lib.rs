#![doc = include_str!("../README.md")]

pub mod bench;
pub mod curvature;
pub mod curve;
pub mod decoder;
pub mod frechet;
pub mod geodesic;
pub mod kmeans;
pub mod metric;

pub use curvature::{CurvaturePenalty, curvature_penalty};
pub use curve::FaberSchauder;
pub use decoder::{Activation, Layer, Mlp, PullBack, Ridge};
pub use frechet::{FrechetMean, FrechetOptions, frechet_mean};
pub use geodesic::{
    Basis, Geodesic, GeodesicOptions, Tunnelling, geodesic, geodesic_from, geodesics,
};
pub use kmeans::{
    CentroidUpdate, Clustering, Initialisation, KMeansOptions, adjusted_rand_index, kmeans,
};
pub use metric::{Euclidean, Hyperbolic, Metric, Polyline, Sphere};
