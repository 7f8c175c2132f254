#![doc = include_str!("../README.md")]

mod catalog;
mod causal;
mod geostat;
pub mod table;

pub use catalog::{DatasetInfo, catalog, load, scotland_gstlearn_model};
pub use causal::{Ihdp, LALONDE_COVARIATES, LaLonde, ihdp, lalonde_cps, lalonde_nsw, lalonde_psid};
pub use geostat::{
    Meuse, MeuseGrid, ScotlandTemperatures, SpdeToy, meuse, meuse_grid, scotland_temperatures,
    spde_toy,
};
pub use table::{Column, ColumnData, Table};

#[cfg(test)]
mod tests;
