//! Bencher Metric Format (BMF): the one result format.
//!
//! Every measurement that can regress (criterion timings, allocation counts, instruction
//! counts, latency percentiles) can be written as
//! `{ "<benchmark>": { "<measure>": { "value": v, "lower_value": l, "upper_value": u } } }`,
//! the JSON that bencher.dev and our own comparison read. Keys are kept sorted
//! (`BTreeMap`) so files diff cleanly in review.
//!
//! This module only holds, reads and writes results; judging them is the baseline
//! comparison's job.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::FileError;

/// One measured value, with its confidence bounds when it has them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The point estimate (or the exact count).
    pub value: f64,
    /// Lower bound of the estimate's confidence interval, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_value: Option<f64>,
    /// Upper bound of the estimate's confidence interval, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_value: Option<f64>,
}

impl Metric {
    /// An exact value: a count, with no interval.
    pub fn exact(value: f64) -> Self {
        Metric { value, lower_value: None, upper_value: None }
    }

    /// An estimate with its confidence interval.
    pub fn with_bounds(value: f64, lower: f64, upper: f64) -> Self {
        Metric { value, lower_value: Some(lower), upper_value: Some(upper) }
    }
}

/// Benchmark name → measure name → metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bmf(pub BTreeMap<String, BTreeMap<String, Metric>>);

impl Bmf {
    /// An empty result set.
    pub fn new() -> Self {
        Bmf::default()
    }

    /// Records `metric` as `measure` of `benchmark`, replacing an earlier value.
    pub fn insert(
        &mut self,
        benchmark: impl Into<String>,
        measure: impl Into<String>,
        metric: Metric,
    ) {
        self.0.entry(benchmark.into()).or_default().insert(measure.into(), metric);
    }

    /// The metric recorded as `measure` of `benchmark`.
    pub fn get(&self, benchmark: &str, measure: &str) -> Option<Metric> {
        self.0.get(benchmark)?.get(measure).copied()
    }

    /// Adds every metric of `other`, replacing metrics recorded under the same names.
    pub fn merge(&mut self, other: Bmf) {
        for (bench, measures) in other.0 {
            self.0.entry(bench).or_default().extend(measures);
        }
    }

    /// Writes the results as pretty JSON, creating parent directories.
    ///
    /// # Errors
    ///
    /// [`Error::File`](crate::Error::File) naming `path` when it cannot be written.
    pub fn write(&self, path: impl AsRef<Path>) -> crate::Result<()> {
        write_json(path.as_ref(), self)
    }

    /// Reads results written by [`write`](Self::write) or any BMF producer.
    ///
    /// # Errors
    ///
    /// [`Error::File`](crate::Error::File) naming `path` when it is missing, unreadable or
    /// not BMF JSON.
    pub fn read(path: impl AsRef<Path>) -> crate::Result<Bmf> {
        let path = path.as_ref();
        Bmf::from_value(path, read_json(path)?)
    }

    /// Interprets already-parsed JSON from `path` (named in errors) as BMF.
    pub(crate) fn from_value(path: &Path, value: serde_json::Value) -> crate::Result<Bmf> {
        serde_json::from_value(value).map_err(|e| {
            FileError::new(
                path,
                "not Bencher Metric Format JSON ({\"bench\": {\"measure\": {\"value\": …}}})",
                Some(Box::new(e) as _),
            )
            .into()
        })
    }
}

/// Writes `value` as pretty JSON plus a newline, creating parent directories; the one
/// way result and baseline files are written.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> crate::Result<()> {
    let json = serde_json::to_string_pretty(value).expect("results are plain data");
    write_text(Some(path), || json + "\n")
}

/// Writes `text()` to `path`, when there is a path, creating parent directories; the one
/// way reports and result files reach the disk.
pub(crate) fn write_text(path: Option<&Path>, text: impl FnOnce() -> String) -> crate::Result<()> {
    let Some(path) = path else { return Ok(()) };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            FileError::new(dir, "cannot create the directory", Some(Box::new(e) as _))
        })?;
    }
    std::fs::write(path, text())
        .map_err(|e| FileError::new(path, "cannot write the file", Some(Box::new(e) as _)).into())
}

/// Reads and parses any JSON file, naming it on failure; the one way result and baseline
/// files are read.
pub(crate) fn read_json(path: &Path) -> crate::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(path, "cannot read the file", Some(Box::new(e) as _)))?;
    parse_json(path, &text)
}

/// Parses `text`, the contents of `path` (named in errors), as JSON.
pub(crate) fn parse_json(path: &Path, text: &str) -> crate::Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        FileError::new(path, "not valid JSON (truncated or corrupt?)", Some(Box::new(e) as _))
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_sorted_bmf_and_reads_it_back() {
        let dir = std::env::temp_dir().join(format!("sttbench-bmf-{}", std::process::id()));
        let path = dir.join("nested/results.json");
        let mut bmf = Bmf::new();
        bmf.insert("encode_s16le/sine/20ms", "allocs-per-chunk", Metric::exact(0.0));
        bmf.insert("encode_s16le/noise/20ms", "latency", Metric::with_bounds(60.0, 59.0, 61.5));
        bmf.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.find("noise").unwrap() < text.find("sine").unwrap(), "keys are sorted");
        assert!(!text.contains("lower_value\": null"), "absent bounds are omitted");
        assert_eq!(Bmf::read(&path).unwrap(), bmf);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_and_missing_files_name_the_file() {
        let dir = std::env::temp_dir().join(format!("sttbench-bmf-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"a\": {\"m\": {\"valu\": 1}}}").unwrap();
        let msg = Bmf::read(&bad).unwrap_err().to_string();
        assert!(msg.contains("bad.json") && msg.contains("not Bencher Metric Format"), "{msg}");
        let msg = Bmf::read(dir.join("missing.json")).unwrap_err().to_string();
        assert!(msg.contains("missing.json") && msg.contains("cannot read"), "{msg}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
