//! The crate's one error type.
//!
//! Every variant's documentation says what happened and what the caller should do about
//! it. Large payloads are boxed so that `Result<T>` stays small on hot paths; a test pins
//! the size.

use std::path::PathBuf;

/// A `Result` whose error is the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in sttbench.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An audio format or chunk duration the pipeline cannot work with (0 Hz, no
    /// channels, a chunk that is not a whole number of frames, …). This is a
    /// configuration mistake: fix the value the message names.
    #[error("invalid audio format: {0}")]
    Format(#[from] FormatError),

    /// A WAV file could not be used: it is missing, not WAV, truncated, empty or in an
    /// encoding we do not read. The message names the file and the problem; convert or
    /// replace the file.
    #[error(transparent)]
    Wav(#[from] Box<WavError>),

    /// A result, baseline or report file could not be read, written or parsed. The
    /// message names the file and the problem: check the path, the permissions, or
    /// regenerate the file.
    #[error(transparent)]
    File(#[from] Box<FileError>),

    /// A provider (Deepgram, AssemblyAI, or a mock of one) refused or ended the session,
    /// or its request could not be built. Match on the
    /// [`ProviderErrorKind`](crate::provider::ProviderErrorKind) (bad key, idle timeout,
    /// chunk duration, …); the message names the provider, the code and what to do.
    #[error(transparent)]
    Provider(#[from] Box<crate::provider::ProviderError>),
    /// A server URL that cannot be used (not `ws://` or `wss://`, no host, unparsable). Fix the URL
    /// the message names.
    #[error(transparent)]
    InvalidUrl(Box<UrlError>),

    /// A session could not be opened, even after the reconnect policy's attempts. The
    /// message says why (refused, timed out, handshake rejected): check that the server
    /// runs at that URL, or raise the connect timeout or the number of attempts.
    #[error(transparent)]
    Connect(Box<ConnectError>),

    /// The connection broke while streaming (reset, protocol violation by the peer, a
    /// message over a size limit). The session is unusable: open a new one and resend
    /// what the server had not yet acknowledged.
    #[error("the WebSocket connection failed: {0}")]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),

    /// The session is closed (by `close`, `abort`, or the peer), so nothing more can be
    /// sent on it. Open a new session to send more.
    #[error("the session is closed; open a new session to send more")]
    SessionClosed,

    /// The peer did not answer our close frame within the close timeout, so the
    /// connection was dropped. Everything sent before the close was flushed; raise the
    /// close timeout if the peer is known to be slow to finish.
    #[error("the peer did not answer the close within {0:?}; the connection was dropped")]
    CloseTimeout(std::time::Duration),

    /// The server closed the session before the stream was over; the message has its
    /// close code and reason (1008 idle, 1009 message too big, 4xxx provider-specific).
    /// Fix what the reason names, then reconnect and resend.
    #[error("the server closed the session early: {code} {reason}")]
    ServerClosed {
        /// The close code.
        code: u16,
        /// The close reason as sent.
        reason: Box<str>,
    },

    /// A setting outside what sttbench accepts (a streaming run longer than it will
    /// generate, …). The message names the setting and the accepted range: change it.
    #[error("invalid setting: {0}")]
    Setting(Box<str>),

    /// Options that do not go together (echo beside providers, one URL for several
    /// providers, …). The message says which and what to give instead; `sttbench` exits
    /// with status 2 for it, as for any usage error.
    #[error("{0}")]
    Usage(Box<str>),

    /// A streaming run ended before it completed: interrupted, dropped, stalled, its close
    /// unanswered, or behind real time. The [`Outcome`](crate::stream::Outcome) says how,
    /// where, and what was measured up to then. A close the dialect reads comes as
    /// [`Error::Provider`] instead.
    #[error("{0}")]
    Ended(Box<crate::stream::Outcome>),

    /// The high-resolution pacer or the timer-floor measurement cannot run here: not
    /// Linux, no tokio runtime in this context, or the kernel refused a timer (the
    /// descriptor limit was reached). The message says which and what to do; pacing
    /// with `pace::Pacer::tokio()` works everywhere, at 1 ms resolution.
    #[error(transparent)]
    Timer(Box<TimerError>),
}

impl Error {
    /// Whether this is a usage error: options that do not go together
    /// ([`Error::Usage`]) or a value out of range ([`Error::Setting`]). `sttbench` exits
    /// with status 2 for these, as for a flag it cannot parse, and 1 for the rest.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Usage(_) | Error::Setting(_))
    }
}

/// Why an [`AudioFormat`](crate::encode::AudioFormat) or chunk duration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The sample rate was 0 Hz.
    #[error("sample rate must be at least 1 Hz, got 0 Hz")]
    ZeroSampleRate,
    /// The channel count was 0.
    #[error("channel count must be at least 1, got 0")]
    ZeroChannels,
    /// The chunk duration was zero.
    #[error("chunk duration must be longer than 0 ms")]
    ZeroChunk,
    /// The chunk duration does not hold a whole number of frames at this sample rate, so
    /// chunks would drift against the audio clock.
    #[error(
        "a {duration_us} µs chunk at {sample_rate} Hz is {frames_times_1e6} / 1000000 frames, \
         not a whole number; pick a duration that is a multiple of 1/{sample_rate} s \
         (10 ms and 20 ms work at 8, 16, 44.1 and 48 kHz)"
    )]
    FractionalChunk {
        /// The requested duration in microseconds.
        duration_us: u64,
        /// The sample rate in Hz.
        sample_rate: u32,
        /// `sample_rate × duration` in frames × 10⁶, shown so the remainder is visible.
        frames_times_1e6: u64,
    },
    /// A conversion the pipeline does not do: upmixing, or resampling more than one
    /// channel. Speech-to-text wants mono; downmix first.
    #[error(
        "cannot convert {from} audio to {to}; only downmixing to mono and resampling mono are supported"
    )]
    UnsupportedConversion {
        /// The source format.
        from: crate::encode::AudioFormat,
        /// The requested format.
        to: crate::encode::AudioFormat,
    },
    /// Two sample rates too far apart to convert between (a file at 100 Hz, say): the
    /// resampler's filter grows with the ratio. Convert the audio to a rate near the
    /// target first, e.g. `sox in.wav -r 16000 out.wav`.
    #[error(
        "cannot resample {from} Hz to {to} Hz: the rates may be at most {max}× apart; \
         convert the audio first, e.g. `sox in.wav -r {to} out.wav`"
    )]
    ResampleRatio {
        /// The source rate in Hz.
        from: u32,
        /// The target rate in Hz.
        to: u32,
        /// The largest ratio accepted.
        max: u32,
    },
    /// The samples handed over do not fill a whole number of frames for the channel count.
    #[error("{samples} interleaved samples are not a whole number of {channels}-channel frames")]
    PartialFrame {
        /// Number of samples given.
        samples: usize,
        /// Channels per frame.
        channels: u16,
    },
}

/// A WAV file that could not be read, with the path and what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct WavError {
    /// The file that was being read.
    pub path: PathBuf,
    /// What was wrong, in words a user can act on.
    pub problem: String,
    /// The decoder's own error, when there was one.
    #[source]
    pub source: Option<hound::Error>,
}

/// A file that could not be read, written or parsed, with the path and what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct FileError {
    /// The file concerned.
    pub path: PathBuf,
    /// What went wrong, in words a user can act on.
    pub problem: String,
    /// The underlying error (I/O, JSON, …), when there was one.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// A server URL that could not be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("invalid server URL {url:?}: {problem}")]
pub struct UrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it, in words a user can act on.
    pub problem: String,
}

impl UrlError {
    /// A problem with `url`; converts into [`Error::InvalidUrl`] with `?` or `.into()`.
    pub fn new(url: impl Into<String>, problem: impl Into<String>) -> Self {
        UrlError { url: url.into(), problem: problem.into() }
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Error::InvalidUrl(Box::new(e))
    }
}

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {url} ({attempts} attempt(s)): {cause}")]
pub struct ConnectError {
    /// The URL the session was opening.
    pub url: String,
    /// How many attempts were made, including the first.
    pub attempts: u32,
    /// What went wrong on the last attempt.
    #[source]
    pub cause: ConnectFailure,
}

/// What went wrong on a connection attempt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectFailure {
    /// TCP connect plus the WebSocket handshake took longer than the connect timeout.
    #[error(
        "no WebSocket handshake within {0:?}; is the server overloaded, or not a WebSocket server?"
    )]
    Timeout(std::time::Duration),
    /// The TCP connection failed (refused, unreachable).
    #[error("TCP connect failed: {0}; is the server running?")]
    Io(#[source] std::io::Error),
    /// The TLS or WebSocket handshake failed: a certificate the session does not trust
    /// (see `SessionConfig::tls`), bad upgrade headers, or an HTTP answer to the upgrade.
    /// A session hands HTTP answers to the dialect instead, which gives its typed error.
    #[error("WebSocket handshake failed: {0}")]
    Handshake(#[source] tokio_tungstenite::tungstenite::Error),
}

/// Why a high-resolution timer is unavailable, with the OS error when there was one.
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub struct TimerError {
    /// What failed and what to do, the OS error included, in words a user can act on.
    pub problem: String,
    /// The system call's error, when one failed.
    #[source]
    pub source: Option<std::io::Error>,
}

impl TimerError {
    /// A timer `problem`; converts into [`Error::Timer`] with `?` or `.into()`.
    pub fn new(problem: impl Into<String>, source: Option<std::io::Error>) -> Self {
        TimerError { problem: problem.into(), source }
    }
}

impl From<TimerError> for Error {
    fn from(e: TimerError) -> Self {
        Error::Timer(Box::new(e))
    }
}

impl FileError {
    /// A problem with `path`; converts into [`Error::File`] with `?` or `.into()`.
    pub fn new(
        path: impl Into<PathBuf>,
        problem: impl Into<String>,
        source: impl Into<Option<Box<dyn std::error::Error + Send + Sync>>>,
    ) -> Self {
        FileError { path: path.into(), problem: problem.into(), source: source.into() }
    }
}

impl From<FileError> for Error {
    fn from(e: FileError) -> Self {
        Error::File(Box::new(e))
    }
}

impl From<WavError> for Error {
    fn from(e: WavError) -> Self {
        Error::Wav(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors travel through every `Result` in the pipeline; keep them small.
    #[test]
    fn error_is_small() {
        let size = std::mem::size_of::<Error>();
        assert!(size <= 32, "Error is {size} bytes; box the large variant");
    }

    #[test]
    fn fractional_chunk_message_names_the_fix() {
        let msg = FormatError::FractionalChunk {
            duration_us: 1000,
            sample_rate: 22_050,
            frames_times_1e6: 22_050_000,
        }
        .to_string();
        assert!(msg.contains("22050 Hz"), "{msg}");
        assert!(msg.contains("multiple of 1/22050 s"), "{msg}");
    }
}
