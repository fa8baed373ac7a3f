//! sttbench measures, and guards against regressions in, the audio streaming pipeline of
//! a real-time speech-to-text client: PCM samples → chunking and s16le encoding →
//! WebSocket send → transcripts back.
//!
//! The library is the pipeline itself plus the instruments around it; the benches in
//! `benches/` and the `sttbench` binary are thin layers over it.
//!
//! # Layout
//!
//! - [`signal`]: deterministic test audio (silence, tones, sweeps, clipping, i16 extremes,
//!   seeded noise, a committed speech fixture), named so benches and the CLI share them;
//!   [`signal::vad`]: where the speech is (voice activity, utterance ends).
//! - [`encode`]: the audio format and chunk arithmetic, f32/i16 → s16le chunks as
//!   [`bytes::Bytes`] without per-chunk allocation, downmix, anti-aliased resampling,
//!   WAV input.
//! - [`bmf`]: the one result format, Bencher Metric Format JSON, that every measurement
//!   which can regress is written in.
//! - [`baseline`]: criterion output, instruction counts and BMF read into one result set,
//!   baseline files, the comparison that judges each measure by its nature, and reports.
//! - [`provider`]: dialects (echo, Deepgram, AssemblyAI): URLs, auth, control messages,
//!   server frames → one [`provider::Event`] enum, close codes → typed errors.
//! - [`stream`]: the streaming driver, one loop for every whole run: a source resolved to
//!   chunks, pacing on absolute deadlines behind a [`stream::Pacer`], a bounded queue to
//!   the socket writer, stall detection, per-chunk timestamps to an observer, the run
//!   recorder, reconnecting after a drop without losing audio (the unconfirmed audio
//!   kept and sent again, results re-based), and an [`stream::Outcome`] for every
//!   ending.
//! - [`pipeline`]: measured runs on the driver: time to first partial, final latency per
//!   utterance, transcripts per second; routing a request to echo or providers (real, a
//!   URL, a local mock); the summary of a run, text and JSON.
//! - [`server`]: local peers (echo socket, mock providers, the impairment proxy with
//!   named link profiles) on one accept loop ([`server::accept`]), each a
//!   `run(listener, config, shutdown)` and a `start(config)` that returns a handle.
//! - [`session`]: the streaming client: connect (`ws://` or `wss://`) with timeout and
//!   retries, send chunks, keep alive, graceful close or abort, events back, per-session
//!   stats.
//! - [`pace`]: waking at absolute deadlines as punctually as the OS allows (a `timerfd`
//!   on the caller's runtime), the OS timer floor, and the two measured side by side.
//! - [`metrics`]: HdrHistogram latency (p50 … max), throughput (KB/s, Mbit/s, msg/s),
//!   and the text and JSON reports built from them; HdrHistogram interval logs and their
//!   exact merge across processes and machines ([`metrics::interval_log`]).
//! - [`load`]: many paced streams from one process (`sttbench load`): ramp-up, bounded
//!   duration, latencies over every stream, memory and CPU per stream, whether every
//!   stream kept real time, the largest count that does, HdrHistogram interval logs.
//! - [`error`]: the crate's error type; every variant says what the caller should do.
//! - `plot` (feature `plot`): an SVG per run, lag over time and latency per stage.
//! - `fuzzing` (hidden): entry points for the fuzz targets in `fuzz/`, which feed raw
//!   bytes to every reader of outside input.

pub mod baseline;
pub mod bmf;
pub mod encode;
pub mod error;
pub mod load;
pub mod metrics;
pub mod pace;
pub mod pipeline;
#[cfg(feature = "plot")]
pub mod plot;
pub mod provider;
pub mod server;
pub mod session;
pub mod signal;
pub mod stream;

#[doc(hidden)]
pub mod fuzzing;

pub use error::{Error, Result};
