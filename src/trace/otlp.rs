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

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::engine::SimTime;
use crate::model::Model;

use super::{Span, SpanKind, SpanNo, Trace, TracedRequest, Track};

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

/// The 8-byte id of span number `no` of trace `trace`; never zero (zero means "none").
pub fn span_id(trace: [u64; 2], no: SpanNo) -> u64 {
    mix(trace[0] ^ trace[1].rotate_left(17) ^ u64::from(no)).max(1)
}

fn ns(t: SimTime) -> String {
    EPOCH_NS.saturating_add(t.0).to_string()
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

/// True for outcomes OpenTelemetry calls errors.
fn is_error(label: &str) -> bool {
    matches!(label, "error" | "timeout" | "rejected" | "short_circuited")
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

/// The resource a span sits on: a service and, when known, its instance.
type Resource = (u32, Option<u32>);

fn service_name(model: &Model, s: u32) -> &str {
    model.services.get(s as usize).map_or("service", |x| x.name.as_str())
}

/// The visit a span hangs under (itself for a visit), to find its resource.
fn resource(span: &Span, by_id: &HashMap<SpanNo, &Span>, model: &Model) -> Option<Resource> {
    match (span.kind, span.track) {
        (SpanKind::Visit { instance, .. }, Track::Service(s)) => Some((s, Some(instance))),
        (_, track) => match by_id.get(&span.parent) {
            Some(p) if matches!(p.kind, SpanKind::Visit { .. }) => resource(p, by_id, model),
            _ => match track {
                Track::Service(s) => Some((s, None)),
                Track::Edge(e) => model.edges.get(e as usize).map(|e| (e.from as u32, None)),
            },
        },
    }
}

fn render_request(req: &TracedRequest, model: &Model, trace: [u64; 2]) -> Value {
    // A span still open when the run ended is left out, as a tracer exports a span only
    // when it ends: what it leaves is what a collector holds at a cut (a trace without
    // its root, children naming a missing parent), not a span cut short.
    let shown = |s: &&Span| {
        matches!(
            s.kind,
            SpanKind::Visit { .. } | SpanKind::Attempt { .. } | SpanKind::Hedge { .. } | SpanKind::Send { .. }
        ) && s.label != "in_flight"
    };
    let mut spans: Vec<&Span> = req.spans.iter().chain(&req.links).filter(shown).collect();
    spans.sort_by_key(|s| (s.start, s.id));
    let by_id: HashMap<SpanNo, &Span> = spans.iter().map(|s| (s.id, *s)).collect();
    let mut groups: BTreeMap<Resource, Vec<Value>> = BTreeMap::new();
    for s in &spans {
        let Some(res) = resource(s, &by_id, model) else { continue };
        let parent = by_id.get(&s.parent).copied();
        groups.entry(res).or_default().push(render_span(s, parent, req, model, trace));
    }
    let hex = format!("{:016x}{:016x}", trace[0], trace[1]);
    let resource_spans: Vec<Value> = groups
        .into_iter()
        .map(|((service, instance), mut spans)| {
            for s in &mut spans {
                s["traceId"] = json!(hex);
            }
            let name = service_name(model, service);
            let mut attributes = vec![string("service.name", name)];
            if let Some(i) = instance {
                attributes.push(string("service.instance.id", &format!("{name}-{i}")));
            }
            let scope = json!({ "name": "resim", "version": env!("CARGO_PKG_VERSION") });
            json!({ "resource": { "attributes": attributes }, "scopeSpans": [{ "scope": scope, "spans": spans }] })
        })
        .collect();
    json!({ "resourceSpans": resource_spans })
}

fn render_span(s: &Span, parent: Option<&Span>, req: &TracedRequest, model: &Model, trace: [u64; 2]) -> Value {
    let edge = |track: Track| match track {
        Track::Edge(e) => model.edges.get(e as usize),
        Track::Service(_) => None,
    };
    let mut attributes = vec![string("resim.outcome", s.label)];
    let (name, kind) = match s.kind {
        SpanKind::Visit { pool, started, .. } => {
            let Track::Service(svc) = s.track else { return json!({}) };
            let wait = started.filter(|&t| t >= s.start && t <= s.end).unwrap_or(s.end) - s.start;
            attributes.push(int("resim.queue_wait_ns", wait.0));
            let service = model.services.get(svc as usize);
            if let Some(p) = service.and_then(|x| x.pools.get(usize::from(pool))) {
                attributes.push(string("resim.pool", &p.name));
            }
            if s.parent == 0 {
                let workload = model.workloads.get(req.workload as usize).map_or("workload", |w| w.name.as_str());
                attributes.push(string("resim.workload", workload));
                attributes.push(int("resim.request", req.number));
            }
            let consumer = parent.is_some_and(|p| matches!(p.kind, SpanKind::Send { .. }));
            (service_name(model, svc).to_string(), if consumer { 5 } else { 2 })
        }
        SpanKind::Attempt { attempt, .. } | SpanKind::Hedge { attempt } => {
            let e = edge(s.track);
            if let Some(e) = e {
                attributes.push(string("peer.service", service_name(model, e.to as u32)));
            }
            attributes.push(int("resim.attempt", u64::from(attempt)));
            attributes.push(boolean("resim.retry", attempt > 1));
            attributes.push(boolean("resim.hedge", matches!(s.kind, SpanKind::Hedge { .. })));
            (e.map_or_else(|| "call".to_string(), |e| e.name.clone()), 3)
        }
        SpanKind::Send { to } => {
            attributes.push(string("peer.service", service_name(model, to)));
            (format!("send {}", service_name(model, to)), 4)
        }
        SpanKind::Backoff { .. } | SpanKind::Fallback { .. } | SpanKind::Instant { .. } => return json!({}),
    };
    let status = if is_error(s.label) { json!({ "code": 2, "message": s.label }) } else { json!({}) };
    let mut span = json!({
        "spanId": format!("{:016x}", span_id(trace, s.id)),
        "name": name,
        "kind": kind,
        "startTimeUnixNano": ns(s.start),
        "endTimeUnixNano": ns(s.end.max(s.start)),
        "attributes": attributes,
        "status": status,
    });
    // Named even when the parent was left out (beyond `MAX_SPANS`): a reader sees a
    // missing parent rather than a second root.
    if s.parent != 0 {
        span["parentSpanId"] = json!(format!("{:016x}", span_id(trace, s.parent)));
    }
    span
}

#[cfg(test)]
#[path = "otlp_tests.rs"]
mod tests;
