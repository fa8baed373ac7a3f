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
//!   seeded noise, a committed speech fixture), named so benches and the CLI share them.
//! - [`encode`]: the audio format and chunk arithmetic, f32/i16 → s16le chunks as
//!   [`bytes::Bytes`] without per-chunk allocation, downmix, resampling, WAV input.
//! - [`bmf`]: the one result format, Bencher Metric Format JSON, that every measurement
//!   which can regress is written in.
//! - [`baseline`]: criterion output, instruction counts and BMF read into one result set,
//!   baseline files, the comparison that judges each measure by its nature, and reports.
//! - [`provider`]: dialects (echo, Deepgram, AssemblyAI): URLs, auth, control messages,
//!   server frames → one [`provider::Event`] enum, close codes → typed errors.
//! - [`pipeline`]: measured sessions with a provider or its mock: time to first partial,
//!   final latency per utterance, transcripts per second; providers side by side.
//! - [`server`]: local peers (echo socket, mock providers, impairment proxy), each a
//!   `run(listener, shutdown)` plus a [`server::ServerHandle`].
//! - [`session`]: the streaming client: connect (`ws://` or `wss://`) with timeout and retries, send chunks,
//!   keep alive, graceful close or abort, events back, per-session stats; real-time
//!   paced runs ([`session::run`]).
//! - [`pace`]: waking at absolute deadlines as punctually as the OS allows (a `timerfd`
//!   on the caller's runtime), the OS timer floor, and the two measured side by side.
//! - [`metrics`]: HdrHistogram latency (p50 … max), throughput (KB/s, Mbit/s, msg/s),
//!   and the text and JSON reports built from them.
//! - [`error`]: the crate's error type; every variant says what the caller should do.

pub mod baseline;
pub mod bmf;
pub mod encode;
pub mod error;
pub mod metrics;
pub mod pace;
pub mod pipeline;
pub mod provider;
pub mod server;
pub mod session;
pub mod signal;

pub use error::{Error, Result};
