//! Deconvolution of pulsed electro-acoustic (PEA) signals into space-charge profiles.
//!
//! **Signal model.** A PEA cell applies a short voltage pulse to a charged insulator; each
//! charge layer emits a pressure wave that reaches the transducer after a delay proportional to
//! its depth, so a sample of the signal at time $t_i = i\Delta t$ mixes the charges at depths
//! $x_j = c_s t_j$ through the cell's impulse response $h$:
//! $$
//! y_i = \sum_{j \le i} h_{i - j}\rho_j + e_i,\qquad y = H\rho + e,
//! $$
//! with $H$ lower-triangular Toeplitz and $e$ white noise of standard deviation $\sigma$.
//! **Calibration** (IEC TS 62758 practice) measures $h$: a reference signal recorded without
//! space charge, under a low voltage that puts a known surface charge $\sigma_{ref}$ on the
//! first electrode, is $\sigma_{ref} h$ (the charge sits at the first sample). The profile
//! $\rho_j$ is then in the reference's charge units per sample; dividing by $c_s\Delta t$ gives
//! a volume density.
//!
//! **Tikhonov regularisation.** $H$ is ill-conditioned (the transducer and the amplifier cut high
//! frequencies), so the estimate minimises
//! $$
//! \lVert H\rho - y\rVert^2 + \lambda\lVert L\rho\rVert^2
//! $$
//! with $L = I$ (the identity penalty, small charges) or $L$ the first difference
//! $L\rho$ with entries $\rho_j - \rho_{j-1}$ and $\rho_{-1} = 0$ (smooth profiles). Both solvers write
//! the estimate through *filter factors* $f_k = s_k^2/(s_k^2 + \lambda p_k)$ on a spectral basis
//! where the data have coefficients $\beta_k$:
//!
//! - **Fourier**: the convolution is taken circular (the signal must return to its baseline
//!   before the end of the record, as PEA practice requires), the basis is the unitary DFT,
//!   $s_k = |\hat h_k|$, $p_k = 1$ or $p_k = |1 - e^{-2\pi ik/n}|^2$, and
//!   $\hat\rho_k = f_k\hat y_k/\hat h_k$: $O(n\log n)$.
//! - **SVD**: the exact truncated convolution $H = U\operatorname{diag}(s)V^\top$,
//!   $\beta = U^\top y$, $p_k = 1$; the difference penalty enters through the standard form
//!   $z = L\rho$, whose operator $HL^{-1}$ is the Toeplitz matrix of the cumulative sums of $h$:
//!   $O(n^3)$ once, then $O(n^2)$ per $\lambda$.
//!
//! **Wiener filtering** is the Fourier method with the penalty weight $p_k = \sigma^2/S_k$ set by
//! the profile's power spectrum $S_k = (\bar P_k - c\sigma^2)/s_k^2$, where $\bar P_k$ is the
//! periodogram $|\hat y_k|^2$ averaged over $2w + 1$ neighbouring frequencies and
//! $c = 1 + 2/\sqrt{2w + 1}$ (two standard deviations of that average above the noise); where
//! $\bar P_k \le c\sigma^2$ there is no signal and $f_k = 0$. Elsewhere
//! $f_k = (\bar P_k - c\sigma^2)/(\bar P_k - c\sigma^2 + \lambda\sigma^2)$ and $\lambda = 1$ is the
//! classical Wiener filter. Without a given $\sigma$, it is estimated from the top quarter of the
//! frequencies, where a band-limited signal holds only noise: $\hat\sigma^2 =
//! \operatorname{median}|\hat y_k|^2/\log 2$ (the median of an exponential variable).
//!
//! **Choosing $\lambda$.** With $m$ data, the residual $R(\lambda) = \sum_k (1 - f_k)^2|\beta_k|^2$
//! and the penalty $P(\lambda) = \sum_k p_k f_k^2|\beta_k|^2/s_k^2$:
//!
//! - generalised cross-validation (Golub, Heath, Wahba 1979) minimises
//!   $G(\lambda) = mR/(m - \sum_k f_k)^2$;
//! - robust GCV (Lukas, Inverse Problems 22:1883, 2006) multiplies $G$ by
//!   $\gamma + (1 - \gamma)\sum_k f_k^2/m$, which penalises the near-interpolating $\lambda$ where
//!   GCV occasionally finds a spurious minimum;
//! - the L-curve (Hansen and O'Leary 1993) maximises the curvature of
//!   $(\log\sqrt R, \log\sqrt P)$, in closed form from $dP/d\lambda$ (Hansen, *Rank-deficient
//!   and discrete ill-posed problems*, SIAM 1998; [`Deconvolver::curvature`]);
//! - the discrepancy principle (Morozov 1966) solves $R(\lambda) = m\sigma^2$ (the noise level
//!   must be given: estimating it from the same residual would be circular).
//!
//! **Which choice, measured** (`tests/pea.rs`' four profiles, a 512-sample record, a pulse of
//! standard deviation 2.5 samples, 1% noise, 3 seeds; the ratio of the chosen $\lambda$ to
//! the one minimising the profile error): with the difference penalty, GCV 0.55–1.0, robust
//! GCV ($\gamma = 0.1$) 1.2–2.3, the discrepancy principle 2.0–3.7 (it oversmooths, as
//! it is known to), the L-curve 0.22–0.74; with the identity penalty GCV undersmooths (0.16–0.29:
//! it targets the prediction error, and smooth profiles want more smoothing than the
//! prediction does). The difference penalty also gives 1.5–4 times smaller errors on smooth
//! profiles; it is the CLI's default. Wiener's data-dependent weights make its $\lambda$ a
//! correction of the classical filter; GCV over it is unreliable (below 0.01 to 3.3).
//!
//! ```
//! use nalgebra::DVector;
//! use uqforge_pinn::pea::{Choice, Method, Penalty, Solver, Transfer, deconvolve};
//!
//! // A band-limited impulse response and two charge layers of opposite sign.
//! let h = DVector::from_fn(64, |i, _| (-0.5 * ((i as f64 - 4.0) / 2.0).powi(2)).exp());
//! let transfer = Transfer::from_reference(&h, 1.0)?;
//! let rho = DVector::from_fn(64, |j, _| match j { 20 => 1.0, 40 => -0.5, _ => 0.0 });
//! let y = transfer.signal(&rho)?;
//! let method = Method::Tikhonov { penalty: Penalty::Identity, solver: Solver::Svd };
//! let fit = deconvolve(&y, &transfer, method, Choice::Fixed(1e-10), None)?;
//! assert!((fit.profile[20] - 1.0).abs() < 1e-3 && (fit.profile[40] + 0.5).abs() < 1e-3);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::f64::consts::{LN_2, PI};

use argmin::core::{CostFunction, Executor};
use argmin::solver::brent::{BrentOpt, BrentRoot};
use faer::Mat;
use nalgebra::{DMatrix, DVector};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex64;
use uqforge_core::{Error, Result, validate};

/// The impulse response of a PEA cell: the signal of a unit surface charge at the first sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    response: Vec<f64>,
}

impl Transfer {
    /// The response from a reference signal recorded without space charge, with the surface
    /// charge `surface_charge` on the first electrode (at the first sample).
    ///
    /// # Errors
    /// An empty or non-finite reference, an all-zero one, or a surface charge that is not
    /// positive and finite.
    pub fn from_reference(reference: &DVector<f64>, surface_charge: f64) -> Result<Self> {
        validate::non_empty("reference signal", reference.as_slice())?;
        validate::finite("reference signal", reference.as_slice())?;
        validate::positive("surface_charge", surface_charge)?;
        if reference.iter().all(|&v| v == 0.0) {
            return Err(Error::Degenerate {
                what: "reference signal".into(),
                reason: "it is zero everywhere, so it cannot calibrate the cell".into(),
            });
        }
        Ok(Self {
            response: reference.iter().map(|v| v / surface_charge).collect(),
        })
    }

    /// The response $h$, one value per sample.
    pub fn response(&self) -> &[f64] {
        &self.response
    }

    /// $h_j$, zero beyond the recorded response.
    fn at(&self, j: usize) -> f64 {
        self.response.get(j).copied().unwrap_or(0.0)
    }

    /// The noise-free signal $H\rho$ of a profile (as long as the profile).
    ///
    /// # Errors
    /// An empty or non-finite profile.
    pub fn signal(&self, profile: &DVector<f64>) -> Result<DVector<f64>> {
        validate::non_empty("profile", profile.as_slice())?;
        validate::finite("profile", profile.as_slice())?;
        let n = profile.len();
        Ok(DVector::from_fn(n, |i, _| {
            // Only the recorded response contributes: j >= i - (len - 1).
            (i.saturating_sub(self.response.len() - 1)..=i)
                .map(|j| self.response[i - j] * profile[j])
                .sum()
        }))
    }

    /// The $n\times n$ lower-triangular Toeplitz matrix $H$.
    pub fn matrix(&self, n: usize) -> DMatrix<f64> {
        DMatrix::from_fn(n, n, |i, j| if j <= i { self.at(i - j) } else { 0.0 })
    }
}

/// The regularisation operator $L$ of Tikhonov's method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Penalty {
    /// $L = I$: penalises the size of the profile.
    Identity,
    /// First differences: penalises the roughness of the profile.
    Difference,
}

/// How the regularised problem is diagonalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
    /// Discrete Fourier transform of the circular convolution.
    Fourier,
    /// Singular value decomposition of the exact (truncated) convolution.
    Svd,
}

/// A regularised deconvolution method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Tikhonov regularisation with the given penalty and solver.
    Tikhonov {
        /// The operator $L$.
        penalty: Penalty,
        /// Fourier or SVD.
        solver: Solver,
    },
    /// Wiener filtering with the estimated signal spectrum (Fourier).
    Wiener,
}

/// How $\lambda$ is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Choice {
    /// Generalised cross-validation.
    Gcv,
    /// The corner of the L-curve.
    LCurve,
    /// The discrepancy principle (needs the noise standard deviation).
    Discrepancy,
    /// Robust generalised cross-validation with the given $\gamma \in (0, 1]$ ($\gamma = 1$
    /// is GCV).
    RobustGcv(f64),
    /// A given value.
    Fixed(f64),
}

/// A deconvolved profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Deconvolution {
    /// The regularisation parameter used.
    pub lambda: f64,
    /// The profile, one value per signal sample.
    pub profile: DVector<f64>,
    /// $\lVert H\rho - y\rVert$.
    pub residual_norm: f64,
    /// $\lVert L\rho\rVert$ (for Wiener, the noise-weighted norm).
    pub penalty_norm: f64,
    /// $\sum_k f_k$, the effective number of parameters.
    pub effective_parameters: f64,
    /// The noise standard deviation used (given, or estimated for Wiener), if any.
    pub noise_sd: Option<f64>,
}

/// Deconvolves `signal` with `method`, choosing $\lambda$ by `choice`; `noise_sd` is the
/// standard deviation of the signal's noise when known.
///
/// # Errors
/// Bad input (empty or non-finite signal, a noise level or a fixed $\lambda$ that is not
/// positive), the discrepancy principle without a noise level or with a noise level above the
/// signal's own size, and an SVD that does not converge.
pub fn deconvolve(
    signal: &DVector<f64>,
    transfer: &Transfer,
    method: Method,
    choice: Choice,
    noise_sd: Option<f64>,
) -> Result<Deconvolution> {
    let d = Deconvolver::new(signal, transfer, method, noise_sd)?;
    let lambda = d.choose(choice)?;
    Ok(d.solve(lambda))
}

/// The data in the spectral basis of a method: everything $\lambda$ needs.
#[derive(Clone, Debug)]
pub struct Deconvolver {
    /// $s_k^2$.
    s2: Vec<f64>,
    /// $|\beta_k|^2$.
    beta2: Vec<f64>,
    /// $p_k$.
    p: Vec<f64>,
    basis: Basis,
    noise_sd: Option<f64>,
    wiener: bool,
}

#[derive(Clone, Debug)]
enum Basis {
    Fourier {
        /// Unitary DFT of the signal.
        y: Vec<Complex64>,
        /// DFT of the response.
        h: Vec<Complex64>,
    },
    Svd {
        /// $U^\top y$.
        beta: Vec<f64>,
        s: Vec<f64>,
        v: Mat<f64>,
        /// The unknown is $L\rho$: the profile is its cumulative sum.
        cumulative: bool,
    },
}

impl Deconvolver {
    /// Transforms the signal once for `method`.
    ///
    /// # Errors
    /// As [`deconvolve`], except the choice of $\lambda$.
    pub fn new(
        signal: &DVector<f64>,
        transfer: &Transfer,
        method: Method,
        noise_sd: Option<f64>,
    ) -> Result<Self> {
        validate::non_empty("signal", signal.as_slice())?;
        validate::finite("signal", signal.as_slice())?;
        validate::at_least("signal length", signal.len(), 2)?;
        if let Some(sd) = noise_sd {
            validate::positive("noise_sd", sd)?;
        }
        let n = signal.len();
        match method {
            Method::Tikhonov {
                penalty,
                solver: Solver::Fourier,
            } => {
                let (y, h) = spectra(signal, transfer);
                let p = (0..n)
                    .map(|k| match penalty {
                        Penalty::Identity => 1.0,
                        Penalty::Difference => 2.0 - 2.0 * (2.0 * PI * k as f64 / n as f64).cos(),
                    })
                    .collect();
                Ok(Self {
                    s2: h.iter().map(|c| c.norm_sqr()).collect(),
                    beta2: y.iter().map(|c| c.norm_sqr()).collect(),
                    p,
                    basis: Basis::Fourier { y, h },
                    noise_sd,
                    wiener: false,
                })
            }
            Method::Wiener => {
                let (y, h) = spectra(signal, transfer);
                let power: Vec<f64> = y.iter().map(|c| c.norm_sqr()).collect();
                let sd = match noise_sd {
                    Some(sd) => sd,
                    None => high_frequency_sd(&power)?,
                };
                let var = sd * sd;
                let w = (n / 64).max(2);
                let smooth = smoothed(&power, w);
                // A periodogram averaged over 2w + 1 frequencies has relative standard
                // deviation 1/sqrt(2w + 1): below two of them above the noise, no signal.
                let floor = var * (1.0 + 2.0 / ((2 * w + 1) as f64).sqrt());
                let s2: Vec<f64> = h.iter().map(|c| c.norm_sqr()).collect();
                let p = smooth
                    .iter()
                    .zip(&s2)
                    .map(|(&pk, &s2k)| {
                        if pk > floor {
                            var * s2k / (pk - floor)
                        } else {
                            f64::INFINITY
                        }
                    })
                    .collect();
                Ok(Self {
                    s2,
                    beta2: power,
                    p,
                    basis: Basis::Fourier { y, h },
                    noise_sd: Some(sd),
                    wiener: true,
                })
            }
            Method::Tikhonov {
                penalty,
                solver: Solver::Svd,
            } => {
                let cumulative = penalty == Penalty::Difference;
                let mut column = transfer.response().to_vec();
                column.resize(n, 0.0);
                if cumulative {
                    for j in 1..n {
                        column[j] += column[j - 1];
                    }
                }
                let a = Mat::<f64>::from_fn(n, n, |i, j| if j <= i { column[i - j] } else { 0.0 });
                let svd = a.svd().map_err(|e| Error::DidNotConverge {
                    what: format!("SVD of the {n} x {n} convolution matrix ({e:?})"),
                    iterations: 0,
                    residual: f64::NAN,
                })?;
                let (u, v) = (svd.U(), svd.V());
                let s: Vec<f64> = (0..n).map(|k| svd.S()[k]).collect();
                let beta: Vec<f64> = (0..n)
                    .map(|k| (0..n).map(|i| u[(i, k)] * signal[i]).sum())
                    .collect();
                Ok(Self {
                    s2: s.iter().map(|s| s * s).collect(),
                    beta2: beta.iter().map(|b| b * b).collect(),
                    p: vec![1.0; n],
                    basis: Basis::Svd {
                        beta,
                        s,
                        v: v.to_owned(),
                        cumulative,
                    },
                    noise_sd,
                    wiener: false,
                })
            }
        }
    }

    /// The number of data $m$.
    fn m(&self) -> f64 {
        self.s2.len() as f64
    }

    /// $(f_k, 1 - f_k)$ at $\lambda$, the second without cancellation (GCV divides by its sum).
    fn filter(&self, lambda: f64, k: usize) -> (f64, f64) {
        let (s2, lp) = (self.s2[k], lambda * self.p[k]);
        if s2 == 0.0 || lp == f64::INFINITY {
            (0.0, 1.0)
        } else {
            (s2 / (s2 + lp), lp / (s2 + lp))
        }
    }

    /// $(R, P, m - \sum f_k, P', \sum f_k^2)$ at $\lambda$.
    fn norms(&self, lambda: f64) -> (f64, f64, f64, f64, f64) {
        let (mut r, mut pen, mut free, mut dpen, mut f2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for k in 0..self.s2.len() {
            let (f, g) = self.filter(lambda, k);
            let b2 = self.beta2[k];
            r += g * g * b2;
            free += g;
            f2 += f * f;
            if f > 0.0 {
                let x2 = self.p[k] * b2 / self.s2[k];
                pen += f * f * x2;
                dpen -= 2.0 / lambda * g * f * f * x2;
            }
        }
        (r, pen, free, dpen, f2)
    }

    /// The generalised cross-validation function $G(\lambda)$.
    pub fn gcv(&self, lambda: f64) -> f64 {
        let (r, _, free, _, _) = self.norms(lambda);
        self.m() * r / (free * free)
    }

    /// Lukas's robust GCV, $G(\lambda)(\gamma + (1 - \gamma)\operatorname{tr}(A_\lambda^2)/m)$
    /// with the influence matrix $A_\lambda$: $\operatorname{tr}A_\lambda^2 = \sum_k f_k^2$.
    pub fn robust_gcv(&self, lambda: f64, gamma: f64) -> f64 {
        let (r, _, free, _, f2) = self.norms(lambda);
        let m = self.m();
        m * r / (free * free) * (gamma + (1.0 - gamma) * f2 / m)
    }

    /// The curvature of the L-curve $(\log\lVert r\rVert, \log\lVert L\rho\rVert)$ at $\lambda$
    /// (positive at the corner).
    ///
    /// With $l = \sqrt\lambda$, $\rho = R$, $\eta = P$ and $\eta' = d\eta/dl$, Tikhonov's
    /// $d\rho/dl = -l^2\eta'$ removes the second derivatives (as in Hansen's `lcfun`):
    /// $$
    /// \kappa = -\frac{2\rho\eta}{\eta'}\frac{l^2\eta'\rho + 2l\rho\eta + l^4\eta\eta'}
    /// {(l^4\eta^2 + \rho^2)^{3/2}}.
    /// $$
    pub fn curvature(&self, lambda: f64) -> f64 {
        let (rho, eta, _, dpen, _) = self.norms(lambda);
        let l = lambda.sqrt();
        let deta = 2.0 * l * dpen;
        -2.0 * rho * eta / deta
            * (lambda * deta * rho + 2.0 * l * rho * eta + lambda * lambda * eta * deta)
            / (lambda * lambda * eta * eta + rho * rho).powf(1.5)
    }

    /// The squared residual norm $R(\lambda)$.
    pub fn residual(&self, lambda: f64) -> f64 {
        self.norms(lambda).0
    }

    /// The range of $\lambda$ searched by the automatic choices: from the square of the
    /// smallest singular value above the numerical rank threshold $m\varepsilon s_{max}$ (at
    /// least $10^{-14}s_{max}^2$) to $10^2 s_{max}^2$; for Wiener, $10^{-4}$ to $10^4$ around the
    /// classical filter. Below the numerically null singular values the criteria only see
    /// rounding and the residual of the null space, which makes spurious minima and corners.
    pub fn lambda_range(&self) -> (f64, f64) {
        if self.wiener {
            return (1e-4, 1e4);
        }
        let top = self.s2.iter().copied().fold(0.0, f64::max);
        let threshold = (self.m() * f64::EPSILON).powi(2) * top;
        let smallest = self
            .s2
            .iter()
            .copied()
            .filter(|&s2| s2 > threshold)
            .fold(top, f64::min);
        (smallest.max(1e-14 * top), 1e2 * top)
    }

    /// $\lambda$ by `choice`.
    ///
    /// # Errors
    /// A fixed $\lambda$ that is not positive and finite, and the discrepancy principle without
    /// a noise level, or with one that the residual cannot reach in the searched range.
    pub fn choose(&self, choice: Choice) -> Result<f64> {
        let (lo, hi) = self.lambda_range();
        let (a, b) = (lo.ln(), hi.ln());
        match choice {
            Choice::Fixed(lambda) => {
                validate::positive("lambda", lambda)?;
                Ok(lambda)
            }
            Choice::Gcv => minimise(|t| self.gcv(t.exp()).ln(), a, b).map(f64::exp),
            Choice::RobustGcv(gamma) => {
                validate::in_range("gamma", gamma, f64::MIN_POSITIVE, 1.0)?;
                minimise(|t| self.robust_gcv(t.exp(), gamma).ln(), a, b).map(f64::exp)
            }
            Choice::LCurve => minimise(|t| -self.curvature(t.exp()), a, b).map(f64::exp),
            Choice::Discrepancy => {
                let Some(sd) = self.noise_sd else {
                    return Err(Error::invalid_parameter(
                        "noise_sd",
                        "the discrepancy principle needs the noise standard deviation",
                    ));
                };
                let target = self.m() * sd * sd;
                let (r_lo, r_hi) = (self.residual(lo), self.residual(hi));
                if !(r_lo < target && target < r_hi) {
                    return Err(Error::Degenerate {
                        what: "discrepancy principle".into(),
                        reason: format!(
                            "the residual norm {:.3e}..{:.3e} over lambda in [{lo:.1e}, {hi:.1e}] \
                             never equals sqrt(n) * noise_sd = {:.3e}: is the noise level right?",
                            r_lo.sqrt(),
                            r_hi.sqrt(),
                            target.sqrt()
                        ),
                    });
                }
                root(|t| (self.residual(t.exp()) / target).ln(), a, b).map(f64::exp)
            }
        }
    }

    /// The regularised profile at $\lambda$, with its norms.
    pub fn solve(&self, lambda: f64) -> Deconvolution {
        let n = self.s2.len();
        let profile = match &self.basis {
            Basis::Fourier { y, h } => {
                let mut x: Vec<Complex64> = (0..n)
                    .map(|k| {
                        let (f, _) = self.filter(lambda, k);
                        if f == 0.0 {
                            Complex64::new(0.0, 0.0)
                        } else {
                            f * y[k] / h[k]
                        }
                    })
                    .collect();
                FftPlanner::new().plan_fft_inverse(n).process(&mut x);
                let scale = 1.0 / (n as f64).sqrt();
                DVector::from_fn(n, |i, _| x[i].re * scale)
            }
            Basis::Svd {
                beta,
                s,
                v,
                cumulative,
            } => {
                let c: Vec<f64> = (0..n)
                    .map(|k| {
                        if s[k] == 0.0 {
                            0.0
                        } else {
                            self.filter(lambda, k).0 * beta[k] / s[k]
                        }
                    })
                    .collect();
                let mut x = DVector::from_fn(n, |i, _| (0..n).map(|k| v[(i, k)] * c[k]).sum());
                if *cumulative {
                    for i in 1..n {
                        x[i] += x[i - 1];
                    }
                }
                x
            }
        };
        let (r, pen, free, _, _) = self.norms(lambda);
        Deconvolution {
            lambda,
            profile,
            residual_norm: r.sqrt(),
            penalty_norm: pen.sqrt(),
            effective_parameters: self.m() - free,
            noise_sd: self.noise_sd,
        }
    }
}

/// Unitary DFT of the signal and plain DFT of the response (zero-padded or cut to its length).
fn spectra(signal: &DVector<f64>, transfer: &Transfer) -> (Vec<Complex64>, Vec<Complex64>) {
    let n = signal.len();
    let fft = FftPlanner::new().plan_fft_forward(n);
    let scale = 1.0 / (n as f64).sqrt();
    let mut y: Vec<Complex64> = signal
        .iter()
        .map(|&v| Complex64::new(v * scale, 0.0))
        .collect();
    fft.process(&mut y);
    let mut h: Vec<Complex64> = (0..n)
        .map(|j| Complex64::new(transfer.at(j), 0.0))
        .collect();
    fft.process(&mut h);
    (y, h)
}

/// $\hat\sigma$ from the median periodogram over the top quarter of the frequencies.
fn high_frequency_sd(power: &[f64]) -> Result<f64> {
    let n = power.len();
    let mut top: Vec<f64> = (0..n)
        .filter(|&k| {
            let f = k.min(n - k) as f64 / n as f64;
            f >= 0.375
        })
        .map(|k| power[k])
        .collect();
    if top.is_empty() {
        return Err(Error::invalid_parameter(
            "noise_sd",
            "the signal is too short to estimate its noise level: give it",
        ));
    }
    top.sort_by(f64::total_cmp);
    let median = top[top.len() / 2];
    if median <= 0.0 {
        return Err(Error::Degenerate {
            what: "noise level of the signal".into(),
            reason: "its high frequencies are zero: give the noise standard deviation".into(),
        });
    }
    Ok((median / LN_2).sqrt())
}

/// Circular moving average of half-width `w`.
fn smoothed(power: &[f64], w: usize) -> Vec<f64> {
    let n = power.len();
    let w = w.min((n - 1) / 2);
    (0..n)
        .map(|k| {
            let sum: f64 = (0..=2 * w).map(|o| power[(k + n + o - w) % n]).sum();
            sum / (2 * w + 1) as f64
        })
        .collect()
}

struct Scalar<F>(F);

impl<F: Fn(f64) -> f64> CostFunction for Scalar<F> {
    type Param = f64;
    type Output = f64;
    fn cost(&self, t: &f64) -> std::result::Result<f64, argmin::core::Error> {
        Ok((self.0)(*t))
    }
}

/// The minimiser of `f` on `[a, b]`: the best of 97 grid points, refined by Brent's method
/// between its neighbours (the criteria can have several local minima).
fn minimise(f: impl Fn(f64) -> f64, a: f64, b: f64) -> Result<f64> {
    const GRID: usize = 97;
    let step = (b - a) / (GRID - 1) as f64;
    let values: Vec<f64> = (0..GRID).map(|i| f(a + step * i as f64)).collect();
    let best = (0..GRID)
        .filter(|&i| values[i].is_finite())
        .min_by(|&i, &j| values[i].total_cmp(&values[j]))
        .ok_or_else(|| Error::Degenerate {
            what: "choice of lambda".into(),
            reason: "the criterion is not finite anywhere in the searched range".into(),
        })?;
    let lo = a + step * best.saturating_sub(1) as f64;
    let hi = a + step * (best + 1).min(GRID - 1) as f64;
    let result = Executor::new(Scalar(&f), BrentOpt::new(lo, hi).set_tolerance(1e-8, 1e-6))
        .configure(|s| s.max_iters(100))
        .run()
        .map_err(|e| Error::DidNotConverge {
            what: format!("Brent minimisation of the lambda criterion ({e})"),
            iterations: 100,
            residual: f64::NAN,
        })?;
    let t = result.state().best_param.unwrap_or(a + step * best as f64);
    // Brent may stop on a worse point than the grid's best when the criterion is flat.
    Ok(if f(t) <= values[best] {
        t
    } else {
        a + step * best as f64
    })
}

/// The root of the increasing `f` on `[a, b]` (signs differ at the ends).
fn root(f: impl Fn(f64) -> f64, a: f64, b: f64) -> Result<f64> {
    let result = Executor::new(Scalar(&f), BrentRoot::new(a, b, 1e-10))
        .configure(|s| s.max_iters(200))
        .run()
        .map_err(|e| Error::DidNotConverge {
            what: format!("Brent root of the discrepancy equation ({e})"),
            iterations: 200,
            residual: f64::NAN,
        })?;
    result
        .state()
        .best_param
        .ok_or_else(|| Error::DidNotConverge {
            what: "Brent root of the discrepancy equation".into(),
            iterations: 200,
            residual: f64::NAN,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pulse(n: usize) -> Transfer {
        let h = DVector::from_fn(n.min(24), |i, _| {
            let x = i as f64;
            (-0.5 * ((x - 3.0) / 1.5).powi(2)).exp()
                - 0.3 * (-0.5 * ((x - 8.0) / 3.0).powi(2)).exp()
        });
        Transfer::from_reference(&h, 1.0).unwrap()
    }

    fn data(n: usize) -> DVector<f64> {
        DVector::from_fn(n, |i, _| {
            (0.37 * i as f64).sin() + 0.1 * (1.3 * i as f64).cos()
        })
    }

    /// The regularised solution and influence matrix from the normal equations, densely.
    fn dense(
        a: &DMatrix<f64>,
        l: &DMatrix<f64>,
        y: &DVector<f64>,
        lambda: f64,
    ) -> (DVector<f64>, DMatrix<f64>) {
        let normal = a.transpose() * a + lambda * l.transpose() * l;
        let inv = normal.try_inverse().unwrap();
        (&inv * a.transpose() * y, a * inv * a.transpose())
    }

    fn difference(n: usize, circular: bool) -> DMatrix<f64> {
        DMatrix::from_fn(n, n, |i, j| {
            if i == j {
                1.0
            } else if j + 1 == i || (circular && i == 0 && j == n - 1) {
                -1.0
            } else {
                0.0
            }
        })
    }

    #[test]
    fn signal_is_the_toeplitz_product() {
        let t = pulse(40);
        let rho = data(40);
        let y = t.signal(&rho).unwrap();
        assert!((y - t.matrix(40) * rho).amax() < 1e-13);
    }

    #[test]
    fn svd_solutions_and_gcv_match_the_normal_equations() {
        let n = 40;
        let t = pulse(n);
        let y = data(n);
        let h = t.matrix(n);
        for (penalty, l) in [
            (Penalty::Identity, DMatrix::identity(n, n)),
            (Penalty::Difference, difference(n, false)),
        ] {
            let d = Deconvolver::new(
                &y,
                &t,
                Method::Tikhonov {
                    penalty,
                    solver: Solver::Svd,
                },
                None,
            )
            .unwrap();
            for lambda in [1e-3, 0.1, 10.0] {
                let (x, a) = dense(&h, &l, &y, lambda);
                let fit = d.solve(lambda);
                assert!(
                    (&fit.profile - &x).amax() < 1e-8 * x.amax(),
                    "{penalty:?} {lambda}"
                );
                let r = &y - &h * &x;
                assert!((fit.residual_norm - r.norm()).abs() < 1e-8 * r.norm());
                assert!((fit.penalty_norm - (&l * &x).norm()).abs() < 1e-8 * (&l * &x).norm());
                assert!((fit.effective_parameters - a.trace()).abs() < 1e-8 * n as f64);
                let gcv = n as f64 * r.norm_squared() / (n as f64 - a.trace()).powi(2);
                assert!((d.gcv(lambda) - gcv).abs() < 1e-8 * gcv);
                let a2 = (&a * &a).trace() / n as f64;
                let rgcv = gcv * (0.2 + 0.8 * a2);
                assert!((d.robust_gcv(lambda, 0.2) - rgcv).abs() < 1e-8 * rgcv);
            }
        }
    }

    #[test]
    fn fourier_solutions_match_the_circulant_normal_equations() {
        let n = 36;
        let t = pulse(n);
        let y = data(n);
        let circulant = DMatrix::from_fn(n, n, |i, j| t.at((i + n - j) % n));
        for (penalty, l) in [
            (Penalty::Identity, DMatrix::identity(n, n)),
            (Penalty::Difference, difference(n, true)),
        ] {
            let d = Deconvolver::new(
                &y,
                &t,
                Method::Tikhonov {
                    penalty,
                    solver: Solver::Fourier,
                },
                None,
            )
            .unwrap();
            for lambda in [1e-3, 1.0] {
                let (x, a) = dense(&circulant, &l, &y, lambda);
                let fit = d.solve(lambda);
                assert!(
                    (&fit.profile - &x).amax() < 1e-9 * x.amax(),
                    "{penalty:?} {lambda}"
                );
                assert!(
                    (fit.residual_norm - (&y - &circulant * &x).norm()).abs() < 1e-9 * y.norm()
                );
                assert!((fit.effective_parameters - a.trace()).abs() < 1e-9 * n as f64);
            }
        }
    }

    #[test]
    fn curvature_is_that_of_the_log_log_curve() {
        // Hansen's closed form against finite differences of (log ||r||, log ||L x||) in t = log lambda.
        let n = 40;
        let t = pulse(n);
        let y = data(n);
        let d = Deconvolver::new(
            &y,
            &t,
            Method::Tikhonov {
                penalty: Penalty::Identity,
                solver: Solver::Svd,
            },
            None,
        )
        .unwrap();
        let point = |t: f64| {
            let fit = d.solve(t.exp());
            (fit.residual_norm.ln(), fit.penalty_norm.ln())
        };
        for lambda in [1e-3_f64, 1e-2, 0.3] {
            let (t0, e) = (lambda.ln(), 1e-3);
            let ((x0, y0), (xm, ym), (xp, yp)) = (point(t0), point(t0 - e), point(t0 + e));
            let (dx, dy) = ((xp - xm) / (2.0 * e), (yp - ym) / (2.0 * e));
            let (ddx, ddy) = (
                (xp - 2.0 * x0 + xm) / (e * e),
                (yp - 2.0 * y0 + ym) / (e * e),
            );
            let numeric = (dx * ddy - ddx * dy) / (dx * dx + dy * dy).powf(1.5);
            let closed = d.curvature(lambda);
            assert!(
                (closed - numeric).abs() < 1e-4 * numeric.abs().max(1.0),
                "{lambda}: {closed} vs {numeric}"
            );
        }
    }

    #[test]
    fn discrepancy_meets_the_noise_level_and_wiener_estimates_it() {
        let n = 256;
        let t = pulse(n);
        let rho = DVector::from_fn(n, |j, _| (-0.5 * ((j as f64 - 100.0) / 12.0).powi(2)).exp());
        let mut rng = uqforge_core::rng::stream(7, 0);
        let sd = 0.01;
        let y = t.signal(&rho).unwrap()
            + DVector::from_fn(n, |_, _| sd * uqforge_core::rng::standard_normal(&mut rng));
        let method = Method::Tikhonov {
            penalty: Penalty::Difference,
            solver: Solver::Fourier,
        };
        let fit = deconvolve(&y, &t, method, Choice::Discrepancy, Some(sd)).unwrap();
        assert!((fit.residual_norm - (n as f64).sqrt() * sd).abs() < 1e-8);
        // Without a given level, the Wiener filter reads it off the high frequencies.
        let wiener = Deconvolver::new(&y, &t, Method::Wiener, None).unwrap();
        let estimated = wiener.noise_sd.unwrap();
        assert!((estimated / sd - 1.0).abs() < 0.2, "{estimated}");
    }

    #[test]
    fn bad_input_is_refused() {
        let t = pulse(16);
        let y = data(16);
        let m = Method::Tikhonov {
            penalty: Penalty::Identity,
            solver: Solver::Fourier,
        };
        assert!(Transfer::from_reference(&DVector::zeros(4), 1.0).is_err());
        assert!(Transfer::from_reference(&DVector::from_element(4, 1.0), 0.0).is_err());
        assert!(Transfer::from_reference(&DVector::from_vec(vec![1.0, f64::NAN]), 1.0).is_err());
        assert!(deconvolve(&DVector::zeros(0), &t, m, Choice::Gcv, None).is_err());
        let mut nan = y.clone();
        nan[3] = f64::NAN;
        assert!(deconvolve(&nan, &t, m, Choice::Gcv, None).is_err());
        assert!(deconvolve(&y, &t, m, Choice::Fixed(-1.0), None).is_err());
        assert!(deconvolve(&y, &t, m, Choice::RobustGcv(0.0), None).is_err());
        assert!(deconvolve(&y, &t, m, Choice::Gcv, Some(-0.1)).is_err());
        let e = deconvolve(&y, &t, m, Choice::Discrepancy, None).unwrap_err();
        assert!(e.to_string().contains("noise standard deviation"), "{e}");
        // A noise level far above the signal cannot be met.
        assert!(deconvolve(&y, &t, m, Choice::Discrepancy, Some(1e3)).is_err());
    }
}
