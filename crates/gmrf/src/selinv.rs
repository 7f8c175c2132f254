//! Selected inverse: the entries of $Q^{-1}$ on the pattern of the Cholesky factor (Takahashi
//! recursions).
//!
//! Marginal variances $\operatorname{diag}(Q^{-1})$ and the traces
//! $\operatorname{tr}(Q^{-1} \partial Q / \partial\theta)$ of likelihood gradients need only the
//! entries of $\Sigma = Q^{-1}$ where $L + L^\top$ is structurally non-zero, never the dense
//! inverse. Takahashi, Fagan and Chin (1973) observed that $\Sigma L = L^{-\top}$ is upper
//! triangular with diagonal $1/L_{jj}$, so that, column by column from the last,
//!
//! $$ \Sigma_{ij} = \frac{\delta_{ij}}{L_{jj}^2} -
//!    \frac{1}{L_{jj}} \sum_{k > j,\ L_{kj} \ne 0} L_{kj} \Sigma_{ki}, \qquad i \ge j, $$
//!
//! and every $\Sigma_{ki}$ on the right lies again on the pattern (the pattern of a Cholesky
//! factor is chordal: two rows of column $j$ are joined in a later column; Rue and Martino 2007,
//! Rue and Held 2005 section 2.4.3).
//!
//! This module runs the same recursion on faer's supernodes, a block of columns $F$ with one
//! row set $R$ below it, so that the inner sums are dense matrix products. With
//! $L_{FF}$, $L_{RF}$ the blocks of $L$ in rows $F$, $R$ of columns $F$, and $\Sigma_{RR}$ gathered from
//! later supernodes,
//!
//! $$ \Sigma_{RF} = -\Sigma_{RR} L_{RF} L_{FF}^{-1}, \qquad
//!    \Sigma_{FF} = L_{FF}^{-\top}\big(L_{FF}^{-1} - L_{RF}^\top \Sigma_{RF}\big). $$
//!
//! Cost: of the order of the factorisation itself (the same block sizes), plus gathering
//! $\Sigma_{RR}$; memory: one value per entry of $L$.
//!
//! ```
//! use uqforge_gmrf::{Mesh, Fem, Matern, SpdeOperator, SymbolicCholesky, selinv::SelectedInverse};
//!
//! let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 12, 12)?;
//! let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
//! let q = spde.precision(&Matern::from_range_sigma(2, 0.3, 1.0)?)?;
//! let chol = SymbolicCholesky::analyse(spde.pattern())?.factor(&q)?;
//! let sigma = SelectedInverse::new(&chol)?;
//! let variances = sigma.diagonal();
//! // Interior variances are close to sigma^2 = 1 (boundary nodes have more).
//! let centre = 6 + 6 * 13;
//! assert!((variances[centre] - 1.0).abs() < 0.3);
//! // tr(Q^{-1} Q) = n.
//! assert!((sigma.trace_product(&q)? - 169.0).abs() < 1e-8);
//! # Ok::<(), uqforge_core::Error>(())
//! ```
//!
//! References: K. Takahashi, J. Fagan, M.-S. Chin (1973), Formation of a sparse bus impedance
//! matrix and its application to short circuit study, 8th PICA Conference; H. Rue, T. Martino
//! (2007), Approximate Bayesian inference for hierarchical Gaussian Markov random field models,
//! J. Statist. Plann. Inference 137:3177-3192; H. Rue, L. Held (2005), Gaussian Markov Random
//! Fields, Chapman & Hall, section 2.4.

use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::sparse::linalg::cholesky::supernodal::SupernodalLltRef;
use faer::{Accum, Mat, MatMut, Par};
use nalgebra::DVector;
use nalgebra_sparse::CscMatrix;
use uqforge_core::{Error, Result};

use crate::factor::{Cholesky, SymbolicCholesky};

/// The entries of $Q^{-1}$ on the pattern of the Cholesky factor of $Q$.
#[derive(Debug, Clone)]
pub struct SelectedInverse {
    symbolic: SymbolicCholesky,
    /// Same layout as faer's supernodal values of $L$ (column-major blocks per supernode).
    values: Vec<f64>,
}

impl SelectedInverse {
    /// Run the supernodal Takahashi recursions on `chol`.
    ///
    /// # Errors
    /// A non-finite entry appears (a factor of an ill-conditioned matrix).
    pub fn new(chol: &Cholesky) -> Result<Self> {
        let symbolic = chol.symbolic().clone();
        let sn = symbolic.supernodal();
        let l = SupernodalLltRef::new(sn, chol.values());
        let begin = sn.supernode_begin();
        let end = sn.supernode_end();
        let offsets = sn.col_ptr_for_val();
        let super_of = symbolic.super_of();
        let mut sigma = vec![0.0; chol.values().len()];
        for s in (0..sn.n_supernodes()).rev() {
            let node = l.supernode(s);
            let block = node.val();
            let w = end[s] - begin[s];
            let rows = node.pattern();
            let p = rows.len();
            let l_ff = block.subrows(0, w);
            let l_rf = block.subrows(w, p);

            // Sigma_RR, gathered column by column from the later supernodes holding them.
            let mut s_rr = Mat::<f64>::zeros(p, p);
            for b in 0..p {
                let col = rows[b];
                let t = super_of[col];
                let (wt, pattern_t) = (end[t] - begin[t], sn.supernode(t).pattern());
                let base = offsets[t] + (col - begin[t]) * (wt + pattern_t.len());
                let mut ptr = 0;
                for a in b..p {
                    let row = rows[a];
                    let local = if row < end[t] {
                        row - begin[t]
                    } else {
                        while ptr < pattern_t.len() && pattern_t[ptr] < row {
                            ptr += 1;
                        }
                        debug_assert!(ptr < pattern_t.len() && pattern_t[ptr] == row);
                        wt + ptr
                    };
                    let v = sigma[base + local];
                    s_rr[(a, b)] = v;
                    s_rr[(b, a)] = v;
                }
            }

            // X = L_FF^{-T} L_RF^T (w x p).
            let mut x = l_rf.transpose().to_owned();
            solve_upper_triangular_in_place(l_ff.transpose(), x.as_mut(), Par::Seq);
            // Sigma_RF = -Sigma_RR X^T (p x w).
            let mut s_rf = Mat::<f64>::zeros(p, w);
            matmul(
                s_rf.as_mut(),
                Accum::Replace,
                s_rr.as_ref(),
                x.transpose(),
                -1.0,
                Par::Seq,
            );
            // Sigma_FF = L_FF^{-T} (L_FF^{-1} - L_RF^T Sigma_RF).
            let mut y = Mat::<f64>::identity(w, w);
            solve_lower_triangular_in_place(l_ff, y.as_mut(), Par::Seq);
            matmul(
                y.as_mut(),
                Accum::Add,
                l_rf.transpose(),
                s_rf.as_ref(),
                -1.0,
                Par::Seq,
            );
            solve_upper_triangular_in_place(l_ff.transpose(), y.as_mut(), Par::Seq);

            let out = &mut sigma[offsets[s]..offsets[s + 1]];
            let mut out = MatMut::from_column_major_slice_mut(out, w + p, w);
            for j in 0..w {
                for i in 0..w {
                    out[(i, j)] = y[(i, j)];
                }
                for i in 0..p {
                    out[(w + i, j)] = s_rf[(i, j)];
                }
            }
        }
        uqforge_core::validate::finite("selected inverse", &sigma)?;
        Ok(Self {
            symbolic,
            values: sigma,
        })
    }

    /// $\operatorname{diag}(Q^{-1})$ in the original node order: the marginal variances.
    pub fn diagonal(&self) -> DVector<f64> {
        let inv = self.symbolic.inv();
        DVector::from_iterator(
            inv.len(),
            inv.iter()
                .map(|&pi| self.values[self.position(pi, pi).unwrap_or(0)]),
        )
    }

    /// $\Sigma_{ij}$, $\Sigma = Q^{-1}$ (original indices), if $(i, j)$ lies on the pattern of $L + L^\top$,
    /// which contains the pattern of $Q$; `None` otherwise (or out of range).
    pub fn get(&self, i: usize, j: usize) -> Option<f64> {
        let inv = self.symbolic.inv();
        let (pi, pj) = (*inv.get(i)?, *inv.get(j)?);
        self.position(pi, pj).map(|k| self.values[k])
    }

    /// $\operatorname{tr}(Q^{-1} M) = \sum_{ij} \Sigma_{ij} M_{ij}$ ($\Sigma = Q^{-1}$) for a symmetric `m` whose
    /// pattern lies within the factor's (any matrix on the precision's pattern does).
    ///
    /// # Errors
    /// `m` of another size, or with an entry outside the pattern.
    pub fn trace_product(&self, m: &CscMatrix<f64>) -> Result<f64> {
        let n = self.symbolic.n();
        if m.nrows() != n || m.ncols() != n {
            return Err(Error::DimensionMismatch {
                what: "matrix in tr(Q^{-1} M)".into(),
                expected: n,
                found: m.nrows(),
            });
        }
        let mut sum = 0.0;
        for (i, j, v) in m.triplet_iter() {
            let s = self.get(i, j).ok_or_else(|| {
                Error::degenerate(
                    format!("entry ({i}, {j}) of M in tr(Q^{{-1}} M)"),
                    "it lies outside the pattern of the Cholesky factor",
                )
            })?;
            sum += s * v;
        }
        Ok(sum)
    }

    /// Index into `values` of entry (pi, pj) of the permuted inverse.
    fn position(&self, pi: usize, pj: usize) -> Option<usize> {
        let (r, c) = if pi >= pj { (pi, pj) } else { (pj, pi) };
        let sn = self.symbolic.supernodal();
        let t = self.symbolic.super_of()[c];
        let (b, e) = (sn.supernode_begin()[t], sn.supernode_end()[t]);
        let pattern = sn.supernode(t).pattern();
        let base = sn.col_ptr_for_val()[t] + (c - b) * (e - b + pattern.len());
        if r < e {
            Some(base + r - b)
        } else {
            pattern.binary_search(&r).ok().map(|k| base + (e - b) + k)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fem, Matern, Mesh, SpdeOperator, sparse::dense};

    #[test]
    fn every_selected_entry_equals_the_dense_inverse() {
        for (nx, ny, alpha) in [(6, 5, 1), (7, 6, 2), (5, 5, 3), (1, 1, 2)] {
            let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.3], nx, ny).unwrap();
            let op = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), alpha).unwrap();
            let q = op
                .precision(&Matern::new(alpha, 3.1, 0.8).unwrap())
                .unwrap();
            let chol = SymbolicCholesky::analyse(op.pattern())
                .unwrap()
                .factor(&q)
                .unwrap();
            let sel = SelectedInverse::new(&chol).unwrap();
            let inv = dense(&q).try_inverse().unwrap();
            let scale = inv.abs().max();
            let mut checked = 0;
            for i in 0..q.nrows() {
                for j in 0..q.nrows() {
                    if let Some(v) = sel.get(i, j) {
                        assert!(
                            (v - inv[(i, j)]).abs() < 1e-10 * scale,
                            "({i},{j}) {v} {}",
                            inv[(i, j)]
                        );
                        checked += 1;
                    }
                }
            }
            // At least the pattern of Q was available.
            assert!(checked >= q.nnz());
            let d = sel.diagonal();
            assert!((d - inv.diagonal()).abs().max() < 1e-10 * scale);
            // tr(Q^{-1} dQ) against the dense product.
            let dq = op
                .precision_dlog_kappa(&Matern::new(alpha, 3.1, 0.8).unwrap())
                .unwrap();
            let tr = (&inv * dense(&dq)).trace();
            assert!((sel.trace_product(&dq).unwrap() - tr).abs() < 1e-9 * tr.abs().max(1.0));
        }
    }

    #[test]
    fn entries_off_the_pattern_are_refused() {
        let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 8, 8).unwrap();
        let op = SpdeOperator::new(&Fem::assemble(&mesh).unwrap(), 1).unwrap();
        let q = op.precision(&Matern::new(1, 2.0, 1.0).unwrap()).unwrap();
        let sel = SelectedInverse::new(
            &SymbolicCholesky::analyse(op.pattern())
                .unwrap()
                .factor(&q)
                .unwrap(),
        )
        .unwrap();
        // Opposite corners are not joined in the factor of an 81-node grid.
        assert!(sel.get(0, 80).is_none());
        let mut coo = nalgebra_sparse::CooMatrix::new(81, 81);
        coo.push(0, 80, 1.0);
        assert!(sel.trace_product(&CscMatrix::from(&coo)).is_err());
        assert!(sel.trace_product(&CscMatrix::identity(3)).is_err());
    }
}
