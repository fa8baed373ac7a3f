//! What every timing bench shares: the project's Criterion configuration.
//!
//! Settings live on the `Criterion` value, not on groups, so that command-line flags
//! (`--measurement-time`, `--sample-size`, `--noise-threshold`, `--quick`) still override
//! them: criterion applies CLI flags after this config, but group settings after both.

use std::time::Duration;

use criterion::Criterion;

#[cfg(feature = "flamegraph")]
pub mod flamegraph;

/// The Criterion config for sttbench's timing benches.
///
/// - 1 s warm-up and 2 s measurement per benchmark keep a full `cargo bench` within
///   minutes on a 2-core machine; the encode group alone has 77 benchmarks.
/// - 10,000 bootstrap resamples instead of 100,000: the analysis, not the measurement,
///   was most of the wall time (7 benchmarks: 98 s → 30 s), and 10,000 resamples still
///   put the confidence bounds within a fraction of a percent of the 100,000 ones.
/// - A 5 % noise threshold instead of criterion's 1 %: on a shared machine the same
///   binary drifts by more than 1 % between runs, and criterion would call that a change.
///   The regression verdict that gates anything is `sttbench compare`, not this.
///
/// With `--features flamegraph`, `--profile-time N` also writes a flamegraph per bench
/// (see [`flamegraph`]); without it, or without `--profile-time`, nothing samples.
pub fn criterion() -> Criterion {
    let config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .nresamples(10_000)
        .noise_threshold(0.05);
    with_profiler(config)
}

#[cfg(feature = "flamegraph")]
fn with_profiler(config: Criterion) -> Criterion {
    config.with_profiler(flamegraph::FlamegraphProfiler::new(flamegraph::FREQUENCY))
}

#[cfg(not(feature = "flamegraph"))]
fn with_profiler(config: Criterion) -> Criterion {
    config
}
