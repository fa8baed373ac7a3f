//! What the driver tells whoever watches a run: every chunk with its five timestamps,
//! every event with its arrival instant, stalls as they are found, the start and the end.
//!
//! Observers do the measuring; the driver only takes timestamps. [`Recorder`](super::Recorder)
//! keeps the latency distributions, the pipeline's `Timeline` the transcript figures, and
//! the CLI adapts the same calls to its progress bar. Observers compose: `&mut O`,
//! `Option<O>` and pairs `(A, B)` are observers too. Every method has an empty default, and each is
//! called on the driver's task between two awaits, so it should be quick and must not
//! block.

use std::time::Duration;

use tokio::time::Instant;

use super::outcome::{Outcome, Stall};
use crate::provider::Event;

/// The run has started: the session is open and the first chunk is about to be due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Start {
    /// The dialect's name: `echo`, `deepgram`, `assemblyai`.
    pub provider: &'static str,
    /// Chunks the audio is cut into.
    pub chunks: u64,
    /// Audio per chunk.
    pub chunk: Duration,
    /// All the audio, padding included.
    pub audio: Duration,
    /// Time the connect took (TCP, TLS, WebSocket upgrade).
    pub connect: Duration,
    /// When the run started: chunk 0 is due now.
    pub at: Instant,
}

/// One chunk on its way out: where it sits in the audio and the five instants it passed.
///
/// The stages issue figures are derived here, in one place, and sum to the send latency:
/// [`wake_lateness`](Self::wake_lateness) + [`encode`](Self::encode) +
/// [`queue`](Self::queue) + [`write`](Self::write) = [`send_latency`](Self::send_latency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkTimes {
    /// Its index in the audio, from 0.
    pub seq: u64,
    /// Audio time where it starts.
    pub audio_start: Duration,
    /// Audio time where it ends.
    pub audio_end: Duration,
    /// Encoded bytes.
    pub bytes: usize,
    /// When it was due: its audio time (real time), or when the writer became free
    /// (unpaced). Latency counts from here.
    pub due: Instant,
    /// When the pacer was free to wait for it: `due`, or, for a chunk due while a full
    /// queue held the pacer back ([`QueuePolicy::Wait`](super::QueuePolicy::Wait)), when
    /// the queue had room again. The gap counts as queueing, not as the pacer's lateness.
    pub released: Instant,
    /// When the pacer woke for it.
    pub woke: Instant,
    /// When its s16le bytes were ready.
    pub encoded: Instant,
    /// When the socket writer took it from the queue.
    pub dequeued: Instant,
    /// When its frame had been written and flushed to the socket.
    pub written: Instant,
}

impl ChunkTimes {
    /// How late the pacer woke: `woke − released`.
    pub fn wake_lateness(&self) -> Duration {
        self.woke.saturating_duration_since(self.released)
    }

    /// Encoding: `encoded − woke`.
    pub fn encode(&self) -> Duration {
        self.encoded.saturating_duration_since(self.woke)
    }

    /// Waiting for the writer: `dequeued − encoded`, plus any time a full queue held the
    /// pacer back (`released − due`).
    pub fn queue(&self) -> Duration {
        self.dequeued.saturating_duration_since(self.encoded)
            + self.released.saturating_duration_since(self.due)
    }

    /// The socket write and flush: `written − dequeued`.
    pub fn write(&self) -> Duration {
        self.written.saturating_duration_since(self.dequeued)
    }

    /// All of it: `written − due`, what the client added before the network.
    pub fn send_latency(&self) -> Duration {
        self.written.saturating_duration_since(self.due)
    }
}

/// An event from the server, as it arrived.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Received<'a> {
    /// The event.
    pub event: &'a Event,
    /// When it arrived.
    pub at: Instant,
    /// For a dialect that echoes, the chunk this echo answers (the oldest one not yet
    /// echoed); `None` otherwise.
    pub echo_of: Option<ChunkTimes>,
}

/// Watches a run. See the module doc; every method defaults to doing nothing.
pub trait Observer {
    /// The session is open and the run starts.
    fn started(&mut self, start: &Start) {
        let _ = start;
    }

    /// A chunk was written to the socket.
    fn chunk(&mut self, chunk: &ChunkTimes) {
        let _ = chunk;
    }

    /// Chunk `seq` was dropped at `at` because the queue was full
    /// ([`QueuePolicy::Drop`](super::QueuePolicy::Drop)).
    fn dropped(&mut self, seq: u64, at: Instant) {
        let _ = (seq, at);
    }

    /// The server sent something.
    fn received(&mut self, received: &Received<'_>) {
        let _ = received;
    }

    /// The server stopped reading or answering; the run ends with this stall.
    fn stalled(&mut self, stall: &Stall) {
        let _ = stall;
    }

    /// The run is over; nothing follows.
    fn ended(&mut self, outcome: &Outcome) {
        let _ = outcome;
    }
}

impl Observer for () {}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn started(&mut self, start: &Start) {
        (**self).started(start);
    }
    fn chunk(&mut self, chunk: &ChunkTimes) {
        (**self).chunk(chunk);
    }
    fn dropped(&mut self, seq: u64, at: Instant) {
        (**self).dropped(seq, at);
    }
    fn received(&mut self, received: &Received<'_>) {
        (**self).received(received);
    }
    fn stalled(&mut self, stall: &Stall) {
        (**self).stalled(stall);
    }
    fn ended(&mut self, outcome: &Outcome) {
        (**self).ended(outcome);
    }
}

/// The observer if there is one: for a part that only some runs have (a timeline for
/// providers, a progress bar on a terminal).
impl<O: Observer> Observer for Option<O> {
    fn started(&mut self, start: &Start) {
        if let Some(o) = self {
            o.started(start);
        }
    }
    fn chunk(&mut self, chunk: &ChunkTimes) {
        if let Some(o) = self {
            o.chunk(chunk);
        }
    }
    fn dropped(&mut self, seq: u64, at: Instant) {
        if let Some(o) = self {
            o.dropped(seq, at);
        }
    }
    fn received(&mut self, received: &Received<'_>) {
        if let Some(o) = self {
            o.received(received);
        }
    }
    fn stalled(&mut self, stall: &Stall) {
        if let Some(o) = self {
            o.stalled(stall);
        }
    }
    fn ended(&mut self, outcome: &Outcome) {
        if let Some(o) = self {
            o.ended(outcome);
        }
    }
}

/// Both observers, the first one first.
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn started(&mut self, start: &Start) {
        self.0.started(start);
        self.1.started(start);
    }
    fn chunk(&mut self, chunk: &ChunkTimes) {
        self.0.chunk(chunk);
        self.1.chunk(chunk);
    }
    fn dropped(&mut self, seq: u64, at: Instant) {
        self.0.dropped(seq, at);
        self.1.dropped(seq, at);
    }
    fn received(&mut self, received: &Received<'_>) {
        self.0.received(received);
        self.1.received(received);
    }
    fn stalled(&mut self, stall: &Stall) {
        self.0.stalled(stall);
        self.1.stalled(stall);
    }
    fn ended(&mut self, outcome: &Outcome) {
        self.0.ended(outcome);
        self.1.ended(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_sum_to_the_send_latency() {
        let t0 = Instant::now();
        let us = Duration::from_micros;
        let chunk = ChunkTimes {
            seq: 3,
            audio_start: Duration::from_millis(60),
            audio_end: Duration::from_millis(80),
            bytes: 640,
            due: t0,
            released: t0 + us(7),
            woke: t0 + us(1_007),
            encoded: t0 + us(1_009),
            dequeued: t0 + us(1_500),
            written: t0 + us(1_530),
        };
        assert_eq!(chunk.wake_lateness(), us(1_000));
        assert_eq!(chunk.encode(), us(2));
        assert_eq!(chunk.queue(), us(491 + 7), "held back counts as queueing");
        assert_eq!(chunk.write(), us(30));
        let sum = chunk.wake_lateness() + chunk.encode() + chunk.queue() + chunk.write();
        assert_eq!(sum, chunk.send_latency());
    }
}
