//! Istio imports (`imports: - istio: FILES`): bookinfo's DestinationRules and
//! VirtualServices print the expected resim keys (`resim import istio`), with istiod's
//! defaults where they say nothing; imported into a scenario they run and give the same
//! report.json as the scenario written with those keys; every mistake is refused at its
//! file, line, column and key with a help line.

use crate::import_envoy::{assert_refused, assert_round_trip, imported};

#[test]
fn bookinfo_rules_import_to_resim_keys() {
    let files = ["destination_rules.yaml", "virtual_services.yaml"];
    let out = imported("istio", &[files[0], files[1], "--map", "reviews.bookinfo.svc.cluster.local=reviews"]);
    insta::assert_snapshot!("istio-bookinfo", out);
}

#[test]
fn a_route_without_retries_takes_istiods_default_retry_policy() {
    let out = imported("istio", &["virtual_services.yaml"]);
    let details = out.split("\"*->details\":").nth(1).expect("the details edge");
    for default in [
        "max_attempts: 3",
        "retry_on: [error, rejected]",
        "base: 25ms, cap: 250ms",
        "previous_hosts: true",
        "host_selection_retry_max_attempts: 5",
        "max_requests: 4294967295",
    ] {
        assert!(details.contains(default), "{default} missing:\n{details}");
    }
    assert!(!details.split("\"*->").next().unwrap_or("").contains("overall_timeout"), "Istio's default: no timeout");
}

#[test]
fn imported_rules_run_and_match_the_scenario_written_in_resim_keys() {
    assert_round_trip("istio");
}

#[test]
fn every_istio_mistake_is_refused_where_it_is() {
    let cases: [(&str, &[&str]); 5] = [
        ("errors/fault.yaml", &["errors/fault.yaml:8:7", "spec.http.0.fault", "resim's `faults`"]),
        ("errors/unknown_key.yaml", &["errors/unknown_key.yaml:10:7", "spec.http.0.retires", "did you mean `retries`"]),
        ("errors/wrong_type.yaml", &["errors/wrong_type.yaml:11:19", "retries.attempts", "istio.io"]),
        (
            "errors/consistent_hash.yaml",
            &["errors/consistent_hash.yaml:9:7", "loadBalancer.consistentHash", "ROUND_ROBIN"],
        ),
        ("errors/port_level.yaml", &["errors/port_level.yaml:8:5", "portLevelSettings", "move the settings up"]),
    ];
    for (file, needles) in cases {
        assert_refused("istio", &["import", "istio", file], needles);
    }
}

#[test]
fn a_host_the_scenario_lacks_is_refused_with_a_suggestion() {
    let needles = ["errors/rule.yaml:6:9", "reveiws", "did you mean `reviews`"];
    assert_refused("istio", &["check", "errors/unknown_service.yaml"], &needles);
}
