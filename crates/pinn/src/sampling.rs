//! Collocation points: Latin hypercube samples and scrambled Sobol' points in a box.
//!
//! A Latin hypercube sample of $N$ points in $d$ dimensions (McKay, Beckman, Conover,
//! Technometrics 21:239, 1979) places exactly one point in each of the $N$ equal slabs of every
//! coordinate: coordinate $i$ of point $b$ is $(\pi_i(b) + U_{bi})/N$ for independent random
//! permutations $\pi_i$ and uniforms $U_{bi}$, mapped to the box. Every one-dimensional
//! projection is stratified, which is what a PDE residual's loss, a mean over points, gains
//! from. The sample is a function of `(seed, stream)`.
//!
//! [`sobol`] gives the first $N$ scrambled Sobol' points instead ([`uqforge_core::sobol`]):
//! stratified in every projection and in every dyadic box when $N$ is a power of two, so
//! low-discrepancy in the whole domain, not only along the axes.
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
    check_box(lower, upper)?;
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

/// The first `n` scrambled Sobol' points in the box `[lower, upper]` (rows = points), the
/// scrambling from ChaCha8 stream `stream` of `seed`.
///
/// # Errors
/// As [`latin_hypercube`], and [`Error::InvalidParameter`] beyond $2^{32}$ points or
/// [`uqforge_core::sobol::MAX_DIM`] dimensions.
pub fn sobol(
    n: usize,
    lower: &[f64],
    upper: &[f64],
    seed: u64,
    stream: u64,
) -> Result<DMatrix<f64>> {
    check_box(lower, upper)?;
    if u32::try_from(n).is_err() {
        return Err(Error::invalid_parameter(
            "points",
            format!("at most 2^32 Sobol' points, got {n}"),
        ));
    }
    let mut draws = rng::stream(seed, stream);
    let points = uqforge_core::sobol::SobolPoints::scrambled(lower.len(), &mut draws)?;
    let d = lower.len();
    let mut unit = vec![0.0; n * d];
    points.fill_block(0, n, &mut unit, &mut draws);
    Ok(DMatrix::from_fn(n, d, |b, i| {
        lower[i] + (upper[i] - lower[i]) * unit[b * d + i]
    }))
}

/// `n` points on the two sides $x = x_0$ and $x = x_1$ of a space-time strip (rows $(t, x)$,
/// alternating sides, first $x_0$), with Latin-hypercube times in `[t0, t1]` from stream
/// `stream` of `seed`: Dirichlet conditions of 1D problems.
///
/// # Errors
/// As [`latin_hypercube`].
pub fn two_sided_boundary(
    n: usize,
    [t0, t1]: [f64; 2],
    [x0, x1]: [f64; 2],
    seed: u64,
    stream: u64,
) -> Result<DMatrix<f64>> {
    check_box(&[x0], &[x1])?;
    let t = latin_hypercube(n, &[t0], &[t1], seed, stream)?;
    Ok(DMatrix::from_fn(n, 2, |b, i| match (i, b % 2) {
        (0, _) => t[(b, 0)],
        (_, 0) => x0,
        _ => x1,
    }))
}

/// The three point sets of a 1D space-time problem on $[t_0, t_1]\times[x_0, x_1]$.
#[derive(Clone, Debug, PartialEq)]
pub struct SpaceTime1d {
    /// Latin-hypercube collocation points of the rectangle (stream 0), rows $(t, x)$.
    pub interior: DMatrix<f64>,
    /// Points $(t_0, x)$ with Latin-hypercube $x$ (stream 1).
    pub initial: DMatrix<f64>,
    /// Points on $x = x_0$ and $x = x_1$ ([`two_sided_boundary`], stream 2).
    pub boundary: DMatrix<f64>,
}

/// The collocation, initial and boundary points of a 1D space-time problem, from `seed`.
///
/// # Errors
/// [`Error::InvalidParameter`] naming the set that would have no points, and the errors of
/// [`latin_hypercube`].
pub fn space_time_1d(
    [collocation, initial, boundary]: [usize; 3],
    [t0, t1]: [f64; 2],
    [x0, x1]: [f64; 2],
    seed: u64,
) -> Result<SpaceTime1d> {
    for (name, n) in [
        ("collocation points", collocation),
        ("initial points", initial),
        ("boundary points", boundary),
    ] {
        if n == 0 {
            return Err(Error::invalid_parameter(name, "needs at least one point"));
        }
    }
    let x = latin_hypercube(initial, &[x0], &[x1], seed, 1)?;
    Ok(SpaceTime1d {
        interior: latin_hypercube(collocation, &[t0, x0], &[t1, x1], seed, 0)?,
        initial: DMatrix::from_fn(initial, 2, |b, i| if i == 0 { t0 } else { x[(b, 0)] }),
        boundary: two_sided_boundary(boundary, [t0, t1], [x0, x1], seed, 2)?,
    })
}

fn check_box(lower: &[f64], upper: &[f64]) -> Result<()> {
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
    Ok(())
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
    fn sobol_points_fill_every_dyadic_box_of_the_square() {
        // 64 points of a (0, m, 2)-net in base 2 (the first two Sobol' dimensions, t = 0):
        // every box [i/8, (i+1)/8) x [j/8, (j+1)/8) holds exactly one point.
        let x = sobol(64, &[0.0, -1.0], &[1.0, 1.0], 3, 0).unwrap();
        let mut seen = [[0; 8]; 8];
        for b in 0..64 {
            let (i, j) = (
                (x[(b, 0)] * 8.0) as usize,
                ((x[(b, 1)] + 1.0) / 2.0 * 8.0) as usize,
            );
            seen[i][j] += 1;
        }
        assert!(seen.iter().flatten().all(|&c| c == 1), "{seen:?}");
        assert_ne!(x, sobol(64, &[0.0, -1.0], &[1.0, 1.0], 4, 0).unwrap());
        assert!(sobol(4, &[0.0], &[], 0, 0).is_err());
    }

    #[test]
    fn bad_boxes_are_refused() {
        assert!(latin_hypercube(3, &[0.0], &[1.0, 2.0], 0, 0).is_err());
        assert!(latin_hypercube(3, &[], &[], 0, 0).is_err());
        assert!(latin_hypercube(3, &[1.0], &[0.0], 0, 0).is_err());
        assert!(latin_hypercube(3, &[f64::NAN], &[0.0], 0, 0).is_err());
    }
}
