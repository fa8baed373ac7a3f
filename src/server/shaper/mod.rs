//! The network-impairment proxy: a TCP proxy on loopback that makes a perfect link look
//! like Wi-Fi, 3G or a dying connection, between any client and any server.
//!
//! It never parses the bytes, so `ws://`, `wss://` (TLS end to end) and anything else
//! pass through untouched: put it in front of the mocks, the echo socket, a real
//! provider or a user's own app. Per direction ([`Direction`]) it applies Toxiproxy's
//! catalogue ([`Impairments`]): latency with seeded jitter (order kept), a token-bucket
//! bandwidth, slicing, stalls, a byte limit, slow close; per connection, a reset (RST)
//! at a set time or on demand. [`Profile`] names WebPageTest's link presets.
//!
//! - **Deterministic**: every random draw comes from [`ShaperConfig::seed`], the
//!   connection's number and the byte offset; time is `tokio::time`, so tests can pause
//!   it.
//! - **Live**: [`Shaper::set_link`] changes the impairments of every open connection at
//!   its next byte; [`Shaper::reset_connections`] drops them all at once.
//! - **Honest about what it models**: delay, rate, and what TCP shows of loss (a stall,
//!   a reset). Not packet loss itself: on loopback TCP retransmits invisibly, so loss is
//!   modelled as what the application sees, a delay or a stall.
//!
//! Shape: like every server here, [`run`]`(listener, config, shutdown)` and [`start`],
//! which binds `127.0.0.1:0` and returns a [`ShaperHandle`]. The per-connection work is
//! one function, [`Shaper::connection`], ready for any accept loop.

mod impair;
mod profile;
mod pump;
mod rate;
mod schedule;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{Instrument, debug, error, info, warn};

use super::accept::Limits;
pub use impair::{Bandwidth, Direction, Impairments, Link, Slicer, Stall};
pub use profile::{Profile, SOURCE as PROFILE_SOURCE};
pub use pump::{Delivery, Tap};
pub use rate::{Rate, RateParseError};

use pump::{End, Flow, pump};

/// The seed when none is given: fixed, so two runs of the same command draw alike.
pub const DEFAULT_SEED: u64 = 0x5348_4150_4552_0001;

/// How long a closing connection waits for its peers to finish. Shutdown waits twice
/// that for every connection (the accept loop's drain), so a connection that is
/// closing when it starts still finishes.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the proxy forwards to and how. See each setter for the default and trade-off.
///
/// ```
/// use std::time::Duration;
/// use sttbench::server::shaper::{Profile, ShaperConfig};
/// let config = ShaperConfig::new("127.0.0.1:9000")
///     .link(Profile::find("3g").unwrap().link())
///     .reset_after(Some(Duration::from_secs(5)))
///     .seed(7);
/// assert_eq!(config.get_link().upstream.get_latency(), Duration::from_millis(150));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShaperConfig {
    upstream: String,
    link: Link,
    reset_after: Option<Duration>,
    seed: u64,
    max_in_flight: usize,
    connect_timeout: Duration,
    tap: Option<Arc<dyn Tap>>,
    limits: Limits,
}

impl ShaperConfig {
    /// Forwards every connection to `upstream` (`HOST:PORT`, resolved at each connect),
    /// untouched until [`ShaperConfig::link`] says otherwise.
    pub fn new(upstream: impl Into<String>) -> Self {
        ShaperConfig {
            upstream: upstream.into(),
            link: Link::default(),
            reset_after: None,
            seed: DEFAULT_SEED,
            max_in_flight: 1 << 20,
            connect_timeout: Duration::from_secs(10),
            tap: None,
            limits: Limits::default().drain_timeout(2 * CLOSE_TIMEOUT),
        }
    }

    /// The impairments each way at start; change them later with [`Shaper::set_link`].
    /// Default: none.
    pub fn link(mut self, link: Link) -> Self {
        self.link = link;
        self
    }

    /// Reset (RST to both peers, as a dropped NAT mapping or a crashed middlebox does)
    /// every connection this long after it was accepted. Default `None`.
    pub fn reset_after(mut self, after: Option<Duration>) -> Self {
        self.reset_after = after;
        self
    }

    /// The seed of every random draw (jitter, slice sizes). Default [`DEFAULT_SEED`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Bytes held in flight per direction before the proxy stops reading and TCP pushes
    /// back on the sender. Default 1 MiB. Like a TCP window it caps throughput at
    /// `max_in_flight / one-way latency` (20 MB/s at 50 ms); below a bandwidth limit it
    /// is the bottleneck's buffer (1 MiB is 33 s at 256 kbit/s: a bloated mobile
    /// buffer, so a too-slow uplink shows as growing delay before it pushes back).
    pub fn max_in_flight(mut self, bytes: usize) -> Self {
        self.max_in_flight = bytes.max(1);
        self
    }

    /// How long connecting to the upstream may take before the client is reset.
    /// Default 10 s.
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// Sees every piece of data delivered, with its timestamps; default `None`.
    pub fn tap(mut self, tap: Option<Arc<dyn Tap>>) -> Self {
        self.tap = tap;
        self
    }

    /// What the accept loop tolerates ([`Limits`]: connections at once, the drain on
    /// shutdown; the proxy has no handshake of its own). Default [`Limits::default`]
    /// with a drain of 2 s, twice a closing connection's wait for its peers.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The upstream address.
    pub fn get_upstream(&self) -> &str {
        &self.upstream
    }

    /// The impairments at start.
    pub fn get_link(&self) -> Link {
        self.link
    }
}

/// A proxy: its configuration and its live settings, shared by its connections. Cheap
/// to clone; every clone controls the same connections.
#[derive(Debug, Clone)]
pub struct Shaper {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ShaperConfig,
    link: watch::Sender<Link>,
    /// Bumped by [`Shaper::reset_connections`]; each connection resets when it moves.
    resets: watch::Sender<u64>,
    next_connection: AtomicU64,
}

impl Shaper {
    /// A proxy with `config`; nothing runs until [`Shaper::run`] or
    /// [`Shaper::connection`].
    pub fn new(config: ShaperConfig) -> Shaper {
        let (link, _) = watch::channel(config.link);
        let (resets, _) = watch::channel(0);
        Shaper {
            inner: Arc::new(Inner { config, link, resets, next_connection: AtomicU64::new(0) }),
        }
    }

    /// The impairments in force.
    pub fn link(&self) -> Link {
        *self.inner.link.borrow()
    }

    /// Replaces the impairments of every connection, open or to come; each direction
    /// applies them from its next byte (a stall at once).
    pub fn set_link(&self, link: Link) {
        self.inner.link.send_replace(link);
    }

    /// Changes one direction's impairments: `shaper.update(Direction::Upstream, |i|
    /// i.stall(Some(Stall::FOREVER)))`.
    pub fn update(&self, direction: Direction, change: impl FnOnce(Impairments) -> Impairments) {
        self.inner.link.send_modify(|link| {
            let current = *link.get(direction);
            *link.get_mut(direction) = change(current);
        });
    }

    /// Resets (RST) every open connection now: a drop, as a client sees one on a train.
    pub fn reset_connections(&self) {
        self.inner.resets.send_modify(|generation| *generation += 1);
    }

    /// Serves one accepted client until it or the upstream is done, an impairment ends
    /// it, or `stop` completes (then both peers are closed). Fits any accept loop.
    pub fn connection(
        &self,
        client: TcpStream,
        peer: SocketAddr,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        let id = inner.next_connection.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("proxy", connection = id, %peer);
        inner.serve(id, client, stop).instrument(span)
    }

    /// Accepts on `listener` with the accept loop every server shares
    /// ([`accept::serve`](super::accept::serve)) until `shutdown` completes, then closes
    /// every connection and returns once they are done or the drain timeout has passed.
    pub async fn run(self, listener: TcpListener, shutdown: impl Future) {
        let limits = self.inner.config.limits;
        super::accept::serve(listener, limits, shutdown, |client, peer, stop| {
            self.connection(client, peer, stop.into_future())
        })
        .await;
    }
}

/// How a connection ends.
enum Ending {
    /// Both directions passed their close on.
    Done,
    /// Close both peers (FIN), for this reason.
    Close(&'static str),
    /// Reset both peers (RST), for this reason.
    Reset(String),
}

impl Inner {
    async fn serve(
        self: Arc<Self>,
        id: u64,
        mut client: TcpStream,
        stop: impl Future<Output = ()>,
    ) {
        let accepted = Instant::now();
        let mut resets = self.resets.subscribe();
        resets.borrow_and_update();
        let upstream = &self.config.upstream;
        let mut server =
            match timeout(self.config.connect_timeout, TcpStream::connect(upstream)).await {
                Ok(Ok(server)) => server,
                failed => {
                    let why = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("no answer within {:?}", self.config.connect_timeout),
                    };
                    // Reset, so the client fails at once instead of reading an empty stream.
                    error!("cannot reach upstream {upstream}: {why}; resetting the client");
                    let _ = client.set_zero_linger();
                    return;
                }
            };
        // The schedule decides when bytes leave; Nagle must not add its own delay.
        for socket in [&client, &server] {
            if let Err(e) = socket.set_nodelay(true) {
                warn!("cannot set TCP_NODELAY: {e}");
            }
        }
        debug!("forwarding to {upstream}");
        let ending = {
            let (client_read, client_write) = client.split();
            let (server_read, server_write) = server.split();
            let up = pump(client_read, server_write, self.flow(id, Direction::Upstream));
            let down = pump(server_read, client_write, self.flow(id, Direction::Downstream));
            let (mut up, mut down) = (std::pin::pin!(up), std::pin::pin!(down));
            let mut stop = std::pin::pin!(stop);
            let reset_at = self.config.reset_after.map(|after| accepted + after);
            let (mut up_done, mut down_done) = (false, false);
            loop {
                let end = tokio::select! {
                    end = &mut up, if !up_done => (Direction::Upstream, end),
                    end = &mut down, if !down_done => (Direction::Downstream, end),
                    () = sleep_until_some(reset_at) => {
                        break Ending::Reset("reset_after elapsed".to_string());
                    }
                    Ok(()) = resets.changed() => break Ending::Reset("reset on demand".to_string()),
                    () = &mut stop => break Ending::Close("the proxy is stopping"),
                };
                match end {
                    (Direction::Upstream, End::Finished) => up_done = true,
                    (Direction::Downstream, End::Finished) => down_done = true,
                    (_, End::Close(why)) => break Ending::Close(why),
                    (direction, End::Broken(e)) => {
                        break Ending::Reset(format!("{direction} failed: {e}"));
                    }
                }
                if up_done && down_done {
                    break Ending::Done;
                }
            }
        };
        match ending {
            Ending::Done => debug!("both sides closed"),
            Ending::Reset(why) => {
                info!("resetting both peers: {why}");
                for socket in [&client, &server] {
                    let _ = socket.set_zero_linger();
                }
            }
            Ending::Close(why) => {
                info!("closing both peers: {why}");
                let (_, _) = tokio::join!(close(&mut client), close(&mut server));
            }
        }
    }

    fn flow(&self, connection: u64, direction: Direction) -> Flow {
        // Distinct, fixed draws per connection and direction from one seed.
        let mut seed =
            self.config.seed ^ connection.wrapping_add(1).wrapping_mul(0xA24B_AED4_963E_E407);
        if direction == Direction::Downstream {
            seed ^= 0x9FB2_1C65_1E98_DF25;
        }
        Flow {
            direction,
            connection,
            seed,
            max_in_flight: self.config.max_in_flight,
            link: self.link.subscribe(),
            tap: self.config.tap.clone(),
        }
    }
}

/// Closes our side (FIN) and reads until the peer closes too, for at most
/// [`CLOSE_TIMEOUT`]: closing a socket with unread data would send a reset instead.
async fn close(socket: &mut TcpStream) {
    let _ = socket.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 4096];
        while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = timeout(CLOSE_TIMEOUT, drain).await;
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Serves `config` on `listener` until `shutdown` completes. Use [`spawn`] or [`start`]
/// to change the impairments while it runs.
pub async fn run(listener: TcpListener, config: ShaperConfig, shutdown: impl Future) {
    Shaper::new(config).run(listener, shutdown).await;
}

/// A running proxy: its address, its live settings, and the means to stop it.
#[derive(Debug)]
pub struct ShaperHandle {
    server: super::ServerHandle,
    shaper: Shaper,
}

impl ShaperHandle {
    /// Where the proxy listens: what the client connects to instead of the server.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `ws://<addr>`.
    pub fn ws_url(&self) -> String {
        self.server.ws_url()
    }

    /// The live settings: [`Shaper::set_link`], [`Shaper::update`],
    /// [`Shaper::reset_connections`].
    pub fn shaper(&self) -> &Shaper {
        &self.shaper
    }

    /// Stops accepting, closes every connection, and waits for the proxy to finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Spawns the proxy on `listener` on the current runtime.
///
/// # Errors
///
/// The I/O error when the listener's address cannot be read.
pub fn spawn(listener: TcpListener, config: ShaperConfig) -> std::io::Result<ShaperHandle> {
    let shaper = Shaper::new(config);
    let running = shaper.clone();
    let server = super::spawn(listener, move |l, s| running.run(l, s))?;
    Ok(ShaperHandle { server, shaper })
}

/// Binds `127.0.0.1:0` and spawns the proxy on it: what tests and benches use.
///
/// # Errors
///
/// The I/O error when the loopback interface cannot be bound.
pub async fn start(config: ShaperConfig) -> std::io::Result<ShaperHandle> {
    spawn(super::bind_loopback().await?, config)
}
