//! The recovery mechanisms of each service, driven by the engine: health probes on a
//! timer, outlier ejection fed by every answer of an instance, heartbeat rounds with
//! failover. Their state machines live in `policy` ([`HealthChecks`],
//! [`OutlierDetector`], [`Heartbeats`]); here they are scheduled, given what the
//! instances' faults say, and their verdicts logged. The balancer reads them through
//! [`Recovery::is_usable`] and [`Recovery::weight`].

use crate::engine::SimTime;
use crate::metrics::LogEntry;
use crate::policy::failover::Heartbeats;
use crate::policy::health_check::HealthChecks;
use crate::policy::outlier::OutlierDetector;

use super::super::Service;
use super::{Event, Simulation};

/// What the recovery mechanisms know of one service's instances.
pub(super) struct Recovery {
    health: Option<HealthChecks>,
    outlier: Option<OutlierDetector>,
    heartbeats: Option<Heartbeats>,
}

impl Recovery {
    /// The mechanisms `service` has, every instance in the balancer.
    pub(super) fn of(service: &Service) -> Self {
        let n = service.instances as usize;
        Self {
            health: service.health_check.map(|h| HealthChecks::new(h, n)),
            outlier: service.outlier.map(|o| OutlierDetector::new(o, n)),
            heartbeats: service.failover.map(|f| Heartbeats::new(f, n)),
        }
    }

    /// True when instance `i` may take traffic: healthy by probes, not ejected, alive by
    /// heartbeats and, in active-passive mode, the active one.
    pub(super) fn is_usable(&self, now: SimTime, i: usize) -> bool {
        self.health.as_ref().is_none_or(|h| h.is_healthy(i))
            && self.outlier.as_ref().is_none_or(|o| !o.is_ejected(now, i))
            && self.heartbeats.as_ref().is_none_or(|h| h.is_usable(i))
    }

    /// Instance `i`'s share relative to a full one (below 1 while it ramps back).
    pub(super) fn weight(&self, now: SimTime, i: usize) -> f64 {
        self.heartbeats.as_ref().map_or(1.0, |h| h.weight(now, i))
    }
}

impl Simulation<'_> {
    /// An instance answered with an error (or refused): count it for outlier ejection.
    pub(super) fn note_instance_result(&mut self, s: usize, instance: usize, error: bool) {
        let now = self.now;
        let Some(o) = self.recovery[s].outlier.as_mut() else { return };
        if let Some(until) = o.on_result(now, instance, error) {
            self.note(LogEntry::Ejected(s as u32, instance as u32, until));
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
