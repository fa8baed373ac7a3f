//! The verdict engine on crafted results: counts judged exactly against their tolerance,
//! timings by the honest interval of their change, floors that can flag as well as clear,
//! a busy host that widens the threshold by what it measured and never excuses more,
//! re-runs, missing benchmarks, incomparable compilers, and the order of the report.
//!
//! The tests named `hole_*` are crafted inputs that an earlier engine wrongly
//! passed (each says what it did before); they fail on the old engine and pass now.

use sttbench::baseline::stats::median_interval;
use sttbench::baseline::{
    self, Comparison, Fraction, JudgeRequest, Kind, Metadata, Moved, Selection, Settings, Source,
    Tolerance, Verdict, report::Report,
};
use sttbench::bmf::{Bmf, Metric};

fn bmf(entries: &[(&str, &str, Metric)]) -> Bmf {
    let mut bmf = Bmf::new();
    for (bench, measure, metric) in entries {
        bmf.insert(*bench, *measure, *metric);
    }
    bmf
}

/// A timing of `ns` with a ±1 % confidence interval.
fn t(ns: f64) -> Metric {
    wide(ns, 0.01)
}

/// A timing of `ns` with a ±`half` fraction confidence interval.
fn wide(ns: f64, half: f64) -> Metric {
    Metric::with_bounds(ns, ns * (1.0 - half), ns * (1.0 + half))
}

fn row<'a>(c: &'a Comparison, bench: &str, measure: &str) -> &'a sttbench::baseline::Row {
    c.rows.iter().find(|r| r.benchmark == bench && r.measure == measure).expect("row")
}

fn verdict(c: &Comparison, bench: &str, measure: &str) -> Verdict {
    row(c, bench, measure).verdict
}

/// Results as read from a baseline file whose host lost `lost` of its time, built by
/// `rustc`.
fn source(results: Bmf, lost: f64, rustc: &str) -> Source {
    let mut meta = Metadata::detect("abc123", rustc);
    meta.host_time_lost = Some(lost);
    Source::from_results("crafted.json", results).with_metadata(meta)
}

const SINE: &str = "encode_s16le/sine/20ms";
const FLOOR: &str = "encode_s16le/memcpy_floor/20ms";
const L: &str = "latency";

#[test]
fn measures_are_classified_by_name() {
    assert_eq!(Kind::of("latency"), Kind::Timing);
    assert_eq!(Kind::of("ttfp-latency"), Kind::Timing);
    assert_eq!(Kind::of("ratio"), Kind::Timing, "interleaved ratios are timings");
    assert_eq!(Kind::of("bytes-per-second"), Kind::Derived);
    assert_eq!(Kind::of("instructions"), Kind::Count);
    assert_eq!(Kind::of("allocs-per-chunk"), Kind::Count);
    assert_eq!(Kind::of("peak-heap-bytes"), Kind::Count);
}

#[test]
fn counts_are_exact_unless_a_tolerance_says_otherwise() {
    let m = "allocs-per-chunk";
    let old = bmf(&[
        ("a", m, Metric::exact(0.0)),
        ("b", m, Metric::exact(1.0)),
        ("c", m, Metric::exact(2.0)),
    ]);
    let new = bmf(&[
        ("a", m, Metric::exact(1.0)),
        ("b", m, Metric::exact(1.0)),
        ("c", m, Metric::exact(1.0)),
    ]);
    let c = Comparison::new(&old, &new, Settings::default());
    assert_eq!(verdict(&c, "a", m), Verdict::Regressed, "one allocation more than zero");
    assert_eq!(verdict(&c, "b", m), Verdict::Unchanged);
    assert_eq!(verdict(&c, "c", m), Verdict::Improved);
    assert!(c.failed());
    let lenient = Settings::default().tolerance(m, Tolerance::Absolute(1.0));
    assert!(!Comparison::new(&old, &new, lenient).failed(), "+1 is within `+1`");
}

#[test]
fn instructions_tolerate_one_percent_and_not_more() {
    let i = "instructions";
    let old = bmf(&[("x", i, Metric::exact(10_000.0))]);
    for (count, expected) in [
        (10_100.0, Verdict::Unchanged),
        (10_101.0, Verdict::Regressed),
        (10_300.0, Verdict::Regressed),
    ] {
        let c = Comparison::new(&old, &bmf(&[("x", i, Metric::exact(count))]), Settings::default());
        assert_eq!(verdict(&c, "x", i), expected, "{count} instructions");
    }
}

#[test]
fn timings_regress_only_when_the_whole_interval_clears_the_noise_threshold() {
    let id = "resample/48k_to_16k/20ms";
    let old = bmf(&[(id, L, t(100.0))]);
    for (ns, expected) in [
        (104.0, Verdict::Unchanged), // +4 %: inside 5 % noise
        (105.5, Verdict::Unchanged), // +5.5 %, but the interval reaches down to +4.0 %
        (107.0, Verdict::Regressed), // +7 % ± 1.4 %
        (125.0, Verdict::Regressed), // +25 %
        (80.0, Verdict::Improved),   // −20 %
    ] {
        let c = Comparison::new(&old, &bmf(&[(id, L, t(ns))]), Settings::default());
        assert_eq!(verdict(&c, id, L), expected, "{ns} ns");
    }
}

#[test]
fn floors_cancel_a_slower_machine_and_expose_a_slower_encoder() {
    let old = bmf(&[(SINE, L, t(100.0)), (FLOOR, L, t(50.0))]);
    // Everything 30 % slower, a busy neighbour: the ratio holds.
    let busy = bmf(&[(SINE, L, t(130.0)), (FLOOR, L, t(65.0))]);
    let c = Comparison::new(&old, &busy, Settings::default());
    assert_eq!(verdict(&c, SINE, L), Verdict::Unchanged);
    assert_eq!(verdict(&c, FLOOR, L), Verdict::Floor, "a floor is a reference, never judged");
    let r = row(&c, SINE, L);
    assert_eq!((r.floor.as_deref(), r.moved), (Some(FLOOR), Some(Moved::Raw)));
    assert!(r.change.unwrap().abs() < 1e-9 && (r.raw_change.unwrap() - 0.3).abs() < 1e-9);
    // The encoder alone 25 % slower on an otherwise unchanged machine.
    let slower = bmf(&[(SINE, L, t(125.0)), (FLOOR, L, t(50.0))]);
    let c = Comparison::new(&old, &slower, Settings::default());
    assert_eq!(verdict(&c, SINE, L), Verdict::Regressed);
    assert_eq!(row(&c, SINE, L).moved, Some(Moved::Both));
    // Without its floor in both runs a benchmark is judged on its own time.
    let no_floor = bmf(&[(SINE, L, t(130.0))]);
    let c = Comparison::new(&old, &no_floor, Settings::default());
    assert_eq!(verdict(&c, SINE, L), Verdict::Regressed);
    assert_eq!(row(&c, SINE, L).floor, None);
}

#[test]
fn echo_round_trips_are_normalised_by_the_tcp_floor() {
    let settings = Settings::default();
    assert_eq!(settings.floor_of("send/echo_rtt/20ms").as_deref(), Some("send/tcp_floor/20ms"));
    assert_eq!(
        settings.floor_of("encode_s16le/noise/100ms").as_deref(),
        Some("encode_s16le/memcpy_floor/100ms")
    );
    assert_eq!(settings.floor_of("send/other/20ms"), None, "only echo_rtt has a TCP floor");
    assert_eq!(settings.floor_of(FLOOR), None, "a floor has no floor");
    assert_eq!(settings.floor_of("resample/48k_to_16k/20ms"), None);
    assert!(settings.is_floor("send/tcp_floor/20ms") && !settings.is_floor("send/echo_rtt/20ms"));
}

/// Before: "host busy" excused any timing regression, so a 2× slower encoder passed
/// when either side had lost more than 5 % of its time.
#[test]
fn hole_1_a_busy_host_widens_the_threshold_by_what_it_measured_and_no_more() {
    let old = bmf(&[(SINE, L, t(100.0)), (FLOOR, L, t(50.0))]);
    let twice = bmf(&[(SINE, L, t(200.0)), (FLOOR, L, t(50.0))]);
    // A baseline recorded on a host that lost 6 %: old timings read slow, which can hide
    // a regression but never fake one; the 2× encoder fails.
    let c = Comparison::of(
        &source(old.clone(), 0.06, "r"),
        &source(twice.clone(), 0.0, "r"),
        Settings::default(),
    );
    assert_eq!(verdict(&c, SINE, L), Verdict::Regressed);
    assert!(c.failed());
    // The new run lost 30 %: it may read up to 1/0.7 = 1.43× slow, so the threshold is
    // 1.05 × 1.43 − 1 = +50 %; 2× is beyond it and fails.
    let busy_new = Comparison::of(
        &source(old.clone(), 0.0, "r"),
        &source(twice, 0.3, "r"),
        Settings::default(),
    );
    assert_eq!(verdict(&busy_new, SINE, L), Verdict::Regressed);
    let [_, above] = row(&busy_new, SINE, L).threshold.unwrap();
    assert!((above - 0.5).abs() < 1e-9, "{above}");
    // +20 % on that busy host is inside what the host explains: reported, not failed.
    let plus_20 = bmf(&[(SINE, L, t(120.0)), (FLOOR, L, t(50.0))]);
    let c = Comparison::of(
        &source(old.clone(), 0.0, "r"),
        &source(plus_20.clone(), 0.3, "r"),
        Settings::default(),
    );
    assert_eq!(verdict(&c, SINE, L), Verdict::HostBusy);
    assert!(!c.failed());
    // Counts gate whatever the host did.
    let mut counts = plus_20;
    counts.insert(SINE, "allocs-per-chunk", Metric::exact(1.0));
    let mut old_counts = old;
    old_counts.insert(SINE, "allocs-per-chunk", Metric::exact(0.0));
    let c = Comparison::of(
        &source(old_counts, 0.0, "r"),
        &source(counts, 0.9, "r"),
        Settings::default(),
    );
    assert_eq!(verdict(&c, SINE, "allocs-per-chunk"), Verdict::Regressed);
}

/// Before: one busy re-run turned a reproduced 2× regression into "host busy".
#[test]
fn hole_1_no_busy_rerun_rescues_a_reproduced_regression() {
    let old = source(bmf(&[(SINE, L, t(100.0)), (FLOOR, L, t(50.0))]), 0.0, "r");
    let twice = source(bmf(&[(SINE, L, t(200.0)), (FLOOR, L, t(50.0))]), 0.0, "r");
    for (rerun_ns, rerun_lost, expected) in [
        (200.0, 0.3, Verdict::Regressed), // reproduced on a busy host: still fails
        (130.0, 0.3, Verdict::Regressed), // +30 % inside the busy widening: clears nothing
        (101.0, 0.3, Verdict::NotReproduced), // reads unchanged even busy: noise
        (101.0, 0.0, Verdict::NotReproduced),
    ] {
        let rerun = source(bmf(&[(SINE, L, t(rerun_ns)), (FLOOR, L, t(50.0))]), rerun_lost, "r");
        let mut c = Comparison::of(&old, &twice, Settings::default());
        c.confirm(&old, &rerun);
        assert_eq!(verdict(&c, SINE, L), expected, "re-run {rerun_ns} ns, lost {rerun_lost}");
    }
}

/// Before: a benchmark in the baseline and missing from the new run passed, with only a
/// note when a whole measure vanished.
#[test]
fn hole_2_a_missing_benchmark_fails_unless_allowed_and_leads_the_report() {
    let old = bmf(&[
        (SINE, L, t(100.0)),
        ("gone/x/1", L, t(10.0)),
        ("kept", "bytes-per-second", Metric::exact(1.0)),
    ]);
    let new = bmf(&[
        (SINE, L, t(100.0)),
        ("added/x/1", L, t(10.0)),
        ("kept", "bytes-per-second", Metric::exact(0.1)),
    ]);
    let c = Comparison::new(&old, &new, Settings::default());
    assert_eq!(verdict(&c, "gone/x/1", L), Verdict::Missing);
    assert_eq!(verdict(&c, "added/x/1", L), Verdict::New);
    assert!(c.rows.iter().all(|r| r.measure != "bytes-per-second"), "rates are not judged twice");
    assert!(c.failed(), "a missing benchmark fails the gate");
    let (o, n) = (
        Source::from_results("old.json", old.clone()),
        Source::from_results("new.json", new.clone()),
    );
    let md = Report { comparison: &c, old: &o, new: &n }.markdown();
    let first_note = md.lines().find(|l| l.starts_with("> **Note:**")).unwrap();
    assert!(
        first_note.contains("missing from the new run") && first_note.contains("`gone/x/1`"),
        "{md}"
    );
    let allowed = Comparison::new(&old, &new, Settings::default().allow_missing(true));
    assert!(!allowed.failed(), "--allow-missing");
}

/// Before: "the raw time must agree" could only remove regressions, so an encoder 15 %
/// slower relative to its floor, measured in a 10 % faster process, read unchanged.
#[test]
fn hole_3_floor_normalisation_flags_as_well_as_clears() {
    let old = bmf(&[(SINE, L, t(100.0)), (FLOOR, L, t(50.0))]);
    let faster_process = bmf(&[(SINE, L, t(100.0 * 0.9 * 1.15)), (FLOOR, L, t(45.0))]);
    let c = Comparison::new(&old, &faster_process, Settings::default());
    let r = row(&c, SINE, L);
    assert_eq!(r.verdict, Verdict::Regressed);
    assert!((r.change.unwrap() - 0.15).abs() < 1e-9, "{r:?}");
    assert!((r.raw_change.unwrap() - 0.035).abs() < 1e-9, "raw +3.5 %, inside the noise");
    assert_eq!(r.moved, Some(Moved::Normalised), "the report says which one moved");
    let md = Report {
        comparison: &c,
        old: &Source::from_results("o", old.clone()),
        new: &Source::from_results("n", faster_process),
    }
    .markdown();
    assert!(md.contains("only the normalised ratio moved"), "{md}");
}

/// Before: the interleaved ratio was stored with its quartiles as bounds, so +16.7 % read
/// unchanged (−1.5 … +38.2 %). Now the bench stores the order-statistics interval of the
/// median over 100 rounds, which is what a change of the median is judged on.
#[test]
fn hole_4_interleaved_ratios_are_judged_on_the_interval_of_their_median() {
    // 100 rounds of a ratio spread about ±20 % (triangular) around its centre.
    let rounds = |centre: f64| -> Vec<f64> {
        let frac = |x: f64| x - x.floor();
        (0..100)
            .map(f64::from)
            .map(|i| centre * (1.0 + 0.2 * (frac(i * 0.618_034) + frac(i * 0.414_214) - 1.0)))
            .collect()
    };
    let (old, new) = (rounds(1.2), rounds(1.4));
    let (old_e, new_e) =
        (median_interval(&old, 0.95).unwrap(), median_interval(&new, 0.95).unwrap());
    let mut sorted = old.clone();
    sorted.sort_by(f64::total_cmp);
    let (q1, q3) = (sorted[24], sorted[74]);
    assert!(old_e.upper - old_e.lower < (q3 - q1) / 2.0, "{old_e:?} vs quartiles {q1} {q3}");
    let metric =
        |e: sttbench::baseline::stats::Estimate| Metric::with_bounds(e.value, e.lower, e.upper);
    let id = "send/echo_rtt/20ms";
    let c = Comparison::new(
        &bmf(&[(id, "ratio", metric(old_e))]),
        &bmf(&[(id, "ratio", metric(new_e))]),
        Settings::default(),
    );
    let r = row(&c, id, "ratio");
    assert!((r.change.unwrap() - 0.1667).abs() < 0.02, "{r:?}");
    assert_eq!(r.verdict, Verdict::Regressed, "{r:?}");
}

/// Before: the change interval paired opposite bounds of all four intervals, so +15 %
/// with ±3 % intervals passed with a floor (down to +2 %) and failed without one.
#[test]
fn hole_5_a_floor_does_not_make_a_bench_less_sensitive_than_no_floor() {
    let old = bmf(&[(SINE, L, wide(100.0, 0.03)), (FLOOR, L, wide(50.0, 0.03))]);
    let new = bmf(&[(SINE, L, wide(115.0, 0.03)), (FLOOR, L, wide(50.0, 0.03))]);
    let with_floor = Comparison::new(&old, &new, Settings::default());
    let without = Comparison::new(
        &bmf(&[(SINE, L, wide(100.0, 0.03))]),
        &bmf(&[(SINE, L, wide(115.0, 0.03))]),
        Settings::default(),
    );
    for c in [&with_floor, &without] {
        assert_eq!(verdict(c, SINE, L), Verdict::Regressed);
    }
    let [lo_floor, _] = row(&with_floor, SINE, L).change_interval.unwrap();
    let [lo_raw, _] = row(&without, SINE, L).change_interval.unwrap();
    assert!(
        lo_floor > 0.08 && lo_raw > lo_floor,
        "√2 wider with the floor, not 4×: {lo_floor} {lo_raw}"
    );
}

/// Before: +2 % instructions on `memcpy_floor` failed the job, though a floor is bench
/// code that measures the machine.
#[test]
fn floors_are_reported_never_gated_their_instruction_counts_included() {
    let old = bmf(&[(FLOOR, "instructions", Metric::exact(1_000.0)), (FLOOR, L, t(50.0))]);
    let new = bmf(&[(FLOOR, "instructions", Metric::exact(1_020.0)), (FLOOR, L, t(90.0))]);
    let c = Comparison::new(&old, &new, Settings::default());
    assert_eq!(verdict(&c, FLOOR, "instructions"), Verdict::Floor);
    assert_eq!(verdict(&c, FLOOR, L), Verdict::Floor);
    assert!(!c.failed());
}

/// Before: a Rust release moved instruction counts and failed the gate.
#[test]
fn instruction_counts_from_another_compiler_are_incomparable_not_judged() {
    let old = bmf(&[
        (SINE, "instructions", Metric::exact(1_000.0)),
        (SINE, "allocs-per-chunk", Metric::exact(0.0)),
    ]);
    let new = bmf(&[
        (SINE, "instructions", Metric::exact(1_300.0)),
        (SINE, "allocs-per-chunk", Metric::exact(0.0)),
    ]);
    let c = Comparison::of(
        &source(old.clone(), 0.0, "rustc 1.95.0"),
        &source(new.clone(), 0.0, "rustc 1.96.0"),
        Settings::default(),
    );
    assert_eq!(verdict(&c, SINE, "instructions"), Verdict::Incomparable);
    assert!(!c.failed(), "neither pass nor fail");
    assert_eq!(c.compilers.as_ref().unwrap()[1], "rustc 1.96.0");
    let same = Comparison::of(
        &source(old, 0.0, "rustc 1.95.0"),
        &source(new, 0.0, "rustc 1.95.0"),
        Settings::default(),
    );
    assert_eq!(verdict(&same, SINE, "instructions"), Verdict::Regressed);
}

#[test]
fn a_flagged_timing_fails_only_if_no_rerun_reads_it_unchanged() {
    let old = bmf(&[
        ("a/x/1", L, t(100.0)),
        ("b/y/1", L, t(100.0)),
        ("c/z/1", "instructions", Metric::exact(10.0)),
    ]);
    let first = bmf(&[
        ("a/x/1", L, t(130.0)),
        ("b/y/1", L, t(130.0)),
        ("c/z/1", "instructions", Metric::exact(20.0)),
    ]);
    let old = Source::from_results("old", old);
    let mut c = Comparison::of(&old, &Source::from_results("new", first), Settings::default());
    assert_eq!(c.flagged_timings(), ["a/x/1", "b/y/1"], "counts need no re-run");
    assert_eq!(c.rerun_filter().as_deref(), Some("^(a/x/1|b/y/1)$"));
    let rerun = bmf(&[
        ("a/x/1", L, t(101.0)),
        ("b/y/1", L, t(131.0)),
        ("c/z/1", "instructions", Metric::exact(20.0)),
    ]);
    c.confirm(&old, &Source::from_results("rerun", rerun));
    assert_eq!(verdict(&c, "a/x/1", L), Verdict::NotReproduced);
    assert_eq!(verdict(&c, "b/y/1", L), Verdict::Regressed);
    assert_eq!(verdict(&c, "c/z/1", "instructions"), Verdict::Regressed);
    assert!((row(&c, "a/x/1", L).rerun_change.unwrap() - 0.01).abs() < 1e-9);
}

#[test]
fn the_rerun_filter_names_floors_and_escapes_regex() {
    let old = bmf(&[(SINE, L, t(100.0)), (FLOOR, L, t(50.0)), ("odd.name+/f/1", L, t(1.0))]);
    let new = bmf(&[(SINE, L, t(130.0)), (FLOOR, L, t(50.0)), ("odd.name+/f/1", L, t(2.0))]);
    let c = Comparison::new(&old, &new, Settings::default());
    assert_eq!(c.flagged_timings(), [FLOOR, SINE, "odd.name+/f/1"]);
    let filter = c.rerun_filter().unwrap();
    assert_eq!(
        filter,
        r"^(encode_s16le/memcpy_floor/20ms|encode_s16le/sine/20ms|odd\.name\+/f/1)$"
    );
    let re = regex_lite::Regex::new(&filter).unwrap();
    assert!(re.is_match("odd.name+/f/1") && !re.is_match("oddXname+/f/1"));
    assert_eq!(Comparison::new(&old, &old, Settings::default()).rerun_filter(), None);
}

#[test]
fn rows_come_worst_first() {
    let old = bmf(&[
        ("a", L, t(100.0)),
        ("b", L, t(100.0)),
        ("c", L, t(100.0)),
        ("d", "allocs", Metric::exact(0.0)),
        ("e", L, t(1.0)),
    ]);
    let new = bmf(&[
        ("a", L, t(120.0)),
        ("b", L, t(200.0)),
        ("c", L, t(50.0)),
        ("d", "allocs", Metric::exact(3.0)),
        ("f", L, t(1.0)),
    ]);
    let c = Comparison::new(&old, &new, Settings::default());
    let order: Vec<_> = c.rows.iter().map(|r| (r.benchmark.as_str(), r.verdict)).collect();
    assert_eq!(
        order,
        [
            ("d", Verdict::Regressed), // from zero: unbounded
            ("b", Verdict::Regressed), // +100 %
            ("a", Verdict::Regressed), // +20 %
            ("e", Verdict::Missing),
            ("f", Verdict::New),
            ("c", Verdict::Improved),
        ]
    );
}

#[test]
fn tolerances_and_fractions_parse_from_the_command_line_form() {
    assert_eq!("1%".parse::<Tolerance>(), Ok(Tolerance::Relative(0.01)));
    assert_eq!("+3".parse::<Tolerance>(), Ok(Tolerance::Absolute(3.0)));
    assert_eq!("0".parse::<Tolerance>(), Ok(Tolerance::Absolute(0.0)));
    assert!("-1%".parse::<Tolerance>().unwrap_err().contains("not a tolerance"));
    assert!("lots".parse::<Tolerance>().is_err());
    // Fractions as criterion writes them, or an unambiguous percentage.
    assert_eq!("0.02".parse::<Fraction>(), Ok(Fraction(0.02)));
    assert_eq!("2%".parse::<Fraction>(), Ok(Fraction(0.02)));
    assert_eq!("1".parse::<Fraction>(), Ok(Fraction(1.0)));
    let hint = "5".parse::<Fraction>().unwrap_err();
    assert!(hint.contains("0.05 or 5%"), "{hint}");
    assert!("-0.1".parse::<Fraction>().is_err() && "x%".parse::<Fraction>().is_err());
}

#[test]
fn judge_loads_selects_compares_and_confirms_in_one_call() {
    let dir = std::env::temp_dir().join(format!("sttbench-judge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |name: &str, bmf: Bmf| {
        let path = dir.join(name);
        bmf.write(&path).unwrap();
        path
    };
    let old = write(
        "old.json",
        bmf(&[(SINE, L, t(100.0)), (FLOOR, L, t(50.0)), ("gone/x/1", L, t(9.0))]),
    );
    let new = write("new.json", bmf(&[(SINE, L, t(130.0)), (FLOOR, L, t(50.0))]));
    let calm = write("rerun.json", bmf(&[(SINE, L, t(101.0)), (FLOOR, L, t(50.0))]));

    let j = baseline::judge(JudgeRequest::new(&old, &new)).unwrap();
    assert_eq!(j.exit_code(), 1);
    assert_eq!(j.comparison.with(Verdict::Missing).count(), 1);
    // Selecting the encoder keeps its floor and leaves the vanished bench out of scope;
    // a re-run that reads it unchanged clears the timing.
    let narrowed =
        JudgeRequest::new(&old, &new).selection(Selection::default().filter("^encode_s16le/sine/"));
    let j = baseline::judge(narrowed.clone()).unwrap();
    assert_eq!((j.exit_code(), j.old.results.0.len()), (1, 2));
    let j = baseline::judge(narrowed.rerun(&calm)).unwrap();
    assert_eq!(j.exit_code(), 0);
    assert_eq!(j.comparison.with(Verdict::NotReproduced).count(), 1);
    assert!(j.report().markdown().contains("not reproduced"));
    // A typo in a measure name is an error, not a silently empty comparison.
    let typo = JudgeRequest::new(&old, &new).selection(Selection::default().measures(["latncy"]));
    let msg = baseline::judge(typo).unwrap_err().to_string();
    assert!(msg.contains("`latncy`, which neither input has"), "{msg}");
    let missing = baseline::judge(JudgeRequest::new(&old, dir.join("absent.json"))).unwrap_err();
    assert!(missing.to_string().contains("absent.json"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}
