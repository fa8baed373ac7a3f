//! Temporary tokens: short-lived credentials minted from an API key, so the key itself
//! never has to travel with a session (browsers, shared machines, untrusted workers).
//!
//! - Deepgram: `POST /v1/auth/grant` with `Authorization: Token <key>` and
//!   `{"ttl_seconds": N}` → `{"access_token": "…", "expires_in": N}`; the session then
//!   sends `Authorization: Bearer <token>`.
//! - AssemblyAI: `GET /v3/token?expires_in_seconds=N` with `Authorization: <key>` →
//!   `{"token": "…", "expires_in_seconds": N}`; one token, one session.
//!
//! Every request has a deadline; failures become the same typed [`ProviderError`]s as
//! a refused session (a bad key is [`ProviderErrorKind::Auth`], 429 is
//! [`ProviderErrorKind::TooManySessions`], a slow server [`ProviderErrorKind::Timeout`]).
//! Neither key nor token ever appears in an error. This module does not cache or renew
//! tokens.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;

use super::{ApiKey, Credential, ProviderError, ProviderErrorKind};

/// Deepgram's REST base for [`TokenClient::deepgram`].
pub const DEEPGRAM_API: &str = "https://api.deepgram.com";

/// AssemblyAI's streaming REST base for [`TokenClient::assemblyai`].
pub const ASSEMBLYAI_API: &str = "https://streaming.assemblyai.com";

/// A minted token and how long the provider says it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporaryToken {
    /// The token; `Debug` redacts it like a key.
    pub token: ApiKey,
    /// Validity from the moment it was minted.
    pub expires_in: Duration,
}

impl TemporaryToken {
    /// The token as a session credential.
    pub fn credential(&self) -> Credential {
        Credential::Token(self.token.clone())
    }
}

/// An HTTP client for the token endpoints, with one deadline per request.
#[derive(Debug, Clone)]
pub struct TokenClient {
    http: reqwest::Client,
}

impl TokenClient {
    /// A client whose requests fail with [`ProviderErrorKind::Timeout`] after `timeout`,
    /// connection included. TLS is rustls with the ring provider and the Mozilla roots.
    ///
    /// # Errors
    ///
    /// A [`ProviderErrorKind::Config`] error if the HTTP client cannot be built.
    pub fn new(timeout: Duration) -> crate::Result<Self> {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ProviderError::config("token", format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| {
                ProviderError::config("token", format!("HTTP client setup failed: {e}"))
            })?;
        Ok(TokenClient { http })
    }

    /// Mints a Deepgram token valid for `ttl` from `api` (normally [`DEEPGRAM_API`]).
    ///
    /// # Errors
    ///
    /// A [`ProviderError`] for a refused key (401/403), a rate limit (429), a timeout, an
    /// unreachable server or a reply that is not the documented JSON.
    pub async fn deepgram(
        &self,
        api: &str,
        key: &ApiKey,
        ttl: Duration,
    ) -> crate::Result<TemporaryToken> {
        const NAME: &str = "deepgram";
        #[derive(Deserialize)]
        struct Grant {
            access_token: String,
            expires_in: Option<u64>,
        }
        let request = self
            .http
            .post(format!("{}/v1/auth/grant", api.trim_end_matches('/')))
            .header(AUTHORIZATION, sensitive(&format!("Token {}", key.expose()))?)
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::json!({ "ttl_seconds": ttl.as_secs() }).to_string());
        let grant: Grant = send(NAME, request, key).await?;
        Ok(TemporaryToken {
            token: ApiKey::new(grant.access_token),
            expires_in: Duration::from_secs(grant.expires_in.unwrap_or(ttl.as_secs())),
        })
    }

    /// Mints a one-session AssemblyAI token valid for `expires_in` (1–600 s) from `api`
    /// (normally [`ASSEMBLYAI_API`]).
    ///
    /// # Errors
    ///
    /// As for [`TokenClient::deepgram`]; also [`ProviderErrorKind::Config`] when
    /// `expires_in` is outside 1–600 s, before anything is sent.
    pub async fn assemblyai(
        &self,
        api: &str,
        key: &ApiKey,
        expires_in: Duration,
    ) -> crate::Result<TemporaryToken> {
        const NAME: &str = "assemblyai";
        #[derive(Deserialize)]
        struct Minted {
            token: String,
            expires_in_seconds: Option<u64>,
        }
        let secs = expires_in.as_secs();
        if !(1..=600).contains(&secs) {
            let detail = format!("expires_in is {secs} s; AssemblyAI accepts 1–600 s");
            return Err(ProviderError::config(NAME, detail).into());
        }
        let request = self
            .http
            .get(format!("{}/v3/token?expires_in_seconds={secs}", api.trim_end_matches('/')))
            .header(AUTHORIZATION, sensitive(key.expose())?);
        let minted: Minted = send(NAME, request, key).await?;
        Ok(TemporaryToken {
            token: ApiKey::new(minted.token),
            expires_in: Duration::from_secs(minted.expires_in_seconds.unwrap_or(secs)),
        })
    }
}

/// A header value marked sensitive, so `Debug` of the request hides it.
fn sensitive(value: &str) -> crate::Result<reqwest::header::HeaderValue> {
    let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        ProviderError::config(
            "token",
            "the API key contains characters not allowed in an HTTP header",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Sends `request` and reads the JSON reply, mapping every failure to a typed error
/// whose detail never contains `key`.
async fn send<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    request: reqwest::RequestBuilder,
    key: &ApiKey,
) -> crate::Result<T> {
    let scrub = |text: &str| super::short(&text.replace(key.expose(), "<redacted>"));
    let response = request.send().await.map_err(|e| transport_error(provider, &e))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| transport_error(provider, &e))?;
    if !(200..300).contains(&status) {
        let kind = match status {
            401 | 403 => ProviderErrorKind::Auth,
            402 => ProviderErrorKind::Payment,
            429 => ProviderErrorKind::TooManySessions,
            400 | 422 => ProviderErrorKind::BadRequest,
            500..=599 => ProviderErrorKind::Server,
            _ => ProviderErrorKind::Other,
        };
        return Err(ProviderError::new(provider, kind, Some(status), scrub(&body)).into());
    }
    serde_json::from_str(&body).map_err(|e| {
        let detail = format!("{e} in the token reply `{}`", scrub(&body));
        ProviderError::new(provider, ProviderErrorKind::UnexpectedResponse, Some(status), detail)
            .into()
    })
}

/// A request that got no HTTP answer: timed out, or never reached the server.
fn transport_error(provider: &'static str, e: &reqwest::Error) -> crate::Error {
    // reqwest's message names the URL, which holds no secret here (keys go in headers).
    let kind = if e.is_timeout() { ProviderErrorKind::Timeout } else { ProviderErrorKind::Network };
    ProviderError::new(provider, kind, None, e.to_string()).into()
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
