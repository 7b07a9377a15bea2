//! The client-side policies of one call edge, in one place: its circuit breaker, rate
//! limiter, bulkhead, retry budget (or gRPC throttle, or AWS quota) and Envoy
//! circuit-breaker thresholds, the AWS adaptive mode's pacing limiter, the latency window
//! that percentile hedging reads and the extra-load budget that caps it, and the count of
//! calls in progress that Envoy's retry budget is a share of.
//!
//! The call pipeline ([`super::call`]) asks the guard in resilience4j's order and keeps
//! only that order; what each policy counts, and when its permits come back, is here.
//! Each policy has a [`Scope`]: it lives in the guard of the caller instance that makes
//! the call (a library in each process, a sidecar beside it: the default), or in the
//! one guard the edge shares across the caller's fleet (a mesh-wide or gateway policy).
//! [`Guards`] lays them out edge by edge, the shared guard first, and answers for the
//! pair a call belongs to ([`GuardAt`]): each policy sits in exactly one of the two, so
//! asking both, stage by stage, keeps resilience4j's order.

use crate::engine::{RngStreams, SimTime, Stream};
use crate::metrics::Outcome;
use crate::policy::breaker::{CircuitBreaker, Classifier};
use crate::policy::bulkhead::{Acquire, Bulkhead};
use crate::policy::concurrency::Limiter;
use crate::policy::envoy_limits::EnvoyLimits;
use crate::policy::rate_limit::{CycleLimiter, LimiterConfig, RateAcquire, TokenBucket};
use crate::policy::retry::{
    Admit, Budget, ClientRateLimiter, HedgeConfig, HedgeDelay, LatencyWindow, RetryState, TokenBudget,
};
use crate::policy::tower_rate::TowerRate;

use crate::policy::Scope;

mod fleet;
pub(super) use fleet::{GuardAt, Guards};

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

/// A client-side rate limiter of any kind.
enum EdgeLimiter {
    /// Refuses a call without a token.
    Bucket(TokenBucket),
    /// Makes a call wait for a permission, up to its timeout.
    Cycle(CycleLimiter),
    /// tower's `RateLimit` under `load_shed`: refuses a call while limited.
    Tower(TowerRate),
}

/// Mutable policy state of the calls that share one guard.
///
/// Each policy is boxed: a guard without policies is about 100 bytes, not 1.4 KB, and a
/// large model holds one per edge and caller instance.
pub(super) struct EdgeGuard {
    breaker: Option<Box<CircuitBreaker>>,
    /// What the breaker records for each outcome.
    outcomes: Classifier,
    bulkhead: Option<Box<Bulkhead>>,
    limiter: Option<Box<EdgeLimiter>>,
    budget: Option<Box<Budget>>,
    /// Envoy's circuit-breaker thresholds.
    limits: Option<Box<EnvoyLimits>>,
    /// Netflix's client-side adaptive concurrency limit.
    concurrency: Option<Box<Limiter>>,
    latency: Option<Box<LatencyWindow>>,
    /// Finagle's `maxExtraLoad` budget: one deposit per call, one withdrawal per hedge.
    hedge_budget: Option<Box<TokenBudget>>,
    /// The AWS adaptive mode's client-side rate limiter.
    pacer: Option<Box<ClientRateLimiter>>,
    /// Calls in progress (the "active requests" of Envoy's budget).
    active: u32,
    /// Jitter draws.
    rng: Stream,
    /// When the pending breaker timer event fires, to avoid scheduling duplicates.
    timer_at: Option<SimTime>,
}

/// Which of an edge's guards: the one its caller's fleet shares, or one caller instance's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Holder {
    /// Holds the policies of scope `service`.
    Fleet,
    /// Holds the policies of scope `instance` of this caller instance.
    Instance(u32),
}

impl Holder {
    /// True when this guard holds a policy of scope `scope`.
    fn holds(self, scope: Scope) -> bool {
        matches!((self, scope), (Holder::Fleet, Scope::Service) | (Holder::Instance(_), Scope::Instance))
    }
}

impl EdgeGuard {
    /// The guard of `edge`'s policies that `holder` keeps. The jitter of instance `i`'s
    /// retries is drawn from the stream `retry/<edge>` (instance 0) or `retry/<edge>/<i>`,
    /// that of a failsafe breaker's backoff from `breaker/<edge>` or `breaker/<edge>/<i>`.
    pub(super) fn of(edge: &Edge, holder: Holder, streams: &RngStreams) -> Self {
        let p = &edge.policy;
        let here = |scope: Scope| holder.holds(scope);
        let stream = match holder {
            Holder::Instance(i) if i > 0 => format!("retry/{}/{i}", edge.name),
            _ => format!("retry/{}", edge.name),
        };
        Self {
            breaker: p
                .breaker
                .filter(|_| here(p.scope.breaker))
                .map(|c| CircuitBreaker::with_initial_state(c, p.breaker_initial_state, SimTime::ZERO))
                .map(|b| Box::new(b.with_stream(streams.stream(&stream.replacen("retry/", "breaker/", 1))))),
            outcomes: p.breaker_outcomes,
            bulkhead: p.bulkhead.filter(|_| here(p.scope.bulkhead)).map(|c| Box::new(Bulkhead::new(c))),
            limiter: p.rate_limit.filter(|_| here(p.scope.rate_limit)).map(|l| {
                Box::new(match l {
                    LimiterConfig::TokenBucket(c) => EdgeLimiter::Bucket(TokenBucket::new(c)),
                    LimiterConfig::Cycle(c) => EdgeLimiter::Cycle(CycleLimiter::new(c, SimTime::ZERO)),
                    LimiterConfig::Tower(c) => EdgeLimiter::Tower(TowerRate::new(c, SimTime::ZERO)),
                })
            }),
            budget: p.budget.as_ref().filter(|_| here(p.scope.budget)).map(|c| Box::new(Budget::new(c))),
            latency: (p.track_latency && here(p.scope.hedge)).then(|| {
                Box::new(p.hedge_rotation.map_or_else(|| LatencyWindow::new(LATENCY_WINDOW), LatencyWindow::rotating))
            }),
            concurrency: p
                .concurrency
                .filter(|_| here(p.scope.concurrency))
                .map(|c| Box::new(super::build::adaptive_limiter(c))),
            // Envoy's thresholds belong to each sidecar: per caller instance.
            limits: p
                .thresholds
                .filter(|_| matches!(holder, Holder::Instance(_)))
                .map(|t| Box::new(EnvoyLimits::new(t))),
            hedge_budget: p
                .max_extra_load
                .filter(|_| here(p.scope.hedge))
                .map(|h| Box::new(HedgeConfig::extra_load_budget(h))),
            // The AWS SDK's client-side rate limiter lives in each client.
            pacer: p
                .adaptive
                .filter(|_| matches!(holder, Holder::Instance(_)))
                .map(|c| Box::new(ClientRateLimiter::new(c, SimTime::ZERO))),
            active: 0,
            rng: streams.stream(&stream),
            timer_at: None,
        }
    }

    /// A call starts: one more active request, and a deposit in the token budgets.
    pub(super) fn call_started(&mut self, now: SimTime) {
        self.active += 1;
        if let Some(b) = self.budget.as_deref_mut() {
            b.on_request(now);
        }
        if let Some(b) = self.hedge_budget.as_deref_mut() {
            b.deposit(now);
        }
    }

    /// A call is over (answered or dropped).
    pub(super) fn call_ended(&mut self) {
        self.active -= 1;
    }

    /// The breaker's answer to an attempt: `None` without a breaker here, else whether
    /// it admits the attempt.
    fn pass_breaker(&mut self, now: SimTime) -> Option<bool> {
        self.breaker.as_deref_mut().map(|b| b.try_acquire(now))
    }

    /// Asks the rate limiter for a permission at `now`: at once, after a wait (resilience4j's
    /// limiter reserves one from a later period, within its timeout), or refused. Without a
    /// limiter, at once.
    fn rate_limit(&mut self, now: SimTime) -> RateAcquire {
        if let Some(EdgeLimiter::Cycle(l)) = self.limiter.as_deref_mut() {
            return l.try_acquire(now);
        }
        // The others never make a call wait: a permission now, or a refusal.
        if self.pass_limiter_now(now) { RateAcquire::Now } else { RateAcquire::Rejected }
    }

    /// The breaker's next timed transition, when one is due and not yet scheduled. Asked
    /// after every breaker decision and record.
    pub(super) fn breaker_timer(&mut self) -> Option<SimTime> {
        let at = self.breaker.as_deref()?.next_transition_at()?;
        if self.timer_at == Some(at) {
            return None;
        }
        self.timer_at = Some(at);
        Some(at)
    }

    /// The scheduled breaker timer fired.
    pub(super) fn on_breaker_timer(&mut self, now: SimTime) {
        self.timer_at = None;
        if let Some(b) = self.breaker.as_deref_mut() {
            b.on_timer(now);
        }
    }

    /// Records the result of an attempt the breaker admitted: a failure, a success or
    /// nothing, as the edge classifies `outcome` (`failure_on`, or resilience4j's
    /// `record_exceptions` / `ignore_exceptions`).
    pub(super) fn record(&mut self, now: SimTime, outcome: Outcome, duration: SimTime) {
        if let Some(b) = self.breaker.as_deref_mut() {
            b.record(now, self.outcomes.verdict(outcome), duration);
        }
    }

    /// A hedge asks the rate limiter: a permission free now, or none (it does not wait).
    fn pass_limiter_now(&mut self, now: SimTime) -> bool {
        match self.limiter.as_deref_mut() {
            None => true,
            Some(EdgeLimiter::Bucket(b)) => b.try_acquire(now),
            Some(EdgeLimiter::Cycle(l)) => l.try_acquire_within(now, SimTime::ZERO) == RateAcquire::Now,
            Some(EdgeLimiter::Tower(l)) => l.try_acquire(now),
        }
    }

    /// A hedge asks the bulkhead: `None` without one, else whether a permit was free (it
    /// does not queue).
    fn try_permit_now(&mut self, now: SimTime, c: CallId) -> Option<bool> {
        let b = self.bulkhead.as_deref_mut()?;
        Some(b.available() > 0 && b.waiting() == 0 && b.try_acquire(now, c) == Acquire::Granted)
    }

    /// The client-side concurrency limit admits one more attempt (always, without one).
    fn acquire_slot(&mut self) -> bool {
        self.concurrency.as_deref_mut().is_none_or(Limiter::try_acquire)
    }

    /// An attempt admitted by the client-side limit ended at `now`, `rtt` after it
    /// started: a success or a drop (a timeout or a rejection: Netflix's `onDropped`)
    /// teaches the limit, any other failure is ignored (`onIgnore`).
    fn release_slot(&mut self, now: SimTime, rtt: SimTime, outcome: Option<Outcome>) {
        let Some(l) = self.concurrency.as_deref_mut() else { return };
        match outcome {
            Some(o) if o.is_success() => l.release(now, rtt, false),
            Some(Outcome::Timeout | Outcome::Rejected) => l.release(now, rtt, true),
            _ => l.release_ignored(),
        }
    }

    /// Asks the bulkhead for a permit for call `c`; `None` without a bulkhead.
    pub(super) fn acquire_permit(&mut self, now: SimTime, c: CallId) -> Option<Acquire> {
        self.bulkhead.as_deref_mut().map(|b| b.try_acquire(now, c))
    }

    /// Returns a permit; the call it is handed to next, if one waits.
    pub(super) fn release_permit(&mut self, now: SimTime) -> Option<CallId> {
        self.bulkhead.as_deref_mut().and_then(|b| b.release(now))
    }

    /// Call `c` stops waiting for a permit: its attempt ended (`timed_out == false`) or
    /// its bulkhead wait ran out.
    pub(super) fn leave_queue(&mut self, c: CallId, timed_out: bool) {
        if let Some(b) = self.bulkhead.as_deref_mut() {
            if timed_out {
                b.time_out(c);
            } else {
                b.cancel(c);
            }
        }
    }

    /// Every attempt's end, success or not (call it once per attempt, from the attempt's
    /// one ending). A success gives the gRPC throttle its `tokenRatio` and the AWS quota
    /// the cost of the retry that led to it (or 1); the adaptive limiter learns of every
    /// answer, a `rejected` one being a throttle. Short-circuited attempts never left the
    /// caller: the limiter does not count them.
    pub(super) fn attempt_outcome(&mut self, now: SimTime, outcome: Outcome, state: &RetryState) {
        if outcome.is_success()
            && let Some(b) = self.budget.as_deref_mut()
        {
            b.on_success_at(now, state.last_retry_cost());
        }
        if outcome != Outcome::ShortCircuited
            && let Some(p) = self.pacer.as_deref_mut()
        {
            p.on_response(now, outcome == Outcome::Rejected);
        }
    }

    /// Before each attempt is sent (the first, retries and hedges): send now, or wait and
    /// ask again (the AWS adaptive mode, once it has seen a throttle).
    pub(super) fn send_admit(&mut self, now: SimTime) -> Admit {
        self.pacer.as_deref_mut().map_or(Admit::Now, |p| p.on_send(now))
    }

    /// When a hedge's delay has passed: may it be sent? The `max_extra_load` budget
    /// withdraws first, then the retry budget is asked ([`Budget::try_hedge`]: a Finagle
    /// budget pays for the backup too, gRPC's throttle may refuse). As in Finagle's
    /// `canIssueBackup`, a refusal by the second leaves the first's withdrawal spent.
    pub(super) fn try_hedge(&mut self, now: SimTime) -> bool {
        let local = self.hedge_budget.as_deref_mut().is_none_or(|b| b.try_withdraw(now));
        local && self.budget.as_deref_mut().is_none_or(|b| b.try_hedge(now))
    }

    /// True when a granted retry holds a slot of the budget until it ends (Envoy's
    /// concurrency budget), to be given back with [`EdgeGuard::end_retry`].
    pub(super) fn retries_hold_slots(&self) -> bool {
        matches!(self.budget.as_deref(), Some(Budget::Concurrency(_)))
    }

    /// A retry that held a budget slot ended.
    pub(super) fn end_retry(&mut self) {
        if let Some(b) = self.budget.as_deref_mut() {
            b.on_retry_end();
        }
    }
}

/// Envoy's circuit-breaker thresholds, for the call pipeline to ask.
impl EdgeGuard {
    /// Envoy's `max_pending_requests`: an attempt starts waiting to be sent (queued
    /// before the callee, e.g. for a bulkhead permit or in the stage before sending).
    /// False when the threshold is reached: the attempt overflows and fails at once
    /// (outcome `rejected`; Envoy answers 503 with `x-envoy-overflow`). Always true
    /// without thresholds. Every `true` must be paired with one
    /// [`EdgeGuard::release_pending`] when the attempt stops waiting, whatever ends it
    /// (sent, timed out, cancelled, caller crashed, run end).
    pub(super) fn acquire_pending(&mut self) -> bool {
        self.limits.as_deref_mut().is_none_or(|l| l.pending.try_acquire())
    }

    /// A waiting attempt admitted by [`EdgeGuard::acquire_pending`] stops waiting.
    pub(super) fn release_pending(&mut self) {
        if let Some(l) = self.limits.as_deref_mut() {
            l.pending.release();
        }
    }

    /// Envoy's `max_requests`: a request (an attempt or a hedge) is about to be sent to
    /// the callee. False when the threshold is reached: it overflows and fails at once
    /// (outcome `rejected`). Always true without thresholds. Every `true` must be paired
    /// with one [`EdgeGuard::release_request`] when that request is over for the caller:
    /// answered, timed out, cancelled, abandoned as a losing hedge, caller crashed.
    pub(super) fn acquire_request(&mut self) -> bool {
        self.limits.as_deref_mut().is_none_or(|l| l.requests.try_acquire())
    }

    /// A request admitted by [`EdgeGuard::acquire_request`] is over.
    pub(super) fn release_request(&mut self) {
        if let Some(l) = self.limits.as_deref_mut() {
            l.requests.release();
        }
    }

    /// Envoy's `max_retries`: asked when the retry policy has granted a retry, before it
    /// is scheduled. False when the threshold is reached: the call gives up as if out of
    /// retries (Envoy's `upstream_rq_retry_overflow`). Always true without thresholds,
    /// and when the edge has an Envoy retry budget, which replaces `max_retries` in
    /// Envoy (`ResourceManagerImpl::RetryBudgetImpl`). Every `true` must be paired with
    /// one [`EdgeGuard::release_retry`] when the retried attempt ends (Envoy's
    /// `RetryStateImpl::resetRetry`), or when the call is dropped before it does.
    pub(super) fn acquire_retry(&mut self) -> bool {
        if self.retries_hold_slots() {
            return true;
        }
        self.limits.as_deref_mut().is_none_or(|l| l.retries.try_acquire())
    }

    /// A retry admitted by [`EdgeGuard::acquire_retry`] is over.
    pub(super) fn release_retry(&mut self) {
        if !self.retries_hold_slots()
            && let Some(l) = self.limits.as_deref_mut()
        {
            l.retries.release();
        }
    }

    /// The thresholds' counters and overflows, for reports.
    pub(super) fn limits(&self) -> Option<&EnvoyLimits> {
        self.limits.as_deref()
    }
}

impl EdgeGuard {
    /// A request's latency at `now`, answered (`Some`) or abandoned, for percentile
    /// hedging ([`LatencyWindow::record_at`] keeps what its library keeps).
    pub(super) fn record_latency(&mut self, now: SimTime, latency: SimTime, answer: Option<Outcome>) {
        if let Some(w) = self.latency.as_deref_mut() {
            w.record_at(now, latency, answer);
        }
    }

    /// When to send the next hedge: the fixed delay, or the percentile of recent
    /// latencies (none until the window has data).
    pub(super) fn hedge_delay(&self, h: &HedgeConfig, now: SimTime) -> Option<SimTime> {
        match h.delay {
            HedgeDelay::Fixed(d) => Some(d),
            _ => self.latency.as_deref().and_then(|w| h.hedge_delay(w, now)),
        }
    }

    /// Restarts the statistics at the end of the warm-up.
    pub(super) fn reset_stats(&mut self, now: SimTime) {
        if let Some(l) = self.limits.as_deref_mut() {
            l.reset_stats();
        }
        if let Some(b) = self.breaker.as_deref_mut() {
            b.reset_stats(now);
        }
        if let Some(b) = self.bulkhead.as_deref_mut() {
            b.reset_stats(now);
        }
    }
}

#[cfg(test)]
mod tests;
