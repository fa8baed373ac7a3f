//! The one place that decides how a run ended when several things went wrong together.
//!
//! The loop records every fact as it happens ([`Facts`]); [`Facts::decide`] orders them:
//! the user's word first (Ctrl-C), then the server's (a close frame explains the broken
//! pipe that a later write meets, so a server's 1011 is never reported as "connection
//! reset"), then what the client saw: a stall, a queue that overflowed, a dropped
//! connection, a close that was never answered.

use std::time::Duration;

use super::outcome::{Ending, Stall};
use crate::provider::ProviderError;

/// What happened during a run, gathered as it happens; [`decide`](Self::decide) turns it
/// into one [`Ending`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Facts {
    /// A stop or abort was asked for.
    pub(crate) interrupted: bool,
    /// Every chunk went out.
    pub(crate) all_sent: bool,
    /// Our close went out.
    pub(crate) close_sent: bool,
    /// The server's close frame, as an event.
    pub(crate) server_close: Option<(u16, String)>,
    /// A close the dialect read as an error.
    pub(crate) provider_error: Option<ProviderError>,
    /// A read or write failed without a close frame.
    pub(crate) transport_error: Option<String>,
    /// The stall that ended the run.
    pub(crate) stall: Option<Stall>,
    /// The close timeout that ran out.
    pub(crate) close_timeout: Option<Duration>,
    /// The audio queued when the queue overflowed.
    pub(crate) fell_behind: Option<Duration>,
    /// The server's events ended (after its close frame, or without one).
    pub(crate) events_ended: bool,
}

impl Facts {
    /// The one ending these facts add up to, by the order in the module doc.
    pub(crate) fn decide(self) -> Ending {
        let normal_close = matches!(&self.server_close, Some((1000, _))) && self.close_sent;
        if self.interrupted {
            return Ending::Interrupted { closed: normal_close && self.events_ended };
        }
        if let Some(error) = self.provider_error {
            let code = error.code.unwrap_or(1005);
            let reason = error.detail.clone();
            return Ending::ServerClosed { code, reason, error: Some(Box::new(error)) };
        }
        if let Some((code, reason)) = self.server_close.clone()
            && !(normal_close && self.all_sent)
        {
            return Ending::ServerClosed { code, reason, error: None };
        }
        if let Some(stall) = self.stall {
            return Ending::Stalled(stall);
        }
        if let Some(queued) = self.fell_behind {
            return Ending::FellBehind { queued };
        }
        if let Some(cause) = self.transport_error {
            return Ending::Dropped { cause };
        }
        if let Some(limit) = self.close_timeout {
            return Ending::CloseTimeout(limit);
        }
        if self.server_close.is_none() {
            let cause = "the server ended the connection without a close frame".to_string();
            return Ending::Dropped { cause };
        }
        Ending::Completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{Phase, StallKind};

    fn closed_normally() -> Facts {
        Facts {
            all_sent: true,
            close_sent: true,
            server_close: Some((1000, String::new())),
            events_ended: true,
            ..Facts::default()
        }
    }

    #[test]
    fn a_normal_answer_to_our_close_is_completion() {
        assert_eq!(closed_normally().decide(), Ending::Completed);
        let early = Facts { close_sent: false, all_sent: false, ..closed_normally() };
        assert!(
            matches!(early.decide(), Ending::ServerClosed { code: 1000, .. }),
            "1000 before our close"
        );
    }

    #[test]
    fn the_users_word_comes_first_then_the_servers_then_what_the_client_saw() {
        let stall = Stall {
            kind: StallKind::NotAnswering,
            waited: Duration::from_secs(5),
            audio_sent: Duration::from_secs(2),
            answered: Duration::from_secs(1),
            phase: Phase::Streaming,
        };
        assert_eq!(
            stall.to_string(),
            "the server stopped answering: silent for 5.0s, a ping included (2.00s of audio sent, \
             answered up to 1.00s), while streaming"
        );
        let everything = || Facts {
            interrupted: true,
            server_close: Some((1011, "bye".into())),
            transport_error: Some("reset".into()),
            stall: Some(stall),
            close_timeout: Some(Duration::from_secs(5)),
            fell_behind: Some(Duration::from_secs(2)),
            ..Facts::default()
        };
        assert_eq!(everything().decide(), Ending::Interrupted { closed: false });
        let server = Facts { interrupted: false, ..everything() };
        assert!(matches!(server.decide(), Ending::ServerClosed { code: 1011, error: None, .. }));
        let stalled = Facts { interrupted: false, server_close: None, ..everything() };
        assert_eq!(stalled.clone().decide(), Ending::Stalled(stall));
        let behind = Facts { stall: None, ..stalled };
        assert!(matches!(behind.clone().decide(), Ending::FellBehind { .. }));
        let dropped = Facts { fell_behind: None, ..behind };
        assert_eq!(dropped.clone().decide(), Ending::Dropped { cause: "reset".into() });
        let timed_out = Facts { transport_error: None, ..dropped };
        assert_eq!(timed_out.decide(), Ending::CloseTimeout(Duration::from_secs(5)));
    }

    #[test]
    fn a_typed_close_wins_over_the_broken_pipe_it_caused() {
        let error = ProviderError::new(
            "deepgram",
            crate::provider::ProviderErrorKind::IdleTimeout,
            Some(1011),
            "NET-0001",
        );
        let facts = Facts {
            provider_error: Some(error),
            transport_error: Some("EPIPE".into()),
            ..Facts::default()
        };
        let ending = facts.decide();
        assert!(
            matches!(&ending, Ending::ServerClosed { code: 1011, error: Some(_), .. }),
            "{ending:?}"
        );
    }

    #[test]
    fn events_that_end_without_a_close_frame_are_a_drop() {
        let facts =
            Facts { all_sent: true, close_sent: true, events_ended: true, ..Facts::default() };
        assert!(matches!(facts.decide(), Ending::Dropped { .. }));
    }
}
