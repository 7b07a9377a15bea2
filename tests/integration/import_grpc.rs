//! gRPC service configs in (issue 24): `resim import grpc` output for configs written from
//! gRFC A6 and grpc-proto's `ServiceConfig` (snapshots), each imported into a small
//! scenario and run, the round trip (the same scenario in resim keys gives the same
//! report.json bytes), and every mistake located in the file with a help line.

use std::fs;
use std::path::{Path, PathBuf};

use resim::import::{self, Context, Entry, Format, Source};
use resim::scenario::{ScenarioError, load_file};
use resim::{RunOptions, run};

/// The fixtures, written from the gRPC docs.
fn fixtures() -> PathBuf {
    crate::common::fixtures("grpc")
}

/// `resim import grpc FILE --map ...` run in the fixtures folder: exit code, stdout, stderr.
fn import_cli(file: &str, maps: &[&str]) -> (i32, String, String) {
    let mut args = vec!["import", "grpc", file];
    for m in maps {
        args.extend(["--map", m]);
    }
    let ran = crate::common::resim_in(&fixtures(), &args);
    (ran.code, ran.stdout, ran.stderr)
}

/// The maps of the full fixtures.
const GREETER: &str = "helloworld.Greeter=frontend->greeter";
const EVERY_FIELD_MAPS: [&str; 3] =
    [GREETER, "routeguide.RouteGuide/GetFeature=frontend->routes", "helloworld.Farewell=frontend->farewell"];

fn snapshot(name: &str, file: &str, maps: &[&str]) {
    let (code, out, err) = import_cli(file, maps);
    assert_eq!(code, 0, "{file}: {err}");
    insta::assert_snapshot!(name, out);
}

#[test]
fn a6_example_imports_as_resim_keys() {
    snapshot("grpc-a6-retry", "a6_retry.json", &[GREETER]);
}

#[test]
fn hedging_imports_with_its_throttle() {
    snapshot("grpc-hedging", "hedging.json", &[]);
}

#[test]
fn every_field_imports_or_is_listed() {
    snapshot("grpc-every-field", "every_field.json", &EVERY_FIELD_MAPS);
}

#[test]
fn defaults_are_written_out_with_their_source() {
    snapshot("grpc-defaults", "defaults.json", &[GREETER, "helloworld.Farewell=*->farewell"]);
}

#[test]
fn outlier_detection_imports_as_the_callees_ejection() {
    snapshot("grpc-outlier-detection", "outlier_detection.json", &[GREETER]);
}

/// A scenario whose frontend calls greeter, routes and farewell; `extra` is appended
/// under `imports:` (or is empty), `calls` replaces the frontend's calls.
fn scenario_text(imports: &str, calls: &str) -> String {
    format!(
        "name: grpc-import\nduration: 20s\nwarmup: 0s\nreplications: 2\nseed: 7\n{imports}\
         services:\n  frontend:\n    servers: 8\n    service_time: {{ exponential: {{ mean: 2ms }} }}\n    calls:\n{calls}\
         \n  greeter:\n    instances: 3\n    servers: 2\n    capacity: 4\n    service_time: {{ exponential: {{ mean: 20ms }} }}\n\
         \x20 routes:\n    instances: 2\n    servers: 2\n    service_time: {{ exponential: {{ mean: 15ms }} }}\n\
         \x20 farewell:\n    servers: 2\n    service_time: {{ exponential: {{ mean: 10ms }} }}\n\
         workloads:\n  - name: users\n    target: frontend\n    arrivals: {{ poisson: {{ rate: 100/s }} }}\n\
         faults:\n  - {{ name: greeter-errors, kind: error, target: greeter, at: 5s, for: 5s, probability: 0.3 }}\n"
    )
}

/// The frontend's calls, plain.
const PLAIN_CALLS: &str = "      - to: greeter\n      - to: routes\n      - to: farewell";

/// Writes `text` as a scenario in a new temporary folder and loads it.
fn load(text: &str) -> Result<(tempfile::TempDir, resim::scenario::Scenario), ScenarioError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.yaml");
    fs::write(&path, text).expect("write");
    load_file(&path, &[]).map(|s| (dir, s))
}

/// The `imports:` entry for fixture `file` with `services` pairs.
fn imports(file: &str, services: &[(&str, &str)]) -> String {
    let map: Vec<String> = services.iter().map(|(k, v)| format!("{k}: \"{v}\"")).collect();
    let path = fixtures().join(file);
    format!("imports:\n  - grpc: {}\n    services: {{ {} }}\n", path.display(), map.join(", "))
}

fn report_json(text: &str) -> String {
    let (_dir, s) = load(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    run(&s.model, &RunOptions::default()).to_json()
}

#[test]
fn every_full_fixture_runs_in_a_scenario() {
    let greeter = ("helloworld.Greeter", "frontend->greeter");
    let cases: [(&str, Vec<(&str, &str)>); 5] = [
        ("a6_retry.json", vec![greeter]),
        ("hedging.json", vec![("helloworld.Greeter/SayHello", "frontend->greeter")]),
        (
            "every_field.json",
            vec![
                greeter,
                ("routeguide.RouteGuide/GetFeature", "frontend->routes"),
                ("helloworld.Farewell", "*->farewell"),
            ],
        ),
        ("defaults.json", vec![greeter, ("helloworld.Farewell", "frontend->farewell")]),
        ("outlier_detection.json", vec![greeter]),
    ];
    for (file, map) in cases {
        let (_dir, s) =
            load(&scenario_text(&imports(file, &map), PLAIN_CALLS)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!s.imports.applied.is_empty(), "{file}: nothing imported");
        let report = run(&s.model, &RunOptions::default());
        assert!(report.to_json().contains("\"users\""), "{file}");
    }
}

#[test]
fn resim_run_exits_0_on_an_imported_scenario() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = scenario_text(&imports("every_field.json", &every_field_map()), PLAIN_CALLS);
    fs::write(dir.path().join("s.yaml"), text).expect("write");
    let ran = crate::common::resim_in(dir.path(), &["run", "s.yaml", "--out", "out"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(dir.path().join("out/report.json").is_file());
}

fn every_field_map() -> Vec<(&'static str, &'static str)> {
    vec![
        ("helloworld.Greeter", "frontend->greeter"),
        ("routeguide.RouteGuide/GetFeature", "frontend->routes"),
        ("helloworld.Farewell", "frontend->farewell"),
    ]
}

/// every_field.json's policies written by hand in resim keys (not from `resim import`).
const EVERY_FIELD_IN_RESIM_KEYS: &str = "      - to: greeter
        overall_timeout: 1500ms
        timeout: 300ms
        retry:
          max_attempts: 5
          backoff: { exponential: { base: 50ms, multiplier: 1.5, cap: 800ms } }
          jitter: { proportional: { fraction: 0.2 } }
          retry_on: [error, timeout, rejected]
          throttling: { max_tokens: 20, token_ratio: 0.25 }
      - to: routes
        overall_timeout: 1250ms
        hedge: { max_attempts: 3, delay: 40ms, non_fatal_status_codes: [timeout, rejected], cancel: true }
        retry: { max_attempts: 1, retry_on: [timeout, rejected], throttling: { max_tokens: 20, token_ratio: 0.25 } }
      - to: farewell
        overall_timeout: 5s";

#[test]
fn imported_and_written_policies_give_the_same_report() {
    let imported = scenario_text(&imports("every_field.json", &every_field_map()), PLAIN_CALLS);
    let written = scenario_text("", EVERY_FIELD_IN_RESIM_KEYS);
    let balanced = written.replace("    instances: 3\n", "    instances: 3\n    load_balancer: round_robin\n");
    let balanced = balanced.replace("    instances: 2\n", "    instances: 2\n    load_balancer: round_robin\n");
    let balanced = balanced.replace("  farewell:\n", "  farewell:\n    load_balancer: round_robin\n");
    let (a, b) = (report_json(&imported), report_json(&balanced));
    assert!(a == b, "report.json differs between the imported and the written scenario");
    // The policies matter: without them the report is another.
    assert_ne!(a, report_json(&scenario_text("", PLAIN_CALLS)));
}

#[test]
fn the_a6_example_round_trips() {
    let imported =
        scenario_text(&imports("a6_retry.json", &[("helloworld.Greeter", "frontend->greeter")]), PLAIN_CALLS);
    let written = scenario_text(
        "",
        "      - to: greeter
        retry:
          max_attempts: 4
          backoff: { exponential: { base: 100ms, multiplier: 2, cap: 1s } }
          jitter: { proportional: { fraction: 0.2 } }
          retry_on: [rejected]
          throttling: { max_tokens: 10, token_ratio: 0.1 }
      - to: routes
      - to: farewell",
    );
    assert!(report_json(&imported) == report_json(&written), "report.json differs");
}

/// Reads fixture `errors/NAME` with the library, as `resim import` does, with `map`.
fn import_error(name: &str, map: &[(&str, &str)]) -> ScenarioError {
    let path = fixtures().join("errors").join(name);
    let src = Source::read(&path, Path::new(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let map = map.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let entry = Entry { format: Format::Grpc, files: vec![src], map, caller: None, key: "--map".into() };
    match import::read_entry(&entry, &Context::default()) {
        Ok(i) => panic!("{name}: accepted: {i:?}"),
        Err(e) => e,
    }
}

/// Each mistake: `file:line:column | key | in the message | in the help`.
const MISTAKES: &str = "\
both_policies.json:5:22 | methodConfig.0.hedgingPolicy | both `retryPolicy` and `hedgingPolicy` | keep one
max_attempts_one.json:5:22 | methodConfig.0.retryPolicy.maxAttempts | must be greater than 1 | first attempt
backoff_zero.json:6:25 | methodConfig.0.retryPolicy.initialBackoff | greater than 0 | A6
multiplier_zero.json:6:28 | methodConfig.0.retryPolicy.backoffMultiplier | greater than 0 | A6
shrinking_backoff.json:6:28 | methodConfig.0.retryPolicy.backoffMultiplier | shorter | at least 1
codes_empty.json:6:31 | methodConfig.0.retryPolicy.retryableStatusCodes | is empty | non-empty
missing_backoff.json:4:20 | methodConfig.0.retryPolicy | `initialBackoff` is missing | requires
code_without_outcome.json:6:47 | methodConfig.0.retryPolicy.retryableStatusCodes.1 | NOT_FOUND | remove
unknown_code.json:6:31 | methodConfig.0.hedgingPolicy.nonFatalStatusCodes.0 | not a gRPC status code | UNAVAILABLE
unknown_field.json:5:7 | methodConfig.0.retryPolicy.maxAttempt | unknown or unsupported key | `maxAttempts`
wrong_type.json:5:22 | methodConfig.0.retryPolicy.maxAttempts | expected a number | whole number
pick_first.json:3:21 | loadBalancingConfig.0.pick_first | gRFC A62 | load_balancer
throttling_tokens.json:3:18 | retryThrottling.maxTokens | (0, 1000] | A6
throttling_ratio.json:2:55 | retryThrottling.tokenRatio | below 0.001 | three decimals
duplicate_name.json:4:16 | methodConfig.1.name.0 | `helloworld.Greeter` is named twice | once
method_without_service.json:3:16 | methodConfig.0.name.0 | without its service | service
wait_for_ready.json:3:70 | methodConfig.0.waitForReady | waitForReady: true | remove it
hedge_five.json:4:39 | methodConfig.0.hedgingPolicy.maxAttempts | at most 4 | lower
unknown_top_key.json:2:3 | methodConfigs | unknown or unsupported key | `methodConfig`";

#[test]
fn every_mistake_is_located_with_help() {
    for row in MISTAKES.lines() {
        let [place, key, message, help] = row.split(" | ").collect::<Vec<_>>()[..] else { panic!("{row}") };
        let file = place.split(':').next().unwrap_or(place);
        let e = import_error(file, &[]);
        assert_eq!(format!("{}:{}:{} | {}", e.file.display(), e.line, e.column, e.key), format!("{place} | {key}"));
        assert!(e.message.contains(message), "{file}: {e}");
        assert!(e.help.as_deref().is_some_and(|h| h.contains(help)), "{file}: {e}");
    }
    let e = import_error("two_configs_one_edge.json", &[("helloworld.Greeter", "frontend->greeter")]);
    assert_eq!((e.line, e.key.as_str()), (4, "methodConfig.1"), "{e}");
    assert!(e.message.contains("frontend->greeter get two different method configs, methodConfig.0"), "{e}");
    assert!(e.help.is_some_and(|h| h.contains("resim has no methods")));
}

#[test]
fn a_mistake_exits_2_naming_file_line_key_and_help() {
    let (code, out, err) = import_cli("errors/max_attempts_one.json", &[]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("errors/max_attempts_one.json:5:22"), "{err}");
    assert!(err.contains("methodConfig.0.retryPolicy.maxAttempts"), "{err}");
    assert!(err.contains("help:"), "{err}");
}

#[test]
fn names_the_scenario_cannot_place_are_errors_with_help() {
    // No map: the scenario cannot tell which calls helloworld.Greeter is.
    let e = load(&scenario_text(&imports("a6_retry.json", &[]), PLAIN_CALLS)).map(|_| ()).unwrap_err();
    assert!(e.file.ends_with("a6_retry.json") && (e.line, e.column) == (5, 22), "{e}");
    assert_eq!(e.key, "methodConfig.0.name.0.service");
    assert!(e.help.is_some_and(|h| h.contains("services: { helloworld.Greeter: \"frontend->greeter\" }")));
    // A map to a service the scenario does not have, located at the map.
    let text = scenario_text(&imports("a6_retry.json", &[("helloworld.Greeter", "frontend->gretter")]), PLAIN_CALLS);
    let e = load(&text).map(|_| ()).unwrap_err();
    assert!(e.file.ends_with("s.yaml") && e.line == 8, "{e}");
    assert_eq!(e.key, "imports.0.services.helloworld.Greeter");
    assert_eq!(e.help.as_deref(), Some("did you mean `greeter`?"));
    // A map to a call the scenario does not make.
    let text = scenario_text(&imports("a6_retry.json", &[("helloworld.Greeter", "greeter->routes")]), PLAIN_CALLS);
    let e = load(&text).map(|_| ()).unwrap_err();
    assert!(e.message.contains("`greeter` calls `routes`"), "{e}");
}

#[test]
fn check_lists_what_was_not_simulated() {
    let (_dir, s) = load(&scenario_text(&imports("every_field.json", &every_field_map()), PLAIN_CALLS)).unwrap();
    let reasons: Vec<&str> = s.imports.ignored.iter().map(|i| i.origin.key.as_str()).collect();
    for key in ["healthCheckConfig", "connectionScaling", "methodConfig.0.waitForReady", "loadBalancingPolicy"] {
        assert!(reasons.contains(&key), "{key} not listed: {reasons:?}");
    }
}
