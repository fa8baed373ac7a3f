//! The paired verdict, written twice: `report.md` for people, `report.json` for machines.
//!
//! The markdown leads with the outcome, names the revisions and what the rounds were,
//! lists benchmarks that ran on one side only, then one table row per benchmark worst
//! first: the judged HEAD ÷ BASE ratio and its interval, the raw and floor ratios beside
//! it, and the per-round ratios. The JSON holds the same with raw numbers.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Basis, PairedComparison, PairedRow};
use crate::baseline::compare::Verdict;
use crate::baseline::measure::Measure;
use crate::baseline::report::{percent, signed_percent};
use crate::baseline::stats::Estimate;

/// Version of the JSON report's layout; raise it when a field changes meaning.
pub const PAIRED_SCHEMA_VERSION: u32 = 1;

/// A paired comparison with the revisions it compared.
#[derive(Debug, Clone, Copy)]
pub struct PairedReport<'a> {
    /// The judged rows.
    pub comparison: &'a PairedComparison,
    /// The base revision as given, and its commit.
    pub base: &'a str,
    /// The head revision as given, and its commit.
    pub head: &'a str,
}

#[derive(Serialize)]
struct Json<'a> {
    base: &'a str,
    exit_code: i32,
    head: &'a str,
    one_sided: Vec<&'a str>,
    rounds: usize,
    rows: &'a [PairedRow],
    schema_version: u32,
    settings: &'a super::PairedSettings,
    status: &'static str,
}

impl PairedReport<'_> {
    fn status(&self) -> &'static str {
        match self.comparison.exit_code() {
            0 => "ok",
            1 => "regressed",
            _ => "broken",
        }
    }

    /// The report as markdown.
    pub fn markdown(&self) -> String {
        let c = self.comparison;
        let s = &c.settings;
        let mut md = String::new();
        let status = match self.status() {
            "ok" => "no regression",
            other => other,
        };
        let _ = writeln!(md, "## sttbench A/B: {status}\n");
        let _ = writeln!(
            md,
            "- Base `{}`, head `{}`; {} rounds, each side in a fresh process, in ABBA order.\n\
             - A timing regressed when the {} interval of HEAD ÷ BASE lies above 1 and its \
             estimate above {}; judged on the interleaved ratio to the floor where the bench \
             has one, else on time ÷ the floor's time in the same process, else on the time.\n\
             - Counts compared exactly (tolerances: {}, others {}); floors are reported, \
             never judged.\n",
            self.base,
            self.head,
            c.rounds,
            percent(s.confidence),
            ratio_text(1.0 + s.noise_threshold),
            s.settings
                .tolerances
                .iter()
                .map(|(m, t)| format!("{m} {t}"))
                .collect::<Vec<_>>()
                .join(", "),
            s.settings.default_tolerance,
        );
        let one_sided: Vec<String> = c
            .rows
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Missing | Verdict::New))
            .map(|r| format!("`{}` ({}: {})", r.benchmark, r.measure, side_of(r.verdict)))
            .collect();
        if !one_sided.is_empty() {
            let consequence = if s.settings.allow_missing {
                "allowed, so they are not judged"
            } else {
                "the two revisions do not measure the same thing (exit 2); narrow FILTER or \
                 allow it with ALLOW_MISSING=1"
            };
            let _ = writeln!(
                md,
                "> **Note:** ran on one side only, {consequence}: {}.\n",
                one_sided.join(", ")
            );
        }
        if c.rounds < 8 && s.confidence >= 0.99 || c.rounds < 6 {
            let _ = writeln!(
                md,
                "> **Note:** {} rounds are too few for a {} interval; the intervals below are \
                 the range of the rounds and cover less. Use ROUNDS=8 or more.\n",
                c.rounds,
                percent(s.confidence)
            );
        }
        md.push_str(
            "| Verdict | Benchmark | Measure | HEAD ÷ BASE | Interval | Raw | Floor | Rounds |\n",
        );
        md.push_str("|---|---|---|---|---|---|---|---|\n");
        for row in &c.rows {
            let verdict = match row.verdict {
                Verdict::Regressed => "**regressed**".to_owned(),
                v => v.to_string(),
            };
            let (ratio, interval) = match (row.ratio, row.counts) {
                (Some(e), _) => (ratio_text(e.value), interval_text(e)),
                (None, Some([b, h])) => {
                    let unit = Measure::of(&row.measure);
                    (format!("{} → {}", unit.format(b), unit.format(h)), String::new())
                }
                _ => ("–".to_owned(), String::new()),
            };
            let measure = match row.basis {
                Some(Basis::Interleaved) => format!("{} (interleaved)", row.measure),
                Some(Basis::Floor) => format!("{} ÷ floor", row.measure),
                _ => row.measure.clone(),
            };
            let raw = row.raw.map_or(String::new(), |e| ratio_text(e.value));
            let floor = row.floor.map_or(String::new(), |e| ratio_text(e.value));
            let rounds: Vec<String> = row.rounds.iter().map(|r| format!("{r:.3}")).collect();
            let _ = writeln!(
                md,
                "| {verdict} | `{}` | {measure} | {ratio} | {interval} | {raw} | {floor} | {} |",
                row.benchmark,
                rounds.join(" ")
            );
        }
        md
    }

    /// The report as pretty JSON with sorted keys.
    pub fn json(&self) -> String {
        let c = self.comparison;
        let json = Json {
            base: self.base,
            exit_code: c.exit_code(),
            head: self.head,
            one_sided: c
                .rows
                .iter()
                .filter(|r| matches!(r.verdict, Verdict::Missing | Verdict::New))
                .map(|r| r.benchmark.as_str())
                .collect(),
            rounds: c.rounds,
            rows: &c.rows,
            schema_version: PAIRED_SCHEMA_VERSION,
            settings: &c.settings,
            status: self.status(),
        };
        serde_json::to_string_pretty(&json).expect("a report is plain data") + "\n"
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

fn side_of(verdict: Verdict) -> &'static str {
    if verdict == Verdict::New { "head only" } else { "base only" }
}

/// `× 1.043 (+4.3 %)`.
fn ratio_text(r: f64) -> String {
    format!("× {r:.3} ({})", signed_percent(r - 1.0))
}

fn interval_text(e: Estimate) -> String {
    let partial = if e.full_confidence { "" } else { " (range)" };
    format!("{} … {}{partial}", signed_percent(e.lower - 1.0), signed_percent(e.upper - 1.0))
}
