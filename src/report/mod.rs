//! The report: statistics across replications for every service, workload and edge.
//!
//! [`Report`] is the single source of truth for results: `report.json` is its serde
//! serialisation, and the terminal summary (and later charts, HTML and comparisons)
//! render from it. Maps are `BTreeMap`s so keys come out sorted and the JSON is
//! byte-identical for the same scenario and seed.

mod statistic;
pub mod summary;
mod text;
mod write;

pub use statistic::{Statistic, t975};
pub use summary::{QUANTILES, ReplicationSummary};
pub use text::{fmt_secs, render_summary};
pub use write::write_atomic;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::Outcome;
use crate::model::Model;

/// The report schema identifier.
pub const SCHEMA: &str = "resim.report/v1";

/// Latency percentiles, seconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Statistic,
    /// 90th percentile.
    pub p90: Statistic,
    /// 95th percentile.
    pub p95: Statistic,
    /// 99th percentile.
    pub p99: Statistic,
    /// 99.9th percentile.
    pub p999: Statistic,
}

impl Percentiles {
    fn of(per_rep: &[[Option<f64>; 5]]) -> Self {
        let s = |i: usize| Statistic::of(per_rep.iter().map(|r| r[i]));
        Percentiles { p50: s(0), p90: s(1), p95: s(2), p99: s(3), p999: s(4) }
    }
}

/// One service.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceReport {
    /// Instances.
    pub instances: u32,
    /// Workers per instance (c).
    pub servers: u32,
    /// Capacity per instance (K), null when unbounded.
    pub capacity: Option<u32>,
    /// Requests that reached the service, per replication.
    pub arrivals: Statistic,
    /// Requests that left a worker, per replication.
    pub completed: Statistic,
    /// Requests refused at a full instance, per replication.
    pub rejected: Statistic,
    /// Completions per second.
    pub throughput_per_s: Statistic,
    /// Rejected / arrivals.
    pub blocking_probability: Statistic,
    /// Time-average busy workers / workers.
    pub utilization: Statistic,
    /// Time-average requests inside (L).
    pub mean_in_system: Statistic,
    /// Time-average requests waiting (Lq).
    pub mean_queue_length: Statistic,
    /// Mean sojourn of completed requests (W), seconds.
    pub mean_sojourn_s: Statistic,
    /// Mean wait of completed requests (Wq), seconds.
    pub mean_wait_s: Statistic,
    /// Sojourn percentiles, seconds.
    pub latency_s: Percentiles,
}

impl ServiceReport {
    /// A report with every statistic undefined (for displaying predictions alone).
    pub fn empty() -> Self {
        let none = Statistic::of([]);
        let p = Percentiles { p50: none, p90: none, p95: none, p99: none, p999: none };
        ServiceReport {
            instances: 0,
            servers: 0,
            capacity: None,
            arrivals: none,
            completed: none,
            rejected: none,
            throughput_per_s: none,
            blocking_probability: none,
            utilization: none,
            mean_in_system: none,
            mean_queue_length: none,
            mean_sojourn_s: none,
            mean_wait_s: none,
            latency_s: p,
        }
    }
}

/// One workload: what its users saw.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadReport {
    /// Requests sent.
    pub arrivals: Statistic,
    /// Requests finished in the measured window (the sum of the outcomes).
    pub requests: Statistic,
    /// Served fully.
    pub ok: Statistic,
    /// Served partially.
    pub degraded: Statistic,
    /// Failed downstream.
    pub error: Statistic,
    /// Timed out.
    pub timeout: Statistic,
    /// Refused.
    pub rejected: Statistic,
    /// Refused by an open breaker.
    pub short_circuited: Statistic,
    /// (ok + degraded) / requests.
    pub availability: Statistic,
    /// End-to-end latency of successful requests, seconds.
    pub latency_s: Percentiles,
}

/// One call edge.
#[derive(Clone, Debug, Serialize)]
pub struct EdgeReport {
    /// Calls made.
    pub calls: Statistic,
    /// Attempts sent (calls + retries + hedges).
    pub attempts: Statistic,
    /// Attempts beyond the first.
    pub retries: Statistic,
    /// Finished calls by outcome.
    pub outcomes: BTreeMap<&'static str, Statistic>,
    /// Breaker statistics; null while the edge has no breaker.
    pub breaker: Option<serde_json::Value>,
}

/// Counters of the engine itself.
#[derive(Clone, Debug, Serialize)]
pub struct EngineReport {
    /// Events handled per replication, warm-up included.
    pub events: Statistic,
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
    /// SLO verdicts (none defined yet).
    pub slos: Vec<serde_json::Value>,
    /// Faults injected (none defined yet).
    pub faults: Vec<serde_json::Value>,
    /// Blast radius per fault (none defined yet).
    pub blast_radius: Vec<serde_json::Value>,
}

impl Report {
    /// Aggregates per-replication summaries (in replication order) into a report.
    pub fn build(model: &Model, reps: &[ReplicationSummary]) -> Report {
        let stat = |f: &dyn Fn(&ReplicationSummary) -> Option<f64>| Statistic::of(reps.iter().map(f));
        let mut services = BTreeMap::new();
        for (i, s) in model.services.iter().enumerate() {
            let lat: Vec<_> = reps.iter().map(|r| r.services[i].latency).collect();
            services.insert(
                s.name.clone(),
                ServiceReport {
                    instances: s.instances,
                    servers: s.servers,
                    capacity: s.capacity,
                    arrivals: stat(&|r| Some(r.services[i].arrivals)),
                    completed: stat(&|r| Some(r.services[i].completed)),
                    rejected: stat(&|r| Some(r.services[i].rejected)),
                    throughput_per_s: stat(&|r| Some(r.services[i].throughput)),
                    blocking_probability: stat(&|r| r.services[i].blocking),
                    utilization: stat(&|r| Some(r.services[i].utilization)),
                    mean_in_system: stat(&|r| Some(r.services[i].mean_in_system)),
                    mean_queue_length: stat(&|r| Some(r.services[i].mean_queue_length)),
                    mean_sojourn_s: stat(&|r| r.services[i].mean_sojourn),
                    mean_wait_s: stat(&|r| r.services[i].mean_wait),
                    latency_s: Percentiles::of(&lat),
                },
            );
        }
        let mut workloads = BTreeMap::new();
        for (i, w) in model.workloads.iter().enumerate() {
            let out = |o: Outcome| stat(&|r| Some(r.workloads[i].outcomes[o as usize]));
            let lat: Vec<_> = reps.iter().map(|r| r.workloads[i].latency).collect();
            workloads.insert(
                w.name.clone(),
                WorkloadReport {
                    arrivals: stat(&|r| Some(r.workloads[i].arrivals)),
                    requests: stat(&|r| Some(r.workloads[i].outcomes.iter().sum())),
                    ok: out(Outcome::Ok),
                    degraded: out(Outcome::Degraded),
                    error: out(Outcome::Error),
                    timeout: out(Outcome::Timeout),
                    rejected: out(Outcome::Rejected),
                    short_circuited: out(Outcome::ShortCircuited),
                    availability: stat(&|r| {
                        let o = &r.workloads[i].outcomes;
                        let total: f64 = o.iter().sum();
                        (total > 0.0).then(|| (o[Outcome::Ok as usize] + o[Outcome::Degraded as usize]) / total)
                    }),
                    latency_s: Percentiles::of(&lat),
                },
            );
        }
        let mut edges = BTreeMap::new();
        for (i, e) in model.edges.iter().enumerate() {
            edges.insert(
                e.name.clone(),
                EdgeReport {
                    calls: stat(&|r| Some(r.edges[i].calls)),
                    attempts: stat(&|r| Some(r.edges[i].attempts)),
                    retries: stat(&|r| Some(r.edges[i].attempts - r.edges[i].calls)),
                    outcomes: Outcome::ALL
                        .iter()
                        .map(|&o| (o.key(), stat(&|r| Some(r.edges[i].outcomes[o as usize]))))
                        .collect(),
                    breaker: None,
                },
            );
        }
        Report {
            schema: SCHEMA,
            scenario: model.name.clone(),
            seed: model.seed,
            replications: reps.len() as u32,
            duration_s: model.duration.as_secs_f64(),
            warmup_s: model.warmup.as_secs_f64(),
            engine: EngineReport { events: stat(&|r| Some(r.events)) },
            services,
            workloads,
            edges,
            slos: Vec::new(),
            faults: Vec::new(),
            blast_radius: Vec::new(),
        }
    }

    /// The report as pretty-printed JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
