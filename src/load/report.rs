//! The aggregated report of a load run: JSON (durations in nanoseconds) and text.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::metrics::{LatencySummary, as_nanos};
use crate::stream::Stages;

/// What a load run measured, over every stream. See [`run`](super::run).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LoadReport {
    /// The dialect spoken: `echo`, `deepgram` or `assemblyai`.
    pub provider: &'static str,
    /// Where the streams went (the proxy's address when a link profile was used).
    pub url: String,
    /// Streams asked for.
    pub streams: usize,
    /// Streams whose session opened.
    pub streams_started: usize,
    /// Streams that completed (closed as they should).
    pub streams_completed: usize,
    /// Streams that kept real time: sent, with at most 1 % of chunks (their p99) woken
    /// more than one chunk late.
    pub streams_realtime: usize,
    /// Every stream asked for kept real time.
    pub realtime_held: bool,
    /// The pacer's wake lateness at the 99th percentile, over every chunk of every
    /// stream.
    pub lateness_p99_ns: u64,
    /// Audio per chunk.
    #[serde(rename = "chunk_ns", serialize_with = "as_nanos")]
    pub chunk: Duration,
    /// Audio per stream.
    #[serde(rename = "duration_ns", serialize_with = "as_nanos")]
    pub duration: Duration,
    /// Over how long the streams were started, evenly spread.
    #[serde(rename = "ramp_up_ns", serialize_with = "as_nanos")]
    pub ramp_up: Duration,
    /// From the first stream's start to the last one's end.
    #[serde(rename = "wall_ns", serialize_with = "as_nanos")]
    pub wall: Duration,
    /// Stopped by a [`Control`](crate::stream::Control) (Ctrl-C): the figures so far.
    pub interrupted: bool,
    /// The pacer's wake lateness, every chunk of every stream.
    pub lateness: LatencySummary,
    /// From each chunk's due time to its frame flushed.
    pub send_latency: LatencySummary,
    /// The client's stages, every chunk of every stream.
    pub stages: Stages,
    /// From each chunk's due time to its echo (echo only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip: Option<LatencySummary>,
    /// Time to first partial, one per stream (providers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_partial: Option<LatencySummary>,
    /// Final lag, one per utterance a final covered (providers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_lag: Option<LatencySummary>,
    /// Chunks written, every stream.
    pub chunks_sent: u64,
    /// Payload bytes written, every stream.
    pub bytes_sent: u64,
    /// Chunks a full queue dropped.
    pub chunks_dropped: u64,
    /// How the streams ended, by ending (`completed`, `dropped`, …), and `not_started`
    /// for those that never opened.
    pub endings: BTreeMap<&'static str, usize>,
    /// The first errors of streams that did not start (at most a few, each once).
    pub errors: Vec<String>,
    /// Memory per stream.
    pub memory: Memory,
    /// CPU per stream.
    pub cpu: Cpu,
}

/// Memory of a load run: the process's resident set (`VmRSS`), before and at its peak.
#[derive(Debug, Clone, Copy, Serialize)]
#[non_exhaustive]
pub struct Memory {
    /// Resident before the first stream; `None` where the OS does not say.
    pub rss_before_bytes: Option<u64>,
    /// The most resident at a once-a-second sample during the run.
    pub rss_peak_bytes: Option<u64>,
    /// (peak − before) ÷ streams.
    pub rss_per_stream_bytes: Option<u64>,
    /// Heap per stream when a counting allocator is installed; `None` here (sttbench
    /// installs none: the memory bench measures a session's heap with dhat).
    pub heap_per_stream_bytes: Option<u64>,
}

/// CPU of a load run: the process's user and system time over the run.
#[derive(Debug, Clone, Copy, Serialize)]
#[non_exhaustive]
pub struct Cpu {
    /// CPU time the process used during the run; `None` where the OS does not say.
    #[serde(rename = "cpu_ns")]
    pub cpu_ns: Option<u64>,
    /// Fraction of one core each stream used: CPU time ÷ wall ÷ streams.
    pub core_per_stream: Option<f64>,
}

impl LoadReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report is plain data")
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = if self.realtime_held { "yes" } else { "NO" };
        writeln!(f, "target         {} ({})", self.url, self.provider)?;
        writeln!(
            f,
            "streams        {} asked, {} started, {} completed, {} kept real time",
            self.streams, self.streams_started, self.streams_completed, self.streams_realtime
        )?;
        writeln!(f, "real time held {held} (each stream's p99 lateness within {:?})", self.chunk)?;
        writeln!(f, "lateness       {}", self.lateness)?;
        writeln!(f, "send latency   {}", self.send_latency)?;
        if let Some(rt) = &self.round_trip {
            writeln!(f, "round trip     {rt}")?;
        }
        if let Some(fp) = &self.first_partial {
            writeln!(f, "first partial  {fp}")?;
        }
        if let Some(lag) = &self.final_lag {
            writeln!(f, "final lag      {lag}")?;
        }
        writeln!(
            f,
            "sent           {} chunks, {} B, {} dropped, in {:.2?}",
            self.chunks_sent, self.bytes_sent, self.chunks_dropped, self.wall
        )?;
        let endings: Vec<String> = self.endings.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(f, "endings        {}", endings.join(", "))?;
        match (self.memory.rss_per_stream_bytes, self.memory.rss_peak_bytes) {
            (Some(per), Some(peak)) => writeln!(
                f,
                "memory         {:.1} KiB resident per stream ({:.1} MiB at peak)",
                per as f64 / 1024.0,
                peak as f64 / (1024.0 * 1024.0)
            )?,
            _ => writeln!(f, "memory         unknown on this OS")?,
        }
        match self.cpu.core_per_stream {
            Some(share) => {
                writeln!(f, "cpu            {:.3} % of a core per stream", share * 100.0)?
            }
            None => writeln!(f, "cpu            unknown on this OS")?,
        }
        if self.interrupted {
            writeln!(f, "interrupted: the figures so far")?;
        }
        for error in &self.errors {
            writeln!(f, "error: {error}")?;
        }
        Ok(())
    }
}
