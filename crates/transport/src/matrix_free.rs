//! Log-domain Sinkhorn between point clouds without the cost matrix.
//!
//! The dense solvers of [`crate::sinkhorn`] store the $n \times m$ cost matrix: 3.2 GB at
//! $n = m = 20\thinspace000$, and as much again for the plan. Each Sinkhorn half-step,
//! however, only needs, for every point, a soft minimum over the other cloud,
//!
//! $$ f_i = -\varepsilon \log \sum_j e^{\log b_j + (g_j - c(x_i, y_j))/\varepsilon} , $$
//!
//! and $c(x_i, y_j)$ costs $O(d)$ to recompute. This module recomputes it, block by block:
//! for each point, the costs to 256 points of the other cloud go to a small buffer (with the
//! other cloud stored coordinate by coordinate, so the loop over points vectorises), and an
//! **online log-sum-exp** folds the block into a running maximum $M$ and sum $S$
//! ($S \leftarrow S e^{M - M'} + \sum_k e^{t_k - M'}$ with $M' = \max(M, \max_k t_k)$), so
//! that no term overflows. Points are processed in parallel. Memory is $O((n + m) d)$; the time
//! per iteration is about that of the dense log-domain solver, since both are bound by the
//! $nm$ exponentials (measured in `docs/benchmarks.md`). The plan is never formed: it is
//! $\pi_{ij} = a_i b_j e^{(f_i + g_j - c(x_i, y_j))/\varepsilon}$ from the returned
//! potentials, and the transport cost and marginals are accumulated the same way.
//!
//! Epsilon scaling and over-relaxation are those of the dense log-domain solver (one loop
//! serves both); the first stage starts at the cost of the diagonal of the bounding box of
//! both clouds, an upper bound on the cost range.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_transport::{DiscreteMeasure, GroundCost};
//! use uqforge_transport::matrix_free::sinkhorn_matrix_free;
//! use uqforge_transport::sinkhorn::SinkhornOptions;
//! let x = DiscreteMeasure::uniform(DMatrix::from_row_slice(2, 1, &[0.0, 1.0])).unwrap();
//! let y = DiscreteMeasure::uniform(DMatrix::from_row_slice(2, 1, &[2.0, 3.0])).unwrap();
//! let o = SinkhornOptions { epsilon: 0.01, ..SinkhornOptions::default() };
//! let ot = sinkhorn_matrix_free(&x, &y, GroundCost::SqEuclidean, &o).unwrap();
//! assert!((ot.cost - 4.0).abs() < 1e-9); // each point moves by 2
//! ```
//!
//! # References
//! - J. Feydy, *Geometric data analysis, beyond convolutions*, PhD thesis, ENS Paris-Saclay,
//!   2020 (KeOps' online reductions).
//! - B. Charlier, J. Feydy, J. A. Glaunès, F.-D. Collin, G. Durif, "Kernel operations on the
//!   GPU, with autodiff, without memory overflows", JMLR 22(74), 2021.

use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::cost::{GroundCost, check_points};
use crate::fast_exp::{self, exp};
use crate::measure::DiscreteMeasure;
use crate::sinkhorn::{
    SinkhornMethod, SinkhornOptions, SoftMin, guess, log_domain, logs, one_pass_is_exact,
};

/// Points per block of the online log-sum-exp.
const BLOCK: usize = 256;

/// Entropic transport between point clouds, without a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixFreeTransport {
    /// Transport cost $\langle C, \pi\rangle$ (without the entropy term).
    pub cost: f64,
    /// Regularised objective $\langle f, a\rangle + \langle g, b\rangle$.
    pub entropic_cost: f64,
    /// Source potentials $f$.
    pub source_potential: Vec<f64>,
    /// Target potentials $g$.
    pub target_potential: Vec<f64>,
    /// Sinkhorn iterations over all stages.
    pub iterations: usize,
    /// Largest absolute violation of the marginals by the plan of the potentials.
    pub marginal_error: f64,
    /// The regularisation used.
    pub epsilon: f64,
}

/// Two point clouds stored coordinate by coordinate (`x[t * n + i]` is coordinate `t` of
/// point `i`), with the ground cost: the cost "matrix" of the soft-min operators.
pub(crate) struct PointClouds {
    x: Vec<f64>,
    y: Vec<f64>,
    n: usize,
    m: usize,
    d: usize,
    cost: GroundCost,
}

impl PointClouds {
    pub(crate) fn new(x: &DMatrix<f64>, y: &DMatrix<f64>, cost: GroundCost) -> Self {
        // nalgebra is column-major: its storage is already coordinate by coordinate.
        Self {
            x: x.as_slice().to_vec(),
            y: y.as_slice().to_vec(),
            n: x.nrows(),
            m: y.nrows(),
            d: x.ncols(),
            cost,
        }
    }

    /// The diagonal cost of the bounding box of both clouds: at least every $c(x_i, y_j)$.
    fn cost_bound(&self) -> f64 {
        let mut s = 0.0;
        for t in 0..self.d {
            let coords = self.x[t * self.n..(t + 1) * self.n]
                .iter()
                .chain(&self.y[t * self.m..(t + 1) * self.m]);
            let (lo, hi) = coords.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
            s += (hi - lo) * (hi - lo);
        }
        self.cost.of_squared_distance(s)
    }
}

/// Costs from the point `p` (its `d` coordinates) to points `start..start + buf.len()` of the
/// cloud `other` (coordinate-major, `len` points), into `buf`.
#[inline]
fn costs_to(p: &[f64], other: &[f64], len: usize, start: usize, cost: GroundCost, buf: &mut [f64]) {
    buf.fill(0.0);
    for (t, pt) in p.iter().enumerate() {
        let coords = &other[t * len + start..t * len + start + buf.len()];
        for (b, c) in buf.iter_mut().zip(coords) {
            let diff = pt - c;
            *b += diff * diff;
        }
    }
    if cost != GroundCost::SqEuclidean {
        buf.iter_mut()
            .for_each(|b| *b = cost.of_squared_distance(*b));
    }
}

/// $-\varepsilon \log \sum_k e^{s_k - c(p, q_k)/\varepsilon}$ over the cloud `other`: one
/// pass shifted by the previous result when that is exact
/// ([`crate::sinkhorn::one_pass_is_exact`]), else an online log-sum-exp over blocks.
#[allow(clippy::too_many_arguments)]
fn soft_min_one(
    p: &[f64],
    other: &[f64],
    len: usize,
    shift: &[f64],
    eps: f64,
    cost: GroundCost,
    buf: &mut [f64],
    previous: f64,
) -> f64 {
    let inv = 1.0 / eps;
    let exponents = |start: usize, block: &mut [f64]| {
        costs_to(p, other, len, start, cost, block);
        for (b, s) in block.iter_mut().zip(&shift[start..]) {
            *b = s - *b * inv;
        }
    };
    if let Some(h) = guess(previous, inv) {
        let mut sum = 0.0;
        for start in (0..len).step_by(BLOCK) {
            let block = &mut buf[..BLOCK.min(len - start)];
            exponents(start, block);
            sum += fast_exp::sum_exp(block, h);
        }
        if one_pass_is_exact(sum) {
            return -eps * (h + sum.ln());
        }
    }
    let (mut mx, mut sum) = (f64::NEG_INFINITY, 0.0);
    for start in (0..len).step_by(BLOCK) {
        let block = &mut buf[..BLOCK.min(len - start)];
        exponents(start, block);
        let bm = fast_exp::max(block);
        if bm == f64::NEG_INFINITY {
            continue; // a block of zero weights
        }
        if bm > mx {
            sum *= exp(mx - bm);
            mx = bm;
        }
        sum += fast_exp::sum_exp(block, mx);
    }
    -eps * (mx + sum.ln())
}

/// `out[i]` = soft minimum from point `i` of `from` over the cloud `to`, in parallel.
#[allow(clippy::too_many_arguments)]
fn soft_min_all(
    from: &[f64],
    n_from: usize,
    to: &[f64],
    n_to: usize,
    d: usize,
    shift: &[f64],
    eps: f64,
    cost: GroundCost,
    out: &mut [f64],
) {
    out.par_iter_mut().enumerate().for_each_init(
        || (vec![0.0; BLOCK], vec![0.0; d]),
        |(buf, p), (i, o)| {
            for (t, pt) in p.iter_mut().enumerate() {
                *pt = from[t * n_from + i];
            }
            *o = soft_min_one(p, to, n_to, shift, eps, cost, buf, *o);
        },
    );
}

impl SoftMin for PointClouds {
    fn shape(&self) -> (usize, usize) {
        (self.n, self.m)
    }

    fn columns(&self, s: &[f64], eps: f64, out: &mut [f64]) {
        soft_min_all(
            &self.y, self.m, &self.x, self.n, self.d, s, eps, self.cost, out,
        );
    }

    fn rows(&self, s: &[f64], eps: f64, out: &mut [f64]) {
        soft_min_all(
            &self.x, self.n, &self.y, self.m, self.d, s, eps, self.cost, out,
        );
    }
}

/// Log-domain Sinkhorn between two measures, recomputing costs on the fly.
///
/// `options.method` must be [`SinkhornMethod::Auto`] or [`SinkhornMethod::Log`] (plain
/// scaling needs the kernel matrix).
///
/// # Errors
/// [`Error::InvalidParameter`] for $\varepsilon \le 0$, a bad tolerance, a bad ground cost or
/// [`SinkhornMethod::Plain`]; [`Error::DimensionMismatch`] for clouds of different dimensions;
/// the weight errors of [`crate::Balance::apply`]; [`Error::DidNotConverge`] at the iteration
/// limit.
pub fn sinkhorn_matrix_free(
    source: &DiscreteMeasure,
    target: &DiscreteMeasure,
    cost: GroundCost,
    options: &SinkhornOptions,
) -> Result<MatrixFreeTransport> {
    validate::positive("epsilon", options.epsilon)?;
    validate::positive("tolerance", options.tolerance)?;
    cost.validate()?;
    if options.method == SinkhornMethod::Plain {
        return Err(Error::invalid_parameter(
            "method",
            "matrix-free Sinkhorn runs in the log domain; plain scaling needs the kernel matrix",
        ));
    }
    check_points(source.points(), target.points())?;
    let (a, b) = options
        .balance
        .apply(source.weights().as_slice(), target.weights().as_slice())?;
    let clouds = PointClouds::new(source.points(), target.points(), cost);
    let eps = options.epsilon;
    let (f, g, iterations) = log_domain(&a, &b, &clouds, clouds.cost_bound(), options)?;

    // Marginals of the plan of (f, g): row sums a_i exp((f_i - F_i)/eps) with F the exact
    // row fit, and the same for columns.
    let violation = |w: &[f64], p: &[f64], fit: &[f64]| -> f64 {
        w.iter()
            .zip(p)
            .zip(fit)
            .filter(|((wi, _), _)| **wi > 0.0)
            .map(|((wi, pi), fi)| (wi * ((pi - fi) / eps).exp() - wi).abs())
            .fold(0.0, f64::max)
    };
    let (n, m) = clouds.shape();
    let mut fit = vec![0.0; n];
    crate::sinkhorn::update_rows(&logs(&b), &g, &clouds, eps, &mut fit);
    let row_error = violation(&a, &f, &fit);
    let mut fit = vec![0.0; m];
    crate::sinkhorn::update_columns(&logs(&a), &f, &clouds, eps, &mut fit);
    let column_error = violation(&b, &g, &fit);
    let transport_cost = plan_cost(&clouds, &a, &b, &f, &g, eps);
    let dot = |w: &[f64], p: &[f64]| -> f64 {
        w.iter()
            .zip(p)
            .filter(|(wi, _)| **wi > 0.0)
            .map(|(wi, pi)| wi * pi)
            .sum()
    };
    Ok(MatrixFreeTransport {
        cost: transport_cost,
        entropic_cost: dot(&a, &f) + dot(&b, &g),
        source_potential: f,
        target_potential: g,
        iterations,
        marginal_error: row_error.max(column_error),
        epsilon: eps,
    })
}

/// $\sum_{ij} \pi_{ij} c(x_i, y_j)$ with costs recomputed, parallel over source points.
fn plan_cost(clouds: &PointClouds, a: &[f64], b: &[f64], f: &[f64], g: &[f64], eps: f64) -> f64 {
    let (n, m, d) = (clouds.n, clouds.m, clouds.d);
    (0..n)
        .into_par_iter()
        .filter(|&i| a[i] > 0.0)
        .map_init(
            || (vec![0.0; BLOCK], vec![0.0; d]),
            |(buf, p), i| {
                for (t, pt) in p.iter_mut().enumerate() {
                    *pt = clouds.x[t * n + i];
                }
                let mut total = 0.0;
                for start in (0..m).step_by(BLOCK) {
                    let block = &mut buf[..BLOCK.min(m - start)];
                    costs_to(p, &clouds.y, m, start, clouds.cost, block);
                    for (k, c) in block.iter().enumerate() {
                        let j = start + k;
                        if b[j] > 0.0 {
                            total += b[j] * ((f[i] + g[j] - c) / eps).exp() * c;
                        }
                    }
                }
                a[i] * total
            },
        )
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinkhorn::sinkhorn;
    use nalgebra::DVector;
    use uqforge_core::rng::{rng_from_seed, standard_normal, uniform01};

    fn cloud(n: usize, d: usize, shift: f64, seed: u64) -> DiscreteMeasure {
        let mut rng = rng_from_seed(seed);
        let x = DMatrix::from_fn(n, d, |_, k| {
            standard_normal(&mut rng) + if k == 0 { shift } else { 0.0 }
        });
        let mut w = DVector::from_fn(n, |_, _| uniform01(&mut rng));
        w[3] = 0.0; // a zero weight
        let total = w.sum();
        DiscreteMeasure::new(x, w / total).unwrap()
    }

    #[test]
    fn equals_the_dense_log_domain_solver() {
        // 260 x 300 points: two blocks of 256 on both sides, the second partial.
        for (d, cost, eps) in [
            (2, GroundCost::SqEuclidean, 0.05),
            (3, GroundCost::Euclidean, 0.05),
            (5, GroundCost::Power(1.5), 0.3),
        ] {
            let (x, y) = (cloud(260, d, 0.0, 1), cloud(300, d, 2.0, 2));
            let o = SinkhornOptions {
                epsilon: eps,
                tolerance: 1e-10,
                method: SinkhornMethod::Log,
                ..SinkhornOptions::default()
            };
            let dense = sinkhorn(&x, &y, cost, &o).unwrap();
            let free = sinkhorn_matrix_free(&x, &y, cost, &o).unwrap();
            assert!(free.marginal_error < 1e-10, "{}", free.marginal_error);
            assert!(
                (free.cost - dense.cost).abs() < 1e-9 * dense.cost,
                "{cost:?}: {} vs {}",
                free.cost,
                dense.cost
            );
            assert!((free.entropic_cost - dense.entropic_cost).abs() < 1e-9 * dense.cost.abs());
            // Potentials are defined up to (f + k, g - k).
            let k = free.source_potential[0] - dense.source_potential[0];
            for (p, q) in free.source_potential.iter().zip(&dense.source_potential) {
                assert!((p - q - k).abs() < 1e-7, "{p} vs {q}");
            }
        }
    }

    #[test]
    fn refuses_plain_scaling_and_bad_input() {
        let (x, y) = (cloud(10, 2, 0.0, 1), cloud(10, 3, 0.0, 2));
        let o = SinkhornOptions::default();
        assert!(matches!(
            sinkhorn_matrix_free(&x, &y, GroundCost::SqEuclidean, &o),
            Err(Error::DimensionMismatch { .. })
        ));
        let o = SinkhornOptions {
            method: SinkhornMethod::Plain,
            ..o
        };
        assert!(sinkhorn_matrix_free(&x, &x, GroundCost::SqEuclidean, &o).is_err());
        let o = SinkhornOptions {
            epsilon: -1.0,
            ..SinkhornOptions::default()
        };
        assert!(sinkhorn_matrix_free(&x, &x, GroundCost::SqEuclidean, &o).is_err());
    }
}
