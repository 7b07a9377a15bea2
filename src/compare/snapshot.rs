//! What a comparison reads: a [`Snapshot`], the headline metrics of one result as a flat
//! list, each with its unit, its preferred direction and its statistic.
//!
//! `report.json` is read through [`super::report_in`] (the typed [`crate::Report`] is
//! write-only): only the keys a comparison shows are kept, and each is required, with
//! the type the report writes, so a truncated or hand-edited report is refused with its
//! key path rather than compared (and passed by a regression gate) on what is left.
//! Extra keys are ignored, so reports from newer versions with more keys still compare. Another source (a sweep point of `sweep.json`) plugs in by
//! producing a `Snapshot` the same way, selected by its `schema` in [`load`].

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::report_in::{Entity, Kept, Object, ReportIn, Shaped, kind};
use crate::input::{self, InputError, MAX_REPORT_BYTES};
use crate::report::SCHEMA;

/// Why an input cannot be compared. Every message says which file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The path is missing, unreadable, not a regular file, or too large.
    #[error("{0}; {help}", help = .0.help())]
    Input(#[from] InputError),
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
    #[error(
        "{path} is not a resim report: its `schema` is {found}, expected \"{SCHEMA}\"; pass a report.json \
         written by `resim run` of this version"
    )]
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

/// Reads a report (a `report.json`, `-` for standard input, or a folder holding one),
/// checking its `schema` and every key a comparison reads.
pub fn load(path: &Path) -> Result<Snapshot, CompareError> {
    let file = if path.is_dir() {
        let f = path.join("report.json");
        if !f.exists() {
            return Err(CompareError::NoReport { dir: path.to_path_buf() });
        }
        f
    } else {
        path.to_path_buf()
    };
    let bytes = input::read_bytes(&file, MAX_REPORT_BYTES)?;
    parse(&input::shown(&file), &bytes)
}

/// The snapshot of the report text `bytes` read from `path` (which names it in
/// messages), with the same checks as [`load`].
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Snapshot, CompareError> {
    from_parsed(path, serde_json::from_slice(bytes).map_err(|e| not_json(path, &e))?)
}

/// Extracts the headline metrics of a parsed `report.json` read from `path`, with the
/// same checks as [`load`].
pub fn from_report(path: &Path, json: &Value) -> Result<Snapshot, CompareError> {
    from_parsed(path, Object::<ReportIn>::deserialize(json).map_err(|e| not_json(path, &e))?)
}

fn not_json(path: &Path, e: &serde_json::Error) -> CompareError {
    CompareError::Json { path: path.to_path_buf(), msg: e.to_string() }
}

/// The snapshot of a report: its `schema` first (anything else is not a resim report),
/// then every key a comparison reads, required and of the type the report writes.
fn from_parsed(path: &Path, report: Object<ReportIn>) -> Result<Snapshot, CompareError> {
    let not_a_report = |found: String| CompareError::NotAReport { path: path.to_path_buf(), found };
    let r = match report {
        Shaped::Found(r) => r,
        Shaped::Other(kind) => return Err(not_a_report(format!("missing (the file holds {kind}, not an object)"))),
    };
    match &r.schema {
        Some(Value::String(s)) if s == SCHEMA => {}
        other => return Err(not_a_report(other.as_ref().map_or_else(|| "missing".to_owned(), Value::to_string))),
    }
    let bad = |(key, what): (String, String)| CompareError::Malformed { path: path.to_path_buf(), key, what };
    let meta = Meta {
        path: path.to_path_buf(),
        scenario: header(&r.scenario, "scenario", Value::as_str, "a string").map_err(bad)?.to_owned(),
        seed: Some(header(&r.seed, "seed", Value::as_u64, "a whole number").map_err(bad)?),
        replications: Some(
            header(&r.replications, "replications", |v| v.as_u64().filter(|&n| n >= 1), "a count of at least 1")
                .map_err(bad)?,
        ),
        duration_s: Some(header(&r.duration_s, "duration_s", Value::as_f64, "a number of seconds").map_err(bad)?),
    };
    let mut metrics = Vec::new();
    for (section, key, specs, map) in [
        (Section::Workloads, "workloads", WORKLOAD, &r.workloads),
        (Section::Services, "services", SERVICE, &r.services),
        (Section::Edges, "edges", EDGE, &r.edges),
    ] {
        let map = match map {
            None => return Err(bad((key.to_owned(), format!("is missing; {REPORT_HAS}")))),
            Some(Shaped::Other(kind)) => return Err(bad((key.to_owned(), format!("is {kind}, expected an object")))),
            Some(Shaped::Found(map)) => map,
        };
        if section == Section::Workloads && map.is_empty() {
            return Err(bad((key.to_owned(), format!("is empty: there is nothing to compare; {REPORT_HAS}"))));
        }
        for (name, entity) in map {
            let prefix = format!("{key}.{name}");
            extract(&mut metrics, section, name, entity_of(entity, &prefix).map_err(bad)?, specs, &prefix)
                .map_err(bad)?;
        }
    }
    let slos = match &r.slos {
        None => return Err(bad(("slos".to_owned(), format!("is missing; {REPORT_HAS}")))),
        Some(Shaped::Other(kind)) => return Err(bad(("slos".to_owned(), format!("is {kind}, expected an array")))),
        Some(Shaped::Found(slos)) => slos,
    };
    for (i, slo) in slos.iter().enumerate() {
        let prefix = format!("slos.{i}");
        let slo = entity_of(slo, &prefix).map_err(bad)?;
        let name = slo
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad((format!("{prefix}.name"), "is not a string".to_owned())))?;
        extract(&mut metrics, Section::Slos, name, slo, SLO, &prefix).map_err(bad)?;
    }
    Ok(Snapshot { meta, metrics })
}

/// How messages say what a report holds.
const REPORT_HAS: &str = "a report.json written by `resim run` has it (was this file cut short or edited?)";

/// A header key of the report, converted by `read` (which says what was `expected`).
fn header<'a, T>(
    v: &'a Option<Value>,
    key: &str,
    read: impl Fn(&'a Value) -> Option<T>,
    expected: &str,
) -> Result<T, (String, String)> {
    let v = v.as_ref().ok_or_else(|| (key.to_owned(), format!("is missing; {REPORT_HAS}")))?;
    read(v).ok_or_else(|| (key.to_owned(), format!("is {}, expected {expected}", kind(v))))
}

/// The object of a workload, service, edge or SLO at `key`.
fn entity_of<'a>(entity: &'a Entity, key: &str) -> Result<&'a Value, (String, String)> {
    match entity {
        Shaped::Found(Kept(v)) => Ok(v),
        Shaped::Other(kind) => Err((key.to_owned(), format!("is {kind}, expected an object"))),
    }
}

/// Appends `entity`'s metrics. Every key is required; a null object on the way (an edge
/// without a breaker has `breaker: null`) skips the metric; anything else is an error
/// `(dotted key, what)`.
fn extract(
    out: &mut Vec<Metric>,
    section: Section,
    entity: &str,
    json: &Value,
    specs: &[Spec],
    prefix: &str,
) -> Result<(), (String, String)> {
    for (order, &(name, path, unit, direction)) in specs.iter().enumerate() {
        let Some(v) = lookup(json, path, prefix)? else { continue };
        let key = format!("{prefix}.{}", path.join("."));
        // `met`, an SLO's verdict, is the one flag among the headline metrics.
        let value = if path == ["met"] {
            MetricValue::Flag(v.as_bool().ok_or_else(|| (key, format!("is {}, expected true or false", kind(v))))?)
        } else {
            MetricValue::Stat(stat(v).map_err(|what| (key, what))?)
        };
        out.push(Metric { section, entity: entity.to_owned(), name, order, unit, direction, value });
    }
    Ok(())
}

/// The value at `path` inside `entity`; `None` when an object on the way is null.
fn lookup<'a>(entity: &'a Value, path: &[&str], prefix: &str) -> Result<Option<&'a Value>, (String, String)> {
    let mut here = entity;
    for (i, k) in path.iter().enumerate() {
        let key = || format!("{prefix}.{}", path[..=i].join("."));
        here = here.get(k).ok_or_else(|| (key(), format!("is missing; {REPORT_HAS}")))?;
        if i + 1 < path.len() {
            match here {
                Value::Null => return Ok(None),
                Value::Object(_) => {}
                v => return Err((key(), format!("is {}, expected an object", kind(v)))),
            }
        }
    }
    Ok(Some(here))
}

/// The half-width a Welch test reads from an interval: the wider side from the mean.
/// Reports clamp a lower bound at 0 for a quantity that cannot be negative (so the upper
/// side keeps Student's half-width), and a proportion's Wilson interval is asymmetric (the
/// wider side is the conservative one); a symmetric interval gives `(hi − lo) / 2`.
fn half_width(mean: Option<f64>, lo: f64, hi: f64) -> f64 {
    match mean {
        Some(m) => (hi - m).abs().max((m - lo).abs()),
        None => (hi - lo).abs() / 2.0,
    }
}

/// Parses `{ "mean": x|null, "ci95": [lo, hi]|null, "n": k }`, or says what is wrong.
fn stat(v: &Value) -> Result<Stat, String> {
    let wrong = |what: String| format!("is not a statistic {{mean, ci95, n}}: {what}");
    let Value::Object(o) = v else { return Err(wrong(format!("it is {}", kind(v)))) };
    let n = o.get("n").ok_or_else(|| wrong("`n` is missing".into()))?;
    let n = n.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| wrong(format!("`n` is {n}, not a count")))?;
    let mean = match o.get("mean") {
        None => return Err(wrong("`mean` is missing".into())),
        Some(Value::Null) => None,
        Some(m) => Some(m.as_f64().ok_or_else(|| wrong(format!("`mean` is {}, not a number", kind(m))))?),
    };
    let half = match o.get("ci95") {
        None => return Err(wrong("`ci95` is missing".into())),
        Some(Value::Null) => None,
        Some(Value::Array(ci)) if ci.len() == 2 && ci.iter().all(Value::is_number) => {
            let (lo, hi) = (ci[0].as_f64().unwrap_or(0.0), ci[1].as_f64().unwrap_or(0.0));
            Some(half_width(mean, lo, hi))
        }
        Some(_) => return Err(wrong("`ci95` is not [low, high] or null".into())),
    };
    Ok(Stat { mean, half, n })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn st(mean: f64, lo: f64, hi: f64, n: u32) -> Value {
        json!({ "mean": mean, "ci95": [lo, hi], "n": n })
    }

    /// An entity with every metric of `specs` set to `value` (a flag for `met`).
    fn entity(specs: &[Spec], value: &Value) -> Value {
        let mut e = json!({});
        for (_, path, _, _) in specs {
            let leaf = if *path == ["met"] { json!(true) } else { value.clone() };
            let (last, parents) = path.split_last().unwrap();
            let mut here = &mut e;
            for k in parents {
                here = here.as_object_mut().unwrap().entry(*k).or_insert_with(|| json!({}));
            }
            here[*last] = leaf;
        }
        e
    }

    /// A complete report: one workload, one service, one edge, one SLO.
    fn report() -> Value {
        let one = st(1.0, 1.0, 1.0, 2);
        let mut slo = entity(SLO, &one);
        slo["name"] = json!("avail");
        json!({
            "schema": SCHEMA, "scenario": "s", "seed": 3, "replications": 2, "duration_s": 60.0,
            "workloads": { "users": entity(WORKLOAD, &one) },
            "services": { "api": entity(SERVICE, &one) },
            "edges": { "a->b": entity(EDGE, &one) },
            "slos": [slo],
            "faults": [], "events": []
        })
    }

    fn error(r: &Value) -> String {
        from_report(Path::new("r.json"), r).unwrap_err().to_string()
    }

    #[test]
    fn extracts_headline_metrics_in_order() {
        let mut r = report();
        r["workloads"]["users"]["availability"] = st(0.9, 0.75, 1.25, 2);
        r["edges"]["a->b"]["breaker"] = Value::Null;
        r["slos"][0]["met"] = json!(false);
        r["slos"][0]["sli"] = json!({ "mean": 0.5, "ci95": null, "n": 1 });
        let s = from_report(Path::new("r.json"), &r).unwrap();
        let names: Vec<_> = s.metrics.iter().map(|m| format!("{} {}", m.entity, m.name)).collect();
        let expected = WORKLOAD.len() + SERVICE.len() + EDGE.len() - 1 + SLO.len();
        assert_eq!(names.len(), expected, "{names:?}");
        assert_eq!(names[0], "users availability");
        assert!(!names.contains(&"a->b breaker openings".to_owned()), "a null breaker has no openings");
        // The wider side from the mean: 1.25 − 0.9.
        assert_eq!(s.metrics[0].value, MetricValue::Stat(Stat { mean: Some(0.9), half: Some(0.35), n: 2 }));
        let slo: Vec<_> = s.metrics.iter().filter(|m| m.section == Section::Slos).map(|m| m.value).collect();
        assert_eq!(slo[0], MetricValue::Stat(Stat { mean: Some(0.5), half: None, n: 1 }));
        assert_eq!(slo[1], MetricValue::Flag(false));
        assert_eq!(s.meta.seed, Some(3));
    }

    #[test]
    fn half_width_survives_a_clamped_or_asymmetric_interval() {
        // Student's 2 ± 5.55 clamped at 0: the upper side keeps the half-width.
        assert_eq!(half_width(Some(2.0), 0.0, 7.5), 5.5);
        // A Wilson interval around 0.125: the wider (upper) side.
        assert_eq!(half_width(Some(0.125), 0.0625, 0.375), 0.25);
        assert_eq!(half_width(Some(3.0), 1.0, 5.0), 2.0);
        assert_eq!(half_width(None, 1.0, 5.0), 2.0);
    }

    #[test]
    fn malformed_statistic_is_an_error() {
        let mut r = report();
        r["workloads"]["users"]["availability"] = json!(0.9);
        let e = error(&r);
        assert!(e.contains("workloads.users.availability") && e.contains("statistic"), "{e}");
        r["workloads"]["users"]["availability"] = json!({ "mean": 0.9, "ci95": null });
        assert!(error(&r).contains("`n` is missing"), "{}", error(&r));
    }

    #[test]
    fn every_key_compare_reads_is_required() {
        for (key, needle) in [
            ("workloads", "r.json: `workloads` is missing"),
            ("services", "`services` is missing"),
            ("edges", "`edges` is missing"),
            ("slos", "`slos` is missing"),
            ("scenario", "`scenario` is missing"),
            ("replications", "`replications` is missing"),
        ] {
            let mut r = report();
            r.as_object_mut().unwrap().remove(key);
            assert!(error(&r).contains(needle), "{key}: {}", error(&r));
        }
        let mut r = report();
        r["workloads"]["users"].as_object_mut().unwrap().remove("latency_s");
        assert!(error(&r).contains("`workloads.users.latency_s` is missing"), "{}", error(&r));
        let mut r = report();
        r["workloads"] = json!({});
        assert!(error(&r).contains("`workloads` is empty"), "{}", error(&r));
        let mut r = report();
        r["services"] = json!([]);
        assert!(error(&r).contains("`services` is an array, expected an object"), "{}", error(&r));
        let mut r = report();
        r["edges"]["a->b"]["outcomes"] = json!(3);
        assert!(error(&r).contains("`edges.a->b.outcomes` is a number, expected an object"), "{}", error(&r));
        let mut r = report();
        r["slos"][0]["met"] = json!("yes");
        assert!(error(&r).contains("`slos.0.met` is a string, expected true or false"), "{}", error(&r));
    }

    #[test]
    fn the_schema_is_checked_first() {
        let mut r = report();
        r["schema"] = json!("resim.report/v0");
        assert!(
            error(&r).contains(r#"its `schema` is "resim.report/v0", expected "resim.report/v1""#),
            "{}",
            error(&r)
        );
        assert!(error(&json!([1])).contains("the file holds an array"), "{}", error(&json!([1])));
        assert!(error(&json!({ "workloads": {} })).contains("`schema` is missing"));
    }
}
