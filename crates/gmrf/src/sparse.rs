//! Sparse matrices on a fixed pattern.
//!
//! A sparse Cholesky factorisation splits into a symbolic phase (ordering, elimination tree,
//! supernodes), which depends only on where the non-zeros are, and a numeric phase. Likelihood
//! optimisation evaluates the precision at many parameter values; if every evaluation puts its
//! values on the same pattern, the symbolic phase runs once. The helpers here build that common
//! pattern (the union of the patterns of the terms) and scatter each term onto it, so that a
//! precision $Q(\theta) = \sum_k c_k(\theta) M_k$ costs one pass over the stored values.

use nalgebra_sparse::{CscMatrix, pattern::SparsityPattern};
use uqforge_core::{Error, Result};

/// The union of the patterns of square matrices of equal size (explicit zeros are kept, so
/// that the pattern does not depend on values).
pub(crate) fn union_pattern(terms: &[&CscMatrix<f64>]) -> Result<SparsityPattern> {
    let Some(first) = terms.first() else {
        return Err(Error::EmptyInput {
            what: "matrices for a union pattern".into(),
        });
    };
    let (nr, nc) = (first.nrows(), first.ncols());
    for t in terms {
        if t.nrows() != nr || t.ncols() != nc {
            return Err(Error::DimensionMismatch {
                what: "matrices for a union pattern (rows x columns)".into(),
                expected: nr * nc,
                found: t.nrows() * t.ncols(),
            });
        }
    }
    let mut offsets = Vec::with_capacity(nc + 1);
    offsets.push(0);
    let mut indices = Vec::new();
    let mut column: Vec<usize> = Vec::new();
    for j in 0..nc {
        column.clear();
        for t in terms {
            column.extend_from_slice(t.col(j).row_indices());
        }
        column.sort_unstable();
        column.dedup();
        indices.extend_from_slice(&column);
        offsets.push(indices.len());
    }
    SparsityPattern::try_from_offsets_and_indices(nc, nr, offsets, indices)
        .map_err(|e| Error::degenerate("union sparsity pattern", e))
}

/// The values of `m` laid out on `pattern` (zeros where `m` has no entry).
///
/// # Errors
/// `m` has an entry outside `pattern`, or another shape.
pub(crate) fn scatter(pattern: &SparsityPattern, m: &CscMatrix<f64>) -> Result<Vec<f64>> {
    if m.ncols() != pattern.major_dim() || m.nrows() != pattern.minor_dim() {
        return Err(Error::DimensionMismatch {
            what: "matrix scattered onto a pattern (columns)".into(),
            expected: pattern.major_dim(),
            found: m.ncols(),
        });
    }
    let mut values = vec![0.0; pattern.nnz()];
    let offsets = pattern.major_offsets();
    for j in 0..m.ncols() {
        let lane = pattern.lane(j);
        let col = m.col(j);
        let mut pos = 0;
        for (&i, &v) in col.row_indices().iter().zip(col.values()) {
            while pos < lane.len() && lane[pos] < i {
                pos += 1;
            }
            if pos == lane.len() || lane[pos] != i {
                return Err(Error::degenerate(
                    format!("entry ({i}, {j})"),
                    "it lies outside the fixed sparsity pattern",
                ));
            }
            values[offsets[j] + pos] += v;
        }
    }
    Ok(values)
}

/// A CSC matrix from a pattern and values.
pub(crate) fn on_pattern(pattern: &SparsityPattern, values: Vec<f64>) -> Result<CscMatrix<f64>> {
    CscMatrix::try_from_pattern_and_values(pattern.clone(), values)
        .map_err(|e| Error::degenerate("sparse matrix on a fixed pattern", e))
}

/// Dense copy of a sparse matrix (tests and small checks).
#[cfg(test)]
pub(crate) fn dense(m: &CscMatrix<f64>) -> nalgebra::DMatrix<f64> {
    let mut d = nalgebra::DMatrix::zeros(m.nrows(), m.ncols());
    for (i, j, v) in m.triplet_iter() {
        d[(i, j)] += v;
    }
    d
}

/// `(M + M^T) / 2` on M's pattern, for products that are symmetric in exact arithmetic; the
/// pattern must be symmetric.
pub(crate) fn symmetrise(m: &CscMatrix<f64>) -> Result<CscMatrix<f64>> {
    let t = m.transpose();
    let pattern = union_pattern(&[m, &t])?;
    let a = scatter(&pattern, m)?;
    let b = scatter(&pattern, &t)?;
    on_pattern(
        &pattern,
        a.iter().zip(&b).map(|(x, y)| 0.5 * (x + y)).collect(),
    )
}
