//! `report.html`: one self-contained page (inline CSS and SVG, no network).
//! The verdict comes first: which SLOs held, how much budget the run burned, how far each
//! fault's damage spread and how fast the system recovered; then, for a model with more
//! services than the report's `top`, the service graph (its only script: pan, zoom and
//! search); then the charts, then the same tables as the terminal summary.

use std::fmt::Write;

use super::charts::{Chart, service_graph_view};
use super::text::{fmt_secs, headline, sections};
use super::{BlastRadiusReport, Report};

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The stylesheet every resim page shares (report.html, calibrate.html).
pub(crate) const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto; max-width: 1000px;
       padding: 24px; color: #282828; background: #fafafa; }
h1 { margin: 0 0 4px; font-size: 28px; }
h2 { margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; margin: 0; }
.verdict { border-radius: 8px; padding: 16px 20px; margin-top: 20px; border: 1px solid; }
.verdict.ok { background: #e8f5e9; border-color: #2e7d32; }
.verdict.bad { background: #ffebee; border-color: #c62828; }
.verdict.none { background: #f1f1f1; border-color: #999; }
.verdict .big { font-size: 22px; font-weight: 600; margin: 0 0 8px; }
.verdict ul { margin: 8px 0 0; padding-left: 20px; }
figure { margin: 20px 0; background: white; border: 1px solid #e3e3e3; border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; margin: 0 0 6px 4px; }
figure svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: 8px 0 20px; background: white; font-size: 13px; display: block;
        overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #e0e0e0; padding: 4px 8px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.breached { color: #c62828; font-weight: 600; }
nav a { margin-right: 12px; }
footer { margin-top: 40px; color: #888; font-size: 12px; }
";

/// One line per fault for the verdict.
fn fault_line(b: &BlastRadiusReport) -> String {
    let hurt: Vec<String> = b
        .affected_workloads
        .iter()
        .map(|w| format!("{} (+{:.1} pp bad)", esc(w), b.workloads[w].sli_change.value() * 100.0))
        .collect();
    let mut hurt = if hurt.is_empty() { "no users hurt".to_string() } else { format!("hurt {}", hurt.join(", ")) };
    let degraded: Vec<String> = b
        .workloads
        .iter()
        .filter(|(_, d)| d.extra_degraded.value() >= 0.5)
        .map(|(w, d)| format!("{:.0} to {}", d.extra_degraded.value(), esc(w)))
        .collect();
    if !degraded.is_empty() {
        hurt.push_str(&format!(" (extra degraded answers: {})", degraded.join(", ")));
    }
    let spread = if b.contained {
        "stayed inside its targets".to_string()
    } else {
        format!("spread to {}", esc(&b.spread_to.join(", ")))
    };
    let recovery = match (b.metastable, b.recovered, b.time_to_recover_s) {
        (true, _, _) => "<span class=\"breached\">did not recover (metastable)</span>".to_string(),
        (_, Some(true), Some(0.0)) => "recovered as it ended".to_string(),
        (_, Some(true), Some(t)) => format!("recovered {} after it ended", fmt_secs(t)),
        _ => "recovery not judged".to_string(),
    };
    let recovery = match b.replications_not_recovered {
        Some(k) if k > 0 && !b.metastable => {
            format!("{recovery}, but <span class=\"breached\">{k} replication(s) never recovered</span>")
        }
        _ => recovery,
    };
    format!("<li><b>{}</b> ({} on {}): {hurt}; {spread}; {recovery}.</li>", esc(&b.fault), b.kind, esc(&b.target))
}

/// Workloads named in the verdict of a run without SLOs (more are a wall of text).
const VERDICT_WORKLOADS: usize = 8;

/// The verdict box.
fn verdict(report: &Report, out: &mut String) {
    let breached: Vec<&str> = report.slos.iter().filter(|s| !s.met).map(|s| s.name.as_str()).collect();
    let (class, big) = match (report.slos.len(), breached.len()) {
        (0, _) => {
            let mut w: Vec<String> = report
                .workloads
                .iter()
                .take(VERDICT_WORKLOADS)
                .map(|(n, w)| {
                    format!(
                        "{} {:.3}% available, p99 {}",
                        esc(n),
                        w.availability.value() * 100.0,
                        fmt_secs(w.latency_s.p99.value())
                    )
                })
                .collect();
            let more = report.workloads.len().saturating_sub(VERDICT_WORKLOADS);
            if more > 0 {
                w.push(format!("{more} more workloads in the tables"));
            }
            ("none", format!("No SLOs set · {}", w.join(" · ")))
        }
        (n, 0) => ("ok", format!("All {n} SLOs held")),
        (n, k) => ("bad", format!("{k} of {n} SLOs breached: {}", esc(&breached.join(", ")))),
    };
    let _ = write!(out, "<section class=\"verdict {class}\"><p class=\"big\">{big}</p><ul>");
    for s in &report.slos {
        let _ = write!(
            out,
            "<li>{}<b>{}</b>{}: SLI {:.3}% against {:.3}%, {:.1}% of the run's error budget used, peak burn {:.1}×{}</li>",
            if s.met { "" } else { "<span class=\"breached\">" },
            esc(&s.name),
            if s.met { "" } else { "</span>" },
            s.sli.value() * 100.0,
            s.objective * 100.0,
            s.budget_consumed_fraction.value() * 100.0,
            s.burn_rate_peak.value(),
            match s.alerts.first() {
                Some(a) => format!(", paged at {} ({} alerts)", fmt_secs(a.fired_at_s), s.alerts.len()),
                None => String::new(),
            },
        );
    }
    for b in &report.blast_radius {
        out.push_str(&fault_line(b));
    }
    out.push_str("</ul></section>");
}

/// The SVG element of a chart, without any XML prologue.
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

/// The whole page.
pub fn render_html(report: &Report, charts: &[Chart]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>resim · {}</title><style>{STYLE}</style></head><body>\
         <header><h1>{}</h1><p class=\"meta\">{}</p></header>",
        esc(&report.scenario),
        esc(&report.scenario),
        esc(&headline(report)),
    );
    verdict(report, &mut out);
    if let Some(g) = &report.service_graph {
        let _ = write!(
            out,
            "<h2>Service graph</h2><p class=\"meta\">{} services in layers by call depth, left to right, and \
             their calls; a black ring marks the {} in the tables below. Hover a service for its numbers, click \
             or search it to draw its calls; scroll to zoom, drag to pan.</p>{}",
            g.services.len(),
            g.kept.iter().filter(|&&k| k).count(),
            service_graph_view(g)
        );
    }
    if !charts.is_empty() {
        out.push_str("<h2>Charts</h2><nav>");
        for c in charts {
            let _ = write!(out, "<a href=\"#{}\">{}</a>", esc(&c.file), esc(&c.title));
        }
        out.push_str("</nav>");
        for c in charts {
            let _ = write!(
                out,
                "<figure id=\"{}\"><figcaption>{}</figcaption>{}</figure>",
                esc(&c.file),
                esc(&c.title),
                inline_svg(&c.svg)
            );
        }
    }
    out.push_str("<h2>Tables</h2>");
    for s in sections(report) {
        let _ = write!(out, "<h3>{}</h3><table>", esc(&s.title));
        for (i, row) in s.rows.iter().enumerate() {
            out.push_str("<tr>");
            for cell in row {
                let tag = if i == 0 { "th" } else { "td" };
                let class = if cell == "BREACHED" { " class=\"breached\"" } else { "" };
                let _ = write!(out, "<{tag}{class}>{}</{tag}>", esc(cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
    }
    let _ = writeln!(
        out,
        "<footer>resim {} · schema {} · the same results are in report.json, timeseries.csv and events.jsonl \
         beside this page</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        report.schema
    );
    out
}
