//! The AssemblyAI mock: `/v3/ws` handshake (the raw key in `Authorization`, or a token in
//! the header or `?token=`), `Begin`, `Turn` partials and end-of-turn messages (with a
//! formatted copy when `format_turns=true`), `Termination`; `ForceEndpoint`,
//! `UpdateConfiguration`, `KeepAlive`, `Terminate`; and its closes: 1008 for bad auth
//! after the upgrade, 3007 for chunks outside 50–1000 ms, 3006 for bad text frames.
//!
//! Wire facts: `docs/providers.md`, "AssemblyAI". Timing and faults are `conn.rs`'s; words
//! come from `transcribe.rs`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{self, StatusCode, header};

use super::conn::{self, Outbox, Session};
use super::transcribe::{Output, Span, Transcriber};
use super::{Fault, MockConfig, Stop, Upgrade, fault, flag, param, query_pairs};

/// Documented `min_turn_silence` default: the silence that ends a confident turn. The
/// mock is always confident, so this is its endpoint.
const DEFAULT_MIN_TURN_SILENCE: Duration = Duration::from_millis(400);

/// Session length AssemblyAI announces in `Begin.expires_at`: 3 h.
const MAX_SESSION_SECS: u64 = 3 * 60 * 60;

struct Params {
    /// `None` when the credential passed; else the 1008 reason to close with.
    auth_failure: Option<&'static str>,
    sample_rate: u32,
    format_turns: bool,
    endpoint: Duration,
}

/// Upgrades one connection and serves it; a bad credential is a 1008 close after the
/// upgrade, as AssemblyAI does.
#[expect(
    clippy::result_large_err,
    reason = "ErrorResponse is tungstenite's handshake callback contract; it is built once per refused connection"
)]
pub(super) async fn serve<S>(stream: S, upgrade: Upgrade<'_>, mut stop: Stop)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let config = upgrade.config();
    let answer = |fault: Option<&Fault>, request: &Request, response: Response| {
        Ok((response, handshake(config, fault, request)?))
    };
    let Some((ws, params, fault)) = upgrade.accept(stream, &mut stop, answer).await else {
        return;
    };
    let session = session(config, params, fault.as_ref());
    conn::drive(ws, session, config.delay, config.tap.clone(), fault, stop).await;
}

/// The session an upgrade with `params` and `fault` leads to.
fn session(config: &MockConfig, params: Params, fault: Option<&Fault>) -> AssemblyAi {
    let mut transcriber = config.transcriber.clone();
    transcriber.endpoint = params.endpoint;
    AssemblyAi {
        transcriber: Transcriber::new(transcriber, params.sample_rate, 1),
        params,
        opened: Instant::now(),
        fail_first_chunk: fault == Some(&Fault::ChunkDuration),
        turn_order: 0,
        outputs: Vec::new(),
    }
}

/// Answers `request` as [`serve`] would, then feeds `frames` to the session without a
/// socket or a clock; what it sent back, or the refusal.
#[expect(
    clippy::result_large_err,
    reason = "ErrorResponse is tungstenite's handshake callback contract"
)]
pub(super) fn replay(
    config: &MockConfig,
    fault: Option<&Fault>,
    request: &Request,
    frames: impl IntoIterator<Item = Message>,
) -> Result<Vec<Message>, ErrorResponse> {
    let params = handshake(config, fault, request)?;
    Ok(conn::replay(session(config, params, fault), frames))
}

/// Reads the query and the credential. Auth failures still upgrade, as AssemblyAI does:
/// the session then closes with 1008.
#[expect(
    clippy::result_large_err,
    reason = "ErrorResponse is tungstenite's handshake callback contract; it is built once per rejected connection"
)]
fn handshake(
    config: &MockConfig,
    fault: Option<&Fault>,
    request: &Request,
) -> Result<Params, ErrorResponse> {
    if request.uri().path() != "/v3/ws" {
        let mut response = http::Response::new(Some("Not Found".to_string()));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return Err(response);
    }
    let q = query_pairs(request.uri().query());
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let credential = header.or_else(|| param(&q, "token"));
    let auth_failure = match credential {
        None => Some("Unauthorized Connection: Missing Authorization header"),
        Some(c) if !super::accepts(config, fault, Some(c)) => {
            Some("Unauthorized Connection: Invalid API key")
        }
        Some(_) => None,
    };
    let ms = |key| param(&q, key).and_then(|v| v.parse().ok()).map(Duration::from_millis);
    Ok(Params {
        auth_failure,
        sample_rate: param(&q, "sample_rate").and_then(|v| v.parse().ok()).unwrap_or(16_000),
        format_turns: flag(&q, "format_turns").unwrap_or(false),
        endpoint: ms("min_turn_silence").unwrap_or(DEFAULT_MIN_TURN_SILENCE),
    })
}

struct AssemblyAi {
    params: Params,
    transcriber: Transcriber,
    opened: Instant,
    fail_first_chunk: bool,
    turn_order: u32,
    outputs: Vec<Output>,
}

impl AssemblyAi {
    fn emit(&mut self, out: &mut Outbox) {
        for output in std::mem::take(&mut self.outputs) {
            match output {
                // Universal-Streaming sends no SpeechStarted (only U3 Pro does).
                Output::SpeechStarted(_) => {}
                Output::Partial(span) => out.json(self.turn(&span, false, false)),
                Output::Final(span, _) => {
                    out.json(self.turn(&span, true, false));
                    if self.params.format_turns {
                        out.json(self.turn(&span, true, true));
                    }
                    self.turn_order += 1;
                }
            }
        }
    }

    fn turn(&self, span: &Span, end_of_turn: bool, formatted: bool) -> Value {
        let text = |w: &super::transcribe::Word| if formatted { w.text.clone() } else { w.plain() };
        let words: Vec<Value> = span
            .words
            .iter()
            .map(|w| {
                json!({"start": w.start.as_millis() as u64, "end": w.end.as_millis() as u64,
                       "text": text(w), "confidence": 0.99, "word_is_final": w.is_final})
            })
            .collect();
        // `transcript` holds only finalized words; the one being spoken is in `words`.
        let transcript =
            span.words.iter().filter(|w| w.is_final).map(text).collect::<Vec<_>>().join(" ");
        json!({
            "turn_order": self.turn_order, "turn_is_formatted": formatted,
            "end_of_turn": end_of_turn, "transcript": transcript,
            "end_of_turn_confidence": if end_of_turn { 0.9 } else { 0.1 },
            "words": words, "utterance": if end_of_turn && !formatted { transcript.as_str() } else { "" },
            "type": "Turn"
        })
    }
}

impl Session for AssemblyAi {
    fn open(&mut self, out: &mut Outbox) {
        if let Some(reason) = self.params.auth_failure {
            return out.close(1008, reason);
        }
        out.json(json!({"type": "Begin", "id": conn::next_id(), "expires_at": conn::unix_now() + MAX_SESSION_SECS}));
    }

    fn binary(&mut self, data: &[u8], out: &mut Outbox) {
        let duration = conn::audio_time(data.len() as u64, self.bytes_per_second());
        let ms = duration.as_millis() as u64;
        if self.fail_first_chunk {
            tracing::info!(
                "fault chunk-duration fired: the first chunk ({ms} ms) refused with 3007"
            );
            let rule = "AssemblyAI accepts 50 to 1000 ms";
            return out.close(3007, fault::chunk_duration_reason(ms, rule));
        }
        if !(Duration::from_millis(50)..=Duration::from_secs(1)).contains(&duration) {
            return out.close(
                3007,
                format!("Input duration violation: {ms} ms. Expected between 50 and 1000 ms"),
            );
        }
        self.transcriber.push(data, &mut self.outputs);
        self.emit(out);
    }

    fn text(&mut self, text: &str, out: &mut Outbox) {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return out.close(3006, format!("Invalid JSON: {text}"));
        };
        match message.get("type").and_then(Value::as_str) {
            Some("KeepAlive") => {}
            Some("ForceEndpoint") => {
                self.transcriber.flush(&mut self.outputs);
                self.emit(out);
            }
            Some("UpdateConfiguration") => {
                if let Some(ms) = message.get("min_turn_silence").and_then(Value::as_u64) {
                    self.transcriber.set_endpoint(Duration::from_millis(ms));
                }
            }
            Some("Terminate") => {
                self.transcriber.finish(&mut self.outputs);
                self.emit(out);
                out.json(json!({"type": "Termination",
                    "audio_duration_seconds": self.transcriber.position().as_secs(),
                    "session_duration_seconds": self.opened.elapsed().as_secs()}));
                out.close(1000, "");
            }
            Some(other) => out.close(3006, format!("Invalid Message Type: {other}")),
            None => out.close(3006, format!("Invalid Message: {text}")),
        }
    }

    fn idle(&mut self, out: &mut Outbox) {
        // v3's inactivity close is undocumented; v2's 4031 is what the SDKs still map.
        out.close(4031, "Session idle for too long");
    }

    /// None by default: without `inactivity_timeout` an idle session stays open until
    /// the 3 h limit. `Fault::IdleTimeout` sets one.
    fn idle_timeout(&self) -> Option<Duration> {
        None
    }

    fn bytes_per_second(&self) -> u64 {
        u64::from(self.params.sample_rate) * 2
    }

    fn close_reason(&self, code: u16) -> &'static str {
        match code {
            1008 => "Unauthorized Connection: Missing Authorization header",
            3005 => "Session Cancelled: An error occurred",
            3006 => "Invalid Message: mock fault",
            3007 => "Input duration violation: 0 ms. Expected between 50 and 1000 ms",
            3008 => "Session Expired: Maximum session duration exceeded",
            3009 => "Unauthorized Connection: Too many concurrent sessions",
            _ => "",
        }
    }
}
