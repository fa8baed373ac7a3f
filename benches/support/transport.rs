//! The loopback rig the transport benches share: a session on the echo socket and the
//! raw TCP echo that is its floor, all on one current-thread runtime, and timed loops of
//! round trips that check every echo.
//!
//! Included by path (`#[path = "support/transport.rs"] mod transport;`) by the benches
//! that need it, so the encode and memory benches do not compile it. It times nothing
//! on its own initiative.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sttbench::encode::{AudioFormat, ChunkEncoder, ChunkSpec};
use sttbench::provider::{Echo, Event};
use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::{ServerHandle, bind_loopback};
use sttbench::session::{Session, SessionConfig};
use sttbench::signal::Signal;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// Chunk durations of every send bench: 16 kHz mono s16le.
pub const CHUNK_MS: [u64; 7] = [10, 20, 50, 100, 250, 500, 1000];

/// One current-thread runtime for client and server: no cross-CPU wake-ups, which on a
/// shared 2-vCPU machine are the noisy part (`docs/performance.md`, "One current-thread
/// runtime per bench").
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

/// The layout of a `ms` chunk.
pub fn spec(ms: u64) -> ChunkSpec {
    AudioFormat::PIPELINE.chunk_ms(ms).expect("bench chunk durations are whole frames")
}

/// One chunk of seeded noise: every byte differs from its neighbours, so a corrupted
/// echo cannot pass the check by accident.
pub fn chunk(spec: ChunkSpec) -> Bytes {
    let samples = Signal::Noise.generate(spec.format().sample_rate(), spec.frames());
    ChunkEncoder::new(spec).encode_f32(&samples)
}

/// An echo socket and a session connected to it, both on `rt`.
pub fn echo_session(
    rt: &Runtime,
    echo: EchoConfig,
    session: SessionConfig,
) -> (ServerHandle, Session) {
    rt.block_on(async {
        let server = echo::start(echo).await.expect("bind the echo socket");
        let session = Session::connect(&server.ws_url(), Arc::new(Echo), session)
            .await
            .expect("connect to the local echo socket");
        (server, session)
    })
}

/// `iters` round trips of `chunk` through `session`, each echo checked.
pub async fn round_trips<S>(session: &mut Session<S>, chunk: &Bytes, iters: u64) -> Duration
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let start = Instant::now();
    for _ in 0..iters {
        session.send(chunk.clone()).await.expect("send a chunk");
        match session.next_event().await {
            Some(Ok(Event::Echo(echo))) => {
                assert!(echo == *chunk, "the echo differs from the chunk")
            }
            other => panic!("expected the chunk's echo, got {other:?}"),
        }
    }
    start.elapsed()
}

/// A raw TCP echo on the current runtime and a client connected to it, both with
/// TCP_NODELAY: the floor under any WebSocket round trip.
pub struct TcpFloor {
    client: TcpStream,
    back: Vec<u8>,
}

impl TcpFloor {
    /// Starts the echo task on the current runtime and connects to it.
    pub async fn start() -> TcpFloor {
        let listener = bind_loopback().await.expect("bind loopback");
        let addr = listener.local_addr().expect("listener address");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept the bench client");
            stream.set_nodelay(true).expect("TCP_NODELAY");
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => stream.write_all(&buf[..n]).await.expect("echo over TCP"),
                }
            }
        });
        let client = TcpStream::connect(addr).await.expect("connect to the TCP echo");
        client.set_nodelay(true).expect("TCP_NODELAY");
        TcpFloor { client, back: Vec::new() }
    }

    /// `iters` round trips of `chunk`'s bytes, each echo checked.
    pub async fn round_trips(&mut self, chunk: &Bytes, iters: u64) -> Duration {
        self.back.resize(chunk.len(), 0);
        let start = Instant::now();
        for _ in 0..iters {
            self.client.write_all(chunk).await.expect("write to the TCP echo");
            self.client.read_exact(&mut self.back).await.expect("read the TCP echo");
            assert!(self.back == chunk[..], "the TCP echo differs from the chunk");
        }
        start.elapsed()
    }
}
