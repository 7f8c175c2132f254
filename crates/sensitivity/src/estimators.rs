//! The pick-freeze estimators, as functions of the feature means of [`crate::moments`].
//!
//! **Centring.** Every formula is applied to outputs centred at
//! $\hat\mu = \tfrac12(\bar a + \bar b)$. The formulas of Saltelli, Sobol' (2007) and Homma &
//! Saltelli are not shift-invariant: on raw outputs their variance grows with
//! $(\mathbb E Y)^2$ (Baudin et al. 2016 recommend centring; SALib centres and scales $Y$
//! before its estimators). Centring is exact on the streamed moments
//! ($\overline{(x-\hat\mu)(y-\hat\mu)} = \overline{xy} - \hat\mu(\bar x + \bar y) + \hat\mu^2$),
//! and the delta-method gradient includes the estimation of $\hat\mu$. Martinez, Janon and
//! Jansen are shift-invariant and unchanged by it. Measured on Ishigami
//! ($\mathbb E Y = 3.5$): see `docs/benchmarks.md`.
//!
//! Notation: $A, B$ are independent $N \times d$ input samples, $A_B^{(i)}$ is $A$ with column
//! $i$ taken from $B$, and for each row $a = f(A)$, $b = f(B)$, $c = f(A_B^{(i)})$, so that
//! $(b, c)$ share $x_i$ only and $(a, c)$ share everything but $x_i$. $\overline{\thinspace \cdot\thinspace }$ is
//! the mean over rows, $\hat V_A = \overline{a^2} - \bar a^2$, and
//! $\hat V = \tfrac12(\overline{a^2} + \overline{b^2}) - \tfrac14(\bar a + \bar b)^2$ is the
//! variance of the pooled $(a, b)$ sample.
//!
//! | estimator | first order $S_i$ | total $S_{T_i}$ |
//! |---|---|---|
//! | `Saltelli` (Saltelli et al. 2010, Table 2 (b) and (f); SALib's pair) | $\overline{b(c-a)}/\hat V$ | $\tfrac12\overline{(a-c)^2}/\hat V$ |
//! | `Sobol2007` (Sobol' et al. 2007; R `sensitivity::sobol2007`) | $\overline{b(c-a)}/\hat V_A$ | $\overline{a(a-c)}/\hat V_A$ |
//! | `Martinez` (Martinez 2011; Baudin et al. 2016) | $\widehat{\mathrm{corr}}(b, c)$ | $1-\widehat{\mathrm{corr}}(a, c)$ |
//! | `Janon` (Janon et al. 2014) | $\dfrac{\overline{bc} - m_{bc}^2}{\tfrac12\overline{b^2+c^2} - m_{bc}^2}$, $m_{bc} = \tfrac12(\bar b + \bar c)$ | $1 -$ the same with $(a, c)$ |
//! | `Jansen` (Jansen 1999) | $1 - \tfrac12\overline{(b-c)^2}/\hat V$ | $\tfrac12\overline{(a-c)^2}/\hat V$ |
//! | `Homma` (Homma & Saltelli 1996) | $(\overline{bc} - \bar a \bar b)/\hat V$ | $1 - (\overline{ac} - \bar a^2)/\hat V$ |
//!
//! Janon's estimator is asymptotically efficient among pick-freeze estimators of $S_i$ (it uses
//! both members of the pair to estimate mean and variance); Martinez's correlation comes with
//! Fisher's $z$ interval $\tanh(\operatorname{atanh}\hat\rho \pm z_{1-\alpha/2}/\sqrt{N-3})$,
//! exact under normality and used here for it; the others get delta-method intervals.
//!
//! Every estimator on the same problem: the g-function with $a = (0, 1, 9)$, whose exact
//! first-order indices are $S = (0.7420, 0.1855, 0.0074)$ (see [`crate::TestFunction`]).
//!
//! ```
//! use uqforge_sensitivity::{sobol_indices, Design, Estimator, PickFreezeConfig, TestFunction};
//! let f = TestFunction::GFunction { a: vec![0.0, 1.0, 9.0] };
//! let (exact, exact_total) = f.exact_indices();
//! for estimator in Estimator::ALL {
//!     let config = PickFreezeConfig {
//!         n: 1 << 12, design: Design::Sobol, estimator, replicates: 8, seed: 7,
//!         level: 0.95, second_order: false,
//!     };
//!     let r = sobol_indices(&f, f.input_space()?, config)?;
//!     let (s1, st1) = (&r.outputs[0].first_order[0], &r.outputs[0].total[0]);
//!     // 8 scrambled replicates of N = 4096: errors of a few 1e-3 at most.
//!     assert!((s1.value - exact[0]).abs() < 0.01, "{estimator:?}");
//!     assert!((st1.value - exact_total[0]).abs() < 0.01, "{estimator:?}");
//!     println!("{:>9}: S1 = {:.4} (se {:.1e}), ST1 = {:.4}",
//!              estimator.name(), s1.value, s1.std_error.unwrap(), st1.value);
//! }
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::moments::Dual;

/// A pick-freeze estimator of first-order and total indices (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Saltelli et al. (2010) first order with Jansen total (what SALib computes).
    Saltelli,
    /// Sobol' et al. (2007), as R's `sensitivity::sobol2007`.
    Sobol2007,
    /// Martinez (2011): correlation coefficients.
    Martinez,
    /// Janon et al. (2014): the asymptotically efficient pick-freeze estimator.
    Janon,
    /// Jansen (1999): squared differences.
    Jansen,
    /// Homma & Saltelli (1996).
    Homma,
}

impl Estimator {
    /// All pick-freeze estimators.
    pub const ALL: [Self; 6] = [
        Self::Saltelli,
        Self::Sobol2007,
        Self::Martinez,
        Self::Janon,
        Self::Jansen,
        Self::Homma,
    ];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Saltelli => "saltelli",
            Self::Sobol2007 => "sobol2007",
            Self::Martinez => "martinez",
            Self::Janon => "janon",
            Self::Jansen => "jansen",
            Self::Homma => "homma",
        }
    }

    /// `(first order, total)` as functions of the feature means
    /// `z = (a, b, c, a², b², c², ab, ac, bc)`.
    pub(crate) fn indices(self, z: &[Dual; 9]) -> (Dual, Dual) {
        let half = |x: Dual| 0.5 * x;
        // Centre every output at mu = (mean a + mean b) / 2, exactly, from the raw moments:
        // mean((x - mu)(y - mu)) = mean(xy) - mu (mean x + mean y) + mu^2.
        let mu = half(z[0] + z[1]);
        let centred = |xy: Dual, x: Dual, y: Dual| xy - mu * (x + y) + mu.sq();
        let [a0, b0, c0] = [z[0], z[1], z[2]];
        let aa = centred(z[3], a0, a0);
        let bb = centred(z[4], b0, b0);
        let cc = centred(z[5], c0, c0);
        let ab = centred(z[6], a0, b0);
        let ac = centred(z[7], a0, c0);
        let bc = centred(z[8], b0, c0);
        let (a, b, c) = (a0 - mu, b0 - mu, c0 - mu);
        let v_pool = half(aa + bb) - (half(a + b)).sq();
        let v_a = aa - a.sq();
        let jansen_total = half(aa - 2.0 * ac + cc) / v_pool;
        let corr = |xy: Dual, x: Dual, y: Dual, xx: Dual, yy: Dual| {
            (xy - x * y) / ((xx - x.sq()) * (yy - y.sq())).sqrt()
        };
        let janon = |xy: Dual, x: Dual, y: Dual, xx: Dual, yy: Dual| {
            let m = half(x + y);
            (xy - m.sq()) / (half(xx + yy) - m.sq())
        };
        match self {
            Self::Saltelli => ((bc - ab) / v_pool, jansen_total),
            Self::Sobol2007 => ((bc - ab) / v_a, (aa - ac) / v_a),
            Self::Martinez => (corr(bc, b, c, bb, cc), 1.0 - corr(ac, a, c, aa, cc)),
            Self::Janon => (janon(bc, b, c, bb, cc), 1.0 - janon(ac, a, c, aa, cc)),
            Self::Jansen => (1.0 - half(bb - 2.0 * bc + cc) / v_pool, jansen_total),
            Self::Homma => ((bc - a * b) / v_pool, 1.0 - (ac - a.sq()) / v_pool),
        }
    }
}

impl std::str::FromStr for Estimator {
    type Err = uqforge_core::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|e| e.name()).collect();
                uqforge_core::Error::invalid_parameter(
                    "estimator",
                    format!(
                        "unknown estimator `{s}`; choose one of {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_estimator_is_invariant_to_a_shift_of_the_output() {
        // Moments of (a, b, c) = (1.3, 0.2, 0.9) + noise and of the same shifted by 1000.
        let base = [0.4, 0.6, 0.5, 0.26, 0.45, 0.33, 0.25, 0.22, 0.31];
        let s = 1000.0;
        let m = base;
        let shifted = [
            m[0] + s,
            m[1] + s,
            m[2] + s,
            m[3] + 2.0 * s * m[0] + s * s,
            m[4] + 2.0 * s * m[1] + s * s,
            m[5] + 2.0 * s * m[2] + s * s,
            m[6] + s * (m[0] + m[1]) + s * s,
            m[7] + s * (m[0] + m[2]) + s * s,
            m[8] + s * (m[1] + m[2]) + s * s,
        ];
        for e in Estimator::ALL {
            let (s1, t1) = e.indices(&base.map(Dual::constant));
            let (s2, t2) = e.indices(&shifted.map(Dual::constant));
            assert!(
                (s1.v - s2.v).abs() < 1e-8 && (t1.v - t2.v).abs() < 1e-8,
                "{e:?}"
            );
        }
    }

    /// Population moments of the triple for f(x1, x2) = x1 + 2 x2 with x ~ U(0,1)^2 and i = 1:
    /// a = x1 + 2 x2, b = x1' + 2 x2', c = x1' + 2 x2 (x1 from B). Then S_1 = 1/5, S_T1 = 1/5.
    #[test]
    fn every_estimator_is_exact_on_population_moments() {
        // E x = 1/2, E x^2 = 1/3, Var x = 1/12; Var f = 5/12; E f = 3/2; E f^2 = 5/12 + 9/4.
        let (m, m2) = (1.5, 5.0 / 12.0 + 2.25);
        let ab = m * m; // independent
        let ac = 4.0 / 12.0 + m * m; // share x2: Cov = 4 Var x2
        let bc = 1.0 / 12.0 + m * m; // share x1: Cov = Var x1
        let z = [m, m, m, m2, m2, m2, ab, ac, bc].map(Dual::constant);
        for e in Estimator::ALL {
            let (s, t) = e.indices(&z);
            assert!((s.v - 0.2).abs() < 1e-12, "{e:?} first order {}", s.v);
            assert!((t.v - 0.2).abs() < 1e-12, "{e:?} total {}", t.v);
        }
    }

    #[test]
    fn names_round_trip() {
        for e in Estimator::ALL {
            assert_eq!(e.name().parse::<Estimator>().unwrap(), e);
        }
        let err = "sobol".parse::<Estimator>().unwrap_err().to_string();
        assert!(err.contains("unknown estimator `sobol`"), "{err}");
    }
}
