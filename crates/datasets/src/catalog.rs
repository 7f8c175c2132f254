//! The list of shipped data sets, and loading any of them by name as a [`Table`].

use serde::Serialize;
use uqforge_core::{Error, Result};

use crate::Table;

/// What a shipped data set is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DatasetInfo {
    /// Name used by [`load`] and by the CLI's `--data NAME`.
    pub name: &'static str,
    /// Rows of data (header excluded).
    pub rows: usize,
    /// One line: what it is and what it is for.
    pub description: &'static str,
    /// Where it comes from (see the `PROVENANCE.md` files).
    pub source: &'static str,
    #[serde(skip)]
    text: &'static str,
}

macro_rules! data {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/", $path))
    };
}

static CATALOG: &[DatasetInfo] = &[
    DatasetInfo {
        name: "lalonde_nsw",
        rows: 445,
        description: "LaLonde NSW job-training experiment, Dehejia-Wahba subsample: re78 (1978 earnings, USD), treat, 8 covariates",
        source: "LaLonde (1986); Dehejia & Wahba (1999)",
        text: data!("causal/nsw_dw_experimental.csv"),
    },
    DatasetInfo {
        name: "lalonde_cps",
        rows: 16_177,
        description: "NSW treated units with CPS-1 observational controls (poor overlap)",
        source: "Dehejia & Wahba (1999)",
        text: data!("causal/nsw_treated_cps1_controls.csv"),
    },
    DatasetInfo {
        name: "lalonde_psid",
        rows: 2_675,
        description: "NSW treated units with PSID-1 observational controls",
        source: "Dehejia & Wahba (1999)",
        text: data!("causal/nsw_treated_psid1_controls.csv"),
    },
    DatasetInfo {
        name: "ihdp1",
        rows: 747,
        description: "IHDP semi-synthetic benchmark, replication 1: treatment, y_factual, y_cfactual, mu0, mu1, x1..x25",
        source: "Hill (2011), NPCI setting B; CEVAE repository",
        text: data!("causal/ihdp/ihdp_npci_1.csv"),
    },
    DatasetInfo {
        name: "ihdp2",
        rows: 747,
        description: "IHDP semi-synthetic benchmark, replication 2",
        source: "Hill (2011), NPCI setting B; CEVAE repository",
        text: data!("causal/ihdp/ihdp_npci_2.csv"),
    },
    DatasetInfo {
        name: "ihdp3",
        rows: 747,
        description: "IHDP semi-synthetic benchmark, replication 3",
        source: "Hill (2011), NPCI setting B; CEVAE repository",
        text: data!("causal/ihdp/ihdp_npci_3.csv"),
    },
    DatasetInfo {
        name: "meuse",
        rows: 155,
        description: "Meuse river heavy metals: x, y (m, RDH), cadmium, copper, lead, zinc (ppm), elev, dist, om, ffreq, soil, lime, landuse, dist.m",
        source: "R package sp, data(meuse)",
        text: data!("gmrf/meuse.csv"),
    },
    DatasetInfo {
        name: "meuse_grid",
        rows: 3_103,
        description: "Meuse prediction grid (40 m cells): x, y, part.a, part.b, dist, soil, ffreq",
        source: "R package sp, data(meuse.grid)",
        text: data!("gmrf/meuse.grid.csv"),
    },
    DatasetInfo {
        name: "spde_toy",
        rows: 200,
        description: "R-INLA SPDE tutorial toy data on the unit square: s1, s2, y (truth: intercept 10, noise var 0.3, field var 5, kappa 7, nu 1)",
        source: "R-INLA, data(SPDEtoy)",
        text: data!("gmrf/SPDEtoy.csv"),
    },
    DatasetInfo {
        name: "scotland_temperatures",
        rows: 236,
        description: "January temperatures at Scottish stations: Longitude, Latitude (km, projected), Elevation (m), January_temp (deg C; 85 missing)",
        source: "gstlearn tutorials, doc/data/Scotland",
        text: data!("gmrf/Scotland_Temperatures.csv"),
    },
];

/// Every shipped data set.
///
/// ```
/// let names: Vec<_> = uqforge_datasets::catalog().iter().map(|d| d.name).collect();
/// assert!(names.contains(&"meuse"));
/// ```
pub fn catalog() -> &'static [DatasetInfo] {
    CATALOG
}

/// Loads the shipped data set `name` as a [`Table`] (parsed at call time).
///
/// # Errors
/// [`Error::InvalidParameter`] listing the known names when `name` is not one of them.
///
/// # Examples
/// ```
/// let t = uqforge_datasets::load("spde_toy")?;
/// assert_eq!((t.n_rows(), t.names()), (200, vec!["s1", "s2", "y"]));
/// # Ok::<(), uqforge_core::Error>(())
/// ```
pub fn load(name: &str) -> Result<Table> {
    let info = CATALOG.iter().find(|d| d.name == name).ok_or_else(|| {
        let names: Vec<&str> = CATALOG.iter().map(|d| d.name).collect();
        Error::invalid_parameter(
            "data set",
            format!("unknown data set `{name}`; shipped: {}", names.join(", ")),
        )
    })?;
    Table::from_csv_str(info.text, info.name)
}

/// The gstlearn reference model file for the Scotland temperatures (its tutorials' fitted
/// variogram model, in gstlearn's ASCII format), for comparisons in the gmrf crate.
pub fn scotland_gstlearn_model() -> &'static str {
    data!("gmrf/Scotland_model_gstlearn.ascii")
}
