//! Interval logs of a run: each measure's histogram per interval, written with
//! [`HdrLogWriter`] so that logs from many processes or machines merge exactly
//! (`sttbench merge`).
//!
//! Tags: [`LATENESS`] (the pacer's wake lateness), `send_latency` and, against an
//! echoing peer, `round_trip`, all in nanoseconds, one line per tag and interval.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::metrics::LatencyHistogram;
use crate::metrics::interval_log::{HdrLogWriter, LATENESS};
use crate::stream::{ChunkTimes, Observer, Outcome, Received};

/// The tag of the send latency (due time to flushed).
pub const SEND_LATENCY: &str = "send_latency";
/// The tag of the round trip to an echoing peer.
pub const ROUND_TRIP: &str = "round_trip";

/// How long each interval of a log lasts: one second, as HdrHistogram's own tools log.
pub const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// One interval's histograms, one per tag.
#[derive(Debug, Clone, Default)]
pub(crate) struct Intervals {
    lateness: LatencyHistogram,
    send_latency: LatencyHistogram,
    round_trip: LatencyHistogram,
}

impl Intervals {
    pub(crate) fn chunk(&mut self, chunk: &ChunkTimes) {
        self.lateness.record(chunk.wake_lateness());
        self.send_latency.record(chunk.send_latency());
    }

    pub(crate) fn received(&mut self, received: &Received<'_>) {
        if let Some(chunk) = &received.echo_of {
            self.round_trip.record(received.at.saturating_duration_since(chunk.due));
        }
    }

    fn clear(&mut self) {
        self.lateness.clear();
        self.send_latency.clear();
        self.round_trip.clear();
    }
}

/// An interval log being written: the file, the run's start, and where the last interval
/// ended.
#[derive(Debug)]
pub struct IntervalLog {
    writer: HdrLogWriter<BufWriter<File>>,
    start: Instant,
    written_to: Duration,
    echoes: bool,
}

impl IntervalLog {
    /// Creates (or truncates) the log at `path` for a run starting now; `echoes`: whether
    /// the peer echoes, so that `round_trip` is logged.
    ///
    /// # Errors
    ///
    /// [`Error::File`](crate::Error::File) naming `path` when it cannot be written.
    pub fn create(path: &Path, echoes: bool) -> crate::Result<Self> {
        let start = Instant::now();
        let writer = HdrLogWriter::create(path, SystemTime::now())?;
        Ok(IntervalLog { writer, start, written_to: Duration::ZERO, echoes })
    }

    /// Writes `intervals` as the interval from the end of the last one to `now`, every
    /// tag even when empty (so every log holds every tag), and clears them.
    pub(crate) fn write(&mut self, intervals: &mut Intervals, now: Instant) -> crate::Result<()> {
        let end = now.saturating_duration_since(self.start).max(self.written_to);
        let span = self.written_to..end;
        self.writer.write(LATENESS, span.clone(), &intervals.lateness)?;
        self.writer.write(SEND_LATENCY, span.clone(), &intervals.send_latency)?;
        if self.echoes {
            self.writer.write(ROUND_TRIP, span, &intervals.round_trip)?;
        }
        self.written_to = end;
        intervals.clear();
        Ok(())
    }

    /// Where the next interval starts, as an instant.
    fn next_due(&self) -> Instant {
        self.start + self.written_to + LOG_INTERVAL
    }
}

/// Writes a single run's interval log as it goes: an [`Observer`] that records each
/// chunk and, once an interval has passed, writes it from the driver's task (a few tens
/// of microseconds a second); the last, partial interval when the run ends. A write
/// error is logged once and ends the logging, not the run.
#[derive(Debug)]
pub struct HdrLogObserver {
    log: Option<IntervalLog>,
    intervals: Intervals,
}

impl HdrLogObserver {
    /// Logs into `log`.
    pub fn new(log: IntervalLog) -> Self {
        HdrLogObserver { log: Some(log), intervals: Intervals::default() }
    }

    fn write(&mut self, now: Instant) {
        if let Some(log) = &mut self.log
            && let Err(e) = log.write(&mut self.intervals, now)
        {
            tracing::error!("the HdrHistogram log stops here: {e}");
            self.log = None;
        }
    }
}

impl Observer for HdrLogObserver {
    fn chunk(&mut self, chunk: &ChunkTimes) {
        self.intervals.chunk(chunk);
        if self.log.as_ref().is_some_and(|log| chunk.written >= log.next_due()) {
            self.write(chunk.written);
        }
    }

    fn received(&mut self, received: &Received<'_>) {
        self.intervals.received(received);
    }

    fn ended(&mut self, _outcome: &Outcome) {
        self.write(Instant::now());
    }
}
