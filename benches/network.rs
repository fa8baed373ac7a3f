//! What a user waits for over real links: the speech fixture streamed in real time to a
//! Deepgram mock (with Deepgram's published processing delay) through the impairment
//! proxy, one WebPageTest profile at a time.
//!
//! Profiles: a fast one (`4g-fast`, 40 ms RTT), a 4G one with a long RTT (`4g`, 170 ms),
//! 3G (`3g`, 300 ms RTT, 768 kbit/s up) and one whose uplink cannot carry 16 kHz PCM
//! (`edge`, 200 kbit/s up for 256 kbit/s of audio). Each run is one paced session
//! through `Request::profile`, the same path as `sttbench stream --mock --realtime
//! --profile NAME`, with the punctual pacer the CLI uses and the mock and proxy on a
//! thread of their own, so their work does not delay the client's. Per profile it writes, as
//! benchmark `network/<profile>/<measure>` with the BMF measure `latency` (ns):
//!
//! - `first_partial`: connect + first audio → first non-empty transcript;
//! - `final_lag_p50`, `final_lag_p95`, `final_lag_p99`: audio sent minus audio covered
//!   when each final arrived (Deepgram's definition), over every final of the run;
//! - `client_added_p99`: the client's four stages summed per chunk;
//! - `pacer_lateness_p99`: how late the pacer woke;
//! - `behind_max`: how far behind real time any chunk reached the mock.
//!
//! These are trends, not gates: one session per profile, on a shared machine, and the
//! mock's delay dominates every figure but the client's. It writes `network.json` and
//! one SVG per profile (`network-<profile>.svg`, the `stream --plot` picture) in
//! `target/sttbench` (or `$STTBENCH_OUT`). A full run takes about two
//! minutes; under `cargo test --benches` it streams one second per profile. A filter
//! argument (a regular expression over the IDs) picks profiles.

#[path = "support/args.rs"]
mod args;
#[path = "support/output.rs"]
mod output;

use std::time::Duration;

use sttbench::bmf::{Bmf, Metric};
use sttbench::pipeline::{Apart, Peer, Request, Summary};
use sttbench::provider::Hosted;
use sttbench::server::shaper::Profile;
use sttbench::stream::{Control, Pacing, Source, StreamConfig};

/// The profiles swept, fastest first, and the audio each streams in a full run. The
/// slow link gets less: its backlog grows by 0.28 s per second of audio, and the close
/// has to get through it within the session's 5 s close timeout (12 s of audio did not).
const PROFILES: [(&str, Duration); 4] = [
    ("4g-fast", Duration::from_secs(30)),
    ("4g", Duration::from_secs(30)),
    ("3g", Duration::from_secs(30)),
    ("edge", Duration::from_secs(8)),
];

/// Audio per profile under `cargo test --benches`.
const SMOKE: Duration = Duration::from_secs(1);

fn main() {
    let args = args::Args::parse();
    let dir = output::out_dir();
    if !args.full {
        println!("smoke run (1 s per profile, likely a debug build): the figures mean nothing");
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let mut results = Bmf::new();
    println!(
        "{:<10} {:>14} {:>12} {:>12} {:>12} {:>14} {:>14} {:>12}  ended",
        "profile",
        "first partial",
        "lag p50",
        "lag p95",
        "lag p99",
        "client p99",
        "pacer p99",
        "behind max"
    );
    for (name, audio) in PROFILES {
        let prefix = format!("network/{name}/");
        if !args.selects(&prefix) && !args.selects(&format!("{prefix}final_lag_p99")) {
            continue;
        }
        let audio = if args.full { audio } else { SMOKE };
        let summary = rt.block_on(run(name, audio));
        let figures = figures(&summary);
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        let get = |m: &str| figures.iter().find(|(n, _)| *n == m).map(|&(_, d)| d);
        let cell = |m: &str| get(m).map_or_else(|| "-".to_string(), ms);
        println!(
            "{name:<10} {:>14} {:>12} {:>12} {:>12} {:>14} {:>14} {:>12}  {}{}",
            cell("first_partial"),
            cell("final_lag_p50"),
            cell("final_lag_p95"),
            cell("final_lag_p99"),
            cell("client_added_p99"),
            cell("pacer_lateness_p99"),
            cell("behind_max"),
            summary.ended,
            if summary.behind.as_ref().is_some_and(|b| b.uplink_too_slow) {
                ", the uplink was too slow"
            } else {
                ""
            }
        );
        // The bench checks its own output: every run heard the speech.
        if get("first_partial").is_none() {
            eprintln!("error: {name}: no transcript arrived ({})", summary.ending.message);
            std::process::exit(2);
        }
        for (measure, value) in figures {
            let id = format!("{prefix}{measure}");
            if args.selects(&id) {
                results.insert(id, "latency", Metric::exact(value.as_nanos() as f64));
            }
        }
        let svg = dir.join(format!("network-{name}.svg"));
        let title = format!("network/{name}: {audio:?} of speech, paced, Deepgram mock");
        if let Err(e) = sttbench::plot::write(&svg, &summary, &title) {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
    if results.0.is_empty() {
        println!("the filter selects no network benchmark; nothing written");
        return;
    }
    let out = dir.join("network.json");
    if let Err(e) = results.write(&out) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    println!("\nwrote {} and network-<profile>.svg beside it", out.display());
}

/// One paced session of `audio` through the profile `name` to a Deepgram mock.
async fn run(name: &str, audio: Duration) -> Summary {
    let profile = Profile::find(name).expect("a profile of the sweep");
    let plan = Request::new(vec![Peer::Provider(Hosted::Deepgram)])
        .mock(true)
        .profile(Some(profile))
        .servers(Apart::Thread)
        .source(Source::default(), Some(audio))
        .stream(StreamConfig::default().pacing(Pacing::RealTime))
        .plan()
        .expect("the sweep's requests are valid");
    let control = Control::new();
    let mut results =
        plan.run_paced(&control, |_| (), |_| sttbench::pace::Pacer::best_available()).await;
    match results.pop() {
        Some(Ok(summary)) => summary,
        Some(Err(e)) => {
            eprintln!("error: {name}: the run did not start: {e}");
            std::process::exit(2);
        }
        None => unreachable!("one peer, one run"),
    }
}

/// The figures of one run, by measure name; a measure the run lacks is left out.
fn figures(summary: &Summary) -> Vec<(&'static str, Duration)> {
    let mut out = Vec::new();
    if let Some(p) = &summary.pipeline {
        if let Some(first) = p.first_partial_ns {
            out.push(("first_partial", summary.connect + Duration::from_nanos(first)));
        }
        if p.final_lag.count > 0 {
            out.push(("final_lag_p50", p.final_lag.p50));
            out.push(("final_lag_p95", p.final_lag.p95));
            out.push(("final_lag_p99", p.final_lag.p99));
        }
    }
    out.push(("client_added_p99", summary.stages.client_added.p99));
    out.push(("pacer_lateness_p99", summary.stages.wake_lateness.p99));
    if let Some(behind) = &summary.behind {
        out.push(("behind_max", behind.max));
    }
    out
}
