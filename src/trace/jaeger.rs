//! The Jaeger rendering of a [`Trace`]: the JSON the Jaeger UI's "Download JSON" saves
//! and its query service's `/api/traces` returns (Jaeger's `model/json` package),
//! `{"data": [trace...]}`, one trace per traced request, each with its `spans` and the
//! `processes` they ran in. `resim calibrate --format jaeger` (and Jaeger's UI) read it.
//!
//! The spans are those of the OTLP rendering ([`super::spans::walk`]: the same trace and
//! span ids, parents, kinds and attributes), mapped as the OpenTelemetry Collector's
//! Jaeger translator (`pkg/translator/jaeger`, `traces_to_jaegerproto.go`) maps OTLP:
//! - a resource is a process (`p1`, `p2`, ... in resource order): `serviceName` is
//!   `service.name`, its other attributes (`service.instance.id`) the process's tags;
//! - the parent is the first reference, `CHILD_OF`; times are whole microseconds
//!   (`startTime` since the epoch, `duration`), rounded to the nearest;
//! - tags: the scope (`otel.scope.name`, `otel.scope.version`), the span's attributes
//!   typed (`string`, `int64`, `bool`), `span.kind` in lower case, and for an error
//!   `otel.status_code` = `ERROR`, `error` = true and `otel.status_description`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::model::Model;

use super::otlp::{trace_hex, trace_id};
use super::spans::{Attr, OutSpan, Resource, micros, resource_attributes, service_name, walk};
use super::{Trace, TracedRequest};

/// A Jaeger `KeyValue` (`{key, type, value}`).
fn tag(key: &str, v: &Attr) -> Value {
    match v {
        Attr::Str(s) => json!({ "key": key, "type": "string", "value": s }),
        Attr::Int(i) => json!({ "key": key, "type": "int64", "value": i }),
        Attr::Bool(b) => json!({ "key": key, "type": "bool", "value": b }),
    }
}

impl Trace {
    /// Renders Jaeger's JSON: `{"data": [...]}` with one trace per traced request of
    /// replication `replication` of `model`, a trace a line.
    pub fn to_jaeger_json(&self, model: &Model, replication: u32) -> String {
        let mut out = String::from("{\"data\":[");
        for (i, req) in self.requests.iter().enumerate() {
            let id = trace_id(model.seed, replication, req.workload, req.number);
            let _ = write!(out, "{}\n{}", if i == 0 { "" } else { "," }, render_trace(req, model, id));
        }
        out.push_str("\n],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}\n");
        out
    }
}

fn render_trace(req: &TracedRequest, model: &Model, trace: [u64; 2]) -> Value {
    let hex = trace_hex(trace);
    let spans = walk(req, model, trace);
    let mut keys: BTreeMap<Resource, String> = spans.iter().map(|s| (s.resource, String::new())).collect();
    let mut processes = serde_json::Map::new();
    for (i, (res, key)) in keys.iter_mut().enumerate() {
        *key = format!("p{}", i + 1);
        let mut attributes = resource_attributes(model, *res).into_iter();
        let name = attributes.next().map_or_else(|| service_name(model, res.0).to_string(), |(_, v)| v);
        let tags: Vec<Value> = attributes.map(|(k, v)| tag(k, &Attr::Str(v))).collect();
        processes.insert(key.clone(), json!({ "serviceName": name, "tags": tags }));
    }
    let spans: Vec<Value> = spans.iter().map(|s| render_span(s, &hex, &keys[&s.resource])).collect();
    json!({ "traceID": hex, "spans": spans, "processes": processes, "warnings": null })
}

fn render_span(s: &OutSpan, trace: &str, process: &str) -> Value {
    let mut tags = vec![
        tag("otel.scope.name", &Attr::Str("resim".into())),
        tag("otel.scope.version", &Attr::Str(env!("CARGO_PKG_VERSION").into())),
    ];
    tags.extend(s.attributes.iter().map(|(k, v)| tag(k, v)));
    tags.push(tag("span.kind", &Attr::Str(s.kind.tag().into())));
    if let Some(label) = s.error {
        tags.push(tag("otel.status_code", &Attr::Str("ERROR".into())));
        tags.push(tag("error", &Attr::Bool(true)));
        tags.push(tag("otel.status_description", &Attr::Str(label.into())));
    }
    let references: Vec<Value> = s
        .parent
        .iter()
        .map(|p| json!({ "refType": "CHILD_OF", "traceID": trace, "spanID": format!("{p:016x}") }))
        .collect();
    let start = micros(s.start_ns);
    json!({
        "traceID": trace,
        "spanID": format!("{:016x}", s.id),
        "operationName": s.name,
        "references": references,
        "startTime": start,
        "duration": micros(s.end_ns) - start,
        "tags": tags,
        "logs": [],
        "processID": process,
        "warnings": null,
    })
}
