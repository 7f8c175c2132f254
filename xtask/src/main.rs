//! Project automation for uqforge, run as `cargo xtask …` (alias in `.cargo/config.toml`).
//!
//! - `cargo xtask bench [--quick] [--suite NAME] [--seed S] [--out DIR]`: runs the registered
//!   method-comparison suites and writes `docs/benchmarks/<date>/` (`report.md`, `results.json`
//!   with host, git revision and date next to every figure, and one SVG per plot).
//! - `cargo xtask bench --list`: the registered suites.
//! - `cargo xtask transport-data DIR [--seed S]`: writes the transport suite's problems as CSV
//!   for the POT peer script (`benches/python/pot_transport.py --data DIR`).
//! - `cargo xtask depth-data DIR [--seed S]`: writes the depth suite's sample and queries as
//!   CSV for the data-depth peer script (`benches/python/data_depth.py --data DIR`).
//! - `cargo xtask gmrf-data DIR`: writes the gmrf suite's precision matrices as Matrix Market
//!   files for the CHOLMOD peer script (`benches/python/cholmod.py --data DIR`).
//! - `cargo xtask doc [--katex-dir DIR]`: `cargo doc --workspace --no-deps` with the math
//!   rendered by KaTeX (from a CDN, or from a local KaTeX distribution for offline use).
//!
//! xtask holds no method logic: suites live in the method crates ([`registry`] lists them);
//! the `charge` suite of the pinn crate gets its Sobol' step from the sensitivity crate here.
#![allow(clippy::print_stdout, clippy::print_stderr)] // A command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod charge;
mod doc;
mod meta;
mod report;
mod svg;

/// Every registered suite. A method crate adds its `suites()` here.
pub(crate) fn registry() -> Vec<uqforge_core::bench::Suite> {
    let mut suites = Vec::new();
    suites.extend(uqforge_core::bench::suites());
    suites.extend(uqforge_sensitivity::bench::suites());
    suites.extend(uqforge_causal::bench::suites());
    suites.extend(uqforge_transport::bench::suites());
    suites.extend(uqforge_depth::bench::suites());
    suites.extend(uqforge_gmrf::bench::suites());
    suites.extend(uqforge_pinn::bench::suites());
    suites.extend(uqforge_latent::bench::suites());
    suites.extend(charge::suites());
    suites
}

const USAGE: &str = "usage:
  cargo xtask bench [--quick] [--suite NAME]... [--seed S] [--out DIR]
  cargo xtask bench --list
  cargo xtask transport-data DIR [--seed S]
  cargo xtask depth-data DIR [--seed S]
  cargo xtask gmrf-data DIR
  cargo xtask doc [--katex-dir DIR]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::Options::parse(&args[1..]).and_then(|o| bench::run(&o)),
        Some("transport-data") => transport_data(&args[1..]),
        Some("depth-data") => depth_data(&args[1..]),
        Some("gmrf-data") => gmrf_data(&args[1..]),
        Some("doc") => doc::Options::parse(&args[1..]).and_then(|o| doc::run(&o)),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing task\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `cargo xtask transport-data DIR [--seed S]` (seed default: the bench default).
fn transport_data(args: &[String]) -> Result<(), String> {
    write_data(
        args,
        "transport-data",
        uqforge_transport::bench::write_problems,
    )
}

/// `cargo xtask depth-data DIR [--seed S]` (seed default: the bench default).
fn depth_data(args: &[String]) -> Result<(), String> {
    write_data(args, "depth-data", uqforge_depth::bench::write_problems)
}

/// `cargo xtask gmrf-data DIR` (the matrices do not depend on the seed).
fn gmrf_data(args: &[String]) -> Result<(), String> {
    write_data(args, "gmrf-data", uqforge_gmrf::bench::write_problems)
}

/// Writes a suite's problems with `write` into the directory of `args`.
fn write_data(
    args: &[String],
    command: &str,
    write: fn(&std::path::Path, u64) -> uqforge_core::Result<Vec<PathBuf>>,
) -> Result<(), String> {
    let (dir, seed) = data_args(args, command)?;
    let written = write(std::path::Path::new(dir), seed).map_err(|e| e.to_string())?;
    println!("{} files written to {dir} (seed {seed})", written.len());
    Ok(())
}

/// `DIR [--seed S]` of the data-writing commands.
fn data_args<'a>(args: &'a [String], command: &str) -> Result<(&'a String, u64), String> {
    Ok(match args {
        [dir] => (dir, bench::DEFAULT_SEED),
        [dir, flag, seed] if flag == "--seed" => (
            dir,
            seed.parse()
                .map_err(|_| format!("--seed: not an unsigned integer: {seed}"))?,
        ),
        _ => return Err(format!("{command} needs a directory\n{USAGE}")),
    })
}

/// The workspace root (xtask lives one level below it).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}
