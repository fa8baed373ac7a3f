//! The peer: the resampler sttbench used before [`Resampler`](super::Resampler), dasp's
//! windowed-sinc interpolator, kept so the `resample` benches can measure the two side
//! by side (`resample/dasp_sinc/<ms>ms` next to `resample/rubato/<ms>ms`).
//!
//! It is dasp's [`Converter`] over [`dasp::interpolate::sinc::Sinc`] with [`SINC_DEPTH`]
//! taps on each side. dasp evaluates the window with `sin`/`cos` per tap for every output
//! sample, and its sinc keeps the source's cutoff when downsampling: content between the
//! target's and the source's Nyquist frequency (8–24 kHz for 48 → 16 kHz) folds back into
//! the speech band. That is why the pipeline no longer uses it. Output lags input by
//! [`SINC_DEPTH`] source frames (0.17 ms at 48 kHz).

use std::collections::VecDeque;

use dasp::Signal;
use dasp::interpolate::sinc::Sinc;
use dasp::ring_buffer;
use dasp::signal::interpolate::Converter;

use crate::error::FormatError;

/// Sinc taps on each side of the interpolated point; the ring buffer holds twice this.
pub const SINC_DEPTH: usize = 8;

/// The input queue a [`Converter`] pulls from; it yields silence when empty, which only
/// happens when [`DaspSincResampler::finish`] drains the filter's tail.
#[derive(Debug, Default)]
struct Feed {
    queue: VecDeque<f32>,
}

impl Signal for Feed {
    type Frame = f32;

    fn next(&mut self) -> f32 {
        self.queue.pop_front().unwrap_or(0.0)
    }
}

/// dasp's streaming mono sample-rate converter, the bench peer of
/// [`Resampler`](super::Resampler): feed it blocks of any size, get the converted
/// samples out, with the filter state carried across blocks so block boundaries are
/// inaudible.
///
/// ```
/// use sttbench::encode::convert::DaspSincResampler;
/// let mut resampler = DaspSincResampler::new(48_000, 16_000)?;
/// let mut out = Vec::new();
/// resampler.process(&vec![0.0; 4_800], &mut out); // 100 ms in ...
/// resampler.finish(&mut out);
/// assert_eq!(out.len(), 1_600); // ... 100 ms out
/// # Ok::<(), sttbench::error::FormatError>(())
/// ```
pub struct DaspSincResampler {
    converter: Converter<Feed, Sinc<[f32; 2 * SINC_DEPTH]>>,
    from: u32,
    to: u32,
    /// Source frames a single output may consume: ⌈from / to⌉. Output is only produced
    /// while at least this many inputs are queued, so the converter never reads past
    /// the input it has been given.
    max_pull: usize,
    /// Input frames accepted so far, to size the output exactly at [`Self::finish`].
    frames_in: u64,
    frames_out: u64,
}

impl std::fmt::Debug for DaspSincResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaspSincResampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("frames_in", &self.frames_in)
            .field("frames_out", &self.frames_out)
            .finish_non_exhaustive()
    }
}

impl DaspSincResampler {
    /// A converter from `from` Hz to `to` Hz.
    ///
    /// # Errors
    ///
    /// [`FormatError::ZeroSampleRate`] when either rate is 0.
    pub fn new(from: u32, to: u32) -> Result<Self, FormatError> {
        if from == 0 || to == 0 {
            return Err(FormatError::ZeroSampleRate);
        }
        let sinc = Sinc::new(ring_buffer::Fixed::from([0.0_f32; 2 * SINC_DEPTH]));
        let converter =
            Converter::from_hz_to_hz(Feed::default(), sinc, f64::from(from), f64::from(to));
        Ok(DaspSincResampler {
            converter,
            from,
            to,
            max_pull: from.div_ceil(to) as usize,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Converts `input`, appending what can be produced so far to `out`. Up to
    /// ⌈from / to⌉ input frames stay queued for the next call.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.converter.source_mut().queue.extend(input);
        self.frames_in += input.len() as u64;
        // Never run ahead of ⌊frames in × to / from⌋: the converter starts with an output
        // before its first input, and `finish` settles the last fraction.
        let due = self.frames_in * u64::from(self.to) / u64::from(self.from);
        while self.frames_out < due && self.converter.source().queue.len() >= self.max_pull {
            out.push(self.converter.next());
            self.frames_out += 1;
        }
    }

    /// Ends the stream: appends the remaining output so that the total output length is
    /// ⌈frames in × to / from⌉, and resets the converter for a new stream.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let total = (self.frames_in * u64::from(self.to)).div_ceil(u64::from(self.from));
        while self.frames_out < total {
            out.push(self.converter.next());
            self.frames_out += 1;
        }
        *self = DaspSincResampler::new(self.from, self.to).expect("rates were validated by new");
    }

    /// Converts a whole buffer in one go: [`process`](Self::process) then
    /// [`finish`](Self::finish).
    pub fn convert(from: u32, to: u32, input: &[f32]) -> Result<Vec<f32>, FormatError> {
        let mut resampler = DaspSincResampler::new(from, to)?;
        let mut out = Vec::with_capacity(input.len() * to as usize / from as usize + 1);
        resampler.process(input, &mut out);
        resampler.finish(&mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::TAU;

    fn sine(rate: u32, hz: f32, frames: usize) -> Vec<f32> {
        (0..frames).map(|i| (TAU * hz * i as f32 / rate as f32).sin() * 0.5).collect()
    }

    /// Goertzel-free amplitude estimate: RMS × √2 of a pure tone.
    fn amplitude(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt() * std::f32::consts::SQRT_2
    }

    #[test]
    fn resampling_keeps_duration_and_tone() {
        for from in [44_100, 48_000] {
            let input = sine(from, 440.0, from as usize); // 1 s
            let out = DaspSincResampler::convert(from, 16_000, &input).unwrap();
            assert_eq!(out.len(), 16_000, "{from} Hz → 16 kHz keeps 1 s");
            // Skip the filter's warm-up, then the 440 Hz tone keeps its level and period.
            let steady = &out[1_000..15_000];
            assert!(
                (amplitude(steady) - 0.5).abs() < 0.02,
                "{from}: amplitude {}",
                amplitude(steady)
            );
            let crossings = steady.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
            assert!((383..=387).contains(&crossings), "{from}: {crossings} periods in 0.875 s");
        }
    }

    /// Feeding the same audio in blocks of any size gives the same output as one block:
    /// state is carried across calls, so chunk boundaries leave no trace.
    #[test]
    fn streaming_in_blocks_matches_one_shot() {
        let input = sine(48_000, 1_000.0, 9_600);
        let one_shot = DaspSincResampler::convert(48_000, 16_000, &input).unwrap();
        for block in [1, 7, 480, 4_096] {
            let mut resampler = DaspSincResampler::new(48_000, 16_000).unwrap();
            let mut out = Vec::new();
            for chunk in input.chunks(block) {
                resampler.process(chunk, &mut out);
            }
            resampler.finish(&mut out);
            assert_eq!(out, one_shot, "block size {block}");
        }
    }
}
