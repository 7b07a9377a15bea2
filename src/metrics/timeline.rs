//! Outcome counts, retries and coarse latency buckets in fixed windows of simulated time:
//! the shape of an incident, in memory that grows with what was counted.
//!
//! The window simulated time is in is counted apart, densely, in fixed places: an answer
//! costs one range check and an increment. When time leaves the window its non-zero counts
//! are appended to one list of packed words (window, kind, count). A service of a
//! 20,000-service graph answers a few requests per window, so a window costs it a few
//! words, where dense windows cost 2.4 KB each whether anything happened or not.

use super::{Outcome, OutcomeCounts, buckets};
use crate::engine::SimTime;

/// Bits of a packed word holding the count; above them the kind, above that the window.
const COUNT_BITS: u32 = 34;
/// Bits of a packed word holding the kind.
const KIND_BITS: u32 = 10;
/// The largest count one word holds; larger counts take several words (readers add them).
const MAX_COUNT: u64 = (1 << COUNT_BITS) - 1;
/// Kind of the retries counter (0..6 are the outcomes).
const RETRIES: usize = Outcome::ALL.len();
/// Kind of latency bucket 0 (bucket `b` is `LATENCY + b`).
const LATENCY: usize = RETRIES + 2;
const _: () = assert!(LATENCY + buckets::BUCKETS <= 1 << KIND_BITS);
const _: () = assert!(crate::scenario::validate::MAX_WINDOWS < 1 << (64 - COUNT_BITS - KIND_BITS));

/// Latencies an open window keeps as a list of buckets before its timeline counts them
/// densely (and keeps doing so): 128 bytes, against 2.3 KB of dense buckets.
const LISTED: usize = 64;
/// Words of the touched-bucket bitmap of the open window.
const TOUCHED_WORDS: usize = buckets::BUCKETS.div_ceil(64);

/// Outcome counts in fixed windows of simulated time (see the module doc).
///
/// For latency SLOs it also counts, per window and in all, the successful requests slower
/// than each of a few thresholds (`slow`, window-major: `slow[window * k + threshold]`).
/// With no thresholds that costs one branch per answer.
///
/// Call [`Timeline::flush`] before reading the windows.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// Start of the first window.
    pub start: SimTime,
    /// Window length.
    pub window: SimTime,
    /// Number of windows.
    windows: usize,
    /// Latency thresholds of the SLOs on this workload or service.
    pub thresholds: Vec<SimTime>,
    /// Successful requests slower than each threshold, per window (window-major).
    pub slow: Vec<u64>,
    /// Successful requests slower than each threshold, in all.
    pub slow_total: Vec<u64>,
    /// Closed counts, `window << 44 | kind << 34 | count`, in the order windows closed.
    closed: Vec<u64>,
    /// Whether latencies are bucketed per window.
    latency: bool,
    /// The open window as `[lo, hi)` in ns, and its index (`None`: outside the timeline,
    /// its counts are dropped). Simulated time only moves forward, so most answers fall in it.
    lo: u64,
    hi: u64,
    open: Option<usize>,
    /// The open window's counts and retries.
    open_counts: OutcomeCounts,
    open_retries: u64,
    /// The open window's latencies: as the list of their buckets (at most [`LISTED`]; a
    /// timeline without latencies never lays it out), or once a window had more, as
    /// `BUCKETS` dense counts with a bitmap of the non-zero ones.
    open_listed: Vec<u16>,
    open_latency: Vec<u32>,
    touched: [u64; TOUCHED_WORDS],
}

impl Timeline {
    /// `n` empty windows of length `window` from `start`.
    pub fn new(start: SimTime, window: SimTime, n: usize) -> Self {
        Self { start, window: window.max(SimTime(1)), windows: n, ..Self::default() }
    }

    /// The same timeline, also counting successful requests slower than each of `thresholds`.
    pub fn with_thresholds(mut self, thresholds: Vec<SimTime>) -> Self {
        self.slow = vec![0; self.windows * thresholds.len()];
        self.slow_total = vec![0; thresholds.len()];
        self.thresholds = thresholds;
        self
    }

    /// The same timeline, also keeping a coarse latency histogram per window.
    pub fn with_latency(mut self) -> Self {
        self.latency = true;
        self
    }

    /// Number of windows.
    pub fn window_count(&self) -> usize {
        self.windows
    }

    /// Index of the window containing `now`, if inside the timeline; opens that window.
    #[inline(always)]
    pub(super) fn index(&mut self, now: SimTime) -> Option<usize> {
        if !(self.lo..self.hi).contains(&now.0) {
            self.open_at(now);
        }
        self.open
    }

    /// Closes the open window and opens the one containing `now` (once per window).
    #[cold]
    #[inline(never)]
    fn open_at(&mut self, now: SimTime) {
        self.flush();
        if self.windows == 0 {
            (self.lo, self.hi, self.open) = (0, u64::MAX, None);
        } else if now < self.start {
            (self.lo, self.hi, self.open) = (0, self.start.0, None);
        } else {
            // An outcome at exactly the end of the run (or later) belongs to the last window.
            let last = self.windows - 1;
            let i = (((now - self.start).0 / self.window.0) as usize).min(last);
            let lo = self.start.0 + i as u64 * self.window.0;
            (self.lo, self.hi, self.open) = (lo, if i == last { u64::MAX } else { lo + self.window.0 }, Some(i));
        }
    }

    /// Appends `count` of `kind` in window `i`, in words of at most [`MAX_COUNT`].
    fn append(&mut self, i: usize, kind: usize, mut count: u64) {
        if count == 0 {
            return;
        }
        self.make_words();
        let key = ((i as u64) << KIND_BITS | kind as u64) << COUNT_BITS;
        while count > 0 {
            let part = count.min(MAX_COUNT);
            self.closed.push(key | part);
            count -= part;
        }
    }

    /// Room for one more closed word: the list grows by half (not twice) when full, since
    /// a large model holds thousands of them.
    fn make_words(&mut self) {
        if self.closed.len() == self.closed.capacity() {
            self.closed.reserve_exact(self.closed.len() / 2 + 8);
        }
    }

    /// Moves the open window's counts into the closed list (idempotent: they restart from
    /// zero). Everything recorded so far can be read after this.
    pub fn flush(&mut self) {
        if let Some(i) = self.open {
            for (kind, c) in self.open_counts.0.into_iter().enumerate() {
                self.append(i, kind, c);
            }
            self.append(i, RETRIES, self.open_retries);
        }
        let mut listed = std::mem::take(&mut self.open_listed);
        listed.sort_unstable();
        if let Some(i) = self.open {
            for run in listed.chunk_by(|a, b| a == b) {
                self.append(i, LATENCY + usize::from(run[0]), run.len() as u64);
            }
        }
        listed.clear();
        self.open_listed = listed;
        for w in 0..TOUCHED_WORDS {
            let mut bits = std::mem::take(&mut self.touched[w]);
            while bits != 0 {
                let b = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let c = std::mem::take(&mut self.open_latency[b]);
                if let Some(i) = self.open {
                    self.append(i, LATENCY + b, u64::from(c));
                }
            }
        }
        self.open_counts = OutcomeCounts::default();
        self.open_retries = 0;
    }

    /// Flushes the open window and gives back what only recording needed (the open
    /// window's buckets, the list's spare room): the end of the run.
    pub fn close(&mut self) {
        self.flush();
        (self.open_listed, self.open_latency) = (Vec::new(), Vec::new());
        self.closed.shrink_to_fit();
    }

    /// Counts `outcome` in the window containing `now` (ignored outside the timeline).
    #[inline]
    pub fn add(&mut self, now: SimTime, outcome: Outcome) {
        self.index(now);
        self.open_counts.add(outcome);
    }

    /// Counts a retry started at `now` in its window.
    #[inline]
    pub fn add_retry(&mut self, now: SimTime) {
        if self.index(now).is_some() {
            self.open_retries += 1;
        }
    }

    /// Counts a successful request answered at `now` after `latency` against every
    /// threshold it exceeds.
    #[inline]
    pub fn add_latency(&mut self, now: SimTime, latency: SimTime) {
        self.index(now);
        self.add_latency_open(latency);
    }

    /// [`Timeline::add`] and [`Timeline::add_latency`] with one window lookup.
    #[inline(always)]
    pub fn add_success(&mut self, now: SimTime, outcome: Outcome, latency: SimTime) {
        self.index(now);
        self.open_counts.add(outcome);
        self.add_latency_open(latency);
    }

    #[inline(always)]
    fn add_latency_open(&mut self, latency: SimTime) {
        let b = buckets::bucket(latency);
        // Dense, the bounds check is the test; listed, the room left is (no room without
        // latencies, or when the list is full).
        if let Some(c) = self.open_latency.get_mut(b) {
            *c += 1;
            self.touched[b / 64] |= 1 << (b % 64);
        } else if self.open_listed.len() < self.open_listed.capacity() {
            self.open_listed.push(b as u16);
        } else if self.latency {
            self.make_room(b);
        }
        if !self.thresholds.is_empty() {
            self.count_slow(latency);
        }
    }

    /// Records bucket `b` when the list is full: it doubles up to [`LISTED`], past which the
    /// timeline counts densely from now on.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, b: usize) {
        let len = self.open_listed.len();
        if len < LISTED {
            self.open_listed.reserve_exact(len.max(4).min(LISTED - len));
            self.open_listed.push(b as u16);
            return;
        }
        self.open_latency = vec![0; buckets::BUCKETS];
        for b in std::mem::take(&mut self.open_listed).into_iter().chain([b as u16]).map(usize::from) {
            self.open_latency[b] += 1;
            self.touched[b / 64] |= 1 << (b % 64);
        }
    }

    fn count_slow(&mut self, latency: SimTime) {
        let k = self.thresholds.len();
        for (j, &t) in self.thresholds.iter().enumerate() {
            if latency > t {
                self.slow_total[j] += 1;
                if let Some(i) = self.open {
                    self.slow[i * k + j] += 1;
                }
            }
        }
    }

    /// Slow requests over threshold `j`, window by window.
    pub fn slow_series(&self, j: usize) -> impl Iterator<Item = u64> + '_ {
        let k = self.thresholds.len().max(1);
        self.slow.iter().skip(j).step_by(k).copied()
    }

    /// The closed words as `(window, kind, count)`.
    fn entries(&self) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
        self.closed.iter().map(|&e| {
            let key = e >> COUNT_BITS;
            ((key >> KIND_BITS) as usize, (key & ((1 << KIND_BITS) - 1)) as usize, e & MAX_COUNT)
        })
    }

    /// Outcome counts per window.
    pub fn outcome_windows(&self) -> Vec<OutcomeCounts> {
        let mut windows = vec![OutcomeCounts::default(); self.windows];
        for (i, kind, c) in self.entries().filter(|&(_, kind, _)| kind < RETRIES) {
            windows[i].0[kind] += c;
        }
        windows
    }

    /// Outcome counts over every window.
    pub fn outcome_totals(&self) -> OutcomeCounts {
        let mut all = OutcomeCounts::default();
        self.entries().filter(|&(_, kind, _)| kind < RETRIES).for_each(|(_, kind, c)| all.0[kind] += c);
        all
    }

    /// Retries per window.
    pub fn retry_windows(&self) -> Vec<u64> {
        let mut windows = vec![0; self.windows];
        self.entries().filter(|&(_, kind, _)| kind == RETRIES).for_each(|(i, _, c)| windows[i] += c);
        windows
    }

    /// Latencies of successful requests per window, in coarse log buckets (empty
    /// histograms unless asked for with [`Timeline::with_latency`]).
    pub fn latency_windows(&self) -> Vec<buckets::Sparse> {
        let mut words: Vec<(usize, usize, u64)> = self.entries().filter(|&(_, kind, _)| kind >= LATENCY).collect();
        words.sort_unstable_by_key(|&(i, kind, _)| (i, kind));
        let mut windows = vec![buckets::Sparse::new(); self.windows];
        for (i, kind, c) in words {
            let (b, w) = ((kind - LATENCY) as u16, &mut windows[i]);
            match w.last_mut() {
                Some((last, n)) if *last == b => *n = n.saturating_add(c as u32),
                _ => w.push((b, c.min(u64::from(u32::MAX)) as u32)),
            }
        }
        windows
    }

    /// Bytes held beyond the struct itself.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        (self.closed.capacity() + self.slow.capacity() + self.slow_total.capacity()) * 8
            + self.thresholds.capacity() * 8
            + self.open_latency.capacity() * 4
            + self.open_listed.capacity() * 2
    }

    /// Zeroes every window.
    pub fn reset(&mut self) {
        (self.lo, self.hi, self.open) = (0, 0, None);
        self.open_counts = OutcomeCounts::default();
        self.open_retries = 0;
        self.open_latency.iter_mut().for_each(|c| *c = 0);
        self.open_listed.clear();
        self.touched = [0; TOUCHED_WORDS];
        self.closed.clear();
        self.slow.iter_mut().for_each(|c| *c = 0);
        self.slow_total.iter_mut().for_each(|c| *c = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_counts_slow_answers_per_threshold_and_window() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut t = Timeline::new(ms(1000), ms(100), 3).with_thresholds(vec![ms(50), ms(200)]);
        t.add_latency(ms(1010), ms(50)); // at the threshold: good for both
        t.add_latency(ms(1020), ms(51)); // slow for 50 ms only
        t.add_latency(ms(1150), ms(300)); // slow for both, window 1
        t.add_latency(ms(999), ms(300)); // before the timeline: counted in all, no window
        t.add_latency(ms(1300), ms(300)); // exactly at the end: the last window
        assert_eq!(t.slow_total, vec![4, 3]);
        assert_eq!(t.slow_series(0).collect::<Vec<_>>(), vec![1, 1, 1]);
        assert_eq!(t.slow_series(1).collect::<Vec<_>>(), vec![0, 1, 1]);
        t.reset();
        assert_eq!(t.slow_total, vec![0, 0]);
        assert!(t.slow.iter().all(|&c| c == 0));
        // Without thresholds nothing is kept.
        let mut plain = Timeline::new(SimTime::ZERO, ms(100), 3);
        plain.add_latency(ms(10), ms(500));
        assert!(plain.slow.is_empty() && plain.slow_total.is_empty());
        plain.flush();
        assert!(plain.latency_windows().iter().all(Vec::is_empty));
    }

    #[test]
    fn timeline_open_window_lands_in_its_window_when_flushed() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut t = Timeline::new(ms(1000), ms(100), 3).with_latency();
        t.add_success(ms(999), Outcome::Ok, ms(5)); // before the timeline: dropped
        t.add_success(ms(1000), Outcome::Ok, ms(5));
        t.add(ms(1099), Outcome::Error);
        t.add_retry(ms(1099));
        t.add_success(ms(1100), Outcome::Degraded, ms(7)); // leaves window 0: it is added in
        assert_eq!(t.outcome_windows()[0].total(), 2);
        assert_eq!(t.outcome_windows()[1].total(), 0, "the open window is counted apart until a flush");
        t.flush();
        t.flush(); // idempotent
        let w = t.outcome_windows();
        assert_eq!((w[1].get(Outcome::Degraded), w[1].total()), (1, 1));
        t.add(ms(5000), Outcome::Timeout); // past the end: the last window
        t.add(ms(1001), Outcome::Ok); // back in an earlier window: still counted there
        t.add_success(ms(1002), Outcome::Ok, ms(5));
        t.flush();
        assert_eq!(t.outcome_windows().iter().map(OutcomeCounts::total).collect::<Vec<_>>(), vec![4, 1, 1]);
        assert_eq!(t.retry_windows(), vec![1, 0, 0]);
        let latency = t.latency_windows();
        // Window 0 was closed twice: its two words for bucket(5 ms) are one entry.
        assert_eq!(latency[0], vec![(buckets::bucket(ms(5)) as u16, 2)]);
        assert_eq!(latency[1], vec![(buckets::bucket(ms(7)) as u16, 1)]);
        assert!(latency[2].is_empty());
        t.add(ms(1000), Outcome::Ok);
        t.reset();
        t.flush();
        assert!(t.outcome_windows().iter().all(|w| w.total() == 0) && t.latency_windows().iter().all(Vec::is_empty));
    }

    #[test]
    fn counts_past_a_word_take_several() {
        let mut t = Timeline::new(SimTime::ZERO, SimTime(10), 2);
        t.add(SimTime(1), Outcome::Ok);
        t.open_counts.0[0] = 3 * MAX_COUNT + 2;
        t.flush();
        assert_eq!(t.closed.len(), 4);
        assert_eq!(t.outcome_windows()[0].get(Outcome::Ok), 3 * MAX_COUNT + 2);
    }

    #[test]
    fn an_idle_window_costs_nothing() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut t = Timeline::new(SimTime::ZERO, ms(100), 1000).with_latency();
        assert_eq!(t.heap_bytes(), 0, "no latency recorded: no buckets laid out");
        for k in 0..1000 {
            t.add_success(ms(100 * k + 1), Outcome::Ok, ms(3));
        }
        t.flush();
        // Two words a window (the outcome and its one latency bucket), and a short list.
        assert!(t.closed.len() == 2000, "{}", t.closed.len());
        assert!(t.heap_bytes() <= 2 * 2000 * 8 + 8, "{}", t.heap_bytes());
        t.close();
        assert_eq!(t.heap_bytes(), 2000 * 8);
    }

    #[test]
    fn a_busy_window_turns_the_timeline_dense_with_the_same_counts() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut t = Timeline::new(SimTime::ZERO, ms(100), 3).with_latency();
        // Window 0: a listed few; window 1: more than a list holds; window 2: dense.
        for k in 0..5 {
            t.add_success(ms(1), Outcome::Ok, ms(k + 1));
        }
        for k in 0..(LISTED as u64 + 10) {
            t.add_success(ms(101), Outcome::Ok, ms(k % 7 + 1));
        }
        assert!(!t.open_latency.is_empty() && t.open_listed.is_empty());
        t.add_success(ms(201), Outcome::Ok, ms(2));
        t.flush();
        let l = t.latency_windows();
        let b = |x| buckets::bucket(ms(x)) as u16;
        assert_eq!(l[0], (1..=5).map(|x| (b(x), 1)).collect::<Vec<_>>());
        let busy: u32 = l[1].iter().map(|&(_, c)| c).sum();
        assert_eq!((busy, l[1].len()), (LISTED as u32 + 10, 7));
        assert_eq!(l[1][0], (b(1), 11));
        assert_eq!(l[2], vec![(b(2), 1)]);
    }
}
