//! `sttbench stream`: flags in, a [`Request`] to the library, its summaries out.
//!
//! Everything a test should reach (echo or providers, defaults by peer, usage errors, how
//! a run ends and its exit status) is decided by `sttbench::pipeline::route` and the
//! driver; this file parses flags, shows progress, turns Ctrl-C into the library's
//! [`Control`], and prints.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use sttbench::load::{HdrLogObserver, IntervalLog};
use sttbench::pipeline::{self, Apart, Peer, Request, Summary};
use sttbench::server::shaper::Profile;
use sttbench::signal::Signal;
use sttbench::stream::{
    ChunkTimes, Control, Observer, Outcome, Pacing, Pause, QueuePolicy, Source, Stall, Start, Stop,
    StreamConfig, exit, parse_duration,
};

use crate::{Outcome as Status, runtime};

#[derive(Debug, clap::Args)]
pub(crate) struct StreamArgs {
    /// The server: the URL `sttbench echo` or `sttbench mock` printed, a proxy, a real
    /// endpoint. Echo needs it (or --mock); providers default to their production endpoint.
    #[arg(long)]
    url: Option<String>,
    /// Who to stream to: echo, or deepgram and/or assemblyai (comma-separated; several run
    /// one after the other and print side by side). Provider keys come from
    /// DEEPGRAM_API_KEY and ASSEMBLYAI_API_KEY.
    #[arg(long, value_name = "PEER", value_delimiter = ',', default_value = "echo")]
    provider: Vec<Peer>,
    /// Start a local peer for the run: a zero-delay mock of each provider, or an echo
    /// socket (offline).
    #[arg(long, conflicts_with = "url")]
    mock: bool,
    /// A built-in signal to stream (see `sttbench signals`).
    #[arg(long, default_value = "speech", conflicts_with = "wav")]
    signal: Signal,
    /// A WAV file to stream instead, converted to 16 kHz mono.
    #[arg(long)]
    wav: Option<PathBuf>,
    /// Audio per chunk, in milliseconds [default: 20 for echo, 100 for providers].
    #[arg(long)]
    chunk_ms: Option<u64>,
    /// How much audio, e.g. 500ms, 10s, 1m30s [default: all of a WAV file or of the
    /// speech fixture (5.4 s); 10s of other signals].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Send each chunk at its audio time instead of as fast as possible.
    #[arg(long)]
    realtime: bool,
    /// Stop sending for LENGTH when AT of audio has gone, e.g. 3s@5s (repeatable);
    /// keep-alives continue.
    #[arg(long = "pause", value_name = "LENGTH@AT")]
    pauses: Vec<Pause>,
    /// Send the provider's keep-alive after this long without sending, or `off`.
    #[arg(long, value_name = "DURATION|off", default_value = "5s", value_parser = or_off)]
    keep_alive: OrOff,
    /// End the run as stalled when the server neither reads nor answers (a ping
    /// included) for this long, or `off`.
    #[arg(long, value_name = "DURATION|off", default_value = "5s", value_parser = or_off)]
    stall_window: OrOff,
    /// Audio that may wait for the socket writer before --on-full applies.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    queue: Duration,
    /// What a chunk that finds the queue full does: wait (nothing lost), drop (counted)
    /// or fail (the run ends: the uplink cannot keep real time).
    #[arg(long, value_enum, default_value = "wait")]
    on_full: OnFull,
    /// After a dropped connection (reset, no close frame, a retryable close code such as
    /// 1011 or 1012, a stall), reconnect and send the audio no final result had confirmed
    /// again first, up to N times per run; 0 ends the run at the first drop. Reported as
    /// reconnects, audio_replayed_bytes, audio_lost_bytes and reconnect_gap.
    #[arg(long, value_name = "N", default_value_t = 10)]
    reconnects: u32,
    /// The most unconfirmed audio kept for sending again after a reconnect (the newest);
    /// older audio a reconnect would need is counted in audio_lost_bytes.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    replay_limit: Duration,
    /// Trust the certificates in this PEM file for wss:// instead of the public roots:
    /// the one `sttbench mock --tls` writes, or a private CA.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Print the summary as JSON: one object for one run, an array for several.
    #[arg(long)]
    json: bool,
    /// Stream through an impairment proxy with this link profile, started for the run
    /// in front of the mock, --url or the provider's production endpoint (see
    /// `sttbench proxy --list-profiles`).
    #[arg(long, value_name = "NAME", value_parser = profile)]
    profile: Option<Profile>,
    /// Write an SVG of each run (lag over time, latency per stage) to FILE; with several
    /// providers, FILE gains each one's name (`run-deepgram.svg`).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Write an HdrHistogram interval log here: one line per second and measure, tags
    /// `lateness` (the pacer's wake lateness), `send_latency` and (echo) `round_trip`;
    /// `sttbench merge` adds logs from many runs up. One peer only.
    #[arg(long, value_name = "FILE")]
    hdr_log: Option<PathBuf>,
}

fn profile(name: &str) -> Result<Profile, String> {
    Profile::find(name).ok_or_else(|| {
        let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
        format!("unknown profile `{name}`; one of {}", names.join(", "))
    })
}

/// `--on-full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnFull {
    Wait,
    Drop,
    Fail,
}

/// A duration, or `off` for none.
#[derive(Debug, Clone, Copy)]
struct OrOff(Option<Duration>);

fn or_off(text: &str) -> Result<OrOff, String> {
    if text.trim() == "off" {
        Ok(OrOff(None))
    } else {
        parse_duration(text).map(|d| OrOff(Some(d)))
    }
}

pub(crate) fn run(args: StreamArgs) -> Status {
    let when_full = match args.on_full {
        OnFull::Wait => QueuePolicy::Wait,
        OnFull::Drop => QueuePolicy::Drop,
        OnFull::Fail => QueuePolicy::Fail,
    };
    let session = sttbench::session::SessionConfig::default().keep_alive(args.keep_alive.0);
    let reconnect = session.get_reconnect().reconnects(args.reconnects);
    let session = session.reconnect(reconnect);
    let stream = StreamConfig::default()
        .pacing(if args.realtime { Pacing::RealTime } else { Pacing::Unpaced })
        .pauses(args.pauses)
        .stall_window(args.stall_window.0)
        .queue(args.queue, when_full)
        .replay_limit(args.replay_limit)
        .session(session);
    if args.hdr_log.is_some() && args.provider.len() > 1 {
        eprintln!("error: --hdr-log writes one run's log; stream to one peer, or log each run");
        return Ok(exit::USAGE);
    }
    let echoes = args.provider.contains(&Peer::Echo);
    let source = args.wav.map_or(Source::Signal(args.signal), Source::Wav);
    let request = Request::new(args.provider)
        .url(args.url)
        .mock(args.mock)
        .source(source, args.duration)
        .chunk(args.chunk_ms.map(Duration::from_millis))
        .ca_cert(args.ca_cert)
        .profile(args.profile)
        .servers(Apart::Thread)
        .stream(stream);
    let plan = match request.plan() {
        Ok(plan) => plan,
        Err(e) if e.is_usage() => {
            eprintln!("error: {e}");
            return Ok(exit::USAGE);
        }
        Err(e) => return Err(e.into()),
    };
    let mut log = match &args.hdr_log {
        Some(path) => Some(IntervalLog::create(path, echoes)?),
        None => None,
    };
    let control = Control::new();
    let results = runtime()?.block_on(async {
        let interrupts = on_interrupt(control.clone())?;
        let observe = |peer| (Progress::new(peer), log.take().map(HdrLogObserver::new));
        // The precise pacer for real-time runs: a timerfd where the OS has one.
        let results =
            plan.run_paced(&control, observe, |_| sttbench::pace::Pacer::best_available()).await;
        interrupts.abort();
        Ok::<_, std::io::Error>(results)
    })?;
    print(&results, args.json)?;
    if let Some(path) = &args.plot {
        let summaries: Vec<&Summary> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        for summary in &summaries {
            let path =
                if summaries.len() > 1 { named(path, summary.provider) } else { path.clone() };
            let title = format!("sttbench stream: {} ({})", summary.provider, summary.url);
            if let Err(e) = sttbench::plot::write(&path, summary, &title) {
                eprintln!("error: {e}");
                return Ok(exit::FAILED);
            }
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(pipeline::exit_code(&results))
}

/// `path` with `-name` before its extension.
fn named(path: &std::path::Path, name: &str) -> PathBuf {
    let stem = path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let file = match path.extension() {
        Some(ext) => format!("{stem}-{name}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{name}"),
    };
    path.with_file_name(file)
}

/// Prints summaries to stdout and errors to stderr.
fn print(results: &[sttbench::Result<Summary>], json: bool) -> std::io::Result<()> {
    let summaries: Vec<&Summary> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut out = std::io::stdout().lock();
    match (json, summaries.as_slice()) {
        (_, []) => {}
        (true, [one]) => writeln!(out, "{}", one.to_json())?,
        (true, many) => {
            writeln!(out, "{}", serde_json::to_string_pretty(many).map_err(std::io::Error::other)?)?
        }
        (false, [one]) => write!(out, "{one}")?,
        (false, many) => {
            let many: Vec<Summary> = many.iter().map(|s| (*s).clone()).collect();
            write!(out, "{}", pipeline::table(&many))?;
            for s in many.iter().filter(|s| s.exit_code != exit::COMPLETED) {
                writeln!(out, "{}: {}", s.provider, s.ending.message)?;
            }
        }
    }
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        eprintln!("error: {error}");
    }
    Ok(())
}

/// Turns each Ctrl-C into one step of `control`: stop, then abort. The handler is in
/// place when this returns, before anything is streamed.
pub(crate) fn on_interrupt(control: Control) -> std::io::Result<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    let mut presses = {
        let mut signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        async move || signal.recv().await.is_some()
    };
    #[cfg(not(unix))]
    let mut presses = async || tokio::signal::ctrl_c().await.is_ok();
    Ok(tokio::spawn(async move {
        while presses().await {
            match control.escalate() {
                Stop::Stop => eprintln!("\nstopping: closing the session (Ctrl-C again to abort)"),
                _ => eprintln!("\naborting"),
            }
        }
    }))
}

/// The progress bar: one tick per chunk written, stalls said as they are found.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(_peer: Peer) -> Self {
        let style =
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} chunks {rate}")
                .expect("a valid template")
                .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1}/s", state.per_sec());
                });
        Progress { bar: ProgressBar::new(0).with_style(style) }
    }
}

impl Observer for Progress {
    fn started(&mut self, start: &Start) {
        self.bar.set_length(start.chunks);
    }

    fn chunk(&mut self, _chunk: &ChunkTimes) {
        self.bar.inc(1);
    }

    fn stalled(&mut self, stall: &Stall) {
        // Printed even without a terminal (where the bar itself is hidden).
        self.bar.suspend(|| eprintln!("stall: {stall}"));
    }

    fn ended(&mut self, _outcome: &Outcome) {
        // Cleared, so the summary starts on a line of its own.
        self.bar.finish_and_clear();
    }
}
