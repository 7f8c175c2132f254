//! Training: Adam, then L-BFGS, on the network's weights and the unknown coefficients together.
//!
//! The usual PINN recipe (Raissi et al. 2019; Wang, Teng, Perdikaris 2021): first-order Adam
//! steps (Kingma and Ba 2015) move the network out of its random start, where the loss
//! landscape is rough; a quasi-Newton method then converges far further than Adam would
//! (L-BFGS, here argmin's with a Moré–Thuente line search, on the flat vector
//! $(\theta, \eta)$). Adam's step at iteration $k$, with gradient $g_k$:
//! $$
//! m_k = \beta_1 m_{k-1} + (1 - \beta_1) g_k,\quad
//! v_k = \beta_2 v_{k-1} + (1 - \beta_2) g_k^2,\quad
//! p_{k} = p_{k-1} - \alpha_k \frac{m_k / (1 - \beta_1^k)}{\sqrt{v_k / (1 - \beta_2^k)} + \epsilon},
//! $$
//! with the learning rate $\alpha_k = \alpha_0 \gamma^{k / K}$ (exponential decay by $\gamma$ every
//! $K$ steps; $\gamma = 1$ keeps it constant).
//!
//! **Failure modes handled.** A non-finite loss in Adam stops training with an error naming the
//! step (lower the learning rate, rescale inputs or outputs); one inside an L-BFGS line search
//! ends L-BFGS and restores the best point seen, reported in [`Training::lbfgs_termination`].
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_core::observe::NoProgress;
//! use uqforge_pinn::{Activation, Mlp, Problem, Term, train::{TrainOptions, train}};
//! let mut net = Mlp::new(&[1, 8, 1], Activation::Tanh, 1)?;
//! let x = DMatrix::from_fn(20, 1, |i, _| -1.0 + i as f64 / 10.0);
//! let problem = Problem::new(vec![Term::data("data", x.clone(), x.map(|v| v * v))?], vec![])?;
//! let mut options = TrainOptions::default();
//! options.adam.steps = 200;
//! options.lbfgs.iterations = 200;
//! let fit = train(&problem, &mut net, &options, &mut NoProgress)?;
//! assert!(fit.loss.total < 1e-6, "{}", fit.loss.total);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::sync::Mutex;

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use serde::{Deserialize, Serialize};
use uqforge_core::observe::Progress;
use uqforge_core::{Error, Result, validate};

use crate::loss::{LossValue, Problem, Workspace};
use crate::mlp::Mlp;

/// Adam's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Number of steps (0 skips Adam).
    pub steps: usize,
    /// Initial learning rate $\alpha_0$.
    pub learning_rate: f64,
    /// Decay factor $\gamma$ applied every [`Adam::decay_steps`] steps (1: constant).
    pub decay_rate: f64,
    /// $K$.
    pub decay_steps: usize,
    /// $\beta_1$.
    pub beta1: f64,
    /// $\beta_2$.
    pub beta2: f64,
    /// $\epsilon$.
    pub epsilon: f64,
}

impl Default for Adam {
    fn default() -> Self {
        Self {
            steps: 1000,
            learning_rate: 1e-3,
            decay_rate: 1.0,
            decay_steps: 1000,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }
}

/// L-BFGS settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lbfgs {
    /// Maximum number of iterations (0 skips L-BFGS).
    pub iterations: usize,
    /// Number of stored correction pairs (SciPy's L-BFGS-B uses 10, Raissi et al. 50).
    pub memory: usize,
    /// Stop when the gradient's norm falls below this.
    pub gradient_tolerance: f64,
}

impl Default for Lbfgs {
    fn default() -> Self {
        Self {
            iterations: 1000,
            memory: 50,
            gradient_tolerance: 1e-10,
        }
    }
}

/// Both phases, and how often to record the loss.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// The Adam phase.
    pub adam: Adam,
    /// The L-BFGS phase.
    pub lbfgs: Lbfgs,
    /// Record the loss every this many steps or loss evaluations (0: every 100).
    pub record_every: usize,
    /// Keep the parameters in every record (checkpoints, accuracy-against-time curves).
    pub keep_parameters: bool,
    /// Adaptive loss weights during Adam (`None`: the terms' own weights throughout).
    pub annealing: Option<Annealing>,
}

/// Adaptive loss weights by gradient statistics ("learning-rate annealing", Wang, Teng and
/// Perdikaris, SIAM J. Sci. Comput. 43:A3055, 2021).
///
/// Every [`Annealing::every`] Adam steps, with $g_t = \nabla_\theta L_t$ the
/// gradient of term $t$'s unweighted mean squared residual and $r$ the reference term,
/// $$
/// \hat w_t = \frac{\max_j |g_{r,j}|}{\operatorname{mean}_j |g_{t,j}|},\qquad
/// w_t \leftarrow (1 - \alpha) w_t + \alpha \hat w_t \quad (t \ne r),
/// $$
/// so that no term's gradient is drowned by the reference's (typically the PDE residual,
/// whose gradient dominates at initialisation). L-BFGS then uses the last weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annealing {
    /// Update period in Adam steps.
    pub every: usize,
    /// Smoothing $\alpha \in (0, 1]$.
    pub alpha: f64,
    /// Index of the reference term (its weight stays fixed).
    pub reference: usize,
}

/// A point of the loss history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `"adam"` or `"lbfgs"`.
    pub phase: String,
    /// Step (Adam) or loss evaluation (L-BFGS) number within the phase.
    pub step: usize,
    /// The loss.
    pub loss: f64,
    /// The unknown coefficients (natural scale).
    pub coefficients: Vec<f64>,
    /// Wall-clock seconds since training started.
    pub seconds: f64,
    /// The network's parameters then, followed by the internal coefficients $\eta$ (empty
    /// unless [`TrainOptions::keep_parameters`]).
    pub parameters: Vec<f64>,
}

/// The outcome of [`train`]; the trained weights are in the network passed to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// The final loss.
    pub loss: LossValue,
    /// The names of the unknown coefficients.
    pub coefficient_names: Vec<String>,
    /// Their final values (natural scale).
    pub coefficients: Vec<f64>,
    /// Adam steps taken.
    pub adam_steps: usize,
    /// L-BFGS iterations taken.
    pub lbfgs_iterations: u64,
    /// Loss evaluations with gradient, over both phases.
    pub evaluations: usize,
    /// Why L-BFGS stopped.
    pub lbfgs_termination: String,
    /// The recorded losses.
    pub history: Vec<Record>,
    /// The loss weights at the end (changed by [`TrainOptions::annealing`]).
    pub weights: Vec<f64>,
}

/// Trains `net` (in place) and the problem's unknowns; see the [module docs](self).
///
/// # Errors
/// [`Error::InvalidParameter`] for non-positive learning rates, decay or tolerances,
/// [`Error::Degenerate`] when the loss becomes non-finite during Adam (the message names the
/// step), and the errors of [`Problem::workspace`].
pub fn train(
    problem: &Problem,
    net: &mut Mlp,
    options: &TrainOptions,
    progress: &mut dyn Progress,
) -> Result<Training> {
    let adam = &options.adam;
    validate::positive("learning_rate", adam.learning_rate)?;
    validate::positive("decay_rate", adam.decay_rate)?;
    validate::at_least("decay_steps", adam.decay_steps, 1)?;
    validate::in_open_range("beta1", adam.beta1, 0.0, 1.0)?;
    validate::in_open_range("beta2", adam.beta2, 0.0, 1.0)?;
    validate::positive("epsilon", adam.epsilon)?;
    validate::positive("gradient_tolerance", options.lbfgs.gradient_tolerance)?;
    validate::at_least("memory", options.lbfgs.memory, 1)?;
    let every = if options.record_every == 0 {
        100
    } else {
        options.record_every
    };
    let start = std::time::Instant::now();
    let mut weights = problem.weights();
    if let Some(a) = &options.annealing {
        validate::at_least("annealing period", a.every, 1)?;
        validate::in_range("annealing alpha", a.alpha, f64::MIN_POSITIVE, 1.0)?;
        if a.reference >= weights.len() {
            return Err(Error::invalid_parameter(
                "annealing reference",
                format!("term {} of {}", a.reference, weights.len()),
            ));
        }
    }
    let mut ws = problem.workspace(net)?;
    let (np, nc) = (net.n_params(), problem.unknowns().len());
    let mut params: Vec<f64> = net
        .params()
        .iter()
        .copied()
        .chain(problem.initial_internal())
        .collect();
    let mut grad = vec![0.0; np + nc];
    let mut history = Vec::new();
    let natural = |p: &[f64]| -> Vec<f64> {
        problem
            .unknowns()
            .iter()
            .zip(&p[np..])
            .map(|(u, &e)| u.to_natural(e))
            .collect()
    };

    // Adam.
    let (mut m, mut v) = (vec![0.0; np + nc], vec![0.0; np + nc]);
    let mut evaluations = 0;
    if adam.steps > 0 {
        progress.start("adam", adam.steps as u64);
    }
    for step in 1..=adam.steps {
        net.set_params(&params[..np])
            .map_err(|_| diverged("Adam", step - 1))?;
        let (gt, gc) = grad.split_at_mut(np);
        let loss =
            problem.evaluate_weighted(net, &params[np..], &weights, &mut ws, Some((gt, gc)))?;
        evaluations += 1;
        if !loss.total.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            return Err(diverged("Adam", step));
        }
        if step == 1 || step % every == 0 {
            history.push(Record {
                phase: "adam".into(),
                step,
                loss: loss.total,
                coefficients: natural(&params),
                seconds: start.elapsed().as_secs_f64(),
                parameters: if options.keep_parameters {
                    params.clone()
                } else {
                    Vec::new()
                },
            });
            progress.message(&format!("adam step {step}: loss {:.6e}", loss.total));
        }
        if let Some(a) = &options.annealing
            && step % a.every == 0
        {
            anneal(
                a,
                &problem.term_gradients(net, &params[np..], &mut ws)?,
                &mut weights,
            );
        }
        let rate = adam.learning_rate * adam.decay_rate.powf(step as f64 / adam.decay_steps as f64);
        let (c1, c2) = (
            1.0 - adam.beta1.powi(step as i32),
            1.0 - adam.beta2.powi(step as i32),
        );
        for (((p, &g), m), v) in params.iter_mut().zip(&grad).zip(&mut m).zip(&mut v) {
            *m = adam.beta1 * *m + (1.0 - adam.beta1) * g;
            *v = adam.beta2 * *v + (1.0 - adam.beta2) * g * g;
            *p -= rate * (*m / c1) / ((*v / c2).sqrt() + adam.epsilon);
        }
        progress.advance(1);
    }
    if adam.steps > 0 {
        progress.finish();
    }
    net.set_params(&params[..np])
        .map_err(|_| diverged("Adam", adam.steps))?;

    // L-BFGS.
    let (mut iterations, mut termination) = (0, "not run".to_string());
    if options.lbfgs.iterations > 0 {
        progress.start("lbfgs", options.lbfgs.iterations as u64);
        let objective = Objective {
            problem,
            weights: weights.clone(),
            net: Mutex::new(net.clone()),
            ws: Mutex::new(&mut ws),
            np,
            cache: Mutex::new(None),
            best: Mutex::new(None),
            evaluations: Mutex::new(0),
            history: Mutex::new(Vec::new()),
            every,
            keep: options.keep_parameters,
            start,
        };
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), options.lbfgs.memory)
            .with_tolerance_grad(options.lbfgs.gradient_tolerance)
            .and_then(|s| s.with_tolerance_cost(0.0))
            .map_err(|e| Error::invalid_parameter("L-BFGS", e))?;
        let run = Executor::new(&objective, solver)
            .configure(|state| {
                state
                    .param(params.clone())
                    .max_iters(options.lbfgs.iterations as u64)
            })
            .run();
        match run {
            Ok(result) => {
                let state = result.state();
                iterations = state.get_iter();
                termination = format!("{}", state.get_termination_status());
            }
            Err(e) => termination = format!("stopped early: {e}"),
        }
        if let Some((best, _)) = objective.best.into_inner().ok().flatten() {
            params = best;
        }
        evaluations += objective.evaluations.into_inner().unwrap_or(0);
        history.extend(objective.history.into_inner().unwrap_or_default());
        progress.finish();
    }
    net.set_params(&params[..np])?;
    let loss = problem.evaluate_weighted(net, &params[np..], &weights, &mut ws, None)?;
    if !loss.total.is_finite() {
        return Err(Error::degenerate(
            "PINN training",
            "the loss is non-finite at the trained parameters: lower the learning rate, or scale the inputs and outputs to order one",
        ));
    }
    Ok(Training {
        loss,
        coefficient_names: problem.unknowns().iter().map(|u| u.name.clone()).collect(),
        coefficients: natural(&params),
        adam_steps: adam.steps,
        lbfgs_iterations: iterations,
        evaluations,
        lbfgs_termination: termination,
        history,
        weights,
    })
}

/// One update of the adaptive weights ([`Annealing`]).
fn anneal(a: &Annealing, gradients: &[Vec<f64>], weights: &mut [f64]) {
    let top = gradients[a.reference]
        .iter()
        .fold(0.0f64, |m, g| m.max(g.abs()));
    for (t, (g, w)) in gradients.iter().zip(weights.iter_mut()).enumerate() {
        let mean = g.iter().map(|v| v.abs()).sum::<f64>() / g.len().max(1) as f64;
        if t != a.reference && mean > 0.0 && top > 0.0 {
            *w = (1.0 - a.alpha) * *w + a.alpha * top / mean;
        }
    }
}

fn diverged(phase: &str, step: usize) -> Error {
    Error::degenerate(
        "PINN training",
        format!(
            "the loss became non-finite at {phase} step {step}: lower the learning rate, or scale the inputs and outputs to order one"
        ),
    )
}

type Cache = Option<(Vec<f64>, (f64, Vec<f64>))>;

/// The loss as argmin sees it, with a one-point cache (argmin asks for the cost and the
/// gradient at the same point separately) and the best point seen.
struct Objective<'a> {
    problem: &'a Problem,
    weights: Vec<f64>,
    net: Mutex<Mlp>,
    ws: Mutex<&'a mut Workspace>,
    np: usize,
    cache: Mutex<Cache>,
    best: Mutex<Option<(Vec<f64>, f64)>>,
    evaluations: Mutex<usize>,
    history: Mutex<Vec<Record>>,
    every: usize,
    keep: bool,
    start: std::time::Instant,
}

impl Objective<'_> {
    fn value_gradient(
        &self,
        p: &[f64],
    ) -> std::result::Result<(f64, Vec<f64>), argmin::core::Error> {
        let poisoned = || argmin::core::Error::msg("a training lock was poisoned");
        if let Some((q, vg)) = self.cache.lock().map_err(|_| poisoned())?.as_ref()
            && q.as_slice() == p
        {
            return Ok(vg.clone());
        }
        let mut net = self.net.lock().map_err(|_| poisoned())?;
        let mut ws = self.ws.lock().map_err(|_| poisoned())?;
        net.set_params(&p[..self.np])?;
        let mut g = vec![0.0; p.len()];
        let (gt, gc) = g.split_at_mut(self.np);
        let loss = self.problem.evaluate_weighted(
            &net,
            &p[self.np..],
            &self.weights,
            &mut ws,
            Some((gt, gc)),
        )?;
        let n = {
            let mut count = self.evaluations.lock().map_err(|_| poisoned())?;
            *count += 1;
            *count
        };
        if !loss.total.is_finite() || g.iter().any(|v| !v.is_finite()) {
            return Err(argmin::core::Error::msg(format!(
                "non-finite loss at L-BFGS evaluation {n}"
            )));
        }
        let mut best = self.best.lock().map_err(|_| poisoned())?;
        if best.as_ref().is_none_or(|(_, l)| loss.total < *l) {
            *best = Some((p.to_vec(), loss.total));
        }
        if n == 1 || n % self.every == 0 {
            let coefficients = self
                .problem
                .unknowns()
                .iter()
                .zip(&p[self.np..])
                .map(|(u, &e)| u.to_natural(e))
                .collect();
            let record = Record {
                phase: "lbfgs".into(),
                step: n,
                loss: loss.total,
                coefficients,
                seconds: self.start.elapsed().as_secs_f64(),
                parameters: if self.keep { p.to_vec() } else { Vec::new() },
            };
            self.history.lock().map_err(|_| poisoned())?.push(record);
        }
        *self.cache.lock().map_err(|_| poisoned())? = Some((p.to_vec(), (loss.total, g.clone())));
        Ok((loss.total, g))
    }
}

impl CostFunction for &Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.value_gradient(p)?.0)
    }
}

impl Gradient for &Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, p: &Self::Param) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.value_gradient(p)?.1)
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::DMatrix;
    use uqforge_core::observe::NoProgress;

    use super::*;
    use crate::jets::JetSpec;
    use crate::loss::Term;
    use crate::mlp::Activation;
    use crate::residual::{Partials, Point, Residual};

    /// r = ln(u): NaN as soon as the network's output is negative somewhere.
    struct LogOfValue;

    impl Residual for LogOfValue {
        fn spec(&self, inputs: usize, _: usize) -> Result<JetSpec> {
            Ok(JetSpec::values(inputs))
        }
        fn eval(&self, at: &Point<'_>, _: &[f64], out: &mut Partials<'_>) {
            out.residual(0, at.value(0).ln());
            out.d_value(0, 0, 1.0 / at.value(0));
        }
    }

    fn net() -> Mlp {
        Mlp::new(&[1, 6, 1], Activation::Tanh, 3).unwrap()
    }

    #[test]
    fn a_non_finite_loss_stops_adam_and_names_the_step() {
        let x = DMatrix::from_fn(30, 1, |i, _| -1.0 + i as f64 / 15.0);
        let problem = Problem::new(vec![Term::new("log", x, LogOfValue).unwrap()], vec![]).unwrap();
        let e = train(
            &problem,
            &mut net(),
            &TrainOptions::default(),
            &mut NoProgress,
        )
        .unwrap_err();
        assert!(e.to_string().contains("non-finite at Adam step 1"), "{e}");
    }

    #[test]
    fn bad_options_are_refused() {
        let x = DMatrix::from_fn(3, 1, |i, _| i as f64);
        let problem = Problem::new(vec![Term::data("d", x.clone(), x).unwrap()], vec![]).unwrap();
        let bad: [fn(&mut TrainOptions); 5] = [
            |o| o.adam.learning_rate = 0.0,
            |o| o.adam.beta1 = 1.0,
            |o| o.adam.decay_steps = 0,
            |o| o.lbfgs.memory = 0,
            |o| o.lbfgs.gradient_tolerance = f64::NAN,
        ];
        for change in bad {
            let mut options = TrainOptions::default();
            change(&mut options);
            assert!(train(&problem, &mut net(), &options, &mut NoProgress).is_err());
        }
    }

    #[test]
    fn annealing_moves_weights_towards_the_gradient_ratio() {
        let a = Annealing {
            every: 1,
            alpha: 0.9,
            reference: 0,
        };
        // Reference max |g| = 4; term 1 mean |g| = 0.5, so w^ = 8; term 2 has no gradient.
        let grads = vec![vec![1.0, -4.0], vec![0.5, -0.5], vec![0.0, 0.0]];
        let mut w = vec![1.0, 1.0, 2.0];
        anneal(&a, &grads, &mut w);
        assert_eq!(w, vec![1.0, 0.1 + 0.9 * 8.0, 2.0]);
        // In training: the condition terms gain weight against the PDE residual.
        let problem = crate::burgers::forward_problem(200, 20, 20, 1).unwrap();
        let mut net = Mlp::new(&[2, 8, 8, 1], Activation::Tanh, 1).unwrap();
        let mut options = TrainOptions::default();
        options.adam.steps = 20;
        options.lbfgs.iterations = 0;
        options.annealing = Some(Annealing {
            every: 10,
            alpha: 0.9,
            reference: 0,
        });
        let fit = train(&problem, &mut net, &options, &mut NoProgress).unwrap();
        assert_eq!(fit.weights[0], 1.0);
        assert!(
            fit.weights[1..].iter().all(|&w| w != 1.0 && w.is_finite()),
            "{:?}",
            fit.weights
        );
        options.annealing = Some(Annealing {
            every: 10,
            alpha: 0.9,
            reference: 3,
        });
        assert!(train(&problem, &mut net, &options, &mut NoProgress).is_err());
    }

    #[test]
    fn training_is_reproducible_and_records_history() {
        let x = DMatrix::from_fn(16, 1, |i, _| -1.0 + i as f64 / 8.0);
        let problem = Problem::new(
            vec![Term::data("d", x.clone(), x.map(f64::sin)).unwrap()],
            vec![],
        )
        .unwrap();
        let mut options = TrainOptions::default();
        options.adam.steps = 50;
        options.lbfgs.iterations = 20;
        options.record_every = 10;
        let (mut a, mut b) = (net(), net());
        let fa = train(&problem, &mut a, &options, &mut NoProgress).unwrap();
        let fb = train(&problem, &mut b, &options, &mut NoProgress).unwrap();
        assert_eq!(a.params(), b.params());
        assert_eq!(fa.loss, fb.loss);
        // Adam records steps 1, 10, ..., 50; the loss decreases from the first record.
        let adam: Vec<&Record> = fa.history.iter().filter(|r| r.phase == "adam").collect();
        assert_eq!(
            adam.iter().map(|r| r.step).collect::<Vec<_>>(),
            [1, 10, 20, 30, 40, 50]
        );
        assert!(fa.loss.total < adam[0].loss);
        assert!(fa.history.iter().any(|r| r.phase == "lbfgs"));
    }
}
