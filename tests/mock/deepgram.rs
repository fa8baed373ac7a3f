//! The Deepgram mock: handshake and auth, transcripts, control messages, idle timeout,
//! processing delay, faults.

use std::time::Duration;

use sttbench::encode::AudioFormat;
use sttbench::provider::deepgram::Deepgram;
use sttbench::provider::error::kind_of;
use sttbench::provider::{ApiKey, Credential, Dialect, Event, KeepAlive, ProviderErrorKind};
use sttbench::server::mock::{Fault, MockConfig, MockProvider, Trigger};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::client_async;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::client::{Client, STEP, deepgram_config, finals, speech_chunks, start, tone};

fn dialect(key: &str) -> Deepgram {
    Deepgram::new(deepgram_config().credential(Credential::Key(ApiKey::new(key))))
}

fn mock() -> MockConfig {
    MockConfig::new(MockProvider::Deepgram)
}

/// What the mock hears in the fixture: its two sentences, one final each (the pause after
/// each completes its sentence), unpunctuated without `smart_format`.
const FIXTURE_FINALS: [&str; 2] =
    ["the quick brown fox jumps over the lazy dog", "call me back at five"];

/// The speech fixture, streamed and closed with CloseStream: partials come before the
/// finals, the finals spell the script in order, and the stream ends with `Metadata`
/// and a normal close.
#[tokio::test]
async fn speech_gives_partials_then_finals_then_metadata_and_1000() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    client.stream(speech_chunks(100)).await;
    client.close_stream().await;
    let events = client.events_until_closed("speech session").await;
    let is_partial =
        |e: &Event| matches!(e, Event::Transcript(t) if !t.is_final && !t.text.is_empty());
    let first_partial = events.iter().position(is_partial).expect("a partial");
    let first_final = events.iter().position(|e| matches!(e, Event::Transcript(t) if t.is_final));
    assert!(first_partial < first_final.expect("a final"), "{events:?}");
    assert!(matches!(events[0], Event::SpeechStarted { .. }), "vad_events=true: {events:?}");
    assert_eq!(finals(&events), FIXTURE_FINALS);
    let n = events.len();
    assert!(matches!(&events[n - 2], Event::Metadata { session_id: Some(_), .. }), "{events:?}");
    assert_eq!(events[n - 1], Event::Closed { code: 1000, reason: String::new() });
    server.shutdown().await;
}

/// A wrong key never upgrades: HTTP 401 with Deepgram's headers and JSON body, which the
/// dialect turns into the typed auth error.
#[tokio::test]
async fn bad_key_is_http_401_with_deepgram_body_and_maps_to_auth() {
    let server = start(mock().api_key(Some(ApiKey::new("right")))).await;
    let err = Client::connect(dialect("wrong"), &server).await.err().expect("rejected");
    let tungstenite::Error::Http(response) = err else { panic!("not an HTTP rejection: {err}") };
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["dg-error"], "Invalid credentials.");
    assert!(response.headers().contains_key("dg-request-id"));
    let body = String::from_utf8(response.body().clone().expect("a body")).expect("UTF-8");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(json["err_code"], "INVALID_AUTH");
    let error = dialect("wrong")
        .handshake_error(response.status().as_u16(), &body)
        .expect("Deepgram maps 401");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::Auth));
    assert!(!error.to_string().contains("wrong"), "the key must not be echoed: {error}");
    server.shutdown().await;
}

/// Browsers cannot set headers: the key rides in `Sec-WebSocket-Protocol: token, <key>`
/// and the mock echoes `token`, as browsers require.
#[tokio::test]
async fn subprotocol_auth_is_accepted_and_echoed() {
    let server = start(mock()).await;
    let mut request = dialect("k").request(&server.ws_url(), AudioFormat::PIPELINE).unwrap();
    request.headers_mut().remove(header::AUTHORIZATION);
    request
        .headers_mut()
        .insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("token, k"));
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (_, response) =
        timeout(STEP, client_async(request, tcp)).await.expect("hung").expect("upgrade");
    assert_eq!(response.headers()[header::SEC_WEBSOCKET_PROTOCOL], "token");
    server.shutdown().await;
}

/// Ten seconds of nothing: `Metadata`, then close 1011 NET-0001, which the dialect reads
/// as the idle timeout. Time is paused, so the ten seconds pass at once.
#[tokio::test(start_paused = true)]
async fn idle_session_gets_metadata_then_net0001() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    let opened = Instant::now();
    let events = client.events_until_closed("idle session").await;
    assert!(opened.elapsed() >= Duration::from_secs(10), "closed after {:?}", opened.elapsed());
    assert!(matches!(events[0], Event::Metadata { .. }), "{events:?}");
    let Some(Event::Closed { code, reason }) = events.last() else { panic!("{events:?}") };
    let error = client.dialect.close_error(*code, reason).expect("an error");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::IdleTimeout));
    server.shutdown().await;
}

/// A long pause with a KeepAlive every 4 s (paused time) stays open for a minute; then
/// CloseStream ends it normally.
#[tokio::test(start_paused = true)]
async fn keep_alives_hold_a_silent_session_open() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    let KeepAlive::Message(keep_alive) = client.dialect.keep_alive() else { panic!("a message") };
    for _ in 0..15 {
        client.send(keep_alive.clone()).await;
        client.round_trip("keep-alive read").await;
        tokio::time::advance(Duration::from_secs(4)).await;
    }
    client.close_stream().await;
    let events = client.events_until_closed("after a minute of keep-alives").await;
    assert!(
        matches!(events[..], [Event::Metadata { .. }, Event::Closed { code: 1000, .. }]),
        "{events:?}"
    );
    server.shutdown().await;
}

/// Finalize in the middle of speech turns what was heard into a final that does not end
/// the utterance (`from_finalize`, not `speech_final`); the session stays open.
#[tokio::test]
async fn finalize_gives_a_final_mid_speech() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    client.send(Message::Binary(tone(1000))).await;
    client.send(client.dialect.finalize().expect("Deepgram has Finalize")).await;
    let event = loop {
        match client.next_event("final after Finalize").await.expect("open") {
            Event::Transcript(t) if t.is_final => break t,
            _ => continue,
        }
    };
    assert_eq!((event.text.as_str(), event.ends_turn), ("the quick brown fox", false));
    client.close_stream().await;
    let rest = client.events_until_closed("close after Finalize").await;
    assert!(matches!(rest.last(), Some(Event::Closed { code: 1000, .. })), "{rest:?}");
    server.shutdown().await;
}

/// The processing delay holds every reply back by exactly its length (paused time).
#[tokio::test(start_paused = true)]
async fn processing_delay_holds_replies_back() {
    let server = start(mock().delay(Duration::from_millis(350))).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    client.send(Message::Binary(tone(1000))).await;
    let sent = Instant::now();
    let first = client.next_event("first reply").await.expect("open");
    assert!(matches!(first, Event::SpeechStarted { .. }), "{first:?}");
    assert_eq!(sent.elapsed(), Duration::from_millis(350));
    server.shutdown().await;
}

/// `close=1011@32000b`: after 1 s of audio the mock closes with 1011 and Deepgram's
/// NET-0000 text, which the dialect reads as a response timeout.
#[tokio::test]
async fn close_fault_after_bytes_gives_the_typed_error() {
    let fault = Fault::Close { after: Trigger::Bytes(32_000), code: 1011, reason: String::new() };
    let server = start(mock().fault(Some(fault))).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    client.stream(speech_chunks(100).into_iter().take(10).collect()).await;
    let events = client.events_until_closed("close fault").await;
    let Some(Event::Closed { code: 1011, reason }) = events.last() else { panic!("{events:?}") };
    let error = client.dialect.close_error(1011, reason).expect("an error");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::ResponseTimeout));
    server.shutdown().await;
}

/// `drop@6400b`: the connection ends with no close frame.
#[tokio::test]
async fn drop_fault_ends_the_connection_without_a_close_frame() {
    let server = start(mock().fault(Some(Fault::Drop(Trigger::Bytes(6_400))))).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    client.stream(speech_chunks(100).into_iter().take(2).collect()).await;
    let events = client.events_until_closed("drop fault").await;
    assert!(!events.iter().any(|e| matches!(e, Event::Closed { .. })), "{events:?}");
    server.shutdown().await;
}

/// `stall@0b`: the mock stops reading, so the client's sends back up until one cannot
/// complete. Paused time makes "cannot complete" a timeout that fires as soon as the
/// runtime is idle.
#[tokio::test(start_paused = true)]
async fn stall_fault_stops_reading() {
    let server = start(mock().fault(Some(Fault::Stall(Trigger::Bytes(0))))).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    let big = Message::Binary(vec![0u8; 1 << 16].into());
    let mut sent = 0;
    // Loopback buffers hold a few MiB; 64 MiB is far beyond them.
    for _ in 0..1024 {
        use futures_util::SinkExt;
        match timeout(Duration::from_secs(1), client.ws.send(big.clone())).await {
            Ok(Ok(())) => sent += 1,
            Ok(Err(e)) => panic!("send failed after {sent} frames: {e}"),
            Err(_) => break,
        }
    }
    assert!(sent < 1024, "the mock kept reading");
    server.shutdown().await;
}

/// An empty binary frame is not "end of audio" any more: Deepgram closes with
/// DATA-0000, read as undecodable audio.
#[tokio::test]
async fn empty_audio_frame_is_data_0000() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    client.send(Message::Binary(Vec::new().into())).await;
    let events = client.events_until_closed("empty frame").await;
    let Some(Event::Closed { code: 1008, reason }) = events.last() else { panic!("{events:?}") };
    let error = client.dialect.close_error(1008, reason).expect("an error");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::UndecodableAudio));
    server.shutdown().await;
}

/// Shutting the server down closes open sessions with 1001 "going away".
#[tokio::test]
async fn shutdown_closes_open_sessions_with_1001() {
    let server = start(mock()).await;
    let mut client = Client::connect(dialect("k"), &server).await.expect("connects");
    let (events, ()) = tokio::join!(client.events_until_closed("shutdown"), server.shutdown());
    assert!(matches!(events.last(), Some(Event::Closed { code: 1001, .. })), "{events:?}");
}
