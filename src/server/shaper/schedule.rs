//! When each byte leaves the proxy: a pure function of the arrivals, the impairments
//! and the seed, with no I/O and no clock of its own, so it is tested exactly.
//!
//! For each read, in stream order:
//! 1. **Cut** it into pieces: at the slicer's boundaries (drawn from the seed at stream
//!    offsets), and at the token bucket's burst size.
//! 2. **Ready**: a piece of a new slice is ready `delay` after the previous slice.
//! 3. **Depart**: with a bandwidth, the token bucket (GCRA form: `full_at` is when the
//!    bucket would be full again) lets a piece of `L` bytes leave at
//!    `max(ready, full_at + L/rate − burst/rate)`, then `full_at = max(full_at, depart) +
//!    L/rate`. Over time that is exactly the rate; a burst leaves at once.
//! 4. **Release** = depart + latency ± jitter (uniform, never below zero), then never
//!    before the previous piece: TCP delivers in order, so a late piece holds back the
//!    pieces behind it.
//!
//! Latency is propagation: pieces in flight overlap, so it adds delay, not a throughput
//! cap (a proxy that slept `latency` per write would serialise the stream to one write per
//! delay). The proxy's bounded in-flight queue (`ShaperConfig::max_in_flight`) is what
//! limits throughput, as a TCP window does.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use tokio::time::Instant;

use super::impair::{Impairments, Slicer};

/// One piece of a read: `start..end` within it, and when it may be written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub start: usize,
    pub end: usize,
    pub release: Instant,
}

/// The schedule of one direction of one connection.
#[derive(Debug)]
pub(crate) struct Schedule {
    seed: u64,
    /// Token bucket: when it would be full again. `None`: full.
    full_at: Option<Instant>,
    /// When the slicer may release its next slice.
    slice_free_at: Option<Instant>,
    /// The stream offset where the current slice ends.
    next_cut: u64,
    cuts: Xoshiro256PlusPlus,
    /// Nothing may be released before this: the order TCP keeps.
    last_release: Option<Instant>,
}

impl Schedule {
    /// A schedule whose random draws all come from `seed`.
    pub fn new(seed: u64) -> Schedule {
        Schedule {
            seed,
            full_at: None,
            slice_free_at: None,
            next_cut: 0,
            cuts: Xoshiro256PlusPlus::seed_from_u64(seed),
            last_release: None,
        }
    }

    /// Plans a read of `len` bytes at stream `offset` that `arrived` now, into `out`.
    pub fn plan(
        &mut self,
        arrived: Instant,
        offset: u64,
        len: usize,
        link: &Impairments,
        out: &mut Vec<Piece>,
    ) {
        out.clear();
        let mut pos = 0;
        while pos < len {
            let at = offset + pos as u64;
            let mut end = len;
            let mut ready = arrived;
            let mut ends_slice = None;
            if let Some(slicer) = link.get_slicer() {
                let cut = self.cut_after(at, slicer);
                // `cut > at`, and the read may end first.
                end = end.min(usize::try_from(cut - offset).unwrap_or(usize::MAX));
                ready = ready.max(self.slice_free_at.unwrap_or(ready));
                if offset + end as u64 == cut {
                    ends_slice = Some(slicer.delay());
                }
            }
            if let Some(bandwidth) = link.get_bandwidth() {
                end = end.min(pos + bandwidth.get_burst() as usize);
            }
            let depart = match link.get_bandwidth() {
                None => ready,
                Some(bandwidth) => {
                    let rate = bandwidth.rate();
                    let cost = rate.time_for((end - pos) as u64);
                    let full = self.full_at.unwrap_or(ready);
                    let earliest = (full + cost)
                        .checked_sub(rate.time_for(u64::from(bandwidth.get_burst())))
                        .unwrap_or(ready);
                    let depart = ready.max(earliest);
                    self.full_at = Some(full.max(depart) + cost);
                    depart
                }
            };
            if let Some(delay) = ends_slice {
                self.slice_free_at = Some(ready + delay);
            }
            let release = self.in_order(depart + self.delay_at(at, link));
            out.push(Piece { start: pos, end, release });
            pos = end;
        }
    }

    /// When a close that `arrived` now may be passed on: after every byte before it,
    /// one latency after it arrived, plus the slow-close delay.
    pub fn close(&mut self, arrived: Instant, link: &Impairments) -> Instant {
        let after_data = self.in_order(arrived + link.get_latency());
        self.in_order(after_data + link.get_slow_close())
    }

    /// The latest release so far (when the last byte planned leaves).
    pub fn last_release(&self, now: Instant) -> Instant {
        self.last_release.unwrap_or(now).max(now)
    }

    /// `release`, or later if an earlier piece leaves later: TCP's order.
    fn in_order(&mut self, release: Instant) -> Instant {
        let release = self.last_release.map_or(release, |last| last.max(release));
        self.last_release = Some(release);
        release
    }

    /// Latency ± jitter for the piece starting at stream offset `at`. The draw depends
    /// only on the seed and the offset, so one odd read does not shift every later
    /// draw.
    fn delay_at(&self, at: u64, link: &Impairments) -> std::time::Duration {
        let latency = link.get_latency();
        let jitter = i64::try_from(link.get_jitter().as_nanos()).unwrap_or(i64::MAX);
        if jitter == 0 {
            return latency;
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(
            self.seed ^ at.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17),
        );
        let draw = rng.random_range(-jitter..=jitter);
        if draw >= 0 {
            latency + std::time::Duration::from_nanos(draw.unsigned_abs())
        } else {
            latency.saturating_sub(std::time::Duration::from_nanos(draw.unsigned_abs()))
        }
    }

    /// The first slice boundary after stream offset `at`, drawing boundaries from the
    /// seed as the stream passes them.
    fn cut_after(&mut self, at: u64, slicer: Slicer) -> u64 {
        while self.next_cut <= at {
            let (avg, var) = (slicer.average(), slicer.variation());
            let size = if var == 0 { avg } else { self.cuts.random_range(avg - var..=avg + var) };
            self.next_cut += u64::from(size);
        }
        self.next_cut
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::server::shaper::{Bandwidth, Rate};

    const MS: Duration = Duration::from_millis(1);

    /// Plans `reads` (arrival after start, length) and returns every piece as
    /// (stream offset, length, release after start).
    fn plan_reads(
        seed: u64,
        link: &Impairments,
        reads: &[(Duration, usize)],
    ) -> Vec<(u64, usize, Duration)> {
        let t0 = Instant::now();
        let mut schedule = Schedule::new(seed);
        let mut offset = 0;
        let mut out = Vec::new();
        let mut all = Vec::new();
        for &(at, len) in reads {
            schedule.plan(t0 + at, offset, len, link, &mut out);
            all.extend(
                out.iter().map(|p| (offset + p.start as u64, p.end - p.start, p.release - t0)),
            );
            offset += len as u64;
        }
        all
    }

    #[test]
    fn untouched_bytes_leave_as_they_came() {
        let pieces = plan_reads(1, &Impairments::default(), &[(MS, 100), (2 * MS, 50)]);
        assert_eq!(pieces, [(0, 100, MS), (100, 50, 2 * MS)]);
    }

    #[test]
    fn latency_delays_without_serialising() {
        let link = Impairments::default().latency(50 * MS);
        // Three reads 1 ms apart each leave 50 ms after they came, overlapping in flight.
        let pieces = plan_reads(1, &link, &[(MS, 10), (2 * MS, 10), (3 * MS, 10)]);
        let releases: Vec<_> = pieces.iter().map(|p| p.2).collect();
        assert_eq!(releases, [51 * MS, 52 * MS, 53 * MS]);
    }

    #[test]
    fn the_token_bucket_holds_the_rate_after_one_burst() {
        // 1 mbit/s: a 1,500-byte burst is 12 ms of link time.
        let link = Impairments::default().bandwidth(Some(Bandwidth::new(Rate::kbit(1_000))));
        let pieces = plan_reads(1, &link, &[(Duration::ZERO, 15_000)]);
        assert_eq!(pieces.len(), 10, "cut at the burst size");
        for (i, &(offset, len, release)) in pieces.iter().enumerate() {
            assert_eq!((offset, len), (i as u64 * 1_500, 1_500));
            // The first burst leaves at once; each further one 12 ms later.
            assert_eq!(release, 12 * MS * i as u32, "piece {i}");
        }
        // Idle long enough to refill: the next burst leaves at once again.
        let pieces = plan_reads(1, &link, &[(Duration::ZERO, 1_500), (12 * MS, 1_500)]);
        assert_eq!(pieces[1].2, 12 * MS);
        let pieces = plan_reads(1, &link, &[(Duration::ZERO, 1_500), (5 * MS, 1_500)]);
        assert_eq!(pieces[1].2, 12 * MS, "a half-full bucket waits for the rest");
    }

    #[test]
    fn jitter_stays_in_bounds_and_never_reorders() {
        let link = Impairments::default().latency(40 * MS).jitter(20 * MS);
        // Reads 50 ms apart never catch up with each other: every delay is its own draw.
        let sparse: Vec<_> = (0..1_000).map(|i| (50 * MS * i, 100)).collect();
        let delays: Vec<_> =
            plan_reads(7, &link, &sparse).iter().zip(&sparse).map(|(p, r)| p.2 - r.0).collect();
        assert!(delays.iter().all(|d| (20 * MS..=60 * MS).contains(d)), "{delays:?}");
        let below = delays.iter().filter(|d| **d < 25 * MS).count();
        let above = delays.iter().filter(|d| **d > 55 * MS).count();
        assert!(below > 60 && above > 60, "uniform draws reach both ends: {below} / {above}");
        // Reads 1 ms apart: a piece drawn short waits for the one before it, as TCP makes
        // an application wait for a late segment, so delays skew long but stay in bounds.
        let dense: Vec<_> = (0..2_000).map(|i| (MS * i, 100)).collect();
        let pieces = plan_reads(7, &link, &dense);
        for (i, pair) in pieces.windows(2).enumerate() {
            assert!(pair[1].2 >= pair[0].2, "piece {} overtook piece {i}", i + 1);
        }
        for (piece, read) in pieces.iter().zip(&dense) {
            let delay = piece.2 - read.0;
            assert!((20 * MS..=60 * MS).contains(&delay), "{delay:?}");
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_delays_and_another_seed_does_not() {
        let link = Impairments::default()
            .latency(30 * MS)
            .jitter(10 * MS)
            .slicer(Some(Slicer::new(64, 32, Duration::ZERO).unwrap()));
        let reads: Vec<_> = (0..200).map(|i| (MS * 5 * i, 300)).collect();
        let a = plan_reads(42, &link, &reads);
        let b = plan_reads(42, &link, &reads);
        let c = plan_reads(43, &link, &reads);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn slice_boundaries_follow_the_stream_not_the_reads() {
        let link = Impairments::default().slicer(Some(Slicer::new(50, 20, MS).unwrap()));
        let cuts = |reads: &[(Duration, usize)]| -> Vec<u64> {
            let pieces = plan_reads(9, &link, reads);
            pieces.iter().map(|p| p.0 + p.1 as u64).collect()
        };
        let one_read = cuts(&[(Duration::ZERO, 1_000)]);
        let split_reads = cuts(&[(Duration::ZERO, 333), (Duration::ZERO, 667)]);
        // The split adds one boundary (at 333, where the first read ended), no other change.
        let mut expected = one_read.clone();
        if !expected.contains(&333) {
            expected.push(333);
            expected.sort_unstable();
        }
        assert_eq!(split_reads, expected);
        for pair in one_read.windows(2) {
            let size = pair[1] - pair[0];
            assert!((30..=70).contains(&size) || pair[1] == 1_000, "slice of {size}");
        }
    }

    #[test]
    fn slices_leave_one_delay_apart() {
        let link = Impairments::default().slicer(Some(Slicer::new(10, 0, 2 * MS).unwrap()));
        let pieces = plan_reads(1, &link, &[(Duration::ZERO, 40)]);
        let releases: Vec<_> = pieces.iter().map(|p| p.2).collect();
        assert_eq!(releases, [Duration::ZERO, 2 * MS, 4 * MS, 6 * MS]);
    }

    #[test]
    fn a_close_follows_the_data_and_waits_for_slow_close() {
        let link = Impairments::default().latency(10 * MS).slow_close(100 * MS);
        let t0 = Instant::now();
        let mut schedule = Schedule::new(1);
        let mut out = Vec::new();
        schedule.plan(t0, 0, 10, &link, &mut out);
        assert_eq!(schedule.close(t0 + MS, &link) - t0, 111 * MS);
        assert_eq!(schedule.last_release(t0) - t0, 111 * MS);
    }
}
