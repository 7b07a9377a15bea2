//! Hedged requests: a backup attempt sent after a delay, first answer wins.
//!
//! A retry waits for a failure; a hedge does not. Dean and Barroso ("The Tail at
//! Scale", CACM 2013) defer the backup until the first attempt has been outstanding
//! longer than the 95th-percentile latency, which cuts the tail while adding only about
//! 5% load. gRPC's `hedgingPolicy` uses a fixed `hedgingDelay` instead. Both are here:
//! [`HedgeDelay::Fixed`], or [`HedgeDelay::Percentile`] read from a [`LatencyWindow`] of
//! recent latencies on the edge.
//!
//! A percentile delay alone does not bound the extra load: when latency shifts, every
//! request is slower than the old p95 and every request hedges. Finagle's
//! `BackupRequestFilter` therefore takes `maxExtraLoad` (say 0.05), hedges at the
//! `1 − maxExtraLoad` percentile and caps backups with a retry budget of
//! `percentCanRetry = maxExtraLoad`, `minRetriesPerSec = 0` and the default 10 s ttl
//! ([`HedgeConfig::extra_load_budget`]): each request deposits, each backup withdraws.
//!
//! tower's `hedge` middleware reads its percentile differently, and [`HedgeDelay::Tower`]
//! follows it: from the previous `period`'s histogram ([`RotatingHistogram`]), and only
//! once that histogram holds `min_data_points` latencies.

use super::budget::TokenBudget;
use super::rotating::RotatingHistogram;
use crate::engine::SimTime;
use crate::metrics::Outcome;

/// When a hedge is sent, counted from the start of the previous attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HedgeDelay {
    /// A fixed delay (gRPC's `hedgingDelay`).
    Fixed(SimTime),
    /// The given percentile of recent latencies, on a 0–100 scale (95.0 = p95).
    Percentile(f64),
    /// tower 0.5.3's `Hedge::new(service, policy, min_data_points, latency_percentile,
    /// period)`: the `quantile` of the previous `period`'s latencies (whole milliseconds),
    /// and no hedge while that period holds fewer than `min_data_points` of them
    /// (`hedge/mod.rs` lines 246-266). The edge's window must be
    /// [`LatencyWindow::rotating`].
    Tower {
        /// tower's `latency_percentile`, a quantile in `[0, 1]` (an `f32` there too).
        quantile: f32,
        /// Latencies the read histogram must hold before any hedge.
        min_data_points: u64,
        /// How long each histogram is written before it is read.
        period: SimTime,
    },
}

/// Hedging on one call edge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HedgeConfig {
    /// How long to wait before each hedge.
    pub delay: HedgeDelay,
    /// Backup attempts beyond the first (gRPC caps total attempts at 5, so 4).
    pub max_hedges: u32,
    /// Cancel the losing requests once one answers (the callee drops them if they have
    /// not started, frees the worker of those in service and cancels their downstream
    /// calls); otherwise their work is wasted.
    pub cancel_losers: bool,
    /// Hedges per request at most, over [`EXTRA_LOAD_TTL`] (Finagle's `maxExtraLoad`,
    /// in `[0, 1)`); `None`: no cap.
    pub max_extra_load: Option<f64>,
    /// gRPC's `nonFatalStatusCodes`, indexed by outcome: a request failing with one of
    /// these sends the next hedge at once; any other failure ends the attempt. `None`:
    /// a failure ends the attempt only when no other request of it is out.
    pub non_fatal: Option<[bool; 6]>,
    /// Envoy's `hedge_on_per_try_timeout`: the per-try timeout sends a hedge and keeps
    /// the timed-out request out, instead of ending the attempt.
    pub on_per_try_timeout: bool,
}

/// Window of the extra-load budget: Finagle's `RetryBudget.DefaultTtl`, 10 s.
pub const EXTRA_LOAD_TTL: SimTime = SimTime::from_secs(10);

impl HedgeConfig {
    /// The delay before the next hedge at `now`, or `None` when it cannot be known yet
    /// (a percentile delay with no latencies recorded, tower's `min_data_points` not
    /// reached): then do not hedge.
    pub fn hedge_delay(&self, window: &LatencyWindow, now: SimTime) -> Option<SimTime> {
        match self.delay {
            HedgeDelay::Fixed(d) => Some(d),
            HedgeDelay::Percentile(p) => window.quantile(p / 100.0),
            HedgeDelay::Tower { quantile, min_data_points, .. } => {
                let h = window.rotating.as_deref()?;
                (h.len(now) >= min_data_points).then(|| h.delay(now, quantile))
            }
        }
    }

    /// The budget enforcing `max_extra_load`, as Finagle's `BackupRequestFilter.
    /// newRetryBudget` builds it: `maxExtraLoad` of a token per request, no reserve,
    /// over 10 s (so a 1% cap needs 100 requests in 10 s before the first backup).
    pub fn extra_load_budget(max_extra_load: f64) -> TokenBudget {
        TokenBudget::new(max_extra_load, 0.0, EXTRA_LOAD_TTL)
    }
}

/// Linear sub-buckets per power of two; a bucket spans at most 1/32 of its value, so a
/// bucket midpoint is within 1/64 (≈ 1.6%) of any value in it.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Buckets covering all of `u64` nanoseconds: 32 exact ones, then 32 per power of two.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A streaming latency estimator over the last `capacity` samples, in fixed memory, or
/// tower's rotating histograms ([`LatencyWindow::rotating`]).
///
/// Samples go into a log-linear histogram (HDR-style: 32 linear buckets per power of
/// two, about 1.6% relative error), and a ring of the last `capacity` bucket indices
/// lets the oldest sample be removed when a new one arrives. Memory is
/// `1920 × 4 + 2 × capacity` bytes, allocated once; [`record`](Self::record) is O(1)
/// and never allocates; [`quantile`](Self::quantile) scans the 1920 buckets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyWindow {
    counts: Box<[u32]>,
    ring: Box<[u16]>,
    head: usize,
    len: usize,
    /// tower's two histograms, which replace the ring when present.
    rotating: Option<Box<RotatingHistogram>>,
}

impl LatencyWindow {
    /// An empty window keeping the last `capacity` samples (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            ring: vec![0; capacity.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
            rotating: None,
        }
    }

    /// tower's window for [`HedgeDelay::Tower`]: histograms swapped every `period`,
    /// counted from the start of the run.
    pub fn rotating(period: SimTime) -> Self {
        Self { rotating: Some(Box::new(RotatingHistogram::new(period, SimTime::ZERO))), ..Self::new(1) }
    }

    /// Records the latency `d` of a request over for its caller at `now`: answered with
    /// `Some(outcome)`, or abandoned (`None`: a losing hedge, a timed-out try). The ring
    /// keeps successes and abandoned requests, as Finagle does. tower's histograms keep
    /// every answer, failures included (an HTTP error status is an `Ok` response to
    /// tower's `Latency` layer), and no abandoned request (a dropped future records
    /// nothing).
    pub fn record_at(&mut self, now: SimTime, d: SimTime, answer: Option<Outcome>) {
        match (self.rotating.as_deref_mut(), answer) {
            (Some(h), Some(_)) => h.record(now, d),
            (Some(_), None) => {}
            (None, a) if a.is_none_or(Outcome::is_success) => self.record(d),
            (None, _) => {}
        }
    }

    /// Samples currently in the window.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first sample.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one latency, evicting the oldest once the window is full.
    pub fn record(&mut self, d: SimTime) {
        let b = bucket_of(d.0);
        if self.len == self.ring.len() {
            let old = usize::from(self.ring[self.head]);
            self.counts[old] -= 1;
        } else {
            self.len += 1;
        }
        // BUCKETS = 1920 fits in u16.
        self.ring[self.head] = b as u16;
        self.counts[b] += 1;
        self.head = (self.head + 1) % self.ring.len();
    }

    /// The `q`-quantile (0 ≤ q ≤ 1, clamped) of the samples in the window: the midpoint
    /// of the bucket holding the `⌈q·n⌉`-th smallest sample. `None` when empty or `q`
    /// is NaN.
    pub fn quantile(&self, q: f64) -> Option<SimTime> {
        if self.len == 0 || q.is_nan() {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.len as f64).ceil() as usize).clamp(1, self.len);
        let mut seen = 0usize;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c as usize;
            if seen >= rank {
                let (lower, width) = bucket_bounds(i);
                return Some(SimTime(lower + width / 2));
            }
        }
        None
    }
}

/// The bucket of `v` nanoseconds.
fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    (shift as usize + 1) * SUB + sub
}

/// `(lowest value, width)` of bucket `i`.
fn bucket_bounds(i: usize) -> (u64, u64) {
    if i < SUB {
        return (i as u64, 1);
    }
    let shift = i / SUB - 1;
    (((SUB + i % SUB) as u64) << shift, 1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;
    use crate::engine::unit;

    /// Allowed relative error of a quantile: bucket midpoints are within 1.6%; allow 3%.
    const QUANTILE_TOL: f64 = 0.03;

    #[test]
    fn buckets_tile_u64() {
        let mut expect_lower = 0u64;
        for i in 0..BUCKETS {
            let (lower, width) = bucket_bounds(i);
            assert_eq!(lower, expect_lower, "bucket {i}");
            assert_eq!(bucket_of(lower), i);
            assert_eq!(bucket_of(lower + (width - 1)), i);
            if i >= SUB {
                assert!(width as f64 / lower as f64 <= 1.0 / SUB as f64);
            }
            expect_lower = lower.wrapping_add(width);
        }
        assert_eq!(expect_lower, 0, "last bucket ends at 2^64");
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_an_exponential_sample() {
        let mut rng = RngStreams::new(7, 0).stream("test");
        let mut w = LatencyWindow::new(20_000);
        let mut all = Vec::new();
        for _ in 0..20_000 {
            // Exponential, mean 50 ms.
            let d = SimTime::from_secs_f64(-0.05 * (1.0 - unit(&mut rng)).ln());
            w.record(d);
            all.push(d);
        }
        all.sort_unstable();
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let exact = all[((q * all.len() as f64).ceil() as usize).clamp(1, all.len()) - 1];
            let est = w.quantile(q).map_or(0.0, SimTime::as_secs_f64);
            let rel = (est / exact.as_secs_f64() - 1.0).abs();
            assert!(rel < QUANTILE_TOL, "q {q}: {est} vs {exact}");
            // And near the distribution's own quantile −ln(1−q)·mean.
            let theory = -0.05 * (1.0 - q).ln();
            assert!((est / theory - 1.0).abs() < 0.1, "q {q}: {est} vs theory {theory}");
        }
        assert_eq!(w.quantile(1.0), w.quantile(2.0));
        assert!(w.quantile(0.0).is_some());
        assert_eq!(w.quantile(f64::NAN), None);
    }

    #[test]
    fn window_forgets_old_samples() {
        let mut w = LatencyWindow::new(1_000);
        assert!(w.is_empty() && w.quantile(0.5).is_none());
        for _ in 0..1_000 {
            w.record(SimTime::from_millis(10));
        }
        let p50 = w.quantile(0.5).map_or(0.0, SimTime::as_secs_f64);
        assert!((p50 / 0.010 - 1.0).abs() < QUANTILE_TOL);
        for _ in 0..1_000 {
            w.record(SimTime::from_millis(100));
        }
        assert_eq!(w.len(), 1_000);
        // All the 10 ms samples have been evicted.
        let p0 = w.quantile(0.0).map_or(0.0, SimTime::as_secs_f64);
        assert!((p0 / 0.100 - 1.0).abs() < QUANTILE_TOL, "p0 {p0}");
        // Small values are exact.
        let mut tiny = LatencyWindow::new(3);
        for ns in [3, 1, 2] {
            tiny.record(SimTime(ns));
        }
        assert_eq!(tiny.quantile(0.5), Some(SimTime(2)));
    }

    #[test]
    fn hedge_delay_fixed_or_percentile() {
        let mut w = LatencyWindow::new(100);
        let fixed = HedgeConfig {
            delay: HedgeDelay::Fixed(SimTime::from_millis(20)),
            max_hedges: 1,
            cancel_losers: false,
            max_extra_load: None,
            non_fatal: None,
            on_per_try_timeout: false,
        };
        let p95 = HedgeConfig {
            delay: HedgeDelay::Percentile(95.0),
            max_hedges: 1,
            cancel_losers: false,
            max_extra_load: None,
            non_fatal: None,
            on_per_try_timeout: false,
        };
        let t = SimTime::ZERO;
        assert_eq!(fixed.hedge_delay(&w, t), Some(SimTime::from_millis(20)));
        assert_eq!(p95.hedge_delay(&w, t), None);
        for ms in 1..=100 {
            w.record(SimTime::from_millis(ms));
        }
        let d = p95.hedge_delay(&w, t).map_or(0.0, SimTime::as_secs_f64);
        assert!((d / 0.095 - 1.0).abs() < QUANTILE_TOL, "p95 {d}");
    }
}
