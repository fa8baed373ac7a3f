//! What a comparison tolerates: count tolerances, the noise threshold for timings, which
//! benchmark is divided by which floor, and whether a missing benchmark fails.
//!
//! Defaults are the project's documented choices (5 % noise, instructions 1 %, other
//! counts exact, the two floors README names); the command line overrides them. Every
//! fraction is written the way criterion writes its own (`0.05` = 5 %) or as an
//! unambiguous percentage (`5%`), see [`Fraction`]. This module holds values and the
//! rules that read them; it judges nothing itself.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How much a count may rise before it is a regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tolerance {
    /// A fraction of the old value (`0.01` = 1 %). Written `1%` on the command line.
    Relative(f64),
    /// An absolute amount (`0` = exactly equal or lower). Written `0` or `+3`.
    Absolute(f64),
}

impl Tolerance {
    /// The highest new value that still passes against `old`.
    pub fn limit(self, old: f64) -> f64 {
        match self {
            Tolerance::Relative(f) => old * (1.0 + f),
            Tolerance::Absolute(a) => old + a,
        }
    }
}

impl FromStr for Tolerance {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("`{s}` is not a tolerance; write a percentage (`1%`) or an amount (`0`, `+3`)")
        };
        let (number, relative) = match s.trim().strip_suffix('%') {
            Some(pct) => (pct, true),
            None => (s.trim(), false),
        };
        let n: f64 = number.trim_start_matches('+').parse().map_err(|_| bad())?;
        if !n.is_finite() || n < 0.0 {
            return Err(bad());
        }
        Ok(if relative { Tolerance::Relative(n / 100.0) } else { Tolerance::Absolute(n) })
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tolerance::Relative(r) => write!(f, "{}%", r * 100.0),
            Tolerance::Absolute(a) => write!(f, "+{a}"),
        }
    }
}

/// A fraction as the command line and the scripts' knobs take it: `0.05` (criterion's own
/// spelling, as in its `--noise-threshold 0.05`) or `5%`. A bare number above 1 is
/// rejected with a hint, because `5` could mean either 5 % or 500 %.
///
/// ```
/// use sttbench::baseline::Fraction;
/// assert_eq!("0.02".parse::<Fraction>().unwrap().0, 0.02);
/// assert_eq!("2%".parse::<Fraction>().unwrap().0, 0.02);
/// assert!("2".parse::<Fraction>().unwrap_err().contains("0.02 or 2%"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fraction(pub f64);

impl FromStr for Fraction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (number, percent) = match t.strip_suffix('%') {
            Some(p) => (p.trim(), true),
            None => (t, false),
        };
        let n: f64 = number
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("`{s}` is not a fraction; write 0.05 or 5%"))?;
        if percent {
            return Ok(Fraction(n / 100.0));
        }
        if n > 1.0 {
            return Err(format!(
                "`{s}` is ambiguous: fractions are written as criterion writes them, so \
                 write {} or {s}% for {s} percent",
                n / 100.0
            ));
        }
        Ok(Fraction(n))
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

/// "Benchmarks `<group>/<function>/<value>` are normalised by `<group>/<floor>/<value>`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FloorRule {
    /// The criterion group, e.g. `encode_s16le`.
    pub group: String,
    /// The one function normalised, or `None` for every function in the group.
    pub function: Option<String>,
    /// The floor's function name within the group, e.g. `memcpy_floor`.
    pub floor: String,
}

impl FloorRule {
    /// The floors of the benchmark names README documents: `encode_s16le/*` ÷
    /// `encode_s16le/memcpy_floor/<same ms>`, `send/echo_rtt/<ms>` ÷ `send/tcp_floor/<ms>`.
    pub fn defaults() -> Vec<FloorRule> {
        vec![
            FloorRule {
                group: "encode_s16le".into(),
                function: None,
                floor: "memcpy_floor".into(),
            },
            FloorRule {
                group: "send".into(),
                function: Some("echo_rtt".into()),
                floor: "tcp_floor".into(),
            },
        ]
    }
}

/// What the comparison tolerates; see the module docs for how each is used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Settings {
    /// Timings whose whole change interval stays within ± this fraction are unchanged.
    /// Default `0.05` (5 %): on a shared 2-core machine the same binary drifts by several
    /// percent between runs; criterion's 1 % flags that drift as change.
    pub noise_threshold: f64,
    /// Per-measure count tolerances. Default: `instructions` 1 % (exact per binary, but
    /// unrelated code moves inlining and layout by a fraction of a percent).
    pub tolerances: BTreeMap<String, Tolerance>,
    /// The tolerance of counts not listed in `tolerances`. Default: exact (`+0`), so one
    /// more allocation per chunk is a regression.
    pub default_tolerance: Tolerance,
    /// Which benchmarks are normalised by which floor. Default: [`FloorRule::defaults`].
    pub floors: Vec<FloorRule>,
    /// The confidence level of the intervals in the inputs (criterion's default, `0.95`),
    /// which is also the level of the change intervals the comparison reports.
    pub interval_confidence: f64,
    /// Whether a benchmark in the old results and not in the new passes. Default `false`:
    /// a bench that stopped running (renamed, filtered away, crashed before writing)
    /// fails the gate until the baseline is updated or the caller allows it.
    pub allow_missing: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            noise_threshold: 0.05,
            tolerances: BTreeMap::from([("instructions".to_owned(), Tolerance::Relative(0.01))]),
            default_tolerance: Tolerance::Absolute(0.0),
            floors: FloorRule::defaults(),
            interval_confidence: 0.95,
            allow_missing: false,
        }
    }
}

impl Settings {
    /// Sets [`Self::noise_threshold`] (a fraction: `0.05` = 5 %).
    pub fn noise_threshold(mut self, fraction: f64) -> Self {
        self.noise_threshold = fraction;
        self
    }

    /// Sets [`Self::allow_missing`].
    pub fn allow_missing(mut self, allow: bool) -> Self {
        self.allow_missing = allow;
        self
    }

    /// Sets [`Self::interval_confidence`] (a fraction: `0.95`).
    pub fn interval_confidence(mut self, confidence: f64) -> Self {
        self.interval_confidence = confidence;
        self
    }

    /// Sets the tolerance of one count measure, see [`Self::tolerances`].
    pub fn tolerance(mut self, measure: impl Into<String>, tolerance: Tolerance) -> Self {
        self.tolerances.insert(measure.into(), tolerance);
        self
    }

    pub(super) fn tolerance_of(&self, measure: &str) -> Tolerance {
        self.tolerances.get(measure).copied().unwrap_or(self.default_tolerance)
    }

    /// The floor benchmark `benchmark` is normalised by, if a rule covers it.
    pub fn floor_of(&self, benchmark: &str) -> Option<String> {
        let mut parts = benchmark.split('/');
        let (group, function, value) = (parts.next()?, parts.next()?, parts.next()?);
        self.floors
            .iter()
            .find(|r| {
                r.group == group
                    && r.floor != function
                    && r.function.as_deref().is_none_or(|f| f == function)
            })
            .map(|r| format!("{group}/{}/{value}", r.floor))
    }

    /// Whether `benchmark` is itself a floor (a reference, not code under test).
    pub fn is_floor(&self, benchmark: &str) -> bool {
        let mut parts = benchmark.split('/');
        let (group, function) = (parts.next(), parts.next());
        self.floors
            .iter()
            .any(|r| Some(r.group.as_str()) == group && Some(r.floor.as_str()) == function)
    }
}
