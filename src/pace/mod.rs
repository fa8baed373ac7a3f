//! Pacing: waking at absolute deadlines as punctually as the OS allows, and the OS
//! timer floor that punctuality is judged against.
//!
//! A real-time stream sends chunk k at `start + k × chunk`. How late each send leaves is
//! mostly how late its task wakes, and tokio's timer wheel has millisecond resolution
//! (tokio's docs: `sleep` "operates at millisecond granularity"), so a 20 ms stream
//! paced with `tokio::time::sleep_until` leaves about a millisecond late, every chunk.
//! [`Pacer`] instead arms a Linux `timerfd` (`CLOCK_MONOTONIC`, `TFD_TIMER_ABSTIME`) for
//! each deadline and waits for it through tokio's [`AsyncFd`](tokio::io::unix::AsyncFd)
//! on the caller's runtime: the kernel's high-resolution timer wakes the runtime
//! thread out of `epoll_wait`, no thread spins, and no extra thread hands the wake over.
//! An absolute timer "will expire when the value of the timer's clock reaches" the
//! deadline (`timerfd_create(2)`), and Linux starts it with no slack range
//! (`fs/timerfd.c` calls `hrtimer_start`; slack widens only sleeps and poll timeouts),
//! so the runtime threads' timer slack does not delay it.
//!
//! The floor ([`timer_floor`]) is what the OS can do at all: a dedicated thread with its
//! timer slack set to 1 ns (`prctl(PR_SET_TIMERSLACK)`) sleeping to the same absolute
//! deadlines with `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`. On a virtual
//! machine it is far from zero (the host must schedule the virtual CPU), which is why
//! the pacer is judged as a ratio to it, measured in the same run ([`SideBySide`]).
//!
//! Off Linux, [`Pacer::new`] fails and [`Pacer::best_available`] falls back to tokio's
//! timer, saying so. The pacer reads the real clock: under `tokio::time::pause` use
//! [`Pacer::tokio`], which follows tokio's clock and so can be paused.
//!
//! This module paces and measures wake-ups; it sends nothing.

#[cfg(target_os = "linux")]
mod runner;
mod side_by_side;
#[cfg(target_os = "linux")]
mod sys;
#[cfg(target_os = "linux")]
mod timerfd;
mod wakes;

use std::fmt;

use serde::Serialize;
use tokio::time::Instant;

pub use side_by_side::{Lateness, Method, ROUND_CONFIDENCE, ROUND_SEGMENTS, SEGMENT, SideBySide};
pub use wakes::{Schedule, Wakes, paced, timer_floor};

/// Wakes a task at absolute deadlines: a `timerfd` on the caller's runtime
/// ([`Pacer::new`]), or tokio's own timer ([`Pacer::tokio`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use sttbench::pace::Pacer;
///
/// let mut pacer = Pacer::best_available();
/// let start = tokio::time::Instant::now();
/// for k in 1..=3 {
///     let due = start + Duration::from_millis(2) * k;
///     let woke = pacer.wait_until(due).await;
///     assert!(woke >= due, "never early");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Pacer {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    #[cfg(target_os = "linux")]
    TimerFd(timerfd::TimerFdPacer),
    Tokio,
}

/// Which timer a [`Pacer`] waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PacerKind {
    /// A Linux `timerfd` on the caller's runtime: the kernel's high-resolution timer.
    TimerFd,
    /// `tokio::time::sleep_until`: millisecond resolution, follows a paused clock.
    Tokio,
}

impl fmt::Display for PacerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PacerKind::TimerFd => "timerfd (high-resolution)",
            PacerKind::Tokio => "tokio timer (1 ms resolution)",
        })
    }
}

impl Pacer {
    /// A high-resolution pacer: one `timerfd` registered with the current tokio runtime.
    ///
    /// Costs one file descriptor for as long as it lives.
    ///
    /// # Errors
    ///
    /// [`Error::Timer`](crate::Error::Timer) off Linux, outside a tokio runtime, or when
    /// the kernel refuses a timerfd (the descriptor limit, `ulimit -n`, is reached); the
    /// message says which. [`Pacer::tokio`] works everywhere, at 1 ms resolution.
    ///
    /// # Panics
    ///
    /// Inside a runtime built without I/O (`enable_io`), as every tokio I/O type does.
    pub fn new() -> crate::Result<Pacer> {
        #[cfg(target_os = "linux")]
        {
            Ok(Pacer { inner: Inner::TimerFd(timerfd::TimerFdPacer::new()?) })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(crate::error::TimerError::new(
                "the high-resolution pacer needs Linux (timerfd); on this OS pace with \
                 Pacer::tokio(), at tokio's 1 ms resolution",
                None,
            )
            .into())
        }
    }

    /// A pacer on tokio's timer (`sleep_until`): available everywhere, follows a paused
    /// clock (tests), wakes up to about a millisecond late.
    pub fn tokio() -> Pacer {
        Pacer { inner: Inner::Tokio }
    }

    /// [`Pacer::new`] where it works, else [`Pacer::tokio`] with a warning (logged
    /// through `tracing`) saying why; [`kind`](Self::kind) tells which one it is.
    pub fn best_available() -> Pacer {
        Pacer::new().unwrap_or_else(|e| {
            tracing::warn!("pacing with tokio's 1 ms timer: {e}");
            Pacer::tokio()
        })
    }

    /// Which timer this pacer waits on.
    pub fn kind(&self) -> PacerKind {
        match self.inner {
            #[cfg(target_os = "linux")]
            Inner::TimerFd(_) => PacerKind::TimerFd,
            Inner::Tokio => PacerKind::Tokio,
        }
    }

    /// Waits until `deadline` and returns when it woke: never before `deadline`. A
    /// deadline already past returns at once (yielding only when the task's cooperative
    /// budget is spent), so a late wake never shifts the ones after it.
    ///
    /// Cancel-safe: dropping the future leaves the pacer ready for the next deadline.
    /// Should the timerfd ever fail (it has no error the kernel documents for these
    /// arguments), the pacer logs it and falls back to tokio's timer for good.
    pub async fn wait_until(&mut self, deadline: Instant) -> Instant {
        #[cfg(target_os = "linux")]
        if let Inner::TimerFd(timer) = &mut self.inner {
            match timer.wait_until(deadline.into_std()).await {
                Ok(()) => return Instant::now(),
                Err(e) => {
                    tracing::warn!(
                        "the timerfd failed ({e}); pacing with tokio's timer from now on"
                    );
                    self.inner = Inner::Tokio;
                }
            }
        }
        tokio::time::sleep_until(deadline).await;
        Instant::now()
    }
}
