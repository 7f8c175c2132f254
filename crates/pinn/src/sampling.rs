//! Collocation points: Latin hypercube samples in a box.
//!
//! A Latin hypercube sample of $N$ points in $d$ dimensions (McKay, Beckman, Conover,
//! Technometrics 21:239, 1979) places exactly one point in each of the $N$ equal slabs of every
//! coordinate: coordinate $i$ of point $b$ is $(\pi_i(b) + U_{bi})/N$ for independent random
//! permutations $\pi_i$ and uniforms $U_{bi}$, mapped to the box. Every one-dimensional
//! projection is stratified, which is what a PDE residual's loss, a mean over points, gains
//! from. The sample is a function of `(seed, stream)`.
//!
//! ```
//! use uqforge_pinn::sampling::latin_hypercube;
//! let x = latin_hypercube(10, &[0.0, -1.0], &[1.0, 1.0], 42, 0)?;
//! // One point in each tenth of [0, 1] for the first coordinate.
//! let mut slab: Vec<usize> = (0..10).map(|b| (x[(b, 0)] * 10.0) as usize).collect();
//! slab.sort();
//! assert_eq!(slab, (0..10).collect::<Vec<_>>());
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DMatrix;
use uqforge_core::{Error, Result, rng, validate};

/// `n` Latin hypercube points in the box `[lower, upper]` (rows = points), from ChaCha8 stream
/// `stream` of `seed`.
///
/// # Errors
/// [`Error::DimensionMismatch`] for bounds of different lengths, [`Error::InvalidParameter`]
/// for non-finite bounds or `upper < lower`, [`Error::EmptyInput`] for no dimensions.
pub fn latin_hypercube(
    n: usize,
    lower: &[f64],
    upper: &[f64],
    seed: u64,
    stream: u64,
) -> Result<DMatrix<f64>> {
    validate::len("upper bounds", lower.len(), upper.len())?;
    if lower.is_empty() {
        return Err(Error::EmptyInput {
            what: "dimensions of the box".into(),
        });
    }
    for (i, (&lo, &hi)) in lower.iter().zip(upper).enumerate() {
        if !(lo.is_finite() && hi.is_finite() && hi >= lo) {
            return Err(Error::invalid_parameter(
                "box",
                format!("coordinate {i} needs finite lower <= upper, got [{lo}, {hi}]"),
            ));
        }
    }
    let mut draws = rng::stream(seed, stream);
    let mut x = DMatrix::zeros(n, lower.len());
    let mut perm: Vec<usize> = (0..n).collect();
    for (i, (&lo, &hi)) in lower.iter().zip(upper).enumerate() {
        // Fisher-Yates with a uniform index from 53-bit uniforms (bias below 2^-40 for n < 2^13).
        for k in (1..n).rev() {
            let j = ((rng::uniform01(&mut draws) * (k + 1) as f64) as usize).min(k);
            perm.swap(k, j);
        }
        for (b, &p) in perm.iter().enumerate() {
            let u = (p as f64 + rng::uniform01(&mut draws)) / n as f64;
            x[(b, i)] = lo + (hi - lo) * u;
        }
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coordinate_is_stratified_and_inside_the_box() {
        let n = 257;
        let x = latin_hypercube(n, &[0.0, -1.0, 10.0], &[1.0, 1.0, 12.0], 7, 3).unwrap();
        for (i, (lo, hi)) in [(0.0, 1.0), (-1.0, 1.0), (10.0, 12.0)]
            .into_iter()
            .enumerate()
        {
            let mut slabs: Vec<usize> = (0..n)
                .map(|b| ((x[(b, i)] - lo) / (hi - lo) * n as f64) as usize)
                .collect();
            slabs.sort_unstable();
            assert_eq!(slabs, (0..n).collect::<Vec<_>>());
        }
        // Reproducible, and another stream differs.
        assert_eq!(
            x,
            latin_hypercube(n, &[0.0, -1.0, 10.0], &[1.0, 1.0, 12.0], 7, 3).unwrap()
        );
        assert_ne!(
            x,
            latin_hypercube(n, &[0.0, -1.0, 10.0], &[1.0, 1.0, 12.0], 7, 4).unwrap()
        );
    }

    #[test]
    fn bad_boxes_are_refused() {
        assert!(latin_hypercube(3, &[0.0], &[1.0, 2.0], 0, 0).is_err());
        assert!(latin_hypercube(3, &[], &[], 0, 0).is_err());
        assert!(latin_hypercube(3, &[1.0], &[0.0], 0, 0).is_err());
        assert!(latin_hypercube(3, &[f64::NAN], &[0.0], 0, 0).is_err());
    }
}
