//! Test functions with analytic Sobol' indices.
//!
//! | function | inputs | $f(x)$ | indices |
//! |---|---|---|---|
//! | [`TestFunction::Ishigami`] | $\mathcal U(-\pi,\pi)^3$ | $\sin x_1 + a\sin^2 x_2 + b x_3^4 \sin x_1$ | $V_1 = \tfrac12(1+\tfrac{b\pi^4}{5})^2$, $V_2 = \tfrac{a^2}{8}$, $V_{13} = \tfrac{8 b^2\pi^8}{225}$, $V = V_1+V_2+V_{13}$ |
//! | [`TestFunction::GFunction`] | $\mathcal U(0,1)^d$ | $\prod_i \dfrac{\lvert 4x_i-2\rvert + a_i}{1+a_i}$ | $V_i = \dfrac{1}{3(1+a_i)^2}$, $V = \prod(1+V_i) - 1$, $V_{T_i} = V_i\prod_{j\ne i}(1+V_j)$ |
//! | [`TestFunction::Linear`] | $\mathcal U(0,1)^d$ | $\sum_i \beta_i x_i$ | $S_i = S_{T_i} = \beta_i^2/\sum_j\beta_j^2$ |
//! | [`TestFunction::Bratley`] | $\mathcal U(0,1)^d$ | $\sum_{i=1}^d (-1)^i \prod_{j\le i} x_j$ | below |
//!
//! Bratley's function (Bratley, Fox & Niederreiter 1992; Kucherenko et al. 2011) is a sum of
//! products $P_i = \prod_{j \le i} x_j$ with $c_i = (-1)^i$. With $\mathbb E x = \tfrac12$ and
//! $\mathbb E x^2 = \tfrac13$: $\mathbb E(P_i P_l) = 3^{-\min(i,l)} 2^{-|i-l|}$, and since $f$ is
//! affine in each $x_k$,
//! $$ V_k = \tfrac1{12}\Big(\sum_{i\ge k} c_i 2^{1-i}\Big)^2, \qquad
//!    V_{T_k} = \tfrac1{12}\sum_{i,l\ge k} c_i c_l\thinspace  3^{1-\min(i,l)} 2^{-|i-l|} . $$
//!
//! References: Ishigami & Homma (1990); Sobol' (1993) and Saltelli & Sobol' (1995) for the
//! g-function; Bratley, Fox & Niederreiter (1992).

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Model, Result, validate};

use crate::{InputSpace, Marginal};

/// A test function and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestFunction {
    /// Ishigami & Homma (1990); the classic values are `a = 7`, `b = 0.1`.
    Ishigami {
        /// Weight of $\sin^2 x_2$.
        a: f64,
        /// Weight of the $x_3^4 \sin x_1$ interaction.
        b: f64,
    },
    /// Sobol's g-function; small $a_i$ make input $i$ important.
    GFunction {
        /// One non-negative coefficient per input.
        a: Vec<f64>,
    },
    /// A linear model $\sum_i \beta_i x_i$.
    Linear {
        /// The coefficients $\beta$.
        beta: Vec<f64>,
    },
    /// Bratley's (K-) function in `d` inputs.
    Bratley {
        /// The dimension.
        d: usize,
    },
}

impl TestFunction {
    /// Ishigami with $a = 7$, $b = 0.1$.
    pub fn ishigami() -> Self {
        Self::Ishigami { a: 7.0, b: 0.1 }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no inputs, non-finite parameters, negative $a_i$ of the
    /// g-function, or all-zero linear coefficients.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Ishigami { a, b } => validate::finite("ishigami a, b", &[*a, *b]),
            Self::GFunction { a } => {
                validate::non_empty("g-function coefficients", a)?;
                validate::finite("g-function coefficients", a)?;
                match a.iter().find(|&&x| x < 0.0) {
                    Some(x) => Err(Error::invalid_parameter(
                        "a",
                        format!("g-function coefficients must be >= 0, got {x}"),
                    )),
                    None => Ok(()),
                }
            }
            Self::Linear { beta } => {
                validate::non_empty("linear coefficients", beta)?;
                validate::finite("linear coefficients", beta)?;
                if beta.iter().all(|&b| b == 0.0) {
                    return Err(Error::invalid_parameter(
                        "a",
                        "all linear coefficients are zero: the output is constant",
                    ));
                }
                Ok(())
            }
            Self::Bratley { d } => validate::at_least("dimension", *d, 1),
        }
    }

    /// The input dimension.
    pub fn dim(&self) -> usize {
        match self {
            Self::Ishigami { .. } => 3,
            Self::GFunction { a } => a.len(),
            Self::Linear { beta } => beta.len(),
            Self::Bratley { d } => *d,
        }
    }

    /// The input space of the function.
    ///
    /// # Errors
    /// As [`TestFunction::validate`].
    pub fn input_space(&self) -> Result<InputSpace> {
        self.validate()?;
        match self {
            Self::Ishigami { .. } => InputSpace::new(
                (1..=3)
                    .map(|i| Ok((format!("x{i}"), Marginal::uniform(-PI, PI)?)))
                    .collect::<Result<Vec<_>>>()?,
            ),
            _ => InputSpace::uniform(self.dim(), 0.0, 1.0),
        }
    }

    /// Evaluates $f(x)$.
    pub fn value(&self, x: &[f64]) -> f64 {
        match self {
            Self::Ishigami { a, b } => {
                x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
            }
            Self::GFunction { a } => x
                .iter()
                .zip(a)
                .map(|(xi, ai)| ((4.0 * xi - 2.0).abs() + ai) / (1.0 + ai))
                .product(),
            Self::Linear { beta } => x.iter().zip(beta).map(|(xi, bi)| xi * bi).sum(),
            Self::Bratley { .. } => {
                let (mut p, mut s, mut sign) = (1.0, 0.0, -1.0);
                for xi in x {
                    p *= xi;
                    s += sign * p;
                    sign = -sign;
                }
                s
            }
        }
    }

    /// Exact `(first order, total)` indices.
    pub fn exact_indices(&self) -> (Vec<f64>, Vec<f64>) {
        match self {
            Self::Ishigami { a, b } => {
                let v1 = 0.5 * (1.0 + b * PI.powi(4) / 5.0).powi(2);
                let v2 = a * a / 8.0;
                let v13 = 8.0 * b * b * PI.powi(8) / 225.0;
                let v = v1 + v2 + v13;
                (
                    vec![v1 / v, v2 / v, 0.0],
                    vec![(v1 + v13) / v, v2 / v, v13 / v],
                )
            }
            Self::GFunction { a } => {
                let vi: Vec<f64> = a
                    .iter()
                    .map(|ai| 1.0 / (3.0 * (1.0 + ai).powi(2)))
                    .collect();
                let prod: f64 = vi.iter().map(|v| 1.0 + v).product();
                let v = prod - 1.0;
                (
                    vi.iter().map(|x| x / v).collect(),
                    vi.iter().map(|x| x * prod / (1.0 + x) / v).collect(),
                )
            }
            Self::Linear { beta } => {
                let v: f64 = beta.iter().map(|b| b * b).sum();
                let s: Vec<f64> = beta.iter().map(|b| b * b / v).collect();
                (s.clone(), s)
            }
            Self::Bratley { d } => bratley_indices(*d),
        }
    }
}

fn bratley_indices(d: usize) -> (Vec<f64>, Vec<f64>) {
    let c = |i: usize| if i.is_multiple_of(2) { 1.0 } else { -1.0 }; // (-1)^i, i from 1
    let e_pp =
        |i: usize, l: usize| 3f64.powi(-(i.min(l) as i32)) * 2f64.powi(-(i.abs_diff(l) as i32));
    let mut e_f2 = 0.0;
    let mut e_f = 0.0;
    for i in 1..=d {
        e_f += c(i) * 2f64.powi(-(i as i32));
        for l in 1..=d {
            e_f2 += c(i) * c(l) * e_pp(i, l);
        }
    }
    let v = e_f2 - e_f * e_f;
    let first = (1..=d)
        .map(|k| {
            let s: f64 = (k..=d).map(|i| c(i) * 2f64.powi(1 - i as i32)).sum();
            s * s / 12.0 / v
        })
        .collect();
    let total = (1..=d)
        .map(|k| {
            let mut s = 0.0;
            for i in k..=d {
                for l in k..=d {
                    s += c(i)
                        * c(l)
                        * 3f64.powi(1 - i.min(l) as i32)
                        * 2f64.powi(-(i.abs_diff(l) as i32));
                }
            }
            s / 12.0 / v
        })
        .collect();
    (first, total)
}

impl Model for TestFunction {
    fn input_dim(&self) -> usize {
        self.dim()
    }
    fn output_dim(&self) -> usize {
        1
    }
    fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        y[0] = self.value(x);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ishigami_matches_published_indices() {
        // Saltelli et al. (2008), Global Sensitivity Analysis: The Primer, sec. 4.x:
        // S1 = 0.3139, S2 = 0.4424, S3 = 0; ST1 = 0.5576, ST2 = 0.4424, ST3 = 0.2437.
        let (s, t) = TestFunction::ishigami().exact_indices();
        let close = |x: f64, y: f64| (x - y).abs() < 5e-5;
        assert!(
            close(s[0], 0.3139) && close(s[1], 0.4424) && s[2] == 0.0,
            "{s:?}"
        );
        assert!(
            close(t[0], 0.5576) && close(t[1], 0.4424) && close(t[2], 0.2437),
            "{t:?}"
        );
    }

    #[test]
    fn g_function_with_a_zero_input_pair() {
        // a = (0, 0): V_i = 1/3, V = (4/3)^2 - 1 = 7/9, S_i = 3/7, S_Ti = (1/3)(4/3)/(7/9) = 4/7.
        let (s, t) = TestFunction::GFunction { a: vec![0.0, 0.0] }.exact_indices();
        assert!((s[0] - 3.0 / 7.0).abs() < 1e-14 && (t[1] - 4.0 / 7.0).abs() < 1e-14);
    }

    #[test]
    fn bratley_closed_form_matches_hand_computation_in_two_dimensions() {
        // f = x1 (x2 - 1): V = 7/144, V1 = V2 = 1/48, V12 = 1/144.
        let (s, t) = bratley_indices(2);
        let v = 7.0 / 144.0;
        for i in 0..2 {
            assert!((s[i] - (1.0 / 48.0) / v).abs() < 1e-14);
            assert!((t[i] - (1.0 / 48.0 + 1.0 / 144.0) / v).abs() < 1e-14);
        }
        assert!(TestFunction::Bratley { d: 2 }.value(&[0.5, 0.25]) == -0.5 + 0.125);
    }

    #[test]
    fn bratley_variance_matches_an_independent_quadrature() {
        // d = 3 by a 3D midpoint rule on a 60^3 grid (error O(h^2) ~ 1e-5 relative).
        let f = TestFunction::Bratley { d: 3 };
        let m = 60;
        let h = 1.0 / m as f64;
        let (mut s1, mut s2) = (0.0, 0.0);
        let mut cond1 = vec![0.0; m]; // E[f | x1] on the grid
        for (i, cond) in cond1.iter_mut().enumerate() {
            for j in 0..m {
                for k in 0..m {
                    let x = [
                        (i as f64 + 0.5) * h,
                        (j as f64 + 0.5) * h,
                        (k as f64 + 0.5) * h,
                    ];
                    let y = f.value(&x);
                    s1 += y;
                    s2 += y * y;
                    *cond += y * h * h;
                }
            }
        }
        let n = (m * m * m) as f64;
        let v = s2 / n - (s1 / n).powi(2);
        let e = s1 / n;
        let v1 = cond1.iter().map(|c| (c - e).powi(2)).sum::<f64>() / m as f64;
        let (s, _) = f.exact_indices();
        assert!((v1 / v - s[0]).abs() < 1e-3, "{} vs {}", v1 / v, s[0]);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(TestFunction::GFunction { a: vec![] }.validate().is_err());
        assert!(
            TestFunction::GFunction { a: vec![-1.0] }
                .validate()
                .is_err()
        );
        assert!(
            TestFunction::Linear {
                beta: vec![0.0, 0.0]
            }
            .validate()
            .is_err()
        );
        assert!(TestFunction::Bratley { d: 0 }.validate().is_err());
        assert!(
            TestFunction::Ishigami {
                a: f64::NAN,
                b: 0.1
            }
            .validate()
            .is_err()
        );
    }
}
