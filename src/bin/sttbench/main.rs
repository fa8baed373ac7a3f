//! The `sttbench` command line: a thin layer over the library.
//!
//! It parses flags, sets up logging and calls the library; anything a test needs to
//! reach lives in the library. One file per family of subcommands: `servers.rs` (the
//! local peers), `proxy.rs` (the impairment proxy), `stream.rs` (streaming runs),
//! `compare.rs` (results, baselines, verdicts), `merge.rs` (HdrHistogram interval logs),
//! `pace.rs` (timer punctuality).

mod compare;
mod load;
mod merge;
mod pace;
mod proxy;
mod servers;
mod stream;

use std::future::Future;

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
    /// Run the echo socket: every WebSocket frame comes back as it went. Ctrl-C stops it.
    Echo(servers::EchoArgs),
    /// Serve a mock provider (deepgram or assemblyai) until Ctrl-C.
    Mock(servers::MockArgs),
    /// Forward TCP to --upstream through an impaired link (latency, bandwidth, stalls, resets).
    Proxy(proxy::ProxyArgs),
    /// Stream audio to the echo socket or to providers (real, a URL, or a local mock) and
    /// print what was measured, however the run ends.
    ///
    /// Exit status: 0 completed, 1 failed to start or failed on the client, 2 usage, 3
    /// closed by the server, 4 connection dropped, 5 stalled, 6 close not answered in time,
    /// 7 fell behind real time, 130 interrupted (Ctrl-C: the first stops and closes, the
    /// second aborts; the summary is printed either way).
    Stream(stream::StreamArgs),
    /// Compare two result sets and judge every benchmark.
    ///
    /// OLD and NEW are each a baseline file, a BMF file, a criterion output directory or
    /// a criterion baseline name. Prints a markdown report. Exit status: 0 nothing
    /// regressed, 1 something regressed or went missing (unless --allow-missing), 2 an
    /// input is missing, corrupt or unusable (the message names it and what to do).
    Compare(compare::CompareArgs),
    /// Judge the paired A/B rounds `scripts/ab.sh` measured: HEAD ÷ BASE per round.
    ///
    /// Exit status: 0 nothing regressed, 1 something regressed, 2 broken input or a
    /// benchmark that ran for one revision only (unless --allow-missing).
    Paired(compare::PairedArgs),
    /// Build result and baseline files.
    #[command(subcommand)]
    Baseline(compare::BaselineCommand),
    /// Merge one measure from HdrHistogram interval logs of many processes or machines,
    /// exactly: count, p50, p99, max. A log that cannot be used is an error naming it.
    Merge(merge::MergeArgs),
    /// Print the fraction of time a spinning thread loses to other processes (0.0–1.0).
    /// Above 0.05 the host is too busy to make a baseline on; a comparison widens its
    /// noise threshold by how much more time the new run lost than the old.
    Hiccup(compare::HiccupArgs),
    /// Measure how late the pacer wakes beside the OS timer floor and tokio's timer.
    Pace(pace::PaceArgs),
    /// Run many real-time streams from this process (ramp-up, bounded duration) and
    /// report latencies over all of them, memory and CPU per stream, and whether every
    /// stream kept real time; or find the most streams that do (--find-max).
    ///
    /// Exit status: 0 every stream completed, 1 a stream did not (or none could start),
    /// 2 usage, 7 a stream fell behind real time (with --require-realtime), 130
    /// interrupted (Ctrl-C: the summary so far is printed).
    Load(load::LoadArgs),
}

fn main() {
    use tracing_subscriber::prelude::*;
    // tungstenite logs the raw upgrade request at TRACE, the Authorization header (the
    // API key) included: drop that one event whatever RUST_LOG says (tests/secrets.rs).
    // A filter, not an EnvFilter directive, which would also switch the target on.
    let no_raw_handshake = tracing_subscriber::filter::filter_fn(|meta| {
        !(*meta.level() == tracing::Level::TRACE
            && meta.target().starts_with("tungstenite::handshake::client"))
    });
    let cli = Cli::parse();
    // The local peers log each connection and each fault as it fires at INFO: shown unless
    // RUST_LOG says otherwise. Every other command prints only errors by default.
    let default_level = match cli.command {
        Command::Echo(_) | Command::Mock(_) => "sttbench=info",
        _ => "error",
    };
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_default_directive(default_level.parse().expect("a valid directive"))
        .from_env_lossy();
    // Colours for a terminal only: logs piped to a file or a test stay plain text.
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_filter(filter)
        .with_filter(no_raw_handshake);
    tracing_subscriber::registry().with(logs).init();
    let status = match try_main(cli.command) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    };
    std::process::exit(status);
}

/// What a subcommand returns: its exit status, or an error printed with status 1.
type Outcome = Result<i32, Box<dyn std::error::Error>>;

/// Runs `command`; `Ok` holds the exit status.
fn try_main(command: Command) -> Outcome {
    match command {
        Command::Signals => {
            for s in Signal::ALL {
                println!("{:<9} {}", s.name(), s.description());
            }
            Ok(0)
        }
        Command::Echo(args) => servers::echo(args),
        Command::Mock(args) => servers::mock(args),
        Command::Proxy(args) => proxy::proxy(args),
        Command::Stream(args) => stream::run(args),
        Command::Compare(args) => Ok(compare::compare(args)),
        Command::Paired(args) => Ok(compare::paired(args)),
        Command::Baseline(command) => Ok(compare::baseline(command)),
        Command::Hiccup(args) => compare::hiccup(args),
        Command::Merge(args) => merge::run(args),
        Command::Pace(args) => pace::run(args),
        Command::Load(args) => load::run(args),
    }
}

/// One thread: the local peers and the client are latency-bound, not CPU-bound.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled (as `tokio::signal::ctrl_c` would), so a
/// signal that arrives right after the address is printed is already ours.
#[cfg(unix)]
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Completes on Ctrl-C. Elsewhere than Unix the handler is installed on first poll,
/// which the server's loop does at once.
#[cfg(not(unix))]
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
