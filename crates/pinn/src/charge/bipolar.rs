//! Model (c): bipolar charge transport, electrons and holes, mobile and trapped, with
//! recombination and Schottky injection (the fluid model of Le Roy, Teyssèdre, Laurent and
//! co-authors, J. Phys. D 2004 and 2006, non-dimensional, $\varepsilon = 1$).
//!
//! **Model.** Electrons ($e$, charge $-1$) enter at the cathode $x = 0$, holes ($h$, charge
//! $+1$) at the anode $x = L$, held at potential $V > 0$ above the cathode. For each species
//! $s$ with mobile density $n_s$ and trapped density $m_s$,
//! $$
//! \partial_t n_s + \partial_x(v_s n_s) = D_s\partial_x^2 n_s - B_s n_s(1 - m_s/N_s) +
//! k_s m_s - R_s,\qquad
//! \partial_t m_s = B_s n_s(1 - m_s/N_s) - k_s m_s - R_s^t,
//! $$
//! with velocities $v_e = -\mu_e E$ and $v_h = \mu_h E$, the field from
//! $\partial_x E = n_h + m_h - n_e - m_e$ and $\int_0^L E dx = -V$, trap densities $N_s$
//! (trapping saturates as the traps fill) and the recombination of Le Roy et al.,
//! $$
//! R_e = S_1 n_e m_h + S_3 n_e n_h,\quad R_e^t = S_0 m_e m_h + S_2 m_e n_h,\quad
//! R_h = S_2 m_e n_h + S_3 n_e n_h,\quad R_h^t = S_0 m_e m_h + S_1 n_e m_h.
//! $$
//! Injection is a flux through the electrode, Schottky's
//! $j_s = a_s\exp(\beta\sqrt{|E|})$ at the field of that electrode, or a given density there
//! (as model b); carriers leave freely at the opposite electrode. The external current is
//! Sato's average of the conduction current, $J = L^{-1}\int_0^L (F_e - F_h)dx$ with $F_s$ the
//! particle fluxes along $x$, positive from anode to cathode.
//!
//! **Scheme.** That of [`crate::charge`], species by species: holes are solved in the mirrored
//! frame $y = L - x$, where they too enter at 0 and drift forward. The couplings (field,
//! trap filling, recombination, Schottky fluxes) are linearised for a step: a predictor step
//! with the coefficients of the start gives the end, and the step is taken again with the
//! coefficients of the average of start and end (second order, as model b's field). Each
//! species' charge balance holds to rounding with its own recombination tally; the two
//! tallies differ by the linearisation's $O(\Delta t^2)$.
//!
//! ```
//! use uqforge_pinn::charge::bipolar::{Bipolar, Injection};
//!
//! let model = Bipolar {
//!     mobility: [1.0, 0.5], diffusivity: [0.01, 0.01], trapping: [1.0, 1.0],
//!     trap_density: [5.0, 5.0], detrapping: [0.05, 0.05], recombination: [1.0; 4],
//!     injection: Injection::Schottky { rate: [0.2, 0.1], beta: 0.5 }, voltage: 1.0,
//!     length: 1.0,
//! };
//! let s = model.solve(200, 0.01, &[0.5, 1.0])?;
//! // Electrons stored = injected - extracted - recombined, to rounding.
//! let e = s.stored[0][1] - (s.injected[0][1] - s.extracted[0][1] - s.recombined[0][1]);
//! assert!(e.abs() < 1e-12);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use super::{Carrier, Inflow};

/// How carriers enter (in JSON: `{"schottky": {"rate": [a_e, a_h], "beta": b}}` or
/// `{"density": [n_e, n_h]}`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Injection {
    /// Schottky's flux $a_s\exp(\beta\sqrt{|E|})$ at each electrode (electrons, holes).
    Schottky {
        /// $a_e$, $a_h$ (>= 0).
        rate: [f64; 2],
        /// $\beta \ge 0$ (0: a constant flux).
        beta: f64,
    },
    /// Given densities at the electrodes (electrons at the cathode, holes at the anode).
    Density([f64; 2]),
}

/// The bipolar model; two-element arrays are (electrons, holes). It reads from and writes to
/// JSON with the field names below (an infinite trap density has no JSON form: give a large
/// one).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bipolar {
    /// Mobilities $\mu_s > 0$.
    pub mobility: [f64; 2],
    /// Diffusivities $D_s > 0$.
    pub diffusivity: [f64; 2],
    /// Trapping rates $B_s \ge 0$.
    pub trapping: [f64; 2],
    /// Trap densities $N_s > 0$ (`f64::INFINITY`: traps never fill).
    pub trap_density: [f64; 2],
    /// Detrapping rates $k_s \ge 0$.
    pub detrapping: [f64; 2],
    /// Recombination coefficients $S_0$ (trapped e, trapped h), $S_1$ (mobile e, trapped h),
    /// $S_2$ (trapped e, mobile h), $S_3$ (mobile e, mobile h), all >= 0.
    pub recombination: [f64; 4],
    /// Injection at the electrodes.
    pub injection: Injection,
    /// Applied voltage $V > 0$ of the anode ($x = L$) above the cathode.
    pub voltage: f64,
    /// Thickness $L > 0$.
    pub length: f64,
}

/// Profiles, balances and current of a bipolar run; pairs are (electrons, holes).
#[derive(Clone, Debug, PartialEq)]
pub struct BipolarSolution {
    /// Cell centres.
    pub x: Vec<f64>,
    /// The output times.
    pub times: Vec<f64>,
    /// Mobile densities, one row per output time, one column per cell.
    pub mobile: [DMatrix<f64>; 2],
    /// Trapped densities, same layout.
    pub trapped: [DMatrix<f64>; 2],
    /// Stored carriers $h\sum(n_s + m_s)$ at each output time.
    pub stored: Vec<[f64; 2]>,
    /// Carriers injected since $t = 0$.
    pub injected: Vec<[f64; 2]>,
    /// Carriers extracted at the opposite electrode since $t = 0$.
    pub extracted: Vec<[f64; 2]>,
    /// Carriers lost to recombination since $t = 0$ (each species' own tally).
    pub recombined: Vec<[f64; 2]>,
    /// External current $J$ averaged over the last step before each output time.
    pub current: Vec<f64>,
}

impl BipolarSolution {
    /// Net charge density $n_h + m_h - n_e - m_e$ at output time `k` (what PEA sees).
    pub fn net(&self, k: usize) -> Vec<f64> {
        (0..self.x.len())
            .map(|i| {
                self.mobile[1][(k, i)] + self.trapped[1][(k, i)]
                    - self.mobile[0][(k, i)]
                    - self.trapped[0][(k, i)]
            })
            .collect()
    }
}

/// The state of both species, each in its own frame (holes mirrored).
#[derive(Clone)]
struct State {
    n: [Vec<f64>; 2],
    m: [Vec<f64>; 2],
}

/// Per-step coefficients of both species, each in its own frame.
struct Coefficients {
    velocity: [Vec<f64>; 2],
    inflow: [Inflow; 2],
    trapping: [Vec<f64>; 2],
    mobile_loss: [Vec<f64>; 2],
    trapped_loss: [Vec<f64>; 2],
}

fn mirrored(v: &[f64]) -> Vec<f64> {
    v.iter().rev().copied().collect()
}

impl Bipolar {
    /// The non-dimensional reference case of the crate's docs, tests and CLI: mobilities 1
    /// and 0.5, diffusivities 0.01, trapping rates 1, trap densities 5, release rates 0.05,
    /// recombination coefficients 1, Schottky injection with rates 0.2 and 0.1 and
    /// $\beta = 0.5$, at this voltage and thickness.
    pub fn reference(voltage: f64, length: f64) -> Self {
        Self {
            mobility: [1.0, 0.5],
            diffusivity: [0.01; 2],
            trapping: [1.0; 2],
            trap_density: [5.0; 2],
            detrapping: [0.05; 2],
            recombination: [1.0; 4],
            injection: Injection::Schottky {
                rate: [0.2, 0.1],
                beta: 0.5,
            },
            voltage,
            length,
        }
    }

    fn validate(&self, cells: usize, dt: f64, times: &[f64]) -> Result<()> {
        for s in 0..2 {
            validate::positive("mobility", self.mobility[s])?;
            validate::positive("diffusivity", self.diffusivity[s])?;
            validate::in_range("trapping", self.trapping[s], 0.0, f64::MAX)?;
            validate::in_range("detrapping", self.detrapping[s], 0.0, f64::MAX)?;
            if self.trap_density[s].is_nan() || self.trap_density[s] <= 0.0 {
                return Err(Error::invalid_parameter(
                    "trap_density",
                    format!("must be > 0 (or infinite), got {}", self.trap_density[s]),
                ));
            }
        }
        for &r in &self.recombination {
            validate::in_range("recombination", r, 0.0, f64::MAX)?;
        }
        match self.injection {
            Injection::Schottky { rate, beta } => {
                for r in rate {
                    validate::in_range("injection rate", r, 0.0, f64::MAX)?;
                }
                validate::in_range("beta", beta, 0.0, f64::MAX)?;
            }
            Injection::Density(d) => {
                for v in d {
                    validate::in_range("injected density", v, 0.0, f64::MAX)?;
                }
            }
        }
        validate::positive("voltage", self.voltage)?;
        validate::positive("length", self.length)?;
        // Cells, step and times as for one carrier.
        super::check_grid(cells, dt, times)
    }

    /// The field at the faces (in $x$) from a state.
    fn field(&self, st: &State, h: f64) -> Vec<f64> {
        let cells = st.n[0].len();
        let mut e = vec![0.0; cells + 1];
        for i in 0..cells {
            // Holes are stored mirrored: cell i of x is cell cells - 1 - i of theirs.
            let j = cells - 1 - i;
            let rho = st.n[1][j] + st.m[1][j] - st.n[0][i] - st.m[0][i];
            e[i + 1] = e[i] + h * rho;
        }
        let integral: f64 = (0..cells).map(|i| 0.5 * h * (e[i] + e[i + 1])).sum();
        let e0 = (-self.voltage - integral) / self.length;
        e.iter().map(|&ei| ei + e0).collect()
    }

    fn coefficients(&self, st: &State, h: f64) -> Coefficients {
        let e = self.field(st, h);
        let cells = st.n[0].len();
        // Electrons: v = -mu_e E along x. Holes: v = mu_h E along x, so -mu_h E along y.
        let ve: Vec<f64> = e.iter().map(|&ei| -self.mobility[0] * ei).collect();
        let vh: Vec<f64> = mirrored(&e)
            .iter()
            .map(|&ei| -self.mobility[1] * ei)
            .collect();
        let inflow = match self.injection {
            Injection::Schottky { rate, beta } => [
                Inflow::Flux(rate[0] * (beta * e[0].abs().sqrt()).exp()),
                Inflow::Flux(rate[1] * (beta * e[cells].abs().sqrt()).exp()),
            ],
            Injection::Density(d) => [Inflow::Density(d[0]), Inflow::Density(d[1])],
        };
        let trapping = [0, 1].map(|s| {
            st.m[s]
                .iter()
                .map(|&m| self.trapping[s] * (1.0 - m / self.trap_density[s]).max(0.0))
                .collect()
        });
        // The other species at the same place.
        let [s0, s1, s2, s3] = self.recombination;
        let (ne, me) = (&st.n[0], &st.m[0]);
        let (nh, mh) = (mirrored(&st.n[1]), mirrored(&st.m[1]));
        let mobile_loss = [
            (0..cells).map(|i| s1 * mh[i] + s3 * nh[i]).collect(),
            mirrored(
                &(0..cells)
                    .map(|i| s2 * me[i] + s3 * ne[i])
                    .collect::<Vec<_>>(),
            ),
        ];
        let trapped_loss = [
            (0..cells).map(|i| s0 * mh[i] + s2 * nh[i]).collect(),
            mirrored(
                &(0..cells)
                    .map(|i| s0 * me[i] + s1 * ne[i])
                    .collect::<Vec<_>>(),
            ),
        ];
        Coefficients {
            velocity: [ve, vh],
            inflow,
            trapping,
            mobile_loss,
            trapped_loss,
        }
    }

    /// Both species one θ-step with coefficients `c`; returns the state, the time-averaged
    /// face fluxes (own frames) and the recombined carriers.
    fn step(
        &self,
        st: &State,
        c: &Coefficients,
        h: f64,
        dt: f64,
        theta: f64,
    ) -> (State, [Vec<f64>; 2], [f64; 2]) {
        let stepped = [0, 1].map(|s| {
            Carrier {
                diffusivity: self.diffusivity[s],
                inflow: c.inflow[s],
                trapping: &c.trapping[s],
                detrapping: self.detrapping[s],
                mobile_loss: &c.mobile_loss[s],
                trapped_loss: &c.trapped_loss[s],
            }
            .step(&st.n[s], &st.m[s], &c.velocity[s], h, dt, theta)
        });
        let [e, hole] = stepped;
        (
            State {
                n: [e.mobile, hole.mobile],
                m: [e.trapped, hole.trapped],
            },
            [e.fluxes, hole.fluxes],
            [e.recombined, hole.recombined],
        )
    }

    /// Solves on `cells` cells with time steps of at most `dt`, recording at `times`
    /// (positive, increasing; each interval is split into equal steps).
    ///
    /// # Errors
    /// Parameters outside their ranges (non-positive mobilities, diffusivities, trap
    /// densities, voltage, length or step; negative rates, coefficients or injection;
    /// non-finite values), fewer than 2 cells, and output times that are not positive and
    /// increasing.
    pub fn solve(&self, cells: usize, dt: f64, times: &[f64]) -> Result<BipolarSolution> {
        self.validate(cells, dt, times)?;
        let h = self.length / cells as f64;
        let mut st = State {
            n: [vec![0.0; cells], vec![0.0; cells]],
            m: [vec![0.0; cells], vec![0.0; cells]],
        };
        let zero = || DMatrix::zeros(times.len(), cells);
        let mut out = BipolarSolution {
            x: (0..cells).map(|i| (i as f64 + 0.5) * h).collect(),
            times: times.to_vec(),
            mobile: [zero(), zero()],
            trapped: [zero(), zero()],
            stored: Vec::with_capacity(times.len()),
            injected: Vec::with_capacity(times.len()),
            extracted: Vec::with_capacity(times.len()),
            recombined: Vec::with_capacity(times.len()),
            current: Vec::with_capacity(times.len()),
        };
        let (mut injected, mut extracted, mut recombined) = ([0.0; 2], [0.0; 2], [0.0; 2]);
        let (mut t, mut steps_done) = (0.0, 0usize);
        for (k, &target) in times.iter().enumerate() {
            let count = ((target - t) / dt).ceil().max(1.0) as usize;
            let tau = (target - t) / count as f64;
            let mut current = 0.0;
            for _ in 0..count {
                // Rannacher's start, as for one carrier.
                let (sub, theta) = if steps_done < 2 { (2, 1.0) } else { (1, 0.5) };
                let mut sums = [vec![0.0; cells + 1], vec![0.0; cells + 1]];
                for _ in 0..sub {
                    let step = tau / sub as f64;
                    // Predictor with the start's coefficients, then the step again with
                    // those of the average of start and predicted end.
                    let start = self.coefficients(&st, h);
                    let (end, _, _) = self.step(&st, &start, h, step, theta);
                    let middle = State {
                        n: [0, 1].map(|s| average(&st.n[s], &end.n[s])),
                        m: [0, 1].map(|s| average(&st.m[s], &end.m[s])),
                    };
                    let c = self.coefficients(&middle, h);
                    let (next, fluxes, lost) = self.step(&st, &c, h, step, theta);
                    st = next;
                    for s in 0..2 {
                        injected[s] += step * fluxes[s][0];
                        extracted[s] += step * fluxes[s][cells];
                        recombined[s] += lost[s];
                        for (acc, f) in sums[s].iter_mut().zip(&fluxes[s]) {
                            *acc += f / sub as f64;
                        }
                    }
                }
                // Sato: trapezoid average over the faces of F_e - F_h = F_e + G_h (mirrored).
                let face = |f: usize| sums[0][f] + sums[1][cells - f];
                current = h * (0.5 * (face(0) + face(cells)) + (1..cells).map(face).sum::<f64>())
                    / self.length;
                steps_done += 1;
            }
            t = target;
            for i in 0..cells {
                let j = cells - 1 - i;
                out.mobile[0][(k, i)] = st.n[0][i];
                out.trapped[0][(k, i)] = st.m[0][i];
                out.mobile[1][(k, i)] = st.n[1][j];
                out.trapped[1][(k, i)] = st.m[1][j];
            }
            out.stored.push(
                [0, 1].map(|s| h * (st.n[s].iter().sum::<f64>() + st.m[s].iter().sum::<f64>())),
            );
            out.injected.push(injected);
            out.extracted.push(extracted);
            out.recombined.push(recombined);
            out.current.push(current);
        }
        Ok(out)
    }
}

/// A parameter of the bipolar model (c); the index is 0 for electrons, 1 for holes, or the
/// recombination channel $S_0 \dots S_3$.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parameter {
    /// $\mu_s$.
    Mobility(usize),
    /// $D_s$.
    Diffusivity(usize),
    /// $B_s$.
    Trapping(usize),
    /// $N_s$.
    TrapDensity(usize),
    /// $k_s$.
    Detrapping(usize),
    /// $S_r$.
    Recombination(usize),
    /// $a_s$ (Schottky injection).
    InjectionRate(usize),
    /// $\beta$ (Schottky injection).
    Beta,
}

impl Parameter {
    /// Every parameter of a model with Schottky injection, in the order of [`Bipolar`]'s
    /// fields.
    pub const ALL: [Self; 17] = [
        Self::Mobility(0),
        Self::Mobility(1),
        Self::Diffusivity(0),
        Self::Diffusivity(1),
        Self::Trapping(0),
        Self::Trapping(1),
        Self::TrapDensity(0),
        Self::TrapDensity(1),
        Self::Detrapping(0),
        Self::Detrapping(1),
        Self::Recombination(0),
        Self::Recombination(1),
        Self::Recombination(2),
        Self::Recombination(3),
        Self::InjectionRate(0),
        Self::InjectionRate(1),
        Self::Beta,
    ];

    /// The short name: `mu_e`, `mu_h`, `D_e`, `D_h`, `B_e`, `B_h`, `N_e`, `N_h`, `k_e`,
    /// `k_h`, `S0` … `S3`, `a_e`, `a_h`, `beta` (the symbols of the module docs; an index out
    /// of range shows as a number).
    pub fn name(self) -> String {
        let species = |s: usize| match s {
            0 => "e".to_string(),
            1 => "h".to_string(),
            s => s.to_string(),
        };
        match self {
            Self::Mobility(s) => format!("mu_{}", species(s)),
            Self::Diffusivity(s) => format!("D_{}", species(s)),
            Self::Trapping(s) => format!("B_{}", species(s)),
            Self::TrapDensity(s) => format!("N_{}", species(s)),
            Self::Detrapping(s) => format!("k_{}", species(s)),
            Self::Recombination(r) => format!("S{r}"),
            Self::InjectionRate(s) => format!("a_{}", species(s)),
            Self::Beta => "beta".into(),
        }
    }

    /// The parameter of a [short name](Self::name).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a name that is none of them, listing the names.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<String> = Self::ALL.iter().map(|p| p.name()).collect();
                Error::invalid_parameter(
                    "bipolar parameter",
                    format!(
                        "unknown name {name:?}; expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }

    /// Its value in `model` (`None` where [`Bipolar`] has no such parameter).
    pub fn value(self, model: &Bipolar) -> Option<f64> {
        let mut m = *model;
        self.slot(&mut m).map(|v| *v)
    }

    /// Where the parameter lives in `model` (`None`: an index out of range, or a Schottky
    /// parameter of a model with density injection).
    pub(crate) fn slot(self, model: &mut Bipolar) -> Option<&mut f64> {
        match self {
            Self::Mobility(s) => model.mobility.get_mut(s),
            Self::Diffusivity(s) => model.diffusivity.get_mut(s),
            Self::Trapping(s) => model.trapping.get_mut(s),
            Self::TrapDensity(s) => model.trap_density.get_mut(s),
            Self::Detrapping(s) => model.detrapping.get_mut(s),
            Self::Recombination(r) => model.recombination.get_mut(r),
            Self::InjectionRate(s) => match &mut model.injection {
                Injection::Schottky { rate, .. } => rate.get_mut(s),
                Injection::Density(_) => None,
            },
            Self::Beta => match &mut model.injection {
                Injection::Schottky { beta, .. } => Some(beta),
                Injection::Density(_) => None,
            },
        }
    }
}

/// Model (c) as a core [`Model`](uqforge_core::Model) of the logarithms of chosen parameters,
/// for sensitivity studies and the Fisher information: the outputs are the external current at
/// each output time, then the stored net charge $h\sum(n_h + m_h - n_e - m_e)$ at the last.
///
/// ```
/// use uqforge_core::Model;
/// use uqforge_pinn::charge::bipolar::{Bipolar, Injection, LogBipolar, Parameter};
///
/// let base = Bipolar { mobility: [1.0, 0.5], diffusivity: [0.01; 2], trapping: [1.0; 2],
///     trap_density: [5.0; 2], detrapping: [0.05; 2], recombination: [1.0; 4],
///     injection: Injection::Schottky { rate: [0.2, 0.1], beta: 0.5 }, voltage: 1.0,
///     length: 1.0 };
/// let model = LogBipolar::new(base, vec![Parameter::Mobility(0), Parameter::Beta], 50, 0.02,
///     vec![0.5, 1.0])?;
/// let mut y = [0.0; 3];
/// model.eval(&[0.0, 0.5f64.ln()], &mut y)?; // mu_e = 1, beta = 0.5: the base itself
/// let direct = base.solve(50, 0.02, &[0.5, 1.0])?;
/// assert_eq!(&y[..2], &direct.current[..]);
/// # Ok::<(), uqforge_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LogBipolar {
    base: Bipolar,
    varied: Vec<Parameter>,
    cells: usize,
    dt: f64,
    times: Vec<f64>,
}

impl LogBipolar {
    /// The model varying `varied` (each at most once) around `base`, solved on `cells` cells
    /// with steps of at most `dt` up to the output `times`.
    ///
    /// # Errors
    /// As [`Bipolar::solve`] for the base model; no varied parameter, or one twice; a
    /// parameter the model does not have (an index beyond 1, or beyond 3 for recombination; a
    /// Schottky parameter with density injection) or whose base value is not positive (its
    /// logarithm is the input).
    pub fn new(
        base: Bipolar,
        varied: Vec<Parameter>,
        cells: usize,
        dt: f64,
        times: Vec<f64>,
    ) -> Result<Self> {
        base.validate(cells, dt, &times)?;
        super::check_varied(&varied)?;
        let mut probe = base;
        for p in &varied {
            let Some(&mut v) = p.slot(&mut probe) else {
                return Err(Error::invalid_parameter(
                    "varied parameters",
                    format!("the model has no {p:?}"),
                ));
            };
            if !(v > 0.0 && v.is_finite()) {
                return Err(Error::invalid_parameter(
                    "varied parameters",
                    format!("{p:?} is {v}; its logarithm needs a positive, finite value"),
                ));
            }
        }
        Ok(Self {
            base,
            varied,
            cells,
            dt,
            times,
        })
    }

    /// The logarithms of the varied parameters at the base.
    pub fn log_values(&self) -> Vec<f64> {
        let mut probe = self.base;
        self.varied
            .iter()
            .map(|p| p.slot(&mut probe).map_or(f64::NAN, |v| v.ln()))
            .collect()
    }

    /// The model at log parameters `x` (the others from the base).
    pub fn at(&self, x: &[f64]) -> Bipolar {
        let mut m = self.base;
        for (p, &v) in self.varied.iter().zip(x) {
            if let Some(slot) = p.slot(&mut m) {
                *slot = v.exp();
            }
        }
        m
    }
}

impl uqforge_core::Model for LogBipolar {
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
        let h = self.base.length / self.cells as f64;
        y[last + 1] = h * s.net(last).iter().sum::<f64>();
        Ok(())
    }
}

fn average(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::charge::{Field, Transport};

    fn model(injection: Injection) -> Bipolar {
        Bipolar {
            mobility: [1.0, 0.5],
            diffusivity: [0.01, 0.02],
            trapping: [1.0, 2.0],
            trap_density: [2.0, 3.0],
            detrapping: [0.1, 0.05],
            recombination: [0.5, 1.0, 1.5, 2.0],
            injection,
            voltage: 1.0,
            length: 1.0,
        }
    }

    /// Without holes, recombination or trap filling, the electrons are model (b) with the
    /// signs of charge and field flipped: the same densities and current.
    #[test]
    fn electrons_alone_are_model_b() {
        let b = Bipolar {
            trap_density: [f64::INFINITY; 2],
            recombination: [0.0; 4],
            injection: Injection::Density([1.0, 0.0]),
            ..model(Injection::Density([0.0; 2]))
        };
        let one = Transport {
            field: Field::Poisson {
                mobility: 1.0,
                voltage: 1.0,
            },
            diffusivity: 0.01,
            trapping: 1.0,
            detrapping: 0.1,
            injection: 1.0,
            length: 1.0,
        };
        let times = [0.3, 0.8];
        let s = b.solve(120, 0.01, &times).unwrap();
        let r = one.solve(120, 0.01, &times).unwrap();
        for k in 0..2 {
            for i in 0..120 {
                assert!((s.mobile[0][(k, i)] - r.mobile[(k, i)]).abs() < 1e-12);
                assert!((s.trapped[0][(k, i)] - r.trapped[(k, i)]).abs() < 1e-12);
                assert_eq!(s.mobile[1][(k, i)], 0.0);
            }
            assert!((s.current[k] - r.current[k]).abs() < 1e-12, "{s:?}");
        }
    }

    /// Equal electrons and holes: the holes are the electrons seen from the other electrode,
    /// and the net charge is odd about the middle.
    #[test]
    fn symmetric_carriers_give_mirrored_profiles() {
        let mut b = model(Injection::Schottky {
            rate: [0.3, 0.3],
            beta: 0.7,
        });
        b.mobility = [0.8; 2];
        b.diffusivity = [0.01; 2];
        b.trapping = [1.0; 2];
        b.trap_density = [2.0; 2];
        b.detrapping = [0.1; 2];
        b.recombination = [0.5, 1.0, 1.0, 2.0];
        let s = b.solve(100, 0.01, &[0.4, 1.2]).unwrap();
        for k in 0..2 {
            let net = s.net(k);
            for i in 0..100 {
                let j = 99 - i;
                assert!((s.mobile[0][(k, i)] - s.mobile[1][(k, j)]).abs() < 1e-12);
                assert!((s.trapped[0][(k, i)] - s.trapped[1][(k, j)]).abs() < 1e-12);
                assert!((net[i] + net[j]).abs() < 1e-12);
            }
            assert!(s.current[k] > 0.0);
            assert!((s.recombined[k][0] - s.recombined[k][1]).abs() < 1e-12);
        }
        assert!(s.recombined[1][0] > 0.0);
    }

    /// Each species' balance holds to rounding, and the two recombination tallies agree up to
    /// the linearisation error, which shrinks at second order with the step.
    #[test]
    fn charge_balances_and_recombination_tallies() {
        let b = model(Injection::Schottky {
            rate: [0.3, 0.2],
            beta: 0.5,
        });
        let mut gaps = Vec::new();
        for dt in [0.02, 0.01, 0.005] {
            let s = b.solve(100, dt, &[0.5, 1.5]).unwrap();
            for k in 0..2 {
                for sp in 0..2 {
                    let balance = s.injected[k][sp] - s.extracted[k][sp] - s.recombined[k][sp];
                    assert!((s.stored[k][sp] - balance).abs() < 1e-12, "{s:?}");
                }
            }
            assert!(s.recombined[1][0] > 0.01, "{:?}", s.recombined);
            gaps.push((s.recombined[1][0] - s.recombined[1][1]).abs());
        }
        assert!(
            gaps[0] / gaps[1] > 3.0 && gaps[1] / gaps[2] > 3.0,
            "{gaps:?}"
        );
        // Measured: 3.3e-7, 8.2e-8, 2.1e-8 of about 0.05 recombined.
        assert!(gaps[2] < 1e-7, "{gaps:?}");
    }

    #[test]
    fn traps_do_not_fill_beyond_their_density() {
        let mut b = model(Injection::Density([2.0, 2.0]));
        b.recombination = [0.0; 4];
        b.detrapping = [0.0; 2];
        b.trapping = [5.0; 2];
        let s = b.solve(50, 0.01, &[3.0]).unwrap();
        for sp in 0..2 {
            let most = s.trapped[sp].max();
            assert!(most <= b.trap_density[sp] * (1.0 + 1e-6), "{most}");
            assert!(most > 0.9 * b.trap_density[sp], "{most}");
        }
    }

    #[test]
    fn log_model_maps_its_inputs_and_refuses_what_it_cannot_vary() {
        let base = model(Injection::Schottky {
            rate: [0.3, 0.2],
            beta: 0.5,
        });
        let varied = vec![
            Parameter::Mobility(1),
            Parameter::Recombination(2),
            Parameter::Beta,
        ];
        let m = LogBipolar::new(base, varied.clone(), 20, 0.05, vec![0.5]).unwrap();
        let phi = m.log_values();
        assert_eq!(phi, [0.5f64.ln(), 1.5f64.ln(), 0.5f64.ln()]);
        let moved = m.at(&[0.0, 0.0, 2f64.ln()]);
        assert_eq!(moved.mobility, [1.0, 1.0]);
        assert_eq!(moved.recombination, [0.5, 1.0, 1.0, 2.0]);
        assert_eq!(
            moved.injection,
            Injection::Schottky {
                rate: [0.3, 0.2],
                beta: 2.0
            }
        );
        let dense = model(Injection::Density([1.0, 1.0]));
        let mut no_release = base;
        no_release.detrapping = [0.0, 0.05];
        for (b, v) in [
            (base, vec![Parameter::Beta, Parameter::Beta]),
            (base, vec![Parameter::Recombination(4)]),
            (base, vec![Parameter::Mobility(2)]),
            (dense, vec![Parameter::InjectionRate(0)]),
            (no_release, vec![Parameter::Detrapping(0)]),
            (base, vec![]),
        ] {
            assert!(LogBipolar::new(b, v, 20, 0.05, vec![0.5]).is_err());
        }
    }

    #[test]
    fn bad_parameters_are_refused() {
        let ok = model(Injection::Density([1.0, 1.0]));
        assert!(ok.solve(10, 0.1, &[0.5]).is_ok());
        let mut bad = Vec::new();
        for f in [
            |b: &mut Bipolar| b.mobility[0] = 0.0,
            |b: &mut Bipolar| b.diffusivity[1] = -1.0,
            |b: &mut Bipolar| b.trap_density[0] = 0.0,
            |b: &mut Bipolar| b.recombination[2] = -1.0,
            |b: &mut Bipolar| b.voltage = 0.0,
            |b: &mut Bipolar| b.detrapping[1] = f64::NAN,
            |b: &mut Bipolar| {
                b.injection = Injection::Schottky {
                    rate: [1.0, 1.0],
                    beta: -1.0,
                }
            },
        ] {
            let mut b = ok;
            f(&mut b);
            bad.push(b.solve(10, 0.1, &[0.5]).is_err());
        }
        assert!(bad.iter().all(|&e| e), "{bad:?}");
        assert!(ok.solve(1, 0.1, &[0.5]).is_err());
        assert!(ok.solve(10, 0.1, &[0.5, 0.2]).is_err());
    }
}
