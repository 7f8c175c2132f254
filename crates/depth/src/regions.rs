//! Depth regions and their contours in 2D.
//!
//! The central region of level $t$ is $R_t = \lbrace x : D(x) \ge t\rbrace$; for halfspace,
//! projection, simplicial and zonoid depth it is convex and nested, for lens and Fermat lens
//! depth it follows the shape of the sample. Choosing $t$ as the $(1 - \beta)$-quantile of
//! the sample points' own depths ([`level_containing`]) gives the region that holds a fraction
//! $\beta$ of the sample: a multivariate analogue of the interquartile range, and the way to
//! compare regions of different depths on one picture.
//!
//! [`DepthGrid::evaluate`] scores a regular grid (in parallel, through [`Depth::depth`]) and
//! [`DepthGrid::contour`] traces the level set $D = t$ by marching squares: in each cell the
//! edges whose end values straddle $t$ are cut at the linearly interpolated point, and the
//! cut points are joined into segments (the two possible pairings of a saddle cell are
//! decided by the mean of its four corners). The segments are what a plotting tool draws;
//! `examples/contours.rs` draws the regions of every depth of the crate on two moons.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::Mahalanobis;
//! use uqforge_depth::regions::DepthGrid;
//! let sample = DMatrix::from_row_slice(4, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0]);
//! let depth = Mahalanobis::fit(&sample).unwrap();
//! let grid = DepthGrid::evaluate(&depth, [-2.0, 2.0], [-2.0, 2.0], 81, 81).unwrap();
//! // Covariance (2/3) I: depth 1/2 on the circle of radius sqrt(2/3).
//! for [p, q] in grid.contour(0.5) {
//!     for r in [p, q] {
//!         assert!(((r[0] * r[0] + r[1] * r[1]).sqrt() - (2.0f64 / 3.0).sqrt()).abs() < 0.01);
//!     }
//! }
//! ```

use nalgebra::DMatrix;
use uqforge_core::{Error, Result};

use crate::sample::Depth;

/// A depth evaluated on a regular grid of the plane.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthGrid {
    /// Abscissae of the grid's columns, increasing.
    pub x: Vec<f64>,
    /// Ordinates of the grid's rows, increasing.
    pub y: Vec<f64>,
    /// Depth at $(x_j, y_i)$ in row $i$, column $j$.
    pub values: DMatrix<f64>,
}

impl DepthGrid {
    /// Scores the `nx` by `ny` grid over `x_range` times `y_range` (end points included).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless the depth is two-dimensional;
    /// [`Error::InvalidParameter`] for fewer than 2 points per axis or an empty or
    /// non-finite range.
    pub fn evaluate(
        depth: &dyn Depth,
        x_range: [f64; 2],
        y_range: [f64; 2],
        nx: usize,
        ny: usize,
    ) -> Result<Self> {
        uqforge_core::validate::len("depth dimension (a 2D grid)", 2, depth.dim())?;
        uqforge_core::validate::at_least("grid points along x", nx, 2)?;
        uqforge_core::validate::at_least("grid points along y", ny, 2)?;
        for (name, r) in [("x range", x_range), ("y range", y_range)] {
            if !(r[0].is_finite() && r[1].is_finite() && r[0] < r[1]) {
                return Err(Error::invalid_parameter(
                    name,
                    format!("needs finite bounds, lower below upper, got {r:?}"),
                ));
            }
        }
        let axis = |r: [f64; 2], n: usize| -> Vec<f64> {
            (0..n)
                .map(|k| r[0] + (r[1] - r[0]) * k as f64 / (n - 1) as f64)
                .collect()
        };
        let (x, y) = (axis(x_range, nx), axis(y_range, ny));
        let points = DMatrix::from_fn(
            nx * ny,
            2,
            |k, c| if c == 0 { x[k % nx] } else { y[k / nx] },
        );
        let d = depth.depth(&points)?;
        let values = DMatrix::from_fn(ny, nx, |i, j| d[i * nx + j]);
        Ok(Self { x, y, values })
    }

    /// The segments of the contour $D = t$ by marching squares (linear interpolation along
    /// cell edges; saddles decided by the cell's mean).
    pub fn contour(&self, level: f64) -> Vec<[[f64; 2]; 2]> {
        let mut segments = Vec::new();
        let v = &self.values;
        for i in 0..self.y.len() - 1 {
            for j in 0..self.x.len() - 1 {
                // Corners counter-clockwise from the lower left.
                let corners = [
                    ([self.x[j], self.y[i]], v[(i, j)]),
                    ([self.x[j + 1], self.y[i]], v[(i, j + 1)]),
                    ([self.x[j + 1], self.y[i + 1]], v[(i + 1, j + 1)]),
                    ([self.x[j], self.y[i + 1]], v[(i + 1, j)]),
                ];
                let above: Vec<bool> = corners.iter().map(|c| c.1 >= level).collect();
                // The cut point on each edge k (corner k to corner k + 1) that crosses.
                let cut = |k: usize| -> Option<[f64; 2]> {
                    let (a, b) = (corners[k], corners[(k + 1) % 4]);
                    if above[k] == above[(k + 1) % 4] {
                        return None;
                    }
                    let t = (level - a.1) / (b.1 - a.1);
                    Some([
                        a.0[0] + t * (b.0[0] - a.0[0]),
                        a.0[1] + t * (b.0[1] - a.0[1]),
                    ])
                };
                let cuts: Vec<(usize, [f64; 2])> =
                    (0..4).filter_map(|k| cut(k).map(|p| (k, p))).collect();
                match cuts.len() {
                    2 => segments.push([cuts[0].1, cuts[1].1]),
                    4 => {
                        // Saddle: corners 0 and 2 on one side, 1 and 3 on the other. If the
                        // centre is on corner 0's side, 0 and 2 are connected and the
                        // segments cut off corners 1 and 3.
                        let centre = corners.iter().map(|c| c.1).sum::<f64>() / 4.0;
                        let p: Vec<[f64; 2]> = cuts.iter().map(|c| c.1).collect();
                        if (centre >= level) == above[0] {
                            segments.push([p[0], p[1]]);
                            segments.push([p[2], p[3]]);
                        } else {
                            segments.push([p[3], p[0]]);
                            segments.push([p[1], p[2]]);
                        }
                    }
                    _ => {}
                }
            }
        }
        segments
    }
}

/// The depth level $t$ whose region $\lbrace D \ge t\rbrace$ holds at least a fraction
/// `fraction` of the given depths (those of the sample points): their
/// $\lceil \beta n\rceil$-th largest value.
///
/// # Errors
/// [`Error::EmptyInput`] for no depths, [`Error::InvalidParameter`] for a fraction outside
/// $(0, 1]$.
pub fn level_containing(depths: &[f64], fraction: f64) -> Result<f64> {
    if depths.is_empty() {
        return Err(Error::EmptyInput {
            what: "sample depths".into(),
        });
    }
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::invalid_parameter(
            "fraction",
            format!("must be in (0, 1], got {fraction}"),
        ));
    }
    let mut sorted = depths.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let k = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Ok(sorted[k - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::normal_sample;
    use crate::{Halfspace, Mahalanobis};

    /// Every cut point lies on the exact level set of Mahalanobis depth (an ellipse) to the
    /// interpolation error of a 201 x 201 grid, and the contour closes: each segment end
    /// is shared with another segment.
    #[test]
    fn contour_points_lie_on_the_level_set() {
        let x = normal_sample(100, 2, 1);
        let depth = Mahalanobis::fit(&x).unwrap();
        let grid = DepthGrid::evaluate(&depth, [-4.0, 4.0], [-4.0, 4.0], 201, 201).unwrap();
        let segments = grid.contour(0.3);
        assert!(segments.len() > 100);
        for s in &segments {
            for p in s {
                assert!((depth.depth_of(p) - 0.3).abs() < 2e-4, "{p:?}");
            }
        }
        let ends: Vec<[f64; 2]> = segments.iter().flatten().copied().collect();
        for p in &ends {
            let shared = ends
                .iter()
                .filter(|q| (q[0] - p[0]).abs() + (q[1] - p[1]).abs() < 1e-12)
                .count();
            assert_eq!(shared, 2, "{p:?}");
        }
    }

    #[test]
    fn saddles_are_split_by_the_centre() {
        // Corners (0,0)=1, (1,0)=0, (1,1)=1, (0,1)=0: centre 0.5 >= 0.4, so the high corners
        // connect and the segments cut off the low corners (1, 0) and (0, 1).
        let grid = DepthGrid {
            x: vec![0.0, 1.0],
            y: vec![0.0, 1.0],
            values: DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]),
        };
        let s = grid.contour(0.4);
        assert_eq!(s.len(), 2);
        let mids: Vec<[f64; 2]> = s
            .iter()
            .map(|[p, q]| [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0])
            .collect();
        assert!(mids.iter().any(|m| m[0] > 0.5 && m[1] < 0.5));
        assert!(mids.iter().any(|m| m[0] < 0.5 && m[1] > 0.5));
        // Below the centre the low corners connect instead.
        let s = grid.contour(0.6);
        let mids: Vec<[f64; 2]> = s
            .iter()
            .map(|[p, q]| [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0])
            .collect();
        assert!(mids.iter().any(|m| m[0] < 0.5 && m[1] < 0.5));
        assert!(mids.iter().any(|m| m[0] > 0.5 && m[1] > 0.5));
    }

    #[test]
    fn level_containing_holds_the_fraction() {
        let x = normal_sample(200, 2, 2);
        let depth = Halfspace::exact(&x).unwrap();
        let own = depth.depth(&x).unwrap();
        for beta in [0.25, 0.5, 0.9, 1.0] {
            let t = level_containing(own.as_slice(), beta).unwrap();
            let inside = own.iter().filter(|d| **d >= t).count();
            assert!(inside as f64 >= beta * 200.0, "{beta}");
        }
        assert!(level_containing(&[], 0.5).is_err());
        assert!(level_containing(&[0.1], 0.0).is_err());
        let three_d = Mahalanobis::fit(&normal_sample(10, 3, 3)).unwrap();
        assert!(matches!(
            DepthGrid::evaluate(&three_d, [0.0, 1.0], [0.0, 1.0], 5, 5),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(DepthGrid::evaluate(&depth, [1.0, 0.0], [0.0, 1.0], 5, 5).is_err());
    }
}
