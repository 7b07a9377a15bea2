//! Latency histogram with fixed memory and bounded relative error.

use hdrhistogram::Histogram;

use crate::engine::SimTime;

/// Highest latency tracked exactly: one day. Larger values are clamped to it.
const MAX_NANOS: u64 = 86_400 * 1_000_000_000;

/// An HDR histogram of durations in nanoseconds, 3 significant digits (0.1% relative
/// error), from 1 ns to one day, in about 300 KB whatever the number of samples.
#[derive(Clone, Debug)]
pub struct LatencyHistogram(Histogram<u64>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        // The bounds are constants that satisfy the crate's preconditions.
        Self(Histogram::new_with_bounds(1, MAX_NANOS, 3).expect("valid histogram bounds"))
    }

    /// Adds one duration.
    #[inline]
    pub fn record(&mut self, t: SimTime) {
        self.0.saturating_record(t.0.clamp(1, MAX_NANOS));
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.0.reset();
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q`-quantile in seconds (the smallest recorded value with at least a
    /// fraction `q` of samples at or below it), or `None` when empty.
    pub fn quantile_secs(&self, q: f64) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        Some(self.0.value_at_quantile(q) as f64 / 1e9)
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Same bounds on both sides, so `add` cannot fail.
        let _ = self.0.add(&other.0);
    }
}
