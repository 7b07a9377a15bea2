//! Blast radius: each fault against a counterfactual run without it, on the same streams.

use resim::{RunOptions, run_replications};

use crate::common::{Sim, assert_error, example, refusal, scenario};

/// Two workloads on disjoint paths; an error fault on the buyers' database.
const TWO_PATHS: &str = r#"
name: two-paths
duration: 10m
warmup: 1m
replications: 4
seed: 3
window: 30s
services:
  shop:
    servers: 8
    capacity: 100
    service_time: { exponential: { mean: 5ms } }
    calls: [ { to: db, timeout: 500ms } ]
  db: { servers: 4, capacity: 100, service_time: { exponential: { mean: 10ms } } }
  search:
    servers: 4
    capacity: 100
    service_time: { exponential: { mean: 10ms } }
    calls: [ { to: index } ]
  index: { servers: 4, service_time: { exponential: { mean: 5ms } } }
workloads:
  - { name: buyers, target: shop, arrivals: { poisson: { rate: 200/s } } }
  - { name: browsers, target: search, arrivals: { poisson: { rate: 200/s } } }
faults:
  - { name: db-errors, kind: error, target: db, probability: 0.3, at: 3m, for: 2m }
"#;

/// The extra failures of the buyers during the fault, 7200 = 0.3 × 24,000 calls, may be off
/// by this share when their CI misses it: binomial sd √(24,000·0.3·0.7) = 71 (1%) per
/// replication, 0.5% over 4. Lets through a bias under 2% (a missed or double-counted
/// window edge of ~1.5 s).
const EXTRA_FAILED_REL: f64 = 0.02;
/// The SLI change during the fault (0.3, the error probability): sd √(0.3·0.7/96,000) =
/// 0.0015 over the 4 replications' 96,000 calls, so 0.01 is ~7 sd. Lets through ±1 point.
const SLI_CHANGE_ABS: f64 = 0.01;

#[test]
fn damage_is_attributed_to_the_workload_that_depends_on_the_fault() {
    let sim = Sim::run(TWO_PATHS);
    let [b] = sim.report.blast_radius.as_slice() else { panic!("one blast radius per fault") };
    assert_eq!(b.fault, "db-errors");
    assert_eq!(b.window_s, Some([180.0, 300.0]));
    // Errors stop with the fault: nothing queues up, so the damage ends with it.
    assert_eq!(b.recovered, Some(true));
    assert_eq!(b.time_to_recover_s, Some(0.0));
    assert!(!b.metastable);
    assert_eq!(b.replications_not_recovered, Some(0));
    assert_eq!(b.impact_s, [180.0, 300.0]);
    // 30% of the buyers' calls in the 120 s window fail: 0.3 × 200/s × 120 s = 7200.
    let buyers = &b.workloads["buyers"];
    let failed = &buyers.extra_failed;
    println!("buyers: extra failed {:?}, change {:?}", failed, buyers.sli_change);
    assert!(failed.covers(7200.0) || (failed.value() - 7200.0).abs() < EXTRA_FAILED_REL * 7200.0, "{failed:?}");
    assert!((buyers.sli_change.value() - 0.3).abs() < SLI_CHANGE_ABS);
    // The browsers share nothing with the fault: the same streams give the same run.
    let browsers = &b.workloads["browsers"];
    assert_eq!(browsers.extra_failed.value(), 0.0);
    assert_eq!(browsers.extra_slowed.value(), 0.0);
    assert_eq!(browsers.sli_change.ci95, Some([0.0, 0.0]));
    assert!(!browsers.affected);
    assert_eq!(b.affected_workloads, ["buyers"]);
    assert_eq!(b.affected_services, ["db", "shop"]);
    assert_eq!(b.scope, ["db"]);
    assert_eq!(b.spread_to, ["shop"]);
    assert!(!b.contained);
    for s in ["search", "index"] {
        assert_eq!(b.services[s].extra_failed.value(), 0.0, "{s}");
    }
    // The per-window series is zero outside the fault's windows (6..10).
    let w = &b.extra_bad_per_window["buyers"];
    assert!(w[..6].iter().chain(&w[10..]).all(|&x| x == 0.0), "{w:?}");
    assert!(w[6..10].iter().all(|&x| x > 1000.0), "{w:?}");
}

/// The counterfactual is the scenario with the fault switched off: byte-identical results.
#[test]
fn the_counterfactual_equals_the_scenario_without_the_fault() {
    for fault in [
        "{ name: f, kind: error, target: db, probability: 0.3, at: 3m, for: 2m",
        "{ name: f, kind: spike, target: buyers, factor: 3, at: 3m, for: 2m",
        "{ name: f, kind: crash, target: db, mtbf: 2m, mttr: 20s",
    ] {
        let yaml = |extra: &str| {
            TWO_PATHS.replace(
                "  - { name: db-errors, kind: error, target: db, probability: 0.3, at: 3m, for: 2m }",
                &format!("  - {fault}{extra} }}"),
            )
        };
        let with = scenario(&yaml("")).model;
        let off = scenario(&yaml(", enabled: false")).model;
        let opts = RunOptions::default();
        let a = resim::Report::build(&with, &run_replications(&with.without_fault(0), &opts));
        let b = resim::Report::build(&off, &run_replications(&off, &opts));
        let json =
            |r: &resim::Report| serde_json::to_string(&(&r.services, &r.workloads, &r.edges, &r.engine)).expect("json");
        assert_eq!(json(&a), json(&b), "{fault}");
    }
}

#[test]
fn a_retry_storm_outlives_its_trigger_and_a_budget_ends_it() {
    let sets = ["duration=12m", "replications=2"];
    let storm = example("retry-storm.yaml", &sets);
    let b = &storm.report.blast_radius[0];
    println!("storm: recovered {:?}, metastable {}", b.recovered, b.metastable);
    assert!(b.metastable && b.recovered == Some(false) && b.time_to_recover_s.is_none());
    assert_eq!(b.replications_not_recovered, Some(2), "each replication is stuck on its own");
    assert_eq!(b.impact_s, [300.0, 720.0], "counted to the end of the run");
    // events.jsonl tells the incident in order: the surge, then the page it caused.
    let log: Vec<serde_json::Value> =
        storm.report.events_jsonl().lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let at = |kind: &str| log.iter().position(|e| e["type"] == kind).unwrap_or_else(|| panic!("no {kind}"));
    assert!(at("fault_start") < at("alert_fired"));
    let page = &log[at("alert_fired")];
    assert_eq!((page["fault"].as_str(), page["severity"].as_str()), (Some("surge"), Some("page")));
    let budget = "services.frontend.calls.0.retry.budget={ ratio: 0.1, min_per_s: 10 }";
    let fixed = example("retry-storm.yaml", &[sets[0], sets[1], budget]);
    let b = &fixed.report.blast_radius[0];
    println!("budget: recovered {:?} after {:?} s", b.recovered, b.time_to_recover_s);
    assert!(!b.metastable);
    assert_eq!(b.replications_not_recovered, Some(0));
    let t = b.time_to_recover_s.expect("recovers");
    assert!(t > 0.0 && t <= 180.0, "{t}");
    assert!(b.impact_s[1] < 720.0);
}

#[test]
fn random_faults_are_judged_over_the_whole_run() {
    let yaml = TWO_PATHS.replace("at: 3m, for: 2m", "mtbf: 2m, mttr: 20s");
    let sim = Sim::run(&yaml);
    let b = &sim.report.blast_radius[0];
    assert_eq!(b.window_s, None);
    assert_eq!(b.impact_s, [0.0, 600.0]);
    assert_eq!((b.recovered, b.time_to_recover_s, b.metastable), (None, None, false));
    assert_eq!(b.replications_not_recovered, None);
    assert!(b.workloads["buyers"].affected);
    assert_eq!(b.workloads["browsers"].extra_failed.value(), 0.0);
}

#[test]
fn the_analysis_can_be_switched_off_and_its_settings_are_checked() {
    let off = format!("{TWO_PATHS}blast_radius: {{ enabled: false }}\n");
    assert!(Sim::run(&off).report.blast_radius.is_empty());
    let loose = format!("{TWO_PATHS}blast_radius: {{ sli_threshold: 50%, recovery_tolerance: 0.05 }}\n");
    let b = &Sim::run(&loose).report.blast_radius[0];
    assert!(b.affected_workloads.is_empty(), "30% errors are below a 50% threshold");
    let e = refusal(&format!("{TWO_PATHS}blast_radius: {{ sli_threshold: 0 }}\n"));
    assert_error(&e, "blast_radius.sli_threshold", &["above 0"]);
    let e = refusal(&format!("{TWO_PATHS}blast_radius: {{ recovery_tolerence: 1% }}\n"));
    assert!(e.to_string().contains("recovery_tolerance"), "{e}");
    let no_faults = TWO_PATHS.split("faults:").next().expect("head").to_string();
    assert!(Sim::run(&no_faults).report.blast_radius.is_empty());
}
