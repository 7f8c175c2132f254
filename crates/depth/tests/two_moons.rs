//! Out-of-domain detection on two moons (the demonstration, after Nguyen et al. 2024):
//! depth fitted on the training moons should score fresh points of the moons above points
//! in the gap between them. Fermat lens depth does so better (AUROC) than Mahalanobis and
//! halfspace depth, which see only moments or the convex hull.

use uqforge_core::rng::stream;
use uqforge_depth::ood::{auroc, moons_gap, two_moons};
use uqforge_depth::{Depth, FermatLens, Halfspace, Lens, Mahalanobis};

#[test]
fn fermat_lens_depth_separates_the_gap_best() {
    let train = two_moons(200, 0.05, &mut stream(2024, 0));
    let fresh = two_moons(100, 0.05, &mut stream(2024, 1));
    let holes = moons_gap(100, &mut stream(2024, 2));
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
