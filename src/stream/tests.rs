//! The loop against peers made to misbehave on an in-memory pipe, with paused time: a
//! server that never reads, one that reads slowly (for each queue policy), and the
//! stage attribution when a full queue holds the pacer back. Whole runs over real
//! sockets are in `tests/stream.rs`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::DuplexStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::*;
use crate::provider::Echo;
use crate::session::{Session, SessionConfig};
use crate::signal::Signal;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A session over an in-memory pipe of `capacity` bytes, and the server's end of it.
async fn pipe(capacity: usize) -> (Session<DuplexStream>, WebSocketStream<DuplexStream>) {
    let (client, server) = tokio::io::duplex(capacity);
    let config = SessionConfig::default().keep_alive(None);
    let ws_config = Some(config.websocket_config());
    let client = WebSocketStream::from_raw_socket(client, Role::Client, ws_config).await;
    let server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
    (Session::from_websocket(client, Arc::new(Echo), config), server)
}

/// A server that takes one message every `every`, answering nothing, until the close.
async fn slow_reader(mut server: WebSocketStream<DuplexStream>, every: Duration) {
    while let Some(Ok(_)) = server.next().await {
        tokio::time::sleep(every).await;
    }
}

fn audio(seconds: u64) -> Audio {
    let source = Source::Signal(Signal::Sine);
    Audio::resolve(&source, Some(Duration::from_secs(seconds)), ms(20)).expect("a sine")
}

async fn run(
    session: Session<DuplexStream>,
    audio: &Audio,
    config: &StreamConfig,
    recorder: &mut Recorder,
) -> Outcome {
    conduct::conduct(session, audio, config, TokioPacer, None, recorder, Duration::ZERO, None).await
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_reads_is_a_stall_once_a_write_waits_the_window() {
    let (session, _server) = pipe(16 * 1024).await;
    let config = StreamConfig::default().stall_window(Some(Duration::from_secs(2)));
    let audio = audio(60);
    let mut recorder = Recorder::new();
    let outcome = run(session, &audio, &config, &mut recorder).await;
    let Ending::Stalled(stall) = outcome.ending else { panic!("{outcome}") };
    assert_eq!(stall.kind, StallKind::NotReading, "{stall}");
    assert_eq!(stall.waited, Duration::from_secs(2), "paused time: exactly the window");
    assert!(outcome.audio_sent < audio.duration(), "the buffers filled first: {outcome:?}");
    assert_eq!(stall.audio_sent, outcome.audio_sent);
    assert_eq!(outcome.exit_code(), exit::STALLED);
    assert_eq!(recorder.chunks_sent(), outcome.chunks_sent, "what was written is recorded");
}

/// A real-time run of `seconds` of audio with a 100 ms queue under `policy`, to a server
/// that takes one message every `every` and never answers.
async fn to_a_slow_reader(
    policy: QueuePolicy,
    every: Duration,
    seconds: u64,
) -> (Outcome, Recorder) {
    let (session, server) = pipe(1024).await;
    let reader = tokio::spawn(slow_reader(server, every));
    let config =
        StreamConfig::default().pacing(Pacing::RealTime).queue(ms(100), policy).stall_window(None);
    let mut recorder = Recorder::new();
    let outcome = run(session, &audio(seconds), &config, &mut recorder).await;
    if outcome.ending.is_completed() {
        reader.await.expect("the reader saw the close");
    }
    (outcome, recorder)
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_chunks_under_the_drop_policy_and_counts_them() {
    let (outcome, recorder) = to_a_slow_reader(QueuePolicy::Drop, ms(100), 2).await;
    assert_eq!(outcome.ending, Ending::Completed, "{outcome}");
    assert!(outcome.chunks_dropped > 50, "a reader at 10/s cannot take 50/s: {outcome:?}");
    assert_eq!(outcome.chunks_sent + outcome.chunks_dropped, outcome.chunks_total);
    assert_eq!(recorder.chunks_dropped(), outcome.chunks_dropped);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_ends_the_run_under_the_fail_policy() {
    let (outcome, _) = to_a_slow_reader(QueuePolicy::Fail, ms(100), 2).await;
    assert_eq!(outcome.ending, Ending::FellBehind { queued: ms(100) }, "{outcome}");
    assert_eq!(outcome.exit_code(), exit::FELL_BEHIND);
    assert!(outcome.to_string().contains("could not keep real time"), "{outcome}");
}

/// Under the wait policy nothing is lost; the chunks the full queue held back are late
/// by the queue's doing, not the pacer's: wake lateness stays zero (paused time) and the
/// queue stage carries the wait.
#[tokio::test(start_paused = true)]
async fn a_full_queue_holds_the_pacer_under_the_wait_policy_and_the_wait_is_queueing() {
    let (outcome, recorder) = to_a_slow_reader(QueuePolicy::Wait, ms(40), 1).await;
    assert_eq!(outcome.ending, Ending::Completed, "{outcome}");
    assert_eq!((outcome.chunks_sent, outcome.chunks_dropped), (50, 0));
    let stages = recorder.stages();
    assert!(stages.wake_lateness.max <= Duration::from_nanos(1), "{stages:?}");
    assert!(stages.queue.max > ms(500), "50 chunks at half speed wait long: {stages:?}");
    assert!(outcome.wall >= ms(1_900), "it took the reader's time: {outcome:?}");
}

#[test]
fn a_run_is_one_send_future() {
    fn assert_send<T: Send>(_: &T) {}
    let audio = audio(1);
    let mut recorder = Recorder::new();
    let driver = Driver::new("ws://127.0.0.1:9", Arc::new(Echo), StreamConfig::default());
    let run = driver.run(&audio, &mut recorder);
    assert_send(&run);
}
