//! Unbalanced entropic transport: marginals penalised by Kullback–Leibler divergences.
//!
//! Balanced transport must move all the mass, so a few outliers or a mismatch of total mass
//! (a cluster present in one sample and not in the other) force long, costly moves.
//! Unbalanced transport replaces the marginal constraints by penalties (Chizat et al. 2018):
//!
//! $$ \min_{\pi \ge 0} \thinspace \langle C, \pi\rangle
//!    + \varepsilon \thinspace \mathrm{KL}(\pi | a \otimes b)
//!    + \rho_a \thinspace \mathrm{KL}(\pi \mathbf 1 | a)
//!    + \rho_b \thinspace \mathrm{KL}(\pi^\top \mathbf 1 | b) , $$
//!
//! with the generalised divergence $\mathrm{KL}(p | q) = \sum_k p_k \log(p_k/q_k) - p_k + q_k$,
//! so the masses of $a$ and $b$ may differ. Mass is created or destroyed where moving it
//! would cost more than about $\rho$; as $\rho \to \infty$ the balanced problem returns.
//!
//! # Iterations
//! The optimal plan is again $\pi_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}$ and the
//! optimality conditions read $\pi \mathbf 1 = a \odot e^{-f/\rho_a}$,
//! $\pi^\top \mathbf 1 = b \odot e^{-g/\rho_b}$. Solving the first for $f$ gives the balanced
//! Sinkhorn update damped by $\lambda_a = \rho_a / (\rho_a + \varepsilon)$:
//!
//! $$ f_i \leftarrow -\lambda_a \thinspace \varepsilon \log \sum_j b_j
//!    e^{(g_j - C_{ij})/\varepsilon} , $$
//!
//! and symmetrically for $g$, in the log domain (stable for every $\varepsilon$). The damping
//! makes the iteration a contraction: fewer iterations than balanced Sinkhorn unless
//! $\rho \gg \varepsilon$. The solver stops when the unmet optimality condition (the column
//! one, after a row update) has an $L^1$ error below the tolerance, and reports it as
//! `optimality_error`. It also returns the primal and the dual objective,
//!
//! $$ -\rho_a \langle a, e^{-f/\rho_a} - 1\rangle - \rho_b \langle b, e^{-g/\rho_b} - 1\rangle
//!    - \varepsilon \langle a \otimes b, e^{(f \oplus g - C)/\varepsilon} - 1\rangle , $$
//!
//! equal at the optimum (a check of convergence the user can read).
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_transport::unbalanced::{unbalanced_matrix, UnbalancedOptions};
//! // One unit of mass against two, far apart: little is moved, mass is not conserved. The
//! // closed form is p = exp((-c + (eps + rho) log(a b)) / (eps + 2 rho)) = 0.214.
//! let cost = DMatrix::from_element(1, 1, 4.0);
//! let o = UnbalancedOptions { epsilon: 0.1, source_penalty: 1.0, target_penalty: 1.0,
//!                             ..UnbalancedOptions::default() };
//! let ot = unbalanced_matrix(&[1.0], &[2.0], &cost, &o).unwrap();
//! let p = ((-4.0 + 1.1 * 2f64.ln()) / 2.1).exp();
//! assert!((ot.transported_mass - p).abs() < 1e-8); // the default tolerance is 1e-9
//! assert!((ot.objective - ot.dual_objective).abs() < 1e-8);
//! ```
//!
//! # References
//! - L. Chizat, G. Peyré, B. Schmitzer, F.-X. Vialard, "Scaling algorithms for unbalanced
//!   optimal transport problems", Mathematics of Computation 87(314), 2018.
//! - T. Séjourné, J. Feydy, F.-X. Vialard, A. Trouvé, G. Peyré, "Sinkhorn divergences for
//!   unbalanced optimal transport", arXiv:1910.12958, 2019.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::cost::{GroundCost, check_shapes};
use crate::measure::{DiscreteMeasure, check_weights};
use crate::sinkhorn::{entropic_plan, logs, update_columns, update_rows};

/// Settings of [`unbalanced_matrix`] and [`unbalanced`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UnbalancedOptions {
    /// Entropic regularisation $\varepsilon > 0$ (default 0.1).
    pub epsilon: f64,
    /// Penalty $\rho_a > 0$ on the source marginal (POT's `reg_m`; default 1).
    pub source_penalty: f64,
    /// Penalty $\rho_b > 0$ on the target marginal (default 1).
    pub target_penalty: f64,
    /// Stop when the $L^1$ error of the optimality conditions is below this (default
    /// $10^{-9}$).
    pub tolerance: f64,
    /// Iteration limit (default 100 000).
    pub max_iterations: usize,
}

impl Default for UnbalancedOptions {
    fn default() -> Self {
        Self {
            epsilon: 0.1,
            source_penalty: 1.0,
            target_penalty: 1.0,
            tolerance: 1e-9,
            max_iterations: 100_000,
        }
    }
}

/// An unbalanced entropic plan with its objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnbalancedTransport {
    /// The $n \times m$ plan.
    pub plan: DMatrix<f64>,
    /// Transport cost $\langle C, \pi\rangle$ (no entropy, no penalties).
    pub cost: f64,
    /// The primal objective (cost, entropy and both marginal penalties).
    pub objective: f64,
    /// The dual objective at the returned potentials.
    pub dual_objective: f64,
    /// Source potentials $f$.
    pub source_potential: Vec<f64>,
    /// Target potentials $g$.
    pub target_potential: Vec<f64>,
    /// Total mass of the plan.
    pub transported_mass: f64,
    /// Iterations (one $f$ and one $g$ update each).
    pub iterations: usize,
    /// Largest absolute violation of the optimality conditions
    /// $\pi \mathbf 1 = a \odot e^{-f/\rho_a}$, $\pi^\top \mathbf 1 = b \odot e^{-g/\rho_b}$.
    pub optimality_error: f64,
    /// The regularisation used.
    pub epsilon: f64,
}

/// Unbalanced entropic transport between two measures for a ground cost.
///
/// # Errors
/// Those of [`GroundCost::matrix`] and [`unbalanced_matrix`].
pub fn unbalanced(
    source: &DiscreteMeasure,
    target: &DiscreteMeasure,
    cost: GroundCost,
    options: &UnbalancedOptions,
) -> Result<UnbalancedTransport> {
    let c = cost.matrix(source.points(), target.points())?;
    unbalanced_matrix(
        source.weights().as_slice(),
        target.weights().as_slice(),
        &c,
        options,
    )
}

/// Unbalanced entropic transport for weights `a` (rows of `cost`) and `b` (columns), of any
/// total masses.
///
/// # Errors
/// [`Error::InvalidParameter`] for a non-positive or non-finite $\varepsilon$, penalty or
/// tolerance; the weight and cost errors of [`crate::sinkhorn::sinkhorn_matrix`] except the
/// mass balance; [`Error::DidNotConverge`] at the iteration limit.
pub fn unbalanced_matrix(
    a: &[f64],
    b: &[f64],
    cost: &DMatrix<f64>,
    options: &UnbalancedOptions,
) -> Result<UnbalancedTransport> {
    for (name, v) in [
        ("epsilon", options.epsilon),
        ("source_penalty", options.source_penalty),
        ("target_penalty", options.target_penalty),
        ("tolerance", options.tolerance),
    ] {
        validate::positive(name, v)?;
        if !v.is_finite() {
            return Err(Error::invalid_parameter(
                name,
                "must be finite (an infinite penalty is balanced transport: use sinkhorn)",
            ));
        }
    }
    check_shapes(a, b, cost)?;
    check_weights("source weights", a)?;
    check_weights("target weights", b)?;
    let eps = options.epsilon;
    let (rho_a, rho_b) = (options.source_penalty, options.target_penalty);
    let (lambda_a, lambda_b) = (rho_a / (rho_a + eps), rho_b / (rho_b + eps));
    let (log_a, log_b) = (logs(a), logs(b));
    let (n, m) = cost.shape();
    let mut f = vec![0.0; n];
    let mut g = vec![0.0; m];
    let mut g_fit = vec![0.0; m];
    let mut iterations = 0;
    loop {
        update_columns(&log_a, &f, cost, eps, &mut g_fit);
        if iterations > 0 {
            // Column sums of the plan of (f, g) are b_j exp((g_j - G_j)/eps).
            let error: f64 = b
                .iter()
                .zip(&g)
                .zip(&g_fit)
                .map(|((bj, gj), gf)| bj * (((gj - gf) / eps).exp() - (-gj / rho_b).exp()).abs())
                .sum();
            if !error.is_finite() {
                return Err(Error::degenerate(
                    "unbalanced Sinkhorn",
                    "non-finite optimality error (please report)",
                ));
            }
            if error <= options.tolerance {
                break;
            }
            if iterations >= options.max_iterations {
                return Err(Error::DidNotConverge {
                    what: "unbalanced Sinkhorn (optimality conditions)".into(),
                    iterations,
                    residual: error,
                });
            }
        }
        g.iter_mut()
            .zip(&g_fit)
            .for_each(|(gj, gf)| *gj = lambda_b * gf);
        update_rows(&log_b, &g, cost, eps, &mut f);
        f.iter_mut().for_each(|fi| *fi *= lambda_a);
        iterations += 1;
    }
    let plan = entropic_plan(a, b, cost, &f, &g, eps);
    let rows = plan.column_sum();
    let cols = plan.row_sum();
    let kl = |p: f64, q: f64| {
        if p > 0.0 { p * (p / q).ln() - p + q } else { q }
    };
    let transport_cost: f64 = plan.iter().zip(cost.iter()).map(|(p, c)| p * c).sum();
    let mut entropy = 0.0;
    for j in 0..m {
        for i in 0..n {
            entropy += kl(plan[(i, j)], a[i] * b[j]);
        }
    }
    let marginal_penalty =
        |sums: &[f64], w: &[f64]| -> f64 { sums.iter().zip(w).map(|(s, wi)| kl(*s, *wi)).sum() };
    let objective = transport_cost
        + eps * entropy
        + rho_a * marginal_penalty(rows.as_slice(), a)
        + rho_b * marginal_penalty(cols.as_slice(), b);
    let mass_a: f64 = a.iter().sum();
    let mass_b: f64 = b.iter().sum();
    let transported_mass = plan.sum();
    let dual_objective = -rho_a
        * a.iter()
            .zip(&f)
            .map(|(w, p)| w * ((-p / rho_a).exp() - 1.0))
            .sum::<f64>()
        - rho_b
            * b.iter()
                .zip(&g)
                .map(|(w, p)| w * ((-p / rho_b).exp() - 1.0))
                .sum::<f64>()
        - eps * (transported_mass - mass_a * mass_b);
    let optimality_error = rows
        .iter()
        .zip(a)
        .zip(&f)
        .map(|((r, w), p)| (r - w * (-p / rho_a).exp()).abs())
        .chain(
            cols.iter()
                .zip(b)
                .zip(&g)
                .map(|((c, w), p)| (c - w * (-p / rho_b).exp()).abs()),
        )
        .fold(0.0, f64::max);
    Ok(UnbalancedTransport {
        plan,
        cost: transport_cost,
        objective,
        dual_objective,
        source_potential: f,
        target_potential: g,
        transported_mass,
        iterations,
        optimality_error,
        epsilon: eps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinkhorn::{SinkhornOptions, sinkhorn_matrix};
    use uqforge_core::rng::{rng_from_seed, uniform01};

    #[test]
    fn one_point_closed_form() {
        // n = m = 1: the first-order condition of
        // c p + eps KL(p | a b) + rho KL(p | a) + rho KL(p | b) gives
        // log p = (-c + (eps + rho) log(a b)) / (eps + 2 rho).
        for (a, b, c, eps, rho) in [(1.0, 2.0, 4.0, 0.1, 1.0), (0.3, 0.7, 0.5, 1.0, 5.0)] {
            let o = UnbalancedOptions {
                epsilon: eps,
                source_penalty: rho,
                target_penalty: rho,
                tolerance: 1e-14,
                ..UnbalancedOptions::default()
            };
            let ot = unbalanced_matrix(&[a], &[b], &DMatrix::from_element(1, 1, c), &o).unwrap();
            let p = ((-c + (eps + rho) * (a * b).ln()) / (eps + 2.0 * rho)).exp();
            assert!(
                (ot.plan[(0, 0)] - p).abs() < 1e-13 * p.max(1.0),
                "{} vs {p}",
                ot.plan[(0, 0)]
            );
        }
    }

    fn random_problem(n: usize, m: usize, seed: u64) -> (Vec<f64>, Vec<f64>, DMatrix<f64>) {
        let mut rng = rng_from_seed(seed);
        let a: Vec<f64> = (0..n).map(|_| uniform01(&mut rng)).collect();
        let b: Vec<f64> = (0..m).map(|_| 2.0 * uniform01(&mut rng)).collect();
        let c = DMatrix::from_fn(n, m, |_, _| 3.0 * uniform01(&mut rng));
        (a, b, c)
    }

    #[test]
    fn strong_duality_and_optimality() {
        let (a, b, c) = random_problem(20, 30, 1);
        for (eps, rho_a, rho_b) in [(0.1, 1.0, 2.0), (0.5, 10.0, 0.3)] {
            let o = UnbalancedOptions {
                epsilon: eps,
                source_penalty: rho_a,
                target_penalty: rho_b,
                tolerance: 1e-12,
                ..UnbalancedOptions::default()
            };
            let ot = unbalanced_matrix(&a, &b, &c, &o).unwrap();
            assert!(ot.optimality_error < 1e-12);
            assert!(
                (ot.objective - ot.dual_objective).abs() < 1e-9 * ot.objective.abs(),
                "{} vs {}",
                ot.objective,
                ot.dual_objective
            );
            // A perturbation of the plan along a positive direction does not lower the
            // primal objective (checked independently of the potentials).
            let primal = |p: &DMatrix<f64>| -> f64 {
                let kl = |x: f64, q: f64| x * (x / q).ln() - x + q;
                let mut v = 0.0;
                for i in 0..20 {
                    for j in 0..30 {
                        v += p[(i, j)] * c[(i, j)] + eps * kl(p[(i, j)], a[i] * b[j]);
                    }
                }
                let (r, s) = (p.column_sum(), p.row_sum());
                v + rho_a * (0..20).map(|i| kl(r[i], a[i])).sum::<f64>()
                    + rho_b * (0..30).map(|j| kl(s[j], b[j])).sum::<f64>()
            };
            assert!((primal(&ot.plan) - ot.objective).abs() < 1e-12 * ot.objective.abs());
            for scale in [0.999, 1.001] {
                assert!(primal(&(&ot.plan * scale)) > ot.objective);
            }
        }
    }

    #[test]
    fn large_penalties_recover_balanced_transport() {
        let (a, _, c) = random_problem(15, 15, 2);
        let total: f64 = a.iter().sum();
        let w: Vec<f64> = a.iter().map(|x| x / total).collect();
        let eps = 0.2;
        let balanced = sinkhorn_matrix(
            &w,
            &w,
            &c,
            &SinkhornOptions {
                epsilon: eps,
                ..SinkhornOptions::default()
            },
        )
        .unwrap();
        let mut last = f64::INFINITY;
        for rho in [1.0, 10.0, 100.0, 1000.0] {
            let o = UnbalancedOptions {
                epsilon: eps,
                source_penalty: rho,
                target_penalty: rho,
                ..UnbalancedOptions::default()
            };
            let ot = unbalanced_matrix(&w, &w, &c, &o).unwrap();
            let gap = (&ot.plan - &balanced.plan).abs().max();
            assert!(gap < last, "rho {rho}: {gap}");
            last = gap;
        }
        assert!(last < 1e-3, "{last}");
    }

    #[test]
    fn bad_input_is_refused() {
        let c = DMatrix::from_element(2, 2, 1.0);
        let o = UnbalancedOptions::default();
        assert!(unbalanced_matrix(&[1.0, 1.0], &[0.5, 0.2], &c, &o).is_ok());
        for bad in [
            UnbalancedOptions { epsilon: 0.0, ..o },
            UnbalancedOptions {
                source_penalty: -1.0,
                ..o
            },
            UnbalancedOptions {
                target_penalty: f64::INFINITY,
                ..o
            },
        ] {
            assert!(matches!(
                unbalanced_matrix(&[1.0, 1.0], &[1.0, 1.0], &c, &bad),
                Err(Error::InvalidParameter { .. })
            ));
        }
        assert!(unbalanced_matrix(&[1.0, -1.0], &[1.0, 1.0], &c, &o).is_err());
        assert!(unbalanced_matrix(&[1.0], &[1.0, 1.0], &c, &o).is_err());
    }
}
