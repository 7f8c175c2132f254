//! Vectorising reductions for the Sinkhorn inner loops.
//!
//! Log-domain Sinkhorn evaluates $nm$ exponentials per iteration; `f64::exp` calls the
//! platform's scalar libm and stops the compiler from vectorising the loop, so the sums use
//! the branch-free [`uqforge_core::fastmath::exp`] (a few ulp; $0$ below $-708$, negligible
//! next to the maximal term of a log-sum-exp, which is $1$; arguments are at most $0$ in every
//! call site up to rounding).
//!
//! The reductions below keep eight independent partial results: a single running sum or
//! maximum is a chain of dependent floating-point operations that the compiler may not
//! reorder, so it neither vectorises nor pipelines (measured: the log-domain column update
//! ran 3x faster with eight lanes).

pub(crate) use uqforge_core::fastmath::exp;

const LANES: usize = 8;

/// $\sum_k f(x_k, y_k)$ over the common length, in eight lanes (fixed-size chunks, so that
/// the lanes map onto vector registers).
#[inline(always)]
fn lane_sum(x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let len = x.len().min(y.len());
    let (xc, xr) = x[..len].as_chunks::<LANES>();
    let (yc, yr) = y[..len].as_chunks::<LANES>();
    let mut acc = [0.0; LANES];
    for (a, b) in xc.iter().zip(yc) {
        for l in 0..LANES {
            acc[l] += f(a[l], b[l]);
        }
    }
    let tail: f64 = xr.iter().zip(yr).map(|(a, b)| f(*a, *b)).sum();
    acc.iter().sum::<f64>() + tail
}

/// $\max_k f(x_k, y_k)$ over the common length in eight lanes, `-inf` when empty.
#[inline(always)]
fn lane_max(x: &[f64], y: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let len = x.len().min(y.len());
    let (xc, xr) = x[..len].as_chunks::<LANES>();
    let (yc, yr) = y[..len].as_chunks::<LANES>();
    let mut acc = [f64::NEG_INFINITY; LANES];
    for (a, b) in xc.iter().zip(yc) {
        for l in 0..LANES {
            let v = f(a[l], b[l]);
            acc[l] = if v > acc[l] { v } else { acc[l] };
        }
    }
    xr.iter()
        .zip(yr)
        .map(|(a, b)| f(*a, *b))
        .chain(acc)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// $\max_k (s_k - c_k \cdot \mathrm{inv})$ over the common length.
#[inline]
pub(crate) fn max_affine(s: &[f64], c: &[f64], inv: f64) -> f64 {
    lane_max(s, c, |a, b| a - b * inv)
}

/// $\sum_k e^{s_k - c_k \cdot \mathrm{inv} - \mathrm{shift}}$ over the common length.
#[inline]
pub(crate) fn sum_exp_affine(s: &[f64], c: &[f64], inv: f64, shift: f64) -> f64 {
    lane_sum(s, c, |a, b| exp(a - b * inv - shift))
}

/// $\max_k t_k$.
#[inline]
pub(crate) fn max(t: &[f64]) -> f64 {
    lane_max(t, t, |a, _| a)
}

/// $\sum_k e^{t_k - \mathrm{shift}}$.
#[inline]
pub(crate) fn sum_exp(t: &[f64], shift: f64) -> f64 {
    lane_sum(t, t, |a, _| exp(a - shift))
}

/// $\sum_k x_k y_k$ over the common length.
#[inline]
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    lane_sum(x, y, |a, b| a * b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_reductions_equal_the_plain_ones() {
        for len in [0, 1, 7, 8, 9, 23, 64] {
            let s: Vec<f64> = (0..len).map(|k| (k as f64 * 0.7).sin()).collect();
            let c: Vec<f64> = (0..len).map(|k| (k as f64 * 0.3).cos() + 1.0).collect();
            let plain_max = s
                .iter()
                .zip(&c)
                .fold(f64::NEG_INFINITY, |m, (a, b)| m.max(a - 2.0 * b));
            assert_eq!(max_affine(&s, &c, 2.0), plain_max);
            assert_eq!(max(&s), s.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-14 * y.abs().max(1.0);
            let e: f64 = s
                .iter()
                .zip(&c)
                .map(|(a, b)| (a - 2.0 * b - 0.5).exp())
                .sum();
            assert!(close(sum_exp_affine(&s, &c, 2.0, 0.5), e));
            assert!(close(
                sum_exp(&s, 0.5),
                s.iter().map(|a| (a - 0.5).exp()).sum()
            ));
            assert!(close(
                dot(&s, &c),
                s.iter().zip(&c).map(|(a, b)| a * b).sum()
            ));
        }
        assert_eq!(sum_exp(&[f64::NEG_INFINITY; 9], 0.0), 0.0);
    }
}
