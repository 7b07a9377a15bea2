//! `resim calibrate`: a scenario inferred from the traces an architecture already
//! records (OpenTelemetry, Jaeger, Zipkin).

mod fields;
pub mod jaeger;
mod json;
pub mod otlp;
pub mod read;
pub mod span;
pub mod zipkin;

pub use read::{Format, MAX_TRACE_BYTES, read_traces};
pub use span::{SpanAt, SpanKind, SpanRecord, TraceSet};

#[cfg(test)]
mod tests_read;
