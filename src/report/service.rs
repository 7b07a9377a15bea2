//! A service's report: its station counters, pools, degradation and timelines, each a
//! statistic over replications.

use std::collections::BTreeMap;

use serde::Serialize;

use super::aggregate::{TimelineReport, stat, window_totals};
use super::percentiles::Percentiles;
use super::statistic::Statistic;
use super::summary::{ReplicationSummary, ServiceSummary};
use crate::metrics::DegradationSnapshot;
use crate::model::Model;

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
    /// Rejected / arrivals: the ratio of the counts pooled over replications, with
    /// Wilson's interval widened for bursts ([`Statistic::proportion`]).
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
    /// The service's cache; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<super::CacheReport>,
    /// A message queue's record (`kind: queue` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<super::mqueue::QueueReport>,
    /// The instance count of an autoscaled service; absent without `autoscale`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<super::AutoscalingReport>,
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
            latency_s: Percentiles::empty(),
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
            cache: None,
            queue: None,
            autoscaling: None,
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

impl ServiceReport {
    /// Service `i` of `model` over the replications `reps`.
    pub(super) fn of(model: &Model, reps: &[ReplicationSummary], i: usize) -> Self {
        let s = &model.services[i];
        let stat = |f: &dyn Fn(&ServiceSummary) -> Option<f64>| stat(reps, |r| f(&r.services[i]));
        let count = |f: &dyn Fn(&ServiceSummary) -> f64| Statistic::of_counts(reps.iter().map(|r| f(&r.services[i])));
        let rate = |f: &dyn Fn(&ServiceSummary) -> f64| stat(&|x| Some(f(x)));
        let lat: Vec<_> = reps.iter().map(|r| &r.services[i].latency_hist).collect();
        ServiceReport {
            instances: s.instances,
            servers: s.servers,
            capacity: s.capacity,
            routes_to: s.routes.iter().map(|r| model.services[r.to].name.clone()).collect(),
            arrivals: count(&|x| x.arrivals),
            completed: count(&|x| x.completed),
            rejected: count(&|x| x.rejected),
            dropped: count(&|x| x.dropped),
            wasted: count(&|x| x.wasted),
            lost: count(&|x| x.lost),
            instance_arrivals: (0..s.instances as usize)
                .map(|k| {
                    Statistic::of_counts(reps.iter().filter_map(|r| r.services[i].instance_arrivals.get(k).copied()))
                })
                .collect(),
            throughput_per_s: rate(&|x| x.throughput),
            departures_per_s: rate(&|x| x.departures),
            blocking_probability: Statistic::proportion(
                reps.iter().map(|r| (r.services[i].rejected, r.services[i].arrivals)),
            ),
            utilization: Statistic::of_fraction(reps.iter().map(|r| Some(r.services[i].utilization))),
            mean_in_system: rate(&|x| x.mean_in_system),
            mean_queue_length: rate(&|x| x.mean_queue_length),
            mean_sojourn_s: stat(&|x| x.mean_sojourn),
            mean_wait_s: stat(&|x| x.mean_wait),
            latency_s: Percentiles::of(&lat),
            rate_limited: count(&|x| x.rate_limited),
            shed: count(&|x| x.shed),
            concurrency_limited: count(&|x| x.concurrency_limited),
            borrowed: count(&|x| x.borrowed),
            refused_down: count(&|x| x.refused_down),
            no_pool: count(&|x| x.no_pool),
            concurrency_limit: s.concurrency.map(|_| stat(&|x| x.concurrency_limit)),
            pools: (0..s.pools.len()).map(|p| (s.pools[p].name.clone(), PoolReport::of(model, reps, i, p))).collect(),
            degradation: DegradationReport::of(reps, i),
            timeline: Some({
                let outcomes: Vec<_> = reps.iter().map(|r| r.services[i].windows.outcomes()).collect();
                let latency: Vec<_> = reps.iter().map(|r| r.services[i].windows.latency()).collect();
                TimelineReport::of(
                    model.window.as_secs_f64(),
                    &outcomes.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                    &latency.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                )
            }),
            gauges: Some(GaugeTimelineReport::of(reps, i)),
            cache: super::CacheReport::of(reps, i),
            queue: super::mqueue::QueueReport::of(reps, i),
            autoscaling: super::AutoscalingReport::of(reps, i),
        }
    }
}

impl PoolReport {
    /// Pool `p` of service `i` of `model` over the replications `reps`.
    fn of(model: &Model, reps: &[ReplicationSummary], i: usize, p: usize) -> Self {
        let pool = &model.services[i].pools[p];
        let k = |k: usize| reps.iter().map(move |r| r.services[i].pools[p][k]);
        PoolReport {
            servers: pool.servers,
            capacity: pool.capacity,
            arrivals: Statistic::of_counts(k(0)),
            rejected: Statistic::of_counts(k(1)),
            completed: Statistic::of_counts(k(2)),
            utilization: Statistic::of_fraction(k(3).map(Some)),
            mean_in_system: Statistic::of(k(4).map(Some)),
        }
    }
}

impl DegradationReport {
    /// Service `i`'s degradation over the replications `reps`; `None` when it has no
    /// levels (replication 0 names them).
    fn of(reps: &[ReplicationSummary], i: usize) -> Option<Self> {
        let d0 = reps.first()?.services[i].degradation.as_ref()?;
        let d = |f: &dyn Fn(&DegradationSnapshot) -> f64| stat(reps, |r| r.services[i].degradation.as_ref().map(f));
        Some(DegradationReport {
            time_in_level_s: d0
                .levels
                .iter()
                .enumerate()
                .map(|(k, name)| (name.clone(), d(&|x| x.time_in_level[k].as_secs_f64())))
                .collect(),
            mean_value: d(&|x| x.mean_value),
            transitions: Statistic::of_counts(
                reps.iter().filter_map(|r| r.services[i].degradation.as_ref().map(|x| x.transitions as f64)),
            ),
        })
    }
}

impl GaugeTimelineReport {
    /// Service `i`'s gauges window by window over the replications `reps`.
    fn of(reps: &[ReplicationSummary], i: usize) -> Self {
        let n = reps.first().map_or(0, |r| r.services[i].windows.gauges.len());
        let g = |k: usize| window_totals(reps.len(), n, &|r, w| reps[r].services[i].windows.gauges[w][k]);
        GaugeTimelineReport { mean_in_system: g(0), mean_queue_length: g(1), utilization: g(2) }
    }
}
