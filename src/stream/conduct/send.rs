//! The send half of a run: what the one writer sends next (a probe, a chunk to send
//! again after a reconnect, the next chunk of the queue, the close), one write at a
//! time, and what a finished or failed write changes. Touches the connection's sender;
//! the queue and the schedule are the feed's.

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::super::observer::{ChunkTimes, Observer};
use super::super::outcome::Phase;
use super::{Run, SETTLE, cause};
use crate::Error;
use crate::session::{MAX_IN_FLIGHT, Sender};

/// What the writer sends.
pub(super) enum Outgoing {
    Audio(ChunkTimes, Bytes),
    Probe,
    Close,
}

/// What the writer sent (the chunk's bytes are gone by then).
#[derive(Clone, Copy)]
pub(super) enum Sent {
    Audio(ChunkTimes),
    Probe,
    Close,
}

/// One write and flush; returns what it was and when it was done.
pub(super) async fn write<S>(sender: Sender<S>, item: Outgoing) -> (Sent, crate::Result<Instant>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (sent, result) = match item {
        Outgoing::Audio(times, chunk) => {
            (Sent::Audio(times), sender.send_at(chunk, times.due).await)
        }
        Outgoing::Probe => (Sent::Probe, sender.probe().await),
        Outgoing::Close => (Sent::Close, sender.close().await),
    };
    (sent, result.map(|()| Instant::now()))
}

impl<S> Run<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The writer's next item, if it has one.
    pub(super) fn next_write(&mut self) -> Option<Outgoing> {
        // Sealed without a stop: the server closed or a write failed; nothing more goes out.
        if (self.feed.sealed() && self.stop_deadline.is_none()) || !self.connected || self.broken {
            return None;
        }
        let now = Instant::now();
        // A probe goes ahead of the audio: it is a few bytes, and it is only wanted when the
        // server has been silent for half the stall window.
        // Nothing may follow a close frame (the dialects without a close-stream message);
        // after a close-stream message the server still answers pings.
        let may_probe = !self.feed.sealed()
            && (!self.facts.close_sent || self.sender.dialect().close_stream().is_some());
        let item = if self.probe_wanted && may_probe {
            self.probe_wanted = false;
            Outgoing::Probe
        } else if let Some((mut times, chunk)) = self.resend.pop_front() {
            times.dequeued = now;
            Outgoing::Audio(times, chunk)
        } else if let Some((times, chunk)) = self.feed.pop(now) {
            // Kept before it is written: a write that fails is sent again after a reconnect.
            self.replay.keep(times, chunk.clone());
            Outgoing::Audio(times, chunk)
        } else if !self.facts.close_sent
            && self.phase != Phase::Closing
            && (self.stop_deadline.is_some() || self.feed.exhausted())
        {
            self.facts.all_sent = self.stop_deadline.is_none();
            self.phase = Phase::Closing;
            Outgoing::Close
        } else {
            return None;
        };
        let sent = match &item {
            Outgoing::Audio(times, _) => Sent::Audio(*times),
            Outgoing::Probe => Sent::Probe,
            Outgoing::Close => Sent::Close,
        };
        self.writing = Some((sent, now));
        Some(item)
    }

    pub(super) fn on_written<O: Observer>(
        &mut self,
        sent: Sent,
        result: crate::Result<Instant>,
        observer: &mut O,
    ) {
        self.writing = None;
        let at = match result {
            Ok(at) => at,
            Err(error) => return self.write_failed(&error),
        };
        match sent {
            Sent::Audio(mut times) => {
                times.written = at;
                if let Some(since) = self.gap_since.take() {
                    self.gaps.push(at.saturating_duration_since(since));
                }
                self.conn_audio = times.audio_end;
                self.last_written = Some(at);
                if self.echoes {
                    if self.in_flight.len() == MAX_IN_FLIGHT {
                        self.in_flight.pop_front();
                    }
                    self.in_flight.push_back(times);
                }
                if times.seq < self.fresh {
                    // Sent again after a reconnect: counted as replayed, timed once.
                    self.replayed_bytes += times.bytes as u64;
                } else {
                    self.fresh = times.seq + 1;
                    self.chunks_sent += 1;
                    self.bytes_sent += times.bytes as u64;
                    self.audio_sent = self.audio_sent.max(times.audio_end);
                    observer.chunk(&times);
                }
            }
            Sent::Probe => self.watchdog.probed(),
            Sent::Close => {
                self.facts.close_sent = true;
                self.close_deadline = Some(at + self.config.session.get_close_timeout());
            }
        }
        self.watchdog.wrote(at, self.conn_audio);
    }

    pub(super) fn write_failed(&mut self, error: &Error) {
        let cause = cause("writing", error);
        tracing::debug!(provider = self.provider, "{cause}");
        if self.resumable() {
            // The close frame that may explain it, or the read error, decides within the
            // settle time; the queue stays for the next connection.
            self.broken = true;
            self.settle_deadline = Some(Instant::now() + SETTLE);
            return;
        }
        self.ended_in.get_or_insert(self.phase);
        self.facts.transport_error.get_or_insert(cause);
        self.feed.seal();
        self.stop_deadline = None;
        self.settle_deadline = Some(Instant::now() + SETTLE);
    }
}
