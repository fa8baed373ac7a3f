//! No API key ever appears in anything sttbench prints: the `stream` command is run
//! with canary keys and trace-level logging (tungstenite's and rustls' logs included)
//! against mocks that accept exactly those keys, so the keys are provably sent, then
//! against mocks that refuse them; every byte of stdout and stderr is scanned.

use std::process::Command;

use sttbench::provider::{ApiKey, Hosted};
use sttbench::server::ServerHandle;
use sttbench::server::mock::{self, MockConfig};

const CANARY: [(Hosted, &str); 2] =
    [(Hosted::Deepgram, "canary-dg-7f3a9e51c0d2"), (Hosted::AssemblyAi, "canary-aai-2b8d4f60e1c7")];

async fn start(provider: Hosted, accepted: &str) -> ServerHandle {
    let config = MockConfig::new(provider).api_key(Some(ApiKey::new(accepted)));
    mock::start(config).await.expect("start the mock on 127.0.0.1:0")
}

/// Runs `sttbench stream --provider <provider> --url <url>` with the canary keys in the
/// environment and trace logging; returns its exit status and everything it printed.
async fn stream(provider: Hosted, url: String) -> (bool, String) {
    let output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sttbench"));
        command.args(["stream", "--provider", provider.name(), "--url", &url]);
        for (hosted, key) in CANARY {
            command.env(hosted.api_key_env(), key);
        }
        command.env("RUST_LOG", "trace").output().expect("the binary runs")
    })
    .await
    .expect("the child process finished");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

fn assert_no_key(printed: &str) {
    for (_, key) in CANARY {
        assert!(!printed.contains(key), "a key was printed:\n{printed}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_appear_in_output() {
    for (provider, key) in CANARY {
        // Accepted: the session only succeeds if the canary went over the wire.
        let server = start(provider, key).await;
        let (ok, printed) = stream(provider, server.ws_url()).await;
        assert!(ok, "{provider} with its key must succeed:\n{printed}");
        assert!(printed.contains("the quick brown fox"), "{printed}");
        assert!(printed.contains("TRACE") || printed.contains("DEBUG"), "no logs to scan");
        assert_no_key(&printed);
        server.shutdown().await;

        // Refused (Deepgram: HTTP 401; AssemblyAI: close 1008): the error path.
        let server = start(provider, "some-other-key").await;
        let (ok, printed) = stream(provider, server.ws_url()).await;
        assert!(!ok, "{provider} with a refused key must fail:\n{printed}");
        assert!(printed.contains("credentials were rejected"), "{printed}");
        assert_no_key(&printed);
        server.shutdown().await;
    }
}
