//! Chaos faults measured against what each must do: a crash takes an instance out (the
//! survivors behave as M/M/c/K stations with the load shared among them, a third of the
//! arrivals are refused, the work inside is lost, the instance restarts, a cold start slows
//! it for exactly its `for`), latency adds or multiplies exactly, error and partial
//! responses fail or degrade the share they say, partitions turn calls into timeouts or
//! immediate errors, capacity faults leave the reduced station theory predicts, spikes and
//! ramps shape the arrival rate, zone outages take a zone's instances down, random onsets
//! are active `mttr / (mtbf + mttr)` of the time; faults keep runs deterministic and their
//! random draws on their own streams; `events.jsonl` records fault windows and the breaker
//! transitions they cause; bad fault keys are refused clearly. Two example scenarios,
//! `zone-outage.yaml` and `cells.yaml`, are checked for the story their comments tell.
//!
//! Every case has a fixed seed, so each check is reproducible bit for bit; tolerances are
//! named constants.
//!
//! Run with `cargo test --release --test integration -- faults`.

use std::path::Path;

use resim::RunOptions;
use resim::metrics::Outcome;
use resim::report::Statistic;
use resim::report::summary::ServiceSummary;
use resim::scenario::{ScenarioError, load_str};
use resim::theory::{StationTheory, mmck};

use crate::common::{Sim, Z, assert_binomial, assert_error, assert_theory, example, refusal, scenario};

/// A sojourn that fixed times make exact (constant service, constant added latency), up to
/// the nanosecond clock's rounding, in seconds.
const EXACT_S: f64 = 1e-6;
/// Random onsets: the active fraction against `mttr / (mtbf + mttr)` when the 95% CI misses.
const ACTIVE_FRACTION_REL_TOL: f64 = 0.02;
/// Random onsets: activations against `duration / (mtbf + mttr)` when the 95% CI misses.
const ACTIVATIONS_REL_TOL: f64 = 0.02;

impl Sim {
    /// A per-replication statistic of service `name`.
    fn per_service(&self, name: &str, f: impl Fn(&ServiceSummary) -> Option<f64>) -> Statistic {
        let s = self.sid(name);
        Statistic::of(self.reps.iter().map(|r| f(&r.services[s])))
    }

    /// Sum over replications of a service counter.
    fn service_total(&self, name: &str, f: impl Fn(&ServiceSummary) -> f64) -> f64 {
        let s = self.sid(name);
        self.reps.iter().map(|r| f(&r.services[s])).sum()
    }
}

/// Asserts that a Poisson count fits its mean `expected`; `slack` absorbs counts that a
/// boundary effect may move by a known small amount.
fn assert_poisson(what: &str, count: f64, expected: f64, slack: f64) {
    let z = ((count - expected).abs() - slack).max(0.0) / expected.sqrt();
    assert!(z <= Z, "{what}: {count}, expected {expected:.1} (z = {z:.2})");
}

fn assert_exact(what: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= EXACT_S, "{what}: {got:.9}, expected {want:.9}");
}

fn station(lambda: f64, mean_service_s: f64, servers: u32, capacity: Option<u32>) -> StationTheory {
    mmck(lambda, 1.0 / mean_service_s, servers, capacity).expect("valid station")
}

// ---------------------------------------------------------------------------------------
// 1. Crash
// ---------------------------------------------------------------------------------------

/// Three identical M/M/2/6 instances behind a random balancer; `api#1` is down for the
/// whole measured window (from the end of the warm-up on).
const CRASH_ONE_OF_THREE: &str = "
name: crash-one-of-three
duration: 20m
warmup: 1m
replications: 10
seed: 21
services:
  api:
    instances: 3
    load_balancer: random
    servers: 2
    capacity: 6
    service_time: { exponential: { mean: 100ms } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 45/s } } }
faults:
  - { name: down, kind: crash, target: 'api#1', at: 0s, for: 1h }
";

#[test]
fn crash_leaves_survivors_as_mmck_stations_with_a_third_of_the_load() {
    let sim = Sim::run(CRASH_ONE_OF_THREE);
    // Random balancing splits the Poisson stream: each instance sees lambda / 3. Two
    // instances serve; the third refuses.
    let theory = station(45.0 / 3.0, 0.1, 2, Some(6));
    let api = sim.service("api");
    assert_theory("survivor throughput/s", &sim.per_service("api", |s| Some(s.throughput / 2.0)), theory.throughput);
    assert_theory(
        "survivor blocking",
        &sim.per_service("api", |s| Some(s.rejected / (s.arrivals - s.refused_down))),
        theory.blocking,
    );
    assert_theory("survivor L", &sim.per_service("api", |s| Some(s.mean_in_system / 2.0)), theory.mean_in_system);
    // Utilisation is reported over all six workers, two of which are down.
    assert_theory("survivor utilization", &sim.per_service("api", |s| Some(s.utilization * 1.5)), theory.utilization);
    assert_theory("survivor W", &api.mean_sojourn_s, theory.mean_sojourn);

    // A third of the arrivals find the crashed instance and get `error`.
    let arrivals = sim.service_total("api", |s| s.arrivals);
    let refused = sim.service_total("api", |s| s.refused_down);
    assert_binomial("refused_down / arrivals", refused, arrivals, 1.0 / 3.0);
    // Every error is one of the fault's injections: a refusal, or a request lost when the
    // instance went down.
    let fault = &sim.report.faults[0];
    let injected: f64 = sim.reps.iter().map(|r| r.faults[0].injected as f64).sum();
    assert_eq!(sim.outcome_total("users", Outcome::Error), injected);
    assert!(injected >= refused);
    assert_eq!(fault.window_s, Some([0.0, 3600.0]));
    assert_eq!(fault.active_fraction.mean, Some(1.0));
    assert_eq!(fault.activations.mean, Some(1.0));
}

/// One of three instances crashes at 5m for 5m, under load; unbounded queues, so the only
/// failures are the crash's.
const CRASH_MID_RUN: &str = "
name: crash-mid-run
duration: 15m
warmup: 1m
window: 30s
replications: 10
seed: 22
services:
  api:
    instances: 3
    load_balancer: random
    servers: 2
    service_time: { exponential: { mean: 100ms } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 30/s } } }
faults:
  - { name: down, kind: crash, target: 'api#1', at: 5m, for: 5m }
";

#[test]
fn crash_loses_the_work_inside_and_the_instance_restarts() {
    let sim = Sim::run(CRASH_MID_RUN);
    let fault = &sim.report.faults[0];
    // The fault's injections are its refusals and the requests inside api#1 at 5m, which
    // are lost (at rho = 0.5 an M/M/2 holds 4/3 on average); each is an error.
    let w = sim.wid("users");
    let s = sim.sid("api");
    let mut lost = 0.0;
    for (k, r) in sim.reps.iter().enumerate() {
        let injected = r.faults[0].injected as f64;
        let errors = r.workloads[w].outcomes[Outcome::Error as usize];
        assert_eq!(errors, injected, "replication {k}: errors are the crash's injections");
        lost += injected - r.services[s].refused_down;
    }
    assert!(lost > 0.0, "no work lost at the crash");
    // Windows of 30 s: 0..10 before the crash, 10..20 during, 20..30 after the restart.
    let before = sim.window_total("users", 0..10, &[Outcome::Error, Outcome::Rejected, Outcome::Timeout]);
    let during = sim.window_total("users", 10..20, &[Outcome::Error]);
    let during_all = sim.window_total("users", 10..20, &[]);
    let after = sim.window_total("users", 20..30, &[Outcome::Error, Outcome::Rejected, Outcome::Timeout]);
    assert_eq!(before, 0.0, "failures before the crash");
    assert_eq!(after, 0.0, "failures after the restart");
    // The lost requests fail in the crash's first window on top of the refusals.
    assert_binomial("failed share during the crash", during - lost, during_all - lost, 1.0 / 3.0);
    assert_eq!(fault.events, vec![(300.0, "start"), (600.0, "end")]);
    assert_theory("active fraction", &fault.active_fraction, 5.0 / 15.0);
}

/// An uncontended service with a constant 10 ms service time, down for the first 10 s of
/// the run, then cold (3x slower) for `{COLD}` after its restart.
const COLD_START: &str = "
name: cold-start
duration: 60s
window: 10s
replications: 4
seed: 23
services:
  api: { servers: 1000, service_time: { constant: { value: 10ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 100/s } } }
faults:
  - { kind: crash, target: api, at: 0s, for: 10s, cold_start: { factor: 3, for: {COLD} } }
";

#[test]
fn cold_start_slows_the_restarted_instance_for_its_duration() {
    // Cold for the rest of the run: every completion takes 30 ms.
    let all_cold = Sim::run(&COLD_START.replace("{COLD}", "50s"));
    assert_exact("W, cold until the end", all_cold.service("api").mean_sojourn_s.value(), 0.030);
    // Without a cold start (factor 1), the restarted instance is as fast as ever.
    let warm =
        Sim::run(&COLD_START.replace("cold_start: { factor: 3, for: {COLD} }", "cold_start: { factor: 1, for: 20s }"));
    assert_exact("W, no cold start", warm.service("api").mean_sojourn_s.value(), 0.010);
    // Cold for 20 s after the restart at 10 s: requests finishing in the windows [10, 30)
    // took 30 ms, the later ones 10 ms (up to the few started just before 30 s, which
    // finish in the next window: the tolerance covers them).
    let part = Sim::run(&COLD_START.replace("{COLD}", "20s"));
    let w = part.wid("users");
    let s = part.sid("api");
    for (k, r) in part.reps.iter().enumerate() {
        let ok = |range: std::ops::Range<usize>| -> f64 {
            r.workloads[w].timeline[range].iter().map(|c| c[Outcome::Ok as usize]).sum()
        };
        let (cold, all) = (ok(1..3), ok(0..6));
        let expected = 0.010 + 0.020 * cold / all;
        let got = r.services[s].mean_sojourn.expect("completions");
        // Three requests started in the last 30 ms of the cold period would move W by
        // 0.02 * 3 / 5000 = 1.2e-5 s.
        assert!((got - expected).abs() < 5e-5, "replication {k}: W {got:.6}, expected {expected:.6}");
        // And it is well between the warm and the cold sojourn.
        assert!(got > 0.015 && got < 0.021, "replication {k}: W {got:.6}");
    }
}

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
            open >= 0.0 && open <= rate_in_flight + 5.0 * rate_in_flight.sqrt(),
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
        assert!((0.0..=5.0).contains(&open), "replication {k}: {open} calls neither ok nor timed out");
        assert_eq!(edge.outcomes[Outcome::Ok as usize], r.services[b].completed, "replication {k}");
        let front = &r.services[f];
        let expected = (0.015 * (front.completed - t) + 0.210 * t) / front.completed;
        assert_exact(&format!("front W, replication {k}"), front.mean_sojourn.expect("completions"), expected);
        timeouts += t;
    }
    // Calls sent during the minute: Poisson with mean 50/s x 60 s per replication.
    assert_poisson("calls timed out", timeouts, 50.0 * 60.0 * sim.reps.len() as f64, 1.0);
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

// ---------------------------------------------------------------------------------------
// 5. Capacity
// ---------------------------------------------------------------------------------------

/// An M/M/4/10 station whose workers a capacity fault cuts for the whole measured window.
const CAPACITY: &str = "
name: capacity
duration: 30m
warmup: 1m
replications: 10
seed: 27
services:
  api: { servers: 4, capacity: 10, service_time: { exponential: { mean: 100ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: {RATE}/s } } }
faults:
  - { kind: capacity, target: api, at: 0s, for: 1h, {CUT} }
";

fn assert_reduced_station(sim: &Sim, lambda: f64, servers: u32) {
    let theory = station(lambda, 0.1, servers, Some(10));
    let api = sim.service("api");
    assert_theory(&format!("c={servers}: throughput/s"), &api.throughput_per_s, theory.throughput);
    assert_theory(&format!("c={servers}: blocking"), &api.blocking_probability, theory.blocking);
    // Utilisation is reported over the 4 nominal workers.
    let util = sim.per_service("api", |s| Some(s.utilization * 4.0 / f64::from(servers)));
    assert_theory(&format!("c={servers}: utilization"), &util, theory.utilization);
    assert_theory(&format!("c={servers}: L"), &api.mean_in_system, theory.mean_in_system);
    assert_theory(&format!("c={servers}: W"), &api.mean_sojourn_s, theory.mean_sojourn);
}

#[test]
fn capacity_fault_leaves_the_reduced_station() {
    let sim = Sim::run(&CAPACITY.replace("{RATE}", "6").replace("{CUT}", "servers: 1"));
    assert_reduced_station(&sim, 6.0, 1);
    let sim = Sim::run(&CAPACITY.replace("{RATE}", "12").replace("{CUT}", "factor: 0.5"));
    assert_reduced_station(&sim, 12.0, 2);
}

// ---------------------------------------------------------------------------------------
// 6. Spike and ramp
// ---------------------------------------------------------------------------------------

/// 20 requests/s to an uncontended 1 ms service, in 30 s windows; a load fault from 2m to
/// 4m.
const LOAD: &str = "
name: load
duration: 6m
window: 30s
replications: 10
seed: 28
services:
  api: { servers: 1000, service_time: { constant: { value: 1ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 20/s } } }
faults:
  - { kind: {KIND}, target: users, factor: 3, at: 2m, for: 2m }
";

/// Requests that arrive within 1 ms of a window's end finish in the next one.
const BOUNDARY_SLACK: f64 = 2.0;

#[test]
fn spike_triples_arrivals_in_its_window() {
    let sim = Sim::run(&LOAD.replace("{KIND}", "spike"));
    let reps = sim.reps.len() as f64;
    let per_window = 20.0 * 30.0 * reps;
    let before = sim.window_total("users", 0..4, &[]);
    let spike = sim.window_total("users", 4..8, &[]);
    let after = sim.window_total("users", 8..12, &[]);
    assert_poisson("before the spike", before, 4.0 * per_window, BOUNDARY_SLACK);
    assert_poisson("during the spike", spike, 3.0 * 4.0 * per_window, BOUNDARY_SLACK);
    assert_poisson("after the spike", after, 4.0 * per_window, BOUNDARY_SLACK);
    let arrivals = sim.report.workloads["users"].arrivals.value() * reps;
    assert_poisson("arrivals", arrivals, (20.0 * 240.0 + 60.0 * 120.0) * reps, 0.0);
}

#[test]
fn ramp_climbs_linearly_then_returns() {
    let sim = Sim::run(&LOAD.replace("{KIND}", "ramp"));
    let reps = sim.reps.len() as f64;
    let per_window = 20.0 * 30.0 * reps;
    for k in 0..12 {
        // The multiplier climbs from 1 at 2m to 3 at 4m: window k's mean is the
        // multiplier at its middle.
        let factor = if (4..8).contains(&k) { 1.0 + 2.0 * ((k - 4) as f64 + 0.5) / 4.0 } else { 1.0 };
        let got = sim.window_total("users", k..k + 1, &[]);
        assert_poisson(&format!("window {k}"), got, factor * per_window, BOUNDARY_SLACK);
    }
}

// ---------------------------------------------------------------------------------------
// 7. Zone outage
// ---------------------------------------------------------------------------------------

/// `api` has 6 instances over zones a, b, c (instance i in zone i mod 3: b holds #1 and
/// #4); `db` 2 instances over a, b (b holds #1).
const ZONES: &str = "
name: zones
duration: 10m
warmup: 30s
replications: 6
seed: 29
services:
  api:
    instances: 6
    zones: [a, b, c]
    load_balancer: random
    servers: 2
    service_time: { exponential: { mean: 50ms } }
  db:
    instances: 2
    zones: [a, b]
    load_balancer: random
    servers: 4
    service_time: { exponential: { mean: 20ms } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 60/s } } }
  - { name: jobs, target: db, arrivals: { poisson: { rate: 40/s } } }
faults:
  - { kind: zone_outage, target: '{ZONE}', at: 0s, for: 1h }
";

#[test]
fn zone_outage_takes_down_the_instances_in_the_zone() {
    let sim = Sim::run(&ZONES.replace("{ZONE}", "zone:b"));
    let arrivals = sim.service_total("api", |s| s.arrivals);
    let refused = sim.service_total("api", |s| s.refused_down);
    assert_binomial("api: refused_down share (2 of 6 in b)", refused, arrivals, 1.0 / 3.0);
    let arrivals = sim.service_total("db", |s| s.arrivals);
    let refused = sim.service_total("db", |s| s.refused_down);
    assert_binomial("db: refused_down share (1 of 2 in b)", refused, arrivals, 0.5);
    // The instances in a and c serve the rest: every error is one of the outage's
    // injections, a refusal or a request lost when the zone went dark.
    let injected: f64 = sim.reps.iter().map(|r| r.faults[0].injected as f64).sum();
    let errors = sim.outcome_total("users", Outcome::Error) + sim.outcome_total("jobs", Outcome::Error);
    let refusals = sim.service_total("api", |s| s.refused_down) + sim.service_total("db", |s| s.refused_down);
    assert_eq!(errors, injected);
    assert!(injected > refusals, "no work lost when the zone went dark");

    let Err(e) = load_str(&ZONES.replace("{ZONE}", "zone:x"), Path::new("bad.yaml"), &[]) else {
        panic!("zone:x accepted");
    };
    assert_error(&e, "faults.0.target", &["no instance is in zone `x`", "zones are: a, b, c"]);
}

// ---------------------------------------------------------------------------------------
// 8. Random onsets
// ---------------------------------------------------------------------------------------

/// A crash with random onsets on an idle service over 1000 hours: only the fault's own
/// events run.
const RANDOM: &str = "
name: random-onsets
duration: 1000h
warmup: 1h
replications: 20
seed: 30
services:
  api: { servers: 1, service_time: { exponential: { mean: 10ms } } }
faults:
  - { kind: crash, target: api, mtbf: 9m, mttr: 1m {ONSET} }
";

/// Checks the renewal figures of `onset`; returns the 95% half-width of the active fraction.
fn assert_renewal(onset: &str) -> f64 {
    let sim = Sim::run(&RANDOM.replace("{ONSET}", onset));
    let f = &sim.report.faults[0];
    assert_eq!(f.window_s, None);
    let frac = &f.active_fraction;
    let rel = (frac.value() - 0.1).abs() / 0.1;
    assert!(
        frac.covers(0.1) || rel < ACTIVE_FRACTION_REL_TOL,
        "{onset}: active fraction {:.5} {:?}, expected 0.1",
        frac.value(),
        frac.ci95
    );
    // One activation per mtbf + mttr on average.
    let expected = 1000.0 * 60.0 / 10.0;
    let act = &f.activations;
    let rel = (act.value() - expected).abs() / expected;
    assert!(act.covers(expected) || rel < ACTIVATIONS_REL_TOL, "{onset}: activations {:?}, expected {expected}", act);
    assert!((f.active_s.value() - frac.value() * 3.6e6).abs() < 1e-6 * 3.6e6);
    frac.half_width().expect("replications")
}

#[test]
fn random_onsets_are_active_mttr_over_mtbf_plus_mttr() {
    let exponential = assert_renewal("");
    let weibull = assert_renewal(", onset: { weibull: { shape: 2 } }");
    // Weibull times of shape 2 vary less than exponential ones (CV 0.52 against 1), so the
    // active fraction varies less between replications: the onset distribution is used.
    assert!(weibull < exponential, "half-widths: weibull {weibull:.6}, exponential {exponential:.6}");
}

// ---------------------------------------------------------------------------------------
// 9. Determinism and named streams
// ---------------------------------------------------------------------------------------

/// Two unconnected subsystems: `front -> back` (users) and `solo` (others).
const TWO_SYSTEMS: &str = "
name: two-systems
duration: 5m
warmup: 30s
replications: 4
seed: 31
services:
  front:
    instances: 3
    zones: [a, b, c]
    load_balancer: power_of_two
    servers: 4
    capacity: 20
    service_time: { exponential: { mean: 20ms } }
    calls:
      - { to: back, timeout: 100ms, retry: { max_attempts: 2 },
          breaker: { consecutive: { failures: 5, successes: 2, open_for: 5s } } }
  back: { instances: 2, servers: 4, capacity: 20, service_time: { lognormal: { mean: 10ms, sd: 20ms } } }
  solo: { servers: 2, capacity: 10, service_time: { exponential: { mean: 20ms } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 200/s } } }
  - { name: others, target: solo, arrivals: { poisson: { rate: 60/s } } }
";

const ALL_FAULTS: &str = "faults:
  - { kind: latency, target: back, at: 10s, for: 30s, add: { exponential: { mean: 30ms } }, multiply: 1.5 }
  - { kind: error, target: 'back#0', at: 40s, for: 30s, probability: 0.5 }
  - { kind: partial, target: back, at: 60s, for: 30s, probability: 0.2, as: degraded }
  - { kind: crash, target: 'front#2', mtbf: 50s, mttr: 10s, cold_start: { factor: 2, for: 5s } }
  - { kind: zone_outage, target: 'zone:a', at: 100s, for: 20s }
  - { kind: capacity, target: back, mtbf: 40s, mttr: 20s, onset: { weibull: { shape: 2 } }, servers: 1 }
  - { kind: partition, target: 'front->back', at: 150s, for: 10s }
  - { kind: partition, target: 'front->back', at: 170s, for: 10s, mode: refuse }
  - { kind: spike, target: users, at: 200s, for: 20s, factor: 2 }
  - { kind: ramp, target: users, at: 230s, for: 30s, factor: 2 }
";

#[test]
fn faults_keep_runs_deterministic() {
    let yaml = TWO_SYSTEMS.to_owned() + ALL_FAULTS;
    let model = scenario(&yaml).model;
    let one = resim::run(&model, &RunOptions { jobs: Some(1) });
    let two = resim::run(&model, &RunOptions { jobs: Some(2) });
    assert_eq!(one.to_json(), two.to_json(), "thread count changed the report");
    assert_eq!(one.events_jsonl(), two.events_jsonl(), "thread count changed the event log");
    assert!(one.faults.iter().all(|f| f.activations.value() > 0.0), "every fault acted: {:?}", one.faults);
}

#[test]
fn a_fault_does_not_shift_the_draws_of_unrelated_services() {
    let base = Sim::run(TWO_SYSTEMS);
    // Faults with random draws of their own (error, partial, latency distribution, random
    // onsets), all on the front -> back subsystem.
    let faults = "faults:
  - { kind: latency, target: back, at: 10s, for: 1m, add: { exponential: { mean: 30ms } } }
  - { kind: error, target: back, at: 1m, for: 1m, probability: 0.5 }
  - { kind: partial, target: back, at: 2m, for: 1m, probability: 0.2 }
  - { kind: crash, target: 'front#1', mtbf: 50s, mttr: 10s }
";
    let faulted = Sim::run(&(TWO_SYSTEMS.to_owned() + faults));
    assert_ne!(base.service("back").mean_sojourn_s, faulted.service("back").mean_sojourn_s, "the faults acted");
    let (a, b) = (base.service("solo"), faulted.service("solo"));
    assert_eq!(a.arrivals, b.arrivals);
    assert_eq!(a.completed, b.completed);
    assert_eq!(a.mean_sojourn_s, b.mean_sojourn_s);
    assert_eq!(a.mean_in_system, b.mean_in_system);
    assert_eq!(base.report.workloads["others"].arrivals, faulted.report.workloads["others"].arrivals);
    assert_eq!(base.report.workloads["others"].latency_s.p99, faulted.report.workloads["others"].latency_s.p99);
    // Arrivals come from the workload's own stream: the faulted subsystem's users are
    // sent exactly as before.
    assert_eq!(base.report.workloads["users"].arrivals, faulted.report.workloads["users"].arrivals);
}

// ---------------------------------------------------------------------------------------
// 10. The event log
// ---------------------------------------------------------------------------------------

/// `front` calls `back` through a breaker; `back` fails every response from 60 s to 120 s.
const BREAKER_TRIP: &str = "
name: breaker-trip
duration: 4m
warmup: 30s
replications: 2
seed: 32
services:
  front:
    servers: 50
    service_time: { exponential: { mean: 5ms } }
    calls:
      - { to: back, breaker: { consecutive: { failures: 5, successes: 2, open_for: 10s } } }
  back: { servers: 50, service_time: { exponential: { mean: 5ms } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 50/s } } }
faults:
  - { name: bad-deploy, kind: error, target: back, probability: 1, at: 60s, for: 60s }
";

#[test]
fn events_log_fault_windows_and_the_breaker_transitions_they_cause() {
    let sim = Sim::run(BREAKER_TRIP);
    let lines: Vec<serde_json::Value> = sim
        .report
        .events_jsonl()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    let of_type = |t: &str| lines.iter().filter(|v| v["type"] == t).collect::<Vec<_>>();
    let starts = of_type("fault_start");
    let ends = of_type("fault_end");
    assert_eq!(starts.len(), 1);
    assert_eq!(ends.len(), 1);
    assert_eq!(starts[0]["t"], 60.0);
    assert_eq!(ends[0]["t"], 120.0);
    assert_eq!(starts[0]["fault"], "bad-deploy");
    assert_eq!(starts[0]["kind"], "error");
    assert_eq!(starts[0]["target"], "back");
    // Sorted by time.
    let times: Vec<f64> = lines.iter().map(|v| v["t"].as_f64().expect("t")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // The breaker opens after 5 failures, i.e. within a fraction of a second of the fault's
    // start, and keeps cycling open -> half_open -> open until the fault ends; then it closes.
    let breaker = of_type("breaker");
    let first_open = breaker.iter().find(|v| v["to"] == "open").expect("the breaker opened");
    let t_open = first_open["t"].as_f64().expect("t");
    assert!((60.0..61.0).contains(&t_open), "opened at {t_open}");
    assert_eq!(first_open["edge"], "front->back");
    assert_eq!(first_open["from"], "closed");
    assert!(breaker.iter().all(|v| v["t"].as_f64().expect("t") >= 60.0), "no transition before the fault");
    let last = breaker.last().expect("transitions");
    assert_eq!(last["to"], "closed", "the breaker closes after the fault: {last}");
    let t_close = last["t"].as_f64().expect("t");
    assert!((120.0..135.0).contains(&t_close), "closed at {t_close}");
}

// ---------------------------------------------------------------------------------------
// 11. Bad input
// ---------------------------------------------------------------------------------------

/// A small system with every kind of target: services, instances, zones, an edge, a workload.
const BAD_BASE: &str = "
name: bad-faults
duration: 1m
services:
  payments: { instances: 3, zones: [a, b], service_time: { exponential: { mean: 10ms } } }
  api:
    service_time: { exponential: { mean: 10ms } }
    calls: [ { to: payments } ]
workloads:
  - { name: shoppers, target: api, arrivals: { poisson: { rate: 10/s } } }
faults:
  - {FAULT}
";

fn refused(fault: &str) -> ScenarioError {
    let yaml = BAD_BASE.replace("{FAULT}", fault);
    refusal(&yaml)
}

#[test]
fn bad_fault_keys_are_refused_clearly() {
    let e = refused("{ kind: crashh, target: payments, at: 1s, for: 1s }");
    assert_error(&e, "faults.0.kind", &["crashh", "did you mean `crash`?"]);

    let e = refused("{ kind: crash, target: paymnets, at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["there is no service `paymnets`", "did you mean `payments`?"]);

    let e = refused("{ kind: crash, target: 'payments#9', at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["instances 0..2", "no #9"]);

    let e = refused("{ kind: partition, target: payments, at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["call edge", "api->payments"]);
    let e = refused("{ kind: partition, target: 'payments->api', at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["`payments` makes no calls to `api`"]);

    let e = refused("{ kind: spike, target: payments, at: 1s, for: 1s, factor: 3 }");
    assert_error(&e, "faults.0.target", &["target a workload", "`payments`"]);
    let e = refused("{ kind: spike, target: shopers, at: 1s, for: 1s, factor: 3 }");
    assert_error(&e, "faults.0.target", &["did you mean `shoppers`?"]);

    let e = refused("{ kind: error, target: payments, at: 1s, for: 1s, probability: 0.5, add: 100ms }");
    assert_error(&e, "faults.0.add", &["`add` does not apply to", "error fault"]);

    let e = refused("{ kind: crash, target: payments, at: 1s }");
    assert_error(&e, "faults.0.for", &["give the fault a duration"]);

    let e = refused("{ kind: crash, target: payments, at: 1s, for: 1s, mtbf: 9m, mttr: 1m }");
    assert_error(&e, "faults.0", &["not a mix"]);

    let e = refused("{ kind: crash, target: 'zone:c', at: 1s, for: 1s }");
    assert_error(&e, "faults.0.target", &["no instance is in zone `c`", "zones are: a, b"]);

    let e = refused("{ kind: error, target: payments, at: 1s, for: 1s, probability: 1.5 }");
    assert_error(&e, "faults.0.probability", &["outside 0..1"]);

    let e = refused("{ kind: latency, target: payments, at: 1s, for: 1s }");
    assert_error(&e, "faults.0", &["`add`", "`multiply`"]);
}

// ---------------------------------------------------------------------------------------
// The examples
// ---------------------------------------------------------------------------------------

/// Zone b (two of `catalog`'s six instances) is dark from 3m to 5m, windows of 15 s: the
/// outage covers windows 12..20.
#[test]
fn zone_outage_example_survives_on_retries() {
    let sim = example("zone-outage.yaml", &[]);
    let fault = &sim.report.faults[0];
    assert_eq!(fault.window_s, Some([180.0, 300.0]));
    assert!(sim.service("catalog").refused_down.value() > 0.0);
    // Outside the outage nothing fails; during it, a request fails only when all three of
    // its attempts pick one of the two dark instances out of six: (1/3)^3.
    let failed = [Outcome::Error, Outcome::Timeout, Outcome::Rejected, Outcome::ShortCircuited];
    assert_eq!(sim.window_total("shoppers", 0..12, &failed), 0.0);
    assert_eq!(sim.window_total("shoppers", 20..40, &failed), 0.0);
    let during = sim.window_total("shoppers", 12..20, &[]);
    assert_binomial(
        "failed share while zone b is dark",
        sim.window_total("shoppers", 12..20, &failed),
        during,
        1.0 / 27.0,
    );
    let availability = sim.report.workloads["shoppers"].availability.value();
    assert!(availability > 0.99, "availability {availability}");
    // A third of the attempts fail, below the breaker's 50%: it never opens.
    let breaker = sim.report.edges["web->catalog"].breaker.as_ref().expect("a breaker");
    assert_eq!(breaker.openings.mean, Some(0.0));

    // Without the retries, a third of the requests fail while the zone is dark.
    let sim = example("zone-outage.yaml", &["services.web.calls.0.retry.max_attempts=1"]);
    let during = sim.window_total("shoppers", 12..20, &[]);
    assert_binomial("failed share without retries", sim.window_total("shoppers", 12..20, &failed), during, 1.0 / 3.0);
}

/// The bad deploy makes half of cell 2's responses fail from 2m to 6m (30 s windows
/// 4..12); the seven other cells share nothing with it.
#[test]
fn cells_example_contains_a_bad_deploy_to_its_cell() {
    let bad = example("cells.yaml", &[]);
    let clean = example("cells.yaml", &["faults.0.enabled=false"]);
    let others = [1, 3, 4, 5, 6, 7, 8];
    // The other cells' users see exactly what they see without the bad deploy.
    for k in others {
        let w = format!("users-{k}");
        let json = |s: &Sim| serde_json::to_value(&s.report.workloads[&w]).expect("serialisable");
        assert_eq!(json(&bad), json(&clean), "{w} changed");
        assert_eq!(bad.report.workloads[&w].availability.mean, Some(1.0), "{w}");
        for s in [format!("cell-{k}"), format!("cell-{k}-db")] {
            let json = |x: &Sim| serde_json::to_value(x.service(&s)).expect("serialisable");
            assert_eq!(json(&bad), json(&clean), "{s} changed");
        }
    }
    // Cell 2's users lose half their requests during the bad deploy, none outside it.
    assert_eq!(clean.report.workloads["users-2"].availability.mean, Some(1.0));
    let failed = [Outcome::Error, Outcome::Timeout, Outcome::Rejected, Outcome::ShortCircuited];
    assert_eq!(bad.window_total("users-2", 0..4, &failed) + bad.window_total("users-2", 12..20, &failed), 0.0);
    let during = bad.window_total("users-2", 4..12, &[]);
    assert_binomial(
        "users-2 failed share during the bad deploy",
        bad.window_total("users-2", 4..12, &failed),
        during,
        0.5,
    );
    // 4 minutes of 10 at half: availability 80%.
    assert_theory("users-2 availability", &bad.report.workloads["users-2"].availability, 0.8);

    // The blast radius: one workload of eight, one service, nothing spread.
    let [b] = bad.report.blast_radius.as_slice() else { panic!("one blast radius per fault") };
    assert_eq!(b.workloads.len(), 8);
    assert_eq!(b.affected_workloads, ["users-2"]);
    assert_eq!(b.affected_services, ["cell-2"]);
    assert_eq!(b.scope, ["cell-2"]);
    assert!(b.spread_to.is_empty() && b.contained, "spread to {:?}", b.spread_to);
    assert_eq!((b.recovered, b.time_to_recover_s, b.metastable), (Some(true), Some(0.0), false));
    for k in others {
        let d = &b.workloads[&format!("users-{k}")];
        assert_eq!((d.extra_failed.value(), d.extra_slowed.value(), d.affected), (0.0, 0.0, false), "users-{k}");
        for s in [format!("cell-{k}"), format!("cell-{k}-db")] {
            assert_eq!(b.services[&s].extra_failed.value(), 0.0, "{s}");
        }
    }
    // Every failed request is an extra failure of users-2, injected by the fault.
    let hurt = &b.workloads["users-2"].extra_failed;
    assert_eq!(hurt.value(), bad.report.workloads["users-2"].error.value());
    assert_eq!(hurt.value(), bad.report.faults[0].injected.value());
    // Eight shards at equal rates: the hurt shard holds an eighth of all user requests
    // (given the total, each request is users-2's with probability 1/8).
    let all: f64 = (1..=8).map(|k| bad.requests_total(&format!("users-{k}"))).sum();
    assert_binomial("users-2's share of user requests", bad.requests_total("users-2"), all, 1.0 / 8.0);
}

// ---------------------------------------------------------------------------------------
// Engine bugs found by these tests (kept ignored until fixed)
// ---------------------------------------------------------------------------------------

/// `api` with a fixed concurrency limit of 10 per instance and about 8 requests inside;
/// it crashes from 1m to 1m30s. 30 s windows: 0..2 before, 3..8 after the restart.
const LIMIT_CRASH: &str = "
name: limit-crash
duration: 4m
warmup: 30s
window: 30s
replications: 4
seed: 40
services:
  api:
    servers: 20
    service_time: { constant: { value: 100ms } }
    concurrency_limit: { aimd: { initial: 10, min: 10, max: 10 } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 80/s } } }
faults:
  - { kind: crash, target: api, at: 1m, for: 30s }
";

/// Bug: `crash_instance` loses the requests inside without releasing their concurrency
/// limiter slots, so after the restart the limiter still counts them in flight: with the
/// limit at 10, the instance admits only the slots that were free at the crash, for
/// ever (replication 0 of this case: 2150 ok per window before, 0 after the restart; the
/// others ~266 instead of ~2100).
#[test]
fn crash_releases_the_concurrency_limit_of_the_work_it_loses() {
    let sim = Sim::run(LIMIT_CRASH);
    let w = sim.wid("users");
    for (k, r) in sim.reps.iter().enumerate() {
        let ok = |range: std::ops::Range<usize>| -> f64 {
            r.workloads[w].timeline[range.clone()].iter().map(|c| c[Outcome::Ok as usize]).sum::<f64>()
                / range.len() as f64
        };
        let (before, after) = (ok(0..2), ok(3..8));
        assert!(
            after > 0.9 * before,
            "replication {k}: {before} ok per window before the crash, {after} after the restart"
        );
    }
}

/// `front` is down for the whole measured window; during the warm-up its workers wait on
/// calls to a slow `back` that time out after 100 ms and are retried up to 9 times.
const RETRY_CRASH: &str = "
name: retry-crash
duration: 2m
warmup: 10s
replications: 2
seed: 41
services:
  front:
    servers: 10
    service_time: { constant: { value: 1ms } }
    calls:
      - { to: back, timeout: 100ms, retry: { max_attempts: 10, backoff: { fixed: { delay: 100ms } }, jitter: none } }
  back: { servers: 1000, service_time: { constant: { value: 1s } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 50/s } } }
faults:
  - { kind: crash, target: front, at: 0s, for: 1h }
";

/// Bug: a crash loses the requests inside `front`, but the calls those requests had in
/// progress live on: their timeouts fire and their retries are sent to `back` by a
/// process that no longer exists (here 74.5 attempts per replication, 70 of them
/// retries, reach `back` while `front` is down and makes no calls).
#[test]
fn a_crash_stops_the_calls_of_the_requests_it_loses() {
    let sim = Sim::run(RETRY_CRASH);
    let edge = &sim.report.edges["front->back"];
    assert_eq!(edge.calls.mean, Some(0.0), "a crashed front makes no calls");
    assert_eq!(edge.retries.mean, Some(0.0), "retries sent for requests lost in the crash");
    assert_eq!(sim.service("back").arrivals.mean, Some(0.0), "back reached while front was down");
}

/// 1000 workers and a constant 10 s service time (L = 100), crashed at random every
/// ~2 minutes for ~5 s: each crash loses about 100 requests that have been inside 5 s on
/// average.
const LITTLE_CRASH: &str = "
name: little-crash
duration: 30m
warmup: 1m
replications: 4
seed: 42
services:
  api: { servers: 1000, service_time: { constant: { value: 10s } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 10/s } } }
faults:
  - { kind: crash, target: api, mtbf: 2m, mttr: 5s }
";

/// Little's law, L = departures x W, as the report states it (issue: within 1%).
const LITTLE_REL_TOL: f64 = 0.01;

fn little_error(sim: &Sim) -> f64 {
    let s = sim.service("api");
    let l = s.mean_in_system.value();
    (l - s.departures_per_s.value() * s.mean_sojourn_s.value()).abs() / l
}

/// Bug: requests lost in a crash count in the time-average L (they were inside) but in
/// neither `completed` nor `dropped`, so `departures_per_s` misses them and the report's
/// identity L = departures x W breaks (here by 4.2%; 0.1% without the crashes).
#[test]
fn littles_law_holds_through_crashes() {
    let calm = Sim::run(&LITTLE_CRASH.replace("mtbf: 2m", "enabled: false, mtbf: 2m"));
    assert!(little_error(&calm) < LITTLE_REL_TOL, "without crashes: {:.4}", little_error(&calm));
    let sim = Sim::run(LITTLE_CRASH);
    assert!(little_error(&sim) < LITTLE_REL_TOL, "with crashes: L off departures x W by {:.4}", little_error(&sim));
}
