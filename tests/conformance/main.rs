//! Conformance suite: the libraries' own unit tests, ported to resim's state machines.
//!
//! Each module mirrors one library; each test names the upstream test it mirrors (file
//! and method), uses its inputs and checks its expected outputs against the public
//! `resim::policy` state machines. Where resim deliberately differs, the test says so.

mod aws;
mod envoy;
mod failsafe;
mod finagle;
mod grpc;
mod netflix;
mod resilience4j;
mod tower;
