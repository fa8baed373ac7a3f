//! Mock providers: local servers that speak Deepgram's `/v1/listen` and AssemblyAI's
//! `/v3/ws` closely enough that the providers' official SDKs stream to them and get
//! transcripts back, so the whole pipeline can be measured offline.
//!
//! - Same handshake and auth behaviour as the real services: Deepgram answers a bad key
//!   with HTTP 401 and its JSON body; AssemblyAI upgrades, then closes with 1008.
//! - Same message shapes and close sequences (`CloseStream` → `Results`, `Metadata`,
//!   close 1000; `Terminate` → `Turn`, `Termination`, close 1000), the documented idle
//!   timeout (Deepgram NET-0001 after 10 s) and chunk rule (AssemblyAI 3007 outside
//!   50–1000 ms).
//! - Deterministic transcription ([`transcribe`]): voiced audio becomes script words,
//!   partials at a configurable cadence, finals on silence, on Finalize/ForceEndpoint and
//!   on close; a configurable processing delay stands in for the provider's latency.
//! - Faults on demand ([`Fault`]) and a TLS mode with a self-signed certificate
//!   ([`tls`]) for clients that insist on `wss://`.
//!
//! The mocks do not model accuracy, billing, rate limits or models: only what a client's
//! timing and error handling can observe. `shared/research/providers.md` has the facts.

mod assemblyai;
mod conn;
mod deepgram;
pub mod fault;
pub mod tls;
pub mod transcribe;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

pub use fault::{Fault, Trigger};
pub use transcribe::TranscriberConfig;

use crate::provider::ApiKey;
/// Which provider a mock plays: the same names as the real ones.
pub use crate::provider::Hosted as MockProvider;

/// Pause after a failed accept; long enough to let descriptors free up, short enough
/// that a transient error costs clients nothing they would notice.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How a mock provider behaves.
///
/// ```
/// use std::time::Duration;
/// use sttbench::server::mock::{Fault, MockConfig, MockProvider};
/// let config = MockConfig::new(MockProvider::Deepgram)
///     .delay(Duration::from_millis(150))
///     .fault(Some("close=1011@2s".parse()?));
/// # Ok::<(), sttbench::server::mock::fault::FaultParseError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MockConfig {
    provider: MockProvider,
    delay: Duration,
    transcriber: TranscriberConfig,
    api_key: Option<ApiKey>,
    fault: Option<Fault>,
    deepgram_idle: Duration,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl MockConfig {
    /// A mock of `provider` with no delay, no fault, any non-empty key accepted.
    pub fn new(provider: MockProvider) -> Self {
        MockConfig {
            provider,
            delay: Duration::ZERO,
            transcriber: TranscriberConfig::default(),
            api_key: None,
            fault: None,
            deepgram_idle: Duration::from_secs(10),
            tls: None,
        }
    }

    /// The provider this mock plays.
    pub fn provider(&self) -> MockProvider {
        self.provider
    }

    /// Processing delay before each reply; default 0, so benches measure the client and
    /// the transport alone. Real services take roughly 100–600 ms.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// What the mock hears; default [`TranscriberConfig::default`]. The endpoint silence
    /// is then set per session from the client's query (`endpointing`, `min_turn_silence`).
    pub fn transcriber(mut self, transcriber: TranscriberConfig) -> Self {
        self.transcriber = transcriber;
        self
    }

    /// The only key (or token) accepted; default none: any non-empty credential passes,
    /// as the mock cannot check real keys.
    pub fn api_key(mut self, key: Option<ApiKey>) -> Self {
        self.api_key = key;
        self
    }

    /// The fault every connection shows; default none.
    pub fn fault(mut self, fault: Option<Fault>) -> Self {
        self.fault = fault;
        self
    }

    /// Serves `wss://` with this TLS config (see [`tls::SelfSigned`]); default plain `ws://`.
    pub fn tls(mut self, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        self.tls = tls;
        self
    }

    /// Whether `credential` passes the mock's auth check.
    fn accepts(&self, credential: Option<&str>) -> bool {
        if self.fault == Some(Fault::RejectAuth) {
            return false;
        }
        match (credential.map(str::trim).filter(|c| !c.is_empty()), &self.api_key) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(given), Some(key)) => given == key.expose(),
        }
    }
}

/// Serves `config.provider()`'s protocol on `listener` until `shutdown` completes, then
/// closes every open connection with 1001 and returns once they are gone.
pub async fn run(listener: TcpListener, config: MockConfig, shutdown: oneshot::Receiver<()>) {
    let config = Arc::new(config);
    let tls = config.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let (config, tls, stop) = (config.clone(), tls.clone(), stop_rx.clone());
                    connections.spawn(async move {
                        tracing::debug!(%peer, provider = %config.provider, "mock: connection");
                        serve_tcp(tcp, tls, config, stop).await;
                    });
                }
                // Accept errors (out of file descriptors, a reset before accept) concern
                // one connection; keep serving the others, after a pause so that a
                // persistent error (EMFILE) does not spin the loop.
                Err(e) => {
                    tracing::warn!("mock: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Reap finished connections so the set does not grow over a long run.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
}

async fn serve_tcp(
    tcp: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    config: Arc<MockConfig>,
    stop: watch::Receiver<bool>,
) {
    // Replies are small and latency is what is measured: no Nagle delay.
    let _ = tcp.set_nodelay(true);
    match tls {
        None => serve(tcp, config, stop).await,
        Some(acceptor) => match acceptor.accept(tcp).await {
            Ok(stream) => serve(stream, config, stop).await,
            Err(e) => tracing::debug!("mock: TLS handshake failed: {e}"),
        },
    }
}

async fn serve<S>(stream: S, config: Arc<MockConfig>, stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    match config.provider {
        MockProvider::Deepgram => deepgram::serve(stream, &config, stop).await,
        MockProvider::AssemblyAi => assemblyai::serve(stream, &config, stop).await,
    }
}

/// The query parameters of a request target, `+` read as a space, percent-decoded.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = |b: u8| char::from(b).to_digit(16);
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(hi), Some(lo)) => {
                            out.push((hi * 16 + lo) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The value of `key` in `pairs`, if present.
fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A boolean query value, case-insensitive (Python SDKs send `True`).
fn flag(pairs: &[(String, String)], key: &str) -> Option<bool> {
    param(pairs, key).map(|v| v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_follows_what_sdks_send() {
        let q = query_pairs(Some(
            "format_turns=True&keyterms_prompt=%5B%22foo%22%2C+%22bar%22%5D&keyterm=a+b&bad=%zz&x",
        ));
        assert_eq!(flag(&q, "format_turns"), Some(true));
        assert_eq!(param(&q, "keyterms_prompt"), Some(r#"["foo", "bar"]"#));
        assert_eq!(param(&q, "keyterm"), Some("a b"));
        assert_eq!(param(&q, "bad"), Some("%zz"));
        assert_eq!(param(&q, "x"), Some(""));
        assert_eq!(param(&q, "missing"), None);
    }

    #[test]
    fn auth_accepts_any_key_or_only_the_configured_one() {
        let open = MockConfig::new(MockProvider::Deepgram);
        assert!(open.accepts(Some("anything")));
        assert!(!open.accepts(Some("  ")) && !open.accepts(None));
        let locked = open.clone().api_key(Some(ApiKey::new("right")));
        assert!(locked.accepts(Some("right")) && !locked.accepts(Some("wrong")));
        let rejecting = open.fault(Some(Fault::RejectAuth));
        assert!(!rejecting.accepts(Some("anything")));
    }
}
