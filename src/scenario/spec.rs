//! The scenario file as written: serde types that mirror the YAML/JSON one to one.
//!
//! These types only describe shape; [`super::validate`] turns them into a checked,
//! id-indexed [`crate::model::Model`]. Every struct denies unknown keys, so a misspelt
//! key is an error with a suggestion rather than a silently ignored setting. The doc
//! comments here are also the descriptions in `resim schema`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::fault_spec::{FailoverSpec, FaultSpec, HealthCheckSpec, OutlierSpec};
use super::policy_spec::{
    BreakerSpec, BulkheadSpec, ConcurrencyLimitSpec, DegradationSpec, FallbackSpec, HedgeSpec, PoolSpec, RateLimitSpec,
    RetrySpec, ShedSpec,
};
use super::samples::SamplesFile;
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

/// A distribution of durations.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum DistSpec {
    /// Exponential with the given mean (memoryless; gives M/M/c/K).
    Exponential {
        /// Mean.
        mean: Duration,
    },
    /// Always the same value.
    Constant {
        /// The value.
        value: Duration,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Lower bound.
        min: Duration,
        /// Upper bound.
        max: Duration,
    },
    /// Lognormal, by `mean` and `sd`, or by `median` and `p99`.
    Lognormal(LognormalSpec),
    /// Gamma with a shape (k) and a mean.
    Gamma {
        /// Shape k (> 0); 1 is exponential, larger is less variable.
        shape: f64,
        /// Mean.
        mean: Duration,
    },
    /// Erlang: the sum of `k` exponential phases, with the given overall mean.
    Erlang {
        /// Number of phases (>= 1).
        k: u32,
        /// Mean.
        mean: Duration,
    },
    /// Weibull with a shape and a scale.
    Weibull {
        /// Shape (> 0); below 1 gives a heavy tail.
        shape: f64,
        /// Scale.
        scale: Duration,
    },
    /// Pareto (type I): heavy tail above a minimum `scale`.
    Pareto {
        /// Tail index alpha (> 0; the mean is finite only above 1).
        shape: f64,
        /// Minimum value x_m.
        scale: Duration,
    },
    /// Resample measured values uniformly: inline `samples`, or a `file` of them.
    Empirical(EmpiricalSpec),
    /// A weighted mixture, e.g. 95% fast and 5% slow.
    Mixture(Vec<MixtureSpec>),
}

/// Lognormal parameters: either `mean` + `sd`, or `median` + `p99`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LognormalSpec {
    /// Mean (with `sd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Duration>,
    /// Standard deviation (with `mean`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<Duration>,
    /// Median (with `p99`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<Duration>,
    /// 99th percentile (with `median`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Duration>,
}

/// Measured durations, resampled uniformly. Give `samples`, or a `file` with `unit` and
/// `column` as its contents need.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmpiricalSpec {
    /// Observed durations, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<Duration>>,
    /// A file of observed durations, relative to the scenario file's folder (or absolute):
    /// one value per line, or a CSV with a header row when `column` is given. Blank lines
    /// and lines starting with `#` are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The unit of plain numbers in the file (`12.5` with `unit: ms` is 12.5ms); values
    /// written with a unit (`12.5ms`) keep theirs. Without it, plain numbers are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<TimeUnit>,
    /// Read the file as CSV whose first row names the columns, taking the values from
    /// the column with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The file's values, filled in when the scenario is loaded (not part of the format).
    #[serde(skip)]
    #[schemars(skip)]
    pub loaded: Option<Arc<SamplesFile>>,
}

/// A unit of time for plain numbers in a samples file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
pub enum TimeUnit {
    /// Nanoseconds.
    #[serde(rename = "ns")]
    Ns,
    /// Microseconds.
    #[serde(rename = "us", alias = "µs")]
    Us,
    /// Milliseconds.
    #[serde(rename = "ms")]
    Ms,
    /// Seconds.
    #[serde(rename = "s")]
    S,
    /// Minutes.
    #[serde(rename = "m", alias = "min")]
    M,
    /// Hours.
    #[serde(rename = "h")]
    H,
}

impl TimeUnit {
    /// The suffix a duration is written with, e.g. `ms`.
    pub fn suffix(self) -> &'static str {
        match self {
            TimeUnit::Ns => "ns",
            TimeUnit::Us => "us",
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
            TimeUnit::M => "m",
            TimeUnit::H => "h",
        }
    }
}

/// One component of a mixture.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MixtureSpec {
    /// Relative weight (> 0); weights are normalised.
    pub weight: f64,
    /// The component distribution.
    pub dist: DistSpec,
}
