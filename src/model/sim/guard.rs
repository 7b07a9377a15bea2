//! The client-side policies of one call edge, in one place: its circuit breaker, rate
//! limiter, bulkhead, retry budget and Envoy circuit-breaker thresholds, the latency window that percentile hedging
//! reads, and the count of calls in progress that Envoy's retry budget is a share of.
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
use crate::policy::envoy_limits::EnvoyLimits;
use crate::policy::rate_limit::{CycleLimiter, LimiterConfig, RateAcquire, TokenBucket};
use crate::policy::retry::{Budget, HedgeConfig, HedgeDelay, LatencyWindow, RetryConfig, RetryDecision, RetryState};

use crate::policy::Scope;

use super::super::{Edge, Model};
use super::slots::{CallId, CallState};

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
    /// Envoy's circuit-breaker thresholds.
    limits: Option<EnvoyLimits>,
    latency: Option<LatencyWindow>,
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
    /// retries is drawn from the stream `retry/<edge>` (instance 0) or `retry/<edge>/<i>`.
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
                .map(|c| CircuitBreaker::with_initial_state(c, p.breaker_initial_state, SimTime::ZERO)),
            outcomes: p.breaker_outcomes,
            bulkhead: p.bulkhead.filter(|_| here(p.scope.bulkhead)).map(Bulkhead::new),
            limiter: p.rate_limit.filter(|_| here(p.scope.rate_limit)).map(|l| match l {
                LimiterConfig::TokenBucket(c) => EdgeLimiter::Bucket(TokenBucket::new(c)),
                LimiterConfig::Cycle(c) => EdgeLimiter::Cycle(CycleLimiter::new(c, SimTime::ZERO)),
            }),
            budget: p.budget.as_ref().filter(|_| here(p.scope.budget)).map(Budget::new),
            latency: (p.track_latency && here(p.scope.hedge)).then(|| LatencyWindow::new(LATENCY_WINDOW)),
            // Envoy's thresholds belong to each sidecar: per caller instance.
            limits: p.thresholds.filter(|_| matches!(holder, Holder::Instance(_))).map(EnvoyLimits::new),
            active: 0,
            rng: streams.stream(&stream),
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

    /// The breaker's answer to an attempt: `None` without a breaker here, else whether
    /// it admits the attempt.
    fn pass_breaker(&mut self, now: SimTime) -> Option<bool> {
        self.breaker.as_mut().map(|b| b.try_acquire(now))
    }

    /// Asks the rate limiter for a permission at `now`: at once, after a wait (resilience4j's
    /// limiter reserves one from a later period, within its timeout), or refused. Without a
    /// limiter, at once.
    fn rate_limit(&mut self, now: SimTime) -> RateAcquire {
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
}

/// Envoy's circuit-breaker thresholds, for the call pipeline to ask.
#[cfg_attr(not(test), expect(dead_code, reason = "the call pipeline (call.rs) wires these in next"))]
impl EdgeGuard {
    /// Envoy's `max_pending_requests`: an attempt starts waiting to be sent (queued
    /// before the callee, e.g. for a bulkhead permit or in the stage before sending).
    /// False when the threshold is reached: the attempt overflows and fails at once
    /// (outcome `rejected`; Envoy answers 503 with `x-envoy-overflow`). Always true
    /// without thresholds. Every `true` must be paired with one
    /// [`EdgeGuard::release_pending`] when the attempt stops waiting, whatever ends it
    /// (sent, timed out, cancelled, caller crashed, run end).
    pub(super) fn acquire_pending(&mut self) -> bool {
        self.limits.as_mut().is_none_or(|l| l.pending.try_acquire())
    }

    /// A waiting attempt admitted by [`EdgeGuard::acquire_pending`] stops waiting.
    pub(super) fn release_pending(&mut self) {
        if let Some(l) = self.limits.as_mut() {
            l.pending.release();
        }
    }

    /// Envoy's `max_requests`: a request (an attempt or a hedge) is about to be sent to
    /// the callee. False when the threshold is reached: it overflows and fails at once
    /// (outcome `rejected`). Always true without thresholds. Every `true` must be paired
    /// with one [`EdgeGuard::release_request`] when that request is over for the caller:
    /// answered, timed out, cancelled, abandoned as a losing hedge, caller crashed.
    pub(super) fn acquire_request(&mut self) -> bool {
        self.limits.as_mut().is_none_or(|l| l.requests.try_acquire())
    }

    /// A request admitted by [`EdgeGuard::acquire_request`] is over.
    pub(super) fn release_request(&mut self) {
        if let Some(l) = self.limits.as_mut() {
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
        self.limits.as_mut().is_none_or(|l| l.retries.try_acquire())
    }

    /// A retry admitted by [`EdgeGuard::acquire_retry`] is over.
    pub(super) fn release_retry(&mut self) {
        if !self.retries_hold_slots()
            && let Some(l) = self.limits.as_mut()
        {
            l.retries.release();
        }
    }

    /// The thresholds' counters and overflows, for reports.
    pub(super) fn limits(&self) -> Option<&EnvoyLimits> {
        self.limits.as_ref()
    }
}

impl EdgeGuard {
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
}

/// The guards a call passes: its edge's fleet guard and its caller instance's guard
/// (indices into [`Guards`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct GuardAt {
    fleet: u32,
    local: u32,
}

/// Every edge's guards, edge by edge: the fleet's guard, then one per caller instance.
pub(super) struct Guards {
    all: Vec<EdgeGuard>,
    /// Per edge, the index of its fleet guard (its instances' guards follow it).
    first: Vec<u32>,
}

impl Guards {
    /// Fresh guards for every edge of `model`.
    pub(super) fn of(model: &Model, streams: &RngStreams) -> Self {
        let mut all = Vec::new();
        let mut first = Vec::with_capacity(model.edges.len());
        for e in &model.edges {
            first.push(all.len() as u32);
            all.push(EdgeGuard::of(e, Holder::Fleet, streams));
            let instances = model.services[e.from].instances;
            all.extend((0..instances).map(|i| EdgeGuard::of(e, Holder::Instance(i), streams)));
        }
        Self { all, first }
    }

    /// The guards of a call on `edge` made by caller instance `instance`.
    #[inline]
    pub(super) fn at(&self, edge: usize, instance: u32) -> GuardAt {
        let fleet = self.first[edge];
        GuardAt { fleet, local: fleet + 1 + instance }
    }

    /// The fleet's guard and the caller instance's, in that order.
    #[inline]
    fn pair(&mut self, at: GuardAt) -> [&mut EdgeGuard; 2] {
        let (left, right) = self.all.split_at_mut(at.local as usize);
        [&mut left[at.fleet as usize], &mut right[0]]
    }

    /// The one of the pair that holds the policy `has` looks for (the caller instance's
    /// when neither does, so callers need not care).
    #[inline]
    fn holder(&mut self, at: GuardAt, has: impl Fn(&EdgeGuard) -> bool) -> &mut EdgeGuard {
        let i = if has(&self.all[at.fleet as usize]) { at.fleet } else { at.local };
        &mut self.all[i as usize]
    }

    /// A call starts: one more active request in both guards, and a budget deposit.
    pub(super) fn call_started(&mut self, at: GuardAt, now: SimTime) {
        self.pair(at).into_iter().for_each(|g| g.call_started(now));
    }

    /// A call is over (answered or dropped).
    pub(super) fn call_ended(&mut self, at: GuardAt) {
        self.pair(at).into_iter().for_each(EdgeGuard::call_ended);
    }

    /// An attempt passes the breaker, then the rate limiter, wherever each lives. A
    /// breaker permission taken by an attempt the limiter then refuses is given back
    /// (the attempt records no result).
    pub(super) fn enter(&mut self, at: GuardAt, now: SimTime) -> Entry {
        let [fleet, local] = self.pair(at);
        let breaker = match fleet.pass_breaker(now).or_else(|| local.pass_breaker(now)) {
            Some(false) => return Entry::ShortCircuited,
            Some(true) => true,
            None => false,
        };
        let limit = match fleet.rate_limit(now) {
            RateAcquire::Now => local.rate_limit(now),
            other => other,
        };
        match limit {
            RateAcquire::Now => Entry::Pass { breaker },
            RateAcquire::After(wait) => Entry::Wait { breaker, wait },
            RateAcquire::Rejected => {
                if breaker {
                    self.release_breaker(at, now);
                }
                Entry::RateLimited
            }
        }
    }

    /// The breaker's next timed transition, when one is due and not yet scheduled: the
    /// guard to wake (a [`Guards`] index) and when.
    pub(super) fn breaker_timer(&mut self, at: GuardAt) -> Option<(u32, SimTime)> {
        let g = if self.all[at.fleet as usize].breaker.is_some() { at.fleet } else { at.local };
        self.all[g as usize].breaker_timer().map(|t| (g, t))
    }

    /// Guard `g`'s scheduled breaker timer fired.
    pub(super) fn on_breaker_timer(&mut self, g: u32, now: SimTime) {
        self.all[g as usize].on_breaker_timer(now);
    }

    /// Records the result of an attempt the breaker admitted (see [`EdgeGuard::record`]).
    pub(super) fn record(&mut self, at: GuardAt, now: SimTime, outcome: Outcome, took: SimTime) {
        self.holder(at, |g| g.breaker.is_some()).record(now, outcome, took);
    }

    /// Gives back the breaker permission of an admitted attempt that will report no
    /// result (its caller is gone).
    pub(super) fn release_breaker(&mut self, at: GuardAt, now: SimTime) {
        if let Some(b) = self.holder(at, |g| g.breaker.is_some()).breaker.as_mut() {
            b.release_permission(now);
        }
    }

    /// Asks the bulkhead for a permit for call `c`; `None` without a bulkhead.
    pub(super) fn acquire_permit(&mut self, at: GuardAt, now: SimTime, c: CallId) -> Option<Acquire> {
        self.holder(at, |g| g.bulkhead.is_some()).acquire_permit(now, c)
    }

    /// Returns a permit; the call it is handed to next, if one waits.
    pub(super) fn release_permit(&mut self, at: GuardAt, now: SimTime) -> Option<CallId> {
        self.holder(at, |g| g.bulkhead.is_some()).release_permit(now)
    }

    /// Call `c` stops waiting for a permit (see [`EdgeGuard::leave_queue`]).
    pub(super) fn leave_queue(&mut self, at: GuardAt, c: CallId, timed_out: bool) {
        self.holder(at, |g| g.bulkhead.is_some()).leave_queue(c, timed_out);
    }

    /// What follows a failed attempt: a retry after a backoff, or giving up. The budget
    /// is asked with the active requests of the guard that holds it; the jitter comes
    /// from the caller instance's stream.
    pub(super) fn retry(
        &mut self,
        at: GuardAt,
        state: &mut RetryState,
        cfg: &RetryConfig,
        outcome: Outcome,
        now: SimTime,
    ) -> RetryDecision {
        let [fleet, local] = self.pair(at);
        let (budget, active) = match fleet.budget.as_mut() {
            Some(b) => (Some(b), fleet.active),
            None => (local.budget.as_mut(), local.active),
        };
        state.on_outcome(cfg, outcome, budget, now, active, &mut local.rng)
    }

    /// True when a granted retry holds a slot of the budget until it ends (Envoy's
    /// concurrency budget), to be given back with [`Guards::end_retry`].
    pub(super) fn retries_hold_slots(&mut self, at: GuardAt) -> bool {
        self.holder(at, |g| g.budget.is_some()).retries_hold_slots()
    }

    /// A retry that held a budget slot ended.
    pub(super) fn end_retry(&mut self, at: GuardAt) {
        self.holder(at, |g| g.budget.is_some()).end_retry();
    }

    /// A successful attempt's latency, for percentile hedging.
    pub(super) fn record_latency(&mut self, at: GuardAt, latency: SimTime) {
        self.holder(at, |g| g.latency.is_some()).record_latency(latency);
    }

    /// When to send the next hedge (see [`EdgeGuard::hedge_delay`]).
    pub(super) fn hedge_delay(&mut self, at: GuardAt, h: &HedgeConfig) -> Option<SimTime> {
        self.holder(at, |g| g.latency.is_some()).hedge_delay(h)
    }

    /// Restarts the statistics at the end of the warm-up.
    pub(super) fn reset_stats(&mut self, now: SimTime) {
        self.all.iter_mut().for_each(|g| g.reset_stats(now));
    }

    /// Permits the guards count as taken that no live call holds, or held by live calls
    /// the guards do not count: bulkhead permits and places in its queue, budget slots,
    /// and half-open trials beyond the admitted attempts in flight. Zero unless a permit
    /// leaked; the property tests check it after every run.
    pub(super) fn unaccounted<'c>(&self, calls: impl Iterator<Item = &'c CallState>) -> u64 {
        #[derive(Clone, Copy, Default)]
        struct Held {
            permits: u32,
            waiting: u32,
            trials: u32,
            slots: u32,
        }
        let mut held = vec![Held::default(); self.all.len()];
        let holder = |at: GuardAt, has: &dyn Fn(&EdgeGuard) -> bool| {
            if has(&self.all[at.fleet as usize]) { at.fleet as usize } else { at.local as usize }
        };
        for cs in calls {
            let b = holder(cs.guard, &|g| g.bulkhead.is_some());
            held[b].permits += u32::from(cs.permit);
            held[b].waiting += u32::from(cs.waiting);
            held[holder(cs.guard, &|g| g.breaker.is_some())].trials += u32::from(cs.breaker_admitted);
            held[holder(cs.guard, &|g| g.budget.is_some())].slots += u32::from(cs.budget_slot);
        }
        let mut off = 0u64;
        for (g, h) in self.all.iter().zip(&held) {
            let (permits, waiting) = g.bulkhead.as_ref().map_or((0, 0), |b| (b.in_use(), b.waiting()));
            off += u64::from(permits.abs_diff(h.permits)) + u64::from(waiting.abs_diff(h.waiting));
            off += u64::from(g.breaker.as_ref().map_or(0, |b| b.trials_in_flight()).saturating_sub(h.trials));
            if let Some(Budget::Concurrency(b)) = &g.budget {
                off += u64::from(b.in_flight().abs_diff(h.slots));
            }
        }
        off
    }

    /// Edge `e`'s breakers, with the caller instance each belongs to (`None`: the fleet's).
    pub(super) fn breakers(&self, e: usize) -> impl Iterator<Item = (Option<u32>, &CircuitBreaker)> {
        let first = self.first[e] as usize;
        let end = self.first.get(e + 1).map_or(self.all.len(), |&x| x as usize);
        let instance = |k: usize| (k > 0).then(|| (k - 1) as u32);
        self.all[first..end].iter().enumerate().filter_map(move |(k, g)| g.breaker.as_ref().map(|b| (instance(k), b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::breaker::{BreakerConfig, ConsecutiveConfig};
    use crate::policy::bulkhead::BulkheadConfig;
    use crate::policy::rate_limit::{CycleLimiterConfig, TokenBucketConfig};

    /// The guards of one edge `a->b` whose caller has `instances` instances.
    fn guards_of(instances: u32, edit: impl FnOnce(&mut Edge)) -> Guards {
        let mut edge = Edge { from: 0, to: 1, name: "a->b".into(), policy: Default::default() };
        edit(&mut edge);
        let streams = RngStreams::new(1, 0);
        let mut all = vec![EdgeGuard::of(&edge, Holder::Fleet, &streams)];
        all.extend((0..instances).map(|i| EdgeGuard::of(&edge, Holder::Instance(i), &streams)));
        Guards { all, first: vec![0] }
    }

    /// One caller instance's view of an edge's guards.
    struct One {
        guards: Guards,
        at: GuardAt,
    }

    impl One {
        fn enter(&mut self, now: SimTime) -> Entry {
            self.guards.enter(self.at, now)
        }
        fn breaker_timer(&mut self) -> Option<(u32, SimTime)> {
            self.guards.breaker_timer(self.at)
        }
        fn record(&mut self, now: SimTime, outcome: Outcome, took: SimTime) {
            self.guards.record(self.at, now, outcome, took);
        }
        fn rate_limit(&mut self, now: SimTime) -> RateAcquire {
            self.guards.all[self.at.local as usize].rate_limit(now)
        }
        fn acquire_permit(&mut self, now: SimTime, c: CallId) -> Option<Acquire> {
            self.guards.acquire_permit(self.at, now, c)
        }
        fn release_permit(&mut self, now: SimTime) -> Option<CallId> {
            self.guards.release_permit(self.at, now)
        }
        fn leave_queue(&mut self, c: CallId, timed_out: bool) {
            self.guards.leave_queue(self.at, c, timed_out);
        }
        fn retries_hold_slots(&mut self) -> bool {
            self.guards.retries_hold_slots(self.at)
        }
    }

    /// One caller instance's guard of an edge `a->b`, alone.
    fn edge_guard(edit: impl FnOnce(&mut Edge)) -> EdgeGuard {
        let mut edge = Edge { from: 0, to: 1, name: "a->b".into(), policy: Default::default() };
        edit(&mut edge);
        EdgeGuard::of(&edge, Holder::Instance(0), &RngStreams::new(1, 0))
    }

    fn guard(edit: impl FnOnce(&mut Edge)) -> One {
        let guards = guards_of(1, edit);
        let at = guards.at(0, 0);
        One { guards, at }
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

    #[test]
    fn instance_scope_gives_each_caller_instance_its_own_bulkhead_and_breaker() {
        let consecutive = BreakerConfig::Consecutive(ConsecutiveConfig {
            failures: 1,
            open_for: SimTime::from_secs(5),
            ..ConsecutiveConfig::default()
        });
        let mut g = guards_of(2, |e| {
            e.policy.bulkhead = Some(BulkheadConfig::new(1, SimTime::ZERO));
            e.policy.breaker = Some(consecutive);
        });
        let (a, b) = (g.at(0, 0), g.at(0, 1));
        let t = SimTime::ZERO;
        assert_eq!(g.acquire_permit(a, t, 1), Some(Acquire::Granted));
        assert_eq!(g.acquire_permit(a, t, 2), Some(Acquire::Rejected));
        // Instance 1's bulkhead is its own: still free.
        assert_eq!(g.acquire_permit(b, t, 3), Some(Acquire::Granted));
        assert_eq!(g.enter(a, t), Entry::Pass { breaker: true });
        g.record(a, t, Outcome::Error, SimTime::from_millis(1));
        assert_eq!(g.enter(a, t), Entry::ShortCircuited);
        // Instance 1 never saw the failure: its breaker is closed.
        assert_eq!(g.enter(b, t), Entry::Pass { breaker: true });
        assert_eq!(g.breakers(0).map(|(i, _)| i).collect::<Vec<_>>(), vec![Some(0), Some(1)]);
    }

    #[test]
    fn service_scope_shares_one_bulkhead_and_breaker_across_the_fleet() {
        let consecutive = BreakerConfig::Consecutive(ConsecutiveConfig {
            failures: 1,
            open_for: SimTime::from_secs(5),
            ..ConsecutiveConfig::default()
        });
        let mut g = guards_of(2, |e| {
            e.policy.bulkhead = Some(BulkheadConfig::new(1, SimTime::ZERO));
            e.policy.breaker = Some(consecutive);
            e.policy.scope.bulkhead = Scope::Service;
            e.policy.scope.breaker = Scope::Service;
        });
        let (a, b) = (g.at(0, 0), g.at(0, 1));
        let t = SimTime::ZERO;
        assert_eq!(g.acquire_permit(a, t, 1), Some(Acquire::Granted));
        assert_eq!(g.acquire_permit(b, t, 2), Some(Acquire::Rejected));
        assert_eq!(g.release_permit(b, t), None);
        assert_eq!(g.acquire_permit(a, t, 3), Some(Acquire::Granted));
        assert_eq!(g.enter(a, t), Entry::Pass { breaker: true });
        g.record(a, t, Outcome::Error, SimTime::from_millis(1));
        assert_eq!(g.enter(b, t), Entry::ShortCircuited);
        assert_eq!(g.breakers(0).map(|(i, _)| i).collect::<Vec<_>>(), vec![None]);
    }

    #[test]
    fn a_fleet_breaker_still_comes_before_an_instance_rate_limiter() {
        let mut g = guards_of(1, |e| {
            let cfg = BreakerConfig::Consecutive(ConsecutiveConfig {
                failures: 1,
                open_for: SimTime::from_secs(5),
                ..ConsecutiveConfig::default()
            });
            e.policy.breaker = Some(cfg);
            e.policy.scope.breaker = Scope::Service;
            e.policy.rate_limit = Some(LimiterConfig::TokenBucket(TokenBucketConfig::per_second(1, 1)));
        });
        let a = g.at(0, 0);
        let t = SimTime::from_secs(1);
        assert_eq!(g.enter(a, t), Entry::Pass { breaker: true });
        g.record(a, t, Outcome::Error, SimTime::from_millis(1));
        // Open: refused by the fleet breaker without spending the instance's token...
        assert_eq!(g.enter(a, SimTime::from_secs(2)), Entry::ShortCircuited);
        // ...so at 6 s the trial finds the bucket refilled.
        assert_eq!(g.enter(a, SimTime::from_secs(6)), Entry::Pass { breaker: true });
    }

    #[test]
    fn envoy_thresholds_refuse_past_their_maximum_and_admit_again_after_a_release() {
        use crate::policy::envoy_limits::Thresholds;
        let t = Thresholds { max_pending_requests: 1, max_requests: 2, max_retries: 1 };
        let mut g = edge_guard(|e| e.policy.thresholds = Some(t));
        assert!(g.acquire_pending());
        assert!(!g.acquire_pending());
        g.release_pending();
        assert!(g.acquire_request() && g.acquire_request());
        assert!(!g.acquire_request());
        g.release_request();
        assert!(g.acquire_request());
        assert!(g.acquire_retry());
        assert!(!g.acquire_retry());
        g.release_retry();
        assert!(g.acquire_retry());
        let l = g.limits().unwrap();
        assert_eq!((l.request_overflows(), l.retries.overflows()), (2, 1));
    }

    #[test]
    fn without_thresholds_or_with_an_envoy_budget_nothing_is_counted() {
        use crate::policy::envoy_limits::Thresholds;
        use crate::policy::retry::BudgetConfig;
        let mut g = edge_guard(|_| {});
        assert!(g.acquire_pending() && g.acquire_request() && g.acquire_retry());
        g.release_retry();
        assert!(g.limits().is_none());
        let t = Thresholds { max_pending_requests: 1, max_requests: 1, max_retries: 0 };
        let mut g = edge_guard(|e| {
            e.policy.thresholds = Some(t);
            e.policy.budget = Some(BudgetConfig::envoy());
        });
        // The budget replaces max_retries: 0 retries would refuse every one.
        assert!(g.acquire_retry());
        g.release_retry();
        assert_eq!(g.limits().unwrap().retries.count(), 0);
    }
}
