//! The OpenTelemetry rendering of a [`Trace`]: OTLP JSON lines, one
//! `ExportTraceServiceRequest` (`{"resourceSpans":[...]}`) per traced request, as the
//! OpenTelemetry Collector's file exporter writes them, so that a calibrator (ours,
//! Jaeger's or any OTLP reader) recovers the scenario's graph from them.
//!
//! Mapping (OpenTelemetry proto `trace/v1/trace.proto`, OTLP/JSON encoding: ids in hex,
//! enums as integers, 64-bit integers as decimal strings):
//! - a traced workload request is one trace; its 16-byte id mixes the scenario's seed,
//!   the replication, the workload and the request's number, and each 8-byte span id
//!   mixes the trace id with the span's number in the trace (never zero): two runs of
//!   the same scenario and seed write the same ids, whatever `--jobs`;
//! - each visit to a service is a SERVER span (kind 2) on that service's resource
//!   (`service.name`, `service.instance.id` = `<service>-<instance index>`), from the
//!   request's arrival to its answer, with `resim.queue_wait_ns`; the first visit is the
//!   trace's root and carries `resim.workload` (the user is not a service);
//! - each call attempt is a CLIENT span (kind 3) on the caller's resource, child of the
//!   caller's visit, with `peer.service` = the callee; the callee's visit is its child.
//!   Retries and hedges are further CLIENT spans under the same visit;
//! - a hand-off by `routes` is a PRODUCER span (kind 4) on the sender, ending at once,
//!   parent of the next service's visit, a CONSUMER span (kind 5);
//! - a span whose outcome is an error, a timeout, a rejection or a short circuit has
//!   `status.code` 2 (ERROR); `resim.outcome` names every span's outcome.
//!
//! Spans still open at the run's end are left out. Backoffs, fallbacks and policy
//! instants are Chrome-only. Times are nanoseconds since
//! the Unix epoch, taking the simulation's start as 2026-01-01T00:00:00Z ([`EPOCH_NS`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::model::Model;

use super::spans::{Attr, OutSpan, Resource, resource_attributes, walk};
use super::{SpanNo, Trace, TracedRequest};

/// The simulation's time zero as Unix time in nanoseconds: 2026-01-01T00:00:00Z.
pub const EPOCH_NS: u64 = 1_767_225_600_000_000_000;

/// SplitMix64's finaliser (Steele, Lea and Flood 2014): a bijection, so distinct span
/// numbers give distinct span ids.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The 16-byte trace id of request `number` of workload `workload`, as two halves.
pub fn trace_id(seed: u64, replication: u32, workload: u32, number: u64) -> [u64; 2] {
    let run = mix(seed ^ mix((u64::from(replication) << 32) | u64::from(workload)));
    let hi = mix(run ^ number);
    let lo = mix(hi ^ number.rotate_left(32));
    [hi, lo.max(1)]
}

/// A trace id as the 32 hex digits every format writes.
pub(super) fn trace_hex(trace: [u64; 2]) -> String {
    format!("{:016x}{:016x}", trace[0], trace[1])
}

/// The 8-byte id of span number `no` of trace `trace`; never zero (zero means "none").
pub fn span_id(trace: [u64; 2], no: SpanNo) -> u64 {
    mix(trace[0] ^ trace[1].rotate_left(17) ^ u64::from(no)).max(1)
}

fn string(key: &str, v: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": v } })
}

fn int(key: &str, v: u64) -> Value {
    json!({ "key": key, "value": { "intValue": v.to_string() } })
}

fn boolean(key: &str, v: bool) -> Value {
    json!({ "key": key, "value": { "boolValue": v } })
}

/// An OTLP `KeyValue`.
fn attribute(key: &str, v: &Attr) -> Value {
    match v {
        Attr::Str(s) => string(key, s),
        Attr::Int(i) => int(key, *i),
        Attr::Bool(b) => boolean(key, *b),
    }
}

impl Trace {
    /// Renders OTLP JSON lines: one `ExportTraceServiceRequest` per traced request of
    /// replication `replication` of `model`.
    pub fn to_otlp_jsonl(&self, model: &Model, replication: u32) -> String {
        let mut out = String::new();
        for req in &self.requests {
            let id = trace_id(model.seed, replication, req.workload, req.number);
            let _ = writeln!(out, "{}", render_request(req, model, id));
        }
        out
    }
}

fn render_request(req: &TracedRequest, model: &Model, trace: [u64; 2]) -> Value {
    let mut groups: BTreeMap<Resource, Vec<Value>> = BTreeMap::new();
    for s in walk(req, model, trace) {
        groups.entry(s.resource).or_default().push(render_span(&s));
    }
    let hex = trace_hex(trace);
    let resource_spans: Vec<Value> = groups
        .into_iter()
        .map(|(res, mut spans)| {
            for s in &mut spans {
                s["traceId"] = json!(hex);
            }
            let attributes: Vec<Value> = resource_attributes(model, res).iter().map(|(k, v)| string(k, v)).collect();
            let scope = json!({ "name": "resim", "version": env!("CARGO_PKG_VERSION") });
            json!({ "resource": { "attributes": attributes }, "scopeSpans": [{ "scope": scope, "spans": spans }] })
        })
        .collect();
    json!({ "resourceSpans": resource_spans })
}

fn render_span(s: &OutSpan) -> Value {
    let attributes: Vec<Value> = s.attributes.iter().map(|(k, v)| attribute(k, v)).collect();
    let status = match s.error {
        Some(label) => json!({ "code": 2, "message": label }),
        None => json!({}),
    };
    let mut span = json!({
        "spanId": format!("{:016x}", s.id),
        "name": s.name,
        "kind": s.kind.otlp(),
        "startTimeUnixNano": s.start_ns.to_string(),
        "endTimeUnixNano": s.end_ns.to_string(),
        "attributes": attributes,
        "status": status,
    });
    if let Some(p) = s.parent {
        span["parentSpanId"] = json!(format!("{p:016x}"));
    }
    span
}

#[cfg(test)]
#[path = "otlp_tests.rs"]
mod tests;
