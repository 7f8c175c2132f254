//! Pull-back metrics of decoders, the ridge decoder and small MLP decoders read from JSON.
//!
//! A decoder $f:\mathbb{R}^d\to\mathbb{R}^D$ (an autoencoder's, with $d$ the latent
//! dimension) measures latent curves by the length of their images: the pull-back metric
//!
//! $$
//! G(z) = J(z)^\top J(z), \qquad J_{ij} = \frac{\partial f_i}{\partial z_j},
//! $$
//!
//! makes $L(\gamma) = L_{\mathbb{R}^D}(f\circ\gamma)$. Two latent points that look close may
//! decode to points far apart along the data manifold; geodesics of $G$ see that.
//!
//! # Discretisation
//! [`PullBack`] measures a polyline by the chords of its image,
//! $q_i = \lVert f(z_{i+1}) - f(z_i)\rVert^2$, so that $E_n = n\sum_i q_i$ and
//! $L_n = \sum_i\sqrt{q_i}$ need one decoder evaluation per node and no second derivatives;
//! the energy gradient is a vector–Jacobian product per node,
//!
//! $$
//! \frac{\partial E_n}{\partial z_i} = 2n J(z_i)^\top\bigl[(f(z_i) - f(z_{i-1})) -
//! (f(z_{i+1}) - f(z_i))\bigr].
//! $$
//!
//! Chords are never longer than arcs, so a polyline whose nodes straddle a feature narrower
//! than its spacing does not see it ("tunnelling"): evaluate the energy on a finer grid than
//! the curve's own ([`crate::GeodesicOptions::oversampling`]) and check the length on a finer
//! one still (the geodesic solver does).
//!
//! # Degenerate Jacobians
//! Where $J$ has rank below $d$ the pull-back is only semi-definite: the length is a
//! pseudo-distance and the energy does not determine the curve along the null directions. The
//! solver still returns a curve of minimal discrete energy (lengths are meaningful; the curve
//! may not be unique). Non-finite decoder outputs or Jacobians are errors.
//!
//! ```
//! use uqforge_latent::{Metric, PullBack, Ridge};
//! // The ridge's pull-back metric is G = I + h'(z1)^2 e1 e1' with h the ridge profile.
//! let ridge = PullBack::new(Ridge::new(2.0, 0.1).unwrap());
//! let mut g = [0.0; 4];
//! ridge.tensor(&[0.0, 5.0], &mut g).unwrap();
//! assert!((g[0] - 1.0).abs() < 1e-12); // the crest is flat across
//! ```

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use uqforge_core::{Differentiable, Error, Model, Result, validate};

use crate::metric::{Metric, Polyline, segments};

/// The pull-back metric $J^\top J$ of a differentiable decoder; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct PullBack<D> {
    decoder: D,
}

impl<D: Differentiable> PullBack<D> {
    /// The pull-back metric of `decoder`.
    pub fn new(decoder: D) -> Self {
        Self { decoder }
    }

    /// The decoder.
    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    fn jacobian(&self, z: &[f64], jac: &mut [f64]) -> Result<()> {
        self.decoder.jacobian(z, jac)?;
        validate::finite("decoder Jacobian", jac)
    }
}

impl<D: Differentiable + Sync> Metric for PullBack<D> {
    fn dim(&self) -> usize {
        self.decoder.input_dim()
    }

    fn tensor(&self, z: &[f64], g: &mut [f64]) -> Result<()> {
        let (d, k) = (self.decoder.input_dim(), self.decoder.output_dim());
        validate::len("point", d, z.len())?;
        validate::finite("point", z)?;
        let mut jac = vec![0.0; k * d];
        self.jacobian(z, &mut jac)?;
        for a in 0..d {
            for b in 0..d {
                g[a * d + b] = (0..k).map(|i| jac[i * d + a] * jac[i * d + b]).sum();
            }
        }
        Ok(())
    }

    /// Gauss's equation (see [`crate::curvature`]), with the decoder's second derivatives
    /// from central differences (step $10^{-4}\max(1, \lVert z\rVert_\infty)$) of its exact
    /// Jacobian.
    fn gaussian_curvature(&self, z: &[f64]) -> Result<f64> {
        crate::curvature::check_surface(self.dim(), z)?;
        let k = self.decoder.output_dim();
        let h = 1e-4 * z.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let mut jac = vec![0.0; 2 * k];
        self.jacobian(z, &mut jac)?;
        // Columns of the Jacobians at z +- h e_c.
        let mut shifted = [
            [vec![0.0; 2 * k], vec![0.0; 2 * k]],
            [vec![0.0; 2 * k], vec![0.0; 2 * k]],
        ];
        for (c, pair) in shifted.iter_mut().enumerate() {
            for (s, out) in [1.0, -1.0].iter().zip(pair.iter_mut()) {
                let mut x = [z[0], z[1]];
                x[c] += s * h;
                self.jacobian(&x, out)?;
            }
        }
        let second = |c: usize, col: usize| -> Vec<f64> {
            (0..k)
                .map(|r| (shifted[c][0][r * 2 + col] - shifted[c][1][r * 2 + col]) / (2.0 * h))
                .collect()
        };
        let f_uu = second(0, 0);
        let f_vv = second(1, 1);
        let f_uv: Vec<f64> = second(0, 1)
            .iter()
            .zip(second(1, 0))
            .map(|(a, b)| 0.5 * (a + b))
            .collect();
        let g = [
            (0..k).map(|r| jac[r * 2] * jac[r * 2]).sum::<f64>(),
            (0..k).map(|r| jac[r * 2] * jac[r * 2 + 1]).sum::<f64>(),
            (0..k).map(|r| jac[r * 2 + 1] * jac[r * 2 + 1]).sum::<f64>(),
        ];
        let det = g[0] * g[2] - g[1] * g[1];
        if det <= 1e-14 * (g[0] * g[2]).max(f64::MIN_POSITIVE) || !det.is_finite() {
            return Err(crate::curvature::singular(z, det));
        }
        // The part of x normal to the surface: x - J G^-1 J' x.
        let normal = |x: &[f64]| -> Vec<f64> {
            let a = [
                (0..k).map(|r| jac[r * 2] * x[r]).sum::<f64>(),
                (0..k).map(|r| jac[r * 2 + 1] * x[r]).sum::<f64>(),
            ];
            let c = [
                (g[2] * a[0] - g[1] * a[1]) / det,
                (g[0] * a[1] - g[1] * a[0]) / det,
            ];
            (0..k)
                .map(|r| x[r] - jac[r * 2] * c[0] - jac[r * 2 + 1] * c[1])
                .collect()
        };
        let (n_uu, n_vv, n_uv) = (normal(&f_uu), normal(&f_vv), normal(&f_uv));
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        Ok((dot(&n_uu, &n_vv) - dot(&n_uv, &n_uv)) / det)
    }

    fn polyline(&self, nodes: &[f64], grad: Option<&mut [f64]>) -> Result<Polyline> {
        let (d, k) = (self.decoder.input_dim(), self.decoder.output_dim());
        let n = segments(nodes, d)?;
        validate::finite("polyline nodes", nodes)?;
        // Values and Jacobians in one batch: networks share the work and vectorise over nodes.
        let mut images = vec![0.0; (n + 1) * k];
        let mut jacs = vec![0.0; if grad.is_some() { (n + 1) * k * d } else { 0 }];
        if grad.is_some() {
            self.decoder
                .eval_jacobian_batch(nodes, &mut images, &mut jacs)?;
            validate::finite("decoder Jacobian", &jacs)?;
        } else {
            self.decoder.eval_batch(nodes, &mut images)?;
        }
        validate::finite("decoder output", &images)?;
        let (mut sum, mut length) = (0.0, 0.0);
        for i in 0..n {
            let q: f64 = (0..k)
                .map(|r| (images[(i + 1) * k + r] - images[i * k + r]).powi(2))
                .sum();
            sum += q;
            length += q.sqrt();
        }
        if let Some(grad) = grad {
            let mut w = vec![0.0; k];
            for i in 0..=n {
                // w = (f_i - f_{i-1}) - (f_{i+1} - f_i), with missing neighbours dropped.
                for r in 0..k {
                    let here = images[i * k + r];
                    let back = if i > 0 {
                        here - images[(i - 1) * k + r]
                    } else {
                        0.0
                    };
                    let ahead = if i < n {
                        images[(i + 1) * k + r] - here
                    } else {
                        0.0
                    };
                    w[r] = back - ahead;
                }
                let jac = &jacs[i * k * d..(i + 1) * k * d];
                for c in 0..d {
                    grad[i * d + c] =
                        2.0 * n as f64 * (0..k).map(|r| jac[r * d + c] * w[r]).sum::<f64>();
                }
            }
        }
        Polyline::new(n as f64 * sum, length)
    }
}

/// The ridge decoder $g(z) = \bigl(z_1, z_2, A\exp(-z_1^2/(2S^2))\bigr)$ of
/// $\mathbb{R}^2$ into $\mathbb{R}^3$: a Gaussian ridge of height $A$ and width $S$ along the
/// $z_2$ axis.
///
/// The surface is developable (a graph over $z_1$ alone): unrolled, it is the flat plane
/// with coordinates $(u(z_1), z_2)$, $u(z_1) = \int_0^{z_1}\sqrt{1 + h'(s)^2} ds$, so its
/// geodesic distance is $\sqrt{(u(a_1) - u(b_1))^2 + (a_2 - b_2)^2}$ ([`Ridge::distance`]).
/// Points on either side of a tall narrow ridge are far apart, however close in latent space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ridge {
    height: f64,
    width: f64,
}

impl Ridge {
    /// The ridge of height $A$ (any finite real) and width $S > 0$.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-finite height or a width that is not positive
    /// and finite.
    pub fn new(height: f64, width: f64) -> Result<Self> {
        validate::finite("ridge height", &[height])?;
        validate::positive("ridge width", width)?;
        validate::finite("ridge width", &[width])?;
        Ok(Self { height, width })
    }

    /// The ridge profile $h(z_1)$ and its derivative.
    fn profile(&self, z1: f64) -> (f64, f64) {
        let s2 = self.width * self.width;
        let h = self.height * (-z1 * z1 / (2.0 * s2)).exp();
        (h, -z1 / s2 * h)
    }

    /// The unrolled coordinate $u(z_1) = \int_0^{z_1}\sqrt{1 + h'(s)^2} ds$, by composite
    /// Gauss–Legendre quadrature (five nodes on panels of width at most $S/8$: relative error
    /// far below $10^{-10}$).
    pub fn unrolled(&self, z1: f64) -> f64 {
        const NODES: [f64; 5] = [
            0.0,
            -0.538_469_310_105_683,
            0.538_469_310_105_683,
            -0.906_179_845_938_664,
            0.906_179_845_938_664,
        ];
        const WEIGHTS: [f64; 5] = [
            0.568_888_888_888_889,
            0.478_628_670_499_366,
            0.478_628_670_499_366,
            0.236_926_885_056_189,
            0.236_926_885_056_189,
        ];
        // Beyond 12 widths the ridge is flat to double precision: integrate only where it is not.
        let reach = 12.0 * self.width;
        let curved = z1.clamp(-reach, reach);
        let panels = (curved.abs() / (self.width / 8.0)).ceil().max(1.0) as usize;
        let w = curved / panels as f64;
        let mut u = 0.0;
        for p in 0..panels {
            let centre = (p as f64 + 0.5) * w;
            for (x, wt) in NODES.iter().zip(WEIGHTS) {
                let slope = self.profile(centre + 0.5 * w * x).1;
                u += 0.5 * w * wt * (1.0 + slope * slope).sqrt();
            }
        }
        u + (z1 - curved)
    }

    /// The geodesic distance on the ridge surface, from the unrolled coordinates.
    ///
    /// # Errors
    /// Wrong lengths or non-finite coordinates.
    ///
    /// ```
    /// use uqforge_latent::Ridge;
    /// let flat = Ridge::new(0.0, 1.0).unwrap();
    /// assert!((flat.distance(&[0.0, 0.0], &[3.0, 4.0]).unwrap() - 5.0).abs() < 1e-12);
    /// // A tall ridge between two points 0.4 apart: the surface path climbs over it.
    /// let tall = Ridge::new(2.0, 0.1).unwrap();
    /// assert!(tall.distance(&[-0.2, 0.0], &[0.2, 0.0]).unwrap() > 3.4);
    /// ```
    pub fn distance(&self, a: &[f64], b: &[f64]) -> Result<f64> {
        for z in [a, b] {
            validate::len("point of the ridge's latent plane", 2, z.len())?;
            validate::finite("point", z)?;
        }
        let du = self.unrolled(b[0]) - self.unrolled(a[0]);
        Ok(du.hypot(b[1] - a[1]))
    }
}

impl Model for Ridge {
    fn input_dim(&self) -> usize {
        2
    }

    fn output_dim(&self) -> usize {
        3
    }

    fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        y[0] = x[0];
        y[1] = x[1];
        y[2] = self.profile(x[0]).0;
        Ok(())
    }
}

impl Differentiable for Ridge {
    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()> {
        jac.copy_from_slice(&[1.0, 0.0, 0.0, 1.0, self.profile(x[0]).1, 0.0]);
        Ok(())
    }
}

/// The activation of an MLP layer, applied elementwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// $x$ (the usual last layer).
    Identity,
    /// $\tanh x$.
    Tanh,
    /// $1/(1+e^{-x})$.
    Sigmoid,
    /// $\log(1+e^x)$.
    Softplus,
    /// $\max(0, x)$: continuous, with a kink; geodesics of its pull-back are only piecewise
    /// smooth.
    Relu,
    /// $x$ for $x > 0$, $e^x - 1$ otherwise.
    Elu,
}

impl Activation {
    /// The value and the derivative at `x`.
    fn apply(self, x: f64) -> (f64, f64) {
        match self {
            Self::Identity => (x, 1.0),
            Self::Tanh => {
                let t = x.tanh();
                (t, 1.0 - t * t)
            }
            Self::Sigmoid => {
                let s = 1.0 / (1.0 + (-x).exp());
                (s, s * (1.0 - s))
            }
            Self::Softplus => {
                // log(1 + e^x) without overflow.
                let v = x.max(0.0) + (-x.abs()).exp().ln_1p();
                (v, 1.0 / (1.0 + (-x).exp()))
            }
            Self::Relu => (x.max(0.0), if x > 0.0 { 1.0 } else { 0.0 }),
            Self::Elu => {
                if x > 0.0 {
                    (x, 1.0)
                } else {
                    (x.exp_m1(), x.exp())
                }
            }
        }
    }
}

/// One dense layer $x \mapsto \sigma(Wx + b)$; `weights` is `out` rows of `in` numbers,
/// PyTorch's `nn.Linear.weight` layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// $W$, one row per output.
    pub weights: Vec<Vec<f64>>,
    /// $b$.
    pub bias: Vec<f64>,
    /// $\sigma$.
    pub activation: Activation,
}

/// A multilayer perceptron decoder with exact Jacobians (forward mode through the layers).
///
/// Its JSON form is what a few lines of PyTorch export (see the crate README):
/// `{"layers": [{"weights": [[…], …], "bias": […], "activation": "tanh"}, …]}`.
///
/// ```
/// use uqforge_core::{Differentiable, Model};
/// use uqforge_latent::Mlp;
/// let mlp = Mlp::from_json(r#"{"layers": [
///     {"weights": [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], "bias": [0.0, 0.0, 0.0], "activation": "tanh"},
///     {"weights": [[1.0, 1.0, 1.0]], "bias": [0.5], "activation": "identity"}]}"#).unwrap();
/// let (mut y, mut jac) = ([0.0], [0.0; 2]);
/// mlp.eval(&[0.0, 0.0], &mut y).unwrap();
/// mlp.jacobian(&[0.0, 0.0], &mut jac).unwrap();
/// assert_eq!(y, [0.5]);
/// assert_eq!(jac, [2.0, 3.0]); // tanh'(0) = 1: the product of the weights
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MlpJson")]
pub struct Mlp {
    layers: Vec<Layer>,
    /// The weights as matrices, for the batched pass.
    #[serde(skip)]
    matrices: Vec<DMatrix<f64>>,
}

#[derive(Deserialize)]
struct MlpJson {
    layers: Vec<Layer>,
}

impl TryFrom<MlpJson> for Mlp {
    type Error = Error;
    fn try_from(json: MlpJson) -> Result<Self> {
        Self::new(json.layers)
    }
}

impl Mlp {
    /// An MLP from its layers, checked: at least one layer, rectangular weights, each layer's
    /// input width the previous layer's output width, finite numbers.
    ///
    /// # Errors
    /// [`Error::EmptyInput`], [`Error::DimensionMismatch`] naming the layer, or
    /// [`Error::NonFinite`].
    pub fn new(layers: Vec<Layer>) -> Result<Self> {
        validate::non_empty("MLP layers", &layers)?;
        let mut width = None;
        for (l, layer) in layers.iter().enumerate() {
            validate::non_empty(&format!("weights of MLP layer {l}"), &layer.weights)?;
            let inputs = layer.weights[0].len();
            validate::at_least(&format!("inputs of MLP layer {l}"), inputs, 1)?;
            if let Some(w) = width {
                validate::len(&format!("inputs of MLP layer {l}"), w, inputs)?;
            }
            for (r, row) in layer.weights.iter().enumerate() {
                validate::len(&format!("row {r} of MLP layer {l}"), inputs, row.len())?;
                validate::finite(&format!("row {r} of MLP layer {l}"), row)?;
            }
            validate::len(
                &format!("bias of MLP layer {l}"),
                layer.weights.len(),
                layer.bias.len(),
            )?;
            validate::finite(&format!("bias of MLP layer {l}"), &layer.bias)?;
            width = Some(layer.weights.len());
        }
        let matrices = layers
            .iter()
            .map(|l| DMatrix::from_fn(l.weights.len(), l.weights[0].len(), |r, c| l.weights[r][c]))
            .collect();
        Ok(Self { layers, matrices })
    }

    /// Reads the JSON form (see the type docs).
    ///
    /// # Errors
    /// [`Error::Parse`] for malformed JSON, and the errors of [`Mlp::new`].
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::parse("MLP decoder JSON", e))
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The output and, when `jac` is given, the row-major Jacobian.
    fn forward(&self, x: &[f64], y: &mut [f64], jac: Option<&mut [f64]>) {
        let d = x.len();
        let mut value = x.to_vec();
        let mut jacobian: Option<Vec<f64>> = jac.is_some().then(|| {
            let mut eye = vec![0.0; d * d];
            (0..d).for_each(|k| eye[k * d + k] = 1.0);
            eye
        });
        for layer in &self.layers {
            let out = layer.weights.len();
            let mut next = vec![0.0; out];
            let mut next_jac = jacobian.as_ref().map(|_| vec![0.0; out * d]);
            for (r, row) in layer.weights.iter().enumerate() {
                let pre: f64 =
                    layer.bias[r] + row.iter().zip(&value).map(|(w, v)| w * v).sum::<f64>();
                let (v, slope) = layer.activation.apply(pre);
                next[r] = v;
                if let (Some(nj), Some(j)) = (next_jac.as_mut(), jacobian.as_ref()) {
                    for c in 0..d {
                        let s: f64 = row.iter().enumerate().map(|(i, w)| w * j[i * d + c]).sum();
                        nj[r * d + c] = slope * s;
                    }
                }
            }
            value = next;
            jacobian = next_jac;
        }
        y.copy_from_slice(&value);
        if let (Some(out), Some(j)) = (jac, jacobian) {
            out.copy_from_slice(&j);
        }
    }
}

impl Model for Mlp {
    fn input_dim(&self) -> usize {
        self.layers[0].weights[0].len()
    }

    fn output_dim(&self) -> usize {
        self.layers[self.layers.len() - 1].weights.len()
    }

    fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        self.forward(x, y, None);
        Ok(())
    }
}

impl Differentiable for Mlp {
    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()> {
        let mut y = vec![0.0; self.output_dim()];
        self.forward(x, &mut y, Some(jac));
        Ok(())
    }

    /// All points through each layer at once: the values and the $d$ tangent directions
    /// (forward-mode derivatives) of the $m$ points side by side as one
    /// $\text{width}\times m(d+1)$ matrix, one matrix product per layer.
    fn eval_jacobian_batch(&self, xs: &[f64], ys: &mut [f64], jacs: &mut [f64]) -> Result<()> {
        let (d, k) = (self.input_dim(), self.output_dim());
        let m = validate::rows("model inputs", xs, d)?;
        validate::len("model outputs (row-major n * k)", m * k, ys.len())?;
        validate::len("model Jacobians (n * k * d)", m * k * d, jacs.len())?;
        // Column p: point p; column m (1 + c) + p: the derivative along z_c at point p.
        let mut stack = DMatrix::zeros(d, m * (d + 1));
        for p in 0..m {
            for i in 0..d {
                stack[(i, p)] = xs[p * d + i];
                stack[(i, m * (1 + i) + p)] = 1.0;
            }
        }
        for (layer, w) in self.layers.iter().zip(&self.matrices) {
            let mut next = w * &stack;
            for r in 0..next.nrows() {
                for p in 0..m {
                    let (v, slope) = layer.activation.apply(next[(r, p)] + layer.bias[r]);
                    next[(r, p)] = v;
                    for c in 0..d {
                        next[(r, m * (1 + c) + p)] *= slope;
                    }
                }
            }
            stack = next;
        }
        for p in 0..m {
            for r in 0..k {
                ys[p * k + r] = stack[(r, p)];
                for c in 0..d {
                    jacs[(p * k + r) * d + c] = stack[(r, m * (1 + c) + p)];
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn central_jacobian<M: Model>(m: &M, x: &[f64]) -> Vec<f64> {
        let (d, k) = (m.input_dim(), m.output_dim());
        let mut jac = vec![0.0; k * d];
        for c in 0..d {
            let h = 1e-6;
            let (mut up, mut down) = (x.to_vec(), x.to_vec());
            up[c] += h;
            down[c] -= h;
            let (mut yu, mut yd) = (vec![0.0; k], vec![0.0; k]);
            m.eval(&up, &mut yu).unwrap();
            m.eval(&down, &mut yd).unwrap();
            for r in 0..k {
                jac[r * d + c] = (yu[r] - yd[r]) / (2.0 * h);
            }
        }
        jac
    }

    fn mlp() -> Mlp {
        let layer = |out: usize, inp: usize, act, seed: f64| Layer {
            weights: (0..out)
                .map(|r| {
                    (0..inp)
                        .map(|c| ((r * 7 + c * 3) as f64 + seed).sin())
                        .collect()
                })
                .collect(),
            bias: (0..out)
                .map(|r| (r as f64 * 0.3 + seed).cos() * 0.2)
                .collect(),
            activation: act,
        };
        Mlp::new(vec![
            layer(8, 2, Activation::Tanh, 0.1),
            layer(8, 8, Activation::Softplus, 0.7),
            layer(6, 8, Activation::Elu, 1.3),
            layer(5, 6, Activation::Sigmoid, 2.1),
            layer(4, 5, Activation::Identity, 0.4),
        ])
        .unwrap()
    }

    #[test]
    fn jacobians_match_central_differences() {
        let m = mlp();
        for x in [[0.3, -0.7], [-1.5, 2.0]] {
            let mut jac = vec![0.0; 8];
            m.jacobian(&x, &mut jac).unwrap();
            for (a, b) in jac.iter().zip(central_jacobian(&m, &x)) {
                assert!((a - b).abs() < 1e-7, "{a} vs {b}");
            }
        }
        let ridge = Ridge::new(2.0, 0.3).unwrap();
        let mut jac = vec![0.0; 6];
        ridge.jacobian(&[0.2, 1.0], &mut jac).unwrap();
        for (a, b) in jac.iter().zip(central_jacobian(&ridge, &[0.2, 1.0])) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
    }

    #[test]
    fn batched_pass_matches_the_pointwise_one() {
        let m = mlp();
        let xs = [0.3, -0.7, -1.5, 2.0, 0.0, 0.1];
        let (mut ys, mut jacs) = (vec![0.0; 12], vec![0.0; 24]);
        m.eval_jacobian_batch(&xs, &mut ys, &mut jacs).unwrap();
        for p in 0..3 {
            let (mut y, mut j) = (vec![0.0; 4], vec![0.0; 8]);
            m.eval(&xs[2 * p..2 * p + 2], &mut y).unwrap();
            m.jacobian(&xs[2 * p..2 * p + 2], &mut j).unwrap();
            for (a, b) in ys[4 * p..4 * p + 4].iter().zip(&y) {
                assert!((a - b).abs() < 1e-13);
            }
            for (a, b) in jacs[8 * p..8 * p + 8].iter().zip(&j) {
                assert!((a - b).abs() < 1e-13);
            }
        }
        assert!(m.eval_jacobian_batch(&xs, &mut ys, &mut [0.0; 23]).is_err());
    }

    #[test]
    fn chord_energy_converges_to_the_tensor_energy() {
        // The same straight segment measured by chords and by the midpoint rule of J'J:
        // both approximate the same integral.
        struct ByTensor<'a>(&'a PullBack<Mlp>);
        impl Metric for ByTensor<'_> {
            fn dim(&self) -> usize {
                2
            }
            fn tensor(&self, z: &[f64], g: &mut [f64]) -> Result<()> {
                self.0.tensor(z, g)
            }
        }
        let metric = PullBack::new(mlp());
        let nodes: Vec<f64> = (0..=400)
            .flat_map(|i| {
                let t = i as f64 / 400.0;
                [-1.0 + 2.0 * t, 0.5 - t]
            })
            .collect();
        let chord = metric.polyline(&nodes, None).unwrap();
        let tensor = ByTensor(&metric).polyline(&nodes, None).unwrap();
        assert!((chord.energy / tensor.energy - 1.0).abs() < 1e-4);
        assert!((chord.length / tensor.length - 1.0).abs() < 1e-4);
    }

    #[test]
    fn unrolled_coordinate_matches_a_fine_trapezoid_rule() {
        let ridge = Ridge::new(2.0, 0.1).unwrap();
        let n = 200_000;
        let (a, b) = (-0.35, 0.8);
        let h = (b - a) / n as f64;
        let f = |s: f64| (1.0 + ridge.profile(s).1.powi(2)).sqrt();
        let trapezoid: f64 =
            h * (0.5 * f(a) + 0.5 * f(b) + (1..n).map(|i| f(a + i as f64 * h)).sum::<f64>());
        let u = ridge.unrolled(b) - ridge.unrolled(a);
        assert!(
            (u - trapezoid).abs() < 1e-7 * trapezoid,
            "{u} vs {trapezoid}"
        );
        assert!((ridge.unrolled(5.0) - ridge.unrolled(2.0) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn bad_decoders_are_refused() {
        let good = r#"{"weights": [[1.0, 0.0]], "bias": [0.0], "activation": "tanh"}"#;
        assert!(Mlp::from_json(&format!(r#"{{"layers": [{good}]}}"#)).is_ok());
        assert!(Mlp::from_json(r#"{"layers": []}"#).is_err());
        assert!(Mlp::from_json("{").is_err());
        let ragged =
            r#"{"weights": [[1.0, 0.0], [1.0]], "bias": [0.0, 0.0], "activation": "tanh"}"#;
        assert!(Mlp::from_json(&format!(r#"{{"layers": [{ragged}]}}"#)).is_err());
        let wrong_input = r#"{"weights": [[1.0, 0.0]], "bias": [0.0], "activation": "tanh"}"#;
        let err = Mlp::from_json(&format!(r#"{{"layers": [{good}, {wrong_input}]}}"#));
        assert!(err.unwrap_err().to_string().contains("layer 1"));
        let unknown = r#"{"weights": [[1.0]], "bias": [0.0], "activation": "gelu"}"#;
        assert!(Mlp::from_json(&format!(r#"{{"layers": [{unknown}]}}"#)).is_err());
        assert!(Ridge::new(1.0, 0.0).is_err());
        assert!(Ridge::new(f64::NAN, 1.0).is_err());
    }
}
