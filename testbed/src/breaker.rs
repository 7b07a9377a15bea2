//! A call edge's circuit breaker: failsafe 1.3's `StateMachine` (the crate's own state
//! machine, failure policies and backoffs) as a tower layer, with its transitions
//! recorded into the edge's breaker snapshot as the engine records its own.
//!
//! failsafe decides, the layer only asks and tells: `is_call_permitted` before an attempt
//! (false: the attempt is `short_circuited` without a request), `on_success` or
//! `on_error` after it, by the scenario's breaker classification of the outcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use failsafe::backoff::{self, Constant, EqualJittered, Exponential, FullJittered};
use failsafe::failure_policy::{self, ConsecutiveFailures, OrElse, SuccessRateOverTimeWindow};
use failsafe::{FailurePolicy, Instrument, StateMachine};
use resim::engine::SimTime;
use resim::metrics::{BreakerSnapshot, Outcome};
use resim::policy::breaker::{
    BreakerState, Classifier, ConsecutiveFailuresConfig, FailsafeBackoff, FailsafeConfig, SuccessRateConfig, Verdict,
};
use tower::{BoxError, Service};

use crate::client::{Answer, CallReq, Failed, Stack, outcome_of};
use crate::record::Clock;

/// failsafe's backoffs (failsafe-1.3.0/src/backoff.rs): how long the breaker stays open,
/// opening after opening.
#[derive(Clone, Debug)]
pub enum Backoff {
    /// The same delay every time.
    Constant(Constant),
    /// Doubling from `start` up to `max`.
    Exponential(Exponential),
    /// Half the doubled delay fixed, half drawn.
    EqualJittered(EqualJittered),
    /// The doubled delay drawn from zero.
    FullJittered(FullJittered),
}

impl Iterator for Backoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        match self {
            Backoff::Constant(b) => b.next(),
            Backoff::Exponential(b) => b.next(),
            Backoff::EqualJittered(b) => b.next(),
            Backoff::FullJittered(b) => b.next(),
        }
    }
}

impl Backoff {
    /// failsafe's backoff for the scenario's `backoff` key.
    pub fn of(b: FailsafeBackoff) -> Self {
        let secs = Duration::from_secs;
        match b {
            FailsafeBackoff::Constant(d) => Backoff::Constant(backoff::constant(Duration::from_nanos(d.0))),
            FailsafeBackoff::Exponential { start_secs, max_secs } => {
                Backoff::Exponential(backoff::exponential(secs(start_secs), secs(max_secs)))
            }
            FailsafeBackoff::EqualJittered { start_secs, max_secs } => {
                Backoff::EqualJittered(backoff::equal_jittered(secs(start_secs), secs(max_secs)))
            }
            FailsafeBackoff::FullJittered { start_secs, max_secs } => {
                Backoff::FullJittered(backoff::full_jittered(secs(start_secs), secs(max_secs)))
            }
        }
    }
}

/// failsafe's two failure policies (failsafe-1.3.0/src/failure_policy.rs), alone or
/// composed with `or_else` (success rate first, as `Config::new()` composes them).
#[derive(Debug)]
pub enum Policy {
    /// `consecutive_failures(n, backoff)`.
    Consecutive(ConsecutiveFailures<Backoff>),
    /// `success_rate_over_time_window(rate, min_requests, window, backoff)`.
    SuccessRate(SuccessRateOverTimeWindow<Backoff>),
    /// `success_rate(..).or_else(consecutive_failures(..))`.
    Both(OrElse<SuccessRateOverTimeWindow<Backoff>, ConsecutiveFailures<Backoff>>),
}

impl Policy {
    /// The failsafe policy the scenario's `breaker: { preset: failsafe, .. }` resolved to.
    pub fn of(cfg: &FailsafeConfig) -> Self {
        let rate = cfg.success_rate.map(|r| {
            failure_policy::success_rate_over_time_window(
                r.required_success_rate,
                r.min_request_threshold,
                Duration::from_nanos(r.window.0),
                Backoff::of(r.backoff),
            )
        });
        let consecutive =
            cfg.consecutive.map(|c| failure_policy::consecutive_failures(c.failures, Backoff::of(c.backoff)));
        match (rate, consecutive) {
            (Some(r), Some(c)) => Policy::Both(r.or_else(c)),
            (Some(r), None) => Policy::SuccessRate(r),
            (None, Some(c)) => Policy::Consecutive(c),
            // Neither given: `Config::new()`'s pair.
            (None, None) => Policy::of(&FailsafeConfig {
                success_rate: Some(SuccessRateConfig::DEFAULT),
                consecutive: Some(ConsecutiveFailuresConfig::DEFAULT),
            }),
        }
    }
}

impl FailurePolicy for Policy {
    fn record_success(&mut self) {
        match self {
            Policy::Consecutive(p) => p.record_success(),
            Policy::SuccessRate(p) => p.record_success(),
            Policy::Both(p) => p.record_success(),
        }
    }
    fn mark_dead_on_failure(&mut self) -> Option<Duration> {
        match self {
            Policy::Consecutive(p) => p.mark_dead_on_failure(),
            Policy::SuccessRate(p) => p.mark_dead_on_failure(),
            Policy::Both(p) => p.mark_dead_on_failure(),
        }
    }
    fn revived(&mut self) {
        match self {
            Policy::Consecutive(p) => p.revived(),
            Policy::SuccessRate(p) => p.revived(),
            Policy::Both(p) => p.revived(),
        }
    }
}

/// The breaker's record on one edge and caller instance, in the engine's terms.
#[derive(Debug)]
pub struct Log {
    clock: Clock,
    instance: u32,
    state: &'static str,
    since: SimTime,
    snapshot: BreakerSnapshot,
}

impl Log {
    fn new(clock: Clock, instance: u32) -> Self {
        let snapshot = BreakerSnapshot { breakers: 1, final_state: "closed", ..BreakerSnapshot::default() };
        Self { clock, instance, state: "closed", since: SimTime::ZERO, snapshot }
    }

    fn enter(&mut self, to: &'static str) {
        if to == self.state {
            return;
        }
        let now = self.clock.now();
        self.accrue(now);
        self.snapshot.transitions.push((now, self.state, to, Some(self.instance)));
        self.snapshot.openings += u64::from(to == "open");
        self.state = to;
    }

    fn accrue(&mut self, now: SimTime) {
        if let Some(i) = BreakerState::ALL.iter().position(|s| s.as_str() == self.state) {
            self.snapshot.time_in_state[i] += now.saturating_sub(self.since);
        }
        self.since = now;
    }

    /// The snapshot at `end`.
    pub fn snapshot(&mut self, end: SimTime) -> BreakerSnapshot {
        self.accrue(end);
        BreakerSnapshot { final_state: self.state, ..self.snapshot.clone() }
    }

    /// Everything counted so far forgotten (the end of the warm-up); the state kept.
    pub fn reset(&mut self, now: SimTime) {
        self.snapshot = BreakerSnapshot { breakers: 1, final_state: self.state, ..BreakerSnapshot::default() };
        self.since = now;
    }
}

/// failsafe's instrument hook, writing transitions into a [`Log`].
#[derive(Clone, Debug)]
pub struct Recorder(pub Arc<Mutex<Log>>);

impl Instrument for Recorder {
    fn on_call_rejected(&self) {
        crate::world::lock(&self.0).snapshot.short_circuited += 1;
    }
    fn on_open(&self) {
        crate::world::lock(&self.0).enter("open");
    }
    fn on_half_open(&self) {
        crate::world::lock(&self.0).enter("half_open");
    }
    fn on_closed(&self) {
        crate::world::lock(&self.0).enter("closed");
    }
}

/// The breaker layer.
#[derive(Clone)]
pub struct Breaker {
    /// The inner stack.
    pub inner: Stack,
    /// failsafe's state machine (cloned handles share it).
    pub machine: StateMachine<Policy, Recorder>,
    /// Which outcomes are failures, successes or ignored (the scenario's `failure_on`).
    pub classify: Classifier,
    /// The record.
    pub log: Arc<Mutex<Log>>,
}

impl Breaker {
    /// A breaker around `inner` with failure `policy`, recording into a new log for caller
    /// instance `instance` on `clock`.
    pub fn new(inner: Stack, policy: Policy, classify: Classifier, clock: Clock, instance: u32) -> Self {
        let log = Arc::new(Mutex::new(Log::new(clock, instance)));
        let machine = StateMachine::new(policy, Recorder(log.clone()));
        Self { inner, machine, classify, log }
    }
}

impl Service<CallReq> for Breaker {
    type Response = Answer;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: CallReq) -> Self::Future {
        if !self.machine.is_call_permitted() {
            return Box::pin(std::future::ready(Err(Failed(Answer::failed(Outcome::ShortCircuited)).into())));
        }
        crate::world::lock(&self.log).snapshot.calls_permitted += 1;
        let (machine, log, classify) = (self.machine.clone(), self.log.clone(), self.classify);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let r = fut.await;
            let outcome = outcome_of(&r);
            match classify.verdict(outcome) {
                Verdict::Failure => {
                    crate::world::lock(&log).snapshot.failures += 1;
                    machine.on_error();
                }
                // failsafe's `call_with` predicate has two answers: what is not a failure
                // is recorded as a success.
                Verdict::Success | Verdict::Ignored => {
                    crate::world::lock(&log).snapshot.successes += 1;
                    machine.on_success();
                }
            }
            r
        })
    }
}

/// The edge's breakers at `end`, one per caller instance, merged as the engine merges
/// them ([`BreakerSnapshot::merged`]).
pub fn merged(logs: &[Arc<Mutex<Log>>], end: SimTime) -> Option<BreakerSnapshot> {
    BreakerSnapshot::merged(logs.iter().map(|log| crate::world::lock(log).snapshot(end)))
}
