//! Whole streaming runs on the driver, over loopback: real-time pacing without drift
//! (one chunk made late), every ending with its figures (a server close, an audio-time
//! fault, a drop, a stall, a stop, an abort), pauses against an idle timeout, and the
//! routing the CLI uses.
//!
//! Paced runs use paused time, so seconds of audio take no real time; every await that
//! could hang is bounded by [`step`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sttbench::pipeline::{Peer, Request};
use sttbench::provider::error::kind_of;
use sttbench::provider::{ApiKey, Credential, Dialect, Echo, Hosted, ProviderErrorKind};
use sttbench::server::ServerHandle;
use sttbench::server::echo::{self, EchoConfig};
use sttbench::server::mock::{self, Fault, MockConfig, Trigger};
use sttbench::session::SessionConfig;
use sttbench::signal::Signal;
use sttbench::stream::{
    Audio, ChunkTimes, Control, Driver, Ending, Observer, Outcome, Pacer, Pacing, Pause, Phase,
    Recorder, Source, Stall, StallKind, StreamConfig, exit,
};
use tokio::time::Instant;

const STEP: Duration = Duration::from_secs(30);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A mock on 127.0.0.1:0. (`mock::start` replaces this once the servers share one
/// accept loop.)
async fn start_mock(config: MockConfig) -> ServerHandle {
    mock::start(config).await.expect("start the mock on 127.0.0.1:0")
}

fn deepgram() -> Arc<dyn Dialect> {
    Hosted::Deepgram.dialect(Some(Credential::Key(ApiKey::new("k"))))
}

fn sine(seconds: u64, chunk: Duration) -> Audio {
    Audio::resolve(&Source::Signal(Signal::Sine), Some(Duration::from_secs(seconds)), chunk)
        .expect("a sine")
}

fn speech() -> Audio {
    Audio::resolve(&Source::default(), None, ms(100)).expect("the fixture")
}

/// Everything the driver told its observer, in order.
#[derive(Default)]
struct Log {
    chunks: Vec<ChunkTimes>,
    stalls: Vec<Stall>,
    /// Stalls seen before the run ended: reported at the time, not after.
    stalls_before_end: usize,
    ended: Option<Outcome>,
    /// Asks this control to stop (or abort) once `at` chunks are written.
    stop_at: Option<(u64, Control, bool)>,
}

impl Observer for Log {
    fn chunk(&mut self, chunk: &ChunkTimes) {
        self.chunks.push(*chunk);
        if let Some((at, control, abort)) = &self.stop_at
            && self.chunks.len() as u64 == *at
        {
            if *abort { control.abort() } else { control.stop() }
        }
    }
    fn stalled(&mut self, stall: &Stall) {
        self.stalls.push(*stall);
        if self.ended.is_none() {
            self.stalls_before_end += 1;
        }
    }
    fn ended(&mut self, outcome: &Outcome) {
        self.ended = Some(outcome.clone());
    }
}

/// The default pacer, but one wait (the `late`-th, from 0) wakes `by` after its deadline.
struct LateOnce {
    calls: u64,
    late: u64,
    by: Duration,
}

impl Pacer for LateOnce {
    async fn wait_until(&mut self, deadline: Instant) -> Instant {
        let deadline = if self.calls == self.late { deadline + self.by } else { deadline };
        self.calls += 1;
        tokio::time::sleep_until(deadline).await;
        Instant::now()
    }
}

/// One chunk wakes 50 ms late. Due times stay on the audio clock, and the next chunk
/// goes out at its own due time, not 20 ms after the late one: a scheduler that slept
/// after each send (or computed each deadline from the previous wake) fails here.
#[tokio::test(start_paused = true)]
async fn one_late_chunk_does_not_push_the_next_one_back() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let config = StreamConfig::default().pacing(Pacing::RealTime);
    let audio = sine(1, ms(20));
    let mut log = Log::default();
    let driver = Driver::new(server.ws_url(), Arc::new(Echo), config);
    let driver = driver.pacer(LateOnce { calls: 0, late: 10, by: ms(50) });
    let outcome = step("paced run", driver.run(&audio, &mut log)).await.unwrap();
    assert_eq!(outcome.ending, Ending::Completed, "{outcome}");

    let start = log.chunks[0].due;
    let late_wake = start + ms(200) + ms(50);
    for chunk in &log.chunks {
        let k = u32::try_from(chunk.seq).unwrap();
        assert_eq!(chunk.due, start + ms(20) * k, "chunk {k} is due on the audio clock");
        // Chunks due while the late one slept go out right behind it; from chunk 13 on,
        // each wakes at its own deadline again.
        let expected = if k >= 10 { chunk.due.max(late_wake) } else { chunk.due };
        assert_eq!(chunk.woke, expected, "chunk {k}");
    }
    let lateness: Vec<Duration> = log.chunks[9..14].iter().map(|c| c.wake_lateness()).collect();
    assert_eq!(lateness, [ms(0), ms(50), ms(30), ms(10), ms(0)]);
    assert_eq!(log.chunks.len(), 50);
    assert!(outcome.sending < ms(1_000), "no drift accumulated: {:?}", outcome.sending);
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_realtime_echo_run_loses_nothing_and_records_every_stage() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let config = StreamConfig::default().pacing(Pacing::RealTime);
    let audio = sine(2, ms(20));
    let mut watchers = (Recorder::new(), Log::default());
    let driver = Driver::new(server.ws_url(), Arc::new(Echo), config);
    let outcome = step("paced run", driver.run(&audio, &mut watchers)).await.unwrap();
    let (recorder, log) = watchers;
    assert_eq!(outcome.ending, Ending::Completed, "{outcome}");
    assert_eq!((outcome.chunks_total, outcome.chunks_sent, outcome.bytes_sent), (100, 100, 64_000));
    assert_eq!((recorder.chunks_sent(), recorder.chunks_echoed()), (100, 100));
    assert_eq!(recorder.round_trip().len(), 100);
    assert_eq!(outcome.audio_sent, Duration::from_secs(2));
    assert_eq!(outcome.server_close, Some((1000, String::new())));
    assert!(outcome.sending >= ms(1_980) && outcome.sending < ms(2_000), "{outcome:?}");
    let stages = recorder.stages();
    assert_eq!(stages.wake_lateness.count, 100);
    assert!(stages.wake_lateness.max <= Duration::from_nanos(1), "paused time wakes exactly");
    assert_eq!(log.ended.as_ref(), Some(&outcome), "the observer saw the end");
    server.shutdown().await;
}

#[tokio::test]
async fn an_unpaced_run_of_a_wav_file_sends_all_of_it() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let wav =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/speech-16bit-16000Hz-mono.wav");
    let audio = Audio::resolve(&Source::Wav(wav), None, ms(100)).unwrap();
    let mut recorder = Recorder::new();
    let driver = Driver::new(server.ws_url(), Arc::new(Echo), StreamConfig::default());
    let outcome = step("unpaced run", driver.run(&audio, &mut recorder)).await.unwrap();
    assert_eq!(outcome.ending, Ending::Completed, "{outcome}");
    assert!(audio.duration() > Duration::from_secs(5), "the fixture is 5.4 s");
    assert_eq!(outcome.chunks_sent, audio.chunks());
    assert_eq!(recorder.chunks_echoed(), audio.chunks(), "every chunk came back");
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_closing_mid_stream_ends_the_run_with_its_code_and_the_figures() {
    // 20 ms chunks are 640 bytes: over this server's limit.
    let server = echo::start(EchoConfig::default().max_message_size(600)).await.unwrap();
    let driver = Driver::new(server.ws_url(), Arc::new(Echo), StreamConfig::default());
    let outcome =
        step("run", driver.run(&sine(1, ms(20)), &mut Recorder::new())).await.expect("it started");
    let Ending::ServerClosed { code: 1009, reason, error: None } = &outcome.ending else {
        panic!("expected the server's 1009, got {outcome}")
    };
    assert!(reason.contains("640"), "the reason names the size: {reason}");
    assert_eq!(outcome.exit_code(), exit::SERVER_CLOSED);
    assert!(matches!(outcome.clone().into_result(), Err(sttbench::Error::Ended(_))));
    server.shutdown().await;
}

/// A close after 2 s of audio (64,000 bytes) fires against an unpaced stream, which is
/// over in milliseconds: the run reports the provider's typed error and what it sent.
#[tokio::test]
async fn an_audio_time_fault_fires_against_an_unpaced_stream() {
    let fault = Fault::Close { after: Trigger::Bytes(64_000), code: 1011, reason: String::new() };
    let server = start_mock(MockConfig::new(Hosted::Deepgram).fault(Some(fault))).await;
    let mut recorder = Recorder::new();
    let driver = Driver::new(server.ws_url(), deepgram(), StreamConfig::default());
    let outcome = step("run", driver.run(&speech(), &mut recorder)).await.unwrap();
    let Ending::ServerClosed { code: 1011, error: Some(error), .. } = &outcome.ending else {
        panic!("expected deepgram's 1011, got {outcome}")
    };
    // The mock's 1011 carries Deepgram's NET-0000 text.
    assert_eq!(error.kind, ProviderErrorKind::ResponseTimeout);
    assert!(outcome.audio_sent >= Duration::from_secs(2), "{outcome:?}");
    assert_eq!(recorder.chunks_sent(), outcome.chunks_sent, "the figures are kept");
    let error = outcome.into_result().unwrap_err();
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::ResponseTimeout));
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_drop_names_the_provider_the_phase_and_the_audio_position() {
    let server = start_mock(
        MockConfig::new(Hosted::Deepgram).fault(Some(Fault::Drop(Trigger::Bytes(64_000)))),
    )
    .await;
    let config = StreamConfig::default().pacing(Pacing::RealTime);
    let driver = Driver::new(server.ws_url(), deepgram(), config);
    let outcome = step("run", driver.run(&speech(), &mut Recorder::new())).await.unwrap();
    assert!(matches!(outcome.ending, Ending::Dropped { .. }), "{outcome}");
    assert_eq!((outcome.phase, outcome.exit_code()), (Phase::Streaming, exit::DROPPED));
    assert!(outcome.audio_sent >= Duration::from_secs(2) && outcome.audio_sent < ms(2_500));
    let text = outcome.to_string();
    for part in ["deepgram", "dropped without a close frame", "while streaming", "2.0"] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
    server.shutdown().await;
}

/// The mock stops reading and answering after 1 s of audio. The run ends as a stall one
/// window after the server last spoke, reported to the observer as it is found, with
/// where the server stopped: not as a close timeout after the whole stream.
#[tokio::test(start_paused = true)]
async fn a_stall_is_reported_at_the_time_with_where_the_server_stopped() {
    let fault = Fault::Stall(Trigger::Bytes(32_000));
    let server = start_mock(MockConfig::new(Hosted::Deepgram).fault(Some(fault))).await;
    let config =
        StreamConfig::default().pacing(Pacing::RealTime).stall_window(Some(Duration::from_secs(2)));
    let mut log = Log::default();
    let driver = Driver::new(server.ws_url(), deepgram(), config);
    let started = Instant::now();
    let outcome = step("run", driver.run(&speech(), &mut log)).await.unwrap();
    let Ending::Stalled(stall) = outcome.ending else { panic!("expected a stall, got {outcome}") };
    assert_eq!((stall.kind, stall.phase), (StallKind::NotAnswering, Phase::Streaming), "{stall}");
    assert!(stall.answered <= Duration::from_secs(1), "answered up to where it stopped: {stall}");
    assert!(stall.waited >= Duration::from_secs(2), "{stall}");
    assert!(started.elapsed() < Duration::from_secs(4), "found within the window: {stall}");
    assert_eq!((log.stalls.as_slice(), log.stalls_before_end), (&[stall][..], 1));
    assert_eq!(outcome.exit_code(), exit::STALLED);
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_closes_gracefully_and_keeps_what_was_measured() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let control = Control::new();
    let config = StreamConfig::default().pacing(Pacing::RealTime);
    let mut log = Log { stop_at: Some((25, control.clone(), false)), ..Log::default() };
    let driver = Driver::new(server.ws_url(), Arc::new(Echo), config).control(&control);
    let outcome = step("run", driver.run(&sine(2, ms(20)), &mut log)).await.unwrap();
    assert_eq!(outcome.ending, Ending::Interrupted { closed: true }, "{outcome}");
    assert_eq!((outcome.chunks_sent, outcome.chunks_total), (25, 100));
    assert_eq!(outcome.exit_code(), exit::INTERRUPTED);

    let mut log = Log { stop_at: Some((10, control.clone(), true)), ..Log::default() };
    let control = Control::new();
    log.stop_at.as_mut().unwrap().1 = control.clone();
    let driver = Driver::new(
        server.ws_url(),
        Arc::new(Echo),
        StreamConfig::default().pacing(Pacing::RealTime),
    );
    let outcome =
        step("run", driver.control(&control).run(&sine(2, ms(20)), &mut log)).await.unwrap();
    assert_eq!(outcome.ending, Ending::Interrupted { closed: false }, "an abort waits for nothing");
    assert_eq!(outcome.chunks_sent, 10);

    // Stopped before the session opened: an outcome all the same, with nothing sent.
    let driver = Driver::new(server.ws_url(), Arc::new(Echo), StreamConfig::default());
    let outcome =
        driver.control(&control).run(&sine(1, ms(20)), &mut Recorder::new()).await.unwrap();
    assert_eq!((outcome.phase, outcome.chunks_sent), (Phase::Connecting, 0));
    server.shutdown().await;
}

/// A 3 s pause after 1 s of audio against a mock that closes after 2 s without input:
/// keep-alives every second hold it open; without them, the mock's idle close ends the
/// run during the pause, typed.
#[tokio::test(start_paused = true)]
async fn pauses_let_keep_alive_and_idle_behaviour_be_tested() {
    let config =
        MockConfig::new(Hosted::Deepgram).fault(Some(Fault::IdleTimeout(Duration::from_secs(2))));
    let server = start_mock(config).await;
    let pause = Pause { at: Duration::from_secs(1), length: Duration::from_secs(3) };
    let stream = |keep_alive| {
        StreamConfig::default()
            .pacing(Pacing::RealTime)
            .pauses(vec![pause])
            .session(SessionConfig::default().keep_alive(keep_alive))
    };
    let mut log = Log::default();
    let driver = Driver::new(server.ws_url(), deepgram(), stream(Some(Duration::from_secs(1))));
    let outcome = step("kept alive", driver.run(&speech(), &mut log)).await.unwrap();
    assert_eq!(outcome.ending, Ending::Completed, "{outcome}");
    let gap = log.chunks[10].due - log.chunks[9].due;
    assert_eq!(gap, ms(100) + Duration::from_secs(3), "the chunk at 1 s waited out the pause");

    let driver = Driver::new(server.ws_url(), deepgram(), stream(None));
    let outcome = step("left idle", driver.run(&speech(), &mut Recorder::new())).await.unwrap();
    let Ending::ServerClosed { error: Some(error), .. } = &outcome.ending else {
        panic!("expected the idle close, got {outcome}")
    };
    assert_eq!((error.kind, outcome.phase), (ProviderErrorKind::IdleTimeout, Phase::Paused));
    assert_eq!(outcome.audio_sent, Duration::from_secs(1));
    server.shutdown().await;
}

#[tokio::test]
async fn failures_before_the_session_opens_are_errors() {
    let driver = Driver::new("http://localhost", Arc::new(Echo), StreamConfig::default());
    match driver.run(&sine(1, ms(20)), &mut ()).await {
        Err(e @ sttbench::Error::InvalidUrl(_)) => assert!(e.to_string().contains("ws://"), "{e}"),
        other => panic!("expected a URL error, got {other:?}"),
    }
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let session = SessionConfig::default().reconnect(Default::default());
    let config = StreamConfig::default().session(session);
    let driver = Driver::new(format!("ws://{addr}"), Arc::new(Echo), config);
    let error = step("refused", driver.run(&sine(1, ms(20)), &mut ())).await.unwrap_err();
    assert!(matches!(error, sttbench::Error::Connect(_)), "{error}");
}

/// The CLI's routing, run as a library: a local peer per run, a summary per peer.
#[tokio::test]
async fn a_plan_runs_each_peer_on_a_local_mock_and_summarises_it() {
    let plan = Request::new(vec![Peer::Echo]).mock(true).plan().unwrap();
    let results = step("echo plan", plan.run(&Control::new(), |_| ())).await;
    let [Ok(echo)] = results.as_slice() else { panic!("{results:?}") };
    assert_eq!((echo.provider, echo.ended, echo.exit_code), ("echo", "completed", 0));
    assert_eq!(echo.chunk, ms(20), "echo's default chunk");
    let json: serde_json::Value = serde_json::from_str(&echo.to_json()).unwrap();
    assert_eq!(json["chunks_lost"], 0);
    assert!(json["stages"]["wake_lateness"]["p99_ns"].is_u64(), "{json}");

    let providers = vec![Peer::Provider(Hosted::Deepgram), Peer::Provider(Hosted::AssemblyAi)];
    let plan = Request::new(providers).mock(true).plan().unwrap();
    let results = step("provider plan", plan.run(&Control::new(), |_| ())).await;
    for summary in results.iter().map(|r| r.as_ref().expect("started")) {
        assert_eq!((summary.ended, summary.chunk), ("completed", ms(100)), "{summary}");
        let figures = summary.pipeline.as_ref().expect("transcript figures");
        assert_eq!(figures.final_latency_ns.len(), 2, "{summary}");
        assert!(summary.echo.is_none(), "no echo rows for a provider");
        let text = summary.to_string();
        assert!(!text.contains("chunks echoed") && !text.contains("round trip"), "{text}");
    }
}
