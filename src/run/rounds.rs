//! Running many models' replications as one flat parallel loop (a sweep's points, or
//! the one model of `--precision`).
//!
//! Every (point, replication) pair is one task of a single rayon iterator, so all cores
//! stay busy even when each point has fewer replications than there are cores. Each
//! point keeps its replications in index order; when its last one lands, the thread
//! that ran it builds the point's report and hands it to `on_done` (which writes it to
//! disk), so a finished point survives an interruption of the rest of the sweep.
//!
//! With a precision target, points that are not yet precise get another batch in the
//! next round (see [`super::precision`]). Rounds are sequential and every decision is
//! taken on results merged in replication order, so the reports do not depend on the
//! thread count or on scheduling.
//!
//! A point with faults and the blast-radius analysis on also runs one counterfactual per
//! fault (the model without it, same replication indices), as tasks of the same loop:
//! alongside its replications, or, with a precision target, in one extra round at the
//! final replication count.
//!
//! `stop` (set by Ctrl-C) stops the start of new points: replications of points already
//! started run to the end of their batch, points not started are skipped.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::counterfactual::variants;
use super::precision::Precision;
use crate::model::Model;
use crate::model::sim::run_replication;
use crate::report::{ReplicationSummary, Report};

/// The runs of one round of a point: `total` replications of each variant in `variants`.
#[derive(Clone, Debug)]
struct Round {
    total: u32,
    variants: Range<usize>,
}

#[derive(Default)]
struct PointState {
    /// Replication summaries by variant (0: the point's model; 1 + f: without fault f)
    /// and index; `None` until run.
    reps: Vec<Vec<Option<ReplicationSummary>>>,
    /// Replications of the current batch still running.
    remaining: usize,
    started: bool,
    /// The next round, when one is needed.
    next: Option<Round>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The summaries of one variant, taken out of the state (complete or not).
fn take(reps: &mut [Option<ReplicationSummary>]) -> Vec<ReplicationSummary> {
    reps.iter_mut().filter_map(Option::take).collect()
}

/// Runs every model's replications (more when `precision` asks), and the counterfactuals
/// of its faults, and calls `on_done` with each finished point's index and report, from
/// whichever thread finished it. Must be called inside the thread pool that should run
/// it (see [`super::replicate::with_jobs`]).
pub fn run_points(
    models: &[Model],
    precision: Option<Precision>,
    stop: &AtomicBool,
    on_done: &(dyn Fn(usize, Report) + Sync),
) {
    // Each point's variants: the model, then its counterfactuals when they are wanted.
    let variants: Vec<Vec<Model>> = models.iter().map(variants).collect();
    let states: Vec<Mutex<PointState>> = variants
        .iter()
        .map(|v| Mutex::new(PointState { reps: vec![Vec::new(); v.len()], ..PointState::default() }))
        .collect();
    // Without a precision target the replication count is final: run everything at once.
    let first = |p: usize| Round {
        total: models[p].replications,
        variants: 0..if precision.is_some() { 1 } else { variants[p].len() },
    };
    let mut targets: Vec<(usize, Round)> = (0..models.len()).map(|p| (p, first(p))).collect();
    while !targets.is_empty() && !stop.load(Ordering::SeqCst) {
        let mut tasks = Vec::new();
        for (p, round) in &targets {
            let mut st = lock(&states[*p]);
            st.remaining = 0;
            st.next = None;
            for v in round.variants.clone() {
                let have = st.reps[v].len();
                st.reps[v].resize_with(round.total as usize, || None);
                st.remaining += round.total as usize - have;
                tasks.extend((have..round.total as usize).map(|r| (*p, v, r)));
            }
        }
        tasks.par_iter().for_each(|&(p, v, r)| {
            {
                let mut st = lock(&states[p]);
                if !st.started && stop.load(Ordering::SeqCst) {
                    return;
                }
                st.started = true;
            }
            let model = &variants[p][v];
            let summary = ReplicationSummary::of(model, run_replication(model, r as u32));
            super::progress::finished_one();
            let mut st = lock(&states[p]);
            st.reps[v][r] = Some(summary);
            st.remaining -= 1;
            if st.remaining > 0 {
                return;
            }
            if let Some(report) = finish(&models[p], precision, &mut st) {
                drop(st);
                on_done(p, report);
            }
        });
        targets = states.iter().enumerate().filter_map(|(p, s)| lock(s).next.clone().map(|n| (p, n))).collect();
    }
}

/// At the end of a point's batch: its report when it is finished, else `None` with the
/// next round set. The report is built once, from the point's replications and its
/// counterfactuals together; with a precision target, a report without them first
/// decides whether more replications are needed.
fn finish(model: &Model, precision: Option<Precision>, st: &mut PointState) -> Option<Report> {
    let runs = take(&mut st.reps[0]);
    let total = runs.len() as u32;
    let mut plain = None;
    if let Some(pr) = precision {
        let report = Report::build(model, &runs);
        if let Some(n) = pr.next_total(&report, total, model.replications) {
            st.reps[0] = runs.into_iter().map(Some).collect();
            st.next = Some(Round { total: n, variants: 0..1 });
            return None;
        }
        plain = Some(report);
    }
    if st.reps[1..].iter().any(|v| v.len() != runs.len()) {
        st.reps[0] = runs.into_iter().map(Some).collect();
        st.next = Some(Round { total, variants: 1..st.reps.len() });
        return None;
    }
    let bases: Vec<Vec<ReplicationSummary>> = st.reps[1..].iter_mut().map(|v| take(v)).collect();
    match plain {
        Some(report) if bases.is_empty() => Some(report),
        _ => Some(Report::build_with_counterfactuals(model, &runs, &bases)),
    }
}
