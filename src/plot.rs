//! A picture of one run, for people who would rather look than read: an SVG with two
//! panels drawn from a [`Summary`].
//!
//! - **Lag over time**: how far behind real time each second of audio reached the server
//!   (or left the client, where the server's side was not seen), from the summary's
//!   `behind_real_time` samples; a flat line is a link that keeps up, a climbing one a
//!   link that cannot carry the audio.
//! - **Latency per stage**: each stage's p50, p95, p99, p99.9 and max on a logarithmic
//!   axis, client stages (`wake_lateness`, `encode`, `queue`, `write`, their sum
//!   `client_added`) beside the network's (`uplink`, `server`, `downlink`) and the
//!   final lag, so where the time went is one glance.
//!
//! SVG only (plotters' SVG backend with its built-in text metrics: no font or bitmap
//! crates), behind the `plot` feature. It reads the summary and nothing else, so the
//! CLI (`stream --plot`) and the network benches draw the same picture.

use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;

use crate::error::FileError;
use crate::metrics::LatencySummary;
use crate::pipeline::Summary;

/// The picture's size in pixels.
const SIZE: (u32, u32) = (960, 720);

/// The quantiles drawn per stage, with their axis labels.
const QUANTILES: [&str; 5] = ["p50", "p95", "p99", "p99.9", "max"];

/// Where every stage's line starts on the log axis: 1 µs, below any stage worth seeing.
const FLOOR_MS: f64 = 0.001;

/// The SVG of `summary`, titled `title`.
///
/// # Errors
///
/// [`crate::Error::Setting`] if the drawing fails (it only can for a picture too small
/// for its labels, which the fixed size rules out).
pub fn svg(summary: &Summary, title: &str) -> crate::Result<String> {
    let mut out = String::new();
    draw(&mut out, summary, title)
        .map_err(|e| crate::Error::Setting(format!("cannot draw the plot: {e}").into()))?;
    Ok(out)
}

/// Writes [`svg`] of `summary` to `path`.
///
/// # Errors
///
/// As [`svg`]; [`crate::Error::File`] naming `path` when it cannot be written.
pub fn write(path: &Path, summary: &Summary, title: &str) -> crate::Result<()> {
    let svg = svg(summary, title)?;
    std::fs::write(path, svg).map_err(|e| {
        FileError::new(path, "cannot write the plot; check the directory exists", Some(e.into()))
            .into()
    })
}

/// Every stage the summary has, named, with the final lag last.
fn stages(summary: &Summary) -> Vec<(&'static str, LatencySummary)> {
    let s = &summary.stages;
    let mut out = vec![
        ("wake_lateness", s.wake_lateness),
        ("encode", s.encode),
        ("queue", s.queue),
        ("write", s.write),
        ("client_added", s.client_added),
    ];
    for (name, stage) in [("uplink", s.uplink), ("server", s.server), ("downlink", s.downlink)] {
        out.extend(stage.map(|stage| (name, stage)));
    }
    if let Some(p) = summary.pipeline.as_ref().filter(|p| p.final_lag.count > 0) {
        out.push(("final_lag", p.final_lag));
    }
    out
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).max(FLOOR_MS)
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

fn draw(out: &mut String, summary: &Summary, title: &str) -> Drawn {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (top, bottom) = root.split_vertically(SIZE.1 * 2 / 5);

    // Lag over time.
    let samples: Vec<(f64, f64)> = summary.behind.as_ref().map_or_else(Vec::new, |b| {
        b.per_second.iter().enumerate().map(|(s, &ns)| (s as f64 + 0.5, ns as f64 / 1e6)).collect()
    });
    let seconds = samples.len().max(1) as f64;
    let high = samples.iter().map(|&(_, y)| y).fold(1.0, f64::max) * 1.1;
    let seen = summary.behind.as_ref().map_or("not measured (unpaced)", |b| b.seen_at);
    let mut lag = ChartBuilder::on(&top)
        .caption(format!("behind real time, per second of audio ({seen})"), ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..seconds, 0f64..high)?;
    lag.configure_mesh().x_desc("audio (s)").y_desc("behind (ms)").draw()?;
    lag.draw_series(LineSeries::new(samples.iter().copied(), &RED))?;
    lag.draw_series(samples.iter().map(|&p| Circle::new(p, 3, RED.filled())))?;

    // Latency per stage.
    let stages = stages(summary);
    let top_ms = stages.iter().map(|(_, s)| ms(s.max)).fold(1.0, f64::max) * 2.0;
    let mut dist = ChartBuilder::on(&bottom)
        .caption("latency per stage (log scale)", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..(QUANTILES.len() - 1) as f64, (FLOOR_MS..top_ms).log_scale())?;
    dist.configure_mesh()
        .x_labels(QUANTILES.len())
        .x_label_formatter(&|x| QUANTILES.get(x.round() as usize).copied().unwrap_or("").into())
        .y_desc("ms")
        .draw()?;
    for (i, (name, stage)) in stages.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points = [stage.p50, stage.p95, stage.p99, stage.p999, stage.max]
            .into_iter()
            .enumerate()
            .map(|(x, d)| (x as f64, ms(d)));
        dist.draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
    }
    dist.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
