//! AssemblyAI dialect tests, with the exact JSON the providers' docs and SDKs show
//! (`docs/providers.md`, "AssemblyAI").

use super::*;
use crate::provider::error::kind_of;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;

fn keyed() -> AssemblyAi {
    AssemblyAi::new(AssemblyAiConfig::default().credential(Credential::Key(ApiKey::new("aai-key"))))
}

fn text(json: &str) -> Message {
    Message::text(json)
}

#[test]
fn request_has_path_query_and_raw_key() {
    let req = keyed().request("ws://127.0.0.1:4000", AudioFormat::PIPELINE).unwrap();
    assert_eq!(req.uri().path(), "/v3/ws");
    let query = req.uri().query().unwrap();
    for param in [
        "sample_rate=16000",
        "encoding=pcm_s16le",
        "speech_model=universal-streaming-english",
        "format_turns=false",
    ] {
        assert!(query.split('&').any(|p| p == param), "{param} missing from {query}");
    }
    assert_eq!(req.headers()[AUTHORIZATION], "aai-key");
}

#[test]
fn turn_settings_keyterms_and_timeout_go_in_the_query() {
    let config = AssemblyAiConfig::default()
        .turn(
            TurnSettings::default()
                .confidence_threshold(0.7)
                .max_turn_silence(Duration::from_millis(1000)),
        )
        .keyterms(vec!["foo".into(), "bar baz".into()])
        .inactivity_timeout(Some(Duration::from_secs(30)))
        .credential(Credential::Key(ApiKey::new("k")));
    let req = AssemblyAi::new(config).request(PRODUCTION_URL, AudioFormat::PIPELINE).unwrap();
    let query = req.uri().query().unwrap();
    for param in [
        "end_of_turn_confidence_threshold=0.7",
        "max_turn_silence=1000",
        "inactivity_timeout=30",
        "keyterms_prompt=%5B%22foo%22%2C%22bar%20baz%22%5D",
    ] {
        assert!(query.split('&').any(|p| p == param), "{param} missing from {query}");
    }
}

#[test]
fn temporary_token_in_header_by_default_or_query_on_request() {
    let token = Credential::Token(ApiKey::new("tmp-token"));
    let header = AssemblyAi::new(AssemblyAiConfig::default().credential(token.clone()))
        .request("ws://h:1", AudioFormat::PIPELINE)
        .unwrap();
    assert_eq!(header.headers()[AUTHORIZATION], "tmp-token");
    assert!(!header.uri().to_string().contains("tmp-token"));
    let query = AssemblyAi::new(AssemblyAiConfig::default().credential(token).token_in_query(true))
        .request("ws://h:1", AudioFormat::PIPELINE)
        .unwrap();
    assert!(query.headers().get(AUTHORIZATION).is_none());
    assert!(query.uri().query().unwrap().ends_with("&token=tmp-token"));
}

#[test]
fn missing_key_and_stereo_are_clear_errors() {
    let err = AssemblyAi::default().request("ws://h:1", AudioFormat::PIPELINE).unwrap_err();
    assert_eq!(kind_of(&err), Some(ProviderErrorKind::Config));
    assert!(err.to_string().contains(API_KEY_ENV), "{err}");
    let stereo = AudioFormat::new(16_000, 2).unwrap();
    let err = keyed().request("ws://h:1", stereo).unwrap_err();
    assert_eq!(kind_of(&err), Some(ProviderErrorKind::Config));
    assert!(err.to_string().contains("mono"), "{err}");
}

#[test]
fn chunk_durations_are_checked_at_both_edges() {
    let d = keyed();
    let ms = Duration::from_millis;
    for ok in [ms(50), ms(100), ms(1000)] {
        assert!(d.check_chunk(ok).is_ok(), "{ok:?}");
    }
    for bad in [
        Duration::ZERO,
        ms(49),
        ms(50) - Duration::from_nanos(1),
        ms(1001),
        ms(1000) + Duration::from_nanos(1),
    ] {
        let err = d.check_chunk(bad).unwrap_err();
        assert_eq!(kind_of(&err), Some(ProviderErrorKind::ChunkDuration), "{bad:?}");
        assert!(err.to_string().contains("50–1000 ms"), "{err}");
    }
}

#[test]
fn control_messages() {
    let d = keyed();
    assert_eq!(d.keep_alive(), KeepAlive::Message(text(r#"{"type":"KeepAlive"}"#)));
    assert_eq!(d.finalize(), Some(text(r#"{"type":"ForceEndpoint"}"#)));
    assert_eq!(d.close_stream(), Some(text(r#"{"type":"Terminate"}"#)));
    let turn = TurnSettings::default().min_turn_silence(Duration::from_millis(300));
    let Message::Text(update) = AssemblyAi::update_configuration(&turn) else {
        panic!("UpdateConfiguration must be a text frame")
    };
    let update: serde_json::Value = serde_json::from_str(&update).unwrap();
    assert_eq!(update, serde_json::json!({"type": "UpdateConfiguration", "min_turn_silence": 300}));
}

#[test]
fn begin_turns_speech_started_and_termination() {
    let d = keyed();
    let begin =
        r#"{"type":"Begin","id":"de5d9927-73a6-4be8-b52d-b4c07be37e6b","expires_at":1759796682}"#;
    assert_eq!(
        d.parse(text(begin)),
        Event::Metadata {
            session_id: Some("de5d9927-73a6-4be8-b52d-b4c07be37e6b".into()),
            raw: begin.into()
        }
    );
    let partial = r#"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":false,"transcript":"hi",
     "end_of_turn_confidence":0.000014,
     "words":[{"start":1920,"end":2000,"text":"hi","confidence":0.874618,"word_is_final":true},
              {"start":2800,"end":2880,"text":"my","confidence":0.812831,"word_is_final":false}],
     "utterance":"","type":"Turn"}"#;
    let Event::Transcript(t) = d.parse(text(partial)) else { panic!("not a transcript") };
    assert_eq!((t.text.as_str(), t.is_final, t.turn), ("hi my", false, Some(0)));
    assert_eq!((t.start, t.end), (Duration::from_millis(1920), Duration::from_millis(2880)));

    let end = r#"{"turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Hi, my name is Sonny.",
     "end_of_turn_confidence":0.5005,"words":[{"start":1920,"end":2000,"text":"Hi,","confidence":0.9,"word_is_final":true}],
     "utterance":"","type":"Turn"}"#;
    let Event::Transcript(t) = d.parse(text(end)) else { panic!("not a transcript") };
    assert_eq!(t.text, "Hi, my name is Sonny.");
    assert!(t.is_final && t.ends_turn);

    assert_eq!(
        d.parse(text(r#"{"type":"SpeechStarted","timestamp":1920,"confidence":0.97}"#)),
        Event::SpeechStarted { at: Duration::from_millis(1920) }
    );
    let term = r#"{"type":"Termination","audio_duration_seconds":7,"session_duration_seconds":7}"#;
    assert_eq!(d.parse(text(term)), Event::Metadata { session_id: None, raw: term.into() });
}

#[test]
fn errors_typed_or_bare() {
    let d = keyed();
    assert_eq!(
        d.parse(text(r#"{"type":"Error","error_code":3006,"error":"Invalid JSON"}"#)),
        Event::ProviderError { code: Some("3006".into()), message: "Invalid JSON".into() }
    );
    assert_eq!(
        d.parse(text(r#"{"error":"Client sent audio too fast"}"#)),
        Event::ProviderError { code: None, message: "Client sent audio too fast".into() }
    );
}

#[test]
fn unknown_and_malformed_messages_are_kept_not_fatal() {
    let d = keyed();
    for raw in [
        r#"{"type":"Heartbeat","total_audio_received_ms":100}"#,
        r#"{"type":"Turn","turn_order":-1}"#,
        r#"{"type":"Turn","turn_order":0,"end_of_turn":false,"transcript":"x","words":[{"text":"x","start":-5,"end":1}]}"#,
        r#"{"message_type":"PartialTranscript","text":"v2"}"#,
        "{\"type\":",
        "\u{0}",
    ] {
        assert_eq!(d.parse(text(raw)), Event::Unknown(raw.into()), "{raw}");
    }
}

#[test]
fn every_documented_close_code_maps_to_its_kind() {
    use ProviderErrorKind as K;
    let d = keyed();
    assert!(d.close_error(1000, "").is_none());
    for (code, reason, kind) in [
        (1008, "Unauthorized Connection: Missing Authorization header", K::Auth),
        (1008, "Unauthorized connection: Too many concurrent sessions", K::TooManySessions),
        (3005, "Session Cancelled: An error occurred", K::Server),
        (3006, "Invalid JSON: {", K::InvalidMessage),
        (
            3007,
            "Input duration violation: 20 ms. Expected between 50 and 1000 ms",
            K::ChunkDuration,
        ),
        (
            3007,
            "Audio Transmission Rate Exceeded: Received 10 sec. audio in 5 sec",
            K::RateExceeded,
        ),
        (3008, "Session Expired: Maximum session duration exceeded", K::SessionExpired),
        (3009, "Unauthorized Connection: Too many concurrent sessions", K::TooManySessions),
        (4001, "Not Authorized", K::Auth),
        (4002, "Insufficient Funds", K::Payment),
        (4031, "idle", K::IdleTimeout),
        (4102, "too many streams", K::TooManySessions),
        (1013, "try again", K::Server),
        (4999, "?", K::Other),
    ] {
        let err = d.close_error(code, reason).expect("an error for a non-normal close");
        assert_eq!(kind_of(&err), Some(kind), "{code} {reason}");
        assert!(err.to_string().contains(reason), "{err}");
    }
}

/// Every prefix of real messages, and the same messages with values swapped for absurd
/// ones, parse to some event without panicking.
#[test]
fn truncated_or_absurd_messages_never_panic() {
    let d = keyed();
    let real = [
        r#"{"type":"Begin","id":"de5d9927","expires_at":1759796682}"#,
        r#"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":false,"transcript":"hi","end_of_turn_confidence":0.5,"words":[{"start":1920,"end":2000,"text":"hi","confidence":0.87,"word_is_final":true}],"utterance":"","type":"Turn"}"#,
        r#"{"type":"Termination","audio_duration_seconds":7,"session_duration_seconds":7}"#,
    ];
    for message in real {
        for cut in (0..message.len()).filter(|&i| message.is_char_boundary(i)) {
            let _ = d.parse(text(&message[..cut]));
        }
        for absurd in ["1e308", "-1", "NaN", "null", "\"x\"", "[]", "18446744073709551616"] {
            for field in ["1920", "2000", "0,", "7,", "false"] {
                let _ = d.parse(text(&message.replace(field, absurd)));
            }
        }
    }
}
