//! Maximum likelihood of the advection–diffusion model on data simulated from it: the
//! advection, range, sigma, time scale and noise come back within three standard errors.
#![allow(clippy::unwrap_used)]

use nalgebra::{DMatrix, DVector};
use uqforge_core::rng::{standard_normal, stream, uniform01};
use uqforge_gmrf::Mesh;
use uqforge_gmrf::spacetime::{AdvectionDiffusion, SpaceTime};
use uqforge_gmrf::spacetime_likelihood::SpaceTimeObservations;

#[test]
fn simulated_advection_is_fitted_back_within_standard_errors() {
    // Range 0.3, sigma 1, c = 50 (9 % decay per step of 0.05), gamma = (50, 0): the field
    // moves by gamma dt / c = 0.05 per step, half the mesh spacing. 27 burn-in steps bring
    // the recursion from rest to within 1 % of its stationary variance.
    let mesh = Mesh::regular_grid([0.0, 1.0], [0.0, 1.0], 10, 10).unwrap();
    let truth = AdvectionDiffusion {
        c: 50.0,
        ..AdvectionDiffusion::from_range_sigma(0.3, 1.0, [50.0, 0.0]).unwrap()
    };
    let (dt, burn_in, steps, per_step, noise) = (0.05, 27, 10, 30, 0.1);
    let u = SpaceTime::new(&mesh, &truth, dt)
        .unwrap()
        .simulate_sequential(burn_in + steps, 11)
        .unwrap();
    // 30 uniform points per observed step, noise sd 0.1.
    let mut rng = stream(11, 7);
    let n = steps * per_step;
    let locations = DMatrix::from_fn(n, 2, |_, _| 0.05 + 0.9 * uniform01(&mut rng));
    let times: Vec<usize> = (0..n).map(|i| 1 + i / per_step).collect();
    let a = mesh.observation_matrix(&locations).unwrap();
    let mut y = DVector::zeros(n);
    for j in 0..a.ncols() {
        let col = a.col(j);
        for (&i, &w) in col.row_indices().iter().zip(col.values()) {
            y[i] += w * u[(j, burn_in + times[i] - 1)];
        }
    }
    y.iter_mut()
        .for_each(|v| *v += noise * standard_normal(&mut rng));

    let start = AdvectionDiffusion {
        c: 40.0,
        ..AdvectionDiffusion::from_range_sigma(0.4, 0.8, [30.0, 10.0]).unwrap()
    };
    let data = SpaceTimeObservations::new(
        &mesh,
        dt,
        &start,
        &locations,
        &times,
        y,
        DMatrix::zeros(n, 0),
        burn_in,
    )
    .unwrap();
    let fit = data.maximum_likelihood(&start, 0.2, 200, 1e-6).unwrap();
    assert!(fit.converged, "{}", fit.termination);
    let se = fit.std_errors.unwrap();
    let m = &fit.model;
    let checks = [
        ("range", m.range().unwrap(), 0.3, se.range),
        ("sigma", m.sigma().unwrap(), 1.0, se.sigma),
        ("advection x", m.advection[0], 50.0, se.advection[0]),
        ("advection y", m.advection[1], 0.0, se.advection[1]),
        ("c", m.c, 50.0, se.c),
        ("noise sd", fit.noise_sd, noise, se.noise_sd),
    ];
    for (name, estimate, exact, se) in checks {
        assert!(se > 0.0 && se.is_finite(), "{name}: se {se}");
        assert!(
            (estimate - exact).abs() < 3.0 * se,
            "{name}: {estimate} against {exact} (se {se})"
        );
    }
    // The advection is resolved: its standard error is well below the truth's size.
    assert!(se.advection[0] < 0.3 * 50.0);
}
