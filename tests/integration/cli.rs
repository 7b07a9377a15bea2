//! End-to-end tests of the `resim` binary: exit codes, output, `report.json`, and that bad input is refused
//! with a located, helpful message on stderr, exit code 2, no panic and no file written.
//!
//! Every child runs in an empty temporary working directory, with a timeout, so a test can neither write into
//! the repository nor hang the suite.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::common::DIST_KINDS;

const BIN: &str = env!("CARGO_BIN_EXE_resim");

/// Seconds a child may run before it is killed and the test fails.
const TIMEOUT_S: u64 = 60;

/// Arguments that keep an example scenario's run to a few milliseconds (an explicit `--replications` wins).
const SHORT: [&str; 6] = ["--set", "duration=1m", "--set", "warmup=0s", "--set", "replications=2"];

/// A small valid scenario; the malformed-input tests each change one line of it.
///
/// Lines: 1 name, 2 duration, 3 services, 4 api, 5 servers, 6 capacity, 7 service_time, 8 db, 9 service_time,
/// 10 workloads, 11 name, 12 target, 13 arrivals.
const BASE: &str = "\
name: t
duration: 10s
services:
  api:
    servers: 4
    capacity: 50
    service_time: { exponential: { mean: 50ms } }
  db:
    service_time: { exponential: { mean: 5ms } }
workloads:
  - name: users
    target: api
    arrivals: { poisson: { rate: 64/s } }
";

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// What a finished (or killed) child did.
struct Outcome {
    /// `None` when the child was killed after the timeout.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "the process panicked:\n{}",
            self.stderr
        );
    }

    fn assert_ok(&self) {
        self.assert_no_panic();
        assert_eq!(self.code(), Some(0), "expected exit 0\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
    }
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// Absolute path of an example scenario.
fn example(name: &str) -> String {
    format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

fn reader<R: Read + Send + 'static>(mut r: R) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Waits for `child`, killing it after `timeout_s` seconds; `None` when it had to be killed.
fn wait_or_kill(child: &mut Child, timeout_s: u64) -> Option<ExitStatus> {
    for _ in 0..timeout_s * 200 {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Runs `cmd` with piped output and a timeout.
fn finish(cmd: &mut Command, timeout_s: u64) -> Outcome {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let out = reader(child.stdout.take().expect("piped stdout"));
    let err = reader(child.stderr.take().expect("piped stderr"));
    let status = wait_or_kill(&mut child, timeout_s);
    let stdout = String::from_utf8_lossy(&out.join().expect("stdout reader")).into_owned();
    let stderr = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
    Outcome { status, stdout, stderr }
}

/// Runs `resim ARGS` in `cwd`.
fn resim_in(cwd: &Path, args: &[&str], timeout_s: u64) -> Outcome {
    finish(Command::new(BIN).args(args).current_dir(cwd), timeout_s)
}

/// Runs `resim ARGS` in a fresh empty directory, and checks that nothing was written there.
fn resim(args: &[&str]) -> Outcome {
    let cwd = tempdir();
    let o = resim_in(cwd.path(), args, TIMEOUT_S);
    assert_eq!(listing(cwd.path()), BTreeSet::new(), "resim {args:?} wrote into its working directory");
    o
}

/// File names in `dir`.
fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
        .collect()
}

/// `text` with `from` (which must occur exactly once) replaced by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur exactly once in\n{text}");
    text.replacen(from, to, 1)
}

fn assert_mentions(stderr: &str, needles: &[&str]) {
    for needle in needles {
        assert!(stderr.contains(needle), "stderr should mention {needle:?}; it was:\n{stderr}");
    }
}

/// A refused scenario: the message and the file it was read from.
struct Rejection {
    stderr: String,
    file: String,
}

impl Rejection {
    /// Asserts the message mentions every needle.
    fn mentions(&self, needles: &[&str]) -> &Self {
        assert_mentions(&self.stderr, needles);
        self
    }

    /// Asserts the message points at `FILE:LINE:COL`.
    fn at(&self, line: usize, column: usize) -> &Self {
        assert_mentions(&self.stderr, &[&format!("  --> {}:{line}:{column}\n", self.file)]);
        self
    }
}

/// Checks that a refusal is clean: exit 2, an `error:` message on stderr, nothing on stdout, no panic.
fn assert_refused(o: &Outcome, what: &str) {
    o.assert_no_panic();
    assert_eq!(o.code(), Some(2), "{what}: expected exit 2\nstdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert!(o.stderr.starts_with("error: "), "{what}: stderr should start with `error: `:\n{}", o.stderr);
    assert_eq!(o.stdout, "", "{what}: nothing should be printed on stdout");
}

/// Runs `run FILE --out DIR`, `run FILE` (default output folder) and `check FILE`, each with `extra` arguments,
/// and checks that all three refuse cleanly with the same message and write nothing. Returns the message.
fn refuse_file(file: &str, extra: &[&str]) -> Rejection {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let cwd = tmp.path().join("cwd");
    fs::create_dir(&cwd).expect("create cwd");
    let mut stderrs = Vec::new();
    for base in [vec!["run", file, "--out", path_str(&out)], vec!["run", file], vec!["check", file]] {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let o = resim_in(&cwd, &args, TIMEOUT_S);
        assert_refused(&o, &format!("resim {args:?}"));
        assert!(!out.exists(), "resim {args:?} created the output folder {}", out.display());
        assert_eq!(listing(&cwd), BTreeSet::new(), "resim {args:?} wrote into its working directory");
        stderrs.push(o.stderr);
    }
    // Usage errors end with a subcommand-specific usage line; the diagnosis itself must agree.
    let first = |s: &str| s.lines().next().unwrap_or_default().to_owned();
    assert_eq!(first(&stderrs[0]), first(&stderrs[2]), "run and check disagree");
    assert_eq!(first(&stderrs[0]), first(&stderrs[1]), "run with and without --out disagree");
    Rejection { stderr: stderrs.swap_remove(0), file: file.to_owned() }
}

/// Writes `text` as a scenario file and checks that it is refused (see [`refuse_file`]).
fn refuse(text: impl AsRef<[u8]>, extra: &[&str]) -> Rejection {
    let tmp = tempdir();
    let file = tmp.path().join("scenario.yaml");
    fs::write(&file, text).expect("write the scenario");
    let r = refuse_file(path_str(&file), extra);
    assert_eq!(listing(tmp.path()), BTreeSet::from(["scenario.yaml".to_owned()]), "stray files beside the scenario");
    r
}

/// Runs an example scenario, shortened, into a fresh folder; returns the outcome, the folder and the report.
fn run_example(name: &str, extra: &[&str]) -> (Outcome, TempDir, Value) {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let file = example(name);
    let mut args = vec!["run", file.as_str(), "--out", path_str(&out)];
    args.extend(SHORT);
    args.extend(extra);
    let o = resim(&args);
    o.assert_ok();
    let text = fs::read_to_string(out.join("report.json")).expect("report.json is written");
    let report = serde_json::from_str(&text).expect("report.json is JSON");
    (o, tmp, report)
}

fn report_text(dir: &TempDir) -> String {
    fs::read_to_string(dir.path().join("out/report.json")).expect("report.json")
}

/// `v[path[0]][path[1]]...`, failing with the missing key's path.
fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    let mut here = v;
    for (i, seg) in path.iter().enumerate() {
        here = here.get(seg).unwrap_or_else(|| panic!("report has no `{}`", path[..=i].join(".")));
    }
    here
}

/// Checks that `v` is a statistic `{mean, ci95, n}` over at most `reps` replications; `defined` requires all
/// replications to contribute.
fn assert_statistic(v: &Value, what: &str, reps: u64, defined: bool) {
    let obj = v.as_object().unwrap_or_else(|| panic!("{what} is not an object: {v}"));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["mean", "ci95", "n"]), "{what} keys");
    let n = obj["n"].as_u64().unwrap_or_else(|| panic!("{what}.n is not a count: {v}"));
    assert!(n <= reps, "{what}.n = {n} > {reps} replications");
    if defined {
        assert_eq!(n, reps, "{what}.n");
    }
    match (&obj["mean"], n) {
        (Value::Null, 0) => {}
        (Value::Number(m), 1..) => assert!(m.as_f64().is_some_and(f64::is_finite), "{what}.mean: {m}"),
        (m, n) => panic!("{what}: mean {m} with n = {n}"),
    }
    match (&obj["ci95"], n) {
        (Value::Null, 0 | 1) => {}
        (Value::Array(ci), 2..) => {
            let lo = ci.first().and_then(Value::as_f64).unwrap_or(f64::NAN);
            let hi = ci.get(1).and_then(Value::as_f64).unwrap_or(f64::NAN);
            assert!(ci.len() == 2 && lo <= hi, "{what}.ci95 is not [lo, hi]: {v}");
            let mean = obj["mean"].as_f64().unwrap_or(f64::NAN);
            assert!(lo <= mean && mean <= hi, "{what}: mean {mean} outside its interval {v}");
        }
        (ci, n) => panic!("{what}: ci95 {ci} with n = {n}"),
    }
}

/// What `resim run` writes into its output folder, and nothing else (no temporary files).
fn outputs() -> BTreeSet<String> {
    ["charts", "events.jsonl", "report.html", "report.json", "timeseries.csv"].map(String::from).into()
}

const PERCENTILES: [&str; 5] = ["p50", "p90", "p95", "p99", "p999"];

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

// ---------------------------------------------------------------------------------------------------------------
// resim check, schema, theory
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn check_accepts_every_example() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if !path.is_file() {
            continue;
        }
        let file = path_str(&path);
        let o = resim(&["check", file]);
        o.assert_ok();
        assert!(o.stdout.starts_with(&format!("{file}: ok (")), "no ok line for {file}:\n{}", o.stdout);
        assert_eq!(o.stdout.lines().count(), 1, "one line per file:\n{}", o.stdout);
        assert_eq!(o.stderr, "");
        checked += 1;
    }
    assert!(checked >= 2, "expected the example scenarios in {}", dir.display());
}

#[test]
fn check_counts_what_the_scenario_contains() {
    let file = example("web-shop.yaml");
    let o = resim(&["check", &file, "--replications", "3"]);
    o.assert_ok();
    assert_mentions(&o.stdout, &["ok (7 services, 5 call edges, 2 workloads, 3 replications)"]);
}

#[test]
fn schema_is_a_json_schema_of_the_scenario_format() {
    let o = resim(&["schema"]);
    o.assert_ok();
    assert_eq!(o.stderr, "");
    let schema: Value = serde_json::from_str(&o.stdout).expect("schema is JSON");
    assert!(schema["$schema"].as_str().is_some_and(|s| s.contains("json-schema.org")), "no $schema: {}", schema);
    assert_eq!(schema["type"], "object");
    for key in ["name", "duration", "warmup", "replications", "seed", "services", "workloads"] {
        assert!(schema["properties"].get(key).is_some(), "the schema should describe `{key}`");
    }
    let required: BTreeSet<&str> =
        schema["required"].as_array().expect("required").iter().filter_map(Value::as_str).collect();
    assert!(["name", "duration", "services"].iter().all(|k| required.contains(k)), "required: {required:?}");
    for kind in DIST_KINDS {
        assert!(o.stdout.contains(&format!("\"{kind}\"")), "the schema should mention the distribution `{kind}`");
    }
    for kind in ["poisson", "closed", "round_robin", "least_outstanding"] {
        assert!(o.stdout.contains(&format!("\"{kind}\"")), "the schema should mention `{kind}`");
    }
    assert_eq!(resim(&["schema"]).stdout, o.stdout, "the schema is deterministic");
}

#[test]
fn theory_compares_mmck_and_flags_what_is_outside_theory() {
    let file = example("mmck-basic.yaml");
    let o = resim(&["theory", &file, "--replications", "2", "--set", "duration=5m"]);
    o.assert_ok();
    assert_mentions(&o.stdout, &["mmck-basic", "api: M/M/c/K", "db: outside theory", "simulated", "95% CI"]);
    for metric in ["throughput/s", "blocking", "utilization", "Wq (s)"] {
        assert_mentions(&o.stdout, &[metric]);
    }

    let o = resim(&["theory", &file, "--no-run"]);
    o.assert_ok();
    assert_mentions(&o.stdout, &["api: M/M/c/K", "db: outside theory", "throughput/s"]);
    assert!(!o.stdout.contains("simulated"), "--no-run must not simulate:\n{}", o.stdout);
}

#[test]
fn help_version_and_usage() {
    let o = resim(&["--version"]);
    o.assert_ok();
    assert!(o.stdout.starts_with("resim "), "{}", o.stdout);
    let o = resim(&["--help"]);
    o.assert_ok();
    assert_mentions(&o.stdout, &["run", "check", "schema", "theory"]);
    let usage_errors: [&[&str]; 4] = [&[], &["run"], &["frobnicate"], &["run", "x.yaml", "--bogus"]];
    for args in usage_errors {
        let o = resim(args);
        o.assert_no_panic();
        assert_eq!(o.code(), Some(2), "resim {args:?} is a usage error:\n{}", o.stderr);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed input: exit 2, a located helpful message, nothing written, no panic
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn base_scenario_is_valid() {
    let tmp = tempdir();
    let file = tmp.path().join("base.yaml");
    fs::write(&file, BASE).expect("write");
    resim(&["check", path_str(&file)]).assert_ok();
}

#[test]
fn missing_file() {
    let tmp = tempdir();
    let file = tmp.path().join("no/such/scenario.yaml");
    refuse_file(path_str(&file), &[]).mentions(&["cannot read the scenario", path_str(&file), "help: check the path"]);
}

#[test]
fn scenario_path_is_a_directory() {
    let tmp = tempdir();
    refuse_file(path_str(tmp.path()), &[]).mentions(&["cannot read the scenario", "directory"]);
}

#[test]
fn binary_garbage_is_not_utf8() {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80).collect();
    refuse(garbage, &[]).mentions(&["cannot read the scenario", "UTF-8"]);
}

#[test]
fn control_characters_are_located() {
    refuse("\u{0}\u{1}\u{2}\u{3}garbage\n", &[]).mentions(&["unexpected character"]).at(1, 1);
}

#[test]
fn unclosed_bracket_is_located() {
    refuse("name: t\nduration: 10s\nservices: [\n", &[]).mentions(&["unclosed bracket"]).at(3, 11);
    let json = r#"{"name": "t", "duration": "10s", "services": {"api": {"servers": 1}"#;
    refuse(json, &[]).mentions(&["unclosed"]).at(1, 46);
    refuse("name: [unclosed\nduration: 10s\n", &[]).at(2, 9);
}

#[test]
fn empty_file_and_wrong_shape() {
    refuse("", &[]).mentions(&["end of input"]);
    refuse("[]\n", &[]).mentions(&["mapping"]).at(1, 1);
    refuse("just a string\n", &[]);
}

#[test]
fn unknown_top_level_key_suggests_the_nearest() {
    refuse(edit(BASE, "duration:", "duraton:"), &[])
        .mentions(&["duraton: unknown key `duraton`", "help: did you mean `duration`?"])
        .at(2, 1);
}

#[test]
fn misspelt_nested_key_is_located_with_a_snippet() {
    let r = refuse(edit(BASE, "    servers: 4", "    severs: 4"), &[]);
    r.mentions(&["services.api.severs", "unknown key `severs`"]).at(5, 5);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(lines[0].starts_with("error: services.api.severs: unknown key `severs`; expected one of: servers"));
    assert_eq!(lines[1], format!("  --> {}:5:5", r.file));
    assert_eq!(lines[2..5], ["  |", "5 |     severs: 4", "  |     ^"]);
    assert_eq!(lines.last(), Some(&"  = help: did you mean `servers`?"));
}

#[test]
fn unknown_distribution_kind_suggests_the_nearest() {
    refuse(edit(BASE, "{ exponential: { mean: 50ms } }", "{ exponental: { mean: 50ms } }"), &[])
        .mentions(&["services.api.service_time", "unknown kind `exponental`", "did you mean `exponential`?"])
        .at(7, 21);
}

#[test]
fn zero_servers() {
    refuse(edit(BASE, "servers: 4", "servers: 0"), &[]).mentions(&["services.api.servers", "between 1 and"]).at(5, 14);
}

#[test]
fn capacity_below_servers_explains_kendall() {
    refuse(edit(BASE, "capacity: 50", "capacity: 2"), &[])
        .mentions(&["services.api.capacity", "capacity 2 is below servers 4", "Kendall"])
        .at(6, 15);
}

#[test]
fn negative_values() {
    refuse(edit(BASE, "rate: 64/s", "rate: -5/s"), &[])
        .mentions(&["workloads.0.arrivals.poisson.rate", "`-5/s`", ">= 0", "64/s"])
        .at(13, 34);
    refuse(edit(BASE, "servers: 4", "servers: -4"), &[]).mentions(&["services.api.servers"]).at(5, 14);
    refuse(edit(BASE, "mean: 50ms", "mean: -50ms"), &[])
        .mentions(&["services.api.service_time.exponential.mean", "negative"])
        .at(7, 42);
}

#[test]
fn bad_duration_unit() {
    refuse(edit(BASE, "duration: 10s", "duration: 5 parsecs"), &[])
        .mentions(&["duration:", "unknown unit `parsecs`", "250us, 50ms, 1.5s"])
        .at(2, 11);
    refuse(edit(BASE, "duration: 10s", "duration: 0s"), &[]).mentions(&["duration:", "longer than 0"]).at(2, 11);
}

/// BASE with `api` handing requests to `db` with the given route list.
fn with_routes(routes: &str) -> String {
    edit(BASE, "    capacity: 50\n", &format!("    capacity: 50\n    routes:\n{routes}"))
}

#[test]
fn route_probability_above_one() {
    refuse(with_routes("      - { to: db, probability: 1.5 }\n"), &[])
        .mentions(&["services.api.routes.0.probability", "probability 1.5 is outside 0..1"])
        .at(8, 32);
}

#[test]
fn route_probabilities_summing_above_one() {
    refuse(with_routes("      - { to: db, probability: 0.7 }\n      - { to: db, probability: 0.6 }\n"), &[])
        .mentions(&["services.api.routes", "add up to", "more than 1", "help: the remainder (1 - sum)"])
        .at(8, 7);
}

#[test]
fn call_to_unknown_service_suggests_the_nearest() {
    let text = edit(BASE, "    capacity: 50\n", "    capacity: 50\n    calls:\n      - to: dbb\n");
    refuse(text, &[])
        .mentions(&["services.api.calls.0.to", "there is no service `dbb`", "did you mean `db`?"])
        .at(8, 13);
}

#[test]
fn call_cycles_are_loops() {
    let text = "name: t\nduration: 10s\nservices:\n  a:\n    service_time: { constant: { value: 1ms } }\n    calls:\n      \
                - to: b\n  b:\n    service_time: { constant: { value: 1ms } }\n    calls:\n      - to: a\n";
    refuse(text, &[]).mentions(&["services.a.calls", "loop", "a -> b -> a", "help:"]).at(7, 7);
    let text = edit(BASE, "    capacity: 50\n", "    capacity: 50\n    calls: [ { to: api } ]\n");
    refuse(text, &[]).mentions(&["services.api.calls", "loop", "api -> api"]);
}

#[test]
fn routes_that_never_leave() {
    let text = with_routes("      - { to: db, probability: 1 }\n")
        .replace("{ mean: 5ms } }\n", "{ mean: 5ms } }\n    routes: [ { to: api, probability: 1 } ]\n");
    refuse(text, &[]).mentions(&["services.api.routes", "api, db can never leave", "help:"]);
    refuse(with_routes("      - { to: api, probability: 1.0 }\n"), &[]).mentions(&["api can never leave"]);
}

#[test]
fn absurd_sizes_are_refused() {
    refuse(edit(BASE, "servers: 4", "servers: 4000000000"), &[])
        .mentions(&["services.api.servers", "1000000", "4000000000"])
        .at(5, 14);
    refuse(edit(BASE, "servers: 4", "servers: 5000000000"), &[]).mentions(&["services.api.servers"]).at(5, 14);
    refuse(edit(BASE, "capacity: 50", "capacity: 2000000000"), &[])
        .mentions(&["services.api.capacity", "exceeds", "omit it for an unbounded queue"])
        .at(6, 15);
    refuse(edit(BASE, "    servers: 4\n", "    servers: 4\n    instances: 100000\n"), &[])
        .mentions(&["services.api.instances", "between 1 and"]);
    // Each service within its limit, the fleet beyond the total.
    let mut fleet = String::from("name: fleet\nduration: 10s\nservices:\n");
    for i in 0..101 {
        fleet += &format!("  s{i}: {{ instances: 10000, service_time: {{ constant: {{ value: 1ms }} }} }}\n");
    }
    refuse(fleet, &[]).mentions(&["services", "1010000 stations", "at most 1000000", "help:"]);
    refuse(edit(BASE, "duration: 10s\n", "duration: 10s\nreplications: 1000000\n"), &[])
        .mentions(&["replications", "between 1 and 100000"])
        .at(3, 15);
    refuse(edit(BASE, "duration: 10s", "duration: 1000000h"), &[]).mentions(&["duration", "100 years"]).at(2, 11);
    refuse(edit(BASE, "duration: 10s", "duration: 1000000000000h"), &[]).mentions(&["duration", "too long"]);
    refuse(edit(BASE, "duration: 10s", "duration: 1h").replace("64/s", "1e12/s"), &[])
        .mentions(&["arrivals per replication", "limit", "help: shorten the duration or lower the rates"])
        .at(2, 11);
}

#[test]
fn absurd_sizes_from_the_command_line_are_refused() {
    refuse(BASE, &["--replications", "1000000"]).mentions(&["replications", "100000"]);
    refuse(BASE, &["--set", "duration=1000000h"]).mentions(&["duration", "100 years"]);
    refuse(BASE, &["--set", "services.api.servers=4000000000"]).mentions(&["services.api.servers", "1000000"]);
    refuse(BASE, &["--set", "duration=1h", "--set", "workloads.0.arrivals.poisson.rate=1e12/s"])
        .mentions(&["arrivals per replication"]);
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        bomb += &format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
    }
    refuse(bomb, &[]);
    let deep = format!("name: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    refuse(deep, &[]).mentions(&["recursion"]);
}

#[test]
fn empty_services() {
    refuse("name: t\nduration: 10s\nservices: {}\n", &[])
        .mentions(&["services: a scenario needs at least one service"])
        .at(3, 11);
    refuse("name: t\nduration: 10s\nservices:\n", &[]).mentions(&["services"]);
}

#[test]
fn duplicate_workload_names() {
    let text = format!("{BASE}  - {{ name: users, target: db, arrivals: {{ poisson: {{ rate: 1/s }} }} }}\n");
    refuse(text, &[]).mentions(&["workloads.1.name", "`users`", "names must be unique"]).at(14, 13);
}

#[test]
fn workload_target_unknown() {
    refuse(edit(BASE, "target: api", "target: apj"), &[])
        .mentions(&["workloads.0.target", "there is no service `apj`", "did you mean `api`?"])
        .at(12, 13);
}

#[test]
fn lognormal_needs_a_parameter_pair() {
    for params in ["{ mean: 3ms }", "{}", "{ mean: 3ms, p99: 20ms }"] {
        let text = edit(BASE, "{ exponential: { mean: 50ms } }", &format!("{{ lognormal: {params} }}"));
        refuse(text, &[])
            .mentions(&["services.api.service_time.lognormal", "give `mean` and `sd`, or `median` and `p99`"])
            .at(7, 32);
    }
}

#[test]
fn set_with_a_misspelt_key_suggests_the_nearest() {
    refuse(BASE, &["--set", "services.api.severs=3"]).mentions(&[
        "--set services.api.severs",
        "unknown key `severs`",
        "did you mean `servers`?",
    ]);
    refuse(BASE, &["--set", "duraton=1m"]).mentions(&["--set duraton", "did you mean `duration`?"]);
}

#[test]
fn set_with_bad_values() {
    refuse(BASE, &["--set", "services.api.servers=0"]).mentions(&["services.api.servers", "(after --set)"]);
    refuse(BASE, &["--set", "services.api.servers=abc"]).mentions(&["--set services.api.servers", "whole number"]);
    refuse(BASE, &["--set", "services.api.servers=[1"]).mentions(&["--set services.api.servers", "not valid YAML"]);
    refuse(BASE, &["--set", "services.api.servers.x=3"]).mentions(&["`services.api.servers` is a plain value"]);
    refuse(BASE, &["--set", "workloads.5.target=api"]).mentions(&["`5` is not an index", "1 items"]);
    refuse(BASE, &["--set", "duration=5 parsecs"]).mentions(&["unknown unit `parsecs`"]);
}

#[test]
fn malformed_set_is_a_usage_error() {
    refuse(BASE, &["--set", "novalue"]).mentions(&["--set", "`novalue` is not KEY=VALUE", "services.api.servers=8"]);
    refuse(BASE, &["--set", "=3"]).mentions(&["is not a dotted key path"]);
    refuse(BASE, &["--set", "a..b=3"]).mentions(&["`a..b` is not a dotted key path"]);
    refuse(BASE, &["--seed", "abc"]).mentions(&["--seed"]);
    refuse(BASE, &["--seed", "-1"]);
    refuse(BASE, &["--replications", "4294967296"]).mentions(&["--replications"]);
}

#[test]
fn file_larger_than_16_mib_says_the_limit() {
    let tmp = tempdir();
    let file = tmp.path().join("huge.yaml");
    // Sparse: no 16 MiB written to disk.
    fs::File::create(&file).and_then(|f| f.set_len(16 * 1024 * 1024 + 1)).expect("create a sparse file");
    refuse_file(path_str(&file), &[]).mentions(&["16777217 bytes", "limited to 16777216 bytes"]);
}

// ---------------------------------------------------------------------------------------------------------------
// Closed pipes
// ---------------------------------------------------------------------------------------------------------------

/// Exit 0, or killed by SIGPIPE; never a panic.
fn assert_pipe_tolerated(status: Option<ExitStatus>, stderr: &str) {
    assert!(!stderr.contains("panicked"), "panicked on a closed pipe:\n{stderr}");
    let status = status.expect("the process must not hang on a closed pipe");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(13) {
            return;
        }
    }
    assert_eq!(status.code(), Some(0), "exit status on a closed pipe; stderr:\n{stderr}");
}

#[test]
fn stdout_closed_after_a_few_bytes() {
    let mut child = Command::new(BIN)
        .arg("schema")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 10];
    child.stdout.take().expect("stdout").read_exact(&mut first).expect("read 10 bytes"); // dropped: `| head -c 10`
    let err = reader(child.stderr.take().expect("stderr"));
    let status = wait_or_kill(&mut child, TIMEOUT_S);
    let stderr = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
    assert_eq!(&first[..1], b"{");
    assert_pipe_tolerated(status, &stderr);
}

#[test]
fn stdout_closed_before_any_output() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let file = example("web-shop.yaml");
    let mut run = vec!["run", file.as_str(), "--out", path_str(&out)];
    run.extend(SHORT);
    let theory = ["theory", file.as_str(), "--replications", "2", "--set", "duration=10s"];
    for args in [&["schema"][..], &run, &theory, &["check", file.as_str()]] {
        let (read_end, write_end) = std::io::pipe().expect("pipe");
        drop(read_end); // every write now fails with EPIPE
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(tmp.path())
            .stdin(Stdio::null())
            .stdout(write_end)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let err = reader(child.stderr.take().expect("stderr"));
        let status = wait_or_kill(&mut child, TIMEOUT_S);
        let stderr = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
        assert_pipe_tolerated(status, &stderr);
    }
    let report: Value = serde_json::from_str(&fs::read_to_string(out.join("report.json")).expect("report written"))
        .expect("report.json is JSON");
    assert_eq!(report["schema"], "resim.report/v1", "the report is written even when stdout is closed");
}

// ---------------------------------------------------------------------------------------------------------------
// Known product bugs: each test states the correct behaviour and is ignored until the bug is fixed.
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn bug_missing_required_key_is_named_by_its_own_path() {
    let r = refuse(edit(BASE, "duration: 10s\n", ""), &[]);
    assert!(r.stderr.starts_with("error: duration: missing field `duration`\n"), "{}", r.stderr);
    let r = refuse(edit(BASE, "name: t\n", ""), &[]);
    assert!(r.stderr.starts_with("error: name: missing field `name`\n"), "{}", r.stderr);
    let r = refuse(edit(BASE, "duration: 10s\n", "").replace("name: t\n", "name: t\nreplications: 2\n"), &[]);
    assert!(r.stderr.starts_with("error: duration: missing field `duration`\n"), "{}", r.stderr);
}

#[test]
fn bug_file_errors_are_not_blamed_on_overrides() {
    let text = edit(BASE, "    servers: 4", "    severs: 4");
    let r = refuse(text, &["--seed", "3"]);
    r.mentions(&["services.api.severs", "did you mean `servers`?"]).at(5, 5);
    assert!(!r.stderr.contains("--set seed"), "the user never set `seed` wrongly:\n{}", r.stderr);
    let text = edit(BASE, "duration: 10s", "duration: 5 parsecs");
    let r = refuse(text, &["--set", "services.api.servers=2"]);
    r.mentions(&["duration", "parsecs"]).at(2, 11);
    assert!(!r.stderr.contains("--set services.api.servers"), "{}", r.stderr);
}

#[test]
fn bug_overrides_do_not_change_how_the_file_is_read() {
    let tmp = tempdir();
    let texts = [edit(BASE, "name: t", "name: 2024"), edit(BASE, "servers: 4", "servers: '4'")];
    for (i, text) in texts.iter().enumerate() {
        let file = tmp.path().join(format!("s{i}.yaml"));
        fs::write(&file, text).expect("write");
        let file = path_str(&file);
        resim(&["check", file]).assert_ok();
        let o = resim(&["check", file, "--seed", "1"]);
        o.assert_ok();
    }
}

#[test]
fn bug_duplicate_key_message_is_for_users() {
    let text = edit(BASE, "  db:\n", "  api:\n    service_time: { constant: { value: 1ms } }\n  db:\n");
    let r = refuse(text, &[]);
    r.mentions(&["duplicate", "api"]).at(8, 3);
    assert!(!r.stderr.contains("DuplicateKeyPolicy") && !r.stderr.contains("Options"), "{}", r.stderr);
}

#[test]
fn bug_error_snippet_is_bounded() {
    let samples = vec!["\"1ms\""; 100_000].join(",");
    let json = format!(
        r#"{{"name":"t","duration":"10s","services":{{"api":{{"severs":2,"service_time":{{"empirical":{{"samples":[{samples}]}}}}}}}}}}"#
    );
    let r = refuse(json, &[]);
    r.mentions(&["services.api.severs", "did you mean `servers`?"]);
    assert!(r.stderr.len() < 16 * 1024, "stderr is {} bytes for a one-key typo", r.stderr.len());
}

#[test]
fn bug_error_snippet_escapes_control_characters() {
    let r = refuse("name: t\u{1b}[2J\u{1b}]0;pwned\u{7}\nduration: 10s\n", &[]);
    r.mentions(&["unexpected character"]);
    assert!(!r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'), "raw control characters:\n{:?}", r.stderr);
}

#[test]
fn bug_scenario_name_cannot_escape_the_output_folder() {
    let tmp = tempdir();
    let cwd = tmp.path().join("a/b");
    fs::create_dir_all(&cwd).expect("create cwd");
    let absolute = tmp.path().join("absolute");
    for name in ["../../escaped", path_str(&absolute)] {
        let file = tmp.path().join("s.yaml");
        fs::write(&file, edit(BASE, "name: t", &format!("name: '{name}'"))).expect("write");
        let o = resim_in(&cwd, &["run", path_str(&file), "-q", "--set", "duration=1s"], TIMEOUT_S);
        o.assert_no_panic();
        assert!(!tmp.path().join("a/escaped").exists(), "`name: ../../escaped` wrote outside out/");
        assert!(!absolute.exists(), "an absolute `name` wrote to {}", absolute.display());
        assert!(o.code() == Some(2) || o.code() == Some(0), "{}", o.stderr);
    }
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.strip_prefix(dir).expect("under dir").to_owned());
            }
        }
    }
    out
}

/// Nothing in a scenario chooses where outputs go but `name`, and `name` is reduced to
/// one folder under `out/`: names, workload names (in chart file names) and swept values
/// that try to climb out, or are absolute, leave every file under `./out`.
#[test]
fn scenario_files_can_only_write_inside_out() {
    let tmp = tempdir();
    let cwd = tmp.path().join("a/b/cwd");
    fs::create_dir_all(&cwd).expect("create cwd");
    let absolute = tmp.path().join("absolute");
    for name in ["../../escape", path_str(&absolute), "/etc/resim-escape", "..", "../", "."] {
        let text = edit(BASE, "name: t", &format!("name: '{name}'")).replace("- name: users", "- name: '../../../w'");
        let sweep = format!(
            "sweep: {{ params: {{ name: ['../../p', '{}'], services.api.servers: [4, 5] }} }}\n",
            path_str(&absolute)
        );
        fs::write(tmp.path().join("s.yaml"), text + &sweep).expect("write");
        let file = tmp.path().join("s.yaml");
        let o = resim_in(&cwd, &["run", path_str(&file), "-q", "--set", "duration=1s"], TIMEOUT_S);
        o.assert_ok();
        let o = resim_in(&cwd, &["sweep", path_str(&file), "-q", "--set", "duration=1s", "--jobs", "1"], TIMEOUT_S);
        o.assert_ok();
        let stray: Vec<PathBuf> = files_under(tmp.path())
            .into_iter()
            .filter(|p| p != Path::new("s.yaml") && !p.starts_with("a/b/cwd/out"))
            .collect();
        assert_eq!(stray, Vec::<PathBuf>::new(), "`name: {name}` wrote outside ./out");
        assert_eq!(listing(&cwd), BTreeSet::from(["out".to_owned()]));
        assert!(!Path::new("/etc/resim-escape").exists(), "an absolute `name` wrote into /etc");
        let outs = listing(&cwd.join("out"));
        assert!(outs.iter().all(|o| !o.starts_with('.') && !o.contains('/')), "{outs:?}");
        let _ = fs::remove_dir_all(cwd.join("out"));
    }
}

/// A samples file that is missing is refused by every command, located at its key, with
/// the path it was looked for at and the system's reason.
#[test]
fn a_missing_samples_file_is_refused_with_its_path() {
    let text = edit(BASE, "{ exponential: { mean: 50ms } }", "{ empirical: { file: latencies.csv, unit: ms } }");
    let tmp = tempdir();
    let file = tmp.path().join("scenario.yaml");
    fs::write(&file, &text).expect("write the scenario");
    let wanted = tmp.path().join("latencies.csv");
    refuse_file(path_str(&file), &[])
        .mentions(&[
            "services.api.service_time.empirical.file: cannot read the samples file",
            path_str(&wanted),
            "No such file or directory",
            "help: a relative path is read from the scenario file's folder",
        ])
        .at(7, 40);
    // Beside the scenario, it is found whatever the working directory.
    fs::write(&wanted, "12.5\n7\n30\n").expect("write the samples");
    resim(&["check", path_str(&file)]).assert_ok();
    fs::write(&wanted, "12.5\n7ms\n3O\n").expect("write the samples");
    let o = resim(&["check", path_str(&file)]);
    assert_refused(&o, "a bad sample");
    assert_mentions(&o.stderr, &["`3O`", &format!("--> {}:3:1", path_str(&wanted)), "3 | 3O"]);
}

#[test]
fn bug_huge_jobs_is_clamped_or_refused() {
    let tmp = tempdir();
    let file = example("mmck-basic.yaml");
    let out = tmp.path().join("out");
    let args = ["run", file.as_str(), "--out", path_str(&out), "--jobs", "100000", "--set", "duration=1s", "-q"];
    let o = resim_in(tmp.path(), &args, 30);
    assert!(o.status.is_some(), "resim hung (killed after 30 s); stderr starts:\n{:.2000}", o.stderr);
    o.assert_no_panic();
    match o.code() {
        Some(0) => assert!(out.join("report.json").exists()),
        Some(2) => assert_mentions(&o.stderr, &["jobs"]),
        code => panic!("exit {code:?}:\n{:.2000}", o.stderr),
    }
}

#[test]
fn bug_zero_time_closed_loop_is_refused() {
    let text = edit(BASE, "{ exponential: { mean: 50ms } }", "{ constant: { value: 0s } }")
        .replace("{ poisson: { rate: 64/s } }", "{ closed: { users: 1, think_time: { constant: { value: 0s } } } }");
    let tmp = tempdir();
    let file = tmp.path().join("zero.yaml");
    fs::write(&file, text).expect("write");
    let o = resim_in(tmp.path(), &["check", path_str(&file)], TIMEOUT_S);
    assert_refused(&o, "check of a zero-time loop");
    assert_mentions(&o.stderr, &["workloads.0.arrivals.closed.think_time"]);
    let o = resim_in(tmp.path(), &["run", path_str(&file), "--out", "out", "--jobs", "1"], 20);
    assert!(o.status.is_some(), "the run never ends (killed after 20 s)");
    assert_refused(&o, "run of a zero-time loop");
}

#[test]
fn bug_route_sum_is_printed_readably() {
    let r = refuse(with_routes("      - { to: db, probability: 0.7 }\n      - { to: db, probability: 0.6 }\n"), &[]);
    r.mentions(&["add up to 1.3,"]);
}

#[test]
fn bug_replications_flag_is_named_in_its_error() {
    let r = refuse(BASE, &["--replications", "0"]);
    r.mentions(&["replications", "between 1 and"]);
    assert!(!r.stderr.contains("after --set"), "{}", r.stderr);
}

#[test]
fn bug_directory_scenario_gets_relevant_help() {
    let tmp = tempdir();
    let r = refuse_file(path_str(tmp.path()), &[]);
    assert!(!r.stderr.contains("UTF-8"), "misleading help:\n{}", r.stderr);
}

#[test]
fn init_writes_a_starter_that_checks_and_runs() {
    let dir = tempdir();
    resim_in(dir.path(), &["init"], TIMEOUT_S).assert_ok();
    let file = dir.path().join("scenario.yaml");
    let text = fs::read_to_string(&file).expect("starter written");
    assert!(text.starts_with("# Generated by `resim init`"), "the starter opens with a comment");
    resim_in(dir.path(), &["check", "scenario.yaml"], TIMEOUT_S).assert_ok();
    resim_in(dir.path(), &["run", "scenario.yaml", "--replications", "2", "--set", "duration=1m", "-q"], TIMEOUT_S)
        .assert_ok();
    // It does not overwrite by accident.
    let again = resim_in(dir.path(), &["init"], TIMEOUT_S);
    assert_eq!(again.code(), Some(2));
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    resim_in(dir.path(), &["init", "--force"], TIMEOUT_S).assert_ok();
    resim_in(dir.path(), &["init", "other.yaml"], TIMEOUT_S).assert_ok();
    assert!(dir.path().join("other.yaml").exists());
}

// ---------------------------------------------------------------------------------------------------------------
// Resource guards
// ---------------------------------------------------------------------------------------------------------------

/// An unstable M/M/1 without a capacity (ρ = 2): its queue grows by ~100 requests a second.
const RUNAWAY: &str = "\
name: runaway
duration: 1h
services:
  api: { servers: 1, service_time: { exponential: { mean: 10ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 200/s } } }
";

#[test]
fn runaway_queues_and_event_budgets_stop_with_a_message_and_write_nothing() {
    let tmp = tempdir();
    let file = tmp.path().join("runaway.yaml");
    fs::write(&file, RUNAWAY).expect("write the scenario");
    for (flag, value, needles) in [
        ("--max-in-flight", "5000", ["5001 requests in flight", "--max-in-flight", "capacity"]),
        ("--max-events", "20000", ["after 20000 events", "--max-events", "duration"]),
    ] {
        let out = tmp.path().join(format!("out{flag}"));
        let o = resim(&["run", path_str(&file), "--out", path_str(&out), flag, value]);
        o.assert_no_panic();
        assert_eq!(o.code(), Some(2), "{flag}: {}", o.stderr);
        for n in needles {
            assert!(o.stderr.contains(n), "{flag}: `{n}` missing from:\n{}", o.stderr);
        }
        assert_eq!(listing(&out), BTreeSet::new(), "{flag}: nothing is written");
    }
    // Within the guards the same scenario runs.
    let out = tmp.path().join("ok");
    resim(&["run", path_str(&file), "--out", path_str(&out), "-q", "--set", "duration=10s"]).assert_ok();
    assert!(out.join("report.json").is_file());
    let o = resim(&["run", path_str(&file), "--max-events", "0"]);
    assert_eq!(o.code(), Some(2), "{}", o.stderr);
}

#[test]
fn an_interrupted_run_leaves_the_previous_outputs_whole() {
    let tmp = tempdir();
    let file = tmp.path().join("long.yaml");
    // Long enough (about a minute) to be interrupted mid-simulation.
    fs::write(&file, BASE.replace("duration: 10s", "duration: 200h")).expect("write the scenario");
    let out = tmp.path().join("out");
    fs::create_dir(&out).expect("create out");
    fs::write(out.join("report.json"), "previous").expect("a previous report");
    let mut child = Command::new(BIN)
        .args(["run", path_str(&file), "--out", path_str(&out), "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    thread::sleep(Duration::from_millis(700));
    // The shell's own `kill`, so the test needs no procps.
    let sent = Command::new("sh").args(["-c", &format!("kill -INT {}", child.id())]).status().expect("sh");
    assert!(sent.success());
    let status = wait_or_kill(&mut child, TIMEOUT_S).expect("the run stops on SIGINT");
    assert_eq!(status.code(), Some(130));
    assert_eq!(listing(&out), BTreeSet::from(["report.json".to_owned()]), "no temporary or partial file");
    assert_eq!(fs::read_to_string(out.join("report.json")).expect("report"), "previous");
}
