//! The verdict, written twice: a markdown table for people, JSON for machines.
//!
//! The markdown leads with the outcome and the counts per verdict, lists benchmarks that
//! went missing, says what was compared with what (commit, machine, compiler) and warns
//! when the two sides are not comparable in full, then lists every row worst first with
//! the change, its interval, and for floor-normalised timings the raw change and which of
//! the two moved. The JSON holds the same rows with raw numbers.
//!
//! This module formats; it does not judge (see [`compare`](super::compare)) or decide
//! exit codes beyond reading [`Comparison::regressed`].

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Comparison, Kind, Measure, Metadata, Moved, Row, Source, Verdict};

/// Version of the JSON report's layout; raise it when a field changes meaning.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// A comparison with the two sides it was made from.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The judged rows.
    pub comparison: &'a Comparison,
    /// The old side (usually the stored baseline).
    pub old: &'a Source,
    /// The new side (this run).
    pub new: &'a Source,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    counts: std::collections::BTreeMap<Verdict, usize>,
    exit_code: i32,
    missing: Vec<&'a str>,
    new: Side<'a>,
    notes: Vec<String>,
    old: Side<'a>,
    rerun: bool,
    rows: &'a [Row],
    schema_version: u32,
    settings: &'a super::Settings,
    status: &'static str,
}

#[derive(Serialize)]
struct Side<'a> {
    metadata: Option<&'a Metadata>,
    path: &'a Path,
}

impl Report<'_> {
    /// The process exit status for this outcome: 0 nothing regressed, 1 something did
    /// (or went missing, unless allowed). Status 2, broken input, never reaches a report.
    pub fn exit_code(&self) -> i32 {
        if self.comparison.failed() { super::EXIT_REGRESSED } else { super::EXIT_OK }
    }

    /// The benchmark IDs in the old results and not in the new, with the measures lost.
    pub fn missing(&self) -> Vec<String> {
        let mut missing: Vec<String> = Vec::new();
        for row in self.comparison.with(Verdict::Missing) {
            let line = format!("`{}` ({})", row.benchmark, row.measure);
            missing.push(line);
        }
        missing
    }

    /// Warnings about what makes the two sides less comparable, most important first.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let missing = self.missing();
        if !missing.is_empty() {
            let consequence = if self.comparison.settings.allow_missing {
                "allowed by --allow-missing, so they do not fail the gate"
            } else {
                "they fail the gate: run them again, update the baseline, or pass \
                 --allow-missing (or a --filter that leaves them out)"
            };
            notes.push(format!(
                "{} result(s) in the old run are missing from the new run, {consequence}: {}.",
                missing.len(),
                missing.join(", ")
            ));
        }
        if let Some([old, new]) = &self.comparison.compilers {
            notes.push(format!(
                "Different compilers ({old} vs {new}): instruction counts are incomparable and \
                 were not judged; re-baseline with the compiler in use."
            ));
        }
        if let (Some(old), Some(new)) = (&self.old.metadata, &self.new.metadata)
            && old.machine != new.machine
        {
            notes.push(format!(
                "Measured on different machines ({} × {} vs {} × {}): only floor-normalised \
                 timings are comparable; judge the others with care.",
                old.machine.cores, old.machine.cpu_model, new.machine.cores, new.machine.cpu_model
            ));
        }
        if self.comparison.host_widening > 1.0 {
            let lost: Vec<String> = [("old", self.old), ("new", self.new)]
                .iter()
                .filter_map(|(label, s)| {
                    Some(format!("{label} {}", percent(s.metadata.as_ref()?.host_time_lost?)))
                })
                .collect();
            let t = self.comparison.settings.noise_threshold;
            notes.push(format!(
                "The new run's host lost more time to other processes than the old one's \
                 (host load: {}): a timing regresses only above {} instead of {}; between the \
                 two it reads \"host busy\". Counts gate as always.",
                lost.join(", "),
                signed_percent((1.0 + t) * self.comparison.host_widening - 1.0),
                signed_percent(t),
            ));
        }
        if self.comparison.rows.iter().any(|r| r.verdict == Verdict::NotReproduced) {
            notes.push(
                "Timings marked \"not reproduced\" looked regressed once but not on the re-run: noise."
                    .to_owned(),
            );
        }
        notes
    }

    /// The report as markdown, worst row first.
    pub fn markdown(&self) -> String {
        let c = self.comparison;
        let mut md = String::new();
        let status = if c.failed() { "regressed" } else { "no regression" };
        let _ = writeln!(md, "## sttbench: {status}\n");
        let counts: Vec<String> =
            c.counts()
                .into_iter()
                .map(|(v, n)| {
                    if v == Verdict::Regressed {
                        format!("**{n} {v}**")
                    } else {
                        format!("{n} {v}")
                    }
                })
                .collect();
        let _ = writeln!(md, "{}\n", counts.join(", "));
        for (label, side) in [("Old", self.old), ("New", self.new)] {
            let _ = writeln!(
                md,
                "- {label}: `{}`{}",
                side.path.display(),
                describe(side.metadata.as_ref())
            );
        }
        let s = &c.settings;
        let tolerances: Vec<String> =
            s.tolerances.iter().map(|(m, t)| format!("{m} {t}")).collect();
        if c.rows.iter().any(|r| r.kind == Kind::Timing) {
            let _ = writeln!(
                md,
                "- Timings: regressed when the whole {} interval of the change is above {}, \
                 floor-normalised where a floor ran, {}.",
                percent(s.interval_confidence),
                signed_percent(s.noise_threshold),
                if c.rerun { "flagged ones re-run" } else { "not re-run" },
            );
        }
        let _ = writeln!(
            md,
            "- Counts: {}, others {}; floors are reported, never judged.\n",
            tolerances.join(", "),
            s.default_tolerance
        );
        for note in self.notes() {
            let _ = writeln!(md, "> **Note:** {note}\n");
        }
        // What needs attention first; the quiet majority folds away below it.
        let (quiet, loud): (Vec<&Row>, Vec<&Row>) =
            c.rows.iter().partition(|r| matches!(r.verdict, Verdict::Unchanged | Verdict::Floor));
        if loud.is_empty() {
            md.push_str("Every benchmark is unchanged.\n");
        } else {
            table(&mut md, &loud);
        }
        if !quiet.is_empty() {
            let _ = writeln!(
                md,
                "\n<details><summary>{} unchanged and floor rows</summary>\n",
                quiet.len()
            );
            table(&mut md, &quiet);
            md.push_str("\n</details>\n");
        }
        md
    }

    /// The report as pretty JSON with sorted keys.
    pub fn json(&self) -> String {
        let c = self.comparison;
        let report = JsonReport {
            counts: c.counts(),
            exit_code: self.exit_code(),
            missing: self.comparison.with(Verdict::Missing).map(|r| r.benchmark.as_str()).collect(),
            new: Side { metadata: self.new.metadata.as_ref(), path: &self.new.path },
            notes: self.notes(),
            old: Side { metadata: self.old.metadata.as_ref(), path: &self.old.path },
            rerun: c.rerun,
            rows: &c.rows,
            schema_version: REPORT_SCHEMA_VERSION,
            settings: &c.settings,
            status: if c.failed() { "regressed" } else { "ok" },
        };
        serde_json::to_string_pretty(&report).expect("a report is plain data") + "\n"
    }

    /// Writes the markdown and/or JSON report, creating parent directories.
    ///
    /// # Errors
    ///
    /// [`Error::File`](crate::Error::File) naming the file that cannot be written.
    pub fn write(&self, markdown: Option<&Path>, json: Option<&Path>) -> crate::Result<()> {
        crate::bmf::write_text(markdown, || self.markdown())?;
        crate::bmf::write_text(json, || self.json())
    }
}

/// Writes `rows` as one markdown table.
fn table(md: &mut String, rows: &[&Row]) {
    md.push_str("| Verdict | Benchmark | Measure | Old | New | Change | Interval | Notes |\n");
    md.push_str("|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        let verdict = match row.verdict {
            Verdict::Regressed => "**regressed**".to_owned(),
            v => v.to_string(),
        };
        let unit = Measure::of(&row.measure);
        let value =
            |m: Option<crate::bmf::Metric>| m.map_or("–".to_owned(), |m| unit.format(m.value));
        let change = match (row.change, row.old, row.new) {
            (Some(ch), ..) => signed_percent(ch),
            (None, Some(_), Some(_)) => "from 0".to_owned(),
            _ => "–".to_owned(),
        };
        let interval = row.change_interval.map_or("–".to_owned(), |[lo, hi]| {
            format!("{} … {}", signed_percent(lo), signed_percent(hi))
        });
        let mut notes = Vec::new();
        if let (Some(floor), Some(raw)) = (&row.floor, row.raw_change) {
            let moved = match row.moved {
                Some(Moved::Both) => "; raw and normalised moved",
                Some(Moved::Raw) => "; only the raw time moved",
                Some(Moved::Normalised) => "; only the normalised ratio moved",
                _ => "",
            };
            let floor_change = row.floor_change.map_or(String::new(), signed_percent);
            notes.push(format!("÷ `{floor}` ({floor_change}); raw {}{moved}", signed_percent(raw)));
        }
        if let Some([_, above]) = row.threshold.filter(|_| widened(row)) {
            notes.push(format!("busy host: threshold {}", signed_percent(above)));
        }
        if let Some(limit) = row.limit {
            notes.push(format!("limit {}", unit.format(limit)));
        }
        if let Some(note) = &row.note {
            notes.push(note.clone());
        }
        if let Some(again) = row.rerun_change {
            notes.push(format!("re-run {}", signed_percent(again)));
        }
        let _ = writeln!(
            md,
            "| {verdict} | `{}` | {} | {} | {} | {change} | {interval} | {} |",
            row.benchmark,
            row.measure,
            value(row.old),
            value(row.new),
            notes.join("; ")
        );
    }
}

/// " (commit abc1234, 2026-11-27T21:30:00Z, 2 × CPU, rustc 1.95.0)" or "".
fn describe(meta: Option<&Metadata>) -> String {
    meta.map_or_else(String::new, |m| {
        let commit: String = m.commit.chars().take(12).collect();
        let host =
            m.host_time_lost.map_or(String::new(), |l| format!(", host load {}", percent(l)));
        format!(
            " (commit {commit}, {}, {} × {}, {}{host})",
            m.date, m.machine.cores, m.machine.cpu_model, m.rustc
        )
    })
}

/// Whether a busy host widened the threshold this timing row was held against.
fn widened(row: &Row) -> bool {
    row.threshold.is_some_and(|[below, above]| above > -below + 1e-12)
}

pub(super) fn percent(fraction: f64) -> String {
    format!("{:.1} %", fraction * 100.0)
}

pub(super) fn signed_percent(fraction: f64) -> String {
    // Rounded first, and `+ 0.0` turns −0.0 into 0.0: no "−0.0 %" for a tiny change.
    let tenths = (fraction * 1000.0).round() / 10.0 + 0.0;
    format!("{tenths:+.1} %")
}
