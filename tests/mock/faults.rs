//! Faults as a client meets them, on both dialects: triggers by audio received, by bytes
//! and by wall-clock time; faults on the first connections only; the chunk-duration
//! fault's reason.

use std::time::Duration;

use bytes::Bytes;
use futures_util::SinkExt;
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::deepgram::Deepgram;
use sttbench::provider::{ApiKey, Credential, Dialect, Event};
use sttbench::server::mock::{Fault, MockConfig, MockProvider};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Client, deepgram_config, finals, speech_chunks, start, transcripts};

const PROVIDERS: [MockProvider; 2] = [MockProvider::Deepgram, MockProvider::AssemblyAi];

fn fault(spelling: &str) -> Option<Fault> {
    Some(spelling.parse().expect("a documented spelling"))
}

fn key() -> Credential {
    Credential::Key(ApiKey::new("k"))
}

/// Connects to `server` with the dialect of `provider` as `$client` and evaluates `$body`,
/// so one test body serves both dialects' client types.
macro_rules! with_client {
    ($provider:expr, $server:expr, |$client:ident| $body:expr) => {
        match $provider {
            MockProvider::Deepgram => {
                let dialect = Deepgram::new(deepgram_config().credential(key()));
                let mut $client = Client::connect(dialect, $server).await.expect("connects");
                $body
            }
            MockProvider::AssemblyAi => {
                let dialect = AssemblyAi::new(AssemblyAiConfig::default().credential(key()));
                let mut $client = Client::connect(dialect, $server).await.expect("connects");
                $body
            }
        }
    };
}

/// Sends `chunks` back to back, unpaced; stops quietly once the server has gone.
async fn send_all<D: Dialect>(client: &mut Client<TcpStream, D>, chunks: Vec<Bytes>) -> usize {
    let mut sent = 0;
    for chunk in chunks {
        if client.ws.send(Message::Binary(chunk)).await.is_err() {
            break;
        }
        sent += 1;
    }
    sent
}

/// Sends the dialect's close-stream message, if the server is still there.
async fn close_stream<D: Dialect>(client: &mut Client<TcpStream, D>) {
    let message = client.dialect.close_stream().expect("hosted dialects have one");
    let _ = client.ws.send(message).await;
}

fn closed(events: &[Event]) -> Option<u16> {
    events.iter().find_map(|e| if let Event::Closed { code, .. } = e { Some(*code) } else { None })
}

/// `close=1011@2s` counts audio, not time: against a client that sends the whole 5.4 s
/// fixture in a few milliseconds, it still fires at 2 s of audio, before the
/// close-stream message is read, after the replies to the audio before it.
#[tokio::test]
async fn an_audio_time_fault_fires_against_an_unpaced_stream() {
    for provider in PROVIDERS {
        let server = start(MockConfig::new(provider).fault(fault("close=1011@2s"))).await;
        let events = with_client!(provider, &server, |client| {
            let chunks = speech_chunks(100);
            let all = chunks.len();
            assert_eq!(send_all(&mut client, chunks).await, all, "{provider}: all sent, unpaced");
            close_stream(&mut client).await;
            client.events_until_closed("audio-time fault").await
        });
        assert_eq!(closed(&events), Some(1011), "{provider}: {events:?}");
        // Partials every 200 ms of audio: the last before the fault covers up to 1.86 s.
        // Every reply to audio before the fault went out first, however fast it came.
        let last = transcripts(&events).map(|t| t.end).max().expect("transcripts before 2 s");
        let heard = Duration::from_millis(1_800)..=Duration::from_secs(2);
        assert!(heard.contains(&last), "{provider}: heard up to {last:?}");
        server.shutdown().await;
    }
}

/// `close=1011@wall:2s` counts time since the handshake: the same unpaced stream is over
/// long before, and ends normally.
#[tokio::test]
async fn a_wall_time_fault_does_not_fire_within_a_fast_stream() {
    for provider in PROVIDERS {
        let server = start(MockConfig::new(provider).fault(fault("close=1011@wall:2s"))).await;
        let events = with_client!(provider, &server, |client| {
            send_all(&mut client, speech_chunks(100)).await;
            close_stream(&mut client).await;
            client.events_until_closed("wall-time fault, fast stream").await
        });
        assert_eq!(closed(&events), Some(1000), "{provider}: {events:?}");
        server.shutdown().await;
    }
}

/// …and fires at its time on a connection that sends nothing (paused clock).
#[tokio::test(start_paused = true)]
async fn a_wall_time_fault_fires_at_its_time() {
    for provider in PROVIDERS {
        let server = start(MockConfig::new(provider).fault(fault("close=1011@wall:2s"))).await;
        let opened = Instant::now();
        let events = with_client!(provider, &server, |client| client
            .events_until_closed("wall-time fault")
            .await);
        assert_eq!(closed(&events), Some(1011), "{provider}: {events:?}");
        assert_eq!(opened.elapsed(), Duration::from_secs(2), "{provider}");
        server.shutdown().await;
    }
}

/// "Drop twice, then let the stream finish": with `--fault-connections 2`, the first two
/// connections vanish at 1 s of audio without a close frame; the third streams the whole
/// fixture and ends normally.
#[tokio::test]
async fn a_fault_on_the_first_connections_only_lets_the_next_one_finish() {
    for provider in PROVIDERS {
        let config = MockConfig::new(provider).fault(fault("drop@1s")).fault_connections(Some(2));
        let server = start(config).await;
        for attempt in 1..=3 {
            let events = with_client!(provider, &server, |client| {
                send_all(&mut client, speech_chunks(100)).await;
                close_stream(&mut client).await;
                client.events_until_closed("drop on the first two").await
            });
            if attempt <= 2 {
                assert_eq!(closed(&events), None, "{provider} #{attempt} dropped: {events:?}");
            } else {
                assert_eq!(closed(&events), Some(1000), "{provider} #{attempt}: {events:?}");
                assert_eq!(finals(&events).len(), 2, "{provider}: the whole fixture");
            }
        }
        server.shutdown().await;
    }
}

/// The chunk-duration fault refuses a 100 ms chunk, which is inside AssemblyAI's 50–1000
/// ms rule, so its reason says the refusal is the mock's instead of contradicting itself.
#[tokio::test]
async fn the_chunk_duration_fault_says_it_is_the_mocks() {
    for provider in PROVIDERS {
        let server = start(MockConfig::new(provider).fault(Some(Fault::ChunkDuration))).await;
        let events = with_client!(provider, &server, |client| {
            send_all(&mut client, speech_chunks(100)[..1].to_vec()).await;
            client.events_until_closed("chunk-duration fault").await
        });
        let Some(Event::Closed { code: 3007, reason }) = events.last() else {
            panic!("{provider}: {events:?}")
        };
        assert!(reason.starts_with("Input duration violation: 100 ms."), "{reason}");
        assert!(reason.contains("chunk-duration fault"), "{reason}");
        assert!(!reason.contains("Expected between"), "{provider}: {reason}");
        server.shutdown().await;
    }
}
