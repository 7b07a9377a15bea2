//! From per-replication values to report values: a statistic of one number per
//! replication, latency percentiles of the histograms pooled over replications, and
//! window-by-window means (timelines).
//!
//! Every reduction runs over replications in replication order, so a report does not
//! depend on which thread ran which replication; histograms are pooled by integer sums,
//! which do not depend on any order.

use serde::Serialize;

use super::statistic::Statistic;
use super::summary::{QUANTILES, ReplicationSummary};
use crate::metrics::buckets::{self, Sparse};
use crate::metrics::{Outcome, SlotCounts};

/// The statistic over replications of `f` (`None` where a replication has no value).
pub(super) fn stat(reps: &[ReplicationSummary], f: impl Fn(&ReplicationSummary) -> Option<f64>) -> Statistic {
    Statistic::of(reps.iter().map(f))
}

/// Fewest samples a replication is expected to have above a quantile for the interval
/// to be read as one: a percentile `q` is listed in [`Percentiles::sparse_tail`] when
/// `n·(1 − q)` is below this, `n` being the samples per replication that has any (the
/// pooled count over R such replications, divided by R; with one replication, its own).
/// The interval is built from the replications' own quantiles, so it is as good as each
/// of them: the samples above a replication's q-quantile number Binomial(n, 1 − q), and
/// its sample quantile is near normal only as far as that count is (Bahadur's
/// representation, Serfling 1980, Approximation Theorems of Mathematical Statistics,
/// §2.5). An expectation of 10 is the usual floor for the normal approximation of a
/// binomial count (Brown, Cai & DasGupta 2001, "Interval estimation for a binomial
/// proportion", Statistical Science 16(2), show 5 is too few). Below it a quantile rests
/// on a handful of order statistics: the distribution-free interval on ranks
/// `n·q ± 1.96·√(n·q·(1 − q))` (David & Nagaraja, Order Statistics, §7.1) runs past the
/// largest sample once `n·(1 − q)` is under about 1.96². Measured on M/M/1 at ρ = 0.5 with
/// 10 replications of 2000 requests (tests/integration/pooled_quantiles.rs): p99 (20 above
/// per replication) covers in 95.5% of runs, p99.9 (2 above) in 76%.
pub(super) const MIN_TAIL_SAMPLES: f64 = 10.0;

/// Latency percentiles, seconds. Each `mean` is the quantile of the histogram pooled over
/// replications (the same rule as a replication's, so one replication reports its own
/// quantile), not the mean of per-replication quantiles, which estimates the mean sample
/// quantile and sits below the true quantile when a replication sees few samples in the
/// tail. The interval is by sectioning (Nakayama 2014, "Confidence intervals for
/// quantiles using sectioning when applying variance-reduction techniques", ACM TOMACS
/// 24(4); Asmussen & Glynn, Stochastic Simulation, §III.5): pooled quantile
/// `± t(0.975, R − 1) · S / √R`, with `S` the standard deviation of the R replications'
/// own quantiles (replications without samples left out of R, which is `n`); its lower
/// end is cut at 0, as a latency cannot be negative, and it is null when R < 2.
#[derive(Clone, Debug, Serialize)]
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
    /// Samples in the pooled histogram, over every replication.
    pub samples: u64,
    /// Keys of the percentiles (`"p999"`, ...) too far in the tail for their interval to
    /// mean much: fewer than 10 samples expected above the quantile in a replication,
    /// `samples / n · (1 − q)` (the rule, its sources and a measurement are on
    /// `MIN_TAIL_SAMPLES` in this module).
    pub sparse_tail: Vec<&'static str>,
}

impl Percentiles {
    /// Percentiles of no sample at all (every statistic undefined).
    pub fn empty() -> Self {
        Self::of(&[])
    }

    /// The percentiles of `per_rep`: each replication's own quantiles (in [`QUANTILES`]
    /// order) and its histogram.
    pub(super) fn of(per_rep: &[([Option<f64>; 5], &SlotCounts)]) -> Self {
        let pooled = SlotCounts::pooled(per_rep.iter().map(|&(_, h)| h));
        let points = pooled.quantiles_secs(QUANTILES.map(|(_, q)| q));
        let s = |i: usize| sectioning(points[i], per_rep.iter().map(|(r, _)| r[i]));
        let samples = pooled.len();
        let sections = per_rep.iter().filter(|(_, h)| !h.is_empty()).count().max(1);
        let per_section = samples as f64 / sections as f64;
        let sparse_tail = QUANTILES
            .iter()
            .filter(|&&(_, q)| per_section * (1.0 - q) < MIN_TAIL_SAMPLES)
            .map(|&(key, _)| key)
            .collect();
        Percentiles { p50: s(0), p90: s(1), p95: s(2), p99: s(3), p999: s(4), samples, sparse_tail }
    }
}

/// The sectioning statistic of a quantile: the point estimate `pooled` (from every
/// sample together) with the Student-t half-width of the per-section estimates
/// `sections` (here a section is a replication), the lower end cut at 0.
fn sectioning(pooled: Option<f64>, sections: impl IntoIterator<Item = Option<f64>>) -> Statistic {
    let spread = Statistic::of(sections);
    match pooled {
        None => Statistic { mean: None, ci95: None, n: 0 },
        Some(x) => {
            Statistic { mean: Some(x), ci95: spread.half_width().map(|h| [(x - h).max(0.0), x + h]), n: spread.n }
        }
    }
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
    use crate::engine::SimTime;
    use crate::metrics::LatencyHistogram;
    use crate::report::t975;

    /// A replication's quantiles and histogram of `nanos`, as a summary holds them.
    fn rep(nanos: &[u64]) -> ([Option<f64>; 5], SlotCounts) {
        let mut h = LatencyHistogram::new();
        nanos.iter().for_each(|&v| h.record(SimTime(v)));
        let counts = h.slot_counts();
        (counts.quantiles_secs(QUANTILES.map(|(_, q)| q)), counts)
    }

    fn percentiles(reps: &[([Option<f64>; 5], SlotCounts)]) -> Percentiles {
        Percentiles::of(&reps.iter().map(|(q, h)| (*q, h)).collect::<Vec<_>>())
    }

    #[test]
    fn two_replications_pool_then_take_the_quantile() {
        // Below 2048 ns every slot holds one value, so quantiles are the samples.
        // A = {10, 20, 30, 40}, B = {50, 60}, and a replication with no sample.
        let reps = [rep(&[10, 20, 30, 40]), rep(&[50, 60]), rep(&[])];
        let p = percentiles(&reps);
        // Median: A's 2nd of 4 is 20, B's 1st of 2 is 50; pooled, the 3rd of 6 is 30
        // (the old mean of replication medians said 35).
        assert_eq!(p.p50.mean, Some(30e-9));
        assert_eq!(p.p50.n, 2);
        // Sectioning: S = sd(20, 50) = 30/√2, half = t(0.975, 1)·S/√2 = 15·12.706 ns,
        // more than the estimate, so the lower end is cut at 0.
        let half = t975(1) * 15e-9;
        let [lo, hi] = p.p50.ci95.unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - (30e-9 + half)).abs() < 1e-18, "{hi}");
        // p99.9: ⌈0.999·6⌉ = 6th of 6 is 60; A's is 40, B's 60: half = 12.706·10 ns.
        let [lo, hi] = p.p999.ci95.unwrap();
        assert_eq!((p.p999.mean, lo), (Some(60e-9), 0.0));
        assert!((hi - (60e-9 + t975(1) * 10e-9)).abs() < 1e-18, "{hi}");
        assert_eq!(p.samples, 6);
        // 6 samples: every percentile expects fewer than 10 above it.
        assert_eq!(p.sparse_tail, ["p50", "p90", "p95", "p99", "p999"]);
    }

    #[test]
    fn a_tight_interval_keeps_its_lower_end() {
        // Medians 1000 and 1010 ns (3 samples each, pooled median the 3rd of 6 = 1000).
        let p = percentiles(&[rep(&[990, 1000, 1005]), rep(&[995, 1010, 1020])]);
        assert_eq!(p.p50.mean, Some(1000e-9));
        let half = t975(1) * 5e-9;
        let [lo, hi] = p.p50.ci95.unwrap();
        assert!((lo - (1000e-9 - half)).abs() < 1e-18 && (hi - (1000e-9 + half)).abs() < 1e-18);
    }

    #[test]
    fn one_replication_reports_its_own_quantiles() {
        let nanos: Vec<u64> = (1..5000u64).map(|i| i * i * 7919 % 10_000_019).collect();
        let one = rep(&nanos);
        let p = percentiles(std::slice::from_ref(&one));
        let before = |i: usize| Statistic::of([one.0[i]]);
        assert_eq!([p.p50, p.p90, p.p95, p.p99, p.p999], [0, 1, 2, 3, 4].map(before));
        assert_eq!(p.p999.ci95, None);
        let none = Percentiles::empty();
        assert_eq!((none.p50, none.samples), (Statistic { mean: None, ci95: None, n: 0 }, 0));
    }

    #[test]
    fn sparse_tails_are_those_with_under_ten_samples_above_per_replication() {
        let many = |n: u64| rep(&(1..=n).collect::<Vec<_>>());
        // 2000 samples a replication: 20 above p99, 2 above p99.9 (the empty replication
        // does not count).
        let p = percentiles(&[many(2000), many(2000), rep(&[])]);
        assert_eq!((p.sparse_tail, p.samples), (vec!["p999"], 4000));
        // 500: 5 above p99.
        assert_eq!(percentiles(&[many(500)]).sparse_tail, ["p99", "p999"]);
        assert!(percentiles(&[many(20_000)]).sparse_tail.is_empty());
    }

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
