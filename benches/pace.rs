//! How late the pacer wakes, beside the OS timer floor and tokio's timer, measured in
//! the same run.
//!
//! For deadlines 20 ms and 10 ms apart (the chunks voice apps stream) it runs
//! `sttbench::pace::SideBySide`: the floor (`clock_nanosleep` on a thread with 1 ns timer
//! slack) and its replica on another thread, the pacer on a current-thread and on a
//! multi-thread runtime, and `tokio::time::sleep_until`, all at once on schedules spread
//! over the period, so a busy neighbour hits all of them alike. The number the pacer is
//! judged by is its lateness p99 ÷ the floor's (its target: at most 1.2), taken round by
//! round (300 wakes a round, all methods in the same seconds) and summarised as the
//! median of the rounds' ratios: a host stall that fell on one method in one round is
//! outvoted. The replica's ratio, what a pacer as punctual as the OS scores in the same
//! run, sits beside it.
//!
//! It prints the tables and writes Bencher Metric Format to `target/sttbench/pace.json`:
//! benchmarks `pace/<method>/<ms>ms`, `<method>` ∈ `timer_floor`, `timer_floor_replica`,
//! `pacer`, `pacer_multi_thread`, `tokio_sleep`, with the measures
//! - `lateness-p50-ns`, `lateness-p99-ns`: the percentile of every wake pooled, bounded
//!   by its 95 % distribution-free confidence interval;
//! - `cpu-per-wake-ns`: CPU the method's threads used per wake, the median of its
//!   50-wake segments bounded by their quartiles: a pacer that spun would show about a
//!   period;
//! - `p99-over-floor-ratio` (all but the floor): the median over rounds of the round's
//!   p99 ÷ the floor's p99 in that round, bounded by its 95 % order-statistics interval
//!   (the table also prints the ratio of the pooled p99s, which one stall can move).
//!
//! The table also shows each method's latest wake; it is not in the BMF, because with no
//! interval to judge it by, identical runs on a shared VM (an A/A comparison) differ by
//! 17–107 % in it: the max measures the host.
//!
//! A full run takes about 80 s; `-- --quick` a third of it (two or three rounds: a
//! smoke check, not a figure). Under `cargo test --benches` it runs 3 wakes per period,
//! about 0.2 s.

use std::path::PathBuf;
use std::time::Duration;

use sttbench::bmf::{Bmf, Metric};
use sttbench::pace::{Lateness, Method, SideBySide};

/// Deadlines apart, and wakes per method at that period: 8 and 10 rounds of 300 wakes,
/// in 48 s and 30 s.
const PERIODS: [(u64, u32); 2] = [(20, 2_400), (10, 3_000)];
/// `--quick` runs a third of the wakes.
const QUICK_DIVISOR: u32 = 3;
/// The pacer's lateness p99 within 1.2× the floor's, in the same run.
const TARGET: f64 = 1.2;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let quick = std::env::args().any(|a| a == "--quick");
    let out = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("sttbench/pace.json");
    if !full {
        println!("smoke run (3 wakes, likely a debug build): the figures mean nothing");
    }

    let mut results = Bmf::new();
    for (ms, wakes) in PERIODS {
        let wakes = match (full, quick) {
            (true, false) => wakes,
            (true, true) => wakes / QUICK_DIVISOR,
            (false, _) => 3,
        };
        let config = SideBySide::default().period(Duration::from_millis(ms)).wakes(wakes);
        let lateness = match config.run() {
            Ok(lateness) => lateness,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        };
        println!("{lateness}");
        let by_round = |m| lateness.p99_over_floor_by_round(m).map_or(f64::NAN, |e| e.value);
        let ratio = by_round(Method::Pacer);
        if full {
            let verdict = if ratio <= TARGET { "within" } else { "over" };
            println!(
                "pacer p99 ÷ floor p99, median of rounds = {ratio:.2}: {verdict} the {TARGET} \
                 target (the floor's own replica scored {:.2} in this run)",
                by_round(Method::TimerFloorReplica)
            );
        }
        println!();
        record(&mut results, &lateness, ms);
    }
    if let Err(e) = results.write(&out) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    println!("wrote {}", out.display());
}

/// Adds one period's measures to `results`, as the module docs list them.
fn record(results: &mut Bmf, lateness: &Lateness, ms: u64) {
    let ns = |d: Duration| d.as_nanos() as f64;
    for (&method, wakes) in &lateness.methods {
        assert_eq!(wakes.early, 0, "{method} woke before its deadline");
        let name = format!("pace/{method}/{ms}ms");
        for (measure, q) in [("lateness-p50-ns", 0.50), ("lateness-p99-ns", 0.99)] {
            let [low, high] = wakes.lateness_interval(q).map(ns);
            let value = ns(wakes.lateness.quantile(q));
            results.insert(&name, measure, Metric::with_bounds(value, low, high));
        }
        if let Some(segments) = lateness.cpu_by_segment.get(&method).filter(|s| !s.is_empty()) {
            let mut segments: Vec<f64> = segments.iter().copied().map(ns).collect();
            let [q1, median, q3] = quartiles(&mut segments);
            results.insert(&name, "cpu-per-wake-ns", Metric::with_bounds(median, q1, q3));
        }
        if method != Method::TimerFloor
            && let Some(e) = lateness.p99_over_floor_by_round(method)
        {
            let bounds = Metric::with_bounds(e.value, e.lower, e.upper);
            results.insert(&name, "p99-over-floor-ratio", bounds);
        }
    }
}

/// The 25th, 50th and 75th percentiles (nearest rank) of `values`, which must not be
/// empty.
fn quartiles(values: &mut [f64]) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    [at(0.25), at(0.5), at(0.75)]
}
