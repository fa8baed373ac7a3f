//! Where a run's time went beyond the client, and whether the link kept up.
//!
//! [`Transit`] is an observer of the driver that keeps, per chunk, when it was due and
//! when it was written, and per text reply when it arrived. Given a [`ServerClock`] (the
//! tap of a mock in the same process, on the same `tokio::time` clock) it splits the rest
//! of the wait into three stages:
//!
//! - **uplink**: chunk written by the client → its frame read by the server (the proxy,
//!   if there is one, and the sockets' buffers in between);
//! - **server**: what a reply answers read → the reply written (the processing delay);
//! - **downlink**: reply written → the client read it.
//!
//! Frames are matched by order: the k-th audio frame the server read is the k-th chunk
//! written, the j-th text reply it wrote is the j-th event the client read from a text
//! frame (a measured run has one connection, and WebSocket keeps order). Without a clock
//! (a real provider) the three stages are absent.
//!
//! It also says how far behind real time the audio fell ([`Behind`]): for each chunk of a
//! real-time run, how long after its audio time it reached the server (read by the mock,
//! or, without a clock, written by the client, which a socket's buffers can hide for a
//! while), sampled per second of audio.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::metrics::{LatencyHistogram, LatencySummary, as_nanos};
use crate::provider::Event;
use crate::server::mock::Tap;
use crate::stream::{ChunkTimes, Observer, Outcome, Received, Start};

/// How much more behind real time the last chunk was than the least-behind one before
/// the run counts as an uplink too slow for real time. Latency and jitter shift every
/// chunk alike; only a link that cannot carry the audio makes the gap grow, and half a
/// second is far beyond the jitter of any preset link.
pub const TOO_SLOW_GROWTH: Duration = Duration::from_millis(500);

/// A mock's side of the clock: when each audio frame arrived and each reply left.
/// Give it to [`MockConfig::tap`](crate::server::mock::MockConfig::tap) and to
/// [`Transit::new`].
#[derive(Debug, Default)]
pub struct ServerClock {
    log: Mutex<ServerLog>,
}

#[derive(Debug, Default, Clone)]
struct ServerLog {
    audio: Vec<Instant>,
    /// `(heard, sent)` per text reply.
    replies: Vec<(Instant, Instant)>,
}

impl ServerClock {
    /// An empty clock, shareable with the mock.
    pub fn new() -> Arc<ServerClock> {
        Arc::new(ServerClock::default())
    }

    fn snapshot(&self) -> ServerLog {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Tap for ServerClock {
    fn audio(&self, _bytes: usize, at: Instant) {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).audio.push(at);
    }

    fn replied(&self, heard: Instant, sent: Instant) {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).replies.push((heard, sent));
    }
}

/// The three stages past the client, each with `count`, `p50_ns` … `max_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NetworkStages {
    /// Chunk written → read by the server.
    pub uplink: LatencySummary,
    /// Read by the server → its reply written.
    pub server: LatencySummary,
    /// Reply written → read by the client.
    pub downlink: LatencySummary,
}

/// How far behind real time the audio fell. See the module doc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Behind {
    /// Where the chunks were seen: `server` (read by the mock) or `client` (written).
    pub seen_at: &'static str,
    /// The most any chunk was behind.
    #[serde(rename = "max_ns", serialize_with = "as_nanos")]
    pub max: Duration,
    /// How far behind the last chunk was.
    #[serde(rename = "final_ns", serialize_with = "as_nanos")]
    pub last: Duration,
    /// The most any chunk was behind in each second of audio, from the start.
    #[serde(rename = "per_second_ns")]
    pub per_second: Vec<u64>,
    /// The gap grew by [`TOO_SLOW_GROWTH`] or more, or chunks were dropped or the queue
    /// overflowed: the uplink could not carry the audio in real time.
    pub uplink_too_slow: bool,
}

/// The observer. See the module doc.
#[derive(Debug, Default)]
pub struct Transit {
    clock: Option<Arc<ServerClock>>,
    start: Option<Instant>,
    /// `(audio start, due, written)` per chunk written, in order.
    chunks: Vec<(Duration, Instant, Instant)>,
    /// Arrival of each event read from a text frame.
    replies: Vec<Instant>,
    realtime: bool,
    gave_up: bool,
}

impl Transit {
    /// A transit observer; with `clock`, the server's side of the same run.
    pub fn new(clock: Option<Arc<ServerClock>>) -> Self {
        Transit { clock, ..Self::default() }
    }

    /// Uplink, server and downlink, when there is a server clock and it saw the run.
    pub fn stages(&self) -> Option<NetworkStages> {
        let log = self.clock.as_ref()?.snapshot();
        if log.audio.is_empty() && log.replies.is_empty() {
            return None;
        }
        let (mut up, mut server, mut down) =
            (LatencyHistogram::new(), LatencyHistogram::new(), LatencyHistogram::new());
        for (&(_, _, written), &read) in self.chunks.iter().zip(&log.audio) {
            up.record(read.saturating_duration_since(written));
        }
        for (&(heard, sent), &arrived) in log.replies.iter().zip(&self.replies) {
            server.record(sent.saturating_duration_since(heard));
            down.record(arrived.saturating_duration_since(sent));
        }
        Some(NetworkStages {
            uplink: up.summary(),
            server: server.summary(),
            downlink: down.summary(),
        })
    }

    /// How far behind real time the audio fell; `None` for an unpaced run or one that
    /// sent nothing.
    pub fn behind(&self) -> Option<Behind> {
        self.start.filter(|_| self.realtime)?;
        let log = self.clock.as_ref().map(|clock| clock.snapshot());
        let server = log.as_ref().filter(|log| !log.audio.is_empty());
        let seen: Vec<(Duration, Duration)> = match server {
            Some(log) => self
                .chunks
                .iter()
                .zip(&log.audio)
                .map(|(&(audio, due, _), &read)| (audio, read.saturating_duration_since(due)))
                .collect(),
            None => self
                .chunks
                .iter()
                .map(|&(audio, due, written)| (audio, written.saturating_duration_since(due)))
                .collect(),
        };
        let &(_, last) = seen.last()?;
        let max = seen.iter().map(|&(_, late)| late).max().unwrap_or_default();
        let least = seen.iter().map(|&(_, late)| late).min().unwrap_or_default();
        let mut per_second: Vec<u64> = Vec::new();
        for &(audio, late) in &seen {
            let second = usize::try_from(audio.as_secs()).unwrap_or(usize::MAX);
            if per_second.len() <= second {
                per_second.resize(second + 1, 0);
            }
            let nanos = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
            per_second[second] = per_second[second].max(nanos);
        }
        Some(Behind {
            seen_at: if server.is_some() { "server" } else { "client" },
            max,
            last,
            per_second,
            uplink_too_slow: self.gave_up || last.saturating_sub(least) >= TOO_SLOW_GROWTH,
        })
    }
}

impl Observer for Transit {
    fn started(&mut self, start: &Start) {
        self.start = Some(start.at);
    }

    fn chunk(&mut self, chunk: &ChunkTimes) {
        self.chunks.push((chunk.audio_start, chunk.due, chunk.written));
    }

    fn dropped(&mut self, _seq: u64, _at: Instant) {
        self.gave_up = true;
    }

    fn received(&mut self, received: &Received<'_>) {
        if !matches!(received.event, Event::Closed { .. } | Event::Echo(_)) {
            self.replies.push(received.at);
        }
    }

    fn ended(&mut self, outcome: &Outcome) {
        self.realtime = outcome.realtime;
        if matches!(outcome.ending, crate::stream::Ending::FellBehind { .. }) {
            self.gave_up = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A transit that saw `n` chunks of 100 ms, due every 100 ms from `t0` and written 1
    /// ms late, with the server reading each `up(k)` after it was written.
    fn run(t0: Instant, n: u64, up: impl Fn(u64) -> Duration) -> (Transit, Arc<ServerClock>) {
        let clock = ServerClock::new();
        let mut transit = Transit::new(Some(clock.clone()));
        transit.start = Some(t0);
        transit.realtime = true;
        for k in 0..n {
            let due = t0 + ms(100 * k);
            let written = due + ms(1);
            transit.chunks.push((ms(100 * k), due, written));
            clock.audio(3_200, written + up(k));
        }
        (transit, clock)
    }

    #[test]
    fn stages_split_uplink_server_and_downlink_by_order() {
        let t0 = Instant::now();
        let (mut transit, clock) = run(t0, 10, |_| ms(20));
        for j in 0..4 {
            let heard = t0 + ms(100 * j + 21);
            let sent = heard + ms(250);
            clock.replied(heard, sent);
            transit.replies.push(sent + ms(30));
        }
        let stages = transit.stages().unwrap();
        assert_eq!((stages.uplink.count, stages.server.count), (10, 4));
        let near = |d: Duration, want: Duration| d.abs_diff(want) <= want / 500;
        assert!(near(stages.uplink.p50, ms(20)), "{stages:?}");
        assert!(near(stages.server.max, ms(250)), "{stages:?}");
        assert!(near(stages.downlink.p99, ms(30)), "{stages:?}");
        assert_eq!(Transit::new(None).stages(), None, "no clock, no stages");
    }

    #[test]
    fn a_link_that_keeps_up_is_behind_by_its_latency_only() {
        let (transit, _clock) = run(Instant::now(), 30, |_| ms(200));
        let behind = transit.behind().unwrap();
        assert_eq!((behind.seen_at, behind.max, behind.last), ("server", ms(201), ms(201)));
        assert_eq!(behind.per_second.len(), 3);
        assert!(!behind.uplink_too_slow);
    }

    #[test]
    fn a_growing_gap_says_the_uplink_was_too_slow() {
        // Each chunk reaches the server 25 ms later than the one before.
        let (transit, _clock) = run(Instant::now(), 30, |k| ms(25 * k));
        let behind = transit.behind().unwrap();
        assert_eq!(behind.last, ms(25 * 29 + 1));
        assert_eq!(behind.per_second[0], 1_000_000 + 25 * 9 * 1_000_000);
        assert!(behind.uplink_too_slow);
    }

    #[test]
    fn unpaced_runs_have_no_backlog_and_without_a_clock_the_client_counts() {
        let (mut transit, _clock) = run(Instant::now(), 3, |_| ms(1));
        transit.realtime = false;
        assert_eq!(transit.behind(), None);
        transit.realtime = true;
        transit.clock = None;
        let behind = transit.behind().unwrap();
        assert_eq!((behind.seen_at, behind.last), ("client", ms(1)));
        transit.gave_up = true;
        assert!(transit.behind().unwrap().uplink_too_slow, "a dropped chunk is too slow");
    }
}
