//! Raissi, Perdikaris and Karniadakis's Burgers experiments at full size (minutes, release
//! build): the inverse problem on clean and 1%-noisy data, and the forward problem.
//!
//! ```sh
//! cargo run --release -p uqforge-pinn --example burgers -- inverse 0.0
//! cargo run --release -p uqforge-pinn --example burgers -- inverse 0.01
//! cargo run --release -p uqforge-pinn --example burgers -- forward
//! ```
//!
//! Optional third and fourth arguments: Adam steps and L-BFGS iterations.
#![allow(clippy::print_stdout)]

use uqforge_core::observe::NoProgress;
use uqforge_pinn::burgers::{Experiment, Mode, NU};

fn main() -> Result<(), uqforge_core::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(String::as_str) {
        Some("forward") => Mode::Forward,
        _ => Mode::Inverse,
    };
    let mut e = Experiment::raissi(mode);
    if let Some(noise) = args.get(1).and_then(|s| s.parse().ok()) {
        e.noise = noise;
    }
    if let Some(steps) = args.get(2).and_then(|s| s.parse().ok()) {
        e.training.adam.steps = steps;
    }
    if let Some(iterations) = args.get(3).and_then(|s| s.parse().ok()) {
        e.training.lbfgs.iterations = iterations;
    }
    let out = e.run(&mut NoProgress)?;
    println!(
        "{mode:?}, {} points, noise {}: relative L2 {:.3e}, loss {:.3e}, {} Adam steps + {} L-BFGS iterations ({}), {:.1} s",
        e.points,
        e.noise,
        out.relative_l2,
        out.loss,
        out.training.adam_steps,
        out.training.lbfgs_iterations,
        out.training.lbfgs_termination,
        out.seconds
    );
    if let (Some(l1), Some(l2)) = (out.lambda1, out.lambda2) {
        println!(
            "lambda1 = {l1:.6} (error {:.4}%), lambda2 = {l2:.6e} (error {:.4}%)",
            100.0 * (l1 - 1.0).abs(),
            100.0 * (l2 / NU - 1.0).abs()
        );
    }
    Ok(())
}
