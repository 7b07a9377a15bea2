//! Integration tests, one binary, one module per behaviour.

mod blast;
mod cancellation;
mod cli;
mod common;
mod compare;
mod coverage;
mod determinism;
mod distributions;
mod faults;
mod fidelity;
mod hosts;
mod lessons;
mod outputs;
mod policies;
mod properties;
mod queueing_theory;
mod recovery;
mod reports_fresh;
mod resilience4j_keys;
mod samples;
mod scenarios;
mod server_policies;
mod slos;
mod snapshots;
mod sweep;
mod trace;
