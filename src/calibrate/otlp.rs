//! OpenTelemetry's OTLP JSON, as the collector's `file` exporter writes it: one
//! `ExportTraceServiceRequest` per line (or one request as a pretty-printed document).
//!
//! The shape is the OpenTelemetry proto (`opentelemetry/proto/trace/v1/trace.proto`)
//! under OTLP/JSON's encoding rules (OTLP specification, "JSON Protobuf Encoding"):
//! `resourceSpans[].resource.attributes[]`, then `scopeSpans[]` (the older
//! `instrumentationLibrarySpans[]` too, as collectors before 0.49 wrote), then
//! `spans[]`. Ids are hex text — the OTLP spec departs from protobuf's base64 for
//! `bytes` here — and 64-bit integers (times) may be text or numbers; enums (`kind`,
//! `status.code`) may be their number or their name. Fields at their default value are
//! left out by the protobuf JSON mapping, so a missing `kind` reads as unspecified
//! (internal), a missing `name` as empty, a missing `status` as unset.

use super::fields::{Cur, checked_end, nanos};
use super::json::{Kind, Text, Val};
use super::read::{ReadState, not_this_format};
use super::span::{SpanKind, SpanRecord, TraceSet};
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;

type Result<T> = std::result::Result<T, ScenarioError>;

/// The service name of a resource without `service.name`: the OpenTelemetry resource
/// semantic conventions have SDKs default it to `unknown_service` (followed by
/// `:` and the executable's name when known); resim reads the plain default.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// How OTLP/JSON writes ids, for help lines.
const ID_HELP: &str = "OTLP/JSON writes `traceId` as 32 and `spanId` as 16 hex digits (OTLP specification, \
                       JSON Protobuf Encoding)";

/// The `kind` enum's names, in number order (`SpanKind` in trace.proto).
const KIND_NAMES: [&str; 6] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];

/// The `status.code` enum's names, in number order (`Status.StatusCode`).
const STATUS_NAMES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

/// Reads one `ExportTraceServiceRequest` (one line of the file exporter's output).
pub(crate) fn read_request(v: &Val<'_>, t: &Text<'_>, set: &mut TraceSet, state: &mut ReadState) -> Result<()> {
    let req = Cur::root(v, t);
    let Some(resources) = req.get("resourceSpans") else {
        // `{}` is a request with nothing in it (the protobuf JSON mapping leaves out an
        // empty list); anything else is not OTLP.
        if matches!(&v.kind, Kind::Obj(e) if e.is_empty()) {
            return Ok(());
        }
        return Err(not_this_format(v, t, super::Format::Otlp, "an object with `resourceSpans`"));
    };
    for resource in resources.items()? {
        read_resource(&resource, set, state)?;
    }
    Ok(())
}

/// Reads one `ResourceSpans`: the service, then every span of every scope.
pub(crate) fn read_resource(r: &Cur<'_, '_>, set: &mut TraceSet, state: &mut ReadState) -> Result<()> {
    let resource = r.get("resource");
    let attrs = resource.as_ref().and_then(|res| res.get("attributes"));
    let (name, instance) = match &attrs {
        Some(a) => (attribute(a, "service.name")?, attribute(a, "service.instance.id")?),
        None => (None, None),
    };
    let service = set.service_index(name.as_deref().unwrap_or(UNKNOWN_SERVICE));
    let scopes = match (r.get("scopeSpans"), r.get("instrumentationLibrarySpans")) {
        (Some(s), _) | (None, Some(s)) => s,
        (None, None) => return Ok(()),
    };
    for scope in scopes.items()? {
        let Some(spans) = scope.get("spans") else { continue };
        for span in spans.items()? {
            let rec = read_span(&span, service, &instance, state)?;
            set.spans.push(rec);
        }
    }
    Ok(())
}

/// Reads one span of `service`.
fn read_span(s: &Cur<'_, '_>, service: u32, instance: &Option<String>, state: &mut ReadState) -> Result<SpanRecord> {
    let at = s.span_at();
    let trace = s.require("traceId", "the trace id, 32 hex digits")?.hex_id(128, ID_HELP)?;
    let id_at = s.require("spanId", "the span id, 16 hex digits")?;
    let id = id_at.span_id(ID_HELP)?;
    let parent = match s.get("parentSpanId") {
        Some(p) if matches!(&p.v.kind, Kind::Str(x) if x.is_empty()) => None,
        Some(p) => Some(p.span_id(ID_HELP)?),
        None => None,
    };
    let mut follows_from = Vec::new();
    if let Some(links) = s.get("links") {
        for link in links.items()? {
            follows_from.push(link.require("spanId", "the linked span's id")?.span_id(ID_HELP)?);
        }
    }
    let start_ns = nanos(&s.require("startTimeUnixNano", "the start time in nanoseconds")?, "the start")?;
    let end_at = s.require("endTimeUnixNano", "the end time in nanoseconds")?;
    let end_ns = checked_end(
        start_ns,
        nanos(&end_at, "the end")?,
        &end_at,
        "`endTimeUnixNano` is never before `startTimeUnixNano`: fix the exporter's clock or drop the span",
    )?;
    let operation = match s.get("name") {
        Some(n) => n.str()?.to_owned(),
        None => String::new(),
    };
    let error = match s.get("status").and_then(|st| st.get("code").map(|c| enum_value(&c, &STATUS_NAMES))) {
        Some(code) => code? == 2,
        None => false,
    };
    let peer_service = match s.get("attributes") {
        Some(a) => attribute(&a, "peer.service")?,
        None => None,
    };
    state.seen.check(trace, id, &id_at, &at)?;
    Ok(SpanRecord {
        trace,
        id,
        parent,
        follows_from,
        service,
        instance: instance.clone(),
        operation,
        kind: kind(s)?,
        start_ns,
        end_ns,
        error,
        peer_service,
        at,
    })
}

/// The span's kind (`kind`, a number or a name; unspecified reads as internal).
fn kind(s: &Cur<'_, '_>) -> Result<SpanKind> {
    let Some(k) = s.get("kind") else { return Ok(SpanKind::Internal) };
    Ok(match enum_value(&k, &KIND_NAMES)? {
        2 => SpanKind::Server,
        3 => SpanKind::Client,
        4 => SpanKind::Producer,
        5 => SpanKind::Consumer,
        _ => SpanKind::Internal,
    })
}

/// A protobuf enum written as its number or its name (`names` in number order).
fn enum_value(c: &Cur<'_, '_>, names: &[&str]) -> Result<usize> {
    let expected = || format!("{} (or 0 to {})", names.join(", "), names.len() - 1);
    match &c.v.kind {
        Kind::Num(_) => {
            let n = c.u64("an enum number")? as usize;
            if n < names.len() { Ok(n) } else { Err(c.error(format!("expected one of {}, found {n}", expected()))) }
        }
        Kind::Str(s) => names.iter().position(|n| n == s).ok_or_else(|| {
            let e = c.error(format!("expected one of {}, found {}", expected(), c.v.describe()));
            match suggest(&s.to_ascii_uppercase(), names.iter().copied()) {
                Some(near) => e.with_help(format!("did you mean `{near}`?")),
                None => e,
            }
        }),
        _ => Err(c.error(format!("expected one of {}, found {}", expected(), c.v.describe()))),
    }
}

/// The value of attribute `key` in an OTLP `attributes` list (`[{key, value: AnyValue}]`),
/// as text: a `stringValue`, or an `intValue` (some SDKs give instance ids as numbers).
fn attribute(attrs: &Cur<'_, '_>, key: &str) -> Result<Option<String>> {
    for a in attrs.items()? {
        if a.require("key", "the attribute's name")?.str()? != key {
            continue;
        }
        let Some(value) = a.get("value") else { return Ok(None) };
        if let Some(s) = value.get("stringValue") {
            return Ok(Some(s.str()?.to_owned()));
        }
        if let Some(i) = value.get("intValue") {
            return Ok(Some(i.u64("an integer attribute")?.to_string()));
        }
        return Err(value.error(format!("expected `{key}` as a `stringValue`, found {}", value.v.describe())));
    }
    Ok(None)
}
