//! Reads gungraun's instruction counts (`summary.json`, schema 7) into Bencher Metric
//! Format.
//!
//! `cargo bench --features instructions --bench instructions -- --save-summary=json`
//! leaves one `summary.json` per benchmark under `target/gungraun/`. Each names its group,
//! function and optional id, and holds callgrind's totals as
//! `profiles[tool = Callgrind].data.total.metrics.Ir.values.new`. This reader turns each
//! into the BMF measure [`INSTRUCTIONS`] of benchmark `<group>/<function>/<id>`, dropping
//! one leading `_` from function and id (Rust identifiers cannot start with a digit, so
//! `_20ms` stands for criterion's `20ms`). That keeps counts beside the timings of the same
//! benchmark ID.
//!
//! It reads only the instruction count: gungraun's own verdict (`old`, `diff_pct`,
//! regressions) and the cache estimates are left alone, because one engine judges
//! everything and cycle estimates are a model, not a count.

use std::path::Path;

use serde_json::Value;

use crate::bmf::{Bmf, Metric};
use crate::error::FileError;

/// The BMF measure for callgrind's instruction count (`Ir`).
pub const INSTRUCTIONS: &str = "instructions";
/// The summary layout this reader understands (gungraun 0.20).
pub const SUMMARY_VERSION: &str = "7";

/// Reads every `summary.json` under `dir`.
///
/// # Errors
///
/// [`Error::File`](crate::Error::File) naming the directory when it is missing or holds
/// no summaries, or the summary that is unreadable, of another version, or has no
/// instruction count.
pub fn read_dir(dir: impl AsRef<Path>) -> crate::Result<Bmf> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(FileError::new(
            dir,
            "not a directory; pass gungraun's output (target/gungraun)",
            None,
        )
        .into());
    }
    let summaries =
        super::find_sorted(dir, &|path| path.file_name().is_some_and(|n| n == "summary.json"))?;
    if summaries.is_empty() {
        return Err(FileError::new(
            dir,
            "holds no summary.json; run the instructions bench with --save-summary=json",
            None,
        )
        .into());
    }
    let mut bmf = Bmf::new();
    for path in summaries {
        let (id, count) = read_summary(&path)?;
        if bmf.get(&id, INSTRUCTIONS).is_some() {
            return Err(FileError::new(
                &path,
                format!("a second summary for benchmark `{id}`"),
                None,
            )
            .into());
        }
        bmf.insert(id, INSTRUCTIONS, Metric::exact(count));
    }
    Ok(bmf)
}

/// One summary's benchmark ID and instruction count.
fn read_summary(path: &Path) -> crate::Result<(String, f64)> {
    let broken = |problem: String| crate::Error::from(FileError::new(path, problem, None));
    let summary = crate::bmf::read_json(path)?;
    let version = summary.get("version").and_then(Value::as_str).unwrap_or("none");
    if version != SUMMARY_VERSION {
        return Err(broken(format!(
            "gungraun summary version {version}, this sttbench reads {SUMMARY_VERSION}; \
             use gungraun and gungraun-runner 0.20.0"
        )));
    }
    let field = |name: &str| summary.get(name).and_then(Value::as_str);
    let (Some(group), Some(function)) = (field("group"), field("function_name")) else {
        return Err(broken(
            "no `group` or `function_name`; not a gungraun benchmark summary".into(),
        ));
    };
    let name = |s: &str| s.strip_prefix('_').unwrap_or(s).to_owned();
    let id = match field("id") {
        Some(id) => format!("{group}/{}/{}", name(function), name(id)),
        None => format!("{group}/{}", name(function)),
    };
    let count = summary
        .get("profiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("tool").and_then(Value::as_str) == Some("Callgrind"))
        .and_then(|p| p.pointer("/data/total/metrics/Ir/values/new"))
        .and_then(number)
        .ok_or_else(|| broken(format!("no callgrind instruction count (Ir) for `{id}`")))?;
    Ok((id, count))
}

/// gungraun writes integer metrics as JSON numbers and floats as numbers or strings.
fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str()?.parse().ok()).filter(|n: &f64| n.is_finite() && *n >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(version: &str, id: Option<&str>, ir: &str) -> String {
        let id = id.map_or(String::new(), |id| format!(r#""id": "{id}","#));
        format!(
            r#"{{"version": "{version}", "group": "encode_s16le", "function_name": "sine", {id}
                "module_path": "instructions::encode_s16le::sine",
                "profiles": [{{"tool": "Callgrind", "data": {{"parts": [],
                  "total": {{"metrics": {{"Ir": {{"values": {{"new": {ir}}}}}}}, "regressions": []}}}}}}]}}"#
        )
    }

    #[test]
    fn reads_counts_under_criterion_style_ids() {
        let root = std::env::temp_dir().join(format!("sttbench-gungraun-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("sttbench/instructions/encode_s16le/sine._20ms");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("summary.json"), summary("7", Some("_20ms"), "3858")).unwrap();
        let bmf = read_dir(&root).unwrap();
        assert_eq!(bmf.get("encode_s16le/sine/20ms", INSTRUCTIONS), Some(Metric::exact(3858.0)));

        std::fs::write(dir.join("summary.json"), summary("6", Some("_20ms"), "3858")).unwrap();
        let msg = read_dir(&root).unwrap_err().to_string();
        assert!(msg.contains("summary.json") && msg.contains("version 6"), "{msg}");
        std::fs::write(dir.join("summary.json"), summary("7", None, "\"x\"")).unwrap();
        let msg = read_dir(&root).unwrap_err().to_string();
        assert!(
            msg.contains("no callgrind instruction count") && msg.contains("encode_s16le/sine"),
            "{msg}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
