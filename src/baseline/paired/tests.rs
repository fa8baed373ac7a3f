//! The paired judge on synthetic rounds: seeded noise, process-wide speed modes, stalls,
//! one-sided benchmarks, counts, and the round directory `scripts/ab.sh` leaves.

use super::*;

/// A seeded xorshift: the same "noise" on every run.
struct Noise(u64);

impl Noise {
    /// A factor in `1 ± spread`, uniform.
    fn factor(&mut self, spread: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let unit = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        1.0 + spread * (2.0 * unit - 1.0)
    }
}

const SINE: &str = "encode_s16le/sine/20ms";
const FLOOR: &str = "encode_s16le/memcpy_floor/20ms";

/// `n` rounds of the sine bench and its floor. Each process runs at a speed drawn from
/// `mode` (a factor shared by everything in that process), with `spread` of independent
/// noise per benchmark; head's sine is `slowdown` times base's.
fn rounds(n: usize, slowdown: f64, spread: f64, mode: f64, seed: u64) -> Vec<Round> {
    let mut noise = Noise(seed);
    (0..n)
        .map(|_| {
            let mut side = |factor: f64| {
                let process = noise.factor(mode);
                let mut b = Bmf::new();
                b.insert(
                    SINE,
                    "latency",
                    Metric::exact(40.0 * factor * process * noise.factor(spread)),
                );
                b.insert(FLOOR, "latency", Metric::exact(8.0 * process * noise.factor(spread)));
                b
            };
            Round { base: side(1.0), head: side(slowdown) }
        })
        .collect()
}

fn judged(rounds: &[Round]) -> PairedRow {
    let c = PairedComparison::new(rounds, None, PairedSettings::default());
    c.rows.into_iter().find(|r| r.benchmark == SINE).expect("the sine row")
}

#[test]
fn a_a_rounds_read_unchanged_over_many_seeds() {
    for seed in 1..=50 {
        let row = judged(&rounds(12, 1.0, 0.02, 0.3, seed));
        assert_eq!(row.verdict, Verdict::Unchanged, "seed {seed}: {row:?}");
        assert_eq!(row.basis, Some(Basis::Floor));
    }
}

#[test]
fn a_five_percent_slowdown_is_caught_through_thirty_percent_process_modes() {
    for seed in 1..=20 {
        let row = judged(&rounds(12, 1.05, 0.01, 0.3, seed));
        assert_eq!(row.verdict, Verdict::Regressed, "seed {seed}: {row:?}");
        let e = row.ratio.unwrap();
        assert!(e.lower > 1.0 && (e.value - 1.05).abs() < 0.02, "{e:?}");
        // The floor, measured in the same processes, tells the reader the machine moved.
        assert!(row.floor.is_some() && row.raw.is_some());
        assert_eq!(row.rounds.len(), 12);
    }
}

#[test]
fn a_slowdown_below_the_noise_threshold_is_not_a_regression() {
    // +1 %, measured precisely: significant, but below the 2 % threshold.
    let row = judged(&rounds(12, 1.01, 0.001, 0.0, 7));
    assert!(row.ratio.unwrap().lower > 1.0);
    assert_eq!(row.verdict, Verdict::Unchanged);
    let faster = judged(&rounds(12, 0.9, 0.01, 0.1, 7));
    assert_eq!(faster.verdict, Verdict::Improved);
}

#[test]
fn one_stalled_round_does_not_decide() {
    let mut r = rounds(12, 1.0, 0.01, 0.0, 3);
    r[4].head.insert(SINE, "latency", Metric::exact(400.0));
    assert_eq!(judged(&r).verdict, Verdict::Unchanged);
    let mut r = rounds(12, 1.05, 0.01, 0.0, 3);
    r[4].head.insert(SINE, "latency", Metric::exact(4.0));
    assert_eq!(judged(&r).verdict, Verdict::Regressed);
}

#[test]
fn an_interleaved_ratio_is_judged_before_latency_and_the_floor_is_reported() {
    let mut r = rounds(10, 1.0, 0.01, 0.2, 11);
    for (i, round) in r.iter_mut().enumerate() {
        round.base.insert(SINE, "ratio", Metric::exact(5.0));
        round.head.insert(SINE, "ratio", Metric::exact(5.0 * (1.08 + 0.001 * i as f64)));
    }
    let c = PairedComparison::new(&r, None, PairedSettings::default());
    let sine: Vec<&PairedRow> = c.rows.iter().filter(|r| r.benchmark == SINE).collect();
    assert_eq!(sine.len(), 1, "latency folds into the ratio's row");
    let row = sine[0];
    assert_eq!((row.measure.as_str(), row.basis), ("ratio", Some(Basis::Interleaved)));
    assert_eq!(row.verdict, Verdict::Regressed);
    assert!(row.raw.is_some() && row.floor.is_some());
    let floor = c.rows.iter().find(|r| r.benchmark == FLOOR).unwrap();
    assert_eq!(floor.verdict, Verdict::Floor, "floors are reported, never judged");
    assert_eq!(c.exit_code(), 1);
}

#[test]
fn a_benchmark_on_one_side_only_is_broken_input_unless_allowed() {
    let mut r = rounds(8, 1.0, 0.01, 0.0, 5);
    for round in &mut r {
        round.base.insert("send/echo_rtt/20ms", "latency", Metric::exact(10.0));
    }
    let c = PairedComparison::new(&r, None, PairedSettings::default());
    let row = c.rows.iter().find(|r| r.benchmark == "send/echo_rtt/20ms").unwrap();
    assert_eq!(row.verdict, Verdict::Missing);
    assert_eq!(c.exit_code(), 2);
    let md = PairedReport { comparison: &c, base: "main", head: "HEAD" }.markdown();
    assert!(md.contains("ran on one side only") && md.contains("`send/echo_rtt/20ms`"), "{md}");
    let allowed = PairedSettings::default().settings(Settings::default().allow_missing(true));
    assert_eq!(PairedComparison::new(&r, None, allowed).exit_code(), 0);
}

#[test]
fn counts_are_compared_once_and_exactly() {
    let r = rounds(8, 1.0, 0.01, 0.0, 9);
    let mut counts = Round::default();
    counts.base.insert("send/echo/20ms", "allocs-per-chunk", Metric::exact(0.0));
    counts.head.insert("send/echo/20ms", "allocs-per-chunk", Metric::exact(1.0));
    counts.base.insert(FLOOR, "instructions", Metric::exact(100.0));
    counts.head.insert(FLOOR, "instructions", Metric::exact(200.0));
    let c = PairedComparison::new(&r, Some(&counts), PairedSettings::default());
    let alloc = c.rows.iter().find(|r| r.measure == "allocs-per-chunk").unwrap();
    assert_eq!((alloc.verdict, alloc.counts), (Verdict::Regressed, Some([0.0, 1.0])));
    let floor = c.rows.iter().find(|r| r.measure == "instructions").unwrap();
    assert_eq!(floor.verdict, Verdict::Floor);
    assert_eq!(c.exit_code(), 1);
    assert_eq!(c.rows[0].measure, "allocs-per-chunk", "regressions lead");
}

#[test]
fn too_few_rounds_give_the_range_and_say_so() {
    let r = rounds(4, 1.2, 0.01, 0.0, 13);
    let row = judged(&r);
    assert!(!row.ratio.unwrap().full_confidence);
    let c = PairedComparison::new(&r, None, PairedSettings::default());
    let md = PairedReport { comparison: &c, base: "a", head: "b" }.markdown();
    assert!(md.contains("4 rounds are too few"), "{md}");
}

#[test]
fn rounds_are_read_from_the_directory_ab_sh_leaves() {
    let dir = std::env::temp_dir().join(format!("sttbench-paired-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (i, round) in rounds(3, 1.1, 0.0, 0.0, 17).iter().enumerate() {
        for (side, bmf) in [("base", &round.base), ("head", &round.head)] {
            bmf.write(dir.join(format!("rounds/{i:03}/{side}/encode.json"))).unwrap();
        }
    }
    let mut counts = Bmf::new();
    counts.insert(SINE, "allocs-per-chunk", Metric::exact(0.0));
    counts.write(dir.join("counts/base/memory.json")).unwrap();
    counts.write(dir.join("counts/head/memory.json")).unwrap();
    let (read, counts) = read_rounds(&dir).unwrap();
    assert_eq!(read, rounds(3, 1.1, 0.0, 0.0, 17));
    assert!(counts.is_some());
    let head = PairedComparison::head_results(&read, 0.95);
    assert!((head.get(SINE, "latency").unwrap().value - 44.0).abs() < 1e-9);
    std::fs::create_dir_all(dir.join("rounds/003/base")).unwrap();
    let msg = read_rounds(&dir).unwrap_err().to_string();
    assert!(msg.contains("rounds/003/base") && msg.contains("holds no results"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
    let msg = read_rounds(&dir).unwrap_err().to_string();
    assert!(msg.contains("cannot list the A/B rounds"), "{msg}");
}

#[test]
fn a_base_without_the_interleaved_ratio_is_judged_on_latency_over_floor() {
    let mut r = rounds(10, 1.0, 0.01, 0.1, 19);
    for round in &mut r {
        round.head.insert(SINE, "ratio", Metric::exact(5.0));
    }
    let c = PairedComparison::new(&r, None, PairedSettings::default());
    let sine: Vec<&PairedRow> = c.rows.iter().filter(|r| r.benchmark == SINE).collect();
    assert_eq!(sine.len(), 1, "{sine:?}");
    assert_eq!((sine[0].measure.as_str(), sine[0].basis), ("latency", Some(Basis::Floor)));
    assert_eq!(c.exit_code(), 0, "not a one-sided benchmark");
}
