//! The spans a traced request shows outside resim, in no format yet: one walk of a
//! [`TracedRequest`] that the OTLP, Jaeger and Zipkin renderings ([`super::otlp`],
//! [`super::jaeger`], [`super::zipkin`]) all read, so the three files carry the same
//! spans, ids, parents, kinds, times, errors and attributes, and differ only in how
//! each format spells them.
//!
//! The mapping (documented in [`super::otlp`]) is OpenTelemetry's: a visit is a SERVER
//! span (CONSUMER when a hand-off sent it), a call attempt or hedge a CLIENT span, a
//! `routes` hand-off a PRODUCER span; spans still open at the run's end are left out;
//! backoffs, fallbacks and policy instants are Chrome-only.

use std::collections::HashMap;

use crate::engine::SimTime;
use crate::model::Model;

use super::otlp::{EPOCH_NS, span_id};
use super::{Span, SpanKind, SpanNo, TracedRequest, Track};

/// The resource a span sits on: a service (model index) and, when known, its instance.
pub(crate) type Resource = (u32, Option<u32>);

/// OpenTelemetry's span kinds that resim writes (`trace.proto`'s `SpanKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A visit to a service.
    Server,
    /// A call attempt or a hedge.
    Client,
    /// A `routes` hand-off sent.
    Producer,
    /// A visit a hand-off sent.
    Consumer,
}

impl Kind {
    /// OTLP's enum value.
    pub(crate) fn otlp(self) -> u8 {
        match self {
            Kind::Server => 2,
            Kind::Client => 3,
            Kind::Producer => 4,
            Kind::Consumer => 5,
        }
    }

    /// The OpenTracing `span.kind` tag's value (Jaeger), lower case.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }

    /// Zipkin v2's `kind`, upper case.
    pub(crate) fn zipkin(self) -> &'static str {
        match self {
            Kind::Server => "SERVER",
            Kind::Client => "CLIENT",
            Kind::Producer => "PRODUCER",
            Kind::Consumer => "CONSUMER",
        }
    }
}

/// An attribute's value, typed as OpenTelemetry types it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Attr {
    /// `stringValue`.
    Str(String),
    /// `intValue`.
    Int(u64),
    /// `boolValue`.
    Bool(bool),
}

impl Attr {
    /// The value as text (Zipkin's tags are strings; booleans lower case).
    pub(crate) fn text(&self) -> String {
        match self {
            Attr::Str(s) => s.clone(),
            Attr::Int(i) => i.to_string(),
            Attr::Bool(b) => b.to_string(),
        }
    }
}

/// One span, as every format renders it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OutSpan {
    /// Where it sits.
    pub resource: Resource,
    /// Its 8-byte id.
    pub id: u64,
    /// Its parent's id, named even when the parent was left out (beyond `MAX_SPANS`): a
    /// reader sees a missing parent rather than a second root.
    pub parent: Option<u64>,
    /// Operation name.
    pub name: String,
    /// Kind.
    pub kind: Kind,
    /// Start, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// End, nanoseconds since the Unix epoch; never before the start.
    pub end_ns: u64,
    /// Attributes, in the order written.
    pub attributes: Vec<(&'static str, Attr)>,
    /// The outcome when it is an error (status ERROR, with it as the message).
    pub error: Option<&'static str>,
}

/// Nanoseconds since the Unix epoch of simulated time `t`.
fn unix_ns(t: SimTime) -> u64 {
    EPOCH_NS.saturating_add(t.0)
}

/// True for outcomes OpenTelemetry calls errors.
fn is_error(label: &str) -> bool {
    matches!(label, "error" | "timeout" | "rejected" | "short_circuited")
}

/// Service `s`'s name.
pub(crate) fn service_name(model: &Model, s: u32) -> &str {
    model.services.get(s as usize).map_or("service", |x| x.name.as_str())
}

/// The resource's attributes: `service.name` and, when known, `service.instance.id` =
/// `<service>-<instance index>`.
pub(crate) fn resource_attributes(model: &Model, (service, instance): Resource) -> Vec<(&'static str, String)> {
    let name = service_name(model, service);
    let mut attributes = vec![("service.name", name.to_string())];
    if let Some(i) = instance {
        attributes.push(("service.instance.id", format!("{name}-{i}")));
    }
    attributes
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

/// The spans of request `req` of trace `trace`, ordered by start (then span number).
pub(crate) fn walk(req: &TracedRequest, model: &Model, trace: [u64; 2]) -> Vec<OutSpan> {
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
    spans
        .iter()
        .filter_map(|s| {
            let res = resource(s, &by_id, model)?;
            let parent = by_id.get(&s.parent).copied();
            out_span(s, parent, req, model, trace, res)
        })
        .collect()
}

/// One span's name, kind and attributes; `None` for what no format shows.
fn out_span(
    s: &Span,
    parent: Option<&Span>,
    req: &TracedRequest,
    model: &Model,
    trace: [u64; 2],
    resource: Resource,
) -> Option<OutSpan> {
    let mut attributes = vec![("resim.outcome", Attr::Str(s.label.to_string()))];
    let (name, kind) = match s.kind {
        SpanKind::Visit { pool, started, .. } => {
            let Track::Service(svc) = s.track else { return None };
            let wait = started.filter(|&t| t >= s.start && t <= s.end).unwrap_or(s.end) - s.start;
            attributes.push(("resim.queue_wait_ns", Attr::Int(wait.0)));
            let service = model.services.get(svc as usize);
            if let Some(p) = service.and_then(|x| x.pools.get(usize::from(pool))) {
                attributes.push(("resim.pool", Attr::Str(p.name.clone())));
            }
            if s.parent == 0 {
                let workload = model.workloads.get(req.workload as usize).map_or("workload", |w| w.name.as_str());
                attributes.push(("resim.workload", Attr::Str(workload.to_string())));
                attributes.push(("resim.request", Attr::Int(req.number)));
            }
            let consumer = parent.is_some_and(|p| matches!(p.kind, SpanKind::Send { .. }));
            (service_name(model, svc).to_string(), if consumer { Kind::Consumer } else { Kind::Server })
        }
        SpanKind::Attempt { attempt, .. } | SpanKind::Hedge { attempt } => {
            let e = match s.track {
                Track::Edge(e) => model.edges.get(e as usize),
                Track::Service(_) => None,
            };
            if let Some(e) = e {
                attributes.push(("peer.service", Attr::Str(service_name(model, e.to as u32).to_string())));
            }
            attributes.push(("resim.attempt", Attr::Int(u64::from(attempt))));
            attributes.push(("resim.retry", Attr::Bool(attempt > 1)));
            attributes.push(("resim.hedge", Attr::Bool(matches!(s.kind, SpanKind::Hedge { .. }))));
            (e.map_or_else(|| "call".to_string(), |e| e.name.clone()), Kind::Client)
        }
        SpanKind::Send { to } => {
            attributes.push(("peer.service", Attr::Str(service_name(model, to).to_string())));
            (format!("send {}", service_name(model, to)), Kind::Producer)
        }
        SpanKind::Backoff { .. } | SpanKind::Fallback { .. } | SpanKind::Instant { .. } => return None,
    };
    Some(OutSpan {
        resource,
        id: span_id(trace, s.id),
        parent: (s.parent != 0).then(|| span_id(trace, s.parent)),
        name,
        kind,
        start_ns: unix_ns(s.start),
        end_ns: unix_ns(s.end.max(s.start)),
        attributes,
        error: is_error(s.label).then_some(s.label),
    })
}

/// The peer service a client or producer span names (`peer.service`), if any.
pub(crate) fn peer_service(span: &OutSpan) -> Option<&str> {
    span.attributes.iter().find_map(|(k, v)| match (k, v) {
        (&"peer.service", Attr::Str(s)) => Some(s.as_str()),
        _ => None,
    })
}

/// Whole microseconds nearest `ns` (Jaeger's and Zipkin's unit). Start and end are each
/// rounded, and the duration is their difference: rounding is monotone, so a child
/// still starts no earlier and ends no later than its parent, and a span that ends at
/// once (a hand-off) has duration 0 (Jaeger takes it; Zipkin's minimum is 1).
pub(crate) fn micros(ns: u64) -> u64 {
    ns / 1000 + u64::from(ns % 1000 >= 500)
}
