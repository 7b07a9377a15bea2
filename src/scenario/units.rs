//! Durations (`"250us"`, `"1.5s"`, `"10m"`) and rates (`"64/s"`, `"3000/m"`) as they are
//! written in scenario files.
//!
//! Durations are parsed from their decimal text straight to integer nanoseconds, so
//! `"0.1s"` is exactly 100 000 000 ns, not the nearest double. A bare number means
//! seconds.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::engine::SimTime;
use crate::engine::format::format_duration;

const DURATION_HINT: &str = "a duration like 250us, 50ms, 1.5s, 10m or 2h (a bare number is seconds)";
const RATE_HINT: &str = "a rate like 64/s, 3000/m or 10/h (a bare number is per second)";

/// A non-negative span of simulated time, written with a unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub SimTime);

impl Duration {
    /// The span as simulated time.
    pub fn time(self) -> SimTime {
        self.0
    }
    /// The span in seconds.
    pub fn secs(self) -> f64 {
        self.0.as_secs_f64()
    }
}

/// Parses `"1.5s"`-style text into nanoseconds.
pub fn parse_duration(text: &str) -> Result<SimTime, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim();
    if t.starts_with('-') {
        return Err(format!("`{text}` is negative; expected {DURATION_HINT}"));
    }
    let nanos_per_unit: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" | "" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return Err(format!("`{text}` has an unknown unit `{unit}`; expected {DURATION_HINT}")),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(format!("`{text}` is not a number with a unit; expected {DURATION_HINT}"));
    }
    if frac.len() > 18 || int.len() > 20 {
        return Err(format!("`{text}` is too long; expected {DURATION_HINT}"));
    }
    let int_val: u128 =
        if int.is_empty() { 0 } else { int.parse().map_err(|_| format!("`{text}`: expected {DURATION_HINT}"))? };
    let frac_val: u128 =
        if frac.is_empty() { 0 } else { frac.parse().map_err(|_| format!("`{text}`: expected {DURATION_HINT}"))? };
    let scale = 10u128.pow(frac.len() as u32);
    let nanos = int_val
        .checked_mul(nanos_per_unit)
        .and_then(|n| n.checked_add(frac_val * nanos_per_unit / scale))
        .filter(|&n| n <= u128::from(u64::MAX / 4))
        .ok_or_else(|| format!("`{text}` is too long to simulate (the clock counts nanoseconds up to ~146 years)"))?;
    Ok(SimTime(nanos as u64))
}

fn duration_from_secs(secs: f64) -> Result<SimTime, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{secs}` is not a non-negative number of seconds; expected {DURATION_HINT}"));
    }
    if secs > (u64::MAX / 4) as f64 / 1e9 {
        return Err(format!("`{secs}` seconds is too long to simulate"));
    }
    Ok(SimTime::from_secs_f64(secs))
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(DURATION_HINT)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map(Duration).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                duration_from_secs(v as f64).map(Duration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                duration_from_secs(v as f64).map(Duration).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                duration_from_secs(v).map(Duration).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": DURATION_HINT,
            "anyOf": [
                { "type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]+\\s*(ns|us|µs|ms|s|m|min|h|d)?\\s*$" },
                { "type": "number", "minimum": 0 }
            ]
        })
    }
}

/// A non-negative rate in events per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl Rate {
    /// Events per second.
    pub fn per_sec(self) -> f64 {
        self.0
    }
}

/// Parses `"64/s"`-style text into events per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, per) = t.split_once('/').map(|(a, b)| (a.trim(), b.trim())).unwrap_or((t, "s"));
    let secs = match per {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("`{text}` has an unknown time unit `{per}`; expected {RATE_HINT}")),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a rate; expected {RATE_HINT}"))?;
    rate_from_per_sec(value / secs).map_err(|e| format!("`{text}`: {e}"))
}

fn rate_from_per_sec(v: f64) -> Result<f64, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("a rate must be a finite number >= 0; expected {RATE_HINT}"));
    }
    Ok(v)
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(RATE_HINT)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                parse_rate(v).map(Rate).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                Ok(Rate(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                rate_from_per_sec(v as f64).map(Rate).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
                rate_from_per_sec(v).map(Rate).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": RATE_HINT,
            "anyOf": [
                { "type": "string", "pattern": "^\\s*[0-9.eE+-]+\\s*(/\\s*(ns|us|µs|ms|s|sec|m|min|h|d))?\\s*$" },
                { "type": "number", "minimum": 0 }
            ]
        })
    }
}

/// A unit of time for plain numbers in a samples file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
pub enum TimeUnit {
    /// Nanoseconds.
    #[serde(rename = "ns")]
    Ns,
    /// Microseconds.
    #[serde(rename = "us", alias = "µs")]
    Us,
    /// Milliseconds.
    #[serde(rename = "ms")]
    Ms,
    /// Seconds.
    #[serde(rename = "s")]
    S,
    /// Minutes.
    #[serde(rename = "m", alias = "min")]
    M,
    /// Hours.
    #[serde(rename = "h")]
    H,
}

impl TimeUnit {
    /// The suffix a duration is written with, e.g. `ms`.
    pub fn suffix(self) -> &'static str {
        match self {
            TimeUnit::Ns => "ns",
            TimeUnit::Us => "us",
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
            TimeUnit::M => "m",
            TimeUnit::H => "h",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_exactly() {
        assert_eq!(parse_duration("250us"), Ok(SimTime(250_000)));
        assert_eq!(parse_duration("50ms"), Ok(SimTime(50_000_000)));
        assert_eq!(parse_duration("1.5s"), Ok(SimTime(1_500_000_000)));
        assert_eq!(parse_duration("0.1s"), Ok(SimTime(100_000_000)));
        assert_eq!(parse_duration("10m"), Ok(SimTime(600_000_000_000)));
        assert_eq!(parse_duration("2h"), Ok(SimTime(7_200_000_000_000)));
        assert_eq!(parse_duration(".5ms"), Ok(SimTime(500_000)));
        assert_eq!(parse_duration("3"), Ok(SimTime(3_000_000_000)));
        assert_eq!(parse_duration(" 7 ms "), Ok(SimTime(7_000_000)));
    }

    #[test]
    fn bad_durations_say_what_is_expected() {
        for bad in ["", "ms", "1.2.3s", "5 parsecs", "-1s", "1e3s", "99999999999999999999999h"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains('`'), "{bad}: {e}");
        }
        assert!(parse_duration("5 weeks").unwrap_err().contains("unknown unit `weeks`"));
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("64/s"), Ok(64.0));
        assert_eq!(parse_rate("3000/m"), Ok(50.0));
        assert_eq!(parse_rate("36/h"), Ok(0.01));
        assert_eq!(parse_rate("12.5"), Ok(12.5));
        assert!(parse_rate("-3/s").is_err());
        assert!(parse_rate("3/fortnight").unwrap_err().contains("fortnight"));
        assert!(parse_rate("inf/s").is_err());
    }

    #[test]
    fn written_durations_read_back_exactly() {
        for n in [0, 7, 250_000, 1_500_000_000, 600_000_000_000, 7_200_000_000_000] {
            assert_eq!(parse_duration(&format_duration(SimTime(n))), Ok(SimTime(n)));
        }
    }
}
