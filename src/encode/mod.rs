//! The encode stage: audio format, chunk arithmetic, and f32/i16 → s16le chunks.
//!
//! Speech-to-text providers take 16-bit little-endian PCM ("linear16", "pcm_s16le") in
//! chunks of a fixed audio duration. This module owns the one place where a duration
//! becomes frames, samples and bytes ([`ChunkSpec`]), the sample conversion kernels
//! ([`pcm`]), format conversion (downmix and resampling, [`convert`]), WAV input
//! ([`wav`]), and the [`ChunkEncoder`] that hands chunks out as [`Bytes`] without
//! allocating per chunk.
//!
//! It does no networking and keeps no clock: pacing belongs to the session.

pub mod convert;
pub mod pcm;
pub mod wav;

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};

use crate::error::FormatError;

/// Bytes per encoded sample: the pipeline's wire format is signed 16-bit PCM.
pub const BYTES_PER_SAMPLE: usize = 2;

/// Sample rate and channel count of a stream of interleaved samples.
///
/// Construct it with [`AudioFormat::new`], which rejects 0 Hz and 0 channels, or use
/// [`AudioFormat::PIPELINE`], the 16 kHz mono format speech-to-text providers expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioFormat {
    sample_rate: u32,
    channels: u16,
}

impl AudioFormat {
    /// 16 kHz mono: what Deepgram and AssemblyAI recommend for streaming, and the format
    /// every bench uses unless it says otherwise.
    pub const PIPELINE: AudioFormat = AudioFormat { sample_rate: 16_000, channels: 1 };

    /// A format with `sample_rate` Hz and `channels` interleaved channels.
    ///
    /// ```
    /// use sttbench::encode::AudioFormat;
    /// let cd = AudioFormat::new(44_100, 2)?;
    /// assert_eq!(cd.sample_rate(), 44_100);
    /// assert!(AudioFormat::new(0, 1).is_err());
    /// # Ok::<(), sttbench::error::FormatError>(())
    /// ```
    pub const fn new(sample_rate: u32, channels: u16) -> Result<Self, FormatError> {
        if sample_rate == 0 {
            return Err(FormatError::ZeroSampleRate);
        }
        if channels == 0 {
            return Err(FormatError::ZeroChannels);
        }
        Ok(AudioFormat { sample_rate, channels })
    }

    /// Frames (one sample per channel) per second.
    pub const fn sample_rate(self) -> u32 {
        self.sample_rate
    }

    /// Interleaved channels per frame.
    pub const fn channels(self) -> u16 {
        self.channels
    }

    /// The same sample rate with one channel.
    pub const fn mono(self) -> AudioFormat {
        AudioFormat { sample_rate: self.sample_rate, channels: 1 }
    }

    /// Lays out chunks of `duration`: frames, samples and bytes per chunk.
    ///
    /// Fails unless `duration` holds a whole, non-zero number of frames, so a stream of
    /// chunks never drifts against the audio clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sttbench::encode::AudioFormat;
    /// let spec = AudioFormat::PIPELINE.chunk(Duration::from_millis(20))?;
    /// assert_eq!((spec.frames(), spec.samples(), spec.bytes()), (320, 320, 640));
    /// # Ok::<(), sttbench::error::FormatError>(())
    /// ```
    pub fn chunk(self, duration: Duration) -> Result<ChunkSpec, FormatError> {
        if duration.is_zero() {
            return Err(FormatError::ZeroChunk);
        }
        let too_long = FormatError::FractionalChunk {
            duration_us: u64::MAX,
            sample_rate: self.sample_rate,
            frames_times_1e6: u64::MAX,
        };
        let duration_us = u64::try_from(duration.as_micros()).map_err(|_| too_long.clone())?;
        let frames_times_1e6 =
            duration_us.checked_mul(u64::from(self.sample_rate)).ok_or(too_long)?;
        let sub_microsecond = !duration.subsec_nanos().is_multiple_of(1_000);
        if sub_microsecond || !frames_times_1e6.is_multiple_of(1_000_000) {
            return Err(FormatError::FractionalChunk {
                duration_us,
                sample_rate: self.sample_rate,
                frames_times_1e6,
            });
        }
        let frames = usize::try_from(frames_times_1e6 / 1_000_000)
            .expect("a chunk's frame count fits in usize");
        Ok(ChunkSpec { format: self, duration, frames })
    }

    /// [`chunk`](Self::chunk) for a duration in milliseconds, the unit benches use.
    pub fn chunk_ms(self, ms: u64) -> Result<ChunkSpec, FormatError> {
        self.chunk(Duration::from_millis(ms))
    }

    /// The duration of `frames` frames, rounded down to the nanosecond.
    pub fn duration_of(self, frames: usize) -> Duration {
        let nanos = frames as u128 * 1_000_000_000 / u128::from(self.sample_rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl std::fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layout = match self.channels {
            1 => "mono".to_string(),
            2 => "stereo".to_string(),
            n => format!("{n} channels"),
        };
        write!(f, "{} Hz {layout}", self.sample_rate)
    }
}

/// One chunk's layout, derived from an [`AudioFormat`] and a duration in one place.
///
/// Everything that needs "how many samples or bytes is a 20 ms chunk" asks this type;
/// nobody multiplies rates by milliseconds on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkSpec {
    format: AudioFormat,
    duration: Duration,
    frames: usize,
}

impl ChunkSpec {
    /// The format the chunk is laid out for.
    pub fn format(self) -> AudioFormat {
        self.format
    }

    /// Audio time covered by one chunk.
    pub fn duration(self) -> Duration {
        self.duration
    }

    /// Frames (one sample per channel) per chunk.
    pub fn frames(self) -> usize {
        self.frames
    }

    /// Interleaved samples per chunk: frames × channels.
    pub fn samples(self) -> usize {
        self.frames * usize::from(self.format.channels)
    }

    /// Encoded s16le bytes per chunk: samples × 2.
    pub fn bytes(self) -> usize {
        self.samples() * BYTES_PER_SAMPLE
    }
}

/// How many chunks' worth of bytes the encoder reserves at a time. A reservation is only
/// made when chunks handed out earlier are still alive; in the steady state (each chunk
/// sent and dropped before the next is encoded) the same memory is reused and nothing is
/// allocated. 16 chunks keep a consumer that holds a few chunks (a send queue, a replay
/// buffer) from forcing an allocation per chunk.
const CHUNKS_PER_RESERVATION: usize = 16;

/// Where every reservation starts: a cache line (64 bytes on x86-64 and most arm64), so
/// the kernels' stores never straddle lines at the start of a chunk, and the output's
/// offset against its input stays the same from one process to the next. Without it the
/// allocator's 16-byte alignment left the buffer at one of four offsets in a line, and
/// `encode_s16le/noise/20ms` measured 5.8× its floor in most processes and 6.0–6.7× in
/// the others (`benches/encode.rs` has the probe's figures). Every chunk of 10 ms or a
/// multiple at 16 kHz mono is itself a multiple of 64 bytes (320 bytes per 10 ms), so
/// every chunk of a reservation starts on a line too. Costs at most 63 bytes a
/// reservation.
const ALIGN: usize = 64;

/// Encodes interleaved samples into s16le chunks handed out as [`Bytes`].
///
/// The encoder owns one [`BytesMut`] and splits each chunk off it, so a chunk is a view
/// of the encoder's buffer: no copy, and once the consumer has dropped the chunks handed
/// out earlier, no allocation either (see the `memory` bench, which holds this at 0).
///
/// ```
/// use sttbench::encode::{AudioFormat, ChunkEncoder};
/// let spec = AudioFormat::PIPELINE.chunk_ms(20)?;
/// let mut encoder = ChunkEncoder::new(spec);
/// let audio = vec![0.25_f32; 1_000];
/// let chunks: Vec<_> = encoder.chunks(&audio).collect();
/// assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), [640, 640, 640, 80]);
/// # Ok::<(), sttbench::error::FormatError>(())
/// ```
#[derive(Debug)]
pub struct ChunkEncoder {
    spec: ChunkSpec,
    buf: BytesMut,
}

impl ChunkEncoder {
    /// An encoder for chunks laid out by `spec`, with its first buffer reserved.
    pub fn new(spec: ChunkSpec) -> Self {
        let buf = BytesMut::with_capacity(spec.bytes() * CHUNKS_PER_RESERVATION + ALIGN);
        let mut encoder = ChunkEncoder { spec, buf };
        encoder.align();
        encoder
    }

    /// The chunk layout this encoder was made for.
    pub fn spec(&self) -> ChunkSpec {
        self.spec
    }

    /// Encodes `samples` (any length) as one s16le chunk, by the clipping contract of
    /// [`pcm::f32_to_s16le`].
    pub fn encode_f32(&mut self, samples: &[f32]) -> Bytes {
        self.encode_with(samples.len(), |out| pcm::f32_to_s16le(samples, out))
    }

    /// Encodes `samples` (any length) as one s16le chunk.
    pub fn encode_i16(&mut self, samples: &[i16]) -> Bytes {
        self.encode_with(samples.len(), |out| pcm::i16_to_s16le(samples, out))
    }

    /// Splits `samples` into chunks of [`ChunkSpec::samples`] and encodes each; the last
    /// chunk is shorter when `samples` does not fill it.
    pub fn chunks<'a>(&'a mut self, samples: &'a [f32]) -> impl Iterator<Item = Bytes> + 'a {
        samples.chunks(self.spec.samples()).map(move |chunk| self.encode_f32(chunk))
    }

    fn encode_with(
        &mut self,
        samples: usize,
        write: impl FnOnce(&mut [std::mem::MaybeUninit<u8>]),
    ) -> Bytes {
        let len = samples * BYTES_PER_SAMPLE;
        // Chunks are split off the front of the buffer one after another; only when it
        // is used up does `reserve` run, and it first tries to reclaim the whole buffer
        // in place, which succeeds once every chunk split off earlier has been dropped:
        // the steady state allocates nothing, and pays for `reserve` once per 16 chunks.
        if self.buf.capacity() < len {
            self.buf.reserve(len.max(self.spec.bytes() * CHUNKS_PER_RESERVATION) + ALIGN);
            self.align();
        }
        write(&mut self.buf.spare_capacity_mut()[..len]);
        // SAFETY: `write` is one of the `pcm` kernels, which initialise every byte of the
        // `len`-byte slice they are given (tested by `pcm::tests`), and `reserve` made
        // sure that the spare capacity holds at least `len` bytes.
        unsafe { self.buf.set_len(len) };
        self.buf.split().freeze()
    }

    /// Moves the empty buffer's start up to the next [`ALIGN`] boundary, inside the slack
    /// every reservation has for it.
    fn align(&mut self) {
        let pad = self.buf.as_ptr().align_offset(ALIGN);
        if pad != 0 && pad < self.buf.capacity() {
            self.buf.resize(pad, 0);
            self.buf.advance(pad);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bench_chunk_size_is_whole_frames_at_common_rates() {
        for rate in [8_000, 16_000, 44_100, 48_000] {
            let format = AudioFormat::new(rate, 2).unwrap();
            for ms in [10, 20, 50, 100, 250, 500, 1000] {
                let spec = format.chunk_ms(ms).unwrap();
                assert_eq!(spec.frames() as u64, u64::from(rate) * ms / 1000, "{rate} Hz, {ms} ms");
                assert_eq!(spec.samples(), spec.frames() * 2);
                assert_eq!(spec.bytes(), spec.samples() * 2);
                assert_eq!(format.duration_of(spec.frames()), spec.duration());
            }
        }
    }

    #[test]
    fn impossible_formats_and_chunks_are_errors() {
        assert_eq!(AudioFormat::new(0, 1), Err(FormatError::ZeroSampleRate));
        assert_eq!(AudioFormat::new(16_000, 0), Err(FormatError::ZeroChannels));
        let cd = AudioFormat::new(22_050, 1).unwrap();
        assert!(matches!(cd.chunk_ms(1), Err(FormatError::FractionalChunk { .. })), "22.05 frames");
        assert_eq!(cd.chunk_ms(20).unwrap().frames(), 441);
        let pipeline = AudioFormat::PIPELINE;
        assert_eq!(pipeline.chunk(Duration::ZERO), Err(FormatError::ZeroChunk));
        assert!(pipeline.chunk(Duration::from_nanos(62_500)).is_err(), "sub-microsecond");
        assert_eq!(pipeline.chunk(Duration::from_micros(62_500)).unwrap().frames(), 1_000);
        assert!(pipeline.chunk(Duration::MAX).is_err(), "overflow is an error, not a panic");
    }

    /// Chunks are views of one buffer: consecutive chunks are adjacent in memory (no
    /// copy), and once they are dropped the encoder starts over at the same address (no
    /// allocation).
    #[test]
    fn chunks_share_one_reused_buffer() {
        let spec = AudioFormat::PIPELINE.chunk_ms(10).unwrap();
        let mut encoder = ChunkEncoder::new(spec);
        let samples = vec![0.5_f32; spec.samples()];
        let first = encoder.encode_f32(&samples);
        let second = encoder.encode_f32(&samples);
        assert_eq!(second.as_ptr() as usize - first.as_ptr() as usize, spec.bytes());
        let start = first.as_ptr() as usize;
        drop((first, second));
        for _ in 0..CHUNKS_PER_RESERVATION - 2 {
            drop(encoder.encode_f32(&samples));
        }
        let wrapped = encoder.encode_f32(&samples);
        assert_eq!(wrapped.as_ptr() as usize, start, "the buffer is reclaimed, not reallocated");
        assert_eq!(&wrapped[..2], &16_384_i16.to_le_bytes());
    }

    #[test]
    fn every_chunk_starts_on_a_cache_line_through_reclaims_and_reservations() {
        let spec = AudioFormat::PIPELINE.chunk_ms(20).unwrap();
        let mut encoder = ChunkEncoder::new(spec);
        let samples = vec![0.5_f32; spec.samples()];
        let mut held = Vec::new();
        for k in 0..4 * CHUNKS_PER_RESERVATION {
            let chunk = encoder.encode_f32(&samples);
            assert_eq!(chunk.as_ptr() as usize % ALIGN, 0, "chunk {k}");
            // Hold every third chunk, so some reservations are new allocations.
            if k % 3 == 0 {
                held.push(chunk);
            }
        }
    }

    #[test]
    fn a_chunk_held_by_the_consumer_stays_intact() {
        let spec = AudioFormat::PIPELINE.chunk_ms(10).unwrap();
        let mut encoder = ChunkEncoder::new(spec);
        let held = encoder.encode_i16(&vec![7; spec.samples()]);
        for _ in 0..3 * CHUNKS_PER_RESERVATION {
            drop(encoder.encode_i16(&vec![-1; spec.samples()]));
        }
        assert!(held.chunks_exact(2).all(|b| b == 7_i16.to_le_bytes()), "never overwritten");
    }
}
