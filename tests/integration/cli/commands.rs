//! `resim check`, `schema`, `theory`, `--help` and `--version`.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use super::{assert_mentions, example, path_str, resim};
use crate::common::DIST_KINDS;

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
