#![no_main]
//! A baseline or BMF file's bytes, read and validated as one side of a comparison.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sttbench::fuzzing::baseline(data);
});
