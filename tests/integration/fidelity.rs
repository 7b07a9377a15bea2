//! Production fidelity: the policies keep their state where production keeps it (a
//! library in each caller process, a sidecar beside it, or one mesh-wide state), and
//! give back every permit on every path that ends an attempt.

use resim::report::Statistic;
use resim::theory::erlang_b;

use super::common::{Sim, assert_theory, overrides};

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

fn run(yaml: &str, sets: &[&str]) -> Sim {
    let scenario = resim::scenario::load_str(yaml, std::path::Path::new("fidelity.yaml"), &overrides(sets)).unwrap();
    Sim::of(scenario.model)
}

#[test]
fn a_bulkhead_per_caller_instance_blocks_as_erlang_b_of_its_share() {
    let sim = run(FLEET_BULKHEAD, &[]);
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
    let sim = run(FLEET_BULKHEAD, &["services.front.calls.0.bulkhead.scope=service"]);
    let b = blocking(&sim);
    let theory = erlang_b(10, 8.0);
    println!("one bulkhead of 10 at 8 Erlangs: blocking {:.5} {:?}, Erlang B {theory:.5}", b.value(), b.ci95);
    assert!((theory - 0.1217).abs() < 5e-5, "Erlang B(10, 8) = {theory}");
    assert_theory("fleet bulkhead blocking", &b, theory);
}
