//! `sttbench merge`: adds up one measure from HdrHistogram interval logs written by any
//! number of processes or machines, exactly.

use std::path::PathBuf;

use sttbench::metrics::interval_log::{self, LATENESS};

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub(crate) struct MergeArgs {
    /// Interval logs, as written with `--hdr-log` (one per process or machine) or by any
    /// HdrHistogram tool.
    #[arg(required = true, value_name = "LOG")]
    logs: Vec<PathBuf>,
    /// The measure to merge: the tag its intervals carry; `--tag ''` merges untagged
    /// intervals, as jHiccup and other tools write them.
    #[arg(long, default_value = LATENESS)]
    tag: String,
    /// Print JSON (`count`, `p50_ns`, `p95_ns`, `p99_ns`, `p99_9_ns`, `max_ns`, `tag`,
    /// `logs`, `intervals`) instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: MergeArgs) -> Outcome {
    let merged = interval_log::merge(&args.logs, &args.tag)?;
    if args.json {
        println!("{}", merged.to_json());
    } else {
        println!("{merged}");
    }
    Ok(0)
}
