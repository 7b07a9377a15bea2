//! Fault effects at run time: onsets and ends (fixed windows, or alternating renewal
//! draws for MTBF/MTTR), the combined effect on each instance, crashes that lose every
//! request inside an instance, slowed service times, injected errors and partial
//! answers, and partitions of call edges.

use crate::engine::{RngStreams, SimTime, Stream, unit};
use crate::metrics::{LogEntry, Outcome};

use super::super::fault::{Effect, FaultId, Schedule, StationFx, Target};
use super::super::station::ReqId;
use super::super::{Dist, Model};
use super::slots::CallId;
use super::{Event, Layout, Simulation};

/// The chaos schedule's state in one replication.
pub(super) struct FaultState {
    /// Combined fault effect per instance (indexed like `Layout::first_instance`).
    pub(super) fx: Vec<StationFx>,
    /// Faults targeting each instance.
    pub(super) instance_faults: Vec<Vec<FaultId>>,
    /// Active partition on each edge: `Some(refuse)`.
    pub(super) partition: Vec<Option<bool>>,
    active: Vec<bool>,
    since: Vec<SimTime>,
    /// One stream per fault (`fault/<name>`): onsets, repairs and injected effects.
    pub(super) rng: Vec<Stream>,
}

impl FaultState {
    /// No fault active yet; `instances` instances in all.
    pub(super) fn of(model: &Model, layout: &Layout, instances: usize, streams: &RngStreams) -> Self {
        let mut instance_faults = vec![Vec::new(); instances];
        for (f, fault) in model.faults.iter().enumerate() {
            if let Target::Instances(list) = &fault.target {
                for &(s, i) in list {
                    instance_faults[layout.instance(s, i as usize)].push(f);
                }
            }
        }
        Self {
            fx: vec![StationFx::default(); instances],
            instance_faults,
            partition: vec![None; model.edges.len()],
            active: vec![false; model.faults.len()],
            since: vec![SimTime::ZERO; model.faults.len()],
            rng: model.faults.iter().map(|f| streams.stream(&format!("fault/{}", f.name))).collect(),
        }
    }

    /// The first active fault on instance `gi` whose effect `want` accepts.
    fn first_active(&self, model: &Model, gi: usize, want: fn(&Effect) -> bool) -> Option<FaultId> {
        self.instance_faults[gi].iter().copied().find(|&g| self.active[g] && want(&model.faults[g].effect))
    }

    /// How long each fault active at `end` has been active since `warmup`.
    pub(super) fn active_spans(&self, warmup: SimTime, end: SimTime) -> impl Iterator<Item = (FaultId, SimTime)> + '_ {
        (0..self.active.len()).filter(|&f| self.active[f]).map(move |f| (f, end - self.since[f].max(warmup)))
    }
}

impl Simulation<'_> {
    /// A crashed instance refuses `r` (a refused connection): an error for the caller,
    /// counted for outlier ejection.
    pub(super) fn refuse_down(&mut self, r: ReqId, s: usize, instance: u32) {
        let li = self.layout.instance(s, instance as usize);
        self.services[s].refused_down += 1;
        self.services[s].record_outcome(self.now, Outcome::Error);
        if let Some(f) = self.faults.first_active(self.model, li, |e| matches!(e, Effect::Crash { .. })) {
            self.fault_metrics[f].injected += 1;
        }
        self.note_instance_result(s, instance as usize, crate::policy::outlier::HostResult::ConnectFailed);
        self.finish_job(r, Outcome::Error);
    }

    /// Error and partial-response faults on the answer of `r` at instance `instance`.
    pub(super) fn inject_response_faults(&mut self, r: ReqId, s: usize, instance: usize) {
        let gi = self.layout.instance(s, instance);
        let fx = &self.faults.fx[gi];
        if fx.error == 0.0 && fx.partial.is_none() {
            return;
        }
        let (error, partial) = (fx.error, fx.partial);
        // Draw from the stream of the first active fault of the kind, so adding a fault
        // elsewhere never shifts these draws.
        if error > 0.0
            && let Some(f) = self.faults.first_active(self.model, gi, |e| matches!(e, Effect::Error(_)))
            && unit(&mut self.faults.rng[f]) < error
        {
            self.fault_metrics[f].injected += 1;
            self.reqs[r as usize].failed = true;
            return;
        }
        if let Some((p, degraded)) = partial
            && let Some(f) = self.faults.first_active(self.model, gi, |e| matches!(e, Effect::Partial { .. }))
            && unit(&mut self.faults.rng[f]) < p
        {
            self.fault_metrics[f].injected += 1;
            match degraded {
                Some(v) => self.reqs[r as usize].value *= v,
                None => self.reqs[r as usize].failed = true,
            }
        }
    }

    /// A service time under the faults active on the instance: multiplied, cold-start
    /// slowed, with latency added.
    pub(super) fn faulted_time(&mut self, s: usize, instance: usize, t: SimTime) -> SimTime {
        let gi = self.layout.instance(s, instance);
        let fx = &self.faults.fx[gi];
        if fx.is_clear(self.now) {
            return t;
        }
        let mut factor = fx.multiply;
        if self.now < fx.cold_until {
            factor *= fx.cold_factor;
        }
        let mut t = if factor == 1.0 { t } else { SimTime::from_secs_f64(t.as_secs_f64() * factor) };
        for &f in &self.faults.instance_faults[gi] {
            if !self.faults.active[f] {
                continue;
            }
            if let Effect::Latency { add, .. } = &self.model.faults[f].effect {
                if let Some(d) = add {
                    t += d.sample(&mut self.faults.rng[f]);
                }
                self.fault_metrics[f].injected += 1;
            }
        }
        t
    }

    /// A fault starts (`on`) or ends: update the effects on its target, lose the work of
    /// crashed instances, and schedule what comes next.
    pub(super) fn on_fault(&mut self, f: usize, on: bool) {
        let now = self.now;
        let fault = &self.model.faults[f];
        if self.faults.active[f] == on {
            return;
        }
        self.faults.active[f] = on;
        if on {
            self.faults.since[f] = now;
            self.fault_metrics[f].activations += 1;
        } else {
            let since = self.faults.since[f].max(self.model.warmup);
            self.fault_metrics[f].active += now - since;
        }
        if now >= self.model.warmup {
            self.note(LogEntry::Fault(f as u32, on));
        }
        match &fault.schedule {
            Schedule::Window { end, .. } if on => self.events.push(*end, Event::FaultEnd(f as u32)),
            Schedule::Random { up, down } => {
                let (d, next): (&Dist, Event) =
                    if on { (down, Event::FaultEnd(f as u32)) } else { (up, Event::FaultStart(f as u32)) };
                let t = now + d.sample(&mut self.faults.rng[f]).max(SimTime(1));
                if t <= self.end {
                    self.events.push(t, next);
                }
            }
            Schedule::Window { .. } => {}
        }
        match &fault.target {
            Target::Instances(list) if matches!(fault.effect, Effect::CacheFlush | Effect::CacheDown) => {
                let flush = matches!(fault.effect, Effect::CacheFlush);
                self.on_cache_fault(list[0].0, flush, on);
            }
            Target::Instances(list) => {
                for &(s, i) in list {
                    self.refresh_instance(s, i as usize, f);
                    self.wake_queue(s);
                }
            }
            Target::Edge(e) => {
                let active = &self.faults.active;
                let refuse = self.model.faults.iter().enumerate().find_map(|(g, x)| match (&x.target, &x.effect) {
                    (Target::Edge(te), Effect::Partition { refuse }) if te == e && active[g] => Some(*refuse),
                    _ => None,
                });
                self.faults.partition[*e] = refuse;
            }
            Target::Workload(_) => {}
        }
        self.autoscale_faults_changed();
    }

    /// Recomputes the effects on one instance after fault `cause` changed state.
    fn refresh_instance(&mut self, s: usize, instance: usize, cause: usize) {
        let now = self.now;
        let gi = self.layout.instance(s, instance);
        let old = &self.faults.fx[gi];
        let was_down = old.down;
        let active = self.faults.instance_faults[gi].iter().copied().filter(|&g| self.faults.active[g]);
        let mut fx = StationFx::combine(&self.model.faults, active, (old.cold_until, old.cold_factor));
        if was_down && !fx.down {
            // Restarted: cold for a while.
            if let Effect::Crash { cold_factor: k, cold_for } = self.model.faults[cause].effect
                && k > 1.0
            {
                fx.cold_until = now + cold_for;
                fx.cold_factor = k;
            }
        }
        let svc = &self.model.services[s];
        let base = self.layout.first_station(s) + instance * svc.pools.len();
        let down = fx.down;
        self.faults.fx[gi] = fx;
        if down && !was_down {
            self.crash_instance(s, instance, cause);
            return;
        }
        for (p, pool) in svc.pools.iter().enumerate() {
            let servers = if down { 0 } else { self.faults.fx[gi].servers(pool.servers) };
            let started = self.stations[base + p].set_servers(now, servers);
            for r in started {
                self.begin_service(r);
            }
        }
    }

    /// Every request inside the instance is lost: waiting, in service, or waiting on
    /// calls. Their callers get an error (a reset connection).
    fn crash_instance(&mut self, s: usize, instance: usize, cause: usize) {
        let now = self.now;
        let np = self.model.services[s].pools.len();
        let base = self.layout.first_station(s) + instance * np;
        for p in 0..np {
            // The waiting ones are found again by the scan below, with those in service.
            self.stations[base + p].crash(now);
        }
        let stations = base as u32..(base + np) as u32;
        let lost: Vec<ReqId> = (0..self.reqs.len() as ReqId)
            .filter(|&r| {
                let req = &self.reqs[r as usize];
                req.alive && req.service as usize == s && stations.contains(&req.station)
            })
            .collect();
        self.fault_metrics[cause].injected += lost.len() as u64;
        let li = self.limiter_slot(s, instance);
        // First mark every lost request dead (a new generation), so that answers among
        // them — a call whose request was routed back into this instance — reach a
        // caller already known to be lost instead of resuming it inside the crash.
        let lost: Vec<(ReqId, u32)> = lost
            .into_iter()
            .map(|r| {
                let req = &mut self.reqs[r as usize];
                req.epoch = req.epoch.wrapping_add(1);
                (r, req.epoch)
            })
            .collect();
        // The calls of the lost workers end now and give their permits back: a process
        // that dies takes its calls in flight with it.
        for c in 0..self.calls.len() as CallId {
            if self.calls[c as usize].in_use && self.parent_lost(c) {
                self.drop_call(c);
            }
        }
        self.audit_permits();
        for (r, epoch) in lost {
            let req = self.reqs[r as usize];
            if !req.alive || req.epoch != epoch {
                continue; // freed and reused while earlier losses were handled
            }
            // A departure for Little's law, and a slot the concurrency limiter gets back.
            let wait = if req.started >= req.arrived && req.started <= now {
                req.started - req.arrived
            } else {
                now - req.arrived
            };
            self.services[s].record_lost(now - req.arrived, wait);
            self.cache_visit_abandoned(r);
            self.services[s].record_outcome(now, Outcome::Error);
            if let Some(l) = self.limiters[li].as_mut() {
                l.release_ignored();
            }
            self.finish_job(r, Outcome::Error);
        }
    }
}
