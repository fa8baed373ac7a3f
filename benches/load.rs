//! `load/<target>/<N>streams`: N real-time streams from one process, self-timed.
//!
//! Each case runs `sttbench::load::run` against an echo socket started on the same
//! multi-thread runtime (so the figures include the server's share of the machine, as
//! `sttbench load --mock` would), N streams of 20 ms chunks for [`DURATION`] each, and
//! writes Bencher Metric Format to `load.json` in `target/sttbench` (or
//! `$STTBENCH_OUT`), per benchmark:
//!
//! - `lateness-p99-ns`: the pacer's wake lateness at p99, every chunk of every stream;
//! - `send-latency-p99-ns`: due time to frame flushed at p99;
//! - `streams-behind`: streams whose own p99 lateness passed one chunk (0 is real time
//!   held);
//! - `rss-per-stream-bytes`: resident memory growth over the run ÷ N (`VmRSS`);
//! - `cpu-per-stream-ratio`: CPU time ÷ wall ÷ N (the process, server included).
//!
//! `cargo bench --bench load` takes about 20 seconds (1, 50 and 200 streams); a filter
//! (`cargo bench --bench load -- '/200streams$'`, a regular expression as criterion's)
//! restricts the cases. Under `cargo test --benches` (or `-- --test`), 1 and 4 streams
//! for a few hundred milliseconds, as a smoke test whose figures mean nothing. It gates
//! nothing: latency on a shared machine is judged by the comparison, not here.

#[path = "support/args.rs"]
mod args;
#[path = "support/output.rs"]
mod output;

use std::sync::Arc;
use std::time::Duration;

use sttbench::bmf::{Bmf, Metric};
use sttbench::load::{self, LoadConfig};
use sttbench::provider::Echo;
use sttbench::server::echo::{self, EchoConfig};
use sttbench::stream::Control;

/// Audio per stream in a full run.
const DURATION: Duration = Duration::from_secs(4);
/// The stream counts of a full run.
const STREAMS: [usize; 3] = [1, 50, 200];
/// The stream counts and audio of a smoke run.
const SMOKE: ([usize; 2], Duration) = ([1, 4], Duration::from_millis(300));

fn main() {
    let args = args::Args::parse();
    let (counts, duration): (&[usize], Duration) =
        if args.full { (&STREAMS, DURATION) } else { (&SMOKE.0, SMOKE.1) };
    if !args.full {
        println!("smoke run (short, likely a debug build): the figures mean nothing");
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let server = runtime.block_on(echo::start(EchoConfig::default())).expect("bind echo");
    let url = server.ws_url();
    let mut results = Bmf::new();
    println!(
        "{:<28} {:>14} {:>14} {:>8} {:>12} {:>10}",
        "benchmark", "lateness p99", "send p99", "behind", "rss/stream", "cpu/stream"
    );
    for &streams in counts {
        let name = format!("load/echo/{streams}streams");
        if !args.selects(&name) {
            continue;
        }
        let config = LoadConfig::new(streams, duration).ramp_up(Duration::from_millis(500));
        let report = runtime
            .block_on(load::run(&url, Arc::new(Echo), &config, &Control::new()))
            .unwrap_or_else(|e| {
                eprintln!("error: {name}: {e}");
                std::process::exit(2);
            });
        let behind = (report.streams - report.streams_realtime) as f64;
        let rss = report.memory.rss_per_stream_bytes.unwrap_or(0) as f64;
        let cpu = report.cpu.core_per_stream.unwrap_or(0.0);
        let lateness = report.lateness_p99_ns as f64;
        let send = report.send_latency.p99.as_nanos() as f64;
        println!(
            "{name:<28} {:>11.0} µs {:>11.0} µs {behind:>8} {:>9.1} KiB {:>9.3} %",
            lateness / 1e3,
            send / 1e3,
            rss / 1024.0,
            cpu * 100.0
        );
        results.insert(&name, "lateness-p99-ns", Metric::exact(lateness));
        results.insert(&name, "send-latency-p99-ns", Metric::exact(send));
        results.insert(&name, "streams-behind", Metric::exact(behind));
        results.insert(&name, "rss-per-stream-bytes", Metric::exact(rss));
        results.insert(&name, "cpu-per-stream-ratio", Metric::exact(cpu));
    }
    runtime.block_on(server.shutdown());
    if results.0.is_empty() {
        println!("the filter selects no load benchmark; nothing written");
        return;
    }
    let out = output::out_dir().join("load.json");
    if let Err(e) = results.write(&out) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    println!("\nwrote {}", out.display());
}
