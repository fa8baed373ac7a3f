//! Token client tests against wiremock on 127.0.0.1: success, refusals, malformed
//! replies, a slow server, an unreachable one.

use super::*;
use crate::provider::error::kind_of;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "key-8c1f-do-not-print";

fn key() -> ApiKey {
    ApiKey::new(SECRET)
}

fn client() -> TokenClient {
    TokenClient::new(Duration::from_secs(5)).expect("client")
}

/// The error's kind, after checking its message never holds the key.
fn kind(result: crate::Result<TemporaryToken>) -> ProviderErrorKind {
    let error = result.expect_err("an error");
    let message = format!("{error} {error:?}");
    assert!(!message.contains(SECRET), "key leaked: {message}");
    kind_of(&error).expect("a provider error")
}

#[tokio::test]
async fn deepgram_grant_sends_the_key_and_ttl_and_reads_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/grant"))
        .and(header("authorization", format!("Token {SECRET}").as_str()))
        .and(body_json(serde_json::json!({"ttl_seconds": 30})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "eyJhbGciOi.jwt", "expires_in": 30}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let token = client().deepgram(&server.uri(), &key(), Duration::from_secs(30)).await.unwrap();
    assert_eq!(token.token.expose(), "eyJhbGciOi.jwt");
    assert_eq!(token.expires_in, Duration::from_secs(30));
    assert_eq!(token.credential(), Credential::Token(ApiKey::new("eyJhbGciOi.jwt")));
    assert!(!format!("{token:?}").contains("jwt"));
}

#[tokio::test]
async fn assemblyai_token_sends_the_raw_key_and_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/token"))
        .and(query_param("expires_in_seconds", "60"))
        .and(header("authorization", SECRET))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "tmp-abc", "expires_in_seconds": 60})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let token = client().assemblyai(&server.uri(), &key(), Duration::from_secs(60)).await.unwrap();
    assert_eq!((token.token.expose(), token.expires_in), ("tmp-abc", Duration::from_secs(60)));
}

#[tokio::test]
async fn refusals_map_to_typed_errors_without_the_key() {
    for (status, body, want) in [
        // A body that echoes the key must still not leak it.
        (401, format!(r#"{{"error":"Invalid API key {SECRET}"}}"#), ProviderErrorKind::Auth),
        (403, r#"{"err_code":"INSUFFICIENT_PERMISSIONS"}"#.to_string(), ProviderErrorKind::Auth),
        (429, r#"{"error":"Too many requests"}"#.to_string(), ProviderErrorKind::TooManySessions),
        (500, "oops".to_string(), ProviderErrorKind::Server),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        let c = client();
        let aai = c.assemblyai(&server.uri(), &key(), Duration::from_secs(60)).await;
        assert_eq!(kind(aai), want, "assemblyai {status}");
        let dg = c.deepgram(&server.uri(), &key(), Duration::from_secs(30)).await;
        assert_eq!(kind(dg), want, "deepgram {status}");
    }
}

#[tokio::test]
async fn malformed_replies_are_unexpected_responses() {
    for body in ["not json", r#"{"tok": "x"}"#, r#"{"token": 42}"#, ""] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let result = client().assemblyai(&server.uri(), &key(), Duration::from_secs(60)).await;
        assert_eq!(kind(result), ProviderErrorKind::UnexpectedResponse, "{body:?}");
    }
}

/// A server slower than the client's deadline: a timeout error, not a hang.
#[tokio::test]
async fn slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let c = TokenClient::new(Duration::from_millis(200)).unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        c.deepgram(&server.uri(), &key(), Duration::from_secs(30)),
    )
    .await
    .expect("the client's own deadline must fire first");
    assert_eq!(kind(result), ProviderErrorKind::Timeout);
}

#[tokio::test]
async fn unreachable_server_is_a_network_error() {
    // A port that was just free: nothing listens there any more.
    let port = crate::server::bind_loopback().await.unwrap().local_addr().unwrap().port();
    let result = client()
        .deepgram(&format!("http://127.0.0.1:{port}"), &key(), Duration::from_secs(30))
        .await;
    assert_eq!(kind(result), ProviderErrorKind::Network);
}

#[tokio::test]
async fn out_of_range_expiry_is_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for secs in [0, 601] {
        let result = client().assemblyai(&server.uri(), &key(), Duration::from_secs(secs)).await;
        assert_eq!(kind(result), ProviderErrorKind::Config, "{secs} s");
    }
}
