//! Matérn fields as SPDE solutions, and their sparse precision matrices.
//!
//! # From Matérn to SPDE to GMRF
//!
//! The Matérn covariance in $\mathbb{R}^d$ with smoothness $\nu > 0$, scale $\kappa > 0$ and
//! marginal variance $\sigma^2$ is
//!
//! $$ r(h) = \frac{\sigma^2}{2^{\nu-1}\Gamma(\nu)} (\kappa h)^\nu K_\nu(\kappa h), $$
//!
//! with $K_\nu$ the modified Bessel function of the second kind. Whittle (1954) showed that the
//! stationary solution of the stochastic partial differential equation
//!
//! $$ (\kappa^2 - \Delta)^{\alpha/2} \big(\tau x(s)\big) = \mathcal{W}(s), \qquad
//!    \alpha = \nu + d/2, $$
//!
//! driven by Gaussian white noise $\mathcal{W}$, has this covariance with
//!
//! $$ \sigma^2 = \frac{\Gamma(\nu)}{\Gamma(\alpha)(4\pi)^{d/2}\kappa^{2\nu}\tau^2}. $$
//!
//! In the plane ($d = 2$) this crate uses integer $\alpha \ge 1$, so $\nu = \alpha - 1$ and
//! $\sigma^2 = 1 / (4\pi\nu\kappa^{2\nu}\tau^2)$ for $\alpha \ge 2$ ($\alpha = 1$ is the
//! $\nu \to 0$ limit with unbounded variance: a valid precision, but without a range or a
//! marginal standard deviation). The *practical range* $\rho = \sqrt{8\nu}/\kappa$ is the
//! distance at which the correlation has fallen to about $0.13$ (Lindgren, Rue and Lindström
//! 2011, section 2.1).
//!
//! Lindgren et al. solve the SPDE weakly with piecewise-linear elements ([`crate::fem`]): with
//! $K = \kappa^2 \tilde C + G$, the weights $x$ of the hat functions are Gaussian with precision
//!
//! $$ Q_1 = \tau^2 K, \qquad Q_2 = \tau^2 K \tilde C^{-1} K, \qquad
//!    Q_\alpha = K \tilde C^{-1} Q_{\alpha-2} \tilde C^{-1} K \quad (\alpha \ge 3). $$
//!
//! Since $K \tilde C^{-1} = \kappa^2 I + G \tilde C^{-1}$, all of these are one binomial sum
//!
//! $$ Q_\alpha = \tau^2 \sum_{k=0}^{\alpha} \binom{\alpha}{k} \kappa^{2(\alpha-k)} M_k, \qquad
//!    M_0 = \tilde C, \quad M_k = G (\tilde C^{-1} G)^{k-1}, $$
//!
//! (R-INLA's `c0, g1, g2, g3`), which [`SpdeOperator`] stores on one sparsity pattern: a new
//! $(\kappa, \tau)$ costs one pass over the values and the symbolic Cholesky analysis is reused.
//! The derivatives needed by likelihood gradients are as cheap:
//! $\partial Q / \partial \log\tau = 2Q$ and
//! $\partial Q / \partial \log\kappa = \tau^2 \sum_k 2(\alpha-k)\binom{\alpha}{k}
//! \kappa^{2(\alpha-k)} M_k$.
//!
//! ```
//! use uqforge_gmrf::{Mesh, fem::Fem, matern::{Matern, SpdeOperator}};
//!
//! let field = Matern::from_range_sigma(2, 0.3, 1.5)?;
//! assert!((field.range()? - 0.3).abs() < 1e-12 && (field.sigma()? - 1.5).abs() < 1e-12);
//! assert!((field.kappa - 8f64.sqrt() / 0.3).abs() < 1e-12); // nu = 1
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 10, 10)?;
//! let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
//! let q = spde.precision(&field)?;
//! assert_eq!(q.nrows(), 121);
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! References: P. Whittle (1954), On stationary processes in the plane, Biometrika 41:434-449;
//! F. Lindgren, H. Rue, J. Lindström (2011), JRSS B 73(4):423-498.

use nalgebra_sparse::{CscMatrix, pattern::SparsityPattern};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

use crate::fem::Fem;
use crate::sparse::{on_pattern, scatter, symmetrise, union_pattern};

/// Parameters of a Matérn SPDE field in the plane: integer order $\alpha$, scale $\kappa$ and
/// precision scale $\tau$.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Matern {
    /// SPDE order $\alpha = \nu + 1$ (integer, at least 1).
    pub alpha: u32,
    /// Scale $\kappa > 0$ (inverse length).
    pub kappa: f64,
    /// Precision scale $\tau > 0$.
    pub tau: f64,
}

impl Matern {
    /// Parameters from $(\alpha, \kappa, \tau)$.
    ///
    /// # Errors
    /// $\alpha = 0$ or above 8, or non-positive / non-finite $\kappa$, $\tau$.
    pub fn new(alpha: u32, kappa: f64, tau: f64) -> Result<Self> {
        if !(1..=8).contains(&alpha) {
            return Err(Error::invalid_parameter(
                "alpha",
                format!("must be an integer in 1..=8, got {alpha}"),
            ));
        }
        uqforge_core::validate::positive("kappa", kappa)?;
        uqforge_core::validate::positive("tau", tau)?;
        Ok(Self { alpha, kappa, tau })
    }

    /// Parameters from the practical range $\rho = \sqrt{8\nu}/\kappa$ and the marginal standard
    /// deviation $\sigma$ (needs $\alpha \ge 2$, i.e. $\nu \ge 1$).
    ///
    /// # Errors
    /// $\alpha < 2$, or non-positive / non-finite range or sigma.
    pub fn from_range_sigma(alpha: u32, range: f64, sigma: f64) -> Result<Self> {
        if alpha < 2 {
            return Err(Error::invalid_parameter(
                "alpha",
                "a range and a marginal standard deviation need alpha >= 2 (nu >= 1) in 2D",
            ));
        }
        uqforge_core::validate::positive("range", range)?;
        uqforge_core::validate::positive("sigma", sigma)?;
        let nu = f64::from(alpha) - 1.0;
        let kappa = (8.0 * nu).sqrt() / range;
        let tau = 1.0 / (sigma * kappa.powf(nu) * (4.0 * std::f64::consts::PI * nu).sqrt());
        Self::new(alpha, kappa, tau)
    }

    /// Smoothness $\nu = \alpha - 1$ (in two dimensions).
    pub fn nu(&self) -> f64 {
        f64::from(self.alpha) - 1.0
    }

    /// Practical range $\sqrt{8\nu}/\kappa$.
    ///
    /// # Errors
    /// $\alpha = 1$ ($\nu = 0$ has no range).
    pub fn range(&self) -> Result<f64> {
        self.need_nu("range")?;
        Ok((8.0 * self.nu()).sqrt() / self.kappa)
    }

    /// Marginal standard deviation $\sigma = (4\pi\nu\kappa^{2\nu}\tau^2)^{-1/2}$ of the
    /// continuous field.
    ///
    /// # Errors
    /// $\alpha = 1$ ($\nu = 0$ has unbounded variance).
    pub fn sigma(&self) -> Result<f64> {
        self.need_nu("sigma")?;
        let nu = self.nu();
        Ok(1.0
            / (4.0 * std::f64::consts::PI * nu * self.kappa.powf(2.0 * nu) * self.tau * self.tau)
                .sqrt())
    }

    fn need_nu(&self, what: &str) -> Result<()> {
        if self.alpha < 2 {
            return Err(Error::invalid_parameter(
                "alpha",
                format!("the {what} of a 2D Matérn field needs alpha >= 2 (nu = alpha - 1 > 0)"),
            ));
        }
        Ok(())
    }
}

/// The discretised SPDE operator of one mesh and one $\alpha$: the matrices $M_0, \dots,
/// M_\alpha$ on one symmetric sparsity pattern.
#[derive(Debug, Clone)]
pub struct SpdeOperator {
    alpha: u32,
    pattern: SparsityPattern,
    /// `terms[k]` holds the values of $M_k$ on `pattern`.
    terms: Vec<Vec<f64>>,
}

impl SpdeOperator {
    /// Precompute $M_0 = \tilde C$, $M_1 = G$, $M_k = M_{k-1} \tilde C^{-1} G$.
    ///
    /// # Errors
    /// $\alpha$ outside 1..=8, or a lumped mass that is not positive.
    pub fn new(fem: &Fem, alpha: u32) -> Result<Self> {
        Matern::new(alpha, 1.0, 1.0)?;
        let c = &fem.lumped_mass;
        if let Some(i) = c.iter().position(|&v| !(v > 0.0 && v.is_finite())) {
            return Err(Error::NotPositiveDefinite {
                what: format!("lumped mass matrix (node {i} has mass {})", c[i]),
            });
        }
        let m = c.len();
        let c0 = CscMatrix::try_from_csc_data(
            m,
            m,
            (0..=m).collect(),
            (0..m).collect(),
            c.iter().copied().collect(),
        )
        .map_err(|e| Error::degenerate("lumped mass matrix", e))?;
        let g = fem.stiffness.clone();
        // C~^{-1} G: scale row i of G by 1 / c_i.
        let mut cinv_g = fem.stiffness.clone();
        for j in 0..m {
            let mut col = cinv_g.col_mut(j);
            let (rows, vals) = col.rows_and_values_mut();
            for (i, v) in rows.iter().zip(vals) {
                *v /= c[*i];
            }
        }
        let mut mats = vec![c0, g];
        for _ in 2..=alpha {
            let next = &mats[mats.len() - 1] * &cinv_g;
            mats.push(symmetrise(&next)?);
        }
        let refs: Vec<&CscMatrix<f64>> = mats.iter().collect();
        let pattern = union_pattern(&refs)?;
        let terms = mats
            .iter()
            .map(|mk| scatter(&pattern, mk))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            alpha,
            pattern,
            terms,
        })
    }

    /// The order $\alpha$ this operator was built for.
    pub fn alpha(&self) -> u32 {
        self.alpha
    }

    /// The values of $M_0, \dots, M_\alpha$ on [`SpdeOperator::pattern`], in storage order.
    pub(crate) fn terms(&self) -> &[Vec<f64>] {
        &self.terms
    }

    /// The common sparsity pattern of every precision this operator returns.
    pub fn pattern(&self) -> &SparsityPattern {
        &self.pattern
    }

    /// $Q_\alpha(\kappa, \tau)$ on the common pattern.
    ///
    /// # Errors
    /// `field.alpha` differs from the operator's.
    pub fn precision(&self, field: &Matern) -> Result<CscMatrix<f64>> {
        self.combine(field, |_| 1.0)
    }

    /// $\partial Q / \partial \log\kappa$ on the common pattern ($\partial Q / \partial
    /// \log\tau$ is $2Q$).
    ///
    /// # Errors
    /// `field.alpha` differs from the operator's.
    pub fn precision_dlog_kappa(&self, field: &Matern) -> Result<CscMatrix<f64>> {
        let a = self.alpha;
        self.combine(field, |k| 2.0 * f64::from(a - k as u32))
    }

    /// $\tau^2 \sum_k w_k \binom{\alpha}{k} \kappa^{2(\alpha-k)} M_k$.
    fn combine(&self, field: &Matern, weight: impl Fn(usize) -> f64) -> Result<CscMatrix<f64>> {
        if field.alpha != self.alpha {
            return Err(Error::invalid_parameter(
                "alpha",
                format!(
                    "the operator was built for alpha = {}, the field has {}",
                    self.alpha, field.alpha
                ),
            ));
        }
        let a = self.alpha as usize;
        let k2 = field.kappa * field.kappa;
        let coef: Vec<f64> = (0..=a)
            .map(|k| field.tau * field.tau * binomial(a, k) * k2.powi((a - k) as i32) * weight(k))
            .collect();
        let mut values = vec![0.0; self.pattern.nnz()];
        for (term, &c) in self.terms.iter().zip(&coef) {
            if c != 0.0 {
                for (v, t) in values.iter_mut().zip(term) {
                    *v += c * t;
                }
            }
        }
        on_pattern(&self.pattern, values)
    }
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mesh, sparse::dense};
    use nalgebra::DMatrix;

    #[test]
    fn binomial_sum_equals_the_recursion() {
        // Q_alpha from the binomial sum against K C~^{-1} Q_{alpha-2} C~^{-1} K computed densely.
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 2.0], 4, 5).unwrap();
        let fem = Fem::assemble(&mesh).unwrap();
        let (kappa, tau) = (2.3, 0.7);
        let cinv = DMatrix::from_diagonal(&fem.lumped_mass.map(|c| 1.0 / c));
        let k = DMatrix::from_diagonal(&fem.lumped_mass) * kappa * kappa + dense(&fem.stiffness);
        let mut qs = vec![k.clone() * tau * tau, &k * &cinv * &k * tau * tau];
        for a in 3..=4 {
            let next = &k * &cinv * &qs[a - 3] * &cinv * &k;
            qs.push(next);
        }
        for alpha in 1..=4u32 {
            let expected = &qs[alpha as usize - 1];
            let op = SpdeOperator::new(&fem, alpha).unwrap();
            let got = dense(
                &op.precision(&Matern::new(alpha, kappa, tau).unwrap())
                    .unwrap(),
            );
            let err = (&got - expected).abs().max() / expected.abs().max();
            assert!(err < 1e-13, "alpha {alpha}: relative error {err}");
        }
    }

    #[test]
    fn kappa_derivative_matches_finite_differences() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 3, 3).unwrap();
        let op = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 3).unwrap();
        let f = Matern::new(3, 1.7, 0.9).unwrap();
        let h = 1e-6;
        let at = |lk: f64| {
            dense(
                &op.precision(&Matern::new(3, lk.exp(), 0.9).unwrap())
                    .unwrap(),
            )
        };
        let fd = (at(f.kappa.ln() + h) - at(f.kappa.ln() - h)) / (2.0 * h);
        let an = dense(&op.precision_dlog_kappa(&f).unwrap());
        assert!((&fd - &an).abs().max() / an.abs().max() < 1e-8);
    }

    #[test]
    fn interpretable_parameters_round_trip() {
        for alpha in 2..=4 {
            let f = Matern::from_range_sigma(alpha, 0.45, 2.5).unwrap();
            assert!((f.range().unwrap() - 0.45).abs() < 1e-13);
            assert!((f.sigma().unwrap() - 2.5).abs() < 1e-12);
        }
        // The R-INLA SPDE tutorial's toy field: kappa = 7, variance 5, nu = 1.
        let f = Matern::from_range_sigma(2, 8f64.sqrt() / 7.0, 5f64.sqrt()).unwrap();
        assert!((f.kappa - 7.0).abs() < 1e-12);
        let tau2 = 1.0 / (4.0 * std::f64::consts::PI * 49.0 * 5.0);
        assert!((f.tau * f.tau - tau2).abs() < 1e-15);
        assert!(Matern::new(1, 1.0, 1.0).unwrap().range().is_err());
        assert!(Matern::new(0, 1.0, 1.0).is_err());
        assert!(Matern::new(2, -1.0, 1.0).is_err());
        assert!(Matern::from_range_sigma(2, f64::NAN, 1.0).is_err());
    }
}
