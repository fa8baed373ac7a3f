//! A whole streaming run, as `sttbench stream` does it: audio from a signal or a WAV
//! file, cut into chunks, sent over one session (paced in real time or as fast as the
//! socket takes them) while the echoes are read back, then a graceful close and a
//! [`StreamSummary`].
//!
//! Real-time pacing puts chunk k at `start + k × chunk duration` with `sleep_until` on
//! absolute deadlines, so a late chunk does not push the next one back (no drift), and
//! latency counts from that scheduled time, so a stall shows up in every chunk it
//! delayed (no coordinated omission). tokio's timer has millisecond resolution, so a
//! paced chunk leaves up to about a millisecond after its audio time; that lateness is
//! part of its latency, as it is for any app pacing with tokio timers. Unpaced, each
//! chunk is due when the previous one was flushed.
//!
//! This module does no terminal output of its own beyond the progress bar it is given;
//! the binary decides where the summary goes.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};

use super::{Session, SessionConfig};
use crate::Error;
use crate::encode::{AudioFormat, ChunkEncoder, wav};
use crate::metrics::Report;
use crate::provider::{Dialect, Echo, Event};
use crate::signal::Signal;

/// Where a run's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A generated test signal, [`StreamOptions::duration`] long.
    Signal(Signal),
    /// A WAV file, converted to 16 kHz mono; cut to the duration when one is given.
    Wav(PathBuf),
}

/// What to stream, where, and how fast. Defaults: 10 s of speech in 20 ms chunks,
/// unpaced, echo dialect, default [`SessionConfig`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StreamOptions {
    url: String,
    source: Source,
    chunk: Duration,
    duration: Option<Duration>,
    realtime: bool,
    session: SessionConfig,
}

/// How much of a generated signal is streamed unless a duration is given.
pub const DEFAULT_SIGNAL_DURATION: Duration = Duration::from_secs(10);

/// The longest chunk a run sends: 320 KB at 16 kHz, inside the echo socket's default
/// 1 MiB message limit and far beyond any provider's (AssemblyAI takes at most 1 s).
pub const MAX_CHUNK: Duration = Duration::from_secs(10);

/// The longest generated signal a run streams. Signals are generated whole before the
/// run (230 MB of samples at this length); stream a WAV file for longer runs.
pub const MAX_SIGNAL_DURATION: Duration = Duration::from_secs(3_600);

impl StreamOptions {
    /// Streams to `url` with the defaults above.
    pub fn new(url: impl Into<String>) -> Self {
        StreamOptions {
            url: url.into(),
            source: Source::Signal(Signal::Speech),
            chunk: Duration::from_millis(20),
            duration: None,
            realtime: false,
            session: SessionConfig::default(),
        }
    }

    /// The audio to stream.
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Audio per chunk; must be a whole number of 16 kHz frames (20 ms is 320).
    pub fn chunk(mut self, chunk: Duration) -> Self {
        self.chunk = chunk;
        self
    }

    /// How much audio to stream: all of a WAV file, or [`DEFAULT_SIGNAL_DURATION`] of a
    /// signal, unless given.
    pub fn duration(mut self, duration: Option<Duration>) -> Self {
        self.duration = duration;
        self
    }

    /// Pace chunks at their audio time (`true`) or send them as fast as the socket
    /// takes them (`false`, the default).
    pub fn realtime(mut self, realtime: bool) -> Self {
        self.realtime = realtime;
        self
    }

    /// The session's settings.
    pub fn session(mut self, config: SessionConfig) -> Self {
        self.session = config;
        self
    }
}

/// What a run did: the session's report plus the run's own facts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StreamSummary {
    /// Chunks the audio was cut into.
    pub chunks_total: u64,
    /// Audio streamed.
    #[serde(rename = "audio_ns", serialize_with = "nanos")]
    pub audio: Duration,
    /// Wall time from the first send to the end of the close.
    #[serde(rename = "wall_ns", serialize_with = "nanos")]
    pub wall: Duration,
    /// Whether chunks were paced in real time.
    pub realtime: bool,
    /// The server's close code and reason, if it sent one.
    pub server_close: Option<(u16, String)>,
    /// The session's numbers.
    pub report: Report,
}

fn nanos<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl fmt::Display for StreamSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pacing = if self.realtime { "real time" } else { "unpaced" };
        writeln!(f, "audio          {:.2?} in {} chunks, {pacing}", self.audio, self.chunks_total)?;
        writeln!(f, "wall time      {:.2?}", self.wall)?;
        if let Some((code, reason)) = &self.server_close {
            writeln!(f, "server close   {code} {reason}")?;
        }
        write!(f, "{}", self.report)
    }
}

/// Parses a duration given on the command line: `500ms`, `10s`, `2m`, or a bare number
/// of seconds (`1.5`).
///
/// # Errors
///
/// A message naming the input and the accepted forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => f64::NAN,
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0 && scale.is_finite())
        .and_then(|n| Duration::try_from_secs_f64(n * scale).ok())
        .ok_or_else(|| format!("{text:?} is not a duration; use e.g. 500ms, 10s, 2m or 1.5"))
}

/// Streams `options`' audio to an echo peer and reports. Progress goes to `progress`
/// (one tick per chunk sent); pass `ProgressBar::hidden()` for none.
///
/// # Errors
///
/// [`Error::Format`] for a chunk duration that is not whole frames, [`Error::Wav`] for
/// an unusable file, [`Error::Setting`] for a chunk or signal longer than sttbench
/// sends, the connect errors of [`Session::connect`], [`Error::ServerClosed`] when the
/// server closed before the end, and any error the session hit while streaming or
/// closing.
pub async fn stream(
    options: &StreamOptions,
    progress: &ProgressBar,
) -> crate::Result<StreamSummary> {
    let format = AudioFormat::PIPELINE;
    if options.chunk > MAX_CHUNK {
        let chunk = options.chunk;
        let problem = format!("{chunk:?} chunks are longer than the {MAX_CHUNK:?} sttbench sends");
        return Err(Error::Setting(problem.into()));
    }
    let spec = format.chunk(options.chunk)?;
    let dialect: Arc<dyn Dialect> = Arc::new(Echo);
    dialect.check_chunk(spec.duration())?;
    let mut samples = match &options.source {
        Source::Signal(signal) => {
            let duration = options.duration.unwrap_or(DEFAULT_SIGNAL_DURATION);
            if duration > MAX_SIGNAL_DURATION {
                return Err(Error::Setting(
                    format!(
                        "a {duration:?} run of the {signal} signal is longer than the \
                         {MAX_SIGNAL_DURATION:?} sttbench generates; stream a WAV file instead"
                    )
                    .into(),
                ));
            }
            signal.generate(format.sample_rate(), frames_in(format, duration))
        }
        Source::Wav(path) => wav::read_as(path, format)?.samples,
    };
    if let Some(duration) = options.duration {
        samples.truncate(frames_in(format, duration));
    }
    let chunks_total = samples.len().div_ceil(spec.samples()) as u64;
    progress.set_length(chunks_total);

    let session = Session::connect(&options.url, dialect, options.session.clone()).await?;
    let (sender, mut events) = session.split();
    let close_timeout = options.session.close_timeout;
    let (closed_tx, closed_rx) = oneshot::channel::<()>();
    let start = Instant::now();

    let sending = async {
        let mut encoder = ChunkEncoder::new(spec);
        for (k, chunk) in encoder.chunks(&samples).enumerate() {
            let scheduled = schedule(start, spec.duration(), k, options.realtime).await;
            sender.send_at(chunk, scheduled).await?;
            progress.inc(1);
        }
        sender.close().await?;
        // The receiver may already have stopped on an error; it reports that itself.
        let _ = closed_tx.send(());
        Ok::<_, Error>(())
    };
    let receiving = async {
        let mut server_close = None;
        // Armed once the close is sent: the peer then has the close timeout to finish.
        let mut deadline = std::pin::pin!(async {
            if closed_rx.await.is_ok() {
                tokio::time::sleep(close_timeout).await;
            } else {
                std::future::pending::<()>().await;
            }
        });
        loop {
            tokio::select! {
                event = events.next() => match event {
                    None => return Ok(server_close),
                    Some(Ok(Event::Closed { code, reason })) => server_close = Some((code, reason)),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                },
                _ = &mut deadline => return Err(Error::CloseTimeout(close_timeout)),
            }
        }
    };
    let (sent, received) = tokio::join!(sending, receiving);
    let wall = start.elapsed();
    progress.finish();
    let server_close = match (sent, received) {
        // Anything but 1000, the answer to our own close, means the server ended the
        // stream; its code and reason say why, whether or not a send noticed.
        (_, Ok(Some((code, reason)))) if code != 1000 => {
            return Err(Error::ServerClosed { code, reason: reason.into() });
        }
        (Err(e), _) | (Ok(()), Err(e)) => return Err(e),
        (Ok(()), Ok(server_close)) => server_close,
    };
    Ok(StreamSummary {
        chunks_total,
        audio: format.duration_of(samples.len() / usize::from(format.channels())),
        wall,
        realtime: options.realtime,
        server_close,
        report: sender.report(),
    })
}

fn frames_in(format: AudioFormat, duration: Duration) -> usize {
    let frames = duration.as_secs_f64() * f64::from(format.sample_rate());
    // Saturates for absurd durations; generating that much audio would fail anyway.
    frames.round() as usize
}

/// When chunk `k` of a stream that started at `start` goes out, waiting until then: its
/// audio time, `start + k × chunk`, when `realtime` (an absolute deadline, so lateness
/// never accumulates), else now. Latency counts from the returned instant, so a stall
/// shows in the tail instead of delaying the schedule (no coordinated omission).
pub(crate) async fn schedule(start: Instant, chunk: Duration, k: usize, realtime: bool) -> Instant {
    if realtime {
        let due = start + chunk * u32::try_from(k).unwrap_or(u32::MAX);
        sleep_until(due).await;
        due
    } else {
        Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_accepted_form() {
        let ms = Duration::from_millis;
        for (text, want) in
            [("500ms", ms(500)), ("10s", ms(10_000)), ("2m", ms(120_000)), ("1.5", ms(1_500))]
        {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for bad in ["", "ten", "-1s", "5h", "1e400", "NaN"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("is not a duration") && err.contains("500ms"), "{bad}: {err}");
        }
    }
}
