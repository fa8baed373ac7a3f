//! `sttbench mock` and `sttbench echo` as a user runs them: the start-up line (with the
//! mock's fault), a log line per connection and per fault as it fires, a clear error for
//! an address in use or a bad fault, and a clean stop on Ctrl-C or SIGTERM, also with
//! clients stuck mid-handshake and right after the address is printed.
//!
//! Every wait on a child process is bounded and names what hung. Servers bind
//! 127.0.0.1:0; signals go to the child's own PID.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sttbench::encode::{AudioFormat, ChunkEncoder};
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
use sttbench::provider::{ApiKey, Credential, Dialect, Event};
use tokio::time::timeout;
use tokio_tungstenite::client_async;
use tokio_tungstenite::tungstenite::Message;

/// Longest a server may take to print its address, or a client step to finish.
const STEP: Duration = Duration::from_secs(30);

/// How soon a server must be gone after a signal. Well under the default 10 s handshake
/// timeout, so a server that waited for its stalled clients fails.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// A server child process, killed if the test ends before it stops.
struct Server {
    child: Option<Child>,
    stdout: Option<BufReader<ChildStdout>>,
    /// Everything the server wrote to stderr, once it has exited.
    stderr: Option<mpsc::Receiver<String>>,
    /// The address line.
    line: String,
}

impl Server {
    /// Starts `sttbench <args>` and waits for the line that holds its URL.
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sttbench"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("piped");
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            // A certificate line may come first; the URL is on the line after it.
            while stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line.contains("ws://") || line.contains("wss://") {
                    break;
                }
                line.clear();
            }
            let _ = tx.send((line, stdout));
        });
        let (line, stdout) = rx.recv_timeout(STEP).expect("the server printed its address");
        Server { child: Some(child), stdout: Some(stdout), stderr: Some(err_rx), line }
    }

    /// The `ws://` or `wss://` URL from the address line.
    fn url(&self) -> String {
        let url = self
            .line
            .split_whitespace()
            .find(|w| w.starts_with("ws://") || w.starts_with("wss://"));
        url.unwrap_or_else(|| panic!("no URL in {:?}", self.line)).to_owned()
    }

    /// `host:port` from the URL.
    fn addr(&self) -> String {
        let url = self.url();
        url.split_once("://").expect("a URL").1.to_owned()
    }

    /// Sends `signal` (`INT`, `TERM`) to the child, by its PID, and waits at most
    /// [`STOP_WITHIN`] for it to exit. Returns its status, the rest of its stdout and
    /// all of its stderr.
    fn signal(mut self, signal: &str) -> (ExitStatus, String, String) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let kill = Command::new("kill").args([&format!("-{signal}"), &pid]).status();
        assert!(kill.expect("run kill").success(), "kill -{signal} {pid}");
        let mut stdout = self.stdout.take().expect("read once");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
            let _ = tx.send((child.wait().expect("wait for the server"), rest));
        });
        let (status, stdout) = rx
            .recv_timeout(STOP_WITHIN)
            .unwrap_or_else(|_| panic!("still running {STOP_WITHIN:?} after SIG{signal}"));
        let stderr = self.stderr.take().expect("once").recv_timeout(STEP).expect("stderr");
        (status, stdout, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Opens a TCP connection, writes half an HTTP upgrade and leaves it hanging.
fn stall(addr: &str) -> std::net::TcpStream {
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.write_all(b"GET /v1/listen HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("write");
    tcp
}

/// The speech fixture as 100 ms s16le chunks, padded to whole chunks.
fn speech_chunks() -> Vec<bytes::Bytes> {
    let spec = AudioFormat::PIPELINE.chunk_ms(100).expect("whole frames");
    let mut samples = sttbench::signal::speech(AudioFormat::PIPELINE).expect("the fixture");
    samples.resize(samples.len().next_multiple_of(spec.samples()), 0.0);
    ChunkEncoder::new(spec).chunks(&samples).collect()
}

/// Streams `chunks` to the server at `url` with `dialect`, sends close-stream, and
/// returns the close code the stream ended with.
async fn stream(url: &str, dialect: &impl Dialect, chunks: Vec<bytes::Bytes>) -> Option<u16> {
    let request = dialect.request(url, AudioFormat::PIPELINE).unwrap();
    let addr = url.split_once("://").unwrap().1.to_owned();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) = timeout(STEP, client_async(request, tcp)).await.expect("hung").unwrap();
    for chunk in chunks {
        ws.send(Message::Binary(chunk)).await.expect("send");
    }
    ws.send(dialect.close_stream().expect("a close-stream message")).await.expect("send");
    loop {
        let frame = timeout(STEP, ws.next()).await.expect("no frame");
        match frame.map(|f| f.map(|m| dialect.parse(m))) {
            Some(Ok(Event::Closed { code, .. })) => return Some(code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

#[tokio::test]
async fn mock_prints_its_address_and_serves_begin() {
    let mock = Server::start(&["mock", "assemblyai", "--listen", "127.0.0.1:0"]);
    assert!(mock.line.starts_with("assemblyai mock listening on ws://"), "{}", mock.line);
    let dialect =
        AssemblyAi::new(AssemblyAiConfig::default().credential(Credential::Key(ApiKey::new("k"))));
    let request = dialect.request(&mock.url(), AudioFormat::PIPELINE).unwrap();
    let tcp = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    let (mut ws, _) = timeout(STEP, client_async(request, tcp)).await.expect("hung").unwrap();
    let first = timeout(STEP, ws.next()).await.expect("no Begin").unwrap().unwrap();
    assert!(matches!(dialect.parse(first), Event::Metadata { session_id: Some(_), .. }));
}

/// The start-up line names the fault (the URL stays the line's last word, for scripts);
/// stderr has one line per connection and one when the fault fires, with the audio
/// position, at the default log level; the second connection is spared.
#[tokio::test]
async fn mock_names_its_fault_and_logs_connections_and_the_fault_as_it_fires() {
    let mock = Server::start(&[
        "mock",
        "deepgram",
        "--listen",
        "127.0.0.1:0",
        "--fault",
        "close=1011@1s",
        "--fault-connections",
        "1",
    ]);
    let line = mock.line.trim_end();
    assert!(
        line.starts_with("deepgram mock (fault close=1011@1s on the first connection) listening on ws://127.0.0.1:"),
        "{line}"
    );
    assert_eq!(line.rsplit(' ').next(), Some(mock.url().as_str()), "{line}");
    let dialect =
        Deepgram::new(DeepgramConfig::default().credential(Credential::Key(ApiKey::new("k"))));
    assert_eq!(stream(&mock.url(), &dialect, speech_chunks()).await, Some(1011), "faulted");
    assert_eq!(stream(&mock.url(), &dialect, speech_chunks()).await, Some(1000), "spared");
    let (status, stdout, stderr) = mock.signal("INT");
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(stdout.contains("deepgram mock stopped"), "{stdout}");
    for expected in [
        "connection 1: /v1/listen → 101; fault close=1011@1s",
        "fault close=1011@1s fired: 1s of audio received (32000 bytes)",
        "connection 2: /v1/listen → 101",
        "peer=127.0.0.1:",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in\n{stderr}");
    }
    assert!(!stderr.contains("connection 2: /v1/listen → 101; fault"), "{stderr}");
}

#[test]
fn mock_on_an_address_in_use_names_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(["mock", "deepgram", "--listen", &addr])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot listen on {addr}")), "{stderr}");
    assert!(stderr.contains("--listen 127.0.0.1:0"), "{stderr}");
}

#[test]
fn bad_fault_is_a_usage_error_listing_the_spellings() {
    let out = Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .args(["mock", "deepgram", "--fault", "explode"])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("close=CODE@WHEN") && stderr.contains("reject-auth"), "{stderr}");
    assert!(stderr.contains("wall:2s"), "{stderr}");
}

/// Ctrl-C (SIGINT) or SIGTERM, with three clients stuck mid-handshake: every server exits
/// 0 within a few seconds, saying it stopped, instead of waiting for them.
#[test]
fn servers_stop_cleanly_on_a_signal_with_clients_stuck_mid_handshake() {
    let cert =
        std::env::temp_dir().join(format!("sttbench-cli-servers-{}.pem", std::process::id()));
    let cert = cert.to_str().expect("a UTF-8 temp dir").to_owned();
    let cases: [(&[&str], &str, &str); 4] = [
        (&["mock", "deepgram", "--listen", "127.0.0.1:0"], "INT", "deepgram mock stopped"),
        (
            &["mock", "assemblyai", "--listen", "127.0.0.1:0", "--tls", "--cert-out", &cert],
            "TERM",
            "assemblyai mock stopped",
        ),
        (&["echo", "--listen", "127.0.0.1:0"], "INT", "echo socket stopped"),
        (&["echo", "--listen", "127.0.0.1:0"], "TERM", "echo socket stopped"),
    ];
    for (args, signal, stopped) in cases {
        let server = Server::start(args);
        let stalled: Vec<_> = (0..3).map(|_| stall(&server.addr())).collect();
        let (status, stdout, stderr) = server.signal(signal);
        assert!(status.success(), "{args:?} on SIG{signal}: {status:?}\n{stderr}");
        assert!(stdout.contains(stopped), "{args:?}: {stdout}");
        drop(stalled);
    }
    let _ = std::fs::remove_file(cert);
}

/// A signal sent the moment the address is printed finds the handler installed: a clean
/// stop, not a death by signal.
#[test]
fn a_signal_right_after_the_address_is_printed_is_a_clean_stop() {
    for args in
        [&["mock", "deepgram", "--listen", "127.0.0.1:0"][..], &["echo", "--listen", "127.0.0.1:0"]]
    {
        for _ in 0..5 {
            let (status, stdout, stderr) = Server::start(args).signal("INT");
            assert!(status.success(), "{args:?}: {status:?}\n{stderr}");
            assert!(stdout.contains("stopped"), "{args:?}: {stdout}");
        }
    }
}
