//! The echo socket under the inputs a server meets in the wild: many clients at once,
//! malformed frames, invalid UTF-8, oversized messages, clients that vanish mid-frame or
//! never finish the handshake, and shutdown while clients are connected.
//!
//! Every server binds 127.0.0.1:0; every await that could hang is bounded by [`step`],
//! which names the step that hung.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sttbench::provider::{Echo, Event};
use sttbench::server::Limits;
use sttbench::server::echo::{self, EchoConfig};
use sttbench::session::{Session, SessionConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest any single step may take before the test fails naming it.
const STEP: Duration = Duration::from_secs(10);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

async fn session(url: &str) -> Session {
    step("connect", Session::connect(url, Arc::new(Echo), SessionConfig::default()))
        .await
        .expect("connect to the echo socket")
}

/// Sends `chunk` and expects it back unchanged.
async fn echo_once(session: &mut Session, chunk: Bytes) {
    step("send", session.send(chunk.clone())).await.expect("send");
    match step("echo", session.next_event()).await {
        Some(Ok(Event::Echo(echo))) => assert_eq!(echo, chunk),
        other => panic!("expected the echo, got {other:?}"),
    }
}

/// A plain tungstenite client, for writing what a well-behaved session never would.
async fn raw_client(url: &str) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
    step("raw connect", tokio_tungstenite::connect_async(url)).await.expect("handshake").0
}

/// Writes bytes straight onto a raw client's socket, then expects the server's close.
async fn expect_close_after(url: &str, bytes: &[u8], code: CloseCode) {
    let mut ws = raw_client(url).await;
    match ws.get_mut() {
        MaybeTlsStream::Plain(tcp) => step("write raw", tcp.write_all(bytes)).await.unwrap(),
        _ => unreachable!("ws:// is plain TCP"),
    }
    match step("read close", ws.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, code, "{frame:?}"),
        other => panic!("expected a close with {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn serves_many_connections_at_once() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let url = server.ws_url();
    let clients: Vec<_> = (0..20u8)
        .map(|client| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut session = session(&url).await;
                for i in 0..50u8 {
                    echo_once(&mut session, Bytes::from(vec![client ^ i; 640])).await;
                }
                step("close", session.close()).await.expect("graceful close")
            })
        })
        .collect();
    for client in clients {
        let report = step("client", client).await.expect("client task");
        assert_eq!((report.chunks_sent, report.chunks_echoed, report.chunks_lost), (50, 50, 0));
    }
    step("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn malformed_frames_close_only_the_offender_with_the_right_code() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let url = server.ws_url();
    let mut bystander = session(&url).await;
    echo_once(&mut bystander, Bytes::from_static(b"before")).await;

    // FIN + RSV1-3 + binary, masked, empty: reserved bits without an extension → 1002.
    expect_close_after(&url, &[0xF2, 0x80, 0, 0, 0, 0], CloseCode::Protocol).await;
    // A text frame holding 0xFF, masked with a zero key: invalid UTF-8 → 1007.
    expect_close_after(&url, &[0x81, 0x81, 0, 0, 0, 0, 0xFF], CloseCode::Invalid).await;
    // An unmasked client frame breaks RFC 6455 §5.1 → 1002.
    expect_close_after(&url, &[0x82, 0x01, 0x00], CloseCode::Protocol).await;

    echo_once(&mut bystander, Bytes::from_static(b"after")).await;
    step("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn an_oversized_message_gets_1009_and_the_limit_is_configurable() {
    let server = echo::start(EchoConfig::default().max_message_size(1024)).await.unwrap();
    let mut session = session(&server.ws_url()).await;
    echo_once(&mut session, Bytes::from(vec![7; 1024])).await;
    step("send", session.send(Bytes::from(vec![7; 1025]))).await.expect("the send itself works");
    match step("close", session.next_event()).await {
        Some(Ok(Event::Closed { code, reason })) => {
            assert_eq!(code, 1009, "{reason}");
            assert!(reason.contains("1025"), "the reason names the size: {reason}");
        }
        other => panic!("expected a 1009 close, got {other:?}"),
    }
    step("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn a_client_vanishing_mid_frame_does_not_disturb_the_server() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let url = server.ws_url();
    let mut ws = raw_client(&url).await;
    // A masked binary frame announcing 100 bytes, of which 10 arrive.
    let mut partial = vec![0x82, 0x80 | 100, 1, 2, 3, 4];
    partial.extend_from_slice(&[0xAA; 10]);
    match ws.get_mut() {
        MaybeTlsStream::Plain(tcp) => step("write partial", tcp.write_all(&partial)).await.unwrap(),
        _ => unreachable!("ws:// is plain TCP"),
    }
    drop(ws);
    let mut session = session(&url).await;
    echo_once(&mut session, Bytes::from_static(b"still here")).await;
    step("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn a_client_that_never_handshakes_is_dropped() {
    let config = EchoConfig::default()
        .limits(Limits::default().handshake_timeout(Duration::from_millis(100)));
    let server = echo::start(config).await.unwrap();
    let mut tcp = step("tcp connect", TcpStream::connect(server.addr())).await.unwrap();
    let mut buf = [0u8; 16];
    let read = step("server drops the connection", tcp.read(&mut buf)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "expected EOF or reset, got {read:?}");
    step("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn shutdown_sends_1001_and_does_not_wait_for_clients_that_never_answer() {
    let config = EchoConfig::default().close_timeout(Duration::from_millis(200));
    let server = echo::start(config).await.unwrap();
    let url = server.ws_url();
    let mut polite = session(&url).await;
    // Connected, but never reads again, so it never answers the server's close.
    let mut deaf = raw_client(&url).await;
    step("deaf sends", deaf.send(Message::binary(vec![1]))).await.unwrap();
    echo_once(&mut polite, Bytes::from_static(b"hello")).await;

    let (_, event) = tokio::join!(step("shutdown", server.shutdown()), async {
        step("close event", polite.next_event()).await
    });
    match event {
        Some(Ok(Event::Closed { code: 1001, reason })) => {
            assert_eq!(reason, "server shutting down")
        }
        other => panic!("expected a 1001 close, got {other:?}"),
    }
}

#[tokio::test]
async fn pings_get_pongs_and_unsolicited_pongs_are_ignored() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let mut ws = raw_client(&server.ws_url()).await;
    step("ping", ws.send(Message::Ping(Bytes::from_static(b"abc")))).await.unwrap();
    match step("pong", ws.next()).await {
        Some(Ok(Message::Pong(payload))) => assert_eq!(&payload[..], b"abc"),
        other => panic!("expected the pong, got {other:?}"),
    }
    step("pong", ws.send(Message::Pong(Bytes::from_static(b"x")))).await.unwrap();
    step("text", ws.send(Message::text("still echoing"))).await.unwrap();
    match step("echo", ws.next()).await {
        Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "still echoing"),
        other => panic!("expected the text echo, got {other:?}"),
    }
    step("shutdown", server.shutdown()).await;
}
