//! Latency percentiles over replications: the quantile of the histograms pooled over
//! replications, with a distribution-free interval on the pooled sample.
//!
//! The mean of per-replication quantiles estimates the mean *sample* quantile, which sits
//! below the true quantile when a replication sees few samples in the tail (M/M/1 at
//! ρ = 0.5, 10 × 2000 requests: p99.9 7.9% low). Pooling the counts first removes that
//! bias: the pooled quantile's bias shrinks with the whole sample, not with a
//! replication's.
//!
//! The interval is the order-statistic one (David & Nagaraja, Order Statistics, 3rd ed.,
//! §7.1): the number of samples above the true q-quantile is Binomial(N, 1 − q), so the
//! pooled quantiles at the ends of an exact (Clopper & Pearson 1934) interval for that
//! proportion bracket it. A queue's samples are not independent — long sojourns come in
//! runs, a busy period at a time — so N is replaced by the effective size N/d, with d
//! the design effect (Kish 1965) of the counts above the estimate between independent
//! replications (the same estimator as for a proportion, see [`super::statistic`]). The
//! counts above an extreme quantile are too few in a replication to measure d (2 or 3
//! above p99.9 in 2000 samples), so there d is measured at the highest quantile each
//! replication has at least [`MIN_TAIL_SAMPLES`] samples above, where the clustering of
//! the tail shows. Measured over 200 runs of M/M/1 at ρ = 0.5, 10 × 2000 requests
//! (tests/integration/pooled_quantiles.rs): p99.9 covers in 93.0%, p99 in 95.5%; the
//! sectioning interval (Nakayama 2014: pooled estimate ± t·S/√R over the replications'
//! own quantiles) covered p99.9 in only 76%, since a replication's p99.9 rests on 2 or 3
//! order statistics; Wilson's interval in place of Clopper-Pearson's, 87.5%. The coverage
//! study (tests/integration/coverage.rs) holds p99 to the 95% band on M/M/1, M/M/2/10 and
//! a Jackson network.

use serde::Serialize;

use statrs::distribution::{Beta, ContinuousCDF};

use super::statistic::{self, Statistic};
use super::summary::QUANTILES;
use crate::metrics::SlotCounts;

/// Fewest samples expected above a quantile, in the pooled sample over its design effect,
/// for its interval to be read as one: below it the percentile is listed in
/// [`Percentiles::sparse_tail`]. An expectation of 10 is the usual floor for a binomial
/// count's normal behaviour (Brown, Cai & DasGupta 2001, "Interval estimation for a
/// binomial proportion", Statistical Science 16(2)); below it the interval's upper end
/// rests on the few largest samples, and past the largest it cannot reach.
pub(super) const MIN_TAIL_SAMPLES: f64 = 10.0;

/// Latency percentiles, seconds: each `mean` is the quantile of the histogram pooled over
/// replications (one replication reports its own quantile), `ci95` the order-statistic
/// interval of the module doc (null with fewer than two replications with samples), `n`
/// the replications with samples.
#[derive(Clone, Debug, Serialize)]
pub struct Percentiles {
    /// Mean (workloads only): the mean over replications of each one's exact mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Statistic>,
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
    /// mean much: fewer than 10 effective samples expected above the quantile,
    /// `samples / d · (1 − q)` with `d` the design effect (see `MIN_TAIL_SAMPLES`).
    pub sparse_tail: Vec<&'static str>,
}

impl Percentiles {
    /// Percentiles of no sample at all (every statistic undefined).
    pub fn empty() -> Self {
        Self::of(&[])
    }

    /// The percentiles of the replications' histograms `per_rep`.
    pub(super) fn of(per_rep: &[&SlotCounts]) -> Self {
        let pooled = SlotCounts::pooled(per_rep.iter().copied());
        let sections: Vec<&SlotCounts> = per_rep.iter().copied().filter(|h| !h.is_empty()).collect();
        let mut sparse_tail = Vec::new();
        let mut s = |i: usize| {
            let (key, q) = QUANTILES[i];
            let (stat, effective) = quantile(q, &pooled, &sections);
            if effective * (1.0 - q) < MIN_TAIL_SAMPLES {
                sparse_tail.push(key);
            }
            stat
        };
        let [p50, p90, p95, p99, p999] = [0, 1, 2, 3, 4].map(&mut s);
        Percentiles { mean: None, p50, p90, p95, p99, p999, samples: pooled.len(), sparse_tail }
    }

    /// The same, with the `mean` beside the percentiles.
    pub(super) fn with_mean(self, mean: Statistic) -> Self {
        Percentiles { mean: Some(mean), ..self }
    }
}

/// The `q`-quantile of `pooled` with its interval over the non-empty replications
/// `sections`, and the effective sample size it used.
fn quantile(q: f64, pooled: &SlotCounts, sections: &[&SlotCounts]) -> (Statistic, f64) {
    let n = pooled.len() as f64;
    let Some(x) = pooled.quantiles_secs([q])[0] else {
        return (Statistic { mean: None, ci95: None, n: 0 }, 0.0);
    };
    let reps = sections.len();
    if reps < 2 {
        return (Statistic { mean: Some(x), ci95: None, n: reps as u32 }, n);
    }
    let effect_at = |y: f64| {
        let above: Vec<(f64, f64)> = sections.iter().map(|h| (h.count_above_secs(y) as f64, h.len() as f64)).collect();
        let share = above.iter().map(|a| a.0).sum::<f64>() / n;
        statistic::design_effect(share, n, &above)
    };
    let dense = q.min(1.0 - MIN_TAIL_SAMPLES * reps as f64 / n).max(0.0);
    let effect = match pooled.quantiles_secs([dense])[0] {
        Some(y) if dense < q => effect_at(y),
        _ => effect_at(x),
    };
    let effective = n / effect;
    let [below, above] = clopper_pearson((1.0 - q) * effective, effective);
    let [lo, hi] = pooled.quantiles_secs([1.0 - above, 1.0 - below]);
    let ci95 = lo.zip(hi).map(|(lo, hi)| [lo.min(x), hi.max(x)]);
    (Statistic { mean: Some(x), ci95, n: reps as u32 }, effective)
}

/// Clopper & Pearson's exact 95% interval (1934, Biometrika 26) for a proportion of `x`
/// events in `n` trials, `x` and `n` possibly fractional (effective counts): the beta
/// quantiles `B(0.025; x, n − x + 1)` and `B(0.975; x + 1, n − x)`.
fn clopper_pearson(x: f64, n: f64) -> [f64; 2] {
    let lo = if x > 0.0 { Beta::new(x, n - x + 1.0).map_or(0.0, |b| b.inverse_cdf(0.025)) } else { 0.0 };
    let hi = if x < n { Beta::new(x + 1.0, n - x).map_or(1.0, |b| b.inverse_cdf(0.975)) } else { 1.0 };
    [lo, hi]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::metrics::LatencyHistogram;

    /// A replication's histogram of `nanos`, as a summary holds it.
    fn rep(nanos: &[u64]) -> SlotCounts {
        let mut h = LatencyHistogram::new();
        nanos.iter().for_each(|&v| h.record(SimTime(v)));
        h.slot_counts()
    }

    fn percentiles(reps: &[SlotCounts]) -> Percentiles {
        Percentiles::of(&reps.iter().collect::<Vec<_>>())
    }

    #[test]
    fn two_replications_pool_then_take_the_quantile() {
        // Below 2048 ns every slot holds one value, so quantiles are the samples.
        // A = {10, 20, 30, 40}, B = {50, 60}, and a replication with no sample.
        let p = percentiles(&[rep(&[10, 20, 30, 40]), rep(&[50, 60]), rep(&[])]);
        // Median: A's 2nd of 4 is 20, B's 1st of 2 is 50; pooled, the 3rd of 6 is 30
        // (the mean of replication medians said 35).
        assert_eq!((p.p50.mean, p.p50.n), (Some(30e-9), 2));
        assert_eq!(p.p999.mean, Some(60e-9));
        assert_eq!(p.samples, 6);
        // 6 samples: every percentile expects fewer than 10 above it.
        assert_eq!(p.sparse_tail, ["p50", "p90", "p95", "p99", "p999"]);
    }

    #[test]
    fn clopper_pearson_matches_published_values() {
        // Clopper & Pearson intervals as tabulated by Newcombe 1998 (Stat. Med. 17,
        // Table I, method 5): 81/263 → 0.2527–0.3676, 15/148 → 0.0579–0.1617,
        // 0/20 → 0–0.1684, 1/29 → 0.0009–0.1776.
        let close = |got: [f64; 2], want: [f64; 2]| (got[0] - want[0]).abs() < 1e-4 && (got[1] - want[1]).abs() < 1e-4;
        assert!(close(clopper_pearson(81.0, 263.0), [0.2527, 0.3676]), "{:?}", clopper_pearson(81.0, 263.0));
        assert!(close(clopper_pearson(15.0, 148.0), [0.0579, 0.1617]));
        assert!(close(clopper_pearson(0.0, 20.0), [0.0, 0.1684]));
        assert!(close(clopper_pearson(1.0, 29.0), [0.0009, 0.1776]));
    }

    #[test]
    fn independent_replications_get_the_order_statistic_interval() {
        // Two replications of 1..=1000 ns each, interleaved so their counts above any
        // value are equal (no spread between them: design effect 1). Pooled: 2000
        // samples, each value twice. The median's interval is the pooled quantiles at
        // 1 − the Clopper-Pearson ends for 1000 of 2000, 0.4778 and 0.5222: ranks 956 and
        // 1045 of 2000, i.e. values 478 and 523 (each value holds two ranks).
        let one: Vec<u64> = (1..=1000).collect();
        let p = percentiles(&[rep(&one), rep(&one)]);
        assert_eq!(p.p50.mean, Some(500e-9));
        let [lo, hi] = p.p50.ci95.unwrap();
        assert_eq!((lo, hi), (478e-9, 523e-9), "{lo} {hi}");
        assert!(p.sparse_tail == ["p999"], "{:?}", p.sparse_tail);
    }

    #[test]
    fn clustered_tails_widen_the_interval() {
        // The same 2000 values, but one replication holds every large one: the counts
        // above p90 differ between replications, so the design effect exceeds 1 and the
        // interval is wider than for the balanced split.
        let low: Vec<u64> = (1..=1000).collect();
        let high: Vec<u64> = (801..=1800).collect();
        let balanced: Vec<u64> = (1..=1800).step_by(2).chain((2..=1800).step_by(2).take(100)).collect();
        let width = |p: &Percentiles| p.p90.ci95.map(|[lo, hi]| hi - lo).unwrap();
        let clustered = percentiles(&[rep(&low), rep(&high)]);
        let even = percentiles(&[rep(&balanced), rep(&balanced)]);
        assert!(width(&clustered) > 2.0 * width(&even), "{} vs {}", width(&clustered), width(&even));
    }

    #[test]
    fn one_replication_reports_its_own_quantiles() {
        let nanos: Vec<u64> = (1..5000u64).map(|i| i * i * 7919 % 10_000_019).collect();
        let one = rep(&nanos);
        let p = percentiles(std::slice::from_ref(&one));
        let own = one.quantiles_secs(QUANTILES.map(|(_, q)| q));
        assert_eq!([p.p50.mean, p.p90.mean, p.p95.mean, p.p99.mean, p.p999.mean], own);
        assert_eq!((p.p999.ci95, p.p999.n), (None, 1));
        let none = Percentiles::empty();
        assert_eq!((none.p50, none.samples), (Statistic { mean: None, ci95: None, n: 0 }, 0));
    }
}
