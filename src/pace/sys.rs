//! The Linux system calls behind the pacer and the timer floor, each wrapped once with
//! its safety argument: `timerfd`, `clock_nanosleep`, `prctl(PR_SET_TIMERSLACK)`, the
//! monotonic and CPU clocks.
//!
//! Times cross the boundary as [`Duration`]s since the `CLOCK_MONOTONIC` epoch (boot).
//! Rust's [`Instant`] reads that same clock on Linux (`clock_gettime(CLOCK_MONOTONIC)`),
//! but keeps its value private, so [`Anchor`] pairs one reading of each to translate
//! between them. Nothing here knows about tokio beyond the descriptor it hands out.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// Reads `clock`; `None` only for the CPU clock of a thread that has exited.
fn read_clock(clock: libc::clockid_t) -> Option<Duration> {
    let mut ts = MaybeUninit::<libc::timespec>::uninit();
    // SAFETY: `ts` is valid for writes of one timespec, and filled when the call succeeds.
    unsafe {
        let rc = libc::clock_gettime(clock, ts.as_mut_ptr());
        (rc == 0).then(|| from_timespec(ts.assume_init()))
    }
}

/// Now, on `CLOCK_MONOTONIC`.
pub(super) fn monotonic_now() -> Duration {
    read_clock(libc::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC exists on every Linux")
}

/// The calling thread's CPU clock, readable from any thread while this one lives;
/// `None` where the kernel has no per-thread CPU clocks (every Linux has them).
pub(super) fn this_thread_cpu_clock() -> Option<libc::clockid_t> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `pthread_self` is always valid for the calling thread; `clock` is valid for
    // one write.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
    (rc == 0).then_some(clock)
}

/// CPU time used so far by the threads whose CPU clocks these are; threads that have
/// exited count as zero.
pub(super) fn cpu_time(clocks: &[libc::clockid_t]) -> Duration {
    clocks.iter().filter_map(|&clock| read_clock(clock)).sum()
}

fn from_timespec(ts: libc::timespec) -> Duration {
    // Monotonic and CPU clocks are never negative.
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(ts.tv_nsec).unwrap_or(0);
    Duration::new(secs, nanos)
}

fn to_timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        // Centuries after boot: saturating keeps a far deadline far.
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10⁹: fits every `c_long`.
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// Translates [`Instant`]s to `CLOCK_MONOTONIC` times, never earlier than they are.
///
/// Reading `Instant::now()` first and the raw clock second puts the pair's raw reading
/// at or after the instant's (the clock only moves forward), so every translated time is
/// late by the gap between the two reads and never early. [`Anchor::new`] retries until
/// that gap is under [`Anchor::MAX_GAP`], so a preemption between the reads cannot make
/// it milliseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Anchor {
    instant: Instant,
    monotonic: Duration,
}

impl Anchor {
    /// The largest gap accepted between the two reads: ten times a vDSO clock read.
    const MAX_GAP: Duration = Duration::from_micros(1);

    pub(super) fn new() -> Anchor {
        let mut best: Option<(Anchor, Duration)> = None;
        for _ in 0..100 {
            let instant = Instant::now();
            let monotonic = monotonic_now();
            // A third read bounds the gap between the first two.
            let gap = instant.elapsed();
            if best.is_none_or(|(_, best_gap)| gap < best_gap) {
                best = Some((Anchor { instant, monotonic }, gap));
            }
            if gap <= Self::MAX_GAP {
                break;
            }
        }
        best.expect("the loop runs at least once").0
    }

    /// `at` on `CLOCK_MONOTONIC`.
    pub(super) fn monotonic(&self, at: Instant) -> Duration {
        match at.checked_duration_since(self.instant) {
            Some(after) => self.monotonic.saturating_add(after),
            None => self.monotonic.saturating_sub(self.instant - at),
        }
    }
}

/// Sets the calling thread's timer slack: how far the kernel may defer its timers to
/// batch wake-ups (50 µs by default). Only the calling thread changes.
pub(super) fn set_timer_slack(slack: Duration) -> io::Result<()> {
    let nanos = libc::c_ulong::try_from(slack.as_nanos()).unwrap_or(libc::c_ulong::MAX).max(1);
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches no memory of ours.
    let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, nanos, 0, 0, 0) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Blocks the calling thread until `CLOCK_MONOTONIC` reaches `deadline`
/// (`clock_nanosleep` with `TIMER_ABSTIME`), resuming after signals.
pub(super) fn sleep_until(deadline: Duration) -> io::Result<()> {
    let ts = to_timespec(deadline);
    loop {
        // SAFETY: `ts` is a valid timespec; with TIMER_ABSTIME the remainder pointer is
        // unused, so null is allowed.
        let rc = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
        match rc {
            0 => return Ok(()),
            libc::EINTR => continue,
            errno => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

/// A non-blocking `CLOCK_MONOTONIC` timerfd: readable once its absolute deadline passed.
#[derive(Debug)]
pub(super) struct TimerFd(OwnedFd);

impl TimerFd {
    pub(super) fn new() -> io::Result<TimerFd> {
        // SAFETY: plain syscall with constant flags; it returns a new descriptor or -1.
        let fd = unsafe {
            libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and nothing else owns it.
        Ok(TimerFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Arms the timer for the absolute monotonic time `deadline`, replacing any earlier
    /// setting. `deadline` must not be zero: an all-zero value disarms the timer.
    pub(super) fn arm(&self, deadline: Duration) -> io::Result<()> {
        debug_assert!(!deadline.is_zero(), "a zero deadline would disarm the timer");
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: to_timespec(deadline),
        };
        // SAFETY: the descriptor is an open timerfd; `spec` is valid for reads and the
        // old-value pointer may be null.
        let rc = unsafe {
            libc::timerfd_settime(
                self.0.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }
}

impl AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_clocks_count_that_thread_only() {
        let (mine, theirs) = std::thread::scope(|s| {
            let idle = s.spawn(|| this_thread_cpu_clock().unwrap());
            (this_thread_cpu_clock().unwrap(), idle.join().unwrap())
        });
        let before = cpu_time(&[mine]);
        let until = Instant::now() + Duration::from_millis(5);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        assert!(cpu_time(&[mine]) > before, "spinning used this thread's CPU");
        assert_eq!(cpu_time(&[theirs]), Duration::ZERO, "an exited thread counts as zero");
    }

    #[test]
    fn anchor_translates_without_going_early() {
        let anchor = Anchor::new();
        let at = Instant::now();
        let translated = anchor.monotonic(at);
        let after = monotonic_now();
        assert!(translated <= after, "an instant read before the clock is not after it");
        // Earlier and later instants keep their distance.
        let earlier = at - Duration::from_millis(5);
        assert_eq!(translated - anchor.monotonic(earlier), Duration::from_millis(5));
    }

    #[test]
    fn timespec_round_trip_and_saturation() {
        let d = Duration::new(12, 345_678_901);
        assert_eq!(from_timespec(to_timespec(d)), d);
        assert_eq!(to_timespec(Duration::MAX).tv_sec, libc::time_t::MAX);
    }

    /// Whether `timer` is readable (has fired since it was last armed), waiting up to
    /// `timeout_ms`.
    fn readable(timer: &TimerFd, timeout_ms: i32) -> bool {
        let mut poll = libc::pollfd { fd: timer.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout_ms) };
        assert!(ready >= 0, "poll failed: {}", io::Error::last_os_error());
        ready == 1
    }

    #[test]
    fn timerfd_fires_at_its_absolute_deadline_and_rearming_clears_it() {
        let timer = TimerFd::new().unwrap();
        assert!(!readable(&timer, 0), "unarmed");
        let deadline = monotonic_now() + Duration::from_millis(2);
        timer.arm(deadline).unwrap();
        // The 10 s timeout only bounds a broken kernel.
        assert!(readable(&timer, 10_000), "fired");
        assert!(monotonic_now() >= deadline, "not before its deadline");
        // The pacer never reads the expiry count: re-arming must clear it.
        timer.arm(monotonic_now() + Duration::from_secs(60)).unwrap();
        assert!(!readable(&timer, 0), "re-arming cleared the expiry");
        // A deadline already past fires at once.
        timer.arm(deadline).unwrap();
        assert!(readable(&timer, 10_000));
    }
}
