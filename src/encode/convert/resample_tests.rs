//! The resampler's contract: the anti-alias filter's figures, alignment, duration,
//! streaming in blocks, latency, and errors.

use super::*;
use crate::encode::convert::DaspSincResampler;
use std::f64::consts::TAU;

const AMPLITUDE: f64 = 0.5;

/// A quarter second of a tone at `hz`, sampled at `rate`.
fn tone(rate: u32, hz: f64) -> Vec<f32> {
    let frames = rate as usize / 4;
    (0..frames)
        .map(|i| (AMPLITUDE * (TAU * hz * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

/// The middle 0.2 s of a quarter second of 16 kHz output: past the filter's start-up and
/// its tail, and a whole number of periods of every multiple of 5 Hz, so the measures
/// below have no leakage.
fn steady(out: &[f32]) -> &[f32] {
    assert_eq!(out.len(), 4_000, "a quarter second at 16 kHz");
    &out[400..3_600]
}

/// Everything in `x`, as a level in dB relative to the input tone.
fn level_db(x: &[f32]) -> f64 {
    let rms = (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    20.0 * (rms * std::f64::consts::SQRT_2 / AMPLITUDE).log10()
}

/// The component of `x` at `hz` (one DFT bin), in dB relative to the input tone.
fn level_at_db(x: &[f32], rate: u32, hz: f64) -> f64 {
    let w = TAU * hz / f64::from(rate);
    let (re, im) = x.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, &v)| {
        (re + f64::from(v) * (w * n as f64).cos(), im + f64::from(v) * (w * n as f64).sin())
    });
    let amplitude = 2.0 * re.hypot(im) / x.len() as f64;
    20.0 * (amplitude / AMPLITUDE).log10()
}

/// The gain at each pass-band tone and the worst level out of each stop-band tone.
fn response(from: u32, pass: &[f64], stop: &[f64]) -> (Vec<f64>, f64) {
    let run = |hz| Resampler::convert(from, 16_000, &tone(from, hz)).unwrap();
    let gains = pass.iter().map(|&hz| level_at_db(steady(&run(hz)), 16_000, hz)).collect();
    let worst = stop.iter().map(|&hz| level_db(steady(&run(hz)))).fold(f64::MIN, f64::max);
    (gains, worst)
}

fn every(start: u32, end: u32, step: usize) -> Vec<f64> {
    (start..=end).step_by(step).map(f64::from).collect()
}

#[test]
fn pass_band_is_flat_to_7_khz_and_8_5_to_24_khz_is_60_db_down() {
    let pass = every(50, 7_000, 50);
    let mut stop = every(8_500, 23_950, 50);
    stop.extend([8_505.0, 8_525.0, 8_555.0]);
    let (gains, worst) = response(48_000, &pass, &stop);
    for (hz, gain) in pass.iter().zip(&gains) {
        assert!(gain.abs() <= 0.5, "{hz} Hz passes at {gain:.3} dB");
    }
    assert!(worst <= -60.0, "the worst stop-band tone comes out at {worst:.1} dB");
}

#[test]
fn other_source_rates_are_filtered_as_well() {
    for from in [22_050, 44_100, 96_000] {
        let pass = every(100, 7_000, 700);
        let stop = every(8_500, from / 2 - 100, 1_300);
        let (gains, worst) = response(from, &pass, &stop);
        for (hz, gain) in pass.iter().zip(&gains) {
            assert!(gain.abs() <= 0.5, "{from} Hz: {hz} Hz passes at {gain:.3} dB");
        }
        assert!(worst <= -60.0, "{from} Hz: the worst stop-band tone at {worst:.1} dB");
    }
}

/// Upsampling makes images of the input band above its Nyquist frequency; the same
/// filter removes them.
#[test]
fn upsampling_suppresses_images() {
    for hz in [1_000.0, 3_500.0] {
        let out = Resampler::convert(8_000, 16_000, &tone(8_000, hz)).unwrap();
        let out = steady(&out);
        let gain = level_at_db(out, 16_000, hz);
        let image = level_at_db(out, 16_000, 8_000.0 - hz);
        assert!(gain.abs() <= 0.5, "{hz} Hz passes at {gain:.3} dB");
        assert!(image <= -60.0, "its image at {} Hz is at {image:.1} dB", 8_000.0 - hz);
    }
}

/// Why the pipeline moved off dasp: its sinc keeps the source's cutoff, so a 12 kHz tone
/// folds back to 4 kHz, in the middle of the speech band.
#[test]
fn the_dasp_peer_aliases_where_this_filter_does_not() {
    let input = tone(48_000, 12_000.0);
    let dasp = DaspSincResampler::convert(48_000, 16_000, &input).unwrap();
    let ours = Resampler::convert(48_000, 16_000, &input).unwrap();
    let (dasp, ours) = (level_at_db(steady(&dasp), 16_000, 4_000.0), level_db(steady(&ours)));
    assert!(dasp > -20.0, "dasp lets the alias through at {dasp:.1} dB");
    assert!(ours <= -60.0, "the filter keeps it at {ours:.1} dB");
}

/// Output sample m is the input at time m × from / to: a band-limited tone comes out as
/// the same tone sampled at 16 kHz, phase included.
#[test]
fn output_is_aligned_with_input() {
    // 44,056 Hz reduces to a ratio with 2,000 phases: interpolated, aligned within half a
    // source frame (0.07 rad at 1 kHz).
    for (from, tolerance) in [(48_000, 1e-3), (44_100, 1e-3), (22_050, 1e-3), (44_056, 0.04)] {
        let out = Resampler::convert(from, 16_000, &tone(from, 1_000.0)).unwrap();
        let want = tone(16_000, 1_000.0);
        let error = steady(&out)
            .iter()
            .zip(&want[400..3_600])
            .map(|(o, w)| (o - w).abs())
            .fold(0.0, f32::max);
        assert!(error <= tolerance, "{from} Hz: off by up to {error:.2e}");
    }
}

#[test]
fn output_is_as_long_as_the_input() {
    for from in [8_000, 11_025, 16_000, 22_050, 32_000, 44_056, 44_100, 48_000, 96_000] {
        let out = Resampler::convert(from, 16_000, &vec![0.1; from as usize]).unwrap();
        assert_eq!(out.len(), 16_000, "{from} Hz: 1 s in, 1 s out");
    }
    assert_eq!(Resampler::convert(44_100, 16_000, &[0.1; 441]).unwrap().len(), 160);
    assert_eq!(Resampler::convert(44_100, 16_000, &[0.1; 1]).unwrap().len(), 1);
    assert!(Resampler::convert(48_000, 16_000, &[]).unwrap().is_empty());
}

/// Feeding the same audio in blocks of any size gives the same output as one block:
/// state is carried across calls, so chunk boundaries leave no trace.
#[test]
fn streaming_in_blocks_matches_one_shot() {
    for from in [48_000, 44_100] {
        let input = tone(from, 1_000.0);
        let one_shot = Resampler::convert(from, 16_000, &input).unwrap();
        let mut resampler = Resampler::new(from, 16_000).unwrap();
        for block in [1, 7, 441, 960, 4_096] {
            let mut out = Vec::new();
            for chunk in input.chunks(block) {
                resampler.process(chunk, &mut out);
            }
            // `finish` also resets, so the same resampler serves every block size.
            resampler.finish(&mut out);
            assert_eq!(out, one_shot, "{from} Hz in blocks of {block}");
        }
    }
}

/// Once warm, every 48 kHz chunk gives exactly a third as many samples, and the output
/// trails the input by the stated latency, no more.
#[test]
fn chunks_give_a_third_and_trail_by_the_latency() {
    let mut resampler = Resampler::new(48_000, 16_000).unwrap();
    let lag = 97; // frames: the latency at 48 kHz
    assert_eq!(resampler.latency(), Duration::from_nanos(lag * 1_000_000_000 / 48_000));
    let lag = lag as usize;
    let chunk = vec![0.25; 960];
    let (mut fed, mut out) = (0, Vec::new());
    for i in 0..50 {
        let before = out.len();
        resampler.process(&chunk, &mut out);
        fed += chunk.len();
        if i > 0 {
            assert_eq!(out.len() - before, 320, "chunk {i}");
        }
        // Output m stands for input time 3m: the newest is within the latency of the
        // input fed so far, and the next one is not yet computable.
        let newest = 3 * (out.len() - 1);
        assert!(newest + lag <= fed && newest + 3 + lag > fed, "{fed} fed, {} out", out.len());
    }
}

#[test]
fn equal_rates_pass_through() {
    let input = tone(16_000, 300.0);
    let mut resampler = Resampler::new(16_000, 16_000).unwrap();
    assert_eq!(resampler.latency(), Duration::ZERO);
    let mut out = Vec::new();
    resampler.process(&input, &mut out);
    resampler.finish(&mut out);
    assert_eq!(out, input);
}

#[test]
fn impossible_rates_are_errors() {
    assert_eq!(Resampler::new(0, 16_000).unwrap_err(), FormatError::ZeroSampleRate);
    assert_eq!(Resampler::new(16_000, 0).unwrap_err(), FormatError::ZeroSampleRate);
    let err = Resampler::new(100, 16_000).unwrap_err();
    assert_eq!(err, FormatError::ResampleRatio { from: 100, to: 16_000, max: MAX_RATIO });
    assert!(err.to_string().contains("sox in.wav -r 16000"), "{err}");
    assert!(Resampler::new(250, 16_000).is_ok(), "exactly 64× apart is accepted");
    assert!(Resampler::new(16_000 * 64, 16_000).is_ok());
}
