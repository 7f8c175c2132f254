//! Helpers of the unit tests: seeded samples and affine maps.

use nalgebra::DMatrix;
use uqforge_core::rng::{rng_from_seed, standard_normal};

/// `n` points of $N(0, I_d)$ from the ChaCha8 stream of `seed`.
pub(crate) fn normal_sample(n: usize, d: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = rng_from_seed(seed);
    DMatrix::from_fn(n, d, |_, _| standard_normal(&mut rng))
}

/// The rows $x$ of `m` mapped to $Ax + b$ (2D).
pub(crate) fn affine(m: &DMatrix<f64>, a: &DMatrix<f64>, b: [f64; 2]) -> DMatrix<f64> {
    let mut out = m * a.transpose();
    for mut row in out.row_iter_mut() {
        row[0] += b[0];
        row[1] += b[1];
    }
    out
}
