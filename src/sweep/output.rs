//! What a sweep writes: `points/<i>/report.json` and `point.json` as each point
//! finishes, then `sweep.csv` and `sweep.json` over all points (a shard writes its
//! definition instead, which `resim merge` reads).
//!
//! The tables are rendered from the point reports as read back from JSON, the same
//! bytes a resumed run or `resim merge` reads, so a sweep, a resumed sweep and merged
//! shards produce identical files. Every file is written atomically.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::grid::display;
use super::objective::{Choice, choose, metric, objective_path};
use super::plan::Definition;
use crate::input::{self, MAX_REPORT_BYTES};
use crate::report::write_atomic;

/// The table of points.
pub const SWEEP_CSV: &str = "sweep.csv";
/// Points, metrics and the definition.
pub const SWEEP_JSON: &str = "sweep.json";
/// Folder of per-point outputs.
pub const POINTS_DIR: &str = "points";
/// sweep.json's schema identifier.
pub const SCHEMA: &str = "resim.sweep/v1";

/// Headline metrics per workload, in column order.
pub const WORKLOAD_METRICS: [&str; 5] =
    ["availability", "latency_s.p50", "latency_s.p99", "requests", "goodput_value_per_s"];
/// Headline metrics per service, in column order.
pub const SERVICE_METRICS: [&str; 3] = ["throughput_per_s", "utilization", "latency_s.p99"];

/// `points/<i>/point.json`: which point a report belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointFile {
    /// Point index.
    pub index: usize,
    /// The sweep's scenario hash ([`Definition::scenario_hash`]).
    pub scenario_hash: String,
    /// Parameter values, in column order.
    pub params: Vec<(String, Value)>,
}

/// A finished point: its definition and its report.
#[derive(Clone, Debug, PartialEq)]
pub struct PointRecord {
    /// Which point.
    pub point: PointFile,
    /// Its report.json.
    pub report: Value,
}

/// The folder of point `i`.
pub fn point_dir(out: &Path, i: usize) -> PathBuf {
    out.join(POINTS_DIR).join(i.to_string())
}

/// Writes a finished point: report.json first, then point.json, which marks it complete.
pub fn write_point(out: &Path, point: &PointFile, report_json: &str) -> io::Result<()> {
    let dir = point_dir(out, point.index);
    write_atomic(&dir.join("report.json"), report_json.as_bytes())?;
    let text = serde_json::to_string_pretty(point).map_err(io::Error::other)? + "\n";
    write_atomic(&dir.join("point.json"), text.as_bytes())
}

/// Copies point `i`'s files from the sweep folder `from` to the one at `to`, byte for
/// byte: as hard links where the file system allows (no bytes copied, and the files keep
/// their identity; they are never modified in place, only replaced), else as copies.
pub fn copy_point(from: &Path, to: &Path, i: usize) -> io::Result<()> {
    let (from, to) = (point_dir(from, i), point_dir(to, i));
    std::fs::create_dir_all(&to)?;
    // report.json first: point.json marks the point complete.
    for name in ["report.json", "point.json"] {
        let (src, dst) = (from.join(name), to.join(name));
        if std::fs::hard_link(&src, &dst).is_err() {
            write_atomic(&dst, &std::fs::read(&src)?)?;
        }
    }
    Ok(())
}

/// Reads point `i` from `out` if it is complete and belongs to the sweep with `hash`.
pub fn read_point(out: &Path, i: usize, hash: &str) -> Option<PointRecord> {
    let dir = point_dir(out, i);
    let read = |name: &str| input::read_text(&dir.join(name), MAX_REPORT_BYTES).ok();
    let point: PointFile = serde_json::from_str(&read("point.json")?).ok()?;
    if point.index != i || point.scenario_hash != hash {
        return None;
    }
    let report = serde_json::from_str(&read("report.json")?).ok()?;
    Some(PointRecord { point, report })
}

/// Metric paths of the tables, from every point's workloads and services (sorted).
pub fn metric_paths(records: &[PointRecord]) -> Vec<String> {
    let names = |what: &str| -> BTreeSet<String> {
        records.iter().filter_map(|r| r.report[what].as_object()).flat_map(|m| m.keys().cloned()).collect()
    };
    let mut out = Vec::new();
    for w in names("workloads") {
        out.extend(WORKLOAD_METRICS.iter().map(|m| format!("workloads.{w}.{m}")));
    }
    for s in names("services") {
        out.extend(SERVICE_METRICS.iter().map(|m| format!("services.{s}.{m}")));
    }
    out
}

/// Names of the faults with a blast radius in any point, in order of first appearance.
pub fn blast_faults(records: &[PointRecord]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        for b in r.report["blast_radius"].as_array().into_iter().flatten() {
            if let Some(f) = b["fault"].as_str().filter(|f| !out.iter().any(|o| o == f)) {
                out.push(f.to_owned());
            }
        }
    }
    out
}

/// The blast radius of `fault` in a point's report, if it has one.
pub fn blast<'a>(report: &'a Value, fault: &str) -> Option<&'a Value> {
    report["blast_radius"].as_array()?.iter().find(|b| b["fault"].as_str() == Some(fault))
}

/// The statistic at `path` as `[mean, ci_lo, ci_hi]` JSON values (null when undefined).
pub(crate) fn stat(report: &Value, path: &str) -> [Value; 3] {
    let mut node = report;
    for seg in path.split('.') {
        node = &node[seg];
    }
    // Workload and service names may contain dots: fall back to the full lookup.
    if node.is_null() {
        node = super::objective::lookup(report, path).unwrap_or(&Value::Null);
    }
    [node["mean"].clone(), node["ci95"][0].clone(), node["ci95"][1].clone()]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

fn cell(v: &Value) -> String {
    if v.is_null() { String::new() } else { csv_field(&display(v)) }
}

/// sweep.csv: one row per point: index, parameters, replications, each headline
/// metric's mean, ci_lo, ci_hi, then each fault's `metastable` (0/1) and
/// `time_to_recover_s` (empty when undefined or when the point has no blast radius).
pub fn render_csv(def: &Definition, records: &[PointRecord]) -> String {
    let paths = metric_paths(records);
    let mut header = vec!["point".to_owned()];
    header.extend(def.params.iter().map(|p| csv_field(&p.key)));
    header.push("replications".into());
    for p in &paths {
        header.extend(["mean", "ci_lo", "ci_hi"].iter().map(|s| csv_field(&format!("{p}.{s}"))));
    }
    let faults = blast_faults(records);
    for f in &faults {
        header.extend(["metastable", "time_to_recover_s"].iter().map(|s| csv_field(&format!("blast_radius.{f}.{s}"))));
    }
    let mut out = header.join(",") + "\n";
    for r in records {
        let mut row = vec![r.point.index.to_string()];
        row.extend(r.point.params.iter().map(|(_, v)| cell(v)));
        row.push(cell(&r.report["replications"]));
        for p in &paths {
            row.extend(stat(&r.report, p).iter().map(cell));
        }
        for f in &faults {
            let b = blast(&r.report, f);
            row.push(b.and_then(|b| b["metastable"].as_bool()).map(|m| u8::from(m).to_string()).unwrap_or_default());
            row.push(b.map(|b| cell(&b["time_to_recover_s"])).unwrap_or_default());
        }
        let _ = writeln!(out, "{}", row.join(","));
    }
    out
}

/// Judges the records by the definition's objective and constraints.
pub fn judge(def: &Definition, records: &[PointRecord]) -> Result<Choice, String> {
    let reports: Vec<&Value> = records.iter().map(|r| &r.report).collect();
    choose(&reports, def.objective.as_ref(), &def.constraints)
}

/// sweep.json: the definition, each point's parameters and headline metrics, and the
/// chosen point.
pub fn render_json(def: &Definition, records: &[PointRecord], choice: Option<&Choice>) -> String {
    let paths = metric_paths(records);
    let faults = blast_faults(records);
    let points: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let params: serde_json::Map<String, Value> = r.point.params.iter().cloned().collect();
            let metrics: serde_json::Map<String, Value> = paths
                .iter()
                .map(|p| {
                    let [mean, lo, hi] = stat(&r.report, p);
                    let ci = if lo.is_null() { Value::Null } else { json!([lo, hi]) };
                    (p.clone(), json!({ "mean": mean, "ci95": ci }))
                })
                .collect();
            let mut v = json!({
                "index": r.point.index,
                "params": params,
                "replications": r.report["replications"],
                "report": format!("{POINTS_DIR}/{}/report.json", r.point.index),
                "metrics": metrics,
            });
            let outcomes: serde_json::Map<String, Value> = faults
                .iter()
                .filter_map(|f| {
                    let b = blast(&r.report, f)?;
                    let keep = ["metastable", "recovered", "time_to_recover_s"];
                    Some((f.clone(), keep.iter().map(|k| ((*k).to_owned(), b[*k].clone())).collect()))
                })
                .collect();
            if !outcomes.is_empty() {
                v["blast_radius"] = Value::Object(outcomes);
            }
            if let Some(c) = choice.filter(|_| def.objective.is_some() || !def.constraints.is_empty()) {
                v["feasible"] = json!(c.feasible[k]);
                if def.objective.is_some() {
                    v["objective"] = json!(c.objective[k]);
                }
            }
            v
        })
        .collect();
    let best = choice.and_then(|c| {
        let at = |k: Option<usize>| k.map(|k| records[k].point.index);
        (def.objective.is_some() || !def.constraints.is_empty())
            .then(|| json!({ "best": at(c.best), "runner_up": at(c.runner_up), "infeasible": c.infeasible }))
    });
    let mut v = json!({ "schema": SCHEMA, "definition": def, "points": points });
    if let Some(b) = best {
        v["choice"] = b;
    }
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// Writes sweep.csv and sweep.json for `records` (in point order) into `out`.
pub fn write_tables(out: &Path, def: &Definition, records: &[PointRecord], choice: Option<&Choice>) -> io::Result<()> {
    write_atomic(&out.join(SWEEP_CSV), render_csv(def, records).as_bytes())?;
    write_atomic(&out.join(SWEEP_JSON), render_json(def, records, choice).as_bytes())
}

/// The verdict in words: the best point, its value, the constraints it meets, the
/// runner-up and how many points broke a constraint.
pub fn explain(def: &Definition, records: &[PointRecord], choice: &Choice) -> String {
    let mut out = String::new();
    let name = |k: usize| {
        let r = &records[k];
        let params: Vec<String> = r.point.params.iter().map(|(key, v)| format!("{key}={}", display(v))).collect();
        format!("point {} ({})", r.point.index, params.join(", "))
    };
    let value = |k: usize, path: &str| -> String {
        let [mean, lo, hi] = stat(&records[k].report, path);
        let m = metric(&records[k].report, path).ok().flatten();
        match (m, lo.as_f64(), hi.as_f64()) {
            (Some(m), Some(lo), Some(hi)) => format!("{m:.6} (95% CI {lo:.6} to {hi:.6})"),
            (Some(m), _, _) => format!("{m:.6}"),
            _ if mean.is_null() => "undefined".into(),
            _ => mean.to_string(),
        }
    };
    let total = records.len();
    match choice.best {
        None if !def.constraints.is_empty() => {
            let _ = writeln!(out, "no feasible point: all {total} points break a constraint");
            for c in &def.constraints {
                let held = records
                    .iter()
                    .filter(|r| metric(&r.report, &c.metric).ok().flatten().is_some_and(|x| c.op.holds(x, c.value)))
                    .count();
                let _ = writeln!(out, "  {} {} {}: met by {held} of {total}", c.metric, c.op.symbol(), c.value);
            }
        }
        None => {
            let _ = writeln!(out, "no point has a defined objective");
        }
        Some(best) => {
            match &def.objective {
                Some(o) => {
                    let dir = if matches!(o, crate::scenario::sweep_spec::ObjectiveSpec::Minimize(_)) {
                        "minimises"
                    } else {
                        "maximises"
                    };
                    let path = objective_path(o);
                    let _ = writeln!(out, "best: {}", name(best));
                    let _ = writeln!(out, "  {dir} {path} = {}", value(best, path));
                }
                None => {
                    let _ = writeln!(out, "first feasible: {}", name(best));
                }
            }
            for c in &def.constraints {
                let _ = writeln!(out, "  meets {} {} {}: {}", c.metric, c.op.symbol(), c.value, value(best, &c.metric));
            }
            if let (Some(o), Some(ru)) = (&def.objective, choice.runner_up) {
                let path = objective_path(o);
                let (b, r) = (choice.objective[best], choice.objective[ru]);
                let gap = match (b, r) {
                    (Some(b), Some(r)) if b != 0.0 => format!(" ({:+.2}% vs best)", (r - b) / b.abs() * 100.0),
                    _ => String::new(),
                };
                let _ = writeln!(out, "  runner-up: {} with {path} = {}{gap}", name(ru), value(ru, path));
            }
            let _ = writeln!(
                out,
                "  {} of {total} points infeasible{}",
                choice.infeasible,
                if def.constraints.is_empty() { " (no constraints)" } else { "" }
            );
        }
    }
    out
}
