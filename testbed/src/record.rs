//! What one real replication measured, kept in the simulator's own shape.
//!
//! The testbed fills a [`ReplicationResult`] (resim's per-replication metrics, built by
//! [`resim::model::sim::empty_result`] exactly as the engine builds its own), so the
//! report of a real run comes out of the same `ReplicationSummary` and `Report` code as
//! a simulated one, key for key. Times are nanoseconds of the wall clock from the start
//! of the replication. Every record takes one short lock: at a few hundred requests a
//! second the lock is free almost always, and one lock keeps the gauges of a station
//! and its counters consistent with each other.

use std::sync::Mutex;
use std::time::Instant;

use resim::engine::SimTime;
use resim::metrics::{Areas, EdgeMetrics, Outcome, ReplicationResult, ServiceMetrics, WorkloadMetrics};
use resim::model::Model;

/// The gauges of one instance (one station): requests waiting and in service, integrated
/// over time.
#[derive(Clone, Copy, Debug, Default)]
struct Gauge {
    queue: u64,
    busy: u64,
    last: SimTime,
    areas: Areas,
}

impl Gauge {
    fn accrue(&mut self, now: SimTime) {
        let dt = u128::from(now.saturating_sub(self.last).0);
        self.areas.queue += u128::from(self.queue) * dt;
        self.areas.busy += u128::from(self.busy) * dt;
        self.last = self.last.max(now);
    }

    fn inside(&self) -> u64 {
        self.queue + self.busy
    }
}

/// A station's admission: the request is inside (waiting for a worker), or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Inside the station, waiting for a worker.
    Admitted,
    /// The station held `capacity` requests: refused (HTTP 503).
    Full,
}

struct State {
    result: ReplicationResult,
    /// Gauges per instance, service-major (`first[s] + i`).
    gauges: Vec<Gauge>,
    first: Vec<usize>,
    capacity: Vec<Option<u32>>,
    windows: usize,
}

/// The replication's clock: wall time from its start, in the simulator's units.
#[derive(Clone, Copy, Debug)]
pub struct Clock(Instant);

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self(Instant::now())
    }

    /// Nanoseconds since the start.
    pub fn now(&self) -> SimTime {
        SimTime(u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// The wall-clock instant of time `t`.
    pub fn instant(&self, t: SimTime) -> Instant {
        self.0 + std::time::Duration::from_nanos(t.0)
    }
}

/// The replication's measurements, shared by every server, client and generator task.
pub struct Recorder {
    replication: u32,
    clock: Clock,
    state: Mutex<State>,
}

impl Recorder {
    /// Empty measurements for replication `replication` of `model`, timed by `clock`.
    pub fn new(model: &Model, replication: u32, clock: Clock) -> Self {
        let mut first = Vec::with_capacity(model.services.len());
        let mut n = 0;
        for s in &model.services {
            first.push(n);
            n += s.instances as usize;
        }
        let state = State {
            result: resim::model::sim::empty_result(model, replication),
            gauges: vec![Gauge::default(); n],
            first,
            capacity: model.services.iter().map(|s| s.capacity).collect(),
            windows: model.windows(),
        };
        Self { replication, clock, state: Mutex::new(state) }
    }

    /// The replication's index.
    pub fn replication(&self) -> u32 {
        self.replication
    }

    /// Nanoseconds since the replication started.
    pub fn now(&self) -> SimTime {
        self.clock.now()
    }

    /// The wall-clock instant of replication time `t`.
    pub fn instant(&self, t: SimTime) -> Instant {
        self.clock.instant(t)
    }

    fn with<R>(&self, f: impl FnOnce(&mut State, SimTime) -> R) -> R {
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = self.now();
        f(&mut st, now)
    }

    /// A request reached instance `i` of service `s`: counted, and let in unless the
    /// station already holds `capacity` (Kendall's K: waiting and in service).
    pub fn arrive(&self, s: usize, i: usize) -> (Admission, SimTime) {
        self.with(|st, now| {
            let g = st.first[s] + i;
            let full = st.capacity[s].is_some_and(|k| st.gauges[g].inside() >= u64::from(k));
            let m = &mut st.result.services[s];
            m.arrivals += 1;
            m.instance_arrivals[i] += 1;
            m.pools[0].arrivals += 1;
            if full {
                m.rejected += 1;
                m.pools[0].rejected += 1;
                m.record_outcome(now, Outcome::Rejected);
                return (Admission::Full, now);
            }
            st.gauges[g].accrue(now);
            st.gauges[g].queue += 1;
            (Admission::Admitted, now)
        })
    }

    /// A worker of instance `i` of service `s` took its request.
    pub fn start(&self, s: usize, i: usize) -> SimTime {
        self.with(|st, now| {
            let g = &mut st.gauges[st.first[s] + i];
            g.accrue(now);
            g.queue -= 1;
            g.busy += 1;
            now
        })
    }

    /// The worker is done: the visit of a request that arrived at `arrived` and started
    /// at `started` ended as `outcome` (and was `wasted` when its caller had left);
    /// `overhead` is the testbed's own share of its
    /// sojourn (timer error and loopback time of its calls), taken off the latency.
    pub fn complete(&self, s: usize, i: usize, times: (SimTime, SimTime), end: (Outcome, bool), overhead: SimTime) {
        let ((arrived, started), (outcome, wasted)) = (times, end);
        self.with(|st, now| {
            let g = &mut st.gauges[st.first[s] + i];
            g.accrue(now);
            g.busy -= 1;
            let m = &mut st.result.services[s];
            let sojourn = now.saturating_sub(arrived).saturating_sub(overhead);
            m.record_completion(sojourn, started.saturating_sub(arrived));
            m.wasted += u64::from(wasted);
            m.pools[0].completed += 1;
            if outcome.is_success() {
                m.record_success(now, outcome, sojourn);
            } else {
                m.record_outcome(now, outcome);
            }
        });
    }

    /// A request reached instance `i` of service `s` while it was down, and was refused
    /// at connect: counted as the engine's `refuse_down` counts it (an arrival, an error).
    pub fn refused_down(&self, s: usize, i: usize) {
        self.with(|st, now| {
            let m = &mut st.result.services[s];
            m.arrivals += 1;
            m.instance_arrivals[i] += 1;
            m.pools[0].arrivals += 1;
            m.refused_down += 1;
            m.record_outcome(now, Outcome::Error);
        });
    }

    /// A request inside instance `i` of service `s`, arrived at `arrived` and taken by a
    /// worker at `started` (if it was), was lost in a crash: a departure for Little's
    /// law and an error, as the engine's `crash_instance` records it.
    pub fn lose(&self, s: usize, i: usize, arrived: SimTime, started: Option<SimTime>) {
        self.with(|st, now| {
            let g = &mut st.gauges[st.first[s] + i];
            g.accrue(now);
            match started {
                Some(_) => g.busy = g.busy.saturating_sub(1),
                None => g.queue = g.queue.saturating_sub(1),
            }
            let m = &mut st.result.services[s];
            let wait = started.unwrap_or(now).saturating_sub(arrived);
            m.record_lost(now.saturating_sub(arrived), wait);
            m.record_outcome(now, Outcome::Error);
        });
    }

    /// A workload sent a request.
    pub fn workload_sent(&self, w: usize) {
        self.with(|st, _| st.result.workloads[w].arrivals += 1);
    }

    /// A workload's request was answered with `outcome` after `latency` (overhead taken off).
    pub fn workload_answered(&self, w: usize, outcome: Outcome, latency: SimTime) {
        self.with(|st, now| {
            let m = &mut st.result.workloads[w];
            if outcome.is_success() {
                m.record_success(now, outcome, latency);
                m.value += 1.0;
            } else {
                m.record(now, outcome);
            }
        });
    }

    /// Runs `f` on the metrics of edge `e` at the current time.
    pub fn edge(&self, e: usize, f: impl FnOnce(&mut EdgeMetrics, SimTime)) {
        self.with(|st, now| f(&mut st.result.edges[e], now));
    }

    /// The warm-up ended: every statistic restarts from zero, as the engine's do.
    pub fn end_warmup(&self) {
        self.with(|st, now| {
            st.result.services.iter_mut().for_each(ServiceMetrics::reset);
            st.result.workloads.iter_mut().for_each(WorkloadMetrics::reset);
            st.result.edges.iter_mut().for_each(EdgeMetrics::reset);
            for g in &mut st.gauges {
                g.accrue(now);
                g.areas = Areas::default();
            }
        });
    }

    /// A time-series window ended: each service's gauge integrals so far are marked.
    pub fn close_window(&self) {
        self.with(mark_gauges);
    }

    /// The replication ended at `end`: gauges closed, open windows flushed, metrics out
    /// (what is still in flight records into an empty copy, read by nobody).
    pub fn take(&self, model: &Model, end: SimTime) -> ReplicationResult {
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let marks = st.result.services.first().map_or(0, |m| m.gauge_marks.len());
        if marks < st.windows {
            mark_gauges(&mut st, end);
        }
        st.result.services.iter_mut().for_each(|m| m.timeline.flush());
        st.result.workloads.iter_mut().for_each(|w| w.timeline.flush());
        st.result.edges.iter_mut().for_each(|e| e.timeline.flush());
        std::mem::replace(&mut st.result, resim::model::sim::empty_result(model, self.replication))
    }
}

/// Brings every station's integrals up to `now`, sums them per service (one pool: the
/// testbed serves every class alike) and marks them as the end of a window.
fn mark_gauges(st: &mut State, now: SimTime) {
    for (s, m) in st.result.services.iter_mut().enumerate() {
        let first = st.first[s];
        let mut areas = Areas::default();
        for g in &mut st.gauges[first..first + m.instance_arrivals.len()] {
            g.accrue(now);
            areas.add(&g.areas);
        }
        m.pools[0].areas = areas;
        m.gauge_marks.push(areas);
    }
}
