//! `sttbench proxy`: the network-impairment proxy, served until Ctrl-C or SIGTERM.
//!
//! Flags build a [`Link`]: a `--profile` first, then the flags for both directions
//! (`--latency`, …), then the per-direction ones (`--up-latency`, …), each overriding
//! what came before.

use std::net::SocketAddr;
use std::time::Duration;

use sttbench::server::shaper::{
    self, Bandwidth, DEFAULT_SEED, Direction, Link, PROFILE_SOURCE, Profile, Rate, ShaperConfig,
    Slicer, Stall,
};

use crate::{Outcome, runtime};

#[derive(Debug, clap::Args)]
pub(crate) struct ProxyArgs {
    /// The server to forward to: a mock, the echo socket, a provider, your own app.
    #[arg(long, value_name = "HOST:PORT", required_unless_present = "list_profiles")]
    upstream: Option<String>,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A named link (WebPageTest's presets; see --list-profiles). Flags override its numbers.
    #[arg(long, value_name = "NAME", value_parser = profile)]
    profile: Option<Profile>,
    /// Print every profile with its numbers and source, then exit.
    #[arg(long)]
    list_profiles: bool,
    /// One-way latency added in each direction (a round trip gains twice this), e.g. 50ms.
    #[arg(long, value_name = "D", value_parser = duration)]
    latency: Option<Duration>,
    /// One-way latency client → server only.
    #[arg(long, value_name = "D", value_parser = duration)]
    up_latency: Option<Duration>,
    /// One-way latency server → client only.
    #[arg(long, value_name = "D", value_parser = duration)]
    down_latency: Option<Duration>,
    /// Each segment's delay varies uniformly within ± this, in both directions (order kept).
    #[arg(long, value_name = "D", value_parser = duration)]
    jitter: Option<Duration>,
    /// Jitter client → server only.
    #[arg(long, value_name = "D", value_parser = duration)]
    up_jitter: Option<Duration>,
    /// Jitter server → client only.
    #[arg(long, value_name = "D", value_parser = duration)]
    down_jitter: Option<Duration>,
    /// Rate limit in each direction (token bucket): 256kbit, 1mbit, 1.5mbit.
    #[arg(long, value_name = "RATE")]
    bandwidth: Option<Rate>,
    /// Rate limit client → server only (the audio's way).
    #[arg(long, value_name = "RATE")]
    up_bandwidth: Option<Rate>,
    /// Rate limit server → client only.
    #[arg(long, value_name = "RATE")]
    down_bandwidth: Option<Rate>,
    /// Token-bucket burst in bytes, for every rate limit [default: 1500, one MTU].
    #[arg(long, value_name = "BYTES")]
    burst: Option<u32>,
    /// Cut the stream into segments of about this many bytes, both directions.
    #[arg(long, value_name = "BYTES")]
    slice: Option<u32>,
    /// Segments vary by up to ± this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 0, requires = "slice")]
    slice_variation: u32,
    /// Time between one segment and the next, e.g. 5ms.
    #[arg(long, value_name = "D", value_parser = duration, requires = "slice")]
    slice_delay: Option<Duration>,
    /// Stop passing data: up (client → server), down, or both.
    #[arg(long, value_name = "WAY")]
    stall: Option<Way>,
    /// Close the connection this long after a stall began.
    #[arg(long, value_name = "D", value_parser = duration, requires = "stall")]
    stall_close_after: Option<Duration>,
    /// Close the connection once this many bytes went client → server.
    #[arg(long, value_name = "BYTES")]
    up_limit_bytes: Option<u64>,
    /// Close the connection once this many bytes went server → client.
    #[arg(long, value_name = "BYTES")]
    down_limit_bytes: Option<u64>,
    /// Pass a close on this much later, both directions.
    #[arg(long, value_name = "D", value_parser = duration)]
    slow_close: Option<Duration>,
    /// Reset (RST) every connection this long after it was accepted.
    #[arg(long, value_name = "D", value_parser = duration)]
    reset_after: Option<Duration>,
    /// Seed of the random draws (jitter, segment sizes): the same seed, the same draws.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

/// Which direction a stall stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Way {
    /// Client → server.
    Up,
    /// Server → client.
    Down,
    /// Both.
    Both,
}

pub(crate) fn proxy(args: ProxyArgs) -> Outcome {
    if args.list_profiles {
        print!("{}", Profile::listing());
        return Ok(0);
    }
    let link = link(&args)?;
    let upstream = args.upstream.clone().ok_or("--upstream HOST:PORT is required")?;
    let config = ShaperConfig::new(upstream.clone())
        .link(link)
        .reset_after(args.reset_after)
        .seed(args.seed);
    runtime()?.block_on(async {
        if let Err(e) = tokio::net::lookup_host(&upstream).await {
            return Err(format!(
                "cannot resolve --upstream {upstream}: {e}; give HOST:PORT, e.g. 127.0.0.1:9000"
            ));
        }
        let listener = tokio::net::TcpListener::bind(args.listen).await.map_err(|e| {
            format!(
                "cannot listen on {}: {e}; pass --listen 127.0.0.1:0 for any free port",
                args.listen
            )
        })?;
        // Installed before the address is printed: a script that reads it and signals at
        // once still gets a clean stop.
        let stop = crate::shutdown_signal()
            .map_err(|e| format!("cannot install the signal handler: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!(
            "proxy listening on {local}, forwarding to {upstream} (Ctrl-C or SIGTERM stops it)"
        );
        describe(&args, &link);
        shaper::run(listener, config, stop).await;
        println!("proxy stopped");
        Ok::<_, String>(())
    })?;
    Ok(0)
}

/// The impairments, from the profile and the flags over it.
fn link(args: &ProxyArgs) -> Result<Link, String> {
    let mut link = args.profile.map(|p| p.link()).unwrap_or_default();
    let slicer = match args.slice {
        Some(average) => Some(
            Slicer::new(average, args.slice_variation, args.slice_delay.unwrap_or_default())
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    for direction in Direction::BOTH {
        let mut i = *link.get(direction);
        if let Some(latency) = pick(direction, args.up_latency, args.down_latency, args.latency) {
            i = i.latency(latency);
        }
        if let Some(jitter) = pick(direction, args.up_jitter, args.down_jitter, args.jitter) {
            i = i.jitter(jitter);
        }
        if let Some(rate) = pick(direction, args.up_bandwidth, args.down_bandwidth, args.bandwidth)
        {
            i = i.bandwidth(Some(Bandwidth::new(rate)));
        }
        if let Some(burst) = args.burst {
            i = i.bandwidth(i.get_bandwidth().map(|b| b.burst(burst)));
        }
        if slicer.is_some() {
            i = i.slicer(slicer);
        }
        let stalled = matches!(
            (args.stall, direction),
            (Some(Way::Both), _)
                | (Some(Way::Up), Direction::Upstream)
                | (Some(Way::Down), Direction::Downstream)
        );
        if stalled {
            i = i.stall(Some(args.stall_close_after.map_or(Stall::FOREVER, Stall::closing_after)));
        }
        if let Some(limit) = pick(direction, args.up_limit_bytes, args.down_limit_bytes, None) {
            i = i.limit_bytes(Some(limit));
        }
        if let Some(delay) = args.slow_close {
            i = i.slow_close(delay);
        }
        *link.get_mut(direction) = i;
    }
    if args.burst.is_some()
        && link.upstream.get_bandwidth().is_none()
        && link.downstream.get_bandwidth().is_none()
    {
        return Err("--burst shapes a rate limit: add --bandwidth RATE or a --profile".into());
    }
    Ok(link)
}

/// The per-direction value if given, else the both-directions one.
fn pick<T>(direction: Direction, up: Option<T>, down: Option<T>, both: Option<T>) -> Option<T> {
    match direction {
        Direction::Upstream => up,
        Direction::Downstream => down,
    }
    .or(both)
}

/// What the proxy will do, one line a direction.
fn describe(args: &ProxyArgs, link: &Link) {
    if let Some(p) = args.profile {
        println!("profile {}: {} [{PROFILE_SOURCE}]", p.name(), p.label());
    }
    println!("upstream (client → server): {}", link.upstream);
    println!("downstream (server → client): {}", link.downstream);
    if let Some(after) = args.reset_after {
        println!("every connection is reset {after:?} after it was accepted");
    }
    if let Some(rate) = link.upstream.get_bandwidth().map(|b| b.rate())
        && rate <= Rate::PCM_16K_MONO
    {
        println!(
            "note: an uplink of {rate} cannot carry 16 kHz mono PCM ({}) in real time",
            Rate::PCM_16K_MONO
        );
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e}; write e.g. 50ms, 1.5s or 2s"))
}

fn profile(name: &str) -> Result<Profile, String> {
    Profile::find(name).ok_or_else(|| {
        let names: Vec<_> = Profile::ALL.iter().map(|p| p.name()).collect();
        format!(
            "unknown profile `{name}`; one of: {} (--list-profiles shows their numbers)",
            names.join(", ")
        )
    })
}
