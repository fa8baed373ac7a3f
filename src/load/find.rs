//! `--find-max`: the largest stream count that keeps real time on this machine.
//!
//! Doubling from a start until a run does not hold real time (or the ceiling is
//! reached), then bisection between the last count that held and the first that did
//! not, until they are within an eighth of each other (or one apart). Bounded: at most
//! [`MAX_PROBES`] runs, each bounded by its own deadline, and none started past the
//! caller's time budget.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::{LoadConfig, MAX_STREAMS, run};
use crate::provider::Dialect;
use crate::stream::{Control, Stop};

/// The most runs one search makes.
pub const MAX_PROBES: usize = 16;

/// One run of the search.
#[derive(Debug, Clone, Copy, Serialize)]
#[non_exhaustive]
pub struct Probe {
    /// Streams run.
    pub streams: usize,
    /// Every one kept real time.
    pub realtime_held: bool,
    /// The p99 wake lateness over every stream.
    pub lateness_p99_ns: u64,
    /// Resident memory per stream, where the OS says.
    pub rss_per_stream_bytes: Option<u64>,
}

/// What the search found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FindMax {
    /// The largest count that kept real time; 0 when even the first probe did not.
    pub max_streams: usize,
    /// Whether the search ended on its own terms (not on the probe or time budget, the
    /// ceiling or a stop).
    pub converged: bool,
    /// Every run, in order.
    pub probes: Vec<Probe>,
}

/// What the search does after a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Runs this many streams next.
    Probe(usize),
    /// The last count that held and the first that did not are close enough.
    Converged,
    /// Every count up to the ceiling held.
    Ceiling,
}

/// The next step, knowing the largest count that held (`good`, 0 for none), the
/// smallest that did not (`bad`), and the count just run (`last`): doubling until a count
/// fails, then bisection until `bad` is within an eighth of `good` (or one above it).
fn next_count(good: usize, bad: Option<usize>, last: usize, ceiling: usize) -> Step {
    match bad {
        None if last >= ceiling => Step::Ceiling,
        None => Step::Probe((last * 2).min(ceiling)),
        Some(bad) if bad <= good + (good / 8).max(1) => Step::Converged,
        Some(bad) => Step::Probe(good + (bad - good) / 2),
    }
}

/// Searches from `start` streams up to at most `ceiling`, each probe being `config` with
/// another stream count, for no longer than `budget` (a probe is not started past it).
///
/// # Errors
///
/// The first probe's errors (see [`run`]); later probes that fail count as not holding
/// real time.
pub async fn find_max(
    url: &str,
    dialect: Arc<dyn Dialect>,
    config: &LoadConfig,
    start: usize,
    ceiling: usize,
    budget: Duration,
    control: &Control,
) -> crate::Result<FindMax> {
    let ceiling = ceiling.clamp(1, MAX_STREAMS);
    let began = Instant::now();
    let mut probes: Vec<Probe> = Vec::new();
    let (mut good, mut bad): (usize, Option<usize>) = (0, None);
    let mut next = start.clamp(1, ceiling);
    let mut converged = false;
    while probes.len() < MAX_PROBES
        && began.elapsed() + config.deadline() <= budget + super::GRACE
        && control.state() == Stop::Run
    {
        let probe = config.clone().with_streams(next);
        let held = match run(url, Arc::clone(&dialect), &probe, control).await {
            Ok(report) => {
                probes.push(Probe {
                    streams: next,
                    realtime_held: report.realtime_held && !report.interrupted,
                    lateness_p99_ns: report.lateness_p99_ns,
                    rss_per_stream_bytes: report.memory.rss_per_stream_bytes,
                });
                report.realtime_held && !report.interrupted
            }
            Err(e) if probes.is_empty() => return Err(e),
            Err(_) => {
                probes.push(Probe {
                    streams: next,
                    realtime_held: false,
                    lateness_p99_ns: u64::MAX,
                    rss_per_stream_bytes: None,
                });
                false
            }
        };
        if held {
            good = good.max(next);
        } else {
            bad = Some(bad.map_or(next, |b| b.min(next)));
        }
        match next_count(good, bad, next, ceiling) {
            Step::Probe(n) => next = n,
            Step::Converged => {
                converged = true;
                break;
            }
            Step::Ceiling => break,
        }
    }
    Ok(FindMax { max_streams: good, converged, probes })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts a search probes on a machine that holds up to `max` streams.
    fn search(start: usize, ceiling: usize, max: usize) -> (Vec<usize>, Step) {
        let (mut good, mut bad, mut next, mut probed) = (0, None, start, Vec::new());
        loop {
            probed.push(next);
            if next <= max {
                good = good.max(next);
            } else {
                bad = Some(bad.map_or(next, |b: usize| b.min(next)));
            }
            match next_count(good, bad, next, ceiling) {
                Step::Probe(n) => next = n,
                end => return (probed, end),
            }
            assert!(probed.len() < MAX_PROBES, "the search ends: {probed:?}");
        }
    }

    #[test]
    fn doubles_then_bisects_to_within_an_eighth() {
        let (probed, end) = search(16, 4096, 187);
        assert_eq!(
            probed,
            [16, 32, 64, 128, 256, 192, 160, 176],
            "176 held, 192 did not: within an eighth"
        );
        assert_eq!(end, Step::Converged);
        let (probed, end) = search(100, 4096, 1);
        assert_eq!(
            (probed.as_slice(), end),
            ([100, 50, 25, 12, 6, 3, 1, 2].as_slice(), Step::Converged)
        );
        assert_eq!(search(64, 100, 1_000), (vec![64, 100], Step::Ceiling));
    }
}
