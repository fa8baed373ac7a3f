//! Measured sessions by provider name, against the real service, a URL, or a mock
//! started for the occasion: what `sttbench stream --provider …` and the real-provider
//! benches run. One provider or several, one after the other, so their figures can be
//! read side by side ([`table`](super::table)).
//!
//! Keys come from the environment only (`DEEPGRAM_API_KEY`, `ASSEMBLYAI_API_KEY`). A
//! local target without a key gets a placeholder, since mocks accept any key; the real
//! services need the variable, and the error says so.

use std::sync::Arc;
use std::time::Duration;

use super::{PipelineOptions, PipelineRun, run};
use crate::encode::{AudioFormat, wav};
use crate::provider::{ApiKey, Credential, Hosted, ProviderError};
use crate::server::{self, mock};
use crate::session::run::{DEFAULT_SIGNAL_DURATION, Source};
use crate::signal::Signal;

/// What a local target without a key in the environment is sent. Mocks accept any
/// non-empty key; a real service answers it with its auth error.
pub const PLACEHOLDER_KEY: &str = "sttbench-local-placeholder";

/// Where measured sessions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The provider's production endpoint; needs its API key in the environment.
    Production,
    /// A server at this `ws://` or `wss://` URL (a mock started elsewhere, a proxy).
    Url(String),
    /// A zero-delay mock of the provider, started on 127.0.0.1 for the session.
    Mock,
}

/// One measured session with `provider` at `target`.
///
/// # Errors
///
/// As [`run`]; for [`Target::Production`] without a key, a configuration error naming
/// the environment variable to set.
pub async fn run_hosted(
    provider: Hosted,
    target: &Target,
    options: &PipelineOptions,
) -> crate::Result<PipelineRun> {
    let from_env = provider.key_from_env();
    let key = match target {
        Target::Production => from_env,
        Target::Url(_) | Target::Mock => from_env.or_else(|| Some(ApiKey::new(PLACEHOLDER_KEY))),
    };
    let dialect = provider.dialect(key.map(Credential::Key));
    match target {
        Target::Production => run(provider.production_url(), dialect, options).await,
        Target::Url(url) => run(url, dialect, options).await,
        Target::Mock => {
            let no_mock = |e: std::io::Error| {
                ProviderError::config(provider.name(), format!("cannot start a local mock: {e}"))
            };
            let listener = server::bind_loopback().await.map_err(no_mock)?;
            let config = mock::MockConfig::new(provider);
            let handle =
                server::spawn(listener, |l, s| mock::run(l, config, s)).map_err(no_mock)?;
            let result = run(&handle.ws_url(), Arc::clone(&dialect), options).await;
            handle.shutdown().await;
            result
        }
    }
}

/// 16 kHz mono samples for `source`, cut to `duration`; `None` for the speech signal
/// without a duration, which [`run`] reads as the fixture played once (a provider run
/// wants the natural utterance, not the fixture looped to the echo default of 10 s).
///
/// # Errors
///
/// [`crate::Error::Wav`] for an unusable file, [`crate::Error::Format`] for a duration
/// that is not a whole number of 16 kHz frames.
pub fn samples(source: &Source, duration: Option<Duration>) -> crate::Result<Option<Arc<[f32]>>> {
    let format = AudioFormat::PIPELINE;
    let mut samples = match (source, duration) {
        (Source::Signal(Signal::Speech), None) => return Ok(None),
        (Source::Signal(signal), _) => {
            let duration = duration.unwrap_or(DEFAULT_SIGNAL_DURATION);
            signal.generate(format.sample_rate(), format.chunk(duration)?.frames())
        }
        (Source::Wav(path), _) => wav::read_as(path, format)?.samples,
    };
    if let Some(duration) = duration {
        samples.truncate(format.chunk(duration)?.frames());
    }
    Ok(Some(samples.into()))
}

/// [`run_hosted`] for each provider in turn, stopping at the first error.
///
/// # Errors
///
/// The first provider's error, as [`run_hosted`].
pub async fn compare(
    providers: &[Hosted],
    target: &Target,
    options: &PipelineOptions,
) -> crate::Result<Vec<PipelineRun>> {
    let mut runs = Vec::with_capacity(providers.len());
    for &provider in providers {
        runs.push(run_hosted(provider, target, options).await?);
    }
    Ok(runs)
}
