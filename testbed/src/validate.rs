//! Real against simulated: reads the report of a real run (`resim-testbed`) and the
//! report of the same scenario simulated (`resim run`), both of resim's schema, and sets
//! each metric side by side with its 95% interval, the difference, the tolerance and a
//! verdict. `scripts/validate.sh` renders one table per scenario into docs/VALIDATION.md.
//!
//! A metric agrees when the two means are within its tolerance (issue 25's targets:
//! throughput and availability 2%, mean latency 5%, p99 10%) **or** when their difference
//! is inside the combined 95% interval `sqrt(h_real² + h_sim²)` (the difference of two
//! independent estimates has that half-width, so a real run too short to resolve 2% is
//! judged by what it can resolve). The metrics are read from the reports as
//! `serde_json::Value`, so the comparison depends only on the report schema
//! (`resim.report/v1`), not on how either report was made.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

/// Throughput (served requests, completions, calls per second): issue 25's 2%. A rate is
/// a count over a fixed time, the quantity the model's arrival and service rates fix.
pub const THROUGHPUT_TOL: f64 = 0.02;
/// Availability (served / finished requests): issue 25's 2%, relative.
pub const AVAILABILITY_TOL: f64 = 0.02;
/// A share of all requests or of the time (blocking probability, utilisation), absolute:
/// 2 percentage points, the bar availability sets (an availability near 1 within 2% is
/// its complement within 0.02).
pub const SHARE_TOL: f64 = 0.02;
/// Mean latency (a station's mean sojourn W) and the median: issue 25's 5%. The 1 ms
/// timer slots and the loopback round trip are measured and taken off; what is left is a
/// few tenths of a millisecond on tens of milliseconds.
pub const MEAN_LATENCY_TOL: f64 = 0.05;
/// The 99th percentile: issue 25's 10%. A tail estimate from a minute of real time rests
/// on a few hundred samples above it, so it is looser than the mean.
pub const P99_TOL: f64 = 0.10;

/// How close two means must be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// |real − sim| ≤ this fraction of |sim|.
    Relative(f64),
    /// |real − sim| ≤ this, in the metric's own unit.
    Absolute(f64),
}

impl Tolerance {
    fn holds(self, real: f64, sim: f64) -> bool {
        match self {
            Tolerance::Relative(f) => (real - sim).abs() <= f * sim.abs(),
            Tolerance::Absolute(a) => (real - sim).abs() <= a,
        }
    }

    fn render(self, unit: Unit) -> String {
        match (self, unit) {
            (Tolerance::Relative(f), _) => format!("{:.0}%", f * 100.0),
            (Tolerance::Absolute(a), Unit::Share) => format!("{:.0} pts", a * 100.0),
            (Tolerance::Absolute(a), _) => format!("±{a}"),
        }
    }
}

/// How a metric's values read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Per second.
    Rate,
    /// A fraction, shown in percent.
    Share,
    /// Seconds, shown in milliseconds.
    Seconds,
}

/// A mean and the half-width of its 95% interval (half its length: proportions have
/// asymmetric Wilson intervals; 0 when the report has none, with one replication).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The mean over replications.
    pub mean: f64,
    /// Half the length of the 95% interval.
    pub half: f64,
}

impl Estimate {
    /// Reads a `{ "mean", "ci95": [lo, hi], "n" }` statistic; `None` when its mean is
    /// null (nothing to estimate from, e.g. a latency with no samples).
    fn read(v: &Value) -> Option<Self> {
        let mean = v.get("mean")?.as_f64()?;
        let half = match v.get("ci95").and_then(Value::as_array).map(|a| a.as_slice()) {
            Some([lo, hi]) => (hi.as_f64().unwrap_or(mean) - lo.as_f64().unwrap_or(mean)) / 2.0,
            _ => 0.0,
        };
        Some(Self { mean, half })
    }

    fn scaled(self, k: f64) -> Self {
        Self { mean: self.mean * k, half: self.half * k }
    }
}

/// The verdict on one metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The means are within the tolerance.
    Within,
    /// Outside the tolerance, but the difference is inside the combined interval.
    InsideInterval,
    /// Neither.
    Outside,
    /// One report has the metric and the other has not (or its mean is null): the two
    /// reports do not describe the same system.
    Missing,
}

impl Verdict {
    /// Whether the metric agrees.
    pub fn passed(self) -> bool {
        matches!(self, Verdict::Within | Verdict::InsideInterval)
    }

    fn render(self) -> &'static str {
        match self {
            Verdict::Within => "✓",
            Verdict::InsideInterval => "✓ (interval)",
            Verdict::Outside => "**✗**",
            Verdict::Missing => "**✗ missing**",
        }
    }
}

/// One metric of both reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What is measured, e.g. `service api: throughput/s`.
    pub metric: String,
    /// How it reads.
    pub unit: Unit,
    /// The real run's estimate.
    pub real: Option<Estimate>,
    /// The simulation's estimate.
    pub sim: Option<Estimate>,
    /// The tolerance it is judged by.
    pub tolerance: Tolerance,
    /// The verdict.
    pub verdict: Verdict,
}

/// Judges `real` against `sim`: within the tolerance, else inside the combined interval.
pub fn judge(real: Option<Estimate>, sim: Option<Estimate>, tolerance: Tolerance) -> Verdict {
    let (Some(r), Some(s)) = (real, sim) else { return Verdict::Missing };
    if tolerance.holds(r.mean, s.mean) {
        Verdict::Within
    } else if (r.mean - s.mean).abs() <= r.half.hypot(s.half) {
        Verdict::InsideInterval
    } else {
        Verdict::Outside
    }
}

/// One metric to read: where it is in a report, how it reads, how close it must be, and a
/// factor (a count per replication over the measured duration is a rate).
struct Metric {
    label: String,
    pointer: String,
    unit: Unit,
    tolerance: Tolerance,
    per_second: bool,
    /// Left out when both reports say 0 (nothing happened on either side: a count of
    /// timeouts on an edge that has none).
    skip_if_zero: bool,
}

impl Metric {
    fn new(label: String, pointer: String, unit: Unit, tolerance: Tolerance) -> Self {
        Self { label, pointer, unit, tolerance, per_second: false, skip_if_zero: false }
    }

    /// A count per replication, compared as a rate, and left out when both are 0.
    fn count(label: String, pointer: String) -> Self {
        let tolerance = Tolerance::Relative(THROUGHPUT_TOL);
        Self { label, pointer, unit: Unit::Rate, tolerance, per_second: true, skip_if_zero: true }
    }
}

/// A JSON pointer from its keys (RFC 6901: `~` and `/` escaped inside a key).
fn pointer(keys: &[&str]) -> String {
    keys.iter().map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1"))).collect()
}

/// The names under `key` (services, workloads, edges) in either report, in order.
fn names(real: &Value, sim: &Value, key: &str) -> BTreeSet<String> {
    [real, sim].iter().filter_map(|r| r.get(key).and_then(Value::as_object)).flat_map(|m| m.keys().cloned()).collect()
}

/// What is compared, scenario by scenario: per workload what its users saw, per service
/// its station, per edge its traffic and outcomes.
fn metrics(real: &Value, sim: &Value) -> Vec<Metric> {
    let mut out = Vec::new();
    let rel = Tolerance::Relative;
    for w in names(real, sim, "workloads") {
        let at = |k: &[&str]| pointer(&[&["workloads", w.as_str()], k].concat());
        let label = |what: &str| format!("workload {w}: {what}");
        // Each served request is worth 1 (no degradation in these scenarios), so the
        // value-weighted goodput is the served requests per second.
        out.push(Metric::new(label("served/s"), at(&["goodput_value_per_s"]), Unit::Rate, rel(THROUGHPUT_TOL)));
        out.push(Metric::new(label("availability"), at(&["availability"]), Unit::Share, rel(AVAILABILITY_TOL)));
        out.push(Metric::new(label("p50"), at(&["latency_s", "p50"]), Unit::Seconds, rel(MEAN_LATENCY_TOL)));
        out.push(Metric::new(label("p99"), at(&["latency_s", "p99"]), Unit::Seconds, rel(P99_TOL)));
    }
    for s in names(real, sim, "services") {
        let at = |k: &[&str]| pointer(&[&["services", s.as_str()], k].concat());
        let label = |what: &str| format!("service {s}: {what}");
        let abs = Tolerance::Absolute(SHARE_TOL);
        out.push(Metric::new(label("throughput/s"), at(&["throughput_per_s"]), Unit::Rate, rel(THROUGHPUT_TOL)));
        out.push(Metric::new(label("utilisation"), at(&["utilization"]), Unit::Share, abs));
        // Left out when both are 0: a station without a capacity blocks nothing.
        let blocking = Metric::new(label("blocking"), at(&["blocking_probability"]), Unit::Share, abs);
        out.push(Metric { skip_if_zero: true, ..blocking });
        out.push(Metric::new(label("mean sojourn W"), at(&["mean_sojourn_s"]), Unit::Seconds, rel(MEAN_LATENCY_TOL)));
        out.push(Metric::new(label("p99"), at(&["latency_s", "p99"]), Unit::Seconds, rel(P99_TOL)));
    }
    for e in names(real, sim, "edges") {
        let at = |k: &[&str]| pointer(&[&["edges", e.as_str()], k].concat());
        let label = |what: &str| format!("edge {e}: {what}/s");
        for k in ["calls", "attempts", "retries", "hedges", "budget_exhausted", "bulkhead_rejected", "rate_limited"] {
            out.push(Metric::count(label(k), at(&[k])));
        }
        for o in ["ok", "degraded", "error", "timeout", "rejected", "short_circuited"] {
            out.push(Metric::count(label(o), at(&["outcomes", o])));
        }
        // The breaker's own record (issue 25's scenario 3: its transitions): how often it
        // opened, and how long it stayed open, at the mean latency's 5%.
        out.push(Metric::count(label("breaker openings"), at(&["breaker", "openings"])));
        let open = at(&["breaker", "time_in_state_s", "open"]);
        let open_s = Metric::new(format!("edge {e}: breaker open, s"), open, Unit::Seconds, rel(MEAN_LATENCY_TOL));
        out.push(Metric { skip_if_zero: true, ..open_s });
    }
    out
}

/// A report's measured duration in seconds (its counts per replication are over it).
fn duration_s(report: &Value) -> Option<f64> {
    report.get("duration_s").and_then(Value::as_f64).filter(|d| *d > 0.0)
}

/// Every metric of the two reports, judged. A metric neither report has is left out, and
/// so is a count both have at 0.
pub fn compare(real: &Value, sim: &Value) -> Vec<Row> {
    let read = |report: &Value, m: &Metric| {
        let e = report.pointer(&m.pointer).and_then(Estimate::read)?;
        if m.per_second { duration_s(report).map(|d| e.scaled(1.0 / d)) } else { Some(e) }
    };
    metrics(real, sim)
        .into_iter()
        .filter_map(|m| {
            let (r, s) = (read(real, &m), read(sim, &m));
            let zero = |e: Option<Estimate>| e.is_none_or(|e| e.mean == 0.0);
            if (r.is_none() && s.is_none()) || (m.skip_if_zero && zero(r) && zero(s)) {
                return None;
            }
            let verdict = judge(r, s, m.tolerance);
            Some(Row { metric: m.label, unit: m.unit, real: r, sim: s, tolerance: m.tolerance, verdict })
        })
        .collect()
}

/// A value in the metric's unit, with its interval.
fn show(e: Option<Estimate>, unit: Unit) -> String {
    let Some(e) = e else { return "—".into() };
    match unit {
        Unit::Rate => format!("{} ± {}", sig(e.mean), sig(e.half)),
        Unit::Share => format!("{:.2}% ± {:.2}%", e.mean * 100.0, e.half * 100.0),
        Unit::Seconds => format!("{} ± {} ms", sig(e.mean * 1e3), sig(e.half * 1e3)),
    }
}

/// Four significant figures, at most three decimals.
fn sig(x: f64) -> String {
    let decimals = if x == 0.0 { 0 } else { (3 - x.abs().log10().floor() as i32).clamp(0, 3) as usize };
    format!("{x:.decimals$}")
}

/// The difference real − sim, in percent of sim (percentage points for a share).
fn difference(row: &Row) -> String {
    let (Some(r), Some(s)) = (row.real, row.sim) else { return "—".into() };
    match row.unit {
        Unit::Share if matches!(row.tolerance, Tolerance::Absolute(_)) => {
            format!("{:+.2} pts", (r.mean - s.mean) * 100.0)
        }
        _ if s.mean == 0.0 => "—".into(),
        _ => format!("{:+.2}%", (r.mean - s.mean) / s.mean.abs() * 100.0),
    }
}

/// The rows as a markdown table.
pub fn render_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| metric | real (mean ± 95% half-width) | simulated | difference | tolerance | verdict |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.metric,
            show(row.real, row.unit),
            show(row.sim, row.unit),
            difference(row),
            row.tolerance.render(row.unit),
            row.verdict.render()
        );
    }
    out
}

/// One line on how each report was made: replications and measured time.
pub fn render_runs(real: &Value, sim: &Value) -> String {
    let runs = |r: &Value| {
        let n = r.get("replications").and_then(Value::as_u64).unwrap_or(0);
        let d = duration_s(r).unwrap_or(0.0);
        let w = r.get("warmup_s").and_then(Value::as_f64).unwrap_or(0.0);
        format!("{n} replications × {d} s (after {w} s of warm-up)")
    };
    format!("Real: {}; simulated: {}.\n", runs(real), runs(sim))
}

/// The testbed's own time in the real run (`testbed.overhead`), as one markdown line:
/// what was measured and taken off every latency.
pub fn render_overhead(real: &Value) -> String {
    let Some(o) = real.pointer("/testbed/overhead") else {
        return "The real report has no `testbed.overhead` (was it written by resim-testbed?).\n".into();
    };
    let ms = |p: &str| o.pointer(p).and_then(Value::as_f64).map_or("—".into(), |s| format!("{:.3} ms", s * 1e3));
    let probes = o.pointer("/loopback_rtt_s/probes").and_then(Value::as_u64).unwrap_or(0);
    format!(
        "Testbed overhead (measured, taken off the latencies): loopback round trip p50 {}, p99 {} ({probes} probes); \
         service-time sleep late by {} before correction, {} residual after; generator late by {} on average.\n",
        ms("/loopback_rtt_s/p50"),
        ms("/loopback_rtt_s/p99"),
        ms("/timer_lateness_s"),
        ms("/timer_residual_s"),
        ms("/generator_lateness_s"),
    )
}

/// How many rows agree, as a closing line.
pub fn render_verdict(rows: &[Row]) -> String {
    let passed = rows.iter().filter(|r| r.verdict.passed()).count();
    let within = rows.iter().filter(|r| r.verdict == Verdict::Within).count();
    format!(
        "**{passed} of {} metrics agree** ({within} within the tolerance, {} only inside the combined interval).\n",
        rows.len(),
        passed - within
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stat(mean: f64, half: f64) -> Value {
        json!({ "mean": mean, "ci95": [mean - half, mean + half], "n": 5 })
    }

    /// A report with one workload, one service and one edge, its numbers scaled by `k`.
    fn report(k: f64, p99: f64) -> Value {
        json!({
            "replications": 5, "duration_s": 10.0, "warmup_s": 1.0,
            "workloads": { "users": {
                "goodput_value_per_s": stat(80.0 * k, 1.0),
                "availability": stat(0.99, 0.002),
                "latency_s": { "p50": stat(0.05 * k, 0.001), "p99": stat(p99, 0.002) },
            }},
            "services": { "api": {
                "throughput_per_s": stat(80.0 * k, 1.0), "utilization": stat(0.8, 0.01),
                "blocking_probability": stat(0.01, 0.002), "mean_sojourn_s": stat(0.066 * k, 0.001),
                "latency_s": { "p99": stat(p99, 0.002) },
            }},
            "edges": { "api->db": {
                "calls": stat(800.0 * k, 10.0), "attempts": stat(800.0 * k, 10.0), "retries": stat(0.0, 0.3),
                "outcomes": { "ok": stat(800.0 * k, 10.0), "timeout": stat(0.0, 0.3) },
            }},
        })
    }

    #[test]
    fn equal_reports_pass_and_zero_counts_are_left_out() {
        let rows = compare(&report(1.0, 0.2), &report(1.0, 0.2));
        assert!(rows.iter().all(|r| r.verdict == Verdict::Within), "{rows:#?}");
        // 4 workload + 5 service + calls, attempts, ok (retries and timeouts are 0 in both;
        // hedges and the other outcomes are in neither).
        assert_eq!(rows.len(), 12);
        let calls = rows.iter().find(|r| r.metric == "edge api->db: calls/s").map(|r| r.real);
        assert_eq!(calls, Some(Some(Estimate { mean: 80.0, half: 1.0 })), "counts become rates");
    }

    #[test]
    fn a_three_percent_throughput_gap_fails_unless_the_intervals_cover_it() {
        let rows = compare(&report(1.03, 0.2), &report(1.0, 0.2));
        let tput = rows.iter().find(|r| r.metric == "service api: throughput/s").map(|r| r.verdict);
        // 82.4 vs 80: 3% > 2%, and 2.4 > sqrt(1² + 1²) = 1.41.
        assert_eq!(tput, Some(Verdict::Outside));
        // The p50 moved 3% too: within the 5% of a central latency.
        let p50 = rows.iter().find(|r| r.metric == "workload users: p50").map(|r| r.verdict);
        assert_eq!(p50, Some(Verdict::Within));
        // Wide enough intervals make the same gap inconclusive, hence agreeing.
        let wide = Estimate { mean: 82.4, half: 2.0 };
        assert_eq!(
            judge(Some(wide), Some(Estimate { mean: 80.0, half: 2.0 }), Tolerance::Relative(0.02)),
            Verdict::InsideInterval
        );
    }

    #[test]
    fn p99_is_judged_at_ten_percent() {
        let rows = compare(&report(1.0, 0.23), &report(1.0, 0.2));
        let p99 = rows.iter().find(|r| r.metric == "workload users: p99").map(|r| r.verdict);
        assert_eq!(p99, Some(Verdict::Outside), "15% off, intervals ±2 ms");
        let rows = compare(&report(1.0, 0.215), &report(1.0, 0.2));
        let p99 = rows.iter().find(|r| r.metric == "workload users: p99").map(|r| r.verdict);
        assert_eq!(p99, Some(Verdict::Within), "7.5% off");
    }

    #[test]
    fn a_metric_missing_on_one_side_fails() {
        let mut real = report(1.0, 0.2);
        real["services"]["api"].as_object_mut().map(|m| m.remove("mean_sojourn_s"));
        real["workloads"]["users"]["latency_s"]["p99"]["mean"] = Value::Null;
        let rows = compare(&real, &report(1.0, 0.2));
        let missing: Vec<&str> =
            rows.iter().filter(|r| r.verdict == Verdict::Missing).map(|r| r.metric.as_str()).collect();
        assert_eq!(missing, ["workload users: p99", "service api: mean sojourn W"]);
        let table = render_table(&rows);
        assert!(
            table.contains("| service api: mean sojourn W | — | 66.00 ± 1.000 ms | — | 5% | **✗ missing** |"),
            "{table}"
        );
        assert!(render_verdict(&rows).starts_with("**10 of 12 metrics agree**"));
    }

    #[test]
    fn shares_are_judged_in_points_and_rendered_in_percent() {
        let real = Some(Estimate { mean: 0.035, half: 0.001 });
        let sim = Some(Estimate { mean: 0.02, half: 0.001 });
        // 1.5 points apart: within 2 points although 75% apart relative.
        assert_eq!(judge(real, sim, Tolerance::Absolute(SHARE_TOL)), Verdict::Within);
        let row = Row {
            metric: "b".into(),
            unit: Unit::Share,
            real,
            sim,
            tolerance: Tolerance::Absolute(SHARE_TOL),
            verdict: Verdict::Within,
        };
        assert_eq!(difference(&row), "+1.50 pts");
        assert_eq!(show(real, Unit::Share), "3.50% ± 0.10%");
        assert_eq!(judge(None, sim, Tolerance::Absolute(SHARE_TOL)), Verdict::Missing);
    }

    #[test]
    fn overhead_line_reads_the_testbed_key() {
        let real = json!({ "testbed": { "overhead": {
            "loopback_rtt_s": { "p50": 0.0001, "p99": 0.0004, "probes": 1000 },
            "timer_lateness_s": 0.0011, "timer_residual_s": 0.0002, "generator_lateness_s": 0.00005,
        }}});
        let line = render_overhead(&real);
        assert!(line.contains("p50 0.100 ms, p99 0.400 ms (1000 probes)"), "{line}");
        assert!(line.contains("late by 1.100 ms before correction, 0.200 ms residual"), "{line}");
        assert!(render_overhead(&json!({})).contains("no `testbed.overhead`"));
    }

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        assert_eq!(pointer(&["edges", "a->b/c~d", "calls"]), "/edges/a->b~1c~0d/calls");
    }
}
