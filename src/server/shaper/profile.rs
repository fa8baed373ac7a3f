//! Named link profiles: the connectivity presets of WebPageTest, with the numbers as
//! its configuration states them.
//!
//! Source: WebPageTest's `www/settings/connectivity.ini.sample`
//! (github.com/catchpoint/WebPageTest, last changed in commit 7e0d3b5, 2023-11-21).
//! Each preset there gives `bwIn` (download) and `bwOut` (upload) in bit/s and `latency`
//! as the round-trip time in ms. WebPageTest's agent (github.com/catchpoint/WebPageTest.agent,
//! `internal/traffic_shaping.py`) shapes with netem or dummynet and gives each direction
//! half the RTT as one-way delay (the odd millisecond, if any, inbound); so does this
//! file, and every RTT here is even. The presets `3G_EM` (hidden there, a duplicate of
//! 3G Slow) and `Native` (no shaping) are left out.
//!
//! Why not Chrome DevTools' presets: DevTools throttles per HTTP request, and its latency
//! is a page-load calibration (Slow 3G: a 400 ms target RTT applied as 2,000 ms, × 5;
//! Slow 4G: 150 ms applied as 562.5 ms, × 3.75; `front_end/core/sdk/NetworkManager.ts`
//! in github.com/ChromeDevTools/devtools-frontend). A packet-level shaper like this
//! proxy matches WebPageTest's netem numbers, not those.
//!
//! Rates here meter TCP payload, as Toxiproxy does: the IP and TCP headers a real link
//! also carries (about 3–8 % for audio-sized segments) come on top.

use std::fmt::Write as _;
use std::time::Duration;

use super::impair::{Bandwidth, Impairments, Link};
use super::rate::Rate;

/// Where the numbers come from, as printed by `sttbench proxy --list-profiles`.
pub const SOURCE: &str = "WebPageTest connectivity presets, www/settings/connectivity.ini.sample \
                          in github.com/catchpoint/WebPageTest (commit 7e0d3b5, 2023-11-21)";

/// A named link: its rates each way and its round-trip time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    name: &'static str,
    label: &'static str,
    downlink: Rate,
    uplink: Rate,
    rtt: Duration,
}

const fn profile(
    name: &'static str,
    label: &'static str,
    down_kbit: u64,
    up_kbit: u64,
    rtt_ms: u64,
) -> Profile {
    Profile {
        name,
        label,
        downlink: Rate::kbit(down_kbit),
        uplink: Rate::kbit(up_kbit),
        rtt: Duration::from_millis(rtt_ms),
    }
}

impl Profile {
    /// Every profile, fastest uplink first. The label is WebPageTest's own.
    pub const ALL: [Profile; 12] = [
        profile("4g-fast", "4G Fast (10 Mbps, 40ms RTT)", 10_240, 10_240, 40),
        profile("lte", "LTE (12 Mbps, 70ms RTT)", 12_000, 12_000, 70),
        profile("4g", "4G (9 Mbps, 170ms RTT)", 9_000, 9_000, 170),
        profile("fios", "FIOS (20/5 Mbps 4ms RTT)", 20_000, 5_000, 4),
        profile("cable", "Cable (5/1 Mbps 28ms RTT)", 5_000, 1_000, 28),
        profile("3g-fast", "3G Fast (1.6 Mbps/768 Kbps 150ms RTT)", 1_600, 768, 150),
        profile("3g", "3G (1.6 Mbps/768 Kbps 300ms RTT)", 1_600, 768, 300),
        profile("3g-slow", "3G Slow (400 Kbps, 400ms RTT)", 400, 400, 400),
        profile("dsl", "DSL (1.5 Mbps/384 Kbps 50ms RTT)", 1_500, 384, 50),
        profile("2g", "2G (280 Kbps/256 Kbps 800ms RTT)", 280, 256, 800),
        profile("edge", "Mobile Edge (240 Kbps/200 Kbps 840ms RTT)", 240, 200, 840),
        profile("dial", "56K Dial-Up (49/30 Kbps 120ms RTT)", 49, 30, 120),
    ];

    /// The profile called `name`, ignoring case, `-` and `_`, so WebPageTest's own
    /// section names (`3GSlow`, `4GFast`, `Dial`) work too.
    pub fn find(name: &str) -> Option<Profile> {
        let key = |s: &str| s.chars().filter(|c| *c != '-' && *c != '_').collect::<String>();
        let wanted = key(&name.to_ascii_lowercase());
        Profile::ALL.into_iter().find(|p| key(p.name) == wanted)
    }

    /// The name to pass to `--profile`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// WebPageTest's label for it.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// Server → client rate (WebPageTest's `bwIn`).
    pub fn downlink(&self) -> Rate {
        self.downlink
    }

    /// Client → server rate (WebPageTest's `bwOut`).
    pub fn uplink(&self) -> Rate {
        self.uplink
    }

    /// Round-trip time (WebPageTest's `latency`).
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// The delay each direction gets: half the RTT.
    pub fn one_way(&self) -> Duration {
        self.rtt / 2
    }

    /// Whether the uplink is faster than 16 kHz mono s16le (256 kbit/s). At or below
    /// it, with WebSocket framing on top, a real-time stream falls further behind with
    /// every second.
    pub fn carries_realtime_pcm(&self) -> bool {
        self.uplink > Rate::PCM_16K_MONO
    }

    /// The profile as a link: half the RTT and the rate each way.
    pub fn link(&self) -> Link {
        let one_way = |rate| {
            Impairments::default().latency(self.one_way()).bandwidth(Some(Bandwidth::new(rate)))
        };
        Link { upstream: one_way(self.uplink), downstream: one_way(self.downlink) }
    }

    /// The table `sttbench proxy --list-profiles` prints: every profile with its numbers,
    /// then the source.
    pub fn listing() -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<8} {:>9} {:>9} {:>6} {:>8}  WebPageTest label",
            "name", "down", "up", "RTT", "one-way"
        );
        for p in Profile::ALL {
            let _ = write!(
                out,
                "{:<8} {:>9} {:>9} {:>6} {:>8}  {}",
                p.name,
                p.downlink.to_string(),
                p.uplink.to_string(),
                format!("{}ms", p.rtt.as_millis()),
                format!("{}ms", p.one_way().as_millis()),
                p.label
            );
            if !p.carries_realtime_pcm() {
                out.push_str("  [uplink ≤ 256 kbit/s: cannot carry 16 kHz PCM in real time]");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "\nsource: {SOURCE}");
        let _ = writeln!(
            out,
            "each direction gets half the RTT as one-way latency and its own rate \
             (uplink = client → server); rates meter TCP payload"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_in_any_spelling() {
        for p in Profile::ALL {
            assert_eq!(Profile::find(p.name()), Some(p));
            assert_eq!(Profile::ALL.iter().filter(|q| q.name() == p.name()).count(), 1);
        }
        assert_eq!(Profile::find("3GSlow").map(|p| p.name()), Some("3g-slow"));
        assert_eq!(Profile::find("4G_FAST").map(|p| p.name()), Some("4g-fast"));
        assert_eq!(Profile::find("Dial").map(|p| p.name()), Some("dial"));
        assert_eq!(Profile::find("5g"), None);
    }

    /// The numbers as WebPageTest's file states them (bit/s and ms), spot-checked.
    #[test]
    fn numbers_match_the_source() {
        let check = |name, down, up, rtt_ms| {
            let p = Profile::find(name).unwrap();
            assert_eq!(
                (p.downlink().bits_per_second(), p.uplink().bits_per_second(), p.rtt()),
                (down, up, Duration::from_millis(rtt_ms)),
                "{name}"
            );
        };
        check("cable", 5_000_000, 1_000_000, 28);
        check("dsl", 1_500_000, 384_000, 50);
        check("3g-slow", 400_000, 400_000, 400);
        check("3g", 1_600_000, 768_000, 300);
        check("4g-fast", 10_240_000, 10_240_000, 40);
        check("edge", 240_000, 200_000, 840);
        check("2g", 280_000, 256_000, 800);
        check("dial", 49_000, 30_000, 120);
    }

    #[test]
    fn the_rtt_splits_evenly_into_both_directions() {
        for p in Profile::ALL {
            let link = p.link();
            assert_eq!(link.upstream.get_latency() + link.downstream.get_latency(), p.rtt());
            assert_eq!(link.upstream.get_bandwidth().map(|b| b.rate()), Some(p.uplink()));
            assert_eq!(link.downstream.get_bandwidth().map(|b| b.rate()), Some(p.downlink()));
        }
    }

    #[test]
    fn some_profiles_cannot_carry_realtime_audio() {
        let slow: Vec<_> =
            Profile::ALL.iter().filter(|p| !p.carries_realtime_pcm()).map(|p| p.name()).collect();
        assert_eq!(slow, ["2g", "edge", "dial"]);
        let listing = Profile::listing();
        assert!(listing.contains("edge") && listing.contains("200kbit"), "{listing}");
        assert!(listing.contains("cannot carry 16 kHz PCM"), "{listing}");
        assert!(listing.contains("7e0d3b5"), "{listing}");
    }
}
