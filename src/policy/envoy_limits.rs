//! Envoy's circuit-breaker thresholds: a cluster's `circuit_breakers.thresholds`, counted
//! by its resource manager (`ResourceManagerImpl`).
//!
//! Envoy's "circuit breaker" is not a breaker with states: it is a set of counters, each
//! with a maximum. A request may start while fewer than `max` are open; otherwise it
//! overflows at once (a 503 with `x-envoy-overflow`, counted in
//! `upstream_rq_pending_overflow` or `upstream_rq_retry_overflow`) instead of queueing.
//! `max_pending_requests` caps requests waiting to be sent, `max_requests` requests in
//! flight, `max_retries` retries outstanding: a retry holds its count from the moment it
//! is scheduled until its attempt ends (`RetryStateImpl::resetRetry`). Envoy applies
//! these defaults to every cluster whether or not they are configured (1024, 1024, 3),
//! and a `retry_budget` replaces `max_retries`. `max_connections` is not modelled:
//! resim has no connections.

/// One counted resource (Envoy's `ManagedResourceImpl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceLimit {
    max: u32,
    count: u32,
    overflows: u64,
}

impl ResourceLimit {
    /// A resource of at most `max` open at once.
    pub fn new(max: u32) -> Self {
        Self { max, count: 0, overflows: 0 }
    }

    /// Envoy's `canCreate`: fewer than `max` open.
    pub fn can_create(&self) -> bool {
        self.count < self.max
    }

    /// Opens one if the limit allows it; counts an overflow otherwise.
    pub fn try_acquire(&mut self) -> bool {
        if self.can_create() {
            self.count += 1;
            true
        } else {
            self.overflows += 1;
            false
        }
    }

    /// Closes one opened by [`ResourceLimit::try_acquire`].
    pub fn release(&mut self) {
        debug_assert!(self.count > 0, "released a resource never acquired");
        self.count = self.count.saturating_sub(1);
    }

    /// Open now (Envoy's `count`).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The maximum.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// How many more may open (Envoy's `remaining_*` gauge, never below 0).
    pub fn remaining(&self) -> u32 {
        self.max.saturating_sub(self.count)
    }

    /// True while the limit is reached (Envoy's `*_open` gauge).
    pub fn is_open(&self) -> bool {
        !self.can_create()
    }

    /// Requests refused because the limit was reached.
    pub fn overflows(&self) -> u64 {
        self.overflows
    }

    /// Clears the overflow count (the count in use is kept).
    pub fn reset_overflows(&mut self) {
        self.overflows = 0;
    }
}

/// A cluster's thresholds (`envoy.config.cluster.v3.CircuitBreakers.Thresholds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Requests waiting to be sent (default 1024).
    pub max_pending_requests: u32,
    /// Requests in flight (default 1024).
    pub max_requests: u32,
    /// Retries outstanding (default 3).
    pub max_retries: u32,
}

impl Default for Thresholds {
    /// Envoy's defaults, applied to a cluster without `circuit_breakers`.
    fn default() -> Self {
        Self { max_pending_requests: 1024, max_requests: 1024, max_retries: 3 }
    }
}

/// The three counted resources of one caller's view of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvoyLimits {
    /// `max_pending_requests`.
    pub pending: ResourceLimit,
    /// `max_requests`.
    pub requests: ResourceLimit,
    /// `max_retries`.
    pub retries: ResourceLimit,
}

impl EnvoyLimits {
    /// Counters for `t`, all at zero.
    pub fn new(t: Thresholds) -> Self {
        Self {
            pending: ResourceLimit::new(t.max_pending_requests),
            requests: ResourceLimit::new(t.max_requests),
            retries: ResourceLimit::new(t.max_retries),
        }
    }

    /// Clears the overflow counts (at the end of the warm-up).
    pub fn reset_stats(&mut self) {
        for r in [&mut self.pending, &mut self.requests, &mut self.retries] {
            r.reset_overflows();
        }
    }

    /// Requests refused by `max_pending_requests` or `max_requests` (Envoy counts both in
    /// `upstream_rq_pending_overflow`).
    pub fn request_overflows(&self) -> u64 {
        self.pending.overflows() + self.requests.overflows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_admits_up_to_its_max_and_counts_overflows() {
        let mut r = ResourceLimit::new(2);
        assert!(r.try_acquire() && r.try_acquire());
        assert!(r.is_open());
        assert!(!r.try_acquire());
        assert_eq!((r.count(), r.remaining(), r.overflows()), (2, 0, 1));
        r.release();
        assert!(!r.is_open());
        assert!(r.try_acquire());
    }

    #[test]
    fn a_zero_maximum_admits_nothing() {
        let mut r = ResourceLimit::new(0);
        assert!(!r.can_create());
        assert!(!r.try_acquire());
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn envoys_defaults_apply_when_nothing_is_set() {
        let l = EnvoyLimits::new(Thresholds::default());
        assert_eq!((l.pending.max(), l.requests.max(), l.retries.max()), (1024, 1024, 3));
    }

    #[test]
    fn pending_and_request_overflows_are_reported_together() {
        let mut l = EnvoyLimits::new(Thresholds { max_pending_requests: 0, max_requests: 1, max_retries: 0 });
        assert!(!l.pending.try_acquire());
        assert!(l.requests.try_acquire());
        assert!(!l.requests.try_acquire());
        assert!(!l.retries.try_acquire());
        assert_eq!(l.request_overflows(), 2);
        assert_eq!(l.retries.overflows(), 1);
    }
}
