//! Netflix concurrency-limits' `Gradient2Limit`: a latency-gradient limit against a
//! long-term exponential average of the RTT, with a queueing allowance on top.

use super::{LimitAlgorithm, log10_root};
use crate::engine::SimTime;

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
    /// `baseline + `[`log10_root`]`(limit)`: the library's `Log10RootFunction` (whose name
    /// promises a root it does not take: `⌊log10⌋` everywhere, at least 1).
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
            QueueSize::Log10Root { baseline } => baseline.saturating_add(log10_root(limit)),
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

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SimTime = SimTime::ZERO;

    fn ms(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
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
        // From 1000 on the library takes ⌊log10⌋ too (Log10RootFunctionTest.testOutofLookupRange:
        // 10000 -> 4); resim once took the square root here.
        assert_eq!(QueueSize::Log10Root { baseline: 2 }.apply(1024), 5);
    }
}
