//! HdrHistogram interval logs: one file per run that any HdrHistogram tool reads, and an
//! exact merge of many of them.
//!
//! The format is the one Java's `HistogramLogWriter` defined (log format version 1.3),
//! which the Rust `hdrhistogram` crate, Python's `hdrhistogram` package and the Java
//! `HistogramLogProcessor` all read: a few `#` header lines (StartTime and BaseTime in
//! seconds since the epoch), then one line per interval and measure,
//!
//! ```text
//! Tag=lateness,12.000,1.000,412671.000,HISTFAAAA…
//! ```
//!
//! holding the interval's start (seconds since BaseTime), its length, its largest value
//! and the interval's histogram: V2 encoded, DEFLATE compressed, base64.
//! Values are nanoseconds. Each line holds only that interval's samples, so adding every
//! interval of a tag, from any number of processes or machines, gives exactly the
//! histogram one recorder of everything would hold: counts add bucket by bucket, and
//! percentiles come from the sum, never from averaging percentiles.
//!
//! [`HdrLogWriter`] writes a log; [`merge`] reads any number and adds one tag up. This
//! module measures nothing: callers hand it the histograms and the interval times.

mod merge;

pub use merge::{MergedLog, merge};

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use super::LatencyHistogram;
use crate::error::{Error, FileError};

/// The tag of the pacer's wake lateness: how late each chunk's send began against its
/// scheduled time. Other measures are tagged with their JSON name without the unit
/// (`send_latency`, `round_trip`, …).
pub const LATENESS: &str = "lateness";

/// Writes an HdrHistogram interval log: a header when created, then one line per
/// [`write`](Self::write), flushed at once so that a run that dies keeps every interval
/// it finished.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use sttbench::metrics::{LatencyHistogram, interval_log::{HdrLogWriter, LATENESS}};
///
/// let mut log = HdrLogWriter::new(Vec::new(), "in-memory.hdr", SystemTime::now())?;
/// let mut lateness = LatencyHistogram::new();
/// lateness.record(Duration::from_micros(180));
/// log.write(LATENESS, Duration::ZERO..Duration::from_secs(1), &lateness)?;
/// lateness.clear(); // each interval holds only its own samples
/// let text = String::from_utf8(log.into_inner()).unwrap();
/// assert!(text.lines().last().unwrap().starts_with("Tag=lateness,0.000,1.000,"));
/// # Ok::<(), sttbench::Error>(())
/// ```
pub struct HdrLogWriter<W: Write> {
    out: W,
    /// The file's name, for errors.
    name: PathBuf,
    serializer: V2DeflateSerializer,
}

/// The file's name; not the serializer's buffers.
impl<W: Write> std::fmt::Debug for HdrLogWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HdrLogWriter").field("name", &self.name).finish_non_exhaustive()
    }
}

impl HdrLogWriter<BufWriter<File>> {
    /// Creates (or truncates) the log at `path` and writes its header; `start` is when
    /// the run began, by the wall clock. Interval times are given relative to it.
    ///
    /// # Errors
    ///
    /// [`Error::File`] naming `path` when it cannot be created or written.
    pub fn create(path: impl AsRef<Path>, start: SystemTime) -> crate::Result<Self> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|e| write_error(path, e))?;
        HdrLogWriter::new(BufWriter::new(file), path, start)
    }
}

impl<W: Write> HdrLogWriter<W> {
    /// A log written to `out`, which error messages call `name`, for a run that began at
    /// `start` (wall clock): written as the log's StartTime and BaseTime, so each
    /// interval's time is seconds since the run began.
    ///
    /// # Errors
    ///
    /// [`Error::File`] when the header cannot be written.
    pub fn new(mut out: W, name: impl Into<PathBuf>, start: SystemTime) -> crate::Result<Self> {
        let name = name.into();
        let mut serializer = V2DeflateSerializer::new();
        let header = IntervalLogWriterBuilder::new()
            .add_comment(&format!("[Logged with sttbench {}]", env!("CARGO_PKG_VERSION")))
            .add_comment("[Histogram log format version 1.3]")
            .add_comment("[Values, the max column's included, are nanoseconds]")
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut serializer)
            .map(drop);
        // The column legend Java's writer puts under the header; readers skip it.
        let legend = "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";
        header
            .and_then(|()| writeln!(out, "{legend}"))
            .and_then(|()| out.flush())
            .map_err(|e| write_error(&name, e))?;
        Ok(HdrLogWriter { out, name, serializer })
    }

    /// Appends the histogram of one interval of the measure `tag`, recorded over
    /// `interval` (times since the run began), and flushes. The histogram must hold only
    /// that interval's samples: clear it before recording the next.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for a tag that is empty or holds a comma, space or line break
    /// (the format's separators); [`Error::File`] when the log cannot be written.
    pub fn write(
        &mut self,
        tag: &str,
        interval: Range<Duration>,
        histogram: &LatencyHistogram,
    ) -> crate::Result<()> {
        let tag = Tag::new(tag).filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::Setting(
                format!(
                    "HdrHistogram log tag {tag:?}: use a non-empty name without commas, spaces \
                     or line breaks, e.g. `{LATENESS}`"
                )
                .into(),
            )
        })?;
        let length = interval.end.saturating_sub(interval.start);
        // The crate's writer borrows its output, so it cannot live in this struct; one
        // without headers is made for each line, which costs two empty buffers.
        let mut log = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.out, &mut self.serializer)
            .map_err(|e| write_error(&self.name, e))?;
        log.write_histogram(&histogram.histogram, interval.start, length, Some(tag)).map_err(
            |e| {
                let problem = format!("cannot write an interval to the HdrHistogram log: {e}");
                FileError::new(&self.name, problem, None)
            },
        )?;
        self.out.flush().map_err(|e| write_error(&self.name, e))
    }

    /// The writer the log went to.
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn write_error(path: &Path, e: io::Error) -> Error {
    let problem = format!("cannot write the HdrHistogram log: {e}");
    FileError::new(path, problem, Some(Box::new(e) as _)).into()
}

#[cfg(test)]
mod tests;
