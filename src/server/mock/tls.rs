//! A self-signed certificate for the mocks' `wss://` mode.
//!
//! Some official clients refuse plain `ws://` (AssemblyAI's Node SDK throws "Invalid
//! protocol, must be wss"). [`SelfSigned::generate`] makes a fresh certificate for
//! `localhost` and `127.0.0.1` each time; the client is told to trust its PEM (for Node,
//! `NODE_EXTRA_CA_CERTS=cert.pem`; for a Rust client, [`SelfSigned::client_config`], which
//! a session takes through [`SessionConfig::tls`](crate::session::SessionConfig::tls)).
//!
//! TLS uses rustls with the ring provider: no system OpenSSL, no cmake. This is a test
//! certificate for loopback only; it is not a way to serve anything real.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A generated certificate and its key, ready for the mock and for a test client.
#[derive(Debug)]
pub struct SelfSigned {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl SelfSigned {
    /// A new certificate valid for `localhost` and `127.0.0.1`.
    ///
    /// # Errors
    ///
    /// An I/O error of kind `Other` if key generation fails (it does not, short of a
    /// broken system random source).
    pub fn generate() -> std::io::Result<Self> {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let certified = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
        Ok(SelfSigned {
            cert_pem: certified.cert.pem(),
            cert_der: certified.cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
        })
    }

    /// The certificate in PEM, for a client's trust store (`NODE_EXTRA_CA_CERTS`, Python's
    /// `ssl` context, `curl --cacert`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The server side, for [`MockConfig::tls`](super::MockConfig::tls).
    ///
    /// # Errors
    ///
    /// An I/O error of kind `Other` if rustls rejects the generated key (it does not).
    pub fn server_config(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        let key = PrivateKeyDer::Pkcs8(self.key_der.clone_key());
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .map_err(std::io::Error::other)?;
        Ok(Arc::new(config))
    }

    /// A client config that trusts this certificate and nothing else, for tests.
    ///
    /// # Errors
    ///
    /// An I/O error of kind `Other` if rustls rejects the certificate (it does not).
    pub fn client_config(&self) -> std::io::Result<Arc<rustls::ClientConfig>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert_der.clone()).map_err(std::io::Error::other)?;
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// The ring provider, passed explicitly so no process-wide default has to be installed.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_is_pem_and_configs_build() {
        let cert = SelfSigned::generate().unwrap();
        assert!(cert.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        cert.server_config().unwrap();
        cert.client_config().unwrap();
    }
}
