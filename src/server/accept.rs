//! The one accept loop every local server runs on: the echo socket, the mock providers
//! and the impairment proxy.
//!
//! A server is a handler for one connection; [`serve`] owns everything around it, so
//! each server gets the same defences against the clients met in the wild:
//!
//! - **a connection limit** ([`Limits::max_connections`]): at the limit the loop stops
//!   accepting, so new clients wait in the kernel's backlog instead of costing a task
//!   and a socket each; finished connections are reaped as they end, which frees slots;
//! - **a handshake timeout** ([`Limits::handshake_timeout`]), applied by the handler
//!   through [`handshake`] around whatever its handshake is (TLS, the WebSocket
//!   upgrade), so a client that sends half a request and stops (slowloris) holds its
//!   slot for that long at most;
//! - **accept-error backoff**: a failed accept that concerns one client (it reset
//!   before we took it) is skipped; any other (out of file descriptors) pauses the loop,
//!   doubling from [`ACCEPT_BACKOFF_MIN`] to [`ACCEPT_BACKOFF_MAX`], so an exhausted
//!   process neither spins nor gives up;
//! - **a bounded drain**: when `shutdown` completes the listener is closed, every
//!   connection's [`Stop`] fires, and connections get [`Limits::drain_timeout`] to say
//!   goodbye (a close frame) before the rest are aborted. Shutdown never waits on a
//!   client.
//!
//! The loop does not speak any protocol and never reads or writes a socket itself.

use std::fmt::Display;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{Instrument, debug, info, warn};

/// First pause after an accept error that is not one client's problem.
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);

/// Longest pause after repeated accept errors: short enough that a server recovers
/// within a second of descriptors freeing up.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// What a server tolerates from its clients. See each setter for the default and the
/// trade-off.
///
/// ```
/// use std::time::Duration;
/// use sttbench::server::accept::Limits;
/// let limits = Limits::default()
///     .handshake_timeout(Duration::from_secs(2))
///     .max_connections(64);
/// assert_eq!(limits.get_max_connections(), 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    handshake_timeout: Duration,
    max_connections: usize,
    drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(1),
        }
    }
}

impl Limits {
    /// How long a connection may take from accept to the end of its handshake (TLS and
    /// WebSocket upgrade together) before it is dropped. Default 10 s: far above a
    /// loopback handshake, even a TLS one on a loaded machine, and it bounds how long a
    /// slowloris client holds a connection slot.
    pub fn handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_timeout = limit;
        self
    }

    /// Connections served at once; at the limit, new clients wait in the listen backlog
    /// until one ends. Default 1024: above any load run of this crate, and below the
    /// usual soft limit on open files (1024 per process counts both ends of a loopback
    /// run, so raise `ulimit -n` before raising this). At least 1.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long shutdown waits for open connections to finish (they are told to stop
    /// and send their close frames) before it aborts them. Default 1 s.
    pub fn drain_timeout(mut self, limit: Duration) -> Self {
        self.drain_timeout = limit;
        self
    }

    /// The handshake timeout.
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The connection limit.
    pub fn get_max_connections(&self) -> usize {
        self.max_connections
    }

    /// The drain timeout.
    pub fn get_drain_timeout(&self) -> Duration {
        self.drain_timeout
    }
}

/// A connection's signal to stop: it fires once, for every connection at the same
/// moment, when the server starts shutting down. Clone it freely.
#[derive(Debug, Clone)]
pub struct Stop {
    rx: watch::Receiver<bool>,
}

impl Stop {
    /// A stop signal and the sender that fires it, for servers driven by hand (tests,
    /// in-memory benches). Dropping the sender fires it too.
    pub fn new() -> (watch::Sender<bool>, Stop) {
        let (tx, rx) = watch::channel(false);
        (tx, Stop { rx })
    }

    /// Completes once the server is shutting down; at once if it already is.
    pub async fn stopped(&mut self) {
        // An error means the sender is gone, which only happens once the loop has ended:
        // that is a stop too.
        let _ = self.rx.wait_for(|stopped| *stopped).await;
    }

    /// Whether the server is shutting down.
    pub fn is_stopped(&self) -> bool {
        *self.rx.borrow() || self.rx.has_changed().is_err()
    }
}

/// `stop.await`, or `stop.into_future()` for code that takes any `Future<Output = ()>`
/// as its stop signal: completes once the server is shutting down.
impl IntoFuture for Stop {
    type Output = ();
    type IntoFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn into_future(mut self) -> Self::IntoFuture {
        Box::pin(async move { self.stopped().await })
    }
}

/// Accepts connections on `listener` and runs `handler(stream, peer, stop)` for each as
/// its own task, within `limits`, until `shutdown` completes; then drains (see the module
/// doc) and returns.
///
/// Every stream has `TCP_NODELAY` set: every server here is latency-bound. Each
/// connection's task runs in a `conn` span naming the peer, inside the caller's span, so
/// logs say which server and which client.
pub async fn serve<H, F>(
    listener: TcpListener,
    limits: Limits,
    shutdown: impl Future,
    mut handler: H,
) where
    H: FnMut(TcpStream, SocketAddr, Stop) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let (stop_tx, stop) = Stop::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let mut said_full = false;
    loop {
        let room = connections.len() < limits.max_connections;
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept(), if room => match accepted {
                Ok((stream, peer)) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    if let Err(e) = stream.set_nodelay(true) {
                        debug!(%peer, "cannot set TCP_NODELAY: {e}");
                    }
                    let task = handler(stream, peer, stop.clone());
                    connections.spawn(task.instrument(tracing::info_span!("conn", %peer)));
                    if connections.len() == limits.max_connections && !said_full {
                        // Once: under a flood the limit is met again at every slot freed.
                        said_full = true;
                        warn!(
                            "{} connections open, the limit: new clients wait until one ends",
                            limits.max_connections
                        );
                    }
                }
                Err(e) if is_per_connection(&e) => debug!("accept skipped a client: {e}"),
                Err(e) => {
                    warn!("accept failed: {e}; pausing {backoff:?}");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                }
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => reap(done),
        }
    }
    drop(listener);
    // Fails only when no connection holds a `Stop`, which is fine.
    let _ = stop_tx.send(true);
    drain(connections, limits.drain_timeout).await;
}

/// Waits up to `limit` for every connection to end, then aborts the rest.
async fn drain(mut connections: JoinSet<()>, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !connections.is_empty() {
        match tokio::time::timeout_at(deadline, connections.join_next()).await {
            Ok(Some(done)) => reap(done),
            Ok(None) => break,
            Err(_) => {
                info!(
                    "{} connection(s) still open after {limit:?}; aborting them",
                    connections.len()
                );
                connections.shutdown().await;
            }
        }
    }
}

/// Logs a connection task that panicked; the server carries on.
fn reap(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        warn!("a connection task panicked: {e}");
    }
}

/// Accept errors about one client, not about the server: no pause needed.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Runs a connection's handshake (`what`: "TLS", "WebSocket", …) bounded by `limit` and
/// by `stop`. `None` means the connection is to be dropped: the handshake failed, took
/// longer than `limit`, or the server is shutting down; each is logged here.
///
/// Steps that share one budget (TLS, then the upgrade over it) go in as one future,
/// so a client cannot spend the limit twice.
pub async fn handshake<T, E: Display>(
    what: &str,
    limit: Duration,
    stop: &mut Stop,
    handshake: impl Future<Output = Result<T, E>>,
) -> Option<T> {
    tokio::select! {
        done = tokio::time::timeout(limit, handshake) => match done {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                debug!("{what} handshake failed: {e}");
                None
            }
            Err(_) => {
                info!("no {what} handshake within {limit:?}; dropped");
                None
            }
        },
        () = stop.stopped() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_clamp_the_connection_count_to_one() {
        assert_eq!(Limits::default().max_connections(0).get_max_connections(), 1);
    }

    #[tokio::test]
    async fn stop_fires_for_every_clone_and_when_the_sender_is_dropped() {
        let (tx, mut a) = Stop::new();
        let mut b = a.clone();
        assert!(!a.is_stopped());
        tx.send(true).unwrap();
        a.stopped().await;
        b.stopped().await;
        assert!(b.is_stopped());
        let (tx, mut c) = Stop::new();
        drop(tx);
        c.stopped().await;
        assert!(c.is_stopped());
        let (tx, d) = Stop::new();
        let waiting = tokio::spawn(d.into_future());
        tx.send(true).unwrap();
        waiting.await.expect("an owned stop future completes once fired");
    }

    #[tokio::test(start_paused = true)]
    async fn handshake_is_bounded_by_its_limit_and_by_stop() {
        let (tx, mut stop) = Stop::new();
        let never = std::future::pending::<Result<(), String>>();
        let started = Instant::now();
        assert_eq!(handshake("test", Duration::from_secs(3), &mut stop, never).await, None);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        let ok = async { Ok::<_, String>(7) };
        assert_eq!(handshake("test", Duration::from_secs(3), &mut stop, ok).await, Some(7));
        let failed = async { Err::<(), _>("refused") };
        assert_eq!(handshake("test", Duration::from_secs(3), &mut stop, failed).await, None);
        tx.send(true).unwrap();
        let never = std::future::pending::<Result<(), String>>();
        let started = Instant::now();
        assert_eq!(handshake("test", Duration::from_secs(3), &mut stop, never).await, None);
        assert_eq!(started.elapsed(), Duration::ZERO, "a stopped server does not wait");
    }
}
