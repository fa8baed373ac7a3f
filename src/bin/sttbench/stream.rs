//! `sttbench stream`: one streaming run to the echo socket, or measured sessions with
//! providers (real, a URL, or a mock started for the run).

use std::path::PathBuf;
use std::time::Duration;

use sttbench::pipeline::{self, PipelineOptions, Target};
use sttbench::provider::Hosted;
use sttbench::session::run::{self, Source, StreamOptions};
use sttbench::signal::Signal;

use crate::{Outcome, runtime};

#[derive(Debug, clap::Args)]
pub(crate) struct StreamArgs {
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

pub(crate) fn run(args: StreamArgs) -> Outcome {
    let StreamArgs { url, provider, mock, signal, wav, chunk_ms, duration, realtime, json } = args;
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
    Ok(0)
}
