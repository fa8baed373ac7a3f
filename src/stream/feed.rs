//! The producing side of a run: the audio cursor, the schedule, the encoder and the
//! bounded queue to the socket writer.
//!
//! The feed knows nothing of connections, so it outlives any one of them: the loop asks
//! it for the next chunk's deadline, hands it the pacer's wake, and pops what the writer
//! should send next. A reconnect (on a drop, with replay) would put the chunks no final
//! has covered back at the front of this queue and go on with the same schedule.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::config::{QueuePolicy, StreamConfig};
use super::observer::ChunkTimes;
use super::pace::Schedule;
use super::source::Audio;
use crate::encode::ChunkEncoder;

/// The chunk the pacer is waiting for.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    seq: u64,
    due: Instant,
    released: Instant,
}

/// What became of a chunk the pacer woke for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fed {
    /// Encoded and queued for the writer.
    Queued,
    /// Not sent: the feed was sealed meanwhile.
    Discarded,
    /// Dropped, the queue being full ([`QueuePolicy::Drop`]): its index and when.
    Dropped(u64, Instant),
    /// The queue overflowed ([`QueuePolicy::Fail`]), with this much audio in it.
    Overflow(Duration),
}

#[derive(Debug)]
pub(crate) struct Feed<'a> {
    audio: &'a Audio,
    schedule: Schedule,
    encoder: ChunkEncoder,
    policy: QueuePolicy,
    capacity: usize,
    /// The next chunk to hand to the pacer.
    next: u64,
    waiting: Option<Waiting>,
    queue: VecDeque<(ChunkTimes, Bytes)>,
    /// The queue is full ([`QueuePolicy::Wait`]): the pacer waits for room.
    blocked: bool,
    /// When the queue last had room again after being full.
    unblocked: Option<Instant>,
    /// No more audio: stopped, or the connection is over.
    sealed: bool,
    first_due: Option<Instant>,
}

impl<'a> Feed<'a> {
    /// A feed of `audio` whose chunk 0 is due at `start`.
    pub(crate) fn new(audio: &'a Audio, config: &StreamConfig, start: Instant) -> Self {
        let chunk = audio.spec().duration();
        let realtime = config.pacing == super::Pacing::RealTime;
        // At least one chunk, or nothing could ever be queued.
        let capacity = usize::try_from(config.queue_limit.as_nanos().div_ceil(chunk.as_nanos()))
            .unwrap_or(usize::MAX)
            .max(1);
        Feed {
            audio,
            schedule: Schedule::new(start, chunk, realtime, &config.pauses),
            encoder: ChunkEncoder::new(audio.spec()),
            policy: config.when_full,
            capacity,
            next: 0,
            waiting: None,
            queue: VecDeque::new(),
            blocked: false,
            unblocked: None,
            sealed: false,
            first_due: None,
        }
    }

    /// When the run started: chunk 0's due time.
    pub(crate) fn start(&self) -> Instant {
        self.schedule.start()
    }

    /// Whether chunks are paced in real time.
    pub(crate) fn realtime(&self) -> bool {
        self.schedule.realtime()
    }

    /// The first chunk's due time, once there is one.
    pub(crate) fn first_due(&self) -> Option<Instant> {
        self.first_due
    }

    /// Whether the pacer should be asked for the next chunk now; `writer_idle` says the
    /// writer has nothing in hand.
    pub(crate) fn wants_chunk(&self, writer_idle: bool) -> bool {
        let room = match (self.realtime(), self.policy) {
            // Unpaced: the next chunk is due when the writer is free.
            (false, _) => self.queue.is_empty() && writer_idle,
            (true, QueuePolicy::Wait) => self.queue.len() < self.capacity,
            (true, QueuePolicy::Drop | QueuePolicy::Fail) => true,
        };
        room && !self.sealed && self.waiting.is_none() && self.next < self.audio.chunks()
    }

    /// Asks for the next chunk. Returns the pacer's deadline (`None`: unpaced, just yield)
    /// and the pause that starts before it, if one does.
    pub(crate) fn arm(&mut self) -> (Option<Instant>, Option<Duration>) {
        let (seq, now) = (self.next, Instant::now());
        let pause = self.schedule.pause_before(seq);
        let (due, deadline) = match (self.realtime(), pause) {
            (true, _) => (self.schedule.due(seq), Some(self.schedule.due(seq))),
            (false, Some(length)) => (now + length, Some(now + length)),
            (false, None) => (now, None),
        };
        // The pacer is only asked when the queue has room. A chunk due while it was full
        // (or before the backlog that built up then had drained) waited for the queue, so
        // it counts as released when the queue last had room again; any lateness after
        // that, and all of it when the queue never filled, is the pacer's.
        if std::mem::take(&mut self.blocked) {
            self.unblocked = Some(now);
        }
        let released = self.unblocked.map_or(due, |unblocked| due.max(unblocked));
        self.waiting = Some(Waiting { seq, due, released });
        (deadline, pause)
    }

    /// The pacer woke at `woke` for the chunk it was asked for: encode and queue it.
    pub(crate) fn woke(&mut self, woke: Instant) -> Fed {
        let Some(Waiting { seq, due, released }) = self.waiting.take() else {
            return Fed::Discarded;
        };
        if self.sealed {
            return Fed::Discarded;
        }
        let chunk = self.encoder.encode_f32(self.audio.chunk(seq));
        let encoded = Instant::now();
        let times = ChunkTimes {
            seq,
            audio_start: self.audio.audio_at(seq),
            audio_end: self.audio.audio_at(seq + 1),
            bytes: chunk.len(),
            due,
            released,
            woke,
            encoded,
            dequeued: encoded,
            written: encoded,
        };
        self.next += 1;
        self.first_due.get_or_insert(due);
        match self.policy {
            _ if self.queue.len() < self.capacity => {}
            // Only unpaced runs get here, with an empty queue: the capacity is at least 1.
            QueuePolicy::Wait => {}
            QueuePolicy::Drop => return Fed::Dropped(seq, encoded),
            QueuePolicy::Fail => {
                let queued = self.audio.audio_at(self.queue.len() as u64);
                return Fed::Overflow(queued);
            }
        }
        self.queue.push_back((times, chunk));
        self.blocked = self.queue.len() >= self.capacity;
        Fed::Queued
    }

    /// The next chunk for the writer, stamped as taken `now`.
    pub(crate) fn pop(&mut self, now: Instant) -> Option<(ChunkTimes, Bytes)> {
        let (mut times, chunk) = self.queue.pop_front()?;
        times.dequeued = now;
        Some((times, chunk))
    }

    /// Every chunk has been handed to the writer (or dropped): time for the close.
    pub(crate) fn exhausted(&self) -> bool {
        self.next == self.audio.chunks() && self.waiting.is_none() && self.queue.is_empty()
    }

    /// No more audio: drop what waits in the queue and what the pacer waits for.
    pub(crate) fn seal(&mut self) {
        self.sealed = true;
        self.queue.clear();
        self.waiting = None;
    }

    /// Whether [`seal`](Self::seal) was called.
    pub(crate) fn sealed(&self) -> bool {
        self.sealed
    }
}
