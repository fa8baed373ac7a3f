//! The verdict engine: two result sets in, one judged row per benchmark and measure out.
//!
//! Each measure is judged by its nature ([`Kind`]):
//!
//! - **Counts** (instructions, allocations, bytes) are exact, so they are compared
//!   exactly against a [`Tolerance`](super::Tolerance): `new > old + tolerance` is a
//!   regression, whatever the machine was doing. Instruction counts taken by different
//!   compilers are [`Verdict::Incomparable`]: neither pass nor fail, re-baseline.
//! - **Timings** are estimates with confidence intervals. The change and its interval
//!   are computed on the log scale, where the intervals of independent estimates combine
//!   by root-sum-square ([`LogInterval`]). Where the same run measured a floor
//!   ([`FloorRule`](super::FloorRule)), the change judged is that of bench ÷ floor, with
//!   its own interval, so it can flag as well as clear; the raw change is reported beside
//!   it with which of the two moved ([`Moved`]). A timing regresses when its whole
//!   interval lies above the noise threshold; a flagged one must then reproduce on a
//!   re-run ([`Comparison::confirm`]) that does not clear it.
//! - **A busy host** widens the threshold by what was measured: a run that lost a
//!   fraction `L` of its time to neighbours can read up to `1 / (1 − L)` slower, so the
//!   regression threshold is multiplied by how much more time the new run lost than the
//!   old. A regression beyond the widened threshold still fails; one between the plain
//!   and the widened threshold is [`Verdict::HostBusy`].
//! - **Floors** are references for the machine: reported, never judged (their instruction
//!   counts included).
//! - **Derived** measures (throughput, the latency seen the other way up) are not judged
//!   twice and do not appear in the comparison.
//!
//! A benchmark in the old results and not in the new is [`Verdict::Missing`], which fails
//! unless [`Settings::allow_missing`](super::Settings) says otherwise; a new one is
//! reported. Every gated measure is lower-is-better. This module does not read files or
//! print.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::measure::Kind;
use super::settings::Settings;
use super::stats::LogInterval;
use super::{Metadata, Source};
use crate::bmf::{Bmf, Metric};

/// The judgement on one benchmark's measure, in report order (worst first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse beyond the tolerance or noise threshold (and, for a re-run timing, again).
    Regressed,
    /// In the old results only: a failure unless missing benchmarks are allowed.
    Missing,
    /// Counts that cannot be compared (instructions from another compiler): neither a
    /// pass nor a failure; re-baseline with the compiler in use.
    Incomparable,
    /// Beyond the noise threshold, but inside the widening a busy host earned: not a
    /// failure.
    HostBusy,
    /// A timing that looked regressed but not on a re-run: not a failure.
    NotReproduced,
    /// In the new results only.
    New,
    /// Better beyond the tolerance or noise threshold.
    Improved,
    /// Within tolerance or noise.
    Unchanged,
    /// A floor's own figure: a reference for the machine, reported, never judged.
    Floor,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Regressed => "regressed",
            Verdict::Missing => "missing",
            Verdict::Incomparable => "incomparable: re-baseline",
            Verdict::HostBusy => "host busy",
            Verdict::NotReproduced => "not reproduced",
            Verdict::New => "new",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Floor => "floor",
        })
    }
}

/// For a floor-normalised timing: which of the raw time and the ratio to the floor moved
/// beyond the noise threshold (either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Moved {
    /// Both: the code under test changed (or the machine did, and the floor with it).
    Both,
    /// Only the raw time: the machine changed and the floor with it; the code did not.
    Raw,
    /// Only the ratio: the floor moved against the code (or the code changed while the
    /// machine changed the other way).
    Normalised,
    /// Neither.
    Neither,
}

/// One benchmark's measure, old against new.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Row {
    /// The benchmark ID.
    pub benchmark: String,
    /// The BMF measure.
    pub measure: String,
    /// How it was judged.
    pub kind: Kind,
    /// The old value, if the benchmark existed there.
    pub old: Option<Metric>,
    /// The new value, if the benchmark exists now.
    pub new: Option<Metric>,
    /// The judged relative change (`0.25` = 25 % worse): of the floor-normalised ratio when
    /// `floor` is set. `None` when one side is absent or a count rose from zero.
    pub change: Option<f64>,
    /// For timings, the confidence interval of `change`.
    pub change_interval: Option<[f64; 2]>,
    /// For timings, the thresholds the interval was held against: improved below the
    /// first, regressed above the second (the noise threshold, widened for a busy host).
    pub threshold: Option<[f64; 2]>,
    /// The floor benchmark the timing was divided by, in both runs.
    pub floor: Option<String>,
    /// With a floor, the change of the raw time.
    pub raw_change: Option<f64>,
    /// With a floor, the confidence interval of the raw change.
    pub raw_interval: Option<[f64; 2]>,
    /// With a floor, the change of the floor's own time.
    pub floor_change: Option<f64>,
    /// With a floor, which of raw and normalised moved beyond the noise threshold.
    pub moved: Option<Moved>,
    /// For counts, the highest value that passes.
    pub limit: Option<f64>,
    /// The smallest judged change over the re-runs, for timings that were re-run.
    pub rerun_change: Option<f64>,
    /// Why the row was not judged, when it was not (e.g. the two compilers).
    pub note: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
}

/// How much of their time the two runs lost to other processes ([`super::host`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Hosts {
    old: f64,
    new: f64,
}

impl Hosts {
    fn of(old: &Source, new: &Source) -> Hosts {
        let lost = |s: &Source| s.metadata.as_ref().and_then(|m| m.host_time_lost).unwrap_or(0.0);
        Hosts { old: lost(old), new: lost(new) }
    }

    /// How much slower than the old the new run may read for the host alone: the ratio
    /// of the time each had, `(1 − L_old) / (1 − L_new)`. A meter reading of 1 (no time
    /// at all) is capped at 95 % lost, which still fails a 20× regression.
    fn inflation(self) -> f64 {
        let had = |lost: f64| 1.0 - lost.clamp(0.0, 0.95);
        had(self.old) / had(self.new)
    }
}

/// Every judged row, worst first, and the settings used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Comparison {
    /// Rows sorted worst first: by verdict, then the larger change first.
    pub rows: Vec<Row>,
    /// What was tolerated.
    pub settings: Settings,
    /// Whether flagged timings were re-run ([`Comparison::confirm`]).
    pub rerun: bool,
    /// The factor by which a busy host widened the regression threshold (1 = not at all),
    /// the worst over the first run and its re-runs.
    pub host_widening: f64,
    /// Set when instruction counts were not compared: the two compilers.
    pub compilers: Option<[String; 2]>,
}

impl Comparison {
    /// Judges `new` against `old`, results alone: no host or compiler information.
    ///
    /// Inputs are expected to be validated ([`crate::baseline::load`] rejects non-finite
    /// values and timings that are not positive).
    pub fn new(old: &Bmf, new: &Bmf, settings: Settings) -> Comparison {
        Comparison::judge_all(old, new, settings, Hosts::default(), None)
    }

    /// Judges `new` against `old` with what their metadata says: how busy each host was
    /// (widening the noise threshold) and which compiler each used (instruction counts
    /// from different compilers are incomparable).
    pub fn of(old: &Source, new: &Source, settings: Settings) -> Comparison {
        let compilers = compilers(old.metadata.as_ref(), new.metadata.as_ref());
        Comparison::judge_all(&old.results, &new.results, settings, Hosts::of(old, new), compilers)
    }

    fn judge_all(
        old: &Bmf,
        new: &Bmf,
        settings: Settings,
        hosts: Hosts,
        compilers: Option<[String; 2]>,
    ) -> Comparison {
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for side in [old, new] {
            for (bench, measures) in &side.0 {
                keys.extend(measures.keys().map(|m| (bench.as_str(), m.as_str())));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let judge = Judge { old, new, settings: &settings, hosts, compilers: compilers.as_ref() };
        let rows = keys
            .into_iter()
            .filter(|(_, m)| Kind::of(m) != Kind::Derived)
            .map(|(b, m)| judge.row(b, m))
            .collect();
        let mut comparison = Comparison {
            rows,
            settings,
            rerun: false,
            host_widening: hosts.inflation().max(1.0),
            compilers,
        };
        comparison.sort();
        comparison
    }

    /// Re-judges every regressed timing against `rerun`, another measurement of the new
    /// build: it becomes [`Verdict::NotReproduced`] only if the re-run reads unchanged or
    /// improved. A re-run that reads regressed, or regressed within the widening its own
    /// busy host earned, leaves it regressed: a busy re-run cannot clear anything. Call it
    /// once per re-run. Counts are deterministic and are not re-judged.
    pub fn confirm(&mut self, old: &Source, rerun: &Source) {
        let again = Comparison::of(old, rerun, self.settings.clone());
        self.host_widening = self.host_widening.max(again.host_widening);
        for row in self
            .rows
            .iter_mut()
            .filter(|r| r.kind == Kind::Timing && r.verdict == Verdict::Regressed)
        {
            let twin = again
                .rows
                .iter()
                .find(|t| t.benchmark == row.benchmark && t.measure == row.measure);
            let change = twin.and_then(|t| t.change);
            row.rerun_change = match (row.rerun_change, change) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => b.or(a),
            };
            if twin.is_some_and(|t| matches!(t.verdict, Verdict::Unchanged | Verdict::Improved)) {
                row.verdict = Verdict::NotReproduced;
            }
        }
        self.rerun = true;
        self.sort();
    }

    /// Whether the gate fails: something regressed, or went missing while missing
    /// benchmarks are not allowed. The nightly's exit status 1.
    pub fn failed(&self) -> bool {
        self.rows.iter().any(|r| {
            r.verdict == Verdict::Regressed
                || (r.verdict == Verdict::Missing && !self.settings.allow_missing)
        })
    }

    /// The rows with `verdict`.
    pub fn with(&self, verdict: Verdict) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.verdict == verdict)
    }

    /// How many rows have each verdict.
    pub fn counts(&self) -> BTreeMap<Verdict, usize> {
        let mut counts = BTreeMap::new();
        for row in &self.rows {
            *counts.entry(row.verdict).or_insert(0) += 1;
        }
        counts
    }

    /// The timing benchmarks flagged as regressed, plus the floors they were divided by:
    /// what a re-run has to measure again, sorted.
    pub fn flagged_timings(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .with(Verdict::Regressed)
            .filter(|r| r.kind == Kind::Timing)
            .flat_map(|r| std::iter::once(r.benchmark.clone()).chain(r.floor.clone()))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// A criterion filter that re-runs exactly [`flagged_timings`](Self::flagged_timings)
    /// (`^(a|b)$`, each ID escaped as a literal), or `None` when nothing was flagged.
    pub fn rerun_filter(&self) -> Option<String> {
        let ids = self.flagged_timings();
        if ids.is_empty() {
            return None;
        }
        let escaped: Vec<String> = ids.iter().map(|id| regex_lite::escape(id)).collect();
        Some(format!("^({})$", escaped.join("|")))
    }

    fn sort(&mut self) {
        // Worst first: by verdict, then the larger change first (an unbounded rise, such
        // as a count leaving zero, first of all), then by name for a stable order.
        let severity = |r: &Row| -r.change.unwrap_or(f64::INFINITY);
        self.rows.sort_by(|a, b| {
            (a.verdict, severity(a))
                .partial_cmp(&(b.verdict, severity(b)))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| (&a.benchmark, &a.measure).cmp(&(&b.benchmark, &b.measure)))
        });
    }
}

/// The two compilers when both sides name theirs and they differ.
fn compilers(old: Option<&Metadata>, new: Option<&Metadata>) -> Option<[String; 2]> {
    let (old, new) = (old?, new?);
    (old.rustc != new.rustc).then(|| [old.rustc.clone(), new.rustc.clone()])
}

/// Measures whose value depends on the compiler that built the code, not only on the
/// code: compared only between runs of the same compiler.
const COMPILER_BOUND: [&str; 1] = [super::gungraun::INSTRUCTIONS];

/// What one comparison judges with.
struct Judge<'a> {
    old: &'a Bmf,
    new: &'a Bmf,
    settings: &'a Settings,
    hosts: Hosts,
    compilers: Option<&'a [String; 2]>,
}

impl Judge<'_> {
    /// Judges one benchmark's measure.
    fn row(&self, bench: &str, measure: &str) -> Row {
        let kind = Kind::of(measure);
        let (o, n) = (self.old.get(bench, measure), self.new.get(bench, measure));
        let mut row = Row {
            benchmark: bench.to_owned(),
            measure: measure.to_owned(),
            kind,
            old: o,
            new: n,
            change: None,
            change_interval: None,
            threshold: None,
            floor: None,
            raw_change: None,
            raw_interval: None,
            floor_change: None,
            moved: None,
            limit: None,
            rerun_change: None,
            note: None,
            verdict: Verdict::Unchanged,
        };
        let (o, n) = match (o, n) {
            (Some(o), Some(n)) => (o, n),
            (Some(_), None) => return Row { verdict: Verdict::Missing, ..row },
            (None, _) => return Row { verdict: Verdict::New, ..row },
        };
        match kind {
            Kind::Count => self.count(&mut row, o, n),
            Kind::Timing | Kind::Derived => self.timing(&mut row, o, n),
        }
        if self.settings.is_floor(bench) {
            row.verdict = Verdict::Floor;
        }
        row
    }

    fn count(&self, row: &mut Row, o: Metric, n: Metric) {
        let limit = self.settings.tolerance_of(&row.measure).limit(o.value);
        row.limit = Some(limit);
        row.change = relative_change(o.value, n.value);
        if let Some([old, new]) = self.compilers.filter(|_| COMPILER_BOUND.contains(&&*row.measure))
        {
            row.note = Some(format!("measured with {old}, now {new}"));
            row.verdict = Verdict::Incomparable;
            return;
        }
        row.verdict = if n.value > limit {
            Verdict::Regressed
        } else if n.value < o.value {
            Verdict::Improved
        } else {
            Verdict::Unchanged
        };
    }

    fn timing(&self, row: &mut Row, o: Metric, n: Metric) {
        let s = self.settings;
        let log =
            |m: Metric| LogInterval::from_bounds(m.value, low(m), high(m), s.interval_confidence);
        let raw = log(n).over(log(o));
        let floor = s.floor_of(&row.benchmark).and_then(|f| {
            Some((self.old.get(&f, &row.measure)?, self.new.get(&f, &row.measure)?, f))
        });
        let judged = match floor {
            Some((of, nf, id)) => {
                let floor_change = log(nf).over(log(of));
                row.floor = Some(id);
                row.floor_change = Some(floor_change.change(s.interval_confidence)[0]);
                raw.over(floor_change)
            }
            None => raw,
        };
        let [change, lo, hi] = judged.change(s.interval_confidence);
        row.change = Some(change);
        row.change_interval = Some([lo, hi]);
        let t = s.noise_threshold;
        let inflation = self.hosts.inflation();
        let [improve_below, regress_above] =
            [(1.0 - t) * inflation.min(1.0) - 1.0, (1.0 + t) * inflation.max(1.0) - 1.0];
        row.threshold = Some([improve_below, regress_above]);
        if row.floor.is_some() {
            let [raw_change, raw_lo, raw_hi] = raw.change(s.interval_confidence);
            row.raw_change = Some(raw_change);
            row.raw_interval = Some([raw_lo, raw_hi]);
            let moved = |lo: f64, hi: f64| lo > t || hi < -t;
            row.moved = Some(match (moved(raw_lo, raw_hi), moved(lo, hi)) {
                (true, true) => Moved::Both,
                (true, false) => Moved::Raw,
                (false, true) => Moved::Normalised,
                (false, false) => Moved::Neither,
            });
        }
        row.verdict = if lo > regress_above {
            Verdict::Regressed
        } else if lo > t {
            Verdict::HostBusy
        } else if hi < improve_below {
            Verdict::Improved
        } else {
            Verdict::Unchanged
        };
    }
}

fn low(m: Metric) -> f64 {
    m.lower_value.unwrap_or(m.value)
}

fn high(m: Metric) -> f64 {
    m.upper_value.unwrap_or(m.value)
}

/// `(new - old) / old`, or `None` when a count rises from zero (an unbounded change).
fn relative_change(old: f64, new: f64) -> Option<f64> {
    if old == 0.0 { (new == 0.0).then_some(0.0) } else { Some((new - old) / old) }
}
