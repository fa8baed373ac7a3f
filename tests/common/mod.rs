//! Crafted inputs for the comparison tests: criterion output directories, BMF files and
//! scratch space, so tests exercise the real readers without running a benchmark.
//!
//! Nothing here judges anything; the tests assert on what the library and binary say.

#![allow(dead_code)] // Each test file uses a different part.

use std::path::{Path, PathBuf};

/// A scratch directory unique to one test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A fresh, empty directory named after the test.
    pub fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("sttbench-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// A path inside the scratch directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes one benchmark's `new/{benchmark,estimates}.json` the way criterion 0.8 does,
/// with a median of `median` ns and a ±`half_width` fraction confidence interval.
pub fn criterion_run(root: &Path, id: &str, median: f64, half_width: f64) {
    criterion_saved(root, id, "new", median, half_width);
}

/// As [`criterion_run`], into the run named `name` (`--save-baseline NAME`).
pub fn criterion_saved(root: &Path, id: &str, name: &str, median: f64, half_width: f64) {
    let new = root.join(id).join(name);
    std::fs::create_dir_all(&new).unwrap();
    let mut parts = id.splitn(3, '/');
    let (group, function, value) = (parts.next().unwrap(), parts.next(), parts.next());
    let benchmark = serde_json::json!({
        "group_id": group, "function_id": function, "value_str": value,
        "throughput": {"Bytes": 640}, "full_id": id, "directory_name": id, "title": id,
    });
    let estimate = |p: f64| {
        serde_json::json!({
            "confidence_interval": {"confidence_level": 0.95,
                "lower_bound": p * (1.0 - half_width), "upper_bound": p * (1.0 + half_width)},
            "point_estimate": p, "standard_error": p * half_width / 2.0,
        })
    };
    let estimates = serde_json::json!({
        "mean": estimate(median * 1.01), "median": estimate(median),
        "median_abs_dev": estimate(1.0), "slope": estimate(median * 1.005), "std_dev": estimate(2.0),
    });
    std::fs::write(new.join("benchmark.json"), benchmark.to_string()).unwrap();
    std::fs::write(new.join("estimates.json"), estimates.to_string()).unwrap();
}

/// A criterion directory with the given `(id, median ns)` runs at a ±1 % interval.
pub fn criterion_dir(root: &Path, runs: &[(&str, f64)]) -> PathBuf {
    std::fs::create_dir_all(root).unwrap();
    for (id, median) in runs {
        criterion_run(root, id, *median, 0.01);
    }
    root.to_owned()
}

/// Runs of the encode group with its floor: `sine` at `sine_ns`, the floor at `floor_ns`.
pub fn encode_runs(sine_ns: f64, floor_ns: f64) -> Vec<(&'static str, f64)> {
    vec![
        ("encode_s16le/sine/20ms", sine_ns),
        ("encode_s16le/memcpy_floor/20ms", floor_ns),
        ("resample/48k_to_16k/20ms", 4000.0),
    ]
}
