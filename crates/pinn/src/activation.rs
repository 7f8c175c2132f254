//! Activation functions and the elementwise halves of the jet recurrences (see [`crate::jets`]).
//!
//! Most of a PINN's time outside matrix products goes to $\tanh$: one per hidden unit and point.
//! The standard library's `tanh` is a scalar call (about 15 ns here); [`tanh`] below is
//! straight-line code that the compiler vectorises, accurate to a few units in the last place:
//! for $|x| < 0.625$ the rational approximation $x + x^3 P(x^2)/Q(x^2)$ of Cephes' `tanh`
//! (S. L. Moshier, *Methods and Programs for Mathematical Functions*, 1989), above it
//! $(1 - e)/(1 + e)$ with $e = e^{-2|x|}$ from a Cody–Waite reduced exponential (degree-13
//! Taylor polynomial on $|r| \le \ln 2 / 2$). Both branches are computed and one is selected,
//! so there is no branch in the loop.

use serde::{Deserialize, Serialize};

/// The hidden layers' activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// $\tanh z$: $\sigma' = 1 - \sigma^2$, $\sigma'' = -2\sigma\sigma'$,
    /// $\sigma''' = \sigma'(6\sigma^2 - 2)$.
    Tanh,
    /// $\sin z$ (SIREN-like networks): $\sigma' = \cos z$, $\sigma'' = -\sigma$,
    /// $\sigma''' = -\sigma'$.
    Sin,
}

impl Activation {
    /// $(\sigma(z), \sigma'(z))$.
    #[inline]
    pub(crate) fn value_slope(self, z: f64) -> (f64, f64) {
        match self {
            Self::Tanh => {
                let t = tanh(z);
                (t, 1.0 - t * t)
            }
            Self::Sin => z.sin_cos(),
        }
    }

    /// $(\sigma'', \sigma''')$ from $(\sigma, \sigma')$: the reverse pass evaluates no
    /// transcendental function.
    #[inline(always)]
    pub(crate) fn curvature(self, value: f64, slope: f64) -> (f64, f64) {
        match self {
            Self::Tanh => (-2.0 * value * slope, slope * (6.0 * value * value - 2.0)),
            Self::Sin => (-value, -slope),
        }
    }
}

/// $\tanh x$ within a few ulps, branch-free (module docs).
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    // Cephes tanh.c, |x| < 0.625: tanh x = x + x z P(z) / Q(z), z = x^2 (Q monic).
    const P: [f64; 3] = [
        -9.643_991_794_250_523e-1,
        -9.928_772_310_019_185e1,
        -1.614_687_684_417_084_5e3,
    ];
    const Q: [f64; 3] = [
        1.128_116_784_916_329_3e2,
        2.235_488_390_601_004_5e3,
        4.844_063_053_251_255e3,
    ];
    let ax = x.abs();
    let z = ax * ax;
    let p = (P[0] * z + P[1]) * z + P[2];
    let q = ((z + Q[0]) * z + Q[1]) * z + Q[2];
    let e = exp_neg(2.0 * ax);
    // One division for either branch: (ax q + ax z p) / q or (1 - e) / (1 + e). NaN falls
    // through to the first, which stays NaN.
    let large = ax >= 0.625;
    let num = if large { 1.0 - e } else { ax * (q + z * p) };
    let den = if large { 1.0 + e } else { q };
    (num / den).copysign(x)
}

/// $e^{-y}$ for $y \ge 0$ (clamped at $y = 80$, where $\tanh$ is 1 to double precision),
/// by the workspace's branch-free [`uqforge_core::fastmath::exp`], so the loops around it
/// vectorise.
#[inline(always)]
fn exp_neg(y: f64) -> f64 {
    uqforge_core::fastmath::exp(-y.min(80.0))
}

/// The widths and parts of one hidden layer's jets (see [`crate::jets::JetTape`]'s layout).
pub(crate) struct LayerShape<'a> {
    pub(crate) batch: usize,
    pub(crate) m: usize,
    /// Number of first-derivative parts (0 or the number of inputs).
    pub(crate) first: usize,
    pub(crate) pairs: &'a [[usize; 2]],
}

impl LayerShape<'_> {
    /// The length of one part's block: `m` units times `batch` points.
    #[inline(always)]
    fn block(&self) -> usize {
        self.m * self.batch
    }
}

/// $a = \sigma(z)$, $a_i = \sigma' z_i$, $a_{ij} = \sigma'' z_i z_j + \sigma' z_{ij}$, and
/// $\sigma'$ into `slope`.
///
/// Storage is part-major, so each part of the layer is one contiguous block of `m * batch`
/// numbers, aligned with `slope`: every recurrence is a long elementwise loop over blocks,
/// compiled for AVX2 when the CPU has it (pulp's runtime dispatch).
pub(crate) fn forward_layer(
    act: Activation,
    shape: &LayerShape<'_>,
    z: &[f64],
    a: &mut [f64],
    slope: &mut [f64],
) {
    struct Op<'a, 'b> {
        act: Activation,
        shape: &'a LayerShape<'b>,
        z: &'a [f64],
        a: &'a mut [f64],
        slope: &'a mut [f64],
    }
    impl pulp::WithSimd for Op<'_, '_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            forward_layer_body(self.act, self.shape, self.z, self.a, self.slope);
        }
    }
    pulp::Arch::new().dispatch(Op {
        act,
        shape,
        z,
        a,
        slope,
    });
}

#[inline(always)]
fn forward_layer_body(
    act: Activation,
    shape: &LayerShape<'_>,
    z: &[f64],
    a: &mut [f64],
    slope: &mut [f64],
) {
    let n = shape.block();
    let (value, rest) = a.split_at_mut(n);
    let z0 = &z[..n];
    match act {
        Activation::Tanh => {
            for ((t, s), &z) in value.iter_mut().zip(slope.iter_mut()).zip(z0) {
                *t = tanh(z);
                *s = 1.0 - *t * *t;
            }
        }
        Activation::Sin => {
            for ((t, s), &z) in value.iter_mut().zip(slope.iter_mut()).zip(z0) {
                (*t, *s) = z.sin_cos();
            }
        }
    }
    let (t, s) = (&*value, &*slope);
    let zc = |c: usize| &z[c * n..(c + 1) * n];
    for i in 0..shape.first {
        for ((a, &z), &s) in rest[i * n..(i + 1) * n].iter_mut().zip(zc(1 + i)).zip(s) {
            *a = s * z;
        }
    }
    for (p, &[i, j]) in shape.pairs.iter().enumerate() {
        let c = 1 + shape.first + p;
        let (zi, zj, zp) = (zc(1 + i), zc(1 + j), zc(c));
        let ap = &mut rest[(c - 1) * n..c * n];
        for k in 0..n {
            let (d2, _) = act.curvature(t[k], s[k]);
            ap[k] = d2 * zi[k] * zj[k] + s[k] * zp[k];
        }
    }
}

/// The adjoints of the pre-activation jets from those of the post-activation jets
/// ([`crate::jets`] module docs), block by block as [`forward_layer`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_layer(
    act: Activation,
    shape: &LayerShape<'_>,
    z: &[f64],
    a: &[f64],
    slope: &[f64],
    a_bar: &[f64],
    z_bar: &mut [f64],
) {
    struct Op<'a, 'b> {
        act: Activation,
        shape: &'a LayerShape<'b>,
        z: &'a [f64],
        a: &'a [f64],
        slope: &'a [f64],
        a_bar: &'a [f64],
        z_bar: &'a mut [f64],
    }
    impl pulp::WithSimd for Op<'_, '_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            backward_layer_body(
                self.act, self.shape, self.z, self.a, self.slope, self.a_bar, self.z_bar,
            );
        }
    }
    pulp::Arch::new().dispatch(Op {
        act,
        shape,
        z,
        a,
        slope,
        a_bar,
        z_bar,
    });
}

#[inline(always)]
fn backward_layer_body(
    act: Activation,
    shape: &LayerShape<'_>,
    z: &[f64],
    a: &[f64],
    slope: &[f64],
    a_bar: &[f64],
    z_bar: &mut [f64],
) {
    let n = shape.block();
    let (t, s) = (&a[..n], &slope[..n]);
    let zc = |c: usize| &z[c * n..(c + 1) * n];
    let gc = |c: usize| &a_bar[c * n..(c + 1) * n];
    let (value_bar, rest) = z_bar.split_at_mut(n);
    for ((v, &g), &s) in value_bar.iter_mut().zip(gc(0)).zip(s) {
        *v = s * g;
    }
    for i in 0..shape.first {
        let (g, zi) = (gc(1 + i), zc(1 + i));
        let zb = &mut rest[i * n..(i + 1) * n];
        for k in 0..n {
            let (d2, _) = act.curvature(t[k], s[k]);
            zb[k] = s[k] * g[k];
            value_bar[k] += d2 * g[k] * zi[k];
        }
    }
    for (p, &[i, j]) in shape.pairs.iter().enumerate() {
        let c = 1 + shape.first + p;
        let (g, zi, zj, zp) = (gc(c), zc(1 + i), zc(1 + j), zc(c));
        let zb = &mut rest[(c - 1) * n..c * n];
        for k in 0..n {
            let (d2, d3) = act.curvature(t[k], s[k]);
            zb[k] = s[k] * g[k];
            value_bar[k] += g[k] * (d3 * zi[k] * zj[k] + d2 * zp[k]);
        }
        // The pair's own block is written; those of its inputs accumulate (twice for i = j).
        for (other, z_other) in [(i, zj), (j, zi)] {
            let zb = &mut rest[other * n..(other + 1) * n];
            for k in 0..n {
                let (d2, _) = act.curvature(t[k], s[k]);
                zb[k] += d2 * g[k] * z_other[k];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_is_within_a_few_ulps_of_the_standard_library() {
        let mut worst: f64 = 0.0;
        let mut x = -30.0;
        while x < 30.0 {
            let (ours, std) = (tanh(x), x.tanh());
            worst = worst.max((ours - std).abs() / std.abs().max(f64::MIN_POSITIVE));
            x += 0.000_731;
        }
        for x in [
            0.0,
            -0.0,
            1e-300,
            0.625,
            -0.625,
            0.624_999_999,
            19.1,
            80.0,
            1e300,
            f64::INFINITY,
        ] {
            let std = f64::tanh(x);
            assert!(
                (tanh(x) - std).abs() <= 4.0 * f64::EPSILON * std.abs(),
                "{x}"
            );
        }
        assert!(worst < 4.0 * f64::EPSILON, "{worst:e}");
        assert!(tanh(f64::NAN).is_nan());
    }
}
