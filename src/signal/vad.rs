//! Where the speech is: energy-based voice activity and utterance segmentation.
//!
//! Audio is judged in frames of [`FRAME`] (10 ms, the usual VAD frame: long enough to
//! measure energy, short enough to place a pause within 10 ms); a frame is voiced when
//! its RMS level, over every channel's samples, is above a threshold ([`THRESHOLD`] by
//! default, −34 dBFS). [`Vad`] turns samples, in any pieces, into [`Frame`]s.
//!
//! [`Utterances`] groups frames into utterances: one starts at a voiced frame and ends
//! once a pause (silence after its last voiced frame) has lasted long enough. Voiced runs
//! separated by less than [`MIN_RUN`] are one run, and a run counts as speech only once
//! it holds [`MIN_RUN`] of voiced audio: clicks and a stop consonant's burst open an
//! utterance but do not make it speech. An utterance's speech ends at the last voiced
//! frame of its last run that counted.
//!
//! [`speech_ends`] applies both to a whole signal. The mock providers' transcriber and
//! the pipeline's latency measure build on the same rules, so "where speech ends" means
//! one thing in both. Everything is a function of the samples: no clocks, and the result
//! does not depend on how the audio is split into pieces.

use std::time::Duration;

use crate::encode::AudioFormat;

/// The length of a voice-activity frame.
pub const FRAME: Duration = Duration::from_millis(10);

/// The shortest voiced run that counts as speech, and the shortest gap that splits two
/// runs: below 50 ms are clicks, bursts, and the gaps inside a word.
pub const MIN_RUN: Duration = Duration::from_millis(50);

/// RMS level (full scale = 1.0) above which a frame is voiced by default: 0.02, −34 dBFS,
/// well above dither and noise floors, below quiet speech.
pub const THRESHOLD: f32 = 0.02;

/// One judged frame, in audio time from the start of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Where the frame starts.
    pub start: Duration,
    /// Where it ends.
    pub end: Duration,
    /// Whether its level is above the threshold.
    pub voiced: bool,
}

/// Frame-by-frame voice activity over interleaved audio fed in any pieces: s16le bytes
/// (as they arrive on the wire, split anywhere, even inside a sample) or f32 samples.
#[derive(Debug, Clone)]
pub struct Vad {
    threshold: f64,
    sample_rate: u64,
    /// Frames (one sample per channel) per VAD frame.
    frames_per_vad_frame: u64,
    /// Interleaved samples per VAD frame.
    samples_per_vad_frame: usize,
    /// VAD frames judged so far.
    judged: u64,
    /// Sum of squares and count of the samples of the frame being filled.
    sum: f64,
    count: usize,
    /// The first byte of an s16le sample split across two pushes.
    odd_byte: Option<u8>,
}

impl Vad {
    /// A detector for audio in `format` that calls a frame voiced above `threshold` RMS.
    pub fn new(format: AudioFormat, threshold: f32) -> Self {
        let rate = u64::from(format.sample_rate());
        let frames = (rate * FRAME.as_millis() as u64 / 1_000).max(1);
        Vad {
            threshold: f64::from(threshold),
            sample_rate: rate,
            frames_per_vad_frame: frames,
            samples_per_vad_frame: frames as usize * usize::from(format.channels()),
            judged: 0,
            sum: 0.0,
            count: 0,
            odd_byte: None,
        }
    }

    /// Audio time up to which frames have been judged.
    pub fn position(&self) -> Duration {
        self.time(self.judged)
    }

    /// Feeds s16le bytes; calls `each` for every frame completed.
    pub fn push_s16le(&mut self, mut bytes: &[u8], mut each: impl FnMut(Frame)) {
        if let Some(first) = self.odd_byte.take() {
            let Some((&second, rest)) = bytes.split_first() else {
                self.odd_byte = Some(first);
                return;
            };
            self.sample(i16::from_le_bytes([first, second]), &mut each);
            bytes = rest;
        }
        let mut samples = bytes.chunks_exact(2);
        for s in samples.by_ref() {
            self.sample(i16::from_le_bytes([s[0], s[1]]), &mut each);
        }
        self.odd_byte = samples.remainder().first().copied();
    }

    /// Feeds f32 samples (full scale ±1.0); calls `each` for every frame completed.
    pub fn push_f32(&mut self, samples: &[f32], mut each: impl FnMut(Frame)) {
        for &x in samples {
            self.add(f64::from(x), &mut each);
        }
    }

    fn sample(&mut self, s: i16, each: &mut impl FnMut(Frame)) {
        self.add(f64::from(s) / 32_768.0, each);
    }

    fn add(&mut self, x: f64, each: &mut impl FnMut(Frame)) {
        self.sum += x * x;
        self.count += 1;
        if self.count == self.samples_per_vad_frame {
            let rms = (self.sum / self.count as f64).sqrt();
            let frame = Frame {
                start: self.time(self.judged),
                end: self.time(self.judged + 1),
                voiced: rms > self.threshold,
            };
            self.judged += 1;
            (self.sum, self.count) = (0.0, 0);
            each(frame);
        }
    }

    /// The audio time at the start of VAD frame `n`, exact to the nanosecond.
    fn time(&self, n: u64) -> Duration {
        let frames = u128::from(n) * u128::from(self.frames_per_vad_frame);
        let nanos = frames * 1_000_000_000 / u128::from(self.sample_rate.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// What [`Utterances`] saw in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// A voiced frame opened an utterance at this audio time.
    Started(Duration),
    /// The pause after the open utterance reached its length: the utterance is over.
    /// `None` when it held no run that counts (only clicks).
    Ended(Option<Speech>),
}

/// The speech of one utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speech {
    /// The first voiced frame's start.
    pub start: Duration,
    /// The end of the last voiced frame of the last run that counted.
    pub end: Duration,
}

/// Frames → utterances. See the module doc.
#[derive(Debug, Clone)]
pub struct Utterances {
    pause: Duration,
    open: Option<Open>,
}

#[derive(Debug, Clone)]
struct Open {
    start: Duration,
    last_voiced_end: Duration,
    /// Voiced audio in the current run.
    run_voiced: Duration,
    /// Where counted speech ends so far.
    speech_end: Option<Duration>,
}

impl Utterances {
    /// Utterances that end after `pause` of silence (at least [`MIN_RUN`], the gap that
    /// splits runs: a shorter pause would end an utterance inside a word).
    pub fn new(pause: Duration) -> Self {
        Utterances { pause: pause.max(MIN_RUN), open: None }
    }

    /// Changes the pause mid-stream; it applies to the open utterance too.
    pub fn set_pause(&mut self, pause: Duration) {
        self.pause = pause.max(MIN_RUN);
    }

    /// The end of the open utterance's last voiced frame, if one is open.
    pub fn last_voiced_end(&self) -> Option<Duration> {
        self.open.as_ref().map(|o| o.last_voiced_end)
    }

    /// Takes the next frame; says when an utterance starts or ends.
    pub fn frame(&mut self, frame: Frame) -> Option<Activity> {
        if frame.voiced {
            let mut started = None;
            let open = self.open.get_or_insert_with(|| {
                started = Some(frame.start);
                Open {
                    start: frame.start,
                    last_voiced_end: frame.start,
                    run_voiced: Duration::ZERO,
                    speech_end: None,
                }
            });
            if frame.start.saturating_sub(open.last_voiced_end) >= MIN_RUN {
                open.run_voiced = Duration::ZERO;
            }
            open.run_voiced += frame.end - frame.start;
            open.last_voiced_end = frame.end;
            if open.run_voiced >= MIN_RUN {
                open.speech_end = Some(frame.end);
            }
            return started.map(Activity::Started);
        }
        let open = self.open.as_ref()?;
        if frame.end.saturating_sub(open.last_voiced_end) < self.pause {
            return None;
        }
        Some(Activity::Ended(self.end()))
    }

    /// Ends the open utterance now (the audio is over, or the caller forces an end) and
    /// returns its speech, if it held any.
    pub fn end(&mut self) -> Option<Speech> {
        let open = self.open.take()?;
        open.speech_end.map(|end| Speech { start: open.start, end })
    }
}

/// Audio times at which speech ends in `samples` (interleaved, in `format`): the end of
/// every utterance's speech that `pause` of silence follows, and of the last one however
/// the audio ends. A trailing piece shorter than a frame is not judged.
pub fn speech_ends(samples: &[f32], format: AudioFormat, pause: Duration) -> Vec<Duration> {
    let mut vad = Vad::new(format, THRESHOLD);
    let mut utterances = Utterances::new(pause);
    let mut ends = Vec::new();
    vad.push_f32(samples, |frame| {
        if let Some(Activity::Ended(Some(speech))) = utterances.frame(frame) {
            ends.push(speech.end);
        }
    });
    ends.extend(utterances.end().map(|speech| speech.end));
    ends
}

#[cfg(test)]
#[path = "vad_tests.rs"]
mod tests;
