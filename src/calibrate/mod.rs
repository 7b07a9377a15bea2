//! `resim calibrate`: a scenario inferred from the traces an architecture already
//! records (OpenTelemetry, Jaeger, Zipkin).

pub mod span;

pub use span::{SpanAt, SpanKind, SpanRecord, TraceSet};
