//! Every analytic energy gradient against central differences, on random polylines.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use uqforge_latent::bench::mlp_decoder;
use uqforge_latent::{Hyperbolic, Metric, PullBack, Ridge, Sphere};

/// Central differences of the polyline energy, relative tolerance `tol`.
fn check<M: Metric>(metric: &M, nodes: &[f64], tol: f64) -> Result<(), TestCaseError> {
    let mut grad = vec![0.0; nodes.len()];
    metric.polyline(nodes, Some(&mut grad)).unwrap();
    let scale = grad.iter().fold(1.0f64, |m, g| m.max(g.abs()));
    for k in 0..nodes.len() {
        let h = 1e-6 * nodes[k].abs().max(1.0);
        let (mut up, mut down) = (nodes.to_vec(), nodes.to_vec());
        up[k] += h;
        down[k] -= h;
        let fd = (metric.polyline(&up, None).unwrap().energy
            - metric.polyline(&down, None).unwrap().energy)
            / (2.0 * h);
        prop_assert!(
            (grad[k] - fd).abs() <= tol * scale,
            "node coordinate {k}: {} vs {fd}",
            grad[k]
        );
    }
    Ok(())
}

fn polyline(lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    (2usize..9).prop_flat_map(move |n| proptest::collection::vec(lo..hi, 2 * n))
}

proptest! {
    #[test]
    fn half_plane_energy_gradient(xs in polyline(0.3, 3.0)) {
        check(&Hyperbolic, &xs, 1e-6)?;
    }

    #[test]
    fn sphere_energy_gradient(xs in polyline(-2.0, 2.0)) {
        check(&Sphere, &xs, 1e-6)?;
    }

    #[test]
    fn ridge_energy_gradient(xs in polyline(-1.0, 1.0), width in 0.1..1.0f64) {
        check(&PullBack::new(Ridge::new(2.0, width).unwrap()), &xs, 1e-6)?;
    }

    #[test]
    fn mlp_energy_gradient(xs in polyline(-2.0, 2.0), seed in 0u64..100) {
        check(&PullBack::new(mlp_decoder(seed).unwrap()), &xs, 1e-6)?;
    }
}
