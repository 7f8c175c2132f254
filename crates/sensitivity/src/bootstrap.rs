//! Bootstrap percentile intervals over the rows of one pick-freeze sample.
//!
//! Resample the $N$ rows with replacement $B$ times, recompute the estimator on each resample,
//! and take the $\alpha/2$ and $1-\alpha/2$ quantiles (Efron's percentile interval). This is
//! what SALib and R's `sensitivity` do by default.
//!
//! **Valid for Monte Carlo designs only.** The bootstrap assumes independent rows. The rows of
//! a scrambled Sobol' design are stratified, so the RQMC estimator varies far less than the
//! bootstrap believes: the intervals come out many times too wide (coverage near 100 %, widths
//! that do not shrink like the RQMC error). `cargo xtask bench --suite sensitivity` measures
//! it; use independent replicates ([`crate::PickFreeze::run`]) for RQMC intervals. The function
//! still accepts a Sobol' design so that this can be shown.
//!
//! Unlike the streaming path this keeps all $N(d+2)k$ outputs in memory.

use rand_core::Rng;
use rayon::prelude::*;
use uqforge_core::{Estimate, Interval, Model, Result, rng, validate};

use crate::PickFreeze;
use crate::moments::FeatureMoments;
use crate::pick_freeze::OutputIndices;

/// Point estimates on replicate 0 of `pf`'s design, with bootstrap percentile intervals from
/// `resamples` resamples (seeded by `seed`).
///
/// # Errors
/// [`uqforge_core::Error::InvalidParameter`] for fewer than 20 resamples; as
/// [`PickFreeze::run`] otherwise.
pub fn bootstrap_indices<M: Model + Sync>(
    pf: &PickFreeze,
    model: &M,
    resamples: u32,
    seed: u64,
) -> Result<Vec<OutputIndices>> {
    validate::at_least("bootstrap resamples", resamples as usize, 20)?;
    let d = pf.space().factors().len();
    let k = model.output_dim();
    validate::len("model input dimension", pf.space().dim(), model.input_dim())?;
    let blocks = (0..pf.blocks())
        .into_par_iter()
        .map(|b| pf.block_outputs(model, 0, b))
        .collect::<Result<Vec<_>>>()?;
    let (mut ya, mut yb, mut yc) = (Vec::new(), Vec::new(), vec![Vec::new(); d]);
    for out in blocks.into_iter().flatten() {
        ya.extend(out.ya);
        yb.extend(out.yb);
        for (all, part) in yc.iter_mut().zip(out.yc) {
            all.extend(part);
        }
    }
    let n = ya.len() / k;
    let point = pf.estimate(&[pf.accumulate(model, 0, 0..pf.blocks())?])?;
    let estimator = pf.config().estimator;
    let level = pf.config().level;
    // values[b][(o * d + i) * 2 + {0: S, 1: ST}]
    let values: Vec<Vec<f64>> = (0..resamples)
        .into_par_iter()
        .map(|b| {
            let mut draw = rng::stream(seed, u64::from(b));
            let rows: Vec<usize> = (0..n)
                .map(|_| (draw.next_u64() % n as u64) as usize)
                .collect();
            let mut out = Vec::with_capacity(k * d * 2);
            for o in 0..k {
                for c in &yc {
                    let mut m = FeatureMoments::default();
                    for &r in &rows {
                        m.push(ya[r * k + o], yb[r * k + o], c[r * k + o]);
                    }
                    let (s, t) = estimator.indices(&m.dual_means());
                    out.extend([s.v, t.v]);
                }
            }
            out
        })
        .collect();
    let quantile = |sorted: &[f64], p: f64| {
        let h = p * (sorted.len() - 1) as f64;
        let (lo, frac) = (h.floor() as usize, h - h.floor());
        sorted[lo] + frac * (sorted[(lo + 1).min(sorted.len() - 1)] - sorted[lo])
    };
    let mut result = point.outputs;
    for (o, out) in result.iter_mut().enumerate() {
        for i in 0..d {
            for (which, est) in [(0, &mut out.first_order[i]), (1, &mut out.total[i])] {
                let mut v: Vec<f64> = values
                    .iter()
                    .map(|row| row[(o * d + i) * 2 + which])
                    .collect();
                v.sort_by(f64::total_cmp);
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64)
                    .sqrt();
                *est = Estimate {
                    value: est.value,
                    std_error: Some(sd),
                    ci: Some(Interval::new(
                        quantile(&v, 0.5 - level / 2.0),
                        quantile(&v, 0.5 + level / 2.0),
                        level,
                    )?),
                };
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Design, Estimator, PickFreezeConfig, TestFunction};

    #[test]
    fn bootstrap_matches_the_delta_method_on_monte_carlo_and_overstates_rqmc_error() {
        let f = TestFunction::ishigami();
        let cfg = |design| PickFreezeConfig {
            n: 4096,
            design,
            estimator: Estimator::Saltelli,
            replicates: 1,
            seed: 2,
            level: 0.95,
            second_order: false,
        };
        let pf = PickFreeze::new(f.input_space().unwrap(), cfg(Design::MonteCarlo)).unwrap();
        let boot = bootstrap_indices(&pf, &f, 200, 5).unwrap();
        let delta = pf.run(&f).unwrap();
        for i in 0..3 {
            let (b, dm) = (&boot[0].first_order[i], &delta.outputs[0].first_order[i]);
            assert_eq!(b.value, dm.value);
            // Two estimates of the same sd; the bootstrap one has ~5 % sampling error at B = 200.
            let ratio = b.std_error.unwrap() / dm.std_error.unwrap();
            assert!((0.8..1.25).contains(&ratio), "S{}: ratio {ratio}", i + 1);
        }
        // On a Sobol' design the row bootstrap reports about the Monte Carlo error, far above
        // the spread of independent RQMC replicates.
        let q = PickFreeze::new(f.input_space().unwrap(), cfg(Design::Sobol)).unwrap();
        let boot_q = bootstrap_indices(&q, &f, 200, 5).unwrap();
        let reps = PickFreeze::new(
            f.input_space().unwrap(),
            PickFreezeConfig {
                replicates: 10,
                ..cfg(Design::Sobol)
            },
        )
        .unwrap()
        .run(&f)
        .unwrap();
        // se of one replicate = sqrt(R) * se of the mean.
        let rqmc_sd = reps.outputs[0].total[0].std_error.unwrap() * 10f64.sqrt();
        let boot_sd = boot_q[0].total[0].std_error.unwrap();
        assert!(
            boot_sd > 3.0 * rqmc_sd,
            "bootstrap sd {boot_sd} vs RQMC sd {rqmc_sd}"
        );
        assert!(bootstrap_indices(&pf, &f, 5, 0).is_err());
    }
}
