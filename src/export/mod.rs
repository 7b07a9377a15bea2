//! Exports: what a scenario states, written in the form another tool deploys, so that
//! what runs in production is what resim simulated. One file per format, each rendering
//! a loaded scenario to text.

pub mod prometheus;
pub mod prometheus_sli;

pub use prometheus::{prometheus_rules, rule_groups};
