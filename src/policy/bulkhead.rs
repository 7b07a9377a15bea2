//! Semaphore bulkhead on a call edge: at most `max_concurrent` calls in flight, the rest
//! wait in a FIFO line for at most `max_wait` (or are refused at once).
//!
//! Semantics follow resilience4j's `SemaphoreBulkhead` (`maxConcurrentCalls`,
//! `maxWaitDuration`; a wait of zero rejects at once), which is the seeds' S3
//! `SemaphoreBulkhead` and S4 "wait ≤ 1 s for a permit" variant (spec §1.4.a). With an
//! optional bound on the waiting line (`max_waiting`) it also covers S2's non-blocking
//! "size + queue_size" bulkhead, i.e. an M/M/c/K admission rule: test vector 48 (size 5,
//! queue 5, 20 simultaneous tasks → 10 accepted, 10 rejected) is checked below.
//!
//! The engine drives it:
//! - [`Bulkhead::try_acquire`] on each call: granted, queued until a deadline, or rejected.
//! - [`Bulkhead::release`] when a call that holds a permit finishes. The permit is handed
//!   *directly* to the oldest waiter (no barging: a new arrival never overtakes the line),
//!   whose token is returned so the engine can start that call.
//! - [`Bulkhead::time_out`] / [`Bulkhead::cancel`] when a waiter's deadline timer fires or
//!   its caller gives up (e.g. its own timeout). Because every waiter gets the same
//!   `max_wait` and time never goes back, deadlines are FIFO-ordered: the waiter that
//!   times out is the oldest one, found in O(1). A caller giving up mid-line is found by a
//!   scan and marked with a tombstone that is discarded when it reaches the front.
//!   Alternatively the engine can keep a single timer at [`Bulkhead::next_deadline`] and
//!   call [`Bulkhead::expire`].
//!
//! The waiting line is a `VecDeque` sized at construction (to `max_waiting` when given);
//! tombstones are compacted in place, so steady-state operation does not allocate. Time
//! enters only through `now`, so the statistics (including the time-average number of
//! permits in use, an exact integer integral) are deterministic.

use std::collections::VecDeque;

use crate::engine::SimTime;

/// Initial room in the waiting line when `max_waiting` is unbounded.
const DEFAULT_QUEUE_CAPACITY: usize = 64;

/// Configuration of one semaphore bulkhead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkheadConfig {
    /// Permits: the most calls in flight at once. Zero refuses every call.
    pub max_concurrent: u32,
    /// Longest a call may wait for a permit; [`SimTime::ZERO`] rejects at once when no
    /// permit is free, [`SimTime::MAX`] waits forever.
    pub max_wait: SimTime,
    /// Most calls allowed to wait at once (the seeds' "queue size"); `None` is unbounded.
    pub max_waiting: Option<u32>,
}

impl BulkheadConfig {
    /// `max_concurrent` permits, waiting at most `max_wait`, with an unbounded waiting line.
    pub const fn new(max_concurrent: u32, max_wait: SimTime) -> Self {
        Self { max_concurrent, max_wait, max_waiting: None }
    }

    /// The same configuration with at most `max_waiting` calls waiting at once.
    pub const fn with_max_waiting(self, max_waiting: u32) -> Self {
        Self { max_waiting: Some(max_waiting), ..self }
    }
}

impl Default for BulkheadConfig {
    /// resilience4j's defaults: 25 concurrent calls, no waiting.
    fn default() -> Self {
        Self::new(25, SimTime::ZERO)
    }
}

/// The answer to [`Bulkhead::try_acquire`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquire {
    /// A permit was taken; the call may start now.
    Granted,
    /// No permit is free; the call waits in line. It either gets a permit from a later
    /// [`Bulkhead::release`] (which returns its token) or times out at `deadline`.
    Queued {
        /// When the wait ends without a permit (`now + max_wait`, saturating).
        deadline: SimTime,
    },
    /// No permit is free and the call may not wait (zero `max_wait`, or the line is full).
    Rejected,
}

/// Counters since construction or the last [`Bulkhead::reset_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkheadStats {
    /// Permits given out, at once or after waiting.
    pub granted: u64,
    /// Of `granted`, those handed to a waiter by [`Bulkhead::release`].
    pub granted_after_wait: u64,
    /// Calls that started waiting.
    pub queued: u64,
    /// Calls refused at once.
    pub rejected: u64,
    /// Waiters whose deadline passed without a permit.
    pub timed_out: u64,
    /// Waiters withdrawn by [`Bulkhead::cancel`].
    pub cancelled: u64,
    /// Most permits in use at once.
    pub max_in_use: u32,
    /// Most calls waiting at once.
    pub max_waiting: u32,
}

/// One entry of the waiting line; `live == false` is a tombstone.
#[derive(Clone, Copy, Debug)]
struct Waiter {
    token: u32,
    deadline: SimTime,
    live: bool,
}

/// A semaphore bulkhead with a FIFO line of waiters identified by caller-chosen tokens.
///
/// Invariant: the front of the line, if any, is a live waiter (tombstones are trimmed
/// eagerly from the front), so the front carries the earliest deadline.
#[derive(Clone, Debug)]
pub struct Bulkhead {
    config: BulkheadConfig,
    in_use: u32,
    /// Live waiters (the line may also hold tombstones).
    waiting: u32,
    line: VecDeque<Waiter>,
    stats: BulkheadStats,
    /// ∫ in_use dt in permit·nanoseconds since `stats_since`.
    in_use_integral: u128,
    stats_since: SimTime,
    last_change: SimTime,
}

impl Bulkhead {
    /// A bulkhead with every permit free, its statistics starting at time zero.
    pub fn new(config: BulkheadConfig) -> Self {
        let capacity = match config.max_waiting {
            Some(n) => n as usize,
            None if config.max_wait == SimTime::ZERO => 0,
            None => DEFAULT_QUEUE_CAPACITY,
        };
        Self {
            config,
            in_use: 0,
            waiting: 0,
            line: VecDeque::with_capacity(capacity),
            stats: BulkheadStats::default(),
            in_use_integral: 0,
            stats_since: SimTime::ZERO,
            last_change: SimTime::ZERO,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BulkheadConfig {
        &self.config
    }

    /// Permits held now.
    pub fn in_use(&self) -> u32 {
        self.in_use
    }

    /// Permits free now.
    pub fn available(&self) -> u32 {
        self.config.max_concurrent.saturating_sub(self.in_use)
    }

    /// Calls waiting now.
    pub fn waiting(&self) -> u32 {
        self.waiting
    }

    /// Asks for a permit at `now` for the call identified by `token` (unique among the
    /// calls waiting on this bulkhead).
    pub fn try_acquire(&mut self, now: SimTime, token: u32) -> Acquire {
        self.advance(now);
        // Waiters are served first: a permit freed while someone waits goes to them, so a
        // free permit with a non-empty line cannot happen; checking both keeps it FIFO.
        if self.in_use < self.config.max_concurrent && self.waiting == 0 {
            self.in_use += 1;
            self.stats.granted += 1;
            self.stats.max_in_use = self.stats.max_in_use.max(self.in_use);
            return Acquire::Granted;
        }
        let room = self.config.max_waiting.is_none_or(|max| self.waiting < max);
        if self.config.max_wait == SimTime::ZERO || !room {
            self.stats.rejected += 1;
            return Acquire::Rejected;
        }
        let deadline = now + self.config.max_wait;
        self.line.push_back(Waiter { token, deadline, live: true });
        self.waiting += 1;
        self.stats.queued += 1;
        self.stats.max_waiting = self.stats.max_waiting.max(self.waiting);
        Acquire::Queued { deadline }
    }

    /// Returns a permit at `now`. If a call is waiting, the permit passes straight to the
    /// oldest one and its token is returned (the number in use does not change);
    /// otherwise the permit becomes free and `None` is returned.
    ///
    /// A waiter whose deadline is already *before* `now` is not served: it is dropped and
    /// counted as timed out (an engine that fires its deadline timers on time never sees
    /// this; one at exactly `now` is still served). Releasing with no permit in use is a
    /// no-op.
    pub fn release(&mut self, now: SimTime) -> Option<u32> {
        self.advance(now);
        while let Some(waiter) = self.line.pop_front() {
            if !waiter.live {
                continue;
            }
            self.waiting -= 1;
            if waiter.deadline < now {
                self.stats.timed_out += 1;
                continue;
            }
            self.trim_front();
            self.stats.granted += 1;
            self.stats.granted_after_wait += 1;
            return Some(waiter.token);
        }
        self.in_use = self.in_use.saturating_sub(1);
        None
    }

    /// Withdraws the waiter `token` because its caller gave up; returns whether it was
    /// waiting (false if it already got a permit, timed out, or never waited).
    pub fn cancel(&mut self, token: u32) -> bool {
        let removed = self.remove(token);
        if removed {
            self.stats.cancelled += 1;
        }
        removed
    }

    /// Withdraws the waiter `token` because its deadline passed; returns whether it was
    /// waiting. Like [`Bulkhead::cancel`] but counted as a timeout. O(1) for the usual
    /// case (the oldest waiter times out first).
    pub fn time_out(&mut self, token: u32) -> bool {
        let removed = self.remove(token);
        if removed {
            self.stats.timed_out += 1;
        }
        removed
    }

    /// The earliest deadline among the waiters (that of the oldest one), if any.
    pub fn next_deadline(&self) -> Option<SimTime> {
        self.line.front().map(|w| w.deadline)
    }

    /// Removes and returns the oldest waiter if its deadline is at or before `now`,
    /// counting it as timed out. Call repeatedly until `None` to expire all that are due.
    pub fn expire(&mut self, now: SimTime) -> Option<u32> {
        let front = *self.line.front()?;
        if front.deadline > now {
            return None;
        }
        self.line.pop_front();
        self.waiting -= 1;
        self.trim_front();
        self.stats.timed_out += 1;
        Some(front.token)
    }

    /// The counters since construction or the last reset.
    pub fn stats(&self) -> &BulkheadStats {
        &self.stats
    }

    /// Time-average number of permits in use from the last reset (or time zero) to `now`;
    /// the current number when no time has passed.
    pub fn mean_in_use(&self, now: SimTime) -> f64 {
        let span = now.saturating_sub(self.stats_since).0;
        if span == 0 {
            return f64::from(self.in_use);
        }
        let tail = u128::from(self.in_use) * u128::from(now.saturating_sub(self.last_change).0);
        (self.in_use_integral + tail) as f64 / span as f64
    }

    /// Time-average share of permits in use up to `now` (0 for a zero-permit bulkhead).
    pub fn utilization(&self, now: SimTime) -> f64 {
        if self.config.max_concurrent == 0 {
            return 0.0;
        }
        self.mean_in_use(now) / f64::from(self.config.max_concurrent)
    }

    /// Clears the counters and restarts the time average at `now` (end of warm-up). The
    /// maxima restart from the current occupancy.
    pub fn reset_stats(&mut self, now: SimTime) {
        self.stats = BulkheadStats { max_in_use: self.in_use, max_waiting: self.waiting, ..BulkheadStats::default() };
        self.in_use_integral = 0;
        self.stats_since = now;
        self.last_change = now;
    }

    /// Accumulates the in-use integral up to `now`.
    fn advance(&mut self, now: SimTime) {
        let dt = now.saturating_sub(self.last_change).0;
        self.in_use_integral += u128::from(self.in_use) * u128::from(dt);
        self.last_change = self.last_change.max(now);
    }

    /// Tombstones the oldest live waiter with `token`; returns whether one was found.
    fn remove(&mut self, token: u32) -> bool {
        let Some(index) = self.line.iter().position(|w| w.live && w.token == token) else {
            return false;
        };
        if index == 0 {
            self.line.pop_front();
            self.trim_front();
        } else if index + 1 == self.line.len() {
            self.line.pop_back();
        } else if let Some(w) = self.line.get_mut(index) {
            w.live = false;
        }
        self.waiting -= 1;
        // Keep tombstones from piling up between live waiters; `retain` works in place.
        if self.line.len() > 2 * self.waiting as usize + 16 {
            self.line.retain(|w| w.live);
        }
        true
    }

    /// Restores the invariant that the front of the line is live.
    fn trim_front(&mut self) {
        while self.line.front().is_some_and(|w| !w.live) {
            self.line.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn t(ms: u64) -> SimTime {
        SimTime(ms * MS)
    }

    #[test]
    fn seed_vector_48_flood_of_20_into_size_5_queue_5() {
        // S2:983-995: 20 tasks of 0.5 s submitted at once; size 5 + queue 5, no timeout.
        let mut b = Bulkhead::new(BulkheadConfig::new(5, SimTime::MAX).with_max_waiting(5));
        let answers: Vec<Acquire> = (0..20).map(|token| b.try_acquire(t(0), token)).collect();
        assert!(answers[..5].iter().all(|a| *a == Acquire::Granted));
        assert!(answers[5..10].iter().all(|a| *a == Acquire::Queued { deadline: SimTime::MAX }));
        assert!(answers[10..].iter().all(|a| *a == Acquire::Rejected));
        // At 0.5 s the first five finish and hand their permits to tokens 5..10 in order.
        let handed: Vec<Option<u32>> = (0..5).map(|_| b.release(t(500))).collect();
        assert_eq!(handed, vec![Some(5), Some(6), Some(7), Some(8), Some(9)]);
        assert_eq!((b.in_use(), b.waiting()), (5, 0));
        for _ in 0..5 {
            assert_eq!(b.release(t(1000)), None);
        }
        let s = b.stats();
        assert_eq!((s.granted, s.rejected, s.queued, s.granted_after_wait), (10, 10, 5, 5));
        assert_eq!((s.max_in_use, s.max_waiting, s.timed_out), (5, 5, 0));
        assert_eq!(b.in_use(), 0);
        assert_eq!(b.mean_in_use(t(1000)), 5.0);
        assert_eq!(b.utilization(t(2000)), 0.5);
    }

    #[test]
    fn zero_wait_rejects_at_once() {
        // S3 simple pool / resilience4j default: M/M/c/c.
        let mut b = Bulkhead::new(BulkheadConfig::new(5, SimTime::ZERO));
        let granted = (0..20).filter(|&k| b.try_acquire(t(0), k) == Acquire::Granted).count();
        assert_eq!(granted, 5);
        assert_eq!((b.stats().rejected, b.stats().queued, b.waiting()), (15, 0, 0));
        assert_eq!(b.release(t(1)), None);
        assert_eq!(b.available(), 1);
        assert_eq!(b.try_acquire(t(1), 99), Acquire::Granted);
    }

    #[test]
    fn zero_permits_refuse_everything() {
        let mut b = Bulkhead::new(BulkheadConfig::new(0, t(10)).with_max_waiting(0));
        assert_eq!(b.try_acquire(t(0), 1), Acquire::Rejected);
        assert_eq!(b.release(t(0)), None);
        assert_eq!(b.in_use(), 0);
        assert_eq!(b.utilization(t(5)), 0.0);
    }

    #[test]
    fn waiters_are_served_fifo_and_new_arrivals_do_not_barge() {
        let mut b = Bulkhead::new(BulkheadConfig::new(1, t(100)));
        assert_eq!(b.try_acquire(t(0), 1), Acquire::Granted);
        assert_eq!(b.try_acquire(t(1), 2), Acquire::Queued { deadline: t(101) });
        assert_eq!(b.try_acquire(t(2), 3), Acquire::Queued { deadline: t(102) });
        assert_eq!(b.release(t(10)), Some(2));
        // Token 3 still waits; a newcomer queues behind it even though it arrives "at" a release.
        assert_eq!(b.try_acquire(t(10), 4), Acquire::Queued { deadline: t(110) });
        assert_eq!(b.release(t(20)), Some(3));
        assert_eq!(b.release(t(30)), Some(4));
        assert_eq!(b.release(t(40)), None);
        assert_eq!((b.in_use(), b.stats().granted, b.stats().granted_after_wait), (0, 4, 3));
    }

    #[test]
    fn timeouts_by_token_and_by_expire() {
        let mut b = Bulkhead::new(BulkheadConfig::new(1, t(50)));
        b.try_acquire(t(0), 1);
        b.try_acquire(t(0), 2);
        b.try_acquire(t(10), 3);
        b.try_acquire(t(20), 4);
        assert_eq!(b.next_deadline(), Some(t(50)));
        // Engine-timer style: the oldest waiter times out first.
        assert!(b.time_out(2));
        assert!(!b.time_out(2), "a waiter times out once");
        assert_eq!(b.next_deadline(), Some(t(60)));
        // Single-timer style.
        assert_eq!(b.expire(t(59)), None);
        assert_eq!(b.expire(t(60)), Some(3));
        assert_eq!(b.expire(t(60)), None);
        assert_eq!(b.next_deadline(), Some(t(70)));
        assert_eq!(b.release(t(65)), Some(4));
        assert_eq!(b.next_deadline(), None);
        assert_eq!((b.stats().timed_out, b.waiting(), b.in_use()), (2, 0, 1));
    }

    #[test]
    fn release_skips_a_waiter_whose_deadline_passed() {
        let mut b = Bulkhead::new(BulkheadConfig::new(1, t(50)));
        b.try_acquire(t(0), 1);
        b.try_acquire(t(0), 2); // deadline 50
        b.try_acquire(t(30), 3); // deadline 80
        assert_eq!(b.release(t(60)), Some(3));
        assert_eq!(b.stats().timed_out, 1);
        assert!(!b.time_out(2), "already expired by the release");
        // A deadline exactly at the release instant is still served.
        b.try_acquire(t(60), 4); // deadline 110
        assert_eq!(b.release(t(110)), Some(4));
    }

    #[test]
    fn cancel_in_the_middle_keeps_order_and_counts() {
        let mut b = Bulkhead::new(BulkheadConfig::new(1, SimTime::MAX).with_max_waiting(3));
        b.try_acquire(t(0), 10);
        for token in [11, 12, 13] {
            assert!(matches!(b.try_acquire(t(0), token), Acquire::Queued { .. }));
        }
        assert_eq!(b.try_acquire(t(0), 14), Acquire::Rejected, "line full");
        assert!(b.cancel(12));
        assert!(!b.cancel(12));
        assert!(!b.cancel(77));
        assert_eq!(b.waiting(), 2);
        // The freed place in line can be taken again.
        assert!(matches!(b.try_acquire(t(1), 15), Acquire::Queued { .. }));
        assert_eq!(b.release(t(2)), Some(11));
        assert_eq!(b.release(t(3)), Some(13), "the tombstone of 12 is skipped");
        assert_eq!(b.release(t(4)), Some(15));
        assert_eq!(b.release(t(5)), None);
        let s = b.stats();
        assert_eq!((s.cancelled, s.rejected, s.queued, s.granted), (1, 1, 4, 4));
    }

    #[test]
    fn many_mid_line_cancels_are_compacted_without_losing_order() {
        let mut b = Bulkhead::new(BulkheadConfig::new(1, SimTime::MAX));
        b.try_acquire(t(0), 0);
        for token in 1..=200 {
            b.try_acquire(t(0), token);
        }
        // Cancel every waiter except those divisible by 50, never the first or last.
        for token in 2..200 {
            if token % 50 != 0 {
                assert!(b.cancel(token));
            }
        }
        assert_eq!(b.waiting(), 5);
        assert!(b.line.len() <= 2 * 5 + 16 + 1);
        let served: Vec<Option<u32>> = (0..6).map(|k| b.release(t(k))).collect();
        assert_eq!(served, vec![Some(1), Some(50), Some(100), Some(150), Some(200), None]);
    }

    #[test]
    fn time_average_in_use_and_reset() {
        let mut b = Bulkhead::new(BulkheadConfig::new(4, SimTime::ZERO));
        b.try_acquire(t(0), 1);
        b.try_acquire(t(0), 2);
        assert_eq!(b.mean_in_use(t(0)), 2.0, "no time elapsed: the current value");
        b.release(t(1000));
        b.release(t(1000));
        // 2 permits for 1 s, then none for 1 s.
        assert_eq!(b.mean_in_use(t(2000)), 1.0);
        assert_eq!(b.utilization(t(2000)), 0.25);
        b.try_acquire(t(2000), 3);
        b.reset_stats(t(3000));
        assert_eq!(*b.stats(), BulkheadStats { max_in_use: 1, ..BulkheadStats::default() });
        assert_eq!(b.mean_in_use(t(4000)), 1.0);
        b.try_acquire(t(4000), 4);
        assert_eq!(b.mean_in_use(t(5000)), 1.5);
        assert_eq!(b.stats().max_in_use, 2);
    }

    #[test]
    fn stray_release_is_harmless() {
        let mut b = Bulkhead::new(BulkheadConfig::default());
        assert_eq!(b.release(t(0)), None);
        assert_eq!(b.in_use(), 0);
        assert_eq!(b.available(), 25);
    }
}
