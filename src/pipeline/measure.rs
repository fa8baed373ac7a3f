//! One measured session with a dialect: the audio streamed by the driver with a
//! [`Timeline`] watching, for the benches and tests that want a completed run or the
//! error that stopped it.
//!
//! Connecting is the driver's (`ws://` or `wss://`, and the dialect's typed error for a
//! refused upgrade, such as Deepgram's 401), with one attempt whatever the reconnect
//! policy says: a measurement that silently retried would measure the retries.
//!
//! This module prints nothing; the CLI and the benches decide what to show.

use std::sync::Arc;
use std::time::Duration;

use super::{PipelineReport, Timeline, speech_ends};
use crate::encode::AudioFormat;
use crate::provider::Dialect;
use crate::session::SessionConfig;
use crate::stream::{Audio, Driver, Outcome, Pacing, Source, StreamConfig};

/// How a measured session streams. Defaults: the speech fixture once in 100 ms chunks
/// (Deepgram's recommended size, inside AssemblyAI's 50–1000 ms), unpaced, default
/// [`StreamConfig`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PipelineOptions {
    chunk: Duration,
    source: Source,
    duration: Option<Duration>,
    stream: StreamConfig,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            chunk: Duration::from_millis(100),
            source: Source::default(),
            duration: None,
            stream: StreamConfig::default(),
        }
    }
}

impl PipelineOptions {
    /// Audio per chunk; a whole number of 16 kHz frames the dialect accepts.
    pub fn chunk(mut self, chunk: Duration) -> Self {
        self.chunk = chunk;
        self
    }

    /// Pace chunks at their audio time (`true`; what a live microphone does, and what
    /// the real services require: AssemblyAI refuses faster than real time) or send them
    /// as fast as the socket takes them (`false`, the default: the client's own cost).
    pub fn realtime(mut self, realtime: bool) -> Self {
        let pacing = if realtime { Pacing::RealTime } else { Pacing::Unpaced };
        self.stream = self.stream.pacing(pacing);
        self
    }

    /// The session's settings; its format is set to 16 kHz mono.
    pub fn session(mut self, config: SessionConfig) -> Self {
        self.stream = self.stream.session(config);
        self
    }

    /// The driver's settings (pacing, queue, stall window, pauses, session).
    pub fn stream(mut self, config: StreamConfig) -> Self {
        self.stream = config;
        self
    }

    /// The audio to stream (default: the speech fixture), cut to `duration` when one is
    /// given; see [`Audio::resolve`] for the rules.
    pub fn source(mut self, source: Source, duration: Option<Duration>) -> Self {
        self.source = source;
        self.duration = duration;
        self
    }
}

/// What a measured session saw.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PipelineRun {
    /// The dialect's name.
    pub provider: &'static str,
    /// Time to first partial, final latencies, transcript rate.
    pub pipeline: PipelineReport,
    /// The text of every non-empty final, in order.
    pub finals: Vec<String>,
    /// The server's normal close code and reason, if it sent one.
    pub server_close: Option<(u16, String)>,
    /// The run's counters: chunks, bytes, audio, times.
    pub outcome: Outcome,
}

/// Streams `options`' audio to `url` speaking `dialect`, then closes gracefully (the
/// dialect's close-stream message) and waits for the server's close.
///
/// # Errors
///
/// Errors of [`Audio::resolve`] and [`Driver::run`] (a refused chunk or key, a server
/// that cannot be reached), and, for a run that did not complete, the error
/// [`Outcome::into_result`] gives: the dialect's typed error for a close it reads (idle
/// timeout, session expired …), else [`crate::Error::Ended`].
pub async fn run(
    url: &str,
    dialect: Arc<dyn Dialect>,
    options: &PipelineOptions,
) -> crate::Result<PipelineRun> {
    let audio = Audio::resolve(&options.source, options.duration, options.chunk)?;
    let provider = dialect.name();
    let mut timeline = Timeline::new(speech_ends(audio.samples(), AudioFormat::PIPELINE));
    let config = measured(options.stream.clone());
    let outcome = Driver::new(url, dialect, config).run(&audio, &mut timeline).await?;
    let outcome = outcome.into_result()?;
    Ok(PipelineRun {
        provider,
        pipeline: timeline.report(),
        finals: timeline.finals().to_vec(),
        server_close: outcome.server_close.clone(),
        outcome,
    })
}

/// `config` for a measured session: 16 kHz mono, one connect attempt.
pub(crate) fn measured(config: StreamConfig) -> StreamConfig {
    let session = config.get_session().clone().format(AudioFormat::PIPELINE);
    let once = session.get_reconnect().attempts(1);
    config.session(session.reconnect(once))
}
