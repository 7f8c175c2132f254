//! Sparse LU factorisation of a square, not necessarily symmetric matrix (faer's, with a
//! fill-reducing column ordering and partial pivoting), for the implicit time steps of
//! [`crate::spacetime`], whose step matrix holds the non-symmetric advection.

use faer::sparse::linalg::LuError;
use faer::sparse::linalg::solvers::Lu;
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, linalg::solvers::SolveCore};
use nalgebra::DVector;
use nalgebra_sparse::CscMatrix;
use uqforge_core::{Error, Result, validate};

/// The LU factors of a sparse matrix $A$, for solves with $A$ and $A^\top$.
#[derive(Debug, Clone)]
pub struct SparseLu {
    n: usize,
    lu: Lu<usize, f64>,
}

impl SparseLu {
    /// Factors `a`; `what` names it in errors.
    ///
    /// # Errors
    /// A non-square or non-finite matrix, or a singular one (no pivot found).
    pub fn factor(a: &CscMatrix<f64>, what: &str) -> Result<Self> {
        let n = a.nrows();
        validate::len(&format!("columns of {what} (square)"), n, a.ncols())?;
        validate::finite(&format!("{what} values"), a.values())?;
        let sym =
            SymbolicSparseColMatRef::new_checked(n, n, a.col_offsets(), None, a.row_indices());
        let m = SparseColMatRef::new(sym, a.values());
        let lu = m.sp_lu().map_err(|e| match e {
            LuError::SymbolicSingular { index } => Error::degenerate(
                what,
                format!("it is singular (no pivot at step {index} of {n})"),
            ),
            LuError::Generic(e) => Error::degenerate(what, format!("{e:?}")),
        })?;
        Ok(Self { n, lu })
    }

    /// $A^{-1} b$.
    ///
    /// # Errors
    /// `b` of another length, or non-finite.
    pub fn solve(&self, b: &DVector<f64>) -> Result<DVector<f64>> {
        validate::len("right-hand side rows", self.n, b.len())?;
        validate::finite("right-hand side", b.as_slice())?;
        let mut x = b.clone();
        self.solve_in_place(x.as_mut_slice(), 1);
        Ok(x)
    }

    /// $A^{-\top} b$.
    ///
    /// # Errors
    /// `b` of another length, or non-finite.
    pub fn solve_transpose(&self, b: &DVector<f64>) -> Result<DVector<f64>> {
        validate::len("right-hand side rows", self.n, b.len())?;
        validate::finite("right-hand side", b.as_slice())?;
        let mut x = b.clone();
        self.solve_transpose_in_place(x.as_mut_slice(), 1);
        Ok(x)
    }

    /// $A^{-1}X$ in place for the `cols` columns of `x` (column-major, $n$ rows each); finite
    /// values are the caller's to check.
    pub(crate) fn solve_in_place(&self, x: &mut [f64], cols: usize) {
        let rhs = MatMut::from_column_major_slice_mut(x, self.n, cols);
        self.lu.solve_in_place_with_conj(Conj::No, rhs);
    }

    /// $A^{-\top}X$ in place for the `cols` columns of `x` (column-major, $n$ rows each);
    /// finite values are the caller's to check.
    pub(crate) fn solve_transpose_in_place(&self, x: &mut [f64], cols: usize) {
        let rhs = MatMut::from_column_major_slice_mut(x, self.n, cols);
        self.lu.solve_transpose_in_place_with_conj(Conj::No, rhs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use nalgebra_sparse::CooMatrix;

    #[test]
    fn solves_a_non_symmetric_system() {
        let dense = DMatrix::from_row_slice(
            4,
            4,
            &[
                4.0, 1.0, 0.0, 0.0, -2.0, 5.0, 1.0, 0.0, 0.0, -3.0, 6.0, 2.0, 1.0, 0.0, -1.0, 3.0,
            ],
        );
        let mut coo = CooMatrix::new(4, 4);
        for ((i, j), &v) in dense.iter().enumerate().map(|(k, v)| ((k % 4, k / 4), v)) {
            if v != 0.0 {
                coo.push(i, j, v);
            }
        }
        let lu = SparseLu::factor(&CscMatrix::from(&coo), "A").unwrap();
        let b = DVector::from_vec(vec![1.0, -2.0, 0.5, 3.0]);
        let x = lu.solve(&b).unwrap();
        assert!((&dense * &x - &b).amax() < 1e-13);
        let xt = lu.solve_transpose(&b).unwrap();
        assert!((dense.transpose() * &xt - &b).amax() < 1e-13);
        assert!(lu.solve(&DVector::zeros(3)).is_err());
        // A singular matrix (an empty column) is named.
        let mut sing = CooMatrix::new(2, 2);
        sing.push(0, 0, 1.0);
        sing.push(1, 0, 1.0);
        let err = SparseLu::factor(&CscMatrix::from(&sing), "step matrix").unwrap_err();
        assert!(err.to_string().contains("step matrix"), "{err}");
    }
}
