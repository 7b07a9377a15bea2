//! The validated model the engine runs: services, call edges and workloads with
//! resolved ids.
//!
//! A [`Model`] is built only by the scenario layer's validation, so everything in it is
//! already checked: names resolved to indices, probabilities in range, capacities
//! consistent, distributions with finite parameters. The simulation ([`sim`]) can
//! therefore index without checks and never fails on input.

pub mod arrivals;
pub mod dist;
pub mod fault;
pub mod mqueue;
pub mod queue_discipline;
pub mod sim;
pub mod station;

pub use arrivals::{Factor, RateProfile, Segment};
pub use dist::{Dist, Law, Moments};

use crate::engine::SimTime;
use crate::policy::Scope;
use crate::policy::breaker::{BreakerConfig, BreakerState, Classifier};
use crate::policy::bulkhead::BulkheadConfig;
use crate::policy::concurrency::{AimdConfig, Gradient2Config, VegasConfig};
use crate::policy::degradation::DegradationConfig;
use crate::policy::rate_limit::{LimiterConfig, TokenBucketConfig};
use crate::policy::retry::{AdaptiveConfig, BudgetConfig, HedgeConfig, RetryConfig};
use crate::policy::shed::ShedConfig;

/// Index of a service in [`Model::services`].
pub type ServiceId = usize;
/// Index of a call edge in [`Model::edges`].
pub type EdgeId = usize;
/// Index of a workload in [`Model::workloads`].
pub type WorkloadId = usize;

/// A checked scenario, ready to simulate.
#[derive(Clone, Debug)]
pub struct Model {
    /// Scenario name.
    pub name: String,
    /// Master seed.
    pub seed: u64,
    /// Number of replications.
    pub replications: u32,
    /// Warm-up length; measurement starts here.
    pub warmup: SimTime,
    /// Measured length.
    pub duration: SimTime,
    /// Length of a reporting window (time series).
    pub window: SimTime,
    /// Services, sorted by name.
    pub services: Vec<Service>,
    /// Call edges (one per caller/callee pair), sorted by caller then callee name.
    pub edges: Vec<Edge>,
    /// Workloads, in file order.
    pub workloads: Vec<Workload>,
    /// Request class names; id 0 is `default`.
    pub classes: Vec<String>,
    /// The chaos schedule.
    pub faults: Vec<fault::Fault>,
    /// Zone names.
    pub zones: Vec<String>,
    /// Service level objectives, in file order.
    pub slos: Vec<Slo>,
    /// Multi-window, multi-burn-rate alert rules evaluated for every SLO.
    pub alerting: Alerting,
    /// How the blast radius of each fault is judged; `None`: not computed.
    pub blast_radius: Option<BlastRadius>,
    /// Resource guards of one replication.
    pub limits: RunLimits,
    /// Distinct workload priorities (1 when all are equal): the levels priority-aware
    /// shedding tells apart.
    pub priority_levels: u8,
    /// How much of the model the report holds (read by the report only, never by the
    /// engine; set by `resim run --top/--detail` like `limits`).
    pub detail: Detail,
}

/// How much of a large model the report holds: every service, edge and workload, or
/// those that rank in the `top` by load, errors or latency contribution (plus the ones
/// an SLO, a fault or a fault's blast radius names) and a summary of the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detail {
    /// Kept per ranking; also the service count above which report.html draws the
    /// service graph.
    pub top: usize,
    /// Keep everything, whatever the count (`--detail full`).
    pub full: bool,
}

impl Detail {
    /// The default `top`: 25 rows per ranking is what a person reads in one table, and
    /// three rankings of 25 keep a report of a 20,000-service model to a few megabytes.
    pub const DEFAULT_TOP: usize = 25;
}

impl Default for Detail {
    /// Everything (a library caller gets the whole report; the CLI asks for the top).
    fn default() -> Self {
        Self { top: Self::DEFAULT_TOP, full: true }
    }
}

/// Resource guards: a replication that trips one stops and the run fails with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Most events one replication may handle.
    pub max_events: u64,
    /// Most requests in flight at once in one replication (bounds memory: about 100
    /// bytes each, so the default 10 million is about 1 GB).
    pub max_in_flight: usize,
    /// Stop when no request has left a worker for this long while work is inside and
    /// nothing pending could move it (a deadlock); `None`: chosen from the model,
    /// `Some(SimTime::MAX)`: never.
    pub stall_after: Option<SimTime>,
}

impl RunLimits {
    /// Default for `max_in_flight`.
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 10_000_000;
    /// Default for `max_events`: about a minute or two of one core at this engine's
    /// 10^7 events per second.
    pub const DEFAULT_MAX_EVENTS: u64 = 1_000_000_000;
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_events: Self::DEFAULT_MAX_EVENTS,
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            stall_after: None,
        }
    }
}

/// Settings of the blast-radius analysis (counterfactual runs without each fault).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlastRadius {
    /// A workload or service counts as affected when its share of bad requests (failed or
    /// slowed) rose by more than this, significantly.
    pub sli_threshold: f64,
    /// A window counts as recovered when the extra bad share is within this.
    pub recovery_tolerance: f64,
}

impl Default for BlastRadius {
    fn default() -> Self {
        BlastRadius { sli_threshold: 0.001, recovery_tolerance: 0.01 }
    }
}

/// Zone id meaning "no zone".
pub const NO_ZONE: u16 = u16::MAX;

impl Model {
    /// Number of reporting windows in the measured period.
    pub fn windows(&self) -> usize {
        self.duration.0.div_ceil(self.window.0.max(1)) as usize
    }

    /// The same model with fault `f` switched off (its schedule never starts, a load fault's
    /// multiplier is taken out of the rate profile); every random stream stays as it was,
    /// so the two runs differ only by what the fault caused.
    pub fn without_fault(&self, f: usize) -> Model {
        use fault::{Effect, Schedule, Target};
        let mut m = self.clone();
        let Some(fault) = m.faults.get_mut(f) else { return m };
        fault.schedule = Schedule::Window { start: SimTime::MAX, end: SimTime::MAX };
        if let (Effect::Load(factor), Target::Workload(w)) = (&fault.effect, &fault.target)
            && let Arrivals::Poisson(profile) = &mut m.workloads[*w].arrivals
        {
            profile.remove_factor(factor);
        }
        m
    }

    /// Absolute time at which the run stops.
    pub fn end(&self) -> SimTime {
        self.warmup + self.duration
    }

    /// The service called `name`.
    pub fn service_id(&self, name: &str) -> Option<ServiceId> {
        self.services.iter().position(|s| s.name == name)
    }

    /// Latency thresholds whose slow requests must be counted for `target`, in the order
    /// [`SloKind::Latency::index`] refers to.
    pub fn slow_thresholds(&self, target: SloTarget) -> Vec<SimTime> {
        let mut out: Vec<(usize, SimTime)> = self
            .slos
            .iter()
            .filter(|s| s.target == target)
            .filter_map(|s| match s.kind {
                SloKind::Latency { threshold, index } => Some((index, threshold)),
                SloKind::Availability { .. } => None,
            })
            .collect();
        out.sort_by_key(|&(i, _)| i);
        out.dedup_by_key(|&mut (i, _)| i);
        out.into_iter().map(|(_, t)| t).collect()
    }

    /// True when an SLO is set on service `s` (its outcomes are then counted per window).
    pub fn service_has_slo(&self, s: ServiceId) -> bool {
        self.slos.iter().any(|x| x.target == SloTarget::Service(s))
    }
}

/// A service level objective: a share of valid requests that must be good.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// Name.
    pub name: String,
    /// Whose requests count.
    pub target: SloTarget,
    /// What makes a request good.
    pub kind: SloKind,
    /// Share of valid requests that must be good, in (0, 1).
    pub objective: f64,
    /// The SLO period the run is compared with (30 days unless set).
    pub period: SimTime,
}

/// Whose requests an SLO counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SloTarget {
    /// What a workload's users see: every finished request.
    Workload(WorkloadId),
    /// An internal dependency: every request that finished at the service (completed,
    /// rejected, dropped, lost or refused by a crashed instance).
    Service(ServiceId),
}

/// What counts as a good request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SloKind {
    /// Valid: every finished request; good: its outcome is marked here (indexed by
    /// `Outcome as usize`; ok, and optionally degraded).
    Availability {
        /// Good outcomes.
        good: [bool; 6],
    },
    /// Valid: every served (ok or degraded) request; good: answered within `threshold`.
    Latency {
        /// Slowest good latency (inclusive).
        threshold: SimTime,
        /// Index of the threshold among the target's [`Model::slow_thresholds`].
        index: usize,
    },
}

/// The multi-window, multi-burn-rate alert rules, scaled to simulated time.
#[derive(Clone, Debug, PartialEq)]
pub struct Alerting {
    /// Workbook time per simulated time: a window of `long` is simulated as `long / time_scale`.
    pub time_scale: f64,
    /// The rules, in order.
    pub rules: Vec<AlertRule>,
}

impl Default for Alerting {
    fn default() -> Self {
        Alerting { time_scale: 1.0, rules: Vec::new() }
    }
}

/// One rule: fire when both windows burn faster than `burn_rate`.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    /// `page` or `ticket`.
    pub severity: String,
    /// Burn-rate factor both windows must exceed.
    pub burn_rate: f64,
    /// Long window, workbook time (unscaled).
    pub long: SimTime,
    /// Short window, workbook time (unscaled).
    pub short: SimTime,
}

/// A service: `instances` identical stations behind a balancer.
#[derive(Clone, Debug)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Workers per instance (c), all pools together.
    pub servers: u32,
    /// Most requests inside one instance (K); `None` is unbounded or pooled.
    pub capacity: Option<u32>,
    /// Per-request processing time of a worker.
    pub service_time: Dist,
    /// Number of instances.
    pub instances: u32,
    /// Zone of each instance (empty when no zones are declared).
    pub zones: Vec<String>,
    /// Zone id of each instance (index into [`Model::zones`]).
    pub zone_ids: Vec<u16>,
    /// Prefer instances in the caller's zone.
    pub prefer_local_zone: bool,
    /// Instance choice.
    pub balancer: Balancer,
    /// Downstream calls, step by step; calls within a step run in parallel.
    pub steps: Vec<Step>,
    /// Asynchronous hand-offs after completion.
    pub routes: Vec<Route>,
    /// Drop a queued request whose deadline has passed instead of serving it.
    pub deadline_propagation: bool,
    /// Worker pools of each instance (one pool, `default`, when none are declared).
    pub pools: Vec<Pool>,
    /// Pool serving each request class (indexed by class id); `None` = refused.
    pub pool_of_class: Vec<Option<u16>>,
    /// Token bucket in front of each instance (or of the service: `rate_limit_scope`).
    pub rate_limit: Option<TokenBucketConfig>,
    /// One token bucket per instance, or one for the service.
    pub rate_limit_scope: Scope,
    /// Load shedding at each station.
    pub shed: Option<ShedConfig>,
    /// Each instance's line, or the fleet's (queue length and queue time only).
    pub shed_scope: Scope,
    /// Adaptive concurrency limit per instance (or of the service: `concurrency_scope`).
    pub concurrency: Option<ConcurrencyConfig>,
    /// One adaptive limit per instance, or one on the service's requests in flight.
    pub concurrency_scope: Scope,
    /// What a refusal by `rate_limit` or `concurrency` tells the caller about retrying
    /// (gRFC A6 pushback); `None`: nothing, the caller's backoff alone decides.
    pub pushback: Option<crate::policy::retry::Pushback>,
    /// Degradation levels and how often they are evaluated.
    pub degradation: Option<(DegradationConfig, SimTime)>,
    /// Active health checks.
    pub health_check: Option<crate::policy::health_check::HealthCheck>,
    /// Outlier ejection.
    pub outlier: Option<crate::policy::outlier::OutlierEjection>,
    /// Failover.
    pub failover: Option<crate::policy::failover::Failover>,
    /// The service's cache, if it has one (boxed: most services have none).
    pub cache: Option<Box<sim::CacheConfig>>,
    /// A message queue (`kind: queue`): sends are stored and its workers are consumers.
    pub message_queue: Option<mqueue::MessageQueue>,
    /// Order of its waiting lines, and whether shedding drops the least important first.
    pub priority: queue_discipline::ServicePriority,
    /// Horizontal autoscaling: `instances` is then its `max`, of which only the
    /// autoscaler's current count is provisioned.
    pub autoscale: Option<Box<crate::policy::autoscale::Autoscale>>,
}

/// A partition of an instance's workers.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Name.
    pub name: String,
    /// Workers (c).
    pub servers: u32,
    /// Capacity (K); `None` is unbounded.
    pub capacity: Option<u32>,
    /// Borrow idle workers of sibling pools when all of its own are busy.
    pub borrow: bool,
}

/// Which adaptive concurrency limit.
#[derive(Clone, Copy, Debug)]
pub enum ConcurrencyConfig {
    /// AIMD.
    Aimd(AimdConfig),
    /// Gradient2.
    Gradient(Gradient2Config),
    /// Vegas.
    Vegas(VegasConfig),
}

/// Load-balancing strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balancer {
    /// Each instance in turn.
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// Fewest requests inside; lowest index on ties.
    LeastOutstanding,
    /// Best of two distinct random instances.
    PowerOfTwo,
}

/// A step of downstream work: one call, or several made at once.
#[derive(Clone, Debug)]
pub struct Step {
    /// The calls of this step (more than one = a parallel group).
    pub calls: Vec<Call>,
}

/// One downstream call.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// The edge it travels on.
    pub edge: EdgeId,
    /// The callee.
    pub to: ServiceId,
    /// Failure degrades instead of failing the caller's request.
    pub optional: bool,
    /// Chance the call is made.
    pub probability: f64,
    /// Client-side policies of this call site.
    pub policy: CallPolicy,
}

/// Policies of one call site, applied per call (retry, timeout, fallback, hedging).
#[derive(Clone, Copy, Debug, Default)]
pub struct CallPolicy {
    /// Per-attempt timeout.
    pub timeout: Option<SimTime>,
    /// Bound on the whole call, all attempts and backoffs included.
    pub overall_timeout: Option<SimTime>,
    /// Most of the caller's remaining deadline an attempt may use (default 0.8).
    pub deadline_fraction: f64,
    /// Retries.
    pub retry: Option<RetryConfig>,
    /// Served instead of a failure.
    pub fallback: Option<Fallback>,
    /// Backup attempts.
    pub hedge: Option<HedgeConfig>,
    /// Value kept when this optional call fails without a fallback.
    pub degraded_value: f64,
}

/// A fallback answer: outcome `degraded`, worth `value`, ready after `latency`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fallback {
    /// Value relative to a full answer.
    pub value: f64,
    /// Time to produce it.
    pub latency: SimTime,
}

/// The stateful policies of every call on an edge; each keeps its state per caller
/// instance or once for the caller's fleet, as its [`EdgeScopes`] say.
#[derive(Clone, Copy, Debug, Default)]
pub struct EdgePolicy {
    /// Circuit breaker.
    pub breaker: Option<BreakerConfig>,
    /// The state the breaker starts in (resilience4j `initialState`; default closed).
    pub breaker_initial_state: BreakerState,
    /// What the breaker records for each outcome: failure, success, or nothing.
    pub breaker_outcomes: Classifier,
    /// Client-side rate limiter.
    pub rate_limit: Option<LimiterConfig>,
    /// Semaphore bulkhead.
    pub bulkhead: Option<BulkheadConfig>,
    /// When a request abandoned by its caller gives its bulkhead permit back.
    pub bulkhead_release: BulkheadRelease,
    /// Client-side adaptive concurrency limit.
    pub concurrency: Option<ConcurrencyConfig>,
    /// Retry budget.
    pub budget: Option<BudgetConfig>,
    /// Envoy's circuit-breaker thresholds.
    pub thresholds: Option<crate::policy::envoy_limits::Thresholds>,
    /// Keep a latency window for percentile hedging.
    pub track_latency: bool,
    /// That window is tower's two histograms swapped every this long
    /// ([`crate::policy::retry::HedgeDelay::Tower`]), not the last samples.
    pub hedge_rotation: Option<SimTime>,
    /// Hedges allowed per request over a 10 s window (Finagle's `maxExtraLoad`).
    pub max_extra_load: Option<f64>,
    /// The AWS SDKs' adaptive mode: a CUBIC client-side rate limiter.
    pub adaptive: Option<AdaptiveConfig>,
    /// Where each policy keeps its state.
    pub scope: EdgeScopes,
}

impl EdgePolicy {
    /// True when the edge keeps no policy state at all: its calls may skip the guards
    /// (retries still draw their jitter from the guard's stream).
    pub fn is_plain(&self) -> bool {
        self.breaker.is_none()
            && self.rate_limit.is_none()
            && self.bulkhead.is_none()
            && self.budget.is_none()
            && self.thresholds.is_none()
            && self.concurrency.is_none()
            && self.adaptive.is_none()
            && self.max_extra_load.is_none()
            && !self.track_latency
    }
}

/// When a bulkhead permit of a request its caller abandoned (timed out, a losing hedge)
/// comes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BulkheadRelease {
    /// When the callee's work ends: resilience4j's `SemaphoreBulkhead` releases in the
    /// decorated call's `finally`, which runs when the call returns, even after a
    /// `TimeLimiter` outside it gave up (a semaphore around a call that keeps running).
    #[default]
    OnAnswer,
    /// When the caller gives up: Envoy resets the upstream stream on a timeout, so its
    /// `max_requests` counts only active requests.
    OnTimeout,
}

/// The [`Scope`] of each stateful policy of an edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgeScopes {
    /// The circuit breaker's.
    pub breaker: Scope,
    /// The rate limiter's.
    pub rate_limit: Scope,
    /// The bulkhead's.
    pub bulkhead: Scope,
    /// The retry budget's.
    pub budget: Scope,
    /// The percentile hedging latency window's.
    pub hedge: Scope,
    /// The client-side concurrency limit's.
    pub concurrency: Scope,
}

/// A probabilistic hand-off.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// Next service.
    pub to: ServiceId,
    /// Chance of this route.
    pub probability: f64,
    /// Chance of this route or one listed before it (summed in order, so the engine
    /// compares its draw without adding).
    pub cumulative: f64,
}

/// A caller -> callee pair.
#[derive(Clone, Debug)]
pub struct Edge {
    /// Caller.
    pub from: ServiceId,
    /// Callee.
    pub to: ServiceId,
    /// `"caller->callee"`.
    pub name: String,
    /// Shared policies.
    pub policy: EdgePolicy,
}

/// A source of requests.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Name.
    pub name: String,
    /// Entry service.
    pub target: ServiceId,
    /// Arrival process.
    pub arrivals: Arrivals,
    /// The user gives up after this long (outcome `timeout`); calls inherit the budget.
    pub deadline: Option<SimTime>,
    /// Request class id (index into [`Model::classes`]).
    pub class: u16,
    /// Zone of the users ([`NO_ZONE`] when none).
    pub zone: u16,
    /// Importance of its requests and of every request they cause downstream.
    pub priority: queue_discipline::RequestPriority,
}

/// How a workload's requests arrive.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// Open Poisson arrivals with a (possibly time-varying) rate.
    Poisson(RateProfile),
    /// A closed population.
    Closed {
        /// Number of users.
        users: u32,
        /// Think time between an answer and the next request.
        think: Dist,
    },
}
