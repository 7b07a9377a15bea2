//! `resim compare` end to end: a real change is called significant, a seed-only change is not, the regression
//! gate exits 1 only on a real regression, and bad input exits 2 with nothing written.
//!
//! Reports are made in-process (the same `report.json` `resim run` writes) except where the test is about the
//! run's output folder; the compare command itself always runs as the binary, in a fresh working directory.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use resim::RunOptions;
use resim::scenario::{Override, load_str};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_resim");

/// A caller whose calls to `back` fail 30% of the time; retries (3 attempts) hide most of it.
const RETRY: &str = "
name: retry-under-errors
duration: 1m
replications: 5
seed: 3
services:
  front:
    servers: 100
    service_time: { exponential: { mean: 5ms } }
    calls:
      - to: back
        retry: { max_attempts: 3, backoff: none }
  back: { servers: 100, service_time: { exponential: { mean: 5ms } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 100/s } } }
faults:
  - { name: flaky, kind: error, target: back, at: 0s, for: 1h, probability: 0.3 }
";
const NO_RETRY: &str = "services.front.calls.0.retry.max_attempts=1";

/// A plain M/M/2/6 at utilisation 0.8: a few percent blocked, so availability and p99 vary between seeds.
const MMCK: &str = "
name: mm2k
duration: 2m
replications: 10
services:
  api: { servers: 2, capacity: 6, service_time: { exponential: { mean: 50ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 32/s } } }
";
const SLOWER: &str = "services.api.service_time={ exponential: { mean: 65ms } }";

/// Runs `yaml` with `--set`-style overrides in-process and writes its report.json to `dir/<name>.json`.
fn report(dir: &Path, name: &str, yaml: &str, sets: &[&str]) -> String {
    let sets: Vec<Override> = sets.iter().map(|s| s.parse().unwrap_or_else(|e| panic!("{e}"))).collect();
    let scenario = load_str(yaml, Path::new("test.yaml"), &sets).unwrap_or_else(|e| panic!("{e}"));
    let report = resim::run(&scenario.model, &RunOptions::default());
    let path = dir.join(format!("{name}.json"));
    fs::write(&path, report.to_json()).expect("write the report");
    path.to_str().expect("UTF-8 path").to_owned()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `resim ARGS` in `cwd`.
fn resim(cwd: &Path, args: &[&str]) -> Run {
    let Output { status, stdout, stderr } =
        Command::new(BIN).args(args).current_dir(cwd).output().expect("spawn resim");
    let run = Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "resim panicked:\n{}", run.stderr);
    run
}

/// Runs `resim compare A B --out DIR/out EXTRA...` in `dir`.
fn compare(dir: &Path, a: &str, b: &str, extra: &[&str]) -> Run {
    let out = dir.join("out");
    let mut args = vec!["compare", a, b, "--out", out.to_str().expect("UTF-8 path")];
    args.extend(extra);
    resim(dir, &args)
}

/// The table line of a metric, e.g. `users availability`.
fn line<'a>(run: &'a Run, metric: &str) -> &'a str {
    let prefix = format!("  {metric} ");
    run.stdout.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no `{metric}` in:\n{}", run.stdout))
}

fn significant(run: &Run, metric: &str) -> bool {
    let l = line(run, metric);
    assert!(l.contains(" yes (") || l.contains(" no ("), "`{metric}` was not tested: {l}");
    l.contains(" yes (")
}

fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir).expect("read dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect()
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("temporary directory")
}

#[test]
fn the_comparison_is_written_as_one_unit_into_a_folder_of_its_own() {
    let dir = tmp();
    let one = report(dir.path(), "one", RETRY, &[NO_RETRY]);
    let three = report(dir.path(), "three", RETRY, &[]);
    // Again into the same folder: exactly the two files, no temporaries or lock beside it.
    for _ in 0..2 {
        assert_eq!(compare(dir.path(), &one, &three, &[]).code, Some(0));
        assert_eq!(listing(&dir.path().join("out")), BTreeSet::from(["compare.html".into(), "compare.md".into()]));
        assert!(listing(dir.path()).iter().all(|n| !n.starts_with(".out")), "{:?}", listing(dir.path()));
    }
    // A run's folder is refused, not replaced: its report stays.
    let run = Path::new(&one).parent().expect("the run's folder").to_str().expect("UTF-8").to_owned();
    let before = listing(Path::new(&run));
    let into_run = resim(dir.path(), &["compare", &one, &three, "--out", &run]);
    assert_eq!(into_run.code, Some(2), "{}", into_run.stderr);
    assert!(into_run.stderr.contains("a folder of its own"), "{}", into_run.stderr);
    assert_eq!(listing(Path::new(&run)), before);
}

#[test]
fn retries_under_errors_are_a_significant_change() {
    let dir = tmp();
    let one = report(dir.path(), "one", RETRY, &[NO_RETRY]);
    let three = report(dir.path(), "three", RETRY, &[]);
    let r = compare(dir.path(), &one, &three, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(significant(&r, "users availability"), "{}", r.stdout);
    assert!(line(&r, "users availability").trim_end().ends_with("better"));
    assert!(line(&r, "front->back retries").contains("yes ("), "retries appear only with 3 attempts");
    assert!(r.stdout.contains("test: Welch's t-test"), "the test is stated:\n{}", r.stdout);

    // Without thresholds, the gate fails on the significant availability drop from 3 attempts to 1 ...
    let back = compare(dir.path(), &three, &one, &["--fail-on-regression"]);
    assert_eq!(back.code, Some(1), "{}\n{}", back.stdout, back.stderr);
    assert!(back.stderr.contains("users availability"), "the failed check is named:\n{}", back.stderr);
    // ... and on the other way too, rightly: successful retries cost latency, and p99 rose significantly.
    let up = compare(dir.path(), &one, &three, &["--fail-on-regression"]);
    assert_eq!(up.code, Some(1), "{}\n{}", up.stdout, up.stderr);
    assert!(up.stderr.contains("users latency p99") && !up.stderr.contains("users availability"), "{}", up.stderr);
    // An availability threshold alone passes the improvement.
    let avail = compare(dir.path(), &one, &three, &["--fail-on-regression", "--max-error-increase", "0.1%"]);
    assert_eq!(avail.code, Some(0), "{}", avail.stderr);

    // Both files are written, naming A and B, their scenario, seed and replications, and the verdict.
    let md = fs::read_to_string(dir.path().join("out/compare.md")).expect("compare.md");
    for needle in
        ["| scenario | retry-under-errors | retry-under-errors |", "| seed | 3 | 3 |", "| replications | 5 | 5 |"]
    {
        assert!(md.contains(needle), "compare.md lacks {needle:?}:\n{md}");
    }
    // Availability is better, latency worse: the verdict says so.
    assert!(md.contains("**Verdict:** mixed: ") && md.contains("significant improvements"), "{md}");
    assert!(md.contains("| users availability | 69.932% ±0.888% | 97.341% ±0.302% | +27.409 pp |"), "{md}");
    assert!(md.contains(&one) && md.contains(&three), "compare.md names both files");
    let html = fs::read_to_string(dir.path().join("out/compare.html")).expect("compare.html");
    assert!(html.contains("<svg") && html.contains("users availability") && html.contains("users latency p99"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="), "self-contained");
}

#[test]
fn a_seed_only_change_is_not_significant() {
    let dir = tmp();
    let a = report(dir.path(), "a", MMCK, &["seed=1"]);
    let b = report(dir.path(), "b", MMCK, &["seed=2"]);
    let r = compare(dir.path(), &a, &b, &["--fail-on-regression"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    for metric in ["users availability", "users latency p99"] {
        assert!(!significant(&r, metric), "{metric} differs by seed only:\n{}", line(&r, metric));
    }
    assert!(r.stdout.contains("(scenario mm2k, seed 1, 10 replications)"), "{}", r.stdout);
}

#[test]
fn p99_threshold_gates_a_real_regression_only() {
    // Reports from `resim run` output folders, compared by folder.
    let dir = tmp();
    let file = dir.path().join("mm2k.yaml");
    fs::write(&file, MMCK).expect("write the scenario");
    let file = file.to_str().expect("UTF-8 path");
    let fast = dir.path().join("fast");
    let slow = dir.path().join("slow");
    let (fast, slow) = (fast.to_str().expect("UTF-8"), slow.to_str().expect("UTF-8"));
    for (out, sets) in [(fast, vec![]), (slow, vec!["--set", SLOWER])] {
        let mut args = vec!["run", file, "--out", out, "--quiet"];
        args.extend(sets);
        assert_eq!(resim(dir.path(), &args).code, Some(0));
    }
    let gate = ["--fail-on-regression", "--max-p99-increase", "10%"];
    let r = compare(dir.path(), fast, slow, &gate);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--max-p99-increase 10%: users latency p99"), "{}", r.stderr);
    assert!(r.stdout.contains("regression check FAILED"), "{}", r.stdout);

    let same = compare(dir.path(), fast, fast, &gate);
    assert_eq!(same.code, Some(0), "{}\n{}", same.stdout, same.stderr);
    assert!(same.stdout.contains("no significant difference"), "{}", same.stdout);
    assert!(same.stdout.contains("regression checks: all passed"), "{}", same.stdout);
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tmp();
    let good = report(dir.path(), "good", MMCK, &["replications=2", "duration=10s"]);
    let write = |name: &str, text: &str| -> String {
        let p: PathBuf = dir.path().join(name);
        fs::write(&p, text).expect("write");
        p.to_str().expect("UTF-8").to_owned()
    };
    let not_json = write("notes.json", "this is not JSON");
    let other = write("other.json", r#"{ "schema": "someone.else/v2", "scenario": "x" }"#);
    let no_schema = write("empty.json", "{}");
    let malformed = write(
        "bad.json",
        r#"{ "schema": "resim.report/v1", "scenario": "x", "seed": 1, "replications": 1, "duration_s": 1,
             "workloads": { "u": { "availability": 1 } } }"#,
    );
    let folder = dir.path().join("empty-folder");
    fs::create_dir(&folder).expect("mkdir");
    let missing = dir.path().join("missing.json");
    let cases: [(&str, &str); 6] = [
        (missing.to_str().expect("UTF-8"), "cannot read"),
        (&not_json, "is not JSON"),
        (&other, "is not a resim report"),
        (&no_schema, "`schema` is missing"),
        (&malformed, "workloads.u.availability"),
        (folder.to_str().expect("UTF-8"), "holds no report.json"),
    ];
    for (bad, needle) in cases {
        for (a, b) in [(good.as_str(), bad), (bad, good.as_str())] {
            let cwd = tmp();
            let r = resim(cwd.path(), &["compare", a, b, "--fail-on-regression"]);
            assert_eq!(r.code, Some(2), "compare {a} {b}: {}", r.stderr);
            assert!(r.stderr.starts_with("error: ") && r.stderr.contains(needle), "expected {needle:?}:\n{}", r.stderr);
            assert!(r.stderr.contains(bad), "the message names the file:\n{}", r.stderr);
            assert_eq!(r.stdout, "");
            assert_eq!(listing(cwd.path()), BTreeSet::new(), "nothing written (not even out/compare)");
        }
    }
}
