//! Traefik's duration type (`ptypes.Duration`): Go duration strings or plain seconds.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MIN: u64 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MIN;

/// A signed duration with nanosecond precision, as Traefik's `ptypes.Duration`.
///
/// Accepted input (like Traefik):
/// - a plain integer (number or string, e.g. `10` or `"10"`): seconds;
/// - a floating-point number (e.g. `1.5`): seconds;
/// - a Go duration string (`"10s"`, `"1m30s"`, `"100ms"`, `"1.5h"`, `"-1s"`), units
///   `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`.
///
/// Negative values are meaningful for some options (e.g. a negative `flushInterval`
/// flushes after every write), so the value is signed. Serializes as a Go-style string
/// (`"1m30s"`, `"100ms"`, `"0s"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(i64);

/// Why a duration could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The input was empty.
    #[error("invalid duration: empty string")]
    Empty,
    /// The input is not a number followed by a unit.
    #[error(
        "invalid duration {0:?}: expected a number of seconds or a duration like \"10s\", \"1m30s\", \"100ms\""
    )]
    Invalid(String),
    /// A number had no unit after it (only a bare integer or `0` may omit it).
    #[error("invalid duration {0:?}: missing unit (use ns, us, ms, s, m or h)")]
    MissingUnit(String),
    /// A unit is not one of Go's duration units.
    #[error("invalid duration {input:?}: unknown unit {unit:?} (use ns, us, ms, s, m or h)")]
    UnknownUnit {
        /// The whole input.
        input: String,
        /// The unknown unit.
        unit: String,
    },
    /// The value does not fit in a signed 64-bit count of nanoseconds (about 292 years).
    #[error("invalid duration {0:?}: out of range")]
    Overflow(String),
}

impl Duration {
    /// The zero duration.
    pub const ZERO: Duration = Duration(0);

    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Duration(nanos)
    }

    /// A duration of `millis` milliseconds (saturating).
    pub const fn from_millis(millis: i64) -> Self {
        Duration(millis.saturating_mul(NANOS_PER_MILLI as i64))
    }

    /// A duration of `secs` seconds (saturating).
    pub const fn from_secs(secs: i64) -> Self {
        Duration(secs.saturating_mul(NANOS_PER_SEC as i64))
    }

    /// The duration in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// True when the duration is zero (Traefik's "unset" for most options).
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True when the duration is negative.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The duration as a [`std::time::Duration`], or `None` when it is negative.
    pub fn as_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.0)
            .ok()
            .map(std::time::Duration::from_nanos)
    }

    /// Parses Traefik's duration syntax: a bare integer is seconds, anything else
    /// is a Go duration string.
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let trimmed = input.trim();
        if let Ok(secs) = trimmed.parse::<i64>() {
            return secs
                .checked_mul(NANOS_PER_SEC as i64)
                .map(Duration)
                .ok_or_else(|| DurationError::Overflow(input.to_owned()));
        }
        Self::parse_go(trimmed)
    }

    /// Parses a Go duration string only (`time.ParseDuration`): `"0"`, or a sequence of
    /// decimal numbers each with a unit, optionally signed, e.g. `"-1.5h"`, `"2h45m"`.
    pub fn parse_go(input: &str) -> Result<Self, DurationError> {
        let invalid = || DurationError::Invalid(input.to_owned());
        let overflow = || DurationError::Overflow(input.to_owned());
        let mut s = input;
        let mut negative = false;
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(Duration::ZERO);
        }
        if s.is_empty() {
            return Err(if input.is_empty() {
                DurationError::Empty
            } else {
                invalid()
            });
        }
        let mut total: u64 = 0;
        while !s.is_empty() {
            let first = s.as_bytes()[0];
            if !(first == b'.' || first.is_ascii_digit()) {
                return Err(invalid());
            }
            let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let (int_digits, rest) = s.split_at(int_len);
            let mut whole: u64 = 0;
            for d in int_digits.bytes() {
                whole = whole
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(d - b'0')))
                    .ok_or_else(overflow)?;
            }
            s = rest;
            let mut frac_digits = "";
            if let Some(rest) = s.strip_prefix('.') {
                let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
                let (digits, rest) = rest.split_at(frac_len);
                frac_digits = digits;
                s = rest;
            }
            if int_digits.is_empty() && frac_digits.is_empty() {
                return Err(invalid());
            }
            let unit_len = s
                .char_indices()
                .find(|(_, c)| *c == '.' || c.is_ascii_digit())
                .map_or(s.len(), |(i, _)| i);
            let (unit, rest) = s.split_at(unit_len);
            s = rest;
            if unit.is_empty() {
                return Err(DurationError::MissingUnit(input.to_owned()));
            }
            let scale = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
                input: input.to_owned(),
                unit: unit.to_owned(),
            })?;
            let mut value = whole.checked_mul(scale).ok_or_else(overflow)?;
            if !frac_digits.is_empty() {
                value = value
                    .checked_add(fraction_nanos(frac_digits, scale))
                    .ok_or_else(overflow)?;
            }
            total = total.checked_add(value).ok_or_else(overflow)?;
        }
        let limit = if negative {
            i64::MIN.unsigned_abs()
        } else {
            i64::MAX as u64
        };
        if total > limit {
            return Err(overflow());
        }
        let nanos = if negative {
            0i64.wrapping_sub_unsigned(total)
        } else {
            total as i64
        };
        Ok(Duration(nanos))
    }
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => NANOS_PER_MICRO,
        "ms" => NANOS_PER_MILLI,
        "s" => NANOS_PER_SEC,
        "m" => NANOS_PER_MIN,
        "h" => NANOS_PER_HOUR,
        _ => return None,
    })
}

/// Value of `0.<digits>` units in nanoseconds, truncated like Go does.
fn fraction_nanos(digits: &str, unit: u64) -> u64 {
    // Go keeps at most the digits that fit in an int64 and then scales with floats;
    // 18 digits is beyond nanosecond precision for every unit up to hours.
    let mut numerator: u64 = 0;
    let mut denominator: f64 = 1.0;
    for d in digits.bytes().take(18) {
        numerator = numerator * 10 + u64::from(d - b'0');
        denominator *= 10.0;
    }
    (numerator as f64 * (unit as f64 / denominator)) as u64
}

impl fmt::Display for Duration {
    /// Formats like Go's `time.Duration.String()`: `"1h2m3.5s"`, `"100ms"`, `"0s"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        let nanos = self.0.unsigned_abs();
        if nanos < NANOS_PER_SEC {
            let (unit, per) = if nanos < NANOS_PER_MICRO {
                ("ns", 1)
            } else if nanos < NANOS_PER_MILLI {
                ("\u{b5}s", NANOS_PER_MICRO)
            } else {
                ("ms", NANOS_PER_MILLI)
            };
            return write!(f, "{sign}{}{}{unit}", nanos / per, frac(nanos % per, per));
        }
        let secs = nanos / NANOS_PER_SEC;
        let sub = frac(nanos % NANOS_PER_SEC, NANOS_PER_SEC);
        let (hours, minutes, seconds) = (secs / 3600, (secs / 60) % 60, secs % 60);
        if hours > 0 {
            write!(f, "{sign}{hours}h{minutes}m{seconds}{sub}s")
        } else if minutes > 0 {
            write!(f, "{sign}{minutes}m{seconds}{sub}s")
        } else {
            write!(f, "{sign}{seconds}{sub}s")
        }
    }
}

/// `.ddd` for `rem / per` without trailing zeros, or nothing when `rem` is zero.
fn frac(rem: u64, per: u64) -> String {
    if rem == 0 {
        return String::new();
    }
    let width = per.ilog10() as usize;
    let digits = format!("{rem:0width$}");
    format!(".{}", digits.trim_end_matches('0'))
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

impl From<std::time::Duration> for Duration {
    /// Saturates at the largest representable duration.
    fn from(d: std::time::Duration) -> Self {
        Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a duration: a number of seconds or a string like \"10s\", \"1m30s\", \"100ms\"",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        Duration::parse(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        v.checked_mul(NANOS_PER_SEC as i64)
            .map(Duration)
            .ok_or_else(|| E::custom(DurationError::Overflow(v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        i64::try_from(v)
            .ok()
            .and_then(|s| s.checked_mul(NANOS_PER_SEC as i64))
            .map(Duration)
            .ok_or_else(|| E::custom(DurationError::Overflow(v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        let nanos = v * NANOS_PER_SEC as f64;
        // The bounds are exclusive because i64::MAX is not exactly representable as f64.
        if !nanos.is_finite() || nanos >= i64::MAX as f64 || nanos <= i64::MIN as f64 {
            return Err(E::custom(DurationError::Overflow(v.to_string())));
        }
        Ok(Duration(nanos as i64))
    }
}
