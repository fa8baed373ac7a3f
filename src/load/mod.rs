//! Many paced streams from one process: `sttbench load`.
//!
//! [`run`] starts N real-time streams on the caller's (multi-thread) runtime, one
//! [`Driver`] each, spread evenly over a ramp-up, every one streaming the same audio for
//! the same bounded duration to one URL (an echo socket, a mock, a proxy, a provider). It
//! reports, over every stream: the pacer's wake lateness and the send latency, the round
//! trip (echo), time to first partial and final lag (providers), resident memory and CPU
//! per stream, and whether every stream kept real time: its p99 wake lateness within one
//! chunk (at most 1 % of its chunks woke more than a chunk late).
//!
//! Latencies go into one shared [`Recorder`](crate::stream::Recorder) (see `watch.rs`),
//! so a stream costs its session (under 64 KiB of heap, held by the memory bench) and
//! its task, not histograms of its own. With a log path, every measure is also written
//! once a second to an HdrHistogram interval log ([`hdr`]) that `sttbench merge` adds up
//! across processes and machines exactly.
//!
//! [`find_max`] grows the stream count (doubling, then bisection, bounded in probes) to
//! the largest that keeps real time.
//!
//! Every run is bounded: the audio ends after its duration, each stream's close has its
//! timeout, and the whole run is aborted past [`deadline`](LoadConfig::deadline).

mod find;
pub mod hdr;
mod report;
mod usage;
mod watch;

pub use find::{FindMax, Probe, find_max};
pub use hdr::{HdrLogObserver, IntervalLog};
pub use report::{Cpu, LoadReport, Memory};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::encode::AudioFormat;
use crate::error::Error;
use crate::pipeline::{Timeline, speech_ends};
use crate::provider::Dialect;
use crate::signal::Signal;
use crate::stream::{Audio, Control, Driver, Pacing, Source, Stop, StreamConfig};
use watch::{Aggregate, StreamWatch, lock};

/// The most streams one run starts: far past what one machine keeps in real time, low
/// enough that a typo cannot exhaust file descriptors and memory.
pub const MAX_STREAMS: usize = 20_000;

/// How long the streams' closes and the stragglers may take past the audio and the
/// ramp-up before the run is aborted.
pub const GRACE: Duration = Duration::from_secs(15);

/// The errors kept in a report: the first few distinct ones.
const ERRORS_KEPT: usize = 5;

/// What a load run does. [`LoadConfig::new`] and the by-value setters; [`run`] checks it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadConfig {
    streams: usize,
    duration: Duration,
    ramp_up: Duration,
    chunk: Duration,
    source: Source,
    stream: StreamConfig,
    log: Option<PathBuf>,
}

impl LoadConfig {
    /// `streams` real-time streams of `duration` of the speech signal each, 20 ms chunks,
    /// started over one second.
    pub fn new(streams: usize, duration: Duration) -> Self {
        LoadConfig {
            streams,
            duration,
            ramp_up: Duration::from_secs(1),
            chunk: Duration::from_millis(20),
            source: Source::Signal(Signal::Speech),
            stream: StreamConfig::default(),
            log: None,
        }
    }

    /// Starts the streams evenly over `ramp_up` (zero: all at once).
    pub fn ramp_up(mut self, ramp_up: Duration) -> Self {
        self.ramp_up = ramp_up;
        self
    }

    /// Audio per chunk.
    pub fn chunk(mut self, chunk: Duration) -> Self {
        self.chunk = chunk;
        self
    }

    /// The audio every stream sends (cut or repeated to the duration).
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Each stream's settings (queue, keep-alive, stall window, session); pacing is
    /// always real time.
    pub fn stream(mut self, stream: StreamConfig) -> Self {
        self.stream = stream;
        self
    }

    /// Also writes an HdrHistogram interval log at `path`.
    pub fn log(mut self, path: Option<PathBuf>) -> Self {
        self.log = path;
        self
    }

    /// Streams asked for.
    pub fn streams(&self) -> usize {
        self.streams
    }

    /// With another stream count (for [`find_max`]).
    pub fn with_streams(mut self, streams: usize) -> Self {
        self.streams = streams;
        self
    }

    /// When the whole run is aborted if streams are still going: the ramp-up, the
    /// duration and [`GRACE`].
    pub fn deadline(&self) -> Duration {
        self.ramp_up + self.duration + GRACE
    }

    fn check(&self) -> crate::Result<()> {
        let usage = |m: String| Err(Error::Usage(m.into()));
        if self.streams == 0 {
            return usage("--streams 0 runs nothing; ask for at least 1 stream".into());
        }
        if self.streams > MAX_STREAMS {
            return usage(format!(
                "--streams {} is more than the {MAX_STREAMS} one process runs; spread the load \
                 over several machines and merge their --hdr-log files",
                self.streams
            ));
        }
        if self.duration.is_zero() {
            return usage(
                "a duration of 0 streams nothing; give one such as --duration 10s".into(),
            );
        }
        Ok(())
    }
}

/// Checks that `url` is a WebSocket URL a stream can connect to.
fn check_url(url: &str) -> crate::Result<()> {
    let rest = url.strip_prefix("ws://").or_else(|| url.strip_prefix("wss://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(Error::Usage(
            format!(
                "--url {url:?} is not a WebSocket URL; give ws://HOST:PORT (as `sttbench echo` \
                 prints it) or wss://HOST/PATH"
            )
            .into(),
        )),
    }
}

/// Runs `config.streams()` real-time streams to `url` speaking `dialect`, stopped early
/// by `control`. See the module doc.
///
/// # Errors
///
/// [`Error::Usage`] for a stream count of 0 or past [`MAX_STREAMS`], a zero duration or
/// a URL that is not `ws://` or `wss://`; the errors of [`Audio::resolve`] and of
/// creating the log; and, when no stream could start at all, the first stream's error
/// (an unreachable server, a refused key). Once one stream has started, the run returns
/// a report, whatever happens to the others (counted in its `endings` and `errors`).
pub async fn run(
    url: &str,
    dialect: Arc<dyn Dialect>,
    config: &LoadConfig,
    control: &Control,
) -> crate::Result<LoadReport> {
    config.check()?;
    check_url(url)?;
    dialect.check_chunk(config.chunk)?;
    let audio = Audio::resolve(&config.source, Some(config.duration), config.chunk)?;
    let echoes = dialect.echoes();
    let mut log = match &config.log {
        Some(path) => Some(IntervalLog::create(path, echoes)?),
        None => None,
    };
    let session = config.stream.get_session().clone().format(AudioFormat::PIPELINE);
    let stream = config.stream.clone().pacing(Pacing::RealTime).session(session);
    let speech = (!echoes).then(|| speech_ends(audio.samples(), AudioFormat::PIPELINE));
    let shared = Arc::new(Mutex::new(Aggregate {
        intervals: log.as_ref().map(|_| Default::default()),
        ..Aggregate::default()
    }));

    let rss_before = usage::resident_bytes();
    let cpu_before = usage::cpu_time();
    // The streams watch a control of their own, which the caller's reaches through
    // `forward`: the deadline aborts this run's streams, not the caller's next run.
    let streams_control = Control::new();
    let forward = tokio::spawn(forward(control.subscribe(), streams_control.clone()));
    let control_in = control;
    let control = &streams_control;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..config.streams {
        let offset = config.ramp_up.mul_f64(i as f64 / config.streams as f64);
        let timeline = speech.clone().map(Timeline::new);
        let mut watch = StreamWatch::new(Arc::clone(&shared), config.chunk, timeline);
        let driver = Driver::new(url, Arc::clone(&dialect), stream.clone()).control(control);
        let audio = audio.clone();
        let control = control.clone();
        tasks.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep_until(started + offset) => {}
                () = stopped(&control) => return None,
            }
            driver.run(&audio, &mut watch).await.err()
        });
    }

    let mut errors: Vec<Error> = Vec::new();
    let mut rss_peak = rss_before;
    let mut spare = log.as_ref().map(|_| hdr::Intervals::default());
    let deadline = started + config.deadline();
    let mut tick = tokio::time::interval_at(started + hdr::LOG_INTERVAL, hdr::LOG_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut aborted = false;
    // Bounded: each iteration ends a task, a tick (one a second until the deadline) or
    // the deadline itself, after which every stream is aborted and drains.
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Some(e))) => errors.push(e),
                Some(Ok(None)) => {}
                Some(Err(e)) => errors.push(Error::Setting(format!("a stream panicked: {e}").into())),
            },
            _ = tick.tick() => {
                rss_peak = rss_peak.max(usage::resident_bytes());
                if let (Some(log), Some(spare)) = (&mut log, &mut spare) {
                    // Swapped under the lock, written outside it: the streams never wait
                    // on the file.
                    if let Some(current) = lock(&shared).intervals.as_mut() {
                        std::mem::swap(current, spare);
                    }
                    write_interval(log, spare, &mut errors);
                }
            }
            () = tokio::time::sleep_until(deadline), if !aborted => {
                aborted = true;
                control.abort();
            }
        }
    }
    forward.abort();
    let wall = started.elapsed();
    rss_peak = rss_peak.max(usage::resident_bytes());
    let cpu = usage::cpu_time().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    let mut aggregate = std::mem::take(&mut *lock(&shared));
    if let (Some(log), Some(current)) = (&mut log, aggregate.intervals.as_mut()) {
        write_interval(log, current, &mut errors);
    }
    if aggregate.started == 0 && !errors.is_empty() {
        return Err(errors.swap_remove(0));
    }
    let not_started = config.streams.saturating_sub(aggregate.ended);
    if not_started > 0 {
        *aggregate.endings.entry("not_started").or_default() += not_started;
    }
    Ok(report(
        url,
        &*dialect,
        config,
        &aggregate,
        &errors,
        Measured { wall, interrupted: control_in.state() != Stop::Run, rss_before, rss_peak, cpu },
    ))
}

/// Writes one interval, keeping a failure as the run's error.
fn write_interval(log: &mut IntervalLog, intervals: &mut hdr::Intervals, errors: &mut Vec<Error>) {
    if let Err(e) = log.write(intervals, Instant::now()) {
        errors.push(e);
    }
}

/// Passes every request of the caller's control on to the streams' own, until an abort.
async fn forward(mut from: tokio::sync::watch::Receiver<Stop>, to: Control) {
    loop {
        let asked = *from.borrow_and_update();
        match asked {
            Stop::Run => {}
            Stop::Stop => to.stop(),
            Stop::Abort => {
                to.abort();
                return;
            }
        }
        if from.changed().await.is_err() {
            return;
        }
    }
}

/// Returns once a stop or an abort is asked.
async fn stopped(control: &Control) {
    let mut watch = control.subscribe();
    if watch.wait_for(|stop| *stop != Stop::Run).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// What the run measured beside the aggregate.
struct Measured {
    wall: Duration,
    interrupted: bool,
    rss_before: Option<u64>,
    rss_peak: Option<u64>,
    cpu: Option<Duration>,
}

fn report(
    url: &str,
    dialect: &dyn Dialect,
    config: &LoadConfig,
    aggregate: &Aggregate,
    errors: &[Error],
    measured: Measured,
) -> LoadReport {
    let recorder = &aggregate.recorder;
    let lateness = recorder.stage(crate::stream::Stage::WakeLateness).summary();
    let streams = config.streams as u64;
    let echoes = dialect.echoes();
    let mut kept: Vec<String> = Vec::new();
    for e in errors {
        let text = e.to_string();
        if kept.len() < ERRORS_KEPT && !kept.contains(&text) {
            kept.push(text);
        }
    }
    let per_stream = |bytes: u64| bytes / streams;
    LoadReport {
        provider: dialect.name(),
        url: url.to_owned(),
        streams: config.streams,
        streams_started: aggregate.started,
        streams_completed: aggregate.completed,
        streams_realtime: aggregate.realtime,
        realtime_held: aggregate.realtime == config.streams,
        lateness_p99_ns: u64::try_from(lateness.p99.as_nanos()).unwrap_or(u64::MAX),
        chunk: config.chunk,
        duration: config.duration,
        ramp_up: config.ramp_up,
        wall: measured.wall,
        interrupted: measured.interrupted,
        lateness,
        send_latency: recorder.send_latency().summary(),
        stages: recorder.stages(),
        round_trip: echoes.then(|| recorder.round_trip().summary()),
        first_partial: (!echoes).then(|| aggregate.first_partial.summary()),
        final_lag: (!echoes).then(|| aggregate.final_lag.summary()),
        chunks_sent: recorder.chunks_sent(),
        bytes_sent: recorder.bytes_sent(),
        chunks_dropped: recorder.chunks_dropped(),
        endings: aggregate.endings.clone(),
        errors: kept,
        memory: Memory {
            rss_before_bytes: measured.rss_before,
            rss_peak_bytes: measured.rss_peak,
            rss_per_stream_bytes: measured
                .rss_peak
                .zip(measured.rss_before)
                .map(|(peak, before)| per_stream(peak.saturating_sub(before))),
            heap_per_stream_bytes: None,
        },
        cpu: Cpu {
            cpu_ns: measured.cpu.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            core_per_stream: measured.cpu.and_then(|cpu| {
                let wall = measured.wall.as_secs_f64();
                (wall > 0.0).then(|| cpu.as_secs_f64() / wall / streams as f64)
            }),
        },
    }
}

#[cfg(test)]
mod tests;
