//! Faults a mock provider injects on demand, and their command-line spelling.
//!
//! Each fault reproduces something real clients meet: a rejected key, a server that
//! closes with a provider code, an idle timeout, a chunk-duration violation, a server
//! that stops reading, a connection that vanishes without a close frame. The mock
//! applies them (`conn.rs`) and logs each one as it fires; this file only names and
//! parses them.
//!
//! | spelling | fault |
//! |---|---|
//! | `reject-auth` | [`Fault::RejectAuth`]: Deepgram answers the upgrade with 401, AssemblyAI closes 1008 |
//! | `close=1011@2s` | [`Fault::Close`] with 1011 once 2 s of audio has been received |
//! | `close=3008@64000b` | [`Fault::Close`] with 3008 once 64 000 audio bytes have been received |
//! | `close=1011@wall:2s` | [`Fault::Close`] with 1011 2 s of wall-clock time after the handshake |
//! | `idle=2s` | [`Fault::IdleTimeout`]: the provider's idle close after 2 s without a message |
//! | `chunk-duration` | [`Fault::ChunkDuration`]: the first audio message is refused with 3007 |
//! | `stall@500ms` | [`Fault::Stall`]: stop reading (and answering) after 500 ms of audio |
//! | `drop@32000b` | [`Fault::Drop`]: drop the TCP connection, no close frame, after 32 000 bytes |
//!
//! `WHEN` after `@` is one of:
//!
//! - **audio time** (`2s`, `500ms`, `1.5s`): once that much audio has been received,
//!   counted in bytes at the session's sample rate and channels (`sample_rate=16000`,
//!   mono: 32 000 bytes a second). It fires at the same point of the stream however
//!   fast the client sends, paced or not;
//! - **bytes** (`64000b`): once that many audio bytes have been received;
//! - **wall-clock time** (`wall:2s`): that long after the WebSocket handshake, whether
//!   audio flows or not (`tokio::time`, so tests can pause it). Against an unpaced
//!   client that sends everything in a millisecond, this fires after the stream is over.
//!
//! Durations are humantime's (`250ms`, `2s`, `1m 30s`). `MockConfig::fault_connections`
//! (`--fault-connections N`) limits a fault to the first N connections, so a client's
//! reconnect can be tested: `drop@2s` on the first 2, then a clean stream.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// When a fault fires. See the module doc for the spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// Once this much audio has been received (in bytes at the session's format).
    Audio(Duration),
    /// Once this many audio bytes have been received.
    Bytes(u64),
    /// This long after the WebSocket handshake, by the clock (`tokio::time`).
    Wall(Duration),
}

impl Trigger {
    /// The audio byte count at which this trigger fires for a session receiving
    /// `bytes_per_second`, or `None` for a wall-clock trigger.
    pub fn bytes(&self, bytes_per_second: u64) -> Option<u64> {
        match *self {
            Trigger::Bytes(n) => Some(n),
            Trigger::Audio(d) => {
                let bytes = d.as_nanos().checked_mul(u128::from(bytes_per_second));
                let bytes = bytes.map_or(u128::MAX, |b| b.div_ceil(1_000_000_000));
                Some(u64::try_from(bytes).unwrap_or(u64::MAX))
            }
            Trigger::Wall(_) => None,
        }
    }
}

/// A misbehaviour the mock shows its connections. See the module doc for spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Refuse every credential: Deepgram answers the upgrade with HTTP 401; AssemblyAI
    /// upgrades, then closes with 1008.
    RejectAuth,
    /// Close with `code` and `reason` once `after` is reached.
    Close {
        /// When to close.
        after: Trigger,
        /// The close code, e.g. 1011, 3005, 3008.
        code: u16,
        /// The close reason; empty means the provider's documented text for `code`.
        reason: String,
    },
    /// Close as the provider does when it hears nothing for this long (Deepgram:
    /// `Metadata`, then 1011 NET-0001; AssemblyAI: 4031). Deepgram's real window is 10 s,
    /// the mock's default too.
    IdleTimeout(Duration),
    /// Answer the first audio message with a 3007 chunk-duration close, whatever its
    /// length. This is AssemblyAI's rule (50–1000 ms); Deepgram has none, so there the
    /// reason says the refusal is the mock's.
    ChunkDuration,
    /// Stop reading and writing once `after` is reached, holding the connection open:
    /// the client's sends back up and nothing comes back.
    Stall(Trigger),
    /// Drop the TCP connection without a close frame once `after` is reached.
    Drop(Trigger),
}

impl Fault {
    /// The trigger of a fault that fires mid-stream (close, stall, drop).
    pub fn trigger(&self) -> Option<Trigger> {
        match self {
            Fault::Close { after, .. } | Fault::Stall(after) | Fault::Drop(after) => Some(*after),
            _ => None,
        }
    }
}

/// The close reason of [`Fault::ChunkDuration`]: the real rule's wording, then why a
/// chunk of `ms` that may well be inside the rule was refused all the same.
pub(super) fn chunk_duration_reason(ms: u64, rule: &str) -> String {
    format!("Input duration violation: {ms} ms. Refused by the mock's chunk-duration fault; {rule}")
}

/// A fault spelling that did not parse, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown fault `{0}`; expected reject-auth, close=CODE@WHEN, idle=DURATION, \
     chunk-duration, stall@WHEN or drop@WHEN, where WHEN is audio received (500ms, 2s), \
     audio bytes received (64000b) or wall-clock time after the handshake (wall:2s)"
)]
pub struct FaultParseError(pub String);

impl FromStr for Fault {
    type Err = FaultParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || FaultParseError(s.to_string());
        let s = s.trim();
        let fault = match s {
            "reject-auth" => Some(Fault::RejectAuth),
            "chunk-duration" => Some(Fault::ChunkDuration),
            _ if s.starts_with("idle=") => duration(&s["idle=".len()..]).map(Fault::IdleTimeout),
            _ if s.starts_with("stall@") => trigger(&s["stall@".len()..]).map(Fault::Stall),
            _ if s.starts_with("drop@") => trigger(&s["drop@".len()..]).map(Fault::Drop),
            _ if s.starts_with("close=") => {
                let (code, when) = s["close=".len()..].split_once('@').ok_or_else(err)?;
                let code = code.parse::<u16>().ok().filter(|c| (1000..5000).contains(c));
                match (code, trigger(when)) {
                    (Some(code), Some(after)) => {
                        Some(Fault::Close { after, code, reason: String::new() })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        fault.ok_or_else(err)
    }
}

/// `WHEN`: `64000b`, `wall:2s` or an audio duration.
fn trigger(s: &str) -> Option<Trigger> {
    if let Some(wall) = s.strip_prefix("wall:") {
        return duration(wall).map(Trigger::Wall);
    }
    match s.strip_suffix('b') {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            n.parse().ok().map(Trigger::Bytes)
        }
        _ => duration(s).map(Trigger::Audio),
    }
}

fn duration(s: &str) -> Option<Duration> {
    humantime::parse_duration(s).ok()
}

/// A duration in the shortest unit that shows it exactly, without spaces, so it parses
/// back: `2s`, `1500ms`, `250us`.
struct Compact(Duration);

impl fmt::Display for Compact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        match d.subsec_nanos() {
            0 => write!(f, "{}s", d.as_secs()),
            n if n % 1_000_000 == 0 => write!(f, "{}ms", d.as_millis()),
            n if n % 1_000 == 0 => write!(f, "{}us", d.as_micros()),
            _ => write!(f, "{}ns", d.as_nanos()),
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Trigger::Audio(d) => write!(f, "{}", Compact(d)),
            Trigger::Bytes(n) => write!(f, "{n}b"),
            Trigger::Wall(d) => write!(f, "wall:{}", Compact(d)),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::RejectAuth => f.write_str("reject-auth"),
            Fault::Close { after, code, .. } => write!(f, "close={code}@{after}"),
            Fault::IdleTimeout(d) => write!(f, "idle={}", Compact(*d)),
            Fault::ChunkDuration => f.write_str("chunk-duration"),
            Fault::Stall(after) => write!(f, "stall@{after}"),
            Fault::Drop(after) => write!(f, "drop@{after}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_and_prints_back() {
        for spelling in [
            "reject-auth",
            "close=1011@2s",
            "close=1011@1500ms",
            "close=3008@64000b",
            "close=1011@wall:2s",
            "idle=2s",
            "chunk-duration",
            "stall@500ms",
            "stall@wall:250us",
            "drop@32000b",
            "drop@0s",
        ] {
            let fault: Fault = spelling.parse().unwrap();
            assert_eq!(fault.to_string(), spelling);
        }
    }

    #[test]
    fn triggers_are_audio_time_bytes_or_wall_time() {
        let close = |s: &str| s.parse::<Fault>().unwrap().trigger();
        assert_eq!(close("close=1011@2s"), Some(Trigger::Audio(Duration::from_secs(2))));
        assert_eq!(close("close=1011@1.5s"), Some(Trigger::Audio(Duration::from_millis(1500))));
        assert_eq!(close("close=1011@1m 30s"), Some(Trigger::Audio(Duration::from_secs(90))));
        assert_eq!(close("close=1011@64000b"), Some(Trigger::Bytes(64_000)));
        assert_eq!(close("close=1011@wall:2s"), Some(Trigger::Wall(Duration::from_secs(2))));
        assert_eq!("idle=250ms".parse(), Ok(Fault::IdleTimeout(Duration::from_millis(250))));
        assert_eq!(Fault::RejectAuth.trigger(), None);
    }

    #[test]
    fn audio_time_becomes_bytes_at_the_session_rate() {
        let bps = 32_000; // 16 kHz mono s16le
        assert_eq!(Trigger::Audio(Duration::from_secs(2)).bytes(bps), Some(64_000));
        assert_eq!(Trigger::Audio(Duration::from_millis(1)).bytes(bps), Some(32));
        // A part of a byte still has to arrive: round up.
        assert_eq!(Trigger::Audio(Duration::from_nanos(1)).bytes(bps), Some(1));
        assert_eq!(Trigger::Bytes(7).bytes(bps), Some(7));
        assert_eq!(Trigger::Wall(Duration::from_secs(1)).bytes(bps), None);
        assert_eq!(Trigger::Audio(Duration::MAX).bytes(u64::MAX), Some(u64::MAX));
    }

    #[test]
    fn bad_spellings_say_what_is_expected() {
        for bad in [
            "",
            "close",
            "close=1011",
            "close=99@1s",
            "close=1011@soon",
            "close=1011@wall:",
            "close=1011@wall:64000b",
            "drop@-1b",
            "drop@b",
            "stall@5",
            "idle=",
            "explode",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert!(err.to_string().contains("close=CODE@WHEN"), "{bad}: {err}");
            assert!(err.to_string().contains("wall:2s"), "{bad}: {err}");
        }
    }

    #[test]
    fn chunk_duration_reason_keeps_the_providers_prefix_and_fits_a_close_frame() {
        let reason = chunk_duration_reason(100, "AssemblyAI accepts 50 to 1000 ms");
        assert!(reason.starts_with("Input duration violation: 100 ms."), "{reason}");
        assert!(reason.len() <= 123, "{} bytes", reason.len());
    }
}
