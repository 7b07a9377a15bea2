//! Netflix concurrency-limits' `VegasLimit`, the library's default limit algorithm.
//!
//! After TCP Vegas (Brakmo and Peterson, 1995): the lowest RTT seen is the no-load RTT,
//! and `queue = ⌈limit · (1 − rtt_noload / rtt)⌉` estimates how many requests wait. Below
//! `threshold` the limit jumps by `beta`, below `alpha` it creeps up by `log10(limit)`,
//! above `beta` it falls by `log10(limit)`, in between it stays; a drop always lowers it.
//! The three thresholds grow with the limit (`alpha = 3·log10`, `beta = 6·log10`,
//! `threshold = log10`, [`log10_root`]), so a large limit moves in larger steps. The new
//! value is clamped to `[1, max]`, then smoothed: `(1 − s)·old + s·new`.
//!
//! **Probing.** A no-load RTT learnt under load would freeze the limit, so every
//! `jitter · probe_multiplier · limit` samples (`jitter` uniform in `[0.5, 1)`) the next
//! sample replaces it outright. The library draws the jitter from `ThreadLocalRandom`;
//! resim draws it from a SplitMix64 sequence seeded by [`VegasConfig::seed`], so runs are
//! reproducible (instances with the same seed probe at the same counts).

use super::{LimitAlgorithm, log10_root};
use crate::engine::SimTime;

/// Configuration of [`Vegas`]; the step functions are plain functions as in the
/// library's builder.
#[derive(Clone, Copy, Debug)]
pub struct VegasConfig {
    /// Limit at start (library default 20).
    pub initial: u32,
    /// Highest limit (`maxConcurrency`, library default 1000); the lowest is 1.
    pub max: u32,
    /// Weight of the new limit in each update, in `[0, 1]` (library default 1.0: none).
    pub smoothing: f64,
    /// A fixed `alpha`; `None` is the library's `3 · log10(limit)`.
    pub alpha: Option<u32>,
    /// A fixed `beta`; `None` is the library's `6 · log10(limit)`.
    pub beta: Option<u32>,
    /// The step up when the queue is short (library: `limit + log10(limit)`).
    pub increase: fn(f64) -> f64,
    /// The step down on a drop or a long queue (library: `limit − log10(limit)`).
    pub decrease: fn(f64) -> f64,
    /// Samples between probes of the no-load RTT, per unit of limit (library default 30).
    pub probe_multiplier: u32,
    /// Seed of the probe jitter sequence.
    pub seed: u64,
}

/// The library's default increase: `limit + log10(limit)`.
pub fn vegas_increase(limit: f64) -> f64 {
    limit + f64::from(log10_root(limit as u32))
}

/// The library's default decrease: `limit − log10(limit)`.
pub fn vegas_decrease(limit: f64) -> f64 {
    limit - f64::from(log10_root(limit as u32))
}

impl Default for VegasConfig {
    /// `VegasLimit.newDefault()`: initial 20, max 1000, smoothing 1.0, probe multiplier 30.
    fn default() -> Self {
        Self {
            initial: 20,
            max: 1000,
            smoothing: 1.0,
            alpha: None,
            beta: None,
            increase: vegas_increase,
            decrease: vegas_decrease,
            probe_multiplier: 30,
            seed: 0,
        }
    }
}

/// Delay-based limit from TCP Vegas' queue estimate (`VegasLimit`).
#[derive(Clone, Debug)]
pub struct Vegas {
    config: VegasConfig,
    estimated: f64,
    /// The no-load RTT in nanoseconds; 0 until the first sample.
    rtt_noload: u64,
    probe_count: u64,
    probe_jitter: f64,
    rng: u64,
}

impl Vegas {
    /// A Vegas limit starting at `config.initial`.
    pub fn new(config: VegasConfig) -> Self {
        let mut v = Self {
            config,
            estimated: f64::from(config.initial),
            rtt_noload: 0,
            probe_count: 0,
            probe_jitter: 0.0,
            rng: config.seed,
        };
        v.reset_probe_jitter();
        v
    }

    /// The unrounded limit estimate.
    pub fn estimated_limit(&self) -> f64 {
        self.estimated
    }

    /// The no-load RTT (zero before the first sample).
    pub fn rtt_noload(&self) -> SimTime {
        SimTime(self.rtt_noload)
    }

    /// Uniform in `[0.5, 1)` from SplitMix64 (Steele, Lea and Flood, 2014).
    fn reset_probe_jitter(&mut self) {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        self.probe_jitter = 0.5 + 0.5 * ((z >> 11) as f64 / (1u64 << 53) as f64);
    }

    fn should_probe(&self) -> bool {
        self.probe_jitter * f64::from(self.config.probe_multiplier) * self.estimated <= self.probe_count as f64
    }

    fn update(&mut self, rtt: u64, inflight: u32, dropped: bool) {
        let c = &self.config;
        let limit = self.estimated;
        let queue = (limit * (1.0 - self.rtt_noload as f64 / rtt as f64)).ceil();
        let new_limit = if dropped {
            (c.decrease)(limit)
        } else if f64::from(inflight) * 2.0 < limit {
            // Far from the limit: no evidence that it could be higher.
            return;
        } else {
            let l = limit as u32;
            let alpha = c.alpha.unwrap_or_else(|| 3 * log10_root(l));
            let beta = c.beta.unwrap_or_else(|| 6 * log10_root(l));
            if queue <= f64::from(log10_root(l)) {
                limit + f64::from(beta)
            } else if queue < f64::from(alpha) {
                (c.increase)(limit)
            } else if queue > f64::from(beta) {
                (c.decrease)(limit)
            } else {
                return;
            }
        };
        let clamped = new_limit.min(f64::from(c.max)).max(1.0);
        self.estimated = (1.0 - c.smoothing) * limit + c.smoothing * clamped;
    }
}

impl LimitAlgorithm for Vegas {
    fn limit(&self) -> u32 {
        self.estimated as u32
    }

    fn on_sample(&mut self, _now: SimTime, rtt: SimTime, inflight: u32, dropped: bool) {
        // The library rejects rtt <= 0; a simulated zero-time request counts as 1 ns.
        let rtt = rtt.0.max(1);
        self.probe_count += 1;
        if self.should_probe() {
            self.reset_probe_jitter();
            self.probe_count = 0;
            self.rtt_noload = rtt;
            return;
        }
        if self.rtt_noload == 0 || rtt < self.rtt_noload {
            self.rtt_noload = rtt;
            return;
        }
        self.update(rtt, inflight, dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SimTime = SimTime::ZERO;

    fn ms(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn first_sample_learns_the_noload_rtt_and_a_faster_one_replaces_it() {
        let mut v = Vegas::new(VegasConfig::default());
        v.on_sample(T0, ms(20), 20, false);
        assert_eq!((v.limit(), v.rtt_noload()), (20, ms(20)));
        v.on_sample(T0, ms(10), 20, false);
        assert_eq!((v.limit(), v.rtt_noload()), (20, ms(10)));
        // No queue at the no-load RTT: +beta = 6 · log10(20) = 6.
        v.on_sample(T0, ms(10), 20, false);
        assert_eq!(v.limit(), 26);
    }

    #[test]
    fn a_drop_lowers_the_limit_and_app_limited_samples_do_not_raise_it() {
        let mut v = Vegas::new(VegasConfig::default());
        v.on_sample(T0, ms(10), 20, false);
        v.on_sample(T0, ms(10), 9, false);
        assert_eq!(v.limit(), 20, "9 · 2 < 20: app-limited");
        v.on_sample(T0, ms(10), 0, true);
        assert_eq!(v.limit(), 19, "20 − log10(20)");
    }

    #[test]
    fn probes_relearn_the_noload_rtt() {
        let cfg = VegasConfig { initial: 1, max: 1, probe_multiplier: 2, ..VegasConfig::default() };
        let mut v = Vegas::new(cfg);
        v.on_sample(T0, ms(10), 1, false);
        // jitter · 2 · 1 < 2: by the second sample after the first probe count reset a
        // probe takes the sample's RTT as the new no-load RTT, even though it is slower.
        let mut probed = false;
        for _ in 0..3 {
            v.on_sample(T0, ms(50), 1, false);
            probed |= v.rtt_noload() == ms(50);
        }
        assert!(probed);
        // The jitter stays in [0.5, 1).
        let mut w = Vegas::new(VegasConfig { seed: 7, ..VegasConfig::default() });
        for _ in 0..1000 {
            w.reset_probe_jitter();
            assert!((0.5..1.0).contains(&w.probe_jitter));
        }
    }
}
