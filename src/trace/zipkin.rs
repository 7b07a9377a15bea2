//! The Zipkin rendering of a [`Trace`]: Zipkin v2 JSON (the Zipkin v2 API,
//! `zipkin2-api.yaml`), one list of spans as collectors post to `/api/v2/spans`, a span
//! a line. `resim calibrate --format zipkin` (and Zipkin's UI, "Upload JSON") read it.
//!
//! The spans are those of the OTLP rendering ([`super::spans::walk`]: the same trace and
//! span ids, parents, kinds and attributes), mapped as the OpenTelemetry Collector's
//! Zipkin translator (`pkg/translator/zipkin/zipkinv2`, `from_translator.go`) and the
//! OpenTelemetry specification's Zipkin exporter mapping map OTLP:
//! - `kind` is `SERVER`, `CLIENT`, `PRODUCER` or `CONSUMER`; every span has its own
//!   `id` and names its parent by `parentId` (no B3 shared spans);
//! - `localEndpoint.serviceName` is `service.name`; `peer.service` becomes
//!   `remoteEndpoint.serviceName` (client and producer spans) and leaves the tags;
//! - tags are strings: the resource's other attributes (`service.instance.id`), the
//!   scope (`otel.scope.name`, `otel.scope.version`), the span's attributes (booleans
//!   `true`/`false`), and for an error `otel.status_code` = `ERROR` and `error` = the
//!   status description (the outcome: `timeout`, `error`, ...);
//! - times are whole microseconds (`timestamp` since the epoch, `duration`), rounded to
//!   the nearest, and `duration` is at least 1: the API's minimum ("durations of less
//!   than one are rounded up"; Zipkin reads 0 as "never finished", and the Collector's
//!   exporter leaves such a `duration` out). A hand-off, which ends at once, lasts 1 µs.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::model::Model;

use super::Trace;
use super::otlp::{trace_hex, trace_id};
use super::spans::{OutSpan, micros, peer_service, resource_attributes, walk};

impl Trace {
    /// Renders Zipkin v2 JSON: one list of the spans of every traced request of
    /// replication `replication` of `model`, a span a line.
    pub fn to_zipkin_json(&self, model: &Model, replication: u32) -> String {
        let mut out = String::from("[");
        let mut first = true;
        for req in &self.requests {
            let id = trace_id(model.seed, replication, req.workload, req.number);
            let hex = trace_hex(id);
            for s in walk(req, model, id) {
                let _ = write!(out, "{}\n{}", if first { "" } else { "," }, render_span(&s, &hex, model));
                first = false;
            }
        }
        out.push_str("\n]\n");
        out
    }
}

fn render_span(s: &OutSpan, trace: &str, model: &Model) -> Value {
    let mut resource = resource_attributes(model, s.resource).into_iter();
    let service = resource.next().map(|(_, v)| v).unwrap_or_default();
    let mut tags = Map::new();
    for (k, v) in resource {
        tags.insert(k.to_string(), json!(v));
    }
    tags.insert("otel.scope.name".into(), json!("resim"));
    tags.insert("otel.scope.version".into(), json!(env!("CARGO_PKG_VERSION")));
    for (k, v) in s.attributes.iter().filter(|(k, _)| *k != "peer.service") {
        tags.insert((*k).to_string(), json!(v.text()));
    }
    if let Some(label) = s.error {
        tags.insert("otel.status_code".into(), json!("ERROR"));
        tags.insert("error".into(), json!(label));
    }
    let start = micros(s.start_ns);
    let mut span = json!({
        "traceId": trace,
        "id": format!("{:016x}", s.id),
        "kind": s.kind.zipkin(),
        "name": s.name,
        "timestamp": start,
        "duration": (micros(s.end_ns) - start).max(1),
        "localEndpoint": { "serviceName": service },
        "tags": tags,
    });
    if let Some(p) = s.parent {
        span["parentId"] = json!(format!("{p:016x}"));
    }
    if let Some(peer) = peer_service(s) {
        span["remoteEndpoint"] = json!({ "serviceName": peer });
    }
    span
}
