//! Input checks that every crate reuses, so that bad input gets the same typed error everywhere.
//!
//! Each function returns `Ok(())` or the [`Error`] a caller should see. The `what`/`name`
//! argument is the user's word for the thing checked ("column `y`", "kappa").
//!
//! ```
//! use uqforge_core::validate;
//! assert!(validate::finite("y", &[1.0, 2.0]).is_ok());
//! let err = validate::finite("y", &[1.0, f64::NAN]).unwrap_err();
//! assert_eq!(err.to_string(), "non-finite value (NaN) in y at index 1");
//! ```

use crate::{Error, Result};

/// `values` has at least one element.
pub fn non_empty<T>(what: &str, values: &[T]) -> Result<()> {
    if values.is_empty() {
        return Err(Error::EmptyInput { what: what.into() });
    }
    Ok(())
}

/// Every value is finite (no NaN, no infinity); the error names the first bad index.
pub fn finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what: what.into(),
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// `found == expected`.
pub fn len(what: &str, expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::DimensionMismatch {
            what: what.into(),
            expected,
            found,
        });
    }
    Ok(())
}

/// A row-major buffer of `values.len()` numbers holds whole rows of width `cols`; returns the
/// number of rows.
///
/// ```
/// assert_eq!(uqforge_core::validate::rows("x", &[0.0; 6], 3).unwrap(), 2);
/// assert!(uqforge_core::validate::rows("x", &[0.0; 5], 3).is_err());
/// ```
pub fn rows(what: &str, values: &[f64], cols: usize) -> Result<usize> {
    if cols == 0 {
        return Err(Error::invalid_parameter(
            what,
            "rows must have at least one column",
        ));
    }
    if !values.len().is_multiple_of(cols) {
        return Err(Error::DimensionMismatch {
            what: format!("{what} (row-major, {cols} columns)"),
            expected: values.len().div_ceil(cols) * cols,
            found: values.len(),
        });
    }
    Ok(values.len() / cols)
}

/// `value` is finite and strictly positive.
pub fn positive(name: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && value > 0.0) {
        return Err(Error::invalid_parameter(
            name,
            format!("must be finite and > 0, got {value}"),
        ));
    }
    Ok(())
}

/// `lo <= value <= hi` (closed interval; NaN fails).
pub fn in_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if !(lo..=hi).contains(&value) {
        return Err(Error::invalid_parameter(
            name,
            format!("must lie in [{lo}, {hi}], got {value}"),
        ));
    }
    Ok(())
}

/// `lo < value < hi` (open interval; NaN fails), e.g. a confidence level in (0, 1).
pub fn in_open_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if !(value > lo && value < hi) {
        return Err(Error::invalid_parameter(
            name,
            format!("must lie in ({lo}, {hi}), got {value}"),
        ));
    }
    Ok(())
}

/// `value >= min` for counts such as sample sizes.
pub fn at_least(name: &str, value: usize, min: usize) -> Result<()> {
    if value < min {
        return Err(Error::invalid_parameter(
            name,
            format!("must be at least {min}, got {value}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_check_accepts_good_and_rejects_bad_input() {
        assert!(non_empty("x", &[1]).is_ok());
        assert!(matches!(
            non_empty::<f64>("x", &[]),
            Err(Error::EmptyInput { .. })
        ));
        assert!(matches!(
            finite("x", &[0.0, f64::INFINITY]),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert!(len("x", 2, 2).is_ok());
        assert!(matches!(
            len("x", 2, 3),
            Err(Error::DimensionMismatch {
                expected: 2,
                found: 3,
                ..
            })
        ));
        assert!(rows("x", &[0.0; 4], 0).is_err());
        assert_eq!(rows("x", &[], 3).unwrap(), 0);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(positive("kappa", bad).is_err(), "{bad}");
        }
        assert!(positive("kappa", 1e-300).is_ok());
        assert!(in_range("p", 1.0, 0.0, 1.0).is_ok());
        assert!(in_range("p", f64::NAN, 0.0, 1.0).is_err());
        assert!(in_open_range("level", 1.0, 0.0, 1.0).is_err());
        assert!(in_open_range("level", 0.95, 0.0, 1.0).is_ok());
        assert!(at_least("n", 1, 2).is_err());
    }
}
