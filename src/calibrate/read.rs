//! Reading trace files into a [`TraceSet`]: the one entry point (`read_traces`) over the
//! three formats' readers, and what they share: the size limit, the refusal of an empty
//! file or of a file in another format than the one named (with the right `--format`
//! when its shape is recognised), and the check that a span id is unique in its trace.
//!
//! The readers refuse what cannot be a span (an end before the start, an id that is not
//! hex or is zero, a duplicate id, a file cut mid-record). They do not judge what the
//! spans say about each other: clock skew (a child outside its parent), a parent that is
//! not in the set, a trace whose root was never exported are real traces' everyday
//! faults, and inference weighs them.

use std::path::{Path, PathBuf};

use super::fields::Cur;
use super::fields::Seen;
use super::json::{Kind, Parser, SyntaxError, Text, Val};
use super::span::TraceSet;
use super::{jaeger, otlp, zipkin};
use crate::input;
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;

/// Largest trace file read: a gibibyte. A trace file is read whole into memory (parsing
/// needs it), and a day of a busy service's sampled traces is a few hundred megabytes;
/// past this, split the export (the collector's file exporter rotates with
/// `rotation.max_megabytes`) and pass the parts together.
pub const MAX_TRACE_BYTES: u64 = 1024 * 1024 * 1024;

/// A trace file format `resim calibrate` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// OpenTelemetry OTLP JSON, as the collector's `file` exporter writes it (JSON lines
    /// of `ExportTraceServiceRequest`), or one such request as a document.
    Otlp,
    /// Jaeger's JSON: the UI's "Download JSON" and the query service's `/api/traces`.
    Jaeger,
    /// Zipkin v2 JSON: a list of spans, or a list of traces as `/api/v2/traces` returns.
    Zipkin,
}

impl Format {
    /// Every format, in the order `--format` lists them.
    pub const ALL: [Format; 3] = [Format::Otlp, Format::Jaeger, Format::Zipkin];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Otlp => "otlp",
            Format::Jaeger => "jaeger",
            Format::Zipkin => "zipkin",
        }
    }

    /// What the format is, in words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Otlp => "OTLP JSON (OpenTelemetry)",
            Format::Jaeger => "Jaeger JSON",
            Format::Zipkin => "Zipkin v2 JSON",
        }
    }

    /// The format named `name` (any case), or an error suggesting the nearest name.
    pub fn parse(name: &str) -> Result<Format, ScenarioError> {
        let lower = name.trim().to_ascii_lowercase();
        if let Some(f) = Format::ALL.into_iter().find(|f| f.name() == lower) {
            return Ok(f);
        }
        let names = Format::ALL.map(Format::name);
        let alias = match lower.as_str() {
            "opentelemetry" | "otel" | "otlp-json" | "otlpjson" | "json" => Some("otlp"),
            _ => suggest(&lower, names),
        };
        let e = ScenarioError::at_key("--format", format!("unknown trace format `{name}`"));
        Err(match alias {
            Some(near) => e.with_help(format!("did you mean `{near}`?")),
            None => e.with_help(format!("the formats are {}", names.map(|n| format!("`{n}`")).join(", "))),
        })
    }
}

impl std::str::FromStr for Format {
    type Err = ScenarioError;

    /// [`Format::parse`], for clap's `value_parser`.
    fn from_str(s: &str) -> Result<Format, ScenarioError> {
        Format::parse(s)
    }
}

impl std::fmt::Display for Format {
    /// The name `--format` takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the readers carry from file to file.
#[derive(Default)]
pub(crate) struct ReadState {
    /// Span ids read so far, per trace.
    pub(crate) seen: Seen,
    /// Zipkin's shared spans given their own id, to re-parent their children at the end.
    pub(crate) shared: Vec<zipkin::SharedHalf>,
}

/// Reads the trace files at `paths`, all in `format`, into one set: spans in file order,
/// services numbered in order of first appearance. Each file is at most
/// [`MAX_TRACE_BYTES`]; every malformed record is refused at its file, line, column and
/// key path.
pub fn read_traces(paths: &[PathBuf], format: Format) -> Result<TraceSet, ScenarioError> {
    read_capped(paths, format, MAX_TRACE_BYTES)
}

/// [`read_traces`] under a given size limit.
pub(crate) fn read_capped(paths: &[PathBuf], format: Format, cap: u64) -> Result<TraceSet, ScenarioError> {
    let mut set = TraceSet::default();
    let mut state = ReadState::default();
    for path in paths {
        let shown = input::shown(path);
        let text = input::read_text(path, cap).map_err(|e| {
            let mut err = ScenarioError::at_key("", format!("cannot read the trace file: {}", e.reason()));
            err.file = shown.clone();
            match e {
                input::InputError::TooLarge { .. } => err.with_help(format!(
                    "split the export into parts of at most {} MiB and pass them together \
                     (the collector's file exporter rotates with `rotation.max_megabytes`)",
                    cap / (1024 * 1024)
                )),
                _ => err.with_help(e.help()),
            }
        })?;
        read_str(&text, &shown, format, &mut set, &mut state)?;
    }
    zipkin::join_shared(&mut set, &state.shared);
    Ok(set)
}

/// Reads the text of one file (named `shown` in messages) into `set`.
pub(crate) fn read_str(
    text: &str,
    shown: &Path,
    format: Format,
    set: &mut TraceSet,
    state: &mut ReadState,
) -> Result<(), ScenarioError> {
    let t = Text::new(shown, text);
    if text.trim().is_empty() {
        return Err(t
            .error(0, "", "the trace file is empty")
            .with_help(format!("export traces into it first ({}), or leave it out", export_hint(format))));
    }
    let before = set.spans.len();
    let mut parser = Parser::new(text);
    // Each format's one big list is read item by item as it is parsed (see
    // `Parser::next_streaming`); the rest of the top-level value is small.
    let key = match format {
        Format::Otlp => Some("resourceSpans"),
        Format::Jaeger => Some("data"),
        Format::Zipkin => None,
    };
    loop {
        let next = parser.next_streaming(key, |top, i, v| {
            Cur::streamed(&t, top, key, i, &v, |item| match format {
                Format::Otlp => otlp::read_resource(item, set, state),
                Format::Jaeger => jaeger::read_trace(item, set, state),
                Format::Zipkin => zipkin::read_entry(item, set, state),
            })
            .map_err(Failed::Read)
        });
        let (v, streamed) = match next {
            Ok(Some(top)) => top,
            Ok(None) => break,
            Err(Failed::Syntax(e)) => return Err(t.syntax(&e)),
            Err(Failed::Read(e)) => return Err(e),
        };
        if !streamed {
            match format {
                Format::Otlp => otlp::read_request(&v, &t, set, state)?,
                Format::Jaeger => jaeger::read_document(&v, &t, set, state)?,
                Format::Zipkin => zipkin::read_document(&v, &t, set, state)?,
            }
        }
    }
    if set.spans.len() == before {
        return Err(t
            .error(0, "", format!("no spans in this {} file", format.describe()))
            .with_help(format!("export traces into it ({}), or leave it out", export_hint(format))));
    }
    Ok(())
}

/// Why reading stopped: bad JSON, or a record the reader refused.
enum Failed {
    Syntax(SyntaxError),
    Read(ScenarioError),
}

impl From<SyntaxError> for Failed {
    fn from(e: SyntaxError) -> Self {
        Failed::Syntax(e)
    }
}

/// Where each format's files come from, for help lines.
fn export_hint(format: Format) -> &'static str {
    match format {
        Format::Otlp => "the OpenTelemetry collector's `file` exporter writes OTLP JSON lines",
        Format::Jaeger => "Jaeger's UI: a trace's \"Download JSON\", or the query service's `/api/traces`",
        Format::Zipkin => "Zipkin's `/api/v2/traces` or `/api/v2/trace/{id}`",
    }
}

/// The format a top-level value looks like, if any.
pub(crate) fn sniff(v: &Val<'_>) -> Option<Format> {
    let is_zipkin_span = |v: &Val<'_>| v.get("traceId").is_some() && v.get("id").is_some();
    match &v.kind {
        Kind::Obj(_) if v.get("resourceSpans").is_some() => Some(Format::Otlp),
        Kind::Obj(_) if matches!(v.get("data").map(|d| &d.kind), Some(Kind::Arr(_))) => Some(Format::Jaeger),
        Kind::Obj(_) if v.get("traceID").is_some() && v.get("spans").is_some() => Some(Format::Jaeger),
        Kind::Obj(_) if is_zipkin_span(v) => Some(Format::Zipkin),
        Kind::Arr(items) => match items.first().map(|f| &f.kind) {
            Some(Kind::Obj(_)) if is_zipkin_span(&items[0]) => Some(Format::Zipkin),
            Some(Kind::Arr(inner)) if inner.first().is_some_and(is_zipkin_span) => Some(Format::Zipkin),
            _ => None,
        },
        _ => None,
    }
}

/// The error for a top-level value that is not `format`'s: what was expected, and the
/// right `--format` when the value looks like another format's.
pub(crate) fn not_this_format(v: &Val<'_>, t: &Text<'_>, format: Format, expected: &str) -> ScenarioError {
    let e = t.error(v.off, "", format!("not {}: expected {expected}, found {}", format.describe(), v.describe_keys()));
    match sniff(v) {
        Some(other) if other != format => {
            e.with_help(format!("this looks like {}: pass `--format {}`", other.describe(), other.name()))
        }
        _ => e.with_help(format!("{} files come from {}", format.describe(), export_hint(format))),
    }
}
