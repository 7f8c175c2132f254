#![doc = include_str!("../README.md")]

pub mod bench;
pub mod chebyshev;
pub mod factor;
pub mod fem;
pub mod kriging;
pub mod likelihood;
pub mod lu;
pub mod matern;
pub mod mesh;
pub mod mesh_builder;
pub mod mle;
pub mod nonstationary;
mod optim;
pub mod prior;
pub mod selinv;
pub mod simulate;
pub mod spacetime;
pub mod spacetime_likelihood;
pub mod spacetime_sweep;
mod sparse;
pub mod stochastic_likelihood;
#[cfg(test)]
mod testing;

pub use factor::{Cholesky, SymbolicCholesky};
pub use fem::Fem;
pub use matern::{Matern, SpdeOperator};
pub use mesh::Mesh;
pub use selinv::SelectedInverse;
