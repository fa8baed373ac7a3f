//! Entry points for the fuzz targets in `fuzz/` and for the regression tests built from
//! what they found (`tests/fuzz_regressions.rs`): each takes raw bytes, feeds them to one
//! of the library's readers of outside input, and returns its result. Hidden from the
//! docs: this is a test surface, not an API to build on.
//!
//! Every reader must answer bad input with an error, never a panic; the checks here
//! also assert what a reader's output promises (a close reason fits a close frame, the
//! JSON report parses), so a broken promise is a crash too.
//!
//! Inputs with several parts (two result files, a request and its frames) are split on
//! [`SEPARATOR`] so that the seed corpus in `fuzz/corpus/` stays readable text.

use std::path::Path;

use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::Request;

use crate::baseline::{self, Selection, Settings};
use crate::bmf::Bmf;
use crate::encode::AudioFormat;
use crate::encode::wav::{self, Audio};
use crate::provider::assemblyai::AssemblyAi;
use crate::provider::deepgram::Deepgram;
use crate::provider::{Dialect, Event, Hosted};
use crate::server::mock::{Fault, MockConfig};

/// The line that separates the parts of a multi-part input.
pub const SEPARATOR: &str = "\n====\n";

/// The name inputs go by in error messages.
const NAME: &str = "fuzz-input";

/// WAV bytes decoded, then converted to the pipeline's format as `--wav` input is.
///
/// # Errors
///
/// The [`wav::decode`] or conversion error.
pub fn wav(data: &[u8]) -> crate::Result<Audio> {
    Ok(wav::decode(NAME, data)?.to_format(AudioFormat::PIPELINE)?)
}

/// One frame from a Deepgram server, parsed into an [`Event`]: text when the bytes are
/// UTF-8, else binary. The first two bytes, read as a close code, and the rest, read as
/// its reason (and as an HTTP status and body), also go through the close and handshake
/// error mapping.
pub fn deepgram(data: &[u8]) -> Event {
    server_message(&Deepgram::default(), data)
}

/// As [`deepgram`], for AssemblyAI's messages.
pub fn assemblyai(data: &[u8]) -> Event {
    server_message(&AssemblyAi::default(), data)
}

fn server_message(dialect: &dyn Dialect, data: &[u8]) -> Event {
    if let [hi, lo, rest @ ..] = data {
        let code = u16::from_be_bytes([*hi, *lo]);
        let reason = String::from_utf8_lossy(rest);
        if let Some(error) = dialect.close_error(code, &reason) {
            let _ = error.to_string();
        }
        if let Some(error) = dialect.handshake_error(code, &reason) {
            let _ = error.to_string();
        }
    }
    let message = match std::str::from_utf8(data) {
        Ok(text) => Message::text(text),
        Err(_) => Message::binary(data.to_vec()),
    };
    dialect.parse(message)
}

/// A BMF file's bytes, read as [`Bmf::read`] reads a file.
///
/// # Errors
///
/// The [`crate::Error::File`] a file with these bytes gives.
pub fn bmf(data: &[u8]) -> crate::Result<Bmf> {
    let path = Path::new(NAME);
    Bmf::from_value(path, crate::bmf::parse_json(path, &text(data)?)?)
}

/// A result file's bytes (a baseline file or BMF), read and validated as
/// [`baseline::load`] reads one side of a comparison.
///
/// # Errors
///
/// The [`crate::Error::File`] a file with these bytes gives.
pub fn baseline(data: &[u8]) -> crate::Result<baseline::Source> {
    source(&text(data)?)
}

/// A criterion run: `benchmark.json`, [`SEPARATOR`], `estimates.json`, read as the
/// criterion reader reads a run's directory.
///
/// # Errors
///
/// The [`crate::Error::File`] such a directory gives.
pub fn criterion(data: &[u8]) -> crate::Result<Bmf> {
    let text = text(data)?;
    let (benchmark, estimates) = text.split_once(SEPARATOR).unwrap_or((&text, ""));
    let mut bmf = Bmf::new();
    baseline::criterion::add_run(Path::new(NAME), benchmark, estimates, &mut bmf)?;
    Ok(bmf)
}

/// The verdict on two result files: old, [`SEPARATOR`], new, and optionally a re-run
/// and a settings part of `filter=REGEX`, `measure=NAME` and `noise=FRACTION` lines.
/// Both reports are rendered; the markdown is returned.
///
/// # Errors
///
/// What [`baseline::judge`] gives for such files and settings.
pub fn compare(data: &[u8]) -> crate::Result<String> {
    let text = text(data)?;
    let mut parts = text.split(SEPARATOR);
    let old = source(parts.next().unwrap_or(""))?;
    let new = source(parts.next().unwrap_or(""))?;
    let rerun = parts.next().filter(|p| !p.trim().is_empty()).map(source).transpose()?;
    let (mut settings, mut selection) = (Settings::default(), Selection::default());
    for line in parts.next().unwrap_or("").lines() {
        match line.split_once('=') {
            Some(("filter", regex)) => selection = selection.filter(regex),
            Some(("measure", m)) => selection.measures.push(m.to_owned()),
            Some(("noise", f)) => match f.parse::<f64>() {
                Ok(f) if (0.0..1.0).contains(&f) => settings = settings.noise_threshold(f),
                _ => {}
            },
            _ => {}
        }
    }
    let judgement =
        baseline::judge_sources(old, new, rerun.into_iter().collect(), settings, &selection)?;
    let report = judgement.report();
    let json = report.json();
    assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "the JSON report parses");
    let _ = judgement.comparison.rerun_filter();
    Ok(report.markdown())
}

/// A client of a mock: a head, a blank line, then frames separated by [`SEPARATOR`].
///
/// The head is the provider (`deepgram` or `assemblyai`) and optionally ` FAULT` on the
/// first line, the upgrade request's target (`/v1/listen?sample_rate=8000`) on the
/// second, then `Name: value` header lines. Each frame starts with its kind: `t` a text
/// frame (the rest, as UTF-8), `b` a binary frame (the rest, as audio), anything else
/// the idle window passing.
///
/// # Errors
///
/// A description of why the mock refused the client (an unusable request, an HTTP
/// status), or of why the input is not of this shape.
pub fn mock(data: &[u8]) -> Result<Vec<Message>, String> {
    let split = find(data, b"\n\n").unwrap_or(data.len());
    let (head, body) = data.split_at(split);
    let body = body.get(2..).unwrap_or_default();
    let head = std::str::from_utf8(head).map_err(|e| format!("head is not UTF-8: {e}"))?;
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("");
    let (provider, fault) = first.split_once(' ').unwrap_or((first, ""));
    let provider = provider.parse::<Hosted>().map_err(|e| e.to_string())?;
    let fault = match fault.trim() {
        "" => None,
        spelling => Some(spelling.parse::<Fault>().map_err(|e| e.to_string())?),
    };
    let mut request = Request::builder().uri(lines.next().unwrap_or("/"));
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            request = request.header(name.trim(), value.trim());
        }
    }
    let request = request.body(()).map_err(|e| format!("not a request: {e}"))?;
    let frames = split_bytes(body, SEPARATOR.as_bytes()).into_iter().map(|frame| match frame {
        [b't', rest @ ..] => Message::text(String::from_utf8_lossy(rest).into_owned()),
        [b'b', rest @ ..] => Message::binary(rest.to_vec()),
        _ => Message::Ping(Default::default()),
    });
    let config = MockConfig::new(provider);
    let replies = crate::server::mock::replay(&config, fault.as_ref(), &request, frames)
        .map_err(|status| format!("refused with HTTP {status}"))?;
    for reply in &replies {
        if let Message::Close(Some(frame)) = reply {
            assert!(frame.reason.len() <= 123, "a close reason fits a close frame");
        }
    }
    Ok(replies)
}

/// `data` cut at every `separator`; empty input is no part at all.
fn split_bytes<'a>(data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        match find(rest, separator) {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = &rest[at + separator.len()..];
            }
            None => {
                parts.push(rest);
                break;
            }
        }
    }
    parts
}

/// Where `needle` (which starts with a newline) first occurs in `data`. Not a window-by-
/// window comparison: under the fuzzer's instrumentation every comparison of a window is
/// an intercepted `memcmp`, which made the mock target a hundred times slower.
fn find(data: &[u8], needle: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = data[from..].iter().position(|&b| b == needle[0]) {
        let at = from + at;
        if data[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// One side of a comparison from a result file's text.
fn source(text: &str) -> crate::Result<baseline::Source> {
    let path = Path::new(NAME);
    baseline::from_json(path, crate::bmf::parse_json(path, text)?)
}

/// The bytes as text, as a file reader would read them.
fn text(data: &[u8]) -> crate::Result<String> {
    String::from_utf8(data.to_vec()).map_err(|e| {
        crate::error::FileError::new(NAME, "cannot read the file", Some(Box::new(e) as _)).into()
    })
}
