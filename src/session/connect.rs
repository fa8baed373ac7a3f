//! Dialing a session: TCP (with TCP_NODELAY as configured), TLS for `wss://`, the
//! WebSocket upgrade, retries per the [`ReconnectPolicy`](super::ReconnectPolicy), and
//! the dialect's reading of an upgrade refused with an HTTP status.
//!
//! TLS is rustls with the ring provider. Unless [`SessionConfig::tls`] gives a client
//! config, `wss://` trusts Mozilla's roots (webpki-roots), from one config built on
//! first use and shared by every session, so a reconnect neither rebuilds the root
//! store nor depends on a process-wide rustls provider. `ws://` never touches TLS: its
//! stream is [`MaybeTlsStream::Plain`], one enum match per read or write.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::TlsError;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::{Session, SessionConfig};
use crate::error::{ConnectError, ConnectFailure, Error, FileError};
use crate::provider::Dialect;

impl Session<MaybeTlsStream<TcpStream>> {
    /// Connects to `url` (`ws://` or `wss://`) speaking `dialect`: TCP (with TCP_NODELAY
    /// as configured), TLS for `wss://` (see [`SessionConfig::tls`]), then the WebSocket
    /// handshake, each attempt within the connect timeout, retried per the reconnect
    /// policy.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] (or the dialect's configuration error) for a URL the
    /// dialect cannot use; the dialect's typed error
    /// ([`Dialect::handshake_error`]) when the server answered the upgrade with an HTTP
    /// status the dialect maps, such as Deepgram's 401 for a bad key; [`Error::Connect`]
    /// when every attempt failed otherwise, naming the last failure. An HTTP answer is
    /// never retried.
    pub async fn connect(
        url: &str,
        dialect: Arc<dyn Dialect>,
        config: SessionConfig,
    ) -> crate::Result<Self> {
        let policy = config.reconnect;
        let mut backoffs = policy.backoffs();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = dialect.request(url, config.format)?;
            let once = connect_once(request, &config);
            let failure = match timeout(config.connect_timeout, once).await {
                Ok(Ok(ws)) => return Ok(Session::from_websocket(ws, dialect, config)),
                Ok(Err(failure)) => failure,
                Err(_) => ConnectFailure::Timeout(config.connect_timeout),
            };
            // An HTTP answer other than an upgrade is the server's decision; retrying
            // cannot change it, and the dialect may know what its status means.
            let refused = match &failure {
                ConnectFailure::Handshake(WsError::Http(response)) => {
                    let body = response.body().as_deref().map(String::from_utf8_lossy);
                    let status = response.status().as_u16();
                    if let Some(error) = dialect.handshake_error(status, &body.unwrap_or_default())
                    {
                        return Err(error);
                    }
                    true
                }
                _ => false,
            };
            match backoffs.next() {
                Some(wait) if !refused => {
                    tracing::debug!(attempt, ?wait, "connect failed, retrying: {failure}");
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    let (url, attempts) = (url.to_owned(), attempt);
                    return Err(Error::Connect(Box::new(ConnectError {
                        url,
                        attempts,
                        cause: failure,
                    })));
                }
            }
        }
    }
}

/// One attempt: TCP, TLS when the request is `wss://`, the upgrade.
async fn connect_once(
    request: Request,
    config: &SessionConfig,
) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, ConnectFailure> {
    let uri = request.uri();
    let secure = uri.scheme_str() == Some("wss");
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = match config.connect_to {
        Some(addr) => TcpStream::connect(addr).await,
        None => TcpStream::connect((host, port)).await,
    }
    .map_err(ConnectFailure::Io)?;
    tcp.set_nodelay(config.nodelay).map_err(ConnectFailure::Io)?;
    // Plain for ws://, so tokio-tungstenite never builds a TLS config it would not use.
    let connector = match (secure, config.tls.get()) {
        (false, _) => Connector::Plain,
        (true, Some(tls)) => Connector::Rustls(Arc::clone(tls)),
        (true, None) => Connector::Rustls(default_tls().map_err(ConnectFailure::Handshake)?),
    };
    let ws_config = Some(config.websocket_config());
    let (ws, _response) =
        tokio_tungstenite::client_async_tls_with_config(request, tcp, ws_config, Some(connector))
            .await
            .map_err(ConnectFailure::Handshake)?;
    Ok(ws)
}

/// A TLS client config, for [`SessionConfig::tls`], that trusts exactly the certificates
/// in the PEM file at `path`: a private CA, or the self-signed certificate that
/// `sttbench mock --tls` writes. ring provider, as the default config.
///
/// # Errors
///
/// [`Error::File`] naming the file when it cannot be read, holds no certificate, or holds
/// one that is not a usable trust anchor.
pub fn trust_pem(path: &Path) -> crate::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let unusable = |problem: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
        Error::from(FileError::new(path, problem, source))
    };
    let mut roots = rustls::RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| unusable(format!("cannot read certificates: {e}"), Some(Box::new(e))))?;
    for certificate in certificates {
        let certificate = certificate
            .map_err(|e| unusable(format!("not a PEM certificate: {e}"), Some(Box::new(e))))?;
        roots.add(certificate).map_err(|e| {
            unusable(format!("the certificate cannot be trusted: {e}"), Some(Box::new(e)))
        })?;
    }
    if roots.is_empty() {
        let problem = "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_string();
        return Err(unusable(problem, None));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| unusable(format!("no TLS version available: {e}"), Some(Box::new(e))))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The `wss://` client config unless one is given: ring, Mozilla's roots, built once.
fn default_tls() -> Result<Arc<rustls::ClientConfig>, WsError> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    // Fails only if ring lacked every safe protocol version; an error, not a panic.
    .with_safe_default_protocol_versions()
    .map_err(|e| WsError::Tls(TlsError::from(e)))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::clone(CONFIG.get_or_init(|| Arc::new(config))))
}
