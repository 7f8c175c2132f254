//! Non-stationary Matérn SPDE fields: $\log\kappa(s)$ and $\log\tau(s)$ as linear
//! combinations of basis functions on the nodes.
//!
//! Letting $\kappa$ and $\tau$ vary in space,
//! $(\kappa(s)^2 - \Delta)^{\alpha/2}(\tau(s) x(s)) = \mathcal{W}(s)$, Lindgren, Rue and
//! Lindström (2011, section 3.2) discretise with $K = \operatorname{diag}(\kappa_i)$ and
//! $T = \operatorname{diag}(\tau_i)$ at the nodes:
//!
//! $$ Q_1 = T (K^2 \tilde C + G) T, \qquad
//!    Q_2 = T \left(K^2 \tilde C K^2 + K^2 G + G K^2 + G \tilde C^{-1} G\right) T , $$
//!
//! with $\log\tau = B_\tau\theta_\tau$ and $\log\kappa = B_\kappa\theta_\kappa$ for basis
//! matrices $B_\tau$ ($m \times p_\tau$) and $B_\kappa$ ($m \times p_\kappa$), as R-INLA's
//! `B.tau` and `B.kappa` (without their offset column). Entry by entry, with $c_i$ the lumped
//! masses, $g_{ij}$ the entries of $G$ and $h_{ij}$ those of $G\tilde C^{-1}G$ (the $M_0$,
//! $M_1$, $M_2$ of [`crate::matern::SpdeOperator`]), for $\alpha = 2$:
//!
//! $$ Q_{ij} = \tau_i\tau_j\left(\delta_{ij}\kappa_i^4 c_i + (\kappa_i^2 + \kappa_j^2) g_{ij} +
//!    h_{ij}\right), $$
//!
//! so a new $\theta$ costs one pass over the pattern, which is the stationary operator's (the
//! symbolic factorisation is shared), and so do the derivatives:
//!
//! $$ \frac{\partial Q_{ij}}{\partial\theta_{\tau,l}} = (B_{\tau,il} + B_{\tau,jl}) Q_{ij}, \qquad
//!    \frac{\partial Q_{ij}}{\partial\theta_{\kappa,l}} = \tau_i\tau_j\left(4\delta_{ij}
//!    \kappa_i^4 B_{\kappa,il} c_i + 2(\kappa_i^2 B_{\kappa,il} + \kappa_j^2 B_{\kappa,jl})
//!    g_{ij}\right). $$
//!
//! With constant basis columns ($B = \mathbf 1$) this is the stationary field with
//! $\kappa = e^{\theta_\kappa}$, $\tau = e^{\theta_\tau}$. [`GeostatModel::evaluate_nonstationary`]
//! gives the likelihood and its gradient in $(\theta_\tau, \theta_\kappa, \log s^2)$.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_gmrf::{Fem, Mesh, SpdeOperator, nonstationary::NonStationary};
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 8, 8)?;
//! let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
//! // log kappa = theta_0 + theta_1 x: shorter ranges towards the right.
//! let b_kappa = DMatrix::from_fn(mesh.n_nodes(), 2, |i, k| if k == 0 { 1.0 } else { mesh.nodes()[i][0] });
//! let b_tau = DMatrix::from_element(mesh.n_nodes(), 1, 1.0);
//! let ns = NonStationary::new(&spde, b_tau, b_kappa)?;
//! let q = ns.precision(&[0.0], &[1.5, 1.0])?;
//! assert_eq!(q.pattern(), spde.pattern());
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! Reference: F. Lindgren, H. Rue, J. Lindström (2011), JRSS B 73(4):423-498, section 3.2.

use nalgebra::{DMatrix, DVector};
use nalgebra_sparse::CscMatrix;
use uqforge_core::{Error, Result};

use crate::likelihood::{Coefficients, Core, GeostatModel};
use crate::matern::SpdeOperator;
use crate::optim::Objective;
use crate::sparse::on_pattern;

/// A non-stationary SPDE operator ($\alpha = 1$ or 2) with basis matrices for $\log\tau$ and
/// $\log\kappa$.
#[derive(Debug, Clone)]
pub struct NonStationary {
    spde: SpdeOperator,
    b_tau: DMatrix<f64>,
    b_kappa: DMatrix<f64>,
    /// Row and column of every stored entry, in storage order.
    entries: Vec<(usize, usize)>,
}

/// Likelihood of a non-stationary model at one parameter value.
#[derive(Debug, Clone)]
pub struct NonStationaryEvaluation {
    /// The log-likelihood (with the GLS coefficients).
    pub log_likelihood: f64,
    /// Its gradient in $(\theta_\tau, \theta_\kappa, \log s^2)$, when asked for.
    pub gradient: Option<Vec<f64>>,
    /// GLS coefficients.
    pub beta: DVector<f64>,
    /// Posterior mean of the field at the nodes.
    pub field_mean: DVector<f64>,
}

impl NonStationary {
    /// The operator of `spde` (its mesh and $\alpha$) with $\log\tau = B_\tau\theta_\tau$ and
    /// $\log\kappa = B_\kappa\theta_\kappa$.
    ///
    /// # Errors
    /// $\alpha$ other than 1 or 2, basis matrices without one row per node or without
    /// columns, or non-finite entries.
    pub fn new(spde: &SpdeOperator, b_tau: DMatrix<f64>, b_kappa: DMatrix<f64>) -> Result<Self> {
        if !(1..=2).contains(&spde.alpha()) {
            return Err(Error::invalid_parameter(
                "alpha",
                format!(
                    "non-stationary operators are implemented for alpha = 1 or 2, got {}",
                    spde.alpha()
                ),
            ));
        }
        let m = spde.pattern().major_dim();
        for (name, b) in [("B_tau", &b_tau), ("B_kappa", &b_kappa)] {
            uqforge_core::validate::len(&format!("{name} rows (mesh nodes)"), m, b.nrows())?;
            uqforge_core::validate::at_least(&format!("{name} columns"), b.ncols(), 1)?;
            uqforge_core::validate::finite(name, b.as_slice())?;
        }
        let pattern = spde.pattern();
        let mut entries = Vec::with_capacity(pattern.nnz());
        for j in 0..m {
            for &i in pattern.lane(j) {
                entries.push((i, j));
            }
        }
        Ok(Self {
            spde: spde.clone(),
            b_tau,
            b_kappa,
            entries,
        })
    }

    /// Number of parameters $p_\tau + p_\kappa$.
    pub fn n_params(&self) -> usize {
        self.b_tau.ncols() + self.b_kappa.ncols()
    }

    /// The stationary operator this one builds on.
    pub fn spde(&self) -> &SpdeOperator {
        &self.spde
    }

    fn fields(
        &self,
        theta_tau: &[f64],
        theta_kappa: &[f64],
    ) -> Result<(DVector<f64>, DVector<f64>)> {
        uqforge_core::validate::len("theta_tau", self.b_tau.ncols(), theta_tau.len())?;
        uqforge_core::validate::len("theta_kappa", self.b_kappa.ncols(), theta_kappa.len())?;
        uqforge_core::validate::finite("theta_tau", theta_tau)?;
        uqforge_core::validate::finite("theta_kappa", theta_kappa)?;
        let tau = (&self.b_tau * DVector::from_column_slice(theta_tau)).map(f64::exp);
        let kappa2 =
            (&self.b_kappa * DVector::from_column_slice(theta_kappa)).map(|v| (2.0 * v).exp());
        if let Some(bad) = tau
            .iter()
            .chain(kappa2.iter())
            .find(|v| !(v.is_finite() && **v > 0.0))
        {
            return Err(Error::invalid_parameter(
                "theta",
                format!("exp(B theta) leaves the representable range ({bad})"),
            ));
        }
        Ok((tau, kappa2))
    }

    /// $Q(\theta_\tau, \theta_\kappa)$ on the stationary operator's pattern.
    ///
    /// # Errors
    /// Parameter vectors of the wrong length, non-finite, or overflowing.
    pub fn precision(&self, theta_tau: &[f64], theta_kappa: &[f64]) -> Result<CscMatrix<f64>> {
        let (tau, k2) = self.fields(theta_tau, theta_kappa)?;
        let t = self.spde.terms();
        let values = self
            .entries
            .iter()
            .enumerate()
            .map(|(e, &(i, j))| {
                let inner = if self.spde.alpha() == 1 {
                    let d = if i == j { k2[i] * t[0][e] } else { 0.0 };
                    d + t[1][e]
                } else {
                    let d = if i == j { k2[i] * k2[i] * t[0][e] } else { 0.0 };
                    d + (k2[i] + k2[j]) * t[1][e] + t[2][e]
                };
                tau[i] * tau[j] * inner
            })
            .collect();
        on_pattern(self.spde.pattern(), values)
    }

    /// $\partial Q / \partial\theta$ for every parameter, $\theta_\tau$ first.
    ///
    /// # Errors
    /// As [`NonStationary::precision`].
    pub fn precision_derivatives(
        &self,
        theta_tau: &[f64],
        theta_kappa: &[f64],
    ) -> Result<Vec<CscMatrix<f64>>> {
        let (tau, k2) = self.fields(theta_tau, theta_kappa)?;
        let q = self.precision(theta_tau, theta_kappa)?;
        let t = self.spde.terms();
        let mut out = Vec::with_capacity(self.n_params());
        for l in 0..self.b_tau.ncols() {
            let b = self.b_tau.column(l);
            let values = self
                .entries
                .iter()
                .zip(q.values())
                .map(|(&(i, j), v)| (b[i] + b[j]) * v)
                .collect();
            out.push(on_pattern(self.spde.pattern(), values)?);
        }
        for l in 0..self.b_kappa.ncols() {
            let b = self.b_kappa.column(l);
            let values = self
                .entries
                .iter()
                .enumerate()
                .map(|(e, &(i, j))| {
                    let inner = if self.spde.alpha() == 1 {
                        if i == j {
                            2.0 * k2[i] * b[i] * t[0][e]
                        } else {
                            0.0
                        }
                    } else {
                        let d = if i == j {
                            4.0 * k2[i] * k2[i] * b[i] * t[0][e]
                        } else {
                            0.0
                        };
                        d + 2.0 * (k2[i] * b[i] + k2[j] * b[j]) * t[1][e]
                    };
                    tau[i] * tau[j] * inner
                })
                .collect();
            out.push(on_pattern(self.spde.pattern(), values)?);
        }
        Ok(out)
    }
}

/// A maximum-likelihood fit of a non-stationary model.
#[derive(Debug, Clone)]
pub struct NonStationaryFit {
    /// Estimated $\theta_\tau$.
    pub theta_tau: Vec<f64>,
    /// Estimated $\theta_\kappa$.
    pub theta_kappa: Vec<f64>,
    /// Estimated noise standard deviation.
    pub noise_sd: f64,
    /// Standard errors of $(\theta_\tau, \theta_\kappa, \log s^2)$ from the observed
    /// information; `None` when it is not positive definite.
    pub std_errors: Option<Vec<f64>>,
    /// Profile log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// GLS coefficients at the estimate.
    pub beta: DVector<f64>,
    /// L-BFGS iterations.
    pub iterations: u64,
    /// Whether the gradient tolerance (1e-6 on the mean log-likelihood) was met.
    pub converged: bool,
    /// Why the optimiser stopped.
    pub termination: String,
}

impl GeostatModel {
    /// Maximum likelihood over $(\theta_\tau, \theta_\kappa, \log s^2)$ from the given
    /// start, by L-BFGS with the analytic gradient (at most `max_iterations` iterations).
    ///
    /// # Errors
    /// As [`GeostatModel::evaluate_nonstationary`], or an optimiser failure.
    pub fn fit_nonstationary(
        &self,
        ns: &NonStationary,
        theta_tau: &[f64],
        theta_kappa: &[f64],
        noise_sd: f64,
        max_iterations: u64,
    ) -> Result<NonStationaryFit> {
        uqforge_core::validate::positive("noise_sd", noise_sd)?;
        let (pt, pk) = (theta_tau.len(), theta_kappa.len());
        let f = |theta: &[f64]| -> Result<(f64, Vec<f64>)> {
            let s = (0.5 * theta[pt + pk]).exp();
            let e = self.evaluate_nonstationary(ns, &theta[..pt], &theta[pt..pt + pk], s, true)?;
            Ok((e.log_likelihood, e.gradient.unwrap_or_default()))
        };
        let objective = Objective::new(&f, self.n_obs() as f64);
        let mut start = theta_tau.to_vec();
        start.extend_from_slice(theta_kappa);
        start.push(2.0 * noise_sd.ln());
        let outcome = objective.maximise(start, max_iterations, 1e-6)?;
        let t = &outcome.theta;
        let noise_sd = (0.5 * t[pt + pk]).exp();
        let best = self.evaluate_nonstationary(ns, &t[..pt], &t[pt..pt + pk], noise_sd, false)?;
        let std_errors = objective
            .inverse_information(t)?
            .map(|cov| (0..t.len()).map(|k| cov[(k, k)].sqrt()).collect());
        Ok(NonStationaryFit {
            theta_tau: t[..pt].to_vec(),
            theta_kappa: t[pt..pt + pk].to_vec(),
            noise_sd,
            std_errors,
            log_likelihood: best.log_likelihood,
            beta: best.beta,
            iterations: outcome.iterations,
            converged: outcome.converged,
            termination: outcome.termination,
        })
    }

    /// Profile log-likelihood of the non-stationary field `ns` at $(\theta_\tau,
    /// \theta_\kappa)$ and noise standard deviation `noise_sd`, with its gradient in
    /// $(\theta_\tau, \theta_\kappa, \log s^2)$ when `gradient` is true.
    ///
    /// # Errors
    /// `ns` built on another mesh or order than the model, invalid parameters, or a
    /// factorisation failure (named with the parameters).
    pub fn evaluate_nonstationary(
        &self,
        ns: &NonStationary,
        theta_tau: &[f64],
        theta_kappa: &[f64],
        noise_sd: f64,
        gradient: bool,
    ) -> Result<NonStationaryEvaluation> {
        if ns.spde().pattern() != self.spde().pattern() {
            return Err(Error::invalid_parameter(
                "ns",
                "the non-stationary operator was built on another mesh or alpha than the model",
            ));
        }
        let q = ns.precision(theta_tau, theta_kappa)?;
        let describe = format!(
            "theta_tau = {theta_tau:?}, theta_kappa = {theta_kappa:?}, noise_sd = {noise_sd}"
        );
        let factors = self.obs.factors_of(q, noise_sd, &describe)?;
        let derivatives = || ns.precision_derivatives(theta_tau, theta_kappa);
        let Core {
            log_likelihood,
            gradient,
            beta,
            field_mean,
            ..
        } = self.obs.evaluate_factors_with(
            &factors,
            gradient.then_some(&derivatives),
            &Coefficients::Profiled,
        )?;
        Ok(NonStationaryEvaluation {
            log_likelihood,
            gradient,
            beta,
            field_mean,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::likelihood::Params;
    use crate::{Fem, Matern, Mesh, sparse::dense};

    fn setup(alpha: u32) -> (Mesh, SpdeOperator, NonStationary) {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 5, 4).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), alpha).unwrap();
        let m = mesh.n_nodes();
        let b_tau = DMatrix::from_fn(m, 2, |i, k| if k == 0 { 1.0 } else { mesh.nodes()[i][1] });
        let b_kappa = DMatrix::from_fn(m, 2, |i, k| if k == 0 { 1.0 } else { mesh.nodes()[i][0] });
        let ns = NonStationary::new(&spde, b_tau, b_kappa).unwrap();
        (mesh, spde, ns)
    }

    #[test]
    fn equals_the_matrix_formula_of_lindgren_et_al() {
        for alpha in [1, 2] {
            let (mesh, _, ns) = setup(alpha);
            let fem = Fem::assemble(&mesh).unwrap();
            let (tt, tk) = ([0.3, -0.5], [1.2, 0.7]);
            let t = DMatrix::from_diagonal(
                &(&ns.b_tau * DVector::from_column_slice(&tt)).map(f64::exp),
            );
            let k2 = DMatrix::from_diagonal(
                &(&ns.b_kappa * DVector::from_column_slice(&tk)).map(|v| (2.0 * v).exp()),
            );
            let c = DMatrix::from_diagonal(&fem.lumped_mass);
            let cinv = DMatrix::from_diagonal(&fem.lumped_mass.map(|v| 1.0 / v));
            let g = dense(&fem.stiffness);
            let inner = if alpha == 1 {
                &k2 * &c + &g
            } else {
                &k2 * &c * &k2 + &k2 * &g + &g * &k2 + &g * &cinv * &g
            };
            let want = &t * inner * &t;
            let got = dense(&ns.precision(&tt, &tk).unwrap());
            assert!((got - &want).abs().max() < 1e-12 * want.abs().max());
        }
    }

    #[test]
    fn constant_bases_give_the_stationary_precision() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 4).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let ones = DMatrix::from_element(mesh.n_nodes(), 1, 1.0);
        let ns = NonStationary::new(&spde, ones.clone(), ones).unwrap();
        let f = Matern::new(2, 3.0, 0.4).unwrap();
        let want = dense(&spde.precision(&f).unwrap());
        let got = dense(&ns.precision(&[0.4f64.ln()], &[3.0f64.ln()]).unwrap());
        assert!((got - &want).abs().max() < 1e-12 * want.abs().max());
    }

    #[test]
    fn derivatives_and_likelihood_gradient_equal_central_differences() {
        for alpha in [1, 2] {
            let (mesh, spde, ns) = setup(alpha);
            let (tt, tk) = ([0.1, -0.3], [1.5, 0.4]);
            let d = ns.precision_derivatives(&tt, &tk).unwrap();
            let h = 1e-6;
            for l in 0..4 {
                let shift = |s: f64| {
                    let (mut a, mut b) = (tt, tk);
                    if l < 2 {
                        a[l] += s
                    } else {
                        b[l - 2] += s
                    }
                    dense(&ns.precision(&a, &b).unwrap())
                };
                let fd = (shift(h) - shift(-h)) / (2.0 * h);
                let an = dense(&d[l]);
                assert!(
                    (&fd - &an).abs().max() < 1e-6 * an.abs().max().max(1.0),
                    "alpha {alpha} param {l}"
                );
            }
            // Likelihood gradient in (theta_tau, theta_kappa, log s^2).
            let n = 15;
            let locs = crate::testing::wrapped_line(n, 3.7);
            let y = DVector::from_fn(n, |i, _| (i as f64 * 0.9).sin());
            let model = GeostatModel::new(
                &spde,
                mesh.observation_matrix(&locs).unwrap(),
                y,
                DMatrix::from_element(n, 1, 1.0),
            )
            .unwrap();
            let s = 0.4f64;
            let g = model
                .evaluate_nonstationary(&ns, &tt, &tk, s, true)
                .unwrap()
                .gradient
                .unwrap();
            let ll = |a: [f64; 2], b: [f64; 2], ls2: f64| {
                model
                    .evaluate_nonstationary(&ns, &a, &b, (0.5 * ls2).exp(), false)
                    .unwrap()
                    .log_likelihood
            };
            let ls2 = 2.0 * s.ln();
            let hh = 1e-5;
            for l in 0..5 {
                let at = |x: f64| {
                    let (mut a, mut b, mut c) = (tt, tk, ls2);
                    match l {
                        0 | 1 => a[l] += x,
                        2 | 3 => b[l - 2] += x,
                        _ => c += x,
                    }
                    ll(a, b, c)
                };
                let fd = (at(hh) - at(-hh)) / (2.0 * hh);
                assert!(
                    (g[l] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                    "alpha {alpha} component {l}: {} vs {fd}",
                    g[l]
                );
            }
            // With constant bases, the value equals the stationary likelihood.
            let ones = DMatrix::from_element(mesh.n_nodes(), 1, 1.0);
            let flat = NonStationary::new(&spde, ones.clone(), ones).unwrap();
            if alpha == 2 {
                let f = Matern::from_range_sigma(2, 0.4, 1.1).unwrap();
                let p = Params {
                    range: 0.4,
                    sigma: 1.1,
                    noise_sd: s,
                };
                let a = model.evaluate(&p, false).unwrap().log_likelihood;
                let b = model
                    .evaluate_nonstationary(&flat, &[f.tau.ln()], &[f.kappa.ln()], s, false)
                    .unwrap()
                    .log_likelihood;
                assert!((a - b).abs() < 1e-10 * a.abs());
            }
        }
    }

    #[test]
    fn a_trend_in_the_range_is_recovered() {
        // Simulate a field whose log kappa grows along x, observe it densely, fit theta.
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 30, 30).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let m = mesh.n_nodes();
        let b_tau = DMatrix::from_element(m, 1, 1.0);
        let b_kappa = DMatrix::from_fn(m, 2, |i, k| {
            if k == 0 {
                1.0
            } else {
                mesh.nodes()[i][0] - 0.5
            }
        });
        let ns = NonStationary::new(&spde, b_tau, b_kappa).unwrap();
        let truth_kappa = [12f64.ln(), 1.5];
        // tau for sigma = 1 at kappa = 12: 1 / (sqrt(4 pi) kappa).
        let truth_tau = [-(12.0 * (4.0 * std::f64::consts::PI).sqrt()).ln()];
        let q = ns.precision(&truth_tau, &truth_kappa).unwrap();
        let chol = crate::SymbolicCholesky::analyse(spde.pattern())
            .unwrap()
            .factor(&q)
            .unwrap();
        let x = chol.sample(1, 21).unwrap();
        let n = 900;
        let mut rng = uqforge_core::rng::rng_from_seed(22);
        let locs = DMatrix::from_fn(n, 2, |_, _| uqforge_core::rng::uniform01(&mut rng));
        let a = mesh.observation_matrix(&locs).unwrap();
        let y = &a * x.column(0)
            + DVector::from_fn(n, |_, _| 0.1 * uqforge_core::rng::standard_normal(&mut rng));
        let model = GeostatModel::new(&spde, a, y, DMatrix::zeros(n, 0)).unwrap();
        let fit = model
            .fit_nonstationary(&ns, &[truth_tau[0] + 0.5], &[10f64.ln(), 0.0], 0.3, 200)
            .unwrap();
        assert!(fit.converged, "{}", fit.termination);
        let se = fit.std_errors.clone().unwrap();
        // The slope of log kappa in x is within three standard errors of 1.5 and away from 0.
        let z = (fit.theta_kappa[1] - 1.5) / se[2];
        assert!(z.abs() < 3.0 && fit.theta_kappa[1] / se[2] > 2.0, "{fit:?}");
    }

    #[test]
    fn bad_input_is_refused() {
        let (mesh, spde, ns) = setup(2);
        assert!(ns.precision(&[0.0], &[0.0, 0.0]).is_err());
        assert!(ns.precision(&[f64::NAN, 0.0], &[0.0, 0.0]).is_err());
        assert!(ns.precision(&[800.0, 0.0], &[0.0, 0.0]).is_err());
        let short = DMatrix::from_element(mesh.n_nodes() - 1, 1, 1.0);
        assert!(NonStationary::new(&spde, short.clone(), short).is_err());
        let three = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 3).unwrap();
        let ones = DMatrix::from_element(mesh.n_nodes(), 1, 1.0);
        assert!(NonStationary::new(&three, ones.clone(), ones).is_err());
    }
}
