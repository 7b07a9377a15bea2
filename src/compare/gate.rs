//! Regression checks for CI (`resim compare --fail-on-regression`).
//!
//! A check on a *change* fails only when B is worse beyond its threshold AND the change
//! is significant: noise between two runs must not break a pipeline, and a significant
//! but tiny drift must not either. A check on a *level* (`--min-availability`) looks at
//! B's mean alone. Without thresholds, any significant worsening of a workload's
//! availability or p99 latency fails.

use super::render::amount;
use super::{Comparison, MetricValue, Row, Section};

/// The thresholds given on the command line (fractions: 10% is 0.1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Thresholds {
    /// Largest relative increase of any workload's p99 latency.
    pub max_p99_increase: Option<f64>,
    /// Lowest availability of every workload in B.
    pub min_availability: Option<f64>,
    /// Largest absolute availability drop of any workload.
    pub max_error_increase: Option<f64>,
}

impl Thresholds {
    fn any(&self) -> bool {
        self.max_p99_increase.is_some() || self.min_availability.is_some() || self.max_error_increase.is_some()
    }
}

/// A failed check.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The flag (or rule) that failed, e.g. `--max-p99-increase 10%`.
    pub check: String,
    /// What was measured.
    pub detail: String,
}

/// The checks B fails against A.
pub fn regressions(c: &Comparison, t: &Thresholds) -> Vec<Failure> {
    let workload =
        |name: &'static str| c.rows.iter().filter(move |r| r.section == Section::Workloads && r.name == name);
    let mut out = Vec::new();
    if !t.any() {
        for r in workload("availability").chain(workload("latency p99")).filter(|r| r.regressed()) {
            out.push(Failure { check: "significant worsening".into(), detail: describe(r) });
        }
        return out;
    }
    if let Some(max) = t.max_p99_increase {
        for r in workload("latency p99").filter(|r| r.test.significant()) {
            let Some(ch) = r.change else { continue };
            // A p99 of 0 has no relative change: any increase from it is beyond a threshold.
            if ch.abs > 0.0 && ch.rel.is_none_or(|rel| rel > max) {
                out.push(Failure { check: format!("--max-p99-increase {}", pct(max)), detail: describe(r) });
            }
        }
    }
    if let Some(min) = t.min_availability {
        for r in workload("availability") {
            if let Some(b) = mean(r.b).filter(|&b| b < min) {
                out.push(Failure {
                    check: format!("--min-availability {}", pct(min)),
                    detail: format!("{}: B is {} (below {})", r.label(), pct(b), pct(min)),
                });
            }
        }
    }
    if let Some(max) = t.max_error_increase {
        for r in workload("availability").filter(|r| r.test.significant()) {
            if r.change.is_some_and(|ch| -ch.abs > max) {
                out.push(Failure { check: format!("--max-error-increase {}", pct(max)), detail: describe(r) });
            }
        }
    }
    out
}

fn mean(v: Option<MetricValue>) -> Option<f64> {
    match v? {
        MetricValue::Stat(s) => s.mean,
        MetricValue::Flag(_) => None,
    }
}

fn describe(r: &Row) -> String {
    let v = |x: Option<MetricValue>| mean(x).map_or("-".to_owned(), |m| amount(r.unit, m));
    let rel = r.change.and_then(|c| c.rel).map_or(String::new(), |x| format!(", {:+.2}%", x * 100.0));
    format!("{}: {} -> {}{rel} (significant)", r.label(), v(r.a), v(r.b))
}

/// A fraction as a short percentage: 0.999 -> `99.9%`.
fn pct(x: f64) -> String {
    let s = format!("{:.4}", x * 100.0);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// Parses a threshold: `10%` or a fraction `0.1`; finite and not negative.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    match num.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x / scale),
        _ => Err(format!("expected a percentage such as `10%` or a fraction such as `0.1`, got `{s}`")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::compare::{Change, Direction, Marker, Meta, Significance, Stat, Test, Unit};

    fn row(name: &'static str, a: f64, b: f64, p: f64, direction: Direction) -> Row {
        let abs = b - a;
        let worse = match direction {
            Direction::HigherBetter => abs < 0.0,
            _ => abs > 0.0,
        };
        let stat = |m| Some(MetricValue::Stat(Stat { mean: Some(m), half: Some(0.0), n: 10 }));
        Row {
            section: Section::Workloads,
            entity: "users".into(),
            name,
            unit: Unit::Ratio,
            direction,
            a: stat(a),
            b: stat(b),
            change: Some(Change { abs, rel: Some(abs / a) }),
            test: Test::Welch(Significance::Tested { t: 0.0, df: 9.0, p }),
            marker: if worse { Marker::Worse } else { Marker::Better },
        }
    }

    fn comparison(rows: Vec<Row>) -> Comparison {
        let meta =
            Meta { path: PathBuf::new(), scenario: "s".into(), seed: None, replications: None, duration_s: None };
        Comparison { a: meta.clone(), b: meta, rows, warnings: vec![] }
    }

    #[test]
    fn p99_threshold_needs_size_and_significance() {
        let t = Thresholds { max_p99_increase: Some(0.1), ..Thresholds::default() };
        let up = |b, p| comparison(vec![row("latency p99", 1.0, b, p, Direction::LowerBetter)]);
        assert_eq!(regressions(&up(1.2, 0.01), &t).len(), 1);
        assert!(regressions(&up(1.2, 0.2), &t).is_empty(), "not significant");
        assert!(regressions(&up(1.05, 0.01), &t).is_empty(), "within the threshold");
    }

    #[test]
    fn availability_checks() {
        let c = comparison(vec![row("availability", 0.9995, 0.998, 0.01, Direction::HigherBetter)]);
        let min = Thresholds { min_availability: Some(0.999), ..Thresholds::default() };
        assert_eq!(regressions(&c, &min)[0].check, "--min-availability 99.9%");
        let drop = Thresholds { max_error_increase: Some(0.001), ..Thresholds::default() };
        assert_eq!(regressions(&c, &drop).len(), 1);
        let loose = Thresholds { max_error_increase: Some(0.01), ..Thresholds::default() };
        assert!(regressions(&c, &loose).is_empty());
        assert_eq!(regressions(&c, &Thresholds::default()).len(), 1, "no thresholds: any significant worsening");
    }

    #[test]
    fn percent_parsing() {
        assert_eq!(parse_percent("10%"), Ok(0.1));
        assert!((parse_percent("99.9%").unwrap() - 0.999).abs() < 1e-12);
        assert_eq!(parse_percent("0.25"), Ok(0.25));
        assert!(parse_percent("-1%").is_err() && parse_percent("ten").is_err() && parse_percent("inf").is_err());
        assert_eq!(pct(0.999), "99.9%");
        assert_eq!(pct(0.1), "10%");
    }
}
