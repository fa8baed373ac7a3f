//! The Deepgram mock: `/v1/listen` handshake and auth, `Results`/`Metadata`/
//! `SpeechStarted`/`UtteranceEnd` messages, `KeepAlive`/`Finalize`/`CloseStream`, the
//! 10 s NET-0001 idle close, and DATA-0000 for audio it cannot decode.
//!
//! Wire facts: `docs/providers.md`, "Deepgram". Timing and faults are `conn.rs`'s; words
//! come from `transcribe.rs`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{self, HeaderValue, StatusCode, header};

use super::conn::{self, Outbox, Session};
use super::transcribe::{Cause, Output, Span, Transcriber};
use super::{Fault, MockConfig, Stop, Upgrade, fault, flag, param, query_pairs};

/// Deepgram's NET-0001 close reason, as real clients log it.
const NET0001: &str = "Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001";
const NET0000: &str = "Deepgram did not provide a response message within the timeout window. See https://dpgr.am/net0000";
/// The exact DATA-0000 text is undocumented; the token is what clients match on.
const DATA0000: &str =
    "DATA-0000: the payload could not be decoded as audio. See https://dpgr.am/data0000";

/// The mock's energy detector cannot tell a pause from a stop consonant below this, so
/// shorter `endpointing` values (Deepgram's default is 10 ms) are raised to it.
const MIN_ENDPOINT: Duration = Duration::from_millis(100);

/// What the client asked for in its query.
#[derive(Debug)]
struct Params {
    request_id: String,
    sample_rate: u32,
    channels: u16,
    interim_results: bool,
    endpointing: Option<Duration>,
    utterance_end: Option<Duration>,
    vad_events: bool,
    punctuate: bool,
}

/// Upgrades one connection (or refuses it as Deepgram does) and serves it.
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
        handshake(config, fault, request, response)
    };
    let Some((ws, params, fault)) = upgrade.accept(stream, &mut stop, answer).await else {
        return;
    };
    let session = session(config, params, fault.as_ref());
    conn::drive(ws, session, config.delay, config.tap.clone(), fault, stop).await;
}

/// The session an upgrade with `params` and `fault` leads to.
fn session(config: &MockConfig, params: Params, fault: Option<&Fault>) -> Deepgram {
    let mut transcriber = config.transcriber.clone();
    transcriber.endpoint = params.endpointing.unwrap_or(transcriber.endpoint).max(MIN_ENDPOINT);
    Deepgram {
        transcriber: Transcriber::new(transcriber, params.sample_rate, params.channels),
        params,
        idle: config.deepgram_idle,
        fail_first_chunk: fault == Some(&Fault::ChunkDuration),
        last_word_end: None,
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
    let (_, params) = handshake(config, fault, request, Response::default())?;
    Ok(conn::replay(session(config, params, fault), frames))
}

/// Checks path, auth and encoding; answers 401/400/404 as Deepgram does, or 101 with
/// `dg-request-id` and the echoed `token`/`bearer` subprotocol.
#[expect(
    clippy::result_large_err,
    reason = "ErrorResponse is tungstenite's handshake callback contract; it is built once per rejected connection"
)]
fn handshake(
    config: &MockConfig,
    fault: Option<&Fault>,
    request: &Request,
    mut response: Response,
) -> Result<(Response, Params), ErrorResponse> {
    let request_id = conn::next_id();
    if request.uri().path() != "/v1/listen" {
        return Err(reject(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found.", &request_id));
    }
    let (credential, protocol) = credential(request);
    if !super::accepts(config, fault, credential.as_deref()) {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTH",
            "Invalid credentials.",
            &request_id,
        ));
    }
    let q = query_pairs(request.uri().query());
    if let Some(encoding) = param(&q, "encoding").filter(|e| *e != "linear16") {
        let msg = format!("the mock decodes encoding=linear16 only, not `{encoding}`");
        return Err(reject(StatusCode::BAD_REQUEST, "Bad Request", &msg, &request_id));
    }
    let ms = |key| param(&q, key).and_then(|v| v.parse().ok()).map(Duration::from_millis);
    let params = Params {
        sample_rate: param(&q, "sample_rate").and_then(|v| v.parse().ok()).unwrap_or(16_000),
        channels: param(&q, "channels").and_then(|v| v.parse().ok()).unwrap_or(1),
        interim_results: flag(&q, "interim_results").unwrap_or(false),
        // Absent means Deepgram's default, 10 ms; `false` turns endpointing off.
        endpointing: match param(&q, "endpointing") {
            Some(v) if v.eq_ignore_ascii_case("false") => None,
            _ => Some(ms("endpointing").unwrap_or(Duration::from_millis(10))),
        },
        utterance_end: ms("utterance_end_ms"),
        vad_events: flag(&q, "vad_events").unwrap_or(false),
        punctuate: flag(&q, "smart_format").unwrap_or(false)
            || flag(&q, "punctuate").unwrap_or(false),
        request_id,
    };
    let headers = response.headers_mut();
    headers.insert("dg-request-id", header_value(&params.request_id));
    if let Some(protocol) = protocol {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(protocol));
    }
    Ok((response, params))
}

/// The credential from `Authorization: Token|Bearer …` (any case), or from the browser
/// form `Sec-WebSocket-Protocol: token, …`, with the subprotocol to echo.
fn credential(request: &Request) -> (Option<String>, Option<&'static str>) {
    let headers = request.headers();
    if let Some((scheme, value)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        && (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
    {
        return (Some(value.trim().to_string()), None);
    }
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for (i, name) in offered.iter().enumerate() {
        let echo = match name.to_ascii_lowercase().as_str() {
            "token" => "token",
            "bearer" => "bearer",
            _ => continue,
        };
        return (offered.get(i + 1).map(|c| c.to_string()), Some(echo));
    }
    (None, None)
}

/// A failed upgrade as Deepgram sends it: status, `dg-error`, `dg-request-id`, JSON body.
fn reject(status: StatusCode, code: &str, message: &str, request_id: &str) -> ErrorResponse {
    let body = json!({"err_code": code, "err_msg": message, "request_id": request_id}).to_string();
    let mut response = http::Response::new(Some(body.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert("dg-error", header_value(message));
    headers.insert("dg-request-id", header_value(request_id));
    response
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

struct Deepgram {
    params: Params,
    transcriber: Transcriber,
    idle: Duration,
    fail_first_chunk: bool,
    /// End of the last final word, until `UtteranceEnd` reports it.
    last_word_end: Option<Duration>,
    outputs: Vec<Output>,
}

impl Deepgram {
    fn emit(&mut self, out: &mut Outbox) {
        for output in std::mem::take(&mut self.outputs) {
            match output {
                Output::SpeechStarted(at) if self.params.vad_events => out.json(json!({
                    "type": "SpeechStarted", "channel": [0, 1], "timestamp": at.as_secs_f64()
                })),
                Output::SpeechStarted(_) => {}
                Output::Partial(span) if self.params.interim_results => {
                    out.json(self.results(&span, false, false, false));
                }
                Output::Partial(_) => {}
                Output::Final(span, cause) => {
                    self.last_word_end = span.words.last().map(|w| w.end);
                    let endpoint = cause == Cause::Endpoint && self.params.endpointing.is_some();
                    let from_finalize = cause == Cause::Forced;
                    out.json(self.results(&span, true, endpoint, from_finalize));
                }
            }
        }
        // UtteranceEnd: once the gap after the last final word reaches utterance_end_ms
        // and no new speech has started.
        if let (Some(gap), Some(end)) = (self.params.utterance_end, self.last_word_end) {
            let silent = self.transcriber.trailing_silence().is_none_or(|s| s >= gap);
            if silent && self.transcriber.position().saturating_sub(end) >= gap {
                self.last_word_end = None;
                out.json(json!({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": end.as_secs_f64()}));
            }
        }
    }

    fn results(
        &self,
        span: &Span,
        is_final: bool,
        speech_final: bool,
        from_finalize: bool,
    ) -> Value {
        let words: Vec<Value> = span
            .words
            .iter()
            .map(|w| {
                json!({"word": w.plain(), "start": w.start.as_secs_f64(), "end": w.end.as_secs_f64(),
                       "confidence": 0.99, "punctuated_word": w.text})
            })
            .collect();
        let transcript = if self.params.punctuate {
            span.text()
        } else {
            span.words.iter().map(|w| w.plain()).collect::<Vec<_>>().join(" ")
        };
        json!({
            "type": "Results", "channel_index": [0, 1],
            "duration": (span.end - span.start).as_secs_f64(), "start": span.start.as_secs_f64(),
            "is_final": is_final, "speech_final": speech_final, "from_finalize": from_finalize,
            "channel": {"alternatives": [{"transcript": transcript, "confidence": 0.99, "words": words}]},
            "metadata": {"request_id": self.params.request_id,
                         "model_info": {"name": "general-nova-3", "version": "mock", "arch": "nova-3"},
                         "model_uuid": "00000000-0000-4000-8000-000000000000"}
        })
    }

    fn metadata(&self) -> Value {
        json!({"type": "Metadata", "transaction_key": "deprecated", "request_id": self.params.request_id,
               "sha256": "incomplete", "created": conn::rfc3339_now(),
               "duration": self.transcriber.position().as_secs_f64(), "channels": self.params.channels})
    }
}

impl Session for Deepgram {
    fn open(&mut self, _out: &mut Outbox) {}

    fn binary(&mut self, data: &[u8], out: &mut Outbox) {
        if self.fail_first_chunk {
            let ms = conn::audio_time(data.len() as u64, self.bytes_per_second()).as_millis();
            tracing::info!(
                "fault chunk-duration fired: the first chunk ({ms} ms) refused with 3007"
            );
            let rule = "Deepgram itself has no chunk-duration rule";
            return out.close(3007, fault::chunk_duration_reason(ms as u64, rule));
        }
        if data.is_empty() {
            // Since 2022 an empty frame is not close-stream but an undecodable payload.
            return out.close(1008, DATA0000);
        }
        self.transcriber.push(data, &mut self.outputs);
        self.emit(out);
    }

    fn text(&mut self, text: &str, out: &mut Outbox) {
        let message: Option<Value> = serde_json::from_str(text).ok();
        match message.as_ref().and_then(|m| m.get("type")).and_then(Value::as_str) {
            Some("KeepAlive") => {}
            Some("Finalize") => {
                self.transcriber.flush(&mut self.outputs);
                self.emit(out);
            }
            Some("CloseStream") => {
                self.transcriber.finish(&mut self.outputs);
                self.emit(out);
                out.json(self.metadata());
                out.close(1000, "");
            }
            _ => out.json(json!({"type": "Error", "variant": "SchemaError",
                                 "description": "unknown or malformed control message", "message": text})),
        }
    }

    fn idle(&mut self, out: &mut Outbox) {
        out.json(self.metadata());
        out.close(1011, NET0001);
    }

    fn idle_timeout(&self) -> Option<Duration> {
        Some(self.idle)
    }

    fn close_reason(&self, code: u16) -> &'static str {
        match code {
            1008 => DATA0000,
            1011 => NET0000,
            _ => "",
        }
    }

    fn bytes_per_second(&self) -> u64 {
        u64::from(self.params.sample_rate) * 2 * u64::from(self.params.channels.max(1))
    }
}
