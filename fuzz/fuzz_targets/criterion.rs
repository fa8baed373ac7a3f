#![no_main]
//! A criterion run's benchmark.json and estimates.json.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sttbench::fuzzing::criterion(data);
});
