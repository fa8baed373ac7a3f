//! The `sttbench` command line: a thin layer over the library.
//!
//! It parses flags, sets up logging and calls the library; anything a test needs to
//! reach lives in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sttbench::server::mock::{self, Fault, MockConfig, MockProvider, tls::SelfSigned};
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
    /// Serve a mock provider (deepgram or assemblyai) until Ctrl-C.
    Mock {
        /// Which provider to play: deepgram or assemblyai.
        provider: MockProvider,
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Serve wss:// with a fresh self-signed certificate for localhost and 127.0.0.1.
        #[arg(long)]
        tls: bool,
        /// Where --tls writes the certificate (PEM), for the client to trust.
        #[arg(long, default_value = "target/sttbench-mock-cert.pem")]
        cert_out: PathBuf,
        /// Processing delay before each reply, in milliseconds.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// A fault to inject: reject-auth, close=CODE@WHEN, idle=DURATION, chunk-duration,
        /// stall@WHEN or drop@WHEN (WHEN: 500ms, 2s or 64000b).
        #[arg(long)]
        fault: Option<Fault>,
    },
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // tungstenite logs the raw upgrade request at TRACE, the Authorization header (the
    // API key) included; cap that one target whatever RUST_LOG says.
    let filter = tracing_subscriber::EnvFilter::from_default_env()
        .add_directive("tungstenite::handshake::client=debug".parse().expect("a valid directive"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match Cli::parse().command {
        Command::Signals => {
            for s in Signal::ALL {
                println!("{:<9} {}", s.name(), s.description());
            }
        }
        Command::Mock { provider, listen, tls, cert_out, delay_ms, fault } => {
            let mut config =
                MockConfig::new(provider).delay(Duration::from_millis(delay_ms)).fault(fault);
            let mut scheme = "ws";
            if tls {
                let cert = SelfSigned::generate()?;
                std::fs::write(&cert_out, cert.cert_pem())
                    .map_err(|e| format!("cannot write {}: {e}", cert_out.display()))?;
                println!("certificate: {} (Node: NODE_EXTRA_CA_CERTS=<it>)", cert_out.display());
                config = config.tls(Some(cert.server_config()?));
                scheme = "wss";
            }
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind(listen).await?;
                let server = sttbench::server::spawn(listener, |l, s| mock::run(l, config, s))?;
                println!("{provider} mock listening on {scheme}://{}", server.addr());
                tokio::signal::ctrl_c().await?;
                server.shutdown().await;
                Ok::<_, std::io::Error>(())
            })?;
        }
    }
    Ok(())
}
