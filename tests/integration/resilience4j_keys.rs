//! resilience4j's keys end to end: the breaker's `initial_state` (DISABLED, FORCED_OPEN,
//! METRICS_ONLY), `record_exceptions` / `ignore_exceptions`, and the rate limiter whose
//! callers wait for a permission, each on a small scenario whose answer follows by hand,
//! and the refusals of the keys that do not go together.

use resim::Report;
use resim::report::charts::render_charts;
use resim::report::{BreakerReport, EdgeReport};

use crate::common::{assert_error, refusal, run_yaml};

/// One user calling `dep` once a request, `POLICY` on the call. A dead `dep` (`SERVICE`
/// = 1h) makes every attempt time out after 100 ms; a cycle is 1 ms + 100 ms + 1 s of
/// thinking, so about 91 calls in 100 s.
const SCENARIO: &str = "name: r4j
duration: 100s
warmup: 0s
replications: 1
seed: 1
services:
  api:
    servers: 10
    service_time: { constant: { value: 1ms } }
    calls:
      - to: dep
        timeout: 100ms
        POLICY
  dep:
    servers: 1000
    service_time: { constant: { value: SERVICE } }
workloads:
  - name: users
    target: api
    arrivals: { closed: { users: USERS, think_time: { constant: { value: THINK } } } }
";

fn yaml(policy: &str, service: &str, users: u32, think: &str) -> String {
    SCENARIO
        .replace("POLICY", policy)
        .replace("SERVICE", service)
        .replace("USERS", &users.to_string())
        .replace("THINK", think)
}

/// The run with `policy` on the call to a dead dependency.
fn dead(policy: &str) -> Report {
    run_yaml(&yaml(policy, "1h", 1, "1s"))
}

fn edge(r: &Report) -> &EdgeReport {
    &r.edges["api->dep"]
}

fn breaker(r: &Report) -> &BreakerReport {
    edge(r).breaker.as_ref().expect("the edge has a breaker")
}

fn outcome(r: &Report, key: &str) -> f64 {
    edge(r).outcomes[key].value()
}

#[test]
fn a_disabled_breaker_lets_every_call_through_and_records_nothing() {
    let r = dead("breaker: { consecutive: { failures: 1 }, initial_state: disabled }");
    let (b, calls) = (breaker(&r), edge(&r).calls.value());
    assert!(calls > 80.0, "{calls} calls");
    assert_eq!(outcome(&r, "timeout"), calls, "every call reached the dead dependency");
    let counted = [&b.calls_permitted, &b.short_circuited, &b.failures, &b.openings].map(|s| s.value());
    assert_eq!(counted, [0.0; 4]);
    assert_eq!(b.time_in_state_s["disabled"].value(), r.duration_s);
    assert!(b.transitions.is_empty());
}

#[test]
fn a_forced_open_breaker_short_circuits_every_call() {
    let r = dead("breaker: { consecutive: { failures: 1 }, initial_state: forced_open }");
    let (b, calls) = (breaker(&r), edge(&r).calls.value());
    assert_eq!(outcome(&r, "short_circuited"), calls);
    assert_eq!(b.short_circuited.value(), calls);
    assert_eq!(outcome(&r, "timeout"), 0.0);
    assert_eq!(b.time_in_state_s["forced_open"].value(), r.duration_s);
    assert!(!b.time_in_state_s.contains_key("disabled"), "states never visited are left out");
    // The breakers chart draws the whole run red (open), none of it green (closed).
    let charts = render_charts(&r).unwrap();
    let svg = &charts.iter().find(|c| c.file == "breakers.svg").expect("a breakers chart").svg;
    assert!(svg.contains("fill=\"#C62828\"") && !svg.contains("fill=\"#2E7D32\""));
}

#[test]
fn a_metrics_only_breaker_records_every_failure_and_never_opens() {
    let r = dead("breaker: { consecutive: { failures: 1 }, initial_state: metrics_only }");
    let (b, calls) = (breaker(&r), edge(&r).calls.value());
    assert_eq!((b.failures.value(), b.openings.value(), b.short_circuited.value()), (calls, 0.0, 0.0));
    // The same breaker from CLOSED opens at the first timeout.
    let normal = dead("breaker: { consecutive: { failures: 1 } }");
    assert!(breaker(&normal).openings.value() >= 1.0);
}

/// A count window of 5 that opens at 50 % slow calls (over 50 ms): a timed-out attempt
/// lasts 100 ms, so it is slow whenever it is recorded.
const SLOW_WINDOW: &str = "count_window: { size: 5, minimum_calls: 5, slow_call_rate: 50, slow_call_duration: 50ms }";

#[test]
fn an_outcome_neither_recorded_nor_ignored_counts_as_a_slow_success() {
    let r = dead(&format!("breaker: {{ {SLOW_WINDOW}, record_exceptions: [error] }}"));
    let b = breaker(&r);
    // The timeouts are not failures but successes, slow ones: the slow-call rate opens it.
    assert_eq!(b.failures.value(), 0.0);
    assert!(b.slow_calls.value() >= 5.0 && b.openings.value() >= 1.0, "{b:?}");
    let ignored = dead(&format!("breaker: {{ {SLOW_WINDOW}, ignore_exceptions: [timeout] }}"));
    let b = breaker(&ignored);
    assert_eq!((b.failures.value(), b.slow_calls.value(), b.openings.value()), (0.0, 0.0, 0.0));
}

#[test]
fn a_half_open_wait_that_runs_out_leads_where_after_max_wait_says() {
    // Five trials take five of the user's 1.1 s cycles, far past the 1 s half-open wait.
    let window =
        "count_window: { size: 2, minimum_calls: 2, half_open_calls: 5, open_for: 5s, max_wait_in_half_open: 1s";
    let moves = |after: &str| {
        let r = dead(&format!("breaker: {{ {window}{after} }} }}"));
        let t = &breaker(&r).transitions;
        t.iter().filter(|m| m.1 == "half_open").map(|m| m.2).collect::<Vec<_>>()
    };
    let reopened = moves("");
    assert!(!reopened.is_empty() && reopened.iter().all(|&to| to == "open"), "{reopened:?}");
    let closed = moves(", after_max_wait: closed");
    assert!(!closed.is_empty() && closed.iter().all(|&to| to == "closed"), "{closed:?}");
}

/// Four users without pause against a healthy dependency, behind one permission per second.
fn limited(timeout: &str) -> Report {
    let policy =
        format!("rate_limit: {{ limit_for_period: 1, limit_refresh_period: 1s, timeout_duration: {timeout} }}");
    run_yaml(&yaml(&policy, "1ms", 4, "10ms"))
}

#[test]
fn callers_wait_for_the_rate_limiters_permission() {
    let r = limited("5s");
    // One permission at start and one per second after: 100 calls answered in 100 s, none
    // refused, none timed out (the attempt's 100 ms timeout starts after the wait); at the
    // end each of the 4 users has a call made and still waiting for its permission.
    let (calls, ok) = (edge(&r).calls.value(), outcome(&r, "ok"));
    assert!((99.0..=100.0).contains(&ok), "{ok} calls answered");
    assert_eq!((edge(&r).rate_limited.value(), calls - ok), (0.0, 4.0));
    // Four users share one permission a second: a request waits about 3 s on average.
    let p50 = r.workloads["users"].latency_s.p50.value();
    assert!((2.5..=4.5).contains(&p50), "median latency {p50} s");
    // Without a wait the same demand is refused instead, and as many calls still pass.
    let refusing = limited("0s");
    assert!(edge(&refusing).rate_limited.value() > 1000.0);
    assert!((99.0..=101.0).contains(&outcome(&refusing, "ok")));
}

#[test]
fn keys_that_do_not_go_together_are_refused_by_name() {
    let policy = |p: &str| yaml(p, "1ms", 1, "1s");
    let both = "breaker: { consecutive: {}, failure_on: [error], record_exceptions: [timeout] }";
    assert_error(&refusal(&policy(both)), "services.api.calls.0.breaker.failure_on", &["record_exceptions"]);
    let mixed = "rate_limit: { rate: 10/s, limit_for_period: 5 }";
    assert_error(&refusal(&policy(mixed)), "services.api.calls.0.rate_limit", &["not both"]);
    let zero = "rate_limit: { limit_for_period: 0 }";
    assert_error(&refusal(&policy(zero)), "services.api.calls.0.rate_limit.limit_for_period", &["0"]);
    assert_error(&refusal(&policy("rate_limit: {}")), "services.api.calls.0.rate_limit.rate", &["rate"]);
    let server =
        policy("").replace("    servers: 1000\n", "    servers: 1000\n    rate_limit: { limit_for_period: 5 }\n");
    assert_error(&refusal(&server), "services.dep.rate_limit", &["token bucket"]);
}
