//! `sttbench load`: many paced streams from one process, and the largest count that
//! keeps real time. Flags in, `sttbench::load` runs them, its report out; Ctrl-C stops
//! the streams and prints the figures so far.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sttbench::load::{self, FindMax, LoadConfig, LoadReport};
use sttbench::pipeline::{Peer, route};
use sttbench::provider::{Credential, Dialect, Echo};
use sttbench::server::ServerHandle;
use sttbench::server::shaper::{self, Profile, ShaperConfig, ShaperHandle};
use sttbench::signal::Signal;
use sttbench::stream::{Control, Source, StreamConfig, exit, parse_duration};

use crate::Outcome as Status;

#[derive(Debug, clap::Args)]
pub(crate) struct LoadArgs {
    /// The server: the URL `sttbench echo` or `sttbench mock` printed, a proxy, an
    /// endpoint. Or --mock.
    #[arg(long, required_unless_present = "mock")]
    url: Option<String>,
    /// Start a local peer (echo socket or zero-delay mock) in this process for the run.
    #[arg(long, conflicts_with = "url")]
    mock: bool,
    /// The dialect: echo, deepgram or assemblyai. Provider keys come from
    /// DEEPGRAM_API_KEY and ASSEMBLYAI_API_KEY (a placeholder is sent to local servers).
    #[arg(long, value_name = "PEER", default_value = "echo")]
    provider: Peer,
    /// Concurrent streams [required unless --find-max].
    #[arg(long, required_unless_present = "find_max")]
    streams: Option<usize>,
    /// Audio per stream, e.g. 30s, 2m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Start the streams evenly over this long.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    ramp_up: Duration,
    /// Audio per chunk, in milliseconds [default: 20 for echo, 100 for providers].
    #[arg(long)]
    chunk_ms: Option<u64>,
    /// A built-in signal each stream sends (see `sttbench signals`).
    #[arg(long, default_value = "speech")]
    signal: Signal,
    /// Stream through a local impairment proxy with this link profile (`sttbench proxy
    /// --list-profiles`); ws:// targets only.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Send the provider's keep-alive after this long without sending.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    keep_alive: Duration,
    /// Write an HdrHistogram interval log here: one line per second and measure, tags
    /// `lateness`, `send_latency` and (echo) `round_trip`; `sttbench merge` adds logs up.
    #[arg(long, value_name = "FILE")]
    hdr_log: Option<PathBuf>,
    /// Find the largest stream count that keeps real time (doubling, then bisection),
    /// each probe --duration long, starting from --streams (default 16).
    #[arg(long)]
    find_max: bool,
    /// The most streams --find-max tries.
    #[arg(long, default_value_t = 4096)]
    max_streams: usize,
    /// How long --find-max may search, all probes together.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    find_budget: Duration,
    /// Exit with status 7 when a stream did not keep real time.
    #[arg(long)]
    require_realtime: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: LoadArgs) -> Status {
    let chunk = Duration::from_millis(args.chunk_ms.unwrap_or(match args.provider {
        Peer::Echo => 20,
        Peer::Provider(_) => 100,
    }));
    let profile = match args.profile.as_deref().map(find_profile).transpose() {
        Ok(profile) => profile,
        Err(message) => return usage(&message),
    };
    let session = sttbench::session::SessionConfig::default().keep_alive(Some(args.keep_alive));
    let config = LoadConfig::new(args.streams.unwrap_or(16), args.duration)
        .ramp_up(args.ramp_up)
        .chunk(chunk)
        .source(Source::Signal(args.signal))
        .stream(StreamConfig::default().session(session))
        .log(args.hdr_log.clone());
    let dialect = dialect(args.provider, args.url.is_some() || args.mock);
    let control = Control::new();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?;
    runtime.block_on(async {
        let interrupts = crate::stream::on_interrupt(control.clone())?;
        let peers = match Peers::start(&args, profile).await {
            Ok(peers) => peers,
            Err(e) => return Ok(error(&e)),
        };
        let url = peers.url.clone();
        let status = if args.find_max {
            let start = args.streams.unwrap_or(16);
            let found = load::find_max(
                &url,
                dialect,
                &config,
                start,
                args.max_streams,
                args.find_budget,
                &control,
            )
            .await;
            match found {
                Ok(found) => print_found(&found, args.json),
                Err(e) => error(&e),
            }
        } else {
            match load::run(&url, dialect, &config, &control).await {
                Ok(report) => print_report(&report, args.json, args.require_realtime),
                Err(e) => error(&e),
            }
        };
        peers.shutdown().await;
        interrupts.abort();
        Ok::<_, Box<dyn std::error::Error>>(status)
    })
}

/// The local peers of a run: a mock or echo (--mock), a proxy (--profile).
struct Peers {
    url: String,
    local: Option<ServerHandle>,
    proxy: Option<ShaperHandle>,
}

impl Peers {
    async fn start(args: &LoadArgs, profile: Option<Profile>) -> sttbench::Result<Peers> {
        let local = if args.mock { Some(route::start_mock(args.provider).await?) } else { None };
        let url = match (&local, &args.url) {
            (Some(server), _) => server.ws_url(),
            (None, Some(url)) => url.clone(),
            (None, None) => unreachable!("clap requires --url or --mock"),
        };
        let Some(profile) = profile else {
            return Ok(Peers { url, local, proxy: None });
        };
        let Some(rest) = url.strip_prefix("ws://") else {
            return Err(sttbench::Error::Usage(
                format!("--profile proxies ws:// only; {url:?} is not (TLS would not verify)")
                    .into(),
            ));
        };
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let config = ShaperConfig::new(host).link(profile.link());
        let proxy = shaper::start(config).await.map_err(|e| {
            sttbench::Error::Setting(format!("cannot start the impairment proxy: {e}").into())
        })?;
        let url = format!("{}{path}", proxy.ws_url());
        Ok(Peers { url, local, proxy: Some(proxy) })
    }

    async fn shutdown(self) {
        if let Some(proxy) = self.proxy {
            proxy.shutdown().await;
        }
        if let Some(local) = self.local {
            local.shutdown().await;
        }
    }
}

/// The dialect for `peer`; for a local or given server, a placeholder key when the
/// environment has none.
fn dialect(peer: Peer, url_given: bool) -> Arc<dyn Dialect> {
    match peer {
        Peer::Echo => Arc::new(Echo),
        Peer::Provider(hosted) => {
            let key = hosted.key_from_env().or_else(|| {
                url_given.then(|| sttbench::provider::ApiKey::new(route::PLACEHOLDER_KEY))
            });
            hosted.dialect(key.map(Credential::Key))
        }
    }
}

fn find_profile(name: &str) -> Result<Profile, String> {
    Profile::find(name).ok_or_else(|| {
        let names: Vec<_> = Profile::ALL.iter().map(|p| p.name()).collect();
        format!("unknown profile `{name}`; one of: {}", names.join(", "))
    })
}

fn usage(message: &str) -> Status {
    eprintln!("error: {message}");
    Ok(exit::USAGE)
}

/// Prints `e`; usage errors exit with the usage status.
fn error(e: &sttbench::Error) -> i32 {
    eprintln!("error: {e}");
    if e.is_usage() { exit::USAGE } else { exit::FAILED }
}

/// Prints the report. Exit status: 130 interrupted, 1 when a stream did not complete, 7
/// when one fell behind real time and --require-realtime asked, 0 otherwise.
fn print_report(report: &LoadReport, json: bool, require_realtime: bool) -> i32 {
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    if report.interrupted {
        exit::INTERRUPTED
    } else if report.streams_completed < report.streams {
        1
    } else if require_realtime && !report.realtime_held {
        exit::FELL_BEHIND
    } else {
        0
    }
}

fn print_found(found: &FindMax, json: bool) -> i32 {
    if json {
        println!("{}", serde_json::to_string_pretty(found).expect("plain data"));
    } else {
        for probe in &found.probes {
            let held = if probe.realtime_held { "held" } else { "not held" };
            println!(
                "{:>6} streams  real time {held:<8}  lateness p99 {:.2?}",
                probe.streams,
                Duration::from_nanos(probe.lateness_p99_ns)
            );
        }
        let note = if found.converged { "" } else { " (search stopped by its budget)" };
        println!("max streams in real time: {}{note}", found.max_streams);
    }
    if found.max_streams == 0 { 1 } else { 0 }
}
