//! Latency attributed per stage, and a link too slow for real time, on paused time: a
//! mock with a known delay behind the impairment proxy with a known latency, streamed in
//! real time. Paused time makes every figure exact, so the split is checked to the
//! nanosecond where the network is modelled and bounded where the client works.

use std::sync::Arc;
use std::time::Duration;

use sttbench::pipeline::{Peer, Request, ServerClock, Timeline, Transit, speech_ends};
use sttbench::provider::deepgram::{Deepgram, DeepgramConfig};
use sttbench::provider::{ApiKey, Credential, Hosted};
use sttbench::server::mock::{self, MockConfig, MockProvider, Tap};
use sttbench::server::shaper::{self, Impairments, Link, Profile, ShaperConfig};
use sttbench::stream::{Audio, Control, Driver, Pacing, Recorder, Source, StreamConfig};

const MS: Duration = Duration::from_millis(1);
/// Longest a step may take, in paused time, before the test says it hung.
const STEP: Duration = Duration::from_secs(120);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

#[tokio::test(start_paused = true)]
async fn server_time_is_the_mock_delay_and_each_way_carries_the_proxy_latency() {
    let (delay, latency) = (150 * MS, 40 * MS);
    let clock = ServerClock::new();
    let config = MockConfig::new(MockProvider::Deepgram)
        .delay(delay)
        .tap(Some(clock.clone() as Arc<dyn Tap>));
    let mock = mock::start(config).await.unwrap();
    let link = Link::symmetric(Impairments::default().latency(latency));
    let proxy = shaper::start(ShaperConfig::new(mock.addr().to_string()).link(link)).await.unwrap();
    let dialect = Arc::new(Deepgram::new(
        DeepgramConfig::default().credential(Credential::Key(ApiKey::new("k"))),
    ));
    let audio = Audio::resolve(&Source::default(), None, 100 * MS).unwrap();
    let ends = speech_ends(audio.samples(), sttbench::encode::AudioFormat::PIPELINE);
    let mut watchers = (Recorder::new(), (Timeline::new(ends), Transit::new(Some(clock))));
    let stream = StreamConfig::default().pacing(Pacing::RealTime);
    let outcome = step(
        "the paced run",
        Driver::new(proxy.ws_url(), dialect, stream).run(&audio, &mut watchers),
    )
    .await
    .expect("the run starts");
    assert!(outcome.into_result().is_ok(), "the run completes");
    let (recorder, (timeline, transit)) = watchers;
    let stages = transit.stages().expect("the mock's clock saw the run");

    assert_eq!(stages.uplink.count, recorder.chunks_sent(), "every chunk reached the mock");
    assert!(stages.uplink.p50 >= latency && stages.uplink.max < latency + 5 * MS, "{stages:?}");
    assert!(stages.downlink.p50 >= latency && stages.downlink.max < latency + 5 * MS, "{stages:?}");
    assert!(stages.server.p50 >= delay && stages.server.max < delay + 5 * MS, "{stages:?}");

    // A final arrives a round trip plus the delay after the chunk it answers went out;
    // the audio cursor moves by whole chunks (100 ms), so the lag is that, to a chunk.
    let report = timeline.report();
    assert_eq!(report.final_lags.len(), 2, "{report:?}");
    let least = delay + 2 * latency - 100 * MS;
    assert!(report.final_lags.iter().all(|&lag| lag >= least), "{report:?}");
    let added = recorder.stages().client_added;
    assert_eq!(added.count, recorder.chunks_sent());
    assert_eq!(added, recorder.send_latency().summary(), "the client's stages summed");
    proxy.shutdown().await;
    mock.shutdown().await;
}

/// A real-time run of `audio` through the named profile to a Deepgram mock.
async fn through(profile: &str, audio: Duration) -> sttbench::pipeline::Summary {
    let stream = StreamConfig::default().pacing(Pacing::RealTime);
    let plan = Request::new(vec![Peer::Provider(Hosted::Deepgram)])
        .mock(true)
        .profile(Some(Profile::find(profile).expect("a known profile")))
        .source(Source::default(), Some(audio))
        .stream(stream)
        .plan()
        .expect("a valid request");
    let results = step(profile, plan.run(&Control::new(), |_| ())).await;
    let [result] = <[_; 1]>::try_from(results).expect("one run");
    result.expect("the run starts")
}

#[tokio::test(start_paused = true)]
async fn an_uplink_below_real_time_is_said_plainly_and_a_fast_one_is_not() {
    // Edge's 200 kbit/s up cannot carry 256 kbit/s of PCM: 3 s of audio take ~3.9 s.
    let slow = through("edge", Duration::from_secs(3)).await;
    let behind = slow.behind.as_ref().expect("a real-time run says how far behind it fell");
    assert_eq!(behind.seen_at, "server");
    assert!(behind.uplink_too_slow, "{behind:?}");
    assert!(behind.last >= Duration::from_millis(500) + 420 * MS, "{behind:?}");
    assert_eq!(behind.per_second.len(), 3, "{behind:?}");
    assert!(behind.per_second.windows(2).all(|w| w[0] < w[1]), "it grows: {behind:?}");
    assert!(slow.to_string().contains("the uplink was too slow"), "{slow}");
    let json: serde_json::Value = serde_json::from_str(&slow.to_json()).unwrap();
    assert_eq!(json["behind_real_time"]["uplink_too_slow"], true);
    assert!(json["stages"]["uplink"]["p99_ns"].as_u64().unwrap() > 500_000_000, "{json}");
    assert!(json["stages"]["client_added"]["max_ns"].is_u64(), "{json}");

    #[cfg(feature = "plot")]
    {
        let svg = sttbench::plot::svg(&slow, "edge").unwrap();
        for label in ["edge", "behind real time", "client_added", "uplink", "server", "final_lag"] {
            assert!(svg.contains(label), "{label} missing from the plot");
        }
    }

    let fast = through("4g-fast", Duration::from_secs(3)).await;
    let behind = fast.behind.as_ref().unwrap();
    assert!(!behind.uplink_too_slow, "{behind:?}");
    assert!(behind.max >= 20 * MS, "one-way latency of a 40 ms RTT: {behind:?}");
    assert!(!fast.to_string().contains("too slow"), "{fast}");
    let p = fast.pipeline.as_ref().unwrap();
    assert!(p.final_lag.count >= 1, "{p:?}");
}

#[test]
fn a_profile_for_the_production_endpoint_is_planned_through_the_proxy() {
    // The real service is reached through the proxy by dialling it and verifying the
    // service's own name (tests/connect_to.rs); planning needs no key for that.
    let request = Request::new(vec![Peer::Provider(Hosted::Deepgram)]).profile(Profile::find("3g"));
    let plan = request.plan().expect("a profile in front of production is a plan");
    assert_eq!(plan.peers().count(), 1);
}
