//! Meshes built around data locations: constrained Delaunay triangulation with an outer
//! extension, refined to a maximum edge length and a minimum angle.
//!
//! # Why an extension
//!
//! The SPDE is solved on a bounded domain with Neumann boundary conditions, which inflate the
//! variance near the boundary (up to twice the stationary variance at a straight edge) and
//! distort correlations within about one range of it (Lindgren et al. 2011, section 2.3;
//! Lindgren and Rue 2015). Extending the mesh beyond the data by about one range keeps these
//! effects away from the locations where the field is observed and predicted.
//!
//! # Construction
//!
//! 1. The outer boundary: the convex hull of the data locations grown by `extension` (the hull
//!    of 16 points on a circle of that radius around each hull vertex, so a rounded convex
//!    polygon), its edges subdivided to at most `max_edge`.
//! 2. A constrained Delaunay triangulation of the boundary (as constraint edges) and of the
//!    distinct data locations (each becomes a node, so observations are exact at nodes).
//! 3. Delaunay refinement (Ruppert, Chew; the `spade` crate): new vertices at circumcentres
//!    until no triangle is larger than the equilateral triangle of side `max_edge` and no angle
//!    is below `min_angle` (default 21°, inside the range where the refinement provably ends).
//!
//! Repeated locations are allowed in the data (they share one node); the mesh has each
//! location once.
//!
//! Why spade: a robust (exact predicates) constrained Delaunay triangulation with refinement in
//! pure Rust; writing one is a project of its own.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_gmrf::mesh_builder::MeshBuilder;
//!
//! let locations = DMatrix::from_row_slice(5, 2, &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.4, 0.6]);
//! let mesh = MeshBuilder::new(0.2).extension(0.3).build(&locations)?;
//! // Every location is a node, and the mesh covers the extension.
//! assert!(mesh.observation_matrix(&DMatrix::from_row_slice(1, 2, &[-0.25, 0.5]))?.nnz() > 0);
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! References: J. Ruppert (1995), A Delaunay refinement algorithm for quality 2-dimensional
//! mesh generation, J. Algorithms 18:548-585; J. R. Shewchuk (2002), Delaunay refinement
//! algorithms for triangular mesh generation, Comput. Geom. 22:21-74; F. Lindgren, H. Rue
//! (2015), Bayesian spatial modelling with R-INLA, J. Stat. Softw. 63(19).

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use spade::{
    AngleLimit, ConstrainedDelaunayTriangulation, Point2, RefinementParameters, Triangulation,
};
use uqforge_core::{Error, Result};

use crate::mesh::Mesh;

/// Settings of a mesh around data locations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeshBuilder {
    /// Target largest edge: no triangle larger than the equilateral triangle of this side.
    pub max_edge: f64,
    /// Distance by which the boundary extends beyond the data's convex hull; `None` for a
    /// fifth of the diameter of the locations.
    pub extension: Option<f64>,
    /// Smallest angle in degrees (1 to 30; default 21).
    pub min_angle: f64,
    /// Largest number of nodes (default 2,000,000): a guard against a `max_edge` far too small.
    pub max_nodes: usize,
}

impl MeshBuilder {
    /// Defaults with the given largest edge.
    pub fn new(max_edge: f64) -> Self {
        Self {
            max_edge,
            extension: None,
            min_angle: 21.0,
            max_nodes: 2_000_000,
        }
    }

    /// Set the extension beyond the convex hull of the data.
    pub fn extension(mut self, extension: f64) -> Self {
        self.extension = Some(extension);
        self
    }

    /// Triangulate around `locations` (`n x 2`, rows = points).
    ///
    /// # Errors
    /// Fewer than three distinct, non-collinear locations; non-finite coordinates; settings out
    /// of range; or a mesh that would exceed `max_nodes`.
    pub fn build(&self, locations: &DMatrix<f64>) -> Result<Mesh> {
        uqforge_core::validate::len("location columns", 2, locations.ncols())?;
        uqforge_core::validate::finite("locations", locations.as_slice())?;
        uqforge_core::validate::positive("max_edge", self.max_edge)?;
        uqforge_core::validate::in_range("min_angle", self.min_angle, 1.0, 30.0)?;
        let mut points: Vec<[f64; 2]> = (0..locations.nrows())
            .map(|i| [locations[(i, 0)], locations[(i, 1)]])
            .collect();
        points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        points.dedup();
        let hull = convex_hull(&points);
        if hull.len() < 3 {
            return Err(Error::degenerate(
                "mesh around the data",
                "the locations are fewer than three distinct points or all on one line",
            ));
        }
        let diameter = hull
            .iter()
            .flat_map(|a| hull.iter().map(move |b| dist(*a, *b)))
            .fold(0.0, f64::max);
        let extension = self.extension.unwrap_or(0.2 * diameter);
        uqforge_core::validate::positive("extension", extension)?;

        // Grown hull, then its edges subdivided to at most max_edge.
        let mut grown = Vec::with_capacity(16 * hull.len());
        for p in &hull {
            for k in 0..16 {
                let t = std::f64::consts::TAU * k as f64 / 16.0;
                grown.push([p[0] + extension * t.cos(), p[1] + extension * t.sin()]);
            }
        }
        let outer = convex_hull(&grown);
        let mut boundary = Vec::new();
        for (i, a) in outer.iter().enumerate() {
            let b = outer[(i + 1) % outer.len()];
            let pieces = (dist(*a, b) / self.max_edge).ceil().max(1.0) as usize;
            for k in 0..pieces {
                let t = k as f64 / pieces as f64;
                boundary.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
            }
        }
        let area = polygon_area(&outer);
        let cell = 3f64.sqrt() / 4.0 * self.max_edge * self.max_edge;
        // Refinement adds about two triangles per node: area / cell triangles.
        let expected = (area / cell) as usize / 2 + points.len() + boundary.len();
        if expected > self.max_nodes {
            return Err(Error::invalid_parameter(
                "max_edge",
                format!(
                    "{} would give about {expected} nodes (limit {}); use a larger max_edge",
                    self.max_edge, self.max_nodes
                ),
            ));
        }

        let nb = boundary.len();
        let vertices: Vec<Point2<f64>> = boundary
            .iter()
            .chain(&points)
            .map(|p| Point2::new(p[0], p[1]))
            .collect();
        let edges: Vec<[usize; 2]> = (0..nb).map(|i| [i, (i + 1) % nb]).collect();
        let mut conflicts = 0usize;
        let mut cdt = ConstrainedDelaunayTriangulation::<Point2<f64>>::try_bulk_load_cdt(
            vertices,
            edges,
            |_| conflicts += 1,
        )
        .map_err(|e| Error::degenerate("constrained Delaunay triangulation", format!("{e:?}")))?;
        if conflicts > 0 {
            return Err(Error::degenerate(
                "constrained Delaunay triangulation",
                format!("{conflicts} boundary edges crossed each other"),
            ));
        }
        let result = cdt.refine(
            RefinementParameters::<f64>::new()
                .with_max_allowed_area(cell)
                .with_angle_limit(AngleLimit::from_deg(self.min_angle))
                .with_max_additional_vertices(self.max_nodes)
                .exclude_outer_faces(true),
        );
        if !result.refinement_complete {
            return Err(Error::DidNotConverge {
                what: "Delaunay refinement".into(),
                iterations: self.max_nodes,
                residual: f64::NAN,
            });
        }
        let excluded: std::collections::HashSet<_> = result.excluded_faces.into_iter().collect();
        let nodes: Vec<[f64; 2]> = cdt
            .vertices()
            .map(|v| {
                let p = v.position();
                [p.x, p.y]
            })
            .collect();
        let triangles: Vec<[usize; 3]> = cdt
            .inner_faces()
            .filter(|f| !excluded.contains(&f.fix()))
            .map(|f| f.vertices().map(|v| v.fix().index()))
            .collect();
        Mesh::new(nodes, triangles)
    }
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Convex hull by Andrew's monotone chain, counter-clockwise, without collinear points.
pub(crate) fn convex_hull(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut p = points.to_vec();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(2 * p.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f64; 2]>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &q in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0
            {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

fn polygon_area(poly: &[[f64; 2]]) -> f64 {
    let n = poly.len();
    0.5 * (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        .abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::twice_signed_area;

    fn scattered(n: usize) -> DMatrix<f64> {
        let mut rng = uqforge_core::rng::rng_from_seed(11);
        DMatrix::from_fn(n, 2, |_, _| uqforge_core::rng::uniform01(&mut rng))
    }

    #[test]
    fn every_location_is_a_node_and_quality_holds() {
        let locs = scattered(60);
        let b = MeshBuilder::new(0.1).extension(0.25);
        let mesh = b.build(&locs).unwrap();
        for i in 0..locs.nrows() {
            let p = [locs[(i, 0)], locs[(i, 1)]];
            assert!(
                mesh.nodes().iter().any(|q| q == &p),
                "location {i} is not a node"
            );
        }
        let cell = 3f64.sqrt() / 4.0 * 0.01;
        let mut min_angle = f64::INFINITY;
        let mut total = 0.0;
        for t in mesh.triangles() {
            let [a, bb, c] = t.map(|v| mesh.nodes()[v]);
            let area = 0.5 * twice_signed_area(a, bb, c);
            total += area;
            assert!(area <= cell * (1.0 + 1e-9));
            for (p, q, r) in [(a, bb, c), (bb, c, a), (c, a, bb)] {
                let (u, v) = ([q[0] - p[0], q[1] - p[1]], [r[0] - p[0], r[1] - p[1]]);
                let cos = (u[0] * v[0] + u[1] * v[1]) / (u[0].hypot(u[1]) * v[0].hypot(v[1]));
                min_angle = min_angle.min(cos.clamp(-1.0, 1.0).acos().to_degrees());
            }
        }
        assert!(min_angle >= 20.0, "smallest angle {min_angle}");
        // The mesh covers at least the unit square grown by most of the extension.
        assert!(total > 1.0 + 4.0 * 0.2);
        let probe = DMatrix::from_row_slice(2, 2, &[-0.2, 0.5, 0.5, 1.2]);
        assert!(mesh.observation_matrix(&probe).is_ok());
    }

    #[test]
    fn duplicates_share_a_node_and_degenerate_data_are_refused() {
        let mut locs = scattered(10);
        let row = locs.row(3).into_owned();
        locs = locs.insert_row(10, 0.0);
        locs.set_row(10, &row);
        let mesh = MeshBuilder::new(0.3).build(&locs).unwrap();
        assert!(mesh.observation_matrix(&locs).is_ok());
        let line = DMatrix::from_row_slice(3, 2, &[0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        assert!(MeshBuilder::new(0.3).build(&line).is_err());
        assert!(MeshBuilder::new(0.0).build(&scattered(5)).is_err());
        assert!(MeshBuilder::new(1e-5).build(&scattered(5)).is_err()); // too many nodes
        let mut nan = scattered(5);
        nan[(2, 1)] = f64::NAN;
        assert!(MeshBuilder::new(0.3).build(&nan).is_err());
    }

    #[test]
    fn hull_of_a_square_with_inner_points() {
        let pts = [
            [0.0, 0.0],
            [1.0, 0.0],
            [0.5, 0.5],
            [1.0, 1.0],
            [0.0, 1.0],
            [0.5, 0.0],
        ];
        let h = convex_hull(&pts);
        assert_eq!(h.len(), 4);
        assert!((polygon_area(&h) - 1.0).abs() < 1e-15);
    }
}
