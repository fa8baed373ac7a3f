//! `sttbench pace`: the report as a table and as JSON, and clear errors for bad input.

use std::process::{Command, Output};

fn sttbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sttbench")).args(args).output().expect("the binary runs")
}

#[cfg(target_os = "linux")]
#[test]
fn pace_reports_every_method_as_json_and_as_a_table() {
    let out = sttbench(&["pace", "--period", "2ms", "--wakes", "3", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["period_ns"], 2_000_000);
    for id in ["timer_floor", "timer_floor_replica", "pacer", "pacer_multi_thread", "tokio_sleep"] {
        assert_eq!(json["methods"][id]["count"], 3, "{id}");
        assert!(json["methods"][id]["p99_over_floor"].is_number(), "{id}");
    }

    let out =
        sttbench(&["pace", "--period", "2.5ms", "--wakes", "2", "--methods", "pacer,timer_floor"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("2.5ms apart") && table.contains("p99 ÷ floor"), "{table}");
    assert!(table.contains("pacer") && !table.contains("tokio_sleep"), "only those asked: {table}");
}

#[test]
fn bad_periods_and_methods_are_clear_errors() {
    let out = sttbench(&["pace", "--period", "soon"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`soon` is not a duration") && stderr.contains("20ms"), "{stderr}");

    let out = sttbench(&["pace", "--methods", "pacer,spin"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("no method `spin`; the methods are timer_floor, pacer, timer_floor_replica"),
        "{stderr}"
    );

    let out = sttbench(&["pace", "--period", "0ms"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: invalid setting: the period must be above 0"), "{stderr}");
}
