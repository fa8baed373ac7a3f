//! Baselines: reading results, storing them, comparing two runs, and the verdict.
//!
//! One reader per source turns results into the one format, [`Bmf`]:
//! [`criterion`] reads criterion's output directory (its last run or a named baseline),
//! [`gungraun`] reads instruction counts, and the memory bench and the self-timed benches
//! write BMF themselves. A [`Baseline`] file is BMF plus the metadata a reviewer needs.
//! [`measure`] says what each measure is, [`stats`] holds the statistics the verdicts use,
//! [`Comparison`] judges two result sets, [`judge()`] is the whole verdict procedure the
//! command line, the scripts and the tests call, [`paired`] judges A/B rounds of two
//! revisions, and [`report`] writes verdicts for people (markdown) and machines (JSON).
//!
//! [`load`] accepts any input as one side of a comparison and validates what it reads,
//! so that a corrupt input is a named error (exit status 2) and never a verdict.
//!
//! This module does not run benchmarks; the scripts in `scripts/` do.

pub mod compare;
pub mod criterion;
pub mod file;
pub mod gungraun;
pub mod host;
mod judge;
pub mod measure;
pub mod paired;
pub mod report;
pub mod settings;
pub mod stats;

use std::path::{Path, PathBuf};

pub use compare::{Comparison, Moved, Row, Verdict};
pub use file::{Baseline, Machine, Metadata};
pub(crate) use judge::judge_sources;
pub use judge::{JudgeRequest, Judgement, Selection, judge};
pub use measure::{Kind, Measure};
pub use settings::{FloorRule, Fraction, Settings, Tolerance};

/// Exit status: nothing regressed.
pub const EXIT_OK: i32 = 0;
/// Exit status: something regressed (or went missing, unless allowed).
pub const EXIT_REGRESSED: i32 = 1;
/// Exit status: an input is missing, corrupt or unusable; no verdict was reached.
pub const EXIT_BROKEN: i32 = 2;
/// Exit status of the scripts: a bench failed to build or run, or a tool crashed.
pub const EXIT_BENCH_FAILED: i32 = 3;

use crate::bmf::Bmf;
use crate::error::FileError;

/// One side of a comparison: its results and, for a baseline file, their metadata.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Source {
    /// Where the results came from.
    pub path: PathBuf,
    /// The metadata, when the source is a baseline file.
    pub metadata: Option<Metadata>,
    /// The results.
    pub results: Bmf,
}

impl Source {
    /// Results without metadata, as if read from `path`.
    pub fn from_results(path: impl Into<PathBuf>, results: Bmf) -> Source {
        Source { path: path.into(), metadata: None, results }
    }

    /// The same results with `metadata`.
    pub fn with_metadata(self, metadata: Metadata) -> Source {
        Source { metadata: Some(metadata), ..self }
    }

    /// Whether these results were measured on a host too busy to make a baseline of:
    /// more than `threshold` of the time lost (default [`host::BUSY`]; see [`host`]).
    /// Results without a measurement count as quiet.
    pub fn host_busy(&self, threshold: f64) -> bool {
        self.metadata.as_ref().and_then(|m| m.host_time_lost).is_some_and(|lost| lost > threshold)
    }
}

/// Reads one side of a comparison and validates the values. `input` is a baseline file,
/// a BMF file, a criterion output directory (its last run), or, like critcmp, the name
/// of a criterion baseline (`cargo bench -- --save-baseline NAME`; `new` is the last
/// run) looked up in [`criterion::home`].
///
/// # Errors
///
/// [`Error::File`](crate::Error::File) naming the file and the problem when the input is
/// missing, unreadable, corrupt, of another schema version, empty, or holds a value that
/// cannot be a measurement (not finite, a timing that is not positive, bounds that do not
/// enclose the value); for a name that is neither a path nor a criterion baseline, the
/// baselines that do exist.
pub fn load(input: impl AsRef<Path>) -> crate::Result<Source> {
    let path = input.as_ref();
    if !path.exists() && criterion::is_baseline_name(path) {
        let home = criterion::home();
        let results = criterion::read_baseline(&home, &path.to_string_lossy())?;
        let source = home.join(path);
        validate(&source, &results)?;
        return Ok(Source { path: source, metadata: None, results });
    }
    if path.is_dir() {
        let results = criterion::read_dir(path)?;
        validate(path, &results)?;
        return Ok(Source { path: path.to_owned(), metadata: None, results });
    }
    from_json(path, crate::bmf::read_json(path)?)
}

/// One side of a comparison from the parsed JSON of `path` (named in errors): a baseline
/// file or BMF, validated as [`load`] does.
pub(crate) fn from_json(path: &Path, value: serde_json::Value) -> crate::Result<Source> {
    let (metadata, results) = if file::is_baseline(&value) {
        let baseline = Baseline::from_value(path, value)?;
        (Some(baseline.metadata), baseline.results)
    } else {
        let bmf = serde_json::from_value(value).map_err(|e| {
            FileError::new(
                path,
                "neither a baseline file nor Bencher Metric Format JSON \
                 ({\"bench\": {\"measure\": {\"value\": …}}})",
                Some(Box::new(e) as _),
            )
        })?;
        (None, bmf)
    };
    validate(path, &results)?;
    Ok(Source { path: path.to_owned(), metadata, results })
}

/// Rejects results a comparison could not judge honestly.
pub fn validate(path: &Path, results: &Bmf) -> crate::Result<()> {
    if results.0.values().all(|m| m.is_empty()) {
        return Err(FileError::new(
            path,
            "holds no results; was the bench run filtered to nothing?",
            None,
        )
        .into());
    }
    for (bench, measures) in &results.0 {
        for (measure, m) in measures {
            let (lo, hi) = (m.lower_value.unwrap_or(m.value), m.upper_value.unwrap_or(m.value));
            let problem = if ![m.value, lo, hi].iter().all(|v| v.is_finite()) {
                "is not a finite number"
            } else if !(lo <= m.value && m.value <= hi) {
                "has bounds that do not enclose its value"
            } else if Kind::of(measure) == Kind::Timing && lo <= 0.0 {
                "is a timing that is not positive"
            } else if m.value < 0.0 {
                "is negative"
            } else {
                continue;
            };
            return Err(FileError::new(
                path,
                format!("`{bench}` measure `{measure}` {problem}; re-run the benchmark"),
                None,
            )
            .into());
        }
    }
    Ok(())
}

/// A result source for [`collect`], by its producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A criterion output directory, read by [`criterion::read_dir`].
    Criterion(PathBuf),
    /// A gungraun output directory, read by [`gungraun::read_dir`].
    Gungraun(PathBuf),
    /// A BMF file, such as the memory bench's.
    Bmf(PathBuf),
}

/// Reads and validates every input and merges them into one result set; a later input
/// wins where two name the same benchmark and measure.
///
/// # Errors
///
/// The first input that cannot be read or holds a value [`validate`] rejects, and
/// [`Error::Setting`](crate::Error::Setting) when there are no inputs at all: an empty
/// baseline would pass every later comparison.
pub fn collect(inputs: impl IntoIterator<Item = Input>) -> crate::Result<Bmf> {
    let mut inputs = inputs.into_iter().peekable();
    if inputs.peek().is_none() {
        return Err(crate::Error::Setting(
            "nothing to collect: pass at least one --criterion DIR, --gungraun DIR or --bmf FILE"
                .into(),
        ));
    }
    let mut all = Bmf::new();
    for input in inputs {
        let (path, results) = match input {
            Input::Criterion(dir) => {
                let bmf = criterion::read_dir(&dir)?;
                (dir, bmf)
            }
            Input::Gungraun(dir) => {
                let bmf = gungraun::read_dir(&dir)?;
                (dir, bmf)
            }
            Input::Bmf(file) => {
                let bmf = Bmf::read(&file)?;
                (file, bmf)
            }
        };
        validate(&path, &results)?;
        all.merge(results);
    }
    Ok(all)
}
/// Every path below `dir` for which `is_match` holds, in sorted order; the search does
/// not descend into a match. One walk for the criterion and gungraun readers, whose
/// output trees differ only in what marks a result.
///
/// # Errors
///
/// [`Error::File`](crate::Error::File) naming a directory that cannot be listed.
fn find_sorted(dir: &Path, is_match: &impl Fn(&Path) -> bool) -> crate::Result<Vec<PathBuf>> {
    let list_err = |e: std::io::Error| {
        FileError::new(dir, "cannot list the directory", Some(Box::new(e) as _))
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(list_err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(list_err)?;
    entries.sort();
    let mut found = Vec::new();
    for path in entries {
        if is_match(&path) {
            found.push(path);
        } else if path.is_dir() {
            found.extend(find_sorted(&path, is_match)?);
        }
    }
    Ok(found)
}
