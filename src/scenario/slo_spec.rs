//! Scenario keys of service level objectives: `slos:` and `alerting:`.
//!
//! An SLO says what share of valid requests must be good: on a workload (what its users
//! see) or on a service (an internal dependency). Objectives are written as a percentage
//! (`99.9%`) or a fraction (`0.999`); `alerting` scales the SRE workbook's
//! multi-window, multi-burn-rate alert windows to simulated time.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::units::Duration;

const OBJECTIVE_HINT: &str = "an objective like 99.9% or 0.999";

/// One service level objective.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// Name used in the report and the terminal summary.
    pub name: String,
    /// The workload whose requests count (what its users see). Give this or `service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// The service whose requests count (an internal dependency): every request that
    /// finished there. Give this or `workload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `availability` (good outcomes / finished requests) or `latency` (served within
    /// `threshold` / served requests).
    pub kind: SloKindSpec,
    /// Share of valid requests that must be good: `99.9%` or `0.999`.
    pub objective: Objective,
    /// Availability only: outcomes that count as good (default `[ok, degraded]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good: Option<Vec<GoodOutcome>>,
    /// Latency only: the slowest good answer (a request taking exactly this long is good).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Duration>,
    /// The SLO period this run is compared with (default `30d`; the seeds also use `31d`
    /// and `30.42d`, a twelfth of a year).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Duration>,
    /// The SLI as deployed: the Prometheus queries `resim export prometheus-rules` puts
    /// in the recording rules (Sloth's `events`; `{{.window}}` stands for the range).
    /// Omitted: queries on resim's own metric names. The simulation does not read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSliSpec>,
}

/// An SLI as Prometheus queries, in Sloth's `events` form.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSliSpec {
    /// The rate of bad events over `{{.window}}`.
    pub error_query: String,
    /// The rate of all valid events over `{{.window}}`.
    pub total_query: String,
}

/// What an SLO measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SloKindSpec {
    /// Good outcomes among finished requests.
    Availability,
    /// Answers within a threshold among served (ok or degraded) requests.
    Latency,
}

/// An outcome that may count as good for an availability SLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoodOutcome {
    /// Served fully.
    Ok,
    /// Served partially (a fallback or a degradation level answered).
    Degraded,
}

/// Multi-window, multi-burn-rate alerting (Google SRE workbook, chapter 5).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertingSpec {
    /// Workbook time per unit of simulated time: 60 makes 1 simulated minute stand for
    /// 1 hour, so the 1h/5m pair becomes 1m/5s. Default: the longest long window spans
    /// the measured duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    /// The rules (default: the workbook's two paging pairs, 14.4x over 1h and 5m, 6x
    /// over 6h and 30m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<AlertRuleSpec>>,
}

/// The blast-radius analysis. For each fault the scenario is run again without it, on the
/// same random streams, and the two runs are compared window by window.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlastRadiusSpec {
    /// Run the counterfactuals (default: true when there are faults). Each costs one
    /// more run of the scenario.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Rise in the share of bad (failed or slowed) requests beyond which a workload or
    /// service counts as affected: `0.1%` (default) or `0.001`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sli_threshold: Option<Objective>,
    /// Extra bad share within which a window counts as recovered: `1%` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_tolerance: Option<Objective>,
}

fn yes() -> bool {
    true
}

/// One alert rule: it fires while both windows burn the error budget faster than
/// `burn_rate` (Prometheus's `short > t and long > t`), and resolves when either does not.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleSpec {
    /// Burn-rate factor (1 = the budget lasts exactly the period).
    pub burn_rate: f64,
    /// Long window, workbook time (scaled by `time_scale`).
    pub long: Duration,
    /// Short window, workbook time (scaled by `time_scale`); shorter than `long`.
    pub short: Duration,
    /// `page` (default) or `ticket`.
    #[serde(default)]
    pub severity: Severity,
}

/// How urgent an alert is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Wake someone up.
    #[default]
    Page,
    /// Look at it during working hours.
    Ticket,
}

impl Severity {
    /// The report key.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// An SLO objective as a fraction; written `99.9%` or `0.999`. Range is checked by
/// validation, so `99.9` (a forgotten `%`) gets a message that suggests the fix.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Objective(pub f64);

/// Parses `"99.9%"` (exactly: `999 / 1000`, not `99.9 / 100`) or `"0.999"`.
pub fn parse_objective(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, percent) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let bad = || format!("`{text}` is not a percentage or a fraction; expected {OBJECTIVE_HINT}");
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return Err(bad());
    }
    if !percent {
        return number.parse().map_err(|_| bad());
    }
    // Exact decimal: digits / 10^(fraction digits + 2), one rounding.
    if int.len() + frac.len() <= 15 {
        let digits: u64 = format!("{int}{frac}").parse().map_err(|_| bad())?;
        return Ok(digits as f64 / 10f64.powi(frac.len() as i32 + 2));
    }
    number.parse::<f64>().map(|x| x / 100.0).map_err(|_| bad())
}

impl<'de> Deserialize<'de> for Objective {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Objective;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(OBJECTIVE_HINT)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Objective, E> {
                parse_objective(v).map(Objective).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Objective, E> {
                Ok(Objective(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Objective, E> {
                Ok(Objective(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Objective, E> {
                Ok(Objective(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Objective {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl JsonSchema for Objective {
    fn schema_name() -> Cow<'static, str> {
        "Objective".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": OBJECTIVE_HINT,
            "anyOf": [
                { "type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]+\\s*%?\\s*$" },
                { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_exactly() {
        assert_eq!(parse_objective("99.9%"), Ok(0.999));
        assert_eq!(parse_objective("99.99%"), Ok(0.9999));
        assert_eq!(parse_objective(" 99.95 % "), Ok(0.9995));
        assert_eq!(parse_objective("99%"), Ok(0.99));
        assert_eq!(parse_objective("0.999"), Ok(0.999));
        assert_eq!(parse_objective("99.999%"), Ok(0.99999));
    }

    #[test]
    fn bad_objectives_say_what_is_expected() {
        for bad in ["", "%", "abc", "99.9.9%", "-99%", "1e-3", "99,9%"] {
            let e = parse_objective(bad).unwrap_err();
            assert!(e.contains("99.9%"), "{bad}: {e}");
        }
    }
}
