//! Fixed-memory sliding windows of call outcomes: resilience4j's
//! `FixedSizeSlidingWindowMetrics` (the last N calls) and `SlidingTimeWindowMetrics` (the
//! last N one-second buckets), keeping counts only: the breaker reads no durations beyond
//! the slow flag, so the windows keep none.

use super::WindowConfig;
use crate::engine::SimTime;

/// Counts of the calls in a window (resilience4j's `Snapshot`, without durations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Calls recorded (`getTotalNumberOfCalls`).
    pub calls: u64,
    /// Failed calls, slow or not (`getNumberOfFailedCalls`).
    pub failures: u64,
    /// Slow calls, failed or not (`getTotalNumberOfSlowCalls`).
    pub slow: u64,
    /// Calls both slow and failed (`getNumberOfSlowFailedCalls`).
    pub slow_failures: u64,
}

impl Tally {
    /// Calls that did not fail (`getNumberOfSuccessfulCalls`).
    pub fn successes(&self) -> u64 {
        self.calls - self.failures
    }

    /// Slow calls that did not fail (`getNumberOfSlowSuccessfulCalls`).
    pub fn slow_successes(&self) -> u64 {
        self.slow - self.slow_failures
    }

    /// Failed calls in percent of all calls, 0 without calls (`getFailureRate`).
    pub fn failure_rate(&self) -> f64 {
        self.percent(self.failures)
    }

    /// Slow calls in percent of all calls, 0 without calls (`getSlowCallRate`).
    pub fn slow_call_rate(&self) -> f64 {
        self.percent(self.slow)
    }

    fn percent(&self, k: u64) -> f64 {
        if self.calls == 0 { 0.0 } else { k as f64 * 100.0 / self.calls as f64 }
    }

    pub(super) fn add(&mut self, failed: bool, slow: bool) {
        self.calls += 1;
        self.failures += u64::from(failed);
        self.slow += u64::from(slow);
        self.slow_failures += u64::from(failed && slow);
    }

    fn remove(&mut self, old: Tally) {
        self.calls -= old.calls;
        self.failures -= old.failures;
        self.slow -= old.slow;
        self.slow_failures -= old.slow_failures;
    }

    /// resilience4j's test: either rate at or above its threshold (percent).
    pub(super) fn exceeds(&self, cfg: &WindowConfig) -> bool {
        self.calls > 0
            && (self.failure_rate() >= cfg.failure_rate_threshold
                || self.slow_call_rate() >= cfg.slow_call_rate_threshold)
    }
}

/// The last N calls (a ring of outcomes: bit 0 failed, bit 1 slow), or the last N seconds
/// (a ring of one-second tallies; `head` is the latest second recorded).
#[derive(Clone, Debug)]
enum Ring {
    Count { ring: Vec<u8>, next: usize, len: usize, total: Tally },
    Time { buckets: Vec<Tally>, head: u64, total: Tally },
}

/// A sliding window of call outcomes; see the module documentation.
#[derive(Clone, Debug)]
pub struct Window(Ring);

impl Window {
    /// The last `size` calls (at least 1).
    pub fn count(size: u32) -> Self {
        Window(Ring::Count { ring: vec![0; size.max(1) as usize], next: 0, len: 0, total: Tally::default() })
    }

    /// The last `secs` seconds (at least 1), in one-second buckets aligned on whole seconds
    /// of simulated time: a call at second `s` is forgotten from second `s + secs` on.
    pub fn time(secs: u32) -> Self {
        Window(Ring::Time { buckets: vec![Tally::default(); secs.max(1) as usize], head: 0, total: Tally::default() })
    }

    /// True for a window of the last N calls.
    pub fn is_count(&self) -> bool {
        matches!(self.0, Ring::Count { .. })
    }

    /// Records one outcome at `now` and returns the window's totals afterwards.
    pub fn record(&mut self, now: SimTime, failed: bool, slow: bool) -> Tally {
        match &mut self.0 {
            Ring::Count { ring, next, len, total } => {
                if *len == ring.len() {
                    total.remove(bits(ring[*next]));
                } else {
                    *len += 1;
                }
                ring[*next] = u8::from(failed) | (u8::from(slow) << 1);
                *next = (*next + 1) % ring.len();
                total.add(failed, slow);
                *total
            }
            Ring::Time { buckets, head, total } => {
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

    /// The window's totals at `now`, without recording (`getSnapshot`): a time window
    /// leaves out the seconds that have slid out by then.
    pub fn snapshot(&self, now: SimTime) -> Tally {
        match &self.0 {
            Ring::Count { total, .. } => *total,
            Ring::Time { buckets, head, total } => {
                let n = buckets.len() as u64;
                let sec = now.0 / SimTime::NANOS_PER_SEC;
                let mut t = *total;
                // Seconds head-n+1 ..= head are held; those up to sec-n have slid out.
                if let Some(last_gone) = sec.checked_sub(n) {
                    for s in (*head + 1).saturating_sub(n)..=last_gone.min(*head) {
                        t.remove(buckets[(s % n) as usize]);
                    }
                }
                t
            }
        }
    }

    /// Forgets every call.
    pub fn clear(&mut self) {
        match &mut self.0 {
            Ring::Count { next, len, total, .. } => (*next, *len, *total) = (0, 0, Tally::default()),
            Ring::Time { buckets, total, .. } => {
                buckets.fill(Tally::default());
                *total = Tally::default();
            }
        }
    }
}

/// The tally of one call stored in a count ring.
fn bits(b: u8) -> Tally {
    let (failed, slow) = (u64::from(b & 1), u64::from(b >> 1));
    Tally { calls: 1, failures: failed, slow, slow_failures: failed & slow }
}
