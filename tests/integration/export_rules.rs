//! `resim export prometheus-rules`: every example scenario with SLOs (and one with its own
//! queries and ticket rules) exports rules that `promtool check rules` accepts (promtool is
//! required under CI=true, skipped elsewhere), the file and standard output agree, bad
//! input exits 2, and the simulated severity alerts fire and resolve exactly in the
//! windows where the exported expressions, evaluated on the simulated window counts, hold.

use std::path::{Path, PathBuf};
use std::process::Command;

use resim::report::slo::windows_for;
use resim::scenario::load_file;
use serde_json::Value;

use crate::common::{component_unavailable, scenario};

const BIN: &str = env!("CARGO_BIN_EXE_resim");

/// Two error bursts against 99.9%: a 5% one (50x: every rule) and a 0.8% one (8x: the 6x
/// page pair and the tickets, not the 14.4x pair), with the SLO's own queries and Sloth's
/// four pairs. `time_scale: 360` makes 3d a 720 s window, 5m under one 1 s window.
const BURSTS: &str = r#"
name: export-bursts
duration: 15m
warmup: 10s
replications: 1
seed: 7
window: 1s
services:
  api: { servers: 4, service_time: { exponential: { mean: 20ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 200/s } } }
faults:
  - { name: burst, kind: error, target: api, at: 2m, for: 1m, probability: 0.05 }
  - { name: drizzle, kind: error, target: api, at: 8m, for: 3m, probability: 0.008 }
slos:
  - name: checkout-availability
    workload: users
    kind: availability
    objective: 99.9%
    prometheus:
      error_query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
      total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
alerting:
  time_scale: 360
  rules:
    - { burn_rate: 14.4, long: 1h, short: 5m }
    - { burn_rate: 6, long: 6h, short: 30m }
    - { burn_rate: 3, long: 1d, short: 2h, severity: ticket }
    - { burn_rate: 1, long: 3d, short: 6h, severity: ticket }
"#;

fn export(args: &[&str]) -> std::process::Output {
    Command::new(BIN).arg("export").arg("prometheus-rules").args(args).output().expect("resim runs")
}

/// Runs `promtool check rules` on `file`; false (after saying so, or failing under CI)
/// when promtool is not there.
fn promtool_accepts(file: &Path) -> bool {
    match Command::new("promtool").arg("check").arg("rules").arg(file).output() {
        Ok(out) => {
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "promtool check rules {}:\n{text}", file.display());
            assert!(text.contains("SUCCESS"), "{text}");
            true
        }
        Err(e) => {
            component_unavailable("promtool (Debian package prometheus)", &e.to_string());
            false
        }
    }
}

fn example_scenarios_with_slos() -> Vec<PathBuf> {
    let mut paths = crate::common::example_files();
    paths.retain(|p| !load_file(p, &[]).unwrap_or_else(|e| panic!("{e}")).model.slos.is_empty());
    paths
}

#[test]
fn promtool_accepts_the_rules_of_every_scenario_with_slos() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let custom = tmp.path().join("bursts.yaml");
    std::fs::write(&custom, BURSTS).expect("write");
    let mut paths = example_scenarios_with_slos();
    assert!(paths.len() >= 3, "the examples with SLOs: {paths:?}");
    paths.push(custom);
    let mut files = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let file = tmp.path().join(format!("rules-{i}.yaml"));
        let out = export(&[path.to_str().expect("utf-8"), "--out", file.to_str().expect("utf-8")]);
        assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "--out writes nothing to stdout");
        let text = std::fs::read_to_string(&file).expect("the rules file");
        let doc: Value = serde_saphyr::from_str(&text).expect("YAML");
        assert!(doc["groups"].as_array().is_some_and(|g| g.len() % 3 == 0 && !g.is_empty()), "{}", path.display());
        files.push(file);
    }
    for file in &files {
        if !promtool_accepts(file) {
            return;
        }
    }
}

#[test]
fn stdout_matches_the_file_and_bad_input_exits_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("bursts.yaml");
    std::fs::write(&path, BURSTS).expect("write");
    let file = tmp.path().join("out/rules.yaml");
    let (p, f) = (path.to_str().expect("utf-8"), file.to_str().expect("utf-8"));
    let to_file = export(&[p, "--out", f]);
    assert!(to_file.status.success());
    let to_stdout = export(&[p]);
    assert!(to_stdout.status.success());
    assert_eq!(std::fs::read(&file).expect("written"), to_stdout.stdout);
    // A query without the range, and a scenario without SLOs: exit 2, the key named.
    std::fs::write(&path, BURSTS.replace("[{{.window}}]))\n  ", "[5m]))\n  ")).expect("write");
    let out = export(&[p]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("slos.0.prometheus.error_query") && err.contains("bursts.yaml"), "{err}");
    std::fs::write(&path, BURSTS.split("slos:").next().expect("head")).expect("write");
    let out = export(&[p]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no SLOs"));
}

/// One `max(slo:sli_error:ratio_rate<W>{...} > (<factor> * <budget>))` of an exported
/// expression: the window in workbook seconds and the threshold.
fn condition(line: &str) -> (f64, f64) {
    let window = line.split("ratio_rate").nth(1).and_then(|s| s.split('{').next()).expect("a window");
    let seconds: f64 = ["d", "h", "m", "s"]
        .iter()
        .zip([86_400.0, 3_600.0, 60.0, 1.0])
        .find_map(|(u, len)| window.strip_suffix(u).and_then(|n| n.parse::<f64>().ok()).map(|n| n * len))
        .expect("a duration in one unit");
    let product = line.split("> (").nth(1).and_then(|s| s.split(')').next()).expect("a threshold");
    let (factor, budget) = product.split_once(" * ").expect("factor * budget");
    (seconds, factor.parse::<f64>().expect("factor") * budget.parse::<f64>().expect("budget"))
}

/// Window by window, whether `expr` (pairs joined by `and`, ORed by `or`) holds on the
/// counts, each window `w` seconds of workbook time covering `windows_for(w / scale)`
/// simulated windows (what there is, at the start).
fn holds(expr: &str, valid: &[f64], bad: &[f64], scale: f64, window_s: f64) -> Vec<bool> {
    let terms: Vec<Vec<(usize, f64)>> = expr
        .split("\nor\n")
        .map(|term| {
            let lines = term.lines().filter(|l| l.contains("max("));
            lines.map(condition).map(|(w, t)| (windows_for(w / scale, window_s), t)).collect()
        })
        .collect();
    let above = |end: usize, (len, t): (usize, f64)| {
        let from = (end + 1).saturating_sub(len);
        let (v, b): (f64, f64) = (valid[from..=end].iter().sum(), bad[from..=end].iter().sum());
        v > 0.0 && b / v > t
    };
    (0..valid.len()).map(|k| terms.iter().any(|term| term.iter().all(|&c| above(k, c)))).collect()
}

/// Spans of `true` as (first window, first window after), None when it lasts to the end.
fn spans(on: &[bool]) -> Vec<(usize, Option<usize>)> {
    let mut out: Vec<(usize, Option<usize>)> = Vec::new();
    for (k, &x) in on.iter().enumerate() {
        let was = k > 0 && on[k - 1];
        if x && !was {
            out.push((k, None));
        } else if !x && was {
            out.last_mut().expect("open span").1 = Some(k);
        }
    }
    out
}

#[test]
fn simulated_alerts_fire_where_the_exported_expressions_hold() {
    let s = scenario(BURSTS);
    let rules: Value = serde_saphyr::from_str(&resim::export::prometheus_rules(&s).expect("rules")).expect("YAML");
    let (reps, report) = resim::run_with_summaries(&s.model, &resim::RunOptions::default());
    let (valid, bad) = (&reps[0].slos[0].valid_windows, &reps[0].slos[0].bad_windows);
    let slo = &report.slos[0];
    let window_s = s.model.window.as_secs_f64();
    let alerts = rules["groups"][2]["rules"].as_array().expect("the alert group");
    assert_eq!(alerts.len(), slo.severity_alerts.len());
    for (rule, sim) in alerts.iter().zip(&slo.severity_alerts) {
        assert_eq!(rule["labels"]["sloth_severity"].as_str(), Some(sim.severity.as_str()));
        assert_eq!(rule["alert"].as_str(), Some(sim.alert.as_str()));
        let expr = rule["expr"].as_str().expect("expr");
        let expected = spans(&holds(expr, valid, bad, slo.alert_rules[0].time_scale, window_s));
        let index = |t: f64| (t / window_s).round() as usize - 1;
        let simulated: Vec<(usize, Option<usize>)> =
            sim.alerts.iter().map(|a| (index(a.fired_at_s), a.reset_at_s.map(index))).collect();
        println!("{}: {simulated:?}", sim.severity);
        assert_eq!(simulated, expected, "{} alert against its exported expression", sim.severity);
        assert!(expected.iter().any(|&(_, r)| r.is_some()), "{}: it fires and resolves", sim.severity);
    }
    assert_eq!(slo.severity_alerts[0].severity, "page");
    let burst_pages = slo.severity_alerts[0].alerts.iter().filter(|a| a.fault.as_deref() == Some("burst")).count();
    assert!(burst_pages >= 1, "the 5% burst pages");
}

/// A Sloth spec imported and exported again: its events queries and its raw error ratio
/// (carried over a total of `1`) come out as rules promtool accepts.
#[test]
fn an_imported_sloth_spec_exports_rules_promtool_accepts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sloth = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/sloth/full.yaml");
    let scenario = format!(
        "name: sloth-roundtrip\nduration: 1m\nimports:\n  - sloth: {}\n    services: {{ checkout: \"workload:users\" }}\n\
         services:\n  api:\n    service_time: {{ exponential: {{ mean: 5ms }} }}\n\
         workloads:\n  - name: users\n    target: api\n    arrivals: {{ poisson: {{ rate: 10/s }} }}\n",
        sloth.display()
    );
    let path = tmp.path().join("s.yaml");
    std::fs::write(&path, scenario).expect("write");
    let file = tmp.path().join("rules.yaml");
    let out = export(&[path.to_str().expect("utf-8"), "--out", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&file).expect("the rules file");
    assert!(text.contains("checkout_payment_failures_total[1h]"), "the raw ratio's query:\n{text}");
    assert!(text.contains("http_request_duration_seconds_count{job=\"checkout\"}[5m]"), "{text}");
    promtool_accepts(&file);
}
