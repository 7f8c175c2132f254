//! Zonoid depth: how far the weights of a convex combination of the sample that reaches the
//! point can be spread out.
//!
//! The zonoid trimmed region of level $\alpha \in (0, 1]$ is
//!
//! $$ Z_\alpha = \Big\lbrace \sum_i \lambda_i x_i : \sum_i \lambda_i = 1,
//!    0 \le \lambda_i \le \frac{1}{n\alpha} \Big\rbrace , $$
//!
//! a convex polytope that shrinks from the convex hull of the sample ($\alpha \to 0$) to the
//! mean ($\alpha = 1$, all weights $1/n$). The zonoid depth of $x$ is the largest $\alpha$
//! with $x \in Z_\alpha$, and zero outside the convex hull (Koshevoy and Mosler 1997); inside
//! the hull it is at least $1/n$ (some convex combination reaches $x$, with weights at most
//! one). It is affine invariant (the regions move with the sample), one exactly at the mean,
//! and its regions are the lift-zonoid's sections: nested, convex and
//! continuous in $\alpha$. Being built on the mean, it is not robust to outliers.
//!
//! # Computation: one small linear program per query
//! With $\mu_i = \lambda_i / \max_j \lambda_j$ the depth is $s^\star / n$, where
//!
//! $$ s^\star = \max \Big\lbrace s : \sum_i \mu_i x_i = s x, \sum_i \mu_i = s,
//!    0 \le \mu_i \le 1 \Big\rbrace , $$
//!
//! a linear program with $n + 1$ box-bounded variables and only $d + 1$ equality rows
//! ($\mu = 0, s = 0$ is always feasible, and $s \le n$). Dyckerhoff, Koshevoy and Mosler
//! (1996) solve the equivalent program by column generation; here it goes to `microlp`'s
//! bounded-variable simplex, a maintained pure-Rust solver: no C library to install and no
//! linear-algebra types in this crate's API. The sample is centred and scaled per
//! coordinate first (the depth is affine invariant, and the program better conditioned), and
//! the solver's feasibility tolerance ($10^{-7}$) bounds the error of the depth to about
//! $10^{-7}$. A failed solve is a [`uqforge_core::Error::DidNotConverge`] from
//! [`Depth::depth`] (and `NaN` from [`Depth::depth_of`]).
//!
//! The depth is also the infimum of the one-dimensional zonoid depths of the projections
//! $u^\top x$ over directions $u$ (the regions are convex, and project onto the regions of
//! the projected sample); the tests check the program against that characterisation.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{Depth, Zonoid};
//! // 1D, {0, 1, 2, 3}: 2.5 is the mean of the top two points (weights 1/2 = 1/(4 alpha)).
//! let line = DMatrix::from_column_slice(4, 1, &[0.0, 1.0, 2.0, 3.0]);
//! let d = Zonoid::fit(&line).unwrap()
//!     .depth(&DMatrix::from_column_slice(3, 1, &[1.5, 2.5, 4.0])).unwrap();
//! assert!((d[0] - 1.0).abs() < 1e-9 && (d[1] - 0.5).abs() < 1e-9 && d[2] == 0.0);
//! ```
//!
//! # References
//! - G. A. Koshevoy, K. Mosler, "Zonoid trimming for multivariate distributions", Annals of
//!   Statistics 25(5), 1997.
//! - R. Dyckerhoff, G. Koshevoy, K. Mosler, "Zonoid data depth: theory and computation",
//!   COMPSTAT 1996.
//! - K. Mosler, *Multivariate Dispersion, Central Regions, and Depth: The Lift Zonoid
//!   Approach*, Springer, 2002.

use microlp::{ComparisonOp, OptimizationDirection, Problem};
use nalgebra::DMatrix;
use uqforge_core::{Error, Result};

use crate::sample::{Depth, check_sample, rows};

/// Zonoid depth fitted on a sample (kept centred and scaled per coordinate).
#[derive(Debug, Clone)]
pub struct Zonoid {
    points: Vec<Vec<f64>>,
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Zonoid {
    /// Fits the depth.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] or [`Error::NonFinite`] for the sample.
    pub fn fit(sample: &DMatrix<f64>) -> Result<Self> {
        check_sample("zonoid", sample, 1)?;
        let n = sample.nrows() as f64;
        let mean: Vec<f64> = sample.column_iter().map(|c| c.sum() / n).collect();
        let scale: Vec<f64> = sample
            .column_iter()
            .zip(&mean)
            .map(|(c, m)| {
                let s = c.iter().map(|v| (v - m).abs()).fold(0.0, f64::max);
                if s > 0.0 { s } else { 1.0 }
            })
            .collect();
        let points = rows(sample)
            .into_iter()
            .map(|p| standardise(&p, &mean, &scale))
            .collect();
        Ok(Self {
            points,
            mean,
            scale,
        })
    }
}

impl Depth for Zonoid {
    fn dim(&self) -> usize {
        self.mean.len()
    }

    /// NaN when the linear program fails ([`Depth::depth`] reports the error instead).
    fn depth_of(&self, point: &[f64]) -> f64 {
        self.try_depth_of(point).unwrap_or(f64::NAN)
    }

    /// The depth of one point, or the solver's failure: [`Error::DidNotConverge`] when the
    /// linear program fails numerically.
    fn try_depth_of(&self, point: &[f64]) -> Result<f64> {
        let x = standardise(point, &self.mean, &self.scale);
        let n = self.points.len();
        let mut lp = Problem::new(OptimizationDirection::Maximize);
        let mu: Vec<_> = (0..n).map(|_| lp.add_var(0.0, (0.0, 1.0))).collect();
        let s = lp.add_var(1.0, (0.0, n as f64));
        for k in 0..=x.len() {
            let mut row: Vec<_> = mu
                .iter()
                .zip(&self.points)
                .map(|(&v, p)| (v, if k < x.len() { p[k] } else { 1.0 }))
                .collect();
            row.push((s, if k < x.len() { -x[k] } else { -1.0 }));
            lp.add_constraint(row.as_slice(), ComparisonOp::Eq, 0.0);
        }
        let solution = lp
            .solve()
            .ok()
            .and_then(|outcome| outcome.into_solution().ok())
            .ok_or_else(|| Error::DidNotConverge {
                what: "zonoid depth linear program".into(),
                iterations: 0,
                residual: f64::NAN,
            })?;
        // Inside the hull, weights at most one reach x, so s >= 1: a smaller optimum is the
        // solver's rounding of zero.
        let s = solution.objective();
        Ok(if s < 0.5 {
            0.0
        } else {
            (s / n as f64).min(1.0)
        })
    }
}

fn standardise(p: &[f64], mean: &[f64], scale: &[f64]) -> Vec<f64> {
    p.iter()
        .zip(mean.iter().zip(scale))
        .map(|(v, (m, s))| (v - m) / s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{affine_case, normal_sample};
    use proptest::prelude::*;

    /// The zonoid depth of `y` in the 1D sample `v` by its definition: the largest
    /// t = n alpha in [1, n] whose region [mean of the lowest t, mean of the highest t]
    /// (fractional t: the next point with weight t - floor t) still holds `y`.
    fn depth_1d(v: &[f64], y: f64) -> f64 {
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        // Reflect so that y is at or above the mean; sort decreasing.
        let sign = if y >= mean { 1.0 } else { -1.0 };
        let mut w: Vec<f64> = v.iter().map(|a| sign * a).collect();
        w.sort_by(|a, b| b.total_cmp(a));
        let y = sign * y;
        if y > w[0] {
            return 0.0;
        }
        // U(t) = (S_k + (t - k) w_k) / t on [k, k + 1] is non-increasing; at the first k
        // with U(k + 1) < y <= U(k), w_k < y and U(t) = y has one root in [k, k + 1).
        let mut sum = 0.0;
        for k in 1..n {
            sum += w[k - 1];
            if (sum + w[k]) / ((k + 1) as f64) < y {
                return (sum - k as f64 * w[k]) / (y - w[k]) / n as f64;
            }
        }
        1.0
    }

    #[test]
    fn one_dimension_matches_the_definition() {
        let v = [0.3, -1.2, 2.5, 0.9, 1.1, -0.4, 3.7];
        let depth = Zonoid::fit(&DMatrix::from_column_slice(7, 1, &v)).unwrap();
        for y in [-1.2, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 3.7, 4.0] {
            let (lp, closed) = (depth.depth_of(&[y]), depth_1d(&v, y));
            assert!((lp - closed).abs() < 1e-7, "{y}: {lp} vs {closed}");
        }
        assert!((depth_1d(&[0.0, 1.0, 2.0, 3.0], 2.0) - 0.75).abs() < 1e-15);
    }

    /// 2D against the infimum of the 1D depths of the projections on 20,000 directions:
    /// never below the program's value, and within 1e-3 of it.
    #[test]
    fn two_dimensions_match_the_projection_characterisation() {
        let x = normal_sample(40, 2, 5);
        let depth = Zonoid::fit(&x).unwrap();
        let q = normal_sample(10, 2, 6) * 1.2;
        for row in q.row_iter() {
            let p = [row[0], row[1]];
            let projected = (0..20_000)
                .map(|k| {
                    let t = std::f64::consts::PI * f64::from(k) / 20_000.0;
                    let (c, s) = (t.cos(), t.sin());
                    let v: Vec<f64> = x.row_iter().map(|r| c * r[0] + s * r[1]).collect();
                    depth_1d(&v, c * p[0] + s * p[1])
                })
                .fold(1.0, f64::min);
            let lp = depth.depth_of(&p);
            assert!(
                projected >= lp - 1e-7 && projected - lp < 1e-3,
                "{lp} vs {projected}"
            );
        }
    }

    #[test]
    fn one_at_the_mean_zero_outside_the_hull() {
        let x = normal_sample(30, 3, 8);
        let depth = Zonoid::fit(&x).unwrap();
        let mean: Vec<f64> = x.column_iter().map(|c| c.mean()).collect();
        assert!((depth.depth_of(&mean) - 1.0).abs() < 1e-9);
        assert_eq!(depth.depth_of(&[50.0, 0.0, 0.0]), 0.0);
        let d = depth.depth(&normal_sample(20, 3, 9)).unwrap();
        assert!(d.iter().all(|v| (0.0..1.0).contains(v)));
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(matches!(
            Zonoid::fit(&DMatrix::zeros(0, 2)),
            Err(Error::EmptyInput { .. })
        ));
        let depth = Zonoid::fit(&normal_sample(10, 2, 1)).unwrap();
        assert!(matches!(
            depth.depth(&DMatrix::from_row_slice(1, 2, &[f64::INFINITY, 0.0])),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            depth.depth(&DMatrix::zeros(1, 1)),
            Err(Error::DimensionMismatch { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Affine invariance, to the solver's tolerance.
        #[test]
        fn affine_invariance(seed in 0u64..1000, a in prop::array::uniform4(-2.0f64..2.0),
                             b in prop::array::uniform2(-5.0f64..5.0)) {
            let case = affine_case(seed, a, b, 25, 6, 1.5);
            prop_assume!(case.is_some());
            let [x, q, ax, aq] = case.unwrap();
            let before = Zonoid::fit(&x).unwrap().depth(&q).unwrap();
            let after = Zonoid::fit(&ax).unwrap().depth(&aq).unwrap();
            for (p, r) in before.iter().zip(after.iter()) {
                prop_assert!((p - r).abs() < 1e-6, "{} vs {}", p, r);
                prop_assert!((0.0..=1.0).contains(p));
            }
        }
    }
}
