//! Crash faults: the survivors of a crash behave as M/M/c/K stations sharing the load, the
//! work inside is lost, the instance restarts, a cold start slows it for exactly its `for`;
//! and the engine bugs crashes exposed (kept ignored until fixed).

use resim::metrics::Outcome;

use super::{assert_exact, station};
use crate::common::{Sim, assert_binomial, assert_theory};

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
/// W of the partly cold run against the windows' worked mix of 30 ms and 10 ms: three requests
/// started in the last 30 ms of the cold period would move it by 1.2e-5 s. Lets through ~12
/// requests given the wrong speed at the cold period's end.
const COLD_W_ABS_S: f64 = 5e-5;
/// ... and well between the warm and the cold W: two fifths of ~5,000 completions at 30 ms give
/// 0.018 s. Lets through anything the check above would; it only shows the scale.
const COLD_W_BAND_S: std::ops::Range<f64> = 0.015..0.021;

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
            r.workloads[w].outcome_windows()[range].iter().map(|c| c[Outcome::Ok as usize]).sum()
        };
        let (cold, all) = (ok(1..3), ok(0..6));
        let expected = 0.010 + 0.020 * cold / all;
        let got = r.services[s].mean_sojourn.expect("completions");
        assert!((got - expected).abs() < COLD_W_ABS_S, "replication {k}: W {got:.6}, expected {expected:.6}");
        assert!(COLD_W_BAND_S.contains(&got), "replication {k}: W {got:.6}");
    }
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
            r.workloads[w].outcome_windows()[range.clone()].iter().map(|c| c[Outcome::Ok as usize]).sum::<f64>()
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

/// Little's law, L = departures x W, as the report states it (issue: within 1%; 0.1% measured
/// without crashes). Lets through lost requests missing from departures when they are under 1%.
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
