//! `warmup: auto`: the end of the initial transient by MSER-5 (White 1997; White,
//! Cobb & Spratt 2000) over the mean of several pilot replications.
//!
//! [`PILOTS`] pilot replications run with no warm-up on replication indices no measured
//! replication uses (so their draws are independent of the measured ones), in parallel,
//! each recording [`FINE_WINDOWS`] windows of three series: requests finished over all
//! workloads (throughput), the latency of successful ones (sojourn), and the number of
//! requests inside every service (what L averages). The pilots are
//! summed window by window, as Welch's procedure averages replications before looking
//! for the end of the transient: averaging removes noise, not bias, so the transient
//! stands out (Law, *Simulation Modeling and Analysis*, §9.5.1; Hoad, Robinson & Davies
//! 2010, "Automating warm-up length estimation", J. Oper. Res. Soc. 61). Windows are
//! then merged until a batch of [`BATCH`] of them holds at least [`BATCH_COMPLETIONS`]
//! completions on average, with at most [`MAX_BATCHES`] batches: batches sized by
//! events, not by the duration, so a batch mean is a mean of something.
//!
//! For each candidate truncation `d` (in batches) over the first half of the batch
//! series, MSER(d) = Σ_{i>d} (b_i − b̄_d)² / (k − d)², the squared standard error of the
//! mean of what is left; the `d` that minimises it balances bias removed against
//! variance added. Restricting `d` to the first half is the usual guard against MSER's
//! tendency to truncate noise at the end of a series. The three series are judged
//! together ([`joint_mser`]): the cut minimises the sum of their MSER curves, each
//! relative to its value without truncation. A run too short to judge (fewer than
//! [`MIN_BATCHES`] batches) or whose minimum sits at the end of the first half (the
//! transient has not ended) gets a [`WarmupWarning`].

use rayon::prelude::*;

use crate::engine::SimTime;
use crate::metrics::{Areas, Outcome, ReplicationResult, buckets};
use crate::model::Model;
use crate::model::sim::run_replication;
use crate::scenario::spec::ScenarioSpec;
use crate::scenario::sweep_spec::Warmup;
use crate::scenario::units::Duration;
use crate::scenario::validate::validate;
use crate::scenario::{Scenario, ScenarioError};

/// Windows per batch (the 5 of MSER-5).
pub const BATCH: usize = 5;
/// Pilot replications averaged before truncating.
pub const PILOTS: u32 = 5;
/// Windows each pilot records; merged afterwards into batches sized by events.
pub const FINE_WINDOWS: u64 = 1000;
/// Completions a batch holds at least, on average over the run (all pilots together).
pub const BATCH_COMPLETIONS: f64 = 30.0;
/// Most batches: finer batches only add noise to MSER's statistic.
pub const MAX_BATCHES: usize = 100;
/// Fewer batches than this and the run is too short to find a truncation point.
pub const MIN_BATCHES: usize = 10;
/// Replication index of the first pilot; pilot `p` runs `PILOT_REPLICATION - p`, never
/// one a measured replication uses.
pub const PILOT_REPLICATION: u32 = u32::MAX;

/// MSER(d) of a series of batch means for each candidate truncation d = 0..=k/2;
/// `None` when there are fewer than 4 batches to judge.
fn mser_curve(batches: &[f64]) -> Option<Vec<f64>> {
    let k = batches.len();
    (k >= 4).then(|| {
        (0..=k / 2)
            .map(|d| {
                let tail = &batches[d..];
                let n = tail.len() as f64;
                let mean = tail.iter().sum::<f64>() / n;
                tail.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / (n * n)
            })
            .collect()
    })
}

/// The first index of the smallest value (ties keep the shorter warm-up).
fn argmin(curve: &[f64]) -> usize {
    let mut best = (f64::INFINITY, 0);
    for (d, &stat) in curve.iter().enumerate() {
        if stat < best.0 {
            best = (stat, d);
        }
    }
    best.1
}

/// The MSER truncation point of a series of batch means, in batches, searched over the
/// first half; `None` when there are fewer than 4 batches to judge.
pub fn mser(batches: &[f64]) -> Option<usize> {
    mser_curve(batches).map(|c| argmin(&c))
}

/// One truncation point for several series of batch means of the same length: the d
/// that minimises the sum of their MSER curves, each relative to its value without
/// truncation. A real transient in any series lowers its curve by a large factor and
/// wins; a late dip of one series' curve by noise alone is outweighed by the others (the
/// later of the separate cuts would take every such dip). Constant series, which say
/// nothing, are left out; `None` when there are fewer than 4 batches.
pub fn joint_mser(series: &[&[f64]]) -> Option<usize> {
    let curves: Vec<Vec<f64>> = series.iter().map(|s| mser_curve(s)).collect::<Option<_>>()?;
    let len = curves.iter().map(Vec::len).min()?;
    let informative: Vec<&Vec<f64>> = curves.iter().filter(|c| c[0] > 0.0).collect();
    let sum: Vec<f64> = (0..len).map(|d| informative.iter().map(|c| c[d] / c[0]).sum()).collect();
    Some(argmin(&sum))
}

/// The MSER-5 truncation point of `series`, in observations (a multiple of 5): 0 when
/// the series is too short (fewer than 4 batches) to judge.
pub fn mser5(series: &[f64]) -> usize {
    let batches: Vec<f64> = series.chunks_exact(BATCH).map(|c| c.iter().sum::<f64>() / BATCH as f64).collect();
    mser(&batches).unwrap_or(0) * BATCH
}

/// Why `warmup: auto` could not be trusted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WarmupWarning {
    /// Too few completions for [`MIN_BATCHES`] batches of [`BATCH_COMPLETIONS`].
    TooShort {
        /// Batches the pilots' completions allowed.
        batches: usize,
        /// Requests the pilots finished, all together.
        completions: u64,
    },
    /// MSER's minimum sits at the end of the first half of the run: the start-up
    /// transient may last longer than that.
    TransientNotOver {
        /// The warm-up chosen, half the run.
        warmup: SimTime,
    },
}

impl std::fmt::Display for WarmupWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WarmupWarning::TooShort { batches, completions } => write!(
                f,
                "the run is too short to find the end of the start-up transient: {PILOTS} pilot runs finished \
                 {completions} requests, {batches} batches of {BATCH_COMPLETIONS} (at least {MIN_BATCHES} needed); \
                 lengthen `duration` or set `warmup` by hand"
            ),
            WarmupWarning::TransientNotOver { warmup } => write!(
                f,
                "the start-up transient may not have ended: MSER's minimum is at the end of the first half \
                 of the run ({:.3} s); lengthen `duration` or set `warmup` by hand",
                warmup.as_secs_f64()
            ),
        }
    }
}

/// What `warmup: auto` decided.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupChoice {
    /// The warm-up chosen.
    pub warmup: SimTime,
    /// Merged windows cut off (a multiple of [`BATCH`]).
    pub truncated_windows: usize,
    /// Merged windows in the batch series.
    pub windows: usize,
    /// Length of a merged window.
    pub window: SimTime,
    /// Pilot replications averaged.
    pub pilots: u32,
    /// Set when the choice cannot be trusted; `resim run` prints it.
    pub warning: Option<WarmupWarning>,
}

/// Resolves `warmup: auto` in `scenario` by [`PILOTS`] pilot runs and MSER-5; other
/// scenarios are returned unchanged (with `None`).
///
/// The pilots run the scenario as validated (warm-up 0) for its `duration`, in
/// parallel on the current rayon pool; the result does not depend on the thread count.
/// The scenario is then validated again with the detected warm-up, so rate profiles and
/// faults, which are timed from the end of the warm-up, move with it.
pub fn resolve_warmup(scenario: &Scenario) -> Result<(Scenario, Option<WarmupChoice>), ScenarioError> {
    if !scenario.spec.warmup.is_auto() {
        return Ok((scenario.clone(), None));
    }
    let choice = detect(&scenario.model);
    let spec = ScenarioSpec { warmup: Warmup::Fixed(Duration(choice.warmup)), ..scenario.spec.clone() };
    let model = validate(&spec)?;
    Ok((Scenario { spec, model, samples: scenario.samples.clone(), imports: scenario.imports.clone() }, Some(choice)))
}

/// Runs the pilots of `model` and picks the warm-up.
fn detect(model: &Model) -> WarmupChoice {
    let mut pilot = model.clone();
    pilot.warmup = SimTime::ZERO;
    pilot.window = SimTime(pilot.duration.0.div_ceil(FINE_WINDOWS).max(1));
    let series: Vec<PilotSeries> = (0..PILOTS)
        .into_par_iter()
        .map(|p| PilotSeries::of(&run_replication(&pilot, PILOT_REPLICATION - p), pilot.windows()))
        .collect();
    let mut total = PilotSeries::default();
    for s in &series {
        total.add(s);
    }
    let cut = total.truncate();
    let window = SimTime(pilot.window.0.saturating_mul(cut.merge as u64));
    let warmup = SimTime(window.0.saturating_mul((cut.batches * BATCH) as u64));
    let warning = if cut.count < MIN_BATCHES {
        Some(WarmupWarning::TooShort { batches: cut.count, completions: total.finished.iter().sum::<f64>() as u64 })
    } else {
        cut.at_edge.then_some(WarmupWarning::TransientNotOver { warmup })
    };
    WarmupChoice {
        warmup,
        truncated_windows: cut.batches * BATCH,
        windows: cut.count * BATCH,
        window,
        pilots: PILOTS,
        warning,
    }
}

/// Where MSER cut a pilot series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cut {
    /// Fine windows per merged window.
    merge: usize,
    /// Batches in the series.
    count: usize,
    /// Batches cut off.
    batches: usize,
    /// The cut is at the last candidate (half the series).
    at_edge: bool,
}

/// The series recorded by pilot runs, window by window, summed over workloads and
/// services (and over pilots by [`PilotSeries::add`]).
#[derive(Clone, Debug, Default, PartialEq)]
struct PilotSeries {
    /// Requests finished, any outcome.
    finished: Vec<f64>,
    /// Successful requests (ok or degraded).
    served: Vec<f64>,
    /// Sum of their latencies, seconds.
    latency: Vec<f64>,
    /// Integral of the requests inside every service over the window, request-ns: the
    /// number in system, the series the report's L is made of.
    inside: Vec<f64>,
}

impl PilotSeries {
    /// The series of one pilot run over `windows` windows.
    fn of(result: &ReplicationResult, windows: usize) -> Self {
        let workloads = &result.workloads;
        let mut s = PilotSeries::default();
        let outcomes: Vec<_> = workloads.iter().map(|w| w.timeline.outcome_windows()).collect();
        let latency: Vec<_> = workloads.iter().map(|w| w.timeline.latency_windows()).collect();
        for i in 0..windows {
            let mark = |marks: &[Areas], i: usize| marks.get(i).map_or(0, Areas::in_system);
            let inside = result.services.iter().map(|m| {
                let before = if i == 0 { 0 } else { mark(&m.gauge_marks, i - 1) };
                mark(&m.gauge_marks, i).saturating_sub(before) as f64
            });
            s.inside.push(inside.sum());
            let counts = outcomes.iter().map(|w| &w[i]);
            s.finished.push(counts.clone().map(|c| c.total() as f64).sum());
            s.served.push(counts.map(|c| (c.get(Outcome::Ok) + c.get(Outcome::Degraded)) as f64).sum());
            // The latency buckets of the window, each at its middle (≤ 6.25% wide).
            let buckets = latency.iter().flat_map(|w| &w[i]);
            s.latency.push(buckets.map(|&(b, c)| f64::from(c) * buckets::mid_secs(usize::from(b))).sum());
        }
        s
    }

    /// Adds `other` window by window (the first pilot sets the length).
    fn add(&mut self, other: &PilotSeries) {
        if self.finished.is_empty() {
            *self = other.clone();
            return;
        }
        for (mine, theirs) in [
            (&mut self.finished, &other.finished),
            (&mut self.served, &other.served),
            (&mut self.latency, &other.latency),
            (&mut self.inside, &other.inside),
        ] {
            mine.iter_mut().zip(theirs).for_each(|(a, b)| *a += b);
        }
    }

    /// Merges windows into batches sized by events and finds the joint MSER cut of the
    /// throughput, the mean latency and the number inside.
    fn truncate(&self) -> Cut {
        let merge = merge_factor(self.finished.len(), self.finished.iter().sum());
        let per_batch = BATCH * merge;
        let sum = |v: &[f64]| -> Vec<f64> { v.chunks_exact(per_batch).map(|c| c.iter().sum()).collect() };
        let throughput = sum(&self.finished);
        let latency = mean_latency(&sum(&self.latency), &sum(&self.served));
        let inside = sum(&self.inside);
        let count = throughput.len();
        let batches = joint_mser(&[&throughput, &latency, &inside]).unwrap_or(0);
        Cut { merge, count, batches, at_edge: batches > 0 && batches == count / 2 }
    }
}

/// Fine windows per merged window so that a batch of [`BATCH`] merged windows holds at
/// least [`BATCH_COMPLETIONS`] of the `completions` recorded over `windows` windows on
/// average, and there are at most [`MAX_BATCHES`] batches.
fn merge_factor(windows: usize, completions: f64) -> usize {
    let batch_windows = |m: usize| (BATCH * m) as f64;
    let by_events = (BATCH_COMPLETIONS * windows as f64 / completions.max(1e-9) / batch_windows(1)).ceil();
    let by_count = windows.div_ceil(BATCH * MAX_BATCHES);
    (by_events.min(windows as f64 + 1.0) as usize).max(by_count).max(1)
}

/// The mean latency of each batch (its latency sum over its successes); a batch without
/// a success takes the previous batch's mean (the next one's at the start), so the
/// series keeps one value per batch and its indices stay times.
fn mean_latency(sums: &[f64], served: &[f64]) -> Vec<f64> {
    let means: Vec<Option<f64>> = sums.iter().zip(served).map(|(s, &n)| (n > 0.0).then(|| s / n)).collect();
    let Some(first) = means.iter().flatten().next().copied() else { return vec![0.0; means.len()] };
    let mut last = first;
    means
        .iter()
        .map(|m| {
            last = m.unwrap_or(last);
            last
        })
        .collect()
}

#[cfg(test)]
mod tests;
