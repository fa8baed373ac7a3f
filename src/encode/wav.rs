//! WAV input via hound: any integer depth from 8 to 32 bits or 32-bit float, any rate and
//! channel count, decoded to f32 and converted to the pipeline's format.
//!
//! A file that cannot be used (missing, not WAV, truncated, empty, an encoding hound
//! does not read) gives a [`WavError`] that names the file and says what was wrong;
//! nothing here panics on bad input.

use std::io::Read;
use std::path::Path;

use super::AudioFormat;
use super::convert::{Resampler, downmix};
use crate::error::{Error, FormatError, WavError};

/// Decoded audio: interleaved f32 samples in `[-1.0, 1.0]` and their format.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Rate and channel count of `samples`.
    pub format: AudioFormat,
    /// Interleaved samples, full scale ±1.0.
    pub samples: Vec<f32>,
}

impl Audio {
    /// Frames (samples per channel) held.
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.format.channels())
    }

    /// Converts to `target`: downmix to mono, then resample. A no-op when the formats
    /// already match.
    ///
    /// # Errors
    ///
    /// [`FormatError::UnsupportedConversion`] for upmixing or multi-channel resampling,
    /// which a speech pipeline does not need.
    pub fn to_format(self, target: AudioFormat) -> Result<Audio, FormatError> {
        let (from, to) = (self.format, target);
        if from == to {
            return Ok(self);
        }
        let downmixing = from.channels() != to.channels();
        let resampling = from.sample_rate() != to.sample_rate();
        if (downmixing || resampling) && to.channels() != 1 {
            return Err(FormatError::UnsupportedConversion { from, to });
        }
        let mut samples = self.samples;
        if downmixing {
            let mut mono = Vec::with_capacity(samples.len() / usize::from(from.channels()));
            downmix(&samples, from.channels(), &mut mono)?;
            samples = mono;
        }
        if resampling {
            samples = Resampler::convert(from.sample_rate(), to.sample_rate(), &samples)?;
        }
        Ok(Audio { format: to, samples })
    }
}
/// Reads a WAV file as f32 samples in its own format.
///
/// # Errors
///
/// [`Error::Wav`] naming `path` when the file is missing, unreadable, not WAV, truncated,
/// empty, or in an encoding other than 8–32-bit integer or 32-bit float PCM.
pub fn read(path: impl AsRef<Path>) -> crate::Result<Audio> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| WavError {
        path: path.to_owned(),
        problem: format!("cannot open the file: {e}"),
        source: None,
    })?;
    decode(path, std::io::BufReader::new(file))
}

/// Reads a WAV file and converts it to `target` (typically [`AudioFormat::PIPELINE`]).
///
/// # Errors
///
/// As [`read`], and [`Error::Wav`] naming `path` when the file's format cannot be
/// converted to `target` (a rate more than 64× away, upmixing).
pub fn read_as(path: impl AsRef<Path>, target: AudioFormat) -> crate::Result<Audio> {
    let path = path.as_ref();
    let audio = read(path)?;
    let from = audio.format;
    audio.to_format(target).map_err(|e| {
        let problem = format!("cannot convert its {from} audio to {target}: {e}");
        WavError { path: path.to_owned(), problem, source: None }.into()
    })
}

/// Decodes WAV bytes from any reader; `name` is used in error messages in place of a
/// path (e.g. the name of an embedded fixture).
///
/// # Errors
///
/// As [`read`].
pub fn decode(name: impl AsRef<Path>, reader: impl Read) -> crate::Result<Audio> {
    let name = name.as_ref();
    let fail = |problem: String, source: Option<hound::Error>| -> Error {
        WavError { path: name.to_owned(), problem, source }.into()
    };
    let mut wav = hound::WavReader::new(reader).map_err(|e| {
        let problem = match &e {
            // hound reports a short header as an I/O error of varying kinds.
            hound::Error::IoError(io) => {
                format!("the file ends before its WAV header does (empty or truncated file): {io}")
            }
            hound::Error::FormatError(what) => {
                format!("not a WAV file hound can read ({what}); convert it to PCM WAV, e.g. `sox in.x -b 16 out.wav`")
            }
            hound::Error::Unsupported => {
                "WAV encoding not supported (compressed formats such as A-law, µ-law or ADPCM); \
                 convert it to PCM, e.g. `sox in.wav -e signed -b 16 out.wav`"
                    .to_string()
            }
            other => format!("unreadable WAV header: {other}"),
        };
        fail(problem, Some(e))
    })?;
    let spec = wav.spec();
    let format = AudioFormat::new(spec.sample_rate, spec.channels)
        .map_err(|e| fail(format!("the header declares an impossible format: {e}"), None))?;

    let scale_int = |bits: u16| 1.0 / (1_u64 << (bits - 1)) as f32;
    let samples: Result<Vec<f32>, hound::Error> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => wav.samples::<f32>().collect(),
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = scale_int(bits);
            wav.samples::<i32>().map(|s| s.map(|s| s as f32 * scale)).collect()
        }
        (kind, bits) => {
            return Err(fail(
                format!(
                    "{bits}-bit {kind:?} samples are not supported; use 8–32-bit integer or 32-bit float PCM"
                ),
                None,
            ));
        }
    };
    let samples = samples.map_err(|e| {
        let problem = match &e {
            hound::Error::IoError(io) => format!(
                "the file is truncated: its data ends before the length its header declares ({io})"
            ),
            hound::Error::UnfinishedSample => {
                "the file is truncated in the middle of a sample".to_string()
            }
            other => format!("cannot decode the samples: {other}"),
        };
        fail(problem, Some(e))
    })?;
    if samples.is_empty() {
        return Err(fail("the file holds no samples".to_string(), None));
    }
    if samples.len() % usize::from(spec.channels) != 0 {
        return Err(fail(
            format!(
                "{} samples do not fill whole {}-channel frames (truncated file)",
                samples.len(),
                spec.channels
            ),
            None,
        ));
    }
    Ok(Audio { format, samples })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn wav_bytes(
        spec: hound::WavSpec,
        write: impl FnOnce(&mut hound::WavWriter<&mut Cursor<Vec<u8>>>),
    ) -> Vec<u8> {
        let mut cursor = Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
            write(&mut w);
            w.finalize().unwrap();
        }
        cursor.into_inner()
    }

    fn spec(rate: u32, channels: u16, bits: u16, float: bool) -> hound::WavSpec {
        let sample_format =
            if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int };
        hound::WavSpec { channels, sample_rate: rate, bits_per_sample: bits, sample_format }
    }

    #[test]
    fn every_supported_depth_decodes_to_full_scale() {
        for bits in [8_u16, 16, 24, 32] {
            let max = (1_i64 << (bits - 1)) - 1;
            let min = -(1_i64 << (bits - 1));
            let bytes = wav_bytes(spec(16_000, 1, bits, false), |w| {
                for s in [min, 0, max] {
                    w.write_sample(s as i32).unwrap();
                }
            });
            let audio = decode("t.wav", Cursor::new(bytes)).unwrap();
            assert_eq!(audio.samples[0], -1.0, "{bits}-bit minimum");
            assert_eq!(audio.samples[1], 0.0, "{bits}-bit zero");
            assert!(
                (audio.samples[2] - 1.0).abs() < 1e-2,
                "{bits}-bit maximum: {}",
                audio.samples[2]
            );
        }
        let bytes = wav_bytes(spec(48_000, 2, 32, true), |w| {
            for s in [0.25_f32, -0.5] {
                w.write_sample(s).unwrap();
            }
        });
        let audio = decode("f.wav", Cursor::new(bytes)).unwrap();
        assert_eq!(audio.format, AudioFormat::new(48_000, 2).unwrap());
        assert_eq!(audio.samples, [0.25, -0.5]);
    }

    #[test]
    fn stereo_48k_converts_to_the_pipeline_format() {
        let bytes = wav_bytes(spec(48_000, 2, 16, false), |w| {
            for i in 0..48_000 {
                let s = ((i as f32 * 0.05).sin() * 8_000.0) as i16;
                w.write_sample(s).unwrap();
                w.write_sample(s).unwrap();
            }
        });
        let audio =
            decode("s.wav", Cursor::new(bytes)).unwrap().to_format(AudioFormat::PIPELINE).unwrap();
        assert_eq!(audio.format, AudioFormat::PIPELINE);
        assert_eq!(audio.frames(), 16_000);
    }

    /// The rates WAV files come in, down and up to 16 kHz, keep their length and tone.
    #[test]
    fn common_rates_convert_to_the_pipeline_format() {
        for rate in [8_000, 11_025, 22_050, 32_000, 44_100, 48_000, 96_000] {
            let bytes = wav_bytes(spec(rate, 1, 16, false), |w| {
                for i in 0..rate {
                    let s = (std::f32::consts::TAU * 440.0 * i as f32 / rate as f32).sin();
                    w.write_sample((s * 16_384.0) as i16).unwrap();
                }
            });
            let audio = decode("r.wav", Cursor::new(bytes)).unwrap();
            let audio = audio.to_format(AudioFormat::PIPELINE).unwrap();
            assert_eq!(audio.frames(), 16_000, "{rate} Hz: 1 s stays 1 s");
            let steady = &audio.samples[1_000..15_000];
            let peak = steady.iter().fold(0.0_f32, |m, s| m.max(s.abs()));
            assert!((peak - 0.5).abs() < 0.01, "{rate} Hz: the tone keeps its level ({peak})");
        }
    }

    #[test]
    fn an_unconvertible_rate_is_an_error_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("sttbench-wav-rate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("too-slow.wav");
        std::fs::write(
            &path,
            wav_bytes(spec(100, 1, 16, false), |w| w.write_sample(0_i16).unwrap()),
        )
        .unwrap();
        let msg = read_as(&path, AudioFormat::PIPELINE).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(msg.contains("too-slow.wav") && msg.contains("100 Hz"), "{msg}");
        assert!(msg.contains("sox"), "says what to do: {msg}");
    }

    fn error_of(bytes: Vec<u8>) -> String {
        decode("bad.wav", Cursor::new(bytes)).unwrap_err().to_string()
    }

    #[test]
    fn bad_files_name_the_file_and_the_problem() {
        let good = wav_bytes(spec(16_000, 1, 16, false), |w| {
            for _ in 0..100 {
                w.write_sample(1_i16).unwrap();
            }
        });
        let cases = [
            (Vec::new(), "empty or truncated"),
            (b"RIFF\x10\0\0\0not a wave file at all".to_vec(), "not a WAV file"),
            (b"just some text, not audio".to_vec(), "not a WAV file"),
            (good[..good.len() - 51].to_vec(), "truncated"),
            (wav_bytes(spec(16_000, 1, 16, false), |_| {}), "no samples"),
        ];
        for (bytes, want) in cases {
            let msg = error_of(bytes);
            assert!(msg.starts_with("bad.wav: "), "names the file: {msg}");
            assert!(msg.contains(want), "expected {want:?} in {msg:?}");
        }
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let msg = read("/nonexistent/dir/speech.wav").unwrap_err().to_string();
        assert!(
            msg.contains("/nonexistent/dir/speech.wav") && msg.contains("cannot open"),
            "{msg}"
        );
    }
}
