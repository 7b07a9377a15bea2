//! `predict` is honest about what it covers: a base scenario whose every station is
//! exact, then each feature that alters a station added ALONE, which must take exactly
//! the stations it touches out of "exact" with a reason naming the feature.
//!
//! The base has an entry M/M/c/K station `front` (two instances behind `random`) routing
//! half its output to `back` (so `back` is a Jackson network node), and an unrelated
//! M/M/c/K station `solo`. A feature on `front` alters `front` and `back` (its output is
//! `back`'s input); one on `back` alters `back` alone (routes are hand-offs: nothing
//! downstream changes `front`'s arrivals); one on `solo` alters `solo` alone.

use std::path::Path;

use super::{Prediction, predict};
use crate::scenario::load_str;

fn scenario(yaml: &str) -> crate::scenario::Scenario {
    load_str(yaml, Path::new("test.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

const BASE: &str = r#"
name: coverage
duration: 10m
warmup: 30s
replications: 2
seed: 1
services:
  front:
    instances: 2
    load_balancer: random
    servers: 2
    service_time: { exponential: { mean: 100ms } }
    routes: [ { to: back, probability: 0.5 } ]
    # FRONT
  back:
    servers: 1
    service_time: { exponential: { mean: 50ms } }
    # BACK
  solo:
    servers: 2
    capacity: 8
    service_time: { exponential: { mean: 100ms } }
    # SOLO
workloads:
  - name: users
    target: front
    arrivals: { poisson: { rate: 10/s } }
    # USERS
  - { name: others, target: solo, arrivals: { poisson: { rate: 10/s } } }
# FAULTS
"#;

/// One row: keys spliced into the base, the services they must take out of theory (every
/// other service must stay exact), and a phrase every such reason must contain.
struct Row {
    what: &'static str,
    edits: &'static [(&'static str, &'static str)],
    outside: &'static [&'static str],
    names: &'static str,
}

const NET: &[&str] = &["front", "back"];
const SOLO: &[&str] = &["solo"];
const BACK: &[&str] = &["back"];

/// Every feature that alters a station, one row each. (A `partition` fault needs a call
/// edge, whose two ends are outside theory already; its row checks the reason is listed.)
const ROWS: &[Row] = &[
    Row {
        what: "latency fault",
        edits: &[("# FAULTS", "faults: [ { kind: latency, target: front, at: 10s, for: 5m, add: 300ms } ]")],
        outside: NET,
        names: "latency fault",
    },
    Row {
        what: "error fault",
        edits: &[("# FAULTS", "faults: [ { kind: error, target: back, at: 10s, for: 5m, probability: 0.1 } ]")],
        outside: BACK,
        names: "error fault",
    },
    // With feedback, `back`'s output is `front`'s input again: both are altered.
    Row {
        what: "a fault on a feedback loop",
        edits: &[
            ("# BACK", "routes: [ { to: front, probability: 0.2 } ]"),
            ("# FAULTS", "faults: [ { kind: latency, target: back, at: 10s, for: 5m, multiply: 3 } ]"),
        ],
        outside: NET,
        names: "latency fault",
    },
    Row {
        what: "partial fault",
        edits: &[("# FAULTS", "faults: [ { kind: partial, target: back, at: 10s, for: 5m, probability: 0.1 } ]")],
        outside: BACK,
        names: "partial fault",
    },
    Row {
        what: "crash fault on one instance",
        edits: &[("# FAULTS", "faults: [ { kind: crash, target: \"front#1\", at: 10s, for: 1m } ]")],
        outside: NET,
        names: "crash fault",
    },
    Row {
        what: "capacity fault",
        edits: &[("# FAULTS", "faults: [ { kind: capacity, target: solo, at: 10s, for: 1m, servers: 1 } ]")],
        outside: SOLO,
        names: "capacity fault",
    },
    Row {
        what: "zone outage",
        edits: &[
            ("# FRONT", "zones: [a, b]"),
            ("# FAULTS", "faults: [ { kind: zone_outage, target: \"zone:a\", at: 10s, for: 1m } ]"),
        ],
        outside: NET,
        names: "zone_outage fault",
    },
    Row {
        what: "spike",
        edits: &[("# FAULTS", "faults: [ { kind: spike, target: users, at: 1m, for: 1m, factor: 2 } ]")],
        outside: NET,
        names: "spike fault",
    },
    Row {
        what: "ramp",
        edits: &[("# FAULTS", "faults: [ { kind: ramp, target: others, at: 1m, for: 1m, factor: 2 } ]")],
        outside: SOLO,
        names: "ramp fault",
    },
    Row {
        what: "partition",
        edits: &[
            ("# SOLO", "calls: [ { to: back, timeout: 1s } ]"),
            ("# FAULTS", "faults: [ { kind: partition, target: \"solo->back\", at: 1m, for: 1m } ]"),
        ],
        outside: &["back", "solo"],
        names: "partition fault",
    },
    Row {
        what: "health checks",
        edits: &[("# FRONT", "health_check: { interval: 10s }")],
        outside: NET,
        names: "health_check",
    },
    Row {
        what: "outlier ejection",
        edits: &[("# BACK", "outlier_ejection: { consecutive_5xx: 5 }")],
        outside: BACK,
        names: "outlier_ejection",
    },
    Row {
        what: "active-passive failover",
        edits: &[("# FRONT", "failover: { active_passive: { heartbeat: 5s, missed: 3 } }")],
        outside: NET,
        names: "failover (active-passive)",
    },
    Row {
        what: "active-active failover",
        edits: &[("# FRONT", "failover: { active_active: { heartbeat: 5s, missed: 3 } }")],
        outside: NET,
        names: "failover (active-active)",
    },
    Row {
        what: "autoscale",
        edits: &[("# BACK", "autoscale: { target_utilization: 0.5, max: 3 }")],
        outside: BACK,
        names: "autoscaled",
    },
    Row {
        what: "prefer_local_zone",
        edits: &[("# FRONT", "zones: [a, b]\n    prefer_local_zone: true"), ("# USERS", "zone: a")],
        outside: NET,
        names: "prefer_local_zone",
    },
    Row {
        what: "deadline_propagation",
        edits: &[("# BACK", "deadline_propagation: true"), ("# USERS", "deadline: 1s")],
        outside: BACK,
        names: "deadline_propagation",
    },
    Row {
        what: "rate limit",
        edits: &[("# SOLO", "rate_limit: { rate: 5/s, burst: 5 }")],
        outside: SOLO,
        names: "server-side policy",
    },
    Row {
        what: "load shedding",
        edits: &[("# SOLO", "shed: { queue_length: { max: 4 } }")],
        outside: SOLO,
        names: "server-side policy",
    },
    Row {
        what: "concurrency limit",
        edits: &[("# FRONT", "concurrency_limit: { aimd: { initial: 10, min: 1, max: 20 } }")],
        outside: NET,
        names: "server-side policy",
    },
    Row {
        what: "degradation",
        edits: &[(
            "# SOLO",
            "degradation: { interval: 5s, levels: [ { name: full, value: 1.0 }, { name: lite, value: 0.5, enter: { utilization: 0.9 }, exit: { utilization: 0.5 } } ] }",
        )],
        outside: SOLO,
        names: "server-side policy",
    },
    Row {
        what: "pools by class",
        edits: &[(
            "servers: 2\n    capacity: 8",
            "pools: { a: { servers: 1, capacity: 4 }, b: { servers: 1, capacity: 4, classes: [default] } }",
        )],
        outside: SOLO,
        names: "pools",
    },
    Row {
        what: "a pool refusing a class",
        edits: &[
            ("servers: 2\n    capacity: 8", "pools: { main: { servers: 2, capacity: 8, classes: [default] } }"),
            ("# FAULTS", "  - { name: vip, target: solo, class: gold, arrivals: { poisson: { rate: 1/s } } }"),
        ],
        outside: SOLO,
        names: "no pool serves class `gold`",
    },
    Row {
        what: "round-robin balancer",
        edits: &[("load_balancer: random", "load_balancer: round_robin")],
        outside: NET,
        names: "balancer",
    },
    Row {
        what: "a time-varying rate",
        edits: &[(
            "target: solo, arrivals: { poisson: { rate: 10/s } }",
            "target: solo, arrivals: { poisson: { profile: [ { at: 0s, rate: 10/s }, { at: 5m, rate: 12/s } ] } }",
        )],
        outside: SOLO,
        names: "time-varying",
    },
    Row {
        what: "a call",
        edits: &[("# SOLO", "calls: [ { to: back } ]")],
        outside: &["back", "solo"],
        names: "synchronous calls",
    },
];

/// `BASE` with `edits` applied (each anchor must occur exactly once).
fn yaml(edits: &[(&str, &str)]) -> String {
    let mut text = BASE.to_string();
    for (anchor, keys) in edits {
        assert_eq!(text.matches(anchor).count(), 1, "anchor `{anchor}` must occur once");
        text = text.replacen(anchor, keys, 1);
    }
    text
}

fn prediction<'p>(ps: &'p [Prediction], service: &str) -> &'p Prediction {
    ps.iter().find(|p| p.service == service).expect("a prediction per service")
}

#[test]
fn the_base_scenario_is_exact_everywhere() {
    let ps = predict(&scenario(&yaml(&[])).model);
    for p in &ps {
        assert!(p.values.is_some(), "{}: {}", p.service, p.note);
    }
    assert_eq!(prediction(&ps, "front").model, Some("M/M/c/K"));
    assert_eq!(prediction(&ps, "back").model, Some("Jackson network"));
    assert_eq!(prediction(&ps, "solo").model, Some("M/M/c/K"));
}

#[test]
fn each_altering_key_alone_takes_the_stations_it_touches_out_of_theory() {
    // Every row is checked and every problem listed, so one run shows them all.
    let mut problems = Vec::new();
    for row in ROWS {
        let model = match load_str(&yaml(row.edits), Path::new("row.yaml"), &[]) {
            Ok(s) => s.model,
            Err(e) => {
                problems.push(format!("{}: the scenario does not load: {e}", row.what));
                continue;
            }
        };
        for p in &predict(&model) {
            if !row.outside.contains(&p.service.as_str()) {
                if p.values.is_none() {
                    problems.push(format!("{}: `{}` should stay exact: {}", row.what, p.service, p.note));
                }
            } else if p.values.is_some() || !p.note.contains(row.names) {
                problems.push(format!(
                    "{}: `{}` should be outside theory naming `{}`: {:?} {}",
                    row.what, p.service, row.names, p.model, p.note
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A workload deadline alone only changes what the user sees (the station serves an
/// abandoned request all the same), and zones alone change nothing: both stay exact.
#[test]
fn keys_that_alter_no_station_keep_it_exact() {
    for edits in [
        &[("# USERS", "deadline: 1s")][..],
        &[("# FRONT", "zones: [a, b]")],
        &[("# BACK", "deadline_propagation: true")],
    ] {
        let ps = predict(&scenario(&yaml(edits)).model);
        assert!(
            ps.iter().all(|p| p.values.is_some()),
            "{edits:?}: {:?}",
            ps.iter().map(|p| &p.note).collect::<Vec<_>>()
        );
    }
}
