//! Charts over simulated time: latency percentiles, outcome rates, SLO burn, services'
//! gauges and breaker states, each with the fault windows shaded.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::{
    Area, DEGRADED, FAILED, FAULT_BAND, GRID, INK, Key, OK, PANEL, SERIES, Swatch, captioned, fault_bands,
    series_color, svg,
};
use crate::report::{Report, SloReport, TimelineReport};

/// A polyline; `None` points break it.
pub(super) struct Line {
    pub(super) name: String,
    pub(super) color: RGBColor,
    pub(super) points: Vec<(f64, Option<f64>)>,
}

/// A horizontal reference line.
pub(super) struct HLine {
    y: f64,
    label: String,
    color: RGBColor,
}

/// The time axis: seconds or minutes, whichever reads better for the run's length.
struct TimeAxis {
    scale: f64,
    unit: &'static str,
    max: f64,
}

impl TimeAxis {
    fn of(report: &Report) -> Self {
        let (scale, unit) = if report.duration_s > 1200.0 { (60.0, "min") } else { (1.0, "s") };
        TimeAxis { scale, unit, max: report.duration_s / scale }
    }
    fn x(&self, seconds: f64) -> f64 {
        seconds / self.scale
    }
    fn desc(&self) -> String {
        format!("time since the end of the warm-up ({})", self.unit)
    }
}

/// The middle of each window, seconds.
pub(super) fn mids(window: f64, n: usize, duration: f64) -> Vec<f64> {
    (0..n).map(|i| ((i as f64 + 0.5) * window).min(duration)).collect()
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draws one panel: lines over time on `y`, fault bands, reference lines, a legend.
#[allow(clippy::too_many_arguments)]
pub(super) fn panel<Y>(
    area: &Area,
    report: &Report,
    caption: &str,
    y_desc: &str,
    (y, yr): (Y, std::ops::Range<f64>),
    y_fmt: &dyn Fn(&f64) -> String,
    lines: &[Line],
    hlines: &[HLine],
) -> Result<(), String>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let t = TimeAxis::of(report);
    let keys: Vec<Key> = hlines
        .iter()
        .map(|h| Key { name: h.label.clone(), swatch: Swatch::Line(h.color, 1) })
        .chain(lines.iter().map(|l| Key { name: l.name.clone(), swatch: Swatch::Line(l.color, 3) }))
        .collect();
    let plot = captioned(area, caption, &keys)?;
    let mut chart = ChartBuilder::on(&plot)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t.max.max(1e-9), y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(GRID)
        .x_desc(t.desc())
        .x_label_formatter(&short_num)
        .y_desc(y_desc)
        .y_label_formatter(y_fmt)
        .axis_desc_style(("sans-serif", 14))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    for band in fault_bands(report) {
        let (a, b) = (t.x(band.start), t.x(band.end));
        chart
            .draw_series(std::iter::once(Rectangle::new([(a, yr.start), (b, yr.end)], FAULT_BAND.mix(0.3).filled())))
            .map_err(err)?;
        if let Some(name) = band.label {
            let label = Text::new(
                name.to_owned(),
                (3, 2 + 14 * band.line as i32),
                ("sans-serif", 12).into_font().color(&FAILED),
            );
            chart.draw_series(std::iter::once(EmptyElement::at((a, yr.end)) + label)).map_err(err)?;
        }
    }
    for h in hlines {
        let color = h.color;
        chart.draw_series(LineSeries::new([(0.0, h.y), (t.max, h.y)], color.stroke_width(1))).map_err(err)?;
    }
    for line in lines {
        let color = line.color;
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(x, v) in &line.points {
            match v {
                Some(v) => segments.last_mut().map(|s| s.push((t.x(x), v))).unwrap_or_default(),
                None if segments.last().is_some_and(|s| !s.is_empty()) => segments.push(Vec::new()),
                None => {}
            }
        }
        for seg in segments.into_iter().filter(|s| !s.is_empty()) {
            chart.draw_series(LineSeries::new(seg, color.stroke_width(2))).map_err(err)?;
        }
    }
    Ok(())
}

/// A number with at most three significant digits and no trailing zeros.
pub(crate) fn short_num(v: &f64) -> String {
    let v = *v;
    let digits = if v == 0.0 { 0 } else { (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize };
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

pub(crate) fn fmt_latency(s: &f64) -> String {
    let s = *s;
    if s >= 1.0 {
        format!("{}s", short_num(&s))
    } else if s >= 1e-3 {
        format!("{}ms", short_num(&(s * 1e3)))
    } else {
        format!("{}µs", short_num(&(s * 1e6)))
    }
}

/// Upper and lower bounds of a log axis holding `values` (with some air).
fn log_bounds(values: impl Iterator<Item = f64>, floor: f64) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite() && *v > 0.0).fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
    if hi <= 0.0 { (floor, floor * 10.0) } else { ((lo / 1.5).max(floor), hi * 1.5) }
}

/// Latency percentiles per window, log scale.
pub(super) fn latency(report: &Report, name: &str, t: &TimelineReport) -> Result<String, String> {
    let x = mids(t.window_s, t.requests.len(), report.duration_s);
    let line = |label: &str, color: RGBColor, v: &[Option<f64>]| Line {
        name: label.to_string(),
        color,
        points: x.iter().copied().zip(v.iter().copied()).collect(),
    };
    let lines = [line("p50", SERIES[0], &t.p50_s), line("p90", SERIES[4], &t.p90_s), line("p99", FAILED, &t.p99_s)];
    let (lo, hi) = log_bounds(t.p50_s.iter().chain(&t.p99_s).flatten().copied(), 1e-7);
    let caption = format!("{name}: latency of successful requests");
    // Within a decade a log axis has a single tick: a linear one from 0 reads better.
    if hi / lo < 20.0 {
        let top = hi / 1.5 * 1.1;
        return svg(PANEL, |root| {
            panel(root, report, &caption, "latency", (0.0..top, 0.0..top), &fmt_latency, &lines, &[])
        });
    }
    svg(PANEL, |root| {
        panel(root, report, &caption, "latency (log scale)", ((lo..hi).log_scale(), lo..hi), &fmt_latency, &lines, &[])
    })
}

/// Outcomes per second, stacked: ok at the bottom, then degraded, then failed.
pub(super) fn outcomes(report: &Report, name: &str, t: &TimelineReport) -> Result<String, String> {
    let tx = TimeAxis::of(report);
    let x = mids(t.window_s, t.requests.len(), report.duration_s);
    let per_s = |v: f64| v / t.window_s.max(1e-9);
    let ok: Vec<f64> = t.ok.iter().map(|&v| per_s(v)).collect();
    let okd: Vec<f64> = ok.iter().zip(&t.degraded).map(|(a, &d)| a + per_s(d)).collect();
    let all: Vec<f64> = okd.iter().zip(&t.failed).map(|(a, &f)| a + per_s(f)).collect();
    let top = all.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.15;
    let layers = [("failed", FAILED, &all), ("degraded", DEGRADED, &okd), ("ok", OK, &ok)];
    // Keys in reading order, bottom layer first.
    let keys: Vec<Key> = layers
        .iter()
        .rev()
        .map(|&(label, color, _)| Key { name: label.into(), swatch: Swatch::Fill(color.mix(0.75)) })
        .collect();
    svg(PANEL, |root| {
        let plot = captioned(root, &format!("{name}: finished requests per second"), &keys)?;
        let mut chart = ChartBuilder::on(&plot)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..tx.max.max(1e-9), 0.0..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .x_desc(tx.desc())
            .x_label_formatter(&short_num)
            .y_label_formatter(&short_num)
            .y_desc("requests / s")
            .axis_desc_style(("sans-serif", 14))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        for band in fault_bands(report) {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(tx.x(band.start), 0.0), (tx.x(band.end), top)],
                    FAULT_BAND.mix(0.3).filled(),
                )))
                .map_err(err)?;
            if let Some(fault) = band.label {
                let font = ("sans-serif", 12).into_font().color(&FAILED);
                let label = Text::new(fault.to_owned(), (3, 2 + 14 * band.line as i32), font);
                chart.draw_series(std::iter::once(EmptyElement::at((tx.x(band.start), top)) + label)).map_err(err)?;
            }
        }
        for (_, color, v) in layers {
            let pts: Vec<(f64, f64)> = x.iter().map(|&s| tx.x(s)).zip(v.iter().copied()).collect();
            chart.draw_series(AreaSeries::new(pts, 0.0, color.mix(0.75)).border_style(color)).map_err(err)?;
        }
        Ok(())
    })
}

/// Budget burn-down (top) and burn rate per window with the alert thresholds (bottom).
pub(super) fn slo(report: &Report, s: &SloReport) -> Result<String, String> {
    let b = &s.burn_rate_series;
    let x = mids(b.window_s, b.values.len(), report.duration_s);
    let ends: Vec<f64> =
        (0..b.budget_remaining.len()).map(|i| ((i + 1) as f64 * b.window_s).min(report.duration_s)).collect();
    // An overspent budget is drawn down to -100% (the chart says by how much).
    let floor = -1.0;
    let worst = b.budget_remaining.iter().copied().fold(1.0, f64::min);
    let remaining = Line {
        name: "budget left".into(),
        color: if s.met { OK } else { FAILED },
        points: ends.iter().copied().zip(b.budget_remaining.iter().map(|&v| Some(v.max(floor)))).collect(),
    };
    let burn = Line {
        name: "burn rate".into(),
        color: SERIES[0],
        points: x.iter().copied().zip(b.values.iter().map(|v| v.map(|v| v.max(0.01)))).collect(),
    };
    let mut hlines: Vec<HLine> = s
        .alert_rules
        .iter()
        .map(|r| HLine {
            y: r.burn_rate,
            label: format!("{} at {}× ({}/{})", r.severity, r.burn_rate, r.long, r.short),
            color: if r.severity == "page" { FAILED } else { DEGRADED },
        })
        .collect();
    hlines.push(HLine { y: 1.0, label: "1× (budget lasts the period)".into(), color: INK });
    let (_, hi) = log_bounds(b.values.iter().flatten().copied().chain(hlines.iter().map(|h| h.y)), 0.01);
    svg(2 * PANEL, |root| {
        let (top, bottom) = root.split_vertically(PANEL);
        let caption = if worst < floor {
            format!("{}: error budget left (overspent {:.0}×)", s.name, 1.0 - worst)
        } else {
            format!("{}: error budget left", s.name)
        };
        let pct = |v: &f64| format!("{:.0}%", v * 100.0);
        panel(
            &top,
            report,
            &caption,
            "share of the run's budget",
            (floor..1.05, floor..1.05),
            &pct,
            &[remaining],
            &[],
        )?;
        let times = |v: &f64| {
            if *v >= 1.0 { format!("{v:.0}×") } else { format!("{v:.2}×") }
        };
        let caption = format!("{}: burn rate per window", s.name);
        panel(
            &bottom,
            report,
            &caption,
            "burn rate (log scale)",
            ((0.01..hi).log_scale(), 0.01..hi),
            &times,
            &[burn],
            &hlines,
        )
    })
}

/// Utilisation (top) and mean queue length of every service, per window, and below them
/// the instance count of the autoscaled ones.
pub(super) fn services(report: &Report) -> Result<String, String> {
    let mut util = Vec::new();
    let mut queue = Vec::new();
    let mut instances = Vec::new();
    for (k, (name, s)) in report.services.iter().enumerate() {
        let (Some(g), Some(t)) = (&s.gauges, &s.timeline) else { continue };
        let x = mids(t.window_s, g.utilization.len(), report.duration_s);
        let color = series_color(k);
        util.push(Line {
            name: name.clone(),
            color,
            points: x.iter().copied().zip(g.utilization.iter().map(|&v| Some(v))).collect(),
        });
        queue.push(Line {
            name: name.clone(),
            color,
            points: x.iter().copied().zip(g.mean_queue_length.iter().map(|&v| Some(v))).collect(),
        });
        if let Some(a) = &s.autoscaling {
            let points = x.iter().copied().zip(a.instances_per_window.iter().map(|&v| Some(v))).collect();
            instances.push(Line { name: name.clone(), color, points });
        }
    }
    let qmax = queue.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1)).fold(0.0, f64::max).max(1.0) * 1.15;
    let panels = if instances.is_empty() { 2 } else { 3 };
    svg(panels * PANEL, |root| {
        let (top, rest) = root.split_vertically(PANEL);
        let bottom = if instances.is_empty() {
            rest
        } else {
            let (bottom, last) = rest.split_vertically(PANEL);
            let imax = instances.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1)).fold(1.0, f64::max) * 1.15;
            let caption = "Instances of autoscaled services (starting or ready), time average";
            panel(&last, report, caption, "instances", (0.0..imax, 0.0..imax), &short_num, &instances, &[])?;
            bottom
        };
        let pct = |v: &f64| format!("{:.0}%", v * 100.0);
        panel(
            &top,
            report,
            "Utilisation: busy workers / workers",
            "utilisation",
            (0.0..1.05, 0.0..1.05),
            &pct,
            &util,
            &[],
        )?;
        let q = (0.0..qmax, 0.0..qmax);
        panel(&bottom, report, "Requests waiting (Lq), time average", "queue length", q, &short_num, &queue, &[])
    })
}

/// A breaker state held from one time to another, seconds.
type StateSpan = (f64, f64, &'static str);

/// The states a breaker held over the measured run, from the state it started in and its
/// transitions `(time, to)`.
fn state_spans(
    start: &'static str,
    transitions: impl Iterator<Item = (f64, &'static str)>,
    report: &Report,
) -> Vec<StateSpan> {
    let mut state = start;
    let mut since = 0.0;
    let mut spans = Vec::new();
    for (t, to) in transitions {
        let t = t - report.warmup_s;
        if t <= 0.0 {
            state = to;
            continue;
        }
        let t = t.min(report.duration_s);
        spans.push((since, t, state));
        state = to;
        since = t;
    }
    spans.push((since, report.duration_s, state));
    spans
}

/// One row per breaker: closed, half-open and open over time (replication 0). An edge
/// whose breakers live in each caller instance has a row per instance.
pub(super) fn breakers(report: &Report) -> Result<String, String> {
    let tx = TimeAxis::of(report);
    let mut rows: Vec<(String, Vec<StateSpan>)> = Vec::new();
    for (name, e) in &report.edges {
        let Some(b) = e.breaker.as_ref() else { continue };
        let several = b.breakers > 1;
        // A breaker started in a state only a hand leaves has no transitions; the report
        // lists such a state only when it was held.
        let held = |s: &&str| b.time_in_state_s.contains_key(s);
        let start = ["disabled", "forced_open", "metrics_only"].into_iter().find(held).unwrap_or("closed");
        for k in 0..b.breakers {
            let label = if several { format!("{name} #{k}") } else { name.clone() };
            let mine = b.transitions.iter().filter(|t| !several || t.3 == Some(k));
            rows.push((label, state_spans(start, mine.map(|t| (t.0, t.2)), report)));
        }
    }
    let height = (80 + 44 * rows.len() as u32).max(160);
    svg(height, |root| {
        let n = rows.len() as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Circuit breakers (replication 0): green closed · amber half-open · red open",
                ("sans-serif", 18).into_font().color(&INK),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(180)
            .build_cartesian_2d(0.0..tx.max.max(1e-9), 0.0..n)
            .map_err(err)?;
        let labels: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
        let label_of = move |v: &f64| {
            let i = v.floor();
            if (v - i - 0.5).abs() < 0.26 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .x_desc(tx.desc())
            .x_label_formatter(&short_num)
            .y_labels(2 * rows.len() + 1)
            .y_label_formatter(&label_of)
            .axis_desc_style(("sans-serif", 14))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        for (i, (_, spans)) in rows.iter().enumerate() {
            let y = i as f64;
            chart
                .draw_series(spans.iter().map(|&(a, b, state)| {
                    let color = match state {
                        "open" | "forced_open" => FAILED,
                        "half_open" => DEGRADED,
                        _ => OK,
                    };
                    Rectangle::new([(tx.x(a), y + 0.2), (tx.x(b), y + 0.8)], color.mix(0.8).filled())
                }))
                .map_err(err)?;
        }
        Ok(())
    })
}
