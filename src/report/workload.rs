//! A workload's report: what its users saw, outcome by outcome, over replications.

use serde::Serialize;

use super::aggregate::{TimelineReport, stat};
use super::percentiles::Percentiles;
use super::statistic::Statistic;
use super::summary::{ReplicationSummary, WorkloadSummary};
use crate::metrics::Outcome;
use crate::model::Model;

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
    /// (ok + degraded) / requests: the ratio of the counts pooled over replications, with
    /// Wilson's interval widened for bursts ([`Statistic::proportion`]).
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

impl WorkloadReport {
    /// Workload `i` of `model` over the replications `reps`.
    pub(super) fn of(model: &Model, reps: &[ReplicationSummary], i: usize) -> Self {
        let w = &model.workloads[i];
        let stat = |f: &dyn Fn(&WorkloadSummary) -> Option<f64>| stat(reps, |r| f(&r.workloads[i]));
        let count = |f: &dyn Fn(&WorkloadSummary) -> f64| Statistic::of_counts(reps.iter().map(|r| f(&r.workloads[i])));
        let out = |o: Outcome| count(&|x| x.outcomes[o as usize]);
        let lat: Vec<_> = reps.iter().map(|r| &r.workloads[i].latency_hist).collect();
        WorkloadReport {
            target: model.services[w.target].name.clone(),
            arrivals: count(&|x| x.arrivals),
            requests: count(&|x| x.outcomes.iter().sum()),
            ok: out(Outcome::Ok),
            degraded: out(Outcome::Degraded),
            error: out(Outcome::Error),
            timeout: out(Outcome::Timeout),
            rejected: out(Outcome::Rejected),
            short_circuited: out(Outcome::ShortCircuited),
            availability: Statistic::proportion(reps.iter().map(|r| {
                let o = &r.workloads[i].outcomes;
                (o[Outcome::Ok as usize] + o[Outcome::Degraded as usize], o.iter().sum())
            })),
            value_per_request: stat(&|x| {
                let total: f64 = x.outcomes.iter().sum();
                (total > 0.0).then(|| x.value / total)
            }),
            goodput_value_per_s: stat(&|x| Some(x.value / model.duration.as_secs_f64())),
            timeline: {
                let outcomes: Vec<_> = reps.iter().map(|r| r.workloads[i].outcome_windows()).collect();
                let latency: Vec<_> = reps.iter().map(|r| r.workloads[i].latency_windows()).collect();
                TimelineReport::of(
                    model.window.as_secs_f64(),
                    &outcomes.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                    &latency.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                )
            },
            latency_s: Percentiles::of(&lat)
                .with_mean(Statistic::of(reps.iter().map(|r| r.workloads[i].latency_mean_s))),
        }
    }
}
