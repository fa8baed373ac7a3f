//! Where a run's audio comes from, resolved once into 16 kHz mono samples cut into whole
//! chunks: the one resolver every streaming run (CLI, pipeline, benches) goes through.
//!
//! Two rules hold for every source, so that a run means the same whoever starts it:
//!
//! - **Durations round to the nearest frame.** A frame is 62.5 µs at 16 kHz; asking for
//!   `1.00003s` streams 16,000 frames. Chunk durations, by contrast, must be whole frames
//!   ([`AudioFormat::chunk`]), or chunks would drift against the audio clock.
//! - **The last chunk is padded with silence to full length.** Every chunk then holds the
//!   same audio, which providers with a minimum need (AssemblyAI refuses chunks under
//!   50 ms), and the audio clock stays on chunk boundaries. The padding is less than one
//!   chunk of silence and counts as audio sent.
//!
//! Resolving reads files and generates signals; it does no I/O on the network.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::encode::{AudioFormat, ChunkSpec, wav};
use crate::error::Error;
use crate::signal::{self, Signal};

/// How much of a generated signal (other than speech) is streamed unless a duration is
/// given.
pub const DEFAULT_SIGNAL_DURATION: Duration = Duration::from_secs(10);

/// The longest generated signal a run streams. Signals are generated whole before the
/// run (230 MB of samples at this length); stream a WAV file for longer runs.
pub const MAX_SIGNAL_DURATION: Duration = Duration::from_secs(3_600);

/// The longest chunk a run sends: 320 KB at 16 kHz, inside the echo socket's default
/// 1 MiB message limit and far beyond any provider's (AssemblyAI takes at most 1 s).
pub const MAX_CHUNK: Duration = Duration::from_secs(10);

/// Where a run's audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A generated test signal. Without a duration: the speech fixture once (5.4 s), any
    /// other signal for [`DEFAULT_SIGNAL_DURATION`]; with one, speech loops to fill it.
    Signal(Signal),
    /// A WAV file, converted to 16 kHz mono; all of it, or cut to the duration (never
    /// looped).
    Wav(PathBuf),
    /// 16 kHz mono samples already in memory; all of them, or cut to the duration.
    Samples(Arc<[f32]>),
}

impl Default for Source {
    /// The speech fixture: what the pipeline is for.
    fn default() -> Self {
        Source::Signal(Signal::Speech)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Signal(signal) => write!(f, "{signal}"),
            Source::Wav(path) => write!(f, "{}", path.display()),
            Source::Samples(samples) => write!(f, "{} samples", samples.len()),
        }
    }
}

/// A run's audio: 16 kHz mono samples in whole chunks of one [`ChunkSpec`]. Cheap to
/// clone (the samples are shared).
#[derive(Debug, Clone)]
pub struct Audio {
    samples: Arc<[f32]>,
    spec: ChunkSpec,
    frames: usize,
}

impl Audio {
    /// Resolves `source` into audio cut into `chunk`-long chunks, by the rules in the
    /// module doc; `duration` `None` means the source's natural length (see [`Source`]).
    ///
    /// # Errors
    ///
    /// [`Error::Format`] for a chunk that is not a whole number of 16 kHz frames,
    /// [`Error::Setting`] for a chunk longer than [`MAX_CHUNK`] or a signal longer than
    /// [`MAX_SIGNAL_DURATION`], [`Error::Wav`] for an unusable file, and
    /// [`Error::Setting`] when there is no audio at all.
    pub fn resolve(
        source: &Source,
        duration: Option<Duration>,
        chunk: Duration,
    ) -> crate::Result<Audio> {
        let format = AudioFormat::PIPELINE;
        if chunk > MAX_CHUNK {
            let problem =
                format!("{chunk:?} chunks are longer than the {MAX_CHUNK:?} sttbench sends");
            return Err(Error::Setting(problem.into()));
        }
        let spec = format.chunk(chunk)?;
        let frames = duration.map(|d| frames_in(format, d));
        let mut samples: Vec<f32> = match source {
            Source::Signal(signal) => {
                let wanted = duration.unwrap_or(DEFAULT_SIGNAL_DURATION);
                if wanted > MAX_SIGNAL_DURATION {
                    return Err(Error::Setting(
                        format!(
                            "a {wanted:?} run of the {signal} signal is longer than the \
                             {MAX_SIGNAL_DURATION:?} sttbench generates; stream a WAV file instead"
                        )
                        .into(),
                    ));
                }
                match (signal, frames) {
                    (Signal::Speech, None) => signal::speech(format)?,
                    (_, frames) => signal.generate(
                        format.sample_rate(),
                        frames.unwrap_or_else(|| frames_in(format, wanted)),
                    ),
                }
            }
            Source::Wav(path) => wav::read_as(path, format)?.samples,
            Source::Samples(samples) => samples.to_vec(),
        };
        if let Some(frames) = frames {
            samples.truncate(frames);
        }
        if samples.is_empty() {
            let problem = format!(
                "{source} holds no audio to stream; give a longer duration or another source"
            );
            return Err(Error::Setting(problem.into()));
        }
        let frames = samples.len();
        samples.resize(frames.next_multiple_of(spec.samples()), 0.0);
        Ok(Audio { samples: samples.into(), spec, frames })
    }

    /// The chunk layout.
    pub fn spec(&self) -> ChunkSpec {
        self.spec
    }

    /// Every sample, the padding included: [`chunks`](Self::chunks) whole chunks.
    pub fn samples(&self) -> &[f32] {
        &self.samples
    }

    /// How many chunks the audio is cut into.
    pub fn chunks(&self) -> u64 {
        (self.samples.len() / self.spec.samples()) as u64
    }

    /// The samples of chunk `k` (from 0), or an empty slice past the end.
    pub fn chunk(&self, k: u64) -> &[f32] {
        let n = self.spec.samples();
        let start = usize::try_from(k).unwrap_or(usize::MAX).saturating_mul(n);
        self.samples.get(start..start.saturating_add(n)).unwrap_or(&[])
    }

    /// Audio time at the end of the first `chunks` chunks.
    pub fn audio_at(&self, chunks: u64) -> Duration {
        let nanos = u128::from(chunks) * self.spec.duration().as_nanos();
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The whole audio streamed, padding included.
    pub fn duration(&self) -> Duration {
        self.audio_at(self.chunks())
    }

    /// The audio before padding.
    pub fn unpadded(&self) -> Duration {
        self.spec.format().duration_of(self.frames)
    }
}

fn frames_in(format: AudioFormat, duration: Duration) -> usize {
    let frames = duration.as_secs_f64() * f64::from(format.sample_rate());
    // Saturates for absurd durations, which the length checks above then refuse.
    frames.round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_round_to_frames_and_the_last_chunk_is_padded_with_silence() {
        let samples: Arc<[f32]> = vec![0.5; 16_000].into();
        let source = Source::Samples(samples);
        // 1.00003 s is 16,000.48 frames: rounded to 16,000, which is 50 whole chunks.
        let audio =
            Audio::resolve(&source, Some(Duration::from_micros(1_000_030)), ms(20)).unwrap();
        assert_eq!((audio.chunks(), audio.duration()), (50, ms(1_000)));
        // 990 ms is 49.5 chunks: 50 chunks, the last half silence.
        let audio = Audio::resolve(&source, Some(ms(990)), ms(20)).unwrap();
        assert_eq!((audio.chunks(), audio.duration(), audio.unpadded()), (50, ms(1_000), ms(990)));
        let last = audio.chunk(49);
        assert_eq!(last.len(), 320);
        assert!(last[..160].iter().all(|&s| s == 0.5) && last[160..].iter().all(|&s| s == 0.0));
        assert!(audio.chunk(50).is_empty(), "past the end");
        assert_eq!(audio.audio_at(3), ms(60));
    }

    #[test]
    fn natural_lengths() {
        let speech = Audio::resolve(&Source::Signal(Signal::Speech), None, ms(100)).unwrap();
        assert!(speech.unpadded() > ms(5_000) && speech.unpadded() < ms(6_000), "the fixture once");
        let sine = Audio::resolve(&Source::Signal(Signal::Sine), None, ms(20)).unwrap();
        assert_eq!(sine.duration(), DEFAULT_SIGNAL_DURATION);
        let looped =
            Audio::resolve(&Source::Signal(Signal::Speech), Some(ms(12_000)), ms(20)).unwrap();
        assert_eq!(looped.duration(), ms(12_000), "speech loops to a longer duration");
    }

    #[test]
    fn bad_requests_say_what_to_change() {
        let speech = Source::default();
        let fractional = Audio::resolve(&speech, None, Duration::from_micros(10)).unwrap_err();
        assert!(matches!(fractional, Error::Format(_)), "{fractional}");
        let huge = Audio::resolve(&speech, None, Duration::from_secs(3_600)).unwrap_err();
        assert!(huge.to_string().contains("chunks are longer"), "{huge}");
        let endless =
            Audio::resolve(&speech, Some(Duration::from_secs(86_400)), ms(20)).unwrap_err();
        assert!(endless.to_string().contains("stream a WAV file"), "{endless}");
        let nothing = Audio::resolve(&speech, Some(Duration::ZERO), ms(20)).unwrap_err();
        assert!(nothing.to_string().contains("no audio"), "{nothing}");
        let missing = Audio::resolve(&Source::Wav("no/such.wav".into()), None, ms(20)).unwrap_err();
        assert!(matches!(missing, Error::Wav(_)) && missing.to_string().contains("no/such.wav"));
    }
}
