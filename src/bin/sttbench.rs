//! The `sttbench` command line: a thin layer over the library.
//!
//! It parses flags, sets up logging and calls the library; anything a test needs to
//! reach lives in the library.

use clap::{Parser, Subcommand};
use sttbench::signal::Signal;

/// Measure, and guard against regressions in, a real-time speech-to-text client's audio
/// streaming pipeline.
///
/// The benches are run with `cargo bench`; this tool runs the pieces by hand.
#[derive(Debug, Parser)]
#[command(name = "sttbench", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the built-in test signals and what each one is.
    Signals,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Signals => {
            for s in Signal::ALL {
                println!("{:<9} {}", s.name(), s.description());
            }
        }
    }
}
