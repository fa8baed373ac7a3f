//! The AssemblyAI Universal-Streaming v3 dialect (`/v3/ws`).
//!
//! - Request: `wss://streaming.assemblyai.com/v3/ws?sample_rate=…&encoding=pcm_s16le&…`
//!   with `Authorization: <key>`, the raw key and no scheme word. A temporary token goes
//!   in the same header (what the official Python SDK does) or, on request, in `?token=`
//!   (what the docs and the JS SDK do); see [`AssemblyAiConfig::token_in_query`].
//! - Client → server: audio as binary frames of **50–1000 ms** each (the server closes
//!   with 3007 otherwise, so [`Dialect::check_chunk`] refuses them before sending), and
//!   text JSON `KeepAlive`, `ForceEndpoint`, `UpdateConfiguration`, `Terminate`.
//! - Server → client: `Begin`, `Turn` (partial, or `end_of_turn`; with `format_turns`
//!   possibly a formatted copy for the same `turn_order`), `SpeechStarted`,
//!   `Termination`, `Error`; anything else is kept as [`Event::Unknown`].
//! - Failures arrive as close codes after the upgrade: 1008 (auth, concurrency), 3005 to
//!   3009, and the legacy v2 4xxx codes the SDKs still map ([`Dialect::close_error`]).
//!
//! Facts and sources: `docs/providers.md`, "AssemblyAI". This file does not open sockets.

use std::time::Duration;

use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::client::Request;

use super::{
    ApiKey, Credential, Dialect, Event, KeepAlive, ProviderError, ProviderErrorKind, Transcript,
    wire,
};
use crate::encode::AudioFormat;

/// The production endpoint; the path `/v3/ws` is added by [`Dialect::request`].
pub const PRODUCTION_URL: &str = "wss://streaming.assemblyai.com";

/// The environment variable [`AssemblyAiConfig::from_env`] reads the key from.
pub const API_KEY_ENV: &str = "ASSEMBLYAI_API_KEY";

/// The shortest chunk AssemblyAI accepts in one binary message.
pub const MIN_CHUNK: Duration = Duration::from_millis(50);

/// The longest chunk AssemblyAI accepts in one binary message.
pub const MAX_CHUNK: Duration = Duration::from_millis(1000);

const NAME: &str = "assemblyai";

/// Turn detection settings, sent in the query and in `UpdateConfiguration`. Each unset
/// value leaves the server's default (0.4 confidence, 400 ms, 1280 ms).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TurnSettings {
    end_of_turn_confidence_threshold: Option<f64>,
    min_turn_silence: Option<Duration>,
    max_turn_silence: Option<Duration>,
}

impl TurnSettings {
    /// `end_of_turn_confidence_threshold`, 0–1: 1 gives silence-only turns, 0 ends a
    /// turn at the first silence.
    pub fn confidence_threshold(mut self, threshold: f64) -> Self {
        self.end_of_turn_confidence_threshold = Some(threshold);
        self
    }

    /// `min_turn_silence`: the silence that ends a confident turn.
    pub fn min_turn_silence(mut self, silence: Duration) -> Self {
        self.min_turn_silence = Some(silence);
        self
    }

    /// `max_turn_silence`: the silence that ends any turn.
    pub fn max_turn_silence(mut self, silence: Duration) -> Self {
        self.max_turn_silence = Some(silence);
        self
    }

    fn params(&self) -> Vec<(&'static str, serde_json::Value)> {
        let ms =
            |d: Duration| serde_json::Value::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut p = Vec::new();
        if let Some(t) = self.end_of_turn_confidence_threshold {
            p.push(("end_of_turn_confidence_threshold", serde_json::Value::from(t)));
        }
        if let Some(d) = self.min_turn_silence {
            p.push(("min_turn_silence", ms(d)));
        }
        if let Some(d) = self.max_turn_silence {
            p.push(("max_turn_silence", ms(d)));
        }
        p
    }
}

/// How to open an AssemblyAI streaming session.
///
/// ```
/// use std::time::Duration;
/// use sttbench::provider::{ApiKey, Credential, assemblyai::{AssemblyAiConfig, TurnSettings}};
/// let config = AssemblyAiConfig::default()
///     .format_turns(true)
///     .turn(TurnSettings::default().min_turn_silence(Duration::from_millis(160)))
///     .credential(Credential::Key(ApiKey::new("test-key")));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AssemblyAiConfig {
    speech_model: String,
    format_turns: bool,
    turn: TurnSettings,
    inactivity_timeout: Option<Duration>,
    keyterms: Vec<String>,
    credential: Option<Credential>,
    token_in_query: bool,
}

impl Default for AssemblyAiConfig {
    fn default() -> Self {
        AssemblyAiConfig {
            speech_model: "universal-streaming-english".into(),
            format_turns: false,
            turn: TurnSettings::default(),
            inactivity_timeout: None,
            keyterms: Vec::new(),
            credential: None,
            token_in_query: false,
        }
    }
}

impl AssemblyAiConfig {
    /// The default config with the key from `ASSEMBLYAI_API_KEY`, if it is set.
    pub fn from_env() -> Self {
        let credential = ApiKey::from_env(API_KEY_ENV).map(Credential::Key);
        AssemblyAiConfig { credential, ..Self::default() }
    }

    /// `speech_model`; default `universal-streaming-english`. Current docs say the
    /// server has no default, so it is always sent.
    pub fn speech_model(mut self, model: impl Into<String>) -> Self {
        self.speech_model = model.into();
        self
    }

    /// `format_turns` (punctuated, cased finals); default `false`, AssemblyAI's default.
    pub fn format_turns(mut self, on: bool) -> Self {
        self.format_turns = on;
        self
    }

    /// Turn detection; default: the server's (the "balanced" preset).
    pub fn turn(mut self, turn: TurnSettings) -> Self {
        self.turn = turn;
        self
    }

    /// `inactivity_timeout` in whole seconds (5–3600); default none: an idle session
    /// stays open until the 3 h limit.
    pub fn inactivity_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.inactivity_timeout = timeout;
        self
    }

    /// `keyterms_prompt`: words to favour, sent as a JSON list; default empty.
    pub fn keyterms(mut self, terms: Vec<String>) -> Self {
        self.keyterms = terms;
        self
    }

    /// The key or temporary token; default none (set it, or use [`Self::from_env`]).
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// Sends a temporary token as `?token=` (the docs' and the JS SDK's way) instead of
    /// the `Authorization` header (the Python SDK's way). Default `false`: a URL ends up
    /// in logs and proxies, a header marked sensitive does not.
    pub fn token_in_query(mut self, on: bool) -> Self {
        self.token_in_query = on;
        self
    }
}

/// The AssemblyAI dialect. See the module doc.
#[derive(Debug, Clone, Default)]
pub struct AssemblyAi {
    config: AssemblyAiConfig,
}

impl AssemblyAi {
    /// A dialect speaking with `config`.
    pub fn new(config: AssemblyAiConfig) -> Self {
        AssemblyAi { config }
    }

    /// An `UpdateConfiguration` message changing turn detection mid-session.
    pub fn update_configuration(turn: &TurnSettings) -> Message {
        let mut body = serde_json::Map::new();
        body.insert("type".into(), "UpdateConfiguration".into());
        body.extend(turn.params().into_iter().map(|(k, v)| (k.to_string(), v)));
        Message::text(serde_json::Value::Object(body).to_string())
    }

    fn query(&self, format: AudioFormat) -> Vec<(&'static str, String)> {
        let c = &self.config;
        let mut q = vec![
            ("sample_rate", format.sample_rate().to_string()),
            ("encoding", "pcm_s16le".to_string()),
            ("speech_model", c.speech_model.clone()),
            ("format_turns", c.format_turns.to_string()),
        ];
        q.extend(c.turn.params().into_iter().map(|(k, v)| (k, v.to_string())));
        if let Some(t) = c.inactivity_timeout {
            q.push(("inactivity_timeout", t.as_secs().to_string()));
        }
        if !c.keyterms.is_empty() {
            q.push(("keyterms_prompt", serde_json::Value::from(c.keyterms.clone()).to_string()));
        }
        q
    }
}

impl Dialect for AssemblyAi {
    fn name(&self) -> &'static str {
        NAME
    }

    fn request(&self, url: &str, format: AudioFormat) -> crate::Result<Request> {
        if format.channels() != 1 {
            return Err(ProviderError::config(
                NAME,
                format!("AssemblyAI streams mono audio only, got {format}; downmix first"),
            )
            .into());
        }
        let mut query = self.query(format);
        let header_secret = match &self.config.credential {
            Some(Credential::Token(token)) if self.config.token_in_query => {
                query.push(("token", token.expose().to_string()));
                None
            }
            Some(credential) => Some(credential.secret()),
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
        let mut request = wire::request(NAME, url, "/v3/ws", &query)?;
        if let Some(secret) = header_secret {
            wire::authorize(NAME, &mut request, "", secret)?;
        }
        Ok(request)
    }

    fn check_chunk(&self, duration: Duration) -> crate::Result<()> {
        if (MIN_CHUNK..=MAX_CHUNK).contains(&duration) {
            return Ok(());
        }
        Err(ProviderError::new(
            NAME,
            ProviderErrorKind::ChunkDuration,
            None,
            format!(
                "a {:.1} ms chunk; AssemblyAI accepts 50–1000 ms of audio per message \
                 (and closes with 3007 otherwise): choose a chunk duration in that range, \
                 50–100 ms for low latency",
                duration.as_secs_f64() * 1000.0
            ),
        )
        .into())
    }

    fn keep_alive(&self) -> KeepAlive {
        KeepAlive::Message(wire::control(r#"{"type":"KeepAlive"}"#))
    }

    fn finalize(&self) -> Option<Message> {
        Some(wire::control(r#"{"type":"ForceEndpoint"}"#))
    }

    fn close_stream(&self) -> Option<Message> {
        Some(wire::control(r#"{"type":"Terminate"}"#))
    }

    fn parse(&self, message: Message) -> Event {
        let text = match wire::text_or_event(message) {
            Ok(text) => text,
            Err(event) => return event,
        };
        if let Ok(message) = serde_json::from_str::<ServerMessage>(&text) {
            return message.into_event(&text);
        }
        // Both SDKs also treat a bare `{"error": "…"}` without a type as an error.
        match serde_json::from_str::<BareError>(&text) {
            Ok(BareError { error }) => Event::ProviderError { code: None, message: error },
            Err(_) => Event::Unknown(text.to_string()),
        }
    }

    fn close_error(&self, code: u16, reason: &str) -> Option<crate::Error> {
        close_error(code, reason)
    }

    fn handshake_error(&self, status: u16, body: &str) -> Option<crate::Error> {
        // Documented failures are closes after the upgrade, but some users see an HTTP
        // 401/403 at the handshake; read those the same way.
        let kind = match status {
            401 | 403 => ProviderErrorKind::Auth,
            429 => ProviderErrorKind::TooManySessions,
            400 => ProviderErrorKind::BadRequest,
            500..=599 => ProviderErrorKind::Server,
            _ => ProviderErrorKind::Other,
        };
        Some(ProviderError::new(NAME, kind, Some(status), super::short(body)).into())
    }
}

/// AssemblyAI's close code and reason → the typed error, `None` for a normal close.
fn close_error(code: u16, reason: &str) -> Option<crate::Error> {
    use ProviderErrorKind as K;
    let lower = reason.to_ascii_lowercase();
    let kind = match code {
        1000 => return None,
        1008 | 3009 if lower.contains("too many concurrent") => K::TooManySessions,
        1008 => K::Auth,
        3005 => K::Server,
        3006 => K::InvalidMessage,
        3007 if lower.contains("rate exceeded") => K::RateExceeded,
        3007 => K::ChunkDuration,
        3008 => K::SessionExpired,
        3009 => K::TooManySessions,
        // Legacy v2 codes, still mapped by both SDKs.
        4001 => K::Auth,
        4002 => K::Payment,
        4008 => K::SessionExpired,
        4029 => K::RateExceeded,
        4031 => K::IdleTimeout,
        4032 | 4033 => K::ChunkDuration,
        4100 | 4101 => K::InvalidMessage,
        4102 => K::TooManySessions,
        1011 | 1013 => K::Server,
        _ => K::Other,
    };
    Some(ProviderError::new(NAME, kind, Some(code), reason).into())
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum ServerMessage {
    Begin { id: String },
    Turn(Turn),
    SpeechStarted { timestamp: f64 },
    Termination {},
    Error { error: String, error_code: Option<serde_json::Value> },
}

#[derive(Deserialize)]
struct BareError {
    error: String,
}

#[derive(Deserialize)]
struct Turn {
    turn_order: u32,
    #[serde(default)]
    turn_is_formatted: bool,
    end_of_turn: bool,
    transcript: String,
    #[serde(default)]
    words: Vec<Word>,
}

#[derive(Deserialize)]
struct Word {
    text: String,
    start: f64,
    end: f64,
}

impl ServerMessage {
    fn into_event(self, raw: &str) -> Event {
        match self {
            ServerMessage::Begin { id } => {
                Event::Metadata { session_id: Some(id), raw: raw.to_string() }
            }
            ServerMessage::Turn(turn) => {
                turn_event(turn).unwrap_or_else(|| Event::Unknown(raw.into()))
            }
            ServerMessage::SpeechStarted { timestamp } => match millis(timestamp) {
                Some(at) => Event::SpeechStarted { at },
                None => Event::Unknown(raw.to_string()),
            },
            ServerMessage::Termination {} => {
                Event::Metadata { session_id: None, raw: raw.to_string() }
            }
            ServerMessage::Error { error, error_code } => Event::ProviderError {
                code: error_code.map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned)),
                message: error,
            },
        }
    }
}

/// A `Turn` as a transcript. A partial's `transcript` holds only finalized words, so its
/// text is built from all `words` (the trailing non-final one too): what a user sees.
fn turn_event(turn: Turn) -> Option<Event> {
    let (start, end) = match (turn.words.first(), turn.words.last()) {
        (Some(first), Some(last)) => (millis(first.start)?, millis(last.end)?),
        _ => (Duration::ZERO, Duration::ZERO),
    };
    let text = if turn.end_of_turn || turn.turn_is_formatted || turn.words.is_empty() {
        turn.transcript
    } else {
        turn.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
    };
    Some(Event::Transcript(Transcript {
        text,
        is_final: turn.end_of_turn,
        ends_turn: turn.end_of_turn,
        start,
        end,
        turn: Some(turn.turn_order),
    }))
}

/// Milliseconds as a `Duration`; `None` for negative, NaN or absurd values.
fn millis(ms: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(ms / 1000.0).ok()
}

#[cfg(test)]
#[path = "assemblyai_tests.rs"]
mod tests;
