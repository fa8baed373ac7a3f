//! Measured streaming runs: what `sttbench stream`, the pipeline benches and the
//! real-provider benches run, on the one driver ([`crate::stream`]).
//!
//! The pipeline adds what a speech-to-text user waits for to the driver's figures. Its
//! [`Timeline`] observes a run and derives, per session:
//!
//! - **time to first partial**: from the first audio sent to the first non-empty
//!   transcript (partial or final): what a user waits before words appear;
//! - **final latency**, per utterance: from the moment the audio where the speech ended
//!   was due to the arrival of the first final that covers it. That is what a user waits
//!   after they stop talking: the provider's endpointing (the silence it waits for), its
//!   processing and the transport;
//! - **transcription rate**: transcript events per second of session.
//!
//! Speech ends come from the audio itself (an energy detector: a voiced run followed by
//! [`PAUSE`]), not from the provider, so the figure means the same for every provider.
//!
//! Around it: [`run`] measures one session with a dialect; [`route`] turns what a user
//! asked for (echo or providers; production, a URL or a local mock; chunk sizes and
//! durations by peer) into runs; [`Summary`] says what a run measured, in text and JSON,
//! however it ended; [`Transit`] splits the wait past the client into uplink, server and
//! downlink where a local mock's [`ServerClock`] saw the run, and says how far behind
//! real time the audio fell; `local.rs` starts a run's mock and its link-profile proxy.

mod local;
mod measure;
pub mod route;
mod summary;
mod timeline;
mod transit;

pub use local::Apart;
pub use measure::{PipelineOptions, PipelineRun, run};
pub use route::{Peer, Plan, Request, Target, run_hosted};
pub use summary::{GapSummary, Summary, exit_code, table};
pub use timeline::{PipelineReport, Timeline};
pub use transit::{Behind, NetworkStages, ServerClock, TOO_SLOW_GROWTH, Transit};

use std::time::Duration;

use crate::encode::AudioFormat;

/// The silence after voiced audio that ends an utterance for [`speech_ends`]: shorter
/// gaps are between words. 300 ms is Deepgram's usual endpointing and below
/// AssemblyAI's 400 ms turn silence.
pub const PAUSE: Duration = Duration::from_millis(300);

/// How far a final's end may fall short of a speech end and still cover it. Providers
/// place a word's end where the word stops being recognisable, up to a few frames before
/// its energy fades; 300 ms is far above that and far below a pause between sentences.
pub const COVER_TOLERANCE: Duration = Duration::from_millis(300);

/// Audio times at which speech ends in `samples` (interleaved, in `format`): the end of
/// every voiced run followed by at least [`PAUSE`] of silence, and of the last one, as
/// [`signal::vad`](crate::signal::vad) finds them (the detector the mocks hear with).
pub fn speech_ends(samples: &[f32], format: AudioFormat) -> Vec<Duration> {
    crate::signal::vad::speech_ends(samples, format, PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn speech_ends_are_found_in_the_audio() {
        let format = AudioFormat::PIPELINE;
        let tone =
            |ms: usize| (0..ms * 16).map(|n| (n as f32 * 0.1).sin() * 0.5).collect::<Vec<f32>>();
        let silence = |ms: usize| vec![0.0f32; ms * 16];
        // Speech, a 100 ms gap (between words), speech, a 500 ms pause, speech to the end.
        let audio = [tone(400), silence(100), tone(300), silence(500), tone(200)].concat();
        assert_eq!(speech_ends(&audio, format), [ms(800), ms(1_500)]);
        assert!(speech_ends(&silence(1_000), format).is_empty());
        let fixture = crate::signal::speech(format).unwrap();
        assert_eq!(speech_ends(&fixture, format).len(), 2, "two sentences");
    }
}
