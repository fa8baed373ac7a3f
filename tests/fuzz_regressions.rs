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

/// Every input a fuzzer once crashed on, kept in `tests/fuzz_regressions/TARGET/`: each
/// entry point now returns (an error or a value) instead of panicking. None so far; the
/// hostile inputs below pin the errors the readers give where the fuzzers probed.
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

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_wav_cut_anywhere_is_a_clean_error() {
    let whole = seed("wav", "seed-tone-8bit-8000Hz-stereo.wav");
    // Every cut of the header, and cuts inside the data that leave half a frame.
    for len in (0..60).chain([whole.len() - 1]) {
        let err = fuzzing::wav(&whole[..len]).expect_err("a truncated file");
        let text = err.to_string();
        assert!(text.contains("fuzz-input"), "{len} bytes: names the input: {text}");
        assert!(text.contains("truncated") || text.contains("WAV"), "{len} bytes: {text}");
    }
    let mut no_channels = whole.clone();
    no_channels[22..24].copy_from_slice(&0u16.to_le_bytes());
    assert!(fuzzing::wav(&no_channels).is_err(), "a header with 0 channels");
}

#[test]
fn absurd_provider_times_are_unknown_messages_not_panics() {
    let results =
        r#"{"type":"Results","start":1e308,"duration":1e308,"channel":{"alternatives":[]}}"#;
    assert!(matches!(fuzzing::deepgram(results.as_bytes()), Event::Unknown(_)));
    let negative = r#"{"type":"SpeechStarted","timestamp":-1}"#;
    assert!(matches!(fuzzing::deepgram(negative.as_bytes()), Event::Unknown(_)));
    let turn = r#"{"type":"Turn","turn_order":4294967296,"end_of_turn":true,"transcript":"x","words":[{"start":-5,"end":1e300,"text":"x"}]}"#;
    let _ = fuzzing::assemblyai(turn.as_bytes());
}

#[test]
fn a_mock_cuts_a_long_close_reason_to_a_close_frame() {
    // AssemblyAI answers a bad text frame with 3006 and the frame in the reason.
    let input = format!("assemblyai\n/v3/ws\nAuthorization: k\n\nt{}", "é".repeat(500));
    let replies = fuzzing::mock(input.as_bytes()).expect("served");
    let close = replies.iter().find_map(|m| match m {
        tokio_tungstenite::tungstenite::Message::Close(Some(frame)) => Some(frame),
        _ => None,
    });
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 3006);
    assert!(close.reason.len() <= 123, "{}", close.reason.len());
}

#[test]
fn a_mock_refuses_unusable_requests_with_a_reason() {
    let bad_uri = fuzzing::mock(b"deepgram\n/v1/listen?\x7f bad uri\n\n").expect_err("a bad URI");
    assert!(bad_uri.contains("not a request"), "{bad_uri}");
    let wrong_path = fuzzing::mock(b"deepgram\n/v2/listen\nAuthorization: Token k\n\n");
    assert!(wrong_path.expect_err("404").contains("404"));
    let no_provider = fuzzing::mock(b"whisper\n/\n\n").expect_err("an unknown provider");
    assert!(!no_provider.is_empty());
    // Absurd query values are clamped or ignored, never a panic.
    let absurd = b"deepgram\n/v1/listen?sample_rate=4294967295&channels=65535&endpointing=18446744073709551615&utterance_end_ms=18446744073709551615\nAuthorization: Token k\n\nb\x01\x02\x03\n====\nt{\"type\":\"CloseStream\"}";
    fuzzing::mock(absurd).expect("served");
}

#[test]
fn broken_result_files_are_errors_that_say_what_is_wrong() {
    let no_estimates = seed("criterion", "seed-run.txt");
    let benchmark = &no_estimates[..no_estimates.iter().position(|&b| b == b'\n').unwrap()];
    let err = fuzzing::criterion(benchmark).expect_err("no estimates.json").to_string();
    assert!(err.contains("estimates.json"), "{err}");

    let bmf = r#"{"b": {"latency": {"value": -1.0}}}"#;
    let sep = fuzzing::SEPARATOR;
    let err = fuzzing::compare(format!("{bmf}{sep}{bmf}").as_bytes()).expect_err("negative");
    assert!(err.to_string().contains("not positive"), "{err}");

    let ok = r#"{"b": {"latency": {"value": 1.0}}}"#;
    let err = fuzzing::compare(format!("{ok}{sep}{ok}{sep}{sep}filter=(").as_bytes())
        .expect_err("a filter that is not a regex");
    assert!(err.to_string().contains("not a regular expression"), "{err}");

    let err = fuzzing::baseline(b"{\"schema\":\"sttbench-baseline\",\"schema_version\":99}")
        .expect_err("a future schema");
    assert!(err.to_string().contains("schema version 99"), "{err}");
    assert!(fuzzing::bmf(&[0xff, 0xfe]).is_err(), "not UTF-8");
}
