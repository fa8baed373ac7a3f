//! `SessionConfig::connect_to`: a session dials one address and verifies another name,
//! which is how `--profile` puts the impairment proxy in front of a remote `wss://`
//! service. A TLS mock stands in for the service: its certificate names `localhost`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Scratch;
use sttbench::pipeline::{Peer, Request};
use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
use sttbench::provider::{ApiKey, Credential, Hosted};
use sttbench::server::mock::tls::SelfSigned;
use sttbench::server::mock::{self, MockConfig, MockProvider};
use sttbench::server::shaper::Profile;
use sttbench::session::{ReconnectPolicy, Session, SessionConfig};
use sttbench::stream::{Control, Source};

/// Longest a step may take before the test says it hung.
const STEP: Duration = Duration::from_secs(30);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

fn deepgram() -> Arc<Deepgram> {
    Arc::new(Deepgram::new(DeepgramConfig::default().credential(Credential::Key(ApiKey::new("k")))))
}

#[tokio::test]
async fn a_session_dials_the_given_address_and_verifies_the_urls_name() {
    let cert = SelfSigned::generate().unwrap();
    let tls = MockConfig::new(MockProvider::Deepgram).tls(Some(cert.server_config().unwrap()));
    let server = mock::start(tls).await.unwrap();
    let config = SessionConfig::default()
        .tls(Some(cert.client_config().unwrap()))
        .reconnect(ReconnectPolicy::default().attempts(1))
        .connect_to(Some(server.addr()));
    // Port 1 has no listener: only the address given can have answered.
    let session =
        step("connect", Session::connect("wss://localhost:1", deepgram(), config.clone()))
            .await
            .expect("dialled the mock, verified `localhost`");
    let _ = session.abort();
    // A name the certificate does not hold fails though the address is the same: the
    // name verified is the URL's, not the address dialled.
    let error = step("connect", Session::connect("wss://other.invalid:1", deepgram(), config))
        .await
        .expect_err("a certificate for localhost does not pass for other.invalid");
    assert!(error.to_string().to_lowercase().contains("certificate"), "{error}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_profile_reaches_a_remote_wss_service_through_the_proxy() {
    let cert = SelfSigned::generate().unwrap();
    let scratch = Scratch::new("profile-wss");
    let pem = scratch.path("mock.pem");
    std::fs::write(&pem, cert.cert_pem()).unwrap();
    let tls = MockConfig::new(MockProvider::Deepgram).tls(Some(cert.server_config().unwrap()));
    let server = mock::start(tls).await.unwrap();
    let url = format!("wss://localhost:{}", server.addr().port());
    let profile = Profile::find("4g-fast").unwrap();
    let link = profile.link();
    let round_trip = link.upstream.get_latency() + link.downstream.get_latency();
    let plan = Request::new(vec![Peer::Provider(Hosted::Deepgram)])
        .url(Some(url.clone()))
        .ca_cert(Some(pem))
        .profile(Some(profile))
        .source(Source::default(), Some(Duration::from_secs(1)))
        .plan()
        .unwrap();
    let control = Control::new();
    let results = step("the run", plan.run(&control, |_| ())).await;
    let summary = results.into_iter().next().unwrap().expect("the run started");
    assert_eq!(summary.ended, "completed", "{summary}");
    // The summary names the service, not the proxy it went through; the proxy's link
    // delayed the TLS handshake and the upgrade by at least a round trip.
    assert_eq!(summary.url, url);
    assert!(summary.connect >= round_trip, "{:?} < {round_trip:?}", summary.connect);
    server.shutdown().await;
}
