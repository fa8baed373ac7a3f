//! The mock providers' deterministic "speech recognition": energy-based voice activity
//! turned into words, partials and finals, all in audio time.
//!
//! Audio is cut into 10 ms frames; a frame is voiced when its RMS level is above
//! [`TranscriberConfig::threshold`]. While voiced audio continues, every
//! [`word`](TranscriberConfig::word) of it becomes one word (a voiced run that ends
//! sooner is one word too if it lasted [`MIN_WORD`]); the words' text comes from a
//! script, in order, so the same audio always yields the same transcript. A partial goes
//! out every [`partial_every`](TranscriberConfig::partial_every) of audio while an
//! utterance is open; a final when the silence after the last voiced frame reaches
//! [`endpoint`](TranscriberConfig::endpoint), or when the client forces it.
//!
//! Everything is a function of the bytes received: no clocks, so results do not depend on
//! how fast or in what pieces the audio arrives. Wire formats are the dialects' business.

use std::time::Duration;

/// Frame length of the voice activity detector: 10 ms is the usual VAD frame, long enough
/// to measure energy, short enough that pauses are placed within 10 ms.
pub const FRAME: Duration = Duration::from_millis(10);

/// The shortest voiced run that still counts as a word; shorter blips (clicks, a stop
/// consonant's burst) are ignored.
pub const MIN_WORD: Duration = Duration::from_millis(50);

/// The words of the speech fixture, the default script.
pub const FIXTURE_SCRIPT: &str =
    "The quick brown fox jumps over the lazy dog. Call me back at five.";

/// How the mock hears: thresholds and cadences, all in audio time.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TranscriberConfig {
    /// RMS level (full scale = 1.0) above which a frame is voiced. Default 0.02
    /// (−34 dBFS): well above dither and noise floors, below quiet speech.
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
    /// Words handed out in order, cycling. Default: [`FIXTURE_SCRIPT`].
    pub script: Vec<String>,
}

impl Default for TranscriberConfig {
    fn default() -> Self {
        TranscriberConfig {
            threshold: 0.02,
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
    /// Silence reached the endpoint.
    Endpoint,
    /// The client asked (Deepgram `Finalize`, AssemblyAI `ForceEndpoint`) or is closing.
    Forced,
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
    samples_per_frame: usize,
    frame_duration: Duration,
    /// Bytes of an incomplete frame carried to the next push.
    pending: Vec<u8>,
    /// Audio time at the start of the next frame.
    position: Duration,
    next_word: usize,
    utterance: Option<Utterance>,
}

impl Transcriber {
    /// A transcriber for interleaved s16le audio at `sample_rate` Hz and `channels`.
    ///
    /// An empty script reads as the default one, so there is always a next word.
    pub fn new(mut config: TranscriberConfig, sample_rate: u32, channels: u16) -> Self {
        if config.script.is_empty() {
            config.script = TranscriberConfig::default().script;
        }
        let channels = usize::from(channels.max(1));
        let frames = (sample_rate.max(100) / 100) as usize;
        Transcriber {
            config,
            samples_per_frame: frames * channels,
            frame_duration: Duration::from_secs_f64(
                frames as f64 / f64::from(sample_rate.max(100)),
            ),
            pending: Vec::new(),
            position: Duration::ZERO,
            next_word: 0,
            utterance: None,
        }
    }

    /// Changes the endpoint silence mid-stream (AssemblyAI `UpdateConfiguration`).
    pub fn set_endpoint(&mut self, endpoint: Duration) {
        self.config.endpoint = endpoint;
    }

    /// Audio heard so far.
    pub fn position(&self) -> Duration {
        self.position
    }

    /// Silence since the last voiced frame, if an utterance is open.
    pub fn trailing_silence(&self) -> Option<Duration> {
        self.utterance.as_ref().map(|u| self.position.saturating_sub(u.last_voiced_end))
    }

    /// Feeds audio bytes, any length, and appends what was heard to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<Output>) {
        let frame_bytes = self.samples_per_frame * 2;
        if !self.pending.is_empty() {
            let take = (frame_bytes - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == frame_bytes {
                let frame = std::mem::take(&mut self.pending);
                self.frame(&frame, out);
            }
        }
        let mut frames = bytes.chunks_exact(frame_bytes);
        for frame in frames.by_ref() {
            self.frame(frame, out);
        }
        self.pending.extend_from_slice(frames.remainder());
    }

    /// Ends the open utterance now, if there is one, with a [`Cause::Forced`] final.
    pub fn flush(&mut self, out: &mut Vec<Output>) {
        if let Some(mut u) = self.utterance.take() {
            if let Some((start, _)) = u.current.take() {
                u.words.push(self.word(start, u.last_voiced_end));
            }
            if !u.words.is_empty() {
                let span = Span { words: u.words, start: u.start, end: self.position };
                out.push(Output::Final(span, Cause::Forced));
            }
        }
    }

    fn frame(&mut self, frame: &[u8], out: &mut Vec<Output>) {
        let start = self.position;
        let end = start + self.frame_duration;
        self.position = end;
        let sum: f64 = frame
            .chunks_exact(2)
            .map(|s| f64::from(i16::from_le_bytes([s[0], s[1]])) / 32_768.0)
            .map(|x| x * x)
            .sum();
        let rms = (sum / (frame.len() / 2) as f64).sqrt();
        if rms > f64::from(self.config.threshold) {
            self.voiced(start, end, out);
        } else {
            self.unvoiced(end, out);
        }
        if let Some(u) = &mut self.utterance
            && end >= u.next_partial
        {
            u.next_partial = end + self.config.partial_every;
            let mut words = u.words.clone();
            if let Some((word_start, _)) = u.current {
                let text = self.config.script[self.next_word % self.config.script.len()].clone();
                words.push(Word { text, start: word_start, end, is_final: false });
            }
            if !words.is_empty() {
                out.push(Output::Partial(Span { words, start: u.start, end }));
            }
        }
    }

    fn voiced(&mut self, start: Duration, end: Duration, out: &mut Vec<Output>) {
        let partial_every = self.config.partial_every;
        let u = self.utterance.get_or_insert_with(|| {
            out.push(Output::SpeechStarted(start));
            Utterance {
                start,
                words: Vec::new(),
                current: None,
                last_voiced_end: end,
                next_partial: start + partial_every,
            }
        });
        u.last_voiced_end = end;
        let (word_start, voiced) = u.current.get_or_insert((start, Duration::ZERO));
        *voiced += end - start;
        if *voiced >= self.config.word {
            let word_start = *word_start;
            u.current = None;
            let word = self.word(word_start, end);
            self.utterance.as_mut().expect("opened above").words.push(word);
        }
    }

    fn unvoiced(&mut self, end: Duration, out: &mut Vec<Output>) {
        let Some(u) = &mut self.utterance else { return };
        let silence = end.saturating_sub(u.last_voiced_end);
        // A pause of one word's minimum ends the word being spoken.
        if silence >= MIN_WORD
            && let Some((start, voiced)) = u.current.take()
            && voiced >= MIN_WORD
        {
            let last = u.last_voiced_end;
            let word = self.word(start, last);
            self.utterance.as_mut().expect("checked above").words.push(word);
        }
        let u = self.utterance.as_ref().expect("checked above");
        if silence >= self.config.endpoint && u.current.is_none() {
            let u = self.utterance.take().expect("checked above");
            if !u.words.is_empty() {
                let span = Span { words: u.words, start: u.start, end };
                out.push(Output::Final(span, Cause::Endpoint));
            }
        }
    }

    /// The next script word over `start..end`.
    fn word(&mut self, start: Duration, end: Duration) -> Word {
        let text = self.config.script[self.next_word % self.config.script.len()].clone();
        self.next_word += 1;
        Word { text, start, end, is_final: true }
    }
}

#[cfg(test)]
#[path = "transcribe_tests.rs"]
mod tests;
