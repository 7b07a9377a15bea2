//! Faults keep runs deterministic and their random draws on their own streams, and
//! `events.jsonl` records fault windows and the breaker transitions they cause.

use resim::RunOptions;

use crate::common::{Sim, scenario};

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

/// The breaker opens after 5 failures at 50/s: 0.1 s on average, over 1 s with probability
/// e^-50 x (1 + 50 + ... + 50^4/4!) < 1e-14. Lets through a breaker needing up to ~40 failures.
const BREAKER_OPENS_WITHIN_S: f64 = 1.0;
/// The breaker closes after the fault: the last open period started before 120 s ends by 130 s,
/// and its 2 trial successes come in well under a second at 50/s (over 1 s: 51 e^-50); was
/// 15 s. Lets through an open period up to 11 s.
const BREAKER_CLOSES_WITHIN_S: f64 = 11.0;

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
    assert!((60.0..60.0 + BREAKER_OPENS_WITHIN_S).contains(&t_open), "opened at {t_open}");
    assert_eq!(first_open["edge"], "front->back");
    assert_eq!(first_open["from"], "closed");
    assert!(breaker.iter().all(|v| v["t"].as_f64().expect("t") >= 60.0), "no transition before the fault");
    let last = breaker.last().expect("transitions");
    assert_eq!(last["to"], "closed", "the breaker closes after the fault: {last}");
    let t_close = last["t"].as_f64().expect("t");
    assert!((120.0..120.0 + BREAKER_CLOSES_WITHIN_S).contains(&t_close), "closed at {t_close}");
}
