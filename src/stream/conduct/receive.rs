//! The receive half of a run: each event of the connection, re-based onto the run's
//! timeline, confirming audio, paired with its echo, and the ones that end a connection
//! (an error, a close, the end of the events) turned into a reconnect or a fact.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::super::observer::{Observer, Received};
use super::super::replay::{confirmed_by, retryable_close, retryable_error};
use super::{Run, cause};
use crate::Error;
use crate::provider::Event;

impl<S> Run<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    pub(super) fn on_event<O: Observer>(
        &mut self,
        event: Option<crate::Result<Event>>,
        observer: &mut O,
    ) {
        let mut event = match event {
            Some(Ok(event)) => event,
            Some(Err(Error::Provider(error))) if self.resumable() && retryable_error(&error) => {
                return self.resume(format!("the server closed the session: {error}"));
            }
            Some(Err(Error::Provider(error))) => {
                self.ended_in.get_or_insert(self.phase);
                self.facts.provider_error = Some(*error);
                self.facts.events_ended = true;
                return;
            }
            Some(Err(error)) if self.resumable() => return self.resume(cause("reading", &error)),
            Some(Err(error)) => {
                let cause = cause("reading", &error);
                self.ended_in.get_or_insert(self.phase);
                self.facts.transport_error.get_or_insert(cause);
                self.facts.events_ended = true;
                return;
            }
            None if self.resumable() && self.dropped_without_answer() => {
                return self.resume("the server ended the connection without a close frame".into());
            }
            None => {
                self.facts.events_ended = true;
                return;
            }
        };
        let at = Instant::now();
        if !self.rebase.apply(&mut event) {
            // A repeat of a result delivered before the reconnect.
            self.watchdog.heard(at, None);
            return;
        }
        let echo_of = match event {
            Event::Echo(_) if self.echoes => self.in_flight.pop_front(),
            _ => None,
        };
        let answered = match &event {
            Event::Transcript(t) => Some(t.end),
            _ => echo_of.map(|chunk| chunk.audio_end),
        };
        self.watchdog.heard(at, answered);
        if let Some(cursor) = confirmed_by(&event, echo_of.as_ref()) {
            self.replay.confirm(cursor);
        }
        observer.received(&Received { event: &event, at, echo_of });
        // A normal close before ours is a server that ended the session with audio still
        // to come: as good as a drop, for audio that must not be lost.
        if let Event::Closed { code, .. } = &event
            && self.resumable()
            && (retryable_close(*code) || (*code == 1000 && !self.facts.close_sent))
        {
            return self.resume(format!("the server closed the session with {code}"));
        }
        if let Event::Closed { code, reason } = event {
            if !self.facts.close_sent {
                tracing::info!(provider = self.provider, code, %reason, "the server closed the session");
            }
            self.ended_in.get_or_insert(self.phase);
            self.facts.server_close = Some((code, reason));
            // Nothing can be sent after the server's close; its events end next, and
            // the close timeout bounds a server that never lets go of the connection.
            self.feed.seal();
            let limit = at + self.config.session.get_close_timeout();
            let bound = self.stop_deadline.take().map_or(limit, |stop| stop.min(limit));
            self.settle_deadline.get_or_insert(bound);
        }
    }
}
