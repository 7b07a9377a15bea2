//! Sleeping a drawn service time on tokio's timer, with its own error measured and
//! corrected.
//!
//! tokio's timer wheel has 1 ms slots and fires a sleep at the first tick at or after its
//! deadline, and the woken task waits for a worker thread: a sleep of `d` lasts `d` plus
//! about half a millisecond plus scheduler delay. At 50 ms service times that is 1-2% more
//! work per request, which at 90% utilisation is 10-20% more waiting. So each sleep asks
//! for `d` minus the running mean of the lateness observed so far (an exponentially
//! weighted mean over the last ~64 sleeps, under the load of the run itself), and the
//! residual error of each sleep is handed back to be taken off the latency it is part of.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Weight of a new observation in the lateness mean: 1/64.
const EWMA_SHIFT: u32 = 6;

/// A timer shared by every server of a run.
#[derive(Debug)]
pub struct Timer {
    /// Mean lateness of a sleep past its requested deadline, ns.
    lateness_ns: AtomicI64,
    /// Sum and count of the uncorrected lateness, for the report.
    late_sum_ns: AtomicU64,
    late_n: AtomicU64,
    /// Sum of |residual| after correction, ns.
    residual_abs_ns: AtomicU64,
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer {
    /// A timer assuming half a millisecond of lateness until it has measured its own.
    pub fn new() -> Self {
        Self {
            lateness_ns: AtomicI64::new(500_000),
            late_sum_ns: AtomicU64::new(0),
            late_n: AtomicU64::new(0),
            residual_abs_ns: AtomicU64::new(0),
        }
    }

    /// Sleeps for about `d` and returns the residual `actual − d` in ns (signed): the part
    /// of the sleep that was the timer's, not the model's.
    pub async fn sleep(&self, d: Duration) -> i64 {
        let start = Instant::now();
        let want = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let ask = want - self.lateness_ns.load(Ordering::Relaxed);
        if ask > 0 {
            let asked = Duration::from_nanos(ask.unsigned_abs());
            tokio::time::sleep_until((start + asked).into()).await;
            let actual = i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX);
            let late = actual - ask;
            let old = self.lateness_ns.load(Ordering::Relaxed);
            self.lateness_ns.store(old + ((late - old) >> EWMA_SHIFT), Ordering::Relaxed);
            self.late_sum_ns.fetch_add(late.max(0).unsigned_abs(), Ordering::Relaxed);
            self.late_n.fetch_add(1, Ordering::Relaxed);
            let residual = actual - want;
            self.residual_abs_ns.fetch_add(residual.unsigned_abs(), Ordering::Relaxed);
            residual
        } else {
            tokio::task::yield_now().await;
            i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX) - want
        }
    }

    /// Mean uncorrected lateness of a sleep (s) and mean |residual| after correction (s),
    /// over the sleeps so far.
    pub fn stats(&self) -> (f64, f64, u64) {
        let n = self.late_n.load(Ordering::Relaxed);
        let per = |x: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 / 1e9 };
        (per(self.late_sum_ns.load(Ordering::Relaxed)), per(self.residual_abs_ns.load(Ordering::Relaxed)), n)
    }
}
