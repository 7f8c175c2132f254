//! One module per subcommand: its arguments and a `run` that returns the JSON to print.

pub(crate) mod ate;
pub(crate) mod center_outward;
pub(crate) mod charge;
pub(crate) mod curvature;
pub(crate) mod datasets;
pub(crate) mod depth;
pub(crate) mod describe;
pub(crate) mod geodesic;
pub(crate) mod gmrf;
pub(crate) mod kmeans;
pub(crate) mod ot;
pub(crate) mod pea;
pub(crate) mod pinn;
pub(crate) mod sobol;
