use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::provider::Echo;
use crate::server::echo::{self, EchoConfig};

fn usage(result: crate::Result<LoadReport>) -> String {
    match result {
        Err(e @ Error::Usage(_)) => e.to_string(),
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_requests_are_usage_errors_that_say_what_to_do() {
    let control = Control::new();
    let url = "ws://127.0.0.1:9";
    let second = Duration::from_secs(1);
    let message = usage(run(url, Arc::new(Echo), &LoadConfig::new(0, second), &control).await);
    assert!(message.contains("at least 1 stream"), "{message}");
    let message =
        usage(run(url, Arc::new(Echo), &LoadConfig::new(1, Duration::ZERO), &control).await);
    assert!(message.contains("--duration"), "{message}");
    let message =
        usage(run("http://x", Arc::new(Echo), &LoadConfig::new(1, second), &control).await);
    assert!(message.contains("ws://HOST:PORT"), "{message}");
}

#[tokio::test]
async fn an_unreachable_server_is_the_first_streams_error() {
    // A port bound and closed: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}");
    let config = LoadConfig::new(2, Duration::from_millis(100)).ramp_up(Duration::ZERO);
    let error = run(&url, Arc::new(Echo), &config, &Control::new()).await.unwrap_err();
    assert!(!error.is_usage(), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_is_counted_and_every_chunk_recorded() {
    let server = echo::start(EchoConfig::default()).await.unwrap();
    let config = LoadConfig::new(4, Duration::from_millis(200)).ramp_up(Duration::from_millis(40));
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        run(&server.ws_url(), Arc::new(Echo), &config, &Control::new()),
    )
    .await
    .expect("the load run hung")
    .unwrap();
    server.shutdown().await;
    assert_eq!((report.streams, report.streams_started, report.streams_completed), (4, 4, 4));
    // 200 ms of 20 ms chunks, four times.
    assert_eq!(report.chunks_sent, 4 * 10);
    assert_eq!(report.lateness.count, 40);
    assert_eq!(report.round_trip.unwrap().count, 40, "every chunk echoed");
    assert_eq!(report.endings.get("completed"), Some(&4));
    assert_eq!(report.realtime_held, report.streams_realtime == 4);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["streams"], 4);
    assert!(json["realtime_held"].is_boolean());
    assert_eq!(json["lateness_p99_ns"], report.lateness_p99_ns);
}
