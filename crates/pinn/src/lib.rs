#![doc = include_str!("../README.md")]

pub mod activation;
pub mod adaptive;
pub mod bench;
pub mod burgers;
pub mod charge;
pub mod diffusion;
pub mod dual;
pub mod identifiability;
pub mod identify;
pub mod jets;
pub mod loss;
pub mod mlp;
pub mod pea;
pub mod residual;
pub mod sampling;
pub mod train;

pub use jets::{JetSpec, JetTape};
pub use loss::{Problem, Term, Unknown};
pub use mlp::{Activation, Mlp};
pub use residual::Residual;
