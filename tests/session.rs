//! The streaming session through the scenarios a voice app lives through: connect,
//! stream, close or crash, reconnect, idle, and several tasks sending at once.
//!
//! Peers are the echo socket or, where a test needs a misbehaving server, a few lines of
//! tungstenite on a 127.0.0.1:0 listener. Every await that could hang is bounded by
//! [`step`], which names the step; idle periods run on paused time.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sttbench::encode::{AudioFormat, ChunkEncoder};
use sttbench::error::{ConnectFailure, Error};
use sttbench::provider::{Echo, Event};
use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::{ServerHandle, bind_loopback};
use sttbench::session::{ReconnectPolicy, Session, SessionConfig};
use sttbench::signal::Signal;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Longest any single step may take before the test fails naming it.
const STEP: Duration = Duration::from_secs(10);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

async fn echo_server() -> ServerHandle {
    echo::start(EchoConfig::default()).await.expect("bind the echo socket")
}

async fn connect(url: &str, config: SessionConfig) -> Session {
    step("connect", Session::connect(url, Arc::new(Echo), config)).await.expect("connect")
}

async fn expect_echo(session: &mut Session, chunk: &Bytes) {
    match step("echo", session.next_event()).await {
        Some(Ok(Event::Echo(echo))) => assert_eq!(&echo, chunk),
        other => panic!("expected the echo, got {other:?}"),
    }
}

/// FNV-1a over a sequence of byte slices: order-sensitive, so a swapped or altered
/// chunk changes it.
fn checksum<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    chunks
        .into_iter()
        .flatten()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[tokio::test]
async fn every_echoed_byte_comes_back_intact_and_in_order() {
    let server = echo_server().await;
    let spec = AudioFormat::PIPELINE.chunk_ms(20).unwrap();
    // 30 s of seeded noise: every chunk differs from every other.
    let audio = Signal::Noise.generate(spec.format().sample_rate(), spec.frames() * 1_500);
    let chunks: Vec<Bytes> = ChunkEncoder::new(spec).chunks(&audio).collect();
    let (sender, mut events) = connect(&server.ws_url(), SessionConfig::default()).await.split();

    let sending = async {
        for chunk in &chunks {
            sender.send(chunk.clone()).await.expect("send");
        }
    };
    let receiving = async {
        let mut echoes = Vec::with_capacity(chunks.len());
        while echoes.len() < chunks.len() {
            match events.next().await {
                Some(Ok(Event::Echo(echo))) => echoes.push(echo),
                other => panic!("expected echo {}, got {other:?}", echoes.len()),
            }
        }
        echoes
    };
    let ((), echoes) =
        step("stream 1,500 chunks", async { tokio::join!(sending, receiving) }).await;
    assert_eq!(
        checksum(echoes.iter().map(|c| &c[..])),
        checksum(chunks.iter().map(|c| &c[..])),
        "the echoed stream differs from the sent one"
    );
    assert_eq!(echoes, chunks);
    let report = sender.report();
    assert_eq!((report.chunks_sent, report.chunks_echoed, report.chunks_lost), (1_500, 1_500, 0));
    assert_eq!(report.bytes_sent, 1_500 * 640);
    assert_eq!(report.round_trip.count, 1_500);
}

#[tokio::test]
async fn reconnects_after_a_stop_and_fails_clearly_once_the_server_is_gone() {
    let server = echo_server().await;
    let url = server.ws_url();
    let chunk = Bytes::from_static(b"first session");
    let mut first = connect(&url, SessionConfig::default()).await;
    step("send", first.send(chunk.clone())).await.unwrap();
    expect_echo(&mut first, &chunk).await;
    let report = step("close", first.close()).await.expect("graceful close");
    assert_eq!(report.chunks_lost, 0);

    let mut second = connect(&url, SessionConfig::default()).await;
    step("send", second.send(chunk.clone())).await.unwrap();
    expect_echo(&mut second, &chunk).await;
    second.abort();

    step("shutdown", server.shutdown()).await;
    let policy = ReconnectPolicy::default().attempts(3).initial_backoff(Duration::from_millis(1));
    let config = SessionConfig::default().reconnect(policy);
    match step("connect to nothing", Session::connect(&url, Arc::new(Echo), config)).await {
        Err(Error::Connect(e)) => {
            assert_eq!(e.attempts, 3, "every attempt of the policy was made");
            assert!(matches!(e.cause, ConnectFailure::Io(_)), "{e}");
            assert!(
                e.to_string().contains(&url) && e.to_string().contains("is the server running")
            );
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hundred_rapid_start_stop_cycles_leave_the_server_healthy() {
    let server = echo_server().await;
    let url = server.ws_url();
    let config = SessionConfig::default().keep_alive(None);
    for cycle in 0..100u8 {
        let mut session = connect(&url, config.clone()).await;
        match cycle % 3 {
            // A full round trip and a graceful close.
            0 => {
                let chunk = Bytes::from(vec![cycle; 64]);
                step("send", session.send(chunk.clone())).await.unwrap();
                expect_echo(&mut session, &chunk).await;
                step("close", session.close()).await.expect("graceful close");
            }
            // Closed before anything was sent.
            1 => drop(step("close", session.close()).await.expect("graceful close")),
            // Dropped on the floor.
            _ => drop(session.abort()),
        }
    }
    let mut last = connect(&url, config).await;
    let chunk = Bytes::from_static(b"after 100 cycles");
    step("send", last.send(chunk.clone())).await.unwrap();
    expect_echo(&mut last, &chunk).await;
    step("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn abort_during_an_active_stream_stops_every_sender() {
    let server = echo_server().await;
    let mut session = connect(&server.ws_url(), SessionConfig::default()).await;
    let sender = session.sender();
    let streaming = tokio::spawn(async move {
        // Bounded: the abort comes long before 100,000 chunks.
        for i in 0..100_000u32 {
            if let Err(e) = sender.send(Bytes::from(vec![0; 640])).await {
                return (i, e);
            }
        }
        panic!("the stream outlived the abort");
    });
    match step("first echo", session.next_event()).await {
        Some(Ok(Event::Echo(_))) => {}
        other => panic!("expected an echo while streaming, got {other:?}"),
    }
    let report = session.abort();
    assert!(report.chunks_sent >= 1);
    let (sent, error) = step("sender notices the abort", streaming).await.unwrap();
    assert!(matches!(error, Error::SessionClosed), "after {sent} chunks: {error:?}");

    let mut next = connect(&server.ws_url(), SessionConfig::default()).await;
    let chunk = Bytes::from_static(b"next session");
    step("send", next.send(chunk.clone())).await.unwrap();
    expect_echo(&mut next, &chunk).await;
}

#[tokio::test]
async fn events_also_come_as_a_stream() {
    let server = echo_server().await;
    let (sender, events) = connect(&server.ws_url(), SessionConfig::default()).await.split();
    for i in 0..3u8 {
        step("send", sender.send(Bytes::from(vec![i; 8]))).await.unwrap();
    }
    step("close", sender.close()).await.unwrap();
    let events: Vec<Event> =
        step("collect", events.into_stream().map(Result::unwrap).collect()).await;
    let want: Vec<Event> = (0..3u8).map(|i| Event::Echo(Bytes::from(vec![i; 8]))).collect();
    assert_eq!(events[..3], want[..]);
    assert!(matches!(&events[3..], [Event::Closed { code: 1000, .. }]), "{events:?}");
}

#[tokio::test]
async fn a_server_close_surfaces_with_its_code_and_reason() {
    let server = echo_server().await;
    let mut session = connect(&server.ws_url(), SessionConfig::default()).await;
    let (_, event) =
        tokio::join!(step("shutdown", server.shutdown()), step("close", session.next_event()));
    match event {
        Some(Ok(Event::Closed { code, reason })) => {
            assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
        }
        other => panic!("expected the server's close, got {other:?}"),
    }
    assert!(step("end", session.next_event()).await.is_none(), "the events end after the close");
    assert!(matches!(session.send(Bytes::new()).await, Err(Error::SessionClosed)));
}

#[tokio::test]
async fn connect_times_out_against_a_listener_that_never_handshakes() {
    // The kernel completes the TCP handshake from the backlog; nobody ever answers the
    // WebSocket upgrade.
    let listener = bind_loopback().await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let timeout = Duration::from_millis(200);
    let policy = ReconnectPolicy::default()
        .attempts(2)
        .jitter(0.0)
        .initial_backoff(Duration::from_millis(10));
    let config = SessionConfig::default().connect_timeout(timeout).reconnect(policy);
    let started = tokio::time::Instant::now();
    match step("connect", Session::connect(&url, Arc::new(Echo), config)).await {
        Err(Error::Connect(e)) => {
            assert!(matches!(e.cause, ConnectFailure::Timeout(t) if t == timeout), "{e}");
            assert_eq!(e.attempts, 2);
        }
        other => panic!("expected a connect timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= 2 * timeout + Duration::from_millis(10));
    drop(listener);
}

#[tokio::test]
async fn keep_alive_pings_hold_a_30s_idle_session_open() {
    let server = echo::start(EchoConfig::default().idle_timeout(Some(Duration::from_secs(10))))
        .await
        .unwrap();
    let config = SessionConfig::default().keep_alive(Some(Duration::from_secs(4)));
    let mut session = connect(&server.ws_url(), config).await;
    // From here on time only moves when every task is idle, so 30 s pass at once; the
    // keep-alive task's pings reach the server before its 10 s idle limit.
    tokio::time::pause();
    tokio::time::sleep(Duration::from_secs(30)).await;
    tokio::time::resume();
    let chunk = Bytes::from_static(b"still open after 30 s");
    step("send", session.send(chunk.clone())).await.expect("the session is still open");
    expect_echo(&mut session, &chunk).await;
}

/// The echo dialect, except that it keeps alive with a text message, as Deepgram does.
#[derive(Debug)]
struct TextKeepAlive;

impl sttbench::provider::Dialect for TextKeepAlive {
    fn name(&self) -> &'static str {
        "text-keep-alive"
    }
    fn request(
        &self,
        url: &str,
        format: AudioFormat,
    ) -> sttbench::Result<tokio_tungstenite::tungstenite::handshake::client::Request> {
        Echo.request(url, format)
    }
    fn keep_alive(&self) -> sttbench::provider::KeepAlive {
        sttbench::provider::KeepAlive::Message(Message::text(r#"{"type":"KeepAlive"}"#))
    }
    fn parse(&self, message: Message) -> Event {
        Echo.parse(message)
    }
}

#[tokio::test]
async fn the_keep_alive_is_whatever_the_dialect_says() {
    let server = echo_server().await;
    let config = SessionConfig::default().keep_alive(Some(Duration::from_secs(4)));
    let mut session =
        step("connect", Session::connect(&server.ws_url(), Arc::new(TextKeepAlive), config))
            .await
            .expect("connect");
    tokio::time::pause();
    let event = session.next_event().await;
    tokio::time::resume();
    match event {
        Some(Ok(Event::EchoText(text))) => assert_eq!(text, r#"{"type":"KeepAlive"}"#),
        other => panic!("expected the dialect's keep-alive echoed, got {other:?}"),
    }
}

#[tokio::test]
async fn without_keep_alive_an_idle_session_is_closed_by_the_server() {
    let server = echo::start(EchoConfig::default().idle_timeout(Some(Duration::from_secs(10))))
        .await
        .unwrap();
    let mut session = connect(&server.ws_url(), SessionConfig::default().keep_alive(None)).await;
    tokio::time::pause();
    let event = session.next_event().await;
    tokio::time::resume();
    match event {
        Some(Ok(Event::Closed { code: 1008, reason })) => {
            assert!(reason.contains("10s"), "{reason}")
        }
        other => panic!("expected the idle close, got {other:?}"),
    }
}

#[tokio::test]
async fn text_binary_ping_and_pong_frames() {
    let server = echo_server().await;
    let mut session = connect(&server.ws_url(), SessionConfig::default()).await;
    step("text", session.sender().send_text("héllo")).await.unwrap();
    match step("text echo", session.next_event()).await {
        Some(Ok(Event::EchoText(text))) => assert_eq!(text, "héllo"),
        other => panic!("expected the text echo, got {other:?}"),
    }
    // The pong to this ping is absorbed by the session; the next event is the echo.
    step("ping", session.sender().ping()).await.unwrap();
    let chunk = Bytes::from_static(&[0, 1, 2, 255]);
    step("binary", session.send(chunk.clone())).await.unwrap();
    expect_echo(&mut session, &chunk).await;
    // Only the binary chunk is timed: the text echo must not pair with it.
    let r = session.report();
    assert_eq!((r.chunks_sent, r.chunks_echoed, r.chunks_lost, r.round_trip.count), (1, 1, 0, 1));

    // A server that pings and tells us when the pong came back.
    let listener = bind_loopback().await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut ws = one_client(listener).await;
        ws.send(Message::Ping(Bytes::from_static(b"are you there"))).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Pong(payload) = message {
                ws.send(Message::text(format!("pong: {}", String::from_utf8_lossy(&payload))))
                    .await
                    .unwrap();
            }
        }
    });
    let mut session = connect(&url, SessionConfig::default()).await;
    match step("answer to our pong", session.next_event()).await {
        Some(Ok(Event::EchoText(text))) => assert_eq!(text, "pong: are you there"),
        other => panic!("expected the server to see our pong, got {other:?}"),
    }
}

async fn one_client(
    listener: TcpListener,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let (tcp, _) = listener.accept().await.expect("accept");
    tokio_tungstenite::accept_async(tcp).await.expect("handshake")
}

/// What a server saw at the end of a connection.
async fn how_it_ended(listener: TcpListener, seen: oneshot::Sender<Result<Option<u16>, WsError>>) {
    let mut ws = one_client(listener).await;
    let end = loop {
        match ws.next().await {
            Some(Ok(Message::Close(frame))) => break Ok(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(e)) => break Err(e),
            None => break Ok(None),
        }
    };
    let _ = seen.send(end);
    // Finish the close handshake, if there was one.
    while ws.next().await.is_some() {}
}

#[tokio::test]
async fn graceful_and_abrupt_close_look_different_to_the_server() {
    for graceful in [true, false] {
        let listener = bind_loopback().await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        tokio::spawn(how_it_ended(listener, tx));
        let session = connect(&url, SessionConfig::default()).await;
        let seen = if graceful {
            step("graceful close", session.close()).await.expect("the server answers the close");
            step("server sees", rx).await.unwrap()
        } else {
            session.abort();
            step("server sees", rx).await.unwrap()
        };
        match (graceful, seen) {
            (true, Ok(Some(1000))) => {}
            (false, Err(WsError::Protocol(_) | WsError::Io(_))) => {}
            (graceful, seen) => panic!("graceful = {graceful}: the server saw {seen:?}"),
        }
    }
}

#[tokio::test]
async fn several_tasks_sending_at_once_keep_every_chunk_whole_and_ordered() {
    const TASKS: u8 = 4;
    const CHUNKS: u16 = 200;
    let server = echo_server().await;
    let (sender, mut events) = connect(&server.ws_url(), SessionConfig::default()).await.split();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let sender = sender.clone();
            tokio::spawn(async move {
                for seq in 0..CHUNKS {
                    // [task, seq (2 bytes), then 637 bytes of the task's id]: a chunk
                    // spliced with another task's would fail the check below.
                    let mut chunk = vec![task; 640];
                    chunk[1..3].copy_from_slice(&seq.to_be_bytes());
                    sender.send(Bytes::from(chunk)).await.expect("send");
                }
            })
        })
        .collect();
    let mut next_seq = [0u16; TASKS as usize];
    for _ in 0..u32::from(TASKS) * u32::from(CHUNKS) {
        let echo = match step("echo", events.next()).await {
            Some(Ok(Event::Echo(echo))) => echo,
            other => panic!("expected an echo, got {other:?}"),
        };
        let task = echo[0];
        assert_eq!(echo.len(), 640);
        assert!(echo[3..].iter().all(|&b| b == task), "chunk of task {task} was spliced");
        let seq = u16::from_be_bytes([echo[1], echo[2]]);
        assert_eq!(seq, next_seq[task as usize], "task {task}'s chunks came back out of order");
        next_seq[task as usize] += 1;
    }
    for task in tasks {
        step("sender task", task).await.unwrap();
    }
    assert_eq!(sender.report().chunks_lost, 0);
}

#[tokio::test]
async fn a_stalled_peer_gives_backpressure_and_close_times_out() {
    // Completes the handshake, then never reads again.
    let listener = bind_loopback().await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (hold_tx, hold_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let ws = one_client(listener).await;
        let _ = hold_rx.await;
        drop(ws);
    });
    let close_timeout = Duration::from_millis(200);
    let config = SessionConfig::default().close_timeout(close_timeout);
    let session = connect(&url, config).await;
    let second = Bytes::from(vec![0; AudioFormat::PIPELINE.chunk_ms(1_000).unwrap().bytes()]);
    // 2,000 s of audio is 64 MB: far more than the kernel buffers on loopback.
    let mut blocked = false;
    for _ in 0..2_000 {
        if tokio::time::timeout(Duration::from_millis(500), session.send(second.clone()))
            .await
            .is_err()
        {
            blocked = true;
            break;
        }
    }
    let sent = session.report().bytes_sent;
    assert!(blocked, "sending never blocked; {sent} bytes went to a peer that does not read");
    assert!(sent < 64_000_000, "{sent}");
    match step("close", session.close()).await {
        Err(Error::CloseTimeout(t)) => assert_eq!(t, close_timeout),
        other => panic!("expected a close timeout, got {other:?}"),
    }
    let _ = hold_tx.send(());
}
