//! Deterministic test audio.
//!
//! Each [`Signal`] has a stable name used in benchmark IDs (`encode_s16le/<signal>/…`)
//! and on the command line, and generates the same samples on every run and machine:
//! tones come from dasp's phase generators, noise from a seeded generator
//! ([`NOISE_SEED`]), speech from a small committed WAV fixture embedded in the binary.
//!
//! The signals are chosen to exercise the encoder and the transcriber differently:
//! silence and DC are the easy cases, clipped and extreme signals hit the clamp on
//! every sample, noise defeats any branch prediction, and speech is what the pipeline
//! exists for.
//!
//! [`vad`] finds where speech is in any audio (energy-based voice activity and utterance
//! ends): what the mock providers hear, and what the pipeline measures latency from.
//!
//! This module reads no files at run time and does no I/O.

pub mod vad;

use std::fmt;
use std::str::FromStr;

use dasp::Signal as _;
use dasp::signal;

use crate::encode::pcm::i16_to_f32;
use crate::encode::{AudioFormat, wav};

/// Seed of the noise signal. Change it and every stored noise baseline changes too.
pub const NOISE_SEED: u64 = 0x5717_BE4C_0000_0001;

/// Frequency of the sine and clipped signals: A4, inside the speech band.
pub const SINE_HZ: f64 = 440.0;

/// Amplitude of the sine signal: −6 dBFS, a comfortable speech level.
pub const SINE_AMPLITUDE: f64 = 0.5;

/// Amplitude of the clipped signal: +6 dBFS, twice full scale, so about two thirds of
/// its samples are past the rails and clip.
pub const CLIPPED_AMPLITUDE: f64 = 2.0;

/// The sweep rises linearly from [`SWEEP_START_HZ`] to [`SWEEP_END_HZ`] every
/// [`SWEEP_PERIOD_MS`], then starts again.
pub const SWEEP_START_HZ: f64 = 100.0;
/// End of each sweep, kept below the Nyquist frequency of 16 kHz audio.
pub const SWEEP_END_HZ: f64 = 7_900.0;
/// Length of one sweep.
pub const SWEEP_PERIOD_MS: usize = 1_000;

/// The steps signal holds each of these frequencies for [`STEP_MS`], in turn.
pub const STEP_FREQUENCIES_HZ: [f64; 5] = [250.0, 500.0, 1_000.0, 2_000.0, 4_000.0];
/// How long the steps signal holds each frequency before jumping to the next.
pub const STEP_MS: usize = 100;

/// Each pattern of the extremes signal lasts this long: square, +rail, −rail, alternating.
pub const EXTREMES_SEGMENT_MS: usize = 10;

/// The committed speech fixture: "The quick brown fox jumps over the lazy dog. Call me
/// back at five.", 5.4 s, spoken by espeak-ng; `scripts/make-speech-fixture.sh` makes it.
pub const SPEECH_WAV: &[u8] = include_bytes!("../../fixtures/speech-16bit-16000Hz-mono.wav");

/// A named, deterministic test signal. See the constants of this module for the
/// parameters of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Digital silence: all zeros.
    Silence,
    /// A [`SINE_HZ`] tone at [`SINE_AMPLITUDE`].
    Sine,
    /// A linear chirp from [`SWEEP_START_HZ`] to [`SWEEP_END_HZ`], repeating.
    Sweep,
    /// Abrupt frequency changes every [`STEP_MS`] through [`STEP_FREQUENCIES_HZ`].
    Steps,
    /// A [`SINE_HZ`] tone driven to [`CLIPPED_AMPLITUDE`] (+6 dBFS), so it clips.
    Clipped,
    /// i16::MAX / i16::MIN patterns, [`EXTREMES_SEGMENT_MS`] each: a full-scale square
    /// wave, DC at the positive rail, DC at the negative rail, and a pattern alternating
    /// between the rails every sample.
    Extremes,
    /// Uniform white noise over [−1, 1), seeded with [`NOISE_SEED`].
    Noise,
    /// Real spoken English from the embedded fixture [`SPEECH_WAV`], looped.
    Speech,
}

impl Signal {
    /// Every signal, in the order benches and reports list them.
    pub const ALL: [Signal; 8] = [
        Signal::Silence,
        Signal::Sine,
        Signal::Sweep,
        Signal::Steps,
        Signal::Clipped,
        Signal::Extremes,
        Signal::Noise,
        Signal::Speech,
    ];

    /// The stable name used in benchmark IDs and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Silence => "silence",
            Signal::Sine => "sine",
            Signal::Sweep => "sweep",
            Signal::Steps => "steps",
            Signal::Clipped => "clipped",
            Signal::Extremes => "extremes",
            Signal::Noise => "noise",
            Signal::Speech => "speech",
        }
    }

    /// One line saying what the signal is, for listings.
    pub const fn description(self) -> &'static str {
        match self {
            Signal::Silence => "digital silence (zeros)",
            Signal::Sine => "440 Hz tone at -6 dBFS",
            Signal::Sweep => "linear chirp 100 Hz -> 7.9 kHz, repeating every second",
            Signal::Steps => "250/500/1k/2k/4k Hz, switching every 100 ms",
            Signal::Clipped => "440 Hz tone at +6 dBFS: clips on two thirds of its samples",
            Signal::Extremes => "i16::MAX/i16::MIN patterns: square, DC at each rail, alternating",
            Signal::Noise => "seeded uniform white noise",
            Signal::Speech => "5.4 s of spoken English (espeak-ng fixture), looped",
        }
    }

    /// `frames` mono samples of this signal at `sample_rate` Hz.
    pub fn generate(self, sample_rate: u32, frames: usize) -> Vec<f32> {
        let rate = f64::from(sample_rate);
        let per_ms = |ms: usize| (sample_rate as usize * ms / 1_000).max(1);
        match self {
            Signal::Silence => vec![0.0; frames],
            Signal::Sine => sine(rate, SINE_HZ, SINE_AMPLITUDE, frames),
            Signal::Clipped => sine(rate, SINE_HZ, CLIPPED_AMPLITUDE, frames),
            Signal::Sweep => {
                let period = per_ms(SWEEP_PERIOD_MS);
                let hz = (0..).map(move |i: usize| {
                    let t = (i % period) as f64 / period as f64;
                    SWEEP_START_HZ + (SWEEP_END_HZ - SWEEP_START_HZ) * t
                });
                varying_sine(rate, hz, SINE_AMPLITUDE, frames)
            }
            Signal::Steps => {
                let step = per_ms(STEP_MS);
                let hz = (0..).map(move |i: usize| {
                    STEP_FREQUENCIES_HZ[(i / step) % STEP_FREQUENCIES_HZ.len()]
                });
                varying_sine(rate, hz, SINE_AMPLITUDE, frames)
            }
            Signal::Extremes => {
                let segment = per_ms(EXTREMES_SEGMENT_MS);
                let (max, min) = (i16_to_f32(i16::MAX), i16_to_f32(i16::MIN));
                // A 1 kHz square wave: half a period is rate / 2000 samples.
                let half_period = (sample_rate as usize / 2_000).max(1);
                (0..frames)
                    .map(|i| match (i / segment) % 4 {
                        0 if (i / half_period).is_multiple_of(2) => max,
                        0 => min,
                        1 => max,
                        2 => min,
                        _ if i.is_multiple_of(2) => max,
                        _ => min,
                    })
                    .collect()
            }
            Signal::Noise => signal::noise(NOISE_SEED).take(frames).map(|x| x as f32).collect(),
            Signal::Speech => {
                let format = AudioFormat::new(sample_rate, 1).expect("a signal's rate is > 0 Hz");
                let speech = speech(format)
                    .expect("the embedded fixture is valid 16 kHz mono WAV (signal::tests)");
                speech.iter().copied().cycle().take(frames).collect()
            }
        }
    }
}

/// The speech fixture decoded and converted to `format`, without looping.
///
/// # Errors
///
/// Only if the embedded fixture were corrupt, or `format` impossible to convert to.
pub fn speech(format: AudioFormat) -> crate::Result<Vec<f32>> {
    let audio = wav::decode("fixtures/speech-16bit-16000Hz-mono.wav", SPEECH_WAV)?;
    Ok(audio.to_format(format)?.samples)
}

fn sine(rate: f64, hz: f64, amplitude: f64, frames: usize) -> Vec<f32> {
    signal::rate(rate).const_hz(hz).sine().take(frames).map(|x| (x * amplitude) as f32).collect()
}

fn varying_sine(
    rate: f64,
    hz: impl Iterator<Item = f64>,
    amplitude: f64,
    frames: usize,
) -> Vec<f32> {
    let hz = signal::from_iter(hz);
    signal::rate(rate).hz(hz).sine().take(frames).map(|x| (x * amplitude) as f32).collect()
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A signal name that is not one of [`Signal::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown signal {0:?}; expected one of: silence, sine, sweep, steps, clipped, extremes, noise, speech"
)]
pub struct UnknownSignal(pub String);

impl FromStr for Signal {
    type Err = UnknownSignal;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Signal::ALL
            .into_iter()
            .find(|sig| sig.name() == s)
            .ok_or_else(|| UnknownSignal(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16_000;

    fn peak(x: &[f32]) -> f32 {
        x.iter().fold(0.0_f32, |m, v| m.max(v.abs()))
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for s in Signal::ALL {
            assert_eq!(s.name().parse::<Signal>(), Ok(s));
        }
        let err = "pink".parse::<Signal>().unwrap_err().to_string();
        assert!(err.contains("\"pink\"") && err.contains("speech"), "{err}");
    }

    #[test]
    fn every_signal_is_deterministic_and_sized() {
        for s in Signal::ALL {
            let a = s.generate(RATE, 4_321);
            assert_eq!(a.len(), 4_321, "{s}");
            assert_eq!(a, s.generate(RATE, 4_321), "{s} must not vary between runs");
            assert!(a.iter().all(|x| x.is_finite()), "{s}");
        }
    }

    #[test]
    fn levels_match_their_descriptions() {
        let n = RATE as usize;
        assert_eq!(peak(&Signal::Silence.generate(RATE, n)), 0.0);
        assert!((peak(&Signal::Sine.generate(RATE, n)) - 0.5).abs() < 1e-3);
        let clipped = Signal::Clipped.generate(RATE, n);
        let over = clipped.iter().filter(|x| x.abs() > 1.0).count() as f64 / n as f64;
        assert!((0.6..0.7).contains(&over), "{over:.2} of the clipped signal is past full scale");
        let noise = Signal::Noise.generate(RATE, n);
        assert!(noise.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = noise.iter().sum::<f32>() / n as f32;
        assert!(mean.abs() < 0.02, "noise mean {mean}");
    }

    #[test]
    fn extremes_hit_both_rails_in_every_pattern() {
        let seg = RATE as usize * EXTREMES_SEGMENT_MS / 1_000;
        let x = Signal::Extremes.generate(RATE, seg * 4);
        let (max, min) = (i16_to_f32(i16::MAX), -1.0);
        assert!(x.iter().all(|&v| v == max || v == min));
        assert!(x[seg..2 * seg].iter().all(|&v| v == max), "DC at +rail");
        assert!(x[2 * seg..3 * seg].iter().all(|&v| v == min), "DC at -rail");
        assert!(x[3 * seg..].windows(2).all(|w| w[0] != w[1]), "alternates every sample");
        let square = &x[..seg];
        assert!(square.contains(&max) && square.contains(&min), "square wave");
    }

    #[test]
    fn steps_change_frequency_every_step() {
        let step = RATE as usize * STEP_MS / 1_000;
        let x = Signal::Steps.generate(RATE, step * 2);
        let crossings = |s: &[f32]| s.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        let (a, b) = (crossings(&x[..step]), crossings(&x[step..]));
        assert!((24..=26).contains(&a), "250 Hz for 100 ms: {a}");
        assert!((49..=51).contains(&b), "500 Hz for 100 ms: {b}");
    }

    #[test]
    fn speech_fixture_is_real_speech_with_silent_edges() {
        let speech = speech(AudioFormat::PIPELINE).unwrap();
        assert!((80_000..100_000).contains(&speech.len()), "{} samples", speech.len());
        let edge = 16_000 * 200 / 1_000;
        assert!(peak(&speech[..edge]) < 0.01, "leading 200 ms are silent");
        assert!(peak(&speech[speech.len() - edge..]) < 0.01, "trailing 200 ms are silent");
        assert!(peak(&speech) > 0.8, "normalised to about -1 dBFS");
        // Resampled copies keep the duration.
        let at_48k = Signal::Speech.generate(48_000, 48_000);
        assert_eq!(at_48k.len(), 48_000);
    }
}
