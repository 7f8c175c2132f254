//! Diffusion and advection–diffusion–reaction in one space dimension, with closed-form
//! solutions: the smooth reference problems (Burgers is the stiff one).
//!
//! **Heat equation** on $x \in [-1, 1]$, $t \in [0, 1]$:
//! $$
//! u_t = D u_{xx},\quad u(0, x) = \sin\pi x,\quad u(t, \pm 1) = 0,\qquad
//! u(t, x) = e^{-D\pi^2 t}\sin\pi x.
//! $$
//!
//! **Advection–diffusion–reaction** of one carrier with trapping (the first model of the
//! charge-transport study) on the half-line, with a constant inflow at $x = 0$:
//! $$
//! n_t + v n_x = D n_{xx} - k n,\quad n(0, t) = n_0,\quad n(x, 0) = 0,
//! $$
//! whose solution (van Genuchten and Alves, USDA Tech. Bull. 1661, 1982, solution A4; Ogata and
//! Banks 1961 for $k = 0$) is, with $w = \sqrt{v^2 + 4kD}$,
//! $$
//! n(x, t) = \frac{n_0}{2}\left[e^{(v - w)x/2D}\operatorname{erfc}\frac{x - wt}{2\sqrt{Dt}} +
//! e^{(v + w)x/2D}\operatorname{erfc}\frac{x + wt}{2\sqrt{Dt}}\right].
//! $$
//! The second product is evaluated as $\exp\big((v + w)x/2D + \log\operatorname{erfc}(\cdot)\big)$
//! with an asymptotic series of $\log\operatorname{erfc}$ beyond 25, so it neither overflows nor
//! underflows to a wrong zero. On a finite domain $[0, L]$ the formula is the PINN's target
//! when the front has not reached $L$ (the outflow boundary is then left free).
//!
//! ```
//! use uqforge_pinn::diffusion::{adr_exact, heat_exact};
//! assert!((heat_exact(0.0, 0.5, 0.1) - 1.0).abs() < 1e-15);
//! // The inflow boundary holds n0 at all times; far ahead of the front, nothing has arrived.
//! assert!((adr_exact(0.3, 0.0, 1.0, 0.01, 0.5, 2.0) - 2.0).abs() < 1e-12);
//! assert!(adr_exact(0.3, 0.9, 1.0, 0.01, 0.5, 2.0) < 1e-12);
//! ```

use std::f64::consts::PI;

use nalgebra::DMatrix;
use statrs::function::erf::erfc;
use uqforge_core::{Result, validate};

use crate::jets::JetSpec;
use crate::loss::{Problem, Term};
use crate::residual::{Coefficient, Partials, Point, Residual, space_time_1d_spec};
use crate::sampling::space_time_1d;

/// $e^{-D\pi^2 t}\sin\pi x$.
pub fn heat_exact(t: f64, x: f64, diffusivity: f64) -> f64 {
    (-diffusivity * PI * PI * t).exp() * (PI * x).sin()
}

/// $\log\operatorname{erfc} z$, accurate for large $z$ where erfc underflows.
fn log_erfc(z: f64) -> f64 {
    if z < 25.0 {
        return erfc(z).ln();
    }
    // erfc z = e^{-z^2} / (z sqrt(pi)) * (1 - 1/(2z^2) + 3/(2z^2)^2 - 15/(2z^2)^3 + ...).
    let y = 1.0 / (2.0 * z * z);
    let series = 1.0 - y + 3.0 * y * y - 15.0 * y.powi(3) + 105.0 * y.powi(4);
    -z * z - (z * PI.sqrt()).ln() + series.ln()
}

/// The advection–diffusion–reaction solution $n(x, t)$ of the module docs, for velocity `v`,
/// diffusivity `d > 0`, reaction rate `k >= 0` and inflow value `n0`.
pub fn adr_exact(t: f64, x: f64, v: f64, d: f64, k: f64, n0: f64) -> f64 {
    if t <= 0.0 {
        return if x <= 0.0 { n0 } else { 0.0 };
    }
    let w = (v * v + 4.0 * k * d).sqrt();
    let s = 2.0 * (d * t).sqrt();
    let first = ((v - w) * x / (2.0 * d) + log_erfc((x - w * t) / s)).exp();
    let second = ((v + w) * x / (2.0 * d) + log_erfc((x + w * t) / s)).exp();
    0.5 * n0 * (first + second)
}

/// $r = u_t + v u_x - D u_{xx} + k u$ for a network of inputs $(t, x)$: diffusion ($v = k =
/// 0$), advection–diffusion, and the trapping term.
#[derive(Clone, Copy, Debug)]
pub struct AdrResidual {
    /// Velocity $v$.
    pub velocity: Coefficient,
    /// Diffusivity $D$.
    pub diffusivity: Coefficient,
    /// Reaction (trapping) rate $k$.
    pub rate: Coefficient,
}

impl Residual for AdrResidual {
    fn spec(&self, inputs: usize, outputs: usize) -> Result<JetSpec> {
        space_time_1d_spec("a 1D transport network", inputs, outputs)
    }

    fn eval(&self, at: &Point<'_>, lambda: &[f64], out: &mut Partials<'_>) {
        let (v, d, k) = (
            self.velocity.value(lambda),
            self.diffusivity.value(lambda),
            self.rate.value(lambda),
        );
        let (u, u_t, u_x, u_xx) = (at.value(0), at.d(0, 0), at.d(0, 1), at.d2(0, 1, 1));
        out.residual(0, u_t + v * u_x - d * u_xx + k * u);
        out.d_value(0, 0, k);
        out.d_first(0, 0, 0, 1.0);
        out.d_first(0, 0, 1, v);
        out.d_second(0, 0, 1, 1, -d);
        for (c, partial) in [
            (self.velocity, u_x),
            (self.diffusivity, -u_xx),
            (self.rate, u),
        ] {
            if let Coefficient::Unknown(j) = c {
                out.d_coefficient(0, j, partial);
            }
        }
    }
}

/// The heat problem of the module docs with diffusivity `d`: the PDE at `collocation`
/// Latin-hypercube points of $[0, 1]\times[-1, 1]$, the initial condition at `initial` points,
/// the boundary at `boundary` points (alternating sides), from `seed`.
///
/// # Errors
/// [`uqforge_core::Error::InvalidParameter`] for zero points or a diffusivity that is not
/// positive.
pub fn heat_problem(
    d: f64,
    collocation: usize,
    initial: usize,
    boundary: usize,
    seed: u64,
) -> Result<Problem> {
    validate::positive("diffusivity", d)?;
    let points = space_time_1d(
        [collocation, initial, boundary],
        [0.0, 1.0],
        [-1.0, 1.0],
        seed,
    )?;
    let ic_values = DMatrix::from_fn(initial, 1, |b, _| (PI * points.initial[(b, 1)]).sin());
    let known = Coefficient::Known;
    let residual = AdrResidual {
        velocity: known(0.0),
        diffusivity: known(d),
        rate: known(0.0),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences of a closed form in (t, x): the residual of the ADR equation.
    fn residual_by_differences(
        f: impl Fn(f64, f64) -> f64,
        t: f64,
        x: f64,
        v: f64,
        d: f64,
        k: f64,
    ) -> (f64, f64) {
        let h = 1e-4;
        let u = f(t, x);
        let u_t = (f(t + h, x) - f(t - h, x)) / (2.0 * h);
        let u_x = (f(t, x + h) - f(t, x - h)) / (2.0 * h);
        let u_xx = (f(t, x + h) - 2.0 * u + f(t, x - h)) / (h * h);
        (u_t + v * u_x - d * u_xx + k * u, u_t.abs() + d * u_xx.abs())
    }

    #[test]
    fn closed_forms_satisfy_their_equations() {
        for (t, x) in [(0.2, 0.3), (0.7, -0.8), (0.5, 0.05)] {
            let (r, size) =
                residual_by_differences(|t, x| heat_exact(t, x, 0.3), t, x, 0.0, 0.3, 0.0);
            assert!(r.abs() < 1e-6 * size.max(1.0), "heat residual {r}");
        }
        let (v, d, k, n0) = (1.0, 0.05, 0.7, 1.5);
        for (t, x) in [(0.3, 0.2), (0.5, 0.45), (0.8, 0.1), (0.2, 0.6)] {
            let (r, size) =
                residual_by_differences(|t, x| adr_exact(t, x, v, d, k, n0), t, x, v, d, k);
            assert!(
                r.abs() < 1e-5 * size.max(1.0),
                "ADR residual {r} at ({t}, {x})"
            );
        }
        // Without reaction and diffusion small, the front sits at x = v t with n = n0 / 2.
        let n = adr_exact(0.5, 0.5, 1.0, 1e-6, 0.0, 1.0);
        assert!((n - 0.5).abs() < 1e-3, "{n}");
    }

    #[test]
    fn log_erfc_joins_its_asymptotic_series() {
        for z in [25.0, 25.1, 26.0] {
            let direct = erfc(z).ln();
            assert!((log_erfc(z) - direct).abs() < 1e-12 * direct.abs(), "{z}");
        }
        // Far beyond underflow of erfc itself, still finite.
        assert!(log_erfc(40.0).is_finite() && adr_exact(1.0, 50.0, 1.0, 0.01, 0.1, 1.0) == 0.0);
    }

    #[test]
    fn heat_problem_refuses_bad_input() {
        assert!(heat_problem(0.0, 10, 10, 10, 1).is_err());
        assert!(heat_problem(0.1, 0, 10, 10, 1).is_err());
    }
}
