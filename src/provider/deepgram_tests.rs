//! Deepgram dialect tests, with the exact JSON the provider's docs and SDKs show
//! (`docs/providers.md`, "Deepgram").

use super::*;
use crate::provider::error::kind_of;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;

fn keyed() -> Deepgram {
    Deepgram::new(DeepgramConfig::default().credential(Credential::Key(ApiKey::new("dg-key"))))
}

fn text(json: &str) -> Message {
    Message::text(json)
}

#[test]
fn request_has_path_query_and_token_auth() {
    let req = keyed().request("ws://127.0.0.1:4000", AudioFormat::PIPELINE).unwrap();
    assert_eq!(req.uri().path(), "/v1/listen");
    let query = req.uri().query().unwrap();
    for param in [
        "model=nova-3",
        "encoding=linear16",
        "sample_rate=16000",
        "channels=1",
        "interim_results=true",
        "endpointing=300",
        "utterance_end_ms=1000",
        "vad_events=true",
    ] {
        assert!(query.split('&').any(|p| p == param), "{param} missing from {query}");
    }
    assert_eq!(req.headers()[AUTHORIZATION], "Token dg-key");
}

#[test]
fn temporary_token_uses_bearer_and_endpointing_can_be_off() {
    let config = DeepgramConfig::default()
        .endpointing(None)
        .utterance_end(None)
        .credential(Credential::Token(ApiKey::new("jwt")));
    let req = Deepgram::new(config).request(PRODUCTION_URL, AudioFormat::PIPELINE).unwrap();
    assert_eq!(req.headers()[AUTHORIZATION], "Bearer jwt");
    let query = req.uri().query().unwrap();
    assert!(query.contains("endpointing=false") && !query.contains("utterance_end_ms"), "{query}");
    assert_eq!(req.uri().host(), Some("api.deepgram.com"));
}

#[test]
fn missing_key_is_a_config_error_naming_the_variable() {
    let err = Deepgram::default().request("ws://h:1", AudioFormat::PIPELINE).unwrap_err();
    assert_eq!(kind_of(&err), Some(ProviderErrorKind::Config));
    assert!(err.to_string().contains(API_KEY_ENV), "{err}");
}

#[test]
fn control_messages_are_text_json() {
    let d = keyed();
    assert_eq!(d.keep_alive(), KeepAlive::Message(text(r#"{"type":"KeepAlive"}"#)));
    assert_eq!(d.finalize(), Some(text(r#"{"type":"Finalize"}"#)));
    assert_eq!(d.close_stream(), Some(text(r#"{"type":"CloseStream"}"#)));
    assert!(d.check_chunk(Duration::ZERO).is_err());
    assert!(d.check_chunk(Duration::from_millis(20)).is_ok());
}

#[test]
fn final_results_from_the_docs() {
    let json = r#"{
      "type": "Results", "channel_index": [0, 1], "duration": 1.98, "start": 5.99,
      "is_final": true, "speech_final": true,
      "channel": {"alternatives": [{"transcript": "Tell me more about this.",
        "confidence": 0.99964225, "words": [
          {"word": "tell", "start": 6.0699997, "end": 6.3499994, "confidence": 0.99782443, "punctuated_word": "Tell"},
          {"word": "this", "start": 7.0299997, "end": 7.2699995, "confidence": 0.99964225, "punctuated_word": "this"}]}]},
      "metadata": {"request_id": "52cc0efe-fa77-4aa7-b79c-0dda09de2f14",
        "model_info": {"name": "2-general-nova", "version": "2024-01-18.26916", "arch": "nova-2"},
        "model_uuid": "c0d1a568-ce81-4fea-97e7-bd45cb1fdf3c"},
      "from_finalize": false
    }"#;
    let Event::Transcript(t) = keyed().parse(text(json)) else { panic!("not a transcript") };
    assert_eq!(t.text, "Tell me more about this.");
    assert!(t.is_final && t.ends_turn);
    assert_eq!(t.start, Duration::from_secs_f64(5.99));
    assert_eq!(t.end, Duration::from_secs_f64(5.99 + 1.98));
}

#[test]
fn interim_with_empty_transcript_is_a_partial() {
    let json = r#"{"type":"Results","channel_index":[0,1],"duration":1.0,"start":0.0,"is_final":false,
      "speech_final":false,"channel":{"alternatives":[{"transcript":"","confidence":0.0,"words":[]}]},
      "metadata":{"request_id":"r","model_info":{"name":"n","version":"v","arch":"a"},"model_uuid":"u"}}"#;
    let Event::Transcript(t) = keyed().parse(text(json)) else { panic!("not a transcript") };
    assert!(!t.is_final && !t.ends_turn && t.text.is_empty());
}

#[test]
fn metadata_speech_started_utterance_end_and_error() {
    let d = keyed();
    let meta = r#"{"type":"Metadata","transaction_key":"deprecated","request_id":"8c8ebea9-dbec-45fa-a035-e4632cb05b5f",
      "sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "created":"2024-08-29T22:37:55.202Z","duration":0.0,"channels":0}"#;
    assert_eq!(
        d.parse(text(meta)),
        Event::Metadata {
            session_id: Some("8c8ebea9-dbec-45fa-a035-e4632cb05b5f".into()),
            raw: meta.into()
        }
    );
    assert_eq!(
        d.parse(text(r#"{"type":"SpeechStarted","channel":[0,1],"timestamp":9.54}"#)),
        Event::SpeechStarted { at: Duration::from_secs_f64(9.54) }
    );
    assert_eq!(
        d.parse(text(r#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}"#)),
        Event::TurnEnd { last_word_end: Some(Duration::from_secs_f64(2.395)) }
    );
    let err = r#"{"type":"Error","variant":"SchemaError","description":"bad","message":"{}"}"#;
    assert_eq!(
        d.parse(text(err)),
        Event::ProviderError { code: Some("SchemaError".into()), message: "bad".into() }
    );
}

#[test]
fn unknown_and_malformed_messages_are_kept_not_fatal() {
    let d = keyed();
    for raw in [
        r#"{"type":"ConfigureSuccess","request_id":"550e8400","keyterms":["Deepgram"]}"#,
        r#"{"type":"Results"}"#,
        r#"{"type":"Results","start":-1.0,"duration":1.0,"channel":{"alternatives":[]}}"#,
        r#"{"type":"SpeechStarted","timestamp":"soon"}"#,
        "{not json",
        "",
        "null",
        "[1,2]",
    ] {
        assert_eq!(d.parse(text(raw)), Event::Unknown(raw.into()), "{raw}");
    }
}

#[test]
fn every_documented_close_code_maps_to_its_kind() {
    let net0001 = "Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001";
    let net0000 = "Deepgram did not provide a response message within the timeout window. See https://dpgr.am/net0000";
    let d = keyed();
    assert!(d.close_error(1000, "").is_none());
    for (code, reason, kind) in [
        (1008, "DATA-0000", ProviderErrorKind::UndecodableAudio),
        (1002, "DATA-0000 payload", ProviderErrorKind::UndecodableAudio),
        (1011, net0001, ProviderErrorKind::IdleTimeout),
        (1011, net0000, ProviderErrorKind::ResponseTimeout),
        (1011, "internal", ProviderErrorKind::Server),
        (4000, "?", ProviderErrorKind::Other),
    ] {
        let err = d.close_error(code, reason).expect("an error for a non-normal close");
        assert_eq!(kind_of(&err), Some(kind), "{code} {reason}");
        assert!(err.to_string().contains(&format!("code {code}")), "{err}");
    }
}

#[test]
fn handshake_statuses_map_to_kinds() {
    let body = r#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"x"}"#;
    let d = keyed();
    let err = d.handshake_error(401, body).expect("401 is mapped");
    assert_eq!(kind_of(&err), Some(ProviderErrorKind::Auth));
    assert!(err.to_string().contains("Invalid credentials."), "{err}");
    for (status, kind) in [
        (402, ProviderErrorKind::Payment),
        (429, ProviderErrorKind::TooManySessions),
        (400, ProviderErrorKind::BadRequest),
        (503, ProviderErrorKind::Server),
    ] {
        assert_eq!(
            d.handshake_error(status, "").as_ref().and_then(kind_of),
            Some(kind),
            "{status}"
        );
    }
}

/// Every prefix of real messages, and the same messages with values swapped for absurd
/// ones, parse to some event without panicking.
#[test]
fn truncated_or_absurd_messages_never_panic() {
    let d = keyed();
    let real = [
        r#"{"type":"Results","channel_index":[0,1],"duration":1.98,"start":5.99,"is_final":true,"speech_final":true,"channel":{"alternatives":[{"transcript":"Tell me","confidence":0.99,"words":[]}]},"metadata":{"request_id":"r","model_info":{"name":"n","version":"v","arch":"a"},"model_uuid":"u"}}"#,
        r#"{"type":"SpeechStarted","channel":[0,1],"timestamp":9.54}"#,
        r#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}"#,
    ];
    for message in real {
        for cut in (0..message.len()).filter(|&i| message.is_char_boundary(i)) {
            let _ = d.parse(text(&message[..cut]));
        }
        for absurd in ["1e308", "-1", "NaN", "null", "\"x\"", "[]", "18446744073709551616"] {
            for field in ["5.99", "1.98", "9.54", "2.395", "true"] {
                let _ = d.parse(text(&message.replace(field, absurd)));
            }
        }
    }
}
