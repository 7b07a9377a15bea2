//! The client-side policies of one call edge, in one place: its circuit breaker, rate
//! limiter, bulkhead and retry budget, the latency window that percentile hedging
//! reads, and the count of calls in progress that Envoy's retry budget is a share of.
//!
//! The call pipeline ([`super::call`]) asks the guard in resilience4j's order and keeps
//! only that order; what each policy counts, and when its permits come back, is here.
//! A guard is chosen per call ([`super::call::CallState::guard`]): today one per edge,
//! shared by every instance of the caller; per caller instance guards (a library in
//! each process, a sidecar beside it) only change that index.

use crate::engine::{RngStreams, SimTime, Stream};
use crate::metrics::Outcome;
use crate::policy::breaker::{CircuitBreaker, Classifier};
use crate::policy::bulkhead::{Acquire, Bulkhead};
use crate::policy::rate_limit::{CycleLimiter, LimiterConfig, RateAcquire, TokenBucket};
use crate::policy::retry::{Budget, HedgeConfig, HedgeDelay, LatencyWindow, RetryConfig, RetryDecision, RetryState};

use super::super::Edge;
use super::slots::CallId;

/// Samples kept by a latency window for percentile hedging and degradation signals.
pub(super) const LATENCY_WINDOW: usize = 1000;

/// What the breaker and the rate limiter say to an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    /// Go on; `breaker`: the breaker admitted it, so its result must be recorded.
    Pass { breaker: bool },
    /// Go on after `wait`, the permission the rate limiter reserved for it (resilience4j's
    /// `RateLimiter`); `breaker` as for `Pass`.
    Wait { breaker: bool, wait: SimTime },
    /// The breaker is open.
    ShortCircuited,
    /// The rate limiter has no token, or no permission within its timeout.
    RateLimited,
}

/// A client-side rate limiter of either kind.
enum EdgeLimiter {
    /// Refuses a call without a token.
    Bucket(TokenBucket),
    /// Makes a call wait for a permission, up to its timeout.
    Cycle(CycleLimiter),
}

/// Mutable policy state of the calls that share one guard.
pub(super) struct EdgeGuard {
    breaker: Option<CircuitBreaker>,
    /// What the breaker records for each outcome.
    outcomes: Classifier,
    bulkhead: Option<Bulkhead>,
    limiter: Option<EdgeLimiter>,
    budget: Option<Budget>,
    latency: Option<LatencyWindow>,
    /// Calls in progress (the "active requests" of Envoy's budget).
    active: u32,
    /// Jitter draws.
    rng: Stream,
    /// When the pending breaker timer event fires, to avoid scheduling duplicates.
    timer_at: Option<SimTime>,
}

impl EdgeGuard {
    /// The guard of `edge`'s policies, its jitter drawn from the stream `retry/<edge>`.
    pub(super) fn of(edge: &Edge, streams: &RngStreams) -> Self {
        let p = &edge.policy;
        Self {
            breaker: p.breaker.map(|c| CircuitBreaker::with_initial_state(c, p.breaker_initial_state, SimTime::ZERO)),
            outcomes: p.breaker_outcomes,
            bulkhead: p.bulkhead.map(Bulkhead::new),
            limiter: p.rate_limit.map(|l| match l {
                LimiterConfig::TokenBucket(c) => EdgeLimiter::Bucket(TokenBucket::new(c)),
                LimiterConfig::Cycle(c) => EdgeLimiter::Cycle(CycleLimiter::new(c, SimTime::ZERO)),
            }),
            budget: p.budget.as_ref().map(Budget::new),
            latency: p.track_latency.then(|| LatencyWindow::new(LATENCY_WINDOW)),
            active: 0,
            rng: streams.stream(&format!("retry/{}", edge.name)),
            timer_at: None,
        }
    }

    /// A call starts: one more active request, and a deposit in a token budget.
    pub(super) fn call_started(&mut self, now: SimTime) {
        self.active += 1;
        if let Some(b) = self.budget.as_mut() {
            b.on_request(now);
        }
    }

    /// A call is over (answered or dropped).
    pub(super) fn call_ended(&mut self) {
        self.active -= 1;
    }

    /// An attempt passes the breaker, then the rate limiter. A breaker permission taken by
    /// an attempt the limiter then refuses is given back (the attempt records no result).
    pub(super) fn enter(&mut self, now: SimTime) -> Entry {
        let breaker = match self.breaker.as_mut().map(|b| b.try_acquire(now)) {
            Some(false) => return Entry::ShortCircuited,
            Some(true) => true,
            None => false,
        };
        match self.rate_limit(now) {
            RateAcquire::Now => Entry::Pass { breaker },
            RateAcquire::After(wait) => Entry::Wait { breaker, wait },
            RateAcquire::Rejected => {
                if let Some(b) = self.breaker.as_mut().filter(|_| breaker) {
                    b.release_permission(now);
                }
                Entry::RateLimited
            }
        }
    }

    /// Asks the rate limiter for a permission at `now`: at once, after a wait (resilience4j's
    /// limiter reserves one from a later period, within its timeout), or refused. Without a
    /// limiter, at once.
    pub(super) fn rate_limit(&mut self, now: SimTime) -> RateAcquire {
        match self.limiter.as_mut() {
            None => RateAcquire::Now,
            Some(EdgeLimiter::Bucket(b)) => {
                if b.try_acquire(now) {
                    RateAcquire::Now
                } else {
                    RateAcquire::Rejected
                }
            }
            Some(EdgeLimiter::Cycle(l)) => l.try_acquire(now),
        }
    }

    /// The breaker's next timed transition, when one is due and not yet scheduled. Asked
    /// after every breaker decision and record.
    pub(super) fn breaker_timer(&mut self) -> Option<SimTime> {
        let at = self.breaker.as_ref()?.next_transition_at()?;
        if self.timer_at == Some(at) {
            return None;
        }
        self.timer_at = Some(at);
        Some(at)
    }

    /// The scheduled breaker timer fired.
    pub(super) fn on_breaker_timer(&mut self, now: SimTime) {
        self.timer_at = None;
        if let Some(b) = self.breaker.as_mut() {
            b.on_timer(now);
        }
    }

    /// Records the result of an attempt the breaker admitted: a failure, a success or
    /// nothing, as the edge classifies `outcome` (`failure_on`, or resilience4j's
    /// `record_exceptions` / `ignore_exceptions`).
    pub(super) fn record(&mut self, now: SimTime, outcome: Outcome, duration: SimTime) {
        if let Some(b) = self.breaker.as_mut() {
            b.record(now, self.outcomes.verdict(outcome), duration);
        }
    }

    /// Asks the bulkhead for a permit for call `c`; `None` without a bulkhead.
    pub(super) fn acquire_permit(&mut self, now: SimTime, c: CallId) -> Option<Acquire> {
        self.bulkhead.as_mut().map(|b| b.try_acquire(now, c))
    }

    /// Returns a permit; the call it is handed to next, if one waits.
    pub(super) fn release_permit(&mut self, now: SimTime) -> Option<CallId> {
        self.bulkhead.as_mut().and_then(|b| b.release(now))
    }

    /// Call `c` stops waiting for a permit: its attempt ended (`timed_out == false`) or
    /// its bulkhead wait ran out.
    pub(super) fn leave_queue(&mut self, c: CallId, timed_out: bool) {
        if let Some(b) = self.bulkhead.as_mut() {
            if timed_out {
                b.time_out(c);
            } else {
                b.cancel(c);
            }
        }
    }

    /// What follows a failed attempt: a retry after a backoff, or giving up. Asks the
    /// retry budget with the guard's active requests; the jitter comes from its stream.
    pub(super) fn retry(
        &mut self,
        state: &mut RetryState,
        cfg: &RetryConfig,
        outcome: Outcome,
        now: SimTime,
    ) -> RetryDecision {
        state.on_outcome(cfg, outcome, self.budget.as_mut(), now, self.active, &mut self.rng)
    }

    /// True when a granted retry holds a slot of the budget until it ends (Envoy's
    /// concurrency budget), to be given back with [`EdgeGuard::end_retry`].
    pub(super) fn retries_hold_slots(&self) -> bool {
        matches!(self.budget, Some(Budget::Concurrency(_)))
    }

    /// A retry that held a budget slot ended.
    pub(super) fn end_retry(&mut self) {
        if let Some(b) = self.budget.as_mut() {
            b.on_retry_end();
        }
    }

    /// A successful attempt's latency, for percentile hedging.
    pub(super) fn record_latency(&mut self, latency: SimTime) {
        if let Some(w) = self.latency.as_mut() {
            w.record(latency);
        }
    }

    /// When to send the next hedge: the fixed delay, or the percentile of recent
    /// latencies (none until the window has data).
    pub(super) fn hedge_delay(&self, h: &HedgeConfig) -> Option<SimTime> {
        match h.delay {
            HedgeDelay::Fixed(d) => Some(d),
            HedgeDelay::Percentile(_) => self.latency.as_ref().and_then(|w| h.hedge_delay(w)),
        }
    }

    /// Restarts the statistics at the end of the warm-up.
    pub(super) fn reset_stats(&mut self, now: SimTime) {
        if let Some(b) = self.breaker.as_mut() {
            b.reset_stats(now);
        }
        if let Some(b) = self.bulkhead.as_mut() {
            b.reset_stats(now);
        }
    }

    /// The breaker, for the end-of-run snapshot.
    pub(super) fn breaker(&self) -> Option<&CircuitBreaker> {
        self.breaker.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::breaker::{BreakerConfig, ConsecutiveConfig};
    use crate::policy::bulkhead::BulkheadConfig;
    use crate::policy::rate_limit::{CycleLimiterConfig, TokenBucketConfig};

    fn guard(edit: impl FnOnce(&mut Edge)) -> EdgeGuard {
        let mut edge = Edge { from: 0, to: 1, name: "a->b".into(), policy: Default::default() };
        edit(&mut edge);
        EdgeGuard::of(&edge, &RngStreams::new(1, 0))
    }

    #[test]
    fn without_policies_everything_passes() {
        let mut g = guard(|_| {});
        assert_eq!(g.enter(SimTime::ZERO), Entry::Pass { breaker: false });
        assert_eq!(g.breaker_timer(), None);
        assert_eq!(g.acquire_permit(SimTime::ZERO, 7), None);
        assert_eq!(g.release_permit(SimTime::ZERO), None);
        assert!(!g.retries_hold_slots());
    }

    #[test]
    fn an_open_breaker_short_circuits_before_the_limiter_spends_a_token() {
        let mut g = guard(|e| {
            let cfg = BreakerConfig::Consecutive(ConsecutiveConfig {
                failures: 1,
                open_for: SimTime::from_secs(5),
                ..ConsecutiveConfig::default()
            });
            e.policy.breaker = Some(cfg);
            e.policy.rate_limit = Some(LimiterConfig::TokenBucket(TokenBucketConfig::per_second(1, 1)));
        });
        let t = SimTime::from_secs(1);
        assert_eq!(g.enter(t), Entry::Pass { breaker: true });
        g.record(t, Outcome::Error, SimTime::from_millis(1));
        // A consecutive breaker moves to half-open lazily, at the first attempt after
        // `open_for`: there is no timer to schedule.
        assert_eq!(g.breaker_timer(), None);
        assert_eq!(g.enter(t), Entry::ShortCircuited);
        // The token bucket's one token was spent by the first attempt; it refills at
        // 1/s, so at 2 s the limiter would admit, but the open breaker answers first.
        assert_eq!(g.enter(SimTime::from_secs(2)), Entry::ShortCircuited);
        // At 6 s the breaker admits a trial, and the limiter (refilled) lets it pass.
        assert_eq!(g.enter(SimTime::from_secs(6)), Entry::Pass { breaker: true });
        assert_eq!(g.enter(SimTime::from_secs(6)), Entry::RateLimited);
    }

    #[test]
    fn the_rate_limiter_refuses_when_out_of_tokens() {
        let bucket = LimiterConfig::TokenBucket(TokenBucketConfig::per_second(1, 1));
        let mut g = guard(|e| e.policy.rate_limit = Some(bucket));
        assert_eq!(g.enter(SimTime::ZERO), Entry::Pass { breaker: false });
        assert_eq!(g.enter(SimTime::ZERO), Entry::RateLimited);
        assert_eq!(g.enter(SimTime::from_secs(1)), Entry::Pass { breaker: false });
    }

    #[test]
    fn a_waiting_limiter_answers_now_then_after_a_wait_then_no() {
        let cfg = CycleLimiterConfig {
            limit_for_period: 1,
            limit_refresh_period: SimTime::from_secs(1),
            timeout_duration: SimTime::from_millis(1500),
        };
        let mut g = guard(|e| e.policy.rate_limit = Some(LimiterConfig::Cycle(cfg)));
        let t = SimTime::from_millis(200);
        assert_eq!(g.enter(t), Entry::Pass { breaker: false });
        // The next period starts at 1 s: 800 ms away, within the 1.5 s timeout.
        assert_eq!(g.enter(t), Entry::Wait { breaker: false, wait: SimTime::from_millis(800) });
        // The one after starts at 2 s: 1.8 s away, past the timeout.
        assert_eq!(g.enter(t), Entry::RateLimited);
        // At 2 s two periods have topped up: one repays the reservation, one is free.
        assert_eq!(g.rate_limit(SimTime::from_secs(2)), RateAcquire::Now);
        assert_eq!(g.rate_limit(SimTime::from_secs(2)), RateAcquire::After(SimTime::from_secs(1)));
    }

    #[test]
    fn a_half_open_trial_refused_by_the_limiter_gives_its_permit_back() {
        let mut g = guard(|e| {
            let cfg = BreakerConfig::Consecutive(ConsecutiveConfig {
                failures: 1,
                permitted_calls_in_half_open: Some(1),
                open_for: SimTime::from_secs(5),
                ..ConsecutiveConfig::default()
            });
            e.policy.breaker = Some(cfg);
            e.policy.rate_limit = Some(LimiterConfig::TokenBucket(TokenBucketConfig::per_second(1, 1)));
        });
        assert_eq!(g.enter(SimTime::ZERO), Entry::Pass { breaker: true });
        g.record(SimTime::ZERO, Outcome::Error, SimTime::ZERO);
        let t = SimTime::from_secs(5);
        assert_eq!(g.enter(t), Entry::Pass { breaker: true }); // the one trial, the bucket's token
        g.record(t, Outcome::Ok, SimTime::ZERO); // a success, but two are needed to close
        assert_eq!(g.enter(t), Entry::RateLimited); // the trial permit, then no token
        // Without the release the trial permit would be gone and this would short-circuit.
        assert_eq!(g.enter(SimTime::from_secs(6)), Entry::Pass { breaker: true });
    }

    #[test]
    fn the_edge_classifier_decides_what_the_breaker_records() {
        let mut g = guard(|e| {
            e.policy.breaker =
                Some(BreakerConfig::Consecutive(ConsecutiveConfig { failures: 2, ..Default::default() }));
            e.policy.breaker_outcomes = Classifier::resilience4j(Some(&[Outcome::Error]), &[]);
        });
        let t = SimTime::ZERO;
        for outcome in [Outcome::Error, Outcome::Timeout, Outcome::Error] {
            assert_eq!(g.enter(t), Entry::Pass { breaker: true });
            g.record(t, outcome, SimTime::ZERO);
        }
        // The timeout was neither recorded nor ignored: a success, which reset the count.
        assert_eq!(g.enter(t), Entry::Pass { breaker: true });
        g.record(t, Outcome::Error, SimTime::ZERO);
        assert_eq!(g.enter(t), Entry::ShortCircuited);
    }

    #[test]
    fn a_released_permit_goes_to_the_oldest_waiter() {
        let mut g = guard(|e| e.policy.bulkhead = Some(BulkheadConfig::new(1, SimTime::from_secs(1))));
        let t = SimTime::ZERO;
        assert_eq!(g.acquire_permit(t, 1), Some(Acquire::Granted));
        assert!(matches!(g.acquire_permit(t, 2), Some(Acquire::Queued { .. })));
        assert!(matches!(g.acquire_permit(t, 3), Some(Acquire::Queued { .. })));
        g.leave_queue(2, false);
        assert_eq!(g.release_permit(t), Some(3));
        assert_eq!(g.release_permit(t), None);
    }
}
