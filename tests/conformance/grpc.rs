//! gRPC retry throttling: grpc-java's `RetriableStreamTest` (core/src/test/java/io/grpc/
//! internal/RetriableStreamTest.java) and the arithmetic of gRFC A6 ("Throttling Retry
//! Attempts and Hedged RPCs"), against [`RetryThrottle`] and the throttle inside
//! [`RetryState::on_outcome`].
//!
//! grpc-java's "qualified failure" is a retryable status code (or a not-to-retry
//! pushback); resim's is an outcome the policy's `retry_on` retries.

use std::path::Path;

use resim::engine::{RngStreams, SimTime, Stream};
use resim::metrics::Outcome;
use resim::policy::retry::{
    Budget, BudgetConfig, GiveUpReason, RetryConfig, RetryDecision, RetryOn, RetryState, RetryThrottle,
};
use resim::scenario::load_str;

fn rng() -> Stream {
    RngStreams::new(1, 0).stream("conformance/grpc")
}

/// `RetriableStreamTest.throttle`: `new Throttle(4f, 0.8f)`, then failures down to 0 and
/// successes back to the cap, with the comments' token counts.
#[test]
fn retriable_stream_test_throttle() {
    let mut t = RetryThrottle::new(4.0, 0.8);
    assert!(t.is_above_threshold());
    assert!(t.on_failure()); // token = 3
    assert!(t.is_above_threshold());
    assert!(!t.on_failure()); // token = 2
    assert!(!t.is_above_threshold());
    assert!(!t.on_failure()); // token = 1
    assert!(!t.on_failure()); // token = 0
    assert!(!t.on_failure()); // token = 0
    assert!(!t.on_failure()); // token = 0
    assert!(!t.is_above_threshold());

    t.on_success(); // token = 0.8
    assert!(!t.is_above_threshold());
    t.on_success(); // token = 1.6
    assert!(!t.is_above_threshold());
    // Upstream's comment says 3.2 here; 1.6 + 0.8 is 2.4, above the threshold 2 all the same.
    t.on_success();
    assert_eq!(t.tokens(), 2.4);
    assert!(t.is_above_threshold());
    t.on_success(); // token = 3.2 (upstream: "4")
    assert!(t.is_above_threshold());
    t.on_success(); // token = 4
    assert!(t.is_above_threshold());
    t.on_success(); // token = 4
    assert!(t.is_above_threshold());
    assert_eq!(t.tokens(), 4.0);

    assert!(t.is_above_threshold());
    assert!(t.on_failure()); // token = 3
    assert!(t.is_above_threshold());
    assert!(!t.on_failure()); // token = 2
    assert!(!t.is_above_threshold());
}

/// A cluster of 4 tokens at ratio 0.8 with another call's failure already counted, as the
/// `throttledStream_*` tests set up (`count = 3`).
fn throttled_state() -> Budget {
    let mut b = Budget::new(&BudgetConfig::Throttling { max_tokens: 4.0, token_ratio: 0.8 });
    // "mimic some other call in the channel triggers a throttle countdown"
    assert!(b.on_retryable_failure()); // count = 3
    b
}

fn grpc_policy() -> RetryConfig {
    RetryConfig { retry_on: RetryOn { rejected: true, ..RetryOn::NONE }, ..RetryConfig::grpc() }
}

/// `RetriableStreamTest.throttledStream_FailWithRetriableStatusCode_WithoutPushback`: the
/// retryable failure takes the count from 3 to 2, so the stream does not retry.
#[test]
fn throttled_stream_fail_with_retriable_status_code_without_pushback() {
    let mut b = throttled_state();
    let mut st = RetryState::new();
    let d = st.on_outcome(&grpc_policy(), Outcome::Rejected, Some(&mut b), SimTime::ZERO, 0, &mut rng());
    assert_eq!(d, RetryDecision::GiveUp(GiveUpReason::BudgetExhausted));
    assert!(!b.try_hedge(SimTime::ZERO)); // count = 2
}

/// `RetriableStreamTest.throttledStream_FailWithNonRetriableStatusCode_WithoutPushback`:
/// a non-retryable failure leaves the count at 3; a later qualified failure brings it to 2.
#[test]
fn throttled_stream_fail_with_non_retriable_status_code_without_pushback() {
    let mut b = throttled_state();
    let mut st = RetryState::new();
    // resim's `error` stands for a status code the policy does not retry.
    let d = st.on_outcome(&grpc_policy(), Outcome::Error, Some(&mut b), SimTime::ZERO, 0, &mut rng());
    assert_eq!(d, RetryDecision::GiveUp(GiveUpReason::NotRetryable));
    assert!(b.try_hedge(SimTime::ZERO)); // count = 3
    assert!(!b.on_retryable_failure()); // count = 2
}

/// `RetriableStreamTest.throttleStream_Succeed`: three failures elsewhere (3, 2, 1), the
/// stream's success gives 0.8 (1.8, still throttled), another call's success 2.6.
#[test]
fn throttle_stream_succeed() {
    let mut b = throttled_state();
    assert!(!b.on_retryable_failure()); // count = 2
    assert!(!b.on_retryable_failure()); // count = 1
    b.on_success(None);
    assert!(!b.try_hedge(SimTime::ZERO)); // count = 1.8
    b.on_success(None);
    assert!(b.try_hedge(SimTime::ZERO)); // count = 2.6
}

/// gRFC A6, "Validation of retryThrottling": `tokenRatio` decimals beyond the third are
/// ignored ("0.5466 is treated as 0.546"), as grpc-java's `(int) (tokenRatio * 1000)`.
#[test]
fn a6_token_ratio_has_three_decimal_places() {
    let mut t = RetryThrottle::new(10.0, 0.5466);
    for _ in 0..10 {
        t.on_failure();
    }
    assert_eq!(t.tokens(), 0.0);
    t.on_success();
    assert_eq!(t.tokens(), 0.546);
}

/// gRFC A6's example, `maxTokens: 10, tokenRatio: 0.1` ("throttles retry attempts and
/// hedged RPCs when the client's ratio of failures to successes exceeds ~10%"): from full,
/// 4 failures leave 6 > 5; the 5th leaves 5 = threshold, throttled; each success adds 0.1
/// so one success (5.1) reopens retries.
#[test]
fn a6_example_throttles_at_half_the_tokens() {
    let mut t = RetryThrottle::new(10.0, 0.1);
    for expected in [9.0, 8.0, 7.0, 6.0] {
        assert!(t.on_failure());
        assert_eq!(t.tokens(), expected);
    }
    assert!(!t.on_failure());
    assert_eq!(t.tokens(), 5.0);
    t.on_success();
    assert!(t.is_above_threshold());
    // Steady state: a failure costs 1, a success gives 0.1, so the count holds when
    // failures are 1 in 11 RPCs (10 successes · 0.1 = 1): about 9% of RPCs failing.
    let mut s = RetryThrottle::new(10.0, 0.1);
    for _ in 0..100 {
        s.on_failure();
        for _ in 0..10 {
            s.on_success();
        }
    }
    assert_eq!(s.tokens(), 10.0);
}

/// gRFC A6: "token_count … can take values between 0 and maxTokens"; grpc-java's
/// `onQualifiedFailureThenCheckIsAboveThreshold` returns false at 0 without going below.
#[test]
fn a6_count_stays_between_zero_and_max_tokens() {
    let mut t = RetryThrottle::new(1.0, 1.0);
    assert!(!t.on_failure(), "1 → 0 is not above 0.5");
    assert!(!t.on_failure());
    assert_eq!(t.tokens(), 0.0);
    for _ in 0..5 {
        t.on_success();
    }
    assert_eq!(t.tokens(), 1.0);
}

/// grpc-java's `makeRetryDecision` counts the failure before it looks at `maxAttempts`:
/// the last attempt's retryable failure takes a token too.
#[test]
fn make_retry_decision_counts_the_last_attempts_failure() {
    let mut b = Budget::new(&BudgetConfig::Throttling { max_tokens: 10.0, token_ratio: 0.1 });
    let cfg = RetryConfig { max_attempts: 1, ..grpc_policy() };
    let mut st = RetryState::new();
    let d = st.on_outcome(&cfg, Outcome::Rejected, Some(&mut b), SimTime::ZERO, 0, &mut rng());
    assert_eq!(d, RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted));
    // 10 → 9 → … : four more qualified failures reach the threshold.
    assert!((0..3).all(|_| b.on_retryable_failure()));
    assert!(!b.on_retryable_failure());
}

/// gRFC A6: "Throttling also applies to hedged RPCs … subsequent hedged RPCs will only be
/// sent if token_count is greater than the threshold."
#[test]
fn a6_hedges_are_throttled_like_retries() {
    let mut b = Budget::new(&BudgetConfig::Throttling { max_tokens: 10.0, token_ratio: 0.1 });
    for _ in 0..4 {
        assert!(b.on_retryable_failure());
        assert!(b.try_hedge(SimTime::ZERO));
    }
    b.on_retryable_failure();
    assert!(!b.try_hedge(SimTime::ZERO));
}

/// A caller retrying `error` up to 3 attempts, at once, under gRPC throttling, against a
/// callee that fails 2% of requests all along and every request from 60 s to 120 s.
const DEAD_CALLEE: &str = "
name: grpc-throttling
duration: 3m
replications: 1
seed: 5
window: 10s
services:
  client:
    servers: 1000
    service_time: { constant: { value: 1ms } }
    calls:
      - to: server
        retry: { max_attempts: 3, retry_on: [error], backoff: none, throttling: { max_tokens: 10, token_ratio: 0.1 } }
  server:
    servers: 100
    service_time: { constant: { value: 5ms } }
workloads:
  - { name: users, target: client, arrivals: { poisson: { rate: 50/s } } }
faults:
  - { name: flaky, kind: error, target: server, probability: 0.02, at: 0s, for: 3m }
  - { name: dead, kind: error, target: server, probability: 1.0, at: 60s, for: 60s }
";

/// gRFC A6 in the simulator: with 2% failures the count stays near full (a failure costs
/// 1, the 49 successes around it give back 4.9), so retries flow (about 1/s); once the
/// callee dies, 5 failures bring 10 tokens to the threshold 5 and retries stop for the
/// rest of the outage (a handful in its first window); after it recovers, about 50
/// successes (5 / 0.1, one second of traffic) lift the count above 5 and retries resume.
#[test]
fn a6_throttling_stops_retries_against_a_dead_callee_and_resumes_after() {
    let sc = load_str(DEAD_CALLEE, Path::new("grpc.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let report = resim::run(&sc.model, &resim::RunOptions::default());
    let retries = &report.edges["client->server"].timeline.retries;
    println!("retries per 10 s window: {retries:?}");
    assert_eq!(retries.len(), 18, "{retries:?}");
    let before: f64 = retries[..6].iter().sum();
    let outage_start = retries[6];
    let outage_rest: f64 = retries[7..12].iter().sum();
    let after: f64 = retries[13..].iter().sum();
    // ~1 failure/s before: about 60 retries in 60 s (Poisson; 30 is 4 standard deviations).
    assert!(before > 30.0, "retries before the outage {before}: {retries:?}");
    assert!((1.0..=10.0).contains(&outage_start), "first outage window {outage_start}: {retries:?}");
    assert_eq!(outage_rest, 0.0, "{retries:?}");
    assert!(after > 25.0, "retries after recovery {after}: {retries:?}");
}
