//! Active health checking: a clock-free tally of probe verdicts per instance.
//!
//! An instance leaves the balancer after `unhealthy` failed probes in a row and comes
//! back after `healthy` good ones in a row, the thresholds of Envoy's active health
//! checking (`unhealthy_threshold`, `healthy_threshold`) and of Kubernetes readiness
//! probes (`failureThreshold`, `successThreshold`). Every instance starts healthy, as
//! Kubernetes assumes a started container ready only after its first probe but Envoy,
//! without `no_traffic_interval` tuning, sends traffic at once; resim follows Envoy.
//! The probe schedule (one probe per `interval`, a dead instance's probe failing after
//! `timeout`) is the engine's; this type only counts verdicts.

use crate::engine::SimTime;

/// Active health checking settings (defaults: every 30 s, a 5 s probe timeout, out after
/// 3 failed probes, back after 2 good ones: the AWS classic load balancer's interval and
/// timeout with Envoy-style thresholds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthCheck {
    /// Time between probes of an instance.
    pub interval: SimTime,
    /// A probe of a dead instance fails after this long.
    pub timeout: SimTime,
    /// Failed probes in a row that take the instance out.
    pub unhealthy: u32,
    /// Good probes in a row that put it back.
    pub healthy: u32,
}

/// The probe tally of one instance.
#[derive(Clone, Copy, Debug)]
struct Tally {
    healthy: bool,
    fails: u32,
    oks: u32,
}

/// What active health checks know of every instance of one service.
#[derive(Clone, Debug)]
pub struct HealthChecks {
    config: HealthCheck,
    instances: Vec<Tally>,
}

impl HealthChecks {
    /// `instances` instances, all healthy.
    pub fn new(config: HealthCheck, instances: usize) -> Self {
        Self { config, instances: vec![Tally { healthy: true, fails: 0, oks: 0 }; instances] }
    }

    /// True while instance `i` is in the balancer as far as probes know.
    pub fn is_healthy(&self, i: usize) -> bool {
        self.instances[i].healthy
    }

    /// A probe of instance `i` passed (`ok`) or failed. Returns the instance's new state
    /// when this verdict changed it (`Some(false)`: taken out; `Some(true)`: back in).
    pub fn on_probe(&mut self, i: usize, ok: bool) -> Option<bool> {
        let t = &mut self.instances[i];
        let before = t.healthy;
        if ok {
            t.fails = 0;
            t.oks += 1;
            if !t.healthy && t.oks >= self.config.healthy {
                t.healthy = true;
            }
        } else {
            t.oks = 0;
            t.fails += 1;
            if t.healthy && t.fails >= self.config.unhealthy {
                t.healthy = false;
            }
        }
        (t.healthy != before).then_some(t.healthy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(unhealthy: u32, healthy: u32) -> HealthChecks {
        let config =
            HealthCheck { interval: SimTime::from_secs(30), timeout: SimTime::from_secs(5), unhealthy, healthy };
        HealthChecks::new(config, 2)
    }

    #[test]
    fn out_after_the_unhealthy_threshold_in_a_row() {
        let mut h = checks(3, 2);
        assert_eq!(h.on_probe(0, false), None);
        assert_eq!(h.on_probe(0, false), None);
        assert!(h.is_healthy(0));
        assert_eq!(h.on_probe(0, false), Some(false));
        assert!(!h.is_healthy(0));
        // Further failures change nothing; the other instance is untouched.
        assert_eq!(h.on_probe(0, false), None);
        assert!(h.is_healthy(1));
    }

    #[test]
    fn a_good_probe_resets_the_failure_count() {
        let mut h = checks(3, 2);
        h.on_probe(0, false);
        h.on_probe(0, false);
        assert_eq!(h.on_probe(0, true), None);
        h.on_probe(0, false);
        h.on_probe(0, false);
        assert!(h.is_healthy(0), "two failures after a success are not three in a row");
        assert_eq!(h.on_probe(0, false), Some(false));
    }

    #[test]
    fn back_after_the_healthy_threshold_in_a_row() {
        let mut h = checks(1, 2);
        assert_eq!(h.on_probe(1, false), Some(false));
        assert_eq!(h.on_probe(1, true), None);
        assert_eq!(h.on_probe(1, false), None, "a failure resets the good count");
        assert_eq!(h.on_probe(1, true), None);
        assert_eq!(h.on_probe(1, true), Some(true));
        assert!(h.is_healthy(1));
        // Good probes of a healthy instance change nothing.
        assert_eq!(h.on_probe(1, true), None);
    }
}
