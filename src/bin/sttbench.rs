//! The `sttbench` command line: a thin layer over the library.
//!
//! It parses flags, sets up logging and calls the library; anything a test needs to
//! reach lives in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sttbench::baseline::{
    self, Baseline, Comparison, Metadata, Settings, Tolerance, report::Report,
};
use sttbench::pipeline::{self, PipelineOptions, Target};
use sttbench::provider::Hosted;
use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::mock::{self, Fault, MockConfig, MockProvider, tls::SelfSigned};
use sttbench::session::run::{self, Source, StreamOptions};
use sttbench::signal::Signal;

/// Measure, and guard against regressions in, a real-time speech-to-text client's audio
/// streaming pipeline.
///
/// The benches are run with `cargo bench`; this tool runs the pieces by hand.
#[derive(Debug, Parser)]
#[command(name = "sttbench", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the built-in test signals and what each one is.
    Signals,
    /// Run the echo socket: every WebSocket frame comes back as it went. Ctrl-C stops it.
    Echo {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
        /// Largest message accepted, in bytes; a bigger one closes the connection (1009).
        #[arg(long, default_value_t = EchoConfig::default().get_max_message_size())]
        max_message_bytes: usize,
    },
    /// Stream audio to an echo peer, show progress, and print latency and throughput.
    Stream {
        /// The peer, e.g. the URL `sttbench echo` or `sttbench mock` printed. Required
        /// for echo; for a provider, defaults to its production endpoint.
        #[arg(long)]
        url: Option<String>,
        /// Who to stream to: echo, or deepgram and/or assemblyai (comma-separated; several
        /// print one comparison table). Provider keys come from DEEPGRAM_API_KEY and
        /// ASSEMBLYAI_API_KEY.
        #[arg(long, value_delimiter = ',', default_value = "echo")]
        provider: Vec<Peer>,
        /// Stream each provider to a zero-delay mock started for the run (offline).
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
        /// How much audio: 500ms, 10s, 2m or seconds (default: 10 s of a signal, all of
        /// a WAV file).
        #[arg(long, value_parser = run::parse_duration)]
        duration: Option<Duration>,
        /// Send each chunk at its audio time instead of as fast as possible.
        #[arg(long)]
        realtime: bool,
        /// Print the summary as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compare two result sets and judge every benchmark.
    ///
    /// OLD and NEW are each a baseline file, a BMF file or a criterion output directory.
    /// Prints a markdown report. Exit status: 0 nothing regressed, 1 something regressed,
    /// 2 an input is missing, corrupt or of another schema (the message names it).
    Compare(CompareArgs),
    /// Build result and baseline files.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Print the fraction of time a spinning thread loses to other processes (0.0–1.0);
    /// above 0.05 the host is too busy for timings to fail a comparison.
    Hiccup {
        /// How long to measure, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        ms: u64,
    },
    /// Serve a mock provider (deepgram or assemblyai) until Ctrl-C.
    Mock {
        /// Which provider to play: deepgram or assemblyai.
        provider: MockProvider,
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Serve wss:// with a fresh self-signed certificate for localhost and 127.0.0.1.
        #[arg(long)]
        tls: bool,
        /// Where --tls writes the certificate (PEM), for the client to trust.
        #[arg(long, default_value = "target/sttbench-mock-cert.pem")]
        cert_out: PathBuf,
        /// Processing delay before each reply, in milliseconds.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// A fault to inject: reject-auth, close=CODE@WHEN, idle=DURATION, chunk-duration,
        /// stall@WHEN or drop@WHEN (WHEN: 500ms, 2s or 64000b).
        #[arg(long)]
        fault: Option<Fault>,
    },
}

/// Who `stream` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Peer {
    /// The local echo socket.
    Echo,
    /// Deepgram, or its mock.
    Deepgram,
    /// AssemblyAI, or its mock.
    Assemblyai,
}

impl Peer {
    fn hosted(self) -> Option<Hosted> {
        match self {
            Peer::Echo => None,
            Peer::Deepgram => Some(Hosted::Deepgram),
            Peer::Assemblyai => Some(Hosted::AssemblyAi),
        }
    }
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// The reference results (usually `baselines/<name>.json`).
    old: PathBuf,
    /// The results under test.
    new: PathBuf,
    /// Another measurement of the new build; repeatable. Flagged timings fail only if
    /// they regress in every re-run too.
    #[arg(long, value_name = "PATH")]
    rerun: Vec<PathBuf>,
    /// Timings whose whole change interval stays within ± this percentage are unchanged.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0, value_parser = parse_percent)]
    noise_threshold: f64,
    /// Above this percentage of time lost by `sttbench hiccup` on either side, timings
    /// are reported as "host busy" instead of failing.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = baseline::host::BUSY * 100.0,
        value_parser = parse_percent
    )]
    busy_threshold: f64,
    /// A count measure's tolerance, `MEASURE=1%` or `MEASURE=+3`; repeatable. Defaults:
    /// instructions 1 %, other counts exact.
    #[arg(long, value_name = "MEASURE=TOLERANCE", value_parser = parse_tolerance)]
    tolerance: Vec<(String, Tolerance)>,
    /// Also write the markdown report here.
    #[arg(long, value_name = "PATH")]
    markdown: Option<PathBuf>,
    /// Also write the JSON report here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the criterion filter for re-running the timings still flagged after any
    /// `--rerun` (and their floors) here; the file is empty when nothing needs a re-run.
    #[arg(long, value_name = "PATH")]
    rerun_filter: Option<PathBuf>,
    /// Do not print the markdown report.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum BaselineCommand {
    /// Merge results into one file: a baseline with metadata, or plain BMF.
    Collect {
        /// A criterion output directory (e.g. target/criterion); repeatable.
        #[arg(long, value_name = "DIR")]
        criterion: Vec<PathBuf>,
        /// A gungraun output directory (e.g. target/gungraun); repeatable.
        #[arg(long, value_name = "DIR")]
        gungraun: Vec<PathBuf>,
        /// A BMF file (e.g. target/sttbench/memory.json); repeatable.
        #[arg(long, value_name = "FILE")]
        bmf: Vec<PathBuf>,
        /// Where to write.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Write plain BMF (for bencher.dev and other tools) instead of a baseline.
        #[arg(long)]
        plain: bool,
        /// The commit measured.
        #[arg(long, env = "STTBENCH_COMMIT", default_value = "unknown")]
        commit: String,
        /// The compiler (`rustc -V`).
        #[arg(long, env = "STTBENCH_RUSTC", default_value = "unknown")]
        rustc: String,
        /// A bench setting to record, `KEY=VALUE`; repeatable.
        #[arg(long, value_name = "KEY=VALUE", value_parser = parse_setting)]
        setting: Vec<(String, String)>,
        /// How busy the host was around the timing benches (`sttbench hiccup`, or the
        /// share of a core other processes used); repeatable, the worst is kept.
        #[arg(long, value_name = "FRACTION")]
        host_time_lost: Vec<f64>,
    },
}

fn parse_tolerance(s: &str) -> Result<(String, Tolerance), String> {
    let (measure, tolerance) =
        s.split_once('=').ok_or("expected MEASURE=TOLERANCE, e.g. instructions=1%")?;
    Ok((measure.to_owned(), tolerance.parse()?))
}

fn parse_percent(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("`{s}` is not a percentage (a number, 0 or more)"))
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected KEY=VALUE")?;
    Ok((k.to_owned(), v.to_owned()))
}

/// Exit status for input the tool cannot judge, distinct from "regressed" (1).
const BROKEN: i32 = 2;

fn main() {
    use tracing_subscriber::prelude::*;
    // tungstenite logs the raw upgrade request at TRACE, the Authorization header (the
    // API key) included: drop that one event whatever RUST_LOG says (tests/secrets.rs).
    // A filter, not an EnvFilter directive, which would also switch the target on.
    let no_raw_handshake = tracing_subscriber::filter::filter_fn(|meta| {
        !(*meta.level() == tracing::Level::TRACE
            && meta.target().starts_with("tungstenite::handshake::client"))
    });
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_filter(no_raw_handshake);
    tracing_subscriber::registry().with(logs).init();
    let status = match try_main(Cli::parse().command) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    };
    std::process::exit(status);
}

/// Runs `command`; `Ok` holds the exit status.
fn try_main(command: Command) -> Result<i32, Box<dyn std::error::Error>> {
    // One thread: the echo socket and the client are latency-bound, not CPU-bound.
    let runtime = || tokio::runtime::Builder::new_current_thread().enable_all().build();
    match command {
        Command::Signals => {
            for s in Signal::ALL {
                println!("{:<9} {}", s.name(), s.description());
            }
        }
        Command::Echo { listen, max_message_bytes } => runtime()?.block_on(async {
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
                format!(
                    "cannot listen on {listen}: {e}; pass --listen 127.0.0.1:0 for any free port"
                )
            })?;
            println!("echo socket on ws://{} (Ctrl-C to stop)", listener.local_addr()?);
            let config = EchoConfig::default().max_message_size(max_message_bytes);
            echo::run(listener, config, tokio::signal::ctrl_c()).await;
            println!("echo socket stopped");
            Ok::<_, Box<dyn std::error::Error>>(())
        })?,
        Command::Stream {
            url,
            provider,
            mock,
            signal,
            wav,
            chunk_ms,
            duration,
            realtime,
            json,
        } => {
            let source = wav.map_or(Source::Signal(signal), Source::Wav);
            let hosted: Vec<Hosted> = provider.iter().filter_map(|p| p.hosted()).collect();
            if !hosted.is_empty() {
                if hosted.len() != provider.len() {
                    return Err("--provider: echo cannot be compared with providers".into());
                }
                if json {
                    return Err("--json is for echo runs; provider runs print text".into());
                }
                let target = match (url, mock) {
                    (Some(url), _) if hosted.len() == 1 => Target::Url(url),
                    (Some(_), _) => {
                        return Err("--url names one server; give one --provider".into());
                    }
                    (None, true) => Target::Mock,
                    (None, false) => Target::Production,
                };
                let options = PipelineOptions::default()
                    .chunk(Duration::from_millis(chunk_ms.unwrap_or(100)))
                    .realtime(realtime)
                    .samples(pipeline::compare::samples(&source, duration)?);
                let runs = runtime()?.block_on(pipeline::compare(&hosted, &target, &options))?;
                match runs.as_slice() {
                    [one] => println!("{one}"),
                    many => print!("{}", pipeline::table(many)),
                }
                return Ok(0);
            }
            let url = url.ok_or("--url is required for echo (the URL `sttbench echo` printed)")?;
            let options = StreamOptions::new(url)
                .source(source)
                .chunk(Duration::from_millis(chunk_ms.unwrap_or(20)))
                .duration(duration)
                .realtime(realtime);
            let progress =
                indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} chunks {per_sec}",
                )?);
            let summary = runtime()?.block_on(run::stream(&options, &progress))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!("{summary}");
            }
        }
        Command::Compare(args) => return Ok(judged(compare(args))),
        Command::Hiccup { ms } => {
            println!("{:.4}", baseline::host::time_lost(Duration::from_millis(ms)));
        }
        Command::Baseline(BaselineCommand::Collect {
            criterion,
            gungraun,
            bmf,
            out,
            plain,
            commit,
            rustc,
            setting,
            host_time_lost,
        }) => {
            let inputs = criterion
                .into_iter()
                .map(baseline::Input::Criterion)
                .chain(gungraun.into_iter().map(baseline::Input::Gungraun))
                .chain(bmf.into_iter().map(baseline::Input::Bmf));
            return Ok(judged(baseline::collect(inputs).and_then(|results| {
                if plain {
                    return results.write(&out).map(|()| 0);
                }
                let mut metadata = Metadata::detect(commit, rustc);
                metadata.settings.extend(setting);
                metadata.host_time_lost = host_time_lost.into_iter().reduce(f64::max);
                Baseline::new(metadata, results).write(&out).map(|()| 0)
            })));
        }
        Command::Mock { provider, listen, tls, cert_out, delay_ms, fault } => {
            let mut config =
                MockConfig::new(provider).delay(Duration::from_millis(delay_ms)).fault(fault);
            let mut scheme = "ws";
            if tls {
                let cert = SelfSigned::generate()?;
                std::fs::write(&cert_out, cert.cert_pem())
                    .map_err(|e| format!("cannot write {}: {e}", cert_out.display()))?;
                println!("certificate: {} (Node: NODE_EXTRA_CA_CERTS=<it>)", cert_out.display());
                config = config.tls(Some(cert.server_config()?));
                scheme = "wss";
            }
            runtime()?.block_on(async {
                let listener = tokio::net::TcpListener::bind(listen).await?;
                let server = sttbench::server::spawn(listener, |l, s| mock::run(l, config, s))?;
                println!("{provider} mock listening on {scheme}://{}", server.addr());
                tokio::signal::ctrl_c().await?;
                server.shutdown().await;
                Ok::<_, std::io::Error>(())
            })?;
        }
    }
    Ok(0)
}

/// The exit status of a baseline command: its own, or [`BROKEN`] after naming the
/// problem and its causes.
fn judged(result: sttbench::Result<i32>) -> i32 {
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        BROKEN
    })
}

fn compare(args: CompareArgs) -> sttbench::Result<i32> {
    let old = baseline::load(&args.old)?;
    let new = baseline::load(&args.new)?;
    let mut settings = Settings::default().noise_threshold(args.noise_threshold / 100.0);
    for (measure, tolerance) in args.tolerance {
        settings = settings.tolerance(measure, tolerance);
    }
    let mut comparison = Comparison::new(&old.results, &new.results, settings);
    let busy_threshold = args.busy_threshold / 100.0;
    let mut busy = old.host_busy(busy_threshold) || new.host_busy(busy_threshold);
    for rerun in &args.rerun {
        let rerun = baseline::load(rerun)?;
        busy |= rerun.host_busy(busy_threshold);
        comparison.confirm(&old.results, &rerun.results);
    }
    if let Some(filter) = &args.rerun_filter {
        let text = comparison.rerun_filter().unwrap_or_default();
        std::fs::write(filter, text).map_err(|e| {
            sttbench::error::FileError::new(
                filter,
                "cannot write the re-run filter",
                Some(Box::new(e) as _),
            )
        })?;
    }
    if busy {
        comparison.distrust_timings();
    }
    let report = Report { comparison: &comparison, old: &old, new: &new };
    report.write(args.markdown.as_deref(), args.json.as_deref())?;
    if !args.quiet {
        print!("{}", report.markdown());
    }
    Ok(report.exit_code())
}
