//! Client-side resilience policies, end to end: what a user relies on when they put a retry budget, a
//! circuit breaker, a deadline, a fallback, a hedge or a bulkhead on a call, checked on the report of a full
//! run.
//!
//! Most cases run an example of `scenarios/` (the ones that tell each story), with `--set`-style overrides
//! for the variant to compare against; the rest are small inline scenarios built so that the expected value
//! is exact (constant service times, a single closed-loop user). Every run has a fixed seed, so every number
//! below is reproducible bit for bit; the tolerances are named constants and say what they allow for.
//!
//! Run `cargo test --release --test integration -- policies --nocapture` to see the measured numbers.

use std::path::Path;

use resim::report::{EdgeReport, ServiceReport, Statistic, WorkloadReport};
use resim::scenario::load_str;
use resim::{Report, RunOptions};
use statrs::distribution::{ContinuousCDF, LogNormal};

use crate::common::{assert_binomial, example_scenario, overrides};

/// Relative error of a latency percentile: HDR histograms keep 3 significant digits.
const HISTOGRAM_REL: f64 = 1e-3;

/// Runs the example `name` of `scenarios/` with `--set`-style overrides.
fn run_example(name: &str, sets: &[&str]) -> Report {
    resim::run(&example_scenario(name, sets).model, &RunOptions::default())
}

/// Runs an inline scenario with `--set`-style overrides.
fn run_inline(yaml: &str, sets: &[&str]) -> Report {
    let scenario = load_str(yaml, Path::new("inline.yaml"), &overrides(sets)).unwrap_or_else(|e| panic!("{e}"));
    resim::run(&scenario.model, &RunOptions::default())
}

fn service<'r>(r: &'r Report, name: &str) -> &'r ServiceReport {
    r.services.get(name).unwrap_or_else(|| panic!("no service {name}"))
}

fn workload<'r>(r: &'r Report, name: &str) -> &'r WorkloadReport {
    r.workloads.get(name).unwrap_or_else(|| panic!("no workload {name}"))
}

fn edge<'r>(r: &'r Report, name: &str) -> &'r EdgeReport {
    r.edges.get(name).unwrap_or_else(|| panic!("no edge {name}"))
}

fn outcome(e: &EdgeReport, key: &str) -> f64 {
    e.outcomes[key].value()
}

fn v(s: &Statistic) -> f64 {
    s.value()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Retry storm and retry budgets (scenarios/retry-storm.yaml)
// ---------------------------------------------------------------------------------------------------------------

const RETRY_STORM: &str = "retry-storm.yaml";
/// The spike of `retry-storm.yaml`: 1500/s from 300 s to 330 s of the measured period.
const SPIKE_START_S: f64 = 300.0;
/// Shortened run: 12 minutes leave 6.5 minutes after the spike, enough to see recovery (or none); one
/// replication (ok per 30 s window is ~25 000, so its noise is far below the tolerances).
const STORM_SETS: [&str; 2] = ["duration=12m", "replications=1"];
const STORM_BUDGET: &str = "services.frontend.calls.0.retry.budget={ ratio: 0.1, min_per_s: 10 }";
/// "Collapsed": ok per window in the last third of the run below this share of the pre-spike level.
const COLLAPSED_SHARE: f64 = 0.05;
/// "Recovered": ok per window in the last third within this relative distance of the pre-spike level.
const RECOVERED_REL: f64 = 0.05;

/// Mean ok per window before the spike and over the last third of the run.
fn ok_before_and_after(r: &Report) -> (f64, f64) {
    let t = &workload(r, "users").timeline;
    let before = (SPIKE_START_S / t.window_s).floor() as usize;
    let n = t.ok.len();
    assert!(before >= 2 && n >= before + 6, "timeline too short: {n} windows of {} s", t.window_s);
    (mean(&t.ok[..before]), mean(&t.ok[n - n / 3..]))
}

#[test]
fn retry_storm_without_budget_never_recovers() {
    let r = run_example(RETRY_STORM, &STORM_SETS);
    let (before, after) = ok_before_and_after(&r);
    println!("retry storm, no budget: ok/window {before:.0} before the spike, {after:.0} in the last third");
    assert!(before > 0.0);
    assert!(after < COLLAPSED_SHARE * before, "goodput recovered without a budget: {after:.0} vs {before:.0}");
    // The backend keeps serving requests whose caller has already given up.
    let backend = service(&r, "backend");
    let e = edge(&r, "frontend->backend");
    println!(
        "  backend wasted {:.0}, abandoned {:.0}, retries {:.0}",
        v(&backend.wasted),
        v(&e.abandoned),
        v(&e.retries)
    );
    assert!(v(&backend.wasted) > 0.0);
    assert!(v(&e.abandoned) > 0.0);
    assert!(v(&e.retries) > 0.0);
    assert_eq!(v(&e.budget_exhausted), 0.0, "no budget, nothing refused by one");
}

#[test]
fn retry_storm_with_budget_recovers() {
    let sets = [STORM_SETS[0], STORM_SETS[1], STORM_BUDGET];
    let r = run_example(RETRY_STORM, &sets);
    let (before, after) = ok_before_and_after(&r);
    println!("retry storm, budget: ok/window {before:.0} before the spike, {after:.0} in the last third");
    assert!(
        (after - before).abs() < RECOVERED_REL * before,
        "goodput did not recover with a budget: {after:.0} vs {before:.0}"
    );
    let e = edge(&r, "frontend->backend");
    println!("  budget_exhausted {:.0}, retries {:.0}", v(&e.budget_exhausted), v(&e.retries));
    assert!(v(&e.budget_exhausted) > 0.0, "the budget never refused a retry");
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Circuit breaker (scenarios/breaker-dead-dependency.yaml)
// ---------------------------------------------------------------------------------------------------------------

const BREAKER_EXAMPLE: &str = "breaker-dead-dependency.yaml";
const DEAD_EDGE: &str = "checkout->pricing-legacy";
/// The dependency never answers (the example hangs for 30 s; an hour is the same to a caller with a 1 s timeout).
const DEAD: &str = "services.pricing-legacy.service_time={ constant: { value: 1h } }";
const CONSECUTIVE_BREAKER: &str =
    "services.checkout.calls.1.breaker={ consecutive: { failures: 5, successes: 2, open_for: 30s } }";
/// The call's timeout in the example, seconds.
const DEAD_TIMEOUT_S: f64 = 1.0;
/// checkout's mean service time in the example, seconds.
const CHECKOUT_OWN_S: f64 = 0.01;
/// Share of checkout's requests that call the dead dependency (`probability` in the example).
const DEAD_CALL_SHARE: f64 = 0.3;
/// An exhausted pool: utilisation at least this.
const EXHAUSTED_UTIL: f64 = 0.99;
/// A protected pool: utilisation at most this (the breaker's trial calls still hold workers for 1 s).
const PROTECTED_UTIL: f64 = 0.25;
/// With the breaker, p99 at most this share of (timeout + checkout's own time).
const PROTECTED_P99_SHARE: f64 = 0.5;
/// With the breaker, availability within this of 1 - DEAD_CALL_SHARE (only requests needing pricing fail).
const AVAILABILITY_ABS: f64 = 0.02;

#[test]
fn breaker_keeps_a_dead_dependency_from_exhausting_the_pool() {
    let without = run_example(BREAKER_EXAMPLE, &[DEAD]);
    let with = run_example(BREAKER_EXAMPLE, &[DEAD, CONSECUTIVE_BREAKER]);
    let (cw, cb) = (service(&without, "checkout"), service(&with, "checkout"));
    let (ww, wb) = (workload(&without, "shoppers"), workload(&with, "shoppers"));
    println!(
        "dead dependency: checkout utilisation {:.3} -> {:.3}, p99 {:.3}s -> {:.3}s, rejected {:.0} -> {:.0}, \
         availability {:.4} -> {:.4}",
        v(&cw.utilization),
        v(&cb.utilization),
        v(&ww.latency_s.p99),
        v(&wb.latency_s.p99),
        v(&ww.rejected),
        v(&wb.rejected),
        v(&ww.availability),
        v(&wb.availability)
    );
    // Without a breaker: every worker is held by a call that will time out; the queue fills.
    assert!(v(&cw.utilization) >= EXHAUSTED_UTIL, "pool not exhausted: {}", v(&cw.utilization));
    assert!(v(&ww.rejected) > 0.0 && v(&cw.blocking_probability) > 0.05);
    assert!(v(&ww.latency_s.p99) > DEAD_TIMEOUT_S, "healthy requests should queue behind the dead calls");
    assert!(edge(&without, DEAD_EDGE).breaker.is_none());

    // With a breaker: the workers stay free, nothing queues, and only requests that need pricing fail.
    assert!(v(&cb.utilization) < PROTECTED_UTIL, "pool still busy: {}", v(&cb.utilization));
    assert!(v(&wb.latency_s.p99) < PROTECTED_P99_SHARE * (DEAD_TIMEOUT_S + CHECKOUT_OWN_S));
    assert_eq!(v(&wb.rejected), 0.0);
    assert!((v(&wb.availability) - (1.0 - DEAD_CALL_SHARE)).abs() < AVAILABILITY_ABS);
    let e = edge(&with, DEAD_EDGE);
    let b = e.breaker.as_ref().expect("the edge has a breaker");
    println!(
        "  breaker: permitted {:.0}, short-circuited {:.0}, openings {:.1}, time open {:.0}s, half-open {:.0}s",
        v(&b.calls_permitted),
        v(&b.short_circuited),
        v(&b.openings),
        v(&b.time_in_state_s["open"]),
        v(&b.time_in_state_s["half_open"])
    );
    assert!(v(&b.short_circuited) > 0.0);
    assert!(v(&b.openings) >= 1.0);
    assert!(v(&b.time_in_state_s["open"]) > 0.0);
    assert!(v(&b.time_in_state_s["open"]) > v(&b.time_in_state_s["half_open"]));
    assert!(outcome(e, "short_circuited") > 0.0);
    assert_eq!(outcome(e, "short_circuited"), v(&b.short_circuited), "edge and breaker disagree");
    // Times in state add up to the measured duration.
    let total: f64 = b.time_in_state_s.values().map(v).sum();
    assert!((total - with.duration_s).abs() < 1e-6, "time in state sums to {total}");
}

/// One user, one request at a time, every request calling the dead dependency: the breaker sees one failure
/// per cycle, so when it opens is exact.
const ONE_USER: [&str; 6] = [
    "warmup=0s",
    "duration=3m",
    "replications=1",
    "services.checkout.calls.1.probability=1",
    "workloads.0.arrivals={ closed: { users: 1, think_time: { constant: { value: 1s } } } }",
    DEAD,
];

#[test]
fn count_window_breaker_waits_for_its_minimum_calls() {
    for minimum in [10u32, 20, 40] {
        let breaker = format!(
            "services.checkout.calls.1.breaker={{ count_window: {{ size: 50, minimum_calls: {minimum}, \
             failure_rate: 50, open_for: 1h }} }}"
        );
        let mut sets = ONE_USER.to_vec();
        sets.push(&breaker);
        let r = run_example(BREAKER_EXAMPLE, &sets);
        let e = edge(&r, DEAD_EDGE);
        let b = e.breaker.as_ref().expect("breaker");
        println!(
            "count window, minimum {minimum}: permitted {:.0}, failures {:.0}, openings {:.0}, transitions {:?}",
            v(&b.calls_permitted),
            v(&b.failures),
            v(&b.openings),
            b.transitions
        );
        // 100% failures, but no decision before `minimum` calls are in the window: exactly `minimum` calls go
        // through, then it opens (and stays open for the rest of the run).
        assert_eq!(v(&b.calls_permitted), f64::from(minimum));
        assert_eq!(v(&b.failures), f64::from(minimum));
        assert_eq!(v(&b.openings), 1.0);
        assert_eq!(b.transitions.len(), 1);
        assert_eq!((b.transitions[0].1, b.transitions[0].2), ("closed", "open"));
        assert!(v(&b.short_circuited) > 0.0);
        assert_eq!(outcome(e, "timeout"), f64::from(minimum));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Deadlines (scenarios/deadline-chain.yaml)
// ---------------------------------------------------------------------------------------------------------------

const DEADLINE_EXAMPLE: &str = "deadline-chain.yaml";
/// The workload's deadline in the example, seconds.
const USER_DEADLINE_S: f64 = 3.0;
const PROPAGATE: &str = "services.partner-api.deadline_propagation=true";
/// Propagation must cut partner-api's wasted work at least by this factor.
const WASTE_CUT: f64 = 0.5;

#[test]
fn a_user_deadline_bounds_every_call_in_the_chain() {
    for sets in [&[][..], &[PROPAGATE][..]] {
        let r = run_example(DEADLINE_EXAMPLE, sets);
        let w = workload(&r, "users");
        let e = edge(&r, "web->partner-api");
        println!(
            "deadline chain {sets:?}: p99 {:.3}s, p99.9 {:.3}s, user timeouts {:.0}, partner attempts timed out {:.0}, \
             retries {:.0}",
            v(&w.latency_s.p99),
            v(&w.latency_s.p999),
            v(&w.timeout),
            e.attempt_outcomes["timeout"].value(),
            v(&e.retries)
        );
        // The deadline really bites: partner-api attempts time out and are retried, and the tail is close to it...
        assert!(e.attempt_outcomes["timeout"].value() > 0.0);
        assert!(v(&e.retries) > 0.0);
        assert!(v(&w.latency_s.p999) > 0.9 * USER_DEADLINE_S);
        // ...yet each attempt only gets a fraction of what is left, so every answer beats the deadline.
        assert!(v(&w.latency_s.p999) <= USER_DEADLINE_S * (1.0 + HISTOGRAM_REL));
        assert_eq!(v(&w.timeout), 0.0, "a user waited out the deadline");
        assert!(v(&w.availability) > 0.999);
    }
}

#[test]
fn deadline_propagation_drops_work_nobody_waits_for() {
    let off = run_example(DEADLINE_EXAMPLE, &[]);
    let on = run_example(DEADLINE_EXAMPLE, &[PROPAGATE]);
    let (a, b) = (service(&off, "partner-api"), service(&on, "partner-api"));
    println!(
        "propagation off -> on: partner-api dropped {:.0} -> {:.0}, wasted {:.0} -> {:.0}, degraded {:.0} -> {:.0}",
        v(&a.dropped),
        v(&b.dropped),
        v(&a.wasted),
        v(&b.wasted),
        v(&workload(&off, "users").degraded),
        v(&workload(&on, "users").degraded)
    );
    assert_eq!(v(&a.dropped), 0.0, "dropped without propagation");
    assert!(v(&b.dropped) > 0.0);
    assert!(v(&a.wasted) > 0.0);
    assert!(v(&b.wasted) < WASTE_CUT * v(&a.wasted), "wasted work did not fall enough");
    assert!(v(&workload(&on, "users").value_per_request) > v(&workload(&off, "users").value_per_request));
}

/// Little's law, L = throughput x W, as `scenarios.rs` checks it for every example (relative).
const LITTLE_REL: f64 = 0.01;

#[test]
fn littles_law_holds_for_a_service_that_drops_requests() {
    let r = run_example(DEADLINE_EXAMPLE, &[PROPAGATE]);
    let s = service(&r, "partner-api");
    assert!(v(&s.dropped) > 0.0);
    let (l, lw) = (v(&s.mean_in_system), v(&s.departures_per_s) * v(&s.mean_sojourn_s));
    println!("partner-api with drops: L {l:.3}, departures x W {lw:.3}");
    assert!((l - lw).abs() < LITTLE_REL * l, "L = {l}, departures x W = {lw}");
}

/// Constant times and a callee that never answers: each request's latency is exactly the deadline arithmetic.
/// `front` (100 ms) calls `mid` (100 ms), which calls `dead`; neither call has a timeout of its own except as
/// overridden, so each attempt's budget is its fraction of the caller's remaining deadline.
const NESTED_DEADLINES: &str = "
name: nested-deadlines
duration: 2m
warmup: 10s
replications: 2
seed: 31
services:
  front:
    servers: 100
    service_time: { constant: { value: 100ms } }
    calls: [ { to: mid, optional: true } ]
  mid:
    servers: 100
    service_time: { constant: { value: 100ms } }
    calls: [ { to: dead, optional: true, deadline_fraction: 0.5, degraded_value: 0.25 } ]
  dead:
    servers: 100000
    service_time: { constant: { value: 1h } }
workloads:
  - { name: users, target: front, deadline: 3s, arrivals: { poisson: { rate: 20/s } } }
";

#[test]
fn each_attempt_gets_its_fraction_of_the_remaining_deadline() {
    // front done at 0.1 s: its attempt to mid may use 0.8 x (3 - 0.1) = 2.32 s, until 2.42 s. mid is done at
    // 0.2 s: its attempt to dead may use 0.5 x (2.42 - 0.2) = 1.11 s, until 1.31 s, when it times out; the
    // optional call degrades mid's answer, which front passes on at once.
    let cases: [(&[&str], f64); 3] = [
        (&[], 0.2 + 0.5 * (0.1 + 0.8 * 2.9 - 0.2)),
        // A shorter timeout of the attempt's own wins over its share.
        (&["services.mid.calls.0.timeout=500ms"], 0.2 + 0.5),
        // Without the share rule at front (fraction 1): mid's request may live until the user's deadline.
        (&["services.front.calls.0.deadline_fraction=1"], 0.2 + 0.5 * (3.0 - 0.2)),
    ];
    for (sets, expected) in cases {
        let r = run_inline(NESTED_DEADLINES, sets);
        let w = workload(&r, "users");
        println!(
            "nested deadlines {sets:?}: latency p50 {:.4}s p99.9 {:.4}s (expected {expected:.4}s), value {:.3}",
            v(&w.latency_s.p50),
            v(&w.latency_s.p999),
            v(&w.value_per_request)
        );
        for p in [&w.latency_s.p50, &w.latency_s.p999] {
            assert!((v(p) - expected).abs() <= expected * HISTOGRAM_REL, "latency {} != {expected}", v(p));
        }
        assert_eq!(v(&w.degraded), v(&w.requests), "every request degraded");
        // mid's degraded_value travels up through front's call.
        assert!((v(&w.value_per_request) - 0.25).abs() < 1e-12);
        // Every attempt on dead ends in a timeout.
        let e = edge(&r, "mid->dead");
        let ended: f64 = e.attempt_outcomes.values().map(v).sum();
        assert!(ended > 0.0);
        assert_eq!(e.attempt_outcomes["timeout"].value(), ended);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Fallback and degradation (scenarios/fallback-degradation.yaml)
// ---------------------------------------------------------------------------------------------------------------

const FALLBACK_EXAMPLE: &str = "fallback-degradation.yaml";
const RECS_EDGE: &str = "storefront->recommendations";
/// Value of the cached answer in the example.
const FALLBACK_VALUE: f64 = 0.5;
/// Availability that degradation must keep.
const MIN_AVAILABILITY: f64 = 0.999;
/// value_per_request against its closed form from the outcome counts (means of ratios vs ratio of means over
/// replications, and requests finishing at the window's edges).
const VALUE_ABS: f64 = 2e-3;

/// A required call's failures against the optional one's degraded share: same streams, same
/// calls fail, up to the window's edges (equal to 4 digits). Lets through 0.1 point off.
const REQUIRED_AVAILABILITY_ABS: f64 = 1e-3;

fn degraded_share(w: &WorkloadReport) -> f64 {
    v(&w.degraded) / v(&w.requests)
}

#[test]
fn fallback_keeps_availability_and_prices_the_degradation() {
    let healthy =
        run_example(FALLBACK_EXAMPLE, &["services.recommendations.servers=10", "services.recommendations.capacity=30"]);
    let r = run_example(FALLBACK_EXAMPLE, &[]);
    let (wh, w) = (workload(&healthy, "shoppers"), workload(&r, "shoppers"));
    let share = degraded_share(w);
    let expected_value = 1.0 - share * (1.0 - FALLBACK_VALUE);
    let e = edge(&r, RECS_EDGE);
    println!(
        "fallback: degraded share {:.4} (healthy {:.5}), availability {:.5}, value/request {:.4} (expected {:.4}), \
         fallbacks {:.0}",
        share,
        degraded_share(wh),
        v(&w.availability),
        v(&w.value_per_request),
        expected_value,
        v(&e.fallbacks)
    );
    assert!(degraded_share(wh) < 0.001, "the healthy variant should be whole");
    assert!(share > 0.3, "recommendations should fail often");
    assert!(v(&w.availability) >= MIN_AVAILABILITY);
    assert!(v(&w.value_per_request) < 1.0);
    assert!((v(&w.value_per_request) - expected_value).abs() < VALUE_ABS);
    assert!(v(&e.fallbacks) > 0.0);
    // Every degraded page is one fallback answer.
    assert!((v(&e.fallbacks) - v(&w.degraded)).abs() <= 1e-3 * v(&w.degraded));
    assert_eq!(outcome(e, "degraded"), v(&e.fallbacks));
}

#[test]
fn optional_call_without_fallback_carries_its_degraded_value() {
    const DEGRADED_VALUE: f64 = 0.2;
    let r = run_example(
        FALLBACK_EXAMPLE,
        &["services.storefront.calls.1.fallback=null", "services.storefront.calls.1.degraded_value=0.2"],
    );
    let w = workload(&r, "shoppers");
    let share = degraded_share(w);
    let expected_value = 1.0 - share * (1.0 - DEGRADED_VALUE);
    println!(
        "no fallback: degraded share {share:.4}, availability {:.5}, value/request {:.4} (expected {expected_value:.4})",
        v(&w.availability),
        v(&w.value_per_request)
    );
    assert!(share > 0.3);
    assert!(v(&w.availability) >= MIN_AVAILABILITY);
    assert!((v(&w.value_per_request) - expected_value).abs() < VALUE_ABS);
    assert_eq!(v(&edge(&r, RECS_EDGE).fallbacks), 0.0);

    // The same failures on a required call fail the requests instead.
    let required = run_example(
        FALLBACK_EXAMPLE,
        &["services.storefront.calls.1.fallback=null", "services.storefront.calls.1.optional=false"],
    );
    let w = workload(&required, "shoppers");
    println!("required, no fallback: availability {:.4}", v(&w.availability));
    assert!(
        (v(&w.availability) - (1.0 - share)).abs() < REQUIRED_AVAILABILITY_ABS,
        "availability {}",
        v(&w.availability)
    );
    assert_eq!(v(&w.degraded), 0.0);
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Hedging (scenarios/hedging-heavy-tail.yaml)
// ---------------------------------------------------------------------------------------------------------------

const HEDGE_EXAMPLE: &str = "hedging-heavy-tail.yaml";
const INDEX_EDGE: &str = "search->index";
/// Median and p99 of index's lognormal service time in the example, seconds.
const INDEX_MEDIAN_S: f64 = 0.005;
const INDEX_P99_S: f64 = 0.2;
/// Hedging at the p95 must cut the caller's p99 at least by this share.
const P99_CUT: f64 = 0.3;
/// The unhedged p99 may be off by this share of index's p99: 3.5 standard errors of a p99 over
/// 180,000 calls (2.8 ms) plus the histogram's 1%. Lets through a p99 off by 10 ms.
const PLAIN_P99_TOL: f64 = 0.05;
/// Dean and Barroso's p95 hedge sends a backup for 5% of calls: a call's latency is below
/// the delay exactly when its first attempt is, so the p95 of the calls is index's p95.
const P95_HEDGE_SHARE: f64 = 0.05;
/// The measured share may exceed that by this much: the delay is read from the last 1,000
/// latencies in 1.6%-wide buckets (rank and rounding: +0.2 point), from a window that lags
/// the calls it decides (the rest; 5.8% measured). Lets through a hedge near the p93–p95.
const P95_HEDGE_SHARE_TOL: f64 = 0.01;
/// The hedged p99 against [`hedged_latency_quantile`] at the measured delay: sampling 0.4 ms,
/// the histogram's 1% and the delay's drift as the window moves. Lets through 2 ms off.
const HEDGED_P99_TOL: f64 = 0.03;
/// Extra load at index: its arrivals per call, minus one.
fn extra_load(r: &Report) -> f64 {
    v(&service(r, "index").arrivals) / v(&edge(r, INDEX_EDGE).calls) - 1.0
}

fn index_service_time() -> LogNormal {
    let sigma = (INDEX_P99_S / INDEX_MEDIAN_S).ln() / 2.326_347_874_040_841;
    LogNormal::new(INDEX_MEDIAN_S.ln(), sigma).expect("valid lognormal")
}

#[test]
fn hedging_cuts_the_tail_at_a_small_extra_load() {
    let plain = run_example(HEDGE_EXAMPLE, &["services.search.calls.0.hedge=null"]);
    let hedged = run_example(HEDGE_EXAMPLE, &[]);
    let (p99_plain, p99_hedged) =
        (v(&workload(&plain, "queries").latency_s.p99), v(&workload(&hedged, "queries").latency_s.p99));
    let e = edge(&hedged, INDEX_EDGE);
    let load = extra_load(&hedged);
    println!(
        "hedge at p95: p99 {:.1}ms -> {:.1}ms ({:.0}% lower), hedges {:.0} of {:.0} calls, extra load {:.2}%, \
         wasted {:.0}",
        p99_plain * 1e3,
        p99_hedged * 1e3,
        (1.0 - p99_hedged / p99_plain) * 100.0,
        v(&e.hedges),
        v(&e.calls),
        load * 100.0,
        v(&service(&hedged, "index").wasted)
    );
    // Without hedging the caller's p99 is index's p99 plus search's own millisecond.
    assert!((p99_plain - (INDEX_P99_S + 0.001)).abs() < PLAIN_P99_TOL * INDEX_P99_S, "p99 without hedge {p99_plain}");
    assert_eq!(extra_load(&plain), 0.0);
    assert!(p99_hedged <= (1.0 - P99_CUT) * p99_plain);
    let share = v(&e.hedges) / v(&e.calls);
    assert!((0.0..=P95_HEDGE_SHARE_TOL).contains(&(share - P95_HEDGE_SHARE)), "hedged share {share}");
    // The delay that hedges this share, and the p99 that delay gives, in closed form.
    let delay = index_service_time().inverse_cdf(1.0 - share);
    let theory = hedged_latency_quantile(delay, 0.99) + 0.001;
    println!("hedge delay {:.1}ms: p99 {:.1}ms in closed form", delay * 1e3, theory * 1e3);
    assert!((p99_hedged - theory).abs() < HEDGED_P99_TOL * theory, "hedged p99 {p99_hedged} vs {theory}");
    assert!((load - share).abs() < 1e-3, "extra load {load} vs hedged share {share}");
    // Every extra arrival at index is a hedge, and every hedge has one loser abandoned.
    assert!((v(&service(&hedged, "index").arrivals) - v(&e.calls) - v(&e.hedges)).abs() < 2.0);
    assert!((v(&e.abandoned) - v(&e.hedges)).abs() < 2.0);
}

#[test]
fn fixed_delay_hedges_the_calls_still_out_at_the_delay() {
    const DELAY_S: f64 = 0.02;
    let r = run_example(HEDGE_EXAMPLE, &["services.search.calls.0.hedge={ delay: 20ms }"]);
    let load = extra_load(&r);
    // index never queues (500 workers), so a call is still out at the delay exactly when its service time is
    // longer: the hedged share is the lognormal's tail beyond 20 ms.
    let expected = 1.0 - index_service_time().cdf(DELAY_S);
    println!(
        "hedge at 20ms: extra load {:.2}% (P(S > 20ms) = {:.2}%), p99 {:.1}ms",
        load * 100.0,
        expected * 100.0,
        v(&workload(&r, "queries").latency_s.p99) * 1e3
    );
    let (hedges, calls) = (v(&edge(&r, INDEX_EDGE).hedges), v(&edge(&r, INDEX_EDGE).calls));
    let reps = f64::from(r.replications);
    assert_binomial("calls out at 20 ms", hedges * reps, calls * reps, expected);
    assert!((load - hedges / calls).abs() < 1e-3, "extra load {load} vs hedged share {}", hedges / calls);
}

/// The `q`-quantile of a hedged call's latency at index: the first attempt's time S1 if it
/// answers within `delay`, else the first of S1 and `delay + S2` (S1, S2 independent draws of
/// index's service time; index never queues), by bisection on the survival function
/// `P(S1 > t)·P(S2 > t − delay)`.
fn hedged_latency_quantile(delay: f64, q: f64) -> f64 {
    let s = index_service_time();
    let survival = |t: f64| (1.0 - s.cdf(t)) * if t > delay { 1.0 - s.cdf(t - delay) } else { 1.0 };
    let (mut lo, mut hi) = (0.0, 10.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if survival(mid) > 1.0 - q { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

// ---------------------------------------------------------------------------------------------------------------
// 6. Determinism with every policy on
// ---------------------------------------------------------------------------------------------------------------

/// Retries with jitter and both budget styles, both breaker kinds, a bulkhead with a wait, a rate limiter, a
/// fallback, fixed and percentile hedges, user deadlines and deadline propagation, open and closed load.
const EVERY_POLICY: &str = "
name: every-policy
duration: 2m
warmup: 20s
replications: 4
seed: 23
window: 10s
services:
  edge:
    servers: 200
    capacity: 400
    service_time: { exponential: { mean: 2ms } }
    calls:
      - to: api
        timeout: 300ms
        retry:
          max_attempts: 3
          backoff: { exponential: { base: 20ms, multiplier: 2, cap: 200ms } }
          jitter: full
          budget: { ratio: 0.2, min_per_s: 5 }
        breaker: { count_window: { size: 50, minimum_calls: 20, failure_rate: 30, open_for: 2s } }
  api:
    servers: 20
    capacity: 300
    service_time: { lognormal: { mean: 20ms, sd: 40ms } }
    deadline_propagation: true
    calls:
      - parallel:
          - to: db
            timeout: 200ms
            bulkhead: { max_concurrent: 6, max_wait: 20ms }
            retry: { max_attempts: 2, jitter: equal, backoff: { fixed: { delay: 10ms } } }
          - to: recs
            optional: true
            timeout: 100ms
            rate_limit: { rate: 150/s, burst: 20 }
            fallback: { cache: { value: 0.4, latency: 2ms } }
            hedge: { percentile: 0.9 }
      - to: audit
        optional: true
        degraded_value: 0.7
        breaker: { consecutive: { failures: 3, successes: 2, open_for: 1s } }
        hedge: { delay: 5ms, max: 2 }
        retry: { preset: envoy, budget: { percent_of_active: 0.2, min_concurrency: 2 } }
  db:
    servers: 6
    capacity: 30
    service_time: { exponential: { mean: 10ms } }
    deadline_propagation: true
  recs:
    servers: 3
    capacity: 10
    service_time: { weibull: { shape: 0.7, scale: 10ms } }
  audit:
    servers: 2
    capacity: 4
    service_time: { pareto: { shape: 1.5, scale: 2ms } }
workloads:
  - name: users
    target: edge
    deadline: 1500ms
    arrivals:
      poisson:
        profile:
          - { at: 0s, rate: 250/s }
          - { at: 40s, rate: 700/s }
          - { at: 60s, rate: 250/s }
  - name: ops
    target: api
    deadline: 1s
    arrivals: { closed: { users: 10, think_time: { exponential: { mean: 200ms } } } }
";

#[test]
fn every_policy_on_is_deterministic_across_thread_counts() {
    let model = load_str(EVERY_POLICY, Path::new("every-policy.yaml"), &[]).unwrap_or_else(|e| panic!("{e}")).model;
    let one = resim::run(&model, &RunOptions { jobs: Some(1) });
    let two = resim::run(&model, &RunOptions { jobs: Some(2) });
    // The scenario really exercises every policy (otherwise the comparison proves little).
    let sum = |f: &dyn Fn(&EdgeReport) -> f64| one.edges.values().map(f).sum::<f64>();
    let exercised = [
        ("retries", sum(&|e| v(&e.retries))),
        ("budget_exhausted", sum(&|e| v(&e.budget_exhausted))),
        ("breaker openings", sum(&|e| e.breaker.as_ref().map_or(0.0, |b| v(&b.openings)))),
        ("short-circuited", sum(&|e| outcome(e, "short_circuited"))),
        ("bulkhead_rejected", sum(&|e| v(&e.bulkhead_rejected))),
        ("rate_limited", sum(&|e| v(&e.rate_limited))),
        ("fallbacks", sum(&|e| v(&e.fallbacks))),
        ("hedges", sum(&|e| v(&e.hedges))),
        ("abandoned", sum(&|e| v(&e.abandoned))),
        ("dropped", one.services.values().map(|s| v(&s.dropped)).sum()),
        ("wasted", one.services.values().map(|s| v(&s.wasted)).sum()),
        ("user timeouts", one.workloads.values().map(|w| v(&w.timeout)).sum()),
    ];
    println!("every policy: {exercised:?}");
    for (what, n) in exercised {
        assert!(n > 0.0, "the scenario never exercises {what}");
    }
    assert_eq!(one.to_json(), two.to_json(), "the thread count changed the report");
}

// ---------------------------------------------------------------------------------------------------------------
// 7. Bulkhead
// ---------------------------------------------------------------------------------------------------------------

/// `api` sends 150 calls/s of 50 ms work to `reports` (7.5 in flight on average, more in bursts) through a
/// bulkhead of 5.
const BULKHEAD: &str = "
name: bulkhead
duration: 5m
warmup: 30s
replications: 2
seed: 17
services:
  api:
    servers: 1000
    service_time: { constant: { value: 1ms } }
    calls:
      - to: reports
        bulkhead: { max_concurrent: 5 }
  reports:
    servers: 100
    service_time: { exponential: { mean: 50ms } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 150/s } } }
";
const PERMITS: f64 = 5.0;
const BULKHEAD_EDGE: &str = "api->reports";
/// With waiting, the permits are nearly always in use: mean in flight at least this share of the permits.
const BUSY_PERMITS_SHARE: f64 = 0.95;
/// reports never queues (100 workers, at most 5 calls), so its mean sojourn is the mean of its exponential
/// 50 ms service in both runs: standard error 0.3 ms for the difference over ~50,000 calls each, so 5 of them.
/// Lets through a change of reports' sojourn under 1.5 ms (3%), e.g. a permit's wait counted at the callee.
const REPORTS_SOJOURN_ABS_S: f64 = 0.0015;

#[test]
fn bulkhead_caps_calls_in_flight_and_rejects_the_overflow() {
    let r = run_inline(BULKHEAD, &[]);
    let (s, e) = (service(&r, "reports"), edge(&r, BULKHEAD_EDGE));
    println!(
        "bulkhead 5: reports mean in system {:.3}, bulkhead_rejected {:.0} of {:.0} calls",
        v(&s.mean_in_system),
        v(&e.bulkhead_rejected),
        v(&e.calls)
    );
    assert!(v(&s.mean_in_system) <= PERMITS);
    assert!(v(&e.bulkhead_rejected) > 0.0);
    assert_eq!(outcome(e, "rejected"), v(&e.bulkhead_rejected), "each overflow is one rejected call");
    assert_eq!(v(&s.rejected), 0.0);
    // Never more than 5 at once, not only on average: a callee with exactly 5 workers and no queue would
    // refuse the sixth, and refuses nothing.
    let tight = run_inline(BULKHEAD, &["services.reports.servers=5", "services.reports.capacity=5"]);
    println!("  callee 5/5: rejected {:.0}", v(&service(&tight, "reports").rejected));
    assert_eq!(v(&service(&tight, "reports").rejected), 0.0);
    assert!(v(&edge(&tight, BULKHEAD_EDGE).bulkhead_rejected) > 0.0);
}

#[test]
fn bulkhead_wait_lets_calls_through_later() {
    let at_once = run_inline(BULKHEAD, &[]);
    let waiting = run_inline(BULKHEAD, &["services.api.calls.0.bulkhead.max_wait=100ms"]);
    let (e0, e1) = (edge(&at_once, BULKHEAD_EDGE), edge(&waiting, BULKHEAD_EDGE));
    let (s0, s1) = (service(&at_once, "reports"), service(&waiting, "reports"));
    let (api0, api1) = (service(&at_once, "api"), service(&waiting, "api"));
    println!(
        "bulkhead wait 0 -> 100ms: rejected {:.0} -> {:.0}, ok {:.0} -> {:.0}, reports in system {:.3} -> {:.3}, \
         api sojourn {:.1}ms -> {:.1}ms",
        v(&e0.bulkhead_rejected),
        v(&e1.bulkhead_rejected),
        outcome(e0, "ok"),
        outcome(e1, "ok"),
        v(&s0.mean_in_system),
        v(&s1.mean_in_system),
        v(&api0.mean_sojourn_s) * 1e3,
        v(&api1.mean_sojourn_s) * 1e3
    );
    assert!(v(&e1.bulkhead_rejected) < v(&e0.bulkhead_rejected));
    assert!(outcome(e1, "ok") > outcome(e0, "ok"), "waiting let no more calls succeed");
    // The cap still holds, now with the permits nearly always in use.
    assert!(v(&s1.mean_in_system) <= PERMITS);
    assert!(v(&s1.mean_in_system) >= BUSY_PERMITS_SHARE * PERMITS);
    // The calls that waited took longer: api's sojourn includes the wait for a permit (up to 100 ms), while
    // reports' own sojourn is unchanged (it never queues).
    assert!(v(&api1.mean_sojourn_s) > v(&api0.mean_sojourn_s) + 0.02);
    assert!((v(&s1.mean_sojourn_s) - v(&s0.mean_sojourn_s)).abs() < REPORTS_SOJOURN_ABS_S);
}

/// A hung `ledger` (every worker busy for 30 s, no room to queue) behind a bulkhead of 50 with a 10 s wait:
/// 200 000 calls line up for a permit. At 10 s the 50 holders time out and give their permits back
/// (`release: on_timeout`); each is
/// handed to the next waiter, whose request the full ledger refuses at once, which gives the permit back...
const BULKHEAD_LONG_LINE: &str = "
name: bulkhead-long-line
duration: 20s
replications: 2
seed: 1
services:
  api:
    servers: 1000000
    service_time: { constant: { value: 1ms } }
    calls:
      - to: ledger
        timeout: 10s
        bulkhead: { max_concurrent: 50, max_wait: 10s, release: on_timeout }
  ledger:
    servers: 50
    capacity: 50
    service_time: { constant: { value: 30s } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 20000/s } } }
";

#[test]
fn bulkhead_handoff_down_a_long_line_does_not_overflow_the_stack() {
    // Run in a child process: a stack overflow aborts the whole process.
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("bulkhead-long-line.yaml");
    std::fs::write(&file, BULKHEAD_LONG_LINE).expect("write the scenario");
    let out = dir.path().join("out");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_resim"))
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .expect("run resim");
    assert!(run.status.success(), "resim failed ({}): {}", run.status, String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report.json"))
            .expect("valid JSON");
    let rejected = report["edges"]["api->ledger"]["outcomes"]["rejected"]["mean"].as_f64().expect("a number");
    assert!(rejected > 0.0, "the waiters should have been refused by the full ledger");
}
