//! What a replication hands over: statistics restarted at the end of the warm-up, the
//! stations' gauge integrals marked at each window's end, and the end-of-run snapshot
//! of every service, workload, edge, breaker, degradation controller and fault.

use crate::engine::SimTime;
use crate::metrics::{
    Areas, BreakerSnapshot, DegradationSnapshot, EdgeMetrics, FaultMetrics, ReplicationResult, ServiceMetrics,
    WorkloadMetrics,
};
use crate::policy::Scope;
use crate::policy::degradation::Degradation;

use super::guard::Guards;
use super::slots::Origin;
use super::{Event, Simulation};

/// Empty metrics for one replication of `model`, shaped as the engine shapes them
/// (timelines, SLO thresholds, pools, instances), for a measurement taken outside the
/// engine: the sim-to-real testbed records a real run into it, so that its report is
/// built by the same code as a simulated one.
pub fn empty_result(model: &crate::model::Model, replication: u32) -> ReplicationResult {
    let windows = model.windows();
    ReplicationResult {
        replication,
        events: 0,
        measured_secs: model.duration.as_secs_f64(),
        services: super::build::service_metrics(model),
        workloads: super::build::workload_metrics(model),
        edges: vec![EdgeMetrics::new(model.warmup, model.window, windows); model.edges.len()],
        breakers: vec![None; model.edges.len()],
        degradation: vec![None; model.services.len()],
        concurrency_limit: vec![None; model.services.len()],
        faults: vec![FaultMetrics::default(); model.faults.len()],
        log: Vec::new(),
        trace: None,
        halt: None,
        unaccounted_permits: 0,
        queues: model.services.iter().map(|s| s.message_queue.map(|_| Default::default())).collect(),
    }
}

impl Simulation<'_> {
    /// Measurement starts: every statistic restarts from zero at `now`.
    pub(super) fn reset_metrics(&mut self) {
        let now = self.now;
        for f in &mut self.fault_metrics {
            *f = FaultMetrics::default();
        }
        self.reset_degradation(now);
        self.services.iter_mut().for_each(ServiceMetrics::reset);
        self.reset_cache_metrics();
        self.workloads.iter_mut().for_each(WorkloadMetrics::reset);
        self.edges.iter_mut().for_each(EdgeMetrics::reset);
        self.autoscale_warmup_end();
        self.stations.iter_mut().for_each(|s| s.mark(now));
        if self.model.windows() > 1 {
            self.events.push(now + self.model.window, Event::WindowClose);
        }
        self.restart_degradation_stats(now);
        self.guards.reset_stats(now);
        self.mq.reset(now);
    }

    /// Brings every station's gauge integrals up to `now`.
    fn accrue_all(&mut self, now: SimTime) {
        for s in 0..self.model.services.len() {
            self.accrue_service(s, now);
        }
    }

    /// Brings the gauge integrals of service `s`'s stations up to `now` and gathers them
    /// into its pools' (each pool's summed over the instances).
    pub(super) fn accrue_service(&mut self, s: usize, now: SimTime) {
        let svc = &self.model.services[s];
        let first = self.layout.first_station(s);
        let np = svc.pools.len();
        let pools = &mut self.services[s].pools;
        pools.iter_mut().for_each(|p| p.areas = Areas::default());
        for (i, st) in self.stations[first..first + svc.instances as usize * np].iter_mut().enumerate() {
            st.accrue(now);
            pools[i % np].areas.add(st.areas());
        }
    }

    /// Adds each station's arrivals and completions into its service's per-pool and
    /// per-instance counts.
    fn gather_arrivals(&mut self) {
        for (s, m) in self.services.iter_mut().enumerate() {
            let first = self.layout.first_station(s);
            let np = m.pools.len();
            let stations = &self.stations[first..first + m.instance_arrivals.len() * np];
            for (i, st) in stations.iter().enumerate() {
                m.pools[i % np].arrivals += st.arrivals;
                m.pools[i % np].completed += st.completed;
                m.instance_arrivals[i / np] += st.arrivals;
            }
        }
    }

    /// Records each service's integrals up to `now` as the end of a window.
    fn mark_gauges(&mut self, now: SimTime) {
        self.accrue_all(now);
        self.autoscale_mark(now);
        for m in &mut self.services {
            let a = m.areas();
            m.gauge_marks.push(a);
        }
        self.mq.mark(now);
    }

    /// A time-series window ends: record each service's integrals so far, and schedule the
    /// next close (the last window is closed by `finish`).
    pub(super) fn close_window(&mut self) {
        self.mark_gauges(self.now);
        if self.services.first().map_or(0, |m| m.gauge_marks.len()) + 1 < self.model.windows() {
            self.events.push(self.now + self.model.window, Event::WindowClose);
        }
    }

    /// The mean adaptive concurrency limit over the limiters of each service that has
    /// them (one per instance, or the fleet's one).
    fn concurrency_limits(&self) -> Vec<Option<f64>> {
        let services = self.model.services.iter().enumerate();
        services
            .map(|(s, svc)| {
                let first = self.layout.first_instance[s] as usize;
                let n = if svc.concurrency_scope == Scope::Service { 1 } else { svc.instances as usize };
                let lims = &self.limiters[first..first + n];
                lims.iter().map(|l| l.as_ref().map(|l| f64::from(l.limit()))).sum::<Option<f64>>().map(|x| x / n as f64)
            })
            .collect()
    }

    /// Checks that every client-side permit is held by a call in flight or was given
    /// back, keeping the worst shortfall; run after each crash and at the end.
    pub(super) fn audit_permits(&mut self) {
        let live = self.calls.iter().filter(|c| c.in_use);
        let holding: Vec<u32> = self
            .reqs
            .iter()
            .filter(|r| r.alive)
            .filter_map(|r| if let Origin::Holding(g) = r.origin { Some(g) } else { None })
            .collect();
        self.unaccounted_permits = self.unaccounted_permits.max(self.guards.unaccounted(live, &holding));
    }

    /// Closes the time averages at the end of the run and hands the metrics over.
    pub(super) fn finish(mut self, replication: u32, events: u64) -> ReplicationResult {
        let end = self.end;
        for (f, span) in self.faults.active_spans(self.model.warmup, end) {
            self.fault_metrics[f].active += span;
        }
        self.mark_gauges(end);
        self.gather_arrivals();
        self.now = end;
        self.close_traced(None, "in_flight");
        let degradation =
            self.degrade.iter().map(|d| d.degradation.as_ref().map(|d| degradation_snapshot(d, end))).collect();
        let concurrency_limit = self.concurrency_limits();
        self.audit_permits();
        let unaccounted_permits = self.unaccounted_permits;
        for (e, m) in self.edges.iter_mut().enumerate() {
            m.envoy_overflows = self.guards.overflows(e);
        }
        let breakers = (0..self.model.edges.len()).map(|e| edge_breakers(&self.guards, e, end)).collect();
        let queues = self.mq.take_metrics();
        // Last, after anything that might still count: the open windows into their windows,
        // and what only recording needed given back (a large model keeps its results).
        self.services.iter_mut().for_each(|m| {
            m.timeline.close();
            m.sojourn.shrink();
        });
        self.workloads.iter_mut().for_each(|w| {
            w.timeline.close();
            w.latency.shrink();
        });
        self.edges.iter_mut().for_each(|e| e.timeline.close());
        ReplicationResult {
            replication,
            events,
            measured_secs: self.model.duration.as_secs_f64(),
            services: self.services,
            workloads: self.workloads,
            edges: self.edges,
            breakers,
            degradation,
            concurrency_limit,
            faults: self.fault_metrics,
            log: self.log,
            trace: self.tracer.finish(),
            halt: self.halt.take(),
            unaccounted_permits,
            queues,
        }
    }
}

/// A degradation controller's levels and time in each, for the report.
fn degradation_snapshot(d: &Degradation, end: SimTime) -> DegradationSnapshot {
    DegradationSnapshot {
        levels: d.config().levels.iter().map(|l| l.name.clone()).collect(),
        time_in_level: d.time_in_level(end).collect(),
        mean_value: d.mean_value(end),
        transitions: d.transitions().len() as u64,
    }
}

/// Edge `e`'s breakers in plain numbers for the report: one per caller instance (or one
/// for the fleet), their counters summed, time in each state averaged over them, their
/// transitions merged in time order. `None` when the edge has no breaker.
fn edge_breakers(guards: &Guards, e: usize, end: SimTime) -> Option<BreakerSnapshot> {
    BreakerSnapshot::merged(guards.breakers(e).map(|(instance, b)| {
        let st = b.stats(end);
        BreakerSnapshot {
            calls_permitted: st.calls_permitted,
            short_circuited: st.short_circuited,
            successes: st.successes,
            failures: st.failures,
            slow_calls: st.slow_calls,
            openings: st.openings,
            time_in_state: st.time_in_state,
            final_state: st.state.as_str(),
            transitions: b.transitions().iter().map(|t| (t.at, t.from.as_str(), t.to.as_str(), instance)).collect(),
            breakers: 1,
        }
    }))
}
