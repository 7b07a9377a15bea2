//! `resim calibrate`: a scenario inferred from the traces an architecture already
//! records (OpenTelemetry, Jaeger, Zipkin).

pub mod fit;
pub mod ks;
pub mod select;
pub mod span;

pub use span::{SpanAt, SpanKind, SpanRecord, TraceSet};
