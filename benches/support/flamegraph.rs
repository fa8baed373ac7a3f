//! A criterion 0.8 profiler that writes a flamegraph per benchmark, with pprof.
//!
//! pprof's own criterion adapter implements criterion 0.5's `Profiler` trait, which a
//! criterion 0.8 bench cannot use (two criterion versions in one build, E0277), so this is
//! the same sixty lines against 0.8's trait. Criterion calls it only in `--profile-time`
//! mode, so an ordinary `cargo bench` measures without a sampler running; it is compiled
//! only with `--features flamegraph` (`scripts/flamegraph.sh` passes it).
//!
//! It writes `<criterion dir>/<bench>/profile/flamegraph.svg`. It does not symbolise
//! better than the build allows: `[profile.bench]` keeps line tables for that.

use std::fs::File;
use std::os::raw::c_int;
use std::path::Path;

use criterion::profiler::Profiler;
use pprof::{ProfilerGuard, ProfilerGuardBuilder};

/// Samples per second. 997 Hz rather than 1000 so sampling does not lock step with
/// millisecond timers in the code under test; high enough for a few thousand samples in
/// a 5 s `--profile-time`.
pub const FREQUENCY: c_int = 997;

/// Starts a pprof sampler per benchmark and turns its samples into an SVG flamegraph.
pub struct FlamegraphProfiler {
    frequency: c_int,
    active: Option<ProfilerGuard<'static>>,
}

impl std::fmt::Debug for FlamegraphProfiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlamegraphProfiler")
            .field("frequency", &self.frequency)
            .finish_non_exhaustive()
    }
}

impl FlamegraphProfiler {
    /// A profiler sampling `frequency` times per second.
    pub fn new(frequency: c_int) -> Self {
        FlamegraphProfiler { frequency, active: None }
    }
}

impl Profiler for FlamegraphProfiler {
    fn start_profiling(&mut self, benchmark_id: &str, _dir: &Path) {
        // Frames inside libc and the signal trampoline say nothing about our code.
        let guard = ProfilerGuardBuilder::default()
            .frequency(self.frequency)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build();
        match guard {
            Ok(guard) => self.active = Some(guard),
            // The profiler cannot return an error; the script reports a missing SVG.
            Err(e) => eprintln!("flamegraph: cannot start pprof for {benchmark_id}: {e}"),
        }
    }

    fn stop_profiling(&mut self, benchmark_id: &str, dir: &Path) {
        let Some(guard) = self.active.take() else { return };
        let svg = dir.join("flamegraph.svg");
        let written = std::fs::create_dir_all(dir)
            .map_err(|e| e.to_string())
            .and_then(|()| guard.report().build().map_err(|e| e.to_string()))
            .and_then(|report| {
                let file = File::create(&svg).map_err(|e| e.to_string())?;
                report.flamegraph(file).map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            eprintln!("flamegraph: cannot write {} for {benchmark_id}: {e}", svg.display());
        }
    }
}
