//! Jaeger's JSON: what the UI's "Download JSON" saves and the query service's
//! `/api/traces` returns (Jaeger's `model/json` package): `{"data": [trace...]}`, each
//! trace with its `spans` and the `processes` they ran in.
//!
//! A span names its process by `processID`; the process gives the service
//! (`serviceName`) and, in its tags, the instance: `service.instance.id` when the
//! service was instrumented with OpenTelemetry, else the Jaeger client's `hostname`,
//! else its `ip`. Parentage is in `references`: the first `CHILD_OF` is the parent,
//! `FOLLOWS_FROM` (and any further `CHILD_OF`) are follows-from links. Times are whole
//! microseconds: `startTime` since the epoch and `duration`. The kind is the
//! `span.kind` tag (absent: internal), an error the `error=true` tag (or the
//! `otel.status_code=ERROR` tag that Jaeger's OTLP receiver writes).

use super::fields::{Cur, checked_end, micros};
use super::json::{Kind, Text, Val};
use super::read::{ReadState, not_this_format};
use super::span::{SpanKind, SpanRecord, TraceSet};
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;

type Result<T> = std::result::Result<T, ScenarioError>;

/// How Jaeger's JSON writes ids, for help lines.
const ID_HELP: &str = "Jaeger's JSON writes `traceID` as 16 or 32 hex digits and `spanID` as 16";

/// The `span.kind` tag's values (OpenTracing semantic conventions, and OpenTelemetry's
/// `internal`).
const KINDS: [&str; 5] = ["server", "client", "producer", "consumer", "internal"];

/// A trace's process: its key, service and instance.
struct Process<'a> {
    key: &'a str,
    service: u32,
    instance: Option<String>,
}

/// Reads one top-level value: `{"data": [...]}`, or one trace object.
pub(crate) fn read_document(v: &Val<'_>, t: &Text<'_>, set: &mut TraceSet, state: &mut ReadState) -> Result<()> {
    let doc = Cur::root(v, t);
    if let Some(data) = doc.get("data").filter(|d| matches!(d.v.kind, Kind::Arr(_))) {
        for trace in data.items()? {
            read_trace(&trace, set, state)?;
        }
        return Ok(());
    }
    if doc.get("traceID").is_some() && doc.get("spans").is_some() {
        return read_trace(&doc, set, state);
    }
    Err(not_this_format(v, t, super::Format::Jaeger, "an object with `data`, a list of traces"))
}

/// Reads one trace: its processes, then its spans.
pub(crate) fn read_trace(trace: &Cur<'_, '_>, set: &mut TraceSet, state: &mut ReadState) -> Result<()> {
    let mut processes = Vec::new();
    if let Some(ps) = trace.get("processes") {
        for (key, p) in ps.entries()? {
            let (service, instance) = read_process(&p, set)?;
            processes.push(Process { key, service, instance });
        }
    }
    let spans = trace.require("spans", "the trace's spans, a list")?;
    for span in spans.items()? {
        let rec = read_span(&span, &processes, set, state)?;
        set.spans.push(rec);
    }
    Ok(())
}

/// A process's service and instance.
fn read_process(p: &Cur<'_, '_>, set: &mut TraceSet) -> Result<(u32, Option<String>)> {
    let name = p.require("serviceName", "the process's service name")?.str()?;
    let service = set.service_index(name);
    let mut instance = None;
    if let Some(tags) = p.get("tags") {
        for key in ["service.instance.id", "hostname", "ip"] {
            instance = tag(&tags, key, tag_text)?;
            if instance.is_some() {
                break;
            }
        }
    }
    Ok((service, instance))
}

/// Reads one span.
fn read_span(
    s: &Cur<'_, '_>,
    processes: &[Process<'_>],
    set: &mut TraceSet,
    state: &mut ReadState,
) -> Result<SpanRecord> {
    let at = s.span_at();
    let trace = s.require("traceID", "the trace id in hex")?.hex_id(128, ID_HELP)?;
    let id_at = s.require("spanID", "the span id in hex")?;
    let id = id_at.span_id(ID_HELP)?;
    let (parent, follows_from) = references(s)?;
    let (service, instance) = process_of(s, processes, set)?;
    let start_ns = micros(&s.require("startTime", "the start in microseconds since the epoch")?, "`startTime`")?;
    let duration_at = s.require("duration", "the duration in microseconds")?;
    let duration = micros(&duration_at, "`duration`")?;
    let end_ns = checked_end(
        start_ns,
        start_ns.saturating_add(duration),
        &duration_at,
        "a span's `duration` is never negative: fix the exporter or drop the span",
    )?;
    let operation = s.require("operationName", "the operation's name")?.str()?.to_owned();
    let (mut kind, mut error, mut peer_service) = (SpanKind::Internal, false, None);
    if let Some(tags) = s.get("tags") {
        kind = tag(&tags, "span.kind", span_kind)?.unwrap_or(SpanKind::Internal);
        error = tag(&tags, "error", |e| e.bool())?.unwrap_or(false)
            || tag(&tags, "otel.status_code", |c| Ok(matches!(&c.v.kind, Kind::Str(s) if s == "ERROR")))?
                .unwrap_or(false);
        peer_service = tag(&tags, "peer.service", tag_text)?;
    }
    state.seen.check(trace, id, &id_at, &at)?;
    Ok(SpanRecord {
        trace,
        id,
        parent,
        follows_from,
        service,
        instance,
        operation,
        kind,
        start_ns,
        end_ns,
        error,
        peer_service,
        at,
    })
}

/// The parent (the first `CHILD_OF`, or the older `parentSpanID` field) and the
/// follows-from links.
fn references(s: &Cur<'_, '_>) -> Result<(Option<u64>, Vec<u64>)> {
    let (mut parent, mut follows) = (None, Vec::new());
    if let Some(refs) = s.get("references") {
        for r in refs.items()? {
            let id = r.require("spanID", "the referenced span's id")?.span_id(ID_HELP)?;
            let ty = r.require("refType", "`CHILD_OF` or `FOLLOWS_FROM`")?;
            match ty.str()? {
                "CHILD_OF" if parent.is_none() => parent = Some(id),
                "CHILD_OF" | "FOLLOWS_FROM" => follows.push(id),
                other => {
                    let e = ty.error(format!("expected `CHILD_OF` or `FOLLOWS_FROM`, found `{other}`"));
                    return Err(match suggest(&other.to_ascii_uppercase(), ["CHILD_OF", "FOLLOWS_FROM"]) {
                        Some(near) => e.with_help(format!("did you mean `{near}`?")),
                        None => e,
                    });
                }
            }
        }
    }
    if parent.is_none()
        && let Some(p) = s.get("parentSpanID")
        && !matches!(&p.v.kind, Kind::Str(x) if x.is_empty() || x.bytes().all(|b| b == b'0'))
    {
        parent = Some(p.span_id(ID_HELP)?);
    }
    Ok((parent, follows))
}

/// The span's service and instance: its `processID` in the trace's `processes`, or a
/// `process` object of its own (as some Jaeger versions embed).
fn process_of(s: &Cur<'_, '_>, processes: &[Process<'_>], set: &mut TraceSet) -> Result<(u32, Option<String>)> {
    if let Some(id) = s.get("processID") {
        let key = id.str()?;
        return match processes.iter().find(|p| p.key == key) {
            Some(p) => Ok((p.service, p.instance.clone())),
            None => {
                let e = id.error(format!("process `{key}` is not in this trace's `processes`"));
                Err(match suggest(key, processes.iter().map(|p| p.key)) {
                    Some(near) => e.with_help(format!("did you mean `{near}`?")),
                    None => e.with_help(format!(
                        "the trace's processes are {}",
                        processes.iter().map(|p| format!("`{}`", p.key)).collect::<Vec<_>>().join(", ")
                    )),
                })
            }
        };
    }
    match s.get("process") {
        Some(p) => read_process(&p, set),
        None => Err(s.missing("processID", "the key of the span's process in the trace's `processes`")),
    }
}

/// What `f` makes of the value of tag `key` in a Jaeger `tags` list
/// (`[{key, type, value}]`), if the tag is there.
fn tag<T>(tags: &Cur<'_, '_>, key: &str, f: impl FnOnce(&Cur<'_, '_>) -> Result<T>) -> Result<Option<T>> {
    for item in tags.items()? {
        if item.get("key").is_some_and(|k| matches!(&k.v.kind, Kind::Str(s) if s == key)) {
            return match item.get("value") {
                Some(value) => f(&value).map(Some),
                None => Ok(None),
            };
        }
    }
    Ok(None)
}

/// A tag's value as text (a string, a number or a boolean as written).
fn tag_text(v: &Cur<'_, '_>) -> Result<String> {
    match &v.v.kind {
        Kind::Str(s) => Ok(s.to_string()),
        Kind::Num(n) => Ok((*n).to_owned()),
        Kind::Bool(b) => Ok(b.to_string()),
        _ => Err(v.error(format!("expected text, a number or a boolean, found {}", v.v.describe()))),
    }
}

/// The `span.kind` tag's value.
fn span_kind(k: &Cur<'_, '_>) -> Result<SpanKind> {
    let s = k.str()?;
    Ok(match s {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        other => {
            let e = k.error(format!("expected one of {}, found `{other}`", KINDS.join(", ")));
            return Err(match suggest(&other.to_ascii_lowercase(), KINDS) {
                Some(near) => e.with_help(format!("did you mean `{near}`?")),
                None => e,
            });
        }
    })
}
