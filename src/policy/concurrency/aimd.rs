//! Netflix concurrency-limits' `AIMDLimit`: loss-based additive increase, multiplicative
//! decrease. On a drop (the caller says so, or the RTT exceeds `timeout`) the limit is
//! multiplied by `backoff_ratio` and truncated; on success it grows by one while the
//! limit is used (`inflight · 2 ≥ limit`). The result is clamped to `[min, max]`.

use super::LimitAlgorithm;
use crate::engine::SimTime;

/// Configuration of [`Aimd`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AimdConfig {
    /// Limit at start.
    pub initial: u32,
    /// Lowest limit (at least 1 is used).
    pub min: u32,
    /// Highest limit.
    pub max: u32,
    /// Multiplier applied on a drop; the library accepts `[0.5, 1.0)`, resim clamps into
    /// `[0.5, 1.0]` (NaN is read as the default 0.9).
    pub backoff_ratio: f64,
    /// A sample whose RTT exceeds this counts as a drop.
    pub timeout: SimTime,
}

impl Default for AimdConfig {
    /// The library's defaults: initial 20, min 20, max 200, backoff 0.9, timeout 5 s.
    fn default() -> Self {
        Self { initial: 20, min: 20, max: 200, backoff_ratio: 0.9, timeout: SimTime::from_secs(5) }
    }
}

/// Additive-increase, multiplicative-decrease limit (`AIMDLimit`).
#[derive(Clone, Debug)]
pub struct Aimd {
    config: AimdConfig,
    min: u32,
    max: u32,
    backoff_ratio: f64,
    limit: u32,
}

impl Aimd {
    /// An AIMD limit starting at `config.initial` (clamped to `[min, max]`).
    pub fn new(config: AimdConfig) -> Self {
        let min = config.min.max(1);
        let max = config.max.max(min);
        let backoff_ratio = if config.backoff_ratio.is_nan() { 0.9 } else { config.backoff_ratio.clamp(0.5, 1.0) };
        Self { config, min, max, backoff_ratio, limit: config.initial.clamp(min, max) }
    }

    /// The configuration as given.
    pub fn config(&self) -> &AimdConfig {
        &self.config
    }
}

impl LimitAlgorithm for Aimd {
    fn limit(&self) -> u32 {
        self.limit
    }

    fn on_sample(&mut self, _now: SimTime, rtt: SimTime, inflight: u32, dropped: bool) {
        let mut limit = self.limit;
        if dropped || rtt > self.config.timeout {
            // Java `(int) (limit * ratio)`: truncation; the value is in [0, limit].
            limit = (f64::from(limit) * self.backoff_ratio) as u32;
        } else if u64::from(inflight) * 2 >= u64::from(limit) {
            limit = limit.saturating_add(1);
        }
        self.limit = limit.clamp(self.min, self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SimTime = SimTime::ZERO;

    fn ms(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    fn aimd(initial: u32, min: u32, max: u32) -> Aimd {
        Aimd::new(AimdConfig { initial, min, max, ..AimdConfig::default() })
    }

    #[test]
    fn aimd_grows_by_one_only_while_the_limit_is_used() {
        let mut a = aimd(10, 1, 20);
        a.on_sample(T0, ms(10), 5, false);
        assert_eq!(a.limit(), 11, "5 · 2 >= 10");
        a.on_sample(T0, ms(10), 5, false);
        assert_eq!(a.limit(), 11, "5 · 2 < 11: app-limited, no growth");
        for _ in 0..20 {
            a.on_sample(T0, ms(10), 15, false);
        }
        assert_eq!(a.limit(), 20, "capped at max");
    }

    #[test]
    fn aimd_cuts_ten_percent_on_drop_and_floors_at_min() {
        let mut a = aimd(20, 15, 100);
        a.on_sample(T0, ms(10), 1, true);
        assert_eq!(a.limit(), 18);
        a.on_sample(T0, ms(10), 1, true);
        assert_eq!(a.limit(), 16, "16.2 truncated");
        // An RTT beyond the 5 s timeout counts as a drop even if the call succeeded.
        a.on_sample(T0, SimTime::from_secs(6), 1, false);
        assert_eq!(a.limit(), 15, "14.4 raised to min");
        a.on_sample(T0, ms(10), 1, true);
        assert_eq!(a.limit(), 15);
        // Exactly at the timeout is not a drop.
        a.on_sample(T0, SimTime::from_secs(5), 15, false);
        assert_eq!(a.limit(), 16);
    }

    #[test]
    fn aimd_config_is_sanitised() {
        let a = Aimd::new(AimdConfig { initial: 0, min: 0, max: 0, backoff_ratio: f64::NAN, ..AimdConfig::default() });
        assert_eq!(a.limit(), 1);
        let mut b = Aimd::new(AimdConfig { initial: 10, min: 1, max: 10, backoff_ratio: 0.1, ..AimdConfig::default() });
        b.on_sample(T0, ms(1), 0, true);
        assert_eq!(b.limit(), 5, "ratio clamped to 0.5");
        assert_eq!(b.config().backoff_ratio, 0.1);
    }
}
