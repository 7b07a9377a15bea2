//! Charts of a sweep, written to `charts/`: each headline metric against the first
//! numeric parameter (one line per setting of the others, the 95% CI shaded), a heat map
//! with its colour scale when there are exactly two numeric parameters, and the
//! metastability map when the points have blast-radius results.
//!
//! They are drawn from the point records as read back from JSON (like the tables), so a
//! sweep, a resumed sweep and merged shards draw identical charts.

use std::io;
use std::path::Path;

use plotters::prelude::*;

use super::grid::display;
use super::output::{PointRecord, blast_faults, stat};
use super::plan::Definition;
use crate::report::charts::{Chart, GRID, Key, Swatch, captioned, file_parts, series_color, short_num, svg};
use crate::report::write_atomic;

mod axes;
mod maps;

#[cfg(test)]
use axes::number;
use axes::{HEIGHT, METRICS, Metric, at, err, numeric_params};
#[cfg(test)]
use maps::{blend, ramp};
use maps::{heat_map, metastability, outcome};

/// Folder of the sweep's charts.
pub const CHARTS_DIR: &str = "charts";
/// The metastability map's file name.
pub const METASTABILITY_SVG: &str = "metastability.svg";

/// Every chart of the sweep.
pub fn render_charts(def: &Definition, records: &[PointRecord]) -> Result<Vec<Chart>, String> {
    let numeric = numeric_params(def, records);
    let Some(&x) = numeric.first() else {
        return Ok(Vec::new());
    };
    let mut workloads: Vec<String> = Vec::new();
    for r in records {
        for w in r.report["workloads"].as_object().into_iter().flat_map(|m| m.keys()) {
            if !workloads.contains(w) {
                workloads.push(w.clone());
            }
        }
    }
    workloads.sort();
    let parts = file_parts(workloads.iter().map(String::as_str));
    let mut charts = Vec::new();
    for w in &workloads {
        for m in &METRICS {
            let path = format!("workloads.{w}.{}", m.path);
            charts.push(Chart {
                file: format!("{}-{}.svg", m.file, parts[w.as_str()]),
                title: format!("{w}: {} by {}", m.label, def.params[x].key),
                svg: lines(def, records, x, w, m, &path)?,
            });
            if let [x, y] = numeric[..] {
                charts.push(Chart {
                    file: format!("heatmap-{}-{}.svg", m.file, parts[w.as_str()]),
                    title: format!("{w}: {} over {} and {}", m.label, def.params[x].key, def.params[y].key),
                    svg: heat_map(def, records, (x, y), w, m, &path)?,
                });
            }
        }
    }
    let judged = records.iter().any(|r| outcome(r).is_some());
    if !blast_faults(records).is_empty() && judged {
        charts.push(Chart {
            file: METASTABILITY_SVG.into(),
            title: "Metastability map: recovered or not after the faults".into(),
            svg: metastability(def, records, x, numeric.get(1).copied())?,
        });
    }
    Ok(charts)
}

/// Writes every chart into `out/charts/`, atomically.
pub fn write_charts(out: &Path, def: &Definition, records: &[PointRecord]) -> io::Result<()> {
    for c in render_charts(def, records).map_err(io::Error::other)? {
        write_atomic(&out.join(CHARTS_DIR).join(&c.file), c.svg.as_bytes())?;
    }
    Ok(())
}

/// `(lo, hi)` of `values`, with 5% of air (or ±0.5 around a single value).
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1e-9) * 0.5 };
    (lo - pad, hi + pad)
}

/// One series: (x, mean, CI) per point, sorted by x.
type Series = (String, Vec<(f64, f64, Option<(f64, f64)>)>);

/// The points of the metric at `path` against parameter `x`, one series per setting of
/// the other parameters (named after it), each sorted by x.
fn line_series(records: &[PointRecord], x: usize, m: &Metric, path: &str) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for r in records {
        let name: Vec<String> = r
            .point
            .params
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != x)
            .map(|(_, (k, v))| format!("{k}={}", display(v)))
            .collect();
        let name = if name.is_empty() { m.label.to_owned() } else { name.join(", ") };
        let [mean, lo, hi] = stat(&r.report, path);
        let Some(mean) = mean.as_f64() else { continue };
        let ci = lo.as_f64().zip(hi.as_f64());
        let k = match series.iter().position(|s| s.0 == name) {
            Some(k) => k,
            None => {
                series.push((name, Vec::new()));
                series.len() - 1
            }
        };
        series[k].1.push((at(r, x), mean, ci));
    }
    for s in &mut series {
        s.1.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

/// The metric against parameter `x`, one line per setting of the other parameters.
fn lines(
    def: &Definition,
    records: &[PointRecord],
    x: usize,
    workload: &str,
    m: &Metric,
    path: &str,
) -> Result<String, String> {
    let series = line_series(records, x, m, path);
    let all = || series.iter().flat_map(|s| s.1.iter());
    let (x0, x1) = bounds(all().map(|p| p.0));
    let (y0, y1) = bounds(all().flat_map(|p| [Some(p.1), p.2.map(|c| c.0), p.2.map(|c| c.1)]).flatten());
    // Both metrics are non-negative and availability is at most 1, whatever the CI says.
    let (y0, y1) = (y0.max(0.0), if m.higher_is_better { y1.min(1.0) } else { y1 });
    let key = &def.params[x].key;
    let keys: Vec<Key> = series
        .iter()
        .enumerate()
        .map(|(k, (name, _))| Key { name: name.clone(), swatch: Swatch::Line(series_color(k), 3) })
        .collect();
    svg(HEIGHT, |root| {
        let plot = captioned(root, &format!("{workload}: {} by {key}", m.label), &keys)?;
        let mut chart = ChartBuilder::on(&plot)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        let y_fmt = |v: &f64| m.fmt(*v);
        chart
            .configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(GRID)
            .x_desc(key.as_str())
            .x_label_formatter(&short_num)
            .y_desc(format!("{} (mean, 95% CI shaded)", m.label))
            .y_label_formatter(&y_fmt)
            .axis_desc_style(("sans-serif", 14))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        for (k, (_, points)) in series.iter().enumerate() {
            let color = series_color(k);
            // Clamped to the axes: a wide interval (few replications) may pass 0 or 100%.
            let clamp = |v: f64| v.clamp(y0, y1);
            let ci: Vec<(f64, (f64, f64))> =
                points.iter().filter_map(|p| p.2.map(|c| (p.0, (clamp(c.0), clamp(c.1))))).collect();
            if ci.len() > 1 {
                let mut band: Vec<(f64, f64)> = ci.iter().map(|(x, c)| (*x, c.1)).collect();
                band.extend(ci.iter().rev().map(|(x, c)| (*x, c.0)));
                chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.15).filled()))).map_err(err)?;
            }
            // A lone point's interval is drawn as a bar, there being no band to shade.
            chart
                .draw_series(
                    ci.iter()
                        .filter(|_| ci.len() == 1)
                        .map(|(x, c)| PathElement::new([(*x, c.0), (*x, c.1)], color.mix(0.5).stroke_width(2))),
                )
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))
                .map_err(err)?;
            chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 3, color.filled()))).map_err(err)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::report::charts::{FAILED, OK};

    #[test]
    fn numbers_and_durations_are_numeric() {
        assert_eq!(number(&json!(1.5)), Some(1.5));
        assert_eq!(number(&json!("30s")), Some(30.0));
        assert_eq!(number(&json!("250ms")), Some(0.25));
        assert_eq!(number(&json!("round_robin")), None);
    }

    #[test]
    fn the_ramp_runs_from_red_to_green() {
        assert_eq!(ramp(0.0), blend(FAILED, WHITE, 0.45));
        assert_eq!(ramp(1.0), blend(OK, WHITE, 0.45));
        assert_eq!(bounds([2.0, 2.0].into_iter()), (1.0, 3.0));
    }
}
