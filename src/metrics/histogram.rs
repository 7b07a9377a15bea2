//! Latency histogram with fixed memory and bounded relative error.
//!
//! The layout is exactly that of an `hdrhistogram` with 3 significant digits from 1 ns
//! to one day, and quantiles follow the crate's `value_at_quantile` step for step, so
//! they are the crate's to the bit (tested); only the crate's layout is used. Its
//! `record` checks its bounds, resizes, tracks min and max and saturates the count:
//! about 60 instructions, a twentieth of an event. Here a value's slot is a leading-zero
//! count and two shifts. Counts are 16-bit, with the overflow (once per 65536 samples of
//! a slot) carried aside in a short sorted list: a quarter of the cache lines of 64-bit
//! counts. A latency histogram's busy slots are spread at random over tens of kilobytes,
//! so its increment was the event loop's largest single stall (a first-level cache miss).
//!
//! Dense, the counts take 78 KB, and a large model's histograms no longer fit in any
//! cache: each sample became a miss to memory. A large model's histograms (and any
//! histogram made with [`LatencyHistogram::new`]) are sparse instead, log-structured: a
//! sample appends its slot to a short buffer (a sequential write), and a full buffer is
//! sorted and merged into a sorted list of `(slot, count)` words. A service of a
//! 20,000-service graph sees a few hundred requests in a run and keeps a few hundred
//! words. A histogram whose list would outgrow the dense counts turns dense. Either way the
//! slots counted are the same, so the quantiles are too.
//!
//! A replication keeps its histogram as [`SlotCounts`], the non-empty slots only, so the
//! report can pool replications: counts are integers, so their sums do not depend on the
//! order of the replications, and the pool's quantiles follow the same rule.

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
/// Samples a sparse histogram buffers before merging them into its runs (512 bytes), or
/// half as many as it has runs if that is more: a merge walks the runs, so its cost per
/// sample stays constant (a quarter of the runs' bytes).
const BUFFER: usize = 256;
/// Runs at which a sparse histogram turns dense: 8 bytes each, the dense counts' size.
const DENSE_AT: usize = SLOTS / 4;

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
/// from 1 ns to one day, in two bytes per sample up to at most about 80 KB.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    /// Counts per slot, modulo 2^16; empty while the histogram is sparse.
    counts: Vec<u16>,
    /// Sparse: the slots of the latest samples, at most [`LatencyHistogram::buffer`] of
    /// them (a slot fits 16 bits).
    samples: Vec<u16>,
    /// Sparse: the earlier samples as [`SlotCounts`] words, slots increasing.
    runs: Vec<u64>,
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
        Self { counts: Vec::new(), samples: Vec::new(), runs: Vec::new(), carries: Vec::new(), len: 0 }
    }

    /// An empty histogram with dense counts from the start: the fastest to record into
    /// while a model's histograms together fit in a cache.
    pub fn dense() -> Self {
        Self { counts: vec![0; SLOTS], ..Self::new() }
    }

    /// Adds one duration.
    #[inline]
    pub fn record(&mut self, t: SimTime) {
        let i = slot(t.0.clamp(1, MAX_NANOS));
        self.len += 1;
        // Dense, a clamped value's slot is always in range (tested): the check is the
        // test for sparseness.
        if let Some(c) = self.counts.get_mut(i) {
            *c = c.wrapping_add(1);
            if *c == 0 {
                self.carry(i, 1);
            }
        } else {
            if self.samples.len() == self.samples.capacity() && self.grow() {
                return self.add_dense(i, 1);
            }
            self.samples.push(i as u16);
        }
    }

    /// Samples buffered before a merge (see [`BUFFER`]).
    fn buffer(&self) -> usize {
        BUFFER.max(self.runs.len() / 2)
    }

    /// Makes room in the sample buffer: doubles it up to its size, then merges a full one
    /// into the runs, and turns dense when they would outgrow the dense counts (true).
    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> bool {
        let len = self.samples.len();
        let buffer = self.buffer();
        if len < buffer {
            self.samples.reserve_exact(len.max(16).min(buffer - len));
            return false;
        }
        self.compact();
        if self.runs.len() < DENSE_AT {
            return false;
        }
        self.densify();
        true
    }

    /// Merges the sorted sample buffer into the runs, in place from the back.
    fn compact(&mut self) {
        self.samples.sort_unstable();
        let added = self.samples.chunk_by(|a, b| a == b).filter(|run| self.find(run[0]).is_err()).count();
        let old = self.runs.len();
        // Grown by half when full, not doubled: a large model holds thousands of them.
        if old + added > self.runs.capacity() {
            self.runs.reserve_exact(added.max(old / 2));
        }
        self.runs.resize(old + added, 0);
        let (mut r, mut out) = (old, old + added);
        let mut samples = self.samples.chunk_by(|a, b| a == b).rev().peekable();
        while let Some(run) = samples.peek() {
            let slot = u32::from(run[0]);
            let top = r.checked_sub(1).map(|k| unpack(self.runs[k]));
            out -= 1;
            self.runs[out] = match top {
                Some((s, n)) if s > slot => {
                    r -= 1;
                    pack(s, n)
                }
                Some((s, n)) if s == slot => {
                    r -= 1;
                    pack(s, n + run.len() as u64)
                }
                _ => pack(slot, run.len() as u64),
            };
            if top.is_none_or(|(s, _)| s <= slot) {
                samples.next();
            }
        }
        self.samples.clear();
    }

    /// Merges the sample buffer and gives back spare room: the end of the run.
    pub fn shrink(&mut self) {
        if self.counts.is_empty() {
            self.compact();
            self.samples = Vec::new();
            self.runs.shrink_to_fit();
        }
    }

    /// Where `slot` is in the runs.
    fn find(&self, slot: u16) -> Result<usize, usize> {
        self.runs.binary_search_by_key(&u32::from(slot), |&e| unpack(e).0)
    }

    /// Turns the sparse samples into dense counts.
    #[cold]
    #[inline(never)]
    fn densify(&mut self) {
        let sparse = self.slot_counts();
        (self.counts, self.samples, self.runs) = (vec![0; SLOTS], Vec::new(), Vec::new());
        for (i, n) in sparse.iter() {
            self.add_dense(i as usize, n);
        }
    }

    /// Adds `n` samples to slot `i` of the dense counts.
    fn add_dense(&mut self, i: usize, n: u64) {
        let (sum, wrapped) = self.counts[i].overflowing_add(n as u16);
        self.counts[i] = sum;
        let high = (n >> 16) + u64::from(wrapped);
        if high > 0 {
            self.carry(i, high);
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
        self.slot_counts().iter().find(|&(s, _)| s as usize == i).map_or(0, |(_, n)| n)
    }

    /// True once the histogram keeps dense counts.
    #[cfg(test)]
    fn is_dense(&self) -> bool {
        !self.counts.is_empty()
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.samples.clear();
        self.runs.clear();
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

    /// The `q`-quantile of each of `qs` in seconds, or `None` when empty (see
    /// [`SlotCounts::quantiles_secs`]).
    pub fn quantiles_secs<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        self.slot_counts().quantiles_secs(qs)
    }

    /// The non-empty slots and their exact counts, read off the 16-bit counts and their
    /// carries in one pass (no dense copy).
    pub fn slot_counts(&self) -> SlotCounts {
        if self.counts.is_empty() {
            let mut sparse = self.clone();
            sparse.compact();
            return SlotCounts { slots: sparse.runs, len: self.len };
        }
        let mut carries = self.carries.iter().peekable();
        let slots = self
            .counts
            .iter()
            .enumerate()
            .filter_map(|(i, &low)| {
                let high = carries.next_if(|&&(slot, _)| slot == i).map_or(0, |&(_, high)| high);
                let n = (high << 16) + u64::from(low);
                (n > 0).then(|| pack(i as u32, n))
            })
            .collect();
        SlotCounts { slots, len: self.len }
    }

    /// [`LatencyHistogram::slot_counts`], leaving the histogram empty: a sparse one's runs
    /// move rather than being copied.
    pub fn take_slot_counts(&mut self) -> SlotCounts {
        if !self.counts.is_empty() {
            let counts = self.slot_counts();
            *self = LatencyHistogram::new();
            return counts;
        }
        self.compact();
        let taken = std::mem::take(self);
        SlotCounts { slots: taken.runs, len: taken.len }
    }

    /// The `q`-quantile in seconds, or `None` when empty (see [`Self::quantiles_secs`]).
    pub fn quantile_secs(&self, q: f64) -> Option<f64> {
        self.quantiles_secs([q])[0]
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if self.counts.is_empty() {
            self.densify();
        }
        for (i, n) in other.slot_counts().iter() {
            self.add_dense(i as usize, n);
        }
        self.len += other.len;
    }
}

/// Bits of a [`SlotCounts`] entry holding the count (the slot, under 2^16, above them):
/// 2^48 samples in one slot is centuries of simulation at today's event rates.
const COUNT_BITS: u32 = 48;

/// `(slot, count)` of a [`SlotCounts`] entry.
fn unpack(e: u64) -> (u32, u64) {
    ((e >> COUNT_BITS) as u32, e & ((1 << COUNT_BITS) - 1))
}

/// One entry of [`SlotCounts`]: `slot` and its count in one word.
fn pack(slot: u32, n: u64) -> u64 {
    (u64::from(slot) << COUNT_BITS) | n.min((1 << COUNT_BITS) - 1)
}

/// A latency histogram's non-empty slots as `(slot, count)` pairs in slot order, with
/// exact counts: at most one entry per sample and never more than the histogram's 38,912
/// slots (8 bytes each).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotCounts {
    /// `slot << 48 | count`, slots increasing, counts above zero.
    slots: Vec<u64>,
    /// Sum of the counts.
    len: u64,
}

impl SlotCounts {
    /// Most entries a histogram can have: one per slot.
    pub const MAX_ENTRIES: usize = SLOTS;
    /// Bytes an entry takes.
    pub const ENTRY_BYTES: usize = std::mem::size_of::<u64>();

    /// The `(slot, count)` pairs, slots increasing.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.slots.iter().map(|&e| unpack(e))
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of non-empty slots (what the histogram costs to keep).
    pub fn entries(&self) -> usize {
        self.slots.len()
    }

    /// The samples of every histogram of `parts` together. The sums are integers, so the
    /// pool is the same in any order.
    pub fn pooled<'a>(parts: impl IntoIterator<Item = &'a SlotCounts>) -> SlotCounts {
        let mut dense = vec![0u64; SLOTS];
        let mut len = 0;
        for part in parts {
            for (slot, n) in part.iter() {
                dense[slot as usize] += n;
            }
            len += part.len;
        }
        let slots = dense.iter().enumerate().filter(|&(_, &n)| n > 0).map(|(i, &n)| pack(i as u32, n)).collect();
        SlotCounts { slots, len }
    }

    /// Samples in slots wholly above `secs` (a quantile of [`Self::quantiles_secs`] is the
    /// highest value of its slot, so these are the samples above that quantile).
    pub fn count_above_secs(&self, secs: f64) -> u64 {
        let nanos = (secs * 1e9).round().clamp(1.0, MAX_NANOS as f64) as u64;
        let first = slot(nanos) as u32 + 1;
        self.iter().filter(|&(s, _)| s >= first).map(|(_, n)| n).sum()
    }

    /// The `q`-quantile of each of `qs` in seconds, or `None` when empty: with
    /// `rank = max(1, ⌈q·n⌉)`, the highest value equivalent to the slot where the running
    /// count reaches `rank` (its lowest value when `q` is 0). This is `hdrhistogram`'s
    /// `value_at_quantile` step for step (tested against the crate), so a replication's
    /// quantiles are the crate's to the bit.
    pub fn quantiles_secs<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        qs.map(|q| {
            let last = unpack(*self.slots.last()?);
            let rank = ((q.min(1.0) * self.len as f64).ceil() as u64).max(1);
            let mut seen = 0;
            let (slot, _) = self
                .iter()
                .find(|&(_, n)| {
                    seen += n;
                    seen >= rank
                })
                .unwrap_or(last);
            let slot = slot as usize;
            let nanos = if q == 0.0 { lowest_value(slot) } else { lowest_value(slot + 1) - 1 };
            Some(nanos as f64 / 1e9)
        })
    }
}

#[cfg(test)]
mod tests {
    use hdrhistogram::Histogram;

    use super::*;

    /// The same counts in an `hdrhistogram`, the reference for the quantile rule.
    fn to_hdr(h: &LatencyHistogram) -> Histogram<u64> {
        let mut theirs = Histogram::new_with_bounds(1, MAX_NANOS, 3).unwrap();
        for (slot, n) in h.slot_counts().iter() {
            theirs.saturating_record_n(lowest_value(slot as usize), n);
        }
        theirs
    }

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
        let mut a = LatencyHistogram::dense();
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
        assert_eq!(to_hdr(&b).len(), b.len());
    }

    #[test]
    fn a_sparse_histogram_counts_as_the_dense_one() {
        let mut sparse = LatencyHistogram::new();
        let mut dense = LatencyHistogram::dense();
        let all = values();
        for (k, &v) in all.iter().enumerate() {
            sparse.record(SimTime(v));
            dense.record(SimTime(v));
            // Right after the first merges of the buffer, and at the end.
            if [BUFFER - 1, BUFFER, BUFFER + 1, 5 * BUFFER + 7].contains(&k) {
                assert!(!sparse.is_dense());
                assert_eq!(sparse.slot_counts(), dense.slot_counts(), "after {k}");
                assert!(sparse.samples.capacity() <= sparse.buffer());
            }
        }
        // 200,000 samples over every magnitude fill more slots than the dense counts hold.
        assert!(sparse.is_dense(), "{} runs", sparse.runs.len());
        assert!(sparse.samples.capacity() == 0 && sparse.runs.capacity() == 0);
        assert_eq!(sparse.slot_counts(), dense.slot_counts());
        let mut merged = LatencyHistogram::new();
        merged.record(SimTime(5));
        merged.merge(&sparse);
        assert_eq!(merged.len(), sparse.len() + 1);
        assert_eq!(merged.count(slot(1)), sparse.count(slot(1)));
        // A narrow spread stays sparse however many samples: a few words.
        let mut narrow = LatencyHistogram::new();
        (0..100_000u64).for_each(|k| narrow.record(SimTime(1_000 + k % 500)));
        assert!(!narrow.is_dense() && narrow.runs.len() == 500, "{}", narrow.runs.len());
        assert_eq!(narrow.count(slot(1_100)), 200);
    }

    #[test]
    fn slot_counts_are_exact_with_carries() {
        let mut a = LatencyHistogram::new();
        // A slot with exactly 2^16 samples: its 16-bit count is 0, its carry 1.
        (0..1 << 16).for_each(|_| a.record(SimTime(7_000)));
        a.record(SimTime(3));
        let c = a.slot_counts();
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![(slot(3) as u32, 1), (slot(7_000) as u32, 1 << 16)]);
        assert_eq!((c.len(), c.entries()), (a.len(), 2));
        assert!(LatencyHistogram::new().slot_counts().is_empty());
    }

    #[test]
    fn pooled_quantiles_equal_the_crates_on_every_sample() {
        let all = values();
        let mut theirs = Histogram::<u64>::new_with_bounds(1, MAX_NANOS, 3).unwrap();
        let mut parts: Vec<LatencyHistogram> = (0..3).map(|_| LatencyHistogram::new()).collect();
        for (k, &v) in all.iter().enumerate() {
            parts[k % 3].record(SimTime(v));
            theirs.saturating_record(v.clamp(1, MAX_NANOS));
        }
        let counts: Vec<SlotCounts> = parts.iter().map(LatencyHistogram::slot_counts).collect();
        let pooled = SlotCounts::pooled(&counts);
        // Integer sums: the order of the parts does not matter.
        assert_eq!(pooled, SlotCounts::pooled([&counts[2], &counts[0], &counts[1]]));
        assert_eq!(pooled.len(), theirs.len());
        let qs = [0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 0.99999, 1.0];
        assert_eq!(pooled.quantiles_secs(qs), qs.map(|q| Some(theirs.value_at_quantile(q) as f64 / 1e9)));
        assert_eq!(SlotCounts::pooled([]).quantiles_secs([0.5]), [None]);
    }
}
