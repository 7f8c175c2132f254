//! Penalised-complexity (PC) priors for the range and the standard deviation of a Matérn
//! field, used as optional penalties of maximum likelihood.
//!
//! Fuglstad, Simpson, Lindgren and Rue (2019) derive the prior that shrinks a Matérn field
//! towards its base model (infinite range, zero variance) at a constant rate on the scale of
//! the Kullback–Leibler distance. In dimension $d$, with the user's statements
//! $P(\rho < \rho_0) = p_\rho$ and $P(\sigma > \sigma_0) = p_\sigma$, the joint density is
//!
//! $$ \pi(\rho, \sigma) = \frac d2 \lambda_\rho \rho^{-1-d/2} e^{-\lambda_\rho \rho^{-d/2}}
//!    \cdot \lambda_\sigma e^{-\lambda_\sigma\sigma}, \qquad
//!    \lambda_\rho = -\log(p_\rho) \rho_0^{d/2}, \quad \lambda_\sigma = -\log(p_\sigma)/\sigma_0 $$
//!
//! (their theorem 2.6; R-INLA's `inla.spde2.pcmatern` with `prior.range = c(rho0, p)` and
//! `prior.sigma = c(sigma0, p)`). In the plane ($d = 2$): $\pi(\rho) = \lambda_\rho \rho^{-2}
//! e^{-\lambda_\rho/\rho}$, whose distribution function is $e^{-\lambda_\rho/\rho}$, and
//! $\sigma$ is exponential.
//!
//! Maximum likelihood works on $(\log\rho, \log\sigma)$, so the penalty added to the
//! log-likelihood is the log-density of those, Jacobians included:
//!
//! $$ \log\pi(\log\rho, \log\sigma) = \log\lambda_\rho - \log\rho - \frac{\lambda_\rho}{\rho}
//!    + \log\lambda_\sigma + \log\sigma - \lambda_\sigma\sigma , $$
//!
//! with derivatives $\lambda_\rho/\rho - 1$ and $1 - \lambda_\sigma\sigma$. The maximiser is
//! the posterior mode in those coordinates. The prior keeps the range from running off to
//! infinity and the variance from running off to zero on small data sets, where the
//! likelihood is flat along the ridge $\sigma^2/\rho^{2\nu}$.
//!
//! ```
//! use uqforge_gmrf::prior::PcPrior;
//!
//! // P(range < 0.1) = 0.05, P(sigma > 3) = 0.01.
//! let prior = PcPrior::new(0.1, 0.05, 3.0, 0.01)?;
//! // The distribution function of the range at rho_0 is p_rho.
//! assert!((prior.range_cdf(0.1) - 0.05).abs() < 1e-15);
//! // The density of log(range) peaks at range = lambda_rho = -log(0.05) 0.1 = 0.30.
//! let (value, gradient) = prior.log_density(0.2, 1.0);
//! assert!(value.is_finite());
//! assert!((gradient[0] - (prior.lambda_range() / 0.2 - 1.0)).abs() < 1e-15 && gradient[0] > 0.0);
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! Reference: G.-A. Fuglstad, D. Simpson, F. Lindgren, H. Rue (2019), Constructing priors that
//! penalize the complexity of Gaussian random fields, JASA 114:445-452.

use serde::{Deserialize, Serialize};
use uqforge_core::Result;

/// The PC prior of a 2D Matérn field's range and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PcPrior {
    /// $\rho_0$ with $P(\rho < \rho_0) = p_\rho$.
    pub range0: f64,
    /// $p_\rho$.
    pub p_range: f64,
    /// $\sigma_0$ with $P(\sigma > \sigma_0) = p_\sigma$.
    pub sigma0: f64,
    /// $p_\sigma$.
    pub p_sigma: f64,
}

impl PcPrior {
    /// The prior with $P(\rho < \rho_0) = p_\rho$ and $P(\sigma > \sigma_0) = p_\sigma$.
    ///
    /// # Errors
    /// Non-positive $\rho_0$ or $\sigma_0$, or probabilities outside $(0, 1)$.
    pub fn new(range0: f64, p_range: f64, sigma0: f64, p_sigma: f64) -> Result<Self> {
        uqforge_core::validate::positive("range0", range0)?;
        uqforge_core::validate::positive("sigma0", sigma0)?;
        uqforge_core::validate::in_open_range("p_range", p_range, 0.0, 1.0)?;
        uqforge_core::validate::in_open_range("p_sigma", p_sigma, 0.0, 1.0)?;
        Ok(Self {
            range0,
            p_range,
            sigma0,
            p_sigma,
        })
    }

    /// $\lambda_\rho = -\log(p_\rho)\rho_0$ (in 2D).
    pub fn lambda_range(&self) -> f64 {
        -self.p_range.ln() * self.range0
    }

    /// $\lambda_\sigma = -\log(p_\sigma)/\sigma_0$.
    pub fn lambda_sigma(&self) -> f64 {
        -self.p_sigma.ln() / self.sigma0
    }

    /// $P(\text{range} \le \rho) = e^{-\lambda_\rho/\rho}$.
    pub fn range_cdf(&self, range: f64) -> f64 {
        (-self.lambda_range() / range).exp()
    }

    /// $\log\pi(\log\rho, \log\sigma)$ and its gradient in $(\log\rho, \log\sigma)$.
    pub fn log_density(&self, range: f64, sigma: f64) -> (f64, [f64; 2]) {
        let (lr, ls) = (self.lambda_range(), self.lambda_sigma());
        let value = lr.ln() - range.ln() - lr / range + ls.ln() + sigma.ln() - ls * sigma;
        (value, [lr / range - 1.0, 1.0 - ls * sigma])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_density_integrates_to_the_stated_probabilities() {
        let p = PcPrior::new(0.2, 0.1, 2.0, 0.05).unwrap();
        // Integrate the density of log(range) on a fine grid: the mass below log(0.2) is 0.1.
        let density = |t: f64| p.log_density(t.exp(), 1.0).0 - p.log_density(1.0, 1.0).0;
        // Separate the range part: log pi(log rho) = log(lr) - log(rho) - lr / rho.
        let lr = p.lambda_range();
        let log_pi = |t: f64| lr.ln() - t - lr / t.exp();
        let (lo, hi, n) = (-12.0f64, 12.0f64, 200_000);
        let h = (hi - lo) / n as f64;
        let mut below = 0.0;
        let mut total = 0.0;
        for i in 0..n {
            let t = lo + (i as f64 + 0.5) * h;
            let w = log_pi(t).exp() * h;
            total += w;
            if t < 0.2f64.ln() {
                below += w;
            }
        }
        // The grid holds the mass between e^lo and e^hi: F(e^hi) - F(e^lo), F = exp(-lr / rho).
        let mass = p.range_cdf(hi.exp()) - p.range_cdf(lo.exp());
        assert!(
            (total - mass).abs() < 1e-9 && mass > 0.99999,
            "{total} vs {mass}"
        );
        assert!((below - 0.1).abs() < 1e-4, "{below}");
        // The range part of log_density is log_pi up to the sigma terms.
        assert!((density(0.5) - (log_pi(0.5) - log_pi(0.0))).abs() < 1e-12);
        // Sigma: exponential with P(sigma > 2) = 0.05.
        assert!(((-p.lambda_sigma() * 2.0).exp() - 0.05).abs() < 1e-15);
    }

    #[test]
    fn gradient_equals_central_differences() {
        let p = PcPrior::new(0.3, 0.5, 1.0, 0.01).unwrap();
        let (r, s) = (0.7f64, 0.4f64);
        let (_, g) = p.log_density(r, s);
        let h = 1e-6;
        let f = |a: f64, b: f64| p.log_density(a.exp(), b.exp()).0;
        let fd0 = (f(r.ln() + h, s.ln()) - f(r.ln() - h, s.ln())) / (2.0 * h);
        let fd1 = (f(r.ln(), s.ln() + h) - f(r.ln(), s.ln() - h)) / (2.0 * h);
        assert!((g[0] - fd0).abs() < 1e-8 && (g[1] - fd1).abs() < 1e-8);
    }

    #[test]
    fn bad_statements_are_refused() {
        assert!(PcPrior::new(0.0, 0.5, 1.0, 0.5).is_err());
        assert!(PcPrior::new(1.0, 1.0, 1.0, 0.5).is_err());
        assert!(PcPrior::new(1.0, 0.5, 1.0, 0.0).is_err());
    }
}
