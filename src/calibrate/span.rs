//! The spans every trace format is read into: what `resim calibrate` infers a scenario
//! from. OpenTelemetry (OTLP JSON), Jaeger (JSON export) and Zipkin v2 (JSON) each have
//! their own reader (`otlp`, `jaeger`, `zipkin`); inference sees only this.

use std::collections::HashMap;
use std::path::PathBuf;

/// What a span stands for, in OpenTelemetry's terms (`SpanKind`); Jaeger's `span.kind`
/// tag and Zipkin's `kind` map onto the same five.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// A service handling a synchronous request (the callee's side of a call).
    Server,
    /// A synchronous outgoing call (the caller's side).
    Client,
    /// An asynchronous hand-off sent (a message published).
    Producer,
    /// An asynchronous hand-off received (a message handled).
    Consumer,
    /// Work inside one service (unspecified kinds read as this too).
    Internal,
}

/// Where a span was read, for messages: the file, and the line and column of the span's
/// object in it (1-based; 0 when the format gives no position).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpanAt {
    /// The trace file.
    pub file: PathBuf,
    /// Line of the span's object.
    pub line: usize,
    /// Column of the span's object.
    pub column: usize,
}

/// One span, in any format.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanRecord {
    /// Trace id (up to 128 bits, as OpenTelemetry's; Zipkin's 64-bit ids fit).
    pub trace: u128,
    /// Span id (64 bits in all three formats).
    pub id: u64,
    /// The parent span (`parentSpanId`, Jaeger's `CHILD_OF` reference, Zipkin's
    /// `parentId`), if any.
    pub parent: Option<u64>,
    /// Spans this one follows from without being their child: Jaeger's `FOLLOWS_FROM`
    /// references and OpenTelemetry span links (a consumer's link to its producer).
    pub follows_from: Vec<u64>,
    /// Index into [`TraceSet::services`]: the resource's `service.name` (Jaeger's
    /// process `serviceName`, Zipkin's `localEndpoint.serviceName`).
    pub service: u32,
    /// The instance (`service.instance.id`, Jaeger's process tag of that name or
    /// `hostname`/`ip`, Zipkin's `localEndpoint` ipv4:port or `service.instance.id` tag),
    /// if given.
    pub instance: Option<String>,
    /// Operation name.
    pub operation: String,
    /// Kind.
    pub kind: SpanKind,
    /// Start, nanoseconds since the Unix epoch (formats in microseconds are scaled).
    pub start_ns: i64,
    /// End, nanoseconds since the Unix epoch; never before `start_ns`.
    pub end_ns: i64,
    /// The span ended in error (OTLP `status.code = 2`, Jaeger's `error=true` tag,
    /// Zipkin's `error` tag).
    pub error: bool,
    /// For a client or producer span, the service it calls as the span itself names it
    /// (`peer.service`, Zipkin's `remoteEndpoint.serviceName`), if it does; inference
    /// prefers the matching server span's own service.
    pub peer_service: Option<String>,
    /// Where it was read.
    pub at: SpanAt,
}

/// The spans of one or more trace files, with their service names interned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceSet {
    /// Service names, in order of first appearance.
    pub services: Vec<String>,
    /// Every span read, in file order.
    pub spans: Vec<SpanRecord>,
    /// Each name's index in `services`.
    index: HashMap<String, u32>,
}

impl TraceSet {
    /// The index of service `name`, interned on first use.
    pub fn service_index(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.services.len() as u32;
        self.services.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }
}
