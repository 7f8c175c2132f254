//! Progress observers for long runs (training, optimisation, benchmark suites).
//!
//! Following argmin's observers, a long computation takes `&mut dyn Progress` and reports to it;
//! every method has a no-op default, so an observer implements only what it shows.
//! [`NoProgress`] ignores everything.
//!
//! ```
//! use uqforge_core::observe::{Progress, NoProgress};
//! fn work(progress: &mut dyn Progress) {
//!     progress.start("replicates", 3);
//!     for _ in 0..3 { progress.advance(1); }
//!     progress.finish();
//! }
//! work(&mut NoProgress);
//! ```

/// Receives progress reports. All methods default to doing nothing.
pub trait Progress {
    /// A stage named `label` begins, with `total` steps (0 when unknown).
    fn start(&mut self, label: &str, total: u64) {
        let _ = (label, total);
    }
    /// `steps` more steps of the current stage are done.
    fn advance(&mut self, steps: u64) {
        let _ = steps;
    }
    /// A free-form message (a loss value, an iteration summary).
    fn message(&mut self, text: &str) {
        let _ = text;
    }
    /// The current stage is done.
    fn finish(&mut self) {}
}

/// The observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
