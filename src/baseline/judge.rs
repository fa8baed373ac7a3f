//! The verdict procedure, whole: load both sides, select what to judge, compare, confirm
//! with re-runs, and hand back everything a report and an exit status need.
//!
//! `sttbench compare` is this function plus flag parsing and printing; the scripts reach
//! it through that command, and tests call it directly. It never prints and never exits.

use std::path::PathBuf;

use regex_lite::Regex;

use super::measure::{self, Kind};
use super::report::Report;
use super::{Comparison, Settings, Source};
use crate::bmf::Bmf;

/// Which benchmarks and measures a comparison covers; by default, everything on either
/// side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Selection {
    /// A regular expression (criterion's filter syntax) over benchmark IDs; only matching
    /// benchmarks, and the floors they are normalised by, are judged. A benchmark the
    /// filter leaves out is not "missing". Default: none, every benchmark.
    pub filter: Option<String>,
    /// Only these measures are judged. Default: empty, every measure. Each must be a
    /// measure sttbench writes or one present in an input.
    pub measures: Vec<String>,
}

impl Selection {
    /// Sets [`Self::filter`].
    pub fn filter(mut self, regex: impl Into<String>) -> Self {
        self.filter = Some(regex.into());
        self
    }

    /// Sets [`Self::measures`].
    pub fn measures(mut self, measures: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.measures = measures.into_iter().map(Into::into).collect();
        self
    }

    /// Keeps the selected part of `bmf`: benchmarks the filter matches and the floors
    /// they are normalised by (per `settings`), and the selected measures.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`](crate::Error::Setting) when the filter is not a regular
    /// expression.
    pub fn apply(&self, bmf: &mut Bmf, settings: &Settings) -> crate::Result<()> {
        let filter = self
            .filter
            .as_deref()
            .map(|f| {
                Regex::new(f).map_err(|e| {
                    crate::Error::Setting(
                        format!("filter `{f}` is not a regular expression: {e}").into(),
                    )
                })
            })
            .transpose()?;
        let wanted: Vec<String> = bmf
            .0
            .keys()
            .filter(|id| filter.as_ref().is_none_or(|f| f.is_match(id)))
            .flat_map(|id| std::iter::once(id.clone()).chain(settings.floor_of(id)))
            .collect();
        bmf.0.retain(|id, _| wanted.contains(id));
        if !self.measures.is_empty() {
            for measures in bmf.0.values_mut() {
                measures.retain(|m, _| self.measures.contains(m));
            }
            bmf.0.retain(|_, measures| !measures.is_empty());
        }
        Ok(())
    }
}

/// What to judge: two inputs, any re-runs of the new one, what to look at and how.
///
/// ```no_run
/// use sttbench::baseline::{self, JudgeRequest, Settings};
/// let judgement = baseline::judge(
///     JudgeRequest::new("baselines/main.json", "target/criterion")
///         .settings(Settings::default().noise_threshold(0.05)),
/// )?;
/// std::process::exit(judgement.exit_code());
/// # Ok::<(), sttbench::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JudgeRequest {
    /// The reference: a baseline file, BMF file, criterion directory or criterion
    /// baseline name (see [`super::load`]).
    pub old: PathBuf,
    /// The results under test, in any of the same forms.
    pub new: PathBuf,
    /// Other measurements of the new build; a flagged timing still fails unless one of
    /// them reads it unchanged (see [`Comparison::confirm`]). Default: none.
    pub reruns: Vec<PathBuf>,
    /// Thresholds, tolerances, floors. Default: [`Settings::default`].
    pub settings: Settings,
    /// What to judge. Default: everything.
    pub selection: Selection,
}

impl JudgeRequest {
    /// Judge `new` against `old` with the default settings.
    pub fn new(old: impl Into<PathBuf>, new: impl Into<PathBuf>) -> Self {
        JudgeRequest {
            old: old.into(),
            new: new.into(),
            reruns: Vec::new(),
            settings: Settings::default(),
            selection: Selection::default(),
        }
    }

    /// Adds a re-run of the new build, see [`Self::reruns`].
    pub fn rerun(mut self, path: impl Into<PathBuf>) -> Self {
        self.reruns.push(path.into());
        self
    }

    /// Sets [`Self::settings`].
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Sets [`Self::selection`].
    pub fn selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }
}

/// A reached verdict with the sources it was reached from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Judgement {
    /// The judged rows.
    pub comparison: Comparison,
    /// The old side, after selection.
    pub old: Source,
    /// The new side, after selection.
    pub new: Source,
    /// The re-runs, after selection.
    pub reruns: Vec<Source>,
}

impl Judgement {
    /// [`super::EXIT_REGRESSED`] when the gate fails, else [`super::EXIT_OK`].
    pub fn exit_code(&self) -> i32 {
        if self.comparison.failed() { super::EXIT_REGRESSED } else { super::EXIT_OK }
    }

    /// The report, for markdown and JSON.
    pub fn report(&self) -> Report<'_> {
        Report { comparison: &self.comparison, old: &self.old, new: &self.new }
    }
}

/// Runs the verdict procedure on `request`.
///
/// # Errors
///
/// [`Error::File`](crate::Error::File) for an input that cannot be read or validated, and
/// [`Error::Setting`](crate::Error::Setting) for a filter that is not a regular
/// expression, a measure or tolerance naming a measure neither input has, or a selection
/// that leaves one side empty. No verdict is reached from broken input.
pub fn judge(request: JudgeRequest) -> crate::Result<Judgement> {
    let JudgeRequest { old, new, reruns, settings, selection } = request;
    let old = super::load(&old)?;
    let new = super::load(&new)?;
    let reruns = reruns.iter().map(super::load).collect::<crate::Result<Vec<_>>>()?;
    judge_sources(old, new, reruns, settings, &selection)
}

/// [`judge`] on sources already loaded.
pub(crate) fn judge_sources(
    mut old: Source,
    mut new: Source,
    mut reruns: Vec<Source>,
    settings: Settings,
    selection: &Selection,
) -> crate::Result<Judgement> {
    check_measures(selection, &settings, [&old.results, &new.results])?;
    for source in std::iter::once(&mut old).chain([&mut new]).chain(&mut reruns) {
        selection.apply(&mut source.results, &settings)?;
    }
    for (side, source) in [("old", &old), ("new", &new)] {
        if source.results.0.is_empty() {
            return Err(crate::Error::Setting(
                format!(
                    "the {side} results ({}) hold nothing the filter and measures select; \
                     widen the selection or check the input",
                    source.path.display()
                )
                .into(),
            ));
        }
    }
    let mut comparison = Comparison::of(&old, &new, settings);
    for rerun in &reruns {
        comparison.confirm(&old, rerun);
    }
    Ok(Judgement { comparison, old, new, reruns })
}

/// Rejects measures the caller named that neither input has and sttbench does not write,
/// and tolerances on measures that are not counts: both are typos that would otherwise
/// be ignored in silence.
fn check_measures(
    selection: &Selection,
    settings: &Settings,
    sides: [&Bmf; 2],
) -> crate::Result<()> {
    let mut present: Vec<&str> = sides
        .iter()
        .flat_map(|b| b.0.values().flat_map(|m| m.keys().map(String::as_str)))
        .collect();
    present.sort_unstable();
    present.dedup();
    let exists = |m: &str| measure::known(m) || present.contains(&m);
    let unknown = |what: &str, m: &str| {
        crate::Error::Setting(
            format!(
                "{what} names the measure `{m}`, which neither input has; measures there: {}",
                present.join(", ")
            )
            .into(),
        )
    };
    for m in &selection.measures {
        if !exists(m) {
            return Err(unknown("the selection", m));
        }
    }
    for m in settings.tolerances.keys() {
        if !exists(m) {
            return Err(unknown("a tolerance", m));
        }
        if Kind::of(m) != Kind::Count {
            return Err(crate::Error::Setting(
                format!(
                    "a tolerance is for counts, and `{m}` is a {}; timings are judged with \
                     the noise threshold",
                    Kind::of(m)
                )
                .into(),
            ));
        }
    }
    Ok(())
}
