//! Faults a mock provider injects on demand, and their command-line spelling.
//!
//! Each fault reproduces something real clients meet: a rejected key, a server that
//! closes with a provider code, an idle timeout, a chunk-duration violation, a server
//! that stops reading, a connection that vanishes without a close frame. The mock
//! applies them (`conn.rs`); this file only names and parses them.
//!
//! | spelling | fault |
//! |---|---|
//! | `reject-auth` | [`Fault::RejectAuth`] |
//! | `close=1011@2s`, `close=3008@64000b` | [`Fault::Close`] after 2 s or 64 000 audio bytes |
//! | `idle=2s` | [`Fault::IdleTimeout`] |
//! | `chunk-duration` | [`Fault::ChunkDuration`] |
//! | `stall@500ms` | [`Fault::Stall`] |
//! | `drop@32000b` | [`Fault::Drop`] |

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// When a fault fires, counted from the end of the WebSocket handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// After this much wall-clock time (`tokio::time`, so tests can pause it).
    Elapsed(Duration),
    /// Once this many audio bytes have been received.
    Bytes(u64),
}

/// A misbehaviour the mock shows every connection. See the module doc for spellings.
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
    /// Close as the provider does when it hears nothing for this long (Deepgram: `Metadata`,
    /// then 1011 NET-0001). Deepgram's real window is 10 s, the mock's default too.
    IdleTimeout(Duration),
    /// Answer the first audio message with AssemblyAI's 3007 chunk-duration close,
    /// whatever its length (Deepgram has no such rule: there it is a 3007 close anyway).
    ChunkDuration,
    /// Stop reading and writing once `after` is reached, holding the connection open:
    /// the client's sends back up and nothing comes back.
    Stall(Trigger),
    /// Drop the TCP connection without a close frame once `after` is reached.
    Drop(Trigger),
}

/// A fault spelling that did not parse, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown fault `{0}`; expected reject-auth, close=CODE@WHEN, idle=DURATION, \
     chunk-duration, stall@WHEN or drop@WHEN, where WHEN is 500ms, 2s or 64000b (audio bytes)"
)]
pub struct FaultParseError(pub String);

impl FromStr for Fault {
    type Err = FaultParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || FaultParseError(s.to_string());
        let s = s.trim();
        if s == "reject-auth" {
            return Ok(Fault::RejectAuth);
        }
        if s == "chunk-duration" {
            return Ok(Fault::ChunkDuration);
        }
        if let Some(d) = s.strip_prefix("idle=") {
            return duration(d).map(Fault::IdleTimeout).ok_or_else(err);
        }
        if let Some(when) = s.strip_prefix("stall@") {
            return trigger(when).map(Fault::Stall).ok_or_else(err);
        }
        if let Some(when) = s.strip_prefix("drop@") {
            return trigger(when).map(Fault::Drop).ok_or_else(err);
        }
        if let Some(rest) = s.strip_prefix("close=") {
            let (code, when) = rest.split_once('@').ok_or_else(err)?;
            let code = code.parse::<u16>().ok().filter(|c| (1000..5000).contains(c));
            let after = trigger(when).ok_or_else(err)?;
            return Ok(Fault::Close { after, code: code.ok_or_else(err)?, reason: String::new() });
        }
        Err(err())
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Elapsed(d) => write!(f, "{}ms", d.as_millis()),
            Trigger::Bytes(n) => write!(f, "{n}b"),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::RejectAuth => f.write_str("reject-auth"),
            Fault::Close { after, code, .. } => write!(f, "close={code}@{after}"),
            Fault::IdleTimeout(d) => write!(f, "idle={}ms", d.as_millis()),
            Fault::ChunkDuration => f.write_str("chunk-duration"),
            Fault::Stall(after) => write!(f, "stall@{after}"),
            Fault::Drop(after) => write!(f, "drop@{after}"),
        }
    }
}

fn trigger(s: &str) -> Option<Trigger> {
    match s.strip_suffix('b') {
        Some(n) => n.parse().ok().map(Trigger::Bytes),
        None => duration(s).map(Trigger::Elapsed),
    }
}

fn duration(s: &str) -> Option<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    s.strip_suffix('s')?.parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_and_prints_back() {
        for spelling in [
            "reject-auth",
            "close=1011@2000ms",
            "close=3008@64000b",
            "idle=2000ms",
            "chunk-duration",
            "stall@500ms",
            "drop@32000b",
        ] {
            let fault: Fault = spelling.parse().unwrap();
            assert_eq!(fault.to_string(), spelling);
        }
        assert_eq!("idle=2s".parse(), Ok(Fault::IdleTimeout(Duration::from_secs(2))));
    }

    #[test]
    fn bad_spellings_say_what_is_expected() {
        for bad in [
            "",
            "close",
            "close=1011",
            "close=99@1s",
            "close=1011@soon",
            "drop@-1b",
            "stall@5m",
            "explode",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert!(err.to_string().contains("close=CODE@WHEN"), "{bad}: {err}");
        }
    }
}
