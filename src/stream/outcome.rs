//! How a run ended, and what it did up to then.
//!
//! Once the session is open, a run always returns an [`Outcome`]: the [`Ending`] (why it
//! stopped) with the run's counters, whatever happened, so that a run that was
//! interrupted or broken still reports what it measured. Only failures before the session
//! opened (bad input, a server that cannot be reached, a refused key) are errors.
//!
//! Which ending wins when several things go wrong together is decided in one place,
//! `decide.rs`.

use std::fmt;
use std::time::Duration;

use crate::provider::ProviderError;

/// The exit statuses of `sttbench stream`, one per way a run ends ([`Ending::exit_code`]).
pub mod exit {
    /// Every chunk was sent and the server answered the close.
    pub const COMPLETED: i32 = 0;
    /// Failed on the client's side: the run could not start (bad input, the server
    /// cannot be reached, a refused key) or the client failed.
    pub const FAILED: i32 = 1;
    /// Flags that do not go together, or a value out of range.
    pub const USAGE: i32 = 2;
    /// The server ended the session with a close frame (its code and reason say why).
    pub const SERVER_CLOSED: i32 = 3;
    /// The connection dropped without a close frame (reset, EOF).
    pub const DROPPED: i32 = 4;
    /// The server stopped reading or answering.
    pub const STALLED: i32 = 5;
    /// The server did not answer the close within the close timeout.
    pub const CLOSE_TIMEOUT: i32 = 6;
    /// The uplink could not keep real time: the queue overflowed under `QueuePolicy::Fail`.
    pub const FELL_BEHIND: i32 = 7;
    /// Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
    pub const INTERRUPTED: i32 = 130;
}

/// Where in its life a run was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Opening the session.
    Connecting,
    /// Sending audio.
    Streaming,
    /// In a pause between chunks (see [`Pause`](super::Pause)).
    Paused,
    /// The close is sent (or about to be); waiting for the server's.
    Closing,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connecting => "connecting",
            Phase::Streaming => "streaming",
            Phase::Paused => "paused",
            Phase::Closing => "closing",
        })
    }
}

/// Which way the server stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StallKind {
    /// It stopped reading: one write waited the whole stall window.
    NotReading,
    /// It stopped answering: silent for the whole window (a probe ping included) while it
    /// owed an answer.
    NotAnswering,
}

/// A stall, as found: which kind, how long, and where in the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stall {
    /// Which way the server stalled.
    pub kind: StallKind,
    /// How long the write waited, or how long the server had been silent.
    #[serde(rename = "waited_ns", serialize_with = "crate::metrics::as_nanos")]
    pub waited: Duration,
    /// The audio written when it began: before the blocked write, or when the server
    /// last spoke.
    #[serde(rename = "audio_sent_ns", serialize_with = "crate::metrics::as_nanos")]
    pub audio_sent: Duration,
    /// The audio the server had answered up to: the end of its last transcript, or of
    /// the last chunk it echoed. Where it stopped, as far as the client can tell.
    #[serde(rename = "answered_ns", serialize_with = "crate::metrics::as_nanos")]
    pub answered: Duration,
    /// What the run was doing.
    pub phase: Phase,
}

impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StallKind::NotReading => {
                write!(f, "the server stopped reading: a write has waited {:.1?}", self.waited)
            }
            StallKind::NotAnswering => {
                write!(
                    f,
                    "the server stopped answering: silent for {:.1?}, a ping included",
                    self.waited
                )
            }
        }?;
        write!(
            f,
            " ({:.2?} of audio sent, answered up to {:.2?}), while {}",
            self.audio_sent, self.answered, self.phase
        )
    }
}

/// Why a run stopped. [`exit_code`](Self::exit_code) maps each to `sttbench stream`'s
/// status, [`label`](Self::label) to the JSON's `ended`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Ending {
    /// Every chunk was sent and the server answered the close normally.
    Completed,
    /// Stopped by [`Control::stop`](super::Control::stop) or `abort` (Ctrl-C); `closed`
    /// says whether the graceful close completed in time.
    Interrupted {
        /// Whether the server answered the close within the stop timeout.
        closed: bool,
    },
    /// The server sent a close frame other than the normal answer to ours.
    ServerClosed {
        /// The close code.
        code: u16,
        /// The close reason as sent.
        reason: String,
        /// The dialect's reading of the code (bad key, idle timeout, …), when it has one.
        error: Option<Box<ProviderError>>,
    },
    /// The connection broke without a close frame.
    Dropped {
        /// What the transport said (reset, EOF …).
        cause: String,
    },
    /// The server stopped reading or answering; the driver dropped the connection.
    Stalled(Stall),
    /// Our close was not answered within the close timeout; the connection was dropped.
    CloseTimeout(Duration),
    /// The queue to the writer overflowed under [`QueuePolicy::Fail`](super::QueuePolicy::Fail).
    FellBehind {
        /// The audio waiting in the queue when it overflowed.
        queued: Duration,
    },
}

impl Ending {
    /// The JSON's `ended`: `completed`, `interrupted`, `closed by server`,
    /// `connection dropped`, `stalled`, `close timeout` or `fell behind`.
    pub fn label(&self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Interrupted { .. } => "interrupted",
            Ending::ServerClosed { .. } => "closed by server",
            Ending::Dropped { .. } => "connection dropped",
            Ending::Stalled(_) => "stalled",
            Ending::CloseTimeout(_) => "close timeout",
            Ending::FellBehind { .. } => "fell behind",
        }
    }

    /// The exit status this ending gives `sttbench stream`; see [`exit`].
    pub fn exit_code(&self) -> i32 {
        match self {
            Ending::Completed => exit::COMPLETED,
            Ending::Interrupted { .. } => exit::INTERRUPTED,
            Ending::ServerClosed { .. } => exit::SERVER_CLOSED,
            Ending::Dropped { .. } => exit::DROPPED,
            Ending::Stalled(_) => exit::STALLED,
            Ending::CloseTimeout(_) => exit::CLOSE_TIMEOUT,
            Ending::FellBehind { .. } => exit::FELL_BEHIND,
        }
    }

    /// `true` for [`Ending::Completed`].
    pub fn is_completed(&self) -> bool {
        matches!(self, Ending::Completed)
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Completed => f.write_str("completed"),
            Ending::Interrupted { closed: true } => {
                f.write_str("interrupted; the session closed normally")
            }
            Ending::Interrupted { closed: false } => f.write_str(
                "interrupted; the connection was dropped without waiting for the server",
            ),
            Ending::ServerClosed { error: Some(error), .. } => write!(f, "{error}"),
            Ending::ServerClosed { code, reason, error: None } => {
                write!(f, "the server closed the session with {code}")?;
                if !reason.is_empty() {
                    write!(f, " {reason:?}")?;
                }
                Ok(())
            }
            Ending::Dropped { cause } => {
                write!(f, "the connection dropped without a close frame: {cause}")
            }
            Ending::Stalled(stall) => write!(f, "{stall}"),
            Ending::CloseTimeout(limit) => {
                write!(
                    f,
                    "the server did not answer the close within {limit:?}; the connection was dropped"
                )
            }
            Ending::FellBehind { queued } => write!(
                f,
                "the uplink could not keep real time: {queued:.2?} of audio waited for the socket and the queue overflowed"
            ),
        }
    }
}

/// What a run did, however it ended. Counters are this run's own; the latency
/// distributions live in the caller's observer ([`Recorder`](super::Recorder)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// The dialect's name: `echo`, `deepgram`, `assemblyai`.
    pub provider: &'static str,
    /// Why it stopped.
    pub ending: Ending,
    /// What the run was doing when it stopped.
    pub phase: Phase,
    /// Whether chunks were paced in real time.
    pub realtime: bool,
    /// Audio per chunk.
    pub chunk: Duration,
    /// Chunks the audio was cut into.
    pub chunks_total: u64,
    /// Chunks written to the socket.
    pub chunks_sent: u64,
    /// Chunks dropped by a full queue ([`QueuePolicy::Drop`](super::QueuePolicy::Drop)).
    pub chunks_dropped: u64,
    /// Payload bytes written.
    pub bytes_sent: u64,
    /// All the audio, padding included.
    pub audio: Duration,
    /// Audio time at the end of the last chunk written.
    pub audio_sent: Duration,
    /// Time the connect took.
    pub connect: Duration,
    /// From the first chunk's due time to the last chunk written.
    pub sending: Duration,
    /// From the first chunk's due time to the end of the run (close included).
    pub wall: Duration,
    /// The server's close code and reason, if it sent a close frame.
    pub server_close: Option<(u16, String)>,
    /// Reconnects after a dropped connection (see
    /// [`ReconnectPolicy::reconnects`](crate::session::ReconnectPolicy::reconnects)).
    pub reconnects: u32,
    /// Audio bytes sent again after reconnects: what no final had confirmed when each
    /// connection dropped. Not part of `bytes_sent`, which counts each chunk once.
    pub audio_replayed_bytes: u64,
    /// Audio bytes no connection may have heard: unconfirmed audio beyond the replay limit
    /// when a connection dropped. 0 unless that limit was exceeded.
    pub audio_lost_bytes: u64,
    /// Each reconnect's gap, in order: the last audio written before the drop → the first
    /// audio written after it (time without audio flowing).
    pub reconnect_gaps: Vec<Duration>,
}

impl Outcome {
    /// The exit status of `sttbench stream` for this run; see [`exit`].
    pub fn exit_code(&self) -> i32 {
        self.ending.exit_code()
    }

    /// The outcome if the run completed; otherwise the error that ended it: the dialect's
    /// typed error for a close it reads (so `provider::error::kind_of` works), else
    /// [`crate::Error::Ended`] holding this outcome.
    ///
    /// # Errors
    ///
    /// As above, for every ending but [`Ending::Completed`].
    pub fn into_result(self) -> crate::Result<Outcome> {
        match self.ending {
            Ending::Completed => Ok(self),
            Ending::ServerClosed { error: Some(error), .. } => Err(crate::Error::Provider(error)),
            _ => Err(crate::Error::Ended(Box::new(self))),
        }
    }
}

/// One line: who, how it ended, in which phase, at which audio position.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ending {
            Ending::Completed => {
                write!(f, "{}: completed, {:.2?} of audio sent", self.provider, self.audio_sent)?;
                if self.reconnects > 0 {
                    write!(f, ", {} reconnects", self.reconnects)?;
                }
                Ok(())
            }
            // A provider error names the provider itself.
            Ending::ServerClosed { error: Some(_), .. } => {
                write!(
                    f,
                    "{} (while {}, after {:.2?} of audio)",
                    self.ending, self.phase, self.audio_sent
                )
            }
            // A stall names its own phase and position.
            Ending::Stalled(_) => write!(f, "{}: {}", self.provider, self.ending),
            ending => {
                write!(
                    f,
                    "{}: {ending} (while {}, after {:.2?} of audio)",
                    self.provider, self.phase, self.audio_sent
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderErrorKind;

    #[test]
    fn a_typed_close_keeps_the_dialects_error_and_converts_back_to_it() {
        let error =
            ProviderError::new("deepgram", ProviderErrorKind::IdleTimeout, Some(1011), "NET-0001");
        let ending = Ending::ServerClosed {
            code: 1011,
            reason: "NET-0001".into(),
            error: Some(Box::new(error)),
        };
        assert_eq!(ending.exit_code(), exit::SERVER_CLOSED);
        let outcome = Outcome {
            provider: "deepgram",
            ending,
            phase: Phase::Streaming,
            realtime: false,
            chunk: Duration::from_millis(100),
            chunks_total: 10,
            chunks_sent: 4,
            chunks_dropped: 0,
            bytes_sent: 12_800,
            audio: Duration::from_secs(1),
            audio_sent: Duration::from_millis(400),
            connect: Duration::ZERO,
            sending: Duration::ZERO,
            wall: Duration::ZERO,
            server_close: None,
            reconnects: 0,
            audio_replayed_bytes: 0,
            audio_lost_bytes: 0,
            reconnect_gaps: Vec::new(),
        };
        let text = outcome.to_string();
        assert!(
            text.contains("deepgram") && text.contains("while streaming") && text.contains("400"),
            "{text}"
        );
        let error = outcome.into_result().unwrap_err();
        assert_eq!(crate::provider::error::kind_of(&error), Some(ProviderErrorKind::IdleTimeout));
    }

    #[test]
    fn exit_codes_follow_the_table() {
        for (ending, code) in [
            (Ending::Completed, 0),
            (Ending::Interrupted { closed: true }, 130),
            (Ending::Dropped { cause: String::new() }, 4),
            (Ending::CloseTimeout(Duration::ZERO), 6),
            (Ending::FellBehind { queued: Duration::ZERO }, 7),
        ] {
            assert_eq!(ending.exit_code(), code, "{ending}");
        }
    }
}
