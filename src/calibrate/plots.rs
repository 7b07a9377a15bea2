//! The SVG figures of `calibrate.html` (plotters, in the report's palette): the inferred
//! graph, and per service its own times against the fitted families (CDF beside QQ).

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::fit::Fitted;
use super::infer::Calibration;
use super::select::{Choice, FitReport};
use super::steps::Step;
use crate::report::charts::{Area, GRID, INK, Key, PANEL, Swatch, WIDTH, captioned, fmt_latency, series_color, svg};
use crate::report::depths;
use crate::theory::bisect;

/// A plotted panel: seconds (or a probability) on both axes.
type Panel<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Most points an empirical CDF or QQ plot draws: evenly spaced order statistics, so a
/// service seen a million times still gives a small SVG.
const MAX_POINTS: usize = 400;
/// The CDF panel's x axis ends at this quantile of the data, so one straggler does not
/// squeeze the body of the distribution into a corner (the QQ panel shows the tail).
const CDF_AXIS_QUANTILE: f64 = 0.995;

/// The `p`-quantile of `f` by bisection on its CDF (no family's inverse is needed in
/// closed form).
pub fn quantile(f: &Fitted, p: f64) -> f64 {
    let mut hi = f.mean().max(1e-12);
    for _ in 0..200 {
        if f.cdf(hi) >= p {
            break;
        }
        hi *= 2.0;
    }
    bisect(0.0, hi, |x| f.cdf(x) < p)
}

/// The `p`-quantile of sorted observations (the order statistic at rank ⌈p n⌉).
fn sample_quantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let k = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
    sorted.get(k - 1).copied().unwrap_or(0.0)
}

/// The family a QQ plot compares with: the chosen one, or for empirical samples the
/// lowest-AIC candidate (to show how it fails).
fn compared(fit: &FitReport) -> Option<(Fitted, &'static str)> {
    match &fit.choice {
        Choice::Family(f) => Some((*f, "chosen")),
        Choice::Empirical => {
            fit.candidates.iter().min_by(|a, b| a.aic.total_cmp(&b.aic)).map(|c| (c.fitted, "best AIC, rejected"))
        }
        Choice::Constant(_) => None,
    }
}

/// The CDF and QQ panels of one service's own times.
pub fn fit_figure(name: &str, fit: &FitReport) -> Result<String, String> {
    svg(PANEL, |root| {
        let (left, right) = root.split_horizontally(WIDTH / 2);
        cdf_panel(&left, name, fit)?;
        qq_panel(&right, fit)
    })
}

/// A panel's axes and grid: durations on x, and on y too when it has a description
/// (a QQ plot), else plain numbers (a probability).
fn mesh(chart: &mut Panel<'_, '_>, x_desc: &str, y_desc: Option<&str>) -> Result<(), String> {
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE.mix(0.0))
        .bold_line_style(GRID)
        .x_desc(x_desc)
        .x_label_formatter(&fmt_latency)
        .x_labels(6)
        .axis_desc_style(("sans-serif", 13))
        .label_style(("sans-serif", 11));
    if let Some(y) = y_desc {
        mesh.y_desc(y).y_label_formatter(&fmt_latency);
    }
    mesh.draw().map_err(err)
}

/// Every `step`-th point of `n`, and the last, at most [`MAX_POINTS`].
fn thinned(n: usize) -> impl Iterator<Item = usize> {
    let step = n.div_ceil(MAX_POINTS).max(1);
    (0..n).step_by(step).chain((n > 0 && !(n - 1).is_multiple_of(step)).then(|| n - 1))
}

fn cdf_panel(area: &Area, name: &str, fit: &FitReport) -> Result<(), String> {
    let n = fit.sorted.len();
    let x_max = sample_quantile(&fit.sorted, CDF_AXIS_QUANTILE).max(fit.mean_s).max(1e-9) * 1.05;
    let chosen = match fit.choice {
        Choice::Family(f) => Some(f),
        _ => None,
    };
    let mut keys = vec![Key { name: format!("observed ({n})"), swatch: Swatch::Line(INK, 3) }];
    for (k, c) in fit.candidates.iter().enumerate() {
        let width = if Some(c.fitted) == chosen { 3 } else { 1 };
        keys.push(Key { name: c.fitted.family().into(), swatch: Swatch::Line(series_color(k), width) });
    }
    let plot = captioned(area, &format!("{name}: CDF of the own time"), &keys)?;
    let mut chart = ChartBuilder::on(&plot)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..x_max, 0.0..1.0)
        .map_err(err)?;
    mesh(&mut chart, "own time", None)?;
    for (k, c) in fit.candidates.iter().enumerate() {
        let width = if Some(c.fitted) == chosen { 3 } else { 1 };
        let pts = (0..=200).map(|i| {
            let x = x_max * f64::from(i) / 200.0;
            (x, c.fitted.cdf(x))
        });
        chart.draw_series(LineSeries::new(pts, series_color(k).stroke_width(width))).map_err(err)?;
    }
    // The empirical CDF as a staircase over the thinned order statistics.
    let mut stairs = vec![(0.0, 0.0)];
    for i in thinned(n) {
        let x = fit.sorted[i].min(x_max);
        let last = stairs.last().map_or(0.0, |p| p.1);
        stairs.push((x, last));
        stairs.push((x, (i + 1) as f64 / n as f64));
    }
    stairs.push((x_max, 1.0));
    chart.draw_series(LineSeries::new(stairs, INK.mix(0.8).stroke_width(2))).map_err(err)?;
    Ok(())
}

fn qq_panel(area: &Area, fit: &FitReport) -> Result<(), String> {
    let Some((f, role)) = compared(fit) else {
        let plot = captioned(area, "QQ: no family (all values equal)", &[])?;
        let text = format!("every own time is {}", fmt_latency(&fit.mean_s));
        let font = ("sans-serif", 14).into_font().color(&INK).pos(Pos::new(HPos::Center, VPos::Center));
        let (w, h) = plot.dim_in_pixel();
        return plot.draw(&Text::new(text, (w as i32 / 2, h as i32 / 2), font)).map_err(err);
    };
    let positive = &fit.sorted[fit.zeros..];
    let m = positive.len().min(MAX_POINTS);
    let pts: Vec<(f64, f64)> = (0..m)
        .map(|i| {
            let p = (i as f64 + 0.5) / m as f64;
            (quantile(&f, p), sample_quantile(positive, p))
        })
        .collect();
    let top = pts.iter().map(|&(a, b)| a.max(b)).fold(1e-9, f64::max) * 1.05;
    let keys = [
        Key { name: format!("{} ({role})", f.family()), swatch: Swatch::Fill(INK.mix(0.8)) },
        Key { name: "y = x".into(), swatch: Swatch::Line(DIAGONAL, 2) },
    ];
    let plot = captioned(area, "QQ: observed against fitted quantiles", &keys)?;
    let mut chart = ChartBuilder::on(&plot)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..top, 0.0..top)
        .map_err(err)?;
    mesh(&mut chart, "fitted quantile", Some("observed quantile"))?;
    chart.draw_series(LineSeries::new([(0.0, 0.0), (top, top)], DIAGONAL.stroke_width(2))).map_err(err)?;
    let dot = series_color(0);
    chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 2, dot.filled()))).map_err(err)?;
    Ok(())
}

/// The QQ plot's line of perfect agreement.
const DIAGONAL: RGBColor = RGBColor(180, 180, 180);

const NODE_W: i32 = 170;
const NODE_H: i32 = 46;
const ROW: i32 = 76;
const TOP: i32 = 44;

/// A link of the graph figure: from node, to node, label, and whether it is a hand-off.
type Link = (usize, usize, String, bool);

/// Nodes (entry operations first, then services) and links of the inferred graph.
fn nodes_and_links(cal: &Calibration) -> (Vec<(String, String)>, Vec<Link>) {
    let e = cal.entries.len();
    let mut nodes: Vec<(String, String)> =
        cal.entries.iter().map(|x| (format!("in: {}", x.operation), format!("{:.3}/s", x.rate_per_s))).collect();
    let mut links = Vec::new();
    for (i, x) in cal.entries.iter().enumerate() {
        if let Some(s) = cal.services.iter().position(|s| s.name == x.service) {
            links.push((i, e + s, String::new(), false));
        }
    }
    for (s, svc) in cal.services.iter().enumerate() {
        let family = match &svc.fit.choice {
            Choice::Family(f) => f.family().to_string(),
            Choice::Empirical => "empirical".into(),
            Choice::Constant(_) => "constant".into(),
        };
        nodes.push((svc.name.clone(), format!("{} req · {} srv · {family}", svc.requests, svc.servers)));
        for step in &svc.steps {
            let (calls, parallel) = match step {
                Step::One(c) => (std::slice::from_ref(c), false),
                Step::Parallel(cs) => (cs.as_slice(), true),
            };
            for c in calls {
                let mark = if parallel { " ∥" } else { "" };
                links.push((e + s, e + c.callee, format!("{:.2}{mark}", c.probability), false));
            }
        }
        for &(to, p) in &svc.routes {
            links.push((e + s, e + to, format!("{p:.2} async"), true));
        }
    }
    (nodes, links)
}

/// The inferred graph, left to right by call depth: entry operations, then services; a
/// call is labelled with its probability per request (∥: made in parallel with the other
/// calls of its step), a hand-off is drawn pale.
pub fn graph_figure(cal: &Calibration) -> Result<String, String> {
    let (nodes, links) = nodes_and_links(cal);
    let pairs: Vec<[usize; 2]> = links.iter().map(|l| [l.0, l.1]).collect();
    let depth = depths(nodes.len(), &pairs);
    let columns = depth.iter().copied().max().unwrap_or(0) as usize + 1;
    let mut per_column = vec![0i32; columns];
    let col_w = ((WIDTH as i32 - 40 - NODE_W) / (columns as i32 - 1).max(1)).min(280);
    let pos: Vec<(i32, i32)> = depth
        .iter()
        .map(|&d| {
            let d = d as usize;
            per_column[d] += 1;
            (20 + d as i32 * col_w, TOP + (per_column[d] - 1) * ROW)
        })
        .collect();
    let rows = per_column.iter().copied().max().unwrap_or(1);
    svg((TOP + rows * ROW) as u32, |root| {
        let legend = "in: an entry operation (its arrival rate) · arrows: calls with their probability per request, \
                      ∥ parallel · pale: asynchronous hand-offs";
        root.draw(&Text::new(legend, (20, 16), ("sans-serif", 12).into_font().color(&INK))).map_err(err)?;
        for (a, b, label, asynchronous) in &links {
            let ((x0, y0), (x1, y1)) = (pos[*a], pos[*b]);
            let from = (x0 + NODE_W, y0 + NODE_H / 2);
            let to = if x1 > x0 { (x1, y1 + NODE_H / 2) } else { (x1 + NODE_W / 2, y1 + NODE_H) };
            let style = if *asynchronous { GRID.mix(1.0).stroke_width(2) } else { INK.mix(0.45).stroke_width(2) };
            root.draw(&PathElement::new(vec![from, to], style)).map_err(err)?;
            root.draw(&Circle::new(to, 4, INK.mix(0.6).filled())).map_err(err)?;
            // At the arrow's head, so each label sits by its callee where lines fan out.
            let font = ("sans-serif", 11).into_font().color(&INK).pos(Pos::new(HPos::Right, VPos::Bottom));
            root.draw(&Text::new(label.clone(), (to.0 - 6, to.1 - 3), font)).map_err(err)?;
        }
        for ((name, note), &(x, y)) in nodes.iter().zip(&pos) {
            let fill = if name.starts_with("in: ") { RGBColor(232, 240, 254) } else { RGBColor(250, 250, 250) };
            root.draw(&Rectangle::new([(x, y), (x + NODE_W, y + NODE_H)], fill.filled())).map_err(err)?;
            root.draw(&Rectangle::new([(x, y), (x + NODE_W, y + NODE_H)], INK.mix(0.35).stroke_width(1)))
                .map_err(err)?;
            let center = Pos::new(HPos::Center, VPos::Center);
            let font = ("sans-serif", 13).into_font().color(&INK).pos(center);
            root.draw(&Text::new(name.clone(), (x + NODE_W / 2, y + 14), font)).map_err(err)?;
            let font = ("sans-serif", 11).into_font().color(&INK).pos(center);
            root.draw(&Text::new(note.clone(), (x + NODE_W / 2, y + 32), font)).map_err(err)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_inverts_each_family_s_cdf() {
        let families = [
            Fitted::Exponential { mean: 0.01 },
            Fitted::Lognormal { mu: -4.0, sigma: 0.6 },
            Fitted::Gamma { shape: 2.5, scale: 0.004 },
            Fitted::Weibull { shape: 0.7, scale: 0.02 },
        ];
        for f in families {
            for p in [0.001, 0.1, 0.5, 0.9, 0.999] {
                let x = quantile(&f, p);
                assert!((f.cdf(x) - p).abs() < 1e-12, "{f:?} at {p}: F({x}) = {}", f.cdf(x));
            }
        }
        // The exponential's closed form: -mean ln(1 - p).
        let x = quantile(&Fitted::Exponential { mean: 2.0 }, 0.75);
        assert!((x - 2.0 * 4f64.ln()).abs() < 1e-12, "{x}");
    }

    #[test]
    fn sample_quantiles_are_order_statistics() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(sample_quantile(&xs, 0.25), 1.0);
        assert_eq!(sample_quantile(&xs, 0.26), 2.0);
        assert_eq!(sample_quantile(&xs, 1.0), 4.0);
        assert_eq!(sample_quantile(&xs, 0.0), 1.0);
    }

    #[test]
    fn thinning_keeps_the_first_and_last_point_and_at_most_the_cap() {
        let picked: Vec<usize> = thinned(1001).collect();
        assert_eq!(picked.first(), Some(&0));
        assert_eq!(picked.last(), Some(&1000));
        assert!(picked.len() <= MAX_POINTS + 1, "{}", picked.len());
        assert_eq!(thinned(3).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(thinned(0).count(), 0);
    }
}
