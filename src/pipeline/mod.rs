//! Whole-pipeline timing: how long after audio goes out do transcripts come back.
//!
//! A [`Timeline`] knows where speech ends in the audio being streamed
//! ([`speech_ends`]), is told when each chunk was sent (and up to which audio time it
//! reaches) and when each event arrived; from that it derives, per session:
//!
//! - **time to first partial**: from the first audio sent to the first non-empty
//!   transcript (partial or final): what a user waits before words appear;
//! - **final latency**, per utterance: from the moment the client sent the audio where
//!   the speech ended to the arrival of the first final that covers it. That is what a
//!   user waits after they stop talking: the provider's endpointing (the silence it
//!   waits for), its processing and the transport;
//! - **transcription rate**: transcript events per second of session.
//!
//! Speech ends come from the audio itself (the mocks' energy detector: a voiced run
//! followed by [`PAUSE`]), not from the provider, so the figure means the same for every
//! provider. The timeline does no I/O and reads no clock: callers pass instants, so
//! tests use synthetic ones. [`run`] streams audio through a
//! [`Session`](crate::session::Session) to a provider or its mock and fills a timeline.

pub mod compare;
mod measure;

pub use compare::{Target, compare, run_hosted};
pub use measure::{PipelineOptions, PipelineRun, run};

use std::time::Duration;

use tokio::time::Instant;

use crate::encode::{AudioFormat, ChunkEncoder};
use crate::provider::Event;
use crate::server::mock::transcribe::{Output, Transcriber, TranscriberConfig};

/// The silence after voiced audio that ends an utterance for [`speech_ends`]: shorter
/// gaps are between words. 300 ms is Deepgram's usual endpointing and below
/// AssemblyAI's 400 ms turn silence.
pub const PAUSE: Duration = Duration::from_millis(300);

/// How far a final's end may fall short of a speech end and still cover it. Providers
/// place a word's end where the word stops being recognisable, up to a few frames before
/// its energy fades; 300 ms is far above that and far below a pause between sentences.
pub const COVER_TOLERANCE: Duration = Duration::from_millis(300);

/// Audio times at which speech ends in `samples` (interleaved, in `format`): the end of
/// every voiced run followed by at least [`PAUSE`] of silence, and of the last one.
pub fn speech_ends(samples: &[f32], format: AudioFormat) -> Vec<Duration> {
    let config = TranscriberConfig { endpoint: PAUSE, ..TranscriberConfig::default() };
    let mut detector = Transcriber::new(config, format.sample_rate(), format.channels());
    let mut outputs = Vec::new();
    // One encode of the whole signal: this runs once per session, before any timing.
    let spec = format.chunk_ms(1000).expect("1 s is whole frames at any rate");
    let mut encoder = ChunkEncoder::new(spec);
    for chunk in encoder.chunks(samples) {
        detector.push(&chunk, &mut outputs);
    }
    detector.flush(&mut outputs);
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Final(span, _) => span.words.last().map(|w| w.end),
            _ => None,
        })
        .collect()
}

/// Send and receive instants of one session. See the module doc.
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    /// Where speech ends in the audio, ascending.
    speech_ends: Vec<Duration>,
    /// How many of `speech_ends` a final has covered so far.
    covered: usize,
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
    /// One latency per utterance a final covered, in audio order.
    pub final_latencies: Vec<Duration>,
    /// Utterances (speech ends) no final covered: lost, or still pending at the end.
    pub uncovered: usize,
    /// Transcript events (partial and final) received.
    pub transcripts: usize,
    /// Transcript events per second, from the first audio sent to the last event.
    pub transcripts_per_second: f64,
}

impl Timeline {
    /// A timeline for audio whose speech ends at `speech_ends` (see [`speech_ends`]).
    pub fn new(mut speech_ends: Vec<Duration>) -> Self {
        speech_ends.sort_unstable();
        Timeline { speech_ends, ..Self::default() }
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
        if !t.is_final {
            return;
        }
        // Every speech end this final reaches is covered now. A formatted copy of a
        // final (AssemblyAI's `format_turns`) reaches nothing new, so it counts once.
        let reach = t.end + COVER_TOLERANCE;
        while let Some(&end) = self.speech_ends.get(self.covered).filter(|&&e| e <= reach) {
            if let Some(sent) = self.sent_at(end) {
                self.finals.push(at.saturating_duration_since(sent));
            }
            self.covered += 1;
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

/// `d` in milliseconds with one decimal, or `-` when there is none.
fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
}

/// One row per run, side by side: the comparison `sttbench stream` prints for several
/// providers.
pub fn table(runs: &[PipelineRun]) -> String {
    let mut out = format!(
        "{:<12} {:>14} {:>16} {:>16} {:>7} {:>14}\n",
        "provider", "first partial", "final p50", "final max", "finals", "transcripts/s"
    );
    for run in runs {
        let p = &run.pipeline;
        out.push_str(&format!(
            "{:<12} {:>14} {:>16} {:>16} {:>7} {:>14.1}\n",
            run.provider,
            ms(p.first_partial),
            ms(p.final_p50()),
            ms(p.final_max()),
            run.finals.len(),
            p.transcripts_per_second
        ));
    }
    out
}

impl std::fmt::Display for PipelineRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.pipeline;
        writeln!(f, "provider       {}", self.provider)?;
        writeln!(f, "first partial  {}", ms(p.first_partial))?;
        writeln!(
            f,
            "final latency  p50 {}, max {} over {} utterances ({} without a final)",
            ms(p.final_p50()),
            ms(p.final_max()),
            p.final_latencies.len(),
            p.uncovered
        )?;
        writeln!(f, "transcripts    {} ({:.1}/s)", p.transcripts, p.transcripts_per_second)?;
        for text in &self.finals {
            writeln!(f, "final          {text}")?;
        }
        if let Some((code, reason)) = &self.server_close {
            writeln!(f, "server close   {code} {reason}")?;
        }
        write!(f, "{}", self.session)
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
    fn speech_ends_are_found_in_the_audio() {
        let format = AudioFormat::PIPELINE;
        let tone =
            |ms: usize| (0..ms * 16).map(|n| (n as f32 * 0.1).sin() * 0.5).collect::<Vec<f32>>();
        let silence = |ms: usize| vec![0.0f32; ms * 16];
        // Speech, a 100 ms gap (between words), speech, a 500 ms pause, speech to the end.
        let audio = [tone(400), silence(100), tone(300), silence(500), tone(200)].concat();
        assert_eq!(speech_ends(&audio, format), [ms(800), ms(1_500)]);
        assert!(speech_ends(&silence(1_000), format).is_empty());
        let fixture = crate::signal::speech(format).unwrap();
        assert_eq!(speech_ends(&fixture, format).len(), 2, "two sentences");
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
}
