//! Running many points' replications as one flat parallel loop.
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
//! `stop` (set by Ctrl-C) stops the start of new points: replications of points already
//! started run to the end of their batch, points not started are skipped.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::precision::Precision;
use crate::model::Model;
use crate::model::sim::run_replication;
use crate::report::{ReplicationSummary, Report};

#[derive(Default)]
struct PointState {
    /// Replication summaries by index; `None` until run.
    reps: Vec<Option<ReplicationSummary>>,
    /// Replications of the current batch still running.
    remaining: usize,
    started: bool,
    /// The total to reach in the next round, when more are needed.
    next: Option<u32>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs every model's replications (more when `precision` asks) and calls `on_done`
/// with each finished point's index and report, from whichever thread finished it.
/// Must be called inside the thread pool that should run it (see [`super::with_jobs`]).
pub fn run_points(
    models: &[Model],
    precision: Option<Precision>,
    stop: &AtomicBool,
    on_done: &(dyn Fn(usize, Report) + Sync),
) {
    let states: Vec<Mutex<PointState>> = models.iter().map(|_| Mutex::default()).collect();
    let mut targets: Vec<(usize, u32)> = models.iter().enumerate().map(|(p, m)| (p, m.replications)).collect();
    while !targets.is_empty() && !stop.load(Ordering::SeqCst) {
        let mut tasks = Vec::new();
        for &(p, target) in &targets {
            let mut st = lock(&states[p]);
            let have = st.reps.len();
            st.reps.resize_with(target as usize, || None);
            st.remaining = target as usize - have;
            st.next = None;
            tasks.extend((have..target as usize).map(|r| (p, r)));
        }
        tasks.par_iter().for_each(|&(p, r)| {
            {
                let mut st = lock(&states[p]);
                if !st.started && stop.load(Ordering::SeqCst) {
                    return;
                }
                st.started = true;
            }
            let model = &models[p];
            let summary = ReplicationSummary::of(model, &run_replication(model, r as u32));
            let mut st = lock(&states[p]);
            st.reps[r] = Some(summary);
            st.remaining -= 1;
            if st.remaining > 0 {
                return;
            }
            let reps: Vec<ReplicationSummary> = st.reps.iter_mut().filter_map(Option::take).collect();
            let report = Report::build(model, &reps);
            let next = precision.and_then(|pr| pr.next_total(&report, reps.len() as u32, model.replications));
            match next {
                Some(n) => {
                    st.reps = reps.into_iter().map(Some).collect();
                    st.next = Some(n);
                }
                None => {
                    drop(st);
                    on_done(p, report);
                }
            }
        });
        targets = states.iter().enumerate().filter_map(|(p, s)| lock(s).next.map(|n| (p, n))).collect();
    }
}
