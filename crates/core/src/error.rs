//! The error type shared by every uqforge crate.
//!
//! Each method crate defines its own error enum that wraps this one with `#[from]` (the habit of
//! linfa), so that a caller can match on the general kind ([`Error::DimensionMismatch`], …) or on
//! the crate's own variants.

use std::fmt;

/// What went wrong, in words a user can act on.
///
/// The enum is `#[non_exhaustive]`: match with a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two sizes that must agree do not.
    #[error("dimension mismatch in {what}: expected {expected}, found {found}")]
    DimensionMismatch {
        /// What was being checked (e.g. "model input", "column `y`").
        what: String,
        /// The size required.
        expected: usize,
        /// The size given.
        found: usize,
    },
    /// An input that needs at least one element has none.
    #[error("empty input: {what}")]
    EmptyInput {
        /// What was empty.
        what: String,
    },
    /// A NaN or an infinity where finite numbers are required.
    #[error("non-finite value ({value}) in {what} at index {index}")]
    NonFinite {
        /// Where the value was found.
        what: String,
        /// Its position (row-major for matrices).
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A parameter outside the range where the method is defined.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user knows it.
        name: String,
        /// Why it is invalid, with the admissible range.
        reason: String,
    },
    /// A matrix that must be symmetric positive definite is not.
    #[error("matrix is not positive definite: {what}")]
    NotPositiveDefinite {
        /// Which matrix, and where it failed if known (e.g. the pivot).
        what: String,
    },
    /// An iterative method stopped before meeting its tolerance.
    #[error("{what} did not converge after {iterations} iterations (last residual {residual:e})")]
    DidNotConverge {
        /// The method.
        what: String,
        /// Iterations performed.
        iterations: usize,
        /// Final value of the convergence criterion.
        residual: f64,
    },
    /// The data cannot identify the quantity asked for: an output of zero variance, a perfectly
    /// separated logistic regression, a singular design.
    #[error("{what}: {reason}")]
    Degenerate {
        /// What cannot be estimated.
        what: String,
        /// Why, and what to change.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot read or write {path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Text (CSV, JSON, a number) could not be parsed.
    #[error("parse error in {what}: {message}")]
    Parse {
        /// What was being parsed, with a location when known ("data.csv line 3").
        what: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// [`Error::InvalidParameter`] from anything printable.
    ///
    /// ```
    /// let e = uqforge_core::Error::invalid_parameter("n", "must be at least 2, got 1");
    /// assert_eq!(e.to_string(), "invalid parameter `n`: must be at least 2, got 1");
    /// ```
    pub fn invalid_parameter(name: impl fmt::Display, reason: impl fmt::Display) -> Self {
        Self::InvalidParameter {
            name: name.to_string(),
            reason: reason.to_string(),
        }
    }

    /// [`Error::Degenerate`] from anything printable.
    pub fn degenerate(what: impl fmt::Display, reason: impl fmt::Display) -> Self {
        Self::Degenerate {
            what: what.to_string(),
            reason: reason.to_string(),
        }
    }

    /// [`Error::Parse`] from anything printable.
    pub fn parse(what: impl fmt::Display, message: impl fmt::Display) -> Self {
        Self::Parse {
            what: what.to_string(),
            message: message.to_string(),
        }
    }

    /// [`Error::Io`] for `path`.
    pub fn io(path: impl fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_string(),
            source,
        }
    }
}

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let e = Error::DimensionMismatch {
            what: "model input".into(),
            expected: 3,
            found: 2,
        };
        assert_eq!(
            e.to_string(),
            "dimension mismatch in model input: expected 3, found 2"
        );
        let e = Error::NonFinite {
            what: "column `y`".into(),
            index: 4,
            value: f64::NAN,
        };
        assert_eq!(
            e.to_string(),
            "non-finite value (NaN) in column `y` at index 4"
        );
        let e = Error::DidNotConverge {
            what: "Newton".into(),
            iterations: 50,
            residual: 1.5e-3,
        };
        assert_eq!(
            e.to_string(),
            "Newton did not converge after 50 iterations (last residual 1.5e-3)"
        );
    }

    #[test]
    fn io_error_keeps_its_source() {
        use std::error::Error as _;
        let e = Error::io("x.csv", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(e.source().is_some());
        assert!(e.to_string().starts_with("cannot read or write x.csv"));
    }
}
