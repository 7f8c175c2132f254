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

/// A normal sample of `n` points and `queries` query points (spread `spread`) from `seed`,
/// with their images under $x \mapsto Ax + b$ (`a` row-major): `[x, q, Ax + b, Aq + b]`;
/// `None` when $\lvert \det A\rvert \le 0.1$.
pub(crate) fn affine_case(
    seed: u64,
    a: [f64; 4],
    b: [f64; 2],
    n: usize,
    queries: usize,
    spread: f64,
) -> Option<[DMatrix<f64>; 4]> {
    let a = DMatrix::from_row_slice(2, 2, &a);
    if a.determinant().abs() <= 0.1 {
        return None;
    }
    let x = normal_sample(n, 2, seed);
    let q = normal_sample(queries, 2, seed + 1) * spread;
    let (ax, aq) = (affine(&x, &a, b), affine(&q, &a, b));
    Some([x, q, ax, aq])
}

/// `m` points of $N(0, \text{spread}^2 I_d)$ from `seed`, preceded by the first `k` rows of
/// the sample `x` (queries on sample points test the ties of the exact depths).
pub(crate) fn queries_with_sample_rows(
    x: &DMatrix<f64>,
    m: usize,
    seed: u64,
    spread: f64,
    k: usize,
) -> DMatrix<f64> {
    let mut queries = (normal_sample(m, x.ncols(), seed) * spread).insert_rows(0, k, 0.0);
    for r in 0..k {
        queries.set_row(r, &x.row(r));
    }
    queries
}

/// A 2D normal sample of `n` points from `seed` whose first `count` points are moved by
/// `(shift, shift)`: a contaminated sample for the robust estimators.
pub(crate) fn with_outliers(n: usize, seed: u64, count: usize, shift: f64) -> DMatrix<f64> {
    let mut x = normal_sample(n, 2, seed);
    for i in 0..count {
        x[(i, 0)] += shift;
        x[(i, 1)] += shift;
    }
    x
}

/// The integer grid $\lbrace 0..nx\rbrace \times \lbrace 0..ny\rbrace$ (rows of a 2D
/// sample) followed by the `extra` points: collinear triples, repeated points and queries on
/// sample points, for the exact depths' tie handling.
pub(crate) fn integer_grid(nx: u32, ny: u32, extra: &[[f64; 2]]) -> DMatrix<f64> {
    let mut pts = Vec::new();
    for i in 0..nx {
        for j in 0..ny {
            pts.extend([f64::from(i), f64::from(j)]);
        }
    }
    for p in extra {
        pts.extend(p);
    }
    DMatrix::from_row_slice(pts.len() / 2, 2, &pts)
}
