//! Memory: allocations and heap per chunk in the steady state, counted exactly by dhat.
//!
//! Its own bench binary because dhat replaces the global allocator, which would distort
//! every timing bench. For each signal and chunk size it reports:
//!
//! - `allocs-per-chunk`: heap allocations per chunk encoded, after a warm-up chunk;
//! - `bytes-per-chunk`: bytes allocated per chunk encoded;
//! - `peak-heap-bytes`: the most heap the encoder held at once (its reusable buffer),
//!   input excluded.
//!
//! The send path gets the same three measures per chunk size, as `send/echo/<ms>ms`: a
//! chunk encoded, sent through a session to the echo socket and its echo read back, all
//! on one current-thread runtime, so the counts cover the client and the server side of
//! the round trip; the peak is the session and the echo connection, set up inside the
//! profiler.
//!
//! `session/echo/<ms>ms` gets the same three measures for one client session alone, from
//! before its connect to streaming, with the echo peer in a child process: the heap each
//! of `sttbench load`'s streams costs, held to 64 KiB. `stream/echo/<ms>ms` writes the
//! peak of a whole stream on the driver (session, queue, encoder reservation, tasks; the
//! recorder excluded, as `load` shares one), not gated: 65–77 KiB measured at 20 ms
//! (how many chunks are in flight varies).
//!
//! It prints a table, writes the figures as Bencher Metric Format to `memory.json`
//! (benchmark names `encode_s16le/<signal>/<ms>ms`, as in the encode bench, and
//! `send/echo/<ms>ms`) and a heap profile of one representative case to `dhat-heap.json`
//! for DHAT's `dh_view.html`, both in `target/sttbench` (or `$STTBENCH_OUT`), and exits
//! with status 1 when a figure is over its budget ([`budget`], the one place budgets are
//! written). A filter argument (`cargo bench --bench memory -- 'encode_s16le/sine/'`, a
//! regular expression as criterion's) restricts the cases.
//!
//! `cargo bench --bench memory` counts 64 chunks per case after the warm-up; under
//! `cargo test --benches` it counts [`SMOKE_CHUNKS`], two full turns of the encoder's
//! 16-chunk buffer, so an allocation added where the buffer wraps shows there too. The
//! counts are exact, not statistical: more chunks add no precision.

#[path = "support/args.rs"]
mod args;
#[path = "support/output.rs"]
mod output;
#[path = "memory/session.rs"]
mod session;

use std::hint::black_box;
use std::sync::Arc;

use sttbench::bmf::{Bmf, Metric};
use sttbench::encode::{AudioFormat, ChunkEncoder, ChunkSpec};
use sttbench::provider::{Echo, Event};
use sttbench::server::echo::{self, EchoConfig};
use sttbench::session::{Session, SessionConfig};
use sttbench::signal::Signal;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The chunk durations of the encode bench.
const CHUNK_MS: [u64; 7] = [10, 20, 50, 100, 250, 500, 1000];

/// The measures this bench writes, in table order.
const MEASURES: [&str; 3] = ["allocs-per-chunk", "bytes-per-chunk", "peak-heap-bytes"];

/// The paths measured.
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// Encoding a chunk (`encode_s16le/…`).
    Encode,
    /// Sending a chunk through a session and reading its echo (`send/echo/…`).
    Send,
    /// One client session alone, from before its connect to streaming
    /// (`session/echo/…`): the echo peer runs in another process, so only the client's
    /// heap counts.
    Session,
}

/// The most heap one session may hold, from idle to streaming: what lets one process run
/// thousands of streams (`sttbench load`).
const SESSION_BUDGET: usize = 64 * 1024;

/// Budgets: the most each measure may reach on `stage` for a chunk laid out by `spec`.
///
/// Encoding allocates nothing per chunk: the encoder reuses one buffer. Its peak heap is
/// that buffer, 16 chunks long (`CHUNKS_PER_RESERVATION` in `encode`) plus 64 bytes of
/// slack to start it on a cache line, and the small shared header `bytes` adds when the
/// buffer is first split.
///
/// Sending allocates nothing per chunk either: the chunk goes out as the encoder's
/// `Bytes` and the echo comes back into buffers that are already there. The budget is
/// what is measured, 0 and 0, so a per-chunk copy (one allocation of one chunk) fails.
/// Its peak is both ends of one connection plus the chunks
/// around: measured at 521 KiB + 20 chunks while the session kept two 3-digit latency
/// histograms (432 KiB) and reserved 64 KiB for echoes in flight; with its compact
/// histograms (`metrics::CompactLatencyHistogram`, 2 digits, 15 KiB each) and an
/// in-flight queue that grows as needed, 62 KiB + 20 chunks. The budget leaves room for a
/// few more chunks in flight: 96 KiB + 24 chunks.
///
/// A session alone (`session/echo/…`, the peer in another process) must stay within
/// [`SESSION_BUDGET`], 64 KiB with no per-chunk allocation: measured at 52 KiB for 20 ms
/// chunks (518 KiB before the compact histograms).
fn budget(stage: Stage, measure: &str, spec: ChunkSpec) -> f64 {
    match (stage, measure) {
        (Stage::Encode, "allocs-per-chunk" | "bytes-per-chunk") => 0.0,
        (Stage::Encode, "peak-heap-bytes") => (16 * spec.bytes() + 128) as f64,
        (Stage::Send, "allocs-per-chunk" | "bytes-per-chunk") => 0.0,
        (Stage::Send, "peak-heap-bytes") => (96 * 1024 + 24 * spec.bytes()) as f64,
        (Stage::Session, "allocs-per-chunk" | "bytes-per-chunk") => 0.0,
        (Stage::Session, "peak-heap-bytes") => SESSION_BUDGET as f64,
        (_, other) => unreachable!("no budget for {other}"),
    }
}

/// One case's figures.
struct Figures {
    allocs_per_chunk: f64,
    bytes_per_chunk: f64,
    peak_heap_bytes: f64,
}

impl Figures {
    fn get(&self, measure: &str) -> f64 {
        match measure {
            "allocs-per-chunk" => self.allocs_per_chunk,
            "bytes-per-chunk" => self.bytes_per_chunk,
            "peak-heap-bytes" => self.peak_heap_bytes,
            other => unreachable!("unknown measure {other}"),
        }
    }
}

/// Encodes `chunks` chunks of `input` under a fresh dhat profiler, dropping each chunk
/// before the next as a sender does once a chunk is written.
fn measure_encoding(spec: ChunkSpec, input: &[f32], chunks: usize) -> Figures {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut encoder = ChunkEncoder::new(spec);
    let mut pieces = input.chunks_exact(spec.samples()).cycle();
    let mut next = || pieces.next().expect("the input holds at least one chunk");
    // Warm-up: the first split turns the buffer into a shared one (one allocation).
    drop(black_box(encoder.encode_f32(next())));
    let before = dhat::HeapStats::get();
    for _ in 0..chunks {
        let chunk = encoder.encode_f32(next());
        assert_eq!(chunk.len(), spec.bytes());
        drop(black_box(chunk));
    }
    let after = dhat::HeapStats::get();
    Figures {
        allocs_per_chunk: (after.total_blocks - before.total_blocks) as f64 / chunks as f64,
        bytes_per_chunk: (after.total_bytes - before.total_bytes) as f64 / chunks as f64,
        peak_heap_bytes: after.max_bytes as f64,
    }
}

/// Sends `chunks` chunks through a session to the echo socket and reads each echo back,
/// under a fresh dhat profiler. Everything runs on one current-thread runtime, made
/// before the profiler so that only the session, the server and the sends count.
fn measure_sending(spec: ChunkSpec, input: &[f32], chunks: usize) -> Figures {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let _profiler = dhat::Profiler::builder().testing().build();
    runtime.block_on(async {
        let server = echo::start(EchoConfig::default()).await.expect("bind the echo socket");
        let mut session =
            Session::connect(&server.ws_url(), Arc::new(Echo), SessionConfig::default())
                .await
                .expect("connect to the local echo socket");
        let mut encoder = ChunkEncoder::new(spec);
        let mut pieces = input.chunks_exact(spec.samples()).cycle();
        let mut round_trip = async |session: &mut Session| {
            let chunk = encoder.encode_f32(pieces.next().expect("the input holds a chunk"));
            session.send(chunk.clone()).await.expect("send a chunk");
            match session.next_event().await {
                Some(Ok(Event::Echo(echo))) => assert!(echo == chunk, "the echo differs"),
                other => panic!("expected the chunk's echo, got {other:?}"),
            }
        };
        // Warm-up: buffers on both ends grow to their working size in the first round
        // trips (tungstenite's read and write buffers, the encoder's reservation).
        for _ in 0..SEND_WARM_UP {
            round_trip(&mut session).await;
        }
        let before = dhat::HeapStats::get();
        for _ in 0..chunks {
            round_trip(&mut session).await;
        }
        let after = dhat::HeapStats::get();
        session.abort();
        server.shutdown().await;
        Figures {
            allocs_per_chunk: (after.total_blocks - before.total_blocks) as f64 / chunks as f64,
            bytes_per_chunk: (after.total_bytes - before.total_bytes) as f64 / chunks as f64,
            peak_heap_bytes: after.max_bytes as f64,
        }
    })
}

/// The chunk durations of the session entries: the echo dialect's and the providers'
/// defaults.
const SESSION_CHUNK_MS: [u64; 2] = [20, 100];

/// Round trips before counting starts; more than the encoder's 16-chunk reservation, so
/// the count sees its steady state.
const SEND_WARM_UP: usize = 32;

/// The chunks the encoder's buffer holds before it wraps (`CHUNKS_PER_RESERVATION` in
/// `encode`): where an allocation would hide if one were added to the wrap.
const BUFFER_CHUNKS: usize = 16;

/// Chunks counted per case under `cargo test --benches`: two full turns of the buffer.
const SMOKE_CHUNKS: usize = 2 * BUFFER_CHUNKS;

/// Writes a full heap profile of one representative case for `dh_view.html`.
fn write_heap_profile(dir: &std::path::Path) {
    let spec = AudioFormat::PIPELINE.chunk_ms(20).expect("20 ms is whole frames");
    let input = Signal::Speech.generate(spec.format().sample_rate(), spec.frames() * 50);
    let path = dir.join("dhat-heap.json");
    let _profiler = dhat::Profiler::builder().file_name(&path).build();
    let mut encoder = ChunkEncoder::new(spec);
    for chunk in encoder.chunks(&input) {
        drop(black_box(chunk));
    }
}

/// Adds one case's figures to the results, and to `over_budget` where they exceed it.
fn record(
    results: &mut Bmf,
    over_budget: &mut Vec<String>,
    name: &str,
    stage: Stage,
    spec: ChunkSpec,
    figures: &Figures,
) {
    for measure in MEASURES {
        let value = figures.get(measure);
        results.insert(name, measure, Metric::exact(value));
        let limit = budget(stage, measure, spec);
        if value > limit {
            over_budget.push(format!("{name} {measure} = {value}, budget {limit}"));
        }
    }
}

fn main() {
    if std::env::var_os(session::ECHO_CHILD).is_some() {
        session::serve_echo();
        return;
    }
    let args = args::Args::parse();
    let chunks = if args.full { 64 } else { SMOKE_CHUNKS };
    let out_dir = output::out_dir();

    let mut results = Bmf::new();
    let mut over_budget = Vec::new();
    println!("{:<36} {:>17} {:>16} {:>16}", "benchmark", MEASURES[0], MEASURES[1], MEASURES[2]);
    for ms in CHUNK_MS {
        let spec = AudioFormat::PIPELINE.chunk_ms(ms).expect("bench durations are whole frames");
        for signal in Signal::ALL {
            let name = format!("encode_s16le/{}/{ms}ms", signal.name());
            if !args.selects(&name) {
                continue;
            }
            // Input is generated outside the profiler: only the encoder's heap counts.
            let input = signal.generate(spec.format().sample_rate(), spec.frames() * 4);
            let figures = measure_encoding(spec, &input, chunks);
            println!(
                "{name:<36} {:>17} {:>16} {:>16}",
                figures.allocs_per_chunk, figures.bytes_per_chunk, figures.peak_heap_bytes
            );
            record(&mut results, &mut over_budget, &name, Stage::Encode, spec, &figures);
        }
    }
    for ms in CHUNK_MS {
        let spec = AudioFormat::PIPELINE.chunk_ms(ms).expect("bench durations are whole frames");
        let name = format!("send/echo/{ms}ms");
        if !args.selects(&name) {
            continue;
        }
        let input = Signal::Noise.generate(spec.format().sample_rate(), spec.frames() * 4);
        let figures = measure_sending(spec, &input, chunks);
        println!(
            "{name:<36} {:>17} {:>16} {:>16}",
            figures.allocs_per_chunk, figures.bytes_per_chunk, figures.peak_heap_bytes
        );
        record(&mut results, &mut over_budget, &name, Stage::Send, spec, &figures);
    }

    for ms in SESSION_CHUNK_MS {
        let spec = AudioFormat::PIPELINE.chunk_ms(ms).expect("bench durations are whole frames");
        let name = format!("session/echo/{ms}ms");
        if !args.selects(&name) {
            continue;
        }
        let input = Signal::Noise.generate(spec.format().sample_rate(), spec.frames() * 4);
        let figures = session::measure(spec, &input, chunks);
        println!(
            "{name:<36} {:>17} {:>16} {:>16}",
            figures.allocs_per_chunk, figures.bytes_per_chunk, figures.peak_heap_bytes
        );
        record(&mut results, &mut over_budget, &name, Stage::Session, spec, &figures);
    }
    for ms in SESSION_CHUNK_MS {
        // A whole stream on the driver: its peak only (its counts include the set-up),
        // written and not gated; the session inside it is what the budget holds.
        let spec = AudioFormat::PIPELINE.chunk_ms(ms).expect("bench durations are whole frames");
        let name = format!("stream/echo/{ms}ms");
        if !args.selects(&name) {
            continue;
        }
        let peak = session::measure_stream(spec, chunks).peak_heap_bytes;
        println!("{name:<36} {:>17} {:>16} {peak:>16}", "-", "-");
        results.insert(&name, "peak-heap-bytes", Metric::exact(peak));
    }

    if results.0.is_empty() {
        println!("the filter selects no memory benchmark; nothing written");
        return;
    }
    let json = out_dir.join("memory.json");
    if let Err(e) = results.write(&json) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    write_heap_profile(&out_dir);
    println!("\nwrote {} and {}", json.display(), out_dir.join("dhat-heap.json").display());

    if !over_budget.is_empty() {
        eprintln!(
            "\n{} figure(s) over budget (budgets: `budget` in benches/memory.rs):",
            over_budget.len()
        );
        for line in &over_budget {
            eprintln!("  {line}");
        }
        std::process::exit(1);
    }
    let figures: usize = results.0.values().map(|measures| measures.len()).sum();
    println!("all {figures} figures within budget (stream/… not gated)");
}
