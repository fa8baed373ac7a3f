//! The driver's front: [`Driver`] (where to stream, how, with which pacer) and
//! [`Control`] (stop or abort running streams, as Ctrl-C does).
//!
//! The driver connects itself, from a URL, a dialect and the session's settings, so that
//! everything after the open (and, later, a reconnect) is its business: callers hand it
//! audio and an observer and get an [`Outcome`] back.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::conduct::{Dial, conduct};
use super::config::{Pacing, StreamConfig};
use super::observer::Observer;
use super::outcome::{Ending, Outcome, Phase};
use super::pace::{Pacer, TokioPacer};
use super::source::Audio;
use crate::provider::Dialect;
use crate::session::{MaybeTlsStream, RECONNECT_ATTEMPTS, Session};

/// What a [`Control`] asks of the streams that watch it. Ordered: a request only ever
/// escalates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stop {
    /// Keep streaming.
    Run,
    /// Stop sending, close gracefully within the stop timeout, and report.
    Stop,
    /// Drop the connection at once, and report.
    Abort,
}

/// Stops running streams: a graceful stop first, an abort after. Clones share the same
/// state, so one handle (say, the Ctrl-C handler's) reaches every stream given it.
///
/// ```
/// use sttbench::stream::{Control, Stop};
/// let control = Control::new();
/// assert_eq!(control.escalate(), Stop::Stop);  // first Ctrl-C
/// assert_eq!(control.escalate(), Stop::Abort); // second
/// ```
#[derive(Debug, Clone)]
pub struct Control {
    tx: Arc<watch::Sender<Stop>>,
}

impl Default for Control {
    fn default() -> Self {
        Self::new()
    }
}

impl Control {
    /// A control that asks nothing yet.
    pub fn new() -> Self {
        Control { tx: Arc::new(watch::channel(Stop::Run).0) }
    }

    /// Asks for a graceful stop.
    pub fn stop(&self) {
        self.raise(Stop::Stop);
    }

    /// Asks for an abort.
    pub fn abort(&self) {
        self.raise(Stop::Abort);
    }

    /// One step up: a stop the first time, an abort after. Returns what is now asked.
    pub fn escalate(&self) -> Stop {
        let next = match self.state() {
            Stop::Run => Stop::Stop,
            Stop::Stop | Stop::Abort => Stop::Abort,
        };
        self.raise(next);
        next
    }

    /// What is asked now.
    pub fn state(&self) -> Stop {
        *self.tx.borrow()
    }

    /// A receiver that sees every request from now on (for runs that wait on it).
    pub(crate) fn subscribe(&self) -> watch::Receiver<Stop> {
        self.tx.subscribe()
    }

    fn raise(&self, to: Stop) {
        self.tx.send_if_modified(|now| {
            let raised = to > *now;
            *now = (*now).max(to);
            raised
        });
    }
}

/// One streaming run: where, how, and with which pacer. See the [module doc](super).
///
/// ```no_run
/// # async fn demo() -> sttbench::Result<()> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sttbench::provider::Echo;
/// use sttbench::stream::{Audio, Driver, Pacing, Recorder, Source, StreamConfig};
///
/// let audio = Audio::resolve(&Source::default(), None, Duration::from_millis(20))?;
/// let config = StreamConfig::default().pacing(Pacing::RealTime);
/// let mut recorder = Recorder::new();
/// let outcome = Driver::new("ws://127.0.0.1:9000", Arc::new(Echo), config)
///     .run(&audio, &mut recorder)
///     .await?;
/// println!("{outcome}; send latency {}", recorder.send_latency().summary());
/// # Ok(()) }
/// ```
pub struct Driver<P = TokioPacer> {
    url: String,
    dialect: Arc<dyn Dialect>,
    config: StreamConfig,
    pacer: P,
    control: Option<Control>,
}

impl<P> fmt::Debug for Driver<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("url", &self.url)
            .field("dialect", &self.dialect.name())
            .field("config", &self.config)
            .field("pacer", &std::any::type_name::<P>())
            .finish_non_exhaustive()
    }
}

impl Driver<TokioPacer> {
    /// A run to `url` speaking `dialect`, with `config` and the default pacer.
    pub fn new(url: impl Into<String>, dialect: Arc<dyn Dialect>, config: StreamConfig) -> Self {
        Driver { url: url.into(), dialect, config, pacer: TokioPacer, control: None }
    }
}

impl<P: Pacer> Driver<P> {
    /// Paces real-time runs with `pacer` instead.
    pub fn pacer<Q: Pacer>(self, pacer: Q) -> Driver<Q> {
        let Driver { url, dialect, config, control, .. } = self;
        Driver { url, dialect, config, pacer, control }
    }

    /// Lets `control` stop the run.
    pub fn control(mut self, control: &Control) -> Self {
        self.control = Some(control.clone());
        self
    }

    /// Connects and streams `audio` to its end, telling `observer` everything on the way.
    ///
    /// Once the session is open, every ending (a server close, a drop, a stall, a stop)
    /// is an [`Outcome`], never an error; [`Outcome::into_result`] turns anything but a
    /// completed run into one when that is what the caller wants. A stop during the
    /// connect is an outcome too ([`Ending::Interrupted`] while [`Phase::Connecting`]).
    ///
    /// # Errors
    ///
    /// Only before the session opened: the dialect's error for a chunk it refuses
    /// (AssemblyAI's 50 ms minimum) or a request it cannot build (no key, a bad URL), and
    /// the connect errors of [`Session::connect`].
    pub async fn run<O: Observer>(self, audio: &Audio, observer: &mut O) -> crate::Result<Outcome> {
        let Driver { url, dialect, config, pacer, control } = self;
        dialect.check_chunk(audio.spec().duration())?;
        let mut watch = control.as_ref().map(|c| c.tx.subscribe());
        let started = Instant::now();
        let connecting = Session::connect(&url, Arc::clone(&dialect), config.session.clone());
        let session = tokio::select! {
            biased;
            () = stop_requested(watch.as_mut()) => {
                let outcome = unstarted(dialect.name(), audio, &config, started.elapsed());
                observer.ended(&outcome);
                return Ok(outcome);
            }
            session = connecting => session?,
        };
        let connect = started.elapsed();
        // Every reconnect dials the same way, by the same policy, but with at least
        // `RECONNECT_ATTEMPTS` attempts (see `ReconnectPolicy::reconnects`).
        let dial: Dial<MaybeTlsStream<TcpStream>> = {
            let policy = config.session.get_reconnect();
            let policy = policy.attempts(policy.get_attempts().max(RECONNECT_ATTEMPTS));
            let session = config.session.clone().reconnect(policy);
            Box::new(move || {
                let (url, dialect, session) = (url.clone(), Arc::clone(&dialect), session.clone());
                Box::pin(async move { Session::connect(&url, dialect, session).await })
            })
        };
        Ok(conduct(session, audio, &config, pacer, watch, observer, connect, Some(dial)).await)
    }
}

/// Returns once a stop or an abort is asked (at once if one already was); never, without
/// a control.
async fn stop_requested(watch: Option<&mut watch::Receiver<Stop>>) {
    match watch {
        Some(rx) => {
            // An error means every control is gone: nobody can ask any more.
            if rx.wait_for(|stop| *stop != Stop::Run).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// The outcome of a run stopped while connecting.
fn unstarted(
    provider: &'static str,
    audio: &Audio,
    config: &StreamConfig,
    connect: Duration,
) -> Outcome {
    Outcome {
        provider,
        ending: Ending::Interrupted { closed: false },
        phase: Phase::Connecting,
        realtime: config.pacing == Pacing::RealTime,
        chunk: audio.spec().duration(),
        chunks_total: audio.chunks(),
        chunks_sent: 0,
        chunks_dropped: 0,
        bytes_sent: 0,
        audio: audio.duration(),
        audio_sent: Duration::ZERO,
        connect,
        sending: Duration::ZERO,
        wall: Duration::ZERO,
        server_close: None,
        reconnects: 0,
        audio_replayed_bytes: 0,
        audio_lost_bytes: 0,
        reconnect_gaps: Vec::new(),
    }
}
