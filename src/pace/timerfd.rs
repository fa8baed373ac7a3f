//! The high-resolution pacer on Linux: one absolute `timerfd` per pacer, awaited through
//! tokio's [`AsyncFd`] on the caller's runtime.
//!
//! Each wait arms the timer for the deadline (`TFD_TIMER_ABSTIME` on `CLOCK_MONOTONIC`,
//! the clock [`std::time::Instant`] reads) and awaits readability. It never reads the
//! expiry count: `timerfd_create(2)` counts expirations "since its settings were last
//! modified using timerfd_settime()", so re-arming clears it, and a read per wake would
//! only add a system call. An expiry left over from a cancelled wait (a future dropped
//! after its timer fired) cannot end a later wait early: re-arming clears it, and a wait
//! returns only once the clock has passed its deadline.

use std::io;
use std::time::Instant;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::sys::{Anchor, TimerFd};
use crate::error::TimerError;

/// A `timerfd` registered with the runtime that created it.
#[derive(Debug)]
pub(super) struct TimerFdPacer {
    fd: AsyncFd<TimerFd>,
    anchor: Anchor,
}

impl TimerFdPacer {
    pub(super) fn new() -> crate::Result<TimerFdPacer> {
        // AsyncFd panics outside a runtime; say so as an error instead.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TimerError::new(
                "the high-resolution pacer registers its timer with a tokio runtime: create \
                 it inside one (in an async fn, or under Runtime::enter)",
                None,
            )
            .into());
        }
        let timer = TimerFd::new().map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::EMFILE) {
                "; each pacer holds one descriptor: raise the limit (ulimit -n) or pace \
                 some streams with Pacer::tokio()"
            } else {
                ""
            };
            TimerError::new(format!("cannot create a timerfd: {e}{hint}"), Some(e))
        })?;
        // SAFETY: `TimerFd` owns its descriptor, always returns that one from `as_raw_fd`,
        // and closes it only when dropped, which the `AsyncFd` owning it does last.
        let fd =
            unsafe { AsyncFd::register_with_interest(timer, Interest::READABLE) }.map_err(|e| {
                let (_, e) = e.into_parts();
                TimerError::new(
                    format!("cannot register the timerfd with the runtime: {e}"),
                    Some(e),
                )
            })?;
        Ok(TimerFdPacer { fd, anchor: Anchor::new() })
    }

    /// Returns once the monotonic clock has reached `deadline`; at once if it has.
    pub(super) async fn wait_until(&mut self, deadline: Instant) -> io::Result<()> {
        if Instant::now() >= deadline {
            // Like a tokio timer that is already due: no wait, but a task that is behind
            // schedule still yields when its cooperative budget is spent.
            tokio::task::consume_budget().await;
            return Ok(());
        }
        // `Anchor` translates late, never early; zero would disarm, so never send it.
        let at = self.anchor.monotonic(deadline).max(std::time::Duration::from_nanos(1));
        self.fd.get_ref().arm(at)?;
        loop {
            // Readable means "fired since the last arm", so nothing needs reading: the
            // next arm zeroes the count. Two system calls per wake: arm, epoll_wait.
            let mut ready = self.fd.readable().await?;
            ready.clear_ready();
            // Readiness tokio kept from a cancelled wait's expiry is stale: the clock
            // tells, and the next edge is this arm's.
            if Instant::now() >= deadline {
                return Ok(());
            }
        }
    }
}
