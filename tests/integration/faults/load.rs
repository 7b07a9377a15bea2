//! Faults on capacity and load: a capacity fault leaves the reduced station theory
//! predicts, spikes and ramps shape the arrival rate, a zone outage takes the zone's
//! instances down, random onsets are active `mttr / (mtbf + mttr)` of the time.

use std::path::Path;

use resim::metrics::Outcome;
use resim::scenario::load_str;

use super::{ACTIVATIONS_REL_TOL, ACTIVE_FRACTION_REL_TOL, assert_poisson, station};
use crate::common::{Sim, assert_binomial, assert_error, assert_theory};

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

/// Requests that arrive within 1 ms of a window's end finish in the next one (0.02 expected per
/// window edge at 20/s, so 2 is generous). Lets through a spike starting or ending a tenth of a
/// second off, which moves a window by 2 to 6 requests.
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
