//! Reconnecting after a drop, as the loop's handlers see it: when a drop may be followed
//! by a reconnect, what the old connection leaves behind, and how the new one starts.
//!
//! What counts as a drop: the connection broke (a read or write error, or the server's
//! events ended without a close frame), the server closed with a code worth retrying
//! (`replay.rs` says which) or closed normally before the client's own close (audio was
//! still to come), or the watchdog found a stall. Not a drop: a stop or abort,
//! a close the server meant (a refused key, a normal close), a close timeout.
//!
//! Between the drop and the new session nothing is written; the pacer goes on filling the
//! queue on its schedule (its queue policy decides what a long reconnect does), so the
//! new connection gets the kept audio first, then the queue, then live audio.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::super::outcome::Phase;
use super::super::watch::Watchdog;
use super::Run;
use crate::Error;
use crate::session::Sender;

impl<S> Run<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Whether a drop now may be followed by a reconnect: reconnects left, a session to
    /// lose, and nothing else ending the run (a stop, a close the server meant).
    pub(super) fn resumable(&self) -> bool {
        self.reconnects_left > 0
            && self.connected
            && !self.finished
            && !self.facts.interrupted
            && self.facts.server_close.is_none()
            && self.facts.provider_error.is_none()
    }

    /// Whether events that ended did so without the server's close frame.
    pub(super) fn dropped_without_answer(&self) -> bool {
        self.facts.server_close.is_none()
    }

    /// The connection is lost for `cause`: let it go and have the loop dial a new one.
    pub(super) fn resume(&mut self, cause: String) {
        self.reconnects_left -= 1;
        self.reconnects += 1;
        tracing::warn!(
            provider = self.provider,
            reconnect = self.reconnects,
            audio = ?self.audio_sent,
            confirmed = ?self.replay.confirmed(),
            "{cause}; reconnecting"
        );
        // The gap runs from the last audio that flowed; a second drop before any audio
        // flowed again extends the same gap.
        let since = self.last_written.unwrap_or_else(Instant::now);
        self.gap_since.get_or_insert(since);
        self.sender.abort();
        self.redial = true;
        self.connected = false;
        self.broken = false;
        self.writing = None;
        self.in_flight.clear();
        self.probe_wanted = false;
        self.close_deadline = None;
        self.settle_deadline = None;
        self.watchdog = Watchdog::new(None, Instant::now());
        // A close already sent goes again on the new connection, after the replay.
        self.facts.close_sent = false;
        self.facts.all_sent = false;
        if self.phase == Phase::Closing {
            self.phase = Phase::Streaming;
        }
    }

    /// A new session is open: the kept audio goes first, and its results are re-based.
    pub(super) fn reconnected(&mut self, sender: Sender<S>) {
        let (offset, resend) = self.replay.resume(self.audio_sent);
        self.rebase.reconnected(offset, self.replay.confirmed());
        let bytes: usize = resend.iter().map(|(times, _)| times.bytes).sum();
        tracing::info!(
            provider = self.provider,
            reconnect = self.reconnects,
            from = ?offset,
            chunks = resend.len(),
            bytes,
            lost = self.replay.lost_bytes(),
            "reconnected; sending the unconfirmed audio again"
        );
        self.resend = resend;
        self.watchdog = Watchdog::new(self.config.stall_window, sender.last_heard());
        self.sender = sender;
        self.connected = true;
        self.conn_audio = offset;
        // Nothing left to send: audio would flow now if there were any.
        if self.resend.is_empty()
            && self.feed.exhausted()
            && let Some(since) = self.gap_since.take()
        {
            self.gaps.push(Instant::now().saturating_duration_since(since));
        }
    }

    /// Dialing the new session failed (every attempt of the policy): the run ends as a
    /// drop, saying so.
    pub(super) fn reconnect_failed(&mut self, error: &Error) {
        let cause = format!("reconnect {} failed: {error}", self.reconnects);
        tracing::warn!(provider = self.provider, "{cause}");
        self.ended_in.get_or_insert(self.phase);
        self.facts.transport_error = Some(cause);
        self.finished = true;
    }
}
