#![no_main]
//! WAV bytes: decoded and converted to the pipeline's format, an error or audio, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sttbench::fuzzing::wav(data);
});
