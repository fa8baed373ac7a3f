//! Runs of wakes at absolute deadlines, and how late each came: the OS timer floor
//! ([`timer_floor`]) and any [`Pacer`] ([`paced`]), recorded the same way ([`Wakes`]).
//!
//! Both wake at the deadlines of a [`Schedule`], `first + k × period`, and measure each
//! lateness from its deadline on the same clock ([`std::time::Instant`]), so a late
//! wake counts in full and never moves the next deadline.

use std::ops::Range;
use std::time::{Duration, Instant};

use super::Pacer;
use crate::metrics::LatencyHistogram;

/// When a run's wakes are due: `first + k × period` for k from 0 to `count − 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The first deadline.
    pub first: Instant,
    /// Time between deadlines.
    pub period: Duration,
    /// How many deadlines.
    pub count: u32,
}

impl Schedule {
    /// `count` deadlines `period` apart, the first one `period` from now.
    pub fn from_now(period: Duration, count: u32) -> Schedule {
        Schedule { first: Instant::now() + period, period, count }
    }

    /// Deadline `k`, counted from 0.
    pub fn deadline(&self, k: u32) -> Instant {
        self.first + self.period * k
    }

    /// Deadlines `range` of this schedule, as a schedule of their own.
    pub(super) fn part(&self, range: Range<u32>) -> Schedule {
        let count = range.end.min(self.count).saturating_sub(range.start);
        Schedule { first: self.deadline(range.start), period: self.period, count }
    }
}

/// How punctually a run of wakes came: lateness, early wakes, CPU and wall time.
#[derive(Debug, Clone, Default)]
pub struct Wakes {
    /// From each deadline to the moment the waiter ran again.
    pub lateness: LatencyHistogram,
    /// Wakes before their deadline, not in [`lateness`](Self::lateness): always 0 for
    /// the floor and [`Pacer`]; anything else is a bug worth reporting.
    pub early: u64,
    /// CPU time the waiting threads used during the run, when it was measured
    /// ([`timer_floor`] and [`SideBySide`](super::SideBySide) do; [`paced`] cannot
    /// know which threads its task ran on).
    pub cpu: Option<Duration>,
    /// Wall-clock time of the run, from its start to its last wake.
    pub wall: Duration,
}

impl Wakes {
    /// Wakes recorded, early ones included.
    pub fn count(&self) -> u64 {
        self.lateness.len() + self.early
    }

    /// CPU time per wake; `None` off Linux or with no wakes.
    pub fn cpu_per_wake(&self) -> Option<Duration> {
        let wakes = u32::try_from(self.count()).ok().filter(|&n| n > 0)?;
        Some(self.cpu? / wakes)
    }

    /// A 95 % confidence interval for the `q`-quantile (0.0–1.0) of the lateness, free of
    /// any assumption about its distribution: the order statistics at ranks
    /// `nq ± 1.96 √(nq(1 − q))` (the binomial's normal approximation), clamped to the
    /// samples. Zeros when nothing was recorded.
    ///
    /// It assumes wakes independent of each other, which a host that alternates busy and
    /// quiet spells is not quite: compare methods measured at the same time, as
    /// [`SideBySide`](super::SideBySide) does, so the spells fall on all of them.
    pub fn lateness_interval(&self, q: f64) -> [Duration; 2] {
        let n = self.lateness.len() as f64;
        if n == 0.0 {
            return [Duration::ZERO; 2];
        }
        let q = q.clamp(0.0, 1.0);
        let half_width = 1.96 * (n * q * (1.0 - q)).sqrt();
        let at_rank = |rank: f64| self.lateness.quantile((rank / n).clamp(0.0, 1.0));
        [at_rank((n * q - half_width).floor()), at_rank((n * q + half_width).ceil())]
    }

    /// Adds another run's wakes, CPU and wall time to this one.
    pub fn merge(&mut self, other: &Wakes) {
        // An empty record has no CPU figure yet: it takes the other's as it is.
        self.cpu = if self.count() == 0 {
            other.cpu
        } else {
            Option::zip(self.cpu, other.cpu).map(|(a, b)| a + b)
        };
        self.lateness.merge(&other.lateness);
        self.early += other.early;
        self.wall += other.wall;
    }

    /// Records a wake `late` after its deadline, or early when `None`.
    fn record(&mut self, late: Option<Duration>) {
        match late {
            Some(late) => self.lateness.record(late),
            None => self.early += 1,
        }
    }
}

/// The OS timer floor: a new thread whose timer slack is 1 ns sleeps to each deadline of
/// `schedule` with `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`; its CPU time is
/// the run's.
///
/// Blocks the calling thread until the last deadline has passed; the caller's own timer
/// slack and runtime are left alone.
///
/// # Errors
///
/// [`Error::Timer`](crate::Error::Timer) off Linux, or when the kernel refuses the timer
/// slack or the sleep (it documents no such case for these arguments).
pub fn timer_floor(schedule: Schedule) -> crate::Result<Wakes> {
    #[cfg(target_os = "linux")]
    {
        let thread = std::thread::Builder::new()
            .name("sttbench-timer-floor".into())
            .spawn(move || floor_on_this_thread(schedule))
            .map_err(|e| {
                crate::error::TimerError::new(
                    format!("cannot start the timer-floor thread: {e}"),
                    Some(e),
                )
            })?;
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = schedule;
        Err(crate::error::TimerError::new(
            "the timer floor is measured with Linux's clock_nanosleep and timer slack; \
             it is not available on this OS",
            None,
        )
        .into())
    }
}

/// The floor's loop on the calling thread, whose timer slack it sets to 1 ns for good:
/// only for threads of our own.
#[cfg(target_os = "linux")]
pub(super) fn floor_on_this_thread(schedule: Schedule) -> crate::Result<Wakes> {
    use super::sys;
    use crate::error::TimerError;

    sys::set_timer_slack(Duration::from_nanos(1)).map_err(|e| {
        TimerError::new(format!("cannot set the timer slack to 1 ns: {e}"), Some(e))
    })?;
    let clock = sys::this_thread_cpu_clock();
    let cpu = clock.map(|c| sys::cpu_time(&[c]));
    let anchor = sys::Anchor::new();
    let mut run = Wakes::default();
    let start = Instant::now();
    for k in 0..schedule.count {
        let deadline = schedule.deadline(k);
        sys::sleep_until(anchor.monotonic(deadline))
            .map_err(|e| TimerError::new(format!("clock_nanosleep failed: {e}"), Some(e)))?;
        run.record(Instant::now().checked_duration_since(deadline));
    }
    run.wall = start.elapsed();
    run.cpu = Option::zip(clock, cpu).map(|(c, before)| sys::cpu_time(&[c]).saturating_sub(before));
    Ok(run)
}

/// `pacer`'s wakes at the deadlines of `schedule`, on the runtime this runs on. Leaves
/// [`Wakes::cpu`] unset: a task may run on any of its runtime's threads.
pub async fn paced(pacer: &mut Pacer, schedule: Schedule) -> Wakes {
    let mut run = Wakes::default();
    let start = Instant::now();
    for k in 0..schedule.count {
        let deadline = tokio::time::Instant::from_std(schedule.deadline(k));
        let woke = pacer.wait_until(deadline).await;
        run.record(woke.checked_duration_since(deadline));
    }
    run.wall = start.elapsed();
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wakes_of(us: impl IntoIterator<Item = u64>, cpu: Option<Duration>) -> Wakes {
        let mut run = Wakes { cpu, ..Wakes::default() };
        for us in us {
            run.record(Some(Duration::from_micros(us)));
        }
        run
    }

    #[test]
    fn quantile_interval_brackets_the_quantile_by_order_statistics() {
        let run = wakes_of(1..=1_000, None);
        // n = 1000, q = 0.99: ranks 990 ± 1.96 × √9.9 → 983 and 997 (HdrHistogram keeps
        // values within 0.1 %).
        let [low, high] = run.lateness_interval(0.99);
        let close = |d: Duration, us: u64| d.abs_diff(Duration::from_micros(us)) * 1_000 <= d;
        assert!(close(low, 983) && close(high, 997), "{low:?} {high:?}");
        let p99 = run.lateness.quantile(0.99);
        assert!(low <= p99 && p99 <= high);
        // The median's interval is wider in ranks (√250 ≈ 15.8 → ±31) and still holds it.
        let [low, high] = run.lateness_interval(0.5);
        assert!(close(low, 469) && close(high, 531), "{low:?} {high:?}");
        // Edges clamp to the samples; nothing recorded gives zeros.
        assert!(close(run.lateness_interval(1.0)[1], 1_000));
        assert_eq!(Wakes::default().lateness_interval(0.99), [Duration::ZERO; 2]);
    }

    #[test]
    fn merging_adds_wakes_cpu_and_wall_time() {
        let ms = Duration::from_millis;
        let mut all = Wakes::default();
        all.merge(&Wakes { wall: ms(20), ..wakes_of([10, 20], Some(ms(1))) });
        all.merge(&Wakes { early: 1, wall: ms(30), ..wakes_of([30], Some(ms(2))) });
        assert_eq!((all.count(), all.early, all.wall), (4, 1, ms(50)));
        assert_eq!(all.cpu, Some(ms(3)));
        assert_eq!(all.cpu_per_wake(), Some(Duration::from_micros(750)));
        // A run without a CPU figure leaves the total unknown rather than wrong.
        all.merge(&wakes_of([40], None));
        assert_eq!((all.cpu, all.cpu_per_wake()), (None, None));
        assert_eq!(Wakes::default().cpu_per_wake(), None);
    }
}
