//! One mock connection after the upgrade: reading frames, the processing delay, the idle
//! timer, faults (fired by audio position, bytes or time, and logged), and the close
//! sequence. Protocol decisions are the dialect's ([`Session`]); this file owns the
//! timing and the socket.
//!
//! Everything waits on `tokio::time`, so tests can pause the clock and step through idle
//! timeouts and delayed replies without sleeping.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::{Fault, Stop, Tap, Trigger};

/// How long the mock waits for the client's half of the close handshake before it drops
/// the connection anyway; RFC 6455 leaves this to the server.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(5);

/// What a dialect does with each thing that happens on its connection.
pub(super) trait Session: Send {
    /// Right after the upgrade (AssemblyAI sends `Begin`, or closes 1008 on bad auth).
    fn open(&mut self, out: &mut Outbox);
    /// An audio frame.
    fn binary(&mut self, data: &[u8], out: &mut Outbox);
    /// A text frame (control messages).
    fn text(&mut self, text: &str, out: &mut Outbox);
    /// Nothing arrived for [`Session::idle_timeout`].
    fn idle(&mut self, out: &mut Outbox);
    /// The provider's idle window, if it has one.
    fn idle_timeout(&self) -> Option<Duration>;
    /// The close the provider sends for `Fault::Close` with an empty reason.
    fn close_reason(&self, code: u16) -> &'static str;
    /// Audio bytes per second of this session's format: what audio-time triggers count.
    fn bytes_per_second(&self) -> u64;
}

/// Messages waiting for their processing delay, then the close that ends the session.
#[derive(Debug)]
pub(super) struct Outbox {
    delay: Duration,
    /// Each message with when it is due and when what it answers arrived.
    queue: VecDeque<(Instant, Instant, Message)>,
    closing: bool,
    /// When the frame being handled arrived: what a message queued now answers.
    heard: Instant,
}

impl Outbox {
    fn new(delay: Duration, opened: Instant) -> Self {
        Outbox { delay, queue: VecDeque::new(), closing: false, heard: opened }
    }

    /// Sends `message` after the processing delay; ignored once a close is queued.
    pub(super) fn send(&mut self, message: Message) {
        if !self.closing {
            self.queue.push_back((Instant::now() + self.delay, self.heard, message));
        }
    }

    /// Sends `value` as a JSON text frame.
    pub(super) fn json(&mut self, value: serde_json::Value) {
        self.send(Message::text(value.to_string()));
    }

    /// Queues the close frame (after everything already queued) and stops taking more.
    /// The reason is cut to the 123 bytes a close frame can carry (RFC 6455 §5.5).
    pub(super) fn close(&mut self, code: u16, reason: impl Into<String>) {
        let frame = CloseFrame { code: code.into(), reason: fit_reason(reason.into()).into() };
        self.send(Message::Close(Some(frame)));
        self.closing = true;
    }

    fn due(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _, _)| *at)
    }
}

/// Serves one upgraded connection until it closes, the client leaves, a fault ends it, or
/// `stop` fires. `fault` is this connection's (see `MockConfig::fault_connections`);
/// `tap`, if any, sees every audio frame and reply.
pub(super) async fn drive<S, D>(
    mut ws: WebSocketStream<S>,
    mut session: D,
    delay: Duration,
    tap: Option<Arc<dyn Tap>>,
    fault: Option<Fault>,
    mut stop: Stop,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    D: Session,
{
    let opened = Instant::now();
    let tap = tap.as_deref();
    let mut out = Outbox::new(delay, opened);
    let idle_fault = match &fault {
        Some(Fault::IdleTimeout(window)) => Some(*window),
        _ => None,
    };
    let idle_window = idle_fault.or_else(|| session.idle_timeout());
    let mut last_heard = opened;
    let bytes_per_second = session.bytes_per_second();
    let mut bytes: u64 = 0;
    // Close, stall and drop fire once, at an audio position, a byte count or a time;
    // the other faults are the dialects' business.
    let trigger = fault.as_ref().and_then(Fault::trigger);
    let fire_at_bytes = trigger.and_then(|t| t.bytes(bytes_per_second));
    let fire_at = match trigger {
        Some(Trigger::Wall(after)) => Some(opened + after),
        _ => None,
    };
    session.open(&mut out);
    'serve: loop {
        // Replies already due go out before the next frame is read, with no timer in
        // between: a zero-delay mock answers each frame at once, however fast frames come.
        while out.due().is_some_and(|at| at <= Instant::now()) {
            match send_next(&mut ws, &mut out, tap).await {
                Sent::More => {}
                Sent::Closed => break 'serve,
                Sent::Gone => return,
            }
        }
        let mut fired = fire_at_bytes.is_some_and(|n| bytes >= n);
        if !fired {
            let due = out.due();
            let idle_at = idle_window.filter(|_| !out.closing).map(|w| last_heard + w);
            fired = tokio::select! {
                biased;
                () = stop.stopped() => {
                    let _ = ws.close(Some(CloseFrame { code: 1001.into(), reason: "server shutting down".into() })).await;
                    return;
                }
                _ = sleep_until(due.unwrap_or(opened)), if due.is_some() => {
                    match send_next(&mut ws, &mut out, tap).await {
                        Sent::More => false,
                        Sent::Closed => break,
                        Sent::Gone => return,
                    }
                }
                _ = sleep_until(fire_at.unwrap_or(opened)), if fire_at.is_some() => true,
                _ = sleep_until(idle_at.unwrap_or(opened)), if idle_at.is_some() => {
                    if let Some(window) = idle_fault {
                        tracing::info!("fault idle={window:?} fired: nothing received for {window:?}");
                    }
                    last_heard = Instant::now();
                    out.heard = last_heard;
                    session.idle(&mut out);
                    false
                }
                frame = ws.next(), if !out.closing => match frame {
                    Some(Ok(Message::Binary(data))) => {
                        last_heard = Instant::now();
                        out.heard = last_heard;
                        if let Some(tap) = tap {
                            tap.audio(data.len(), last_heard);
                        }
                        bytes += data.len() as u64;
                        session.binary(&data, &mut out);
                        false
                    }
                    Some(Ok(Message::Text(text))) => {
                        last_heard = Instant::now();
                        out.heard = last_heard;
                        session.text(&text, &mut out);
                        false
                    }
                    // Pings are answered by tungstenite; a client close is answered on the
                    // next poll, which then ends the stream.
                    Some(Ok(_)) => false,
                    Some(Err(_)) | None => return,
                },
            };
        }
        if !fired {
            continue;
        }
        // Every fault below ends the loop, so each fires at most once.
        let fault = fault.as_ref().expect("only a fault fires");
        let audio = audio_time(bytes, bytes_per_second);
        tracing::info!(
            "fault {fault} fired: {audio:?} of audio received ({bytes} bytes), {:.1?} after the handshake",
            opened.elapsed()
        );
        match fault {
            Fault::Close { code, reason, .. } => {
                let reason = if reason.is_empty() { session.close_reason(*code) } else { reason };
                let reason = fit_reason(reason.to_string());
                let frame = CloseFrame { code: (*code).into(), reason: reason.into() };
                // A fault closes now, ahead of any delayed results.
                let _ = ws.send(Message::Close(Some(frame))).await;
                break;
            }
            Fault::Stall(_) => {
                // Hold the socket without reading it until the server stops.
                stop.stopped().await;
                return;
            }
            // Dropping the stream closes the TCP connection with no close frame.
            _ => return,
        }
    }
    // Our close frame is out: wait, bounded, for the client's, or for shutdown.
    let client_close =
        timeout(CLOSE_HANDSHAKE, async { while let Some(Ok(_)) = ws.next().await {} });
    tokio::select! {
        _ = client_close => {}
        () = stop.stopped() => {}
    }
}

/// What became of the connection after [`send_next`].
enum Sent {
    /// A message went out; the session goes on.
    More,
    /// Our close frame went out.
    Closed,
    /// The client is gone.
    Gone,
}

/// Sends the first queued message and tells `tap` about a text reply.
async fn send_next<S>(ws: &mut WebSocketStream<S>, out: &mut Outbox, tap: Option<&dyn Tap>) -> Sent
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (_, heard, message) = out.queue.pop_front().expect("only called with a message queued");
    let is_close = message.is_close();
    let is_text = message.is_text();
    match ws.send(message).await {
        Err(_) => Sent::Gone,
        Ok(()) if is_close => Sent::Closed,
        Ok(()) => {
            if let (Some(tap), true) = (tap, is_text) {
                tap.replied(heard, Instant::now());
            }
            Sent::More
        }
    }
}

/// Feeds `frames` to `session` as [`drive`] would, with no socket, no delay and no timers
/// (no idle close, no faults by trigger), until the session queues its close; everything
/// it queued, in order.
pub(super) fn replay(
    mut session: impl Session,
    frames: impl IntoIterator<Item = Message>,
) -> Vec<Message> {
    let mut out = Outbox::new(Duration::ZERO, Instant::now());
    session.open(&mut out);
    for frame in frames {
        if out.closing {
            break;
        }
        match frame {
            Message::Binary(data) => session.binary(&data, &mut out),
            Message::Text(text) => session.text(&text, &mut out),
            _ => session.idle(&mut out),
        }
    }
    out.queue.into_iter().map(|(_, _, message)| message).collect()
}

/// The audio duration of `bytes` at `bytes_per_second`, to the microsecond.
pub(super) fn audio_time(bytes: u64, bytes_per_second: u64) -> Duration {
    let micros = u128::from(bytes) * 1_000_000 / u128::from(bytes_per_second.max(1));
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// `reason` cut at a character boundary to at most 123 bytes.
fn fit_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let cut = (0..=MAX).rev().find(|&i| reason.is_char_boundary(i)).unwrap_or(0);
        reason.truncate(cut);
    }
    reason
}

/// An id in UUID form, unique per server process: `00000000-0000-4000-8000-<n>`.
pub(super) fn next_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("00000000-0000-4000-8000-{:012x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Seconds since the Unix epoch, from the system clock.
pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The current time as `YYYY-MM-DDTHH:MM:SS.mmmZ`, the shape of Deepgram's `created`.
pub(super) fn rfc3339_now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_control_frame() {
        assert_eq!(fit_reason("short".into()), "short");
        let long = "é".repeat(100);
        let cut = fit_reason(long);
        assert!(cut.len() <= 123 && cut.chars().all(|c| c == 'é'), "{}", cut.len());
    }

    #[test]
    fn audio_time_is_bytes_over_the_rate() {
        assert_eq!(audio_time(64_000, 32_000), Duration::from_secs(2));
        assert_eq!(audio_time(16, 32_000), Duration::from_micros(500));
        assert_eq!(audio_time(5, 0), Duration::from_secs(5), "a zero rate cannot divide");
    }

    #[test]
    fn ids_are_unique_and_uuid_shaped() {
        let (a, b) = (next_id(), next_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
