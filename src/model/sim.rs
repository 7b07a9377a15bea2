//! One replication of a [`Model`]: the event handlers of the service network.
//!
//! A request lives in a slab slot from its arrival until its job ends; a call (one
//! logical call from a caller's worker, with all its attempts) lives in a second slab.
//! Events carry only slot indices and generation numbers, so the loop allocates nothing
//! per event once the slabs and the heap have grown to the run's peak concurrency.
//!
//! The life of a request at a service: the balancer picks an instance; the station
//! admits it (a worker starts), queues it, or rejects it (K reached). When its service
//! time ends, the worker makes the service's calls step by step, holding on while it
//! waits (thread-per-request). A failed required call ends the visit with `error`; a
//! failed optional one marks it `degraded`. The worker is then released and the request
//! either takes a route (an asynchronous hand-off: the same job continues at the next
//! service) or leaves, answering whoever sent it.
//!
//! A call passes the client-side policies in resilience4j's order, outermost first:
//! retry -> circuit breaker -> rate limiter -> timeout -> bulkhead -> the callee. A
//! timed-out attempt is abandoned, not cancelled: the callee keeps working on it (wasted
//! work) unless it propagates deadlines and drops it from its queue.

use crate::engine::{EventQueue, Process, RngStreams, SimTime, Stream, run_until_at_most};
use crate::fault::{Effect, FaultId, Schedule, StationFx, Target};
use crate::metrics::{
    Areas, BreakerSnapshot, DegradationSnapshot, EdgeMetrics, Halt, Outcome, ReplicationResult, ServiceMetrics,
    Timeline, WorkloadMetrics,
};
use crate::metrics::{FaultMetrics, LogEntry};
use crate::model::Dist;
use crate::policy::breaker::CircuitBreaker;
use crate::policy::bulkhead::{Acquire, Bulkhead};
use crate::policy::concurrency::{AdaptiveLimit, Aimd, Gradient2, Limiter};
use crate::policy::degradation::{Degradation, Signals};
use crate::policy::rate_limit::TokenBucket;
use crate::policy::retry::{Budget, HedgeDelay, LatencyWindow, RetryDecision, RetryState};
use crate::policy::shed::Shedder;
use crate::trace::{NO_TRACE, SpanKind, TraceConfig, TraceId, Tracer, Track};

use super::dist::{index, unit};
use super::station::{Admission, ReqId, Station};
use super::{Arrivals, Balancer, Call, ConcurrencyConfig, Model, ServiceId, SloTarget, WorkloadId};

/// Index of a call in the call slab.
type CallId = u32;

/// Most requests in flight for one attempt: the original and up to 3 hedges.
const MAX_LIVE: usize = 4;

/// Samples kept by an edge's latency window for percentile hedging.
const HEDGE_WINDOW: usize = 1000;

/// Who is waiting for a request's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// A user of a workload (its index; 32 bits keep `Req` small).
    Workload(u32),
    /// A call of a caller's worker.
    Call(CallId),
    /// Nobody any more: the caller or user gave up. The work goes on, wasted.
    Orphan,
}

/// A request in flight.
#[derive(Clone, Copy, Debug)]
struct Req {
    origin: Origin,
    /// Bumped each time the slot is reused, so stale events can be recognised.
    epoch: u32,
    /// When the job entered (the workload's or the caller's clock starts here).
    job_start: SimTime,
    /// When it reached its current station.
    arrived: SimTime,
    /// When a worker took it.
    started: SimTime,
    /// Give up (user) or drop (propagating callee) after this; `MAX` = none.
    deadline: SimTime,
    service: u32,
    /// Global station index.
    station: u32,
    /// Next step of the service's calls.
    step: u16,
    /// Calls of the current step not yet answered (+1 while they are being sent).
    pending: u16,
    /// A required call failed.
    failed: bool,
    /// Share of full value this answer carries (1 = ok; below 1 = degraded).
    value: f64,
    /// Request class (selects the worker pool).
    class: u16,
    /// Pool and instance of the current station.
    pool: u16,
    instance: u32,
    /// The caller cancelled it: drop it if not started, make no more calls.
    cancelled: bool,
    /// Zone of the instance serving it (or of its users before that).
    zone: u16,
    /// In flight (false once its slot is freed).
    alive: bool,
    /// The sampled trace it belongs to, or `NO_TRACE` (the one check untraced requests pay).
    trace: TraceId,
}

/// A logical call: every attempt, hedge, backoff and fallback of one call site.
#[derive(Clone, Copy, Debug)]
struct CallState {
    parent: ReqId,
    /// The parent's generation when the call started; a mismatch means the parent was
    /// lost (its instance crashed) and nobody waits for this call.
    parent_epoch: u32,
    service: u32,
    step: u16,
    index: u16,
    edge: u32,
    /// Bumped when an attempt ends, invalidating its timers.
    epoch: u32,
    attempt_start: SimTime,
    /// The attempt's deadline, inherited by its requests.
    deadline: SimTime,
    retry: RetryState,
    /// Requests of the current attempt still in flight.
    live: [ReqId; MAX_LIVE],
    n_live: u8,
    hedges_sent: u8,
    /// The attempt holds a bulkhead permit / waits for one.
    permit: bool,
    waiting: bool,
    /// The attempt was admitted by the breaker (its result must be recorded).
    breaker_admitted: bool,
    /// A retry budget slot is held (Envoy style).
    budget_slot: bool,
}

/// Events of the service network.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// The next open arrival of a workload.
    Arrival(u32),
    /// A closed-workload user finished thinking.
    Think(u32),
    /// A request's service time ended.
    ServiceDone(ReqId, u32),
    /// Probe instance (service, instance).
    HealthProbe(u32, u32),
    /// A probe's verdict arrives: (global instance, ok).
    HealthResult(u32, bool),
    /// A service's heartbeat round.
    Heartbeat(u32),
    /// A fault becomes active.
    FaultStart(u32),
    /// A fault ends.
    FaultEnd(u32),
    /// A user's deadline passed.
    UserDeadline(ReqId, u32),
    /// An attempt's timeout fired.
    AttemptTimeout(CallId, u32),
    /// A bulkhead wait ran out.
    BulkheadTimeout(CallId, u32),
    /// A backoff ended: start the next attempt.
    Retry(CallId, u32),
    /// Send a backup request for the current attempt.
    Hedge(CallId, u32),
    /// A fallback answer is ready.
    Fallback(CallId, u32),
    /// A breaker's automatic OPEN -> HALF_OPEN transition is due.
    BreakerTimer(u32),
    /// Evaluate a service's degradation level.
    DegradeTick(u32),
    /// A waiting call was handed a bulkhead permit: send it.
    BulkheadGrant(CallId, u32),
    /// Measurement starts: reset every statistic.
    WarmupEnd,
    /// A time-series window ends: mark every service's gauge integrals.
    WindowClose,
}

/// Random streams of one service.
struct ServiceStreams {
    service_time: Stream,
    balancer: Stream,
    calls: Stream,
    routing: Stream,
}

/// Mutable policy state shared by the calls of one edge.
struct EdgeState {
    breaker: Option<CircuitBreaker>,
    bulkhead: Option<Bulkhead>,
    limiter: Option<TokenBucket>,
    budget: Option<Budget>,
    latency: Option<LatencyWindow>,
    /// Calls in progress on the edge (the "active requests" of Envoy's budget).
    active: u32,
    /// Jitter draws.
    rng: Stream,
    /// When the pending breaker timer event fires, to avoid scheduling duplicates.
    timer_at: Option<SimTime>,
}

/// What the recovery mechanisms know of one instance.
#[derive(Clone, Copy, Debug)]
struct InstanceHealth {
    /// In the balancer as far as health checks know.
    healthy: bool,
    probe_fails: u32,
    probe_oks: u32,
    /// Ejected by outlier detection until then.
    ejected_until: SimTime,
    ejections: u32,
    consecutive_errors: u32,
    /// Declared failed by missed heartbeats.
    failed: bool,
    missed: u32,
    /// When it last recovered (active-active ramps its share back from here).
    recovered_at: Option<SimTime>,
}

impl Default for InstanceHealth {
    fn default() -> Self {
        Self {
            healthy: true,
            probe_fails: 0,
            probe_oks: 0,
            ejected_until: SimTime::ZERO,
            ejections: 0,
            consecutive_errors: 0,
            failed: false,
            missed: 0,
            recovered_at: None,
        }
    }
}

/// Server-side policy state of one service.
struct ServiceState {
    limiter: Option<TokenBucket>,
    degradation: Option<Degradation>,
    /// Signals gathered since the last degradation tick.
    window_completed: u64,
    window_failed: u64,
    /// The busy integral at the last tick (signed: the integrals restart at the warm-up's
    /// end while a signal window is open, and the carried part is kept as an offset).
    window_busy: i128,
    /// Start of the current signal window.
    window_start: SimTime,
    recent: Option<LatencyWindow>,
}

/// The state of one replication.
struct Simulation<'m> {
    model: &'m Model,
    now: SimTime,
    end: SimTime,
    events: EventQueue<Event>,
    reqs: Vec<Req>,
    free: Vec<ReqId>,
    calls: Vec<CallState>,
    free_calls: Vec<CallId>,
    stations: Vec<Station>,
    /// First global station index of each service.
    first_station: Vec<u32>,
    round_robin: Vec<u32>,
    service_rng: Vec<ServiceStreams>,
    workload_rng: Vec<Stream>,
    edge_state: Vec<EdgeState>,
    service_state: Vec<ServiceState>,
    /// Adaptive concurrency limiter per instance (indexed like `first_instance`).
    limiters: Vec<Option<Limiter>>,
    /// First global instance index of each service.
    first_instance: Vec<u32>,
    /// Shedder per station.
    shedders: Vec<Option<Shedder>>,
    /// Per service: only its stations decide what happens to a visit. No rate limit,
    /// adaptive concurrency limit, shedding, pool borrowing, deadline propagation,
    /// degradation, outlier ejection, nor any fault on its instances: a visit skips every
    /// policy check with this one branch.
    plain: Vec<bool>,
    /// Combined fault effect per instance (indexed like `first_instance`).
    fx: Vec<StationFx>,
    /// Faults targeting each instance.
    instance_faults: Vec<Vec<FaultId>>,
    /// Active partition on each edge: `Some(refuse)`.
    partition: Vec<Option<bool>>,
    fault_active: Vec<bool>,
    fault_since: Vec<SimTime>,
    fault_rng: Vec<Stream>,
    fault_metrics: Vec<FaultMetrics>,
    /// Event log (kept for replication 0 only).
    log: Vec<(SimTime, LogEntry)>,
    /// What health checks, outlier ejection and heartbeats know of each instance.
    health: Vec<InstanceHealth>,
    /// Active instance of each active-passive service.
    active: Vec<u32>,
    /// Scratch list of eligible instances and their weights (reused: no allocation per pick).
    candidates: Vec<(u32, f64)>,
    keep_log: bool,
    /// Set when a resource guard stopped the run.
    halt: Option<Halt>,
    tracer: Tracer,
    services: Vec<ServiceMetrics>,
    workloads: Vec<WorkloadMetrics>,
    edges: Vec<EdgeMetrics>,
}

/// Runs replication `replication` of `model` and returns what it measured.
pub fn run_replication(model: &Model, replication: u32) -> ReplicationResult {
    run_replication_traced(model, replication, None)
}

/// Like [`run_replication`], also recording sampled request traces (replication 0 only).
pub fn run_replication_traced(model: &Model, replication: u32, trace: Option<TraceConfig>) -> ReplicationResult {
    let mut sim = Simulation::new(model, replication, trace);
    let end = sim.end;
    let max = model.limits.max_events;
    let events = run_until_at_most(&mut sim, end, max);
    if events >= max && sim.halt.is_none() {
        sim.halt = Some(Halt::Events { events, at: sim.now });
    }
    sim.finish(replication, events)
}

impl<'m> Simulation<'m> {
    /// A fresh replication with its first events scheduled.
    fn new(model: &'m Model, replication: u32, trace: Option<TraceConfig>) -> Self {
        let streams = RngStreams::new(model.seed, u64::from(replication));
        let mut stations = Vec::new();
        let mut shedders = Vec::new();
        let mut limiters = Vec::new();
        let mut first_station = Vec::with_capacity(model.services.len());
        let mut first_instance = Vec::with_capacity(model.services.len());
        for s in &model.services {
            first_station.push(stations.len() as u32);
            first_instance.push(limiters.len() as u32);
            for _ in 0..s.instances {
                for p in &s.pools {
                    stations.push(Station::new(p.servers, p.capacity.unwrap_or(u32::MAX)));
                    shedders.push(s.shed.map(|cfg| Shedder::new(cfg.for_servers(p.servers))));
                }
                limiters.push(s.concurrency.map(|c| {
                    Limiter::new(match c {
                        ConcurrencyConfig::Aimd(a) => AdaptiveLimit::Aimd(Aimd::new(a)),
                        ConcurrencyConfig::Gradient(g) => AdaptiveLimit::Gradient2(Gradient2::new(g)),
                    })
                }));
            }
        }
        let stations_len = stations.len();
        let limiters_len = limiters.len();
        let mut instance_faults = vec![Vec::new(); limiters_len];
        for (f, fault) in model.faults.iter().enumerate() {
            if let Target::Instances(list) = &fault.target {
                for &(s, i) in list {
                    instance_faults[(first_instance[s] + i) as usize].push(f);
                }
            }
        }
        let plain = model
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let first = first_instance[i] as usize;
                s.rate_limit.is_none()
                    && s.concurrency.is_none()
                    && s.shed.is_none()
                    && !s.pools.iter().any(|p| p.borrow)
                    && !s.deadline_propagation
                    && s.degradation.is_none()
                    && s.outlier.is_none()
                    && instance_faults[first..first + s.instances as usize].iter().all(Vec::is_empty)
            })
            .collect();
        let service_state = model
            .services
            .iter()
            .map(|s| ServiceState {
                limiter: s.rate_limit.map(TokenBucket::new),
                degradation: s.degradation.as_ref().and_then(|(c, _)| Degradation::new(c.clone()).ok()),
                window_completed: 0,
                window_failed: 0,
                window_busy: 0,
                window_start: SimTime::ZERO,
                recent: s.degradation.as_ref().map(|_| LatencyWindow::new(HEDGE_WINDOW)),
            })
            .collect();
        let service_rng = model
            .services
            .iter()
            .map(|s| ServiceStreams {
                service_time: streams.stream(&format!("service/{}", s.name)),
                balancer: streams.stream(&format!("balancer/{}", s.name)),
                calls: streams.stream(&format!("calls/{}", s.name)),
                routing: streams.stream(&format!("routing/{}", s.name)),
            })
            .collect();
        let workload_rng = model.workloads.iter().map(|w| streams.stream(&format!("arrivals/{}", w.name))).collect();
        let edge_state = model
            .edges
            .iter()
            .map(|e| EdgeState {
                breaker: e.policy.breaker.map(|c| CircuitBreaker::new(c, SimTime::ZERO)),
                bulkhead: e.policy.bulkhead.map(Bulkhead::new),
                limiter: e.policy.rate_limit.map(TokenBucket::new),
                budget: e.policy.budget.as_ref().map(Budget::new),
                latency: e.policy.track_latency.then(|| LatencyWindow::new(HEDGE_WINDOW)),
                active: 0,
                rng: streams.stream(&format!("retry/{}", e.name)),
                timer_at: None,
            })
            .collect();
        let mut sim = Self {
            model,
            now: SimTime::ZERO,
            end: model.end(),
            events: EventQueue::with_capacity(1024),
            reqs: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            calls: Vec::with_capacity(256),
            free_calls: Vec::with_capacity(256),
            stations,
            first_station,
            round_robin: vec![0; stations_len],
            service_rng,
            workload_rng,
            edge_state,
            service_state,
            limiters,
            first_instance,
            shedders,
            plain,
            fx: vec![StationFx::default(); limiters_len],
            instance_faults,
            partition: vec![None; model.edges.len()],
            fault_active: vec![false; model.faults.len()],
            fault_since: vec![SimTime::ZERO; model.faults.len()],
            fault_rng: model.faults.iter().map(|f| streams.stream(&format!("fault/{}", f.name))).collect(),
            fault_metrics: vec![FaultMetrics::default(); model.faults.len()],
            log: Vec::new(),
            keep_log: replication == 0,
            halt: None,
            tracer: Tracer::new(trace.filter(|_| replication == 0), model.warmup, streams.stream("trace/sample")),
            health: vec![InstanceHealth::default(); limiters_len],
            active: vec![0; model.services.len()],
            candidates: Vec::new(),
            services: model
                .services
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut m = ServiceMetrics::new(s.pools.len(), s.instances as usize);
                    m.timeline = Timeline::new(model.warmup, model.window, model.windows())
                        .with_thresholds(model.slow_thresholds(SloTarget::Service(i)))
                        .with_latency();
                    m
                })
                .collect(),
            workloads: (0..model.workloads.len())
                .map(|w| {
                    let mut m = WorkloadMetrics::new(model.warmup, model.window, model.windows());
                    m.timeline =
                        m.timeline.with_thresholds(model.slow_thresholds(SloTarget::Workload(w))).with_latency();
                    m
                })
                .collect(),
            edges: vec![EdgeMetrics::new(model.warmup, model.window, model.windows()); model.edges.len()],
        };
        sim.events.push(model.warmup, Event::WarmupEnd);
        for (f, fault) in model.faults.iter().enumerate() {
            match &fault.schedule {
                Schedule::Window { start, .. } => sim.events.push(*start, Event::FaultStart(f as u32)),
                Schedule::Random { up, .. } => {
                    let t = up.sample(&mut sim.fault_rng[f]);
                    sim.events.push(t, Event::FaultStart(f as u32));
                }
            }
        }
        for (s, svc) in model.services.iter().enumerate() {
            if let Some(h) = svc.health_check {
                // Probes of different instances are spread over the interval.
                for i in 0..svc.instances {
                    let offset = SimTime(h.interval.0 / u64::from(svc.instances) * u64::from(i));
                    sim.events.push(offset + h.interval, Event::HealthProbe(s as u32, i));
                }
            }
            if let Some(f) = svc.failover {
                sim.events.push(f.heartbeat, Event::Heartbeat(s as u32));
            }
            if let Some((_, interval)) = svc.degradation {
                sim.events.push(interval, Event::DegradeTick(s as u32));
            }
        }
        for (w, wl) in model.workloads.iter().enumerate() {
            match &wl.arrivals {
                Arrivals::Poisson(profile) => {
                    if let Some(t) = profile.next_arrival(SimTime::ZERO, &mut sim.workload_rng[w]) {
                        sim.events.push(t, Event::Arrival(w as u32));
                    }
                }
                Arrivals::Closed { users, think } => {
                    for _ in 0..*users {
                        let t = think.sample(&mut sim.workload_rng[w]);
                        sim.events.push(t, Event::Think(w as u32));
                    }
                }
            }
        }
        sim
    }

    #[inline(always)]
    fn new_req(&mut self, origin: Origin, deadline: SimTime, class: u16, zone: u16, trace: TraceId) -> ReqId {
        let now = self.now;
        let mut req = Req {
            origin,
            epoch: 0,
            job_start: now,
            arrived: now,
            started: now,
            deadline,
            service: 0,
            station: 0,
            step: 0,
            pending: 0,
            failed: false,
            value: 1.0,
            class,
            pool: 0,
            instance: 0,
            cancelled: false,
            alive: true,
            zone,
            trace,
        };
        match self.free.pop() {
            Some(id) => {
                // `finish_job` already bumped the slot's generation when it freed it.
                req.epoch = self.reqs[id as usize].epoch;
                self.reqs[id as usize] = req;
                id
            }
            None => {
                if self.reqs.len() >= self.model.limits.max_in_flight {
                    self.halt = Some(Halt::InFlight { requests: self.reqs.len() + 1, at: self.now });
                }
                self.reqs.push(req);
                (self.reqs.len() - 1) as ReqId
            }
        }
    }

    #[inline]
    fn start_job(&mut self, w: WorkloadId) {
        self.workloads[w].arrivals += 1;
        let wl = &self.model.workloads[w];
        let deadline = wl.deadline.map_or(SimTime::MAX, |d| self.now + d);
        let trace = self.tracer.on_arrival(self.now, w as u32, self.workloads[w].arrivals);
        let req = self.new_req(Origin::Workload(w as u32), deadline, wl.class, wl.zone, trace);
        if deadline < SimTime::MAX {
            let epoch = self.reqs[req as usize].epoch;
            self.events.push(deadline, Event::UserDeadline(req, epoch));
        }
        self.arrive(req, wl.target);
    }

    /// Picks the instance of service `s` for a request of pool `pool`; returns the
    /// instance index. Load-aware balancers look at that pool's stations.
    #[inline(always)]
    fn pick_instance(&mut self, s: ServiceId, pool: usize, zone: u16) -> u32 {
        // One instance, the common case, without a call.
        if self.model.services[s].instances == 1 {
            return 0;
        }
        self.pick_balanced(s, pool, zone)
    }

    /// [`Simulation::pick_instance`] among several instances.
    #[inline(never)]
    fn pick_balanced(&mut self, s: ServiceId, pool: usize, zone: u16) -> u32 {
        let svc = &self.model.services[s];
        let n = svc.instances;
        if svc.health_check.is_some() || svc.outlier.is_some() || svc.failover.is_some() || svc.prefer_local_zone {
            return self.pick_eligible(s, pool, zone);
        }
        let np = svc.pools.len();
        let first = self.first_station[s] as usize + pool;
        let load = |st: &[Station], i: usize| st[first + i * np].in_system();
        let rng = &mut self.service_rng[s].balancer;
        match svc.balancer {
            Balancer::RoundRobin => {
                // One rotation per pool, so one class's traffic does not shift another's.
                let k = self.first_station[s] as usize + pool;
                let i = self.round_robin[k];
                self.round_robin[k] = (i + 1) % n;
                i
            }
            Balancer::Random => index(rng, n as usize) as u32,
            Balancer::LeastOutstanding => {
                let mut best = 0;
                for i in 1..n as usize {
                    if load(&self.stations, i) < load(&self.stations, best) {
                        best = i;
                    }
                }
                best as u32
            }
            Balancer::PowerOfTwo => {
                let a = index(rng, n as usize);
                let b = (a + 1 + index(rng, n as usize - 1)) % n as usize;
                if load(&self.stations, b) < load(&self.stations, a) { b as u32 } else { a as u32 }
            }
        }
    }

    /// The balancer restricted to the instances the recovery mechanisms consider usable
    /// (healthy, not ejected, alive by heartbeat; for active-passive only the active one),
    /// with active-active shares ramping back after a recovery. When none is usable, all
    /// are (Envoy's panic routing).
    fn pick_eligible(&mut self, s: ServiceId, pool: usize, zone: u16) -> u32 {
        let now = self.now;
        let svc = &self.model.services[s];
        let n = svc.instances;
        let gi0 = self.first_instance[s] as usize;
        self.candidates.clear();
        for i in 0..n {
            let h = &self.health[gi0 + i as usize];
            let usable = h.healthy
                && now >= h.ejected_until
                && !h.failed
                && svc.failover.is_none_or(|f| !f.active_passive || self.active[s] == i);
            if usable {
                let weight = match (svc.failover, h.recovered_at) {
                    (Some(f), Some(at)) if !f.active_passive && now < at + f.shift_back => {
                        ((now - at).as_secs_f64() / f.shift_back.as_secs_f64()).max(1e-3)
                    }
                    _ => 1.0,
                };
                self.candidates.push((i, weight));
            }
        }
        if self.candidates.is_empty() {
            self.candidates.extend((0..n).map(|i| (i, 1.0)));
        }
        if svc.prefer_local_zone
            && zone != super::NO_ZONE
            && self.candidates.iter().any(|&(i, _)| svc.zone_ids[i as usize] == zone)
        {
            self.candidates.retain(|&(i, _)| svc.zone_ids[i as usize] == zone);
        }
        let np = svc.pools.len();
        let first = self.first_station[s] as usize + pool;
        let load = |st: &[Station], i: u32| st[first + i as usize * np].in_system();
        let rng = &mut self.service_rng[s].balancer;
        let c = &self.candidates;
        if c.iter().any(|&(_, w)| w < 1.0) {
            // Weighted random while a recovered instance's share ramps back.
            let total: f64 = c.iter().map(|&(_, w)| w).sum();
            let mut u = unit(rng) * total;
            for &(i, w) in c {
                if u < w {
                    return i;
                }
                u -= w;
            }
            return c[c.len() - 1].0;
        }
        match svc.balancer {
            Balancer::RoundRobin => {
                let k = self.first_station[s] as usize + pool;
                let start = self.round_robin[k];
                for step in 0..n {
                    let i = (start + step) % n;
                    if c.iter().any(|&(x, _)| x == i) {
                        self.round_robin[k] = (i + 1) % n;
                        return i;
                    }
                }
                c[0].0
            }
            Balancer::Random => c[index(rng, c.len())].0,
            Balancer::LeastOutstanding => {
                c.iter().map(|&(i, _)| i).min_by_key(|&i| (load(&self.stations, i), i)).unwrap_or(0)
            }
            Balancer::PowerOfTwo => {
                if c.len() == 1 {
                    return c[0].0;
                }
                let a = index(rng, c.len());
                let b = (a + 1 + index(rng, c.len() - 1)) % c.len();
                let (ia, ib) = (c[a].0, c[b].0);
                if load(&self.stations, ib) < load(&self.stations, ia) { ib } else { ia }
            }
        }
    }

    /// An instance answered with an error (or refused): count it for outlier ejection.
    fn note_instance_result(&mut self, s: usize, instance: u32, error: bool) {
        let Some(o) = self.model.services[s].outlier else { return };
        let now = self.now;
        let gi0 = self.first_instance[s] as usize;
        let n = self.model.services[s].instances;
        let h = &mut self.health[gi0 + instance as usize];
        if !error {
            h.consecutive_errors = 0;
            return;
        }
        h.consecutive_errors += 1;
        if h.consecutive_errors < o.consecutive_errors || now < h.ejected_until {
            return;
        }
        let ejected = (0..n as usize).filter(|&i| now < self.health[gi0 + i].ejected_until).count();
        let max = ((f64::from(n) * o.max_ejection_percent / 100.0).floor() as usize).max(1);
        if ejected >= max {
            return;
        }
        let h = &mut self.health[gi0 + instance as usize];
        h.ejections += 1;
        h.consecutive_errors = 0;
        h.ejected_until = now + SimTime(o.base_ejection_time.0.saturating_mul(u64::from(h.ejections)));
        if self.keep_log {
            self.log.push((now, LogEntry::Ejected(s as u32, instance, h.ejected_until)));
        }
    }

    /// A health probe of instance `i`: a live instance answers at once; a dead one
    /// fails after the probe timeout.
    fn on_probe(&mut self, s: usize, i: u32) {
        let Some(h) = self.model.services[s].health_check else { return };
        let gi = self.first_instance[s] as usize + i as usize;
        if self.fx[gi].down {
            self.events.push(self.now + h.timeout, Event::HealthResult(gi as u32, false));
        } else {
            self.on_probe_result(gi, true);
        }
        if self.now + h.interval <= self.end {
            self.events.push(self.now + h.interval, Event::HealthProbe(s as u32, i));
        }
    }

    fn on_probe_result(&mut self, gi: usize, ok: bool) {
        let s = self.first_instance.partition_point(|&f| f as usize <= gi) - 1;
        let Some(hc) = self.model.services[s].health_check else { return };
        let i = (gi - self.first_instance[s] as usize) as u32;
        let h = &mut self.health[gi];
        let before = h.healthy;
        if ok {
            h.probe_fails = 0;
            h.probe_oks += 1;
            if !h.healthy && h.probe_oks >= hc.healthy {
                h.healthy = true;
            }
        } else {
            h.probe_oks = 0;
            h.probe_fails += 1;
            if h.healthy && h.probe_fails >= hc.unhealthy {
                h.healthy = false;
            }
        }
        if h.healthy != before && self.keep_log {
            self.log.push((self.now, LogEntry::Health(s as u32, i, h.healthy)));
        }
    }

    /// A heartbeat round: count misses, declare failures and recoveries, fail over.
    fn on_heartbeat(&mut self, s: usize) {
        let Some(f) = self.model.services[s].failover else { return };
        let now = self.now;
        let gi0 = self.first_instance[s] as usize;
        let n = self.model.services[s].instances;
        for i in 0..n {
            let down = self.fx[gi0 + i as usize].down;
            let h = &mut self.health[gi0 + i as usize];
            if down {
                h.missed += 1;
                if !h.failed && h.missed >= f.missed {
                    h.failed = true;
                    if self.keep_log {
                        self.log.push((now, LogEntry::Heartbeat(s as u32, i, false)));
                    }
                }
            } else {
                h.missed = 0;
                if h.failed {
                    h.failed = false;
                    h.recovered_at = Some(now);
                    if self.keep_log {
                        self.log.push((now, LogEntry::Heartbeat(s as u32, i, true)));
                    }
                }
            }
        }
        if f.active_passive && self.health[gi0 + self.active[s] as usize].failed {
            let from = self.active[s];
            if let Some(to) = (1..n).map(|k| (from + k) % n).find(|&j| !self.health[gi0 + j as usize].failed) {
                self.active[s] = to;
                if self.keep_log {
                    self.log.push((now, LogEntry::Failover(s as u32, from, to)));
                }
            }
        }
        if now + f.heartbeat <= self.end {
            self.events.push(now + f.heartbeat, Event::Heartbeat(s as u32));
        }
    }

    /// Refuses `r` at service `s` before it entered a station.
    fn refuse(&mut self, r: ReqId, s: ServiceId) {
        self.services[s].rejected += 1;
        self.services[s].record_outcome(self.now, Outcome::Rejected);
        self.finish_job(r, Outcome::Rejected);
    }

    /// Request `r` reaches service `s`: rate limit, pool, balancer, concurrency limit,
    /// shedding, then the station's own capacity.
    fn arrive(&mut self, r: ReqId, s: ServiceId) {
        let now = self.now;
        self.services[s].arrivals += 1;
        let (class, zone) = {
            let req = &mut self.reqs[r as usize];
            req.service = s as u32;
            req.arrived = now;
            req.step = 0;
            req.pending = 0;
            (req.class, req.zone)
        };
        let plain = self.plain[s];
        if !plain
            && let Some(l) = self.service_state[s].limiter.as_mut()
            && !l.try_acquire(now)
        {
            self.services[s].rate_limited += 1;
            return self.refuse(r, s);
        }
        let svc = &self.model.services[s];
        let Some(pool) = svc.pool_of_class[usize::from(class)] else {
            self.services[s].no_pool += 1;
            return self.refuse(r, s);
        };
        let mut pool = usize::from(pool);
        let instance = self.pick_instance(s, pool, zone);
        let base = self.first_station[s] + instance * svc.pools.len() as u32;
        let mut station = base + pool as u32;
        if !plain && svc.pools[pool].borrow && self.stations[station as usize].saturated() {
            // Work-conserving: take an idle worker of a sibling pool with an empty line.
            if let Some(p) = (0..svc.pools.len()).find(|&p| {
                let st = &self.stations[(base + p as u32) as usize];
                p != pool && !st.saturated() && st.queue_len() == 0
            }) {
                pool = p;
                station = base + p as u32;
                self.services[s].borrowed += 1;
            }
        }
        let req = &mut self.reqs[r as usize];
        req.station = station;
        req.pool = pool as u16;
        req.instance = instance;
        if let Some(&z) = svc.zone_ids.get(instance as usize) {
            req.zone = z;
        }
        let m = &mut self.services[s];
        m.pools[pool].arrivals += 1;
        m.instance_arrivals[instance as usize] += 1;
        if !plain && !self.admit_policies(r, s, instance, station) {
            return;
        }
        match self.stations[station as usize].offer(now, r) {
            Admission::Started => self.begin_service(r),
            Admission::Queued => {}
            Admission::Rejected => {
                self.services[s].pools[pool].rejected += 1;
                let li = (self.first_instance[s] + instance) as usize;
                if let Some(l) = self.limiters[li].as_mut() {
                    l.release_ignored();
                }
                self.refuse(r, s);
            }
        }
    }

    /// The admission checks of a service that is not plain, after its balancer chose
    /// `instance` and `station`: a crashed instance, the adaptive concurrency limit and
    /// load shedding. Returns false when `r` was refused (and its job ended).
    fn admit_policies(&mut self, r: ReqId, s: ServiceId, instance: u32, station: u32) -> bool {
        let now = self.now;
        let li = (self.first_instance[s] + instance) as usize;
        if self.fx[li].down {
            // Connection refused by a crashed instance.
            self.services[s].refused_down += 1;
            self.services[s].record_outcome(now, Outcome::Error);
            if let Some(f) = self.instance_faults[li]
                .iter()
                .copied()
                .find(|&g| self.fault_active[g] && matches!(self.model.faults[g].effect, Effect::Crash { .. }))
            {
                self.fault_metrics[f].injected += 1;
            }
            self.note_instance_result(s, instance, true);
            self.finish_job(r, Outcome::Error);
            return false;
        }
        if let Some(l) = self.limiters[li].as_mut()
            && !l.try_acquire()
        {
            self.services[s].concurrency_limited += 1;
            self.refuse(r, s);
            return false;
        }
        let st = &self.stations[station as usize];
        if st.saturated()
            && let Some(sh) = &self.shedders[station as usize]
            && !sh.admit(st.queue_len())
        {
            self.services[s].shed += 1;
            if let Some(l) = self.limiters[li].as_mut() {
                l.release_ignored();
            }
            self.refuse(r, s);
            return false;
        }
        true
    }

    /// A worker takes `r`. Requests whose deadline has passed (with deadline
    /// propagation) or that CoDel sheds are dropped instead, and the worker takes the
    /// next one.
    #[inline(always)]
    fn begin_service(&mut self, r: ReqId) {
        let now = self.now;
        let q = &mut self.reqs[r as usize];
        let s = q.service as usize;
        if self.plain[s] && !q.cancelled {
            q.started = now;
            let epoch = q.epoch;
            let t = self.model.services[s].service_time.sample(&mut self.service_rng[s].service_time);
            self.events.push(now + t, Event::ServiceDone(r, epoch));
            return;
        }
        self.begin_service_policies(r);
    }

    /// [`Simulation::begin_service`] at a service that is not plain, or of a cancelled
    /// request.
    #[inline(never)]
    fn begin_service_policies(&mut self, mut r: ReqId) {
        let now = self.now;
        loop {
            let req = self.reqs[r as usize];
            let s = req.service as usize;
            let service = &self.model.services[s];
            let expired = req.cancelled || (service.deadline_propagation && req.deadline <= now);
            let shed = !expired
                && self.shedders[req.station as usize].as_mut().is_some_and(|sh| sh.on_dequeue(now, req.arrived));
            if !expired && !shed {
                self.reqs[r as usize].started = now;
                let t = service.service_time.sample(&mut self.service_rng[s].service_time);
                let t = self.faulted_time(s, req.instance as usize, t);
                self.events.push(now + t, Event::ServiceDone(r, req.epoch));
                return;
            }
            let instance = req.instance as usize;
            let metrics = &mut self.services[s];
            metrics.record_drop(now - req.arrived);
            metrics.shed += u64::from(shed);
            metrics.record_outcome(now, if expired { Outcome::Timeout } else { Outcome::Rejected });
            if let Some(l) = self.limiters[(self.first_instance[s] as usize) + instance].as_mut() {
                l.release(now, now - req.arrived, true);
            }
            let next = self.release_worker(req.station);
            self.finish_job(r, if expired { Outcome::Timeout } else { Outcome::Rejected });
            match next {
                Some(n) => r = n,
                None => return,
            }
        }
    }

    /// Frees a worker of `station`; returns the waiting request it takes next, if any.
    fn release_worker(&mut self, station: u32) -> Option<ReqId> {
        let next = self.stations[station as usize].release(self.now);
        if next.is_none()
            && let Some(sh) = self.shedders[station as usize].as_mut()
        {
            sh.on_queue_empty();
        }
        next
    }

    /// Sends the calls of the request's next step, or completes the visit when no step
    /// is left or a required call has failed.
    fn advance(&mut self, r: ReqId) {
        let model = self.model;
        loop {
            let req = &self.reqs[r as usize];
            let service = &model.services[req.service as usize];
            if req.failed || req.cancelled || usize::from(req.step) >= service.steps.len() {
                self.complete_visit(r);
                return;
            }
            let req = *req;
            let step = req.step;
            self.reqs[r as usize].step += 1;
            // The +1 guard keeps calls answered at once (rejections) from resuming
            // this request while its step is still being sent.
            self.reqs[r as usize].pending = 1;
            let optional_on =
                self.service_state[req.service as usize].degradation.as_ref().is_none_or(Degradation::optional_enabled);
            for (i, call) in service.steps[usize::from(step)].calls.iter().enumerate() {
                if call.optional && !optional_on {
                    continue;
                }
                if call.probability < 1.0 && unit(&mut self.service_rng[req.service as usize].calls) >= call.probability
                {
                    continue;
                }
                self.reqs[r as usize].pending += 1;
                self.start_call(r, req.service, step, i as u16, call);
            }
            let req = &mut self.reqs[r as usize];
            req.pending -= 1;
            if req.pending > 0 {
                return;
            }
        }
    }

    fn call_site(&self, c: CallId) -> &'m Call {
        let cs = &self.calls[c as usize];
        &self.model.services[cs.service as usize].steps[usize::from(cs.step)].calls[usize::from(cs.index)]
    }

    fn start_call(&mut self, parent: ReqId, service: u32, step: u16, index: u16, call: &Call) {
        let state = CallState {
            parent,
            parent_epoch: self.reqs[parent as usize].epoch,
            service,
            step,
            index,
            edge: call.edge as u32,
            epoch: 0,
            attempt_start: self.now,
            deadline: SimTime::MAX,
            retry: RetryState::new(),
            live: [0; MAX_LIVE],
            n_live: 0,
            hedges_sent: 0,
            permit: false,
            waiting: false,
            breaker_admitted: false,
            budget_slot: false,
        };
        let c = match self.free_calls.pop() {
            Some(id) => {
                let epoch = self.calls[id as usize].epoch.wrapping_add(1);
                self.calls[id as usize] = CallState { epoch, ..state };
                id
            }
            None => {
                self.calls.push(state);
                (self.calls.len() - 1) as CallId
            }
        };
        let e = call.edge;
        self.edges[e].calls += 1;
        let es = &mut self.edge_state[e];
        es.active += 1;
        if let Some(b) = es.budget.as_mut() {
            b.on_request(self.now);
        }
        self.attempt(c);
    }

    /// True when the worker that made call `c` was lost in a crash.
    fn parent_lost(&self, c: CallId) -> bool {
        let cs = &self.calls[c as usize];
        self.reqs[cs.parent as usize].epoch != cs.parent_epoch
    }

    /// Frees call `c` whose caller is gone, abandoning whatever it has in flight.
    fn drop_call(&mut self, c: CallId) {
        self.abandon_live(c, false);
        self.release_permit(c);
        let cs = &mut self.calls[c as usize];
        cs.epoch = cs.epoch.wrapping_add(1);
        let e = cs.edge as usize;
        if cs.budget_slot {
            cs.budget_slot = false;
            if let Some(b) = self.edge_state[e].budget.as_mut() {
                b.on_retry_end();
            }
        }
        self.edge_state[e].active -= 1;
        self.free_calls.push(c);
    }

    /// One attempt through breaker, limiter, timeout and bulkhead.
    fn attempt(&mut self, c: CallId) {
        if self.parent_lost(c) {
            return self.drop_call(c);
        }
        let now = self.now;
        let call = self.call_site(c);
        let e = call.edge;
        self.edges[e].attempts += 1;
        let cs = &mut self.calls[c as usize];
        cs.attempt_start = now;
        cs.n_live = 0;
        cs.hedges_sent = 0;
        cs.breaker_admitted = false;
        let es = &mut self.edge_state[e];
        if let Some(b) = es.breaker.as_mut() {
            let admitted = b.try_acquire(now);
            if let Some(at) = b.next_transition_at()
                && es.timer_at != Some(at)
            {
                es.timer_at = Some(at);
                self.events.push(at, Event::BreakerTimer(e as u32));
            }
            if !admitted {
                return self.attempt_done(c, Outcome::ShortCircuited);
            }
            self.calls[c as usize].breaker_admitted = true;
        }
        if let Some(l) = self.edge_state[e].limiter.as_mut()
            && !l.try_acquire(now)
        {
            self.edges[e].rate_limited += 1;
            return self.attempt_done(c, Outcome::Rejected);
        }
        // The attempt's time budget: its own timeout, and at most a fraction of what
        // remains of the caller's deadline.
        let parent_deadline = self.reqs[self.calls[c as usize].parent as usize].deadline;
        let mut budget = call.policy.timeout;
        if parent_deadline < SimTime::MAX {
            let remaining = parent_deadline - now;
            if remaining == SimTime::ZERO {
                return self.attempt_done(c, Outcome::Timeout);
            }
            let share = SimTime::from_secs_f64(remaining.as_secs_f64() * call.policy.deadline_fraction).max(SimTime(1));
            budget = Some(budget.map_or(share, |t| t.min(share)));
        }
        let epoch = self.calls[c as usize].epoch;
        let deadline = budget.map_or(parent_deadline, |t| now + t);
        self.calls[c as usize].deadline = deadline;
        if budget.is_some() {
            self.events.push(deadline, Event::AttemptTimeout(c, epoch));
        }
        match self.edge_state[e].bulkhead.as_mut().map(|b| b.try_acquire(now, c)) {
            None => self.send(c),
            Some(Acquire::Granted) => {
                self.calls[c as usize].permit = true;
                self.send(c);
            }
            Some(Acquire::Queued { deadline }) => {
                self.calls[c as usize].waiting = true;
                self.events.push(deadline, Event::BulkheadTimeout(c, epoch));
            }
            Some(Acquire::Rejected) => {
                self.edges[e].bulkhead_rejected += 1;
                self.attempt_done(c, Outcome::Rejected);
            }
        }
    }

    /// Sends one request of the current attempt (the original or a hedge).
    fn send(&mut self, c: CallId) {
        let call = self.call_site(c);
        match self.partition[call.edge] {
            None => {}
            // The request vanishes: the attempt waits for its timeout (forever without one).
            Some(false) => return,
            // Refused at once.
            Some(true) => {
                if self.calls[c as usize].n_live == 0 {
                    self.release_permit(c);
                    self.attempt_done(c, Outcome::Error);
                }
                return;
            }
        }
        let cs = self.calls[c as usize];
        let parent = &self.reqs[cs.parent as usize];
        let (class, zone, trace) = (parent.class, parent.zone, parent.trace);
        let child = self.new_req(Origin::Call(c), cs.deadline, class, zone, trace);
        if trace != NO_TRACE {
            self.tracer.opened(trace);
        }
        let cs = &mut self.calls[c as usize];
        cs.live[usize::from(cs.n_live)] = child;
        cs.n_live += 1;
        if let Some(h) = call.policy.hedge
            && u32::from(cs.hedges_sent) < h.max_hedges
        {
            let delay = match h.delay {
                HedgeDelay::Fixed(d) => Some(d),
                HedgeDelay::Percentile(_) => self.edge_state[call.edge].latency.as_ref().and_then(|w| h.hedge_delay(w)),
            };
            if let Some(d) = delay {
                self.events.push(self.now + d, Event::Hedge(c, cs.epoch));
            }
        }
        self.arrive(child, call.to);
    }

    /// Request `child` of call `c` answered with `outcome`.
    fn child_answered(&mut self, c: CallId, child: ReqId, outcome: Outcome) {
        let cs = &mut self.calls[c as usize];
        let n = usize::from(cs.n_live);
        if let Some(i) = cs.live[..n].iter().position(|&x| x == child) {
            cs.live[i] = cs.live[n - 1];
            cs.n_live -= 1;
        }
        // A hedge that fails while another request of the attempt is still out does
        // not end the attempt: wait for the others.
        if !outcome.is_success() && cs.n_live > 0 {
            return;
        }
        let e = cs.edge as usize;
        if outcome.is_success()
            && let Some(w) = self.edge_state[e].latency.as_mut()
        {
            w.record(self.now - cs.attempt_start);
        }
        let cancel = self.call_site(c).policy.hedge.is_some_and(|h| h.cancel_losers);
        self.abandon_live(c, cancel);
        self.release_permit(c);
        self.attempt_done(c, outcome);
    }

    /// Orphans every request of the current attempt still in flight: their work is
    /// wasted, or cancelled when `cancel` is set.
    fn abandon_live(&mut self, c: CallId, cancel: bool) {
        let cs = &mut self.calls[c as usize];
        let n = usize::from(cs.n_live);
        cs.n_live = 0;
        let live = cs.live;
        let e = cs.edge as usize;
        for &r in &live[..n] {
            let req = &mut self.reqs[r as usize];
            req.origin = Origin::Orphan;
            req.cancelled = cancel;
            self.edges[e].abandoned += 1;
        }
    }

    /// Returns the attempt's bulkhead permit, handing it to the oldest waiter.
    fn release_permit(&mut self, c: CallId) {
        let cs = &mut self.calls[c as usize];
        if !cs.permit {
            return;
        }
        cs.permit = false;
        let e = cs.edge as usize;
        if let Some(next) = self.edge_state[e].bulkhead.as_mut().and_then(|b| b.release(self.now)) {
            let w = &mut self.calls[next as usize];
            w.waiting = false;
            w.permit = true;
            // Sent through the event queue, not by recursion: a refused send would hand
            // the permit on again, one stack frame per waiter.
            self.events.push(self.now, Event::BulkheadGrant(next, w.epoch));
        }
    }

    /// The current attempt of `c` ended with `outcome`: record it, then retry, fall
    /// back or answer the caller.
    fn attempt_done(&mut self, c: CallId, outcome: Outcome) {
        if self.parent_lost(c) {
            // Nobody waits for this call: no breaker record, retry or fallback.
            return self.drop_call(c);
        }
        let now = self.now;
        let call = self.call_site(c);
        let e = call.edge;
        let cs = &mut self.calls[c as usize];
        cs.epoch = cs.epoch.wrapping_add(1);
        let duration = now - cs.attempt_start;
        self.edges[e].attempt_outcomes.add(outcome);
        let trace = self.reqs[cs.parent as usize].trace;
        if trace != NO_TRACE {
            let n = cs.retry.attempts();
            self.tracer.attempt(trace, e as u32, (n, cs.hedges_sent), cs.attempt_start, now, outcome.key());
        }
        let es = &mut self.edge_state[e];
        if cs.breaker_admitted
            && let Some(b) = es.breaker.as_mut()
        {
            if self.model.edges[e].policy.failure_on[outcome as usize] {
                b.on_failure(now, duration);
            } else if outcome.is_success() {
                b.on_success(now, duration);
            } else {
                b.on_ignored(now);
            }
            if let Some(at) = b.next_transition_at()
                && es.timer_at != Some(at)
            {
                es.timer_at = Some(at);
                self.events.push(at, Event::BreakerTimer(e as u32));
            }
        }
        cs.breaker_admitted = false;
        if cs.budget_slot {
            cs.budget_slot = false;
            if let Some(b) = es.budget.as_mut() {
                b.on_retry_end();
            }
        }
        if let Some(cfg) = &call.policy.retry
            && !outcome.is_success()
        {
            let parent_deadline = self.reqs[cs.parent as usize].deadline;
            match cs.retry.on_outcome(cfg, outcome, es.budget.as_mut(), now, es.active, &mut es.rng) {
                RetryDecision::Retry { delay, .. } if now + delay < parent_deadline => {
                    cs.budget_slot = matches!(es.budget, Some(Budget::Concurrency(_)));
                    self.edges[e].record_retry(self.now);
                    self.events.push(now + delay, Event::Retry(c, cs.epoch));
                    let next = SpanKind::Backoff { next: cs.retry.attempts() };
                    self.tracer.span(trace, Track::Edge(e as u32), next, now, now + delay, "backoff");
                    return;
                }
                RetryDecision::Retry { .. } => {
                    // No time left before the caller's deadline: give up now.
                    if matches!(es.budget, Some(Budget::Concurrency(_)))
                        && let Some(b) = es.budget.as_mut()
                    {
                        b.on_retry_end();
                    }
                }
                RetryDecision::GiveUp(crate::policy::retry::GiveUpReason::BudgetExhausted) => {
                    self.edges[e].budget_exhausted += 1;
                }
                _ => {}
            }
        }
        if !outcome.is_success()
            && let Some(f) = call.policy.fallback
        {
            self.events.push(now + f.latency, Event::Fallback(c, cs.epoch));
            let kind = SpanKind::Fallback { value: f.value };
            self.tracer.span(trace, Track::Edge(e as u32), kind, now, now + f.latency, "fallback");
            return;
        }
        self.finish_call(c, outcome, 1.0);
    }

    /// Call `c` is over: answer the caller's worker and free the slot.
    fn finish_call(&mut self, c: CallId, outcome: Outcome, value: f64) {
        let call = self.call_site(c);
        let cs = self.calls[c as usize];
        let e = call.edge;
        self.edges[e].record(self.now, outcome);
        self.edge_state[e].active -= 1;
        self.calls[c as usize].epoch = cs.epoch.wrapping_add(1);
        self.free_calls.push(c);
        let p = &mut self.reqs[cs.parent as usize];
        if p.epoch != cs.parent_epoch {
            return; // the caller was lost in a crash
        }
        match outcome {
            Outcome::Ok => {}
            Outcome::Degraded => p.value *= value,
            _ if call.optional => p.value *= call.policy.degraded_value,
            _ => p.failed = true,
        }
        p.pending -= 1;
        if p.pending == 0 {
            self.advance(cs.parent);
        }
    }

    /// True when nobody waits for the job of `r` any more (its root was abandoned).
    fn is_orphaned(&self, mut r: ReqId) -> bool {
        loop {
            match self.reqs[r as usize].origin {
                Origin::Orphan => return true,
                Origin::Workload(_) => return false,
                Origin::Call(c) => {
                    let cs = &self.calls[c as usize];
                    if self.reqs[cs.parent as usize].epoch != cs.parent_epoch {
                        return true;
                    }
                    r = cs.parent;
                }
            }
        }
    }

    /// The worker is done with `r`: release it, then route the request on or end it.
    fn complete_visit(&mut self, r: ReqId) {
        let now = self.now;
        let req = self.reqs[r as usize];
        let s = req.service as usize;
        let wasted = self.is_orphaned(r);
        let (instance, pool) = (req.instance as usize, usize::from(req.pool));
        let metrics = &mut self.services[s];
        metrics.record_completion(now - req.arrived, req.started - req.arrived);
        metrics.wasted += u64::from(wasted);
        metrics.pools[pool].completed += 1;
        let req = if self.plain[s] {
            let next = self.stations[req.station as usize].release(now);
            if let Some(next) = next {
                self.begin_service(next);
            }
            req
        } else {
            self.complete_policies(r, s, instance)
        };
        let visit = match (req.failed, req.value < 1.0) {
            (true, _) => Outcome::Error,
            (false, true) => Outcome::Degraded,
            (false, false) => Outcome::Ok,
        };
        let metrics = &mut self.services[s];
        if visit.is_success() {
            metrics.record_success(now, visit, now - req.arrived);
        } else {
            metrics.record_outcome(now, visit);
        }
        if req.failed || req.cancelled {
            return self.finish_job(r, Outcome::Error);
        }
        let routes = &self.model.services[s].routes;
        if !routes.is_empty() {
            let u = unit(&mut self.service_rng[s].routing);
            // The first route whose cumulative probability passes `u` is the number of
            // those that do not (they only grow): counted without a branch, which on a
            // random draw would be mispredicted half the time.
            let k = routes.iter().map(|route| usize::from(u >= route.cumulative)).sum::<usize>();
            if let Some(route) = routes.get(k) {
                if req.trace != NO_TRACE {
                    self.trace_visit(r, visit.key());
                }
                return self.arrive(r, route.to);
            }
        }
        let outcome = if req.value < 1.0 { Outcome::Degraded } else { Outcome::Ok };
        self.finish_job_inline(r, outcome);
    }

    /// The server-side policies at the end of a visit to a service that is not plain:
    /// the concurrency limiter and the degradation controller learn of it, the worker
    /// moves on, response faults and outlier ejection act. Returns the request as it leaves.
    fn complete_policies(&mut self, r: ReqId, s: usize, instance: usize) -> Req {
        let now = self.now;
        let req = self.reqs[r as usize];
        if let Some(l) = self.limiters[self.first_instance[s] as usize + instance].as_mut() {
            l.release(now, now - req.arrived, req.failed);
        }
        let ss = &mut self.service_state[s];
        if let Some(d) = &ss.degradation {
            ss.window_completed += 1;
            ss.window_failed += u64::from(req.failed);
            if let Some(w) = ss.recent.as_mut() {
                w.record(now - req.arrived);
            }
            let v = d.value();
            if v < 1.0 {
                self.reqs[r as usize].value *= v;
            }
        }
        if let Some(next) = self.release_worker(req.station) {
            self.begin_service(next);
        }
        self.inject_response_faults(r, s, instance);
        let req = self.reqs[r as usize];
        self.note_instance_result(s, instance as u32, req.failed);
        req
    }

    /// The job of `r` ends with `outcome`: tell whoever waits, free the slot.
    #[inline(never)]
    fn finish_job(&mut self, r: ReqId, outcome: Outcome) {
        self.finish_job_inline(r, outcome);
    }

    /// [`Simulation::finish_job`] inline, for the end of a visit (the common case).
    #[inline(always)]
    fn finish_job_inline(&mut self, r: ReqId, outcome: Outcome) {
        let q = &mut self.reqs[r as usize];
        // A new generation now, so timers aimed at this request are stale from here on.
        q.epoch = q.epoch.wrapping_add(1);
        q.alive = false;
        let (trace, origin, value) = (q.trace, q.origin, q.value);
        self.free.push(r);
        if trace != NO_TRACE {
            self.trace_visit(r, outcome.key());
            self.tracer.closed(trace);
        }
        match origin {
            Origin::Workload(w) => self.answer_user(w as usize, r, outcome),
            Origin::Call(c) => {
                // Pass the callee's value on through a degraded answer.
                if outcome == Outcome::Degraded {
                    self.reqs[self.calls[c as usize].parent as usize].value *= value;
                }
                self.child_answered(c, r, outcome);
            }
            Origin::Orphan => {}
        }
    }

    /// A workload's user gets the answer of request `r` (or gives up on it). The slot
    /// may already be freed: its fields are still those of the request.
    #[inline(always)]
    fn answer_user(&mut self, w: WorkloadId, r: ReqId, outcome: Outcome) {
        let req = &self.reqs[r as usize];
        let (trace, value, job_start) = (req.trace, req.value, req.job_start);
        if trace != NO_TRACE {
            if self.tracer.answered(trace, self.now, outcome.key(), value) {
                self.close_traced(Some(trace), "orphaned");
            }
            self.tracer.seal(trace);
        }
        let metrics = &mut self.workloads[w];
        if outcome.is_success() {
            metrics.record_success(self.now, outcome, self.now - job_start);
            metrics.value += value;
        } else {
            metrics.record(self.now, outcome);
        }
        if let Arrivals::Closed { think, .. } = &self.model.workloads[w].arrivals {
            let t = self.now + think.sample(&mut self.workload_rng[w]);
            if t <= self.end {
                self.events.push(t, Event::Think(w as u32));
            }
        }
    }

    fn on_user_deadline(&mut self, r: ReqId, epoch: u32) {
        let req = self.reqs[r as usize];
        if req.epoch != epoch {
            return;
        }
        if let Origin::Workload(w) = req.origin {
            self.reqs[r as usize].origin = Origin::Orphan;
            self.answer_user(w as usize, r, Outcome::Timeout);
        }
    }

    fn on_attempt_timeout(&mut self, c: CallId, epoch: u32) {
        let cs = self.calls[c as usize];
        if cs.epoch != epoch {
            return;
        }
        let e = cs.edge as usize;
        if cs.waiting {
            self.calls[c as usize].waiting = false;
            if let Some(b) = self.edge_state[e].bulkhead.as_mut() {
                b.cancel(c);
            }
        } else {
            self.abandon_live(c, false);
            self.release_permit(c);
        }
        self.attempt_done(c, Outcome::Timeout);
    }

    fn on_bulkhead_timeout(&mut self, c: CallId, epoch: u32) {
        let cs = self.calls[c as usize];
        if cs.epoch != epoch || !cs.waiting {
            return;
        }
        self.calls[c as usize].waiting = false;
        let e = cs.edge as usize;
        if let Some(b) = self.edge_state[e].bulkhead.as_mut() {
            b.time_out(c);
        }
        self.edges[e].bulkhead_rejected += 1;
        self.attempt_done(c, Outcome::Rejected);
    }

    fn on_hedge(&mut self, c: CallId, epoch: u32) {
        if self.calls[c as usize].epoch == epoch && self.parent_lost(c) {
            return self.drop_call(c);
        }
        let cs = &mut self.calls[c as usize];
        if cs.epoch != epoch || cs.n_live == 0 || usize::from(cs.n_live) >= MAX_LIVE {
            return;
        }
        cs.hedges_sent += 1;
        let e = cs.edge as usize;
        self.edges[e].hedges += 1;
        let (trace, attempt) = (self.reqs[cs.parent as usize].trace, cs.retry.attempts());
        self.tracer.span(trace, Track::Edge(e as u32), SpanKind::Instant { attempt }, self.now, self.now, "hedge");
        self.send(c);
    }

    /// Error and partial-response faults on the answer of `r` at instance `instance`.
    fn inject_response_faults(&mut self, r: ReqId, s: usize, instance: usize) {
        let gi = self.first_instance[s] as usize + instance;
        let fx = &self.fx[gi];
        if fx.error == 0.0 && fx.partial.is_none() {
            return;
        }
        let (error, partial) = (fx.error, fx.partial);
        // Draw from the stream of the first active fault of the kind, so adding a fault
        // elsewhere never shifts these draws.
        let pick = |want: fn(&Effect) -> bool, sim: &Self| {
            sim.instance_faults[gi].iter().copied().find(|&g| sim.fault_active[g] && want(&sim.model.faults[g].effect))
        };
        if error > 0.0
            && let Some(f) = pick(|e| matches!(e, Effect::Error(_)), self)
            && unit(&mut self.fault_rng[f]) < error
        {
            self.fault_metrics[f].injected += 1;
            self.reqs[r as usize].failed = true;
            return;
        }
        if let Some((p, degraded)) = partial
            && let Some(f) = pick(|e| matches!(e, Effect::Partial { .. }), self)
            && unit(&mut self.fault_rng[f]) < p
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
    fn faulted_time(&mut self, s: usize, instance: usize, t: SimTime) -> SimTime {
        let fx = &self.fx[self.first_instance[s] as usize + instance];
        if fx.is_clear(self.now) {
            return t;
        }
        let mut factor = fx.multiply;
        if self.now < fx.cold_until {
            factor *= fx.cold_factor;
        }
        let mut t = if factor == 1.0 { t } else { SimTime::from_secs_f64(t.as_secs_f64() * factor) };
        let gi = self.first_instance[s] as usize + instance;
        for &f in &self.instance_faults[gi] {
            if !self.fault_active[f] {
                continue;
            }
            if let Effect::Latency { add, .. } = &self.model.faults[f].effect {
                if let Some(d) = add {
                    t += d.sample(&mut self.fault_rng[f]);
                }
                self.fault_metrics[f].injected += 1;
            }
        }
        t
    }

    /// A fault starts (`on`) or ends: update the effects on its target, lose the work of
    /// crashed instances, and schedule what comes next.
    fn on_fault(&mut self, f: usize, on: bool) {
        let now = self.now;
        let fault = &self.model.faults[f];
        if self.fault_active[f] == on {
            return;
        }
        self.fault_active[f] = on;
        if on {
            self.fault_since[f] = now;
            self.fault_metrics[f].activations += 1;
        } else {
            let since = self.fault_since[f].max(self.model.warmup);
            self.fault_metrics[f].active += now - since;
        }
        if self.keep_log && now >= self.model.warmup {
            self.log.push((now, LogEntry::Fault(f as u32, on)));
        }
        match &fault.schedule {
            Schedule::Window { end, .. } if on => self.events.push(*end, Event::FaultEnd(f as u32)),
            Schedule::Random { up, down } => {
                let (d, next): (&Dist, Event) =
                    if on { (down, Event::FaultEnd(f as u32)) } else { (up, Event::FaultStart(f as u32)) };
                let t = now + d.sample(&mut self.fault_rng[f]).max(SimTime(1));
                if t <= self.end {
                    self.events.push(t, next);
                }
            }
            Schedule::Window { .. } => {}
        }
        match &fault.target {
            Target::Instances(list) => {
                for &(s, i) in list {
                    self.refresh_instance(s, i as usize, f);
                }
            }
            Target::Edge(e) => {
                let refuse = self.model.faults.iter().enumerate().find_map(|(g, x)| match (&x.target, &x.effect) {
                    (Target::Edge(te), Effect::Partition { refuse }) if te == e && self.fault_active[g] => {
                        Some(*refuse)
                    }
                    _ => None,
                });
                self.partition[*e] = refuse;
            }
            Target::Workload(_) => {}
        }
    }

    /// Recomputes the effects on one instance after fault `cause` changed state.
    fn refresh_instance(&mut self, s: usize, instance: usize, cause: usize) {
        let now = self.now;
        let gi = self.first_instance[s] as usize + instance;
        let old = &self.fx[gi];
        let (mut cold_until, mut cold_factor) = (old.cold_until, old.cold_factor);
        let was_down = old.down;
        let active = self.instance_faults[gi].iter().copied().filter(|&g| self.fault_active[g]);
        let mut fx = StationFx::combine(&self.model.faults, active, (cold_until, cold_factor));
        if was_down && !fx.down {
            // Restarted: cold for a while.
            if let Effect::Crash { cold_factor: k, cold_for } = self.model.faults[cause].effect
                && k > 1.0
            {
                cold_until = now + cold_for;
                cold_factor = k;
                fx.cold_until = cold_until;
                fx.cold_factor = cold_factor;
            }
        }
        let svc = &self.model.services[s];
        let np = svc.pools.len();
        let base = self.first_station[s] as usize + instance * np;
        self.fx[gi] = fx.clone();
        if fx.down && !was_down {
            self.crash_instance(s, instance, cause);
            return;
        }
        for (p, pool) in svc.pools.iter().enumerate() {
            let servers = if fx.down { 0 } else { fx.servers(pool.servers) };
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
        let base = self.first_station[s] as usize + instance * np;
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
        let gi = self.first_instance[s] as usize + instance;
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
            self.services[s].record_outcome(now, Outcome::Error);
            if let Some(l) = self.limiters[gi].as_mut() {
                l.release_ignored();
            }
            self.finish_job(r, Outcome::Error);
        }
    }

    /// Feeds a service's degradation controller the signals of the last interval.
    fn on_degrade_tick(&mut self, s: usize) {
        let now = self.now;
        let svc = &self.model.services[s];
        let Some((_, interval)) = svc.degradation else { return };
        self.accrue_service(s, now);
        let busy = self.services[s].areas().busy as i128;
        let ss = &mut self.service_state[s];
        let delta = (busy - ss.window_busy).max(0);
        let span = (now - ss.window_start).max(SimTime(1));
        ss.window_busy = busy;
        ss.window_start = now;
        let workers = f64::from(svc.servers) * f64::from(svc.instances);
        let signals = Signals {
            error_rate: if ss.window_completed > 0 {
                ss.window_failed as f64 / ss.window_completed as f64
            } else {
                0.0
            },
            p99: ss.recent.as_ref().and_then(|w| w.quantile(0.99)).unwrap_or(SimTime::ZERO),
            utilization: delta as f64 / (span.0 as f64 * workers),
        };
        ss.window_completed = 0;
        ss.window_failed = 0;
        let change = ss.degradation.as_mut().and_then(|d| d.evaluate(now, signals));
        if let Some((from, to)) = change
            && self.keep_log
            && now >= self.model.warmup
        {
            self.log.push((now, LogEntry::Degradation(s as u32, from as u32, to as u32)));
        }
        if now + interval <= self.end {
            self.events.push(now + interval, Event::DegradeTick(s as u32));
        }
    }

    /// Reports the visit of traced request `r` to its current service, ending now.
    fn trace_visit(&mut self, r: ReqId, outcome: &'static str) {
        let q = self.reqs[r as usize];
        let started = (q.started >= q.arrived && q.started <= self.now).then_some(q.started);
        let kind = SpanKind::Visit { instance: q.instance, pool: q.pool, started };
        self.tracer.span(q.trace, Track::Service(q.service), kind, q.arrived, self.now, outcome);
    }

    /// Closes, at `now`, the spans of traced requests still alive (of trace `only`, or of
    /// all) with `outcome`. Scans the slab: it runs once per traced request that left
    /// work behind, and once at the end of the run.
    fn close_traced(&mut self, only: Option<TraceId>, outcome: &'static str) {
        let mut seen: Vec<CallId> = Vec::new();
        for r in 0..self.reqs.len() as ReqId {
            let q = self.reqs[r as usize];
            if !q.alive || q.trace == NO_TRACE || only.is_some_and(|t| t != q.trace) || !self.tracer.is_live(q.trace) {
                continue;
            }
            self.trace_visit(r, outcome);
            match q.origin {
                Origin::Call(c) if !seen.contains(&c) && !self.parent_lost(c) => {
                    seen.push(c);
                    let cs = self.calls[c as usize];
                    let n = cs.retry.attempts();
                    self.tracer.attempt(q.trace, cs.edge, (n, cs.hedges_sent), cs.attempt_start, self.now, outcome);
                }
                Origin::Workload(_) => _ = self.tracer.answered(q.trace, self.now, outcome, q.value),
                _ => {}
            }
        }
    }

    fn reset_metrics(&mut self) {
        let now = self.now;
        for f in &mut self.fault_metrics {
            *f = FaultMetrics::default();
        }
        // Carry the busy time of open degradation windows across the reset.
        for s in 0..self.model.services.len() {
            if self.service_state[s].degradation.is_none() {
                continue;
            }
            self.accrue_service(s, now);
            let ss = &mut self.service_state[s];
            ss.window_busy -= self.services[s].areas().busy as i128;
        }
        self.services.iter_mut().for_each(ServiceMetrics::reset);
        self.workloads.iter_mut().for_each(WorkloadMetrics::reset);
        self.edges.iter_mut().for_each(EdgeMetrics::reset);
        self.stations.iter_mut().for_each(|s| s.mark(now));
        if self.model.windows() > 1 {
            self.events.push(now + self.model.window, Event::WindowClose);
        }
        for ss in &mut self.service_state {
            if let Some(d) = ss.degradation.as_mut() {
                d.reset_stats(now);
            }
        }
        for es in &mut self.edge_state {
            if let Some(b) = es.breaker.as_mut() {
                b.reset_stats(now);
            }
            if let Some(b) = es.bulkhead.as_mut() {
                b.reset_stats(now);
            }
        }
    }

    /// Brings every station's gauge integrals up to `now`.
    fn accrue_all(&mut self, now: SimTime) {
        for s in 0..self.model.services.len() {
            self.accrue_service(s, now);
        }
    }

    /// Brings the gauge integrals of service `s`'s stations up to `now` and gathers them
    /// into its pools' (each pool's summed over the instances).
    fn accrue_service(&mut self, s: usize, now: SimTime) {
        let svc = &self.model.services[s];
        let first = self.first_station[s] as usize;
        let np = svc.pools.len();
        let pools = &mut self.services[s].pools;
        pools.iter_mut().for_each(|p| p.areas = Areas::default());
        for (i, st) in self.stations[first..first + svc.instances as usize * np].iter_mut().enumerate() {
            st.accrue(now);
            pools[i % np].areas.add(st.areas());
        }
    }

    /// A time-series window ends: record each service's integrals so far, and schedule the
    /// next close (the last window is closed by `finish`).
    fn close_window(&mut self) {
        self.accrue_all(self.now);
        for m in &mut self.services {
            let a = m.areas();
            m.gauge_marks.push(a);
        }
        if self.services.first().map_or(0, |m| m.gauge_marks.len()) + 1 < self.model.windows() {
            self.events.push(self.now + self.model.window, Event::WindowClose);
        }
    }

    /// Closes the time averages at the end of the run and hands the metrics over.
    fn finish(mut self, replication: u32, events: u64) -> ReplicationResult {
        let end = self.end;
        for f in 0..self.model.faults.len() {
            if self.fault_active[f] {
                let since = self.fault_since[f].max(self.model.warmup);
                self.fault_metrics[f].active += end - since;
            }
        }
        self.accrue_all(end);
        for m in &mut self.services {
            let a = m.areas();
            m.gauge_marks.push(a);
        }
        self.now = end;
        self.close_traced(None, "in_flight");
        let degradation = self
            .service_state
            .iter()
            .map(|ss| {
                ss.degradation.as_ref().map(|d| DegradationSnapshot {
                    levels: d.config().levels.iter().map(|l| l.name.clone()).collect(),
                    time_in_level: d.time_in_level(end).collect(),
                    mean_value: d.mean_value(end),
                    transitions: d.transitions().len() as u64,
                })
            })
            .collect();
        let concurrency_limit = self
            .model
            .services
            .iter()
            .enumerate()
            .map(|(s, svc)| {
                let first = self.first_instance[s] as usize;
                let lims = &self.limiters[first..first + svc.instances as usize];
                lims.iter()
                    .map(|l| l.as_ref().map(|l| f64::from(l.limit())))
                    .sum::<Option<f64>>()
                    .map(|x| x / f64::from(svc.instances))
            })
            .collect();
        let breakers = self.edge_state.iter().map(|es| es.breaker.as_ref().map(|b| breaker_snapshot(b, end))).collect();
        // Last, after anything that might still count: the open windows into their windows.
        self.services.iter_mut().for_each(|m| m.timeline.flush());
        self.workloads.iter_mut().for_each(|w| w.timeline.flush());
        self.edges.iter_mut().for_each(|e| e.timeline.flush());
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
            halt: self.halt,
        }
    }
}

/// The breaker's counters and transitions, in plain numbers for the report.
fn breaker_snapshot(b: &CircuitBreaker, end: SimTime) -> BreakerSnapshot {
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
        transitions: b.transitions().iter().map(|t| (t.at, t.from.as_str(), t.to.as_str())).collect(),
    }
}

impl Process for Simulation<'_> {
    type Event = Event;

    fn events(&mut self) -> &mut EventQueue<Event> {
        &mut self.events
    }

    #[inline]
    fn halted(&self) -> bool {
        self.halt.is_some()
    }

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event) {
        self.now = now;
        match event {
            Event::Arrival(w) => {
                let w = w as usize;
                if let Arrivals::Poisson(profile) = &self.model.workloads[w].arrivals
                    && let Some(t) = profile.next_arrival(now, &mut self.workload_rng[w])
                    && t <= self.end
                {
                    self.events.push(t, Event::Arrival(w as u32));
                }
                self.start_job(w);
            }
            Event::Think(w) => self.start_job(w as usize),
            Event::ServiceDone(r, epoch) => {
                if self.reqs[r as usize].epoch == epoch {
                    self.advance(r);
                }
            }
            Event::HealthProbe(s, i) => self.on_probe(s as usize, i),
            Event::HealthResult(gi, ok) => self.on_probe_result(gi as usize, ok),
            Event::Heartbeat(s) => self.on_heartbeat(s as usize),
            Event::FaultStart(f) => self.on_fault(f as usize, true),
            Event::FaultEnd(f) => self.on_fault(f as usize, false),
            Event::UserDeadline(r, epoch) => self.on_user_deadline(r, epoch),
            Event::AttemptTimeout(c, epoch) => self.on_attempt_timeout(c, epoch),
            Event::BulkheadTimeout(c, epoch) => self.on_bulkhead_timeout(c, epoch),
            Event::Retry(c, epoch) => {
                if self.calls[c as usize].epoch == epoch {
                    self.attempt(c);
                }
            }
            Event::Hedge(c, epoch) => self.on_hedge(c, epoch),
            Event::Fallback(c, epoch) => {
                if self.calls[c as usize].epoch == epoch {
                    let f = self.call_site(c).policy.fallback.map_or(1.0, |f| f.value);
                    self.edges[self.calls[c as usize].edge as usize].fallbacks += 1;
                    self.finish_call(c, Outcome::Degraded, f);
                }
            }
            Event::BreakerTimer(e) => {
                let es = &mut self.edge_state[e as usize];
                es.timer_at = None;
                if let Some(b) = es.breaker.as_mut() {
                    b.on_timer(now);
                }
            }
            Event::DegradeTick(s) => self.on_degrade_tick(s as usize),
            Event::BulkheadGrant(c, epoch) => {
                if self.calls[c as usize].epoch == epoch && self.calls[c as usize].permit {
                    if self.parent_lost(c) {
                        self.drop_call(c);
                    } else {
                        self.send(c);
                    }
                }
            }
            Event::WarmupEnd => self.reset_metrics(),
            Event::WindowClose => self.close_window(),
        }
    }
}
