//! Pacing: when each chunk is due ([`Schedule`]), and the [`Pacer`] that waits for it.
//!
//! Chunk k of a real-time run is due at `start + k × chunk`, plus every pause that
//! begins at or before it: absolute deadlines, so a chunk that goes out late never pushes
//! the next one back (no drift), and latency counts from the due time, so a stall shows in
//! every chunk it delayed (no coordinated omission, as wrk2 measures). An unpaced run
//! takes each chunk when the writer is free.
//!
//! The pacer is a trait so that a more punctual one can replace [`TokioPacer`], whose
//! timer wheel has millisecond resolution: a paced chunk leaves up to about a millisecond
//! after its due time, and that lateness is the `wake_lateness` stage. The library's
//! default stays on `tokio::time`, so tests pause and advance the clock; `sttbench
//! stream` paces with [`crate::pace::Pacer`], a timerfd within microseconds of the OS
//! timer floor.

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::config::Pause;

/// Waits until a deadline. The driver owns its pacer for the whole run and awaits every
/// wait to the end (it never drops one half-way, except when the run ends).
pub trait Pacer: Send + 'static {
    /// Returns at or after `deadline`, with the instant it woke: `woke − deadline` is the
    /// pacer's lateness. A deadline in the past returns at once.
    fn wait_until(&mut self, deadline: Instant) -> impl Future<Output = Instant> + Send;
}

/// The default pacer: `tokio::time::sleep_until`, millisecond resolution, and time that
/// tests can pause.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioPacer;

impl Pacer for TokioPacer {
    async fn wait_until(&mut self, deadline: Instant) -> Instant {
        sleep_until(deadline).await;
        Instant::now()
    }
}

/// The precise pacer (a timerfd on Linux, see [`crate::pace`]): what real-time runs from
/// the command line wait on. Real time only: under tokio's paused clock use
/// [`TokioPacer`].
impl Pacer for crate::pace::Pacer {
    fn wait_until(&mut self, deadline: Instant) -> impl Future<Output = Instant> + Send {
        crate::pace::Pacer::wait_until(self, deadline)
    }
}

/// When each chunk of a run is due. See the module doc.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    start: Instant,
    chunk: Duration,
    realtime: bool,
    /// `(chunk index, total pause before it)`, ascending, one entry per index.
    pauses: Vec<(u64, Duration)>,
}

impl Schedule {
    /// The schedule of a run that starts at `start` with `chunk`-long chunks.
    pub(crate) fn new(start: Instant, chunk: Duration, realtime: bool, pauses: &[Pause]) -> Self {
        let mut by_chunk: Vec<(u64, Duration)> = Vec::new();
        let mut sorted = pauses.to_vec();
        sorted.sort_by_key(|p| p.at);
        for pause in sorted {
            // The first chunk that begins at or after `at`.
            let k =
                u64::try_from(pause.at.as_nanos().div_ceil(chunk.as_nanos())).unwrap_or(u64::MAX);
            match by_chunk.last_mut() {
                Some((last, total)) if *last == k => *total += pause.length,
                _ => by_chunk.push((k, pause.length)),
            }
        }
        Schedule { start, chunk, realtime, pauses: by_chunk }
    }

    /// When the run started: chunk 0's due time without pauses.
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// Whether chunks are paced at their audio time.
    pub(crate) fn realtime(&self) -> bool {
        self.realtime
    }

    /// The pause that begins before chunk `k`, if one does.
    pub(crate) fn pause_before(&self, k: u64) -> Option<Duration> {
        self.pauses.iter().find(|(at, _)| *at == k).map(|(_, length)| *length)
    }

    /// Chunk `k`'s due time in a real-time run: its audio time after the start, plus the
    /// pauses before it.
    pub(crate) fn due(&self, k: u64) -> Instant {
        let audio = u128::from(k) * self.chunk.as_nanos();
        let paused: Duration =
            self.pauses.iter().take_while(|(at, _)| *at <= k).map(|(_, length)| *length).sum();
        let offset = Duration::from_nanos(u64::try_from(audio).unwrap_or(u64::MAX)) + paused;
        self.start.checked_add(offset).unwrap_or(self.start + Duration::from_secs(86_400 * 365))
    }
}

/// The pacer's wait, owning the pacer so the future can live across loop turns.
/// Unpaced (`None`), it yields once to the runtime instead.
pub(crate) async fn wake<P: Pacer>(mut pacer: P, deadline: Option<Instant>) -> (P, Instant) {
    match deadline {
        Some(deadline) => {
            let woke = pacer.wait_until(deadline).await;
            (pacer, woke)
        }
        None => {
            tokio::task::yield_now().await;
            (pacer, Instant::now())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn due_times_are_absolute_and_pauses_shift_what_follows() {
        let t0 = Instant::now();
        let pauses = [
            Pause { at: ms(100), length: ms(1_000) },
            // Not on a chunk boundary: before the chunk starting at 160 ms.
            Pause { at: ms(150), length: ms(500) },
            Pause { at: ms(160), length: ms(250) },
        ];
        let schedule = Schedule::new(t0, ms(20), true, &pauses);
        assert_eq!(schedule.due(0), t0);
        assert_eq!(schedule.due(4), t0 + ms(80));
        assert_eq!(schedule.due(5), t0 + ms(100) + ms(1_000), "the pause at 100 ms");
        assert_eq!(schedule.due(8), t0 + ms(160) + ms(1_750), "both pauses before 160 ms");
        assert_eq!(schedule.due(9), t0 + ms(180) + ms(1_750));
        assert_eq!(schedule.pause_before(5), Some(ms(1_000)));
        assert_eq!(schedule.pause_before(8), Some(ms(750)), "pauses at one chunk add up");
        assert_eq!(schedule.pause_before(7), None);
        assert!(schedule.due(u64::MAX) > t0, "no overflow panic");
    }

    #[tokio::test(start_paused = true)]
    async fn the_tokio_pacer_wakes_at_the_deadline_and_past_deadlines_return_at_once() {
        let mut pacer = TokioPacer;
        let due = Instant::now() + ms(20);
        assert_eq!(pacer.wait_until(due).await, due, "paused time wakes exactly");
        let past = Instant::now() - ms(5);
        assert_eq!(pacer.wait_until(past).await, Instant::now());
    }
}
