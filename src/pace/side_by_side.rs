//! The pacer beside the OS timer floor and tokio's timer, measured in the same run.
//!
//! An absolute lateness means little on a shared machine: a virtual CPU that the host
//! schedules late makes every timer late, and a neighbour's build makes it later. So
//! [`SideBySide`] measures every [`Method`] in rounds, each round running each method
//! for the same number of wakes (rotating which goes first), and reports each method's
//! lateness beside the floor's: a busy spell hits all of them alike and cancels in the
//! ratio. Methods run one at a time, so each one's CPU figure is its own.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::{Pacer, PacerKind, Wakes, paced, timer_floor};
use crate::error::{Error, TimerError};
use crate::metrics::LatencySummary;

/// How a run waited for its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// The OS timer floor: `clock_nanosleep` on a dedicated thread with 1 ns timer slack.
    TimerFloor,
    /// [`Pacer::new`] on a current-thread runtime (what `sttbench stream` runs on).
    Pacer,
    /// [`Pacer::new`] in a task spawned on a multi-thread runtime.
    PacerMultiThread,
    /// `tokio::time::sleep_until` on a current-thread runtime: pacing before the pacer.
    TokioSleep,
}

impl Method {
    /// Every method, floor first.
    pub const ALL: [Method; 4] =
        [Method::TimerFloor, Method::Pacer, Method::PacerMultiThread, Method::TokioSleep];

    /// The name in benchmark IDs and JSON: `timer_floor`, `pacer`, `pacer_multi_thread`,
    /// `tokio_sleep`.
    pub fn id(self) -> &'static str {
        match self {
            Method::TimerFloor => "timer_floor",
            Method::Pacer => "pacer",
            Method::PacerMultiThread => "pacer_multi_thread",
            Method::TokioSleep => "tokio_sleep",
        }
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
/// let lateness = SideBySide::default().period(Duration::from_millis(10)).rounds(5).run()?;
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
    /// Rounds; each runs every method once. Default 10: more rounds interleave finer,
    /// at no extra cost in time.
    pub rounds: u32,
    /// Wakes per method per round. Default 40, so 400 wakes per method: p99 is the
    /// 396th, known to about ±4 ranks. A percentile q needs about 10 / (1 − q) samples.
    pub wakes_per_round: u32,
    /// The methods measured. Default: [`Method::ALL`]. Ratios need
    /// [`Method::TimerFloor`].
    pub methods: Vec<Method>,
}

impl Default for SideBySide {
    fn default() -> Self {
        SideBySide {
            period: Duration::from_millis(20),
            rounds: 10,
            wakes_per_round: 40,
            methods: Method::ALL.to_vec(),
        }
    }
}

impl SideBySide {
    /// The longest period accepted.
    pub const MAX_PERIOD: Duration = Duration::from_secs(10);

    /// Sets [`Self::period`].
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// Sets [`Self::rounds`].
    pub fn rounds(mut self, rounds: u32) -> Self {
        self.rounds = rounds;
        self
    }

    /// Sets [`Self::wakes_per_round`].
    pub fn wakes_per_round(mut self, wakes: u32) -> Self {
        self.wakes_per_round = wakes;
        self
    }

    /// Sets [`Self::methods`].
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }

    /// About how long [`run`](Self::run) takes: every wake of every method, in turn.
    pub fn duration(&self) -> Duration {
        let wakes = self.rounds as usize * self.wakes_per_round as usize * self.methods.len();
        self.period.saturating_mul(u32::try_from(wakes).unwrap_or(u32::MAX))
    }

    /// Measures every method, interleaved in rounds; blocks for about
    /// [`duration`](Self::duration). Builds its own runtimes, so call it from plain
    /// (non-async) code.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for a zero or over-long period, zero rounds or wakes, or no
    /// methods; [`Error::Timer`] where the floor or the pacer is unavailable (off
    /// Linux); [`Error::Timer`] too when a runtime cannot be built.
    pub fn run(&self) -> crate::Result<Lateness> {
        self.check()?;
        let mut runtimes = Runtimes::new(&self.methods)?;
        let mut methods: BTreeMap<Method, Wakes> = BTreeMap::new();
        let order = &self.methods;
        for round in 0..self.rounds as usize {
            for i in 0..order.len() {
                let method = order[(round + i) % order.len()];
                let wakes = runtimes.measure(method, self.period, self.wakes_per_round)?;
                methods.entry(method).or_default().merge(&wakes);
            }
        }
        Ok(Lateness { config: self.clone(), pacer: runtimes.pacer_kind(), methods })
    }

    fn check(&self) -> crate::Result<()> {
        let problem = if self.period.is_zero() || self.period > Self::MAX_PERIOD {
            format!("the period must be above 0 and at most 10 s, got {:?}", self.period)
        } else if self.rounds == 0 || self.wakes_per_round == 0 {
            "rounds and wakes per round must each be at least 1".to_owned()
        } else if self.methods.is_empty() {
            "name at least one method to measure".to_owned()
        } else {
            return Ok(());
        };
        Err(Error::Setting(problem.into()))
    }
}

/// The runtimes and pacers a side-by-side run needs, built once and reused by every round.
struct Runtimes {
    current: tokio::runtime::Runtime,
    pacer: Option<Pacer>,
    multi: Option<(tokio::runtime::Runtime, Option<Pacer>)>,
}

impl Runtimes {
    fn new(methods: &[Method]) -> crate::Result<Runtimes> {
        let built = |e: std::io::Error| {
            TimerError::new(format!("cannot build a tokio runtime to pace on: {e}"), Some(e))
        };
        let current =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(built)?;
        let pacer = if methods.contains(&Method::Pacer) {
            let _in_runtime = current.enter();
            Some(Pacer::new()?)
        } else {
            None
        };
        let multi = if methods.contains(&Method::PacerMultiThread) {
            let rt =
                tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(built)?;
            let pacer = {
                let _in_runtime = rt.enter();
                Pacer::new()?
            };
            Some((rt, Some(pacer)))
        } else {
            None
        };
        Ok(Runtimes { current, pacer, multi })
    }

    fn measure(&mut self, method: Method, period: Duration, wakes: u32) -> crate::Result<Wakes> {
        Ok(match method {
            Method::TimerFloor => timer_floor(period, wakes)?,
            Method::Pacer => {
                let pacer = self.pacer.as_mut().expect("built for the methods asked");
                self.current.block_on(paced(pacer, period, wakes))
            }
            Method::TokioSleep => self.current.block_on(paced(&mut Pacer::tokio(), period, wakes)),
            Method::PacerMultiThread => {
                let (rt, slot) = self.multi.as_mut().expect("built for the methods asked");
                // A spawned task runs on a worker, as a stream's task would; the pacer
                // travels with it and comes back.
                let mut pacer = slot.take().expect("returned by the previous round");
                let task = rt.spawn(async move {
                    let wakes = paced(&mut pacer, period, wakes).await;
                    (pacer, wakes)
                });
                let (pacer, wakes) = rt.block_on(task).expect("the pacing task does not panic");
                *slot = Some(pacer);
                wakes
            }
        })
    }

    fn pacer_kind(&self) -> Option<PacerKind> {
        let multi = self.multi.as_ref().and_then(|(_, p)| p.as_ref());
        self.pacer.as_ref().or(multi).map(Pacer::kind)
    }
}

/// What a [`SideBySide`] run measured: each method's wakes, pooled over the rounds.
#[derive(Debug, Clone)]
pub struct Lateness {
    /// The settings it ran with.
    pub config: SideBySide,
    /// The timer the pacer methods used, when one ran.
    pub pacer: Option<PacerKind>,
    /// Each method's wakes, all rounds together.
    pub methods: BTreeMap<Method, Wakes>,
}

impl Lateness {
    /// The `q`-quantile (0.0–1.0) of `method`'s lateness divided by the floor's; `None`
    /// when either was not measured.
    pub fn over_floor(&self, method: Method, q: f64) -> Option<f64> {
        let floor = self.methods.get(&Method::TimerFloor)?.lateness.quantile(q);
        let it = self.methods.get(&method)?.lateness.quantile(q);
        (!floor.is_zero()).then(|| it.as_secs_f64() / floor.as_secs_f64())
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
            rounds: self.config.rounds,
            wakes_per_round: self.config.wakes_per_round,
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
    rounds: u32,
    wakes_per_round: u32,
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
}

impl fmt::Display for Lateness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "wake lateness, deadlines {:?} apart: {} rounds × {} wakes per method, interleaved",
            c.period, c.rounds, c.wakes_per_round
        )?;
        write!(
            f,
            "{:<20} {:>10} {:>10} {:>10} {:>10} {:>12}",
            "method", "p50", "p99", "max", "cpu/wake", "p99 ÷ floor"
        )?;
        for (&method, wakes) in &self.methods {
            let s = wakes.lateness.summary();
            let cpu = wakes.cpu_per_wake().map_or("-".to_owned(), |d| format!("{d:.1?}"));
            let ratio = self.over_floor(method, 0.99).map_or("-".to_owned(), |r| format!("{r:.2}"));
            write!(
                f,
                "\n{:<20} {:>10} {:>10} {:>10} {cpu:>10} {ratio:>12}",
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
