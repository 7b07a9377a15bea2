//! `imports:` as a whole, with the `resim` format (resim keys by service and edge, what
//! `resim import` prints): a scenario importing its policies runs exactly as the same
//! scenario with the keys written in; the scenario's own keys win and `resim check` says
//! so; every mistake in an import is located in the file that holds it.

use std::fs;
use std::path::{Path, PathBuf};

use resim::run::{RunOptions, run};
use resim::scenario::load_file;

/// The scenario without policies; `{imports}` and `{edge}` are filled in per test.
const BASE: &str = "\
name: imported
duration: 2m
warmup: 10s
replications: 2
seed: 5
{imports}services:
  front:
    instances: 2
    servers: 8
    capacity: 40
    service_time: { exponential: { mean: 5ms } }
    calls:
      - to: back
{edge}  back:
    instances: 3
    servers: 2
    capacity: 10
    service_time: { exponential: { mean: 8ms } }
{back}workloads:
  - name: users
    target: front
    arrivals: { poisson: { rate: 300/s } }
faults:
  - { kind: error, target: back#1, at: 30s, for: 20s, probability: 0.6 }
";

/// The same policies as tests/fixtures/import/resim/policies.yaml, written in.
const EDGE: &str = "        timeout: 200ms
        overall_timeout: 1s
        retry:
          max_attempts: 3
          backoff: { exponential: { base: 25ms, cap: 250ms } }
          jitter: full
          retry_on: [error, timeout, rejected]
        circuit_breakers: { max_pending_requests: 16, max_requests: 32 }
";
const BACK: &str = "    load_balancer: power_of_two
    outlier_ejection: { consecutive_5xx: 3, interval: 5s, base_ejection_time: 10s }
";
const SLOS: &str = "slos:
  - { name: front-availability, workload: users, kind: availability, objective: 99.5% }
alerting:
  rules:
    - { burn_rate: 14.4, long: 1h, short: 5m, severity: page }
";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/resim/policies.yaml")
}

/// Writes `text` as `s.yaml` in `dir` with the fixture beside it; returns its path.
fn write(dir: &Path, text: &str) -> PathBuf {
    fs::copy(fixture(), dir.join("policies.yaml")).unwrap();
    let path = dir.join("s.yaml");
    fs::write(&path, text).unwrap();
    path
}

fn scenario(imports: &str, edge: &str, back: &str, tail: &str) -> String {
    BASE.replace("{imports}", imports).replace("{edge}", edge).replace("{back}", back) + tail
}

fn report_json(path: &Path) -> String {
    let s = load_file(path, &[]).unwrap_or_else(|e| panic!("{e}"));
    run(&s.model, &RunOptions::default()).to_json()
}

fn resim(args: &[&str], dir: &Path) -> (i32, String, String) {
    let ran = crate::common::resim_in(dir, args);
    (ran.code, ran.stdout, ran.stderr)
}

#[test]
fn imported_policies_run_exactly_as_the_same_keys_written_in() {
    let dir = tempfile::tempdir().unwrap();
    let written = write(dir.path(), &scenario("", EDGE, BACK, SLOS));
    let a = report_json(&written);
    let imported = write(dir.path(), &scenario("imports:\n  - resim: policies.yaml\n", "", "", ""));
    let b = report_json(&imported);
    assert!(a.contains("front-availability") && a.contains("\"retries\""), "the policies ran");
    assert_eq!(a, b, "report.json differs between written and imported policies");
}

#[test]
fn what_resim_import_prints_imports_back_to_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let (code, printed, err) = resim(&["import", "resim", fixture().to_str().unwrap()], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(printed.contains("# resim import resim "), "{printed}");
    assert!(printed.contains("policies.yaml:11:14 edges.front->back.timeout"), "{printed}");
    let first = write(dir.path(), &scenario("imports:\n  - resim: policies.yaml\n", "", "", ""));
    let a = report_json(&first);
    fs::write(dir.path().join("policies.yaml"), &printed).unwrap();
    let b = report_json(&first);
    assert_eq!(a, b);
}

#[test]
fn the_scenarios_own_keys_win_and_check_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let own = "        timeout: 300ms\n";
    let path = write(dir.path(), &scenario("imports:\n  - resim: policies.yaml\n", own, "", ""));
    let s = load_file(&path, &[]).unwrap();
    assert_eq!(s.spec.services["front"].calls[0].timeout.map(|d| d.secs()), Some(0.3));
    let (code, out, err) = resim(&["check", "s.yaml"], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported: "), "{out}");
    assert!(out.contains("services.front.calls.0.retry.max_attempts <- policies.yaml:14:21"), "{out}");
    assert!(
        out.contains(
            "services.front.calls.0.timeout: the scenario's \"300ms\" wins over \"200ms\" from policies.yaml:11:14"
        ),
        "{out}"
    );
}

/// Runs `resim check` on the scenario with `imports` and the fixture edited by `edit`;
/// returns stderr after asserting exit 2 and no panic.
fn refused(imports: &str, edit: impl Fn(String) -> String) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &scenario(imports, "", "", ""));
    let p = dir.path().join("policies.yaml");
    fs::write(&p, edit(fs::read_to_string(&p).unwrap())).unwrap();
    let (code, out, err) = resim(&["check", "s.yaml"], dir.path());
    assert_eq!(code, 2, "expected a refusal:\n{out}{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn mistakes_in_an_imported_file_are_located_there() {
    let one = "imports:\n  - resim: policies.yaml\n";
    // A value resim refuses: located at the value in the imported file, named by its key.
    let e = refused(one, |t| t.replace("max_attempts: 3", "max_attempts: 0"));
    assert!(e.contains("services.front.calls.0.retry.max_attempts:"), "{e}");
    assert!(e.contains("--> policies.yaml:14:21") || e.contains("policies.yaml:14:21"), "{e}");
    assert!(e.contains("imported from `edges.front->back.retry.max_attempts`"), "{e}");
    // A misspelt resim key: the nearest one suggested.
    let e = refused(one, |t| t.replace("overall_timeout", "overal_timeout"));
    assert!(e.contains("unknown key `overal_timeout`") && e.contains("did you mean `overall_timeout`?"), "{e}");
    // A service the scenario does not have, and an edge it does not call.
    let e = refused(one, |t| t.replace("  back:\n    load_balancer", "  bakc:\n    load_balancer"));
    assert!(e.contains("no service `bakc`") && e.contains("did you mean `back`?"), "{e}");
    let e = refused(one, |t| t.replace("\"front->back\"", "\"back->front\""));
    assert!(e.contains("`back` calls `front` in the scenario"), "{e}");
    // Not YAML.
    let e = refused(one, |t| t.replace("edges:", "edges: [unclosed"));
    assert!(e.contains("policies.yaml:"), "{e}");
}

#[test]
fn mistakes_in_the_imports_entry_are_located_in_the_scenario() {
    let e = refused("imports:\n  - resim: missing.yaml\n", |t| t);
    assert!(e.contains("imports.0.resim:") && e.contains("missing.yaml") && e.contains("--> s.yaml:7:"), "{e}");
    let e = refused("imports:\n  - resim: /dev/null\n", |t| t);
    assert!(e.contains("not a regular file") && e.contains("help: name a regular file"), "{e}");
    let e = refused("imports:\n  - resim: policies.yaml\n    istio: policies.yaml\n", |t| t);
    assert!(e.contains("two formats"), "{e}");
    let e = refused("imports:\n  - resim: policies.yaml\n    hosts: { a: b }\n", |t| t);
    assert!(e.contains("imports.0.hosts") && e.contains("resim imports have no `hosts`"), "{e}");
    let e = refused("imports:\n  - {}\n", |t| t);
    assert!(e.contains("names no format") && e.contains("`istio`"), "{e}");
    let e = refused("imports:\n  - resim: policies.yaml\n    caller: front\n", |t| t);
    assert!(e.contains("have no `caller`"), "{e}");
}

#[test]
fn two_imports_that_disagree_are_refused_with_both_places() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &scenario("imports:\n  - resim: policies.yaml\n  - resim: other.yaml\n", "", "", ""));
    fs::write(dir.path().join("other.yaml"), "edges:\n  \"*->back\":\n    timeout: 250ms\n").unwrap();
    let (code, _, err) = resim(&["check", "s.yaml"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("imported twice") && err.contains("policies.yaml:11:14") && err.contains("other.yaml:3:14"),
        "{err}"
    );
}

/// The mesh example: bookinfo's policies from its Istio files, its objective from
/// OpenSLO; `resim check` shows where they came from and the run pages on the outage.
#[test]
fn the_mesh_example_takes_its_policies_and_objective_from_the_deployed_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = resim(&["check", "scenarios/mesh/bookinfo.yaml"], root);
    assert_eq!(code, 0, "{err}");
    for needle in [
        "services.reviews.calls.0.retry.max_attempts <- scenarios/mesh/istio/virtual-services.yaml:",
        "services.ratings.outlier_ejection.consecutive_gateway_failure <- scenarios/mesh/istio/destination-rules.yaml:",
        "slos.0 <- scenarios/mesh/slo/productpage.yaml",
        "spec.trafficPolicy.tls: ",
    ] {
        assert!(out.contains(needle), "missing `{needle}` in:\n{out}");
    }
    let s = load_file(&root.join("scenarios/mesh/bookinfo.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let calls = &s.spec.services["reviews"].calls[0];
    assert_eq!(calls.retry.as_ref().and_then(|r| r.max_attempts), Some(4), "3 retries + the first");
    assert_eq!(calls.timeout.map(|d| d.secs()), Some(0.25));
    let report = run(&s.model, &RunOptions::default());
    let slo = &report.slos[0];
    assert_eq!((slo.name.as_str(), slo.objective), ("productpage-availability", 0.995));
    let page = slo.alerts.first().expect("the outage pages");
    assert!((300.0..=320.0).contains(&page.fired_at_s), "fired at {} s", page.fired_at_s);
}
