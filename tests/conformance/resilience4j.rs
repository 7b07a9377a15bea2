//! resilience4j (github.com/resilience4j/resilience4j): `CircuitBreakerStateMachineTest`,
//! `FixedSizeSlidingWindowMetricsTest`, `SlidingTimeWindowMetricsTest`, `IntervalFunctionTest`,
//! `SupplierRetryTest`, `SemaphoreBulkheadTest` and `AtomicRateLimiterTest`, ported.
//!
//! resilience4j's tests drive a mock clock; here the simulated time plays it, starting at
//! zero where the mock starts (always on a whole second, as the time windows need).
//! Exceptions become outcome kinds: a `RuntimeException` is an `error`, the setUp's ignored
//! `NumberFormatException` a `rejected`. resilience4j's metrics answer -1 below the minimum
//! number of calls; [`BreakerMetrics::failure_rate`] answers `None`.

use resim::engine::{RngStreams, SimTime, Stream};
use resim::metrics::Outcome;
use resim::policy::breaker::BreakerState::{Closed, Disabled, ForcedOpen, HalfOpen, MetricsOnly, Open};
use resim::policy::breaker::{
    BreakerConfig, BreakerState, CircuitBreaker, Classifier, Tally, Verdict, Window, WindowConfig,
};
use resim::policy::bulkhead::{Acquire, Bulkhead, BulkheadConfig};
use resim::policy::rate_limit::{CycleLimiter, CycleLimiterConfig, RateAcquire};
use resim::policy::retry::{
    Backoff, BackoffState, Jitter, RetryConfig, RetryDecision, RetryOn, RetryState, next_delay,
};

const Z: SimTime = SimTime::ZERO;

fn s(secs: u64) -> SimTime {
    SimTime::from_secs(secs)
}

fn ms(millis: u64) -> SimTime {
    SimTime::from_millis(millis)
}

// ---------------------------------------------------------------------------------------------
// CircuitBreakerStateMachineTest
// ---------------------------------------------------------------------------------------------

/// `CircuitBreakerStateMachineTest.setUp`: failure rate 50, 4 calls in half-open, slow calls
/// over 4 s at 50 %, 1 s at most in half-open, a time window of 20 s with at least 5 calls,
/// 5 s open, `NumberFormatException` ignored.
fn state_machine() -> (CircuitBreaker, Classifier) {
    let cfg = WindowConfig {
        failure_rate_threshold: 50.0,
        permitted_calls_in_half_open: 4,
        slow_call_duration: s(4),
        slow_call_rate_threshold: 50.0,
        max_wait_in_half_open: s(1),
        window_size: 20,
        minimum_number_of_calls: 5,
        wait_in_open: s(5),
        ..WindowConfig::default()
    };
    (CircuitBreaker::new(BreakerConfig::TimeWindow(cfg), Z), Classifier::resilience4j(None, &[Outcome::Rejected]))
}

/// `assertCircuitBreakerMetricsEqualTo(failureRate, successful, buffered, failed, notPermitted)`.
fn assert_metrics(b: &CircuitBreaker, now: SimTime, expected: (Option<f64>, u64, u64, u64, u64)) {
    let m = b.metrics(now);
    let got = (m.failure_rate(), m.calls.successes(), m.calls.calls, m.calls.failures, m.not_permitted);
    assert_eq!(got, expected, "metrics at {now}");
}

/// `assertThatMetricsAreReset()`.
const RESET: (Option<f64>, u64, u64, u64, u64) = (None, 0, 0, 0, 0);

/// `tryAcquirePermission()` then the result `verdict` of an instant call, at `now`.
fn call(b: &mut CircuitBreaker, now: SimTime, verdict: Verdict) {
    assert!(b.try_acquire(now), "not permitted at {now}");
    b.record(now, verdict, Z);
}

/// Opens, then half-opens the breaker by hand at `now`, as most upstream tests begin.
fn half_open(b: &mut CircuitBreaker, now: SimTime) {
    b.transition_to(now, Open).unwrap();
    b.transition_to(now, HalfOpen).unwrap();
    assert_eq!(b.state(now), HalfOpen);
}

/// The setUp breaker, opened then half-opened by hand at time zero.
fn half_opened() -> (CircuitBreaker, Classifier) {
    let (mut b, c) = state_machine();
    half_open(&mut b, Z);
    (b, c)
}

/// `shouldThrowCallNotPermittedExceptionWhenStateIsOpen` and `...WhenStateIsForcedOpen`.
#[test]
fn should_throw_call_not_permitted_exception_when_state_is_open_or_forced_open() {
    for state in [Open, ForcedOpen] {
        let (mut b, _) = state_machine();
        b.transition_to(Z, state).unwrap();
        assert!(!b.try_acquire(Z));
        assert_eq!(b.metrics(Z).not_permitted, 1);
    }
}

/// `shouldIncreaseCounterOnReleasePermission` and
/// `shouldThrowCallNotPermittedExceptionWhenNotFurtherTestCallsArePermitted`.
#[test]
fn should_increase_counter_on_release_permission() {
    let (mut b, _) = half_opened();
    let tries: Vec<bool> = (0..6).map(|_| b.try_acquire(Z)).collect();
    assert_eq!(tries, [true, true, true, true, false, false]);
    assert_eq!(b.metrics(Z).not_permitted, 2);
    b.release_permission(Z);
    assert!(b.try_acquire(Z));
}

/// `shouldOnlyPermitFourCallsInHalfOpenState`.
#[test]
fn should_only_permit_four_calls_in_half_open_state() {
    let (mut b, _) = state_machine();
    assert_metrics(&b, Z, RESET);
    for _ in 0..2 {
        half_open(&mut b, Z);
        let tries: Vec<bool> = (0..6).map(|_| b.try_acquire(Z)).collect();
        assert_eq!(tries, [true, true, true, true, false, false]);
    }
}

/// `shouldOpenAfterFailureRateThresholdExceeded2`: successes at 0, 1, 2 s, errors at 3, 4 s
/// (2 of 5 = 40 %: closed), one more error at 5 s (3 of 6 = 50 %: open).
#[test]
fn should_open_after_failure_rate_threshold_exceeded_2() {
    let (mut b, _) = state_machine();
    for (t, v) in [(0, Verdict::Success), (1, Verdict::Success), (2, Verdict::Success), (3, Verdict::Failure)] {
        b.record(s(t), v, Z);
    }
    b.record(s(4), Verdict::Failure, Z);
    assert_eq!(b.state(s(4)), Closed);
    assert_eq!(b.state(s(5)), Closed);
    b.record(s(5), Verdict::Failure, Z);
    assert_eq!(b.state(s(5)), Open);
}

/// `shouldOpenAfterFailureRateThresholdExceeded`.
#[test]
fn should_open_after_failure_rate_threshold_exceeded() {
    let (mut b, _) = state_machine();
    assert!(b.try_acquire(Z));
    assert_eq!(b.state(Z), Closed);
    assert_metrics(&b, Z, RESET);
    call(&mut b, Z, Verdict::Failure);
    assert_metrics(&b, Z, (None, 0, 1, 1, 0));
    call(&mut b, Z, Verdict::Failure);
    assert_metrics(&b, Z, (None, 0, 2, 2, 0));
    call(&mut b, Z, Verdict::Failure);
    assert_metrics(&b, Z, (None, 0, 3, 3, 0));
    call(&mut b, Z, Verdict::Success);
    assert_eq!(b.state(Z), Closed);
    assert_metrics(&b, Z, (None, 1, 4, 3, 0));
    b.record(Z, Verdict::Success, Z);
    // 3 failures of 5 calls: 60 % >= 50 %. OPEN shows the CLOSED window it replaced.
    assert_eq!(b.state(Z), Open);
    assert_metrics(&b, Z, (Some(60.0), 2, 5, 3, 0));
    assert!(!b.try_acquire(Z));
    assert_metrics(&b, Z, (Some(60.0), 2, 5, 3, 1));
}

/// `shouldOpenAfterSlowCallRateThresholdExceeded`: calls of 5 s are slow (> 4 s), of 100 ms
/// are not; 3 slow of 5 = 60 % >= 50 %.
#[test]
fn should_open_after_slow_call_rate_threshold_exceeded() {
    let (mut b, _) = state_machine();
    let calls =
        [(Verdict::Failure, s(5)), (Verdict::Success, s(5)), (Verdict::Failure, ms(100)), (Verdict::Success, ms(100))];
    for (v, d) in calls {
        assert!(b.try_acquire(Z));
        b.record(Z, v, d);
        assert_eq!(b.state(Z), Closed);
    }
    b.record(Z, Verdict::Success, s(5));
    assert_eq!(b.state(Z), Open);
    let m = b.metrics(Z);
    assert_eq!((m.calls.calls, m.calls.slow, m.slow_call_rate()), (5, 3, Some(60.0)));
}

/// `shouldTransitionToHalfOpenAfterWaitDuration`. resilience4j leaves OPEN strictly after
/// the wait (`isAfter`), resim at it (`>=`): the upstream test checks 3 s and 6 s, where both
/// agree; at exactly 5 s resim would already admit the trial.
#[test]
fn should_transition_to_half_open_after_wait_duration() {
    let (mut b, _) = state_machine();
    b.transition_to(Z, Open).unwrap();
    assert_metrics(&b, Z, RESET);
    assert_eq!(b.state(Z), Open);
    assert!(!b.try_acquire(Z));
    assert_eq!(b.state(s(3)), Open);
    assert!(!b.try_acquire(s(3)));
    assert_metrics(&b, s(3), (None, 0, 0, 0, 2));
    assert!(b.try_acquire(s(6)));
    assert_eq!(b.state(s(6)), HalfOpen);
    // Metrics are reset: no trial has ended yet, and nothing was refused in HALF_OPEN.
    assert_metrics(&b, s(6), RESET);
}

/// `shouldTransitionBackToOpenStateWhenFailureRateIsAboveThreshold`: 3 failures of 4 trials.
#[test]
fn should_transition_back_to_open_state_when_failure_rate_is_above_threshold() {
    let (mut b, _) = half_opened();
    assert_metrics(&b, Z, RESET);
    for v in [Verdict::Failure, Verdict::Failure, Verdict::Success, Verdict::Failure] {
        call(&mut b, Z, v);
    }
    assert_eq!(b.state(Z), Open);
    assert_metrics(&b, Z, (Some(75.0), 1, 4, 3, 0));
}

/// `shouldTransitionBackToOpenStateWhenSlowCallRateIsAboveThreshold`: 3 slow trials of 4.
#[test]
fn should_transition_back_to_open_state_when_slow_call_rate_is_above_threshold() {
    let (mut b, _) = half_opened();
    for d in [s(5), s(5), s(5), s(1)] {
        assert!(b.try_acquire(Z));
        b.record(Z, Verdict::Success, d);
    }
    assert_eq!(b.state(Z), Open);
    let m = b.metrics(Z);
    assert_eq!((m.calls.slow, m.slow_call_rate(), m.failure_rate()), (3, Some(75.0), Some(0.0)));
}

/// `shouldTransitionBackToClosedStateWhenFailureIsBelowThreshold`: 1 failure of 4 trials.
#[test]
fn should_transition_back_to_closed_state_when_failure_is_below_threshold() {
    let (mut b, _) = half_opened();
    assert_metrics(&b, Z, RESET);
    for v in [Verdict::Failure, Verdict::Success, Verdict::Success, Verdict::Success] {
        call(&mut b, Z, v);
    }
    assert!(b.try_acquire(Z));
    assert_eq!(b.state(Z), Closed);
    assert_metrics(&b, Z, RESET);
    call(&mut b, Z, Verdict::Success);
    assert_metrics(&b, Z, (None, 1, 1, 0, 0));
}

/// `shouldDisableCircuitBreaker`.
#[test]
fn should_disable_circuit_breaker() {
    let (mut b, _) = state_machine();
    b.transition_to(Z, Disabled).unwrap();
    assert_eq!(b.state(Z), Disabled);
    assert_metrics(&b, Z, RESET);
    call(&mut b, Z, Verdict::Success);
    (0..4).for_each(|_| call(&mut b, Z, Verdict::Failure));
    assert_metrics(&b, Z, RESET);
}

/// `shouldForceOpenCircuitBreaker`: no wait ends FORCED_OPEN.
#[test]
fn should_force_open_circuit_breaker() {
    let (mut b, _) = state_machine();
    b.transition_to(Z, ForcedOpen).unwrap();
    assert_eq!(b.state(Z), ForcedOpen);
    assert!(!b.try_acquire(Z));
    assert!(!b.try_acquire(s(6)));
    assert_eq!(b.state(s(6)), ForcedOpen);
    assert_metrics(&b, s(6), (None, 0, 0, 0, 2));
}

/// `shouldReleasePermissionWhenExceptionIgnored`: the ignored exception gives its trial
/// permit back, so a fifth call is admitted; 1 failure of 4 recorded trials closes.
#[test]
fn should_release_permission_when_exception_ignored() {
    let (mut b, c) = half_opened();
    for k in 1..=3 {
        call(&mut b, Z, Verdict::Success);
        assert_eq!(b.state(Z), HalfOpen);
        assert_metrics(&b, Z, (None, k, k, 0, 0));
    }
    call(&mut b, Z, c.verdict(Outcome::Rejected)); // NumberFormatException: ignored
    assert_eq!(b.state(Z), HalfOpen);
    assert_metrics(&b, Z, (None, 3, 3, 0, 0));
    call(&mut b, Z, c.verdict(Outcome::Error)); // RuntimeException: recorded
    assert_eq!(b.state(Z), Closed);
    assert_metrics(&b, Z, RESET);
}

/// `shouldIgnoreExceptionsAndThenTransitionToClosed`: four ignored trials leave all four
/// permits; four successes then close.
#[test]
fn should_ignore_exceptions_and_then_transition_to_closed() {
    let (mut b, c) = half_opened();
    for _ in 0..4 {
        call(&mut b, Z, c.verdict(Outcome::Rejected));
        assert_eq!(b.state(Z), HalfOpen);
    }
    assert_metrics(&b, Z, RESET);
    for _ in 0..3 {
        call(&mut b, Z, Verdict::Success);
        assert_eq!(b.state(Z), HalfOpen);
    }
    assert_metrics(&b, Z, (None, 3, 3, 0, 0));
    call(&mut b, Z, Verdict::Success);
    assert_eq!(b.state(Z), Closed);
    assert_metrics(&b, Z, RESET);
}

/// `shouldNotAllowTransitionFromClosedToHalfOpen` (resilience4j's message names the breaker:
/// "CircuitBreaker 'testName' tried an illegal state transition from CLOSED to HALF_OPEN").
#[test]
fn should_not_allow_transition_from_closed_to_half_open() {
    let (mut b, _) = state_machine();
    let e = b.transition_to(Z, HalfOpen).unwrap_err();
    assert_eq!(e.to_string(), "a circuit breaker cannot move from closed to half_open");
    assert_eq!(b.state(Z), Closed);
}

/// `shouldResetMetricsAfterMetricsOnlyStateTransition`.
#[test]
fn should_reset_metrics_after_metrics_only_state_transition() {
    let (mut b, _) = state_machine();
    b.record(Z, Verdict::Success, Z);
    b.record(Z, Verdict::Success, Z);
    assert_eq!(b.metrics(Z).calls.successes(), 2);
    b.transition_to(Z, MetricsOnly).unwrap();
    assert_eq!(b.state(Z), MetricsOnly);
    assert_eq!(b.metrics(Z).calls.successes(), 0);
}

/// `shouldRecordMetricsInMetricsOnlyState`: 60 % failures, and it stays METRICS_ONLY.
#[test]
fn should_record_metrics_in_metrics_only_state() {
    let (mut b, _) = state_machine();
    b.transition_to(Z, MetricsOnly).unwrap();
    assert!(b.try_acquire(Z));
    assert_metrics(&b, Z, RESET);
    for k in 1..=3 {
        call(&mut b, Z, Verdict::Failure);
        assert_eq!(b.state(Z), MetricsOnly);
        assert_metrics(&b, Z, (None, 0, k, k, 0));
    }
    call(&mut b, Z, Verdict::Success);
    assert_metrics(&b, Z, (None, 1, 4, 3, 0));
    b.record(Z, Verdict::Success, Z);
    assert_eq!(b.state(Z), MetricsOnly);
    assert_metrics(&b, Z, (Some(60.0), 2, 5, 3, 0));
    b.record(Z, Verdict::Failure, Z);
    assert_eq!(b.state(Z), MetricsOnly);
    assert_eq!(b.transitions().len(), 1, "only the manual closed -> metrics_only");
}

/// `allCircuitBreakerStatesAllowTransitionToMetricsOnlyMode` and
/// `allCircuitBreakerStatesAllowTransitionToItsOwnState`.
#[test]
fn all_states_allow_transition_to_metrics_only_and_to_their_own_state() {
    for from in BreakerState::ALL {
        assert!(from.can_transition_to(MetricsOnly), "{from} -> metrics_only");
        assert!(from.can_transition_to(from), "{from} -> {from}");
    }
}

/// `circuitBreakerDoesNotPublishStateTransitionEventsForInternalTransitions`: moving to the
/// state the breaker is in logs nothing.
#[test]
fn does_not_log_transitions_to_the_same_state() {
    let (mut b, _) = state_machine();
    let mut expected = 0;
    for to in [Open, HalfOpen, Disabled, MetricsOnly, Closed] {
        b.transition_to(Z, to).unwrap();
        expected += 1;
        assert_eq!(b.transitions().len(), expected);
        b.transition_to(Z, to).unwrap();
        assert_eq!(b.transitions().len(), expected, "{to} -> {to} is internal");
    }
}

/// `circuitBreakerTransitionsToOpenAfterWaitDurationInHalfOpenState`: 1 s at most in
/// HALF_OPEN; the upstream test sleeps 2 s.
#[test]
fn transitions_to_open_after_wait_duration_in_half_open_state() {
    let (mut b, _) = half_opened();
    assert_eq!(b.next_transition_at(), Some(s(1)));
    b.on_timer(s(2));
    assert_eq!(b.state(s(2)), Open);
}

/// `circuitBreakerTransitionsToClosedAfterWaitDurationInHalfOpenState`: 1 s at most in
/// HALF_OPEN, then CLOSED (`transitionToStateAfterWaitDuration(CLOSED)`, on the defaults).
#[test]
fn transitions_to_closed_after_wait_duration_in_half_open_state() {
    let cfg = WindowConfig { max_wait_in_half_open: s(1), close_after_max_wait: true, ..WindowConfig::default() };
    let mut b = CircuitBreaker::new(BreakerConfig::CountWindow(cfg), Z);
    b.transition_to(Z, Open).unwrap();
    b.transition_to(Z, HalfOpen).unwrap();
    assert_eq!(b.state(Z), HalfOpen);
    b.on_timer(s(2));
    assert_eq!(b.state(s(2)), Closed);
}

/// `circuitBreakerInitializeInClosedState`, `...InOpenState` and `...InMetricOnlyState`.
#[test]
fn circuit_breaker_initializes_in_its_initial_state() {
    let count = BreakerConfig::CountWindow(WindowConfig {
        window_size: 5,
        permitted_calls_in_half_open: 4,
        ..Default::default()
    });
    let mut closed = CircuitBreaker::with_initial_state(count, Closed, Z);
    assert_eq!(closed.state(Z), Closed);
    closed.transition_to(Z, Open).unwrap();
    assert_eq!(closed.state(Z), Open);
    let timed = WindowConfig {
        window_size: 1,
        permitted_calls_in_half_open: 4,
        wait_in_open: s(2),
        automatic_transition: true,
        ..Default::default()
    };
    let mut open = CircuitBreaker::with_initial_state(BreakerConfig::TimeWindow(timed), Open, Z);
    assert_eq!(open.state(Z), Open);
    open.transition_to(Z, HalfOpen).unwrap();
    assert_eq!(open.state(Z), HalfOpen);
    let metrics_only = CircuitBreaker::with_initial_state(count, MetricsOnly, Z);
    assert_eq!(metrics_only.state(Z), MetricsOnly);
}

// ---------------------------------------------------------------------------------------------
// FixedSizeSlidingWindowMetricsTest and SlidingTimeWindowMetricsTest. resim's windows keep
// counts only (the breaker reads no duration beyond the slow flag): the upstream assertions on
// total and average duration have no counterpart.
// ---------------------------------------------------------------------------------------------

/// `Metrics.Outcome`: SUCCESS, ERROR, SLOW_SUCCESS, SLOW_ERROR as (failed, slow).
const SUCCESS: (bool, bool) = (false, false);
const ERROR: (bool, bool) = (true, false);
const SLOW_SUCCESS: (bool, bool) = (false, true);
const SLOW_ERROR: (bool, bool) = (true, true);

fn record(w: &mut Window, now: SimTime, (failed, slow): (bool, bool)) -> Tally {
    w.record(now, failed, slow)
}

/// (total, successful, failed, slow, slow successful, slow failed, failure rate) of a snapshot.
fn counts(t: Tally) -> (u64, u64, u64, u64, u64, u64, f64) {
    (t.calls, t.successes(), t.failures, t.slow, t.slow_successes(), t.slow_failures, t.failure_rate())
}

/// `checkInitialBucketCreation`, `testRecordSuccess`, `testRecordError`,
/// `testRecordSlowSuccess` (both window kinds, size 5).
#[test]
fn sliding_windows_record_single_outcomes() {
    for fresh in [|| Window::count(5), || Window::time(5)] {
        assert_eq!(counts(fresh().snapshot(Z)), (0, 0, 0, 0, 0, 0, 0.0));
        assert_eq!(counts(record(&mut fresh(), Z, SUCCESS)), (1, 1, 0, 0, 0, 0, 0.0));
        assert_eq!(counts(record(&mut fresh(), Z, ERROR)), (1, 0, 1, 0, 0, 0, 100.0));
        assert_eq!(counts(record(&mut fresh(), Z, SLOW_SUCCESS)), (1, 1, 0, 1, 1, 0, 0.0));
    }
}

/// `testSlowCallsPercentage` (both window kinds, size 5): 2 slow of 5 = 40 %.
#[test]
fn sliding_windows_slow_calls_percentage() {
    for mut w in [Window::count(5), Window::time(5)] {
        for o in [SLOW_SUCCESS, SLOW_ERROR, SUCCESS, SUCCESS, SUCCESS] {
            record(&mut w, Z, o);
        }
        let t = w.snapshot(Z);
        assert_eq!((t.calls, t.successes(), t.slow, t.slow_successes(), t.slow_failures), (5, 4, 2, 1, 1));
        assert_eq!(t.slow_call_rate(), 40.0);
    }
}

/// `FixedSizeSlidingWindowMetricsTest.testSlidingWindowMetrics` (size 4): the fifth call
/// pushes the first (the error) out.
#[test]
fn fixed_size_sliding_window_metrics() {
    let mut w = Window::count(4);
    let expected = [(1, 0, 1, 100.0), (2, 1, 1, 50.0), (3, 2, 1, 100.0 / 3.0), (4, 3, 1, 25.0), (4, 4, 0, 0.0)];
    for (o, (calls, ok, failed, rate)) in [ERROR, SUCCESS, SUCCESS, SUCCESS, SUCCESS].into_iter().zip(expected) {
        let t = record(&mut w, Z, o);
        assert_eq!((t.calls, t.successes(), t.failures), (calls, ok, failed));
        // resilience4j computes in f32: 33.333332f; the same value to f32 precision.
        assert!((t.failure_rate() - rate).abs() < 1e-5, "{} != {rate}", t.failure_rate());
    }
}

/// `FixedSizeSlidingWindowMetricsTest.testSlidingWindowMetricsWithSlowCalls` (size 2).
#[test]
fn fixed_size_sliding_window_metrics_with_slow_calls() {
    let mut w = Window::count(2);
    let steps = [
        (SLOW_ERROR, (1, 0, 1, 1, 0, 1, 100.0)),
        (SLOW_SUCCESS, (2, 1, 1, 2, 1, 1, 50.0)),
        (SUCCESS, (2, 2, 0, 1, 1, 0, 0.0)),
        (SUCCESS, (2, 2, 0, 0, 0, 0, 0.0)),
        (SUCCESS, (2, 2, 0, 0, 0, 0, 0.0)),
    ];
    for (o, expected) in steps {
        assert_eq!(counts(record(&mut w, Z, o)), expected);
    }
}

/// `SlidingTimeWindowMetricsTest.shouldClearSlidingTimeWindowMetrics` (5 one-second buckets):
/// calls at 0, 100 and 800 ms are held until 4.8 s and gone at 5.8 s.
#[test]
fn sliding_time_window_metrics_clear() {
    let mut w = Window::time(5);
    assert_eq!(counts(record(&mut w, Z, ERROR)), (1, 0, 1, 0, 0, 0, 100.0));
    assert_eq!(counts(record(&mut w, ms(100), SUCCESS)), (2, 1, 1, 0, 0, 0, 50.0));
    let t = record(&mut w, ms(800), SLOW_ERROR);
    assert_eq!((t.calls, t.successes(), t.failures, t.slow_failures), (3, 1, 2, 1));
    let t = w.snapshot(ms(4800));
    assert_eq!((t.calls, t.successes(), t.failures, t.slow_failures), (3, 1, 2, 1));
    assert_eq!(counts(w.snapshot(ms(5800))), (0, 0, 0, 0, 0, 0, 0.0));
    assert_eq!(counts(record(&mut w, ms(5900), SUCCESS)), (1, 1, 0, 0, 0, 0, 0.0));
    assert_eq!(counts(record(&mut w, ms(10900), SUCCESS)), (1, 1, 0, 0, 0, 0, 0.0));
}

/// `SlidingTimeWindowMetricsTest.testSlidingTimeWindowMetrics` (5 one-second buckets).
#[test]
fn sliding_time_window_metrics() {
    let mut w = Window::time(5);
    // (time in ms, outcome, expected total, successful, failed) as the upstream clock moves.
    let steps = [
        (0, ERROR, 1, 0, 1),
        (100, SUCCESS, 2, 1, 1),
        (200, SUCCESS, 3, 2, 1),
        (1200, SUCCESS, 4, 3, 1),
        (2200, SUCCESS, 5, 4, 1),
        (3200, ERROR, 6, 4, 2),
        (4200, SUCCESS, 7, 5, 2),
        // 5.2 s: second 0 (the error and two successes) slides out.
        (5200, SUCCESS, 5, 4, 1),
        (6200, SUCCESS, 5, 4, 1),
        // 11.2 s: everything before 7 s is gone.
        (11200, SUCCESS, 1, 1, 0),
    ];
    for (at, o, calls, ok, failed) in steps {
        let t = record(&mut w, ms(at), o);
        assert_eq!((t.calls, t.successes(), t.failures), (calls, ok, failed), "at {at} ms");
    }
}

// ---------------------------------------------------------------------------------------------
// IntervalFunctionTest. resim's rungs are exact (`base · m^(n−1)` in nanoseconds), where
// resilience4j truncates each rung to whole milliseconds before multiplying again; the bounds
// below use the exact rungs.
// ---------------------------------------------------------------------------------------------

fn rng() -> Stream {
    RngStreams::new(7, 0).stream("interval")
}

/// The sleeps before retries 1..n of `backoff` with `jitter`.
fn sleeps(backoff: Backoff, jitter: Jitter, n: u32) -> Vec<SimTime> {
    let (mut state, mut r) = (BackoffState::new(), rng());
    (1..=n).map(|k| next_delay(&backoff, &jitter, k, &mut state, &mut r)).collect()
}

/// `generatesRandomizedIntervals`: `ofRandomized(100, 0.5)` stays within [50, 150] ms.
#[test]
fn generates_randomized_intervals() {
    let v = sleeps(Backoff::Fixed { delay: ms(100) }, Jitter::Proportional { fraction: 0.5 }, 49);
    assert!(v.iter().all(|d| (ms(50)..=ms(150)).contains(d)), "{v:?}");
}

/// `generatesExponentialIntervals`: `ofExponentialBackoff(100, 1.5)` grows at every attempt.
#[test]
fn generates_exponential_intervals() {
    let v = sleeps(Backoff::Exponential { base: ms(100), multiplier: 1.5, cap: SimTime::MAX }, Jitter::None, 49);
    assert!(v.windows(2).all(|p| p[1] > p[0]), "{v:?}");
}

/// `generatesCappedExponentialIntervals`: `ofExponentialBackoff(100, 2, 100_000)` grows until
/// the cap: 100 · 2^10 = 102 400 > 100 000, so attempts 11, 12 and 13 sleep 100 s.
#[test]
fn generates_capped_exponential_intervals() {
    let v = sleeps(Backoff::Exponential { base: ms(100), multiplier: 2.0, cap: ms(100_000) }, Jitter::None, 13);
    assert!(v[..11].windows(2).all(|p| p[1] > p[0]), "{v:?}");
    assert_eq!((v[11], v[12]), (ms(100_000), ms(100_000)));
}

/// `generatesExponentialRandomIntervals`: `ofExponentialRandomBackoff(100, 1.5, 0.5)`: attempt
/// k within ±50 % of 100 · 1.5^(k−1) ms.
#[test]
fn generates_exponential_random_intervals() {
    let backoff = Backoff::Exponential { base: ms(100), multiplier: 1.5, cap: SimTime::MAX };
    let v = sleeps(backoff, Jitter::Proportional { fraction: 0.5 }, 49);
    for (k, d) in (1..).zip(v) {
        let rung = backoff.delay(k).as_secs_f64();
        let x = d.as_secs_f64();
        assert!(x >= rung * 0.5 - 1e-9 && x <= rung * 1.5 + 1e-9, "attempt {k}: {x} vs {rung}");
    }
}

/// `generatesCappedExponentialRandomIntervals`, where resim deliberately differs:
/// resilience4j randomises the rung, then caps (`min(randomize(x), max)`), so a capped sleep
/// is exactly the cap; resim caps the rung, then randomises (jitter is applied to the ladder's
/// rung, as AWS's jitter formulas are), so a capped sleep is within ±50 % of the cap.
#[test]
fn generates_capped_exponential_random_intervals_around_the_cap() {
    let backoff = Backoff::Exponential { base: ms(100), multiplier: 1.5, cap: ms(100_000) };
    let v = sleeps(backoff, Jitter::Proportional { fraction: 0.5 }, 49);
    for (k, d) in (1..).zip(v) {
        let rung = backoff.delay(k).as_secs_f64();
        let x = d.as_secs_f64();
        assert!(x >= rung * 0.5 - 1e-9 && x <= rung * 1.5 + 1e-9, "attempt {k}: {x} vs {rung}");
    }
    assert_eq!(backoff.delay(49), ms(100_000));
}

// ---------------------------------------------------------------------------------------------
// SupplierRetryTest (resilience4j-retry): attempts made and total time slept.
// ---------------------------------------------------------------------------------------------

/// Runs a call whose attempts end in `outcomes` (the last one repeats) under `cfg`: the
/// attempts made and the total sleep, as `SupplierRetryTest` counts them (`sleptTime`).
fn retry_run(cfg: &RetryConfig, outcomes: &[Outcome]) -> (u32, SimTime) {
    let (mut state, mut r, mut slept) = (RetryState::new(), rng(), Z);
    for k in 0.. {
        let o = outcomes[k.min(outcomes.len() - 1)];
        match state.on_outcome(cfg, o, None, slept, 0, &mut r) {
            RetryDecision::Retry { delay, .. } => slept += delay,
            RetryDecision::Done | RetryDecision::GiveUp(_) => break,
        }
    }
    (state.attempts(), slept)
}

/// `shouldReturnAfterThreeAttempts` (defaults: 3 attempts, 500 ms apart: slept 1 s),
/// `shouldReturnSuccessfullyAfterSecondAttempt` (slept 500 ms) and `shouldReturnAfterOneAttempt`
/// (`maxAttempts(1)`: nothing slept).
#[test]
fn retry_defaults_attempts_and_sleeps() {
    let defaults = RetryConfig::resilience4j();
    assert_eq!(retry_run(&defaults, &[Outcome::Error]), (3, ms(1000)));
    assert_eq!(retry_run(&defaults, &[Outcome::Error, Outcome::Ok]), (2, ms(500)));
    let once = RetryConfig { max_attempts: 1, ..defaults };
    assert_eq!(retry_run(&once, &[Outcome::Error]), (1, Z));
}

/// `shouldTakeIntoAccountBackoffFunction` (`ofExponentialBackoff(500, 2.0)`: 500 + 1000 ms) and
/// `shouldReturnAfterOneAttemptAndIgnoreException` (an exception not retried: one attempt).
#[test]
fn retry_backoff_function_and_ignored_exceptions() {
    let exp = RetryConfig {
        backoff: Backoff::Exponential { base: ms(500), multiplier: 2.0, cap: SimTime::MAX },
        ..RetryConfig::resilience4j()
    };
    assert_eq!(retry_run(&exp, &[Outcome::Error]), (3, ms(1500)));
    let none = RetryConfig { retry_on: RetryOn { error: false, ..RetryOn::ALL }, ..RetryConfig::resilience4j() };
    assert_eq!(retry_run(&none, &[Outcome::Error]), (1, Z));
}

// ---------------------------------------------------------------------------------------------
// SemaphoreBulkheadTest
// ---------------------------------------------------------------------------------------------

/// `shouldHandleBasicBulkheadOperationsInBothThreadModes`: 2 permits, no wait.
#[test]
fn semaphore_bulkhead_basic_operations() {
    let mut b = Bulkhead::new(BulkheadConfig::new(2, Z));
    assert_eq!(b.try_acquire(Z, 1), Acquire::Granted);
    assert_eq!(b.try_acquire(Z, 2), Acquire::Granted);
    assert_eq!(b.available(), 0);
    assert_eq!(b.try_acquire(Z, 3), Acquire::Rejected);
    assert_eq!(b.release(Z), None);
    assert_eq!(b.available(), 1);
    assert_eq!(b.release(Z), None);
    assert_eq!(b.available(), 2);
    assert_eq!(b.try_acquire(Z, 4), Acquire::Granted);
    let st = b.stats();
    assert_eq!((st.granted, st.rejected), (3, 1));
}

/// `shouldHandleTimeoutBehaviorConsistentlyInBothThreadModes` and `testEntryTimeout`: one
/// permit, a 50 ms wait; the second caller waits exactly 50 ms and is refused.
#[test]
fn semaphore_bulkhead_wait_times_out() {
    let mut b = Bulkhead::new(BulkheadConfig::new(1, ms(50)));
    assert_eq!(b.try_acquire(Z, 1), Acquire::Granted);
    assert_eq!(b.try_acquire(Z, 2), Acquire::Queued { deadline: ms(50) });
    assert_eq!(b.next_deadline(), Some(ms(50)));
    assert_eq!(b.expire(ms(50)), Some(2));
    assert_eq!(b.stats().timed_out, 1);
}

/// `testZeroMaxConcurrentCalls` and `testCreateWithDefaults` (25 permits, no wait).
#[test]
fn semaphore_bulkhead_zero_permits_and_defaults() {
    let mut b = Bulkhead::new(BulkheadConfig::new(0, Z));
    assert_eq!(b.try_acquire(Z, 1), Acquire::Rejected);
    assert_eq!(BulkheadConfig::default(), BulkheadConfig::new(25, Z));
}

// ---------------------------------------------------------------------------------------------
// AtomicRateLimiterTest: one permission per 250 ms cycle; `setTimeOnNanos(t)` is the time
// since the limiter's start.
// ---------------------------------------------------------------------------------------------

const CYCLE: SimTime = SimTime(250_000_000);

fn limiter(timeout: SimTime, per_cycle: u32, cycle: SimTime) -> CycleLimiter {
    let cfg =
        CycleLimiterConfig { limit_for_period: per_cycle, limit_refresh_period: cycle, timeout_duration: timeout };
    CycleLimiter::new(cfg, Z)
}

/// `metrics.getAvailablePermissions()` and `getNanosToWait()` at `now`.
fn limiter_metrics(l: &CycleLimiter, now: SimTime) -> (i64, Option<SimTime>) {
    (l.permissions_at(now), l.wait_at(now))
}

/// The common opening of the upstream tests: at one cycle, the caller takes the cycle's
/// one permission at once; none is left and the next comes a cycle later.
fn first_permission_taken(timeout: SimTime) -> CycleLimiter {
    let mut l = limiter(timeout, 1, CYCLE);
    assert_eq!(l.try_acquire(CYCLE), RateAcquire::Now);
    assert_eq!(limiter_metrics(&l, CYCLE), (0, Some(CYCLE)));
    l
}

/// `permissionsInFirstCycle`.
#[test]
fn permissions_in_first_cycle() {
    let l = limiter(Z, 1, CYCLE);
    assert_eq!(l.permissions_at(CYCLE - SimTime(10)), 1);
}

/// `acquireAndRefreshWithEventPublishing`: no timeout.
#[test]
fn acquire_and_refresh() {
    let mut l = first_permission_taken(Z);
    assert_eq!(l.try_acquire(CYCLE), RateAcquire::Rejected);
    assert_eq!(limiter_metrics(&l, CYCLE), (0, Some(CYCLE)));
    let two = CYCLE + CYCLE;
    assert_eq!(l.try_acquire(two), RateAcquire::Now);
    assert_eq!(limiter_metrics(&l, two), (0, Some(CYCLE)));
    assert_eq!(l.try_acquire(two), RateAcquire::Rejected);
    assert_eq!(limiter_metrics(&l, two), (0, Some(CYCLE)));
}

/// `reserveAndRefresh`: a timeout of one cycle; the second caller reserves the next cycle's
/// permission (-1 available, two cycles to wait for another), and at 2 cycles + 10 ns it has
/// been paid back.
#[test]
fn reserve_and_refresh() {
    let mut l = first_permission_taken(CYCLE);
    assert_eq!(l.try_acquire(CYCLE), RateAcquire::After(CYCLE));
    assert_eq!(limiter_metrics(&l, CYCLE), (-1, Some(CYCLE + CYCLE)));
    let later = CYCLE + CYCLE + SimTime(10);
    assert_eq!(limiter_metrics(&l, later), (0, Some(CYCLE - SimTime(10))));
}

/// `reserveFewThenSkipCyclesBeforeRefreshNonBlocking`: a reservation, a refusal (two cycles
/// away, past the one-cycle timeout), then six cycles on a full cycle's worth, never more.
#[test]
fn reserve_few_then_skip_cycles_before_refresh() {
    let mut l = first_permission_taken(CYCLE);
    let RateAcquire::After(wait) = l.try_acquire(CYCLE) else { panic!("no reservation") };
    assert!(wait > Z && wait <= CYCLE);
    assert_eq!(limiter_metrics(&l, CYCLE), (-1, Some(CYCLE + CYCLE)));
    assert_eq!(l.try_acquire(CYCLE), RateAcquire::Rejected);
    assert_eq!(limiter_metrics(&l, CYCLE), (-1, Some(CYCLE + CYCLE)));
    let six = SimTime(CYCLE.0 * 6 + 10);
    assert_eq!(limiter_metrics(&l, six), (1, Some(Z)));
}

/// `rejectedByTimeoutNonBlocking`.
#[test]
fn rejected_by_timeout() {
    let mut l = first_permission_taken(Z);
    assert_eq!(l.try_acquire(CYCLE), RateAcquire::Rejected);
    assert_eq!(limiter_metrics(&l, CYCLE), (0, Some(CYCLE)));
    let almost = CYCLE + CYCLE - SimTime(1);
    assert_eq!(limiter_metrics(&l, almost), (0, Some(SimTime(1))));
}

/// `reservePermissionsUpfront`: 3 per 10 ms cycle, a 12 ms timeout, nine callers 1 ns apart
/// from 10 ms + 1 ns: three at once, three reserve the next cycle (waiting 10 ms minus their
/// offset), three would wait past the timeout (a cycle and more) and are refused.
#[test]
fn reserve_permissions_upfront() {
    let cycle = ms(10);
    let mut l = limiter(ms(12), 3, cycle);
    let waits: Vec<RateAcquire> = (0..9).map(|i| l.try_acquire(cycle + SimTime(i + 1))).collect();
    let after = |ns: u64| RateAcquire::After(SimTime(cycle.0 - ns));
    use RateAcquire::{Now, Rejected};
    assert_eq!(waits, [Now, Now, Now, after(4), after(5), after(6), Rejected, Rejected, Rejected]);
}

/// `RateLimiterConfig.Builder` defaults: 50 permissions per 500 ns, a 5 s timeout.
#[test]
fn rate_limiter_config_defaults() {
    let d = CycleLimiterConfig::default();
    assert_eq!((d.limit_for_period, d.limit_refresh_period, d.timeout_duration), (50, SimTime(500), s(5)));
}
