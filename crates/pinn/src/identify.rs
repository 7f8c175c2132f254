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
//! worst; the profiles carry the information about the past (a scratch run with the initial
//! condition and $t_{\min} = 0$ biased $k$ by -8.5 %).
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
//! The standard error is $\sqrt{s_{ens}^2 + s_{CR}^2}$, with a normal 95 % interval.
//! Scales: $v$, $D$ and $k$ start at $L/T$, $0.1L^2/T$ and $0.1/T$ with $T = t_{\max}$,
//! unless given.
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

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::observe::NoProgress;
use uqforge_core::{Error, Estimate, Result, rng, validate};

use crate::charge::{Field, Parameter, Transport};
use crate::diffusion::AdrResidual;
use crate::identifiability::{Combination, Design, Observed, analyse};
use crate::residual::Coefficient;
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
    /// Starting values of $(v, D, k)$ (`None`: from the scales, see the module docs).
    pub initial: Option<[f64; 3]>,
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
            initial: None,
        }
    }
}

/// One identified parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimated {
    /// `"v"`, `"D"` or `"k"`.
    pub name: String,
    /// Ensemble mean, with the combined standard error and its normal 95 % interval.
    pub estimate: Estimate,
    /// The members' sample standard deviation (`None` for one member).
    pub ensemble_sd: Option<f64>,
    /// The Cramér–Rao standard deviation at the estimate (infinite when the design cannot
    /// identify the parameter).
    pub cramer_rao_sd: f64,
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
    /// The combinations of $(\log v, \log D, \log k)$ by Cramér–Rao standard deviation, the
    /// least identifiable first (tolerance 5 %).
    pub combinations: Vec<Combination>,
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
/// values, zero members or points, or an empty hidden layer list, and the training's errors.
pub fn adr(data: &DMatrix<f64>, model: &Adr, settings: &Settings) -> Result<Identification> {
    validate::positive("injection", model.injection)?;
    validate::positive("length", model.length)?;
    let (t_lo, t_hi) = check_observations(data, model.length)?;
    validate::at_least("members", settings.members, 1)?;
    validate::at_least("collocation", settings.collocation, 1)?;
    validate::at_least("boundary", settings.boundary, 1)?;
    validate::non_empty("hidden layers", &settings.hidden)?;
    let l = model.length;
    let initial = settings
        .initial
        .unwrap_or([l / t_hi, 0.1 * l * l / t_hi, 0.1 / t_hi]);
    for (name, v) in ["v", "D", "k"].iter().zip(initial) {
        validate::positive(&format!("initial {name}"), v)?;
    }
    let mut sizes = vec![2];
    sizes.extend(&settings.hidden);
    sizes.push(1);
    let bc = DMatrix::from_fn(settings.boundary, 2, |r, c| {
        if c == 0 {
            t_lo + (t_hi - t_lo) * (r as f64 + 0.5) / settings.boundary as f64
        } else {
            0.0
        }
    });
    let bc_values = DMatrix::from_element(settings.boundary, 1, model.injection);
    let residual = AdrResidual {
        velocity: Coefficient::Unknown(0),
        diffusivity: Coefficient::Unknown(1),
        rate: Coefficient::Unknown(2),
    };
    let unknowns: Vec<Unknown> = ["v", "D", "k"]
        .iter()
        .zip(initial)
        .map(|(name, initial)| Unknown {
            name: (*name).into(),
            initial,
            positive: true,
        })
        .collect();

    let mut seeds = Vec::with_capacity(settings.members);
    let mut losses = Vec::with_capacity(settings.members);
    let mut data_rmse = Vec::with_capacity(settings.members);
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(settings.members);
    for m in 0..settings.members {
        let seed = settings.seed.wrapping_add(m as u64);
        let fitted = if settings.bootstrap && m > 0 {
            resample(data, seed)
        } else {
            data.clone()
        };
        let points = fitted.columns(0, 2).into_owned();
        let targets = fitted.columns(2, 1).into_owned();
        let colloc = latin_hypercube(settings.collocation, &[t_lo, 0.0], &[t_hi, l], seed, 1)?;
        let problem = Problem::new(
            vec![
                Term::data("data", points, targets)?,
                Term::new("pde", colloc, residual)?,
                Term::data("injection", bc.clone(), bc_values.clone())?,
            ],
            unknowns.clone(),
        )?;
        let mut net = Mlp::new(&sizes, Activation::Tanh, seed)?
            .with_input_box(&[t_lo, 0.0], &[t_hi, l])?
            .with_output_scaling(&[0.0], &[model.injection])?;
        let fit = train(&problem, &mut net, &settings.training, &mut NoProgress)?;
        seeds.push(seed);
        losses.push(fit.loss.total);
        data_rmse.push(fit.loss.terms[0].sqrt());
        values.push(fit.coefficients);
    }
    let ensemble: Vec<(f64, Option<f64>)> = (0..3)
        .map(|j| mean_sd(&values.iter().map(|v| v[j]).collect::<Vec<_>>()))
        .collect::<Result<_>>()?;
    let noise_sd = data_rmse.iter().sum::<f64>() / data_rmse.len() as f64;
    let fitted = Transport {
        field: Field::Constant(ensemble[0].0),
        diffusivity: ensemble[1].0,
        trapping: ensemble[2].0,
        detrapping: 0.0,
        injection: model.injection,
        length: l,
    };
    let design = Design {
        points: data.columns(0, 2).into_owned(),
        observed: Observed::Mobile,
        noise_sd,
    };
    let (cells, dt) = (CR_CELLS, t_hi / CR_STEPS);
    let information = analyse(
        &fitted,
        &[
            Parameter::Drift,
            Parameter::Diffusivity,
            Parameter::Trapping,
        ],
        &design,
        cells,
        dt,
        0.05,
    )?;
    let parameters = ["v", "D", "k"]
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
                members: values.iter().map(|v| v[j]).collect(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Identification {
        parameters,
        seeds,
        losses,
        data_rmse,
        noise_sd,
        combinations: information.combinations,
    })
}

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
                initial: Some([1.0, 0.0, 1.0]),
                ..tiny()
            },
        ] {
            assert!(adr(&ok, &model, &bad).is_err());
        }
    }
}
