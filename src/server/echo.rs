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
//! - it runs on the shared accept loop ([`super::accept`]): a handshake timeout, a
//!   connection limit, and on shutdown a 1001 (going away) close to every client with a
//!   bounded wait for them to finish.
//!
//! It has no opinion on what the frames hold and never initiates anything but a close.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{Instrument, debug, info, warn};

use super::accept::{self, Limits, Stop};

/// How the echo socket treats its clients. See each setter for the default and the
/// trade-off.
///
/// ```
/// use std::time::Duration;
/// use sttbench::server::Limits;
/// use sttbench::server::echo::EchoConfig;
/// let config = EchoConfig::default()
///     .max_message_size(64 * 1024)
///     .idle_timeout(Some(Duration::from_secs(10)))
///     .limits(Limits::default().handshake_timeout(Duration::from_secs(2)));
/// assert_eq!(config.get_max_message_size(), 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EchoConfig {
    max_message_size: usize,
    read_buffer_size: usize,
    idle_timeout: Option<Duration>,
    close_timeout: Duration,
    limits: Limits,
}

impl Default for EchoConfig {
    fn default() -> Self {
        EchoConfig {
            max_message_size: 1 << 20,
            read_buffer_size: 8 * 1024,
            idle_timeout: None,
            close_timeout: Duration::from_secs(1),
            limits: Limits::default(),
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
    /// quarter of a small-frame round trip (`docs/performance.md`, "Read buffers").
    /// Larger helps only for messages of tens of KiB.
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

    /// How long a close the server sends waits for the client's answer. Default 1 s.
    pub fn close_timeout(mut self, limit: Duration) -> Self {
        self.close_timeout = limit;
        self
    }

    /// Handshake timeout, connection limit and shutdown drain; default
    /// [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
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
/// connection (1001) and returns once they are done or the drain timeout
/// ([`Limits::drain_timeout`]) has passed. [`start`] runs it on a loopback port.
pub async fn run(listener: TcpListener, config: EchoConfig, shutdown: impl Future) {
    let handler = move |stream, _peer, stop| serve(stream, config, stop);
    accept::serve(listener, config.limits, shutdown, handler)
        .instrument(tracing::info_span!("echo"))
        .await;
}

/// Serves one connection: the WebSocket handshake, bounded by the handshake timeout,
/// then [`echo_frames`] until the client leaves or `stop` fires.
pub async fn serve<S>(stream: S, config: EchoConfig, mut stop: Stop)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let upgrade =
        tokio_tungstenite::accept_async_with_config(stream, Some(config.websocket_config()));
    let limit = config.limits.get_handshake_timeout();
    let Some(ws) = accept::handshake("WebSocket", limit, &mut stop, upgrade).await else {
        return;
    };
    echo_frames(ws, config, stop).await;
}

/// Echoes frames on an established WebSocket until the client closes, breaks the
/// protocol, idles out or `shutdown` completes. Public so that in-memory benches can
/// run it over a `tokio::io::duplex` pipe with no handshake.
pub async fn echo_frames<S>(
    mut ws: WebSocketStream<S>,
    config: EchoConfig,
    shutdown: impl IntoFuture,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut shutdown = std::pin::pin!(shutdown.into_future());
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
