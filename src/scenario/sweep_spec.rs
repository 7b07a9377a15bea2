//! The `sweep:` section and `warmup: auto`: how `resim sweep` varies a scenario.
//!
//! `resim run` ignores `sweep:`; `resim sweep` reads it when no `--param` is given. The
//! section has the meaning of the command-line options: `params` are dotted keys (as in
//! `--set`) with a list of values or a numeric range, `sampling` chooses the full grid or
//! `samples` random / Latin-hypercube points, `objective` and `constraints` pick the best
//! point. Everything is typed here, so a misspelt key is a located error.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::units::{Duration, parse_duration};
use crate::engine::SimTime;

/// The warm-up: a fixed duration, or `auto` (MSER-5 on a pilot replication).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warmup {
    /// A fixed span of simulated time.
    Fixed(Duration),
    /// Detected from a pilot run (MSER-5); validated as 0 until resolved.
    Auto,
}

impl Default for Warmup {
    fn default() -> Self {
        Warmup::Fixed(Duration::default())
    }
}

impl Warmup {
    /// The fixed warm-up, or 0 while `auto` is unresolved.
    pub fn time(self) -> SimTime {
        match self {
            Warmup::Fixed(d) => d.time(),
            Warmup::Auto => SimTime::ZERO,
        }
    }

    /// True for `warmup: auto`.
    pub fn is_auto(self) -> bool {
        self == Warmup::Auto
    }
}

impl<'de> Deserialize<'de> for Warmup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Warmup;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`auto` or a duration like 30s or 10m")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Warmup, E> {
                if v.trim() == "auto" {
                    return Ok(Warmup::Auto);
                }
                parse_duration(v)
                    .map(|t| Warmup::Fixed(Duration(t)))
                    .map_err(|e| E::custom(format!("{e}, or `auto` to detect it (MSER-5)")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Warmup, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Warmup, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Warmup, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Warmup {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Warmup::Fixed(d) => d.serialize(s),
            Warmup::Auto => s.serialize_str("auto"),
        }
    }
}

impl JsonSchema for Warmup {
    fn schema_name() -> Cow<'static, str> {
        "Warmup".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let duration = g.subschema_for::<Duration>();
        json_schema!({
            "description": "A duration, or `auto`: the end of the transient is detected by MSER-5 on a pilot replication",
            "anyOf": [ { "const": "auto" }, duration ]
        })
    }
}

/// How `resim sweep` varies the scenario (ignored by `resim run`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Parameters by dotted key (as `--set` takes them): a list of values, or a numeric
    /// range `{ from, to, step }`. Points are the cartesian product, keys in sorted order.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// `grid` (every combination), or `random` / `latin_hypercube` draws of `samples` points.
    #[serde(default)]
    pub sampling: SamplingSpec,
    /// Points drawn by `random` or `latin_hypercube` sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u32>,
    /// The metric to minimise or maximise (a path into report.json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<ObjectiveSpec>,
    /// Conditions a point must meet to be chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<ConstraintSpec>,
}

/// The values of one swept parameter.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ParamSpec {
    /// Explicit values, any YAML (`[2, 4, 8]`, `[50ms, 100ms]`).
    List(Vec<serde_json::Value>),
    /// A numeric range.
    Range(RangeSpec),
}

/// A numeric range, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeSpec {
    /// First value.
    pub from: f64,
    /// Last value (included when on a step).
    pub to: f64,
    /// Distance between grid values; omitted: 1 for whole-number ranges, continuous for sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
}

/// How points are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SamplingSpec {
    /// Every combination of the parameters' values.
    #[default]
    Grid,
    /// Independent uniform draws.
    Random,
    /// Latin hypercube: each parameter's range cut into `samples` strata, one draw per stratum.
    LatinHypercube,
}

/// What the best point optimises.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ObjectiveSpec {
    /// Smallest mean wins, e.g. `{ minimize: workloads.users.latency_s.p99 }`.
    Minimize(String),
    /// Largest mean wins.
    Maximize(String),
}

/// A condition on a metric's mean, e.g. `{ metric: workloads.users.availability, op: ">=", value: 0.999 }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstraintSpec {
    /// A path into report.json; a statistic compares by its mean.
    pub metric: String,
    /// Comparison.
    pub op: CompareOp,
    /// Bound.
    pub value: f64,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum CompareOp {
    /// At least.
    #[serde(rename = ">=")]
    Ge,
    /// At most.
    #[serde(rename = "<=")]
    Le,
    /// Above.
    #[serde(rename = ">")]
    Gt,
    /// Below.
    #[serde(rename = "<")]
    Lt,
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Ge => ">=",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Lt => "<",
        }
    }

    /// `x op bound`.
    pub fn holds(self, x: f64, bound: f64) -> bool {
        match self {
            CompareOp::Ge => x >= bound,
            CompareOp::Le => x <= bound,
            CompareOp::Gt => x > bound,
            CompareOp::Lt => x < bound,
        }
    }
}
