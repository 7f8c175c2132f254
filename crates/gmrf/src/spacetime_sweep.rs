//! The exact space-time log-likelihood in observation space, by one backward sweep in time:
//! for many unknowns and few observations.
//!
//! # Why a second route
//! [`crate::spacetime_likelihood`] factors the posterior precision $Q + A^\top A/s^2$ of the
//! stacked field, which fills like a 3D problem's: its cost grows like the number of
//! unknowns to the power 2.2-2.3, and a $10^4$-node mesh over 100 steps ($10^6$ unknowns) is
//! out of reach. This module works with the $m \times m$ covariance of the observations
//! instead,
//!
//! $$
//! \Sigma = A Q^{-1} A^\top + s^2 I,
//! $$
//!
//! whose cost grows with the nodes, the steps and the square of the observations, and never
//! forms anything of the size of the stacked field. The model, the data and the result are
//! those of [`crate::spacetime_likelihood::SpaceTimeObservations`] (same constructor, same
//! [`SpaceTimeEvaluation`]); the two routes agree to rounding (tested), and which is faster
//! depends on the sizes (see the crate's benchmarks).
//!
//! # The sweep
//! With $Q = G^\top(I_N\otimes S)G$, $G$ block lower bidiagonal ($D$ on the diagonal, $-M$
//! below it, [`crate::spacetime::SpaceTime::last_block`]), $Q^{-1} = G^{-1}(I_N\otimes
//! S^{-1})G^{-\top}$. Let observation $j$ be at stacked step $k_j$ with node weights $a_j$,
//! and $w^{(j)} = G^{-\top}(e_{k_j}\otimes a_j)$. Since $G^\top$ is block upper bidiagonal,
//! $w^{(j)}$ vanishes after step $k_j$ and is found backwards from it:
//!
//! $$
//! w^{(j)}_{k_j} = D^{-\top}a_j, \qquad w^{(j)}_k = D^{-\top}M^\top w^{(j)}_{k+1}
//! \quad (k < k_j),
//! $$
//!
//! and then
//!
//! $$
//! (AQ^{-1}A^\top)_{ij} = \sum_{k \le \min(k_i, k_j)} {w^{(i)}_k}^\top S^{-1} w^{(j)}_k
//! = \sum_k {y^{(i)}_k}^\top y^{(j)}_k, \qquad y_k = L^{-1}P w_k,
//! $$
//!
//! with $PSP^\top = LL^\top$ the sparse Cholesky factor of the residual precision $S$. One
//! sweep from the last step to the first keeps the $n \times c_k$ block $W_k$ of the $c_k$
//! observations at or after step $k$: multiply by $M^\top$ (diagonal, the lumped masses),
//! append the new observations' weights, solve with $D^\top$ (one sparse LU of the step
//! matrix, [`crate::lu::SparseLu`]), whiten with $L^{-1}P$ and add the lower triangle of
//! $Y_k^\top Y_k$ to the trailing block of $\Sigma$. Memory: $W$ ($n \times m$) and
//! $\Sigma$ ($m \times m$).
//!
//! **Cost.** Per step, $c_k$ solves with $D^\top$ and with $L$, and a rank-$n$ update of a
//! $c_k \times c_k$ triangle, $n c_k^2$ flops. With $m/T$ observations at each of $T$
//! observed steps after $B$ burn-in steps, $c_k$ falls from $m$ to $m/T$ and the updates
//! total about $n m^2 (B + T/3)$ flops: the route pays for every pair of observations, once
//! per step both are alive, and the solves for every observation once per step it is alive
//! ($m(B + T/2)$ columns). The solves and the update are split over the machine's cores (at
//! most four threads). For $10^4$ nodes, 100 steps and 1,000 observations that is 11 s on 2
//! cores, most of it in the solves (on one thread: 9.7 s with $D^\top$, 6.3 s with $L$,
//! 2.3 s in the updates).
//!
//! # Likelihood
//! With $\Sigma = LL^\top$ (dense Cholesky), $\tilde X = L^{-1}X$, $\tilde y = L^{-1}y$, the
//! generalised least-squares $\hat\beta = (\tilde X^\top\tilde X)^{-1}\tilde X^\top\tilde y$
//! and $\tilde r = \tilde y - \tilde X\hat\beta$,
//!
//! $$
//! \ell = -\frac12\left(m\log 2\pi + \log\det\Sigma + \tilde r^\top\tilde r\right),
//! $$
//!
//! the same profile log-likelihood as the joint route's.
//!
//! # Gradient
//! In $\theta = (\log\rho, \log\sigma, \gamma_1, \gamma_2, \log c)$ and $\log s^2$, with
//! $C = AQ^{-1}A^\top$, $\alpha = \Sigma^{-1}(y - X\hat\beta)$ and
//! $R = \Sigma^{-1} - \alpha\alpha^\top$ (the derivative through $\hat\beta$ vanishes at
//! the GLS estimate),
//!
//! $$
//! \frac{\partial\ell}{\partial\theta_k} = -\frac12\operatorname{tr}(R\,\partial_k C),
//! \qquad \frac{\partial\ell}{\partial\log s^2} = -\frac{s^2}2\operatorname{tr}R.
//! $$
//!
//! $C \propto \sigma^2$ gives $\partial_{\log\sigma}C = 2C$ exactly; the other four
//! derivatives are central differences of $C$ itself (step $10^{-5}$, two more sweeps
//! each; about ten correct digits of the largest coordinate, as the joint route's). So the
//! gradient costs eight sweeps on top of the value's one: 99 s against 11 s for $10^4$ nodes,
//! 100 steps and 1,000 observations (2 cores). An adjoint sweep would give all of it for
//! about four; it is not here yet.
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_gmrf::Mesh;
//! use uqforge_gmrf::spacetime::AdvectionDiffusion;
//! use uqforge_gmrf::spacetime_likelihood::SpaceTimeObservations;
//! use uqforge_gmrf::spacetime_sweep::SweepObservations;
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 6, 6)?;
//! let model = AdvectionDiffusion::from_range_sigma(0.4, 1.0, [0.5, 0.0])?;
//! let locations = DMatrix::from_row_slice(4, 2, &[0.2, 0.2, 0.7, 0.4, 0.2, 0.2, 0.5, 0.9]);
//! let times = [1, 1, 2, 3];
//! let y = DVector::from_row_slice(&[0.3, -0.1, 0.5, 0.2]);
//! let x = DMatrix::from_element(4, 1, 1.0);
//! let swept = SweepObservations::new(&mesh, 0.05, &model, &locations, &times, y.clone(),
//!     x.clone(), 2)?;
//! let joint = SpaceTimeObservations::new(&mesh, 0.05, &model, &locations, &times, y, x, 2)?;
//! let (a, b) = (swept.log_likelihood(&model, 0.1, false)?, joint.log_likelihood(&model, 0.1, false)?);
//! assert!((a.log_likelihood - b.log_likelihood).abs() < 1e-10);
//! assert!((a.beta[0] - b.beta[0]).abs() < 1e-10);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::thread;

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as triangular_matmul};
use faer::linalg::solvers::DenseSolveCore;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use nalgebra::{DMatrix, DVector};
use nalgebra_sparse::{CscMatrix, pattern::SparsityPattern};
use uqforge_core::{Error, Result, validate};

use crate::likelihood::{check_responses, in_context};
use crate::lu::SparseLu;
use crate::spacetime::{AdvectionDiffusion, Fields, SpaceTime};
use crate::spacetime_likelihood::{
    DIFFERENCE_STEP, SpaceTimeEvaluation, SpaceTimeFit, check_steps, describe, maximise, moved,
};
use crate::sparse::{on_pattern, scatter};
use crate::{Cholesky, Mesh, SymbolicCholesky};

/// The most entries of the sweep's two dense arrays, $W$ ($n \times m$) and $\Sigma$
/// ($m \times m$): $2.5 \times 10^8$, 2 GB.
pub const MAX_SWEEP_ENTRIES: usize = 250_000_000;

/// Observations of a space-time field for the observation-space likelihood; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct SweepObservations {
    mesh: Mesh,
    dt: f64,
    steps: usize,
    burn_in: usize,
    /// Column $j$: the node weights $a_j$ of observation $j$ ($n \times m$).
    weights: CscMatrix<f64>,
    times: Vec<usize>,
    y: DVector<f64>,
    x: DMatrix<f64>,
    /// The pattern of the residual precision $S$ and its analysis (`None` when $S$ is
    /// diagonal: white noise).
    residual_pattern: SparsityPattern,
    residual: Option<SymbolicCholesky>,
    fields: Fields,
}

impl SweepObservations {
    /// Observations `y` at the rows of `locations` (points of `mesh`) and the time steps
    /// `times`, covariates `x`, time step `dt` and `burn_in` unobserved steps, as
    /// [`crate::spacetime_likelihood::SpaceTimeObservations::new`]; `template` fixes the
    /// smoothness orders of the models evaluated later.
    ///
    /// # Errors
    /// Those of the joint route's constructor, except its cap on the unknowns: here the cap
    /// is on $nm + m^2$ ([`MAX_SWEEP_ENTRIES`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mesh: &Mesh,
        dt: f64,
        template: &AdvectionDiffusion,
        locations: &DMatrix<f64>,
        times: &[usize],
        y: DVector<f64>,
        x: DMatrix<f64>,
        burn_in: usize,
    ) -> Result<Self> {
        let steps = check_steps(locations.nrows(), times)?;
        burn_in.checked_add(steps).ok_or_else(|| {
            Error::invalid_parameter("burn-in", format!("{burn_in} steps overflow"))
        })?;
        check_responses(&y, &x)?;
        let (n, m) = (mesh.n_nodes(), y.len());
        let entries = n
            .checked_mul(m)
            .and_then(|nm| m.checked_mul(m).and_then(|mm| nm.checked_add(mm)))
            .filter(|&e| e <= MAX_SWEEP_ENTRIES);
        if entries.is_none() {
            return Err(Error::invalid_parameter(
                "observations",
                format!(
                    "{m} observations of a {n}-node field need more than the \
                     {MAX_SWEEP_ENTRIES} dense entries of the observation-space route"
                ),
            ));
        }
        let weights = mesh.observation_matrix(locations)?.transpose();
        let st = SpaceTime::new(mesh, template, dt)?;
        let residual_pattern = st.residual_precision().pattern().clone();
        let residual = if residual_pattern.nnz() == n {
            None
        } else {
            Some(SymbolicCholesky::analyse(&residual_pattern)?)
        };
        Ok(Self {
            mesh: mesh.clone(),
            dt,
            steps,
            burn_in,
            weights,
            times: times.to_vec(),
            y,
            x,
            residual_pattern,
            residual,
            fields: Fields::default(),
        })
    }

    /// These observations of a model whose advection and diffusion vary in space by the
    /// fixed `fields`, as
    /// [`crate::spacetime_likelihood::SpaceTimeObservations::with_fields`].
    ///
    /// # Errors
    /// Fields of another length than the mesh's nodes or with invalid values.
    pub fn with_fields(mut self, fields: Fields) -> Result<Self> {
        let template = AdvectionDiffusion::from_range_sigma(1.0, 1.0, [0.0, 0.0])?;
        SpaceTime::with_fields(&self.mesh, &template, self.dt, &fields)?;
        self.fields = fields;
        Ok(self)
    }

    /// The log-likelihood of `model` with noise standard deviation `noise_sd`, $\beta$
    /// profiled out, and its gradient when `gradient` is true (see the [module docs](self)).
    ///
    /// # Errors
    /// Invalid model parameters, a non-positive `noise_sd`, another smoothness order than
    /// the template's, or a factorisation failure (the message names the parameters).
    pub fn log_likelihood(
        &self,
        model: &AdvectionDiffusion,
        noise_sd: f64,
        gradient: bool,
    ) -> Result<SpaceTimeEvaluation> {
        validate::positive("noise_sd", noise_sd)?;
        let describe = describe(model, noise_sd)?;
        let c = self.field_covariance(model, &describe)?;
        let (m, p, s2) = (self.y.len(), self.x.ncols(), noise_sd * noise_sd);
        let mut sigma = c.clone();
        for i in 0..m {
            sigma[(i, i)] += s2;
        }
        let llt = sigma
            .as_ref()
            .llt(Side::Lower)
            .map_err(|_| Error::NotPositiveDefinite {
                what: format!("covariance of the observations ({describe})"),
            })?;
        let l = llt.L();
        let log_det: f64 = 2.0 * (0..m).map(|i| l[(i, i)].ln()).sum::<f64>();
        // [X, y] whitened by L^-1.
        let mut rhs = Mat::<f64>::from_fn(
            m,
            p + 1,
            |i, j| {
                if j < p { self.x[(i, j)] } else { self.y[i] }
            },
        );
        solve_lower_triangular_in_place(l, rhs.as_mut(), Par::Seq);
        let xt = DMatrix::from_fn(m, p, |i, j| rhs[(i, j)]);
        let yt = DVector::from_fn(m, |i, _| rhs[(i, p)]);
        let (beta, beta_covariance) = if p == 0 {
            (DVector::zeros(0), DMatrix::zeros(0, 0))
        } else {
            let chol = (xt.transpose() * &xt).cholesky().ok_or_else(|| {
                Error::degenerate(
                    "regression coefficients",
                    "X' V^-1 X is singular (collinear covariates)",
                )
            })?;
            (chol.solve(&(xt.transpose() * &yt)), chol.inverse())
        };
        let r = &yt - &xt * &beta;
        let log_likelihood =
            -0.5 * (m as f64 * (2.0 * std::f64::consts::PI).ln() + log_det + r.norm_squared());
        let gradient = if gradient {
            // alpha = Sigma^-1 (y - X beta) = L^-T r~, and R = Sigma^-1 - alpha alpha'.
            let mut alpha = Mat::<f64>::from_fn(m, 1, |i, _| r[i]);
            solve_upper_triangular_in_place(l.transpose(), alpha.as_mut(), Par::Seq);
            let mut big_r = llt.inverse();
            for j in 0..m {
                for i in 0..m {
                    big_r[(i, j)] -= alpha[(i, 0)] * alpha[(j, 0)];
                }
            }
            let contract = |a: &Mat<f64>| -> f64 {
                (0..m)
                    .map(|j| (0..m).map(|i| big_r[(i, j)] * a[(i, j)]).sum::<f64>())
                    .sum()
            };
            let mut g = [0.0; 6];
            // C is proportional to sigma^2; d Sigma / d log s^2 = s^2 I.
            g[1] = -contract(&c);
            g[5] = -0.5 * s2 * (0..m).map(|i| big_r[(i, i)]).sum::<f64>();
            for k in [0, 2, 3, 4] {
                let up = self.field_covariance(&moved(model, k, DIFFERENCE_STEP)?, &describe)?;
                let down = self.field_covariance(&moved(model, k, -DIFFERENCE_STEP)?, &describe)?;
                g[k] = -0.25 * (contract(&up) - contract(&down)) / DIFFERENCE_STEP;
            }
            Some(g)
        } else {
            None
        };
        Ok(SpaceTimeEvaluation {
            log_likelihood,
            beta,
            beta_covariance,
            gradient,
        })
    }

    /// Maximises the log-likelihood from `start` (a model and a noise standard deviation),
    /// as [`crate::spacetime_likelihood::SpaceTimeObservations::maximum_likelihood`].
    ///
    /// # Errors
    /// Invalid starting values, a likelihood evaluation that fails (its message names the
    /// parameters), or an optimiser failure.
    pub fn maximum_likelihood(
        &self,
        start: &AdvectionDiffusion,
        start_noise_sd: f64,
        max_iterations: u64,
        gradient_tolerance: f64,
    ) -> Result<SpaceTimeFit> {
        maximise(
            |m, s, g| self.log_likelihood(m, s, g),
            self.y.len(),
            start,
            start_noise_sd,
            max_iterations,
            gradient_tolerance,
        )
    }

    /// $AQ^{-1}A^\top$, the covariance of the field at the observations, by the backward
    /// sweep of the [module docs](self) (the full symmetric matrix).
    fn field_covariance(&self, model: &AdvectionDiffusion, describe: &str) -> Result<Mat<f64>> {
        let st = SpaceTime::with_fields(&self.mesh, model, self.dt, &self.fields)?;
        let (n, m) = (self.mesh.n_nodes(), self.y.len());
        let lu = SparseLu::factor(st.step_matrix(), "step matrix D")?;
        let s = st.residual_precision();
        let s = on_pattern(&self.residual_pattern, scatter(&self.residual_pattern, &s)?)?;
        let whitener = match &self.residual {
            Some(symbolic) => {
                Whitener::Factor(symbolic.factor(&s).map_err(|e| in_context(e, describe))?)
            }
            None => {
                let d = s.diagonal_as_csc();
                d.values()
                    .iter()
                    .try_for_each(|&v| validate::positive("residual precision", v))?;
                Whitener::Diagonal(d.values().iter().map(|v| v.sqrt().recip()).collect())
            }
        };
        let mass = st.lumped_mass();
        let (mut w, mut y) = (vec![0.0; n * m], vec![0.0; n * m]);
        let mut sigma = Mat::<f64>::zeros(m, m);
        // Observations first..m are alive (at or after step k; times are sorted).
        let mut first = m;
        for k in (1..=self.burn_in + self.steps).rev() {
            for col in w[first * n..].chunks_exact_mut(n) {
                col.iter_mut().zip(mass.iter()).for_each(|(v, &d)| *v *= d);
            }
            let new = first;
            while first > 0 && self.burn_in + self.times[first - 1] == k {
                first -= 1;
            }
            for j in first..new {
                let a = self.weights.col(j);
                for (&i, &v) in a.row_indices().iter().zip(a.values()) {
                    w[j * n + i] = v;
                }
            }
            let alive = m - first;
            if alive == 0 {
                continue;
            }
            let y = &mut y[..n * alive];
            solve_and_whiten(&lu, &whitener, &mut w[first * n..], y, n)?;
            let y = MatRef::from_column_major_slice(y, n, alive);
            add_lower_gram(sigma.as_mut().submatrix_mut(first, first, alive, alive), y);
        }
        for j in 0..m {
            for i in 0..j {
                sigma[(i, j)] = sigma[(j, i)];
            }
        }
        Ok(sigma)
    }
}

/// The threads of the sweep's solves and products: the machine's cores, at most four, and
/// at most one per `per_thread` of the `columns`.
fn threads(columns: usize, per_thread: usize) -> usize {
    thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(4)
        .min(columns / per_thread)
        .max(1)
}

/// $Y = L^{-1}PW$ with $PSP^\top = LL^\top$: $Y^\top Y = W^\top S^{-1}W$.
enum Whitener {
    /// The sparse Cholesky factor of $S$.
    Factor(Cholesky),
    /// $S^{-1/2}$ of a diagonal $S$ (white noise: no permutation, $L = S^{1/2}$).
    Diagonal(Vec<f64>),
}

/// $W \leftarrow D^{-\top}W$ and $Y = L^{-1}PW$ for the columns of `w` (column-major, `n`
/// rows; `y` as long), the columns split over threads.
fn solve_and_whiten(
    lu: &SparseLu,
    whitener: &Whitener,
    w: &mut [f64],
    y: &mut [f64],
    n: usize,
) -> Result<()> {
    let columns = w.len() / n;
    let per = columns.div_ceil(threads(columns, 16));
    thread::scope(|scope| {
        let jobs: Vec<_> = w
            .chunks_mut(per * n)
            .zip(y.chunks_mut(per * n))
            .map(|(wc, yc)| {
                scope.spawn(move || {
                    let k = wc.len() / n;
                    lu.solve_transpose_in_place(wc, k);
                    match whitener {
                        Whitener::Factor(f) => f.factor_inverse_times_into(wc, k, yc),
                        Whitener::Diagonal(d) => {
                            for (yc, wc) in yc.chunks_exact_mut(n).zip(wc.chunks_exact(n)) {
                                for ((yi, &wi), &di) in yc.iter_mut().zip(wc).zip(d) {
                                    *yi = wi * di;
                                }
                            }
                            Ok(())
                        }
                    }
                })
            })
            .collect();
        jobs.into_iter()
            .try_for_each(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}

/// Adds the lower triangle of $Y^\top Y$ to `dst` ($c \times c$, $Y$ $n \times c$), the
/// columns split over up to four threads in slices of equal work.
fn add_lower_gram(dst: MatMut<'_, f64>, y: MatRef<'_, f64>) {
    let c = y.ncols();
    let parts = threads(c, 64);
    if parts == 1 {
        add_lower_columns(dst, y, 0, c);
        return;
    }
    // Column j of the triangle holds c - j entries: the first p/t of the work ends where
    // (c - j)^2 = (1 - p/t) c^2.
    let bounds: Vec<usize> = (0..=parts)
        .map(|p| {
            let left = 1.0 - p as f64 / parts as f64;
            ((c as f64) * (1.0 - left.sqrt())).round() as usize
        })
        .collect();
    thread::scope(|scope| {
        let mut rest = dst;
        for p in 0..parts {
            let (j0, j1) = (bounds[p], bounds[p + 1]);
            let (part, right) = rest.split_at_col_mut(j1 - j0);
            rest = right;
            scope.spawn(move || add_lower_columns(part, y, j0, j1));
        }
    });
}

/// Adds columns `j0..j1` of the lower triangle of $Y^\top Y$ to `dst` (those columns, all
/// $c$ rows).
fn add_lower_columns(dst: MatMut<'_, f64>, y: MatRef<'_, f64>, j0: usize, j1: usize) {
    let (c, width) = (y.ncols(), j1 - j0);
    if width == 0 {
        return;
    }
    let (_, lower) = dst.split_at_row_mut(j0);
    let (square, below) = lower.split_at_row_mut(width);
    let yj = y.subcols(j0, width);
    triangular_matmul(
        square,
        BlockStructure::TriangularLower,
        Accum::Add,
        yj.transpose(),
        BlockStructure::Rectangular,
        yj,
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
    matmul(
        below,
        Accum::Add,
        y.subcols(j1, c - j1).transpose(),
        yj,
        1.0,
        Par::Seq,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spacetime_likelihood::SpaceTimeObservations;
    use crate::testing::wrapped_line;

    #[allow(clippy::type_complexity)]
    fn setup() -> (
        Mesh,
        AdvectionDiffusion,
        DMatrix<f64>,
        Vec<usize>,
        DVector<f64>,
        DMatrix<f64>,
    ) {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 6, 5).unwrap();
        let model = AdvectionDiffusion::from_range_sigma(0.5, 1.3, [1.5, -0.7]).unwrap();
        // 150 observations, 10 at each of 15 steps (some steps without any).
        let locations = wrapped_line(150, 3.0);
        let times: Vec<usize> = (0..150).map(|i| 1 + (i / 10) + (i / 50)).collect();
        let y = DVector::from_fn(150, |i, _| ((i as f64) * 0.71).sin() + 0.3);
        let x = DMatrix::from_fn(150, 2, |i, j| if j == 0 { 1.0 } else { locations[(i, 1)] });
        (mesh, model, locations, times, y, x)
    }

    /// Both routes on the same data: log-likelihood, GLS coefficients and gradient.
    fn assert_routes_agree(
        swept: &SweepObservations,
        joint: &SpaceTimeObservations,
        model: &AdvectionDiffusion,
        s: f64,
    ) {
        let a = swept.log_likelihood(model, s, true).unwrap();
        let b = joint.log_likelihood(model, s, true).unwrap();
        let scale = b.log_likelihood.abs().max(1.0);
        assert!(
            (a.log_likelihood - b.log_likelihood).abs() < 1e-10 * scale,
            "{} vs {}",
            a.log_likelihood,
            b.log_likelihood
        );
        assert!((&a.beta - &b.beta).amax() < 1e-9);
        assert!((&a.beta_covariance - &b.beta_covariance).amax() < 1e-9);
        // Both gradients difference matrices at a step of 1e-5: about ten digits of the
        // largest coordinate.
        let (ga, gb) = (a.gradient.unwrap(), b.gradient.unwrap());
        let norm = gb.iter().fold(1.0_f64, |m, g| m.max(g.abs()));
        for k in 0..6 {
            assert!(
                (ga[k] - gb[k]).abs() < 1e-8 * norm,
                "coordinate {k}: {ga:?} vs {gb:?}"
            );
        }
    }

    #[test]
    fn equals_the_joint_route() {
        let (mesh, model, locations, times, y, x) = setup();
        let (dt, burn_in) = (0.1, 3);
        let swept = SweepObservations::new(
            &mesh,
            dt,
            &model,
            &locations,
            &times,
            y.clone(),
            x.clone(),
            burn_in,
        )
        .unwrap();
        let joint =
            SpaceTimeObservations::new(&mesh, dt, &model, &locations, &times, y, x, burn_in)
                .unwrap();
        assert_routes_agree(&swept, &joint, &model, 0.3);
        assert_routes_agree(
            &swept,
            &joint,
            &model.with_range_sigma(0.3, 0.7).unwrap(),
            0.05,
        );
    }

    #[test]
    fn equals_the_joint_route_with_fields_and_white_noise() {
        let (mesh, _, locations, times, y, _) = setup();
        let model = AdvectionDiffusion {
            alpha: 2,
            noise_alpha: 0,
            ..AdvectionDiffusion::from_range_sigma(0.4, 1.0, [0.5, 1.0]).unwrap()
        };
        let n = mesh.n_nodes();
        let fields = Fields {
            advection: Some((0..n).map(|i| [(i as f64 * 0.3).sin(), 0.5]).collect()),
            diffusion_scale: Some((0..n).map(|i| 1.0 + 0.5 * (i as f64 * 0.7).cos()).collect()),
        };
        let x = DMatrix::from_element(y.len(), 1, 1.0);
        let swept = SweepObservations::new(
            &mesh,
            0.05,
            &model,
            &locations,
            &times,
            y.clone(),
            x.clone(),
            0,
        )
        .unwrap()
        .with_fields(fields.clone())
        .unwrap();
        let joint = SpaceTimeObservations::new(&mesh, 0.05, &model, &locations, &times, y, x, 0)
            .unwrap()
            .with_fields(fields)
            .unwrap();
        assert_routes_agree(&swept, &joint, &model, 0.2);
    }

    #[test]
    fn bad_input_is_refused() {
        let (mesh, model, locations, times, y, x) = setup();
        let new = |times: &[usize], y: DVector<f64>, x: DMatrix<f64>| {
            SweepObservations::new(&mesh, 0.1, &model, &locations, times, y, x, 0)
        };
        // Unsorted and zero steps, mismatched lengths.
        let mut unsorted = times.clone();
        unsorted.swap(0, 149);
        assert!(new(&unsorted, y.clone(), x.clone()).is_err());
        let mut zero = times.clone();
        zero[0] = 0;
        assert!(new(&zero, y.clone(), x.clone()).is_err());
        assert!(new(&times[1..], y.clone(), x.clone()).is_err());
        // Non-finite responses, collinear covariates.
        let mut nan = y.clone();
        nan[3] = f64::NAN;
        assert!(new(&times, nan, x.clone()).is_err());
        let collinear = DMatrix::from_element(150, 2, 1.0);
        assert!(new(&times, y.clone(), collinear).is_err());
        // A non-positive noise sd.
        let ok = new(&times, y, x).unwrap();
        assert!(ok.log_likelihood(&model, 0.0, false).is_err());
        assert!(ok.log_likelihood(&model, f64::NAN, false).is_err());
    }
}
