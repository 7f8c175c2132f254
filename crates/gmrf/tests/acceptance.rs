//! The acceptance cases of the SPDE model: the discretised field against the Matérn
//! covariance, recovery of known parameters from simulated data, and R-INLA's SPDEtoy data.

use nalgebra::{DMatrix, DVector};
use uqforge_core::Result;
use uqforge_gmrf::likelihood::{GeostatModel, Params};
use uqforge_gmrf::mesh_builder::MeshBuilder;
use uqforge_gmrf::mle::{MleOptions, initial_params, maximum_likelihood};
use uqforge_gmrf::{Fem, Matern, Mesh, SpdeOperator, SymbolicCholesky};

/// K_1(x) = int_0^inf exp(-x cosh t) cosh t dt, by the trapezoidal rule (the integrand decays
/// double-exponentially; 4000 steps on [0, 12] are exact to ~1e-12 for x >= 0.05).
fn bessel_k1(x: f64) -> f64 {
    let (n, b) = (4000, 12.0);
    let h = b / n as f64;
    let f = |t: f64| (-x * t.cosh()).exp() * t.cosh();
    h * (0.5 * f(0.0) + (1..n).map(|i| f(i as f64 * h)).sum::<f64>() + 0.5 * f(b))
}

/// Matérn covariance with nu = 1: sigma^2 (kappa h) K_1(kappa h).
fn matern_nu1(h: f64, kappa: f64, sigma: f64) -> f64 {
    if h == 0.0 {
        sigma * sigma
    } else {
        sigma * sigma * kappa * h * bessel_k1(kappa * h)
    }
}

#[test]
fn bessel_quadrature_matches_tabulated_values() {
    // Abramowitz and Stegun, table 9.8: K_1(1) = 0.6019072302, K_1(2) = 0.1398658818.
    assert!((bessel_k1(1.0) - 0.601_907_230_2).abs() < 1e-9);
    assert!((bessel_k1(2.0) - 0.139_865_881_8).abs() < 1e-9);
}

#[test]
fn spde_covariance_matches_matern_in_the_interior() -> Result<()> {
    // Range 1, sigma 1, on [-4, 4]^2 with 12 cells per range; covariance between the centre and
    // the nodes along a row, from one solve Q c = e_centre.
    let (half, per_range) = (4.0, 12usize);
    let cells = (2.0 * half) as usize * per_range;
    let mesh = Mesh::regular_grid([-half, half], [-half, half], cells, cells)?;
    let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
    let field = Matern::from_range_sigma(2, 1.0, 1.0)?;
    let chol = SymbolicCholesky::analyse(spde.pattern())?.factor(&spde.precision(&field)?)?;
    let centre = cells / 2 + (cells / 2) * (cells + 1);
    let mut e = DVector::zeros(mesh.n_nodes());
    e[centre] = 1.0;
    let cov = chol.solve(&e)?;
    for step in 0..=(2 * per_range) {
        let h = step as f64 / per_range as f64;
        let want = matern_nu1(h, field.kappa, 1.0);
        let got = cov[centre + step];
        assert!(
            (got - want).abs() < 0.05,
            "lag {h}: SPDE {got}, Matérn {want}"
        );
    }
    // Measured: largest error 0.030, at lag 0 (the FEM field's variance is slightly above
    // sigma^2).
    Ok(())
}

/// Simulate y = 1 + x(s) + e at `n` uniform locations on the unit square from a field on a
/// fine regular mesh.
fn simulate(n: usize, truth: Params, seed: u64) -> Result<(DMatrix<f64>, DVector<f64>)> {
    let mesh = Mesh::regular_grid([-0.5, 1.5], [-0.5, 1.5], 80, 80)?;
    let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
    let q = spde.precision(&Matern::from_range_sigma(2, truth.range, truth.sigma)?)?;
    let x = SymbolicCholesky::analyse(spde.pattern())?
        .factor(&q)?
        .sample(1, seed)?;
    let mut rng = uqforge_core::rng::stream(seed, 1);
    let locations = DMatrix::from_fn(n, 2, |_, _| uqforge_core::rng::uniform01(&mut rng));
    let a = mesh.observation_matrix(&locations)?;
    let y = &a * x.column(0)
        + DVector::from_fn(n, |_, _| {
            1.0 + truth.noise_sd * uqforge_core::rng::standard_normal(&mut rng)
        });
    Ok((locations, y))
}

#[test]
fn maximum_likelihood_recovers_simulated_parameters() -> Result<()> {
    let truth = Params {
        range: 0.3,
        sigma: 1.0,
        noise_sd: 0.3,
    };
    let mut covered = 0;
    let seeds = 5;
    for seed in 0..seeds {
        let (locations, y) = simulate(2000, truth, seed)?;
        let mesh = MeshBuilder::new(0.04).extension(0.3).build(&locations)?;
        let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
        let model = GeostatModel::new(
            &spde,
            mesh.observation_matrix(&locations)?,
            y.clone(),
            DMatrix::from_element(2000, 1, 1.0),
        )?;
        let fit = maximum_likelihood(&model, &MleOptions::new(initial_params(&locations, &y)?))?;
        let se = fit.std_errors.expect("information is positive definite");
        let z = [
            (fit.params.range.ln() - truth.range.ln()) / se.log_range,
            (fit.params.sigma.ln() - truth.sigma.ln()) / se.log_sigma,
            (2.0 * fit.params.noise_sd.ln() - 2.0 * truth.noise_sd.ln()) / se.log_noise_variance,
        ];
        if z.iter().all(|v| v.abs() < 2.0) {
            covered += 1;
        }
    }
    assert!(
        covered >= seeds - 1,
        "{covered} of {seeds} seeds within two standard errors"
    );
    Ok(())
}

#[test]
fn spde_toy_estimates_are_near_the_simulation_truth() -> Result<()> {
    let toy = uqforge_datasets::spde_toy()?;
    let n = toy.y.len();
    let mesh = MeshBuilder::new(0.05).extension(0.3).build(&toy.coords)?;
    let spde = SpdeOperator::new(&Fem::assemble(&mesh)?, 2)?;
    let model = GeostatModel::new(
        &spde,
        mesh.observation_matrix(&toy.coords)?,
        toy.y.clone(),
        DMatrix::from_element(n, 1, 1.0),
    )?;
    let fit = maximum_likelihood(
        &model,
        &MleOptions::new(initial_params(&toy.coords, &toy.y)?),
    )?;
    // Measured here: intercept 9.55 (se 0.60), noise variance 0.262, field variance 3.20,
    // kappa 7.86; each within two standard errors of the truth (10, 0.3, 5, 7).
    let se = fit.std_errors.expect("information is positive definite");
    let z = [
        (fit.beta[0] - 10.0) / fit.beta_std_errors[0],
        (2.0 * fit.params.noise_sd.ln() - 0.3f64.ln()) / se.log_noise_variance,
        (2.0 * fit.params.sigma.ln() - 5f64.ln()) / (2.0 * se.log_sigma),
        // log kappa = log sqrt(8) - log range: the same standard error.
        ((8f64.sqrt() / fit.params.range).ln() - 7f64.ln()) / se.log_range,
    ];
    assert!(fit.converged, "{}", fit.termination);
    assert!(
        z.iter().all(|v| v.abs() < 2.0),
        "z-scores {z:?} for {:?}",
        fit.params
    );
    Ok(())
}

#[test]
fn anisotropic_stiffness_stretches_the_correlation() -> Result<()> {
    // With H = diag(4, 1) the field is an isotropic one stretched by 2 along x: the correlation
    // at lag (2d, 0) equals the correlation at lag (0, d).
    let (half, per_unit) = (3.0, 10usize);
    let cells = (2.0 * half) as usize * per_unit;
    let mesh = Mesh::regular_grid([-half, half], [-half, half], cells, cells)?;
    let h = nalgebra::Matrix2::new(4.0, 0.0, 0.0, 1.0);
    let spde = SpdeOperator::new(&Fem::assemble_anisotropic(&mesh, &[h])?, 2)?;
    let field = Matern::new(2, 3.0, 1.0)?;
    let chol = SymbolicCholesky::analyse(spde.pattern())?.factor(&spde.precision(&field)?)?;
    let centre = cells / 2 + (cells / 2) * (cells + 1);
    let mut e = DVector::zeros(mesh.n_nodes());
    e[centre] = 1.0;
    let cov = chol.solve(&e)?;
    let corr = |k: usize| cov[k] / cov[centre];
    for d in [2, 4, 6] {
        let along_x = corr(centre + 2 * d);
        let along_y = corr(centre + d * (cells + 1));
        assert!(
            (along_x - along_y).abs() < 0.02,
            "lag {d}: {along_x} vs {along_y}"
        );
        // And the field is not isotropic: at the same lag, x decorrelates more slowly.
        assert!(corr(centre + d) > along_y + 0.05);
    }
    Ok(())
}
