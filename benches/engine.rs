//! Engine throughput: events per second of one replication on one core.
//!
//! `cargo bench --bench engine` reports each case in elements (= events) per second;
//! an event is an arrival or a service completion (plus the single warm-up marker); in
//! `call_graph_policies` also the timers of timeouts, retries and breakers.
//!
//! `scripts/perf.sh` runs these and compares resim with SimPy and Ciw on the first two
//! scenarios (mirrored in `benches/peers/`); see docs/PERFORMANCE.md.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use resim::engine::{EventQueue, SimTime};
use resim::model::sim::run_replication;
use resim::scenario::load_str;

/// The reference station: M/M/4/50 at rho = 0.8 (lambda 64/s, mean 50 ms).
const MMCK: &str = "
name: bench-mmck
duration: 2h
services:
  api: { servers: 4, capacity: 50, service_time: { exponential: { mean: 50ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 64/s } } }
";

/// Five nodes with probabilistic routing and feedback.
const NETWORK: &str = "
name: bench-network
duration: 30m
services:
  a: { servers: 4, service_time: { exponential: { mean: 10ms } }, routes: [ { to: b, probability: 0.6 }, { to: c, probability: 0.3 } ] }
  b: { servers: 2, service_time: { exponential: { mean: 8ms } }, routes: [ { to: d, probability: 0.5 }, { to: a, probability: 0.1 } ] }
  c: { servers: 2, service_time: { exponential: { mean: 12ms } }, routes: [ { to: e, probability: 0.7 } ] }
  d: { servers: 1, service_time: { exponential: { mean: 5ms } }, routes: [ { to: e, probability: 0.4 } ] }
  e: { servers: 2, service_time: { exponential: { mean: 9ms } } }
workloads:
  - { name: users, target: a, arrivals: { poisson: { rate: 200/s } } }
";

/// A small call graph: a frontend calling three services synchronously, each call with a
/// per-attempt timeout, retries with full jitter and a consecutive-failure breaker.
/// Timeouts are rare but real (a few hundred retries and a few breaker openings per run on
/// `payments`), so the policy paths are exercised, not just the happy path.
const CALL_GRAPH: &str = "
name: bench-call-graph
duration: 30m
services:
  frontend:
    servers: 64
    service_time: { exponential: { mean: 2ms } }
    calls:
      - { to: users, timeout: 50ms, retry: { max_attempts: 3, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
      - { to: catalog, timeout: 80ms, retry: { max_attempts: 3, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
      - { to: payments, timeout: 60ms, retry: { max_attempts: 3, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
  users: { servers: 4, capacity: 40, service_time: { exponential: { mean: 5ms } } }
  catalog: { servers: 4, capacity: 40, service_time: { exponential: { mean: 8ms } } }
  payments: { servers: 3, capacity: 30, service_time: { exponential: { mean: 10ms } } }
workloads:
  - { name: users, target: frontend, arrivals: { poisson: { rate: 150/s } } }
";

/// The reference call graph: ten services, synchronous calls (sequential and
/// parallel, one optional), every call with a per-attempt timeout, retries with full
/// jitter and a breaker, several instances behind balancers, and faults active during
/// the measured run: `pricing` slows down for two of its ten minutes and `inventory`
/// fails 20% of its responses for three, so timeouts, retries, breaker trips and
/// fallbacks all happen, not just the happy path.
const CALL_GRAPH_10: &str = "
name: bench-call-graph-10
duration: 10m
services:
  gateway:
    instances: 2
    load_balancer: least_outstanding
    servers: 64
    service_time: { exponential: { mean: 1ms } }
    calls:
      - { to: auth, timeout: 40ms, retry: { max_attempts: 3, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
      - parallel:
          - { to: catalog, timeout: 150ms, retry: { max_attempts: 2, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
          - { to: cart, timeout: 150ms, retry: { max_attempts: 2, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
          - { to: recs, optional: true, timeout: 60ms, breaker: { consecutive: { open_for: 10s } } }
  auth: { instances: 2, servers: 4, capacity: 64, service_time: { exponential: { mean: 2ms } } }
  catalog:
    servers: 16
    capacity: 128
    service_time: { exponential: { mean: 3ms } }
    calls:
      - { to: inventory, timeout: 40ms, retry: { max_attempts: 3, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
      - { to: pricing, timeout: 40ms, retry: { max_attempts: 3, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
  cart:
    servers: 16
    capacity: 128
    service_time: { exponential: { mean: 2ms } }
    calls:
      - { to: pricing, timeout: 40ms, retry: { max_attempts: 3, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
      - { to: payments, probability: 0.2, timeout: 100ms, retry: { max_attempts: 2, jitter: full }, breaker: { consecutive: { open_for: 5s } } }
  recs: { servers: 4, capacity: 32, service_time: { exponential: { mean: 8ms } } }
  inventory: { instances: 2, servers: 4, capacity: 64, service_time: { exponential: { mean: 4ms } } }
  pricing: { instances: 3, servers: 4, capacity: 64, service_time: { exponential: { mean: 3ms } } }
  payments:
    servers: 4
    capacity: 32
    service_time: { exponential: { mean: 10ms } }
    calls:
      - { to: fraud, timeout: 50ms, retry: { max_attempts: 2, jitter: full } }
  fraud: { servers: 2, capacity: 32, service_time: { exponential: { mean: 5ms } } }
  ledger: { servers: 2, service_time: { exponential: { mean: 1ms } } }
workloads:
  - { name: shoppers, target: gateway, arrivals: { poisson: { rate: 300/s } } }
  - { name: batch, target: ledger, arrivals: { poisson: { rate: 200/s } } }
faults:
  - { kind: latency, target: pricing, at: 3m, for: 2m, add: { exponential: { mean: 10ms } } }
  - { kind: error, target: inventory, at: 6m, for: 3m, probability: 0.2 }
";

fn bench_model(c: &mut Criterion, name: &str, yaml: &str) {
    let model = load_str(yaml, Path::new(name), &[]).expect("bench scenario is valid").model;
    let events = run_replication(&model, 0).events;
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(events));
    // Thirty samples of equal length over eight seconds or more: on a shared machine a
    // median over a longer span is less at the mercy of one busy moment.
    group.sample_size(30).sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(8));
    group.bench_function("replication", |b| b.iter(|| black_box(run_replication(black_box(&model), 0).events)));
    group.finish();
}

fn event_queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_queue");
    const N: u64 = 1000;
    group.throughput(Throughput::Elements(N * 1000));
    group.bench_function("hold_1000", |b| {
        // The classic "hold" model: a queue of N pending events, pop one, push one later.
        let mut q = EventQueue::with_capacity(N as usize);
        let mut x: u64 = 1;
        for i in 0..N {
            q.push(SimTime(i * 7919 % 10_007), i);
        }
        b.iter(|| {
            for _ in 0..N * 1000 {
                let (t, e) = q.pop().expect("never empty");
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                q.push(SimTime(t.0 + (x >> 50)), e);
            }
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    event_queue(c);
    bench_model(c, "mmck_4_50_rho_0.8", MMCK);
    bench_model(c, "network_5_nodes", NETWORK);
    bench_model(c, "call_graph_policies", CALL_GRAPH);
    bench_model(c, "call_graph_10_services_fault", CALL_GRAPH_10);
}

criterion_group!(engine, benches);
criterion_main!(engine);
