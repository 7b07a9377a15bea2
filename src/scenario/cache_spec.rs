//! Scenario keys of a service's `cache:`: the popularity of the keys, the capacity and
//! eviction policy, expiry, warm start, coalescing and the time of a hit.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::fault_spec::AddSpec;
use super::units::Duration;

/// A cache in front of the service's calls: a hit is answered by the service itself.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// Which keys requests ask for, each request's key drawn independently.
    pub keys: KeysSpec,
    /// Most entries held (with `policy: lru` or `lfu`; `ttl` is bounded by expiry only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// What leaves a full cache: `lru` (default), `lfu`, or `ttl` (expiry only).
    #[serde(default)]
    pub policy: CachePolicySpec,
    /// Entries expire this long after they were written (a hit does not extend them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Start full (the `capacity` most popular keys) instead of empty.
    #[serde(default)]
    pub warm: bool,
    /// Concurrent misses for one key wait for the one fetch in flight (singleflight).
    #[serde(default)]
    pub coalesce: bool,
    /// The worker's time for a hit, instead of the service time: a duration or a
    /// distribution. Default 1ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_time: Option<AddSpec>,
}

/// The popularity of the keys.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum KeysSpec {
    /// Key k (1-based rank) with probability proportional to 1 / k^s.
    Zipf {
        /// Number of keys.
        n: u32,
        /// Exponent s (0 is uniform; web and CDN traces show 0.6 to 1).
        s: f64,
    },
    /// Every key equally likely.
    Uniform {
        /// Number of keys.
        n: u32,
    },
}

/// A cache's eviction policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CachePolicySpec {
    /// Least recently used.
    #[default]
    Lru,
    /// Least frequently used (ties: least recently used).
    Lfu,
    /// No bound on the count: entries leave when their `ttl` runs out.
    Ttl,
}
