//! Memory layout under control, so that a CPU-bound bench measures the same thing in
//! every process.
//!
//! Layout effects made the encode benches switch speed from one process to the next on
//! this project's machine (x86-64, AVX-512 Xeon, glibc); `benches/encode.rs` gives the
//! figures. Each has a control here:
//!
//! - **The stack's page offset.** Linux randomises where the stack starts within a page
//!   (16-byte steps), so the timing loop's spills and return addresses land at a
//!   different offset in every process, and when they share their low 12 bits with the
//!   bytes a loop is loading (4K aliasing) every load waits for the store. [`StackSweep`]
//!   runs each sample at another offset across the whole page, so every process sees the
//!   same mix of offsets and the median sample is the common case. (Criterion 0.8 shifts
//!   the stack by the sample index, 0–99 bytes; a page is 4,096.)
//! - **Where the buffers are against each other.** Heap vectors land wherever the
//!   allocator's state puts them, which depends on everything allocated before
//!   (criterion's own, time-dependent buffers included): their alignment and their
//!   distance decide memcpy's speed, and whether the encoder's stores alias the input it
//!   loads next. [`Placed`] puts the input at a chosen page offset (half a page from the
//!   encoder's buffer) and the floor's destination half a page from the input: all
//!   64-byte aligned, in the same relation in every process.
//! - **The encoder's buffer's alignment.** `ChunkEncoder` starts its buffer on a 64-byte
//!   line (it used to take whatever the allocator gave, 16-byte aligned), so its 32-byte
//!   stores never split a cache line; [`aligned_encoder`] reports where it landed.

use std::hint::black_box;

use sttbench::encode::{ChunkEncoder, ChunkSpec};

/// A page on every machine this bench runs on (x86-64 and aarch64 Linux, macOS x86).
pub const PAGE: usize = 4096;
/// The granularity of the stack sweep: the stack pointer's alignment.
const STACK_STEP: usize = 16;
/// Sweep positions are visited in a scrambled order (97 is coprime with the 256
/// positions), so that consecutive samples are far apart on the page.
const STACK_STRIDE: usize = 97;

/// Runs each call at another stack offset, cycling over every 16-byte position of a page.
#[derive(Debug, Default)]
pub struct StackSweep {
    calls: usize,
}

impl StackSweep {
    /// Runs `f` with the stack lowered by the next offset of the sweep.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let positions = PAGE / STACK_STEP;
        let offset = (self.calls * STACK_STRIDE % positions) * STACK_STEP;
        self.calls += 1;
        alloca::with_alloca(offset, |pad| {
            black_box(pad);
            f()
        })
    }
}

/// One chunk of f32 input at a chosen offset within a page, and a destination for
/// copying it half a page further on: the same alignment mod 64 (memcpy's fast path),
/// and stores to the destination never share their low 12 bits with the input bytes
/// loaded soon after.
#[derive(Debug)]
pub struct Placed {
    arena: Vec<f32>,
    input: usize,
    dst: usize,
    len: usize,
}

impl Placed {
    /// Copies `samples` to `page_offset` (rounded down to 64 bytes) within a page.
    pub fn new(samples: &[f32], page_offset: usize) -> Placed {
        let page_offset = page_offset % PAGE / 64 * 64;
        let len = samples.len();
        let floats_per_page = PAGE / size_of::<f32>();
        let mut arena = vec![0.0_f32; 2 * len + 2 * floats_per_page];
        let at = |arena: &[f32], from: usize, page_offset: usize| {
            (from..)
                .find(|&i| (arena.as_ptr() as usize + i * size_of::<f32>()) % PAGE == page_offset)
                .expect("an arena a page larger than needed holds every offset")
        };
        let input = at(&arena, 0, page_offset);
        let dst = at(&arena, input + len, (page_offset + PAGE / 2) % PAGE);
        arena[input..input + len].copy_from_slice(samples);
        Placed { arena, input, dst, len }
    }

    /// The input.
    pub fn input(&self) -> &[f32] {
        &self.arena[self.input..self.input + self.len]
    }

    /// The input and the destination of the copy that is the floor.
    pub fn input_and_dst(&mut self) -> (&[f32], &mut [f32]) {
        let (head, tail) = self.arena.split_at_mut(self.dst);
        (&head[self.input..self.input + self.len], &mut tail[..self.len])
    }
}

/// An encoder, and the page offset of its buffer (where its chunks start), for
/// [`Placed`] to put the input half a page away. `ChunkEncoder` starts every reservation
/// on a 64-byte line itself.
pub fn aligned_encoder(spec: ChunkSpec) -> (ChunkEncoder, usize) {
    let mut encoder = ChunkEncoder::new(spec);
    // The first chunk is split off the start of the buffer, and every later one a whole
    // chunk (a multiple of 64 bytes) further on until the buffer is reclaimed in place at
    // the same start.
    let start = encoder.encode_f32(&vec![0.0; spec.samples()]).as_ptr() as usize;
    (encoder, start % PAGE)
}
