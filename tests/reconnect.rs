//! Reconnecting without losing audio, end to end: drops injected by the mocks (on the
//! first connections only), by the impairment proxy (a reset mid-stream) and by a plain
//! WebSocket server written here that never sends a result and records every byte each
//! connection received. Time is paused where the peers allow it; drops fire at audio
//! positions, never after sleeps.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use sttbench::encode::{AudioFormat, ChunkEncoder};
use sttbench::pipeline::{Summary, Timeline, speech_ends};
use sttbench::provider::{ApiKey, Credential, Dialect, Echo, Hosted};
use sttbench::server::ServerHandle;
use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::mock::{self, MockConfig};
use sttbench::server::shaper::{self, Direction, Impairments, Link, Shaper, ShaperConfig};
use sttbench::session::{ReconnectPolicy, SessionConfig};
use sttbench::stream::{
    Audio, ChunkTimes, Driver, Ending, Observer, Outcome, Pacing, Recorder, Source, StreamConfig,
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const STEP: Duration = Duration::from_secs(60);
const PROVIDERS: [Hosted; 2] = [Hosted::Deepgram, Hosted::AssemblyAi];
/// 16 kHz mono s16le.
const BYTES_PER_SECOND: usize = 32_000;

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn dialect(provider: Hosted) -> Arc<dyn Dialect> {
    provider.dialect(Some(Credential::Key(ApiKey::new("k"))))
}

fn speech() -> Audio {
    Audio::resolve(&Source::default(), None, ms(100)).expect("the fixture")
}

/// Real time, reconnecting up to `reconnects` times, keeping up to `limit` for replay.
fn reconnecting(reconnects: u32, limit: Duration) -> StreamConfig {
    let policy = ReconnectPolicy::default().reconnects(reconnects);
    StreamConfig::default()
        .pacing(Pacing::RealTime)
        .replay_limit(limit)
        .session(SessionConfig::default().reconnect(policy))
}

/// The stream's audio as the driver encodes it: what a server should receive in all.
fn encoded(audio: &Audio) -> Vec<u8> {
    let mut encoder = ChunkEncoder::new(audio.spec());
    (0..audio.chunks()).flat_map(|k| encoder.encode_f32(audio.chunk(k)).to_vec()).collect()
}

/// A run against `url` with a timeline watching, and `extra` too.
async fn run_watched<O: Observer>(
    url: String,
    provider: Hosted,
    config: StreamConfig,
    audio: &Audio,
    extra: O,
) -> (Outcome, Timeline) {
    let timeline = Timeline::new(speech_ends(audio.samples(), AudioFormat::PIPELINE));
    let mut watchers = (timeline, extra);
    let driver = Driver::new(url, dialect(provider), config);
    let outcome = step("the run", driver.run(audio, &mut watchers)).await.expect("the run starts");
    (outcome, watchers.0)
}

async fn start_mock(config: MockConfig) -> ServerHandle {
    mock::start(config).await.expect("start the mock on 127.0.0.1:0")
}

/// The finals of a clean run: what a run with drops must deliver, no more, no less.
async fn clean_finals(provider: Hosted, audio: &Audio) -> Vec<String> {
    let server = start_mock(MockConfig::new(provider)).await;
    let config = reconnecting(5, ms(60_000));
    let (outcome, timeline) = run_watched(server.ws_url(), provider, config, audio, ()).await;
    assert_eq!((outcome.ending, outcome.reconnects), (Ending::Completed, 0));
    server.shutdown().await;
    assert!(timeline.finals().len() >= 2, "{provider}: {:?}", timeline.finals());
    timeline.finals().to_vec()
}

fn assert_lost_nothing(what: &str, outcome: &Outcome, reconnects: u32) {
    assert_eq!(outcome.ending, Ending::Completed, "{what}: {outcome}");
    assert_eq!(outcome.reconnects, reconnects, "{what}: {outcome:?}");
    assert_eq!(outcome.audio_lost_bytes, 0, "{what}");
    assert!(outcome.audio_replayed_bytes > 0, "{what}: the unconfirmed audio went again");
    assert_eq!(outcome.reconnect_gaps.len(), reconnects as usize, "{what}: one gap each");
    assert_eq!(outcome.chunks_sent, outcome.chunks_total, "{what}: every chunk counted once");
}

/// The mocks drop (no close frame) the first two connections at 2 s of the audio each
/// receives, close the first with a retryable 1011, or stall it (the watchdog finds it):
/// the run reconnects, sends the unconfirmed audio again, and delivers exactly the
/// finals of a clean run.
#[tokio::test(start_paused = true)]
async fn mock_drops_and_retryable_closes_lose_nothing_and_repeat_no_final() {
    let audio = speech();
    for provider in PROVIDERS {
        let clean = clean_finals(provider, &audio).await;
        for (fault, connections) in [("drop@2s", 2), ("close=1011@2s", 1), ("stall@2s", 1)] {
            let what = format!("{provider} {fault} ×{connections}");
            let fault = Some(fault.parse().expect("a fault"));
            let mock = MockConfig::new(provider).fault(fault).fault_connections(Some(connections));
            let server = start_mock(mock).await;
            let config = reconnecting(5, ms(60_000));
            let (outcome, timeline) =
                run_watched(server.ws_url(), provider, config, &audio, ()).await;
            assert_lost_nothing(&what, &outcome, connections as u32);
            assert_eq!(timeline.finals(), clean, "{what}: complete, no final twice");
            server.shutdown().await;
        }
    }
}

/// Resets the proxy's connections once, when the chunk at `at` has been written.
struct ResetAt {
    shaper: Shaper,
    at: u64,
    done: bool,
}

impl Observer for ResetAt {
    fn chunk(&mut self, chunk: &ChunkTimes) {
        if chunk.seq == self.at && !self.done {
            self.done = true;
            self.shaper.reset_connections();
        }
    }
}

/// The proxy resets the connection (RST both ways) 2.5 s into the stream: the run
/// reconnects through it and delivers the clean run's finals.
#[tokio::test(start_paused = true)]
async fn a_proxy_reset_mid_stream_loses_nothing() {
    let audio = speech();
    for provider in PROVIDERS {
        let clean = clean_finals(provider, &audio).await;
        let server = start_mock(MockConfig::new(provider)).await;
        let proxy = shaper::start(ShaperConfig::new(server.addr().to_string()))
            .await
            .expect("start the proxy on 127.0.0.1:0");
        let reset = ResetAt { shaper: proxy.shaper().clone(), at: 25, done: false };
        let config = reconnecting(5, ms(60_000));
        let (outcome, timeline) =
            run_watched(proxy.ws_url(), provider, config, &audio, reset).await;
        assert_lost_nothing(&format!("{provider} via a reset"), &outcome, 1);
        assert_eq!(timeline.finals(), clean, "{provider}");
        proxy.shutdown().await;
        server.shutdown().await;
    }
}

/// The proxy closes each connection after 24 kB upstream (Toxiproxy's `limit_data`):
/// an echo run of the 5.4 s fixture (173 kB) needs several connections, and with each
/// echo confirming its chunk, every reconnect sends little again and loses nothing.
#[tokio::test(start_paused = true)]
async fn a_proxy_that_closes_after_n_bytes_is_ridden_out_by_an_echo_run() {
    let audio = Audio::resolve(&Source::default(), None, ms(20)).expect("the fixture");
    let echo = echo::start(EchoConfig::default()).await.expect("start the echo socket");
    let limited = Impairments::default().limit_bytes(Some(24_000));
    let mut link = Link::default();
    *link.get_mut(Direction::Upstream) = limited;
    let proxy = shaper::start(ShaperConfig::new(echo.addr().to_string()).link(link))
        .await
        .expect("start the proxy on 127.0.0.1:0");
    let mut recorder = Recorder::new();
    let driver = Driver::new(proxy.ws_url(), Arc::new(Echo), reconnecting(20, ms(60_000)));
    let outcome = step("the echo run", driver.run(&audio, &mut recorder)).await.expect("starts");
    assert_eq!(outcome.ending, Ending::Completed, "{outcome}");
    assert!((6..=20).contains(&outcome.reconnects), "{outcome:?}");
    assert_eq!(outcome.audio_lost_bytes, 0);
    assert_eq!(outcome.chunks_sent, outcome.chunks_total, "every chunk counted once");
    assert_eq!(outcome.reconnect_gaps.len(), outcome.reconnects as usize);
    proxy.shutdown().await;
    echo.shutdown().await;
}

/// What each connection to a [`recording`] server received, in order.
type Received = Arc<Mutex<Vec<Vec<u8>>>>;

/// A plain WebSocket server that never sends a result: it records the binary payload
/// each connection receives, drops the first `drops` connections once they have
/// received `drop_after` bytes (without a close frame, or with `close` as its code), and
/// answers a close-stream message or a close frame on the others with a normal close.
async fn recording(drops: usize, drop_after: usize) -> (String, Received) {
    recording_closing(drops, drop_after, None).await
}

async fn recording_closing(
    drops: usize,
    drop_after: usize,
    close: Option<u16>,
) -> (String, Received) {
    recording_at_most(drops, drop_after, close, usize::MAX).await
}

/// [`recording_closing`] that stops listening after `accept` connections.
async fn recording_at_most(
    drops: usize,
    drop_after: usize,
    close: Option<u16>,
    accept: usize,
) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let url = format!("ws://{}", listener.local_addr().expect("an address"));
    let received: Received = Arc::default();
    let log = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let index = {
                let mut log = log.lock().unwrap();
                log.push(Vec::new());
                log.len() - 1
            };
            let last = index + 1 >= accept;
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                while let Some(Ok(message)) = ws.next().await {
                    match message {
                        Message::Binary(bytes) => {
                            let total = {
                                let mut log = log.lock().unwrap();
                                log[index].extend_from_slice(&bytes);
                                log[index].len()
                            };
                            if index < drops && total >= drop_after {
                                if let Some(code) = close {
                                    let frame = CloseFrame { code: code.into(), reason: "".into() };
                                    let _ = ws.close(Some(frame)).await;
                                }
                                return; // dropped, or closed with `close`
                            }
                        }
                        Message::Text(_) | Message::Close(_) => {
                            let normal = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                            let _ = ws.close(Some(normal)).await;
                            return;
                        }
                        _ => {}
                    }
                }
            });
            if last {
                break; // the listener goes: later connects are refused
            }
        }
    });
    (url, received)
}

/// With no finals, everything since the start is unconfirmed: each connection after a
/// drop (no close frame, a normal close before the client's, a 1012 restart) receives
/// the audio from its first byte, in order, and the last one all of it.
#[tokio::test(start_paused = true)]
async fn a_server_that_never_confirms_receives_every_byte_again_after_each_drop() {
    let audio = speech();
    let all = encoded(&audio);
    for (provider, close) in
        PROVIDERS.into_iter().flat_map(|p| [(p, None), (p, Some(1000)), (p, Some(1012))])
    {
        let (url, received) = recording_closing(2, BYTES_PER_SECOND, close).await;
        let config = reconnecting(5, ms(60_000));
        let (outcome, _) = run_watched(url, provider, config, &audio, Recorder::new()).await;
        let provider = format!("{provider}, closing with {close:?}");
        assert_lost_nothing(&format!("{provider}, no results"), &outcome, 2);
        assert_eq!(outcome.bytes_sent, all.len() as u64);
        let received = received.lock().unwrap().clone();
        assert_eq!(received.len(), 3, "{provider}: three connections");
        for (k, bytes) in received.iter().enumerate() {
            assert!(bytes.len() >= BYTES_PER_SECOND, "{provider} #{k}: {} B", bytes.len());
            assert_eq!(bytes[..], all[..bytes.len()], "{provider} #{k}: the audio from its start");
        }
        assert_eq!(received[2], all, "{provider}: the last connection got every byte");
        let replayed: usize = received[1..].iter().map(|r| r.len()).sum::<usize>() - all.len();
        assert!(
            outcome.audio_replayed_bytes as usize >= replayed.saturating_sub(2 * 3_200),
            "{provider}: replayed {} of at least {replayed}",
            outcome.audio_replayed_bytes
        );
    }
}

/// The bound: only the newest 500 ms is kept. A drop at 1.5 s without any final loses
/// the first second, counted and said; the next connection starts where the kept audio
/// does.
#[tokio::test(start_paused = true)]
async fn unconfirmed_audio_beyond_the_limit_is_counted_as_lost_and_said() {
    let audio = speech();
    let all = encoded(&audio);
    let (url, received) = recording(1, BYTES_PER_SECOND * 3 / 2).await;
    let config = reconnecting(5, ms(500));
    let (outcome, timeline) =
        run_watched(url.clone(), Hosted::Deepgram, config, &audio, Recorder::new()).await;
    assert_eq!((outcome.reconnects, &outcome.ending), (1, &Ending::Completed), "{outcome}");
    let received = received.lock().unwrap().clone();
    let first = received[0].len();
    // What the first connection heard, less the 500 ms (5 chunks) kept, is gone.
    let lost = first - BYTES_PER_SECOND / 2;
    assert_eq!(outcome.audio_lost_bytes, lost as u64);
    assert_eq!(received[1][..], all[lost..], "the second connection starts at the kept audio");
    let summary = Summary::new(&outcome, &Recorder::new(), Some(&timeline), url, "speech".into());
    let text = summary.to_string();
    assert!(text.contains(&format!("audio lost     {lost} B")), "{text}");
    let json: serde_json::Value = serde_json::from_str(&summary.to_json()).expect("JSON");
    assert_eq!(json["audio_lost_bytes"], lost as u64, "{json}");
    assert_eq!(json["reconnects"], 1);
    assert_eq!(json["reconnect_gap"]["count"], 1);
}

/// A server that is gone for good: the reconnect's attempts are all refused, and the run
/// ends as a drop that says the reconnect failed.
#[tokio::test(start_paused = true)]
async fn a_reconnect_that_cannot_connect_ends_the_run_as_a_drop_saying_so() {
    let audio = speech();
    let (url, received) = recording_at_most(1, BYTES_PER_SECOND, None, 1).await;
    let config = reconnecting(5, ms(60_000));
    let (outcome, _) = run_watched(url, Hosted::Deepgram, config, &audio, ()).await;
    let Ending::Dropped { cause } = &outcome.ending else { panic!("{outcome}") };
    assert!(cause.contains("reconnect 1 failed"), "{cause}");
    assert_eq!((outcome.reconnects, outcome.audio_lost_bytes), (1, 0));
    assert_eq!(received.lock().unwrap().len(), 1);
}

/// A run that does not reconnect (the library's default) ends at the drop, as before,
/// and keeps no audio.
#[tokio::test(start_paused = true)]
async fn without_reconnects_a_drop_ends_the_run() {
    let audio = speech();
    let (url, received) = recording(1, BYTES_PER_SECOND).await;
    let config = StreamConfig::default().pacing(Pacing::RealTime);
    let (outcome, _) = run_watched(url, Hosted::Deepgram, config, &audio, ()).await;
    assert!(matches!(outcome.ending, Ending::Dropped { .. }), "{outcome}");
    assert_eq!((outcome.reconnects, outcome.audio_replayed_bytes), (0, 0));
    assert_eq!(received.lock().unwrap().len(), 1);
}

/// The command line's contract: `sttbench stream --provider P --url ws://ADDR --wav FILE
/// --realtime --json` reconnects by default and prints the counters at the top level.
#[cfg(feature = "cli")]
mod cli {
    use std::process::{Command, Output};

    use super::*;

    async fn sttbench(args: Vec<String>) -> Output {
        let what = args.join(" ");
        let run = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_sttbench"))
                .args(&args)
                .env_remove("DEEPGRAM_API_KEY")
                .env_remove("ASSEMBLYAI_API_KEY")
                .output()
                .expect("the binary runs")
        });
        step(&what, run).await.expect("the binary's task")
    }

    /// A 1.5 s WAV file of a tone, 16 kHz mono, in a directory of its own.
    fn wav() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sttbench-reconnect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let path = dir.join("tone-16bit-16000Hz-mono.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).expect("a WAV file");
        for n in 0..24_000 {
            let phase = 2.0 * std::f32::consts::PI * 440.0 * n as f32 / 16_000.0;
            writer.write_sample((phase.sin() * 8_000.0) as i16).expect("a sample");
        }
        writer.finalize().expect("the WAV file written");
        path
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stream_json_reports_reconnects_and_the_server_gets_every_byte() {
        let wav = wav();
        for provider in ["deepgram", "assemblyai"] {
            let (url, received) = recording(1, BYTES_PER_SECOND / 2).await;
            let args = ["stream", "--provider", provider, "--url", &url, "--wav"]
                .into_iter()
                .map(String::from)
                .chain([wav.display().to_string(), "--realtime".into(), "--json".into()])
                .collect();
            let output = sttbench(args).await;
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{provider}: {stderr}");
            let json: serde_json::Value =
                serde_json::from_slice(&output.stdout).expect("the summary as JSON");
            assert_eq!(json["reconnects"], 1, "{provider}: {json}");
            assert_eq!(json["audio_lost_bytes"], 0, "{provider}: {json}");
            assert!(json["audio_replayed_bytes"].as_u64().is_some_and(|b| b > 0), "{json}");
            assert!(json["reconnect_gap"]["p50_ns"].as_u64().is_some_and(|ns| ns > 0), "{json}");
            let received = received.lock().unwrap().clone();
            assert_eq!(received.len(), 2, "{provider}");
            assert_eq!(received[1].len(), 48_000, "{provider}: all 1.5 s on the second");
            assert_eq!(received[0][..], received[1][..received[0].len()], "{provider}");
        }
        // The fields are there when nothing dropped.
        let output = sttbench(
            ["stream", "--provider", "deepgram", "--mock", "--json"].map(String::from).to_vec(),
        )
        .await;
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        for field in ["reconnects", "audio_replayed_bytes", "audio_lost_bytes"] {
            assert_eq!(json[field], 0, "{field}: {json}");
        }
        let _ = std::fs::remove_dir_all(wav.parent().expect("the scratch directory"));
    }
}
