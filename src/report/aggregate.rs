//! From per-replication values to report values: a statistic of one number per
//! replication, latency percentiles, and window-by-window means (timelines).
//!
//! Every reduction runs over replications in replication order, so a report does not
//! depend on which thread ran which replication.

use serde::Serialize;

use super::statistic::Statistic;
use super::summary::ReplicationSummary;
use crate::metrics::{self, Outcome};

/// The statistic over replications of `f` (`None` where a replication has no value).
pub(super) fn stat(reps: &[ReplicationSummary], f: impl Fn(&ReplicationSummary) -> Option<f64>) -> Statistic {
    Statistic::of(reps.iter().map(f))
}

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
    pub(super) fn of(per_rep: &[[Option<f64>; 5]]) -> Self {
        let s = |i: usize| Statistic::of(per_rep.iter().map(|r| r[i]));
        Percentiles { p50: s(0), p90: s(1), p95: s(2), p99: s(3), p999: s(4) }
    }
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
pub(super) fn window_means(reps: usize, windows: usize, f: &dyn Fn(usize, usize) -> Option<f64>) -> Vec<Option<f64>> {
    (0..windows)
        .map(|i| {
            let (sum, n) = (0..reps).filter_map(|r| f(r, i)).fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            (n > 0).then(|| sum / n as f64)
        })
        .collect()
}

/// Like [`window_means`] for values every replication has.
pub(super) fn window_totals(reps: usize, windows: usize, f: &dyn Fn(usize, usize) -> f64) -> Vec<f64> {
    window_means(reps, windows, &|r, i| Some(f(r, i))).into_iter().map(Option::unwrap_or_default).collect()
}

impl TimelineReport {
    pub(super) fn of(window: f64, outcomes: &[&[[f64; 6]]], latency: &[&[metrics::buckets::Sparse]]) -> Self {
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
