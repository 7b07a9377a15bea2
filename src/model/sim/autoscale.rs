//! Horizontal autoscaling in the engine: the controller's tick, instances starting,
//! ready, draining and off.
//!
//! The layout is fixed per replication, so an autoscaled service has a station for each
//! of its `max` instances; the autoscaler's state says which are provisioned. Only
//! `Ready` instances are candidates of the balancer ([`serves`]). Every
//! `interval` the controller ([`crate::policy::autoscale::Hpa`]) reads the metric
//! averaged over the interval on the ready instances, as Kubernetes' replica calculator
//! groups pods: a ready instance that is up is a sample, averaged over the part of the
//! interval it was ready; one starting (a pending pod) or down by a fault (its readiness
//! probe failing) is an unready pod. The count it decides is applied at once: new
//! instances start and take traffic after `startup`; removed ones are chosen as
//! Kubernetes' ReplicaSet controller ranks pods for deletion (`getPodsToDelete` with
//! `ActivePodsWithRanks`: not ready before ready, then the most recently ready, then the
//! newest) and drain: they take no new request and finish what they hold. A start may
//! reuse a draining instance's station; its old requests finish there meanwhile.
//!
//! Faults move instances as Kubernetes does: an instance down (crashed, its zone dark)
//! for `eviction_timeout` is evicted (the taint manager's `NoExecute` eviction once the
//! pod's toleration of the `unreachable`/`not-ready` taint runs out, 300 s by default)
//! and the ReplicaSet replaces it at once, keeping the count decided. The scheduler
//! places a new instance only where no fault holds it down: instance `i` of a service
//! with zones is in zone `i mod zones`, so a replacement takes the lowest free instance
//! of a zone that is up, deterministically. Until one is free it waits, as a pod the
//! scheduler cannot place.

use crate::engine::SimTime;
use crate::metrics::Areas;
use crate::metrics::autoscale::AutoscaleMetrics;
use crate::policy::autoscale::{Autoscale, Hpa, Metric, Sample, replica_count};

use super::super::Model;
use super::{Event, Simulation};

/// Where one instance of an autoscaled service stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not provisioned.
    Off,
    /// Provisioned; takes traffic from the time given.
    Starting(SimTime),
    /// Takes traffic.
    Ready,
    /// Removed: takes no new traffic and finishes what it holds.
    Draining,
}

/// The autoscaler of one service and its instances.
pub(super) struct Scaler {
    hpa: Hpa,
    /// The replica count last decided (Kubernetes' `spec.replicas`).
    current: u32,
    phase: Vec<Phase>,
    /// When each instance last became ready (`ZERO` for those ready from the start).
    ready_since: Vec<SimTime>,
    /// Instances started by the autoscaler warm up (the first ones are warm).
    warming: Vec<bool>,
    /// Since when each instance has been down by a fault (`None` while up).
    down_since: Vec<Option<SimTime>>,
    /// Per station of the service: its integrals at the last tick, and what accrued
    /// before the warm-up's end reset them.
    base: Vec<Areas>,
    carry: Vec<Areas>,
    last_tick: SimTime,
}

impl Scaler {
    /// The autoscaler of a service with `stations` stations, per `a`.
    fn of(a: &Autoscale, instances: u32, stations: usize) -> Self {
        let n = instances as usize;
        let phase = (0..n).map(|i| if i < a.initial as usize { Phase::Ready } else { Phase::Off }).collect();
        Scaler {
            hpa: Hpa::new(a.hpa.clone()),
            current: a.initial,
            phase,
            ready_since: vec![SimTime::ZERO; n],
            warming: vec![false; n],
            down_since: vec![None; n],
            base: vec![Areas::default(); stations],
            carry: vec![Areas::default(); stations],
            last_tick: SimTime::ZERO,
        }
    }
}

/// Per service, its autoscaler when it has one.
pub(super) fn scalers(model: &Model) -> Vec<Option<Box<Scaler>>> {
    let services = model.services.iter();
    services.map(|s| s.autoscale.as_ref().map(|a| Box::new(Scaler::of(a, s.instances, stations(s))))).collect()
}

/// The stations of service `s`.
fn stations(s: &super::super::Service) -> usize {
    s.instances as usize * s.pools.len()
}

/// `a` minus `b`, each gauge.
fn minus(a: &Areas, b: &Areas) -> Areas {
    Areas { queue: a.queue - b.queue, busy: a.busy - b.busy }
}

/// True when instance `i` takes traffic under `scaler` (always, without autoscaling).
#[inline]
pub(super) fn serves(scaler: Option<&Scaler>, i: u32) -> bool {
    scaler.is_none_or(|sc| sc.phase[i as usize] == Phase::Ready)
}

impl Simulation<'_> {
    /// The first controller ticks.
    pub(super) fn schedule_autoscalers(&mut self) {
        for (s, svc) in self.model.services.iter().enumerate() {
            if let Some(a) = &svc.autoscale {
                self.events.push(a.interval, Event::AutoscaleTick(s as u32));
            }
        }
    }

    /// A service time at instance `i` of `s`, slowed while the instance warms up.
    #[inline]
    pub(super) fn cold_time(&self, s: usize, i: usize, t: SimTime) -> SimTime {
        let Some(sc) = &self.autoscale[s] else { return t };
        let Some(cold) = self.model.services[s].autoscale.as_ref().and_then(|a| a.cold_start) else { return t };
        if !sc.warming[i] {
            return t;
        }
        let f = cold.factor_at(self.now.saturating_sub(sc.ready_since[i]));
        if f == 1.0 { t } else { SimTime::from_secs_f64(t.as_secs_f64() * f) }
    }

    /// Brings the stations of `s` up to now; returns each instance's integrals since
    /// the last tick (all pools together) and moves the marks to now.
    fn interval_areas(&mut self, s: usize) -> Vec<Areas> {
        let now = self.now;
        let first = self.layout.first_station(s);
        let np = self.model.services[s].pools.len();
        let Some(sc) = self.autoscale[s].as_mut() else { return Vec::new() };
        let mut per = vec![Areas::default(); sc.phase.len()];
        for k in 0..sc.base.len() {
            let st = &mut self.stations[first + k];
            st.accrue(now);
            let mut d = minus(st.areas(), &sc.base[k]);
            d.add(&sc.carry[k]);
            per[k / np].add(&d);
            sc.base[k] = *st.areas();
            sc.carry[k] = Areas::default();
        }
        per
    }

    /// The controller's tick: measure, decide, start or remove instances.
    pub(super) fn on_autoscale_tick(&mut self, s: usize) {
        let now = self.now;
        let Some(a) = self.model.services[s].autoscale.as_deref() else { return };
        self.events.push(now + a.interval, Event::AutoscaleTick(s as u32));
        let areas = self.interval_areas(s);
        let first = self.layout.first_instance[s] as usize;
        let servers = f64::from(self.model.services[s].servers);
        let Some(sc) = self.autoscale[s].as_mut() else { return };
        let mut sample = Sample {
            ready_sum: 0.0,
            ready: 0,
            unready: 0,
            missing: 0,
            target: a.target,
            missing_full: if a.metric == Metric::Utilization { 1.0 } else { a.target },
        };
        for (i, phase) in sc.phase.iter().enumerate() {
            let span = now.saturating_sub(sc.ready_since[i].max(sc.last_tick)).as_secs_f64() * 1e9;
            match phase {
                Phase::Starting(_) => sample.unready += 1,
                Phase::Ready if self.faults.fx[first + i].down || span == 0.0 => sample.unready += 1,
                Phase::Ready => {
                    let ar = &areas[i];
                    sample.ready += 1;
                    sample.ready_sum += match a.metric {
                        Metric::Utilization => ar.busy as f64 / span / servers,
                        Metric::InFlight => ar.in_system() as f64 / span,
                        Metric::Queue => ar.queue as f64 / span,
                    };
                }
                Phase::Off | Phase::Draining => {}
            }
        }
        sc.last_tick = now;
        let current = sc.current;
        let proposal = replica_count(current, &sample, a.hpa.tolerance);
        let desired = sc.hpa.reconcile(now, current, proposal);
        if desired < current {
            self.remove_instances(s, current - desired);
        }
        if let Some(sc) = self.autoscale[s].as_mut() {
            sc.current = desired;
        }
        self.replenish(s);
        if let Some(m) = self.services[s].autoscaling.as_mut() {
            m.set(now, desired);
        }
    }

    /// The ReplicaSet's reconciliation: starts as many instances as the count decided
    /// exceeds those provisioned (starting or ready), in zones that are up. Without a
    /// free instance in a zone that is up the rest wait (pods the scheduler cannot place)
    /// until a zone comes back or a later tick.
    fn replenish(&mut self, s: usize) {
        let Some(a) = self.model.services[s].autoscale.as_deref() else { return };
        let Some(sc) = self.autoscale[s].as_ref() else { return };
        let provisioned = sc.phase.iter().filter(|p| matches!(p, Phase::Starting(_) | Phase::Ready)).count() as u32;
        if sc.current > provisioned {
            self.start_instances(s, sc.current - provisioned, a.startup);
        }
    }

    /// True when instance `i` of `s` holds no request.
    fn idle(&self, s: usize, i: usize) -> bool {
        let np = self.model.services[s].pools.len();
        let first = self.layout.first_station(s) + i * np;
        self.stations[first..first + np].iter().all(|st| st.in_system() == 0)
    }

    /// Provisions up to `n` instances, ready after `startup`, among those not down (the
    /// scheduler places no pod on a node that is unreachable): off ones first (a drained
    /// one is off), then draining ones, lowest index first (so zones fill round robin).
    fn start_instances(&mut self, s: usize, n: u32, startup: SimTime) {
        let ready_at = self.now + startup;
        let Some(count) = self.autoscale[s].as_ref().map(|sc| sc.phase.len()) else { return };
        let first = self.layout.first_instance[s] as usize;
        let free = |sim: &Self, i: usize, busy_ok: bool| {
            let p = sim.autoscale[s].as_ref().map_or(Phase::Ready, |sc| sc.phase[i]);
            let placeable = p == Phase::Off || (p == Phase::Draining && (busy_ok || sim.idle(s, i)));
            placeable && !sim.faults.fx[first + i].down
        };
        let mut left = n;
        for busy_ok in [false, true] {
            for i in 0..count {
                if left > 0 && free(self, i, busy_ok) {
                    if let Some(sc) = self.autoscale[s].as_mut() {
                        sc.phase[i] = Phase::Starting(ready_at);
                    }
                    self.events.push(ready_at, Event::InstanceReady(s as u32, i as u32));
                    left -= 1;
                }
            }
        }
    }

    /// Removes `n` provisioned instances, in the ReplicaSet controller's order.
    fn remove_instances(&mut self, s: usize, n: u32) {
        let first = self.layout.first_instance[s] as usize;
        let Some(sc) = self.autoscale[s].as_mut() else { return };
        // Rank: starting (pending, not ready) first, the latest to be ready first; then
        // ready ones that are down; then the most recently ready; the newest (highest
        // index) on ties.
        let mut ranked: Vec<(u8, SimTime, usize)> = Vec::new();
        for (i, p) in sc.phase.iter().enumerate() {
            let key = match p {
                Phase::Starting(at) => (0, *at),
                Phase::Ready if self.faults.fx[first + i].down => (1, sc.ready_since[i]),
                Phase::Ready => (2, sc.ready_since[i]),
                Phase::Off | Phase::Draining => continue,
            };
            ranked.push((key.0, key.1, i));
        }
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
        for &(_, _, i) in ranked.iter().take(n as usize) {
            sc.phase[i] = match sc.phase[i] {
                Phase::Starting(_) => Phase::Off,
                _ => Phase::Draining,
            };
        }
    }

    /// After a fault starts or ends: note since when each instance of an autoscaled
    /// service is down and schedule its eviction `eviction_timeout` later; when an
    /// instance comes back up, place the replacements still waiting for a zone.
    pub(super) fn autoscale_faults_changed(&mut self) {
        let now = self.now;
        for s in 0..self.autoscale.len() {
            let Some(a) = self.model.services[s].autoscale.as_deref() else { continue };
            let first = self.layout.first_instance[s] as usize;
            let Some(sc) = self.autoscale[s].as_mut() else { continue };
            let mut up_again = false;
            for (i, since) in sc.down_since.iter_mut().enumerate() {
                match (self.faults.fx[first + i].down, *since) {
                    (true, None) => {
                        *since = Some(now);
                        self.events.push(now + a.eviction_timeout, Event::InstanceEvict(s as u32, i as u32));
                    }
                    (false, Some(_)) => {
                        *since = None;
                        up_again = true;
                    }
                    _ => {}
                }
            }
            if up_again {
                self.replenish(s);
            }
        }
    }

    /// Instance `i` of `s` has been down for `eviction_timeout` (unless it came back
    /// meanwhile): Kubernetes' taint manager evicts the pod (`NoExecute` taint whose
    /// toleration ran out) and the ReplicaSet replaces it, in a zone that is up. The
    /// count decided stays; the evicted instance's place is free once it is up again.
    pub(super) fn on_instance_evict(&mut self, s: usize, i: usize) {
        let now = self.now;
        let Some(a) = self.model.services[s].autoscale.as_deref() else { return };
        let idle = self.idle(s, i);
        let Some(sc) = self.autoscale[s].as_mut() else { return };
        let due = sc.down_since[i].is_some_and(|t| t + a.eviction_timeout == now);
        if !due || !matches!(sc.phase[i], Phase::Starting(_) | Phase::Ready) {
            return;
        }
        sc.phase[i] = if idle { Phase::Off } else { Phase::Draining };
        self.replenish(s);
    }

    /// Instance `i` of `s` finished starting: it takes traffic from now, its metric
    /// sample starts now, and it warms up.
    pub(super) fn on_instance_ready(&mut self, s: usize, i: usize) {
        let now = self.now;
        let first = self.layout.first_station(s);
        let np = self.model.services[s].pools.len();
        let Some(sc) = self.autoscale[s].as_mut() else { return };
        if sc.phase[i] != Phase::Starting(now) {
            return;
        }
        sc.phase[i] = Phase::Ready;
        sc.ready_since[i] = now;
        sc.warming[i] = true;
        for k in i * np..(i + 1) * np {
            let st = &mut self.stations[first + k];
            st.accrue(now);
            sc.base[k] = *st.areas();
            sc.carry[k] = Areas::default();
        }
    }

    /// Before the warm-up's end zeroes the stations' integrals: keep what accrued since
    /// the last tick, and restart the instance counts' measurement.
    pub(super) fn autoscale_warmup_end(&mut self) {
        let now = self.now;
        for s in 0..self.autoscale.len() {
            let first = self.layout.first_station(s);
            let Some(sc) = self.autoscale[s].as_mut() else { continue };
            for k in 0..sc.base.len() {
                let st = &mut self.stations[first + k];
                st.accrue(now);
                let d = minus(st.areas(), &sc.base[k]);
                sc.carry[k].add(&d);
                sc.base[k] = Areas::default();
            }
            if let Some(m) = self.services[s].autoscaling.as_mut() {
                m.reset(now);
            }
        }
    }

    /// A window closes at `now`: mark the instance counts.
    pub(super) fn autoscale_mark(&mut self, now: SimTime) {
        for m in self.services.iter_mut().filter_map(|m| m.autoscaling.as_mut()) {
            m.mark(now);
        }
    }
}

/// The instance-count metrics of each autoscaled service, starting at its initial count.
pub(super) fn autoscale_metrics(model: &Model, i: usize) -> Option<AutoscaleMetrics> {
    model.services[i].autoscale.as_ref().map(|a| AutoscaleMetrics::new(a.initial))
}
