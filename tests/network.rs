//! `sttbench stream` over a named link, as a user runs it: `--profile` puts the proxy in
//! front of the mock, `--json` says where the time went stage by stage, `--plot` draws it.
//! The binary runs as a child, every wait on it bounded by [`STEP`].

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::Scratch;

const STEP: Duration = Duration::from_secs(60);

/// Runs `sttbench <args>` to its end; panics naming `args` if it takes over [`STEP`].
fn sttbench(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let (done, wait) = std::sync::mpsc::channel();
    let id = child.id();
    let watch = std::thread::spawn(move || {
        if wait.recv_timeout(STEP).is_err() {
            // Only this child, by its id.
            let _ = Command::new("kill").arg(id.to_string()).status();
        }
    });
    let output = child.wait_with_output().expect("the child finished");
    let _ = done.send(());
    watch.join().unwrap();
    assert!(output.status.code().is_some(), "sttbench {}: hung for {STEP:?}", args.join(" "));
    output
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_profile_run_attributes_its_latency_and_plots_it() {
    let scratch = Scratch::new("network-profile");
    let plot = scratch.path("run.svg");
    let plot_arg = plot.to_str().unwrap();
    let args = [
        "stream",
        "--provider",
        "deepgram",
        "--mock",
        "--realtime",
        "--profile",
        "4g-fast",
        "--duration",
        "1500ms",
        "--json",
        "--plot",
        plot_arg,
    ];
    let out = sttbench(&args);
    assert!(out.status.success(), "{}", lossy(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", lossy(&out.stdout)));
    let stages = &value["stages"];
    for stage in ["wake_lateness", "client_added", "uplink", "server", "downlink"] {
        for field in ["p50_ns", "p99_ns", "max_ns"] {
            assert!(stages[stage][field].is_u64(), "stages.{stage}.{field} in {value}");
        }
    }
    // 4G Fast: 20 ms each way; the mock waits Deepgram's published 247 ms.
    assert!(stages["uplink"]["p50_ns"].as_u64().unwrap() >= 20_000_000, "{value}");
    assert!(stages["server"]["p50_ns"].as_u64().unwrap() >= 247_000_000, "{value}");
    assert!(value["final_lag"]["p99_ns"].is_u64(), "{value}");
    assert_eq!(value["behind_real_time"]["seen_at"], "server", "{value}");
    assert_eq!(value["behind_real_time"]["uplink_too_slow"], false, "{value}");
    let svg = std::fs::read_to_string(&plot).expect("the plot was written");
    assert!(svg.starts_with("<svg") && svg.contains("latency per stage"), "{svg}");
}

#[test]
fn an_unknown_profile_is_a_usage_error_that_lists_the_names() {
    let out = sttbench(&["stream", "--provider", "deepgram", "--mock", "--profile", "5g"]);
    assert_eq!(out.status.code(), Some(2), "{}", lossy(&out.stderr));
    let stderr = lossy(&out.stderr);
    assert!(stderr.contains("unknown profile `5g`") && stderr.contains("3g-slow"), "{stderr}");
}
