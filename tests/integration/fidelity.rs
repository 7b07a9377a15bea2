//! Production fidelity: the policies keep their state where production keeps it (a
//! library in each caller process, a sidecar beside it, or one mesh-wide state), and
//! give back every permit on every path that ends an attempt.

use resim::report::Statistic;
use resim::theory::erlang_b;

use super::common::{Sim, assert_theory};

/// Four caller instances behind a random balancer share 80 calls/s of 100 ms work at a
/// dependency with ample workers: 8 Erlangs offered in all, 2 per caller instance. Each
/// call passes a semaphore bulkhead of 10 that rejects at once, so the bulkhead is an
/// Erlang loss system (insensitive to the holding time's shape): each instance's own
/// bulkhead of 10 sees 2 Erlangs, one fleet-wide bulkhead sees all 8.
const FLEET_BULKHEAD: &str = "
name: fleet-bulkhead
duration: 1h
warmup: 1m
replications: 8
seed: 20
services:
  front:
    instances: 4
    load_balancer: random
    servers: 1000
    service_time: { constant: { value: 1ms } }
    calls:
      - to: dep
        bulkhead: { max_concurrent: 10 }
  dep:
    servers: 1000
    service_time: { exponential: { mean: 100ms } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 80/s } } }
";

/// The share of calls the bulkhead rejected, replication by replication.
fn blocking(sim: &Sim) -> Statistic {
    Statistic::of(sim.reps.iter().map(|r| Some(r.edges[0].bulkhead_rejected / r.edges[0].attempts)))
}

#[test]
fn a_bulkhead_per_caller_instance_blocks_as_erlang_b_of_its_share() {
    let sim = Sim::run_with(FLEET_BULKHEAD, &[]);
    let b = blocking(&sim);
    let theory = erlang_b(10, 2.0);
    println!(
        "per-instance bulkheads of 10 at 2 Erlangs each: blocking {:.3e} {:?}, Erlang B {theory:.3e}",
        b.value(),
        b.ci95
    );
    assert_theory("per-instance bulkhead blocking", &b, theory);
    // A fleet-wide bulkhead would block over a thousand times more often.
    assert!(b.value() < 100.0 * theory);
}

#[test]
fn one_bulkhead_for_the_fleet_blocks_as_erlang_b_of_the_whole_load() {
    let sim = Sim::run_with(FLEET_BULKHEAD, &["services.front.calls.0.bulkhead.scope=service"]);
    let b = blocking(&sim);
    let theory = erlang_b(10, 8.0);
    println!("one bulkhead of 10 at 8 Erlangs: blocking {:.5} {:?}, Erlang B {theory:.5}", b.value(), b.ci95);
    assert!((theory - 0.1217).abs() < 5e-5, "Erlang B(10, 8) = {theory}");
    assert_theory("fleet bulkhead blocking", &b, theory);
}

/// `front` calls `dep` through a consecutive breaker (5 failures open it for 10 s, one
/// trial in half-open, one success closes it). `dep` fails every call from 10 s to 40 s,
/// so the breaker trips and its trials fail; from 40 s to 50 s it hangs (30 s more per
/// call), so the trial sent in that stretch is still out when `front` crashes at 45 s
/// for 2 s. The dead process's trial must give its permit back: the first call after the
/// restart takes a new trial, it succeeds, and the breaker closes, as it does without
/// the crash. A leaked permit would keep the breaker half-open, full, for good.
const CRASH_DURING_TRIAL: &str = "
name: crash-during-trial
duration: 300s
warmup: 0s
window: 10s
replications: 3
seed: 5
services:
  front:
    servers: 200
    service_time: { constant: { value: 1ms } }
    calls:
      - to: dep
        breaker: { consecutive: { failures: 5, successes: 1, open_for: 10s, half_open_calls: 1 } }
  dep:
    servers: 200
    service_time: { exponential: { mean: 5ms } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 20/s } } }
faults:
  - { name: down, kind: error, target: dep, at: 10s, for: 30s, probability: 1 }
  - { name: hung, kind: latency, target: dep, at: 40s, for: 10s, add: { constant: { value: 30s } } }
  - { name: front-crash, kind: crash, target: front, at: 45s, for: 2s }
";

#[test]
fn a_caller_crash_during_a_half_open_trial_gives_the_trial_back() {
    let crashed = Sim::run_with(CRASH_DURING_TRIAL, &[]);
    // The same run with the crash moved past the measured windows.
    let calm = Sim::run_with(CRASH_DURING_TRIAL, &["faults.2.at=295s"]);
    // From 100 s to 290 s, long after both trials answered (by 80 s at the latest).
    let after = 10..29;
    let ok = [resim::metrics::Outcome::Ok];
    let (a, b) = (crashed.window_share("users", after.clone(), &ok), calm.window_share("users", after, &ok));
    println!(
        "availability from 100 s: with the crash {:.4} {:?}, without {:.4} {:?}",
        a.value(),
        a.ci95,
        b.value(),
        b.ci95
    );
    assert!(b.value() > 0.999, "without the crash the breaker closes again: {}", b.value());
    assert!(a.value() > 0.999, "after the crash the breaker closes again: {}", a.value());
    assert!(crashed.reps.iter().all(|r| r.unaccounted_permits == 0));
}

/// Five attempts of 100 ms, 10 ms apart, against a dependency that never answers, bound
/// by a 250 ms overall timeout: attempts at 0, 110 and 220 ms, the third cut to 30 ms.
/// Every call ends timed out at 250 ms exactly, after 3 attempts.
const OVERALL_TIMEOUT: &str = "
name: overall-timeout
duration: 60s
warmup: 0s
replications: 2
seed: 3
services:
  front:
    servers: 100
    service_time: { constant: { value: 1ms } }
    calls:
      - to: dep
        timeout: 100ms
        overall_timeout: 250ms
        retry: { max_attempts: 5, backoff: { fixed: { delay: 10ms } }, jitter: none }
  dep:
    servers: 10000
    service_time: { constant: { value: 1h } }
workloads:
  # Nobody arrives in the last second, so every call has ended when the run does.
  - name: users
    target: front
    arrivals: { poisson: { profile: [{ at: 0s, rate: 20/s }, { at: 59s, rate: 0/s }] } }
";

#[test]
fn an_overall_timeout_bounds_every_call_and_cuts_its_attempts() {
    let sim = Sim::run_with(OVERALL_TIMEOUT, &[]);
    let e = &sim.report.edges["front->dep"];
    let (calls, attempts) = (e.calls.value(), e.attempts.value());
    let sojourn = sim.service("front").mean_sojourn_s.value();
    println!("overall 250ms: {calls} calls, {attempts} attempts, front's mean sojourn {sojourn:.6}s");
    assert_eq!(attempts, 3.0 * calls, "three attempts per call");
    assert_eq!(e.outcomes["timeout"].value(), calls, "every call times out");
    assert_eq!(e.call_timeouts.value(), 0.0, "the third attempt's timeout ends each call");
    // 1 ms at front, then 250 ms of calls; none ends sooner (only timers end them), so a
    // mean of 251 ms means that none lasts longer.
    assert!((sojourn - 0.251).abs() < 1e-9, "mean sojourn {sojourn}");
    // Without it, the five attempts and four backoffs take 540 ms.
    let unbounded = Sim::run_with(OVERALL_TIMEOUT, &["services.front.calls.0.overall_timeout=null"]);
    let e = &unbounded.report.edges["front->dep"];
    assert_eq!(e.attempts.value(), 5.0 * e.calls.value());
    assert!((unbounded.service("front").mean_sojourn_s.value() - 0.541).abs() < 1e-9);
}

/// The backoff outlasts what the overall timeout leaves: the call waits for its timeout
/// and ends there, without another attempt.
#[test]
fn a_backoff_past_the_overall_timeout_ends_the_call_at_the_timeout() {
    let sim = Sim::run_with(OVERALL_TIMEOUT, &["services.front.calls.0.retry.backoff.fixed.delay=200ms"]);
    let e = &sim.report.edges["front->dep"];
    // Attempt at 0 (times out at 100 ms), backoff to 300 ms: past 250 ms, so the call
    // ends at 250 ms after one attempt.
    assert_eq!(e.attempts.value(), e.calls.value());
    assert_eq!(e.call_timeouts.value(), e.calls.value());
    let sojourn = sim.service("front").mean_sojourn_s.value();
    assert!((sojourn - 0.251).abs() < 1e-9, "mean sojourn {sojourn}");
}

/// `fleet-breakers.yaml`: each web process's breaker trips only when its own zone's
/// inventory fails, at its own time; one breaker for the fleet trips for everyone.
#[test]
fn per_process_breakers_contain_a_zone_s_failures_a_fleet_breaker_spreads_them() {
    let own = super::common::example("fleet-breakers.yaml", &[]);
    let b = own.report.edges["web->inventory"].breaker.as_ref().expect("a breaker");
    assert_eq!(b.breakers, 3);
    let first_opening = |k: u32| b.transitions.iter().find(|t| t.3 == Some(k) && t.2 == "open").map(|t| t.0);
    // Measured time = run time − 60 s warm-up; the deploys go bad at 120 s and 180 s.
    let (one, two) = (first_opening(1).expect("web#1 trips"), first_opening(2).expect("web#2 trips"));
    assert!((180.0..185.0).contains(&one) && (240.0..245.0).contains(&two), "opened at {one} and {two}");
    assert_eq!(first_opening(0), None, "the healthy zone's breaker stays closed");
    let fleet = super::common::example("fleet-breakers.yaml", &["services.web.calls.0.breaker.scope=service"]);
    let (a, f) = (&own.report.workloads["shoppers"].availability, &fleet.report.workloads["shoppers"].availability);
    println!("fleet-breakers: availability per process {:.4}, fleet-wide {:.4}", a.value(), f.value());
    assert!(a.value() > f.value() + 0.15, "{} vs {}", a.value(), f.value());
}

/// `front` sends 150 calls/s of 50 ms work to `dep` (7.5 in flight on average) through
/// Envoy's `max_requests: 5`: never more than 5 in flight, the overflow `rejected`.
const ENVOY_THRESHOLDS: &str = "
name: envoy-thresholds
duration: 2m
warmup: 10s
replications: 2
seed: 9
services:
  front:
    servers: 1000
    service_time: { constant: { value: 1ms } }
    calls:
      - to: dep
        circuit_breakers: { max_requests: 5 }
  dep:
    servers: 100
    service_time: { exponential: { mean: 50ms } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 150/s } } }
";

#[test]
fn envoy_max_requests_caps_the_requests_in_flight() {
    let sim = Sim::run_with(ENVOY_THRESHOLDS, &[]);
    let (dep, e) = (sim.service("dep"), &sim.report.edges["front->dep"]);
    println!(
        "max_requests 5: dep in system {:.3}, rejected {}",
        dep.mean_in_system.value(),
        e.outcomes["rejected"].value()
    );
    assert!(dep.mean_in_system.value() <= 5.0);
    assert!(e.outcomes["rejected"].value() > 0.0);
    // Each overflow is one attempt failed `rejected` (no retries, no hedges here).
    let o = e.circuit_breaker_overflows.as_ref().expect("reported");
    assert_eq!(o.requests.value(), e.attempt_outcomes["rejected"].value());
    assert_eq!((o.pending_requests.value(), o.retries.value()), (0.0, 0.0));
    assert!(sim.reps.iter().all(|r| r.unaccounted_permits == 0));
    // Never more than 5 at once: a callee with exactly 5 workers and no queue refuses none.
    let tight = Sim::run_with(ENVOY_THRESHOLDS, &["services.dep.servers=5", "services.dep.capacity=5"]);
    assert_eq!(tight.service("dep").rejected.value(), 0.0);
    assert!(tight.report.edges["front->dep"].outcomes["rejected"].value() > 0.0);
}

/// A dead `dep`, five attempts 100 ms apart: 4 retries per call, 400/s at 100 calls/s.
/// Envoy's `max_retries: 2` lets at most 2 be outstanding (each from when it is granted
/// until its attempt ends, about 100 ms): at most about 20 retries/s.
#[test]
fn envoy_max_retries_bounds_the_retries_outstanding() {
    let sets = [
        "services.dep.service_time={ constant: { value: 1ms } }",
        "workloads.0.arrivals={ poisson: { rate: 100/s } }",
        "services.front.calls.0={ to: dep, retry: { max_attempts: 5, backoff: { fixed: { delay: 100ms } }, jitter: none }, circuit_breakers: { max_retries: 2 } }",
        "faults=[{ kind: error, target: dep, at: 0s, for: 1h, probability: 1 }]",
    ];
    let sim = Sim::run_with(ENVOY_THRESHOLDS, &sets);
    let e = &sim.report.edges["front->dep"];
    let per_s = e.retries.value() / 120.0;
    println!("max_retries 2: {per_s:.1} retries/s");
    assert!(per_s <= 20.5, "{per_s} retries/s");
    assert!(e.circuit_breaker_overflows.as_ref().expect("reported").retries.value() > 0.0);
    assert!(per_s > 15.0, "the slots are kept busy: {per_s}");
    assert!(sim.reps.iter().all(|r| r.unaccounted_permits == 0));
}

/// `front` calls `dep` (100 ms of work) through a bulkhead of 10 with a 20 ms timeout, at
/// 200 calls/s (20 Erlangs of work, far beyond the bulkhead): every attempt times out.
const TIMED_OUT_BULKHEAD: &str = "
name: timed-out-bulkhead
duration: 1m
warmup: 5s
replications: 2
seed: 4
services:
  front:
    servers: 1000
    service_time: { constant: { value: 1ms } }
    calls:
      - to: dep
        timeout: 20ms
        bulkhead: { max_concurrent: 10 }
  dep:
    servers: 10
    capacity: 10
    service_time: { constant: { value: 100ms } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 200/s } } }
";

/// With `release: on_answer` (the default) a timed-out request keeps its permit until
/// `dep` finishes it, so `dep`, with exactly 10 workers and no queue, never sees an 11th
/// and refuses nothing. With `on_timeout` the permit comes back at the timeout, the
/// caller sends more while the abandoned work goes on, and `dep` refuses the overflow.
#[test]
fn bulkhead_permits_come_back_on_the_answer_or_at_the_timeout() {
    let answer = Sim::run_with(TIMED_OUT_BULKHEAD, &[]);
    let timeout = Sim::run_with(TIMED_OUT_BULKHEAD, &["services.front.calls.0.bulkhead.release=on_timeout"]);
    let (a, t) = (answer.service("dep"), timeout.service("dep"));
    println!(
        "on_answer: dep refused {}, in system {:.2}; on_timeout: refused {}, in system {:.2}",
        a.rejected.value(),
        a.mean_in_system.value(),
        t.rejected.value(),
        t.mean_in_system.value()
    );
    assert_eq!(a.rejected.value(), 0.0);
    assert!(a.mean_in_system.value() <= 10.0);
    assert!(t.rejected.value() > 1000.0);
    assert!(answer.reps.iter().chain(&timeout.reps).all(|r| r.unaccounted_permits == 0));
}

/// Three hedges, each its own request: each takes its own bulkhead permit (or is not
/// sent), so a bulkhead of 10 keeps `dep` at 10 in flight however many hedges there are.
#[test]
fn hedges_take_their_own_bulkhead_permits() {
    let sets = [
        "services.front.calls.0={ to: dep, bulkhead: { max_concurrent: 10 }, hedge: { delay: 10ms, max: 3 } }",
        "workloads.0.arrivals={ poisson: { rate: 60/s } }",
    ];
    let sim = Sim::run_with(TIMED_OUT_BULKHEAD, &sets);
    let (dep, e) = (sim.service("dep"), &sim.report.edges["front->dep"]);
    println!(
        "3 hedges, bulkhead 10: dep refused {}, in system {:.2}, hedges {}",
        dep.rejected.value(),
        dep.mean_in_system.value(),
        e.hedges.value()
    );
    assert_eq!(dep.rejected.value(), 0.0, "never more than 10 requests at dep");
    assert!(e.hedges.value() > 0.0, "hedges were sent while permits were free");
    assert!(sim.reps.iter().all(|r| r.unaccounted_permits == 0));
}

/// gRPC's hedging policy (gRFC A6) against a dependency failing every request after 1 ms:
/// with `error` non-fatal each failure sends the next hedge at once, so every call makes
/// its three requests back to back; with `error` fatal (or without the list) the first
/// failure ends the call.
#[test]
fn grpc_non_fatal_status_codes_send_the_next_hedge_at_once() {
    let base = [
        "services.dep.service_time={ constant: { value: 1ms } }",
        "faults=[{ kind: error, target: dep, at: 0s, for: 1h, probability: 1 }]",
    ];
    let with = |hedge: &str| {
        let call = format!("services.front.calls.0={{ to: dep, hedge: {hedge} }}");
        let sets: Vec<&str> = base.iter().copied().chain([call.as_str()]).collect();
        let sim = Sim::run_with(ENVOY_THRESHOLDS, &sets);
        let e = &sim.report.edges["front->dep"];
        (e.hedges.value() / e.calls.value(), sim.service("front").mean_sojourn_s.value())
    };
    let (non_fatal, sojourn) = with("{ delay: 1s, max_attempts: 3, non_fatal_status_codes: [error] }");
    println!("non-fatal: {non_fatal} hedges per call, front sojourn {sojourn}");
    assert!((non_fatal - 2.0).abs() < 1e-3, "{non_fatal} hedges per call");
    assert!((sojourn - 0.004).abs() < 1e-6, "1 ms at front, then three 1 ms requests: {sojourn}");
    let (fatal, sojourn) = with("{ delay: 1s, max_attempts: 3, non_fatal_status_codes: [timeout] }");
    assert_eq!(fatal, 0.0);
    assert!((sojourn - 0.002).abs() < 1e-6, "{sojourn}");
    assert_eq!(with("{ delay: 1s, max_attempts: 3 }").0, 0.0);
}

/// Envoy's `hedge_on_per_try_timeout`: the 100 ms per-try timeout of a 150 ms request
/// sends a hedge and keeps waiting, so the first request answers at 150 ms and every call
/// succeeds; without it every attempt times out.
#[test]
fn envoy_hedge_on_per_try_timeout_keeps_the_timed_out_request() {
    let call =
        "services.front.calls.0={ to: dep, timeout: 100ms, hedge: { delay: 1h, hedge_on_per_try_timeout: true } }";
    let sets = ["services.dep.service_time={ constant: { value: 150ms } }", call];
    let sim = Sim::run_with(ENVOY_THRESHOLDS, &sets);
    let e = &sim.report.edges["front->dep"];
    println!(
        "hedge on per-try timeout: ok {}, timeout {}, hedges {}",
        e.outcomes["ok"].value(),
        e.outcomes["timeout"].value(),
        e.hedges.value()
    );
    assert_eq!(e.outcomes["timeout"].value(), 0.0);
    assert!((e.hedges.value() - e.calls.value()).abs() <= 20.0, "one hedge per call, at 100 ms");
    let plain = Sim::run_with(
        ENVOY_THRESHOLDS,
        &[sets[0], "services.front.calls.0={ to: dep, timeout: 100ms, hedge: { delay: 1h } }"],
    );
    assert_eq!(plain.report.edges["front->dep"].outcomes["ok"].value(), 0.0);
}

/// Hystrix's defaults: nothing opens before 20 requests in the 10 s window, then 50%
/// errors open it for 5 s, and one trial decides. Polly's: 100 calls in 30 s, 10%.
#[test]
fn hystrix_and_polly_breaker_presets_keep_their_libraries_defaults() {
    use resim::engine::SimTime;
    use resim::policy::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
    let ms = SimTime::from_millis;
    let mut b = CircuitBreaker::new(BreakerConfig::hystrix(), SimTime::ZERO);
    // 19 requests, 10 of them failing: 53% but under the volume threshold.
    for i in 0..19u64 {
        assert!(b.try_acquire(ms(100 * i)));
        if i % 2 == 0 { b.on_failure(ms(100 * i), ms(1)) } else { b.on_success(ms(100 * i), ms(1)) }
    }
    assert_eq!(b.state(ms(1900)), BreakerState::Closed);
    assert!(b.try_acquire(ms(1900)));
    b.on_success(ms(1900), ms(1)); // 20 requests, 10 failed: 50% opens it.
    assert_eq!(b.state(ms(1900)), BreakerState::Open);
    assert!(!b.try_acquire(ms(6800)), "open for the 5 s sleep window");
    assert!(b.try_acquire(ms(6900)), "one trial after 5 s");
    assert!(!b.try_acquire(ms(6900)), "only one");
    b.on_success(ms(6950), ms(1));
    assert_eq!(b.state(ms(6950)), BreakerState::Closed);
    let BreakerConfig::TimeWindow(p) = BreakerConfig::polly() else { panic!("a time window") };
    assert_eq!((p.window_size, p.minimum_number_of_calls, p.failure_rate_threshold), (30, 100, 10.0));
    assert_eq!((p.wait_in_open, p.permitted_calls_in_half_open), (SimTime::from_secs(5), 1));
    let scenario = |preset: &str| {
        let call = format!(
            "services.front.calls.0={{ to: dep, breaker: {{ preset: {preset} }}, retry: {{ preset: polly }} }}"
        );
        Sim::run_with(ENVOY_THRESHOLDS, &[call.as_str(), "duration=10s"]).model.edges[0].policy.breaker
    };
    assert_eq!(scenario("hystrix"), Some(BreakerConfig::hystrix()));
    assert_eq!(scenario("polly"), Some(BreakerConfig::polly()));
}

/// A client-side AIMD limit (Netflix concurrency-limits' client limiter) in front of an
/// overloaded `dep` (5 workers, 7.5 Erlangs offered): attempts past the limit are refused
/// without being sent, timeouts cut the limit, and `dep`'s queue stays short instead of
/// growing for the whole run.
#[test]
fn a_client_side_concurrency_limit_bounds_what_reaches_an_overloaded_callee() {
    let limited = "services.front.calls.0={ to: dep, timeout: 200ms, concurrency_limit: { aimd: { initial: 10, min: 1, max: 20 } } }";
    let bare = "services.front.calls.0={ to: dep, timeout: 200ms }";
    let sets = |call| ["services.dep.servers=5", call];
    let (with, without) =
        (Sim::run_with(ENVOY_THRESHOLDS, &sets(limited)), Sim::run_with(ENVOY_THRESHOLDS, &sets(bare)));
    let (w, wo) = (with.service("dep").mean_in_system.value(), without.service("dep").mean_in_system.value());
    let refused = with.report.edges["front->dep"].outcomes["rejected"].value();
    println!("client-side AIMD: dep in system {w:.1} (without {wo:.1}), refused {refused}");
    assert!(w <= 20.0, "never more than the limit's max in flight: {w}");
    assert!(wo > 10.0 * w, "{wo} vs {w}");
    assert!(refused > 0.0);
    assert!(with.reps.iter().all(|r| r.unaccounted_permits == 0));
}

/// Queue-length shedding on two instances of one worker each, overloaded (ρ = 1.5): each
/// instance's own rule keeps up to 4 waiting at each (8 in all); the fleet's keeps 4 in all.
#[test]
fn fleet_wide_shedding_counts_every_instance_s_line() {
    let yaml = "
name: fleet-shed
duration: 10m
warmup: 30s
replications: 2
seed: 6
services:
  api:
    instances: 2
    load_balancer: round_robin
    servers: 1
    service_time: { exponential: { mean: 10ms } }
    shed: { queue_length: { max: 4 } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 300/s } } }
";
    let own = Sim::run_with(yaml, &[]).service("api").mean_queue_length.value();
    let fleet =
        Sim::run_with(yaml, &["services.api.shed.queue_length.scope=service"]).service("api").mean_queue_length.value();
    println!("queue-length shedding: per instance Lq {own:.2}, fleet-wide Lq {fleet:.2}");
    // Hard bounds: no more than 4 wait at an instance, or in the fleet's line.
    assert!(own <= 8.0 && fleet <= 4.0, "{own} {fleet}");
    // Both lines run near their caps under this overload: the fleet's holds half as many.
    assert!(own > 1.5 * fleet && fleet > 2.5, "{own} vs {fleet}");
}
