//! The AWS SDKs' standard and adaptive retry modes, after botocore's unit tests
//! (tests/unit/retries/test_quota.py, test_standard.py `TestRetryQuotaChecker`,
//! test_throttling.py, test_bucket.py, test_adaptive.py), against [`RetryQuota`],
//! [`CubicCalculator`], [`RateBucket`], [`RateClocker`] and [`ClientRateLimiter`].
//!
//! botocore's fake clock hands out one timestamp per clock read; here each call takes the
//! time as an argument, so each test passes the timestamp the upstream sequence gives that
//! read. Throttling answers are resim's `rejected` outcomes.

use resim::engine::{RngStreams, SimTime};
use resim::metrics::Outcome;
use resim::policy::retry::{
    AdaptiveConfig, Admit, Budget, BudgetConfig, ClientRateLimiter, CubicCalculator, QuotaConfig, RateBucket,
    RateClocker, RetryConfig, RetryDecision, RetryQuota, RetryState,
};

/// `assertAlmostEqual`'s default: 7 decimal places.
const ALMOST: f64 = 5e-8;

fn s(x: f64) -> SimTime {
    SimTime::from_secs_f64(x)
}

fn quota(capacity: u32) -> RetryQuota {
    RetryQuota::new(QuotaConfig { capacity, ..QuotaConfig::standard() })
}

/// test_quota.py `TestRetryQuota.test_can_acquire_amount`.
#[test]
fn retry_quota_can_acquire_amount() {
    let mut q = quota(50);
    assert!(q.acquire(5));
    assert_eq!(q.available(), 45);
}

/// test_quota.py `TestRetryQuota.test_can_release_amount`.
#[test]
fn retry_quota_can_release_amount() {
    let mut q = quota(50);
    assert!(q.acquire(5));
    q.release(5);
    assert_eq!(q.available(), 50);
}

/// test_quota.py `TestRetryQuota.test_cant_exceed_max_capacity` and
/// `test_noop_if_at_max_capacity`.
#[test]
fn retry_quota_cant_exceed_max_capacity() {
    let mut q = quota(50);
    assert!(q.acquire(5));
    q.release(10);
    assert_eq!(q.available(), 50);
    q.release(10);
    assert_eq!(q.available(), 50);
}

/// test_quota.py `TestRetryQuota.test_cant_go_below_zero`.
#[test]
fn retry_quota_cant_go_below_zero() {
    let mut q = quota(50);
    assert!(q.acquire(49));
    assert_eq!(q.available(), 1);
    assert!(!q.acquire(10));
    assert_eq!(q.available(), 1);
}

/// test_standard.py `TestRetryQuotaChecker.test_can_acquire_quota_non_timeout_error` and
/// `test_can_acquire_quota_for_timeout_error`: 5 units, 10 for a timeout.
#[test]
fn quota_checker_costs_five_or_ten_for_a_timeout() {
    let mut q = quota(500);
    assert_eq!(q.acquire_retry(Outcome::Error), Some(5));
    assert_eq!(q.acquire_retry(Outcome::Timeout), Some(10));
    assert_eq!(q.available(), 485);
}

/// test_standard.py `TestRetryQuotaChecker.test_can_release_quota_based_on_context_value_on_success`:
/// a retried call that succeeds gives back its retry's cost (495 → 500), here through the
/// per-call [`RetryState`] that remembers the cost.
#[test]
fn quota_checker_releases_the_retry_cost_on_success() {
    let mut b = Budget::new(&BudgetConfig::Quota(QuotaConfig::standard()));
    let mut st = RetryState::new();
    let mut rng = RngStreams::new(1, 0).stream("conformance/aws");
    let d = st.on_outcome(&RetryConfig::aws_sdk(), Outcome::Error, Some(&mut b), SimTime::ZERO, 0, &mut rng);
    assert!(matches!(d, RetryDecision::Retry { attempt: 2, .. }));
    assert_eq!(st.last_retry_cost(), Some(5));
    let Budget::Quota(q) = &b else { unreachable!("built from a quota config") };
    assert_eq!(q.available(), 495);
    b.on_success(st.last_retry_cost());
    let Budget::Quota(q) = &b else { unreachable!("built from a quota config") };
    assert_eq!(q.available(), 500);
}

/// test_standard.py `TestRetryQuotaChecker.test_dont_release_quota_if_all_retries_failed`:
/// a call that ends in failure gives nothing back (resim calls `on_success` only for
/// successes, so the quota simply stays at 495).
#[test]
fn quota_checker_keeps_the_cost_when_retries_failed() {
    let mut q = quota(500);
    assert_eq!(q.acquire_retry(Outcome::Error), Some(5));
    assert_eq!(q.available(), 495);
}

/// test_standard.py `TestRetryQuotaChecker.test_can_release_default_quota_if_not_in_context`:
/// a success without a retry gives back 1 unit (495 → 496).
#[test]
fn quota_checker_releases_one_unit_without_retry() {
    let mut q = quota(500);
    assert!(q.acquire(5));
    q.on_success(None);
    assert_eq!(q.available(), 496);
    assert_eq!(RetryState::new().last_retry_cost(), None);
}

/// test_standard.py `TestRetryQuotaChecker.test_acquire_quota_fails`: a quota of 5 pays
/// one retry, then refuses.
#[test]
fn quota_checker_acquire_fails_when_empty() {
    let mut q = quota(5);
    assert_eq!(q.acquire_retry(Outcome::Error), Some(5));
    assert_eq!(q.acquire_retry(Outcome::Error), None);
}

fn cubic(starting_max_rate: f64, beta: f64) -> CubicCalculator {
    CubicCalculator::new(starting_max_rate, 0.0, 0.4, beta)
}

/// test_throttling.py `TestCubicCalculator.test_starting_params`.
#[test]
fn cubic_starting_params() {
    let (_, k, _) = cubic(10.0, 0.7).params();
    assert!((k - 1.957_433_820_584_431_7).abs() < ALMOST, "{k}");
}

/// test_throttling.py `TestCubicCalculator.test_success_responses_until_max_hit`.
#[test]
fn cubic_success_responses_until_max_hit() {
    let c = cubic(10.0, 0.7);
    let (w_max, k, _) = c.params();
    for t in [k / 3.0, k / 2.0, k / 1.1] {
        assert!(c.success_received(t) <= w_max);
    }
    assert!((c.success_received(k) - 10.0).abs() < ALMOST);
    for t in [k * 1.1, k * 2.0] {
        assert!(c.success_received(t) >= w_max);
    }
}

/// test_throttling.py `TestCubicCalculator.test_error_response_decreases_rate_by_beta`.
#[test]
fn cubic_error_response_decreases_rate_by_beta() {
    let mut c = cubic(10.0, 0.7);
    let new_rate = c.error_received(8.0, 1.0);
    assert!((new_rate - 8.0 * 0.7).abs() < ALMOST);
    let (w_max, k, last_fail) = c.params();
    assert_eq!((w_max, last_fail), (8.0, 1.0));
    assert!((k - 1.817_120_592_832_139_7).abs() < ALMOST, "{k}");
}

/// test_throttling.py `TestCubicCalculator.test_t_0_should_match_beta_decrease`.
#[test]
fn cubic_t_0_should_match_beta_decrease() {
    let mut c = cubic(10.0, 0.6);
    assert_eq!(c.error_received(10.0, 1.0), 6.0);
    assert!((c.success_received(1.0) - 6.0).abs() < ALMOST);
}

/// test_bucket.py `create_token_bucket(max_rate=10, min_rate=0.1)`, created at 0.
fn bucket(max_rate: f64, min_rate: f64) -> RateBucket {
    RateBucket::new(max_rate, min_rate, SimTime::ZERO)
}

/// test_bucket.py `TestTokenBucket.test_can_acquire_amount`: one token a second at 10/s.
#[test]
fn token_bucket_can_acquire_amount() {
    let mut b = bucket(10.0, 0.1);
    assert!((1..=5).all(|t| b.try_acquire(1.0, s(f64::from(t)))));
}

/// test_bucket.py `TestTokenBucket.test_can_change_max_capacity_lower`.
#[test]
fn token_bucket_can_change_max_capacity_lower() {
    let mut b = bucket(10.0, 0.1);
    assert!((1..=5).all(|t| b.try_acquire(1.0, s(f64::from(t)))));
    b.set_max_rate(1.0, s(5.0));
    assert_eq!(b.available(), 1.0, "scaling down caps what is held");
    assert!((6..=10).all(|t| b.try_acquire(1.0, s(f64::from(t)))));
}

/// test_bucket.py `TestTokenBucket.test_max_capacity_is_at_least_one`.
#[test]
fn token_bucket_max_capacity_is_at_least_one() {
    let mut b = bucket(10.0, 0.1);
    b.set_max_rate(0.5, s(1.0));
    assert_eq!((b.max_rate(), b.max_capacity()), (0.5, 1.0));
}

/// test_bucket.py `TestTokenBucket.test_acquire_fails_on_non_block_mode_returns_false`.
#[test]
fn token_bucket_acquire_fails_on_non_block_mode() {
    let mut b = bucket(10.0, 0.1);
    assert!(!b.try_acquire(100.0, s(1.0)));
}

/// test_bucket.py `TestTokenBucket.test_can_retrieve_at_max_send_rate`: a token every
/// 100 ms for 2 s at 10/s.
#[test]
fn token_bucket_can_retrieve_at_max_send_rate() {
    let mut b = bucket(10.0, 0.1);
    assert!((0..20).all(|i| b.try_acquire(1.0, SimTime::from_millis(1000 + 100 * i))));
}

/// test_bucket.py `TestTokenBucket.test_acquiring_blocks_when_capacity_reached`: at 0.1 s
/// the one token is taken; at 0.15 s the blocking acquire sleeps 0.05 s and gets its
/// token at 0.2 s; at 0.300001 s the next one is there.
#[test]
fn token_bucket_acquiring_blocks_when_capacity_reached() {
    let mut b = bucket(10.0, 0.1);
    assert!(b.try_acquire(1.0, s(0.1)));
    assert_eq!(b.available(), 0.0);
    assert_eq!(b.acquire(s(0.15)), Admit::Wait(SimTime::from_millis(50)));
    assert_eq!(b.acquire(s(0.2)), Admit::Now);
    assert_eq!(b.available(), 0.0);
    assert!(b.try_acquire(1.0, s(0.300_001)));
}

/// test_bucket.py `TestTokenBucket.test_rate_cant_go_below_min`.
#[test]
fn token_bucket_rate_cant_go_below_min() {
    let mut b = bucket(1.0, 0.2);
    b.set_max_rate(0.1, s(1.0));
    assert_eq!((b.max_rate(), b.max_capacity()), (0.2, 1.0));
}

/// test_adaptive.py `TestRateClocker.test_initial_rate_is_0` and
/// `test_time_updates_if_after_bucket_range` (1 · 0.8 + 0 · 0.2).
#[test]
fn rate_clocker_initial_rate_and_first_update() {
    let mut r = RateClocker::new(0.0, 0.8);
    assert_eq!(r.measured_rate(), 0.0);
    assert_eq!(r.record(1.0), 0.8);
}

/// test_adaptive.py `TestRateClocker.test_can_measure_constant_rate`.
#[test]
fn rate_clocker_can_measure_constant_rate() {
    let mut r = RateClocker::new(0.0, 0.8);
    for t in 1..=20 {
        r.record(f64::from(t));
    }
    assert!((r.measured_rate() - 1.0).abs() < ALMOST);
}

/// test_adaptive.py `TestRateClocker.test_uses_smoothing_to_favor_recent_weights`.
#[test]
fn rate_clocker_uses_smoothing_to_favor_recent_weights() {
    let mut r = RateClocker::new(0.0, 0.8);
    for t in [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0] {
        r.record(t);
    }
    assert!((1.99..=2.0).contains(&r.measured_rate()));
    r.record(14.0);
    assert!((0.1..=2.0).contains(&r.measured_rate()));
}

/// test_adaptive.py `TestRateClocker.test_noop_when_delta_t_is_0`.
#[test]
fn rate_clocker_noop_when_delta_t_is_0() {
    let mut r = RateClocker::new(0.0, 0.8);
    for t in [1.0, 1.0, 1.0, 2.0, 3.0] {
        r.record(t);
    }
    assert!(r.measured_rate() >= 1.0);
}

/// test_adaptive.py `TestRateClocker.test_times_are_grouped_per_time_bucket`: five
/// responses within [0, 0.5) leave the rate at 0; the sixth, at 0.5, makes it
/// 6 / 0.5 · 0.8 = 12 · 0.8.
#[test]
fn rate_clocker_times_are_grouped_per_time_bucket() {
    let mut r = RateClocker::new(0.0, 0.8);
    for t in [0.1, 0.2, 0.3, 0.4, 0.49] {
        r.record(t);
    }
    assert_eq!(r.measured_rate(), 0.0);
    r.record(0.5);
    assert_eq!(r.measured_rate(), 12.0 * 0.8);
}

/// test_adaptive.py `TestClientRateLimiter.test_bucket_bucket_acquisition_only_if_enabled`:
/// before any throttle, sends never touch the bucket (which starts empty).
#[test]
fn client_rate_limiter_acquires_only_if_enabled() {
    let mut l = ClientRateLimiter::new(AdaptiveConfig::default(), SimTime::ZERO);
    assert!((0..100).all(|_| l.on_send(SimTime::ZERO) == Admit::Now));
    assert!(!l.enabled());
    assert_eq!(l.bucket().available(), 0.0);
}

/// test_adaptive.py `TestClientRateLimiter.test_token_bucket_enabled_on_throttling_error`:
/// after a throttle, sends take tokens (and, with none, must wait). The bucket, created at
/// 0 at 1/s, holds the one token it earned by 1 s; the second send waits for the next one
/// at the cut rate: measured 0.8/s, times β = 0.56/s, so 1 / 0.56 s.
#[test]
fn client_rate_limiter_enabled_on_throttling_error() {
    let mut l = ClientRateLimiter::new(AdaptiveConfig::default(), SimTime::ZERO);
    l.on_response(s(1.0), true);
    assert!(l.enabled());
    assert_eq!(l.on_send(s(1.0)), Admit::Now);
    let Admit::Wait(d) = l.on_send(s(1.0)) else { panic!("the bucket is empty") };
    assert!((d.as_secs_f64() - 1.0 / (0.8 * 0.7)).abs() < 1e-6, "{d:?}");
}

/// test_adaptive.py `TestClientRateLimiter.test_max_rate_updated_on_success_response` and
/// `test_max_rate_cant_exceed_20_percent_max`: after a response the bucket's rate is the
/// CUBIC rate, but at most twice the measured rate. With real parts instead of mocks: 20
/// responses/s for 10 s, then (CUBIC from a maximum of 0 is `0.4·t³`) at t = 2 s the
/// cubic rate 3.2 is below 2 × measured, and at t = 10 s its 400 is capped at 2 × measured.
#[test]
fn client_rate_limiter_max_rate_is_cubic_capped_at_twice_measured() {
    let mut l = ClientRateLimiter::new(AdaptiveConfig::default(), SimTime::ZERO);
    for i in 1..=40 {
        l.on_response(SimTime::from_millis(50 * i), false);
    }
    let measured = l.clocker().measured_rate();
    assert!(2.0 * measured > 3.2, "{measured}");
    assert!((l.bucket().max_rate() - 0.4 * 2.0f64.powi(3)).abs() < ALMOST);
    for i in 41..=200 {
        l.on_response(SimTime::from_millis(50 * i), false);
    }
    let measured = l.clocker().measured_rate();
    assert!((measured - 20.0).abs() < 0.01, "{measured}");
    assert_eq!(l.bucket().max_rate(), 2.0 * measured);
}
