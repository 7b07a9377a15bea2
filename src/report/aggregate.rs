//! From per-replication values to report values: a statistic of one number per
//! replication, latency percentiles of the histograms pooled over replications, and
//! window-by-window means (timelines).
//!
//! Every reduction runs over replications in replication order, so a report does not
//! depend on which thread ran which replication; histograms are pooled by integer sums,
//! which do not depend on any order.

use serde::Serialize;

use super::statistic::Statistic;
use super::summary::ReplicationSummary;
use crate::metrics::Outcome;
use crate::metrics::buckets::{self, Sparse};

/// The statistic over replications of `f` (`None` where a replication has no value).
pub(super) fn stat(reps: &[ReplicationSummary], f: impl Fn(&ReplicationSummary) -> Option<f64>) -> Statistic {
    Statistic::of(reps.iter().map(f))
}

/// A workload's or service's outcomes and latency window by window: counts are means
/// over replications; a percentile is the quantile of the window's histogram pooled over
/// replications, from coarse buckets at most 6.25% wide.
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
    pub(super) fn of(window: f64, outcomes: &[&[[f64; 6]]], latency: &[&[Sparse]]) -> Self {
        let (reps, n) = (outcomes.len(), outcomes.first().map_or(0, |r| r.len()));
        let counts = |f: &dyn Fn(&[f64; 6]) -> f64| window_totals(reps, n, &|r, i| f(&outcomes[r][i]));
        let pooled: Vec<Vec<(u16, u64)>> = (0..n).map(|i| pool_window(latency, i)).collect();
        let q = |q: f64| pooled.iter().map(|h| buckets::quantile_secs(h, q)).collect();
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

/// Window `i`'s coarse latency histogram summed over the replications of `latency`, as
/// (bucket, count) pairs in bucket order.
fn pool_window(latency: &[&[Sparse]], i: usize) -> Vec<(u16, u64)> {
    let mut dense = vec![0u64; buckets::BUCKETS];
    for h in latency.iter().filter_map(|r| r.get(i)) {
        buckets::merge(&mut dense, h);
    }
    dense.iter().enumerate().filter(|&(_, &c)| c > 0).map(|(b, &c)| (b as u16, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_percentiles_pool_the_coarse_buckets() {
        // Window 0: A has 3 in bucket 10, B 1 in bucket 20; window 1 only B; window 2 none.
        let a: Vec<Sparse> = vec![vec![(10, 3)], vec![], vec![]];
        let b: Vec<Sparse> = vec![vec![(20, 1)], vec![(5, 2)], vec![]];
        let outcomes = vec![[0.0; 6]; 3];
        let t = TimelineReport::of(1.0, &[&outcomes, &outcomes], &[&a, &b]);
        let mid = buckets::mid_secs;
        // Pooled window 0: 4 samples; the 2nd is in bucket 10, the 4th in bucket 20.
        assert_eq!(t.p50_s, [Some(mid(10)), Some(mid(5)), None]);
        assert_eq!(t.p99_s, [Some(mid(20)), Some(mid(5)), None]);
    }
}
