//! `sttbench load` as a user runs it: several load processes against one echo socket,
//! each writing an HdrHistogram interval log, and `sttbench merge` of the logs equals
//! what the processes recorded, added up; the contract's JSON fields; clear errors for
//! requests that cannot run.

mod common;
mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use common::Scratch;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use process::{Running, sttbench, within};
use sttbench::server::echo::{self, EchoConfig};

const PROCESSES: usize = 3;
const STREAMS: u64 = 2;

/// An echo socket on a runtime of its own, for the test's processes to stream to.
fn echo_server() -> (tokio::runtime::Runtime, sttbench::server::ServerHandle) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(echo::start(EchoConfig::default())).unwrap();
    (runtime, server)
}

/// Every interval tagged `tag` in the log at `path`, added up by the `hdrhistogram`
/// crate's own reader: an independent sum to hold `sttbench merge` to.
fn read_log(path: &Path, tag: &str) -> Histogram<u64> {
    let bytes = std::fs::read(path).unwrap();
    let mut sum: Option<Histogram<u64>> = None;
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let LogEntry::Interval(interval) = entry.unwrap() else { continue };
        if interval.tag().map(|t| t.as_str()) != Some(tag) {
            continue;
        }
        let encoded =
            base64::engine::general_purpose::STANDARD.decode(interval.encoded_histogram()).unwrap();
        let h: Histogram<u64> = deserializer.deserialize(&mut encoded.as_slice()).unwrap();
        match &mut sum {
            Some(sum) => sum.add(&h).unwrap(),
            None => sum = Some(h),
        }
    }
    sum.unwrap_or_else(|| panic!("{} holds no {tag} interval", path.display()))
}

#[test]
fn several_load_processes_merge_into_what_they_recorded_together() {
    let (runtime, server) = echo_server();
    let url = server.ws_url();
    let scratch = Scratch::new("load-merge");
    let logs: Vec<PathBuf> =
        (0..PROCESSES).map(|i| scratch.path(&format!("load-{i}.hdr"))).collect();
    // All at once, as on several machines.
    let children: Vec<Running> = logs
        .iter()
        .map(|log| {
            let child = Command::new(env!("CARGO_BIN_EXE_sttbench"))
                .args(["load", "--url", &url, "--streams", &STREAMS.to_string()])
                .args(["--duration", "1s", "--ramp-up", "100ms", "--json", "--hdr-log"])
                .arg(log)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the binary runs");
            Running(Some(child))
        })
        .collect();
    let mut reports = Vec::new();
    for mut running in children {
        let child = running.0.take().unwrap();
        let out = within("a load process", move || child.wait_with_output().unwrap());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        reports.push(json);
    }

    let mut everything: Option<Histogram<u64>> = None;
    for (json, log) in reports.iter().zip(&logs) {
        assert_eq!(json["streams"], STREAMS);
        assert!(json["realtime_held"].is_boolean(), "{json}");
        assert!(json["lateness_p99_ns"].is_u64(), "{json}");
        // 1 s of 20 ms chunks per stream, every one recorded and logged.
        assert_eq!(json["chunks_sent"], STREAMS * 50, "{json}");
        assert_eq!(json["lateness"]["count"], STREAMS * 50, "{json}");
        let own = read_log(log, "lateness");
        assert_eq!(own.len(), STREAMS * 50, "the log holds every chunk the process sent");
        assert_eq!(json["lateness_p99_ns"], own.value_at_quantile(0.99), "log and report agree");
        assert_eq!(json["lateness"]["max_ns"], own.max());
        match &mut everything {
            Some(sum) => sum.add(&own).unwrap(),
            None => everything = Some(own),
        }
    }
    let everything = everything.unwrap();

    let paths: Vec<String> = logs.iter().map(|p| p.to_str().unwrap().to_owned()).collect();
    let out = within("sttbench merge", move || {
        let args: Vec<&str> =
            ["merge", "--json"].into_iter().chain(paths.iter().map(String::as_str)).collect();
        sttbench(&args)
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let merged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total: u64 = reports.iter().map(|r| r["lateness"]["count"].as_u64().unwrap()).sum();
    assert_eq!(merged["count"], total, "merged count == sum of the processes' counts");
    assert_eq!(merged["count"], everything.len());
    assert_eq!(merged["p50_ns"], everything.value_at_quantile(0.50));
    assert_eq!(merged["p99_ns"], everything.value_at_quantile(0.99));
    assert_eq!(merged["max_ns"], everything.max());
    let worst = reports.iter().map(|r| r["lateness"]["max_ns"].as_u64().unwrap()).max();
    assert_eq!(merged["max_ns"].as_u64(), worst, "the merged max is the worst process's");

    runtime.block_on(server.shutdown());
}

#[test]
fn requests_that_cannot_run_are_clear_errors() {
    let (_runtime, server) = echo_server();
    let url = server.ws_url();
    let closed = {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        format!("ws://{port}")
    };
    for (args, status, says) in [
        (vec!["--url", &url, "--streams", "0", "--duration", "1s"], 2, "at least 1 stream"),
        (vec!["--url", &url, "--streams", "1", "--duration", "0s"], 2, "--duration"),
        (vec!["--url", "localhost:9000", "--streams", "1", "--duration", "1s"], 2, "ws://"),
        (vec!["--url", &closed, "--streams", "1", "--duration", "1s"], 1, "connect"),
        (vec!["--url", &url, "--streams", "1", "--profile", "56k"], 2, "unknown profile"),
    ] {
        let args: Vec<String> = ["load"]
            .iter()
            .map(|s| s.to_string())
            .chain(args.iter().map(|s| s.to_string()))
            .collect();
        let out = within("sttbench load", move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            sttbench(&args)
        });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{stderr}");
        assert!(stderr.contains(says), "{says:?} missing from {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn stream_writes_the_same_log_and_merge_reads_it() {
    let scratch = Scratch::new("stream-log");
    let log = scratch.path("stream.hdr");
    let log_arg = log.to_str().unwrap().to_owned();
    let out = within("sttbench stream", move || {
        sttbench(&[
            "stream",
            "--mock",
            "--realtime",
            "--signal",
            "noise",
            "--duration",
            "1500ms",
            "--json",
            "--hdr-log",
            &log_arg,
        ])
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent = json["chunks_sent"].as_u64().unwrap();
    assert_eq!(sent, 75, "1.5 s of 20 ms chunks: {json}");
    for tag in ["lateness", "send_latency", "round_trip"] {
        assert_eq!(read_log(&log, tag).len(), sent, "{tag}: every chunk logged");
    }
    let lateness = read_log(&log, "lateness");
    assert_eq!(json["stages"]["wake_lateness"]["p99_ns"], lateness.value_at_quantile(0.99));
}

#[test]
fn ctrl_c_prints_the_figures_so_far() {
    let (runtime, server) = echo_server();
    let scratch = Scratch::new("load-interrupt");
    let log = scratch.path("running.hdr");
    let child = Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(["load", "--url", &server.ws_url(), "--streams", "3", "--duration", "60s"])
        .args(["--ramp-up", "0s", "--json", "--hdr-log"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut running = Running(Some(child));
    // Streaming once the first interval (one second) is in the log.
    let log_in_test = log.clone();
    within("the first interval of the log", move || {
        let has_interval = |text: String| text.lines().any(|l| l.starts_with("Tag=lateness"));
        while !std::fs::read_to_string(&log_in_test).is_ok_and(has_interval) {
            // Polling a condition, bounded by `within`; not a sleep standing for one.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let child = running.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let out = within("the interrupted load to exit", move || child.wait_with_output().unwrap());
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["interrupted"], true);
    assert_eq!(json["streams_started"], 3);
    assert_eq!(json["endings"]["interrupted"], 3, "{json}");
    let sent = json["chunks_sent"].as_u64().unwrap();
    assert!(sent > 0 && sent < 3 * 3_000, "some, not all, of the audio: {sent}");
    assert_eq!(read_log(&log, "lateness").len(), sent, "the log holds every chunk sent");
    runtime.block_on(server.shutdown());
}
