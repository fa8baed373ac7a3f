//! `sttbench mock`: it prints the address it serves, a client can stream to it, and a
//! bad `--fault` is a usage error that lists the spellings.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sttbench::encode::AudioFormat;
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::{ApiKey, Credential, Dialect, Event};
use tokio_tungstenite::client_async;

/// Kills the mock when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `sttbench mock <args>` and returns it with the URL from its "listening on" line.
fn start(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sttbench"))
        .arg("mock")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped");
    let running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, url)) = line.split_once(" listening on ") {
                let _ = tx.send(url.to_string());
                return;
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(30)).expect("the mock printed its address");
    (running, url)
}

#[tokio::test]
async fn mock_prints_its_address_and_serves_begin() {
    let (_mock, url) = start(&["assemblyai", "--listen", "127.0.0.1:0"]);
    let addr = url.strip_prefix("ws://").expect("a ws:// URL");
    let dialect =
        AssemblyAi::new(AssemblyAiConfig::default().credential(Credential::Key(ApiKey::new("k"))));
    let request = dialect.request(&url, AudioFormat::PIPELINE).unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let step = Duration::from_secs(20);
    let (mut ws, _) =
        tokio::time::timeout(step, client_async(request, tcp)).await.expect("hung").unwrap();
    use futures_util::StreamExt;
    let first = tokio::time::timeout(step, ws.next()).await.expect("no Begin").unwrap().unwrap();
    assert!(matches!(dialect.parse(first), Event::Metadata { session_id: Some(_), .. }));
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
}
