#![no_main]
//! A Bencher Metric Format file's bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sttbench::fuzzing::bmf(data);
});
