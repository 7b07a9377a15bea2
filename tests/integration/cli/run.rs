//! `resim run`: its summary, its outputs and nothing else, the keys of `report.json`, and
//! how seeds, replications, `--set`, `--jobs` and the output folder act on them.

use std::collections::BTreeSet;
use std::fs;

use serde_json::Value;

use super::{
    PERCENTILES, SHORT, assert_mentions, assert_refused, assert_statistic, example, get, listing, outputs, path_str,
    report_text, resim, run_example, tempdir,
};

// ---------------------------------------------------------------------------------------------------------------
// resim run
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn run_prints_a_summary_and_writes_its_outputs_only() {
    let (o, dir, report) = run_example("mmck-basic.yaml", &[]);
    for needle in ["mmck-basic", "seed 7", "2 replications", "Workloads", "Services", "users", "api", "db", "report:"] {
        assert!(o.stdout.contains(needle), "summary should mention {needle:?}:\n{}", o.stdout);
    }
    assert_eq!(listing(&dir.path().join("out")), outputs(), "leftover files");
    assert_eq!(listing(dir.path()), BTreeSet::from(["out".to_owned()]));
    assert_eq!(report["schema"], "resim.report/v1");
    assert!(report_text(&dir).ends_with("}\n"), "report.json should end with a newline");
}

#[test]
fn report_json_has_the_contract_keys() {
    let (_, _dir, r) = run_example("mmck-basic.yaml", &[]);
    assert_eq!(r["schema"], "resim.report/v1");
    assert_eq!(r["scenario"], "mmck-basic");
    assert_eq!(r["seed"], 7);
    assert_eq!(r["replications"], 2);
    assert_eq!(r["duration_s"], 60.0);
    assert_eq!(r["warmup_s"], 0.0);
    for key in ["slos", "faults", "blast_radius"] {
        assert!(r[key].is_array(), "`{key}` should be an array, got {}", r[key]);
    }

    let services = r["services"].as_object().expect("services is an object");
    assert_eq!(services.keys().collect::<Vec<_>>(), ["api", "db"]);
    for (name, s) in services {
        for key in [
            "arrivals",
            "completed",
            "rejected",
            "throughput_per_s",
            "utilization",
            "mean_in_system",
            "mean_queue_length",
        ] {
            assert_statistic(&s[key], &format!("services.{name}.{key}"), 2, true);
        }
        for key in ["blocking_probability", "mean_sojourn_s", "mean_wait_s"] {
            assert_statistic(&s[key], &format!("services.{name}.{key}"), 2, false);
        }
        for p in PERCENTILES {
            assert_statistic(get(s, &["latency_s", p]), &format!("services.{name}.latency_s.{p}"), 2, false);
        }
    }
    assert_eq!(r["services"]["api"]["servers"], 4);
    assert_eq!(r["services"]["api"]["capacity"], 50);
    assert_eq!(r["services"]["db"]["capacity"], Value::Null, "an unbounded queue has a null capacity");
    let api_arrivals = r["services"]["api"]["arrivals"]["mean"].as_f64().unwrap_or_default();
    assert!(api_arrivals > 1000.0, "64/s for a minute should bring thousands of arrivals, got {api_arrivals}");

    let users = &r["workloads"]["users"];
    for key in ["requests", "ok", "degraded", "error", "timeout", "rejected", "short_circuited"] {
        assert_statistic(&users[key], &format!("workloads.users.{key}"), 2, true);
    }
    for p in PERCENTILES {
        assert_statistic(get(users, &["latency_s", p]), &format!("workloads.users.latency_s.{p}"), 2, false);
    }
    assert_eq!(r["edges"], serde_json::json!({}), "mmck-basic has no synchronous calls");
}

#[test]
fn report_json_has_edges_for_calls() {
    let (o, _dir, r) = run_example("web-shop.yaml", &[]);
    assert!(o.stdout.contains("Calls"), "a scenario with calls prints a Calls table:\n{}", o.stdout);
    let edges = r["edges"].as_object().expect("edges is an object");
    for name in
        ["catalog->db", "frontend->auth", "frontend->catalog", "frontend->payments", "frontend->recommendations"]
    {
        assert!(edges.contains_key(name), "no edge `{name}` in {:?}", edges.keys().collect::<Vec<_>>());
    }
    let e = &r["edges"]["frontend->auth"];
    let keys: BTreeSet<&str> = e.as_object().expect("edge is an object").keys().map(String::as_str).collect();
    for key in ["calls", "attempts", "retries", "outcomes", "breaker"] {
        assert!(keys.contains(key), "edges.frontend->auth has no `{key}`: {keys:?}");
    }
    for key in ["calls", "attempts", "retries"] {
        assert_statistic(&e[key], &format!("edges.frontend->auth.{key}"), 2, true);
    }
    let outcomes = e["outcomes"].as_object().expect("outcomes is an object");
    let kinds: BTreeSet<&str> = outcomes.keys().map(String::as_str).collect();
    for kind in ["ok", "degraded", "error", "timeout", "rejected", "short_circuited"] {
        assert!(kinds.contains(kind), "edges.frontend->auth.outcomes has no `{kind}`: {kinds:?}");
    }
    for (kind, s) in outcomes {
        assert_statistic(s, &format!("edges.frontend->auth.outcomes.{kind}"), 2, true);
    }
    assert!(e["breaker"].is_null() || e["breaker"].is_object(), "breaker is null or an object: {}", e["breaker"]);
    let calls = e["calls"]["mean"].as_f64().unwrap_or_default();
    assert!(calls > 0.0, "every frontend request calls auth");
    assert!(e["attempts"]["mean"].as_f64().unwrap_or_default() >= calls);
    assert!(e["outcomes"]["ok"]["mean"].as_f64().unwrap_or(f64::INFINITY) <= calls);
    for w in ["shoppers", "back-office"] {
        assert_statistic(&r["workloads"][w]["requests"], &format!("workloads.{w}.requests"), 2, true);
    }
}

#[test]
fn quiet_run_prints_nothing_but_writes_the_report() {
    let (o, dir, r) = run_example("mmck-basic.yaml", &["--quiet"]);
    assert_eq!(o.stdout, "");
    assert_eq!(o.stderr, "");
    assert_eq!(r["schema"], "resim.report/v1");
    assert_eq!(listing(&dir.path().join("out")), outputs());
}

#[test]
fn seed_replications_and_set_change_the_report() {
    let (_, _d0, base) = run_example("mmck-basic.yaml", &[]);
    let (_, _d1, r) = run_example("mmck-basic.yaml", &["--seed", "12345", "--replications", "3"]);
    assert_eq!(r["seed"], 12345);
    assert_eq!(r["replications"], 3);
    assert_statistic(&r["services"]["api"]["arrivals"], "services.api.arrivals", 3, true);
    assert_ne!(r["services"]["api"]["arrivals"], base["services"]["api"]["arrivals"], "the seed changes the sample");

    let (_, _d2, r) = run_example("mmck-basic.yaml", &["--seed", "18446744073709551615"]);
    assert_eq!(r["seed"], u64::MAX, "the largest seed survives the round trip");

    let (_, _d3, r) = run_example("mmck-basic.yaml", &["--set", "services.api.servers=8", "--set", "duration=30s"]);
    assert_eq!(r["services"]["api"]["servers"], 8);
    assert_eq!(r["duration_s"], 30.0);
    let util = |r: &Value| r["services"]["api"]["utilization"]["mean"].as_f64().unwrap_or(f64::NAN);
    assert!(util(&r) < util(&base), "twice the servers, lower utilization: {} vs {}", util(&r), util(&base));

    // Later overrides win, and --replications beats --set replications whatever the order.
    let (_, _d4, r) = run_example(
        "mmck-basic.yaml",
        &["--replications", "2", "--set", "seed=1", "--set", "seed=2", "--set", "replications=5"],
    );
    assert_eq!(r["seed"], 2);
    assert_eq!(r["replications"], 2);
}

#[test]
fn same_seed_gives_the_same_bytes_whatever_the_jobs() {
    let (_, a, _) = run_example("web-shop.yaml", &["--jobs", "1"]);
    let (_, b, _) = run_example("web-shop.yaml", &["--jobs", "3"]);
    let (_, c, _) = run_example("web-shop.yaml", &[]);
    assert_eq!(report_text(&a), report_text(&b), "--jobs changed the report");
    assert_eq!(report_text(&a), report_text(&c), "two identical runs differ");
}

#[test]
fn run_replaces_an_existing_report() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    fs::create_dir(&out).expect("create out");
    fs::write(out.join("report.json"), "stale").expect("write a stale report");
    let file = example("mmck-basic.yaml");
    let mut args = vec!["run", file.as_str(), "--out", path_str(&out), "-q"];
    args.extend(SHORT);
    resim(&args).assert_ok();
    let r: Value = serde_json::from_str(&fs::read_to_string(out.join("report.json")).expect("report")).expect("JSON");
    assert_eq!(r["schema"], "resim.report/v1");
    assert_eq!(listing(&out), outputs());
}

#[test]
fn unwritable_output_folder_is_an_error() {
    let tmp = tempdir();
    let blocker = tmp.path().join("a-file");
    fs::write(&blocker, "not a folder").expect("write");
    let file = example("mmck-basic.yaml");
    for out in [blocker.clone(), blocker.join("sub")] {
        let mut args = vec!["run", file.as_str(), "--out", path_str(&out)];
        args.extend(SHORT);
        let o = resim(&args);
        assert_refused(&o, "unwritable --out");
        assert_mentions(&o.stderr, &["cannot write", path_str(&blocker)]);
    }
    assert_eq!(fs::read_to_string(&blocker).expect("read"), "not a folder");
    assert_eq!(listing(tmp.path()), BTreeSet::from(["a-file".to_owned()]), "no temporary file may be left behind");
}

/// A scenario far too short for `warmup: auto` to judge (about 10 requests a pilot), with
/// a sweep over its arrival rate.
const TOO_SHORT_FOR_AUTO: &str = "name: short\nduration: 20s\nwarmup: auto\nreplications: 2\nservices:\n  s: { servers: 1, \
     service_time: { exponential: { mean: 1s } } }\nworkloads:\n  - { name: u, target: s, arrivals: { poisson: { rate: \
     0.5/s } } }\nsweep:\n  params:\n    workloads.0.arrivals.poisson.rate: [0.5/s, 0.6/s]\n";

#[test]
fn run_and_sweep_say_when_warmup_auto_cannot_judge_the_run() {
    let dir = tempdir();
    let file = dir.path().join("short.yaml");
    fs::write(&file, TOO_SHORT_FOR_AUTO).expect("write the scenario");
    let out = dir.path().join("out");
    let o = super::resim_in(dir.path(), &["run", path_str(&file), "--out", path_str(&out)], 60);
    assert_eq!(o.status.and_then(|s| s.code()), Some(0), "{}", o.stderr);
    assert_mentions(&o.stderr, &["warning: warmup: auto:", "too short"]);
    let sweep = dir.path().join("sweep");
    let o = super::resim_in(dir.path(), &["sweep", path_str(&file), "--out", path_str(&sweep)], 60);
    assert_eq!(o.status.and_then(|s| s.code()), Some(0), "{}", o.stderr);
    assert_mentions(&o.stderr, &["warning: point 0: warmup: auto:", "warning: point 1: warmup: auto:", "too short"]);
}
