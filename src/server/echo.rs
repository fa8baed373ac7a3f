//! The echo socket: a WebSocket server that sends every data frame back as it came.
//!
//! It is the peer the transport benches and the `sttbench stream` command measure
//! against, so it is built to cost as little as possible per frame (an 8 KiB read
//! buffer instead of tungstenite's 128 KiB, which is zero-filled before every read) and
//! to stay up whatever a client does:
//!
//! - binary and text frames are echoed in order; pings are answered with pongs;
//! - a malformed frame closes that connection with 1002 (protocol error), invalid UTF-8
//!   in a text frame with 1007, a message over [`EchoConfig::max_message_size`] with
//!   1009; a client that goes quiet past [`EchoConfig::idle_timeout`] gets 1008; a
//!   client that vanishes mid-frame is just dropped. Each is logged, and the other
//!   connections carry on;
//! - on shutdown it stops accepting, sends every client a 1001 (going away) close and
//!   waits up to [`EchoConfig::close_timeout`] for them to finish.
//!
//! It has no opinion on what the frames hold and never initiates anything but a close.

use std::future::Future;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{Instrument, debug, info, warn};

/// How the echo socket treats its clients. See each setter for the default and the
/// trade-off.
///
/// ```
/// use std::time::Duration;
/// use sttbench::server::echo::EchoConfig;
/// let config = EchoConfig::default()
///     .max_message_size(64 * 1024)
///     .idle_timeout(Some(Duration::from_secs(10)));
/// assert_eq!(config.get_max_message_size(), 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EchoConfig {
    max_message_size: usize,
    read_buffer_size: usize,
    idle_timeout: Option<Duration>,
    handshake_timeout: Duration,
    close_timeout: Duration,
}

impl Default for EchoConfig {
    fn default() -> Self {
        EchoConfig {
            max_message_size: 1 << 20,
            read_buffer_size: 8 * 1024,
            idle_timeout: None,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(1),
        }
    }
}

impl EchoConfig {
    /// Largest message (and frame) accepted, in bytes; a bigger one closes the connection
    /// with 1009. Default 1 MiB: 32 s of 16 kHz mono s16le, far above any sane chunk,
    /// small enough that a hostile client cannot make the server buffer much.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Read buffer per connection, in bytes. Default 8 KiB: tungstenite zero-fills the
    /// whole buffer before every read, and at its 128 KiB default that memset was a
    /// quarter of a small-frame round trip (`research/perf-anchors.md` §B.1). Larger
    /// helps only for messages of tens of KiB.
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }

    /// Close a connection (1008) that sends nothing, not even a ping, for this long.
    /// Default `None` (never); providers do close idle streams, Deepgram after about
    /// 10 s, and this lets tests show that keep-alives prevent it.
    pub fn idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Drop a connection that has not completed the WebSocket handshake in this time.
    /// Default 10 s.
    pub fn handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_timeout = limit;
        self
    }

    /// How long a close the server sends waits for the client's answer, and how long
    /// shutdown waits for connections to finish before dropping them. Default 1 s.
    pub fn close_timeout(mut self, limit: Duration) -> Self {
        self.close_timeout = limit;
        self
    }

    /// The maximum message size in bytes.
    pub fn get_max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The tungstenite configuration these settings stand for.
    pub fn websocket_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_size)
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size))
    }
}

/// Serves echo connections on `listener` until `shutdown` completes, then closes every
/// connection (1001) and returns once they are done or [`EchoConfig::close_timeout`] has
/// passed. Start it with [`super::spawn`]: `spawn(listener, |l, s| echo::run(l, config, s))`.
pub async fn run(listener: TcpListener, config: EchoConfig, shutdown: impl Future) {
    let (stop_tx, stop_rx) = watch::channel(());
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Echoes are small and latency-bound: never wait for a full segment.
                    if let Err(e) = stream.set_nodelay(true) {
                        warn!(%peer, "cannot set TCP_NODELAY: {e}");
                    }
                    let mut stop = stop_rx.clone();
                    let serve = serve(stream, config, async move { stop.changed().await });
                    connections.spawn(serve.instrument(tracing::info_span!("echo", %peer)));
                }
                // Per-connection failures (the client reset before we accepted) and
                // resource limits (EMFILE) both show up here; neither should end the
                // server. A short pause keeps an exhausted process from spinning.
                Err(e) => {
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    warn!("an echo connection task failed: {e}");
                }
            }
        }
    }
    drop(listener);
    // `send` only fails when no connection is listening, which is fine.
    let _ = stop_tx.send(());
    let deadline = Instant::now() + config.close_timeout;
    while !connections.is_empty() {
        match tokio::time::timeout_at(deadline, connections.join_next()).await {
            Ok(_) => {}
            Err(_) => {
                info!("{} connection(s) did not close in time; dropping them", connections.len());
                connections.shutdown().await;
            }
        }
    }
}

/// Serves one connection: the WebSocket handshake, then [`echo_frames`].
pub async fn serve<S>(stream: S, config: EchoConfig, shutdown: impl Future)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let handshake =
        tokio_tungstenite::accept_async_with_config(stream, Some(config.websocket_config()));
    let mut shutdown = std::pin::pin!(shutdown);
    let ws = tokio::select! {
        accepted = timeout(config.handshake_timeout, handshake) => match accepted {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                debug!("handshake failed: {e}");
                return;
            }
            Err(_) => {
                info!("no handshake within {:?}; dropped", config.handshake_timeout);
                return;
            }
        },
        _ = &mut shutdown => return,
    };
    echo_frames(ws, config, shutdown).await;
}

/// Echoes frames on an established WebSocket until the client closes, breaks the
/// protocol, idles out or `shutdown` completes. Public so that in-memory benches can
/// run it over a `tokio::io::duplex` pipe with no handshake.
pub async fn echo_frames<S>(mut ws: WebSocketStream<S>, config: EchoConfig, shutdown: impl Future)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut shutdown = std::pin::pin!(shutdown);
    // With no idle timeout the timer is never polled (the select branch is disabled),
    // so it costs nothing per frame.
    let idle_limit = config.idle_timeout.unwrap_or(Duration::MAX);
    let idle = sleep_until(Instant::now().checked_add(idle_limit).unwrap_or_else(far_future));
    let mut idle = std::pin::pin!(idle);
    loop {
        let next = tokio::select! {
            biased;
            next = ws.next() => next,
            _ = &mut shutdown => {
                return close(&mut ws, CloseCode::Away, "server shutting down", config).await;
            }
            _ = &mut idle, if config.idle_timeout.is_some() => {
                let reason = format!("nothing received for {idle_limit:?}");
                return close(&mut ws, CloseCode::Policy, &reason, config).await;
            }
        };
        if config.idle_timeout.is_some() {
            idle.as_mut().reset(Instant::now() + idle_limit);
        }
        let result = match next {
            // The client's close was answered by tungstenite; the stream then ends.
            None => {
                debug!("closed");
                return;
            }
            Some(Ok(message @ (Message::Binary(_) | Message::Text(_)))) => ws.send(message).await,
            // tungstenite has queued the pong; flush it now rather than on the next read.
            Some(Ok(Message::Ping(_))) => ws.flush().await,
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
        };
        if let Err(e) = result {
            match close_code(&e) {
                Some(code) => {
                    warn!("closing with {}: {e}", u16::from(code));
                    close(&mut ws, code, &e.to_string(), config).await;
                }
                None => info!("client gone: {e}"),
            }
            return;
        }
    }
}

/// The close code a connection error calls for, or `None` when the client is gone and
/// there is nobody to tell.
fn close_code(e: &WsError) -> Option<CloseCode> {
    match e {
        WsError::Utf8(_) => Some(CloseCode::Invalid),
        WsError::Capacity(_) => Some(CloseCode::Size),
        WsError::Protocol(p) => match p {
            tokio_tungstenite::tungstenite::error::ProtocolError::ResetWithoutClosingHandshake => {
                None
            }
            _ => Some(CloseCode::Protocol),
        },
        WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_) => None,
        _ => Some(CloseCode::Error),
    }
}

/// Sends a close frame and waits, up to the close timeout, for the client's answer.
async fn close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &str, config: EchoConfig)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A close reason is limited to 123 bytes (control frames carry at most 125).
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame { code, reason: reason[..end].into() };
    let handshake = async {
        ws.close(Some(frame)).await?;
        // Drain until the client's close arrives and the stream ends.
        while ws.next().await.transpose()?.is_some() {}
        Ok::<_, WsError>(())
    };
    match timeout(config.close_timeout, handshake).await {
        Ok(Ok(())) => debug!("closed with {}", u16::from(code)),
        Ok(Err(e)) => debug!("close with {} ended early: {e}", u16::from(code)),
        Err(_) => info!("no close answer within {:?}; dropped", config.close_timeout),
    }
}

/// About 30 years from now: tokio's timers cannot be further away than that.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// Binds `127.0.0.1:0` and spawns an echo socket on it: what tests and benches use.
///
/// # Errors
///
/// The I/O error when the loopback interface cannot be bound.
pub async fn start(config: EchoConfig) -> std::io::Result<super::ServerHandle> {
    let listener = super::bind_loopback().await?;
    super::spawn(listener, move |listener, shutdown| run(listener, config, shutdown))
}
