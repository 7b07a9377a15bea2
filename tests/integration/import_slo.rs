//! SLO specs imported: OpenSLO v1 and Sloth `prometheus/v1` files (fixtures under
//! `tests/fixtures/import/{openslo,sloth}/`, written from each project's documentation)
//! print as resim `slos` and `alerting.rules` (`resim import`, snapshotted), run inside a
//! small scenario with the SLOs and rules in `report.json`, give the same report as the
//! same SLOs written in resim keys, and every mistake is refused with its file, line,
//! column, key and a help line.
//!
//! Run with `cargo test --release --test integration -- import_slo`.

use std::path::PathBuf;

use resim::report::SloReport;
use resim::scenario::{ScenarioError, load_str};
use resim::{Report, RunOptions, run};

/// A shop whose checkout API is called by the `checkout` workload, with a payments
/// service behind it: every fixture's names resolve here. `IMPORTS` is replaced.
const SHOP: &str = "
name: slo-import
duration: 1m
replications: 1
seed: 3
window: 5s
services:
  api:
    servers: 8
    service_time: { exponential: { mean: 20ms } }
    calls: [ { to: payments } ]
  payments: { servers: 4, service_time: { exponential: { mean: 10ms } } }
workloads:
  - { name: checkout, target: api, arrivals: { poisson: { rate: 100/s } } }
IMPORTS
";

fn dir(format: &str) -> PathBuf {
    crate::common::fixtures(format)
}

/// `resim import FORMAT FILES...` run in the format's fixture folder: exit code, stdout, stderr.
fn import_cli(format: &str, files: &[&str]) -> (Option<i32>, String, String) {
    let ran = crate::common::resim_in(&dir(format), &[&["import", format], files].concat());
    (Some(ran.code), ran.stdout, ran.stderr)
}

/// The shop with `imports` (YAML lines), loaded as if written in the format's fixture folder.
fn load(format: &str, imports: &str) -> Result<resim::scenario::Scenario, ScenarioError> {
    load_str(&SHOP.replace("IMPORTS", imports), &dir(format).join("scenario.yaml"), &[])
}

fn report(format: &str, imports: &str) -> Report {
    let s = load(format, imports).unwrap_or_else(|e| panic!("{e}"));
    run(&s.model, &RunOptions::default())
}

fn slo<'a>(r: &'a Report, name: &str) -> &'a SloReport {
    r.slos
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no SLO `{name}` in {:?}", r.slos.iter().map(|s| &s.name).collect::<Vec<_>>()))
}

/// `(severity, burn rate, long, short)` of an SLO's alert rules, windows as written.
fn rules(s: &SloReport) -> Vec<(String, f64, String, String)> {
    s.alert_rules.iter().map(|r| (r.severity.clone(), r.burn_rate, r.long.clone(), r.short.clone())).collect()
}

/// A rule as [`rules`] lists it.
fn rule(severity: &str, burn_rate: f64, long: &str, short: &str) -> (String, f64, String, String) {
    (severity.to_owned(), burn_rate, long.to_owned(), short.to_owned())
}

#[test]
fn import_output_is_snapshotted_for_every_full_fixture() {
    for (format, files, name) in [
        ("sloth", &["full.yaml"][..], "sloth_full"),
        ("sloth", &["minimal.yaml"][..], "sloth_minimal"),
        ("sloth", &["kubernetes.yaml"][..], "sloth_kubernetes"),
        ("openslo", &["full.yaml"][..], "openslo_full"),
        ("openslo", &["minimal.yaml"][..], "openslo_minimal"),
        ("openslo", &["threshold.yaml"][..], "openslo_threshold"),
        ("openslo", &["sli.yaml", "slo.yaml"][..], "openslo_two_files"),
    ] {
        let (code, stdout, stderr) = import_cli(format, files);
        assert_eq!(code, Some(0), "{format} {files:?}: {stderr}");
        insta::assert_snapshot!(name, stdout);
    }
}

#[test]
fn sloth_slos_and_its_default_windows_run_in_a_scenario() {
    let r = report("sloth", "imports:\n  - sloth: full.yaml\n");
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).expect("report.json parses");
    let names: Vec<&str> = json["slos"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["checkout-requests-availability", "checkout-requests-latency", "checkout-payments-errors"]);
    let a = slo(&r, "checkout-requests-availability");
    assert_eq!((a.kind, a.objective, a.workload.as_deref()), ("availability", 0.999, Some("checkout")));
    assert_eq!(a.period_s, 30.0 * 86_400.0);
    let l = slo(&r, "checkout-requests-latency");
    assert_eq!((l.kind, l.threshold_s, l.objective), ("latency", Some(0.4), 0.99));
    // Sloth's google-30d windows: page 14.4x 1h/5m and 6x 6h/30m, ticket 3x 1d/2h and 1x 3d/6h.
    let want = vec![
        rule("page", 14.4, "1h", "5m"),
        rule("page", 6.0, "6h", "30m"),
        rule("ticket", 3.0, "24h", "2h"),
        rule("ticket", 1.0, "72h", "6h"),
    ];
    assert_eq!(rules(a), want);
}

#[test]
fn openslo_slos_and_alert_policies_run_in_a_scenario() {
    let r = report("openslo", "imports:\n  - openslo: full.yaml\n");
    let a = slo(&r, "checkout-availability");
    assert_eq!((a.kind, a.objective, a.period_s), ("availability", 0.999, 28.0 * 86_400.0));
    let l = slo(&r, "checkout-latency-most-within-300ms");
    assert_eq!((l.kind, l.threshold_s, l.objective, l.period_s), ("latency", Some(0.3), 0.99, 30.0 * 86_400.0));
    assert_eq!(slo(&r, "checkout-latency-nearly-all-within-300ms").objective, 0.95);
    // lookbackWindow is the long window, a twelfth of it the short one.
    assert_eq!(rules(a), vec![rule("page", 14.4, "1h", "5m"), rule("ticket", 1.0, "72h", "6h")]);
    for (files, name) in [
        ("openslo: minimal.yaml", "checkout-availability"),
        ("openslo: threshold.yaml", "checkout-p99"),
        ("openslo: [sli.yaml, slo.yaml]", "checkout-availability"),
    ] {
        let r = report("openslo", &format!("imports:\n  - {files}\n    services: {{ payments: service:payments }}\n"));
        assert!(r.slos.iter().any(|s| s.name == name), "{files}");
    }
    let r = report("openslo", "imports:\n  - openslo: threshold.yaml\n    services: { payments: service:payments }\n");
    assert_eq!(slo(&r, "checkout-p99").threshold_s, Some(0.5));
    assert_eq!(slo(&r, "payments-success").service.as_deref(), Some("payments"));
}

#[test]
fn imported_slos_give_the_report_of_the_same_slos_in_resim_keys() {
    let imported = report("sloth", "imports:\n  - sloth: minimal.yaml\n");
    let written = report(
        "sloth",
        "slos:
  - name: checkout-requests-availability
    workload: checkout
    kind: availability
    objective: 99.95%
    period: 30d
    prometheus:
      error_query: sum(rate(http_requests_total{job=\"checkout\",code=~\"5..\"}[{{.window}}]))
      total_query: sum(rate(http_requests_total{job=\"checkout\"}[{{.window}}]))
alerting:
  rules:
    - { burn_rate: 14.4, long: 1h, short: 5m, severity: page }
    - { burn_rate: 6, long: 6h, short: 30m, severity: page }
    - { burn_rate: 3, long: 1d, short: 2h, severity: ticket }
    - { burn_rate: 1, long: 3d, short: 6h, severity: ticket }
",
    );
    assert_eq!(imported.to_json(), written.to_json());
}

#[test]
fn names_map_to_workloads_and_services_most_specific_first() {
    let r = report(
        "sloth",
        "imports:\n  - sloth: full.yaml\n    services: { checkout/requests-latency: service:api, checkout: workload:checkout }\n",
    );
    assert_eq!(slo(&r, "checkout-requests-latency").service.as_deref(), Some("api"));
    assert_eq!(slo(&r, "checkout-requests-availability").workload.as_deref(), Some("checkout"));
    // Unmapped, a name that is only a service is that service.
    let r = report("sloth", "imports:\n  - sloth: kubernetes.yaml\n    services: { inventory: service:payments }\n");
    assert_eq!(slo(&r, "inventory-lookups-errors").service.as_deref(), Some("payments"));
}

/// Asserts an error's place, key, and that its message and help mention the needles.
fn assert_located(e: &ScenarioError, file: &str, at: (usize, usize), key: &str, message: &str, help: &str) {
    assert!(e.file.ends_with(file), "file {} in {e}", e.file.display());
    assert_eq!((e.line, e.column), at, "{e}");
    assert_eq!(e.key, key, "{e}");
    assert!(e.message.contains(message), "message: {e}");
    assert!(e.help.as_deref().unwrap_or_default().contains(help), "help: {e}");
}

/// A file that must be refused: `(file, (line, column), key, in the message, in the help)`.
type Refusal<'a> = (&'a str, (usize, usize), &'a str, &'a str, &'a str);

/// Loads the shop importing each case's file of `format`; each must fail as its case says.
fn assert_refused(format: &str, cases: &[Refusal]) {
    for &(file, at, key, message, help) in cases {
        let imports = format!("imports:\n  - {format}: {file}\n");
        let e = load(format, &imports).err().unwrap_or_else(|| panic!("{file} loaded"));
        assert_located(&e, file, at, key, message, help);
    }
}

#[test]
fn every_sloth_mistake_is_located_with_help() {
    assert_refused(
        "sloth",
        &[
            ("plugin-sli.yaml", (8, 9), "slos.0.sli.plugin", "Go code", "events:"),
            ("slo-plugins.yaml", (4, 3), "slo_plugins", "plugins rewrite", "remove the plugins"),
            ("unknown-key.yaml", (5, 5), "slos.0.objetive", "unknown or unsupported key", "`objective`"),
            ("wrong-type.yaml", (5, 16), "slos.0.objective", "expected a number", "percentage"),
            ("no-budget.yaml", (5, 16), "slos.0.objective", "no error budget", "99.9"),
            ("unknown-service.yaml", (2, 10), "service", "no workload or service `chekout`", "`checkout`"),
            ("no-slos.yaml", (3, 7), "slos", "no SLOs", "at least one"),
        ],
    );
    let e = load("sloth", "imports:\n  - sloth: minimal.yaml\n    services: { checkout: pod:x }\n").unwrap_err();
    assert_eq!(e.key, "imports.0.services.checkout", "{e}");
    assert!(e.help.unwrap().contains("workload:NAME"));
}

#[test]
fn every_openslo_mistake_is_located_with_help() {
    assert_refused(
        "openslo",
        &[
            ("timeslices.yaml", (23, 20), "spec.budgetingMethod", "time slices", "Occurrences"),
            ("unknown-key.yaml", (23, 3), "spec.budgetingMetod", "unknown or unsupported key", "`budgetingMethod`"),
            ("wrong-type.yaml", (25, 15), "spec.objectives.0.target", "expected a number", "target: 0.999"),
            ("v1alpha.yaml", (1, 13), "apiVersion", "is not read", "openslo/v1"),
            (
                "unknown-ref.yaml",
                (25, 17),
                "spec.indicatorRef",
                "no SLI is named `checkout-error`",
                "`checkout-errors`",
            ),
            ("unknown-service.yaml", (6, 12), "spec.service", "no workload or service `checkot`", "`checkout`"),
            ("bad-severity.yaml", (36, 25), "spec.alertPolicies.0.spec.conditions.0.spec.severity", "`sev1`", "page"),
        ],
    );
}

#[test]
fn refused_files_exit_2_naming_the_place_and_the_fix() {
    for (format, file, needles) in [
        ("sloth", "plugin-sli.yaml", &["plugin-sli.yaml:8:9", "help:"][..]),
        ("openslo", "timeslices.yaml", &["timeslices.yaml:23:20", "budgetingMethod: Occurrences"][..]),
    ] {
        let (code, _, stderr) = import_cli(format, &[file]);
        assert_eq!(code, Some(2), "{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "`{n}` in {stderr}");
        }
    }
}
