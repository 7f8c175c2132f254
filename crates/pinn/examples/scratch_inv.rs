#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]
use uqforge_core::observe::NoProgress;
use uqforge_pinn::{
    Activation, Mlp, burgers,
    train::{TrainOptions, train},
};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("inverse");
    let adam: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let lbfgs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let layers: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(8);
    let noise: f64 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let mut sizes = vec![2];
    sizes.extend(std::iter::repeat_n(20, layers));
    sizes.push(1);
    let mut net = Mlp::new(&sizes, Activation::Tanh, 1)
        .unwrap()
        .with_input_box(&[0.0, -1.0], &[1.0, 1.0])
        .unwrap();
    let problem = if mode == "inverse" {
        burgers::inverse_problem(2000, noise, 1).unwrap()
    } else {
        burgers::forward_problem(10000, 50, 50, 1).unwrap()
    };
    let mut o = TrainOptions::default();
    o.adam.steps = adam;
    o.lbfgs.iterations = lbfgs;
    let t0 = std::time::Instant::now();
    let fit = train(&problem, &mut net, &o, &mut NoProgress).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let (grid, u) = burgers::reference_grid(256, 100);
    let mut num = 0.0;
    let mut den = 0.0;
    for r in 0..grid.nrows() {
        let mut y = [0.0];
        uqforge_core::Model::eval(&net, &[grid[(r, 0)], grid[(r, 1)]], &mut y).unwrap();
        num += (y[0] - u[r]).powi(2);
        den += u[r] * u[r];
    }
    println!(
        "{mode}: loss {:.3e} coef {:?} relL2 {:.3e} evals {} iters {} term {} secs {:.1}",
        fit.loss.total,
        fit.coefficients,
        (num / den).sqrt(),
        fit.evaluations,
        fit.lbfgs_iterations,
        fit.lbfgs_termination,
        secs
    );
    if !fit.coefficients.is_empty() {
        println!(
            "l1 err {:.4}%  l2 err {:.4}%",
            (fit.coefficients[0] - 1.0).abs() * 100.0,
            (fit.coefficients[1] / burgers::NU - 1.0).abs() * 100.0
        );
    }
}
