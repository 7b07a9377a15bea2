//! Executing a sweep's points: load each point's model, run them all, write each point
//! as it finishes.
//!
//! Points are loaded in parallel and all checked before anything runs, so a bad point
//! fails the sweep before the output folder is touched. They then run as one flat
//! parallel loop ([`crate::run::rounds`]); each finished point is written at once
//! (report.json, then point.json, which marks it complete), so a point survives an
//! interruption of the rest of the sweep and `--resume` skips it.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::output::{self, PointFile, PointRecord};
use super::plan::{Plan, load_point};
use crate::model::Model;
use crate::run::mser::resolve_warmup;
use crate::run::rounds::run_points;
use crate::run::with_jobs;
use crate::scenario::{Override, ScenarioError};

/// The scenario a sweep runs: its text, the file it was read from and the `--set`
/// overrides every point starts from.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The scenario file's text.
    pub text: &'a str,
    /// The scenario file.
    pub file: &'a Path,
    /// The base overrides.
    pub base: &'a [Override],
}

/// `points/<i>/point.json` of point `i` of `plan`.
pub fn point_file(plan: &Plan, i: usize) -> PointFile {
    PointFile { index: i, scenario_hash: plan.definition.scenario_hash.clone(), params: plan.pairs(i) }
}

/// The records of points `mine` already finished in `out` by this very sweep (`None`
/// for the others), indexed by point.
pub fn resume(out: &Path, plan: &Plan, mine: &[usize]) -> Vec<Option<PointRecord>> {
    let mut records = vec![None; plan.points.len()];
    for &i in mine {
        records[i] =
            output::read_point(out, i, &plan.definition.scenario_hash).filter(|r| r.point == point_file(plan, i));
    }
    records
}

/// The points a run executes, loaded and checked.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Point indices, in order.
    pub indices: Vec<usize>,
    /// Each point's model (same order).
    pub models: Vec<Model>,
    /// What `warmup: auto` warned of, as (point index, warning), in point order.
    pub warmup_warnings: Vec<(usize, String)>,
}

/// Loads the models of points `todo` on `jobs` threads: the scenario with the base
/// overrides and the point's, `warmup: auto` resolved. Fails on the bad point of the
/// lowest index, whichever thread saw it first, so the message is the same on every run.
pub fn load_models(
    plan: &Plan,
    source: Source<'_>,
    todo: Vec<usize>,
    jobs: Option<usize>,
) -> Result<Loaded, ScenarioError> {
    type Point = (Model, Option<String>);
    let loaded: Vec<Result<Point, ScenarioError>> = with_jobs(jobs, || {
        todo.par_iter()
            .map(|&i| {
                let s = load_point(plan, i, source.text, source.file, source.base)?;
                let (s, choice) = resolve_warmup(&s)?;
                Ok((s.model, choice.and_then(|c| c.warning).map(|w| w.to_string())))
            })
            .collect()
    });
    let loaded = loaded.into_iter().collect::<Result<Vec<_>, _>>()?;
    let warmup_warnings = todo.iter().zip(&loaded).filter_map(|(&i, (_, w))| w.clone().map(|w| (i, w))).collect();
    let models = loaded.into_iter().map(|(m, _)| m).collect();
    Ok(Loaded { indices: todo, models, warmup_warnings })
}

/// Runs the `points` of `plan` (to its precision target, if any) on `jobs` threads and
/// writes each into `out` as it finishes, filling its slot of `records` and calling
/// `on_point` (progress). Setting `stop` starts no new point; a point that cannot be
/// written or that a guard stopped sets it too, and the error of the lowest such point
/// is returned once the points started are done.
pub fn execute(
    out: &Path,
    plan: &Plan,
    points: &Loaded,
    jobs: Option<usize>,
    stop: &AtomicBool,
    records: Vec<Option<PointRecord>>,
    on_point: &(dyn Fn() + Sync),
) -> Result<Vec<Option<PointRecord>>, String> {
    let done = Mutex::new(records);
    // The failure of the lowest point index, so the message does not depend on which
    // thread got there first.
    let failure = Mutex::new(None::<(usize, String)>);
    let fail = |i: usize, message: String| {
        let mut f = lock(&failure);
        if f.as_ref().is_none_or(|(j, _)| i < *j) {
            *f = Some((i, message));
        }
        stop.store(true, Ordering::SeqCst);
    };
    with_jobs(jobs, || {
        run_points(&points.models, plan.definition.precision, stop, &|k, report| {
            let i = points.indices[k];
            // A point a guard stopped (events, in-flight requests, the watchdog) has no
            // numbers to tabulate: the sweep fails as `resim run` would, naming it.
            if let Some(why) = &report.engine.halted {
                fail(i, format!("sweep point {i}: {why}"));
                on_point();
                return;
            }
            let json = report.to_json();
            let point = point_file(plan, i);
            match output::write_point(out, &point, &json) {
                Ok(()) => {
                    let report = serde_json::from_str(&json).unwrap_or_default();
                    lock(&done)[i] = Some(PointRecord { point, report });
                }
                Err(e) => {
                    fail(i, format!("cannot write point {i} into {}: {e}", out.display()));
                }
            }
            on_point();
        });
    });
    match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(done.into_inner().unwrap_or_else(|e| e.into_inner())),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
