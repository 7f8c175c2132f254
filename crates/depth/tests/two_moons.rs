//! Out-of-domain detection on two moons (the demonstration, after Nguyen et al. 2024):
//! depth fitted on the training moons should score fresh points of the moons above points
//! in the gap between them. Fermat lens depth does so better (AUROC) than Mahalanobis and
//! halfspace depth, which see only moments or the convex hull.

use nalgebra::DMatrix;
use uqforge_core::rng::{SeededRng, standard_normal, stream, uniform01};
use uqforge_depth::{Depth, FermatLens, Halfspace, Lens, Mahalanobis};

/// `n` points of scikit-learn's two moons with Gaussian noise `sd`: the upper half of the
/// unit circle and the lower half of the unit circle about (1, 0.5), alternately.
fn moons(n: usize, sd: f64, rng: &mut SeededRng) -> DMatrix<f64> {
    let mut x = DMatrix::zeros(n, 2);
    for i in 0..n {
        let t = std::f64::consts::PI * uniform01(rng);
        let (a, b) = if i % 2 == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        x[(i, 0)] = a + sd * standard_normal(rng);
        x[(i, 1)] = b + sd * standard_normal(rng);
    }
    x
}

/// Distance from a point to the nearer noiseless moon.
fn to_moons(p: [f64; 2]) -> f64 {
    let arc = |c: [f64; 2], upper: bool| {
        let (dx, dy) = (p[0] - c[0], p[1] - c[1]);
        if (dy >= 0.0) == upper {
            (dx.hypot(dy) - 1.0).abs()
        } else {
            // Nearest end point of the half circle.
            (dx - 1.0).hypot(dy).min((dx + 1.0).hypot(dy))
        }
    };
    arc([0.0, 0.0], true).min(arc([1.0, 0.5], false))
}

/// `n` points uniform in the moons' bounding box, at least 0.35 from both moons: the gap
/// and the surroundings, inside or near the convex hull.
fn gap(n: usize, rng: &mut SeededRng) -> DMatrix<f64> {
    let mut rows = Vec::new();
    while rows.len() < 2 * n {
        let p = [-1.0 + 3.0 * uniform01(rng), -0.5 + 1.5 * uniform01(rng)];
        if to_moons(p) > 0.35 {
            rows.extend(p);
        }
    }
    DMatrix::from_row_slice(n, 2, &rows)
}

/// Probability that an in-domain point scores above an out-of-domain one (ties count half).
fn auroc(inside: &[f64], outside: &[f64]) -> f64 {
    let mut wins = 0.0;
    for a in inside {
        for b in outside {
            wins += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (inside.len() * outside.len()) as f64
}

#[test]
fn fermat_lens_depth_separates_the_gap_best() {
    let train = moons(200, 0.05, &mut stream(2024, 0));
    let fresh = moons(100, 0.05, &mut stream(2024, 1));
    let holes = gap(100, &mut stream(2024, 2));
    let score = |depth: &dyn Depth| {
        let a = depth.depth(&fresh).unwrap();
        let b = depth.depth(&holes).unwrap();
        auroc(a.as_slice(), b.as_slice())
    };
    let mahalanobis = score(&Mahalanobis::fit(&train).unwrap());
    let halfspace = score(&Halfspace::exact(&train).unwrap());
    let lens = score(&Lens::fit(&train).unwrap());
    let fermat = score(&FermatLens::fit(&train, 4.0).unwrap());
    eprintln!(
        "AUROC: Mahalanobis {mahalanobis:.3}, halfspace {halfspace:.3}, lens {lens:.3}, \
         Fermat lens (alpha = 4) {fermat:.3}"
    );
    assert!(fermat > 0.9, "Fermat lens AUROC {fermat}");
    assert!(fermat > mahalanobis + 0.1 && fermat > halfspace + 0.1);
}
