//! `resim theory` prints what `predict` covers and why (the per-feature table of what
//! takes a station out of theory is a unit test, `src/theory/predict_tests.rs`); closed
//! workloads are predicted by exact mean value analysis, checked against the simulation.

use std::process::Command;

use resim::theory::{Prediction, mva, predict};

use crate::common::{Sim, assert_theory, scenario};

/// Two stations, one with a health check and a latency fault: two reasons to be outside.
const FAULTED: &str = r#"
name: faulted
duration: 10m
services:
  front:
    servers: 2
    service_time: { exponential: { mean: 100ms } }
    health_check: { interval: 10s }
  solo:
    servers: 2
    capacity: 8
    service_time: { exponential: { mean: 100ms } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 10/s } } }
  - { name: others, target: solo, arrivals: { poisson: { rate: 10/s } } }
faults: [ { kind: latency, target: front, at: 10s, for: 5m, add: 300ms } ]
"#;

fn prediction<'p>(ps: &'p [Prediction], service: &str) -> &'p Prediction {
    ps.iter().find(|p| p.service == service).expect("a prediction per service")
}

#[test]
fn the_binary_prints_each_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("faulted.yaml");
    let text = FAULTED;
    std::fs::write(&file, text).expect("write scenario");
    let out =
        Command::new(env!("CARGO_BIN_EXE_resim")).arg("theory").arg(&file).arg("--no-run").output().expect("run resim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("front: outside theory, for 2 reasons:\n"), "{stdout}");
    assert!(stdout.contains("  - latency fault `latency-0` on `front` lengthens service times"), "{stdout}");
    assert!(stdout.contains("  - health_check: failed probes take instances out of the balancer"), "{stdout}");
    assert!(stdout.contains("solo: M/M/c/K"), "{stdout}");
}

// ---------------------------------------------------------------------------------------
// Closed workloads by exact mean value analysis
// ---------------------------------------------------------------------------------------

/// A closed workload of `users` on one service, `think` its think time.
fn closed(users: u32, think: &str, service: &str) -> String {
    format!(
        r#"
name: closed
duration: 20m
warmup: 1m
replications: 8
seed: 7
services:
  app:
{service}
workloads:
  - {{ name: users, target: app, arrivals: {{ closed: {{ users: {users}, think_time: {think} }} }} }}
"#
    )
}

/// Simulates `yaml` and checks its one service against the MVA prediction.
fn check_against_simulation(yaml: &str) {
    let model = scenario(yaml).model;
    let ps = predict(&model);
    let p = prediction(&ps, "app");
    assert_eq!(p.model, Some("closed network (MVA)"), "{}", p.note);
    let t = p.values.expect("predicted");
    let sim = Sim::of(model);
    let s = sim.service("app");
    println!(
        "MVA X {:.4} L {:.4} W {:.5} U {:.4}; simulated X {:.4} {:?} L {:.4} {:?} W {:.5} {:?} U {:.4} {:?}",
        t.throughput,
        t.mean_in_system,
        t.mean_sojourn,
        t.utilization,
        s.throughput_per_s.value(),
        s.throughput_per_s.ci95,
        s.mean_in_system.value(),
        s.mean_in_system.ci95,
        s.mean_sojourn_s.value(),
        s.mean_sojourn_s.ci95,
        s.utilization.value(),
        s.utilization.ci95
    );
    assert_theory("throughput", &s.throughput_per_s, t.throughput);
    assert_theory("L", &s.mean_in_system, t.mean_in_system);
    assert_theory("W", &s.mean_sojourn_s, t.mean_sojourn);
    assert_theory("utilisation", &s.utilization, t.utilization);
    assert_theory("Lq", &s.mean_queue_length, t.mean_queue_length);
}

/// Near saturation (N/(Z+S) = 18.2/s against c/S = 20/s) on a two-worker station: the
/// load-dependent recursion, exact for c > 1.
#[test]
fn a_closed_multi_server_station_matches_mva() {
    let yaml = closed(
        20,
        "{ exponential: { mean: 1s } }",
        "    servers: 2\n    service_time: { exponential: { mean: 100ms } }",
    );
    check_against_simulation(&yaml);
}

/// Two single-worker instances behind `random` (visit ratio 1/2 each), with a constant
/// think time: the think station is a delay, so only its mean matters (BCMP 1975).
#[test]
fn closed_instances_behind_random_with_constant_think_match_mva() {
    let service = "    servers: 1\n    instances: 2\n    load_balancer: random\n    capacity: 8\n    service_time: { exponential: { mean: 100ms } }";
    let yaml = closed(8, "{ constant: { value: 500ms } }", service);
    check_against_simulation(&yaml);
    // And the prediction is MVA itself, per instance: X = 2·X_instance.
    let direct =
        mva(8, 0.5, &[resim::theory::ClosedStation { visits: 0.5, service_s: 0.1, servers: 1, copies: 2 }]).unwrap();
    let ps = predict(&scenario(&yaml).model);
    let t = prediction(&ps, "app").values.expect("predicted");
    assert!((t.throughput - direct.throughput).abs() < 1e-12);
}

#[test]
fn closed_workloads_mva_does_not_cover_are_outside_with_the_reason() {
    let service = "    servers: 1\n    service_time: { exponential: { mean: 100ms } }";
    let base = closed(5, "{ exponential: { mean: 1s } }", service);
    let users = "  - { name: users, target: app, arrivals: { closed: { users: 5, think_time: { exponential: { mean: 1s } } } } }";
    let cases = [
        (base.replace(users, &format!("{users}\n  - {{ name: more, target: app, arrivals: {{ closed: {{ users: 2, think_time: {{ constant: {{ value: 1s }} }} }} }} }}")), "2 closed workloads"),
        (base.replace(users, &format!("{users}\n  - {{ name: open, target: app, arrivals: {{ poisson: {{ rate: 1/s }} }} }}")), "open and closed"),
        (base.replace("} } } } }", "} } } }, deadline: 2s }"), "has a deadline"),
        (base.replace("    servers: 1\n", "    servers: 1\n    capacity: 3\n"), "capacity K = 3 < 5 users"),
        (base.replace("    servers: 1\n", "    servers: 1\n    instances: 2\n"), "balancer"),
    ];
    for (yaml, needle) in cases {
        let ps = predict(&scenario(&yaml).model);
        let p = prediction(&ps, "app");
        assert!(p.values.is_none() && p.note.contains(needle), "expected `{needle}`: {:?} {}", p.model, p.note);
    }
}
