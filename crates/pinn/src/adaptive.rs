//! Residual-based adaptive refinement (RAR) of the collocation points.
//!
//! A fixed set of collocation points spends most of them where the solution is easy. RAR (Lu,
//! Meng, Mao and Karniadakis, SIAM Review 63:208, 2021) alternates training with refinement:
//! evaluate the residual on many fresh candidate points, add the `add` candidates with the
//! largest squared residual $\sum_e r_e^2$ to the PDE term, train on. For Burgers the added
//! points gather at the shock.
//!
//! Candidates are Latin-hypercube points in the box, from ChaCha8 stream `1000 + round` of the
//! seed (the problems of [`crate::burgers`] and [`crate::diffusion`] use streams below 10).
//!
//! ```
//! use uqforge_pinn::{Activation, Mlp, adaptive::refine, burgers};
//! let problem = burgers::forward_problem(200, 20, 20, 1)?;
//! let net = Mlp::new(&[2, 8, 1], Activation::Tanh, 1)?;
//! let (lo, hi) = burgers::DOMAIN;
//! let (refined, report) = refine(&problem, &net, &[], 0, &lo, &hi, 1000, 50, 7, 0)?;
//! assert_eq!(refined.terms()[0].points().nrows(), 250);
//! assert!(report.largest >= report.mean);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::observe::Progress;
use uqforge_core::{Error, Result, validate};

use crate::loss::Problem;
use crate::mlp::Mlp;
use crate::sampling::latin_hypercube;
use crate::train::{TrainOptions, Training, train};

/// What one refinement did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refinement {
    /// Candidates evaluated.
    pub candidates: usize,
    /// Points added.
    pub added: usize,
    /// Mean squared residual over the candidates.
    pub mean: f64,
    /// Largest squared residual among them.
    pub largest: f64,
}

/// Adds to term `term` the `add` of `candidates` Latin-hypercube points of `[lower, upper]`
/// with the largest squared residual; `eta` are the unknowns' internal values.
///
/// # Errors
/// [`Error::InvalidParameter`] when `add` is zero or exceeds `candidates`, and the errors of
/// [`Problem::pointwise_residuals`].
#[allow(clippy::too_many_arguments)]
pub fn refine(
    problem: &Problem,
    net: &Mlp,
    eta: &[f64],
    term: usize,
    lower: &[f64],
    upper: &[f64],
    candidates: usize,
    add: usize,
    seed: u64,
    round: u64,
) -> Result<(Problem, Refinement)> {
    if add == 0 || add > candidates {
        return Err(Error::invalid_parameter(
            "points to add",
            format!("must be between 1 and the {candidates} candidates, got {add}"),
        ));
    }
    let pool = latin_hypercube(candidates, lower, upper, seed, 1000 + round)?;
    let r = problem.pointwise_residuals(net, eta, term, pool.clone())?;
    let mut order: Vec<usize> = (0..candidates).collect();
    // Largest first; NaN residuals sort first too (they need points most).
    order.sort_by(|&a, &b| r[b].partial_cmp(&r[a]).unwrap_or(std::cmp::Ordering::Less));
    let chosen = DMatrix::from_fn(add, pool.ncols(), |i, j| pool[(order[i], j)]);
    let report = Refinement {
        candidates,
        added: add,
        mean: r.iter().sum::<f64>() / candidates as f64,
        largest: r[order[0]],
    };
    Ok((problem.with_points_added(term, &chosen)?, report))
}

/// A schedule of refinements: `rounds` times, Adam on the current points then [`refine`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rar {
    /// The refined term (the PDE residual).
    pub term: usize,
    /// The domain's lower corner.
    pub lower: Vec<f64>,
    /// The domain's upper corner.
    pub upper: Vec<f64>,
    /// Refinement rounds.
    pub rounds: usize,
    /// Adam steps between refinements.
    pub steps_between: usize,
    /// Candidates per round.
    pub candidates: usize,
    /// Points added per round.
    pub add: usize,
    /// Seed of the candidates.
    pub seed: u64,
}

/// Trains with residual-based refinement: the rounds of `rar` (Adam with `options.adam`'s
/// settings for `rar.steps_between` steps, then a refinement), then `options` in full on the
/// refined problem. Returns the last training and the refined problem.
///
/// # Errors
/// The errors of [`train`] and [`refine`].
pub fn train_adaptive(
    problem: &Problem,
    net: &mut Mlp,
    options: &TrainOptions,
    rar: &Rar,
    progress: &mut dyn Progress,
) -> Result<(Training, Problem, Vec<Refinement>)> {
    validate::at_least("steps between refinements", rar.steps_between, 1)?;
    let mut current = problem.clone();
    let mut reports = Vec::with_capacity(rar.rounds);
    let mut warmup = options.clone();
    warmup.adam.steps = rar.steps_between;
    warmup.lbfgs.iterations = 0;
    for round in 0..rar.rounds {
        let fit = train(&current, net, &warmup, progress)?;
        current = current.with_unknowns_at(&fit.coefficients)?;
        let eta = current.initial_internal();
        let (next, report) = refine(
            &current,
            net,
            &eta,
            rar.term,
            &rar.lower,
            &rar.upper,
            rar.candidates,
            rar.add,
            rar.seed,
            round as u64,
        )?;
        progress.message(&format!(
            "refinement {round}: added {} points, mean squared residual {:.3e}, largest {:.3e}",
            report.added, report.mean, report.largest
        ));
        reports.push(report);
        current = next;
    }
    let fit = train(&current, net, options, progress)?;
    Ok((fit, current, reports))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::burgers;
    use crate::mlp::Activation;
    use uqforge_core::observe::NoProgress;

    #[test]
    fn refinement_adds_points_at_the_burgers_shock() {
        let problem = burgers::forward_problem(500, 50, 50, 3).unwrap();
        let (lo, hi) = burgers::DOMAIN;
        let mut net = Mlp::new(&[2, 16, 16, 1], Activation::Tanh, 3)
            .unwrap()
            .with_input_box(&lo, &hi)
            .unwrap();
        let mut options = TrainOptions::default();
        options.adam.steps = 400;
        options.adam.learning_rate = 3e-3;
        options.lbfgs.iterations = 200;
        train(&problem, &mut net, &options, &mut NoProgress).unwrap();
        let (refined, report) = refine(&problem, &net, &[], 0, &lo, &hi, 4000, 100, 11, 0).unwrap();
        let added = refined.terms()[0].points().rows(500, 100).into_owned();
        // Uniform points have mean |x| = 0.5; the shock sits at x = 0 for t > 0.3 or so.
        let mean_abs_x = added.column(1).iter().map(|x| x.abs()).sum::<f64>() / 100.0;
        let mean_t = added.column(0).mean();
        assert!(
            mean_abs_x < 0.15 && mean_t > 0.4,
            "mean |x| {mean_abs_x}, mean t {mean_t}"
        );
        assert!(report.largest > 10.0 * report.mean);
        // Data terms have no residual away from their points.
        assert!(refine(&problem, &net, &[], 1, &lo, &hi, 10, 5, 0, 0).is_err());
        assert!(refine(&problem, &net, &[], 0, &lo, &hi, 10, 0, 0, 0).is_err());
    }

    #[test]
    fn adaptive_training_carries_the_coefficients_across_rounds() {
        let problem = burgers::inverse_problem(200, 0.0, 2).unwrap();
        let (lo, hi) = burgers::DOMAIN;
        let mut net = Mlp::new(&[2, 10, 10, 1], Activation::Tanh, 2)
            .unwrap()
            .with_input_box(&lo, &hi)
            .unwrap();
        let mut options = TrainOptions::default();
        options.adam.steps = 20;
        options.lbfgs.iterations = 20;
        let rar = Rar {
            term: 1,
            lower: lo.to_vec(),
            upper: hi.to_vec(),
            rounds: 2,
            steps_between: 30,
            candidates: 300,
            add: 20,
            seed: 5,
        };
        let (fit, refined, reports) =
            train_adaptive(&problem, &mut net, &options, &rar, &mut NoProgress).unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(refined.terms()[1].points().nrows(), 240);
        // lambda1 started at 0 and moved in the warm-up rounds: the last round did not restart it.
        assert!(refined.unknowns()[0].initial != 0.0);
        assert!(fit.loss.total.is_finite());
    }
}
