//! What the process uses, read from the OS: resident memory (`VmRSS` in
//! `/proc/self/status`) and CPU time (`CLOCK_PROCESS_CPUTIME_ID`, every thread's user and
//! system time). `None` where the OS has neither (anything but Linux).

use std::time::Duration;

/// The process's resident set, in bytes.
pub(crate) fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    // "VmRSS:	   12345 kB"
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time the whole process has used so far, user and system, every thread.
#[cfg(target_os = "linux")]
pub(crate) fn cpu_time() -> Option<Duration> {
    let mut ts = std::mem::MaybeUninit::<libc::timespec>::uninit();
    // SAFETY: `ts` is valid for writes of one timespec, and read only when the call
    // succeeded (and so filled it).
    let ts = unsafe {
        if libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, ts.as_mut_ptr()) != 0 {
            return None;
        }
        ts.assume_init()
    };
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

/// CPU time the whole process has used so far: unknown off Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) fn cpu_time() -> Option<Duration> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_process_has_resident_memory_and_cpu_time() {
        assert!(resident_bytes().unwrap() > 0);
        let before = cpu_time().unwrap();
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(cpu_time().unwrap() >= before);
    }
}
