//! Latency histograms, throughput and the reports built from them.
//!
//! Every latency sttbench reports goes through a [`LatencyHistogram`]: an HdrHistogram
//! with 3 significant digits (under 0.1 % error) from 1 ns to [`LatencyHistogram::MAX`],
//! so recording is constant time, never allocates and never loses a sample: values past
//! the top are clamped to it and counted in the max. Reports give the sample count
//! next to each percentile, because a p99.9 from 500 samples means little (a percentile
//! q needs about 10 / (1 − q) samples).
//!
//! This module measures nothing by itself: callers take the timestamps (from the
//! scheduled send time, to avoid coordinated omission) and hand over durations.
//! [`interval_log`] writes histograms to HdrHistogram interval logs and merges them.

pub mod interval_log;

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Significant digits kept by every latency histogram: relative error under 0.1 %.
const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency distribution in nanoseconds, 1 ns to [`LatencyHistogram::MAX`].
///
/// Its memory (about 216 KiB: 27,000 64-bit counters) is allocated once, in [`LatencyHistogram::new`]; recording
/// never allocates, which keeps the per-chunk send path at zero allocations.
#[derive(Clone)]
pub struct LatencyHistogram {
    histogram: Histogram<u64>,
}

/// The summary, not the 27,000 counters behind it.
impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LatencyHistogram").field(&self.summary()).finish()
    }
}

impl LatencyHistogram {
    /// The largest latency told apart: one minute. Anything slower is recorded as one
    /// minute; a chunk a minute late has failed whatever it was for.
    pub const MAX: Duration = Duration::from_secs(60);

    /// An empty histogram.
    pub fn new() -> Self {
        LatencyHistogram { histogram: bounded(SIGNIFICANT_DIGITS) }
    }

    /// Records one latency; values past [`MAX`](Self::MAX) count as `MAX`.
    pub fn record(&mut self, latency: Duration) {
        record_nanos(&mut self.histogram, latency);
    }

    /// Number of recorded samples.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// `true` when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// The latency below which a fraction `q` (0.0 to 1.0) of the samples fall; zero
    /// when the histogram is empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.histogram.value_at_quantile(q.clamp(0.0, 1.0)))
    }

    /// Adds every sample of `other` to this histogram.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.histogram.add(&other.histogram).expect("histograms with the same bounds add up");
    }

    /// Forgets every sample, keeping the memory.
    pub fn clear(&mut self) {
        self.histogram.reset();
    }

    /// The summary reports print: count, p50, p95, p99, p99.9 and max.
    pub fn summary(&self) -> LatencySummary {
        summarize(&self.histogram)
    }
}

/// An empty histogram of nanoseconds, 1 ns to [`LatencyHistogram::MAX`], keeping
/// `digits` significant digits: the bounds both latency histograms share.
fn bounded<T: hdrhistogram::Counter>(digits: u8) -> Histogram<T> {
    let high = u64::try_from(LatencyHistogram::MAX.as_nanos()).expect("one minute fits in u64 ns");
    Histogram::new_with_bounds(1, high, digits)
        .expect("1 ns..60 s with 2 or 3 significant digits is a valid histogram")
}

/// Records `latency` in nanoseconds: 0 counts as 1 ns, anything past the top as the top.
fn record_nanos<T: hdrhistogram::Counter>(histogram: &mut Histogram<T>, latency: Duration) {
    let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
    histogram.saturating_record(nanos.max(1));
}

/// Count, p50, p95, p99, p99.9 and max of any histogram of nanoseconds.
fn summarize<T: hdrhistogram::Counter>(histogram: &Histogram<T>) -> LatencySummary {
    let quantile = |q: f64| {
        if histogram.is_empty() {
            Duration::ZERO
        } else {
            Duration::from_nanos(histogram.value_at_quantile(q))
        }
    };
    LatencySummary {
        count: histogram.len(),
        p50: quantile(0.50),
        p95: quantile(0.95),
        p99: quantile(0.99),
        p999: quantile(0.999),
        max: if histogram.is_empty() {
            Duration::ZERO
        } else {
            Duration::from_nanos(histogram.max())
        },
    }
}

/// Significant digits of a [`CompactLatencyHistogram`]: relative error under 1 %.
const COMPACT_SIGNIFICANT_DIGITS: u8 = 2;

/// A smaller latency distribution, for numbers every session keeps for itself
/// ([`Session::report`](crate::session::Session::report)) so that thousands of sessions
/// fit in one process: 2 significant digits (each value within 1 %), 1 ns to
/// [`LatencyHistogram::MAX`], 32-bit counters (a bucket saturates at 4.29 × 10⁹
/// samples, 2.7 years of 20 ms chunks). About 15 KiB, against 216 KiB for a
/// [`LatencyHistogram`] (3 digits, 64-bit counters).
///
/// Runs that need the finer distribution, or an interval log, record into a
/// [`LatencyHistogram`] outside the session ([`stream::Recorder`](crate::stream::Recorder)),
/// one per run or per thread, merged at the end. Like [`LatencyHistogram`], its memory is
/// allocated once, in [`new`](Self::new); recording never allocates.
#[derive(Clone)]
pub struct CompactLatencyHistogram {
    histogram: Histogram<u32>,
}

/// The summary, not the counters behind it.
impl fmt::Debug for CompactLatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CompactLatencyHistogram").field(&self.summary()).finish()
    }
}

impl Default for CompactLatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl CompactLatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        CompactLatencyHistogram { histogram: bounded(COMPACT_SIGNIFICANT_DIGITS) }
    }

    /// Records one latency; values past [`LatencyHistogram::MAX`] count as the max.
    pub fn record(&mut self, latency: Duration) {
        record_nanos(&mut self.histogram, latency);
    }

    /// Number of recorded samples.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// `true` when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// The summary reports print, within 1 %.
    pub fn summary(&self) -> LatencySummary {
        summarize(&self.histogram)
    }

    /// Bytes of counters this histogram holds (its heap, but for a few words).
    pub fn counters_bytes(&self) -> usize {
        self.histogram.distinct_values() * std::mem::size_of::<u32>()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The percentiles of a [`LatencyHistogram`], serialised in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    /// Number of samples behind the percentiles.
    pub count: u64,
    /// Median.
    #[serde(rename = "p50_ns", serialize_with = "as_nanos")]
    pub p50: Duration,
    /// 95th percentile.
    #[serde(rename = "p95_ns", serialize_with = "as_nanos")]
    pub p95: Duration,
    /// 99th percentile.
    #[serde(rename = "p99_ns", serialize_with = "as_nanos")]
    pub p99: Duration,
    /// 99.9th percentile; needs 10,000 samples to mean much.
    #[serde(rename = "p99_9_ns", serialize_with = "as_nanos")]
    pub p999: Duration,
    /// The slowest sample (within the histogram's 0.1 %).
    #[serde(rename = "max_ns", serialize_with = "as_nanos")]
    pub max: Duration,
}

/// Serialises a duration as whole nanoseconds (saturating): the unit of every JSON figure.
pub(crate) fn as_nanos<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 0 {
            return write!(f, "no samples");
        }
        write!(
            f,
            "p50 {:.1?}  p95 {:.1?}  p99 {:.1?}  p99.9 {:.1?}  max {:.1?}  (n = {})",
            self.p50, self.p95, self.p99, self.p999, self.max, self.count
        )
    }
}

/// Bytes moved over a wall-clock interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Throughput {
    /// Bytes moved.
    pub bytes: u64,
    /// Messages (chunks) moved.
    pub messages: u64,
    /// Wall-clock time they took.
    #[serde(rename = "elapsed_ns", serialize_with = "as_nanos")]
    pub elapsed: Duration,
}

impl Throughput {
    /// `bytes` and `messages` moved in `elapsed`.
    pub fn new(bytes: u64, messages: u64, elapsed: Duration) -> Self {
        Throughput { bytes, messages, elapsed }
    }

    /// Kilobytes (1,000 bytes) per second; zero over a zero interval.
    pub fn kb_per_s(&self) -> f64 {
        self.per_second(self.bytes as f64) / 1_000.0
    }

    /// Megabits (10⁶ bits) per second; zero over a zero interval.
    pub fn mbit_per_s(&self) -> f64 {
        self.per_second(self.bytes as f64 * 8.0) / 1_000_000.0
    }

    /// Messages per second; zero over a zero interval.
    pub fn messages_per_s(&self) -> f64 {
        self.per_second(self.messages as f64)
    }

    fn per_second(&self, amount: f64) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { amount / secs } else { 0.0 }
    }
}

impl fmt::Display for Throughput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1} KB/s  {:.3} Mbit/s  {:.1} msg/s  ({} B, {} msg in {:.2?})",
            self.kb_per_s(),
            self.mbit_per_s(),
            self.messages_per_s(),
            self.bytes,
            self.messages,
            self.elapsed
        )
    }
}

/// One session's or run's numbers: what `sttbench stream` prints and writes as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Chunks handed to the socket.
    pub chunks_sent: u64,
    /// Payload bytes handed to the socket.
    pub bytes_sent: u64,
    /// Chunks that came back from an echoing peer.
    pub chunks_echoed: u64,
    /// Chunks sent but never echoed (only meaningful against an echoing peer).
    pub chunks_lost: u64,
    /// From a chunk's scheduled send time to its bytes being flushed to the socket.
    pub send_latency: LatencySummary,
    /// From a chunk's scheduled send time to its echo arriving.
    pub round_trip: LatencySummary,
    /// Bytes sent over the session's lifetime.
    pub throughput: Throughput,
}

impl Report {
    /// The report as pretty JSON, durations in nanoseconds.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report is plain data")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "chunks sent    {}", self.chunks_sent)?;
        writeln!(f, "bytes sent     {}", self.bytes_sent)?;
        writeln!(f, "chunks echoed  {}", self.chunks_echoed)?;
        writeln!(f, "chunks lost    {}", self.chunks_lost)?;
        writeln!(f, "send latency   {}", self.send_latency)?;
        writeln!(f, "round trip     {}", self.round_trip)?;
        write!(f, "throughput     {}", self.throughput)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = LatencyHistogram::new();
        for us in 1..=1_000 {
            h.record(Duration::from_micros(us));
        }
        let s = h.summary();
        assert_eq!(s.count, 1_000);
        let close = |d: Duration, us: u64| d.abs_diff(Duration::from_micros(us)) * 1_000 <= d;
        assert!(close(s.p50, 500), "{s}");
        assert!(close(s.p95, 950), "{s}");
        assert!(close(s.p99, 990), "{s}");
        assert!(close(s.p999, 999), "{s}");
        assert!(close(s.max, 1_000), "{s}");
    }

    #[test]
    fn edges_are_clamped_not_lost() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(3_600));
        assert_eq!(h.len(), 2, "both samples are kept");
        assert!(h.summary().max >= LatencyHistogram::MAX - LatencyHistogram::MAX / 1_000);
        assert_eq!(LatencyHistogram::new().summary().to_string(), "no samples");
        assert!(format!("{h:?}").len() < 200, "Debug shows the summary, not every bucket");
    }

    #[test]
    fn compact_histograms_are_small_and_within_one_percent() {
        let mut h = CompactLatencyHistogram::new();
        assert!(h.counters_bytes() < 16 * 1024, "{} bytes", h.counters_bytes());
        for us in 1..=1_000 {
            h.record(Duration::from_micros(us));
        }
        h.record(Duration::from_secs(3_600));
        let s = h.summary();
        assert_eq!(s.count, 1_001);
        let close = |d: Duration, us: u64| d.abs_diff(Duration::from_micros(us)) * 100 <= d;
        assert!(close(s.p50, 500), "{s}");
        assert!(close(s.p99, 990), "{s}");
        assert!(s.max >= LatencyHistogram::MAX - LatencyHistogram::MAX / 100, "clamped, kept");
        assert!(format!("{h:?}").len() < 200);
    }

    #[test]
    fn throughput_units() {
        let t = Throughput::new(32_000, 50, Duration::from_secs(1));
        assert_eq!(t.kb_per_s(), 32.0);
        assert_eq!(t.mbit_per_s(), 0.256);
        assert_eq!(t.messages_per_s(), 50.0);
        assert_eq!(Throughput::new(1, 1, Duration::ZERO).kb_per_s(), 0.0);
    }

    #[test]
    fn report_json_has_nanosecond_fields() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_micros(5));
        let report = Report {
            chunks_sent: 1,
            bytes_sent: 640,
            chunks_echoed: 1,
            chunks_lost: 0,
            send_latency: h.summary(),
            round_trip: h.summary(),
            throughput: Throughput::new(640, 1, Duration::from_millis(20)),
        };
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        // HdrHistogram reports the top of the 0.1 % bucket holding the sample.
        let p50 = json["round_trip"]["p50_ns"].as_u64().unwrap();
        assert!((5_000..=5_005).contains(&p50), "{p50}");
        assert_eq!(json["throughput"]["elapsed_ns"], 20_000_000);
        assert!(report.to_string().contains("chunks lost    0"));
    }
}
