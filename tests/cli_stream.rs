//! `sttbench stream` against the mock providers, as a user runs it: JSON for one
//! provider (one object with top-level fields) and for several (an array), `--ca-cert`
//! for a `wss://` mock, and a stall and a drop each printed with the figures, how the run
//! ended, and the matching exit status.
//!
//! The mocks run in this process; the binary runs as a child, every wait on it bounded
//! by [`STEP`].

use std::process::{Command, Output};
use std::time::Duration;

use sttbench::provider::Hosted;
use sttbench::server::ServerHandle;
use sttbench::server::mock::tls::SelfSigned;
use sttbench::server::mock::{self, Fault, MockConfig, Trigger};

const STEP: Duration = Duration::from_secs(60);

/// Runs `sttbench <args>` to its end; panics naming `args` if it takes over [`STEP`].
async fn sttbench(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let what = args.join(" ");
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sttbench")).args(&args).output().expect("the binary runs")
    });
    tokio::time::timeout(STEP, run)
        .await
        .unwrap_or_else(|_| panic!("sttbench {what}: hung for {STEP:?}"))
        .expect("the child finished")
}

/// A mock on 127.0.0.1:0. (`mock::start` replaces this once the servers share one
/// accept loop.)
async fn start_mock(config: MockConfig) -> ServerHandle {
    mock::start(config).await.expect("start the mock on 127.0.0.1:0")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("no JSON ({e}):\n{}\n{}", lossy(&output.stdout), lossy(&output.stderr))
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_runs_print_json_one_object_or_an_array() {
    let one = sttbench(&["stream", "--provider", "deepgram", "--mock", "--json"]).await;
    assert!(one.status.success(), "{}", lossy(&one.stderr));
    let value = json(&one);
    assert_eq!((&value["provider"], &value["ended"]), (&"deepgram".into(), &"completed".into()));
    assert!(value["first_partial_ns"].is_u64(), "{value}");
    assert_eq!(value["final_latency_ns"].as_array().map(Vec::len), Some(2), "{value}");
    assert!(value["finals"][0].as_str().is_some_and(|f| f.contains("quick brown fox")));
    assert!(value["stages"]["wake_lateness"]["p99_ns"].is_u64(), "{value}");
    assert!(value.get("round_trip").is_none(), "no echo figures for a provider: {value}");

    let both = sttbench(&["stream", "--provider", "deepgram,assemblyai", "--mock", "--json"]).await;
    assert!(both.status.success(), "{}", lossy(&both.stderr));
    let runs = json(&both);
    let names: Vec<&str> =
        runs.as_array().expect("an array").iter().filter_map(|r| r["provider"].as_str()).collect();
    assert_eq!(names, ["deepgram", "assemblyai"]);

    let table = sttbench(&["stream", "--provider", "deepgram,assemblyai", "--mock"]).await;
    let text = lossy(&table.stdout);
    assert!(text.starts_with("provider") && text.contains("completed"), "{text}");
}

/// `sttbench mock --tls` writes its certificate; `--ca-cert` makes `stream` trust it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_cert_lets_stream_reach_a_tls_mock() {
    let cert = SelfSigned::generate().expect("certificate");
    let config = MockConfig::new(Hosted::Deepgram).tls(Some(cert.server_config().unwrap()));
    let server = start_mock(config).await;
    let pem = std::env::temp_dir().join(format!("sttbench-ca-cert-{}.pem", std::process::id()));
    std::fs::write(&pem, cert.cert_pem()).unwrap();
    let url = format!("wss://localhost:{}", server.addr().port());
    let pem_arg = pem.to_str().unwrap();

    let trusted =
        sttbench(&["stream", "--provider", "deepgram", "--url", &url, "--ca-cert", pem_arg]).await;
    assert!(trusted.status.success(), "{}", lossy(&trusted.stderr));
    assert!(lossy(&trusted.stdout).contains("the quick brown fox"), "{}", lossy(&trusted.stdout));

    let untrusted = sttbench(&["stream", "--provider", "deepgram", "--url", &url]).await;
    assert_eq!(untrusted.status.code(), Some(1), "the public roots do not know the mock");
    assert!(lossy(&untrusted.stderr).contains("certificate"), "{}", lossy(&untrusted.stderr));

    let garbage = std::env::temp_dir().join(format!("sttbench-not-pem-{}.pem", std::process::id()));
    std::fs::write(&garbage, "not a certificate").unwrap();
    let bad = sttbench(&[
        "stream",
        "--provider",
        "deepgram",
        "--mock",
        "--ca-cert",
        garbage.to_str().unwrap(),
    ])
    .await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(lossy(&bad.stderr).contains("no PEM certificate"), "{}", lossy(&bad.stderr));
    let _ = (std::fs::remove_file(pem), std::fs::remove_file(garbage));
    server.shutdown().await;
}

/// The mock stops after 1 s of audio; the unpaced stream is written long before. The
/// stall is said on stderr when found, and the summary says where the server stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_is_said_when_found_and_ends_with_status_5() {
    let fault = Fault::Stall(Trigger::Bytes(32_000));
    let server = start_mock(MockConfig::new(Hosted::Deepgram).fault(Some(fault))).await;
    let url = server.ws_url();
    let args = ["stream", "--provider", "deepgram", "--url", &url, "--stall-window", "1s"];
    let output = sttbench(&[&args[..], &["--json"]].concat()).await;
    assert_eq!(output.status.code(), Some(5), "{}", lossy(&output.stderr));
    let stderr = lossy(&output.stderr);
    assert!(stderr.contains("stall: the server stopped answering"), "{stderr}");
    let value = json(&output);
    assert_eq!(value["ended"], "stalled", "{value}");
    let stall = &value["ending"]["stall"];
    assert_eq!(stall["kind"], "not_answering", "{value}");
    assert!(stall["answered_ns"].as_u64().is_some_and(|ns| ns <= 1_000_000_000), "{value}");
    assert_eq!(value["chunks_sent"], value["chunks_total"], "everything went into the buffers");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_names_the_provider_and_ends_with_status_4() {
    let fault = Fault::Drop(Trigger::Bytes(64_000));
    let server = start_mock(MockConfig::new(Hosted::AssemblyAi).fault(Some(fault))).await;
    let url = server.ws_url();
    let output = sttbench(&["stream", "--provider", "assemblyai", "--url", &url]).await;
    assert_eq!(output.status.code(), Some(4), "{}", lossy(&output.stderr));
    let text = lossy(&output.stdout);
    for part in [
        "ended          connection dropped (exit 4)",
        "assemblyai: the connection dropped",
        "chunks sent",
    ] {
        assert!(text.contains(part), "{part:?} missing from\n{text}");
    }
    server.shutdown().await;
}
