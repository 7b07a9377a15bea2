//! Where a retry goes and when: Envoy's `previous_hosts` retry host predicate steers a
//! retry away from the instance that failed, and a server's pushback (gRFC A6
//! `grpc-retry-pushback-ms`) makes the caller's retry wait.

use resim::metrics::Outcome;

use super::common::{FAILED, Sim, assert_binomial, refusal};

/// One instance of three always fails; a random balancer; two attempts per call with no
/// backoff. Every failure of a call is a first attempt on #1 followed by a retry on #1.
const ONE_BAD_OF_THREE: &str = "
name: one-bad-of-three
duration: 10m
warmup: 0s
replications: 4
seed: 11
services:
  front:
    servers: 1000
    service_time: { constant: { value: 1ms } }
    calls:
      - to: dep
        retry: { max_attempts: 2, backoff: none, jitter: none, previous_hosts: true }
  dep:
    instances: 3
    load_balancer: random
    servers: 1000
    service_time: { constant: { value: 10ms } }
faults:
  - { kind: error, target: 'dep#1', at: 0s, for: 1h, probability: 1.0 }
workloads:
  - name: users
    target: front
    arrivals: { poisson: { profile: [{ at: 0s, rate: 100/s }, { at: 599s, rate: 0/s }] } }
";

/// Failed requests and all requests of the `users` workload.
fn failures(sim: &Sim) -> (f64, f64) {
    let failed: f64 = FAILED.iter().map(|&o| sim.outcome_total("users", o)).sum();
    (failed, sim.requests_total("users"))
}

/// P(call fails) = P(first attempt on #1) × P(retry ends on #1). The first pick is #1
/// with probability 1/3. The retry's pick is #1 with probability 1/3, and then the
/// balancer picks again, each time #1 with probability 1/3, up to
/// `host_selection_retry_max_attempts` = r times: the retry ends on #1 only if all
/// r + 1 picks were #1, (1/3)^(r+1). So 1/3 × 1/9 = 1/27 with Envoy's default r = 1,
/// 1/3 × 1/81 = 1/243 with r = 3, and 1/3 × 1/3 = 1/9 without the predicate.
#[test]
fn a_retry_avoids_the_instance_that_failed_as_envoy_s_previous_hosts() {
    let cases: [(&[&str], f64); 3] = [
        (&[], 1.0 / 27.0),
        (&["services.front.calls.0.retry.host_selection_retry_max_attempts=3"], 1.0 / 243.0),
        (&["services.front.calls.0.retry.previous_hosts=false"], 1.0 / 9.0),
    ];
    for (sets, p) in cases {
        let sim = Sim::run_with(ONE_BAD_OF_THREE, sets);
        let (failed, all) = failures(&sim);
        println!("{sets:?}: {failed} of {all} requests failed ({:.5}), expected {p:.5}", failed / all);
        assert_binomial(&format!("{sets:?}"), failed, all, p);
        let e = &sim.report.edges["front->dep"];
        // Every call whose first attempt failed (a third of them) was retried once.
        assert_binomial("retried calls", e.retries.value() * 4.0, e.calls.value() * 4.0, 1.0 / 3.0);
    }
}

/// Without the key the balancer draws exactly as before: the same run, byte for byte.
#[test]
fn without_previous_hosts_the_run_is_unchanged() {
    let without = Sim::run_with(ONE_BAD_OF_THREE, &["services.front.calls.0.retry.previous_hosts=null"]);
    let off = Sim::run_with(ONE_BAD_OF_THREE, &["services.front.calls.0.retry.previous_hosts=false"]);
    let json = |s: &Sim| serde_json::to_string(&s.report).unwrap();
    assert_eq!(json(&without), json(&off));
}

/// A callee whose rate limit has one token and never refills: the first call passes,
/// every later attempt is refused at once with "retry after 1 s". Two attempts with a
/// fixed 10 ms backoff: the retry waits the pushback instead, so a call lasts exactly
/// 1 s (refused at once twice) and front's visit 1 ms + 1 s.
const PUSHED_BACK: &str = "
name: pushed-back
duration: 5m
warmup: 10s
replications: 2
seed: 5
services:
  front:
    servers: 1000
    service_time: { constant: { value: 1ms } }
    calls:
      - to: dep
        retry: { max_attempts: 2, backoff: { fixed: { delay: 10ms } }, jitter: none }
  dep:
    servers: 10
    service_time: { constant: { value: 1ms } }
    rate_limit: { rate: 1/h, burst: 1 }
    pushback: { retry_after: 1s }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 20/s } } }
";

#[test]
fn a_pushback_makes_the_retry_wait_at_least_the_delay() {
    // (overrides, retry sleep in seconds, attempts per call)
    let cases: [(&[&str], f64, f64); 4] = [
        (&[], 1.0, 2.0),
        // "At least": a longer backoff still applies.
        (&["services.front.calls.0.retry.backoff.fixed.delay=2s"], 2.0, 2.0),
        // Without pushback, the plain backoff.
        (&["services.dep.pushback=null"], 0.01, 2.0),
        // `never`: no retry at all.
        (&["services.dep.pushback.retry_after=never"], 0.0, 1.0),
    ];
    for (sets, sleep, attempts) in cases {
        let sim = Sim::run_with(PUSHED_BACK, sets);
        let e = &sim.report.edges["front->dep"];
        let sojourn = sim.service("front").mean_sojourn_s.value();
        println!(
            "{sets:?}: front's mean sojourn {sojourn:.6}s, {} attempts per call",
            e.attempts.value() / e.calls.value()
        );
        // Every measured call was refused each time: its visit is the 1 ms of work plus
        // the sleep, with no time between a refusal and the retry's send but the sleep.
        assert!((sojourn - (0.001 + sleep)).abs() < 1e-9, "{sets:?}: mean sojourn {sojourn}");
        // Calls are counted when they start, attempts when they are sent: a call that
        // straddles the end of the warm-up or of the run counts one and not the other.
        let per_call = e.attempts.value() / e.calls.value();
        assert!((per_call - attempts).abs() < 1e-3, "{sets:?}: {per_call} attempts per call");
        assert_eq!(sim.outcome_total("users", Outcome::Ok), 0.0, "{sets:?}: the one token went in the warm-up");
    }
}

#[test]
fn misplaced_keys_are_refused_with_a_reason() {
    let no_limit = PUSHED_BACK.replace("    rate_limit: { rate: 1/h, burst: 1 }\n", "");
    let e = refusal(&no_limit).to_string();
    assert!(e.contains("services.dep.pushback") && e.contains("rate_limit"), "{e}");
    let no_predicate =
        ONE_BAD_OF_THREE.replace("previous_hosts: true", "previous_hosts: false, host_selection_retry_max_attempts: 2");
    let e = refusal(&no_predicate).to_string();
    assert!(e.contains("host_selection_retry_max_attempts") && e.contains("previous_hosts: true"), "{e}");
}

/// The concurrency limit's refusals carry the pushback too: with `never`, a call the
/// limit refuses is not retried, so a call makes one attempt whatever its retry policy.
#[test]
fn a_concurrency_limit_pushes_back_as_well() {
    let yaml = PUSHED_BACK
        .replace("rate_limit: { rate: 1/h, burst: 1 }", "concurrency_limit: { aimd: { initial: 1, min: 1, max: 1 } }")
        .replace("constant: { value: 1ms } }\n    rate", "constant: { value: 100ms } }\n    rate");
    let attempts_per_call = |sets: &[&str]| {
        let sim = Sim::run_with(&yaml, sets);
        assert!(sim.service("dep").concurrency_limited.value() > 0.0, "{sets:?}: the limit refuses");
        let e = &sim.report.edges["front->dep"];
        e.attempts.value() / e.calls.value()
    };
    let never = attempts_per_call(&["services.dep.pushback.retry_after=never"]);
    let plain = attempts_per_call(&["services.dep.pushback=null"]);
    println!("attempts per call: {never:.4} with `never`, {plain:.4} without pushback");
    assert!((never - 1.0).abs() < 1e-3, "{never}");
    assert!(plain > 1.01, "without pushback refused calls are retried: {plain}");
}
