//! Sample conversion kernels: f32 and i16 → signed 16-bit little-endian bytes.
//!
//! # Clipping contract (f32 → i16)
//!
//! A sample `x` maps to `round_ties_even(x × 32768)` clamped to `[-32768, 32767]`:
//!
//! | input | output |
//! |---|---|
//! | −1.0 and below, −∞ | −32768 (`i16::MIN`) |
//! | 0.0, −0.0 | 0 |
//! | `32767 / 32768` | 32767 |
//! | the largest f32 below 1.0, 1.0, anything above, +∞ | 32767 (`i16::MAX`) |
//! | NaN (any payload) | 0 |
//!
//! The scale 32768 (not 32767) makes i16 → f32 (`i / 32768`) → i16 lossless, the same
//! convention as dasp's sample conversions. NaN becomes silence rather than a rail, so
//! a numerical bug upstream is heard as a gap, not as a full-scale click.
//!
//! # Fast paths and reference
//!
//! [`f32_to_s16le`] picks, once per call, the fastest kernel the CPU runs: AVX2 (16
//! samples a step) or SSE2 (8, every x86-64 CPU) in [`x86`](self), else a portable
//! loop. The portable loop is written so that LLVM vectorises it: a plain `as i16` cast
//! saturates per lane with compare-and-branch code and runs about 4× slower, so the
//! clamp is done in f32, and rounding adds 1.5 × 2²³ so that the integer lands in the
//! low mantissa bits, where `to_bits` reads it without a float → int conversion.
//! [`reference`](mod@reference) is the obvious per-sample version; the tests hold every
//! kernel the CPU supports equal to it on every length and offset, over the whole i16
//! range, and on every boundary in the table above.

use std::mem::MaybeUninit;

/// The f32 → i16 scale: full scale is ±1.0.
pub const SCALE: f32 = 32_768.0;

/// 1.5 × 2²³: adding it to a value in [−2²², 2²²] rounds the value to an integer (ties to
/// even) and leaves that integer, in two's complement, in the low 16 mantissa bits.
const ROUNDING_MAGIC: f32 = 12_582_912.0;

/// One sample by the clipping contract; written to vectorise (see the module doc).
#[inline(always)]
fn encode_sample(x: f32) -> i16 {
    // Compare-and-select forms that map to `cmpunordps`/`maxps`/`minps`; `f32::clamp`
    // would add NaN handling we have already done.
    let x = if x.is_nan() { 0.0 } else { x * SCALE };
    let x = if x < -SCALE { -SCALE } else { x };
    let x = if x > SCALE - 1.0 { SCALE - 1.0 } else { x };
    // The low mantissa bits now hold the rounded integer; subtracting the magic's own
    // bits leaves it as an i32 in [-32768, 32767]. The clamp cannot change it, but it
    // lets LLVM pack eight lanes to i16 with one saturating `packssdw`.
    let rounded = (x + ROUNDING_MAGIC).to_bits() as i32 - ROUNDING_MAGIC.to_bits() as i32;
    rounded.clamp(i16::MIN.into(), i16::MAX.into()) as i16
}

/// Encodes f32 samples as s16le into `out`, by the clipping contract above.
///
/// `out` may be uninitialised; every byte of it is written.
///
/// # Panics
///
/// If `out.len() != 2 * samples.len()`: the caller sized the buffer wrongly.
pub fn f32_to_s16le(samples: &[f32], out: &mut [MaybeUninit<u8>]) {
    f32_to_s16le_with(Kernel::best(), samples, out);
}

/// The implementations of [`f32_to_s16le`]; all follow the same contract, and the tests
/// hold every one the CPU supports to [`reference`](mod@reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// Auto-vectorised [`encode_sample`]: any target.
    Portable,
    /// SSE2, 8 samples a step: every x86-64 CPU.
    #[cfg(target_arch = "x86_64")]
    Sse2,
    /// AVX2, 16 samples a step, then SSE2 for the rest: x86-64 CPUs since 2013.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU runs. The feature check is a cached load.
    fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Kernel::Avx2;
        } else {
            return Kernel::Sse2;
        }
        #[allow(unreachable_code)]
        Kernel::Portable
    }
}

fn f32_to_s16le_with(kernel: Kernel, samples: &[f32], out: &mut [MaybeUninit<u8>]) {
    assert_eq!(out.len(), samples.len() * 2, "output must hold 2 bytes per sample");
    let (pairs, _) = out.as_chunks_mut::<2>();
    let (samples, pairs) = match kernel {
        Kernel::Portable => (samples, pairs),
        // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it.
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => unsafe { x86::sse2_blocks(samples, pairs) },
        // SAFETY: `Kernel::Avx2` is only chosen (by `best` or a test) on a CPU with AVX2;
        // SSE2 is part of the x86-64 baseline.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe {
            let (samples, pairs) = x86::avx2_blocks(samples, pairs);
            x86::sse2_blocks(samples, pairs)
        },
    };
    // The portable loop; after a SIMD kernel it only sees the last 0–7 samples.
    for (dst, &x) in pairs.iter_mut().zip(samples) {
        *dst = encode_sample(x).to_le_bytes().map(MaybeUninit::new);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86;

/// Encodes i16 samples as s16le into `out`: a byte-order copy, a plain `memcpy` on
/// little-endian targets.
///
/// # Panics
///
/// If `out.len() != 2 * samples.len()`.
pub fn i16_to_s16le(samples: &[i16], out: &mut [MaybeUninit<u8>]) {
    assert_eq!(out.len(), samples.len() * 2, "output must hold 2 bytes per sample");
    let (pairs, _) = out.as_chunks_mut::<2>();
    for (dst, &x) in pairs.iter_mut().zip(samples) {
        *dst = x.to_le_bytes().map(MaybeUninit::new);
    }
}

/// Decodes s16le bytes back into i16 samples; a trailing odd byte is ignored.
pub fn s16le_to_i16(bytes: &[u8]) -> impl Iterator<Item = i16> + '_ {
    bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]))
}

/// The i16 → f32 inverse of the contract: `i / 32768`, exact for every i16.
pub fn i16_to_f32(x: i16) -> f32 {
    f32::from(x) / SCALE
}

/// Plain per-sample versions of the kernels: the specification the fast paths are tested
/// against, and the "before" in the encode bench's history.
pub mod reference {
    use super::SCALE;

    /// One sample by the clipping contract, written the obvious way.
    pub fn encode_sample(x: f32) -> i16 {
        if x.is_nan() {
            return 0;
        }
        // `as` saturates, which is the clamp.
        (x * SCALE).round_ties_even() as i16
    }

    /// f32 → s16le into a fresh `Vec`, one sample at a time.
    pub fn f32_to_s16le(samples: &[f32]) -> Vec<u8> {
        samples.iter().flat_map(|&x| encode_sample(x).to_le_bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel this CPU can run, so the tests hold each one to the contract, not
    /// only the one `f32_to_s16le` picks here.
    fn kernels() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            kernels.push(Kernel::Sse2);
            if std::arch::is_x86_feature_detected!("avx2") {
                kernels.push(Kernel::Avx2);
            }
        }
        kernels
    }

    /// Runs a kernel into a fresh buffer the way `ChunkEncoder` does.
    fn run_with(kernel: Kernel, samples: &[f32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(samples.len() * 2);
        f32_to_s16le_with(kernel, samples, &mut out.spare_capacity_mut()[..samples.len() * 2]);
        // SAFETY: the kernel initialises every byte of the slice it is given.
        unsafe { out.set_len(samples.len() * 2) };
        out
    }

    /// `x` encoded by `kernel`, checked to be the same in every position of a block long
    /// enough for the widest kernel and its tails (16 + 8 + 1 samples).
    fn one(kernel: Kernel, x: f32) -> i16 {
        let decoded: Vec<i16> = s16le_to_i16(&run_with(kernel, &[x; 25])).collect();
        assert!(decoded.iter().all(|&v| v == decoded[0]), "{kernel:?}, {x:e}: {decoded:?}");
        decoded[0]
    }

    #[test]
    fn the_default_kernel_is_one_of_the_tested_ones() {
        assert!(kernels().contains(&Kernel::best()));
    }

    #[test]
    fn clipping_contract_at_the_boundaries() {
        let below_one = 1.0_f32.next_down();
        let cases = [
            (-f32::INFINITY, i16::MIN),
            (-2.0, i16::MIN),
            (-1.0, i16::MIN),
            (-1.0 + 1.0 / 32768.0, -32767),
            (-0.0, 0),
            (0.0, 0),
            (0.5 / 32768.0, 0), // a tie rounds to even
            (1.5 / 32768.0, 2), // a tie rounds to even
            (0.5, 16384),
            (32767.0 / 32768.0, i16::MAX),
            (below_one, i16::MAX),
            (1.0, i16::MAX),
            (1.5, i16::MAX),
            (f32::MAX, i16::MAX),
            (f32::INFINITY, i16::MAX),
            (f32::NAN, 0),
            (-f32::NAN, 0),
            (f32::from_bits(0x7fc0_0001), 0), // NaN with a payload
        ];
        for (x, want) in cases {
            assert_eq!(reference::encode_sample(x), want, "reference, input {x:e}");
            for kernel in kernels() {
                assert_eq!(one(kernel, x), want, "{kernel:?}, input {x:e} ({:#010x})", x.to_bits());
            }
        }
    }

    /// Every kernel and the reference agree on every length up to several vector widths
    /// and at every offset into the input, which exercises the loops' tails.
    #[test]
    fn fast_path_matches_reference_for_every_length_and_offset() {
        let mut rng = 0x2545_f491_u32;
        let specials = [f32::NAN, f32::INFINITY, -f32::INFINITY, 1.0, -1.0, 0.0, 2.0, -2.0];
        let input: Vec<f32> = (0..200)
            .map(|i| {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                if i % 7 == 0 {
                    specials[i % specials.len()]
                } else {
                    (rng as f32 / u32::MAX as f32) * 2.4 - 1.2
                }
            })
            .collect();
        for kernel in kernels() {
            for offset in 0..16 {
                for len in 0..(input.len() - offset) {
                    let slice = &input[offset..offset + len];
                    assert_eq!(
                        run_with(kernel, slice),
                        reference::f32_to_s16le(slice),
                        "{kernel:?}, offset {offset}, length {len}"
                    );
                }
            }
        }
    }

    /// Every f32 that can come from an i16 (and the ±0.5 LSB neighbourhoods in between)
    /// is encoded identically by both paths: an exhaustive check over the whole range.
    #[test]
    fn fast_path_matches_reference_over_the_full_i16_range() {
        let input: Vec<f32> = (i32::from(i16::MIN)..=i32::from(i16::MAX))
            .flat_map(|i| {
                let x = i as f32 / SCALE;
                [x, x + 0.5 / SCALE, x - 0.5 / SCALE, x + 0.49 / SCALE]
            })
            .collect();
        let want = reference::f32_to_s16le(&input);
        for kernel in kernels() {
            assert!(run_with(kernel, &input) == want, "{kernel:?} differs from the reference");
        }
    }

    #[test]
    fn i16_to_bytes_to_i16_is_lossless() {
        let all: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        let mut out = Vec::with_capacity(all.len() * 2);
        i16_to_s16le(&all, &mut out.spare_capacity_mut()[..all.len() * 2]);
        // SAFETY: the kernel initialises every byte of the slice it is given.
        unsafe { out.set_len(all.len() * 2) };
        assert_eq!(s16le_to_i16(&out).collect::<Vec<_>>(), all);
    }

    #[test]
    fn i16_to_f32_to_i16_is_lossless() {
        let all: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        let floats: Vec<f32> = all.iter().map(|&i| i16_to_f32(i)).collect();
        for kernel in kernels() {
            let back: Vec<i16> = s16le_to_i16(&run_with(kernel, &floats)).collect();
            assert!(back == all, "{kernel:?}");
        }
    }

    #[test]
    #[should_panic(expected = "2 bytes per sample")]
    fn wrongly_sized_output_is_a_caller_bug() {
        f32_to_s16le(&[0.0; 4], &mut [MaybeUninit::uninit(); 7]);
    }
}
