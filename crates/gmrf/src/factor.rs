//! Sparse Cholesky factorisation of precision matrices, through faer.
//!
//! A GMRF $x \sim N(\mu, Q^{-1})$ is used through the factorisation
//!
//! $$ P Q P^\top = L L^\top , $$
//!
//! with $P$ a fill-reducing permutation (approximate minimum degree) and $L$ lower triangular.
//! Everything follows from it:
//!
//! * $\log\det Q = 2 \sum_i \log L_{ii}$;
//! * $Q^{-1} b = P^\top L^{-\top} L^{-1} P b$;
//! * $x = \mu + P^\top L^{-\top} z$ with $z \sim N(0, I)$ has covariance
//!   $P^\top L^{-\top} L^{-1} P = Q^{-1}$ (sampling without ever forming $Q^{-1}$);
//! * the entries of $Q^{-1}$ on the pattern of $L$ ([`crate::selinv`]).
//!
//! The work splits into a **symbolic** phase, which needs only the sparsity pattern (ordering,
//! elimination tree, supernodes), and a **numeric** phase. [`SymbolicCholesky::analyse`] runs
//! the first once per pattern; [`SymbolicCholesky::factor`] runs the second for each new
//! parameter value, which is what likelihood optimisation needs (every precision of a
//! [`crate::matern::SpdeOperator`] shares one pattern).
//!
//! The numeric phase is faer's supernodal left-looking $LL^\top$ (dense blocks for groups of
//! columns with the same structure below the diagonal), sequential. Why faer: it is pure Rust,
//! the fastest sparse Cholesky available to Rust (measured here at 0.22-0.29x CHOLMOD's time
//! on SPDE precisions of 1e4 to 2.5e5 nodes, 0.6x at 1e6; `docs/benchmarks.md`), and it exposes the supernodal blocks that the selected inverse
//! walks; nalgebra-sparse's Cholesky has no fill-reducing ordering (6-10x slower). faer stays
//! an implementation detail: the public types are nalgebra's.
//!
//! ```
//! use nalgebra::DVector;
//! use uqforge_gmrf::{Mesh, fem::Fem, matern::{Matern, SpdeOperator}, factor::SymbolicCholesky};
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 20, 20)?;
//! let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
//! let symbolic = SymbolicCholesky::analyse(spde.pattern())?;
//! for range in [0.2, 0.5] {
//!     let q = spde.precision(&Matern::from_range_sigma(2, range, 1.0)?)?;
//!     let chol = symbolic.factor(&q)?; // numeric phase only
//!     let b = DVector::from_element(q.nrows(), 1.0);
//!     let x = chol.solve(&b)?;
//!     let residual = (&q * &x - &b).norm() / b.norm();
//!     assert!(residual < 1e-10);
//!     assert!(chol.log_determinant().is_finite());
//! }
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::sync::Arc;

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::LltRegularization;
use faer::linalg::solvers::LltError;
use faer::sparse::linalg::SupernodalThreshold;
use faer::sparse::linalg::cholesky::{
    CholeskySymbolicParams, LltRef, SymbolicCholeskyRaw, SymmetricOrdering,
    factorize_symbolic_cholesky, supernodal,
};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par, Side};
use nalgebra::{DMatrix, DMatrixView, DVector};
use nalgebra_sparse::{CscMatrix, pattern::SparsityPattern};
use uqforge_core::{Error, Result};

/// The symbolic Cholesky analysis of one sparsity pattern: fill-reducing ordering and
/// supernodal structure. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct SymbolicCholesky {
    inner: Arc<Symbolic>,
}

#[derive(Debug)]
struct Symbolic {
    chol: faer::sparse::linalg::cholesky::SymbolicCholesky<usize>,
    col_offsets: Vec<usize>,
    row_indices: Vec<usize>,
    /// `super_of[c]`: the supernode holding column `c` of $L$ (permuted order).
    super_of: Vec<usize>,
    /// Forward and inverse permutation: row `i` of $P Q P^\top$ is row `fwd[i]` of $Q$.
    fwd: Vec<usize>,
    inv: Vec<usize>,
}

impl SymbolicCholesky {
    /// Analyse a square, structurally symmetric pattern (approximate minimum degree ordering,
    /// supernodal structure).
    ///
    /// # Errors
    /// A non-square or empty pattern, or a pattern without its full diagonal.
    pub fn analyse(pattern: &SparsityPattern) -> Result<Self> {
        let n = pattern.major_dim();
        if n == 0 {
            return Err(Error::EmptyInput {
                what: "precision matrix".into(),
            });
        }
        if pattern.minor_dim() != n {
            return Err(Error::DimensionMismatch {
                what: "precision matrix (rows must equal columns)".into(),
                expected: n,
                found: pattern.minor_dim(),
            });
        }
        if let Some(j) = (0..n).find(|&j| pattern.lane(j).binary_search(&j).is_err()) {
            return Err(Error::NotPositiveDefinite {
                what: format!("precision matrix: column {j} has no diagonal entry"),
            });
        }
        let col_offsets = pattern.major_offsets().to_vec();
        let row_indices = pattern.minor_indices().to_vec();
        let sym = SymbolicSparseColMatRef::new_checked(n, n, &col_offsets, None, &row_indices);
        let params = CholeskySymbolicParams {
            supernodal_flop_ratio_threshold: SupernodalThreshold::FORCE_SUPERNODAL,
            ..Default::default()
        };
        let chol = factorize_symbolic_cholesky(sym, Side::Lower, SymmetricOrdering::Amd, params)
            .map_err(|e| Error::degenerate("symbolic Cholesky analysis", format!("{e:?}")))?;
        let (fwd, inv) = match chol.perm() {
            Some(p) => {
                let (f, i) = p.arrays();
                (f.to_vec(), i.to_vec())
            }
            None => ((0..n).collect(), (0..n).collect()),
        };
        let SymbolicCholeskyRaw::Supernodal(sn) = chol.raw() else {
            return Err(Error::degenerate(
                "symbolic Cholesky analysis",
                "faer returned a simplicial structure although a supernodal one was asked for",
            ));
        };
        let mut super_of = vec![0; n];
        for s in 0..sn.n_supernodes() {
            for c in &mut super_of[sn.supernode_begin()[s]..sn.supernode_end()[s]] {
                *c = s;
            }
        }
        Ok(Self {
            inner: Arc::new(Symbolic {
                chol,
                col_offsets,
                row_indices,
                super_of,
                fwd,
                inv,
            }),
        })
    }

    /// Dimension of the matrices this analysis serves.
    pub fn n(&self) -> usize {
        self.inner.super_of.len()
    }

    /// Number of entries of $L$ on and below the diagonal (the fill).
    pub fn factor_nnz(&self) -> usize {
        let sn = self.supernodal();
        (0..sn.n_supernodes())
            .map(|s| {
                let w = sn.supernode_end()[s] - sn.supernode_begin()[s];
                w * (w + 1) / 2 + w * sn.supernode(s).pattern().len()
            })
            .sum()
    }

    /// The numeric factorisation of `q`, which must have exactly the analysed pattern.
    ///
    /// Only the lower triangle of `q` is read; `q` is assumed symmetric.
    ///
    /// # Errors
    /// Another pattern ([`Error::DimensionMismatch`] or [`Error::Degenerate`]), non-finite
    /// values, or a matrix that is not positive definite ([`Error::NotPositiveDefinite`], with
    /// the failing pivot as a column of `q`).
    pub fn factor(&self, q: &CscMatrix<f64>) -> Result<Cholesky> {
        let s = &self.inner;
        let n = self.n();
        if q.nrows() != n || q.ncols() != n {
            return Err(Error::DimensionMismatch {
                what: "precision matrix rows (against its symbolic analysis)".into(),
                expected: n,
                found: q.nrows(),
            });
        }
        if q.col_offsets() != s.col_offsets.as_slice()
            || q.row_indices() != s.row_indices.as_slice()
        {
            return Err(Error::degenerate(
                "precision matrix",
                "its sparsity pattern differs from the one analysed; analyse it again",
            ));
        }
        uqforge_core::validate::finite("precision matrix values", q.values())?;
        let a = SparseColMatRef::new(
            SymbolicSparseColMatRef::new_checked(n, n, &s.col_offsets, None, &s.row_indices),
            q.values(),
        );
        let mut values = vec![0.0; s.chol.len_val()];
        let req = s
            .chol
            .factorize_numeric_llt_scratch::<f64>(Par::Seq, Default::default());
        let mut mem = MemBuffer::try_new(req).map_err(|_| out_of_memory("Cholesky workspace"))?;
        let stack = MemStack::new(&mut mem);
        s.chol
            .factorize_numeric_llt(
                &mut values,
                a,
                Side::Lower,
                LltRegularization::default(),
                Par::Seq,
                stack,
                Default::default(),
            )
            .map_err(|e| match e {
                LltError::NonPositivePivot { index } => Error::NotPositiveDefinite {
                    what: format!(
                        "precision matrix: non-positive pivot at column {} of {n}",
                        s.fwd.get(index).copied().unwrap_or(index)
                    ),
                },
            })?;
        Ok(Cholesky {
            symbolic: self.clone(),
            values,
        })
    }

    pub(crate) fn supernodal(&self) -> &supernodal::SymbolicSupernodalCholesky<usize> {
        match self.inner.chol.raw() {
            SymbolicCholeskyRaw::Supernodal(sn) => sn,
            // `analyse` refuses any other structure.
            SymbolicCholeskyRaw::Simplicial(_) => {
                unreachable!("supernodal structure checked in analyse")
            }
        }
    }

    pub(crate) fn super_of(&self) -> &[usize] {
        &self.inner.super_of
    }

    pub(crate) fn fwd(&self) -> &[usize] {
        &self.inner.fwd
    }

    pub(crate) fn inv(&self) -> &[usize] {
        &self.inner.inv
    }
}

fn out_of_memory(what: &str) -> Error {
    Error::degenerate(what, "out of memory")
}

/// A numeric Cholesky factorisation $P Q P^\top = L L^\top$.
#[derive(Debug, Clone)]
pub struct Cholesky {
    symbolic: SymbolicCholesky,
    values: Vec<f64>,
}

impl Cholesky {
    /// The symbolic analysis this factor was computed with.
    pub fn symbolic(&self) -> &SymbolicCholesky {
        &self.symbolic
    }

    /// Dimension of $Q$.
    pub fn n(&self) -> usize {
        self.symbolic.n()
    }

    /// $\log\det Q = 2 \sum_i \log L_{ii}$.
    pub fn log_determinant(&self) -> f64 {
        let sn = self.symbolic.supernodal();
        let l = supernodal::SupernodalLltRef::new(sn, &self.values);
        let mut sum = 0.0;
        for s in 0..sn.n_supernodes() {
            let block = l.supernode(s).val();
            for j in 0..block.ncols() {
                sum += block[(j, j)].ln();
            }
        }
        2.0 * sum
    }

    /// $Q^{-1} b$.
    ///
    /// # Errors
    /// `b` of another length, or non-finite.
    pub fn solve(&self, b: &DVector<f64>) -> Result<DVector<f64>> {
        let x = self.solve_matrix(&DMatrix::from_column_slice(b.len(), 1, b.as_slice()))?;
        Ok(DVector::from_column_slice(x.as_slice()))
    }

    /// $Q^{-1} B$ for a matrix of right-hand sides.
    ///
    /// # Errors
    /// `b` with another number of rows, or non-finite.
    pub fn solve_matrix(&self, b: &DMatrix<f64>) -> Result<DMatrix<f64>> {
        self.check_rhs(b)?;
        let mut x = b.clone();
        let k = x.ncols();
        self.solve_in_place(x.as_mut_slice(), k)?;
        Ok(x)
    }

    /// $Q^{-1}X$ in place for the `k` columns of `x` (column-major, $n$ rows each; finite
    /// values are the caller's to check).
    pub(crate) fn solve_in_place(&self, x: &mut [f64], k: usize) -> Result<()> {
        let chol = &self.symbolic.inner.chol;
        let req = chol.solve_in_place_scratch::<f64>(k, Par::Seq);
        let mut mem = MemBuffer::try_new(req).map_err(|_| out_of_memory("solve workspace"))?;
        let stack = MemStack::new(&mut mem);
        let rhs = MatMut::from_column_major_slice_mut(x, self.n(), k);
        LltRef::new(chol, &self.values).solve_in_place_with_conj(Conj::No, rhs, Par::Seq, stack);
        Ok(())
    }

    /// $P^\top L^{-\top} Z$ (column by column): for $Z$ with independent standard normal
    /// entries, each column is a draw from $N(0, Q^{-1})$.
    ///
    /// # Errors
    /// `z` with another number of rows, or non-finite.
    pub fn inverse_transpose_factor_times(&self, z: &DMatrix<f64>) -> Result<DMatrix<f64>> {
        self.check_rhs(z)?;
        let (n, k) = z.shape();
        let mut w = z.clone();
        let sn = self.symbolic.supernodal();
        let req = sn.solve_in_place_scratch::<f64>(k, Par::Seq);
        let mut mem = MemBuffer::try_new(req).map_err(|_| out_of_memory("solve workspace"))?;
        let stack = MemStack::new(&mut mem);
        let rhs = MatMut::from_column_major_slice_mut(w.as_mut_slice(), n, k);
        supernodal::SupernodalLltRef::new(sn, &self.values).l_transpose_solve_with_conj(
            Conj::No,
            rhs,
            Par::Seq,
            stack,
        );
        // Undo the permutation: x = P^T w, i.e. x[fwd[i]] = w[i].
        let fwd = self.symbolic.fwd();
        let mut x = DMatrix::zeros(n, k);
        for c in 0..k {
            for i in 0..n {
                x[(fwd[i], c)] = w[(i, c)];
            }
        }
        Ok(x)
    }

    /// $L^{-1}PW$, the whitening half of a solve: $(L^{-1}PW)^\top(L^{-1}PW) = W^\top Q^{-1}W$
    /// (the counterpart of [`Self::inverse_transpose_factor_times`]).
    ///
    /// # Errors
    /// `w` with another number of rows, or non-finite.
    pub fn factor_inverse_times(&self, w: DMatrixView<'_, f64>) -> Result<DMatrix<f64>> {
        uqforge_core::validate::len("right-hand side rows", self.n(), w.nrows())?;
        let (n, k) = w.shape();
        // y = P w, i.e. y[i] = w[fwd[i]].
        let fwd = self.symbolic.fwd();
        let y = DMatrix::from_fn(n, k, |i, c| w[(fwd[i], c)]);
        uqforge_core::validate::finite("right-hand side", y.as_slice())?;
        let mut y = y;
        self.factor_inverse_in_place(y.as_mut_slice(), k)?;
        Ok(y)
    }

    /// $L^{-1}PW$ into `y` for the `k` columns of `w` (column-major, $n$ rows each; finite
    /// values are the caller's to check).
    pub(crate) fn factor_inverse_times_into(
        &self,
        w: &[f64],
        k: usize,
        y: &mut [f64],
    ) -> Result<()> {
        let (n, fwd) = (self.n(), self.symbolic.fwd());
        for (yc, wc) in y.chunks_exact_mut(n).zip(w.chunks_exact(n)).take(k) {
            for (yi, &f) in yc.iter_mut().zip(fwd) {
                *yi = wc[f];
            }
        }
        self.factor_inverse_in_place(y, k)
    }

    /// $L^{-1}y$ in place for the `k` columns of the (permuted) `y`.
    fn factor_inverse_in_place(&self, y: &mut [f64], k: usize) -> Result<()> {
        let n = self.n();
        let sn = self.symbolic.supernodal();
        let req = sn.solve_in_place_scratch::<f64>(k, Par::Seq);
        let mut mem = MemBuffer::try_new(req).map_err(|_| out_of_memory("solve workspace"))?;
        let stack = MemStack::new(&mut mem);
        let rhs = MatMut::from_column_major_slice_mut(y, n, k);
        supernodal::SupernodalLltRef::new(sn, &self.values).l_solve_with_conj(
            Conj::No,
            rhs,
            Par::Seq,
            stack,
        );
        Ok(())
    }

    /// `count` independent draws from $N(0, Q^{-1})$ (columns), from standard normals of the
    /// ChaCha8 stream of `seed`.
    ///
    /// # Errors
    /// None in practice (kept fallible for a uniform API).
    pub fn sample(&self, count: usize, seed: u64) -> Result<DMatrix<f64>> {
        let mut rng = uqforge_core::rng::rng_from_seed(seed);
        let z = DMatrix::from_fn(self.n(), count, |_, _| {
            uqforge_core::rng::standard_normal(&mut rng)
        });
        self.inverse_transpose_factor_times(&z)
    }

    fn check_rhs(&self, b: &DMatrix<f64>) -> Result<()> {
        uqforge_core::validate::len("right-hand side rows", self.n(), b.nrows())?;
        uqforge_core::validate::finite("right-hand side", b.as_slice())
    }

    pub(crate) fn values(&self) -> &[f64] {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Mesh,
        fem::Fem,
        matern::{Matern, SpdeOperator},
        sparse::dense,
    };

    fn small() -> (CscMatrix<f64>, SymbolicCholesky) {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 5, 4).unwrap();
        let op = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 2).unwrap();
        let q = op
            .precision(&Matern::from_range_sigma(2, 0.4, 1.3).unwrap())
            .unwrap();
        let s = SymbolicCholesky::analyse(op.pattern()).unwrap();
        (q, s)
    }

    #[test]
    fn log_determinant_and_solve_match_dense() {
        let (q, s) = small();
        let chol = s.factor(&q).unwrap();
        let qd = dense(&q);
        let dense_chol = qd.clone().cholesky().unwrap();
        let logdet: f64 = 2.0 * dense_chol.l().diagonal().map(f64::ln).sum();
        assert!((chol.log_determinant() - logdet).abs() < 1e-10 * logdet.abs().max(1.0));
        let b = DMatrix::from_fn(q.nrows(), 3, |i, j| (i as f64 * 0.37 + j as f64).sin());
        let x = chol.solve_matrix(&b).unwrap();
        assert!((dense_chol.solve(&b) - x).abs().max() < 1e-9);
    }

    #[test]
    fn sampling_map_has_covariance_q_inverse() {
        // S = P^T L^{-T} applied to the identity: S S^T must be Q^{-1}.
        let (q, s) = small();
        let chol = s.factor(&q).unwrap();
        let n = q.nrows();
        let map = chol
            .inverse_transpose_factor_times(&DMatrix::identity(n, n))
            .unwrap();
        let cov = &map * map.transpose();
        let inv = dense(&q).try_inverse().unwrap();
        assert!((cov - &inv).abs().max() < 1e-9 * inv.abs().max());
        // Its counterpart whitens: (L^-1 P W)'(L^-1 P W) = W' Q^-1 W.
        let w = DMatrix::from_fn(n, 4, |i, j| ((i * 7 + j * 3) as f64 * 0.61).cos());
        let y = chol.factor_inverse_times(w.as_view()).unwrap();
        let gram = y.transpose() * &y;
        let direct = w.transpose() * &inv * &w;
        assert!((gram - &direct).abs().max() < 1e-9 * direct.abs().max());
        assert!(chol.factor_inverse_times(w.rows(0, 3)).is_err());
    }

    #[test]
    fn refusals_name_the_problem() {
        let (q, s) = small();
        // Another pattern.
        let other = CscMatrix::identity(q.nrows());
        assert!(s.factor(&other).is_err());
        // Not positive definite: flip the sign of the matrix.
        let mut neg = q.clone();
        for v in neg.values_mut() {
            *v = -*v;
        }
        let err = s.factor(&neg).unwrap_err();
        assert!(matches!(err, Error::NotPositiveDefinite { .. }), "{err}");
        let mut nan = q.clone();
        nan.values_mut()[3] = f64::NAN;
        assert!(matches!(s.factor(&nan), Err(Error::NonFinite { .. })));
        let chol = s.factor(&q).unwrap();
        assert!(chol.solve(&DVector::zeros(3)).is_err());
    }
}
