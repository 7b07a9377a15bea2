//! Running a scenario: its replications, the counterfactual runs of the blast-radius
//! analysis, `--precision` and `warmup: auto`, up to the finished [`Report`].
//!
//! A plain run ([`run`]) runs the model's replications and, when the blast-radius
//! analysis is on, one [`counterfactual`] per fault (the model without it, same
//! replication indices: common random numbers), all as one parallel job list
//! ([`replicate`]); the report is then built once from every summary. [`precision`] adds replications until
//! the headline metrics are known well enough, [`mser`] finds the end of the initial
//! transient, and [`rounds`] runs many models (a sweep's points) in one flat loop with
//! both. Everything here is deterministic: results are merged in replication order, so
//! reports do not depend on the thread count.

pub mod budget;
pub mod counterfactual;
pub mod mser;
pub mod precision;
pub mod progress;
pub mod replicate;
pub mod rounds;

pub use counterfactual::{counterfactuals, variants};
pub use replicate::{RunOptions, run_all, run_replications, with_jobs};

use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};

use crate::model::Model;
use crate::report::{ReplicationSummary, Report};
use crate::trace::{Trace, TraceConfig};
use precision::Precision;
use replicate::run_all_traced;
use rounds::run_points;

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
    let models = variants(model);
    let (mut runs, trace) = run_all_traced(&models, options, trace);
    let report = Report::build_with_counterfactuals(model, &runs[0], &runs[1..]);
    (runs.swap_remove(0), report, trace)
}

/// Runs `model`, adding replications until `precision` is met (or its cap reached).
pub fn run_precise(model: &Model, options: &RunOptions, precision: Precision) -> Report {
    let out = Mutex::new(None);
    let never = AtomicBool::new(false);
    with_jobs(options.jobs, || {
        run_points(std::slice::from_ref(model), Some(precision), &never, &|_, r| {
            *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        });
    });
    out.into_inner().unwrap_or_else(PoisonError::into_inner).unwrap_or_else(|| run(model, options))
}
