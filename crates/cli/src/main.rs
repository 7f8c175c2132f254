//! The `uqforge` command: each uqforge method on CSV files or shipped data sets.
//!
//! Contract, for every subcommand:
//! - inputs are CSV (header row optional, detected when the first row is not numeric), `-` for
//!   standard input, or the name of a shipped data set (`uqforge datasets` lists them);
//! - the result is one JSON object on standard output;
//! - `--seed` is accepted wherever randomness enters, and the seed is stated in the output;
//! - a failure prints one line `error: …` on standard error and exits with status 2, for any
//!   input: no panic message, no backtrace.
//!
//! The CLI holds no method logic: each subcommand parses, calls one library function, prints.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod input;

/// Trustworthy scientific ML and uncertainty quantification, on CSV in and JSON out.
#[derive(Debug, Parser)]
#[command(name = "uqforge", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the shipped data sets, or describe one by name.
    Datasets(commands::datasets::Args),
    /// Per-column summary of a CSV file or a shipped data set.
    Describe(commands::describe::Args),
    /// Sobol' sensitivity indices of a test function, or of given data (rank estimator).
    Sobol(commands::sobol::Args),
    /// Average treatment effect of a binary treatment, with its standard error.
    Ate(commands::ate::Args),
    /// Optimal transport cost between two point clouds (exact, entropic, sliced, 1D).
    Ot(commands::ot::Args),
    /// Center-outward ranks and signs of a multivariate sample (optimal transport to a grid
    /// on the unit ball).
    CenterOutward(commands::center_outward::Args),
    /// Statistical depth of query points with respect to a sample (how central each is).
    Depth(commands::depth::Args),
    /// Matérn SPDE fields on triangle meshes: maximum-likelihood fit, kriging, simulation.
    Gmrf(commands::gmrf::Args),
    /// Physics-informed neural networks: Burgers' equation, forward and inverse.
    Pinn(commands::pinn::Args),
    /// Pulsed electro-acoustic (PEA) signals: space-charge profiles by regularised
    /// deconvolution.
    Pea(commands::pea::Args),
    /// Charge transport in dielectrics: parameters identified from charge-density profiles.
    Charge(commands::charge::Args),
    /// Geodesic between two latent points under a metric or a decoder's pull-back metric.
    Geodesic(commands::geodesic::Args),
    /// Riemannian k-means (or k-medoids) of latent points with geodesic distances.
    Kmeans(commands::kmeans::Args),
    /// Scalar curvature of a 2D latent space at given points, and the curvature penalty.
    Curvature(commands::curvature::Args),
}

/// Exit status of every failure.
const FAILURE: u8 = 2;

fn main() -> ExitCode {
    // A bug must still end in one line and status 2: print the panic message alone (no
    // backtrace), then `catch_unwind` turns the unwinding into the failure status.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        eprintln!(
            "error: internal error (please report it): {}",
            one_line(&msg)
        );
    }));
    match std::panic::catch_unwind(run) {
        Ok(Ok(code)) => code,
        Ok(Err(message)) => {
            eprintln!("error: {}", one_line(&message));
            ExitCode::from(FAILURE)
        }
        Err(_) => ExitCode::from(FAILURE),
    }
}

fn run() -> Result<ExitCode, String> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_outcome(&e),
    };
    let value = match cli.command {
        Command::Datasets(args) => commands::datasets::run(&args),
        Command::Describe(args) => commands::describe::run(&args),
        Command::Sobol(args) => commands::sobol::run(&args),
        Command::Ate(args) => commands::ate::run(&args),
        Command::Ot(args) => commands::ot::run(&args),
        Command::CenterOutward(args) => commands::center_outward::run(&args),
        Command::Depth(args) => commands::depth::run(&args),
        Command::Gmrf(args) => commands::gmrf::run(&args),
        Command::Pinn(args) => commands::pinn::run(&args),
        Command::Pea(args) => commands::pea::run(&args),
        Command::Charge(args) => commands::charge::run(&args),
        Command::Geodesic(args) => commands::geodesic::run(&args),
        Command::Kmeans(args) => commands::kmeans::run(&args),
        Command::Curvature(args) => commands::curvature::run(&args),
    }
    .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out));
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`uqforge … | head`) is not worth a failure status.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(format!("cannot write the result: {e}")),
    }
}

/// Help and version go to stdout with status 0; every usage error becomes one line.
fn clap_outcome(e: &clap::Error) -> Result<ExitCode, String> {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            #[allow(clippy::print_stdout)] // The help text is the requested output.
            {
                print!("{}", e.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Err("a subcommand is required (see `uqforge --help`)".to_owned())
        }
        _ => {
            // clap's message is its first paragraph (the rest is usage and tips); the missing
            // arguments of "required arguments were not provided" sit on the lines below it.
            let rendered = e.render().to_string();
            let paragraph: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .collect();
            let message = one_line(&paragraph.join(" "));
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            Err(format!("{message} (see `uqforge --help`)"))
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
