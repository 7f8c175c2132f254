//! Viscous Burgers' equation: the exact solution by the Cole–Hopf transform, the residual, and
//! the forward and inverse problems of Raissi, Perdikaris and Karniadakis (2019).
//!
//! $$
//! u_t + \lambda_1 u u_x - \lambda_2 u_{xx} = 0,\quad x \in [-1, 1],\ t \in [0, 1],\quad
//! u(0, x) = -\sin(\pi x),\quad u(t, \pm 1) = 0,
//! $$
//! with $\lambda_1 = 1$, $\lambda_2 = \nu = 0.01/\pi$: a shock forms at $x = 0$ near
//! $t = 0.5$.
//!
//! **Exact solution.** With $u = -2\nu \partial_x \log\phi$ the equation becomes the heat
//! equation for $\phi$ (Cole 1951, Hopf 1950), whence
//! $$
//! u(t, x) = -\frac{\int \sin\pi(x - \eta) f(x - \eta) e^{-\eta^2/4\nu t} d\eta}
//! {\int f(x - \eta) e^{-\eta^2/4\nu t} d\eta},\qquad
//! f(y) = e^{-\cos(\pi y)/2\pi\nu}.
//! $$
//! With $\eta = \sqrt{4\nu t} s$ both integrals have the weight $e^{-s^2}$; their integrands
//! are entire functions of $s$, so the trapezoidal rule converges geometrically (Trefethen and
//! Weideman, SIAM Review 56:385, 2014). [`exact`] uses step $0.02$ on $|s| \le 14$ and
//! subtracts the largest exponent ($f$ spans $e^{\pm 1/2\pi\nu} = e^{\pm 50}$) before
//! exponentiating. It reproduces Basdevant et al.'s (Computers & Fluids 14:23, 1986)
//! maximal slope $|u_x(t, 0)| = 152.00516$ at $t = 1.6037/\pi$ (tested).
//!
//! ```
//! use uqforge_pinn::burgers;
//! let nu = 0.01 / std::f64::consts::PI;
//! assert!((burgers::exact(0.0, 0.5, nu) + 1.0).abs() < 1e-15);
//! assert!(burgers::exact(0.7, 0.0, nu).abs() < 1e-12); // odd in x
//! ```

use std::f64::consts::PI;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::observe::Progress;
use uqforge_core::{Error, Model, Result, validate};

use crate::jets::JetSpec;
use crate::loss::{Problem, Term, Unknown};
use crate::mlp::{Activation, Mlp};
pub use crate::residual::Coefficient;
use crate::residual::{Partials, Point, Residual, space_time_1d_spec};
use crate::sampling::{latin_hypercube, space_time_1d};
use crate::train::{TrainOptions, Training, train};

/// The viscosity of the reference problem, $0.01/\pi$.
pub const NU: f64 = 0.01 / PI;

/// $u(t, x)$ of viscous Burgers with $u(0, x) = -\sin\pi x$ and viscosity `nu` (module docs).
pub fn exact(t: f64, x: f64, nu: f64) -> f64 {
    if t <= 0.0 {
        return -(PI * x).sin();
    }
    let c = (4.0 * nu * t).sqrt();
    let (h, reach) = (0.02, 14.0);
    let steps = (reach / h) as i64;
    let exponent = |s: f64| -s * s - (PI * (x - c * s)).cos() / (2.0 * PI * nu);
    let top = (-steps..=steps)
        .map(|i| exponent(i as f64 * h))
        .fold(f64::NEG_INFINITY, f64::max);
    let (mut num, mut den) = (0.0, 0.0);
    for i in -steps..=steps {
        let s = i as f64 * h;
        let w = (exponent(s) - top).exp();
        num += (PI * (x - c * s)).sin() * w;
        den += w;
    }
    -num / den
}

/// $r = u_t + \lambda_1 u u_x - \lambda_2 u_{xx}$ for a network of inputs $(t, x)$.
#[derive(Clone, Copy, Debug)]
pub struct BurgersResidual {
    /// $\lambda_1$ (1 in the reference problem).
    pub lambda1: Coefficient,
    /// $\lambda_2 = \nu$.
    pub lambda2: Coefficient,
}

impl Residual for BurgersResidual {
    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec> {
        space_time_1d_spec("a Burgers network", inputs, outputs)
    }

    fn eval(&self, at: &Point<'_>, lambda: &[f64], out: &mut Partials<'_>) {
        let (l1, l2) = (self.lambda1.value(lambda), self.lambda2.value(lambda));
        let (u, u_t, u_x, u_xx) = (at.value(0), at.d(0, 0), at.d(0, 1), at.d2(0, 1, 1));
        out.residual(0, u_t + l1 * u * u_x - l2 * u_xx);
        out.d_value(0, 0, l1 * u_x);
        out.d_first(0, 0, 0, 1.0);
        out.d_first(0, 0, 1, l1 * u);
        out.d_second(0, 0, 1, 1, -l2);
        if let Coefficient::Unknown(j) = self.lambda1 {
            out.d_coefficient(0, j, u * u_x);
        }
        if let Coefficient::Unknown(j) = self.lambda2 {
            out.d_coefficient(0, j, -u_xx);
        }
    }
}

/// The lower and upper corners of the domain in $(t, x)$.
pub const DOMAIN: ([f64; 2], [f64; 2]) = ([0.0, -1.0], [1.0, 1.0]);

/// The forward problem: the PDE at `collocation` Latin-hypercube points, $u(0, x) =
/// -\sin\pi x$ at `initial` points and $u(t, \pm 1) = 0$ at `boundary` points (half on each
/// side), all drawn from `seed`.
///
/// # Errors
/// [`Error::InvalidParameter`] for zero points in any term.
pub fn forward_problem(
    collocation: usize,
    initial: usize,
    boundary: usize,
    seed: u64,
) -> Result<Problem> {
    let (lo, hi) = DOMAIN;
    let points = space_time_1d(
        [collocation, initial, boundary],
        [lo[0], hi[0]],
        [lo[1], hi[1]],
        seed,
    )?;
    let ic_values = DMatrix::from_fn(initial, 1, |b, _| -(PI * points.initial[(b, 1)]).sin());
    let residual = BurgersResidual {
        lambda1: Coefficient::Known(1.0),
        lambda2: Coefficient::Known(NU),
    };
    Problem::new(
        vec![
            Term::new("pde", points.interior, residual)?,
            Term::data("initial", points.initial, ic_values)?,
            Term::data("boundary", points.boundary, DMatrix::zeros(boundary, 1))?,
        ],
        vec![],
    )
}

/// The inverse problem of Raissi et al.: `points` samples of the exact solution at
/// Latin-hypercube points, with Gaussian noise of standard deviation `noise` times the
/// samples' standard deviation, and the PDE residual at the same points with unknown
/// $\lambda_1$ (start 0) and $\lambda_2 > 0$ (start $e^{-6}$, optimised as $\log\lambda_2$).
///
/// # Errors
/// [`Error::InvalidParameter`] for zero points or a negative or non-finite noise level.
pub fn inverse_problem(points: usize, noise: f64, seed: u64) -> Result<Problem> {
    if points == 0 {
        return Err(Error::invalid_parameter(
            "points",
            "needs at least one point",
        ));
    }
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(Error::invalid_parameter(
            "noise",
            format!("must be finite and >= 0, got {noise}"),
        ));
    }
    let (lo, hi) = DOMAIN;
    let x = latin_hypercube(points, &lo, &hi, seed, 0)?;
    let mut y = DMatrix::from_fn(points, 1, |b, _| exact(x[(b, 0)], x[(b, 1)], NU));
    if noise > 0.0 {
        let mean = y.mean();
        let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / points as f64).sqrt();
        let mut rng = uqforge_core::rng::stream(seed, 3);
        for v in y.iter_mut() {
            *v += noise * sd * uqforge_core::rng::standard_normal(&mut rng);
        }
    }
    let residual = BurgersResidual {
        lambda1: Coefficient::Unknown(0),
        lambda2: Coefficient::Unknown(1),
    };
    Problem::new(
        vec![
            Term::data("data", x.clone(), y)?,
            Term::new("pde", x, residual)?,
        ],
        vec![
            Unknown {
                name: "lambda1".into(),
                initial: 0.0,
                positive: false,
            },
            Unknown {
                name: "lambda2".into(),
                initial: (-6.0f64).exp(),
                positive: true,
            },
        ],
    )
}

/// An evaluation grid like Raissi et al.'s data (256 values of $x$ in $[-1, 1]$ times 100 of
/// $t$ in $[0, 0.99]$): `nx` equispaced $x$ times `nt` equispaced $t$ (both at least 2), rows
/// $(t, x)$, and the exact solution on it.
pub fn reference_grid(nx: usize, nt: usize) -> (DMatrix<f64>, Vec<f64>) {
    let (nx, nt) = (nx.max(2), nt.max(2));
    let points = DMatrix::from_fn(nx * nt, 2, |r, i| {
        let (it, ix) = (r / nx, r % nx);
        if i == 0 {
            0.99 * it as f64 / (nt - 1) as f64
        } else {
            -1.0 + 2.0 * ix as f64 / (nx - 1) as f64
        }
    });
    let u = (0..points.nrows())
        .map(|r| exact(points[(r, 0)], points[(r, 1)], NU))
        .collect();
    (points, u)
}

/// $\lVert u_\theta - u\rVert_2 / \lVert u\rVert_2$ over `points` (rows), with `exact` the
/// true values there.
///
/// # Errors
/// [`Error::DimensionMismatch`] when the points do not match the network or `exact`.
pub fn relative_l2(net: &Mlp, points: &DMatrix<f64>, exact: &[f64]) -> Result<f64> {
    validate::len("exact values", points.nrows(), exact.len())?;
    let mut ours = vec![0.0; exact.len()];
    // Model::eval_batch reads row-major points: the transpose's column-major storage.
    net.eval_batch(points.transpose().as_slice(), &mut ours)?;
    let num: f64 = ours.iter().zip(exact).map(|(a, b)| (a - b).powi(2)).sum();
    let den: f64 = exact.iter().map(|b| b * b).sum();
    Ok((num / den).sqrt())
}

/// Forward (solve for $u$) or inverse (identify $\lambda_1, \lambda_2$ from data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// [`forward_problem`].
    Forward,
    /// [`inverse_problem`].
    Inverse,
}

/// A whole Burgers experiment: problem, network, training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Forward or inverse.
    pub mode: Mode,
    /// Collocation points (forward; the initial and boundary terms get 50 points each) or data
    /// points (inverse).
    pub points: usize,
    /// Relative noise level of the inverse problem's data.
    pub noise: f64,
    /// Hidden layer widths.
    pub layers: Vec<usize>,
    /// Training settings.
    pub training: TrainOptions,
    /// The seed of the points, the noise and the weights.
    pub seed: u64,
}

impl Experiment {
    /// Raissi et al.'s settings: 8 hidden layers of 20, 10,000 collocation points (forward) or
    /// 2,000 data points (inverse), Adam then L-BFGS.
    pub fn raissi(mode: Mode) -> Self {
        let mut training = TrainOptions::default();
        training.adam.steps = 2000;
        training.lbfgs.iterations = 20_000;
        Self {
            mode,
            points: if mode == Mode::Forward { 10_000 } else { 2_000 },
            noise: 0.0,
            layers: vec![20; 8],
            training,
            seed: 1,
        }
    }
}

/// What [`Experiment::run`] measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// $\lambda_1$ (inverse mode).
    pub lambda1: Option<f64>,
    /// $\lambda_2$ (inverse mode).
    pub lambda2: Option<f64>,
    /// $\lVert u_\theta - u\rVert_2 / \lVert u\rVert_2$ on the $256\times 100$ grid of
    /// [`reference_grid`].
    pub relative_l2: f64,
    /// The final loss.
    pub loss: f64,
    /// Wall-clock seconds of training.
    pub seconds: f64,
    /// The training record.
    pub training: Training,
    /// The trained network.
    pub network: Mlp,
}

impl Experiment {
    /// Builds the problem and the network, trains, and measures the error.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no hidden layer, a zero width or zero points, and the
    /// errors of [`train`].
    pub fn run(&self, progress: &mut dyn Progress) -> Result<Outcome> {
        if self.layers.is_empty() {
            return Err(Error::invalid_parameter(
                "layers",
                "needs at least one hidden layer",
            ));
        }
        let problem = match self.mode {
            Mode::Forward => forward_problem(self.points, 50, 50, self.seed)?,
            Mode::Inverse => inverse_problem(self.points, self.noise, self.seed)?,
        };
        let sizes: Vec<usize> = std::iter::once(2)
            .chain(self.layers.iter().copied())
            .chain([1])
            .collect();
        let (lo, hi) = DOMAIN;
        let mut net = Mlp::new(&sizes, Activation::Tanh, self.seed)?.with_input_box(&lo, &hi)?;
        let start = std::time::Instant::now();
        let training = train(&problem, &mut net, &self.training, progress)?;
        let seconds = start.elapsed().as_secs_f64();
        let (grid, u) = reference_grid(256, 100);
        let relative_l2 = relative_l2(&net, &grid, &u)?;
        let inverse = self.mode == Mode::Inverse;
        Ok(Outcome {
            lambda1: inverse.then(|| training.coefficients[0]),
            lambda2: inverse.then(|| training.coefficients[1]),
            relative_l2,
            loss: training.loss.total,
            seconds,
            training,
            network: net,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_solution_reproduces_basdevant_maximal_slope() {
        // Basdevant et al. (1986), table 1: max |u_x| = 152.00516 at t = 1.6037 / pi, x = 0.
        let t = 1.6037 / PI;
        let h = 1e-6;
        let slope = (exact(t, h, NU) - exact(t, -h, NU)) / (2.0 * h);
        assert!((slope.abs() - 152.00516).abs() < 5e-6, "{slope}");
        // ... and it is the maximum over time (the slope is smaller slightly before and after).
        for dt in [-0.01, 0.01] {
            let s = (exact(t + dt, h, NU) - exact(t + dt, -h, NU)) / (2.0 * h);
            assert!(s.abs() < slope.abs());
        }
    }

    #[test]
    fn exact_solution_satisfies_the_pde_and_the_boundary() {
        // Central differences of the exact solution in a smooth region.
        let (t, x, h) = (0.3, 0.4, 1e-4);
        let u = exact(t, x, NU);
        let u_t = (exact(t + h, x, NU) - exact(t - h, x, NU)) / (2.0 * h);
        let u_x = (exact(t, x + h, NU) - exact(t, x - h, NU)) / (2.0 * h);
        let u_xx = (exact(t, x + h, NU) - 2.0 * u + exact(t, x - h, NU)) / (h * h);
        let r = u_t + u * u_x - NU * u_xx;
        assert!(r.abs() < 1e-6 * u_t.abs().max(1.0), "{r}");
        for t in [0.1, 0.5, 0.9] {
            assert!(exact(t, 1.0, NU).abs() < 1e-12 && exact(t, -1.0, NU).abs() < 1e-12);
            assert!((exact(t, 0.3, NU) + exact(t, -0.3, NU)).abs() < 1e-12);
        }
    }

    #[test]
    fn problems_refuse_bad_sizes() {
        assert!(forward_problem(0, 10, 10, 1).is_err());
        assert!(inverse_problem(0, 0.0, 1).is_err());
        assert!(inverse_problem(10, -0.1, 1).is_err());
        assert!(inverse_problem(10, f64::NAN, 1).is_err());
    }
}
