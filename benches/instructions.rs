//! Instruction counts for the CPU-bound paths: the deterministic gate.
//!
//! Wall-clock timings on a shared machine drift by several percent; the number of
//! instructions a function executes under valgrind's callgrind does not. gungraun runs
//! each benchmark once under callgrind (setup excluded) and reports its instruction count;
//! `sttbench baseline collect --gungraun target/gungraun` turns those into BMF
//! `instructions`, which `sttbench compare` gates with a 1 % tolerance. Counts depend on
//! the compiler as well as the code: counts from another rustc than the baseline's are
//! reported as incomparable, and the floor's are reported, never gated.
//!
//! Names follow criterion's IDs so counts sit beside the timings of the same benchmark:
//! gungraun `<group>::<function>::<id>` reads as `<group>/<function>/<id>`, and because a
//! Rust identifier cannot start with a digit, a leading `_` is dropped (`_20ms` → `20ms`).
//!
//! Opt-in: `cargo bench --features instructions --bench instructions` needs valgrind and
//! `gungraun-runner` 0.20.0 (`scripts/nightly.sh` installs it). It leaves out anything
//! that waits on the OS (sockets, the session): callgrind does not model it, and tokio's
//! scheduling makes such counts vary.

// gungraun's macros generate public items without docs; there is nothing to document.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use gungraun::{library_benchmark, library_benchmark_group, main};
use sttbench::encode::convert::{self, DaspSincResampler, Resampler};
use sttbench::encode::{AudioFormat, ChunkEncoder};
use sttbench::signal::Signal;

/// A warmed encoder and one chunk of `signal`: the first chunk's buffer reservation is
/// setup, not steady state.
fn encoder_with(signal: Signal, ms: u64) -> (ChunkEncoder, Vec<f32>) {
    let spec = AudioFormat::PIPELINE.chunk_ms(ms).expect("whole frames at 16 kHz");
    let mut encoder = ChunkEncoder::new(spec);
    drop(encoder.encode_f32(&[0.0; 16]));
    (encoder, signal.generate(AudioFormat::PIPELINE.sample_rate(), spec.samples()))
}

/// One chunk of stereo or 48 kHz input: what downmix and resampling are given.
fn samples(rate: u32, channels: usize, ms: u64) -> Vec<f32> {
    let frames = rate as usize * ms as usize / 1000;
    let mono = Signal::Sine.generate(rate, frames);
    mono.iter().flat_map(|&s| std::iter::repeat_n(s, channels)).collect()
}

/// One chunk of sine input and a destination of the same length: what the floor copies.
fn copy_pair(ms: u64) -> (Vec<f32>, Vec<f32>) {
    let spec = AudioFormat::PIPELINE.chunk_ms(ms).expect("whole frames at 16 kHz");
    let input = Signal::Sine.generate(AudioFormat::PIPELINE.sample_rate(), spec.samples());
    let dst = vec![0.0; input.len()];
    (input, dst)
}

/// A warm 48 kHz → 16 kHz resampler and one chunk of 48 kHz input: the first chunk
/// fills the filter, which is setup, not steady state.
fn resampler_with(ms: u64) -> (Resampler, Vec<f32>) {
    let mut resampler = Resampler::new(48_000, 16_000).expect("supported rates");
    let input = samples(48_000, 1, ms);
    resampler.process(&input, &mut Vec::with_capacity(input.len()));
    (resampler, input)
}

/// The same for dasp's sinc, the peer.
fn dasp_sinc_with(ms: u64) -> (DaspSincResampler, Vec<f32>) {
    let mut resampler = DaspSincResampler::new(48_000, 16_000).expect("supported rates");
    let input = samples(48_000, 1, ms);
    resampler.process(&input, &mut Vec::with_capacity(input.len()));
    (resampler, input)
}

/// One chunk of 16 kHz stereo input.
fn stereo_samples(ms: u64) -> Vec<f32> {
    samples(16_000, 2, ms)
}

fn check_len(chunk: Bytes, samples: usize) -> Bytes {
    assert_eq!(chunk.len(), samples * 2, "one s16le sample per input sample");
    chunk
}

#[library_benchmark]
#[bench::_20ms(setup = encoder_with, args = (Signal::Sine, 20))]
#[bench::_100ms(setup = encoder_with, args = (Signal::Sine, 100))]
fn sine((mut encoder, samples): (ChunkEncoder, Vec<f32>)) -> Bytes {
    check_len(black_box(encoder.encode_f32(black_box(&samples))), samples.len())
}

#[library_benchmark]
#[bench::_20ms(setup = encoder_with, args = (Signal::Clipped, 20))]
fn clipped((mut encoder, samples): (ChunkEncoder, Vec<f32>)) -> Bytes {
    check_len(black_box(encoder.encode_f32(black_box(&samples))), samples.len())
}

#[library_benchmark]
#[bench::_20ms(setup = encoder_with, args = (Signal::Noise, 20))]
fn noise((mut encoder, samples): (ChunkEncoder, Vec<f32>)) -> Bytes {
    check_len(black_box(encoder.encode_f32(black_box(&samples))), samples.len())
}

// The floor, as in the timing bench (one ID, one meaning): copying the chunk's f32 input
// into a buffer that already exists. Floors are reported, never gated.
#[library_benchmark]
#[bench::_20ms(setup = copy_pair, args = (20))]
fn memcpy_floor((input, mut dst): (Vec<f32>, Vec<f32>)) -> Vec<f32> {
    dst.copy_from_slice(black_box(&input));
    black_box(dst)
}

library_benchmark_group!(name = encode_s16le, benchmarks = [sine, clipped, noise, memcpy_floor]);

#[library_benchmark]
#[bench::_20ms(setup = resampler_with, args = (20))]
fn rubato((mut resampler, input): (Resampler, Vec<f32>)) -> Vec<f32> {
    let mut out = Vec::with_capacity(input.len() / 3);
    resampler.process(black_box(&input), &mut out);
    assert_eq!(out.len(), input.len() / 3, "a warm chunk gives a third");
    black_box(out)
}

#[library_benchmark]
#[bench::_20ms(setup = dasp_sinc_with, args = (20))]
fn dasp_sinc((mut resampler, input): (DaspSincResampler, Vec<f32>)) -> Vec<f32> {
    let mut out = Vec::with_capacity(input.len() / 3);
    resampler.process(black_box(&input), &mut out);
    assert_eq!(out.len(), input.len() / 3, "a warm chunk gives a third");
    black_box(out)
}

library_benchmark_group!(name = resample, benchmarks = [rubato, dasp_sinc]);

#[library_benchmark]
#[bench::_20ms(setup = stereo_samples, args = (20))]
fn stereo(input: Vec<f32>) -> Vec<f32> {
    let mut out = Vec::with_capacity(input.len() / 2);
    convert::downmix(black_box(&input), 2, &mut out).expect("whole stereo frames");
    assert_eq!(out.len(), input.len() / 2);
    black_box(out)
}

library_benchmark_group!(name = downmix, benchmarks = [stereo]);

main!(library_benchmark_groups = encode_s16le, resample, downmix);
