//! Every loader against its row count and known values. The expected values come from the
//! published descriptions (Dehejia & Wahba 1999; R's `summary(meuse)`; the R-INLA tutorial) or
//! from an independent read of the CSV files with Python's `csv` module.

use super::*;

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

#[test]
fn every_catalog_entry_loads_with_its_stated_row_count() {
    assert_eq!(catalog().len(), 10);
    for info in catalog() {
        let t = load(info.name).unwrap();
        assert_eq!(t.n_rows(), info.rows, "{}", info.name);
        assert!(t.has_header(), "{}", info.name);
    }
    let e = load("iris").unwrap_err().to_string();
    assert!(
        e.contains("unknown data set `iris`; shipped: lalonde_nsw"),
        "{e}"
    );
}

#[test]
fn lalonde_nsw_reproduces_the_published_difference_in_means() {
    let d = lalonde_nsw().unwrap();
    assert_eq!(d.re78.len(), 445);
    assert_eq!(d.covariates.shape(), (445, 8));
    assert_eq!(d.treat.iter().filter(|&&t| t).count(), 185);
    let arm = |t: bool| {
        mean(
            d.re78
                .iter()
                .zip(&d.treat)
                .filter(|p| *p.1 == t)
                .map(|p| *p.0),
        )
    };
    // 1794 USD: Dehejia & Wahba (1999), Table 3; 1794.342 by Python.
    assert!((arm(true) - arm(false) - 1794.342).abs() < 1e-3);
    // First unit: treated, age 37, educ 11, black, married, no degree, re78 9930.046.
    assert!(d.treat[0]);
    assert_eq!(
        d.covariates.row(0).iter().copied().collect::<Vec<_>>()[..6],
        [37.0, 11.0, 1.0, 0.0, 1.0, 1.0]
    );
    assert_eq!(d.re78[0], 9930.046);
}

#[test]
fn lalonde_observational_samples() {
    let cps = lalonde_cps().unwrap();
    assert_eq!(
        (cps.re78.len(), cps.treat.iter().filter(|&&t| t).count()),
        (16_177, 185)
    );
    assert_eq!(cps.re78[16_176], 7979.724);
    assert_eq!(cps.covariates[(16_176, 6)], 13628.66); // re74
    let psid = lalonde_psid().unwrap();
    assert_eq!(
        (psid.re78.len(), psid.treat.iter().filter(|&&t| t).count()),
        (2_675, 185)
    );
    assert_eq!(psid.re78[2_674], 53198.157);
}

#[test]
fn ihdp_replications_and_their_true_effects() {
    // True SATE mean(mu1 - mu0), by Python: 4.0161, 4.0508, 4.0992.
    for (rep, sate) in [
        (1, 4.016066896118337),
        (2, 4.050838760043126),
        (3, 4.099163647971287),
    ] {
        let d = ihdp(rep).unwrap();
        assert_eq!(d.x.shape(), (747, 25));
        assert_eq!(d.treatment.iter().filter(|&&t| t).count(), 139);
        assert!((d.true_sate() - sate).abs() < 1e-10, "rep {rep}");
    }
    let d = ihdp(1).unwrap();
    assert_eq!(d.y_factual[0], 5.59991628549083);
    assert_eq!(d.x[(0, 0)], -0.528602821749802);
    assert!(ihdp(0).is_err() && ihdp(4).is_err());
}

#[test]
fn meuse_matches_r_summary() {
    let m = meuse().unwrap();
    assert_eq!(m.coords.shape(), (155, 2));
    assert_eq!((m.coords[(0, 0)], m.coords[(0, 1)]), (181072.0, 333611.0));
    // summary(meuse$zinc) in R: mean 469.7.
    assert!((m.zinc.mean() - 469.716129).abs() < 1e-5);
    assert_eq!(m.om.iter().filter(|v| v.is_nan()).count(), 2);
    assert_eq!(m.landuse.iter().filter(|v| v.is_none()).count(), 1);
    assert_eq!(m.landuse[0].as_deref(), Some("Ah"));
    assert_eq!(
        m.landuse
            .iter()
            .filter(|v| v.as_deref() == Some("W"))
            .count(),
        50
    );
    assert!(m.ffreq.iter().all(|f| (1..=3).contains(f)));
    assert!(m.soil.iter().all(|s| (1..=3).contains(s)));
    assert_eq!(m.ffreq[154], 3);
    assert_eq!(m.dist_m[154], 40.0);
    let g = meuse_grid().unwrap();
    assert_eq!(g.coords.shape(), (3_103, 2));
    assert_eq!(
        (g.coords[(3_102, 0)], g.coords[(3_102, 1)]),
        (179220.0, 329620.0)
    );
    assert_eq!(g.ffreq[3_102], 2);
}

#[test]
fn spde_toy_and_scotland() {
    let t = spde_toy().unwrap();
    assert_eq!(t.coords.shape(), (200, 2));
    assert!(t.coords.iter().all(|c| (0.0..=1.0).contains(c)));
    assert_eq!(t.y[0], 11.5212061720189);
    // The tutorial's intercept is 10; the sample mean (Python) is 9.8584.
    assert!((t.y.mean() - 9.858401109640425).abs() < 1e-12);
    let s = scotland_temperatures().unwrap();
    assert_eq!(s.coords.shape(), (236, 2));
    let observed: Vec<f64> = s
        .january_temp
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    assert_eq!(observed.len(), 151); // 85 stations are prediction targets.
    assert!((mean(observed.into_iter()) - 2.814569536423841).abs() < 1e-12);
    assert_eq!(s.elevation[235], 107.0);
    assert!(scotland_gstlearn_model().starts_with("Model"));
}
