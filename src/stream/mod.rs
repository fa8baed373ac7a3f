//! The streaming driver: one loop for every whole streaming run (the CLI's, the
//! pipeline's, the benches', and the network and load runs built on them).
//!
//! A run is audio ([`Audio`], resolved once from a [`Source`]), a [`StreamConfig`] and a
//! [`Driver`] that connects to a URL speaking a [`Dialect`](crate::provider::Dialect)
//! and then, on one task:
//!
//! 1. **paces**: chunk k is due at its audio time on an absolute deadline
//!    ([`Pacing::RealTime`], through a [`Pacer`]) or when the writer is free
//!    ([`Pacing::Unpaced`]); [`Pause`]s stop sending for a while;
//! 2. **encodes** it to s16le;
//! 3. **queues** it for the socket writer, in a queue bounded by audio time with a
//!    [`QueuePolicy`] for a full queue (wait, drop with a count, or fail);
//! 4. **writes** it (one writer, which also sends probes and the close);
//! 5. **receives** the server's events, pairing echoes with their chunks;
//! 6. **watches** for stalls (a write that cannot finish, a server that stops answering,
//!    probed with a ping) and for the ends of the run: the close and its timeout, a
//!    [`Control`] stop (Ctrl-C), a server close, a dropped connection.
//!
//! Every chunk's five timestamps (due, woke, encoded, dequeued, written) and every event's
//! arrival go to the caller's [`Observer`]; the [`Recorder`] turns them into the client's
//! stages (`wake_lateness`, `encode`, `queue`, `write`), the send latency and the round
//! trip. Latency counts from the due time, so a stall shows in every chunk it delayed (no
//! coordinated omission). Whatever happens once the session is open, the run returns an
//! [`Outcome`] whose [`Ending`] says how it ended; errors are for runs that never started.
//!
//! 7. **reconnects** after a drop (a reset, a close without a close frame, a retryable
//!    close code, a stall), when the session's
//!    [`ReconnectPolicy::reconnects`](crate::session::ReconnectPolicy::reconnects) allows:
//!    the audio no final has confirmed is kept (up to [`StreamConfig::replay_limit`]) and
//!    sent again first, and the new connection's results are re-based onto the original
//!    timeline without repeating finals (`replay.rs`, `conduct/resume.rs`). The
//!    [`Outcome`] counts reconnects, replayed and lost bytes, and each gap.
//!
//! Seams for what comes next: a more punctual pacer implements [`Pacer`]
//! ([`Driver::pacer`]); many streams share one [`Recorder`] or merge theirs.

mod conduct;
mod config;
mod decide;
mod driver;
mod feed;
mod observer;
mod outcome;
mod pace;
mod record;
mod replay;
mod source;
mod watch;

pub use config::{Pacing, Pause, QueuePolicy, REPLAY_LIMIT, StreamConfig, parse_duration};
pub use driver::{Control, Driver, Stop};
pub use observer::{ChunkTimes, Observer, Received, Start};
pub use outcome::{Ending, Outcome, Phase, Stall, StallKind, exit};
pub use pace::{Pacer, TokioPacer};
pub use record::{Recorder, Stage, Stages};
pub use source::{Audio, DEFAULT_SIGNAL_DURATION, MAX_CHUNK, MAX_SIGNAL_DURATION, Source};

#[cfg(test)]
mod tests;
