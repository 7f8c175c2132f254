//! Training to known answers, small and fast: a small version of Raissi et al.'s inverse
//! Burgers problem (the full-size runs are `examples/burgers.rs` and the `pinn` benchmark
//! suite), and the heat equation against its closed form.

use uqforge_core::observe::NoProgress;
use uqforge_pinn::burgers::{Experiment, Mode, NU};

#[test]
fn small_inverse_burgers_identifies_both_coefficients() -> uqforge_core::Result<()> {
    // 400 samples, four hidden layers of 20, 500 Adam steps then 1,500 L-BFGS iterations.
    let mut e = Experiment::raissi(Mode::Inverse);
    e.points = 400;
    e.layers = vec![20; 4];
    e.training.adam.steps = 500;
    e.training.lbfgs.iterations = 1500;
    let out = e.run(&mut NoProgress)?;
    let (l1, l2) = (
        out.lambda1.unwrap_or(f64::NAN),
        out.lambda2.unwrap_or(f64::NAN),
    );
    // Starting from lambda1 = 0 and lambda2 = e^-6 = 0.0025 (nu = 0.00318): measured here
    // 0.2% and 7% errors; the full problem reaches 0.003% and 0.14%.
    assert!((l1 - 1.0).abs() < 0.01, "lambda1 = {l1}");
    assert!((l2 / NU - 1.0).abs() < 0.15, "lambda2 = {l2}");
    assert!(out.relative_l2 < 0.1, "relative L2 {}", out.relative_l2);
    Ok(())
}

#[test]
fn forward_heat_equation_matches_its_closed_form() -> uqforge_core::Result<()> {
    use uqforge_core::Model;
    use uqforge_pinn::diffusion::{heat_exact, heat_problem};
    use uqforge_pinn::train::{TrainOptions, train};
    use uqforge_pinn::{Activation, Mlp};
    let d = 0.1;
    let problem = heat_problem(d, 500, 50, 50, 7)?;
    let mut net = Mlp::new(&[2, 20, 20, 1], Activation::Tanh, 7)?
        .with_input_box(&[0.0, -1.0], &[1.0, 1.0])?;
    let mut options = TrainOptions::default();
    options.adam.steps = 300;
    options.lbfgs.iterations = 700;
    train(&problem, &mut net, &options, &mut NoProgress)?;
    let (mut num, mut den) = (0.0, 0.0);
    for it in 0..=10 {
        for ix in 0..=40 {
            let (t, x) = (it as f64 / 10.0, -1.0 + ix as f64 / 20.0);
            let mut u = [0.0];
            net.eval(&[t, x], &mut u)?;
            let exact = heat_exact(t, x, d);
            num += (u[0] - exact).powi(2);
            den += exact * exact;
        }
    }
    let rel = (num / den).sqrt();
    // Measured here: 5.3e-4.
    assert!(rel < 2e-3, "relative L2 error {rel}");
    Ok(())
}
