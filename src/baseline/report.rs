//! The verdict, written twice: a markdown table for people, JSON for machines.
//!
//! The markdown leads with the outcome and the counts per verdict, says what was compared
//! with what (commit, machine, compiler) and warns when the two sides are not comparable
//! in full, then lists every row worst first with the change, its interval and the floor
//! used. The JSON holds the same rows with raw numbers.
//!
//! This module formats; it does not judge (see [`compare`](super::compare)) or decide
//! exit codes beyond reading [`Comparison::regressed`].

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Comparison, Kind, Metadata, Row, Source, Verdict};
use crate::error::FileError;

/// Version of the JSON report's layout; raise it when a field changes meaning.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

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
    /// The process exit status for this outcome: 0 nothing regressed, 1 something did.
    /// (Status 2, broken input, never reaches a report.)
    pub fn exit_code(&self) -> i32 {
        i32::from(self.comparison.regressed())
    }

    /// Measures the old side has and the new side has for no benchmark at all: a kind of
    /// bench that was not run, rather than benchmarks that went missing.
    pub fn skipped_measures(&self) -> Vec<String> {
        let rows = &self.comparison.rows;
        let mut skipped: Vec<String> = rows
            .iter()
            .filter(|r| r.verdict == Verdict::Missing)
            .filter(|r| rows.iter().all(|o| o.measure != r.measure || o.new.is_none()))
            .map(|r| r.measure.clone())
            .collect();
        skipped.sort();
        skipped.dedup();
        skipped
    }

    /// Warnings about what makes the two sides less comparable.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let skipped = self.skipped_measures();
        if !skipped.is_empty() {
            notes.push(format!(
                "Not measured in the new run: {}; those rows are folded away below.",
                skipped.join(", ")
            ));
        }
        if let (Some(old), Some(new)) = (&self.old.metadata, &self.new.metadata) {
            if old.machine != new.machine {
                notes.push(format!(
                    "Measured on different machines ({} × {} vs {} × {}): only floor-normalised \
                     timings are comparable; judge the others with care.",
                    old.machine.cores,
                    old.machine.cpu_model,
                    new.machine.cores,
                    new.machine.cpu_model
                ));
            }
            if old.rustc != new.rustc {
                notes.push(format!(
                    "Different compilers ({} vs {}): instruction counts may move for that alone.",
                    old.rustc, new.rustc
                ));
            }
        }
        if self.comparison.host_busy {
            let lost: Vec<String> = [("old", self.old), ("new", self.new)]
                .iter()
                .filter_map(|(label, s)| {
                    Some(format!("{label} {}", percent(s.metadata.as_ref()?.host_time_lost?)))
                })
                .collect();
            notes.push(format!(
                "The host was busy (host load: {}): timings that look \
                 regressed are reported as \"host busy\", not failed. Counts still gate.",
                lost.join(", ")
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
        let status = if c.regressed() { "regressed" } else { "no regression" };
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
        let _ = writeln!(
            md,
            "- Timings: noise threshold {}, floor-normalised where a floor ran, {}.\n\
             - Counts: {}, others {}.\n",
            percent(s.noise_threshold),
            if c.rerun { "flagged ones re-run" } else { "not re-run" },
            tolerances.join(", "),
            s.default_tolerance
        );
        for note in self.notes() {
            let _ = writeln!(md, "> **Note:** {note}\n");
        }
        // What needs attention first; the quiet majority folds away below it, with the
        // rows of measures this run did not take at all (`INSTRUCTIONS=0`, …).
        let skipped = self.skipped_measures();
        let (quiet, loud): (Vec<&Row>, Vec<&Row>) = c.rows.iter().partition(|r| {
            matches!(r.verdict, Verdict::Unchanged | Verdict::Floor)
                || (r.verdict == Verdict::Missing && skipped.contains(&r.measure))
        });
        if loud.is_empty() {
            md.push_str("Every benchmark is unchanged.\n");
        } else {
            table(&mut md, &loud);
        }
        if !quiet.is_empty() {
            let _ = writeln!(
                md,
                "\n<details><summary>{} unchanged, floor and not-measured rows</summary>\n",
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
            new: Side { metadata: self.new.metadata.as_ref(), path: &self.new.path },
            notes: self.notes(),
            old: Side { metadata: self.old.metadata.as_ref(), path: &self.old.path },
            rerun: c.rerun,
            rows: &c.rows,
            schema_version: REPORT_SCHEMA_VERSION,
            settings: &c.settings,
            status: if c.regressed() { "regressed" } else { "ok" },
        };
        serde_json::to_string_pretty(&report).expect("a report is plain data") + "\n"
    }

    /// Writes the markdown and/or JSON report, creating parent directories.
    ///
    /// # Errors
    ///
    /// [`Error::File`](crate::Error::File) naming the file that cannot be written.
    pub fn write(&self, markdown: Option<&Path>, json: Option<&Path>) -> crate::Result<()> {
        for (path, text) in [(markdown, self.markdown()), (json, self.json())] {
            let Some(path) = path else { continue };
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    FileError::new(dir, "cannot create the directory", Some(Box::new(e) as _))
                })?;
            }
            std::fs::write(path, text).map_err(|e| {
                FileError::new(path, "cannot write the report", Some(Box::new(e) as _))
            })?;
        }
        Ok(())
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
        let value = |m: Option<crate::bmf::Metric>| {
            m.map_or("–".to_owned(), |m| amount(row.kind, &row.measure, m.value))
        };
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
            notes.push(format!("÷ `{floor}`; raw {}", signed_percent(raw)));
        }
        if let Some(limit) = row.limit {
            notes.push(format!("limit {}", amount(row.kind, &row.measure, limit)));
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

/// A value in the unit its measure implies: timings in ns scaled to a readable unit,
/// counts as integers when they are whole.
fn amount(kind: Kind, measure: &str, v: f64) -> String {
    if kind == Kind::Timing && (measure == super::criterion::LATENCY || measure.ends_with("-ns")) {
        let (scaled, unit) = match v {
            v if v >= 1e9 => (v / 1e9, "s"),
            v if v >= 1e6 => (v / 1e6, "ms"),
            v if v >= 1e3 => (v / 1e3, "µs"),
            v => (v, "ns"),
        };
        format!("{scaled:.2} {unit}")
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.1} %", fraction * 100.0)
}

fn signed_percent(fraction: f64) -> String {
    format!("{:+.1} %", fraction * 100.0)
}
