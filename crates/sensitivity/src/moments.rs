//! Mergeable sufficient statistics of the pick-freeze triples, and exact gradients of the
//! estimators for delta-method intervals.
//!
//! For input $i$ and output $k$, each design row $j$ gives a triple
//! $(a, b, c) = (f(A_j), f(B_j), f(A_{B,j}^{(i)}))$ and the feature vector
//! $$ z = (a,\ b,\ c,\ a^2,\ b^2,\ c^2,\ ab,\ ac,\ bc) \in \mathbb R^9 . $$
//! Every estimator of the crate is a smooth function $g(\bar z)$ of the feature means, so
//! [`FeatureMoments`] keeps the count, the mean $\bar z$ and the co-moment matrix
//! $C = \sum_j (z_j - \bar z)(z_j - \bar z)^\top$, updated one row at a time (Welford) and
//! merged exactly (Chan, Golub & LeVeque 1979):
//! $$ n = n_1 + n_2,\quad \bar z = \bar z_1 + \tfrac{n_2}{n}\delta,\quad
//!    C = C_1 + C_2 + \tfrac{n_1 n_2}{n}\thinspace \delta\delta^\top,\qquad \delta = \bar z_2 - \bar z_1 . $$
//! The delta method then gives $\widehat{\mathrm{se}}^2 = \nabla g^\top \hat\Sigma \nabla g / n$
//! with $\hat\Sigma = C/(n-1)$; $\nabla g$ is exact, from the forward-mode dual numbers [`Dual`].

use std::ops::{Add, Div, Mul, Sub};

use serde::{Deserialize, Serialize};

/// Number of features per triple.
pub const FEATURES: usize = 9;

/// Count, mean and co-moment matrix of the feature vectors, mergeable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMoments {
    n: u64,
    mean: Vec<f64>,
    /// Row-major 9 x 9.
    comoment: Vec<f64>,
}

impl Default for FeatureMoments {
    fn default() -> Self {
        Self {
            n: 0,
            mean: vec![0.0; FEATURES],
            comoment: vec![0.0; FEATURES * FEATURES],
        }
    }
}

fn features(a: f64, b: f64, c: f64) -> [f64; FEATURES] {
    [a, b, c, a * a, b * b, c * c, a * b, a * c, b * c]
}

impl FeatureMoments {
    /// Adds one triple.
    pub fn push(&mut self, a: f64, b: f64, c: f64) {
        let z = features(a, b, c);
        self.n += 1;
        let inv = 1.0 / self.n as f64;
        let mut delta = [0.0; FEATURES];
        for ((d, m), zk) in delta.iter_mut().zip(self.mean.iter_mut()).zip(z) {
            *d = zk - *m;
            *m += *d * inv;
        }
        let after: [f64; FEATURES] = std::array::from_fn(|l| z[l] - self.mean[l]);
        for (row, dk) in self.comoment.chunks_exact_mut(FEATURES).zip(delta) {
            for (c, a) in row.iter_mut().zip(after) {
                *c += dk * a;
            }
        }
    }

    /// Merges `other` into `self`: the result equals one pass over both sets of triples.
    pub fn merge(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other.clone();
            return;
        }
        let (n1, n2) = (self.n as f64, other.n as f64);
        let n = n1 + n2;
        let delta: Vec<f64> = (0..FEATURES)
            .map(|k| other.mean[k] - self.mean[k])
            .collect();
        for k in 0..FEATURES {
            self.mean[k] += delta[k] * n2 / n;
            for l in 0..FEATURES {
                self.comoment[k * FEATURES + l] +=
                    other.comoment[k * FEATURES + l] + delta[k] * delta[l] * n1 * n2 / n;
            }
        }
        self.n += other.n;
    }

    /// Number of triples.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Feature means $\bar z$.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The means as dual numbers seeded with unit gradients.
    pub(crate) fn dual_means(&self) -> [Dual; FEATURES] {
        std::array::from_fn(|k| Dual::variable(self.mean[k], k))
    }

    /// Delta-method standard error of $g(\bar z)$ given its gradient.
    pub(crate) fn delta_se(&self, grad: &[f64; FEATURES]) -> f64 {
        if self.n < 2 {
            return f64::NAN;
        }
        let mut q = 0.0;
        for k in 0..FEATURES {
            for l in 0..FEATURES {
                q += grad[k] * self.comoment[k * FEATURES + l] * grad[l];
            }
        }
        // C/(n-1) estimates the covariance of one feature vector; the mean has 1/n of it.
        (q.max(0.0) / (self.n - 1) as f64 / self.n as f64).sqrt()
    }
}

/// A forward-mode dual number: a value and its gradient with respect to the 9 feature means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dual {
    /// The value.
    pub v: f64,
    /// Its gradient.
    pub g: [f64; FEATURES],
}

impl Dual {
    /// A constant.
    pub fn constant(v: f64) -> Self {
        Self {
            v,
            g: [0.0; FEATURES],
        }
    }
    /// Variable number `k`.
    pub fn variable(v: f64, k: usize) -> Self {
        let mut g = [0.0; FEATURES];
        g[k] = 1.0;
        Self { v, g }
    }
    fn map(self, v: f64, dv: f64) -> Self {
        Self {
            v,
            g: self.g.map(|x| x * dv),
        }
    }
    /// Square root.
    pub fn sqrt(self) -> Self {
        let r = self.v.sqrt();
        self.map(r, 0.5 / r)
    }
    /// Square.
    pub fn sq(self) -> Self {
        self * self
    }
}

impl Add for Dual {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            v: self.v + o.v,
            g: std::array::from_fn(|k| self.g[k] + o.g[k]),
        }
    }
}
impl Sub for Dual {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self {
            v: self.v - o.v,
            g: std::array::from_fn(|k| self.g[k] - o.g[k]),
        }
    }
}
impl Mul for Dual {
    type Output = Self;
    // The product rule: d(uv) = du v + u dv.
    #[allow(clippy::suspicious_arithmetic_impl)]
    fn mul(self, o: Self) -> Self {
        Self {
            v: self.v * o.v,
            g: std::array::from_fn(|k| self.g[k] * o.v + self.v * o.g[k]),
        }
    }
}
impl Div for Dual {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let inv = 1.0 / o.v;
        Self {
            v: self.v * inv,
            g: std::array::from_fn(|k| (self.g[k] - self.v * inv * o.g[k]) * inv),
        }
    }
}
impl Mul<Dual> for f64 {
    type Output = Dual;
    fn mul(self, o: Dual) -> Dual {
        o.map(self * o.v, self)
    }
}
impl Sub<Dual> for f64 {
    type Output = Dual;
    fn sub(self, o: Dual) -> Dual {
        Dual::constant(self) - o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn triples(seed: u64, n: usize) -> Vec<(f64, f64, f64)> {
        let mut r = uqforge_core::rng::rng_from_seed(seed);
        (0..n)
            .map(|_| {
                let a = uqforge_core::rng::uniform01(&mut r) * 10.0 - 3.0;
                let b = uqforge_core::rng::uniform01(&mut r);
                (a, b, a * b + uqforge_core::rng::uniform01(&mut r))
            })
            .collect()
    }

    #[test]
    fn moments_match_a_two_pass_computation() {
        let t = triples(1, 500);
        let mut m = FeatureMoments::default();
        t.iter().for_each(|&(a, b, c)| m.push(a, b, c));
        let z: Vec<[f64; 9]> = t.iter().map(|&(a, b, c)| features(a, b, c)).collect();
        for k in 0..FEATURES {
            let mean = z.iter().map(|r| r[k]).sum::<f64>() / 500.0;
            assert!((m.mean()[k] - mean).abs() < 1e-12 * (1.0 + mean.abs()));
            for l in 0..FEATURES {
                let ml = z.iter().map(|r| r[l]).sum::<f64>() / 500.0;
                let c = z.iter().map(|r| (r[k] - mean) * (r[l] - ml)).sum::<f64>();
                assert!((m.comoment[k * 9 + l] - c).abs() < 1e-9 * (1.0 + c.abs()));
            }
        }
    }

    #[test]
    fn dual_gradients_match_central_differences() {
        // g = (z8 - z6) / sqrt(z3 - z0^2) / (z4 - z1^2), a shape used by the estimators.
        let m = [0.3, 0.5, 0.4, 0.4, 0.4, 0.3, 0.2, 0.15, 0.25];
        let g = |z: [Dual; 9]| (z[8] - z[6]) / (z[3] - z[0].sq()).sqrt() / (z[4] - z[1].sq());
        let d = g(std::array::from_fn(|k| Dual::variable(m[k], k)));
        for k in 0..9 {
            let h = 1e-6;
            let eval = |s: f64| {
                let mut p = m;
                p[k] += s;
                g(p.map(Dual::constant)).v
            };
            let fd = (eval(h) - eval(-h)) / (2.0 * h);
            assert!(
                (fd - d.g[k]).abs() < 1e-6 * (1.0 + fd.abs()),
                "k = {k}: {fd} vs {}",
                d.g[k]
            );
        }
    }

    proptest! {
        #[test]
        fn merging_shards_equals_one_pass(seed: u64, cuts in proptest::collection::vec(0usize..400, 0..6)) {
            let t = triples(seed, 400);
            let mut whole = FeatureMoments::default();
            t.iter().for_each(|&(a, b, c)| whole.push(a, b, c));
            let mut bounds = cuts.clone();
            bounds.extend([0, 400]);
            bounds.sort_unstable();
            let mut merged = FeatureMoments::default();
            for w in bounds.windows(2) {
                let mut shard = FeatureMoments::default();
                t[w[0]..w[1]].iter().for_each(|&(a, b, c)| shard.push(a, b, c));
                merged.merge(&shard);
            }
            prop_assert_eq!(merged.n, whole.n);
            for k in 0..FEATURES * FEATURES {
                let (x, y) = (merged.comoment[k], whole.comoment[k]);
                prop_assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{} vs {}", x, y);
            }
            for k in 0..FEATURES {
                prop_assert!((merged.mean[k] - whole.mean[k]).abs() <= 1e-12 * (1.0 + whole.mean[k].abs()));
            }
        }
    }
}
