//! Adaptive concurrency limits in the manner of Netflix's `concurrency-limits` library:
//! the limit on requests in flight is learned from the latency (and loss) of the requests
//! themselves, instead of being configured.
//!
//! Three algorithms, each a transcription of the library's Java class (defaults
//! included), one file each:
//!
//! - [`Aimd`] (`AIMDLimit`): loss-based; cut by `backoff_ratio` on a drop, +1 on success
//!   while the limit is used.
//! - [`Gradient2`] (`Gradient2Limit`): latency-based, against a long-term RTT average.
//! - [`Vegas`] (`VegasLimit`, the library's default limit): TCP Vegas' queue estimate
//!   `limit · (1 − rtt_noload / rtt)` against thresholds that grow with `log10(limit)`.
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

mod aimd;
mod gradient2;
mod vegas;

pub use aimd::{Aimd, AimdConfig};
pub use gradient2::{Gradient2, Gradient2Config, QueueSize};
pub use vegas::{Vegas, VegasConfig, vegas_decrease, vegas_increase};

use crate::engine::SimTime;

/// `max(1, ⌊log10 t⌋)` below 1000 and `⌊log10 t⌋` from 1000 on: the library's
/// `Log10RootIntFunction` (a lookup table for small `t`; despite its name, no square
/// root), which scales Vegas' thresholds and steps and Gradient2's `Log10Root` queue.
pub fn log10_root(t: u32) -> u32 {
    if t < 1000 { t.max(1).ilog10().max(1) } else { t.ilog10() }
}

/// A concurrency-limit algorithm fed one sample per finished request.
pub trait LimitAlgorithm {
    /// The current limit on requests in flight.
    fn limit(&self) -> u32;
    /// Feeds one finished request: finished at `now` after `rtt`, with `inflight` requests
    /// in flight (including it), `dropped` if it failed in a way that signals overload.
    fn on_sample(&mut self, now: SimTime, rtt: SimTime, inflight: u32, dropped: bool);
}

/// One of the adaptive algorithms, chosen by configuration.
#[derive(Clone, Debug)]
pub enum AdaptiveLimit {
    /// Loss-based AIMD.
    Aimd(Aimd),
    /// Latency-gradient limit.
    Gradient2(Gradient2),
    /// Queue-estimate limit (the library's default).
    Vegas(Vegas),
}

impl LimitAlgorithm for AdaptiveLimit {
    fn limit(&self) -> u32 {
        match self {
            AdaptiveLimit::Aimd(a) => a.limit(),
            AdaptiveLimit::Gradient2(g) => g.limit(),
            AdaptiveLimit::Vegas(v) => v.limit(),
        }
    }

    fn on_sample(&mut self, now: SimTime, rtt: SimTime, inflight: u32, dropped: bool) {
        match self {
            AdaptiveLimit::Aimd(a) => a.on_sample(now, rtt, inflight, dropped),
            AdaptiveLimit::Gradient2(g) => g.on_sample(now, rtt, inflight, dropped),
            AdaptiveLimit::Vegas(v) => v.on_sample(now, rtt, inflight, dropped),
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

    fn ms(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    fn aimd(initial: u32, min: u32, max: u32) -> Aimd {
        Aimd::new(AimdConfig { initial, min, max, ..AimdConfig::default() })
    }

    fn gradient(initial: u32) -> Gradient2 {
        Gradient2::new(Gradient2Config { initial, min: 5, max: 200, ..Gradient2Config::default() })
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
