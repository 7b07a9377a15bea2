//! Adaptive concurrency limits in the manner of Netflix's `concurrency-limits` library:
//! the limit on requests in flight is learned from the latency (and loss) of the requests
//! themselves, instead of being configured.
//!
//! Two algorithms, each a transcription of the library's Java class (defaults included):
//!
//! - [`Aimd`] (`AIMDLimit`): loss-based. On a drop — the caller says so, or the sample's
//!   RTT exceeds `timeout` — the limit is multiplied by `backoff_ratio` (0.9) and
//!   truncated; on success it grows by one, but only while the limit is actually used
//!   (`inflight · 2 ≥ limit`), so an idle service does not inflate its limit. The result
//!   is clamped to `[min, max]`.
//! - [`Gradient2`] (`Gradient2Limit`): latency-based. It keeps the sample RTT ("short")
//!   and an exponential moving average of it over `long_window` samples ("long", a plain
//!   mean over the first 10 samples). When the long RTT is more than twice the short one
//!   (recovery after a long overload) the long average is decayed by 5% to catch up.
//!   Unless the service is app-limited (`inflight < limit / 2`, no change), it computes
//!   `gradient = clamp(rtt_tolerance · long / short, 0.5, 1.0)`, so latency may rise to
//!   `rtt_tolerance` (1.5) times the baseline before the limit shrinks, and
//!   `new = limit · gradient + queue_size(limit)`, smoothed as
//!   `limit · (1 − smoothing) + new · smoothing` and clamped. The `dropped` flag is
//!   ignored, as in the library.
//!
//! [`Limiter`] wraps either with the in-flight count (the library's `SimpleLimiter`):
//! [`Limiter::try_acquire`] admits while `inflight < limit`, and [`Limiter::release`]
//! feeds the finished request's RTT back. One deviation: the library samples the
//! in-flight count seen when the request *started*; keeping that would need per-request
//! state, so resim samples it when the request finishes, before decrementing (the two
//! differ only by requests that started or finished while it ran).
//!
//! The arithmetic is `f64` as in the library; IEEE operations are deterministic, so runs
//! are reproducible. Nothing allocates after construction.

use crate::engine::SimTime;

/// A concurrency-limit algorithm fed one sample per finished request.
pub trait LimitAlgorithm {
    /// The current limit on requests in flight.
    fn limit(&self) -> u32;
    /// Feeds one finished request: finished at `now` after `rtt`, with `inflight` requests
    /// in flight (including it), `dropped` if it failed in a way that signals overload.
    fn on_sample(&mut self, now: SimTime, rtt: SimTime, inflight: u32, dropped: bool);
}

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

/// How much queueing [`Gradient2`] allows on top of `limit · gradient`, as a function of
/// the current limit (the library's `queueSize` function).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueSize {
    /// A constant (library default 4).
    Fixed(u32),
    /// `max(baseline, max(1, ⌊√limit⌋))` (`SquareRootFunction.create(baseline)`).
    SquareRoot {
        /// Lower bound.
        baseline: u32,
    },
    /// `baseline + max(1, ⌊log10 limit⌋)` below a limit of 1000 and `baseline + ⌊√limit⌋`
    /// from 1000 on — the library's `Log10RootFunction` lookup table, reproduced as is.
    Log10Root {
        /// Added constant.
        baseline: u32,
    },
}

impl QueueSize {
    /// The queue allowance for `limit`.
    pub fn apply(self, limit: u32) -> u32 {
        match self {
            QueueSize::Fixed(q) => q,
            QueueSize::SquareRoot { baseline } => baseline.max(limit.isqrt().max(1)),
            QueueSize::Log10Root { baseline } => {
                let f = if limit < 1000 { limit.max(1).ilog10().max(1) } else { limit.isqrt() };
                baseline.saturating_add(f)
            }
        }
    }
}

/// Configuration of [`Gradient2`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gradient2Config {
    /// Limit at start.
    pub initial: u32,
    /// Lowest limit.
    pub min: u32,
    /// Highest limit.
    pub max: u32,
    /// Weight of the new estimate in each update, in `[0, 1]`.
    pub smoothing: f64,
    /// How far the short RTT may exceed the long one before the limit shrinks (≥ 1).
    pub rtt_tolerance: f64,
    /// Samples in the long RTT's exponential average (factor `2 / (n + 1)`).
    pub long_window: u32,
    /// Queueing allowance.
    pub queue_size: QueueSize,
}

impl Default for Gradient2Config {
    /// The library's defaults: initial 20, min 20, max 200, smoothing 0.2, tolerance 1.5,
    /// long window 600, queue size 4.
    fn default() -> Self {
        Self {
            initial: 20,
            min: 20,
            max: 200,
            smoothing: 0.2,
            rtt_tolerance: 1.5,
            long_window: 600,
            queue_size: QueueSize::Fixed(4),
        }
    }
}

/// Samples averaged plainly before the long RTT switches to the exponential average
/// (the library's `ExpAvgMeasurement` warm-up window).
const LONG_RTT_WARMUP: u32 = 10;

/// Gradient limit against a long-term RTT average (`Gradient2Limit`).
#[derive(Clone, Debug)]
pub struct Gradient2 {
    config: Gradient2Config,
    min: f64,
    max: f64,
    estimated: f64,
    long_rtt: f64,
    long_sum: f64,
    long_count: u32,
    long_factor: f64,
    last_rtt: SimTime,
}

impl Gradient2 {
    /// A gradient limit starting at `config.initial`.
    pub fn new(config: Gradient2Config) -> Self {
        let min = f64::from(config.min);
        let max = f64::from(config.max.max(config.min));
        Self {
            config,
            min,
            max,
            estimated: f64::from(config.initial).clamp(min, max),
            long_rtt: 0.0,
            long_sum: 0.0,
            long_count: 0,
            long_factor: 2.0 / (f64::from(config.long_window) + 1.0),
            last_rtt: SimTime::ZERO,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Gradient2Config {
        &self.config
    }

    /// The unrounded limit estimate.
    pub fn estimated_limit(&self) -> f64 {
        self.estimated
    }

    /// The long-term RTT average.
    pub fn long_rtt(&self) -> SimTime {
        SimTime(self.long_rtt.round() as u64)
    }

    /// The RTT of the last sample (the "short" RTT).
    pub fn last_rtt(&self) -> SimTime {
        self.last_rtt
    }

    fn add_long(&mut self, sample: f64) -> f64 {
        if self.long_count < LONG_RTT_WARMUP {
            self.long_count += 1;
            self.long_sum += sample;
            self.long_rtt = self.long_sum / f64::from(self.long_count);
        } else {
            self.long_rtt = self.long_rtt * (1.0 - self.long_factor) + sample * self.long_factor;
        }
        self.long_rtt
    }
}

impl LimitAlgorithm for Gradient2 {
    fn limit(&self) -> u32 {
        self.estimated as u32
    }

    fn on_sample(&mut self, _now: SimTime, rtt: SimTime, inflight: u32, _dropped: bool) {
        let queue_size = f64::from(self.config.queue_size.apply(self.estimated as u32));
        self.last_rtt = rtt;
        let short = rtt.0 as f64;
        let long = self.add_long(short);
        // Latency back to normal after a long overload: pull the baseline down faster.
        if long > 2.0 * short {
            self.long_rtt *= 0.95;
        }
        // App-limited: no evidence about the limit.
        if f64::from(inflight) < self.estimated / 2.0 {
            return;
        }
        let gradient = if short > 0.0 { (self.config.rtt_tolerance * long / short).clamp(0.5, 1.0) } else { 1.0 };
        let new_limit = self.estimated * gradient + queue_size;
        let smoothed = self.estimated * (1.0 - self.config.smoothing) + new_limit * self.config.smoothing;
        self.estimated = smoothed.clamp(self.min, self.max);
    }
}

/// Either adaptive algorithm, chosen by configuration.
#[derive(Clone, Debug)]
pub enum AdaptiveLimit {
    /// Loss-based AIMD.
    Aimd(Aimd),
    /// Latency-gradient limit.
    Gradient2(Gradient2),
}

impl LimitAlgorithm for AdaptiveLimit {
    fn limit(&self) -> u32 {
        match self {
            AdaptiveLimit::Aimd(a) => a.limit(),
            AdaptiveLimit::Gradient2(g) => g.limit(),
        }
    }

    fn on_sample(&mut self, now: SimTime, rtt: SimTime, inflight: u32, dropped: bool) {
        match self {
            AdaptiveLimit::Aimd(a) => a.on_sample(now, rtt, inflight, dropped),
            AdaptiveLimit::Gradient2(g) => g.on_sample(now, rtt, inflight, dropped),
        }
    }
}

/// Counters of a [`Limiter`] since construction or the last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimiterStats {
    /// Requests admitted.
    pub accepted: u64,
    /// Requests refused because the limit was reached.
    pub rejected: u64,
    /// Most requests in flight at once.
    pub max_inflight: u32,
    /// Lowest limit seen after a sample (or at start).
    pub min_limit: u32,
    /// Highest limit seen after a sample (or at start).
    pub max_limit: u32,
}

/// An adaptive limit plus the count of requests in flight (the library's `SimpleLimiter`).
#[derive(Clone, Debug)]
pub struct Limiter<A = AdaptiveLimit> {
    algorithm: A,
    inflight: u32,
    stats: LimiterStats,
}

impl<A: LimitAlgorithm> Limiter<A> {
    /// A limiter with nothing in flight.
    pub fn new(algorithm: A) -> Self {
        let limit = algorithm.limit();
        Self {
            algorithm,
            inflight: 0,
            stats: LimiterStats { min_limit: limit, max_limit: limit, ..Default::default() },
        }
    }

    /// Admits a request if fewer than `limit` are in flight.
    pub fn try_acquire(&mut self) -> bool {
        if self.inflight < self.algorithm.limit() {
            self.inflight += 1;
            self.stats.accepted += 1;
            self.stats.max_inflight = self.stats.max_inflight.max(self.inflight);
            true
        } else {
            self.stats.rejected += 1;
            false
        }
    }

    /// An admitted request finished at `now` after `rtt`; `dropped` marks an overload
    /// signal (timeout, shed, rejected downstream). Feeds the algorithm, then frees the slot.
    pub fn release(&mut self, now: SimTime, rtt: SimTime, dropped: bool) {
        self.algorithm.on_sample(now, rtt, self.inflight, dropped);
        self.inflight = self.inflight.saturating_sub(1);
        let limit = self.algorithm.limit();
        self.stats.min_limit = self.stats.min_limit.min(limit);
        self.stats.max_limit = self.stats.max_limit.max(limit);
    }

    /// An admitted request ended without a meaningful sample (cancelled): frees the slot only
    /// (the library's `onIgnore`).
    pub fn release_ignored(&mut self) {
        self.inflight = self.inflight.saturating_sub(1);
    }

    /// Requests in flight.
    pub fn inflight(&self) -> u32 {
        self.inflight
    }

    /// The current limit.
    pub fn limit(&self) -> u32 {
        self.algorithm.limit()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> &A {
        &self.algorithm
    }

    /// The counters since construction or the last reset.
    pub fn stats(&self) -> &LimiterStats {
        &self.stats
    }

    /// Clears the counters; the extremes restart from the current state.
    pub fn reset_stats(&mut self) {
        let limit = self.algorithm.limit();
        self.stats =
            LimiterStats { max_inflight: self.inflight, min_limit: limit, max_limit: limit, ..Default::default() };
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

    #[test]
    fn limiter_admits_up_to_the_limit_and_learns() {
        let mut l = Limiter::new(AdaptiveLimit::Aimd(aimd(3, 1, 10)));
        assert!(l.try_acquire() && l.try_acquire() && l.try_acquire());
        assert!(!l.try_acquire());
        // A success at saturation (3 in flight) raises the limit to 4 and frees a slot.
        l.release(ms(10), ms(10), false);
        assert_eq!((l.limit(), l.inflight()), (4, 2));
        assert!(l.try_acquire() && l.try_acquire());
        assert!(!l.try_acquire());
        // A drop cuts 4 → 3 (3.6 truncated).
        l.release(ms(20), ms(10), true);
        assert_eq!((l.limit(), l.inflight()), (3, 3));
        assert!(!l.try_acquire());
        l.release_ignored();
        assert_eq!((l.limit(), l.inflight()), (3, 2));
        let s = *l.stats();
        assert_eq!((s.accepted, s.rejected, s.max_inflight, s.min_limit, s.max_limit), (5, 3, 4, 3, 4));
        l.reset_stats();
        assert_eq!(*l.stats(), LimiterStats { max_inflight: 2, min_limit: 3, max_limit: 3, ..Default::default() });
    }

    fn gradient(initial: u32) -> Gradient2 {
        Gradient2::new(Gradient2Config { initial, min: 5, max: 200, ..Gradient2Config::default() })
    }

    /// Feeds `n` samples of `rtt` with the limit saturated; returns the limit after each.
    fn feed(g: &mut Gradient2, n: usize, rtt: SimTime) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let inflight = g.limit();
                g.on_sample(T0, rtt, inflight, false);
                g.estimated_limit()
            })
            .collect()
    }

    #[test]
    fn gradient2_long_rtt_is_a_mean_then_an_exponential_average() {
        let mut g = gradient(50);
        g.on_sample(T0, ms(10), 50, false);
        g.on_sample(T0, ms(20), 50, false);
        assert_eq!(g.long_rtt(), ms(15));
        assert_eq!(g.last_rtt(), ms(20));
        for _ in 0..8 {
            g.on_sample(T0, ms(15), 50, false);
        }
        assert_eq!(g.long_rtt(), ms(15));
        // Eleventh sample: factor 2/601.
        g.on_sample(T0, ms(616), 50, false);
        assert_eq!(g.long_rtt(), ms(17));
    }

    #[test]
    fn gradient2_grows_at_steady_latency_and_not_when_app_limited() {
        let mut g = gradient(50);
        let steady = feed(&mut g, 100, ms(10));
        // Each saturated sample: 0.8·L + 0.2·(L + 4) = L + 0.8.
        assert!((steady[0] - 50.8).abs() < 1e-9);
        assert!((steady[99] - 130.0).abs() < 1e-6);
        // Latency within tolerance (1.5 × long) does not shrink the limit.
        let within = feed(&mut g, 5, ms(14));
        assert!(within.windows(2).all(|w| w[1] > w[0]));
        // App-limited samples change nothing.
        let before = g.estimated_limit();
        g.on_sample(T0, ms(100), 10, false);
        assert_eq!(g.estimated_limit(), before);
    }

    #[test]
    fn gradient2_shrinks_when_short_rtt_exceeds_tolerance_and_recovers() {
        let mut g = gradient(100);
        feed(&mut g, 50, ms(10));
        let peak = g.estimated_limit();
        // Latency triples: gradient = clamp(1.5 · 10 / 30) = 0.5 at first, so the limit
        // falls (≈ 0.9·L + 0.8 per sample) until the long average catches up.
        let loaded = feed(&mut g, 40, ms(30));
        assert!(loaded.windows(2).all(|w| w[1] < w[0]), "{loaded:?}");
        let trough = g.estimated_limit();
        assert!(trough < peak / 2.0, "{trough} vs {peak}");
        assert!(g.long_rtt() > ms(10) && g.long_rtt() < ms(30));
        // Latency back to normal: gradient 1, the limit climbs again by 0.8 per sample.
        let recovered = feed(&mut g, 200, ms(10));
        assert!(recovered.windows(2).all(|w| w[1] >= w[0]));
        assert!(g.estimated_limit() >= peak.min(200.0) - 1e-9);
    }

    #[test]
    fn gradient2_decays_a_stale_long_rtt() {
        let mut g = gradient(20);
        for _ in 0..10 {
            g.on_sample(T0, ms(100), 0, false);
        }
        assert_eq!(g.long_rtt(), ms(100));
        // Short RTT a tenth of the long one: the average takes its sample, then loses 5%.
        g.on_sample(T0, ms(10), 0, false);
        let expected: f64 = (100e6 * (1.0 - 2.0 / 601.0) + 10e6 * 2.0 / 601.0) * 0.95;
        assert_eq!(g.long_rtt(), SimTime(expected.round() as u64));
    }

    #[test]
    fn queue_size_functions_match_the_library() {
        assert_eq!(QueueSize::Fixed(4).apply(1000), 4);
        assert_eq!(QueueSize::SquareRoot { baseline: 4 }.apply(9), 4);
        assert_eq!(QueueSize::SquareRoot { baseline: 4 }.apply(100), 10);
        assert_eq!(QueueSize::SquareRoot { baseline: 0 }.apply(0), 1);
        assert_eq!(QueueSize::Log10Root { baseline: 2 }.apply(0), 3);
        assert_eq!(QueueSize::Log10Root { baseline: 2 }.apply(9), 3);
        assert_eq!(QueueSize::Log10Root { baseline: 2 }.apply(150), 4);
        assert_eq!(QueueSize::Log10Root { baseline: 2 }.apply(1024), 34);
    }

    #[test]
    fn limiter_over_gradient2() {
        let mut l = Limiter::new(AdaptiveLimit::Gradient2(gradient(5)));
        let admitted = (0..10).filter(|_| l.try_acquire()).count();
        assert_eq!(admitted, 5);
        l.release(ms(5), ms(5), false);
        assert_eq!(l.limit(), 5, "5.8 floors to 5");
        l.release(ms(6), ms(5), false);
        assert!(l.algorithm().limit() >= 5);
    }
}
