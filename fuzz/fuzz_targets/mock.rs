#![no_main]
//! A client of a mock provider: its upgrade request, query, headers and frames.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sttbench::fuzzing::mock(data);
});
