//! Fixed-memory sliding windows of call outcomes.

use super::WindowConfig;
use crate::engine::SimTime;

/// Counts of recorded calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub(super) calls: u64,
    pub(super) failures: u64,
    pub(super) slow: u64,
}

impl Tally {
    pub(super) fn add(&mut self, failed: bool, slow: bool) {
        self.calls += 1;
        self.failures += u64::from(failed);
        self.slow += u64::from(slow);
    }

    fn remove(&mut self, old: Tally) {
        self.calls -= old.calls;
        self.failures -= old.failures;
        self.slow -= old.slow;
    }

    /// resilience4j's test: either rate at or above its threshold (percent).
    pub(super) fn exceeds(&self, cfg: &WindowConfig) -> bool {
        let pct = |k: u64| k as f64 * 100.0 / self.calls as f64;
        self.calls > 0
            && (pct(self.failures) >= cfg.failure_rate_threshold || pct(self.slow) >= cfg.slow_call_rate_threshold)
    }
}

/// The last N calls (a ring of outcomes: bit 0 failed, bit 1 slow), or the last N seconds
/// (a ring of one-second tallies; `head` is the latest second recorded).
#[derive(Clone, Debug)]
pub(super) enum Window {
    Count { ring: Vec<u8>, next: usize, len: usize, total: Tally },
    Time { buckets: Vec<Tally>, head: u64, total: Tally },
}

impl Window {
    pub(super) fn count(size: u32) -> Self {
        Window::Count { ring: vec![0; size as usize], next: 0, len: 0, total: Tally::default() }
    }

    pub(super) fn time(secs: u32) -> Self {
        Window::Time { buckets: vec![Tally::default(); secs as usize], head: 0, total: Tally::default() }
    }

    pub(super) fn is_count(&self) -> bool {
        matches!(self, Window::Count { .. })
    }

    /// Records one outcome at `now` and returns the window's totals afterwards.
    pub(super) fn record(&mut self, now: SimTime, failed: bool, slow: bool) -> Tally {
        match self {
            Window::Count { ring, next, len, total } => {
                if *len == ring.len() {
                    let old = ring[*next];
                    total.remove(Tally { calls: 1, failures: u64::from(old & 1), slow: u64::from(old >> 1) });
                } else {
                    *len += 1;
                }
                ring[*next] = u8::from(failed) | (u8::from(slow) << 1);
                *next = (*next + 1) % ring.len();
                total.add(failed, slow);
                *total
            }
            Window::Time { buckets, head, total } => {
                let n = buckets.len() as u64;
                let sec = now.0 / SimTime::NANOS_PER_SEC;
                if sec > *head {
                    // Empty the buckets of the seconds skipped over (all of them after a gap >= N).
                    for s in sec + 1 - (sec - *head).min(n)..=sec {
                        let bucket = &mut buckets[(s % n) as usize];
                        total.remove(*bucket);
                        *bucket = Tally::default();
                    }
                    *head = sec;
                }
                buckets[(*head % n) as usize].add(failed, slow);
                total.add(failed, slow);
                *total
            }
        }
    }

    pub(super) fn clear(&mut self) {
        match self {
            Window::Count { next, len, total, .. } => (*next, *len, *total) = (0, 0, Tally::default()),
            Window::Time { buckets, total, .. } => {
                buckets.fill(Tally::default());
                *total = Tally::default();
            }
        }
    }
}
