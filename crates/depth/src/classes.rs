//! One depth per class: per-class scores, the max-over-classes out-of-domain score and the
//! maximum-depth classifier.
//!
//! With labelled training data (classes $c = 1..C$, samples $X_c$), a query's depth in each
//! class, $D(x; X_c)$, says how central it is to that class. Their maximum
//!
//! $$ S(x) = \max_c D(x; X_c) $$
//!
//! is the out-of-domain score of Nguyen et al. (2024): small when the query lies in none of
//! the classes, whatever their shapes, where a depth fitted on the pooled sample would call
//! the space between two classes central. The class attaining it is the maximum-depth
//! classifier (Ghosh and Chaudhuri 2005), Bayes-consistent for elliptical classes with equal
//! priors and a good baseline otherwise.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_depth::{PerClass, Spatial};
//! // Two clusters; the midpoint between them is central to the pooled sample, to neither
//! // class.
//! let sample = DMatrix::from_row_slice(6, 1, &[-5.0, -4.0, -3.0, 3.0, 4.0, 5.0]);
//! let per_class = PerClass::fit(&sample, &[0, 0, 0, 1, 1, 1], Spatial::fit).unwrap();
//! let (score, class) = per_class.max_depth(&DMatrix::from_column_slice(2, 1, &[0.0, 4.0])).unwrap();
//! assert_eq!(class, vec![0, 1]); // the midpoint ties: the first class wins
//! assert!(score[0] == 0.0 && score[1] == 1.0);
//! ```
//!
//! # References
//! - H.-T. Nguyen et al., "Combining statistical depth and Fermat distance for uncertainty
//!   quantification", NeurIPS 2024, arXiv:2404.08476.
//! - A. K. Ghosh, P. Chaudhuri, "On maximum depth and related classifiers", Scandinavian
//!   Journal of Statistics 32(2), 2005.

use nalgebra::{DMatrix, DVector};
use uqforge_core::{Error, Result};

use crate::sample::Depth;

/// A depth fitted on each class of a labelled sample.
pub struct PerClass {
    classes: Vec<Box<dyn Depth>>,
}

impl std::fmt::Debug for PerClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerClass")
            .field("classes", &self.classes.len())
            .finish()
    }
}

impl PerClass {
    /// Fits `fit` on the rows of each class: `labels[i]` is the class of row `i`, classes
    /// are numbered $0..C$ and none may be empty.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `labels` does not have one entry per row,
    /// [`Error::InvalidParameter`] for an empty class, and the errors of `fit` (with the
    /// class named).
    pub fn fit<D, F>(sample: &DMatrix<f64>, labels: &[usize], fit: F) -> Result<Self>
    where
        D: Depth + 'static,
        F: Fn(&DMatrix<f64>) -> Result<D>,
    {
        uqforge_core::validate::len("labels (one per sample row)", sample.nrows(), labels.len())?;
        let count = labels.iter().max().map_or(0, |m| m + 1);
        if count == 0 {
            return Err(Error::EmptyInput {
                what: "labelled sample".into(),
            });
        }
        let mut classes: Vec<Box<dyn Depth>> = Vec::with_capacity(count);
        for c in 0..count {
            let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
            if rows.is_empty() {
                return Err(Error::invalid_parameter(
                    "labels",
                    format!("class {c} has no sample rows (classes must be numbered 0..{count})"),
                ));
            }
            let class_sample = sample.select_rows(&rows);
            let fitted = fit(&class_sample).map_err(|e| {
                Error::invalid_parameter("labels", format!("class {c} ({} rows): {e}", rows.len()))
            })?;
            classes.push(Box::new(fitted));
        }
        Ok(Self { classes })
    }

    /// Number of classes $C$.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// The depth of every query in every class: rows = queries, columns = classes.
    ///
    /// # Errors
    /// Those of [`Depth::depth`].
    pub fn class_depths(&self, queries: &DMatrix<f64>) -> Result<DMatrix<f64>> {
        let mut out = DMatrix::zeros(queries.nrows(), self.classes.len());
        for (c, depth) in self.classes.iter().enumerate() {
            out.set_column(c, &depth.depth(queries)?);
        }
        Ok(out)
    }

    /// The out-of-domain score $\max_c D(x; X_c)$ of each query and the class attaining it
    /// (the first one on ties): the maximum-depth classification.
    ///
    /// # Errors
    /// Those of [`Depth::depth`].
    pub fn max_depth(&self, queries: &DMatrix<f64>) -> Result<(DVector<f64>, Vec<usize>)> {
        let all = self.class_depths(queries)?;
        let mut score = DVector::zeros(queries.nrows());
        let mut class = vec![0; queries.nrows()];
        for (q, row) in all.row_iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                if c == 0 || v > score[q] {
                    score[q] = v;
                    class[q] = c;
                }
            }
        }
        Ok((score, class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::normal_sample;
    use crate::{Halfspace, Mahalanobis};

    #[test]
    fn scores_are_the_class_depths_and_their_maximum() {
        let a = normal_sample(30, 2, 1);
        let b = normal_sample(20, 2, 2).add_scalar(6.0);
        let sample = DMatrix::from_fn(
            50,
            2,
            |i, k| if i < 30 { a[(i, k)] } else { b[(i - 30, k)] },
        );
        let labels: Vec<usize> = (0..50).map(|i| usize::from(i >= 30)).collect();
        let per_class = PerClass::fit(&sample, &labels, Halfspace::exact).unwrap();
        let q = DMatrix::from_row_slice(3, 2, &[0.0, 0.0, 6.0, 6.0, 3.0, 3.0]);
        let all = per_class.class_depths(&q).unwrap();
        let da = Halfspace::exact(&a).unwrap().depth(&q).unwrap();
        let db = Halfspace::exact(&b).unwrap().depth(&q).unwrap();
        assert_eq!(all.column(0), da);
        assert_eq!(all.column(1), db);
        let (score, class) = per_class.max_depth(&q).unwrap();
        assert_eq!(class[..2], [0, 1]);
        assert_eq!(score[2], 0.0, "between the classes, in neither hull");
        assert!(
            score[0] == da[0] && score[1] == db[1] && score[0].min(score[1]) > 0.2,
            "{score}"
        );
        // The pooled depth calls the gap central.
        let pooled = Halfspace::exact(&sample).unwrap().depth(&q).unwrap();
        assert!(pooled[2] > 0.3, "{pooled}");
    }

    #[test]
    fn bad_labels_are_refused() {
        let x = normal_sample(10, 2, 3);
        assert!(matches!(
            PerClass::fit(&x, &[0; 9], Halfspace::exact),
            Err(Error::DimensionMismatch { .. })
        ));
        let gap = [0, 0, 0, 0, 0, 2, 2, 2, 2, 2];
        assert!(matches!(
            PerClass::fit(&x, &gap, Halfspace::exact),
            Err(Error::InvalidParameter { .. })
        ));
        // Class 1 has two points: too few for a 2D covariance; the error names the class.
        let small = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
        let err = PerClass::fit(&x, &small, Mahalanobis::fit).unwrap_err();
        assert!(err.to_string().contains("class 1"), "{err}");
    }
}
