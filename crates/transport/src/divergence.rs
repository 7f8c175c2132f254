//! The debiased Sinkhorn divergence.
//!
//! The entropic cost $\mathcal T_\varepsilon(\alpha, \beta)$ of [`crate::sinkhorn`] is biased:
//! $\mathcal T_\varepsilon(\alpha, \alpha) > 0$, and minimising $\beta \mapsto
//! \mathcal T_\varepsilon(\alpha, \beta)$ shrinks $\beta$ towards a blurred copy of
//! $\alpha$'s centre. Subtracting the two self-transport terms,
//!
//! $$ S_\varepsilon(\alpha, \beta) = \mathcal T_\varepsilon(\alpha, \beta)
//!    - \tfrac12 \mathcal T_\varepsilon(\alpha, \alpha)
//!    - \tfrac12 \mathcal T_\varepsilon(\beta, \beta) , $$
//!
//! gives a divergence: for costs whose kernel $e^{-C/\varepsilon}$ is positive definite
//! (squared Euclidean and Euclidean distances) $S_\varepsilon \ge 0$ with equality if and only
//! if $\alpha = \beta$, and it metrises weak convergence (Feydy et al. 2019). It interpolates
//! between optimal transport and a kernel distance: $S_\varepsilon \to \mathcal T_0$ as
//! $\varepsilon \to 0$, and as $\varepsilon \to \infty$ it tends to
//! $\langle \alpha \otimes \beta, C\rangle - \tfrac12 \langle \alpha \otimes \alpha, C\rangle -
//! \tfrac12 \langle \beta \otimes \beta, C\rangle$, which for the squared Euclidean cost is
//! $\lVert \bar x_\alpha - \bar x_\beta\rVert^2$, the squared distance between the means.
//! Here $\mathcal T_\varepsilon = \langle C, \pi\rangle + \varepsilon \thinspace
//! \mathrm{KL}(\pi | \alpha \otimes \beta) = \langle f, a\rangle + \langle g, b\rangle$ at the
//! optimum (Genevay et al.'s convention). The cross term is solved by
//! [`crate::sinkhorn::sinkhorn`]. The self terms are symmetric problems, whose optimal
//! potentials are equal ($f = g$); alternating Sinkhorn updates oscillate between two
//! potentials there and crawl (measured: no convergence to $10^{-7}$ in $10^5$ iterations on 40
//! points at $\varepsilon = 0.05$), so they use the averaged symmetric update
//! $f \leftarrow \tfrac12 (f + h)$ with
//! $h_i = -\varepsilon \log \sum_j a_j e^{(f_j - C_{ij})/\varepsilon}$
//! (Feydy et al. 2019), in the log domain with the same epsilon scaling, and
//! $\mathcal T_\varepsilon(\alpha, \alpha) = 2 \langle f, a\rangle$.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_transport::{DiscreteMeasure, GroundCost};
//! use uqforge_transport::divergence::sinkhorn_divergence;
//! use uqforge_transport::sinkhorn::SinkhornOptions;
//! let x = DiscreteMeasure::uniform(DMatrix::from_row_slice(3, 1, &[0.0, 1.0, 2.0])).unwrap();
//! let s = sinkhorn_divergence(&x, &x, GroundCost::SqEuclidean, &SinkhornOptions::default())
//!     .unwrap();
//! assert!(s.divergence.abs() < 1e-12); // no bias: S(a, a) = 0
//! ```
//!
//! # References
//! - A. Genevay, G. Peyré, M. Cuturi, "Learning generative models with Sinkhorn divergences",
//!   AISTATS 2018.
//! - J. Feydy, T. Séjourné, F.-X. Vialard, S. Amari, A. Trouvé, G. Peyré, "Interpolating
//!   between optimal transport and MMD using Sinkhorn divergences", AISTATS 2019.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::{Error, Result, validate};

use crate::cost::GroundCost;
use crate::measure::DiscreteMeasure;
use crate::sinkhorn::{SinkhornOptions, epsilon_stages, logs, sinkhorn, update_rows};

/// The Sinkhorn divergence and its three entropic costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkhornDivergence {
    /// $S_\varepsilon(\alpha, \beta)$.
    pub divergence: f64,
    /// $\mathcal T_\varepsilon(\alpha, \beta)$.
    pub cross: f64,
    /// $\mathcal T_\varepsilon(\alpha, \alpha)$.
    pub source_self: f64,
    /// $\mathcal T_\varepsilon(\beta, \beta)$.
    pub target_self: f64,
    /// Transport cost $\langle C, \pi\rangle$ of the cross plan (no entropy).
    pub cross_transport_cost: f64,
    /// Sinkhorn iterations over the three problems.
    pub iterations: usize,
    /// Largest marginal error of the three plans.
    pub marginal_error: f64,
}

/// $S_\varepsilon(\alpha, \beta)$ for two measures and a ground cost.
///
/// # Errors
/// Those of [`sinkhorn`] for any of the three problems.
pub fn sinkhorn_divergence(
    source: &DiscreteMeasure,
    target: &DiscreteMeasure,
    cost: GroundCost,
    options: &SinkhornOptions,
) -> Result<SinkhornDivergence> {
    let cross = sinkhorn(source, target, cost, options)?;
    let xx = self_transport(source, cost, options)?;
    let yy = self_transport(target, cost, options)?;
    Ok(SinkhornDivergence {
        divergence: cross.entropic_cost - 0.5 * (xx.value + yy.value),
        cross: cross.entropic_cost,
        source_self: xx.value,
        target_self: yy.value,
        cross_transport_cost: cross.cost,
        iterations: cross.iterations + xx.iterations + yy.iterations,
        marginal_error: cross
            .marginal_error
            .max(xx.marginal_error)
            .max(yy.marginal_error),
    })
}

/// $\mathcal T_\varepsilon(\alpha, \alpha)$ with its iterations and marginal error.
struct SelfTransport {
    value: f64,
    iterations: usize,
    marginal_error: f64,
}

/// The symmetric problem by averaged updates with epsilon scaling.
fn self_transport(
    measure: &DiscreteMeasure,
    cost: GroundCost,
    options: &SinkhornOptions,
) -> Result<SelfTransport> {
    validate::positive("epsilon", options.epsilon)?;
    validate::positive("tolerance", options.tolerance)?;
    let c: DMatrix<f64> = cost.matrix(measure.points(), measure.points())?;
    let a = measure.weights().as_slice();
    let total: f64 = a.iter().sum();
    let a: Vec<f64> = if options.balance.renormalise {
        a.iter().map(|w| w / total).collect()
    } else {
        a.to_vec()
    };
    let log_a = logs(&a);
    let n = a.len();
    let range = c.max() - c.min();
    let mut f = vec![0.0; n];
    let mut t = vec![0.0; n];
    let mut iterations = 0;
    let mut error = f64::INFINITY;
    for (eps, tolerance) in epsilon_stages(range, options) {
        loop {
            update_rows(&log_a, &f, &c, eps, &mut t);
            // Row sums of the symmetric plan of f are a_i exp((f_i - T(f)_i) / eps).
            error = a
                .iter()
                .zip(&f)
                .zip(&t)
                .map(|((w, fi), ti)| w * (((fi - ti) / eps).exp() - 1.0).abs())
                .sum();
            if error <= tolerance {
                break;
            }
            if iterations >= options.max_iterations || !error.is_finite() {
                return Err(Error::DidNotConverge {
                    what: "symmetric Sinkhorn (self-transport of the Sinkhorn divergence)".into(),
                    iterations,
                    residual: error,
                });
            }
            f.iter_mut()
                .zip(&t)
                .for_each(|(fi, ti)| *fi = 0.5 * (*fi + ti));
            iterations += 1;
        }
    }
    // The L1 error of the last check bounds the largest absolute violation.
    let value = 2.0
        * a.iter()
            .zip(&f)
            .filter(|(w, _)| **w > 0.0)
            .map(|(w, p)| w * p)
            .sum::<f64>();
    Ok(SelfTransport {
        value,
        iterations,
        marginal_error: error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExactOptions, exact};
    use nalgebra::{DMatrix, DVector};
    use uqforge_core::rng::{rng_from_seed, standard_normal, uniform01};

    fn cloud(n: usize, shift: f64, seed: u64) -> DiscreteMeasure {
        let mut rng = rng_from_seed(seed);
        let x = DMatrix::from_fn(n, 2, |_, k| {
            standard_normal(&mut rng) + if k == 0 { shift } else { 0.0 }
        });
        let w = DVector::from_fn(n, |_, _| 0.5 + uniform01(&mut rng));
        let total = w.sum();
        DiscreteMeasure::new(x, w / total).unwrap()
    }

    fn mean(m: &DiscreteMeasure) -> DVector<f64> {
        m.points().transpose() * m.weights()
    }

    #[test]
    fn unbiased_and_positive() {
        let o = SinkhornOptions {
            epsilon: 0.5,
            ..SinkhornOptions::default()
        };
        let x = cloud(40, 0.0, 1);
        let s = sinkhorn_divergence(&x, &x, GroundCost::SqEuclidean, &o).unwrap();
        assert!(s.divergence.abs() < 1e-10, "{}", s.divergence);
        assert!(
            s.cross > 0.1,
            "the entropic cost itself is biased: {}",
            s.cross
        );
        for seed in 2..6 {
            let y = cloud(30, 0.1 * seed as f64, seed);
            for cost in [GroundCost::SqEuclidean, GroundCost::Euclidean] {
                let s = sinkhorn_divergence(&x, &y, cost, &o).unwrap();
                assert!(s.divergence > 0.0, "{seed} {cost:?}: {}", s.divergence);
            }
        }
    }

    #[test]
    fn interpolates_between_transport_and_the_mean_distance() {
        let (x, y) = (cloud(40, 0.0, 7), cloud(50, 1.5, 8));
        let w2 = exact(&x, &y, GroundCost::SqEuclidean, &ExactOptions::default())
            .unwrap()
            .cost;
        let means = (mean(&x) - mean(&y)).norm_squared();
        let at = |epsilon: f64| {
            let o = SinkhornOptions {
                epsilon,
                tolerance: 1e-7,
                ..SinkhornOptions::default()
            };
            sinkhorn_divergence(&x, &y, GroundCost::SqEuclidean, &o)
                .unwrap()
                .divergence
        };
        // Small epsilon: close to W2^2 (the bias terms vanish with epsilon).
        let small = at(0.05);
        eprintln!(
            "small {small} w2 {w2} means {means} big {} bigger {}",
            at(100.0),
            at(1000.0)
        );
        assert!((small - w2).abs() < 0.02 * w2, "{small} vs W2^2 = {w2}");
        // Large epsilon: the squared distance between the means, with an O(1/eps) error.
        let (big, bigger) = (at(100.0), at(1000.0));
        assert!((bigger - means).abs() < (big - means).abs());
        assert!((bigger - means).abs() < 0.01 * means, "{bigger} vs {means}");
        assert!(means < small && small < w2 + 0.02 * w2);
    }
}
