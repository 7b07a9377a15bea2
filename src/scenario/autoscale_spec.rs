//! The `autoscale:` block of a service as written: the Kubernetes HorizontalPodAutoscaler's
//! fields (autoscaling/v2) in resim's units, plus the instance start-up the HPA itself
//! does not own (pod scheduling, image pull, readiness) and an optional cold start.
//! [`super::validate_autoscale`] checks it and fills in Kubernetes' defaults.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::units::Duration;

/// Horizontal autoscaling of a service's instances, as Kubernetes' HPA decides it. Give
/// exactly one of `target_utilization`, `target_in_flight` and `target_queue`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleSpec {
    /// How often the controller decides (default 15s: the controller manager's
    /// `--horizontal-pod-autoscaler-sync-period`). The metric is averaged over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Target busy workers / workers per instance, averaged over the interval (0..1],
    /// as a CPU `averageUtilization` target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_utilization: Option<f64>,
    /// Target requests inside (in service and waiting) per instance, a `Pods` metric's
    /// `averageValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_in_flight: Option<f64>,
    /// Target requests waiting per instance, a `Pods` metric's `averageValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_queue: Option<f64>,
    /// Fewest instances (default 1, `minReplicas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// Most instances (`maxReplicas`). The service's `instances` is the count it starts
    /// with, brought within `min..=max`.
    pub max: u32,
    /// No change while the metric is within this share of the target (default 0.1,
    /// `--horizontal-pod-autoscaler-tolerance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Stabilization windows and rate policies (`spec.behavior`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<BehaviorSpec>,
    /// From the decision to the new instance taking traffic: pod start plus readiness
    /// (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Duration>,
    /// A new instance serves slower while it warms up (JIT, caches, connection pools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdStartSpec>,
    /// How long an instance may be down (crashed, its zone dark) before it is evicted
    /// and replaced by a new one in a zone that is up (default 300s: the
    /// `tolerationSeconds` Kubernetes gives the `node.kubernetes.io/unreachable` and
    /// `not-ready` taints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_timeout: Option<Duration>,
}

/// Scale-up and scale-down behavior (`HorizontalPodAutoscalerBehavior`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSpec {
    /// Default: no window; +100% or +4 instances per 15s, whichever is more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRulesSpec>,
    /// Default: a 300s window; -100% per 15s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRulesSpec>,
}

/// The rules of one direction (`HPAScalingRules`); an omitted key keeps the default.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingRulesSpec {
    /// Recommendations this recent bound the decision (at most 1h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window: Option<Duration>,
    /// Rate policies: how much may change per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<ScalingPolicySpec>>,
    /// Which policy wins: `max` (the largest change, default), `min`, or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicySpec>,
}

/// One rate policy (`HPAScalingPolicy`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicySpec {
    /// `percent` of the size at the start of the period, or `pods` (instances).
    #[serde(rename = "type")]
    pub kind: PolicyKindSpec,
    /// How much change one period allows (above 0).
    pub value: u32,
    /// The period (above 0, at most 30 minutes as Kubernetes allows).
    pub period: Duration,
}

/// How a rate policy counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKindSpec {
    /// A percentage of the instances at the start of the period.
    Percent,
    /// A number of instances.
    Pods,
}

/// Which of several policies wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SelectPolicySpec {
    /// The largest change.
    Max,
    /// The smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// A new instance's warm-up: service times multiplied by `factor` when it becomes
/// ready, the excess falling linearly to nothing over `duration`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColdStartSpec {
    /// Slowdown at the first request (1..=100).
    pub factor: f64,
    /// How long the warm-up lasts.
    pub duration: Duration,
}
