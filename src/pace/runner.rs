//! The side-by-side run on Linux: one thread per method, each with its runtime and
//! pacer built beforehand, waking on its own offset schedule and sampling its threads'
//! CPU clocks every [`SEGMENT`] wakes.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::side_by_side::{Lateness, Method, ROUND_SEGMENTS, SEGMENT, SideBySide};
use super::sys::{cpu_time, this_thread_cpu_clock};
use super::{Pacer, PacerKind, Schedule, Wakes};
use crate::error::Error;

pub(super) fn run(config: &SideBySide) -> crate::Result<Lateness> {
    let runners = config
        .methods
        .iter()
        .map(|&m| Runner::new(m).map(|r| (m, r)))
        .collect::<crate::Result<Vec<_>>>()?;
    let pacer = runners.iter().find_map(|(_, r)| r.pacer_kind());
    let start = Instant::now() + SideBySide::SETTLE;
    let methods = u32::try_from(runners.len()).unwrap_or(u32::MAX);
    let results = std::thread::scope(|scope| {
        let threads: Vec<_> = runners
            .into_iter()
            .enumerate()
            .map(|(i, (method, runner))| {
                let offset = config.period / methods * u32::try_from(i).unwrap_or(u32::MAX);
                let schedule =
                    Schedule { first: start + offset, period: config.period, count: config.wakes };
                let thread = std::thread::Builder::new()
                    .name(format!("sttbench-pace-{method}"))
                    .spawn_scoped(scope, move || runner.run(schedule));
                (method, thread)
            })
            .collect();
        threads
            .into_iter()
            .map(|(method, thread)| {
                let thread = thread.map_err(|e| timer_error("cannot start a thread", e))?;
                let measured =
                    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                Ok((method, measured))
            })
            .collect::<crate::Result<Vec<_>>>()
    })?;
    let mut lateness = Lateness {
        config: config.clone(),
        pacer,
        methods: BTreeMap::new(),
        cpu_by_segment: BTreeMap::new(),
        p99_by_round: BTreeMap::new(),
    };
    for (method, measured) in results {
        lateness.methods.insert(method, measured.wakes);
        lateness.cpu_by_segment.insert(method, measured.cpu_by_segment);
        lateness.p99_by_round.insert(method, measured.p99_by_round);
    }
    Ok(lateness)
}

fn timer_error(what: &str, e: std::io::Error) -> Error {
    crate::error::TimerError::new(format!("{what}: {e}"), Some(e)).into()
}

/// What one method's thread measured.
struct Measured {
    wakes: Wakes,
    cpu_by_segment: Vec<Duration>,
    p99_by_round: Vec<Duration>,
}

/// One method, ready to run on a thread of its own: its runtime and pacer built.
enum Runner {
    Floor,
    /// A current-thread runtime, driven by the runner's thread.
    CurrentThread(tokio::runtime::Runtime, Pacer),
    /// A multi-thread runtime, with its threads' CPU clocks as they start.
    MultiThread(tokio::runtime::Runtime, Pacer, Arc<CpuClocks>),
}

/// CPU clocks of a runtime's threads, recorded by each thread as it starts.
#[derive(Default)]
struct CpuClocks {
    clocks: Mutex<Vec<libc::clockid_t>>,
    started: Condvar,
}

impl CpuClocks {
    /// Called on each runtime thread as it starts.
    fn record_this_thread(&self) {
        let mut clocks = self.clocks.lock().unwrap_or_else(|e| e.into_inner());
        clocks.extend(this_thread_cpu_clock());
        self.started.notify_all();
    }

    /// Waits until `threads` have recorded their clocks: a runtime starts its workers in
    /// the background, and a clock missing from the first sample would count that
    /// thread's whole CPU time in the second. Gives up after a second, keeping what
    /// it has.
    fn wait_for(&self, threads: usize) {
        let clocks = self.clocks.lock().unwrap_or_else(|e| e.into_inner());
        let _ =
            self.started.wait_timeout_while(clocks, Duration::from_secs(1), |c| c.len() < threads);
    }

    fn snapshot(&self) -> Vec<libc::clockid_t> {
        self.clocks.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Runner {
    fn new(method: Method) -> crate::Result<Runner> {
        let built = |e| timer_error("cannot build a tokio runtime to pace on", e);
        let current = || tokio::runtime::Builder::new_current_thread().enable_all().build();
        Ok(match method {
            Method::TimerFloor | Method::TimerFloorReplica => Runner::Floor,
            Method::Pacer => {
                let rt = current().map_err(built)?;
                let pacer = {
                    let _in_runtime = rt.enter();
                    Pacer::new()?
                };
                Runner::CurrentThread(rt, pacer)
            }
            Method::TokioSleep => Runner::CurrentThread(current().map_err(built)?, Pacer::tokio()),
            Method::PacerMultiThread => {
                // tokio's default: one worker per CPU.
                let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
                let clocks = Arc::new(CpuClocks::default());
                let record = clocks.clone();
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .on_thread_start(move || record.record_this_thread())
                    .build()
                    .map_err(built)?;
                clocks.wait_for(workers);
                let pacer = {
                    let _in_runtime = rt.enter();
                    Pacer::new()?
                };
                Runner::MultiThread(rt, pacer, clocks)
            }
        })
    }

    fn pacer_kind(&self) -> Option<PacerKind> {
        match self {
            Runner::Floor => None,
            Runner::CurrentThread(_, pacer) | Runner::MultiThread(_, pacer, _) => {
                (pacer.kind() != PacerKind::Tokio).then(|| pacer.kind())
            }
        }
    }

    /// Wakes at every deadline of `schedule`, [`SEGMENT`] at a time, reading the CPU
    /// clocks between segments; returns the wakes, each segment's CPU per wake and each
    /// round's p99.
    fn run(mut self, schedule: Schedule) -> crate::Result<Measured> {
        let own_clock = this_thread_cpu_clock();
        let mut all = Wakes::default();
        let mut segments = Vec::new();
        let mut round = Wakes::default();
        let mut p99_by_round = Vec::new();
        for (i, start) in (0..schedule.count).step_by(SEGMENT as usize).enumerate() {
            let part = schedule.part(start..start.saturating_add(SEGMENT));
            let clocks: Vec<libc::clockid_t> = match &self {
                Runner::MultiThread(_, _, clocks) => clocks.snapshot(),
                _ => own_clock.into_iter().collect(),
            };
            let before = cpu_time(&clocks);
            let mut wakes = self.wake(part)?;
            wakes.cpu = (!clocks.is_empty()).then(|| cpu_time(&clocks).saturating_sub(before));
            segments.extend(wakes.cpu_per_wake());
            all.merge(&wakes);
            round.merge(&wakes);
            if (i + 1) % ROUND_SEGMENTS == 0 {
                p99_by_round.push(round.lateness.quantile(0.99));
                round.lateness.clear();
            }
        }
        Ok(Measured { wakes: all, cpu_by_segment: segments, p99_by_round })
    }

    fn wake(&mut self, schedule: Schedule) -> crate::Result<Wakes> {
        Ok(match self {
            Runner::Floor => super::wakes::floor_on_this_thread(schedule)?,
            Runner::CurrentThread(rt, pacer) => rt.block_on(super::paced(pacer, schedule)),
            Runner::MultiThread(rt, pacer, _) => {
                // A spawned task runs on a worker, as a stream's task would.
                rt.block_on(async {
                    let mut moved = std::mem::replace(pacer, Pacer::tokio());
                    let task = tokio::spawn(async move {
                        let wakes = super::paced(&mut moved, schedule).await;
                        (moved, wakes)
                    });
                    let (back, wakes) = task.await.expect("the pacing task does not panic");
                    *pacer = back;
                    wakes
                })
            }
        })
    }
}
