//! Checks before a run (issue 21, cases 2–5): loops of calls and routes requests cannot
//! leave, zero-time closed loops, timers below the floor, and runs over the event or
//! memory budget are refused at once (exit 2, a located message, nothing written),
//! within 5 s and 200 MB; the committed examples stay well inside the budget.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use resim::model::RunLimits;
use resim::run::budget::Estimate;

use super::{BASE, BIN, assert_mentions, assert_refused, edit, finish, path_str, refuse, tempdir, with_routes};

/// Seconds and bytes a refusal may take (the bound).
const REFUSAL_S: f64 = 5.0;
const REFUSAL_BYTES: u64 = 200 * 1024 * 1024;

/// Runs `resim ARGS` in `cwd` under a 200 MB address-space limit, and checks it is
/// refused (exit 2, `error:`) within 5 s, writing nothing there.
fn refused_quickly(cwd: &Path, args: &[&str]) -> String {
    #[allow(clippy::disallowed_methods)] // a guard against a hang, not a timed benchmark
    let started = Instant::now();
    let limit = format!("--as={REFUSAL_BYTES}");
    let o = finish(Command::new("prlimit").arg(limit).arg("--").arg(BIN).args(args).current_dir(cwd), 30);
    let spent = started.elapsed().as_secs_f64();
    assert_refused(&o, &format!("resim {args:?}"));
    assert!(spent < REFUSAL_S, "resim {args:?} took {spent:.1}s to refuse");
    let left: Vec<_> = fs::read_dir(cwd).expect("list cwd").flatten().map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| n.to_string_lossy().ends_with(".yaml")), "resim {args:?} wrote {left:?}");
    o.stderr
}

/// Writes `text` as `name` in `dir`, returning its path.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    fs::write(&file, text).expect("write the scenario");
    path_str(&file).to_owned()
}

#[test]
fn a_call_routed_back_for_ever_is_refused_naming_the_loop() {
    // api calls db; db routes every request back to api: no request ever finishes.
    let text = edit(
        &edit(BASE, "    capacity: 50\n", "    capacity: 50\n    calls: [{ to: db }]\n"),
        "    service_time: { exponential: { mean: 5ms } }\n",
        "    service_time: { exponential: { mean: 5ms } }\n    routes: [{ to: api, probability: 1 }]\n",
    );
    refuse(&text, &[]).at(11, 38).mentions(&[
        "services.db.routes.0.probability",
        "api -> db -> api",
        "never leaves",
        "`api` calls `db`",
        "help: lower this route's probability",
    ]);
    // Half the time: two visits on average, accepted (the live watchdog guards the rest).
    let half = text.replace("probability: 1 }", "probability: 0.5 }");
    let tmp = tempdir();
    let o = finish(Command::new(BIN).args(["check", &write(tmp.path(), "half.yaml", &half)]), 30);
    o.assert_ok();
}

#[test]
fn a_zero_time_route_loop_that_almost_never_exits_is_refused() {
    let text = edit(
        &with_routes("      - { to: api, probability: 0.9999999999 }\n"),
        "{ exponential: { mean: 50ms } }",
        "{ constant: { value: 0s } }",
    );
    refuse(&text, &[]).mentions(&[
        "services.api.routes.0.probability",
        "api -> api",
        "1.000e10 times on average",
        "at most 10000",
    ]);
}

#[test]
fn closed_users_who_never_think_are_refused_when_the_answer_can_be_instant() {
    let closed = |think: &str| format!("{{ closed: {{ users: 10, think_time: {think} }} }}");
    // Against a station that can refuse at once (capacity 50).
    let full = edit(BASE, "{ poisson: { rate: 64/s } }", &closed("{ constant: { value: 0s } }"));
    refuse(&full, &[]).at(13, 50).mentions(&[
        "workloads.0.arrivals.closed.think_time",
        "can refuse a request at once (it has a finite capacity)",
        "simulated time would never advance",
    ]);
    // Zero as a uniform, against an empirical service time of zeros.
    let zeros = edit(
        &edit(BASE, "    capacity: 50\n", ""),
        "{ exponential: { mean: 50ms } }",
        "{ empirical: { samples: [0s, 0s] } }",
    );
    let zeros = edit(&zeros, "{ poisson: { rate: 64/s } }", &closed("{ uniform: { min: 0s, max: 0s } }"));
    refuse(&zeros, &[]).mentions(&["workloads.0.arrivals.closed.think_time", "`api` takes no time"]);
    // An empirical think time that is 0 only half the time lets time advance.
    let half = edit(BASE, "{ poisson: { rate: 64/s } }", &closed("{ empirical: { samples: [0s, 10ms] } }"));
    let tmp = tempdir();
    finish(Command::new(BIN).args(["check", &write(tmp.path(), "half.yaml", &half)]), 30).assert_ok();
}

#[test]
fn timers_below_the_floor_are_refused_with_the_key_to_lower_it() {
    let cases = [
        (
            "    capacity: 50\n",
            "    capacity: 50\n    health_check: { interval: 1ns }\n",
            "services.api.health_check.interval",
        ),
        (
            "    capacity: 50\n",
            "    capacity: 50\n    degradation: { interval: 1ns }\n",
            "services.api.degradation.interval",
        ),
        (
            "    capacity: 50\n",
            "    capacity: 50\n    instances: 2\n    failover: { active_passive: { heartbeat: 1ns } }\n",
            "services.api.failover.active_passive.heartbeat",
        ),
        (
            "    capacity: 50\n",
            "    capacity: 50\n    outlier_ejection: { interval: 1ns }\n",
            "services.api.outlier_ejection.interval",
        ),
    ];
    for (from, to, key) in cases {
        refuse(edit(BASE, from, to), &[]).mentions(&[key, "below the floor of 1ms", "limits: { min_timer: 1us }"]);
    }
    let faults = "faults:\n  - { kind: crash, target: api, mtbf: 1ns, mttr: 1ns }\n";
    let crashes = format!("{}{faults}", edit(BASE, "duration: 10s", "duration: 100d"));
    refuse(&crashes, &[]).at(15, 39).mentions(&["faults.0.mtbf", "1ns"]);
    // Lowering the floor is what the message says: then the timer is accepted.
    let lowered = format!(
        "{}limits: {{ min_timer: 1ns }}\n",
        edit(BASE, "    capacity: 50\n", "    capacity: 50\n    health_check: { interval: 1ns }\n")
    );
    let tmp = tempdir();
    finish(Command::new(BIN).args(["check", &write(tmp.path(), "low.yaml", &lowered)]), 30).assert_ok();
}

#[test]
fn runs_over_the_event_budget_are_refused_up_front() {
    let tmp = tempdir();
    let file = write(tmp.path(), "fast.yaml", &edit(BASE, "rate: 64/s", "rate: 1e9/s"));
    let stderr = refused_quickly(tmp.path(), &["run", &file, "--set", "duration=60s", "--out", "out"]);
    assert_mentions(
        &stderr,
        &["events per replication", "over the limit of 1000000000 (--max-events)", "--max-events 2.2e11"],
    );
    // The same check for each point of a sweep.
    let base = write(tmp.path(), "base.yaml", BASE);
    let rates = "workloads.0.arrivals.poisson.rate=1/s,1e9/s";
    let stderr = refused_quickly(tmp.path(), &["sweep", &base, "--param", rates, "--out", "out"]);
    assert_mentions(&stderr, &["sweep point 1:", "--max-events"]);
}

#[test]
fn runs_over_the_memory_budget_are_refused_up_front() {
    let tmp = tempdir();
    let file = write(tmp.path(), "base.yaml", BASE);
    let cases: [&[&str]; 3] = [
        &["--set", "duration=100s", "--set", "window=1ms", "--set", "replications=200", "--max-memory", "4GB"],
        &["--set", "replications=100000", "--max-memory", "2GB"],
        &["--set", "duration=100s", "--set", "window=1ms", "--set", "replications=20", "--max-memory", "1GB"],
    ];
    for extra in cases {
        let mut args = vec!["run", file.as_str(), "--out", "out"];
        args.extend(extra);
        let stderr = refused_quickly(tmp.path(), &args);
        assert_mentions(
            &stderr,
            &["of memory, over the limit of", "(--max-memory)", "raise the limit with --max-memory"],
        );
    }
    // 10,000 services, each with a workload at 1 request/s for 1 s, reported in full:
    // refused with the estimate (~10 GB) rather than run (4.7 GB measured, 638 MB
    // written, when every report was full).
    let mut text = String::from("name: many\nduration: 1s\nservices:\n");
    (0..10_000).for_each(|i| text += &format!("  s{i}: {{ service_time: {{ exponential: {{ mean: 10ms }} }} }}\n"));
    text += "workloads:\n";
    (0..10_000).for_each(|i| {
        text += &format!("  - {{ name: w{i}, target: s{i}, arrivals: {{ poisson: {{ rate: 1/s }} }} }}\n")
    });
    let many = write(tmp.path(), "many.yaml", &text);
    let stderr =
        refused_quickly(tmp.path(), &["run", &many, "--out", "out", "--detail", "full", "--max-memory", "6GB"]);
    assert_mentions(&stderr, &["10.4GB of memory"]);
}

#[test]
fn the_event_limit_still_stops_a_replication_the_estimate_underrates() {
    // Retries are not in the estimate; a callee that always fails makes ten attempts a call.
    let text = format!(
        "{}faults:\n  - {{ kind: error, target: db, probability: 1, at: 0s, for: 1h }}\n",
        edit(
            &edit(BASE, "rate: 64/s", "rate: 10/s"),
            "    capacity: 50\n",
            "    capacity: 50\n    calls: [{ to: db, retry: { max_attempts: 10, backoff: none } }]\n"
        )
    );
    let tmp = tempdir();
    let file = write(tmp.path(), "retries.yaml", &text);
    // ~10/s × 10 s × (1 + 2 × 2) + 100 windows ≈ 600 events expected; the retries make ~2400.
    let o = finish(
        Command::new(BIN).args(["run", &file, "--out", "out", "--max-events", "1500"]).current_dir(tmp.path()),
        30,
    );
    assert_refused(&o, "a replication over --max-events");
    assert_mentions(&o.stderr, &["1500 events", "--max-events"]);
    assert!(!tmp.path().join("out/report.json").exists(), "nothing is written");
}

#[test]
fn every_example_fits_the_default_budget() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<_> = fs::read_dir(&dir).expect("scenarios/").flatten().map(|e| e.path()).collect();
    names.sort();
    for path in names.iter().filter(|p| p.extension().is_some_and(|x| x == "yaml")) {
        let scenario = resim::scenario::load_file(path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let e = Estimate::of(&scenario.model);
        assert!(e.events < RunLimits::DEFAULT_MAX_EVENTS as f64 / 10.0, "{}: {e:?}", path.display());
        // Under the fallback budget of a machine whose memory cannot be read (2 GB).
        assert!(e.memory < 2e9 / 4.0, "{}: {e:?}", path.display());
    }
}
