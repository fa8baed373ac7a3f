//! Running the `sttbench` binary from tests: run it to the end, bound every wait on it
//! by [`STEP`] naming what hung, and kill a child the test leaves behind.
//!
//! Shared by the command-line tests (`mod process;`); `cli_transport.rs` and
//! `cli_mock.rs` still carry copies of these helpers.

#![allow(dead_code)] // Each test file uses a different part.

use std::process::{Child, Command, Output};
use std::sync::mpsc;
use std::time::Duration;

/// Longest any wait on the binary may take before the test fails naming it.
pub const STEP: Duration = Duration::from_secs(30);

/// Runs `sttbench <args>` to the end.
pub fn sttbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sttbench")).args(args).output().expect("the binary runs")
}

/// Runs `f` on a thread and waits at most [`STEP`] for its result.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(STEP).unwrap_or_else(|_| panic!("{what}: hung for {STEP:?}"))
}

/// A child process that is killed (by its own handle) if the test ends before it
/// stops; `take` it to stop it another way.
pub struct Running(pub Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
