//! `resim calibrate`: a scenario inferred from the traces an architecture already
//! records (OpenTelemetry, Jaeger, Zipkin).
//!
//! The readers turn each format into a [`TraceSet`] ([`span`]); [`infer()`] turns that
//! into a scenario, through the trace trees ([`tree`]), the per-service observations
//! ([`graph`]), the call steps ([`steps`]), the service-time fits ([`fit`], [`ks`],
//! [`select`]), the load and policy hints ([`rates`]) and the YAML writer ([`emit`]).

pub mod emit;
pub mod fit;
pub mod graph;
pub mod infer;
#[cfg(test)]
mod infer_tests;
pub mod ks;
pub mod rates;
pub mod select;
pub mod span;
pub mod steps;
pub mod tree;

pub use infer::{Calibration, InferOptions, ServiceReport, infer};
pub use span::{SpanAt, SpanKind, SpanRecord, TraceSet};
