//! The verdict engine: two result sets in, one judged row per benchmark and measure out.
//!
//! Each measure is judged by its nature ([`Kind::of`]):
//!
//! - **Counts** (instructions, allocations, bytes) are exact, so they are compared
//!   exactly against a [`Tolerance`](super::Tolerance): `new > old + tolerance` is a
//!   regression, whatever the machine was doing.
//! - **Timings** are estimates with confidence intervals. A timing regresses only when the
//!   *whole* interval of its change lies above the noise threshold (default 5 %), and,
//!   where the same run measured a floor ([`FloorRule`](super::FloorRule): memcpy next to
//!   encoding, raw TCP next to the WebSocket round trip), the change is that of the ratio
//!   bench ÷ floor, so a slower machine or a busy neighbour, which slows both, cancels out;
//!   the raw time must regress too, so a floor that alone jumps does not fail anyone.
//!   A flagged timing must then reproduce on a re-run ([`Comparison::confirm`]), and on
//!   a busy host it is reported, not failed ([`Comparison::distrust_timings`]).
//! - **Derived** measures (throughput, the same number as the latency seen the other way
//!   up) are not judged twice and do not appear in the comparison.
//!
//! Benchmarks present on one side only are reported as new or missing, never failed.
//! Every gated measure is lower-is-better. This module does not read files or print.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::settings::Settings;
use crate::baseline::criterion::LATENCY;
use crate::bmf::{Bmf, Metric};

/// How a measure is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A wall-clock estimate with a confidence interval: judged with the noise threshold.
    Timing,
    /// An exact count: judged against a tolerance.
    Count,
    /// Derived from another measure (a rate from a time): reported in BMF, not judged.
    Derived,
}

impl Kind {
    /// The kind of a measure, by its BMF name: `latency`, `ratio` (of two timings, such
    /// as `send/echo_rtt_over_tcp_floor`) and `*-latency`/`*-ratio`/`*-ns`/`*-us`/`*-ms`
    /// are timings, `*-per-second` and `throughput` are derived, anything else is a count.
    pub fn of(measure: &str) -> Kind {
        let timing_suffixes = ["-latency", "-ratio", "-ns", "-us", "-ms"];
        if measure == LATENCY
            || measure == "ratio"
            || timing_suffixes.iter().any(|s| measure.ends_with(s))
        {
            Kind::Timing
        } else if measure == "throughput" || measure.ends_with("-per-second") {
            Kind::Derived
        } else {
            Kind::Count
        }
    }
}

/// The judgement on one benchmark's measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse beyond the tolerance or noise threshold (and, for a re-run timing, again).
    Regressed,
    /// A timing that looked regressed but did not reproduce on the re-run: not a failure.
    NotReproduced,
    /// A timing that looked regressed while the host was busy
    /// ([`Comparison::distrust_timings`]): reported, not a failure.
    HostBusy,
    /// In the old results only.
    Missing,
    /// In the new results only.
    New,
    /// Within tolerance or noise.
    Unchanged,
    /// A floor's own timing: a reference for the machine, reported, never judged.
    Floor,
    /// Better beyond the tolerance or noise threshold.
    Improved,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Regressed => "regressed",
            Verdict::NotReproduced => "not reproduced",
            Verdict::HostBusy => "host busy",
            Verdict::Missing => "missing",
            Verdict::New => "new",
            Verdict::Unchanged => "unchanged",
            Verdict::Floor => "floor",
            Verdict::Improved => "improved",
        })
    }
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
    /// For timings, the conservative interval of `change` from both confidence intervals.
    pub change_interval: Option<[f64; 2]>,
    /// The floor benchmark the timing was divided by, in both runs.
    pub floor: Option<String>,
    /// With a floor, the change of the raw time, which must agree with `change`.
    pub raw_change: Option<f64>,
    /// For counts, the highest value that passes.
    pub limit: Option<f64>,
    /// The smallest judged change over the re-runs, for timings that were re-run.
    pub rerun_change: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Every judged row, worst first, and the settings used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Comparison {
    /// Rows sorted worst first: regressions by size, then the rest by verdict and change.
    pub rows: Vec<Row>,
    /// What was tolerated.
    pub settings: Settings,
    /// Whether flagged timings were re-run ([`Comparison::confirm`]).
    pub rerun: bool,
    /// Whether timings were distrusted for a busy host ([`Comparison::distrust_timings`]).
    pub host_busy: bool,
}

impl Comparison {
    /// Judges `new` against `old`.
    ///
    /// Inputs are expected to be validated ([`crate::baseline::load`] rejects non-finite
    /// values and timings that are not positive).
    pub fn new(old: &Bmf, new: &Bmf, settings: Settings) -> Comparison {
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for side in [old, new] {
            for (bench, measures) in &side.0 {
                keys.extend(measures.keys().map(|m| (bench.as_str(), m.as_str())));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let rows = keys
            .into_iter()
            .filter(|(_, m)| Kind::of(m) != Kind::Derived)
            .map(|(b, m)| judge(b, m, old, new, &settings))
            .collect();
        let mut comparison = Comparison { rows, settings, rerun: false, host_busy: false };
        comparison.sort();
        comparison
    }

    /// Re-judges every regressed timing against `rerun`, another measurement of the new
    /// build: it stays regressed only if it regresses again, else it becomes
    /// [`Verdict::NotReproduced`]. Call it once per re-run. Each re-run is a new process,
    /// and on this project's VM the same binary measured up to ±50 % between processes
    /// on a quiet host (memory layout), so one slow process must not fail a build alone.
    /// Counts are deterministic and are not re-judged.
    pub fn confirm(&mut self, old: &Bmf, rerun: &Bmf) {
        let again = Comparison::new(old, rerun, self.settings.clone());
        for row in self
            .rows
            .iter_mut()
            .filter(|r| r.kind == Kind::Timing && r.verdict == Verdict::Regressed)
        {
            let twin = again
                .rows
                .iter()
                .find(|t| t.benchmark == row.benchmark && t.measure == row.measure);
            // Keep the most favourable re-run: it is the one that decides.
            let change = twin.and_then(|t| t.change);
            row.rerun_change = match (row.rerun_change, change) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => b.or(a),
            };
            if twin.is_none_or(|t| t.verdict != Verdict::Regressed) {
                row.verdict = Verdict::NotReproduced;
            }
        }
        self.rerun = true;
        self.sort();
    }

    /// Turns every regressed timing into [`Verdict::HostBusy`]: for a run measured on a
    /// busy host (see [`host`](super::host)), where a neighbour, not the code, may have
    /// slowed it. Counts are exact whatever the host did and keep their verdicts.
    pub fn distrust_timings(&mut self) {
        for row in self
            .rows
            .iter_mut()
            .filter(|r| r.kind == Kind::Timing && r.verdict == Verdict::Regressed)
        {
            row.verdict = Verdict::HostBusy;
        }
        self.host_busy = true;
        self.sort();
    }

    /// Whether anything regressed: the nightly's exit status 1.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Regressed)
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
            .rows
            .iter()
            .filter(|r| r.kind == Kind::Timing && r.verdict == Verdict::Regressed)
            .flat_map(|r| std::iter::once(r.benchmark.clone()).chain(r.floor.clone()))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// A criterion filter that re-runs exactly [`flagged_timings`](Self::flagged_timings)
    /// (`^(a|b)$`, regex metacharacters escaped), or `None` when nothing was flagged.
    pub fn rerun_filter(&self) -> Option<String> {
        let ids = self.flagged_timings();
        if ids.is_empty() {
            return None;
        }
        let escaped: Vec<String> = ids
            .iter()
            .map(|id| {
                id.chars().fold(String::new(), |mut s, c| {
                    if "\\.+*?()|[]{}^$#&-~".contains(c) {
                        s.push('\\');
                    }
                    s.push(c);
                    s
                })
            })
            .collect();
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

/// Judges one benchmark's measure.
fn judge(bench: &str, measure: &str, old: &Bmf, new: &Bmf, settings: &Settings) -> Row {
    let kind = Kind::of(measure);
    let (o, n) = (old.get(bench, measure), new.get(bench, measure));
    let mut row = Row {
        benchmark: bench.to_owned(),
        measure: measure.to_owned(),
        kind,
        old: o,
        new: n,
        change: None,
        change_interval: None,
        floor: None,
        raw_change: None,
        limit: None,
        rerun_change: None,
        verdict: Verdict::Unchanged,
    };
    let (o, n) = match (o, n) {
        (Some(o), Some(n)) => (o, n),
        (Some(_), None) => return Row { verdict: Verdict::Missing, ..row },
        (None, _) => return Row { verdict: Verdict::New, ..row },
    };
    match kind {
        Kind::Count => {
            let limit = settings.tolerance_of(measure).limit(o.value);
            row.limit = Some(limit);
            row.change = relative_change(o.value, n.value);
            row.verdict = if n.value > limit {
                Verdict::Regressed
            } else if n.value < o.value {
                Verdict::Improved
            } else {
                Verdict::Unchanged
            };
        }
        Kind::Timing | Kind::Derived => {
            let floor = settings
                .floor_of(bench)
                .and_then(|f| Some((old.get(&f, measure)?, new.get(&f, measure)?, f)));
            // Raw: new / old. Normalised: (new / new floor) / (old / old floor). Each
            // interval pairs a numerator bound with the opposite denominator bound, so it
            // holds every ratio the confidence intervals allow: conservative on purpose.
            let raw = [n.value / o.value, low(n) / high(o), high(n) / low(o)].map(|r| r - 1.0);
            let judged = match floor {
                Some((of, nf, id)) => {
                    row.floor = Some(id);
                    row.raw_change = Some(raw[0]);
                    let factor = [of.value / nf.value, low(of) / high(nf), high(of) / low(nf)];
                    [0, 1, 2].map(|i| (raw[i] + 1.0) * factor[i] - 1.0)
                }
                None => raw,
            };
            row.change = Some(judged[0]);
            row.change_interval = Some([judged[1], judged[2]]);
            // With a floor, the raw time must agree: a busy neighbour moves the raw time
            // but not the ratio, and a floor that jumps between runs (memcpy is bimodal
            // with the relative alignment of its buffers) moves the ratio but not the
            // raw time. Only code that got slower moves both.
            let threshold = settings.noise_threshold;
            let slower = |c: [f64; 3]| c[1] > threshold;
            let faster = |c: [f64; 3]| c[2] < -threshold;
            row.verdict = if settings.is_floor(bench) {
                Verdict::Floor
            } else if slower(judged) && slower(raw) {
                Verdict::Regressed
            } else if faster(judged) && faster(raw) {
                Verdict::Improved
            } else {
                Verdict::Unchanged
            };
        }
    }
    row
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
