//! Triangle meshes in the plane, point location and the observation matrix.
//!
//! A mesh is a set of nodes $s_1, \dots, s_m \in \mathbb{R}^2$ and triangles between them. The
//! finite-element space is spanned by the piecewise-linear "hat" functions $\varphi_i$, equal to
//! 1 at node $i$, 0 at every other node and linear on each triangle. A field on the mesh is
//! $x(s) = \sum_i x_i \varphi_i(s)$; at a point $s$ inside triangle $(a, b, c)$ only three hats
//! are non-zero and their values are the barycentric coordinates of $s$:
//!
//! $$ x(s) = \lambda_a(s) x_a + \lambda_b(s) x_b + \lambda_c(s) x_c, \quad
//!    \lambda_a + \lambda_b + \lambda_c = 1, \quad \lambda \ge 0. $$
//!
//! The observation matrix $A$ (one row per observation, one column per node) holds these
//! weights, so that the field at the data locations is $A x$
//! ([`Mesh::observation_matrix`]). A location outside every triangle has no such row: it is
//! reported as an error naming the point, never silently dropped or extrapolated.
//!
//! Point location uses a bucket grid over the mesh's bounding box (about one triangle per
//! bucket): each triangle is listed in the buckets its bounding box overlaps, and a query tests
//! only the triangles of its bucket. Building costs $O(m)$, a query $O(1)$ on meshes of
//! roughly uniform triangle sizes.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_gmrf::Mesh;
//!
//! // The unit square cut into 4 x 4 cells, two triangles each.
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 4)?;
//! assert_eq!((mesh.n_nodes(), mesh.n_triangles()), (25, 32));
//! let points = DMatrix::from_row_slice(2, 2, &[0.1, 0.2, 0.5, 0.5]);
//! let a = mesh.observation_matrix(&points)?;
//! // Each row holds barycentric weights: non-negative and summing to one.
//! let row_sum: f64 = a.triplet_iter().filter(|t| t.0 == 0).map(|t| *t.2).sum();
//! assert!((row_sum - 1.0).abs() < 1e-14);
//! // Outside the mesh: an error, not a silent zero row.
//! assert!(mesh.observation_matrix(&DMatrix::from_row_slice(1, 2, &[1.5, 0.5])).is_err());
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::DMatrix;
use nalgebra_sparse::{CooMatrix, CscMatrix};
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result};

/// A triangle mesh in the plane: node coordinates and counter-clockwise triangles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mesh {
    nodes: Vec<[f64; 2]>,
    triangles: Vec<[usize; 3]>,
    #[serde(skip)]
    locator: Option<Locator>,
}

impl Mesh {
    /// A mesh from node coordinates and triangles (indices into `nodes`).
    ///
    /// Triangles are re-oriented counter-clockwise.
    ///
    /// # Errors
    /// Empty input, non-finite coordinates, two nodes at one location, indices out of range, a
    /// triangle that repeats a node or has zero area, and nodes that belong to no triangle (they would make the FEM matrices
    /// singular).
    pub fn new(nodes: Vec<[f64; 2]>, triangles: Vec<[usize; 3]>) -> Result<Self> {
        if nodes.is_empty() || triangles.is_empty() {
            return Err(Error::EmptyInput {
                what: "mesh nodes and triangles".into(),
            });
        }
        for (i, p) in nodes.iter().enumerate() {
            for (k, &v) in p.iter().enumerate() {
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        what: "mesh node coordinates".into(),
                        index: 2 * i + k,
                        value: v,
                    });
                }
            }
        }
        let mut order: Vec<usize> = (0..nodes.len()).collect();
        order.sort_by(|&a, &b| {
            nodes[a][0]
                .total_cmp(&nodes[b][0])
                .then(nodes[a][1].total_cmp(&nodes[b][1]))
        });
        if let Some(w) = order.windows(2).find(|w| nodes[w[0]] == nodes[w[1]]) {
            let (a, b) = (w[0].min(w[1]), w[0].max(w[1]));
            return Err(Error::degenerate(
                format!("mesh nodes {a} and {b}"),
                format!("they are at the same location {:?}; merge them", nodes[a]),
            ));
        }
        let mut used = vec![false; nodes.len()];
        let mut triangles = triangles;
        for (t, tri) in triangles.iter_mut().enumerate() {
            if let Some(&bad) = tri.iter().find(|&&v| v >= nodes.len()) {
                return Err(Error::invalid_parameter(
                    "triangles",
                    format!(
                        "triangle {t} refers to node {bad}, but the mesh has {} nodes",
                        nodes.len()
                    ),
                ));
            }
            let area2 = twice_signed_area(nodes[tri[0]], nodes[tri[1]], nodes[tri[2]]);
            let scale = edge_scale(nodes[tri[0]], nodes[tri[1]], nodes[tri[2]]);
            if tri[0] == tri[1]
                || tri[1] == tri[2]
                || tri[0] == tri[2]
                || area2.abs() <= 1e-14 * scale
            {
                return Err(Error::degenerate(
                    format!("triangle {t} {tri:?}"),
                    "it has zero area (repeated or collinear nodes)",
                ));
            }
            if area2 < 0.0 {
                tri.swap(1, 2);
            }
            for &v in tri.iter() {
                used[v] = true;
            }
        }
        if let Some(lonely) = used.iter().position(|&u| !u) {
            return Err(Error::degenerate(
                format!("mesh node {lonely}"),
                "it belongs to no triangle; remove it",
            ));
        }
        let locator = Some(Locator::build(&nodes, &triangles));
        Ok(Self {
            nodes,
            triangles,
            locator,
        })
    }

    /// The regular mesh of the rectangle `x_range` x `y_range` with `nx` x `ny` cells, each cut
    /// into two triangles along the same diagonal.
    ///
    /// Node `i + j (nx + 1)` sits at column `i`, row `j` (rows by increasing y): node values
    /// read row by row, as the CLI's `gmrf simulate` prints them. On this mesh the stiffness
    /// matrix is the five-point Laplacian stencil.
    ///
    /// # Errors
    /// Fewer than one cell in a direction, or an empty or non-finite range.
    pub fn regular_grid(
        x_range: [f64; 2],
        y_range: [f64; 2],
        nx: usize,
        ny: usize,
    ) -> Result<Self> {
        uqforge_core::validate::at_least("nx", nx, 1)?;
        uqforge_core::validate::at_least("ny", ny, 1)?;
        for (name, r) in [("x_range", x_range), ("y_range", y_range)] {
            if !(r[0].is_finite() && r[1].is_finite() && r[0] < r[1]) {
                return Err(Error::invalid_parameter(
                    name,
                    format!("must be finite with lower < upper, got {r:?}"),
                ));
            }
        }
        let (dx, dy) = (
            (x_range[1] - x_range[0]) / nx as f64,
            (y_range[1] - y_range[0]) / ny as f64,
        );
        let mut nodes = Vec::with_capacity((nx + 1) * (ny + 1));
        for j in 0..=ny {
            for i in 0..=nx {
                nodes.push([x_range[0] + i as f64 * dx, y_range[0] + j as f64 * dy]);
            }
        }
        let id = |i: usize, j: usize| i + j * (nx + 1);
        let mut triangles = Vec::with_capacity(2 * nx * ny);
        for j in 0..ny {
            for i in 0..nx {
                triangles.push([id(i, j), id(i + 1, j), id(i + 1, j + 1)]);
                triangles.push([id(i, j), id(i + 1, j + 1), id(i, j + 1)]);
            }
        }
        Self::new(nodes, triangles)
    }

    /// Number of nodes (the dimension of the field).
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Number of triangles.
    pub fn n_triangles(&self) -> usize {
        self.triangles.len()
    }

    /// Node coordinates.
    pub fn nodes(&self) -> &[[f64; 2]] {
        &self.nodes
    }

    /// Triangles as counter-clockwise node indices.
    pub fn triangles(&self) -> &[[usize; 3]] {
        &self.triangles
    }

    /// Node coordinates as an `m x 2` matrix (rows = nodes).
    pub fn node_matrix(&self) -> DMatrix<f64> {
        DMatrix::from_fn(self.nodes.len(), 2, |i, k| self.nodes[i][k])
    }

    /// The triangle holding `point` and the point's barycentric coordinates in it, or `None`
    /// outside the mesh.
    pub fn locate(&self, point: [f64; 2]) -> Option<(usize, [f64; 3])> {
        match &self.locator {
            Some(l) => l.locate(self, point),
            None => Locator::build(&self.nodes, &self.triangles).locate(self, point),
        }
    }

    /// The observation matrix $A$ ($n \times m$): row $k$ holds the barycentric weights of
    /// `points` row $k$ on the nodes of its triangle, so that $A x$ is the field at the points.
    ///
    /// # Errors
    /// `points` without two columns, non-finite coordinates, or a point outside the mesh (the
    /// first one is named, with its coordinates and the number of such points).
    pub fn observation_matrix(&self, points: &DMatrix<f64>) -> Result<CscMatrix<f64>> {
        uqforge_core::validate::len("point coordinates (columns)", 2, points.ncols())?;
        let n = points.nrows();
        // A deserialised mesh has no locator: build one for all the points, not one per point.
        let built;
        let locator = match &self.locator {
            Some(l) => l,
            None => {
                built = Locator::build(&self.nodes, &self.triangles);
                &built
            }
        };
        let mut coo = CooMatrix::new(n, self.nodes.len());
        let mut outside = Vec::new();
        for k in 0..n {
            let p = [points[(k, 0)], points[(k, 1)]];
            if let Some(&v) = p.iter().find(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    what: "point coordinates".into(),
                    index: 2 * k,
                    value: v,
                });
            }
            match locator.locate(self, p) {
                Some((t, w)) => {
                    for (&node, &weight) in self.triangles[t].iter().zip(&w) {
                        if weight != 0.0 {
                            coo.push(k, node, weight);
                        }
                    }
                }
                None => outside.push(k),
            }
        }
        if let Some(&first) = outside.first() {
            return Err(Error::invalid_parameter(
                "points",
                format!(
                    "{} point(s) lie outside the mesh, the first is row {first} at ({}, {}); \
                     extend the mesh or drop them",
                    outside.len(),
                    points[(first, 0)],
                    points[(first, 1)]
                ),
            ));
        }
        Ok(CscMatrix::from(&coo))
    }
}

/// Twice the signed area of triangle (a, b, c): positive when counter-clockwise.
pub(crate) fn twice_signed_area(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])
}

fn edge_scale(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    let d = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2);
    d(a, b).max(d(b, c)).max(d(a, c))
}

/// Bucket grid over the bounding box; bucket `(i, j)` lists the triangles whose bounding box
/// overlaps it (CSR layout).
#[derive(Debug, Clone)]
struct Locator {
    origin: [f64; 2],
    cell: [f64; 2],
    shape: [usize; 2],
    offsets: Vec<usize>,
    items: Vec<usize>,
}

impl Locator {
    fn build(nodes: &[[f64; 2]], triangles: &[[usize; 3]]) -> Self {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in nodes {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        let width = [
            (hi[0] - lo[0]).max(f64::MIN_POSITIVE),
            (hi[1] - lo[1]).max(f64::MIN_POSITIVE),
        ];
        // About one triangle per bucket, with buckets roughly square.
        let target = triangles.len().max(1) as f64;
        let aspect = width[0] / width[1];
        let nx = ((target * aspect).sqrt().ceil() as usize).clamp(1, 4096);
        let ny = ((target / aspect).sqrt().ceil() as usize).clamp(1, 4096);
        let cell = [width[0] / nx as f64, width[1] / ny as f64];
        let range = |tri: &[usize; 3], k: usize, n: usize| {
            let (mut a, mut b) = (f64::INFINITY, f64::NEG_INFINITY);
            for &v in tri {
                a = a.min(nodes[v][k]);
                b = b.max(nodes[v][k]);
            }
            let f = |x: f64| (((x - lo[k]) / cell[k]).floor().max(0.0) as usize).min(n - 1);
            (f(a), f(b))
        };
        let mut counts = vec![0usize; nx * ny + 1];
        let mut spans = Vec::with_capacity(triangles.len());
        for tri in triangles {
            let (x0, x1) = range(tri, 0, nx);
            let (y0, y1) = range(tri, 1, ny);
            spans.push((x0, x1, y0, y1));
            for j in y0..=y1 {
                for i in x0..=x1 {
                    counts[i + j * nx + 1] += 1;
                }
            }
        }
        for b in 1..counts.len() {
            counts[b] += counts[b - 1];
        }
        let mut next = counts.clone();
        let mut items = vec![0usize; counts[nx * ny]];
        for (t, &(x0, x1, y0, y1)) in spans.iter().enumerate() {
            for j in y0..=y1 {
                for i in x0..=x1 {
                    items[next[i + j * nx]] = t;
                    next[i + j * nx] += 1;
                }
            }
        }
        Self {
            origin: lo,
            cell,
            shape: [nx, ny],
            offsets: counts,
            items,
        }
    }

    fn locate(&self, mesh: &Mesh, p: [f64; 2]) -> Option<(usize, [f64; 3])> {
        let mut b = [0usize; 2];
        for k in 0..2 {
            let x = (p[k] - self.origin[k]) / self.cell[k];
            // A point on the box's far edge belongs to the last bucket; beyond it, to none.
            if !(x >= -1e-9 && x <= self.shape[k] as f64 * (1.0 + 1e-12) + 1e-9) {
                return None;
            }
            b[k] = (x.max(0.0) as usize).min(self.shape[k] - 1);
        }
        let bucket = b[0] + b[1] * self.shape[0];
        let mut best: Option<(usize, [f64; 3], f64)> = None;
        for &t in &self.items[self.offsets[bucket]..self.offsets[bucket + 1]] {
            let [a, bb, c] = mesh.triangles[t].map(|v| mesh.nodes[v]);
            let area = twice_signed_area(a, bb, c);
            let w = [
                twice_signed_area(p, bb, c) / area,
                twice_signed_area(a, p, c) / area,
                twice_signed_area(a, bb, p) / area,
            ];
            let worst = w[0].min(w[1]).min(w[2]);
            if worst >= -1e-12 && best.is_none_or(|(_, _, m)| worst > m) {
                best = Some((t, w, worst));
            }
        }
        best.map(|(t, w, _)| {
            // Clip the rounding-level negatives so that rows are exact convex weights.
            let mut w = w.map(|x| x.max(0.0));
            let s: f64 = w.iter().sum();
            for x in &mut w {
                *x /= s;
            }
            (t, w)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barycentric_weights_reproduce_linear_functions() {
        // Hat functions reproduce every linear function exactly: A (a + b x + c y) at the nodes
        // equals a + b x + c y at the points.
        let mesh = Mesh::regular_grid([-1.0, 2.0], [0.0, 1.5], 7, 5).unwrap();
        let f = |p: &[f64; 2]| 0.3 - 1.7 * p[0] + 2.2 * p[1];
        let values: Vec<f64> = mesh.nodes().iter().map(f).collect();
        let pts = DMatrix::from_row_slice(4, 2, &[-1.0, 0.0, 2.0, 1.5, 0.123, 0.777, 1.999, 0.001]);
        let a = mesh.observation_matrix(&pts).unwrap();
        for k in 0..4 {
            let got: f64 = a
                .triplet_iter()
                .filter(|t| t.0 == k)
                .map(|t| t.2 * values[t.1])
                .sum();
            let p = [pts[(k, 0)], pts[(k, 1)]];
            assert!((got - f(&p)).abs() < 1e-13, "{got} vs {}", f(&p));
        }
    }

    #[test]
    fn points_outside_are_named() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 3, 3).unwrap();
        let pts = DMatrix::from_row_slice(3, 2, &[0.5, 0.5, 0.5, 1.01, -0.2, 0.3]);
        let msg = mesh.observation_matrix(&pts).unwrap_err().to_string();
        assert!(msg.contains("2 point(s)") && msg.contains("row 1"), "{msg}");
        let nan = DMatrix::from_row_slice(1, 2, &[f64::NAN, 0.5]);
        assert!(matches!(
            mesh.observation_matrix(&nan),
            Err(Error::NonFinite { .. })
        ));
    }

    #[test]
    fn a_deserialised_mesh_locates_points() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 4, 4).unwrap();
        let text = serde_json::to_string(&mesh).unwrap();
        let back: Mesh = serde_json::from_str(&text).unwrap();
        let pts = DMatrix::from_row_slice(2, 2, &[0.3, 0.7, 0.9, 0.05]);
        let (a, b) = (
            mesh.observation_matrix(&pts).unwrap(),
            back.observation_matrix(&pts).unwrap(),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn bad_meshes_are_refused() {
        let nodes = vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]];
        assert!(Mesh::new(nodes.clone(), vec![[0, 1, 2]]).is_err()); // node 3 unused
        assert!(Mesh::new(nodes.clone(), vec![[0, 1, 4]]).is_err());
        assert!(Mesh::new(nodes.clone(), vec![[0, 1, 1], [1, 2, 3]]).is_err());
        let twice = vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]];
        let err = Mesh::new(twice, vec![[0, 1, 2], [0, 3, 2]]).unwrap_err();
        assert!(err.to_string().contains("nodes 1 and 3"), "{err}");
        let collinear = vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]];
        assert!(Mesh::new(collinear, vec![[0, 1, 2]]).is_err());
        // Clockwise input is re-oriented.
        let m = Mesh::new(nodes[..3].to_vec(), vec![[0, 2, 1]]).unwrap();
        let [a, b, c] = m.triangles()[0].map(|v| m.nodes()[v]);
        assert!(twice_signed_area(a, b, c) > 0.0);
    }

    #[test]
    fn every_node_is_located_in_a_triangle_that_holds_it() {
        let mesh = Mesh::regular_grid([0.0, 3.0], [0.0, 1.0], 9, 4).unwrap();
        for (i, p) in mesh.nodes().iter().enumerate() {
            let (t, w) = mesh.locate(*p).unwrap();
            let k = mesh.triangles()[t].iter().position(|&v| v == i).unwrap();
            assert!((w[k] - 1.0).abs() < 1e-12);
        }
    }
}
