//! Replications in parallel, merged in a fixed order.
//!
//! Each replication is an independent single-threaded event loop; rayon runs them on a
//! pool of `jobs` threads. Results are collected by replication index and reduced
//! sequentially, so the report is byte-identical whatever the thread count.

use rayon::prelude::*;

use crate::model::Model;
use crate::model::sim::run_replication_traced;
use crate::report::ReplicationSummary;
use crate::trace::{Trace, TraceConfig};

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads; `None` uses every core.
    pub jobs: Option<usize>,
}

/// Runs `work` on a pool of `jobs` threads (every core when `None`).
///
/// Called from inside a rayon pool (a library user running scenarios in a `par_iter`),
/// it runs `work` in that pool instead: a worker blocked in another pool's `install`
/// keeps stealing its own pool's jobs on the same stack, and each stolen job that calls
/// `install` again nests deeper, until the stack overflows. Results do not depend on the
/// thread count, so this changes nothing but the stack.
pub fn with_jobs<T: Send>(jobs: Option<usize>, work: impl FnOnce() -> T + Send) -> T {
    match jobs {
        Some(_) if rayon::current_thread_index().is_some() => work(),
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build() {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        },
        None => work(),
    }
}

/// Runs every replication of `model` and returns their summaries in replication order.
pub fn run_replications(model: &Model, options: &RunOptions) -> Vec<ReplicationSummary> {
    run_all(std::slice::from_ref(model), options).pop().unwrap_or_default()
}

/// Runs every replication of every model as one parallel job list (so both cores stay
/// busy whatever the replication count) and returns each model's summaries in order.
pub fn run_all(models: &[Model], options: &RunOptions) -> Vec<Vec<ReplicationSummary>> {
    run_all_traced(models, options, None).0
}

/// Like [`run_all`]; with `trace`, replication 0 of the first model also records sampled
/// request traces (the other runs, counterfactuals included, never do).
pub(super) fn run_all_traced(
    models: &[Model],
    options: &RunOptions,
    trace: Option<TraceConfig>,
) -> (Vec<Vec<ReplicationSummary>>, Option<Trace>) {
    let jobs: Vec<(usize, u32)> =
        models.iter().enumerate().flat_map(|(m, model)| (0..model.replications).map(move |r| (m, r))).collect();
    let work = || {
        jobs.par_iter()
            .map(|&(m, r)| {
                let mut result = run_replication_traced(&models[m], r, trace.filter(|_| m == 0 && r == 0));
                super::progress::finished_one();
                let trace = result.trace.take();
                (ReplicationSummary::of(&models[m], result), trace)
            })
            .collect::<Vec<_>>()
    };
    let mut flat = with_jobs(options.jobs, work).into_iter();
    let mut traced = None;
    let runs = models
        .iter()
        .map(|model| {
            flat.by_ref()
                .take(model.replications as usize)
                .map(|(summary, trace)| {
                    traced = traced.take().or(trace);
                    summary
                })
                .collect()
        })
        .collect();
    (runs, traced)
}
