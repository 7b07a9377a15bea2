//! The SLI queries and durations of the exported Prometheus rules: an SLO's own
//! `prometheus: { error_query, total_query }` (Sloth's `events` SLI, `{{.window}}` standing
//! for the range), or queries on the metric names below, which an application
//! instrumented to match what resim simulates would expose.
//!
//! Metric names (counters and histograms in the Prometheus conventions; `outcome` is one of
//! resim's outcomes: `ok`, `degraded`, `error`, `timeout`, `rejected`, `short_circuited`):
//!
//! | metric | type | labels | counts |
//! |---|---|---|---|
//! | `resim_workload_requests_total` | counter | `workload`, `outcome` | a workload's finished requests |
//! | `resim_workload_request_duration_seconds` | histogram | `workload`, `outcome`, `le` | their end-to-end latency |
//! | `resim_service_requests_total` | counter | `service`, `outcome` | requests finished at a service |
//! | `resim_service_request_duration_seconds` | histogram | `service`, `outcome`, `le` | their latency there |
//!
//! An availability SLO's errors are the finished requests whose outcome is not `good`
//! (default `ok` and `degraded`) among all finished ones; a latency SLO's errors are the
//! served (`ok` or `degraded`) requests above the threshold, the histogram's count minus
//! its bucket `le` = the threshold in seconds (a bucket must sit exactly there, as resim's
//! "a request taking exactly the threshold is good" is Prometheus's `le`).

use crate::engine::SimTime;
use crate::metrics::Outcome;
use crate::model::{Slo, SloKind, SloTarget};

/// What Sloth's templates call the range: replaced by each window.
const WINDOW_VARS: [&str; 2] = ["{{.window}}", "{{ .window }}"];

/// An SLI as the two queries of Sloth's `events` form, with `{{.window}}` for the range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQueries {
    /// The rate of bad events.
    pub error: String,
    /// The rate of all valid events.
    pub total: String,
}

impl EventQueries {
    /// Whether both queries name the range (`{{.window}}`): without it every window's
    /// recording would query the same range.
    pub fn has_window(query: &str) -> bool {
        WINDOW_VARS.iter().any(|v| query.contains(v))
    }

    /// The error ratio over `window` (a Prometheus duration), as Sloth records it:
    /// `(error)\n/\n(total)`.
    pub fn ratio(&self, window: &str) -> String {
        let fill = |q: &str| WINDOW_VARS.iter().fold(q.trim().to_owned(), |q, v| q.replace(v, window));
        format!("({})\n/\n({})", fill(&self.error), fill(&self.total))
    }
}

/// A string as a PromQL double-quoted literal (label values).
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The default queries of `slo` (on `target`, the workload's or service's name) on
/// resim's metric names.
pub fn default_queries(slo: &Slo, target: &str) -> EventQueries {
    let (label, prefix) = match slo.target {
        SloTarget::Workload(_) => ("workload", "resim_workload"),
        SloTarget::Service(_) => ("service", "resim_service"),
    };
    let on = format!("{label}={}", quoted(target));
    let rate = |metric: &str, filter: &str| format!("sum(rate({prefix}_{metric}{{{on}{filter}}}[{{{{.window}}}}]))");
    match slo.kind {
        SloKind::Availability { good } => {
            let good: Vec<&str> = Outcome::ALL.iter().filter(|&&o| good[o as usize]).map(|o| o.key()).collect();
            let bad = format!(",outcome!~\"{}\"", good.join("|"));
            EventQueries { error: rate("requests_total", &bad), total: rate("requests_total", "") }
        }
        SloKind::Latency { threshold, .. } => {
            let served = ",outcome=~\"ok|degraded\"";
            let total = rate("request_duration_seconds_count", served);
            let within =
                rate("request_duration_seconds_bucket", &format!("{served},le=\"{}\"", threshold.as_secs_f64()));
            EventQueries { error: format!("{total} - {within}"), total }
        }
    }
}

/// A Prometheus duration with Sloth's units (`5m`, `1h`, `1d`, `30d`, `1d12h`; no weeks
/// or years), or None when `t` is not a whole number of milliseconds (Prometheus's
/// finest unit) or is zero.
pub fn prom_duration(t: SimTime) -> Option<String> {
    const MS: u64 = 1_000_000;
    if t == SimTime::ZERO || !t.0.is_multiple_of(MS) {
        return None;
    }
    let mut ms = t.0 / MS;
    let mut out = String::new();
    for (unit, len) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= len {
            out.push_str(&format!("{}{unit}", ms / len));
            ms %= len;
        }
    }
    Some(out)
}

/// An objective as Sloth's percentage text (`0.999` gives `99.9`), shifting the decimal
/// point of its shortest form so no rounding shows (`0.29 × 100` is `28.999999999999996`).
pub fn percent_text(objective: f64) -> String {
    let text = format!("{objective}");
    match text.strip_prefix("0.") {
        Some(frac) if frac.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{frac:0<2}");
            let (int, rest) = padded.split_at(2);
            let int = int.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            if rest.is_empty() { int.to_owned() } else { format!("{int}.{rest}") }
        }
        _ => format!("{}", objective * 100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(kind: SloKind, target: SloTarget) -> Slo {
        Slo { name: "x".into(), target, kind, objective: 0.999, period: SimTime(30 * 86_400 * 1_000_000_000) }
    }

    #[test]
    fn durations_use_sloths_units() {
        let s = |x: u64| SimTime(x * 1_000_000_000);
        assert_eq!(prom_duration(s(300)).as_deref(), Some("5m"));
        assert_eq!(prom_duration(s(3600)).as_deref(), Some("1h"));
        assert_eq!(prom_duration(s(86_400)).as_deref(), Some("1d"));
        assert_eq!(prom_duration(s(30 * 86_400)).as_deref(), Some("30d"));
        assert_eq!(prom_duration(s(36 * 3600 + 90)).as_deref(), Some("1d12h1m30s"));
        assert_eq!(prom_duration(SimTime(1_500_000_000)).as_deref(), Some("1s500ms"));
        assert_eq!(prom_duration(SimTime(1_500_000)), None);
        assert_eq!(prom_duration(SimTime::ZERO), None);
    }

    #[test]
    fn percentages_shift_the_decimal_point() {
        assert_eq!(percent_text(0.999), "99.9");
        assert_eq!(percent_text(0.99), "99");
        assert_eq!(percent_text(0.5), "50");
        assert_eq!(percent_text(0.29), "29");
        assert_eq!(percent_text(0.9995), "99.95");
        assert_eq!(percent_text(0.05), "5");
        assert_eq!(percent_text(0.001), "0.1");
    }

    #[test]
    fn default_queries_name_resims_metrics() {
        let mut good = [false; 6];
        good[Outcome::Ok as usize] = true;
        let q = default_queries(&slo(SloKind::Availability { good }, SloTarget::Workload(0)), "users");
        assert_eq!(q.error, r#"sum(rate(resim_workload_requests_total{workload="users",outcome!~"ok"}[{{.window}}]))"#);
        assert_eq!(q.total, r#"sum(rate(resim_workload_requests_total{workload="users"}[{{.window}}]))"#);
        let lat = SloKind::Latency { threshold: SimTime(300_000_000), index: 0 };
        let q = default_queries(&slo(lat, SloTarget::Service(0)), "a\"b");
        let count = r#"sum(rate(resim_service_request_duration_seconds_count{service="a\"b",outcome=~"ok|degraded"}[{{.window}}]))"#;
        assert_eq!(q.total, count);
        assert!(q.error.starts_with(&format!("{count} - ")));
        assert!(q.error.ends_with(r#"_bucket{service="a\"b",outcome=~"ok|degraded",le="0.3"}[{{.window}}]))"#));
        let ratio = EventQueries { error: "e[{{.window}}]".into(), total: " t[{{ .window }}]\n".into() }.ratio("1h");
        assert_eq!(ratio, "(e[1h])\n/\n(t[1h])");
        assert!(EventQueries::has_window(&q.error) && !EventQueries::has_window("sum(rate(x[5m]))"));
    }
}
