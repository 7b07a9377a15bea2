//! The recovery mechanisms of each service, driven by the engine: health probes on a
//! timer, outlier ejection fed by every answer, refusal and timeout of an instance and
//! swept on its interval, heartbeat rounds with failover. Their state machines live in `policy` ([`HealthChecks`],
//! [`OutlierDetector`], [`Heartbeats`]); here they are scheduled, given what the
//! instances' faults say, and their verdicts logged. The balancer reads them through
//! [`Recovery::is_usable`] and [`Recovery::weight`].

use crate::engine::{RngStreams, SimTime, Stream};
use crate::metrics::LogEntry;
use crate::policy::failover::Heartbeats;
use crate::policy::health_check::HealthChecks;
use crate::policy::outlier::{Ejection, HostResult, OutlierDetector};

use super::super::Service;
use super::slots::{CallId, Req};
use super::{Event, Simulation};

/// Outlier detection of one service: the detector, the stream its `enforcing_*` draws
/// come from, and whether its interval sweep is scheduled.
struct Outlier {
    detector: OutlierDetector,
    rng: Stream,
    sweeping: bool,
}

/// What the recovery mechanisms know of one service's instances.
pub(super) struct Recovery {
    health: Option<HealthChecks>,
    outlier: Option<Outlier>,
    heartbeats: Option<Heartbeats>,
}

impl Recovery {
    /// The mechanisms `service` has, every instance in the balancer; outlier detection
    /// draws from the stream `outlier/<service>`.
    pub(super) fn of(service: &Service, streams: &RngStreams) -> Self {
        let n = service.instances as usize;
        Self {
            health: service.health_check.map(|h| HealthChecks::new(h, n)),
            outlier: service.outlier.map(|o| Outlier {
                detector: OutlierDetector::new(o, n),
                rng: streams.stream(&format!("outlier/{}", service.name)),
                sweeping: false,
            }),
            heartbeats: service.failover.map(|f| Heartbeats::new(f, n)),
        }
    }

    /// True when instance `i` may take traffic: healthy by probes, not ejected, alive by
    /// heartbeats and, in active-passive mode, the active one.
    pub(super) fn is_usable(&self, _now: SimTime, i: usize) -> bool {
        self.health.as_ref().is_none_or(|h| h.is_healthy(i))
            && self.outlier.as_ref().is_none_or(|o| !o.detector.is_ejected(i))
            && self.heartbeats.as_ref().is_none_or(|h| h.is_usable(i))
    }

    /// Instance `i`'s share relative to a full one (below 1 while it ramps back).
    pub(super) fn weight(&self, now: SimTime, i: usize) -> f64 {
        self.heartbeats.as_ref().map_or(1.0, |h| h.weight(now, i))
    }
}

/// The first interval sweep at or after `at`. Sweeps fall on the multiples of `interval`
/// (Envoy arms the timer when the cluster is created: here, at time 0).
fn sweep_at_or_after(at: SimTime, interval: SimTime) -> SimTime {
    SimTime(at.0.div_ceil(interval.0).saturating_mul(interval.0))
}

impl Simulation<'_> {
    /// Instance `instance` of service `s` answered `req`: outlier detection hears of the
    /// connection and the answer's status (500 for an error, 200 otherwise). An answer
    /// nobody waits for any more is not heard: Envoy reset that stream at the timeout.
    pub(super) fn note_answer(&mut self, s: usize, instance: usize, req: &Req) {
        if !req.origin.is_orphan() && self.recovery[s].outlier.is_some() {
            self.note_instance_result(s, instance, HostResult::ConnectSuccess);
            self.note_instance_result(s, instance, HostResult::Status(if req.failed { 500 } else { 200 }));
        }
    }

    /// The attempt of call `c` timed out: each of its requests still at an instance of the
    /// callee is a timeout there (Envoy's `LOCAL_ORIGIN_TIMEOUT` on a per-try timeout).
    /// Called before the requests are abandoned.
    pub(super) fn note_attempt_timeout(&mut self, c: CallId) {
        let cs = self.calls[c as usize];
        let to = self.model.edges[cs.edge as usize].to;
        if self.recovery[to].outlier.is_none() {
            return;
        }
        for &r in &cs.live[..usize::from(cs.n_live)] {
            let req = self.reqs[r as usize];
            if req.service as usize == to {
                self.note_instance_result(to, req.instance as usize, HostResult::Timeout);
            }
        }
    }

    /// Instance `instance` of service `s` had `result`: count it for outlier ejection,
    /// and start the service's interval sweep at its first result.
    pub(super) fn note_instance_result(&mut self, s: usize, instance: usize, result: HostResult) {
        let now = self.now;
        let Some(o) = self.recovery[s].outlier.as_mut() else { return };
        let ejection = o.detector.on_result(now, instance, result, &mut o.rng);
        if !o.sweeping {
            // Before the first result a sweep has nothing to do: starting the timer here,
            // on the same multiples of the interval, changes nothing but the queue's size.
            o.sweeping = true;
            let interval = o.detector.config().interval;
            self.events.push(sweep_at_or_after(now + SimTime(1), interval), Event::OutlierSweep(s as u32));
        }
        if let Some(e) = ejection {
            self.log_ejection(s, e);
        }
    }

    /// Logs an ejection with the sweep that will bring the instance back.
    fn log_ejection(&mut self, s: usize, e: Ejection) {
        let Some(o) = self.recovery[s].outlier.as_ref() else { return };
        let until = sweep_at_or_after(self.now + o.detector.ejection_time(e.host), o.detector.config().interval);
        self.note(LogEntry::Ejected(s as u32, e.host as u32, until));
    }

    /// Service `s`'s outlier interval sweep: returns, statistical ejections, decay.
    pub(super) fn on_outlier_sweep(&mut self, s: usize) {
        let now = self.now;
        let Some(o) = self.recovery[s].outlier.as_mut() else { return };
        let (_, ejected) = o.detector.on_interval(now, &mut o.rng);
        let interval = o.detector.config().interval;
        for e in ejected {
            self.log_ejection(s, e);
        }
        if now + interval <= self.end {
            self.events.push(now + interval, Event::OutlierSweep(s as u32));
        }
    }

    /// A health probe of instance `i`: a live instance answers at once; a dead one
    /// fails after the probe timeout.
    pub(super) fn on_probe(&mut self, s: usize, i: u32) {
        let Some(h) = self.model.services[s].health_check else { return };
        let gi = self.layout.instance(s, i as usize);
        if self.faults.fx[gi].down {
            self.events.push(self.now + h.timeout, Event::HealthResult(gi as u32, false));
        } else {
            self.on_probe_result(gi, true);
        }
        if self.now + h.interval <= self.end {
            self.events.push(self.now + h.interval, Event::HealthProbe(s as u32, i));
        }
    }

    /// A probe's verdict on global instance `gi`.
    pub(super) fn on_probe_result(&mut self, gi: usize, ok: bool) {
        let first = &self.layout.first_instance;
        let s = first.partition_point(|&f| f as usize <= gi) - 1;
        let i = gi - first[s] as usize;
        let Some(h) = self.recovery[s].health.as_mut() else { return };
        if let Some(healthy) = h.on_probe(i, ok) {
            self.note(LogEntry::Health(s as u32, i as u32, healthy));
        }
    }

    /// A heartbeat round: count misses, declare failures and recoveries, fail over.
    pub(super) fn on_heartbeat(&mut self, s: usize) {
        let Some(f) = self.model.services[s].failover else { return };
        let now = self.now;
        for i in 0..self.model.services[s].instances {
            let alive = !self.faults.fx[self.layout.instance(s, i as usize)].down;
            let heartbeats = self.recovery[s].heartbeats.as_mut();
            if let Some(verdict) = heartbeats.and_then(|h| h.on_beat(now, i as usize, alive)) {
                self.note(LogEntry::Heartbeat(s as u32, i, verdict));
            }
        }
        if let Some((from, to)) = self.recovery[s].heartbeats.as_mut().and_then(Heartbeats::fail_over) {
            self.note(LogEntry::Failover(s as u32, from, to));
        }
        if now + f.heartbeat <= self.end {
            self.events.push(now + f.heartbeat, Event::Heartbeat(s as u32));
        }
    }
}
