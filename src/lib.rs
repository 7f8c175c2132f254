#![doc = include_str!("../README.md")]

#[cfg(feature = "causal")]
#[doc(inline)]
pub use uqforge_causal as causal;
#[doc(inline)]
pub use uqforge_core as core;
#[cfg(feature = "datasets")]
#[doc(inline)]
pub use uqforge_datasets as datasets;
#[cfg(feature = "depth")]
#[doc(inline)]
pub use uqforge_depth as depth;
#[cfg(feature = "gmrf")]
#[doc(inline)]
pub use uqforge_gmrf as gmrf;
#[cfg(feature = "latent")]
#[doc(inline)]
pub use uqforge_latent as latent;
#[cfg(feature = "pinn")]
#[doc(inline)]
pub use uqforge_pinn as pinn;
#[cfg(feature = "sensitivity")]
#[doc(inline)]
pub use uqforge_sensitivity as sensitivity;
#[cfg(feature = "transport")]
#[doc(inline)]
pub use uqforge_transport as transport;

pub use uqforge_core::{Error, Estimate, Interval, Model, Result};
