//! The client-side policies of one call edge, in one place: its circuit breaker, rate
//! limiter, bulkhead and retry budget (or gRPC throttle, or AWS quota), the AWS adaptive
//! mode's pacing limiter, the latency window that percentile hedging reads and the
//! extra-load budget that caps it, and the count of calls in progress that Envoy's retry
//! budget is a share of.
//!
//! The call pipeline ([`super::call`]) asks the guard in resilience4j's order and keeps
//! only that order; what each policy counts, and when its permits come back, is here.
//! A guard is chosen per call ([`super::call::CallState::guard`]): today one per edge,
//! shared by every instance of the caller; per caller instance guards (a library in
//! each process, a sidecar beside it) only change that index.

use crate::engine::{RngStreams, SimTime, Stream};
use crate::metrics::Outcome;
use crate::policy::breaker::CircuitBreaker;
use crate::policy::bulkhead::{Acquire, Bulkhead};
use crate::policy::rate_limit::TokenBucket;
use crate::policy::retry::{
    Admit, Budget, ClientRateLimiter, HedgeConfig, HedgeDelay, LatencyWindow, RetryConfig, RetryDecision, RetryState,
    TokenBudget,
};

use super::super::Edge;
use super::slots::CallId;

/// Samples kept by a latency window for percentile hedging and degradation signals.
pub(super) const LATENCY_WINDOW: usize = 1000;

/// What the breaker and the rate limiter say to an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    /// Go on; `breaker`: the breaker admitted it, so its result must be recorded.
    Pass { breaker: bool },
    /// The breaker is open.
    ShortCircuited,
    /// The rate limiter has no token.
    RateLimited,
}

/// Mutable policy state of the calls that share one guard.
pub(super) struct EdgeGuard {
    breaker: Option<CircuitBreaker>,
    bulkhead: Option<Bulkhead>,
    limiter: Option<TokenBucket>,
    budget: Option<Budget>,
    latency: Option<LatencyWindow>,
    /// Finagle's `maxExtraLoad` budget: one deposit per call, one withdrawal per hedge.
    hedge_budget: Option<TokenBudget>,
    /// The AWS adaptive mode's client-side rate limiter.
    pacer: Option<ClientRateLimiter>,
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
            breaker: p.breaker.map(|c| CircuitBreaker::new(c, SimTime::ZERO)),
            bulkhead: p.bulkhead.map(Bulkhead::new),
            limiter: p.rate_limit.map(TokenBucket::new),
            budget: p.budget.as_ref().map(Budget::new),
            latency: p.track_latency.then(|| LatencyWindow::new(LATENCY_WINDOW)),
            hedge_budget: p.max_extra_load.map(HedgeConfig::extra_load_budget),
            pacer: p.adaptive.map(|c| ClientRateLimiter::new(c, SimTime::ZERO)),
            active: 0,
            rng: streams.stream(&format!("retry/{}", edge.name)),
            timer_at: None,
        }
    }

    /// A call starts: one more active request, and a deposit in the token budgets.
    pub(super) fn call_started(&mut self, now: SimTime) {
        self.active += 1;
        if let Some(b) = self.budget.as_mut() {
            b.on_request(now);
        }
        if let Some(b) = self.hedge_budget.as_mut() {
            b.deposit(now);
        }
    }

    /// A call is over (answered or dropped).
    pub(super) fn call_ended(&mut self) {
        self.active -= 1;
    }

    /// An attempt passes the breaker, then the rate limiter.
    pub(super) fn enter(&mut self, now: SimTime) -> Entry {
        let breaker = match self.breaker.as_mut().map(|b| b.try_acquire(now)) {
            Some(false) => return Entry::ShortCircuited,
            Some(true) => true,
            None => false,
        };
        if let Some(l) = self.limiter.as_mut()
            && !l.try_acquire(now)
        {
            return Entry::RateLimited;
        }
        Entry::Pass { breaker }
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

    /// Records the result of an attempt the breaker admitted: a failure when the edge
    /// counts `outcome` as one (`failure_on`), a success, or neither (ignored).
    pub(super) fn record(&mut self, now: SimTime, outcome: Outcome, duration: SimTime, failure_on: &[bool; 6]) {
        let Some(b) = self.breaker.as_mut() else { return };
        if failure_on[outcome as usize] {
            b.on_failure(now, duration);
        } else if outcome.is_success() {
            b.on_success(now, duration);
        } else {
            b.on_ignored(now);
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

    /// Every attempt's end, success or not (call it once per attempt, from the attempt's
    /// one ending). A success gives the gRPC throttle its `tokenRatio` and the AWS quota
    /// the cost of the retry that led to it (or 1); the adaptive limiter learns of every
    /// answer, a `rejected` one being a throttle. Short-circuited attempts never left the
    /// caller: the limiter does not count them.
    pub(super) fn attempt_outcome(&mut self, now: SimTime, outcome: Outcome, state: &RetryState) {
        if outcome.is_success()
            && let Some(b) = self.budget.as_mut()
        {
            b.on_success(state.last_retry_cost());
        }
        if outcome != Outcome::ShortCircuited
            && let Some(p) = self.pacer.as_mut()
        {
            p.on_response(now, outcome == Outcome::Rejected);
        }
    }

    /// Before each attempt is sent (the first, retries and hedges): send now, or wait and
    /// ask again (the AWS adaptive mode, once it has seen a throttle).
    #[cfg_attr(not(test), expect(dead_code, reason = "the call pipeline's wait-before-sending stage will ask it"))]
    pub(super) fn send_admit(&mut self, now: SimTime) -> Admit {
        self.pacer.as_mut().map_or(Admit::Now, |p| p.on_send(now))
    }

    /// When a hedge's delay has passed: may it be sent? The `max_extra_load` budget
    /// withdraws first, then the retry budget is asked ([`Budget::try_hedge`]: a Finagle
    /// budget pays for the backup too, gRPC's throttle may refuse). As in Finagle's
    /// `canIssueBackup`, a refusal by the second leaves the first's withdrawal spent.
    pub(super) fn try_hedge(&mut self, now: SimTime) -> bool {
        let local = self.hedge_budget.as_mut().is_none_or(|b| b.try_withdraw(now));
        local && self.budget.as_mut().is_none_or(|b| b.try_hedge(now))
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
    use crate::policy::rate_limit::TokenBucketConfig;
    use crate::policy::retry::{AdaptiveConfig, BudgetConfig, GiveUpReason};

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
            e.policy.rate_limit = Some(TokenBucketConfig::per_second(1, 1));
        });
        let mut failure_on = [false; 6];
        failure_on[Outcome::Error as usize] = true;
        let t = SimTime::from_secs(1);
        assert_eq!(g.enter(t), Entry::Pass { breaker: true });
        g.record(t, Outcome::Error, SimTime::from_millis(1), &failure_on);
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
        let mut g = guard(|e| e.policy.rate_limit = Some(TokenBucketConfig::per_second(1, 1)));
        assert_eq!(g.enter(SimTime::ZERO), Entry::Pass { breaker: false });
        assert_eq!(g.enter(SimTime::ZERO), Entry::RateLimited);
        assert_eq!(g.enter(SimTime::from_secs(1)), Entry::Pass { breaker: false });
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

    #[test]
    fn grpc_throttle_counts_failures_in_retry_and_successes_per_attempt() {
        let mut g = guard(|e| e.policy.budget = Some(BudgetConfig::Throttling { max_tokens: 4.0, token_ratio: 0.8 }));
        let cfg = RetryConfig { max_attempts: 10, ..RetryConfig::grpc() };
        let t = SimTime::ZERO;
        let mut st = RetryState::new();
        // 4 → 3: a retry; 3 → 2: at max_tokens / 2, throttled.
        assert!(matches!(g.retry(&mut st, &cfg, Outcome::Rejected, t), RetryDecision::Retry { .. }));
        assert!(g.try_hedge(t));
        let throttled = g.retry(&mut st, &cfg, Outcome::Rejected, t);
        assert_eq!(throttled, RetryDecision::GiveUp(GiveUpReason::BudgetExhausted));
        assert!(!g.try_hedge(t), "A6: hedges are throttled too");
        // One success: 2.8 > 2.
        g.attempt_outcome(t, Outcome::Ok, &st);
        assert!(g.try_hedge(t));
    }

    #[test]
    fn extra_load_budget_allows_a_share_of_calls_as_hedges() {
        let mut g = guard(|e| e.policy.max_extra_load = Some(0.05));
        let t = SimTime::ZERO;
        // No calls yet, no reserve: no hedge.
        assert!(!g.try_hedge(t));
        for _ in 0..40 {
            g.call_started(t);
        }
        // 40 calls · 0.05 = 2 hedges.
        assert_eq!((0..5).filter(|_| g.try_hedge(t)).count(), 2);
    }

    #[test]
    fn adaptive_pacer_waits_only_after_a_throttle() {
        let mut g = guard(|e| e.policy.adaptive = Some(AdaptiveConfig::default()));
        let st = RetryState::new();
        assert_eq!(g.send_admit(SimTime::ZERO), Admit::Now);
        for ms in (100..=2000).step_by(100) {
            g.attempt_outcome(SimTime::from_millis(ms), Outcome::Ok, &st);
        }
        g.attempt_outcome(SimTime::from_millis(2050), Outcome::Rejected, &st);
        let t = SimTime::from_millis(2050);
        let waits = (0..20).filter(|_| matches!(g.send_admit(t), Admit::Wait(_))).count();
        assert!(waits > 0, "a burst at one instant must run out of tokens");
    }
}
