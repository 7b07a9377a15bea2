//! `compare.html`: one self-contained page (inline CSS and SVG, no scripts, no network):
//! the verdict, bar charts of A against B with 95% CI whiskers for each workload's
//! availability and p99 latency, then the tables of [`super::render`].

use std::fmt::Write as _;

use super::render::{HEADER, amount, cells, check_lines, provenance, sections};
use super::snapshot::{MetricValue, Section, Unit};
use super::{Comparison, Failure, Row, TEST_NAME};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:75em}\
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td:first-child{text-align:left}tr.worse td{background:#fde8e8}tr.better td{background:#e6f4ea}\
.verdict{font-size:1.2em;font-weight:600}.warn{color:#8a5a00}.fail{color:#b00020;font-weight:600}\
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{font-size:.9em;text-align:center}";

/// Bar colours of A and B.
const COLOURS: [&str; 2] = ["#7f8c9a", "#e67e22"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `compare.html`.
pub fn render_html(c: &Comparison, checks: Option<&[Failure]>) -> String {
    let title = format!("resim compare: {} vs {}", c.a.scenario, c.b.scenario);
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>resim compare</h1>\n",
        esc(&title)
    );
    s += "<table>\n<tr><th></th><th>A (baseline)</th><th>B (candidate)</th></tr>\n";
    for [name, a, b] in provenance(c) {
        let _ = writeln!(s, "<tr><td>{name}</td><td>{}</td><td>{}</td></tr>", esc(&a), esc(&b));
    }
    let _ = writeln!(
        s,
        "</table>\n<p class=\"verdict\">Verdict: {}</p>\n<p>Significance: {}.</p>",
        esc(&c.verdict()),
        esc(TEST_NAME)
    );
    for w in &c.warnings {
        let _ = writeln!(s, "<p class=\"warn\">Warning: {}</p>", esc(w));
    }
    for l in check_lines(checks) {
        let class = if l.contains("FAILED") { "fail" } else { "ok" };
        let _ = writeln!(s, "<p class=\"{class}\">{}</p>", esc(&l));
    }
    charts(&mut s, c);
    for (section, rows) in sections(c) {
        let _ = writeln!(
            s,
            "<h2>{}</h2>\n<table>\n<tr>{}</tr>",
            section.title(),
            HEADER.map(|h| format!("<th>{h}</th>")).concat()
        );
        for r in rows {
            let class = if r.regressed() {
                " class=\"worse\""
            } else if r.improved() {
                " class=\"better\""
            } else {
                ""
            };
            let tds = cells(r).map(|c| format!("<td>{}</td>", esc(&c))).concat();
            let _ = writeln!(s, "<tr{class}>{tds}</tr>");
        }
        s += "</table>\n";
    }
    s += "</body>\n</html>\n";
    s
}

/// Availability and p99 latency of every workload, A beside B.
fn charts(s: &mut String, c: &Comparison) {
    let pick = |r: &Row, name: &str| r.section == Section::Workloads && r.name == name;
    let rows: Vec<&Row> = c.rows.iter().filter(|r| pick(r, "availability") || pick(r, "latency p99")).collect();
    if rows.is_empty() {
        return;
    }
    s.push_str("<h2>Workloads: A vs B (95% CI whiskers)</h2>\n<div class=\"charts\">\n");
    for r in rows {
        let stat = |v: Option<MetricValue>| match v {
            Some(MetricValue::Stat(st)) => st.mean.map(|m| (m, st.half.unwrap_or(0.0))),
            _ => None,
        };
        // Availabilities sit near 1: zoom on them (the axis is labelled) or every bar looks full.
        let zoom = r.name == "availability";
        let svg = bar_chart(r.unit, [stat(r.a), stat(r.b)], zoom);
        let _ = writeln!(s, "<figure>{svg}<figcaption>{}</figcaption></figure>", esc(&r.label()));
    }
    s.push_str("</div>\n");
}

/// Two bars (A, B) with whiskers over their CI; `zoom` starts the axis near the data
/// instead of at 0.
fn bar_chart(unit: Unit, sides: [Option<(f64, f64)>; 2], zoom: bool) -> String {
    const W: f64 = 260.0;
    const H: f64 = 170.0;
    const LEFT: f64 = 72.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 22.0;
    let present: Vec<(f64, f64)> = sides.iter().flatten().copied().collect();
    let lo = present.iter().map(|(m, h)| m - h).fold(f64::INFINITY, f64::min);
    let hi = present.iter().map(|(m, h)| m + h).fold(f64::NEG_INFINITY, f64::max);
    let (mut dmin, mut dmax) = if present.is_empty() { (0.0, 1.0) } else { (lo, hi) };
    if zoom {
        let span = if dmax > dmin { dmax - dmin } else { dmax.abs().max(1e-6) * 0.01 };
        dmin = (dmin - span).max(0.0);
        dmax += span * 0.25;
    } else {
        dmin = 0.0;
        dmax = if dmax > 0.0 { dmax * 1.15 } else { 1.0 };
    }
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - ((v - dmin) / (dmax - dmin)).clamp(0.0, 1.0));
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-size=\"10\" font-family=\"sans-serif\">"
    );
    let base = y(dmin);
    let _ = write!(s, "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base}\" stroke=\"#555\"/>");
    let _ = write!(s, "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{W}\" y2=\"{base}\" stroke=\"#555\"/>");
    for v in [dmin, (dmin + dmax) / 2.0, dmax] {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 4.0,
            y(v) + 3.0,
            esc(&amount(unit, v))
        );
    }
    let slot = (W - LEFT) / 2.0;
    for (i, (side, colour)) in sides.iter().zip(COLOURS).enumerate() {
        let cx = LEFT + slot * (i as f64 + 0.5);
        let name = ["A", "B"][i];
        let _ = write!(s, "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{name}</text>", H - 6.0);
        let Some((m, h)) = *side else {
            let _ = write!(s, "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no data</text>", base - 6.0);
            continue;
        };
        let (top, bw) = (y(m), slot * 0.5);
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{name}: {}</title></rect>",
            cx - bw / 2.0,
            (base - top).max(0.0),
            esc(&amount(unit, m))
        );
        if h > 0.0 {
            let (y0, y1) = (y(m - h), y(m + h));
            let _ = write!(
                s,
                "<path d=\"M{cx:.1} {y0:.1}V{y1:.1}M{:.1} {y0:.1}h12M{:.1} {y1:.1}h12\" stroke=\"#222\" fill=\"none\"/>",
                cx - 6.0,
                cx - 6.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y(m + h) - 4.0,
            esc(&amount(unit, m))
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_small_wellformed_svg() {
        let svg = bar_chart(Unit::Seconds, [Some((0.1, 0.01)), Some((0.2, 0.0))], false);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert_eq!(svg.matches("<path").count(), 1, "a zero-width interval has no whisker");
        let missing = bar_chart(Unit::Ratio, [None, Some((0.999, 0.001))], true);
        assert!(missing.contains("no data"));
    }
}
