//! What a comparison reads: a [`Snapshot`], the headline metrics of one result as a flat
//! list, each with its unit, its preferred direction and its statistic.
//!
//! `report.json` is read as untyped JSON (the typed [`crate::Report`] is write-only), and
//! only the keys a comparison shows are extracted, so reports from newer versions with
//! extra keys still compare. Another source (a sweep point of `sweep.json`) plugs in by
//! producing a `Snapshot` the same way, selected by its `schema` in [`load`].

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::report::SCHEMA;

/// Why an input cannot be compared. Every message says which file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The path does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path given.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A folder without a report in it.
    #[error("{dir} holds no report.json; pass a report.json or the --out folder of `resim run`")]
    NoReport {
        /// The folder given.
        dir: PathBuf,
    },
    /// Not JSON at all.
    #[error("{path} is not JSON ({msg}); pass a report.json written by `resim run`")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        msg: String,
    },
    /// JSON, but not a resim report.
    #[error("{path} is not a resim report: its `schema` is {found}, expected \"{SCHEMA}\"")]
    NotAReport {
        /// The file.
        path: PathBuf,
        /// What the `schema` key held.
        found: String,
    },
    /// A resim report with a key of the wrong shape.
    #[error("{path}: `{key}` {what}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Dotted path of the key.
        key: String,
        /// What is wrong with it.
        what: String,
    },
}

/// The part of the result a metric belongs to, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Per workload: what users saw.
    Workloads,
    /// Per service.
    Services,
    /// Per call edge.
    Edges,
    /// Per SLO.
    Slos,
}

impl Section {
    /// Title for tables.
    pub fn title(self) -> &'static str {
        match self {
            Section::Workloads => "Workloads",
            Section::Services => "Services",
            Section::Edges => "Edges",
            Section::Slos => "SLOs",
        }
    }
}

/// How a metric's values are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Events per replication.
    Count,
    /// A share, shown as a percentage (changes in percentage points).
    Ratio,
    /// Seconds.
    Seconds,
    /// Per second.
    PerSecond,
    /// A plain number.
    Plain,
}

/// Which way a metric should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Up is better (availability, goodput).
    HigherBetter,
    /// Down is better (latency, errors).
    LowerBetter,
    /// Neither (load-dependent counts, utilisation).
    Neutral,
}

/// A statistic as written in a report: mean, 95% CI half-width, replications.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// Mean; `None` when no replication defined the metric.
    pub mean: Option<f64>,
    /// Half-width of the 95% interval; `None` when n < 2.
    pub half: Option<f64>,
    /// Replications that contributed.
    pub n: u32,
}

/// A metric's value on one side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricValue {
    /// A statistic over replications.
    Stat(Stat),
    /// A verdict (an SLO met or not).
    Flag(bool),
}

/// One headline metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Section.
    pub section: Section,
    /// Workload, service, edge or SLO name.
    pub entity: String,
    /// Metric name, e.g. `availability`, `latency p99`.
    pub name: &'static str,
    /// Position of the metric within its entity (display order).
    pub order: usize,
    /// Display unit.
    pub unit: Unit,
    /// Preferred direction.
    pub direction: Direction,
    /// The value.
    pub value: MetricValue,
}

/// Where a snapshot came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// The file read.
    pub path: PathBuf,
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: Option<u64>,
    /// Replications.
    pub replications: Option<u64>,
    /// Measured duration, seconds.
    pub duration_s: Option<f64>,
}

/// The headline metrics of one result.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Provenance.
    pub meta: Meta,
    /// Metrics in display order.
    pub metrics: Vec<Metric>,
}

/// A metric to extract: name, JSON path inside its entity, unit, direction.
type Spec = (&'static str, &'static [&'static str], Unit, Direction);

use Direction::{HigherBetter as Up, LowerBetter as Down, Neutral};
use Unit::{Count, PerSecond, Plain, Ratio, Seconds};

const WORKLOAD: &[Spec] = &[
    ("availability", &["availability"], Ratio, Up),
    ("requests", &["requests"], Count, Neutral),
    ("ok", &["ok"], Count, Up),
    ("degraded", &["degraded"], Count, Down),
    ("error", &["error"], Count, Down),
    ("timeout", &["timeout"], Count, Down),
    ("rejected", &["rejected"], Count, Down),
    ("short_circuited", &["short_circuited"], Count, Down),
    ("latency p50", &["latency_s", "p50"], Seconds, Down),
    ("latency p90", &["latency_s", "p90"], Seconds, Down),
    ("latency p99", &["latency_s", "p99"], Seconds, Down),
    ("latency p999", &["latency_s", "p999"], Seconds, Down),
    ("value_per_request", &["value_per_request"], Plain, Up),
    ("goodput", &["goodput_value_per_s"], PerSecond, Up),
];

const SERVICE: &[Spec] = &[
    ("throughput_per_s", &["throughput_per_s"], PerSecond, Neutral),
    ("utilization", &["utilization"], Ratio, Neutral),
    ("blocking_probability", &["blocking_probability"], Ratio, Down),
    ("mean_in_system", &["mean_in_system"], Plain, Down),
    ("mean_sojourn_s", &["mean_sojourn_s"], Seconds, Down),
    ("latency p99", &["latency_s", "p99"], Seconds, Down),
    ("dropped", &["dropped"], Count, Down),
    ("wasted", &["wasted"], Count, Down),
];

const EDGE: &[Spec] = &[
    ("calls", &["calls"], Count, Neutral),
    ("retries", &["retries"], Count, Down),
    ("outcomes error", &["outcomes", "error"], Count, Down),
    ("outcomes timeout", &["outcomes", "timeout"], Count, Down),
    ("breaker openings", &["breaker", "openings"], Count, Down),
];

const SLO: &[Spec] = &[
    ("sli", &["sli"], Ratio, Up),
    ("met", &["met"], Plain, Up),
    ("budget_consumed_fraction", &["budget_consumed_fraction"], Ratio, Down),
];

/// Reads a report (a `report.json`, or a folder holding one).
pub fn load(path: &Path) -> Result<Snapshot, CompareError> {
    let file = if path.is_dir() {
        let f = path.join("report.json");
        if !f.is_file() {
            return Err(CompareError::NoReport { dir: path.to_path_buf() });
        }
        f
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|source| CompareError::Read { path: file.clone(), source })?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| CompareError::Json { path: file.clone(), msg: e.to_string() })?;
    match json.get("schema") {
        Some(Value::String(s)) if s == SCHEMA => from_report(&file, &json),
        other => Err(CompareError::NotAReport {
            path: file,
            found: other.map_or_else(|| "missing".to_owned(), Value::to_string),
        }),
    }
}

/// Extracts the headline metrics of a parsed `report.json` read from `path`.
pub fn from_report(path: &Path, json: &Value) -> Result<Snapshot, CompareError> {
    let bad = |key: &str, what: &str| CompareError::Malformed {
        path: path.to_path_buf(),
        key: key.to_owned(),
        what: what.to_owned(),
    };
    let scenario = json.get("scenario").and_then(Value::as_str).ok_or_else(|| bad("scenario", "is not a string"))?;
    let meta = Meta {
        path: path.to_path_buf(),
        scenario: scenario.to_owned(),
        seed: json.get("seed").and_then(Value::as_u64),
        replications: json.get("replications").and_then(Value::as_u64),
        duration_s: json.get("duration_s").and_then(Value::as_f64),
    };
    let mut metrics = Vec::new();
    for (section, key, specs) in [
        (Section::Workloads, "workloads", WORKLOAD),
        (Section::Services, "services", SERVICE),
        (Section::Edges, "edges", EDGE),
    ] {
        let map = match json.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Object(m)) => m,
            Some(_) => return Err(bad(key, "is not an object")),
        };
        for (name, entity) in sorted(map) {
            extract(&mut metrics, section, name, entity, specs, &format!("{key}.{name}"))
                .map_err(|(k, w)| bad(&k, &w))?;
        }
    }
    match json.get("slos") {
        None | Some(Value::Null) => {}
        Some(Value::Array(slos)) => {
            for (i, slo) in slos.iter().enumerate() {
                let name = slo
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(&format!("slos.{i}.name"), "is not a string"))?;
                extract(&mut metrics, Section::Slos, name, slo, SLO, &format!("slos.{i}"))
                    .map_err(|(k, w)| bad(&k, &w))?;
            }
        }
        Some(_) => return Err(bad("slos", "is not an array")),
    }
    Ok(Snapshot { meta, metrics })
}

/// Entries of a JSON object by key (whatever map order serde_json was built with).
fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// Appends `entity`'s metrics; a missing key (or a null `breaker`) is skipped, a key of
/// the wrong shape is an error `(dotted key, what)`.
fn extract(
    out: &mut Vec<Metric>,
    section: Section,
    entity: &str,
    json: &Value,
    specs: &[Spec],
    prefix: &str,
) -> Result<(), (String, String)> {
    for (order, &(name, path, unit, direction)) in specs.iter().enumerate() {
        let Some(v) = path.iter().try_fold(json, |v, k| v.get(k).filter(|x| !x.is_null())) else { continue };
        let key = format!("{prefix}.{}", path.join("."));
        let value = match v {
            Value::Bool(b) => MetricValue::Flag(*b),
            _ => MetricValue::Stat(stat(v).ok_or((key, "is not a statistic {mean, ci95, n}".to_owned()))?),
        };
        out.push(Metric { section, entity: entity.to_owned(), name, order, unit, direction, value });
    }
    Ok(())
}

/// Parses `{ "mean": x|null, "ci95": [lo, hi]|null, "n": k }`.
fn stat(v: &Value) -> Option<Stat> {
    let n = u32::try_from(v.get("n")?.as_u64()?).ok()?;
    let mean = match v.get("mean")? {
        Value::Null => None,
        m => Some(m.as_f64()?),
    };
    let half = match v.get("ci95") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ci)) if ci.len() == 2 => Some((ci[1].as_f64()? - ci[0].as_f64()?).abs() / 2.0),
        Some(_) => return None,
    };
    Some(Stat { mean, half, n })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn st(mean: f64, lo: f64, hi: f64, n: u32) -> Value {
        json!({ "mean": mean, "ci95": [lo, hi], "n": n })
    }

    #[test]
    fn extracts_headline_metrics_in_order() {
        let r = json!({
            "schema": SCHEMA, "scenario": "s", "seed": 3, "replications": 2, "duration_s": 60.0,
            "workloads": { "users": { "availability": st(0.9, 0.75, 1.25, 2), "latency_s": { "p99": st(0.1, 0.1, 0.1, 2) } } },
            "edges": { "a->b": { "calls": st(10.0, 9.0, 11.0, 2), "breaker": null } },
            "slos": [ { "name": "avail", "met": false, "sli": { "mean": 0.5, "ci95": null, "n": 1 } } ]
        });
        let s = from_report(Path::new("r.json"), &r).unwrap();
        let names: Vec<_> = s.metrics.iter().map(|m| format!("{} {}", m.entity, m.name)).collect();
        assert_eq!(names, ["users availability", "users latency p99", "a->b calls", "avail sli", "avail met"]);
        assert_eq!(s.metrics[0].value, MetricValue::Stat(Stat { mean: Some(0.9), half: Some(0.25), n: 2 }));
        assert_eq!(s.metrics[4].value, MetricValue::Flag(false));
        assert_eq!(s.metrics[3].value, MetricValue::Stat(Stat { mean: Some(0.5), half: None, n: 1 }));
        assert_eq!(s.meta.seed, Some(3));
    }

    #[test]
    fn malformed_statistic_is_an_error() {
        let r = json!({ "schema": SCHEMA, "scenario": "s", "workloads": { "u": { "availability": 0.9 } } });
        let e = from_report(Path::new("r.json"), &r).unwrap_err().to_string();
        assert!(e.contains("workloads.u.availability") && e.contains("statistic"), "{e}");
    }
}
