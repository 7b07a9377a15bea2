//! Outlier ejection: a clock-free detector that takes failing instances out of the
//! balancer for a while, after Envoy's outlier detection (`outlier_detection_impl.cc`).
//!
//! Results reach the detector one by one ([`OutlierDetector::on_result`]): an answer's
//! status, a refused connection or a timeout. Runs of errors eject at once: 5xx,
//! gateway errors (502/503/504) and, with `split_external_local_origin_errors`, locally
//! originated errors (refused connections, timeouts) each have their own counter and
//! threshold. Without the split a timeout counts as a 504 and a refusal as a 503, as
//! Envoy maps them. Everything else happens at the interval timer
//! ([`OutlierDetector::on_interval`], Envoy's `onIntervalTimer`): hosts whose ejection
//! time has passed come back, the success-rate and failure-percentage detectors run
//! over the interval that ended, and hosts that stayed in for a whole interval have
//! their ejection multiplier decremented.
//!
//! An ejection lasts `min(base_ejection_time × m, max_ejection_time)`, m being the
//! multiplier (Envoy's `ejectTimeBackoff`): each ejection increments it (while
//! `m × base < max + base`), each healthy interval decrements it. At most
//! `max_ejection_percent` of the hosts are ejected at once (`100 × (ejected + 1) / hosts
//! <= max`); with `always_eject_one_host` one may always be. Each detector's ejections
//! are enforced with a probability (`enforcing_*`, percent), drawn from the stream the
//! caller passes; 0 and 100 draw nothing.

mod success_rate;

pub use success_rate::{FailurePercentage, SuccessRate, mean_and_threshold};

use crate::engine::{SimTime, Stream};
use rand::Rng;
use success_rate::Monitor;

/// A run of errors that ejects, and how often its ejections are enforced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Consecutive {
    /// Errors in a row that eject.
    pub threshold: u32,
    /// Chance (percent) that a detected ejection is enforced.
    pub enforcing: u32,
}

/// Envoy's `OutlierDetection` cluster settings; [`OutlierEjection::envoy`] has Envoy's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutlierEjection {
    /// Time between sweeps: un-ejection, success-rate and failure-percentage detection,
    /// multiplier decay (10 s).
    pub interval: SimTime,
    /// Ejection time, times the ejection multiplier (30 s).
    pub base_ejection_time: SimTime,
    /// Longest ejection (300 s, or `base_ejection_time` when that is longer).
    pub max_ejection_time: SimTime,
    /// Most instances ejected at once, percent (10).
    pub max_ejection_percent: f64,
    /// One instance may be ejected whatever `max_ejection_percent` says.
    pub always_eject_one_host: bool,
    /// Consecutive 5xx (5, enforced 100%).
    pub consecutive_5xx: Consecutive,
    /// Consecutive gateway errors: 502, 503, 504 (5, enforced 0%).
    pub consecutive_gateway_failure: Consecutive,
    /// Count refused connections and timeouts apart from the answers' statuses.
    pub split_external_local_origin_errors: bool,
    /// Consecutive locally originated errors, with the split (5, enforced 100%).
    pub consecutive_local_origin_failure: Consecutive,
    /// Success-rate detection (5 hosts, 100 requests, 1.9 stdev).
    pub success_rate: SuccessRate,
    /// Chance (percent) that a success-rate ejection is enforced: external origin (100),
    /// local origin (100).
    pub enforcing_success_rate: [u32; 2],
    /// Failure-percentage detection (85%, 5 hosts, 50 requests).
    pub failure_percentage: FailurePercentage,
    /// Chance (percent) that a failure-percentage ejection is enforced: external origin
    /// (0), local origin (0).
    pub enforcing_failure_percentage: [u32; 2],
}

impl OutlierEjection {
    /// Envoy's defaults (`envoy.config.cluster.v3.OutlierDetection`), except
    /// `always_eject_one_host`: true here, false in Envoy (the README says why).
    pub fn envoy() -> Self {
        Self {
            interval: SimTime::from_secs(10),
            base_ejection_time: SimTime::from_secs(30),
            max_ejection_time: SimTime::from_secs(300),
            max_ejection_percent: 10.0,
            always_eject_one_host: true,
            consecutive_5xx: Consecutive { threshold: 5, enforcing: 100 },
            consecutive_gateway_failure: Consecutive { threshold: 5, enforcing: 0 },
            split_external_local_origin_errors: false,
            consecutive_local_origin_failure: Consecutive { threshold: 5, enforcing: 100 },
            success_rate: SuccessRate { minimum_hosts: 5, request_volume: 100, stdev_factor: 1900 },
            enforcing_success_rate: [100, 100],
            failure_percentage: FailurePercentage { threshold: 85, minimum_hosts: 5, request_volume: 50 },
            enforcing_failure_percentage: [0, 0],
        }
    }
}

/// What one attempt on a host told the detector (Envoy's `Result` and HTTP codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostResult {
    /// An answer with this HTTP status (`putHttpResponseCode`): 5xx are errors, 502,
    /// 503 and 504 gateway errors.
    Status(u16),
    /// The connection was made (`LOCAL_ORIGIN_CONNECT_SUCCESS`): ends a run of locally
    /// originated errors with the split, ignored without.
    ConnectSuccess,
    /// The connection was refused (`LOCAL_ORIGIN_CONNECT_FAILED`; a 503 without the split).
    ConnectFailed,
    /// No answer before the timeout (`LOCAL_ORIGIN_TIMEOUT`; a 504 without the split).
    Timeout,
}

/// Which detector found an outlier (Envoy's `OutlierEjectionType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EjectionKind {
    /// `consecutive_5xx`.
    Consecutive5xx,
    /// `consecutive_gateway_failure`.
    ConsecutiveGatewayFailure,
    /// `consecutive_local_origin_failure`.
    ConsecutiveLocalOriginFailure,
    /// Success rate, external origin.
    SuccessRate,
    /// Success rate, local origin.
    SuccessRateLocalOrigin,
    /// Failure percentage, external origin.
    FailurePercentage,
    /// Failure percentage, local origin.
    FailurePercentageLocalOrigin,
}

/// Which success-rate monitor: answers' statuses, or locally originated errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Answers (and, without the split, refusals and timeouts).
    External = 0,
    /// Refusals and timeouts, with the split.
    Local = 1,
}

/// An enforced ejection of `host` by `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ejection {
    /// The ejected host.
    pub host: usize,
    /// The detector that found it.
    pub kind: EjectionKind,
}

/// Counters of the detector's decisions (Envoy's `outlier_detection.*` stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutlierStats {
    /// Ejections detected (`ejections_detected_*`), enforced or not.
    pub detected: u64,
    /// Ejections enforced (`ejections_enforced_total`).
    pub enforced: u64,
    /// Detected ejections refused by `max_ejection_percent` (`ejections_overflow`).
    pub overflow: u64,
}

/// What the detector knows of one host.
#[derive(Clone, Copy, Debug, Default)]
struct Host {
    consecutive_5xx: u32,
    consecutive_gateway: u32,
    consecutive_local: u32,
    ejected: bool,
    /// Envoy's `ejectTimeBackoff`: the ejection multiplier.
    backoff: u32,
    last_ejection: SimTime,
    last_unejection: Option<SimTime>,
    monitors: [Monitor; 2],
}

/// Outlier detection over the instances of one service.
#[derive(Clone, Debug)]
pub struct OutlierDetector {
    config: OutlierEjection,
    hosts: Vec<Host>,
    ejected: usize,
    /// Mean and threshold of the last success-rate sweep, per origin.
    sr_numbers: [Option<(f64, f64)>; 2],
    stats: OutlierStats,
}

/// Bumps a run counter; true when it reaches `threshold` (Envoy compares with `==`, so a
/// run that goes on past the threshold without a reset does not fire again).
fn bump(counter: &mut u32, threshold: u32) -> bool {
    *counter += 1;
    *counter == threshold
}

impl OutlierDetector {
    /// A detector over `instances` instances, none ejected.
    pub fn new(config: OutlierEjection, instances: usize) -> Self {
        Self {
            config,
            hosts: vec![Host::default(); instances],
            ejected: 0,
            sr_numbers: [None; 2],
            stats: Default::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &OutlierEjection {
        &self.config
    }

    /// True while instance `i` is ejected.
    pub fn is_ejected(&self, i: usize) -> bool {
        self.hosts[i].ejected
    }

    /// Instances ejected now.
    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    /// The counters of detections, enforcements and overflows.
    pub fn stats(&self) -> OutlierStats {
        self.stats
    }

    /// How long instance `i`'s current (or next) ejection lasts:
    /// `min(base × multiplier, max)`. It comes back at the first interval sweep at least
    /// this long after it was ejected.
    pub fn ejection_time(&self, i: usize) -> SimTime {
        let c = &self.config;
        SimTime(c.base_ejection_time.0.saturating_mul(u64::from(self.hosts[i].backoff))).min(c.max_ejection_time)
    }

    /// Instance `i`'s ejection multiplier (Envoy's `ejectTimeBackoff`).
    pub fn multiplier(&self, i: usize) -> u32 {
        self.hosts[i].backoff
    }

    /// The success rate (percent) last computed for instance `i`, if its volume sufficed.
    pub fn success_rate(&self, i: usize, origin: Origin) -> Option<f64> {
        self.hosts[i].monitors[origin as usize].rate
    }

    /// Mean success rate and ejection threshold of the last sweep, if the detector ran.
    pub fn success_rate_numbers(&self, origin: Origin) -> Option<(f64, f64)> {
        self.sr_numbers[origin as usize]
    }

    /// Instance `i` had `result`. Returns the ejection it caused, if one was enforced.
    pub fn on_result(&mut self, now: SimTime, i: usize, result: HostResult, rng: &mut Stream) -> Option<Ejection> {
        let split = self.config.split_external_local_origin_errors;
        match result {
            HostResult::Status(code) => self.on_status(now, i, code, rng),
            HostResult::ConnectSuccess if split => {
                self.hosts[i].monitors[Origin::Local as usize].count(true);
                self.hosts[i].consecutive_local = 0;
                None
            }
            HostResult::ConnectSuccess => None,
            HostResult::ConnectFailed | HostResult::Timeout if split => {
                let h = &mut self.hosts[i];
                h.monitors[Origin::Local as usize].count(false);
                let threshold = self.config.consecutive_local_origin_failure.threshold;
                if bump(&mut h.consecutive_local, threshold) {
                    return self.on_consecutive(now, i, EjectionKind::ConsecutiveLocalOriginFailure, rng);
                }
                None
            }
            HostResult::ConnectFailed => self.on_status(now, i, 503, rng),
            HostResult::Timeout => self.on_status(now, i, 504, rng),
        }
    }

    /// Envoy's `putHttpResponseCode`: the gateway-error run is checked before the 5xx run.
    fn on_status(&mut self, now: SimTime, i: usize, code: u16, rng: &mut Stream) -> Option<Ejection> {
        let c = self.config;
        let h = &mut self.hosts[i];
        let is_5xx = (500..600).contains(&code);
        h.monitors[Origin::External as usize].count(!is_5xx);
        if !is_5xx {
            h.consecutive_5xx = 0;
            h.consecutive_gateway = 0;
            return None;
        }
        let mut fired = [None, None];
        if matches!(code, 502..=504) {
            if bump(&mut h.consecutive_gateway, c.consecutive_gateway_failure.threshold) {
                fired[0] = Some(EjectionKind::ConsecutiveGatewayFailure);
            }
        } else {
            h.consecutive_gateway = 0;
        }
        if bump(&mut h.consecutive_5xx, c.consecutive_5xx.threshold) {
            fired[1] = Some(EjectionKind::Consecutive5xx);
        }
        // Both may fire on one answer; the second finds the host ejected by the first.
        fired.into_iter().flatten().fold(None, |done, kind| done.or(self.on_consecutive(now, i, kind, rng)))
    }

    /// Envoy's `onConsecutiveErrorWorker`: a run reached its threshold. An ejected host
    /// is left alone (its counter not reset); otherwise the run restarts, ejected or not.
    fn on_consecutive(&mut self, now: SimTime, i: usize, kind: EjectionKind, rng: &mut Stream) -> Option<Ejection> {
        if self.hosts[i].ejected {
            return None;
        }
        let ejection = self.eject(now, i, kind, rng);
        let h = &mut self.hosts[i];
        match kind {
            EjectionKind::Consecutive5xx => h.consecutive_5xx = 0,
            EjectionKind::ConsecutiveGatewayFailure => h.consecutive_gateway = 0,
            _ => h.consecutive_local = 0,
        }
        ejection
    }

    /// The chance (percent) that an ejection by `kind` is enforced.
    fn enforcing(&self, kind: EjectionKind) -> u32 {
        let c = &self.config;
        match kind {
            EjectionKind::Consecutive5xx => c.consecutive_5xx.enforcing,
            EjectionKind::ConsecutiveGatewayFailure => c.consecutive_gateway_failure.enforcing,
            EjectionKind::ConsecutiveLocalOriginFailure => c.consecutive_local_origin_failure.enforcing,
            EjectionKind::SuccessRate => c.enforcing_success_rate[0],
            EjectionKind::SuccessRateLocalOrigin => c.enforcing_success_rate[1],
            EjectionKind::FailurePercentage => c.enforcing_failure_percentage[0],
            EjectionKind::FailurePercentageLocalOrigin => c.enforcing_failure_percentage[1],
        }
    }

    /// Envoy's `ejectHost`: within `max_ejection_percent`, and if the draw enforces it,
    /// host `i` is ejected and its multiplier grows.
    fn eject(&mut self, now: SimTime, i: usize, kind: EjectionKind, rng: &mut Stream) -> Option<Ejection> {
        self.stats.detected += 1;
        let c = self.config;
        let percent = 100.0 * (self.ejected + 1) as f64 / self.hosts.len() as f64;
        let allowed = percent <= c.max_ejection_percent || (c.always_eject_one_host && self.ejected == 0);
        if !allowed {
            self.stats.overflow += 1;
            return None;
        }
        let chance = self.enforcing(kind);
        if chance == 0 || (chance < 100 && rng.next_u64() % 100 >= u64::from(chance)) {
            return None;
        }
        self.stats.enforced += 1;
        self.ejected += 1;
        let h = &mut self.hosts[i];
        h.ejected = true;
        h.last_ejection = now;
        let base = c.base_ejection_time.0;
        if u64::from(h.backoff).saturating_mul(base) < c.max_ejection_time.0.saturating_add(base) {
            h.backoff += 1;
        }
        Some(Ejection { host: i, kind })
    }

    /// The interval timer fired (Envoy's `onIntervalTimer`): brings back hosts whose
    /// ejection time has passed (returned first, in host order), runs the success-rate
    /// and failure-percentage detectors over the interval that ended (their enforced
    /// ejections returned second), and decays the multiplier of hosts in for a whole
    /// interval.
    pub fn on_interval(&mut self, now: SimTime, rng: &mut Stream) -> (Vec<usize>, Vec<Ejection>) {
        let mut back = Vec::new();
        for i in 0..self.hosts.len() {
            if self.hosts[i].ejected && self.ejection_time(i) <= now - self.hosts[i].last_ejection {
                self.uneject(now, i);
                back.push(i);
            }
            self.hosts[i].monitors.iter_mut().for_each(Monitor::swap);
        }
        let mut ejected = self.sweep(now, Origin::External, rng);
        ejected.extend(self.sweep(now, Origin::Local, rng));
        let interval = self.config.interval;
        for h in self.hosts.iter_mut().filter(|h| !h.ejected) {
            if h.last_unejection.is_some_and(|t| now - t >= interval) {
                h.backoff = h.backoff.saturating_sub(1);
            }
        }
        (back, ejected)
    }

    /// Envoy's `unejectHost`: back in, runs of errors restarted.
    fn uneject(&mut self, now: SimTime, i: usize) {
        let h = &mut self.hosts[i];
        h.ejected = false;
        h.consecutive_5xx = 0;
        h.consecutive_gateway = 0;
        h.consecutive_local = 0;
        h.last_unejection = Some(now);
        self.ejected -= 1;
    }

    /// One origin's success-rate then failure-percentage detection.
    fn sweep(&mut self, now: SimTime, origin: Origin, rng: &mut Stream) -> Vec<Ejection> {
        let o = origin as usize;
        let ejected: Vec<bool> = self.hosts.iter().map(|h| h.ejected).collect();
        let mut monitors: Vec<Monitor> = self.hosts.iter().map(|h| h.monitors[o]).collect();
        let v =
            success_rate::evaluate(&mut monitors, &ejected, &self.config.success_rate, &self.config.failure_percentage);
        for (h, m) in self.hosts.iter_mut().zip(monitors) {
            h.monitors[o] = m;
        }
        self.sr_numbers[o] = v.mean_and_threshold;
        let (sr, fp) = match origin {
            Origin::External => (EjectionKind::SuccessRate, EjectionKind::FailurePercentage),
            Origin::Local => (EjectionKind::SuccessRateLocalOrigin, EjectionKind::FailurePercentageLocalOrigin),
        };
        let found = v.by_success_rate.iter().map(|&i| (i, sr)).chain(v.by_failure_percentage.iter().map(|&i| (i, fp)));
        let mut out = Vec::new();
        for (i, kind) in found {
            // A host ejected by success rate is not ejected again by failure percentage.
            if !self.hosts[i].ejected {
                out.extend(self.eject(now, i, kind, rng));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
