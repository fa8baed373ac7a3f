//! The few statistics the verdicts rest on, each distribution-free where it can be.
//!
//! - [`median_interval`]: a median with its confidence interval from order statistics
//!   (the sign test's interval): for `n` values, the `k`-th smallest and `k`-th largest,
//!   with `k` the largest rank whose binomial tail `P(Bin(n, ½) < k)` stays within
//!   `(1 − confidence) / 2`. It assumes nothing about the values' distribution, which on
//!   a shared machine has a long tail of stalls, and `k − 1` values on either side can be
//!   anything at all without moving it: one process that ran through a neighbour's
//!   compile is outvoted, not averaged in. Used for interleaved ratios and for the
//!   per-round ratios of paired A/B runs. (The Wilcoxon signed-rank interval is tighter
//!   on clean data, but one wild round among twelve at 99 % already reaches its bound.)
//! - [`LogInterval`]: a ratio's interval on the log scale, so that the interval of a
//!   product or quotient of independent estimates combines by root-sum-square of their
//!   standard errors, instead of by pairing opposite bounds (which over-widens with every
//!   factor and made a floor-normalised timing *less* sensitive than a raw one).
//!
//! Nothing here reads files or judges; [`compare`](super::compare) and
//! [`paired`](super::paired) do.

/// The two-sided standard normal quantile for `confidence` (`0.95` → 1.96), by the
/// rational approximation of Abramowitz and Stegun 26.2.23 (error below 4.5 × 10⁻⁴).
pub fn z(confidence: f64) -> f64 {
    let p = ((1.0 - confidence) / 2.0).clamp(1e-300, 0.5);
    let t = (-2.0 * p.ln()).sqrt();
    let (c0, c1, c2) = (2.515_517, 0.802_853, 0.010_328);
    let (d1, d2, d3) = (1.432_788, 0.189_269, 0.001_308);
    (t - (c0 + c1 * t + c2 * t * t) / (1.0 + d1 * t + d2 * t * t + d3 * t * t * t)).max(0.0)
}

/// A point estimate with a confidence interval, and how many values it came from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// The interval's lower bound.
    pub lower: f64,
    /// The interval's upper bound.
    pub upper: f64,
    /// Whether the interval reaches the requested confidence; with too few values it is
    /// the values' whole range, and covers less.
    pub full_confidence: bool,
}

/// The median of `values` with its order-statistics confidence interval.
///
/// With too few values for `confidence` (fewer than 6 at 95 %, 8 at 99 %) the interval
/// is the whole range and [`Estimate::full_confidence`] is false. `None` when `values`
/// is empty or holds a NaN.
///
/// ```
/// use sttbench::baseline::stats::median_interval;
/// let e = median_interval(&[5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0], 0.95).unwrap();
/// assert_eq!((e.lower, e.value, e.upper), (2.0, 5.0, 8.0));
/// ```
pub fn median_interval(values: &[f64], confidence: f64) -> Option<Estimate> {
    let mut sorted = values.to_vec();
    if sorted.is_empty() || sorted.iter().any(|v| v.is_nan()) {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    let alpha = 1.0 - confidence;
    // k: the largest rank with P(Bin(n, ½) ≤ k − 1) ≤ α/2; the interval is the k-th
    // smallest to the k-th largest value.
    let k = (1..=n / 2).take_while(|&k| binomial_half_cdf(n, k - 1) <= alpha / 2.0).last();
    let (lower, upper, full) = match k {
        Some(k) => (sorted[k - 1], sorted[n - k], true),
        None => (sorted[0], sorted[n - 1], false),
    };
    Some(Estimate { value: median, lower, upper, full_confidence: full })
}

/// `P(Bin(n, ½) ≤ k)`, exactly for up to 1,000 trials and by the normal approximation
/// with continuity correction beyond.
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    if n > 1_000 {
        let (mean, sd) = (n as f64 / 2.0, (n as f64).sqrt() / 2.0);
        return normal_cdf((k as f64 + 0.5 - mean) / sd);
    }
    // Work in logs: ½ⁿ underflows long before n = 1,000 choose anything overflows.
    let ln_half_n = n as f64 * 0.5_f64.ln();
    let (mut ln_choose, mut total) = (0.0_f64, 0.0);
    for i in 0..=k.min(n) {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        total += (ln_choose + ln_half_n).exp();
    }
    total.min(1.0)
}

/// The standard normal CDF (Abramowitz and Stegun 7.1.26 for erf, error below 1.5 × 10⁻⁷).
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 { (1.0 + erf) / 2.0 } else { (1.0 - erf) / 2.0 }
}

/// An estimate of a positive quantity as its natural log and the standard error of
/// that log, so that products and quotients of independent estimates combine exactly:
/// logs add, variances add.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogInterval {
    /// `ln(value)`.
    pub ln: f64,
    /// The standard error of `ln(value)`.
    pub se: f64,
}

impl LogInterval {
    /// From a point estimate and its confidence interval at `confidence`, read as a
    /// normal interval on the log scale (criterion's bootstrap intervals of a median are
    /// near enough to that). An estimate without bounds is exact.
    pub fn from_bounds(value: f64, lower: f64, upper: f64, confidence: f64) -> LogInterval {
        let width = (upper.ln() - lower.ln()).max(0.0);
        LogInterval { ln: value.ln(), se: width / (2.0 * z(confidence)) }
    }

    /// `self ÷ other`, for independent estimates.
    pub fn over(self, other: LogInterval) -> LogInterval {
        LogInterval { ln: self.ln - other.ln, se: self.se.hypot(other.se) }
    }

    /// `self × other`, for independent estimates.
    pub fn times(self, other: LogInterval) -> LogInterval {
        LogInterval { ln: self.ln + other.ln, se: self.se.hypot(other.se) }
    }

    /// The value and its interval at `confidence`, as relative changes from 1
    /// (`[point, lower, upper]`, `0.25` = 25 % more).
    pub fn change(self, confidence: f64) -> [f64; 3] {
        let half = z(confidence) * self.se;
        [self.ln, self.ln - half, self.ln + half].map(|l| l.exp() - 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_the_tables() {
        for (confidence, expected) in [(0.90, 1.645), (0.95, 1.960), (0.99, 2.576)] {
            assert!((z(confidence) - expected).abs() < 1e-3, "{confidence}: {}", z(confidence));
        }
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
    }

    #[test]
    fn median_interval_ranks_match_the_sign_test_tables() {
        // n = 22 at 95 %: the 6th smallest to the 6th largest (P(Bin ≤ 5) = 0.0085).
        let values: Vec<f64> = (1..=22).map(f64::from).collect();
        let e = median_interval(&values, 0.95).unwrap();
        assert_eq!((e.lower, e.value, e.upper), (6.0, 11.5, 17.0));
        assert!(e.full_confidence);
        // n = 5 cannot reach 95 % (P(Bin ≤ 0) = 1/32 > 2.5 %): the range, flagged.
        let e = median_interval(&[3.0, 1.0, 2.0, 5.0, 4.0], 0.95).unwrap();
        assert_eq!((e.lower, e.upper, e.full_confidence), (1.0, 5.0, false));
        // Large n uses the normal approximation and stays near the median.
        let many: Vec<f64> = (0..5_001).map(f64::from).collect();
        let e = median_interval(&many, 0.95).unwrap();
        assert!((e.lower - 2430.0).abs() <= 2.0 && (e.upper - 2570.0).abs() <= 2.0, "{e:?}");
        assert_eq!(median_interval(&[], 0.95), None);
        assert_eq!(median_interval(&[1.0, f64::NAN], 0.95), None);
    }

    #[test]
    fn log_intervals_combine_by_root_sum_square() {
        let a = LogInterval::from_bounds(100.0, 99.0, 101.0, 0.95);
        let four = a.over(a).times(a).over(a);
        assert!((four.se - 2.0 * a.se).abs() < 1e-12, "√4 = 2 standard errors, not 4");
        let [point, lower, upper] = four.change(0.95);
        assert!(point.abs() < 1e-12 && (upper - 0.02).abs() < 1e-3 && lower < 0.0);
        let exact = LogInterval::from_bounds(5.0, 5.0, 5.0, 0.95);
        assert_eq!(exact.se, 0.0);
    }
}
