//! Outlier ejection: a clock-free detector that takes failing instances out of the
//! balancer for a while, after Envoy's outlier detection (consecutive 5xx).
//!
//! Every result of an instance is reported with [`OutlierDetector::on_result`]. After
//! `consecutive_errors` errors in a row the instance is ejected for
//! `base_ejection_time × n`, n being how many times it has been ejected (Envoy's
//! ejection multiplier), unless `max_ejection_percent` of the instances (at least one)
//! are ejected already. A success resets the run of errors. While an instance is
//! ejected, its errors do not count towards another ejection.

use crate::engine::SimTime;

/// Envoy-style outlier ejection settings (Envoy's defaults: 5 consecutive errors, 30 s
/// base ejection time, 10% of the hosts at most).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutlierEjection {
    /// Consecutive errors that eject an instance.
    pub consecutive_errors: u32,
    /// Ejection time, times the number of ejections so far.
    pub base_ejection_time: SimTime,
    /// Most instances ejected at once, percent (at least one).
    pub max_ejection_percent: f64,
}

/// What the detector knows of one instance.
#[derive(Clone, Copy, Debug, Default)]
struct Host {
    consecutive_errors: u32,
    ejections: u32,
    ejected_until: SimTime,
}

/// Outlier detection over the instances of one service.
#[derive(Clone, Debug)]
pub struct OutlierDetector {
    config: OutlierEjection,
    hosts: Vec<Host>,
}

impl OutlierDetector {
    /// A detector over `instances` instances, none ejected.
    pub fn new(config: OutlierEjection, instances: usize) -> Self {
        Self { config, hosts: vec![Host::default(); instances] }
    }

    /// True while instance `i` is ejected.
    pub fn is_ejected(&self, now: SimTime, i: usize) -> bool {
        now < self.hosts[i].ejected_until
    }

    /// Instance `i` answered (`error`: with an error, or refused). Returns when its
    /// ejection ends if this result ejected it.
    pub fn on_result(&mut self, now: SimTime, i: usize, error: bool) -> Option<SimTime> {
        let h = &mut self.hosts[i];
        if !error {
            h.consecutive_errors = 0;
            return None;
        }
        h.consecutive_errors += 1;
        if h.consecutive_errors < self.config.consecutive_errors || now < h.ejected_until {
            return None;
        }
        let n = self.hosts.len();
        let ejected = (0..n).filter(|&k| self.is_ejected(now, k)).count();
        let max = ((n as f64 * self.config.max_ejection_percent / 100.0).floor() as usize).max(1);
        if ejected >= max {
            return None;
        }
        let h = &mut self.hosts[i];
        h.ejections += 1;
        h.consecutive_errors = 0;
        h.ejected_until = now + SimTime(self.config.base_ejection_time.0.saturating_mul(u64::from(h.ejections)));
        Some(h.ejected_until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(instances: usize, max_percent: f64) -> OutlierDetector {
        let config = OutlierEjection {
            consecutive_errors: 3,
            base_ejection_time: SimTime::from_secs(30),
            max_ejection_percent: max_percent,
        };
        OutlierDetector::new(config, instances)
    }

    fn errors(d: &mut OutlierDetector, now: SimTime, i: usize, n: usize) -> Option<SimTime> {
        (0..n).map(|_| d.on_result(now, i, true)).last().flatten()
    }

    #[test]
    fn ejected_after_consecutive_errors_for_a_growing_time() {
        let mut d = detector(4, 50.0);
        let t0 = SimTime::from_secs(10);
        assert_eq!(errors(&mut d, t0, 0, 2), None);
        assert_eq!(d.on_result(t0, 0, true), Some(SimTime::from_secs(40)));
        assert!(d.is_ejected(SimTime::from_secs(39), 0));
        assert!(!d.is_ejected(SimTime::from_secs(40), 0));
        // Second ejection: twice the base time; third: three times.
        let t1 = SimTime::from_secs(50);
        assert_eq!(errors(&mut d, t1, 0, 3), Some(SimTime::from_secs(110)));
        let t2 = SimTime::from_secs(200);
        assert_eq!(errors(&mut d, t2, 0, 3), Some(SimTime::from_secs(290)));
    }

    #[test]
    fn a_success_resets_the_run_of_errors() {
        let mut d = detector(4, 50.0);
        let t = SimTime::from_secs(1);
        errors(&mut d, t, 1, 2);
        assert_eq!(d.on_result(t, 1, false), None);
        assert_eq!(errors(&mut d, t, 1, 2), None);
        assert!(!d.is_ejected(t, 1));
        assert!(d.on_result(t, 1, true).is_some());
    }

    #[test]
    fn errors_while_ejected_do_not_extend_the_ejection() {
        let mut d = detector(4, 50.0);
        let t = SimTime::from_secs(1);
        let until = errors(&mut d, t, 2, 3).unwrap();
        assert_eq!(errors(&mut d, SimTime::from_secs(5), 2, 10), None);
        assert!(d.is_ejected(SimTime::from_secs(5), 2));
        assert!(!d.is_ejected(until, 2));
        // The run of errors went on counting: the first error once the ejection is over
        // (at its very end) ejects again, for twice the base time.
        assert_eq!(d.on_result(until, 2, true), Some(until + SimTime::from_secs(60)));
    }

    #[test]
    fn at_most_max_ejection_percent_but_always_one() {
        // 10% of 4 instances rounds down to 0: one may still be ejected.
        let mut d = detector(4, 10.0);
        let t = SimTime::from_secs(1);
        assert!(errors(&mut d, t, 0, 3).is_some());
        assert_eq!(errors(&mut d, t, 1, 3), None, "a second ejection exceeds the cap");
        assert!(!d.is_ejected(t, 1));
        // The run of errors is kept: the next error after the first ejection ends ejects.
        let later = SimTime::from_secs(31);
        assert!(!d.is_ejected(later, 0));
        assert!(d.on_result(later, 1, true).is_some());
        // 50% of 4: two at once.
        let mut d = detector(4, 50.0);
        assert!(errors(&mut d, t, 0, 3).is_some());
        assert!(errors(&mut d, t, 1, 3).is_some());
        assert_eq!(errors(&mut d, t, 2, 3), None);
    }
}
