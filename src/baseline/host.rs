//! How busy the host was: a hiccup meter, recorded beside the results it qualifies.
//!
//! A wall-clock timing measures the machine as much as the code. On a shared 2-core VM
//! a neighbour's compile can double a CPU-bound bench for minutes, long enough for the
//! re-run to "confirm" it. Floors cancel that where one exists; for everything else the
//! comparison needs to know whether the host was quiet. This meter spins one thread on
//! [`Instant::now`] and adds up every gap longer than [`GAP`]: time the thread was not
//! running, as a single-threaded bench would not have been. The nightly runs it before
//! and after the timing benches, and also records the CPU other processes used while the
//! benches ran (a neighbour's build that starts and ends in between, which the meter
//! cannot see); the worst figure goes into the baseline metadata, and above [`BUSY`] the
//! timings of that run are not trusted to fail a build.
//!
//! It does not identify the neighbour or wait for quiet; the scripts decide what to do.

use std::time::{Duration, Instant};

/// Gaps longer than this between two clock reads count as time lost. 20 µs is far above
/// the cost of a clock read (tens of ns) and below a scheduler time slice (ms), so it
/// catches preemption and not the meter itself.
pub const GAP: Duration = Duration::from_micros(20);

/// Above this fraction of time lost (5 %), a host is too busy for its wall-clock timings
/// to fail a build. Quiet runs of this VM lose 1–2.5 %, busy ones 10–50 % (the project's
/// performance notes); 5 % sits between the two.
pub const BUSY: f64 = 0.05;

/// The fraction of `duration` a spinning thread lost in gaps longer than [`GAP`].
///
/// ```
/// let lost = sttbench::baseline::host::time_lost(std::time::Duration::from_millis(20));
/// assert!((0.0..=1.0).contains(&lost));
/// ```
pub fn time_lost(duration: Duration) -> f64 {
    let start = Instant::now();
    let (mut last, mut lost) = (start, Duration::ZERO);
    loop {
        let now = Instant::now();
        let gap = now - last;
        if gap > GAP {
            lost += gap;
        }
        last = now;
        if now - start >= duration {
            return (lost.as_secs_f64() / (now - start).as_secs_f64()).min(1.0);
        }
    }
}
