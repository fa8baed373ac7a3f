//! The x86-64 fast paths of `f32_to_s16le`: SSE2 (every x86-64 CPU) and AVX2.
//!
//! Auto-vectorisation of the scalar `encode_sample` packs 4 lanes per step and needs a
//! rounding trick; here `cvtps2dq` rounds to nearest even by itself (the default MXCSR
//! mode, which Rust requires) and `packssdw` saturates to i16 in one instruction, so
//! SSE2 takes about half the instructions per sample and AVX2 about a quarter.
//!
//! Per lane, both follow the contract in the parent module:
//!
//! - NaN → 0.0 by masking with an "ordered" compare;
//! - only the upper rail is clamped in f32: above `i32::MAX` `cvtps2dq` yields
//!   `i32::MIN`, the wrong rail; below `i32::MIN` it also yields `i32::MIN`, which
//!   `packssdw` saturates to `i16::MIN`, the right one.
//!
//! Each function encodes whole blocks and returns the input and output left over.

use std::arch::x86_64::{
    __m128, __m128i, __m256, __m256i, _CMP_ORD_Q, _mm_and_ps, _mm_cmpord_ps, _mm_cvtps_epi32,
    _mm_loadu_ps, _mm_min_ps, _mm_mul_ps, _mm_packs_epi32, _mm_set1_ps, _mm_storeu_si128,
    _mm256_and_ps, _mm256_cmp_ps, _mm256_cvtps_epi32, _mm256_loadu_ps, _mm256_min_ps,
    _mm256_mul_ps, _mm256_packs_epi32, _mm256_permute4x64_epi64, _mm256_set1_ps,
    _mm256_storeu_si256,
};
use std::mem::MaybeUninit;

use super::SCALE;

type Pair = [MaybeUninit<u8>; 2];

/// Blocks of 8 samples, two 4-lane vectors packed into one 16-byte store.
#[target_feature(enable = "sse2")]
pub(super) fn sse2_blocks<'s, 'o>(
    samples: &'s [f32],
    out: &'o mut [Pair],
) -> (&'s [f32], &'o mut [Pair]) {
    let (blocks, tail) = samples.as_chunks::<8>();
    let (out_blocks, out_tail) = out.as_chunks_mut::<8>();
    for (dst, src) in out_blocks.iter_mut().zip(blocks) {
        // SAFETY: `src` is 8 contiguous f32, read as two unaligned 4-lane loads.
        let (lo, hi) = unsafe { (_mm_loadu_ps(src.as_ptr()), _mm_loadu_ps(src[4..].as_ptr())) };
        let packed = _mm_packs_epi32(sse2_to_i32(lo), sse2_to_i32(hi));
        // SAFETY: `dst` is 8 pairs of bytes, 16 contiguous bytes: one unaligned store.
        unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast::<__m128i>(), packed) };
    }
    (tail, &mut out_tail[..])
}

#[target_feature(enable = "sse2")]
#[inline]
fn sse2_to_i32(x: __m128) -> __m128i {
    let scaled = _mm_and_ps(_mm_mul_ps(x, _mm_set1_ps(SCALE)), _mm_cmpord_ps(x, x));
    _mm_cvtps_epi32(_mm_min_ps(scaled, _mm_set1_ps(SCALE - 1.0)))
}

/// Blocks of 16 samples, two 8-lane vectors packed into one 32-byte store.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn avx2_blocks<'s, 'o>(
    samples: &'s [f32],
    out: &'o mut [Pair],
) -> (&'s [f32], &'o mut [Pair]) {
    let (blocks, tail) = samples.as_chunks::<16>();
    let (out_blocks, out_tail) = out.as_chunks_mut::<16>();
    for (dst, src) in out_blocks.iter_mut().zip(blocks) {
        // SAFETY: `src` is 16 contiguous f32, read as two unaligned 8-lane loads.
        let (lo, hi) =
            unsafe { (_mm256_loadu_ps(src.as_ptr()), _mm256_loadu_ps(src[8..].as_ptr())) };
        // `vpackssdw` packs within each 128-bit half, giving the 64-bit quarters in the
        // order lo[0..4], hi[0..4], lo[4..8], hi[4..8]; the permute puts them in order.
        let packed = _mm256_packs_epi32(avx2_to_i32(lo), avx2_to_i32(hi));
        let ordered = _mm256_permute4x64_epi64::<0b11_01_10_00>(packed);
        // SAFETY: `dst` is 16 pairs of bytes, 32 contiguous bytes: one unaligned store.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast::<__m256i>(), ordered) };
    }
    (tail, &mut out_tail[..])
}

#[target_feature(enable = "avx2")]
#[inline]
fn avx2_to_i32(x: __m256) -> __m256i {
    let ordered = _mm256_cmp_ps::<_CMP_ORD_Q>(x, x);
    let scaled = _mm256_and_ps(_mm256_mul_ps(x, _mm256_set1_ps(SCALE)), ordered);
    _mm256_cvtps_epi32(_mm256_min_ps(scaled, _mm256_set1_ps(SCALE - 1.0)))
}
