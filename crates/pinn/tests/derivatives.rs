//! The jets and the reverse pass against independent computations: hyper-dual numbers
//! (num-dual), central finite differences of the network's value, and central finite
//! differences of a loss in the weights.

#![allow(clippy::unwrap_used)] // Test helpers: a failure should stop the test loudly.

use nalgebra::DMatrix;
use num_dual::{DualNum, HyperDual64};
use proptest::prelude::*;
use uqforge_core::Model;
use uqforge_pinn::{Activation, JetSpec, JetTape, Mlp};

/// The network evaluated in any dual-number type, written from the module docs' definition
/// (not from the crate's forward pass): x~ = s (x - c), a = sigma(W a + b), u = s_u z + c_u.
fn network_in<D: DualNum<f64> + Copy>(net: &Mlp, x: &[D]) -> Vec<D> {
    let sizes = net.sizes();
    let (center, scale) = net.input_scaling();
    let mut a: Vec<D> = x
        .iter()
        .zip(center.iter().zip(scale))
        .map(|(&xi, (&c, &s))| (xi - c) * s)
        .collect();
    let mut offset = 0;
    for l in 1..sizes.len() {
        let (rows, cols) = (sizes[l], sizes[l - 1]);
        let w = &net.params()[offset..offset + rows * cols];
        let b = &net.params()[offset + rows * cols..offset + rows * cols + rows];
        offset += rows * (cols + 1);
        let z: Vec<D> = (0..rows)
            .map(|r| {
                let mut acc = D::from(b[r]);
                for (c, &ac) in a.iter().enumerate() {
                    acc += ac * w[r + c * rows];
                }
                acc
            })
            .collect();
        a = if l + 1 < sizes.len() {
            z.into_iter()
                .map(|v| match net.activation() {
                    Activation::Tanh => v.tanh(),
                    Activation::Sin => v.sin(),
                })
                .collect()
        } else {
            z
        };
    }
    let (cu, su) = net.output_scaling();
    a.into_iter()
        .enumerate()
        .map(|(o, v)| v * su[o] + cu[o])
        .collect()
}

fn all_pairs(n: usize) -> Vec<[usize; 2]> {
    (0..n).flat_map(|i| (i..n).map(move |j| [i, j])).collect()
}

fn random_net(n: usize, widths: &[usize], k: usize, act: Activation, seed: u64) -> Mlp {
    let mut sizes = vec![n];
    sizes.extend_from_slice(widths);
    sizes.push(k);
    let lower: Vec<f64> = (0..n).map(|i| -1.0 - 0.5 * i as f64).collect();
    let upper: Vec<f64> = (0..n).map(|i| 1.0 + 0.25 * i as f64).collect();
    let mut net = Mlp::new(&sizes, act, seed)
        .unwrap()
        .with_input_box(&lower, &upper)
        .unwrap()
        .with_output_scaling(&vec![0.3; k], &vec![1.7; k])
        .unwrap();
    // Non-zero biases, so that every term of the recurrences is exercised.
    let mut p = net.params().to_vec();
    for (i, v) in p.iter_mut().enumerate() {
        *v += 0.05 * ((i as f64) * 0.37).sin();
    }
    net.set_params(&p).unwrap();
    net
}

fn strategy() -> impl Strategy<Value = (Mlp, DMatrix<f64>)> {
    (
        1usize..=3,
        prop::collection::vec(1usize..=9, 1..=3),
        1usize..=2,
        prop::bool::ANY,
        any::<u64>(),
        prop::collection::vec(-1.0f64..1.0, 12),
    )
        .prop_map(|(n, widths, k, sin, seed, coords)| {
            let act = if sin {
                Activation::Sin
            } else {
                Activation::Tanh
            };
            let net = random_net(n, &widths, k, act, seed);
            let points = DMatrix::from_fn(4, n, |b, i| coords[(b * 3 + i) % 12] * 1.3);
            (net, points)
        })
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn jets_equal_hyper_dual_derivatives((net, points) in strategy()) {
        let n = net.input_dim();
        let spec = JetSpec::second_order(n, &all_pairs(n)).unwrap();
        let mut tape = JetTape::new(&net, spec.clone());
        tape.forward(&net, &points).unwrap();
        for b in 0..points.nrows() {
            for &[i, j] in spec.pairs() {
                let x: Vec<HyperDual64> = (0..n)
                    .map(|q| {
                        let e = |t: usize| if q == t { 1.0 } else { 0.0 };
                        HyperDual64::new(points[(b, q)], e(i), e(j), 0.0)
                    })
                    .collect();
                let u = network_in(&net, &x);
                for (o, uo) in u.iter().enumerate() {
                    prop_assert!(close(tape.jet(o, 0, b), uo.re, 1e-12));
                    prop_assert!(close(tape.jet(o, spec.first(i), b), uo.eps1, 1e-10));
                    prop_assert!(close(tape.jet(o, spec.first(j), b), uo.eps2, 1e-10));
                    let ij = spec.second(i, j).unwrap();
                    prop_assert!(close(tape.jet(o, ij, b), uo.eps1eps2, 1e-8),
                        "u_{i}{j} = {} vs {}", tape.jet(o, ij, b), uo.eps1eps2);
                }
            }
        }
    }

    #[test]
    fn jets_equal_central_differences((net, points) in strategy()) {
        let n = net.input_dim();
        let k = net.output_dim();
        let spec = JetSpec::second_order(n, &all_pairs(n)).unwrap();
        let mut tape = JetTape::new(&net, spec.clone());
        tape.forward(&net, &points).unwrap();
        let grad_spec = JetSpec::gradient(n);
        let mut shifted = JetTape::new(&net, grad_spec.clone());
        let h = 1e-5;
        for i in 0..n {
            let (mut plus, mut minus) = (points.clone(), points.clone());
            plus.column_mut(i).add_scalar_mut(h);
            minus.column_mut(i).add_scalar_mut(-h);
            let mut up = vec![0.0; k];
            let mut down = vec![0.0; k];
            for b in 0..points.nrows() {
                net.eval(plus.row(b).transpose().as_slice(), &mut up).unwrap();
                net.eval(minus.row(b).transpose().as_slice(), &mut down).unwrap();
                for o in 0..k {
                    let fd = (up[o] - down[o]) / (2.0 * h);
                    prop_assert!(close(tape.jet(o, spec.first(i), b), fd, 1e-8));
                }
            }
            // Second derivatives: central differences of the (exact) first derivatives.
            shifted.forward(&net, &plus).unwrap();
            let d_up: Vec<Vec<f64>> = (0..points.nrows())
                .map(|b| (0..k * n).map(|q| shifted.jet(q / n, grad_spec.first(q % n), b)).collect())
                .collect();
            shifted.forward(&net, &minus).unwrap();
            for (b, d_up) in d_up.iter().enumerate() {
                for o in 0..k {
                    for j in 0..n {
                        let fd = (d_up[o * n + j] - shifted.jet(o, grad_spec.first(j), b)) / (2.0 * h);
                        let ij = spec.second(i, j).unwrap();
                        prop_assert!(close(tape.jet(o, ij, b), fd, 1e-8),
                            "u_{i}{j} = {} vs {fd}", tape.jet(o, ij, b));
                    }
                }
            }
        }
    }

    #[test]
    fn weight_gradient_equals_central_differences((net, points) in strategy(), pick in 0usize..3) {
        let n = net.input_dim();
        let spec = match pick {
            0 => JetSpec::values(n),
            1 => JetSpec::gradient(n),
            _ => JetSpec::second_order(n, &all_pairs(n)[..n.min(2)]).unwrap(),
        };
        // L = sum_col (c_col u_col + u_col^2 / 2) with fixed weights c: adjoint c + u.
        let loss = |net: &Mlp, tape: &mut JetTape, adjoint: bool| -> f64 {
            tape.forward(net, &points).unwrap();
            let (jets, bar) = tape.output_and_adjoint();
            let mut total = 0.0;
            for (q, (&u, g)) in jets.iter().zip(bar.iter_mut()).enumerate() {
                let c = ((q as f64) * 0.71).cos();
                total += c * u + 0.5 * u * u;
                if adjoint {
                    *g = c + u;
                }
            }
            total
        };
        let mut tape = JetTape::new(&net, spec);
        loss(&net, &mut tape, true);
        let mut gradient = vec![0.0; net.n_params()];
        tape.backward(&net, &mut gradient).unwrap();
        let h = 1e-6;
        let mut shifted = net.clone();
        let mut worst: f64 = 0.0;
        for p in 0..net.n_params() {
            let mut theta = net.params().to_vec();
            theta[p] += h;
            shifted.set_params(&theta).unwrap();
            let up = loss(&shifted, &mut tape, false);
            theta[p] -= 2.0 * h;
            shifted.set_params(&theta).unwrap();
            let down = loss(&shifted, &mut tape, false);
            worst = worst.max((gradient[p] - (up - down) / (2.0 * h)).abs());
        }
        let scale = gradient.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        prop_assert!(worst <= 1e-6 * scale.max(1.0), "max error {worst:e} vs max |g| {scale:e}");
    }
}

#[test]
fn backward_accumulates_and_checks_its_buffer() {
    let net = random_net(2, &[5, 5], 1, Activation::Tanh, 9);
    let points = DMatrix::from_row_slice(2, 2, &[0.1, 0.2, -0.3, 0.4]);
    let mut tape = JetTape::new(&net, JetSpec::gradient(2));
    tape.forward(&net, &points).unwrap();
    tape.output_and_adjoint().1.fill(1.0);
    let mut once = vec![0.0; net.n_params()];
    tape.backward(&net, &mut once).unwrap();
    // The adjoint is the caller's: a second backward pass adds the same gradient again.
    tape.forward(&net, &points).unwrap();
    tape.output_and_adjoint().1.fill(1.0);
    let mut twice = once.clone();
    tape.backward(&net, &mut twice).unwrap();
    for (a, b) in once.iter().zip(&twice) {
        assert!((2.0 * a - b).abs() <= 1e-14 * (1.0 + b.abs()));
    }
    assert!(tape.backward(&net, &mut [0.0; 3]).is_err());
}

#[test]
fn bad_points_are_refused_with_clear_errors() {
    let net = random_net(2, &[4], 1, Activation::Sin, 1);
    let mut tape = JetTape::new(&net, JetSpec::gradient(2));
    let e = tape.forward(&net, &DMatrix::zeros(0, 2)).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    let e = tape.forward(&net, &DMatrix::zeros(3, 3)).unwrap_err();
    assert!(e.to_string().contains("dimension mismatch"), "{e}");
    let e = tape
        .forward(&net, &DMatrix::from_row_slice(1, 2, &[0.0, f64::NAN]))
        .unwrap_err();
    assert!(e.to_string().contains("non-finite"), "{e}");
    assert!(JetSpec::second_order(2, &[[0, 2]]).is_err());
    assert!(JetSpec::second_order(2, &[[0, 1], [1, 0]]).is_err());
    let mut other = JetTape::new(&net, JetSpec::gradient(3));
    assert!(other.forward(&net, &DMatrix::zeros(1, 2)).is_err());
}

/// The whole loss (data term + Burgers residual with two unknowns, one in log form) against
/// central differences in every weight and both coefficients, and its value against an
/// independent evaluation of the data term.
#[test]
fn loss_gradient_equals_central_differences_for_inverse_burgers() {
    use uqforge_pinn::{burgers, loss::Problem};
    let problem: Problem = burgers::inverse_problem(40, 0.01, 5).unwrap();
    let net = Mlp::new(&[2, 7, 7, 1], Activation::Tanh, 2)
        .unwrap()
        .with_input_box(&[0.0, -1.0], &[1.0, 1.0])
        .unwrap();
    let eta = vec![0.7, (0.2f64).ln()];
    let mut ws = problem.workspace(&net).unwrap();
    let mut g_theta = vec![0.0; net.n_params()];
    let mut g_eta = vec![0.0; 2];
    let loss = problem
        .evaluate(&net, &eta, &mut ws, Some((&mut g_theta, &mut g_eta)))
        .unwrap();
    // The data term, independently: mean of (u(x_b) - y_b)^2 through Model::eval.
    let data = &problem.terms()[0];
    let ys = data.targets();
    let mut mse = 0.0;
    for b in 0..data.points().nrows() {
        let mut u = [0.0];
        net.eval(&[data.points()[(b, 0)], data.points()[(b, 1)]], &mut u)
            .unwrap();
        mse += (u[0] - ys[(b, 0)]).powi(2) / data.points().nrows() as f64;
    }
    assert!((loss.terms[0] - mse).abs() < 1e-13 * mse.max(1.0));
    assert!((loss.total - loss.terms[0] - loss.terms[1]).abs() < 1e-14 * loss.total);

    let check = problem.gradient_check(&net, &eta, 1e-6).unwrap();
    let (worst, scale) = (check.worst, check.scale);
    assert!(
        worst <= 1e-6 * scale,
        "max error {worst:e} vs max |g| {scale:e}"
    );
}

/// A residual written as a dual-number formula gives the same loss and gradient as the
/// hand-derived Burgers residual.
#[test]
fn formula_residual_equals_the_hand_written_one() {
    use uqforge_pinn::burgers::{BurgersResidual, Coefficient};
    use uqforge_pinn::dual::{Dual, FormulaResidual};
    use uqforge_pinn::loss::{Problem, Term, Unknown};
    let net = random_net(2, &[6, 6], 1, Activation::Tanh, 4);
    let points = DMatrix::from_fn(30, 2, |b, i| ((b * 7 + i * 3) as f64 * 0.37).sin());
    let unknowns = vec![
        Unknown {
            name: "l1".into(),
            initial: 0.8,
            positive: false,
        },
        Unknown {
            name: "l2".into(),
            initial: 0.05,
            positive: true,
        },
    ];
    let hand = BurgersResidual {
        lambda1: Coefficient::Unknown(0),
        lambda2: Coefficient::Unknown(1),
    };
    let formula = FormulaResidual::<6, _>::new(
        JetSpec::second_order(2, &[[1, 1]]).unwrap(),
        2,
        |_: &[f64], u: &[Dual<6>], c: &[Dual<6>]| u[1] + c[0] * u[0] * u[2] - c[1] * u[3],
    )
    .unwrap();
    let eval = |p: Problem| {
        let mut ws = p.workspace(&net).unwrap();
        let (mut gt, mut gc) = (vec![0.0; net.n_params()], vec![0.0; 2]);
        let eta = p.initial_internal();
        let loss = p
            .evaluate(&net, &eta, &mut ws, Some((&mut gt, &mut gc)))
            .unwrap();
        (loss.total, gt, gc)
    };
    let a = eval(
        Problem::new(
            vec![Term::new("pde", points.clone(), hand).unwrap()],
            unknowns.clone(),
        )
        .unwrap(),
    );
    let b = eval(Problem::new(vec![Term::new("pde", points, formula).unwrap()], unknowns).unwrap());
    assert!((a.0 - b.0).abs() <= 1e-14 * a.0);
    for (x, y) in a.1.iter().chain(&a.2).zip(b.1.iter().chain(&b.2)) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{x} vs {y}");
    }
}
