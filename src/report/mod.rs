//! The report: statistics across replications for every service, workload and edge.
//!
//! [`Report`] is the single source of truth for results: `report.json` is its serde
//! serialisation, and the terminal summary (and later charts, HTML and comparisons)
//! render from it. Maps are `BTreeMap`s so keys come out sorted and the JSON is
//! byte-identical for the same scenario and seed.

mod aggregate;
mod autoscale;
mod blast;
mod cache;
pub mod charts;
mod chrome;
mod edge;
mod fault;
mod html;
pub mod mqueue;
mod others;
mod percentiles;
mod select;
mod service;
mod service_graph;
pub mod slo;
mod slo_report;
mod statistic;
pub mod summary;
mod text;
mod timeseries;
mod workload;
mod write;

pub use aggregate::TimelineReport;
pub use autoscale::AutoscalingReport;
pub use blast::{BlastRadiusReport, Damage, blast_radius};
pub use cache::{CacheReport, CacheSummary};
pub use edge::{BreakerReport, EdgeReport, EdgeTimelineReport, OverflowReport};
pub use fault::FaultReport;
pub use html::render_html;
pub(crate) use html::{STYLE, esc};
pub use others::{EdgesLeftOut, OthersReport, ServicesLeftOut, WorkloadsLeftOut, Worst};
pub use percentiles::Percentiles;
pub use service::{DegradationReport, GaugeTimelineReport, PoolReport, ServiceReport};
pub use service_graph::ServiceGraphReport;
pub(crate) use service_graph::depths;
pub use slo_report::{AlertReport, AlertRuleReport, BurnRateSeries, SeverityAlertReport, SloReport, slo_reports};
pub use statistic::{Statistic, t975};
pub use summary::{QUANTILES, ReplicationSummary};
pub use text::{Section, fmt_secs, headline, render_summary, sections};
pub use timeseries::timeseries_csv;
pub use workload::WorkloadReport;
pub use write::{LockMode, OutputError, OutputLock, OutputPlace, Staging, write_atomic};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Model;
use aggregate::stat;
use blast::blast_radii;
use fault::recovery_events;
use select::Kept;

/// The report schema identifier.
pub const SCHEMA: &str = "resim.report/v1";
/// Counters of the engine itself.
#[derive(Clone, Debug, Serialize)]
pub struct EngineReport {
    /// Events handled per replication, warm-up included.
    pub events: Statistic,
    /// Why a replication stopped before its end (a resource guard); absent when none did.
    /// A report with this set is not written by `resim run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
}

/// The result of running a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Replications run.
    pub replications: u32,
    /// Measured duration, seconds.
    pub duration_s: f64,
    /// Warm-up, seconds.
    pub warmup_s: f64,
    /// Engine counters.
    pub engine: EngineReport,
    /// Per service, by name.
    pub services: BTreeMap<String, ServiceReport>,
    /// Per workload, by name.
    pub workloads: BTreeMap<String, WorkloadReport>,
    /// Per call edge, by `"caller->callee"`.
    pub edges: BTreeMap<String, EdgeReport>,
    /// SLO verdicts, error budgets, burn rates and alerts, in scenario order.
    pub slos: Vec<SloReport>,
    /// The chaos schedule and what each fault did.
    pub faults: Vec<FaultReport>,
    /// Blast radius per fault, against counterfactual runs without it (empty when the
    /// analysis is off).
    pub blast_radius: Vec<BlastRadiusReport>,
    /// Replication 0's recovery events (health changes, ejections, heartbeat failures and
    /// recoveries, failovers) and degradation level changes, seconds from the end of the
    /// warm-up.
    pub events: Vec<serde_json::Value>,
    /// What `services`, `workloads` and `edges` left out of a large model (see `--top`);
    /// absent when they hold everything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub others: Option<OthersReport>,
    /// Every service's headline numbers and the call graph, when the model has more
    /// services than `--top` (the HTML's service-graph view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_graph: Option<ServiceGraphReport>,
}

impl Report {
    /// Aggregates per-replication summaries (in replication order) into a report, without
    /// a blast radius (see [`Report::build_with_counterfactuals`]).
    pub fn build(model: &Model, reps: &[ReplicationSummary]) -> Report {
        Self::build_with_counterfactuals(model, reps, &[])
    }

    /// Aggregates per-replication summaries (in replication order) into a report, with the
    /// blast radius of each fault measured against `counterfactuals`: the summaries of
    /// the run without fault `f` (same replication indices), in fault order. The blast
    /// radius is empty when the analysis is off or `counterfactuals` is.
    pub fn build_with_counterfactuals(
        model: &Model,
        reps: &[ReplicationSummary],
        counterfactuals: &[Vec<ReplicationSummary>],
    ) -> Report {
        let mut blast_radius = blast_radii(model, reps, counterfactuals);
        let kept = Kept::of(model, reps, &blast_radius);
        let keep = kept.clone().unwrap_or_else(|| Kept::everything(model));
        let report_services: BTreeMap<String, ServiceReport> = (model.services.iter().enumerate())
            .filter(|&(i, _)| keep.services[i])
            .map(|(i, s)| (s.name.clone(), ServiceReport::of(model, reps, i)))
            .collect();
        let report_workloads: BTreeMap<String, WorkloadReport> = (model.workloads.iter().enumerate())
            .filter(|&(i, _)| keep.workloads[i])
            .map(|(i, w)| (w.name.clone(), WorkloadReport::of(model, reps, i)))
            .collect();
        if kept.is_some() {
            for b in &mut blast_radius {
                b.services.retain(|name, _| report_services.contains_key(name));
                b.workloads.retain(|name, _| report_workloads.contains_key(name));
                b.extra_bad_per_window.retain(|name, _| report_workloads.contains_key(name));
            }
        }
        let service_graph = (model.services.len() > model.detail.top)
            .then(|| ServiceGraphReport::of(model, reps, keep.services.clone()));
        Report {
            schema: SCHEMA,
            scenario: model.name.clone(),
            seed: model.seed,
            replications: reps.len() as u32,
            duration_s: model.duration.as_secs_f64(),
            warmup_s: model.warmup.as_secs_f64(),
            engine: EngineReport {
                events: stat(reps, |r| Some(r.events)),
                halted: reps.iter().find_map(|r| r.halt.as_ref()).map(|h| h.message(model.warmup)),
            },
            services: report_services,
            workloads: report_workloads,
            edges: (model.edges.iter().enumerate())
                .filter(|&(i, _)| keep.edges[i])
                .map(|(i, e)| (e.name.clone(), EdgeReport::of(reps, i)))
                .collect(),
            slos: slo_reports(model, reps),
            faults: (0..model.faults.len()).map(|f| FaultReport::of(model, reps, f)).collect(),
            blast_radius,
            events: reps.first().map(|r0| recovery_events(model, &r0.log)).unwrap_or_default(),
            others: kept.as_ref().map(|k| OthersReport::of(model, reps, k)),
            service_graph,
        }
    }

    /// The event log of replication 0 as JSON lines, in time order (seconds from the end
    /// of the warm-up): fault starts and ends, recovery events, degradation level changes,
    /// SLO alerts firing and resetting, breaker transitions.
    pub fn events_jsonl(&self) -> String {
        let mut events: Vec<(f64, serde_json::Value)> = Vec::new();
        for f in &self.faults {
            for &(t, what) in &f.events {
                events.push((
                    t,
                    serde_json::json!({ "t": t, "type": format!("fault_{what}"), "fault": f.name, "kind": f.kind, "target": f.target }),
                ));
            }
        }
        for e in &self.events {
            events.push((e["t"].as_f64().unwrap_or_default(), e.clone()));
        }
        for s in &self.slos {
            for a in &s.alerts {
                let alert = |t: f64, kind: &str| {
                    serde_json::json!({
                        "t": t, "type": kind, "slo": s.name, "severity": a.severity, "burn_rate": a.burn_rate,
                        "fault": a.fault, "detection_delay_s": a.detection_delay_s
                    })
                };
                events.push((a.fired_at_s, alert(a.fired_at_s, "alert_fired")));
                if let Some(t) = a.reset_at_s {
                    events.push((t, alert(t, "alert_reset")));
                }
            }
        }
        for (name, e) in &self.edges {
            for &(t, from, to, instance) in e.breaker.iter().flat_map(|b| &b.transitions) {
                let t = t - self.warmup_s;
                if t >= 0.0 {
                    let mut event =
                        serde_json::json!({ "t": t, "type": "breaker", "edge": name, "from": from, "to": to });
                    if let Some(i) = instance {
                        event["instance"] = i.into();
                    }
                    events.push((t, event));
                }
            }
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        events.iter().map(|(_, v)| format!("{v}\n")).collect()
    }

    /// The report as pretty-printed JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
