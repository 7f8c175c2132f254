//! Jets: the network's value and its exact input derivatives, and the reverse pass through them.
//!
//! A PDE residual such as Burgers' $u_t + u u_x - \nu u_{xx}$ needs, at every collocation
//! point, the network's value and some of its first and second derivatives with respect to the
//! inputs. Nested reverse-mode autodiff (what PyTorch does for PINNs) builds these by
//! differentiating the backward graph again. Here they are propagated forward, layer by layer,
//! together with the value: a *jet* is the tuple $(a, a_i, a_{ij})$ of a unit's value, its
//! first derivatives and the second derivatives the problem asks for.
//!
//! ## Forward recurrences
//! Through an affine layer every part of the jet is mapped linearly (the bias only enters the
//! value): $z = Wa + b$, $z_i = W a_i$, $z_{ij} = W a_{ij}$. Through the activation
//! $a = \sigma(z)$, by the chain rule,
//! $$
//! a = \sigma(z),\qquad a_i = \sigma'(z) z_i,\qquad
//! a_{ij} = \sigma''(z) z_i z_j + \sigma'(z) z_{ij}.
//! $$
//! At the input, $a^0 = \tilde x$, $a^0_i = s_i e_i$ (the input scaling) and $a^0_{ij} = 0$.
//! With the points of a batch side by side, every part of every point is one column, so each
//! hidden layer costs one matrix product $W [A, A_1, \dots, A_{ij}, \dots]$ and elementwise work.
//!
//! ## Reverse pass
//! A loss $\mathcal{L}$ built from the output jets gives their adjoints $\bar u = \partial
//! \mathcal{L}/\partial u$, $\bar u_i$, $\bar u_{ij}$ (the caller writes them; see
//! [`JetTape::output_and_adjoint`]). Differentiating the recurrences above, the adjoints of the
//! pre-activation jets are
//! $$
//! \bar z_{ij} = \sigma' \bar a_{ij},\qquad
//! \bar z_i = \sigma' \bar a_i + \sigma'' \sum_{(i,j)} \bar a_{ij} z_j,
//! $$
//! $$
//! \bar z = \sigma' \bar a + \sigma'' \sum_i \bar a_i z_i +
//! \sum_{(i,j)} \bar a_{ij} (\sigma''' z_i z_j + \sigma'' z_{ij}),
//! $$
//! where the sum over pairs counts a diagonal pair $(i, i)$ twice in $\bar z_i$. Then, summing
//! over points and parts, $\partial\mathcal{L}/\partial W = \bar Z A^\top$ (again one matrix
//! product), $\partial\mathcal{L}/\partial b = \sum \bar z$ over the value columns, and the
//! adjoints of the previous layer are $\bar A = W^\top \bar Z$. The cost is about three times
//! the forward pass, and no graph is stored: the tape holds each layer's jets and $\sigma'$.
//!
//! $\sigma''$ and $\sigma'''$ are recovered from $(\sigma, \sigma')$ ([`crate::Activation`]), so
//! the reverse pass evaluates no transcendental function.
//!
//! ```
//! use nalgebra::DMatrix;
//! use uqforge_pinn::{Activation, JetSpec, JetTape, Mlp};
//! let net = Mlp::new(&[2, 16, 16, 1], Activation::Tanh, 3)?;
//! // Burgers needs u, u_t, u_x (all first derivatives) and u_xx (input 1 twice).
//! let spec = JetSpec::second_order(2, &[[1, 1]])?;
//! let points = DMatrix::from_row_slice(3, 2, &[0.1, -0.5, 0.5, 0.0, 0.9, 0.7]);
//! let mut tape = JetTape::new(&net, spec);
//! tape.forward(&net, &points)?;
//! let (u_t, u_xx) = (tape.spec().first(0), tape.spec().second(1, 1).unwrap());
//! assert!(tape.jet(0, u_xx, 2).is_finite()); // output 0, part u_xx, point 2
//! // The loss sum_b u_t(b) has adjoint 1 on every u_t: its gradient in the weights.
//! let columns: Vec<usize> = (0..3).map(|b| tape.column(u_t, b)).collect();
//! let (_, adjoint) = tape.output_and_adjoint();
//! for c in columns {
//!     adjoint[(0, c)] = 1.0;
//! }
//! let mut gradient = vec![0.0; net.n_params()];
//! tape.backward(&net, &mut gradient)?;
//! assert!(gradient.iter().any(|g| *g != 0.0));
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use nalgebra::DMatrix;
use uqforge_core::{Error, Model, Result, validate};

use crate::activation::{LayerShape, backward_layer, forward_layer};
use crate::mlp::Mlp;

/// Which input derivatives a jet carries: the value, optionally all first derivatives, and a
/// chosen set of second derivatives.
///
/// Parts are numbered: `0` is the value, `1..=n` the first derivatives ([`JetSpec::first`]),
/// then the second derivatives in the order given ([`JetSpec::second`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JetSpec {
    inputs: usize,
    first: bool,
    second: Vec<[usize; 2]>,
}

impl JetSpec {
    /// Values only (data, Dirichlet conditions).
    pub fn values(inputs: usize) -> Self {
        Self {
            inputs,
            first: false,
            second: Vec::new(),
        }
    }

    /// Values and all first derivatives (Neumann conditions, first-order PDEs).
    pub fn gradient(inputs: usize) -> Self {
        Self {
            inputs,
            first: true,
            second: Vec::new(),
        }
    }

    /// Values, all first derivatives and the second derivatives $\partial^2/\partial x_i
    /// \partial x_j$ for the listed pairs (order within a pair does not matter).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an input index out of range or a pair listed twice.
    pub fn second_order(inputs: usize, pairs: &[[usize; 2]]) -> Result<Self> {
        let mut second: Vec<[usize; 2]> = Vec::with_capacity(pairs.len());
        for &[i, j] in pairs {
            if i >= inputs || j >= inputs {
                return Err(Error::invalid_parameter(
                    "second derivatives",
                    format!("pair ({i}, {j}) names an input beyond the {inputs} inputs"),
                ));
            }
            let pair = [i.min(j), i.max(j)];
            if second.contains(&pair) {
                return Err(Error::invalid_parameter(
                    "second derivatives",
                    format!("pair ({i}, {j}) is listed twice"),
                ));
            }
            second.push(pair);
        }
        Ok(Self {
            inputs,
            first: true,
            second,
        })
    }

    /// The number of inputs.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The number of parts (value, first and second derivatives) per output and point.
    pub fn parts(&self) -> usize {
        1 + if self.first { self.inputs } else { 0 } + self.second.len()
    }

    /// Whether the first derivatives are carried.
    pub fn has_first(&self) -> bool {
        self.first
    }

    /// The second-derivative pairs, in part order.
    pub fn pairs(&self) -> &[[usize; 2]] {
        &self.second
    }

    /// The part index of $\partial/\partial x_i$.
    ///
    /// Meaningful only when the spec carries first derivatives; `i` must be below
    /// [`JetSpec::inputs`].
    pub fn first(&self, i: usize) -> usize {
        debug_assert!(self.first && i < self.inputs);
        1 + i
    }

    /// The part index of $\partial^2/\partial x_i\partial x_j$, if carried.
    pub fn second(&self, i: usize, j: usize) -> Option<usize> {
        let pair = [i.min(j), i.max(j)];
        let base = 1 + if self.first { self.inputs } else { 0 };
        self.second
            .iter()
            .position(|&p| p == pair)
            .map(|k| base + k)
    }
}

/// The forward jets of a batch and the workspace of the reverse pass.
///
/// Built once per network shape, spec and batch size, then reused: [`JetTape::forward`] and
/// [`JetTape::backward`] do not allocate unless the batch size changes.
///
/// Storage: every matrix has one column per (part, point), part-major: the column of part `c`
/// of point `b` in a batch of `B` points is `c * B + b`.
#[derive(Clone, Debug)]
pub struct JetTape {
    spec: JetSpec,
    /// The layer widths of the network the tape was built for.
    sizes: Vec<usize>,
    batch: usize,
    /// Scaled inputs, `n x B`.
    inputs: DMatrix<f64>,
    /// Pre-activation jets of hidden layer `l` at index `l - 1`.
    z: Vec<DMatrix<f64>>,
    /// Post-activation jets of hidden layer `l` at index `l - 1`.
    a: Vec<DMatrix<f64>>,
    /// $\sigma'(z)$ of hidden layer `l` at index `l - 1`, `m_l x B`.
    slope: Vec<DMatrix<f64>>,
    /// Output jets, `k x (C B)`.
    output: DMatrix<f64>,
    /// Adjoint of the output jets, written by the caller.
    adjoint: DMatrix<f64>,
    /// Adjoints of a hidden layer's post- and pre-activation jets.
    a_bar: DMatrix<f64>,
    z_bar: DMatrix<f64>,
}

impl JetTape {
    /// An empty tape for `net` and `spec` (sized on the first forward pass).
    pub fn new(net: &Mlp, spec: JetSpec) -> Self {
        let hidden = net.n_layers() - 1;
        let empty = || DMatrix::zeros(0, 0);
        Self {
            spec,
            sizes: net.sizes().to_vec(),
            batch: 0,
            inputs: empty(),
            z: (0..hidden).map(|_| empty()).collect(),
            a: (0..hidden).map(|_| empty()).collect(),
            slope: (0..hidden).map(|_| empty()).collect(),
            output: empty(),
            adjoint: empty(),
            a_bar: empty(),
            z_bar: empty(),
        }
    }

    /// The spec of the jets.
    pub fn spec(&self) -> &JetSpec {
        &self.spec
    }

    /// The number of points of the last forward pass.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The column of part `part` of point `point` in [`JetTape::output_and_adjoint`]'s matrices.
    pub fn column(&self, part: usize, point: usize) -> usize {
        part * self.batch + point
    }

    /// Part `part` of output `output` at point `point`.
    pub fn jet(&self, output: usize, part: usize, point: usize) -> f64 {
        self.output[(output, part * self.batch + point)]
    }

    /// The output jets (`k x (C B)`, see the [type docs](Self)) and their adjoint, zeroed by
    /// every forward pass, for the caller to fill with $\partial\mathcal{L}/\partial u_\cdot$.
    pub fn output_and_adjoint(&mut self) -> (&DMatrix<f64>, &mut DMatrix<f64>) {
        (&self.output, &mut self.adjoint)
    }

    fn check_network(&self, net: &Mlp) -> Result<()> {
        if self.sizes != net.sizes() {
            return Err(Error::invalid_parameter(
                "jet tape",
                format!(
                    "was built for layers {:?}, not {:?}",
                    self.sizes,
                    net.sizes()
                ),
            ));
        }
        Ok(())
    }

    fn resize(&mut self, net: &Mlp, batch: usize) {
        let cols = self.spec.parts() * batch;
        let sizes = net.sizes();
        let (n, k) = (sizes[0], sizes[sizes.len() - 1]);
        if self.batch == batch {
            return;
        }
        self.batch = batch;
        self.inputs = DMatrix::zeros(n, batch);
        for (l, &m) in sizes[1..sizes.len() - 1].iter().enumerate() {
            self.z[l] = DMatrix::zeros(m, cols);
            self.a[l] = DMatrix::zeros(m, cols);
            self.slope[l] = DMatrix::zeros(m, batch);
        }
        let widest = sizes[1..sizes.len() - 1].iter().copied().max().unwrap_or(0);
        self.output = DMatrix::zeros(k, cols);
        self.adjoint = DMatrix::zeros(k, cols);
        self.a_bar = DMatrix::zeros(widest, cols);
        self.z_bar = DMatrix::zeros(widest, cols);
    }

    /// Propagates the jets of `points` (rows = points, columns = the network's inputs).
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no points, [`Error::DimensionMismatch`] when the columns do not
    /// match the network's inputs or the spec, [`Error::NonFinite`] for NaN or infinite
    /// coordinates.
    pub fn forward(&mut self, net: &Mlp, points: &DMatrix<f64>) -> Result<()> {
        let n = net.input_dim();
        validate::len("jet spec inputs", n, self.spec.inputs)?;
        validate::len("columns of the points", n, points.ncols())?;
        if points.nrows() == 0 {
            return Err(Error::EmptyInput {
                what: "points of the jets".into(),
            });
        }
        validate::finite("points of the jets", points.as_slice())?;
        self.check_network(net)?;
        let batch = points.nrows();
        self.resize(net, batch);
        let (center, scale) = net.input_scaling();
        for b in 0..batch {
            for i in 0..n {
                self.inputs[(i, b)] = scale[i] * (points[(b, i)] - center[i]);
            }
        }
        let params = net.params();
        let hidden = net.n_layers() - 1;
        let parts = self.spec.parts();
        for l in 1..=hidden {
            let (w, bias) = net.layer(params, l);
            let m = w.nrows();
            let z = &mut self.z[l - 1];
            if l == 1 {
                // a^0 = x~, a^0_i = s_i e_i, a^0_ij = 0: no product over the derivative parts.
                z.columns_mut(0, batch).gemm(1.0, &w, &self.inputs, 0.0);
                let n1 = if self.spec.first { n } else { 0 };
                let zs = z.as_mut_slice();
                for i in 0..n1 {
                    for b in 0..batch {
                        let c = ((1 + i) * batch + b) * m;
                        for r in 0..m {
                            zs[c + r] = scale[i] * w[(r, i)];
                        }
                    }
                }
                zs[(1 + n1) * batch * m..].fill(0.0);
            } else {
                let prev = w.ncols();
                let a_prev = self.a[l - 2].as_slice();
                product(
                    z.as_mut_slice(),
                    Accum::Replace,
                    params_block(params, net, l),
                    (m, prev),
                    false,
                    a_prev,
                    (prev, parts * batch),
                    false,
                );
            }
            for b in 0..batch {
                z.column_mut(b).axpy(1.0, &bias, 1.0);
            }
            let shape = LayerShape {
                batch,
                m,
                first: if self.spec.first { n } else { 0 },
                pairs: &self.spec.second,
            };
            forward_layer(
                net.activation(),
                &shape,
                z.as_slice(),
                self.a[l - 1].as_mut_slice(),
                self.slope[l - 1].as_mut_slice(),
            );
        }
        let (w, bias) = net.layer(params, hidden + 1);
        let (center_u, scale_u) = net.output_scaling();
        let (k, m) = w.shape();
        let cols = parts * batch;
        let last = self.a[hidden - 1].as_slice();
        for o in 0..k {
            for col in 0..cols {
                let a = &last[col * m..(col + 1) * m];
                let raw: f64 = a.iter().enumerate().map(|(r, &v)| v * w[(o, r)]).sum();
                self.output[(o, col)] = scale_u[o] * raw;
            }
            for b in 0..batch {
                self.output[(o, b)] += scale_u[o] * bias[o] + center_u[o];
            }
        }
        self.adjoint.fill(0.0);
        Ok(())
    }

    /// Adds to `gradient` (laid out as [`Mlp::params`]) the gradient of the loss whose adjoint
    /// the caller wrote into [`JetTape::output_and_adjoint`] after the last forward pass.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `gradient` does not have one entry per parameter.
    pub fn backward(&mut self, net: &Mlp, gradient: &mut [f64]) -> Result<()> {
        self.check_network(net)?;
        validate::len("gradient", net.n_params(), gradient.len())?;
        if self.batch == 0 {
            return Err(Error::invalid_parameter(
                "jet tape",
                "backward needs a forward pass first",
            ));
        }
        let params = net.params();
        let batch = self.batch;
        let parts = self.spec.parts();
        let cols = parts * batch;
        let hidden = net.n_layers() - 1;
        let (_, scale_u) = net.output_scaling();
        // Output layer: u = s_u (W a + b) + c_u.
        let (w, _) = net.layer(params, hidden + 1);
        let (k, m) = w.shape();
        let (wo, bo) = net.offsets(hidden + 1);
        let last = self.a[hidden - 1].as_slice();
        // The adjoint of the last hidden layer, `m x (C B)` with leading dimension `m`.
        let a_bar = &mut self.a_bar.as_mut_slice()[..m * cols];
        a_bar.fill(0.0);
        for o in 0..k {
            let scale = scale_u[o];
            let mut bias_bar = 0.0;
            for col in 0..cols {
                let g = scale * self.adjoint[(o, col)];
                if col < batch {
                    bias_bar += g;
                }
                if g != 0.0 {
                    let (a, ab) = (&last[col * m..][..m], &mut a_bar[col * m..][..m]);
                    for r in 0..m {
                        gradient[wo + r * k + o] += g * a[r];
                        ab[r] += g * w[(o, r)];
                    }
                }
            }
            gradient[bo + o] += bias_bar;
        }
        for l in (1..=hidden).rev() {
            let (w, _) = net.layer(params, l);
            let m = w.nrows();
            let (wo, bo) = net.offsets(l);
            let shape = LayerShape {
                batch,
                m,
                first: if self.spec.first { net.input_dim() } else { 0 },
                pairs: &self.spec.second,
            };
            backward_layer(
                net.activation(),
                &shape,
                self.z[l - 1].as_slice(),
                self.a[l - 1].as_slice(),
                self.slope[l - 1].as_slice(),
                &self.a_bar.as_slice()[..m * cols],
                &mut self.z_bar.as_mut_slice()[..m * cols],
            );
            for col in self.z_bar.as_slice()[..m * batch].chunks_exact(m) {
                for (g, &v) in gradient[bo..bo + m].iter_mut().zip(col) {
                    *g += v;
                }
            }
            let prev = w.ncols();
            let grad_w = &mut gradient[wo..wo + m * prev];
            let z_bar = &self.z_bar.as_slice()[..m * cols];
            if l == 1 {
                // a^0 = x~, a^0_i = s_i e_i, a^0_ij = 0:
                // dW += Zbar_0 X~^T + sum_i s_i (sum_b Zbar_i) e_i^T.
                let (_, scale) = net.input_scaling();
                let x = self.inputs.as_slice();
                product(
                    grad_w,
                    Accum::Add,
                    &z_bar[..m * batch],
                    (m, batch),
                    false,
                    x,
                    (prev, batch),
                    true,
                );
                if self.spec.first {
                    for i in 0..prev {
                        let gw = &mut grad_w[i * m..(i + 1) * m];
                        for b in 0..batch {
                            let zb = &z_bar[((1 + i) * batch + b) * m..][..m];
                            for (g, &v) in gw.iter_mut().zip(zb) {
                                *g += scale[i] * v;
                            }
                        }
                    }
                }
            } else {
                // dW += Zbar A^T and Abar = W^T Zbar over all parts of all points.
                let a_prev = self.a[l - 2].as_slice();
                product(
                    grad_w,
                    Accum::Add,
                    z_bar,
                    (m, cols),
                    false,
                    a_prev,
                    (prev, cols),
                    true,
                );
                let a_bar = &mut self.a_bar.as_mut_slice()[..prev * cols];
                product(
                    a_bar,
                    Accum::Replace,
                    params_block(params, net, l),
                    (m, prev),
                    true,
                    z_bar,
                    (m, cols),
                    false,
                );
            }
        }
        Ok(())
    }
}

/// `dst (op) lhs' rhs'` for column-major slices, where `'` transposes when asked: one faer
/// matrix product (`Accum::Replace` overwrites, `Accum::Add` accumulates).
///
/// Why faer here: for these shapes (20 x 20 times 20 x 8,000, and 20 x 8,000 times its
/// transpose) its kernels took 280 and 220 microseconds where nalgebra's matrixmultiply took
/// 370 and 580 (the latter with an explicit transpose; measured here), and it takes transposed
/// operands as views.
#[allow(clippy::too_many_arguments)]
fn product(
    dst: &mut [f64],
    accum: Accum,
    lhs: &[f64],
    (lr, lc): (usize, usize),
    lhs_t: bool,
    rhs: &[f64],
    (rr, rc): (usize, usize),
    rhs_t: bool,
) {
    let lhs = MatRef::from_column_major_slice(lhs, lr, lc);
    let rhs = MatRef::from_column_major_slice(rhs, rr, rc);
    let (lhs, rhs) = (
        if lhs_t { lhs.transpose() } else { lhs },
        if rhs_t { rhs.transpose() } else { rhs },
    );
    let dst = MatMut::from_column_major_slice_mut(dst, lhs.nrows(), rhs.ncols());
    matmul(dst, accum, lhs, rhs, 1.0, Par::Seq);
}

/// The column-major weight block $W^l$ of `params`.
fn params_block<'a>(params: &'a [f64], net: &Mlp, l: usize) -> &'a [f64] {
    let (w, b) = net.offsets(l);
    &params[w..b]
}
