//! The keys of priority classes: a workload's `priority:` or `criticality:`, and a
//! service's `queue:` discipline.
//!
//! `priority` is an integer, higher is more important, as a Kubernetes `PriorityClass`
//! value (default 0, Kubernetes' priority of a pod without a class). `criticality` names
//! Google's levels ("Handling Overload", Site Reliability Engineering, ch. 21), mapped to
//! integers so that the two mix: `critical_plus` 1000, `critical` 0, `sheddable_plus`
//! -1000, `sheddable` -2000. `critical` is 0 because it is Google's default ("the default
//! value for requests sent from production jobs"), as 0 is Kubernetes': a workload that
//! names neither is `critical` and priority 0 at once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::units::Duration;

/// Google's request criticality (Stubby/gRPC at Google), most important first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriticalitySpec {
    /// Serious user-visible impact if it fails (priority 1000).
    CriticalPlus,
    /// Production traffic, user-visible but less severe (priority 0, the default).
    Critical,
    /// Partial unavailability is expected, e.g. batch (priority -1000).
    SheddablePlus,
    /// Frequent partial unavailability is expected (priority -2000).
    Sheddable,
}

impl CriticalitySpec {
    /// The integer priority this criticality stands for.
    pub fn priority(self) -> i32 {
        match self {
            CriticalitySpec::CriticalPlus => 1000,
            CriticalitySpec::Critical => 0,
            CriticalitySpec::SheddablePlus => -1000,
            CriticalitySpec::Sheddable => -2000,
        }
    }
}

/// A queue discipline by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// First come, first served (the default).
    #[default]
    Fifo,
    /// Highest priority first, FIFO within one; a request in service is never interrupted.
    Priority,
    /// Highest priority first; an arrival takes the worker of a lower-priority request in
    /// service, which resumes later where it stopped (preemptive-resume).
    PriorityPreemptive,
    /// FIFO while the queue is healthy, LIFO once it has not been empty for `interval`
    /// (Facebook's adaptive LIFO).
    Lifo,
}

/// A service's `queue:`: a discipline's name, or `{ discipline, interval }` to tune the
/// adaptive LIFO.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum QueueSpec {
    /// `fifo`, `priority`, `priority_preemptive` or `lifo`.
    Named(QueueKind),
    /// A discipline with its parameters.
    Tuned(TunedQueueSpec),
}

/// A queue discipline with parameters.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TunedQueueSpec {
    /// The discipline.
    pub discipline: QueueKind,
    /// `lifo` only: how long the queue must stay non-empty before it is served newest
    /// first (default 100ms, folly's `codel_interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
}
