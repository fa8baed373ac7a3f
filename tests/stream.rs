//! Whole streaming runs, as `sttbench stream` does them: real-time pacing without drift,
//! every chunk accounted for, and clear errors for bad input.
//!
//! Paced runs use paused time, so 2 s of audio take no real time; every await that
//! could hang is bounded by [`step`].

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::ProgressBar;
use sttbench::Error;
use sttbench::server::echo::{self, EchoConfig};
use sttbench::session::run::{Source, StreamOptions, stream};
use sttbench::signal::Signal;

const STEP: Duration = Duration::from_secs(10);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

#[tokio::test]
async fn a_realtime_run_keeps_to_the_audio_clock_and_loses_nothing() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let options = StreamOptions::new(server.ws_url())
        .source(Source::Signal(Signal::Sine))
        .duration(Some(Duration::from_secs(2)))
        .realtime(true);
    let progress = ProgressBar::hidden();
    tokio::time::pause();
    let summary = step("paced run", stream(&options, &progress)).await.expect("the run succeeds");
    tokio::time::resume();

    assert_eq!(summary.chunks_total, 100, "2 s in 20 ms chunks");
    assert_eq!(progress.position(), 100, "one progress tick per chunk");
    let r = &summary.report;
    assert_eq!((r.chunks_sent, r.chunks_echoed, r.chunks_lost), (100, 100, 0));
    assert_eq!(r.bytes_sent, 100 * 640);
    assert_eq!(summary.audio, Duration::from_secs(2));
    // Chunk 99 is due at 1.98 s; absolute deadlines mean no drift accumulates on top.
    assert!(summary.wall >= Duration::from_millis(1_980), "{:?}", summary.wall);
    assert!(summary.wall < Duration::from_millis(2_100), "drifted: {:?}", summary.wall);
    assert_eq!(summary.server_close.as_ref().map(|(code, _)| *code), Some(1000));
    let text = summary.to_string();
    assert!(text.contains("real time") && text.contains("chunks lost    0"), "{text}");
}

#[tokio::test]
async fn an_unpaced_run_of_the_speech_fixture_sends_the_whole_file() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let wav =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/speech-16bit-16000Hz-mono.wav");
    let options = StreamOptions::new(server.ws_url())
        .source(Source::Wav(wav))
        .chunk(Duration::from_millis(100));
    let summary = step("unpaced run", stream(&options, &ProgressBar::hidden())).await.unwrap();
    let r = &summary.report;
    assert!(summary.audio > Duration::from_secs(5), "the fixture is 5.4 s: {:?}", summary.audio);
    assert_eq!(r.chunks_sent, summary.chunks_total);
    assert_eq!((r.chunks_echoed, r.chunks_lost), (r.chunks_sent, 0));
    assert_eq!(r.round_trip.count, r.chunks_sent);
    let json: serde_json::Value = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["report"]["chunks_sent"], r.chunks_sent);
}

#[tokio::test]
async fn a_server_closing_mid_stream_is_reported_with_its_code_and_reason() {
    // 20 ms chunks are 640 bytes: over this server's limit.
    let server = echo::start(EchoConfig::default().max_message_size(600)).await.unwrap();
    let options = StreamOptions::new(server.ws_url()).duration(Some(Duration::from_secs(1)));
    match step("run", stream(&options, &ProgressBar::hidden())).await {
        Err(e @ Error::ServerClosed { code: 1009, .. }) => {
            assert!(e.to_string().contains("640"), "the reason names the size: {e}");
        }
        other => panic!("expected the server's 1009, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_input_gives_errors_that_say_what_to_fix() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let url = server.ws_url();
    let missing = StreamOptions::new(&url).source(Source::Wav("no/such/file.wav".into()));
    match stream(&missing, &ProgressBar::hidden()).await {
        Err(e @ Error::Wav(_)) => assert!(e.to_string().contains("no/such/file.wav"), "{e}"),
        other => panic!("expected a WAV error, got {other:?}"),
    }
    let fractional = StreamOptions::new(&url).chunk(Duration::from_micros(10));
    match stream(&fractional, &ProgressBar::hidden()).await {
        Err(e @ Error::Format(_)) => assert!(e.to_string().contains("whole number"), "{e}"),
        other => panic!("expected a format error, got {other:?}"),
    }
    let huge_chunks = StreamOptions::new(&url).chunk(Duration::from_secs(3_600));
    match stream(&huge_chunks, &ProgressBar::hidden()).await {
        Err(e @ Error::Setting(_)) => assert!(e.to_string().contains("chunks are longer"), "{e}"),
        other => panic!("expected a setting error, got {other:?}"),
    }
    let endless = StreamOptions::new(&url).duration(Some(Duration::from_secs(86_400)));
    match stream(&endless, &ProgressBar::hidden()).await {
        Err(e @ Error::Setting(_)) => assert!(e.to_string().contains("stream a WAV file"), "{e}"),
        other => panic!("expected a setting error, got {other:?}"),
    }
    match stream(&StreamOptions::new("http://localhost"), &ProgressBar::hidden()).await {
        Err(e @ Error::InvalidUrl(_)) => assert!(e.to_string().contains("ws://"), "{e}"),
        other => panic!("expected a URL error, got {other:?}"),
    }
}
