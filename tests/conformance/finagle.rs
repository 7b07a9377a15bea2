//! Finagle's retry budget and backup requests: `RetryBudgetTest` (finagle-core/src/test/
//! scala/com/twitter/finagle/service/RetryBudgetTest.scala) against [`TokenBudget`], and
//! `BackupRequestFilterTest` (…/finagle/client/BackupRequestFilterTest.scala) against the
//! extra-load budget of [`HedgeConfig::extra_load_budget`] and the scenario's `hedge` keys.
//!
//! One deliberate difference: Finagle's `balance` is a whole number of retries (its
//! token bucket counts thousandths and divides); resim's is fractional, so "balance == 0"
//! upstream reads "balance < 1" here. Finagle also forgets deposits exactly `ttl` later;
//! resim's window is ten buckets (an event is forgotten between 0.9·ttl and ttl), which
//! these tests, run with time frozen as upstream, do not see.

use std::path::Path;

use resim::engine::SimTime;
use resim::policy::retry::{Budget, BudgetConfig, EXTRA_LOAD_TTL, HedgeConfig, HedgeDelay, TokenBudget};
use resim::scenario::{Scenario, load_str};

const T0: SimTime = SimTime::ZERO;

fn budget(ttl_s: u64, min_retries_per_sec: f64, percent_can_retry: f64) -> TokenBudget {
    TokenBudget::new(percent_can_retry, min_retries_per_sec, SimTime::from_secs(ttl_s))
}

/// `RetryBudgetTest.testBudget`: with time frozen, 10 000 requests each deposit then try
/// to withdraw; a refused withdrawal leaves a zero balance, and the retries granted are
/// `⌊n · percent⌋ + ttl · minRetriesPerSec`, give or take one.
fn test_budget(ttl_s: u64, min_retries_per_sec: f64, percent_can_retry: f64) {
    let mut rb = budget(ttl_s, min_retries_per_sec, percent_can_retry);
    let min_retries = ttl_s as f64 * min_retries_per_sec;
    assert_eq!(rb.balance(T0), min_retries);
    if min_retries == 0.0 {
        assert!(!rb.try_withdraw(T0));
    }
    let n = 10_000;
    let mut retried = 0i64;
    for i in 0..n {
        rb.deposit(T0);
        if rb.try_withdraw(T0) {
            retried += 1;
        } else {
            assert!(rb.balance(T0) < 1.0, "request {i}: percent {percent_can_retry}");
        }
    }
    let expected = (f64::from(n) * percent_can_retry) as i64 + min_retries as i64;
    assert!((expected - retried).abs() <= 1, "percent {percent_can_retry}: {retried} vs {expected}");
}

/// `RetryBudgetTest."Empty"` and `"apply minRetriesPerSec=0 maxPercentOver=0 should be
/// empty"`: nothing to withdraw, and deposits add nothing.
#[test]
fn retry_budget_test_empty() {
    let mut rb = budget(10, 0.0, 0.0);
    assert_eq!(rb.balance(T0), 0.0);
    assert!(!rb.try_withdraw(T0));
    rb.deposit(T0);
    assert_eq!(rb.balance(T0), 0.0);
    assert!(!rb.try_withdraw(T0));
}

/// `RetryBudgetTest."apply minRetriesPerSec=0"`: every percentage from 0.01% to 99.99%.
#[test]
fn retry_budget_test_apply_min_retries_per_sec_0() {
    for p in [0.1, 0.5, 0.25, 0.75, 0.99, 0.999, 0.9999, 0.01, 0.001, 0.0001] {
        test_budget(60, 0.0, p);
    }
}

/// `RetryBudgetTest."apply minRetries=0 maxPercentOver greater than 1.0"`: 10 000
/// deposits at 200% make 20 000 retries.
#[test]
fn retry_budget_test_percent_over_one() {
    let mut rb = budget(60, 0.0, 2.0);
    assert_eq!(rb.balance(T0), 0.0);
    assert!(!rb.try_withdraw(T0));
    for _ in 0..10_000 {
        rb.deposit(T0);
    }
    assert_eq!(rb.balance(T0), 20_000.0);
}

/// `RetryBudgetTest."apply with minRetries and maxPercentOver=0"`.
#[test]
fn retry_budget_test_min_retries_only() {
    test_budget(1, 10.0, 0.0);
    test_budget(2, 5.0, 0.0);
}

/// `RetryBudgetTest."apply with minRetries and maxPercentOver"`.
#[test]
fn retry_budget_test_min_retries_and_percent() {
    test_budget(1, 10.0, 0.1);
    test_budget(2, 5.0, 0.5);
}

/// `BackupRequestFilterTest."Deposits into local RetryBudget only"`: the filter's budget,
/// `RetryBudget(30.seconds, 10, 1.percent)`, holds 300; 100 requests add one backup.
#[test]
fn backup_request_filter_test_deposits_into_local_retry_budget() {
    let mut rb = budget(30, 10.0, 0.01);
    assert_eq!(rb.balance(T0), 300.0);
    for _ in 0..100 {
        rb.deposit(T0);
    }
    assert!((rb.balance(T0) - 301.0).abs() < 1e-9);
}

/// `BackupRequestFilter.newRetryBudget` (exercised by `BackupRequestFilterTest`'s
/// budget tests): `percentCanRetry = maxExtraLoad`, `minRetriesPerSec = 0`, the default
/// 10 s ttl; the doc's note: "Clients using a maxExtraLoad of 1% will need to get at least
/// 10 QPS in order for any backups to be sent at all".
#[test]
fn backup_request_filter_budget_from_max_extra_load() {
    assert_eq!(EXTRA_LOAD_TTL, SimTime::from_secs(10));
    let mut rb = HedgeConfig::extra_load_budget(0.01);
    assert!(!rb.try_withdraw(T0), "no reserve: no backup before any request");
    for _ in 0..99 {
        rb.deposit(T0);
    }
    assert!(!rb.try_withdraw(T0), "99 requests are not enough at 1%");
    rb.deposit(T0);
    assert!(rb.try_withdraw(T0));
    assert!(!rb.try_withdraw(T0));
    // `testRetryBudgetEmpty`: a maxExtraLoad of 0 is `RetryBudget.Empty`.
    let mut empty = HedgeConfig::extra_load_budget(0.0);
    empty.deposit(T0);
    assert!(!empty.try_withdraw(T0));
}

/// `BackupRequestFilterTest."Don't send backup when backup timer fires if cannot withdraw
/// from backup request retry budget"`: the budget of 300 drained by 300 withdrawals
/// refuses the next backup.
#[test]
fn backup_request_filter_test_no_backup_when_budget_exhausted() {
    let mut rb = budget(30, 10.0, 0.01);
    for _ in 0..300 {
        assert!(rb.try_withdraw(T0));
    }
    assert!(!rb.try_withdraw(T0));
}

/// `BackupRequestFilterTest."Don't send backup when backup timer fires if cannot withdraw
/// from global retry budget"`: a backup is paid from the client's retry budget too
/// (`canIssueBackup`); its `RetryBudget(5.seconds, 10, 20.percent)` holds 50, and once
/// drained the next backup is refused.
#[test]
fn backup_request_filter_test_no_backup_when_client_budget_exhausted() {
    let cfg = BudgetConfig::Ratio { ratio: 0.2, min_per_s: 10.0, ttl: SimTime::from_secs(5) };
    let mut client = Budget::new(&cfg);
    let granted = (0..300).filter(|_| client.try_hedge(T0)).count();
    assert_eq!(granted, 50);
    assert!(!client.try_hedge(T0));
}

/// A caller `a` hedging its call to `b` with the `hedge` value put for `HEDGE`.
const HEDGED: &str = "
name: finagle
duration: 1m
services:
  a:
    servers: 4
    service_time: { constant: { value: 1ms } }
    calls:
      - to: b
        hedge: HEDGE
  b:
    servers: 4
    service_time: { constant: { value: 1ms } }
workloads:
  - { name: w, target: a, arrivals: { poisson: { rate: 10/s } } }
";

fn hedge_of(hedge: &str) -> Result<Scenario, String> {
    load_str(&HEDGED.replace("HEDGE", hedge), Path::new("finagle.yaml"), &[]).map_err(|e| e.to_string())
}

/// `BackupRequestFilterTest."extra load must be non-negative"` and `"extra load must be
/// <= 1.0"` (`Configured` requires `0 <= maxExtraLoad < 1`): the scenario refuses both.
#[test]
fn backup_request_filter_test_extra_load_bounds() {
    assert!(hedge_of("{ max_extra_load: -5.0 }").is_err_and(|e| e.contains("max_extra_load")));
    assert!(hedge_of("{ max_extra_load: 2.0 }").is_err_and(|e| e.contains("max_extra_load")));
    assert!(hedge_of("{ max_extra_load: 1.0 }").is_err());
    assert!(hedge_of("{ max_extra_load: 0.05 }").is_ok());
    assert!(hedge_of("{ percentile: 0.95, max_extra_load: 0.05 }").is_ok());
}

/// `BackupRequestFilter`: "it is the nth percentile latency of requests, where n is
/// 100 * (1 - `maxExtraLoad`)": `max_extra_load: 0.01` alone hedges at p99.
#[test]
fn backup_request_filter_percentile_from_max_extra_load() {
    let sc = hedge_of("{ max_extra_load: 0.01 }").unwrap_or_else(|e| panic!("{e}"));
    let hedge = sc.model.services[0].steps[0].calls[0].policy.hedge;
    let Some(HedgeConfig { delay: HedgeDelay::Percentile(p), max_extra_load: Some(m), .. }) = hedge else {
        panic!("{hedge:?}")
    };
    assert!((p - 99.0).abs() < 1e-9 && m == 0.01);
}
