//! The OTLP rendering of a small scenario with a call, retries and a route: the parent
//! links form the tree a calibrator reads, and the ids are deterministic.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use crate::model::Model;
use crate::run::{RunOptions, run_traced};
use crate::trace::TraceConfig;

/// `api` calls `db` (short timeout, retries) and hands every request on to `audit`.
const SCENARIO: &str = "
name: otlp
duration: 20s
warmup: 1s
replications: 2
seed: 7
services:
  api:
    servers: 50
    service_time: { constant: { value: 1ms } }
    calls:
      - to: db
        timeout: 30ms
        retry:
          max_attempts: 3
          backoff: { exponential: { base: 5ms, multiplier: 2, cap: 20ms } }
    routes: [ { to: audit, probability: 1 } ]
  db:
    servers: 4
    service_time: { exponential: { mean: 20ms } }
  audit:
    servers: 4
    service_time: { constant: { value: 2ms } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 20/s } } }
";

fn model() -> Model {
    crate::scenario::load_str(SCENARIO, Path::new("otlp.yaml"), &[]).expect("a valid scenario").model
}

fn otlp(model: &Model, jobs: usize) -> String {
    let (_, trace) = run_traced(model, &RunOptions { jobs: Some(jobs) }, TraceConfig { sample: 1.0, max: 150 });
    trace.expect("traced").to_otlp_jsonl(model, 0)
}

/// One span as the test reads it.
#[derive(Debug)]
struct S {
    service: String,
    instance: String,
    kind: u64,
    id: String,
    parent: Option<String>,
    attrs: HashMap<String, Value>,
    status: Option<u64>,
}

fn attr_value(v: &Value) -> Value {
    let o = v.as_object().expect("an AnyValue");
    o.values().next().cloned().unwrap_or(Value::Null)
}

/// The spans of each line (trace), with their resource, and the trace id.
fn parse(text: &str) -> Vec<(String, Vec<S>)> {
    let mut traces = Vec::new();
    for line in text.lines() {
        let doc: Value = serde_json::from_str(line).expect("each line is JSON");
        let mut spans = Vec::new();
        let mut ids = HashSet::new();
        for rs in doc["resourceSpans"].as_array().expect("resourceSpans") {
            let res: HashMap<String, Value> = rs["resource"]["attributes"]
                .as_array()
                .expect("resource attributes")
                .iter()
                .map(|a| (a["key"].as_str().unwrap_or_default().to_string(), attr_value(&a["value"])))
                .collect();
            let service = res["service.name"].as_str().unwrap_or_default().to_string();
            let instance = res["service.instance.id"].as_str().unwrap_or_default().to_string();
            for ss in rs["scopeSpans"].as_array().expect("scopeSpans") {
                for s in ss["spans"].as_array().expect("spans") {
                    ids.insert(s["traceId"].as_str().expect("traceId").to_string());
                    let start: u64 = s["startTimeUnixNano"].as_str().and_then(|t| t.parse().ok()).expect("start");
                    let end: u64 = s["endTimeUnixNano"].as_str().and_then(|t| t.parse().ok()).expect("end");
                    assert!(start >= super::EPOCH_NS && end >= start, "{s}");
                    let attrs = s["attributes"]
                        .as_array()
                        .expect("attributes")
                        .iter()
                        .map(|a| (a["key"].as_str().unwrap_or_default().to_string(), attr_value(&a["value"])))
                        .collect();
                    spans.push(S {
                        service: service.clone(),
                        instance: instance.clone(),
                        kind: s["kind"].as_u64().expect("kind"),
                        id: s["spanId"].as_str().expect("spanId").to_string(),
                        parent: s["parentSpanId"].as_str().map(str::to_string),
                        attrs,
                        status: s["status"]["code"].as_u64(),
                    });
                }
            }
        }
        assert_eq!(ids.len(), 1, "one trace id a line");
        let id = ids.into_iter().next().unwrap_or_default();
        assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        traces.push((id, spans));
    }
    traces
}

#[test]
fn calls_retries_and_routes_form_the_tree() {
    let model = model();
    let traces = parse(&otlp(&model, 1));
    assert!(traces.len() > 100, "{} traces", traces.len());
    let (mut retried, mut routed, mut timeouts) = (0, 0, 0);
    for (_, spans) in &traces {
        let by_id: HashMap<&str, &S> = spans.iter().map(|s| (s.id.as_str(), s)).collect();
        assert_eq!(by_id.len(), spans.len(), "span ids unique in a trace");
        for s in spans {
            assert!(s.id.len() == 16 && s.id != "0000000000000000", "{s:?}");
            assert!(s.instance.starts_with(&format!("{}-", s.service)), "{s:?}");
            let parent = s.parent.as_deref().map(|p| *by_id.get(p).unwrap_or_else(|| panic!("parent of {s:?}")));
            match (s.kind, s.service.as_str()) {
                (2, "api") => {
                    assert!(parent.is_none(), "the first visit is the root");
                    assert_eq!(s.attrs["resim.workload"], "users");
                    assert!(s.attrs.contains_key("resim.queue_wait_ns"));
                }
                (3, "api") => {
                    let p = parent.expect("a client span has a parent");
                    assert_eq!((p.kind, p.service.as_str(), p.instance.as_str()), (2, "api", s.instance.as_str()));
                    assert_eq!(s.attrs["peer.service"], "db");
                    if s.attrs["resim.outcome"] == "timeout" {
                        timeouts += 1;
                        assert_eq!(s.status, Some(2), "a timed-out attempt is an error");
                    }
                }
                (2, "db") => assert_eq!(parent.map(|p| p.kind), Some(3), "a callee's visit is its call's child"),
                (4, "api") => {
                    assert_eq!(s.attrs["peer.service"], "audit");
                    assert_eq!(parent.map(|p| (p.kind, p.service.as_str())), Some((2, "api")));
                }
                (5, "audit") => {
                    routed += 1;
                    assert_eq!(parent.map(|p| p.kind), Some(4), "a hand-off's visit is its producer's child");
                }
                other => panic!("unexpected span {other:?}: {s:?}"),
            }
        }
        let roots = spans.iter().filter(|s| s.parent.is_none()).count();
        assert_eq!(roots, 1, "one root a trace");
        let clients: Vec<&S> = spans.iter().filter(|s| s.kind == 3).collect();
        if clients.len() > 1 {
            retried += 1;
            assert!(clients.iter().all(|c| c.parent == clients[0].parent), "retries under the same visit");
            assert!(clients.iter().any(|c| c.attrs["resim.retry"] == true));
        }
    }
    assert!(retried > 0 && routed > 0 && timeouts > 0, "retried {retried}, routed {routed}, timeouts {timeouts}");
}

#[test]
fn ids_are_deterministic_across_runs_and_jobs() {
    let model = model();
    let a = otlp(&model, 1);
    assert_eq!(a, otlp(&model, 1), "two runs");
    assert_eq!(a, otlp(&model, 2), "--jobs 2");
    let mut other = model.clone();
    other.seed += 1;
    let first = |t: &str| parse(t).into_iter().next().map(|(id, _)| id);
    assert_ne!(first(&a), first(&otlp(&other, 1)), "another seed, other trace ids");
}

#[test]
fn ids_mix_their_inputs_and_are_never_zero() {
    let t = super::trace_id(1, 0, 0, 1);
    assert_ne!(t, super::trace_id(1, 0, 0, 2));
    assert_ne!(t, super::trace_id(1, 1, 0, 1));
    assert_ne!(t, super::trace_id(1, 0, 1, 1));
    assert_ne!(t, super::trace_id(2, 0, 0, 1));
    let ids: HashSet<u64> = (1..10_000).map(|n| super::span_id(t, n)).collect();
    assert_eq!(ids.len(), 9_999);
    assert!(!ids.contains(&0));
}
