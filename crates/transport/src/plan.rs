//! Sparse transport plans: the list of $(i, j, \pi_{ij})$ with $\pi_{ij} > 0$.
//!
//! Exact solvers return a vertex of the transport polytope, which has at most $n + m - 1$
//! non-zero entries; storing it as a list instead of an $n \times m$ matrix is what lets
//! $n = m = 10\thinspace 000$ fit beside the cost matrix.

use serde::{Deserialize, Serialize};

/// One non-zero entry of a transport plan: `mass` moves from source point `source` to target
/// point `target`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// Index of the source point (row of the source matrix).
    pub source: usize,
    /// Index of the target point.
    pub target: usize,
    /// Mass moved, $\pi_{ij} > 0$.
    pub mass: f64,
}

/// The largest absolute violation of the marginal constraints
/// $\sum_j \pi_{ij} = a_i$, $\sum_i \pi_{ij} = b_j$.
///
/// ```
/// use uqforge_transport::plan::{marginal_error, PlanEntry};
/// let plan = [PlanEntry { source: 0, target: 1, mass: 0.5 }];
/// assert_eq!(marginal_error(&plan, &[0.5], &[0.0, 0.75]), 0.25);
/// ```
pub fn marginal_error(plan: &[PlanEntry], a: &[f64], b: &[f64]) -> f64 {
    let mut rows = a.to_vec();
    let mut cols = b.to_vec();
    for e in plan {
        rows[e.source] -= e.mass;
        cols[e.target] -= e.mass;
    }
    rows.iter()
        .chain(&cols)
        .fold(0.0_f64, |m, r| m.max(r.abs()))
}

/// $\sum_{(i, j)} \pi_{ij} c(i, j)$ over the entries of a plan.
pub fn plan_cost(plan: &[PlanEntry], cost: impl Fn(usize, usize) -> f64) -> f64 {
    plan.iter().map(|e| e.mass * cost(e.source, e.target)).sum()
}
