//! What a mock tells an observer in the same process: when each audio frame arrived and
//! when each reply went out, on the `tokio::time` clock the client's own timestamps use.
//!
//! With those two instants beside the client's (chunk written, event arrived), a run's
//! latency splits into uplink transit (written → arrived here), server time (arrived →
//! reply sent, the processing delay included) and downlink transit (sent → the client
//! read it). Real providers have no tap, so their runs just lack those stages.
//!
//! The tap is called on the connection's task right after the socket read or write:
//! implementations keep it short (a push under a lock) and never block.

use std::fmt;

use tokio::time::Instant;

/// Sees a mock's audio frames and replies. See the module doc.
pub trait Tap: Send + Sync + fmt::Debug {
    /// An audio (binary) frame of `bytes` bytes was read at `at`.
    fn audio(&self, bytes: usize, at: Instant);

    /// A text reply was written at `sent`; the mock produced it on reading what arrived
    /// at `heard` (an audio frame, a control message, or the connection opening). Close
    /// frames are not replies.
    fn replied(&self, heard: Instant, sent: Instant);
}
