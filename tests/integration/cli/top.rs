//! `--top N` and `--detail full` on `resim run` and `resim sweep`: what report.json,
//! timeseries.csv, the summary and report.html hold for a model above N services.

use std::fs;

use serde_json::Value;

use super::{path_str, resim, tempdir};
use crate::top::layered_yaml;

/// Runs `resim ARGS… --out <tmp>/out` on the layered test graph; (stdout, report.json,
/// report.html, timeseries.csv).
fn run_layered(args: &[&str]) -> (String, Value, String, String) {
    let tmp = tempdir();
    let file = tmp.path().join("layered.yaml");
    fs::write(&file, layered_yaml()).expect("write the scenario");
    let out = tmp.path().join("out");
    let mut all = vec!["run", path_str(&file), "--out", path_str(&out)];
    all.extend(args);
    let o = resim(&all);
    o.assert_ok();
    let read = |name: &str| fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = serde_json::from_str(&read("report.json")).expect("report.json is JSON");
    (o.stdout, report, read("report.html"), read("timeseries.csv"))
}

#[test]
fn top_keeps_n_per_ranking_and_summarises_the_rest() {
    let (stdout, r, html, csv) = run_layered(&["--top", "3"]);
    let services = r["services"].as_object().expect("services").len();
    let left = r["others"]["services"]["count"].as_u64().expect("others.services.count") as usize;
    assert_eq!(services + left, 40);
    let blast = r["blast_radius"][0]["affected_services"].as_array().map_or(0, Vec::len) + 1;
    assert!(services <= 3 * 3 + blast, "{services} kept");
    assert_eq!(r["others"]["top"], 3);
    assert!(r["others"]["services"]["arrivals"]["mean"].as_f64().is_some_and(|x| x > 0.0));
    assert_eq!(r["service_graph"]["services"].as_array().map(Vec::len), Some(40));
    assert!(stdout.contains("Left out: all but the top 3"), "{stdout}");
    assert!(html.contains("<h2>Service graph</h2>"));
    let series = csv.lines().filter(|l| l.contains(",service,")).filter_map(|l| l.split(',').nth(4));
    let names: std::collections::BTreeSet<&str> = series.collect();
    assert_eq!(names.len(), services, "timeseries.csv holds the kept services only");
}

#[test]
fn detail_full_writes_everything() {
    let (stdout, r, html, _) = run_layered(&["--top", "3", "--detail", "full"]);
    assert_eq!(r["services"].as_object().map(|m| m.len()), Some(40));
    assert_eq!(r["workloads"].as_object().map(|m| m.len()), Some(8));
    assert!(r.get("others").is_none(), "nothing left out");
    assert!(!stdout.contains("Left out"));
    assert!(html.contains("<h2>Service graph</h2>"), "40 services are many for charts alone");
}

#[test]
fn top_refuses_zero() {
    let o = resim(&["run", "x.yaml", "--top", "0"]);
    assert_eq!(o.code(), Some(2));
    assert!(o.stderr.contains("--top 25"), "{}", o.stderr);
}
