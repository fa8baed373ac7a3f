//! The transport commands as a user runs them: `sttbench echo` prints its address and
//! serves until Ctrl-C (SIGINT); `sttbench stream` streams to it (or to a mock, over
//! `wss://` with `--ca-cert`) and prints a summary however the run ends: completed,
//! interrupted by a real SIGINT, stalled, dropped, each with its exit status; bad input
//! ends with a clear message and a non-zero status.
//!
//! Every wait on a child process is bounded by [`STEP`] and names what hung.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);

fn sttbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sttbench")).args(args).output().expect("the binary runs")
}

/// Runs `f` on a thread and waits at most [`STEP`] for its result.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(STEP).unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

/// Kills the echo server if the test fails before stopping it.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn echo_serves_streams_until_ctrl_c() {
    let child = Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(["echo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start sttbench echo");
    let pid = child.id().to_string();
    let mut server = Server(Some(child));
    let stdout = server.0.as_mut().and_then(|c| c.stdout.take()).expect("piped stdout");
    let mut stdout = BufReader::new(stdout);
    let (first_line, stdout) = within("echo prints its address", move || {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the first line");
        (line, stdout)
    });
    let url = first_line
        .split_whitespace()
        .find(|w| w.starts_with("ws://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no ws:// URL in {first_line:?}"))
        .to_owned();

    let text = {
        let url = url.clone();
        within("stream", move || {
            sttbench(&["stream", "--url", &url, "--signal", "sine", "--duration", "1s"])
        })
    };
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    let summary = String::from_utf8_lossy(&text.stdout);
    for line in ["chunks sent    50", "chunks echoed  50", "chunks lost    0", "round trip     p50"]
    {
        assert!(summary.contains(line), "missing {line:?} in\n{summary}");
    }

    let json = {
        let url = url.clone();
        within("stream --json", move || {
            sttbench(&["stream", "--url", &url, "--chunk-ms", "100", "--duration", "2s", "--json"])
        })
    };
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON summary");
    assert_eq!((&value["ended"], &value["exit_code"]), (&"completed".into(), &0.into()));
    assert_eq!((&value["chunks_sent"], &value["chunks_lost"]), (&20.into(), &0.into()));
    for stage in ["wake_lateness", "encode", "queue", "write"] {
        for field in ["p50_ns", "p99_ns", "max_ns"] {
            assert!(value["stages"][stage][field].is_u64(), "stages.{stage}.{field} in {value}");
        }
    }

    // Ctrl-C in a pause (after 10 chunks, logged as it starts): the run stops, closes,
    // and prints what it measured, with the interrupt's status.
    let (status, printed) = interrupted_stream(&url);
    assert_eq!(status.code(), Some(130), "{printed}");
    let value: serde_json::Value = serde_json::from_str(&printed).expect("JSON summary");
    assert_eq!(value["ended"], "interrupted", "{value}");
    assert_eq!((&value["chunks_sent"], &value["chunks_total"]), (&10.into(), &500.into()));
    assert_eq!(value["ending"]["phase"], "paused", "{value}");
    assert_eq!(value["chunks_echoed"], 10, "the echoes still came back");

    let kill = Command::new("kill").args(["-INT", &pid]).status().expect("run kill");
    assert!(kill.success());
    let mut child = server.0.take().expect("still running");
    let (status, rest) = within("echo stops on SIGINT", move || {
        let mut rest = String::new();
        let mut stdout = stdout;
        stdout.read_to_string(&mut rest).expect("read the rest of stdout");
        (child.wait().expect("wait for sttbench echo"), rest)
    });
    assert!(status.success(), "{status:?}");
    assert!(rest.contains("echo socket stopped"), "{rest}");
}

/// Streams 10 s in real time to `url` with a long pause after 200 ms, and sends SIGINT
/// (by PID) once the pause has begun; returns the exit status and stdout.
fn interrupted_stream(url: &str) -> (std::process::ExitStatus, String) {
    let args = ["stream", "--url", url, "--duration", "10s", "--realtime", "--json"];
    let child = Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(args)
        .args(["--pause", "60s@200ms"])
        .env("RUST_LOG", "sttbench=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sttbench stream");
    let pid = child.id().to_string();
    let mut child = Server(Some(child));
    let stderr = child.0.as_mut().and_then(|c| c.stderr.take()).expect("piped stderr");
    within("stream logs its pause", move || {
        let lines = BufReader::new(stderr).lines().map_while(Result::ok);
        lines.take_while(|line| !line.contains("pausing")).for_each(drop);
    });
    let kill = Command::new("kill").args(["-INT", &pid]).status().expect("run kill");
    assert!(kill.success());
    let child = child.0.take().expect("still running");
    within("stream stops on SIGINT", move || {
        let output = child.wait_with_output().expect("wait for sttbench stream");
        (output.status, String::from_utf8_lossy(&output.stdout).into_owned())
    })
}

#[test]
fn stream_errors_say_what_to_fix() {
    // A port nobody listens on: bind one, then free it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("ws://{addr}");
    let refused = within("stream to nobody", move || sttbench(&["stream", "--url", &url]));
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cannot connect") && stderr.contains("is the server running"),
        "{stderr}"
    );

    let bad_url = sttbench(&["stream", "--url", "http://127.0.0.1:1"]);
    assert_eq!(bad_url.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_url.stderr).contains("expected a ws:// or wss:// URL"));

    let bad_duration = sttbench(&["stream", "--url", "ws://127.0.0.1:1", "--duration", "soon"]);
    assert_eq!(bad_duration.status.code(), Some(2), "clap's usage-error status");
    assert!(String::from_utf8_lossy(&bad_duration.stderr).contains("is not a duration"));

    let both = sttbench(&["stream", "--url", "ws://x", "--signal", "sine", "--wav", "a.wav"]);
    assert_eq!(both.status.code(), Some(2), "--signal and --wav exclude each other");

    let mixed = sttbench(&["stream", "--provider", "echo,deepgram", "--mock"]);
    assert_eq!(mixed.status.code(), Some(2), "a usage error, decided by the library");
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("echo cannot be compared"));

    let help = sttbench(&["stream", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(!help.contains("to an echo peer") && help.contains("providers"), "{help}");
    assert!(help.contains("speech fixture (5.4 s)"), "the provider default is documented: {help}");
}
