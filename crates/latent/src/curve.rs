//! Curves with fixed endpoints in the Faber–Schauder basis.
//!
//! A curve from $a$ to $b$ with $J$ levels is
//!
//! $$
//! \gamma(t) = (1-t)a + tb + \sum_{j=0}^{J-1}\sum_{k=0}^{2^j-1} 2^{-(j+2)/2} c_{jk}
//! \varphi_{jk}(t), \qquad \varphi_{jk}(t) = \Lambda(2^jt - k),
//! $$
//!
//! with $\Lambda(x) = \max(0, 1 - |2x - 1|)$ the hat on $[0, 1]$ peaking at $1/2$, and
//! $c_{jk}\in\mathbb{R}^d$. The $2^J - 1$ hats span exactly the piecewise-linear functions on
//! the dyadic grid $t_i = i/2^J$ that vanish at both ends, so the curve is the polyline through
//! its nodal values $\gamma(t_i)$, and the basis is a basis (no redundant functions).
//!
//! # Why this basis
//! The derivatives $\varphi_{jk}'$ are Haar wavelets: orthogonal to each other and to
//! constants, with $\int(\varphi_{jk}')^2 = 2^{j+2}$. With the factor $2^{-(j+2)/2}$ the
//! Euclidean energy is
//!
//! $$
//! \int_0^1\lVert\dot\gamma\rVert^2dt = \lVert b-a\rVert^2 + \sum_{jk}\lVert c_{jk}\rVert^2 ,
//! $$
//!
//! so the energy Hessian of a flat metric is $2I$ at every level (the identity for the
//! energy written with a factor $\frac12$, as in the seed work): the optimiser sees a
//! perfectly conditioned problem where the nodal parametrisation's Hessian (a discrete
//! Laplacian) has condition number $\sim 4^J$. Adding a level appends zero coefficients and
//! keeps the curve, which makes coarse-to-fine solving a warm start.
//!
//! # Transforms, $O(2^J d)$
//! Synthesis (coefficients to nodes) runs from coarse to fine: the node at the centre $m$ of a
//! level-$j$ support $[l, r]$ is $\gamma(t_m) = (\gamma(t_l) + \gamma(t_r))/2 +
//! 2^{-(j+2)/2}c_{jk}$, because finer hats vanish at $t_l$, $t_r$, $t_m$ and coarser ones are
//! linear on $[t_l, t_r]$. Analysis inverts it level by level; the transpose of synthesis
//! (used for gradients) runs from fine to coarse.
//!
//! ```
//! use uqforge_latent::FaberSchauder;
//! let mut curve = FaberSchauder::line(&[0.0, 0.0], &[1.0, 2.0], 2).unwrap();
//! curve.coefficients_mut()[1] = 2.0; // the level-0 hat, second coordinate
//! let nodes = curve.nodes();
//! // The peak node t = 1/2 moved by 2^(-1) * 2 = 1 in y; the quarter nodes by half of that.
//! assert_eq!(&nodes[4..6], &[0.5, 2.0]);
//! assert_eq!(&nodes[2..4], &[0.25, 1.0]);
//! ```
//!
//! # References
//! - G. Faber (1910), Über die Orthogonalfunktionen des Herrn Haar, *Jahresbericht der DMV*
//!   19:104–112; J. Schauder (1927), *Math. Z.* 26:47–65.
//! - A. Lazarev (2025), thesis, IMT Toulouse / ANITI: geodesics of decoder pull-backs in this
//!   basis (code: `redachhaibi/ricci_regularization`).

use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

/// The most levels a curve may have ($2^{20}$ pieces).
pub const MAX_LEVELS: usize = 20;

/// A curve with fixed endpoints in the scaled Faber–Schauder basis; see the
/// [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaberSchauder {
    start: Vec<f64>,
    end: Vec<f64>,
    levels: usize,
    /// $(2^J - 1)\times d$, row `2^j - 1 + k` is $c_{jk}$.
    coefficients: Vec<f64>,
}

/// One hat $\varphi_{jk}$: its level $j$, the node indices (on the finest grid of
/// $2^J$ pieces) of its support's ends and peak, and its coefficient row $2^j - 1 + k$.
#[derive(Debug, Clone, Copy)]
struct Hat {
    level: usize,
    left: usize,
    mid: usize,
    right: usize,
    row: usize,
}

/// The hats of a curve with `levels` levels, coarse to fine.
fn hats(levels: usize) -> impl Iterator<Item = Hat> {
    let n = 1usize << levels;
    (0..levels).flat_map(move |level| {
        let step = n >> level;
        (0..1usize << level).map(move |k| Hat {
            level,
            left: k * step,
            mid: k * step + step / 2,
            right: (k + 1) * step,
            row: (1 << level) - 1 + k,
        })
    })
}

/// $2^{-(j+2)/2}$.
fn scale(level: usize) -> f64 {
    (-0.5 * (level as f64 + 2.0)).exp2()
}

impl FaberSchauder {
    /// The straight segment from `start` to `end` (all coefficients zero) with `levels` levels.
    ///
    /// # Errors
    /// Endpoints of different or zero lengths, non-finite endpoints, more than
    /// [`MAX_LEVELS`] levels.
    pub fn line(start: &[f64], end: &[f64], levels: usize) -> Result<Self> {
        validate::non_empty("curve start", start)?;
        validate::len("curve end", start.len(), end.len())?;
        validate::finite("curve start", start)?;
        validate::finite("curve end", end)?;
        if levels > MAX_LEVELS {
            return Err(Error::invalid_parameter(
                "levels",
                format!("at most {MAX_LEVELS} levels (2^{MAX_LEVELS} pieces), got {levels}"),
            ));
        }
        Ok(Self {
            start: start.to_vec(),
            end: end.to_vec(),
            levels,
            coefficients: vec![0.0; ((1 << levels) - 1) * start.len()],
        })
    }

    /// The curve through `nodes`, row-major $(2^J + 1)\times d$ values at $t_i = i/2^J$
    /// (analysis transform).
    ///
    /// # Errors
    /// A number of rows that is not $2^J + 1$ for some $J \le$ [`MAX_LEVELS`]; non-finite
    /// values.
    pub fn from_nodes(nodes: &[f64], dim: usize) -> Result<Self> {
        let rows = validate::rows("curve nodes", nodes, dim)?;
        let levels = (0..=MAX_LEVELS)
            .find(|&j| (1 << j) + 1 == rows)
            .ok_or_else(|| {
                Error::invalid_parameter(
                    "curve nodes",
                    format!("need 2^J + 1 nodes for some J <= {MAX_LEVELS}, got {rows}"),
                )
            })?;
        validate::finite("curve nodes", nodes)?;
        let n = rows - 1;
        let mut curve = Self::line(&nodes[..dim], &nodes[n * dim..], levels)?;
        for Hat {
            level,
            left,
            mid,
            right,
            row,
        } in hats(levels)
        {
            for c in 0..dim {
                let mean = 0.5 * (nodes[left * dim + c] + nodes[right * dim + c]);
                curve.coefficients[row * dim + c] = (nodes[mid * dim + c] - mean) / scale(level);
            }
        }
        Ok(curve)
    }

    /// The dimension $d$.
    pub fn dim(&self) -> usize {
        self.start.len()
    }

    /// The number of levels $J$ (the curve has $2^J$ linear pieces).
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// The fixed start $\gamma(0) = a$.
    pub fn start(&self) -> &[f64] {
        &self.start
    }

    /// The fixed end $\gamma(1) = b$.
    pub fn end(&self) -> &[f64] {
        &self.end
    }

    /// The coefficients $c_{jk}$, row-major $(2^J - 1)\times d$ with row $2^j - 1 + k$.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The coefficients, to set (the optimiser's parameters).
    pub fn coefficients_mut(&mut self) -> &mut [f64] {
        &mut self.coefficients
    }

    /// The nodal values $\gamma(i/2^J)$, row-major $(2^J + 1)\times d$ (synthesis).
    pub fn nodes(&self) -> Vec<f64> {
        let (d, n) = (self.dim(), 1usize << self.levels);
        let mut nodes = vec![0.0; (n + 1) * d];
        nodes[..d].copy_from_slice(&self.start);
        nodes[n * d..].copy_from_slice(&self.end);
        for Hat {
            level,
            left,
            mid,
            right,
            row,
        } in hats(self.levels)
        {
            for c in 0..d {
                nodes[mid * d + c] = 0.5 * (nodes[left * d + c] + nodes[right * d + c])
                    + scale(level) * self.coefficients[row * d + c];
            }
        }
        nodes
    }

    /// The polyline on a grid `oversampling` times finer than the nodes': $2^J s + 1$ points,
    /// uniform in $t$.
    pub fn sample(&self, oversampling: usize) -> Vec<f64> {
        refine_polyline(&self.nodes(), self.dim(), oversampling.max(1))
    }

    /// $\gamma(t)$ for $t\in[0, 1]$ (clamped), by linear interpolation of the nodes.
    pub fn point(&self, t: f64) -> Vec<f64> {
        let (d, n) = (self.dim(), 1usize << self.levels);
        let nodes = self.nodes();
        let x = t.clamp(0.0, 1.0) * n as f64;
        let i = (x.floor() as usize).min(n - 1);
        let w = x - i as f64;
        (0..d)
            .map(|c| (1.0 - w) * nodes[i * d + c] + w * nodes[(i + 1) * d + c])
            .collect()
    }

    /// The curve with the same coefficients between new endpoints: the old curve's deviation
    /// from its chord, carried over to the new chord (the warm start of a geodesic whose
    /// endpoint moved a little).
    ///
    /// # Errors
    /// Endpoints of another dimension, or non-finite.
    pub fn with_endpoints(&self, start: &[f64], end: &[f64]) -> Result<Self> {
        validate::len("curve start", self.dim(), start.len())?;
        let mut moved = Self::line(start, end, self.levels)?;
        moved.coefficients.copy_from_slice(&self.coefficients);
        Ok(moved)
    }

    /// The same curve with one more level (new coefficients zero).
    ///
    /// # Errors
    /// Beyond [`MAX_LEVELS`].
    pub fn refined(&self) -> Result<Self> {
        let mut finer = Self::line(&self.start, &self.end, self.levels + 1)?;
        finer.coefficients[..self.coefficients.len()].copy_from_slice(&self.coefficients);
        Ok(finer)
    }

    /// The gradient with respect to the coefficients of a function of the nodes, from its
    /// gradient `node_gradient` with respect to the nodes (transpose of synthesis; the
    /// endpoints' entries are ignored since they are fixed).
    pub fn coefficient_gradient(&self, node_gradient: &[f64]) -> Vec<f64> {
        let (d, n) = (self.dim(), 1usize << self.levels);
        debug_assert_eq!(node_gradient.len(), (n + 1) * d);
        let mut g = node_gradient.to_vec();
        let mut out = vec![0.0; self.coefficients.len()];
        // Fine to coarse: the transpose of synthesis.
        let all: Vec<Hat> = hats(self.levels).collect();
        for Hat {
            level,
            left,
            mid,
            right,
            row,
        } in all.into_iter().rev()
        {
            for c in 0..d {
                let gm = g[mid * d + c];
                out[row * d + c] = scale(level) * gm;
                g[left * d + c] += 0.5 * gm;
                g[right * d + c] += 0.5 * gm;
            }
        }
        out
    }
}

/// The polyline through `nodes` with every piece cut into `s` equal parts.
pub(crate) fn refine_polyline(nodes: &[f64], d: usize, s: usize) -> Vec<f64> {
    let n = nodes.len() / d - 1;
    let mut fine = Vec::with_capacity((n * s + 1) * d);
    for i in 0..n {
        for p in 0..s {
            let w = p as f64 / s as f64;
            for c in 0..d {
                fine.push((1.0 - w) * nodes[i * d + c] + w * nodes[(i + 1) * d + c]);
            }
        }
    }
    fine.extend_from_slice(&nodes[n * d..]);
    fine
}

/// The transpose of [`refine_polyline`]: a gradient on the fine grid summed onto the nodes.
pub(crate) fn coarsen_gradient(fine: &[f64], d: usize, s: usize) -> Vec<f64> {
    let n = (fine.len() / d - 1) / s;
    let mut g = vec![0.0; (n + 1) * d];
    for i in 0..n {
        for p in 0..s {
            let w = p as f64 / s as f64;
            for c in 0..d {
                let v = fine[(i * s + p) * d + c];
                g[i * d + c] += (1.0 - w) * v;
                g[(i + 1) * d + c] += w * v;
            }
        }
    }
    for c in 0..d {
        g[n * d + c] += fine[n * s * d + c];
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn curve(levels: usize, d: usize, seed: f64) -> FaberSchauder {
        let start: Vec<f64> = (0..d).map(|c| (c as f64 + seed).sin()).collect();
        let end: Vec<f64> = (0..d).map(|c| (c as f64 * 2.0 + seed).cos()).collect();
        let mut curve = FaberSchauder::line(&start, &end, levels).unwrap();
        for (i, v) in curve.coefficients_mut().iter_mut().enumerate() {
            *v = (i as f64 * 1.7 + seed).sin();
        }
        curve
    }

    /// Direct evaluation of the series at `t`, independent of the transforms.
    fn series(curve: &FaberSchauder, t: f64) -> Vec<f64> {
        let d = curve.dim();
        let hat = |x: f64| (1.0 - (2.0 * x - 1.0).abs()).max(0.0);
        (0..d)
            .map(|c| {
                let mut v = (1.0 - t) * curve.start()[c] + t * curve.end()[c];
                for j in 0..curve.levels() {
                    for k in 0..(1 << j) {
                        let row = (1 << j) - 1 + k;
                        v += scale(j)
                            * curve.coefficients()[row * d + c]
                            * hat((1 << j) as f64 * t - k as f64);
                    }
                }
                v
            })
            .collect()
    }

    proptest! {
        #[test]
        fn synthesis_is_the_series_and_analysis_inverts_it(levels in 0usize..7, d in 1usize..4, seed in -3.0..3.0f64) {
            let c = curve(levels, d, seed);
            let nodes = c.nodes();
            let n = 1usize << levels;
            for i in 0..=n {
                let direct = series(&c, i as f64 / n as f64);
                for k in 0..d {
                    prop_assert!((nodes[i * d + k] - direct[k]).abs() < 1e-12);
                }
            }
            let back = FaberSchauder::from_nodes(&nodes, d).unwrap();
            for (a, b) in back.coefficients().iter().zip(c.coefficients()) {
                prop_assert!((a - b).abs() < 1e-10);
            }
        }

        #[test]
        fn refining_keeps_the_curve(levels in 0usize..6, seed in -3.0..3.0f64) {
            let c = curve(levels, 2, seed);
            let finer = c.refined().unwrap();
            for t in [0.0, 0.13, 0.5, 0.77, 1.0] {
                let (p, q) = (c.point(t), finer.point(t));
                prop_assert!((p[0] - q[0]).abs() < 1e-12 && (p[1] - q[1]).abs() < 1e-12);
            }
        }

        #[test]
        fn flat_energy_is_the_sum_of_squared_coefficients(levels in 0usize..7, seed in -3.0..3.0f64) {
            let c = curve(levels, 2, seed);
            let nodes = c.nodes();
            let n = 1usize << levels;
            // The exact energy of a polyline: n * sum of squared steps.
            let energy: f64 = (0..n)
                .map(|i| (0..2).map(|k| (nodes[(i + 1) * 2 + k] - nodes[i * 2 + k]).powi(2)).sum::<f64>())
                .sum::<f64>() * n as f64;
            let chord: f64 = (0..2).map(|k| (c.end()[k] - c.start()[k]).powi(2)).sum();
            let coefficients: f64 = c.coefficients().iter().map(|v| v * v).sum();
            prop_assert!((energy - chord - coefficients).abs() < 1e-9 * energy.max(1.0));
        }

        #[test]
        fn gradient_transforms_are_transposes(levels in 1usize..6, s in 1usize..5, seed in -3.0..3.0f64) {
            // <T c, g> = <c, T' g> for synthesis T and the fine-grid refinement.
            let d = 2;
            let c = curve(levels, d, seed);
            let zero = FaberSchauder::line(&[0.0, 0.0], &[0.0, 0.0], levels).unwrap();
            let mut only_c = zero.clone();
            only_c.coefficients_mut().copy_from_slice(c.coefficients());
            let fine = only_c.sample(s);
            let g: Vec<f64> = (0..fine.len()).map(|i| (i as f64 * 0.37 + seed).cos()).collect();
            let lhs: f64 = fine.iter().zip(&g).map(|(a, b)| a * b).sum();
            let back = zero.coefficient_gradient(&coarsen_gradient(&g, d, s));
            let rhs: f64 = back.iter().zip(c.coefficients()).map(|(a, b)| a * b).sum();
            prop_assert!((lhs - rhs).abs() < 1e-9 * (1.0 + lhs.abs()));
        }
    }

    #[test]
    fn bad_curves_are_refused() {
        assert!(FaberSchauder::line(&[], &[], 2).is_err());
        assert!(FaberSchauder::line(&[0.0], &[0.0, 1.0], 2).is_err());
        assert!(FaberSchauder::line(&[f64::NAN], &[0.0], 2).is_err());
        assert!(FaberSchauder::line(&[0.0], &[1.0], MAX_LEVELS + 1).is_err());
        assert!(FaberSchauder::from_nodes(&[0.0; 8], 2).is_err()); // 4 nodes: not 2^J + 1
        assert!(FaberSchauder::from_nodes(&[0.0; 10], 2).is_ok()); // 5 nodes: J = 2
    }
}
