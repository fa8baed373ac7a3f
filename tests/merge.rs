//! `sttbench merge` over interval logs written by several recorders: the merge equals one
//! recorder of everything, another HdrHistogram implementation reads the same files and
//! agrees, and unusable logs are errors naming the file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::Scratch;
use sttbench::metrics::LatencyHistogram;
use sttbench::metrics::interval_log::{HdrLogWriter, LATENESS};
use sttbench::signal::Signal;

const RECORDERS: u64 = 3;
const INTERVALS: u64 = 4;

fn sttbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sttbench")).args(args).output().expect("the binary runs")
}

/// `count` lateness-like values, 20 µs to 20 ms, log-uniform, drawn from the seeded
/// noise signal; recorder `n` takes the `n`-th run of them.
fn latencies(recorder: u64, count: usize) -> Vec<Duration> {
    let noise = Signal::Noise.generate(16_000, (recorder as usize + 1) * count);
    let unit = |x: f32| (f64::from(x) + 1.0) / 2.0;
    let nanos = |x: f32| (2e4 * 1e3_f64.powf(unit(x))) as u64;
    noise[recorder as usize * count..].iter().map(|&x| Duration::from_nanos(nanos(x))).collect()
}

/// Several recorders, each writing its own log of one-second intervals the way a run
/// does; returns the log paths and one histogram that recorded everything.
fn write_logs(scratch: &Scratch) -> (Vec<PathBuf>, LatencyHistogram) {
    let mut everything = LatencyHistogram::new();
    let mut paths = Vec::new();
    for recorder in 0..RECORDERS {
        let path = scratch.path(&format!("out-{recorder}.hdr"));
        let mut log = HdrLogWriter::create(&path, SystemTime::now()).unwrap();
        let per_interval = 1_000 + 250 * recorder as usize;
        let mut draws = latencies(recorder, INTERVALS as usize * per_interval).into_iter();
        let mut lateness = LatencyHistogram::new();
        for second in 0..INTERVALS {
            for _ in 0..per_interval {
                let late = draws.next().unwrap();
                lateness.record(late);
                everything.record(late);
            }
            let interval = Duration::from_secs(second)..Duration::from_secs(second + 1);
            log.write(LATENESS, interval, &lateness).unwrap();
            lateness.clear();
        }
        paths.push(path);
    }
    (paths, everything)
}

fn args<'a>(first: &[&'a str], paths: &'a [PathBuf]) -> Vec<&'a str> {
    first.iter().copied().chain(paths.iter().map(|p| p.to_str().unwrap())).collect()
}

#[test]
fn merge_equals_one_recorder_of_everything() {
    let scratch = Scratch::new("merge-cli");
    let (paths, everything) = write_logs(&scratch);
    let out = sttbench(&args(&["merge", "--json"], &paths));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = everything.summary();
    let ns = |d: Duration| d.as_nanos() as u64;
    assert_eq!(json["tag"], "lateness", "the default tag");
    assert_eq!(json["intervals"], RECORDERS * INTERVALS);
    assert_eq!(json["count"], want.count);
    assert_eq!(json["p50_ns"], ns(want.p50));
    assert_eq!(json["p99_ns"], ns(want.p99));
    assert_eq!(json["max_ns"], ns(want.max));

    let text = sttbench(&args(&["merge", "--tag", "lateness"], &paths));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(&format!("count    {}", want.count)), "{text}");
    assert!(text.contains("p99") && text.contains("max"), "{text}");
}

/// Python's `hdrhistogram` package, when importable (`STTBENCH_PYTHON`, else `python3`).
/// CI installs it and sets `STTBENCH_REQUIRE_PYTHON_HDRH`, which turns its absence into
/// a failure; elsewhere the check is skipped with a message.
fn python_with_hdrh() -> Option<String> {
    let python = std::env::var("STTBENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import hdrh.log"])
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        return Some(python);
    }
    let hint = "`pip install hdrhistogram` (or point STTBENCH_PYTHON at a Python that has it)";
    assert!(
        std::env::var_os("STTBENCH_REQUIRE_PYTHON_HDRH").is_none(),
        "STTBENCH_REQUIRE_PYTHON_HDRH is set but {python} cannot import hdrh: {hint}"
    );
    eprintln!("skipped: {python} cannot import Python's hdrhistogram package; {hint}");
    None
}

#[test]
fn another_hdrhistogram_implementation_reads_the_logs_and_agrees() {
    let Some(python) = python_with_hdrh() else { return };
    let scratch = Scratch::new("merge-python");
    let (paths, _) = write_logs(&scratch);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/read_hdr_logs.py");
    let theirs = Command::new(&python)
        .arg(&script)
        .args(args(&[LATENESS], &paths))
        .output()
        .expect("python runs");
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    let theirs: serde_json::Value = serde_json::from_slice(&theirs.stdout).unwrap();
    let ours = sttbench(&args(&["merge", "--json"], &paths));
    let ours: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
    for field in ["intervals", "count", "p50_ns", "p99_ns", "max_ns"] {
        assert_eq!(theirs[field], ours[field], "{field}: Python {theirs} vs sttbench {ours}");
    }
}

#[test]
fn unusable_input_is_an_error_naming_the_file() {
    let scratch = Scratch::new("merge-bad");
    let (paths, _) = write_logs(&scratch);
    let wav = scratch.path("speech.wav");
    std::fs::write(&wav, b"RIFF\x24\0\0\0WAVEfmt ").unwrap();
    let out = sttbench(&args(&["merge"], &[paths[0].clone(), wav]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("speech.wav: not an HdrHistogram interval log"), "{stderr}");

    let out = sttbench(&args(&["merge", "--tag", "final_lag"], &paths));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no log holds intervals tagged \"final_lag\""), "{stderr}");
    assert!(stderr.contains("they hold: lateness"), "{stderr}");

    let out = sttbench(&["merge"]);
    assert_eq!(out.status.code(), Some(2), "no logs is a usage error");
}
