//! Every local server against the clients a server meets in the wild: handshakes that
//! stall half-way (slowloris), a flood of connections past the limit, and shutdown while
//! clients are stuck mid-handshake or never answer. The echo socket, both mocks and the
//! TLS mock run on one accept loop, so each test runs against all of them.
//!
//! Time is paused: handshake timeouts and "it did not happen within 5 s" pass at once
//! and exactly. Every await that could hang is bounded by [`step`], which names it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sttbench::encode::AudioFormat;
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
use sttbench::provider::{ApiKey, Credential, Dialect, Echo};
use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::mock::{self, MockConfig, MockProvider};
use sttbench::server::{Limits, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// Longest any single step may take (virtual time) before the test fails naming it.
const STEP: Duration = Duration::from_secs(60);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One kind of server, started with given limits, and a well-behaved client for it.
#[derive(Clone, Copy, Debug)]
enum Target {
    Echo,
    Deepgram,
    AssemblyAi,
    #[cfg(feature = "mock-tls")]
    AssemblyAiTls,
}

/// Every server, the TLS mock too when the feature is on.
const ALL: &[Target] = &[
    Target::Echo,
    Target::Deepgram,
    Target::AssemblyAi,
    #[cfg(feature = "mock-tls")]
    Target::AssemblyAiTls,
];

/// A running server and what a client needs to reach it.
struct Running {
    server: ServerHandle,
    dialect: Arc<dyn Dialect>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Target {
    async fn start(self, limits: Limits) -> Running {
        let key = Credential::Key(ApiKey::new("k"));
        let mock = |provider| MockConfig::new(provider).limits(limits);
        let (config, dialect): (_, Arc<dyn Dialect>) = match self {
            Target::Echo => {
                let server = echo::start(EchoConfig::default().limits(limits)).await.unwrap();
                return Running { server, dialect: Arc::new(Echo), tls: None };
            }
            Target::Deepgram => (
                mock(MockProvider::Deepgram),
                Arc::new(Deepgram::new(DeepgramConfig::default().credential(key))),
            ),
            Target::AssemblyAi => (
                mock(MockProvider::AssemblyAi),
                Arc::new(AssemblyAi::new(AssemblyAiConfig::default().credential(key))),
            ),
            #[cfg(feature = "mock-tls")]
            Target::AssemblyAiTls => {
                let cert = sttbench::server::mock::tls::SelfSigned::generate().unwrap();
                let config =
                    mock(MockProvider::AssemblyAi).tls(Some(cert.server_config().unwrap()));
                let server = mock::start(config).await.unwrap();
                let dialect =
                    Arc::new(AssemblyAi::new(AssemblyAiConfig::default().credential(key)));
                return Running { server, dialect, tls: Some(cert.client_config().unwrap()) };
            }
        };
        Running { server: mock::start(config).await.unwrap(), dialect, tls: None }
    }
}

impl Running {
    /// A complete, well-formed WebSocket upgrade, as the dialect's client sends it.
    fn upgrade(&self) -> impl Future<Output = Result<Ws, tungstenite::Error>> + Send + 'static {
        let addr = self.server.addr();
        let (scheme, connector) = match &self.tls {
            Some(tls) => ("wss", Connector::Rustls(tls.clone())),
            None => ("ws", Connector::Plain),
        };
        let url = format!("{scheme}://localhost:{}", addr.port());
        let request = self.dialect.request(&url, AudioFormat::PIPELINE).expect("a request");
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let handshake = tokio_tungstenite::client_async_tls_with_config(
                request,
                tcp,
                None,
                Some(connector),
            );
            Ok(handshake.await?.0)
        }
    }

    /// A client that starts its handshake and stops: half an HTTP upgrade, or for TLS
    /// the header of a ClientHello record whose body never comes.
    async fn stall(&self) -> TcpStream {
        let mut tcp = step("connect", TcpStream::connect(self.server.addr())).await.unwrap();
        let half: &[u8] = match self.tls {
            Some(_) => &[0x16, 0x03, 0x01, 0x02, 0x00],
            None => b"GET /v1/listen HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n",
        };
        step("write half a handshake", tcp.write_all(half)).await.unwrap();
        tcp
    }
}

/// Reads until the server drops `tcp`: EOF or a reset, never data.
async fn expect_dropped(what: &str, mut tcp: TcpStream) {
    let mut buf = [0u8; 64];
    let read = step(what, tcp.read(&mut buf)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{what}: expected EOF or reset, got {read:?}");
}

/// Three clients stall mid-handshake; a fourth is served at once beside them; the
/// stalled ones are dropped when, and not before, the handshake timeout has passed.
#[tokio::test(start_paused = true)]
async fn stalled_handshakes_are_dropped_at_the_timeout_and_others_are_served() {
    let limit = Duration::from_secs(2);
    for &target in ALL {
        let running = target.start(Limits::default().handshake_timeout(limit)).await;
        let started = Instant::now();
        let mut stalled = Vec::new();
        for _ in 0..3 {
            stalled.push(running.stall().await);
        }
        let ws = step("a good client beside the stalled ones", running.upgrade()).await;
        ws.unwrap_or_else(|e| panic!("{target:?}: {e}"));
        assert!(started.elapsed() < limit, "{target:?}: the good client waited");
        for tcp in stalled {
            expect_dropped("the server drops a stalled handshake", tcp).await;
        }
        assert!(started.elapsed() >= limit, "{target:?}: dropped after {:?}", started.elapsed());
        step("shutdown", running.server.shutdown()).await;
    }
}

/// With a limit of 4, four open sessions hold every slot: a fifth client waits in the
/// backlog (5 s pass without its upgrade), is served once one of the four leaves, and a
/// flood of 40 more at once is served in turn.
#[tokio::test(start_paused = true)]
async fn clients_past_the_connection_limit_wait_their_turn() {
    for &target in ALL {
        let running = target.start(Limits::default().max_connections(4)).await;
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(step("one of four sessions", running.upgrade()).await.unwrap());
        }
        let mut fifth = tokio::spawn(running.upgrade());
        let early = tokio::time::timeout(Duration::from_secs(5), &mut fifth).await;
        assert!(early.is_err(), "{target:?}: a fifth client was served past the limit of 4");
        let mut leaving = held.pop().expect("four held");
        step("a session leaves", leaving.close(None)).await.unwrap();
        step("its close is answered", async { while let Some(Ok(_)) = leaving.next().await {} })
            .await;
        let fifth = step("the fifth client is served once a slot frees", fifth).await;
        held.push(fifth.expect("the client task").unwrap_or_else(|e| panic!("{target:?}: {e}")));
        drop(held);

        let flood: Vec<_> = (0..40).map(|_| tokio::spawn(running.upgrade())).collect();
        for client in flood {
            let mut ws = step("a client of the flood", client).await.unwrap().unwrap();
            step("it leaves", ws.close(None)).await.unwrap();
        }
        step("shutdown", running.server.shutdown()).await;
    }
}

/// Shutdown with clients stuck mid-handshake (default 10 s handshake timeout) lets them go
/// at once, well inside the drain timeout: a stop ends a handshake.
#[tokio::test(start_paused = true)]
async fn shutdown_lets_stalled_handshakes_go_at_once() {
    let limits = Limits::default();
    for &target in ALL {
        let running = target.start(limits).await;
        let mut stalled = Vec::new();
        for _ in 0..3 {
            stalled.push(running.stall().await);
        }
        let started = Instant::now();
        step("shutdown", running.server.shutdown()).await;
        let took = started.elapsed();
        assert!(took < limits.get_drain_timeout(), "{target:?}: shutdown took {took:?}");
        for tcp in stalled {
            expect_dropped("a stalled client is let go on shutdown", tcp).await;
        }
    }
}

/// Shutdown with a client that never reads, so never answers the server's close, is over
/// within the drain timeout.
#[tokio::test(start_paused = true)]
async fn shutdown_waits_no_longer_than_the_drain_for_a_deaf_client() {
    let limits = Limits::default().drain_timeout(Duration::from_millis(300));
    for &target in ALL {
        let running = target.start(limits).await;
        let mut deaf = step("a client that will not read", running.upgrade()).await.unwrap();
        step("it sends", deaf.send(Message::text("{}"))).await.unwrap();
        let started = Instant::now();
        step("shutdown", running.server.shutdown()).await;
        let took = started.elapsed();
        assert!(took <= limits.get_drain_timeout(), "{target:?}: shutdown took {took:?}");
    }
}
