//! What a measure is, by its BMF name: how it is judged and in what unit it prints.
//!
//! The one place that reads meaning into a measure's name. The comparison asks it how to
//! judge a row ([`Kind`]), the reports ask it how to print a value ([`Unit`]), and the
//! command line asks it whether a name given by a user is one it knows ([`known`]).
//!
//! The measures sttbench writes are listed by name ([`KNOWN`]); other producers' BMF is
//! read by the conventions of Bencher's measure slugs: `*-latency`, `*-ns`, `*-us`, `*-ms`
//! and `*-ratio` are timings, `*-per-second` and `throughput` are rates derived from a
//! timing, anything else is a count.

use std::fmt;

use serde::Serialize;

/// How a measure is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A wall-clock estimate with a confidence interval: judged with the noise threshold.
    Timing,
    /// An exact count: judged against a tolerance.
    Count,
    /// Derived from another measure (a rate from a time): reported in BMF, not judged.
    Derived,
}

/// The unit a measure's values are in, for printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Nanoseconds (criterion's time per iteration), printed scaled to ns/µs/ms/s.
    Nanoseconds,
    /// Microseconds.
    Microseconds,
    /// Milliseconds.
    Milliseconds,
    /// A dimensionless ratio of two timings (× 1.00).
    Ratio,
    /// Bytes.
    Bytes,
    /// A plain number of things (instructions, allocations).
    Number,
    /// Something per second.
    PerSecond,
}

/// A measure's kind and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Measure {
    /// How it is judged.
    pub kind: Kind,
    /// How its values print.
    pub unit: Unit,
}

/// The measures sttbench's own benches write, with what they mean.
pub const KNOWN: [(&str, Measure, &str); 9] = [
    (
        "latency",
        Measure::new(Kind::Timing, Unit::Nanoseconds),
        "criterion's median time per iteration",
    ),
    (
        "ratio",
        Measure::new(Kind::Timing, Unit::Ratio),
        "a time ÷ its floor's, interleaved in one process",
    ),
    ("instructions", Measure::new(Kind::Count, Unit::Number), "callgrind's instruction count"),
    (
        "allocs-per-chunk",
        Measure::new(Kind::Count, Unit::Number),
        "heap allocations per chunk (memory bench)",
    ),
    (
        "bytes-per-chunk",
        Measure::new(Kind::Count, Unit::Bytes),
        "heap bytes allocated per chunk (memory bench)",
    ),
    (
        "peak-heap-bytes",
        Measure::new(Kind::Count, Unit::Bytes),
        "the most heap held at once (memory bench)",
    ),
    ("bytes-per-second", Measure::new(Kind::Derived, Unit::PerSecond), "declared bytes ÷ latency"),
    (
        "elements-per-second",
        Measure::new(Kind::Derived, Unit::PerSecond),
        "declared elements ÷ latency",
    ),
    ("throughput", Measure::new(Kind::Derived, Unit::PerSecond), "a rate (Bencher's default slug)"),
];

impl Measure {
    const fn new(kind: Kind, unit: Unit) -> Measure {
        Measure { kind, unit }
    }

    /// What `name` measures: one of [`KNOWN`], else by Bencher's slug conventions.
    ///
    /// ```
    /// use sttbench::baseline::measure::{Kind, Measure, Unit};
    /// assert_eq!(Measure::of("latency").kind, Kind::Timing);
    /// assert_eq!(Measure::of("ttfp-ms").unit, Unit::Milliseconds);
    /// assert_eq!(Measure::of("reconnects").kind, Kind::Count);
    /// ```
    pub fn of(name: &str) -> Measure {
        if let Some((_, m, _)) = KNOWN.iter().find(|(n, ..)| *n == name) {
            return *m;
        }
        let suffixes = [
            ("-latency", Measure::new(Kind::Timing, Unit::Nanoseconds)),
            ("-ns", Measure::new(Kind::Timing, Unit::Nanoseconds)),
            ("-us", Measure::new(Kind::Timing, Unit::Microseconds)),
            ("-ms", Measure::new(Kind::Timing, Unit::Milliseconds)),
            ("-ratio", Measure::new(Kind::Timing, Unit::Ratio)),
            ("-per-second", Measure::new(Kind::Derived, Unit::PerSecond)),
            ("-bytes", Measure::new(Kind::Count, Unit::Bytes)),
        ];
        suffixes
            .iter()
            .find(|(s, _)| name.ends_with(s))
            .map_or(Measure::new(Kind::Count, Unit::Number), |&(_, m)| m)
    }

    /// `value` in this measure's unit, readable: times scaled to ns/µs/ms/s, ratios as
    /// `× 1.23`, whole counts without decimals.
    pub fn format(self, value: f64) -> String {
        let ns = match self.unit {
            Unit::Nanoseconds => Some(value),
            Unit::Microseconds => Some(value * 1e3),
            Unit::Milliseconds => Some(value * 1e6),
            _ => None,
        };
        if let Some(ns) = ns {
            let (scaled, unit) = match ns {
                v if v >= 1e9 => (v / 1e9, "s"),
                v if v >= 1e6 => (v / 1e6, "ms"),
                v if v >= 1e3 => (v / 1e3, "µs"),
                v => (v, "ns"),
            };
            return format!("{scaled:.2} {unit}");
        }
        match self.unit {
            Unit::Ratio => format!("× {value:.3}"),
            Unit::PerSecond => format!("{value:.3e}/s"),
            _ if value.fract() == 0.0 && value.abs() < 1e15 => format!("{value:.0}"),
            _ => format!("{value:.2}"),
        }
    }
}

impl Kind {
    /// The kind of a measure, by its BMF name; see [`Measure::of`].
    pub fn of(measure: &str) -> Kind {
        Measure::of(measure).kind
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Timing => "timing",
            Kind::Count => "count",
            Kind::Derived => "derived",
        })
    }
}

/// Whether `name` is a measure sttbench writes ([`KNOWN`]).
pub fn known(name: &str) -> bool {
    KNOWN.iter().any(|(n, ..)| *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kinds_and_units_in_one_place() {
        let cases = [
            ("latency", Kind::Timing, Unit::Nanoseconds),
            ("ratio", Kind::Timing, Unit::Ratio),
            ("ttfp-latency", Kind::Timing, Unit::Nanoseconds),
            ("rtt-us", Kind::Timing, Unit::Microseconds),
            ("echo-ratio", Kind::Timing, Unit::Ratio),
            ("bytes-per-second", Kind::Derived, Unit::PerSecond),
            ("frames-per-second", Kind::Derived, Unit::PerSecond),
            ("instructions", Kind::Count, Unit::Number),
            ("peak-heap-bytes", Kind::Count, Unit::Bytes),
            ("reconnects", Kind::Count, Unit::Number),
        ];
        for (name, kind, unit) in cases {
            assert_eq!(Measure::of(name), Measure::new(kind, unit), "{name}");
        }
    }

    #[test]
    fn values_print_in_their_unit() {
        assert_eq!(Measure::of("latency").format(1_500.0), "1.50 µs");
        assert_eq!(Measure::of("rtt-ms").format(2.0), "2.00 ms");
        assert_eq!(Measure::of("ratio").format(1.2345), "× 1.234");
        assert_eq!(Measure::of("instructions").format(3858.0), "3858");
        assert_eq!(Measure::of("allocs-per-chunk").format(0.5), "0.50");
        assert!(known("peak-heap-bytes") && !known("foo"));
    }
}
