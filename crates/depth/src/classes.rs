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
//! # DD-plot classifier
//! The maximum-depth rule fails when classes differ in spread: with Mahalanobis depth, a
//! wide class is deeper than a narrow one at every point. Li, Cuesta-Albertos and Liu
//! (2012) classify in the depth-depth plot instead: for classes $i < j$, a point goes to
//! $j$ when $D(x; X_j) > a_{ij} D(x; X_i)$, with the slope $a_{ij}$ of the line through the
//! origin chosen to make the fewest errors on the training points of the two classes (the
//! degree-one DD-classifier). [`DdClassifier`] fits every slope from the training sample's
//! own depths (an exact search over the $O(m)$ candidate slopes, $O(m \log m)$ per pair) and
//! votes over pairs (ties: the larger depth).
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
//! - J. Li, J. A. Cuesta-Albertos, R. Y. Liu, "DD-classifier: nonparametric classification
//!   procedure based on DD-plot", JASA 107(498), 2012.

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

/// The degree-one DD-plot classifier over the depths of a [`PerClass`].
#[derive(Debug)]
pub struct DdClassifier {
    per_class: PerClass,
    /// Slope $a_{ij}$ of each pair $i < j$, row-major in a $C \times C$ table.
    slopes: Vec<f64>,
}

impl DdClassifier {
    /// Fits a depth per class (as [`PerClass::fit`]) and the slope of every pair of classes
    /// from the training points' depths.
    ///
    /// # Errors
    /// Those of [`PerClass::fit`] and of scoring the sample.
    pub fn fit<D, F>(sample: &DMatrix<f64>, labels: &[usize], fit: F) -> Result<Self>
    where
        D: Depth + 'static,
        F: Fn(&DMatrix<f64>) -> Result<D>,
    {
        let per_class = PerClass::fit(sample, labels, fit)?;
        let depths = per_class.class_depths(sample)?;
        let c = per_class.n_classes();
        let mut slopes = vec![0.0; c * c];
        for i in 0..c {
            for j in i + 1..c {
                let points: Vec<(f64, f64, bool)> = (0..labels.len())
                    .filter(|&k| labels[k] == i || labels[k] == j)
                    .map(|k| (depths[(k, i)], depths[(k, j)], labels[k] == j))
                    .collect();
                slopes[i * c + j] = best_slope(&points);
            }
        }
        Ok(Self { per_class, slopes })
    }

    /// The depths per class.
    pub fn per_class(&self) -> &PerClass {
        &self.per_class
    }

    /// The slope $a_{ij}$ of classes $i < j$.
    ///
    /// # Panics
    /// When $i \ge j$ or $j \ge C$.
    pub fn slope(&self, i: usize, j: usize) -> f64 {
        assert!(i < j && j < self.per_class.n_classes(), "classes i < j < C");
        self.slopes[i * self.per_class.n_classes() + j]
    }

    /// The class of each query: votes over pairs of classes, ties broken by the larger
    /// depth.
    ///
    /// # Errors
    /// Those of [`Depth::depth`].
    pub fn classify(&self, queries: &DMatrix<f64>) -> Result<Vec<usize>> {
        let depths = self.per_class.class_depths(queries)?;
        let c = self.per_class.n_classes();
        Ok(depths
            .row_iter()
            .map(|row| {
                let mut votes = vec![0usize; c];
                for i in 0..c {
                    for j in i + 1..c {
                        if row[j] > self.slopes[i * c + j] * row[i] {
                            votes[j] += 1;
                        } else {
                            votes[i] += 1;
                        }
                    }
                }
                (0..c)
                    .max_by(|&a, &b| {
                        votes[a]
                            .cmp(&votes[b])
                            .then(row[a].total_cmp(&row[b]))
                            .then(b.cmp(&a))
                    })
                    .unwrap_or(0)
            })
            .collect())
    }
}

/// The slope $a \ge 0$ of the rule "second class when $D_j > a D_i$" with the fewest errors
/// on `points` = $(D_i, D_j, \text{is } j)$; among the best, the middle of the optimal
/// interval of ratios (a point with $D_i = 0$ and $D_j > 0$ goes to $j$ for every $a$).
fn best_slope(points: &[(f64, f64, bool)]) -> f64 {
    // Predicted j iff ratio r = D_j / D_i > a. Sort by ratio; sweeping a upward over the
    // ratios turns predictions from j to i one point at a time.
    let ratio = |p: &(f64, f64, bool)| {
        if p.0 > 0.0 {
            p.1 / p.0
        } else if p.1 > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    };
    let mut r: Vec<(f64, bool)> = points.iter().map(|p| (ratio(p), p.2)).collect();
    r.sort_by(|a, b| a.0.total_cmp(&b.0));
    // a below every ratio: everything predicted j; errors = number of i points.
    let mut errors = r.iter().filter(|p| !p.1).count();
    let (mut best, mut best_at) = (errors, 0usize);
    for k in 0..r.len() {
        // a at or above r[k] (and below r[k + 1]): point k predicted i.
        if r[k].1 {
            errors += 1;
        } else {
            errors -= 1;
        }
        let distinct = k + 1 == r.len() || r[k + 1].0 > r[k].0;
        if distinct && errors < best {
            best = errors;
            best_at = k + 1;
        }
    }
    let lower = if best_at == 0 { 0.0 } else { r[best_at - 1].0 };
    let upper = r.get(best_at).map_or(lower * 2.0 + 1.0, |p| p.0);
    let upper = if upper.is_finite() {
        upper
    } else {
        lower * 2.0 + 1.0
    };
    if best_at == 0 {
        // Below the smallest ratio: half of it (the rule needs a > 0 only for a slope).
        0.5 * upper
    } else {
        0.5 * (lower + upper)
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

    /// Two centred normal classes, N(0, I) and N(0, 9 I): with Mahalanobis depth the wide
    /// class is deeper everywhere, so the maximum-depth rule calls everything wide (half
    /// wrong); the DD-classifier's slope recovers a ring boundary close to Bayes' rule.
    #[test]
    fn dd_classifier_handles_classes_of_different_spread() {
        let make = |seed: u64| {
            let narrow = normal_sample(300, 2, seed);
            let wide = normal_sample(300, 2, seed + 1) * 3.0;
            let x = DMatrix::from_fn(600, 2, |i, k| {
                if i < 300 {
                    narrow[(i, k)]
                } else {
                    wide[(i - 300, k)]
                }
            });
            let labels: Vec<usize> = (0..600).map(|i| usize::from(i >= 300)).collect();
            (x, labels)
        };
        let (train, labels) = make(10);
        let (test, truth) = make(20);
        let error = |predicted: &[usize]| {
            predicted.iter().zip(&truth).filter(|(p, t)| p != t).count() as f64 / 600.0
        };
        let per_class = PerClass::fit(&train, &labels, Mahalanobis::fit).unwrap();
        let max_depth = error(&per_class.max_depth(&test).unwrap().1);
        let dd = DdClassifier::fit(&train, &labels, Mahalanobis::fit).unwrap();
        let dd_error = error(&dd.classify(&test).unwrap());
        // Bayes: |x|^2 < 2 ln(9) 9/8 = 4.94 is narrow; error = (P(chi2_2 > 4.94) +
        // P(chi2_2 < 4.94 / 9)) / 2 = (e^-2.47 + 1 - e^-0.275) / 2 = 0.163.
        assert!(max_depth > 0.4, "max-depth error {max_depth}");
        assert!(dd_error < 0.21, "DD error {dd_error}");
        assert!(dd.slope(0, 1) > 1.0);
    }

    #[test]
    fn best_slope_minimises_training_errors() {
        // (D_i, D_j, is j): ratios 0.5 (i), 1 (i), 2 (j), 3 (j), 4 (i): the best a lies in
        // [1, 2) with one error.
        let points = [
            (1.0, 0.5, false),
            (1.0, 1.0, false),
            (1.0, 2.0, true),
            (1.0, 3.0, true),
            (1.0, 4.0, false),
        ];
        let a = best_slope(&points);
        assert!((1.0..2.0).contains(&a), "{a}");
        let errors = points.iter().filter(|p| (p.1 > a * p.0) != p.2).count();
        assert_eq!(errors, 1);
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
