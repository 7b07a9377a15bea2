//! Durations as the imported formats write them, read exactly (to the nanosecond) and
//! written back in resim's form (`25ms`).
//!
//! - Go's `time.ParseDuration` syntax (`1h30m`, `1.5s`, `25ms`, `300us`): Istio's
//!   fields, Sloth, OpenSLO. The protobuf JSON form (`0.025s`) used by Envoy and gRPC
//!   service configs is a subset of it.
//! - The protobuf `Duration` message as a mapping (`{ seconds: 1, nanos: 500000000 }`),
//!   which Envoy's YAML also accepts.
//! - Spring Boot's `Duration` conversion (`DurationStyle` in spring-boot): the simple
//!   form `10s`, `500ms`, `2m`, `1d` (a bare number is milliseconds), or ISO-8601
//!   (`PT10S`, `P1DT2H`), as resilience4j's Spring Boot properties are bound.
//! - OpenSLO's `duration-shorthand` (OpenSLO v1 README, "Custom Data Types"): a whole
//!   number and one case-sensitive unit, `m`, `h`, `d`, `w`, `M`, `Q` or `Y`.

use serde_json::Value;

use super::Cursor;
use crate::engine::SimTime;
use crate::engine::format::format_duration;
use crate::scenario::ScenarioError;
use crate::scenario::tree::Node;

/// Longest duration accepted: a year, far past any timeout or window in a real config.
const MAX_NS: u128 = 365 * 86_400 * 1_000_000_000;

/// A duration as resim writes it in a scenario.
pub fn resim(t: SimTime) -> Value {
    Value::String(format_duration(t))
}

/// Nanoseconds of `number` (decimal text) times `unit_ns`, exactly.
fn scaled(number: &str, unit_ns: u128) -> Option<u128> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.len() > 20 || frac.len() > 18 {
        return None;
    }
    let i: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let f: u128 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let scale = 10u128.pow(frac.len() as u32);
    i.checked_mul(unit_ns)?.checked_add(f.checked_mul(unit_ns)? / scale)
}

fn bounded(ns: Option<u128>) -> Option<SimTime> {
    ns.filter(|&n| n <= MAX_NS).map(|n| SimTime(n as u64))
}

/// Reads Go's duration syntax: one or more decimal numbers each with a unit (`ns`,
/// `us`, `µs`, `ms`, `s`, `m`, `h`); `0` alone is zero.
pub fn parse_go(text: &str) -> Option<SimTime> {
    let t = text.trim();
    if t == "0" {
        return Some(SimTime(0));
    }
    let mut rest = t;
    let mut total: u128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(split);
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let unit_ns: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        total = total.checked_add(scaled(number, unit_ns)?)?;
        rest = next;
    }
    bounded(Some(total))
}

/// Reads Spring Boot's duration forms: simple (`10s`, `500ms`, `1d`; a bare number is
/// milliseconds) or ISO-8601 (`PT0.5S`, `P1DT2H`).
pub fn parse_spring(text: &str) -> Option<SimTime> {
    let t = text.trim();
    if let Some(iso) = t.strip_prefix('P').or_else(|| t.strip_prefix('p')) {
        return parse_iso(iso);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit_ns: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "ms" => 1_000_000,
        "ns" => 1,
        "us" => 1_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    };
    bounded(scaled(number, unit_ns))
}

/// ISO-8601 after its `P`: `nD` then `T` with `nH`, `nM`, `n.nS` (java.time.Duration).
fn parse_iso(text: &str) -> Option<SimTime> {
    let (days, time) = match text.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut total: u128 = 0;
    if !days.is_empty() {
        total = scaled(days.strip_suffix(['D', 'd'])?, 86_400_000_000_000)?;
    }
    if let Some(mut rest) = time {
        if rest.is_empty() {
            return None;
        }
        for (suffix, unit_ns) in [('H', 3_600_000_000_000u128), ('M', 60_000_000_000), ('S', 1_000_000_000)] {
            if let Some(i) = rest.find([suffix, suffix.to_ascii_lowercase()]) {
                total = total.checked_add(scaled(&rest[..i], unit_ns)?)?;
                rest = &rest[i + 1..];
            }
        }
        if !rest.is_empty() {
            return None;
        }
    } else if days.is_empty() {
        return None;
    }
    bounded(Some(total))
}

/// Nanoseconds in a day.
const DAY_NS: u128 = 86_400_000_000_000;

/// Reads OpenSLO's `duration-shorthand`: a positive whole number and one unit, `m`,
/// `h`, `d`, `w`, or a calendar unit, which the spec leaves to implementations ("free
/// to pick"): resim takes `M` as 30 days (its default SLO period, the SRE workbook's
/// month), `Q` as 90 days and `Y` as 365 days. Returns the duration and, for the
/// calendar units, a note saying what was assumed.
pub fn parse_openslo(text: &str) -> Option<(SimTime, Option<&'static str>)> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = t.split_at(split);
    let (unit_ns, note): (u128, Option<&'static str>) = match unit {
        "m" => (60_000_000_000, None),
        "h" => (3_600_000_000_000, None),
        "d" => (DAY_NS, None),
        "w" => (7 * DAY_NS, None),
        "M" => (30 * DAY_NS, Some("a month taken as 30 days")),
        "Q" => (90 * DAY_NS, Some("a quarter taken as 90 days")),
        "Y" => (365 * DAY_NS, Some("a year taken as 365 days")),
        _ => return None,
    };
    let n: u128 = number.parse().ok().filter(|&n| n > 0)?;
    bounded(n.checked_mul(unit_ns)).map(|t| (t, note))
}

/// The duration at `at` in OpenSLO's `duration-shorthand` (`5m`, `1h`, `28d`, `4w`,
/// `1M`), with the note [`parse_openslo`] gives for calendar units.
pub fn openslo(at: &Cursor) -> Result<(SimTime, Option<&'static str>), ScenarioError> {
    let help = "write it as OpenSLO's duration-shorthand: a whole number and one of m, h, d, w, M, Q, Y (5m, 1h, 28d)";
    let text = at
        .str()
        .map_err(|_| at.error(format!("expected a duration like 1h or 28d, found {}", at.node().describe())))?;
    parse_openslo(text).ok_or_else(|| at.error(format!("`{text}` is not an OpenSLO duration")).with_help(help))
}

/// The duration at `at` in Go's syntax, or as a protobuf `{ seconds, nanos }` mapping.
pub fn go(at: &Cursor) -> Result<SimTime, ScenarioError> {
    if let Node::Map(_) = at.node().node {
        let secs = at.get("seconds").map(|c| c.f64()).transpose()?.unwrap_or(0.0);
        let nanos = at.get("nanos").map(|c| c.f64()).transpose()?.unwrap_or(0.0);
        if secs < 0.0 || nanos < 0.0 || secs.fract() != 0.0 || nanos.fract() != 0.0 || nanos >= 1e9 {
            return Err(at.error("a duration's `seconds` and `nanos` must be whole and not negative (nanos below 10⁹)"));
        }
        return bounded(Some(secs as u128 * 1_000_000_000 + nanos as u128))
            .ok_or_else(|| at.error("the duration is longer than a year"));
    }
    let text = at
        .str()
        .map_err(|_| at.error(format!("expected a duration like 25ms or 1.5s, found {}", at.node().describe())))?;
    parse_go(text).ok_or_else(|| {
        let mut e = at.error(format!("`{text}` is not a duration"));
        e.help = Some("write it as Go and protobuf do: a number and a unit, e.g. 25ms, 1.5s, 1m30s".into());
        e
    })
}

/// The duration at `at` as Spring Boot binds it: text in the simple or ISO-8601 form,
/// or a bare number of milliseconds.
pub fn spring(at: &Cursor) -> Result<SimTime, ScenarioError> {
    let text = match &at.node().node {
        Node::Scalar(Value::String(s)) => s.clone(),
        Node::Scalar(Value::Number(n)) => n.to_string(),
        _ => return Err(at.error(format!("expected a duration like 10s or PT10S, found {}", at.node().describe()))),
    };
    parse_spring(&text).ok_or_else(|| {
        let mut e = at.error(format!("`{text}` is not a duration"));
        e.help = Some("write it as Spring Boot reads it: 500ms, 10s, 2m, PT10S, or a number of milliseconds".into());
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(t: Option<SimTime>) -> Option<u64> {
        t.map(|t| t.0)
    }

    #[test]
    fn go_durations_read_exactly() {
        assert_eq!(ns(parse_go("25ms")), Some(25_000_000));
        assert_eq!(ns(parse_go("0.025s")), Some(25_000_000));
        assert_eq!(ns(parse_go("1h30m")), Some(5_400_000_000_000));
        assert_eq!(ns(parse_go("1.5s")), Some(1_500_000_000));
        assert_eq!(ns(parse_go("300us")), Some(300_000));
        assert_eq!(ns(parse_go("0")), Some(0));
        for bad in ["", "5", "1d", "-1s", "1.2.3s", "s", "10 s"] {
            assert_eq!(parse_go(bad), None, "{bad}");
        }
    }

    #[test]
    fn spring_durations_read_every_form() {
        assert_eq!(ns(parse_spring("10s")), Some(10_000_000_000));
        assert_eq!(ns(parse_spring("500")), Some(500_000_000));
        assert_eq!(ns(parse_spring("500ms")), Some(500_000_000));
        assert_eq!(ns(parse_spring("1d")), Some(86_400_000_000_000));
        assert_eq!(ns(parse_spring("PT0.5S")), Some(500_000_000));
        assert_eq!(ns(parse_spring("PT1M30S")), Some(90_000_000_000));
        assert_eq!(ns(parse_spring("P1DT2H")), Some(93_600_000_000_000));
        for bad in ["", "10x", "PT", "P", "PT5X", "-5s"] {
            assert_eq!(parse_spring(bad), None, "{bad}");
        }
    }

    #[test]
    fn openslo_shorthand_reads_every_unit() {
        let day = 86_400_000_000_000u64;
        let ok = |s: &str| parse_openslo(s).map(|(t, _)| t.0);
        assert_eq!(ok("5m"), Some(300_000_000_000));
        assert_eq!(ok("1h"), Some(3_600_000_000_000));
        assert_eq!(ok("28d"), Some(28 * day));
        assert_eq!(ok("4w"), Some(28 * day));
        assert_eq!(ok("1M"), Some(30 * day));
        assert_eq!(ok("1Q"), Some(90 * day));
        assert_eq!(ok("1Y"), Some(365 * day));
        assert!(parse_openslo("1M").unwrap().1.is_some());
        assert!(parse_openslo("1d").unwrap().1.is_none());
        for bad in ["", "d", "0d", "1.5h", "10s", "1D", "-1d", "1 d", "2Y1d"] {
            assert_eq!(parse_openslo(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_are_written_back_exactly() {
        assert_eq!(resim(parse_go("0.025s").unwrap()), Value::from("25ms"));
        assert_eq!(resim(parse_spring("PT1M30S").unwrap()), Value::from("90s"));
    }
}
