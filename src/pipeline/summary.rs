//! What a run measured, however it ended: the [`Summary`] `sttbench stream` prints as
//! text or JSON, and the side-by-side [`table`] for several providers.
//!
//! One summary holds the run's [`Outcome`] (how it ended, with the exit code), the
//! [`Recorder`]'s distributions (send latency and its stages, throughput) and, by peer,
//! the echo's round trips or the provider's transcript figures. JSON fields are flat and
//! in nanoseconds (`*_ns`); `stages` has `wake_lateness`, `encode`, `queue` and `write`,
//! their sum per chunk `client_added`, and with a local mock `uplink`, `server` and
//! `downlink`, each with `count`, `p50_ns`, `p95_ns`, `p99_ns`, `p99_9_ns` and `max_ns`.
//! Reconnects are always reported, zeros included: `reconnects`, `audio_replayed_bytes`,
//! `audio_lost_bytes` and `reconnect_gap` (`count`, `p50_ns`, `p99_ns`, `max_ns`).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::{Behind, Timeline, Transit};
use crate::metrics::{LatencySummary, Throughput, as_nanos};
use crate::stream::{Ending, Outcome, Phase, Recorder, Stages, Stall, exit};

/// Everything one run measured. See the module doc.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// `echo`, `deepgram` or `assemblyai`.
    pub provider: &'static str,
    /// Where the session went.
    pub url: String,
    /// The audio streamed (a signal's name or a file).
    pub source: String,
    /// How the run ended: `completed`, `interrupted`, `closed by server`,
    /// `connection dropped`, `stalled`, `close timeout` or `fell behind`.
    pub ended: &'static str,
    /// The exit status this ending gives `sttbench stream`.
    pub exit_code: i32,
    /// The ending's details.
    pub ending: EndingDetail,
    /// Whether chunks were paced in real time.
    pub realtime: bool,
    /// Audio per chunk.
    #[serde(rename = "chunk_ns", serialize_with = "as_nanos")]
    pub chunk: Duration,
    /// Chunks the audio was cut into.
    pub chunks_total: u64,
    /// Chunks written.
    pub chunks_sent: u64,
    /// Chunks dropped by a full queue.
    pub chunks_dropped: u64,
    /// Payload bytes written.
    pub bytes_sent: u64,
    /// All the audio, padding included.
    #[serde(rename = "audio_ns", serialize_with = "as_nanos")]
    pub audio: Duration,
    /// Audio at the end of the last chunk written.
    #[serde(rename = "audio_sent_ns", serialize_with = "as_nanos")]
    pub audio_sent: Duration,
    /// Connecting.
    #[serde(rename = "connect_ns", serialize_with = "as_nanos")]
    pub connect: Duration,
    /// First chunk due → last chunk written.
    #[serde(rename = "sending_ns", serialize_with = "as_nanos")]
    pub sending: Duration,
    /// First chunk due → end of the run, close included.
    #[serde(rename = "wall_ns", serialize_with = "as_nanos")]
    pub wall: Duration,
    /// Each chunk's due time → its frame flushed: the sum of the stages.
    pub send_latency: LatencySummary,
    /// The client's stages.
    pub stages: Stages,
    /// Bytes over `sending`.
    pub throughput: Throughput,
    /// Round trips, against an echo peer.
    #[serde(flatten)]
    pub echo: Option<EchoFigures>,
    /// Transcript figures, against a provider.
    #[serde(flatten)]
    pub pipeline: Option<PipelineFigures>,
    /// The server's close frame, if it sent one.
    pub server_close: Option<CloseFrame>,
    /// Reconnects after a dropped connection.
    pub reconnects: u32,
    /// Audio bytes sent again after reconnects (not in `bytes_sent`).
    pub audio_replayed_bytes: u64,
    /// Audio bytes a reconnect could not send again (more was unconfirmed than the
    /// replay limit keeps); 0 otherwise.
    pub audio_lost_bytes: u64,
    /// Each reconnect's time without audio flowing.
    pub reconnect_gap: GapSummary,
    /// How far behind real time the audio fell (real-time runs; see [`Behind`]).
    #[serde(rename = "behind_real_time", skip_serializing_if = "Option::is_none")]
    pub behind: Option<Behind>,
}

/// The reconnect gaps: how many, and their median, 99th percentile and maximum (nearest
/// rank; 0 when there were none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GapSummary {
    /// Gaps measured.
    pub count: usize,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Longest.
    pub max_ns: u64,
}

impl GapSummary {
    /// The summary of `gaps`.
    pub fn of(gaps: &[Duration]) -> Self {
        let mut sorted: Vec<u64> = gaps.iter().copied().map(nanos).collect();
        sorted.sort_unstable();
        let rank = |q: f64| {
            let index = ((q * sorted.len() as f64).ceil() as usize).saturating_sub(1);
            sorted.get(index).copied().unwrap_or(0)
        };
        GapSummary {
            count: sorted.len(),
            p50_ns: rank(0.50),
            p99_ns: rank(0.99),
            max_ns: sorted.last().copied().unwrap_or(0),
        }
    }
}

/// How the run ended, in detail.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct EndingDetail {
    /// One sentence: who, what, while doing what, after how much audio.
    pub message: String,
    /// What the run was doing.
    pub phase: Phase,
    /// The server's close code, for `closed by server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The server's close reason, for `closed by server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The dialect's reading of the close (`Auth`, `IdleTimeout` …), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The stall, for `stalled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall: Option<Stall>,
}

/// An echo peer's figures.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct EchoFigures {
    /// Chunks that came back.
    pub chunks_echoed: u64,
    /// Chunks written and never echoed.
    pub chunks_lost: u64,
    /// Each chunk's due time → its echo.
    pub round_trip: LatencySummary,
}

/// A provider's transcript figures (see [`Timeline`]).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PipelineFigures {
    /// First audio due → first non-empty transcript.
    pub first_partial_ns: Option<u64>,
    /// Per utterance covered: its end of speech due → the final covering it.
    pub final_latency_ns: Vec<u64>,
    /// Utterances no final covered.
    pub utterances_uncovered: usize,
    /// Per final, the audio sent when it arrived minus the audio it reaches (Deepgram's
    /// definition of streaming latency).
    pub final_lag: LatencySummary,
    /// Transcript events received.
    pub transcripts: usize,
    /// Transcript events per second of session.
    pub transcripts_per_second: f64,
    /// The text of every final, one per turn.
    pub finals: Vec<String>,
}

/// A close frame's code and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloseFrame {
    /// The close code.
    pub code: u16,
    /// The close reason as sent.
    pub reason: String,
}

impl PipelineFigures {
    /// The median and the slowest final latency, if any final arrived.
    pub fn final_p50_max(&self) -> (Option<Duration>, Option<Duration>) {
        let mut sorted = self.final_latency_ns.clone();
        sorted.sort_unstable();
        let p50 = sorted.get(sorted.len().saturating_sub(1) / 2).copied();
        (p50.map(Duration::from_nanos), sorted.last().copied().map(Duration::from_nanos))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Summary {
    /// The summary of a run that ended with `outcome`, watched by `recorder` and, for a
    /// provider, by `timeline`.
    pub fn new(
        outcome: &Outcome,
        recorder: &Recorder,
        timeline: Option<&Timeline>,
        url: String,
        source: String,
    ) -> Self {
        let (code, reason, kind, stall) = match &outcome.ending {
            Ending::ServerClosed { code, reason, error } => (
                Some(*code),
                Some(reason.clone()),
                error.as_ref().map(|e| format!("{:?}", e.kind)),
                None,
            ),
            Ending::Stalled(stall) => (None, None, None, Some(*stall)),
            _ => (None, None, None, None),
        };
        let echo = (outcome.provider == "echo").then(|| EchoFigures {
            chunks_echoed: recorder.chunks_echoed(),
            chunks_lost: recorder.chunks_sent().saturating_sub(recorder.chunks_echoed()),
            round_trip: recorder.round_trip().summary(),
        });
        let pipeline = timeline.map(|timeline| {
            let report = timeline.report();
            PipelineFigures {
                first_partial_ns: report.first_partial.map(nanos),
                final_latency_ns: report.final_latencies.iter().copied().map(nanos).collect(),
                utterances_uncovered: report.uncovered,
                final_lag: {
                    let mut lags = crate::metrics::LatencyHistogram::new();
                    report.final_lags.iter().for_each(|&lag| lags.record(lag));
                    lags.summary()
                },
                transcripts: report.transcripts,
                transcripts_per_second: report.transcripts_per_second,
                finals: timeline.finals().to_vec(),
            }
        });
        Summary {
            provider: outcome.provider,
            url,
            source,
            ended: outcome.ending.label(),
            exit_code: outcome.exit_code(),
            ending: EndingDetail {
                message: outcome.to_string(),
                phase: outcome.phase,
                code,
                reason,
                kind,
                stall,
            },
            realtime: outcome.realtime,
            chunk: outcome.chunk,
            chunks_total: outcome.chunks_total,
            chunks_sent: outcome.chunks_sent,
            chunks_dropped: outcome.chunks_dropped,
            bytes_sent: outcome.bytes_sent,
            audio: outcome.audio,
            audio_sent: outcome.audio_sent,
            connect: outcome.connect,
            sending: outcome.sending,
            wall: outcome.wall,
            send_latency: recorder.send_latency().summary(),
            stages: recorder.stages(),
            throughput: recorder.throughput(),
            echo,
            pipeline,
            server_close: outcome
                .server_close
                .clone()
                .map(|(code, reason)| CloseFrame { code, reason }),
            reconnects: outcome.reconnects,
            audio_replayed_bytes: outcome.audio_replayed_bytes,
            audio_lost_bytes: outcome.audio_lost_bytes,
            reconnect_gap: GapSummary::of(&outcome.reconnect_gaps),
            behind: None,
        }
    }

    /// Adds what `transit` saw: the uplink, server and downlink stages (with a server
    /// clock) and how far behind real time the audio fell.
    pub fn with_transit(mut self, transit: &Transit) -> Self {
        if let Some(network) = transit.stages() {
            self.stages.uplink = Some(network.uplink);
            self.stages.server = Some(network.server);
            self.stages.downlink = Some(network.downlink);
        }
        self.behind = transit.behind();
        self
    }

    /// The summary as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a summary is plain data")
    }
}

/// The exit status of several runs: the first that did not complete decides (an error
/// that kept a run from starting counts as [`exit::USAGE`] or [`exit::FAILED`]).
pub fn exit_code(results: &[crate::Result<Summary>]) -> i32 {
    let code = |result: &crate::Result<Summary>| match result {
        Ok(summary) => summary.exit_code,
        Err(e) if e.is_usage() => exit::USAGE,
        Err(_) => exit::FAILED,
    };
    results.iter().map(code).find(|&c| c != exit::COMPLETED).unwrap_or(exit::COMPLETED)
}

/// `d` in milliseconds with one decimal, or `-` when there is none.
fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
}

fn ns_ms(ns: Option<u64>) -> String {
    ms(ns.map(Duration::from_nanos))
}

/// One row per run, side by side: what `sttbench stream` prints for several providers.
pub fn table(summaries: &[Summary]) -> String {
    let mut out = format!(
        "{:<12} {:<18} {:>14} {:>12} {:>12} {:>7} {:>14}\n",
        "provider", "ended", "first partial", "final p50", "final max", "finals", "transcripts/s"
    );
    for s in summaries {
        let p = s.pipeline.as_ref();
        let (p50, max) = p.map(PipelineFigures::final_p50_max).unwrap_or_default();
        out.push_str(&format!(
            "{:<12} {:<18} {:>14} {:>12} {:>12} {:>7} {:>14.1}\n",
            s.provider,
            s.ended,
            ns_ms(p.and_then(|p| p.first_partial_ns)),
            ms(p50),
            ms(max),
            p.map_or(0, |p| p.finals.len()),
            p.map_or(0.0, |p| p.transcripts_per_second)
        ));
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pacing = if self.realtime { "real time" } else { "unpaced" };
        writeln!(f, "{:<14} {}", self.provider, self.url)?;
        if self.ended == "completed" {
            writeln!(f, "ended          completed (exit {})", self.exit_code)?;
        } else {
            writeln!(
                f,
                "ended          {} (exit {}): {}",
                self.ended, self.exit_code, self.ending.message
            )?;
        }
        writeln!(
            f,
            "audio          {:.2?} of {} in {:?} chunks, {pacing}; {:.2?} sent",
            self.audio, self.source, self.chunk, self.audio_sent
        )?;
        writeln!(
            f,
            "chunks sent    {} of {} ({} B, {} dropped)",
            self.chunks_sent, self.chunks_total, self.bytes_sent, self.chunks_dropped
        )?;
        writeln!(
            f,
            "time           connect {:.2?}, sending {:.2?}, wall {:.2?} (close included)",
            self.connect, self.sending, self.wall
        )?;
        writeln!(f, "send latency   {}", self.send_latency)?;
        let stages = &self.stages;
        for (name, stage) in [
            ("wake late", &stages.wake_lateness),
            ("encode", &stages.encode),
            ("queue", &stages.queue),
            ("write", &stages.write),
        ] {
            writeln!(f, "  {name:<12} {stage}")?;
        }
        writeln!(f, "client added   {} (the four stages per chunk)", stages.client_added)?;
        for (name, stage) in
            [("uplink", &stages.uplink), ("server", &stages.server), ("downlink", &stages.downlink)]
        {
            if let Some(stage) = stage {
                writeln!(f, "  {name:<12} {stage}")?;
            }
        }
        writeln!(f, "throughput     {} while sending", self.throughput)?;
        if let Some(echo) = &self.echo {
            writeln!(f, "chunks echoed  {}", echo.chunks_echoed)?;
            writeln!(f, "chunks lost    {}", echo.chunks_lost)?;
            writeln!(f, "round trip     {}", echo.round_trip)?;
        }
        if let Some(p) = &self.pipeline {
            let (p50, max) = p.final_p50_max();
            writeln!(f, "first partial  {}", ns_ms(p.first_partial_ns))?;
            writeln!(
                f,
                "final latency  p50 {}, max {} over {} utterances ({} without a final)",
                ms(p50),
                ms(max),
                p.final_latency_ns.len(),
                p.utterances_uncovered
            )?;
            writeln!(
                f,
                "final lag      {} (client added p99 {})",
                p.final_lag,
                ms(Some(stages.client_added.p99))
            )?;
            writeln!(f, "transcripts    {} ({:.1}/s)", p.transcripts, p.transcripts_per_second)?;
            for text in &p.finals {
                writeln!(f, "final          {text}")?;
            }
        }
        if let Some(behind) = &self.behind {
            writeln!(
                f,
                "behind         max {}, final {} behind real time (seen at the {})",
                ms(Some(behind.max)),
                ms(Some(behind.last)),
                behind.seen_at
            )?;
            if behind.uplink_too_slow {
                writeln!(
                    f,
                    "               the uplink was too slow: it could not carry the audio in real time"
                )?;
            }
        }
        if let Some(close) = &self.server_close {
            writeln!(f, "server close   {} {}", close.code, close.reason)?;
        }
        if self.reconnects > 0 || self.audio_lost_bytes > 0 {
            let gap = self.reconnect_gap;
            writeln!(
                f,
                "reconnects     {} ({} B of audio sent again; gap p50 {}, max {})",
                self.reconnects,
                self.audio_replayed_bytes,
                ns_ms(Some(gap.p50_ns)),
                ns_ms(Some(gap.max_ns))
            )?;
        }
        if self.audio_lost_bytes > 0 {
            writeln!(
                f,
                "audio lost     {} B: more audio was unconfirmed when the connection dropped \
                 than the replay limit keeps (--replay-limit)",
                self.audio_lost_bytes
            )?;
        }
        Ok(())
    }
}
