//! Simulation: unconditional fields on a grid, conditional simulation given data, and linear
//! constraints by conditioning by kriging.
//!
//! **Unconditional.** $x = L^{-\top} z$ with $P Q P^\top = L L^\top$ and $z \sim N(0, I)$
//! ([`crate::factor::Cholesky::sample`]). [`field_on_unit_square`] does it on a regular mesh that
//! extends one range beyond the unit square (so that the boundary's variance inflation stays
//! outside) and reads the field at the grid points through the observation matrix.
//!
//! **Conditional on data.** With $x^\ast \sim N(0, Q^{-1})$ and $y^\ast = A x^\ast +
//! \varepsilon^\ast$ a simulated data set, the draw
//!
//! $$ x_c = \mu + x^\ast - Q_p^{-1} A^\top y^\ast / s^2 $$
//!
//! has the posterior law $N(\mu, Q_p^{-1})$: the simulated field plus the kriging of the
//! difference between real and simulated data (Journel and Huijbregts 1978; Rue and Held 2005,
//! section 2.3.3). One draw costs one solve with the posterior factor.
//!
//! **Linear constraints** $A_c x = e$ (e.g. a sum-to-zero field): for $x \sim N(0, Q^{-1})$,
//!
//! $$ x_c = x - Q^{-1} A_c^\top \left(A_c Q^{-1} A_c^\top\right)^{-1} (A_c x - e) $$
//!
//! has exactly the conditional law of $x$ given $A_c x = e$ (Rue and Held 2005, section
//! 2.3.3, "conditioning by kriging"); the same correction applies to a mean.
//!
//! ```
//! use uqforge_gmrf::simulate::field_on_unit_square;
//!
//! let f = field_on_unit_square(20, 15, 0.3, 2.0, 2, 42)?;
//! assert_eq!(f.len(), 300);
//! assert_eq!(f, field_on_unit_square(20, 15, 0.3, 2.0, 2, 42)?); // seeded
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! References: A. G. Journel, C. J. Huijbregts (1978), Mining Geostatistics, Academic Press;
//! H. Rue, L. Held (2005), Gaussian Markov Random Fields, Chapman & Hall.

use nalgebra::{DMatrix, DVector};
use uqforge_core::{Error, Result};

use crate::factor::{Cholesky, SymbolicCholesky};
use crate::fem::Fem;
use crate::likelihood::{Factors, GeostatModel, Params};
use crate::matern::{Matern, SpdeOperator};
use crate::mesh::Mesh;

/// Largest number of mesh nodes [`field_on_unit_square`] will build.
pub const MAX_GRID_NODES: usize = 4_000_000;

/// A Matérn field with the given range and standard deviation on the `nx` x `ny` regular grid
/// of the unit square (points $(i/(n_x-1), j/(n_y-1))$), values row by row (row `j` at
/// $y = j/(n_y-1)$, `x` increasing within a row).
///
/// The mesh is regular, with cells no wider than the grid spacing nor than a tenth of the
/// range, and extends one range beyond the square on every side.
///
/// # Errors
/// Grids with fewer than 2 points in a direction, non-positive range or sigma, an invalid
/// `alpha`, or a mesh above [`MAX_GRID_NODES`].
pub fn field_on_unit_square(
    nx: usize,
    ny: usize,
    range: f64,
    sigma: f64,
    alpha: u32,
    seed: u64,
) -> Result<Vec<f64>> {
    uqforge_core::validate::at_least("nx", nx, 2)?;
    uqforge_core::validate::at_least("ny", ny, 2)?;
    let field = Matern::from_range_sigma(alpha, range, sigma)?;
    let h = (1.0 / (nx.max(ny) - 1) as f64).min(range / 10.0);
    let cells = ((1.0 + 2.0 * range) / h).ceil() as usize;
    if (cells + 1).saturating_mul(cells + 1) > MAX_GRID_NODES {
        return Err(Error::invalid_parameter(
            "range",
            format!(
                "a range of {range} on a {nx} x {ny} grid needs a mesh of {} nodes (limit {MAX_GRID_NODES})",
                (cells + 1).saturating_mul(cells + 1)
            ),
        ));
    }
    let lo = -range;
    let hi = lo + cells as f64 * h;
    let mesh = Mesh::regular_grid([lo, hi], [lo, hi], cells, cells)?;
    let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, alpha)?;
    let chol = SymbolicCholesky::analyse(spde.pattern())?.factor(&spde.precision(&field)?)?;
    let x = chol.sample(1, seed)?;
    let a = mesh.observation_matrix(&unit_square_grid(nx, ny))?;
    Ok((&a * x.column(0)).iter().copied().collect())
}

/// The points $(i/(n_x-1), j/(n_y-1))$ of the unit square's regular grid, row by row (`x`
/// fastest); `nx`, `ny` at least 2.
pub(crate) fn unit_square_grid(nx: usize, ny: usize) -> DMatrix<f64> {
    DMatrix::from_fn(nx * ny, 2, |k, c| {
        if c == 0 {
            (k % nx) as f64 / (nx - 1) as f64
        } else {
            (k / nx) as f64 / (ny - 1) as f64
        }
    })
}

impl GeostatModel {
    /// `count` draws of the field at the mesh nodes from its posterior given the data, at
    /// `params` with the GLS coefficients (columns of the result).
    ///
    /// # Errors
    /// Invalid parameters or a factorisation failure.
    pub fn conditional_simulation(
        &self,
        params: &Params,
        count: usize,
        seed: u64,
    ) -> Result<DMatrix<f64>> {
        let Factors {
            prior, post, s2, ..
        } = self.factors(params)?;
        let (beta, _) = self.obs.gls(&post, s2)?;
        let r = &self.obs.y - &self.obs.x * &beta;
        let mu = post.solve(&(&self.obs.at * &r / s2))?;
        let xs = prior.into_factor()?.sample(count, seed)?;
        let mut rng = uqforge_core::rng::stream(seed, 1);
        let noise = DMatrix::from_fn(self.n_obs(), count, |_, _| {
            params.noise_sd * uqforge_core::rng::standard_normal(&mut rng)
        });
        let ys = &self.obs.a * &xs + noise;
        let correction = post.solve_matrix(&(&self.obs.at * ys / s2))?;
        let mut out = xs - correction;
        for mut c in out.column_iter_mut() {
            c += &mu;
        }
        Ok(out)
    }
}

/// Condition draws (or a mean) of $N(\cdot, Q^{-1})$ on the linear constraints $A_c x = e$ by
/// kriging: each column $x$ of `x` becomes $x - Q^{-1}A_c^\top(A_c Q^{-1} A_c^\top)^{-1}(A_c x -
/// e)$.
///
/// # Errors
/// Sizes that disagree, or constraints that are linearly dependent.
pub fn conditioning_by_kriging(
    chol: &Cholesky,
    x: &DMatrix<f64>,
    a_c: &DMatrix<f64>,
    e: &DVector<f64>,
) -> Result<DMatrix<f64>> {
    let m = chol.n();
    uqforge_core::validate::len("field rows", m, x.nrows())?;
    uqforge_core::validate::len("constraint columns", m, a_c.ncols())?;
    uqforge_core::validate::len("constraint values", a_c.nrows(), e.len())?;
    uqforge_core::validate::finite("constraints", a_c.as_slice())?;
    uqforge_core::validate::finite("constraint values", e.as_slice())?;
    let w = chol.solve_matrix(&a_c.transpose())?; // Q^{-1} A_c'
    let s = a_c * &w;
    let s_chol = s.cholesky().ok_or_else(|| {
        Error::degenerate(
            "linear constraints",
            "they are linearly dependent (A_c Q^-1 A_c' is singular)",
        )
    })?;
    let mut out = x.clone();
    for mut col in out.column_iter_mut() {
        let gap = a_c * &col - e;
        col -= &w * s_chol.solve(&gap);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::dense;

    #[test]
    fn conditional_draws_have_the_posterior_moments() {
        // Mean and covariance of 4000 conditional draws against mu and Qp^{-1} (dense).
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 3, 3).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let locs = DMatrix::from_row_slice(3, 2, &[0.1, 0.2, 0.7, 0.4, 0.5, 0.9]);
        let a = mesh.observation_matrix(&locs).unwrap();
        let y = DVector::from_row_slice(&[1.0, -0.5, 0.3]);
        let model = GeostatModel::new(&spde, a.clone(), y.clone(), DMatrix::zeros(3, 0)).unwrap();
        let p = Params {
            range: 0.6,
            sigma: 1.0,
            noise_sd: 0.4,
        };
        let draws = model.conditional_simulation(&p, 4000, 9).unwrap();
        let q = dense(&spde.precision(&model.matern(&p).unwrap()).unwrap());
        let ad = dense(&a);
        let qp = &q + ad.transpose() * &ad / 0.16;
        let cov = qp.clone().try_inverse().unwrap();
        let mu = &cov * ad.transpose() * &y / 0.16;
        let n = draws.ncols() as f64;
        let mean = draws.column_mean();
        for i in 0..mu.len() {
            let se = (cov[(i, i)] / n).sqrt();
            assert!((mean[i] - mu[i]).abs() < 4.0 * se, "node {i}");
        }
        let centred =
            DMatrix::from_fn(draws.nrows(), draws.ncols(), |i, j| draws[(i, j)] - mean[i]);
        let emp = &centred * centred.transpose() / (n - 1.0);
        let rel = (emp - &cov).abs().max() / cov.abs().max();
        assert!(rel < 0.1, "covariance relative error {rel}");
    }

    #[test]
    fn constrained_draws_sum_to_zero_and_keep_the_conditional_law() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 2, 2).unwrap();
        let spde = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let q = spde
            .precision(&Matern::from_range_sigma(2, 0.5, 1.0).unwrap())
            .unwrap();
        let chol = SymbolicCholesky::analyse(spde.pattern())
            .unwrap()
            .factor(&q)
            .unwrap();
        let m = q.nrows();
        let ones = DMatrix::from_element(1, m, 1.0);
        let draws = chol.sample(20000, 5).unwrap();
        let c = conditioning_by_kriging(&chol, &draws, &ones, &DVector::zeros(1)).unwrap();
        for col in c.column_iter() {
            assert!(col.sum().abs() < 1e-10);
        }
        // Conditional covariance: S - S 1 (1'S1)^{-1} 1'S, with S = Q^{-1}.
        let s = dense(&q).try_inverse().unwrap();
        let s1 = &s * ones.transpose();
        let want = &s - &s1 * s1.transpose() / (ones.clone() * &s1)[(0, 0)];
        let emp = &c * c.transpose() / c.ncols() as f64;
        assert!((emp - &want).abs().max() / want.abs().max() < 0.05);
        // Dependent constraints are refused.
        let twice = DMatrix::from_element(2, m, 1.0);
        assert!(conditioning_by_kriging(&chol, &draws, &twice, &DVector::zeros(2)).is_err());
    }

    #[test]
    fn grid_fields_have_the_requested_scale() {
        let f = field_on_unit_square(30, 30, 0.1, 3.0, 2, 1).unwrap();
        let mean = f.iter().sum::<f64>() / f.len() as f64;
        let var = f.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (f.len() - 1) as f64;
        // Range 0.1 on the unit square: many independent patches, the sample sd is near 3.
        assert!((var.sqrt() - 3.0).abs() < 0.6, "sd {}", var.sqrt());
        assert!(field_on_unit_square(1, 5, 0.1, 1.0, 2, 1).is_err());
        assert!(field_on_unit_square(5, 5, 1e-4, 1.0, 2, 1).is_err());
        assert!(field_on_unit_square(5, 5, 0.1, -1.0, 2, 1).is_err());
    }
}
