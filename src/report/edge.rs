//! A call edge's report: calls, attempts and what each policy did, and its breaker.

use std::collections::BTreeMap;

use serde::Serialize;

use super::aggregate::{stat, window_totals};
use super::statistic::Statistic;
use super::summary::{EdgeSummary, ReplicationSummary};
use crate::engine::SimTime;
use crate::metrics::{BreakerSnapshot, Outcome};
use crate::policy::breaker::BreakerState;

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
    /// Calls whose overall timeout passed during a backoff (they end `timeout`).
    pub call_timeouts: Statistic,
    /// Requests abandoned in flight (timed out, or losing hedges): the callee's work is wasted.
    pub abandoned: Statistic,
    /// Breaker record; null when the edge has no breaker.
    pub breaker: Option<BreakerReport>,
    /// Refusals by Envoy's circuit-breaker thresholds, summed over the caller's
    /// instances; absent without `circuit_breakers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_breaker_overflows: Option<OverflowReport>,
    /// Calls, failures and retries per window.
    pub timeline: EdgeTimelineReport,
}

/// What Envoy's thresholds refused (its `upstream_rq_pending_overflow` and
/// `upstream_rq_retry_overflow` counters).
#[derive(Clone, Debug, Serialize)]
pub struct OverflowReport {
    /// Attempts refused at `max_pending_requests`.
    pub pending_requests: Statistic,
    /// Requests refused at `max_requests` (attempts failed `rejected`, hedges not sent).
    pub requests: Statistic,
    /// Retries refused at `max_retries`.
    pub retries: Statistic,
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
    /// Seconds in each state: closed, open and half-open always, the states entered only by
    /// hand or as the initial state (disabled, forced_open, metrics_only) when visited.
    pub time_in_state_s: BTreeMap<&'static str, Statistic>,
    /// Transitions of replication 0: `[time_s, from, to, instance]`, times from the start
    /// of the run; `instance` is the caller instance whose breaker moved, null for a
    /// breaker the caller's fleet shares (`scope: service`).
    pub transitions: Vec<(f64, &'static str, &'static str, Option<u32>)>,
    /// Breakers behind these numbers: one per caller instance (`scope: instance`, the
    /// default), or one for the fleet. Counts are their sums, times in state their means.
    pub breakers: u32,
}

impl EdgeReport {
    /// Edge `i` over the replications `reps`.
    pub(super) fn of(reps: &[ReplicationSummary], i: usize) -> Self {
        let count = |f: &dyn Fn(&EdgeSummary) -> f64| Statistic::of_counts(reps.iter().map(|r| f(&r.edges[i])));
        let by_outcome = |f: &dyn Fn(&EdgeSummary) -> &[f64; 6]| -> BTreeMap<&'static str, Statistic> {
            Outcome::ALL.iter().map(|&o| (o.key(), count(&|x| f(x)[o as usize]))).collect()
        };
        EdgeReport {
            calls: count(&|x| x.calls),
            attempts: count(&|x| x.attempts),
            retries: count(&|x| x.retries),
            hedges: count(&|x| x.hedges),
            outcomes: by_outcome(&|x| &x.outcomes),
            attempt_outcomes: by_outcome(&|x| &x.attempt_outcomes),
            fallbacks: count(&|x| x.fallbacks),
            budget_exhausted: count(&|x| x.budget_exhausted),
            bulkhead_rejected: count(&|x| x.bulkhead_rejected),
            rate_limited: count(&|x| x.rate_limited),
            call_timeouts: count(&|x| x.call_timeouts),
            abandoned: count(&|x| x.abandoned),
            breaker: BreakerReport::of(reps, i),
            circuit_breaker_overflows: reps.first().and_then(|r| r.edges[i].envoy_overflows).map(|_| {
                let o = |k: usize| {
                    Statistic::of_counts(reps.iter().filter_map(|r| r.edges[i].envoy_overflows.map(|x| x[k])))
                };
                OverflowReport { pending_requests: o(0), requests: o(1), retries: o(2) }
            }),
            timeline: EdgeTimelineReport::of(reps, i),
        }
    }
}

impl BreakerReport {
    /// Edge `i`'s breaker over the replications `reps`; `None` when it has none.
    fn of(reps: &[ReplicationSummary], i: usize) -> Option<Self> {
        let b0 = reps.first()?.edges[i].breaker.as_ref()?;
        let b = |f: &dyn Fn(&BreakerSnapshot) -> f64| stat(reps, |r| r.edges[i].breaker.as_ref().map(f));
        let count = |f: &dyn Fn(&BreakerSnapshot) -> u64| {
            Statistic::of_counts(reps.iter().filter_map(|r| r.edges[i].breaker.as_ref().map(|x| f(x) as f64)))
        };
        Some(BreakerReport {
            calls_permitted: count(&|x| x.calls_permitted),
            short_circuited: count(&|x| x.short_circuited),
            failures: count(&|x| x.failures),
            slow_calls: count(&|x| x.slow_calls),
            openings: count(&|x| x.openings),
            time_in_state_s: BreakerState::ALL
                .iter()
                .filter(|s| {
                    s.index() < 3
                        || reps.iter().any(|r| {
                            r.edges[i].breaker.as_ref().is_some_and(|x| x.time_in_state[s.index()] > SimTime::ZERO)
                        })
                })
                .map(|s| (s.as_str(), b(&|x| x.time_in_state[s.index()].as_secs_f64())))
                .collect(),
            transitions: b0.transitions.iter().map(|&(t, from, to, i)| (t.as_secs_f64(), from, to, i)).collect(),
            breakers: b0.breakers,
        })
    }
}

impl EdgeTimelineReport {
    /// Edge `i`'s calls window by window over the replications `reps`.
    fn of(reps: &[ReplicationSummary], i: usize) -> Self {
        let outcomes: Vec<_> = reps.iter().map(|r| r.edges[i].outcome_windows()).collect();
        let retries: Vec<_> = reps.iter().map(|r| r.edges[i].retry_windows()).collect();
        let n = outcomes.first().map_or(0, Vec::len);
        let w = |f: &dyn Fn(usize, usize) -> f64| window_totals(reps.len(), n, f);
        EdgeTimelineReport {
            calls: w(&|r, k| outcomes[r][k].iter().sum()),
            failed: w(&|r, k| outcomes[r][k][2..].iter().sum()),
            retries: w(&|r, k| retries[r][k]),
        }
    }
}
