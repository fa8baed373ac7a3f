//! The pacer's contract: never early, absolute deadlines (a late wake does not move the
//! next one), cancel-safe, on both runtime flavours; the tokio pacer under paused time;
//! the floor and the side-by-side run record every wake; clear errors.
//!
//! No speed targets here (the `pace` bench holds those): lateness is only checked
//! against generous sanity bounds, and every wait that could hang is bounded by [`step`].

use std::future::Future;
use std::time::Duration;

use sttbench::Error;
use sttbench::pace::{Method, Pacer, PacerKind, Schedule, SideBySide, paced, timer_floor};
use tokio::time::Instant;

/// Far above any wake-up lateness a working machine shows, busy or not.
const SANE: Duration = Duration::from_secs(1);

const STEP: Duration = Duration::from_secs(10);

async fn step<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

#[cfg(target_os = "linux")]
fn precise() -> Pacer {
    let pacer = Pacer::new().expect("the timerfd pacer is available on Linux, in a runtime");
    assert_eq!(pacer.kind(), PacerKind::TimerFd);
    pacer
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn wakes_at_or_after_every_deadline() {
    let mut pacer = precise();
    let start = Instant::now();
    for k in 1..=25 {
        let deadline = start + Duration::from_millis(2) * k;
        let woke = step("a 2 ms wait", pacer.wait_until(deadline)).await;
        assert!(woke >= deadline, "wake {k} came {:?} early", deadline - woke);
        assert!(Instant::now() >= deadline);
        assert!(woke - deadline < SANE, "wake {k} came {:?} late", woke - deadline);
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_late_wake_does_not_shift_the_next_deadline() {
    let mut pacer = precise();
    let period = Duration::from_millis(200);
    let start = Instant::now();
    let due = |k: f64| start + period.mul_f64(k);
    // Be half a period late for deadline 1, as a stalled sender would be.
    step("the wait to 1.5 periods", pacer.wait_until(due(1.5))).await;
    let late = step("the late wait", pacer.wait_until(due(1.0))).await;
    assert!(late >= due(1.5), "a past deadline returns at once, not early");
    // Deadline 2 stays at start + 2 periods; pacing relative to the late wake would put
    // it at or after start + 2.5 periods.
    let next = step("the wait after the late one", pacer.wait_until(due(2.0))).await;
    assert!(next >= due(2.0), "never early");
    assert!(next < due(2.5), "deadline 2 moved by {:?}", next - due(2.0));
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_cancelled_wait_cannot_end_the_next_one_early() {
    let mut pacer = precise();
    let soon = Instant::now() + Duration::from_millis(1);
    // Poll the wait once (it arms the timer), then drop it.
    tokio::select! {
        biased;
        _ = pacer.wait_until(soon) => panic!("a future deadline is not ready at once"),
        () = std::future::ready(()) => {}
    }
    // Let the abandoned timer fire, then yield so the runtime's I/O driver records its
    // readiness: a wait on a later deadline must not take that expiry for its own.
    let until = std::time::Instant::now() + Duration::from_millis(3);
    while std::time::Instant::now() < until {
        std::hint::spin_loop();
    }
    tokio::task::yield_now().await;
    let later = Instant::now() + Duration::from_millis(20);
    let woke = step("the wait after the cancelled one", pacer.wait_until(later)).await;
    assert!(woke >= later, "woke {:?} early on a stale expiry", later - woke);
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paces_a_task_on_a_multi_thread_runtime() {
    let task = tokio::spawn(async {
        let mut pacer = precise();
        paced(&mut pacer, Schedule::from_now(Duration::from_millis(2), 20)).await
    });
    let wakes = step("20 wakes 2 ms apart", task).await.expect("the pacing task does not panic");
    assert_eq!((wakes.lateness.len(), wakes.early), (20, 0));
    assert!(wakes.lateness.summary().max < SANE);
}

/// The streaming driver's pacer trait wants `Send + 'static` and a `Send` wait, so a
/// stream's task can move between a multi-thread runtime's workers.
#[test]
fn pacer_and_its_wait_can_cross_threads() {
    fn send<T: Send>(_: &T) {}
    fn owned<T: Send + 'static>() {}
    owned::<Pacer>();
    let mut pacer = Pacer::tokio();
    send(&pacer.wait_until(Instant::now()));
}

#[tokio::test(start_paused = true)]
async fn the_tokio_pacer_follows_paused_time_exactly() {
    let mut pacer = Pacer::tokio();
    assert_eq!(pacer.kind(), PacerKind::Tokio);
    let period = Duration::from_millis(20);
    let start = Instant::now();
    for k in 1..=3 {
        let due = start + period * k;
        assert_eq!(step("a paused wait", pacer.wait_until(due)).await, due);
    }
    // Late for deadline 5, then on time for deadline 6: absolute, not relative.
    let (late, next) = (start + period.mul_f64(5.5), start + period * 6);
    step("a paused wait", pacer.wait_until(late)).await;
    assert_eq!(step("a late wait", pacer.wait_until(start + period * 5)).await, late);
    assert_eq!(step("the next wait", pacer.wait_until(next)).await, next);
}

#[cfg(target_os = "linux")]
#[test]
fn outside_a_runtime_the_error_says_where_to_create_it() {
    let err = Pacer::new().expect_err("no runtime to register the timer with");
    assert!(matches!(err, Error::Timer(_)), "{err:?}");
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    assert_eq!(Pacer::best_available().kind(), PacerKind::Tokio, "falls back, saying so");
}

#[cfg(target_os = "linux")]
#[test]
fn the_floor_records_every_wake() {
    let schedule = Schedule::from_now(Duration::from_millis(2), 10);
    let floor = timer_floor(schedule).expect("the floor runs on Linux");
    assert_eq!((floor.count(), floor.early), (10, 0));
    assert!(std::time::Instant::now() >= schedule.deadline(9), "it waited for every deadline");
    assert!(floor.cpu.is_some() && floor.lateness.summary().max < SANE);
}

#[cfg(target_os = "linux")]
#[test]
fn side_by_side_measures_every_method_with_its_cpu() {
    // One complete round and a part-segment: the part counts in the wakes, not in a round.
    let segments = sttbench::pace::ROUND_SEGMENTS as u32;
    let wakes = sttbench::pace::SEGMENT * segments + 2;
    let lateness = SideBySide::default()
        .period(Duration::from_millis(1))
        .wakes(wakes)
        .run()
        .expect("every method runs on Linux");
    assert_eq!(lateness.pacer, Some(PacerKind::TimerFd));
    for method in Method::ALL {
        let run = &lateness.methods[&method];
        assert_eq!((run.count(), run.early), (u64::from(wakes), 0), "{method}");
        // Spinning would use about a period of CPU per wake; waiting uses microseconds.
        let cpu = run.cpu_per_wake().expect("measured on Linux");
        assert!(cpu < Duration::from_micros(500), "{method} used {cpu:?} of CPU per 1 ms wake");
        let cpu_figures = lateness.cpu_by_segment[&method].len();
        assert_eq!(cpu_figures, segments as usize + 1, "a CPU figure per segment");
        assert!(lateness.over_floor(method, 0.99).is_some_and(|r| r > 0.0), "{method}");
        assert_eq!(lateness.p99_by_round[&method].len(), 1, "{method}: complete rounds only");
        let by_round = lateness.p99_over_floor_by_round(method).expect("one round each");
        assert!(by_round.value > 0.0 && by_round.lower <= by_round.upper, "{method}");
    }
    assert_eq!(lateness.over_floor(Method::TimerFloor, 0.99), Some(1.0));
    assert_eq!(lateness.p99_over_floor_by_round(Method::TimerFloor).map(|e| e.value), Some(1.0));

    let json: serde_json::Value = serde_json::from_str(&lateness.to_json()).unwrap();
    assert_eq!(json["period_ns"], 1_000_000);
    assert_eq!(json["pacer"], "timer_fd");
    for id in ["timer_floor", "timer_floor_replica", "pacer", "pacer_multi_thread", "tokio_sleep"] {
        let m = &json["methods"][id];
        assert_eq!(m["count"], wakes, "{id}");
        for field in ["p50_ns", "p99_ns", "max_ns", "cpu_per_wake_ns", "p99_over_floor"] {
            assert!(m[field].is_number(), "{id}.{field} in {m}");
        }
        assert_eq!(m["p99_over_floor_by_round"]["rounds"], 1, "{id}");
        assert!(m["p99_over_floor_by_round"]["median"].is_number(), "{id}");
    }
    let table = lateness.to_string();
    assert!(Method::ALL.iter().all(|m| table.contains(m.id())), "{table}");
}

#[test]
fn side_by_side_rejects_settings_it_cannot_run() {
    let base = SideBySide::default();
    for (config, says) in [
        (base.clone().period(Duration::ZERO), "period"),
        (base.clone().period(Duration::from_secs(11)), "period"),
        (base.clone().wakes(0), "wake"),
        (base.clone().methods([]), "method"),
        (base.clone().methods([Method::Pacer, Method::TimerFloor, Method::Pacer]), "once"),
    ] {
        let err = config.run().expect_err("rejected before measuring");
        assert!(matches!(err, Error::Setting(_)), "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
    }
    let default = SideBySide::default();
    assert!(default.duration() > Duration::from_millis(20) * 1_000, "{:?}", default.duration());
    assert!(default.duration() < Duration::from_millis(20) * 1_001 + Duration::from_secs(1));
}
