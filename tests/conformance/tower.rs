//! tower 0.5.3 (github.com/tower-rs/tower): the unit tests of `TpsBudget`
//! (`tower/src/retry/budget/tps_budget.rs`) and of `ExponentialBackoff`
//! (`tower/src/retry/backoff.rs`, quickcheck properties run here over a grid), the `retry`
//! integration tests
//! (`tower/tests/retry/main.rs`) and the `hedge` integration tests
//! (`tower/tests/hedge/main.rs`), ported to [`TpsBudget`], [`RetryState`] with
//! [`RetryConfig::tower`], and the `preset: tower` hedge.
//!
//! tower's tests pause tokio's clock and advance it by hand; here the simulated time plays
//! it, starting at zero where the budget or histogram is created. tower's mock service
//! answers with strings; here outcomes do: an error string is an `error`, a response an
//! `ok`. Not ported, because resim's requests are always clonable and always hedgeable:
//! `retry_cannot_clone_request`, `success_with_cannot_clone`, `retry_mutating_policy`,
//! `request_not_retyable` and `request_not_clonable`.
//!
//! The `limit::rate` integration tests (`tower/tests/limit/rate.rs`) are ported to
//! [`TowerRate`], the `rate_limit: { preset: tower }` of a call edge; `src/limit/rate/`
//! has no `#[cfg(test)]` module. tower's mock service is always ready, so
//! `assert_ready_ok!(service.poll_ready())` is [`TowerRate::ready`] and a call after it
//! is [`TowerRate::try_acquire`] (which asks readiness itself, as `load_shed` does).

use std::path::Path;

use resim::engine::{RngStreams, SimTime, Stream};
use resim::metrics::Outcome;
use resim::policy::retry::{
    Backoff, BackoffState, Budget, BudgetConfig, GiveUpReason, HedgeConfig, HedgeDelay, Jitter, LatencyWindow,
    RetryConfig, RetryDecision, RetryOn, RetryState, TpsBudget, TpsConfig, next_delay,
};
use resim::policy::tower_rate::{TowerRate, TowerRateConfig};
use resim::scenario::load_str;
use resim::scenario::policy_spec::{JitterSpec, RetrySpec};
use resim::scenario::spec::CallSpec;
use resim::scenario::validate_policy::call_policy;
use resim::{Report, RunOptions};

const Z: SimTime = SimTime::ZERO;

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

fn tps(ttl_s: u64, min_per_sec: u32, retry_percent: f32) -> TpsBudget {
    TpsBudget::new(TpsConfig { ttl: SimTime::from_secs(ttl_s), min_per_sec, retry_percent }, Z)
}

// ---------------------------------------------------------------------------------------------
// tps_budget.rs #[cfg(test)] mod tests
// ---------------------------------------------------------------------------------------------

/// `tps_empty`: no reserve, no deposit, no retry.
#[test]
fn tps_empty() {
    let mut bgt = tps(1, 0, 1.0);
    assert!(!bgt.withdraw(Z));
}

/// `tps_leaky`: a deposit is forgotten 3 s later (ttl 1 s).
#[test]
fn tps_leaky() {
    let mut bgt = tps(1, 0, 1.0);
    bgt.deposit(Z);
    assert!(!bgt.withdraw(SimTime::from_secs(3)));
}

/// `tps_slots`: two deposits at 50% pay for one retry 901 ms later; after a blank slate,
/// deposits at 0, 301 and 1102 ms: the first has expired, the second and third pay.
#[test]
fn tps_slots() {
    let mut bgt = tps(1, 0, 0.5);
    bgt.deposit(Z);
    bgt.deposit(Z);
    let mut t = ms(901);
    // 900ms later, the deposit should still be valid
    assert!(bgt.withdraw(t));
    // blank slate
    t += ms(2001);
    bgt.deposit(t);
    t += ms(301);
    bgt.deposit(t);
    t += ms(801);
    bgt.deposit(t);
    // the first deposit is expired, but the 2nd should still be valid, combining with
    // the 3rd
    assert!(bgt.withdraw(t));
}

/// `tps_reserve`: 5 retries a second over 1 s, and no sixth.
#[test]
fn tps_reserve() {
    let mut bgt = tps(1, 5, 1.0);
    for _ in 0..5 {
        assert!(bgt.withdraw(Z));
    }
    assert!(!bgt.withdraw(Z));
}

/// `TpsBudget::default()` is `new(10 s, 10, 0.2)`: 100 retries of reserve, then one per
/// five successes.
#[test]
fn tps_default_reserve_then_one_retry_per_five_successes() {
    let mut bgt = TpsBudget::new(TpsConfig::default(), Z);
    assert_eq!((0..1_000).filter(|_| bgt.withdraw(Z)).count(), 100);
    for _ in 0..4 {
        bgt.deposit(Z);
    }
    assert!(!bgt.withdraw(Z));
    bgt.deposit(Z);
    assert!(bgt.withdraw(Z));
    assert!(!bgt.withdraw(Z));
}

// ---------------------------------------------------------------------------------------------
// backoff.rs #[cfg(test)] mod tests
// ---------------------------------------------------------------------------------------------

/// `ExponentialBackoffMaker::new(min, max, jitter)`: a ×2 ladder from `min` capped at
/// `max`, and tower's additive jitter.
fn tower_backoff(min_ms: u64, max_ms: u64) -> Backoff {
    Backoff::Exponential { base: ms(min_ms), multiplier: 2.0, cap: ms(max_ms) }
}

/// `(min_ms, max_ms)` pairs tower's maker accepts (`min <= max`, `max > 0`).
const LADDERS: [(u64, u64); 7] = [(0, 1), (1, 1), (7, 500), (50, 60_000), (250, 251), (999, 86_400_000), (3, 7)];

/// The sleep before retry `retry` of `backoff` with jitter `ratio`.
fn sleep(backoff: &Backoff, ratio: f64, retry: u32, rng: &mut Stream) -> SimTime {
    next_delay(backoff, &Jitter::Additive { ratio }, retry, &mut BackoffState::new(), rng)
}

/// `backoff_base_first`: without jitter the first sleep is `min`.
#[test]
fn backoff_base_first() {
    let mut rng = stream();
    for (min, max) in LADDERS {
        assert_eq!(sleep(&tower_backoff(min, max), 0.0, 1, &mut rng), ms(min));
    }
}

/// `backoff_base`: at any iteration the rung lies in `[min, max]`.
#[test]
fn backoff_base() {
    let mut rng = stream();
    for (min, max) in LADDERS {
        for iterations in [0, 1, 2, 5, 10, 31, 32, 63, 64, 1000, u32::MAX - 1] {
            let d = sleep(&tower_backoff(min, max), 0.0, iterations + 1, &mut rng);
            assert!(ms(min) <= d && d <= ms(max), "min {min} max {max} iterations {iterations}: {d:?}");
        }
    }
}

/// `backoff_jitter`: the jitter on the first rung is zero when `jitter` is 0, `min` is 0
/// or `max == min`, and positive otherwise; the sleep never passes `max`.
#[test]
fn backoff_jitter() {
    let mut rng = stream();
    for (min, max) in LADDERS {
        for ratio in [0.0, 0.01, 0.5, 0.99, 2.0, 100.0] {
            let d = sleep(&tower_backoff(min, max), ratio, 1, &mut rng);
            let zero = ratio == 0.0 || min == 0 || max == min;
            assert!(if zero { d == ms(min) } else { d > ms(min) && d <= ms(max) }, "{min} {max} {ratio}: {d:?}");
        }
    }
    // tower scales whole seconds and nanoseconds apart and truncates each: a rung of
    // exactly 1 s jittered by less than 1 gains nothing (the property above steers clear).
    assert_eq!(sleep(&tower_backoff(1_000, 60_000), 0.99, 1, &mut rng), ms(1_000));
}

/// `jitter_must_be_finite`: infinite and NaN jitters are refused, as
/// `ExponentialBackoffMaker::new` refuses them, and so is one above 100.
#[test]
fn jitter_must_be_finite() {
    for ratio in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 100.5, -0.1] {
        let mut call: CallSpec = serde_json::from_str(r#"{ "to": "b" }"#).unwrap_or_else(|e| panic!("{e}"));
        call.retry = Some(RetrySpec { jitter: Some(JitterSpec::Additive { ratio }), ..RetrySpec::default() });
        let key = call_policy(&call, "c").map_or_else(|e| e.key, |ok| panic!("accepted {ratio}: {ok:?}"));
        assert_eq!(key, "c.retry.jitter.additive.ratio");
    }
}

// ---------------------------------------------------------------------------------------------
// tests/retry/main.rs
// ---------------------------------------------------------------------------------------------

fn stream() -> Stream {
    RngStreams::new(25, 0).stream("test")
}

/// Feeds `outcomes` to a request under `cfg` with tower's default budget; the decisions.
fn decisions(cfg: &RetryConfig, outcomes: &[Outcome]) -> Vec<RetryDecision> {
    let mut budget = cfg.budget.as_ref().map(Budget::new);
    let (mut st, mut rng) = (RetryState::new(), stream());
    outcomes.iter().map(|&o| st.on_outcome(cfg, o, budget.as_mut(), Z, 0, &mut rng)).collect()
}

const RETRY: RetryDecision = RetryDecision::Retry { attempt: 2, delay: Z };

/// `retry_errors`: an error is retried at once (the preset has no backoff), and the
/// response that follows ends the call.
#[test]
fn retry_errors() {
    let d = decisions(&RetryConfig::tower(), &[Outcome::Error, Outcome::Ok]);
    assert_eq!(d, [RETRY, RetryDecision::Done]);
}

/// `retry_limit`: a policy allowing 2 retries sends 3 requests and returns the third
/// error ("retry 3").
#[test]
fn retry_limit() {
    let cfg = RetryConfig { max_attempts: 3, ..RetryConfig::tower() };
    let d = decisions(&cfg, &[Outcome::Error; 3]);
    assert_eq!(
        d,
        [RETRY, RetryDecision::Retry { attempt: 3, delay: Z }, RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted)]
    );
}

/// `retry_error_inspection`: `UnlessErr("reject")` retries any error but one; here the
/// policy retries `error` and not `rejected`, and the rejection ends the call.
#[test]
fn retry_error_inspection() {
    let cfg = RetryConfig { retry_on: RetryOn { error: true, ..RetryOn::NONE }, ..RetryConfig::tower() };
    let d = decisions(&cfg, &[Outcome::Error, Outcome::Rejected]);
    assert_eq!(d, [RETRY, RetryDecision::GiveUp(GiveUpReason::NotRetryable)]);
}

/// The budget as the engine drives it (tower's budget module docs): successes deposit,
/// retries withdraw, and hedges do not touch it.
#[test]
fn budget_deposits_on_success_and_withdraws_per_retry() {
    let cfg = BudgetConfig::Tps(TpsConfig { ttl: SimTime::from_secs(1), min_per_sec: 0, retry_percent: 1.0 });
    let mut b = Budget::new(&cfg);
    b.on_request(Z);
    assert_eq!(b.try_retry(Z, 0, Outcome::Error), None, "a request deposits nothing");
    b.on_success_at(Z, None);
    assert!(b.try_hedge(Z) && b.try_hedge(Z));
    assert_eq!(b.try_retry(Z, 0, Outcome::Error), Some(0));
    assert_eq!(b.try_retry(Z, 0, Outcome::Error), None);
}

// ---------------------------------------------------------------------------------------------
// tests/hedge/main.rs
// ---------------------------------------------------------------------------------------------

/// tower's `new_service`: `Hedge::new_with_mock_latencies(service, policy, 10, 0.9,
/// 60 s, &[1, 1, 1, 1, 1, 1, 1, 1, 10, 10])`. The mock latencies go straight into the read
/// histogram; here they are recorded in the first period and read in the second.
fn mock_hedge(latencies_ms: &[u64]) -> (HedgeConfig, LatencyWindow, SimTime) {
    let period = SimTime::from_secs(60);
    let mut w = LatencyWindow::rotating(period);
    for &l in latencies_ms {
        w.record_at(Z, ms(l), Some(Outcome::Ok));
    }
    let cfg = HedgeConfig {
        delay: HedgeDelay::Tower { quantile: 0.9, min_data_points: 10, period },
        max_hedges: 1,
        cancel_losers: false,
        max_extra_load: None,
        non_fatal: Some([false; 6]),
        on_per_try_timeout: false,
    };
    (cfg, w, period)
}

const MOCK_LATENCIES: [u64; 10] = [1, 1, 1, 1, 1, 1, 1, 1, 10, 10];

/// `hedge_orig_completes_first`, `hedge_hedge_completes_first`: the hedge is not issued
/// at once, and is issued by 11 ms: the p90 of the mock latencies is 10 ms.
#[test]
fn hedge_is_issued_at_the_p90_of_the_mock_latencies() {
    let (cfg, w, now) = mock_hedge(&MOCK_LATENCIES);
    let delay = cfg.hedge_delay(&w, now);
    assert_eq!(delay, Some(ms(10)));
    assert!(delay.is_some_and(|d| d > Z && d < ms(11)));
}

/// `SelectPolicy::clone_request` (`hedge/mod.rs` lines 259-265): with 9 latencies, one
/// short of `min_data_points`, no hedge.
#[test]
fn no_hedge_below_min_data_points() {
    let (cfg, w, now) = mock_hedge(&MOCK_LATENCIES[1..]);
    assert_eq!(cfg.hedge_delay(&w, now), None);
    // And the same ten latencies, read two periods later, are gone.
    let (cfg, w, now) = mock_hedge(&MOCK_LATENCIES);
    assert_eq!(cfg.hedge_delay(&w, now + now), None);
}

/// A caller hedging its call to a callee with exponential service times, under tower's
/// hedge with the keys put for `HEDGE`.
const HEDGED: &str = "
name: tower
duration: 20s
services:
  a:
    servers: 50
    service_time: { constant: { value: 1ms } }
    calls:
      - to: b
        hedge: HEDGE
  b:
    servers: 50
    service_time: { exponential: { mean: 5ms } }
workloads:
  - { name: w, target: a, arrivals: { poisson: { rate: 100/s } } }
";

fn hedges(hedge: &str) -> f64 {
    let sc = load_str(&HEDGED.replace("HEDGE", hedge), Path::new("tower.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let report: Report = resim::run(&sc.model, &RunOptions::default());
    report.edges.values().map(|e| e.hedges.value()).sum()
}

/// `completes_before_hedge` and the median: with tower's p50 of the previous second,
/// about half the calls hedge (those slower than the median); with `min_data_points`
/// beyond any second's traffic, or a period longer than the run (the read histogram never
/// fills), none does.
#[test]
fn hedges_follow_the_previous_period_and_min_data_points() {
    let base = "{ preset: tower, percentile: 0.5, min_data_points: 10, period: 1s }";
    let n = hedges(base);
    assert!(n > 300.0, "hedged {n} of about 2000 calls");
    assert_eq!(hedges(&base.replace("min_data_points: 10", "min_data_points: 1000")), 0.0);
    assert_eq!(hedges(&base.replace("period: 1s", "period: 1h")), 0.0);
}

// ---------------------------------------------------------------------------------------------
// tests/limit/rate.rs
// ---------------------------------------------------------------------------------------------

fn tower_rate(num: u64, per_ms: u64) -> TowerRate {
    TowerRate::new(TowerRateConfig { num, per: ms(per_ms) }, Z)
}

/// `reaching_capacity`: `RateLimitLayer::new(1, 100ms)`; one call, then not ready (here:
/// a call is refused) until the clock has moved 101 ms, then ready and a second call
/// goes through.
#[test]
fn reaching_capacity() {
    let mut service = tower_rate(1, 100);
    assert!(service.ready(Z));
    assert!(service.try_acquire(Z));
    assert!(!service.ready(Z));
    assert!(!service.try_acquire(Z));
    assert!(!service.ready(ms(100) - SimTime(1)));
    assert!(service.ready(ms(101)));
    assert!(service.try_acquire(ms(101)));
}

/// `remaining_gets_reset` (the bug fixed in tower's cd7dd12): `RateLimitLayer::new(3,
/// 100ms)`; one call, 100 ms later two more, and the limiter is still ready: the second
/// window starts with all 3 permits, not with the 2 the first one left.
#[test]
fn remaining_gets_reset() {
    let mut service = tower_rate(3, 100);
    assert!(service.ready(Z) && service.try_acquire(Z));
    assert!(service.ready(ms(100)) && service.try_acquire(ms(100)));
    assert!(service.ready(ms(100)) && service.try_acquire(ms(100)));
    assert!(service.ready(ms(100)));
    assert_eq!(service.remaining(), 1);
}

/// A caller whose calls to `b` go through tower's rate limit with the keys put for
/// `LIMIT`, at Poisson rate 200/s for 200 s.
const LIMITED: &str = "
name: tower-rate
duration: 200s
services:
  a:
    servers: 50
    service_time: { constant: { value: 1ms } }
    calls:
      - to: b
        rate_limit: LIMIT
  b:
    servers: 50
    service_time: { constant: { value: 1ms } }
workloads:
  - { name: w, target: a, arrivals: { poisson: { rate: 200/s } } }
";

/// The share of `a -> b` attempts the limiter refused.
fn refused_share(limit: &str) -> f64 {
    let sc = load_str(&LIMITED.replace("LIMIT", limit), Path::new("tower.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let report: Report = resim::run(&sc.model, &RunOptions::default());
    let e = report.edges.values().next().unwrap_or_else(|| panic!("no edge"));
    e.rate_limited.value() / e.attempts.value()
}

/// The engine asks the limiter once per attempt and counts each refusal in `rate_limited`:
/// at 200/s through 10 per 100 ms, the refused share is the closed form of windows that
/// drift with the traffic (1 − E[min(10, 1 + P)] / 21, P ~ Poisson(20): 52.6%), with a
/// sampling error of about 0.25 points over 200 s; a limiter on a fixed 100 ms grid
/// (resilience4j's cycles, with no wait) would refuse 50%, ten standard errors away.
#[test]
fn poisson_calls_are_refused_as_drifting_windows_predict() {
    let cfg = TowerRateConfig { num: 10, per: ms(100) };
    let want = cfg.poisson_refused_share(200.0);
    let got = refused_share("{ preset: tower, num: 10, per: 100ms }");
    assert!((got - want).abs() < 0.01, "refused {got:.4}, closed form {want:.4}");
    let cycles = refused_share("{ limit_for_period: 10, limit_refresh_period: 100ms, timeout_duration: 0s }");
    assert!((cycles - 0.5).abs() < 0.01 && (got - cycles).abs() > 0.02, "fixed cycles refuse {cycles:.4}");
}
