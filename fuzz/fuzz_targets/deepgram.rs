#![no_main]
//! A frame (and a close code and reason) from a Deepgram server, parsed into an event.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sttbench::fuzzing::deepgram(data);
});
