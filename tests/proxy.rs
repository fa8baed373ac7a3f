//! The impairment proxy between real sockets: bytes stay intact and in order, each
//! impairment does what it says, and the same seed draws the same delays.
//!
//! Peers are a raw TCP echo and sink (a few lines below), the echo socket with a
//! `Session`, and the mock provider. Exact timings run on paused time (tokio advances it
//! when every task waits, and the proxy's timers are tokio's); rates and real-time
//! latency are asserted as ranges. Every await that could hang is bounded by [`step`].

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sttbench::encode::{AudioFormat, ChunkEncoder};
use sttbench::provider::{Echo, Event};
use sttbench::server::bind_loopback;
use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::shaper::{
    self, Bandwidth, Delivery, Direction, Impairments, Link, Rate, ShaperConfig, ShaperHandle,
    Slicer, Stall, Tap,
};
use sttbench::session::{Session, SessionConfig};
use sttbench::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

/// Longest any single step may take before the test fails naming it.
const STEP: Duration = Duration::from_secs(20);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

/// A raw TCP echo: every byte back as it came, the close passed on.
async fn tcp_echo() -> SocketAddr {
    let listener = bind_loopback().await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Without it Nagle holds a short tail until a delayed ACK: 40 ms of real
                // time that paused time would skip past.
                socket.set_nodelay(true).unwrap();
                let (mut read, mut write) = socket.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
                let _ = write.shutdown().await;
            });
        }
    });
    addr
}

/// A raw TCP sink for one connection: reads to the end and hands over what came (an
/// error if the stream ended in one). It never closes its own side, so whatever closes
/// the client is the proxy.
async fn tcp_sink() -> (SocketAddr, oneshot::Receiver<std::io::Result<Vec<u8>>>) {
    let listener = bind_loopback().await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let _ = tx.send(socket.read_to_end(&mut got).await.map(|_| got));
        std::future::pending::<()>().await;
        drop(socket);
    });
    (addr, rx)
}

async fn shape(upstream: SocketAddr, link: Link) -> ShaperHandle {
    proxy_with(ShaperConfig::new(upstream.to_string()).link(link)).await
}

async fn proxy_with(config: ShaperConfig) -> ShaperHandle {
    shaper::start(config).await.expect("bind the proxy")
}

async fn connect(proxy: &ShaperHandle) -> TcpStream {
    let socket = step("connect", TcpStream::connect(proxy.addr())).await.unwrap();
    socket.set_nodelay(true).unwrap();
    socket
}

/// `n` bytes, each a function of its position: a lost, swapped or repeated stretch shows.
fn pattern(n: usize) -> Vec<u8> {
    (0..n as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()
}

/// Writes `message`, reads the same number of bytes back, and returns how long it took.
async fn round_trip(socket: &mut TcpStream, message: &[u8]) -> Duration {
    let sent = Instant::now();
    socket.write_all(message).await.unwrap();
    let mut back = vec![0; message.len()];
    step("the echo", socket.read_exact(&mut back)).await.unwrap();
    assert_eq!(back, message);
    sent.elapsed()
}

fn jittery_sliced() -> Impairments {
    Impairments::default()
        .latency(5 * MS)
        .jitter(4 * MS)
        .slicer(Some(Slicer::new(700, 600, Duration::ZERO).unwrap()))
}

#[tokio::test]
async fn raw_bytes_arrive_intact_and_in_order_under_jitter_and_slicing() {
    let proxy = shape(tcp_echo().await, Link::symmetric(jittery_sliced())).await;
    let mut socket = connect(&proxy).await;
    let sent = pattern(512 * 1024);
    let (mut read, mut write) = socket.split();
    let writing = async {
        write.write_all(&sent).await.unwrap();
        write.shutdown().await.unwrap();
    };
    let mut back = Vec::new();
    let reading = read.read_to_end(&mut back);
    let ((), read) = step("the echo of 512 KiB", async { tokio::join!(writing, reading) }).await;
    read.unwrap();
    assert!(back == sent, "the echo differs from what was sent");
}

#[tokio::test]
async fn a_session_streams_through_jitter_and_slicing_intact() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let proxy = shape(server.addr(), Link::symmetric(jittery_sliced())).await;
    let spec = AudioFormat::PIPELINE.chunk_ms(20).unwrap();
    let audio = Signal::Noise.generate(spec.format().sample_rate(), spec.frames() * 200);
    let chunks: Vec<Bytes> = ChunkEncoder::new(spec).chunks(&audio).collect();
    let session = step(
        "connect",
        Session::connect(&proxy.ws_url(), Arc::new(Echo), SessionConfig::default()),
    )
    .await
    .expect("the handshake passes through");
    let (sender, mut events) = session.split();
    let sending = async {
        for chunk in &chunks {
            sender.send(chunk.clone()).await.unwrap();
        }
    };
    let receiving = async {
        for (i, chunk) in chunks.iter().enumerate() {
            match events.next().await {
                Some(Ok(Event::Echo(echo))) => assert_eq!(&echo, chunk, "chunk {i}"),
                other => panic!("expected echo {i}, got {other:?}"),
            }
        }
    };
    step("200 echoes", async { tokio::join!(sending, receiving) }).await;
}

/// Paused time: the proxy's schedule is the only delay, so it shows exactly.
#[tokio::test(start_paused = true)]
async fn latency_adds_twice_the_one_way_per_round_trip() {
    let echo = tcp_echo().await;
    let one_way = Impairments::default().latency(50 * MS);
    let proxy = shape(echo, Link::symmetric(one_way)).await;
    let mut socket = connect(&proxy).await;
    for _ in 0..5 {
        assert_eq!(round_trip(&mut socket, &pattern(640)).await, 100 * MS);
    }
    // Each direction its own: 30 ms up, 10 ms down. A change applies to open connections.
    proxy.shaper().set_link(Link {
        upstream: Impairments::default().latency(30 * MS),
        downstream: Impairments::default().latency(10 * MS),
    });
    assert_eq!(round_trip(&mut socket, &pattern(640)).await, 40 * MS);
}

/// The same on the real clock: at least the schedule, and not much more.
#[tokio::test]
async fn latency_holds_on_the_real_clock() {
    let proxy =
        shape(tcp_echo().await, Link::symmetric(Impairments::default().latency(50 * MS))).await;
    let mut socket = connect(&proxy).await;
    let mut rtts = Vec::new();
    for _ in 0..5 {
        rtts.push(round_trip(&mut socket, &pattern(640)).await);
    }
    rtts.sort();
    // tokio's timer wakes up to ~1 ms late per hop; a busy 2-core machine adds more.
    assert!(rtts[0] >= 100 * MS, "faster than the schedule: {rtts:?}");
    assert!(rtts[2] < 250 * MS, "median far above 2 × 50 ms: {rtts:?}");
}

#[tokio::test]
async fn the_token_bucket_holds_the_rate() {
    let (sink, received) = tcp_sink().await;
    let rate = Rate::kbit(4_000); // 500 KB/s
    let up = Impairments::default().bandwidth(Some(Bandwidth::new(rate)));
    let proxy = shape(sink, Link { upstream: up, downstream: Impairments::default() }).await;
    let mut socket = connect(&proxy).await;
    let sent = pattern(250_000);
    let started = Instant::now();
    socket.write_all(&sent).await.unwrap();
    socket.shutdown().await.unwrap();
    let got = step("250 kB through 4 mbit", received).await.unwrap().unwrap();
    let elapsed = started.elapsed();
    assert!(got == sent, "the sink got other bytes");
    // One burst leaves at once; the rest at the rate, never faster. Slower only by
    // timer lateness and a busy machine: generous.
    let floor = rate.time_for(250_000 - 1_500);
    let measured = 250_000.0 * 8.0 / elapsed.as_secs_f64();
    assert!(elapsed >= floor, "{elapsed:?} < {floor:?}: faster than {rate}");
    assert!(measured > 0.4 * 4e6, "{measured:.0} bit/s is far below {rate}");
}

#[tokio::test]
async fn reset_on_demand_gives_the_client_a_reset_error() {
    let proxy = shape(tcp_echo().await, Link::default()).await;
    let mut socket = connect(&proxy).await;
    round_trip(&mut socket, b"established").await;
    proxy.shaper().reset_connections();
    let mut buf = [0u8; 16];
    let read = step("the reset", socket.read(&mut buf)).await;
    assert_eq!(read.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset));
}

/// A session sees the reset as a WebSocket I/O error, `reset_after` after it connected.
#[tokio::test(start_paused = true)]
async fn reset_after_breaks_a_session_on_time() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let config =
        ShaperConfig::new(server.addr().to_string()).reset_after(Some(Duration::from_secs(2)));
    let proxy = proxy_with(config).await;
    let started = Instant::now();
    let mut session = step(
        "connect",
        Session::connect(&proxy.ws_url(), Arc::new(Echo), SessionConfig::default()),
    )
    .await
    .unwrap();
    let event = step("the reset", session.next_event()).await;
    let message = format!("{event:?}");
    assert!(matches!(event, Some(Err(_))), "{message}");
    assert!(message.contains("ConnectionReset") || message.contains("reset"), "{message}");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn limit_data_closes_after_n_bytes_each_way() {
    // Downstream: the client gets the first 1,000 bytes of the echo, then a clean close.
    let down = Impairments::default().limit_bytes(Some(1_000));
    let proxy =
        shape(tcp_echo().await, Link { upstream: Impairments::default(), downstream: down }).await;
    let mut socket = connect(&proxy).await;
    let sent = pattern(5_000);
    socket.write_all(&sent).await.unwrap();
    let mut back = Vec::new();
    step("the close", socket.read_to_end(&mut back)).await.expect("a close, not a reset");
    assert_eq!(back, sent[..1_000]);

    // Upstream: the server gets exactly 3,000 bytes, then the close.
    let (sink, received) = tcp_sink().await;
    let up = Impairments::default().limit_bytes(Some(3_000));
    let proxy = shape(sink, Link { upstream: up, downstream: Impairments::default() }).await;
    let mut socket = connect(&proxy).await;
    // The proxy may close before all of it is written; that is the point.
    let _ = socket.write_all(&sent).await;
    let got = step("the sink", received).await.unwrap().unwrap();
    assert_eq!(got, sent[..3_000]);
    // The whole connection is closed, not just the direction: the client sees the end
    // although the server never closed.
    let mut rest = Vec::new();
    step("the client's close", socket.read_to_end(&mut rest)).await.expect("a close");
    assert!(rest.is_empty());
}

/// Paused time: "nothing arrives" is a timeout that auto-advances, not a sleep.
#[tokio::test(start_paused = true)]
async fn a_stall_holds_data_until_lifted_and_loses_nothing() {
    let proxy = shape(tcp_echo().await, Link::default()).await;
    let mut socket = connect(&proxy).await;
    round_trip(&mut socket, b"before").await;
    proxy.shaper().update(Direction::Upstream, |i| i.stall(Some(Stall::FOREVER)));
    let sent = pattern(10_000);
    socket.write_all(&sent).await.unwrap();
    let mut back = vec![0; sent.len()];
    let waited = tokio::time::timeout(Duration::from_secs(60), socket.read_exact(&mut back)).await;
    assert!(waited.is_err(), "data passed a stalled link");
    proxy.shaper().update(Direction::Upstream, |i| i.stall(None));
    step("the held data", socket.read_exact(&mut back)).await.unwrap();
    assert_eq!(back, sent);
}

#[tokio::test(start_paused = true)]
async fn a_stall_closes_the_connection_when_asked() {
    let stall = Impairments::default().stall(Some(Stall::closing_after(Duration::from_secs(3))));
    let proxy =
        shape(tcp_echo().await, Link { upstream: Impairments::default(), downstream: stall }).await;
    let started = Instant::now();
    let mut socket = connect(&proxy).await;
    socket.write_all(b"never echoed").await.unwrap();
    let mut back = Vec::new();
    step("the close", socket.read_to_end(&mut back)).await.expect("a close, not a reset");
    assert!(back.is_empty(), "data passed a stalled link: {back:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn slow_close_passes_the_close_on_late() {
    let slow = Impairments::default().slow_close(500 * MS);
    let proxy =
        shape(tcp_echo().await, Link { upstream: slow, downstream: Impairments::default() }).await;
    let mut socket = connect(&proxy).await;
    let started = Instant::now();
    socket.write_all(b"last words").await.unwrap();
    socket.shutdown().await.unwrap();
    let mut back = Vec::new();
    step("the echo and close", socket.read_to_end(&mut back)).await.unwrap();
    assert_eq!(back, b"last words");
    // The data went at once; the close reached the echo (and came back) 500 ms later.
    assert_eq!(started.elapsed(), 500 * MS);
}

#[tokio::test]
async fn an_unreachable_upstream_resets_the_client() {
    // A port that was free a moment ago: nothing listens there.
    let vacant = bind_loopback().await.unwrap().local_addr().unwrap();
    let proxy = shape(vacant, Link::default()).await;
    let mut socket = connect(&proxy).await;
    let mut buf = [0u8; 1];
    let read = step("the reset", socket.read(&mut buf)).await;
    assert_eq!(read.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset));
}

/// Records each delivery as (direction, offset, length, scheduled delay).
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<(Direction, u64, usize, Duration)>>);

impl Tap for Recorder {
    fn delivered(&self, d: &Delivery<'_>) {
        let delay = d.released - d.arrived;
        self.0.lock().unwrap().push((d.direction, d.offset, d.bytes.len(), delay));
    }
}

/// Streams 50 paced chunks through jitter and slicing and returns what the tap saw.
async fn delays_with_seed(seed: u64) -> Vec<(Direction, u64, usize, Duration)> {
    let recorder = Arc::new(Recorder::default());
    let link = Link::symmetric(
        Impairments::default()
            .latency(40 * MS)
            .jitter(30 * MS)
            .slicer(Some(Slicer::new(200, 150, MS).unwrap())),
    );
    let config = ShaperConfig::new(tcp_echo().await.to_string())
        .link(link)
        .seed(seed)
        .tap(Some(recorder.clone() as Arc<dyn Tap>));
    let proxy = proxy_with(config).await;
    let mut socket = connect(&proxy).await;
    let chunk = pattern(640);
    let mut back = vec![0; 640 * 50];
    let reading = async {
        let (mut read, mut write) = socket.split();
        let writing = async {
            for _ in 0..50 {
                write.write_all(&chunk).await.unwrap();
                // Pacing is the input here, as a microphone's is.
                tokio::time::sleep(20 * MS).await;
            }
        };
        let (_, read) = tokio::join!(writing, read.read_exact(&mut back));
        read.unwrap();
    };
    step("50 echoes", reading).await;
    let seen = std::mem::take(&mut *recorder.0.lock().unwrap());
    assert!(seen.len() > 2 * 50 * 640 / 350, "sliced: {} deliveries", seen.len());
    seen
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_draws_the_same_delays() {
    // The two directions' deliveries interleave as the tasks happen to run; each
    // direction's own sequence is what the seed fixes.
    let by_direction = |mut seen: Vec<(Direction, u64, usize, Duration)>| {
        seen.sort_by_key(|&(direction, offset, ..)| (direction == Direction::Downstream, offset));
        seen
    };
    let first = by_direction(delays_with_seed(7).await);
    let again = by_direction(delays_with_seed(7).await);
    let other = by_direction(delays_with_seed(8).await);
    let first_difference = |a: &[_], b: &[_]| a.iter().zip(b).position(|(x, y)| x != y);
    assert!(
        first == again,
        "seed 7 twice: first difference at {:?}",
        first_difference(&first, &again)
    );
    assert!(first != other, "seeds 7 and 8 drew the same delays");
}

/// The mock provider behind the proxy: the transcript is intact and every figure the
/// pipeline measures gains exactly the round trip.
#[tokio::test(start_paused = true)]
async fn the_mock_provider_streams_through_the_proxy() {
    use sttbench::pipeline::{self, PipelineOptions};
    use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
    use sttbench::provider::{ApiKey, Credential};
    use sttbench::server::mock::{self, MockConfig, MockProvider};

    let mock = mock::start(MockConfig::new(MockProvider::Deepgram)).await.unwrap();
    let proxy = shape(mock.addr(), Link::symmetric(Impairments::default().latency(50 * MS))).await;
    let dialect = Arc::new(Deepgram::new(
        DeepgramConfig::default().credential(Credential::Key(ApiKey::new("k"))),
    ));
    let run =
        step("the pipeline", pipeline::run(&proxy.ws_url(), dialect, &PipelineOptions::default()))
            .await
            .expect("streams through the proxy");
    assert_eq!(run.finals, ["the quick brown fox jumps over the lazy dog", "call me back at five"]);
    assert_eq!(run.pipeline.first_partial, Some(100 * MS));
    assert_eq!(run.pipeline.final_latencies, [100 * MS, 100 * MS]);
    proxy.shutdown().await;
    mock.shutdown().await;
}

/// `wss://` passes through untouched (TLS is end to end: the proxy never parses), here
/// over a WebPageTest profile: every final arrives, none sooner than the round trip.
#[cfg(feature = "mock-tls")]
#[tokio::test]
async fn wss_passes_through_a_profile_untouched() {
    use sttbench::pipeline::{self, PipelineOptions};
    use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
    use sttbench::provider::{ApiKey, Credential};
    use sttbench::server::mock::tls::SelfSigned;
    use sttbench::server::mock::{self, MockConfig, MockProvider};
    use sttbench::server::shaper::Profile;

    let cert = SelfSigned::generate().expect("certificate");
    let config = MockConfig::new(MockProvider::Deepgram).tls(Some(cert.server_config().unwrap()));
    let mock = mock::start(config).await.unwrap();
    let cable = Profile::find("cable").unwrap();
    let proxy = shape(mock.addr(), cable.link()).await;
    let url = format!("wss://localhost:{}", proxy.addr().port());
    let options = PipelineOptions::default()
        .session(SessionConfig::default().tls(Some(cert.client_config().unwrap())));
    let dialect = Arc::new(Deepgram::new(
        DeepgramConfig::default().credential(Credential::Key(ApiKey::new("k"))),
    ));
    let run = step("the wss:// run", pipeline::run(&url, dialect, &options))
        .await
        .unwrap_or_else(|e| panic!("wss:// through the proxy: {e}"));
    assert_eq!(run.finals, ["the quick brown fox jumps over the lazy dog", "call me back at five"]);
    assert_eq!(run.server_close, Some((1000, String::new())));
    assert_eq!(run.pipeline.final_latencies.len(), 2);
    for latency in &run.pipeline.final_latencies {
        assert!(*latency >= cable.rtt(), "a final sooner than the {:?} RTT", cable.rtt());
    }
    proxy.shutdown().await;
    mock.shutdown().await;
}
