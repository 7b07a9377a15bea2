//! tower's hedge latency histogram (tower 0.5.3, `src/hedge/rotating_histogram.rs` and
//! `src/hedge/mod.rs`): two HDR histograms, one written and one read, swapped every
//! `period`, so the hedge delay is a percentile of the *previous* period's latencies.
//!
//! What it keeps, as tower does:
//! - Latencies in whole milliseconds, rounded up (`hedge/mod.rs` `millis`, lines
//!   204-211), into an `hdrhistogram::Histogram<u64>` of 3 significant digits (lines
//!   24-25 of `rotating_histogram.rs`); the delay is `value_at_quantile` of the read
//!   histogram in milliseconds (`DelayPolicy::delay`, lines 246-252), with the quantile
//!   tower receives as an `f32`.
//! - Rotation on every access (`maybe_rotate`, lines 41-53): one period since the last
//!   rotation swaps (the written histogram becomes the read one, and the new written one
//!   is empty); two or more clear both; the rotation instant advances by whole periods,
//!   so the periods stay aligned to the histogram's creation.
//! - Only answered requests are recorded, the hedge's from its own send
//!   (`hedge/latency.rs` lines 153-159: an error returns before recording, a dropped
//!   loser never completes).
//!
//! Because rotations are aligned and every write rotates first, the read histogram at
//! any instant is exactly the latencies recorded in the previous period; reads here
//! therefore compute it without mutating, which is what lets the engine ask with `&self`.

use hdrhistogram::Histogram;

use crate::engine::SimTime;

/// tower's `RotatingHistogram` in simulated time.
#[derive(Clone, Debug, PartialEq)]
pub struct RotatingHistogram {
    read: Histogram<u64>,
    write: Histogram<u64>,
    last_rotation: SimTime,
    period: SimTime,
}

impl Eq for RotatingHistogram {}

/// Which histogram a read at some instant sees.
enum View<'a> {
    /// The read histogram, as it is.
    Read(&'a Histogram<u64>),
    /// One rotation due: the written histogram becomes the read one.
    Written(&'a Histogram<u64>),
    /// Two or more due: both cleared.
    Empty,
}

impl RotatingHistogram {
    /// Empty histograms created at `now`, rotating every `period` (at least 1 ns).
    pub fn new(period: SimTime, now: SimTime) -> Self {
        // tower: `Histogram::<u64>::new(3).expect(..)`; 3 significant digits is valid.
        let empty = || Histogram::<u64>::new(3).unwrap_or_else(|e| unreachable!("3 sigfigs: {e}"));
        Self { read: empty(), write: empty(), last_rotation: now, period: period.max(SimTime(1)) }
    }

    /// Records one answered request's latency at `now` (tower's `Record for Histo`).
    pub fn record(&mut self, now: SimTime, latency: SimTime) {
        self.maybe_rotate(now);
        // tower logs a failed record and goes on; an auto-resizing histogram only fails
        // beyond u64, which whole milliseconds never reach.
        let _ = self.write.record(millis_rounded_up(latency));
    }

    /// Data points the hedge would see at `now` (`read().len()`, the `min_data_points`
    /// gate of `SelectPolicy::clone_request`).
    pub fn len(&self, now: SimTime) -> u64 {
        match self.view(now) {
            View::Read(h) | View::Written(h) => h.len(),
            View::Empty => 0,
        }
    }

    /// True when a read at `now` sees no data point.
    pub fn is_empty(&self, now: SimTime) -> bool {
        self.len(now) == 0
    }

    /// The hedge delay at `now`: `value_at_quantile(quantile)` of the read histogram, in
    /// whole milliseconds (0 when it is empty, as hdrhistogram answers).
    pub fn delay(&self, now: SimTime, quantile: f32) -> SimTime {
        let ms = match self.view(now) {
            View::Read(h) | View::Written(h) => h.value_at_quantile(f64::from(quantile)),
            View::Empty => 0,
        };
        SimTime::from_millis(ms)
    }

    fn rotations(&self, now: SimTime) -> u64 {
        now.saturating_sub(self.last_rotation).0 / self.period.0
    }

    fn view(&self, now: SimTime) -> View<'_> {
        match self.rotations(now) {
            0 => View::Read(&self.read),
            1 => View::Written(&self.write),
            _ => View::Empty,
        }
    }

    fn maybe_rotate(&mut self, now: SimTime) {
        let rotations = self.rotations(now);
        if rotations >= 2 {
            self.read.clear();
            self.write.clear();
        } else if rotations == 1 {
            std::mem::swap(&mut self.read, &mut self.write);
            self.write.clear();
        }
        self.last_rotation += SimTime(self.period.0.saturating_mul(rotations));
    }
}

/// tower's `millis`: whole seconds in milliseconds plus the sub-second part rounded up.
fn millis_rounded_up(d: SimTime) -> u64 {
    const NANOS_PER_MILLI: u64 = 1_000_000;
    let (secs, nanos) = (d.0 / SimTime::NANOS_PER_SEC, d.0 % SimTime::NANOS_PER_SEC);
    secs.saturating_mul(1_000).saturating_add(nanos.div_ceil(NANOS_PER_MILLI))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::from_millis(n)
    }

    #[test]
    fn latencies_round_up_to_milliseconds() {
        assert_eq!(millis_rounded_up(SimTime(1)), 1);
        assert_eq!(millis_rounded_up(ms(3)), 3);
        assert_eq!(millis_rounded_up(ms(3) + SimTime(1)), 4);
        assert_eq!(millis_rounded_up(SimTime::from_secs(2) + SimTime(999_000_001)), 3_000);
    }

    #[test]
    fn reads_see_the_previous_period() {
        let mut h = RotatingHistogram::new(SimTime::from_secs(1), SimTime::ZERO);
        h.record(ms(100), ms(7));
        assert!(h.is_empty(ms(999)), "written, not yet read");
        assert_eq!((h.len(ms(1_000)), h.delay(ms(1_000), 0.5)), (1, ms(7)));
        // Recorded in the second period: the first's point is read until 2 s.
        h.record(ms(1_500), ms(20));
        assert_eq!((h.len(ms(1_999)), h.delay(ms(1_999), 0.5)), (1, ms(7)));
        assert_eq!((h.len(ms(2_000)), h.delay(ms(2_000), 0.5)), (1, ms(20)));
        assert!(h.is_empty(ms(3_000)), "two periods later both are cleared");
        h.record(ms(3_200), ms(5));
        assert_eq!(h.delay(ms(4_000), 0.99), ms(5), "periods stay aligned to creation");
    }
}
