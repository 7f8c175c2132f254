//! Second-order indices (Saltelli 2002).
//!
//! With $B_A^{(j)}$ the matrix $B$ with column $j$ taken from $A$, the rows $f(B_A^{(j)})$ and
//! $f(A_B^{(k)})$ share exactly the inputs $\lbrace j, k\rbrace $, so
//! $\mathbb E[f(B_A^{(j)}) f(A_B^{(k)})] - \mathbb E[f(A)]\mathbb E[f(B)] = V^c_{jk}$, the
//! closed variance of the pair, and
//! $$ \hat S_{jk} = \frac{\overline{f(B_A^{(j)}) f(A_B^{(k)}) - f(A) f(B)}}{\hat V} - \hat S_j - \hat S_k $$
//! (Saltelli 2002, eq. (27); SALib's `second_order`), on outputs centred at
//! $\hat\mu = \tfrac12(\bar a + \bar b)$ like the first-order estimators (the raw formula is
//! not shift-invariant): the mean above is corrected by
//! $-\hat\mu\thinspace (\overline{f(B_A^{(j)})} + \overline{f(A_B^{(k)})} - \bar a - \bar b)$. It costs $d$ more evaluations per row,
//! $N(2d+2)$ in all. Intervals come from independent replicates (Student's $t$, $R \ge 2$),
//! for both designs.

use serde::{Deserialize, Serialize};
use uqforge_core::Estimate;

/// Running means of $f(B_A^{(j)}) f(A_B^{(k)}) - f(A) f(B)$ for every pair $j < k$, mergeable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PairMeans {
    n: u64,
    mean: Vec<f64>,
    /// Means of $f(B_A^{(j)})$, for centring.
    ba_mean: Vec<f64>,
}

impl PairMeans {
    pub(crate) fn new(inputs: usize) -> Self {
        Self {
            n: 0,
            mean: vec![0.0; inputs * inputs.saturating_sub(1) / 2],
            ba_mean: vec![0.0; inputs],
        }
    }

    /// Adds one row: its values, one per pair in [`pairs`] order, and its $f(B_A^{(j)})$.
    pub(crate) fn push(&mut self, values: &[f64], ba: &[f64]) {
        self.n += 1;
        let inv = 1.0 / self.n as f64;
        for (m, v) in self
            .mean
            .iter_mut()
            .zip(values)
            .chain(self.ba_mean.iter_mut().zip(ba))
        {
            *m += (v - *m) * inv;
        }
    }

    /// Exact merge of two sets of rows.
    pub(crate) fn merge(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        let n = (self.n + other.n) as f64;
        let w = other.n as f64 / n;
        for (m, o) in self
            .mean
            .iter_mut()
            .zip(&other.mean)
            .chain(self.ba_mean.iter_mut().zip(&other.ba_mean))
        {
            *m += (o - *m) * w;
        }
        self.n += other.n;
    }

    pub(crate) fn means(&self) -> &[f64] {
        &self.mean
    }

    pub(crate) fn ba_means(&self) -> &[f64] {
        &self.ba_mean
    }
}

/// The pairs $(j, k)$, $j < k$, in the order used everywhere (0-based).
pub fn pairs(d: usize) -> Vec<(usize, usize)> {
    (0..d)
        .flat_map(|j| (j + 1..d).map(move |k| (j, k)))
        .collect()
}

/// One second-order index $S_{jk}$.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondOrderIndex {
    /// First input, 1-based as in $S_{jk}$.
    pub i: usize,
    /// Second input, 1-based, `j > i`.
    pub j: usize,
    /// The estimate (interval when there are at least 2 replicates).
    pub estimate: Estimate,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_means_equal_the_single_pass_means() {
        let rows: Vec<[f64; 2]> = (0..50).map(|j| [j as f64, (j * j) as f64 * 0.1]).collect();
        // 3 inputs: 3 pairs and 3 B_A means; feed the same 2 numbers to both slots for brevity.
        let mut all = PairMeans::new(2);
        rows.iter().for_each(|r| all.push(&r[..1], &r[..]));
        let (mut a, mut b) = (PairMeans::new(2), PairMeans::new(2));
        rows[..17].iter().for_each(|r| a.push(&r[..1], &r[..]));
        rows[17..].iter().for_each(|r| b.push(&r[..1], &r[..]));
        a.merge(&b);
        assert!((a.means()[0] - all.means()[0]).abs() < 1e-12 * all.means()[0].abs().max(1.0));
        for k in 0..2 {
            let x = all.ba_means()[k];
            assert!((a.ba_means()[k] - x).abs() < 1e-12 * x.abs().max(1.0));
        }
        assert!((all.means()[0] - 24.5).abs() < 1e-12);
        assert_eq!(pairs(3), [(0, 1), (0, 2), (1, 2)]);
    }
}
