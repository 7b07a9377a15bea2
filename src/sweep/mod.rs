//! Running replications in parallel and merging them in a fixed order.
//!
//! Each replication is an independent single-threaded event loop; rayon runs them on a
//! pool of `jobs` threads. Results are collected by replication index and reduced
//! sequentially, so the report is byte-identical whatever the thread count.

use rayon::prelude::*;

use crate::model::Model;
use crate::model::sim::run_replication;
use crate::report::{ReplicationSummary, Report};

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads; `None` uses every core.
    pub jobs: Option<usize>,
}

/// Runs every replication of `model` and returns their summaries in replication order.
pub fn run_replications(model: &Model, options: &RunOptions) -> Vec<ReplicationSummary> {
    let work = || {
        (0..model.replications)
            .into_par_iter()
            .map(|r| ReplicationSummary::of(model, &run_replication(model, r)))
            .collect::<Vec<_>>()
    };
    match options.jobs {
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build() {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        },
        None => work(),
    }
}

/// Runs `model` and builds its report.
pub fn run(model: &Model, options: &RunOptions) -> Report {
    Report::build(model, &run_replications(model, options))
}
