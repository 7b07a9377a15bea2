//! The report: statistics across replications for every service, workload and edge.
//!
//! [`Report`] is the single source of truth for results: `report.json` is its serde
//! serialisation, and the terminal summary (and later charts, HTML and comparisons)
//! render from it. Maps are `BTreeMap`s so keys come out sorted and the JSON is
//! byte-identical for the same scenario and seed.

mod blast;
mod chrome;
pub mod charts;
mod html;
pub mod slo;
mod slo_report;
mod statistic;
pub mod summary;
mod text;
mod timeseries;
mod write;

pub use blast::{BlastRadiusReport, Damage, blast_radius};
pub use html::render_html;
pub use slo_report::{AlertReport, AlertRuleReport, BurnRateSeries, SloReport, slo_reports};
pub use statistic::{Statistic, t975};
pub use summary::{QUANTILES, ReplicationSummary};
pub use text::{Section, fmt_secs, headline, render_summary, sections};
pub use timeseries::timeseries_csv;
pub use write::write_atomic;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::{self, Outcome};
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
    /// Services it hands requests on to asynchronously (`routes`).
    pub routes_to: Vec<String>,
    /// Requests that reached the service, per replication.
    pub arrivals: Statistic,
    /// Requests that left a worker, per replication.
    pub completed: Statistic,
    /// Requests refused at a full instance, per replication.
    pub rejected: Statistic,
    /// Requests dropped from the queue because their deadline had passed.
    pub dropped: Statistic,
    /// Completions whose caller had already given up (wasted work).
    pub wasted: Statistic,
    /// Requests lost inside a crashed instance (their callers got `error`).
    pub lost: Statistic,
    /// Arrivals per instance, in instance order (how the balancer spread the load).
    pub instance_arrivals: Vec<Statistic>,
    /// Completions per second.
    pub throughput_per_s: Statistic,
    /// Requests leaving the station per second, served, dropped or lost (Little's law:
    /// mean_in_system = departures_per_s × mean_sojourn_s).
    pub departures_per_s: Statistic,
    /// Rejected / arrivals.
    pub blocking_probability: Statistic,
    /// Time-average busy workers / workers.
    pub utilization: Statistic,
    /// Time-average requests inside (L).
    pub mean_in_system: Statistic,
    /// Time-average requests waiting (Lq).
    pub mean_queue_length: Statistic,
    /// Mean time in the station of requests that left it (W), seconds.
    pub mean_sojourn_s: Statistic,
    /// Mean wait of requests that left the station (Wq), seconds.
    pub mean_wait_s: Statistic,
    /// Sojourn percentiles, seconds.
    pub latency_s: Percentiles,
    /// Refused by the service's token bucket (part of `rejected`).
    pub rate_limited: Statistic,
    /// Refused or dropped by load shedding (part of `rejected`, or of `dropped` for CoDel).
    pub shed: Statistic,
    /// Refused by the adaptive concurrency limit (part of `rejected`).
    pub concurrency_limited: Statistic,
    /// Requests served by an idle worker borrowed from another pool.
    pub borrowed: Statistic,
    /// Requests refused by a crashed instance (outcome `error`, not part of `rejected`).
    pub refused_down: Statistic,
    /// Requests refused because no pool serves their class (part of `rejected`).
    pub no_pool: Statistic,
    /// Mean adaptive concurrency limit per instance at the end; null without one.
    pub concurrency_limit: Option<Statistic>,
    /// Per worker pool; a single `default` pool when none are declared.
    pub pools: BTreeMap<String, PoolReport>,
    /// Degradation levels: time in each, mean value; null without levels.
    pub degradation: Option<DegradationReport>,
    /// Visit outcomes and sojourn percentiles per window.
    pub timeline: Option<TimelineReport>,
    /// Queue, population and utilisation per window.
    pub gauges: Option<GaugeTimelineReport>,
}

/// One worker pool, over all instances.
#[derive(Clone, Debug, Serialize)]
pub struct PoolReport {
    /// Workers per instance.
    pub servers: u32,
    /// Capacity per instance; null when unbounded.
    pub capacity: Option<u32>,
    /// Requests offered.
    pub arrivals: Statistic,
    /// Refused because the pool was full.
    pub rejected: Statistic,
    /// Served.
    pub completed: Statistic,
    /// Busy workers / workers.
    pub utilization: Statistic,
    /// Time-average requests inside.
    pub mean_in_system: Statistic,
}

/// A service's degradation record.
#[derive(Clone, Debug, Serialize)]
pub struct DegradationReport {
    /// Seconds at each level, by level name.
    pub time_in_level_s: BTreeMap<String, Statistic>,
    /// Time-weighted mean value of the levels (1 = always full service).
    pub mean_value: Statistic,
    /// Level changes per replication.
    pub transitions: Statistic,
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
            routes_to: Vec::new(),
            arrivals: none,
            completed: none,
            rejected: none,
            dropped: none,
            wasted: none,
            lost: none,
            instance_arrivals: Vec::new(),
            throughput_per_s: none,
            departures_per_s: none,
            blocking_probability: none,
            utilization: none,
            mean_in_system: none,
            mean_queue_length: none,
            mean_sojourn_s: none,
            mean_wait_s: none,
            latency_s: p,
            rate_limited: none,
            shed: none,
            concurrency_limited: none,
            borrowed: none,
            refused_down: none,
            no_pool: none,
            concurrency_limit: None,
            pools: BTreeMap::new(),
            degradation: None,
            timeline: None,
            gauges: None,
        }
    }
}

/// One workload: what its users saw.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadReport {
    /// The service its requests enter.
    pub target: String,
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
    /// Mean value of a finished request: 1 per ok, the fallback or degradation value per
    /// degraded, 0 per failure.
    pub value_per_request: Statistic,
    /// Value-weighted goodput: value served per second.
    pub goodput_value_per_s: Statistic,
    /// Outcomes per window over time, averaged over replications.
    pub timeline: TimelineReport,
    /// End-to-end latency of successful requests, seconds.
    pub latency_s: Percentiles,
}

/// A workload's or service's outcomes and latency window by window (means over
/// replications; a percentile is the mean over the replications with answers in the
/// window, from coarse buckets at most 6.25% wide).
#[derive(Clone, Debug, Serialize)]
pub struct TimelineReport {
    /// Window length, seconds.
    pub window_s: f64,
    /// Finished requests per window.
    pub requests: Vec<f64>,
    /// Ok per window.
    pub ok: Vec<f64>,
    /// Degraded per window.
    pub degraded: Vec<f64>,
    /// Failed (error, timeout, rejected, short-circuited) per window.
    pub failed: Vec<f64>,
    /// Median latency of successful requests per window, seconds.
    pub p50_s: Vec<Option<f64>>,
    /// 90th percentile per window, seconds.
    pub p90_s: Vec<Option<f64>>,
    /// 99th percentile per window, seconds.
    pub p99_s: Vec<Option<f64>>,
}

/// Mean over replications, window by window, of `f(replication, window)`; `None` where
/// no replication has a value.
fn window_means(reps: usize, windows: usize, f: &dyn Fn(usize, usize) -> Option<f64>) -> Vec<Option<f64>> {
    (0..windows)
        .map(|i| {
            let (sum, n) = (0..reps).filter_map(|r| f(r, i)).fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            (n > 0).then(|| sum / n as f64)
        })
        .collect()
}

/// Like [`window_means`] for values every replication has.
fn window_totals(reps: usize, windows: usize, f: &dyn Fn(usize, usize) -> f64) -> Vec<f64> {
    window_means(reps, windows, &|r, i| Some(f(r, i))).into_iter().map(Option::unwrap_or_default).collect()
}

impl TimelineReport {
    fn of(window: f64, outcomes: &[&[[f64; 6]]], latency: &[&[metrics::buckets::Sparse]]) -> Self {
        let (reps, n) = (outcomes.len(), outcomes.first().map_or(0, |r| r.len()));
        let counts = |f: &dyn Fn(&[f64; 6]) -> f64| window_totals(reps, n, &|r, i| f(&outcomes[r][i]));
        let q = |q: f64| {
            window_means(reps, n, &|r, i| latency.get(r)?.get(i).and_then(|h| metrics::buckets::quantile_secs(h, q)))
        };
        TimelineReport {
            window_s: window,
            requests: counts(&|c| c.iter().sum()),
            ok: counts(&|c| c[Outcome::Ok as usize]),
            degraded: counts(&|c| c[Outcome::Degraded as usize]),
            failed: counts(&|c| c[2..].iter().sum()),
            p50_s: q(0.5),
            p90_s: q(0.9),
            p99_s: q(0.99),
        }
    }
}

/// A service's gauges window by window (means over replications).
#[derive(Clone, Debug, Serialize)]
pub struct GaugeTimelineReport {
    /// Time-average requests inside (L) per window.
    pub mean_in_system: Vec<f64>,
    /// Time-average requests waiting (Lq) per window.
    pub mean_queue_length: Vec<f64>,
    /// Busy workers / workers per window.
    pub utilization: Vec<f64>,
}

/// An edge's calls window by window (means over replications).
#[derive(Clone, Debug, Serialize)]
pub struct EdgeTimelineReport {
    /// Finished calls per window.
    pub calls: Vec<f64>,
    /// Calls that failed (after retries and fallbacks) per window.
    pub failed: Vec<f64>,
    /// Retries started per window.
    pub retries: Vec<f64>,
}

/// One call edge.
#[derive(Clone, Debug, Serialize)]
pub struct EdgeReport {
    /// Calls made.
    pub calls: Statistic,
    /// Attempts started (calls + retries; hedges counted apart).
    pub attempts: Statistic,
    /// Attempts beyond the first.
    pub retries: Statistic,
    /// Backup (hedged) requests sent.
    pub hedges: Statistic,
    /// Finished calls by final outcome (after retries and fallbacks).
    pub outcomes: BTreeMap<&'static str, Statistic>,
    /// Finished attempts by outcome.
    pub attempt_outcomes: BTreeMap<&'static str, Statistic>,
    /// Calls answered by the fallback.
    pub fallbacks: Statistic,
    /// Retries refused by the retry budget.
    pub budget_exhausted: Statistic,
    /// Attempts refused by the bulkhead.
    pub bulkhead_rejected: Statistic,
    /// Attempts refused by the client-side rate limiter.
    pub rate_limited: Statistic,
    /// Requests abandoned in flight (timed out, or losing hedges): the callee's work is wasted.
    pub abandoned: Statistic,
    /// Breaker record; null when the edge has no breaker.
    pub breaker: Option<BreakerReport>,
    /// Calls, failures and retries per window.
    pub timeline: EdgeTimelineReport,
}

/// A circuit breaker's record.
#[derive(Clone, Debug, Serialize)]
pub struct BreakerReport {
    /// Calls let through.
    pub calls_permitted: Statistic,
    /// Calls refused while open (or half-open and full).
    pub short_circuited: Statistic,
    /// Results recorded as failures.
    pub failures: Statistic,
    /// Results slower than the slow-call threshold.
    pub slow_calls: Statistic,
    /// Transitions into open.
    pub openings: Statistic,
    /// Seconds in each state.
    pub time_in_state_s: BTreeMap<&'static str, Statistic>,
    /// Transitions of replication 0: `[time_s, from, to]`, times from the start of the run.
    pub transitions: Vec<(f64, &'static str, &'static str)>,
}

/// The non-fault entries of an event log as JSON objects: recovery events and
/// degradation level changes.
fn recovery_events(
    model: &Model,
    log: &[(crate::engine::SimTime, crate::metrics::LogEntry)],
) -> Vec<serde_json::Value> {
    use crate::metrics::LogEntry;
    use serde_json::json;
    let w = model.warmup.as_secs_f64();
    let svc = |s: u32| model.services[s as usize].name.as_str();
    log.iter()
        .filter_map(|&(t, e)| {
            let t = t.as_secs_f64() - w;
            Some(match e {
                LogEntry::Fault(..) => return None,
                LogEntry::Health(s, i, ok) => {
                    json!({ "t": t, "type": if ok { "healthy" } else { "unhealthy" }, "service": svc(s), "instance": i })
                }
                LogEntry::Ejected(s, i, until) => {
                    json!({ "t": t, "type": "ejected", "service": svc(s), "instance": i, "until": until.as_secs_f64() - w })
                }
                LogEntry::Heartbeat(s, i, ok) => json!({
                    "t": t, "type": if ok { "recovered" } else { "failed" }, "service": svc(s), "instance": i
                }),
                LogEntry::Failover(s, from, to) => {
                    json!({ "t": t, "type": "failover", "service": svc(s), "from": from, "to": to })
                }
                LogEntry::Degradation(s, from, to) => {
                    let level = |i: u32| {
                        model.services[s as usize]
                            .degradation
                            .as_ref()
                            .and_then(|(c, _)| c.levels.get(i as usize))
                            .map_or("", |l| l.name.as_str())
                    };
                    json!({ "t": t, "type": "degradation", "service": svc(s), "from": level(from), "to": level(to) })
                }
            })
        })
        .collect()
}

/// One fault of the chaos schedule.
#[derive(Clone, Debug, Serialize)]
pub struct FaultReport {
    /// Name.
    pub name: String,
    /// Kind (`latency`, `crash`, ...).
    pub kind: &'static str,
    /// Target as written.
    pub target: String,
    /// Scheduled start and end, seconds from the end of the warm-up (null for random onsets).
    pub window_s: Option<[f64; 2]>,
    /// Times it became active in the measured window.
    pub activations: Statistic,
    /// Seconds active in the measured window.
    pub active_s: Statistic,
    /// Share of the measured window it was active.
    pub active_fraction: Statistic,
    /// Requests it affected (failed, lost or slowed).
    pub injected: Statistic,
    /// Replication 0's starts and ends: `[time_s, "start" | "end"]`, seconds from the end of the warm-up.
    pub events: Vec<(f64, &'static str)>,
}

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
                    routes_to: s.routes.iter().map(|r| model.services[r.to].name.clone()).collect(),
                    arrivals: stat(&|r| Some(r.services[i].arrivals)),
                    completed: stat(&|r| Some(r.services[i].completed)),
                    rejected: stat(&|r| Some(r.services[i].rejected)),
                    dropped: stat(&|r| Some(r.services[i].dropped)),
                    wasted: stat(&|r| Some(r.services[i].wasted)),
                    lost: stat(&|r| Some(r.services[i].lost)),
                    instance_arrivals: (0..s.instances as usize)
                        .map(|k| stat(&|r| r.services[i].instance_arrivals.get(k).copied()))
                        .collect(),
                    throughput_per_s: stat(&|r| Some(r.services[i].throughput)),
                    departures_per_s: stat(&|r| Some(r.services[i].departures)),
                    blocking_probability: stat(&|r| r.services[i].blocking),
                    utilization: stat(&|r| Some(r.services[i].utilization)),
                    mean_in_system: stat(&|r| Some(r.services[i].mean_in_system)),
                    mean_queue_length: stat(&|r| Some(r.services[i].mean_queue_length)),
                    mean_sojourn_s: stat(&|r| r.services[i].mean_sojourn),
                    mean_wait_s: stat(&|r| r.services[i].mean_wait),
                    latency_s: Percentiles::of(&lat),
                    rate_limited: stat(&|r| Some(r.services[i].rate_limited)),
                    shed: stat(&|r| Some(r.services[i].shed)),
                    concurrency_limited: stat(&|r| Some(r.services[i].concurrency_limited)),
                    borrowed: stat(&|r| Some(r.services[i].borrowed)),
                    refused_down: stat(&|r| Some(r.services[i].refused_down)),
                    no_pool: stat(&|r| Some(r.services[i].no_pool)),
                    concurrency_limit: s.concurrency.map(|_| stat(&|r| r.services[i].concurrency_limit)),
                    pools: s
                        .pools
                        .iter()
                        .enumerate()
                        .map(|(p, pool)| {
                            let f = |k: usize| stat(&|r| Some(r.services[i].pools[p][k]));
                            (
                                pool.name.clone(),
                                PoolReport {
                                    servers: pool.servers,
                                    capacity: pool.capacity,
                                    arrivals: f(0),
                                    rejected: f(1),
                                    completed: f(2),
                                    utilization: f(3),
                                    mean_in_system: f(4),
                                },
                            )
                        })
                        .collect(),
                    degradation: reps.first().and_then(|r0| r0.services[i].degradation.as_ref()).map(|d0| {
                        let d = |f: &dyn Fn(&crate::metrics::DegradationSnapshot) -> f64| {
                            stat(&|r| r.services[i].degradation.as_ref().map(f))
                        };
                        DegradationReport {
                            time_in_level_s: d0
                                .levels
                                .iter()
                                .enumerate()
                                .map(|(k, name)| (name.clone(), d(&|x| x.time_in_level[k].as_secs_f64())))
                                .collect(),
                            mean_value: d(&|x| x.mean_value),
                            transitions: d(&|x| x.transitions as f64),
                        }
                    }),
                    timeline: Some(TimelineReport::of(
                        model.window.as_secs_f64(),
                        &reps.iter().map(|r| r.services[i].windows.outcomes.as_slice()).collect::<Vec<_>>(),
                        &reps.iter().map(|r| r.services[i].windows.latency.as_slice()).collect::<Vec<_>>(),
                    )),
                    gauges: Some({
                        let n = reps.first().map_or(0, |r| r.services[i].windows.gauges.len());
                        let g =
                            |k: usize| window_totals(reps.len(), n, &|r, w| reps[r].services[i].windows.gauges[w][k]);
                        GaugeTimelineReport { mean_in_system: g(0), mean_queue_length: g(1), utilization: g(2) }
                    }),
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
                    target: model.services[w.target].name.clone(),
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
                    value_per_request: stat(&|r| {
                        let total: f64 = r.workloads[i].outcomes.iter().sum();
                        (total > 0.0).then(|| r.workloads[i].value / total)
                    }),
                    goodput_value_per_s: stat(&|r| Some(r.workloads[i].value / model.duration.as_secs_f64())),
                    timeline: TimelineReport::of(
                        model.window.as_secs_f64(),
                        &reps.iter().map(|r| r.workloads[i].timeline.as_slice()).collect::<Vec<_>>(),
                        &reps.iter().map(|r| r.workloads[i].latency_windows.as_slice()).collect::<Vec<_>>(),
                    ),
                    latency_s: Percentiles::of(&lat),
                },
            );
        }
        let mut edges = BTreeMap::new();
        for (i, e) in model.edges.iter().enumerate() {
            let by_outcome = |f: &dyn Fn(&ReplicationSummary) -> &[f64; 6]| -> BTreeMap<&'static str, Statistic> {
                Outcome::ALL.iter().map(|&o| (o.key(), stat(&|r| Some(f(r)[o as usize])))).collect()
            };
            let breaker = reps.first().and_then(|r0| r0.edges[i].breaker.as_ref()).map(|b0| {
                let b =
                    |f: &dyn Fn(&crate::metrics::BreakerSnapshot) -> f64| stat(&|r| r.edges[i].breaker.as_ref().map(f));
                BreakerReport {
                    calls_permitted: b(&|x| x.calls_permitted as f64),
                    short_circuited: b(&|x| x.short_circuited as f64),
                    failures: b(&|x| x.failures as f64),
                    slow_calls: b(&|x| x.slow_calls as f64),
                    openings: b(&|x| x.openings as f64),
                    time_in_state_s: ["closed", "open", "half_open"]
                        .iter()
                        .enumerate()
                        .map(|(k, name)| (*name, b(&|x| x.time_in_state[k].as_secs_f64())))
                        .collect(),
                    transitions: b0.transitions.iter().map(|&(t, from, to)| (t.as_secs_f64(), from, to)).collect(),
                }
            });
            edges.insert(
                e.name.clone(),
                EdgeReport {
                    calls: stat(&|r| Some(r.edges[i].calls)),
                    attempts: stat(&|r| Some(r.edges[i].attempts)),
                    retries: stat(&|r| Some(r.edges[i].retries)),
                    hedges: stat(&|r| Some(r.edges[i].hedges)),
                    outcomes: by_outcome(&|r| &r.edges[i].outcomes),
                    attempt_outcomes: by_outcome(&|r| &r.edges[i].attempt_outcomes),
                    fallbacks: stat(&|r| Some(r.edges[i].fallbacks)),
                    budget_exhausted: stat(&|r| Some(r.edges[i].budget_exhausted)),
                    bulkhead_rejected: stat(&|r| Some(r.edges[i].bulkhead_rejected)),
                    rate_limited: stat(&|r| Some(r.edges[i].rate_limited)),
                    abandoned: stat(&|r| Some(r.edges[i].abandoned)),
                    breaker,
                    timeline: {
                        let n = reps.first().map_or(0, |r| r.edges[i].timeline.len());
                        let w = |f: &dyn Fn(&ReplicationSummary, usize) -> f64| {
                            window_totals(reps.len(), n, &|r, k| f(&reps[r], k))
                        };
                        EdgeTimelineReport {
                            calls: w(&|r, k| r.edges[i].timeline[k].iter().sum()),
                            failed: w(&|r, k| r.edges[i].timeline[k][2..].iter().sum()),
                            retries: w(&|r, k| r.edges[i].retries_windows[k]),
                        }
                    },
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
            engine: EngineReport {
                events: stat(&|r| Some(r.events)),
                halted: reps.iter().find_map(|r| r.halt).map(|h| h.message(model.warmup)),
            },
            services,
            workloads,
            edges,
            slos: slo_reports(model, reps),
            faults: model
                .faults
                .iter()
                .enumerate()
                .map(|(f, fault)| {
                    let fs = |g: &dyn Fn(&crate::metrics::FaultMetrics) -> f64| stat(&|r| Some(g(&r.faults[f])));
                    let w = model.warmup.as_secs_f64();
                    FaultReport {
                        name: fault.name.clone(),
                        kind: fault.kind,
                        target: fault.target_text.clone(),
                        window_s: match fault.schedule {
                            crate::model::fault::Schedule::Window { start, end } => {
                                Some([start.as_secs_f64() - w, end.as_secs_f64() - w])
                            }
                            crate::model::fault::Schedule::Random { .. } => None,
                        },
                        activations: fs(&|m| m.activations as f64),
                        active_s: fs(&|m| m.active.as_secs_f64()),
                        active_fraction: fs(&|m| m.active.as_secs_f64() / model.duration.as_secs_f64()),
                        injected: fs(&|m| m.injected as f64),
                        events: reps
                            .first()
                            .map(|r0| {
                                r0.log
                                    .iter()
                                    .filter_map(|&(t, e)| match e {
                                        crate::metrics::LogEntry::Fault(g, on) if g as usize == f => {
                                            Some((t.as_secs_f64() - w, if on { "start" } else { "end" }))
                                        }
                                        _ => None,
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect(),
            blast_radius: Vec::new(),
            events: reps.first().map(|r0| recovery_events(model, &r0.log)).unwrap_or_default(),
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
            for &(t, from, to) in e.breaker.iter().flat_map(|b| &b.transitions) {
                let t = t - self.warmup_s;
                if t >= 0.0 {
                    events.push((
                        t,
                        serde_json::json!({ "t": t, "type": "breaker", "edge": name, "from": from, "to": to }),
                    ));
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
