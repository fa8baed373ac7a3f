//! The fuzz targets' entry points (`sttbench::fuzzing`) under the normal test suite: the
//! committed seed corpus (`fuzz/corpus/TARGET/`) gives the results its inputs were made
//! for, and every input a fuzzer crashed on (`tests/fuzz_regressions/TARGET/`) now gives
//! a clean error. `scripts/fuzz.sh` runs the fuzzers themselves; this runs without
//! nightly or cargo-fuzz.

use std::path::{Path, PathBuf};

use sttbench::fuzzing;
use sttbench::provider::Event;

/// Every file under `dir` (relative to the repository root), sorted, with its bytes.
fn inputs(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> =
        entries.map(|e| e.expect("a listable directory").path()).collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

/// The seeds of `target`; a target without seeds is a broken corpus.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let seeds = inputs(&format!("fuzz/corpus/{target}"));
    assert!(!seeds.is_empty(), "fuzz/corpus/{target}/ holds no seeds");
    seeds
}

fn name(path: &Path) -> String {
    path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

#[test]
fn wav_seeds_decode_to_pipeline_audio() {
    for (path, bytes) in seeds("wav") {
        let audio = fuzzing::wav(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(audio.format, sttbench::encode::AudioFormat::PIPELINE);
        assert!(!audio.samples.is_empty(), "{}", path.display());
    }
}

#[test]
fn provider_seeds_are_known_messages() {
    for (target, parse) in
        [("deepgram", fuzzing::deepgram as fn(&[u8]) -> Event), ("assemblyai", fuzzing::assemblyai)]
    {
        for (path, bytes) in seeds(target) {
            let event = parse(&bytes);
            // Close-code seeds (`.bin`) are not JSON frames; they exercise the close mapping.
            if path.extension().is_some_and(|e| e == "json") {
                assert!(!matches!(event, Event::Unknown(_)), "{}: {event:?}", path.display());
            }
        }
    }
}

#[test]
fn mock_seeds_are_served_or_refused_as_named() {
    for (path, bytes) in seeds("mock") {
        let replies = fuzzing::mock(&bytes);
        if name(&path).contains("refused") {
            assert!(replies.is_err(), "{}: {replies:?}", path.display());
        } else {
            let replies = replies.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!replies.is_empty(), "{}: the mock said nothing", path.display());
        }
    }
}

#[test]
fn result_file_seeds_read_and_judge() {
    for (path, bytes) in seeds("bmf") {
        fuzzing::bmf(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for (path, bytes) in seeds("baseline") {
        fuzzing::baseline(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for (path, bytes) in seeds("criterion") {
        let bmf = fuzzing::criterion(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(bmf.get("encode/f32_to_s16le/20ms", "latency").is_some(), "{}", path.display());
    }
    for (path, bytes) in seeds("compare") {
        let report = fuzzing::compare(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(report.starts_with("## sttbench"), "{}: {report}", path.display());
    }
}

/// Every input a fuzzer once crashed on: each entry point returns (an error or a value)
/// instead of panicking. The fix and the error each gave are in the tests below.
#[test]
fn crash_inputs_no_longer_crash() {
    type Entry = fn(&[u8]) -> bool;
    let entries: [(&str, Entry); 8] = [
        ("wav", |b| fuzzing::wav(b).is_ok()),
        ("deepgram", |b| matches!(fuzzing::deepgram(b), Event::Unknown(_))),
        ("assemblyai", |b| matches!(fuzzing::assemblyai(b), Event::Unknown(_))),
        ("mock", |b| fuzzing::mock(b).is_ok()),
        ("bmf", |b| fuzzing::bmf(b).is_ok()),
        ("baseline", |b| fuzzing::baseline(b).is_ok()),
        ("criterion", |b| fuzzing::criterion(b).is_ok()),
        ("compare", |b| fuzzing::compare(b).is_ok()),
    ];
    for (target, entry) in entries {
        for (path, bytes) in inputs(&format!("tests/fuzz_regressions/{target}")) {
            let outcome = std::panic::catch_unwind(|| entry(&bytes));
            assert!(outcome.is_ok(), "{} panics again", path.display());
        }
    }
}
