//! Local identifiability of charge-transport parameters from profiles: the Fisher information
//! of a measurement design, Cramér–Rao standard deviations, and the parameter combinations the
//! data cannot pin down.
//!
//! **Information.** Profiles $y_i = f_i(\theta) + \varepsilon_i$ at design points $(t_i, x_i)$,
//! with independent noise of standard deviation $\sigma$, and parameters varied in logarithm,
//! $\phi_j = \log\theta_j$. With $J_{ij} = \partial f_i/\partial\phi_j$ (central differences of the
//! finite-volume solver of [`crate::charge`], relative step $10^{-4}$), the Fisher information
//! is $F = J^\top J/\sigma^2$, and any unbiased estimator has
//! $\operatorname{Cov}(\hat\phi) \succeq F^{-1}$ (Cramér–Rao): with $F^{jj}$ the diagonal
//! entries of $F^{-1}$, $\sqrt{F^{jj}}$ is the smallest standard deviation of
//! $\log\hat\theta_j$, that is the relative standard deviation of $\hat\theta_j$ (Bates and
//! Watts, *Nonlinear Regression Analysis*, 1988, ch. 2).
//!
//! **Combinations.** With the eigenpairs $F w_k = \lambda_k w_k$ ($\lVert w_k\rVert = 1$), the
//! combination $w_k^\top\phi = \log\prod_j\theta_j^{w_{kj}}$ has Cramér–Rao standard deviation
//! $\lambda_k^{-1/2}$. A combination whose standard deviation exceeds a tolerance (say 5 %) is
//! what the design cannot identify: for fast trapping and release, profiles of the net charge
//! see only the equilibrium ratio $k_{tr}/k_{dt}$, and the direction $(1, 1)/\sqrt 2$ of
//! $(\log k_{tr}, \log k_{dt})$, their product, has a huge standard deviation. This is local (at
//! one $\theta$) and linear; profile likelihoods (Raue et al., Bioinformatics 25:1923, 2009)
//! see further at a far higher price.
//!
//! [`analyse_bipolar`] does the same for model (c) ([`crate::charge::bipolar`]) from its net
//! density: recombination, for one, is invisible until electrons and holes meet.
//!
//! ```
//! use uqforge_pinn::charge::{Field, Parameter, Transport};
//! use uqforge_pinn::identifiability::{Design, Observed, analyse};
//!
//! let model = Transport { field: Field::Constant(1.0), diffusivity: 0.05, trapping: 0.5,
//!     detrapping: 0.0, injection: 1.0, length: 2.0 };
//! let design = Design::grid(&[0.25, 0.5], &[0.0, 0.25, 0.5, 0.75, 1.0], Observed::Mobile, 0.01)?;
//! let a = analyse(&model, &[Parameter::Drift, Parameter::Diffusivity, Parameter::Trapping],
//!     &design, 200, 0.005, 0.05)?;
//! assert_eq!(a.relative_sd.len(), 3);
//! // Ten points cannot pin the trapping rate to 5 %.
//! assert!(a.relative_sd[2] > 0.05);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::charge::bipolar::{Bipolar, LogBipolar, Parameter as BipolarParameter};
use crate::charge::{LogModel, Parameter, Solution, Transport};

/// What the profiles measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observed {
    /// The mobile density $n$ (model a's closed form).
    Mobile,
    /// The net density $n + n_t$ (what a PEA measurement sees).
    Net,
}

/// Where and what is measured, and how noisily.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// Observation points $(t, x)$, rows = observations, $t > 0$.
    pub points: DMatrix<f64>,
    /// The measured quantity.
    pub observed: Observed,
    /// Noise standard deviation $\sigma > 0$.
    pub noise_sd: f64,
}

impl Design {
    /// Every position of `x` at every time of `times`.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no times or positions.
    pub fn grid(times: &[f64], x: &[f64], observed: Observed, noise_sd: f64) -> Result<Self> {
        validate::non_empty("design times", times)?;
        validate::non_empty("design positions", x)?;
        let m = x.len();
        Ok(Self {
            points: DMatrix::from_fn(times.len() * m, 2, |r, c| {
                if c == 0 { times[r / m] } else { x[r % m] }
            }),
            observed,
            noise_sd,
        })
    }
}

/// A combination $\prod_j\theta_j^{w_j}$ of the parameters, with its Cramér–Rao standard
/// deviation in logarithm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Combination {
    /// Unit weights $w$ over the parameters (sign chosen so the largest is positive).
    pub weights: Vec<f64>,
    /// $\lambda^{-1/2}$: the relative standard deviation of the combination (infinite when the
    /// information vanishes).
    pub sd: f64,
    /// Whether `sd` is within the tolerance.
    pub identifiable: bool,
}

/// The result of [`analyse`].
#[derive(Clone, Debug, PartialEq)]
pub struct Identifiability {
    /// The parameters' names, in the order of the matrices.
    pub names: Vec<String>,
    /// Fisher information of the log parameters.
    pub information: DMatrix<f64>,
    /// Cramér–Rao relative standard deviation of each parameter (infinite when not
    /// identifiable at all).
    pub relative_sd: Vec<f64>,
    /// Every eigen-combination, the least identifiable first.
    pub combinations: Vec<Combination>,
}

impl Identifiability {
    /// The combinations beyond the tolerance.
    pub fn unidentifiable(&self) -> impl Iterator<Item = &Combination> {
        self.combinations.iter().filter(|c| !c.identifiable)
    }
}

/// The model's prediction of the design's observations.
///
/// # Errors
/// As [`Transport::solve`].
pub fn predict(model: &Transport, design: &Design, cells: usize, dt: f64) -> Result<Vec<f64>> {
    let times = distinct_times(&design.points);
    let s = model.solve(cells, dt, &times)?;
    Ok(observe(&s, &times, design, model.injection))
}

/// Fisher information, Cramér–Rao deviations and combinations of `parameters` at `model` for
/// `design`, with the solver on `cells` cells and steps of at most `dt`; combinations with a
/// standard deviation above `tolerance` are flagged (see the [module docs](self)).
///
/// # Errors
/// [`Error::DimensionMismatch`] unless the design has two columns, [`Error::EmptyInput`] for
/// no points, [`Error::NonFinite`] for non-finite points, [`Error::InvalidParameter`] for
/// times that are not positive, positions outside $[0, L]$, a noise or tolerance that is not
/// positive, and the errors of [`LogModel::new`].
pub fn analyse(
    model: &Transport,
    parameters: &[Parameter],
    design: &Design,
    cells: usize,
    dt: f64,
    tolerance: f64,
) -> Result<Identifiability> {
    let times = check_design(design, tolerance, model.length)?;
    let log_model = LogModel::new(*model, parameters.to_vec(), cells, dt, times.clone())?;
    let phi: Vec<f64> = parameters.iter().map(|&p| value(model, p).ln()).collect();
    let names = parameters.iter().map(|p| format!("{p:?}")).collect();
    let predict = |phi: &[f64]| -> Result<Vec<f64>> {
        let m = log_model.at(phi);
        Ok(observe(
            &m.solve(cells, dt, &times)?,
            &times,
            design,
            m.injection,
        ))
    };
    fisher(names, &phi, &predict, design.noise_sd, tolerance)
}

/// As [`analyse`], for the bipolar model (c), observing the net density
/// $n_h + m_h - n_e - m_e$ (the design's [`Observed`] is not read).
///
/// # Errors
/// As [`analyse`], and those of [`LogBipolar::new`] (a parameter the model does not have, or
/// one that is not positive).
pub fn analyse_bipolar(
    model: &Bipolar,
    parameters: &[BipolarParameter],
    design: &Design,
    cells: usize,
    dt: f64,
    tolerance: f64,
) -> Result<Identifiability> {
    let times = check_design(design, tolerance, model.length)?;
    let log_model = LogBipolar::new(*model, parameters.to_vec(), cells, dt, times.clone())?;
    let phi = log_model.log_values();
    let names = parameters.iter().map(|p| p.name()).collect();
    let predict = |phi: &[f64]| -> Result<Vec<f64>> {
        let s = log_model.at(phi).solve(cells, dt, &times)?;
        let net: Vec<Vec<f64>> = (0..times.len()).map(|k| s.net(k)).collect();
        Ok(interpolate(&s.x, &|k, i| net[k][i], None, &times, design))
    };
    fisher(names, &phi, &predict, design.noise_sd, tolerance)
}

/// The Fisher information of log parameters `phi` by central differences of `predict`
/// (relative step 1e-4), and its summary.
fn fisher(
    names: Vec<String>,
    phi: &[f64],
    predict: &dyn Fn(&[f64]) -> Result<Vec<f64>>,
    noise_sd: f64,
    tolerance: f64,
) -> Result<Identifiability> {
    validate::finite("log parameters (they must be positive)", phi)?;
    let h = 1e-4;
    let mut columns = Vec::with_capacity(phi.len());
    for j in 0..phi.len() {
        let (mut up, mut down) = (phi.to_vec(), phi.to_vec());
        up[j] += h;
        down[j] -= h;
        let (f_plus, f_minus) = (predict(&up)?, predict(&down)?);
        columns.push(
            f_plus
                .iter()
                .zip(&f_minus)
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect::<Vec<f64>>(),
        );
    }
    let n = columns.first().map_or(0, Vec::len);
    let jac = DMatrix::from_fn(n, phi.len(), |i, j| columns[j][i]);
    let information = jac.tr_mul(&jac) / noise_sd.powi(2);
    Ok(summarise(names, information, tolerance))
}

/// Cramér–Rao deviations and eigen-combinations of a Fisher information.
fn summarise(names: Vec<String>, information: DMatrix<f64>, tolerance: f64) -> Identifiability {
    let eig = SymmetricEigen::new(information.clone());
    let top = eig.eigenvalues.max().max(0.0);
    // Eigenvalues below rounding of the largest carry no information.
    let floor = top * 1e-13;
    let sd_of = |lambda: f64| {
        if lambda > floor {
            lambda.sqrt().recip()
        } else {
            f64::INFINITY
        }
    };
    let d = names.len();
    let mut relative_sd = vec![0.0; d];
    for (k, &lambda) in eig.eigenvalues.iter().enumerate() {
        let var = sd_of(lambda).powi(2);
        for (j, sd) in relative_sd.iter_mut().enumerate() {
            let w = eig.eigenvectors[(j, k)];
            // A direction without information leaves a parameter unidentified only if the
            // parameter is really in it: rounding-level weights are not.
            if w.abs() > 1e-6 || var.is_finite() {
                *sd += w * w * var;
            }
        }
    }
    for sd in &mut relative_sd {
        *sd = sd.sqrt();
    }
    let mut combinations: Vec<Combination> = (0..d)
        .map(|k| {
            let mut weights: Vec<f64> = eig.eigenvectors.column(k).iter().copied().collect();
            let big = weights
                .iter()
                .copied()
                .fold(0.0_f64, |a, w| if w.abs() > a.abs() { w } else { a });
            if big < 0.0 {
                weights.iter_mut().for_each(|w| *w = -*w);
            }
            let sd = sd_of(eig.eigenvalues[k]);
            Combination {
                weights,
                sd,
                identifiable: sd <= tolerance,
            }
        })
        .collect();
    combinations.sort_by(|a, b| b.sd.total_cmp(&a.sd));
    Identifiability {
        names,
        information,
        relative_sd,
        combinations,
    }
}

/// The natural value of parameter `p` of `model`.
fn value(model: &Transport, p: Parameter) -> f64 {
    match p {
        Parameter::Drift => match model.field {
            crate::charge::Field::Constant(v) => v,
            crate::charge::Field::Poisson { mobility, .. } => mobility,
        },
        Parameter::Diffusivity => model.diffusivity,
        Parameter::Trapping => model.trapping,
        Parameter::Detrapping => model.detrapping,
        Parameter::Injection => model.injection,
    }
}

/// The sorted distinct times of the points.
fn distinct_times(points: &DMatrix<f64>) -> Vec<f64> {
    let mut t: Vec<f64> = points.column(0).iter().copied().collect();
    t.sort_by(f64::total_cmp);
    t.dedup();
    t
}

/// A model (a)/(b) solution at the design's points, with the injected value at $x = 0$.
fn observe(s: &Solution, times: &[f64], design: &Design, injection: f64) -> Vec<f64> {
    let field = |k: usize, i: usize| match design.observed {
        Observed::Mobile => s.mobile[(k, i)],
        Observed::Net => s.mobile[(k, i)] + s.trapped[(k, i)],
    };
    let left = |k: usize| match design.observed {
        Observed::Mobile => injection,
        Observed::Net => injection + s.trapped[(k, 0)],
    };
    interpolate(&s.x, &field, Some(&left), times, design)
}

/// Cell values `field(k, i)` (output time `k`, cell `i`) at the design's points: linear
/// interpolation between cell centres `x`, towards `left(k)` between $x = 0$ and the first
/// centre when given, and constant extension otherwise.
fn interpolate(
    x: &[f64],
    field: &dyn Fn(usize, usize) -> f64,
    left: Option<&dyn Fn(usize) -> f64>,
    times: &[f64],
    design: &Design,
) -> Vec<f64> {
    let h = x[1] - x[0];
    let cells = x.len();
    design
        .points
        .row_iter()
        .map(|p| {
            let k = times.partition_point(|&t| t < p[0]);
            let u = p[1] / h - 0.5;
            if u < 0.0 {
                let Some(left) = left else {
                    return field(k, 0);
                };
                let w = p[1] / (0.5 * h);
                w * field(k, 0) + (1.0 - w) * left(k)
            } else if u >= (cells - 1) as f64 {
                field(k, cells - 1)
            } else {
                let i = u.floor() as usize;
                let w = u - i as f64;
                (1.0 - w) * field(k, i) + w * field(k, i + 1)
            }
        })
        .collect()
}

/// Checks the noise level, the tolerance and the points of a design; returns its distinct times.
fn check_design(design: &Design, tolerance: f64, length: f64) -> Result<Vec<f64>> {
    validate::positive("noise_sd", design.noise_sd)?;
    validate::positive("tolerance", tolerance)?;
    check_points(&design.points, length)?;
    Ok(distinct_times(&design.points))
}

/// Checks design points `(t, x)`: two columns, finite, $t > 0$, $x \in [0, L]$.
fn check_points(points: &DMatrix<f64>, length: f64) -> Result<()> {
    validate::len("columns of the design points (t, x)", 2, points.ncols())?;
    if points.nrows() == 0 {
        return Err(Error::EmptyInput {
            what: "design points".into(),
        });
    }
    validate::finite("design points", points.as_slice())?;
    let (t, x) = (points.column(0), points.column(1));
    if t.min() <= 0.0 {
        return Err(Error::invalid_parameter(
            "design points",
            format!("times must be > 0, found {}", t.min()),
        ));
    }
    if x.min() < 0.0 || x.max() > length {
        return Err(Error::invalid_parameter(
            "design points",
            format!(
                "positions must lie in [0, L] = [0, {length}], found [{}, {}]",
                x.min(),
                x.max()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::Field;
    use crate::charge::bipolar::Injection;
    use crate::diffusion::adr_exact;

    fn adr_model() -> Transport {
        Transport {
            field: Field::Constant(1.0),
            diffusivity: 0.05,
            trapping: 0.5,
            detrapping: 0.0,
            injection: 1.0,
            length: 2.0,
        }
    }

    fn adr_params() -> [Parameter; 3] {
        [
            Parameter::Drift,
            Parameter::Diffusivity,
            Parameter::Trapping,
        ]
    }

    /// The information from the solver matches the one from the closed form (an independent
    /// computation: its derivatives by central differences of `adr_exact`).
    #[test]
    fn model_a_information_matches_the_closed_form() {
        let times = [0.1, 0.2, 0.3, 0.4, 0.5];
        let x: Vec<f64> = (0..21).map(|j| 0.05 * f64::from(j)).collect();
        let design = Design::grid(&times, &x, Observed::Mobile, 0.01).unwrap();
        let a = analyse(&adr_model(), &adr_params(), &design, 800, 5e-4, 0.05).unwrap();
        let theta = [1.0, 0.05, 0.5];
        let mut jac = DMatrix::zeros(design.points.nrows(), 3);
        for j in 0..3 {
            let (mut up, mut down) = (theta, theta);
            up[j] *= 1e-5_f64.exp();
            down[j] *= (-1e-5_f64).exp();
            for (i, p) in design.points.row_iter().enumerate() {
                let f = |th: [f64; 3]| adr_exact(p[0], p[1], th[0], th[1], th[2], 1.0);
                jac[(i, j)] = (f(up) - f(down)) / 2e-5;
            }
        }
        let exact = jac.tr_mul(&jac) / 1e-4;
        let rel = (&a.information - &exact).norm() / exact.norm();
        assert!(rel < 2e-3, "{rel}\n{}\n{exact}", a.information);
        let cov = exact.try_inverse().unwrap();
        for j in 0..3 {
            let sd = cov[(j, j)].sqrt();
            assert!(
                (a.relative_sd[j] / sd - 1.0).abs() < 1e-2,
                "{j}: {} {sd}",
                a.relative_sd[j]
            );
        }
    }

    /// Fast exchange with the traps, net charge observed: only $k_{tr}/k_{dt}$ matters, so the
    /// product direction $(1, 1)/\sqrt 2$ is flagged and the ratio is not.
    #[test]
    fn fast_trapping_identifies_only_the_ratio() {
        let model = Transport {
            field: Field::Constant(1.0),
            diffusivity: 0.02,
            trapping: 2000.0,
            detrapping: 1000.0,
            injection: 1.0,
            length: 1.0,
        };
        let times = [0.5, 1.0, 1.5, 2.0];
        let x: Vec<f64> = (0..41).map(|j| 0.025 * f64::from(j)).collect();
        let design = Design::grid(&times, &x, Observed::Net, 0.01).unwrap();
        let a = analyse(
            &model,
            &[Parameter::Trapping, Parameter::Detrapping],
            &design,
            200,
            1e-3,
            0.05,
        )
        .unwrap();
        let worst = &a.combinations[0];
        let best = &a.combinations[1];
        assert!(!worst.identifiable && best.identifiable, "{a:?}");
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert!((worst.weights[0] - s).abs() < 1e-2 && (worst.weights[1] - s).abs() < 1e-2);
        assert!((best.weights[0] - s).abs() < 1e-2 && (best.weights[1] + s).abs() < 1e-2);
        assert!(worst.sd > 20.0 * best.sd, "{a:?}");
        assert_eq!(a.unidentifiable().count(), 1);
        assert!(a.relative_sd.iter().all(|&sd| sd > 0.05));
    }

    /// Model (c): recombination acts where electrons and holes meet, so profiles taken before
    /// the fronts cross cannot see it, and profiles after can.
    #[test]
    fn bipolar_recombination_is_seen_only_once_the_carriers_meet() {
        let model = Bipolar {
            mobility: [1.0, 0.5],
            diffusivity: [0.005, 0.005],
            trapping: [0.5, 0.5],
            trap_density: [5.0, 5.0],
            detrapping: [0.05, 0.05],
            recombination: [0.5, 0.5, 0.5, 2.0],
            injection: Injection::Schottky {
                rate: [0.3, 0.3],
                beta: 0.5,
            },
            voltage: 1.0,
            length: 1.0,
        };
        let params = [
            BipolarParameter::Mobility(0),
            BipolarParameter::Mobility(1),
            BipolarParameter::InjectionRate(0),
            BipolarParameter::Recombination(3),
        ];
        let x: Vec<f64> = (0..41).map(|j| 0.025 * f64::from(j)).collect();
        let sd = |times: &[f64]| {
            let design = Design::grid(times, &x, Observed::Net, 0.01).unwrap();
            analyse_bipolar(&model, &params, &design, 200, 0.005, 0.05).unwrap()
        };
        let early = sd(&[0.1, 0.2, 0.3]);
        let late = sd(&[0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        eprintln!("early {:?}\nlate {:?}", early.relative_sd, late.relative_sd);
        assert!(early.relative_sd[3] > 1.0, "{early:?}");
        assert!(late.relative_sd[3] < 0.05, "{late:?}");
        assert_eq!(early.names[3], "S3");
        let worst = &early.combinations[0];
        assert!(!worst.identifiable && worst.weights[3] > 0.99, "{worst:?}");
        // The drift of both carriers is seen either way.
        for sd in [&early, &late] {
            assert!(
                sd.relative_sd[0] < 0.05 && sd.relative_sd[1] < 0.05,
                "{sd:?}"
            );
        }
        // A parameter the model does not have is refused.
        let missing = [BipolarParameter::Recombination(4)];
        let design = Design::grid(&[0.5], &x, Observed::Net, 0.01).unwrap();
        assert!(analyse_bipolar(&model, &missing, &design, 50, 0.01, 0.05).is_err());
    }

    #[test]
    fn summary_of_a_singular_information() {
        let f = DMatrix::from_row_slice(2, 2, &[4.0, 0.0, 0.0, 0.0]);
        let a = summarise(vec!["v".into(), "k".into()], f, 1.0);
        assert_eq!(a.relative_sd[0], 0.5);
        assert!(a.relative_sd[1].is_infinite());
        assert!(a.combinations[0].sd.is_infinite() && !a.combinations[0].identifiable);
        assert_eq!(a.combinations[0].weights, [0.0, 1.0]);
        assert_eq!(a.combinations[1].sd, 0.5);
    }

    #[test]
    fn interpolation_hits_cell_centres_and_the_boundary() {
        let s = adr_model().solve(20, 0.01, &[0.3]).unwrap();
        let pts = DMatrix::from_row_slice(3, 2, &[0.3, 0.0, 0.3, s.x[4], 0.3, 2.0]);
        let design = Design {
            points: pts,
            observed: Observed::Mobile,
            noise_sd: 1.0,
        };
        let y = observe(&s, &[0.3], &design, 1.0);
        let expected = [1.0, s.mobile[(0, 4)], s.mobile[(0, 19)]];
        for (a, b) in y.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{y:?} {expected:?}");
        }
    }

    #[test]
    fn bad_designs_are_refused() {
        let m = adr_model();
        let p = adr_params();
        let ok = Design::grid(&[0.5], &[0.5], Observed::Mobile, 0.01).unwrap();
        assert!(analyse(&m, &p, &ok, 50, 0.01, 0.05).is_ok());
        let mut outside = ok.clone();
        outside.points[(0, 1)] = 3.0;
        let mut at_zero = ok.clone();
        at_zero.points[(0, 0)] = 0.0;
        let quiet = Design {
            noise_sd: 0.0,
            ..ok.clone()
        };
        let empty = Design {
            points: DMatrix::zeros(0, 2),
            ..ok.clone()
        };
        for d in [outside, at_zero, quiet, empty] {
            assert!(analyse(&m, &p, &d, 50, 0.01, 0.05).is_err());
        }
        assert!(analyse(&m, &p, &ok, 50, 0.01, 0.0).is_err());
        // No detrapping: log 0 is not a parameter value.
        assert!(analyse(&m, &[Parameter::Detrapping], &ok, 50, 0.01, 0.05).is_err());
        assert!(Design::grid(&[], &[0.5], Observed::Net, 0.01).is_err());
    }
}
