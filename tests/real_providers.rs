//! The real services, never in CI: `#[ignore]`d, and each test skips with one line
//! saying how to enable it unless its key is in the environment.
//!
//! Run: `DEEPGRAM_API_KEY=… ASSEMBLYAI_API_KEY=… cargo test --test real_providers -- --ignored --nocapture`.
//! Audio is paced in real time (AssemblyAI refuses faster; Deepgram allows 1.25×), so
//! each session takes about six seconds.

use sttbench::pipeline::{self, PipelineOptions, Target};
use sttbench::provider::error::kind_of;
use sttbench::provider::{ApiKey, Credential, Hosted, ProviderErrorKind};

/// The key for `provider`, or `None` after printing what was skipped and how to run it.
fn key_or_skip(provider: Hosted, test: &str) -> Option<ApiKey> {
    let key = provider.key_from_env();
    if key.is_none() {
        println!(
            "skipped {test}: {} is not set; set it to stream the speech fixture to the real {provider}",
            provider.api_key_env()
        );
    }
    key
}

async fn streams_the_fixture(provider: Hosted) {
    if key_or_skip(provider, "streams_the_fixture").is_none() {
        return;
    }
    let options = PipelineOptions::default().realtime(true);
    let run = pipeline::run_hosted(provider, &Target::Production, &options)
        .await
        .unwrap_or_else(|e| panic!("{provider}: {e}"));
    let heard = run.finals.join(" ").to_lowercase();
    assert!(heard.contains("quick brown fox"), "{provider} heard {heard:?}");
    let first = run.pipeline.first_partial.expect("a partial");
    println!(
        "{provider}: first partial {first:?}, final latency p50 {:?}, max {:?}, finals {:?}",
        run.pipeline.final_p50(),
        run.pipeline.final_max(),
        run.finals
    );
}

async fn bad_key_is_the_typed_auth_error(provider: Hosted) {
    // Only with a real key set: the point is to reach the real service.
    if key_or_skip(provider, "bad_key_is_the_typed_auth_error").is_none() {
        return;
    }
    let dialect = provider.dialect(Some(Credential::Key(ApiKey::new("sttbench-invalid-key"))));
    let error = pipeline::run(provider.production_url(), dialect, &PipelineOptions::default())
        .await
        .expect_err("an invalid key must be refused");
    assert_eq!(kind_of(&error), Some(ProviderErrorKind::Auth), "{provider}: {error}");
    println!("{provider}: an invalid key gives: {error}");
}

#[tokio::test]
#[ignore = "streams to the real Deepgram; needs DEEPGRAM_API_KEY and the network"]
async fn deepgram_streams_the_fixture() {
    streams_the_fixture(Hosted::Deepgram).await;
}

#[tokio::test]
#[ignore = "streams to the real AssemblyAI; needs ASSEMBLYAI_API_KEY and the network"]
async fn assemblyai_streams_the_fixture() {
    streams_the_fixture(Hosted::AssemblyAi).await;
}

#[tokio::test]
#[ignore = "connects to the real Deepgram; needs DEEPGRAM_API_KEY and the network"]
async fn deepgram_bad_key_is_the_typed_auth_error() {
    bad_key_is_the_typed_auth_error(Hosted::Deepgram).await;
}

#[tokio::test]
#[ignore = "connects to the real AssemblyAI; needs ASSEMBLYAI_API_KEY and the network"]
async fn assemblyai_bad_key_is_the_typed_auth_error() {
    bad_key_is_the_typed_auth_error(Hosted::AssemblyAi).await;
}
