//! One replication of a [`Model`]: the event handlers of the service network.
//!
//! A request lives in a slab slot from its arrival until its job ends; a call (one
//! logical call from a caller's worker, with all its attempts) lives in a second slab.
//! Events carry only slot indices and generation numbers, so the loop allocates nothing
//! per event once the slabs and the heap have grown to the run's peak concurrency.
//!
//! The life of a request at a service ([`request`]): the balancer ([`balance`]) picks an
//! instance; the station admits it (a worker starts), queues it, or rejects it (K
//! reached). When its service time ends, the worker makes the service's calls step by
//! step, holding on while it waits (thread-per-request). A failed required call ends the
//! visit with `error`; a failed optional one marks it `degraded`. The worker is then
//! released and the request either takes a route (an asynchronous hand-off: the same job
//! continues at the next service) or leaves, answering whoever sent it.
//!
//! A call ([`call`]) passes the client-side policies in resilience4j's order, outermost
//! first: retry -> circuit breaker -> rate limiter -> timeout -> bulkhead -> the callee.
//! The stateful ones live in [`guard::Guards`], per caller instance or per fleet. A timed-out attempt is abandoned,
//! not cancelled: the callee keeps working on it (wasted work) unless it propagates
//! deadlines and drops it from its queue.
//!
//! The other rooms: [`faults`] (fault onsets, their effects on instances, crashes),
//! [`recovery`] (health probes, outlier ejection and heartbeats driving the state
//! machines of `policy`), [`degrade`] (the degradation controller's tick), [`tracing`]
//! (sampled request traces), [`measure`] (warm-up reset, gauge windows, the end-of-run
//! snapshot) and [`build`] (a fresh replication's state and first events).

mod autoscale;
mod balance;
mod build;
mod cache;
mod call;
mod degrade;
mod faults;
mod guard;
mod measure;
mod mqueue;
mod priority;
mod recovery;
mod request;
mod slots;
mod tracing;
mod watchdog;

use crate::engine::{EventQueue, Process, SimTime, Stream, run_until_at_most};
use crate::metrics::{EdgeMetrics, FaultMetrics, Halt, LogEntry, ReplicationResult, ServiceMetrics, WorkloadMetrics};
use crate::policy::Scope;
use crate::policy::concurrency::Limiter;
use crate::policy::rate_limit::TokenBucket;
use crate::policy::shed::Shedder;
use crate::trace::{TraceConfig, Tracer};

use super::Model;
use super::station::{ReqId, Station};
use degrade::DegradeState;
use faults::FaultState;
use guard::Guards;
use recovery::Recovery;
use slots::{CallId, CallState, Req};
use watchdog::Watchdog;

pub use cache::{CacheConfig, Popularity};
pub use measure::empty_result;
pub use watchdog::stall_window;

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
    /// A service's outlier detection interval sweep.
    OutlierSweep(u32),
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
    /// A guard's breaker has an automatic OPEN -> HALF_OPEN transition due.
    BreakerTimer(u32),
    /// Evaluate a service's degradation level.
    DegradeTick(u32),
    /// A waiting call was handed a bulkhead permit: send it.
    BulkheadGrant(CallId, u32),
    /// An attempt's rate-limiter wait ended: go on past the limiter.
    RateLimitWait(CallId, u32),
    /// A message's visibility timeout ended: (message, the receipt it was set for).
    VisibilityTimeout(mqueue::MessageId, u32),
    /// A service's autoscaler decides.
    AutoscaleTick(u32),
    /// An autoscaled instance (service, instance) finished starting.
    InstanceReady(u32, u32),
    /// An autoscaled instance (service, instance) has been down for its eviction timeout.
    InstanceEvict(u32, u32),
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

/// Where each service's stations and instances start in the flat per-station and
/// per-instance vectors (stations are laid out instance by instance, pools within).
struct Layout<'m> {
    /// First global instance index of each service.
    first_instance: Vec<u32>,
    /// What a visit reads of each service, side by side.
    hot: Vec<Hot<'m>>,
    /// Each service's routes as the end of a visit reads them (services with `routes`).
    routing: Vec<Routing>,
}

/// Routes a service may hand a request on by, kept in place up to [`Routing::IN_PLACE`].
#[derive(Clone, Copy, Debug)]
struct Routing {
    /// Cumulative probabilities, as `Route::cumulative`; `INFINITY` past the last route.
    cumulative: [f64; Routing::IN_PLACE],
    /// The service each route goes to.
    to: [u32; Routing::IN_PLACE],
    /// Number of routes (more than `IN_PLACE`: read the model's).
    n: usize,
}

impl Routing {
    /// Routes held in place: four compares without a loop cover the common fan-outs.
    const IN_PLACE: usize = 4;

    fn of(routes: &[super::Route]) -> Self {
        let mut r = Routing { cumulative: [f64::INFINITY; Self::IN_PLACE], to: [0; Self::IN_PLACE], n: routes.len() };
        for (i, route) in routes.iter().take(Self::IN_PLACE).enumerate() {
            (r.cumulative[i], r.to[i]) = (route.cumulative, route.to as u32);
        }
        r
    }
}

/// What a visit reads of its service, in 32 bytes: the model's `Service` spreads the
/// same over a kilobyte and several vectors, each a cache miss in a model too large for
/// the caches, and each an indexing (a bounds check and a pointer load) in a small one.
#[derive(Clone, Copy, Debug)]
struct Hot<'m> {
    /// Its service time distribution.
    service_time: &'m super::Dist,
    first_station: u32,
    instances: u32,
    /// Worker pools per instance.
    pools: u16,
    /// The pool of class 0, the class of every request in a model without classes.
    pool_of_class0: Option<u16>,
    balancer: crate::model::Balancer,
    /// The balancer picks among all instances (no health checks, outlier ejection,
    /// failover, zone preference or autoscaler to narrow them).
    all_eligible: bool,
    /// Its instances have zones.
    zoned: bool,
    /// It hands requests on by `routes`.
    routes: bool,
    /// It has a degradation controller (that may switch optional calls off).
    degradable: bool,
    /// Only its stations decide what happens to a visit. No rate limit, adaptive
    /// concurrency limit, shedding, pool borrowing, deadline propagation, degradation,
    /// outlier ejection, nor any fault on its instances: a visit skips every policy check
    /// with this one branch.
    plain: bool,
    /// It makes calls (has steps): a visit without them ends with its service time.
    calls: bool,
    /// Its line is `priority_preemptive`: a service end may be a preempted one's.
    preemptive: bool,
}

impl Layout<'_> {
    /// Global index of service `s`'s first station.
    #[inline(always)]
    fn first_station(&self, s: usize) -> usize {
        self.hot[s].first_station as usize
    }

    /// Global index of instance `instance` of service `s`.
    #[inline(always)]
    fn instance(&self, s: usize, instance: usize) -> usize {
        self.first_instance[s] as usize + instance
    }
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
    layout: Layout<'m>,
    /// Round-robin position per station (one rotation per pool).
    round_robin: Vec<u32>,
    service_rng: Vec<ServiceStreams>,
    workload_rng: Vec<Stream>,
    /// Some workload is closed (its users think between requests): an answer schedules
    /// its user's next request. False, an answer skips the look at its workload's model.
    closed_workloads: bool,
    /// Client-side policy state: per edge, its fleet's guard and each caller instance's.
    guards: Guards,
    /// Server-side rate limiter per instance; a service-scoped one sits in the slot of
    /// its first instance ([`Simulation::server_slot`]).
    service_limiters: Vec<Option<TokenBucket>>,
    /// Degradation controller per service.
    degrade: Vec<DegradeState>,
    /// Adaptive concurrency limiter per instance; a service-scoped one sits in the slot
    /// of its first instance ([`Simulation::server_slot`]).
    limiters: Vec<Option<Limiter>>,
    /// Shedder per station.
    shedders: Vec<Option<Shedder>>,
    faults: FaultState,
    /// What health checks, outlier ejection and heartbeats know of each service's instances.
    recovery: Vec<Recovery>,
    /// Scratch list of eligible instances and their weights (reused: no allocation per pick).
    candidates: Vec<(u32, f64)>,
    /// Event log (kept for replication 0 only).
    log: Vec<(SimTime, LogEntry)>,
    keep_log: bool,
    /// Set when a resource guard stopped the run.
    halt: Option<Halt>,
    /// Watches for deadlocks and zero-time loops.
    watchdog: Watchdog,
    /// The most client-side permits found unaccounted for (see [`Simulation::audit_permits`]).
    unaccounted_permits: u64,
    tracer: Tracer,
    services: Vec<ServiceMetrics>,
    workloads: Vec<WorkloadMetrics>,
    edges: Vec<EdgeMetrics>,
    fault_metrics: Vec<FaultMetrics>,
    /// The services' caches.
    caches: cache::CacheState,
    /// The message queues (`kind: queue` services) and their messages.
    mq: mqueue::MessageQueues,
    /// Per service, its autoscaler (`None` without autoscaling).
    autoscale: Vec<Option<Box<autoscale::Scaler>>>,
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
    // A deadlock that left no event to handle ends the loop early: judge it at the end.
    sim.watch_end();
    sim.finish(replication, events)
}

impl Simulation<'_> {
    /// The slot (global instance index) of the server-side policy state of scope `scope`
    /// that instance `instance` of service `s` uses: its own, or its service's first.
    #[inline(always)]
    fn server_slot(&self, s: usize, instance: usize, scope: Scope) -> usize {
        self.layout.instance(s, if scope == Scope::Service { 0 } else { instance })
    }

    /// The slot of the adaptive concurrency limiter instance `instance` of `s` answers to.
    #[inline(always)]
    fn limiter_slot(&self, s: usize, instance: usize) -> usize {
        self.server_slot(s, instance, self.model.services[s].concurrency_scope)
    }

    /// The adaptive concurrency limiter instance `instance` of `s` answers to, if any.
    #[inline(always)]
    fn limiter(&mut self, s: usize, instance: usize) -> Option<&mut Limiter> {
        let slot = self.limiter_slot(s, instance);
        self.limiters[slot].as_mut()
    }

    /// Appends to the event log (replication 0 only).
    fn note(&mut self, entry: LogEntry) {
        if self.keep_log {
            self.log.push((self.now, entry));
        }
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

    fn checkpoint(&mut self, now: SimTime, clock_moved: bool) {
        self.watch(now, clock_moved);
    }

    fn spin_event(&mut self, event: &Event) {
        Simulation::spin_event(self, event);
    }

    fn spun(&mut self, now: SimTime, events: u64) {
        Simulation::spun(self, now, events);
    }

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event) {
        self.now = now;
        match event {
            Event::Arrival(w) => self.on_arrival(w as usize),
            Event::Think(w) => self.start_job(w as usize),
            Event::ServiceDone(r, epoch) => {
                let req = &self.reqs[r as usize];
                if req.epoch == epoch {
                    let hot = &self.layout.hot[req.service as usize];
                    // A plain visit without calls ends here, without a look at its steps
                    // (a plain service is FIFO, so never preemptive).
                    if hot.plain && !hot.calls {
                        self.complete_visit(r);
                    } else if !hot.preemptive || self.service_ends(r) {
                        self.advance(r);
                    }
                }
            }
            Event::HealthProbe(s, i) => self.on_probe(s as usize, i),
            Event::HealthResult(gi, ok) => self.on_probe_result(gi as usize, ok),
            Event::Heartbeat(s) => self.on_heartbeat(s as usize),
            Event::OutlierSweep(s) => self.on_outlier_sweep(s as usize),
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
            Event::Fallback(c, epoch) => self.on_fallback(c, epoch),
            Event::BreakerTimer(g) => self.guards.on_breaker_timer(g, now),
            Event::DegradeTick(s) => self.on_degrade_tick(s as usize),
            Event::BulkheadGrant(c, epoch) => self.on_bulkhead_grant(c, epoch),
            Event::RateLimitWait(c, epoch) => self.on_rate_limit_wait(c, epoch),
            Event::VisibilityTimeout(m, receipt) => self.on_visibility_timeout(m, receipt),
            Event::AutoscaleTick(s) => self.on_autoscale_tick(s as usize),
            Event::InstanceReady(s, i) => self.on_instance_ready(s as usize, i as usize),
            Event::InstanceEvict(s, i) => self.on_instance_evict(s as usize, i as usize),
            Event::WarmupEnd => {
                self.reset_metrics();
                // The counters the watchdog reads restart from zero; that is no progress.
                self.watchdog.counters_reset();
            }
            Event::WindowClose => {
                self.close_window();
                self.watch(now, false);
            }
        }
    }
}

#[cfg(test)]
mod tests;
