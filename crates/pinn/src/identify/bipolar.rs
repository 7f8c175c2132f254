//! Identification of chosen parameters of the bipolar model (c) from net charge densities.
//!
//! **Problem.** Profiles of the net density $\rho = n_h + m_h - n_e - m_e$ (what a PEA
//! measurement sees) of the model of [`crate::charge::bipolar`], a model whose parameters are
//! all known but a chosen few, the unknowns. A network of inputs $(t, x)$ and five outputs,
//! $(n_e, m_e, n_h, m_h, \phi)$, and the unknowns (positive, trained as logarithms) minimise
//! the data misfit of $u_{n_h} + u_{m_h} - u_{n_e} - u_{m_e}$, the five residuals of
//! [`BipolarResidual`] at collocation points (both species' transport and trapping, and
//! Poisson's equation), the electrodes' potentials $\phi(t, 0) = 0$ and $\phi(t, L) = V$, the
//! injection at both electrodes (the Schottky fluxes of [`SchottkyFlux`], or given densities),
//! and, from rest (the default, for the reason given for model b in the
//! [parent module](super)), the empty insulator at $t = 0$.
//!
//! **What can be identified.** Of the seventeen parameters, the net density alone fixes only
//! some, and which ones depends on the design: recombination leaves no trace before the
//! electron and hole fronts meet, release none if it is slow on the experiment's time scale,
//! the two species' trapping only through the charge they leave behind. Choose the unknowns
//! with [`analyse_bipolar`] on a plausible model first; the report flags the unknowns and the
//! combinations whose Cramér–Rao relative deviation exceeds [`TOLERANCE`] at the estimate,
//! as for models (a) and (b).
//!
//! **One departure from the finite-volume model.** The scheme clips trapping at full traps,
//! $B_s n_s\max(0, 1 - m_s/N_s)$; the residual uses the smooth $B_s n_s(1 - m_s/N_s)$. They
//! agree wherever the traps are not over-full, which the true solution never is.
//!
//! ```no_run
//! use uqforge_pinn::charge::bipolar::{Bipolar, Injection, Parameter};
//! use uqforge_pinn::identify::bipolar::bipolar;
//! use uqforge_pinn::identify::{Settings, observations};
//!
//! let truth = Bipolar {
//!     mobility: [1.0, 0.5], diffusivity: [0.01; 2], trapping: [1.0; 2],
//!     trap_density: [5.0; 2], detrapping: [0.05; 2], recombination: [1.0; 4],
//!     injection: Injection::Schottky { rate: [0.2, 0.1], beta: 0.5 }, voltage: 1.0,
//!     length: 1.0,
//! };
//! let times: Vec<f64> = (1..=10).map(|i| 0.1 * i as f64).collect();
//! let s = truth.solve(400, 1e-3, &times)?;
//! let net = nalgebra::DMatrix::from_fn(times.len(), s.x.len(), |k, i| s.net(k)[i]);
//! let data = observations(&times, &s.x, &net)?;
//! // The mobilities are unknown (the known model's values are the starting values).
//! let known = Bipolar { mobility: [0.5, 0.5], ..truth };
//! let unknown = [Parameter::Mobility(0), Parameter::Mobility(1)];
//! let fit = bipolar(&data, &known, &unknown, &Settings::default())?;
//! for p in &fit.parameters {
//!     println!("{} = {} ± {:?}", p.name, p.estimate.value, p.estimate.std_error);
//! }
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DMatrix;
use uqforge_core::{Error, Result, validate};

use super::{
    CR_CELLS, CR_STEPS, Fit, Identification, Settings, TOLERANCE, check_observations,
    empty_insulator, network, positive_unknowns, report, train_members,
};
use crate::charge::bipolar::{Bipolar, Injection, Parameter};
use crate::identifiability::{Observed, analyse_bipolar};
use crate::jets::JetSpec;
use crate::residual::{Coefficient, Partials, Point, Residual};
use crate::sampling::latin_hypercube;
use crate::{Mlp, Problem, Term};

/// The network's outputs: mobile and trapped electrons, mobile and trapped holes, potential.
const N_E: usize = 0;
const M_E: usize = 1;
const N_H: usize = 2;
const M_H: usize = 3;
const PHI: usize = 4;
const OUTPUTS: usize = 5;

/// Identifies the parameters `unknown` of model (c) from net densities (columns $t$, $x$,
/// $n_h + m_h - n_e - m_e$; rows = observations), the others fixed at their values in
/// `known`; see the [module docs](self). The unknowns start from their values in `known`
/// unless [`Settings::initial`] gives them (in the order of `unknown`).
///
/// # Errors
/// As [`super::adr`]; the model's own errors ([`Bipolar::solve`]'s ranges); no unknown, one
/// twice, or one the model does not have (a Schottky parameter with density injection); an
/// unknown whose starting value is not positive and finite.
pub fn bipolar(
    data: &DMatrix<f64>,
    known: &Bipolar,
    unknown: &[Parameter],
    settings: &Settings,
) -> Result<Identification> {
    validate::positive("length", known.length)?;
    let l = known.length;
    let (first, t_hi) = check_observations(data, l)?;
    let names: Vec<String> = unknown.iter().map(|p| p.name()).collect();
    let defaults = unknown
        .iter()
        .map(|p| {
            p.value(known).ok_or_else(|| {
                Error::invalid_parameter(
                    "unknowns",
                    format!("the model has no {} (density injection)", p.name()),
                )
            })
        })
        .collect::<Result<Vec<f64>>>()?;
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let initial = super::starting_values(settings, &name_refs, &defaults)?;
    // The known model with the starting values: checks every range once, and the unknowns.
    let mut start = *known;
    for (p, &v) in unknown.iter().zip(&initial) {
        if let Some(slot) = p.slot(&mut start) {
            *slot = v;
        }
    }
    analysable(&start, unknown)?;
    let from_rest = settings.from_rest.unwrap_or(true);
    let t_lo = if from_rest { 0.0 } else { first };
    let coefficient = |p: Parameter| match unknown.iter().position(|&u| u == p) {
        Some(j) => Coefficient::Unknown(j),
        None => Coefficient::Known(p.value(known).unwrap_or(0.0)),
    };
    let residual = BipolarResidual::new(&coefficient);
    let nb = settings.boundary;
    let at_time = |r: usize| t_lo + (t_hi - t_lo) * (r as f64 + 0.5) / nb as f64;
    let electrode = |x: f64| DMatrix::from_fn(nb, 2, |r, c| if c == 0 { at_time(r) } else { x });
    let (cathode, anode) = (electrode(0.0), electrode(l));
    let v = known.voltage;
    let rest = empty_insulator(nb, l);
    let scale = data.column(2).amax();
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let unknowns = positive_unknowns(&name_refs, &initial);
    let build = |fitted: &DMatrix<f64>, seed: u64| -> Result<(Problem, Mlp)> {
        let colloc = latin_hypercube(settings.collocation, &[t_lo, 0.0], &[t_hi, l], seed, 1)?;
        let output = |o: usize| {
            let mut w = vec![0.0; OUTPUTS];
            w[o] = 1.0;
            Fit::new(w)
        };
        let mut terms = vec![
            Term::new(
                "data",
                fitted.columns(0, 2).into_owned(),
                Fit::new(vec![-1.0, -1.0, 1.0, 1.0, 0.0]),
            )?
            .with_targets(fitted.columns(2, 1).into_owned())?,
            Term::new("pde", colloc, residual)?,
            Term::new("cathode potential", cathode.clone(), output(PHI))?
                .with_targets(DMatrix::zeros(nb, 1))?,
            Term::new("anode potential", anode.clone(), output(PHI))?
                .with_targets(DMatrix::from_element(nb, 1, v))?,
        ];
        match known.injection {
            Injection::Schottky { .. } => {
                for (species, name, points) in [
                    (0, "cathode injection", &cathode),
                    (1, "anode injection", &anode),
                ] {
                    let flux = SchottkyFlux {
                        species,
                        mobility: residual.mobility[species],
                        diffusivity: residual.diffusivity[species],
                        rate: coefficient(Parameter::InjectionRate(species)),
                        beta: coefficient(Parameter::Beta),
                    };
                    terms.push(Term::new(name, points.clone(), flux)?);
                }
            }
            Injection::Density(d) => {
                for (o, name, points, value) in [
                    (N_E, "cathode injection", &cathode, d[0]),
                    (N_H, "anode injection", &anode, d[1]),
                ] {
                    terms.push(
                        Term::new(name, points.clone(), output(o))?
                            .with_targets(DMatrix::from_element(nb, 1, value))?,
                    );
                }
            }
        }
        if from_rest {
            for (o, name) in [
                (N_E, "empty (n_e)"),
                (M_E, "empty (m_e)"),
                (N_H, "empty (n_h)"),
                (M_H, "empty (m_h)"),
            ] {
                terms.push(
                    Term::new(name, rest.clone(), output(o))?
                        .with_targets(DMatrix::zeros(nb, 1))?,
                );
            }
        }
        let problem = Problem::new(terms, unknowns.clone())?;
        let net = network(settings, OUTPUTS, seed, [t_lo, t_hi], l)?.with_output_scaling(
            &[0.0, 0.0, 0.0, 0.0, 0.5 * v],
            &[scale, scale, scale, scale, v],
        )?;
        Ok((problem, net))
    };
    let members = train_members(data, settings, &build)?;
    let information = |means: &[f64], design: &crate::identifiability::Design| {
        let mut model = *known;
        for (p, &value) in unknown.iter().zip(means) {
            if let Some(slot) = p.slot(&mut model) {
                *slot = value;
            }
        }
        analyse_bipolar(
            &model,
            unknown,
            design,
            CR_CELLS,
            t_hi / CR_STEPS,
            TOLERANCE,
        )
    };
    report(data, members, &name_refs, Observed::Net, &information)
}

/// Inputs $(t, x)$ and outputs $(n_e, m_e, n_h, m_h, \phi)$.
fn check_network(inputs: usize, outputs: usize) -> Result<()> {
    validate::len("inputs of a bipolar network (t, x)", 2, inputs)?;
    validate::len(
        "outputs of a bipolar network (n_e, m_e, n_h, m_h, phi)",
        OUTPUTS,
        outputs,
    )
}

/// The model's ranges and the unknowns (through the log-parameter model the Cramér–Rao
/// analysis uses), before any training.
fn analysable(model: &Bipolar, unknown: &[Parameter]) -> Result<()> {
    crate::charge::bipolar::LogBipolar::new(*model, unknown.to_vec(), 2, 1.0, vec![1.0]).map(|_| ())
}

/// The five residuals of model (c) for a network of inputs $(t, x)$ and outputs
/// $(n_e, m_e, n_h, m_h, \phi)$, with $E = -\partial_x\phi$, so that the electrons' velocity
/// along $x$ is $\mu_e\partial_x\phi$ and the holes' $-\mu_h\partial_x\phi$. For species $s$
/// ($\sigma_e = 1$, $\sigma_h = -1$; $o$ the other species),
/// $$
/// r_{n_s} = \partial_t n_s + \sigma_s\mu_s\partial_x(n_s\partial_x\phi) -
/// D_s\partial_x^2 n_s + B_s n_s(1 - m_s/N_s) - k_s m_s + (S_{a_s}m_o + S_3 n_o)n_s,
/// $$
/// $$
/// r_{m_s} = \partial_t m_s - B_s n_s(1 - m_s/N_s) + k_s m_s + (S_0 m_o + S_{b_s}n_o)m_s,
/// $$
/// with $(a_e, b_e) = (1, 2)$ and $(a_h, b_h) = (2, 1)$ (the channels of
/// [`crate::charge::bipolar`]), and Poisson's equation
/// $r_\phi = \partial_x^2\phi + n_h + m_h - n_e - m_e$.
#[derive(Clone, Copy, Debug)]
pub struct BipolarResidual {
    /// $\mu_e$, $\mu_h$.
    pub mobility: [Coefficient; 2],
    /// $D_e$, $D_h$.
    pub diffusivity: [Coefficient; 2],
    /// $B_e$, $B_h$.
    pub trapping: [Coefficient; 2],
    /// $N_e$, $N_h$ (a known infinite value: traps that never fill).
    pub trap_density: [Coefficient; 2],
    /// $k_e$, $k_h$.
    pub detrapping: [Coefficient; 2],
    /// $S_0 \dots S_3$.
    pub recombination: [Coefficient; 4],
}

impl BipolarResidual {
    /// The residual with each coefficient given by `coefficient` of its parameter.
    pub fn new(coefficient: &dyn Fn(Parameter) -> Coefficient) -> Self {
        let pair = |f: fn(usize) -> Parameter| [coefficient(f(0)), coefficient(f(1))];
        Self {
            mobility: pair(Parameter::Mobility),
            diffusivity: pair(Parameter::Diffusivity),
            trapping: pair(Parameter::Trapping),
            trap_density: pair(Parameter::TrapDensity),
            detrapping: pair(Parameter::Detrapping),
            recombination: [0, 1, 2, 3].map(|r| coefficient(Parameter::Recombination(r))),
        }
    }
}

impl Residual for BipolarResidual {
    fn equations(&self) -> usize {
        5
    }

    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec> {
        check_network(inputs, outputs)?;
        JetSpec::second_order(2, &[[1, 1]])
    }

    fn eval(&self, at: &Point<'_>, lambda: &[f64], out: &mut Partials<'_>) {
        let (phi_x, phi_xx) = (at.d(PHI, 1), at.d2(PHI, 1, 1));
        let s = self.recombination.map(|c| c.value(lambda));
        for species in 0..2 {
            let (on, om) = (2 * species, 2 * species + 1);
            let (xn, xm) = (2 * (1 - species), 2 * (1 - species) + 1);
            let (sigma, a, b) = if species == 0 {
                (1.0, 1, 2)
            } else {
                (-1.0, 2, 1)
            };
            let (mu, d, bt, cap, k) = (
                self.mobility[species].value(lambda),
                self.diffusivity[species].value(lambda),
                self.trapping[species].value(lambda),
                self.trap_density[species].value(lambda),
                self.detrapping[species].value(lambda),
            );
            let (n, n_t, n_x, n_xx) = (at.value(on), at.d(on, 0), at.d(on, 1), at.d2(on, 1, 1));
            let (m, m_t) = (at.value(om), at.d(om, 0));
            let (n_o, m_o) = (at.value(xn), at.value(xm));
            let free = 1.0 - m / cap;
            let drift = phi_xx * n + phi_x * n_x;
            let loss_n = s[a] * m_o + s[3] * n_o;
            let loss_m = s[0] * m_o + s[b] * n_o;
            // Mobile carriers.
            let e = 2 * species;
            out.residual(
                e,
                n_t + sigma * mu * drift - d * n_xx + bt * n * free - k * m + loss_n * n,
            );
            out.d_value(e, on, sigma * mu * phi_xx + bt * free + loss_n);
            out.d_first(e, on, 0, 1.0);
            out.d_first(e, on, 1, sigma * mu * phi_x);
            out.d_second(e, on, 1, 1, -d);
            out.d_value(e, om, -bt * n / cap - k);
            out.d_first(e, PHI, 1, sigma * mu * n_x);
            out.d_second(e, PHI, 1, 1, sigma * mu * n);
            out.d_value(e, xm, s[a] * n);
            out.d_value(e, xn, s[3] * n);
            // Trapped carriers.
            let f = e + 1;
            out.residual(f, m_t - bt * n * free + k * m + loss_m * m);
            out.d_first(f, om, 0, 1.0);
            out.d_value(f, on, -bt * free);
            out.d_value(f, om, bt * n / cap + k + loss_m);
            out.d_value(f, xm, s[0] * m);
            out.d_value(f, xn, s[b] * m);
            for (c, partials) in [
                (self.mobility[species], [sigma * drift, 0.0]),
                (self.diffusivity[species], [-n_xx, 0.0]),
                (self.trapping[species], [n * free, -n * free]),
                (
                    self.trap_density[species],
                    [bt * n * m / (cap * cap), -bt * n * m / (cap * cap)],
                ),
                (self.detrapping[species], [-m, m]),
                (self.recombination[a], [m_o * n, 0.0]),
                (self.recombination[3], [n_o * n, 0.0]),
                (self.recombination[0], [0.0, m_o * m]),
                (self.recombination[b], [0.0, n_o * m]),
            ] {
                if let Coefficient::Unknown(j) = c {
                    out.d_coefficient(e, j, partials[0]);
                    out.d_coefficient(f, j, partials[1]);
                }
            }
        }
        // Poisson.
        let r = phi_xx + at.value(N_H) + at.value(M_H) - at.value(N_E) - at.value(M_E);
        out.residual(4, r);
        out.d_second(4, PHI, 1, 1, 1.0);
        for (o, w) in [(N_E, -1.0), (M_E, -1.0), (N_H, 1.0), (M_H, 1.0)] {
            out.d_value(4, o, w);
        }
    }
}

/// Schottky injection at an electrode: the particle flux into the insulator equals
/// $a_s\exp(\beta\sqrt{|E|})$, $E = -\partial_x\phi$,
/// $$
/// r = \mu_s n_s\partial_x\phi - \sigma_s D_s\partial_x n_s - a_s\exp\big(\beta\sqrt{|\partial_x\phi|}\big),
/// $$
/// for electrons ($\sigma_e = 1$) at the cathode $x = 0$, flowing along $x$, and holes
/// ($\sigma_h = -1$) at the anode $x = L$, flowing against it.
#[derive(Clone, Copy, Debug)]
pub struct SchottkyFlux {
    /// 0 for electrons, 1 for holes.
    pub species: usize,
    /// $\mu_s$.
    pub mobility: Coefficient,
    /// $D_s$.
    pub diffusivity: Coefficient,
    /// $a_s$.
    pub rate: Coefficient,
    /// $\beta$.
    pub beta: Coefficient,
}

impl Residual for SchottkyFlux {
    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec> {
        check_network(inputs, outputs)?;
        if self.species > 1 {
            return Err(Error::invalid_parameter(
                "species",
                format!("0 (electrons) or 1 (holes), got {}", self.species),
            ));
        }
        Ok(JetSpec::gradient(2))
    }

    fn eval(&self, at: &Point<'_>, lambda: &[f64], out: &mut Partials<'_>) {
        let o = 2 * self.species;
        let sigma = if self.species == 0 { 1.0 } else { -1.0 };
        let (mu, d, a, beta) = (
            self.mobility.value(lambda),
            self.diffusivity.value(lambda),
            self.rate.value(lambda),
            self.beta.value(lambda),
        );
        let (n, n_x, phi_x) = (at.value(o), at.d(o, 1), at.d(PHI, 1));
        let root = phi_x.abs().sqrt();
        let injected = a * (beta * root).exp();
        out.residual(0, mu * n * phi_x - sigma * d * n_x - injected);
        out.d_value(0, o, mu * phi_x);
        out.d_first(0, o, 1, -sigma * d);
        // d sqrt|p| / dp = sign(p) / (2 sqrt|p|), left out where the field vanishes.
        let d_root = if root > 1e-12 {
            phi_x.signum() / (2.0 * root)
        } else {
            0.0
        };
        out.d_first(0, PHI, 1, mu * n - injected * beta * d_root);
        for (c, partial) in [
            (self.mobility, n * phi_x),
            (self.diffusivity, -sigma * n_x),
            (self.rate, -(beta * root).exp()),
            (self.beta, -injected * root),
        ] {
            if let Coefficient::Unknown(j) = c {
                out.d_coefficient(0, j, partial);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Activation;
    use crate::identify::tests::loss_gradient_error;

    fn reference() -> Bipolar {
        Bipolar {
            mobility: [1.0, 0.5],
            diffusivity: [0.05, 0.04],
            trapping: [0.8, 0.6],
            trap_density: [2.0, 3.0],
            detrapping: [0.3, 0.2],
            // Distinct channels, so that a swap shows.
            recombination: [0.5, 0.8, 1.1, 1.4],
            injection: Injection::Density([1.0, 0.7]),
            voltage: 1.0,
            length: 1.0,
        }
    }

    /// The jets of a point from the values and derivatives of the five outputs, each
    /// `[u, u_t, u_x, u_xx]`.
    fn jets(spec: &JetSpec, outputs: &[[f64; 4]; OUTPUTS]) -> Vec<f64> {
        let parts = spec.parts();
        let mut jets = vec![0.0; OUTPUTS * parts];
        for (o, u) in outputs.iter().enumerate() {
            jets[o * parts] = u[0];
            jets[o * parts + spec.first(0)] = u[1];
            jets[o * parts + spec.first(1)] = u[2];
            jets[o * parts + spec.second(1, 1).unwrap()] = u[3];
        }
        jets
    }

    /// The residuals, evaluated on the finite-volume solution (derivatives by central
    /// differences in time and space, the potential integrated from the net density), vanish
    /// to the discretisation error where electrons and holes overlap: an independent check
    /// of every sign and channel (velocities, trapping, release, the four recombinations,
    /// Poisson's equation).
    #[test]
    fn residuals_vanish_on_the_finite_volume_solution() {
        let model = reference();
        let (t, dt) = (1.2, 0.01);
        let cells = 2000;
        let s = model.solve(cells, 1e-4, &[t - dt, t, t + dt]).unwrap();
        let h = 1.0 / cells as f64;
        // phi from -phi'' = rho with phi(0) = 0, phi(1) = V: E at faces as the scheme.
        let rho = s.net(1);
        let mut e = vec![0.0; cells + 1];
        for i in 0..cells {
            e[i + 1] = e[i] + h * rho[i];
        }
        let integral: f64 = (0..cells).map(|i| 0.5 * h * (e[i] + e[i + 1])).sum();
        let e0 = (-model.voltage - integral) / model.length;
        let residual = BipolarResidual::new(&|p| Coefficient::Known(p.value(&model).unwrap()));
        let spec = residual.spec(2, OUTPUTS).unwrap();
        // Holes are returned in x order, like electrons.
        let fields = [&s.mobile[0], &s.trapped[0], &s.mobile[1], &s.trapped[1]];
        let mut checked = 0;
        for i in (400..1600).step_by(100) {
            let mut outputs = [[0.0; 4]; OUTPUTS];
            for (o, f) in fields.iter().enumerate() {
                outputs[o] = [
                    f[(1, i)],
                    (f[(2, i)] - f[(0, i)]) / (2.0 * dt),
                    (f[(1, i + 1)] - f[(1, i - 1)]) / (2.0 * h),
                    (f[(1, i + 1)] - 2.0 * f[(1, i)] + f[(1, i - 1)]) / (h * h),
                ];
            }
            // E at the centre of cell i; phi_x = -E, phi_xx = -E_x = -rho.
            let centre = 0.5 * (e[i] + e[i + 1]) + e0;
            outputs[PHI] = [0.0, 0.0, -centre, -rho[i]];
            if outputs[N_E][0] < 0.05 || outputs[N_H][0] < 0.05 {
                continue; // Only where both species are present.
            }
            let jets = jets(&spec, &outputs);
            let at = Point {
                x: &[t, s.x[i]],
                target: &[],
                jets: &jets,
                spec: &spec,
            };
            let (mut r, mut dj) = (vec![0.0; 5], vec![0.0; 5 * OUTPUTS * spec.parts()]);
            let mut partials = Partials {
                residual: &mut r,
                d_jets: &mut dj,
                d_coefficients: &mut [],
                spec: &spec,
                outputs: OUTPUTS,
            };
            residual.eval(&at, &[], &mut partials);
            // Against the size of the time derivatives and of the largest term.
            let scale = outputs.iter().map(|u| u[1].abs()).fold(0.1, f64::max);
            for (q, v) in r.iter().enumerate() {
                assert!(v.abs() < 2e-3 * scale, "x = {}: r{q} = {v:e}", s.x[i]);
            }
            checked += 1;
        }
        assert!(checked >= 4, "{checked} points in the overlap");
    }

    /// Every partial derivative (the network's jets and all sixteen coefficients of a
    /// Schottky model), through the loss gradient, against central differences.
    #[test]
    fn loss_gradient_equals_central_differences() {
        let model = Bipolar {
            injection: Injection::Schottky {
                rate: [0.2, 0.1],
                beta: 0.5,
            },
            ..reference()
        };
        let unknown: Vec<Parameter> = Parameter::ALL.to_vec();
        let initial: Vec<f64> = unknown.iter().map(|p| p.value(&model).unwrap()).collect();
        let c = |p: Parameter| Coefficient::Unknown(unknown.iter().position(|&u| u == p).unwrap());
        let residual = BipolarResidual::new(&c);
        let points = DMatrix::from_fn(20, 2, |b, i| 0.5 + 0.45 * ((b * 7 + i * 3) as f64).sin());
        let targets = DMatrix::from_fn(20, 1, |b, _| 0.3 * (b as f64 * 0.3).cos());
        let names: Vec<String> = unknown.iter().map(|p| p.name()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut terms = vec![
            Term::new("pde", points.clone(), residual).unwrap(),
            Term::new(
                "net",
                points.clone(),
                Fit::new(vec![-1.0, -1.0, 1.0, 1.0, 0.0]),
            )
            .unwrap()
            .with_targets(targets)
            .unwrap(),
        ];
        for species in 0..2 {
            let flux = SchottkyFlux {
                species,
                mobility: residual.mobility[species],
                diffusivity: residual.diffusivity[species],
                rate: c(Parameter::InjectionRate(species)),
                beta: c(Parameter::Beta),
            };
            terms.push(Term::new("flux", points.clone(), flux).unwrap());
        }
        let problem = Problem::new(terms, positive_unknowns(&names, &initial)).unwrap();
        let net = Mlp::new(&[2, 6, 6, OUTPUTS], Activation::Tanh, 5).unwrap();
        let (worst, scale) = loss_gradient_error(&problem, &net);
        assert!(
            worst <= 1e-6 * scale,
            "max error {worst:e} against max |g| {scale:e}"
        );
    }

    #[test]
    fn names_round_trip_and_bad_input_is_refused() {
        for p in Parameter::ALL {
            assert_eq!(Parameter::parse(&p.name()).unwrap(), p);
        }
        let err = Parameter::parse("mu").unwrap_err().to_string();
        assert!(err.contains("mu_e"), "{err}");
        let model = reference();
        let times = [0.5, 1.0];
        let s = model.solve(50, 0.01, &times).unwrap();
        let net = DMatrix::from_fn(2, 50, |k, i| s.net(k)[i]);
        let data = crate::identify::observations(&times, &s.x, &net).unwrap();
        let mut settings = Settings {
            members: 1,
            collocation: 20,
            boundary: 4,
            hidden: vec![4],
            ..Settings::default()
        };
        settings.training.adam.steps = 2;
        settings.training.lbfgs.iterations = 2;
        let mu = [Parameter::Mobility(0)];
        assert!(bipolar(&data, &model, &mu, &settings).is_ok());
        // No unknown, one twice, one the model lacks (density injection), a bad start.
        for unknown in [
            &[][..],
            &[Parameter::Mobility(0), Parameter::Mobility(0)],
            &[Parameter::Beta],
            &[Parameter::Trapping(2)],
        ] {
            assert!(
                bipolar(&data, &model, unknown, &settings).is_err(),
                "{unknown:?}"
            );
        }
        let bad_start = Settings {
            initial: Some(vec![-1.0]),
            ..settings.clone()
        };
        assert!(bipolar(&data, &model, &mu, &bad_start).is_err());
        let bad_model = Bipolar {
            voltage: 0.0,
            ..model
        };
        assert!(bipolar(&data, &bad_model, &mu, &settings).is_err());
        let outside = data.map_with_location(|_, c, v| if c == 1 { v + 2.0 } else { v });
        assert!(bipolar(&outside, &model, &mu, &settings).is_err());
    }
}
