//! Every edge's guards laid out edge by edge: the one its caller's fleet shares, then one
//! per caller instance. A call passes the pair it belongs to ([`GuardAt`]); each policy
//! sits in exactly one of the two, so asking both, stage by stage, keeps resilience4j's
//! order whatever the scopes.

use crate::engine::{RngStreams, SimTime};
use crate::metrics::Outcome;
use crate::policy::breaker::{BreakerState, CircuitBreaker};
use crate::policy::bulkhead::Acquire;
use crate::policy::rate_limit::RateAcquire;
use crate::policy::retry::{Admit, Budget, HedgeConfig, RetryConfig, RetryDecision, RetryState};

use super::super::super::Model;
use super::super::slots::{CallId, CallState};
use super::{EdgeGuard, Entry, Holder};

/// The guards a call passes: its edge's fleet guard and its caller instance's guard
/// (indices into [`Guards`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(in crate::model::sim) struct GuardAt {
    pub(in crate::model::sim) fleet: u32,
    pub(in crate::model::sim) local: u32,
}

/// Every edge's guards, edge by edge: the fleet's guard, then one per caller instance.
pub(in crate::model::sim) struct Guards {
    pub(in crate::model::sim) all: Vec<EdgeGuard>,
    /// Per edge, the index of its fleet guard (its instances' guards follow it).
    pub(in crate::model::sim) first: Vec<u32>,
}

impl Guards {
    /// Fresh guards for every edge of `model`.
    pub(in crate::model::sim) fn of(model: &Model, streams: &RngStreams) -> Self {
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
    pub(in crate::model::sim) fn at(&self, edge: usize, instance: u32) -> GuardAt {
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
    pub(in crate::model::sim) fn call_started(&mut self, at: GuardAt, now: SimTime) {
        self.pair(at).into_iter().for_each(|g| g.call_started(now));
    }

    /// A call is over (answered or dropped).
    pub(in crate::model::sim) fn call_ended(&mut self, at: GuardAt) {
        self.pair(at).into_iter().for_each(EdgeGuard::call_ended);
    }

    /// An attempt passes the breaker, then the rate limiter, wherever each lives. A
    /// breaker permission taken by an attempt the limiter then refuses is given back
    /// (the attempt records no result).
    pub(in crate::model::sim) fn enter(&mut self, at: GuardAt, now: SimTime) -> Entry {
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
    pub(in crate::model::sim) fn breaker_timer(&mut self, at: GuardAt) -> Option<(u32, SimTime)> {
        let g = if self.all[at.fleet as usize].breaker.is_some() { at.fleet } else { at.local };
        self.all[g as usize].breaker_timer().map(|t| (g, t))
    }

    /// Guard `g`'s scheduled breaker timer fired.
    pub(in crate::model::sim) fn on_breaker_timer(&mut self, g: u32, now: SimTime) {
        self.all[g as usize].on_breaker_timer(now);
    }

    /// Records the result of an attempt the breaker admitted (see [`EdgeGuard::record`]).
    pub(in crate::model::sim) fn record(&mut self, at: GuardAt, now: SimTime, outcome: Outcome, took: SimTime) {
        self.holder(at, |g| g.breaker.is_some()).record(now, outcome, took);
    }

    /// Gives back the breaker permission of an admitted attempt that will report no
    /// result (its caller is gone).
    pub(in crate::model::sim) fn release_breaker(&mut self, at: GuardAt, now: SimTime) {
        if let Some(b) = self.holder(at, |g| g.breaker.is_some()).breaker.as_deref_mut() {
            b.release_permission(now);
        }
    }

    /// Asks the bulkhead for a permit for call `c`; `None` without a bulkhead.
    pub(in crate::model::sim) fn acquire_permit(&mut self, at: GuardAt, now: SimTime, c: CallId) -> Option<Acquire> {
        self.holder(at, |g| g.bulkhead.is_some()).acquire_permit(now, c)
    }

    /// The index of the guard of the pair that holds the bulkhead.
    pub(in crate::model::sim) fn bulkhead_holder(&self, at: GuardAt) -> u32 {
        if self.all[at.fleet as usize].bulkhead.is_some() { at.fleet } else { at.local }
    }

    /// Returns a permit to guard `g`'s bulkhead; the call it is handed to next, if one waits.
    pub(in crate::model::sim) fn release_permit(&mut self, g: u32, now: SimTime) -> Option<CallId> {
        self.all[g as usize].release_permit(now)
    }

    /// May a hedge of call `c` be sent now? It passes the breaker, the rate limiter and
    /// the bulkhead as an attempt does, but waits for none of them: `None` when one
    /// refuses, else whether it took a bulkhead permit. The breaker lets hedges through
    /// only while it lets everything through (closed, disabled, metrics only): the
    /// half-open trials are the attempts' own, and a hedge is not counted in its
    /// statistics (it records one result per attempt).
    pub(in crate::model::sim) fn admit_hedge(&mut self, at: GuardAt, now: SimTime, c: CallId) -> Option<bool> {
        let open = |b: &CircuitBreaker| {
            !matches!(b.state(now), BreakerState::Closed | BreakerState::Disabled | BreakerState::MetricsOnly)
        };
        if self.holder(at, |g| g.breaker.is_some()).breaker.as_deref().is_some_and(open) {
            return None;
        }
        let [fleet, local] = self.pair(at);
        if !fleet.pass_limiter_now(now) || !local.pass_limiter_now(now) {
            return None;
        }
        match self.holder(at, |g| g.bulkhead.is_some()).try_permit_now(now, c) {
            Some(false) => None,
            permit => Some(permit.is_some()),
        }
    }

    /// Call `c` stops waiting for a permit (see [`EdgeGuard::leave_queue`]).
    pub(in crate::model::sim) fn leave_queue(&mut self, at: GuardAt, c: CallId, timed_out: bool) {
        self.holder(at, |g| g.bulkhead.is_some()).leave_queue(c, timed_out);
    }

    /// What follows a failed attempt: a retry after a backoff, or giving up. The budget
    /// is asked with the active requests of the guard that holds it; the jitter comes
    /// from the caller instance's stream.
    pub(in crate::model::sim) fn retry(
        &mut self,
        at: GuardAt,
        state: &mut RetryState,
        cfg: &RetryConfig,
        outcome: Outcome,
        now: SimTime,
    ) -> RetryDecision {
        let [fleet, local] = self.pair(at);
        let (budget, active) = match fleet.budget.as_deref_mut() {
            Some(b) => (Some(b), fleet.active),
            None => (local.budget.as_deref_mut(), local.active),
        };
        state.on_outcome(cfg, outcome, budget, now, active, &mut local.rng)
    }

    /// True when a granted retry holds a slot of the budget until it ends (Envoy's
    /// concurrency budget), to be given back with [`Guards::end_retry`].
    pub(in crate::model::sim) fn retries_hold_slots(&mut self, at: GuardAt) -> bool {
        self.holder(at, |g| g.budget.is_some()).retries_hold_slots()
    }

    /// A retry that held a budget slot ended.
    pub(in crate::model::sim) fn end_retry(&mut self, at: GuardAt) {
        self.holder(at, |g| g.budget.is_some()).end_retry();
    }

    /// A request's latency at `now`, for percentile hedging (see
    /// [`EdgeGuard::record_latency`]).
    pub(in crate::model::sim) fn record_latency(
        &mut self,
        at: GuardAt,
        now: SimTime,
        latency: SimTime,
        answer: Option<Outcome>,
    ) {
        self.holder(at, |g| g.latency.is_some()).record_latency(now, latency, answer);
    }

    /// When to send the next hedge (see [`EdgeGuard::hedge_delay`]).
    pub(in crate::model::sim) fn hedge_delay(&mut self, at: GuardAt, h: &HedgeConfig, now: SimTime) -> Option<SimTime> {
        self.holder(at, |g| g.latency.is_some()).hedge_delay(h, now)
    }

    /// Restarts the statistics at the end of the warm-up.
    pub(in crate::model::sim) fn reset_stats(&mut self, now: SimTime) {
        self.all.iter_mut().for_each(|g| g.reset_stats(now));
    }

    /// Permits the guards count as taken that no live call holds, or held by live calls
    /// the guards do not count: bulkhead permits and places in its queue, budget slots,
    /// Envoy's pending requests, requests and retries, and half-open trials beyond the
    /// admitted attempts in flight. Zero unless a permit
    /// leaked; the property tests check it after every run.
    /// `holding`: the guard of each request still holding a permit for a caller that gave
    /// it up.
    pub(in crate::model::sim) fn unaccounted<'c>(
        &self,
        calls: impl Iterator<Item = &'c CallState>,
        holding: &[u32],
    ) -> u64 {
        #[derive(Clone, Copy, Default)]
        struct Held {
            permits: u32,
            waiting: u32,
            trials: u32,
            slots: u32,
            pending: u32,
            requests: u32,
            retries: u32,
            limit_slots: u32,
        }
        let mut held = vec![Held::default(); self.all.len()];
        let holder = |at: GuardAt, has: &dyn Fn(&EdgeGuard) -> bool| {
            if has(&self.all[at.fleet as usize]) { at.fleet as usize } else { at.local as usize }
        };
        for &g in holding {
            held[g as usize].permits += 1;
        }
        for cs in calls {
            let b = holder(cs.guard, &|g| g.bulkhead.is_some());
            held[b].permits += u32::from(cs.permits);
            held[b].waiting += u32::from(cs.waiting);
            held[holder(cs.guard, &|g| g.breaker.is_some())].trials += u32::from(cs.breaker_admitted);
            held[holder(cs.guard, &|g| g.budget.is_some())].slots += u32::from(cs.budget_slot);
            held[holder(cs.guard, &|g| g.concurrency.is_some())].limit_slots += u32::from(cs.limit_slot);
            let local = &mut held[cs.guard.local as usize];
            local.pending += u32::from(cs.pending);
            local.requests += u32::from(cs.n_live);
            local.retries += u32::from(cs.retry_slot);
        }
        let mut off = 0u64;
        for (g, h) in self.all.iter().zip(&held) {
            let (permits, waiting) = g.bulkhead.as_deref().map_or((0, 0), |b| (b.in_use(), b.waiting()));
            off += u64::from(permits.abs_diff(h.permits)) + u64::from(waiting.abs_diff(h.waiting));
            off += u64::from(g.breaker.as_deref().map_or(0, |b| b.trials_in_flight()).saturating_sub(h.trials));
            if let Some(Budget::Concurrency(b)) = g.budget.as_deref() {
                off += u64::from(b.in_flight().abs_diff(h.slots));
            }
            if let Some(l) = g.concurrency.as_deref() {
                off += u64::from(l.inflight().abs_diff(h.limit_slots));
            }
            if let Some(l) = g.limits() {
                off += u64::from(l.pending.count().abs_diff(h.pending))
                    + u64::from(l.requests.count().abs_diff(h.requests));
                if !g.retries_hold_slots() {
                    off += u64::from(l.retries.count().abs_diff(h.retries));
                }
            }
        }
        off
    }

    /// Every attempt's end, success or not (see [`EdgeGuard::attempt_outcome`]): the
    /// budget (throttle, quota) and the adaptive pacer learn of it, wherever they live.
    pub(in crate::model::sim) fn attempt_outcome(
        &mut self,
        at: GuardAt,
        now: SimTime,
        outcome: Outcome,
        state: &RetryState,
    ) {
        self.pair(at).into_iter().for_each(|g| g.attempt_outcome(now, outcome, state));
    }

    /// Before an attempt or a hedge is sent: now, or after a wait (the AWS adaptive mode).
    pub(in crate::model::sim) fn send_admit(&mut self, at: GuardAt, now: SimTime) -> Admit {
        self.all[at.local as usize].send_admit(now)
    }

    /// May a hedge be sent now? The extra-load budget, then the retry budget, are asked
    /// (see [`EdgeGuard::try_hedge`]).
    pub(in crate::model::sim) fn try_hedge(&mut self, at: GuardAt, now: SimTime) -> bool {
        let [fleet, local] = self.pair(at);
        let (first, second) = if fleet.hedge_budget.is_some() { (fleet, local) } else { (local, fleet) };
        first.try_hedge(now) && second.try_hedge(now)
    }

    /// The client-side concurrency limit admits an attempt (see [`EdgeGuard::acquire_slot`]).
    pub(in crate::model::sim) fn acquire_slot(&mut self, at: GuardAt) -> bool {
        self.holder(at, |g| g.concurrency.is_some()).acquire_slot()
    }

    /// An admitted attempt ended with `outcome` (`None`: dropped with its caller).
    pub(in crate::model::sim) fn release_slot(
        &mut self,
        at: GuardAt,
        now: SimTime,
        rtt: SimTime,
        outcome: Option<Outcome>,
    ) {
        self.holder(at, |g| g.concurrency.is_some()).release_slot(now, rtt, outcome);
    }

    /// Envoy's `max_pending_requests` (the caller instance's sidecar): an attempt starts
    /// waiting before it is sent; false when it overflows. See [`EdgeGuard::acquire_pending`].
    pub(in crate::model::sim) fn acquire_pending(&mut self, at: GuardAt) -> bool {
        self.all[at.local as usize].acquire_pending()
    }

    /// The waiting attempt stops waiting.
    pub(in crate::model::sim) fn release_pending(&mut self, at: GuardAt) {
        self.all[at.local as usize].release_pending();
    }

    /// Envoy's `max_requests`: a request is about to be sent; false when it overflows.
    pub(in crate::model::sim) fn acquire_request(&mut self, at: GuardAt) -> bool {
        self.all[at.local as usize].acquire_request()
    }

    /// A sent request is over for the caller (answered, abandoned, cancelled).
    pub(in crate::model::sim) fn release_request(&mut self, at: GuardAt) {
        self.all[at.local as usize].release_request();
    }

    /// Envoy's `max_retries`: a granted retry is about to be scheduled; false when it
    /// overflows.
    pub(in crate::model::sim) fn acquire_retry(&mut self, at: GuardAt) -> bool {
        self.all[at.local as usize].acquire_retry()
    }

    /// The retried attempt is over (or its call dropped).
    pub(in crate::model::sim) fn release_retry(&mut self, at: GuardAt) {
        self.all[at.local as usize].release_retry();
    }

    /// Edge `e`'s overflows of Envoy's thresholds, summed over its caller instances:
    /// pending requests, requests, retries; `None` without thresholds.
    pub(in crate::model::sim) fn overflows(&self, e: usize) -> Option<[u64; 3]> {
        let first = self.first[e] as usize;
        let end = self.first.get(e + 1).map_or(self.all.len(), |&x| x as usize);
        let limits = self.all[first..end].iter().filter_map(EdgeGuard::limits);
        limits.fold(None, |sum, l| {
            let [p, r, t] = sum.unwrap_or([0; 3]);
            Some([p + l.pending.overflows(), r + l.requests.overflows(), t + l.retries.overflows()])
        })
    }

    /// Edge `e`'s breakers, with the caller instance each belongs to (`None`: the fleet's).
    pub(in crate::model::sim) fn breakers(&self, e: usize) -> impl Iterator<Item = (Option<u32>, &CircuitBreaker)> {
        let first = self.first[e] as usize;
        let end = self.first.get(e + 1).map_or(self.all.len(), |&x| x as usize);
        let instance = |k: usize| (k > 0).then(|| (k - 1) as u32);
        self.all[first..end].iter().enumerate().filter_map(move |(k, g)| g.breaker.as_deref().map(|b| (instance(k), b)))
    }
}
