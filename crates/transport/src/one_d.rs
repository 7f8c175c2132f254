//! One-dimensional optimal transport in closed form: the monotone (quantile) coupling.
//!
//! On the line, for a cost $c(x, y) = h(x - y)$ with $h$ convex (here $|x - y|^p$, $p \ge 1$),
//! the optimal plan couples quantiles: with $F^{-1}$, $G^{-1}$ the quantile functions of the
//! two measures,
//!
//! $$ \mathcal T_c(\mu, \nu) = \int_0^1 h\big(F^{-1}(t) - G^{-1}(t)\big) \thinspace dt , $$
//!
//! and for weighted samples the integrand is piecewise constant: sort both samples, then walk
//! the two cumulative weight sequences, moving at each step the smaller of the two remaining
//! masses (the north-west corner rule on sorted points). The plan has at most $n + m - 1$
//! entries and costs $O(n \log n + m \log m)$. For $p < 1$ the cost is concave in $x - y$ and
//! the monotone plan is no longer optimal, so it is refused.
//!
//! ```
//! use uqforge_transport::one_d::wasserstein_1d;
//! use uqforge_transport::Balance;
//! // Uniform on {0, 1} against uniform on {1, 2}: W_1 = 1, W_2^2 = 1.
//! let w = [0.5, 0.5];
//! let ot = wasserstein_1d(&[1.0, 0.0], &w, &[2.0, 1.0], &w, 2.0, &Balance::default()).unwrap();
//! assert_eq!(ot.cost, 1.0);
//! assert_eq!(ot.plan.len(), 2);
//! ```
//!
//! Reference: G. Peyré, M. Cuturi, *Computational Optimal Transport*, Foundations and Trends
//! in Machine Learning 11(5–6), 2019, section 2.6.

use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::measure::Balance;
use crate::plan::PlanEntry;

/// The monotone plan and its cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneDimensional {
    /// The quantile coupling as non-zero entries (indices into the unsorted inputs).
    pub plan: Vec<PlanEntry>,
    /// $\sum \pi_{ij} |x_i - y_j|^p$, that is $W_p^p$ for normalised weights.
    pub cost: f64,
}

/// Optimal transport between weighted samples `x` (weights `a`) and `y` (weights `b`) on the
/// line, for the cost $|x - y|^p$.
///
/// # Errors
/// [`Error::EmptyInput`], [`Error::NonFinite`], [`Error::DimensionMismatch`] between values
/// and weights, the errors of [`Balance::apply`], and [`Error::InvalidParameter`] for $p < 1$.
pub fn wasserstein_1d(
    x: &[f64],
    a: &[f64],
    y: &[f64],
    b: &[f64],
    p: f64,
    balance: &Balance,
) -> Result<OneDimensional> {
    check_power(p)?;
    check_values(x, a, y, b)?;
    let (a, b) = balance.apply(a, b)?;
    let sx = sorted_order(x);
    let sy = sorted_order(y);
    let mut plan = Vec::with_capacity(x.len() + y.len());
    let mut cost = 0.0;
    monotone_coupling(&sx, &a, &sy, &b, |i, j, mass| {
        cost += mass * (x[i] - y[j]).abs().powf(p);
        plan.push(PlanEntry {
            source: i,
            target: j,
            mass,
        });
    });
    Ok(OneDimensional { plan, cost })
}

pub(crate) fn check_power(p: f64) -> Result<()> {
    if !(p >= 1.0 && p.is_finite()) {
        return Err(Error::invalid_parameter(
            "p",
            format!("the closed form needs a convex cost |x - y|^p with finite p >= 1, got {p}"),
        ));
    }
    Ok(())
}

fn check_values(x: &[f64], a: &[f64], y: &[f64], b: &[f64]) -> Result<()> {
    validate::non_empty("source values", x)?;
    validate::non_empty("target values", y)?;
    validate::finite("source values", x)?;
    validate::finite("target values", y)?;
    validate::len("source weights", x.len(), a.len())?;
    validate::len("target weights", y.len(), b.len())
}

/// Indices of `v` in increasing order of value (values are finite).
pub(crate) fn sorted_order(v: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_unstable_by(|&i, &j| v[i].total_cmp(&v[j]));
    idx
}

/// Walks the two sorted samples (orders `sx`, `sy`), calling `visit(i, j, mass)` for each
/// positive mass of the monotone coupling. The totals of `a` and `b` are equal up to rounding.
pub(crate) fn monotone_coupling(
    sx: &[usize],
    a: &[f64],
    sy: &[usize],
    b: &[f64],
    mut visit: impl FnMut(usize, usize, f64),
) {
    let (mut k, mut l) = (0, 0);
    let (mut ra, mut rb) = (a[sx[0]], b[sy[0]]);
    while k < sx.len() && l < sy.len() {
        let (i, j) = (sx[k], sy[l]);
        if ra <= rb {
            if ra > 0.0 {
                visit(i, j, ra);
            }
            rb -= ra;
            k += 1;
            ra = sx.get(k).map_or(0.0, |&i| a[i]);
        } else {
            if rb > 0.0 {
                visit(i, j, rb);
            }
            ra -= rb;
            l += 1;
            rb = sy.get(l).map_or(0.0, |&j| b[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network_simplex::{ExactOptions, network_simplex};
    use crate::plan::marginal_error;
    use nalgebra::DMatrix;
    use proptest::prelude::*;
    use uqforge_core::rng::{rng_from_seed, standard_normal, uniform01};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn closed_form_equals_the_exact_solver(
            n in 1usize..30, m in 1usize..30, seed in any::<u64>(), p in prop::sample::select(vec![1.0, 1.5, 2.0, 3.0])
        ) {
            let mut rng = rng_from_seed(seed);
            // Rounded values: ties in position are frequent.
            let x: Vec<f64> = (0..n).map(|_| (4.0 * standard_normal(&mut rng)).round() / 4.0).collect();
            let y: Vec<f64> = (0..m).map(|_| (4.0 * standard_normal(&mut rng)).round() / 4.0 + 0.5).collect();
            let a: Vec<f64> = (0..n).map(|_| uniform01(&mut rng)).collect();
            let mut b: Vec<f64> = (0..m).map(|_| uniform01(&mut rng)).collect();
            let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
            b.iter_mut().for_each(|v| *v *= sa / sb);
            let ot = wasserstein_1d(&x, &a, &y, &b, p, &Balance::default()).unwrap();
            let c = DMatrix::from_fn(n, m, |i, j| (x[i] - y[j]).abs().powf(p));
            let exact = network_simplex(&a, &b, &c, &ExactOptions::default()).unwrap();
            prop_assert!((ot.cost - exact.cost).abs() <= 1e-10 * exact.cost.max(1e-3));
            prop_assert!(marginal_error(&ot.plan, &a, &b) < 1e-12);
            prop_assert!(ot.plan.len() < n + m);
        }
    }

    #[test]
    fn gaussian_quantiles() {
        // W_2^2 between N(0, 1) and N(3, 4) is 3^2 + (2 - 1)^2 = 10; quantile grids of both.
        let k = 20_000;
        let q = |t: f64| uqforge_core::estimate::normal_quantile(t).unwrap();
        let x: Vec<f64> = (0..k).map(|i| q((i as f64 + 0.5) / k as f64)).collect();
        let y: Vec<f64> = x.iter().rev().map(|v| 3.0 + 2.0 * v).collect();
        let w = vec![1.0 / k as f64; k];
        let ot = wasserstein_1d(&x, &w, &y, &w, 2.0, &Balance::default()).unwrap();
        assert!((ot.cost - 10.0).abs() < 2e-3, "{}", ot.cost);
    }

    #[test]
    fn refuses_concave_costs_and_bad_values() {
        let w = [1.0];
        let b = Balance::default();
        assert!(wasserstein_1d(&[0.0], &w, &[1.0], &w, 0.5, &b).is_err());
        assert!(wasserstein_1d(&[f64::NAN], &w, &[1.0], &w, 1.0, &b).is_err());
        assert!(wasserstein_1d(&[], &[], &[1.0], &w, 1.0, &b).is_err());
        assert!(wasserstein_1d(&[0.0, 1.0], &w, &[1.0], &w, 1.0, &b).is_err());
    }
}
