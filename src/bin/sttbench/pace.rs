//! `sttbench pace`: how late each way of waiting wakes at absolute deadlines on this
//! machine: the OS timer floor, the pacer on both runtime flavours, and tokio's timer.

use std::time::Duration;

use sttbench::pace::{Method, SideBySide};

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub(crate) struct PaceArgs {
    /// Time between deadlines: 20ms, 10ms, 2.5ms, … (at most 10 s).
    #[arg(long, default_value = "20ms", value_parser = parse_period)]
    period: Duration,
    /// Wakes per method; all methods run at once, so this many periods.
    #[arg(long, default_value_t = SideBySide::default().wakes)]
    wakes: u32,
    /// The methods to measure, comma-separated, in the order of their offsets within a
    /// period: timer_floor, pacer, timer_floor_replica, pacer_multi_thread, tokio_sleep
    /// [default: all, in that order].
    #[arg(long, value_delimiter = ',')]
    methods: Vec<Method>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: PaceArgs) -> Outcome {
    let PaceArgs { period, wakes, methods, json } = args;
    let mut config = SideBySide::default().period(period).wakes(wakes);
    if !methods.is_empty() {
        config = config.methods(methods);
    }
    eprintln!("measuring for about {:.0?}", config.duration());
    let lateness = config.run()?;
    if json {
        println!("{}", lateness.to_json());
    } else {
        println!("{lateness}");
    }
    Ok(0)
}

fn parse_period(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); write it like 20ms or 2.5ms"))
}
