//! The Deepgram live-streaming dialect (`/v1/listen`).
//!
//! - Request: `wss://api.deepgram.com/v1/listen?encoding=linear16&sample_rate=…`, with
//!   `Authorization: Token <key>` (or `Bearer <token>` for a temporary token).
//! - Client → server: audio as binary frames (never an empty one: Deepgram reads that as
//!   a protocol error), and text JSON `KeepAlive`, `Finalize`, `CloseStream`.
//! - Server → client: `Results` (interim or final; `speech_final` ends the utterance),
//!   `Metadata`, `SpeechStarted`, `UtteranceEnd`, `Error`; anything else is kept as
//!   [`Event::Unknown`].
//! - Failures: HTTP 4xx at the upgrade ([`Dialect::handshake_error`]), and close codes
//!   1008 `DATA-0000`, 1011 `NET-0000`/`NET-0001` ([`Dialect::close_error`]).
//!
//! Facts and sources: `docs/providers.md`, "Deepgram". This file does not open sockets.

use std::time::Duration;

use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::client::Request;

use super::{
    ApiKey, Credential, Dialect, Event, KeepAlive, ProviderError, ProviderErrorKind, Transcript,
    wire,
};
use crate::encode::AudioFormat;

/// The production endpoint; the path `/v1/listen` is added by [`Dialect::request`].
pub const PRODUCTION_URL: &str = "wss://api.deepgram.com";

/// The environment variable [`DeepgramConfig::from_env`] reads the key from.
pub const API_KEY_ENV: &str = "DEEPGRAM_API_KEY";

const NAME: &str = "deepgram";

/// How to open a Deepgram live session: model, result options and the credential.
///
/// ```
/// use std::time::Duration;
/// use sttbench::provider::{ApiKey, Credential, deepgram::DeepgramConfig};
/// let config = DeepgramConfig::default()
///     .model("nova-3")
///     .endpointing(Some(Duration::from_millis(300)))
///     .credential(Credential::Key(ApiKey::new("test-key")));
/// assert_eq!(config.model_name(), "nova-3");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeepgramConfig {
    model: String,
    interim_results: bool,
    endpointing: Option<Duration>,
    utterance_end: Option<Duration>,
    vad_events: bool,
    smart_format: bool,
    language: Option<String>,
    credential: Option<Credential>,
}

impl Default for DeepgramConfig {
    fn default() -> Self {
        DeepgramConfig {
            model: "nova-3".into(),
            interim_results: true,
            endpointing: Some(Duration::from_millis(300)),
            utterance_end: Some(Duration::from_millis(1000)),
            vad_events: true,
            smart_format: false,
            language: None,
            credential: None,
        }
    }
}

impl DeepgramConfig {
    /// The default config with the key from `DEEPGRAM_API_KEY`, if it is set.
    pub fn from_env() -> Self {
        let credential = ApiKey::from_env(API_KEY_ENV).map(Credential::Key);
        DeepgramConfig { credential, ..Self::default() }
    }

    /// `model`; default `nova-3`, Deepgram's current general streaming model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// `interim_results`; default `true`. Without interims there are no partials, so
    /// time to first partial cannot be measured.
    pub fn interim_results(mut self, on: bool) -> Self {
        self.interim_results = on;
        self
    }

    /// `endpointing`: the silence that ends an utterance (`speech_final`); `None` sends
    /// `endpointing=false`. Default 300 ms (Deepgram's own default is 10 ms, which splits
    /// sentences at every breath; 300 ms is what its SDK examples use).
    pub fn endpointing(mut self, silence: Option<Duration>) -> Self {
        self.endpointing = silence;
        self
    }

    /// `utterance_end_ms`: the gap after the last word that sends `UtteranceEnd`; `None`
    /// omits it. Default 1000 ms, Deepgram's recommended minimum; needs interim results.
    pub fn utterance_end(mut self, gap: Option<Duration>) -> Self {
        self.utterance_end = gap;
        self
    }

    /// `vad_events` (`SpeechStarted` messages); default `true`.
    pub fn vad_events(mut self, on: bool) -> Self {
        self.vad_events = on;
        self
    }

    /// `smart_format` (punctuation, numerals); default `false`, so text compares as words.
    pub fn smart_format(mut self, on: bool) -> Self {
        self.smart_format = on;
        self
    }

    /// `language`; default unset, which Deepgram reads as `en`.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// The key or temporary token; default none (set it, or use [`Self::from_env`]).
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// The model this config asks for.
    pub fn model_name(&self) -> &str {
        &self.model
    }
}

/// The Deepgram dialect. See the module doc.
#[derive(Debug, Clone, Default)]
pub struct Deepgram {
    config: DeepgramConfig,
}

impl Deepgram {
    /// A dialect speaking with `config`.
    pub fn new(config: DeepgramConfig) -> Self {
        Deepgram { config }
    }

    fn query(&self, format: AudioFormat) -> Vec<(&'static str, String)> {
        let c = &self.config;
        let mut q = vec![
            ("model", c.model.clone()),
            ("encoding", "linear16".to_string()),
            ("sample_rate", format.sample_rate().to_string()),
            ("channels", format.channels().to_string()),
            ("interim_results", c.interim_results.to_string()),
            ("endpointing", c.endpointing.map_or("false".into(), |d| d.as_millis().to_string())),
            ("vad_events", c.vad_events.to_string()),
            ("smart_format", c.smart_format.to_string()),
        ];
        if let Some(gap) = c.utterance_end {
            q.push(("utterance_end_ms", gap.as_millis().to_string()));
        }
        if let Some(language) = &c.language {
            q.push(("language", language.clone()));
        }
        q
    }
}

impl Dialect for Deepgram {
    fn name(&self) -> &'static str {
        NAME
    }

    fn request(&self, url: &str, format: AudioFormat) -> crate::Result<Request> {
        let mut request = wire::request(NAME, url, "/v1/listen", &self.query(format))?;
        let (scheme, secret) = match &self.config.credential {
            Some(Credential::Key(key)) => ("Token ", key),
            Some(Credential::Token(token)) => ("Bearer ", token),
            None => {
                return Err(ProviderError::new(
                    NAME,
                    ProviderErrorKind::Config,
                    None,
                    format!("no API key: set {API_KEY_ENV} or pass a credential in the config"),
                )
                .into());
            }
        };
        wire::authorize(NAME, &mut request, scheme, secret)?;
        Ok(request)
    }

    fn check_chunk(&self, duration: Duration) -> crate::Result<()> {
        if duration.is_zero() {
            // An empty binary frame is not "no audio" to Deepgram: it closes the stream.
            return Err(ProviderError::new(
                NAME,
                ProviderErrorKind::ChunkDuration,
                None,
                "an empty audio chunk; Deepgram treats a 0-byte frame as an error, skip it",
            )
            .into());
        }
        Ok(())
    }

    fn keep_alive(&self) -> KeepAlive {
        KeepAlive::Message(wire::control(r#"{"type":"KeepAlive"}"#))
    }

    fn finalize(&self) -> Option<Message> {
        Some(wire::control(r#"{"type":"Finalize"}"#))
    }

    fn close_stream(&self) -> Option<Message> {
        Some(wire::control(r#"{"type":"CloseStream"}"#))
    }

    fn parse(&self, message: Message) -> Event {
        let text = match wire::text_or_event(message) {
            Ok(text) => text,
            Err(event) => return event,
        };
        match serde_json::from_str::<ServerMessage>(&text) {
            Ok(message) => message.into_event(&text),
            Err(_) => Event::Unknown(text.to_string()),
        }
    }

    fn close_error(&self, code: u16, reason: &str) -> Option<crate::Error> {
        close_error(code, reason)
    }

    fn handshake_error(&self, status: u16, body: &str) -> Option<crate::Error> {
        let kind = match status {
            401 => ProviderErrorKind::Auth,
            402 => ProviderErrorKind::Payment,
            403 => ProviderErrorKind::Auth,
            429 => ProviderErrorKind::TooManySessions,
            400 => ProviderErrorKind::BadRequest,
            500..=599 => ProviderErrorKind::Server,
            _ => ProviderErrorKind::Other,
        };
        Some(ProviderError::new(NAME, kind, Some(status), super::short(body)).into())
    }
}

/// Deepgram's close code and reason → the typed error, `None` for a normal close.
fn close_error(code: u16, reason: &str) -> Option<crate::Error> {
    let upper = reason.to_ascii_uppercase();
    let kind = match code {
        1000 => return None,
        1008 => ProviderErrorKind::UndecodableAudio,
        // Older enterprise docs list 1002 for the same DATA-0000.
        1002 if upper.contains("DATA-0000") => ProviderErrorKind::UndecodableAudio,
        1011 if upper.contains("NET-0001") || upper.contains("NET0001") => {
            ProviderErrorKind::IdleTimeout
        }
        1011 if upper.contains("NET-0000") || upper.contains("NET0000") => {
            ProviderErrorKind::ResponseTimeout
        }
        1011 => ProviderErrorKind::Server,
        _ => ProviderErrorKind::Other,
    };
    Some(ProviderError::new(NAME, kind, Some(code), reason).into())
}

/// The server messages this dialect reads; any other `type` is [`Event::Unknown`].
#[derive(Deserialize)]
#[serde(tag = "type")]
enum ServerMessage {
    Results(Results),
    Metadata {
        request_id: Option<String>,
    },
    SpeechStarted {
        timestamp: f64,
    },
    UtteranceEnd {
        last_word_end: Option<f64>,
    },
    Error {
        #[serde(default)]
        variant: Option<String>,
        #[serde(default)]
        description: Option<String>,
    },
}

#[derive(Deserialize)]
struct Results {
    start: f64,
    duration: f64,
    #[serde(default)]
    is_final: bool,
    #[serde(default)]
    speech_final: bool,
    channel: Channel,
}

#[derive(Deserialize)]
struct Channel {
    alternatives: Vec<Alternative>,
}

#[derive(Deserialize)]
struct Alternative {
    transcript: String,
}

impl ServerMessage {
    fn into_event(self, raw: &str) -> Event {
        match self {
            ServerMessage::Results(r) => {
                let (Some(start), Some(end)) = (seconds(r.start), seconds(r.start + r.duration))
                else {
                    return Event::Unknown(raw.to_string());
                };
                let text = r.channel.alternatives.into_iter().next().map(|a| a.transcript);
                Event::Transcript(Transcript {
                    text: text.unwrap_or_default(),
                    is_final: r.is_final || r.speech_final,
                    ends_turn: r.speech_final,
                    start,
                    end,
                    ..Transcript::default()
                })
            }
            ServerMessage::Metadata { request_id } => {
                Event::Metadata { session_id: request_id, raw: raw.to_string() }
            }
            ServerMessage::SpeechStarted { timestamp } => match seconds(timestamp) {
                Some(at) => Event::SpeechStarted { at },
                None => Event::Unknown(raw.to_string()),
            },
            ServerMessage::UtteranceEnd { last_word_end } => {
                Event::TurnEnd { last_word_end: last_word_end.and_then(seconds) }
            }
            ServerMessage::Error { variant, description } => Event::ProviderError {
                code: variant,
                message: description.unwrap_or_else(|| raw.to_string()),
            },
        }
    }
}

/// Seconds as a `Duration`; `None` for negative, NaN or absurd values a server might send.
fn seconds(s: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(s).ok()
}

#[cfg(test)]
#[path = "deepgram_tests.rs"]
mod tests;
