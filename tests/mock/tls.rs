//! The mocks' `wss://` mode (feature `mock-tls`, which makes their certificate).

use sttbench::encode::AudioFormat;
use sttbench::provider::Event;
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::{ApiKey, Credential, Dialect};
use sttbench::server::mock::tls::SelfSigned;
use sttbench::server::mock::{MockConfig, MockProvider};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::{Connector, client_async_tls_with_config};

use crate::client::{Client, STEP, start};

fn dialect(key: &str) -> AssemblyAi {
    AssemblyAi::new(AssemblyAiConfig::default().credential(Credential::Key(ApiKey::new(key))))
}

fn mock() -> MockConfig {
    MockConfig::new(MockProvider::AssemblyAi)
}

/// The `wss://` mode: tokio-tungstenite's rustls connector, trusting only the generated
/// certificate, gets `Begin` over TLS.
#[tokio::test]
async fn tls_mode_serves_wss_with_the_generated_certificate() {
    let cert = SelfSigned::generate().expect("certificate");
    let server = start(mock().tls(Some(cert.server_config().unwrap()))).await;
    assert!(server.ws_url().starts_with("wss://127.0.0.1:"), "{}", server.ws_url());
    let url = format!("wss://localhost:{}", server.addr().port());
    let request = dialect("k").request(&url, AudioFormat::PIPELINE).unwrap();
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    // The connector a session uses for wss://, here trusting only the mock's certificate.
    let connector = Connector::Rustls(cert.client_config().unwrap());
    let handshake = client_async_tls_with_config(request, tcp, None, Some(connector));
    let (ws, _) = timeout(STEP, handshake).await.expect("hung").expect("TLS upgrade");
    let mut client = Client { ws, dialect: dialect("k") };
    let begin = client.next_event("Begin over TLS").await.expect("open");
    assert!(matches!(begin, Event::Metadata { session_id: Some(_), .. }), "{begin:?}");
    server.shutdown().await;
}
