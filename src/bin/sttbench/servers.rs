//! `sttbench echo` and `sttbench mock`: the local peers, served until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::mock::{self, Fault, MockConfig, MockProvider, tls::SelfSigned};

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
    /// stall@WHEN or drop@WHEN (WHEN: 500ms, 2s or 64000b).
    #[arg(long)]
    fault: Option<Fault>,
}

pub(crate) fn echo(args: EchoArgs) -> Outcome {
    let EchoArgs { listen, max_message_bytes } = args;
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            format!("cannot listen on {listen}: {e}; pass --listen 127.0.0.1:0 for any free port")
        })?;
        println!("echo socket on ws://{} (Ctrl-C to stop)", listener.local_addr()?);
        let config = EchoConfig::default().max_message_size(max_message_bytes);
        echo::run(listener, config, tokio::signal::ctrl_c()).await;
        println!("echo socket stopped");
        Ok(0)
    })
}

pub(crate) fn mock(args: MockArgs) -> Outcome {
    let MockArgs { provider, listen, tls, cert_out, delay_ms, fault } = args;
    let mut config = MockConfig::new(provider).delay(Duration::from_millis(delay_ms)).fault(fault);
    let mut scheme = "ws";
    if tls {
        let cert = SelfSigned::generate()?;
        std::fs::write(&cert_out, cert.cert_pem())
            .map_err(|e| format!("cannot write {}: {e}", cert_out.display()))?;
        println!("certificate: {} (Node: NODE_EXTRA_CA_CERTS=<it>)", cert_out.display());
        config = config.tls(Some(cert.server_config()?));
        scheme = "wss";
    }
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let server = sttbench::server::spawn(listener, |l, s| mock::run(l, config, s))?;
        println!("{provider} mock listening on {scheme}://{}", server.addr());
        tokio::signal::ctrl_c().await?;
        server.shutdown().await;
        Ok::<_, std::io::Error>(())
    })?;
    Ok(0)
}
