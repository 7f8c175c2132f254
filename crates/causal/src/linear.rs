//! Least squares with heteroskedasticity-consistent (HC0–HC3) covariances.
//!
//! For a design $X \in \mathbb R^{n \times k}$ (rows = units) and outcomes $y$, ordinary least
//! squares gives $\hat\beta = (X^\top X)^{-1} X^\top y$, residuals $\hat u = y - X\hat\beta$ and
//! leverages $h_i = x_i^\top (X^\top X)^{-1} x_i$. The sandwich covariance is
//!
//! $$ \widehat V = (X^\top X)^{-1} \Big(\sum_i \omega_i\thinspace x_i x_i^\top\Big) (X^\top X)^{-1}, $$
//!
//! with, following MacKinnon & White (1985) and Long & Ervin (2000),
//!
//! | type | $\omega_i$ | note |
//! |------|-----------|------|
//! | HC0 | $\hat u_i^2$ | White (1980) |
//! | HC1 | $\frac{n}{n-k}\hat u_i^2$ | Stata's `robust` |
//! | HC2 | $\hat u_i^2 / (1-h_i)$ | unbiased under homoskedasticity; R `estimatr`'s default |
//! | HC3 | $\hat u_i^2 / (1-h_i)^2$ | jackknife-like |
//!
//! HC2 of the regression of $Y$ on $(1, T)$ is exactly Neyman's variance estimator
//! $s_1^2/n_1 + s_0^2/n_0$ of the difference in means, which is why it is the default here.
//!
//! Numerics: columns are scaled to unit root mean square before the Gram matrix is formed and
//! factorised by Cholesky, so earnings in dollars next to indicators cost no accuracy; a column
//! that its predecessors explain to within $10^{-10}$ of its norm is reported as collinear (a
//! constant covariate is the usual culprit) instead of producing meaningless numbers.
//! Cost: $O(nk^2)$ time and one scaled copy of $X$.
//!
//! ```
//! use nalgebra::{DMatrix, DVector};
//! use uqforge_causal::linear::{HcType, LeastSquares};
//! // y = 1 + 2 x exactly: the fit recovers the line and the residuals vanish.
//! let x = DMatrix::from_row_slice(4, 2, &[1.0, 0.0, 1.0, 1.0, 1.0, 2.0, 1.0, 3.0]);
//! let y = DVector::from_vec(vec![1.0, 3.0, 5.0, 7.0]);
//! let fit = LeastSquares::fit(&x, &y, 0.0)?;
//! assert!((fit.coefficients()[1] - 2.0).abs() < 1e-12);
//! assert!(fit.covariance(HcType::Hc2)?.abs().max() < 1e-20);
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{Cholesky, DMatrix, DMatrixView, DVector, DVectorView, Dyn};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

/// Which heteroskedasticity-consistent covariance to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HcType {
    /// White's estimator, $\omega_i = \hat u_i^2$.
    Hc0,
    /// Degrees-of-freedom scaled, $\omega_i = \frac{n}{n-k}\hat u_i^2$.
    Hc1,
    /// Leverage corrected, $\omega_i = \hat u_i^2/(1-h_i)$ (the default).
    #[default]
    Hc2,
    /// Squared leverage correction, $\omega_i = \hat u_i^2/(1-h_i)^2$.
    Hc3,
}

impl HcType {
    /// Parse `hc0`…`hc3` (case-insensitive).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "hc0" => Ok(Self::Hc0),
            "hc1" => Ok(Self::Hc1),
            "hc2" => Ok(Self::Hc2),
            "hc3" => Ok(Self::Hc3),
            _ => Err(Error::invalid_parameter(
                "se",
                format!("expected hc0, hc1, hc2 or hc3, got `{s}`"),
            )),
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hc0 => "hc0",
            Self::Hc1 => "hc1",
            Self::Hc2 => "hc2",
            Self::Hc3 => "hc3",
        }
    }
}

/// Column scaling and Cholesky factor of the scaled Gram matrix, shared by least squares and
/// logistic regression.
#[derive(Debug, Clone)]
pub(crate) struct Scaled {
    /// $Z = X D^{-1}$, columns of unit root mean square.
    pub(crate) z: DMatrix<f64>,
    /// The scales $D$.
    pub(crate) scale: DVector<f64>,
}

impl Scaled {
    /// `penalised`: a ridge penalty will make the Gram matrix regular, so an all-zero column
    /// (a rare level absent from a training fold) is kept, with scale 1, instead of refused.
    pub(crate) fn new(x: &DMatrix<f64>, penalised: bool) -> Result<Self> {
        let (n, k) = x.shape();
        if n == 0 {
            return Err(Error::EmptyInput {
                what: "regression design".into(),
            });
        }
        if n <= k {
            return Err(Error::degenerate(
                "regression",
                format!("{n} units cannot identify {k} coefficients"),
            ));
        }
        let mut z = x.clone();
        let mut scale = DVector::zeros(k);
        for (j, mut col) in z.column_iter_mut().enumerate() {
            let rms = (col.norm_squared() / n as f64).sqrt();
            if rms == 0.0 {
                if !penalised {
                    return Err(collinear(j));
                }
                scale[j] = 1.0;
                continue;
            }
            col /= rms;
            scale[j] = rms;
        }
        Ok(Self { z, scale })
    }

    /// Cholesky of $A / n$ with a collinearity check on the pivots ($A$ is a Gram matrix of
    /// unit-RMS columns, possibly weighted, so its diagonal over $n$ is of order one).
    pub(crate) fn factor(a: DMatrix<f64>, n: usize) -> Result<Cholesky<f64, Dyn>> {
        let scaled = &a / n as f64;
        if let Some(j) = first_collinear_column(&scaled) {
            return Err(collinear(j));
        }
        Cholesky::new(scaled).ok_or_else(|| collinear(usize::MAX))
    }
}

/// The first column whose Cholesky pivot is below $10^{-10}$ of its diagonal, i.e. which the
/// previous columns explain up to $R^2 > 1 - 10^{-10}$ (an $O(k^3)$ pass, $k$ is small).
fn first_collinear_column(a: &DMatrix<f64>) -> Option<usize> {
    let k = a.nrows();
    let mut l = DMatrix::<f64>::zeros(k, k);
    for j in 0..k {
        let d = a[(j, j)] - (0..j).map(|m| l[(j, m)] * l[(j, m)]).sum::<f64>();
        // Written so that a NaN pivot also counts as collinear.
        if d.partial_cmp(&(1e-10 * a[(j, j)])) != Some(std::cmp::Ordering::Greater) {
            return Some(j);
        }
        let djj = d.sqrt();
        l[(j, j)] = djj;
        for i in j + 1..k {
            let s = a[(i, j)] - (0..j).map(|m| l[(i, m)] * l[(j, m)]).sum::<f64>();
            l[(i, j)] = s / djj;
        }
    }
    None
}

/// Rows per block of [`gram`]: a block of a 21-column design is 170 KiB and stays in cache.
const GRAM_BLOCK: usize = 1024;

/// $Z^\top \operatorname{diag}(w) Z$ ($Z^\top Z$ without weights), accumulated over row blocks
/// in parallel and summed in block order, so the result does not depend on the thread count.
///
/// Blocking matters: a column-by-column product streams every column of a million-row design
/// from memory once per pair of columns; per block, the columns stay in cache and the product
/// is a small matrix multiplication (matrixmultiply's SIMD kernel).
pub(crate) fn gram(z: DMatrixView<'_, f64>, w: Option<DVectorView<'_, f64>>) -> DMatrix<f64> {
    let (n, k) = z.shape();
    let blocks: Vec<DMatrix<f64>> = (0..n.div_ceil(GRAM_BLOCK))
        .into_par_iter()
        .map(|b| {
            let start = b * GRAM_BLOCK;
            let view = z.rows(start, GRAM_BLOCK.min(n - start));
            let mut left = view.transpose();
            if let Some(w) = &w {
                for (mut col, wi) in left
                    .column_iter_mut()
                    .zip(w.rows(start, view.nrows()).iter())
                {
                    col *= *wi;
                }
            }
            left * view
        })
        .collect();
    let mut g = DMatrix::zeros(k, k);
    for b in blocks {
        g += b;
    }
    g
}

fn collinear(j: usize) -> Error {
    let which = if j == usize::MAX {
        "the design".to_string()
    } else {
        format!("design column {j}")
    };
    Error::degenerate(
        "regression",
        format!(
            "{which} is constant or a linear combination of the other columns (collinear); \
             drop it"
        ),
    )
}

/// An ordinary (or ridge) least-squares fit.
#[derive(Debug, Clone)]
pub struct LeastSquares {
    scaled: Scaled,
    chol: Cholesky<f64, Dyn>,
    coef: DVector<f64>,
    resid: DVector<f64>,
}

impl LeastSquares {
    /// Fit $y$ on the columns of `x` (include a column of ones for an intercept). A positive
    /// `ridge` adds $\lambda n$ to the diagonal of the scaled Gram matrix for every column but
    /// the first (the intercept by convention).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::EmptyInput`], [`Error::InvalidParameter`] for a
    /// negative ridge, [`Error::Degenerate`] for collinear or constant columns or $n \le k$.
    pub fn fit(x: &DMatrix<f64>, y: &DVector<f64>, ridge: f64) -> Result<Self> {
        uqforge_core::validate::len("regression outcomes", x.nrows(), y.len())?;
        if !(ridge >= 0.0 && ridge.is_finite()) {
            return Err(Error::invalid_parameter(
                "ridge",
                format!("must be finite and >= 0, got {ridge}"),
            ));
        }
        let n = x.nrows();
        let scaled = Scaled::new(x, ridge > 0.0)?;
        let mut gram = gram(scaled.z.as_view(), None);
        for j in 1..gram.ncols() {
            gram[(j, j)] += ridge * n as f64;
        }
        let chol = Scaled::factor(gram, n)?;
        let coef_z = chol.solve(&(scaled.z.tr_mul(y) / n as f64));
        let resid = y - &scaled.z * &coef_z;
        let coef = coef_z.component_div(&scaled.scale);
        Ok(Self {
            scaled,
            chol,
            coef,
            resid,
        })
    }

    /// $\hat\beta$, in the units of the original columns.
    pub fn coefficients(&self) -> &DVector<f64> {
        &self.coef
    }

    /// Residuals $\hat u = y - X\hat\beta$.
    pub fn residuals(&self) -> &DVector<f64> {
        &self.resid
    }

    /// Predictions $X_{\text{new}}\hat\beta$.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a wrong number of columns.
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<DVector<f64>> {
        uqforge_core::validate::len("prediction design columns", self.coef.len(), x.ncols())?;
        Ok(x * &self.coef)
    }

    /// Leverages $h_i = x_i^\top (X^\top X)^{-1} x_i$.
    pub fn leverages(&self) -> DVector<f64> {
        let n = self.scaled.z.nrows() as f64;
        // h_i = z_i' (Z'Z)^{-1} z_i = |L^{-1} z_i|^2 / n with L L' = Z'Z / n.
        let mut w = self.scaled.z.transpose();
        self.chol.l_dirty().solve_lower_triangular_mut(&mut w);
        DVector::from_iterator(
            w.ncols(),
            w.column_iter().map(|c| {
                // l_dirty's strict upper part is garbage: only the lower triangle was used.
                c.norm_squared() / n
            }),
        )
    }

    /// The sandwich covariance of $\hat\beta$ of the given type.
    ///
    /// # Errors
    /// [`Error::Degenerate`] for HC2 and HC3 when a unit has leverage 1 (it alone determines a
    /// coefficient, e.g. the only treated unit at some covariate level in an interacted model):
    /// its residual is 0 and $\hat u_i^2/(1-h_i)$ is undefined. HC0 and HC1 remain available.
    pub fn covariance(&self, hc: HcType) -> Result<DMatrix<f64>> {
        let (n, k) = self.scaled.z.shape();
        let omega: DVector<f64> = match hc {
            HcType::Hc0 => self.resid.map(|u| u * u),
            HcType::Hc1 => self.resid.map(|u| u * u * n as f64 / (n - k) as f64),
            HcType::Hc2 | HcType::Hc3 => {
                let h = self.leverages();
                if let Some(i) = h.iter().position(|&h| h > 1.0 - 1e-8) {
                    return Err(Error::degenerate(
                        "regression",
                        format!(
                            "unit {i} has leverage 1 (it alone determines a coefficient, e.g. \
                             the only unit of an arm at some covariate level), so {} is \
                             undefined; use hc0 or hc1, or drop that covariate",
                            hc.name()
                        ),
                    ));
                }
                let pow = if hc == HcType::Hc2 { 1 } else { 2 };
                DVector::from_iterator(
                    n,
                    self.resid
                        .iter()
                        .zip(h.iter())
                        .map(|(u, h)| u * u / (1.0 - h).powi(pow)),
                )
            }
        };
        let meat = gram(self.scaled.z.as_view(), Some(omega.as_view())) / (n as f64 * n as f64);
        let bread = self.chol.inverse();
        let v = &bread * meat * &bread;
        // Back to the original columns: beta = D^{-1} beta_z.
        Ok(DMatrix::from_fn(k, k, |a, b| {
            v[(a, b)] / (self.scaled.scale[a] * self.scaled.scale[b])
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hc2_of_dummy_regression_is_neyman() {
        // Regressing on (1, T) with HC2 gives s1^2/n1 + s0^2/n0 exactly.
        let t = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let y = DVector::from_vec(vec![3.0, 5.0, 4.5, 1.0, 2.5, 0.5, 2.0]);
        let x = DMatrix::from_fn(7, 2, |i, j| if j == 0 { 1.0 } else { t[i] });
        let fit = LeastSquares::fit(&x, &y, 0.0).unwrap();
        let var = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
        };
        let neyman = var(&[3.0, 5.0, 4.5]) / 3.0 + var(&[1.0, 2.5, 0.5, 2.0]) / 4.0;
        let v = fit.covariance(HcType::Hc2).unwrap();
        assert!((v[(1, 1)] - neyman).abs() < 1e-12 * neyman);
        // Leverages of a dummy regression are 1/n_arm.
        let h = fit.leverages();
        assert!((h[0] - 1.0 / 3.0).abs() < 1e-12 && (h[5] - 0.25).abs() < 1e-12);
    }

    #[test]
    fn constant_covariate_is_refused() {
        let x = DMatrix::from_fn(6, 3, |i, j| match j {
            0 => 1.0,
            1 => i as f64,
            _ => 4.0,
        });
        let y = DVector::from_fn(6, |i, _| i as f64);
        let err = LeastSquares::fit(&x, &y, 0.0).unwrap_err();
        assert!(err.to_string().contains("column 2"), "{err}");
    }
}
