//! resim: a deterministic discrete-event simulator for the resilience of service
//! architectures.
//!
//! A scenario describes services (each an M/M/c/K station, possibly several instances
//! behind a load balancer), the calls and hand-offs between them, and the load. resim
//! runs it as a discrete-event simulation with an integer clock and named random
//! streams, so the same scenario and seed always give the same report, byte for byte.
//!
//! ```
//! use std::path::Path;
//! let text = "
//! name: demo
//! duration: 10m
//! replications: 2
//! services:
//!   api: { servers: 2, capacity: 10, service_time: { exponential: { mean: 50ms } } }
//! workloads:
//!   - { name: users, target: api, arrivals: { poisson: { rate: 20/s } } }
//! ";
//! let scenario = resim::scenario::load_str(text, Path::new("demo.yaml"), &[]).unwrap();
//! let report = resim::run(&scenario.model, &resim::RunOptions::default());
//! let api = &report.services["api"];
//! assert!(api.utilization.mean.unwrap() > 0.4);
//! ```
//!
//! The layers, each a module: [`scenario`] (file format) -> [`model`] (validated model
//! and the simulation of one replication) -> [`engine`] (clock, event queue, random
//! streams) -> [`metrics`] (what a replication measures) -> [`report`] (statistics
//! across replications, JSON, terminal summary) and [`theory`] (closed forms);
//! [`run`] runs a scenario (replications, counterfactuals, `--precision`,
//! `warmup: auto`) into its report; [`sweep`] plans and executes parameter sweeps;
//! [`compare`] sets two reports side by side with a significance test; [`trace`]
//! records sampled request traces for Perfetto; [`export`] writes a scenario's SLOs as
//! Prometheus rules.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod calibrate;
pub mod compare;
pub mod engine;
pub mod export;
pub mod import;
pub mod input;
pub mod metrics;
pub mod model;
pub mod policy;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod theory;
pub mod topology;
pub mod trace;

pub use report::Report;
pub use run::{RunOptions, run, run_all, run_replications, run_traced, run_with_summaries};
