//! Local peers, so every bench and test runs offline: the echo socket, the mock
//! providers and the network-impairment proxy.
//!
//! Every server has the same shape, after mini-redis: an async
//! `run(listener, config, shutdown)` that serves until the `shutdown` future completes,
//! on the one accept loop in [`accept`] (handshake timeout, connection limit, bounded
//! drain), and a `start(config)` that binds `127.0.0.1:0` and returns a [`ServerHandle`]:
//! the bound address, a way to stop the server, and its task to join. Tests, benches and
//! the CLI all take that path.
//!
//! Servers never decide anything the client does.

pub mod accept;
pub mod echo;
pub mod mock;
pub mod shaper;

pub use accept::{Limits, Stop};

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server: its address, and the means to stop it and wait for it.
///
/// Dropping the handle also stops the server (its shutdown sender is dropped), so a test
/// that panics never leaves a server running.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    /// Whether the server speaks TLS (`wss://`).
    tls: bool,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://<addr>`, or `wss://<addr>` for a server that speaks TLS: the URL a client
    /// connects to.
    pub fn ws_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}", self.addr)
    }

    /// Asks the server to stop accepting and to close its connections, and waits until
    /// its task has finished.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The server may already have stopped; then there is nobody to tell.
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// Binds `127.0.0.1:0`: the only address tests and benches use.
///
/// # Errors
///
/// The I/O error when the loopback interface cannot be bound.
pub async fn bind_loopback() -> std::io::Result<TcpListener> {
    TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await
}

/// Spawns `run(listener, shutdown)` on the current runtime and returns its handle.
///
/// `run` is one of the servers' `run` functions, partially applied to its configuration:
/// `spawn(listener, |l, s| echo::run(l, config, s))`. The servers' own `start` functions
/// do this on a loopback port; call `spawn` for another listener.
///
/// # Errors
///
/// The I/O error when the listener's address cannot be read.
pub fn spawn<F, Fut>(listener: TcpListener, run: F) -> std::io::Result<ServerHandle>
where
    F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(run(listener, rx));
    Ok(ServerHandle { addr, tls: false, shutdown: Some(tx), task: Some(task) })
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // Dropping the sender completes the server's shutdown future; the task then
        // winds down on its own.
        self.shutdown.take();
    }
}
