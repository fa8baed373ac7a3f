//! The loop of one run, on one task: the pacer and encoder feed a bounded queue, one
//! writer drains it to the socket, the receiver reads the server's events, a watchdog
//! looks for stalls, and every fact that ends a run goes to [`Facts`] for the one
//! decision.
//!
//! Everything runs in one `select!` loop over persistent futures: the pacer's wait, the
//! current write and the event stream live across iterations, so none is ever cancelled
//! half-way (a write is never abandoned mid-frame, an event never lost; only a reconnect
//! drops them, with the connection they belong to), and the state
//! they report to is plain data owned by the loop: no locks, no `RefCell`, and the whole
//! run is one `Send` future that a multi-threaded runtime can spawn by the hundred.
//!
//! The send and receive halves are deliberately separate (`conduct/send.rs` and
//! `conduct/receive.rs` touch the connection; the queue and the schedule do not), which
//! is where reconnecting fits (`conduct/resume.rs`): on a drop, dial a new session while
//! the pacer goes on filling the queue, send the chunks no final has covered first
//! (`replay.rs`), then the queue, with the same schedule; the new connection's results
//! are re-based onto the run's timeline before anyone sees them.

mod receive;
mod resume;
mod send;

use std::collections::VecDeque;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::{BoxFuture, Fuse, FusedFuture, FutureExt};
use futures_util::stream::BoxStream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::config::StreamConfig;
use super::decide::Facts;
use super::driver::Stop;
use super::feed::{Fed, Feed};
use super::observer::{ChunkTimes, Observer, Start};
use super::outcome::{Outcome, Phase};
use super::pace::{Pacer, wake};
use super::replay::{Rebase, Replay};
use super::source::Audio;
use super::watch::{Verdict, Watchdog};
use crate::Error;
use crate::provider::Event;
use crate::session::{Sender, Session};
use send::{Sent, write};

/// After a write fails, how long the receiver may take to explain it: a server that
/// closed with a code usually has its close frame on the way, and it says more than the
/// broken pipe the write met.
const SETTLE: Duration = Duration::from_millis(500);

/// Opens a new session for a reconnect (by the session's connect and retry policy).
pub(crate) type Dial<S> = Box<dyn FnMut() -> BoxFuture<'static, crate::Result<Session<S>>> + Send>;

/// A connection's events, boxed so that a reconnect can put the next one in its place.
type EventStream = BoxStream<'static, crate::Result<Event>>;

/// Runs `session` to its end, reconnecting with `dial` after a drop when the session's
/// policy allows (see the module doc).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn conduct<S, P, O>(
    session: Session<S>,
    audio: &Audio,
    config: &StreamConfig,
    pacer: P,
    mut control: Option<watch::Receiver<Stop>>,
    observer: &mut O,
    connect: Duration,
    mut dial: Option<Dial<S>>,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    P: Pacer,
    O: Observer,
{
    let (sender, events) = session.split();
    let mut run = Run::new(sender, audio, config, dial.is_some());
    observer.started(&Start {
        provider: run.provider,
        chunks: audio.chunks(),
        chunk: audio.spec().duration(),
        audio: audio.duration(),
        connect,
        at: run.feed.start(),
    });
    tracing::info!(provider = run.provider, chunks = audio.chunks(), ?connect, "streaming");

    let mut pacer = Some(pacer);
    let mut events: Option<EventStream> = Some(events.into_stream().boxed());
    let mut dialing: std::pin::Pin<&mut Fuse<BoxFuture<'static, crate::Result<Session<S>>>>> =
        pin!(Fuse::terminated());
    let mut writer = pin!(Fuse::terminated());
    let mut waker = pin!(Fuse::terminated());
    let mut alarm = pin!(sleep_until(run.feed.start()));
    let mut alarm_at: Option<Instant> = None;
    while !run.finished && !run.facts.events_ended {
        if std::mem::take(&mut run.redial) {
            // The old connection goes now: its write (if one hangs) and its read half.
            writer.set(Fuse::terminated());
            events = None;
            if let Some(dial) = dial.as_mut() {
                dialing.set(dial().fuse());
            }
        }
        if let Some(pacer) = pacer.take_if(|_| run.wants_chunk()) {
            let deadline = run.arm();
            waker.set(wake(pacer, deadline).fuse());
        }
        if writer.is_terminated()
            && let Some(item) = run.next_write()
        {
            writer.set(write(run.sender.clone(), item).fuse());
        }
        // The alarm only ever moves earlier here; when it fires early (a write finished
        // meanwhile), `on_alarm` finds nothing due and the next turn sets it again.
        if let Some(at) = run.alarm()
            && alarm_at.is_none_or(|armed| at < armed)
        {
            alarm.as_mut().reset(at);
            alarm_at = Some(at);
        }
        tokio::select! {
            biased;
            changed = changed(&mut control) => match changed {
                Some(stop) => run.on_control(stop),
                None => control = None,
            },
            event = next_event(&mut events), if !run.facts.events_ended => {
                run.on_event(event, observer);
            }
            dialed = &mut dialing, if !dialing.is_terminated() => match dialed {
                Ok(session) => {
                    let (sender, next) = session.split();
                    events = Some(next.into_stream().boxed());
                    run.reconnected(sender);
                }
                Err(error) => run.reconnect_failed(&error),
            },
            (sent, result) = &mut writer, if !writer.is_terminated() => {
                run.on_written(sent, result, observer);
            }
            (back, woke) = &mut waker, if !waker.is_terminated() => {
                pacer = Some(back);
                run.on_woke(woke, observer);
            }
            () = &mut alarm, if alarm_at.is_some() => {
                alarm_at = None;
                run.on_alarm(observer);
            }
        }
    }
    let outcome = run.outcome(audio, connect);
    observer.ended(&outcome);
    outcome
}

/// The next event of the current connection; never, while there is none (reconnecting).
async fn next_event(events: &mut Option<EventStream>) -> Option<crate::Result<Event>> {
    match events {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// The next stop request, or `None` once nobody can send one.
async fn changed(control: &mut Option<watch::Receiver<Stop>>) -> Option<Stop> {
    match control {
        Some(rx) => rx.changed().await.ok().map(|()| *rx.borrow_and_update()),
        None => std::future::pending().await,
    }
}

/// The state of one run; every handler below updates it and nothing else.
struct Run<'a, S> {
    config: &'a StreamConfig,
    feed: Feed<'a>,
    sender: Sender<S>,
    provider: &'static str,
    echoes: bool,
    phase: Phase,
    /// The phase when the first fact that ends the run happened.
    ended_in: Option<Phase>,
    /// What the writer is doing, and since when.
    writing: Option<(Sent, Instant)>,
    /// Chunks written and not yet echoed (echoing dialects), oldest first.
    in_flight: VecDeque<ChunkTimes>,
    chunks_sent: u64,
    chunks_dropped: u64,
    bytes_sent: u64,
    audio_sent: Duration,
    last_written: Option<Instant>,
    watchdog: Watchdog,
    probe_wanted: bool,
    stop_deadline: Option<Instant>,
    close_deadline: Option<Instant>,
    settle_deadline: Option<Instant>,
    facts: Facts,
    finished: bool,
    /// The audio no final has confirmed yet, kept for a reconnect.
    replay: Replay,
    /// The current connection's results onto the run's timeline.
    rebase: Rebase,
    /// Chunks to send again first on this connection, oldest first.
    resend: VecDeque<(ChunkTimes, Bytes)>,
    /// Reconnects left, and made.
    reconnects_left: u32,
    reconnects: u32,
    /// The loop is to drop the connection and dial a new one.
    redial: bool,
    /// A session is open (not dialing).
    connected: bool,
    /// A write failed on this connection: nothing more goes out on it.
    broken: bool,
    /// The first chunk never written yet: a chunk below it is a replay.
    fresh: u64,
    /// The audio written on this connection so far (its end, on the run's timeline).
    conn_audio: Duration,
    /// The last audio written before the current reconnect's drop (the gap's start).
    gap_since: Option<Instant>,
    gaps: Vec<Duration>,
    replayed_bytes: u64,
}

impl<'a, S> Run<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn new(sender: Sender<S>, audio: &'a Audio, config: &'a StreamConfig, dials: bool) -> Self {
        let (provider, echoes) = (sender.dialect().name(), sender.dialect().echoes());
        let reconnects_left = if dials { config.session.reconnect.get_reconnects() } else { 0 };
        Run {
            replay: Replay::new((reconnects_left > 0).then_some(config.replay_limit)),
            rebase: Rebase::default(),
            resend: VecDeque::new(),
            reconnects_left,
            reconnects: 0,
            redial: false,
            connected: true,
            broken: false,
            fresh: 0,
            conn_audio: Duration::ZERO,
            gap_since: None,
            gaps: Vec::new(),
            replayed_bytes: 0,
            config,
            feed: Feed::new(audio, config, Instant::now()),
            watchdog: Watchdog::new(config.stall_window, sender.last_heard()),
            sender,
            provider,
            echoes,
            phase: Phase::Streaming,
            ended_in: None,
            writing: None,
            in_flight: VecDeque::new(),
            chunks_sent: 0,
            chunks_dropped: 0,
            bytes_sent: 0,
            audio_sent: Duration::ZERO,
            last_written: None,
            probe_wanted: false,
            stop_deadline: None,
            close_deadline: None,
            settle_deadline: None,
            facts: Facts::default(),
            finished: false,
        }
    }

    /// Whether the pacer should be asked for the next chunk now.
    fn wants_chunk(&self) -> bool {
        self.feed.wants_chunk(self.writing.is_none())
    }

    /// Asks the feed for the next chunk; returns the pacer's deadline.
    fn arm(&mut self) -> Option<Instant> {
        let (deadline, pause) = self.feed.arm();
        if let Some(length) = pause {
            self.phase = Phase::Paused;
            tracing::info!(provider = self.provider, audio = ?self.audio_sent, ?length, "pausing");
        }
        deadline
    }

    fn on_woke<O: Observer>(&mut self, woke: Instant, observer: &mut O) {
        match self.feed.woke(woke) {
            Fed::Queued => self.phase = Phase::Streaming,
            Fed::Discarded => {}
            Fed::Dropped(seq, at) => {
                self.chunks_dropped += 1;
                observer.dropped(seq, at);
            }
            Fed::Overflow(queued) => {
                tracing::warn!(
                    provider = self.provider,
                    ?queued,
                    "the queue overflowed: the uplink cannot keep real time"
                );
                self.ended_in.get_or_insert(self.phase);
                self.facts.fell_behind = Some(queued);
                self.finished = true;
            }
        }
    }

    fn on_control(&mut self, stop: Stop) {
        match stop {
            Stop::Run => {}
            Stop::Stop if self.stop_deadline.is_none() && !self.facts.interrupted => {
                tracing::info!(provider = self.provider, "stopping: closing the session");
                self.ended_in.get_or_insert(self.phase);
                self.facts.interrupted = true;
                if !self.connected {
                    // Reconnecting: there is no session to close.
                    self.finished = true;
                    return;
                }
                let deadline = Instant::now() + self.config.stop_timeout;
                if !self.feed.sealed() {
                    self.feed.seal();
                    self.stop_deadline = Some(deadline);
                }
                // A close already on its way gets the shorter bound too.
                self.close_deadline =
                    Some(self.close_deadline.map_or(deadline, |d| d.min(deadline)));
            }
            Stop::Stop => {}
            Stop::Abort => {
                tracing::info!(provider = self.provider, "aborting");
                self.ended_in.get_or_insert(self.phase);
                self.facts.interrupted = true;
                self.finished = true;
            }
        }
    }

    /// The earliest instant something may be due: a deadline, a probe or a stall.
    fn alarm(&self) -> Option<Instant> {
        let watch = self.watchdog.deadline(self.writing.map(|(_, since)| since));
        [self.close_deadline, self.stop_deadline, self.settle_deadline, watch]
            .into_iter()
            .flatten()
            .min()
    }

    fn on_alarm<O: Observer>(&mut self, observer: &mut O) {
        let now = Instant::now();
        // Pongs (answers to probes) are read by the session, not seen as events.
        self.watchdog.heard(self.sender.last_heard(), None);
        let mut verdict = self.watchdog.check(
            now,
            self.writing.map(|(_, since)| since),
            self.audio_sent,
            self.phase,
        );
        if self.close_deadline.is_some_and(|d| now >= d) {
            if self.facts.interrupted {
                self.finished = true;
                return;
            }
            match self.watchdog.unanswered(now, self.phase) {
                Some(stall) => verdict = Verdict::Stalled(stall),
                None if !matches!(verdict, Verdict::Stalled(_)) => {
                    self.ended_in.get_or_insert(self.phase);
                    self.facts.close_timeout = Some(self.config.session.get_close_timeout());
                    self.finished = true;
                    return;
                }
                None => {}
            }
        }
        if self.broken && self.resumable() && self.settle_deadline.is_some_and(|d| now >= d) {
            return self.resume("writing failed, and the server did not say why".into());
        }
        if [self.stop_deadline, self.settle_deadline].iter().flatten().any(|&d| now >= d) {
            self.finished = true;
            return;
        }
        match verdict {
            Verdict::Quiet => {}
            Verdict::Probe => {
                // Counted as probed now, so the watchdog's next look is the stall, not this
                // probe again while the writer finishes what it is writing.
                self.probe_wanted = true;
                self.watchdog.probed();
            }
            Verdict::Stalled(stall) => {
                tracing::warn!(provider = self.provider, "{stall}");
                observer.stalled(&stall);
                if self.resumable() {
                    return self.resume(stall.to_string());
                }
                self.ended_in.get_or_insert(self.phase);
                self.facts.stall = Some(stall);
                self.finished = true;
            }
        }
    }

    /// The outcome, once the loop is over.
    fn outcome(self, audio: &Audio, connect: Duration) -> Outcome {
        let end = Instant::now();
        let start = self.feed.start();
        let sending = match (self.feed.first_due(), self.last_written) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        };
        let server_close = self.facts.server_close.clone();
        Outcome {
            provider: self.provider,
            ending: self.facts.decide(),
            phase: self.ended_in.unwrap_or(self.phase),
            realtime: self.feed.realtime(),
            chunk: audio.spec().duration(),
            chunks_total: audio.chunks(),
            chunks_sent: self.chunks_sent,
            chunks_dropped: self.chunks_dropped,
            bytes_sent: self.bytes_sent,
            audio: audio.duration(),
            audio_sent: self.audio_sent,
            connect,
            sending,
            wall: end.saturating_duration_since(start),
            server_close,
            reconnects: self.reconnects,
            audio_replayed_bytes: self.replayed_bytes,
            audio_lost_bytes: self.replay.lost_bytes(),
            reconnect_gaps: self.gaps,
        }
    }
}

/// What a failed read or write says, without the crate's "the WebSocket connection
/// failed" preamble: the transport's own words are the news.
pub(super) fn cause(doing: &str, error: &Error) -> String {
    match error {
        Error::WebSocket(e) => format!("{doing} failed: {e}"),
        other => format!("{doing} failed: {other}"),
    }
}
