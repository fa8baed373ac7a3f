//! A link rate and its spelling on the command line: `256kbit`, `1mbit`, `1.5mbit`.
//!
//! SI units, as `tc` and WebPageTest use them (`1kbit` = 1,000 bit/s). `kbps` is refused
//! rather than guessed, because tools disagree on it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A link rate in bits per second (SI: `1kbit` = 1,000 bit/s, as in `tc` and in
/// WebPageTest's profiles).
///
/// Spelled `<number><unit>` with unit `bit`, `kbit`, `mbit` or `gbit` (any case, an
/// optional `/s`): `256kbit`, `1.5mbit`, `384kbit/s`. `kbps` is refused because tools
/// disagree on it (`tc` reads it as kilo*bytes* per second).
///
/// ```
/// use sttbench::server::shaper::Rate;
/// let rate: Rate = "1.5mbit".parse()?;
/// assert_eq!(rate.bits_per_second(), 1_500_000);
/// assert_eq!(rate.to_string(), "1.5mbit");
/// # Ok::<(), sttbench::server::shaper::RateParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(u64);

impl Rate {
    /// 16 kHz mono s16le, the pipeline's format, before WebSocket and TCP overhead: a
    /// link slower than this cannot carry real-time audio.
    pub const PCM_16K_MONO: Rate = Rate(16_000 * 16);

    /// A rate of `bits` per second, or `None` for 0 (a link that carries nothing is a
    /// stall, not a rate).
    pub const fn bits(bits: u64) -> Option<Rate> {
        if bits == 0 { None } else { Some(Rate(bits)) }
    }

    /// `kbit` × 1,000 bit/s. Panics on 0: for constants only.
    pub const fn kbit(kbit: u64) -> Rate {
        assert!(kbit > 0, "a rate must be above 0");
        Rate(kbit * 1_000)
    }

    /// Bits per second.
    pub const fn bits_per_second(self) -> u64 {
        self.0
    }

    /// How long `bytes` take to pass at this rate, rounded up to the nanosecond.
    pub fn time_for(self, bytes: u64) -> Duration {
        let nanos = (u128::from(bytes) * 8 * 1_000_000_000).div_ceil(u128::from(self.0));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scale, unit) = match self.0 {
            1_000_000_000.. => (1_000_000_000, "gbit"),
            1_000_000.. => (1_000_000, "mbit"),
            1_000.. => (1_000, "kbit"),
            _ => (1, "bit"),
        };
        let whole = self.0 / scale;
        let frac = self.0 % scale;
        if frac == 0 {
            return write!(f, "{whole}{unit}");
        }
        // Up to three decimals, trailing zeros dropped: 1.6mbit, 10.24mbit.
        let digits = format!("{:0width$}", frac, width = scale.ilog10() as usize);
        let digits = digits[..digits.len().min(3)].trim_end_matches('0');
        if digits.is_empty() {
            write!(f, "{whole}{unit}")
        } else {
            write!(f, "{whole}.{digits}{unit}")
        }
    }
}

/// A rate spelling that did not parse, with the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read `{given}` as a rate: {problem}; write e.g. 256kbit, 1mbit or 1.5mbit")]
pub struct RateParseError {
    given: String,
    problem: &'static str,
}

impl FromStr for Rate {
    type Err = RateParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |problem| RateParseError { given: s.to_string(), problem };
        let lower = s.trim().to_ascii_lowercase();
        let body = lower.strip_suffix("/s").unwrap_or(&lower);
        let split = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
        let (number, unit) = body.split_at(split);
        let scale: u64 = match unit {
            "bit" => 1,
            "kbit" => 1_000,
            "mbit" => 1_000_000,
            "gbit" => 1_000_000_000,
            "kbps" | "mbps" | "gbps" | "bps" => {
                return Err(err("`bps` is ambiguous (tc reads kbps as kilobytes per second)"));
            }
            "" => return Err(err("the unit is missing")),
            _ => return Err(err("the unit must be bit, kbit, mbit or gbit")),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(err("the number is missing or malformed"));
        }
        let whole: u64 =
            if whole.is_empty() { 0 } else { whole.parse().map_err(|_| err("too large"))? };
        // Decimals are exact down to 1 bit/s; finer digits cannot name a rate.
        let mut bits = whole.checked_mul(scale).ok_or_else(|| err("too large"))?;
        let mut place = scale;
        for digit in frac.bytes() {
            place /= 10;
            if place == 0 {
                return Err(err("more decimals than 1 bit/s resolves"));
            }
            bits += u64::from(digit - b'0') * place;
        }
        Rate::bits(bits).ok_or_else(|| err("a rate must be above 0 (use a stall to stop a link)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_every_documented_spelling() {
        let bits = |s: &str| s.parse::<Rate>().map(Rate::bits_per_second);
        assert_eq!(bits("256kbit"), Ok(256_000));
        assert_eq!(bits("1mbit"), Ok(1_000_000));
        assert_eq!(bits("1.5Mbit"), Ok(1_500_000));
        assert_eq!(bits(" 384kbit/s "), Ok(384_000));
        assert_eq!(bits("10.24mbit"), Ok(10_240_000));
        assert_eq!(bits(".5kbit"), Ok(500));
        assert_eq!(bits("1gbit"), Ok(1_000_000_000));
        assert_eq!(bits("30000bit"), Ok(30_000));
    }

    #[test]
    fn bad_rates_say_what_is_wrong() {
        for (given, says) in [
            ("256kbps", "ambiguous"),
            ("256", "unit is missing"),
            ("256kb", "unit must be"),
            ("kbit", "malformed"),
            ("1.2.3kbit", "malformed"),
            ("0kbit", "above 0"),
            ("1.0001kbit", "decimals"),
            ("99999999999999999999gbit", "too large"),
        ] {
            let e = given.parse::<Rate>().unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(given), "{given}: {e}");
        }
    }

    #[test]
    fn rates_print_as_they_are_spelled() {
        for s in ["256kbit", "1.6mbit", "10.24mbit", "49kbit", "1gbit", "999bit", "1.001kbit"] {
            assert_eq!(s.parse::<Rate>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn time_for_is_bytes_over_rate() {
        let rate = Rate::kbit(256);
        // 640 bytes = 5,120 bits at 256,000 bit/s: exactly 20 ms, one audio chunk.
        assert_eq!(rate.time_for(640), Duration::from_millis(20));
        assert_eq!(Rate::PCM_16K_MONO, rate);
        // Rounded up: 1 byte at 3 bit/s is 2.666… s.
        assert_eq!(Rate::bits(3).unwrap().time_for(1), Duration::from_nanos(2_666_666_667));
    }
}
