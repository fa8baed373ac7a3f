//! What every stream of a load run tells the shared aggregate, and the aggregate itself.
//!
//! Each stream's observer ([`StreamWatch`]) keeps only what is its own (two counters for
//! its real-time verdict, the provider timeline); every latency goes into one shared
//! [`Recorder`] behind a mutex held for the few hundred nanoseconds of a record, so a
//! stream costs no histogram of its own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::hdr::Intervals;
use crate::metrics::LatencyHistogram;
use crate::pipeline::Timeline;
use crate::stream::{ChunkTimes, Observer, Outcome, Received, Recorder};

/// Everything the streams of one run recorded together.
#[derive(Debug, Default)]
pub(crate) struct Aggregate {
    pub(crate) recorder: Recorder,
    /// The current interval of the HdrHistogram log, when one is written.
    pub(crate) intervals: Option<Intervals>,
    pub(crate) first_partial: LatencyHistogram,
    pub(crate) final_lag: LatencyHistogram,
    pub(crate) started: usize,
    pub(crate) ended: usize,
    pub(crate) realtime: usize,
    pub(crate) completed: usize,
    /// How many streams ended each way, by [`Ending::label`](crate::stream::Ending::label).
    pub(crate) endings: BTreeMap<&'static str, usize>,
    /// The worst stream's p99 wake lateness, as a multiple of a chunk (within the
    /// resolution of its count: the fraction of chunks later than one chunk).
    pub(crate) late_fraction_max: f64,
}

/// Locks the aggregate; a stream that panicked while holding it leaves numbers that are
/// still counts, so poisoning is ignored.
pub(crate) fn lock(shared: &Mutex<Aggregate>) -> MutexGuard<'_, Aggregate> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One stream's observer. See the module doc.
#[derive(Debug)]
pub(crate) struct StreamWatch {
    shared: Arc<Mutex<Aggregate>>,
    chunk: Duration,
    chunks: u64,
    /// Chunks whose pacer woke more than one chunk late.
    late: u64,
    timeline: Option<Timeline>,
}

impl StreamWatch {
    pub(crate) fn new(
        shared: Arc<Mutex<Aggregate>>,
        chunk: Duration,
        timeline: Option<Timeline>,
    ) -> Self {
        StreamWatch { shared, chunk, chunks: 0, late: 0, timeline }
    }

    /// The stream kept real time: it sent, and at most 1 % of its chunks (its p99) woke
    /// more than one chunk late.
    fn kept_real_time(&self) -> bool {
        self.chunks > 0 && self.late * 100 <= self.chunks
    }
}

impl Observer for StreamWatch {
    fn started(&mut self, start: &crate::stream::Start) {
        self.timeline.started(start);
        lock(&self.shared).started += 1;
    }

    fn chunk(&mut self, chunk: &ChunkTimes) {
        self.chunks += 1;
        if chunk.wake_lateness() > self.chunk {
            self.late += 1;
        }
        self.timeline.chunk(chunk);
        let mut shared = lock(&self.shared);
        shared.recorder.chunk(chunk);
        if let Some(intervals) = &mut shared.intervals {
            intervals.chunk(chunk);
        }
    }

    fn dropped(&mut self, seq: u64, at: Instant) {
        lock(&self.shared).recorder.dropped(seq, at);
    }

    fn received(&mut self, received: &Received<'_>) {
        self.timeline.received(received);
        let mut shared = lock(&self.shared);
        shared.recorder.received(received);
        if let Some(intervals) = &mut shared.intervals {
            intervals.received(received);
        }
    }

    fn ended(&mut self, outcome: &Outcome) {
        self.timeline.ended(outcome);
        let report = self.timeline.as_ref().map(Timeline::report);
        let held = self.kept_real_time();
        let late_fraction =
            if self.chunks == 0 { 1.0 } else { self.late as f64 / self.chunks as f64 };
        let mut shared = lock(&self.shared);
        shared.ended += 1;
        shared.realtime += usize::from(held);
        shared.completed += usize::from(outcome.ending.is_completed());
        *shared.endings.entry(outcome.ending.label()).or_default() += 1;
        shared.late_fraction_max = shared.late_fraction_max.max(late_fraction);
        if let Some(report) = report {
            if let Some(first) = report.first_partial {
                shared.first_partial.record(first);
            }
            for lag in report.final_latencies {
                shared.final_lag.record(lag);
            }
        }
    }
}
