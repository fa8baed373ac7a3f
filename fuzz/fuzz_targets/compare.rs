#![no_main]
//! The verdict on two arbitrary result files (and a re-run and settings), reports rendered.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sttbench::fuzzing::compare(data);
});
