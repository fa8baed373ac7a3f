//! Per-session counters and latency histograms, shared by a session's sending and
//! receiving halves.
//!
//! The sender records each chunk when it has been flushed; the receiver pairs echoes
//! with sends (only for dialects that echo) to record round trips. Both measure from
//! the chunk's *scheduled* time, so a paced stream that falls behind shows it in its
//! latencies instead of hiding it (no coordinated omission).
//!
//! The histograms are [`CompactLatencyHistogram`]s (2 significant digits, 1 % error,
//! about 15 KiB each) so that a session stays under 64 KiB of heap and one process can
//! run thousands; the stream driver's [`Recorder`](crate::stream::Recorder), outside the
//! session, keeps the 3-digit distributions. Their memory is allocated once, when the
//! session opens; recording never allocates, and the in-flight queue grows only to the
//! most chunks ever awaiting an echo at once, so the send path stays at zero allocations
//! per chunk in the steady state. Nothing here does I/O.

use std::collections::VecDeque;

use tokio::time::Instant;

use crate::metrics::{CompactLatencyHistogram, Report, Throughput};

/// Most chunks remembered while waiting for their echo. Past this, the oldest is
/// forgotten and counted as lost: a peer that stopped echoing must not grow memory.
/// 4,096 chunks is 82 s of 20 ms audio in flight, far beyond any healthy round trip.
pub(crate) const MAX_IN_FLIGHT: usize = 4_096;

/// Chunks an echoing session makes room for at the open: a healthy link has one or two
/// awaiting their echo.
const IN_FLIGHT_START: usize = 8;

/// What a session has done so far. Lives behind a `std::sync::Mutex` that is held only
/// for the few nanoseconds of an update, never across an `.await`.
#[derive(Debug)]
pub(crate) struct Stats {
    chunks_sent: u64,
    bytes_sent: u64,
    chunks_echoed: u64,
    /// Chunks forgotten because more than [`MAX_IN_FLIGHT`] awaited their echo.
    forgotten: u64,
    send_latency: CompactLatencyHistogram,
    round_trip: CompactLatencyHistogram,
    /// Scheduled times of chunks sent and not yet echoed, oldest first.
    in_flight: VecDeque<Instant>,
    first_send: Option<Instant>,
    last_send: Option<Instant>,
    /// Last time anything (audio, text, keep-alive) was sent: when the connection last
    /// showed the peer it is alive.
    last_activity: Instant,
    /// Last time any frame (data, control, pong) arrived: when the peer last showed it is
    /// alive. Starts at the open.
    last_heard: Instant,
}

impl Stats {
    pub(crate) fn new(echoes: bool) -> Self {
        Stats {
            chunks_sent: 0,
            bytes_sent: 0,
            chunks_echoed: 0,
            forgotten: 0,
            send_latency: CompactLatencyHistogram::new(),
            round_trip: CompactLatencyHistogram::new(),
            // Grows with the most chunks ever awaiting their echo at once (a few on a
            // healthy link), up to MAX_IN_FLIGHT: reserving all 64 KiB up front would
            // double a session's heap.
            in_flight: VecDeque::with_capacity(if echoes { IN_FLIGHT_START } else { 0 }),
            first_send: None,
            last_send: None,
            last_activity: Instant::now(),
            last_heard: Instant::now(),
        }
    }

    /// Remembers a chunk scheduled at `scheduled` as awaiting its echo. Called before
    /// the chunk is written, so that an echo can never arrive before its send is known.
    pub(crate) fn expect_echo(&mut self, scheduled: Instant) {
        if self.in_flight.len() == MAX_IN_FLIGHT {
            self.in_flight.pop_front();
            self.forgotten += 1;
        }
        self.in_flight.push_back(scheduled);
    }

    /// Undoes [`expect_echo`](Self::expect_echo) for a chunk whose send failed.
    pub(crate) fn cancel_echo(&mut self) {
        self.in_flight.pop_back();
    }

    /// Records a chunk of `bytes` scheduled at `scheduled` and flushed at `flushed`.
    pub(crate) fn sent(&mut self, bytes: usize, scheduled: Instant, flushed: Instant) {
        self.chunks_sent += 1;
        self.bytes_sent += bytes as u64;
        self.send_latency.record(flushed.saturating_duration_since(scheduled));
        self.first_send.get_or_insert(scheduled);
        self.last_send = Some(flushed);
        self.last_activity = flushed;
    }

    /// Notes that something other than audio (text, keep-alive) went out at `at`.
    pub(crate) fn touched(&mut self, at: Instant) {
        self.last_activity = at;
    }

    pub(crate) fn last_activity(&self) -> Instant {
        self.last_activity
    }

    /// Notes that a frame of any kind arrived at `at`.
    pub(crate) fn heard(&mut self, at: Instant) {
        self.last_heard = at;
    }

    pub(crate) fn last_heard(&self) -> Instant {
        self.last_heard
    }

    /// Pairs an echo received at `at` with the oldest chunk awaiting one.
    pub(crate) fn echoed(&mut self, at: Instant) {
        if let Some(scheduled) = self.in_flight.pop_front() {
            self.chunks_echoed += 1;
            self.round_trip.record(at.saturating_duration_since(scheduled));
        }
    }

    /// The numbers so far. `chunks_lost` counts chunks sent and not (yet) echoed, so it
    /// is final only once the session has closed; it is 0 for dialects that do not echo.
    pub(crate) fn report(&self, echoes: bool) -> Report {
        let elapsed = match (self.first_send, self.last_send) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => std::time::Duration::ZERO,
        };
        Report {
            chunks_sent: self.chunks_sent,
            bytes_sent: self.bytes_sent,
            chunks_echoed: self.chunks_echoed,
            chunks_lost: if echoes { self.in_flight.len() as u64 + self.forgotten } else { 0 },
            send_latency: self.send_latency.summary(),
            round_trip: self.round_trip.summary(),
            throughput: Throughput::new(self.bytes_sent, self.chunks_sent, elapsed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn echoes_pair_with_sends_in_order_and_measure_from_the_schedule() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut stats = Stats::new(true);
        stats.expect_echo(t0);
        stats.sent(640, t0, t0 + ms(1));
        stats.expect_echo(t0 + ms(20));
        stats.sent(640, t0 + ms(20), t0 + ms(25));
        stats.echoed(t0 + ms(30));
        let r = stats.report(true);
        assert_eq!((r.chunks_sent, r.bytes_sent, r.chunks_echoed, r.chunks_lost), (2, 1280, 1, 1));
        // Within the compact histogram's 1 %: 30 ms is the first chunk's, 10 ms the
        // second's.
        let near = |d: Duration, want: Duration| d.abs_diff(want) <= want / 100;
        assert!(near(r.round_trip.p50, ms(30)), "the first echo pairs with the first send");
        assert!(near(r.send_latency.max, ms(5)), "latency counts from the schedule");
        assert_eq!(r.throughput.elapsed, ms(25));
    }

    #[test]
    fn in_flight_memory_is_bounded() {
        let t0 = Instant::now();
        let mut stats = Stats::new(true);
        for _ in 0..MAX_IN_FLIGHT + 10 {
            stats.expect_echo(t0);
            stats.sent(1, t0, t0);
        }
        assert_eq!(stats.in_flight.len(), MAX_IN_FLIGHT);
        assert_eq!(stats.report(true).chunks_lost, MAX_IN_FLIGHT as u64 + 10);
        stats.cancel_echo();
        stats.echoed(t0);
        assert_eq!(stats.report(false).chunks_lost, 0, "non-echo dialects lose nothing");
    }
}
