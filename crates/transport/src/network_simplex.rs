//! Exact optimal transport by the network simplex method.
//!
//! # The problem
//! Kantorovich's problem between $\mu = \sum_i a_i \delta_{x_i}$ and
//! $\nu = \sum_j b_j \delta_{y_j}$ with cost matrix $C$ is the linear programme
//!
//! $$ \min_{\pi \ge 0} \sum_{ij} C_{ij} \pi_{ij}
//!    \quad\text{subject to}\quad \sum_j \pi_{ij} = a_i, \quad \sum_i \pi_{ij} = b_j , $$
//!
//! and its dual is $\max_{u, v} \sum_i a_i u_i + \sum_j b_j v_j$ subject to
//! $u_i + v_j \le C_{ij}$. At the optimum the two values are equal and complementary
//! slackness holds: $\pi_{ij} > 0 \Rightarrow u_i + v_j = C_{ij}$. Monge's problem (one target
//! per source, a map) is the special case where the optimal plan is a permutation; for
//! uniform weights with $n = m$ there always is such an optimum (Birkhoff), and
//! [`crate::assignment`] solves it directly.
//!
//! # The algorithm
//! The problem is a minimum-cost flow on the complete bipartite graph from sources to targets.
//! A basic solution is a spanning tree of $n + m - 1$ arcs (the only arcs that may carry
//! mass); the tree fixes the potentials through $u_i + v_j = C_{ij}$ on its arcs. Each
//! iteration (a *pivot*):
//!
//! 1. looks for an arc of negative reduced cost $r_{ij} = C_{ij} - u_i - v_j$ (block search:
//!    scan $\sqrt{nm}$ arcs from where the last scan stopped, take the most negative;
//!    Grigoriadis 1986);
//! 2. adds it to the tree, which closes a cycle; pushes mass $\theta$ around the cycle until
//!    an arc on it empties (that arc leaves the tree);
//! 3. updates the potentials of the subtree cut off by the leaving arc by $\pm r_{ij}$.
//!
//! When no arc has $r_{ij} < 0$ (up to $10^{-12}$ of the largest cost), the tree's flow is
//! optimal and its potentials are an optimal dual. Transport problems are highly degenerate
//! (many arcs with zero flow, $\theta = 0$), which can make the simplex cycle; the leaving
//! arc is chosen by Cunningham's rule (the last blocking arc met from the cycle's apex along
//! the entering arc's direction), which keeps the tree *strongly feasible* and guarantees
//! termination. The start is LEMON's: an artificial root joined to every point by an
//! artificial arc carrying its whole mass, with a cost that makes every artificial path
//! dearer than a direct arc, so that artificial arcs end empty.
//!
//! The tree is stored by parent pointers, depths and child lists; a pivot costs the cycle
//! length plus the size of the subtree that moves. The plan is returned as the list of tree
//! arcs with positive mass (at most $n + m - 1$): nothing of size $nm$ is allocated beyond
//! the cost matrix. Flows and potentials are recomputed exactly from the final tree, so the
//! marginals hold to rounding and the dual objective equals the primal cost to about
//! $10^{-12}$ relative.
//!
//! # Example
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_transport::network_simplex::{network_simplex, ExactOptions};
//! // Two sources, two targets: moving straight across costs 1 + 1.
//! let cost = DMatrix::from_row_slice(2, 2, &[1.0, 4.0, 4.0, 1.0]);
//! let ot = network_simplex(&[0.5, 0.5], &[0.5, 0.5], &cost, &ExactOptions::default()).unwrap();
//! assert!((ot.cost - 1.0).abs() < 1e-12);
//! assert!((ot.dual_objective - ot.cost).abs() < 1e-12);
//! assert_eq!(ot.plan.len(), 2);
//! ```
//!
//! # References
//! - N. Bonneel, M. van de Panne, S. Paris, W. Heidrich, "Displacement interpolation using
//!   Lagrangian mass transport", ACM Trans. Graphics 30(6), 2011 (the network simplex of POT).
//! - P. Kovács, "Minimum-cost flow algorithms: an experimental evaluation", Optimization
//!   Methods and Software 30(1), 2015 (LEMON's implementation).
//! - W. H. Cunningham, "A network simplex method", Mathematical Programming 11, 1976.
//! - R. K. Ahuja, T. L. Magnanti, J. B. Orlin, *Network Flows*, Prentice Hall, 1993, ch. 11.
//! - M. D. Grigoriadis, "An efficient implementation of the network simplex method",
//!   Mathematical Programming Study 26, 1986.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

use crate::cost::{GroundCost, check_problem};
use crate::measure::{Balance, DiscreteMeasure};
use crate::plan::{PlanEntry, marginal_error, plan_cost};

/// Settings of the exact solvers.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ExactOptions {
    /// Stop with [`Error::DidNotConverge`] after this many pivots (`None`: no limit; the
    /// method terminates by itself).
    pub max_iterations: Option<usize>,
    /// Mass-balance rule.
    pub balance: Balance,
}

/// An optimal plan with its cost and optimal dual potentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExactTransport {
    /// Non-zero entries of an optimal plan (a vertex: at most $n + m - 1$ of them).
    pub plan: Vec<PlanEntry>,
    /// Primal cost $\sum_{ij} C_{ij} \pi_{ij}$.
    pub cost: f64,
    /// Dual potential $u_i$ of each source point.
    pub source_potential: Vec<f64>,
    /// Dual potential $v_j$ of each target point ($u_i + v_j \le C_{ij}$, equality on the plan;
    /// centred so that the $u_i$ have mean zero).
    pub target_potential: Vec<f64>,
    /// Dual objective $\sum_i a_i u_i + \sum_j b_j v_j$ (equal to `cost` at the optimum).
    pub dual_objective: f64,
    /// Number of pivots.
    pub iterations: usize,
    /// Largest absolute violation of the marginals by `plan`.
    pub marginal_error: f64,
}

/// Exact optimal transport between two discrete measures for a ground cost.
///
/// # Errors
/// Those of [`GroundCost::matrix`] and [`network_simplex`].
///
/// ```
/// use nalgebra::DMatrix;
/// use uqforge_transport::{exact, DiscreteMeasure, ExactOptions, GroundCost};
/// let x = DiscreteMeasure::uniform(DMatrix::from_row_slice(2, 1, &[0.0, 1.0])).unwrap();
/// let y = DiscreteMeasure::uniform(DMatrix::from_row_slice(2, 1, &[2.0, 3.0])).unwrap();
/// let ot = exact(&x, &y, GroundCost::SqEuclidean, &ExactOptions::default()).unwrap();
/// assert!((ot.cost - 4.0).abs() < 1e-12); // every point moves by 2
/// ```
pub fn exact(
    source: &DiscreteMeasure,
    target: &DiscreteMeasure,
    cost: GroundCost,
    options: &ExactOptions,
) -> Result<ExactTransport> {
    let c = cost.matrix(source.points(), target.points())?;
    network_simplex(
        source.weights().as_slice(),
        target.weights().as_slice(),
        &c,
        options,
    )
}

/// Exact optimal transport for weights `a` (rows of `cost`) and `b` (columns).
///
/// # Errors
/// [`Error::DimensionMismatch`] when the weights do not match the cost matrix, the errors of
/// [`Balance::apply`] (negative, non-finite, all-zero or unbalanced weights), [`Error::EmptyInput`]
/// and [`Error::NonFinite`] for the cost matrix, and [`Error::DidNotConverge`] when
/// `max_iterations` is reached.
pub fn network_simplex(
    a: &[f64],
    b: &[f64],
    cost: &DMatrix<f64>,
    options: &ExactOptions,
) -> Result<ExactTransport> {
    let (a, b) = check_problem(a, b, cost, &options.balance)?;
    let mut tree = Tree::new(&a, &b, cost);
    let iterations = tree.solve(options.max_iterations)?;
    tree.recompute_potentials();
    tree.recompute_flows(&a, &b);
    Ok(tree.into_result(&a, &b, iterations))
}

const NONE: usize = usize::MAX;

/// A strongly feasible spanning tree of the bipartite graph plus an artificial root.
///
/// Nodes: sources `0..n`, targets `n..n + m`, root `n + m`. Each non-root node stores the arc
/// to its parent: its flow, and (through the node types) its direction: real arcs go from a
/// source to a target; artificial arcs go source -> root, root -> target of positive mass,
/// and target of zero mass -> root (so that zero-flow arcs point to the root, as strong
/// feasibility requires). Potentials `pot` satisfy, on every tree arc `s -> t` of cost `c`,
/// `c - pot[s] + pot[t] = 0`; for a real arc this is `u_i + v_j = C_ij` with `u_i = pot[i]`,
/// `v_j = -pot[n + j]`.
struct Tree<'a> {
    n: usize,
    root: usize,
    /// Column-major `n x m` costs: arc `(i, j)` is index `j * n + i`.
    cost: &'a [f64],
    parent: Vec<usize>,
    flow: Vec<f64>,
    pot: Vec<f64>,
    depth: Vec<usize>,
    first_child: Vec<usize>,
    next_sibling: Vec<usize>,
    prev_sibling: Vec<usize>,
    /// Direction and cost of each node's artificial arc (used while its parent is the root).
    art_up: Vec<bool>,
    art_cost: Vec<f64>,
    /// Reduced costs above `-tolerance` count as non-negative.
    tolerance: f64,
    block: usize,
    next_arc: usize,
    /// Reused buffers: the pivot cycle `(node, is_minus)` and a DFS stack.
    cycle: Vec<(usize, bool)>,
    stack: Vec<usize>,
}

impl<'a> Tree<'a> {
    fn new(a: &[f64], b: &[f64], cost: &'a DMatrix<f64>) -> Self {
        let (n, m) = cost.shape();
        let root = n + m;
        let nodes = n + m + 1;
        let scale = cost.iter().fold(0.0_f64, |s, c| s.max(c.abs()));
        // Any artificial path i -> root -> j costs more than the direct arc, and any detour
        // j -> root -> j' more than the difference of two costs (both at most 2 max|C|).
        let art = if scale > 0.0 { 3.0 * scale } else { 1.0 };
        let mut t = Self {
            n,
            root,
            cost: cost.as_slice(),
            parent: vec![root; nodes],
            flow: vec![0.0; nodes],
            pot: vec![0.0; nodes],
            depth: vec![1; nodes],
            first_child: vec![NONE; nodes],
            next_sibling: vec![NONE; nodes],
            prev_sibling: vec![NONE; nodes],
            art_up: vec![true; nodes],
            art_cost: vec![0.0; nodes],
            tolerance: 1e-12 * scale,
            block: (((n * m) as f64).sqrt() as usize).max(10),
            next_arc: 0,
            cycle: Vec::new(),
            stack: Vec::new(),
        };
        t.parent[root] = NONE;
        t.depth[root] = 0;
        t.flow[..n].copy_from_slice(a);
        for (j, &bj) in b.iter().enumerate() {
            let node = n + j;
            if bj > 0.0 {
                t.art_up[node] = false;
                t.art_cost[node] = art;
                t.flow[node] = bj;
                t.pot[node] = -art;
            }
        }
        for node in (0..root).rev() {
            t.attach(node, root);
        }
        t
    }

    #[inline]
    fn arc_cost(&self, i: usize, j: usize) -> f64 {
        self.cost[j * self.n + i]
    }

    /// Does the arc between `node` and its parent point up (node -> parent)?
    #[inline]
    fn points_up(&self, node: usize) -> bool {
        if self.parent[node] == self.root {
            self.art_up[node]
        } else {
            node < self.n
        }
    }

    /// Cost of the arc between `node` and its parent.
    #[inline]
    fn parent_arc_cost(&self, node: usize) -> f64 {
        let p = self.parent[node];
        if p == self.root {
            self.art_cost[node]
        } else if node < self.n {
            self.arc_cost(node, p - self.n)
        } else {
            self.arc_cost(p, node - self.n)
        }
    }

    fn attach(&mut self, child: usize, parent: usize) {
        self.parent[child] = parent;
        let first = self.first_child[parent];
        self.next_sibling[child] = first;
        self.prev_sibling[child] = NONE;
        if first != NONE {
            self.prev_sibling[first] = child;
        }
        self.first_child[parent] = child;
    }

    fn detach(&mut self, child: usize) {
        let (prev, next) = (self.prev_sibling[child], self.next_sibling[child]);
        if prev == NONE {
            self.first_child[self.parent[child]] = next;
        } else {
            self.next_sibling[prev] = next;
        }
        if next != NONE {
            self.prev_sibling[next] = prev;
        }
    }

    /// Block search for the arc of most negative reduced cost; returns its index and reduced
    /// cost.
    fn entering_arc(&mut self) -> Option<(usize, f64)> {
        let n = self.n;
        let total = self.cost.len();
        let (src_pot, tgt_pot) = self.pot[..self.root].split_at(n);
        let mut best = -self.tolerance;
        let mut arg = NONE;
        let mut pos = self.next_arc;
        let mut scanned = 0;
        let mut left = self.block;
        while scanned < total {
            let (j, i0) = (pos / n, pos % n);
            let len = (n - i0).min(left).min(total - scanned);
            let col = &self.cost[pos..pos + len];
            let vj = tgt_pot[j];
            for (k, (c, u)) in col.iter().zip(&src_pot[i0..i0 + len]).enumerate() {
                let r = c - u + vj;
                if r < best {
                    best = r;
                    arg = pos + k;
                }
            }
            pos += len;
            if pos == total {
                pos = 0;
            }
            scanned += len;
            left -= len;
            if left == 0 {
                if arg != NONE {
                    self.next_arc = pos;
                    return Some((arg, best));
                }
                left = self.block;
            }
        }
        self.next_arc = pos;
        (arg != NONE).then_some((arg, best))
    }

    /// Pivots until no arc has a negative reduced cost; returns the number of pivots.
    fn solve(&mut self, max_iterations: Option<usize>) -> Result<usize> {
        let refresh = self.root.max(100);
        let mut iterations = 0;
        let mut fresh = false;
        while let Some((arc, reduced)) = self.entering_arc() {
            let (i, t) = (arc % self.n, self.n + arc / self.n);
            if self.parent[i] == t || self.parent[t] == i {
                // A tree arc looks eligible only through rounding drift in the potentials.
                if fresh {
                    break;
                }
                self.recompute_potentials();
                fresh = true;
                continue;
            }
            if max_iterations.is_some_and(|max| iterations >= max) {
                return Err(Error::DidNotConverge {
                    what: "network simplex (pivots)".into(),
                    iterations,
                    residual: -reduced,
                });
            }
            self.pivot(i, t, reduced);
            iterations += 1;
            fresh = false;
            if iterations % refresh == 0 {
                self.recompute_potentials();
                fresh = true;
            }
        }
        Ok(iterations)
    }

    /// Adds arc `source -> target` (reduced cost `reduced < 0`) and removes the leaving arc.
    fn pivot(&mut self, source: usize, target: usize, reduced: f64) {
        // Walk both tree paths up to the apex. Orient the cycle apex -> source -> target ->
        // apex. On the source side the walk runs against that orientation, so an arc is
        // traversed backwards (its flow decreases) when it points up; on the target side when
        // it points down. Cunningham's rule takes the last blocking arc in cycle order: the
        // first met on the source side (strict <), the last met on the target side (<=), and
        // target-side arcs come after source-side ones.
        self.cycle.clear();
        let mut theta = f64::INFINITY;
        let mut leave = NONE;
        let mut leave_on_source_side = true;
        let (mut u, mut v) = (source, target);
        while u != v {
            if self.depth[u] >= self.depth[v] {
                let minus = self.points_up(u);
                self.cycle.push((u, minus));
                if minus && self.flow[u] < theta {
                    (theta, leave, leave_on_source_side) = (self.flow[u], u, true);
                }
                u = self.parent[u];
            } else {
                let minus = !self.points_up(v);
                self.cycle.push((v, minus));
                if minus && self.flow[v] <= theta {
                    (theta, leave, leave_on_source_side) = (self.flow[v], v, false);
                }
                v = self.parent[v];
            }
        }
        debug_assert!(leave != NONE, "a pivot cycle always has a backward arc");
        for k in 0..self.cycle.len() {
            let (node, minus) = self.cycle[k];
            self.flow[node] += if minus { -theta } else { theta };
        }
        // The subtree below the leaving arc hangs from `w`, the end of the entering arc on the
        // leaving arc's side; it is re-rooted at `w` and attached to the other end `o`.
        let (w, o, shift) = if leave_on_source_side {
            (source, target, reduced)
        } else {
            (target, source, -reduced)
        };
        let (mut node, mut new_parent, mut new_flow) = (w, o, theta);
        loop {
            let old_parent = self.parent[node];
            let old_flow = self.flow[node];
            self.detach(node);
            self.attach(node, new_parent);
            self.flow[node] = new_flow;
            if node == leave {
                break;
            }
            (new_parent, new_flow) = (node, old_flow);
            node = old_parent;
        }
        // Potentials and depths of the moved subtree.
        self.depth[w] = self.depth[o] + 1;
        self.pot[w] += shift;
        self.stack.clear();
        self.stack.push(w);
        while let Some(p) = self.stack.pop() {
            let mut c = self.first_child[p];
            while c != NONE {
                self.depth[c] = self.depth[p] + 1;
                self.pot[c] += shift;
                self.stack.push(c);
                c = self.next_sibling[c];
            }
        }
    }

    /// Nodes in depth-first preorder from the root.
    fn preorder(&mut self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.root + 1);
        self.stack.clear();
        self.stack.push(self.root);
        while let Some(p) = self.stack.pop() {
            order.push(p);
            let mut c = self.first_child[p];
            while c != NONE {
                self.stack.push(c);
                c = self.next_sibling[c];
            }
        }
        order
    }

    /// Potentials (and depths) from the tree arcs alone, removing accumulated rounding.
    fn recompute_potentials(&mut self) {
        let order = self.preorder();
        self.pot[self.root] = 0.0;
        for &node in &order[1..] {
            let p = self.parent[node];
            let c = self.parent_arc_cost(node);
            self.pot[node] = if self.points_up(node) {
                c + self.pot[p]
            } else {
                self.pot[p] - c
            };
            self.depth[node] = self.depth[p] + 1;
        }
    }

    /// Tree flows from the masses alone: the arc above a node carries the net supply of its
    /// subtree.
    fn recompute_flows(&mut self, a: &[f64], b: &[f64]) {
        let order = self.preorder();
        let mut supply = vec![0.0; self.root + 1];
        supply[..self.n].copy_from_slice(a);
        for (s, bj) in supply[self.n..self.root].iter_mut().zip(b) {
            *s = -bj;
        }
        for &node in order[1..].iter().rev() {
            let s = supply[node];
            supply[self.parent[node]] += s;
            self.flow[node] = if self.points_up(node) { s } else { -s };
        }
    }

    fn into_result(self, a: &[f64], b: &[f64], iterations: usize) -> ExactTransport {
        let n = self.n;
        let mut plan = Vec::with_capacity(self.root);
        for node in 0..self.root {
            let p = self.parent[node];
            if p == self.root || self.flow[node] <= 0.0 {
                continue;
            }
            let (source, target) = if node < n {
                (node, p - n)
            } else {
                (p, node - n)
            };
            plan.push(PlanEntry {
                source,
                target,
                mass: self.flow[node],
            });
        }
        plan.sort_unstable_by_key(|e| (e.source, e.target));
        let mean_u = self.pot[..n].iter().sum::<f64>() / n as f64;
        let source_potential: Vec<f64> = self.pot[..n].iter().map(|u| u - mean_u).collect();
        let target_potential: Vec<f64> =
            self.pot[n..self.root].iter().map(|p| -p + mean_u).collect();
        let dual_objective = a
            .iter()
            .zip(&source_potential)
            .map(|(w, u)| w * u)
            .sum::<f64>()
            + b.iter()
                .zip(&target_potential)
                .map(|(w, v)| w * v)
                .sum::<f64>();
        let cost = plan_cost(&plan, |i, j| self.arc_cost(i, j));
        let marginal_error = marginal_error(&plan, a, b);
        ExactTransport {
            plan,
            cost,
            source_potential,
            target_potential,
            dual_objective,
            iterations,
            marginal_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uqforge_core::rng::{rng_from_seed, uniform01};

    fn random_matrix(n: usize, m: usize, seed: u64) -> DMatrix<f64> {
        let mut rng = rng_from_seed(seed);
        DMatrix::from_fn(n, m, |_, _| uniform01(&mut rng))
    }

    /// Minimum over all permutations, by Heap's algorithm.
    fn brute_force_assignment(c: &DMatrix<f64>) -> f64 {
        let n = c.nrows();
        let mut p: Vec<usize> = (0..n).collect();
        let mut best = f64::INFINITY;
        let mut counters = vec![0; n];
        let eval = |p: &[usize]| (0..n).map(|i| c[(i, p[i])]).sum::<f64>();
        best = best.min(eval(&p));
        let mut i = 0;
        while i < n {
            if counters[i] < i {
                if i % 2 == 0 {
                    p.swap(0, i);
                } else {
                    p.swap(counters[i], i);
                }
                best = best.min(eval(&p));
                counters[i] += 1;
                i = 0;
            } else {
                counters[i] = 0;
                i += 1;
            }
        }
        best
    }

    /// LP optimality certificate: primal feasible, dual feasible, equal objectives.
    fn assert_certified(a: &[f64], b: &[f64], c: &DMatrix<f64>, ot: &ExactTransport) {
        let scale = c.iter().fold(1e-300_f64, |s, v| s.max(v.abs()));
        assert!(
            ot.marginal_error <= 1e-12,
            "marginals {}",
            ot.marginal_error
        );
        for e in &ot.plan {
            assert!(e.mass > 0.0);
            let slack = c[(e.source, e.target)]
                - ot.source_potential[e.source]
                - ot.target_potential[e.target];
            assert!(
                slack.abs() <= 1e-10 * scale,
                "complementary slackness {slack}"
            );
        }
        for i in 0..a.len() {
            for j in 0..b.len() {
                let r = c[(i, j)] - ot.source_potential[i] - ot.target_potential[j];
                assert!(r >= -1e-10 * scale, "dual infeasible at ({i}, {j}): {r}");
            }
        }
        let rel = (ot.cost - ot.dual_objective).abs() / ot.cost.abs().max(scale * 1e-3);
        assert!(rel <= 1e-9, "duality gap {rel}");
        assert!(ot.plan.len() < a.len() + b.len());
    }

    #[test]
    fn uniform_square_problems_equal_the_best_permutation() {
        for n in 1..=7 {
            for seed in 0..5 {
                let c = random_matrix(n, n, 100 * n as u64 + seed);
                let w = vec![1.0 / n as f64; n];
                let ot = network_simplex(&w, &w, &c, &ExactOptions::default()).unwrap();
                let brute = brute_force_assignment(&c) / n as f64;
                assert!(
                    (ot.cost - brute).abs() <= 1e-12,
                    "n = {n}: {} vs {brute}",
                    ot.cost
                );
                assert_certified(&w, &w, &c, &ot);
            }
        }
    }

    #[test]
    fn integer_weights_equal_the_assignment_of_replicated_points() {
        // Weights k_i / K: split point i into k_i copies of mass 1/K; uniform n = m = K.
        let ka = [3usize, 1, 2, 1];
        let kb = [2usize, 2, 3];
        let c = random_matrix(4, 3, 7);
        let total = 7.0;
        let a: Vec<f64> = ka.iter().map(|&k| k as f64 / total).collect();
        let b: Vec<f64> = kb.iter().map(|&k| k as f64 / total).collect();
        let rows: Vec<usize> = ka
            .iter()
            .enumerate()
            .flat_map(|(i, &k)| vec![i; k])
            .collect();
        let cols: Vec<usize> = kb
            .iter()
            .enumerate()
            .flat_map(|(j, &k)| vec![j; k])
            .collect();
        let big = DMatrix::from_fn(7, 7, |r, s| c[(rows[r], cols[s])]);
        let brute = brute_force_assignment(&big) / total;
        let ot = network_simplex(&a, &b, &c, &ExactOptions::default()).unwrap();
        assert!((ot.cost - brute).abs() < 1e-12);
        assert_certified(&a, &b, &c, &ot);
    }

    #[test]
    fn degenerate_and_tiny_problems() {
        let c = DMatrix::from_element(1, 1, 2.5);
        let ot = network_simplex(&[2.0], &[2.0], &c, &ExactOptions::default()).unwrap();
        assert_eq!(ot.cost, 5.0);
        // All costs equal: every plan is optimal; the cost is still exact.
        let c = DMatrix::from_element(5, 4, 1.0);
        let a = [0.2; 5];
        let b = [0.25; 4];
        let ot = network_simplex(&a, &b, &c, &ExactOptions::default()).unwrap();
        assert!((ot.cost - 1.0).abs() < 1e-14);
        assert_certified(&a, &b, &c, &ot);
        // Zero costs.
        let c = DMatrix::zeros(3, 3);
        let ot = network_simplex(
            &[0.5, 0.5, 0.0],
            &[0.0, 0.5, 0.5],
            &c,
            &ExactOptions::default(),
        )
        .unwrap();
        assert_eq!(ot.cost, 0.0);
        assert!(ot.marginal_error < 1e-15);
    }

    #[test]
    fn bad_input_is_refused() {
        let c = DMatrix::from_element(2, 2, 1.0);
        let o = ExactOptions::default();
        assert!(matches!(
            network_simplex(&[0.5], &[0.5, 0.5], &c, &o),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            network_simplex(&[1.5, -0.5], &[0.5, 0.5], &c, &o),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            network_simplex(&[0.5, f64::NAN], &[0.5, 0.5], &c, &o),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            network_simplex(&[0.5, 0.6], &[0.5, 0.5], &c, &o),
            Err(Error::Degenerate { .. })
        ));
        assert!(matches!(
            network_simplex(&[0.0, 0.0], &[0.5, 0.5], &c, &o),
            Err(Error::Degenerate { .. })
        ));
        let mut bad = c.clone();
        bad[(1, 0)] = f64::INFINITY;
        assert!(matches!(
            network_simplex(&[0.5, 0.5], &[0.5, 0.5], &bad, &o),
            Err(Error::NonFinite { .. })
        ));
        let few = ExactOptions {
            max_iterations: Some(0),
            ..o
        };
        let c = random_matrix(3, 3, 1);
        assert!(matches!(
            network_simplex(&[0.3, 0.3, 0.4], &[0.3, 0.3, 0.4], &c, &few),
            Err(Error::DidNotConverge { .. })
        ));
    }

    #[test]
    fn a_mass_mismatch_within_tolerance_is_absorbed() {
        let c = random_matrix(3, 2, 3);
        let a = [0.1, 0.2, 0.7];
        let b = [0.4, 0.6 + 1e-12];
        let ot = network_simplex(&a, &b, &c, &ExactOptions::default()).unwrap();
        assert!(ot.marginal_error < 1e-11);
    }

    #[test]
    fn larger_random_instances_are_certified() {
        for (n, m, seed) in [(60, 45, 1), (120, 120, 2), (200, 150, 3)] {
            let c = random_matrix(n, m, seed);
            let mut rng = rng_from_seed(seed + 10);
            let a: Vec<f64> = (0..n).map(|_| uniform01(&mut rng)).collect();
            let sa: f64 = a.iter().sum();
            let mut b: Vec<f64> = (0..m).map(|_| uniform01(&mut rng)).collect();
            let sb: f64 = b.iter().sum();
            b.iter_mut().for_each(|v| *v *= sa / sb);
            let ot = network_simplex(&a, &b, &c, &ExactOptions::default()).unwrap();
            assert_certified(&a, &b, &c, &ot);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn random_instances_are_optimal(
            n in 1usize..10,
            m in 1usize..10,
            seed in any::<u64>(),
            zeros in 0usize..3,
            signed in any::<bool>(),
        ) {
            let mut rng = rng_from_seed(seed);
            let mut c = DMatrix::from_fn(n, m, |_, _| uniform01(&mut rng));
            if signed {
                c.iter_mut().for_each(|v| *v = 10.0 * (*v - 0.5));
            }
            // Integer-valued weights, some zero, to make ties and degeneracy frequent.
            let mut a: Vec<f64> = (0..n).map(|_| (uniform01(&mut rng) * 4.0).floor()).collect();
            let mut b: Vec<f64> = (0..m).map(|_| (uniform01(&mut rng) * 4.0).floor()).collect();
            a.iter_mut().take(zeros.min(n - 1)).for_each(|v| *v = 0.0);
            a[n - 1] += 1.0;
            b[m - 1] += 1.0;
            let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
            // Balance by topping up the lighter side's last point (keeps integer masses).
            if sa > sb { b[m - 1] += sa - sb } else { a[n - 1] += sb - sa }
            let ot = network_simplex(&a, &b, &c, &ExactOptions::default()).unwrap();
            assert_certified(&a, &b, &c, &ot);
        }
    }
}
