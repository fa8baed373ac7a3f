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
//! - Faults on demand ([`Fault`]), on every connection or the first few, each logged at
//!   INFO as it fires, as is every connection; a TLS mode (with the `mock-tls` feature,
//!   a self-signed certificate from `tls::SelfSigned`) for clients that insist on
//!   `wss://`.
//! - Served on the shared accept loop ([`super::accept`]): the TLS handshake and the
//!   upgrade share one handshake timeout, connections are limited, shutdown is bounded.
//!
//! The mocks do not model accuracy, billing, rate limits or models: only what a client's
//! timing and error handling can observe. `docs/providers.md` has the wire facts they rely
//! on, with their public sources.

mod assemblyai;
mod conn;
mod deepgram;
pub mod fault;
mod tap;
#[cfg(feature = "mock-tls")]
pub mod tls;
pub mod transcribe;

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tracing::Instrument;

pub use fault::{Fault, Trigger};
pub use tap::Tap;
pub use transcribe::TranscriberConfig;

use super::ServerHandle;
use super::accept::{self, Limits, Stop};
use crate::provider::ApiKey;
/// Which provider a mock plays: the same names as the real ones.
pub use crate::provider::Hosted as MockProvider;

/// Deepgram's median time from the end of speech to its final transcript in Pipecat's
/// stt-benchmark (nova-3, 16 kHz audio paced in real time): 247 ms.
pub const DEEPGRAM_DELAY: Duration = Duration::from_millis(247);

/// AssemblyAI's median in the same benchmark (universal-streaming): 256 ms.
pub const ASSEMBLYAI_DELAY: Duration = Duration::from_millis(256);

/// A processing delay for `provider` taken from published figures ([`DEEPGRAM_DELAY`],
/// [`ASSEMBLYAI_DELAY`]; `docs/performance.md` says where they come from and what they
/// include): what paced runs against a mock use unless told otherwise. Benches that
/// measure the client alone keep the default of zero.
pub fn realistic_delay(provider: MockProvider) -> Duration {
    match provider {
        MockProvider::Deepgram => DEEPGRAM_DELAY,
        MockProvider::AssemblyAi => ASSEMBLYAI_DELAY,
    }
}

/// How a mock provider behaves.
///
/// ```
/// use std::time::Duration;
/// use sttbench::server::mock::{Fault, MockConfig, MockProvider};
/// let config = MockConfig::new(MockProvider::Deepgram)
///     .delay(Duration::from_millis(150))
///     .fault(Some("close=1011@2s".parse()?))
///     .fault_connections(Some(2));
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
    fault_connections: Option<u64>,
    deepgram_idle: Duration,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    tap: Option<Arc<dyn Tap>>,
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
            fault_connections: None,
            deepgram_idle: Duration::from_secs(10),
            tls: None,
            limits: Limits::default(),
            tap: None,
        }
    }

    /// The provider this mock plays.
    pub fn provider(&self) -> MockProvider {
        self.provider
    }

    /// Processing delay before each reply; default 0, so benches measure the client and
    /// the transport alone. [`realistic_delay`] is a published figure for paced runs
    /// that want a provider's latency (see `docs/performance.md`).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sees every audio frame and reply with its instant (see [`Tap`]); default `None`.
    pub fn tap(mut self, tap: Option<Arc<dyn Tap>>) -> Self {
        self.tap = tap;
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

    /// The fault the mock shows (see [`fault`] for the spellings); default none.
    pub fn fault(mut self, fault: Option<Fault>) -> Self {
        self.fault = fault;
        self
    }

    /// Shows the fault on the first `n` connections only (counted in the order their
    /// upgrade requests arrive, from this server's start); later ones are served
    /// normally. Default `None`: every connection. With `Some(2)` and `drop@2s`, a client
    /// that reconnects is dropped twice, then finishes its stream.
    pub fn fault_connections(mut self, n: Option<u64>) -> Self {
        self.fault_connections = n;
        self
    }

    /// Serves `wss://` with this TLS config; default plain `ws://`. With the `mock-tls`
    /// feature, `tls::SelfSigned` makes one for loopback.
    pub fn tls(mut self, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        self.tls = tls;
        self
    }

    /// Handshake timeout (TLS and upgrade together), connection limit and shutdown
    /// drain; default [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The fault and how many connections show it, as the start-up line says it:
    /// `close=1011@2s` or `drop@2s on the first 2 connections`; `None` without a fault.
    pub fn fault_summary(&self) -> Option<String> {
        let fault = self.fault.as_ref()?;
        Some(match self.fault_connections {
            None => fault.to_string(),
            Some(1) => format!("{fault} on the first connection"),
            Some(n) => format!("{fault} on the first {n} connections"),
        })
    }
}

/// What every connection of one running mock shares.
struct Shared {
    config: MockConfig,
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Upgrade requests seen so far: numbers connections for logs and
    /// [`MockConfig::fault_connections`].
    upgrades: AtomicU64,
}

impl Shared {
    /// Numbers the next upgrade request (from 1) and says which fault, if any, it shows.
    fn next_connection(&self) -> (u64, Option<Fault>) {
        let n = self.upgrades.fetch_add(1, Ordering::Relaxed) + 1;
        let limit = self.config.fault_connections;
        let fault = self.config.fault.clone().filter(|_| limit.is_none_or(|limit| n <= limit));
        (n, fault)
    }
}

/// One connection's share of a handshake: which it is, its fault, and the deadline its
/// upgrade has to meet (what the TLS handshake left of the budget).
pub(super) struct Upgrade<'a> {
    shared: &'a Shared,
    deadline: Instant,
}

impl Upgrade<'_> {
    /// The mock's settings.
    fn config(&self) -> &MockConfig {
        &self.shared.config
    }

    /// Reads the upgrade request within what is left of the handshake budget, numbers the
    /// connection, lets the dialect's `answer` accept it (101 plus what it read from the
    /// request) or refuse it (an HTTP error response), and logs the outcome. `None` when
    /// the connection is to be dropped: refused, broken, too slow, or the server stops.
    #[expect(
        clippy::result_large_err,
        reason = "ErrorResponse is tungstenite's handshake callback contract; it is built once per refused connection"
    )]
    async fn accept<S, P>(
        &self,
        stream: S,
        stop: &mut Stop,
        answer: impl FnOnce(Option<&Fault>, &Request, Response) -> Result<(Response, P), ErrorResponse>
        + Unpin,
    ) -> Option<(WebSocketStream<S>, P, Option<Fault>)>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut accepted = None;
        let callback = |request: &Request, response: Response| {
            let (number, fault) = self.shared.next_connection();
            let path = request.uri().path();
            let answered = answer(fault.as_ref(), request, response);
            let status = match &answered {
                Ok(_) => StatusCode::SWITCHING_PROTOCOLS,
                Err(refusal) => refusal.status(),
            };
            let status = status.as_u16();
            match &fault {
                Some(fault) => {
                    tracing::info!("connection {number}: {path} → {status}; fault {fault}")
                }
                None => tracing::info!("connection {number}: {path} → {status}"),
            }
            let (response, params) = answered?;
            accepted = Some((params, fault));
            Ok(response)
        };
        let upgrade = tokio_tungstenite::accept_hdr_async(stream, callback);
        let left = self.deadline.saturating_duration_since(Instant::now());
        let ws = accept::handshake("WebSocket", left, stop, upgrade).await?;
        let (params, fault) = accepted?;
        Some((ws, params, fault))
    }
}

/// Serves `config.provider()`'s protocol on `listener` until `shutdown` completes, then
/// closes every open connection with 1001 and returns once they are gone or the drain
/// timeout has passed. [`start`] runs it on a loopback port.
pub async fn run(listener: TcpListener, config: MockConfig, shutdown: impl Future) {
    let provider = config.provider;
    let limits = config.limits;
    let tls = config.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let shared = Arc::new(Shared { config, tls, upgrades: AtomicU64::new(0) });
    // The accept loop's span already names the peer.
    let handler = move |tcp, _peer, stop| serve_tcp(tcp, shared.clone(), stop);
    accept::serve(listener, limits, shutdown, handler)
        .instrument(tracing::info_span!("mock", %provider))
        .await;
}

/// Binds `127.0.0.1:0` and spawns a mock on it: what tests, benches and the pipeline use.
///
/// # Errors
///
/// The I/O error when the loopback interface cannot be bound.
pub async fn start(config: MockConfig) -> std::io::Result<ServerHandle> {
    let listener = super::bind_loopback().await?;
    let tls = config.tls.is_some();
    let mut server = super::spawn(listener, move |l, shutdown| run(l, config, shutdown))?;
    server.tls = tls;
    Ok(server)
}

async fn serve_tcp(tcp: TcpStream, shared: Arc<Shared>, mut stop: Stop) {
    let limit = shared.config.limits.get_handshake_timeout();
    let upgrade = Upgrade { shared: &shared, deadline: Instant::now() + limit };
    match &shared.tls {
        None => serve(tcp, upgrade, stop).await,
        Some(acceptor) => {
            let Some(tls) = accept::handshake("TLS", limit, &mut stop, acceptor.accept(tcp)).await
            else {
                return;
            };
            serve(tls, upgrade, stop).await;
        }
    }
}

async fn serve<S>(stream: S, upgrade: Upgrade<'_>, stop: Stop)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    match upgrade.config().provider {
        MockProvider::Deepgram => deepgram::serve(stream, upgrade, stop).await,
        MockProvider::AssemblyAi => assemblyai::serve(stream, upgrade, stop).await,
    }
}

/// What `config`'s mock makes of a client, offline: it answers the upgrade `request` (as
/// if `fault` were this connection's), then hears `frames` (binary audio, text control
/// messages; any other frame stands for the idle window passing). `Ok` with every message
/// the session queued, or `Err` with the refusal's HTTP status. For the fuzz targets: the
/// mocks' parsing of what a client sends, without a socket.
pub(crate) fn replay(
    config: &MockConfig,
    fault: Option<&Fault>,
    request: &Request,
    frames: impl IntoIterator<Item = tokio_tungstenite::tungstenite::Message>,
) -> Result<Vec<tokio_tungstenite::tungstenite::Message>, StatusCode> {
    let replied = match config.provider {
        MockProvider::Deepgram => deepgram::replay(config, fault, request, frames),
        MockProvider::AssemblyAi => assemblyai::replay(config, fault, request, frames),
    };
    replied.map_err(|refusal| refusal.status())
}

/// Whether `credential` passes: `fault` is this connection's.
fn accepts(config: &MockConfig, fault: Option<&Fault>, credential: Option<&str>) -> bool {
    if fault == Some(&Fault::RejectAuth) {
        tracing::info!("fault reject-auth fired: the credential is refused");
        return false;
    }
    match (credential.map(str::trim).filter(|c| !c.is_empty()), &config.api_key) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(given), Some(key)) => given == key.expose(),
    }
}

/// The query parameters of a request target, `+` read as a space, percent-decoded
/// (what the SDKs send: `keyterm=a+b`, JSON lists percent-encoded).
fn query_pairs(query: Option<&str>) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).collect()
}

/// The value of `key` in `pairs`, if present.
fn param<'a>(pairs: &'a [(Cow<'_, str>, Cow<'_, str>)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
}

/// A boolean query value, case-insensitive (Python SDKs send `True`).
fn flag(pairs: &[(Cow<'_, str>, Cow<'_, str>)], key: &str) -> Option<bool> {
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
        assert!(accepts(&open, None, Some("anything")));
        assert!(!accepts(&open, None, Some("  ")) && !accepts(&open, None, None));
        let locked = open.clone().api_key(Some(ApiKey::new("right")));
        assert!(accepts(&locked, None, Some("right")) && !accepts(&locked, None, Some("wrong")));
        assert!(!accepts(&open, Some(&Fault::RejectAuth), Some("anything")));
    }

    #[test]
    fn faults_reach_only_the_first_connections_when_limited() {
        let shared = |config: MockConfig| Shared { config, tls: None, upgrades: AtomicU64::new(0) };
        let drop: Fault = "drop@2s".parse().unwrap();
        let limited = shared(
            MockConfig::new(MockProvider::Deepgram)
                .fault(Some(drop.clone()))
                .fault_connections(Some(2)),
        );
        let faults: Vec<_> = (0..4).map(|_| limited.next_connection()).collect();
        assert_eq!(
            faults,
            [(1, Some(drop.clone())), (2, Some(drop.clone())), (3, None), (4, None)]
        );
        let every = shared(MockConfig::new(MockProvider::Deepgram).fault(Some(drop.clone())));
        assert!((0..4).all(|_| every.next_connection().1 == Some(drop.clone())));
        assert_eq!(limited.config.fault_summary().unwrap(), "drop@2s on the first 2 connections");
        assert_eq!(every.config.fault_summary().unwrap(), "drop@2s");
        assert_eq!(MockConfig::new(MockProvider::Deepgram).fault_summary(), None);
    }
}
