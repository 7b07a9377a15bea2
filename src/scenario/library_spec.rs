//! Scenario keys that exist only for one library's preset: failsafe's failure policies
//! and backoffs (failsafe 1.3.0) on a `breaker` with `preset: failsafe`. Mirrors the
//! file; [`super::validate_library`] resolves them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::units::Duration;

/// failsafe's `success_rate_over_time_window(required_success_rate,
/// min_request_threshold, window, backoff)`; omitted keys take `Config::new()`'s values.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessRateSpec {
    /// Opens when the moving success rate falls below this, in [0, 1] (default 0.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_success_rate: Option<f64>,
    /// Requests needed in the last `window` before it may open (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_request_threshold: Option<u32>,
    /// Mean lifetime of the moving average, and the least time before it may open:
    /// whole seconds, at least 1 (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// How long each opening lasts (default equal_jittered 10s..300s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<FailsafeBackoffSpec>,
}

/// failsafe's `consecutive_failures(num_failures, backoff)`; omitted keys take
/// `Config::new()`'s values.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsecutiveFailuresSpec {
    /// Consecutive failures that open it (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<u32>,
    /// How long each opening lasts (default equal_jittered 10s..300s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<FailsafeBackoffSpec>,
}

/// failsafe's `backoff` module: how long the k-th opening in a row lasts. Except
/// `constant`, durations are whole seconds (failsafe reads them with `as_secs`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum FailsafeBackoffSpec {
    /// `backoff::constant(delay)`.
    Constant {
        /// Every opening's length.
        delay: Duration,
    },
    /// `backoff::exponential(start, max)`: min(max, start × 2^k).
    Exponential {
        /// First opening, at least 1s.
        start: Duration,
        /// Longest opening.
        max: Duration,
    },
    /// `backoff::equal_jittered(start, max)`: half of min(max, start × 2^k), plus a
    /// uniform whole number of seconds up to that half.
    EqualJittered {
        /// First rung, at least 1s.
        start: Duration,
        /// Highest rung.
        max: Duration,
    },
    /// `backoff::full_jittered(start, max)`: a uniform whole number of seconds up to
    /// min(max, start × 2^k).
    FullJittered {
        /// First rung, at least 1s.
        start: Duration,
        /// Highest rung.
        max: Duration,
    },
}
