//! What sending a chunk costs, next to the floor measured in the same run.
//!
//! Layered by what each group leaves out:
//!
//! - `send/echo_rtt/<ms>ms`: one chunk's round trip through a [`Session`] and the echo
//!   socket over loopback TCP, on a persistent connection.
//! - `send/tcp_floor/<ms>ms`: the same bytes ping-ponged over raw tokio TCP with
//!   TCP_NODELAY: the floor. Judge `echo_rtt ÷ tcp_floor`, not either alone; the
//!   `send_ratio` bench measures that ratio interleaved, which a busy machine cannot
//!   skew the way it skews two criterion runs seconds apart.
//! - `send/duplex_rtt/<ms>ms`: the session and the echo loop over an in-memory
//!   `tokio::io::duplex` pipe: WebSocket framing and masking without the kernel.
//! - `send/oneway_60s/<ms>ms`: 60 s of audio sent back to back (unpaced) to a peer that
//!   only counts it: the session's streaming throughput (messages/s and bytes/s).
//! - `send/read_buffer/<n>KiB`: the 20 ms round trip with both ends' read buffer at
//!   n KiB: the measurement behind the 8 KiB default.
//!
//! Client and server run on one current-thread runtime: no cross-CPU wake-ups, which
//! on a shared 2-vCPU machine are the noisy part (`docs/performance.md`, "One
//! current-thread runtime per bench").
//! Every iteration checks that the bytes came back (or arrived) intact.

mod support;
#[path = "support/transport.rs"]
mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures_util::{SinkExt, StreamExt};
use sttbench::provider::{Echo, Event};
use sttbench::server::bind_loopback;
use sttbench::server::echo::{self, EchoConfig};
use sttbench::session::{Session, SessionConfig};
use tokio::io::DuplexStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use transport::{CHUNK_MS, TcpFloor, chunk, echo_session, round_trips, runtime, spec};

/// Audio streamed per iteration of the one-way bench.
const ONEWAY_AUDIO: Duration = Duration::from_secs(60);

/// Read buffer sizes compared by `send/read_buffer`, in KiB; 128 is tungstenite's default.
const READ_BUFFER_KIB: [usize; 5] = [4, 8, 16, 64, 128];

fn echo_rtt_and_tcp_floor(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("send");
    for ms in CHUNK_MS {
        let spec = spec(ms);
        let chunk = chunk(spec);
        group.throughput(Throughput::Bytes(spec.bytes() as u64));

        let (server, mut session) =
            echo_session(&rt, EchoConfig::default(), SessionConfig::default());
        group.bench_function(BenchmarkId::new("echo_rtt", format!("{ms}ms")), |b| {
            b.iter_custom(|iters| rt.block_on(round_trips(&mut session, &chunk, iters)));
        });
        session.abort();
        rt.block_on(server.shutdown());

        let mut floor = rt.block_on(TcpFloor::start());
        group.bench_function(BenchmarkId::new("tcp_floor", format!("{ms}ms")), |b| {
            b.iter_custom(|iters| rt.block_on(floor.round_trips(&chunk, iters)));
        });
    }
    group.finish();
}

fn duplex_rtt(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("send");
    for ms in CHUNK_MS {
        let spec = spec(ms);
        let chunk = chunk(spec);
        group.throughput(Throughput::Bytes(spec.bytes() as u64));
        let mut session = rt.block_on(duplex_session(spec.bytes()));
        group.bench_function(BenchmarkId::new("duplex_rtt", format!("{ms}ms")), |b| {
            b.iter_custom(|iters| rt.block_on(round_trips(&mut session, &chunk, iters)));
        });
    }
    group.finish();
}

/// A session framing over an in-memory pipe to the echo loop, with no handshake and no
/// kernel. The pipe holds a few chunks so neither side ever waits on its capacity.
async fn duplex_session(chunk_bytes: usize) -> Session<DuplexStream> {
    let (client, server) = tokio::io::duplex(4 * chunk_bytes.max(16 * 1024));
    let config = SessionConfig::default();
    let echo_config = EchoConfig::default();
    let server = WebSocketStream::from_raw_socket(
        server,
        Role::Server,
        Some(echo_config.websocket_config()),
    )
    .await;
    tokio::spawn(echo::echo_frames(server, echo_config, std::future::pending::<()>()));
    let client =
        WebSocketStream::from_raw_socket(client, Role::Client, Some(config.websocket_config()))
            .await;
    Session::from_websocket(client, Arc::new(Echo), config)
}

fn oneway(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("send");
    // Each iteration streams thousands of chunks (5 to 20 ms here): flat sampling, and
    // 50 samples rather than 100, so that the group fits the 2 s measurement time.
    group.sampling_mode(SamplingMode::Flat).sample_size(50);
    for ms in [20, 100] {
        let spec = spec(ms);
        let chunk = chunk(spec);
        let count = (ONEWAY_AUDIO.as_millis() as u64) / ms;
        group.throughput(Throughput::ElementsAndBytes {
            elements: count,
            bytes: count * spec.bytes() as u64,
        });
        let (addr, mut session) = rt.block_on(async {
            let listener = bind_loopback().await.expect("bind loopback");
            let addr = listener.local_addr().expect("listener address");
            tokio::spawn(counting_peer(listener, count, spec.bytes()));
            let url = format!("ws://{addr}");
            (
                addr,
                Session::connect(&url, Arc::new(Echo), SessionConfig::default())
                    .await
                    .expect("connect"),
            )
        });
        group.bench_function(BenchmarkId::new("oneway_60s", format!("{ms}ms")), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        for _ in 0..count {
                            session.send(chunk.clone()).await.expect("send a chunk");
                        }
                        match session.next_event().await {
                            Some(Ok(Event::EchoText(t))) => assert_eq!(t, "ok", "peer at {addr}"),
                            other => panic!("expected the peer's count, got {other:?}"),
                        }
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

/// Accepts one client and, for every `count` binary messages of `bytes` bytes, answers
/// "ok"; anything else ends the bench with the reason.
async fn counting_peer(listener: tokio::net::TcpListener, count: u64, bytes: usize) {
    let (tcp, _) = listener.accept().await.expect("accept the bench client");
    tcp.set_nodelay(true).expect("TCP_NODELAY");
    let config = EchoConfig::default().websocket_config();
    let mut ws =
        tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await.expect("handshake");
    let mut seen = 0;
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Binary(b) => assert_eq!(b.len(), bytes, "a chunk arrived cut"),
            Message::Close(_) => return,
            _ => continue,
        }
        seen += 1;
        if seen == count {
            seen = 0;
            ws.send(Message::text("ok")).await.expect("answer the client");
        }
    }
}

fn read_buffer(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("send");
    let spec = spec(20);
    let chunk = chunk(spec);
    group.throughput(Throughput::Bytes(spec.bytes() as u64));
    for kib in READ_BUFFER_KIB {
        let echo = EchoConfig::default().read_buffer_size(kib * 1024);
        let config = SessionConfig::default().read_buffer_size(kib * 1024);
        let (server, mut session) = echo_session(&rt, echo, config);
        group.bench_function(BenchmarkId::new("read_buffer", format!("{kib}KiB")), |b| {
            b.iter_custom(|iters| rt.block_on(round_trips(&mut session, &chunk, iters)));
        });
        session.abort();
        rt.block_on(server.shutdown());
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = echo_rtt_and_tcp_floor, duplex_rtt, oneway, read_buffer
}
criterion_main!(benches);
