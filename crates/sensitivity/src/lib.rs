#![doc = include_str!("../README.md")]

pub mod bench;
pub mod bootstrap;
pub mod design;
pub mod estimators;
pub mod inputs;
pub mod moments;
pub mod pick_freeze;
pub mod rank;
pub mod second_order;
pub mod smd;
/// Scrambled Sobol' points (moved to `uqforge-core`, shared with the PINN collocation points).
pub use uqforge_core::sobol;
pub mod test_functions;

pub use design::Design;
pub use estimators::Estimator;
pub use inputs::{InputSpace, Marginal};
pub use pick_freeze::{
    OutputIndices, PickFreeze, PickFreezeConfig, PickFreezeState, SobolIndices, sobol_indices,
};
pub use second_order::SecondOrderIndex;
pub use test_functions::TestFunction;
