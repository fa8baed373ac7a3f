//! The verdict engine on synthetic results: counts judged exactly against their
//! tolerance, timings by confidence interval and noise threshold, floors cancelling a
//! slower machine, re-runs clearing noise, and the order of the report.

use sttbench::baseline::{Comparison, Kind, Settings, Tolerance, Verdict};
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
    Metric::with_bounds(ns, ns * 0.99, ns * 1.01)
}

fn verdict(c: &Comparison, bench: &str, measure: &str) -> Verdict {
    c.rows.iter().find(|r| r.benchmark == bench && r.measure == measure).expect("row").verdict
}

#[test]
fn measures_are_classified_by_name() {
    assert_eq!(Kind::of("latency"), Kind::Timing);
    assert_eq!(Kind::of("ttfp-latency"), Kind::Timing);
    assert_eq!(Kind::of("ratio"), Kind::Timing, "send_ratio's interleaved RTT ratio");
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
    assert!(c.regressed());
    let lenient = Settings::default().tolerance(m, Tolerance::Absolute(1.0));
    assert!(!Comparison::new(&old, &new, lenient).regressed(), "+1 is within `+1`");
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
    let l = "latency";
    let old = bmf(&[("resample/48k_to_16k/20ms", l, t(100.0))]);
    for (ns, expected) in [
        (104.0, Verdict::Unchanged), // +4 %: inside 5 % noise
        (107.0, Verdict::Unchanged), // +7 %, but the interval reaches down to +4.9 %
        (125.0, Verdict::Regressed), // +25 %
        (80.0, Verdict::Improved),   // −20 %
    ] {
        let c = Comparison::new(
            &old,
            &bmf(&[("resample/48k_to_16k/20ms", l, t(ns))]),
            Settings::default(),
        );
        assert_eq!(verdict(&c, "resample/48k_to_16k/20ms", l), expected, "{ns} ns");
    }
}

#[test]
fn floors_cancel_a_slower_machine_and_expose_a_slower_encoder() {
    let l = "latency";
    let (sine, floor) = ("encode_s16le/sine/20ms", "encode_s16le/memcpy_floor/20ms");
    let old = bmf(&[(sine, l, t(100.0)), (floor, l, t(50.0))]);
    // Everything 30 % slower, a busy neighbour: the ratio holds.
    let busy = bmf(&[(sine, l, t(130.0)), (floor, l, t(65.0))]);
    let c = Comparison::new(&old, &busy, Settings::default());
    assert_eq!(verdict(&c, sine, l), Verdict::Unchanged);
    assert_eq!(verdict(&c, floor, l), Verdict::Floor, "a floor is a reference, never judged");
    let row = c.rows.iter().find(|r| r.benchmark == sine).unwrap();
    assert_eq!(row.floor.as_deref(), Some(floor));
    assert!(row.change.unwrap().abs() < 1e-9);
    // The encoder alone 25 % slower on an otherwise unchanged machine.
    let slower = bmf(&[(sine, l, t(125.0)), (floor, l, t(50.0))]);
    let c = Comparison::new(&old, &slower, Settings::default());
    assert_eq!(verdict(&c, sine, l), Verdict::Regressed);
    // A floor that alone jumps (memcpy is bimodal with buffer alignment) fails nobody:
    // the raw time has to agree.
    let jumpy_floor = bmf(&[(sine, l, t(100.0)), (floor, l, t(19.0))]);
    let c = Comparison::new(&old, &jumpy_floor, Settings::default());
    assert_eq!(verdict(&c, sine, l), Verdict::Unchanged);
    assert!(c.rows.iter().find(|r| r.benchmark == sine).unwrap().change.unwrap() > 1.5);
    // Without its floor in both runs a benchmark is judged on its own time.
    let no_floor = bmf(&[(sine, l, t(130.0))]);
    let c = Comparison::new(&old, &no_floor, Settings::default());
    assert_eq!(verdict(&c, sine, l), Verdict::Regressed);
    assert_eq!(c.rows.iter().find(|r| r.benchmark == sine).unwrap().floor, None);
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
    assert_eq!(settings.floor_of("encode_s16le/memcpy_floor/20ms"), None, "a floor has no floor");
    assert_eq!(settings.floor_of("resample/48k_to_16k/20ms"), None);
    assert!(settings.is_floor("send/tcp_floor/20ms") && !settings.is_floor("send/echo_rtt/20ms"));
}

#[test]
fn new_and_missing_benchmarks_are_reported_not_failed_and_rates_are_not_judged_twice() {
    let old =
        bmf(&[("gone", "latency", t(10.0)), ("kept", "bytes-per-second", Metric::exact(1.0))]);
    let new =
        bmf(&[("added", "latency", t(10.0)), ("kept", "bytes-per-second", Metric::exact(0.1))]);
    let c = Comparison::new(&old, &new, Settings::default());
    assert_eq!(verdict(&c, "gone", "latency"), Verdict::Missing);
    assert_eq!(verdict(&c, "added", "latency"), Verdict::New);
    assert!(c.rows.iter().all(|r| r.measure != "bytes-per-second"));
    assert!(!c.regressed());
}

#[test]
fn a_flagged_timing_fails_only_if_the_rerun_regresses_too() {
    let l = "latency";
    let old = bmf(&[
        ("a/x/1", l, t(100.0)),
        ("b/y/1", l, t(100.0)),
        ("c/z/1", "instructions", Metric::exact(10.0)),
    ]);
    let first = bmf(&[
        ("a/x/1", l, t(130.0)),
        ("b/y/1", l, t(130.0)),
        ("c/z/1", "instructions", Metric::exact(20.0)),
    ]);
    let mut c = Comparison::new(&old, &first, Settings::default());
    assert_eq!(c.flagged_timings(), ["a/x/1", "b/y/1"], "counts need no re-run");
    assert_eq!(c.rerun_filter().as_deref(), Some("^(a/x/1|b/y/1)$"));
    let rerun = bmf(&[
        ("a/x/1", l, t(101.0)),
        ("b/y/1", l, t(131.0)),
        ("c/z/1", "instructions", Metric::exact(20.0)),
    ]);
    c.confirm(&old, &rerun);
    assert_eq!(verdict(&c, "a/x/1", l), Verdict::NotReproduced);
    assert_eq!(verdict(&c, "b/y/1", l), Verdict::Regressed);
    assert_eq!(verdict(&c, "c/z/1", "instructions"), Verdict::Regressed);
    let a = c.rows.iter().find(|r| r.benchmark == "a/x/1").unwrap();
    assert!((a.rerun_change.unwrap() - 0.01).abs() < 1e-9);
}

#[test]
fn a_busy_host_turns_timing_regressions_into_reports_but_counts_still_fail() {
    let old =
        bmf(&[("a/x/1", "latency", t(100.0)), ("c/z/1", "instructions", Metric::exact(10.0))]);
    let new =
        bmf(&[("a/x/1", "latency", t(200.0)), ("c/z/1", "instructions", Metric::exact(10.0))]);
    let mut c = Comparison::new(&old, &new, Settings::default());
    c.distrust_timings();
    assert_eq!(verdict(&c, "a/x/1", "latency"), Verdict::HostBusy);
    assert!(!c.regressed());
    let worse =
        bmf(&[("a/x/1", "latency", t(200.0)), ("c/z/1", "instructions", Metric::exact(11.0))]);
    let mut c = Comparison::new(&old, &worse, Settings::default());
    c.distrust_timings();
    assert_eq!(verdict(&c, "c/z/1", "instructions"), Verdict::Regressed);
    assert!(c.regressed());
}

#[test]
fn the_rerun_filter_names_floors_and_escapes_regex() {
    let l = "latency";
    let (sine, floor) = ("encode_s16le/sine/20ms", "encode_s16le/memcpy_floor/20ms");
    let old = bmf(&[(sine, l, t(100.0)), (floor, l, t(50.0)), ("odd.name+/f/1", l, t(1.0))]);
    let new = bmf(&[(sine, l, t(130.0)), (floor, l, t(50.0)), ("odd.name+/f/1", l, t(2.0))]);
    let c = Comparison::new(&old, &new, Settings::default());
    assert_eq!(c.flagged_timings(), [floor, sine, "odd.name+/f/1"]);
    assert_eq!(
        c.rerun_filter().unwrap(),
        r"^(encode_s16le/memcpy_floor/20ms|encode_s16le/sine/20ms|odd\.name\+/f/1)$"
    );
    assert_eq!(Comparison::new(&old, &old, Settings::default()).rerun_filter(), None);
}

#[test]
fn rows_come_worst_first() {
    let l = "latency";
    let old = bmf(&[
        ("a", l, t(100.0)),
        ("b", l, t(100.0)),
        ("c", l, t(100.0)),
        ("d", "allocs", Metric::exact(0.0)),
        ("e", l, t(1.0)),
    ]);
    let new = bmf(&[
        ("a", l, t(120.0)),
        ("b", l, t(200.0)),
        ("c", l, t(50.0)),
        ("d", "allocs", Metric::exact(3.0)),
        ("f", l, t(1.0)),
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
fn tolerances_parse_from_the_command_line_form() {
    assert_eq!("1%".parse::<Tolerance>(), Ok(Tolerance::Relative(0.01)));
    assert_eq!("+3".parse::<Tolerance>(), Ok(Tolerance::Absolute(3.0)));
    assert_eq!("0".parse::<Tolerance>(), Ok(Tolerance::Absolute(0.0)));
    assert!("-1%".parse::<Tolerance>().unwrap_err().contains("not a tolerance"));
    assert!("lots".parse::<Tolerance>().is_err());
}
