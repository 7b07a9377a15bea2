//! The Jaeger and Zipkin renderings against the OTLP one: the same traces, span ids,
//! parents, kinds, services, instances and errors, read back by `resim calibrate`'s own
//! readers to the same spans; and deterministic.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::calibrate::read::{ReadState, read_str};
use crate::calibrate::{Format, SpanKind as ReadKind, TraceSet};
use crate::model::Model;
use crate::run::{RunOptions, run_traced};
use crate::trace::{Trace, TraceConfig};

/// `api` calls `db` (two instances, a short timeout, retries) and hands on to `audit`.
const SCENARIO: &str = "
name: formats
duration: 10s
warmup: 1s
seed: 5
services:
  api:
    servers: 50
    service_time: { exponential: { mean: 1ms } }
    calls:
      - to: db
        timeout: 25ms
        retry: { max_attempts: 2, backoff: { fixed: { delay: 2ms } } }
    routes: [ { to: audit, probability: 0.5 } ]
  db:
    instances: 2
    servers: 2
    service_time: { exponential: { mean: 15ms } }
  audit: { servers: 2, service_time: { constant: { value: 1ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 30/s } } }
";

fn traced(jobs: usize) -> (Model, Trace) {
    let model = crate::scenario::load_str(SCENARIO, Path::new("formats.yaml"), &[]).expect("a valid scenario").model;
    let (_, trace) = run_traced(&model, &RunOptions { jobs: Some(jobs) }, TraceConfig { sample: 1.0, max: 120 });
    (model, trace.expect("traced"))
}

fn read(text: &str, format: Format) -> TraceSet {
    let mut set = TraceSet::default();
    read_str(text, Path::new("t.json"), format, &mut set, &mut ReadState::default())
        .unwrap_or_else(|e| panic!("{format}: {e}"));
    set
}

/// A span as the readers give it, keyed by (trace, id): parent, service, instance,
/// kind, start and end in microseconds, error, peer.
type Read = (Option<u64>, String, Option<String>, ReadKind, i64, i64, bool, Option<String>);

fn spans(set: &TraceSet) -> BTreeMap<(u128, u64), Read> {
    let us = |ns: i64| (ns + 500).div_euclid(1000);
    set.spans
        .iter()
        .map(|s| {
            let service = set.services[s.service as usize].clone();
            let (start, end) = (us(s.start_ns), us(s.end_ns));
            let read = (s.parent, service, s.instance.clone(), s.kind, start, end, s.error, s.peer_service.clone());
            ((s.trace, s.id), read)
        })
        .collect()
}

#[test]
fn jaeger_and_zipkin_read_back_to_the_otlp_spans() {
    let (model, trace) = traced(1);
    let otlp = spans(&read(&trace.to_otlp_jsonl(&model, 0), Format::Otlp));
    assert!(otlp.len() > 300, "{} spans", otlp.len());
    let kinds: std::collections::BTreeSet<String> = otlp.values().map(|s| format!("{:?}", s.3)).collect();
    assert_eq!(kinds.len(), 4, "server, client, producer and consumer spans: {kinds:?}");
    assert!(otlp.values().any(|s| s.6), "some errors");
    assert!(otlp.values().any(|s| s.2.as_deref() == Some("db-1")), "the second db instance");
    for (format, text) in
        [(Format::Jaeger, trace.to_jaeger_json(&model, 0)), (Format::Zipkin, trace.to_zipkin_json(&model, 0))]
    {
        let other = spans(&read(&text, format));
        assert_eq!(other.len(), otlp.len(), "{format}");
        for (key, want) in &otlp {
            // Zipkin's API asks for a duration of at least 1 us.
            let mut want = want.clone();
            if format == Format::Zipkin {
                want.5 = want.5.max(want.4 + 1);
            }
            let want = &want;
            assert_eq!(other.get(key), Some(want), "{format}: span {:032x}/{:016x}", key.0, key.1);
        }
    }
}

#[test]
fn jaeger_has_the_export_shape_and_the_error_tags() {
    let (model, trace) = traced(1);
    let doc: Value = serde_json::from_str(&trace.to_jaeger_json(&model, 0)).expect("one JSON document");
    let traces = doc["data"].as_array().expect("data");
    assert_eq!(traces.len(), trace.requests.len());
    let (mut errors, mut roots) = (0, 0);
    for t in traces {
        let id = t["traceID"].as_str().expect("traceID");
        assert_eq!(id.len(), 32);
        let processes = t["processes"].as_object().expect("processes");
        for s in t["spans"].as_array().expect("spans") {
            assert_eq!(s["traceID"], id);
            assert!(processes.contains_key(s["processID"].as_str().expect("processID")), "{s}");
            let refs = s["references"].as_array().expect("references");
            roots += usize::from(refs.is_empty());
            assert!(refs.iter().all(|r| r["refType"] == "CHILD_OF" && r["traceID"] == id), "{s}");
            let tags: BTreeMap<&str, &Value> = s["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .map(|t| {
                    assert!(matches!(t["type"].as_str(), Some("string" | "int64" | "bool")), "{t}");
                    (t["key"].as_str().expect("key"), &t["value"])
                })
                .collect();
            assert!(matches!(tags["span.kind"].as_str(), Some("server" | "client" | "producer" | "consumer")));
            if tags.contains_key("error") {
                errors += 1;
                assert_eq!(tags["error"], &Value::Bool(true));
                assert_eq!(tags["otel.status_code"], "ERROR");
                assert_eq!(tags["otel.status_description"], tags["resim.outcome"]);
            }
            assert!(s["startTime"].as_u64().is_some() && s["duration"].as_u64().is_some(), "{s}");
        }
    }
    assert_eq!(roots, traces.len(), "one root a trace");
    assert!(errors > 0);
}

#[test]
fn zipkin_has_the_v2_shape_and_the_error_tag() {
    let (model, trace) = traced(1);
    let doc: Value = serde_json::from_str(&trace.to_zipkin_json(&model, 0)).expect("one JSON document");
    let (mut errors, mut remote, mut producers) = (0, 0, 0);
    for s in doc.as_array().expect("a list of spans") {
        let kind = s["kind"].as_str().expect("kind");
        assert!(matches!(kind, "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER"), "{s}");
        assert!(s["localEndpoint"]["serviceName"].is_string(), "{s}");
        let tags = s["tags"].as_object().expect("tags");
        assert!(tags.values().all(Value::is_string), "Zipkin's tags are strings: {s}");
        assert!(tags["service.instance.id"].is_string() && !tags.contains_key("peer.service"), "{s}");
        if kind == "CLIENT" {
            remote += 1;
            assert!(s["remoteEndpoint"]["serviceName"].is_string(), "{s}");
        }
        if let Some(e) = tags.get("error") {
            errors += 1;
            assert_eq!(e, &tags["resim.outcome"]);
            assert_eq!(tags["otel.status_code"], "ERROR");
        }
        assert!(s["timestamp"].as_u64().is_some() && s["duration"].as_u64() >= Some(1), "{s}");
        producers += usize::from(kind == "PRODUCER");
    }
    assert!(errors > 0 && remote > 0 && producers > 0);
}

#[test]
fn every_rendering_is_deterministic_across_runs_and_jobs() {
    let (model, a) = traced(1);
    let (_, b) = traced(2);
    assert_eq!(a.to_jaeger_json(&model, 0), b.to_jaeger_json(&model, 0));
    assert_eq!(a.to_zipkin_json(&model, 0), b.to_zipkin_json(&model, 0));
    let empty = Trace::default();
    let none: Value = serde_json::from_str(&empty.to_jaeger_json(&model, 0)).expect("JSON");
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0));
    let none: Value = serde_json::from_str(&empty.to_zipkin_json(&model, 0)).expect("JSON");
    assert_eq!(none.as_array().map(Vec::len), Some(0));
}

#[test]
fn microseconds_round_to_the_nearest() {
    use super::spans::micros;
    assert_eq!((micros(1_499), micros(1_500), micros(2_000), micros(0)), (1, 2, 2, 0));
}
