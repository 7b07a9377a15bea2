//! Per-replication summaries: the scalars a report needs, extracted from one
//! replication's counters, integrals and histograms so the histograms can be dropped
//! as soon as the replication ends.

use crate::engine::SimTime;
use crate::metrics::buckets::Sparse;
use crate::metrics::{Areas, Outcome, OutcomeCounts, ReplicationResult, SlotCounts, Timeline};
use crate::model::{Model, Slo, SloKind, SloTarget};

/// The quantiles reported for every latency, with their report keys.
pub const QUANTILES: [(&str, f64); 5] = [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)];

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// One service in one replication.
#[derive(Clone, Debug)]
pub struct ServiceSummary {
    /// Arrivals.
    pub arrivals: f64,
    /// Completions.
    pub completed: f64,
    /// Rejections.
    pub rejected: f64,
    /// Requests dropped unserved (deadline passed in the queue).
    pub dropped: f64,
    /// Completions nobody waited for any more.
    pub wasted: f64,
    /// Requests lost in crashes.
    pub lost: f64,
    /// Arrivals per instance.
    pub instance_arrivals: Vec<f64>,
    /// Completions per second.
    pub throughput: f64,
    /// Completions and drops per second (the rate in Little's law with `mean_sojourn`).
    pub departures: f64,
    /// Rejected / arrivals.
    pub blocking: Option<f64>,
    /// Time-average busy workers / workers.
    pub utilization: f64,
    /// Time-average requests inside (L).
    pub mean_in_system: f64,
    /// Time-average requests waiting (Lq).
    pub mean_queue_length: f64,
    /// Mean sojourn of completed requests (W), seconds.
    pub mean_sojourn: Option<f64>,
    /// Mean wait of completed requests (Wq), seconds.
    pub mean_wait: Option<f64>,
    /// The sojourn histogram itself (non-empty slots), pooled over replications for the
    /// report's percentiles.
    pub latency_hist: SlotCounts,
    /// Refused by the token bucket.
    pub rate_limited: f64,
    /// Refused or dropped by shedding.
    pub shed: f64,
    /// Refused by the concurrency limit.
    pub concurrency_limited: f64,
    /// Served by a borrowed worker of another pool.
    pub borrowed: f64,
    /// Refused by a crashed instance.
    pub refused_down: f64,
    /// Refused because no pool takes the class.
    pub no_pool: f64,
    /// Per pool: arrivals, rejected, completed, utilisation, L.
    pub pools: Vec<[f64; 5]>,
    /// Degradation record.
    pub degradation: Option<crate::metrics::DegradationSnapshot>,
    /// Mean concurrency limit at the end.
    pub concurrency_limit: Option<f64>,
    /// Visit outcomes, sojourn histograms and gauges, window by window.
    pub windows: ServiceWindows,
    /// The service's cache, if it has one.
    pub cache: Option<super::CacheSummary>,
    /// Its message queue's record (None unless `kind: queue`).
    pub queue: Option<super::mqueue::QueueSummary>,
    /// The instance count of an autoscaled service.
    pub autoscaling: Option<super::autoscale::AutoscaleSummary>,
}

/// A service's time series in one replication.
#[derive(Clone, Debug, Default)]
pub struct ServiceWindows {
    /// Visit outcomes and the sojourn times of successful visits (coarse buckets), per
    /// window: the run's compact timeline, read densely one series at a time (a large
    /// model's summaries would otherwise hold every window of every service as floats).
    pub counts: Timeline,
    /// Per window: time-average L, Lq and utilisation.
    pub gauges: Vec<[f64; 3]>,
}

impl ServiceWindows {
    /// Visit outcomes per window.
    pub fn outcomes(&self) -> Vec<[f64; 6]> {
        outcome_windows(&self.counts)
    }

    /// Sojourn times of successful visits per window (coarse buckets).
    pub fn latency(&self) -> Vec<Sparse> {
        self.counts.latency_windows()
    }

    /// Visit outcomes over every window.
    pub fn outcome_totals(&self) -> [f64; 6] {
        self.counts.outcome_totals().0.map(|x| x as f64)
    }
}

/// One workload in one replication.
#[derive(Clone, Debug)]
pub struct WorkloadSummary {
    /// Requests sent.
    pub arrivals: f64,
    /// Requests finished, by outcome.
    pub outcomes: [f64; 6],
    /// Sum of the value of served requests.
    pub value: f64,
    /// Outcome counts and end-to-end latencies of successful requests (coarse buckets)
    /// per window, compact (see [`ServiceWindows::counts`]).
    pub windows: Timeline,
    /// The end-to-end latency histogram itself (non-empty slots), pooled over
    /// replications for the report's percentiles.
    pub latency_hist: SlotCounts,
    /// Mean end-to-end latency of successful requests, seconds (`None`: none succeeded).
    pub latency_mean_s: Option<f64>,
}

/// One edge in one replication.
#[derive(Clone, Debug)]
pub struct EdgeSummary {
    /// Calls.
    pub calls: f64,
    /// Attempts.
    pub attempts: f64,
    /// Retries.
    pub retries: f64,
    /// Hedged requests.
    pub hedges: f64,
    /// Finished calls by outcome.
    pub outcomes: [f64; 6],
    /// Finished attempts by outcome.
    pub attempt_outcomes: [f64; 6],
    /// Fallback answers.
    pub fallbacks: f64,
    /// Retries refused by the budget.
    pub budget_exhausted: f64,
    /// Attempts refused by the bulkhead.
    pub bulkhead_rejected: f64,
    /// Attempts refused by the rate limiter.
    pub rate_limited: f64,
    /// Calls ended by their overall timeout during a backoff.
    pub call_timeouts: f64,
    /// Overflows of Envoy's thresholds: pending requests, requests, retries.
    pub envoy_overflows: Option<[f64; 3]>,
    /// Requests abandoned in flight.
    pub abandoned: f64,
    /// The breaker's record.
    pub breaker: Option<crate::metrics::BreakerSnapshot>,
    /// Finished calls by outcome and retries, per window, compact (see
    /// [`ServiceWindows::counts`]).
    pub windows: Timeline,
}

impl WorkloadSummary {
    /// Outcome counts per window.
    pub fn outcome_windows(&self) -> Vec<[f64; 6]> {
        outcome_windows(&self.windows)
    }

    /// End-to-end latency of successful requests per window (coarse buckets).
    pub fn latency_windows(&self) -> Vec<Sparse> {
        self.windows.latency_windows()
    }
}

impl EdgeSummary {
    /// Finished calls by outcome, per window.
    pub fn outcome_windows(&self) -> Vec<[f64; 6]> {
        outcome_windows(&self.windows)
    }

    /// Retries per window.
    pub fn retry_windows(&self) -> Vec<f64> {
        self.windows.retry_windows().iter().map(|&x| x as f64).collect()
    }
}

/// Outcome counts per window as floats.
fn outcome_windows(t: &Timeline) -> Vec<[f64; 6]> {
    t.outcome_windows().iter().map(|c| c.0.map(|x| x as f64)).collect()
}

/// Per-window L, Lq and utilisation from cumulative gauge marks (`workers` workers in
/// all; window `i` spans `[i·window, min((i+1)·window, measured))`).
/// `workers` is the service's worker count, or per window (`window_workers`) the time
/// average of an autoscaled service's provisioned workers.
fn gauge_windows(marks: &[Areas], window: f64, measured: f64, workers: f64, window_workers: &[f64]) -> Vec<[f64; 3]> {
    let mut prev = Areas::default();
    marks
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let span = ((measured - i as f64 * window).min(window) * 1e9).max(1.0);
            let d = |x: u128, y: u128| x.saturating_sub(y) as f64 / span;
            let w = window_workers.get(i).copied().unwrap_or(workers);
            let busy = if w > 0.0 { d(a.busy, prev.busy) / w } else { 0.0 };
            let g = [d(a.in_system(), prev.in_system()), d(a.queue, prev.queue), busy];
            prev = *a;
            g
        })
        .collect()
}

/// One SLO in one replication: valid and bad requests, in all and per window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SloSummary {
    /// Valid requests (availability: finished; latency: served).
    pub valid: f64,
    /// Bad requests among them (availability: not a good outcome; latency: slower than
    /// the threshold).
    pub bad: f64,
    /// Valid requests per window.
    pub valid_windows: Vec<f64>,
    /// Bad requests per window.
    pub bad_windows: Vec<f64>,
}

impl SloSummary {
    /// The counts of `slo` from one replication's metrics.
    pub fn of(slo: &Slo, r: &ReplicationResult) -> Self {
        let (outcomes, timeline) = match slo.target {
            SloTarget::Workload(w) => (&r.workloads[w].outcomes, &r.workloads[w].timeline),
            SloTarget::Service(s) => (&r.services[s].outcomes, &r.services[s].timeline),
        };
        let served = |c: &OutcomeCounts| (c.get(Outcome::Ok) + c.get(Outcome::Degraded)) as f64;
        match slo.kind {
            SloKind::Availability { good } => {
                let bad = |c: &OutcomeCounts| {
                    Outcome::ALL.iter().filter(|&&o| !good[o as usize]).map(|&o| c.get(o)).sum::<u64>() as f64
                };
                let windows = timeline.outcome_windows();
                SloSummary {
                    valid: outcomes.total() as f64,
                    bad: bad(outcomes),
                    valid_windows: windows.iter().map(|c| c.total() as f64).collect(),
                    bad_windows: windows.iter().map(bad).collect(),
                }
            }
            SloKind::Latency { index, .. } => SloSummary {
                valid: served(outcomes),
                bad: timeline.slow_total.get(index).copied().unwrap_or(0) as f64,
                valid_windows: timeline.outcome_windows().iter().map(served).collect(),
                bad_windows: timeline.slow_series(index).map(|x| x as f64).collect(),
            },
        }
    }
}

impl ServiceSummary {
    /// The summary of service `i` in `r`, a replication of `model`.
    /// `taken` is the service's timeline and latency histogram, moved out of `r`.
    fn of(model: &Model, r: &ReplicationResult, i: usize, taken: (Timeline, SlotCounts)) -> Self {
        let (s, m) = (&model.services[i], &r.services[i]);
        let t = r.measured_secs;
        let nanos = t * 1e9;
        let completed = m.completed as f64;
        let departed = completed + m.dropped as f64 + m.lost as f64;
        let areas = m.areas();
        // An autoscaled service's utilisation is over the workers it had (the instance
        // count's time average), not over the `max` instances laid out: the share of what
        // it paid for, as its HPA reads it.
        let instances = m.autoscaling.as_ref().and_then(|a| a.mean(SimTime::from_secs_f64(t)));
        let workers = f64::from(s.servers) * instances.unwrap_or(f64::from(s.instances));
        let window_workers: Vec<f64> = m.autoscaling.as_ref().map_or_else(Vec::new, |a| {
            a.window_means(model.window.as_secs_f64(), t).iter().map(|n| n * f64::from(s.servers)).collect()
        });
        let (timeline, sojourn) = taken;
        ServiceSummary {
            arrivals: m.arrivals as f64,
            completed,
            rejected: m.rejected as f64,
            dropped: m.dropped as f64,
            wasted: m.wasted as f64,
            lost: m.lost as f64,
            instance_arrivals: m.instance_arrivals.iter().map(|&a| a as f64).collect(),
            throughput: completed / t,
            departures: departed / t,
            blocking: ratio(m.rejected as f64, m.arrivals as f64),
            utilization: areas.busy as f64 / nanos / workers,
            mean_in_system: areas.in_system() as f64 / nanos,
            mean_queue_length: areas.queue as f64 / nanos,
            mean_sojourn: ratio(m.sojourn_sum as f64 / 1e9, departed),
            mean_wait: ratio(m.wait_sum as f64 / 1e9, departed),
            latency_hist: sojourn,
            rate_limited: m.rate_limited as f64,
            shed: m.shed as f64,
            concurrency_limited: m.concurrency_limited as f64,
            borrowed: m.borrowed as f64,
            refused_down: m.refused_down as f64,
            no_pool: m.no_pool as f64,
            pools: s
                .pools
                .iter()
                .zip(&m.pools)
                .map(|(p, pm)| {
                    let workers = f64::from(p.servers) * instances.unwrap_or(f64::from(s.instances));
                    [
                        pm.arrivals as f64,
                        pm.rejected as f64,
                        pm.completed as f64,
                        pm.areas.busy as f64 / nanos / workers,
                        pm.areas.in_system() as f64 / nanos,
                    ]
                })
                .collect(),
            degradation: r.degradation[i].clone(),
            concurrency_limit: r.concurrency_limit[i],
            windows: ServiceWindows {
                counts: timeline,
                gauges: gauge_windows(&m.gauge_marks, model.window.as_secs_f64(), t, workers, &window_workers),
            },
            cache: m.cache.as_deref().map(|c| super::CacheSummary::of(c, t)),
            queue: r.queues[i].as_ref().map(|q| super::mqueue::QueueSummary::of(q, t, model.window.as_secs_f64())),
            autoscaling: m
                .autoscaling
                .as_ref()
                .map(|a| super::autoscale::AutoscaleSummary::of(a, t, model.window.as_secs_f64())),
        }
    }
}

/// Everything a report takes from one replication.
#[derive(Clone, Debug)]
pub struct ReplicationSummary {
    /// Why the replication stopped early, if it did.
    pub halt: Option<crate::metrics::Halt>,
    /// Permits leaked by the client-side policies (see [`ReplicationResult::unaccounted_permits`]).
    pub unaccounted_permits: u64,
    /// Per fault.
    pub faults: Vec<crate::metrics::FaultMetrics>,
    /// Event log (replication 0 only).
    pub log: Vec<(crate::engine::SimTime, crate::metrics::LogEntry)>,
    /// Events handled.
    pub events: f64,
    /// Per service.
    pub services: Vec<ServiceSummary>,
    /// Per workload.
    pub workloads: Vec<WorkloadSummary>,
    /// Per edge.
    pub edges: Vec<EdgeSummary>,
    /// Per SLO, in model order.
    pub slos: Vec<SloSummary>,
}

impl ReplicationSummary {
    /// Extracts the summary of `r`, a replication of `model`, moving its series and
    /// histograms (a large model's would otherwise be held twice at once).
    pub fn of(model: &Model, mut r: ReplicationResult) -> Self {
        let slos = model.slos.iter().map(|slo| SloSummary::of(slo, &r)).collect();
        let taken: Vec<_> =
            r.services.iter_mut().map(|m| (std::mem::take(&mut m.timeline), m.sojourn.take_slot_counts())).collect();
        let services = taken.into_iter().enumerate().map(|(i, t)| ServiceSummary::of(model, &r, i, t)).collect();
        let workloads = r
            .workloads
            .iter_mut()
            .map(|w| {
                let latency_mean_s =
                    (!w.latency.is_empty()).then(|| w.latency_sum as f64 / w.latency.len() as f64 / 1e9);
                WorkloadSummary {
                    arrivals: w.arrivals as f64,
                    outcomes: Outcome::ALL.map(|o| w.outcomes.get(o) as f64),
                    value: w.value,
                    windows: std::mem::take(&mut w.timeline),
                    latency_hist: w.latency.take_slot_counts(),
                    latency_mean_s,
                }
            })
            .collect();
        let edges = r
            .edges
            .iter_mut()
            .zip(&r.breakers)
            .map(|(e, b)| EdgeSummary {
                calls: e.calls as f64,
                attempts: e.attempts as f64,
                retries: e.retries as f64,
                hedges: e.hedges as f64,
                outcomes: Outcome::ALL.map(|o| e.outcomes.get(o) as f64),
                attempt_outcomes: Outcome::ALL.map(|o| e.attempt_outcomes.get(o) as f64),
                fallbacks: e.fallbacks as f64,
                budget_exhausted: e.budget_exhausted as f64,
                bulkhead_rejected: e.bulkhead_rejected as f64,
                rate_limited: e.rate_limited as f64,
                call_timeouts: e.call_timeouts as f64,
                envoy_overflows: e.envoy_overflows.map(|o| o.map(|x| x as f64)),
                abandoned: e.abandoned as f64,
                breaker: b.clone(),
                windows: std::mem::take(&mut e.timeline),
            })
            .collect();
        ReplicationSummary {
            halt: r.halt.clone(),
            unaccounted_permits: r.unaccounted_permits,
            events: r.events as f64,
            services,
            workloads,
            edges,
            faults: std::mem::take(&mut r.faults),
            log: std::mem::take(&mut r.log),
            slos,
        }
    }
}
