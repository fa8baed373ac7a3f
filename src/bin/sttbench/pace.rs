//! `sttbench pace`: how late each way of waiting wakes at absolute deadlines on this
//! machine: the OS timer floor, the pacer on both runtime flavours, and tokio's timer.

use std::time::Duration;

use sttbench::pace::SideBySide;

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub(crate) struct PaceArgs {
    /// Time between deadlines: 20ms, 10ms, 2.5ms, … (at most 10 s).
    #[arg(long, default_value = "20ms", value_parser = parse_period)]
    period: Duration,
    /// Rounds; each measures every method once, so a busy spell hits them all alike.
    #[arg(long, default_value_t = SideBySide::default().rounds)]
    rounds: u32,
    /// Wakes per method per round.
    #[arg(long, default_value_t = SideBySide::default().wakes_per_round)]
    wakes: u32,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: PaceArgs) -> Outcome {
    let PaceArgs { period, rounds, wakes, json } = args;
    let config = SideBySide::default().period(period).rounds(rounds).wakes_per_round(wakes);
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
