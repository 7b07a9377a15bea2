//! Resilience policies as small, clock-free state machines.
//!
//! Each policy owns its state and is driven by the engine through a narrow interface:
//! it is told the simulated time (`now: SimTime`) and given a random stream when it
//! needs one, and it answers with small decision types. None of them reads the wall
//! clock, allocates per call, or knows about the event queue, so each is unit-tested
//! alone, step by step.

pub mod autoscale;
pub mod breaker;
pub mod bulkhead;
pub mod cache;
pub mod concurrency;
pub mod degradation;
pub mod envoy_limits;
pub mod failover;
pub mod health_check;
pub mod outlier;
pub mod rate_limit;
pub mod retry;
pub mod shed;
pub mod tower_rate;

/// Where a stateful policy keeps its state.
///
/// A resilience library lives in each process (resilience4j, a gRPC or Finagle client)
/// and a sidecar beside each one (Envoy): every caller instance has its own breaker,
/// bulkhead and budget, and every server instance its own limiter. A mesh-wide or
/// gateway policy is one state shared by the whole fleet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// One per instance (of the caller, for a call policy; of the service, for a server one).
    #[default]
    Instance,
    /// One shared by every instance.
    Service,
}
