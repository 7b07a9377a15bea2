//! The `shed:` key of a service: server-side load shedding on arrival (a bound on the
//! waiting line or on the wait it predicts) or at dequeue (CoDel).
//!
//! With `by_priority: true` the line-based rules drop the least important requests first,
//! as Google's backends do by criticality ("Handling Overload", Site Reliability
//! Engineering, ch. 21: a backend rejects a criticality only once it rejects every lower
//! one). Among the `n` priority levels of the scenario's workloads, rank `k` (0 the
//! lowest) is refused once the line reaches `(k + 1) / n` of the rule's bound: the lowest
//! level at `1/n` of it, the highest only at the whole bound.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::policy_spec::ScopeSpec;
use super::units::Duration;

/// Server-side load shedding.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ShedSpec {
    /// Refuse arrivals when this many already wait.
    QueueLength {
        /// Most waiting requests.
        max: u32,
        /// `instance` (default: each instance's own line) or `service` (the lines of all
        /// instances together, as a gateway in front of the fleet would count them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<ScopeSpec>,
        /// Shed the least important requests first (see the module doc).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_priority: bool,
    },
    /// Refuse arrivals whose expected wait (queue × mean service / servers) exceeds `max_wait`.
    QueueTime {
        /// Longest expected wait accepted.
        max_wait: Duration,
        /// `instance` (default) or `service` (the fleet's line over all its workers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<ScopeSpec>,
        /// Shed the least important requests first (see the module doc).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_priority: bool,
    },
    /// CoDel on queue delay (RFC 8289): drop at dequeue once delay stays above `target`.
    Codel {
        /// Acceptable standing queue delay (default 5ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Duration>,
        /// Window the delay must stay above target (default 100ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval: Option<Duration>,
    },
}

impl ShedSpec {
    /// Whose line the rule reads (CoDel's is always the instance's own: RFC 8289 is a
    /// per-queue algorithm).
    pub fn scope(&self) -> Option<ScopeSpec> {
        match self {
            ShedSpec::QueueLength { scope, .. } | ShedSpec::QueueTime { scope, .. } => *scope,
            ShedSpec::Codel { .. } => None,
        }
    }

    /// Whether the rule sheds the least important requests first.
    pub fn by_priority(&self) -> bool {
        match self {
            ShedSpec::QueueLength { by_priority, .. } | ShedSpec::QueueTime { by_priority, .. } => *by_priority,
            ShedSpec::Codel { .. } => false,
        }
    }
}
