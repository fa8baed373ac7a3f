//! Pure CPU: f32 → s16le chunk encoding, resampling and downmix, with the memcpy floor
//! measured in the same run.
//!
//! IDs (a stable interface, see README):
//! - `encode_s16le/<signal>/<ms>ms`: one chunk of `<signal>` through `ChunkEncoder`,
//!   16 kHz mono f32 in, a `Bytes` chunk out.
//! - `encode_s16le/memcpy_floor/<ms>ms`: a plain copy of the same chunk's f32 input:
//!   the physical floor. `sttbench compare` judges encoding as the ratio to it.
//! - `resample/rubato/<ms>ms`: one chunk of 48 kHz speech through the pipeline's streaming
//!   resampler (rubato's sinc, anti-aliased), to 16 kHz.
//! - `resample/dasp_sinc/<ms>ms`: the same chunk through dasp's sinc interpolator, the
//!   resampler it replaced, measured in the same run as its peer.
//! - `downmix/stereo/<ms>ms`: one chunk of 16 kHz stereo to mono.
//!
//! Every input is generated before timing, and every bench checks its output once
//! against the plain reference before it is timed.

mod support;

use std::hint::black_box;

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use sttbench::encode::convert::{DaspSincResampler, Resampler, downmix};
use sttbench::encode::pcm::reference;
use sttbench::encode::{AudioFormat, ChunkEncoder, ChunkSpec};
use sttbench::signal::Signal;

/// Chunk durations every group is measured at: 10 ms (the smallest any provider takes)
/// to 1 s (AssemblyAI's largest).
const CHUNK_MS: [u64; 7] = [10, 20, 50, 100, 250, 500, 1000];

fn spec(format: AudioFormat, ms: u64) -> ChunkSpec {
    format.chunk_ms(ms).expect("every bench duration is a whole number of frames")
}

fn encode_s16le(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_s16le");
    for ms in CHUNK_MS {
        let spec = spec(AudioFormat::PIPELINE, ms);
        let id = format!("{ms}ms");
        // Samples per second is the unit every row of the group shares, floor included.
        group.throughput(Throughput::Elements(spec.samples() as u64));

        let input = Signal::Sine.generate(spec.format().sample_rate(), spec.frames());
        let mut copy = vec![0.0_f32; input.len()];
        copy.copy_from_slice(&input);
        assert_eq!(copy, input, "memcpy floor copies the chunk");
        group.bench_function(BenchmarkId::new("memcpy_floor", &id), |b| {
            b.iter(|| copy.copy_from_slice(black_box(&input)));
        });

        for signal in Signal::ALL {
            let input = signal.generate(spec.format().sample_rate(), spec.frames());
            let mut encoder = ChunkEncoder::new(spec);
            assert_eq!(
                encoder.encode_f32(&input)[..],
                reference::f32_to_s16le(&input)[..],
                "{signal}/{id}: fast path and reference disagree"
            );
            // The chunk is dropped inside `iter`, as a sender would after writing it,
            // so the encoder reuses its buffer: the steady state the memory bench checks.
            group.bench_function(BenchmarkId::new(signal.name(), &id), |b| {
                b.iter(|| encoder.encode_f32(black_box(&input)));
            });
        }
    }
    group.finish();
}

fn resample(c: &mut Criterion) {
    let mut group = c.benchmark_group("resample");
    // Milliseconds per iteration at the larger sizes: criterion's default linear
    // sampling would run 5,050 iterations for 100 samples; flat sampling runs a fixed
    // count per sample and fits the measurement time.
    group.sampling_mode(SamplingMode::Flat);
    let (from, to) = (48_000, 16_000);
    let source = AudioFormat::new(from, 1).expect("48 kHz mono is valid");
    for ms in CHUNK_MS {
        let spec = spec(source, ms);
        let input = Signal::Speech.generate(from, spec.frames());
        group.throughput(Throughput::Elements(spec.samples() as u64));
        let id = format!("{ms}ms");
        // The two peers one after the other at each size, so their ratio comes from
        // one stretch of machine time.
        let mut rubato = Resampler::new(from, to).expect("valid rates");
        resample_one(&mut group, "rubato", &id, &input, |x, out| rubato.process(x, out));
        let mut dasp = DaspSincResampler::new(from, to).expect("valid rates");
        resample_one(&mut group, "dasp_sinc", &id, &input, |x, out| dasp.process(x, out));
    }
    group.finish();
}

/// Times one chunk through a warm streaming resampler (`process`), after checking that
/// it gives a third as many samples: a stream carries state from chunk to chunk, and
/// once warm every 48 kHz chunk gives exactly a third as many 16 kHz samples.
fn resample_one(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    id: &str,
    input: &[f32],
    mut process: impl FnMut(&[f32], &mut Vec<f32>),
) {
    let mut out = Vec::with_capacity(input.len());
    for _ in 0..2 {
        out.clear();
        process(input, &mut out);
    }
    assert_eq!(out.len(), input.len() / 3, "{name}/{id}: 48k → 16k keeps the chunk's duration");
    group.bench_function(BenchmarkId::new(name, id), |b| {
        b.iter(|| {
            out.clear();
            process(black_box(input), &mut out);
        });
    });
}

fn downmix_stereo(c: &mut Criterion) {
    let mut group = c.benchmark_group("downmix");
    let stereo = AudioFormat::new(16_000, 2).expect("16 kHz stereo is valid");
    for ms in CHUNK_MS {
        let spec = spec(stereo, ms);
        let mono = Signal::Speech.generate(stereo.sample_rate(), spec.frames());
        let input: Vec<f32> = mono.iter().flat_map(|&x| [x, -0.5 * x]).collect();
        group.throughput(Throughput::Elements(spec.samples() as u64));
        let mut out = Vec::with_capacity(spec.frames());
        downmix(&input, 2, &mut out).expect("whole stereo frames");
        assert_eq!(out.len(), spec.frames());
        assert!(out.iter().zip(&mono).all(|(o, m)| (o - 0.25 * m).abs() < 1e-6), "averaged");
        group.bench_function(BenchmarkId::new("stereo", format!("{ms}ms")), |b| {
            b.iter(|| {
                out.clear();
                downmix(black_box(&input), 2, &mut out).expect("whole stereo frames");
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = encode_s16le, resample, downmix_stereo
}
criterion_main!(benches);
