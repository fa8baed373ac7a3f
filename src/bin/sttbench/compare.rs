//! `sttbench compare`, `sttbench paired`, `sttbench baseline` and `sttbench hiccup`:
//! results, baselines and the verdict. Flags in, library calls, text out.

use std::path::PathBuf;
use std::time::Duration;

use sttbench::baseline::paired::{self, PairedComparison, PairedReport, PairedSettings};
use sttbench::baseline::{
    self, Baseline, Fraction, JudgeRequest, Metadata, Selection, Settings, Tolerance,
};

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// The reference: a baseline file (`baselines/main.json`), a BMF file, a criterion
    /// directory, or the name of a criterion baseline (`--save-baseline NAME`; `new` is
    /// the last run) under $CRITERION_HOME or target/criterion.
    old: PathBuf,
    /// The results under test, in any of the same forms.
    new: PathBuf,
    /// Another measurement of the new build; repeatable. Flagged timings fail only if no
    /// re-run reads them unchanged.
    #[arg(long, value_name = "PATH")]
    rerun: Vec<PathBuf>,
    /// Timings whose whole change interval stays within ± this fraction are unchanged:
    /// `0.05` (as criterion writes it) or `5%`.
    #[arg(long, value_name = "FRACTION", default_value = "0.05")]
    noise_threshold: Fraction,
    /// A count measure's tolerance, `MEASURE=1%` or `MEASURE=+3`; repeatable. Defaults:
    /// instructions 1 %, other counts exact.
    #[arg(long, value_name = "MEASURE=TOLERANCE", value_parser = parse_tolerance)]
    tolerance: Vec<(String, Tolerance)>,
    /// Judge only benchmarks whose ID matches this regular expression (and their floors);
    /// a benchmark it leaves out is not missing.
    #[arg(long, value_name = "REGEX")]
    filter: Option<String>,
    /// Judge only this measure; repeatable or comma-separated (e.g.
    /// `instructions,allocs-per-chunk`).
    #[arg(long, value_name = "MEASURE", value_delimiter = ',')]
    measure: Vec<String>,
    /// A benchmark in OLD and not in NEW is reported and does not fail the gate.
    #[arg(long)]
    allow_missing: bool,
    /// Write the criterion filter for re-running the timings still flagged after any
    /// `--rerun` (and their floors) here; the file is empty when nothing needs a re-run.
    #[arg(long, value_name = "PATH")]
    rerun_filter: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

/// Where a verdict's report goes.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Also write the markdown report here.
    #[arg(long, value_name = "PATH")]
    markdown: Option<PathBuf>,
    /// Also write the JSON report here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Do not print the markdown report.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PairedArgs {
    /// The directory `scripts/ab.sh` measured into (`rounds/<n>/{base,head}/`, and
    /// `counts/{base,head}/` when counts were taken).
    dir: PathBuf,
    /// How the base revision is named in the report.
    #[arg(long, value_name = "REV", default_value = "base")]
    base_rev: String,
    /// How the head revision is named in the report.
    #[arg(long, value_name = "REV", default_value = "head")]
    head_rev: String,
    /// A timing regresses only when its estimated HEAD ÷ BASE exceeds 1 + this:
    /// `0.02` or `2%`.
    #[arg(long, value_name = "FRACTION", default_value = "0.02")]
    noise_threshold: Fraction,
    /// The confidence of the interval that must exclude 1: `0.99` or `99%`.
    #[arg(long, value_name = "FRACTION", default_value = "0.99")]
    confidence: Fraction,
    /// A count measure's tolerance, `MEASURE=1%` or `MEASURE=+3`; repeatable.
    #[arg(long, value_name = "MEASURE=TOLERANCE", value_parser = parse_tolerance)]
    tolerance: Vec<(String, Tolerance)>,
    /// Judge only benchmarks whose ID matches this regular expression (and their floors),
    /// whatever the benches of either revision wrote.
    #[arg(long, value_name = "REGEX")]
    filter: Option<String>,
    /// A benchmark that ran for one revision only is reported, not an error.
    #[arg(long)]
    allow_missing: bool,
    /// Write the head revision's timings (median over the rounds) here, as BMF.
    #[arg(long, value_name = "PATH")]
    head_bmf: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum BaselineCommand {
    /// Merge results into one file: a baseline with metadata, or plain BMF.
    Collect {
        /// A criterion output directory (e.g. target/criterion); repeatable.
        #[arg(long, value_name = "DIR")]
        criterion: Vec<PathBuf>,
        /// A gungraun output directory (e.g. target/gungraun); repeatable.
        #[arg(long, value_name = "DIR")]
        gungraun: Vec<PathBuf>,
        /// A BMF file (e.g. target/sttbench/memory.json); repeatable.
        #[arg(long, value_name = "FILE")]
        bmf: Vec<PathBuf>,
        /// Keep only benchmarks whose ID matches this regular expression (and their floors).
        #[arg(long, value_name = "REGEX")]
        filter: Option<String>,
        /// Where to write.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Write plain BMF (for bencher.dev and other tools) instead of a baseline.
        #[arg(long)]
        plain: bool,
        /// The commit measured.
        #[arg(long, env = "STTBENCH_COMMIT", default_value = "unknown")]
        commit: String,
        /// The compiler (`rustc -V`).
        #[arg(long, env = "STTBENCH_RUSTC", default_value = "unknown")]
        rustc: String,
        /// A bench setting to record, `KEY=VALUE`; repeatable.
        #[arg(long, value_name = "KEY=VALUE", value_parser = parse_setting)]
        setting: Vec<(String, String)>,
        /// How busy the host was around the timing benches (`sttbench hiccup`, or the
        /// share of a core other processes used); repeatable, the worst is kept.
        #[arg(long, value_name = "FRACTION")]
        host_time_lost: Vec<f64>,
    },
    /// Check that a baseline file is readable and print what it records, one `key=value`
    /// a line (commit, rustc, date, host_time_lost, benchmarks, measures); exit status 2
    /// when it is missing or broken.
    Check {
        /// The baseline file.
        file: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct HiccupArgs {
    /// How long to measure, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    ms: u64,
}

pub(crate) fn hiccup(args: HiccupArgs) -> Outcome {
    println!("{:.4}", baseline::host::time_lost(Duration::from_millis(args.ms)));
    Ok(0)
}

fn parse_tolerance(s: &str) -> Result<(String, Tolerance), String> {
    let (measure, tolerance) =
        s.split_once('=').ok_or("expected MEASURE=TOLERANCE, e.g. instructions=1%")?;
    Ok((measure.to_owned(), tolerance.parse()?))
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected KEY=VALUE")?;
    Ok((k.to_owned(), v.to_owned()))
}

fn settings(tolerances: Vec<(String, Tolerance)>, allow_missing: bool) -> Settings {
    tolerances
        .into_iter()
        .fold(Settings::default().allow_missing(allow_missing), |s, (m, t)| s.tolerance(m, t))
}

fn selection(filter: Option<String>) -> Selection {
    filter.into_iter().fold(Selection::default(), Selection::filter)
}

/// The exit status of a verdict command: its own, or [`baseline::EXIT_BROKEN`] after
/// naming the problem and its causes.
fn judged(result: sttbench::Result<i32>) -> i32 {
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        baseline::EXIT_BROKEN
    })
}

pub(crate) fn compare(args: CompareArgs) -> i32 {
    judged(try_compare(args))
}

fn try_compare(args: CompareArgs) -> sttbench::Result<i32> {
    let settings =
        settings(args.tolerance, args.allow_missing).noise_threshold(args.noise_threshold.0);
    let selection = selection(args.filter).measures(args.measure);
    let request = args
        .rerun
        .into_iter()
        .fold(JudgeRequest::new(args.old, args.new), JudgeRequest::rerun)
        .settings(settings)
        .selection(selection);
    let judgement = baseline::judge(request)?;
    if let Some(path) = &args.rerun_filter {
        let text = judgement.comparison.rerun_filter().unwrap_or_default();
        std::fs::write(path, text).map_err(|e| {
            sttbench::error::FileError::new(
                path,
                "cannot write the re-run filter",
                Some(Box::new(e) as _),
            )
        })?;
    }
    let report = judgement.report();
    report.write(args.report.markdown.as_deref(), args.report.json.as_deref())?;
    if !args.report.quiet {
        print!("{}", report.markdown());
    }
    Ok(judgement.exit_code())
}

pub(crate) fn paired(args: PairedArgs) -> i32 {
    judged(try_paired(args))
}

fn try_paired(args: PairedArgs) -> sttbench::Result<i32> {
    let (mut rounds, mut counts) = paired::read_rounds(&args.dir)?;
    let selection = selection(args.filter);
    for bmf in rounds.iter_mut().chain(counts.as_mut()).flat_map(|r| [&mut r.base, &mut r.head]) {
        selection.apply(bmf, &Settings::default())?;
    }
    let settings = PairedSettings::default()
        .noise_threshold(args.noise_threshold.0)
        .confidence(args.confidence.0)
        .settings(settings(args.tolerance, args.allow_missing));
    let confidence = settings.confidence;
    let comparison = PairedComparison::new(&rounds, counts.as_ref(), settings);
    if let Some(path) = &args.head_bmf {
        PairedComparison::head_results(&rounds, confidence).write(path)?;
    }
    let report =
        PairedReport { comparison: &comparison, base: &args.base_rev, head: &args.head_rev };
    report.write(args.report.markdown.as_deref(), args.report.json.as_deref())?;
    if !args.report.quiet {
        print!("{}", report.markdown());
    }
    Ok(comparison.exit_code())
}

pub(crate) fn baseline(command: BaselineCommand) -> i32 {
    match command {
        BaselineCommand::Collect {
            criterion,
            gungraun,
            bmf,
            filter,
            out,
            plain,
            commit,
            rustc,
            setting,
            host_time_lost,
        } => {
            let inputs = criterion
                .into_iter()
                .map(baseline::Input::Criterion)
                .chain(gungraun.into_iter().map(baseline::Input::Gungraun))
                .chain(bmf.into_iter().map(baseline::Input::Bmf));
            judged(baseline::collect(inputs).and_then(|mut results| {
                selection(filter).apply(&mut results, &Settings::default())?;
                baseline::validate(&out, &results)?;
                if plain {
                    return results.write(&out).map(|()| 0);
                }
                let mut metadata = Metadata::detect(commit, rustc);
                metadata.settings.extend(setting);
                metadata.host_time_lost = host_time_lost.into_iter().reduce(f64::max);
                Baseline::new(metadata, results).write(&out).map(|()| 0)
            }))
        }
        BaselineCommand::Check { file } => judged(Baseline::read(&file).and_then(|b| {
            baseline::validate(&file, &b.results)?;
            let m = &b.metadata;
            let mut measures: Vec<&str> =
                b.results.0.values().flat_map(|m| m.keys().map(String::as_str)).collect();
            measures.sort_unstable();
            measures.dedup();
            println!("commit={}", m.commit);
            println!("rustc={}", m.rustc);
            println!("date={}", m.date);
            println!(
                "host_time_lost={}",
                m.host_time_lost.map_or("unknown".into(), |l| l.to_string())
            );
            println!("benchmarks={}", b.results.0.len());
            println!("measures={}", measures.join(","));
            Ok(0)
        })),
    }
}
