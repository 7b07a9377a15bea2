//! `resim calibrate`: a scenario inferred from the traces an architecture already
//! records (OpenTelemetry, Jaeger, Zipkin).
//!
//! The readers turn each format into a [`TraceSet`] ([`span`]): [`read_traces`] over
//! [`otlp`], [`jaeger`] and [`zipkin`], each refusing malformed input at its file, line,
//! column and key path. [`infer()`] turns that into a scenario, through the trace trees
//! ([`tree`]), the per-service observations ([`graph`]), the call steps ([`steps`]), the
//! service-time fits ([`fit`], [`ks`], [`select`]), the load and policy hints
//! ([`rates`]) and the YAML writer ([`emit`]).
//!
//! What a scenario cannot say, and how the inference settles it:
//! - a service has one `service_time` and one list of `calls`, so every operation of a
//!   service is pooled into them (the entry operations keep one workload each);
//! - calls that exclude each other (B on a cache hit, C on a miss) become independent
//!   probabilities, and a request handing off to several services has its route
//!   probabilities scaled to a sum of 1 (a route is the one next service);
//! - worker pools are not traced: `servers` is the peak concurrency seen, `capacity`
//!   is left unbounded; a server span that includes its queueing wait makes that wait
//!   part of the own time;
//! - timeouts and retries are hints (YAML comments and [`rates::EdgeHints`]), not
//!   policies: the traces show what happened, not what was configured.

pub mod emit;
mod fields;
pub mod fit;
pub mod graph;
pub mod infer;
#[cfg(test)]
mod infer_tests;
pub mod jaeger;
mod json;
pub mod ks;
pub mod otlp;
pub mod page;
pub mod plots;
pub mod rates;
pub mod read;
pub mod select;
pub mod span;
pub mod steps;
#[cfg(test)]
mod tests_read;
pub mod tree;
pub mod zipkin;

pub use infer::{Calibration, InferOptions, ServiceReport, infer};
pub use read::{Format, MAX_TRACE_BYTES, read_traces};
pub use span::{SpanAt, SpanKind, SpanRecord, TraceSet};
