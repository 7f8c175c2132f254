//! The fitted-depth interface and the checks every depth applies to its sample and queries.

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use uqforge_core::rng::{rng_from_seed, standard_normal};
use uqforge_core::{Error, Result};

/// A depth fitted on a sample (rows = points): fit once, then score any number of queries.
///
/// A depth $D(x; P)$ maps a point to $[0, 1]$: large at the centre of the distribution $P$,
/// small at its outskirts, zero far away (Zuo and Serfling 2000). Implementors provide
/// [`Depth::depth_of`] for one point (and [`Depth::try_depth_of`] when scoring a point can
/// fail, as a linear program can); [`Depth::depth`] checks a batch of queries and scores its
/// rows in parallel.
pub trait Depth: Sync {
    /// Dimension $d$ of the sample.
    fn dim(&self) -> usize;

    /// Depth of one point, given as its $d$ finite coordinates (checked by [`Depth::depth`]).
    fn depth_of(&self, point: &[f64]) -> f64;

    /// Depth of one point, or why it could not be computed; [`Depth::depth_of`] by default.
    ///
    /// # Errors
    /// Those of the depth's computation (none for most depths).
    fn try_depth_of(&self, point: &[f64]) -> Result<f64> {
        Ok(self.depth_of(point))
    }

    /// Depths of the rows of `queries`, in parallel.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `queries` does not have $d$ columns,
    /// [`Error::NonFinite`] for a NaN or infinite coordinate (index = row), and those of
    /// [`Depth::try_depth_of`].
    fn depth(&self, queries: &DMatrix<f64>) -> Result<DVector<f64>> {
        check_queries(self.dim(), queries)?;
        let depths: Result<Vec<f64>> = rows(queries)
            .par_iter()
            .map(|p| self.try_depth_of(p))
            .collect();
        Ok(DVector::from_vec(depths?))
    }
}

/// `queries` has `dim` columns of finite coordinates.
pub(crate) fn check_queries(dim: usize, queries: &DMatrix<f64>) -> Result<()> {
    uqforge_core::validate::len("query columns (dimension)", dim, queries.ncols())?;
    check_finite("queries", queries)
}

/// A fitted depth behind a box, for code that chooses the depth at run time (the CLI, the
/// benchmark suite, [`crate::PerClass`]).
///
/// # Errors
/// The fit's.
pub fn boxed<D: Depth + 'static>(fit: Result<D>) -> Result<Box<dyn Depth>> {
    Ok(Box::new(fit?))
}

/// A boxed depth is a depth (for collections of different depths, as in
/// [`crate::PerClass`]).
impl<D: Depth + ?Sized> Depth for Box<D> {
    fn dim(&self) -> usize {
        (**self).dim()
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        (**self).depth_of(point)
    }

    fn try_depth_of(&self, point: &[f64]) -> Result<f64> {
        (**self).try_depth_of(point)
    }

    fn depth(&self, queries: &DMatrix<f64>) -> Result<DVector<f64>> {
        (**self).depth(queries)
    }
}

/// Every coordinate is finite; the error's index is the row of the first bad point.
pub(crate) fn check_finite(what: &str, points: &DMatrix<f64>) -> Result<()> {
    for (i, row) in points.row_iter().enumerate() {
        if let Some(v) = row.iter().find(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: format!("{what} (row)"),
                index: i,
                value: *v,
            });
        }
    }
    Ok(())
}

/// A sample of at least `min_points` finite points in dimension at least 1.
pub(crate) fn check_sample(method: &str, sample: &DMatrix<f64>, min_points: usize) -> Result<()> {
    if sample.nrows() == 0 || sample.ncols() == 0 {
        return Err(Error::EmptyInput {
            what: format!("{method} sample (rows = points, columns = coordinates)"),
        });
    }
    if sample.nrows() < min_points {
        return Err(Error::invalid_parameter(
            "sample",
            format!(
                "{method} depth in dimension {} needs at least {min_points} points, got {}",
                sample.ncols(),
                sample.nrows()
            ),
        ));
    }
    check_finite("sample", sample)
}

/// The rows of `points` as vectors.
pub(crate) fn rows(points: &DMatrix<f64>) -> Vec<Vec<f64>> {
    points
        .row_iter()
        .map(|r| r.iter().copied().collect())
        .collect()
}

/// $\lVert p - q\rVert^2$.
pub(crate) fn squared_distance(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// $p^\top q$.
pub(crate) fn dot(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).map(|(a, b)| a * b).sum()
}

/// `count` unit vectors uniform on the sphere in dimension `d` (normalised standard normal
/// vectors) from the ChaCha8 stream of `seed`.
pub(crate) fn unit_directions(d: usize, count: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = rng_from_seed(seed);
    let mut units = Vec::with_capacity(count);
    while units.len() < count {
        let u: Vec<f64> = (0..d).map(|_| standard_normal(&mut rng)).collect();
        let norm = dot(&u, &u).sqrt();
        if norm > 0.0 {
            units.push(u.into_iter().map(|v| v / norm).collect());
        }
    }
    units
}

/// The vectors $x_i - x$ of the 2D sample points other than $x$, sorted by angle.
pub(crate) fn directions_by_angle(points: &[Vec<f64>], x: &[f64]) -> Vec<(f64, f64)> {
    sorted_by_angle(
        points
            .iter()
            .map(|p| (p[0] - x[0], p[1] - x[1]))
            .filter(|&(a, b)| a != 0.0 || b != 0.0),
    )
}

/// 2D vectors sorted by angle in $(-\pi, \pi]$: one `atan2` per vector, then a sort on the
/// keys.
pub(crate) fn sorted_by_angle(v: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut keyed: Vec<(f64, (f64, f64))> = v.map(|p| (p.1.atan2(p.0), p)).collect();
    keyed.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    keyed.into_iter().map(|(_, p)| p).collect()
}
