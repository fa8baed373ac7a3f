//! The run recorder: latency distributions and counters of one run, or of many runs at
//! once, owned by the caller.
//!
//! The [`Recorder`] is an [`Observer`]: it turns each chunk's timestamps into the four
//! client stages (`wake_lateness`, `encode`, `queue`, `write`), the send latency (their
//! sum, from the due time) and, against an echoing peer, the round trip; every one in a
//! [`LatencyHistogram`]. It lives with the caller, not in the session, so that a session
//! stays small and one recorder can serve many streams: give each stream `&mut` access in
//! turn, or give each thread its own and [`merge`](Recorder::merge) them at the end
//! (histograms add exactly). Its memory (six histograms, about 1.2 MiB) is allocated once,
//! in [`Recorder::new`]; recording never allocates.

use tokio::time::Instant;

use super::observer::{ChunkTimes, Observer, Received};
use crate::metrics::{LatencyHistogram, LatencySummary, Throughput};

/// One of the client's stages, as issue figures name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// How late the pacer woke after the chunk was due ([`ChunkTimes::wake_lateness`]).
    WakeLateness,
    /// f32 → s16le ([`ChunkTimes::encode`]).
    Encode,
    /// Waiting for the socket writer ([`ChunkTimes::queue`]).
    Queue,
    /// The socket write and flush ([`ChunkTimes::write`]).
    Write,
}

impl Stage {
    /// Every stage, in the order a chunk passes them.
    pub const ALL: [Stage; 4] = [Stage::WakeLateness, Stage::Encode, Stage::Queue, Stage::Write];

    /// The name in JSON and logs: `wake_lateness`, `encode`, `queue`, `write`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::WakeLateness => "wake_lateness",
            Stage::Encode => "encode",
            Stage::Queue => "queue",
            Stage::Write => "write",
        }
    }

    fn of(self, chunk: &ChunkTimes) -> std::time::Duration {
        match self {
            Stage::WakeLateness => chunk.wake_lateness(),
            Stage::Encode => chunk.encode(),
            Stage::Queue => chunk.queue(),
            Stage::Write => chunk.write(),
        }
    }
}

/// The stages' summaries: the JSON's `stages` object, each with `count`, `p50_ns`,
/// `p95_ns`, `p99_ns`, `p99_9_ns` and `max_ns`. The four client stages and their sum per
/// chunk, `client_added`, are always there; `uplink`, `server` and `downlink` only where
/// the server's side was seen on the same clock (a mock in the same process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Stages {
    /// How late the pacer woke.
    pub wake_lateness: LatencySummary,
    /// Encoding.
    pub encode: LatencySummary,
    /// Waiting for the writer.
    pub queue: LatencySummary,
    /// Writing and flushing.
    pub write: LatencySummary,
    /// The client's latency: the four stages summed per chunk (its send latency).
    pub client_added: LatencySummary,
    /// Chunk written → read by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplink: Option<LatencySummary>,
    /// Read by the server → its reply written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<LatencySummary>,
    /// Reply written → read by the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downlink: Option<LatencySummary>,
}

/// Latencies and counters of one or more runs. See the module doc.
#[derive(Debug, Clone)]
pub struct Recorder {
    stages: [LatencyHistogram; 4],
    send_latency: LatencyHistogram,
    round_trip: LatencyHistogram,
    chunks_sent: u64,
    bytes_sent: u64,
    chunks_dropped: u64,
    chunks_echoed: u64,
    events: u64,
    first_due: Option<Instant>,
    last_written: Option<Instant>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Recorder {
            stages: std::array::from_fn(|_| LatencyHistogram::new()),
            send_latency: LatencyHistogram::new(),
            round_trip: LatencyHistogram::new(),
            chunks_sent: 0,
            bytes_sent: 0,
            chunks_dropped: 0,
            chunks_echoed: 0,
            events: 0,
            first_due: None,
            last_written: None,
        }
    }

    /// Adds everything `other` recorded to this recorder.
    pub fn merge(&mut self, other: &Recorder) {
        for (mine, theirs) in self.stages.iter_mut().zip(&other.stages) {
            mine.merge(theirs);
        }
        self.send_latency.merge(&other.send_latency);
        self.round_trip.merge(&other.round_trip);
        self.chunks_sent += other.chunks_sent;
        self.bytes_sent += other.bytes_sent;
        self.chunks_dropped += other.chunks_dropped;
        self.chunks_echoed += other.chunks_echoed;
        self.events += other.events;
        self.first_due = earliest(self.first_due, other.first_due);
        self.last_written = self.last_written.max(other.last_written);
    }

    /// One stage's distribution.
    pub fn stage(&self, stage: Stage) -> &LatencyHistogram {
        &self.stages[stage as usize]
    }

    /// The four stages' summaries.
    pub fn stages(&self) -> Stages {
        let summary = |stage: Stage| self.stage(stage).summary();
        Stages {
            wake_lateness: summary(Stage::WakeLateness),
            encode: summary(Stage::Encode),
            queue: summary(Stage::Queue),
            write: summary(Stage::Write),
            client_added: self.send_latency.summary(),
            uplink: None,
            server: None,
            downlink: None,
        }
    }

    /// From each chunk's due time to its frame flushed: the sum of the stages.
    pub fn send_latency(&self) -> &LatencyHistogram {
        &self.send_latency
    }

    /// From each chunk's due time to its echo arriving (echoing peers only).
    pub fn round_trip(&self) -> &LatencyHistogram {
        &self.round_trip
    }

    /// Chunks written.
    pub fn chunks_sent(&self) -> u64 {
        self.chunks_sent
    }

    /// Payload bytes written.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// Chunks dropped by a full queue.
    pub fn chunks_dropped(&self) -> u64 {
        self.chunks_dropped
    }

    /// Echoes paired with their chunk.
    pub fn chunks_echoed(&self) -> u64 {
        self.chunks_echoed
    }

    /// Events received, of any kind.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Bytes and chunks written, from the first chunk's due time to the last one written.
    pub fn throughput(&self) -> Throughput {
        let elapsed = match (self.first_due, self.last_written) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => std::time::Duration::ZERO,
        };
        Throughput::new(self.bytes_sent, self.chunks_sent, elapsed)
    }
}

impl Observer for Recorder {
    fn chunk(&mut self, chunk: &ChunkTimes) {
        for stage in Stage::ALL {
            self.stages[stage as usize].record(stage.of(chunk));
        }
        self.send_latency.record(chunk.send_latency());
        self.chunks_sent += 1;
        self.bytes_sent += chunk.bytes as u64;
        self.first_due = earliest(self.first_due, Some(chunk.due));
        self.last_written = self.last_written.max(Some(chunk.written));
    }

    fn dropped(&mut self, _seq: u64, _at: Instant) {
        self.chunks_dropped += 1;
    }

    fn received(&mut self, received: &Received<'_>) {
        self.events += 1;
        if let Some(chunk) = &received.echo_of {
            self.chunks_echoed += 1;
            self.round_trip.record(received.at.saturating_duration_since(chunk.due));
        }
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::provider::Event;

    fn chunk(t0: Instant, seq: u64, late_us: u64) -> ChunkTimes {
        let us = Duration::from_micros;
        let due = t0 + Duration::from_millis(20 * seq);
        ChunkTimes {
            seq,
            audio_start: Duration::from_millis(20 * seq),
            audio_end: Duration::from_millis(20 * seq + 20),
            bytes: 640,
            due,
            released: due,
            woke: due + us(late_us),
            encoded: due + us(late_us + 1),
            dequeued: due + us(late_us + 1),
            written: due + us(late_us + 11),
        }
    }

    #[test]
    fn stages_round_trips_and_counters_are_recorded_and_merge_exactly() {
        let t0 = Instant::now();
        let (mut a, mut b) = (Recorder::new(), Recorder::new());
        for seq in 0..10 {
            a.chunk(&chunk(t0, seq, 1_000));
        }
        let echo = Event::Echo(bytes::Bytes::new());
        let first = chunk(t0, 0, 1_000);
        let at = first.due + Duration::from_millis(3);
        a.received(&Received { event: &echo, at, echo_of: Some(first) });
        a.received(&Received { event: &echo, at, echo_of: None });
        b.chunk(&chunk(t0, 10, 5_000));
        b.dropped(11, t0);

        let near = |d: Duration, want: Duration| d.abs_diff(want) <= want / 1_000;
        let stages = a.stages();
        assert!(near(stages.wake_lateness.p50, Duration::from_micros(1_000)), "{stages:?}");
        assert!(near(stages.write.max, Duration::from_micros(10)), "{stages:?}");
        assert_eq!(stages.queue.count, 10);
        assert_eq!(stages.client_added, a.send_latency().summary(), "the stages' sum");
        assert!(near(stages.client_added.p50, Duration::from_micros(1_011)), "{stages:?}");
        assert!(near(a.round_trip().quantile(0.5), Duration::from_millis(3)));
        assert_eq!((a.chunks_echoed(), a.events()), (1, 2));

        a.merge(&b);
        assert_eq!((a.chunks_sent(), a.bytes_sent(), a.chunks_dropped()), (11, 11 * 640, 1));
        assert!(near(a.stages().wake_lateness.max, Duration::from_micros(5_000)));
        assert_eq!(a.send_latency().len(), 11);
        let throughput = a.throughput();
        assert_eq!(throughput.elapsed, Duration::from_millis(200) + Duration::from_micros(5_011));
    }
}
