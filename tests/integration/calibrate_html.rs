//! `calibrate.html`, the page `resim calibrate` writes beside the scenario: the inferred
//! graph, and per service the fit of its own time (CDF and QQ figures, every family's
//! scores, the one used marked); written with the scenario as a unit, and opened by
//! headless Chromium.

use std::path::Path;
use std::process::Command;

use crate::common::{chromium, component_unavailable, resim_in as resim};

/// Four services: a call made half the time, one nine times in ten, a hand-off, and a
/// constant service time.
const SHOP: &str = "
name: shop
duration: 2m
seed: 5
services:
  front: { servers: 8, service_time: { exponential: { mean: 10ms } },
           calls: [ { to: back, probability: 0.5 }, { to: cache, probability: 0.9 } ] }
  back: { servers: 8, service_time: { lognormal: { mean: 20ms, sd: 10ms } }, routes: [ { to: mail, probability: 0.3 } ] }
  cache: { servers: 4, service_time: { constant: { value: 2ms } } }
  mail: { servers: 4, service_time: { gamma: { shape: 3, mean: 15ms } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 50/s } } }
";

/// Traces of [`SHOP`] in `dir/a/trace.otlp.jsonl`.
fn traced_shop(dir: &Path) {
    std::fs::write(dir.join("shop.yaml"), SHOP).expect("written");
    let args =
        ["run", "shop.yaml", "--out", "a", "--trace-sample", "1", "--trace-max", "100000", "--trace-format", "otlp"];
    let run = resim(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn the_page_shows_the_graph_and_every_service_s_fit() {
    let dir = tempfile::tempdir().expect("temp dir");
    traced_shop(dir.path());
    let cal = resim(dir.path(), &["calibrate", "a/trace.otlp.jsonl", "--format", "otlp", "--out", "cal.yaml"]);
    assert_eq!(cal.code, 0, "{}", cal.stderr);
    assert!(cal.stdout.contains("wrote cal.yaml and cal.calibrate.html"), "{}", cal.stdout);
    let page = std::fs::read_to_string(dir.path().join("cal.calibrate.html")).expect("the page beside the scenario");

    // The graph, then one figure per service.
    assert!(page.contains("<h2>Inferred graph</h2>"));
    assert_eq!(page.matches("<svg").count(), 1 + 4, "the graph and four fit figures");
    for label in ["0.50", "0.90", "0.30 async", "in: front"] {
        assert!(page.contains(label), "the graph labels {label}");
    }
    for s in ["front", "back", "cache", "mail"] {
        assert!(page.contains(&format!("<h3 id=\"svc-{s}\">{s}</h3>")), "{s}'s section");
    }
    // Each fitted service's table holds the four families, the one used marked once; the
    // constant service has no table (nothing to fit).
    assert_eq!(page.matches("<td>weibull</td>").count(), 3);
    assert_eq!(page.matches("✔").count(), 3);
    let used = |service: &str, family: &str| {
        let at = page.find(&format!("id=\"svc-{service}\"")).expect("section");
        let section = &page[at..];
        let end = section[4..].find("<h3").map_or(section.len(), |e| e + 4);
        section[..end].contains(&format!("<b>{family}</b>"))
    };
    assert!(used("front", "exponential"));
    assert!(used("back", "lognormal"));
    assert!(used("mail", "gamma"));
    assert!(used("cache", "constant 2.00ms"));
    assert!(page.contains("QQ: observed against fitted quantiles"));
    assert!(page.contains("KS p"));
}

#[test]
fn the_page_is_written_with_the_scenario_or_not_at_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let fixture = format!("{}/tests/fixtures/traces/otlp/shop.jsonl", env!("CARGO_MANIFEST_DIR"));
    let ok = resim(d, &["calibrate", &fixture, "--format", "otlp", "--out", "s.yaml", "--html", "page.html"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(d.join("page.html").is_file() && d.join("s.yaml").is_file());
    assert!(!d.join("s.calibrate.html").exists(), "--html replaces the default");

    // An existing page refuses the run before anything is written.
    std::fs::write(d.join("t.calibrate.html"), "mine").expect("written");
    let refused = resim(d, &["calibrate", &fixture, "--format", "otlp", "--out", "t.yaml"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("t.calibrate.html already exists; pass --force"), "{}", refused.stderr);
    assert!(!d.join("t.yaml").exists());
    assert_eq!(std::fs::read_to_string(d.join("t.calibrate.html")).expect("kept"), "mine");

    // The same file for both is refused.
    let same = resim(d, &["calibrate", &fixture, "--format", "otlp", "--out", "u.yaml", "--html", "u.yaml"]);
    assert_eq!(same.code, 2, "{}", same.stderr);
    assert!(same.stderr.contains("give them different files"), "{}", same.stderr);
    assert!(!d.join("u.yaml").exists());
}

#[test]
fn the_page_opens_in_headless_chromium() {
    let Some(browser) = chromium() else {
        return component_unavailable("Chromium", "not installed (apt-get install chromium)");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    traced_shop(dir.path());
    let cal = resim(dir.path(), &["calibrate", "a/trace.otlp.jsonl", "--format", "otlp", "--out", "cal.yaml"]);
    assert_eq!(cal.code, 0, "{}", cal.stderr);
    let page = format!("file://{}", dir.path().join("cal.calibrate.html").display());
    let dom = Command::new(&browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg("--dump-dom")
        .arg(&page)
        .output()
        .expect("start chromium");
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<svg").count(), 5, "every figure parsed inline");
    assert!(dom.contains("Calibration: cal"));
}
