//! The number the transport is judged by, measured so that a busy machine cannot fake
//! it: a session round trip divided by the raw TCP round trip, interleaved.
//!
//! Criterion times `send/echo_rtt` and then `send/tcp_floor`, seconds apart; on a shared
//! machine a change of load between the two lands entirely in their ratio (runs here
//! gave anything from 0.8 to 1.45 for the same code), and a mean over a batch absorbs
//! the host's multi-millisecond stalls into whichever side they hit. This bench
//! alternates single session and raw TCP round trips on one runtime, times each, and
//! takes per round of [`PER_ROUND`] pairs the ratio of the two medians; it reports the
//! median and the quartiles of [`ROUNDS`] such ratios. Both sides of every ratio saw the
//! same machine, and a stall moves neither median.
//!
//! It prints a table and writes Bencher Metric Format to
//! `target/sttbench/send_ratio.json`: benchmark `send/echo_rtt_over_tcp_floor/<ms>ms`,
//! measure `ratio` (value = median, bounds = quartiles). It gates nothing (the issue's
//! target, ≤ 1.3 at 20 ms, is marked in the table); judging belongs to the comparison.
//! Under `cargo test --benches` it runs 3 short rounds as a smoke test.

#[path = "support/transport.rs"]
mod transport;

use std::path::PathBuf;

use sttbench::bmf::{Bmf, Metric};
use sttbench::server::echo::EchoConfig;
use sttbench::session::SessionConfig;
use transport::{CHUNK_MS, TcpFloor, chunk, echo_session, round_trips, runtime, spec};

/// Rounds per chunk size; the first [`WARM_UP_ROUNDS`] are not counted.
const ROUNDS: usize = 25;
/// Round trips of each kind per round.
const PER_ROUND: usize = 500;
/// Rounds run before counting, while buffers and caches settle.
const WARM_UP_ROUNDS: usize = 3;
/// The target for 20 ms chunks (issue 3).
const TARGET: f64 = 1.3;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, per_round) = if full { (ROUNDS, PER_ROUND) } else { (WARM_UP_ROUNDS + 3, 20) };
    let out = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("sttbench/send_ratio.json");

    if !full {
        println!("smoke run (3 short rounds, likely a debug build): the ratios mean nothing");
    }
    let rt = runtime();
    let mut results = Bmf::new();
    println!("{:<40} {:>8} {:>8} {:>8}  {:>12}", "benchmark", "q1", "median", "q3", "tcp median");
    for ms in CHUNK_MS {
        let chunk = chunk(spec(ms));
        let (server, mut session) =
            echo_session(&rt, EchoConfig::default(), SessionConfig::default());
        let mut floor = rt.block_on(TcpFloor::start());
        let mut ratios = Vec::with_capacity(rounds);
        let mut floors = Vec::with_capacity(rounds);
        let (mut ws, mut tcp) = (vec![0.0; per_round], vec![0.0; per_round]);
        for round in 0..rounds {
            rt.block_on(async {
                for i in 0..per_round {
                    ws[i] = round_trips(&mut session, &chunk, 1).await.as_secs_f64();
                    tcp[i] = floor.round_trips(&chunk, 1).await.as_secs_f64();
                }
            });
            if round >= WARM_UP_ROUNDS {
                let [_, ws_median, _] = quartiles(&mut ws);
                let [_, tcp_median, _] = quartiles(&mut tcp);
                ratios.push(ws_median / tcp_median);
                floors.push(tcp_median);
            }
        }
        session.abort();
        rt.block_on(server.shutdown());

        let [q1, median, q3] = quartiles(&mut ratios);
        let [_, floor_median, _] = quartiles(&mut floors);
        let name = format!("send/echo_rtt_over_tcp_floor/{ms}ms");
        let over = full && ms == 20 && median > TARGET;
        let mark = if over { "  over the 1.3 target" } else { "" };
        println!(
            "{name:<40} {q1:>8.3} {median:>8.3} {q3:>8.3}  {:>9.2} µs{mark}",
            floor_median * 1e6
        );
        results.insert(name, "ratio", Metric::with_bounds(median, q1, q3));
    }
    if let Err(e) = results.write(&out) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    println!("\nwrote {}", out.display());
}

/// The 25th, 50th and 75th percentiles (nearest rank) of `values`, which must not be
/// empty.
fn quartiles(values: &mut [f64]) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    [at(0.25), at(0.5), at(0.75)]
}
