//! Property tests (proptest) over generated valid scenarios.
//!
//! A strategy draws a random scenario — 1–5 services with random servers, capacity,
//! instances, balancers, service-time distributions of every family, synchronous calls
//! forming a DAG (service `s<i>` only calls `s<j>` with j > i) in sequential and
//! `parallel` steps with random client policies, routes that may loop but always leave
//! an exit (a case whose loop requests would leave too rarely is refused and skipped),
//! server-side policies, recovery mechanisms, 1–3 workloads (Poisson rate or
//! profile, or closed) and faults of every kind on valid targets — and writes it as YAML
//! text. The YAML is loaded with `load_str`, run, and the report is held to invariants
//! that hold for every scenario, not only for the ones theory covers:
//!
//! 1. a generated scenario always loads (otherwise the generator is wrong), and running
//!    it, rendering its summary and its JSON never panics;
//! 2. per workload, the outcomes add up to `requests`, and `requests <= arrivals`;
//! 3. per service, requests are conserved: every arrival completed, was dropped, lost,
//!    rejected or refused by a crashed instance, or is still inside at the end, and what
//!    is inside is bounded by the capacity; the sub-counters add up to `rejected`;
//! 4. Little's law per service, for the station and for its queue, with the exact
//!    finite-horizon bound derived below (no L = Lq + busy: that is how L is computed);
//! 5. per edge, calls, attempts, retries and outcomes account for each other;
//! 6. the report is byte-identical with 1 and 2 threads, and another seed changes it.
//!
//! Counts are exact per replication, so every check is made on a one-replication report
//! of each replication (`Report::build` over one summary) and, for the linear ones, on
//! the report of all replications (whose means must satisfy the same linear relations).
//!
//! Warm-up matters: every counter restarts at the end of the warm-up, so a request that
//! arrived before it and finishes after it is counted as finished but not as arrived.
//! Inequalities such as `requests <= arrivals` hold exactly only without a warm-up; with
//! one, what is checked is the two-sided version bounded by what can be inside.
//!
//! Some cases are `lockstep`: every service and think time is a round constant, so events
//! coincide (ties in the event queue, answers at exactly the end of the run).
//!
//! Cases are capped (128 per property; `PROPTEST_CASES` overrides it) and the proptest
//! seed is fixed so CI is reproducible; set `PROPTEST_RNG_SEED` to explore others. On
//! failure the message holds the scenario YAML proptest shrank to. No regression files
//! are written: what the properties found is kept below as regression tests.
//!
//! Product bugs these properties found are fixed, and their minimal scenarios stay as
//! regression tests: [`CRASH_WITH_A_ROUTE_BACK`] (a crash resumed a caller whose call had
//! been routed back into the crashed instance) and [`OUTCOME_AT_THE_END`] (an outcome at
//! exactly the end of the run was missing from the timeline). Every property, determinism
//! included, runs on every scenario the generator writes, those triggers included; the
//! wider properties run on more cases from another seed. `properties_generator_covers_the_format`
//! reports, per feature and per group, in how many of the cases drawn it appears (run it
//! with `--nocapture`), and fails when one never does.
//!
//! Run: `cargo test --release --test integration -- properties`.

mod checks;
mod generator;
mod policies;
mod render;

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use resim::RunOptions;
use resim::report::render_summary;
use resim::scenario::load_str;

use self::checks::{
    each, edge_accounting, in_flight, littles_law, service_conservation, simulate, timeline, v, workload_outcomes,
};
use self::generator::{Case, case};
use self::render::Meta;
use crate::common::DIST_KINDS;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        // Minimal failing scenarios go into the failure message (and into a regression
        // test by hand); no files are written next to the sources.
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(20_250_601),
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// 1. A generated scenario loads; running it and rendering its report never panic.
    #[test]
    fn properties_generated_scenarios_load_and_run(case in case()) {
        let sim = simulate(&case)?;
        let json = sim.all.to_json();
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(&json);
        prop_assert!(parsed.is_ok(), "report.json is not JSON\n{}", sim.yaml);
        let _ = render_summary(&sim.all);
        let _ = sim.all.events_jsonl();
        prop_assert_eq!(sim.reps.len(), case.replications as usize);
        for f in &sim.all.faults {
            prop_assert!(
                v(&f.active_s) <= sim.all.duration_s + 1e-9 && (0.0..=1.0 + 1e-9).contains(&v(&f.active_fraction)),
                "fault {} active for {} s of {}\n{}", f.name, v(&f.active_s), sim.all.duration_s, sim.yaml
            );
        }
    }

    /// 2. Per workload: the outcomes add up to `requests`, and `requests <= arrivals`.
    #[test]
    fn properties_workload_outcomes_add_up(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, single| workload_outcomes(r, &sim.meta, single))?;
    }

    /// 3. Per service: arrivals are conserved and the refusal counters add up.
    #[test]
    fn properties_service_conservation(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, _| service_conservation(r, &sim.meta))?;
    }

    /// 4. Little's law per service, per replication.
    #[test]
    fn properties_littles_law(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, false, |r, _| littles_law(r, &sim.meta))?;
    }

    /// 5. Per edge: calls, attempts, retries and outcomes account for each other.
    #[test]
    fn properties_edge_accounting(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, _| edge_accounting(r, &sim.meta))?;
    }

    /// 7. Every permit a client-side policy hands out (bulkhead permit or place in its
    /// queue, half-open trial, budget slot) is held by a call in flight or was given
    /// back, whatever ended the attempts: answers, timeouts, cancels, crashes.
    #[test]
    fn properties_permits_come_back(case in case()) {
        let sim = simulate(&case)?;
        prop_assert!(sim.unaccounted_permits.iter().all(|&n| n == 0), "permits unaccounted for {:?}\n{}", sim.unaccounted_permits, sim.yaml);
    }

    /// 6. Same scenario: the same bytes on 1 and 2 threads. Another seed: another report,
    /// whenever a continuous service time was drawn at all.
    #[test]
    fn properties_deterministic(case in case()) {
        let (yaml, meta) = case.render();
        let model = checks::load(&yaml)?.model;
        let one = resim::run(&model, &RunOptions { jobs: Some(1) });
        let two = resim::run(&model, &RunOptions { jobs: Some(2) });
        prop_assert!(one.to_json() == two.to_json(), "1 and 2 threads gave different reports\n{}", yaml);
        let drew = one.services.iter().any(|(name, s)| meta.services[name].continuous && v(&s.completed) > 0.0);
        if drew {
            let other = Case { seed: case.seed.wrapping_add(1), ..case.clone() }.render().0;
            let model = checks::load(&other)?.model;
            let mut b = resim::run(&model, &RunOptions { jobs: Some(2) });
            b.seed = one.seed;
            prop_assert!(one.to_json() != b.to_json(), "another seed gave the same report\n{}", yaml);
        }
    }
}

/// The wider properties over the full generator: more cases.
fn config_wide() -> ProptestConfig {
    ProptestConfig { cases: 300, rng_seed: RngSeed::Fixed(20_250_602), ..config() }
}

proptest! {
    #![proptest_config(config_wide())]

    /// 2b. Per workload: the timeline's windows hold every outcome.
    #[test]
    fn properties_timeline_adds_up(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, _| r.workloads.iter().try_for_each(|(name, w)| timeline(name, w, true)))?;
    }

    /// Properties 2–5 on more cases (another seed).
    #[test]
    fn properties_all_invariants_on_more_cases(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, single| workload_outcomes(r, &sim.meta, single))?;
        each(&sim, true, |r, _| r.workloads.iter().try_for_each(|(name, w)| timeline(name, w, true)))?;
        each(&sim, true, |r, _| service_conservation(r, &sim.meta))?;
        each(&sim, false, |r, _| littles_law(r, &sim.meta))?;
        each(&sim, true, |r, _| edge_accounting(r, &sim.meta))?;
        prop_assert!(sim.unaccounted_permits.iter().all(|&n| n == 0), "permits unaccounted for {:?}\n{}", sim.unaccounted_permits, sim.yaml);
    }
}

/// What the generator writes, looked up in the YAML of each case: every policy, recovery
/// mechanism, workload and fault kind of the format.
/// The distributions are [`DIST_KINDS`].
const FORMAT_KEYS: [&str; 48] = [
    "parallel",
    "optional",
    "probability",
    "timeout",
    "retry",
    "backoff",
    "jitter",
    "budget",
    "consecutive",
    "count_window",
    "time_window",
    "bulkhead",
    "fallback",
    "hedge",
    "rate_limit",
    "routes",
    "pools",
    "queue_length",
    "queue_time",
    "codel",
    "aimd",
    "gradient",
    "degradation",
    "zones",
    "health_check",
    "outlier_ejection",
    "active_passive",
    "active_active",
    "profile",
    "closed",
    "deadline",
    "class",
    "kind: latency",
    "kind: error",
    "kind: partial",
    "kind: crash",
    "kind: zone_outage",
    "kind: capacity",
    "kind: partition",
    "kind: spike",
    "kind: ramp",
    "mtbf",
    "cold_start",
    "random",
    "least_outstanding",
    "power_of_two",
    "scope: service",
    "circuit_breakers",
];

/// Whether a case (with its metadata) has a combination.
type Has = fn(&Case, &Meta) -> bool;

/// Combinations the properties exist for, looked up in a case and its metadata.
const COMBINATIONS: [(&str, Has); 5] = [
    ("crash + route back (CRASH_WITH_A_ROUTE_BACK)", |_, m| m.crashes && m.route_back),
    ("warm-up + finite capacity (Little's law with a warm-up)", |c, m| {
        c.warmup_s > 0 && m.services.values().any(|s| s.bound.is_some())
    }),
    ("no warm-up (exact conservation)", |c, _| c.warmup_s == 0),
    ("lockstep (coinciding events)", |c, _| c.lockstep),
    ("2 replications (linear checks on means)", |c, _| c.replications == 2),
];

/// How many of the `config.cases` cases drawn as `config`'s runner draws them have each
/// feature.
fn coverage(config: ProptestConfig) -> BTreeMap<&'static str, usize> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(config.clone());
    let strategy = case();
    let keys = || DIST_KINDS.iter().chain(&FORMAT_KEYS);
    let mut counts: BTreeMap<&str, usize> =
        keys().chain(COMBINATIONS.iter().map(|(k, _)| k)).map(|&k| (k, 0)).collect();
    for _ in 0..config.cases {
        let case = strategy.new_tree(&mut runner).expect("a case").current();
        let (yaml, meta) = case.render();
        for key in keys().filter(|k| yaml.contains(*k)) {
            *counts.entry(key).or_default() += 1;
        }
        for (name, _) in COMBINATIONS.iter().filter(|(_, has)| has(&case, &meta)) {
            *counts.entry(name).or_default() += 1;
        }
    }
    counts
}

/// The generator's report: per feature, in how many of the cases each group of properties
/// draws (same seed, same count) it appears; each must appear, or the properties above
/// would not exercise it.
#[test]
fn properties_generator_covers_the_format() {
    for (what, config) in [("properties 1-6", config()), ("wider properties", config_wide())] {
        let counts = coverage(config.clone());
        println!("{what}: features over {} cases", config.cases);
        for (feature, n) in &counts {
            println!("  {n:>4}  {feature}");
        }
        let missing: Vec<&str> = counts.iter().filter(|&(_, &n)| n == 0).map(|(&k, _)| k).collect();
        assert!(missing.is_empty(), "{what}: the generator never wrote {missing:?} in {} cases", config.cases);
    }
}

/// Found by `properties_workload_outcomes_add_up` (249 outcomes in the timeline of a
/// workload with 250 requests) and shrunk by hand.
///
/// The measured window is closed, [warm-up, end]: an event at exactly `end` is handled and
/// its outcome counted in `requests`, but the timeline's windows are half-open, and
/// `Timeline::add` drops an outcome whose window index is the number of windows. Here the
/// user's tenth request completes at exactly 20 s.
const OUTCOME_AT_THE_END: &str = "
name: outcome-at-the-end
duration: 20s
services:
  api: { service_time: { constant: { value: 1s } } }
workloads:
  - { name: users, target: api, arrivals: { closed: { users: 1, think_time: { constant: { value: 1s } } } } }
";

#[test]
fn properties_regression_outcome_at_the_end() {
    let model = load_str(OUTCOME_AT_THE_END, Path::new("end.yaml"), &[]).unwrap_or_else(|e| panic!("{e}")).model;
    let r = resim::run(&model, &RunOptions { jobs: Some(1) });
    let w = &r.workloads["users"];
    assert_eq!(v(&w.requests), 10.0);
    assert_eq!(w.timeline.requests.iter().sum::<f64>(), 10.0, "the last completion is missing from the timeline");
}

/// Found by `properties_service_conservation` (utilization 6.2e8 at a crashed service)
/// and shrunk by hand to two services.
///
/// When an instance crashes, `crash_instance` fails the requests inside it one at a time
/// (in slab order), and failing a callee's request answers its caller's call at once. If
/// that caller is inside the same crashed instance — a request it called was routed back
/// to it — and has not been failed yet, it resumes, completes its visit, and releases a
/// worker of the crashed station, whose busy count the crash already set to 0: the `u32`
/// count wraps around (a panic with overflow checks on). From then on the station looks
/// saturated forever: every later arrival waits and is never served, utilization and L
/// are about 4e9, and the caller is counted `completed` instead of `lost`.
const CRASH_WITH_A_ROUTE_BACK: &str = "
name: crash-route-back
duration: 20s
services:
  api:
    service_time: { exponential: { mean: 200us } }
    calls: [ { to: db } ]
  db:
    service_time: { exponential: { mean: 200us } }
    routes: [ { to: api, probability: 0.5 } ]
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 10/s } } }
faults:
  - { kind: crash, target: api, mtbf: 2s, mttr: 100ms }
";

#[test]
fn properties_regression_crash_with_a_route_back() {
    let model = load_str(CRASH_WITH_A_ROUTE_BACK, Path::new("crash.yaml"), &[]).unwrap_or_else(|e| panic!("{e}")).model;
    let r = resim::run(&model, &RunOptions { jobs: Some(1) });
    let api = &r.services["api"];
    assert!(v(&api.utilization) <= 1.0, "utilization {}", v(&api.utilization));
    // Little's law without a warm-up: 0 <= L - λW <= inside at the end, for the station and
    // for its queue (with the busy count wrapped, arrivals waited and were never served).
    for (l, w) in [(&api.mean_in_system, &api.mean_sojourn_s), (&api.mean_queue_length, &api.mean_wait_s)] {
        let gap = v(l) - v(&api.departures_per_s) * v(w);
        assert!((0.0..=in_flight(api) + 1e-9).contains(&gap), "L - λW = {gap}");
    }
}
