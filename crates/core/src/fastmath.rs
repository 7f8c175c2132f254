//! Branch-free elementary functions for inner loops that should vectorise.
//!
//! `f64::exp` calls the platform's scalar libm, which stops the compiler from vectorising a
//! loop around it. [`exp`] uses the classical reduction $e^x = 2^k e^r$ with
//! $k = \mathrm{round}(x / \ln 2)$, $|r| \le \ln 2 / 2$ (Cody and Waite's two-part $\ln 2$, so
//! that $k \ln 2$ is exact), a degree-12 Taylor polynomial for $e^r$ (truncation below
//! $1.2 \times 10^{-16}$), and builds $2^k$ from its bit pattern; the rounding uses the
//! $1.5 \cdot 2^{52}$ trick, so the whole function is straight-line arithmetic that vectorises.
//! Accuracy: within $5\varepsilon$ relative of `f64::exp` over $[-708, 709]$ (tested).
//! Arguments below $-708$ return $0$ (they are below $10^{-307}$, negligible next to the other
//! terms wherever this is used), arguments above $709$ are clamped there, and NaN is not
//! propagated: callers pass finite arguments.
//!
//! Used by the log-domain Sinkhorn sums (transport), the tanh activation of the PINN jets
//! (pinn) and the logistic residuals of cross-fitted propensities (causal).
//!
//! ```
//! use uqforge_core::fastmath::exp;
//! assert!((exp(1.0) - std::f64::consts::E).abs() < 4.0 * f64::EPSILON);
//! assert_eq!(exp(-800.0), 0.0);
//! ```

const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// $e^x$ to a few ulp, $0$ below $-708$ (see the module docs).
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let xc = x.clamp(-708.0, 709.0);
    let t = xc * std::f64::consts::LOG2_E + MAGIC;
    let k = t - MAGIC;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // Horner form of sum_{i <= 12} r^i / i!.
    let mut p = 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // The low bits of t hold k as a two's-complement integer.
    let ki = t.to_bits().wrapping_sub(MAGIC.to_bits()) as i64;
    let scale = f64::from_bits(((ki + 1023) as u64) << 52);
    let y = p * scale;
    if x < -708.0 { 0.0 } else { y }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_libm_to_a_few_ulp() {
        let mut worst = 0.0_f64;
        let mut x = -708.0;
        while x < 709.0 {
            let (e, f) = (exp(x), x.exp());
            worst = worst.max(((e - f) / f).abs());
            x += 0.0137;
        }
        for x in [0.0, -1e-300, 1e-17, -0.34657359, 0.34657359, -1.0, 1.0] {
            let (e, f) = (exp(x), f64::exp(x));
            worst = worst.max(((e - f) / f).abs());
        }
        assert!(worst < 5.0 * f64::EPSILON, "max relative error {worst:e}");
        assert_eq!(exp(-709.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }
}
