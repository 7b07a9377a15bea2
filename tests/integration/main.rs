//! Integration tests, one binary, one module per behaviour.

mod cli;
mod common;
mod determinism;
mod faults;
mod policies;
mod properties;
mod queueing_theory;
mod recovery;
mod scenarios;
mod server_policies;
mod slos;
mod sweep;
