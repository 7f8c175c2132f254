//! The linear assignment problem: optimal transport between two uniform measures of equal size.
//!
//! For $n$ sources and $m \ge n$ targets with cost matrix $C$, find an injective
//! $\sigma : \lbrace 1..n\rbrace \to \lbrace 1..m\rbrace$ minimising
//! $\sum_i C_{i \sigma(i)}$. With $n = m$ and uniform weights this is exact optimal transport:
//! the transport polytope's vertices are the permutation matrices (Birkhoff–von Neumann), so
//! an optimal plan moves each point whole. The dual is
//! $\max \sum_i u_i + \sum_j v_j$ with $u_i + v_j \le C_{ij}$.
//!
//! # The algorithm
//! Shortest augmenting paths with potentials, in the form of Jonker and Volgenant (1987) as
//! reorganised by Crouse (2016): sources are assigned one at a time; each assignment runs a
//! Dijkstra search over the reduced costs $C_{ij} - u_i - v_j \ge 0$ from the new source to
//! the nearest free target, then flips the path and updates the potentials so reduced costs
//! stay non-negative. Worst case $O(n^2 m)$; on geometric costs far less.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_transport::assignment::linear_assignment;
//! let c = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0]);
//! let a = linear_assignment(&c).unwrap();
//! assert_eq!(a.target_of, vec![1, 0, 2]);
//! assert_eq!(a.cost, 5.0);
//! ```
//!
//! # References
//! - R. Jonker, A. Volgenant, "A shortest augmenting path algorithm for dense and sparse linear
//!   assignment problems", Computing 38, 1987.
//! - D. F. Crouse, "On implementing 2D rectangular assignment algorithms", IEEE Trans. Aerospace
//!   and Electronic Systems 52(4), 2016.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

use crate::cost::check_cost;

/// An optimal assignment with its dual potentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// `target_of[i]`: the target assigned to source `i`.
    pub target_of: Vec<usize>,
    /// $\sum_i C_{i, \sigma(i)}$ (a sum, not an average).
    pub cost: f64,
    /// Source potentials $u_i$.
    pub source_potential: Vec<f64>,
    /// Target potentials $v_j$: $u_i + v_j \le C_{ij}$ with equality on the assignment.
    pub target_potential: Vec<f64>,
}

/// Solves the assignment problem for an $n \times m$ cost matrix with $n \le m$.
///
/// # Errors
/// [`Error::EmptyInput`], [`Error::NonFinite`], and [`Error::InvalidParameter`] when there are
/// more sources than targets (transpose the matrix).
pub fn linear_assignment(cost: &DMatrix<f64>) -> Result<Assignment> {
    check_cost(cost)?;
    let (n, m) = cost.shape();
    if n > m {
        return Err(Error::invalid_parameter(
            "cost matrix",
            format!("needs at most as many rows (sources, {n}) as columns (targets, {m})"),
        ));
    }
    // The search reads one row of the internal problem at a time; make rows contiguous. For
    // n = m the internal rows are the targets (the columns of the column-major matrix, no
    // copy); for n < m every source must be matched, so the internal rows are the sources,
    // copied row-major.
    if n == m {
        let rows: Vec<&[f64]> = cost.as_slice().chunks_exact(n).collect();
        let (source_of, v, u) = shortest_augmenting_paths(&rows, n);
        let mut target_of = vec![0; n];
        for (j, &i) in source_of.iter().enumerate() {
            target_of[i] = j;
        }
        Ok(finish(cost, target_of, u, v))
    } else {
        let t = cost.transpose();
        let rows: Vec<&[f64]> = t.as_slice().chunks_exact(m).collect();
        let (target_of, u, v) = shortest_augmenting_paths(&rows, m);
        Ok(finish(cost, target_of, u, v))
    }
}

fn finish(cost: &DMatrix<f64>, target_of: Vec<usize>, u: Vec<f64>, v: Vec<f64>) -> Assignment {
    let total = target_of
        .iter()
        .enumerate()
        .map(|(i, &j)| cost[(i, j)])
        .sum();
    Assignment {
        target_of,
        cost: total,
        source_potential: u,
        target_potential: v,
    }
}

/// Crouse's algorithm on `rows.len() <= ncols` contiguous rows; returns the column of each row
/// and the row and column potentials.
fn shortest_augmenting_paths(rows: &[&[f64]], ncols: usize) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    const FREE: usize = usize::MAX;
    let nrows = rows.len();
    let mut u = vec![0.0; nrows];
    let mut v = vec![0.0; ncols];
    let mut col_of = vec![FREE; nrows];
    let mut row_of = vec![FREE; ncols];
    let mut shortest = vec![f64::INFINITY; ncols];
    let mut path = vec![FREE; ncols];
    let mut scanned_row = vec![false; nrows];
    let mut scanned_col = vec![false; ncols];
    let mut remaining: Vec<usize> = Vec::with_capacity(ncols);
    for start in 0..nrows {
        shortest.fill(f64::INFINITY);
        scanned_row.fill(false);
        scanned_col.fill(false);
        remaining.clear();
        remaining.extend((0..ncols).rev());
        let mut i = start;
        let mut min_val = 0.0;
        let sink = loop {
            scanned_row[i] = true;
            let row = rows[i];
            let ui = u[i];
            let mut lowest = f64::INFINITY;
            let mut index = 0;
            for (k, &j) in remaining.iter().enumerate() {
                let r = min_val + row[j] - ui - v[j];
                if r < shortest[j] {
                    path[j] = i;
                    shortest[j] = r;
                }
                // Among equally short, prefer a free column: the search ends sooner.
                if shortest[j] < lowest || (shortest[j] == lowest && row_of[j] == FREE) {
                    lowest = shortest[j];
                    index = k;
                }
            }
            // Costs are finite, so some column is always reachable.
            min_val = lowest;
            let j = remaining.swap_remove(index);
            scanned_col[j] = true;
            if row_of[j] == FREE {
                break j;
            }
            i = row_of[j];
        };
        u[start] += min_val;
        for s in 0..nrows {
            if scanned_row[s] && s != start {
                u[s] += min_val - shortest[col_of[s]];
            }
        }
        for j in 0..ncols {
            if scanned_col[j] {
                v[j] -= min_val - shortest[j];
            }
        }
        let mut j = sink;
        loop {
            let s = path[j];
            row_of[j] = s;
            std::mem::swap(&mut col_of[s], &mut j);
            if s == start {
                break;
            }
        }
    }
    (col_of, u, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network_simplex::{ExactOptions, network_simplex};
    use proptest::prelude::*;
    use uqforge_core::rng::{rng_from_seed, uniform01};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn assignment_is_optimal_and_dual_feasible(n in 1usize..25, extra in 0usize..4, seed in any::<u64>(), ties in any::<bool>()) {
            let m = n + extra;
            let mut rng = rng_from_seed(seed);
            let c = DMatrix::from_fn(n, m, |_, _| {
                let x = uniform01(&mut rng);
                if ties { (x * 4.0).floor() } else { x }
            });
            let a = linear_assignment(&c).unwrap();
            let mut seen = vec![false; m];
            for &j in &a.target_of { prop_assert!(!seen[j]); seen[j] = true; }
            for i in 0..n {
                for j in 0..m {
                    let r = c[(i, j)] - a.source_potential[i] - a.target_potential[j];
                    prop_assert!(r >= -1e-9, "reduced cost {}", r);
                }
                let r = c[(i, a.target_of[i])] - a.source_potential[i] - a.target_potential[a.target_of[i]];
                prop_assert!(r.abs() <= 1e-9);
            }
            if n == m {
                // Independent solver: the network simplex on the uniform measures.
                let w = vec![1.0; n];
                let ot = network_simplex(&w, &w, &c, &ExactOptions::default()).unwrap();
                prop_assert!((ot.cost - a.cost).abs() <= 1e-9 * a.cost.abs().max(1.0));
            }
        }
    }

    #[test]
    fn refuses_more_sources_than_targets() {
        let c = DMatrix::from_element(3, 2, 1.0);
        assert!(matches!(
            linear_assignment(&c),
            Err(Error::InvalidParameter { .. })
        ));
    }
}
