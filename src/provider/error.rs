//! What a provider refused, and what the caller should do about it.
//!
//! Providers report failures three ways: an HTTP status instead of the WebSocket upgrade
//! (Deepgram), a close frame with a code and a reason (both), or a JSON error message
//! (both, rarely). Each dialect maps its documented codes onto one [`ProviderErrorKind`],
//! so a caller can match on "bad key" or "idle timeout" without knowing which provider
//! it talks to; the message still names the provider, the code and the provider's own
//! reason.
//!
//! This module only describes errors; deciding which code means what is each dialect's
//! job (`deepgram::close_error`, `assemblyai::close_error`).

use std::fmt;

/// A failure reported by (or about) a provider, with the provider's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// `deepgram` or `assemblyai`: the [`Dialect::name`](super::Dialect::name).
    pub provider: &'static str,
    /// What happened, provider-neutral.
    pub kind: ProviderErrorKind,
    /// The WebSocket close code or HTTP status that carried it, when there was one.
    pub code: Option<u16>,
    /// The provider's reason or body, or our own explanation for client-side checks.
    pub detail: String,
}

/// What went wrong, in terms a caller can act on. Each variant says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// The key or token was missing, wrong, expired or lacks permission. Check the key
    /// in the provider's environment variable (or mint a fresh temporary token).
    Auth,
    /// The account cannot pay for this (Deepgram 402, AssemblyAI 4002). Check billing.
    Payment,
    /// Too many concurrent sessions or new sessions per minute. Back off and retry, or
    /// raise the account's limit.
    TooManySessions,
    /// The server heard nothing (no audio, no keep-alive) for its idle window (Deepgram
    /// NET-0001, 10 s). Send keep-alives during silence.
    IdleTimeout,
    /// The provider produced no response in its window (Deepgram NET-0000). Usually a
    /// provider-side problem; retry, and send enough audio.
    ResponseTimeout,
    /// The audio could not be decoded (Deepgram DATA-0000): the bytes do not match the
    /// declared encoding, sample rate or channels. Check the format the session declares.
    UndecodableAudio,
    /// A chunk held too little or too much audio (AssemblyAI 3007: 50–1000 ms). Pick a
    /// chunk duration inside the provider's range.
    ChunkDuration,
    /// Audio arrived faster than real time allows (AssemblyAI 3007 "Transmission Rate",
    /// Deepgram's 1.25×). Pace the stream at real time.
    RateExceeded,
    /// The session reached its maximum length (AssemblyAI 3008: 3 h or the token's
    /// limit). Open a new session.
    SessionExpired,
    /// The provider rejected a text message we sent (AssemblyAI 3006, Deepgram `Error`).
    /// A bug in the dialect or a protocol change: report it with the detail.
    InvalidMessage,
    /// The provider rejected a query parameter (HTTP 400): fix the configuration value
    /// the detail names.
    BadRequest,
    /// The provider failed internally (1011, AssemblyAI 3005). Retry later.
    Server,
    /// The provider did not answer within the client's deadline (token requests). Retry,
    /// or raise the timeout on a slow network.
    Timeout,
    /// The provider could not be reached (DNS, refused connection, TLS). Check the URL
    /// and the network.
    Network,
    /// The provider answered with something the client does not understand (a token
    /// reply without the documented fields). The API may have changed: report it with
    /// the detail.
    UnexpectedResponse,
    /// The local configuration cannot make a request: no credential, a URL that is not
    /// `ws://` or `wss://`, a format the provider does not take. Fix the value named.
    Config,
    /// A close or status no table above covers. The detail has the provider's words.
    Other,
}

impl ProviderErrorKind {
    /// What happened and what to do, in one sentence for the error message.
    fn advice(self) -> &'static str {
        match self {
            Self::Auth => {
                "the credentials were rejected; check the API key (or mint a new temporary token)"
            }
            Self::Payment => {
                "the account cannot pay for this session; check the provider account's billing"
            }
            Self::TooManySessions => {
                "too many concurrent or new sessions; back off and retry, or raise the account limit"
            }
            Self::IdleTimeout => {
                "the server received no audio or keep-alive within its idle window; send keep-alives during silence"
            }
            Self::ResponseTimeout => {
                "the provider sent no response within its window; retry, and check that audio was sent"
            }
            Self::UndecodableAudio => {
                "the audio could not be decoded; check that encoding, sample rate and channels match the bytes sent"
            }
            Self::ChunkDuration => {
                "a chunk's audio duration is outside the provider's limits; pick a chunk duration inside them"
            }
            Self::RateExceeded => {
                "audio was sent faster than real time allows; pace the stream at real time"
            }
            Self::SessionExpired => "the session reached its maximum duration; open a new session",
            Self::InvalidMessage => {
                "the provider rejected a message the client sent; report this with the detail below"
            }
            Self::BadRequest => {
                "the provider rejected a request parameter; fix the value the detail names"
            }
            Self::Server => "the provider failed internally; retry later",
            Self::Timeout => {
                "the provider did not answer in time; retry, or raise the timeout on a slow network"
            }
            Self::Network => "the provider could not be reached; check the URL and the network",
            Self::UnexpectedResponse => {
                "the provider's reply was not understood; the API may have changed, report it with the detail"
            }
            Self::Config => "the request could not be built; fix the configuration value named",
            Self::Other => "the provider ended the session",
        }
    }
}

impl ProviderError {
    /// An error from `provider`; `.into()` makes it a [`crate::Error::Provider`].
    pub fn new(
        provider: &'static str,
        kind: ProviderErrorKind,
        code: Option<u16>,
        detail: impl Into<String>,
    ) -> Self {
        ProviderError { provider, kind, code, detail: detail.into() }
    }

    /// A [`ProviderErrorKind::Config`] error: the request could not be built.
    pub fn config(provider: &'static str, detail: impl Into<String>) -> Self {
        Self::new(provider, ProviderErrorKind::Config, None, detail)
    }
}

impl From<ProviderError> for crate::Error {
    fn from(e: ProviderError) -> Self {
        crate::Error::Provider(Box::new(e))
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.provider, self.kind.advice())?;
        if let Some(code) = self.code {
            write!(f, " (code {code})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}

/// The [`ProviderErrorKind`] behind a `crate::Error`, if it is a provider error.
///
/// ```
/// use sttbench::provider::{ProviderError, ProviderErrorKind, error::kind_of};
/// let e = ProviderError::new("deepgram", ProviderErrorKind::Auth, Some(401), "").into();
/// assert_eq!(kind_of(&e), Some(ProviderErrorKind::Auth));
/// ```
pub fn kind_of(error: &crate::Error) -> Option<ProviderErrorKind> {
    match error {
        crate::Error::Provider(p) => Some(p.kind),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_provider_code_advice_and_detail() {
        let e: crate::Error = ProviderError::new(
            "deepgram",
            ProviderErrorKind::IdleTimeout,
            Some(1011),
            "Deepgram did not receive audio data … See https://dpgr.am/net0001",
        )
        .into();
        let msg = e.to_string();
        for part in ["deepgram", "keep-alive", "code 1011", "net0001"] {
            assert!(msg.contains(part), "{part} missing from {msg}");
        }
    }
}
