//! Server-side policies held to theory and to their own contracts: worker pools by request
//! class (each pool an independent M/M/c/K station, isolated from floods of other classes,
//! classes without a pool refused, calls inheriting the caller's class), the token-bucket
//! rate limit, shedding by queue length / expected queue time / CoDel, adaptive
//! concurrency limits (AIMD, Gradient2), degradation levels (stepping down under overload,
//! skipping optional calls, restoring), determinism with every policy on, and clear errors
//! for bad server-side keys.
//!
//! Every case has a fixed seed, so each check is reproducible bit for bit; tolerances are
//! named constants. The last three tests are regressions for engine bugs these tests found
//! (present at 3fa5eff, fixed in eb50fc5).
//!
//! Run with `cargo test --release --test integration -- server_policies`.

use resim::report::Statistic;
use resim::scenario::ScenarioError;
use resim::theory::{StationTheory, mmck};
use resim::{Report, RunOptions};

use crate::common::{Sim, assert_error, assert_same, assert_theory, refusal, run_yaml, scenario};

/// Admitted throughput of a saturated token bucket against its rate (the issue: 2%). Lets
/// through a refill 2% off its rate, e.g. the burst counted once more per few seconds.
const RATE_LIMIT_REL_TOL: f64 = 0.02;
/// CoDel keeps the mean wait within this many `interval`s (its control time scale). Lets
/// through a CoDel that drops late (a wait up to 200 ms, forty times its 5 ms target).
const CODEL_WAIT_INTERVALS: f64 = 2.0;
/// ... and at least this many times below the wait of the same overload in a plain FIFO
/// (whose line grows all run). Lets through a CoDel that only slows the line's growth.
const CODEL_VS_FIFO_FACTOR: f64 = 100.0;
/// A service under CoDel still keeps its workers busy: utilisation at least this. Lets
/// through a CoDel that drops a request too many now and then and idles a worker for it.
const CODEL_MIN_UTILIZATION: f64 = 0.95;
/// Gradient2 under a heavy (but not sustained-overload) load ends below this share of
/// its maximum. Lets through a limit that falls only halfway, or too far (down to `min`).
const GRADIENT_MAX_SHARE: f64 = 0.5;
/// Degradation: share of the requests after the episode that are served fully. Lets
/// through one request in a thousand failed after the episode.
const RESTORED_OK_SHARE: f64 = 0.999;
/// Degradation: optional calls are made exactly for the requests served at full level,
/// up to requests caught by a level change between their call and their completion.
/// Lets through 1% of full requests skipping the call, or degraded ones making it.
const CALLS_VS_OK_REL_TOL: f64 = 0.01;
/// The flooded catch-all pool, M/M/2/5 at 2000/s of 100/s each, blocks 0.900 (0.9001 measured,
/// 95% half-width 0.0004); was 0.85. Lets through a pool blocking 1% less.
const FLOOD_REST_BLOCKING_MIN: f64 = 0.89;
/// The calm catch-all pool, M/M/2/5 at 100/s, blocks 0.0213 (0.0215 measured, 95% half-width
/// 0.001); was 0.05. Lets through up to half again the theory's blocking (the tight checks are
/// on gold).
const CALM_REST_BLOCKING_MAX: f64 = 0.03;
/// Calls reaching db through `vip`'s front, per replication: Poisson with mean 100/s x 60 s =
/// 6,000 (sd 77), less 5 sd; was 5,000. Lets through a caller's rate 7% low; the test is about
/// where the calls land, which is checked exactly.
const VIP_CALLS_MIN: f64 = 5600.0;
/// ... and through `anon`'s: 150/s x 60 s = 9,000 (sd 95), less 5 sd; was 7,000.
const ANON_CALLS_MIN: f64 = 8500.0;
/// With a 100 ms timeout AIMD counts slow requests as drops and backs off: in flight per
/// instance below this share of `max`. Lets through a back-off to anywhere under 45 in flight.
const AIMD_TIMEOUT_IN_FLIGHT_SHARE: f64 = 0.75;
/// Queue-time shedding on 8 workers at 1.5x overload waits about its 50 ms cap; above this it
/// shows the station is loaded. Lets through a rule admitting a fifth fewer.
const PLAIN_SHED_WAIT_MIN_S: f64 = 0.04;
/// The pooled and the plain service are the same M/M/8 station with the same rule, on other
/// streams: Wq 48.7 ms and 48.8 ms measured, each with a 95% half-width of 0.4 ms (their
/// difference's 1.2%); was 10%. Lets through a rule that moves the cap's queue by a few places
/// (reading pool `a`'s single worker instead would cut it from 40 to 5).
const POOLED_VS_PLAIN_WAIT_REL: f64 = 0.03;
/// 400/s offered to 4 workers of 20 ms (200/s): utilisation stays above this. Lets through a
/// tick that idles the workers for under 1% of the run.
const SATURATED_UTILIZATION_MIN: f64 = 0.99;

impl Sim {
    /// Per-replication blocking of pool `pool` of service `service`: pool rejected / pool
    /// arrivals.
    fn pool_blocking(&self, service: &str, pool: &str) -> Statistic {
        let s = self.model.service_id(service).expect("service exists");
        let p = self.model.services[s].pools.iter().position(|p| p.name == pool).expect("pool exists");
        Statistic::of(self.reps.iter().map(|r| {
            let [arrivals, rejected, ..] = r.services[s].pools[p];
            (arrivals > 0.0).then(|| rejected / arrivals)
        }))
    }
}

/// Asserts pool `pool` of service `service` behaves like `theory`: utilisation, blocking
/// and L.
fn assert_pool_is_mmck(sim: &Sim, service: &str, pool: &str, theory: &StationTheory) {
    let p = &sim.service(service).pools[pool];
    assert_theory(&format!("{service}.{pool} utilization"), &p.utilization, theory.utilization);
    assert_theory(&format!("{service}.{pool} blocking"), &sim.pool_blocking(service, pool), theory.blocking);
    assert_theory(&format!("{service}.{pool} L"), &p.mean_in_system, theory.mean_in_system);
}

fn station(lambda: f64, mean_service_s: f64, servers: u32, capacity: Option<u32>) -> StationTheory {
    mmck(lambda, 1.0 / mean_service_s, servers, capacity).expect("valid station")
}

// ---------------------------------------------------------------------------------------
// 1. Worker pools
// ---------------------------------------------------------------------------------------

/// Three pools: two finite ones for named classes and an unbounded catch-all that takes
/// the unnamed `default` class and `bronze` (a class no pool names).
const THREE_POOLS: &str = "
name: pools-theory
duration: 10m
warmup: 1m
replications: 10
seed: 21
services:
  api:
    service_time: { exponential: { mean: 10ms } }
    pools:
      gold: { servers: 4, capacity: 8, classes: [gold] }
      silver: { servers: 2, capacity: 5, classes: [silver] }
      rest: { servers: 3 }
workloads:
  - { name: g, class: gold, target: api, arrivals: { poisson: { rate: 350/s } } }
  - { name: s, class: silver, target: api, arrivals: { poisson: { rate: 180/s } } }
  - { name: anon, target: api, arrivals: { poisson: { rate: 200/s } } }
  - { name: b, class: bronze, target: api, arrivals: { poisson: { rate: 50/s } } }
";

#[test]
fn each_pool_is_an_independent_mmck_station() {
    let sim = Sim::run(THREE_POOLS);
    assert_pool_is_mmck(&sim, "api", "gold", &station(350.0, 0.010, 4, Some(8)));
    assert_pool_is_mmck(&sim, "api", "silver", &station(180.0, 0.010, 2, Some(5)));
    // The catch-all pool sees the superposition of two Poisson streams: M/M/3 at 250/s.
    assert_pool_is_mmck(&sim, "api", "rest", &station(250.0, 0.010, 3, None));

    let api = sim.service("api");
    let pools = &api.pools;
    let w = &sim.report.workloads;
    // Every request of a class reaches its pool, and only the pools refuse anything.
    assert_eq!(pools["gold"].arrivals, w["g"].arrivals);
    assert_eq!(pools["silver"].arrivals, w["s"].arrivals);
    assert_eq!(pools["rest"].rejected.value(), 0.0, "an unbounded pool never refuses");
    let pool_rejected: f64 = pools.values().map(|p| p.rejected.value()).sum();
    assert!(
        (api.rejected.value() - pool_rejected).abs() < 1e-9,
        "rejected {} vs pools {pool_rejected}",
        api.rejected.value()
    );
    // The service's utilisation is that of all its workers together.
    let busy: f64 = pools.values().map(|p| p.utilization.value() * f64::from(p.servers)).sum();
    assert!((api.utilization.value() * 9.0 - busy).abs() < 1e-9);
}

/// Gold and a catch-all pool; the catch-all's load is `{RATE}`.
const FLOOD: &str = "
name: pools-flood
duration: 5m
warmup: 30s
replications: 10
seed: 5
services:
  api:
    service_time: { exponential: { mean: 10ms } }
    pools:
      gold: { servers: 4, capacity: 8, classes: [gold] }
      rest: { servers: 2, capacity: 5 }
workloads:
  - { name: g, class: gold, target: api, arrivals: { poisson: { rate: 350/s } } }
  - { name: s, target: api, arrivals: { poisson: { rate: {RATE}/s } } }
";

#[test]
fn a_flood_of_one_class_leaves_another_classes_pool_alone() {
    let calm = Sim::run(&FLOOD.replace("{RATE}", "100"));
    let flood = Sim::run(&FLOOD.replace("{RATE}", "2000"));
    // The flood does hit its own pool...
    let (flooded, calm_rest) = (flood.pool_blocking("api", "rest"), calm.pool_blocking("api", "rest"));
    println!("rest pool blocking: flood {flooded:?}, calm {calm_rest:?}");
    assert!(flooded.value() > FLOOD_REST_BLOCKING_MIN, "{flooded:?}");
    assert!(calm_rest.value() < CALM_REST_BLOCKING_MAX, "{calm_rest:?}");
    // ...but gold sees the very same arrivals (its own named stream) and, statistically,
    // the same station: only the shared service-time stream is drawn in another order.
    let (a, b) = (&calm.service("api").pools["gold"], &flood.service("api").pools["gold"]);
    assert_eq!(a.arrivals, b.arrivals, "gold's arrivals must not depend on another class");
    assert_same("gold utilization", &a.utilization, &b.utilization);
    assert_same("gold L", &a.mean_in_system, &b.mean_in_system);
    assert_same("gold blocking", &calm.pool_blocking("api", "gold"), &flood.pool_blocking("api", "gold"));
    assert_same(
        "gold availability",
        &calm.report.workloads["g"].availability,
        &flood.report.workloads["g"].availability,
    );
    for sim in [&calm, &flood] {
        assert_pool_is_mmck(sim, "api", "gold", &station(350.0, 0.010, 4, Some(8)));
    }
}

#[test]
fn a_class_without_a_pool_is_refused_and_counted() {
    let r = run_yaml(
        "
name: no-pool
duration: 1m
replications: 2
seed: 2
services:
  api:
    service_time: { exponential: { mean: 10ms } }
    pools:
      gold: { servers: 2, classes: [gold] }
workloads:
  - { name: g, class: gold, target: api, arrivals: { poisson: { rate: 50/s } } }
  - { name: stray, class: bronze, target: api, arrivals: { poisson: { rate: 40/s } } }
  - { name: anon, target: api, arrivals: { poisson: { rate: 30/s } } }
",
    );
    let (api, w) = (&r.services["api"], &r.workloads);
    for name in ["stray", "anon"] {
        assert!(w[name].requests.value() > 0.0);
        assert_eq!(w[name].rejected, w[name].requests, "{name}: every request is refused");
        assert_eq!(w[name].availability.value(), 0.0, "{name}");
    }
    assert_eq!(w["g"].availability.value(), 1.0);
    assert_eq!(api.pools["gold"].arrivals, w["g"].arrivals, "refused classes never reach the pool");
    assert_eq!(api.pools["gold"].rejected.value(), 0.0);
    let refused = w["stray"].rejected.value() + w["anon"].rejected.value();
    assert_eq!(api.rejected.value(), refused, "the service counts the refusals");
    assert!(api.blocking_probability.value() > 0.0);
}

#[test]
fn calls_inherit_the_callers_class() {
    // `vip` (class critical) and `anon` (default) reach db only through calls, each
    // through its own front service so the edges count them apart.
    let r = run_yaml(
        "
name: class-inherit
duration: 1m
warmup: 5s
replications: 2
seed: 4
services:
  front_a: { servers: 8, service_time: { exponential: { mean: 2ms } }, calls: [ { to: db } ] }
  front_b: { servers: 8, service_time: { exponential: { mean: 2ms } }, calls: [ { to: db } ] }
  db:
    service_time: { exponential: { mean: 5ms } }
    pools:
      critical: { servers: 3, classes: [critical] }
      other: { servers: 2 }
workloads:
  - { name: vip, class: critical, target: front_a, arrivals: { poisson: { rate: 100/s } } }
  - { name: anon, target: front_b, arrivals: { poisson: { rate: 150/s } } }
",
    );
    let db = &r.services["db"];
    let (to_a, to_b) = (&r.edges["front_a->db"].calls, &r.edges["front_b->db"].calls);
    assert!(to_a.value() > VIP_CALLS_MIN && to_b.value() > ANON_CALLS_MIN, "{to_a:?} {to_b:?}");
    assert_eq!(&db.pools["critical"].arrivals, to_a, "critical callers land in the critical pool");
    assert_eq!(&db.pools["other"].arrivals, to_b, "default callers land in the catch-all pool");
}

// ---------------------------------------------------------------------------------------
// 2. Rate limit
// ---------------------------------------------------------------------------------------

#[test]
fn token_bucket_admits_its_rate_and_counts_the_rest() {
    let r = run_yaml(
        "
name: rate-limit
duration: 5m
warmup: 10s
replications: 4
seed: 3
services:
  api:
    servers: 8
    service_time: { exponential: { mean: 10ms } }
    rate_limit: { rate: 100/s, burst: 10 }
workloads:
  - { name: u, target: api, arrivals: { poisson: { rate: 300/s } } }
",
    );
    let api = &r.services["api"];
    let admitted = &api.pools["default"].arrivals;
    let admitted_per_s = admitted.value() / r.duration_s;
    assert!((admitted_per_s - 100.0).abs() / 100.0 < RATE_LIMIT_REL_TOL, "admitted {admitted_per_s}/s, expected 100/s");
    assert!((api.throughput_per_s.value() - 100.0).abs() / 100.0 < RATE_LIMIT_REL_TOL);
    // Everything not admitted was refused by the bucket, and only by it.
    assert_eq!(api.rate_limited.value(), api.arrivals.value() - admitted.value());
    assert_eq!(api.rejected, api.rate_limited);
    assert!((api.rate_limited.value() / r.duration_s - 200.0).abs() / 200.0 < RATE_LIMIT_REL_TOL);
    assert_eq!(r.workloads["u"].rejected, api.rate_limited);
}

// ---------------------------------------------------------------------------------------
// 3. Shedding
// ---------------------------------------------------------------------------------------

/// One service overloaded 1.5x: `{SHED}` is its `shed` key, `{INSTANCES}` its instances.
const SHED: &str = "
name: shed
duration: 5m
warmup: 10s
replications: 6
seed: 3
services:
  api:
    servers: 2
    instances: {INSTANCES}
    service_time: { exponential: { mean: 10ms } }
    {SHED}
workloads:
  - { name: u, target: api, arrivals: { poisson: { rate: {RATE}/s } } }
";

fn shed_yaml(shed: &str, instances: u32, rate: f64) -> String {
    SHED.replace("{SHED}", shed).replace("{INSTANCES}", &instances.to_string()).replace("{RATE}", &rate.to_string())
}

#[test]
fn queue_length_shedding_bounds_the_queue() {
    const MAX: f64 = 5.0;
    // Two instances, each overloaded 1.5x: the line never exceeds 5 per instance.
    let r = run_yaml(&shed_yaml("shed: { queue_length: { max: 5 } }", 2, 600.0));
    let api = &r.services["api"];
    assert!(api.mean_queue_length.value() / 2.0 <= MAX, "Lq per instance {}", api.mean_queue_length.value() / 2.0);
    assert!(api.shed.value() > 0.0 && api.rejected.value() >= api.shed.value());
    assert_eq!(api.rejected, api.shed, "an unbounded station refuses only by shedding");

    // One instance: admission while fewer than `max` wait is exactly M/M/c/(c + max).
    let sim = Sim::run(&shed_yaml("shed: { queue_length: { max: 5 } }", 1, 300.0));
    let api = sim.service("api");
    let theory = station(300.0, 0.010, 2, Some(7));
    let blocking = Statistic::of(sim.reps.iter().map(|r| {
        let s = &r.services[0];
        (s.arrivals > 0.0).then(|| s.shed / s.arrivals)
    }));
    assert_theory("queue_length blocking", &blocking, theory.blocking);
    assert_theory("queue_length L", &api.mean_in_system, theory.mean_in_system);
    assert_theory("queue_length Lq", &api.mean_queue_length, theory.mean_queue_length);
    assert!(api.mean_queue_length.value() <= MAX);
}

#[test]
fn queue_time_shedding_caps_the_wait() {
    // Admit while queue · 10ms / 2 servers <= 50ms.
    let (max_wait, mean_service) = (0.050, 0.010);
    let sim = Sim::run(&shed_yaml("shed: { queue_time: { max_wait: 50ms } }", 1, 400.0));
    let api = sim.service("api");
    assert!(api.shed.value() > 0.0);
    assert!(
        api.mean_wait_s.value() <= max_wait + mean_service,
        "mean wait {} above max_wait + one mean service",
        api.mean_wait_s.value()
    );
    // The rule admits up to 10 waiting, so 11 wait at most: M/M/2/13.
    let theory = station(400.0, mean_service, 2, Some(13));
    assert_theory("queue_time Wq", &api.mean_wait_s, theory.mean_wait);
    assert_theory("queue_time L", &api.mean_in_system, theory.mean_in_system);
}

#[test]
fn codel_keeps_the_wait_near_its_interval_under_overload() {
    const INTERVAL_S: f64 = 0.100;
    let r = run_yaml(&shed_yaml("shed: { codel: { target: 5ms, interval: 100ms } }", 1, 300.0));
    let api = &r.services["api"];
    assert!(api.shed.value() > 0.0 && api.dropped.value() > 0.0);
    assert_eq!(api.shed, api.dropped, "CoDel sheds by dropping at dequeue");
    assert_eq!(api.rejected.value(), 0.0, "CoDel admits every arrival");
    assert!(api.utilization.value() >= CODEL_MIN_UTILIZATION, "utilization {}", api.utilization.value());
    let wait = api.mean_wait_s.value();
    assert!(wait <= CODEL_WAIT_INTERVALS * INTERVAL_S, "mean wait {wait}s");
    // The same overload in a plain unbounded FIFO: the line grows all run long.
    let fifo = run_yaml(&shed_yaml("", 1, 300.0));
    let fifo_wait = fifo.services["api"].mean_wait_s.value();
    assert!(wait * CODEL_VS_FIFO_FACTOR < fifo_wait, "CoDel {wait}s vs FIFO {fifo_wait}s");
}

// ---------------------------------------------------------------------------------------
// 4. Adaptive concurrency limits
// ---------------------------------------------------------------------------------------

/// `{INSTANCES}` instances of 4 workers (400/s each) with limit `{LIMIT}`, at `{RATE}`.
const LIMITED: &str = "
name: concurrency
duration: 2m
warmup: 10s
replications: 4
seed: 3
services:
  api:
    servers: 4
    instances: {INSTANCES}
    service_time: { exponential: { mean: 10ms } }
    concurrency_limit: { {LIMIT} }
workloads:
  - { name: u, target: api, arrivals: { poisson: { rate: {RATE}/s } } }
";

fn limited(limit: &str, instances: u32, rate: f64) -> Report {
    run_yaml(
        &LIMITED
            .replace("{LIMIT}", limit)
            .replace("{INSTANCES}", &instances.to_string())
            .replace("{RATE}", &rate.to_string()),
    )
}

#[test]
fn aimd_bounds_in_flight_and_rejects_the_excess() {
    let (min, max) = (5.0, 60.0);
    // Two instances, each offered 1.5x its capacity, unbounded queues.
    for limit in ["aimd: { initial: 20, min: 5, max: 60 }", "aimd: { initial: 20, min: 5, max: 60, timeout: 100ms }"] {
        let r = limited(limit, 2, 1200.0);
        let api = &r.services["api"];
        let per_instance = api.mean_in_system.value() / 2.0;
        assert!(per_instance <= max, "{limit}: {per_instance} in flight per instance");
        assert!(api.concurrency_limited.value() > 0.0, "{limit}");
        assert_eq!(api.rejected, api.concurrency_limited, "{limit}");
        let final_limit = api.concurrency_limit.expect("a limit is reported").value();
        assert!((min..=max).contains(&final_limit), "{limit}: final limit {final_limit}");
    }
    // A 100ms timeout counts slow requests as drops: the limit backs off well below max.
    let r = limited("aimd: { initial: 20, min: 5, max: 60, timeout: 100ms }", 2, 1200.0);
    assert!(r.services["api"].mean_in_system.value() / 2.0 < AIMD_TIMEOUT_IN_FLIGHT_SHARE * max);
    // Light load: nothing is limited.
    let r = limited("aimd: { initial: 20, min: 5, max: 60 }", 2, 300.0);
    assert_eq!(r.services["api"].concurrency_limited.value(), 0.0);
}

#[test]
fn gradient_lowers_the_limit_when_latency_rises() {
    let max = 100.0;
    let limit = "gradient: { initial: 100, min: 4, max: 100 }";
    // At 75% load the limit is never used (in flight < limit / 2): it stays at max.
    let light = limited(limit, 1, 300.0);
    let api = &light.services["api"];
    assert_eq!(api.concurrency_limit.expect("reported").value(), max);
    assert_eq!(api.concurrency_limited.value(), 0.0);
    // At 97.5% load queues and latency grow: the limit comes down and sheds the excess.
    let heavy = limited(limit, 1, 390.0);
    let api = &heavy.services["api"];
    let final_limit = api.concurrency_limit.expect("reported").value();
    assert!(final_limit < GRADIENT_MAX_SHARE * max, "final limit {final_limit}");
    assert!(final_limit >= 4.0);
    assert!(api.concurrency_limited.value() > 0.0);
}

// ---------------------------------------------------------------------------------------
// 5. Degradation
// ---------------------------------------------------------------------------------------

/// A shop whose workers wait for an optional recommendation call, overloaded from 60s to
/// 120s (500/s against about 260/s of capacity), at 150/s before and after.
const LADDER: &str = "
name: degradation
duration: 6m
warmup: 30s
replications: 4
seed: 9
window: 10s
services:
  shop:
    servers: 8
    capacity: 64
    service_time: { exponential: { mean: 20ms } }
    calls:
      - { to: recs, optional: true }
    degradation: { interval: 1s, min_dwell: 10s }
  recs:
    servers: 4
    service_time: { exponential: { mean: 10ms } }
workloads:
  - name: users
    target: shop
    arrivals:
      poisson:
        profile:
          - { at: 0s, rate: 150/s }
          - { at: 60s, rate: 500/s }
          - { at: 120s, rate: 150/s }
";

#[test]
fn degradation_steps_down_under_overload_and_restores() {
    const CALM_BEFORE_S: f64 = 60.0;
    const EPISODE_END_S: f64 = 120.0;
    const SETTLED_AFTER_S: f64 = 240.0;
    let r = run_yaml(LADDER);
    let shop = &r.services["shop"];
    let d = shop.degradation.as_ref().expect("degradation is reported");
    assert!(d.transitions.value() >= 2.0, "down and back up: {:?}", d.transitions);
    let degraded_time: f64 = d.time_in_level_s.iter().filter(|(k, _)| *k != "full").map(|(_, v)| v.value()).sum();
    assert!(degraded_time > 0.0);
    assert!(d.mean_value.value() < 1.0);
    // Full service before the episode and again after it.
    let full = d.time_in_level_s["full"].value();
    assert!(full > CALM_BEFORE_S, "{full}s at full: never restored");
    assert!(full + degraded_time > r.duration_s - 1e-6);

    let users = &r.workloads["users"];
    assert!(users.degraded.value() > 0.0);
    assert!(users.value_per_request.value() < 1.0);
    // Optional calls are skipped while degraded: recs sees only the full-level requests.
    let calls = r.edges["shop->recs"].calls.value();
    assert!(calls < users.requests.value() - users.degraded.value() / 2.0, "calls {calls}");
    let ok = users.ok.value();
    assert!((calls - ok).abs() / ok < CALLS_VS_OK_REL_TOL, "calls {calls} vs ok {ok}");

    // The timeline: the episode shows degraded answers, the last windows none.
    let t = &users.timeline;
    let first_settled = (SETTLED_AFTER_S / t.window_s) as usize;
    let episode = (CALM_BEFORE_S / t.window_s) as usize..(EPISODE_END_S / t.window_s) as usize;
    assert!(episode.clone().any(|i| t.degraded[i] > 0.0));
    for i in first_settled..t.requests.len() {
        assert_eq!(t.degraded[i], 0.0, "window {i} still degraded");
        assert!(t.ok[i] >= RESTORED_OK_SHARE * t.requests[i], "window {i}: ok {} of {}", t.ok[i], t.requests[i]);
    }
}

// ---------------------------------------------------------------------------------------
// 6. Determinism
// ---------------------------------------------------------------------------------------

/// Every server-side policy at once, each of them acting.
const ALL_POLICIES: &str = "
name: server-policies-determinism
duration: 1m
warmup: 10s
replications: 4
seed: 17
services:
  gateway:
    instances: 2
    load_balancer: power_of_two
    service_time: { lognormal: { mean: 3ms, sd: 4ms } }
    rate_limit: { rate: 900/s, burst: 40, scope: service }
    concurrency_limit: { gradient: { initial: 40, min: 5, max: 80 } }
    pools:
      vip: { servers: 4, capacity: 16, classes: [vip] }
      rest: { servers: 4, capacity: 16 }
    calls:
      - { to: orders }
      - { to: recs, optional: true }
    degradation:
      interval: 1s
      min_dwell: 3s
      levels:
        - { name: full, value: 1.0 }
        - { name: lite, value: 0.7, enter: { p99: 120ms }, exit: { p99: 80ms } }
        - { name: core, value: 0.3, enter: { p99: 300ms, error_rate: 0.2 }, exit: { p99: 200ms, error_rate: 0.1 } }
  orders:
    servers: 3
    instances: 2
    load_balancer: least_outstanding
    service_time: { exponential: { mean: 9ms } }
    shed: { codel: { target: 5ms, interval: 50ms } }
    concurrency_limit: { aimd: { initial: 8, min: 3, max: 12, timeout: 30ms } }
  recs:
    servers: 2
    service_time: { exponential: { mean: 8ms } }
    shed: { queue_length: { max: 4 } }
  batch:
    service_time: { exponential: { mean: 20ms } }
    shed: { queue_time: { max_wait: 40ms } }
    pools:
      nightly: { servers: 2, classes: [batch] }
workloads:
  - name: vips
    class: vip
    target: gateway
    arrivals: { poisson: { profile: [ { at: 0s, rate: 200/s }, { at: 20s, rate: 700/s }, { at: 40s, rate: 200/s } ] } }
  - { name: users, target: gateway, arrivals: { poisson: { rate: 400/s } } }
  - { name: jobs, class: batch, target: batch, arrivals: { poisson: { rate: 130/s } } }
";

#[test]
fn every_server_policy_on_gives_identical_bytes_whatever_the_threads() {
    let model = scenario(ALL_POLICIES).model;
    let one = resim::run(&model, &RunOptions { jobs: Some(1) });
    let two = resim::run(&model, &RunOptions { jobs: Some(2) }).to_json();
    assert_eq!(one.to_json(), two, "thread count changed the report");
    assert_eq!(resim::run(&model, &RunOptions { jobs: Some(2) }).to_json(), two, "a second run changed the report");
    // The check is not vacuous: every policy acted.
    let s = &one.services;
    assert!(s["gateway"].rate_limited.value() > 0.0, "rate limit");
    assert!(s["gateway"].concurrency_limited.value() > 0.0, "gradient limit");
    assert!(s["gateway"].degradation.as_ref().expect("levels").transitions.value() > 0.0, "degradation");
    assert!(s["orders"].dropped.value() > 0.0, "codel");
    assert!(s["orders"].concurrency_limited.value() > 0.0, "aimd limit");
    assert!(s["recs"].shed.value() > 0.0, "queue_length");
    assert!(s["batch"].shed.value() > 0.0, "queue_time");
    assert!(s["gateway"].pools["vip"].arrivals.value() > 0.0 && s["gateway"].pools["rest"].arrivals.value() > 0.0);
}

// ---------------------------------------------------------------------------------------
// 7. Bad input
// ---------------------------------------------------------------------------------------

/// A valid scenario: `{API}` is the body of service `api`, indented by four spaces.
const BASE: &str = "
name: bad
duration: 1m
services:
  api:
{API}
workloads:
  - { name: c, class: critical, target: api, arrivals: { poisson: { rate: 10/s } } }
  - { name: n, class: normal, target: api, arrivals: { poisson: { rate: 10/s } } }
";

/// The error of loading `BASE` with service body `api`.
fn refused(api: &str) -> ScenarioError {
    let body: String = api.trim().lines().map(|l| format!("    {}\n", l.trim_end())).collect();
    let yaml = BASE.replace("{API}\n", &body);
    refusal(&yaml)
}

const EXP: &str = "service_time: { exponential: { mean: 10ms } }";

#[test]
fn bad_server_side_keys_are_refused_clearly() {
    let e = refused(&format!("{EXP}\nservers: 4\npools:\n  a: {{ servers: 2, classes: [critical] }}"));
    assert_error(&e, "services.api.pools", &["`servers` and `capacity` on each pool"]);

    let e = refused(&format!("{EXP}\npools:\n  a: {{ servers: 2 }}\n  b: {{ servers: 2 }}"));
    assert_error(&e, "services.api.pools.b.classes", &["`a` and `b` both take every other class"]);

    let e = refused(&format!(
        "{EXP}\npools:\n  a: {{ servers: 2, classes: [critical] }}\n  b: {{ servers: 2, classes: [normal, critical] }}"
    ));
    assert_error(&e, "services.api.pools.b.classes", &["class `critical` is assigned to two pools"]);

    let e = refused(&format!("{EXP}\npools:\n  a: {{ servers: 2, classes: [critcal] }}"));
    assert_error(
        &e,
        "services.api.pools.a.classes.0",
        &["no workload has class `critcal`", "did you mean `critical`?"],
    );

    let e = refused(&format!("{EXP}\nconcurrency_limit: {{ aimd: {{ initial: 20, min: 50, max: 10 }} }}"));
    assert_error(&e, "services.api.concurrency_limit.aimd", &["min (50)", "max (10)"]);
    let e = refused(&format!("{EXP}\nconcurrency_limit: {{ gradient: {{ min: 30, max: 20 }} }}"));
    assert_error(&e, "services.api.concurrency_limit.gradient", &["min (30)", "max (20)"]);

    let e = refused("service_time: { pareto: { shape: 0.8, scale: 1ms } }\nshed: { queue_time: { max_wait: 50ms } }");
    assert_error(&e, "services.api.shed.queue_time", &["known mean", "queue_length"]);

    let e = refused(&format!("{EXP}\ndegradation: {{ levels: [ {{ name: full, value: 1.0 }} ] }}"));
    assert_error(&e, "services.api.degradation.levels", &["between 2 and 16 levels"]);

    let e = refused(&format!("{EXP}\ndegradation: {{ interval: 0s }}"));
    assert_error(&e, "services.api.degradation.interval", &["longer than 0"]);
}

// ---------------------------------------------------------------------------------------
// Regressions: engine bugs found by these tests (failed at 3fa5eff, fixed in eb50fc5)
// ---------------------------------------------------------------------------------------

/// Gold and a catch-all pool on two round-robin instances; the catch-all's load is `{RATE}`.
const FLOOD_TWO_INSTANCES: &str = "
name: pools-flood-rr
duration: 5m
warmup: 10s
replications: 10
seed: 3
services:
  api:
    instances: 2
    service_time: { exponential: { mean: 10ms } }
    pools:
      gold: { servers: 1, capacity: 3, classes: [gold] }
      rest: { servers: 1, capacity: 3 }
workloads:
  - { name: g, class: gold, target: api, arrivals: { poisson: { rate: 160/s } } }
  - { name: s, target: api, arrivals: { poisson: { rate: {RATE}/s } } }
";

/// Regression: the round-robin counter was shared by all pools of a service, so a flood of
/// one class changed how another class's requests spread over the instances (gold's
/// blocking rose from 12.4% to 16.9%).
#[test]
fn round_robin_isolates_pools_across_instances() {
    let calm = Sim::run(&FLOOD_TWO_INSTANCES.replace("{RATE}", "1"));
    let flood = Sim::run(&FLOOD_TWO_INSTANCES.replace("{RATE}", "2000"));
    let (a, b) = (&calm.service("api").pools["gold"], &flood.service("api").pools["gold"]);
    assert_eq!(a.arrivals, b.arrivals);
    assert_same("gold blocking", &calm.pool_blocking("api", "gold"), &flood.pool_blocking("api", "gold"));
    assert_same("gold L", &a.mean_in_system, &b.mean_in_system);
}

/// Regression: queue-time shedding divided by the servers of the alphabetically first pool
/// for every pool (pool `b`, 8 workers, waited 5.4ms instead of about 50ms).
#[test]
fn queue_time_shedding_uses_each_pools_own_servers() {
    // Pool `b` (8 workers) overloaded 1.5x; pool `a` (1 worker) nearly idle.
    let pooled = run_yaml(
        "
name: shed-pools
duration: 2m
warmup: 10s
replications: 4
seed: 3
services:
  api:
    service_time: { exponential: { mean: 10ms } }
    shed: { queue_time: { max_wait: 50ms } }
    pools:
      a: { servers: 1, classes: [a] }
      b: { servers: 8 }
workloads:
  - { name: wa, class: a, target: api, arrivals: { poisson: { rate: 1/s } } }
  - { name: wb, target: api, arrivals: { poisson: { rate: 1200/s } } }
",
    );
    // The same pool as a plain service: admit while queue · 10ms / 8 <= 50ms.
    let plain = run_yaml(
        "
name: shed-plain
duration: 2m
warmup: 10s
replications: 4
seed: 3
services:
  api:
    servers: 8
    service_time: { exponential: { mean: 10ms } }
    shed: { queue_time: { max_wait: 50ms } }
workloads:
  - { name: wb, target: api, arrivals: { poisson: { rate: 1200/s } } }
",
    );
    let (p, q) = (pooled.services["api"].mean_wait_s.value(), plain.services["api"].mean_wait_s.value());
    println!(
        "queue-time shedding: pooled Wq {:?}, plain {:?}",
        pooled.services["api"].mean_wait_s, plain.services["api"].mean_wait_s
    );
    assert!(q > PLAIN_SHED_WAIT_MIN_S, "plain service waits {q}s");
    assert!((p - q).abs() / q < POOLED_VS_PLAIN_WAIT_REL, "pooled service waits {p}s, plain {q}s");
}

/// Regression: the degradation tick at the warm-up's end read utilization 0 (the busy
/// integral had just been reset), so a service overloaded throughout stepped back to
/// `full` for one interval (1 s in full, 2 transitions).
#[test]
fn constant_overload_stays_degraded_across_the_warmup() {
    // The warm-up (10s) is a multiple of the interval (1s): a tick falls on its very end.
    let r = run_yaml(
        "
name: deg-warmup
duration: 60s
warmup: 10s
replications: 2
seed: 9
services:
  shop:
    servers: 4
    capacity: 20
    service_time: { exponential: { mean: 20ms } }
    degradation:
      interval: 1s
      min_dwell: 0s
      levels:
        - { name: full, value: 1.0 }
        - { name: low, value: 0.5, enter: { utilization: 0.9 }, exit: { utilization: 0.8 } }
workloads:
  - { name: users, target: shop, arrivals: { poisson: { rate: 400/s } } }
",
    );
    let shop = &r.services["shop"];
    assert!(shop.utilization.value() > SATURATED_UTILIZATION_MIN, "overloaded throughout");
    let d = shop.degradation.as_ref().expect("levels");
    assert_eq!(d.time_in_level_s["full"].value(), 0.0, "left `low` during the measured window");
    assert_eq!(d.transitions.value(), 0.0);
}
