//! The transport commands as a user runs them: `sttbench echo` prints its address and
//! serves until Ctrl-C (SIGINT), `sttbench stream` streams to it and prints a summary,
//! and bad input ends with a clear message and a non-zero status.
//!
//! Every wait on the child process is bounded by [`STEP`] and names what hung.

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

    let json = within("stream --json", move || {
        sttbench(&["stream", "--url", &url, "--chunk-ms", "100", "--duration", "2s", "--json"])
    });
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON summary");
    assert_eq!(value["report"]["chunks_sent"], 20);
    assert_eq!(value["report"]["chunks_lost"], 0);

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
}
