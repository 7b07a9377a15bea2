//! `warmup: auto`: the end of the initial transient by MSER-5 (White 1997; White,
//! Cobb & Spratt 2000).
//!
//! A pilot replication runs with no warm-up and records two series window by window
//! over all workloads: requests finished (throughput) and the mean end-to-end latency of
//! successful requests (sojourn). Each series is cut into batches of 5
//! windows; for each candidate truncation `d` (in batches) over the first half of the
//! series, MSER(d) = Σ_{i>d} (b_i − b̄_d)² / (k − d)², the squared standard error of
//! the mean of what is left. The `d` that minimises it balances bias removed against
//! variance added; the warm-up is `d · 5` windows. Restricting `d` to the first half is
//! the usual guard against MSER's tendency to truncate noise at the end of a series.
//! The warm-up is the later of the two series' truncation points.

use crate::engine::SimTime;
use crate::metrics::{Outcome, WorkloadMetrics, buckets};
use crate::model::sim::run_replication;
use crate::scenario::spec::ScenarioSpec;
use crate::scenario::sweep_spec::Warmup;
use crate::scenario::units::Duration;
use crate::scenario::validate::validate;
use crate::scenario::{Scenario, ScenarioError};

/// Observations per batch (the 5 of MSER-5).
pub const BATCH: usize = 5;
/// Windows the pilot replication records (100 batches of 5).
pub const PILOT_WINDOWS: u64 = 500;
/// Replication index of the pilot run: never one a measured replication uses, so the
/// pilot's draws are independent of the measured ones.
pub const PILOT_REPLICATION: u32 = u32::MAX;

/// The MSER-5 truncation point of `series`, in observations (a multiple of 5): 0 when
/// the series is too short (fewer than 4 batches) to judge.
pub fn mser5(series: &[f64]) -> usize {
    let batches: Vec<f64> = series.chunks_exact(BATCH).map(|c| c.iter().sum::<f64>() / BATCH as f64).collect();
    let k = batches.len();
    if k < 4 {
        return 0;
    }
    let mut best = (f64::INFINITY, 0);
    for d in 0..=k / 2 {
        let tail = &batches[d..];
        let n = tail.len() as f64;
        let mean = tail.iter().sum::<f64>() / n;
        let stat = tail.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / (n * n);
        // Strictly smaller: ties keep the shorter warm-up.
        if stat < best.0 {
            best = (stat, d);
        }
    }
    best.1 * BATCH
}

/// What `warmup: auto` decided.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupChoice {
    /// The warm-up chosen.
    pub warmup: SimTime,
    /// Windows of the pilot series cut off.
    pub truncated_windows: usize,
    /// Windows in the pilot series.
    pub windows: usize,
}

/// Resolves `warmup: auto` in `scenario` by a pilot run and MSER-5; other scenarios are
/// returned unchanged (with `None`).
///
/// The pilot runs the scenario as validated (warm-up 0) for its `duration`, in
/// [`PILOT_WINDOWS`] windows. The scenario is then validated again with the detected
/// warm-up, so rate profiles and faults, which are timed from the end of the warm-up,
/// move with it.
pub fn resolve_warmup(scenario: &Scenario) -> Result<(Scenario, Option<WarmupChoice>), ScenarioError> {
    if !scenario.spec.warmup.is_auto() {
        return Ok((scenario.clone(), None));
    }
    let mut pilot = scenario.model.clone();
    pilot.window = SimTime(pilot.duration.0.div_ceil(PILOT_WINDOWS).max(1));
    let result = run_replication(&pilot, PILOT_REPLICATION);
    let windows = pilot.windows();
    let (throughput, latency) = pilot_series(&result.workloads, windows);
    let cut = mser5(&throughput).max(mser5(&latency));
    let warmup = SimTime(pilot.window.0.saturating_mul(cut as u64));
    let spec = ScenarioSpec { warmup: Warmup::Fixed(Duration(warmup)), ..scenario.spec.clone() };
    let model = validate(&spec)?;
    Ok((
        Scenario { spec, model, samples: scenario.samples.clone() },
        Some(WarmupChoice { warmup, truncated_windows: cut, windows }),
    ))
}

/// The pilot's two series, window by window over all workloads: finished requests, and
/// the mean latency of successful ones (windows without a success are left out).
fn pilot_series(workloads: &[WorkloadMetrics], windows: usize) -> (Vec<f64>, Vec<f64>) {
    let mut throughput = Vec::with_capacity(windows);
    let mut latency = Vec::with_capacity(windows);
    for i in 0..windows {
        let finished: u64 = workloads.iter().map(|w| w.timeline.windows[i].total()).sum();
        let served: u64 = workloads
            .iter()
            .map(|w| w.timeline.windows[i].get(Outcome::Ok) + w.timeline.windows[i].get(Outcome::Degraded))
            .sum();
        // Mean from the window's latency buckets (each at its middle, ≤ 6.25% wide).
        let sum: f64 = workloads
            .iter()
            .flat_map(|w| w.timeline.latency_window(i).iter().enumerate())
            .map(|(b, &c)| f64::from(c) * buckets::mid_secs(b))
            .sum();
        throughput.push(finished as f64);
        if served > 0 {
            latency.push(sum / served as f64);
        }
    }
    (throughput, latency)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-noise in [-0.5, 0.5).
    fn noise(i: usize) -> f64 {
        let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        let x = x ^ (x >> 29);
        (x.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    #[test]
    fn finds_a_known_transient() {
        // 500 observations: a level of 10 reached after an exponential rise with time
        // constant 20 (the transient has decayed to < 0.5% of the noise by ~100).
        let series: Vec<f64> = (0..500).map(|i| 10.0 - 8.0 * (-(i as f64) / 20.0).exp() + noise(i)).collect();
        let d = mser5(&series);
        assert!((40..=150).contains(&d), "truncation {d}");
        assert_eq!(d % BATCH, 0);
    }

    #[test]
    fn stationary_series_is_barely_cut_and_short_series_not_at_all() {
        let flat: Vec<f64> = (0..500).map(|i| 10.0 + noise(i)).collect();
        assert!(mser5(&flat) <= 50, "{}", mser5(&flat));
        assert_eq!(mser5(&[1.0; 19]), 0);
        assert_eq!(mser5(&[]), 0);
        // A step: the first 100 observations far below the rest are all cut.
        let step: Vec<f64> = (0..500).map(|i| if i < 100 { 0.0 } else { 10.0 } + noise(i)).collect();
        assert_eq!(mser5(&step), 100);
    }
}
