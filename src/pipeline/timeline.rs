//! The [`Timeline`]: the pipeline's observer of a streaming run. It knows where speech
//! ends in the audio, is told when each chunk was due and when each event arrived, and
//! derives time to first partial, final latency per utterance and the transcript rate;
//! it also keeps the text of every final.
//!
//! It does no I/O and reads no clock: instants come from the driver (or a test), so
//! tests use synthetic ones.

use std::time::Duration;

use tokio::time::Instant;

use super::COVER_TOLERANCE;
use crate::provider::Event;
use crate::stream::{ChunkTimes, Observer, Received};

/// Send and receive instants of one session. See the module doc.
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    /// Where speech ends in the audio, ascending.
    speech_ends: Vec<Duration>,
    /// How many of `speech_ends` a final has covered so far.
    covered: usize,
    /// `(audio end, due at)` per chunk, in sending order (audio end never decreases).
    sent: Vec<(Duration, Instant)>,
    first_transcript: Option<Instant>,
    finals: Vec<Duration>,
    /// Per non-empty final: the audio sent when it arrived minus the audio it reaches.
    lags: Vec<Duration>,
    transcripts: usize,
    last_event: Option<Instant>,
    /// The text of every non-empty final, a formatted copy replacing its turn's text.
    texts: Vec<String>,
    last_turn: Option<u32>,
}

/// What a [`Timeline`] measured.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PipelineReport {
    /// First audio sent → first non-empty transcript; `None` if none arrived.
    pub first_partial: Option<Duration>,
    /// One latency per utterance a final covered, in audio order.
    pub final_latencies: Vec<Duration>,
    /// Utterances (speech ends) no final covered: lost, or still pending at the end.
    pub uncovered: usize,
    /// Per non-empty final, its lag: the audio sent when it arrived (the audio cursor)
    /// minus the audio time it reaches (the transcript cursor, start + duration), as
    /// Deepgram defines streaming latency. In arrival order.
    pub final_lags: Vec<Duration>,
    /// Transcript events (partial and final) received.
    pub transcripts: usize,
    /// Transcript events per second, from the first audio sent to the last event.
    pub transcripts_per_second: f64,
}

impl Timeline {
    /// A timeline for audio whose speech ends at `speech_ends` (see
    /// [`speech_ends`](super::speech_ends)).
    pub fn new(mut speech_ends: Vec<Duration>) -> Self {
        speech_ends.sort_unstable();
        Timeline { speech_ends, ..Self::default() }
    }

    /// Records that a chunk reaching audio time `audio_end` was due at `at`: the moment
    /// its audio existed, from which a user's wait counts.
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
        if !t.is_final {
            return;
        }
        // A formatted copy of the last turn (AssemblyAI's `format_turns`) replaces its text.
        // Its lag counts once per turn, for the first copy.
        match (self.last_turn, t.turn, self.texts.last_mut()) {
            (Some(last), Some(this), Some(text)) if last == this => text.clone_from(&t.text),
            _ => {
                self.texts.push(t.text.clone());
                let cursor = self.sent.last().map_or(Duration::ZERO, |&(end, _)| end);
                self.lags.push(cursor.saturating_sub(t.end));
            }
        }
        self.last_turn = t.turn;
        // Every speech end this final reaches is covered now. A formatted copy of a
        // final reaches nothing new, so it counts once.
        let reach = t.end + COVER_TOLERANCE;
        while let Some(&end) = self.speech_ends.get(self.covered).filter(|&&e| e <= reach) {
            if let Some(sent) = self.sent_at(end) {
                self.finals.push(at.saturating_duration_since(sent));
            }
            self.covered += 1;
        }
    }

    /// The text of every non-empty final, in order, one per turn.
    pub fn finals(&self) -> &[String] {
        &self.texts
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
            final_lags: self.lags.clone(),
            uncovered: self.speech_ends.len() - self.covered,
            transcripts: self.transcripts,
            transcripts_per_second: if span.is_zero() {
                0.0
            } else {
                self.transcripts as f64 / span.as_secs_f64()
            },
        }
    }

    /// When the audio at `audio_time` went out: the first chunk reaching it, or the last
    /// chunk if the audio ends before it.
    fn sent_at(&self, audio_time: Duration) -> Option<Instant> {
        let i = self.sent.partition_point(|&(end, _)| end < audio_time);
        self.sent.get(i).or(self.sent.last()).map(|&(_, at)| at)
    }
}

/// The driver's chunks and events, as the timeline wants them: each chunk at its due
/// time, each event at its arrival.
impl Observer for Timeline {
    fn chunk(&mut self, chunk: &ChunkTimes) {
        self.audio_sent(chunk.audio_end, chunk.due);
    }

    fn received(&mut self, received: &Received<'_>) {
        self.event(received.event, received.at);
    }
}

impl PipelineReport {
    /// The median final latency, if any final arrived.
    pub fn final_p50(&self) -> Option<Duration> {
        let mut sorted = self.final_latencies.clone();
        sorted.sort_unstable();
        sorted.get(sorted.len().saturating_sub(1) / 2).copied()
    }

    /// The slowest final.
    pub fn final_max(&self) -> Option<Duration> {
        self.final_latencies.iter().max().copied()
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

    /// Chunks of 100 ms sent every 100 ms from t0 (chunk k reaches 100(k+1) ms and goes
    /// out at 100k ms), for audio whose speech ends at `ends` ms.
    fn paced(t0: Instant, chunks: u64, ends: &[u64]) -> Timeline {
        let mut timeline = Timeline::new(ends.iter().copied().map(ms).collect());
        for i in 1..=chunks {
            timeline.audio_sent(ms(100 * i), t0 + ms(100 * (i - 1)));
        }
        timeline
    }

    #[test]
    fn first_partial_counts_from_the_first_audio_and_skips_empty_ones() {
        let t0 = Instant::now();
        let mut timeline = paced(t0, 10, &[]);
        timeline.event(&transcript("", false, ms(200)), t0 + ms(250));
        timeline.event(&Event::SpeechStarted { at: ms(100) }, t0 + ms(260));
        timeline.event(&transcript("the", false, ms(300)), t0 + ms(420));
        timeline.event(&transcript("the quick", false, ms(400)), t0 + ms(520));
        assert_eq!(timeline.report().first_partial, Some(ms(420)));
    }

    #[test]
    fn final_latency_counts_from_when_the_end_of_speech_went_out() {
        let t0 = Instant::now();
        // Speech ends at 250 ms (sent with the chunk reaching 300 ms, at t0 + 200) and at
        // 650 ms (the chunk reaching 700 ms, at t0 + 600).
        let mut timeline = paced(t0, 10, &[250, 650]);
        // Partials and empty finals cover nothing.
        timeline.event(&transcript("the", false, ms(600)), t0 + ms(400));
        timeline.event(&transcript("", true, ms(600)), t0 + ms(410));
        // A final whose end falls just short of the speech end still covers it.
        timeline.event(&transcript("the quick", true, ms(200)), t0 + ms(500));
        // A formatted copy of the same final covers nothing new.
        timeline.event(&transcript("The quick.", true, ms(200)), t0 + ms(520));
        // A final that ends beyond the audio sent covers the second utterance.
        timeline.event(&transcript("brown fox", true, ms(5_000)), t0 + ms(1_000));
        let report = timeline.report();
        assert_eq!(report.final_latencies, [ms(300), ms(400)]);
        assert_eq!(report.uncovered, 0);
        // Every chunk was observed before the events: the cursor is at 1000 ms. A final
        // reaching past the audio sent has no lag.
        assert_eq!(report.final_lags, [ms(800), ms(800), ms(0)]);
    }

    #[test]
    fn one_final_can_cover_several_utterances_and_some_stay_uncovered() {
        let t0 = Instant::now();
        let mut timeline = paced(t0, 30, &[250, 650, 2_000]);
        timeline.event(&transcript("the quick brown", true, ms(700)), t0 + ms(900));
        let report = timeline.report();
        assert_eq!(report.final_latencies, [ms(700), ms(300)]);
        assert_eq!(report.uncovered, 1);
    }

    #[test]
    fn rate_is_transcripts_over_the_session_span() {
        let t0 = Instant::now();
        let mut timeline = paced(t0, 2, &[]);
        for i in 1..=4 {
            timeline.event(&transcript("w", false, ms(100)), t0 + ms(500 * i));
        }
        timeline.event(&Event::Closed { code: 1000, reason: String::new() }, t0 + ms(4_000));
        let report = timeline.report();
        assert_eq!(report.transcripts, 4);
        assert!((report.transcripts_per_second - 1.0).abs() < 1e-9, "{report:?}");
    }

    #[test]
    fn median_and_max_of_finals() {
        let t0 = Instant::now();
        // Speech ends further apart than the tolerance, sent at 0, 500 and 1000 ms.
        let mut timeline = paced(t0, 20, &[100, 600, 1_100]);
        for (end, got) in [(100, 400), (600, 650), (1_100, 2_000)] {
            timeline.event(&transcript("w", true, ms(end)), t0 + ms(got));
        }
        let report = timeline.report();
        // Latencies 400, 150 and 1000 ms.
        assert_eq!((report.final_p50(), report.final_max()), (Some(ms(400)), Some(ms(1_000))));
        assert_eq!(Timeline::default().report().final_p50(), None);
    }

    #[test]
    fn nothing_sent_or_received_reports_nothing() {
        let report = Timeline::new(vec![ms(100)]).report();
        assert_eq!(report.first_partial, None);
        assert!(report.final_latencies.is_empty());
        assert_eq!(report.uncovered, 1);
        assert_eq!(report.transcripts_per_second, 0.0);
        let mut deaf = paced(Instant::now(), 3, &[]);
        deaf.event(&Event::Closed { code: 1011, reason: "x".into() }, Instant::now());
        assert_eq!(deaf.report().first_partial, None);
    }

    #[test]
    fn finals_keep_one_text_per_turn_and_skip_partials_and_empty_ones() {
        let t0 = Instant::now();
        let mut timeline = paced(t0, 10, &[]);
        let turn = |text: &str, is_final: bool, turn: Option<u32>| {
            Event::Transcript(Transcript {
                text: text.into(),
                is_final,
                turn,
                ..Transcript::default()
            })
        };
        timeline.event(&turn("the quick", false, Some(0)), t0);
        timeline.event(&turn("the quick brown", true, Some(0)), t0);
        timeline.event(&turn("The quick brown.", true, Some(0)), t0);
        timeline.event(&turn("", true, Some(1)), t0);
        timeline.event(&turn("call me", true, Some(1)), t0);
        timeline.event(&turn("back", true, None), t0);
        timeline.event(&turn("soon", true, None), t0);
        assert_eq!(timeline.finals(), ["The quick brown.", "call me", "back", "soon"]);
    }
}
