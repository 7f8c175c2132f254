//! The dense network $u_\theta:\mathbb{R}^n\to\mathbb{R}^k$ of a PINN.
//!
//! $$
//! \tilde x = S(x - c),\quad a^0 = \tilde x,\quad
//! a^l = \sigma(W^l a^{l-1} + b^l)\ (l = 1, \dots, L-1),\quad
//! u = s_u (W^L a^{L-1} + b^L) + c_u,
//! $$
//! with $\sigma = \tanh$ or $\sin$, a diagonal input scaling $S$ that maps the domain's box to
//! $[-1, 1]^n$ (Raissi et al. 2019 do the same; without it a tanh network starts saturated or
//! flat), and an output scaling $(s_u, c_u)$ for solutions far from unit size.
//!
//! **Initialisation.** Glorot and Bengio (2010), normal form: $W^l_{ij} \sim
//! \mathcal{N}(0, 2/(n_{l-1} + n_l))$, $b^l = 0$, drawn from one ChaCha8 stream of the seed,
//! layer by layer, row by row.
//!
//! **Parameters** live in one flat vector $\theta$, layer by layer: $W^l$ column-major
//! ($n_l\times n_{l-1}$, nalgebra's layout), then $b^l$. Gradients have the same layout, so an
//! optimiser sees one vector.
//!
//! The network is a [`Model`] with a [`Differentiable`] Jacobian; derivatives with respect to the
//! inputs up to second order, and gradients with respect to $\theta$, come from
//! [`crate::jets`].
//!
//! ```
//! use uqforge_core::Model;
//! use uqforge_pinn::{Activation, Mlp};
//! // Two inputs (t, x) on [0, 1] x [-1, 1], three hidden layers of 20, one output.
//! let net = Mlp::new(&[2, 20, 20, 20, 1], Activation::Tanh, 7)?
//!     .with_input_box(&[0.0, -1.0], &[1.0, 1.0])?;
//! assert_eq!(net.n_params(), (2 * 20 + 20) + 2 * (20 * 20 + 20) + (20 + 1));
//! let mut u = [0.0];
//! net.eval(&[0.5, 0.0], &mut u)?;
//! assert!(u[0].is_finite());
//! // The same seed gives the same network.
//! let again = Mlp::new(&[2, 20, 20, 20, 1], Activation::Tanh, 7)?;
//! assert_eq!(again.params(), Mlp::new(&[2, 20, 20, 20, 1], Activation::Tanh, 7)?.params());
//! # Ok::<(), uqforge_core::Error>(())
//! ```

use nalgebra::{DMatrixView, DVectorView};
use serde::{Deserialize, Serialize};
use uqforge_core::{Differentiable, Error, Model, Result, rng, validate};

pub use crate::activation::Activation;

/// A dense feed-forward network with input and output scaling; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    sizes: Vec<usize>,
    activation: Activation,
    params: Vec<f64>,
    input_center: Vec<f64>,
    input_scale: Vec<f64>,
    output_center: Vec<f64>,
    output_scale: Vec<f64>,
}

impl Mlp {
    /// A network with layer widths `sizes` (inputs first, outputs last), Glorot-normal weights
    /// drawn from `seed`, zero biases, and no scaling.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for fewer than three sizes (a network without a hidden layer
    /// is linear) or a zero width.
    pub fn new(sizes: &[usize], activation: Activation, seed: u64) -> Result<Self> {
        if sizes.len() < 3 {
            return Err(Error::invalid_parameter(
                "layers",
                format!("needs input, at least one hidden and output widths, got {sizes:?}"),
            ));
        }
        if let Some(i) = sizes.iter().position(|&w| w == 0) {
            return Err(Error::invalid_parameter(
                "layers",
                format!("width {i} is zero in {sizes:?}"),
            ));
        }
        let mut params = Vec::with_capacity(n_params(sizes));
        let mut draws = rng::stream(seed, 0);
        for w in sizes.windows(2) {
            let (fan_in, fan_out) = (w[0], w[1]);
            let sd = (2.0 / (fan_in + fan_out) as f64).sqrt();
            params.extend((0..fan_in * fan_out).map(|_| sd * rng::standard_normal(&mut draws)));
            params.extend(std::iter::repeat_n(0.0, fan_out));
        }
        let (n, k) = (sizes[0], sizes[sizes.len() - 1]);
        Ok(Self {
            sizes: sizes.to_vec(),
            activation,
            params,
            input_center: vec![0.0; n],
            input_scale: vec![1.0; n],
            output_center: vec![0.0; k],
            output_scale: vec![1.0; k],
        })
    }

    /// Scales the inputs so that the box `[lower, upper]` maps to $[-1, 1]^n$.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for bounds of the wrong length, [`Error::InvalidParameter`]
    /// for non-finite bounds or `upper <= lower`.
    pub fn with_input_box(mut self, lower: &[f64], upper: &[f64]) -> Result<Self> {
        validate::len("input box lower bounds", self.input_dim(), lower.len())?;
        validate::len("input box upper bounds", self.input_dim(), upper.len())?;
        for (i, (&lo, &hi)) in lower.iter().zip(upper).enumerate() {
            if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                return Err(Error::invalid_parameter(
                    "input box",
                    format!("input {i} needs finite lower < upper, got [{lo}, {hi}]"),
                ));
            }
            self.input_center[i] = 0.5 * (lo + hi);
            self.input_scale[i] = 2.0 / (hi - lo);
        }
        Ok(self)
    }

    /// Scales the outputs: $u = s_u \hat u + c_u$ with the network's raw output $\hat u$.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for slices of the wrong length, [`Error::InvalidParameter`]
    /// for a non-finite center or a scale that is not finite and positive.
    pub fn with_output_scaling(mut self, center: &[f64], scale: &[f64]) -> Result<Self> {
        validate::len("output centers", self.output_dim(), center.len())?;
        validate::len("output scales", self.output_dim(), scale.len())?;
        validate::finite("output centers", center)?;
        for &s in scale {
            validate::positive("output scale", s)?;
        }
        self.output_center = center.to_vec();
        self.output_scale = scale.to_vec();
        Ok(self)
    }

    /// The layer widths, inputs first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The hidden layers' activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The number of weights and biases.
    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    /// The flat parameter vector $\theta$ (layout in the [module docs](self)).
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    /// Replaces $\theta$.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a vector of the wrong length, [`Error::NonFinite`] for
    /// NaN or infinite entries.
    pub fn set_params(&mut self, params: &[f64]) -> Result<()> {
        validate::len("network parameters", self.params.len(), params.len())?;
        validate::finite("network parameters", params)?;
        self.params.copy_from_slice(params);
        Ok(())
    }

    /// The input scaling: $\tilde x_i = s_i (x_i - c_i)$ as `(centers, scales)`.
    pub fn input_scaling(&self) -> (&[f64], &[f64]) {
        (&self.input_center, &self.input_scale)
    }

    /// The output scaling $(c_u, s_u)$.
    pub fn output_scaling(&self) -> (&[f64], &[f64]) {
        (&self.output_center, &self.output_scale)
    }

    /// The number of layers with weights ($L$).
    pub(crate) fn n_layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Offset of $W^l$ in $\theta$ (`l` counts from 1) and the offset of $b^l$.
    pub(crate) fn offsets(&self, l: usize) -> (usize, usize) {
        let before = n_params(&self.sizes[..l]);
        (before, before + self.sizes[l] * self.sizes[l - 1])
    }

    /// $W^l$ and $b^l$ as views into `params` (a parameter or gradient vector).
    pub(crate) fn layer<'a>(
        &self,
        params: &'a [f64],
        l: usize,
    ) -> (DMatrixView<'a, f64>, DVectorView<'a, f64>) {
        let (w, b) = self.offsets(l);
        let (rows, cols) = (self.sizes[l], self.sizes[l - 1]);
        (
            DMatrixView::from_slice(&params[w..b], rows, cols),
            DVectorView::from_slice(&params[b..b + rows], rows),
        )
    }

    /// Reads a network written by `serde_json` (e.g. by [`Mlp::to_json`]), checking that its
    /// parts agree.
    ///
    /// # Errors
    /// [`Error::Parse`] for malformed JSON or inconsistent sizes, [`Error::NonFinite`] for
    /// non-finite parameters.
    pub fn from_json(text: &str) -> Result<Self> {
        let net: Self = serde_json::from_str(text).map_err(|e| Error::parse("network JSON", e))?;
        let ok = net.sizes.len() >= 3
            && net.sizes.iter().all(|&w| w > 0)
            && net.params.len() == n_params(&net.sizes)
            && net.input_center.len() == net.sizes[0]
            && net.input_scale.len() == net.sizes[0]
            && net.output_center.len() == net.output_dim()
            && net.output_scale.len() == net.output_dim();
        if !ok {
            return Err(Error::parse(
                "network JSON",
                "sizes, parameters and scalings do not agree",
            ));
        }
        validate::finite("network parameters", &net.params)?;
        Ok(net)
    }

    /// The network as JSON (a checkpoint).
    ///
    /// # Errors
    /// [`Error::Parse`] if serialisation fails (it does not for finite parameters).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::parse("network JSON", e))
    }
}

/// The number of parameters of a network with widths `sizes`.
fn n_params(sizes: &[usize]) -> usize {
    sizes.windows(2).map(|w| w[1] * (w[0] + 1)).sum()
}

impl Model for Mlp {
    fn input_dim(&self) -> usize {
        self.sizes[0]
    }

    fn output_dim(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    fn eval(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        let mut a: Vec<f64> = x
            .iter()
            .zip(self.input_center.iter().zip(&self.input_scale))
            .map(|(&xi, (&c, &s))| s * (xi - c))
            .collect();
        for l in 1..=self.n_layers() {
            let (w, b) = self.layer(&self.params, l);
            let mut z = w * DVectorView::from_slice(&a, a.len()) + b;
            if l < self.n_layers() {
                z.apply(|v| *v = self.activation.value_slope(*v).0);
            }
            a = z.as_slice().to_vec();
        }
        for (o, yo) in y.iter_mut().enumerate() {
            *yo = self.output_scale[o] * a[o] + self.output_center[o];
        }
        Ok(())
    }
}

impl Differentiable for Mlp {
    /// The Jacobian from the first-order jets of one point ([`crate::jets`]).
    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()> {
        let n = self.input_dim();
        let spec = crate::jets::JetSpec::gradient(n);
        let mut tape = crate::jets::JetTape::new(self, spec.clone());
        tape.forward(self, &nalgebra::DMatrix::from_row_slice(1, n, x))?;
        for (o, row) in jac.chunks_exact_mut(n).enumerate() {
            for (j, d) in row.iter_mut().enumerate() {
                *d = tape.jet(o, spec.first(j), 0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_weights_have_the_glorot_variance() {
        let net = Mlp::new(&[200, 300, 1], Activation::Tanh, 1).unwrap();
        let (w, b) = net.layer(net.params(), 1);
        let n = w.len() as f64;
        let var = w.iter().map(|v| v * v).sum::<f64>() / n;
        // Var = 2 / 500 = 0.004; the sample variance of 60000 normals has se 0.004 * sqrt(2/n).
        assert!(
            (var - 0.004).abs() < 5.0 * 0.004 * (2.0 / n).sqrt(),
            "{var}"
        );
        assert!(b.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn jacobian_matches_central_differences() {
        let net = Mlp::new(&[3, 8, 8, 2], Activation::Sin, 4)
            .unwrap()
            .with_input_box(&[0.0, -1.0, 2.0], &[1.0, 1.0, 5.0])
            .unwrap()
            .with_output_scaling(&[1.0, -2.0], &[3.0, 0.5])
            .unwrap();
        let x = [0.3, -0.2, 4.1];
        let mut jac = [0.0; 6];
        net.jacobian(&x, &mut jac).unwrap();
        let h = 1e-6;
        for j in 0..3 {
            let (mut xp, mut xm) = (x, x);
            xp[j] += h;
            xm[j] -= h;
            let (mut yp, mut ym) = ([0.0; 2], [0.0; 2]);
            net.eval(&xp, &mut yp).unwrap();
            net.eval(&xm, &mut ym).unwrap();
            for o in 0..2 {
                let fd = (yp[o] - ym[o]) / (2.0 * h);
                assert!((jac[o * 3 + j] - fd).abs() < 1e-8 * (1.0 + fd.abs()));
            }
        }
    }

    #[test]
    fn bad_shapes_and_values_are_refused() {
        assert!(Mlp::new(&[2, 1], Activation::Tanh, 0).is_err());
        assert!(Mlp::new(&[2, 0, 1], Activation::Tanh, 0).is_err());
        let net = Mlp::new(&[2, 4, 1], Activation::Tanh, 0).unwrap();
        assert!(net.clone().with_input_box(&[0.0], &[1.0]).is_err());
        assert!(
            net.clone()
                .with_input_box(&[0.0, 1.0], &[1.0, 1.0])
                .is_err()
        );
        assert!(net.clone().with_output_scaling(&[0.0], &[0.0]).is_err());
        let mut bad = net.clone();
        assert!(bad.set_params(&vec![f64::NAN; net.n_params()]).is_err());
        assert!(bad.set_params(&[1.0]).is_err());
    }

    #[test]
    fn json_round_trip_and_inconsistent_json_is_refused() {
        let net = Mlp::new(&[2, 5, 1], Activation::Sin, 3)
            .unwrap()
            .with_input_box(&[0.0, -1.0], &[1.0, 1.0])
            .unwrap();
        let back = Mlp::from_json(&net.to_json().unwrap()).unwrap();
        assert_eq!(back.params(), net.params());
        assert_eq!(back.input_scaling(), net.input_scaling());
        let mut v: serde_json::Value = serde_json::from_str(&net.to_json().unwrap()).unwrap();
        v["sizes"] = serde_json::json!([2, 6, 1]);
        assert!(Mlp::from_json(&v.to_string()).is_err());
        assert!(Mlp::from_json("{").is_err());
    }
}
