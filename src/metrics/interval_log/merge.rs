//! Reading interval logs and adding one tag's intervals up, exactly, with an error that
//! names the file for every way a log can be unusable.
//!
//! Histograms add exactly when their buckets are the same: the same lowest discernible
//! value and the same significant digits. Their highest trackable values may differ; the
//! sum grows to hold the largest. Anything else (another precision, another unit) is an
//! error, never an approximate sum.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde::Serialize;

use crate::error::{Error, FileError};
use crate::metrics::LatencySummary;

/// The first four bytes of a V2 histogram, plain and DEFLATE-compressed, as
/// HdrHistogram's encoding defines them (the Java `AbstractHistogram` encoding, also in
/// the Rust crate's and Python package's codecs).
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// Bytes of a V2 header: cookie, payload length, normalising offset, digits (u32 each),
/// lowest and highest value (u64 each), integer-to-double ratio (f64). A compressed one
/// has the cookie and the compressed length, then the DEFLATE stream of a V2 histogram.
const V2_HEADER: usize = 40;

/// One tag's histograms from every log, added up: what one recorder of everything in all
/// the runs would hold.
#[derive(Debug, Clone)]
pub struct MergedLog {
    tag: String,
    logs: usize,
    intervals: u64,
    histogram: Histogram<u64>,
}

/// Adds up every interval tagged `tag` in the interval logs at `paths`, written by any
/// number of processes or machines (by [`HdrLogWriter`](super::HdrLogWriter) or any other
/// HdrHistogram tool). An empty `tag` selects the untagged intervals other tools write.
///
/// # Errors
///
/// [`Error::File`] naming the log when one cannot be read, is not an interval log, is
/// truncated, holds a histogram that does not decode, holds no interval tagged `tag`
/// while others do, or was recorded with other buckets (precision or lowest value) than
/// the rest; [`Error::Setting`] when no paths are given or no log holds `tag`, listing the
/// tags they do hold.
pub fn merge<P: AsRef<Path>>(paths: &[P], tag: &str) -> crate::Result<MergedLog> {
    if paths.is_empty() {
        return Err(Error::Setting("no interval logs to merge; name at least one".into()));
    }
    let files = paths
        .iter()
        .map(|p| {
            let path = p.as_ref();
            let bytes = std::fs::read(path).map_err(|e| {
                let problem = format!("cannot read the interval log: {e}");
                FileError::new(path, problem, Some(Box::new(e) as _))
            })?;
            Ok((path, bytes))
        })
        .collect::<crate::Result<Vec<_>>>()?;
    let logs = files
        .iter()
        .map(|(path, bytes)| Ok((*path, parse(path, bytes)?)))
        .collect::<crate::Result<Vec<_>>>()?;

    let tags_of = |intervals: &[Interval<'_>]| -> BTreeSet<String> {
        intervals.iter().map(|i| i.tag.unwrap_or("'' (untagged)").to_string()).collect()
    };
    let holds = |intervals: &[Interval<'_>]| intervals.iter().any(|i| i.is(tag));
    if !logs.iter().any(|(_, intervals)| holds(intervals)) {
        let all: BTreeSet<String> = logs.iter().flat_map(|(_, i)| tags_of(i)).collect();
        let all = all.into_iter().collect::<Vec<_>>().join(", ");
        return Err(Error::Setting(
            format!("no log holds intervals tagged {tag:?}; they hold: {all}; pick one with --tag")
                .into(),
        ));
    }
    if let Some((path, intervals)) = logs.iter().find(|(_, intervals)| !holds(intervals)) {
        let own = tags_of(intervals).into_iter().collect::<Vec<_>>().join(", ");
        let problem = format!(
            "holds no interval tagged {tag:?} (only {own}) while the other logs do; \
             leave it out, or check that its run recorded that measure"
        );
        return Err(FileError::new(*path, problem, None).into());
    }

    let mut sum: Option<(Layout, Histogram<u64>)> = None;
    let mut intervals = 0;
    for (path, log) in &logs {
        for (n, interval) in log.iter().enumerate().filter(|(_, i)| i.is(tag)) {
            let at = Layout { path, interval: n + 1, low: 0, digits: 0 };
            let histogram = decode(&at, interval.encoded)?;
            let at = Layout { low: histogram.low(), digits: histogram.sigfig(), ..at };
            intervals += 1;
            let Some((first, total)) = &mut sum else {
                let mut total = histogram;
                // Another log's histograms may reach higher; the sum grows to hold them.
                total.auto(true);
                sum = Some((at, total));
                continue;
            };
            if (at.low, at.digits) != (first.low, first.digits) {
                let problem = format!(
                    "{at} was recorded with other buckets than {first} of {}: histograms \
                     of different precision or lowest value cannot be added exactly; merge \
                     logs written with the same histogram settings",
                    first.path.display()
                );
                return Err(FileError::new(*path, problem, None).into());
            }
            total
                .add(&histogram)
                .map_err(|e| FileError::new(*path, format!("{at} cannot be added: {e:?}"), None))?;
        }
    }
    let (_, histogram) = sum.expect("a log holds the tag, checked above");
    Ok(MergedLog { tag: tag.to_string(), logs: logs.len(), intervals, histogram })
}

/// Where a histogram came from and its buckets, for messages.
struct Layout<'a> {
    path: &'a Path,
    /// 1-based among the log's intervals.
    interval: usize,
    low: u64,
    digits: u8,
}

impl fmt::Display for Layout<'_> {
    /// "interval 3", and its buckets once they are known; the path is for the caller to
    /// give, since an error about a file already starts with it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "interval {}", self.interval)?;
        if self.digits > 0 {
            write!(f, " ({} significant digits from {})", self.digits, self.low)?;
        }
        Ok(())
    }
}

/// One interval line, still encoded.
struct Interval<'a> {
    tag: Option<&'a str>,
    encoded: &'a str,
}

impl Interval<'_> {
    /// Whether the interval is tagged `tag`; the empty tag stands for untagged lines, as
    /// jHiccup and other tools write them.
    fn is(&self, tag: &str) -> bool {
        self.tag.unwrap_or("") == tag
    }
}

/// Every interval of a log, or an error saying why the file is not a usable log.
fn parse<'a>(path: &Path, bytes: &'a [u8]) -> crate::Result<Vec<Interval<'a>>> {
    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(bytes) {
        match entry {
            Ok(LogEntry::Interval(i)) => intervals.push(Interval {
                tag: i.tag().map(|t| t.as_str()),
                encoded: i.encoded_histogram(),
            }),
            Ok(LogEntry::StartTime(_) | LogEntry::BaseTime(_)) => {}
            Err(hdrhistogram::serialization::interval_log::LogIteratorError::ParseError {
                offset,
            }) => return Err(FileError::new(path, unparsable(bytes, offset), None).into()),
        }
    }
    if intervals.is_empty() {
        let problem = if bytes.is_empty() {
            "is empty: not an HdrHistogram interval log"
        } else {
            "holds no intervals: the run wrote none (did it end before its first interval?)"
        };
        return Err(FileError::new(path, problem, None).into());
    }
    Ok(intervals)
}

/// Why the line at `offset` stopped the parser.
fn unparsable(bytes: &[u8], offset: usize) -> String {
    let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
    let rest = &bytes[offset..];
    let text = String::from_utf8_lossy(&rest[..rest.len().min(60)]);
    let text = text.lines().next().unwrap_or("");
    let looks_like_interval =
        text.starts_with("Tag=") || text.starts_with(|c: char| c.is_ascii_digit());
    if looks_like_interval && !rest.contains(&b'\n') {
        format!(
            "is truncated: its last line (line {line}) ends mid-interval, as when the run \
             writing it was stopped mid-write; delete that line to merge the rest"
        )
    } else if line == 1 {
        format!("not an HdrHistogram interval log: it starts with {text:?}")
    } else {
        format!("line {line} is neither a comment nor an interval: {text:?}")
    }
}

/// Decodes one base64 V2 histogram, compressed or not, after checking the length its
/// header claims against the bytes there are, so a corrupt header cannot make the
/// decoder allocate gigabytes.
fn decode(at: &Layout<'_>, encoded: &str) -> crate::Result<Histogram<u64>> {
    let fail = |what: String| -> Error {
        let problem = format!("{at}: the histogram does not decode ({what}); the file is corrupt");
        FileError::new(at.path, problem, None).into()
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| fail(format!("not base64: {e}")))?;
    let word = |i: usize| bytes.get(i..i + 4).map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    let (Some(cookie), Some(len)) = (word(0), word(4)) else {
        return Err(fail("shorter than a histogram header".into()));
    };
    let header = match cookie {
        V2_COOKIE => V2_HEADER,
        V2_COMPRESSED_COOKIE => 8,
        other => return Err(fail(format!("not a V2 histogram: it starts {other:#010x}"))),
    };
    if len as usize > bytes.len().saturating_sub(header) {
        return Err(fail(format!("it claims {len} bytes, {} are there", bytes.len())));
    }
    Deserializer::new().deserialize(&mut bytes.as_slice()).map_err(|e| fail(e.to_string()))
}

impl MergedLog {
    /// The tag that was merged.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// How many logs were merged.
    pub fn logs(&self) -> usize {
        self.logs
    }

    /// How many intervals were added up.
    pub fn intervals(&self) -> u64 {
        self.intervals
    }

    /// The value below which a fraction `q` (0.0 to 1.0) of all samples fall; zero when
    /// there are none. Values are the unit the logs were written in: nanoseconds for
    /// sttbench's.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.histogram.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.histogram.value_at_quantile(q.clamp(0.0, 1.0)))
    }

    /// Count, p50, p95, p99, p99.9 and max of everything merged.
    pub fn summary(&self) -> LatencySummary {
        let max = if self.histogram.is_empty() { 0 } else { self.histogram.max() };
        LatencySummary {
            count: self.histogram.len(),
            p50: self.quantile(0.50),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            p999: self.quantile(0.999),
            max: Duration::from_nanos(max),
        }
    }

    /// The result as pretty JSON: `tag`, `logs`, `intervals`, then the summary's fields
    /// (`count`, `p50_ns`, `p95_ns`, `p99_ns`, `p99_9_ns`, `max_ns`).
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            tag: &'a str,
            logs: usize,
            intervals: u64,
            #[serde(flatten)]
            summary: LatencySummary,
        }
        let json = Json {
            tag: &self.tag,
            logs: self.logs,
            intervals: self.intervals,
            summary: self.summary(),
        };
        serde_json::to_string_pretty(&json).expect("plain data")
    }
}

impl fmt::Display for MergedLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary();
        let tag = if self.tag.is_empty() { "(untagged)" } else { &self.tag };
        writeln!(f, "tag      {tag} ({} intervals from {} logs)", self.intervals, self.logs)?;
        writeln!(f, "count    {}", s.count)?;
        for (name, value) in [("p50", s.p50), ("p95", s.p95), ("p99", s.p99), ("p99.9", s.p999)] {
            writeln!(f, "{name:<8} {value:.1?}")?;
        }
        write!(f, "max      {:.1?}", s.max)
    }
}

/// For tests: the merged histogram.
#[cfg(test)]
impl MergedLog {
    pub(super) fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }
}
