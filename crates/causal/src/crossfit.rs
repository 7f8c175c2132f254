//! Cross-fitting: nuisance predictions for each unit from models that never saw it.
//!
//! AIPW and TMLE plug estimated $\hat\mu_0, \hat\mu_1, \hat e$ into an influence function. When
//! the same units fit the models and are averaged over, flexible learners overfit and the
//! estimator picks up a bias of the order of the overfitting. Cross-fitting (Chernozhukov et
//! al. 2018) splits the units into $K$ folds and predicts fold $k$ from models fitted on the
//! other $K - 1$; the influence-function SE is then valid without Donsker conditions.
//!
//! The split is random, so estimates move from one split to the next. Here folds are
//! **deterministic given the seed** (a ChaCha8 stream per repeat, stratified by arm so that
//! every training set holds both arms), and **repeated cross-fitting** over $R$ splits reports
//! the median estimate $\tilde\tau = \operatorname{median}(\hat\tau_1, \dots, \hat\tau_R)$ with the median-adjusted
//! variance (Chernozhukov et al. 2018, eq. 3.13)
//!
//! $$ \tilde\sigma^2 = \operatorname{median}\big(\hat\sigma_r^2 + (\hat\tau_r - \tilde\tau)^2 : r = 1, \dots, R\big). $$
//!
//! Folds can also be given explicitly (one label per unit), e.g. to reproduce another
//! package's split.
//!
//! Reference: V. Chernozhukov, D. Chetverikov, M. Demirer, E. Duflo, C. Hansen, W. Newey,
//! J. Robins (2018), "Double/debiased machine learning for treatment and structural
//! parameters", *The Econometrics Journal* 21:C1–C68.
//!
//! ```
//! use uqforge_causal::crossfit::assign_folds;
//! let t = [true, false, true, false, false, true, false, false];
//! let folds = assign_folds(&t, 2, 42, 0)?;
//! assert_eq!(folds, assign_folds(&t, 2, 42, 0)?); // same seed, same split
//! // Both arms in every fold.
//! for k in 0..2 {
//!     assert!((0..8).any(|i| folds[i] == k && t[i]) && (0..8).any(|i| folds[i] == k && !t[i]));
//! }
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use std::ops::Range;

use nalgebra::{DMatrix, DVector};
use rand_core::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, rng::stream};

use crate::Trial;
use crate::nuisance::{OutcomeModel, PropensityModel};
use crate::propensity::{Clip, ClipReport, Propensities};

/// How units are split into folds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Folds {
    /// `k` folds, drawn from the options' seed (stratified by arm).
    Random(usize),
    /// One fold label `0..K` per unit.
    Explicit(Vec<usize>),
}

/// A uniform integer in `0..n` (Lemire's multiply-shift; bias below $n/2^{64}$).
pub(crate) fn below(rng: &mut impl Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// Fold labels for `k` folds, stratified by arm, from ChaCha8 stream `repeat` of `seed`.
///
/// # Errors
/// [`Error::InvalidParameter`] unless `2 <= k <= min(n_1, n_0)`.
pub fn assign_folds(t: &[bool], k: usize, seed: u64, repeat: u64) -> Result<Vec<usize>> {
    let n1 = t.iter().filter(|&&x| x).count();
    let n0 = t.len() - n1;
    if k < 2 || k > n1.min(n0) {
        return Err(Error::invalid_parameter(
            "folds",
            format!(
                "need 2 <= K <= the smaller arm ({} units), got {k}",
                n1.min(n0)
            ),
        ));
    }
    let mut rng = stream(seed, repeat);
    let mut folds = vec![0; t.len()];
    let mut next = 0;
    for arm in [true, false] {
        let mut units: Vec<usize> = (0..t.len()).filter(|&i| t[i] == arm).collect();
        // Fisher–Yates.
        for i in (1..units.len()).rev() {
            units.swap(i, below(&mut rng, i + 1));
        }
        for u in units {
            folds[u] = next % k;
            next += 1;
        }
    }
    Ok(folds)
}

/// Validate explicit fold labels: `0..K`, every label used, both arms outside every fold.
pub(crate) fn check_folds(t: &[bool], folds: &[usize]) -> Result<usize> {
    uqforge_core::validate::len("fold labels", t.len(), folds.len())?;
    let k = folds.iter().max().map_or(0, |m| m + 1);
    if k < 2 {
        return Err(Error::invalid_parameter("folds", "need at least two folds"));
    }
    if k > t.len() {
        return Err(Error::invalid_parameter(
            "folds",
            format!(
                "label {} for {} units: labels must be 0..K, each used",
                k - 1,
                t.len()
            ),
        ));
    }
    // Units per (fold, arm), in one pass.
    let mut counts = vec![[0usize; 2]; k];
    for (&f, &ti) in folds.iter().zip(t) {
        counts[f][usize::from(ti)] += 1;
    }
    let arms = counts
        .iter()
        .fold([0, 0], |a, c| [a[0] + c[0], a[1] + c[1]]);
    for (f, c) in counts.iter().enumerate() {
        let inside = c[0] + c[1];
        let (train_t, train_c) = (arms[1] - c[1], arms[0] - c[0]);
        if inside == 0 || train_t < 2 || train_c < 2 {
            return Err(Error::invalid_parameter(
                "folds",
                format!(
                    "fold {f} has {inside} units and leaves {train_t} treated / {train_c} control \
                     units for training; labels must be 0..K, each used, with both arms outside"
                ),
            ));
        }
    }
    Ok(k)
}

/// The units of one fold and their predictions $(\hat\mu_0, \hat\mu_1, \hat e)$.
type FoldPrediction = (Vec<usize>, [DVector<f64>; 3]);

/// Predictions $\hat\mu_0(X_i), \hat\mu_1(X_i), \hat e(X_i)$ for every unit.
#[derive(Debug, Clone)]
pub(crate) struct Nuisance {
    pub(crate) mu0: DVector<f64>,
    pub(crate) mu1: DVector<f64>,
    pub(crate) e: DVector<f64>,
    pub(crate) clipping: Option<ClipReport>,
}

impl Nuisance {
    /// Predictions with the propensities clipped as asked, refusing 0 and 1.
    fn new(
        mu0: DVector<f64>,
        mu1: DVector<f64>,
        raw_e: DVector<f64>,
        clip: Option<Clip>,
    ) -> Result<Self> {
        let props = Propensities::from_values(raw_e, clip, None);
        Propensities::check_open(&props.e, "propensity predictions")?;
        Ok(Self {
            mu0,
            mu1,
            e: props.e,
            clipping: props.report,
        })
    }
}

/// Fit the outcome model per arm and the propensity (unless known), in sample (`folds =
/// None`) or cross-fitted.
pub(crate) fn nuisance(
    trial: &Trial,
    x: &DMatrix<f64>,
    outcome: &dyn OutcomeModel,
    propensity: &dyn PropensityModel,
    folds: Option<&[usize]>,
    clip: Option<Clip>,
) -> Result<Nuisance> {
    let n = trial.n();
    let t = trial.treatment();
    let y = trial.outcomes();
    let known = trial.known_propensity().map(|k| k.to_vector(n));
    let fit_block = |train: &[usize], predict: &[usize]| -> Result<[DVector<f64>; 3]> {
        let xp = x.select_rows(predict);
        let arm_fit = |arm: bool| -> Result<DVector<f64>> {
            let rows: Vec<usize> = train.iter().copied().filter(|&i| t[i] == arm).collect();
            let ya = DVector::from_iterator(rows.len(), rows.iter().map(|&i| y[i]));
            outcome.fit_predict(&x.select_rows(&rows), &ya, &xp)
        };
        let e = match &known {
            Some(k) => DVector::from_iterator(predict.len(), predict.iter().map(|&i| k[i])),
            None => {
                let tt: Vec<bool> = train.iter().map(|&i| t[i]).collect();
                propensity.fit_predict(&x.select_rows(train), &tt, &xp)?
            }
        };
        Ok([arm_fit(false)?, arm_fit(true)?, e])
    };
    let (mu0, mu1, raw_e) = match folds {
        None => {
            let all: Vec<usize> = (0..n).collect();
            let [m0, m1, e] = fit_block(&all, &all)?;
            (m0, m1, e)
        }
        Some(labels) => {
            let k = check_folds(t, labels)?;
            let blocks: Vec<Result<FoldPrediction>> = (0..k)
                .into_par_iter()
                .map(|f| {
                    let train: Vec<usize> = (0..n).filter(|&i| labels[i] != f).collect();
                    let test: Vec<usize> = (0..n).filter(|&i| labels[i] == f).collect();
                    fit_block(&train, &test)
                        .map(|p| (test, p))
                        .map_err(|e| in_fold(e, f))
                })
                .collect();
            let (mut m0, mut m1, mut e) = (DVector::zeros(n), DVector::zeros(n), DVector::zeros(n));
            for block in blocks {
                let (test, [b0, b1, be]) = block?;
                for (j, &i) in test.iter().enumerate() {
                    m0[i] = b0[j];
                    m1[i] = b1[j];
                    e[i] = be[j];
                }
            }
            (m0, m1, e)
        }
    };
    Nuisance::new(mu0, mu1, raw_e, clip)
}

/// One fold's training units in the least squares' sufficient statistics.
struct Training {
    /// $Z_{-f}^\top Z_{-f}$, both arms.
    gram: DMatrix<f64>,
    /// Training units per arm.
    units: [usize; 2],
    /// Per arm, the sum of the training rows $\sum_i z_i$.
    sums: [DVector<f64>; 2],
}

/// Per arm of one fold: Gram matrix, $Z^\top y$ and the number of units.
type ArmStats = [(DMatrix<f64>, DVector<f64>, usize); 2];

/// Cross-fitted least-squares outcome models (per arm) and logistic propensity, fitted without
/// copying rows: the built-in models' fast path, used by AIPW when no ridge is asked for.
///
/// Units are ordered by (fold, arm) once and the design is scaled once, so that every group is
/// a contiguous block. Least squares then needs one pass: the training Gram matrix of fold
/// $k$ is the sum of the other folds' Gram matrices, $G_{-k} = \sum_{f \ne k} G_f$ (and
/// likewise $Z^\top y$). The propensity of each fold starts from its intercept-only fit, where
/// every fitted probability is the treated share $q_f$ of its training units: the exact
/// Hessian is $q_f (1 - q_f)$ times the least squares' training Gram matrix, and the gradient
/// $\sum_i (t_i - q_f) z_i$ is a difference of row sums, column 0 of the per-arm Gram matrices.
/// So Newton's first step costs no pass over the data. Then every fold iterates together, one
/// pass over the design per iteration for all of them ([`quasi_newton_all_folds`]: Hessians at
/// the folds' mean, then BFGS updates); a fold these iterations do not settle falls back,
/// from its intercept-only start, to [`LogisticRegression::fixed_hessian`] with
/// line search, then Newton. The fits are the same as [`nuisance`]'s with [`LinearOutcome`]
/// and [`LogisticPropensity`] (scaling does not change an unpenalised fit): tests check it,
/// on the NSW sample and on a sample of 6,000 units to $10^{-9}$ in every propensity.
///
/// [`quasi_newton_all_folds`]: crate::logistic::quasi_newton_all_folds
/// [`LogisticRegression::fixed_hessian`]: crate::logistic::LogisticRegression
/// [`LinearOutcome`]: crate::nuisance::LinearOutcome
/// [`LogisticPropensity`]: crate::nuisance::LogisticPropensity
pub(crate) fn linear_logistic_cross_fit(
    trial: &Trial,
    x: &DMatrix<f64>,
    labels: &[usize],
    clip: Option<Clip>,
) -> Result<Nuisance> {
    use crate::linear::{Scaled, gram};
    use crate::logistic::{LogisticRegression, RowSet, quasi_newton_all_folds, sigmoid};

    let t = trial.treatment();
    let y = trial.outcomes();
    let (n, p) = x.shape();
    let k = check_folds(t, labels)?;
    // Counting sort by group g = 2 fold + arm: order[pos[i]] = i, units in increasing order
    // within each group, so both the scatter below and the gather back stream.
    let group = |i: usize| 2 * labels[i] + usize::from(t[i]);
    let mut counts = vec![0usize; 2 * k + 1];
    for i in 0..n {
        counts[group(i) + 1] += 1;
    }
    for g in 0..2 * k {
        counts[g + 1] += counts[g];
    }
    // bounds[f] = [start of arm 0, start of arm 1, end].
    let bounds: Vec<[usize; 3]> = (0..k)
        .map(|f| [counts[2 * f], counts[2 * f + 1], counts[2 * f + 2]])
        .collect();
    let mut next = counts.clone();
    let mut order = vec![0usize; n];
    let mut pos = vec![0usize; n];
    for (i, slot) in pos.iter_mut().enumerate() {
        let g = group(i);
        *slot = next[g];
        order[next[g]] = i;
        next[g] += 1;
    }
    // The design in group order, column by column: each column is read in order and
    // scattered into the 2K groups' sequential write streams, columns in parallel.
    // `vec![0.0; _]` takes zeroed pages from the allocator: no pass over the whole matrix.
    let mut data = vec![0.0; n * (p + 1)];
    data[..n].fill(1.0);
    // Each task scales one column to unit root mean square while scattering it (one task
    // per column, so that a few rayon calls serve the whole reorder).
    let zero_column = data[n..]
        .par_chunks_mut(n)
        .enumerate()
        .filter_map(|(j, column)| {
            let xj = &x.as_slice()[j * n..(j + 1) * n];
            let rms = (xj.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
            if rms == 0.0 {
                return Some(j);
            }
            let inv = 1.0 / rms;
            for (&v, &r) in xj.iter().zip(&pos) {
                column[r] = v * inv;
            }
            None
        })
        .min();
    if let Some(j) = zero_column {
        return Err(Error::degenerate(
            "covariates",
            format!("covariate column {j} is all zero"),
        ));
    }
    let z = DMatrix::from_vec(n, p + 1, data);
    let yp = DVector::from_iterator(n, order.iter().map(|&i| y[i]));
    let tp = DVector::from_iterator(n, order.iter().map(|&i| f64::from(u8::from(t[i]))));

    // Least squares per arm from per-fold sufficient statistics.
    let stats: Vec<ArmStats> = bounds
        .par_iter()
        .map(|b| {
            [0, 1].map(|a| {
                let (s, e) = (b[a], b[a + 1]);
                let view = z.rows(s, e - s);
                (gram(view, None), view.tr_mul(&yp.rows(s, e - s)), e - s)
            })
        })
        .collect();
    let mut mu = [DVector::zeros(n), DVector::zeros(n)];
    // Per fold: the training Gram matrix of both arms, the training units of each arm and
    // the sums of their rows (column 0 of a Gram matrix, the intercept column being ones).
    let mut training: Vec<Training> = Vec::with_capacity(k);
    for (f, b) in bounds.iter().enumerate() {
        let mut both = DMatrix::zeros(p + 1, p + 1);
        let mut units = [0; 2];
        let mut sums = [DVector::zeros(p + 1), DVector::zeros(p + 1)];
        for (a, mu_a) in mu.iter_mut().enumerate() {
            let mut g = DMatrix::zeros(p + 1, p + 1);
            let mut c = DVector::zeros(p + 1);
            let mut m = 0;
            for (other, st) in stats.iter().enumerate() {
                if other != f {
                    g += &st[a].0;
                    c += &st[a].1;
                    m += st[a].2;
                }
            }
            both += &g;
            units[a] = m;
            sums[a] = g.column(0).into_owned();
            let chol = Scaled::factor(g, m).map_err(|e| in_fold(e, f))?;
            let beta = chol.solve(&(c / m as f64));
            let rows = z.rows(b[0], b[2] - b[0]);
            mu_a.rows_mut(b[0], b[2] - b[0]).copy_from(&(rows * beta));
        }
        training.push(Training {
            gram: both,
            units,
            sums,
        });
    }

    // Propensities: known, or fitted per fold from its intercept-only start.
    let ep: DVector<f64> = match trial.known_propensity() {
        Some(known) => DVector::from_iterator(n, order.iter().map(|&i| known.get(i))),
        None => {
            let model = LogisticRegression::default().named("propensity model");
            // Each fold starts from its intercept-only fit, logit of its training units'
            // treated share q_f. There every fitted probability is q_f: the training
            // Hessian is q_f (1 - q_f) times the Gram matrix the least squares summed, and
            // the gradient, sum over training units of (t_i - q_f) z_i, is the treated
            // units' row sum minus q_f times all units' row sum. Newton's first step costs
            // no pass over the design.
            let mut starts = Vec::with_capacity(k);
            let mut hessians = Vec::with_capacity(k);
            let mut first = Vec::with_capacity(k);
            for (f, tr) in training.iter().enumerate() {
                let m = tr.units[0] + tr.units[1];
                let q = tr.units[1] as f64 / m as f64;
                let mut start = DVector::zeros(p + 1);
                start[0] = (q / (1.0 - q)).ln();
                let hessian =
                    Scaled::factor(&tr.gram * (q * (1.0 - q)), m).map_err(|e| in_fold(e, f))?;
                let gradient = (&tr.sums[1] - (&tr.sums[0] + &tr.sums[1]) * q) / m as f64;
                first.push(&start + hessian.solve(&gradient));
                starts.push(start);
                hessians.push(hessian);
            }
            // Every fold's iterations in one pass over the design per iteration; a fold
            // they do not settle goes through its own fixed-Hessian iterations with line
            // search, then Newton, from its start.
            let fold_rows: Vec<Range<usize>> = bounds.iter().map(|b| b[0]..b[2]).collect();
            let joint = quasi_newton_all_folds(&z, &tp, &fold_rows, &first);
            let per_fold: Vec<Result<DVector<f64>>> = bounds
                .par_iter()
                .zip(joint)
                .enumerate()
                .map(|(f, (b, joint))| {
                    let beta = match joint {
                        Some(beta) => beta,
                        None => {
                            let train = [0..b[0], b[2]..n];
                            let rows = RowSet::new(&z, &train);
                            let tt = DVector::from_iterator(
                                rows.len(),
                                (0..b[0]).chain(b[2]..n).map(|i| tp[i]),
                            );
                            let fitted = model
                                .fixed_hessian(&rows, &tt, starts[f].clone(), &hessians[f])
                                .map_err(|e| in_fold(e, f))?;
                            match fitted {
                                Some(beta) => beta,
                                None => {
                                    model
                                        .newton(&rows, &tt, starts[f].clone())
                                        .map_err(|e| in_fold(e, f))?
                                        .0
                                }
                            }
                        }
                    };
                    Ok((z.rows(b[0], b[2] - b[0]) * beta).map(sigmoid))
                })
                .collect();
            let mut e = DVector::zeros(n);
            for (b, part) in bounds.iter().zip(per_fold) {
                e.rows_mut(b[0], b[2] - b[0]).copy_from(&part?);
            }
            e
        }
    };
    // Back to the units' order.
    let mut mu0 = DVector::zeros(n);
    let mut mu1 = DVector::zeros(n);
    let mut raw_e = DVector::zeros(n);
    for (i, &src) in order.iter().enumerate() {
        mu0[src] = mu[0][i];
        mu1[src] = mu[1][i];
        raw_e[src] = ep[i];
    }
    Nuisance::new(mu0, mu1, raw_e, clip)
}

/// Name the fold in a degenerate-fit error: a rare covariate level can separate the
/// treatment within one training fold though not in the full sample.
fn in_fold(e: Error, fold: usize) -> Error {
    match e {
        Error::Degenerate { what, reason } => Error::Degenerate {
            what: format!("{what} (trained without cross-fitting fold {fold})"),
            reason,
        },
        other => other,
    }
}

/// The median of a non-empty slice (mean of the two middle values for even lengths).
pub(crate) fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        0.5 * (s[m - 1] + s[m])
    }
}

/// Median estimate and median-adjusted SE over repeats (Chernozhukov et al. 2018, eq. 3.13).
pub(crate) fn median_aggregate(estimates: &[(f64, f64)]) -> (f64, f64) {
    let taus: Vec<f64> = estimates.iter().map(|e| e.0).collect();
    let med = median(&taus);
    let adj: Vec<f64> = estimates
        .iter()
        .map(|(tau, se)| se * se + (tau - med).powi(2))
        .collect();
    (med, median(&adj).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_balanced_and_seed_dependent() {
        let t: Vec<bool> = (0..103).map(|i| i % 3 == 0).collect();
        let a = assign_folds(&t, 5, 1, 0).unwrap();
        let b = assign_folds(&t, 5, 1, 1).unwrap();
        assert_ne!(a, b);
        for f in 0..5 {
            let size = a.iter().filter(|&&x| x == f).count();
            assert!((20..=21).contains(&size), "fold {f} has {size}");
        }
        assert!(assign_folds(&t, 1, 0, 0).is_err());
        assert!(assign_folds(&t, 40, 0, 0).is_err());
    }

    #[test]
    fn explicit_labels_are_checked_in_one_pass() {
        let t: Vec<bool> = (0..12).map(|i| i % 2 == 0).collect();
        let labels: Vec<usize> = (0..12).map(|i| i % 3).collect();
        assert_eq!(check_folds(&t, &labels).unwrap(), 3);
        // Label 1 unused.
        let gap: Vec<usize> = (0..12)
            .map(|i| if i % 3 == 1 { 2 } else { i % 3 })
            .collect();
        assert!(check_folds(&t, &gap).is_err());
        // A fold holding all but one treated unit leaves one for training.
        let lopsided: Vec<usize> = (0..12).map(|i| usize::from(i % 2 == 1 || i == 0)).collect();
        assert!(check_folds(&t, &lopsided).is_err());
        // A label far beyond the units is refused at once (no table of its size).
        let mut huge = labels.clone();
        huge[0] = usize::MAX - 1;
        assert!(check_folds(&t, &huge).is_err());
    }

    /// The joint Newton-then-BFGS iterations of the fast path reach the same fits as the
    /// per-fold Newton iterations of the generic path, on a sample large enough for several
    /// blocks per fold.
    #[test]
    fn fast_path_equals_generic_path_on_a_larger_sample() {
        use crate::nuisance::{LinearOutcome, LogisticPropensity};
        let trial = crate::bench::timing_trial(6000, 8, 3).unwrap();
        let x = trial.checked_model_covariates().unwrap();
        let labels = assign_folds(trial.treatment(), 5, 11, 0).unwrap();
        let fast = linear_logistic_cross_fit(&trial, &x, &labels, None).unwrap();
        let generic = nuisance(
            &trial,
            &x,
            &LinearOutcome::default(),
            &LogisticPropensity::default(),
            Some(&labels),
            None,
        )
        .unwrap();
        assert!((&fast.e - &generic.e).amax() < 1e-9);
        assert!((&fast.mu0 - &generic.mu0).amax() < 1e-9);
        assert!((&fast.mu1 - &generic.mu1).amax() < 1e-9);
    }

    #[test]
    fn median_adjustment_adds_dispersion() {
        let (m, s) = median_aggregate(&[(1.0, 1.0), (2.0, 1.0), (4.0, 1.0)]);
        assert_eq!(m, 2.0);
        // med(1 + 1, 1 + 0, 1 + 4) = 2.
        assert!((s - 2f64.sqrt()).abs() < 1e-15);
    }
}
