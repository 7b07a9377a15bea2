//! Envoy imports (`imports: - envoy: FILE`): a bootstrap using every resilience field,
//! one relying on Envoy's defaults and an xDS resource list print the expected resim
//! keys (`resim import envoy`), run when imported into a scenario, give the same
//! report.json as the scenario written with those keys, and every mistake is refused
//! at its file, line, column and key with a help line.

use crate::common::{fixtures, resim_in};

/// `resim import FORMAT ARGS` in the format's fixtures, which must succeed.
pub fn imported(format: &str, args: &[&str]) -> String {
    let mut all = vec!["import", format];
    all.extend(args);
    let ran = resim_in(&fixtures(format), &all);
    assert_eq!(ran.code, 0, "resim {all:?}: {}", ran.stderr);
    ran.stdout.replace(env!("CARGO_PKG_VERSION"), "VERSION")
}

/// Runs `scenario` of the format's fixtures; its report.json.
pub fn report(format: &str, scenario: &str) -> Vec<u8> {
    let out = tempfile::tempdir().expect("a temporary directory");
    let dir = out.path().join("out");
    let ran = resim_in(&fixtures(format), &["run", scenario, "--out", dir.to_str().expect("utf-8 path"), "-q"]);
    assert_eq!(ran.code, 0, "resim run {scenario}: {}", ran.stderr);
    std::fs::read(dir.join("report.json")).expect("report.json written")
}

/// The scenario with imported policies and the one written with their resim keys give
/// byte-identical reports (the reports hold no scenario text).
pub fn assert_round_trip(format: &str) {
    let imported = report(format, "scenario.yaml");
    let written = report(format, "scenario_keys.yaml");
    assert!(imported == written, "{format}: the imported scenario's report differs from the one with resim keys");
}

/// A refused import: exit 2, and stderr names each of `needles` (file:line:column, key,
/// help).
pub fn assert_refused(format: &str, args: &[&str], needles: &[&str]) {
    let ran = resim_in(&fixtures(format), args);
    assert_eq!(ran.code, 2, "resim {args:?} should be refused; stdout:\n{}\nstderr:\n{}", ran.stdout, ran.stderr);
    for needle in needles.iter().chain(&["help:"]) {
        assert!(ran.stderr.contains(needle), "resim {args:?}: stderr should mention {needle:?}:\n{}", ran.stderr);
    }
}

#[test]
fn a_bootstrap_with_every_resilience_field_imports_to_resim_keys() {
    let out = imported("envoy", &["bootstrap_full.yaml", "--caller", "frontend"]);
    insta::assert_snapshot!("envoy-bootstrap-full", out);
}

#[test]
fn a_minimal_bootstrap_takes_envoys_defaults() {
    let out = imported("envoy", &["bootstrap_minimal.yaml"]);
    for default in [
        "overall_timeout: 15s",
        "max_attempts: 2",
        "base: 25ms, cap: 250ms",
        "max_pending_requests: 1024",
        "max_retries: 3",
        "load_balancer: round_robin",
        "previous_hosts: false",
    ] {
        assert!(out.contains(default), "{default} missing:\n{out}");
    }
    insta::assert_snapshot!("envoy-bootstrap-minimal", out);
}

#[test]
fn xds_resources_in_several_documents_import_with_istio_cluster_names() {
    let out = imported("envoy", &["xds_resources.yaml", "--caller", "productpage"]);
    assert!(out.contains("\"productpage->details\""), "the cluster's host names the service:\n{out}");
    assert!(!out.contains("overall_timeout"), "a 0s route timeout is no timeout:\n{out}");
    insta::assert_snapshot!("envoy-xds-resources", out);
}

#[test]
fn an_imported_bootstrap_runs_and_matches_the_scenario_written_in_resim_keys() {
    assert_round_trip("envoy");
}

#[test]
fn every_envoy_mistake_is_refused_where_it_is() {
    let cases: [(&str, &[&str]); 6] = [
        (
            "errors/unknown_key.yaml",
            &["errors/unknown_key.yaml:16:29", "route.retry_polcy", "did you mean `retry_policy`"],
        ),
        ("errors/wrong_type.yaml", &["errors/wrong_type.yaml:7:24", "retry_policy.num_retries", "expected a number"]),
        (
            "errors/weighted_clusters.yaml",
            &["errors/weighted_clusters.yaml:8:15", "route.weighted_clusters", "probability"],
        ),
        (
            "errors/retriable_headers.yaml",
            &["errors/retriable_headers.yaml:10:27", "retry_policy.retry_on", "retriable-headers"],
        ),
        ("errors/fault_filter.yaml", &["errors/fault_filter.yaml:10:21", "http_filters.0", "resim's `faults`"]),
        ("errors/ring_hash.yaml", &["errors/ring_hash.yaml:4:16", "resources.0.lb_policy", "RING_HASH"]),
    ];
    for (file, needles) in cases {
        assert_refused("envoy", &["import", "envoy", file], needles);
    }
}

#[test]
fn a_cluster_mapped_to_a_service_the_scenario_lacks_is_refused_with_a_suggestion() {
    let needles = ["bootstrap_minimal.yaml:26:13", "backned", "did you mean `backend`"];
    assert_refused("envoy", &["check", "errors/unknown_service.yaml"], &needles);
}

#[test]
fn a_cluster_the_caller_does_not_call_is_ignored_and_the_scenarios_keys_win() {
    let ran = resim_in(&fixtures("envoy"), &["check", "scenario_partial.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for needle in [
        "bootstrap_full.yaml:120:13 static_resources.clusters.1.name: `frontend` does not call `ratings`",
        "services.frontend.calls.0.timeout: the scenario's \"1s\" wins over \"500ms\"",
        "services.frontend.calls.0.overall_timeout <- bootstrap_full.yaml:38:38",
    ] {
        assert!(ran.stdout.contains(needle), "{needle:?} missing:\n{}", ran.stdout);
    }
}
