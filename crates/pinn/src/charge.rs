//! Finite-volume solvers of charge transport in a planar insulator: the synthetic data and the
//! reference of the PINN identification.
//!
//! **Models** (non-dimensional: length by the thickness scale, $\varepsilon = 1$). One mobile
//! carrier of density $n$ and its trapped counterpart $n_t$ on $x \in [0, L]$:
//! $$
//! \partial_t n + \partial_x(vn) = D\partial_x^2 n - k_{tr}n + k_{dt}n_t,\qquad
//! \partial_t n_t = k_{tr}n - k_{dt}n_t,
//! $$
//! with injection $n(0, t) = n_0$, free outflow at $x = L$ (no diffusive flux; what arrives is
//! extracted), and an empty insulator at $t = 0$. The velocity is
//!
//! - (a) constant, $v$, with $k_{dt} = 0$: the advection–diffusion–reaction model, whose
//!   closed form is [`crate::diffusion::adr_exact`];
//! - (b) $v = \mu E$ with the field from Poisson's equation $\partial_x E = n + n_t$ and the applied
//!   voltage $\int_0^L E dx = V$: unipolar injection with trapping.
//!
//! Model (c), electrons and holes with recombination and Schottky injection, is in
//! [`bipolar`], on the same scheme.
//!
//! The external current per unit area is Sato's average of the conduction current over the
//! thickness (the displacement current averages to zero at constant voltage):
//! $J = L^{-1}\int_0^L (vn - D\partial_x n)dx$.
//!
//! **Scheme.** $N$ cells of width $h$; the flux through a face is Scharfetter and Gummel's
//! (IEEE Trans. Electron Devices 16:64, 1969),
//! $$
//! F_{i+1/2} = \frac{D}{h}\big(B(-P)n_i - B(P)n_{i+1}\big),\qquad P = \frac{v_{i+1/2}h}{D},
//! \qquad B(z) = \frac{z}{e^z - 1},
//! $$
//! exact for a steady flux with constant coefficients: central differences when $|P|$ is
//! small (second order), upwinding when advection dominates, and never negative densities
//! from the advection. The boundary face at $x = 0$ uses the same flux over the half cell to
//! the injected value $n_0$. Time: Crank–Nicolson (second order) after two steps of implicit
//! Euler on half steps (Rannacher's start, which damps the jump between the injected value
//! and the empty insulator); trapping is integrated with the same rule and eliminated cell by
//! cell, so each step is one tridiagonal solve. For model (b) the field of each step is taken at
//! the midpoint, from a first solve with the field of the previous step (one Picard
//! correction, which keeps second order).
//!
//! **Conservation.** Each step changes the stored charge $Q = h\sum(n_i + n_{t,i})$ by exactly
//! $\Delta t$ times the time-averaged inflow minus outflow, up to rounding (the fluxes between
//! cells cancel in pairs); [`Solution`] keeps both sides so tests can check it.
//!
//! ```
//! use uqforge_pinn::charge::{Field, Transport};
//! use uqforge_pinn::diffusion::adr_exact;
//!
//! let model = Transport { field: Field::Constant(1.0), diffusivity: 0.01, trapping: 0.5,
//!     detrapping: 0.0, injection: 1.0, length: 1.5 };
//! let s = model.solve(1200, 1e-3, &[0.5])?;
//! // On the front (x = 0.4), within 1e-3 of the closed form (second order: 4 times closer
//! // with twice the cells).
//! let (i, x) = (319, s.x[319]);
//! assert!((s.mobile[(0, i)] - adr_exact(0.5, x, 1.0, 0.01, 0.5, 1.0)).abs() < 1e-3);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

pub mod bipolar;

use nalgebra::DMatrix;
use uqforge_core::{Error, Result, validate};

/// How the carriers' velocity is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field {
    /// A constant velocity $v$ (model a).
    Constant(f64),
    /// $v = \mu E$ with $E$ from Poisson's equation under the applied voltage (model b).
    Poisson {
        /// Mobility $\mu > 0$.
        mobility: f64,
        /// Applied voltage $V$ between $x = 0$ and $x = L$.
        voltage: f64,
    },
}

/// A one-carrier transport model with trapping (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transport {
    /// The velocity field.
    pub field: Field,
    /// Diffusivity $D > 0$.
    pub diffusivity: f64,
    /// Trapping rate $k_{tr} \ge 0$.
    pub trapping: f64,
    /// Detrapping rate $k_{dt} \ge 0$.
    pub detrapping: f64,
    /// Injected density $n_0 \ge 0$ at $x = 0$.
    pub injection: f64,
    /// Thickness $L > 0$.
    pub length: f64,
}

/// Profiles and currents of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// Cell centres.
    pub x: Vec<f64>,
    /// The output times.
    pub times: Vec<f64>,
    /// Mobile density, one row per output time, one column per cell.
    pub mobile: DMatrix<f64>,
    /// Trapped density, same layout.
    pub trapped: DMatrix<f64>,
    /// Stored charge $Q = h\sum(n + n_t)$ at each output time.
    pub stored: Vec<f64>,
    /// Charge injected at $x = 0$ since $t = 0$, at each output time.
    pub injected: Vec<f64>,
    /// Charge extracted at $x = L$ since $t = 0$, at each output time.
    pub extracted: Vec<f64>,
    /// External current $J$ averaged over the last step before each output time.
    pub current: Vec<f64>,
}

impl Solution {
    /// Net charge density $n + n_t$ at output time `k` (what a PEA measurement sees).
    pub fn net(&self, k: usize) -> Vec<f64> {
        (0..self.x.len())
            .map(|i| self.mobile[(k, i)] + self.trapped[(k, i)])
            .collect()
    }
}

/// $B(z) = z/(e^z - 1)$, with $B(0) = 1$.
fn bernoulli(z: f64) -> f64 {
    if z.abs() < 1e-10 {
        1.0 - 0.5 * z
    } else {
        z / z.exp_m1()
    }
}

/// Face fluxes as $F_f = a_f n_{left} + c_f n_{right}$ (faces $0..=N$; the left of face 0 is
/// the injected value, the right of face $N$ is absent).
struct Fluxes {
    a: Vec<f64>,
    c: Vec<f64>,
}

impl Transport {
    fn validate(&self, cells: usize, dt: f64, times: &[f64]) -> Result<()> {
        validate::positive("diffusivity", self.diffusivity)?;
        validate::positive("length", self.length)?;
        validate::in_range("trapping", self.trapping, 0.0, f64::MAX)?;
        validate::in_range("detrapping", self.detrapping, 0.0, f64::MAX)?;
        validate::in_range("injection", self.injection, 0.0, f64::MAX)?;
        match self.field {
            Field::Constant(v) => validate::finite("velocity", &[v])?,
            Field::Poisson { mobility, voltage } => {
                validate::positive("mobility", mobility)?;
                validate::finite("voltage", &[voltage])?;
            }
        }
        check_grid(cells, dt, times)
    }

    /// Face velocities: constant, or $\mu E$ with $E$ from the net charge.
    fn velocities(&self, net: &[f64], h: f64) -> Vec<f64> {
        let cells = net.len();
        match self.field {
            Field::Constant(v) => vec![v; cells + 1],
            Field::Poisson { mobility, voltage } => {
                // E at faces: E_0 + h * cumulative charge; E_0 from the voltage constraint
                // (trapezoid rule, exact for the piecewise-linear field).
                let mut e = vec![0.0; cells + 1];
                for i in 0..cells {
                    e[i + 1] = e[i] + h * net[i];
                }
                let integral: f64 = (0..cells).map(|i| 0.5 * h * (e[i] + e[i + 1])).sum();
                let e0 = (voltage - integral) / self.length;
                e.iter().map(|&ei| mobility * (ei + e0)).collect()
            }
        }
    }

    /// The carrier of this model for a step: constant rates, no recombination.
    fn carrier<'a>(&self, trapping: &'a [f64], none: &'a [f64]) -> Carrier<'a> {
        Carrier {
            diffusivity: self.diffusivity,
            inflow: Inflow::Density(self.injection),
            trapping,
            detrapping: self.detrapping,
            mobile_loss: none,
            trapped_loss: none,
        }
    }

    /// One θ-step of length `dt` from `(n, nt)` with face velocities `v`; returns the new
    /// densities and the time-averaged face fluxes.
    fn step(
        &self,
        n: &[f64],
        nt: &[f64],
        v: &[f64],
        h: f64,
        dt: f64,
        theta: f64,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let trapping = vec![self.trapping; n.len()];
        let none = vec![0.0; n.len()];
        let s = self.carrier(&trapping, &none).step(n, nt, v, h, dt, theta);
        (s.mobile, s.trapped, s.fluxes)
    }

    /// Solves on `cells` cells with time steps of at most `dt`, recording at `times`
    /// (positive, increasing; each interval is split into equal steps).
    ///
    /// # Errors
    /// Parameters outside their ranges (non-positive diffusivity, length, mobility or step;
    /// negative rates or injection; non-finite values), fewer than 2 cells, and output times
    /// that are not positive and increasing.
    pub fn solve(&self, cells: usize, dt: f64, times: &[f64]) -> Result<Solution> {
        self.validate(cells, dt, times)?;
        let h = self.length / cells as f64;
        let x: Vec<f64> = (0..cells).map(|i| (i as f64 + 0.5) * h).collect();
        let mut n = vec![0.0; cells];
        let mut nt = vec![0.0; cells];
        let (mut injected, mut extracted) = (0.0, 0.0);
        let mut out = Solution {
            x,
            times: times.to_vec(),
            mobile: DMatrix::zeros(times.len(), cells),
            trapped: DMatrix::zeros(times.len(), cells),
            stored: Vec::with_capacity(times.len()),
            injected: Vec::with_capacity(times.len()),
            extracted: Vec::with_capacity(times.len()),
            current: Vec::with_capacity(times.len()),
        };
        let (mut t, mut steps_done) = (0.0, 0usize);
        for (k, &target) in times.iter().enumerate() {
            let count = ((target - t) / dt).ceil().max(1.0) as usize;
            let tau = (target - t) / count as f64;
            let mut current = 0.0;
            for _ in 0..count {
                // Rannacher's start: the first two steps as four implicit-Euler half steps.
                let (sub, theta) = if steps_done < 2 { (2, 1.0) } else { (1, 0.5) };
                let mut fluxes_sum = vec![0.0; cells + 1];
                for _ in 0..sub {
                    let step = tau / sub as f64;
                    let v = self.midpoint_velocities(&n, &nt, h, step, theta);
                    let (n1, nt1, fluxes) = self.step(&n, &nt, &v, h, step, theta);
                    n = n1;
                    nt = nt1;
                    injected += step * fluxes[0];
                    extracted += step * fluxes[cells];
                    for (s, f) in fluxes_sum.iter_mut().zip(&fluxes) {
                        *s += f / sub as f64;
                    }
                }
                // Sato: the trapezoid average of the face fluxes over the thickness.
                current = h
                    * (0.5 * (fluxes_sum[0] + fluxes_sum[cells])
                        + fluxes_sum[1..cells].iter().sum::<f64>())
                    / self.length;
                steps_done += 1;
            }
            t = target;
            for i in 0..cells {
                out.mobile[(k, i)] = n[i];
                out.trapped[(k, i)] = nt[i];
            }
            out.stored
                .push(h * (n.iter().sum::<f64>() + nt.iter().sum::<f64>()));
            out.injected.push(injected);
            out.extracted.push(extracted);
            out.current.push(current);
        }
        Ok(out)
    }

    /// The velocities of a step: constant, or from the field at the step's midpoint (a first
    /// solve with the current field predicts the end of the step).
    fn midpoint_velocities(&self, n: &[f64], nt: &[f64], h: f64, dt: f64, theta: f64) -> Vec<f64> {
        let net =
            |n: &[f64], nt: &[f64]| -> Vec<f64> { n.iter().zip(nt).map(|(a, b)| a + b).collect() };
        let now = self.velocities(&net(n, nt), h);
        if matches!(self.field, Field::Constant(_)) {
            return now;
        }
        let (n1, nt1, _) = self.step(n, nt, &now, h, dt, theta);
        let end = self.velocities(&net(&n1, &nt1), h);
        now.iter().zip(&end).map(|(a, b)| 0.5 * (a + b)).collect()
    }
}

/// A parameter of [`Transport`] that a [`LogModel`] varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parameter {
    /// The constant velocity (model a) or the mobility (model b).
    Drift,
    /// $D$.
    Diffusivity,
    /// $k_{tr}$.
    Trapping,
    /// $k_{dt}$.
    Detrapping,
    /// $n_0$.
    Injection,
}

/// The solver as a core [`Model`](uqforge_core::Model) of the logarithms of chosen parameters
/// (they span decades, so sensitivity studies vary them log-uniformly): the outputs are the
/// external current at each output time, then the stored charge at the last one.
///
/// ```
/// use uqforge_core::Model;
/// use uqforge_pinn::charge::{Field, LogModel, Parameter, Transport};
///
/// let base = Transport { field: Field::Poisson { mobility: 1.0, voltage: 1.0 },
///     diffusivity: 0.01, trapping: 1.0, detrapping: 0.1, injection: 1.0, length: 1.0 };
/// let model = LogModel::new(base, vec![Parameter::Drift, Parameter::Trapping], 100, 0.01,
///     vec![0.5, 1.0])?;
/// let mut y = [0.0; 3];
/// model.eval(&[0.0, 0.0], &mut y)?; // mobility e^0 = 1, trapping e^0 = 1
/// let direct = base.solve(100, 0.01, &[0.5, 1.0])?;
/// assert_eq!(y, [direct.current[0], direct.current[1], direct.stored[1]]);
/// # Ok::<(), uqforge_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LogModel {
    base: Transport,
    varied: Vec<Parameter>,
    cells: usize,
    dt: f64,
    times: Vec<f64>,
}

impl LogModel {
    /// The model varying `varied` (each at most once) around `base`, solved on `cells` cells
    /// with steps of at most `dt` up to the output `times`.
    ///
    /// # Errors
    /// As [`Transport::solve`] for the base model, no varied parameter, or one twice.
    pub fn new(
        base: Transport,
        varied: Vec<Parameter>,
        cells: usize,
        dt: f64,
        times: Vec<f64>,
    ) -> Result<Self> {
        base.validate(cells, dt, &times)?;
        check_varied(&varied)?;
        Ok(Self {
            base,
            varied,
            cells,
            dt,
            times,
        })
    }

    /// The transport model at log parameters `x` (the others from the base).
    pub fn at(&self, x: &[f64]) -> Transport {
        let mut m = self.base;
        for (p, &value) in self.varied.iter().zip(x) {
            let value = value.exp();
            match p {
                Parameter::Drift => {
                    m.field = match m.field {
                        Field::Constant(_) => Field::Constant(value),
                        Field::Poisson { voltage, .. } => Field::Poisson {
                            mobility: value,
                            voltage,
                        },
                    }
                }
                Parameter::Diffusivity => m.diffusivity = value,
                Parameter::Trapping => m.trapping = value,
                Parameter::Detrapping => m.detrapping = value,
                Parameter::Injection => m.injection = value,
            }
        }
        m
    }
}

impl uqforge_core::Model for LogModel {
    fn input_dim(&self) -> usize {
        self.varied.len()
    }

    fn output_dim(&self) -> usize {
        self.times.len() + 1
    }

    fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        let s = self.at(x).solve(self.cells, self.dt, &self.times)?;
        let last = self.times.len() - 1;
        y[..=last].copy_from_slice(&s.current);
        y[last + 1] = s.stored[last];
        Ok(())
    }
}

/// At least one varied parameter, none twice.
fn check_varied<P: PartialEq + std::fmt::Debug>(varied: &[P]) -> Result<()> {
    validate::non_empty("varied parameters", varied)?;
    for (i, p) in varied.iter().enumerate() {
        if varied[..i].contains(p) {
            return Err(Error::invalid_parameter(
                "varied parameters",
                format!("{p:?} appears twice"),
            ));
        }
    }
    Ok(())
}

/// At least 2 cells, a positive step, and output times positive and increasing.
fn check_grid(cells: usize, dt: f64, times: &[f64]) -> Result<()> {
    validate::at_least("cells", cells, 2)?;
    validate::positive("dt", dt)?;
    validate::non_empty("output times", times)?;
    validate::finite("output times", times)?;
    let mut previous = 0.0;
    for &t in times {
        if t <= previous {
            return Err(Error::invalid_parameter(
                "output times",
                format!("must be positive and increasing, got {t} after {previous}"),
            ));
        }
        previous = t;
    }
    Ok(())
}

/// How carriers enter at face 0 of their frame.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Inflow {
    /// A given density at the electrode (Dirichlet), reached through the half cell.
    Density(f64),
    /// A given flux (Schottky injection).
    Flux(f64),
}

/// One carrier species for a step, in its own frame: injected at face 0, leaving freely at
/// face $N$; per-cell rates (trapping, and the recombination losses of mobile and trapped
/// carriers, all linear in the carrier's own density for the step).
pub(crate) struct Carrier<'a> {
    pub(crate) diffusivity: f64,
    pub(crate) inflow: Inflow,
    pub(crate) trapping: &'a [f64],
    pub(crate) detrapping: f64,
    pub(crate) mobile_loss: &'a [f64],
    pub(crate) trapped_loss: &'a [f64],
}

/// What a carrier's step returns.
pub(crate) struct Stepped {
    pub(crate) mobile: Vec<f64>,
    pub(crate) trapped: Vec<f64>,
    /// Time-averaged face fluxes.
    pub(crate) fluxes: Vec<f64>,
    /// Carriers removed by recombination over the step (per unit area).
    pub(crate) recombined: f64,
}

impl Carrier<'_> {
    fn fluxes(&self, v: &[f64], h: f64) -> Fluxes {
        let cells = v.len() - 1;
        let d = self.diffusivity;
        let mut a = vec![0.0; cells + 1];
        let mut c = vec![0.0; cells + 1];
        if let Inflow::Density(_) = self.inflow {
            // Half cell between the injected value and the first centre.
            let p0 = v[0] * 0.5 * h / d;
            a[0] = 2.0 * d / h * bernoulli(-p0);
            c[0] = -2.0 * d / h * bernoulli(p0);
        }
        for f in 1..cells {
            let p = v[f] * h / d;
            a[f] = d / h * bernoulli(-p);
            c[f] = -d / h * bernoulli(p);
        }
        // Free outflow: what arrives is extracted, nothing comes back in.
        a[cells] = v[cells].max(0.0);
        c[cells] = 0.0;
        Fluxes { a, c }
    }

    /// The flux through face 0 that does not depend on the first cell.
    fn inflow_constant(&self, fl: &Fluxes) -> f64 {
        match self.inflow {
            Inflow::Density(n0) => fl.a[0] * n0,
            Inflow::Flux(j) => j,
        }
    }

    /// $F_f$ for densities `n`.
    fn face_fluxes(&self, fl: &Fluxes, n: &[f64]) -> Vec<f64> {
        let cells = n.len();
        (0..=cells)
            .map(|f| match f {
                0 => self.inflow_constant(fl) + fl.c[0] * n[0],
                f if f == cells => fl.a[f] * n[f - 1],
                f => fl.a[f] * n[f - 1] + fl.c[f] * n[f],
            })
            .collect()
    }

    /// One θ-step of length `dt` from `(n, nt)` with face velocities `v`.
    fn step(&self, n: &[f64], nt: &[f64], v: &[f64], h: f64, dt: f64, theta: f64) -> Stepped {
        let cells = n.len();
        let fl = self.fluxes(v, h);
        let old = self.face_fluxes(&fl, n);
        let kd = self.detrapping;
        // Per cell, n_t' = alpha n_t + beta (theta n' + (1 - theta) n), from
        // (n_t' - n_t)/dt = kt n^theta - (kd + rt) n_t^theta.
        let decay: Vec<f64> = self.trapped_loss.iter().map(|rt| kd + rt).collect();
        let alpha: Vec<f64> = decay
            .iter()
            .map(|g| (1.0 - (1.0 - theta) * dt * g) / (1.0 + theta * dt * g))
            .collect();
        let beta: Vec<f64> = (0..cells)
            .map(|i| dt * self.trapping[i] / (1.0 + theta * dt * decay[i]))
            .collect();
        // Cell i: h (n'_i - n_i)/dt = theta R(n') + (1 - theta) R(n), with
        // R_i(n) = F_{i} - F_{i+1} - h (kt_i + rm_i) n_i + h kd nt_i (faces i and i + 1 bound
        // cell i).
        let mut lower = vec![0.0; cells];
        let mut diag = vec![0.0; cells];
        let mut upper = vec![0.0; cells];
        let mut rhs = vec![0.0; cells];
        for i in 0..cells {
            let sink = self.trapping[i] + self.mobile_loss[i];
            // d R_i / d n_{i-1}, n_i, n_{i+1}.
            let left = if i > 0 { fl.a[i] } else { 0.0 };
            let centre = fl.c[i] - fl.a[i + 1] - h * sink;
            let right = if i + 1 < cells { -fl.c[i + 1] } else { 0.0 };
            let constant = if i == 0 {
                self.inflow_constant(&fl)
            } else {
                0.0
            };
            let r_old = old[i] - old[i + 1] - h * sink * n[i] + h * kd * nt[i];
            // Detrapping at the new level: kd (alpha nt + beta (theta n' + (1-theta) n)).
            let detrap_new_const = h * kd * (alpha[i] * nt[i] + beta[i] * (1.0 - theta) * n[i]);
            let detrap_new_diag = h * kd * beta[i] * theta;
            lower[i] = -theta * left;
            diag[i] = h / dt - theta * (centre + detrap_new_diag);
            upper[i] = -theta * right;
            rhs[i] = h / dt * n[i] + theta * (constant + detrap_new_const) + (1.0 - theta) * r_old;
        }
        let new = thomas(&lower, &diag, &upper, &mut rhs);
        let nt_new: Vec<f64> = (0..cells)
            .map(|i| alpha[i] * nt[i] + beta[i] * (theta * new[i] + (1.0 - theta) * n[i]))
            .collect();
        let fresh = self.face_fluxes(&fl, &new);
        let fluxes = old
            .iter()
            .zip(&fresh)
            .map(|(o, f)| theta * f + (1.0 - theta) * o)
            .collect();
        let recombined = dt
            * h
            * (0..cells)
                .map(|i| {
                    self.mobile_loss[i] * (theta * new[i] + (1.0 - theta) * n[i])
                        + self.trapped_loss[i] * (theta * nt_new[i] + (1.0 - theta) * nt[i])
                })
                .sum::<f64>();
        Stepped {
            mobile: new,
            trapped: nt_new,
            fluxes,
            recombined,
        }
    }
}

/// Solves the tridiagonal system (`lower[0]` and `upper[last]` unused) by Thomas' algorithm;
/// the matrices here are diagonally dominant (M-matrices), so no pivoting is needed.
fn thomas(lower: &[f64], diag: &[f64], upper: &[f64], rhs: &mut [f64]) -> Vec<f64> {
    let n = diag.len();
    let mut c = vec![0.0; n];
    let mut d = diag[0];
    c[0] = upper[0] / d;
    rhs[0] /= d;
    for i in 1..n {
        d = diag[i] - lower[i] * c[i - 1];
        c[i] = upper[i] / d;
        rhs[i] = (rhs[i] - lower[i] * rhs[i - 1]) / d;
    }
    for i in (0..n - 1).rev() {
        rhs[i] -= c[i] * rhs[i + 1];
    }
    rhs.to_vec()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::diffusion::adr_exact;

    const ADR: Transport = Transport {
        field: Field::Constant(1.0),
        diffusivity: 0.01,
        trapping: 0.5,
        detrapping: 0.0,
        injection: 1.0,
        length: 1.5,
    };

    /// Relative L2 distance to the closed form of model (a) at output `k`.
    fn adr_error(s: &Solution, k: usize) -> f64 {
        let (mut e2, mut n2) = (0.0, 0.0);
        for (i, &x) in s.x.iter().enumerate() {
            let exact = adr_exact(s.times[k], x, 1.0, 0.01, 0.5, 1.0);
            e2 += (s.mobile[(k, i)] - exact).powi(2);
            n2 += exact * exact;
        }
        (e2 / n2).sqrt()
    }

    #[test]
    fn model_a_matches_its_closed_form_at_second_order() {
        // Front at x = 0.5 by t = 0.5; the outflow boundary at 1.5 is 7 diffusion lengths away.
        let errors: Vec<f64> = [300, 600, 1200, 2400]
            .iter()
            .map(|&cells| {
                let s = ADR.solve(cells, 1.5 / cells as f64, &[0.2, 0.5]).unwrap();
                adr_error(&s, 1).max(adr_error(&s, 0))
            })
            .collect();
        assert!(errors[3] < 1e-4, "{errors:?}");
        for w in errors.windows(2) {
            let order = (w[0] / w[1]).log2();
            assert!(
                (1.8..2.2).contains(&order),
                "observed order {order} in {errors:?}"
            );
        }
    }

    fn unipolar(trapping: f64, detrapping: f64, injection: f64, diffusivity: f64) -> Transport {
        Transport {
            field: Field::Poisson {
                mobility: 1.0,
                voltage: 1.0,
            },
            diffusivity,
            trapping,
            detrapping,
            injection,
            length: 1.0,
        }
    }

    #[test]
    fn model_b_conserves_charge_and_converges_at_second_order() {
        let m = unipolar(2.0, 0.3, 1.0, 0.01);
        let fine = m.solve(3200, 1.0 / 3200.0, &[0.5]).unwrap();
        let reference = fine.net(0);
        let mut previous = f64::NAN;
        for cells in [200, 400, 800] {
            let s = m.solve(cells, 1.0 / cells as f64, &[0.25, 0.5]).unwrap();
            for k in 0..2 {
                // Stored = injected - extracted, to rounding.
                let balance = s.stored[k] - (s.injected[k] - s.extracted[k]);
                assert!(balance.abs() < 1e-12 * s.injected[k], "{balance}");
                assert!(s.trapped.row(k).iter().all(|&v| v >= 0.0));
            }
            let f = 3200 / cells;
            let net = s.net(1);
            let (mut e2, mut n2) = (0.0, 0.0);
            for i in 0..cells {
                let avg = reference[i * f..(i + 1) * f].iter().sum::<f64>() / f as f64;
                e2 += (net[i] - avg).powi(2);
                n2 += avg * avg;
            }
            let error = (e2 / n2).sqrt();
            if previous.is_finite() {
                let order = (previous / error).log2();
                assert!(order > 1.8, "order {order} at {cells} cells");
            }
            previous = error;
        }
    }

    #[test]
    fn model_b_reaches_the_mott_gurney_current() {
        // Strong injection, negligible diffusion, no traps: the space-charge-limited current
        // J = 9/8 mu V^2 / L^3 (Mott and Gurney 1940), here within 0.5%.
        let s = unipolar(0.0, 0.0, 30.0, 1e-5)
            .solve(1600, 2e-3, &[6.0])
            .unwrap();
        assert!(
            (s.current[0] / 1.125 - 1.0).abs() < 5e-3,
            "{}",
            s.current[0]
        );
    }

    #[test]
    fn trapping_alone_follows_its_rate_equation() {
        // No velocity: the outflow face extracts nothing, so the steady state holds the
        // injected density everywhere, and the trap balance kt n = kd n_t sets n_t = 3 n.
        let m = Transport {
            field: Field::Constant(0.0),
            diffusivity: 1.0,
            trapping: 3.0,
            detrapping: 1.0,
            injection: 1.0,
            length: 0.2,
        };
        let s = m.solve(40, 1e-3, &[20.0]).unwrap();
        // Steady state: n = 1 everywhere (no flux), n_t = kt/kd n = 3.
        for i in 0..40 {
            assert!(
                (s.mobile[(0, i)] - 1.0).abs() < 1e-6,
                "{}",
                s.mobile[(0, i)]
            );
            assert!(
                (s.trapped[(0, i)] - 3.0).abs() < 1e-5,
                "{}",
                s.trapped[(0, i)]
            );
        }
    }

    #[test]
    fn log_model_maps_its_inputs_and_refuses_bad_ones() {
        use uqforge_core::Model;
        let base = unipolar(1.0, 0.1, 1.0, 0.01);
        let varied = vec![
            Parameter::Drift,
            Parameter::Diffusivity,
            Parameter::Detrapping,
        ];
        let m = LogModel::new(base, varied, 50, 0.02, vec![0.3, 0.6]).unwrap();
        let x = [0.5_f64.ln(), 0.02_f64.ln(), 0.4_f64.ln()];
        let moved = m.at(&x);
        assert_eq!(
            moved.field,
            Field::Poisson {
                mobility: 0.5,
                voltage: 1.0
            }
        );
        assert!((moved.diffusivity - 0.02).abs() < 1e-15 && (moved.detrapping - 0.4).abs() < 1e-15);
        assert_eq!(moved.trapping, 1.0);
        let mut y = [0.0; 3];
        m.eval_checked(&x, &mut y).unwrap();
        let direct = moved.solve(50, 0.02, &[0.3, 0.6]).unwrap();
        assert_eq!(y, [direct.current[0], direct.current[1], direct.stored[1]]);
        // A slower carrier carries less current.
        let mut slow = [0.0; 3];
        m.eval(&[0.25_f64.ln(), x[1], x[2]], &mut slow).unwrap();
        assert!(slow[1] < y[1]);
        assert!(m.eval_checked(&x[..2], &mut y).is_err());
        assert!(LogModel::new(base, vec![], 50, 0.02, vec![0.3]).is_err());
        let twice = vec![Parameter::Trapping, Parameter::Trapping];
        assert!(LogModel::new(base, twice, 50, 0.02, vec![0.3]).is_err());
        assert!(LogModel::new(base, vec![Parameter::Trapping], 50, 0.02, vec![]).is_err());
    }

    #[test]
    fn bad_input_is_refused() {
        let ok = ADR;
        assert!(ok.solve(1, 0.1, &[1.0]).is_err());
        assert!(ok.solve(10, 0.0, &[1.0]).is_err());
        assert!(ok.solve(10, 0.1, &[]).is_err());
        assert!(ok.solve(10, 0.1, &[0.5, 0.2]).is_err());
        assert!(ok.solve(10, 0.1, &[f64::NAN]).is_err());
        for bad in [
            Transport {
                diffusivity: 0.0,
                ..ok
            },
            Transport {
                trapping: -1.0,
                ..ok
            },
            Transport {
                length: f64::INFINITY,
                ..ok
            },
            Transport {
                field: Field::Constant(f64::NAN),
                ..ok
            },
            Transport {
                field: Field::Poisson {
                    mobility: 0.0,
                    voltage: 1.0,
                },
                ..ok
            },
        ] {
            assert!(bad.solve(10, 0.1, &[1.0]).is_err(), "{bad:?}");
        }
    }
}
