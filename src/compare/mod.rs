//! `resim compare`: did a change (B) make things better or worse than a baseline (A)?
//!
//! Each input is read into a [`Snapshot`] (the headline metrics, see [`snapshot`]); the
//! two are aligned metric by metric into [`Row`]s carrying both values, the change, a
//! Welch t-test (see [`welch`]) and a better/worse marker from the metric's preferred
//! direction. [`gate`] turns the rows into CI regression checks, and [`render`] and
//! [`html`] print them. Everything here is pure: the CLI reads files and writes output.

pub mod gate;
pub mod html;
pub mod render;
mod report_in;
pub mod snapshot;
pub mod welch;

use std::collections::BTreeMap;

pub use gate::{Failure, Thresholds, parse_percent, regressions};
pub use snapshot::{CompareError, Direction, Meta, Metric, MetricValue, Section, Snapshot, Stat, Unit, load};
pub use welch::{Sample, Significance, TEST_NAME, welch};

/// Whether a change goes the way the metric should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// The metric moved the way it should.
    Better,
    /// The metric moved the way it should not.
    Worse,
    /// No change, or the metric has no preferred direction.
    Neutral,
}

/// B − A.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Change {
    /// B − A, in the metric's unit.
    pub abs: f64,
    /// (B − A) / |A|; `None` when A is 0.
    pub rel: Option<f64>,
}

/// Why a row has no t-test result, or what it found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Test {
    /// The metric is on one side only.
    OneSided,
    /// A side has no defined mean (no replication produced the metric).
    NoData,
    /// A verdict, not a statistic: no test.
    Verdict,
    /// Welch's test (or why it could not run).
    Welch(Significance),
}

impl Test {
    /// True for a significant difference.
    pub fn significant(&self) -> bool {
        matches!(self, Test::Welch(s) if s.significant())
    }
}

/// One metric of both sides.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Section.
    pub section: Section,
    /// Workload, service, edge or SLO name.
    pub entity: String,
    /// Metric name.
    pub name: &'static str,
    /// Display unit.
    pub unit: Unit,
    /// Preferred direction.
    pub direction: Direction,
    /// A's value (`None`: only in B).
    pub a: Option<MetricValue>,
    /// B's value (`None`: only in A).
    pub b: Option<MetricValue>,
    /// B − A, when both means exist.
    pub change: Option<Change>,
    /// The significance test.
    pub test: Test,
    /// Better, worse or neutral.
    pub marker: Marker,
}

impl Row {
    /// `entity metric`, e.g. `users latency p99`.
    pub fn label(&self) -> String {
        format!("{} {}", self.entity, self.name)
    }

    /// A significant move the wrong way.
    pub fn regressed(&self) -> bool {
        self.marker == Marker::Worse && self.test.significant()
    }

    /// A significant move the right way.
    pub fn improved(&self) -> bool {
        self.marker == Marker::Better && self.test.significant()
    }
}

/// Two snapshots side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The baseline.
    pub a: Meta,
    /// The candidate.
    pub b: Meta,
    /// Every metric of either side, in display order.
    pub rows: Vec<Row>,
    /// Things the reader should know (different scenarios, single replications).
    pub warnings: Vec<String>,
}

impl Comparison {
    /// One line: which way B went overall, counting significant changes only.
    pub fn verdict(&self) -> String {
        let worse: Vec<String> = self.rows.iter().filter(|r| r.regressed()).map(Row::label).collect();
        let better = self.rows.iter().filter(|r| r.improved()).count();
        let plural = |n: usize, what: &str| format!("{n} significant {what}{}", if n == 1 { "" } else { "s" });
        match (worse.len(), better) {
            (0, 0) => "no significant difference between A and B".to_owned(),
            (0, b) => format!("B is better than A: {}, no significant regression", plural(b, "improvement")),
            (w, 0) => format!("B is worse than A: {} ({})", plural(w, "regression"), worse.join(", ")),
            (w, b) => {
                format!("mixed: {} ({}) and {}", plural(w, "regression"), worse.join(", "), plural(b, "improvement"))
            }
        }
    }
}

/// A metric's A and B sides.
type Pair<'a> = (Option<&'a Metric>, Option<&'a Metric>);

/// Compares B against A.
pub fn compare(a: &Snapshot, b: &Snapshot) -> Comparison {
    let mut aligned: BTreeMap<(Section, &str, usize), Pair<'_>> = BTreeMap::new();
    for m in &a.metrics {
        aligned.entry((m.section, &m.entity, m.order)).or_default().0 = Some(m);
    }
    for m in &b.metrics {
        aligned.entry((m.section, &m.entity, m.order)).or_default().1 = Some(m);
    }
    let rows = aligned.into_values().filter_map(|(ma, mb)| row(ma, mb)).collect();
    let mut warnings = Vec::new();
    if a.meta.scenario != b.meta.scenario {
        warnings.push(format!(
            "A and B are different scenarios (`{}` vs `{}`): metrics are matched by name",
            a.meta.scenario, b.meta.scenario
        ));
    }
    for (side, m) in [("A", &a.meta), ("B", &b.meta)] {
        if m.replications == Some(1) {
            warnings.push(format!("{side} has 1 replication: no change can be called significant"));
        }
    }
    Comparison { a: a.meta.clone(), b: b.meta.clone(), rows, warnings }
}

fn row(a: Option<&Metric>, b: Option<&Metric>) -> Option<Row> {
    let m = a.or(b)?;
    let (va, vb) = (a.map(|m| m.value), b.map(|m| m.value));
    let (change, test, marker) = match (va, vb) {
        (Some(MetricValue::Stat(x)), Some(MetricValue::Stat(y))) => match (x.mean, y.mean) {
            (Some(ma), Some(mb)) => {
                let abs = mb - ma;
                let rel = (ma != 0.0).then(|| abs / ma.abs());
                (Some(Change { abs, rel }), Test::Welch(test(x, y)), marker(m.direction, abs))
            }
            _ => (None, Test::NoData, Marker::Neutral),
        },
        (Some(MetricValue::Flag(x)), Some(MetricValue::Flag(y))) => {
            (None, Test::Verdict, marker(m.direction, f64::from(u8::from(y)) - f64::from(u8::from(x))))
        }
        (Some(_), Some(_)) => (None, Test::NoData, Marker::Neutral),
        _ => (None, Test::OneSided, Marker::Neutral),
    };
    Some(Row {
        section: m.section,
        entity: m.entity.clone(),
        name: m.name,
        unit: m.unit,
        direction: m.direction,
        a: va,
        b: vb,
        change,
        test,
        marker,
    })
}

/// Welch's test from two report statistics (n < 2 on a side: not applicable).
fn test(a: Stat, b: Stat) -> Significance {
    let sample = |s: Stat| Sample::from_interval(s.mean?, s.half?, s.n);
    match (sample(a), sample(b)) {
        (Some(x), Some(y)) => welch(x, y),
        _ => Significance::NotApplicable,
    }
}

fn marker(direction: Direction, delta: f64) -> Marker {
    match direction {
        _ if delta == 0.0 || delta.is_nan() => Marker::Neutral,
        Direction::Neutral => Marker::Neutral,
        Direction::HigherBetter if delta > 0.0 => Marker::Better,
        Direction::LowerBetter if delta < 0.0 => Marker::Better,
        _ => Marker::Worse,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn meta(scenario: &str, reps: u64) -> Meta {
        Meta {
            path: PathBuf::from("r.json"),
            scenario: scenario.into(),
            seed: Some(1),
            replications: Some(reps),
            duration_s: None,
        }
    }

    fn metric(
        entity: &str,
        name: &'static str,
        order: usize,
        direction: Direction,
        mean: f64,
        half: Option<f64>,
        n: u32,
    ) -> Metric {
        Metric {
            section: Section::Workloads,
            entity: entity.into(),
            name,
            order,
            unit: Unit::Ratio,
            direction,
            value: MetricValue::Stat(Stat { mean: Some(mean), half, n }),
        }
    }

    #[test]
    fn rows_align_mark_and_test() {
        let a = Snapshot {
            meta: meta("s", 10),
            metrics: vec![
                metric("u", "availability", 0, Direction::HigherBetter, 0.99, Some(0.001), 10),
                metric("u", "latency p99", 10, Direction::LowerBetter, 0.2, Some(0.01), 10),
                metric("gone", "availability", 0, Direction::HigherBetter, 1.0, Some(0.0), 10),
            ],
        };
        let b = Snapshot {
            meta: meta("t", 10),
            metrics: vec![
                metric("u", "availability", 0, Direction::HigherBetter, 0.95, Some(0.001), 10),
                metric("u", "latency p99", 10, Direction::LowerBetter, 0.2, Some(0.01), 10),
            ],
        };
        let c = compare(&a, &b);
        let labels: Vec<_> = c.rows.iter().map(Row::label).collect();
        assert_eq!(labels, ["gone availability", "u availability", "u latency p99"]);
        assert_eq!(c.rows[0].test, Test::OneSided);
        assert!(c.rows[1].regressed());
        assert!((c.rows[1].change.unwrap().abs + 0.04).abs() < 1e-12);
        assert_eq!(c.rows[2].marker, Marker::Neutral);
        assert!(!c.rows[2].test.significant());
        assert!(
            c.verdict().starts_with("B is worse than A: 1 significant regression (u availability)"),
            "{}",
            c.verdict()
        );
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn one_replication_is_not_applicable() {
        let one = |m| Snapshot {
            meta: meta("s", 1),
            metrics: vec![metric("u", "availability", 0, Direction::HigherBetter, m, None, 1)],
        };
        let c = compare(&one(0.5), &one(0.9));
        assert_eq!(c.rows[0].test, Test::Welch(Significance::NotApplicable));
        assert_eq!(c.rows[0].marker, Marker::Better);
        assert!(!c.rows[0].improved());
        assert_eq!(c.verdict(), "no significant difference between A and B");
    }
}
