//! [`Session::connect`] against the mock providers: `wss://` to the mocks' TLS mode,
//! trusting the generated certificate, and bad keys surfacing as the dialect's typed
//! auth error, whichever way the provider refuses (Deepgram: HTTP 401 at the upgrade;
//! AssemblyAI: an upgrade, then close 1008), and HTTP refusals never retried.
//!
//! Every await that could hang is bounded by [`step`], which names the step. Servers
//! bind 127.0.0.1:0.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sttbench::error::Error;
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
use sttbench::provider::error::kind_of;
use sttbench::provider::{ApiKey, Credential, Dialect, Echo, ProviderErrorKind};
use sttbench::server::mock::{self, MockConfig, MockProvider};
use sttbench::server::{self, ServerHandle};
use sttbench::session::{ReconnectPolicy, Session, SessionConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

/// Longest any single step may take before the test fails naming it.
const STEP: Duration = Duration::from_secs(20);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

async fn start(config: MockConfig) -> ServerHandle {
    mock::start(config).await.expect("start the mock on 127.0.0.1:0")
}

fn dialect(provider: MockProvider, key: &str) -> Arc<dyn Dialect> {
    let key = Credential::Key(ApiKey::new(key));
    match provider {
        MockProvider::Deepgram => {
            Arc::new(Deepgram::new(DeepgramConfig::default().credential(key)))
        }
        MockProvider::AssemblyAi => {
            Arc::new(AssemblyAi::new(AssemblyAiConfig::default().credential(key)))
        }
    }
}

/// `wss://` to the mocks' TLS mode (feature `mock-tls`, which makes their certificate).
#[cfg(feature = "mock-tls")]
mod wss {
    use sttbench::encode::{AudioFormat, ChunkEncoder};
    use sttbench::error::ConnectFailure;
    use sttbench::provider::Event;
    use sttbench::server::mock::tls::SelfSigned;

    use super::*;

    /// At most this many events per session; a runaway server fails the test.
    const MAX_EVENTS: usize = 10_000;

    /// The speech fixture in 100 ms chunks (inside both providers' limits), padded to
    /// whole chunks.
    fn speech_chunks() -> Vec<bytes::Bytes> {
        let format = AudioFormat::PIPELINE;
        let spec = format.chunk_ms(100).expect("a whole number of frames");
        let mut samples = sttbench::signal::speech(format).expect("the fixture decodes");
        samples.resize(samples.len().next_multiple_of(spec.samples()), 0.0);
        ChunkEncoder::new(spec).chunks(&samples).collect()
    }

    /// Over `wss://`, trusting only the mock's certificate, each provider's session streams
    /// the fixture, gets its finals and a normal close.
    #[tokio::test]
    async fn wss_session_to_each_mock_gets_transcripts() {
        let cert = SelfSigned::generate().expect("certificate");
        for provider in [MockProvider::Deepgram, MockProvider::AssemblyAi] {
            let server =
                start(MockConfig::new(provider).tls(Some(cert.server_config().unwrap()))).await;
            let url = format!("wss://localhost:{}", server.addr().port());
            let config = SessionConfig::default().tls(Some(cert.client_config().unwrap()));
            let session =
                step("connect over TLS", Session::connect(&url, dialect(provider, "k"), config))
                    .await
                    .unwrap_or_else(|e| panic!("{provider}: {e}"));
            let (sender, mut events) = session.split();
            for chunk in speech_chunks() {
                step("send", sender.send(chunk)).await.expect("send");
            }
            step("close-stream", sender.close()).await.expect("close-stream");
            let mut finals = Vec::new();
            let mut closed = None;
            for _ in 0..MAX_EVENTS {
                match step("events", events.next()).await {
                    Some(Ok(Event::Transcript(t))) if t.is_final && !t.text.is_empty() => {
                        finals.push(t.text)
                    }
                    Some(Ok(Event::Closed { code, .. })) => closed = Some(code),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => panic!("{provider}: {e}"),
                    None => break,
                }
            }
            assert!(!finals.is_empty(), "{provider}: no final over wss://");
            assert_eq!(closed, Some(1000), "{provider}");
            assert!(sender.report().to_json().contains("chunks"), "{provider}");
            step("shutdown", server.shutdown()).await;
        }
    }

    /// Without being told to trust the self-signed certificate, `wss://` checks it against
    /// the default (Mozilla) roots and refuses: a connect error, not a session.
    #[tokio::test]
    async fn wss_refuses_an_untrusted_certificate_by_default() {
        let cert = SelfSigned::generate().expect("certificate");
        let tls = cert.server_config().unwrap();
        let server = start(MockConfig::new(MockProvider::Deepgram).tls(Some(tls))).await;
        let url = format!("wss://localhost:{}", server.addr().port());
        let config = SessionConfig::default().reconnect(ReconnectPolicy::default().attempts(1));
        let connect = Session::connect(&url, dialect(MockProvider::Deepgram, "k"), config);
        match step("connect to an untrusted server", connect).await {
            Err(Error::Connect(e)) => {
                assert!(matches!(e.cause, ConnectFailure::Handshake(_)), "{e}");
                assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
            }
            other => panic!("expected a certificate failure, got {other:?}"),
        }
        step("shutdown", server.shutdown()).await;
    }
}

/// A wrong key through `Session::connect`: Deepgram's HTTP 401 is the typed auth error
/// at connect time; AssemblyAI upgrades, so the session opens and its first event is
/// the typed auth error (close 1008). Neither message holds the key.
#[tokio::test]
async fn bad_key_is_the_typed_auth_error_through_the_session() {
    const WRONG: &str = "wrong-key-canary";
    for provider in [MockProvider::Deepgram, MockProvider::AssemblyAi] {
        let server = start(MockConfig::new(provider).api_key(Some(ApiKey::new("right")))).await;
        let url = server.ws_url();
        let connect = Session::connect(&url, dialect(provider, WRONG), SessionConfig::default());
        let error = match (provider, step("connect", connect).await) {
            (MockProvider::Deepgram, result) => result.expect_err("HTTP 401 refuses the upgrade"),
            (MockProvider::AssemblyAi, result) => {
                let mut session = result.expect("AssemblyAI upgrades before checking the key");
                match step("first event", session.next_event()).await {
                    Some(Err(e)) => e,
                    other => panic!("expected the 1008 close as an error, got {other:?}"),
                }
            }
        };
        assert_eq!(kind_of(&error), Some(ProviderErrorKind::Auth), "{provider}: {error}");
        let shown = format!("{error} {error:?}");
        assert!(shown.contains(provider.name()), "{shown}");
        assert!(!shown.contains(WRONG), "the key leaked: {shown}");
        step("shutdown", server.shutdown()).await;
    }
}

/// A server at the returned URL that answers one upgrade with `status` (the whole
/// status line after the version) and `body`, then goes away, so that a retry would meet
/// only "connection refused". The task ends once the answer is written.
async fn refuse_once(status: &'static str, body: &'static str) -> (String, JoinHandle<()>) {
    let listener = server::bind_loopback().await.expect("bind 127.0.0.1:0");
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.expect("accept");
        drop(listener);
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.expect("read the request");
            assert!(n > 0, "the client hung up mid-request");
            request.extend_from_slice(&buf[..n]);
        }
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(response.as_bytes()).await.expect("answer");
        tcp.shutdown().await.expect("close");
    });
    (url, task)
}

/// Three attempts allowed, three quick backoffs.
fn three_attempts() -> SessionConfig {
    let policy = ReconnectPolicy::default().attempts(3).initial_backoff(Duration::from_millis(1));
    SessionConfig::default().reconnect(policy)
}

/// An HTTP refusal the dialect maps is its typed error, and is not retried: a retry
/// would have met "connection refused" instead.
#[tokio::test]
async fn http_refusal_is_the_dialects_error_and_not_retried() {
    let body = r#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials."}"#;
    let (url, server) = refuse_once("401 Unauthorized", body).await;
    let dialect = dialect(MockProvider::Deepgram, "k");
    let connect = Session::connect(&url, dialect, three_attempts());
    let error = step("connect", connect).await.expect_err("401");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::Auth), "{error}");
    assert!(error.to_string().contains("Invalid credentials."), "{error}");
    step("the one-shot server", server).await.expect("the server task");
}

/// A status the dialect does not map (the echo dialect maps none) is a connect error
/// naming it, after one attempt.
#[tokio::test]
async fn unmapped_http_refusal_is_a_connect_error_after_one_attempt() {
    let (url, server) = refuse_once("404 Not Found", "{}").await;
    let connect = Session::connect(&url, Arc::new(Echo), three_attempts());
    match step("connect", connect).await {
        Err(Error::Connect(e)) => {
            assert_eq!(e.attempts, 1, "{e}");
            assert!(e.to_string().contains("404"), "{e}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    step("the one-shot server", server).await.expect("the server task");
}
