//! One measured session: the speech fixture (or any audio) streamed through a
//! [`Session`] to a provider or its mock, with every send and every event on a
//! [`Timeline`].
//!
//! Connecting is [`Session::connect`]'s (`ws://` or `wss://`, and the dialect's typed
//! error for a refused upgrade, such as Deepgram's 401), with one attempt whatever the
//! reconnect policy says: a measurement that silently retried would measure the retries.
//!
//! This module prints nothing; the CLI and the benches decide what to show.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{PipelineReport, Timeline};
use crate::encode::{AudioFormat, ChunkEncoder};
use crate::error::Error;
use crate::metrics::Report;
use crate::provider::{Dialect, Event};
use crate::session::run::schedule;
use crate::session::{Session, SessionConfig};

/// How a measured session streams. Defaults: the speech fixture in 100 ms chunks
/// (Deepgram's recommended size, inside AssemblyAI's 50–1000 ms), unpaced, default
/// [`SessionConfig`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PipelineOptions {
    chunk: Duration,
    realtime: bool,
    session: SessionConfig,
    samples: Option<Arc<[f32]>>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            chunk: Duration::from_millis(100),
            realtime: false,
            session: SessionConfig::default(),
            samples: None,
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
        self.realtime = realtime;
        self
    }

    /// The session's settings; its format is set to 16 kHz mono.
    pub fn session(mut self, config: SessionConfig) -> Self {
        self.session = config;
        self
    }

    /// 16 kHz mono samples to stream instead of the speech fixture.
    pub fn samples(mut self, samples: Option<Arc<[f32]>>) -> Self {
        self.samples = samples;
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
    /// The session's own numbers: chunks, bytes, send latency, throughput.
    pub session: Report,
}

/// Streams `options`' audio to `url` speaking `dialect`, then closes gracefully (the
/// dialect's close-stream message) and waits for the server's close.
///
/// # Errors
///
/// The dialect's typed error for a refused upgrade or a failing close code (bad key,
/// idle timeout, chunk duration …), [`Error::Connect`] when the server cannot be
/// reached in the connect timeout, [`Error::Format`] for a chunk that is not whole
/// frames, and any error the session hit while streaming or closing.
pub async fn run(
    url: &str,
    dialect: Arc<dyn Dialect>,
    options: &PipelineOptions,
) -> crate::Result<PipelineRun> {
    let format = AudioFormat::PIPELINE;
    let config = options.session.clone().format(format);
    let once = config.reconnect.attempts(1);
    let config = config.reconnect(once);
    let close_timeout = config.close_timeout;
    let spec = format.chunk(options.chunk)?;
    dialect.check_chunk(spec.duration())?;
    let samples = match &options.samples {
        Some(samples) => samples.to_vec(),
        None => crate::signal::speech(format)?,
    };
    // Pad with silence to whole chunks: a short last chunk would break AssemblyAI's
    // 50 ms minimum, and silence changes no transcript.
    let mut samples = samples;
    samples.resize(samples.len().next_multiple_of(spec.samples()), 0.0);

    let (sender, mut events) = Session::connect(url, Arc::clone(&dialect), config).await?.split();
    let timeline = RefCell::new(Timeline::new(super::speech_ends(&samples, format)));
    let (closed_tx, closed_rx) = oneshot::channel::<()>();
    let start = Instant::now();

    let sending = async {
        let mut encoder = ChunkEncoder::new(spec);
        for (k, chunk) in encoder.chunks(&samples).enumerate() {
            if !options.realtime {
                // Sender and receiver share this task; a flush that never blocks would
                // otherwise starve the receiver until the last chunk, and the figures
                // would measure that instead of the replies.
                tokio::task::yield_now().await;
            }
            let scheduled = schedule(start, spec.duration(), k, options.realtime).await;
            let sent = spec.duration() * u32::try_from(k + 1).unwrap_or(u32::MAX);
            timeline.borrow_mut().audio_sent(sent, scheduled);
            sender.send_at(chunk, scheduled).await?;
        }
        sender.close().await?;
        // The receiver may already have stopped on an error; it reports that itself.
        let _ = closed_tx.send(());
        Ok::<_, Error>(())
    };
    let receiving = async {
        let mut finals: Vec<String> = Vec::new();
        let mut last_turn: Option<u32> = None;
        let mut server_close = None;
        // Armed once the close is sent: the server then has the close timeout to finish.
        let mut deadline = std::pin::pin!(async {
            match closed_rx.await {
                Ok(()) => tokio::time::sleep(close_timeout).await,
                Err(_) => std::future::pending::<()>().await,
            }
        });
        loop {
            tokio::select! {
                event = events.next() => match event {
                    None => return Ok((finals, server_close)),
                    Some(Ok(event)) => {
                        timeline.borrow_mut().event(&event, Instant::now());
                        match event {
                            // A formatted copy of the last turn replaces its text.
                            Event::Transcript(t) if t.is_final && !t.text.trim().is_empty() => {
                                match (&last_turn, t.turn) {
                                    (Some(turn), Some(this)) if *turn == this => {
                                        if let Some(last) = finals.last_mut() {
                                            *last = t.text;
                                        }
                                    }
                                    _ => finals.push(t.text),
                                }
                                last_turn = t.turn;
                            }
                            Event::Closed { code, reason } => server_close = Some((code, reason)),
                            _ => {}
                        }
                    }
                    Some(Err(e)) => return Err(e),
                },
                _ = &mut deadline => return Err(Error::CloseTimeout(close_timeout)),
            }
        }
    };
    let (sent, received) = tokio::join!(sending, receiving);
    // A server error (a close code the dialect maps) explains a failed send better than
    // the broken pipe it caused, so the receiver's error comes first.
    let (finals, server_close) = received?;
    sent?;
    Ok(PipelineRun {
        provider: dialect.name(),
        pipeline: timeline.into_inner().report(),
        finals,
        server_close,
        session: sender.report(),
    })
}
