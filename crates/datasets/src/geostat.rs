//! Geostatistical data: Meuse, R-INLA's SPDEtoy, Scotland temperatures.
//!
//! Coordinates are returned as `n x 2` matrices (rows = sites), the layout of the gmrf crate.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use uqforge_core::Result;

use crate::load;

/// The Meuse river data (R package `sp`): topsoil heavy-metal concentrations at 155 sites
/// in a flood plain of the Meuse near Stein (NL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meuse {
    /// Site coordinates `x, y` (metres, Dutch RDH grid), rows = sites.
    pub coords: DMatrix<f64>,
    /// Cadmium (ppm).
    pub cadmium: DVector<f64>,
    /// Copper (ppm).
    pub copper: DVector<f64>,
    /// Lead (ppm).
    pub lead: DVector<f64>,
    /// Zinc (ppm).
    pub zinc: DVector<f64>,
    /// Relative elevation above the local river bed (m).
    pub elev: DVector<f64>,
    /// Distance to the Meuse, normalised to [0, 1].
    pub dist: DVector<f64>,
    /// Organic matter (kg per 100 kg soil); NaN for the 2 missing values.
    pub om: DVector<f64>,
    /// Flooding frequency class: 1 = once in two years, 2 = once in ten years, 3 = once in 50.
    pub ffreq: Vec<u8>,
    /// Soil type class (1, 2, 3).
    pub soil: Vec<u8>,
    /// Lime class: whether the soil is limed.
    pub lime: Vec<bool>,
    /// Land use class (code as in `sp`); `None` for the one missing value.
    pub landuse: Vec<Option<String>>,
    /// Distance to the river (m, rounded).
    pub dist_m: DVector<f64>,
}

fn classes(values: &[f64]) -> Vec<u8> {
    // The shipped files hold small non-negative integers in these columns (checked by tests).
    values.iter().map(|&v| v as u8).collect()
}

/// Loads [`Meuse`].
///
/// # Errors
/// Only if the shipped file were corrupt.
///
/// # Examples
/// ```
/// let m = uqforge_datasets::meuse()?;
/// assert_eq!(m.coords.nrows(), 155);
/// assert_eq!(m.zinc[0], 1022.0);
/// # Ok::<(), uqforge_core::Error>(())
/// ```
pub fn meuse() -> Result<Meuse> {
    let t = load("meuse")?;
    Ok(Meuse {
        coords: t.matrix(&["x", "y"])?,
        cadmium: t.vector("cadmium")?,
        copper: t.vector("copper")?,
        lead: t.vector("lead")?,
        zinc: t.vector("zinc")?,
        elev: t.vector("elev")?,
        dist: t.vector("dist")?,
        om: t.vector("om")?,
        ffreq: classes(t.numeric("ffreq")?),
        soil: classes(t.numeric("soil")?),
        lime: t.numeric("lime")?.iter().map(|&v| v == 1.0).collect(),
        landuse: t.text("landuse")?.to_vec(),
        dist_m: t.vector("dist.m")?,
    })
}

/// The Meuse prediction grid: 3,103 cells of 40 m x 40 m.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeuseGrid {
    /// Cell centres `x, y` (metres, RDH), rows = cells.
    pub coords: DMatrix<f64>,
    /// Normalised distance to the river, as in [`Meuse::dist`].
    pub dist: DVector<f64>,
    /// Soil type class.
    pub soil: Vec<u8>,
    /// Flooding frequency class.
    pub ffreq: Vec<u8>,
}

/// Loads [`MeuseGrid`].
///
/// # Errors
/// Only if the shipped file were corrupt.
pub fn meuse_grid() -> Result<MeuseGrid> {
    let t = load("meuse_grid")?;
    Ok(MeuseGrid {
        coords: t.matrix(&["x", "y"])?,
        dist: t.vector("dist")?,
        soil: classes(t.numeric("soil")?),
        ffreq: classes(t.numeric("ffreq")?),
    })
}

/// R-INLA's SPDE tutorial toy data: 200 noisy observations of a simulated Matérn field on the
/// unit square. Truth (from the tutorial): intercept 10, noise variance 0.3, field variance 5,
/// $\kappa = 7$, $\nu = 1$.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpdeToy {
    /// Locations `s1, s2` in the unit square, rows = sites.
    pub coords: DMatrix<f64>,
    /// Observations.
    pub y: DVector<f64>,
}

/// Loads [`SpdeToy`].
///
/// # Errors
/// Only if the shipped file were corrupt.
pub fn spde_toy() -> Result<SpdeToy> {
    let t = load("spde_toy")?;
    Ok(SpdeToy {
        coords: t.matrix(&["s1", "s2"])?,
        y: t.vector("y")?,
    })
}

/// January mean temperatures at 236 Scottish stations (gstlearn's tutorial data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScotlandTemperatures {
    /// Projected coordinates `Longitude, Latitude` (km), rows = stations.
    pub coords: DMatrix<f64>,
    /// Elevation (m).
    pub elevation: DVector<f64>,
    /// January temperature (deg C); NaN at the 85 stations without a measurement (the
    /// prediction targets of the tutorials).
    pub january_temp: DVector<f64>,
}

/// Loads [`ScotlandTemperatures`].
///
/// # Errors
/// Only if the shipped file were corrupt.
pub fn scotland_temperatures() -> Result<ScotlandTemperatures> {
    let t = load("scotland_temperatures")?;
    Ok(ScotlandTemperatures {
        coords: t.matrix(&["Longitude", "Latitude"])?,
        elevation: t.vector("Elevation")?,
        january_temp: t.vector("January_temp")?,
    })
}
