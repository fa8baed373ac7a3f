//! The real services, optional and never in CI: the speech fixture streamed in real time
//! to Deepgram and AssemblyAI, when their keys are set.
//!
//! - `providers/<provider>/first_partial`: first audio sent → first non-empty partial.
//! - `providers/<provider>/final_latency`: the audio where speech ended sent → the final
//!   covering it, averaged over the session's utterances: what a speaker waits after
//!   they stop talking (endpointing, processing, network).
//!
//! Without `DEEPGRAM_API_KEY` / `ASSEMBLYAI_API_KEY` it prints one line per skipped
//! provider and measures nothing. Under `cargo test --benches` (Criterion's test mode)
//! it never touches the network, keys or not. One iteration is one ~6 s session paced in
//! real time (AssemblyAI refuses faster), so samples are few and flat: figures from the
//! internet are for reading, not for gating.

mod support;

use std::time::Duration;

use criterion::{BenchmarkId, SamplingMode};
use sttbench::pipeline::{self, PipelineOptions, PipelineRun, Target};
use sttbench::provider::Hosted;

/// Sessions per figure: enough for a median, few enough to finish in minutes.
const SESSIONS: usize = 10;

fn session(rt: &tokio::runtime::Runtime, provider: Hosted) -> PipelineRun {
    let options = PipelineOptions::default().realtime(true);
    let run = rt
        .block_on(pipeline::run_hosted(provider, &Target::Production, &options))
        .unwrap_or_else(|e| panic!("{provider}: {e}"));
    assert!(!run.finals.is_empty(), "{provider} returned no final transcript");
    run
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let mut providers = Vec::new();
    for provider in Hosted::ALL {
        if !measuring {
            println!(
                "providers/{provider}: skipped in test mode; `cargo bench --bench providers` measures"
            );
        } else if provider.key_from_env().is_none() {
            println!(
                "providers/{provider}: skipped; set {} to measure the real {provider}",
                provider.api_key_env()
            );
        } else {
            providers.push(provider);
        }
    }
    if providers.is_empty() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let mut c = support::criterion().configure_from_args();
    let mut group = c.benchmark_group("providers");
    group.sampling_mode(SamplingMode::Flat).sample_size(SESSIONS);
    group.warm_up_time(Duration::from_millis(1)).measurement_time(Duration::from_secs(60));
    for provider in providers {
        group.bench_function(BenchmarkId::new(provider.name(), "first_partial"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| session(&rt, provider).pipeline.first_partial.expect("a partial"))
                    .sum()
            });
        });
        group.bench_function(BenchmarkId::new(provider.name(), "final_latency"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let finals = session(&rt, provider).pipeline.final_latencies;
                        let n = u32::try_from(finals.len()).expect("a few finals");
                        finals.iter().sum::<Duration>() / n
                    })
                    .sum()
            });
        });
    }
    group.finish();
    c.final_summary();
}
