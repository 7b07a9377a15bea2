//! Coarse log-scale latency buckets: per-window percentiles and "slower than" counts in
//! a few kilobytes per window.
//!
//! Each power of two is split into 16 equal sub-buckets (a bucket is at most 6.25% wide),
//! from 128 ns to about 2.4 hours; values outside clamp to the first or last bucket. The
//! whole-run percentiles keep using the 3-digit HDR histogram; these serve the time series
//! and the blast radius, where a few per cent of resolution is plenty.

use crate::engine::SimTime;

/// Sub-buckets per power of two, as a bit count.
const SUB_BITS: u32 = 4;
/// Smallest power of two tracked: 2^7 ns = 128 ns.
const MIN_EXP: u32 = 7;
/// Largest power of two tracked: [2^42, 2^43) ns, about 73 to 147 minutes.
const MAX_EXP: u32 = 42;

/// Number of buckets.
pub const BUCKETS: usize = ((MAX_EXP - MIN_EXP + 1) << SUB_BITS) as usize;

/// The bucket holding `t`.
#[inline]
pub fn bucket(t: SimTime) -> usize {
    let v = t.0.max(1 << MIN_EXP);
    let exp = 63 - v.leading_zeros();
    if exp > MAX_EXP {
        return BUCKETS - 1;
    }
    let sub = (v >> (exp - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    (((exp - MIN_EXP) << SUB_BITS) as u64 | sub) as usize
}

/// The smallest duration in bucket `b`, ns.
pub fn lower_ns(b: usize) -> u64 {
    let exp = MIN_EXP + (b as u32 >> SUB_BITS);
    let sub = b as u64 & ((1 << SUB_BITS) - 1);
    ((1 << SUB_BITS) + sub) << (exp - SUB_BITS)
}

/// The middle of bucket `b`, seconds: the value a quantile in it is reported as.
pub fn mid_secs(b: usize) -> f64 {
    (lower_ns(b) as f64 + lower_ns(b + 1) as f64) / 2e9
}

/// A histogram with most buckets empty, as (bucket, count) pairs in bucket order.
pub type Sparse = Vec<(u16, u32)>;

/// The non-empty buckets of `dense`.
#[cfg(test)]
fn sparse(dense: &[u32]) -> Sparse {
    dense.iter().enumerate().filter(|&(_, &c)| c > 0).map(|(b, &c)| (b as u16, c)).collect()
}

/// The `q`-quantile of a sparse histogram, seconds (the middle of the bucket holding the
/// ⌈q·n⌉-th smallest value), or `None` when it is empty. Counts may be a replication's
/// (`u32`) or a pool's (`u64`).
pub fn quantile_secs<C: Copy + Into<u64>>(h: &[(u16, C)], q: f64) -> Option<f64> {
    let n: u64 = h.iter().map(|&(_, c)| c.into()).sum();
    if n == 0 {
        return None;
    }
    let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
    let mut seen = 0;
    for &(b, c) in h {
        seen += c.into();
        if seen >= rank {
            return Some(mid_secs(usize::from(b)));
        }
    }
    h.last().map(|&(b, _)| mid_secs(usize::from(b)))
}

/// Values in buckets above the one holding `threshold` (the "slower than" count at bucket
/// resolution).
pub fn count_above(h: &[(u16, u32)], threshold: SimTime) -> u64 {
    let t = bucket(threshold);
    h.iter().filter(|&&(b, _)| usize::from(b) > t).map(|&(_, c)| u64::from(c)).sum()
}

/// Adds `other` into `into` (both in bucket order).
pub fn merge(into: &mut [u64], other: &[(u16, u32)]) {
    for &(b, c) in other {
        into[usize::from(b)] += u64::from(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_order_with_bounded_width() {
        assert_eq!(bucket(SimTime(0)), 0);
        assert_eq!(bucket(SimTime(128)), 0);
        assert_eq!(bucket(SimTime(135)), 0);
        assert_eq!(bucket(SimTime(136)), 1);
        assert_eq!(lower_ns(0), 128);
        assert_eq!(lower_ns(16), 256);
        for b in 0..BUCKETS - 1 {
            let (lo, hi) = (lower_ns(b), lower_ns(b + 1));
            assert!(hi > lo);
            assert!((hi - lo) as f64 / lo as f64 <= 1.0 / 16.0 + 1e-12);
            assert_eq!(bucket(SimTime(lo)), b);
            assert_eq!(bucket(SimTime(hi - 1)), b);
        }
        assert_eq!(bucket(SimTime(u64::MAX)), BUCKETS - 1);
    }

    #[test]
    fn quantiles_and_counts_from_a_sparse_histogram() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut dense = vec![0u32; BUCKETS];
        for x in 1..=100 {
            dense[bucket(ms(x))] += 1;
        }
        let h = sparse(&dense);
        let p50 = quantile_secs(&h, 0.5).unwrap();
        assert!((p50 - 0.050).abs() / 0.050 < 0.0625, "{p50}");
        let p99 = quantile_secs(&h, 0.99).unwrap();
        assert!((p99 - 0.099).abs() / 0.099 < 0.0625, "{p99}");
        assert_eq!(quantile_secs::<u32>(&[], 0.5), None);
        // Buckets strictly above the one holding 90 ms: at least 91..=100 minus the
        // neighbours sharing 90 ms's bucket.
        let above = count_above(&h, ms(90));
        assert!((5..=10).contains(&above), "{above}");
        assert_eq!(count_above(&h, ms(200)), 0);
        let mut total = vec![0u64; BUCKETS];
        merge(&mut total, &h);
        merge(&mut total, &h);
        assert_eq!(total.iter().sum::<u64>(), 200);
    }
}
