//! `resim run --trace-format`: OpenTelemetry OTLP JSON lines (and Jaeger's and
//! Zipkin's JSON) beside (or instead of) the Chrome trace.

use std::fs;

use serde_json::Value;

use crate::common::resim_in;

/// A call and a hand-off.
const SCENARIO: &str = "
name: otlp-cli
duration: 10s
warmup: 1s
seed: 11
services:
  api:
    servers: 8
    service_time: { constant: { value: 2ms } }
    calls: [ { to: db } ]
    routes: [ { to: audit, probability: 0.5 } ]
  db: { servers: 4, service_time: { exponential: { mean: 5ms } } }
  audit: { servers: 2, service_time: { constant: { value: 1ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 20/s } } }
";

#[test]
fn otlp_writes_json_lines_instead_of_trace_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("s.yaml"), SCENARIO).expect("write scenario");
    let ran = resim_in(dir.path(), &["run", "s.yaml", "--out", "o", "--trace-sample", "50%", "--trace-format", "otlp"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("trace.otlp.jsonl"), "{}", ran.stdout);
    assert!(!dir.path().join("o/trace.json").exists(), "otlp alone writes no trace.json");
    let text = fs::read_to_string(dir.path().join("o/trace.otlp.jsonl")).expect("trace.otlp.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 20, "{} traces", lines.len());
    let mut services = std::collections::BTreeSet::new();
    for line in lines {
        let doc: Value = serde_json::from_str(line).expect("each line is JSON");
        for rs in doc["resourceSpans"].as_array().expect("resourceSpans") {
            let attrs = rs["resource"]["attributes"].as_array().expect("attributes");
            let name = attrs.iter().find(|a| a["key"] == "service.name").expect("service.name");
            services.insert(name["value"]["stringValue"].as_str().unwrap_or_default().to_string());
            let spans = rs["scopeSpans"][0]["spans"].as_array().expect("spans");
            assert!(spans.iter().all(|s| s["traceId"].is_string() && s["spanId"].is_string()));
        }
    }
    assert_eq!(services.into_iter().collect::<Vec<_>>(), ["api", "audit", "db"]);
}

#[test]
fn both_writes_both_files_and_the_format_needs_a_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("s.yaml"), SCENARIO).expect("write scenario");
    let ran =
        resim_in(dir.path(), &["run", "s.yaml", "--out", "o", "-q", "--trace-sample", "0.1", "--trace-format", "both"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(dir.path().join("o/trace.json").exists() && dir.path().join("o/trace.otlp.jsonl").exists());
    let ran = resim_in(dir.path(), &["run", "s.yaml", "--out", "p", "--trace-format", "otlp"]);
    assert_eq!(ran.code, 2, "--trace-format without --trace-sample is refused: {}", ran.stderr);
    assert!(!dir.path().join("p").exists());
}

#[test]
fn spans_still_open_at_the_end_are_not_exported() {
    // Each visit takes 3 s of a 10 s run, so requests are in flight at its end: the
    // Chrome trace shows them as `in_flight`, the OTLP, Jaeger and Zipkin exports leave
    // them out (a tracer exports a span when it ends).
    let slow =
        SCENARIO.replace("constant: { value: 2ms }", "constant: { value: 3s }").replace("servers: 8", "servers: 64");
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("s.yaml"), slow).expect("write scenario");
    let ran = resim_in(
        dir.path(),
        &["run", "s.yaml", "--out", "o", "-q", "--trace-sample", "1", "--trace-format", "both,jaeger,zipkin"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let chrome = fs::read_to_string(dir.path().join("o/trace.json")).expect("trace.json");
    assert!(chrome.contains("in_flight"), "the run ends with requests in flight");
    let otlp = fs::read_to_string(dir.path().join("o/trace.otlp.jsonl")).expect("trace.otlp.jsonl");
    assert!(otlp.contains("\"resim.outcome\"") && !otlp.contains("in_flight"));
    for file in ["trace.jaeger.json", "trace.zipkin.json"] {
        let text = fs::read_to_string(dir.path().join("o").join(file)).expect("written");
        assert!(text.contains("\"resim.outcome\"") && !text.contains("in_flight"), "{file}");
    }
}

#[test]
fn a_list_of_formats_writes_each_file_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("s.yaml"), SCENARIO).expect("write scenario");
    let args = ["run", "s.yaml", "--out", "o", "--trace-sample", "0.2", "--trace-format", "both,zipkin,jaeger,otlp"];
    let ran = resim_in(dir.path(), &args);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let files = ["trace.json", "trace.otlp.jsonl", "trace.jaeger.json", "trace.zipkin.json"];
    let said: Vec<&str> = ran.stdout.lines().filter(|l| l.starts_with("trace: ")).collect();
    assert_eq!(said.len(), files.len(), "each file named once, in a fixed order: {said:?}");
    for (file, line) in files.iter().zip(&said) {
        assert!(line.contains(file), "{line}");
        let text = fs::read_to_string(dir.path().join("o").join(file)).expect("written");
        if file.ends_with(".json") {
            serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
    let ran = resim_in(
        dir.path(),
        &["run", "s.yaml", "--out", "p", "--trace-sample", "0.2", "--trace-format", "otlp,jagger"],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("jaeger"), "the possible values are named: {}", ran.stderr);
}
