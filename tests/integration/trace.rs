//! Sampled request traces (`--trace-sample`): the Chrome trace-event file, what it
//! contains, its determinism, and that tracing never changes the report.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use resim::RunOptions;
use resim::trace::TraceConfig;

use crate::common::scenario;

/// Two services, a call with a short timeout and retries with backoff, a small backend.
const RETRY: &str = "
name: trace-retry
duration: 20s
warmup: 2s
replications: 2
seed: 3
services:
  api:
    servers: 200
    service_time: { constant: { value: 1ms } }
    calls:
      - to: db
        timeout: 40ms
        retry:
          max_attempts: 3
          backoff: { exponential: { base: 10ms, multiplier: 2, cap: 100ms } }
  db:
    servers: 2
    capacity: 20
    service_time: { exponential: { mean: 25ms } }
workloads:
  - name: users
    target: api
    arrivals: { poisson: { rate: 60/s } }
";

/// One service, a few requests.
const TINY: &str = "
name: trace-tiny
duration: 10s
warmup: 1s
replications: 2
seed: 5
services:
  api: { servers: 2, capacity: 10, service_time: { exponential: { mean: 50ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 20/s } } }
";

/// Runs with tracing and returns (report JSON, trace JSON text).
fn traced(yaml: &str, sample: f64, max: u32) -> (String, String) {
    let model = scenario(yaml).model;
    let (report, trace) = resim::run_traced(&model, &RunOptions { jobs: Some(1) }, TraceConfig { sample, max });
    (report.to_json(), trace.unwrap_or_default().to_chrome_json(&model))
}

fn events(text: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(text).expect("trace.json parses");
    assert_eq!(doc["displayTimeUnit"], "ms");
    doc["traceEvents"].as_array().expect("traceEvents is an array").clone()
}

/// The end-to-end span of each process (request), by pid.
fn roots(events: &[Value]) -> BTreeMap<u64, &Value> {
    events.iter().filter(|e| e["cat"] == "request").map(|e| (e["pid"].as_u64().unwrap_or(0), e)).collect()
}

fn span(e: &Value) -> (f64, f64) {
    let ts = e["ts"].as_f64().expect("ts");
    (ts, ts + e["dur"].as_f64().unwrap_or(0.0))
}

#[test]
fn every_event_has_the_required_fields() {
    let (_, text) = traced(RETRY, 0.2, 1000);
    let events = events(&text);
    assert!(events.len() > 100, "a trace with content: {} events", events.len());
    for e in &events {
        let ph = e["ph"].as_str().expect("ph");
        assert!(e["name"].is_string() && e["pid"].is_u64() && e["tid"].is_u64() && e["args"].is_object(), "{e}");
        match ph {
            "X" => {
                assert!(e["cat"].is_string(), "{e}");
                assert!(e["ts"].as_f64().is_some_and(|t| t >= 0.0), "{e}");
                assert!(e["dur"].as_f64().is_some_and(|d| d >= 0.0), "{e}");
            }
            "i" => assert!(e["ts"].is_number() && e["s"] == "t" && e["cat"].is_string(), "{e}"),
            "M" => assert!(e["args"]["name"].is_string() || e["args"]["sort_index"].is_u64(), "{e}"),
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
    for (pid, root) in roots(&events) {
        let title = events
            .iter()
            .find(|e| e["ph"] == "M" && e["name"] == "process_name" && e["pid"] == pid)
            .and_then(|e| e["args"]["name"].as_str())
            .unwrap_or_default();
        assert!(
            title.starts_with("users #") && title.contains(root["args"]["outcome"].as_str().unwrap_or("?")),
            "{title}"
        );
    }
}

#[test]
fn sampling_everything_traces_every_measured_request_up_to_max() {
    let model = scenario(TINY).model;
    let (summaries, _) = resim::run_with_summaries(&model, &RunOptions { jobs: Some(1) });
    let (_, text) = traced(TINY, 1.0, 100_000);
    let traced_requests = roots(&events(&text)).len() as f64;
    assert!(traced_requests > 100.0, "{traced_requests} traced");
    assert_eq!(traced_requests, summaries[0].workloads[0].arrivals, "one trace per measured arrival of replication 0");
    let (_, text) = traced(TINY, 1.0, 7);
    assert_eq!(roots(&events(&text)).len(), 7, "--trace-max caps the count");
}

#[test]
fn retries_show_attempt_numbers_and_backoff() {
    let (_, text) = traced(RETRY, 1.0, 400);
    let events = events(&text);
    let attempts: Vec<&Value> = events.iter().filter(|e| e["cat"] == "attempt").collect();
    let retries: Vec<&&Value> = attempts.iter().filter(|e| e["args"]["retry"] == true).collect();
    assert!(!retries.is_empty(), "some attempts are retries");
    assert!(retries.iter().all(|e| e["args"]["attempt"].as_u64().is_some_and(|n| n >= 2)));
    assert!(attempts.iter().any(|e| e["args"]["outcome"] == "timeout"), "timed-out attempts");
    assert!(events.iter().any(|e| e["ph"] == "i" && e["name"] == "timeout"), "timeouts as instants");
    let backoffs: Vec<&Value> = events.iter().filter(|e| e["cat"] == "backoff").collect();
    assert!(!backoffs.is_empty(), "backoff spans");
    for b in &backoffs {
        // Each backoff is followed, on the same track, by the attempt it leads to.
        let (_, end) = span(b);
        let next = b["args"]["next_attempt"].as_u64().expect("next_attempt");
        let follows = attempts
            .iter()
            .any(|a| a["pid"] == b["pid"] && a["args"]["attempt"] == next && (span(a).0 - end).abs() < 1e-3);
        let cut = roots(&events).get(&b["pid"].as_u64().unwrap_or(0)).is_some_and(|r| (span(r).1 - end).abs() < 1e-3);
        assert!(follows || cut, "backoff not followed by attempt {next}: {b}");
    }
}

#[test]
fn spans_nest_within_their_request_and_tracks_do_not_overlap() {
    let (_, text) = traced(RETRY, 0.5, 1000);
    let events = events(&text);
    let roots = roots(&events);
    let mut tracks: BTreeMap<(u64, u64), Vec<(f64, f64)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X" || e["ph"] == "i") {
        let pid = e["pid"].as_u64().unwrap_or(0);
        let (root_start, root_end) = span(roots[&pid]);
        let (start, end) = span(e);
        assert!(start >= root_start - 1e-3 && end <= root_end + 1e-3, "outside its request: {e}");
        if e["ph"] == "X" {
            tracks.entry((pid, e["tid"].as_u64().unwrap_or(0))).or_default().push((start, end));
        }
    }
    // On one thread, spans are disjoint or nested: what the viewers need to stack them.
    for ((pid, tid), mut spans) in tracks {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut open: Vec<f64> = Vec::new();
        for (start, end) in spans {
            while open.last().is_some_and(|&e| e <= start + 1e-3) {
                open.pop();
            }
            if let Some(&outer) = open.last() {
                assert!(end <= outer + 1e-3, "pid {pid} tid {tid}: [{start}, {end}] overlaps a span ending at {outer}");
            }
            open.push(end);
        }
    }
}

#[test]
fn in_flight_requests_are_closed_at_the_end() {
    let (_, text) = traced(RETRY, 1.0, 100_000);
    let events = events(&text);
    let end_us = 22e6;
    for r in roots(&events).values().filter(|r| r["args"]["outcome"] == "in_flight") {
        assert!((span(r).1 - end_us).abs() < 1e-3, "an in-flight request ends with the run: {r}");
    }
}

#[test]
fn tracing_is_deterministic_and_leaves_the_report_unchanged() {
    let model = scenario(RETRY).model;
    let plain = resim::run(&model, &RunOptions { jobs: Some(2) }).to_json();
    let (report_a, trace_a) = traced(RETRY, 0.3, 1000);
    let (report_b, trace_b) = traced(RETRY, 0.3, 1000);
    assert_eq!(plain, report_a, "tracing changed report.json");
    assert_eq!(report_a, report_b);
    assert_eq!(trace_a, trace_b, "same seed, same trace");
    let (_, other) = traced(RETRY, 0.31, 1000);
    assert_ne!(trace_a, other);
}

fn resim(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_resim")).args(args).current_dir(dir).output().expect("resim runs")
}

#[test]
fn cli_writes_trace_json_and_an_identical_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("s.yaml"), TINY).expect("write scenario");
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "s.yaml", "--out", out, "-q"];
        args.extend_from_slice(extra);
        let o = resim(dir.path(), &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run("plain", &[]);
    run("a", &["--trace-sample", "10%"]);
    run("b", &["--trace-sample", "0.1", "--trace-max", "1000"]);
    let read = |p: &str| fs::read(dir.path().join(p)).expect(p);
    assert!(!dir.path().join("plain/trace.json").exists(), "no trace unless asked");
    assert_eq!(read("plain/report.json"), read("a/report.json"), "report.json byte-identical with tracing");
    assert_eq!(read("a/trace.json"), read("b/trace.json"), "10% = 0.1, and deterministic");
    let text = String::from_utf8(read("a/trace.json")).expect("utf-8");
    assert!(!roots(&events(&text)).is_empty());
}

#[test]
fn cli_refuses_bad_rates() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("s.yaml"), TINY).expect("write scenario");
    for bad in ["2", "-0.1", "150%", "often"] {
        let o = resim(dir.path(), &["run", "s.yaml", "--out", "o", "--trace-sample", bad]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--trace-sample {bad}: {err}");
        assert!(err.contains("--trace-sample") && err.contains("sampling rate from 0 to 1"), "{err}");
        assert!(!dir.path().join("o").exists(), "nothing written for --trace-sample {bad}");
    }
    let o = resim(dir.path(), &["run", "s.yaml", "--out", "o", "--trace-sample", "1", "--trace-max", "0"]);
    assert_eq!(o.status.code(), Some(2));
}
