//! `session/echo/<ms>ms`: the heap of one client session alone, from before its connect to
//! streaming, with the echo peer in a child process (this bench binary again, started
//! with [`ECHO_CHILD`] set) so that dhat, which counts every allocation of the process,
//! sees only the client's side.
//!
//! The chunks are encoded before the profiler starts and sent as clones of the same
//! `Bytes` (a reference count, no copy), so the encoder's reservation does not count
//! either: what is left is the session itself (its socket, tungstenite's buffers, its
//! keep-alive task, its stats and their histograms) and the echoes it reads.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use sttbench::encode::{ChunkEncoder, ChunkSpec};
use sttbench::provider::{Echo, Event};
use sttbench::server::echo::{self, EchoConfig};
use sttbench::session::{Session, SessionConfig};

use super::{Figures, SEND_WARM_UP};

/// Set in the child's environment: serve echo, print its URL, exit when stdin closes.
pub const ECHO_CHILD: &str = "STTBENCH_MEMORY_ECHO_CHILD";

/// The child's side: an echo socket until the parent closes our stdin.
pub fn serve_echo() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let server = echo::start(EchoConfig::default()).await.expect("bind the echo socket");
        println!("{}", server.ws_url());
        // Blocks this (only) thread's runtime, which is fine: the server tasks run while
        // the parent streams only if the runtime runs, so read stdin on a thread.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            let _ = tx.send(());
        });
        let _ = rx.await;
        server.shutdown().await;
    });
}

/// Starts this bench again as an echo child; returns it and the URL it serves.
fn echo_child() -> (std::process::Child, String) {
    let exe = std::env::current_exe().expect("this bench's own path");
    let mut child = Command::new(exe)
        .env(ECHO_CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the echo child");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("the child's stdout"))
        .read_line(&mut url)
        .expect("read the echo child's URL");
    let url = url.trim().to_owned();
    assert!(url.starts_with("ws://"), "the echo child printed {url:?}");

    (child, url)
}

/// Streams `chunks` chunks of `input` through one session to an echo child and reads
/// each echo back, under a fresh dhat profiler started before the connect.
pub fn measure(spec: ChunkSpec, input: &[f32], chunks: usize) -> Figures {
    let (mut child, url) = echo_child();
    let mut encoder = ChunkEncoder::new(spec);
    let encoded: Vec<Bytes> =
        input.chunks_exact(spec.samples()).map(|piece| encoder.encode_f32(piece)).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let figures = {
        let _profiler = dhat::Profiler::builder().testing().build();
        runtime.block_on(async {
            let mut session = Session::connect(&url, Arc::new(Echo), SessionConfig::default())
                .await
                .expect("connect to the echo child");
            let mut pieces = encoded.iter().cycle();
            let mut round_trip = async |session: &mut Session| {
                let chunk = pieces.next().expect("at least one chunk").clone();
                session.send(chunk.clone()).await.expect("send a chunk");
                match session.next_event().await {
                    Some(Ok(Event::Echo(echo))) => assert!(echo == chunk, "the echo differs"),
                    other => panic!("expected the chunk's echo, got {other:?}"),
                }
            };
            for _ in 0..SEND_WARM_UP {
                round_trip(&mut session).await;
            }
            let before = dhat::HeapStats::get();
            for _ in 0..chunks {
                round_trip(&mut session).await;
            }
            let after = dhat::HeapStats::get();
            black_box(session.report());
            session.abort();
            Figures {
                allocs_per_chunk: (after.total_blocks - before.total_blocks) as f64 / chunks as f64,
                bytes_per_chunk: (after.total_bytes - before.total_bytes) as f64 / chunks as f64,
                peak_heap_bytes: after.max_bytes as f64,
            }
        })
    };
    drop(child.stdin.take());
    let _ = child.wait();
    figures
}

/// Streams `chunks` chunks of noise through the stream driver (unpaced, the caller's
/// recorder made before the profiler) to an echo child: a whole stream of `sttbench
/// load` but for the shared recorder, from before its connect to its close.
pub fn measure_stream(spec: ChunkSpec, chunks: usize) -> Figures {
    use sttbench::stream::{Audio, Driver, Pacing, Recorder, Source, StreamConfig};
    let (mut child, url) = echo_child();
    let length = spec.duration() * u32::try_from(chunks).expect("a few chunks");
    let audio = Audio::resolve(
        &Source::Signal(sttbench::signal::Signal::Noise),
        Some(length),
        spec.duration(),
    )
    .expect("noise resolves");
    let mut recorder = Recorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let figures = {
        let _profiler = dhat::Profiler::builder().testing().build();
        runtime.block_on(async {
            let config = StreamConfig::default().pacing(Pacing::Unpaced);
            let outcome = Driver::new(url.as_str(), Arc::new(Echo), config)
                .run(&audio, &mut recorder)
                .await
                .expect("stream to the echo child");
            assert!(outcome.ending.is_completed(), "{outcome}");
            let stats = dhat::HeapStats::get();
            Figures {
                allocs_per_chunk: stats.total_blocks as f64 / chunks as f64,
                bytes_per_chunk: stats.total_bytes as f64 / chunks as f64,
                peak_heap_bytes: stats.max_bytes as f64,
            }
        })
    };
    drop(child.stdin.take());
    let _ = child.wait();
    figures
}
