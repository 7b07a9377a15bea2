//! Replications and parameter sweeps, in parallel, merged in a fixed order.
//!
//! Each replication is an independent single-threaded event loop; rayon runs them on a
//! pool of `jobs` threads. Results are collected by replication index and reduced
//! sequentially, so the report is byte-identical whatever the thread count.
//!
//! A sweep ([`plan`]) turns a scenario and its swept parameters into points (a grid, or
//! random / Latin-hypercube samples), runs every point's replications as one flat
//! parallel loop ([`exec`]), and writes one report per point plus `sweep.csv` and
//! `sweep.json` ([`output`]). Every point uses the scenario's seed: the named random
//! streams then give common random numbers, so two points differ by their parameters,
//! not by their luck. Points can be split across machines and joined ([`shard`]).

pub mod exec;
pub mod grid;
pub mod mser;
pub mod objective;
pub mod output;
pub mod plan;
pub mod precision;
pub mod sampling;
pub mod shard;

use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use crate::model::Model;
use crate::model::sim::run_replication;
use crate::report::{ReplicationSummary, Report};
use precision::Precision;

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads; `None` uses every core.
    pub jobs: Option<usize>,
}

/// Runs `work` on a pool of `jobs` threads (every core when `None`).
pub fn with_jobs<T: Send>(jobs: Option<usize>, work: impl FnOnce() -> T + Send) -> T {
    match jobs {
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build() {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        },
        None => work(),
    }
}

/// Runs every replication of `model` and returns their summaries in replication order.
pub fn run_replications(model: &Model, options: &RunOptions) -> Vec<ReplicationSummary> {
    with_jobs(options.jobs, || {
        (0..model.replications)
            .into_par_iter()
            .map(|r| ReplicationSummary::of(model, &run_replication(model, r)))
            .collect::<Vec<_>>()
    })
}

/// Runs `model` and builds its report.
pub fn run(model: &Model, options: &RunOptions) -> Report {
    Report::build(model, &run_replications(model, options))
}

/// Runs `model`, adding replications until `precision` is met (or its cap reached).
pub fn run_precise(model: &Model, options: &RunOptions, precision: Precision) -> Report {
    let out = Mutex::new(None);
    let never = AtomicBool::new(false);
    with_jobs(options.jobs, || {
        exec::run_points(std::slice::from_ref(model), Some(precision), &never, &|_, r| {
            *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        });
    });
    out.into_inner().unwrap_or_else(PoisonError::into_inner).unwrap_or_else(|| run(model, options))
}
