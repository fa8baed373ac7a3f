//! Format conversion before encoding: downmix to mono and sample-rate conversion.
//!
//! Providers want 16 kHz mono; microphones and files deliver 44.1 or 48 kHz, often
//! stereo. Both conversions run on f32 samples, before the s16le kernels.
//!
//! - [`downmix`]: interleaved frames → mono.
//! - [`Resampler`]: the streaming sample-rate converter the pipeline uses: rubato's
//!   windowed-sinc resampler with a real anti-alias filter (see its module for the filter,
//!   the cost and the latency).
//! - [`DaspSincResampler`]: the converter sttbench used before, dasp's sinc interpolator,
//!   kept only as the peer the `resample` benches measure side by side with
//!   [`Resampler`]. It aliases; do not feed a provider with it.

mod dasp_sinc;
mod resample;

pub use dasp_sinc::{DaspSincResampler, SINC_DEPTH};
pub use resample::{MAX_RATIO, Resampler, TAPS_PER_RATIO};

use crate::error::FormatError;

/// Interleaved frames → mono by averaging the channels of each frame.
///
/// Averaging (rather than summing) keeps full scale at full scale; two channels in
/// anti-phase cancel, as they would in any mono mix.
///
/// # Errors
///
/// [`FormatError::ZeroChannels`] for `channels == 0`, [`FormatError::PartialFrame`] when
/// `interleaved` does not hold a whole number of frames.
pub fn downmix(interleaved: &[f32], channels: u16, out: &mut Vec<f32>) -> Result<(), FormatError> {
    let n = usize::from(channels);
    if n == 0 {
        return Err(FormatError::ZeroChannels);
    }
    if !interleaved.len().is_multiple_of(n) {
        return Err(FormatError::PartialFrame { samples: interleaved.len(), channels });
    }
    out.reserve(interleaved.len() / n);
    match n {
        1 => out.extend_from_slice(interleaved),
        // The common case gets its own loop, which the compiler vectorises.
        2 => out.extend(interleaved.chunks_exact(2).map(|f| (f[0] + f[1]) * 0.5)),
        _ => {
            let scale = 1.0 / n as f32;
            out.extend(interleaved.chunks_exact(n).map(|f| f.iter().sum::<f32>() * scale));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_each_frame() {
        let mut out = Vec::new();
        downmix(&[1.0, 0.0, 0.5, 0.5, -1.0, 1.0], 2, &mut out).unwrap();
        assert_eq!(out, [0.5, 0.5, 0.0]);
        out.clear();
        downmix(&[0.3, 0.6, 0.9], 3, &mut out).unwrap();
        assert!((out[0] - 0.6).abs() < 1e-6);
        out.clear();
        downmix(&[0.1, 0.2], 1, &mut out).unwrap();
        assert_eq!(out, [0.1, 0.2]);
    }

    #[test]
    fn downmix_rejects_bad_layouts() {
        let mut out = Vec::new();
        assert_eq!(
            downmix(&[0.0; 3], 2, &mut out),
            Err(FormatError::PartialFrame { samples: 3, channels: 2 })
        );
        assert_eq!(downmix(&[0.0; 2], 0, &mut out), Err(FormatError::ZeroChannels));
        assert!(out.is_empty(), "nothing is written on error");
    }
}
