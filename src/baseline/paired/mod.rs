//! Paired A/B: two revisions measured in alternating fresh processes, judged on the
//! per-round ratios HEAD ÷ BASE.
//!
//! On a shared 2-core machine the host's state drifts over minutes and a stored baseline
//! from last night cannot tell +20 % from noise. Measuring both revisions in turn, round
//! after round (`scripts/ab.sh` runs them ABBA so a steady drift cancels), makes each
//! round a pair that saw the same machine; the ratio within the pair is what is judged.
//! This is tango-bench's method across processes instead of within one.
//!
//! For each benchmark the judged quantity per round is, in order of preference:
//!
//! 1. its interleaved `ratio` measure (the bench's own time ÷ its floor's, alternated
//!    within one process), when the bench writes one;
//! 2. its `latency` divided by its floor's `latency` from the same process, when a
//!    [`FloorRule`](super::FloorRule) names a floor;
//! 3. its raw `latency` (or other timing measure).
//!
//! The estimate is the median of the per-round ratios and the interval its order-statistics
//! (sign-test) interval ([`stats::median_interval`]), taken on the log ratios so that a
//! slowdown and the matching speed-up are the same distance from 1. It assumes nothing
//! about the distribution, and the few rounds a busy neighbour spoils are outvoted rather
//! than averaged in. A benchmark **regressed** when the interval lies above 1 (the
//! slowdown is real at the confidence level: at most `k − 1` rounds went the other way)
//! *and* the estimate is above the noise threshold (it is large enough to matter):
//! significance and size, as tango-bench decides. Beside it the
//! report gives the raw paired ratio and the floor's own paired ratio, so a reader sees
//! whether the code or the machine moved.
//!
//! Counts (instructions, allocations) are deterministic and are compared once, exactly,
//! as [`Comparison`] does. This module reads the rounds and judges; the script runs them.

mod report;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::compare::Verdict;
use super::measure::Kind;
use super::stats::{self, Estimate};
use super::{Comparison, Input, Settings};
use crate::bmf::{Bmf, Metric};
use crate::error::FileError;

pub use report::PairedReport;

/// One round: the same benchmarks measured once for each revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Round {
    /// The base revision's results.
    pub base: Bmf,
    /// The head revision's results.
    pub head: Bmf,
}

/// How paired rounds are judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PairedSettings {
    /// A timing regresses only if its estimated ratio exceeds `1 + noise_threshold`
    /// (and improves only below `1 / (1 + noise_threshold)`). Default `0.02`: the
    /// paired design removes the machine's drift, so what remains is a few percent of
    /// code-layout luck between two builds, which a reviewer would not call a change.
    pub noise_threshold: f64,
    /// The confidence of the interval that must exclude 1. Default `0.99`: a nightly
    /// judges a dozen benchmarks, and at 95 % one in twenty unchanged ones would be
    /// "significant" by chance. Needs at least 8 rounds to reach (then every round must
    /// agree); with 12, one round may go the other way, with 16 two. Fewer than 8 give the
    /// range of the rounds, and the report says so.
    pub confidence: f64,
    /// Count tolerances, floors, and whether a benchmark on one side only is allowed.
    /// Default: [`Settings::default`].
    pub settings: Settings,
}

impl Default for PairedSettings {
    fn default() -> Self {
        PairedSettings { noise_threshold: 0.02, confidence: 0.99, settings: Settings::default() }
    }
}

impl PairedSettings {
    /// Sets [`Self::noise_threshold`] (a fraction).
    pub fn noise_threshold(mut self, fraction: f64) -> Self {
        self.noise_threshold = fraction;
        self
    }

    /// Sets [`Self::confidence`] (a fraction, e.g. `0.99`).
    pub fn confidence(mut self, confidence: f64) -> Self {
        self.confidence = confidence;
        self
    }

    /// Sets [`Self::settings`].
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }
}

/// What a paired timing row was judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The bench's own interleaved `ratio` to its floor.
    Interleaved,
    /// `latency ÷` the floor's `latency`, from the same process.
    Floor,
    /// The raw timing.
    Raw,
}

/// One benchmark's paired verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PairedRow {
    /// The benchmark ID.
    pub benchmark: String,
    /// The measure judged (`ratio`, `latency`, a count …).
    pub measure: String,
    /// Timing or count.
    pub kind: Kind,
    /// For timings, what the per-round ratio was taken of.
    pub basis: Option<Basis>,
    /// For timings, HEAD ÷ BASE of the judged quantity: estimate and interval.
    pub ratio: Option<Estimate>,
    /// For timings judged on a floor or interleaved ratio, the raw `latency` paired ratio.
    pub raw: Option<Estimate>,
    /// The floor's own paired ratio, when the bench has a floor that ran.
    pub floor: Option<Estimate>,
    /// The floor benchmark, when it has one.
    pub floor_id: Option<String>,
    /// For timings, the judged HEAD ÷ BASE ratio of each round, in round order.
    pub rounds: Vec<f64>,
    /// For counts, the base and head values.
    pub counts: Option<[f64; 2]>,
    /// For counts, the highest head value that passes.
    pub limit: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Every paired row, worst first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PairedComparison {
    /// Rows: regressions first, by size.
    pub rows: Vec<PairedRow>,
    /// How many rounds were judged.
    pub rounds: usize,
    /// The settings used.
    pub settings: PairedSettings,
}

impl PairedComparison {
    /// Judges `rounds` of timings, and `counts` (base, head) when given.
    pub fn new(rounds: &[Round], counts: Option<&Round>, settings: PairedSettings) -> Self {
        let mut ids: Vec<(&str, &str)> = rounds
            .iter()
            .flat_map(|r| [&r.base, &r.head])
            .flat_map(|b| {
                b.0.iter().flat_map(|(id, m)| m.keys().map(move |k| (id.as_str(), k.as_str())))
            })
            .filter(|(_, m)| Kind::of(m) == Kind::Timing)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        // A bench's latency folds into its interleaved-ratio row when both revisions
        // wrote the ratio in every round; when only one did (a base from before the
        // encode bench wrote it), both are judged on latency ÷ floor instead.
        let interleaved = |id: &str| pairs(rounds, id, "ratio").is_some();
        let mut rows: Vec<PairedRow> = Vec::new();
        for (id, measure) in &ids {
            let skip = match *measure {
                "latency" => interleaved(id),
                "ratio" => !interleaved(id) && ids.contains(&(id, "latency")),
                _ => false,
            };
            if !skip {
                rows.push(timing_row(rounds, id, measure, &settings));
            }
        }
        if let Some(counts) = counts {
            let c = Comparison::new(&counts.base, &counts.head, settings.settings.clone());
            rows.extend(c.rows.into_iter().filter(|r| r.kind == Kind::Count).map(|r| PairedRow {
                benchmark: r.benchmark,
                measure: r.measure,
                kind: Kind::Count,
                basis: None,
                ratio: None,
                raw: None,
                floor: None,
                floor_id: None,
                rounds: Vec::new(),
                counts: r.old.zip(r.new).map(|(o, n)| [o.value, n.value]),
                limit: r.limit,
                verdict: r.verdict,
            }));
        }
        let severity = |r: &PairedRow| -r.ratio.map_or(f64::INFINITY, |e| e.value);
        rows.sort_by(|a, b| {
            (a.verdict, severity(a))
                .partial_cmp(&(b.verdict, severity(b)))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| (&a.benchmark, &a.measure).cmp(&(&b.benchmark, &b.measure)))
        });
        PairedComparison { rows, rounds: rounds.len(), settings }
    }

    /// The rows with `verdict`.
    pub fn with(&self, verdict: Verdict) -> impl Iterator<Item = &PairedRow> {
        self.rows.iter().filter(move |r| r.verdict == verdict)
    }

    /// 0 nothing regressed, 1 something did, 2 a benchmark the filter selected ran on one
    /// side only (unless allowed): the revisions do not measure the same thing.
    pub fn exit_code(&self) -> i32 {
        let one_sided =
            self.rows.iter().any(|r| matches!(r.verdict, Verdict::Missing | Verdict::New));
        if one_sided && !self.settings.settings.allow_missing {
            super::EXIT_BROKEN
        } else if self.with(Verdict::Regressed).next().is_some() {
            super::EXIT_REGRESSED
        } else {
            super::EXIT_OK
        }
    }

    /// The head revision's timings as BMF, each the median over the rounds with its
    /// order-statistics interval: for trend charts and the nightly's `new.json`.
    pub fn head_results(rounds: &[Round], confidence: f64) -> Bmf {
        let mut out = Bmf::new();
        let Some(first) = rounds.first() else { return out };
        for (id, measures) in &first.head.0 {
            for measure in measures.keys().filter(|m| Kind::of(m) != Kind::Count) {
                let values: Vec<f64> = rounds
                    .iter()
                    .filter_map(|r| r.head.get(id, measure))
                    .map(|m| m.value)
                    .collect();
                if let Some(e) = stats::median_interval(&values, confidence) {
                    out.insert(id, measure, Metric::with_bounds(e.value, e.lower, e.upper));
                }
            }
        }
        out
    }
}

/// Per-round values of `measure` of `id` on one side, if every round has it.
fn series(rounds: &[Round], side: fn(&Round) -> &Bmf, id: &str, measure: &str) -> Option<Vec<f64>> {
    rounds.iter().map(|r| side(r).get(id, measure).map(|m| m.value)).collect()
}

/// HEAD ÷ BASE per round of `measure` of `id`, if both sides have it in every round.
fn pairs(rounds: &[Round], id: &str, measure: &str) -> Option<Vec<f64>> {
    let base = series(rounds, |r| &r.base, id, measure)?;
    let head = series(rounds, |r| &r.head, id, measure)?;
    Some(head.iter().zip(&base).map(|(h, b)| h / b).collect())
}

/// The paired estimate of per-round ratios: the median of their logs and its interval,
/// back as ratios.
fn estimate(ratios: &[f64], confidence: f64) -> Option<Estimate> {
    let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
    let e = stats::median_interval(&logs, confidence)?;
    Some(Estimate { value: e.value.exp(), lower: e.lower.exp(), upper: e.upper.exp(), ..e })
}

fn timing_row(rounds: &[Round], id: &str, measure: &str, s: &PairedSettings) -> PairedRow {
    let on = |side: fn(&Round) -> &Bmf| rounds.iter().any(|r| side(r).get(id, measure).is_some());
    let floor_id = s.settings.floor_of(id);
    let floor_pairs = floor_id.as_deref().and_then(|f| pairs(rounds, f, "latency"));
    let raw_pairs = pairs(rounds, id, "latency");
    let mut row = PairedRow {
        benchmark: id.to_owned(),
        measure: measure.to_owned(),
        kind: Kind::Timing,
        basis: None,
        ratio: None,
        raw: None,
        floor: floor_pairs.as_deref().and_then(|p| estimate(p, s.confidence)),
        floor_id: floor_id.clone().filter(|_| floor_pairs.is_some()),
        rounds: Vec::new(),
        counts: None,
        limit: None,
        verdict: Verdict::Unchanged,
    };
    let Some(judged) = pairs(rounds, id, measure) else {
        row.verdict = match (on(|r| &r.base), on(|r| &r.head)) {
            (true, false) | (true, true) => Verdict::Missing,
            _ => Verdict::New,
        };
        return row;
    };
    let (basis, judged) = match (measure, &floor_pairs) {
        ("ratio", _) => (Basis::Interleaved, judged),
        ("latency", Some(floor)) => {
            (Basis::Floor, judged.iter().zip(floor).map(|(b, f)| b / f).collect())
        }
        _ => (Basis::Raw, judged),
    };
    if basis != Basis::Raw {
        row.raw = raw_pairs.as_deref().and_then(|p| estimate(p, s.confidence));
    }
    row.basis = Some(basis);
    row.ratio = estimate(&judged, s.confidence);
    row.rounds = judged;
    let t = s.noise_threshold;
    row.verdict = match row.ratio {
        _ if s.settings.is_floor(id) => Verdict::Floor,
        Some(e) if e.lower > 1.0 && e.value > 1.0 + t => Verdict::Regressed,
        Some(e) if e.upper < 1.0 && e.value < 1.0 / (1.0 + t) => Verdict::Improved,
        _ => Verdict::Unchanged,
    };
    row
}

/// Reads the rounds `scripts/ab.sh` leaves under `dir`: `rounds/<n>/{base,head}/`, each
/// holding a criterion directory `criterion/` and BMF files (`*.json`), and the counts in
/// `counts/{base,head}/` when they were taken.
///
/// # Errors
///
/// [`Error::File`](crate::Error::File) naming the directory that holds no rounds, or the
/// side of a round that holds no results or a broken file.
pub fn read_rounds(dir: &Path) -> crate::Result<(Vec<Round>, Option<Round>)> {
    let rounds_dir = dir.join("rounds");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&rounds_dir)
        .map_err(|e| {
            FileError::new(
                &rounds_dir,
                "cannot list the A/B rounds; run scripts/ab.sh",
                Some(Box::new(e) as _),
            )
        })?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(FileError::new(&rounds_dir, "holds no rounds; run scripts/ab.sh", None).into());
    }
    let rounds = names
        .iter()
        .map(|round| {
            Ok(Round {
                base: read_side(&round.join("base"))?,
                head: read_side(&round.join("head"))?,
            })
        })
        .collect::<crate::Result<Vec<_>>>()?;
    let counts = dir.join("counts");
    let counts = if counts.is_dir() {
        Some(Round {
            base: read_side(&counts.join("base"))?,
            head: read_side(&counts.join("head"))?,
        })
    } else {
        None
    };
    Ok((rounds, counts))
}

/// One side of one round: its criterion directory and BMF files, merged.
fn read_side(dir: &Path) -> crate::Result<Bmf> {
    let mut inputs = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        FileError::new(dir, "cannot list the round's results", Some(Box::new(e) as _))
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    for path in paths {
        if path.file_name().is_some_and(|n| n == "criterion") && path.is_dir() {
            inputs.push(Input::Criterion(path));
        } else if path.extension().is_some_and(|e| e == "json") {
            inputs.push(Input::Bmf(path));
        }
    }
    if inputs.is_empty() {
        return Err(
            FileError::new(dir, "holds no results (no criterion/ and no *.json)", None).into()
        );
    }
    super::collect(inputs)
}
