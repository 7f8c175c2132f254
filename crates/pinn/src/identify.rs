//! Identification of charge-transport parameters from charge-density profiles by a PINN, with
//! an ensemble over seeds for the uncertainty.
//!
//! **Problem.** Profiles $n_i \approx n(t_i, x_i)$ of model (a) of [`crate::charge`] (one
//! carrier, constant velocity, trapping without release), measured with noise, for example
//! deconvolved PEA signals ([`crate::pea`]). A network $u_\theta(t, x)$ and the unknowns
//! $(v, D, k)$, all positive and trained as logarithms, minimise
//! $$
//! \frac{1}{N_d}\sum_{i}\big(u_\theta(t_i, x_i) - n_i\big)^2 +
//! \frac{1}{N_r}\sum_{j} r(t_j, x_j)^2 +
//! \frac{1}{N_b}\sum_{b}\big(u_\theta(t_b, 0) - n_0\big)^2,
//! \qquad r = \partial_t u + v\partial_x u - D\partial_x^2 u + k u,
//! $$
//! the data misfit, the PDE residual at Latin-hypercube collocation points, and the injection
//! condition at $x = 0$ (Raissi, Perdikaris, Karniadakis, J. Comput. Phys. 378:686, 2019, for
//! the recipe). The collocation box is $[t_{\min}, t_{\max}]\times[0, L]$ with the data's first
//! and last times: the initial condition is left out on purpose, because the jump between the
//! injected $n_0$ and the empty insulator at the corner $(0, 0)$ is what a smooth network fits
//! worst; the profiles carry the information about the past. (A scratch run with the initial
//! condition biased $k$ by -8.5 %, but on a design where the Cramér–Rao deviation of $k$ was
//! 3.9 %, so it does not separate the corner from the noise; [`Settings::from_rest`] turns the
//! initial condition on.)
//!
//! **Model (b)** ([`unipolar`]): the profiles are of the net density $n + n_t$ (what a PEA
//! measurement sees), the network has three outputs, the mobile and trapped densities and the
//! potential $\phi$, and the PDE term holds the three residuals of [`UnipolarResidual`]
//! (transport in the field $E = -\partial_x\phi$, trapping and release, Poisson's equation);
//! the data term fits $u_n + u_{n_t}$ ([`Fit`]), and the boundary terms hold the injection
//! $n(t, 0) = n_0$ and the electrodes' potentials $\phi(t, 0) = V$, $\phi(t, L) = 0$. The
//! unknowns are $(\mu, D, k_{tr}, k_{dt})$. Release is slow at the time scale of a short
//! experiment, and $k_{dt}$ is then what the data cannot fix: the report says so (below)
//! rather than leaving a number without warning. Model (b) starts from rest by default: the
//! data see only $n + n_t$, so without the empty insulator at $t = 0$ the network may choose
//! the split between mobile and trapped charge at the first profile, and on one noise draw
//! that freedom biased $D$ by +6.7 % and $k_{tr}$ by -4 % (from rest: +1.7 %, +1.0 %). It
//! also needs longer training than model (a): the tests use 15,000 L-BFGS iterations (on one
//! draw, without the start from rest, 5,000 left $D$ 8.8 % off and 15,000 brought it to
//! 1.3 %).
//!
//! **Model (c)** ([`bipolar`](mod@bipolar)): electrons and holes, a five-output network, the
//! parameters to identify chosen among the model's seventeen, the others known; the same
//! ensemble and report.
//!
//! **Uncertainty.** Two sources, reported separately and combined.
//!
//! - *Training.* The loss is not convex in $\theta$: trainings from different seeds end at
//!   slightly different unknowns. Member $m$ of the ensemble trains from seed $s + m$ (network
//!   initialisation and collocation points); with [`Settings::bootstrap`] it also fits a
//!   bootstrap resample of the profiles. The estimate is the ensemble mean, and the members'
//!   sample standard deviation $s_{ens}$ the scale of one member's training error
//!   (Lakshminarayanan, Pritzel, Blundell, NeurIPS 2017, for deep ensembles).
//! - *Noise.* However well trained, the estimate moves with the data's noise. Its scale is the
//!   Cramér–Rao standard deviation $s_{CR}$ of the design
//!   ([`crate::identifiability`]): the Fisher information of the finite-volume model at the
//!   estimate, on the data's points, with the noise level estimated by the members' root-mean-
//!   square data misfit. The same analysis lists the combinations of parameters the design
//!   cannot pin down (relative standard deviation above 5 %).
//!
//! The standard error is $\sqrt{s_{ens}^2 + s_{CR}^2}$, with a normal 95 % interval; a
//! parameter whose Cramér–Rao relative deviation exceeds [`TOLERANCE`] is marked not
//! identifiable. Scales: $v$, $D$ and $k$ start at $L/T$, $0.1L^2/T$ and $0.1/T$ with
//! $T = t_{\max}$; $\mu$ at $L^2/(VT)$ and both rates at $0.1/T$; unless given.
//!
//! ```no_run
//! use uqforge_pinn::charge::{Field, Transport};
//! use uqforge_pinn::identify::{Adr, Settings, adr, observations};
//!
//! // Synthetic profiles of model (a) from the finite-volume solver.
//! let model = Transport { field: Field::Constant(1.0), diffusivity: 0.05, trapping: 0.5,
//!     detrapping: 0.0, injection: 1.0, length: 1.0 };
//! let times: Vec<f64> = (1..=10).map(|i| 0.05 * i as f64).collect();
//! let s = model.solve(400, 1e-3, &times)?;
//! let data = observations(&times, &s.x, &s.mobile)?;
//! let fit = adr(&data, &Adr { injection: 1.0, length: 1.0 }, &Settings::default())?;
//! for p in &fit.parameters {
//!     println!("{} = {} ± {:?}", p.name, p.estimate.value, p.estimate.std_error);
//! }
//! # Ok::<(), uqforge_core::Error>(())
//! ```

pub mod bipolar;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::observe::NoProgress;
use uqforge_core::{Error, Estimate, Result, rng, validate};

use crate::charge::{Field, Parameter, Transport};
use crate::diffusion::AdrResidual;
use crate::identifiability::{Combination, Design, Identifiability, Observed, analyse};
use crate::jets::JetSpec;
use crate::residual::{Coefficient, Partials, Point, Residual};
use crate::sampling::latin_hypercube;
use crate::train::{TrainOptions, train};
use crate::{Activation, Mlp, Problem, Term, Unknown};

/// What is known of model (a): the injected density $n_0$ at $x = 0$ and the thickness $L$.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adr {
    /// Injected density $n_0$ (> 0).
    pub injection: f64,
    /// Thickness $L$ (> 0); the profiles' positions lie in $[0, L]$.
    pub length: f64,
}

/// How the ensemble is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Number of members (>= 1; 2 or more for a standard error).
    pub members: usize,
    /// Seed of member 0; member $m$ uses `seed + m`.
    pub seed: u64,
    /// Collocation points of the PDE residual.
    pub collocation: usize,
    /// Points of the injection condition at $x = 0$ (evenly spaced in time).
    pub boundary: usize,
    /// Widths of the hidden layers (tanh).
    pub hidden: Vec<usize>,
    /// Adam, then L-BFGS.
    pub training: TrainOptions,
    /// Fit member $m > 0$ to a bootstrap resample of the profiles (member 0 fits them all).
    pub bootstrap: bool,
    /// Start the collocation box at $t = 0$ and fit the empty insulator there (an initial
    /// condition at `boundary` points), instead of starting at the first profile (`None`: the
    /// model's default, no for model a, yes for model b; see the module docs).
    #[serde(default)]
    pub from_rest: Option<bool>,
    /// Starting values of the unknowns, in the model's order (`None`: from the scales, see
    /// the module docs).
    pub initial: Option<Vec<f64>>,
}

impl Default for Settings {
    /// Three members from seed 1; 2000 collocation and 100 boundary points; three hidden layers
    /// of 32; 3000 Adam steps at learning rate $3\cdot 10^{-3}$, then up to 5000 L-BFGS
    /// iterations; no bootstrap.
    fn default() -> Self {
        let mut training = TrainOptions::default();
        training.adam.steps = 3000;
        training.adam.learning_rate = 3e-3;
        training.lbfgs.iterations = 5000;
        Self {
            members: 3,
            seed: 1,
            collocation: 2000,
            boundary: 100,
            hidden: vec![32, 32, 32],
            training,
            bootstrap: false,
            from_rest: None,
            initial: None,
        }
    }
}

/// One identified parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimated {
    /// `"v"`, `"D"`, `"k"` (model a), `"mu"`, `"D"`, `"k_tr"`, `"k_dt"` (model b), or the
    /// [short names](crate::charge::bipolar::Parameter::name) of model (c).
    pub name: String,
    /// Ensemble mean, with the combined standard error and its normal 95 % interval.
    pub estimate: Estimate,
    /// The members' sample standard deviation (`None` for one member).
    pub ensemble_sd: Option<f64>,
    /// The Cramér–Rao standard deviation at the estimate (infinite when the design cannot
    /// identify the parameter).
    pub cramer_rao_sd: f64,
    /// Whether its Cramér–Rao relative standard deviation is within [`TOLERANCE`].
    pub identifiable: bool,
    /// Each member's value.
    pub members: Vec<f64>,
}

/// The result of an identification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identification {
    /// The parameters, in the model's order.
    pub parameters: Vec<Estimated>,
    /// Each member's seed.
    pub seeds: Vec<u64>,
    /// Each member's final loss (total).
    pub losses: Vec<f64>,
    /// Each member's root-mean-square data misfit.
    pub data_rmse: Vec<f64>,
    /// The noise level of the Cramér–Rao analysis (the mean of `data_rmse`).
    pub noise_sd: f64,
    /// The combinations of the log parameters by Cramér–Rao standard deviation, the least
    /// identifiable first (tolerance [`TOLERANCE`]).
    pub combinations: Vec<Combination>,
    /// Each member's trained network (the states: $n$ for model a; $n$, $n_t$, $\phi$ for
    /// model b; $n_e$, $m_e$, $n_h$, $m_h$, $\phi$ for model c).
    pub networks: Vec<Mlp>,
}

impl Identification {
    /// The ensemble means, in the model's order.
    pub fn values(&self) -> Vec<f64> {
        self.parameters.iter().map(|p| p.estimate.value).collect()
    }
}

/// Stacks profiles into observations: row `(t_i, x_j, density[(i, j)])` for every time `i`
/// and position `j` (the layout [`adr`] reads; rows = observations).
///
/// # Errors
/// [`Error::DimensionMismatch`] when `density` is not `times.len()` by `x.len()`,
/// [`Error::EmptyInput`] for no times or positions.
pub fn observations(times: &[f64], x: &[f64], density: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    validate::non_empty("profile times", times)?;
    validate::non_empty("profile positions", x)?;
    validate::len(
        "rows of the profiles (one per time)",
        times.len(),
        density.nrows(),
    )?;
    validate::len(
        "columns of the profiles (one per position)",
        x.len(),
        density.ncols(),
    )?;
    let m = x.len();
    Ok(DMatrix::from_fn(times.len() * m, 3, |r, c| match c {
        0 => times[r / m],
        1 => x[r % m],
        _ => density[(r / m, r % m)],
    }))
}

/// Identifies $(v, D, k)$ of model (a) from `data` (columns $t$, $x$, $n$; rows =
/// observations); see the [module docs](self).
///
/// # Errors
/// [`Error::DimensionMismatch`] unless `data` has three columns, [`Error::EmptyInput`] for no
/// rows, [`Error::NonFinite`] for a non-finite entry, [`Error::InvalidParameter`] for negative
/// times, positions outside $[0, L]$, a single time, non-positive $n_0$, $L$ or starting
/// values, starting values of the wrong count, zero members or points, or an empty hidden
/// layer list, and the training's errors.
pub fn adr(data: &DMatrix<f64>, model: &Adr, settings: &Settings) -> Result<Identification> {
    validate::positive("injection", model.injection)?;
    validate::positive("length", model.length)?;
    let (first, t_hi) = check_observations(data, model.length)?;
    let from_rest = settings.from_rest.unwrap_or(false);
    let t_lo = if from_rest { 0.0 } else { first };
    let l = model.length;
    let names = ["v", "D", "k"];
    let initial = starting_values(
        settings,
        &names,
        &[l / t_hi, 0.1 * l * l / t_hi, 0.1 / t_hi],
    )?;
    let boundary = DMatrix::from_fn(settings.boundary, 2, |r, c| {
        if c == 0 {
            t_lo + (t_hi - t_lo) * (r as f64 + 0.5) / settings.boundary as f64
        } else {
            0.0
        }
    });
    let injected = DMatrix::from_element(settings.boundary, 1, model.injection);
    let rest = empty_insulator(settings.boundary, l);
    let residual = AdrResidual {
        velocity: Coefficient::Unknown(0),
        diffusivity: Coefficient::Unknown(1),
        rate: Coefficient::Unknown(2),
    };
    let unknowns = positive_unknowns(&names, &initial);
    let build = |fitted: &DMatrix<f64>, seed: u64| -> Result<(Problem, Mlp)> {
        let colloc = latin_hypercube(settings.collocation, &[t_lo, 0.0], &[t_hi, l], seed, 1)?;
        let mut terms = vec![
            Term::data(
                "data",
                fitted.columns(0, 2).into_owned(),
                fitted.columns(2, 1).into_owned(),
            )?,
            Term::new("pde", colloc, residual)?,
            Term::data("injection", boundary.clone(), injected.clone())?,
        ];
        if from_rest {
            let zeros = DMatrix::zeros(rest.nrows(), 1);
            terms.push(Term::data("empty", rest.clone(), zeros)?);
        }
        let problem = Problem::new(terms, unknowns.clone())?;
        let net = network(settings, 1, seed, [t_lo, t_hi], l)?
            .with_output_scaling(&[0.0], &[model.injection])?;
        Ok((problem, net))
    };
    let members = train_members(data, settings, &build)?;
    let fitted = |theta: &[f64]| Transport {
        field: Field::Constant(theta[0]),
        diffusivity: theta[1],
        trapping: theta[2],
        detrapping: 0.0,
        injection: model.injection,
        length: l,
    };
    summarise(
        data,
        members,
        &names,
        &[
            Parameter::Drift,
            Parameter::Diffusivity,
            Parameter::Trapping,
        ],
        Observed::Mobile,
        &fitted,
    )
}

/// What is known of model (b): the injected density $n_0$ at $x = 0$, the applied voltage $V$
/// and the thickness $L$.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unipolar {
    /// Injected density $n_0$ (> 0).
    pub injection: f64,
    /// Applied voltage $V$ (> 0) between $x = 0$ and $x = L$.
    pub voltage: f64,
    /// Thickness $L$ (> 0).
    pub length: f64,
}

/// Identifies $(\mu, D, k_{tr}, k_{dt})$ of model (b) from net densities (columns $t$, $x$,
/// $n + n_t$; rows = observations); see the [module docs](self).
///
/// # Errors
/// As [`adr`], and a voltage that is not positive.
pub fn unipolar(
    data: &DMatrix<f64>,
    model: &Unipolar,
    settings: &Settings,
) -> Result<Identification> {
    validate::positive("injection", model.injection)?;
    validate::positive("voltage", model.voltage)?;
    validate::positive("length", model.length)?;
    let (first, t_hi) = check_observations(data, model.length)?;
    let from_rest = settings.from_rest.unwrap_or(true);
    let t_lo = if from_rest { 0.0 } else { first };
    let (l, v) = (model.length, model.voltage);
    let names = ["mu", "D", "k_tr", "k_dt"];
    let initial = starting_values(
        settings,
        &names,
        &[
            l * l / (v * t_hi),
            0.1 * l * l / t_hi,
            0.1 / t_hi,
            0.1 / t_hi,
        ],
    )?;
    let nb = settings.boundary;
    let at_time = |r: usize| t_lo + (t_hi - t_lo) * (r as f64 + 0.5) / nb as f64;
    let injection_points = DMatrix::from_fn(nb, 2, |r, c| if c == 0 { at_time(r) } else { 0.0 });
    let injected = DMatrix::from_element(nb, 1, model.injection);
    // Both electrodes: phi(0) = V on the first half of the rows, phi(L) = 0 on the second.
    let electrode_points = DMatrix::from_fn(2 * nb, 2, |r, c| match (c, r < nb) {
        (0, _) => at_time(r % nb),
        (_, true) => 0.0,
        (_, false) => l,
    });
    let potentials = DMatrix::from_fn(2 * nb, 1, |r, _| if r < nb { v } else { 0.0 });
    let rest = empty_insulator(nb, l);
    let residual = UnipolarResidual {
        mobility: Coefficient::Unknown(0),
        diffusivity: Coefficient::Unknown(1),
        trapping: Coefficient::Unknown(2),
        detrapping: Coefficient::Unknown(3),
    };
    let unknowns = positive_unknowns(&names, &initial);
    let build = |fitted: &DMatrix<f64>, seed: u64| -> Result<(Problem, Mlp)> {
        let colloc = latin_hypercube(settings.collocation, &[t_lo, 0.0], &[t_hi, l], seed, 1)?;
        let mut terms = vec![
            Term::new(
                "data",
                fitted.columns(0, 2).into_owned(),
                Fit::new(vec![1.0, 1.0, 0.0]),
            )?
            .with_targets(fitted.columns(2, 1).into_owned())?,
            Term::new("pde", colloc, residual)?,
            Term::new(
                "injection",
                injection_points.clone(),
                Fit::new(vec![1.0, 0.0, 0.0]),
            )?
            .with_targets(injected.clone())?,
            Term::new(
                "electrodes",
                electrode_points.clone(),
                Fit::new(vec![0.0, 0.0, 1.0]),
            )?
            .with_targets(potentials.clone())?,
        ];
        if from_rest {
            for (name, w) in [
                ("empty (mobile)", [1.0, 0.0, 0.0]),
                ("empty (trapped)", [0.0, 1.0, 0.0]),
            ] {
                terms.push(
                    Term::new(name, rest.clone(), Fit::new(w.to_vec()))?
                        .with_targets(DMatrix::zeros(nb, 1))?,
                );
            }
        }
        let problem = Problem::new(terms, unknowns.clone())?;
        let n0 = model.injection;
        let net = network(settings, 3, seed, [t_lo, t_hi], l)?
            .with_output_scaling(&[0.0, 0.0, 0.5 * v], &[n0, n0, v])?;
        Ok((problem, net))
    };
    let members = train_members(data, settings, &build)?;
    let fitted = |theta: &[f64]| Transport {
        field: Field::Poisson {
            mobility: theta[0],
            voltage: v,
        },
        diffusivity: theta[1],
        trapping: theta[2],
        detrapping: theta[3],
        injection: model.injection,
        length: l,
    };
    summarise(
        data,
        members,
        &names,
        &[
            Parameter::Drift,
            Parameter::Diffusivity,
            Parameter::Trapping,
            Parameter::Detrapping,
        ],
        Observed::Net,
        &fitted,
    )
}

/// $r = \sum_o w_o u_o - y$: data and Dirichlet conditions on a combination of the outputs
/// (for model b, the measured net density $n + n_t$, the injected $n$, the potential).
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    weights: Vec<f64>,
}

impl Fit {
    /// The combination with these weights, one per output.
    pub fn new(weights: Vec<f64>) -> Self {
        Self { weights }
    }
}

impl Residual for Fit {
    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec> {
        validate::len("outputs of a combination fit", self.weights.len(), outputs)?;
        Ok(JetSpec::values(inputs))
    }

    fn eval(&self, at: &Point<'_>, _: &[f64], out: &mut Partials<'_>) {
        let mut r = -at.target[0];
        for (o, &w) in self.weights.iter().enumerate() {
            if w != 0.0 {
                r += w * at.value(o);
                out.d_value(0, o, w);
            }
        }
        out.residual(0, r);
    }
}

/// The residuals of model (b) for a network of inputs $(t, x)$ and outputs $(n, n_t, \phi)$,
/// the mobile and trapped densities and the potential ($E = -\partial_x\phi$):
/// $$
/// r_1 = \partial_t n - \mu(\partial_x\phi\thinspace\partial_x n + n\partial_x^2\phi) -
/// D\partial_x^2 n + k_{tr}n - k_{dt}n_t,
/// $$
/// $$
/// r_2 = \partial_t n_t - k_{tr}n + k_{dt}n_t,\qquad r_3 = \partial_x^2\phi + n + n_t:
/// $$
/// transport in the field, trapping and release, and Poisson's equation ($\varepsilon = 1$).
#[derive(Clone, Copy, Debug)]
pub struct UnipolarResidual {
    /// Mobility $\mu$.
    pub mobility: Coefficient,
    /// Diffusivity $D$.
    pub diffusivity: Coefficient,
    /// Trapping rate $k_{tr}$.
    pub trapping: Coefficient,
    /// Detrapping rate $k_{dt}$.
    pub detrapping: Coefficient,
}

impl Residual for UnipolarResidual {
    fn equations(&self) -> usize {
        3
    }

    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec> {
        validate::len("inputs of a unipolar network (t, x)", 2, inputs)?;
        validate::len("outputs of a unipolar network (n, n_t, phi)", 3, outputs)?;
        JetSpec::second_order(2, &[[1, 1]])
    }

    fn eval(&self, at: &Point<'_>, lambda: &[f64], out: &mut Partials<'_>) {
        let (mu, d, ktr, kdt) = (
            self.mobility.value(lambda),
            self.diffusivity.value(lambda),
            self.trapping.value(lambda),
            self.detrapping.value(lambda),
        );
        let (n, n_t, n_x, n_xx) = (at.value(0), at.d(0, 0), at.d(0, 1), at.d2(0, 1, 1));
        let (m, m_t) = (at.value(1), at.d(1, 0));
        let (phi_x, phi_xx) = (at.d(2, 1), at.d2(2, 1, 1));
        // Transport.
        let drift = phi_x * n_x + n * phi_xx;
        out.residual(0, n_t - mu * drift - d * n_xx + ktr * n - kdt * m);
        out.d_value(0, 0, -mu * phi_xx + ktr);
        out.d_first(0, 0, 0, 1.0);
        out.d_first(0, 0, 1, -mu * phi_x);
        out.d_second(0, 0, 1, 1, -d);
        out.d_value(0, 1, -kdt);
        out.d_first(0, 2, 1, -mu * n_x);
        out.d_second(0, 2, 1, 1, -mu * n);
        // Trapping.
        out.residual(1, m_t - ktr * n + kdt * m);
        out.d_first(1, 1, 0, 1.0);
        out.d_value(1, 0, -ktr);
        out.d_value(1, 1, kdt);
        // Poisson.
        out.residual(2, phi_xx + n + m);
        out.d_second(2, 2, 1, 1, 1.0);
        out.d_value(2, 0, 1.0);
        out.d_value(2, 1, 1.0);
        for (c, partials) in [
            (self.mobility, [-drift, 0.0]),
            (self.diffusivity, [-n_xx, 0.0]),
            (self.trapping, [n, -n]),
            (self.detrapping, [-m, m]),
        ] {
            if let Coefficient::Unknown(j) = c {
                out.d_coefficient(0, j, partials[0]);
                out.d_coefficient(1, j, partials[1]);
            }
        }
    }
}

/// The starting values: the settings' (checked for count and sign) or the defaults.
fn starting_values(settings: &Settings, names: &[&str], defaults: &[f64]) -> Result<Vec<f64>> {
    validate::at_least("members", settings.members, 1)?;
    validate::at_least("collocation", settings.collocation, 1)?;
    validate::at_least("boundary", settings.boundary, 1)?;
    validate::non_empty("hidden layers", &settings.hidden)?;
    let initial = settings
        .initial
        .clone()
        .unwrap_or_else(|| defaults.to_vec());
    validate::len("starting values", names.len(), initial.len())?;
    for (name, &v) in names.iter().zip(&initial) {
        validate::positive(&format!("initial {name}"), v)?;
    }
    Ok(initial)
}

/// `count` points $(0, x)$ with $x$ evenly spaced inside $(0, L)$: where the insulator is
/// empty at the start.
fn empty_insulator(count: usize, l: f64) -> DMatrix<f64> {
    DMatrix::from_fn(count, 2, |r, c| {
        if c == 0 {
            0.0
        } else {
            l * (r as f64 + 0.5) / count as f64
        }
    })
}

fn positive_unknowns(names: &[&str], initial: &[f64]) -> Vec<Unknown> {
    names
        .iter()
        .zip(initial)
        .map(|(name, &initial)| Unknown {
            name: (*name).into(),
            initial,
            positive: true,
        })
        .collect()
}

/// A tanh network of inputs $(t, x)$ on the box $[t_0, t_1]\times[0, L]$.
fn network(settings: &Settings, outputs: usize, seed: u64, t: [f64; 2], l: f64) -> Result<Mlp> {
    let mut sizes = vec![2];
    sizes.extend(&settings.hidden);
    sizes.push(outputs);
    Mlp::new(&sizes, Activation::Tanh, seed)?.with_input_box(&[t[0], 0.0], &[t[1], l])
}

/// Builds a member's problem and network from the (possibly resampled) data and its seed.
type BuildMember<'a> = dyn Fn(&DMatrix<f64>, u64) -> Result<(Problem, Mlp)> + 'a;

/// What the members of an ensemble found.
struct Members {
    seeds: Vec<u64>,
    losses: Vec<f64>,
    data_rmse: Vec<f64>,
    values: Vec<Vec<f64>>,
    networks: Vec<Mlp>,
}

/// Trains each member on its problem (term 0 must be the data term).
fn train_members(
    data: &DMatrix<f64>,
    settings: &Settings,
    build: &BuildMember<'_>,
) -> Result<Members> {
    let mut out = Members {
        seeds: Vec::with_capacity(settings.members),
        losses: Vec::with_capacity(settings.members),
        data_rmse: Vec::with_capacity(settings.members),
        values: Vec::with_capacity(settings.members),
        networks: Vec::with_capacity(settings.members),
    };
    for m in 0..settings.members {
        let seed = settings.seed.wrapping_add(m as u64);
        let fitted = if settings.bootstrap && m > 0 {
            resample(data, seed)
        } else {
            data.clone()
        };
        let (problem, mut net) = build(&fitted, seed)?;
        let fit = train(&problem, &mut net, &settings.training, &mut NoProgress)?;
        out.seeds.push(seed);
        out.losses.push(fit.loss.total);
        out.data_rmse.push(fit.loss.terms[0].sqrt());
        out.values.push(fit.coefficients);
        out.networks.push(net);
    }
    Ok(out)
}

/// Ensemble means and spreads, the Cramér–Rao analysis at the means, and the report.
fn summarise(
    data: &DMatrix<f64>,
    members: Members,
    names: &[&str],
    parameters: &[Parameter],
    observed: Observed,
    model_at: &dyn Fn(&[f64]) -> Transport,
) -> Result<Identification> {
    let information = |means: &[f64], design: &Design| {
        let t_hi = data.column(0).max();
        analyse(
            &model_at(means),
            parameters,
            design,
            CR_CELLS,
            t_hi / CR_STEPS,
            TOLERANCE,
        )
    };
    report(data, members, names, observed, &information)
}

/// The Cramér–Rao analysis at the ensemble means on the data's design.
type Information<'a> = dyn Fn(&[f64], &Design) -> Result<Identifiability> + 'a;

/// Ensemble means and spreads, the Cramér–Rao analysis `information` at the means, and the
/// report.
fn report(
    data: &DMatrix<f64>,
    members: Members,
    names: &[&str],
    observed: Observed,
    information: &Information<'_>,
) -> Result<Identification> {
    let ensemble: Vec<(f64, Option<f64>)> = (0..names.len())
        .map(|j| mean_sd(&members.values.iter().map(|v| v[j]).collect::<Vec<_>>()))
        .collect::<Result<_>>()?;
    let noise_sd = members.data_rmse.iter().sum::<f64>() / members.data_rmse.len() as f64;
    let means: Vec<f64> = ensemble.iter().map(|e| e.0).collect();
    let design = Design {
        points: data.columns(0, 2).into_owned(),
        observed,
        noise_sd,
    };
    let information = information(&means, &design)?;
    let parameters = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let (mean, ensemble_sd) = ensemble[j];
            let cramer_rao_sd = mean * information.relative_sd[j];
            let se = cramer_rao_sd.hypot(ensemble_sd.unwrap_or(0.0));
            let estimate = if se.is_finite() {
                Estimate::normal(mean, se, 0.95)?
            } else {
                Estimate::point(mean)
            };
            Ok(Estimated {
                name: (*name).into(),
                estimate,
                ensemble_sd,
                cramer_rao_sd,
                identifiable: information.relative_sd[j] <= TOLERANCE,
                members: members.values.iter().map(|v| v[j]).collect(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Identification {
        parameters,
        seeds: members.seeds,
        losses: members.losses,
        data_rmse: members.data_rmse,
        noise_sd,
        combinations: information.combinations,
        networks: members.networks,
    })
}

/// Relative Cramér–Rao standard deviation beyond which a parameter or combination is reported
/// as not identifiable.
pub const TOLERANCE: f64 = 0.05;

/// Cells and steps (over the data's time span) of the finite-volume model in the Cramér–Rao
/// analysis.
const CR_CELLS: usize = 400;
const CR_STEPS: f64 = 1000.0;

/// Mean of the members and their sample standard deviation (none for one member).
fn mean_sd(members: &[f64]) -> Result<(f64, Option<f64>)> {
    validate::finite("identified parameters", members)?;
    let m = members.len() as f64;
    let mean = members.iter().sum::<f64>() / m;
    if members.len() < 2 {
        return Ok((mean, None));
    }
    let var = members.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
    Ok((mean, Some(var.sqrt())))
}

/// Checks observations `(t, x, n)` on $[0, L]$; returns the first and last times.
fn check_observations(data: &DMatrix<f64>, length: f64) -> Result<(f64, f64)> {
    validate::len("columns of the observations (t, x, n)", 3, data.ncols())?;
    if data.nrows() == 0 {
        return Err(Error::EmptyInput {
            what: "observations (t, x, n)".into(),
        });
    }
    validate::finite("observations (t, x, n)", data.as_slice())?;
    let t = data.column(0);
    let (t_lo, t_hi) = (t.min(), t.max());
    if t_lo < 0.0 {
        return Err(Error::invalid_parameter(
            "observations",
            format!("times must be >= 0, found {t_lo}"),
        ));
    }
    if t_hi <= t_lo {
        return Err(Error::invalid_parameter(
            "observations",
            format!("need profiles at two times at least, all are at t = {t_lo}"),
        ));
    }
    let x = data.column(1);
    if x.min() < 0.0 || x.max() > length {
        return Err(Error::invalid_parameter(
            "observations",
            format!(
                "positions must lie in [0, L] = [0, {length}], found [{}, {}]",
                x.min(),
                x.max()
            ),
        ));
    }
    Ok((t_lo, t_hi))
}

/// A bootstrap resample of the rows of `data`, from stream 2 of `seed`.
fn resample(data: &DMatrix<f64>, seed: u64) -> DMatrix<f64> {
    let n = data.nrows();
    let mut draws = rng::stream(seed, 2);
    let rows: Vec<usize> = (0..n)
        .map(|_| ((rng::uniform01(&mut draws) * n as f64) as usize).min(n - 1))
        .collect();
    DMatrix::from_fn(n, data.ncols(), |r, c| data[(rows[r], c)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Settings {
        let mut s = Settings {
            members: 2,
            collocation: 50,
            boundary: 10,
            hidden: vec![8],
            ..Settings::default()
        };
        s.training.adam.steps = 20;
        s.training.lbfgs.iterations = 20;
        s
    }

    fn profiles() -> DMatrix<f64> {
        let times = [0.1, 0.2, 0.3];
        let x: Vec<f64> = (0..11).map(|i| 0.1 * i as f64).collect();
        let n = DMatrix::from_fn(3, 11, |i, j| {
            crate::diffusion::adr_exact(times[i], x[j], 1.0, 0.05, 0.5, 1.0)
        });
        observations(&times, &x, &n).unwrap()
    }

    #[test]
    fn observations_stack_rows_by_time() {
        let n = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let o = observations(&[0.5, 1.0], &[0.0, 0.1, 0.2], &n).unwrap();
        assert_eq!(o.nrows(), 6);
        assert_eq!(
            o.row(4).iter().copied().collect::<Vec<_>>(),
            [1.0, 0.1, 5.0]
        );
        assert!(observations(&[0.5], &[0.0, 0.1, 0.2], &n).is_err());
    }

    #[test]
    fn ensemble_reports_mean_and_member_spread() {
        assert_eq!(mean_sd(&[1.0, 2.0, 3.0]).unwrap(), (2.0, Some(1.0)));
        assert_eq!(mean_sd(&[4.0]).unwrap(), (4.0, None));
        assert!(mean_sd(&[1.0, f64::NAN]).is_err());
    }

    #[test]
    fn bootstrap_draws_rows_of_the_data() {
        let d = profiles();
        let r = resample(&d, 3);
        assert_eq!(r.shape(), d.shape());
        assert!(r.row_iter().all(|row| d.row_iter().any(|s| s == row)));
        assert_ne!(r, d);
        assert_eq!(r, resample(&d, 3));
    }

    #[test]
    fn members_use_consecutive_seeds_and_report_spread() {
        let fit = adr(
            &profiles(),
            &Adr {
                injection: 1.0,
                length: 1.0,
            },
            &Settings {
                bootstrap: true,
                ..tiny()
            },
        )
        .unwrap();
        assert_eq!(fit.seeds, [1, 2]);
        assert_eq!(fit.parameters.len(), 3);
        for p in &fit.parameters {
            assert_eq!(p.members.len(), 2);
            assert!(p.members.iter().all(|&v| v > 0.0));
            let (ens, cr) = (p.ensemble_sd.unwrap(), p.cramer_rao_sd);
            assert!(ens > 0.0 && cr > 0.0);
            assert!((p.estimate.std_error.unwrap() - ens.hypot(cr)).abs() < 1e-12);
        }
        assert_eq!(fit.combinations.len(), 3);
    }

    /// The unipolar residuals' and the combination fit's partial derivatives, through the
    /// loss gradient, against central differences of the loss.
    #[test]
    fn unipolar_loss_gradient_equals_central_differences() {
        let residual = UnipolarResidual {
            mobility: Coefficient::Unknown(0),
            diffusivity: Coefficient::Unknown(1),
            trapping: Coefficient::Unknown(2),
            detrapping: Coefficient::Unknown(3),
        };
        let points = DMatrix::from_fn(25, 2, |b, i| 0.5 + 0.45 * ((b * 7 + i * 3) as f64).sin());
        let targets = DMatrix::from_fn(25, 1, |b, _| (b as f64 * 0.3).cos());
        let names = ["mu", "D", "k_tr", "k_dt"];
        let problem = Problem::new(
            vec![
                Term::new("pde", points.clone(), residual).unwrap(),
                Term::new("net", points, Fit::new(vec![1.0, 1.0, 0.0]))
                    .unwrap()
                    .with_targets(targets)
                    .unwrap(),
            ],
            positive_unknowns(&names, &[0.9, 0.05, 1.3, 0.4]),
        )
        .unwrap();
        let net = Mlp::new(&[2, 6, 6, 3], Activation::Tanh, 3).unwrap();
        let (worst, scale) = loss_gradient_error(&problem, &net);
        assert!(
            worst <= 1e-6 * scale,
            "max error {worst:e} against max |g| {scale:e}"
        );
    }

    /// The largest difference between the loss gradient (network weights and internal
    /// unknowns at their starting values) and central differences of the loss, and the
    /// largest gradient entry.
    pub(super) fn loss_gradient_error(problem: &Problem, net: &Mlp) -> (f64, f64) {
        let check = problem
            .gradient_check(net, &problem.initial_internal(), 1e-6)
            .unwrap();
        (check.worst, check.scale)
    }

    #[test]
    fn bad_input_is_refused() {
        let ok = profiles();
        let model = Adr {
            injection: 1.0,
            length: 1.0,
        };
        let s = tiny();
        let mut nan = ok.clone();
        nan[(3, 2)] = f64::NAN;
        let mut outside = ok.clone();
        outside[(0, 1)] = 1.5;
        let mut negative = ok.clone();
        negative[(0, 0)] = -0.1;
        let one_time = ok.map_with_location(|_, c, v| if c == 0 { 0.2 } else { v });
        for bad in [
            ok.columns(0, 2).into_owned(),
            DMatrix::zeros(0, 3),
            nan,
            outside,
            negative,
            one_time,
        ] {
            assert!(adr(&bad, &model, &s).is_err());
        }
        let bad_models = [
            Adr {
                injection: 0.0,
                length: 1.0,
            },
            Adr {
                injection: 1.0,
                length: -1.0,
            },
        ];
        for m in bad_models {
            assert!(adr(&ok, &m, &s).is_err());
        }
        for bad in [
            Settings {
                members: 0,
                ..tiny()
            },
            Settings {
                hidden: vec![],
                ..tiny()
            },
            Settings {
                initial: Some(vec![1.0, 0.0, 1.0]),
                ..tiny()
            },
        ] {
            assert!(adr(&ok, &model, &bad).is_err());
        }
    }
}
