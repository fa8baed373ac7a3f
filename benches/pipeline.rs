//! The whole pipeline against the mock providers, with zero processing delay, so each
//! figure is the client's and the transport's own cost: session, dialect, loopback
//! TCP and the mock's parsing, with no provider latency in it.
//!
//! - `pipeline/<provider>/first_partial`: first audio sent → first non-empty partial.
//! - `pipeline/<provider>/final_latency`: the audio where speech ended sent → the final
//!   covering it, averaged over the session's utterances. Unpaced, that is the time to
//!   push the endpointing silence through plus the replies; paced, it would be the
//!   endpointing silence itself, which is the mock's setting, not a cost.
//!
//! One iteration is one whole session on the streaming driver (`pipeline::run`: connect,
//! the 5.4 s speech fixture unpaced in 100 ms chunks, close), and each checks that the
//! mock's finals came back. Client and
//! mock share one current-thread runtime, as in `send_latency`. No throughput is
//! declared: the figure is a latency inside a session, not time per amount of input.

mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sttbench::pipeline::{self, PipelineOptions, PipelineRun};
use sttbench::provider::assemblyai::{AssemblyAi, AssemblyAiConfig};
use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
use sttbench::provider::{ApiKey, Credential, Dialect};
use sttbench::server::ServerHandle;
use sttbench::server::mock::{self, MockConfig, MockProvider};
use tokio::runtime::Runtime;

/// What the mocks hear in the fixture; every run must return exactly this.
const FIXTURE_FINALS: [&str; 2] =
    ["the quick brown fox jumps over the lazy dog", "call me back at five"];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

fn dialect(provider: MockProvider) -> Arc<dyn Dialect> {
    let key = Credential::Key(ApiKey::new("bench-key"));
    match provider {
        MockProvider::Deepgram => {
            Arc::new(Deepgram::new(DeepgramConfig::default().credential(key)))
        }
        MockProvider::AssemblyAi => {
            Arc::new(AssemblyAi::new(AssemblyAiConfig::default().credential(key)))
        }
    }
}

fn start(rt: &Runtime, provider: MockProvider) -> ServerHandle {
    rt.block_on(async {
        mock::start(MockConfig::new(provider)).await.expect("start the mock on 127.0.0.1:0")
    })
}

/// One checked session.
async fn session(url: &str, dialect: &Arc<dyn Dialect>) -> PipelineRun {
    let run = pipeline::run(url, Arc::clone(dialect), &PipelineOptions::default())
        .await
        .expect("a session with the local mock");
    assert_eq!(run.finals, FIXTURE_FINALS, "{}: wrong transcripts", run.provider);
    run
}

fn pipeline_benches(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("pipeline");
    // Each iteration is a whole session of tens of milliseconds; 20 samples keep the
    // group within seconds while the confidence interval stays usable.
    group.sample_size(20);
    for provider in [MockProvider::Deepgram, MockProvider::AssemblyAi] {
        let server = start(&rt, provider);
        let url = server.ws_url();
        let dialect = dialect(provider);
        group.bench_function(BenchmarkId::new(provider.name(), "first_partial"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (url, dialect) = (url.clone(), Arc::clone(&dialect));
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let run = session(&url, &dialect).await;
                        total += run.pipeline.first_partial.expect("a partial");
                    }
                    total
                }
            });
        });
        group.bench_function(BenchmarkId::new(provider.name(), "final_latency"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (url, dialect) = (url.clone(), Arc::clone(&dialect));
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let finals = session(&url, &dialect).await.pipeline.final_latencies;
                        let n = u32::try_from(finals.len()).expect("a few finals");
                        total += finals.iter().sum::<Duration>() / n;
                    }
                    total
                }
            });
        });
        rt.block_on(server.shutdown());
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = pipeline_benches
}
criterion_main!(benches);
