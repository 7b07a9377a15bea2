//! Faults on responses and calls: latency adds or multiplies exactly, error and partial
//! responses fail or degrade the share they say, partitions turn calls into timeouts or
//! immediate errors.

use resim::metrics::Outcome;

use super::{assert_exact, assert_poisson};
use crate::common::{Sim, Z, assert_binomial, assert_theory};

// ---------------------------------------------------------------------------------------
// 2. Latency
// ---------------------------------------------------------------------------------------

/// An uncontended station (1000 workers, constant 10 ms): a request's sojourn is its
/// service time, exactly.
const LATENCY: &str = "
name: latency
duration: 10m
replications: 4
seed: 24
services:
  api: { servers: 1000, service_time: { constant: { value: 10ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 20/s } } }
faults:
  - { kind: latency, target: api, {WINDOW}, {EFFECT} }
";

fn latency(window: &str, effect: &str) -> Sim {
    Sim::run(&LATENCY.replace("{WINDOW}", window).replace("{EFFECT}", effect))
}

#[test]
fn latency_adds_and_multiplies_exactly() {
    let whole = "at: 0s, for: 10m";
    let sim = latency(whole, "add: 100ms");
    assert_exact("W with add 100ms", sim.service("api").mean_sojourn_s.value(), 0.110);
    assert_exact("Wq with add 100ms", sim.service("api").mean_wait_s.value(), 0.0);
    assert!(sim.report.faults[0].injected.value() >= sim.service("api").completed.value());
    let sim = latency(whole, "multiply: 3");
    assert_exact("W with multiply 3", sim.service("api").mean_sojourn_s.value(), 0.030);
    let sim = latency(whole, "multiply: 3, add: 100ms");
    assert_exact("W with multiply 3 and add 100ms", sim.service("api").mean_sojourn_s.value(), 0.130);

    // A window from 2m to 5m: the requests started in it (the fault's `injected`) took
    // 100 ms longer, the others not.
    let sim = latency("at: 2m, for: 3m", "add: 100ms");
    let s = sim.sid("api");
    for (k, r) in sim.reps.iter().enumerate() {
        let n = r.services[s].completed;
        let slowed = r.faults[0].injected as f64;
        let expected = 0.010 + 0.100 * slowed / n;
        assert_exact(
            &format!("W, window, replication {k}"),
            r.services[s].mean_sojourn.expect("completions"),
            expected,
        );
        // About 3 minutes out of 10 of the requests.
        assert_binomial(&format!("slowed share, replication {k}"), slowed, n, 0.3);
    }
}

#[test]
fn latency_add_as_a_distribution_adds_its_mean() {
    let sim = latency("at: 0s, for: 10m", "add: { exponential: { mean: 100ms } }");
    let api = sim.service("api");
    // The mean of n exponential draws: sd 100 ms / sqrt(n).
    let n: f64 = sim.service_total("api", |s| s.completed);
    let mean = sim.service_total("api", |s| s.mean_sojourn.unwrap_or(0.0) * s.completed) / n;
    let z = (mean - 0.110) / (0.100 / n.sqrt());
    assert!(z.abs() <= Z, "pooled W {mean:.6}, expected 0.110 (z = {z:.2})");
    assert_theory("W with add exp(100ms)", &api.mean_sojourn_s, 0.110);
}

// ---------------------------------------------------------------------------------------
// 3. Error and partial responses
// ---------------------------------------------------------------------------------------

/// `front` calls `back`; both uncontended. `{FAULT}` is set per case.
const RESPONSES: &str = "
name: responses
duration: 5m
replications: 4
seed: 25
services:
  front:
    servers: 100
    service_time: { exponential: { mean: 5ms } }
    calls: [ { to: back } ]
  back: { servers: 100, service_time: { exponential: { mean: 5ms } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 100/s } } }
  - { name: direct, target: back, arrivals: { poisson: { rate: 100/s } } }
faults:
  - { target: back, at: 0s, for: 1h, {FAULT} }
";

#[test]
fn error_fault_fails_its_share_of_responses() {
    let sim = Sim::run(&RESPONSES.replace("{FAULT}", "kind: error, probability: 0.3"));
    for w in ["users", "direct"] {
        let errors = sim.outcome_total(w, Outcome::Error);
        let requests = sim.requests_total(w);
        assert_binomial(&format!("{w}: error share"), errors, requests, 0.3);
        assert_eq!(errors + sim.outcome_total(w, Outcome::Ok), requests, "{w}: only ok and error");
    }
    // The caller sees each injected failure as a failed call.
    let edge = &sim.report.edges["front->back"];
    let injected: f64 = sim.reps.iter().map(|r| r.faults[0].injected as f64).sum();
    let errors = sim.outcome_total("users", Outcome::Error) + sim.outcome_total("direct", Outcome::Error);
    assert_eq!(injected, errors, "every injected failure reaches a user");
    let reps = sim.reps.len() as f64;
    assert_binomial("edge error share", edge.outcomes["error"].value() * reps, edge.calls.value() * reps, 0.3);
}

#[test]
fn partial_fault_degrades_or_fails_its_share() {
    let sim = Sim::run(&RESPONSES.replace("{FAULT}", "kind: partial, probability: 0.4, as: degraded, value: 0.5"));
    for w in ["users", "direct"] {
        let degraded = sim.outcome_total(w, Outcome::Degraded);
        let requests = sim.requests_total(w);
        assert_binomial(&format!("{w}: degraded share"), degraded, requests, 0.4);
        let wl = &sim.report.workloads[w];
        assert_eq!(wl.availability.mean, Some(1.0), "{w}: partial answers are still answers");
        // Value: 1 per ok, 0.5 per degraded.
        assert_theory(&format!("{w}: value per request"), &wl.value_per_request, 1.0 - 0.4 / 2.0);
        let wi = sim.wid(w);
        for r in &sim.reps {
            let o = &r.workloads[wi].outcomes;
            let total: f64 = o.iter().sum();
            let exact = (o[Outcome::Ok as usize] + 0.5 * o[Outcome::Degraded as usize]) / total;
            assert!((r.workloads[wi].value / total - exact).abs() < 1e-9, "{w}: value is 1 per ok, 0.5 per degraded");
        }
    }
    let sim = Sim::run(&RESPONSES.replace("{FAULT}", "kind: partial, probability: 0.4"));
    for w in ["users", "direct"] {
        assert_binomial(
            &format!("{w}: partial-as-error share"),
            sim.outcome_total(w, Outcome::Error),
            sim.requests_total(w),
            0.4,
        );
        assert_eq!(sim.outcome_total(w, Outcome::Degraded), 0.0);
    }
}

// ---------------------------------------------------------------------------------------
// 4. Partition
// ---------------------------------------------------------------------------------------

/// `front` (uncontended, constant 10 ms) calls `back` with a 200 ms timeout; the edge is
/// partitioned for the whole run.
const PARTITION: &str = "
name: partition
duration: 5m
replications: 4
seed: 26
services:
  front:
    servers: 1000
    service_time: { constant: { value: 10ms } }
    calls: [ { to: back, timeout: 200ms } ]
  back: { servers: 10, service_time: { exponential: { mean: 5ms } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 50/s } } }
faults:
  - { kind: partition, target: 'front->back', mode: {MODE}, at: 0s, for: 1h }
";

/// Calls unanswered at the run's end: Poisson with mean 50/s x 200 ms = 10, bounded at this many
/// sd above it (over 5 sd of a Poisson: 2e-5 per replication). Lets through ~15 more calls stuck open.
const OPEN_CALLS_SD: f64 = 5.0;
/// Calls sent in the last 5 ms of a windowed partition (Poisson with mean 0.25) are still open at
/// its end: at most this many (P > 5: 3e-7). Lets through a handful of calls never finished.
const WINDOW_END_OPEN_MAX: f64 = 5.0;
/// Timed-out calls against 50/s x 60 s: one call sent at the fault's start or end may go either
/// way. Lets through a partition a fiftieth of a second off its window.
const PARTITION_EDGE_SLACK: f64 = 1.0;

#[test]
fn partition_timeout_turns_every_call_into_a_timeout() {
    let sim = Sim::run(&PARTITION.replace("{MODE}", "timeout"));
    let e = sim.model.edges.iter().position(|e| e.name == "front->back").expect("edge");
    let rate_in_flight: f64 = 50.0 * 0.200;
    for (k, r) in sim.reps.iter().enumerate() {
        let edge = &r.edges[e];
        let timeouts = edge.outcomes[Outcome::Timeout as usize];
        let finished: f64 = edge.outcomes.iter().sum();
        assert_eq!(finished, timeouts, "replication {k}: every finished call timed out");
        // The calls not finished are those started in the last 200 ms.
        let open = edge.calls - timeouts;
        assert!(
            open >= 0.0 && open <= rate_in_flight + OPEN_CALLS_SD * rate_in_flight.sqrt(),
            "replication {k}: {open} calls of {} unanswered at the end",
            edge.calls
        );
    }
    // Nothing reaches `back`; the caller's worker waits exactly its timeout.
    assert_eq!(sim.service("back").arrivals.mean, Some(0.0));
    assert_exact("front W", sim.service("front").mean_sojourn_s.value(), 0.210);
    assert_eq!(sim.outcome_total("users", Outcome::Error), sim.requests_total("users"));

    // A partition from 1m to 2m of the 5m run: exactly the calls sent in that minute time
    // out (`back` is constant too, so a call either takes 5 ms or times out at 200 ms).
    let windowed = PARTITION
        .replace("{MODE}", "timeout")
        .replace("at: 0s, for: 1h", "at: 1m, for: 1m")
        .replace("{ exponential: { mean: 5ms } }", "{ constant: { value: 5ms } }");
    let sim = Sim::run(&windowed);
    let (f, b) = (sim.sid("front"), sim.sid("back"));
    let mut timeouts = 0.0;
    for (k, r) in sim.reps.iter().enumerate() {
        let edge = &r.edges[e];
        let t = edge.outcomes[Outcome::Timeout as usize];
        // Every call finished ok or timed out, but for the few sent in the last 5 ms.
        let open = edge.calls - edge.outcomes[Outcome::Ok as usize] - t;
        assert!((0.0..=WINDOW_END_OPEN_MAX).contains(&open), "replication {k}: {open} calls neither ok nor timed out");
        assert_eq!(edge.outcomes[Outcome::Ok as usize], r.services[b].completed, "replication {k}");
        let front = &r.services[f];
        let expected = (0.015 * (front.completed - t) + 0.210 * t) / front.completed;
        assert_exact(&format!("front W, replication {k}"), front.mean_sojourn.expect("completions"), expected);
        timeouts += t;
    }
    // Calls sent during the minute: Poisson with mean 50/s x 60 s per replication.
    assert_poisson("calls timed out", timeouts, 50.0 * 60.0 * sim.reps.len() as f64, PARTITION_EDGE_SLACK);
}

#[test]
fn partition_refuse_fails_every_call_at_once() {
    let sim = Sim::run(&PARTITION.replace("{MODE}", "refuse"));
    let edge = &sim.report.edges["front->back"];
    assert_eq!(edge.outcomes["error"], edge.calls, "every call refused");
    assert_eq!(edge.outcomes["timeout"].mean, Some(0.0));
    assert_eq!(sim.service("back").arrivals.mean, Some(0.0));
    // Refused at once: the caller's visit is its own 10 ms.
    assert_exact("front W", sim.service("front").mean_sojourn_s.value(), 0.010);
    assert_eq!(sim.outcome_total("users", Outcome::Error), sim.requests_total("users"));
}
