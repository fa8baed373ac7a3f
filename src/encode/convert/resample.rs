//! The pipeline's sample-rate converter: rubato's windowed-sinc resampler behind a
//! streaming API (blocks of any size in, the converted samples out, state carried across
//! blocks).
//!
//! # Why this resampler
//!
//! rubato is the Rust audio ecosystem's resampler. Of its resamplers we use the
//! asynchronous sinc one ([`rubato::Async::new_sinc`]) without the `fft_resampler`
//! feature: it takes blocks of any length, so a chunk is converted the moment it arrives
//! (the FFT resampler works in fixed blocks and would hold audio back until a block
//! fills), and it needs eight crates instead of fourteen. Its dot products run on AVX,
//! SSE3 or Neon, picked at run time.
//!
//! # The filter
//!
//! A Blackman-windowed sinc of [`TAPS_PER_RATIO`] taps per unit of `max(from, to) / min(from,
//! to)` (192 taps for 48 → 16 kHz), with its cutoff at [`CUTOFF`] of the lower rate's
//! Nyquist frequency (7.75 kHz for 16 kHz out). Scaling the length with the ratio keeps the
//! transition band at the same fraction of the output band for every source rate. For
//! 48 → 16 kHz, tested in this file: flat within 0.5 dB up to 7 kHz (measured within
//! ±0.002 dB), and every tone from 8.5 to 24 kHz at least 60 dB down (measured: 75 dB at
//! worst, near 8.75 kHz), so nothing above the speech band folds back into it.
//!
//! Each output sample is one dot product of the filter with the input, read from a table
//! of the filter at every phase the ratio needs: a ratio that reduces to `p / q` needs `q`
//! phases (1 for 48 → 16 kHz, 160 for 44.1 → 16 kHz). Up to [`MAX_EXACT_PHASES`] the table
//! holds them all and every output is exact; beyond (odd rates such as 44,056 Hz) rubato
//! interpolates cubically between 256 phases.
//!
//! # Latency and alignment
//!
//! An output sample needs the input up to half the filter ahead of it, so output lags
//! input by [`Resampler::latency`]: half the taps plus one, in source frames (97 frames,
//! 2.02 ms, at 48 kHz). The filter's start-up is dropped, so output sample `m` is the
//! filtered input at time `m × from / to` exactly (within half a source frame for the
//! interpolated ratios), and [`Resampler::finish`] flushes the tail: the output is as
//! long as the input.

use std::time::Duration;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler as _, Resizable as _, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

use crate::error::FormatError;

/// Filter taps per unit of conversion ratio. 64 per unit (192 for 48 → 16 kHz) meets the
/// tested figures with 15 dB to spare in the stop band; 160 taps leave under 10 dB and
/// 128 miss them. The cost per output sample is proportional to the taps.
pub const TAPS_PER_RATIO: usize = 64;

/// The filter's cutoff, as a fraction of the lower rate's Nyquist frequency: the middle
/// of the transition band between the pass band (to 0.875, 7 kHz at 16 kHz) and the stop
/// band (from 1.0625, 8.5 kHz, which folds to 7.5 kHz: still outside the pass band).
pub const CUTOFF: f32 = 0.968_75;

/// The largest conversion ratio, either way: the filter grows with the ratio (4,096 taps at
/// 64), and speech is never sampled 64 times faster or slower than a provider wants.
pub const MAX_RATIO: u32 = 64;

/// The most filter phases kept in the table (see the module docs): covers 44.1 (160),
/// 22.05 (320) and 11.025 kHz (640) to 16 kHz.
pub const MAX_EXACT_PHASES: u32 = 1_024;

/// Phases between which rubato interpolates for ratios that need more than
/// [`MAX_EXACT_PHASES`]; its documentation's starting point for cubic interpolation.
const INTERPOLATED_PHASES: usize = 256;

/// The most source frames handed to rubato in one call; longer input is split. Sizes its
/// internal buffer (4 KiB of samples plus the filter's history).
const MAX_BLOCK: usize = 1_024;

/// Zeros fed to the filter before the stream (alignment) and after it ([`Resampler::finish`]).
const SILENCE: [f32; 256] = [0.0; 256];

/// A streaming mono sample-rate converter with a real anti-alias filter: feed it blocks
/// of any size, get the converted samples out, with the filter state carried across
/// blocks so block boundaries leave no trace.
///
/// Once the filter is warm, every block gives exactly `len × to / from` samples when that
/// is a whole number (a third of each 48 kHz chunk at 16 kHz); otherwise the fraction is
/// carried to the next block. Converting allocates nothing beyond what `out` needs.
///
/// ```
/// use sttbench::encode::convert::Resampler;
/// let mut resampler = Resampler::new(48_000, 16_000)?;
/// let mut out = Vec::new();
/// resampler.process(&vec![0.0; 4_800], &mut out); // 100 ms in ...
/// resampler.finish(&mut out);
/// assert_eq!(out.len(), 1_600); // ... 100 ms out
/// assert_eq!(resampler.latency().as_micros(), 2_020); // 97 frames at 48 kHz
/// # Ok::<(), sttbench::error::FormatError>(())
/// ```
#[derive(Debug)]
pub struct Resampler {
    from: u32,
    to: u32,
    /// `None` when the rates are equal: samples pass through untouched.
    filter: Option<Filter>,
    /// Input frames accepted since the stream began, to size the output at `finish`.
    frames_in: u64,
    /// Output frames handed out since the stream began.
    frames_out: u64,
}

/// rubato's resampler plus what it takes to align its output with the input.
struct Filter {
    sinc: Async<f32>,
    taps: usize,
    /// Zeros fed before the first input frame, so that an output sample falls exactly on
    /// input time 0.
    lead_in: usize,
    /// Outputs that come before input time 0 (the filter's start-up), dropped.
    start_up: usize,
    /// Of those, how many are still to drop.
    to_drop: usize,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("taps", &self.taps)
            .field("lead_in", &self.lead_in)
            .field("start_up", &self.start_up)
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// A converter from `from` Hz to `to` Hz.
    ///
    /// # Errors
    ///
    /// [`FormatError::ZeroSampleRate`] when either rate is 0,
    /// [`FormatError::ResampleRatio`] when they are more than [`MAX_RATIO`] apart.
    pub fn new(from: u32, to: u32) -> Result<Self, FormatError> {
        if from == 0 || to == 0 {
            return Err(FormatError::ZeroSampleRate);
        }
        let (low, high) = (u64::from(from.min(to)), u64::from(from.max(to)));
        if high > low * u64::from(MAX_RATIO) {
            return Err(FormatError::ResampleRatio { from, to, max: MAX_RATIO });
        }
        let filter = (from != to).then(|| Filter::new(from, to));
        Ok(Resampler { from, to, filter, frames_in: 0, frames_out: 0 })
    }

    /// How long after an input sample arrives its output sample comes out: half the
    /// filter plus one source frame (rubato waits for one frame past the filter); zero
    /// when the rates are equal.
    pub fn latency(&self) -> Duration {
        let frames = self.filter.as_ref().map_or(0, |f| f.taps / 2 + 1) as u64;
        Duration::from_nanos(frames * 1_000_000_000 / u64::from(self.from))
    }

    /// Converts `input`, appending every output sample the input received so far
    /// determines to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.frames_in += input.len() as u64;
        let before = out.len();
        match &mut self.filter {
            Some(filter) => filter.push(input, out),
            None => out.extend_from_slice(input),
        }
        self.frames_out += (out.len() - before) as u64;
    }

    /// Ends the stream: flushes the filter's tail so that the whole output is
    /// ⌈frames in × to / from⌉ samples, then resets for a new stream.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let total = (self.frames_in * u64::from(self.to)).div_ceil(u64::from(self.from));
        if let Some(filter) = &mut self.filter {
            let start = out.len();
            while self.frames_out < total {
                let before = out.len();
                filter.push(&SILENCE, out);
                self.frames_out += (out.len() - before) as u64;
            }
            // The last block of silence may give more than the stream's tail.
            let excess = (self.frames_out - total) as usize;
            debug_assert!(out.len() - start >= excess, "the excess was appended here");
            out.truncate(out.len() - excess);
            filter.reset();
        }
        self.frames_in = 0;
        self.frames_out = 0;
    }

    /// Converts a whole buffer in one go: [`process`](Self::process) then
    /// [`finish`](Self::finish).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn convert(from: u32, to: u32, input: &[f32]) -> Result<Vec<f32>, FormatError> {
        let mut resampler = Resampler::new(from, to)?;
        let mut out = Vec::with_capacity(input.len() * to as usize / from as usize + 1);
        resampler.process(input, &mut out);
        resampler.finish(&mut out);
        Ok(out)
    }
}

impl Filter {
    /// The filter for `from` → `to` Hz (different, non-zero, at most [`MAX_RATIO`] apart),
    /// warmed with its lead-in.
    fn new(from: u32, to: u32) -> Filter {
        let gcd = gcd(from, to);
        let (p, q) = ((from / gcd) as usize, (to / gcd) as usize);
        let ratio = from.max(to) as f64 / from.min(to) as f64;
        // rubato rounds the length up to a multiple of 8; do it here so `taps` is exact.
        let taps = (TAPS_PER_RATIO as f64 * ratio).ceil() as usize;
        let taps = taps.next_multiple_of(8);
        let exact = q <= MAX_EXACT_PHASES as usize;
        let (phases, interpolation) = if exact {
            (q, SincInterpolationType::Nearest)
        } else {
            (INTERPOLATED_PHASES, SincInterpolationType::Cubic)
        };
        let parameters = SincInterpolationParameters::new(taps, WindowFunction::Blackman)
            .f_cutoff(CUTOFF)
            .oversampling_factor(phases)
            .interpolation(interpolation);
        let sinc = Async::<f32>::new_sinc(
            f64::from(to) / f64::from(from),
            1.0,
            &parameters,
            MAX_BLOCK,
            1,
            FixedAsync::Input,
        )
        .expect("a finite positive ratio, one channel and a non-empty block are valid");

        // rubato's output n (from 0) is the input at time (n + 1)·p/q − taps/2 + 1/phases,
        // in frames since the first frame it was fed. Feeding `lead_in` zeros first puts
        // output `start_up` on input time 0: pick the first n where that time is a whole,
        // non-negative number of frames (exact phases: one comes within q outputs), or
        // the nearest whole frame (interpolated phases).
        let (start_up, lead_in) = if exact {
            (0..)
                .map(|n| (n, (n + 1) * p + 1))
                .find(|&(_, t)| t % q == 0 && t / q >= taps / 2)
                .map(|(n, t)| (n, t / q - taps / 2))
                .expect("one of every q consecutive outputs falls on a whole frame")
        } else {
            let time = |n: usize| ((n + 1) * p) as f64 / q as f64 - (taps / 2) as f64;
            let n = (0..).find(|&n| time(n) + 1.0 / phases as f64 >= 0.0).expect("time grows");
            (n, (time(n) + 1.0 / phases as f64).round() as usize)
        };
        let mut filter = Filter { sinc, taps, lead_in, start_up, to_drop: start_up };
        filter.reset();
        filter
    }

    /// Feeds `input` through the filter, appending the outputs past the start-up to `out`.
    fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        for block in input.chunks(MAX_BLOCK) {
            self.sinc.set_chunk_size(block.len()).expect("1..=MAX_BLOCK frames");
            let start = out.len();
            let room = self.sinc.output_frames_next();
            out.resize(start + room, 0.0);
            let block_in = InterleavedSlice::new(block, 1, block.len()).expect("one channel");
            let mut block_out =
                InterleavedSlice::new_mut(&mut out[start..], 1, room).expect("one channel");
            let (_, written) = self
                .sinc
                .process_into_buffer(&block_in, &mut block_out, None)
                .expect("buffers sized by input_frames_next and output_frames_next");
            out.truncate(start + written);
            if self.to_drop > 0 {
                let dropped = self.to_drop.min(written);
                out.drain(start..start + dropped);
                self.to_drop -= dropped;
            }
        }
    }

    /// Back to the state of a new stream: empty history, lead-in fed, start-up to drop.
    fn reset(&mut self) {
        self.sinc.reset();
        self.to_drop = self.start_up;
        // Outputs during the lead-in come before input time 0: dropped, never appended.
        let mut nothing = Vec::new();
        let mut left = self.lead_in;
        while left > 0 {
            let n = left.min(SILENCE.len());
            self.push(&SILENCE[..n], &mut nothing);
            left -= n;
        }
        debug_assert!(nothing.is_empty(), "the lead-in is part of the start-up");
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
#[path = "resample_tests.rs"]
mod tests;
