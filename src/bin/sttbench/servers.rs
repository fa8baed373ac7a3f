//! `sttbench echo` and `sttbench mock`: the local peers, served until Ctrl-C or SIGTERM.
//!
//! Both bind first (an address in use is an error naming it), then install their signal
//! handlers, and only then print the address: a script that reads the address and
//! signals at once gets a clean shutdown, never a death by signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::mock::{self, Fault, MockConfig, MockProvider, tls::SelfSigned};
use tokio::net::TcpListener;

use crate::{Outcome, runtime};

#[derive(Debug, clap::Args)]
pub(crate) struct EchoArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Largest message accepted, in bytes; a bigger one closes the connection (1009).
    #[arg(long, default_value_t = EchoConfig::default().get_max_message_size())]
    max_message_bytes: usize,
}

#[derive(Debug, clap::Args)]
pub(crate) struct MockArgs {
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
    /// stall@WHEN or drop@WHEN. WHEN is audio received (2s, 500ms), audio bytes received
    /// (64000b) or wall-clock time after the handshake (wall:2s).
    #[arg(long)]
    fault: Option<Fault>,
    /// Show the fault on the first N connections only; later ones are served normally
    /// (e.g. drop twice, then let a reconnecting client finish).
    #[arg(long, value_name = "N", requires = "fault")]
    fault_connections: Option<u64>,
}

pub(crate) fn echo(args: EchoArgs) -> Outcome {
    let EchoArgs { listen, max_message_bytes } = args;
    runtime()?.block_on(async {
        let listener = bind(listen).await?;
        let stop = crate::shutdown_signal()?;
        println!("echo socket on ws://{} (Ctrl-C to stop)", listener.local_addr()?);
        let config = EchoConfig::default().max_message_size(max_message_bytes);
        echo::run(listener, config, stop).await;
        println!("echo socket stopped");
        Ok(0)
    })
}

pub(crate) fn mock(args: MockArgs) -> Outcome {
    let MockArgs { provider, listen, tls, cert_out, delay_ms, fault, fault_connections } = args;
    let mut config = MockConfig::new(provider)
        .delay(Duration::from_millis(delay_ms))
        .fault(fault)
        .fault_connections(fault_connections);
    let mut scheme = "ws";
    if tls {
        let cert = SelfSigned::generate()?;
        std::fs::write(&cert_out, cert.cert_pem())
            .map_err(|e| format!("cannot write {}: {e}", cert_out.display()))?;
        println!("certificate: {} (Node: NODE_EXTRA_CA_CERTS=<it>)", cert_out.display());
        config = config.tls(Some(cert.server_config()?));
        scheme = "wss";
    }
    // The address stays the last word of the line: scripts cut it from there.
    let fault = config.fault_summary().map(|f| format!(" (fault {f})")).unwrap_or_default();
    runtime()?.block_on(async {
        let listener = bind(listen).await?;
        let stop = crate::shutdown_signal()?;
        let addr = listener.local_addr()?;
        println!("{provider} mock{fault} listening on {scheme}://{addr}");
        mock::run(listener, config, stop).await;
        println!("{provider} mock stopped");
        Ok(0)
    })
}

/// Binds `listen`, or says which address could not be bound and what to do.
async fn bind(listen: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(listen).await.map_err(|e| {
        format!("cannot listen on {listen}: {e}; pass --listen 127.0.0.1:0 for any free port")
    })
}
