//! Whole-pipeline runs against the mock providers: the session streams the speech
//! fixture, the mock transcribes it, the timeline measures it.

use std::sync::Arc;
use std::time::Duration;

use sttbench::pipeline::{self, PipelineOptions};
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
use sttbench::provider::error::kind_of;
use sttbench::provider::{ApiKey, Credential, Dialect, ProviderErrorKind};
use sttbench::server::mock::{self, MockConfig, MockProvider};
use sttbench::server::{self, ServerHandle};

/// What the mocks hear in the fixture (see `tests/mock/deepgram.rs`).
const FIXTURE_FINALS: [&str; 2] =
    ["the quick brown fox jumps over the lazy dog", "call me back at five"];

async fn start(config: MockConfig) -> ServerHandle {
    mock::start(config).await.expect("start the mock on 127.0.0.1:0")
}

fn key(k: &str) -> Credential {
    Credential::Key(ApiKey::new(k))
}

fn deepgram(k: &str) -> Arc<dyn Dialect> {
    Arc::new(Deepgram::new(DeepgramConfig::default().credential(key(k))))
}

fn assemblyai(k: &str) -> Arc<dyn Dialect> {
    Arc::new(AssemblyAi::new(AssemblyAiConfig::default().credential(key(k))))
}

fn dialect(provider: MockProvider, k: &str) -> Arc<dyn Dialect> {
    match provider {
        MockProvider::Deepgram => deepgram(k),
        MockProvider::AssemblyAi => assemblyai(k),
    }
}

/// Both dialects at once from one process, unpaced: every final arrives, a first partial
/// is measured, the server closes normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_providers_measure_the_fixture_at_once() {
    let one = |provider| async move {
        let server = start(MockConfig::new(provider)).await;
        let run =
            pipeline::run(&server.ws_url(), dialect(provider, "k"), &PipelineOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{provider}: {e}"));
        server.shutdown().await;
        run
    };
    let (dg, aai) = tokio::join!(one(MockProvider::Deepgram), one(MockProvider::AssemblyAi));
    for run in [dg, aai] {
        assert_eq!(run.finals, FIXTURE_FINALS, "{}", run.provider);
        assert!(run.pipeline.first_partial.is_some(), "{}", run.provider);
        assert_eq!(run.pipeline.final_latencies.len(), 2, "{}", run.provider);
        assert_eq!(run.server_close, Some((1000, String::new())), "{}", run.provider);
        let outcome = &run.outcome;
        assert_eq!(outcome.chunks_sent, outcome.chunks_total, "{}", run.provider);
        assert_eq!(outcome.bytes_sent, outcome.chunks_total * 3_200, "100 ms chunks");
    }
}

/// With time paused and a 300 ms processing delay, unpaced: every reply comes exactly
/// 300 ms after the audio that caused it, so both figures are exactly the delay.
#[tokio::test(start_paused = true)]
async fn processing_delay_is_what_the_timeline_measures() {
    for provider in [MockProvider::Deepgram, MockProvider::AssemblyAi] {
        let server = start(MockConfig::new(provider).delay(Duration::from_millis(300))).await;
        let run =
            pipeline::run(&server.ws_url(), dialect(provider, "k"), &PipelineOptions::default())
                .await
                .unwrap();
        let delay = Duration::from_millis(300);
        assert_eq!(run.pipeline.first_partial, Some(delay), "{provider}");
        assert_eq!(run.pipeline.final_latencies, [delay, delay], "{provider}");
        server.shutdown().await;
    }
}

/// Paced in real time (paused clock), zero delay: the first partial comes with the chunk
/// that completes the mock's first 200 ms of speech (audio 0.4–0.5 s, sent at 400 ms),
/// and each final exactly the endpointing silence after its speech ended: 300 ms for
/// Deepgram (the dialect asks `endpointing=300`), 400 ms for AssemblyAI (its default
/// `min_turn_silence`). That wait is what a user feels after they stop talking.
#[tokio::test(start_paused = true)]
async fn realtime_pacing_measures_what_a_speaker_waits() {
    for (provider, endpointing) in [(MockProvider::Deepgram, 300), (MockProvider::AssemblyAi, 400)]
    {
        let server = start(MockConfig::new(provider)).await;
        let options = PipelineOptions::default().realtime(true);
        let run = pipeline::run(&server.ws_url(), dialect(provider, "k"), &options).await.unwrap();
        assert_eq!(run.pipeline.first_partial, Some(Duration::from_millis(400)), "{provider}");
        let wait = Duration::from_millis(endpointing);
        assert_eq!(run.pipeline.final_latencies, [wait, wait], "{provider}");
        assert_eq!(run.finals, FIXTURE_FINALS, "{provider}");
        server.shutdown().await;
    }
}

/// A wrong key is the typed auth error for both dialects, though they refuse
/// differently (Deepgram: HTTP 401; AssemblyAI: close 1008 after the upgrade).
#[tokio::test]
async fn bad_key_is_the_typed_auth_error_for_both() {
    for provider in [MockProvider::Deepgram, MockProvider::AssemblyAi] {
        let server = start(MockConfig::new(provider).api_key(Some(ApiKey::new("right")))).await;
        let error = pipeline::run(
            &server.ws_url(),
            dialect(provider, "wrong"),
            &PipelineOptions::default(),
        )
        .await
        .expect_err("a wrong key must fail");
        assert_eq!(kind_of(&error), Some(ProviderErrorKind::Auth), "{provider}: {error}");
        assert!(error.to_string().contains(provider.name()), "{error}");
        server.shutdown().await;
    }
}

/// Over `wss://` (the mock's TLS mode, its certificate trusted through the session's
/// config), the run connects through the session and measures the same finals.
#[cfg(feature = "mock-tls")]
#[tokio::test]
async fn wss_runs_through_the_session() {
    use sttbench::server::mock::tls::SelfSigned;
    use sttbench::session::SessionConfig;

    let cert = SelfSigned::generate().expect("certificate");
    let tls = cert.server_config().expect("server config");
    let server = start(MockConfig::new(MockProvider::Deepgram).tls(Some(tls))).await;
    let url = format!("wss://localhost:{}", server.addr().port());
    let session = SessionConfig::default().tls(Some(cert.client_config().expect("client config")));
    let options = PipelineOptions::default().session(session);
    let run =
        tokio::time::timeout(Duration::from_secs(20), pipeline::run(&url, deepgram("k"), &options))
            .await
            .expect("the wss:// run hung")
            .unwrap_or_else(|e| panic!("wss:// run: {e}"));
    assert_eq!(run.finals, FIXTURE_FINALS);
    assert_eq!(run.server_close, Some((1000, String::new())));
    server.shutdown().await;
}

/// A chunk AssemblyAI would refuse is refused before connecting.
#[tokio::test]
async fn bad_chunk_is_refused_before_connecting() {
    // Nothing listens here any more, so reaching the network would be a connect error.
    let port = server::bind_loopback().await.unwrap().local_addr().unwrap().port();
    let options = PipelineOptions::default().chunk(Duration::from_millis(20));
    let error = pipeline::run(&format!("ws://127.0.0.1:{port}"), assemblyai("k"), &options)
        .await
        .expect_err("20 ms is below AssemblyAI's 50 ms");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::ChunkDuration), "{error}");
}

/// A server that closes mid-stream with a provider code surfaces as the typed error.
#[tokio::test]
async fn server_close_mid_stream_is_the_typed_error() {
    let fault = mock::Fault::Close {
        after: mock::Trigger::Bytes(32_000),
        code: 3008,
        reason: String::new(),
    };
    let server = start(MockConfig::new(MockProvider::AssemblyAi).fault(Some(fault))).await;
    let error = pipeline::run(&server.ws_url(), assemblyai("k"), &PipelineOptions::default())
        .await
        .expect_err("the mock closes with 3008");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::SessionExpired), "{error}");
    server.shutdown().await;
}

/// With `format_turns`, AssemblyAI sends each end of turn twice; the run keeps one final
/// per turn, with the formatted text.
#[tokio::test]
async fn formatted_turn_copies_count_once() {
    let server = start(MockConfig::new(MockProvider::AssemblyAi)).await;
    let dialect: Arc<dyn Dialect> = Arc::new(AssemblyAi::new(
        AssemblyAiConfig::default().credential(key("k")).format_turns(true),
    ));
    let run = pipeline::run(&server.ws_url(), dialect, &PipelineOptions::default()).await.unwrap();
    assert_eq!(
        run.finals,
        ["The quick brown fox jumps over the lazy dog.", "Call me back at five."]
    );
    assert_eq!(run.pipeline.final_latencies.len(), 2);
    server.shutdown().await;
}

/// A long pause in a live session (paused time): the session's keep-alives hold the
/// Deepgram mock open past its 10 s idle window for a minute; without them, the mock
/// closes at 10 s with NET-0001 and the session reports the typed idle timeout.
#[tokio::test(start_paused = true)]
async fn keep_alives_hold_a_silent_session_open_and_their_absence_times_out() {
    use sttbench::provider::Event;
    use sttbench::session::{Session, SessionConfig};

    let server = start(MockConfig::new(MockProvider::Deepgram)).await;
    let config = SessionConfig::default().keep_alive(Some(Duration::from_secs(5)));
    let mut session = Session::connect(&server.ws_url(), deepgram("k"), config).await.unwrap();
    let quiet = tokio::time::timeout(Duration::from_secs(60), session.next_event()).await;
    assert!(quiet.is_err(), "the mock spoke during a kept-alive pause: {quiet:?}");
    session.close().await.expect("a normal close after a minute of silence");

    let config = SessionConfig::default().keep_alive(None);
    let mut session = Session::connect(&server.ws_url(), deepgram("k"), config).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut last = None;
    for _ in 0..3 {
        match tokio::time::timeout(Duration::from_secs(60), session.next_event()).await {
            Ok(Some(Ok(Event::Metadata { .. }))) => continue,
            Ok(other) => {
                last = other;
                break;
            }
            Err(_) => panic!("no idle close within 60 s"),
        }
    }
    let error = last.expect("an event").expect_err("the idle close is an error");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::IdleTimeout), "{error}");
    assert!(started.elapsed() >= Duration::from_secs(10));
    server.shutdown().await;
}

/// A server that accepts TCP but never answers the upgrade: a connect error naming the
/// timeout, after the session's connect timeout (paused time), not a hang.
#[tokio::test(start_paused = true)]
async fn silent_server_is_a_connect_timeout() {
    let listener = server::bind_loopback().await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let config =
        sttbench::session::SessionConfig::default().connect_timeout(Duration::from_secs(5));
    let started = tokio::time::Instant::now();
    let error = pipeline::run(&url, deepgram("k"), &PipelineOptions::default().session(config))
        .await
        .expect_err("nobody answers");
    assert!(matches!(error, sttbench::Error::Connect(_)), "{error}");
    assert!(error.to_string().contains("5s"), "{error}");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    drop(listener);
}
