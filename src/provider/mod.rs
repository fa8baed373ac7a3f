//! Provider dialects: what a session and a mock server say to each other, per provider.
//!
//! A [`Dialect`] is pure protocol: the upgrade request (URL, query, auth headers), the
//! control messages (keep-alive, finalize, close-stream), parsing server frames into one
//! [`Event`] enum, and mapping close codes to typed errors. It owns no socket; the
//! session asks it what to send and how to read what comes back, so adding a provider
//! never touches the session.
//!
//! Dialects: `echo` (the local echo socket; binary frames come back as they went),
//! [`deepgram`] and [`assemblyai`]. Credentials ([`ApiKey`]) never print their value;
//! provider failures are one [`ProviderError`] with a typed [`ProviderErrorKind`].
//! `token` (feature `tokens`, on by default) mints temporary tokens over HTTPS.

pub mod assemblyai;
pub mod credential;
pub mod deepgram;
pub mod error;
mod hosted;
#[cfg(feature = "tokens")]
pub mod token;
mod wire;

pub use credential::{ApiKey, Credential};
pub use error::{ProviderError, ProviderErrorKind};
pub use hosted::Hosted;

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::client::Request;

use crate::encode::AudioFormat;

pub mod echo;

pub use echo::Echo;

/// How a session keeps an idle connection open.
#[derive(Debug, Clone, PartialEq)]
pub enum KeepAlive {
    /// A WebSocket ping control frame (answered by any compliant peer).
    Ping,
    /// A provider-level message, such as Deepgram's `{"type":"KeepAlive"}`.
    Message(Message),
}

/// Something the server told the client, in provider-neutral form.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A binary frame echoed back (the echo dialect).
    Echo(Bytes),
    /// A text frame echoed back (the echo dialect).
    EchoText(String),
    /// A transcript, partial or final.
    Transcript(Transcript),
    /// The provider detected the start of speech at this audio time.
    SpeechStarted {
        /// Audio time from the start of the stream.
        at: Duration,
    },
    /// The provider declared the end of an utterance or turn.
    TurnEnd {
        /// Audio time of the end of the last word, when the provider says.
        last_word_end: Option<Duration>,
    },
    /// Session metadata (Deepgram `Metadata`, AssemblyAI `Begin`): provider session id
    /// and the raw JSON.
    Metadata {
        /// The provider's id for this session, when it sends one.
        session_id: Option<String>,
        /// The message as received.
        raw: String,
    },
    /// A message of a type this dialect does not know; kept, never fatal.
    Unknown(String),
    /// The provider reported an error in a message (Deepgram `Error`, AssemblyAI
    /// `Error`); a close with a code usually follows.
    ProviderError {
        /// The provider's error code or variant, when it sends one.
        code: Option<String>,
        /// The provider's description.
        message: String,
    },
    /// The server closed the connection.
    Closed {
        /// The close code (1000 normal, 1008 policy, 1011 internal, 4xxx provider).
        code: u16,
        /// The close reason as sent.
        reason: String,
    },
}

/// A partial or final transcript, in audio time.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Transcript {
    /// The words, as the provider formatted them.
    pub text: String,
    /// `true` for a final (immutable) transcript, `false` for a partial.
    pub is_final: bool,
    /// `true` when this final also ends the utterance or turn (Deepgram
    /// `speech_final`, AssemblyAI `end_of_turn`).
    pub ends_turn: bool,
    /// Audio time where the transcribed span starts.
    pub start: Duration,
    /// Audio time where the transcribed span ends.
    pub end: Duration,
    /// The provider's turn number (AssemblyAI `turn_order`), when it numbers turns; a
    /// later message for the same turn replaces the earlier text.
    pub turn: Option<u32>,
}

/// What a session needs to know about the protocol it speaks. See the module doc.
pub trait Dialect: fmt::Debug + Send + Sync + 'static {
    /// Short stable name: `echo`, `deepgram`, `assemblyai`.
    fn name(&self) -> &'static str;

    /// The WebSocket upgrade request for a server at `url` (`ws://` or `wss://`, with or
    /// without a path) streaming `format`: path, query parameters and auth headers.
    ///
    /// # Errors
    ///
    /// [`crate::Error`] when `url` is not a WebSocket URL or a credential is missing.
    fn request(&self, url: &str, format: AudioFormat) -> crate::Result<Request>;

    /// Checks a chunk of `duration` before it is sent; AssemblyAI, for one, rejects
    /// chunks outside 50–1000 ms. The default accepts everything.
    ///
    /// # Errors
    ///
    /// [`crate::Error`] saying which limit the chunk breaks.
    fn check_chunk(&self, duration: Duration) -> crate::Result<()> {
        let _ = duration;
        Ok(())
    }

    /// What to send to keep an idle connection open.
    fn keep_alive(&self) -> KeepAlive {
        KeepAlive::Ping
    }

    /// A message asking the server to finalize what it has heard so far (Deepgram
    /// `Finalize`, AssemblyAI `ForceEndpoint`); `None` when the dialect has none.
    fn finalize(&self) -> Option<Message> {
        None
    }

    /// A message asking the server to finish and close (Deepgram `CloseStream`,
    /// AssemblyAI `Terminate`); `None` means a graceful close is a close frame.
    fn close_stream(&self) -> Option<Message> {
        None
    }

    /// Parses one data frame (text or binary) from the server into an event.
    ///
    /// Malformed or unexpected messages become [`Event::Unknown`], never a panic.
    fn parse(&self, message: Message) -> Event;

    /// `true` when the server sends every data frame back as it was sent, in order (the
    /// echo socket). The session then pairs each echo with its send and records the
    /// round trip; for any other dialect it keeps no per-chunk state.
    fn echoes(&self) -> bool {
        false
    }

    /// The typed error a close with `code` and `reason` stands for, or `None` for a
    /// normal close.
    fn close_error(&self, code: u16, reason: &str) -> Option<crate::Error> {
        let _ = (code, reason);
        None
    }

    /// The typed error for an upgrade the server answered with HTTP `status` and `body`
    /// instead of 101 (Deepgram answers a bad key with 401), or `None` when the status
    /// means nothing particular in this protocol; the session then reports a connect
    /// error naming the status. The default maps nothing. Either way the session does not
    /// retry: the answer is the server's decision.
    fn handshake_error(&self, status: u16, body: &str) -> Option<crate::Error> {
        let _ = (status, body);
        None
    }
}

/// At most the first 200 characters of a provider's body or reason, for error messages:
/// enough to read, never a whole HTML error page.
pub(crate) fn short(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    let text = text.trim();
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
