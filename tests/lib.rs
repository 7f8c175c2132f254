//! Cross-crate integration tests: one test binary with modules (link time matters on 2 cores).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod charge;
mod facade;
mod tidy;
