//! The local pieces of one run: a mock (or echo socket) started for it, and an
//! impairment proxy with a named link profile in front of whatever the run streams to.
//!
//! A mock started here carries a [`ServerClock`], so the run's latency splits into
//! uplink, server and downlink ([`Transit`](super::Transit)); in a real-time run it waits
//! a provider's published processing time before each reply
//! ([`realistic_delay`](crate::server::mock::realistic_delay)), unpaced it answers at once
//! (an unpaced run measures the client alone).
//!
//! With [`Apart::Thread`] the mock and the proxy run on a thread and runtime of their
//! own, so their work never delays the client's pacer or writer: what the CLI and the
//! network benches measure, where the client's own figures are the point. On the
//! caller's runtime ([`Apart::Shared`]) a test's paused clock reaches them too.
//!
//! The proxy listens on 127.0.0.1 and forwards to the URL's host and port. The session
//! keeps the URL as it is and only dials the proxy
//! ([`SessionConfig::connect_to`](crate::session::SessionConfig::connect_to)), so a
//! `wss://` service, the real providers' included, is verified by its own name through
//! the proxy.

use std::sync::Arc;

use super::ServerClock;
use super::route::Peer;
use crate::Error;
use crate::server::mock::{self, MockConfig, Tap};
use crate::server::shaper::{self, Profile, ShaperConfig, ShaperHandle};
use crate::server::{ServerHandle, echo};

/// Where a run's local servers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Apart {
    /// On the caller's runtime, beside the client (a paused test clock reaches them).
    #[default]
    Shared,
    /// On a thread and current-thread runtime of their own, started for the run.
    Thread,
}

/// What a run started, and where it streams.
#[derive(Debug)]
pub(crate) struct Local {
    /// The URL the session asks for: the local server's, or the given one.
    pub url: String,
    /// Where the session dials instead of the URL's host: the proxy, when there is one
    /// (see [`SessionConfig::connect_to`](crate::session::SessionConfig::connect_to)).
    pub connect_to: Option<std::net::SocketAddr>,
    /// The local mock's clock, when one was started.
    pub clock: Option<Arc<ServerClock>>,
    server: Option<ServerHandle>,
    proxy: Option<ShaperHandle>,
    thread: Option<Thread>,
}

/// A runtime on a thread of its own, running until told to stop.
#[derive(Debug)]
struct Thread {
    handle: tokio::runtime::Handle,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Thread {
    fn start() -> std::io::Result<Thread> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // Detached: it ends as soon as `stop` is sent or dropped.
        std::thread::Builder::new().name("sttbench-local-servers".into()).spawn(move || {
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })?;
        Ok(Thread { handle, stop })
    }
}

/// Runs `task` on `thread`'s runtime, or here without one.
async fn on<T: Send + 'static>(
    thread: Option<&Thread>,
    task: impl Future<Output = T> + Send + 'static,
) -> T {
    match thread {
        None => task.await,
        Some(thread) => match thread.handle.spawn(task).await {
            Ok(value) => value,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        },
    }
}

impl Local {
    /// Starts what the run needs: a local peer when `url` is `None`, and a proxy with
    /// `profile` in front of the target when one is given.
    pub async fn start(
        peer: Peer,
        url: Option<&str>,
        realtime: bool,
        profile: Option<Profile>,
        apart: Apart,
    ) -> crate::Result<Local> {
        let needed = url.is_none() || profile.is_some();
        let thread = match apart {
            Apart::Thread if needed => Some(Thread::start().map_err(|e| no_local(peer, e))?),
            _ => None,
        };
        let (mut local, upstream) = match url {
            Some(url) => {
                let upstream = authority(url).ok_or_else(|| {
                    Error::Usage(format!("cannot find a host and port in the URL `{url}`").into())
                })?;
                let local = Local {
                    url: url.to_string(),
                    connect_to: None,
                    clock: None,
                    server: None,
                    proxy: None,
                    thread,
                };
                (local, upstream)
            }
            None => {
                let clock = ServerClock::new();
                let server =
                    on(thread.as_ref(), start_peer(peer, realtime, Some(clock.clone()))).await?;
                let upstream = server.addr().to_string();
                let local = Local {
                    url: server.ws_url(),
                    connect_to: None,
                    clock: (peer != Peer::Echo).then_some(clock),
                    server: Some(server),
                    proxy: None,
                    thread,
                };
                (local, upstream)
            }
        };
        if let Some(profile) = profile {
            let config = ShaperConfig::new(upstream.clone()).link(profile.link());
            let proxy = match on(local.thread.as_ref(), shaper::start(config)).await {
                Ok(proxy) => proxy,
                Err(e) => {
                    local.shutdown().await;
                    return Err(no_local(peer, e));
                }
            };
            // The URL stays as it is, so wss:// still verifies the real host's
            // certificate; only the TCP connection goes to the proxy.
            local.connect_to = Some(proxy.addr());
            local.proxy = Some(proxy);
        }
        Ok(local)
    }

    /// Stops the proxy, then the server.
    pub async fn shutdown(self) {
        let Local { proxy, server, thread, .. } = self;
        let stop = async move {
            if let Some(proxy) = proxy {
                proxy.shutdown().await;
            }
            if let Some(server) = server {
                server.shutdown().await;
            }
        };
        on(thread.as_ref(), stop).await;
        if let Some(thread) = thread {
            let _ = thread.stop.send(());
        }
    }
}

/// Starts an echo socket, or a mock of the provider with `tap` and, when `realtime`, the
/// provider's published delay, on 127.0.0.1 with a free port.
pub(crate) async fn start_peer(
    peer: Peer,
    realtime: bool,
    tap: Option<Arc<ServerClock>>,
) -> crate::Result<ServerHandle> {
    let started = match peer {
        Peer::Echo => echo::start(echo::EchoConfig::default()).await,
        Peer::Provider(hosted) => {
            let delay = if realtime { mock::realistic_delay(hosted) } else { Default::default() };
            let tap = tap.map(|clock| clock as Arc<dyn Tap>);
            mock::start(MockConfig::new(hosted).delay(delay).tap(tap)).await
        }
    };
    started.map_err(|e| no_local(peer, e))
}

fn no_local(peer: Peer, e: std::io::Error) -> Error {
    let name = match peer {
        Peer::Echo => "echo",
        Peer::Provider(hosted) => hosted.name(),
    };
    crate::provider::ProviderError::config(name, format!("cannot start a local peer: {e}")).into()
}

/// `host:port` of a `ws://` or `wss://` URL, the scheme's port when none is written.
fn authority(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = &rest[..end];
    if host.is_empty() {
        return None;
    }
    let has_port = host.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok())
        && !host.ends_with(']');
    if has_port {
        return Some(host.to_string());
    }
    let port = match scheme {
        "ws" => 80,
        "wss" => 443,
        _ => return None,
    };
    Some(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_their_host_and_port() {
        assert_eq!(authority("ws://127.0.0.1:9000/v1/listen?x=1").unwrap(), "127.0.0.1:9000");
        assert_eq!(authority("wss://api.deepgram.com/v1/listen").unwrap(), "api.deepgram.com:443");
        assert_eq!(authority("ws://[::1]:81").unwrap(), "[::1]:81");
        assert_eq!(authority("ws://[::1]").unwrap(), "[::1]:80");
        assert_eq!(authority("http://x"), None);
        assert_eq!(authority("ws:///path"), None);
        assert_eq!(authority("no scheme"), None);
    }
}
