//! `sttbench compare`, `sttbench baseline` and `sttbench hiccup`: results, baselines and
//! the verdict.

use std::path::PathBuf;
use std::time::Duration;

use sttbench::baseline::{
    self, Baseline, Comparison, Metadata, Settings, Tolerance, report::Report,
};

use crate::Outcome;

/// Exit status for input the tool cannot judge, distinct from "regressed" (1).
const BROKEN: i32 = 2;

#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// The reference results (usually `baselines/<name>.json`).
    old: PathBuf,
    /// The results under test.
    new: PathBuf,
    /// Another measurement of the new build; repeatable. Flagged timings fail only if
    /// they regress in every re-run too.
    #[arg(long, value_name = "PATH")]
    rerun: Vec<PathBuf>,
    /// Timings whose whole change interval stays within ± this percentage are unchanged.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0, value_parser = parse_percent)]
    noise_threshold: f64,
    /// Above this percentage of time lost by `sttbench hiccup` on either side, timings
    /// are reported as "host busy" instead of failing.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = baseline::host::BUSY * 100.0,
        value_parser = parse_percent
    )]
    busy_threshold: f64,
    /// A count measure's tolerance, `MEASURE=1%` or `MEASURE=+3`; repeatable. Defaults:
    /// instructions 1 %, other counts exact.
    #[arg(long, value_name = "MEASURE=TOLERANCE", value_parser = parse_tolerance)]
    tolerance: Vec<(String, Tolerance)>,
    /// Also write the markdown report here.
    #[arg(long, value_name = "PATH")]
    markdown: Option<PathBuf>,
    /// Also write the JSON report here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the criterion filter for re-running the timings still flagged after any
    /// `--rerun` (and their floors) here; the file is empty when nothing needs a re-run.
    #[arg(long, value_name = "PATH")]
    rerun_filter: Option<PathBuf>,
    /// Do not print the markdown report.
    #[arg(long, short)]
    quiet: bool,
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

fn parse_percent(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("`{s}` is not a percentage (a number, 0 or more)"))
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected KEY=VALUE")?;
    Ok((k.to_owned(), v.to_owned()))
}

/// The exit status of a baseline command: its own, or [`BROKEN`] after naming the
/// problem and its causes.
fn judged(result: sttbench::Result<i32>) -> i32 {
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        BROKEN
    })
}

pub(crate) fn compare(args: CompareArgs) -> i32 {
    judged(try_compare(args))
}

fn try_compare(args: CompareArgs) -> sttbench::Result<i32> {
    let old = baseline::load(&args.old)?;
    let new = baseline::load(&args.new)?;
    let mut settings = Settings::default().noise_threshold(args.noise_threshold / 100.0);
    for (measure, tolerance) in args.tolerance {
        settings = settings.tolerance(measure, tolerance);
    }
    let mut comparison = Comparison::new(&old.results, &new.results, settings);
    let busy_threshold = args.busy_threshold / 100.0;
    let mut busy = old.host_busy(busy_threshold) || new.host_busy(busy_threshold);
    for rerun in &args.rerun {
        let rerun = baseline::load(rerun)?;
        busy |= rerun.host_busy(busy_threshold);
        comparison.confirm(&old.results, &rerun.results);
    }
    if let Some(filter) = &args.rerun_filter {
        let text = comparison.rerun_filter().unwrap_or_default();
        std::fs::write(filter, text).map_err(|e| {
            sttbench::error::FileError::new(
                filter,
                "cannot write the re-run filter",
                Some(Box::new(e) as _),
            )
        })?;
    }
    if busy {
        comparison.distrust_timings();
    }
    let report = Report { comparison: &comparison, old: &old, new: &new };
    report.write(args.markdown.as_deref(), args.json.as_deref())?;
    if !args.quiet {
        print!("{}", report.markdown());
    }
    Ok(report.exit_code())
}

pub(crate) fn baseline(command: BaselineCommand) -> i32 {
    match command {
        BaselineCommand::Collect {
            criterion,
            gungraun,
            bmf,
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
            judged(baseline::collect(inputs).and_then(|results| {
                if plain {
                    return results.write(&out).map(|()| 0);
                }
                let mut metadata = Metadata::detect(commit, rustc);
                metadata.settings.extend(setting);
                metadata.host_time_lost = host_time_lost.into_iter().reduce(f64::max);
                Baseline::new(metadata, results).write(&out).map(|()| 0)
            }))
        }
    }
}
