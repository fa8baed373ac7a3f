//! `sttbench compare`, `sttbench paired` and `sttbench baseline` through the real binary:
//! exit status 0 for no regression, 1 for a regression or a missing benchmark, 2 for
//! broken input with the file and problem named, criterion's named baselines, the flags'
//! spellings, and the reports a nightly job leaves behind. The verdict rules themselves
//! are tested on the library in `tests/verdicts.rs`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Scratch, criterion_dir, encode_runs};

fn sttbench(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(args.iter().map(|a| a.as_ref()))
        .env_remove("CRITERION_HOME")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `sttbench baseline collect --criterion DIR --out OUT` with `extra` flags.
fn collect_with(dir: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"baseline", &"collect", &"--criterion", &dir, &"--out", &out];
    args.extend(extra.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
    sttbench(&args)
}

fn collect(dir: &Path, out: &Path) {
    let o = collect_with(dir, out, &["--commit", "abc", "--setting", "sample-size=10"]);
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
    assert!(report.contains("<details><summary>3 unchanged and floor rows</summary>"), "{report}");
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
    // The criterion run alone lacks the memory counts: missing, so it fails unless the
    // comparison is told to look at timings only, or to allow it.
    let same = sttbench(&[&"compare", &base, &dir, &"--quiet"]);
    assert_eq!(same.status.code(), Some(1), "{}", stderr(&same));
    for narrowed in ["--measure=latency", "--allow-missing"] {
        let o = sttbench(&[&"compare", &base, &dir, &"--quiet", &narrowed]);
        assert_eq!(o.status.code(), Some(0), "{narrowed}: {}", stderr(&o));
    }
    std::fs::write(&memory, r#"{"memory/encode/20ms": {"allocs-per-chunk": {"value": 1}}}"#)
        .unwrap();
    let o = sttbench(&[&"compare", &base, &memory, &"--measure", &"allocs-per-chunk"]);
    assert_eq!(o.status.code(), Some(1), "one more allocation per chunk: {}", stdout(&o));
    assert!(
        stdout(&o)
            .contains("| **regressed** | `memory/encode/20ms` | allocs-per-chunk | 0 | 1 | from 0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_busy_host_widens_the_threshold_but_a_doubled_time_still_fails() {
    let s = Scratch::new("cmp-busy");
    let quiet = criterion_dir(&s.path("quiet"), &encode_runs(100.0, 50.0));
    let base = s.path("base.json");
    collect(&quiet, &base);
    let busy_run = |name: &str, sine_ns: f64| {
        let dir = criterion_dir(&s.path(name), &encode_runs(sine_ns, 50.0));
        let out = s.path(&format!("{name}.json"));
        let o = collect_with(&dir, &out, &["--host-time-lost", "0.01", "--host-time-lost", "0.3"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        out
    };
    let o = sttbench(&[&"compare", &base, &busy_run("plus20", 120.0)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let report = stdout(&o);
    assert!(report.contains("| host busy | `encode_s16le/sine/20ms` | latency |"), "{report}");
    assert!(
        report.contains("host load: new 30.0 %") && report.contains("only above +50.0 %"),
        "{report}"
    );
    let o = sttbench(&[&"compare", &base, &busy_run("twice", 200.0)]);
    assert_eq!(o.status.code(), Some(1), "2× is beyond what the host explains: {}", stdout(&o));
}

#[test]
fn a_benchmark_missing_from_the_new_run_fails_unless_allowed_or_filtered_away() {
    let s = Scratch::new("cmp-missing");
    let old = criterion_dir(&s.path("old"), &encode_runs(100.0, 50.0));
    let new = criterion_dir(
        &s.path("new"),
        &[("encode_s16le/sine/20ms", 100.0), ("encode_s16le/memcpy_floor/20ms", 50.0)],
    );
    let o = sttbench(&[&"compare", &old, &new]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let report = stdout(&o);
    assert!(report.starts_with("## sttbench: regressed"), "{report}");
    let first_note = report.lines().find(|l| l.starts_with("> **Note:**")).unwrap();
    assert!(first_note.contains("`resample/48k_to_16k/20ms` (latency)"), "{report}");
    let o = sttbench(&[&"compare", &old, &new, &"--allow-missing"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = sttbench(&[&"compare", &old, &new, &"--filter", &"^encode_s16le/sine/"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("memcpy_floor"), "a selected bench keeps its floor");
}

#[test]
fn criterion_named_baselines_compare_by_name_like_critcmp() {
    let s = Scratch::new("cmp-named");
    let home = s.path("criterion");
    for (id, before, after) in
        [("encode_s16le/sine/20ms", 100.0, 130.0), ("encode_s16le/memcpy_floor/20ms", 50.0, 50.0)]
    {
        common::criterion_saved(&home, id, "before", before, 0.01);
        common::criterion_saved(&home, id, "new", after, 0.01);
    }
    let run = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        Command::new(env!("CARGO_BIN_EXE_sttbench"))
            .args(args.iter().map(|a| a.as_ref()))
            .env("CRITERION_HOME", &home)
            .output()
            .unwrap()
    };
    let o = run(&[&"compare", &"before", &"new"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("| **regressed** | `encode_s16le/sine/20ms` | latency"),
        "{}",
        stdout(&o)
    );
    let o = run(&[&"compare", &"before", &"before"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&[&"compare", &"after", &"new"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("no criterion baseline `after` (found: before, new)")
            && err.contains("--save-baseline after"),
        "{err}"
    );
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
fn thresholds_are_fractions_as_criterion_spells_them_or_percentages() {
    let s = Scratch::new("cmp-fractions");
    let old = criterion_dir(&s.path("old"), &encode_runs(100.0, 50.0));
    let new = criterion_dir(&s.path("new"), &encode_runs(105.0, 50.0));
    // +5 % ± 2.1 %: a regression at a 2 % threshold, however it is spelled.
    for spelling in ["0.02", "2%"] {
        let o = sttbench(&[&"compare", &old, &new, &"--noise-threshold", &spelling]);
        assert_eq!(o.status.code(), Some(1), "{spelling}: {}", stdout(&o));
        assert!(stdout(&o).contains("above +2.0 %"), "{}", stdout(&o));
    }
    let o = sttbench(&[&"compare", &old, &new, &"--noise-threshold", &"5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("write 0.05 or 5% for 5 percent"), "{}", stderr(&o));
    let o = sttbench(&[&"compare", &old, &new, &"--noise-threshold=-3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`-3` is not a fraction"), "{}", stderr(&o));
}

#[test]
fn unknown_measures_and_timing_tolerances_are_rejected() {
    let s = Scratch::new("cmp-measures");
    let dir = criterion_dir(&s.path("dir"), &encode_runs(100.0, 50.0));
    for (flag, problem) in [
        ("--tolerance=foo=5%", "a tolerance names the measure `foo`, which neither input has"),
        ("--tolerance=latency=5%", "a tolerance is for counts, and `latency` is a timing"),
        ("--measure=allocs", "the selection names the measure `allocs`"),
        ("--filter=(", "filter `(` is not a regular expression"),
        ("--filter=^nothing$", "hold nothing the filter and measures select"),
    ] {
        let o = sttbench(&[&"compare", &dir, &dir, &flag]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert!(stderr(&o).contains(problem), "{flag}: {}", stderr(&o));
    }
    let o = sttbench(&[&"compare", &dir, &dir, &"--tolerance=instructions=2%"]);
    assert_eq!(o.status.code(), Some(0), "a measure sttbench writes is known: {}", stderr(&o));
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
    // Nothing to collect is an error, not an empty baseline that passes everything.
    let o = sttbench(&[&"baseline", &"collect", &"--out", &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to collect"), "{}", stderr(&o));
    let o = collect_with(&dir, &out, &["--filter", "^zzz"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("filtered to nothing"), "{}", stderr(&o));
    assert!(!out.exists());
    let o = collect_with(&dir, &plain, &["--filter", "sine", "--plain"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ids: Vec<String> = sttbench::bmf::Bmf::read(&plain).unwrap().0.into_keys().collect();
    assert_eq!(ids, ["encode_s16le/memcpy_floor/20ms", "encode_s16le/sine/20ms"], "and its floor");
}

#[test]
fn baseline_check_reads_what_a_nightly_needs_before_measuring() {
    let s = Scratch::new("cmp-check");
    let dir = criterion_dir(&s.path("criterion"), &encode_runs(100.0, 50.0));
    let base = s.path("main.json");
    collect(&dir, &base);
    let o = sttbench(&[&"baseline", &"check", &base]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("commit=abc\n") && out.contains("benchmarks=3\n"), "{out}");
    assert!(out.contains("measures=bytes-per-second,latency\n"), "{out}");
    std::fs::write(&base, "{").unwrap();
    let o = sttbench(&[&"baseline", &"check", &base]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not valid JSON"), "{}", stderr(&o));
}

/// Writes `rounds` A/B rounds of the sine bench and its floor, head's sine `slowdown`
/// times base's, with a little deterministic noise.
fn ab_rounds(dir: &Path, rounds: usize, slowdown: f64) {
    for i in 0..rounds {
        let wobble = 1.0 + 0.003 * ((i * 5 % 7) as f64 - 3.0);
        for (side, factor) in [("base", 1.0), ("head", slowdown)] {
            let root = dir.join(format!("rounds/{i:03}/{side}/criterion"));
            common::criterion_run(&root, "encode_s16le/sine/20ms", 40.0 * factor * wobble, 0.01);
            common::criterion_run(&root, "encode_s16le/memcpy_floor/20ms", 8.0, 0.01);
        }
    }
}

#[test]
fn paired_judges_ab_rounds_with_exit_codes_0_1_2() {
    let s = Scratch::new("cmp-paired");
    let (aa, slow) = (s.path("aa"), s.path("slow"));
    ab_rounds(&aa, 12, 1.0);
    ab_rounds(&slow, 12, 1.05);
    let o = sttbench(&[&"paired", &aa, &"--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (md, json, head) = (s.path("r/report.md"), s.path("r/report.json"), s.path("r/head.json"));
    let o = sttbench(&[
        &"paired",
        &slow,
        &"--base-rev",
        &"main",
        &"--head-rev",
        &"HEAD",
        &"--markdown",
        &md,
        &"--json",
        &json,
        &"--head-bmf",
        &head,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report = stdout(&o);
    assert!(report.starts_with("## sttbench A/B: regressed"), "{report}");
    assert!(
        report.contains("| **regressed** | `encode_s16le/sine/20ms` | latency ÷ floor | × 1.050"),
        "{report}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let row = &json["rows"][0];
    assert_eq!(
        (row["verdict"].as_str(), row["rounds"].as_array().map(Vec::len)),
        (Some("regressed"), Some(12))
    );
    assert!(row["ratio"]["lower"].as_f64().unwrap() > 1.0);
    assert!(
        sttbench::bmf::Bmf::read(&head).unwrap().get("encode_s16le/sine/20ms", "latency").is_some()
    );
    // A bench that ran for one revision only: broken input, exit 2, unless allowed.
    common::criterion_run(
        &s.path("slow/rounds/000/head/criterion"),
        "send/echo_rtt/20ms",
        9.0,
        0.01,
    );
    let o = sttbench(&[&"paired", &slow, &"--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = sttbench(&[&"paired", &slow, &"--quiet", &"--allow-missing"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = sttbench(&[&"paired", &s.path("nowhere")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot list the A/B rounds"), "{}", stderr(&o));
}
