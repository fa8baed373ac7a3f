//! Reconnecting without losing audio: the chunks no final result covers yet, kept for a
//! reconnect ([`Replay`]), the re-basing of a new connection's results onto the original
//! timeline ([`Rebase`]), and which endings are worth a reconnect ([`retryable_close`],
//! [`retryable_error`]).
//!
//! **What confirms audio.** A provider is done with audio once a final result covers it:
//! Deepgram's `is_final` result spans `start` to `start + duration` and that range will not
//! change again; AssemblyAI's turn with `end_of_turn` ends at its last word. Both reach the
//! driver as a final [`Transcript`](crate::provider::Transcript) whose `end` is that
//! point, so one rule serves both (see [`confirmed_by`]); an echo peer confirms each chunk
//! it sends back. Audio after the cursor is kept, whatever was written: a write that
//! reached the socket says nothing about what the server heard. `docs/providers.md`
//! names the public sources.
//!
//! **Bounded.** At most [`StreamConfig::replay_limit`](super::StreamConfig::replay_limit)
//! of audio is kept (the newest); older unconfirmed chunks are let go, and if a reconnect
//! then needs them they are counted as lost, never silently skipped. The chunks are the
//! encoder's [`Bytes`]: keeping one is a reference count, not a copy.
//!
//! **Re-basing.** A new connection's clock starts at zero at the first audio it is sent,
//! which is the first kept chunk: its results are shifted by that offset, its turn numbers
//! continue after the last one seen, and finals that end at or before what was already
//! delivered (the cursor when the connection dropped) are dropped as duplicates.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::observer::ChunkTimes;
use crate::provider::{Event, ProviderError, ProviderErrorKind};

/// The audio a run keeps for a reconnect. See the module doc.
#[derive(Debug)]
pub(crate) struct Replay {
    /// `None`: nothing is kept (the run does not reconnect).
    limit: Option<Duration>,
    /// Chunks handed to the writer and not yet confirmed, oldest first.
    kept: VecDeque<(ChunkTimes, Bytes)>,
    /// Audio confirmed up to here, on the original timeline.
    confirmed: Duration,
    /// Unconfirmed chunks let go because of the limit, since the last reconnect.
    evicted: Evicted,
    lost_bytes: u64,
}

/// A run of chunks let go from the front of the buffer, still unconfirmed: contiguous
/// (the buffer only ever loses its front), so a count and a span are enough, and a
/// stream that never hears a final holds no per-chunk record of what it let go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Evicted {
    chunks: u64,
    bytes: u64,
    start: Duration,
    end: Duration,
}

impl Evicted {
    /// Forgets the chunks that end at or before `cursor`. Evicted chunks are never the
    /// stream's last (the newest is always kept), so they are whole and of one length.
    fn confirm(&mut self, cursor: Duration) {
        if self.chunks == 0 || cursor <= self.start {
            return;
        }
        if cursor >= self.end {
            *self = Evicted::default();
            return;
        }
        let each = (self.end - self.start) / u32::try_from(self.chunks).unwrap_or(u32::MAX);
        let covered = ((cursor - self.start).as_nanos() / each.as_nanos().max(1)) as u64;
        let covered = covered.min(self.chunks);
        let bytes = self.bytes / self.chunks * covered;
        self.chunks -= covered;
        self.bytes -= bytes;
        self.start += each * u32::try_from(covered).unwrap_or(u32::MAX);
    }
}

impl Replay {
    /// Keeps up to `limit` of unconfirmed audio; `None` keeps nothing.
    pub(crate) fn new(limit: Option<Duration>) -> Self {
        Replay {
            limit,
            kept: VecDeque::new(),
            confirmed: Duration::ZERO,
            evicted: Evicted::default(),
            lost_bytes: 0,
        }
    }

    /// A chunk goes to the writer for the first time: keep it until a final covers it.
    pub(crate) fn keep(&mut self, times: ChunkTimes, chunk: Bytes) {
        let Some(limit) = self.limit else { return };
        if times.audio_end <= self.confirmed {
            return;
        }
        self.kept.push_back((times, chunk));
        while self.kept.len() > 1 && self.kept_audio() > limit {
            let Some((old, chunk)) = self.kept.pop_front() else { break };
            if self.evicted.chunks == 0 {
                self.evicted.start = old.audio_start;
            }
            self.evicted.chunks += 1;
            self.evicted.bytes += chunk.len() as u64;
            self.evicted.end = old.audio_end;
        }
    }

    /// The server has finalised the audio up to `cursor` (original timeline): what ends
    /// there or earlier is let go.
    pub(crate) fn confirm(&mut self, cursor: Duration) {
        if cursor <= self.confirmed {
            return;
        }
        self.confirmed = cursor;
        while self.kept.front().is_some_and(|(times, _)| times.audio_end <= cursor) {
            self.kept.pop_front();
        }
        self.evicted.confirm(cursor);
    }

    /// The connection dropped: the chunks to send again first (clones of the kept
    /// `Bytes`, in order) and the audio time the new connection starts at. Unconfirmed
    /// chunks let go because of the limit are counted as lost now: no connection will
    /// hear them.
    pub(crate) fn resume(
        &mut self,
        next_audio: Duration,
    ) -> (Duration, VecDeque<(ChunkTimes, Bytes)>) {
        self.lost_bytes += self.evicted.bytes;
        self.evicted = Evicted::default();
        let offset = self.kept.front().map_or(next_audio, |(times, _)| times.audio_start);
        (offset, self.kept.clone())
    }

    /// The audio confirmed so far.
    pub(crate) fn confirmed(&self) -> Duration {
        self.confirmed
    }

    /// Audio bytes that a reconnect could not send again: more was unconfirmed than the
    /// limit keeps.
    pub(crate) fn lost_bytes(&self) -> u64 {
        self.lost_bytes
    }

    /// The span of audio kept now.
    fn kept_audio(&self) -> Duration {
        match (self.kept.front(), self.kept.back()) {
            (Some((first, _)), Some((last, _))) => last.audio_end.saturating_sub(first.audio_start),
            _ => Duration::ZERO,
        }
    }

    /// Bytes kept now.
    #[cfg(test)]
    fn kept_bytes(&self) -> usize {
        self.kept.iter().map(|(_, chunk)| chunk.len()).sum()
    }
}

/// The audio time an event confirms, if it confirms any: a final transcript's end, or the
/// end of the chunk an echo answers.
pub(crate) fn confirmed_by(event: &Event, echo_of: Option<&ChunkTimes>) -> Option<Duration> {
    match event {
        Event::Transcript(t) if t.is_final => Some(t.end),
        Event::Echo(_) => echo_of.map(|chunk| chunk.audio_end),
        _ => None,
    }
}

/// Moves a connection's results onto the run's timeline. See the module doc.
#[derive(Debug, Default)]
pub(crate) struct Rebase {
    /// Where this connection's audio time zero sits on the original timeline.
    offset: Duration,
    /// Finals ending here or earlier were delivered on an earlier connection.
    delivered: Option<Duration>,
    /// Added to this connection's turn numbers.
    turn_base: u32,
    /// One past the highest turn number seen, on the run's numbering.
    next_turn: u32,
}

impl Rebase {
    /// A new connection whose audio starts at `offset`, after finals up to `delivered`.
    pub(crate) fn reconnected(&mut self, offset: Duration, delivered: Duration) {
        self.offset = offset;
        self.delivered = Some(delivered);
        self.turn_base = self.next_turn;
    }

    /// Re-bases `event` in place; `false` for a result that repeats what was delivered
    /// before the reconnect (drop it).
    pub(crate) fn apply(&mut self, event: &mut Event) -> bool {
        let offset = self.offset;
        match event {
            Event::Transcript(t) => {
                t.start += offset;
                t.end += offset;
                if let Some(turn) = t.turn.as_mut() {
                    *turn = turn.saturating_add(self.turn_base);
                    self.next_turn = self.next_turn.max(turn.saturating_add(1));
                }
                // A partial of audio already finalised is as stale as a repeated final.
                self.delivered.is_none_or(|delivered| t.end > delivered)
            }
            Event::SpeechStarted { at } => {
                *at += offset;
                true
            }
            Event::TurnEnd { last_word_end } => {
                if let Some(end) = last_word_end.as_mut() {
                    *end += offset;
                }
                true
            }
            _ => true,
        }
    }
}

/// Close codes worth a reconnect: the server went away or restarts (1001, 1012), failed
/// inside (1011), is overloaded (1013), a gateway failed (1014), or the connection
/// dropped (1006, never sent on the wire but reported by some stacks).
pub(crate) fn retryable_close(code: u16) -> bool {
    matches!(code, 1001 | 1006 | 1011 | 1012 | 1013 | 1014)
}

/// Whether a provider's close error is worth a reconnect: its server failed or timed out
/// waiting, or the session reached its maximum length. Not a refused key, a bad request,
/// audio it cannot decode, too many sessions, or an idle timeout (the client sent
/// nothing: a new session would time out the same way).
pub(crate) fn retryable_error(error: &ProviderError) -> bool {
    use ProviderErrorKind as K;
    match error.kind {
        K::Server | K::ResponseTimeout | K::SessionExpired | K::Network => true,
        K::Other => error.code.is_some_and(retryable_close),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Transcript;
    use tokio::time::Instant;

    const CHUNK: Duration = Duration::from_millis(100);
    const CHUNK_BYTES: usize = 3_200;

    fn chunk(seq: u64) -> (ChunkTimes, Bytes) {
        let now = Instant::now();
        let at = |k: u64| CHUNK * u32::try_from(k).unwrap();
        let times = ChunkTimes {
            seq,
            audio_start: at(seq),
            audio_end: at(seq + 1),
            bytes: CHUNK_BYTES,
            due: now,
            released: now,
            woke: now,
            encoded: now,
            dequeued: now,
            written: now,
        };
        (times, Bytes::from(vec![seq as u8; CHUNK_BYTES]))
    }

    fn keep(replay: &mut Replay, seqs: std::ops::Range<u64>) {
        for seq in seqs {
            let (times, bytes) = chunk(seq);
            replay.keep(times, bytes);
        }
    }

    #[test]
    fn confirming_lets_go_of_whole_chunks_and_frees_their_bytes() {
        let mut replay = Replay::new(Some(Duration::from_secs(60)));
        keep(&mut replay, 0..10);
        assert_eq!(replay.kept_bytes(), 10 * CHUNK_BYTES);
        // A final up to 450 ms covers chunks 0–3; chunk 4 is only half covered.
        replay.confirm(Duration::from_millis(450));
        assert_eq!(replay.kept_bytes(), 6 * CHUNK_BYTES);
        let (offset, chunks) = replay.resume(Duration::from_secs(1));
        assert_eq!(offset, Duration::from_millis(400), "the replay starts at chunk 4");
        assert_eq!(chunks.iter().map(|(t, _)| t.seq).collect::<Vec<_>>(), [4, 5, 6, 7, 8, 9]);
        assert_eq!(chunks[0].1, chunk(4).1, "the same bytes");
        assert_eq!(replay.lost_bytes(), 0);
        // Everything confirmed: a resume starts at the next audio, with nothing to send.
        replay.confirm(Duration::from_secs(1));
        assert_eq!(replay.kept_bytes(), 0);
        assert_eq!(
            replay.resume(Duration::from_secs(1)),
            (Duration::from_secs(1), VecDeque::new())
        );
        // Audio already confirmed is not kept again; an older cursor changes nothing.
        keep(&mut replay, 5..10);
        replay.confirm(Duration::from_millis(300));
        assert_eq!((replay.kept_bytes(), replay.confirmed()), (0, Duration::from_secs(1)));
    }

    #[test]
    fn a_keep_beyond_the_limit_counts_what_a_reconnect_cannot_send_as_lost() {
        let mut replay = Replay::new(Some(Duration::from_secs(1)));
        keep(&mut replay, 0..25);
        assert_eq!(replay.kept_bytes(), 10 * CHUNK_BYTES, "the newest second");
        // Without a drop, nothing is lost: the connection heard everything.
        assert_eq!(replay.lost_bytes(), 0);
        // A final up to 1.05 s covers evicted chunks 0–9; 10–14 (500 ms) stay evicted.
        replay.confirm(Duration::from_millis(1_050));
        let (offset, chunks) = replay.resume(Duration::from_millis(2_500));
        assert_eq!(offset, Duration::from_millis(1_500));
        assert_eq!(chunks.len(), 10);
        assert_eq!(replay.lost_bytes(), 5 * CHUNK_BYTES as u64);
        // Counted once: a second resume adds nothing for the same chunks.
        replay.resume(Duration::from_millis(2_500));
        assert_eq!(replay.lost_bytes(), 5 * CHUNK_BYTES as u64);
    }

    #[test]
    fn a_run_that_does_not_reconnect_keeps_nothing() {
        let mut replay = Replay::new(None);
        keep(&mut replay, 0..5);
        assert_eq!(replay.kept_bytes(), 0);
        assert_eq!(replay.resume(CHUNK * 5).0, CHUNK * 5);
    }

    #[test]
    fn results_after_a_reconnect_move_onto_the_original_timeline_without_repeats() {
        let final_ = |start: u64, end: u64, turn: Option<u32>| {
            Event::Transcript(Transcript {
                text: "words".into(),
                is_final: true,
                ends_turn: true,
                start: Duration::from_millis(start),
                end: Duration::from_millis(end),
                turn,
            })
        };
        let mut rebase = Rebase::default();
        let mut before = final_(0, 900, Some(3));
        assert!(rebase.apply(&mut before), "nothing is dropped before a reconnect");
        assert_eq!(before, final_(0, 900, Some(3)), "and nothing moves");
        // The drop: delivered up to 900 ms; the replay starts at the chunk at 800 ms.
        rebase.reconnected(Duration::from_millis(800), Duration::from_millis(900));
        let mut repeat = final_(0, 100, Some(0));
        assert!(!rebase.apply(&mut repeat), "a final within what was delivered is a repeat");
        let mut new = final_(100, 700, Some(1));
        assert!(rebase.apply(&mut new));
        assert_eq!(new, final_(900, 1_500, Some(5)), "times shifted, turns continued after 3");
        let mut started = Event::SpeechStarted { at: Duration::from_millis(50) };
        rebase.apply(&mut started);
        assert_eq!(started, Event::SpeechStarted { at: Duration::from_millis(850) });
        assert_eq!(confirmed_by(&new, None), Some(Duration::from_millis(1_500)));
    }

    #[test]
    fn only_failures_a_new_session_can_fix_are_retried() {
        for code in [1001, 1006, 1011, 1012, 1013, 1014] {
            assert!(retryable_close(code), "{code}");
        }
        for code in [1000, 1002, 1003, 1008, 3007, 4001] {
            assert!(!retryable_close(code), "{code}");
        }
        let error = |kind, code| ProviderError::new("deepgram", kind, Some(code), "");
        assert!(retryable_error(&error(ProviderErrorKind::Server, 1011)));
        assert!(retryable_error(&error(ProviderErrorKind::SessionExpired, 3008)));
        assert!(retryable_error(&error(ProviderErrorKind::Other, 1012)));
        assert!(!retryable_error(&error(ProviderErrorKind::Auth, 1008)));
        assert!(!retryable_error(&error(ProviderErrorKind::IdleTimeout, 1011)));
        assert!(!retryable_error(&error(ProviderErrorKind::Other, 4000)));
    }
}
