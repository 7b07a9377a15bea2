//! What `resim run` writes beside report.json: timeseries.csv, charts/*.svg and a
//! self-contained report.html, checked for every example scenario; the page is opened in
//! headless Chromium where it is installed (CI installs it and sets `CI=true`, which turns
//! a missing browser into a failure).

use std::path::{Path, PathBuf};
use std::process::Command;

use resim::report::charts::render_charts;
use resim::report::{render_html, timeseries_csv};
use resim::scenario::{Override, load_file};
use resim::{RunOptions, run};

use crate::common::{chromium, component_unavailable};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_renders_valid_svg_csv_and_html() {
    let one: Override = "replications=1".parse().expect("override");
    let files = examples();
    assert!(files.len() >= 10, "{} examples", files.len());
    for file in files {
        let model = load_file(&file, std::slice::from_ref(&one)).unwrap_or_else(|e| panic!("{e}")).model;
        let report = run(&model, &RunOptions::default());
        let charts = render_charts(&report).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(charts.len() >= 2 * report.workloads.len() + report.slos.len() + 1 + report.blast_radius.len());
        for c in &charts {
            let doc = roxmltree::Document::parse(&c.svg)
                .unwrap_or_else(|e| panic!("{}: {} is not XML: {e}", file.display(), c.file));
            assert_eq!(doc.root_element().tag_name().name(), "svg", "{}", c.file);
            let texts = doc.descendants().filter(|n| n.has_tag_name("text")).count();
            assert!(texts >= 3, "{}: {} has no labels", file.display(), c.file);
        }
        let html = render_html(&report, &charts);
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert!(!html.contains("<script") && !html.contains("src=\"http"), "self-contained");
        let verdict = html.find("class=\"verdict").expect("a verdict");
        let first_chart = html.find("<figure").unwrap_or(html.len());
        assert!(verdict < first_chart, "the verdict comes first");
        assert_eq!(html.matches("<figure").count(), charts.len());
        let csv = timeseries_csv(&report).expect("csv");
        let mut rows = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = rows.headers().expect("header").iter().map(String::from).collect();
        assert_eq!(header, ["window", "start_s", "end_s", "kind", "series", "metric", "value"]);
        let n = rows.records().inspect(|r| assert!(r.is_ok(), "{r:?}")).count();
        let windows = model.windows();
        assert!(n >= windows * (7 * report.workloads.len() + 10 * report.services.len()), "{}", file.display());
    }
}

#[test]
fn the_timeseries_matches_the_report() {
    let yaml = "name: t\nduration: 1m\nwindow: 10s\nreplications: 2\nservices:\n  api: { servers: 2, service_time: { exponential: { mean: 10ms } } }\nworkloads:\n  - { name: users, target: api, arrivals: { poisson: { rate: 50/s } } }\n";
    let report = crate::common::run_yaml(yaml);
    let csv = timeseries_csv(&report).expect("csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut requests = Vec::new();
    for r in reader.records() {
        let r = r.expect("row");
        if &r[3] == "workload" && &r[5] == "requests" {
            assert_eq!(r[1].parse::<f64>().expect("start"), requests.len() as f64 * 10.0);
            requests.push(r[6].parse::<f64>().expect("value"));
        }
    }
    assert_eq!(requests, report.workloads["users"].timeline.requests);
    assert_eq!(requests.len(), 6);
    let total: f64 = requests.iter().sum();
    assert!((total - report.workloads["users"].requests.value()).abs() < 1e-6);
}

#[test]
fn report_html_opens_in_headless_chromium() {
    let Some(browser) = chromium() else {
        return component_unavailable("Chromium", "not installed (apt-get install chromium)");
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    for name in ["retry-storm", "dashboard-chaos", "breaker-dead-dependency"] {
        let out = tmp.path().join(name);
        let scenario = format!("{}/scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let status = Command::new(env!("CARGO_BIN_EXE_resim"))
            .args(["run", &scenario, "--quiet", "--replications", "1", "--out"])
            .arg(&out)
            .status()
            .expect("run resim");
        assert!(status.success());
        for f in ["report.json", "report.html", "timeseries.csv", "events.jsonl"] {
            assert!(out.join(f).is_file(), "{name}: {f} missing");
        }
        let png = out.join("page.png");
        let profile = tmp.path().join(format!("profile-{name}"));
        let page = format!("file://{}", out.join("report.html").display());
        let flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1100,3000",
        ];
        let shot = Command::new(&browser)
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--screenshot={}", png.display()))
            .arg(&page)
            .output()
            .expect("start chromium");
        assert!(shot.status.success(), "{name}: chromium failed: {}", String::from_utf8_lossy(&shot.stderr));
        let bytes = std::fs::read(&png).expect("a screenshot");
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000, "{name}: {} bytes", bytes.len());
        // The DOM as Chromium parsed it holds the verdict and every chart.
        let dom = Command::new(&browser)
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(&page)
            .output()
            .expect("start chromium");
        let dom = String::from_utf8_lossy(&dom.stdout);
        assert!(dom.contains("class=\"verdict"), "{name}: no verdict in the DOM");
        let charts = std::fs::read_dir(out.join("charts")).expect("charts/").count();
        assert_eq!(dom.matches("<svg").count(), charts, "{name}: every chart inline");
    }
}
