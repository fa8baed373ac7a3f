//! Credentials for the hosted providers: API keys and temporary tokens.
//!
//! A key is a secret. [`ApiKey`] holds it so that it cannot leak by accident: its
//! `Debug` prints `ApiKey(<redacted>)`, it has no `Display`, and the one way to read it,
//! [`ApiKey::expose`], is named so a reviewer sees every place that does. Keys come from
//! the environment ([`ApiKey::from_env`]) or from a value the caller passes explicitly;
//! nothing here reads files or prompts. Headers carrying a key are marked sensitive, so
//! `http`'s `Debug` hides them.
//!
//! One leak is outside our code: tungstenite logs the raw upgrade request, headers
//! included, at TRACE under `tungstenite::handshake::client`. The `sttbench` binary drops
//! that target's TRACE events whatever `RUST_LOG` says (`tests/secrets.rs` checks it); a
//! program embedding this crate with its own logger should do the same.
//!
//! This module does not mint temporary tokens.

use std::fmt;

/// An API key or temporary token, redacted everywhere it could be printed.
///
/// ```
/// use sttbench::provider::ApiKey;
/// let key = ApiKey::new("dg-secret-123");
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert_eq!(key.expose(), "dg-secret-123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Box<str>);

impl ApiKey {
    /// Wraps a key the caller already holds (from a secret store, a test, …).
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().into_boxed_str())
    }

    /// The key in environment variable `var`, or `None` when it is unset, empty, or not
    /// valid Unicode. Surrounding whitespace (a pasted newline) is trimmed.
    pub fn from_env(var: &str) -> Option<Self> {
        let value = std::env::var(var).ok()?;
        let key = value.trim();
        (!key.is_empty()).then(|| ApiKey::new(key))
    }

    /// The secret itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How a session authenticates to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// A long-lived API key (Deepgram `Authorization: Token …`, AssemblyAI
    /// `Authorization: <key>`).
    Key(ApiKey),
    /// A short-lived token minted from a key (Deepgram `Authorization: Bearer …`,
    /// AssemblyAI `Authorization: <token>` or `?token=…`).
    Token(ApiKey),
}

impl Credential {
    /// The secret, whichever kind it is.
    pub fn secret(&self) -> &ApiKey {
        match self {
            Credential::Key(k) | Credential::Token(k) => k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("super-secret-value");
        let cred = Credential::Token(key.clone());
        for printed in [format!("{key:?}"), format!("{key:#?}"), format!("{cred:?}")] {
            assert!(!printed.contains("super-secret"), "{printed}");
            assert!(printed.contains("redacted"), "{printed}");
        }
    }

    #[test]
    fn from_env_trims_and_ignores_empty() {
        // A variable name no one else uses, so parallel tests cannot interfere.
        let var = "STTBENCH_TEST_CREDENTIAL_FROM_ENV";
        // SAFETY: only this test reads or writes this variable.
        unsafe { std::env::set_var(var, "  abc\n") };
        assert_eq!(ApiKey::from_env(var).map(|k| k.expose().to_owned()), Some("abc".into()));
        unsafe { std::env::set_var(var, " \n") };
        assert_eq!(ApiKey::from_env(var), None);
        unsafe { std::env::remove_var(var) };
        assert_eq!(ApiKey::from_env(var), None);
    }
}
