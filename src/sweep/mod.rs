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

pub mod charts;
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

use crate::model::sim::run_replication_traced;
use crate::model::{BlastRadius, Model};
use crate::report::{BlastRadiusReport, ReplicationSummary, Report, blast_radius};
use crate::trace::{Trace, TraceConfig};
use precision::Precision;
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
fn run_all_traced(
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
                (ReplicationSummary::of(&models[m], &result), result.trace.take())
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

/// Runs `model` and builds its report; with faults and the blast-radius analysis on, also
/// one counterfactual run per fault.
pub fn run(model: &Model, options: &RunOptions) -> Report {
    run_with_summaries(model, options).1
}

/// Like [`run`], also returning the run's per-replication summaries.
pub fn run_with_summaries(model: &Model, options: &RunOptions) -> (Vec<ReplicationSummary>, Report) {
    let (reps, report, _) = run_inner(model, options, None);
    (reps, report)
}

/// Like [`run`], also recording sampled request traces of replication 0 (`None` when
/// `trace` samples nothing). The report is the same as without tracing, byte for byte:
/// sampling draws from its own stream.
pub fn run_traced(model: &Model, options: &RunOptions, trace: TraceConfig) -> (Report, Option<Trace>) {
    let (_, report, trace) = run_inner(model, options, Some(trace));
    (report, trace)
}

fn run_inner(
    model: &Model,
    options: &RunOptions,
    trace: Option<TraceConfig>,
) -> (Vec<ReplicationSummary>, Report, Option<Trace>) {
    let Some(config) = model.blast_radius else {
        let (mut runs, trace) = run_all_traced(std::slice::from_ref(model), options, trace);
        let reps = runs.pop().unwrap_or_default();
        let report = Report::build(model, &reps);
        return (reps, report, trace);
    };
    let mut models = vec![model.clone()];
    models.extend(counterfactuals(model));
    let (mut runs, trace) = run_all_traced(&models, options, trace);
    let mut report = Report::build(model, &runs[0]);
    report.blast_radius = blast_reports(model, &config, &runs[0], &runs[1..]);
    (runs.swap_remove(0), report, trace)
}

/// The counterfactual of each fault: `model` without it, in fault order.
pub fn counterfactuals(model: &Model) -> Vec<Model> {
    (0..model.faults.len()).map(|f| model.without_fault(f)).collect()
}

/// The blast radius of each fault, from the run's summaries and those of each
/// [`counterfactuals`] model (same replication indices, in fault order).
pub fn blast_reports(
    model: &Model,
    config: &BlastRadius,
    runs: &[ReplicationSummary],
    bases: &[Vec<ReplicationSummary>],
) -> Vec<BlastRadiusReport> {
    bases.iter().enumerate().map(|(f, base)| blast_radius(model, config, f, runs, base)).collect()
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
