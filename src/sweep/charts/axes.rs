//! What a sweep chart plots: the headline metrics, the numeric parameters on its axes and
//! their levels, and the chart geometry shared by the line charts and the grid maps.

use serde_json::Value;

use crate::report::charts::fmt_latency;
use crate::scenario::units::parse_duration;
use crate::sweep::grid::display;
use crate::sweep::output::PointRecord;
use crate::sweep::plan::Definition;

/// Width kept right of a grid chart for its legend (or colour scale), pixels.
pub(super) const LEGEND: u32 = 170;
/// Width of a heat map's colour scale bar, pixels.
pub(super) const SCALE_BAR: i32 = 18;
/// Height of a sweep chart, pixels.
pub(super) const HEIGHT: u32 = 440;

/// A headline metric drawn per workload.
pub(super) struct Metric {
    /// Path under `workloads.<name>.`.
    pub(super) path: &'static str,
    /// File name stem.
    pub(super) file: &'static str,
    /// Axis label.
    pub(super) label: &'static str,
    /// Larger is better (colours of the heat map).
    pub(super) higher_is_better: bool,
}

pub(super) const METRICS: [Metric; 2] = [
    Metric { path: "availability", file: "availability", label: "availability", higher_is_better: true },
    Metric { path: "latency_s.p99", file: "p99", label: "p99 latency", higher_is_better: false },
];

impl Metric {
    pub(super) fn fmt(&self, v: f64) -> String {
        if self.higher_is_better { format!("{:.2}%", v * 100.0) } else { fmt_latency(&v) }
    }
}

pub(super) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A parameter value as a number: a number, or a duration in seconds (`30s`).
pub(super) fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| parse_duration(s).ok()).map(|t| t.as_secs_f64()))
}

/// Indices of the parameters whose every value is a number (or a duration).
pub(super) fn numeric_params(def: &Definition, records: &[PointRecord]) -> Vec<usize> {
    (0..def.params.len())
        .filter(|&i| {
            !records.is_empty() && records.iter().all(|r| r.point.params.get(i).and_then(|p| number(&p.1)).is_some())
        })
        .collect()
}

/// The value of parameter `i` of a record, as a number.
pub(super) fn at(r: &PointRecord, i: usize) -> f64 {
    r.point.params.get(i).and_then(|p| number(&p.1)).unwrap_or(f64::NAN)
}

/// Distinct values of parameter `i`, sorted, with their labels as written.
pub(super) fn levels(records: &[PointRecord], i: usize) -> Vec<(f64, String)> {
    let mut out: Vec<(f64, String)> = Vec::new();
    for r in records {
        let x = at(r, i);
        if !out.iter().any(|(v, _)| *v == x) {
            out.push((x, r.point.params.get(i).map(|p| display(&p.1)).unwrap_or_default()));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}
