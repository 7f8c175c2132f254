//! Test fixtures shared by the modules' unit tests.

use nalgebra::DMatrix;

/// `n` deterministic locations in the unit square, spread like a low-discrepancy set: point
/// $i$ at $(t_i, \operatorname{frac}(w t_i))$ with $t_i = (i + 1/2)/n$, a line that wraps
/// around the square `w` times.
pub(crate) fn wrapped_line(n: usize, w: f64) -> DMatrix<f64> {
    DMatrix::from_fn(n, 2, |i, k| {
        let t = (i as f64 + 0.5) / n as f64;
        if k == 0 { t } else { (w * t).fract() }
    })
}
