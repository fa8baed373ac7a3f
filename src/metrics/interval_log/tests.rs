//! The log format, the exactness of the merge, and an error naming the file for every
//! kind of unusable log.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use super::*;
use crate::metrics::LatencyHistogram;
use crate::signal::Signal;

/// A scratch directory unique to one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("sttbench-hdrlog-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `count` latencies spread log-uniformly over 1 µs to 100 ms, drawn from the seeded
/// noise signal; recorder `n` takes the `n`-th run of them.
fn latencies(recorder: u64, count: usize) -> Vec<Duration> {
    let noise = Signal::Noise.generate(16_000, (recorder as usize + 1) * count);
    let unit = |x: f32| (f64::from(x) + 1.0) / 2.0;
    noise[recorder as usize * count..]
        .iter()
        .map(|&x| Duration::from_nanos((1e3 * 1e5_f64.powf(unit(x))) as u64))
        .collect()
}

const START: Duration = Duration::from_secs(1_700_000_000);

/// Writes `intervals` one-second intervals of `per_interval` samples each, tagged
/// `lateness` and `send_latency`, the way a run does; returns everything it recorded.
fn record_run(path: &Path, recorder: u64, intervals: u32, per_interval: usize) -> LatencyHistogram {
    let mut log = HdrLogWriter::create(path, UNIX_EPOCH + START).unwrap();
    let (mut lateness, mut send, mut all) =
        (LatencyHistogram::new(), LatencyHistogram::new(), LatencyHistogram::new());
    let mut draws = latencies(recorder, intervals as usize * per_interval).into_iter();
    for i in 0..intervals {
        for _ in 0..per_interval {
            let late = draws.next().unwrap();
            lateness.record(late);
            all.record(late);
            send.record(late * 2);
        }
        let when = Duration::from_secs(u64::from(i))..Duration::from_secs(u64::from(i) + 1);
        log.write(LATENESS, when.clone(), &lateness).unwrap();
        log.write("send_latency", when, &send).unwrap();
        lateness.clear();
        send.clear();
    }
    all
}

#[test]
fn logs_from_several_recorders_merge_to_what_one_recorder_of_everything_holds() {
    let scratch = Scratch::new("exact");
    let mut everything = LatencyHistogram::new();
    let mut paths = Vec::new();
    for process in 0..4_u64 {
        let path = scratch.path(&format!("out-{process}.hdr"));
        everything.merge(&record_run(&path, process, 5, 2_000 + 500 * process as usize));
        paths.push(path);
    }
    let merged = merge(&paths, LATENESS).unwrap();
    assert_eq!((merged.logs(), merged.intervals()), (4, 20));
    assert_eq!(merged.histogram(), &everything.histogram, "bucket for bucket");
    assert_eq!(merged.summary(), everything.summary());
    assert_eq!(merged.summary().count, 5 * (4 * 2_000 + 500 * 6));
}

#[test]
fn the_log_is_the_java_format() {
    let mut h = LatencyHistogram::new();
    h.record(Duration::from_micros(250));
    let start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
    let mut log = HdrLogWriter::new(Vec::new(), "mem.hdr", start).unwrap();
    log.write(LATENESS, Duration::from_millis(2_500)..Duration::from_secs(3), &h).unwrap();
    let text = String::from_utf8(log.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"#[Histogram log format version 1.3]"), "{text}");
    assert!(lines.contains(&"#[StartTime: 1700000000.250 (seconds since epoch)]"), "{text}");
    assert!(lines.contains(&"#[BaseTime: 1700000000.250 (seconds since epoch)]"), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("\"StartTimestamp\",")), "the legend: {text}");
    // Start, length, max (ns: the top of the 0.1 % bucket holding 250 µs), then
    // "HISTF": base64 of the compressed V2 cookie.
    let interval = lines.last().unwrap();
    assert!(interval.starts_with("Tag=lateness,2.500,0.500,250"), "{interval}");
    assert!(interval.split(',').nth(4).unwrap().starts_with("HISTF"), "{interval}");
}

#[test]
fn bad_tags_are_refused_before_anything_is_written() {
    let mut log = HdrLogWriter::new(Vec::new(), "mem.hdr", SystemTime::now()).unwrap();
    let h = LatencyHistogram::new();
    for tag in ["", "send latency", "a,b", "line\nbreak"] {
        let err = log.write(tag, Duration::ZERO..Duration::from_secs(1), &h).unwrap_err();
        assert!(matches!(err, Error::Setting(_)), "{tag:?}: {err}");
    }
    assert!(!String::from_utf8(log.into_inner()).unwrap().contains("Tag="));
}

/// The same buckets with a different top (another tool, another sttbench version) add
/// exactly: the sum grows to hold the larger values.
#[test]
fn histograms_reaching_higher_still_add_exactly() {
    let scratch = Scratch::new("higher");
    let ours = scratch.path("ours.hdr");
    let mut everything = record_run(&ours, 0, 2, 100);
    let theirs = scratch.path("theirs.hdr");
    let mut wide = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
    wide.record(120_000_000_000).unwrap(); // two minutes: past LatencyHistogram::MAX
    wide.record(5_000).unwrap();
    write_foreign(&theirs, &wide, Some(LATENESS));
    let merged = merge(&[&ours, &theirs], LATENESS).unwrap();
    everything.record(Duration::from_micros(5));
    let summary = merged.summary();
    assert_eq!(summary.count, everything.len() + 1);
    assert!(summary.max >= Duration::from_secs(119), "{summary}");
    assert_eq!(merged.quantile(0.5), everything.quantile(0.5));
}

/// One interval tagged `tag` written by the crate's own writer with `histogram`'s settings.
fn write_foreign(path: &Path, histogram: &Histogram<u64>, tag: Option<&str>) {
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    IntervalLogWriterBuilder::new()
        .begin_log_with(&mut out, &mut serializer)
        .unwrap()
        .write_histogram(histogram, Duration::ZERO, Duration::from_secs(1), tag.and_then(Tag::new))
        .unwrap();
    std::fs::write(path, out).unwrap();
}

fn merge_error(paths: &[&Path], tag: &str) -> String {
    merge(paths, tag).unwrap_err().to_string()
}

#[test]
fn unusable_logs_are_errors_naming_the_file() {
    let scratch = Scratch::new("bad");
    let good = scratch.path("good.hdr");
    record_run(&good, 0, 3, 50);
    let text = std::fs::read_to_string(&good).unwrap();
    let write = |name: &str, content: &[u8]| {
        let path = scratch.path(name);
        std::fs::write(&path, content).unwrap();
        path
    };
    let cut = text.rfind("HISTF").unwrap() + 12;
    let mut corrupt = text.clone();
    let lateness = text.rfind("Tag=lateness").unwrap();
    corrupt.insert_str(lateness + text[lateness..].find("HISTF").unwrap() + 5, "!!");
    let mut coarse = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 2).unwrap();
    coarse.record(1_000).unwrap();
    let coarse_path = scratch.path("coarse.hdr");
    write_foreign(&coarse_path, &coarse, Some(LATENESS));
    let garbled_line = format!("line {} is neither", text.lines().count() + 1);
    let cases: [(PathBuf, &str); 8] = [
        (write("empty.hdr", b""), "is empty"),
        (write("speech.wav", b"RIFF\x24\0\0\0WAVEfmt "), "not an HdrHistogram interval log"),
        (write("notes.hdr", b"# only a comment\n"), "holds no intervals"),
        (write("cut.hdr", &text.as_bytes()[..cut]), "is truncated"),
        (write("corrupt.hdr", corrupt.as_bytes()), "does not decode"),
        (write("garbled.hdr", format!("{text}what is this\n").as_bytes()), &garbled_line),
        (coarse_path, "other buckets"),
        (scratch.path("missing.hdr"), "cannot read"),
    ];
    for (path, want) in cases {
        let name = path.file_name().unwrap().to_str().unwrap();
        let msg = merge_error(&[&good, &path], LATENESS);
        assert!(msg.contains(name), "names {name}: {msg}");
        assert!(msg.contains(want), "{name}: expected {want:?} in {msg:?}");
    }
}

/// jHiccup and other tools write untagged intervals; the empty tag selects them.
#[test]
fn untagged_intervals_merge_under_the_empty_tag() {
    let scratch = Scratch::new("untagged");
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    h.record_n(42_000, 7).unwrap();
    let (a, b) = (scratch.path("a.hdr"), scratch.path("b.hdr"));
    write_foreign(&a, &h, None);
    write_foreign(&b, &h, None);
    let merged = merge(&[&a, &b], "").unwrap();
    assert_eq!(merged.summary().count, 14);
    assert!(merged.to_string().starts_with("tag      (untagged) (2 intervals from 2 logs)"));
    assert!(merge_error(&[&a], LATENESS).contains("they hold: '' (untagged)"));
}

#[test]
fn a_tag_no_log_holds_lists_the_tags_they_do() {
    let scratch = Scratch::new("tags");
    let (a, b) = (scratch.path("a.hdr"), scratch.path("b.hdr"));
    record_run(&a, 0, 1, 10);
    record_run(&b, 1, 1, 10);
    let msg = merge_error(&[&a, &b], "final_lag");
    assert!(msg.contains("no log holds intervals tagged \"final_lag\""), "{msg}");
    assert!(msg.contains("lateness, send_latency"), "{msg}");
    // A log without the tag while the others have it is named, not skipped.
    let mut only_send = LatencyHistogram::new();
    only_send.record(Duration::from_millis(1));
    let c = scratch.path("c.hdr");
    let mut log = HdrLogWriter::create(&c, SystemTime::now()).unwrap();
    log.write("send_latency", Duration::ZERO..Duration::from_secs(1), &only_send).unwrap();
    drop(log);
    let msg = merge_error(&[&a, &c], LATENESS);
    assert!(msg.contains("c.hdr") && msg.contains("only send_latency"), "{msg}");
    assert!(merge::<&Path>(&[], LATENESS).is_err(), "no logs at all");
}
