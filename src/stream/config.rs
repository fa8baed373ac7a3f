//! How a run streams: one documented value, [`StreamConfig`], with its pacing, the bounded
//! queue between the pacer and the socket writer, the stall window, pauses and the
//! session's own settings. Nothing here does I/O.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::session::SessionConfig;

/// The unconfirmed audio a reconnecting run keeps for replay unless told otherwise: 60 s
/// (1.9 MB at 16 kHz mono s16le), longer than any provider leaves audio unfinalised while
/// speech goes on, so that only a server that never confirms anything can exceed it.
pub const REPLAY_LIMIT: Duration = Duration::from_secs(60);

/// When chunks go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// As fast as the socket takes them: chunk k is due when chunk k − 1 has been
    /// written. The driver yields to the runtime once per chunk, so a peer on the same
    /// runtime (a mock in a bench) answers as the audio arrives rather than after the
    /// last chunk. Measures the client's own cost.
    #[default]
    Unpaced,
    /// At their audio time, as a live microphone delivers them: chunk k is due at
    /// `start + k × chunk` (plus any pause before it), an absolute deadline, so a late
    /// chunk never pushes the next one back. What the real services require (AssemblyAI
    /// refuses faster than real time).
    RealTime,
}

/// What the driver does with a chunk that finds the queue to the socket writer full:
/// the writer cannot keep up (a slow link, a server that reads slowly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueuePolicy {
    /// The pacer waits for room before it takes the next chunk, as an app that buffers
    /// its microphone would. Nothing is lost; chunks come out late from their due times,
    /// and the time the full queue held them back counts in the `queue` stage, not in
    /// the pacer's `wake_lateness`.
    #[default]
    Wait,
    /// The chunk is dropped and counted (`chunks_dropped`), as an app that keeps latency
    /// bounded by discarding audio would. The server then hears a gap.
    Drop,
    /// The run ends with [`Ending::FellBehind`](super::Ending::FellBehind): the link
    /// cannot carry the audio in real time.
    Fail,
}

/// A pause in sending: at `at` of audio, stop for `length` of wall time, then go on with
/// the next chunk. Keep-alives continue meanwhile, so idle behaviour can be tested.
/// Spelled `LENGTH@AT` on the command line (`3s@5s`: 3 s at 5 s of audio).
///
/// A pause starts before the first chunk that begins at or after `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Audio time at which sending stops.
    pub at: Duration,
    /// Wall time without sending.
    pub length: Duration,
}

impl FromStr for Pause {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            |why: String| format!("{s:?} is not a pause ({why}); write LENGTH@AT, e.g. 3s@5s");
        let (length, at) = s.split_once('@').ok_or_else(|| bad("no @".into()))?;
        Ok(Pause {
            at: parse_duration(at).map_err(bad)?,
            length: parse_duration(length).map_err(bad)?,
        })
    }
}

/// Parses a duration the way every sttbench flag spells one: humantime's grammar
/// (`500ms`, `10s`, `1.5s`, `2m`, `1m30s`).
///
/// # Errors
///
/// A message naming the input and showing the accepted forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("{text:?} is not a duration ({e}); write e.g. 500ms, 10s, 1.5s or 1m30s")
    })
}

impl fmt::Display for Pause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}@{:?}", self.length, self.at)
    }
}

/// How a run streams. Build it from [`Default`] with the by-value setters.
///
/// ```
/// use std::time::Duration;
/// use sttbench::stream::{Pacing, QueuePolicy, StreamConfig};
/// let config = StreamConfig::default()
///     .pacing(Pacing::RealTime)
///     .queue(Duration::from_millis(500), QueuePolicy::Drop)
///     .stall_window(Some(Duration::from_secs(2)));
/// assert_eq!(config.get_pacing(), Pacing::RealTime);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamConfig {
    pub(crate) pacing: Pacing,
    pub(crate) queue_limit: Duration,
    pub(crate) when_full: QueuePolicy,
    pub(crate) stall_window: Option<Duration>,
    pub(crate) stop_timeout: Duration,
    pub(crate) pauses: Vec<Pause>,
    pub(crate) replay_limit: Duration,
    pub(crate) session: SessionConfig,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            pacing: Pacing::Unpaced,
            queue_limit: Duration::from_secs(2),
            when_full: QueuePolicy::Wait,
            stall_window: Some(Duration::from_secs(5)),
            stop_timeout: Duration::from_secs(2),
            pauses: Vec::new(),
            replay_limit: REPLAY_LIMIT,
            session: SessionConfig::default(),
        }
    }
}

impl StreamConfig {
    /// When chunks go out. Default [`Pacing::Unpaced`].
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// The queue between the pacer and the socket writer: how much audio may wait there
    /// (rounded up to whole chunks, at least one), and what happens to a chunk that finds
    /// it full. Default 2 s and [`QueuePolicy::Wait`]: long enough to ride out a hiccup of
    /// a healthy link, short enough that a link too slow for real time shows within
    /// seconds. The kernel's socket buffers hold more on top (megabytes on loopback).
    pub fn queue(mut self, limit: Duration, when_full: QueuePolicy) -> Self {
        self.queue_limit = limit;
        self.when_full = when_full;
        self
    }

    /// How long the server may go without reading or answering before the run ends as
    /// [`Ending::Stalled`](super::Ending::Stalled). Default 5 s; `None` never declares a
    /// stall (the close timeout still bounds the end).
    ///
    /// Two signs count: one write to the socket waiting this long (the server stopped
    /// reading and the buffers are full), or the server silent this long although it owes
    /// an answer (audio, a probe or our close went out since it last spoke). After half
    /// the window of silence the driver sends a WebSocket ping as a probe, which any live
    /// server answers even when it has nothing to transcribe, so silence in the audio is
    /// never taken for a stall. Probes do not count as activity for the keep-alive.
    pub fn stall_window(mut self, window: Option<Duration>) -> Self {
        self.stall_window = window;
        self
    }

    /// After a [`Control::stop`](super::Control::stop) (the first Ctrl-C), how long the
    /// graceful close may take before the connection is dropped. Default 2 s: a user who
    /// pressed Ctrl-C waits for the summary, not for a slow server.
    pub fn stop_timeout(mut self, limit: Duration) -> Self {
        self.stop_timeout = limit;
        self
    }

    /// Pauses in sending (see [`Pause`]). Default none.
    pub fn pauses(mut self, pauses: Vec<Pause>) -> Self {
        self.pauses = pauses;
        self
    }

    /// How much unconfirmed audio (audio time, the newest) a run keeps to send again after
    /// a reconnect. Default [`REPLAY_LIMIT`], 60 s. Only runs that reconnect
    /// ([`ReconnectPolicy::reconnects`](crate::session::ReconnectPolicy::reconnects) above
    /// 0) keep anything. Audio is confirmed by final results (see `replay.rs`); against a
    /// server that sends none, everything since the start is unconfirmed, so a drop
    /// later than this into the stream loses the oldest audio, counted in
    /// [`Outcome::audio_lost_bytes`](super::Outcome::audio_lost_bytes). Memory: 32 KB per
    /// second of 16 kHz mono, shared with the chunks already in flight (no copies).
    pub fn replay_limit(mut self, limit: Duration) -> Self {
        self.replay_limit = limit;
        self
    }

    /// The session's settings: connect and close timeouts, keep-alive, TLS. Default
    /// [`SessionConfig::default`].
    pub fn session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// The pacing.
    pub fn get_pacing(&self) -> Pacing {
        self.pacing
    }

    /// The session's settings.
    pub fn get_session(&self) -> &SessionConfig {
        &self.session
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_parse_with_humantime_and_print_back() {
        let pause: Pause = "3s@5s".parse().unwrap();
        assert_eq!(pause, Pause { at: Duration::from_secs(5), length: Duration::from_secs(3) });
        let pause: Pause = "1.5s @ 500ms".parse().unwrap();
        assert_eq!(pause.length, Duration::from_millis(1_500));
        assert_eq!(pause.at, Duration::from_millis(500));
        assert_eq!(pause.to_string(), "1.5s@500ms");
        for bad in ["3s", "3s@", "@5s", "soon@5s", "3s@-1s"] {
            let err = bad.parse::<Pause>().unwrap_err();
            assert!(err.contains("LENGTH@AT"), "{bad}: {err}");
        }
        assert_eq!(parse_duration(" 1m30s "), Ok(Duration::from_secs(90)));
        let err = parse_duration("soon").unwrap_err();
        assert!(err.contains("is not a duration") && err.contains("500ms"), "{err}");
    }
}
