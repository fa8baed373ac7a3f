//! The pacer beside the OS timer floor and tokio's timer, measured in the same run.
//!
//! An absolute lateness means little on a shared machine: a virtual CPU the host
//! schedules late makes every timer late, and a neighbour's build makes it later, in
//! spells of seconds with stalls of milliseconds. So [`SideBySide`] runs every [`Method`]
//! at once, each on its own thread and its own absolute schedule, the schedules spread
//! evenly over the period (4 ms apart at 20 ms with five methods): a busy spell falls
//! on all of them alike, and each method's lateness is judged against the floor's from
//! the same seconds. Two designs measured here and dropped:
//! - methods one after the other, in rounds: a single stall decided a p99 for one method
//!   and not another (identical runs gave pacer ÷ floor p99 from 0.2 to 15);
//! - schedules a sixteenth of a period apart: the first wake after the idle gap was
//!   about 10 µs later than the ones 1.25 ms behind it (the virtual CPU was still
//!   awake), which flattered whoever came second. Spread evenly, every wake follows an
//!   idle gap, as a lone loop's would, and reversing the order changes no median.
//!
//! Even so, a p99 from a minute of wakes on a shared VM measures the host's rare stalls
//! as much as the timer: two identical floor threads in quiet runs had p99 ratios from
//! 0.27 to 0.94. So the floor runs twice ([`Method::TimerFloorReplica`]), and the
//! replica's ratio to the floor is printed beside every other method's: the noise a
//! ratio has in that run.
//!
//! The figure the pacer is held to is therefore taken in rounds ([`ROUND_SEGMENTS`]
//! segments, 300 wakes): each round gives every method's p99 ÷ the floor's p99 from the
//! same seconds, and [`Lateness::p99_over_floor_by_round`] is the median of those
//! ratios with its order-statistics interval, the estimator the paired A/B comparison
//! uses: a round in which a stall of the host fell on one method and not the other is
//! outvoted by the rounds around it instead of deciding the figure.
//!
//! Each method's CPU time is that of its own threads (the runtime's, for a runtime),
//! sampled every [`SEGMENT`] wakes so its spread is known.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::{PacerKind, Wakes};
use crate::baseline::stats::{Estimate, median_interval};
use crate::error::Error;
use crate::metrics::LatencySummary;

/// Wakes per CPU sample: one second at 20 ms.
pub const SEGMENT: u32 = 50;

/// Segments per round of [`Lateness::p99_by_round`]: 300 wakes, so each round's p99 is
/// its third-latest wake.
pub const ROUND_SEGMENTS: usize = 6;

/// The confidence of [`Lateness::p99_over_floor_by_round`]'s interval.
pub const ROUND_CONFIDENCE: f64 = 0.95;

/// How a run waited for its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// The OS timer floor: `clock_nanosleep` on a dedicated thread with 1 ns timer slack.
    TimerFloor,
    /// The same floor again, on another thread: its ratio to [`Method::TimerFloor`] is
    /// what a pacer exactly as punctual as the OS would score in this run, so it shows
    /// how much of any method's ratio is the machine's noise.
    TimerFloorReplica,
    /// [`Pacer::new`](super::Pacer::new) on a current-thread runtime (what `sttbench stream` runs on).
    Pacer,
    /// [`Pacer::new`](super::Pacer::new) in a task spawned on a multi-thread runtime.
    PacerMultiThread,
    /// `tokio::time::sleep_until` on a current-thread runtime: pacing before the pacer.
    TokioSleep,
}

impl Method {
    /// Every method, in the order [`SideBySide`] spreads them over a period: the pacer
    /// between the two floors, tokio's timer (which wakes a millisecond late) last.
    pub const ALL: [Method; 5] = [
        Method::TimerFloor,
        Method::Pacer,
        Method::TimerFloorReplica,
        Method::PacerMultiThread,
        Method::TokioSleep,
    ];

    /// The name in benchmark IDs and JSON: `timer_floor`, `timer_floor_replica`, `pacer`,
    /// `pacer_multi_thread`, `tokio_sleep`.
    pub fn id(self) -> &'static str {
        match self {
            Method::TimerFloor => "timer_floor",
            Method::TimerFloorReplica => "timer_floor_replica",
            Method::Pacer => "pacer",
            Method::PacerMultiThread => "pacer_multi_thread",
            Method::TokioSleep => "tokio_sleep",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;

    /// Parses an [`id`](Method::id).
    fn from_str(s: &str) -> Result<Method, String> {
        Method::ALL.into_iter().find(|m| m.id() == s).ok_or_else(|| {
            let ids: Vec<&str> = Method::ALL.iter().map(|m| m.id()).collect();
            format!("no method `{s}`; the methods are {}", ids.join(", "))
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A side-by-side lateness measurement: the settings, and [`run`](Self::run).
///
/// ```no_run
/// use std::time::Duration;
/// use sttbench::pace::{Method, SideBySide};
///
/// let lateness = SideBySide::default().period(Duration::from_millis(10)).wakes(500).run()?;
/// println!("{lateness}");
/// let ratio = lateness.over_floor(Method::Pacer, 0.99);
/// # Ok::<(), sttbench::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SideBySide {
    /// Time between deadlines. Default 20 ms, the chunk most voice apps stream. Up to
    /// 10 s.
    pub period: Duration,
    /// Wakes per method. Default 1,000 (20 s at 20 ms): p99 is the 990th, known to
    /// about ±6 ranks (a percentile q needs about 10 / (1 − q) samples).
    pub wakes: u32,
    /// The methods measured, in the order of their schedules within a period (method i
    /// of n starts i/n of a period after the first). Default: [`Method::ALL`]. Ratios
    /// need [`Method::TimerFloor`].
    pub methods: Vec<Method>,
}

impl Default for SideBySide {
    fn default() -> Self {
        SideBySide {
            period: Duration::from_millis(20),
            wakes: 1_000,
            methods: Method::ALL.to_vec(),
        }
    }
}

impl SideBySide {
    /// The longest period accepted.
    pub const MAX_PERIOD: Duration = Duration::from_secs(10);

    /// From starting the threads to the first deadline: time for them all to be waiting.
    pub(super) const SETTLE: Duration = Duration::from_millis(50);

    /// Sets [`Self::period`].
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// Sets [`Self::wakes`].
    pub fn wakes(mut self, wakes: u32) -> Self {
        self.wakes = wakes;
        self
    }

    /// Sets [`Self::methods`].
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }

    /// About how long [`run`](Self::run) takes: the methods run at the same time.
    pub fn duration(&self) -> Duration {
        Self::SETTLE + self.period.saturating_mul(self.wakes.saturating_add(1))
    }

    /// Measures every method at once, each on its own schedule; blocks for about
    /// [`duration`](Self::duration). Builds its own threads and runtimes, so call it
    /// from plain (non-async) code.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for a zero or over-long period, zero wakes, or no methods;
    /// [`Error::Timer`] where the floor or the pacer is unavailable (off Linux, or at
    /// the descriptor limit) or a runtime cannot be built.
    pub fn run(&self) -> crate::Result<Lateness> {
        self.check()?;
        #[cfg(target_os = "linux")]
        {
            super::runner::run(self)
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(crate::error::TimerError::new(
                "the side-by-side measurement needs Linux (the timer floor and the timerfd \
                 pacer); it is not available on this OS",
                None,
            )
            .into())
        }
    }

    fn check(&self) -> crate::Result<()> {
        let problem = if self.period.is_zero() || self.period > Self::MAX_PERIOD {
            format!("the period must be above 0 and at most 10 s, got {:?}", self.period)
        } else if self.wakes == 0 {
            "measure at least 1 wake".to_owned()
        } else if self.methods.is_empty() {
            "name at least one method to measure".to_owned()
        } else if (1..self.methods.len()).any(|i| self.methods[i..].contains(&self.methods[i - 1]))
        {
            "name each method once".to_owned()
        } else {
            return Ok(());
        };
        Err(Error::Setting(problem.into()))
    }
}

/// What a [`SideBySide`] run measured: each method's wakes and CPU.
#[derive(Debug, Clone)]
pub struct Lateness {
    /// The settings it ran with.
    pub config: SideBySide,
    /// The timer the pacer methods used, when one ran.
    pub pacer: Option<PacerKind>,
    /// Each method's wakes, all segments together.
    pub methods: BTreeMap<Method, Wakes>,
    /// Each method's CPU time per wake in each [`SEGMENT`] of its wakes, in order: how
    /// much the figure in [`methods`](Self::methods) varies.
    pub cpu_by_segment: BTreeMap<Method, Vec<Duration>>,
    /// Each method's lateness p99 in each complete round of [`ROUND_SEGMENTS`]
    /// segments, in order (a trailing part-round is left out).
    pub p99_by_round: BTreeMap<Method, Vec<Duration>>,
}

impl Lateness {
    /// The `q`-quantile (0.0–1.0) of `method`'s lateness divided by the floor's; `None`
    /// when either was not measured.
    pub fn over_floor(&self, method: Method, q: f64) -> Option<f64> {
        let floor = self.methods.get(&Method::TimerFloor)?.lateness.quantile(q);
        let it = self.methods.get(&method)?.lateness.quantile(q);
        (!floor.is_zero()).then(|| it.as_secs_f64() / floor.as_secs_f64())
    }

    /// `method`'s p99 ÷ the floor's p99 round by round, summarised as the median of the
    /// rounds' ratios with its [`ROUND_CONFIDENCE`] interval (see the module docs);
    /// `None` when either was not measured or no round is complete. With fewer than six
    /// rounds the interval is the ratios' whole range and says so
    /// ([`Estimate::full_confidence`]).
    pub fn p99_over_floor_by_round(&self, method: Method) -> Option<Estimate> {
        let floor = self.p99_by_round.get(&Method::TimerFloor)?;
        let it = self.p99_by_round.get(&method)?;
        let ratios: Vec<f64> = floor
            .iter()
            .zip(it)
            .filter(|(floor, _)| !floor.is_zero())
            .map(|(floor, it)| it.as_secs_f64() / floor.as_secs_f64())
            .collect();
        median_interval(&ratios, ROUND_CONFIDENCE)
    }

    /// The report as pretty JSON: per method the lateness percentiles (`p50_ns`, `p99_ns`,
    /// `max_ns`, …), `early`, `cpu_per_wake_ns` and `p99_over_floor`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.json()).expect("a report is plain data")
    }

    fn json(&self) -> Json {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Json {
            period_ns: nanos(self.config.period),
            wakes: self.config.wakes,
            pacer: self.pacer,
            methods: self
                .methods
                .iter()
                .map(|(&m, w)| {
                    let json = MethodJson {
                        lateness: w.lateness.summary(),
                        early: w.early,
                        cpu_per_wake_ns: w.cpu_per_wake().map(nanos),
                        p99_over_floor: self.over_floor(m, 0.99),
                        p99_over_floor_by_round: self.p99_over_floor_by_round(m).map(|e| {
                            RoundsJson {
                                median: e.value,
                                lower: e.lower,
                                upper: e.upper,
                                rounds: self.p99_by_round.get(&m).map_or(0, Vec::len),
                            }
                        }),
                    };
                    (m.id(), json)
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct Json {
    period_ns: u64,
    wakes: u32,
    pacer: Option<PacerKind>,
    methods: BTreeMap<&'static str, MethodJson>,
}

#[derive(Serialize)]
struct MethodJson {
    #[serde(flatten)]
    lateness: LatencySummary,
    early: u64,
    cpu_per_wake_ns: Option<u64>,
    p99_over_floor: Option<f64>,
    p99_over_floor_by_round: Option<RoundsJson>,
}

#[derive(Serialize)]
struct RoundsJson {
    median: f64,
    lower: f64,
    upper: f64,
    rounds: usize,
}

impl fmt::Display for Lateness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "wake lateness, deadlines {:?} apart: {} wakes per method, all methods at once",
            c.period, c.wakes
        )?;
        write!(
            f,
            "{:<20} {:>10} {:>10} {:>10} {:>10} {:>12} {:>24}",
            "method", "p50", "p99", "max", "cpu/wake", "p99 ÷ floor", "by round (95 % interval)"
        )?;
        for (&method, wakes) in &self.methods {
            let s = wakes.lateness.summary();
            let cpu = wakes.cpu_per_wake().map_or("-".to_owned(), |d| format!("{d:.1?}"));
            let ratio = self.over_floor(method, 0.99).map_or("-".to_owned(), |r| format!("{r:.2}"));
            let rounds = self
                .p99_over_floor_by_round(method)
                .filter(|_| method != Method::TimerFloor)
                .map_or("-".to_owned(), |e| {
                    format!("{:.2} [{:.2}, {:.2}]", e.value, e.lower, e.upper)
                });
            write!(
                f,
                "\n{:<20} {:>10} {:>10} {:>10} {cpu:>10} {ratio:>12} {rounds:>24}",
                method.id(),
                format!("{:.1?}", s.p50),
                format!("{:.1?}", s.p99),
                format!("{:.1?}", s.max),
            )?;
            if wakes.early > 0 {
                write!(f, "  ({} woke early!)", wakes.early)?;
            }
        }
        Ok(())
    }
}
