//! The short human summary printed after a run: a table per workload and per service.

use std::fmt::Write;

use super::{Percentiles, Report, Statistic};
use crate::engine::SimTime;
use crate::engine::format::format_duration;

/// Formats seconds with a unit that keeps 3 significant digits readable.
pub fn fmt_secs(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    let a = s.abs();
    if a >= 60.0 {
        format!("{:.1}m", s / 60.0)
    } else if a >= 1.0 {
        format!("{s:.3}s")
    } else if a >= 1e-3 {
        format!("{:.2}ms", s * 1e3)
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{:.1}us", s * 1e6)
    }
}

/// A count or rate to 3 decimals below 100, fewer above.
pub(super) fn num(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x.abs() >= 1e5 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() { format!("{:.3}%", x * 100.0) } else { "-".into() }
}

/// A share that may run far above 100%, to 0.1%.
fn share(x: f64) -> String {
    if x.is_finite() { format!("{:.1}%", x * 100.0) } else { "-".into() }
}

/// `s` with its 95% CI half-width when it has one.
pub(super) fn pm(s: &Statistic, f: fn(f64) -> String) -> String {
    match s.half_width() {
        Some(h) if h > 0.0 => format!("{} ±{}", f(s.value()), f(h)),
        _ => f(s.value()),
    }
}

/// The mark after a percentile listed in its `sparse_tail`.
const SPARSE_MARK: &str = "†";

/// `cell`, the percentile `key` of `p`, marked when its tail is sparse (and it has a value).
fn tail(p: &Percentiles, key: &str, cell: String) -> String {
    if p.sparse_tail.contains(&key) && cell != "-" { format!("{cell}{SPARSE_MARK}") } else { cell }
}

/// Renders rows as a left-aligned first column and right-aligned others.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c == 0 {
                let _ = write!(line, "  {cell:<w$}", w = widths[0]);
            } else {
                let _ = write!(line, "  {cell:>w$}", w = widths[c]);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// A titled table of the summary: the header row first.
#[derive(Clone, Debug)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// Rows of cells; the first is the header.
    pub rows: Vec<Vec<String>>,
}

/// The one-line description of the run.
pub fn headline(report: &Report) -> String {
    format!(
        "{} · seed {} · {} replication{} × {} (warm-up {})",
        report.scenario,
        report.seed,
        report.replications,
        if report.replications == 1 { "" } else { "s" },
        format_duration(SimTime::from_secs_f64(report.duration_s)),
        format_duration(SimTime::from_secs_f64(report.warmup_s)),
    )
}

/// The terminal summary of `report`.
pub fn render_summary(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(report));
    let sections = sections(report);
    for section in &sections {
        let _ = writeln!(out, "\n{}", section.title);
        table(&mut out, &section.rows);
    }
    if sections.iter().flat_map(|s| s.rows.iter().flatten()).any(|c| c.ends_with(SPARSE_MARK)) {
        let _ = writeln!(
            out,
            "\n{SPARSE_MARK} fewer than 10 samples above this percentile once their clustering is counted: \
             its interval means little; run more or longer replications"
        );
    }
    if !report.events.is_empty() {
        let _ = writeln!(out, "\nRecovery events (replication 0)");
        for e in report.events.iter().take(12) {
            let t = e["t"].as_f64().unwrap_or_default();
            let what = e["type"].as_str().unwrap_or_default();
            let svc = e["service"].as_str().unwrap_or_default();
            let detail = match what {
                "failover" => format!("{svc}: #{} -> #{}", e["from"], e["to"]),
                "degradation" => format!(
                    "{svc}: {} -> {}",
                    e["from"].as_str().unwrap_or_default(),
                    e["to"].as_str().unwrap_or_default()
                ),
                _ => format!("{svc}#{}", e["instance"]),
            };
            let _ = writeln!(out, "  {:>9}  {what:<10} {detail}", fmt_secs(t));
        }
        if report.events.len() > 12 {
            let _ = writeln!(out, "  ... {} more in events.jsonl", report.events.len() - 12);
        }
    }
    out
}

/// The summary's tables, in reading order: SLOs, workloads, services, autoscaling,
/// calls, faults, blast radius.
pub fn sections(report: &Report) -> Vec<Section> {
    let mut out = Vec::new();
    if !report.slos.is_empty() {
        out.push(slo_section(&report.slos));
    }
    if !report.workloads.is_empty() {
        let mut rows = vec![
            ["workload", "requests", "availability", "degraded", "rejected", "error", "p50", "p99", "p99.9"]
                .map(String::from)
                .to_vec(),
        ];
        for (name, w) in &report.workloads {
            rows.push(vec![
                name.clone(),
                num(w.requests.value()),
                pm(&w.availability, pct),
                num(w.degraded.value()),
                num(w.rejected.value()),
                num(w.error.value()),
                tail(&w.latency_s, "p50", fmt_secs(w.latency_s.p50.value())),
                tail(&w.latency_s, "p99", pm(&w.latency_s.p99, fmt_secs)),
                tail(&w.latency_s, "p999", fmt_secs(w.latency_s.p999.value())),
            ]);
        }
        out.push(Section { title: "Workloads (mean ± 95% CI half-width over replications)".into(), rows });
    }
    let mut rows = vec![
        ["service", "inst×c/K", "throughput/s", "blocking", "util", "L", "Lq", "W", "Wq", "p99"]
            .map(String::from)
            .to_vec(),
    ];
    for (name, s) in &report.services {
        let k = s.capacity.map_or("∞".to_string(), |k| k.to_string());
        rows.push(vec![
            name.clone(),
            format!("{}×{}/{k}", s.instances, s.servers),
            pm(&s.throughput_per_s, num),
            pct(s.blocking_probability.value()),
            pct(s.utilization.value()),
            num(s.mean_in_system.value()),
            num(s.mean_queue_length.value()),
            pm(&s.mean_sojourn_s, fmt_secs),
            fmt_secs(s.mean_wait_s.value()),
            tail(&s.latency_s, "p99", fmt_secs(s.latency_s.p99.value())),
        ]);
    }
    out.push(Section { title: "Services".into(), rows });
    out.extend(cache_section(report));
    out.extend(super::mqueue::queue_section(report));
    out.extend(super::autoscale::section(report));
    if !report.edges.is_empty() {
        let mut rows = vec![
            ["edge", "calls", "retries", "ok", "degraded", "error", "timeout", "rejected", "short_circuited"]
                .map(String::from)
                .to_vec(),
        ];
        for (name, e) in &report.edges {
            let o = |k: &str| e.outcomes.get(k).map_or("-".into(), |s| num(s.value()));
            rows.push(vec![
                name.clone(),
                num(e.calls.value()),
                num(e.retries.value()),
                o("ok"),
                o("degraded"),
                o("error"),
                o("timeout"),
                o("rejected"),
                o("short_circuited"),
            ]);
        }
        out.push(Section { title: "Calls".into(), rows });
    }
    out.extend(super::others::section(report.others.as_ref()));
    if !report.faults.is_empty() {
        let mut rows = vec![["fault", "kind", "target", "window", "active", "injected"].map(String::from).to_vec()];
        for f in &report.faults {
            let window = f.window_s.map_or("random".to_string(), |[a, b]| format!("{}–{}", fmt_secs(a), fmt_secs(b)));
            rows.push(vec![
                f.name.clone(),
                f.kind.to_string(),
                f.target.clone(),
                window,
                fmt_secs(f.active_s.value()),
                num(f.injected.value()),
            ]);
        }
        out.push(Section { title: "Faults".into(), rows });
    }
    if !report.blast_radius.is_empty() {
        out.push(blast_section(&report.blast_radius));
    }
    out
}

/// One line per cached service: hit ratio, misses per second, coalesced misses.
fn cache_section(report: &Report) -> Option<Section> {
    let mut rows = vec![["cache", "hit ratio", "misses/s", "coalesced", "bypassed"].map(String::from).to_vec()];
    for (name, s) in &report.services {
        let Some(c) = &s.cache else { continue };
        rows.push(vec![
            name.clone(),
            pm(&c.hit_ratio, pct),
            pm(&c.misses_per_s, num),
            num(c.coalesced.value()),
            num(c.bypassed.value()),
        ]);
    }
    (rows.len() > 1).then(|| Section { title: "Caches".into(), rows })
}

/// One line per fault: who was hurt, how much, whether it spread, how fast it healed.
fn blast_section(blasts: &[super::BlastRadiusReport]) -> Section {
    let mut rows =
        vec![["fault", "users hurt", "extra failed", "extra slow", "spread to", "recovery"].map(String::from).to_vec()];
    for b in blasts {
        let hurt: Vec<String> =
            b.affected_workloads.iter().map(|w| format!("{w} +{}", share(b.workloads[w].sli_change.value()))).collect();
        let sum = |f: &dyn Fn(&super::Damage) -> f64| b.workloads.values().map(f).sum::<f64>();
        let spread = if b.contained { "contained".to_string() } else { b.spread_to.join(", ") };
        let recovery = match (b.metastable, b.recovered, b.time_to_recover_s) {
            (true, _, _) => "NOT RECOVERED (metastable)".to_string(),
            (_, Some(true), Some(0.0)) => "with the fault".to_string(),
            (_, Some(true), Some(t)) => format!("{} after its end", fmt_secs(t)),
            _ => "not judged".to_string(),
        };
        let recovery = match b.replications_not_recovered {
            Some(k) if k > 0 && !b.metastable => {
                format!("{recovery}; {k} replication{} stuck", if k == 1 { "" } else { "s" })
            }
            _ => recovery,
        };
        rows.push(vec![
            b.fault.clone(),
            if hurt.is_empty() { "none".to_string() } else { hurt.join(", ") },
            num(sum(&|d| d.extra_failed.value())),
            num(sum(&|d| d.extra_slowed.value())),
            spread,
            recovery,
        ]);
    }
    Section { title: "Blast radius (against a run without the fault, same random streams)".into(), rows }
}

/// One line per SLO: verdict, SLI against the objective, budget used, peak burn rate and
/// replication 0's alerts.
fn slo_section(slos: &[super::SloReport]) -> Section {
    let breached = slos.iter().filter(|s| !s.met).count();
    let title = format!("SLOs: {breached} of {} breached (budget = (1 − objective) × valid requests)", slos.len());
    let mut rows = vec![
        ["slo", "on", "verdict", "sli", "objective", "budget used", "peak burn", "alerts (replication 0)"]
            .map(String::from)
            .to_vec(),
    ];
    for s in slos {
        let on = s.workload.as_deref().or(s.service.as_deref()).unwrap_or_default();
        let objective = match s.threshold_s {
            Some(t) => format!("{} ≤{}", pct(s.objective), format_duration(SimTime::from_secs_f64(t))),
            None => pct(s.objective),
        };
        let alerts = match s.alerts.first() {
            None => "none".to_string(),
            Some(a) => {
                let first = match (&a.fault, a.detection_delay_s) {
                    (Some(f), Some(d)) => format!("{} {}× +{} after {f}", a.severity, a.burn_rate, fmt_secs(d)),
                    _ => format!("{} {}× at {}", a.severity, a.burn_rate, fmt_secs(a.fired_at_s)),
                };
                format!("{}: first {first}", s.alerts.len())
            }
        };
        rows.push(vec![
            s.name.clone(),
            on.to_string(),
            if s.met { "met" } else { "BREACHED" }.to_string(),
            pm(&s.sli, pct),
            objective,
            share(s.budget_consumed_fraction.value()),
            format!("{:.1}×", s.burn_rate_peak.value()),
            alerts,
        ]);
    }
    Section { title, rows }
}
