//! Scenario keys of the resilience policies: client side on a call, server side on a
//! service. Mirrors the file; [`super::validate`] resolves presets and defaults into
//! the policy configs of [`crate::policy`].

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, IntoDeserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::policy::Scope;

use super::library_spec::{ConsecutiveFailuresSpec, SuccessRateSpec};
pub use super::shed_spec::ShedSpec;
use super::units::{Duration, Rate};

/// A system whose documented defaults a policy can start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Envoy proxy.
    Envoy,
    /// resilience4j (Java).
    Resilience4j,
    /// Twitter Finagle.
    Finagle,
    /// gRPC retry policy.
    Grpc,
    /// AWS SDKs, standard retry mode.
    AwsSdk,
    /// Netflix Hystrix (a circuit breaker only).
    Hystrix,
    /// Polly v8 (.NET): circuit breaker and retry.
    Polly,
    /// tower 0.5.3 (Rust): retry with its `TpsBudget`, and hedge.
    Tower,
    /// failsafe 1.3.0 (Rust): a circuit breaker only.
    Failsafe,
}

/// When a bulkhead permit comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseSpec {
    /// When the callee's work ends.
    OnAnswer,
    /// When the caller gives up.
    OnTimeout,
}

/// Where a stateful policy keeps its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeSpec {
    /// One per instance: a library in each process, a sidecar beside it.
    Instance,
    /// One shared by every instance: a mesh-wide or gateway policy.
    Service,
}

impl ScopeSpec {
    /// The scope `spec` names; instance when omitted.
    pub fn of(spec: Option<ScopeSpec>) -> Scope {
        match spec {
            None | Some(ScopeSpec::Instance) => Scope::Instance,
            Some(ScopeSpec::Service) => Scope::Service,
        }
    }
}

/// An outcome kind, for retry and breaker rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The callee failed.
    Error,
    /// The attempt timed out.
    Timeout,
    /// Refused: capacity, bulkhead, rate limit or shedding.
    Rejected,
    /// Refused by an open breaker.
    ShortCircuited,
}

/// Retries of a call (the outermost policy: each retry goes through the breaker again).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Start from this system's defaults; other keys override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// Total attempts, the first included (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Pause before each retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffSpec>,
    /// Randomisation of the pause (default full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<JitterSpec>,
    /// Outcomes worth retrying (default: error, timeout, rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<Vec<OutcomeKind>>,
    /// Caps retries to a share of traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetSpec>,
    /// gRPC retry throttling (gRFC A6 `retryThrottling`): no retries or hedges while the
    /// failure/success balance is below half. Instead of `budget` or `quota`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling: Option<ThrottlingSpec>,
    /// The AWS SDKs' retry quota (the `aws_sdk` preset has it). Instead of `budget` or
    /// `throttling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaSpec>,
    /// The AWS SDKs' adaptive retry mode: a client-side rate limiter whose rate follows
    /// CUBIC, cut on every `rejected` answer. `{}` takes botocore's constants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<AdaptiveSpec>,
    /// Envoy's `retry_host_predicate: previous_hosts`: when the balancer picks an instance
    /// an earlier attempt (or hedge) of this call went to, it picks again (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hosts: Option<bool>,
    /// Envoy's `host_selection_retry_max_attempts`: how many times the balancer picks
    /// again before it keeps what it got (default 1; needs `previous_hosts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_selection_retry_max_attempts: Option<u32>,
}

/// gRPC `retryThrottling`: a token count starting full; each retryable failure takes 1,
/// each success gives back `token_ratio`; retries and hedges stop while the count is at
/// or below `max_tokens / 2`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThrottlingSpec {
    /// Tokens at start and at most: in (0, 1000] (A6's example: 10).
    pub max_tokens: f64,
    /// Tokens per success, > 0; decimals beyond the third are ignored (A6's example: 0.1).
    pub token_ratio: f64,
}

/// The AWS retry quota; omitted keys take the SDKs' standard-mode values.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    /// Capacity at start and at most (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Cost of a retry after an error (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_cost: Option<u32>,
    /// Cost of a retry after a timeout (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_cost: Option<u32>,
    /// Cost of a retry after a rejection (throttling; default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling_cost: Option<u32>,
    /// Given back by a call that succeeded at its first attempt (default 1); a call
    /// that succeeded after retries gives back its last retry's cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_retry_increment: Option<u32>,
}

/// The AWS adaptive mode's constants (botocore's defaults).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveSpec {
    /// Rate kept on a throttle, as a fraction of the rate then (default 0.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// CUBIC's scale constant (default 0.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_constant: Option<f64>,
    /// Weight of the newest half-second in the measured rate (default 0.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<f64>,
    /// Slowest sending rate in requests per second (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rate: Option<f64>,
}

/// Backoff between attempts.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum BackoffSpec {
    /// Retry at once.
    None,
    /// The same pause each time.
    Fixed {
        /// Pause.
        delay: Duration,
    },
    /// base + step × (retry − 1).
    Linear {
        /// First pause.
        base: Duration,
        /// Added per retry.
        step: Duration,
    },
    /// min(cap, base × multiplier^(retry − 1)).
    Exponential {
        /// First pause.
        base: Duration,
        /// Growth factor (default 2).
        #[serde(default = "two")]
        multiplier: f64,
        /// Longest pause.
        cap: Duration,
    },
}

fn two() -> f64 {
    2.0
}

/// Jitter (AWS's definitions), or the seeds' proportional ±fraction.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum JitterSpec {
    /// No randomisation.
    None,
    /// Uniform in [0, d].
    Full,
    /// d/2 + uniform in [0, d/2].
    Equal,
    /// min(cap, uniform in [base, 3 × previous]).
    Decorrelated,
    /// d × uniform in [1 − f, 1 + f].
    Proportional {
        /// f, e.g. 0.2 for ±20%.
        fraction: f64,
    },
    /// tower's `ExponentialBackoff`: d + uniform in [0, ratio × d], capped at the ladder's cap.
    Additive {
        /// tower's `jitter`, in [0, 100] (its default 0.99).
        ratio: f64,
    },
}

/// A retry budget.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Finagle style: retries at most this share of recent requests...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// ...plus this many per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_per_s: Option<f64>,
    /// Window "recent" refers to (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Envoy style: retries in flight at most this share of active requests...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_of_active: Option<f64>,
    /// ...but always at least this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_concurrency: Option<u32>,
    /// Where its state lives: `instance` (default: one per caller instance, as a library in each process or a sidecar beside it) or `service` (one
    /// shared by every instance of the caller, as a mesh-wide or gateway policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSpec>,
}

/// A circuit breaker on the edge. Give one kind, a preset, or a preset and a kind whose
/// keys override it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Start from this system's defaults (resilience4j: count window 100, 50%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// Trip after N consecutive failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive: Option<ConsecutiveSpec>,
    /// Failure/slow-call rate over the last N calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_window: Option<WindowSpec>,
    /// Failure/slow-call rate over the last N seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window: Option<WindowSpec>,
    /// Outcomes recorded as failures; other failed outcomes are ignored (default: error,
    /// timeout, rejected). Not with `record_exceptions` / `ignore_exceptions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_on: Option<Vec<OutcomeKind>>,
    /// Where its state lives: `instance` (default: one per caller instance, as a library in each process or a sidecar beside it) or `service` (one
    /// shared by every instance of the caller, as a mesh-wide or gateway policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSpec>,
    /// resilience4j `recordExceptions`: only these outcomes are failures, any other failed
    /// outcome not ignored counts as a success (default: every failed outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_exceptions: Option<Vec<OutcomeKind>>,
    /// resilience4j `ignoreExceptions`: these outcomes are not recorded and give their
    /// half-open permit back; wins over `record_exceptions` (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_exceptions: Option<Vec<OutcomeKind>>,
    /// The state the breaker starts in, as resilience4j's `initialState` (default closed):
    /// `disabled`, `forced_open` and `metrics_only` are kept for the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_state: Option<BreakerStateSpec>,
    /// `preset: failsafe` only: failsafe's success-rate failure policy. With
    /// `consecutive_failures` too, either opens it (failsafe's `or_else`); alone, it is
    /// the only one; neither: `Config::new()`'s pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<SuccessRateSpec>,
    /// `preset: failsafe` only: failsafe's consecutive-failures policy (see `success_rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<ConsecutiveFailuresSpec>,
}

/// The state a breaker starts in (resilience4j's `CircuitBreaker.State`); the last three
/// are never left during a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerStateSpec {
    /// As usual: calls pass, outcomes are recorded and may open it.
    Closed,
    /// Switched off: every call passes, nothing is recorded (`transitionToDisabledState`).
    Disabled,
    /// Every call is refused as short-circuited (`transitionToForcedOpenState`).
    ForcedOpen,
    /// Watching: every call passes, outcomes are recorded and reported, it never opens
    /// (`transitionToMetricsOnlyState`).
    MetricsOnly,
}

/// Consecutive-failure breaker settings (defaults 5 / 2 / 60s).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsecutiveSpec {
    /// Consecutive failures that open the breaker (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<u32>,
    /// Successes in half-open that close it (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successes: Option<u32>,
    /// Time open before trial calls (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_for: Option<Duration>,
    /// Trial calls admitted in half-open (default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_open_calls: Option<u32>,
    /// Longest stay in half-open before reopening; 0 (default) = until the trials decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_in_half_open: Option<Duration>,
    /// Where that wait leads (default open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_max_wait: Option<AfterMaxWait>,
}

/// Rate-based breaker settings (resilience4j names; defaults are resilience4j's).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Calls (count window) or seconds (time window) in the sliding window (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Failure rate in percent that opens the breaker (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_rate: Option<f64>,
    /// Slow-call rate in percent that opens the breaker (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_call_rate: Option<f64>,
    /// A call at least this long is slow (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_call_duration: Option<Duration>,
    /// Calls needed in the window before rates count (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_calls: Option<u32>,
    /// Trial calls in half-open (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_open_calls: Option<u32>,
    /// Time open before half-open (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_for: Option<Duration>,
    /// Move to half-open by timer rather than on the next call (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_transition: Option<bool>,
    /// Longest stay in half-open before reopening; 0 = until the trial calls finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_in_half_open: Option<Duration>,
    /// Where that wait leads (default open; resilience4j's `transitionToStateAfterWaitDuration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_max_wait: Option<AfterMaxWait>,
}

/// The state a half-open breaker moves to when `max_wait_in_half_open` runs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AfterMaxWait {
    /// Back to open, for another wait (resilience4j's default).
    Open,
    /// Closed: calls flow again, the trials left undecided.
    Closed,
}

/// A semaphore bulkhead on the edge.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkheadSpec {
    /// Most calls in flight on the edge.
    pub max_concurrent: u32,
    /// How long a call may wait for a permit (default 0: rejected at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait: Option<Duration>,
    /// When a request its caller gave up on (timed out, a losing hedge) gives its permit
    /// back: `on_answer` (default: when the callee's work ends, as resilience4j's
    /// semaphore around a call that keeps running) or `on_timeout` (when the caller gives
    /// up, as Envoy's `max_requests`, which resets the upstream request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseSpec>,
    /// Where its state lives: `instance` (default: one per caller instance, as a library in each process or a sidecar beside it) or `service` (one
    /// shared by every instance of the caller, as a mesh-wide or gateway policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSpec>,
}

/// Envoy's circuit-breaker thresholds on the edge (a cluster's
/// `circuit_breakers.thresholds`): counters with a maximum; a request past one fails at
/// once instead of waiting. Omitted keys take Envoy's defaults.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreakersSpec {
    /// Most requests waiting to be sent (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending_requests: Option<u32>,
    /// Most requests in flight (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u32>,
    /// Most retries outstanding, from when each is scheduled until its attempt ends
    /// (default 3; a `retry.budget` of the Envoy kind replaces it, as in Envoy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
}

/// A rate limit: a token bucket (`rate` per second, bursts up to `burst`), or, on a call
/// only, resilience4j's `RateLimiter`, whose callers wait for a permission (give any of
/// `limit_for_period`, `limit_refresh_period`, `timeout_duration`), or tower's
/// `RateLimit` under `load_shed` (`preset: tower`, `num` per `per`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// `tower`: tower 0.5.3's `RateLimit` under `load_shed` (calls while limited are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// tower: calls admitted per window (`Rate::new(num, per)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num: Option<u64>,
    /// tower: the window, from the first call after the previous one ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<Duration>,
    /// Token bucket: sustained rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Token bucket: bucket size (default: one second's worth, at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Where its state lives: `instance` (default: one per instance: of the caller on a call, of the service on a service) or `service` (one
    /// shared by the fleet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSpec>,
    /// resilience4j: permissions per refresh period (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_for_period: Option<u32>,
    /// resilience4j: the period after which the permissions are topped up (default 500ns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_refresh_period: Option<Duration>,
    /// A service's token bucket keeps tokens for the more important requests (see `priority_spec`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_priority: bool,
    /// resilience4j: longest a call waits for a permission before it is rejected; 0 rejects
    /// at once (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_duration: Option<Duration>,
}

impl RateLimitSpec {
    /// True when the keys are resilience4j's (a limiter whose callers wait).
    pub fn waits(&self) -> bool {
        self.limit_for_period.is_some() || self.limit_refresh_period.is_some() || self.timeout_duration.is_some()
    }
}

/// What to serve when a call fails or its breaker is open.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum FallbackSpec {
    /// A cached answer.
    Cache(FallbackValue),
    /// A default answer.
    Default(FallbackValue),
}

/// The worth and cost of a fallback answer.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FallbackValue {
    /// Value of the degraded answer relative to a full one, in [0, 1] (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Time to produce it (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Duration>,
}

/// Hedged requests: a backup attempt if the first has not answered in time.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HedgeSpec {
    /// `tower`: tower's `hedge` middleware (the previous `period`'s `percentile`, no hedge
    /// before `min_data_points`, one backup, the first answer wins, failures included).
    /// tower has no defaults for these three keys: give them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// tower: latencies the previous period must hold before any hedge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_data_points: Option<u64>,
    /// tower: how long each latency histogram is written before it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Duration>,
    /// Fixed delay before the backup...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// ...or the edge's recent latency at this quantile (e.g. 0.95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<f64>,
    /// Backups per attempt (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Cancel the losers when one request answers, as gRPC, Envoy and Finagle do: the
    /// callee drops one still in line and frees the worker of one in service, whose calls
    /// are cancelled in turn (default false: their work is wasted).
    #[serde(default)]
    pub cancel: bool,
    /// Where its state lives: `instance` (default: one per caller instance) of the latency window a percentile delay reads) or `service` (one
    /// shared by every instance of the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSpec>,
    /// Hedges at most this share of requests over 10 s, in [0, 1) (Finagle's
    /// BackupRequestFilter `maxExtraLoad`). Alone, it also sets the delay: the
    /// `1 − max_extra_load` quantile, as Finagle does. Omitted: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_extra_load: Option<f64>,
    /// gRPC's `hedgingPolicy.maxAttempts`: requests per attempt, the first included
    /// (instead of `max`, which counts the backups only: `max_attempts` = `max` + 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// gRPC's `nonFatalStatusCodes`: a request failing with one of these outcomes sends
    /// the next hedge at once; any other failure ends the attempt at once. Omitted: a
    /// failure waits for the other requests still out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_fatal_status_codes: Option<Vec<OutcomeKind>>,
    /// Envoy's `hedge_on_per_try_timeout`: when the call's `timeout` fires, send a hedge
    /// and keep waiting for the timed-out request too (first answer wins), until the
    /// backups run out (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge_on_per_try_timeout: Option<bool>,
}

/// A partition of a service's workers reserved for some request classes.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Workers in this pool, per instance.
    pub servers: u32,
    /// Most requests inside this pool per instance (K, >= servers); omitted: unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Request classes served here; omitted: every class no other pool names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// When all this pool's workers are busy, use an idle worker of another pool of the
    /// same instance (whose line is empty) instead of waiting.
    #[serde(default)]
    pub borrow: bool,
}

/// Adaptive concurrency limit per instance, as in Netflix's concurrency-limits.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ConcurrencyLimitSpec {
    /// Additive increase, multiplicative decrease on drops and timeouts.
    Aimd(LimitSpec),
    /// Gradient of long-term vs short-term latency (Gradient2).
    Gradient(LimitSpec),
    /// Queue estimate from the lowest latency seen (TCP Vegas; the library's default).
    Vegas(LimitSpec),
}

impl ConcurrencyLimitSpec {
    /// The parameters, whichever the algorithm.
    pub fn limit_spec(&self) -> &LimitSpec {
        match self {
            ConcurrencyLimitSpec::Aimd(l) | ConcurrencyLimitSpec::Gradient(l) | ConcurrencyLimitSpec::Vegas(l) => l,
        }
    }
}

/// Parameters of an adaptive limit; omitted keys take the library's defaults.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// A service's limit keeps a share of its slots for the more important requests.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_priority: bool,
    /// Limit at start (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<u32>,
    /// Lowest limit (default 20; Vegas has none: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// Highest limit (default 200; Vegas 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// AIMD: factor applied on a drop (default 0.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_ratio: Option<f64>,
    /// AIMD: a request slower than this counts as a drop (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Gradient: weight of each new estimate (default 0.2); Vegas: likewise (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<f64>,
    /// Gradient: tolerated ratio of short to long latency (default 1.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_tolerance: Option<f64>,
    /// Where the limit lives: `instance` (default: each instance limits its own
    /// requests) or `service` (one limit on the requests in flight across the fleet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSpec>,
    /// Vegas: a fixed queue size below which the limit creeps up (default 3·log10(limit)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<u32>,
    /// Vegas: a fixed queue size above which the limit falls (default 6·log10(limit)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<u32>,
    /// Vegas: samples between no-load RTT probes per unit of limit (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_multiplier: Option<u32>,
}

/// Degradation levels switched by health signals.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DegradationSpec {
    /// How often signals are evaluated (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Calm time before stepping back up a level (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_dwell: Option<Duration>,
    /// Levels from full service down (default: full 100%, non_core_off 80%, core_only 40%,
    /// emergency 10%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<LevelSpecSpec>>,
}

/// One degradation level.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelSpecSpec {
    /// Name in reports.
    pub name: String,
    /// Share of full value a response carries at this level.
    pub value: f64,
    /// Skip optional calls at this level (default true below the first level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_optional: Option<bool>,
    /// Enter this level when any signal reaches its threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enter: Option<ThresholdSpec>,
    /// Leave it when every signal is below these (hysteresis: at most `enter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ThresholdSpec>,
}

/// Signal thresholds.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// Share of failed requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// 99th-percentile time in the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Duration>,
    /// Share of busy workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
}

/// Server pushback (gRFC A6 `grpc-retry-pushback-ms`): what the service's `rate_limit`
/// and `concurrency_limit` tell a caller whose request they refuse.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushbackSpec {
    /// The caller's next retry waits at least this long, or `never` retries.
    pub retry_after: RetryAfterSpec,
}

/// A pushback delay, or `never` (A6: a negative pushback, "do not retry").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfterSpec {
    /// Retry no sooner than this.
    After(Duration),
    /// Do not retry.
    Never,
}

impl<'de> Deserialize<'de> for RetryAfterSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RetryAfterSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration like 500ms or 1s, or `never` (do not retry)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RetryAfterSpec, E> {
                if v.trim() == "never" {
                    return Ok(RetryAfterSpec::Never);
                }
                Duration::deserialize(v.into_deserializer()).map(RetryAfterSpec::After)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RetryAfterSpec, E> {
                Duration::deserialize(v.into_deserializer()).map(RetryAfterSpec::After)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RetryAfterSpec, E> {
                Duration::deserialize(v.into_deserializer()).map(RetryAfterSpec::After)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RetryAfterSpec, E> {
                Duration::deserialize(v.into_deserializer()).map(RetryAfterSpec::After)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for RetryAfterSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RetryAfterSpec::After(d) => d.serialize(s),
            RetryAfterSpec::Never => s.serialize_str("never"),
        }
    }
}

impl JsonSchema for RetryAfterSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RetryAfter".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let duration = generator.subschema_for::<Duration>();
        json_schema!({
            "description": "a duration like 500ms or 1s, or `never` (do not retry)",
            "anyOf": [duration, { "const": "never" }]
        })
    }
}
