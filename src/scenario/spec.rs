//! The scenario file as written: serde types that mirror the YAML/JSON one to one.
//!
//! These types only describe shape; [`super::validate`] turns them into a checked,
//! id-indexed [`crate::model::Model`]. Every struct denies unknown keys, so a misspelt
//! key is an error with a suggestion rather than a silently ignored setting. The doc
//! comments here are also the descriptions in `resim schema`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::dist_spec::DistSpec;
use super::fault_spec::{FailoverSpec, FaultSpec, HealthCheckSpec, OutlierSpec};
use super::import_spec::ImportSpec;
use super::mqueue_spec::ServiceKind;
use super::policy_spec::{
    BreakerSpec, BulkheadSpec, CircuitBreakersSpec, ConcurrencyLimitSpec, DegradationSpec, FallbackSpec, HedgeSpec,
    PoolSpec, PushbackSpec, RateLimitSpec, RetrySpec, ShedSpec,
};
use super::slo_spec::{AlertingSpec, BlastRadiusSpec, SloSpec};
use super::sweep_spec::{SweepSpec, Warmup};
use super::units::{Duration, Rate};

fn one() -> u32 {
    1
}
fn one_f64() -> f64 {
    1.0
}

/// A whole scenario: services, how they call each other, the load, and how to run it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Short name, used in reports and as the default output folder.
    pub name: String,
    /// Free text shown at the top of the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Measured simulated time, after the warm-up.
    pub duration: Duration,
    /// Simulated time run before measuring starts; its statistics are discarded. `auto`
    /// detects the end of the transient with MSER-5 on a pilot replication.
    #[serde(default)]
    pub warmup: Warmup,
    /// Independent replications; confidence intervals are computed across them.
    #[serde(default = "one")]
    pub replications: u32,
    /// Master seed; every random stream derives from it.
    #[serde(default)]
    pub seed: u64,
    /// Length of a time-series window in the report (default: a hundredth of `duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// Configuration files whose policies and SLOs the scenario takes (Istio, Envoy,
    /// resilience4j, gRPC, OpenSLO, Sloth), relative to the scenario. A key the scenario
    /// sets itself wins over an imported one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<ImportSpec>,
    /// Services by name.
    pub services: BTreeMap<String, ServiceSpec>,
    /// Sources of load.
    #[serde(default)]
    pub workloads: Vec<WorkloadSpec>,
    /// The chaos schedule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Service level objectives on workloads and services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<SloSpec>,
    /// Multi-window, multi-burn-rate alerting on the SLOs, scaled to simulated time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<AlertingSpec>,
    /// The blast-radius analysis: one counterfactual run per fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<BlastRadiusSpec>,
    /// Parameters and goals for `resim sweep` (ignored by `resim run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSpec>,
    /// Guards on the scenario itself, lowered here when a model truly needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsSpec>,
}

/// Guards on what a scenario may ask for.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Shortest periodic timer accepted (default 1ms): fault `mtbf`/`mttr`, health-check,
    /// degradation and outlier-ejection `interval`, failover `heartbeat`, `window`. Each
    /// tick is an event; a nanosecond timer over a day is 10^14 of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_timer: Option<Duration>,
}

/// A service: one or more identical M/M/c/K stations behind a load balancer.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Workers per instance (c).
    #[serde(default = "one")]
    pub servers: u32,
    /// Most requests inside one instance, in service plus waiting (Kendall's K, >= servers).
    /// Omitted: unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// The worker's own processing time per request.
    pub service_time: DistSpec,
    /// Identical instances, each its own station.
    #[serde(default = "one")]
    pub instances: u32,
    /// Zones the instances are spread over, round robin (instance i in zone i mod n).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Send each request to an instance in the caller's zone when one is usable.
    #[serde(default)]
    pub prefer_local_zone: bool,
    /// How a request picks an instance.
    #[serde(default)]
    pub load_balancer: BalancerSpec,
    /// Downstream calls made after the service time, in order; the worker waits for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallSpec>,
    /// Asynchronous hand-offs after the work is done (the worker is released).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    /// Drop queued requests whose deadline has passed (their caller gave up) instead of
    /// serving them.
    #[serde(default)]
    pub deadline_propagation: bool,
    /// Workers partitioned by request class; replaces `servers` and `capacity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pools: Option<BTreeMap<String, PoolSpec>>,
    /// Token bucket in front of the service (all instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    /// Load shedding at each instance's queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shed: Option<ShedSpec>,
    /// Adaptive concurrency limit per instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<ConcurrencyLimitSpec>,
    /// What `rate_limit` and `concurrency_limit` answer when they refuse: "retry after"
    /// (gRPC server pushback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushback: Option<PushbackSpec>,
    /// Degradation levels switched by health signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degradation: Option<DegradationSpec>,
    /// Active health checks: failing instances leave the balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSpec>,
    /// Passive outlier ejection of instances that keep failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_ejection: Option<OutlierSpec>,
    /// Failover between instances, detected by heartbeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverSpec>,
    /// A cache answering hits itself; the calls are made on a miss only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<super::cache_spec::CacheSpec>,
    /// `service` (default) or `queue`: a message queue (Amazon SQS style) whose sends are
    /// answered once stored and whose `consumers` take the messages.
    #[serde(default, skip_serializing_if = "ServiceKind::is_service")]
    pub kind: ServiceKind,
    /// Queue: messages handled at once (replaces `servers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumers: Option<u32>,
    /// Queue: how long a received message stays hidden; not deleted by then, it is
    /// delivered again (default 30s, SQS's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout: Option<Duration>,
    /// Queue: receives after which a message goes to `dead_letter` (SQS maxReceiveCount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_receives: Option<u32>,
    /// Queue: the queue (a `kind: queue` service) taking messages past `max_receives`;
    /// without one they are dropped and counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<String>,
    /// Queue: most visible messages held; a send to a full queue is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backlog: Option<u32>,
    /// Order of the waiting line: `fifo` (default), `priority`, `priority_preemptive`, `lifo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<super::priority_spec::QueueSpec>,
    /// Horizontal autoscaling of the instances (Kubernetes' HPA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<super::autoscale_spec::AutoscaleSpec>,
}

/// Load-balancing strategy across a service's instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BalancerSpec {
    /// Each instance in turn.
    #[default]
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// The instance with the fewest requests inside (lowest index on ties).
    LeastOutstanding,
    /// Two distinct instances at random; the less loaded one wins.
    PowerOfTwo,
}

/// One step of a service's downstream work: a call (`to`), or a parallel group
/// (`parallel`) whose calls run at once and are all awaited.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// The service called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Calls made concurrently; the step ends when all have answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<Vec<CallSpec>>,
    /// A failed optional call degrades the request instead of failing it.
    #[serde(default)]
    pub optional: bool,
    /// Chance that the call is made at all.
    #[serde(default = "one_f64")]
    pub probability: f64,
    /// Per-attempt timeout (the wait for a bulkhead permit counts against it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Bound on the whole call: every attempt, backoff and hedge (Envoy's route
    /// `timeout` beside `per_try_timeout`, a gRPC call deadline). When it passes the
    /// call ends `timeout`; a backoff that would outlast it ends there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_timeout: Option<Duration>,
    /// Most of the caller's remaining deadline one attempt may use (default 0.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_fraction: Option<f64>,
    /// Retries (outermost: each retry passes the breaker again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// Circuit breaker on this edge (shared by every call from this caller to this callee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerSpec>,
    /// Client-side rate limiter on this edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    /// Semaphore bulkhead on this edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulkhead: Option<BulkheadSpec>,
    /// Envoy's circuit-breaker thresholds on this edge: pending requests, requests and
    /// retries outstanding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breakers: Option<CircuitBreakersSpec>,
    /// A client-side adaptive concurrency limit on the edge (Netflix concurrency-limits'
    /// client limiter): `aimd`, `gradient` or `vegas`, as on a service; an attempt past
    /// the limit is `rejected` without being sent. Per caller instance unless
    /// `scope: service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<ConcurrencyLimitSpec>,
    /// Answer served when the call fails or is short-circuited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackSpec>,
    /// Backup attempts against a slow callee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge: Option<HedgeSpec>,
    /// Value the request keeps when this optional call fails without a fallback (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_value: Option<f64>,
}

/// An asynchronous hand-off: after finishing here the request continues at `to`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Next service.
    pub to: String,
    /// Chance of taking this route; the remainder leaves the system.
    pub probability: f64,
}

/// A source of requests entering the system at `target`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Name used in reports and SLOs.
    pub name: String,
    /// The service that receives the requests.
    pub target: String,
    /// How requests arrive.
    pub arrivals: ArrivalSpec,
    /// The zone the users are in (for services that prefer the local zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Request class, for worker pools (default `default`); calls inherit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The user stops waiting after this long (outcome `timeout`); calls made for the
    /// request get at most a fraction of what remains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Duration>,
    /// Importance of its requests, higher first (Kubernetes PriorityClass style; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Google's criticality instead of `priority` (default `critical`, priority 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<super::priority_spec::CriticalitySpec>,
}

/// Open (Poisson) or closed (fixed user population) arrivals.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ArrivalSpec {
    /// Open arrivals: a Poisson process with a constant rate or a rate profile.
    Poisson(PoissonSpec),
    /// Closed loop: `users` each send a request, wait for the answer, think, repeat.
    Closed(ClosedSpec),
}

/// A Poisson process. Give `rate`, or a `profile` of rate points over time.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoissonSpec {
    /// Constant arrival rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Rate over time (time 0 = end of warm-up; the warm-up runs at the first point's rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Vec<ProfilePoint>>,
}

/// A point of a rate profile.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePoint {
    /// When this rate applies, measured from the end of the warm-up.
    pub at: Duration,
    /// The rate from `at` on.
    pub rate: Rate,
    /// Reach this rate by a linear ramp from the previous point instead of a step at `at`.
    #[serde(default)]
    pub ramp: bool,
}

/// A closed population of users.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosedSpec {
    /// Number of users (each has at most one request in flight).
    pub users: u32,
    /// Pause between an answer and the user's next request.
    pub think_time: DistSpec,
}
