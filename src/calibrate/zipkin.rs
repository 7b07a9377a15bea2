//! Zipkin v2 JSON (the Zipkin v2 API, `zipkin2-api.yaml`): a list of spans as
//! collectors post to `/api/v2/spans`, or a list of traces (lists of spans) as
//! `/api/v2/traces` returns.
//!
//! A span gives its service and instance in `localEndpoint` (`serviceName`, and
//! `ipv4`/`ipv6` with `port` as the instance, else a `service.instance.id` tag), the service it calls in
//! `remoteEndpoint.serviceName`, its kind in `kind` (absent: internal work, Zipkin has
//! no name for it), times in whole microseconds (`timestamp`, `duration`), and an error
//! by an `error` tag of any value. A missing `duration` marks a span that was never
//! finished; resim refuses it rather than guess an end.
//!
//! Shared spans: with B3 propagation a server joins its caller's span, so the client
//! half and the server half carry the same `id`, the server's marked `shared: true`.
//! resim keeps both halves as spans of their own: the server half gets the id
//! [`shared_id`] derives from the shared one (deterministic, so every read of a file
//! gives the same set) and the client half as its parent, and the spans the server
//! half's service started under the shared id are re-parented to it ([`join_shared`]).
//! That is the shape OpenTelemetry and Jaeger give the same call. A call from a
//! service to itself is the one case this cannot untangle: its client half's children
//! are re-parented to the server half too.

use std::collections::HashMap;

use super::fields::{Cur, checked_end, micros};
use super::json::{Kind, Text, Val};
use super::otlp::UNKNOWN_SERVICE;
use super::read::{ReadState, not_this_format};
use super::span::{SpanKind, SpanRecord, TraceSet};
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;

type Result<T> = std::result::Result<T, ScenarioError>;

/// How Zipkin writes ids, for help lines.
const ID_HELP: &str = "Zipkin v2 writes `traceId` as 16 or 32 lower-case hex digits and `id`/`parentId` as 16";

/// The `kind` values (Zipkin v2 API).
const KINDS: [&str; 4] = ["CLIENT", "SERVER", "PRODUCER", "CONSUMER"];

/// The server half of a shared span, given an id of its own.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SharedHalf {
    trace: u128,
    shared: u64,
    service: u32,
    id: u64,
}

/// The id given to the server half of shared span `id`: SplitMix64's finaliser
/// (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014) of
/// the id, so it looks like any other random span id and differs from the shared one.
pub fn shared_id(id: u64) -> u64 {
    let mut z = id ^ 0x5a17_7ed5_4a4e_d000;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    if z == 0 || z == id { id.rotate_left(32) ^ 1 } else { z }
}

/// Reads one top-level value: a list of spans, or a list of traces.
pub(crate) fn read_document(v: &Val<'_>, t: &Text<'_>, set: &mut TraceSet, state: &mut ReadState) -> Result<()> {
    let doc = Cur::root(v, t);
    if !matches!(v.kind, Kind::Arr(_)) {
        return Err(not_this_format(v, t, super::Format::Zipkin, "a list of spans (or of traces)"));
    }
    for item in doc.items()? {
        read_entry(&item, set, state)?;
    }
    Ok(())
}

/// Reads one item of the top-level list: a span, or a trace (a list of spans).
pub(crate) fn read_entry(item: &Cur<'_, '_>, set: &mut TraceSet, state: &mut ReadState) -> Result<()> {
    match &item.v.kind {
        Kind::Arr(_) => {
            for span in item.items()? {
                read_span(&span, set, state)?;
            }
            Ok(())
        }
        Kind::Obj(_) if item.v.get("traceId").is_some() || item.v.get("id").is_some() => read_span(item, set, state),
        _ => Err(not_this_format(item.v, item.text, super::Format::Zipkin, "a Zipkin span (or a list of them)")),
    }
}

/// Reads one span into `set`.
fn read_span(s: &Cur<'_, '_>, set: &mut TraceSet, state: &mut ReadState) -> Result<()> {
    let at = s.span_at();
    let trace = s.require("traceId", "the trace id, 16 or 32 hex digits")?.hex_id(128, ID_HELP)?;
    let id_at = s.require("id", "the span id, 16 hex digits")?;
    let mut id = id_at.span_id(ID_HELP)?;
    let mut parent = s.get("parentId").map(|p| p.span_id(ID_HELP)).transpose()?;
    let start_ns = micros(&s.require("timestamp", "the start in microseconds since the epoch")?, "`timestamp`")?;
    let Some(duration_at) = s.get("duration") else {
        return Err(s.missing("duration", "the duration in microseconds").with_help(
            "Zipkin leaves `duration` out of a span that never finished: drop it, or export once the trace is complete",
        ));
    };
    let end_ns = checked_end(
        start_ns,
        start_ns.saturating_add(micros(&duration_at, "`duration`")?),
        &duration_at,
        "a span's `duration` is never negative: fix the exporter or drop the span",
    )?;
    let local = s.get("localEndpoint");
    let name = local.as_ref().and_then(|l| l.get("serviceName")).map(|n| n.str()).transpose()?;
    let service = set.service_index(name.unwrap_or(UNKNOWN_SERVICE));
    let instance = match &local {
        Some(l) => endpoint(l)?,
        None => None,
    };
    let instance = match instance {
        Some(i) => Some(i),
        None => instance_tag(s)?,
    };
    let remote = s.get("remoteEndpoint");
    let peer_service =
        remote.as_ref().and_then(|r| r.get("serviceName")).map(|n| n.str().map(str::to_owned)).transpose()?;
    let error = match s.get("tags") {
        Some(tags) => tags.entries()?.any(|(k, _)| k == "error"),
        None => false,
    };
    let operation = s.get("name").map(|n| n.str().map(str::to_owned)).transpose()?.unwrap_or_default();
    let shared = s.get("shared").map(|b| b.bool()).transpose()?.unwrap_or(false);
    if shared {
        let synthetic = shared_id(id);
        state.shared.push(SharedHalf { trace, shared: id, service, id: synthetic });
        (parent, id) = (Some(id), synthetic);
    }
    state.seen.check(trace, id, &id_at, &at)?;
    set.spans.push(SpanRecord {
        trace,
        id,
        parent,
        follows_from: Vec::new(),
        service,
        instance,
        operation,
        kind: kind(s)?,
        start_ns,
        end_ns,
        error,
        peer_service,
        at,
    });
    Ok(())
}

/// The span's kind (`kind`; absent is internal work).
fn kind(s: &Cur<'_, '_>) -> Result<SpanKind> {
    let Some(k) = s.get("kind") else { return Ok(SpanKind::Internal) };
    Ok(match k.str()? {
        "CLIENT" => SpanKind::Client,
        "SERVER" => SpanKind::Server,
        "PRODUCER" => SpanKind::Producer,
        "CONSUMER" => SpanKind::Consumer,
        other => {
            let e = k.error(format!("expected one of {}, found `{other}`", KINDS.join(", ")));
            return Err(match suggest(&other.to_ascii_uppercase(), KINDS) {
                Some(near) => e.with_help(format!("did you mean `{near}`? (leave `kind` out for internal work)")),
                None => e.with_help("leave `kind` out for internal work"),
            });
        }
    })
}

/// An endpoint's address as an instance name: `ipv4` (or `ipv6`) and `:port` if given.
fn endpoint(e: &Cur<'_, '_>) -> Result<Option<String>> {
    let ip = match (e.get("ipv4"), e.get("ipv6")) {
        (Some(ip), _) | (None, Some(ip)) => ip.str()?,
        (None, None) => return Ok(None),
    };
    Ok(Some(match e.get("port") {
        Some(p) => format!("{ip}:{}", p.u64("a port")?),
        None => ip.to_owned(),
    }))
}

/// The `service.instance.id` tag, the instance when the local endpoint has no address:
/// the OpenTelemetry Collector's Zipkin exporter (`zipkinv2/from_translator.go`) writes
/// the resource's attributes other than `service.name` as tags, and so does resim.
fn instance_tag(s: &Cur<'_, '_>) -> Result<Option<String>> {
    let Some(tags) = s.get("tags") else { return Ok(None) };
    for (k, v) in tags.entries()? {
        if k == "service.instance.id" {
            return v.str().map(|i| Some(i.to_owned()));
        }
    }
    Ok(None)
}

/// Re-parents the spans a shared span's server half started (those of its service whose
/// parent is the shared id) to the id the server half was given.
pub(crate) fn join_shared(set: &mut TraceSet, shared: &[SharedHalf]) {
    if shared.is_empty() {
        return;
    }
    let halves: HashMap<(u128, u64), (u32, u64)> =
        shared.iter().map(|h| ((h.trace, h.shared), (h.service, h.id))).collect();
    for span in &mut set.spans {
        let Some(p) = span.parent else { continue };
        if let Some(&(service, id)) = halves.get(&(span.trace, p))
            && span.service == service
            && span.id != id
        {
            span.parent = Some(id);
        }
    }
}
