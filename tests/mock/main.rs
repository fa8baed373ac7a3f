//! The mock providers driven by a plain tokio-tungstenite client, the way a voice app's
//! client would meet them: handshake, audio, control messages, closes and faults.
//!
//! Requests are built and frames parsed by the real dialects, so these tests also check
//! that the dialects and the mocks agree. Every wait is bounded and names its step.

mod assemblyai;
mod client;
mod deepgram;
mod faults;
#[cfg(feature = "mock-tls")]
mod tls;

use client::{Client, speech_chunks, start};
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::deepgram::Deepgram;
use sttbench::provider::{ApiKey, Credential, Event};
use sttbench::server::mock::{MockConfig, MockProvider};

/// Both dialects streamed at once from one process: neither mock nor client shares
/// state between sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_dialects_stream_at_once() {
    let dg = start(MockConfig::new(MockProvider::Deepgram)).await;
    let aai = start(MockConfig::new(MockProvider::AssemblyAi)).await;
    let key = Credential::Key(ApiKey::new("test-key"));
    let deepgram = async {
        let dialect = Deepgram::new(client::deepgram_config().credential(key.clone()));
        let mut c = Client::connect(dialect, &dg).await.expect("deepgram connects");
        c.stream(speech_chunks(100)).await;
        c.close_stream().await;
        c.events_until_closed("deepgram session").await
    };
    let assemblyai = async {
        let dialect = AssemblyAi::new(AssemblyAiConfig::default().credential(key.clone()));
        let mut c = Client::connect(dialect, &aai).await.expect("assemblyai connects");
        c.stream(speech_chunks(50)).await;
        c.close_stream().await;
        c.events_until_closed("assemblyai session").await
    };
    let (dg_events, aai_events) = tokio::join!(deepgram, assemblyai);
    for events in [&dg_events, &aai_events] {
        assert!(client::finals(events).iter().any(|t| !t.is_empty()), "{events:?}");
        assert!(matches!(events.last(), Some(Event::Closed { code: 1000, .. })), "{events:?}");
    }
    dg.shutdown().await;
    aai.shutdown().await;
}
