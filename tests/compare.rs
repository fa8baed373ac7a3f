//! `sttbench compare` and `sttbench baseline collect` through the real binary: exit
//! status 0 for no regression, 1 for a regression, 2 for broken input with the file and
//! problem named, and the reports a nightly job leaves behind.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Scratch, criterion_dir, encode_runs};

fn sttbench(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn collect(dir: &Path, out: &Path) {
    let o = sttbench(&[
        &"baseline",
        &"collect",
        &"--criterion",
        &dir,
        &"--out",
        &out,
        &"--commit",
        &"abc",
        &"--setting",
        &"sample-size=10",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn the_same_results_pass_with_status_0_and_a_readable_report() {
    let s = Scratch::new("cmp-aa");
    let old = criterion_dir(&s.path("old"), &encode_runs(100.0, 50.0));
    let new = criterion_dir(&s.path("new"), &encode_runs(101.0, 50.5));
    let (md, json) = (s.path("out/report.md"), s.path("out/report.json"));
    let o = sttbench(&[&"compare", &old, &new, &"--markdown", &md, &"--json", &json]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = stdout(&o);
    assert!(report.starts_with("## sttbench: no regression"), "{report}");
    assert!(report.contains("Every benchmark is unchanged."), "{report}");
    assert!(
        report.contains("<details><summary>3 unchanged, floor and not-measured rows</summary>"),
        "{report}"
    );
    assert!(
        report.contains(
            "| unchanged | `encode_s16le/sine/20ms` | latency | 100.00 ns | 101.00 ns | +0.0 %"
        ),
        "{report}"
    );
    assert_eq!(std::fs::read_to_string(&md).unwrap(), report);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["rows"].as_array().unwrap().len(), 3, "throughput rows are not judged");
}

#[test]
fn a_floor_normalised_slowdown_fails_with_status_1_and_leads_the_report() {
    let s = Scratch::new("cmp-slow");
    let old = criterion_dir(&s.path("old"), &encode_runs(100.0, 50.0));
    let new = criterion_dir(&s.path("new"), &encode_runs(125.0, 50.0));
    let (json, filter) = (s.path("report.json"), s.path("rerun-filter"));
    let o = sttbench(&[&"compare", &old, &new, &"--json", &json, &"--rerun-filter", &filter]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report = stdout(&o);
    let first_row =
        report.lines().find(|l| l.starts_with("| ") && !l.starts_with("| Verdict")).unwrap();
    assert!(
        first_row.starts_with("| **regressed** | `encode_s16le/sine/20ms` | latency"),
        "{report}"
    );
    assert!(
        first_row.contains("+25.0 %") && first_row.contains("÷ `encode_s16le/memcpy_floor/20ms`"),
        "{first_row}"
    );
    assert_eq!(
        std::fs::read_to_string(&filter).unwrap(),
        "^(encode_s16le/memcpy_floor/20ms|encode_s16le/sine/20ms)$"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        (json["status"].as_str(), json["counts"]["regressed"].as_u64()),
        (Some("regressed"), Some(1))
    );
}

#[test]
fn a_slowdown_that_does_not_reproduce_on_the_rerun_passes() {
    let s = Scratch::new("cmp-rerun");
    let old = criterion_dir(&s.path("old"), &encode_runs(100.0, 50.0));
    let new = criterion_dir(&s.path("new"), &encode_runs(125.0, 50.0));
    let again = criterion_dir(&s.path("again"), &encode_runs(102.0, 50.0));
    let o = sttbench(&[&"compare", &old, &new, &"--rerun", &again]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("| not reproduced | `encode_s16le/sine/20ms`"), "{}", stdout(&o));
    let reproduced = criterion_dir(&s.path("reproduced"), &encode_runs(126.0, 50.0));
    let filter = s.path("still-flagged");
    let o = sttbench(&[
        &"compare",
        &old,
        &new,
        &"--rerun",
        &reproduced,
        &"--quiet",
        &"--rerun-filter",
        &filter,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "--quiet prints nothing");
    assert!(std::fs::read_to_string(&filter).unwrap().contains("encode_s16le/sine/20ms"));
    // Every re-run is a new process: one that does not reproduce clears the timing.
    let o = sttbench(&[
        &"compare",
        &old,
        &new,
        &"--rerun",
        &reproduced,
        &"--rerun",
        &again,
        &"--rerun-filter",
        &filter,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("re-run +2.0 %"),
        "the most favourable re-run is shown: {}",
        stdout(&o)
    );
    assert_eq!(std::fs::read_to_string(&filter).unwrap(), "", "nothing left to re-run");
}

#[test]
fn baselines_round_trip_through_collect_and_compare_against_bmf_counts() {
    let s = Scratch::new("cmp-baseline");
    let dir = criterion_dir(&s.path("criterion"), &encode_runs(100.0, 50.0));
    let memory = s.path("memory.json");
    std::fs::write(&memory, r#"{"memory/encode/20ms": {"allocs-per-chunk": {"value": 0}}}"#)
        .unwrap();
    let base = s.path("baselines/main.json");
    let o = sttbench(&[
        &"baseline",
        &"collect",
        &"--criterion",
        &dir,
        &"--bmf",
        &memory,
        &"--out",
        &base,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&base).unwrap();
    assert!(
        text.contains("\"schema\": \"sttbench-baseline\"") && text.contains("\"cpu_model\""),
        "{text}"
    );
    let same = sttbench(&[&"compare", &base, &dir, &"--quiet"]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    std::fs::write(&memory, r#"{"memory/encode/20ms": {"allocs-per-chunk": {"value": 1}}}"#)
        .unwrap();
    let o = sttbench(&[&"compare", &base, &memory]);
    assert_eq!(o.status.code(), Some(1), "one more allocation per chunk: {}", stdout(&o));
    assert!(stdout(&o).contains("Not measured in the new run: latency;"), "{}", stdout(&o));
    assert!(
        stdout(&o)
            .contains("| **regressed** | `memory/encode/20ms` | allocs-per-chunk | 0 | 1 | from 0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn timings_from_a_busy_host_are_reported_not_failed() {
    let s = Scratch::new("cmp-busy");
    let quiet = criterion_dir(&s.path("quiet"), &encode_runs(100.0, 50.0));
    let busy = criterion_dir(&s.path("busy"), &encode_runs(100.0, 50.0));
    common::criterion_run(&busy, "resample/48k_to_16k/20ms", 8000.0, 0.01);
    let (base, new) = (s.path("base.json"), s.path("new.json"));
    collect(&quiet, &base);
    let o = sttbench(&[
        &"baseline",
        &"collect",
        &"--criterion",
        &busy,
        &"--out",
        &new,
        &"--host-time-lost",
        &"0.01",
        &"--host-time-lost",
        &"0.3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = sttbench(&[&"compare", &base, &new]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let report = stdout(&o);
    assert!(report.contains("| host busy | `resample/48k_to_16k/20ms` | latency |"), "{report}");
    assert!(report.contains("The host was busy (host load: new 30.0 %"), "{report}");
}

#[test]
fn broken_inputs_exit_2_and_name_the_file_and_problem() {
    let s = Scratch::new("cmp-broken");
    let good = criterion_dir(&s.path("good"), &encode_runs(100.0, 50.0));
    let corrupt = s.path("corrupt.json");
    std::fs::write(&corrupt, "{\"schema\": \"sttbench-baseline\", \"schema_vers").unwrap();
    let future = s.path("future.json");
    std::fs::write(
        &future,
        r#"{"schema": "sttbench-baseline", "schema_version": 2, "results": {}}"#,
    )
    .unwrap();
    let not_bmf = s.path("not-bmf.json");
    std::fs::write(&not_bmf, r#"{"a": {"latency": {"val": 1}}}"#).unwrap();
    let empty = s.path("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let negative = s.path("negative.json");
    std::fs::write(&negative, r#"{"a/b/c": {"latency": {"value": -3}}}"#).unwrap();
    let half_run = criterion_dir(&s.path("half-run"), &encode_runs(100.0, 50.0));
    std::fs::write(half_run.join("encode_s16le/sine/20ms/new/estimates.json"), "{\"median\": {")
        .unwrap();
    let cases: [(&Path, &str); 7] = [
        (&s.path("absent.json"), "cannot read the file"),
        (&corrupt, "not valid JSON"),
        (&future, "schema version 2"),
        (&not_bmf, "neither a baseline file nor Bencher Metric Format"),
        (&empty, "holds no results"),
        (&negative, "`a/b/c` measure `latency` is a timing that is not positive"),
        (&half_run.join("encode_s16le/sine/20ms/new/estimates.json"), "not criterion 0.8 output"),
    ];
    for (path, problem) in cases {
        let input = if path.ends_with("estimates.json") { half_run.as_path() } else { path };
        for args in [[&good as &dyn AsRef<std::ffi::OsStr>, &input], [&input, &good]] {
            let o = sttbench(&[&"compare", args[0], args[1]]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{}: {err}", path.display());
            assert!(err.contains(&path.display().to_string()) && err.contains(problem), "{err}");
            assert!(stdout(&o).is_empty(), "no verdict from broken input");
        }
    }
}

#[test]
fn nonsense_thresholds_are_usage_errors_with_status_2() {
    let o = sttbench(&[&"compare", &"a.json", &"b.json", &"--noise-threshold=-3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`-3` is not a percentage"), "{}", stderr(&o));
}

#[test]
fn collect_refuses_a_missing_source_and_writes_nothing() {
    let s = Scratch::new("cmp-collect");
    let out = s.path("out.json");
    let o = sttbench(&[
        &"baseline",
        &"collect",
        &"--criterion",
        &s.path("no-such-dir"),
        &"--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no-such-dir") && stderr(&o).contains("not a directory"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let plain = s.path("plain.json");
    let dir = criterion_dir(&s.path("criterion"), &encode_runs(100.0, 50.0));
    collect(&dir, &s.path("with-meta.json"));
    let o =
        sttbench(&[&"baseline", &"collect", &"--criterion", &dir, &"--out", &plain, &"--plain"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bmf = sttbench::bmf::Bmf::read(&plain).unwrap();
    assert!(
        bmf.get("encode_s16le/sine/20ms", "bytes-per-second").is_some(),
        "plain BMF keeps rates for trend tools"
    );
}
