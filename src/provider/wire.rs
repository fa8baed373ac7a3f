//! Wire plumbing both hosted dialects share: building the upgrade request from a base
//! URL, query encoding, auth headers, and the frame-level part of parsing (close frames,
//! binary frames, non-UTF-8) before each dialect reads its JSON.
//!
//! Nothing here knows a provider's message types; that stays in each dialect's file.

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri, header};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::{ApiKey, Event, ProviderError};

/// The upgrade request for `base` (a `ws://` or `wss://` URL, with or without a path):
/// `default_path` when `base` has none, `query` appended to any query `base` carries.
pub(crate) fn request(
    provider: &'static str,
    base: &str,
    default_path: &str,
    query: &[(&str, String)],
) -> crate::Result<Request> {
    let uri: Uri = base.parse().map_err(|e| {
        ProviderError::config(provider, format!("`{}` is not a URL: {e}", without_query(base)))
    })?;
    let scheme = uri.scheme_str().unwrap_or("");
    if scheme != "ws" && scheme != "wss" {
        return Err(ProviderError::config(
            provider,
            format!(
                "`{}` must start with ws:// or wss:// (got scheme `{scheme}`)",
                without_query(base)
            ),
        )
        .into());
    }
    let authority = uri.authority().ok_or_else(|| {
        ProviderError::config(provider, format!("`{}` has no host", without_query(base)))
    })?;
    let path = match uri.path() {
        "" | "/" => default_path,
        p => p,
    };
    let mut target = format!("{scheme}://{authority}{path}");
    let mut sep = '?';
    if let Some(q) = uri.query().filter(|q| !q.is_empty()) {
        target.push('?');
        target.push_str(q);
        sep = '&';
    }
    for (key, value) in query {
        target.push(sep);
        sep = '&';
        target.push_str(key);
        target.push('=');
        percent_encode_into(value, &mut target);
    }
    let request = target.into_client_request().map_err(|e| {
        ProviderError::config(provider, format!("cannot build a request for `{path}`: {e}"))
    })?;
    Ok(request)
}

/// Sets `Authorization: <scheme><secret>`, marked sensitive so `http`'s `Debug` hides it.
pub(crate) fn authorize(
    provider: &'static str,
    request: &mut Request,
    scheme: &str,
    secret: &ApiKey,
) -> crate::Result<()> {
    let mut value = HeaderValue::try_from(format!("{scheme}{}", secret.expose())).map_err(|_| {
        // Never echo the value: it is the secret.
        ProviderError::config(provider, "the API key contains characters not allowed in an HTTP header; check for stray quotes or line breaks")
    })?;
    value.set_sensitive(true);
    request.headers_mut().insert(header::AUTHORIZATION, value);
    Ok(())
}

/// `base` without its query string, which may hold a token, for error messages.
fn without_query(base: &str) -> &str {
    base.split_once('?').map_or(base, |(head, _)| head)
}

/// RFC 3986 percent-encoding of a query value: everything but unreserved characters.
pub(crate) fn percent_encode_into(value: &str, out: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// A JSON control message such as `{"type":"KeepAlive"}`, as a text frame.
pub(crate) fn control(json: &'static str) -> Message {
    Message::Text(Utf8Bytes::from_static(json))
}

/// The text of a data frame, or the event for every frame that is not JSON text:
/// close frames become [`Event::Closed`], anything else [`Event::Unknown`].
pub(crate) fn text_or_event(message: Message) -> Result<Utf8Bytes, Event> {
    match message {
        Message::Text(text) => Ok(text),
        Message::Binary(bytes) => match std::str::from_utf8(&bytes) {
            // Some servers send JSON in binary frames; read it like text.
            Ok(_) => Ok(Utf8Bytes::try_from(bytes).expect("checked as UTF-8 just above")),
            Err(_) => Err(Event::Unknown(format!("<{} bytes of binary data>", bytes.len()))),
        },
        Message::Close(Some(frame)) => {
            Err(Event::Closed { code: u16::from(frame.code), reason: frame.reason.to_string() })
        }
        // RFC 6455 §7.1.5: a close frame without a code reads as 1005, "no status".
        Message::Close(None) => Err(Event::Closed { code: 1005, reason: String::new() }),
        other => Err(Event::Unknown(format!("<{} frame>", frame_kind(&other)))),
    }
}

fn frame_kind(message: &Message) -> &'static str {
    match message {
        Message::Ping(_) => "ping",
        Message::Pong(_) => "pong",
        _ => "raw",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_only_when_base_has_none() {
        let q = [("a", "b c".to_string())];
        for (base, want) in [
            ("ws://127.0.0.1:9", "ws://127.0.0.1:9/v1/listen?a=b%20c"),
            ("wss://h.example/", "wss://h.example/v1/listen?a=b%20c"),
            ("ws://h:1/custom", "ws://h:1/custom?a=b%20c"),
            ("ws://h:1/x?keep=1", "ws://h:1/x?keep=1&a=b%20c"),
        ] {
            let req = request("deepgram", base, "/v1/listen", &q).unwrap();
            assert_eq!(req.uri().to_string(), want, "{base}");
        }
    }

    #[test]
    fn non_websocket_urls_are_config_errors_without_their_query() {
        for base in ["https://api.deepgram.com?token=s3cret", "not a url?token=s3cret", "ws:///x"] {
            let err = request("deepgram", base, "/v1/listen", &[]).unwrap_err();
            let msg = err.to_string();
            assert!(!msg.contains("s3cret"), "{msg}");
            assert_eq!(
                super::super::error::kind_of(&err),
                Some(super::super::ProviderErrorKind::Config)
            );
        }
    }

    #[test]
    fn authorization_is_sensitive_and_hidden_from_debug() {
        let mut req = request("deepgram", "ws://h:1", "/", &[]).unwrap();
        authorize("deepgram", &mut req, "Token ", &ApiKey::new("k-123")).unwrap();
        assert_eq!(req.headers()[header::AUTHORIZATION], "Token k-123");
        assert!(!format!("{req:?}").contains("k-123"));
        let bad = authorize("deepgram", &mut req, "", &ApiKey::new("line\nbreak-secret"));
        assert!(!bad.unwrap_err().to_string().contains("break-secret"));
    }

    #[test]
    fn frames_that_are_not_text() {
        use tokio_tungstenite::tungstenite::protocol::CloseFrame;
        let close = Message::Close(Some(CloseFrame { code: 1011.into(), reason: "x".into() }));
        assert_eq!(text_or_event(close), Err(Event::Closed { code: 1011, reason: "x".into() }));
        assert_eq!(
            text_or_event(Message::Close(None)),
            Err(Event::Closed { code: 1005, reason: String::new() })
        );
        let bin = Message::Binary(vec![0xff, 0xfe].into());
        assert!(matches!(text_or_event(bin), Err(Event::Unknown(_))));
        assert_eq!(text_or_event(Message::Binary(b"{}".to_vec().into())).unwrap().as_str(), "{}");
    }
}
