//! End-to-end tests of the `resim` binary: exit codes, output, `report.json`, and that bad input is refused
//! with a located, helpful message on stderr, exit code 2, no panic and no file written.
//!
//! Every child runs in an empty temporary working directory, with a timeout, so a test can neither write into
//! the repository nor hang the suite.

mod commands;
mod guards;
mod inputs;
mod malformed;
mod messages;
mod output_unit;
mod preflight;
mod regressions;
mod run;
mod top;
mod topology;
mod watchdog;

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

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

/// BASE with `api` handing requests to `db` with the given route list.
fn with_routes(routes: &str) -> String {
    edit(BASE, "    capacity: 50\n", &format!("    capacity: 50\n    routes:\n{routes}"))
}

const PERCENTILES: [&str; 5] = ["p50", "p90", "p95", "p99", "p999"];
