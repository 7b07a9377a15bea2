//! What an autoscaled service's instance count did in one replication: its time
//! integral (for the mean and the per-window series), its peak, and the scale-ups and
//! scale-downs the controller decided. The count is the controller's replica count
//! (Kubernetes' `status.replicas`): instances starting or ready, not those draining.

use crate::engine::SimTime;

/// The instance count of one autoscaled service, measured from the end of the warm-up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoscaleMetrics {
    /// Scale-up decisions.
    pub scale_ups: u64,
    /// Scale-down decisions.
    pub scale_downs: u64,
    /// The largest count held.
    pub instances_max: u32,
    /// Integral of the count, instance-nanoseconds, up to `last`.
    pub area: u128,
    /// The count integral at the end of each closed window.
    pub marks: Vec<u128>,
    current: u32,
    last: SimTime,
}

impl AutoscaleMetrics {
    /// A count of `instances` from time zero.
    pub fn new(instances: u32) -> Self {
        AutoscaleMetrics { instances_max: instances, current: instances, ..Self::default() }
    }

    /// Adds the time since the last change at the current count.
    fn accrue(&mut self, now: SimTime) {
        self.area += u128::from(self.current) * u128::from(now.saturating_sub(self.last).0);
        self.last = now;
    }

    /// The controller set the count to `instances` at `now`.
    pub fn set(&mut self, now: SimTime, instances: u32) {
        self.accrue(now);
        if instances > self.current {
            self.scale_ups += 1;
        } else if instances < self.current {
            self.scale_downs += 1;
        }
        self.current = instances;
        self.instances_max = self.instances_max.max(instances);
    }

    /// A window closes at `now`.
    pub fn mark(&mut self, now: SimTime) {
        self.accrue(now);
        self.marks.push(self.area);
    }

    /// Measurement starts at `now`: the count held now is the first peak.
    pub fn reset(&mut self, now: SimTime) {
        *self = AutoscaleMetrics { current: self.current, last: now, ..AutoscaleMetrics::new(self.current) };
    }

    /// Mean count over `span` of measured time (up to the last mark).
    pub fn mean(&self, span: SimTime) -> Option<f64> {
        (span > SimTime::ZERO).then(|| self.area as f64 / span.0 as f64)
    }

    /// Mean count per window of length `window`: differences of the marks.
    pub fn window_means(&self, window: f64, total: f64) -> Vec<f64> {
        let mut prev = 0u128;
        self.marks
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let len = (total - i as f64 * window).clamp(0.0, window);
                let v = if len > 0.0 { (m - prev) as f64 / 1e9 / len } else { 0.0 };
                prev = m;
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_peak_and_decisions_follow_the_count() {
        let s = SimTime::from_secs;
        let mut m = AutoscaleMetrics::new(2);
        m.set(s(5), 3);
        // Measurement starts at 10 s with 3 instances.
        m.reset(s(10));
        assert_eq!((m.scale_ups, m.instances_max), (0, 3));
        m.set(s(20), 5);
        m.mark(s(30));
        m.set(s(35), 4);
        m.mark(s(40));
        assert_eq!((m.scale_ups, m.scale_downs, m.instances_max), (1, 1, 5));
        // 10 s at 3, 15 s at 5, 5 s at 4: 30 + 75 + 20 = 125 over 30 s.
        assert!((m.mean(s(30)).unwrap() - 125.0 / 30.0).abs() < 1e-12);
        let w = m.window_means(20.0, 30.0);
        assert!((w[0] - 4.0).abs() < 1e-12 && (w[1] - 4.5).abs() < 1e-12, "{w:?}");
    }
}
