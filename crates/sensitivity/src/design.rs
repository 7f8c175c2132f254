//! Sampling designs: the points $u_j \in [0,1)^{2d}$ whose halves are the rows of the
//! pick-freeze matrices $A$ and $B$.
//!
//! - [`Design::MonteCarlo`]: independent uniforms. Rows are generated in blocks of
//!   [`BLOCK`] rows, block $b$ of replicate $r$ from ChaCha8 stream $2^{32} r + b$ of the seed,
//!   so any row range can be generated on its own and the result does not depend on how the
//!   rows are split between threads or machines.
//! - [`Design::Sobol`]: randomised quasi-Monte Carlo, scrambled Sobol' points
//!   ([`crate::sobol`]: Joe–Kuo directions, random linear scrambling and digital shift), one
//!   independent scrambling per replicate, drawn from a stream reserved for it. Limits: up to
//!   $2^{32}$ points per replicate (a power of two, to keep the net property) and
//!   $2d \le 1024$.
//!
//! Randomised QMC has a smaller error than Monte Carlo for smooth integrands but its points are
//! not independent, so bootstrap intervals over rows are wrong for it; confidence intervals come
//! from independent replicates instead (see the crate docs).

use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, rng};

/// Rows per random-number block (and per work chunk).
pub const BLOCK: usize = 256;

/// Largest number of points per replicate of a [`Design::Sobol`] design.
pub const SOBOL_MAX_POINTS: usize = 1 << 32;

/// How the base points are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Independent uniform points.
    MonteCarlo,
    /// Scrambled Sobol' points (randomised QMC).
    Sobol,
}

impl Design {
    /// Checks that `n` points of dimension `dims` can be drawn.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a Sobol' design with `n` not a power of two, above
    /// [`SOBOL_MAX_POINTS`], or `dims` above [`crate::sobol::MAX_DIM`].
    pub fn check(self, n: usize, dims: usize) -> Result<()> {
        if self == Self::Sobol {
            if !n.is_power_of_two() || n > SOBOL_MAX_POINTS {
                return Err(Error::invalid_parameter(
                    "n",
                    format!(
                        "a Sobol' design needs a power of two up to 2^32 points (its net property), got {n}"
                    ),
                ));
            }
            if dims > crate::sobol::MAX_DIM {
                return Err(Error::invalid_parameter(
                    "dimension",
                    format!(
                        "a Sobol' pick-freeze design needs 2d <= {} dimensions, got 2d = {dims}",
                        crate::sobol::MAX_DIM
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Writes rows `block * BLOCK ..` (at most `rows` of them) of replicate `replicate` into
    /// `out`, row-major with `dims` columns.
    pub(crate) fn fill_block(
        self,
        seed: u64,
        replicate: u32,
        block: usize,
        rows: usize,
        dims: usize,
        out: &mut [f64],
    ) {
        debug_assert!(rows <= BLOCK && out.len() == rows * dims);
        let mut noise = rng::stream(seed, (u64::from(replicate) << 32) | block as u64);
        match self {
            Self::MonteCarlo => out.iter_mut().for_each(|u| *u = rng::uniform01(&mut noise)),
            Self::Sobol => {
                // The scrambling of a replicate comes from a stream reserved for it, so every
                // block of the replicate rebuilds the same one.
                let mut scramble = rng::stream(seed, (u64::from(replicate) << 32) | 0xFFFF_FFFF);
                let Ok(points) = crate::sobol::SobolPoints::scrambled(dims, &mut scramble) else {
                    // `Design::check` ran before any block is drawn.
                    debug_assert!(false, "dimension checked by Design::check");
                    return;
                };
                points.fill_block((block * BLOCK) as u32, rows, out, &mut noise);
            }
        }
    }
}

/// `n` input points of a design, rows = points, mapped through the marginals of `space`
/// (replicate 0 of `seed`): a sample for given-data estimators or for plain uncertainty
/// propagation.
///
/// # Errors
/// As [`Design::check`] for dimension $d$.
///
/// # Examples
/// ```
/// use uqforge_sensitivity::{design::sample_inputs, Design, InputSpace};
/// let x = sample_inputs(&InputSpace::uniform(3, 0.0, 2.0)?, Design::Sobol, 256, 1)?;
/// assert_eq!(x.shape(), (256, 3));
/// assert!(x.iter().all(|v| (0.0..2.0).contains(v)));
/// # Ok::<(), uqforge_core::Error>(())
/// ```
pub fn sample_inputs(
    space: &crate::InputSpace,
    design: Design,
    n: usize,
    seed: u64,
) -> Result<nalgebra::DMatrix<f64>> {
    let d = space.dim();
    design.check(n, d)?;
    let mut unit = vec![0.0; n * d];
    for (b, chunk) in unit.chunks_mut(BLOCK * d).enumerate() {
        let rows = chunk.len() / d;
        design.fill_block(seed, 0, b, rows, d, chunk);
    }
    let mut x = nalgebra::DMatrix::zeros(n, d);
    let mut row = vec![0.0; d];
    for (j, u) in unit.chunks_exact(d).enumerate() {
        space.map_unit(u, &mut row);
        for (k, v) in row.iter().enumerate() {
            x[(j, k)] = *v;
        }
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(design: Design, n: usize, dims: usize, replicate: u32) -> Vec<f64> {
        let mut out = vec![0.0; n * dims];
        for (b, chunk) in out.chunks_mut(BLOCK * dims).enumerate() {
            let rows = chunk.len() / dims;
            design.fill_block(9, replicate, b, rows, dims, chunk);
        }
        out
    }

    #[test]
    fn points_are_in_the_unit_cube_and_reproducible() {
        for design in [Design::MonteCarlo, Design::Sobol] {
            let p = points(design, 1024, 6, 0);
            assert!(p.iter().all(|u| (0.0..1.0).contains(u)));
            assert_eq!(p, points(design, 1024, 6, 0));
            assert_ne!(p, points(design, 1024, 6, 1));
        }
    }

    #[test]
    fn sobol_points_are_stratified() {
        // A (0, m, s)-net in base 2: every elementary interval [k/N, (k+1)/N) of each coordinate
        // holds exactly one of the N = 2^m points.
        let n = 1024;
        let dims = 4;
        let p = points(Design::Sobol, n, dims, 3);
        for k in 0..dims {
            let mut counts = vec![0; n];
            for row in p.chunks_exact(dims) {
                counts[(row[k] * n as f64) as usize] += 1;
            }
            assert!(counts.iter().all(|&c| c == 1), "coordinate {k}");
        }
    }

    #[test]
    fn sobol_limits_are_checked() {
        assert!(Design::Sobol.check(1000, 4).is_err());
        assert!(Design::Sobol.check(1 << 33, 4).is_err());
        assert!(Design::Sobol.check(1 << 17, 4).is_ok());
        assert!(Design::Sobol.check(1 << 10, 1026).is_err());
        assert!(Design::Sobol.check(1 << 10, 4).is_ok());
        assert!(Design::MonteCarlo.check(1000, 1000).is_ok());
    }
}
