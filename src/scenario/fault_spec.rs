//! Scenario keys of the chaos schedule: `faults:` and service `zones:`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::dist_spec::DistSpec;
use super::units::Duration;

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Slower service: `add` a duration (or a distribution) and/or `multiply` the service time.
    Latency,
    /// Responses fail with `probability`.
    Error,
    /// Instances go down: the work inside is lost, arrivals are refused; they restart after
    /// the fault, optionally with a `cold_start`.
    Crash,
    /// Calls on an edge `a->b` get no answer (`mode: timeout`) or are refused (`mode: refuse`).
    Partition,
    /// Fewer workers: `servers` left per pool, or a `factor` of them.
    Capacity,
    /// Incomplete responses with `probability`: counted as `error`, or as `degraded` worth `value`.
    Partial,
    /// Every instance in a zone goes down (target `zone:NAME`).
    ZoneOutage,
    /// A workload's rate multiplied by `factor` for the fault's duration.
    Spike,
    /// A workload's rate climbing linearly to `factor` over the fault's duration, then back.
    Ramp,
    /// Empties a service's cache at `at`.
    CacheFlush,
    /// A service's cache cannot be reached (every lookup misses, nothing is stored).
    CacheDown,
}

/// How a partition behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartitionMode {
    /// Packets vanish: the caller waits for its timeout.
    #[default]
    Timeout,
    /// Connections are refused at once (outcome `error`).
    Refuse,
}

/// How an incomplete response counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartialAs {
    /// As a failure.
    #[default]
    Error,
    /// As a degraded answer worth `value`.
    Degraded,
}

/// A fixed extra duration or a distribution of them.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AddSpec {
    /// A fixed extra time, e.g. `300ms`.
    Fixed(Duration),
    /// A distribution, e.g. `{ exponential: { mean: 100ms } }`.
    Dist(DistSpec),
}

/// Distribution of the random onset and repair times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum OnsetSpec {
    /// Exponential times (constant hazard).
    #[default]
    Exponential,
    /// Weibull times with this shape (below 1: infant mortality; above 1: wear-out).
    Weibull {
        /// Shape k.
        shape: f64,
    },
}

/// Slower service for a while after a crashed instance restarts.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColdStartSpec {
    /// Service time multiplier while cold.
    pub factor: f64,
    /// How long the instance stays cold.
    #[serde(rename = "for")]
    pub duration: Duration,
}

/// One fault of the chaos schedule.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Name in reports (default `<kind>-<index>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the fault does.
    pub kind: FaultKind,
    /// A service (`payments`), an instance (`payments#2`, from 0), a zone (`zone:a`),
    /// a call edge (`api->payments`) or, for spike and ramp, a workload.
    pub target: String,
    /// Start, from the end of the warm-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Duration>,
    /// Duration.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// Random onset instead of `at`/`for`: mean time between failures...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf: Option<Duration>,
    /// ...and mean time to repair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr: Option<Duration>,
    /// Distribution of the random times (default exponential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<OnsetSpec>,
    /// Switch the fault off without deleting it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// latency: extra time per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<AddSpec>,
    /// latency: service-time multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiply: Option<f64>,
    /// error, partial: chance per response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// capacity: workers left per pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<u32>,
    /// capacity: share of workers left; spike, ramp: rate multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// partition: `timeout` (default) or `refuse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PartitionMode>,
    /// partial: `error` (default) or `degraded`.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub counts_as: Option<PartialAs>,
    /// partial as degraded: value of the incomplete answer (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// crash, zone_outage: slower service after the restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdStartSpec>,
}

fn yes() -> bool {
    true
}

/// Active health checking of a service's instances; failing instances leave the balancer.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Time between probes of one instance (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// A probe of a dead instance fails after this long (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Consecutive failed probes that take an instance out (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<u32>,
    /// Consecutive good probes that put it back (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<u32>,
}

/// Passive outlier ejection, as Envoy does it: the keys and defaults of Envoy's cluster
/// `outlier_detection` (`envoy.config.cluster.v3.OutlierDetection`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutlierSpec {
    /// Start from Envoy's defaults (the only preset; the same as omitting keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<super::policy_spec::Preset>,
    /// Time between sweeps: returns of ejected instances, success-rate and
    /// failure-percentage detection, decay of the ejection multiplier (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Ejection time, multiplied by the instance's ejection multiplier (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<Duration>,
    /// Longest ejection (default 300s, or `base_ejection_time` if longer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_time: Option<Duration>,
    /// Most instances ejected at once, in percent (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<f64>,
    /// One instance may always be ejected, whatever `max_ejection_percent` says (default
    /// true; Envoy's default is false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_eject_one_host: Option<bool>,
    /// Consecutive 5xx answers that eject an instance (default 5). Timeouts count as 504
    /// and refused connections as 503 unless `split_external_local_origin_errors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_5xx: Option<u32>,
    /// Older name of `consecutive_5xx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_errors: Option<u32>,
    /// Chance, in percent, that a `consecutive_5xx` detection ejects (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_consecutive_5xx: Option<u32>,
    /// Consecutive gateway errors (502, 503, 504: refusals and timeouts) that eject (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_gateway_failure: Option<u32>,
    /// Chance, in percent, that a `consecutive_gateway_failure` detection ejects (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_consecutive_gateway_failure: Option<u32>,
    /// Count refused connections and timeouts (locally originated errors) apart from
    /// the answers (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_external_local_origin_errors: Option<bool>,
    /// With the split: consecutive refusals and timeouts that eject (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_local_origin_failure: Option<u32>,
    /// Chance, in percent, that a `consecutive_local_origin_failure` detection ejects (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_consecutive_local_origin_failure: Option<u32>,
    /// Instances with `success_rate_request_volume` requests in an interval needed for
    /// success-rate detection (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate_minimum_hosts: Option<u32>,
    /// Requests an instance needs in an interval to count for success-rate detection (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate_request_volume: Option<u32>,
    /// An instance whose success rate is below the mean less this many standard deviations,
    /// in thousandths, is ejected (default 1900, that is 1.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate_stdev_factor: Option<u32>,
    /// Chance, in percent, that a success-rate detection ejects (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_success_rate: Option<u32>,
    /// The same for the success rate of locally originated errors, with the split (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_local_origin_success_rate: Option<u32>,
    /// An instance failing at least this percentage of its requests in an interval is
    /// ejected (default 85).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_percentage_threshold: Option<u32>,
    /// Instances with `failure_percentage_request_volume` requests needed for
    /// failure-percentage detection (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_percentage_minimum_hosts: Option<u32>,
    /// Requests an instance needs in an interval to count for failure-percentage detection (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_percentage_request_volume: Option<u32>,
    /// Chance, in percent, that a failure-percentage detection ejects (default 0: detection off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_failure_percentage: Option<u32>,
    /// The same for locally originated errors, with the split (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_failure_percentage_local_origin: Option<u32>,
}

/// Failover between a service's instances, detected by heartbeats.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum FailoverSpec {
    /// One active instance takes all traffic; when it misses heartbeats, the next standby takes over.
    ActivePassive(HeartbeatSpec),
    /// All instances take traffic; a failed one's share moves to the others, and moves back
    /// gradually after it recovers.
    ActiveActive(HeartbeatSpec),
}

/// Heartbeat detection.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatSpec {
    /// Time between heartbeats (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<Duration>,
    /// Missed heartbeats that declare an instance failed (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<u32>,
    /// Active-active: time over which a recovered instance's share ramps back (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_back: Option<Duration>,
}
