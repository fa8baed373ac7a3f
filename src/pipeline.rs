//! Whole-pipeline timing: how long after audio goes out do transcripts come back.
//!
//! A [`Timeline`] is told when each chunk was sent (and up to which audio time it
//! reaches) and when each event arrived; from that it derives, per session:
//!
//! - **time to first partial**: from the first audio sent to the first non-empty
//!   transcript (partial or final): what a user waits before words appear;
//! - **final latency**, per final: from the moment the client sent the audio at the
//!   final's end (the latest audio it covers) to the final's arrival. This is Deepgram's
//!   "audio cursor minus transcript cursor" taken at each final: the provider's
//!   processing plus the transport, excluding how long the user spoke;
//! - **transcription rate**: transcript events per second of session.
//!
//! It does no I/O and reads no clock: callers pass instants, so tests use synthetic ones
//! and benches the session's own. Histograms and reports belong to whoever aggregates
//! many timelines.

use std::time::Duration;

use tokio::time::Instant;

use crate::provider::Event;

/// Send and receive instants of one session. See the module doc.
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    /// `(audio end, sent at)` per chunk, in sending order (audio end never decreases).
    sent: Vec<(Duration, Instant)>,
    first_transcript: Option<Instant>,
    finals: Vec<Duration>,
    transcripts: usize,
    last_event: Option<Instant>,
}

/// What a [`Timeline`] measured.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PipelineReport {
    /// First audio sent → first non-empty transcript; `None` if none arrived.
    pub first_partial: Option<Duration>,
    /// One latency per non-empty final, in arrival order.
    pub final_latencies: Vec<Duration>,
    /// Transcript events (partial and final) received.
    pub transcripts: usize,
    /// Transcript events per second, from the first audio sent to the last event.
    pub transcripts_per_second: f64,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that a chunk reaching audio time `audio_end` went out at `at`.
    pub fn audio_sent(&mut self, audio_end: Duration, at: Instant) {
        let audio_end = self.sent.last().map_or(audio_end, |&(prev, _)| prev.max(audio_end));
        self.sent.push((audio_end, at));
    }

    /// Records `event`, received at `at`.
    pub fn event(&mut self, event: &Event, at: Instant) {
        self.last_event = Some(at);
        let Event::Transcript(t) = event else { return };
        self.transcripts += 1;
        if t.text.trim().is_empty() {
            return;
        }
        self.first_transcript.get_or_insert(at);
        if t.is_final
            && let Some(sent) = self.sent_at(t.end)
        {
            self.finals.push(at.saturating_duration_since(sent));
        }
    }

    /// The figures so far.
    pub fn report(&self) -> PipelineReport {
        let first_audio = self.sent.first().map(|&(_, at)| at);
        let span = match (first_audio, self.last_event) {
            (Some(start), Some(end)) => end.saturating_duration_since(start),
            _ => Duration::ZERO,
        };
        PipelineReport {
            first_partial: first_audio
                .zip(self.first_transcript)
                .map(|(sent, got)| got.saturating_duration_since(sent)),
            final_latencies: self.finals.clone(),
            transcripts: self.transcripts,
            transcripts_per_second: if span.is_zero() {
                0.0
            } else {
                self.transcripts as f64 / span.as_secs_f64()
            },
        }
    }

    /// When the audio at `audio_time` went out: the first chunk reaching it, or the last
    /// chunk if a final claims audio beyond what was sent (a flush on close).
    fn sent_at(&self, audio_time: Duration) -> Option<Instant> {
        let i = self.sent.partition_point(|&(end, _)| end < audio_time);
        self.sent.get(i).or(self.sent.last()).map(|&(_, at)| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Transcript;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn transcript(text: &str, is_final: bool, end: Duration) -> Event {
        Event::Transcript(Transcript { text: text.into(), is_final, end, ..Transcript::default() })
    }

    /// Chunks of 100 ms sent every 100 ms from t0; events at chosen instants.
    fn paced(t0: Instant, chunks: u64) -> Timeline {
        let mut timeline = Timeline::new();
        for i in 1..=chunks {
            timeline.audio_sent(ms(100 * i), t0 + ms(100 * (i - 1)));
        }
        timeline
    }

    #[test]
    fn first_partial_counts_from_the_first_audio_and_skips_empty_ones() {
        let t0 = Instant::now();
        let mut timeline = paced(t0, 10);
        timeline.event(&transcript("", false, ms(200)), t0 + ms(250));
        timeline.event(&Event::SpeechStarted { at: ms(100) }, t0 + ms(260));
        timeline.event(&transcript("the", false, ms(300)), t0 + ms(420));
        timeline.event(&transcript("the quick", false, ms(400)), t0 + ms(520));
        assert_eq!(timeline.report().first_partial, Some(ms(420)));
    }

    #[test]
    fn final_latency_counts_from_when_its_last_audio_went_out() {
        let t0 = Instant::now();
        let mut timeline = paced(t0, 10);
        // Audio up to 650 ms went out with the chunk ending at 700 ms, sent at t0 + 600.
        timeline.event(&transcript("the quick", true, ms(650)), t0 + ms(830));
        // Exactly on a chunk boundary: the chunk ending at 300 ms, sent at t0 + 200.
        timeline.event(&transcript("brown", true, ms(300)), t0 + ms(900));
        // Beyond the audio sent (a flush on close): the last chunk, sent at t0 + 900.
        timeline.event(&transcript("fox", true, ms(5_000)), t0 + ms(1_000));
        // Empty finals (endpointing on silence) are not latencies of anything said.
        timeline.event(&transcript("", true, ms(900)), t0 + ms(1_100));
        assert_eq!(timeline.report().final_latencies, [ms(230), ms(700), ms(100)]);
    }

    #[test]
    fn rate_is_transcripts_over_the_session_span() {
        let t0 = Instant::now();
        let mut timeline = paced(t0, 2);
        for i in 1..=4 {
            timeline.event(&transcript("w", false, ms(100)), t0 + ms(500 * i));
        }
        timeline.event(&Event::Closed { code: 1000, reason: String::new() }, t0 + ms(4_000));
        let report = timeline.report();
        assert_eq!(report.transcripts, 4);
        assert!((report.transcripts_per_second - 1.0).abs() < 1e-9, "{report:?}");
    }

    #[test]
    fn nothing_sent_or_received_reports_nothing() {
        let report = Timeline::new().report();
        assert_eq!(report.first_partial, None);
        assert!(report.final_latencies.is_empty());
        assert_eq!(report.transcripts_per_second, 0.0);
        let mut deaf = paced(Instant::now(), 3);
        deaf.event(&Event::Closed { code: 1011, reason: "x".into() }, Instant::now());
        assert_eq!(deaf.report().first_partial, None);
    }
}
