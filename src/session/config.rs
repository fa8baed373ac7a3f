//! How a session connects, buffers, keeps alive, closes and retries: one documented
//! value, [`SessionConfig`], and its [`ReconnectPolicy`].
//!
//! Every default is written next to its field with its unit and the trade-off, and the
//! ones that matter for latency were chosen by measurement (the `send/read_buffer`
//! bench group re-measures the read buffer). Nothing here does I/O.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::encode::AudioFormat;

/// Seed of the reconnect jitter unless one is given: fixed, so that a bench or test run
/// retries at the same instants every time.
pub const RECONNECT_SEED: u64 = 0x5E55_1011_0000_0001;

/// The fewest connect attempts a reconnect after a drop makes: with the default backoff,
/// 3.5 to 7 s for a restarting server to come back (100 + 200 + 400 + 800 + 1,600 +
/// 2,000 + 2,000 ms, less up to half of each for jitter). Meanwhile the pacer goes on
/// filling the queue, so under the default queue policy nothing is lost by waiting.
pub const RECONNECT_ATTEMPTS: u32 = 8;

/// A session's settings. Build it from [`Default`] with the by-value setters.
///
/// ```
/// use std::time::Duration;
/// use sttbench::session::{ReconnectPolicy, SessionConfig};
/// let config = SessionConfig::default()
///     .connect_timeout(Duration::from_secs(2))
///     .keep_alive(Some(Duration::from_secs(3)))
///     .reconnect(ReconnectPolicy::default().attempts(5).seed(7));
/// assert_eq!(config.get_connect_timeout(), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionConfig {
    pub(crate) format: AudioFormat,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_buffer_size: usize,
    pub(crate) nodelay: bool,
    pub(crate) keep_alive: Option<Duration>,
    pub(crate) max_write_buffer: usize,
    pub(crate) close_timeout: Duration,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) tls: TlsClient,
    pub(crate) connect_to: Option<SocketAddr>,
}

/// A rustls client config, or none for the default. rustls configs have no equality, so
/// two are equal when they are the same `Arc`: a config compares equal to its clones.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsClient(Option<Arc<rustls::ClientConfig>>);

impl TlsClient {
    pub(crate) fn get(&self) -> Option<&Arc<rustls::ClientConfig>> {
        self.0.as_ref()
    }
}

impl PartialEq for TlsClient {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            format: AudioFormat::PIPELINE,
            connect_timeout: Duration::from_secs(5),
            read_buffer_size: 8 * 1024,
            nodelay: true,
            keep_alive: Some(Duration::from_secs(5)),
            max_write_buffer: 1 << 20,
            close_timeout: Duration::from_secs(5),
            reconnect: ReconnectPolicy::default(),
            connect_to: None,
            tls: TlsClient::default(),
        }
    }
}

/// tungstenite's write buffer: a message is staged here and written on flush. Kept at
/// tungstenite's default, because [`Sender::send`](super::Sender::send) flushes every
/// message anyway and a batch benefits from the room.
const WRITE_BUFFER_SIZE: usize = 128 * 1024;

impl SessionConfig {
    /// The audio format the dialect announces to the server. Default
    /// [`AudioFormat::PIPELINE`], 16 kHz mono.
    pub fn format(mut self, format: AudioFormat) -> Self {
        self.format = format;
        self
    }

    /// Longest wait for one attempt's TCP connect plus WebSocket handshake. Default 5 s:
    /// a provider that takes longer is failing, and a voice app would rather retry.
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// Bytes read from the socket at a time. Default 8 KiB, chosen by measurement:
    /// tungstenite zero-fills the whole buffer before every read, so a large buffer
    /// costs on every received frame. Round trips through the echo socket, interleaved
    /// with raw TCP on one runtime (both ends set alike), took this many times the TCP
    /// round trip:
    ///
    /// | chunk | 4 KiB | 8 KiB | 16 KiB | 64 KiB | 128 KiB (tungstenite's default) |
    /// |---|---|---|---|---|---|
    /// | 20 ms (640 B) | 1.10–1.12 | 1.11 | 1.13 | 1.22 | 1.31–1.34 |
    /// | 250 ms (8 KB) | 1.23–1.24 | 1.14–1.15 | 1.17–1.21 | 1.17–1.23 | 1.32–1.38 |
    /// | 1 s (32 KB) | 1.78–1.96 | 1.56–1.61 | 1.41–1.55 | 1.34–1.37 | 1.44–1.47 |
    ///
    /// 8 KiB is best up to 250 ms chunks and holds any transcript message; for a peer
    /// that sends tens of KiB per message, 64 KiB is better.
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }

    /// TCP_NODELAY on the connection. Default `true`: audio chunks are small and
    /// latency-bound, and Nagle with delayed ACKs stalls a small write for up to 40 ms
    /// on a real network. Turn it off only to measure what it costs.
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Send the dialect's keep-alive after this long without sending anything. Default
    /// 5 s, half of the roughly 10 s after which providers close a silent stream;
    /// `None` sends none.
    pub fn keep_alive(mut self, interval: Option<Duration>) -> Self {
        self.keep_alive = interval;
        self
    }

    /// Most bytes buffered for a peer that does not read, in bytes. Default 1 MiB
    /// (about 30 s of 16 kHz audio). Sends wait (backpressure) while the socket is
    /// full; this caps what tungstenite may buffer on top, so a stalled peer costs
    /// bounded memory. Values below 256 KiB, twice tungstenite's staging buffer so that a
    /// message always fits beside it, are raised to 256 KiB.
    pub fn max_write_buffer(mut self, bytes: usize) -> Self {
        self.max_write_buffer = bytes;
        self
    }

    /// Longest wait for the peer to answer a graceful close. Default 5 s: providers send
    /// their last finals before closing, which can take a second or two.
    pub fn close_timeout(mut self, limit: Duration) -> Self {
        self.close_timeout = limit;
        self
    }

    /// How connecting retries. Default: [`ReconnectPolicy::default`].
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// The TLS client settings for `wss://` URLs. Default `None`: rustls with the ring
    /// provider trusting Mozilla's roots (webpki-roots), which is what the real
    /// providers need. Give a config to trust a private CA or the mock's self-signed
    /// certificate ([`trust_pem`](super::trust_pem) reads either from a PEM file;
    /// [`SelfSigned::client_config`](crate::server::mock::tls::SelfSigned::client_config)
    /// makes one in memory, feature `mock-tls`), or to present a client certificate; it replaces the default roots rather than
    /// adding to them. Shared, not copied: sessions on one config also share its TLS
    /// session cache, so a reconnect may resume instead of doing a full handshake.
    /// `ws://` ignores it.
    pub fn tls(mut self, config: Option<Arc<rustls::ClientConfig>>) -> Self {
        self.tls = TlsClient(config);
        self
    }

    /// Dial `addr` instead of the URL's host and port, while TLS (the server name it
    /// verifies) and the upgrade's `Host` header still name the URL's host: curl's
    /// `--connect-to`. This is how a session reaches a remote `wss://` service through a
    /// local impairment proxy and still verifies the service's certificate. Default
    /// `None`: dial the URL's host.
    pub fn connect_to(mut self, addr: Option<SocketAddr>) -> Self {
        self.connect_to = addr;
        self
    }

    /// Where the session dials instead of the URL's host, if anywhere
    /// ([`connect_to`](Self::connect_to)).
    pub fn get_connect_to(&self) -> Option<SocketAddr> {
        self.connect_to
    }

    /// The connect timeout.
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The close timeout.
    pub fn get_close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// The reconnect policy.
    pub fn get_reconnect(&self) -> ReconnectPolicy {
        self.reconnect
    }

    /// The tungstenite configuration these settings stand for; in-memory benches pass it
    /// to `WebSocketStream::from_raw_socket` to frame exactly as a connected session does.
    pub fn websocket_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_size)
            .write_buffer_size(WRITE_BUFFER_SIZE)
            .max_write_buffer_size(self.max_write_buffer.max(2 * WRITE_BUFFER_SIZE))
    }
}

/// How a session retries a failed connect: exponential backoff with seeded jitter.
///
/// Attempt `n` (from 1) that fails waits `min(max_backoff, initial_backoff × 2ⁿ⁻¹)`,
/// shortened by a random fraction of up to `jitter` of itself, before attempt `n + 1`.
/// A handshake the server rejects (an HTTP error such as 401) is not retried: trying
/// again cannot fix it.
///
/// The same policy covers a connection that drops mid-stream: the streaming driver
/// ([`crate::stream`]) reconnects up to [`reconnects`](Self::reconnects) times in a run,
/// each time with this schedule of attempts, and sends the audio no final result had
/// covered again first.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    attempts: u32,
    reconnects: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    jitter: f64,
    seed: u64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            attempts: 3,
            reconnects: 0,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            jitter: 0.5,
            seed: RECONNECT_SEED,
        }
    }
}

impl ReconnectPolicy {
    /// Connect attempts in all, the first included; at least 1. Default 3.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// How many dropped connections a streaming run reconnects after (a reset, a close
    /// without a close frame, a retryable close code, a stall). Default 0: a drop ends
    /// the run, so a measurement never silently includes a reconnect; `sttbench stream`
    /// sets 10 (`--reconnects`). The first attempt of each reconnect is immediate, the
    /// others follow [`backoffs`](Self::backoffs); a reconnect makes at least
    /// [`RECONNECT_ATTEMPTS`] attempts even when [`attempts`](Self::attempts) is fewer (a
    /// measured run connects once): a reconnect that gave up at the first refusal of a
    /// restarting server would lose the audio it exists to keep.
    pub fn reconnects(mut self, reconnects: u32) -> Self {
        self.reconnects = reconnects;
        self
    }

    /// Wait after the first failure. Default 100 ms.
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// Longest wait between attempts. Default 2 s.
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// Fraction (0.0 to 1.0) of each wait that is randomised. Default 0.5, so that
    /// sessions dropped together do not reconnect together; 0.0 gives exact waits.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() { 0.0 } else { fraction.clamp(0.0, 1.0) };
        self
    }

    /// Seed of the jitter. Default [`RECONNECT_SEED`], for repeatable runs; give each
    /// of many concurrent sessions its own seed so that their retries spread out.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The number of attempts.
    pub fn get_attempts(&self) -> u32 {
        self.attempts
    }

    /// How many drops a run reconnects after.
    pub fn get_reconnects(&self) -> u32 {
        self.reconnects
    }

    /// The waits after failed attempts 1, 2, …, `attempts − 1`, in order: the whole
    /// schedule, which depends only on the policy (seed included).
    pub fn backoffs(&self) -> impl Iterator<Item = Duration> + '_ {
        let mut rng = SplitMix64(self.seed);
        (1..self.attempts).map(move |attempt| {
            let doublings = (attempt - 1).min(31);
            let base = self.initial_backoff.saturating_mul(1 << doublings).min(self.max_backoff);
            // 53 random bits → a uniform fraction in [0, 1).
            let unit = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
            base.mul_f64(1.0 - self.jitter * unit)
        })
    }
}

/// SplitMix64: a tiny, well-mixed seeded generator; enough for jitter, and no
/// dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_without_jitter() {
        let policy = ReconnectPolicy::default()
            .attempts(6)
            .jitter(0.0)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(500));
        let waits: Vec<_> = policy.backoffs().map(|d| d.as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn jitter_is_bounded_and_repeatable_per_seed() {
        let policy = ReconnectPolicy::default().attempts(50).jitter(0.5);
        let a: Vec<_> = policy.backoffs().collect();
        assert_eq!(a, policy.backoffs().collect::<Vec<_>>(), "same seed, same schedule");
        assert_ne!(a, policy.seed(1).backoffs().collect::<Vec<_>>(), "another seed differs");
        let plain: Vec<_> = policy.jitter(0.0).backoffs().collect();
        for (jittered, base) in a.iter().zip(&plain) {
            assert!(*jittered <= *base && *jittered >= *base / 2, "{jittered:?} vs {base:?}");
        }
        assert!(a.iter().zip(&plain).any(|(j, b)| j != b), "jitter changes something");
    }

    #[test]
    fn out_of_range_settings_are_clamped() {
        let policy = ReconnectPolicy::default().attempts(0).jitter(f64::NAN);
        assert_eq!(policy.get_attempts(), 1);
        assert_eq!(policy.backoffs().count(), 0, "a single attempt never waits");
        assert_eq!(ReconnectPolicy::default().jitter(7.0).jitter, 1.0);
        let ws = SessionConfig::default().max_write_buffer(10).websocket_config();
        assert!(ws.max_write_buffer_size > ws.write_buffer_size, "room for one message");
    }
}
