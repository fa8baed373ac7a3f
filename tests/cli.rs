//! The `sttbench` binary's basics: help, version, signal listing, and a clear error for
//! an unknown command.

use std::process::Command;

fn sttbench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sttbench")).args(args).output().expect("the binary runs")
}

#[test]
fn help_and_version() {
    let help = sttbench(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("speech-to-text") && text.contains("Usage"), "{text}");

    let version = sttbench(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("sttbench {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn signals_lists_every_signal() {
    let out = sttbench(&["signals"]);
    assert!(out.status.success());
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        names,
        ["silence", "sine", "sweep", "steps", "clipped", "extremes", "noise", "speech"]
    );
}

#[test]
fn unknown_command_is_a_usage_error() {
    let out = sttbench(&["transmogrify"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage-error status");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"));
}
