//! Where benches that write their own results put them: `$STTBENCH_OUT` when set (the
//! scripts point it at a directory per run), else `$CARGO_TARGET_DIR/sttbench`, else
//! `target/sttbench`.
//!
//! Included by path by the benches that write BMF; it writes nothing itself.

use std::path::PathBuf;

/// The directory for result files.
pub fn out_dir() -> PathBuf {
    std::env::var_os("STTBENCH_OUT").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
            .join("sttbench")
    })
}
