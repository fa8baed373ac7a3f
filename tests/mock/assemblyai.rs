//! The AssemblyAI mock: Begin, turns, Terminate, auth closes, the chunk rule, bad
//! messages and formatted turns.

use std::time::Duration;

use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::error::kind_of;
use sttbench::provider::{ApiKey, Credential, Dialect, Event, ProviderErrorKind};
use sttbench::server::mock::{Fault, MockConfig, MockProvider};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Client, finals, speech_chunks, start, tone, transcripts};

fn config(key: &str) -> AssemblyAiConfig {
    AssemblyAiConfig::default().credential(Credential::Key(ApiKey::new(key)))
}

fn dialect(key: &str) -> AssemblyAi {
    AssemblyAi::new(config(key))
}

fn mock() -> MockConfig {
    MockConfig::new(MockProvider::AssemblyAi)
}

/// Closes with `code` and checks the dialect maps it to `kind`.
fn assert_closed_as(
    client: &Client<impl Sized, AssemblyAi>,
    events: &[Event],
    code: u16,
    kind: ProviderErrorKind,
) {
    let Some(Event::Closed { code: got, reason }) = events.last() else { panic!("{events:?}") };
    assert_eq!(*got, code, "{reason}");
    let error = client.dialect.close_error(*got, reason).expect("an error close");
    assert_eq!(kind_of(&error), Some(kind), "{error}");
}

/// `Begin` first; the fixture in 50 ms chunks gives partial turns, then end-of-turn
/// turns numbered in order; `Terminate` gives `Termination` and a normal close.
#[tokio::test]
async fn speech_gives_begin_turns_termination_and_1000() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    let begin = client.next_event("Begin").await.expect("open");
    assert!(matches!(begin, Event::Metadata { session_id: Some(_), .. }), "{begin:?}");
    client.stream(speech_chunks(50)).await;
    client.close_stream().await;
    let events = client.events_until_closed("speech session").await;
    assert!(transcripts(&events).any(|t| !t.is_final && !t.text.is_empty()), "{events:?}");
    assert_eq!(
        finals(&events),
        ["the quick brown fox jumps over the lazy dog", "call me back at five"]
    );
    let turns: Vec<_> = transcripts(&events).filter(|t| t.is_final).map(|t| t.turn).collect();
    assert_eq!(turns, [Some(0), Some(1)]);
    let n = events.len();
    assert!(
        matches!(&events[n - 2], Event::Metadata { session_id: None, raw } if raw.contains("Termination"))
    );
    assert_eq!(events[n - 1], Event::Closed { code: 1000, reason: String::new() });
    server.shutdown().await;
}

/// A wrong key upgrades, then closes with 1008 before `Begin`: the typed auth error.
#[tokio::test]
async fn bad_key_upgrades_then_closes_1008() {
    let server = start(mock().api_key(Some(ApiKey::new("right")))).await;
    let mut client = Client::connect(dialect("wrong"), &server).await.expect("upgrades");
    let events = client.events_until_closed("auth close").await;
    assert_eq!(events.len(), 1, "no Begin: {events:?}");
    assert_closed_as(&client, &events, 1008, ProviderErrorKind::Auth);
}

/// A temporary token in `?token=` (the JS SDK's way) passes like a key in the header.
#[tokio::test]
async fn token_in_query_is_accepted() {
    let server = start(mock().api_key(Some(ApiKey::new("tmp")))).await;
    let token = AssemblyAiConfig::default().credential(Credential::Token(ApiKey::new("tmp")));
    let mut client =
        Client::connect(AssemblyAi::new(token.token_in_query(true)), &server).await.unwrap();
    let begin = client.next_event("Begin").await.expect("open");
    assert!(matches!(begin, Event::Metadata { session_id: Some(_), .. }), "{begin:?}");
    server.shutdown().await;
}

/// A 20 ms chunk breaks the 50–1000 ms rule: close 3007, read as a chunk-duration error.
/// The dialect would have refused it before sending; this client skips that check.
#[tokio::test]
async fn short_chunk_closes_3007() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    assert!(client.dialect.check_chunk(Duration::from_millis(20)).is_err());
    client.send(Message::Binary(tone(20))).await;
    let events = client.events_until_closed("3007").await;
    assert_closed_as(&client, &events, 3007, ProviderErrorKind::ChunkDuration);
    server.shutdown().await;
}

/// The `chunk-duration` fault rejects even a valid chunk.
#[tokio::test]
async fn chunk_duration_fault_closes_3007_on_valid_audio() {
    let server = start(mock().fault(Some(Fault::ChunkDuration))).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    client.send(Message::Binary(tone(100))).await;
    let events = client.events_until_closed("3007 fault").await;
    assert_closed_as(&client, &events, 3007, ProviderErrorKind::ChunkDuration);
    server.shutdown().await;
}

/// ForceEndpoint mid-speech ends the turn at once.
#[tokio::test]
async fn force_endpoint_ends_the_turn() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    for _ in 0..10 {
        client.send(Message::Binary(tone(100))).await;
    }
    client.send(client.dialect.finalize().expect("ForceEndpoint")).await;
    let turn = loop {
        match client.next_event("end of turn").await.expect("open") {
            Event::Transcript(t) if t.is_final => break t,
            _ => continue,
        }
    };
    assert_eq!(
        (turn.text.as_str(), turn.ends_turn, turn.turn),
        ("the quick brown fox", true, Some(0))
    );
    server.shutdown().await;
}

/// With `format_turns=true` each end of turn comes twice, the second formatted, same
/// turn number.
#[tokio::test]
async fn format_turns_adds_a_formatted_copy() {
    let server = start(mock()).await;
    let mut client =
        Client::connect(AssemblyAi::new(config("k").format_turns(true)), &server).await.unwrap();
    client.stream(speech_chunks(50)).await;
    client.close_stream().await;
    let events = client.events_until_closed("formatted turns").await;
    let ends: Vec<_> =
        transcripts(&events).filter(|t| t.is_final).map(|t| (t.turn, t.text.as_str())).collect();
    assert_eq!(
        ends[..2],
        [
            (Some(0), "the quick brown fox jumps over the lazy dog"),
            (Some(0), "The quick brown fox jumps over the lazy dog.")
        ]
    );
    server.shutdown().await;
}

/// Malformed JSON and unknown message types close with 3006, read as an invalid message.
#[tokio::test]
async fn bad_text_frames_close_3006() {
    for text in ["{not json", r#"{"type":"Explode"}"#] {
        let server = start(mock()).await;
        let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
        client.send(Message::text(text)).await;
        let events = client.events_until_closed("3006").await;
        assert_closed_as(&client, &events, 3006, ProviderErrorKind::InvalidMessage);
        server.shutdown().await;
    }
}
