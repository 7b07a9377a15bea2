//! `--precision`: add replications until the headline metrics are known well enough.
//!
//! The headline metrics are, for each workload, its availability and median (p50)
//! end-to-end latency, and for each service its throughput and mean sojourn time (W).
//! The target is met when every one of them that is defined has a 95% interval whose
//! half-width is at most `relative · |mean|` (a metric that is exactly constant, such
//! as an availability of 1 in every replication, has half-width 0 and meets any target).
//!
//! Replications are added in batches, sequentially: after each batch the half-widths are
//! measured, and the next total is the classic estimate `n · (h / target)²` (the
//! half-width shrinks as 1/√n), grown by 10% and by at least the initial batch, capped
//! at `max_replications`. New replications continue the indices (n, n+1, ...), so every
//! decision depends only on results already merged in order: the outcome is the same at
//! any thread count.

use crate::report::{Report, Statistic};

/// Default cap on replications.
pub const DEFAULT_MAX_REPLICATIONS: u32 = 100;

/// A relative precision target.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Precision {
    /// Largest acceptable half-width relative to the mean (0.01 for `1%`).
    pub relative: f64,
    /// Most replications per point.
    pub max_replications: u32,
}

/// Parses `1%` or `0.01`.
pub fn parse_relative(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let x = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    };
    match x {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err(format!("`{s}` is not a relative precision; expected a percentage like 1% or 0.5% (or 0.01)")),
    }
}

/// The headline metrics of `report`, named by their report.json path.
pub fn headline(report: &Report) -> Vec<(String, Statistic)> {
    let mut out = Vec::new();
    for (name, w) in &report.workloads {
        out.push((format!("workloads.{name}.availability"), w.availability));
        out.push((format!("workloads.{name}.latency_s.p50"), w.latency_s.p50));
    }
    for (name, s) in &report.services {
        out.push((format!("services.{name}.throughput_per_s"), s.throughput_per_s));
        out.push((format!("services.{name}.mean_sojourn_s"), s.mean_sojourn_s));
    }
    out
}

/// The worst ratio of half-width to target over the headline metrics (≤ 1 means met);
/// infinite when a defined metric has no interval yet (one replication).
pub fn worst_ratio(report: &Report, relative: f64) -> f64 {
    headline(report)
        .iter()
        .filter(|(_, s)| s.n > 0)
        .map(|(_, s)| match (s.half_width(), s.mean) {
            (Some(0.0), _) => 0.0,
            (Some(h), Some(m)) if m != 0.0 => h / (relative * m.abs()),
            _ => f64::INFINITY,
        })
        .fold(0.0, f64::max)
}

impl Precision {
    /// The total number of replications to reach next, or `None` when `report` (built
    /// from `done` replications, the first batch having been `initial`) is precise
    /// enough or the cap is reached.
    pub fn next_total(&self, report: &Report, done: u32, initial: u32) -> Option<u32> {
        let ratio = worst_ratio(report, self.relative);
        if ratio <= 1.0 || done >= self.max_replications {
            return None;
        }
        let estimate = if ratio.is_finite() { (f64::from(done) * ratio * ratio * 1.1).ceil() } else { 0.0 };
        let step = initial.max(2);
        let next = (estimate.min(f64::from(u32::MAX)) as u32).max(done.saturating_add(step));
        Some(next.min(self.max_replications))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percentages() {
        assert_eq!(parse_relative("1%").unwrap(), 0.01);
        assert_eq!(parse_relative("0.5 %").unwrap(), 0.005);
        assert_eq!(parse_relative("0.02").unwrap(), 0.02);
        for bad in ["0%", "-1%", "abc", "100%", "", "nan"] {
            assert!(parse_relative(bad).is_err(), "{bad}");
        }
    }
}
