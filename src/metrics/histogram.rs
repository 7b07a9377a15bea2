//! Latency histogram with fixed memory and bounded relative error.
//!
//! The layout is exactly that of an `hdrhistogram` with 3 significant digits from 1 ns
//! to one day, so its quantiles are the crate's to the bit; only recording is done here.
//! The crate's `record` checks its bounds, resizes, tracks min and max and saturates the
//! count: about 60 instructions, a twentieth of an event. Here a value's slot is a
//! leading-zero count and two shifts, and the crate builds its histogram from these
//! counts when quantiles are asked for (once per replication). Counts are 16-bit, with
//! the overflow (once per 65536 samples of a slot) carried aside in a short sorted list:
//! a quarter of the cache lines of 64-bit counts. A latency histogram's busy slots are
//! spread at random over tens of kilobytes, so its increment was the event loop's
//! largest single stall (a first-level cache miss).

use hdrhistogram::Histogram;

use crate::engine::SimTime;

/// Highest latency tracked exactly: one day. Larger values are clamped to it.
const MAX_NANOS: u64 = 86_400 * 1_000_000_000;

/// `log2` of half the sub-buckets per power of two: 3 significant digits need 2000
/// distinct values per bucket, rounded up to 2048 = 2^(10 + 1).
const SUB_HALF_BITS: u32 = 10;
/// The first bucket's 2048 values, as a mask.
const SUB_MASK: u64 = (1 << (SUB_HALF_BITS + 1)) - 1;
/// `64 - unit magnitude (0: the lowest value is 1 ns) - SUB_HALF_BITS - 1`.
const LEADING_ZERO_BASE: u32 = 64 - SUB_HALF_BITS - 1;
/// Slots up to [`MAX_NANOS`]: 37 buckets, each adding 1024 slots over the first 2048.
const SLOTS: usize = (37 + 1) << SUB_HALF_BITS;

/// The slot of value `v` (1 ..= [`MAX_NANOS`]), as `hdrhistogram`'s `index_for`.
#[inline]
fn slot(v: u64) -> usize {
    let bucket = LEADING_ZERO_BASE - (v | SUB_MASK).leading_zeros();
    let sub = (v >> bucket) as usize;
    // (bucket + 1) * 1024 + sub - 1024: bucket 0 uses all of its 2048 sub-buckets, the
    // others only their upper half.
    ((bucket as usize) << SUB_HALF_BITS) + sub
}

/// The lowest value of slot `i`, as `hdrhistogram`'s `value_for`.
fn lowest_value(i: usize) -> u64 {
    let half = 1usize << SUB_HALF_BITS;
    let (bucket, sub) = match (i >> SUB_HALF_BITS).checked_sub(1) {
        Some(b) => (b, (i & (half - 1)) + half),
        None => (0, i),
    };
    (sub as u64) << bucket
}

/// A histogram of durations in nanoseconds, 3 significant digits (0.1% relative error),
/// from 1 ns to one day, in about 80 KB whatever the number of samples.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    /// Counts per slot, modulo 2^16.
    counts: Vec<u16>,
    /// Slots whose count wrapped, sorted, with how many times 2^16 it did.
    carries: Vec<(usize, u64)>,
    len: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self { counts: vec![0; SLOTS], carries: Vec::new(), len: 0 }
    }

    /// Adds one duration.
    #[inline]
    pub fn record(&mut self, t: SimTime) {
        let i = slot(t.0.clamp(1, MAX_NANOS));
        // Always in range for a clamped value (tested); the check is one compare.
        if let Some(c) = self.counts.get_mut(i) {
            *c = c.wrapping_add(1);
            self.len += 1;
            if *c == 0 {
                self.carry(i, 1);
            }
        }
    }

    /// Adds `n` times 2^16 to slot `i`.
    #[cold]
    #[inline(never)]
    fn carry(&mut self, i: usize, n: u64) {
        match self.carries.binary_search_by_key(&i, |&(slot, _)| slot) {
            Ok(k) => self.carries[k].1 += n,
            Err(k) => self.carries.insert(k, (i, n)),
        }
    }

    /// The count of slot `i`.
    #[cfg(test)]
    fn count(&self, i: usize) -> u64 {
        let high = self.carries.binary_search_by_key(&i, |&(slot, _)| slot).map_or(0, |k| self.carries[k].1);
        (high << 16) + u64::from(self.counts[i])
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.carries.clear();
        self.len = 0;
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The same counts in an `hdrhistogram`.
    fn to_hdr(&self) -> Histogram<u64> {
        // The bounds are constants that satisfy the crate's preconditions.
        let mut h = Histogram::new_with_bounds(1, MAX_NANOS, 3).expect("valid histogram bounds");
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                h.saturating_record_n(lowest_value(i), u64::from(c));
            }
        }
        for &(i, high) in &self.carries {
            h.saturating_record_n(lowest_value(i), high << 16);
        }
        h
    }

    /// The `q`-quantile of each of `qs` in seconds (the smallest recorded value with at
    /// least a fraction `q` of samples at or below it, as `hdrhistogram` reports it), or
    /// `None` when empty.
    pub fn quantiles_secs<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        if self.is_empty() {
            return [None; N];
        }
        let h = self.to_hdr();
        qs.map(|q| Some(h.value_at_quantile(q) as f64 / 1e9))
    }

    /// The `q`-quantile in seconds, or `None` when empty (see [`Self::quantiles_secs`]).
    pub fn quantile_secs(&self, q: f64) -> Option<f64> {
        self.quantiles_secs([q])[0]
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for i in 0..SLOTS {
            let (sum, wrapped) = self.counts[i].overflowing_add(other.counts[i]);
            self.counts[i] = sum;
            if wrapped {
                self.carry(i, 1);
            }
        }
        for &(i, high) in &other.carries {
            self.carry(i, high);
        }
        self.len += other.len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values over the whole range: every power of two, its neighbours, and a
    /// pseudo-random spread (xorshift) with every magnitude.
    fn values() -> Vec<u64> {
        let mut v: Vec<u64> = (0..47).flat_map(|k| [(1u64 << k) - 1, 1 << k, (1 << k) + 1]).collect();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(x >> (x % 64));
        }
        v.push(MAX_NANOS);
        v.push(u64::MAX);
        v
    }

    #[test]
    fn slots_are_hdrhistograms() {
        let h = Histogram::<u64>::new_with_bounds(1, MAX_NANOS, 3).unwrap();
        assert_eq!(h.distinct_values(), SLOTS);
        for v in values() {
            let v = v.clamp(1, MAX_NANOS);
            let i = slot(v);
            assert!(i < SLOTS, "{v}");
            // Same slot as the crate: the same lowest and highest equivalent values.
            assert_eq!(lowest_value(i), h.lowest_equivalent(v), "{v}");
            assert_eq!(slot(h.highest_equivalent(v).min(MAX_NANOS)), i, "{v}");
        }
    }

    #[test]
    fn quantiles_equal_the_crates_own_recording() {
        let mut ours = LatencyHistogram::new();
        let mut theirs = Histogram::<u64>::new_with_bounds(1, MAX_NANOS, 3).unwrap();
        for v in values() {
            ours.record(SimTime(v));
            theirs.saturating_record(v.clamp(1, MAX_NANOS));
        }
        assert_eq!(ours.len(), theirs.len());
        let qs = [0.0, 0.001, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0];
        let want = qs.map(|q| Some(theirs.value_at_quantile(q) as f64 / 1e9));
        assert_eq!(ours.quantiles_secs(qs), want);
        assert_eq!(ours.quantile_secs(0.99), want[6]);
    }

    #[test]
    fn merge_reset_and_empty() {
        let mut a = LatencyHistogram::new();
        assert_eq!(a.quantile_secs(0.5), None);
        a.record(SimTime(1_000));
        let mut b = LatencyHistogram::new();
        b.record(SimTime(3_000_000));
        b.record(SimTime(0));
        a.merge(&b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.quantile_secs(0.0), Some(1e-9));
        a.reset();
        assert!(a.is_empty());
    }

    #[test]
    fn counts_past_16_bits_carry() {
        let mut a = LatencyHistogram::new();
        let i = slot(5_000);
        for _ in 0..u32::from(u16::MAX) + 2 {
            a.record(SimTime(5_000));
        }
        assert_eq!(a.count(i), u64::from(u16::MAX) + 2);
        // Many carries: a count of 2^40 + 2 in one slot.
        a.carry(i, (1 << 24) - 1);
        a.len += ((1 << 24) - 1) << 16;
        a.record(SimTime(5_000));
        assert_eq!(a.count(i), (1 << 40) + 2);
        let mut b = a.clone();
        b.merge(&a);
        assert_eq!(b.count(i), 2 * ((1 << 40) + 2));
        assert_eq!(b.len(), 2 * a.len());
        assert_eq!(b.count(slot(1_000)), 0);
        // 2^41 + 4 samples at one value, and one at 1 µs: the median is the former.
        b.record(SimTime(1_000));
        assert_eq!(
            b.quantile_secs(0.5),
            Some(Histogram::<u64>::new_with_bounds(1, MAX_NANOS, 3).unwrap().highest_equivalent(5_000) as f64 / 1e9)
        );
        assert_eq!(b.to_hdr().len(), b.len());
    }
}
