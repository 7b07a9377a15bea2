//! The guards' unit tests: one caller instance's view, and fleets of them.

use super::*;
use crate::policy::breaker::{BreakerConfig, ConsecutiveConfig};
use crate::policy::bulkhead::BulkheadConfig;
use crate::policy::rate_limit::{CycleLimiterConfig, TokenBucketConfig};
use crate::policy::retry::{AdaptiveConfig, BudgetConfig, GiveUpReason, RetryConfig, RetryDecision};

/// A consecutive breaker that one failure opens for 5 s.
fn trips_on_one_failure() -> BreakerConfig {
    BreakerConfig::Consecutive(ConsecutiveConfig {
        failures: 1,
        open_for: SimTime::from_secs(5),
        ..ConsecutiveConfig::default()
    })
}

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
    fn retry(&mut self, st: &mut RetryState, cfg: &RetryConfig, outcome: Outcome, now: SimTime) -> RetryDecision {
        self.guards.retry(self.at, st, cfg, outcome, now)
    }
    fn try_hedge(&mut self, now: SimTime) -> bool {
        self.guards.try_hedge(self.at, now)
    }
    fn attempt_outcome(&mut self, now: SimTime, outcome: Outcome, st: &RetryState) {
        self.guards.attempt_outcome(self.at, now, outcome, st);
    }
    fn send_admit(&mut self, now: SimTime) -> Admit {
        self.guards.send_admit(self.at, now)
    }
    fn call_started(&mut self, now: SimTime) {
        self.guards.call_started(self.at, now);
    }
    fn rate_limit(&mut self, now: SimTime) -> RateAcquire {
        self.guards.all[self.at.local as usize].rate_limit(now)
    }
    fn acquire_permit(&mut self, now: SimTime, c: CallId) -> Option<Acquire> {
        self.guards.acquire_permit(self.at, now, c)
    }
    fn release_permit(&mut self, now: SimTime) -> Option<CallId> {
        let holder = self.guards.bulkhead_holder(self.at);
        self.guards.release_permit(holder, now)
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
        let cfg = trips_on_one_failure();
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
        e.policy.breaker = Some(BreakerConfig::Consecutive(ConsecutiveConfig { failures: 2, ..Default::default() }));
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
    let consecutive = trips_on_one_failure();
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
    let consecutive = trips_on_one_failure();
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
    assert_eq!(g.release_permit(g.bulkhead_holder(b), t), None);
    assert_eq!(g.acquire_permit(a, t, 3), Some(Acquire::Granted));
    assert_eq!(g.enter(a, t), Entry::Pass { breaker: true });
    g.record(a, t, Outcome::Error, SimTime::from_millis(1));
    assert_eq!(g.enter(b, t), Entry::ShortCircuited);
    assert_eq!(g.breakers(0).map(|(i, _)| i).collect::<Vec<_>>(), vec![None]);
}

#[test]
fn a_fleet_breaker_still_comes_before_an_instance_rate_limiter() {
    let mut g = guards_of(1, |e| {
        let cfg = trips_on_one_failure();
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
