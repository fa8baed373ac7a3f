//! Reads criterion 0.8's output directory into Bencher Metric Format.
//!
//! Criterion leaves one directory per benchmark under `target/criterion` (or
//! `$CRITERION_HOME`), named after its ID with unsafe characters replaced, and writes the
//! last run into `new/`: `benchmark.json` (the real ID and the declared throughput) and
//! `estimates.json` (point estimates and bootstrap confidence intervals, in ns per
//! iteration). This reader turns each `new/` into BMF measures:
//!
//! - [`LATENCY`]: the **median** time per iteration in ns, with its confidence interval.
//!   The median, not criterion's "typical" slope or the mean, because a neighbour's burst
//!   on a shared 2-core machine drags whole samples out, and the median ignores them.
//! - [`BYTES_PER_SECOND`] / [`ELEMENTS_PER_SECOND`]: the declared throughput divided by that
//!   time, for trend charts; the comparison does not judge it again (it is the same
//!   number seen the other way up).
//!
//! A named baseline (`cargo bench -- --save-baseline before` leaves `before/` beside
//! `new/`) reads the same way with [`read_baseline`], so that, as with critcmp, a
//! criterion user compares their own saved runs by name.
//!
//! It deliberately reads nothing else: not `change/` (criterion's own verdict, which we
//! replace), not the raw samples.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::bmf::{Bmf, Metric};
use crate::error::FileError;

/// The measure holding the median time per iteration, in nanoseconds.
pub const LATENCY: &str = "latency";
/// The measure holding declared bytes per second (`Throughput::Bytes`/`BytesDecimal`).
pub const BYTES_PER_SECOND: &str = "bytes-per-second";
/// The measure holding declared elements per second (`Throughput::Elements`).
pub const ELEMENTS_PER_SECOND: &str = "elements-per-second";

/// `new/benchmark.json`: only the fields we use.
#[derive(Debug, Deserialize)]
struct BenchmarkJson {
    full_id: String,
    #[serde(default)]
    throughput: Option<Throughput>,
}

/// Criterion's `Throughput` enum as serde writes it (`{"Bytes": 640}`).
#[derive(Debug, Deserialize)]
enum Throughput {
    Bytes(f64),
    BytesDecimal(f64),
    Bits(f64),
    Elements(f64),
    ElementsAndBytes { elements: f64, bytes: f64 },
}

/// `new/estimates.json`: only the estimate we report.
#[derive(Debug, Deserialize)]
struct EstimatesJson {
    median: Estimate,
}

#[derive(Debug, Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Debug, Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

/// The name criterion gives the last run of every benchmark.
pub const LAST_RUN: &str = "new";

/// Where criterion writes, as criterion decides it: `$CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else `target/criterion`.
pub fn home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("criterion")
}

/// Whether `input` could name a criterion baseline: one path component, not a JSON file
/// name. (A path that exists is read as a path first.)
pub fn is_baseline_name(input: &Path) -> bool {
    let mut parts = input.components();
    matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None))
        && input.extension().is_none_or(|e| e != "json")
}

/// Reads every benchmark's last run (`**/new/{benchmark,estimates}.json`) under `dir`.
///
/// # Errors
///
/// As [`read_baseline`].
pub fn read_dir(dir: impl AsRef<Path>) -> crate::Result<Bmf> {
    read_baseline(dir.as_ref(), LAST_RUN)
}

/// Reads every benchmark's run saved as `name` (`**/<name>/{benchmark,estimates}.json`)
/// under `dir`; `new` is the last run.
///
/// # Errors
///
/// [`Error::File`](crate::Error::File) naming the directory when it is missing or holds
/// no run of that name (with the names it does hold), or naming the JSON file that is
/// missing, unreadable or malformed.
pub fn read_baseline(dir: &Path, name: &str) -> crate::Result<Bmf> {
    if !dir.is_dir() {
        return Err(FileError::new(
            dir,
            "not a directory; pass a criterion output directory such as target/criterion, \
             or run `cargo bench` first",
            None,
        )
        .into());
    }
    let is_run = |path: &Path| {
        path.join("estimates.json").is_file() && path.join("benchmark.json").is_file()
    };
    let runs = super::find_sorted(dir, &|path| {
        path.file_name().is_some_and(|n| n == name) && is_run(path)
    })?;
    if runs.is_empty() {
        let mut names: Vec<String> = super::find_sorted(dir, &|path| is_run(path))?
            .iter()
            .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names.dedup();
        let problem = if name == LAST_RUN {
            "holds no criterion results (no */new/estimates.json); run `cargo bench` first"
                .to_owned()
        } else {
            format!(
                "holds no criterion baseline `{name}` (found: {}); save one with \
                 `cargo bench -- --save-baseline {name}`",
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            )
        };
        return Err(FileError::new(dir, problem, None).into());
    }
    let mut bmf = Bmf::new();
    for run in runs {
        read_run(&run, &mut bmf)?;
    }
    Ok(bmf)
}

/// Adds one benchmark's measures from one run's directory (`new/` or a named baseline).
fn read_run(new_dir: &Path, bmf: &mut Bmf) -> crate::Result<()> {
    let read = |name: &str| {
        let path = new_dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| {
            FileError::new(
                &path,
                "cannot read the file (an interrupted bench run?)",
                Some(Box::new(e) as _),
            )
        })
    };
    let benchmark = read("benchmark.json")?;
    let estimates = read("estimates.json")?;
    add_run(new_dir, &benchmark, &estimates, bmf)
}

/// Adds one run from the texts of its `benchmark.json` and `estimates.json`, found in
/// `new_dir` (named in errors).
pub(crate) fn add_run(
    new_dir: &Path,
    benchmark: &str,
    estimates: &str,
    bmf: &mut Bmf,
) -> crate::Result<()> {
    let benchmark: BenchmarkJson = parse_json(&new_dir.join("benchmark.json"), benchmark)?;
    let estimates_path = new_dir.join("estimates.json");
    let estimates: EstimatesJson = parse_json(&estimates_path, estimates)?;
    let m = estimates.median;
    let (lower, upper) = (m.confidence_interval.lower_bound, m.confidence_interval.upper_bound);
    if !(m.point_estimate > 0.0
        && lower > 0.0
        && lower <= m.point_estimate
        && m.point_estimate <= upper)
    {
        return Err(FileError::new(
            estimates_path,
            format!(
                "median {} ns with interval [{lower}, {upper}] is not a positive time inside \
                 its interval; re-run the benchmark",
                m.point_estimate
            ),
            None,
        )
        .into());
    }
    let id = benchmark.full_id;
    if bmf.get(&id, LATENCY).is_some() {
        return Err(FileError::new(
            new_dir,
            format!("a second result for benchmark `{id}`; two directories map to one ID"),
            None,
        )
        .into());
    }
    bmf.insert(&id, LATENCY, Metric::with_bounds(m.point_estimate, lower, upper));
    for (measure, per_iter) in
        benchmark.throughput.map(Throughput::per_iteration).unwrap_or_default()
    {
        // Rate = amount / time; the slowest time bounds the lowest rate.
        let per_s = |ns: f64| per_iter * 1e9 / ns;
        bmf.insert(
            &id,
            measure,
            Metric::with_bounds(per_s(m.point_estimate), per_s(upper), per_s(lower)),
        );
    }
    Ok(())
}

impl Throughput {
    /// The BMF rate measures and the amount processed per iteration, in base units.
    fn per_iteration(self) -> Vec<(&'static str, f64)> {
        let amounts = match self {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => vec![(BYTES_PER_SECOND, n)],
            Throughput::Bits(n) => vec![(BYTES_PER_SECOND, n / 8.0)],
            Throughput::Elements(n) => vec![(ELEMENTS_PER_SECOND, n)],
            Throughput::ElementsAndBytes { elements, bytes } => {
                vec![(ELEMENTS_PER_SECOND, elements), (BYTES_PER_SECOND, bytes)]
            }
        };
        amounts.into_iter().filter(|&(_, n)| n > 0.0).collect()
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> crate::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        FileError::new(
            path,
            "not criterion 0.8 output; re-run the benchmark with this crate's criterion",
            Some(Box::new(e) as _),
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_run(root: &Path, dir: &str, benchmark: &str, estimates: &str) {
        let new = root.join(dir).join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(new.join("benchmark.json"), benchmark).unwrap();
        std::fs::write(new.join("estimates.json"), estimates).unwrap();
    }

    fn estimates(median: f64, lo: f64, hi: f64) -> String {
        let e = |p: f64, l: f64, u: f64| {
            format!(
                r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{l},"upper_bound":{u}}},"point_estimate":{p},"standard_error":0.1}}"#
            )
        };
        format!(
            r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":null,"std_dev":{}}}"#,
            e(median + 1.0, lo, hi + 2.0),
            e(median, lo, hi),
            e(1.0, 0.5, 1.5),
            e(2.0, 1.0, 3.0)
        )
    }

    #[test]
    fn reads_median_and_throughput_by_full_id_and_skips_stored_baselines() {
        let root = std::env::temp_dir().join(format!("sttbench-crit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let bench = r#"{"group_id":"encode_s16le","function_id":"sine","value_str":"20ms",
            "throughput":{"Bytes":640},"full_id":"encode_s16le/sine/20ms",
            "directory_name":"encode_s16le/sine/20ms","title":"encode_s16le/sine/20ms"}"#;
        write_run(&root, "encode_s16le/sine/20ms", bench, &estimates(100.0, 98.0, 103.0));
        // A stored criterion baseline beside `new/` must not be read.
        let base = root.join("encode_s16le/sine/20ms/base");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("estimates.json"), "garbage").unwrap();
        let bmf = read_dir(&root).unwrap();
        assert_eq!(
            bmf.get("encode_s16le/sine/20ms", LATENCY),
            Some(Metric::with_bounds(100.0, 98.0, 103.0))
        );
        let rate = bmf.get("encode_s16le/sine/20ms", BYTES_PER_SECOND).unwrap();
        assert_eq!(rate.value, 6.4e9);
        assert!(rate.lower_value.unwrap() < rate.value && rate.value < rate.upper_value.unwrap());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn broken_runs_name_the_file() {
        let root = std::env::temp_dir().join(format!("sttbench-crit-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let msg = read_dir(&root).unwrap_err().to_string();
        assert!(msg.contains("no criterion results"), "{msg}");
        let bench = r#"{"full_id":"a/b"}"#;
        write_run(&root, "a/b", bench, "{\"mean\": 1}");
        let msg = read_dir(&root).unwrap_err().to_string();
        assert!(
            msg.contains("a/b/new/estimates.json") && msg.contains("not criterion 0.8"),
            "{msg}"
        );
        write_run(&root, "a/b", bench, &estimates(-1.0, -2.0, 0.0));
        let msg = read_dir(&root).unwrap_err().to_string();
        assert!(msg.contains("not a positive time"), "{msg}");
        std::fs::remove_dir_all(&root).unwrap();
        let msg = read_dir(root.join("absent")).unwrap_err().to_string();
        assert!(msg.contains("absent") && msg.contains("not a directory"), "{msg}");
    }
}
