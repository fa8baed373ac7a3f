//! The mock providers' deterministic "speech recognition": voice activity
//! ([`crate::signal::vad`]) turned into words, partials and finals, all in audio time.
//!
//! Frames and utterances are the voice activity detector's: an utterance starts at a
//! voiced frame and ends once [`endpoint`](TranscriberConfig::endpoint) of silence
//! follows its last voiced frame. While voiced audio continues, every
//! [`word`](TranscriberConfig::word) of it becomes one word (a voiced run that ends sooner
//! is one word too if it lasted [`MIN_WORD`]). A partial goes out every
//! [`partial_every`](TranscriberConfig::partial_every) of audio while an utterance is
//! open; a final when the utterance ends, when the client forces one, or at the end of
//! the stream.
//!
//! The words' text comes from a script, read in order, so the same audio always yields
//! the same transcript. Counting voiced time cannot count real words, so a pause keeps
//! the two in step: **an utterance ended by a pause, or by the end of the stream, ends
//! its script sentence** (a sentence ends with `.`, `?` or `!`, or at the script's end).
//! Words of that sentence the audio was too short for are added to the final, sharing
//! the last word's time, and the next utterance starts the next sentence. So the speech
//! fixture, whose second sentence has five words but only four words' worth of voiced
//! audio ("at" is quiet and short), is heard as its two sentences. A forced final
//! (Deepgram `Finalize`, AssemblyAI `ForceEndpoint`) holds only what was heard, and the
//! sentence goes on in the next utterance.
//!
//! Everything is a function of the bytes received: no clocks, so results do not depend on
//! how fast or in what pieces the audio arrives. Wire formats are the dialects' business.

use std::time::Duration;

use crate::encode::AudioFormat;
use crate::signal::vad::{self, Activity, Frame, Utterances, Vad};

/// Frame length of the voice activity detector (see [`crate::signal::vad::FRAME`]).
pub const FRAME: Duration = vad::FRAME;

/// The shortest voiced run that still counts as a word; shorter blips (clicks, a stop
/// consonant's burst) are ignored. The detector's [`MIN_RUN`](crate::signal::vad::MIN_RUN).
pub const MIN_WORD: Duration = vad::MIN_RUN;

/// The words of the speech fixture, the default script.
pub const FIXTURE_SCRIPT: &str =
    "The quick brown fox jumps over the lazy dog. Call me back at five.";

/// How the mock hears: thresholds and cadences, all in audio time.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TranscriberConfig {
    /// RMS level (full scale = 1.0) above which a frame is voiced. Default
    /// [`vad::THRESHOLD`] (0.02, −34 dBFS): well above dither and noise floors, below
    /// quiet speech.
    pub threshold: f32,
    /// Voiced audio per word. Default 300 ms, about one English word at a normal pace.
    pub word: Duration,
    /// Audio between partials while an utterance is open. Default 200 ms. Real services
    /// send partials every ~1 s (Deepgram) or per word (AssemblyAI); the default is short
    /// so that time to first partial measures the client, not the mock's cadence.
    pub partial_every: Duration,
    /// Silence after the last voiced frame that ends an utterance with a final. Default
    /// 300 ms; the dialects set it from the client's `endpointing`/`min_turn_silence`.
    pub endpoint: Duration,
    /// Words handed out in order, cycling, sentence by sentence. Default:
    /// [`FIXTURE_SCRIPT`].
    pub script: Vec<String>,
}

impl Default for TranscriberConfig {
    fn default() -> Self {
        TranscriberConfig {
            threshold: vad::THRESHOLD,
            word: Duration::from_millis(300),
            partial_every: Duration::from_millis(200),
            endpoint: Duration::from_millis(300),
            script: FIXTURE_SCRIPT.split_whitespace().map(str::to_owned).collect(),
        }
    }
}

/// One recognised word, in audio time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The script word.
    pub text: String,
    /// Audio time of its first voiced frame.
    pub start: Duration,
    /// Audio time of the end of its last voiced frame.
    pub end: Duration,
    /// `false` only for the word still being spoken, in a partial.
    pub is_final: bool,
}

impl Word {
    /// The word as unformatted providers send it: lower case, no punctuation.
    pub fn plain(&self) -> String {
        self.text
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '\'')
            .flat_map(char::to_lowercase)
            .collect()
    }
}

/// Why a final was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Silence reached the endpoint: the sentence is complete.
    Endpoint,
    /// The client asked (Deepgram `Finalize`, AssemblyAI `ForceEndpoint`): what was heard.
    Forced,
    /// The client ended the stream (Deepgram `CloseStream`, AssemblyAI `Terminate`): the
    /// sentence is complete, as at an endpoint.
    EndOfStream,
}

/// What the transcriber heard, in the order it heard it.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Voiced audio began at this audio time.
    SpeechStarted(Duration),
    /// The utterance so far: finished words plus the one being spoken.
    Partial(Span),
    /// The utterance's final words.
    Final(Span, Cause),
}

/// Words and the audio span they cover.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The words, in order.
    pub words: Vec<Word>,
    /// Audio time the utterance started.
    pub start: Duration,
    /// Audio time up to which audio has been heard.
    pub end: Duration,
}

impl Span {
    /// The words joined by single spaces.
    pub fn text(&self) -> String {
        self.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
    }
}

#[derive(Debug)]
struct Utterance {
    start: Duration,
    words: Vec<Word>,
    /// Start of the word being spoken and how much voiced audio it has had.
    current: Option<(Duration, Duration)>,
    last_voiced_end: Duration,
    next_partial: Duration,
}

/// Turns s16le PCM into [`Output`]s. See the module doc.
#[derive(Debug)]
pub struct Transcriber {
    config: TranscriberConfig,
    vad: Vad,
    utterances: Utterances,
    /// Frames judged by the last push, kept to reuse the allocation.
    frames: Vec<Frame>,
    /// The script, sentence by sentence; never empty, nor any sentence in it.
    sentences: Vec<Vec<String>>,
    /// The next word: its sentence, and its place in that sentence.
    sentence: usize,
    next: usize,
    utterance: Option<Utterance>,
}

impl Transcriber {
    /// A transcriber for interleaved s16le audio at `sample_rate` Hz and `channels`
    /// (0 for either reads as 1: the values come from a client's query).
    ///
    /// An empty script reads as the default one, so there is always a next word.
    pub fn new(config: TranscriberConfig, sample_rate: u32, channels: u16) -> Self {
        let format = AudioFormat::new(sample_rate.max(1), channels.max(1))
            .expect("a rate and channel count of at least 1");
        let mut script = sentences(&config.script);
        if script.is_empty() {
            script = sentences(&TranscriberConfig::default().script);
        }
        Transcriber {
            vad: Vad::new(format, config.threshold),
            utterances: Utterances::new(config.endpoint),
            config,
            frames: Vec::new(),
            sentences: script,
            sentence: 0,
            next: 0,
            utterance: None,
        }
    }

    /// Changes the endpoint silence mid-stream (AssemblyAI `UpdateConfiguration`).
    pub fn set_endpoint(&mut self, endpoint: Duration) {
        self.config.endpoint = endpoint;
        self.utterances.set_pause(endpoint);
    }

    /// Audio heard so far.
    pub fn position(&self) -> Duration {
        self.vad.position()
    }

    /// Silence since the last voiced frame, if an utterance is open.
    pub fn trailing_silence(&self) -> Option<Duration> {
        self.utterance.as_ref().map(|u| self.position().saturating_sub(u.last_voiced_end))
    }

    /// Feeds audio bytes, any length, and appends what was heard to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Output>) {
        let mut frames = std::mem::take(&mut self.frames);
        self.vad.push_s16le(bytes, |frame| frames.push(frame));
        for frame in frames.drain(..) {
            self.frame(frame, out);
        }
        self.frames = frames;
    }

    /// Ends the open utterance now, if there is one, with a [`Cause::Forced`] final of
    /// what was heard; its sentence goes on in the next utterance.
    pub fn flush(&mut self, out: &mut Vec<Output>) {
        self.end_now(Cause::Forced, out);
    }

    /// Ends the stream: the open utterance, if any, ends its sentence with a
    /// [`Cause::EndOfStream`] final.
    pub fn finish(&mut self, out: &mut Vec<Output>) {
        self.end_now(Cause::EndOfStream, out);
    }

    fn end_now(&mut self, cause: Cause, out: &mut Vec<Output>) {
        self.utterances.end();
        if let Some(mut u) = self.utterance.take() {
            // The word being spoken counts, however short: the client asked for it.
            if let Some((start, _)) = u.current.take() {
                u.words.push(self.word(start, u.last_voiced_end));
            }
            self.final_of(u, self.position(), cause, out);
        }
    }

    fn frame(&mut self, frame: Frame, out: &mut Vec<Output>) {
        let activity = self.utterances.frame(frame);
        if let Some(Activity::Started(start)) = activity {
            out.push(Output::SpeechStarted(start));
            self.utterance = Some(Utterance {
                start,
                words: Vec::new(),
                current: None,
                last_voiced_end: start,
                next_partial: start + self.config.partial_every,
            });
        }
        let Some(u) = self.utterance.as_mut() else { return };
        if frame.voiced {
            u.last_voiced_end = frame.end;
            let (start, voiced) = u.current.get_or_insert((frame.start, Duration::ZERO));
            *voiced += frame.end - frame.start;
            if *voiced >= self.config.word {
                let start = *start;
                u.current = None;
                let word = self.word(start, frame.end);
                self.utterance.as_mut().expect("open").words.push(word);
            }
        } else if frame.end.saturating_sub(u.last_voiced_end) >= MIN_WORD
            && let Some((start, voiced)) = u.current.take()
            && voiced >= MIN_WORD
        {
            // A pause of one word's minimum ends the word being spoken.
            let end = u.last_voiced_end;
            let word = self.word(start, end);
            self.utterance.as_mut().expect("open").words.push(word);
        }
        if let Some(Activity::Ended(_)) = activity {
            let u = self.utterance.take().expect("an utterance that ends was open");
            return self.final_of(u, frame.end, Cause::Endpoint, out);
        }
        let u = self.utterance.as_mut().expect("open");
        if frame.end >= u.next_partial {
            u.next_partial = frame.end + self.config.partial_every;
            let mut words = u.words.clone();
            if let Some((start, _)) = u.current {
                let text = self.sentences[self.sentence][self.next].clone();
                words.push(Word { text, start, end: frame.end, is_final: false });
            }
            if !words.is_empty() {
                let start = u.start;
                out.push(Output::Partial(Span { words, start, end: frame.end }));
            }
        }
    }

    /// The final of utterance `u`, heard up to `end`: for an endpoint or the end of the
    /// stream, completed to the end of its sentence. Nothing for an utterance of clicks.
    fn final_of(&mut self, mut u: Utterance, end: Duration, cause: Cause, out: &mut Vec<Output>) {
        if u.words.is_empty() {
            return;
        }
        if cause != Cause::Forced && self.next > 0 {
            let rest: Vec<String> = self.sentences[self.sentence][self.next..].to_vec();
            let last = u.words.last_mut().expect("not empty");
            let (start, span) = (last.start, last.end - last.start);
            let parts = (rest.len() + 1) as u32;
            let share = |i: usize| start + span * i as u32 / parts;
            last.end = share(1);
            for (i, text) in rest.into_iter().enumerate() {
                u.words.push(Word { text, start: share(i + 1), end: share(i + 2), is_final: true });
            }
            self.sentence = (self.sentence + 1) % self.sentences.len();
            self.next = 0;
        }
        out.push(Output::Final(Span { words: u.words, start: u.start, end }, cause));
    }

    /// The next script word over `start..end`.
    fn word(&mut self, start: Duration, end: Duration) -> Word {
        let sentence = &self.sentences[self.sentence];
        let text = sentence[self.next].clone();
        self.next += 1;
        if self.next == sentence.len() {
            self.sentence = (self.sentence + 1) % self.sentences.len();
            self.next = 0;
        }
        Word { text, start, end, is_final: true }
    }
}

/// The script cut into sentences: after each word ending in `.`, `?` or `!`, and at the
/// end.
fn sentences(script: &[String]) -> Vec<Vec<String>> {
    let mut sentences = vec![Vec::new()];
    for word in script.iter().filter(|w| !w.trim().is_empty()) {
        sentences.last_mut().expect("never empty").push(word.clone());
        if word.ends_with(['.', '?', '!']) {
            sentences.push(Vec::new());
        }
    }
    sentences.retain(|s| !s.is_empty());
    sentences
}

#[cfg(test)]
#[path = "transcribe_tests.rs"]
mod tests;
