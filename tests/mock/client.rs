//! A minimal streaming client for the mock tests: connect with a dialect's request, send
//! audio and control messages, read events parsed by the dialect. Deliberately not the
//! crate's session, so the mocks are checked against plain tokio-tungstenite.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sttbench::encode::{AudioFormat, ChunkEncoder};
use sttbench::provider::deepgram::DeepgramConfig;
use sttbench::provider::{Dialect, Event, Transcript};
use sttbench::server::ServerHandle;
use sttbench::server::mock::{self, MockConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{WebSocketStream, client_async};

/// The longest any single step may take before the test fails naming it. Generous: a
/// loaded 2-core CI machine, not the code under test, is what makes steps slow.
pub const STEP: Duration = Duration::from_secs(20);

/// At most this many events per session; a runaway server fails the test instead of
/// looping forever.
const MAX_EVENTS: usize = 10_000;

/// Starts a mock on a loopback port.
pub async fn start(config: MockConfig) -> ServerHandle {
    mock::start(config).await.expect("start the mock on 127.0.0.1:0")
}

/// Deepgram settings the tests use: interim results on, 300 ms endpointing.
pub fn deepgram_config() -> DeepgramConfig {
    DeepgramConfig::default()
}

/// The speech fixture as s16le chunks of `ms`, the last one padded with silence so every
/// chunk has the same duration (AssemblyAI rejects short ones).
pub fn speech_chunks(ms: u64) -> Vec<Bytes> {
    let format = AudioFormat::PIPELINE;
    let spec = format.chunk_ms(ms).expect("a whole number of frames");
    let mut samples = sttbench::signal::speech(format).expect("the fixture decodes");
    samples.resize(samples.len().next_multiple_of(spec.samples()), 0.0);
    ChunkEncoder::new(spec).chunks(&samples).collect()
}

/// `ms` of a 200 Hz tone at half scale: "speech" without pauses, as s16le.
pub fn tone(ms: u64) -> Bytes {
    let spec = AudioFormat::PIPELINE.chunk_ms(ms).expect("a whole number of frames");
    let samples: Vec<f32> = (0..spec.samples())
        .map(|n| (n as f32 * 200.0 * std::f32::consts::TAU / 16_000.0).sin() * 0.5)
        .collect();
    ChunkEncoder::new(spec).encode_f32(&samples)
}

/// The texts of the final transcripts among `events`.
pub fn finals(events: &[Event]) -> Vec<String> {
    transcripts(events).filter(|t| t.is_final).map(|t| t.text.clone()).collect()
}

/// The transcripts among `events`.
pub fn transcripts(events: &[Event]) -> impl Iterator<Item = &Transcript> {
    events.iter().filter_map(|e| if let Event::Transcript(t) = e { Some(t) } else { None })
}

/// A WebSocket client speaking `dialect`.
pub struct Client<S, D> {
    pub ws: WebSocketStream<S>,
    pub dialect: D,
}

impl<D: Dialect> Client<TcpStream, D> {
    /// Connects to `server` with `dialect`'s request for 16 kHz mono.
    pub async fn connect(dialect: D, server: &ServerHandle) -> Result<Self, tungstenite::Error> {
        let request = dialect.request(&server.ws_url(), AudioFormat::PIPELINE).expect("request");
        let tcp = TcpStream::connect(server.addr()).await?;
        // Without it, Nagle holds a second small frame for the peer's delayed ACK (~40 ms
        // of real time), during which paused-time tests would jump the clock.
        tcp.set_nodelay(true)?;
        let (ws, _) = timeout(STEP, client_async(request, tcp)).await.expect("handshake hung")?;
        Ok(Client { ws, dialect })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, D: Dialect> Client<S, D> {
    /// Sends `message`, failing the test if the server is gone.
    pub async fn send(&mut self, message: Message) {
        timeout(STEP, self.ws.send(message)).await.expect("send hung").expect("send failed");
    }

    /// Sends every chunk as a binary frame, as fast as the socket takes them.
    pub async fn stream(&mut self, chunks: Vec<Bytes>) {
        for chunk in chunks {
            self.send(Message::Binary(chunk)).await;
        }
    }

    /// Sends the dialect's close-stream message.
    pub async fn close_stream(&mut self) {
        let message = self.dialect.close_stream().expect("hosted dialects have one");
        self.send(message).await;
    }

    /// A ping and its pong: once it returns, the server has read everything sent before.
    pub async fn round_trip(&mut self, step: &str) {
        self.send(Message::Ping(Bytes::from_static(b"sync"))).await;
        let frame = timeout(STEP, self.ws.next()).await;
        match frame.unwrap_or_else(|_| panic!("{step}: no pong within {STEP:?}")) {
            Some(Ok(Message::Pong(_))) => {}
            Some(Ok(other)) => panic!("{step}: {other:?} before the pong"),
            Some(Err(e)) => panic!("{step}: {e}"),
            None => panic!("{step}: connection ended"),
        }
    }

    /// The next event, or `None` when the connection ended without a close frame.
    pub async fn next_event(&mut self, step: &str) -> Option<Event> {
        loop {
            let frame = timeout(STEP, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("{step}: no frame within {STEP:?}"));
            match frame {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(message)) => return Some(self.dialect.parse(message)),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Events until the server's close frame (included), or the connection's end.
    pub async fn events_until_closed(&mut self, step: &str) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(event) = self.next_event(step).await {
            let closed = matches!(event, Event::Closed { .. });
            events.push(event);
            assert!(events.len() < MAX_EVENTS, "{step}: more than {MAX_EVENTS} events");
            if closed {
                // Answer the close frame (tungstenite does so while polled), so the server
                // is not left waiting for the handshake to finish.
                let _ =
                    timeout(STEP, async { while let Some(Ok(_)) = self.ws.next().await {} }).await;
                break;
            }
        }
        events
    }
}
