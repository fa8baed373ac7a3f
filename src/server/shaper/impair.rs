//! What the proxy does to the bytes going one way: the impairments and their units.
//!
//! The catalogue follows Shopify's Toxiproxy (its "toxics": `latency` with `jitter`,
//! `bandwidth`, `slicer`, `timeout`, `slow_close`, `limit_data`), applied per
//! [`Direction`] as Toxiproxy applies them per stream. Connection-wide faults (a reset
//! at a given time, or on demand) live on the proxy itself (`ShaperConfig::reset_after`,
//! `Shaper::reset_connections`). This file only describes; `schedule.rs` decides when
//! bytes leave and `pump.rs` moves them.

use std::fmt;
use std::time::Duration;

use super::rate::Rate;

/// Which way bytes travel through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client → server: the audio.
    Upstream,
    /// Server → client: the transcripts.
    Downstream,
}

impl Direction {
    /// Both directions, upstream first.
    pub const BOTH: [Direction; 2] = [Direction::Upstream, Direction::Downstream];
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
        })
    }
}

/// Toxiproxy's `slicer`: cut the stream into small segments, each `delay` after the
/// previous one, as a path with small MTUs or a busy middlebox would deliver it.
///
/// Segment boundaries follow the stream, not the reads: they are drawn from the seed at
/// byte offsets, so the same seed cuts the same bytes wherever the OS split the reads
/// (a read's end still ends a segment, since the proxy never waits for more bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slicer {
    average: u32,
    variation: u32,
    delay: Duration,
}

impl Slicer {
    /// Segments of `average` ± `variation` bytes (uniform), `delay` apart.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`](crate::Error::Setting) when `average` is 0 or `variation` is
    /// not below `average` (a segment must hold at least one byte).
    pub fn new(average: u32, variation: u32, delay: Duration) -> crate::Result<Slicer> {
        if average == 0 || variation >= average {
            return Err(crate::Error::Setting(
                format!(
                    "slices of {average} ± {variation} bytes: the average must be at least 1 \
                     and the variation below it"
                )
                .into(),
            ));
        }
        Ok(Slicer { average, variation, delay })
    }

    /// Average segment size in bytes.
    pub fn average(&self) -> u32 {
        self.average
    }

    /// Largest deviation from the average, in bytes.
    pub fn variation(&self) -> u32 {
        self.variation
    }

    /// Time between one segment and the next.
    pub fn delay(&self) -> Duration {
        self.delay
    }
}

/// Toxiproxy's `timeout`: stop passing data one way, optionally closing the connection
/// after a while. Unlike Toxiproxy nothing is dropped: the proxy stops reading, so the
/// sender's TCP buffers fill as behind a dead link, and lifting the stall at run time
/// delivers everything held, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stall {
    close_after: Option<Duration>,
}

impl Stall {
    /// A stall that lasts until it is lifted.
    pub const FOREVER: Stall = Stall { close_after: None };

    /// A stall that closes the connection (FIN to both peers) `after` it began.
    pub fn closing_after(after: Duration) -> Stall {
        Stall { close_after: Some(after) }
    }

    /// How long after it began the stall closes the connection, if it does.
    pub fn close_after(&self) -> Option<Duration> {
        self.close_after
    }
}

/// How a token bucket meters bytes onto the link: a `rate` and the largest burst that
/// may leave at once. Toxiproxy's `bandwidth`, with the burst made explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    rate: Rate,
    burst: u32,
}

impl Bandwidth {
    /// One Ethernet MTU: the smallest burst `tc tbf` accepts at these rates, so a
    /// 20 ms audio chunk (640 bytes plus framing) leaves whole and a long write is cut
    /// into packets that arrive one by one, as on a real link.
    pub const DEFAULT_BURST: u32 = 1_500;

    /// `rate` with the default burst.
    pub fn new(rate: Rate) -> Bandwidth {
        Bandwidth { rate, burst: Bandwidth::DEFAULT_BURST }
    }

    /// The largest burst in bytes (at least 1); also the largest piece a write is cut
    /// into. Default [`Bandwidth::DEFAULT_BURST`].
    pub fn burst(mut self, bytes: u32) -> Bandwidth {
        self.burst = bytes.max(1);
        self
    }

    /// The rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// The burst in bytes.
    pub fn get_burst(&self) -> u32 {
        self.burst
    }
}

/// Everything the proxy does to one direction. The default passes bytes untouched.
///
/// ```
/// use std::time::Duration;
/// use sttbench::server::shaper::{Bandwidth, Impairments, Rate};
/// let uplink = Impairments::default()
///     .latency(Duration::from_millis(75))
///     .jitter(Duration::from_millis(10))
///     .bandwidth(Some(Bandwidth::new("384kbit".parse()?)));
/// assert_eq!(uplink.get_latency(), Duration::from_millis(75));
/// # Ok::<(), sttbench::server::shaper::RateParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Impairments {
    latency: Duration,
    jitter: Duration,
    bandwidth: Option<Bandwidth>,
    slicer: Option<Slicer>,
    stall: Option<Stall>,
    limit_bytes: Option<u64>,
    slow_close: Duration,
}

impl Impairments {
    /// One-way delay added to every byte (a propagation delay: bytes in flight overlap,
    /// so it costs no throughput). A round trip gains the sum of both directions'.
    /// Default 0.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Each segment's delay varies uniformly within ± this (Toxiproxy's jitter), never
    /// below zero. TCP's order is kept: a segment never overtakes an earlier one, so a
    /// late segment holds back those behind it, as retransmission would. Default 0.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// A token bucket on this direction; default `None` (as fast as loopback).
    pub fn bandwidth(mut self, bandwidth: Option<Bandwidth>) -> Self {
        self.bandwidth = bandwidth;
        self
    }

    /// Cut the stream into small delayed segments; default `None`.
    pub fn slicer(mut self, slicer: Option<Slicer>) -> Self {
        self.slicer = slicer;
        self
    }

    /// Stop passing data this way; default `None`.
    pub fn stall(mut self, stall: Option<Stall>) -> Self {
        self.stall = stall;
        self
    }

    /// Toxiproxy's `limit_data`: pass this many bytes this way, then close the
    /// connection (FIN to both peers). Default `None`.
    pub fn limit_bytes(mut self, bytes: Option<u64>) -> Self {
        self.limit_bytes = bytes;
        self
    }

    /// Toxiproxy's `slow_close`: when the sender closes its side, pass the close on
    /// this much later (after the data before it). Default 0.
    pub fn slow_close(mut self, delay: Duration) -> Self {
        self.slow_close = delay;
        self
    }

    /// The one-way latency.
    pub fn get_latency(&self) -> Duration {
        self.latency
    }

    /// The jitter bound.
    pub fn get_jitter(&self) -> Duration {
        self.jitter
    }

    /// The token bucket, if any.
    pub fn get_bandwidth(&self) -> Option<Bandwidth> {
        self.bandwidth
    }

    /// The slicer, if any.
    pub fn get_slicer(&self) -> Option<Slicer> {
        self.slicer
    }

    /// The stall, if any.
    pub fn get_stall(&self) -> Option<Stall> {
        self.stall
    }

    /// The byte limit, if any.
    pub fn get_limit_bytes(&self) -> Option<u64> {
        self.limit_bytes
    }

    /// The delay before a close is passed on.
    pub fn get_slow_close(&self) -> Duration {
        self.slow_close
    }
}

impl fmt::Display for Impairments {
    /// One line a person reads: only what is set, or "untouched".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match (self.latency.is_zero(), self.jitter.is_zero()) {
            (true, true) => {}
            (_, true) => parts.push(format!("latency {:?}", self.latency)),
            _ => parts.push(format!("latency {:?} ± {:?}", self.latency, self.jitter)),
        }
        if let Some(b) = self.bandwidth {
            parts.push(format!("bandwidth {} (burst {} B)", b.rate, b.burst));
        }
        if let Some(s) = self.slicer {
            parts.push(format!("slices {} ± {} B every {:?}", s.average, s.variation, s.delay));
        }
        match self.stall.map(|s| s.close_after) {
            Some(Some(after)) => parts.push(format!("stalled, closing after {after:?}")),
            Some(None) => parts.push("stalled".to_string()),
            None => {}
        }
        if let Some(n) = self.limit_bytes {
            parts.push(format!("close after {n} B"));
        }
        if !self.slow_close.is_zero() {
            parts.push(format!("slow close {:?}", self.slow_close));
        }
        if parts.is_empty() { f.write_str("untouched") } else { f.write_str(&parts.join(", ")) }
    }
}

/// The impairments of both directions: a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Link {
    /// Client → server.
    pub upstream: Impairments,
    /// Server → client.
    pub downstream: Impairments,
}

impl Link {
    /// The same impairments both ways.
    pub fn symmetric(impairments: Impairments) -> Link {
        Link { upstream: impairments, downstream: impairments }
    }

    /// The impairments of `direction`.
    pub fn get(&self, direction: Direction) -> &Impairments {
        match direction {
            Direction::Upstream => &self.upstream,
            Direction::Downstream => &self.downstream,
        }
    }

    /// The impairments of `direction`, to change.
    pub fn get_mut(&mut self, direction: Direction) -> &mut Impairments {
        match direction {
            Direction::Upstream => &mut self.upstream,
            Direction::Downstream => &mut self.downstream,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slicer_rejects_segments_that_could_be_empty() {
        assert!(Slicer::new(0, 0, Duration::ZERO).is_err());
        let e = Slicer::new(10, 10, Duration::ZERO).unwrap_err().to_string();
        assert!(e.contains("10 ± 10"), "{e}");
        assert!(Slicer::new(10, 9, Duration::ZERO).is_ok());
    }

    #[test]
    fn impairments_describe_only_what_is_set() {
        assert_eq!(Impairments::default().to_string(), "untouched");
        let i = Impairments::default()
            .latency(Duration::from_millis(14))
            .bandwidth(Some(Bandwidth::new(Rate::kbit(1_000))))
            .stall(Some(Stall::closing_after(Duration::from_secs(2))));
        assert_eq!(
            i.to_string(),
            "latency 14ms, bandwidth 1mbit (burst 1500 B), stalled, closing after 2s"
        );
    }
}
