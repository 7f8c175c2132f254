//! Center-outward depth: one minus the center-outward rank, from optimal transport to the
//! uniform distribution on the ball.
//!
//! $$ D_\pm(x) = 1 - \lVert \mathbf F_\pm(x)\rVert $$
//!
//! where $\mathbf F_\pm$ is the center-outward distribution function of Hallin et al.
//! (2021): the gradient of a convex function that pushes the distribution onto the spherical
//! uniform distribution $U_d$ on the unit ball (uniform radius, uniform direction; McCann's
//! theorem). Its depth regions
//! $\lbrace D_\pm \ge 1 - \tau\rbrace$ are the center-outward quantile regions of
//! probability $\tau$: nested, connected, and shaped by the data (they follow banana or
//! L-shaped samples where halfspace regions stay convex). They are Tukey's regions when the
//! distribution is elliptical. For a spherically symmetric distribution
//! $\mathbf F_\pm(x) = G(\lVert x\rVert) x / \lVert x\rVert$, with $G$ the distribution
//! function of $\lVert X\rVert$: for the uniform distribution on the unit disc,
//! $G(t) = t^2$ and $D_\pm(x) = 1 - \lVert x\rVert^2$ (tested).
//!
//! The empirical $\mathbf F_\pm^{(n)}$ comes from
//! [`uqforge_transport::center_outward`]: the optimal assignment of the sample to a regular
//! grid of $n_R$ spheres times $n_S$ directions (plus $n_0$ copies of the origin), extended
//! to new points by the Laguerre cells of the assignment's dual potentials. A query's depth
//! is therefore $1 - r/(n_R + 1)$ for the rank $r \in \lbrace 0, \dots, n_R\rbrace$ of its
//! cell: a step function whose smallest value is $1/(n_R + 1)$, reached by everything far
//! out; it vanishes at infinity only as $n$ grows (the transport extension is not
//! smoothed). Ranks are invariant under translations and positive scalings of the sample,
//! not under general affine maps (the transport cost is Euclidean). In 1D the sample points'
//! depths are $k/(n_R + 1)$ for the $k$-th point from the nearer end, that is halfspace
//! depth rescaled. Fit: one assignment by the network simplex (seconds at $n = 3000$); query:
//! $O(nd)$.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{CenterOutwardDepth, Depth};
//! let line = DMatrix::from_fn(6, 1, |i, _| i as f64); // n_R = 3, n_S = 2
//! let depth = CenterOutwardDepth::fit(&line).unwrap();
//! assert_eq!(depth.sample_depths(), vec![0.25, 0.5, 0.75, 0.75, 0.5, 0.25]);
//! ```
//!
//! # References
//! - M. Hallin, E. del Barrio, J. Cuesta-Albertos, C. Matrán, "Distribution and quantile
//!   functions, ranks and signs in dimension d: a measure transportation approach", Annals of
//!   Statistics 49(2), 2021.
//! - V. Chernozhukov, A. Galichon, M. Hallin, M. Henry, "Monge–Kantorovich depth, quantiles,
//!   ranks and signs", Annals of Statistics 45(1), 2017.

use nalgebra::{DMatrix, DVector};
use uqforge_core::Result;
use uqforge_transport::center_outward::{CenterOutward, Grid};

use crate::sample::{Depth, check_queries, check_sample};

/// Center-outward depth fitted on a sample: the optimal assignment of the sample to the
/// grid of [`Grid::for_sample_size`].
#[derive(Debug, Clone)]
pub struct CenterOutwardDepth {
    transport: CenterOutward,
}

impl CenterOutwardDepth {
    /// Fits the depth: the grid for $n$ points in dimension $d$, and the optimal assignment.
    ///
    /// # Errors
    /// [`uqforge_core::Error::EmptyInput`] or [`uqforge_core::Error::NonFinite`] for the
    /// sample, [`uqforge_core::Error::InvalidParameter`] for fewer than two points.
    pub fn fit(sample: &DMatrix<f64>) -> Result<Self> {
        check_sample("center-outward", sample, 2)?;
        let grid = Grid::for_sample_size(sample.nrows(), sample.ncols())?;
        Ok(Self {
            transport: CenterOutward::fit(sample, grid)?,
        })
    }

    /// The fitted center-outward distribution function (ranks, signs, quantile contours).
    pub fn transport(&self) -> &CenterOutward {
        &self.transport
    }

    /// The depths of the sample points, $1 - R_i/(n_R + 1)$ from their ranks (sample points
    /// lie on cell boundaries, so use this rather than scoring them as queries).
    pub fn sample_depths(&self) -> Vec<f64> {
        let levels = (self.transport.grid().n_r() + 1) as f64;
        self.transport
            .ranks()
            .iter()
            .map(|&r| (levels - r as f64) / levels)
            .collect()
    }
}

impl Depth for CenterOutwardDepth {
    fn dim(&self) -> usize {
        self.transport.grid().dim()
    }

    fn depth_of(&self, point: &[f64]) -> f64 {
        self.depth(&DMatrix::from_row_slice(1, point.len(), point))
            .map_or(f64::NAN, |d| d[0])
    }

    fn depth(&self, queries: &DMatrix<f64>) -> Result<DVector<f64>> {
        check_queries(self.dim(), queries)?;
        let f = self.transport.evaluate(queries)?;
        // Grid points lie at radii r / (n_R + 1): recover r exactly.
        let levels = (self.transport.grid().n_r() + 1) as f64;
        Ok(DVector::from_iterator(
            f.nrows(),
            f.row_iter()
                .map(|g| (levels - (g.norm() * levels).round()) / levels),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::normal_sample;
    use uqforge_core::Error;
    use uqforge_core::rng::{rng_from_seed, uniform01};

    #[test]
    fn one_dimension_is_rescaled_halfspace_depth() {
        // 9 points: n_R = 4, n_S = 2, one origin (the median, depth 1).
        let v = [3.1, -0.2, 7.5, 1.0, 0.4, 2.2, -4.0, 5.5, 1.7];
        let depth = CenterOutwardDepth::fit(&DMatrix::from_column_slice(9, 1, &v)).unwrap();
        let mut sorted = v;
        sorted.sort_by(f64::total_cmp);
        for (x, d) in v.iter().zip(depth.sample_depths()) {
            let i = sorted.iter().position(|s| s == x).unwrap() + 1;
            let k = i.min(10 - i);
            let expected = if k == 5 { 1.0 } else { k as f64 / 5.0 };
            assert_eq!(d, expected, "{x}");
        }
    }

    /// For the uniform distribution on the unit disc, |X| has distribution function t^2, so
    /// the depth of a query tends to 1 - |x|^2. With n = 900 (n_R = 30) the step and the
    /// sampling error stay below 0.1.
    #[test]
    fn uniform_disc_gives_one_minus_the_squared_radius() {
        let mut rng = rng_from_seed(3);
        let mut pts = Vec::new();
        while pts.len() < 2 * 900 {
            let (a, b) = (
                2.0 * uniform01(&mut rng) - 1.0,
                2.0 * uniform01(&mut rng) - 1.0,
            );
            if a * a + b * b <= 1.0 {
                pts.extend([a, b]);
            }
        }
        let depth = CenterOutwardDepth::fit(&DMatrix::from_row_slice(900, 2, &pts)).unwrap();
        let q = DMatrix::from_fn(40, 2, |i, k| {
            let (r, t) = (i as f64 / 40.0, 2.4 * i as f64);
            if k == 0 { r * t.cos() } else { r * t.sin() }
        });
        let d = depth.depth(&q).unwrap();
        for (row, di) in q.row_iter().zip(d.iter()) {
            let expected = 1.0 - row.norm_squared();
            assert!((di - expected).abs() < 0.1, "{di} vs {expected}");
        }
        // Far out: the outermost cell, depth 1/(n_R + 1).
        assert_eq!(depth.depth_of(&[50.0, 0.0]), 1.0 / 31.0);
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(matches!(
            CenterOutwardDepth::fit(&normal_sample(1, 2, 1)),
            Err(Error::InvalidParameter { .. })
        ));
        let depth = CenterOutwardDepth::fit(&normal_sample(20, 2, 1)).unwrap();
        assert!(matches!(
            depth.depth(&DMatrix::zeros(1, 3)),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            depth.depth(&DMatrix::from_row_slice(1, 2, &[f64::NAN, 0.0])),
            Err(Error::NonFinite { .. })
        ));
    }
}
