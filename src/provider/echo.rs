//! The echo dialect: what a session speaks to the local echo socket
//! ([`crate::server::echo`]).
//!
//! It is the simplest possible provider: the upgrade request is the URL as given, no
//! auth, no control messages, and every data frame comes back as it went, so the session
//! can pair each echo with its send and time the round trip. Benches and the
//! `sttbench stream` command use it to measure the transport alone.
//!
//! It deliberately parses nothing: a frame is an echo, whatever it holds.

use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;

use super::{Dialect, Event};
use crate::encode::AudioFormat;
use crate::error::UrlError;

/// The echo dialect. See the module doc.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Echo;

impl Dialect for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    /// The URL as given: the echo socket takes any path and no query.
    fn request(&self, url: &str, _format: AudioFormat) -> crate::Result<Request> {
        ws_request(url)
    }

    fn parse(&self, message: Message) -> Event {
        match message {
            Message::Binary(bytes) => Event::Echo(bytes),
            Message::Text(text) => Event::EchoText(text.as_str().to_owned()),
            // The session handles control frames itself; anything else reaching a
            // dialect is unexpected but not fatal.
            other => Event::Unknown(format!("unexpected {} frame", frame_kind(&other))),
        }
    }

    fn echoes(&self) -> bool {
        true
    }
}

/// Builds a plain upgrade request for `url`, which must be `ws://host[:port][/path]` or
/// the same with `wss://` (an echo server behind TLS).
///
/// Shared by dialects that need nothing beyond the URL.
///
/// # Errors
///
/// [`crate::Error::InvalidUrl`] naming the URL and the problem.
pub fn ws_request(url: &str) -> crate::Result<Request> {
    if !url.starts_with("ws://") && !url.starts_with("wss://") {
        let problem = "expected a ws:// or wss:// URL, such as ws://127.0.0.1:9000";
        return Err(UrlError::new(url, problem).into());
    }
    url.into_client_request().map_err(|e| UrlError::new(url, e.to_string()).into())
}

fn frame_kind(message: &Message) -> &'static str {
    match message {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        Message::Ping(_) => "ping",
        Message::Pong(_) => "pong",
        Message::Close(_) => "close",
        Message::Frame(_) => "raw",
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::Error;

    #[test]
    fn request_keeps_the_url() {
        let req = Echo.request("ws://127.0.0.1:9000/listen", AudioFormat::PIPELINE).unwrap();
        assert_eq!(req.uri().to_string(), "ws://127.0.0.1:9000/listen");
        assert!(req.headers().get("authorization").is_none(), "the echo socket takes no auth");
    }

    #[test]
    fn wss_is_accepted() {
        let req = Echo.request("wss://echo.example:8443", AudioFormat::PIPELINE).unwrap();
        assert_eq!(req.uri().scheme_str(), Some("wss"));
    }

    #[test]
    fn bad_urls_say_what_to_use() {
        for (url, hint) in [
            ("http://127.0.0.1:9000", "expected a ws:// or wss:// URL"),
            ("127.0.0.1:9000", "expected a ws:// or wss:// URL"),
            ("ws://", ""),
        ] {
            let err = Echo.request(url, AudioFormat::PIPELINE).unwrap_err();
            assert!(matches!(err, Error::InvalidUrl(_)), "{url}: {err:?}");
            let msg = err.to_string();
            assert!(msg.contains(url) && msg.contains(hint), "{url}: {msg}");
        }
    }

    #[test]
    fn every_data_frame_is_an_echo() {
        let chunk = Bytes::from_static(&[1, 2, 3]);
        assert_eq!(Echo.parse(Message::Binary(chunk.clone())), Event::Echo(chunk));
        assert_eq!(Echo.parse(Message::text("hé")), Event::EchoText("hé".into()));
        assert_eq!(
            Echo.parse(Message::Ping(Bytes::new())),
            Event::Unknown("unexpected ping frame".into())
        );
        assert!(Echo.echoes());
        assert!(Echo.close_error(4000, "bye").is_none(), "every close is reported as an event");
    }
}
