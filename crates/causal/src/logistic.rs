//! Logistic regression by Newton's method (IRLS), with step-halving, an optional ridge penalty
//! and separation detection.
//!
//! For $t_i \in [0, 1]$ (a treatment indicator, or a binary or rescaled bounded outcome) and a
//! design $X$ (include a column of ones), maximise
//!
//! $$ \ell(\beta) = \sum_i \big[t_i \log p_i + (1 - t_i)\log(1 - p_i)\big]
//!    - \tfrac{\lambda n}{2}\sum_{j \ge 1}\tilde\beta_j^2, \qquad p_i = \sigma(x_i^\top\beta), $$
//!
//! ($\tilde\beta$ the coefficients of columns scaled to unit root mean square, the intercept
//! unpenalised). Newton's step solves $(X^\top W X + \lambda n I')\thinspace\delta = \nabla\ell$
//! with $W = \operatorname{diag}(p_i(1-p_i))$; when a full step does not increase $\ell$ it is
//! halved (up to 30 times). With fractional $t_i$ this is the quasi-binomial fit used by TMLE.
//!
//! **Separation.** When a combination of covariates predicts the treatment perfectly, the
//! maximum-likelihood estimate does not exist: $\ell$ increases towards 0 as
//! $\lVert\beta\rVert \to \infty$ and the fitted probabilities run to 0 or 1. IRLS then never
//! converges, and weighting estimators would divide by zero. The fit stops with
//! [`Error::Degenerate`] when, at the end of Newton's iterations, a linear predictor exceeds 30
//! in absolute value ($p < 10^{-13}$) without a ridge penalty (Newton on separated data
//! "converges" as the probabilities saturate, so the check is on the final fit); a ridge penalty ($\lambda > 0$) always has a finite
//! solution. (Albert & Anderson 1984, *Biometrika* 71:1–10.)
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_causal::logistic::LogisticRegression;
//! let x = DMatrix::from_row_slice(6, 2, &[1., 0., 1., 1., 1., 2., 1., 3., 1., 4., 1., 5.]);
//! // Perfectly separated at x = 2.5: refused with a clear error.
//! let t = DVector::from_vec(vec![0., 0., 0., 1., 1., 1.]);
//! let err = LogisticRegression::default().fit(&x, &t).unwrap_err();
//! assert!(err.to_string().contains("separation"));
//! // Overlapping classes: a finite fit whose score vanishes.
//! let t = DVector::from_vec(vec![0., 1., 0., 1., 0., 1.]);
//! let fit = LogisticRegression::default().fit(&x, &t)?;
//! let score = x.tr_mul(&(&t - fit.fitted()));
//! assert!(score.amax() < 1e-10);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::ops::Range;

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::fastmath::exp;
use uqforge_core::{Error, Result};

use crate::linear::Scaled;

/// Linear predictors beyond this are treated as separation ($\sigma(-30) \approx 9\cdot 10^{-14}$).
const SEPARATION_ETA: f64 = 30.0;

/// Settings of a logistic regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Ridge penalty $\lambda \ge 0$ on the scaled non-intercept coefficients.
    pub ridge: f64,
    /// Newton iterations before [`Error::DidNotConverge`].
    pub max_iter: usize,
    /// What is fitted, for error messages ("propensity model", "outcome model").
    pub what: &'static str,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        Self {
            ridge: 0.0,
            max_iter: 100,
            what: "logistic regression",
        }
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone)]
pub struct LogisticFit {
    scaled: Scaled,
    coef: DVector<f64>,
    fitted: DVector<f64>,
    /// Cholesky of the (penalised) information $Z^\top W Z / n$ in the scaled parametrisation.
    info: Cholesky<f64, Dyn>,
    iterations: usize,
}

/// The logistic function $\sigma(\eta) = 1/(1 + e^{-\eta})$, without overflow.
pub(crate) fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// A point of the iterations: coefficients, linear predictor, probabilities, objective.
type Point = (DVector<f64>, DVector<f64>, DVector<f64>, f64);

/// Step-halving along `step` from `beta` (objective `obj` there): the first of $1, 1/2, \dots,
/// 2^{-29}$ whose objective (log-likelihood minus `pen`) does not fall below `obj` beyond
/// rounding, with the step factor; `None` when none does.
fn ascend(
    rows: &RowSet<'_>,
    t: &DVector<f64>,
    beta: &DVector<f64>,
    step: &DVector<f64>,
    obj: f64,
    pen: &dyn Fn(&DVector<f64>) -> f64,
) -> Option<(f64, Point)> {
    let mut s = 1.0;
    for _ in 0..30 {
        let trial = beta + step * s;
        let eta = rows.mul(&trial);
        let (ll, p) = log_likelihood(&eta, t);
        let trial_obj = ll - pen(&trial);
        if trial_obj >= obj - 1e-12 * obj.abs() {
            return Some((s, (trial, eta, p, trial_obj)));
        }
        s *= 0.5;
    }
    None
}

/// Rows per parallel chunk of the per-unit passes (32 KiB of each vector).
const CHUNK: usize = 4096;

/// $\sum_i t_i\eta_i - \log(1 + e^{\eta_i})$ and $\sigma(\eta_i)$ in one pass, sharing
/// $e^{-|\eta_i|}$ between the two (one `exp` per unit), in parallel chunks summed in order.
fn log_likelihood(eta: &DVector<f64>, t: &DVector<f64>) -> (f64, DVector<f64>) {
    let mut p = DVector::zeros(eta.len());
    let partial: Vec<f64> = p
        .as_mut_slice()
        .par_chunks_mut(CHUNK)
        .zip(eta.as_slice().par_chunks(CHUNK))
        .zip(t.as_slice().par_chunks(CHUNK))
        .map(|((p, eta), t)| {
            let mut ll = 0.0;
            for ((pi, &e), &ti) in p.iter_mut().zip(eta).zip(t) {
                let a = (-e.abs()).exp();
                // log(1 + e^eta) = max(eta, 0) + log(1 + e^-|eta|).
                ll += ti * e - (e.max(0.0) + a.ln_1p());
                *pi = if e >= 0.0 {
                    1.0 / (1.0 + a)
                } else {
                    a / (1.0 + a)
                };
            }
            ll
        })
        .collect();
    (partial.iter().sum(), p)
}

impl LogisticRegression {
    /// With a ridge penalty.
    pub fn with_ridge(mut self, ridge: f64) -> Self {
        self.ridge = ridge;
        self
    }

    /// Labelled for error messages.
    pub fn named(mut self, what: &'static str) -> Self {
        self.what = what;
        self
    }

    /// Fit `t` (values in [0, 1]) on the columns of `x`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for targets outside [0, 1] or a negative ridge,
    /// [`Error::Degenerate`] for separation or collinear columns, [`Error::DidNotConverge`]
    /// after `max_iter` Newton steps.
    pub fn fit(&self, x: &DMatrix<f64>, t: &DVector<f64>) -> Result<LogisticFit> {
        uqforge_core::validate::len("logistic targets", x.nrows(), t.len())?;
        if let Some((i, v)) = t
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            return Err(Error::invalid_parameter(
                self.what,
                format!("targets must lie in [0, 1]; unit {i} has {v}"),
            ));
        }
        if !(self.ridge >= 0.0 && self.ridge.is_finite()) {
            return Err(Error::invalid_parameter(
                "ridge",
                format!("must be finite and >= 0, got {}", self.ridge),
            ));
        }
        let n = x.nrows();
        let scaled = Scaled::new(x, self.ridge > 0.0)?;
        let mut beta = DVector::<f64>::zeros(x.ncols());
        // Start at the intercept-only solution (on the scaled intercept column).
        let mean_t = t.mean().clamp(1e-6, 1.0 - 1e-6);
        if x.column(0).iter().all(|&v| v == x[(0, 0)]) && x[(0, 0)] != 0.0 {
            beta[0] = (mean_t / (1.0 - mean_t)).ln() / scaled.z[(0, 0)];
        }
        let all = 0..n;
        let rows = RowSet::new(&scaled.z, std::slice::from_ref(&all));
        let (beta, iterations) = self.newton(&rows, t, beta)?;
        self.finish(scaled, beta, iterations)
    }

    /// Newton's iterations on the rows `rows` of a scaled design, from `beta`; `t` holds the
    /// targets of those rows in order. Returns the solution and the iterations used.
    pub(crate) fn newton(
        &self,
        rows: &RowSet<'_>,
        t: &DVector<f64>,
        mut beta: DVector<f64>,
    ) -> Result<(DVector<f64>, usize)> {
        let n = rows.len();
        let nf = n as f64;
        let k = beta.len();
        let penalty = self.ridge * nf;
        let pen =
            |beta: &DVector<f64>| 0.5 * penalty * beta.iter().skip(1).map(|b| b * b).sum::<f64>();
        let mut eta = rows.mul(&beta);
        let (ll, mut p) = log_likelihood(&eta, t);
        let mut obj = ll - pen(&beta);
        for iteration in 1..=self.max_iter {
            let w = p.map(|pi| pi * (1.0 - pi));
            let mut grad = rows.tr_mul(&(t - &p));
            for j in 1..k {
                grad[j] -= penalty * beta[j];
            }
            let chol = Scaled::factor(rows.gram(&w, penalty), n).map_err(|_| {
                Error::degenerate(
                    self.what,
                    "the weighted design is singular (collinear covariates, or fitted \
                     probabilities of 0 or 1 from separation)",
                )
            })?;
            let step = chol.solve(&(&grad / nf));
            // Newton decrement: converged when the quadratic model promises nothing more.
            let decrement = grad.dot(&step);
            if decrement.abs() < 1e-20 * (1.0 + obj.abs()) || step.amax() < 1e-13 {
                self.check_separation(&eta)?;
                return Ok((beta, iteration));
            }
            let Some((s, point)) = ascend(rows, t, &beta, &step, obj, &pen) else {
                // No ascent along Newton's direction: at the optimum to rounding.
                self.check_separation(&eta)?;
                return Ok((beta, iteration));
            };
            (beta, eta, p, obj) = point;
            // Newton converges quadratically near the optimum: after a full step of at most
            // 1e-7 (coefficients of unit-RMS columns), the next step would be of order 1e-14.
            // Stopping here saves the Gram matrix a confirming iteration would cost.
            if s == 1.0 && step.amax() < 1e-7 {
                self.check_separation(&eta)?;
                return Ok((beta, iteration));
            }
        }
        self.check_separation(&eta)?;
        Err(Error::DidNotConverge {
            what: self.what.to_string(),
            iterations: self.max_iter,
            residual: f64::NAN,
        })
    }

    /// Iterations $\beta \leftarrow \beta + H^{-1}\nabla\ell(\beta)/n$ with a *fixed*
    /// normalised Hessian $H$ (a Cholesky factor of $Z^\top W Z / n$ taken elsewhere), from
    /// `beta`, on the rows `rows` (no ridge). They converge to the same maximum-likelihood
    /// estimate as Newton's method, linearly with a rate of the order of the relative difference
    /// between $H$ and the Hessian at the solution; when $H$ comes from a larger sample of the
    /// same population that difference is $O(n^{-1/2})$. Each iteration costs a product and a
    /// likelihood pass, but no Gram matrix. `None` when 25 iterations do not reach a step of
    /// $10^{-10}$ (the caller then uses [`LogisticRegression::newton`]).
    pub(crate) fn fixed_hessian(
        &self,
        rows: &RowSet<'_>,
        t: &DVector<f64>,
        mut beta: DVector<f64>,
        hessian: &Cholesky<f64, Dyn>,
    ) -> Result<Option<DVector<f64>>> {
        let nf = rows.len() as f64;
        let mut eta = rows.mul(&beta);
        let (mut ll, mut p) = log_likelihood(&eta, t);
        let mut previous = f64::INFINITY;
        for _ in 0..25 {
            let grad = rows.tr_mul(&(t - &p));
            let step = hessian.solve(&(&grad / nf));
            let size = step.amax();
            if size < 1e-10 {
                self.check_separation(&eta)?;
                return Ok(Some(beta));
            }
            let Some((s, point)) = ascend(rows, t, &beta, &step, ll, &|_| 0.0) else {
                self.check_separation(&eta)?;
                return Ok(Some(beta));
            };
            (beta, eta, p, ll) = point;
            // Linear convergence at rate r = |step| / |previous step|: after this full step
            // the remaining error is about |step| r / (1 - r); stop when that is below 1e-9.
            let rate = size / previous;
            if s == 1.0 && previous.is_finite() && rate < 0.5 && size * rate / (1.0 - rate) < 1e-9 {
                self.check_separation(&eta)?;
                return Ok(Some(beta));
            }
            previous = size;
        }
        Ok(None)
    }

    fn finish(&self, scaled: Scaled, beta: DVector<f64>, iterations: usize) -> Result<LogisticFit> {
        let eta = &scaled.z * &beta;
        let fitted = eta.map(sigmoid);
        // The information at the solution, for sandwich corrections.
        let w = fitted.map(|p| p * (1.0 - p));
        let n = scaled.z.nrows();
        let all = 0..n;
        let rows = RowSet::new(&scaled.z, std::slice::from_ref(&all));
        let info = Scaled::factor(rows.gram(&w, self.ridge * n as f64), n)?;
        let coef = beta.component_div(&scaled.scale);
        Ok(LogisticFit {
            scaled,
            coef,
            fitted,
            info,
            iterations,
        })
    }

    /// Without a penalty, a linear predictor beyond 30 at the end of Newton's iterations means
    /// the likelihood was still climbing towards its supremum at infinity: separation.
    fn check_separation(&self, eta: &DVector<f64>) -> Result<()> {
        if self.ridge == 0.0
            && let Some(i) = eta.iter().position(|e| e.abs() > SEPARATION_ETA)
        {
            return Err(separation(self.what, i));
        }
        Ok(())
    }
}

/// Every cross-fitting fold's training Hessian at one point `beta`, normalised and factored:
/// $H_{-f} = \sum_{g \ne f} Z_g^\top W Z_g / n_{-f}$ with $W = \operatorname{diag}(p_i (1 - p_i))$
/// at `beta`, where `folds[g]` is fold $g$'s row range of `z`.
///
/// The folds' weighted Gram matrices $Z_g^\top W Z_g$ come from one pass over the design
/// (row blocks of every fold in parallel, summed per fold in block order), so all $K$
/// Hessians cost what the whole sample's one does.
///
/// # Errors
/// Per fold, [`Error::Degenerate`] for a collinear training design.
pub(crate) fn training_hessians(
    z: &DMatrix<f64>,
    folds: &[Range<usize>],
    beta: &DVector<f64>,
) -> Vec<Result<Cholesky<f64, Dyn>>> {
    let blocks = fold_blocks(folds);
    let parts: Vec<DMatrix<f64>> = blocks
        .par_iter()
        .map(|&(_, s, len)| {
            let rows = z.rows(s, len);
            let w = (rows * beta).map(|e| {
                let q = sigmoid(e);
                q * (1.0 - q)
            });
            crate::linear::gram(rows, Some(w.as_view()))
        })
        .collect();
    let p = z.ncols();
    let mut grams = vec![DMatrix::zeros(p, p); folds.len()];
    for (&(f, _, _), part) in blocks.iter().zip(&parts) {
        grams[f] += part;
    }
    let n: usize = folds.iter().map(ExactSizeIterator::len).sum();
    (0..folds.len())
        .map(|f| {
            let mut h = DMatrix::zeros(p, p);
            for (g, gram) in grams.iter().enumerate() {
                if g != f {
                    h += gram;
                }
            }
            Scaled::factor(h, n - folds[f].len())
        })
        .collect()
}

/// The row blocks of [`quasi_newton_all_folds`] and [`training_hessians`]: (fold, first row,
/// length), at most [`FOLD_BLOCK`] rows, never across folds.
fn fold_blocks(folds: &[Range<usize>]) -> Vec<(usize, usize, usize)> {
    folds
        .iter()
        .enumerate()
        .flat_map(|(f, r)| {
            (r.start..r.end)
                .step_by(FOLD_BLOCK)
                .map(move |s| (f, s, FOLD_BLOCK.min(r.end - s)))
        })
        .collect()
}

/// Rows per block of [`quasi_newton_all_folds`]: a block of the design (21 columns: 170 KiB)
/// stays in cache while every fold's model reads it twice.
const FOLD_BLOCK: usize = 1024;

/// Quasi-Newton iterations of the logistic fits of every cross-fitting fold at once.
///
/// `z` holds the units grouped by fold (`folds[f]` is fold `f`'s row range); fold `f`'s
/// model is trained on every other fold, from `starts[f]`, the coefficients after one Newton
/// step (which the caller takes from sufficient statistics). Each iteration makes **one**
/// pass over the design: a block of rows, in cache, gives every other fold's model its
/// linear predictor and gradient terms, where per-fold iterations read the design twice per
/// fold (product, then gradient). No likelihood is computed: its `log1p` per unit and model
/// cost more than the rest of the pass. Steps are full steps
/// $\beta \leftarrow \beta + H^{-1} g / n_{-f}$, with
///
/// 1. first, the training Hessians at the mean of the starts ([`training_hessians`], one
///    weighted Gram matrix for all folds), close to every fold's own after a Newton step;
/// 2. then each fold's Hessian with the BFGS update of its last step and gradient change
///    ([`bfgs_update`]), which turns the linear convergence of a fixed Hessian into
///    superlinear convergence (measured at $n = 10^4$: steps of 2.5e-2, 2.1e-4, 2.0e-6,
///    2.7e-9 after Newton's 0.4; the fixed Hessian's are 2.5e-2, 2.0e-4, 4.8e-6, 1.0e-7,
///    2.1e-9, a pass more).
///
/// A fold stops after a step below $10^{-8}$ (coefficients of unit-RMS columns), after which
/// the remaining error is of the order of $10^{-10}$ (measured: the last steps shrink 80- to
/// 1100-fold each, and the fits equal per-fold Newton's to $3 \times 10^{-11}$), or at
/// a step below $10^{-10}$, not taken. A step no smaller than the one before (not contracting)
/// or a linear predictor beyond the separation threshold hands the fold back (`None`) to the
/// per-fold iterations with their line search, as does a fold still moving after 25
/// iterations (and every fold, if a training Hessian is singular). Each block serves the
/// models with two matrix products ($E = Z_b B$, then $R^\top Z_b$) rather than
/// matrix-vector ones.
pub(crate) fn quasi_newton_all_folds(
    z: &DMatrix<f64>,
    t: &DVector<f64>,
    folds: &[Range<usize>],
    starts: &[DVector<f64>],
) -> Vec<Option<DVector<f64>>> {
    let (n, p) = z.shape();
    let k = folds.len();
    let blocks = fold_blocks(folds);
    // nalgebra multiplies through matrixmultiply's SIMD kernels only when every dimension
    // exceeds 5; with five folds the products would fall back to loops over columns at about
    // half the speed (measured), so the coefficients get zero columns up to a width of 8.
    let width = k.max(6).next_multiple_of(4);
    let train: Vec<f64> = folds.iter().map(|r| (n - r.len()) as f64).collect();
    let mut beta = starts.to_vec();
    let mut active = vec![true; k];
    let mut result: Vec<Option<DVector<f64>>> = vec![None; k];
    let mut previous = vec![f64::INFINITY; k];
    // Per fold: the BFGS Hessian and its factor once updated, and the last step with the
    // gradient it was taken from.
    let mut quasi: Vec<Option<QuasiHessian>> = vec![None; k];
    let mut last: Vec<Option<(DVector<f64>, DVector<f64>)>> = vec![None; k];
    // Every fold is near its solution after Newton's first step (taken by the caller): the
    // training Hessians at the folds' mean coefficients are close to each fold's own (one
    // weighted Gram matrix for all folds). If one of them is singular, nothing is fitted
    // here: the per-fold iterations take over.
    let mean = beta.iter().fold(DVector::zeros(p), |acc, b| acc + b) / k as f64;
    let Ok(hessians) = training_hessians(z, folds, &mean)
        .into_iter()
        .collect::<Result<Vec<_>>>()
    else {
        return vec![None; k];
    };
    for _ in 0..25 {
        // Per block, all models at once: E = Z_b B (one product for the k coefficient
        // vectors), residuals t - sigma(E) in the columns of the models trained on the block,
        // then G = R^T Z_b: two matrix products per block, the block read from cache.
        let coefficients = DMatrix::from_fn(p, width, |j, m| if m < k { beta[m][j] } else { 0.0 });
        let parts: Vec<(DMatrix<f64>, Vec<f64>)> = blocks
            .par_iter()
            .map(|&(f, s, len)| {
                let rows = z.rows(s, len);
                let tb = t.rows(s, len);
                let mut r = rows * &coefficients;
                let mut worst = vec![0.0f64; k];
                for (m, mut column) in r.column_iter_mut().enumerate() {
                    if m >= k || m == f || !active[m] {
                        column.fill(0.0);
                        continue;
                    }
                    worst[m] = residuals(column.as_mut_slice(), tb.as_slice());
                }
                (r.transpose() * rows, worst)
            })
            .collect();
        let mut gradients = DMatrix::zeros(width, p);
        let mut worst = vec![0.0f64; k];
        for (g, w) in &parts {
            gradients += g;
            for (a, b) in worst.iter_mut().zip(w) {
                *a = a.max(*b);
            }
        }
        let mut any = false;
        for m in 0..k {
            if !active[m] {
                continue;
            }
            let grad = gradients.row(m).transpose() / train[m];
            if let Some((s, before)) = &last[m] {
                bfgs_update(&mut quasi[m], &hessians[m], s, &(before - &grad));
            }
            let step = match &quasi[m] {
                Some((_, factor)) => factor.solve(&grad),
                None => hessians[m].solve(&grad),
            };
            let size = step.amax();
            let rate = size / previous[m];
            if worst[m] > SEPARATION_ETA || (previous[m].is_finite() && rate >= 1.0) {
                // Heading for separation, or not contracting: per fold, with line search.
                active[m] = false;
                continue;
            }
            if size < 1e-10 {
                result[m] = Some(beta[m].clone());
                active[m] = false;
                continue;
            }
            beta[m] += &step;
            last[m] = Some((step, grad));
            if size < 1e-8 {
                result[m] = Some(beta[m].clone());
                active[m] = false;
                continue;
            }
            previous[m] = size;
            any = true;
        }
        if !any {
            break;
        }
    }
    result
}

/// Logistic residuals $t_i - \sigma(e_i)$ in place of the linear predictors $e_i$ of `r`;
/// returns $\max_i |e_i|$. Eight independent lanes and the branch-free
/// [`uqforge_core::fastmath::exp`] let the loop vectorise (libm's `exp` is a call per unit).
fn residuals(r: &mut [f64], t: &[f64]) -> f64 {
    const LANES: usize = 8;
    #[inline(always)]
    fn one(e: f64, t: f64) -> f64 {
        // sigma(e) = 1 / (1 + exp(-e)) for e >= 0 and exp(e) / (1 + exp(e)) otherwise: one
        // exponential of -|e|, never overflowing.
        let x = exp(-e.abs());
        let q = 1.0 / (1.0 + x);
        t - if e >= 0.0 { q } else { x * q }
    }
    let (rc, rr) = r.as_chunks_mut::<LANES>();
    let (tc, tr) = t.as_chunks::<LANES>();
    let mut worst = [0.0f64; LANES];
    for (rb, tb) in rc.iter_mut().zip(tc) {
        for l in 0..LANES {
            let e = rb[l];
            worst[l] = if e.abs() > worst[l] {
                e.abs()
            } else {
                worst[l]
            };
            rb[l] = one(e, tb[l]);
        }
    }
    let mut largest = worst.iter().fold(0.0f64, |a, &b| a.max(b));
    for (ri, &ti) in rr.iter_mut().zip(tr) {
        largest = largest.max(ri.abs());
        *ri = one(*ri, ti);
    }
    largest
}

/// A BFGS Hessian approximation and its Cholesky factor.
type QuasiHessian = (DMatrix<f64>, Cholesky<f64, Dyn>);

/// The BFGS update of a normalised Hessian $H$ (of $-\ell / n$) after a step $s$ whose
/// gradient changed by $-y$: $H \leftarrow H - H s s^\top H / (s^\top H s) + y y^\top / (y^\top s)$,
/// which makes $H s = y$ (the secant condition) and keeps $H$ positive definite when
/// $y^\top s > 0$; otherwise (or if the factorisation fails) the update is skipped. `state`
/// holds the updated matrix and its factor, `None` until the first update, which starts
/// from `initial`.
fn bfgs_update(
    state: &mut Option<QuasiHessian>,
    initial: &Cholesky<f64, Dyn>,
    s: &DVector<f64>,
    y: &DVector<f64>,
) {
    let h = match state {
        Some((h, _)) => h.clone(),
        None => {
            let l = initial.l();
            &l * l.transpose()
        }
    };
    let hs = &h * s;
    let (ys, shs) = (y.dot(s), s.dot(&hs));
    if ys > 0.0 && shs > 0.0 {
        let h = h - &hs * hs.transpose() / shs + y * y.transpose() / ys;
        if let Some(factor) = Cholesky::new(h.clone()) {
            *state = Some((h, factor));
        }
    }
}

fn separation(what: &str, unit: usize) -> Error {
    Error::degenerate(
        what,
        format!(
            "perfect or quasi-complete separation: the covariates predict the 0/1 target \
             exactly (fitted probability of unit {unit} reached 0 or 1), so the maximum- \
             likelihood fit does not exist; remove the separating covariate or use a ridge penalty"
        ),
    )
}

/// Some row ranges of a design, seen as one matrix (the training rows of a cross-fitting fold
/// are the design minus one contiguous range): products without copying rows.
pub(crate) struct RowSet<'a> {
    z: &'a DMatrix<f64>,
    ranges: &'a [Range<usize>],
    len: usize,
}

impl<'a> RowSet<'a> {
    pub(crate) fn new(z: &'a DMatrix<f64>, ranges: &'a [Range<usize>]) -> Self {
        let len = ranges.iter().map(ExactSizeIterator::len).sum();
        Self { z, ranges, len }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Chunks of at most [`CHUNK`] rows: (row start in the design, offset in the set, length).
    fn chunks(&self) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        for r in self.ranges {
            let mut s = r.start;
            while s < r.end {
                let len = CHUNK.min(r.end - s);
                out.push((s, at, len));
                s += len;
                at += len;
            }
        }
        out
    }

    /// $Z_S \beta$, the ranges concatenated. Row chunks keep each product's output in cache
    /// (a column-major product over all rows would stream the output once per column).
    pub(crate) fn mul(&self, beta: &DVector<f64>) -> DVector<f64> {
        let parts: Vec<DVector<f64>> = self
            .chunks()
            .par_iter()
            .map(|&(s, _, len)| self.z.rows(s, len) * beta)
            .collect();
        let mut out = DVector::zeros(self.len);
        for ((_, at, len), part) in self.chunks().into_iter().zip(parts) {
            out.rows_mut(at, len).copy_from(&part);
        }
        out
    }

    /// $Z_S^\top v$ for `v` over the concatenated ranges (chunked, summed in order).
    pub(crate) fn tr_mul(&self, v: &DVector<f64>) -> DVector<f64> {
        let parts: Vec<DVector<f64>> = self
            .chunks()
            .par_iter()
            .map(|&(s, at, len)| self.z.rows(s, len).tr_mul(&v.rows(at, len)))
            .collect();
        let mut out = DVector::zeros(self.z.ncols());
        for part in parts {
            out += part;
        }
        out
    }

    /// $Z_S^\top W Z_S$ plus `penalty` on the non-intercept diagonal.
    pub(crate) fn gram(&self, w: &DVector<f64>, penalty: f64) -> DMatrix<f64> {
        let k = self.z.ncols();
        let mut g = DMatrix::zeros(k, k);
        let mut at = 0;
        for r in self.ranges {
            g += crate::linear::gram(self.z.rows(r.start, r.len()), Some(w.rows(at, r.len())));
            at += r.len();
        }
        for j in 1..k {
            g[(j, j)] += penalty;
        }
        g
    }
}

impl LogisticFit {
    /// Coefficients $\hat\beta$ in the units of the original columns.
    pub fn coefficients(&self) -> &DVector<f64> {
        &self.coef
    }

    /// Fitted probabilities $\hat p_i$ of the training rows.
    pub fn fitted(&self) -> &DVector<f64> {
        &self.fitted
    }

    /// Newton iterations used.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Probabilities for new rows.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a wrong number of columns.
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<DVector<f64>> {
        uqforge_core::validate::len("prediction design columns", self.coef.len(), x.ncols())?;
        Ok((x * &self.coef).map(sigmoid))
    }

    /// The correction that accounts for having estimated $\beta$: for per-unit derivatives
    /// $g_i = \partial\psi_i / \partial\eta_i$ of an estimating function $\psi$ with respect to
    /// the linear predictor, returns $c_i = m^\top I^{-1} (t_i - \hat p_i) z_i$ with
    /// $m = \sum_i g_i z_i$ and $I = Z^\top W Z$, so that $\psi_i + c_i$ is the influence
    /// contribution of the stacked M-estimator (Lunceford & Davidian 2004, eq. 21).
    pub(crate) fn score_correction(&self, t: &DVector<f64>, g: &DVector<f64>) -> DVector<f64> {
        let z = &self.scaled.z;
        let n = z.nrows() as f64;
        let m = z.tr_mul(g);
        // info holds I / n.
        let a = self.info.solve(&m) / n;
        let score = t - &self.fitted;
        let za = z * a;
        za.component_mul(&score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_closed_form_of_a_saturated_model() {
        // One binary covariate: the MLE reproduces the cell proportions exactly.
        // Cell x = 0: 1 of 4 treated; cell x = 1: 3 of 5 treated.
        let xs = [0., 0., 0., 0., 1., 1., 1., 1., 1.];
        let ts = [1., 0., 0., 0., 1., 1., 1., 0., 0.];
        let x = DMatrix::from_fn(9, 2, |i, j| if j == 0 { 1.0 } else { xs[i] });
        let t = DVector::from_row_slice(&ts);
        let fit = LogisticRegression::default().fit(&x, &t).unwrap();
        let logit = |p: f64| (p / (1.0 - p)).ln();
        assert!((fit.coefficients()[0] - logit(0.25)).abs() < 1e-10);
        assert!((fit.coefficients()[1] - (logit(0.6) - logit(0.25))).abs() < 1e-10);
        assert!((fit.fitted()[4] - 0.6).abs() < 1e-12);
    }

    #[test]
    fn ridge_makes_separated_data_finite() {
        let x = DMatrix::from_fn(6, 2, |i, j| if j == 0 { 1.0 } else { i as f64 });
        let t = DVector::from_vec(vec![0., 0., 0., 1., 1., 1.]);
        let fit = LogisticRegression::default()
            .with_ridge(0.1)
            .fit(&x, &t)
            .unwrap();
        assert!(fit.fitted().iter().all(|p| *p > 0.0 && *p < 1.0));
        assert!(fit.coefficients()[1] > 0.0);
    }

    #[test]
    fn refuses_targets_outside_unit_interval() {
        let x = DMatrix::from_element(3, 1, 1.0);
        let t = DVector::from_vec(vec![0., 2., 1.]);
        assert!(matches!(
            LogisticRegression::default().fit(&x, &t),
            Err(Error::InvalidParameter { .. })
        ));
    }

    #[test]
    fn bfgs_update_meets_the_secant_condition() {
        let h0 = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0]);
        let initial = Cholesky::new(h0.clone()).unwrap();
        let s = DVector::from_vec(vec![0.3, -0.1, 0.2]);
        let y = DVector::from_vec(vec![1.0, 0.1, 0.6]);
        let mut state = None;
        bfgs_update(&mut state, &initial, &s, &y);
        let (h, factor) = state.clone().unwrap();
        assert!((&h * &s - &y).amax() < 1e-14);
        assert!((factor.l() * factor.l().transpose() - &h).amax() < 1e-13);
        // Symmetric, and unchanged on directions H0-orthogonal to s and orthogonal to y:
        // H v = H0 v.
        assert!((&h - h.transpose()).amax() < 1e-15);
        let mut v = DVector::from_vec(vec![1.0, 0.0, 0.0]);
        // Make v orthogonal to y, then H0-orthogonal to s, solving the 2x2 system exactly.
        let a = nalgebra::Matrix2::new(y[1], y[2], (&h0 * &s)[1], (&h0 * &s)[2]);
        let rhs = nalgebra::Vector2::new(-y[0], -(&h0 * &s)[0]);
        let sol = a.lu().solve(&rhs).unwrap();
        v[1] = sol[0];
        v[2] = sol[1];
        assert!(y.dot(&v).abs() < 1e-14 && s.dot(&(&h0 * &v)).abs() < 1e-14);
        assert!((&h * &v - &h0 * &v).amax() < 1e-12);
        // A pair with y's <= 0 would break positive definiteness: skipped.
        let mut kept = state.clone();
        bfgs_update(&mut kept, &initial, &s, &(-&y));
        assert_eq!(kept.unwrap().0, h);
    }
}
