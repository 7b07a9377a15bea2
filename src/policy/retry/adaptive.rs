//! The AWS SDKs' adaptive retry mode: a client-side rate limiter whose rate follows
//! CUBIC (Ha, Rhee and Xu, 2008), cut on every throttling answer and grown cubically
//! otherwise, on top of the standard mode's retry quota.
//!
//! Transcribed from botocore's `retries/adaptive.py` (`ClientRateLimiter`,
//! `RateClocker`), `retries/throttling.py` (`CubicCalculator`) and `retries/bucket.py`
//! (`TokenBucket`):
//!
//! - [`RateClocker`] measures the client's response rate in half-second buckets,
//!   smoothed `0.8·new + 0.2·old`.
//! - [`CubicCalculator`]: after a throttle at rate `w_max`, the rate is `β·w_max`
//!   (β = 0.7) and then `C·(t − K)³ + w_max` with `C = 0.4` and
//!   `K = ∛(w_max·(1 − β)/C)`, which is back at `w_max` after `K` seconds.
//! - [`RateBucket`]: a token bucket filling at the rate (at least 0.5/s), holding at
//!   most `max(rate, 1)` tokens.
//! - [`ClientRateLimiter`]: idle until the first throttle; then each send takes a token
//!   or waits for one. After every response the bucket's rate becomes the CUBIC rate,
//!   but never more than twice the measured rate.
//!
//! Throttling answers are resim's `rejected` outcomes (HTTP 429, a shed, a full
//! bulkhead or rate limit downstream); every other outcome, timeouts and errors
//! included, counts as "not throttled", as botocore's throttling detector does.
//!
//! Times are read in seconds as `f64`, as botocore's clock; the difference of two
//! [`SimTime`]s is exact in nanoseconds before the conversion.

use crate::engine::SimTime;

/// Tokens treated as a whole one: the refill of a wait computed in whole nanoseconds
/// may fall short of 1 by a rounding error, which would only cause a second 1 ns wait.
const TOKEN_EPS: f64 = 1e-9;

/// How far the rate may rise above the measured one (`_MAX_RATE_ADJUST_SCALE`).
const MAX_RATE_ADJUST_SCALE: f64 = 2.0;

/// Width of a [`RateClocker`] bucket in seconds (`_TIME_BUCKET_RANGE`).
const TIME_BUCKET_RANGE: f64 = 0.5;

/// Parameters of the adaptive mode; the defaults are botocore's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveConfig {
    /// Multiplicative cut on a throttle (`_BETA` 0.7).
    pub beta: f64,
    /// CUBIC's scale constant `C` (`_SCALE_CONSTANT` 0.4).
    pub scale_constant: f64,
    /// Weight of the newest bucket in the measured rate (`_DEFAULT_SMOOTHING` 0.8).
    pub smoothing: f64,
    /// Slowest fill rate in tokens per second (`TokenBucket._MIN_RATE` 0.5).
    pub min_fill_rate: f64,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self { beta: 0.7, scale_constant: 0.4, smoothing: 0.8, min_fill_rate: 0.5 }
    }
}

/// Seconds of `t` (simulated time, as botocore's clock reads it).
fn secs(t: SimTime) -> f64 {
    t.as_secs_f64()
}

/// CUBIC's rate as a function of the time since the last throttle (botocore's
/// `CubicCalculator`).
#[derive(Clone, Debug, PartialEq)]
pub struct CubicCalculator {
    w_max: f64,
    k: f64,
    last_fail: f64,
    scale_constant: f64,
    beta: f64,
}

impl CubicCalculator {
    /// A calculator whose last maximum was `starting_max_rate`, as if throttled at `start`.
    pub fn new(starting_max_rate: f64, start: f64, scale_constant: f64, beta: f64) -> Self {
        let mut c = Self { w_max: starting_max_rate, k: 0.0, last_fail: start, scale_constant, beta };
        c.k = c.zero_point();
        c
    }

    fn zero_point(&self) -> f64 {
        (self.w_max * (1.0 - self.beta) / self.scale_constant).cbrt()
    }

    /// The rate at `t` seconds when the answer was not a throttle.
    pub fn success_received(&self, t: f64) -> f64 {
        self.scale_constant * (t - self.last_fail - self.k).powi(3) + self.w_max
    }

    /// A throttle at `t` seconds while sending at `current_rate`: that rate becomes the
    /// new maximum, and the returned rate is `β` times it.
    pub fn error_received(&mut self, current_rate: f64, t: f64) -> f64 {
        self.w_max = current_rate;
        self.k = self.zero_point();
        self.last_fail = t;
        current_rate * self.beta
    }

    /// `(w_max, K, last_fail)`, botocore's `get_params_snapshot`.
    pub fn params(&self) -> (f64, f64, f64) {
        (self.w_max, self.k, self.last_fail)
    }
}

/// The client's measured response rate (botocore's `RateClocker`).
#[derive(Clone, Debug, PartialEq)]
pub struct RateClocker {
    smoothing: f64,
    measured: f64,
    last_bucket: f64,
    count: u64,
}

impl RateClocker {
    /// A clock started at `t` seconds (its first bucket starts at `⌊t⌋`, as botocore's).
    pub fn new(t: f64, smoothing: f64) -> Self {
        Self { smoothing, measured: 0.0, last_bucket: t.floor(), count: 0 }
    }

    /// One response at `t` seconds; returns the measured rate. Responses are counted per
    /// half-second bucket; when a later bucket starts, the count over the buckets since
    /// the last update becomes the new rate, smoothed.
    pub fn record(&mut self, t: f64) -> f64 {
        let scale = 1.0 / TIME_BUCKET_RANGE;
        let bucket = (t * scale).floor() / scale;
        self.count += 1;
        if bucket > self.last_bucket {
            let current = self.count as f64 / (bucket - self.last_bucket);
            self.measured = current * self.smoothing + self.measured * (1.0 - self.smoothing);
            self.count = 0;
            self.last_bucket = bucket;
        }
        self.measured
    }

    /// The measured rate.
    pub fn measured_rate(&self) -> f64 {
        self.measured
    }
}

/// May a request go now?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Send now (a token was taken, or the limiter is idle).
    Now,
    /// No token: ask again after this long (botocore sleeps and retries likewise).
    Wait(SimTime),
}

/// A token bucket whose rate can change (botocore's `TokenBucket`).
#[derive(Clone, Debug, PartialEq)]
pub struct RateBucket {
    fill_rate: f64,
    max_capacity: f64,
    capacity: f64,
    last: Option<SimTime>,
    min_rate: f64,
}

impl RateBucket {
    /// An empty bucket filling at `max_rate` (at least `min_rate`) from `now`.
    pub fn new(max_rate: f64, min_rate: f64, now: SimTime) -> Self {
        let mut b = Self { fill_rate: 0.0, max_capacity: 1.0, capacity: 0.0, last: None, min_rate };
        b.set_max_rate(max_rate, now);
        b
    }

    fn refill(&mut self, now: SimTime) {
        if let Some(last) = self.last {
            let fill = secs(now.saturating_sub(last)) * self.fill_rate;
            self.capacity = (self.capacity + fill).min(self.max_capacity);
        }
        self.last = Some(now);
    }

    /// Changes the rate at `now`: tokens earned so far are added at the old rate; the
    /// capacity becomes `max(rate, 1)`, the fill rate `max(rate, min_rate)`.
    pub fn set_max_rate(&mut self, rate: f64, now: SimTime) {
        self.refill(now);
        self.fill_rate = rate.max(self.min_rate);
        self.max_capacity = if rate >= 1.0 { rate } else { 1.0 };
        self.capacity = self.capacity.min(self.max_capacity);
    }

    /// Takes `amount` tokens if there are that many (botocore's `acquire(block=False)`).
    pub fn try_acquire(&mut self, amount: f64, now: SimTime) -> bool {
        self.refill(now);
        if amount <= self.capacity + TOKEN_EPS {
            self.capacity = (self.capacity - amount).max(0.0);
            return true;
        }
        false
    }

    /// Takes one token, or says how long until one is there (the blocking `acquire`:
    /// sleep `(1 − capacity) / fill_rate`, then ask again).
    pub fn acquire(&mut self, now: SimTime) -> Admit {
        if self.try_acquire(1.0, now) {
            return Admit::Now;
        }
        let wait = (1.0 - self.capacity) / self.fill_rate;
        Admit::Wait(SimTime((wait * 1e9).ceil() as u64).max(SimTime(1)))
    }

    /// The fill rate (botocore's `max_rate`).
    pub fn max_rate(&self) -> f64 {
        self.fill_rate
    }

    /// The most tokens it holds.
    pub fn max_capacity(&self) -> f64 {
        self.max_capacity
    }

    /// Tokens available at the last refill.
    pub fn available(&self) -> f64 {
        self.capacity
    }
}

/// The adaptive mode's client-side rate limiter (botocore's `ClientRateLimiter`).
#[derive(Clone, Debug, PartialEq)]
pub struct ClientRateLimiter {
    cubic: CubicCalculator,
    clocker: RateClocker,
    bucket: RateBucket,
    enabled: bool,
}

impl ClientRateLimiter {
    /// A limiter created at `now`: idle, CUBIC from a maximum of 0, the bucket at 1/s.
    pub fn new(config: AdaptiveConfig, now: SimTime) -> Self {
        Self {
            cubic: CubicCalculator::new(0.0, secs(now), config.scale_constant, config.beta),
            clocker: RateClocker::new(secs(now), config.smoothing),
            bucket: RateBucket::new(1.0, config.min_fill_rate, now),
            enabled: false,
        }
    }

    /// Before each attempt is sent: go, or wait for a token (only once a throttle has
    /// been seen).
    pub fn on_send(&mut self, now: SimTime) -> Admit {
        if self.enabled { self.bucket.acquire(now) } else { Admit::Now }
    }

    /// After each attempt's answer: a throttle cuts the rate to `β` times the lower of
    /// the measured and the current rate and turns the limiter on; anything else moves
    /// it along the cubic. Either way the bucket's rate is capped at twice the measured.
    pub fn on_response(&mut self, now: SimTime, throttled: bool) {
        let measured = self.clocker.record(secs(now));
        let new_rate = if throttled {
            let rate = if self.enabled { measured.min(self.bucket.max_rate()) } else { measured };
            self.enabled = true;
            self.cubic.error_received(rate, secs(now))
        } else {
            self.cubic.success_received(secs(now))
        };
        self.bucket.set_max_rate(new_rate.min(MAX_RATE_ADJUST_SCALE * measured), now);
    }

    /// True once a throttle has turned the limiter on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The bucket.
    pub fn bucket(&self) -> &RateBucket {
        &self.bucket
    }

    /// The rate clock.
    pub fn clocker(&self) -> &RateClocker {
        &self.clocker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn a_throttle_turns_the_limiter_on_and_paces_sends() {
        let mut l = ClientRateLimiter::new(AdaptiveConfig::default(), SimTime::ZERO);
        assert_eq!(l.on_send(ms(0)), Admit::Now);
        // 10 responses per second for two seconds, then a throttle.
        for i in 1..=20 {
            l.on_response(ms(100 * i), false);
        }
        assert!(!l.enabled());
        l.on_response(ms(2050), true);
        assert!(l.enabled());
        let rate = l.bucket().max_rate();
        assert!(rate > 0.5 && rate < 10.0, "{rate}");
        // Sends now take tokens; once they run out, the wait is about 1 / rate.
        let mut t = ms(2050);
        let mut waited = false;
        for _ in 0..20 {
            match l.on_send(t) {
                Admit::Now => {}
                Admit::Wait(d) => {
                    waited = true;
                    assert!(d.as_secs_f64() <= 1.0 / rate + 1e-9);
                    t += d;
                    assert_eq!(l.on_send(t), Admit::Now);
                }
            }
        }
        assert!(waited);
    }
}
