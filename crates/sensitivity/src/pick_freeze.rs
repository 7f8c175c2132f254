//! Pick-freeze estimation of first-order and total Sobol' indices.
//!
//! **Design.** Draw $N$ points $u_j \in [0,1)^{2d}$ ([`Design`]); the first $d$ coordinates,
//! mapped through the marginals, form row $j$ of $A$, the last $d$ of $B$. Evaluate
//! $f(A_j)$, $f(B_j)$ and $f(A_{B,j}^{(i)})$ for $i = 1..d$: $N(d+2)$ evaluations per replicate.
//!
//! **Streaming.** Rows are processed in blocks of [`crate::design::BLOCK`], generated on demand,
//! evaluated, and folded into a [`PickFreezeState`] of mergeable moments
//! ([`crate::moments`]); the $N(d+2)$ evaluations are never held in memory at once. Blocks run
//! in parallel (rayon) and are merged in block order, so the result is the same for any number
//! of threads. [`PickFreeze::accumulate`] computes the state of any block range, so shards can
//! run on different machines and be [`PickFreezeState::merge`]d.
//!
//! **Intervals.** Monte Carlo: replicates are pooled into one sample of $NR$ rows and the
//! interval is the delta-method normal interval (Fisher's $z$ for Martinez). Scrambled Sobol':
//! rows of one replicate are dependent, so the estimate is the mean of the $R$ independent
//! replicate estimates and the interval is Student's
//! $\bar S \pm t_{R-1,1-\alpha/2}\thinspace  s_R/\sqrt R$ (Owen 2013, ch. 17; $R \ge 2$ needed).
//!
//! Cost: $N(d+2)R$ model evaluations, plus $O(N d k)$ work for the statistics ($k$ outputs).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use uqforge_core::{Error, Estimate, Interval, Model, Result, validate};

use crate::design::{BLOCK, Design};
use crate::moments::{Dual, FEATURES, FeatureMoments};
use crate::second_order::{self, PairMeans, SecondOrderIndex};
use crate::{Estimator, InputSpace};

/// Settings of a pick-freeze analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PickFreezeConfig {
    /// Base sample size $N$ per replicate (a power of two for a Sobol' design).
    pub n: usize,
    /// How the base points are drawn.
    pub design: Design,
    /// Which estimator.
    pub estimator: Estimator,
    /// Independent replicates $R$ (re-scrambled for a Sobol' design).
    pub replicates: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Also estimate second-order indices (costs $dN$ more evaluations per replicate).
    #[serde(default)]
    pub second_order: bool,
}

impl Default for PickFreezeConfig {
    fn default() -> Self {
        Self {
            n: 1 << 12,
            design: Design::Sobol,
            estimator: Estimator::Saltelli,
            replicates: 10,
            seed: 0,
            level: 0.95,
            second_order: false,
        }
    }
}

impl PickFreezeConfig {
    /// The defaults (10 replicates, seed 0, 95 % intervals, no second order) with this
    /// estimator, design and base sample size.
    ///
    /// ```
    /// use uqforge_sensitivity::{Design, Estimator, PickFreezeConfig};
    /// let c = PickFreezeConfig::new(Estimator::Janon, Design::MonteCarlo, 1000).with_seed(7);
    /// assert_eq!((c.n, c.seed, c.replicates), (1000, 7, 10));
    /// ```
    pub fn new(estimator: Estimator, design: Design, n: usize) -> Self {
        Self {
            n,
            design,
            estimator,
            ..Self::default()
        }
    }

    /// With `replicates` independent replicates.
    pub fn with_replicates(self, replicates: u32) -> Self {
        Self { replicates, ..self }
    }

    /// With every random choice drawn from `seed`.
    pub fn with_seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// With (or without) second-order indices.
    pub fn with_second_order(self, second_order: bool) -> Self {
        Self {
            second_order,
            ..self
        }
    }
}

/// Smallest base sample: the delta method needs a few rows, Fisher's z needs $N > 3$.
pub const MIN_N: usize = 8;

/// Mergeable statistics of one replicate: one [`FeatureMoments`] per (output, input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickFreezeState {
    inputs: usize,
    outputs: usize,
    /// Row-major `outputs x inputs`.
    moments: Vec<FeatureMoments>,
    /// One per output, when second-order indices are asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    second: Vec<PairMeans>,
}

impl PickFreezeState {
    fn new(inputs: usize, outputs: usize, second_order: bool) -> Self {
        let second = if second_order {
            vec![PairMeans::new(inputs); outputs]
        } else {
            Vec::new()
        };
        Self {
            inputs,
            outputs,
            moments: vec![FeatureMoments::default(); inputs * outputs],
            second,
        }
    }

    /// Rows folded in so far.
    pub fn rows(&self) -> u64 {
        self.moments.first().map_or(0, FeatureMoments::count)
    }

    /// Adds the statistics of `other` (same model shape): the result is that of one pass over
    /// both row sets.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the shapes differ.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        validate::len("merged state inputs", self.inputs, other.inputs)?;
        validate::len("merged state outputs", self.outputs, other.outputs)?;
        validate::len(
            "merged second-order statistics",
            self.second.len(),
            other.second.len(),
        )?;
        for (m, o) in self.moments.iter_mut().zip(&other.moments) {
            m.merge(o);
        }
        for (m, o) in self.second.iter_mut().zip(&other.second) {
            m.merge(o);
        }
        Ok(())
    }

    fn get(&self, output: usize, input: usize) -> &FeatureMoments {
        &self.moments[output * self.inputs + input]
    }
}

/// Model outputs on one block of rows (see [`PickFreeze::block_outputs`]).
pub(crate) struct BlockOutputs {
    pub(crate) ya: Vec<f64>,
    pub(crate) yb: Vec<f64>,
    pub(crate) yc: Vec<Vec<f64>>,
    /// $f(B_A^{(i)})$, when second-order indices are asked for.
    pub(crate) yd: Vec<Vec<f64>>,
}

/// Indices of one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputIndices {
    /// Output variance estimate ($\hat V$ of the pooled $A, B$ outputs, replicate mean).
    pub variance: f64,
    /// First-order indices $S_i$, one per input.
    pub first_order: Vec<Estimate>,
    /// Total indices $S_{T_i}$, one per input.
    pub total: Vec<Estimate>,
    /// Second-order indices $S_{jk}$, $j < k$, when asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub second_order: Vec<SecondOrderIndex>,
}

/// The result of a pick-freeze analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SobolIndices {
    /// The settings used, seed included.
    pub config: PickFreezeConfig,
    /// Model evaluations spent: $N(d+2)R$, or $N(2d+2)R$ with second-order indices.
    pub evaluations: usize,
    /// Input names.
    pub names: Vec<String>,
    /// One entry per model output.
    pub outputs: Vec<OutputIndices>,
}

/// A configured pick-freeze analysis of a model on an input space.
#[derive(Debug, Clone)]
pub struct PickFreeze {
    space: InputSpace,
    config: PickFreezeConfig,
}

impl PickFreeze {
    /// Checks the settings against the input space.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `n < 8`, no replicates, a level outside (0, 1), or a
    /// Sobol' design that cannot hold `n` points of dimension $2d$.
    pub fn new(space: InputSpace, config: PickFreezeConfig) -> Result<Self> {
        validate::at_least("n", config.n, MIN_N)?;
        validate::at_least("replicates", config.replicates as usize, 1)?;
        validate::in_open_range("level", config.level, 0.0, 1.0)?;
        config.design.check(config.n, 2 * space.dim())?;
        Ok(Self { space, config })
    }

    /// Number of row blocks per replicate.
    pub fn blocks(&self) -> usize {
        self.config.n.div_ceil(BLOCK)
    }

    /// Statistics of replicate `replicate` over row blocks `blocks` (see [`PickFreeze::blocks`]).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the model's input dimension is not the space's;
    /// [`Error::NonFinite`] naming the design row when the model returns NaN or infinity;
    /// the model's own errors.
    pub fn accumulate<M: Model + Sync>(
        &self,
        model: &M,
        replicate: u32,
        blocks: std::ops::Range<usize>,
    ) -> Result<PickFreezeState> {
        validate::len("model input dimension", self.space.dim(), model.input_dim())?;
        validate::at_least("model output dimension", model.output_dim(), 1)?;
        let d = self.space.factors().len();
        let states = blocks
            .into_par_iter()
            .map(|b| self.block(model, replicate, b))
            .collect::<Result<Vec<_>>>()?;
        let mut total = PickFreezeState::new(d, model.output_dim(), self.config.second_order);
        for s in &states {
            total.merge(s)?;
        }
        Ok(total)
    }

    fn block<M: Model>(&self, model: &M, replicate: u32, block: usize) -> Result<PickFreezeState> {
        let (d, k) = (self.space.factors().len(), model.output_dim());
        let mut state = PickFreezeState::new(d, k, self.config.second_order);
        let Some(out) = self.block_outputs(model, replicate, block)? else {
            return Ok(state);
        };
        let rows = out.ya.len() / k;
        if self.config.second_order {
            let pairs = second_order::pairs(d);
            let mut values = vec![0.0; pairs.len()];
            let mut ba = vec![0.0; d];
            for o in 0..k {
                for r in 0..rows {
                    let ab = out.ya[r * k + o] * out.yb[r * k + o];
                    for (v, &(j, l)) in values.iter_mut().zip(&pairs) {
                        *v = out.yd[j][r * k + o] * out.yc[l][r * k + o] - ab;
                    }
                    for (x, yd) in ba.iter_mut().zip(&out.yd) {
                        *x = yd[r * k + o];
                    }
                    state.second[o].push(&values, &ba);
                }
            }
        }
        for (i, yc) in out.yc.iter().enumerate() {
            for o in 0..k {
                let m = &mut state.moments[o * d + i];
                for r in 0..rows {
                    m.push(out.ya[r * k + o], out.yb[r * k + o], yc[r * k + o]);
                }
            }
        }
        Ok(state)
    }

    /// The model outputs on one block of the design: $f(A)$, $f(B)$ and $f(A_B^{(i)})$ for each
    /// $i$, row-major `rows x k`; `None` past the last row.
    pub(crate) fn block_outputs<M: Model>(
        &self,
        model: &M,
        replicate: u32,
        block: usize,
    ) -> Result<Option<BlockOutputs>> {
        let (d, k) = (self.space.dim(), model.output_dim());
        let first = block * BLOCK;
        let rows = BLOCK.min(self.config.n.saturating_sub(first));
        if rows == 0 {
            return Ok(None);
        }
        let mut unit = vec![0.0; rows * 2 * d];
        self.config
            .design
            .fill_block(self.config.seed, replicate, block, rows, 2 * d, &mut unit);
        let (mut xa, mut xb) = (vec![0.0; rows * d], vec![0.0; rows * d]);
        for (r, u) in unit.chunks_exact(2 * d).enumerate() {
            self.space.map_unit(&u[..d], &mut xa[r * d..(r + 1) * d]);
            self.space.map_unit(&u[d..], &mut xb[r * d..(r + 1) * d]);
        }
        let eval = |x: &[f64], which: &str| -> Result<Vec<f64>> {
            let mut y = vec![0.0; rows * k];
            model.eval_batch(x, &mut y)?;
            if let Some(p) = y.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    what: format!(
                        "model output {} at design row {} of {which}",
                        p % k,
                        first + p / k
                    ),
                    index: first + p / k,
                    value: y[p],
                });
            }
            Ok(y)
        };
        let ya = eval(&xa, "A")?;
        let yb = eval(&xb, "B")?;
        // Factor u (an input, or a group of inputs) swaps all its columns at once.
        let factors = self.space.factors();
        let names = self.space.factor_names();
        let swapped = |base: &[f64], other: &[f64], cols: &[usize], label: String| {
            let mut x = base.to_vec();
            for r in 0..rows {
                for &i in cols {
                    x[r * d + i] = other[r * d + i];
                }
            }
            eval(&x, &label)
        };
        let yc = factors
            .iter()
            .zip(&names)
            .map(|(cols, n)| swapped(&xa, &xb, cols, format!("A_B^({n})")))
            .collect::<Result<Vec<_>>>()?;
        let yd = if self.config.second_order {
            factors
                .iter()
                .zip(&names)
                .map(|(cols, n)| swapped(&xb, &xa, cols, format!("B_A^({n})")))
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(Some(BlockOutputs { ya, yb, yc, yd }))
    }

    /// The settings.
    pub fn config(&self) -> &PickFreezeConfig {
        &self.config
    }

    /// The input space.
    pub fn space(&self) -> &InputSpace {
        &self.space
    }

    /// Indices from one state per replicate (see the module docs for the intervals).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no states; [`Error::Degenerate`] when an output has zero
    /// variance over the design.
    pub fn estimate(&self, replicates: &[PickFreezeState]) -> Result<SobolIndices> {
        validate::non_empty("replicate states", replicates)?;
        let first = &replicates[0];
        let (d, k) = (first.inputs, first.outputs);
        let level = self.config.level;
        let z = uqforge_core::estimate::normal_quantile(0.5 + level / 2.0)?;
        let mut outputs = Vec::with_capacity(k);
        for o in 0..k {
            let mut pooled_var = Vec::new();
            // Per replicate, per input: the (S_i, S_Ti) point estimates.
            let mut per_rep: Vec<Vec<(f64, f64)>> = Vec::new();
            for state in replicates {
                let mut row = Vec::with_capacity(d);
                for i in 0..d {
                    let m = state.get(o, i);
                    let var = pooled_variance(m.mean());
                    if i == 0 {
                        pooled_var.push(var);
                    }
                    check_variance(m.mean(), var, o)?;
                    let (s, t) = self.config.estimator.indices(&m.dual_means());
                    row.push((s.v, t.v));
                }
                per_rep.push(row);
            }
            let variance = pooled_var.iter().sum::<f64>() / pooled_var.len() as f64;
            let (first_order, total) = match self.config.design {
                Design::Sobol => replicate_intervals(&per_rep, level)?,
                Design::MonteCarlo => {
                    let mut pooled = replicates[0].clone();
                    for s in &replicates[1..] {
                        pooled.merge(s)?;
                    }
                    let mut fo = Vec::with_capacity(d);
                    let mut to = Vec::with_capacity(d);
                    for i in 0..d {
                        let m = pooled.get(o, i);
                        let (s, t) = self.config.estimator.indices(&m.dual_means());
                        if self.config.estimator == Estimator::Martinez {
                            let n = m.count() as f64;
                            fo.push(fisher_z(s.v, n, z, level, false)?);
                            to.push(fisher_z(1.0 - t.v, n, z, level, true)?);
                        } else {
                            fo.push(delta_interval(m, &s, level)?);
                            to.push(delta_interval(m, &t, level)?);
                        }
                    }
                    (fo, to)
                }
            };
            let second_order = if self.config.second_order {
                self.second_order(replicates, &per_rep, &pooled_var, o, level)?
            } else {
                Vec::new()
            };
            outputs.push(OutputIndices {
                variance,
                first_order,
                total,
                second_order,
            });
        }
        let per_row = if self.config.second_order {
            2 * d + 2
        } else {
            d + 2
        };
        Ok(SobolIndices {
            config: self.config,
            evaluations: self.config.n * per_row * self.config.replicates as usize,
            names: self.space.factor_names(),
            outputs,
        })
    }

    /// Second-order indices of output `o`: per replicate, then Student's t over replicates.
    fn second_order(
        &self,
        replicates: &[PickFreezeState],
        first: &[Vec<(f64, f64)>],
        variances: &[f64],
        o: usize,
        level: f64,
    ) -> Result<Vec<SecondOrderIndex>> {
        let pairs = second_order::pairs(self.space.factors().len());
        let per_rep: Vec<Vec<(f64, f64)>> = replicates
            .iter()
            .zip(first)
            .zip(variances)
            .map(|((state, s), &v)| {
                let Some(pm) = state.second.get(o) else {
                    return Vec::new();
                };
                // Centring (see crate::second_order): the moments of input 0 hold mean a, b.
                let z = state.get(o, 0).mean();
                let mu = 0.5 * (z[0] + z[1]);
                pairs
                    .iter()
                    .zip(pm.means())
                    .map(|(&(j, k), m)| {
                        let c_k = state.get(o, k).mean()[2];
                        let centred = m - mu * (pm.ba_means()[j] + c_k - z[0] - z[1]);
                        (centred / v - s[j].0 - s[k].0, 0.0)
                    })
                    .collect()
            })
            .collect();
        let (est, _) = replicate_intervals(&per_rep, level)?;
        Ok(pairs
            .iter()
            .zip(est)
            .map(|(&(j, k), estimate)| SecondOrderIndex {
                i: j + 1,
                j: k + 1,
                estimate,
            })
            .collect())
    }

    /// Runs the whole analysis: every replicate, every block, then [`PickFreeze::estimate`].
    ///
    /// # Errors
    /// As [`PickFreeze::accumulate`] and [`PickFreeze::estimate`].
    pub fn run<M: Model + Sync>(&self, model: &M) -> Result<SobolIndices> {
        let states = (0..self.config.replicates)
            .map(|r| self.accumulate(model, r, 0..self.blocks()))
            .collect::<Result<Vec<_>>>()?;
        self.estimate(&states)
    }
}

/// First-order and total Sobol' indices of `model` on `space`: the one-call entry point.
///
/// # Errors
/// As [`PickFreeze::new`] and [`PickFreeze::run`].
///
/// # Examples
/// ```
/// use uqforge_sensitivity::{sobol_indices, PickFreezeConfig, Estimator, Design, TestFunction};
/// let f = TestFunction::ishigami();
/// let config = PickFreezeConfig { n: 1 << 12, design: Design::Sobol, estimator: Estimator::Janon,
///                                 replicates: 8, seed: 1, level: 0.95, second_order: false };
/// let r = sobol_indices(&f, f.input_space()?, config)?;
/// let s2 = &r.outputs[0].first_order[1];
/// assert!((s2.value - 0.4424).abs() < 0.02); // exact: 0.4424
/// assert_eq!(r.evaluations, (1 << 12) * 5 * 8);
/// # Ok::<(), uqforge_core::Error>(())
/// ```
pub fn sobol_indices<M: Model + Sync>(
    model: &M,
    space: InputSpace,
    config: PickFreezeConfig,
) -> Result<SobolIndices> {
    PickFreeze::new(space, config)?.run(model)
}

fn pooled_variance(m: &[f64]) -> f64 {
    0.5 * (m[3] + m[4]) - (0.5 * (m[0] + m[1])).powi(2)
}

fn check_variance(m: &[f64], var: f64, output: usize) -> Result<()> {
    let scale = 0.5 * (m[3] + m[4]);
    // Below ~1e-13 of the second moment the variance is round-off.
    // Written to also catch NaN.
    if var.is_nan() || var <= 1e-13 * scale {
        return Err(Error::degenerate(
            format!("Sobol' indices of model output {output}"),
            "the output has zero variance over the design, so no input explains any of it",
        ));
    }
    Ok(())
}

fn delta_interval(m: &FeatureMoments, g: &Dual, level: f64) -> Result<Estimate> {
    let grad: [f64; FEATURES] = g.g;
    Estimate::normal(g.v, m.delta_se(&grad), level)
}

/// Fisher's z interval for a correlation `rho` (or `1 - rho` when `complement`).
fn fisher_z(rho: f64, n: f64, z: f64, level: f64, complement: bool) -> Result<Estimate> {
    let r = rho.clamp(-1.0 + 1e-15, 1.0 - 1e-15);
    let half = z / (n - 3.0).sqrt();
    let (lo, hi) = ((r.atanh() - half).tanh(), (r.atanh() + half).tanh());
    // se of rho by the delta method on atanh: (1 - rho^2)/sqrt(n - 3).
    let se = (1.0 - r * r) / (n - 3.0).sqrt();
    let (value, lo, hi) = if complement {
        (1.0 - rho, 1.0 - hi, 1.0 - lo)
    } else {
        (rho, lo, hi)
    };
    Ok(Estimate {
        value,
        std_error: Some(se),
        ci: Some(Interval::new(lo, hi, level)?),
    })
}

pub(crate) type Pair = (Vec<Estimate>, Vec<Estimate>);

pub(crate) fn replicate_intervals(per_rep: &[Vec<(f64, f64)>], level: f64) -> Result<Pair> {
    let r = per_rep.len();
    let d = per_rep[0].len();
    let t = if r >= 2 {
        let dist = StudentsT::new(0.0, 1.0, (r - 1) as f64)
            .map_err(|e| Error::invalid_parameter("replicates", e))?;
        Some(dist.inverse_cdf(0.5 + level / 2.0))
    } else {
        None
    };
    let summarise = |values: Vec<f64>| -> Result<Estimate> {
        let mean = values.iter().sum::<f64>() / r as f64;
        let Some(t) = t else {
            return Ok(Estimate::point(mean));
        };
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r - 1) as f64;
        let se = (var / r as f64).sqrt();
        Ok(Estimate {
            value: mean,
            std_error: Some(se),
            ci: Some(Interval::new(mean - t * se, mean + t * se, level)?),
        })
    };
    let mut fo = Vec::with_capacity(d);
    let mut to = Vec::with_capacity(d);
    for i in 0..d {
        fo.push(summarise(per_rep.iter().map(|row| row[i].0).collect())?);
        to.push(summarise(per_rep.iter().map(|row| row[i].1).collect())?);
    }
    Ok((fo, to))
}
