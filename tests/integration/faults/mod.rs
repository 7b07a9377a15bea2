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

mod crash;
mod determinism;
mod examples;
mod input;
mod load;
mod responses;

use resim::report::Statistic;
use resim::report::summary::ServiceSummary;
use resim::theory::{StationTheory, mmck};

use crate::common::{Sim, Z};

/// A sojourn that fixed times make exact (constant service, constant added latency), up to
/// the nanosecond clock's rounding, in seconds.
const EXACT_S: f64 = 1e-6;
/// Random onsets: the active fraction against `mttr / (mtbf + mttr)` when the 95% CI misses
/// (the 2%). Lets through repair or failure times 2% off their means.
const ACTIVE_FRACTION_REL_TOL: f64 = 0.02;
/// Random onsets: activations against `duration / (mtbf + mttr)` when the 95% CI misses (the
/// issue's 2%). Lets through a cycle 2% too long or short, e.g. one draw lost per 50.
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
