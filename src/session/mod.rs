//! The streaming session: the client a voice app uses to send audio chunks over a
//! WebSocket and get the server's events back.
//!
//! [`Session::connect`] dials `ws://` or `wss://` with a timeout and the
//! [`ReconnectPolicy`] (see `connect.rs`), and gives a session that is a [`Sender`]
//! (cloneable: several tasks may send at once, each chunk goes out whole) plus
//! [`Events`] (the server's frames, parsed by the [`Dialect`]).
//! Chunks are the encoder's [`Bytes`], handed to tungstenite without a copy. An idle
//! session sends the dialect's keep-alive. Ending is explicit: [`Session::close`]
//! sends a close and waits for the peer's within the close timeout; [`Session::abort`]
//! drops the connection at once. Per-session numbers ([`Session::report`]) are kept in
//! HdrHistograms ([`crate::metrics`]) as chunks go out and echoes come back.
//!
//! Protocol details (URLs, keep-alive and close messages, parsing) belong to the
//! dialect; the session only moves frames and measures. Whole runs (pacing, queueing,
//! stalls, how a run ended) belong to the driver, [`crate::stream`].

mod config;
mod connect;
mod stats;

pub use config::{RECONNECT_ATTEMPTS, RECONNECT_SEED, ReconnectPolicy, SessionConfig};
pub use connect::trust_pem;
pub(crate) use stats::MAX_IN_FLIGHT;
pub use tokio_tungstenite::MaybeTlsStream;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::error::Error;
use crate::metrics::Report;
use crate::provider::{Dialect, Event, KeepAlive};
use stats::Stats;

/// A connected session: a [`Sender`] and its [`Events`]. See the module doc.
#[derive(Debug)]
pub struct Session<S = MaybeTlsStream<TcpStream>> {
    sender: Sender<S>,
    events: Events<S>,
}

/// The sending half of a session. Clones share the connection; a chunk is always
/// written whole, even when several tasks send at once.
#[derive(Debug)]
pub struct Sender<S = MaybeTlsStream<TcpStream>> {
    shared: Arc<Shared<S>>,
}

/// The receiving half of a session: the server's frames as [`Event`]s.
#[derive(Debug)]
pub struct Events<S = MaybeTlsStream<TcpStream>> {
    stream: SplitStream<WebSocketStream<S>>,
    shared: Arc<Shared<S>>,
    // Set once the server's close frame is in: nothing can follow it, so a transport
    // error after it (a TLS server that drops TCP without close_notify, as the mocks do
    // and many servers do) ends the events instead of failing them.
    peer_closed: bool,
}

#[derive(Debug)]
struct Shared<S> {
    // A tokio mutex, because a send holds it across the write and flush: that is what
    // keeps concurrent chunks whole and in order. `None` once the session is aborted.
    sink: tokio::sync::Mutex<Option<SplitSink<WebSocketStream<S>, Message>>>,
    // Set by `abort`: whichever sender holds or next takes the lock drops the write half.
    aborted: AtomicBool,
    // A std mutex, held for an update only; the receiver must reach it while a sender
    // waits on a full socket, or neither side would make progress.
    stats: Mutex<Stats>,
    dialect: Arc<dyn Dialect>,
    config: SessionConfig,
    echoes: bool,
    keep_alive: Mutex<Option<AbortHandle>>,
}

impl<S> Shared<S> {
    /// The write half, unless the session was aborted (then it is dropped here).
    fn writable<'a>(
        &self,
        sink: &'a mut Option<SplitSink<WebSocketStream<S>, Message>>,
    ) -> crate::Result<&'a mut SplitSink<WebSocketStream<S>, Message>> {
        self.drop_if_aborted(sink);
        sink.as_mut().ok_or(Error::SessionClosed)
    }

    /// Drops the write half if the session was aborted while a send held it.
    fn drop_if_aborted(&self, sink: &mut Option<SplitSink<WebSocketStream<S>, Message>>) {
        if self.aborted.load(Ordering::Acquire) {
            sink.take();
        }
    }
}

impl<S> Drop for Shared<S> {
    fn drop(&mut self) {
        if let Some(task) = self.keep_alive.get_mut().unwrap_or_else(PoisonError::into_inner).take()
        {
            task.abort();
        }
    }
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// A session over an already established WebSocket, such as one over an in-memory
    /// `tokio::io::duplex` pipe (made with [`SessionConfig::websocket_config`]) in a
    /// bench. Starts the keep-alive task, so it must be called inside a tokio runtime.
    pub fn from_websocket(
        ws: WebSocketStream<S>,
        dialect: Arc<dyn Dialect>,
        config: SessionConfig,
    ) -> Self {
        let echoes = dialect.echoes();
        let idle_interval = config.keep_alive;
        let (sink, stream) = ws.split();
        let shared = Arc::new(Shared {
            sink: tokio::sync::Mutex::new(Some(sink)),
            aborted: AtomicBool::new(false),
            stats: Mutex::new(Stats::new(echoes)),
            dialect,
            config,
            echoes,
            keep_alive: Mutex::new(None),
        });
        if let Some(interval) = idle_interval {
            let task = tokio::spawn(keep_alive(Arc::downgrade(&shared), interval));
            *lock(&shared.keep_alive) = Some(task.abort_handle());
        }
        let sender = Sender { shared: Arc::clone(&shared) };
        Session { sender, events: Events { stream, shared, peer_closed: false } }
    }

    /// A handle for sending; clone it into as many tasks as need to send.
    pub fn sender(&self) -> Sender<S> {
        self.sender.clone()
    }

    /// Sends one audio chunk now. See [`Sender::send`].
    ///
    /// # Errors
    ///
    /// As [`Sender::send`].
    pub async fn send(&self, chunk: Bytes) -> crate::Result<()> {
        self.sender.send(chunk).await
    }

    /// The next event from the server. See [`Events::next`].
    pub async fn next_event(&mut self) -> Option<crate::Result<Event>> {
        self.events.next().await
    }

    /// Splits the session so that one task can send while another reads events.
    pub fn split(self) -> (Sender<S>, Events<S>) {
        (self.sender, self.events)
    }

    /// The numbers so far: chunks, bytes, send latency, round trips, throughput.
    pub fn report(&self) -> Report {
        self.sender.report()
    }

    /// Graceful close: sends the dialect's close-stream message or a close frame, then
    /// reads (and counts) what the server still sends until it closes, all within the
    /// close timeout (a peer that stopped reading cannot make it hang). Returns the final
    /// report.
    ///
    /// # Errors
    ///
    /// [`Error::CloseTimeout`] when the peer did not close in time (the connection is
    /// dropped anyway); [`Error::WebSocket`] when the connection broke while closing.
    pub async fn close(self) -> crate::Result<Report> {
        let Session { sender, events } = self;
        let limit = sender.shared.config.close_timeout;
        let closing = async {
            sender.close().await?;
            events.finish().await
        };
        timeout(limit, closing).await.map_err(|_| Error::CloseTimeout(limit))??;
        Ok(sender.report())
    }

    /// Abrupt close: drops the connection now, without a close frame, as a crashed
    /// client would. Returns the report as it stood.
    ///
    /// Clones of the [`Sender`] get [`Error::SessionClosed`] from then on; if one of
    /// them is in the middle of a send, the connection drops as soon as that chunk is
    /// written.
    pub fn abort(self) -> Report {
        let report = self.sender.report();
        self.sender.shared.aborted.store(true, Ordering::Release);
        if let Ok(mut sink) = self.sender.shared.sink.try_lock() {
            sink.take();
        }
        // Dropping `self` drops the read half; with the write half gone too, the socket
        // closes.
        report
    }
}

impl<S> Clone for Sender<S> {
    fn clone(&self) -> Self {
        Sender { shared: Arc::clone(&self.shared) }
    }
}

impl<S> Sender<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends one audio chunk as a binary frame and flushes it; latency counts from now.
    ///
    /// Waits while the socket is full (backpressure from a slow peer).
    ///
    /// # Errors
    ///
    /// [`Error::SessionClosed`] after a close, [`Error::WebSocket`] when the connection
    /// broke; either way, open a new session.
    pub async fn send(&self, chunk: Bytes) -> crate::Result<()> {
        self.send_at(chunk, Instant::now()).await
    }

    /// Sends one audio chunk that was due at `scheduled`: its send latency and round trip
    /// count from `scheduled`, so a paced stream that falls behind shows it (no
    /// coordinated omission).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_at(&self, chunk: Bytes, scheduled: Instant) -> crate::Result<()> {
        let len = chunk.len();
        let mut guard = self.shared.sink.lock().await;
        let sink = self.shared.writable(&mut guard)?;
        if self.shared.echoes {
            lock(&self.shared.stats).expect_echo(scheduled);
        }
        let sent = sink.send(Message::Binary(chunk)).await;
        self.shared.drop_if_aborted(&mut guard);
        if let Err(e) = sent {
            if self.shared.echoes {
                lock(&self.shared.stats).cancel_echo();
            }
            return Err(ws_error(e));
        }
        lock(&self.shared.stats).sent(len, scheduled, Instant::now());
        Ok(())
    }

    /// Sends a text frame (a provider control message, or text to echo).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_text(&self, text: &str) -> crate::Result<()> {
        self.send_message(Message::text(text)).await
    }

    /// Sends a WebSocket ping (the echo socket, like any compliant peer, answers it).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn ping(&self) -> crate::Result<()> {
        self.send_message(Message::Ping(Bytes::new())).await
    }

    /// Sends a WebSocket ping to find out whether the peer is alive, without counting as
    /// activity: the keep-alive still goes out on its schedule, since a provider's idle
    /// timer may ignore pings. The answer shows in [`last_heard`](Self::last_heard).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn probe(&self) -> crate::Result<()> {
        self.write_message(Message::Ping(Bytes::new()), false).await
    }

    /// When the peer last sent anything at all (data, a close, a pong), as read by the
    /// [`Events`] half; the session's open until then.
    pub fn last_heard(&self) -> Instant {
        lock(&self.shared.stats).last_heard()
    }

    /// Starts a graceful close: the dialect's close-stream message if it has one (the
    /// server then finishes and closes), else a close frame. The [`Events`] half then
    /// sees the server's last events and ends; [`Events::finish`] waits for that.
    ///
    /// Like any send, this waits while the socket is full; [`Session::close`] bounds the
    /// whole close by the close timeout.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn close(&self) -> crate::Result<()> {
        let message = self.shared.dialect.close_stream().unwrap_or_else(|| {
            Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() }))
        });
        self.send_message(message).await
    }

    /// Drops the connection's write half now, without a close frame, as
    /// [`Session::abort`] does; the streaming driver gives up a dropped connection this
    /// way before it reconnects.
    pub(crate) fn abort(&self) {
        self.shared.aborted.store(true, Ordering::Release);
        if let Ok(mut sink) = self.shared.sink.try_lock() {
            sink.take();
        }
    }

    /// The dialect this session speaks.
    pub fn dialect(&self) -> &dyn Dialect {
        self.shared.dialect.as_ref()
    }

    /// The numbers so far; see [`Session::report`].
    pub fn report(&self) -> Report {
        lock(&self.shared.stats).report(self.shared.echoes)
    }

    async fn send_message(&self, message: Message) -> crate::Result<()> {
        self.write_message(message, true).await
    }

    /// Writes and flushes `message`; `activity` says whether it resets the keep-alive.
    async fn write_message(&self, message: Message, activity: bool) -> crate::Result<()> {
        let mut guard = self.shared.sink.lock().await;
        let sent = self.shared.writable(&mut guard)?.send(message).await;
        self.shared.drop_if_aborted(&mut guard);
        sent.map_err(ws_error)?;
        if activity {
            lock(&self.shared.stats).touched(Instant::now());
        }
        Ok(())
    }
}

impl<S> Events<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The next event: echoes, transcripts and other dialect events, then
    /// [`Event::Closed`] with the server's code and reason when it closes, then `None`.
    ///
    /// Pings are answered and pongs absorbed here, so keep reading events even when
    /// only sending matters. A close the dialect maps to an error comes as that error.
    /// After the server's close, a broken connection is the end (`None`), not an error.
    ///
    /// # Errors
    ///
    /// [`Error::WebSocket`] when the connection broke (reset, protocol violation), or
    /// the dialect's error for a failing close code; the stream then ends.
    pub async fn next(&mut self) -> Option<crate::Result<Event>> {
        loop {
            let message = match self.stream.next().await? {
                Ok(message) => message,
                Err(_) if self.peer_closed => return None,
                Err(e) => return Some(Err(ws_error(e))),
            };
            lock(&self.shared.stats).heard(Instant::now());
            match message {
                Message::Binary(_) | Message::Text(_) => {
                    let event = self.shared.dialect.parse(message);
                    // Only binary chunks are timed; a text echo has no send to pair with.
                    if self.shared.echoes && matches!(event, Event::Echo(_)) {
                        lock(&self.shared.stats).echoed(Instant::now());
                    }
                    return Some(Ok(event));
                }
                Message::Close(frame) => {
                    self.peer_closed = true;
                    // tungstenite has queued the answering close; send it now, since the
                    // caller may stop reading once it sees the close. If a send holds the
                    // sink, its own flush writes the answer; waiting for it could hang
                    // behind a peer that no longer reads.
                    if let Ok(mut sink) = self.shared.sink.try_lock()
                        && let Some(sink) = sink.as_mut()
                    {
                        let _ = sink.flush().await;
                    }
                    let (code, reason) = match frame {
                        Some(f) => (u16::from(f.code), f.reason.as_str().to_owned()),
                        // 1005: "no status code was present" (RFC 6455 §7.4.1).
                        None => (1005, String::new()),
                    };
                    return Some(match self.shared.dialect.close_error(code, &reason) {
                        Some(error) => Err(error),
                        None => Ok(Event::Closed { code, reason }),
                    });
                }
                // tungstenite answers pings itself, on the next read or write; pongs and
                // raw frames carry nothing for the caller.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// The events as a [`futures_util::Stream`], for `select!`, combinators and
    /// `forward`; the same items as [`next`](Self::next).
    pub fn into_stream(self) -> impl futures_util::Stream<Item = crate::Result<Event>> {
        futures_util::stream::unfold(self, |mut events| async move {
            let event = events.next().await?;
            Some((event, events))
        })
    }

    /// Reads until the server has closed, counting the echoes still on the way, within
    /// the close timeout. Call it after [`Sender::close`]. Returns the server's close
    /// code and reason, if it sent one.
    ///
    /// # Errors
    ///
    /// [`Error::CloseTimeout`] when the server did not close in time (the connection
    /// is dropped); [`Error::WebSocket`] when it broke first.
    pub async fn finish(mut self) -> crate::Result<Option<(u16, String)>> {
        let limit = self.shared.config.close_timeout;
        let drain = async {
            let mut closed = None;
            while let Some(event) = self.next().await {
                if let Event::Closed { code, reason } = event? {
                    closed = Some((code, reason));
                }
            }
            Ok(closed)
        };
        timeout(limit, drain).await.unwrap_or(Err(Error::CloseTimeout(limit)))
    }
}

/// Sends the dialect's keep-alive whenever nothing has been sent for `interval`, until
/// the session is gone or its connection fails.
async fn keep_alive<S>(shared: Weak<Shared<S>>, interval: std::time::Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let Some(due) = shared.upgrade().map(|s| lock(&s.stats).last_activity() + interval) else {
            return;
        };
        sleep_until(due).await;
        let Some(shared) = shared.upgrade() else { return };
        if lock(&shared.stats).last_activity() + interval > Instant::now() {
            continue; // something was sent meanwhile
        }
        let message = match shared.dialect.keep_alive() {
            KeepAlive::Ping => Message::Ping(Bytes::new()),
            KeepAlive::Message(message) => message,
        };
        let sender = Sender { shared };
        // Bounded, so that a keep-alive stuck behind a stalled peer does not keep the
        // session alive after its owner dropped it.
        match timeout(interval, sender.send_message(message)).await {
            Ok(Ok(())) | Err(_) => {}
            Ok(Err(e)) => {
                tracing::debug!("keep-alive stopped: {e}");
                return;
            }
        }
    }
}

fn ws_error(e: WsError) -> Error {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => Error::SessionClosed,
        e => Error::WebSocket(Box::new(e)),
    }
}

/// Locks a std mutex, carrying on after a panic elsewhere: the data are counters that
/// stay meaningful whatever update was interrupted.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
