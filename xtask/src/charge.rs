//! The `charge` suite: the pinn crate's use case ([`uqforge_pinn::bench::charge`]) with the
//! sensitivity crate's Sobol' indices for its last stage. The pinn crate does not depend on
//! the sensitivity crate; this is where the two meet.

use uqforge_core::Result;
use uqforge_core::bench::{Suite, SuiteConfig, SuiteReport};
use uqforge_core::observe::Progress;
use uqforge_pinn::bench::charge::{self, OutputIndices};
use uqforge_pinn::charge::LogModel;
use uqforge_sensitivity::{
    Design, Estimator, InputSpace, Marginal, PickFreezeConfig, sobol_indices,
};

pub(crate) fn suites() -> Vec<Suite> {
    vec![Suite {
        name: "charge",
        description: "Charge transport end to end: PEA deconvolution, PINN identification, Sobol' indices of the identified model; identification error against noise and number of profiles",
        run,
    }]
}

fn run(config: &SuiteConfig, progress: &mut dyn Progress) -> Result<SuiteReport> {
    charge::run(config, progress, &sobol)
}

/// Janon's estimators on a scrambled Sobol' design, 4 replicates.
fn sobol(
    model: &LogModel,
    ranges: &[(String, f64, f64)],
    n: usize,
    seed: u64,
) -> Result<Vec<OutputIndices>> {
    let space = InputSpace::new(
        ranges
            .iter()
            .map(|(name, lo, hi)| Ok((name.clone(), Marginal::uniform(*lo, *hi)?)))
            .collect::<Result<Vec<_>>>()?,
    )?;
    let config = PickFreezeConfig::new(Estimator::Janon, Design::Sobol, n)
        .with_replicates(4)
        .with_seed(seed);
    let r = sobol_indices(model, space, config)?;
    Ok(r.outputs
        .into_iter()
        .map(|o| OutputIndices {
            first: o.first_order,
            total: o.total,
        })
        .collect())
}
