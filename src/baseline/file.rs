//! The baseline file: results plus what a reviewer needs to trust them.
//!
//! A baseline is BMF results wrapped with a schema tag and version and the metadata that
//! decides whether two runs are comparable at all: the machine (CPU model, cores), the
//! compiler, the commit, the date and the bench settings. Every object is written with
//! its keys in sorted order (fields are declared alphabetically, maps are `BTreeMap`), so
//! a changed baseline reads as a small diff in review.
//!
//! This module reads and writes the file and fills in what it can detect (CPU, cores,
//! the date); it never decides where a baseline goes: `scripts/save-baseline.sh` writes
//! one for a person to review and commit.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bmf::Bmf;
use crate::error::FileError;

/// The value of a baseline file's `schema` field; how files are told apart from BMF.
pub const SCHEMA: &str = "sttbench-baseline";
/// The baseline layout this crate writes and reads. Raise it when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// A stored set of results with the context they were measured in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Baseline {
    /// Where and how the results were measured.
    pub metadata: Metadata,
    /// The measurements, benchmark → measure → value.
    pub results: Bmf,
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
}

/// What a run's results depend on, recorded beside them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// The commit measured (`git rev-parse HEAD`), or "unknown".
    pub commit: String,
    /// When the run finished, UTC, RFC 3339 (`2026-11-27T21:30:00Z`).
    pub date: String,
    /// How busy the host was during the timing benches, when it was measured: the worst
    /// of the time a spinning thread lost before and after
    /// ([`host::time_lost`](super::host::time_lost)) and the share of a core other
    /// processes used while the benches ran (the scripts read `/proc/stat`). Above
    /// [`host::BUSY`](super::host::BUSY) the run's timings do not fail a comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_time_lost: Option<f64>,
    /// The machine the run was measured on.
    pub machine: Machine,
    /// The compiler (`rustc -V`), or "unknown".
    pub rustc: String,
    /// Bench settings that change the numbers (measurement time, sample size, features,
    /// filters…), as the scripts record them.
    pub settings: BTreeMap<String, String>,
}

/// The hardware a run was measured on; timings from different machines compare only as
/// floor-normalised ratios.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub cores: usize,
    /// The CPU model name (`/proc/cpuinfo` "model name"), or "unknown".
    pub cpu_model: String,
}

impl Machine {
    /// Detects this machine. Falls back to "unknown" where the OS does not say.
    pub fn detect() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines().find_map(|l| {
                    l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_owned())
                })
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        Machine { cores, cpu_model }
    }
}

impl Metadata {
    /// Metadata for a run on this machine, now, with the commit and compiler as given.
    pub fn detect(commit: impl Into<String>, rustc: impl Into<String>) -> Self {
        Metadata {
            commit: commit.into(),
            date: utc_now(),
            host_time_lost: None,
            machine: Machine::detect(),
            rustc: rustc.into(),
            settings: BTreeMap::new(),
        }
    }
}

impl Baseline {
    /// A baseline of `results` measured under `metadata`.
    pub fn new(metadata: Metadata, results: Bmf) -> Self {
        Baseline { metadata, results, schema: SCHEMA.to_owned(), schema_version: SCHEMA_VERSION }
    }

    /// Writes the baseline as pretty JSON with sorted keys, creating parent directories.
    ///
    /// # Errors
    ///
    /// [`Error::File`](crate::Error::File) naming `path` when it cannot be written.
    pub fn write(&self, path: impl AsRef<Path>) -> crate::Result<()> {
        crate::bmf::write_json(path.as_ref(), self)
    }

    /// Reads a baseline file written by [`write`](Self::write).
    ///
    /// # Errors
    ///
    /// [`Error::File`](crate::Error::File) naming `path` when it is missing, not JSON, not a
    /// baseline, or of another schema version.
    pub fn read(path: impl AsRef<Path>) -> crate::Result<Baseline> {
        let path = path.as_ref();
        let value = crate::bmf::read_json(path)?;
        Baseline::from_value(path, value)
    }

    /// Interprets already-parsed JSON from `path` as a baseline.
    pub(crate) fn from_value(path: &Path, value: Value) -> crate::Result<Baseline> {
        if !is_baseline(&value) {
            return Err(FileError::new(
                path,
                format!("not a baseline file (no \"schema\": \"{SCHEMA}\")"),
                None,
            )
            .into());
        }
        let version = value.get("schema_version").and_then(Value::as_u64);
        if version != Some(u64::from(SCHEMA_VERSION)) {
            let found = version.map_or_else(|| "no".to_owned(), |v| v.to_string());
            return Err(FileError::new(
                path,
                format!(
                    "baseline schema version {found}, but this sttbench reads version \
                     {SCHEMA_VERSION}; re-create it with scripts/save-baseline.sh"
                ),
                None,
            )
            .into());
        }
        serde_json::from_value(value).map_err(|e| {
            FileError::new(
                path,
                "a malformed baseline file; restore it from git or re-create it with \
                 scripts/save-baseline.sh",
                Some(Box::new(e) as _),
            )
            .into()
        })
    }
}

/// Whether parsed JSON claims to be a baseline file (as opposed to plain BMF).
pub(super) fn is_baseline(value: &Value) -> bool {
    value.get("schema").and_then(Value::as_str) == Some(SCHEMA)
}

/// The current time in UTC as RFC 3339, to the second.
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bmf::Metric;

    #[test]
    fn writes_sorted_keys_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("sttbench-baseline-{}", std::process::id()));
        let path = dir.join("b.json");
        let mut results = Bmf::new();
        results.insert("z/b", "instructions", Metric::exact(10.0));
        results.insert("a/b", "latency", Metric::with_bounds(1.0, 0.5, 1.5));
        let mut meta = Metadata::detect("abc123", "rustc 1.95.0");
        meta.settings.insert("sample-size".into(), "20".into());
        meta.host_time_lost = Some(0.02);
        let baseline = Baseline::new(meta, results);
        baseline.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let keys = [
            "\"metadata\"",
            "\"commit\"",
            "\"date\"",
            "\"host_time_lost\"",
            "\"cores\"",
            "\"cpu_model\"",
            "\"rustc\"",
            "\"results\"",
            "\"a/b\"",
            "\"z/b\"",
            "\"schema\"",
            "\"schema_version\"",
        ];
        let positions: Vec<_> = keys.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "keys out of order:\n{text}");
        assert_eq!(Baseline::read(&path).unwrap(), baseline);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn wrong_schema_version_is_named() {
        let path = Path::new("baselines/x.json");
        let value = serde_json::json!({"schema": SCHEMA, "schema_version": 99});
        let msg = Baseline::from_value(path, value).unwrap_err().to_string();
        assert!(msg.contains("baselines/x.json") && msg.contains("schema version 99"), "{msg}");
        let value = serde_json::json!({"schema": SCHEMA, "schema_version": 1, "results": {}});
        let msg = Baseline::from_value(path, value).unwrap_err().to_string();
        assert!(msg.contains("malformed baseline"), "{msg}");
    }
}
