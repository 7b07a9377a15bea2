//! Rate limiters: a token bucket in exact integer arithmetic, and resilience4j's
//! fixed-cycle `RateLimiter` (tower's `RateLimit`, the third kind of [`LimiterConfig`], is
//! in [`crate::policy::tower_rate`]).
//!
//! **Token bucket** ([`TokenBucket`]): tokens flow in at a constant rate up to a capacity
//! (`burst`); each admission takes one; the bucket starts full. The rate is a fraction,
//! `tokens` per `period`, and the fill level is kept in units of 1/`period.0` token, so a
//! nanosecond of elapsed time adds exactly `tokens` units and one token costs exactly
//! `period.0` units. There is no rounding anywhere: over any span T, with demand at
//! every instant, the bucket admits exactly ⌊burst + rate·T⌋ requests (test below), no
//! matter how the span is cut into calls. A rate given as `f64` is turned into such a
//! fraction once, at construction, with a resolution of 10⁻⁶ tokens/s.
//!
//! **Fixed-cycle limiter** ([`CycleLimiter`]): resilience4j's `AtomicRateLimiter`.
//! Time since the limiter's creation is cut into cycles of `limit_refresh_period`; at the
//! start of each cycle the permissions are topped up by `limit_for_period` for every
//! elapsed cycle, never above `limit_for_period` (no carry-over of unused permits beyond
//! one period). A caller that finds no permission may *reserve* one from a future cycle
//! if it would wait at most `timeout_duration` (the permission count goes negative);
//! otherwise it is rejected, and a timeout of zero rejects at once. The engine delays a
//! reserved call by the returned wait.
//!
//! Both are clock-free: `now` comes from the engine and must not go backwards (an
//! earlier `now` is treated as no time elapsed).

use crate::engine::SimTime;

/// Configuration of a [`TokenBucket`]: `tokens` per `period`, at most `burst` stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBucketConfig {
    /// Tokens added per `period` (zero: the bucket never refills).
    pub tokens: u64,
    /// The span over which `tokens` are added (must be positive; zero is read as 1 ns).
    pub period: SimTime,
    /// Capacity of the bucket, which also starts full.
    pub burst: u32,
}

impl TokenBucketConfig {
    /// `rate` tokens per second, with capacity `burst`.
    pub const fn per_second(rate: u64, burst: u32) -> Self {
        Self { tokens: rate, period: SimTime::from_secs(1), burst }
    }

    /// A rate in tokens per second as a float, rounded to 10⁻⁶ tokens/s (negative or NaN
    /// rates give a bucket that never refills).
    pub fn from_rate(rate_per_sec: f64, burst: u32) -> Self {
        // tokens per 10^6 s = tokens per 10^15 ns; reduce the fraction to keep numbers small.
        const PERIOD_NS: u64 = 1_000_000_000_000_000;
        let tokens = (rate_per_sec * 1e6).round() as u64; // `as` saturates; NaN → 0
        let g = gcd(tokens, PERIOD_NS); // ≥ 1 since PERIOD_NS ≠ 0
        Self { tokens: tokens / g, period: SimTime(PERIOD_NS / g), burst }
    }

    /// The rate in tokens per second.
    pub fn rate_per_sec(&self) -> f64 {
        self.tokens as f64 / self.period.0.max(1) as f64 * 1e9
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Admission counts of a limiter since construction or the last `reset_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateStats {
    /// Requests let through (at once or after a reserved wait).
    pub admitted: u64,
    /// Requests refused.
    pub rejected: u64,
}

/// A token bucket; see the module docs.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    config: TokenBucketConfig,
    /// Units per token: `period` in nanoseconds.
    cost: u128,
    /// Fill level in units (`cost` units = one token).
    level: u128,
    /// `burst · cost`.
    capacity: u128,
    last: SimTime,
    stats: RateStats,
}

impl TokenBucket {
    /// A full bucket at time zero.
    pub fn new(config: TokenBucketConfig) -> Self {
        let cost = u128::from(config.period.0.max(1));
        let capacity = u128::from(config.burst) * cost;
        Self { config, cost, level: capacity, capacity, last: SimTime::ZERO, stats: RateStats::default() }
    }

    /// The configuration.
    pub fn config(&self) -> &TokenBucketConfig {
        &self.config
    }

    /// Takes one token at `now` if there is one; returns whether the request is admitted.
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        self.refill(now);
        if self.level >= self.cost {
            self.level -= self.cost;
            self.stats.admitted += 1;
            true
        } else {
            self.stats.rejected += 1;
            false
        }
    }

    /// Whole tokens in the bucket at `now`.
    pub fn available(&mut self, now: SimTime) -> u32 {
        self.refill(now);
        // At most `burst`, so the conversion cannot fail.
        u32::try_from(self.level / self.cost).unwrap_or(u32::MAX)
    }

    /// How long after `now` until one token is available (zero if one is there now);
    /// `None` if it never will be (no refill, or a zero capacity).
    pub fn time_until_available(&mut self, now: SimTime) -> Option<SimTime> {
        self.refill(now);
        if self.level >= self.cost {
            return Some(SimTime::ZERO);
        }
        if self.config.tokens == 0 || self.capacity < self.cost {
            return None;
        }
        let missing = self.cost - self.level;
        let ns = missing.div_ceil(u128::from(self.config.tokens));
        Some(SimTime(u64::try_from(ns).unwrap_or(u64::MAX)))
    }

    /// The counters since construction or the last reset.
    pub fn stats(&self) -> &RateStats {
        &self.stats
    }

    /// Clears the counters (the bucket's contents are kept).
    pub fn reset_stats(&mut self) {
        self.stats = RateStats::default();
    }

    fn refill(&mut self, now: SimTime) {
        let dt = u128::from(now.saturating_sub(self.last).0);
        let added = dt.saturating_mul(u128::from(self.config.tokens));
        self.level = self.level.saturating_add(added).min(self.capacity);
        self.last = self.last.max(now);
    }
}

/// A client-side rate limiter of either kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimiterConfig {
    /// A token bucket: a call without a token is refused.
    TokenBucket(TokenBucketConfig),
    /// resilience4j's `RateLimiter`: a call waits for a permission, up to its timeout.
    Cycle(CycleLimiterConfig),
    /// tower's `RateLimit` under `load_shed`: a call while it is limited is refused
    /// ([`crate::policy::tower_rate`]).
    Tower(crate::policy::tower_rate::TowerRateConfig),
}

/// Configuration of a [`CycleLimiter`] (resilience4j `RateLimiterConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleLimiterConfig {
    /// Permissions available in each cycle.
    pub limit_for_period: u32,
    /// Length of a cycle (must be positive; zero is read as 1 ns).
    pub limit_refresh_period: SimTime,
    /// Longest a caller may wait for a permission; zero rejects at once.
    pub timeout_duration: SimTime,
}

impl Default for CycleLimiterConfig {
    /// resilience4j's `RateLimiterConfig` defaults: 50 permissions every 500 ns, callers wait
    /// up to 5 s.
    fn default() -> Self {
        Self { limit_for_period: 50, limit_refresh_period: SimTime(500), timeout_duration: SimTime::from_secs(5) }
    }
}

/// The answer to [`CycleLimiter::try_acquire`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateAcquire {
    /// A permission is free now.
    Now,
    /// A permission from a later cycle was reserved; the call may proceed after this wait.
    After(SimTime),
    /// No permission within the timeout.
    Rejected,
}

/// resilience4j's `AtomicRateLimiter`; see the module docs.
#[derive(Clone, Debug)]
pub struct CycleLimiter {
    config: CycleLimiterConfig,
    /// Time origin of the cycles.
    start: SimTime,
    period: u64,
    active_cycle: u64,
    /// May be negative: permissions already reserved from future cycles.
    permissions: i64,
    stats: RateStats,
}

impl CycleLimiter {
    /// A limiter whose first cycle begins at `start`, with a full cycle's permissions.
    pub fn new(config: CycleLimiterConfig, start: SimTime) -> Self {
        Self {
            config,
            start,
            period: config.limit_refresh_period.0.max(1),
            active_cycle: 0,
            permissions: i64::from(config.limit_for_period),
            stats: RateStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CycleLimiterConfig {
        &self.config
    }

    /// Asks for one permission at `now`, waiting at most the configured `timeout_duration`.
    pub fn try_acquire(&mut self, now: SimTime) -> RateAcquire {
        self.try_acquire_within(now, self.config.timeout_duration)
    }

    /// Asks for one permission at `now`, waiting at most `timeout` (zero: only a free one,
    /// as a hedge asks: it is sent now or not at all).
    pub fn try_acquire_within(&mut self, now: SimTime, timeout: SimTime) -> RateAcquire {
        let (cycle, permissions, wait) = self.project(now);
        (self.active_cycle, self.permissions) = (cycle, permissions);
        let Some(wait) = wait.filter(|w| *w <= timeout) else {
            self.stats.rejected += 1;
            return RateAcquire::Rejected;
        };
        self.permissions -= 1;
        self.stats.admitted += 1;
        if wait == SimTime::ZERO { RateAcquire::Now } else { RateAcquire::After(wait) }
    }

    /// The cycle `now` falls in, counted from the limiter's start (resilience4j's
    /// `AtomicRateLimiterMetrics.getCycle()`).
    pub fn cycle_at(&self, now: SimTime) -> u64 {
        self.project(now).0
    }

    /// The permissions there would be at `now`, before any is taken (negative: reserved
    /// ahead); `getAvailablePermissions()`.
    pub fn permissions_at(&self, now: SimTime) -> i64 {
        self.project(now).1
    }

    /// How long a caller asking at `now` would wait, timeout aside; `None` when no permission
    /// ever comes (a limit of zero); `getNanosToWait()`.
    pub fn wait_at(&self, now: SimTime) -> Option<SimTime> {
        self.project(now).2
    }

    /// resilience4j's `calculateNextState` without the reservation: the cycle at `now`, the
    /// permissions after topping up every elapsed cycle (never above one cycle's worth), and
    /// the wait for one permission.
    fn project(&self, now: SimTime) -> (u64, i64, Option<SimTime>) {
        let limit = i64::from(self.config.limit_for_period);
        let elapsed = now.saturating_sub(self.start).0;
        let cycle = (elapsed / self.period).max(self.active_cycle);
        let mut permissions = self.permissions;
        if cycle > self.active_cycle {
            let elapsed_cycles = i64::try_from(cycle - self.active_cycle).unwrap_or(i64::MAX);
            permissions = permissions.saturating_add(elapsed_cycles.saturating_mul(limit)).min(limit);
        }
        let wait = if permissions >= 1 {
            Some(0)
        } else if limit == 0 {
            None
        } else {
            let to_next_cycle = (cycle + 1).saturating_mul(self.period).saturating_sub(elapsed);
            // Permissions still missing after the next cycle's top-up, in whole cycles.
            let missing = 1 - (permissions + limit);
            let full_cycles = if missing > 0 { (missing as u64).div_ceil(limit as u64) } else { 0 };
            Some(full_cycles.saturating_mul(self.period).saturating_add(to_next_cycle))
        };
        (cycle, permissions, wait.map(SimTime))
    }

    /// Permissions left in the current cycle as of the last call (negative: reserved ahead).
    pub fn permissions(&self) -> i64 {
        self.permissions
    }

    /// The counters since construction or the last reset.
    pub fn stats(&self) -> &RateStats {
        &self.stats
    }

    /// Clears the counters (the permissions are kept).
    pub fn reset_stats(&mut self) {
        self.stats = RateStats::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn burst_then_steady_rate() {
        let mut b = TokenBucket::new(TokenBucketConfig::per_second(10, 5));
        let first: Vec<bool> = (0..6).map(|_| b.try_acquire(ms(0))).collect();
        assert_eq!(first, vec![true, true, true, true, true, false]);
        // One token every 100 ms from then on.
        assert!(!b.try_acquire(ms(99)));
        assert!(b.try_acquire(ms(100)));
        assert!(!b.try_acquire(ms(150)));
        assert_eq!(b.time_until_available(ms(150)), Some(ms(50)));
        assert!(b.try_acquire(ms(200)));
        assert!(!b.try_acquire(ms(200)));
        assert_eq!(*b.stats(), RateStats { admitted: 7, rejected: 4 });
    }

    #[test]
    fn long_idle_refills_only_to_burst() {
        let mut b = TokenBucket::new(TokenBucketConfig::per_second(1000, 3));
        while b.try_acquire(ms(0)) {}
        let hour = SimTime::from_secs(3600);
        assert_eq!(b.available(hour), 3);
        let admitted = (0..10).filter(|_| b.try_acquire(hour)).count();
        assert_eq!(admitted, 3);
        assert_eq!(b.time_until_available(hour), Some(SimTime(1_000_000)));
    }

    #[test]
    fn exactly_rate_times_t_admissions_over_t() {
        // 7 tokens per 3 s (2.333.../s: not a whole number of nanoseconds per token),
        // demand every millisecond for 3000 s after draining the burst at t = 0. (A burst
        // of 2 keeps the bucket from filling between visits, where a full bucket would
        // rightly discard the surplus.)
        let cfg = TokenBucketConfig { tokens: 7, period: SimTime::from_secs(3), burst: 2 };
        let mut b = TokenBucket::new(cfg);
        assert!(b.try_acquire(SimTime::ZERO) && b.try_acquire(SimTime::ZERO));
        let t_end_ms = 3_000_000;
        let admitted = (1..=t_end_ms).filter(|&k| b.try_acquire(ms(k))).count();
        assert_eq!(admitted, 7000);
        // The same span cut differently (every 7.77 ms, then exactly at the end) agrees.
        let mut c = TokenBucket::new(cfg);
        assert!(c.try_acquire(SimTime::ZERO) && c.try_acquire(SimTime::ZERO));
        let end = ms(t_end_ms);
        let mut count = 0;
        let mut now = SimTime::ZERO;
        while now < end {
            now = (now + SimTime(7_770_000)).min(end);
            // Drain whatever is there at each visit.
            while c.try_acquire(now) {
                count += 1;
            }
        }
        assert_eq!(count, 7000);
    }

    #[test]
    fn float_rates_become_exact_fractions() {
        assert_eq!(TokenBucketConfig::from_rate(100.0, 2), TokenBucketConfig { tokens: 1, period: ms(10), burst: 2 });
        let third = TokenBucketConfig::from_rate(0.5, 1);
        assert_eq!((third.tokens, third.period), (1, SimTime::from_secs(2)));
        assert!((TokenBucketConfig::from_rate(2.5, 1).rate_per_sec() - 2.5).abs() < 1e-12);
        let never = TokenBucketConfig::from_rate(f64::NAN, 1);
        let mut b = TokenBucket::new(never);
        assert!(b.try_acquire(ms(0)));
        assert!(!b.try_acquire(SimTime::from_secs(1_000_000)));
        assert_eq!(b.time_until_available(ms(0)), None);
    }

    #[test]
    fn zero_burst_admits_nothing() {
        let mut b = TokenBucket::new(TokenBucketConfig::per_second(100, 0));
        assert!(!b.try_acquire(SimTime::from_secs(10)));
        assert_eq!(b.time_until_available(SimTime::from_secs(10)), None);
        b.reset_stats();
        assert_eq!(*b.stats(), RateStats::default());
    }

    #[test]
    fn cycle_limiter_without_timeout_rejects_at_once() {
        let cfg =
            CycleLimiterConfig { limit_for_period: 2, limit_refresh_period: ms(100), timeout_duration: SimTime::ZERO };
        let mut l = CycleLimiter::new(cfg, SimTime::ZERO);
        assert_eq!(l.try_acquire(ms(0)), RateAcquire::Now);
        assert_eq!(l.try_acquire(ms(10)), RateAcquire::Now);
        assert_eq!(l.try_acquire(ms(20)), RateAcquire::Rejected);
        assert_eq!(l.try_acquire(ms(99)), RateAcquire::Rejected);
        // New cycle: topped up to the limit, never above it after a long pause.
        assert_eq!(l.try_acquire(ms(100)), RateAcquire::Now);
        assert_eq!(l.try_acquire(ms(1000)), RateAcquire::Now);
        assert_eq!(l.try_acquire(ms(1000)), RateAcquire::Now);
        assert_eq!(l.try_acquire(ms(1000)), RateAcquire::Rejected);
        assert_eq!(*l.stats(), RateStats { admitted: 5, rejected: 3 });
    }

    #[test]
    fn cycle_limiter_reserves_future_permissions_within_timeout() {
        let cfg = CycleLimiterConfig { limit_for_period: 2, limit_refresh_period: ms(100), timeout_duration: ms(150) };
        let mut l = CycleLimiter::new(cfg, ms(1000));
        assert_eq!(l.try_acquire(ms(1010)), RateAcquire::Now);
        assert_eq!(l.try_acquire(ms(1010)), RateAcquire::Now);
        // Next cycle starts at 1100: wait 90 ms for either of its two permissions.
        assert_eq!(l.try_acquire(ms(1010)), RateAcquire::After(ms(90)));
        assert_eq!(l.try_acquire(ms(1010)), RateAcquire::After(ms(90)));
        // The cycle after that: 190 ms > 150 ms timeout, rejected without reserving.
        assert_eq!(l.try_acquire(ms(1010)), RateAcquire::Rejected);
        assert_eq!(l.permissions(), -2);
        // At 1100 the top-up pays back the reservations: none left, wait for 1200.
        assert_eq!(l.try_acquire(ms(1100)), RateAcquire::After(ms(100)));
        assert_eq!(l.permissions(), -1);
        // Before the start time nothing has elapsed (cycle 0).
        let mut m = CycleLimiter::new(cfg, ms(1000));
        assert_eq!(m.try_acquire(ms(0)), RateAcquire::Now);
    }

    #[test]
    fn cycle_limiter_with_zero_limit_rejects() {
        let cfg = CycleLimiterConfig { limit_for_period: 0, limit_refresh_period: ms(1), timeout_duration: ms(1000) };
        let mut l = CycleLimiter::new(cfg, SimTime::ZERO);
        assert_eq!(l.try_acquire(ms(5)), RateAcquire::Rejected);
        l.reset_stats();
        assert_eq!(l.stats().rejected, 0);
    }
}
