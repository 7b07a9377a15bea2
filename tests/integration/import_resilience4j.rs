//! The resilience4j import (`resilience4j: application.yml`): what `resim import
//! resilience4j` prints for Spring Boot files written from resilience4j's guide, YAML
//! and `application.properties` (snapshots), that each imports into a small scenario
//! that runs, that the imported policies simulate byte for byte as the same policies
//! written in resim keys, and that every mistake is refused at its file, line, column
//! and key with a help line.

use std::path::{Path, PathBuf};

use resim::import::{self, Context, Entry, Format, Source};
use resim::scenario::ScenarioError;
use resim::scenario::load::{load_file, load_str};
use resim::{RunOptions, run};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import/resilience4j");

fn fixture(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// `resim import resilience4j ARGS` run in the fixtures' folder: its exit code and output.
fn import_cli(args: &[&str]) -> (Option<i32>, String, String) {
    let ran = crate::common::resim_in(Path::new(DIR), &[&["import", "resilience4j"], args].concat());
    (Some(ran.code), ran.stdout, ran.stderr)
}

#[test]
fn the_full_file_imports_every_property_with_its_origin() {
    let (code, out, err) =
        import_cli(&["full.yml", "--map", "backendA=frontend->reviews", "--map", "backendB=frontend->ratings"]);
    assert_eq!(code, Some(0), "{err}");
    insta::assert_snapshot!("resilience4j-full", out);
}

#[test]
fn kebab_case_and_lower_case_enums_bind_as_spring_binds_them() {
    let (code, out, err) = import_cli(&["kebab.yml"]);
    assert_eq!(code, Some(0), "{err}");
    insta::assert_snapshot!("resilience4j-kebab", out);
}

#[test]
fn an_instance_without_properties_takes_every_default() {
    let (code, out, err) = import_cli(&["minimal.yml"]);
    assert_eq!(code, Some(0), "{err}");
    insta::assert_snapshot!("resilience4j-minimal", out);
}

#[test]
fn an_application_properties_file_reads_as_its_yaml_form() {
    let (code, out, err) = import_cli(&["application.properties", "--map", "backendA=frontend->reviews"]);
    assert_eq!(code, Some(0), "{err}");
    insta::assert_snapshot!("resilience4j-properties", out);
}

/// scenario.yaml with its import entry replaced by `entry`.
fn with_import(entry: &str) -> String {
    let text = std::fs::read_to_string(fixture("scenario.yaml")).expect("scenario.yaml");
    let head = text.split("imports:").next().expect("scenario.yaml has imports");
    format!("{head}imports:\n{entry}")
}

#[test]
fn each_file_imported_into_a_scenario_runs() {
    let entries = [
        "  - resilience4j: full.yml\n    instances: { backendA: \"frontend->reviews\", backendB: \"*->ratings\" }\n",
        "  - resilience4j: kebab.yml\n",
        "  - resilience4j: minimal.yml\n",
        "  - resilience4j: application.properties\n    instances: { backendA: \"frontend->reviews\" }\n",
    ];
    for entry in entries {
        let s = load_str(&with_import(entry), &fixture("s.yaml"), &[]).unwrap_or_else(|e| panic!("{entry}: {e}"));
        assert!(!s.imports.applied.is_empty(), "{entry}: nothing imported");
        let r = run(&s.model, &RunOptions::default());
        let calls: f64 = r.edges.values().map(|e| e.calls.value()).sum();
        assert!(calls > 1000.0, "{entry}: {calls} calls");
    }
}

#[test]
fn imported_policies_simulate_exactly_as_the_same_keys_written_in_resim() {
    let report = |file: &str| {
        let s = load_file(&fixture(file), &[]).unwrap_or_else(|e| panic!("{file}: {e}"));
        run(&s.model, &RunOptions::default())
    };
    let imported = report("scenario.yaml");
    let written = report("scenario-keys.yaml");
    // The policies act: ratings' slow tail times out and is retried, reviews' rate
    // limiter (10 a second, no wait) refuses half of the 20 calls a second.
    let ratings = &imported.edges["frontend->ratings"];
    assert!(ratings.attempt_outcomes["timeout"].value() > 0.0 && ratings.retries.value() > 0.0);
    assert!(imported.edges["frontend->reviews"].rate_limited.value() > 0.0);
    assert_eq!(imported.to_json(), written.to_json(), "report.json differs");
}

/// The error reading `file` (an instance map of `map`) with no scenario around it.
fn refused(file: &str, map: &[(&str, &str)]) -> ScenarioError {
    let src = Source::read(&fixture(file), Path::new(file)).expect("the fixture parses");
    let map = map.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let entry = Entry { format: Format::Resilience4j, files: vec![src], map, caller: None, key: "imports.0".into() };
    match import::read_entry(&entry, &Context::default()) {
        Ok(i) => panic!("{file} was accepted: {i:?}"),
        Err(e) => e,
    }
}

/// Checks `e` is at `file:line:column`, key `key`, mentions `needles` and has a help line.
fn located(e: &ScenarioError, file: &str, (line, column): (usize, usize), key: &str, needles: &[&str]) {
    let text = e.to_string();
    assert_eq!((e.file.to_str(), e.line, e.column), (Some(file), line, column), "{text}");
    assert_eq!(e.key, key, "{text}");
    assert!(e.help.is_some(), "no help in:\n{text}");
    for n in needles {
        assert!(text.contains(n), "`{n}` missing from:\n{text}");
    }
}

/// A refused fixture: its name, line and column, key, and words of the message or help.
type Case = (&'static str, (usize, usize), &'static str, &'static [&'static str]);

#[test]
fn every_mistake_is_located_with_help() {
    let cases: [Case; 11] = [
        (
            "err-unknown-property.yml",
            (5, 7),
            "resilience4j.circuitbreaker.instances.backendA.slidingWindowSise",
            &["did you mean `slidingWindowSize`"],
        ),
        ("err-wrong-type.yml", (5, 20), "resilience4j.retry.instances.backendA.maxAttempts", &["whole number"]),
        (
            "err-duration.yml",
            (5, 21),
            "resilience4j.retry.instances.backendA.waitDuration",
            &["not a duration", "PT10S"],
        ),
        (
            "err-predicate.yml",
            (5, 7),
            "resilience4j.circuitbreaker.instances.backendA.recordFailurePredicate",
            &["Java class", "recordExceptions"],
        ),
        (
            "err-exception-class.yml",
            (6, 11),
            "resilience4j.circuitbreaker.instances.backendA.ignoreExceptions.0",
            &["BusinessException", "superclass"],
        ),
        (
            "err-thread-pool.yml",
            (2, 1),
            "resilience4j.thread-pool-bulkhead",
            &["thread-pool bulkhead", "maxConcurrentCalls"],
        ),
        (
            "err-base-config.yml",
            (8, 19),
            "resilience4j.retry.instances.backendA.baseConfig",
            &["no config `shard`", "did you mean `shared`"],
        ),
        (
            "err-open-backoff.yml",
            (6, 33),
            "resilience4j.circuitbreaker.instances.backendA.enableExponentialBackoff",
            &["waitDurationInOpenState"],
        ),
        (
            "err-aspect-order.yml",
            (10, 23),
            "resilience4j.retry.retryAspectOrder",
            &["as CircuitBreaker(Retry(", "Retry(CircuitBreaker("],
        ),
        (
            "err-initial-state.yml",
            (5, 21),
            "resilience4j.circuitbreaker.instances.backendA.initialState",
            &["HALF_OPEN", "FORCED_OPEN"],
        ),
        ("err-module.yml", (3, 3), "resilience4j.circuitbraker", &["did you mean `circuitbreaker`"]),
    ];
    for (file, at, key, needles) in cases {
        located(&refused(file, &[]), file, at, key, needles);
    }
}

#[test]
fn names_that_reach_no_edge_are_refused() {
    // Under a scenario, an instance named after no service needs the map.
    let text = with_import("  - resilience4j: unmapped.yml\n");
    let e = load_str(&text, &fixture("s.yaml"), &[]).expect_err("backendA names no service");
    let file = fixture("unmapped.yml").display().to_string();
    located(&e, &file, (4, 5), "resilience4j.timelimiter.instances.backendA", &["instances: { backendA:"]);
    // A map entry for an instance the files do not have.
    let e = refused("unmapped.yml", &[("backendX", "frontend->reviews")]);
    assert_eq!(e.key, "imports.0.instances.backendX", "{e}");
    assert!(e.help.as_deref().is_some_and(|h| h.contains("backendA")), "{e}");
    // The command exits 2 with the location.
    let (code, _, err) = import_cli(&["err-unknown-property.yml"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("err-unknown-property.yml:5:7"), "{err}");
}
