//! The Zuo–Serfling properties, checked on every depth of the crate with random samples:
//! values in [0, 1]; maximal at the centre of a centrally symmetric sample (for the depths
//! whose sample version guarantees it); vanishing far away, except where the theory says
//! otherwise (projection depth decays like 1/|x|, center-outward depth stops at
//! 1/(n_R + 1)).

use nalgebra::DMatrix;
use proptest::prelude::*;
use uqforge_core::Result;
use uqforge_core::rng::{rng_from_seed, standard_normal};
use uqforge_depth::mcd::Mcd;
use uqforge_depth::{
    CenterOutwardDepth, Depth, FermatLens, Halfspace, Lens, Mahalanobis, Projection, Simplicial,
    Spatial, Zonoid,
};

/// `half` normal points in 2D with a random linear map, and their reflections through
/// `centre`: a centrally symmetric sample of `2 half` points.
fn symmetric_sample(seed: u64, half: usize, centre: [f64; 2]) -> DMatrix<f64> {
    let mut rng = rng_from_seed(seed);
    let a: Vec<f64> = (0..4).map(|_| standard_normal(&mut rng)).collect();
    let base = DMatrix::from_fn(half, 2, |_, _| standard_normal(&mut rng));
    DMatrix::from_fn(2 * half, 2, |i, k| {
        let r = i % half;
        let v = a[2 * k] * base[(r, 0)] + a[2 * k + 1] * base[(r, 1)];
        if i < half {
            centre[k] + v
        } else {
            centre[k] - v
        }
    })
}

fn all_depths(x: &DMatrix<f64>) -> Result<Vec<(&'static str, Box<dyn Depth>)>> {
    Ok(vec![
        ("mahalanobis", Box::new(Mahalanobis::fit(x)?)),
        (
            "mahalanobis (MCD)",
            Box::new(Mahalanobis::robust(
                x,
                &Mcd {
                    starts: 50,
                    ..Mcd::default()
                },
            )?),
        ),
        ("halfspace", Box::new(Halfspace::exact(x)?)),
        ("projection", Box::new(Projection::fit(x, 200, 1)?)),
        ("spatial", Box::new(Spatial::fit(x)?)),
        (
            "spatial (affine invariant)",
            Box::new(Spatial::affine_invariant(x)?),
        ),
        ("simplicial", Box::new(Simplicial::exact(x)?)),
        ("zonoid", Box::new(Zonoid::fit(x)?)),
        ("lens", Box::new(Lens::fit(x)?)),
        ("fermat-lens", Box::new(FermatLens::fit(x, 3.0)?)),
        ("center-outward", Box::new(CenterOutwardDepth::fit(x)?)),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn zuo_serfling_properties(seed in 0u64..10_000, cx in -3.0f64..3.0, cy in -3.0f64..3.0) {
        let centre = [cx, cy];
        let x = symmetric_sample(seed, 12, centre);
        let mut rng = rng_from_seed(seed + 1);
        let queries = DMatrix::from_fn(20, 2, |_, k| centre[k] + 2.0 * standard_normal(&mut rng));
        let far = DMatrix::from_row_slice(2, 2, &[cx + 1e7, cy, cx, cy - 1e7]);
        for (name, depth) in all_depths(&x).unwrap() {
            let d = depth.depth(&queries).unwrap();
            prop_assert!(d.iter().all(|v| (0.0..=1.0).contains(v)), "{name}: {d}");
            // Maximal at the centre of symmetry: the sample versions of these depths
            // guarantee it (pairs x, 2c - x balance every halfspace, projection median,
            // unit vector and mean); simplicial, lens, Fermat lens and center-outward
            // depth only in the population.
            let at_centre = depth.depth_of(&centre);
            if !matches!(name, "simplicial" | "lens" | "fermat-lens" | "center-outward" | "mahalanobis (MCD)") {
                prop_assert!(
                    d.iter().all(|v| *v <= at_centre + 1e-9),
                    "{name}: centre {at_centre}, max {}", d.max()
                );
            }
            let far_depth = depth.depth(&far).unwrap();
            let bound = match name {
                "projection" => 1e-5,
                // n = 24 = 4 x 6: n_R = 4, and the outermost cell has depth 1/(n_R + 1).
                "center-outward" => 1.0 / 5.0 + 1e-12,
                _ => 1e-9,
            };
            prop_assert!(far_depth.iter().all(|v| *v <= bound), "{name} far away: {far_depth}");
        }
    }
}
